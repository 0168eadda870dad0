package io.quire.engine;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestValidatorTest {
    private static final int[] PROMPT = {1, 5, 6};

    private static SamplingParams p(float temperature, float topP, int topK, float minP, float pres, float freq,
                                    float rep, Integer max, int min, Integer logprobs) {
        return new SamplingParams(1, temperature, topP, topK, minP, pres, freq, rep, null, List.of(), List.of(), false,
                max, min, false, Map.of(), logprobs, true);
    }

    private static void rejects(SamplingParams params, String param) {
        assertThatThrownBy(() -> RequestValidator.validate(PROMPT, params, 64, 100))
                .isInstanceOf(InvalidRequestException.class)
                .satisfies(e -> assertThat(((InvalidRequestException) e).param()).isEqualTo(param));
    }

    @Test
    void acceptsDefaultsAndResolvesMaxTokens() {
        assertThat(RequestValidator.validate(PROMPT, SamplingParams.defaults(null), 64, 100)).isEqualTo(97);
        assertThat(RequestValidator.validate(PROMPT, SamplingParams.defaults(10), 64, 100)).isEqualTo(10);
        assertThat(RequestValidator.validate(PROMPT, p(0, 1, 0, 1, -2, 2, 0.1f, 97, 97, 20), 64, 100)).isEqualTo(97);
    }

    @Test
    void rejectsOutOfRangeParameters() {
        rejects(p(-0.1f, 1, -1, 0, 0, 0, 1, 5, 0, null), "temperature");
        rejects(p(1, 0f, -1, 0, 0, 0, 1, 5, 0, null), "top_p");
        rejects(p(1, 1.01f, -1, 0, 0, 0, 1, 5, 0, null), "top_p");
        rejects(p(1, 1, -2, 0, 0, 0, 1, 5, 0, null), "top_k");
        rejects(p(1, 1, -1, 1.5f, 0, 0, 1, 5, 0, null), "min_p");
        rejects(p(1, 1, -1, 0, 2.5f, 0, 1, 5, 0, null), "presence_penalty");
        rejects(p(1, 1, -1, 0, 0, -3, 1, 5, 0, null), "frequency_penalty");
        rejects(p(1, 1, -1, 0, 0, 0, 0, 5, 0, null), "repetition_penalty");
        rejects(p(1, 1, -1, 0, 0, 0, 1, 0, 0, null), "max_tokens");
        rejects(p(1, 1, -1, 0, 0, 0, 1, 5, 6, null), "min_tokens");
        rejects(p(1, 1, -1, 0, 0, 0, 1, 5, -1, null), "min_tokens");
        rejects(p(1, 1, -1, 0, 0, 0, 1, 5, 0, 21), "logprobs");
        SamplingParams d = SamplingParams.defaults(5);
        rejects(new SamplingParams(0, 1, 1, -1, 0, 0, 0, 1, null, List.of(), List.of(), false, 5, 0, false, Map.of(),
                null, true), "n");
        rejects(d.withN(3, 2), "best_of");
        rejects(d.withN(65, null), "n");
        rejects(d.withN(2, 65), "best_of");
        rejects(d.withN(2, null).withBeamSearch(Float.NaN), "length_penalty");
        rejects(new SamplingParams(1, 1, 1, -1, 0, 0, 0, 1, null, List.of(""), List.of(), false, 5, 0, false, Map.of(),
                null, true), "stop");
        rejects(new SamplingParams(1, 1, 1, -1, 0, 0, 0, 1, null, List.of(), List.of(64), false, 5, 0, false, Map.of(),
                null, true), "stop_token_ids");
        rejects(new SamplingParams(1, 1, 1, -1, 0, 0, 0, 1, null, List.of(), List.of(), false, 5, 0, false,
                Map.of(-1, 1f), null, true), "logit_bias");
        assertThat(d.n()).isEqualTo(1);
    }

    @Test
    void underAnOrcaPolicyEverySequenceMustFindItsReservationInTheCache() {
        io.quire.kv.KvCacheManager kv = new io.quire.kv.KvCacheManager(32, 16);  // 512 tokens
        SamplingParams one = SamplingParams.defaults(20);
        SamplingParams two = one.withN(2, null);
        var orcaMax = io.quire.kv.KvAllocationPolicy.ORCA_MAX;
        // One sequence reserving the whole context (512 tokens) fits; two never could, even alone.
        RequestValidator.validateSequences(3, 20, one, 8, kv, orcaMax, 512);
        assertThatThrownBy(() -> RequestValidator.validateSequences(3, 20, two, 8, kv, orcaMax, 512))
                .isInstanceOf(InvalidRequestException.class)
                .satisfies(e -> assertThat(((InvalidRequestException) e).param()).isEqualTo("n"))
                .hasMessageContaining("need 64 KV blocks, more than the cache's 32");
        // Paged, or an Orca policy reserving only the request's length, two fit.
        RequestValidator.validateSequences(3, 20, two, 8, kv, io.quire.kv.KvAllocationPolicy.PAGED, 512);
        RequestValidator.validateSequences(3, 20, two, 8, kv, io.quire.kv.KvAllocationPolicy.ORCA_ORACLE, 512);
    }

    @Test
    void minTokensWithEveryTokenAStopTokenIsRejectedUpFront() {
        List<Integer> all = java.util.stream.IntStream.range(0, 64).boxed().toList();
        rejects(new SamplingParams(1, 1, 1, -1, 0, 0, 0, 1, null, List.of(), all, false, 5, 2, false, Map.of(),
                null, true), "min_tokens");
        // Without min_tokens, or with one token left out, the request can go on.
        RequestValidator.validate(PROMPT, new SamplingParams(1, 1, 1, -1, 0, 0, 0, 1, null, List.of(), all, false, 5,
                0, false, Map.of(), null, true), 64, 100);
        RequestValidator.validate(PROMPT, new SamplingParams(1, 1, 1, -1, 0, 0, 0, 1, null, List.of(), all.subList(1, 64),
                false, 5, 2, false, Map.of(), null, true), 64, 100);
    }

    @Test
    void acceptsSeveralSequencesAndBeamSearch() {
        SamplingParams two = new SamplingParams(2, 1, 1, -1, 0, 0, 0, 1, null, List.of(), List.of(), false, 5, 0, false,
                Map.of(), null, true);
        assertThat(RequestValidator.validate(PROMPT, two, 64, 100)).isEqualTo(5);
        assertThat(RequestValidator.validate(PROMPT, two.withN(2, 6), 64, 100)).isEqualTo(5);
        assertThat(RequestValidator.validate(PROMPT, two.withBeamSearch(0.5f), 64, 100)).isEqualTo(5);
        assertThat(two.withN(2, 6).width()).isEqualTo(6);
    }

    @Test
    void contextLengthErrorsUseVllmWording() {
        assertThatThrownBy(() -> RequestValidator.validate(PROMPT, SamplingParams.defaults(98), 64, 100))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("This model's maximum context length is 100 tokens. However, you requested 101 tokens"
                        + " (3 in the messages, 98 in the completion). Please reduce the length of the messages or"
                        + " completion.")
                .satisfies(e -> assertThat(((InvalidRequestException) e).param()).isEqualTo("max_tokens"));
        int[] longPrompt = new int[100];
        assertThatThrownBy(() -> RequestValidator.validate(longPrompt, SamplingParams.defaults(null), 64, 100))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageStartingWith("This model's maximum context length is 100 tokens. However, you requested"
                        + " 100 tokens in the messages")
                .satisfies(e -> assertThat(((InvalidRequestException) e).param()).isEqualTo("messages"));
        assertThatThrownBy(() -> RequestValidator.validate(new int[0], SamplingParams.defaults(5), 64, 100))
                .isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> RequestValidator.validate(new int[]{64}, SamplingParams.defaults(5), 64, 100))
                .isInstanceOf(InvalidRequestException.class);
    }
}
