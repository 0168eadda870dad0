package io.quire;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationPredicate;
import io.quire.api.ChatParsers;
import io.quire.api.ChatPrompts;
import io.quire.api.KvReportSource;
import io.quire.api.ModelPooling;
import io.quire.api.security.ApiCors;
import io.quire.api.security.ApiKeys;
import io.quire.api.template.ChatTemplate;
import io.quire.backend.Device;
import io.quire.backend.DeviceSelector;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Parallel;
import io.quire.engine.EngineConfig;
import io.quire.engine.LLMEngine;
import io.quire.engine.SpeculativeConfig;
import io.quire.model.DeclaredPooling;
import io.quire.model.KvCacheDtype;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import tools.jackson.core.JacksonException;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Loads the model, starts the engine and hands the HTTP layer what it needs. Beans are created
 * before the web server starts, so meanwhile {@link LoadingServer} answers on its port (503 on
 * {@code /health} with the percentage of the model file read, readiness down); on shutdown
 * the engine stops (aborting running requests) before the model's memory is released.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(QuireProperties.class)
public class QuireConfiguration {
    private static final Logger log = LoggerFactory.getLogger(QuireConfiguration.class);

    /** Answers on the port while the model loads (see {@link LoadingServer}); closed if the start fails. */
    @Bean(destroyMethod = "close")
    LoadingServer loadingServer(QuireProperties props,
            org.springframework.beans.factory.ObjectProvider<HubModelInitializer.EarlyLoadingServer> early) {
        // A Hub model's download opened it already; it goes on answering while the weights are read.
        HubModelInitializer.EarlyLoadingServer open = early.getIfAvailable();
        if (open != null) return open.server();
        String model = props.dummy() ? "the dummy model" : ModelLoader.defaultName(Path.of(props.model()));
        return new LoadingServer(new ModelLoadProgress(model));
    }

    @Bean(destroyMethod = "close")
    public LanguageModel<?> languageModel(QuireProperties props, LoadingServer loading, Environment env,
                                          ApplicationContext context) throws IOException {
        int threads = props.threads() > 0 ? props.threads() : Runtime.getRuntime().availableProcessors();
        Parallel.setThreads(threads);
        long start = System.nanoTime();
        // The model carries the served name, so the API, logs and metrics all use the one clients send.
        String name = props.servedModelName();
        boolean named = name != null && !name.isBlank();
        Device device = DeviceSelector.select(props.device()).device();
        boolean auto = props.device() == null || props.device().isBlank()
                || props.device().trim().equalsIgnoreCase("auto");
        if (device == Device.CUDA && auto && !props.dummy()) {
            // An architecture only the CPU runs falls back to it under auto (quire.device=cuda refuses it instead).
            String why = ModelLoader.cudaRefusal(Path.of(props.model()));
            if (why != null) {
                log.warn("quire.device=auto: {}; running on the CPU", why);
                device = Device.CPU;
            }
        }
        if (device == Device.CUDA && auto && props.loraModules().stream().anyMatch(m -> m != null && !m.isBlank())) {
            log.warn("quire.device=auto: LoRA adapters (quire.lora-modules) run on the CPU backend only; running on"
                    + " the CPU");
            device = Device.CPU;
        }
        KvCacheDtype kvDtype = KvCacheDtype.parse(props.kvCacheDtype()); // fail early, before the file is read
        LanguageModel<?> model;
        if (props.dummy()) {
            model = RandomModels.load(RandomModels.DEFAULT, TensorType.F32, 0, named ? name : "quire-dummy", device,
                    props.dtype());
        } else {
            Path path = Path.of(props.model());
            // A fixed plain-HTTP port answers /health (503, the percentage read) while the file loads,
            // where a web server will take the port over (not in a context without one, as some tests have).
            int port = env.getProperty("server.port", Integer.class, 8080);
            if (context instanceof WebServerApplicationContext && port > 0
                    && !env.getProperty("server.ssl.enabled", Boolean.class, false)) {
                loading.open(env.getProperty("server.address"), port);
            }
            model = ModelLoader.load(path, named ? name : ModelLoader.defaultName(path), device, props.dtype(),
                    loading.progress());
        }
        model.useKvCacheDtype(kvDtype);
        model.useAdapters(LoraModules.load(props.loraModules(), model));
        log.info("Loaded {} ({}) in {} ms on {}", props.dummy() ? "the dummy random-weight model" : props.model(),
                model.config().architecture(), (System.nanoTime() - start) / 1_000_000, model.deviceDescription());
        return model;
    }

    @Bean(destroyMethod = "shutdown")
    public LLMEngine llmEngine(LanguageModel<?> model, QuireProperties props, MeterRegistry registry) {
        // Both budgets go in; the model's device takes its own (the CPU the bytes, a GPU its share of
        // free memory). kv-cache-memory 0 (the default) is EngineConfig.KV_CACHE_AUTO: sized by need.
        EngineConfig config = new EngineConfig(props.blockSize(), props.kvCacheMemory().toBytes(), props.maxNumSeqs(),
                props.maxNumBatchedTokens(), props.maxModelLen(), props.enablePrefixCaching(),
                props.swapSpace().toBytes(), props.preemptionMode(), props.kvAllocationPolicy(),
                props.maxWaitingRequests(), props.gpuMemoryUtilization(), props.schedulingPolicy());
        SpeculativeConfig speculative = speculativeConfig(props.speculativeConfig());
        LLMEngine engine = new LLMEngine(model, config, registry, speculative);
        if (speculative != null) {
            log.info("Speculative decoding: up to {} tokens drafted a step by n-gram lookup (n-grams of {} down to"
                    + " {} tokens){}", speculative.numSpeculativeTokens(), speculative.promptLookupMax(),
                    speculative.promptLookupMin(), speculative.disableByBatchSize() > 0
                            ? ", none while " + speculative.disableByBatchSize() + " sequences or more run" : "");
        }
        engine.warmUp(props.warmup());
        return engine;
    }

    /** vLLM's {@code --speculative-config} JSON; null when unset. */
    static SpeculativeConfig speculativeConfig(String json) {
        if (json == null || json.isBlank()) return null;
        Map<String, Object> settings;
        try {
            settings = JsonMapper.builder().build().readValue(json, new TypeReference<Map<String, Object>>() {});
        } catch (JacksonException e) {
            throw new IllegalArgumentException("quire.speculative-config: not a JSON object (" + e.getOriginalMessage()
                    + ")");
        }
        if (settings == null) throw new IllegalArgumentException("quire.speculative-config: not a JSON object");
        return SpeculativeConfig.of(settings);
    }

    @Bean
    public ChatTemplate chatTemplate(QuireProperties props) throws IOException {
        if (props.chatTemplate() != null && !props.chatTemplate().isBlank()) {
            return new ChatTemplate(Files.readString(Path.of(props.chatTemplate())));
        }
        if (!props.dummy()) {
            String source = ModelLoader.chatTemplate(Path.of(props.model()));
            if (source != null && !source.isBlank()) return new ChatTemplate(source);
        }
        log.info("The model has no chat template: chat prompts use the plain 'role: content' fallback");
        return ChatTemplate.fallback();
    }

    /** What the model's files say of pooling, for {@code /v1/embeddings} (which pools by the last token only). */
    @Bean
    public ModelPooling modelPooling(QuireProperties props) throws IOException {
        String declared = props.dummy() ? null : DeclaredPooling.of(Path.of(props.model()));
        if (declared != null && !declared.equals("last")) {
            log.warn("The model's files declare {} pooling: /v1/embeddings, which pools by the last token, will refuse"
                    + " it", declared);
        }
        return new ModelPooling(declared);
    }

    /** The engine as {@code GET /kv/report} and {@code /kv/stream} see it: the API gets this view, not the engine. */
    @Bean
    public KvReportSource kvReportSource(LLMEngine engine) {
        return new KvReportSource(engine.modelName(), engine.config().kvAllocationPolicy().name(), engine::kvReport,
                engine::stats);
    }

    @Bean
    public ChatPrompts chatPrompts(ChatTemplate template, LLMEngine service, JsonMapper json) {
        return new ChatPrompts(template, service.tokenizer(), json);
    }

    /** Unknown parser names stop the start with one line naming the known ones. */
    @Bean
    public ChatParsers chatParsers(QuireProperties props) {
        ChatParsers parsers = new ChatParsers(props.toolCallParser(), props.reasoningParser());
        if (parsers.toolCallParser() != null) log.info("Tool calls parsed as {} (quire.tool-call-parser)",
                parsers.toolCallParser());
        return parsers;
    }

    @Bean
    public GracefulDrain gracefulDrain(LLMEngine engine, QuireProperties props, ApplicationEventPublisher events) {
        return new GracefulDrain(engine, props.shutdownGrace(), events);
    }

    /** Closed while {@link WebWarmup} runs: see there. */
    @Bean
    WarmupGate warmupGate(QuireProperties props) {
        return new WarmupGate(WebWarmup.enabled(props.warmup(), props.warmupRequests(), props.warmupRequestsTime()));
    }

    @Bean
    WebWarmup webWarmup(LLMEngine engine, WarmupGate gate, QuireProperties props, ApplicationContext context,
                        Environment env, JsonMapper json) {
        return new WebWarmup(engine, gate, props.warmupRequests(), props.warmupRequestsTime(), props.apiKey(), context, env, json);
    }

    /** The warm-up's own requests stay out of {@code http.server.requests}, as out of the engine's metrics. */
    @Bean
    ObservationPredicate warmupRequestsUnobserved(WarmupGate gate) {
        return (name, context) -> !(context instanceof ServerRequestObservationContext request
                && gate.isWarmup(request.getCarrier()));
    }

    @Bean
    public ModelHealthIndicator modelHealthIndicator(LLMEngine engine) {
        return new ModelHealthIndicator(engine);
    }

    @Bean
    public ApiKeys apiKeys(QuireProperties props) {
        ApiKeys keys = ApiKeys.of(props.apiKey());
        log.info(keys.isEmpty() ? "No API key set (quire.api-key): the API is open to anyone who can reach it"
                : "API keys: {} (quire.api-key); /health, /version and the Actuator health and Prometheus endpoints"
                        + " stay open", keys.size());
        return keys;
    }

    @Bean
    public ApiCors apiCors(QuireProperties props) {
        return new ApiCors(props.cors().allowedOrigins(), props.cors().allowedHeaders());
    }

}
