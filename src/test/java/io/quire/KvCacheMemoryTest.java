package io.quire;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.engine.LLMEngine;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code quire.kv-cache-memory} from the settings to the engine's block count, on stories260K (context
 * 512, 20480 bytes a block of 16 tokens): left unset the pool holds max-num-seqs requests of the full
 * context instead of 512MB's 26,214 blocks; set, it is obeyed exactly. (The 512MB cap on the need:
 * {@code engine.KvCacheSizeTest}, without allocating it.)
 */
class KvCacheMemoryTest {
    private static LanguageModel<?> model;

    @BeforeAll
    static void load() throws Exception {
        model = ModelLoader.load(SharedFiles.stories260K());
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    private static int blocks(String... settings) {
        Map<String, String> map = new HashMap<>(Map.of("quire.model", SharedFiles.stories260K().toString()));
        for (int i = 0; i < settings.length; i += 2) map.put(settings[i], settings[i + 1]);
        QuireProperties props = new Binder(new MapConfigurationPropertySource(map))
                .bindOrCreate("quire", QuireProperties.class);
        try (LLMEngine engine = new QuireConfiguration().llmEngine(model, props, new SimpleMeterRegistry())) {
            return engine.stats().numTotalBlocks();
        }
    }

    @Test
    void byDefaultMaxNumSeqsTimesTheContext() {
        assertThat(blocks()).isEqualTo(64 * 512 / 16).isNotEqualTo(26_214);
        assertThat(blocks("quire.max-num-seqs", "8")).isEqualTo(8 * 32);
        assertThat(blocks("quire.max-model-len", "100")).isEqualTo(64 * 7);
        assertThat(blocks("quire.kv-cache-memory", "0")).isEqualTo(2048);
    }

    @Test
    void anExplicitSizeIsObeyed() {
        assertThat(blocks("quire.kv-cache-memory", "16MB")).isEqualTo((16 << 20) / 20480);
        assertThat(blocks("quire.kv-cache-memory", "100MB", "quire.max-num-seqs", "8")).isEqualTo(5120);
    }
}
