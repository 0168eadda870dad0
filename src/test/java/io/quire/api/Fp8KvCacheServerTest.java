package io.quire.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * The stories260K server with {@code quire.kv-cache-dtype=fp8} (e4m3), as a vLLM user would start
 * it: the setting reaches the cache, greedy text still matches llama.cpp's, and a batch of
 * concurrent streams returns every block (the leak check after each test).
 */
@TestPropertySource(properties = "quire.kv-cache-dtype=fp8")
class Fp8KvCacheServerTest extends Stories260KServerTest {

    @Test
    void streamsLlamaCppsGreedyTextFromAnFp8Cache() throws Exception {
        // 5 layers x K and V x 16 tokens x 4 KV heads x 8 values, one byte each (float32: four)
        assertThat(engine.kvReport().bytesPerBlock()).isEqualTo(5 * 2 * 16 * 4 * 8);
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0, "stream": true}""");
        assertThat(completionText(chunks, 0)).isEqualTo(ONCE_UPON_A_TIME_32);
    }
}
