package io.quire.cli;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench kv} on a tiny trace: every policy runs, reports, and gives the same outputs. */
class KvPolicyBenchTest extends CapturedStdStreams {
    @Test
    void runsOneTraceUnderEveryPolicy() {
        // 16 blocks of 16 = 256 tokens, max model len 128: Orca (Max) holds two requests at a time.
        int rc = KvPolicyBench.run(new String[] {"bench", "kv", "--num-requests", "12", "--dataset", "uniform",
                "--input-len", "8:40",
                "--output-len", "4:24", "--max-model-len", "128", "--kv-blocks", "16", "--warmup-requests", "0",
                "--seed", "5"});
        assertThat(rc).as(err.toString()).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("PAGED", "ORCA_MAX", "ORCA_POW2", "ORCA_ORACLE",
                "greedy outputs identical across policies: yes");
        JsonNode json = JsonMapper.builder().build().readTree(text.substring(text.indexOf("{\"model\"")));
        assertThat(json.get("outputs_identical").asBoolean()).isTrue();
        assertThat(json.get("num_requests").asInt()).isEqualTo(12);
        KvTrace trace = KvTrace.uniform(5, 12, 8, 40, 4, 24, 128, Double.POSITIVE_INFINITY);
        Map<String, JsonNode> byPolicy = new HashMap<>();
        for (JsonNode r : json.get("results")) byPolicy.put(r.get("policy").asString(), r);
        assertThat(byPolicy).containsOnlyKeys("PAGED", "ORCA_MAX", "ORCA_POW2", "ORCA_ORACLE");
        for (JsonNode r : byPolicy.values()) {
            assertThat(r.get("output_tokens").asLong()).isEqualTo(trace.totalOutputTokens());
            assertThat(r.get("kv_utilization").asDouble()).isBetween(0.0, 1.0);
            assertThat(r.get("output_throughput").asDouble()).isPositive();
        }
        assertThat(byPolicy.get("ORCA_MAX").get("max_batch").asInt()).isEqualTo(2);
        assertThat(byPolicy.get("ORCA_MAX").get("preemptions").asLong()).isZero();
        assertThat(byPolicy.get("PAGED").get("kv_reserved_fraction").asDouble()).isZero();
        assertThat(byPolicy.get("ORCA_MAX").get("kv_reserved_fraction").asDouble()).isPositive();
        assertThat(byPolicy.get("PAGED").get("kv_utilization").asDouble())
                .isGreaterThan(byPolicy.get("ORCA_ORACLE").get("kv_utilization").asDouble());
        assertThat(byPolicy.get("ORCA_ORACLE").get("kv_utilization").asDouble())
                .isGreaterThan(byPolicy.get("ORCA_MAX").get("kv_utilization").asDouble());
        assertThat(byPolicy.get("PAGED").get("max_batch").asInt())
                .isGreaterThan(byPolicy.get("ORCA_MAX").get("max_batch").asInt());
    }

    @Test
    void badOptionsAreRejectedWithAMessage() {
        assertThat(KvPolicyBench.run(new String[] {"bench", "kv", "--policies", "PAGED,BUDDY"})).isEqualTo(2);
        assertThat(err.toString()).contains("unknown policy 'BUDDY'");
        assertThat(KvPolicyBench.run(new String[] {"bench", "kv", "--kv-blocks", "0"})).isEqualTo(2);
        assertThat(err.toString()).contains("--kv-blocks must be positive");
        assertThat(KvPolicyBench.run(new String[] {"bench", "kv", "--preemption-mode", "evict"})).isEqualTo(2);
        assertThat(err.toString()).contains("--preemption-mode must be recompute, swap or auto");
    }

    @Test
    void pagingCanSwapInsteadOfRecomputing() {
        // 8 blocks = 128 tokens for 12 requests of up to 64 tokens: paging must preempt.
        int rc = KvPolicyBench.run(new String[] {"bench", "kv", "--policies", "PAGED", "--num-requests", "12",
                "--dataset", "uniform",
                "--input-len", "8:40", "--output-len", "4:24", "--max-model-len", "64", "--kv-blocks", "8",
                "--warmup-requests", "0",
                "--preemption-mode", "swap", "--swap-blocks", "64"});
        assertThat(rc).as(err.toString()).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        JsonNode json = JsonMapper.builder().build().readTree(text.substring(text.indexOf("{\"model\"")));
        assertThat(json.get("preemption_mode").asString()).isEqualTo("SWAP");
        JsonNode paged = json.get("results").get(0);
        assertThat(paged.get("preemptions").asLong()).isPositive();
        assertThat(paged.get("output_tokens").asLong())
                .isEqualTo(KvTrace.uniform(0, 12, 8, 40, 4, 24, 64, Double.POSITIVE_INFINITY).totalOutputTokens());
    }
}
