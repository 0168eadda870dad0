package io.quire.api;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SamplingParamsMapperTest {
    @Test
    void logitBiasValuesAreClampedToOpenAisRangeAsVllmDoes() {
        Map<String, Double> sent = new LinkedHashMap<>();
        sent.put("5", 1e6);
        sent.put(" 6", -250.5);
        sent.put("7", 42.5);
        assertThat(SamplingParamsMapper.logitBias(sent)).containsExactlyInAnyOrderEntriesOf(
                Map.of(5, 100f, 6, -100f, 7, 42.5f));
    }
}
