package io.quire;

import io.quire.model.hub.DownloadProgress;
import io.quire.model.hub.HubClient;
import io.quire.model.hub.HubModelId;
import io.quire.model.hub.HubModels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code quire.model=Org/Name} (or {@code Org/Name@revision}): before any bean is made, the GGUF
 * file (or, in a repository without one, the safetensors checkpoint) is downloaded into the Hugging
 * Face cache (or found there) and {@code quire.model} becomes its local path (the file, or the
 * snapshot folder), so the rest of the server sees a local model as always. Meanwhile the port
 * already answers {@code /health} with the download's progress ({@link LoadingServer}). The model is served as
 * {@code Org/Name}, as vLLM does, unless {@code quire.served-model-name} says otherwise. A path that
 * exists is never taken for a model id. Registered in {@code META-INF/spring.factories}.
 */
public class HubModelInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {
    private static final Logger log = LoggerFactory.getLogger(HubModelInitializer.class);

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        ConfigurableEnvironment env = context.getEnvironment();
        String spec = env.getProperty("quire.model");
        if (spec == null || spec.isBlank() || QuireProperties.DUMMY.equals(spec) || Files.exists(Path.of(spec))) return;
        HubModelId id = HubModelId.parse(spec.strip());
        if (id == null) return;
        HubClient hub = HubClient.fromEnvironment(environment(env));
        log.info("quire.model {} is a Hugging Face model id: {} the cache at {}", id,
                hub.offline() ? "HF_HUB_OFFLINE is set, reading only" : "downloading into", hub.cache().root());
        LoadingServer early = openEarly(context, env, id);
        DownloadProgress logLines = DownloadProgress.log(log::info);
        DownloadProgress progress = early == null ? logLines : new DownloadProgress() {
            @Override
            public void advanced(String file, long done, long total) {
                logLines.advanced(file, done, total);
                early.progress().advanced(file, done, total);
            }

            @Override
            public void finished(String file, long total, boolean cached) {
                logLines.finished(file, total, cached);
                early.progress().finished(file, total, cached);
            }
        };
        try {
            HubModels.Pulled pulled = HubModels.pullModel(hub, id, env.getProperty("quire.model-file"), progress);
            HubClient.Snapshot s = pulled.snapshot();
            Path file = pulled.model();
            Map<String, Object> resolved = new HashMap<>();
            resolved.put("quire.model", file.toString());
            String served = env.getProperty("quire.served-model-name");
            if (served == null || served.isBlank()) resolved.put("quire.served-model-name", id.repo());
            env.getPropertySources().addFirst(new MapPropertySource("quire-hub-model", resolved));
            log.info("Serving {} (commit {}) from {}", id, s.commit(), file);
            // The same server goes on answering while the weights are read (QuireConfiguration.loadingServer).
            if (early != null) context.getBeanFactory().registerSingleton(EARLY_SERVER, new EarlyLoadingServer(early));
        } catch (IOException e) {
            if (early != null) early.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            if (early != null) early.close();
            throw e;
        }
    }

    /** The bean that hands the open {@link LoadingServer} on to the configuration. */
    static final String EARLY_SERVER = "quireEarlyLoadingServer";

    /** A {@link LoadingServer} already answering when the beans are made (the download's). */
    record EarlyLoadingServer(LoadingServer server) {}

    /**
     * The port answers {@code /health} (503, "downloading", the file and its percentage) from the
     * start of the download, where a web server will take a fixed plain-HTTP port over; null otherwise
     * (a random port, TLS, or no web server, as in some tests and the CLI).
     */
    private static LoadingServer openEarly(ConfigurableApplicationContext context, ConfigurableEnvironment env,
            HubModelId id) {
        int port = env.getProperty("server.port", Integer.class, 8080);
        if (!(context instanceof WebServerApplicationContext) || port <= 0
                || env.getProperty("server.ssl.enabled", Boolean.class, false)) {
            return null;
        }
        LoadingServer server = new LoadingServer(new ModelLoadProgress(id.repo()));
        return server.open(env.getProperty("server.address"), port) ? server : null;
    }

    /** The HF_* variables from the environment or, for tests and -D, the same names as properties. */
    private static Map<String, String> environment(ConfigurableEnvironment env) {
        Map<String, String> out = new HashMap<>(System.getenv());
        for (String key : new String[]{"HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE",
                "XDG_CACHE_HOME"}) {
            String v = env.getProperty(key);
            if (v != null) out.put(key, v);
        }
        return out;
    }
}
