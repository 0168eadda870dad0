package io.quire;

import io.quire.model.ModelLoadException;
import io.quire.model.ModelLoader;
import io.quire.model.hub.HubException;
import io.quire.model.gguf.GgufFormatException;
import io.quire.model.safetensors.SafetensorsException;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.boot.web.server.PortInUseException;
import org.springframework.core.env.Environment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * Turns a start that failed on the model file or a {@code quire.*} setting into Boot's "APPLICATION
 * FAILED TO START" report with a one-line description, instead of an 80-line bean-creation stack
 * trace: once an analyzer has handled a failure, Boot logs the exception itself only at DEBUG.
 * Registered in {@code META-INF/spring.factories}; anything else (a bug) still gets its trace.
 */
public class StartupFailureAnalyzer implements FailureAnalyzer {
    private static final String MODEL_ACTION = "Set quire.model to a GGUF model file or a Hugging Face model folder"
            + " of a supported architecture ("
            + String.join(", ", ModelLoader.ARCHITECTURES) + "), or to 'dummy' for the built-in random-weight model.";
    private static final String HUB_ACTION = "Check the model id (Org/Name[@revision]) and quire.model-file; a private"
            + " or gated repository needs HF_TOKEN, a mirror HF_ENDPOINT; HF_HUB_OFFLINE=1 uses only the cache.";
    private static final String TEMPLATE_ACTION =
            "Set quire.chat-template to a readable Jinja file, or leave it empty for the model's own template.";
    private static final String ENGINE_ACTION = "Adjust quire.kv-cache-memory (quire.gpu-memory-utilization on a GPU),"
            + " quire.max-model-len, quire.block-size, quire.max-num-seqs or quire.max-num-batched-tokens;"
            + " application.yml documents each.";
    private static final String DEVICE_ACTION = "Set quire.device to auto, cpu or cuda, quire.dtype to auto, float16"
            + " or bfloat16, and quire.kv-cache-dtype to auto, float32, float16, fp8 or fp8_e5m2; application.yml documents each.";
    private static final String LORA_ACTION = "Set quire.lora-modules to name=path entries, each path a PEFT LoRA"
            + " folder (adapter_config.json, adapter_model.safetensors) or GGUF adapter for this model;"
            + " docs/models.md.";
    private static final String SPECULATIVE_ACTION = "Set quire.speculative-config to a JSON object such as"
            + " {\"method\": \"ngram\", \"num_speculative_tokens\": 3}, or leave it unset; docs/configuration.md.";
    private static final String SETTINGS_ACTION = "Check the quire.* settings; application.yml documents each.";

    private final Environment environment;

    /** Boot passes the application's environment, where the quire.* settings are. */
    public StartupFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            // The port is taken: Boot's own analyzer says so (its cause, Netty's bind error, is an
            // IOException that would otherwise read as a model file's).
            if (t instanceof PortInUseException) return null;
            if (t instanceof HubException h) {
                return new FailureAnalysis("Cannot get the model from the Hugging Face Hub: " + text(h), HUB_ACTION,
                        failure);
            }
        }
        String bean = null;  // the innermost bean whose creation failed: which setting the failure is about
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof BeanCreationException b && b.getBeanName() != null) bean = b.getBeanName();
            if (t instanceof GgufFormatException || t instanceof ModelLoadException
                    || t instanceof SafetensorsException) {
                return model(text(t), failure);
            }
            if (t instanceof UncheckedIOException u && u.getCause() != null) return file(bean, u.getCause(), failure);
            if (t instanceof IOException io) return file(bean, io, failure);
            if ((t instanceof IllegalArgumentException || t instanceof IllegalStateException) && thrownByQuire(t)) {
                return setting(bean, text(t), failure);
            }
        }
        return null;
    }

    private FailureAnalysis model(String problem, Throwable failure) {
        String path = environment.getProperty("quire.model", "");
        // The file is named once: most GGUF messages name it already, the model-level ones do not.
        String description = problem.contains(path) ? "Cannot load the model: " + problem
                : "Cannot load the model " + path + ": " + problem;
        return new FailureAnalysis(description, MODEL_ACTION, failure);
    }

    private FailureAnalysis file(String bean, IOException e, Throwable failure) {
        String template = environment.getProperty("quire.chat-template", "");
        String problem = describe(e);
        if ("chatTemplate".equals(bean) && !template.isBlank() && problem.contains(template)) {
            return new FailureAnalysis("Cannot read the chat template: " + problem, TEMPLATE_ACTION, failure);
        }
        return model(problem, failure);
    }

    private static FailureAnalysis setting(String bean, String problem, Throwable failure) {
        String action = problem.startsWith("quire.lora-modules") ? LORA_ACTION
                : problem.startsWith("quire.speculative-config") ? SPECULATIVE_ACTION
                : switch (bean == null ? "" : bean) {
                    case "llmEngine" -> ENGINE_ACTION;
                    case "languageModel" -> DEVICE_ACTION;
                    default -> SETTINGS_ACTION;
                };
        return new FailureAnalysis("Cannot start with these settings: " + problem, action, failure);
    }

    /** The JDK's file exceptions carry only the path as their message. */
    private static String describe(IOException e) {
        if (e instanceof NoSuchFileException n && n.getReason() == null) return "no such file: " + n.getFile();
        if (e instanceof AccessDeniedException a && a.getReason() == null) return "permission denied: " + a.getFile();
        return text(e);
    }

    /** The message on one line, so the report's description is one line. */
    private static String text(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** Quire's own argument checks speak to the user; the same exception from a library may be a bug. */
    private static boolean thrownByQuire(Throwable t) {
        StackTraceElement[] frames = t.getStackTrace();
        return frames.length > 0 && frames[0].getClassName().startsWith("io.quire.");
    }
}
