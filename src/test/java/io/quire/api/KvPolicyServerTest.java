package io.quire.api;

import io.quire.kv.KvMemoryReport;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server under {@code quire.kv-allocation-policy=orca_max}: every request holds blocks for the max model length.
 */
@TestPropertySource(properties = {"quire.kv-allocation-policy=orca_max", "quire.max-model-len=128"})
class KvPolicyServerTest extends Stories260KServerTest {

    @Test
    void requestsReserveTheMaxModelLength() throws Exception {
        List<KvMemoryReport> reports = new CopyOnWriteArrayList<>();
        engine.addKvReportListener(reports::add);
        JsonNode done = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""");
        assertThat(done.get("usage").get("completion_tokens").asInt()).isEqualTo(8);
        // The greedy text does not depend on the policy.
        assertThat(ONCE_UPON_A_TIME_32).startsWith(done.get("choices").get(0).get("text").asString());

        List<KvMemoryReport> held = reports.stream().filter(r -> !r.sequences().isEmpty()).toList();
        assertThat(held).isNotEmpty().allSatisfy(r -> {
            assertThat(r.sequences()).hasSize(1);
            assertThat(r.sequences().getFirst().blockIds()).hasSize(128 / r.blockSize());
            assertThat(r.slotsReserved()).isPositive();
        });
        JsonNode body = json.readTree(get("/kv/report").body());
        assertThat(body.get("allocation_policy").asString()).isEqualTo("ORCA_MAX");
    }
}
