package io.quire;

import io.quire.backend.TensorType;
import io.quire.model.HfCheckpoints;
import io.quire.model.RandomModels;
import io.quire.model.TinyModels;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Starts the server in its own JVM on a bad model file or setting and checks what an operator sees:
 * a non-zero exit, one line naming the file and the problem, and no stack trace. The JVM runs
 * {@link QuireApplication} from target/classes, which holds what the jar packs (the jar itself is
 * built after the tests), without target/test-classes so the logging is the production one.
 */
// Starts a server JVM per case: over a minute in all. Not in the quick run (-Pquick).
@Tag("slow")
class StartupFailureTest {
    @TempDir Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"missing file", "directory", "folder missing a shard", "/dev/zero", "truncated GGUF",
            "text file", "head count 0",
            "KV cache too small", "unknown KV cache type", "Hub model not in the offline cache", "not a LoRA adapter",
            "speculative method other than ngram", "port in use"})
    void aBadModelOrSettingFailsTheStartWithOneClearLine(String fault) throws Exception {
        Path model = tmp.resolve("model.gguf");
        List<String> settings = new ArrayList<>();
        List<String> line;  // what one line of the output must hold
        String spec = null;  // quire.model when it is not the file
        java.net.ServerSocket taken = null;  // a port the server cannot have
        switch (fault) {
            case "missing file" -> line = List.of("Cannot load the model: model file not found: " + model);
            case "directory" -> {
                model = Files.createDirectory(tmp.resolve("models"));
                // A folder is read as a Hugging Face checkpoint.
                line = List.of("Cannot load the model: " + model + " is a folder but has no config.json");
            }
            case "folder missing a shard" -> {
                RandomModels.write(TinyModels.CONFIG, TensorType.F32, 3, model);
                Path dir = HfCheckpoints.write(model, tmp.resolve("hf"), TensorType.F32, 2, null);
                Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
                model = dir;
                line = List.of("Cannot load the model: the shard model-00002-of-00002.safetensors named by "
                        + dir.resolve("model.safetensors.index.json") + " is missing");
            }
            case "/dev/zero" -> {
                model = Path.of("/dev/zero");
                line = List.of("Cannot load the model: model path /dev/zero is not a regular file");
            }
            case "truncated GGUF" -> {
                TinyModels.writer().write(model);
                Files.write(model, Arrays.copyOf(Files.readAllBytes(model), 1000));
                line = List.of("Cannot load the model: truncated GGUF file " + model + ": ");
            }
            case "text file" -> {
                Files.writeString(model, "name: not a model\n");
                line = List.of("Cannot load the model: not a GGUF file: " + model,
                        "does not start with the magic bytes 'GGUF'");
            }
            case "head count 0" -> {
                TinyModels.writer().putUInt32("llama.attention.head_count", 0).write(model);
                line = List.of("Cannot load the model " + model + ": llama.attention.head_count is 0");
            }
            case "KV cache too small" -> {
                // The tiny model's 64-token context needs 4 blocks of 16 tokens at 4 KiB each; 8 KiB holds 2.
                TinyModels.writer().write(model);
                settings.add("--quire.kv-cache-memory=8KB");
                line = List.of("Cannot start with these settings: The KV cache budget of 8192 bytes holds 2 blocks",
                        "less than the maximum model length 64");
            }
            case "unknown KV cache type" -> {
                TinyModels.writer().write(model);
                settings.add("--quire.kv-cache-dtype=int8");
                line = List.of("Cannot start with these settings: quire.kv-cache-dtype must be auto, float32, float16,"
                        + " fp8 (fp8_e4m3) or fp8_e5m2, not 'int8'");
            }
            case "Hub model not in the offline cache" -> {
                spec = "quire-test/absent";
                settings.add("--HF_HUB_OFFLINE=1");
                settings.add("--HF_HOME=" + tmp.resolve("hf"));
                line = List.of("Cannot get the model from the Hugging Face Hub: HF_HUB_OFFLINE is set and"
                        + " quire-test/absent is not in the cache at " + tmp.resolve("hf").resolve("hub"));
            }
            case "not a LoRA adapter" -> {
                TinyModels.writer().write(model);
                Path folder = Files.createDirectory(tmp.resolve("adapter"));
                settings.add("--quire.lora-modules=sql=" + folder);
                line = List.of("Cannot start with these settings: quire.lora-modules: LoRA adapter sql: no"
                        + " adapter_config.json in " + folder);
            }
            case "speculative method other than ngram" -> {
                TinyModels.writer().write(model);
                settings.add("--quire.speculative-config={\"method\": \"eagle\", \"num_speculative_tokens\": 2}");
                line = List.of("Cannot start with these settings: quire.speculative-config: method \"eagle\" is not"
                        + " supported; Quire drafts by n-gram lookup only: \"method\": \"ngram\"");
            }
            case "port in use" -> {
                // Not a model problem, though Netty's bind error is an IOException: Boot's own words.
                TinyModels.writer().write(model);
                taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("0.0.0.0"));
                settings.add("--server.port=" + taken.getLocalPort());
                line = List.of("Web server failed to start. Port " + taken.getLocalPort() + " was already in use.");
            }
            default -> throw new IllegalArgumentException(fault);
        }
        settings.add("--quire.model=" + (spec != null ? spec : model));

        Path home = Files.createDirectory(tmp.resolve("home"));
        Path cache = Files.createDirectory(tmp.resolve("javacpp-cache"));
        Path log = tmp.resolve("out.log");
        Process server = new ProcessBuilder(command(home, cache, settings))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean exited = server.waitFor(120, TimeUnit.SECONDS);
        if (!exited) server.destroyForcibly().waitFor();
        if (taken != null) taken.close();
        String out = Files.readString(log, StandardCharsets.UTF_8);

        assertThat(exited).as("exited within 120 s:\n" + out).isTrue();
        assertThat(server.exitValue()).as(out).isNotZero();
        assertThat(out).as("a stack trace").doesNotContain("\tat ");
        assertThat(out.lines()).as(out).anySatisfy(l -> assertThat(l).contains(line));
        if (out.contains("no GPU: the CUDA driver libcuda.so.1 is not installed")) {
            // quire.device=auto found no driver, so it had no reason to unpack the CUDA bindings.
            assertThat(contents(home)).as("written under user.home").isEmpty();
            assertThat(contents(cache)).as("written to the JavaCPP cache").isEmpty();
        }
    }

    private static List<String> command(Path home, Path cache, List<String> settings) {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.endsWith("test-classes"))
                .collect(Collectors.joining(File.pathSeparator));
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-Duser.home=" + home, "-Dorg.bytedeco.javacpp.cachedir=" + cache,
                "-cp", classpath, QuireApplication.class.getName()));
        if (settings.stream().noneMatch(s -> s.startsWith("--server.port="))) cmd.add("--server.port=0");
        cmd.addAll(settings);
        return cmd;
    }

    private static List<Path> contents(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> !f.equals(dir)).toList();
        }
    }
}
