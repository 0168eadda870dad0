package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.kv.KvMemoryReport;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Mistral-style model (every layer slides, window 8) through the engine with 4-token blocks,
 * chunked prefill and prefix caching: the greedy tokens equal llama.cpp's windowed reference
 * ({@code src/test/resources/archs/mistral.json}, see ArchitectureReferenceTest), blocks that fall
 * out of the window go back to the pool while it runs, and the same prompt again, served partly from
 * the prefix cache (a hit whose early blocks the window dropped), gives the same tokens.
 */
class SlidingWindowEngineTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @Test
    void mistralWindowFreesBlocksAndMatchesLlamaCpp() throws Exception {
        Path dir = Path.of(getClass().getResource("/archs").toURI());
        JsonNode ref = JsonMapper.builder().build().readTree(Files.readString(dir.resolve("mistral.json")));
        int[] prompt = ints(ref.get("prompt"));
        int[] expected = ints(ref.get("tokens"));
        try (LanguageModel<?> model = ModelLoader.load(dir.resolve("mistral.gguf"))) {
            MeterRegistry reg = new SimpleMeterRegistry();
            LLMEngine engine = TestEngines.with(model).blocks(24, 4).maxNumBatchedTokens(6).registry(reg).build();
            List<KvMemoryReport> reports = new CopyOnWriteArrayList<>();
            engine.addKvReportListener(reports::add);
            try {
                assertThat(generate(engine, "a", prompt, expected.length)).containsExactly(expected);
                // The sequence of 28 + 12 tokens would hold 10 blocks; the window keeps at most 8 / 4 + 1
                // (plus what one 6-token prefill chunk spans).
                long maxHeld = reports.stream().flatMap(r -> r.sequences().stream())
                        .mapToLong(s -> Arrays.stream(s.blockIds()).filter(b -> b >= 0).count()).max().orElse(0);
                assertThat(maxHeld).isBetween(1L, 5L);
                assertThat(reports.getLast().window().blocksFreed()).isPositive();

                double hitsBefore = reg.get("quire_prefix_cache_hits").counter().count();
                assertThat(generate(engine, "b", prompt, expected.length)).containsExactly(expected);
                assertThat(reg.get("quire_prefix_cache_hits").counter().count()).isGreaterThan(hitsBefore);
                TestEngines.awaitAllBlocksFree(engine);
            } finally {
                engine.close();
            }
        }
    }

    private static int[] generate(LLMEngine engine, String id, int[] prompt, int maxTokens) {
        SamplingParams params = SamplingParams.greedy(maxTokens).withIgnoreEos(true);
        List<RequestOutput> outs = engine.generate(id, prompt, params, null).collectList().block(TIMEOUT);
        return outs.stream().flatMapToInt(o -> Arrays.stream(o.deltas().getFirst().tokenIds())).toArray();
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
