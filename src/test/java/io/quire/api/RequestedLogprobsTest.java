package io.quire.api;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one logprobs check of both endpoints: the count, and the field the client sent it in. */
class RequestedLogprobsTest {
    @Test
    void completionsSendTheCountAsLogprobs() {
        assertThat(RequestedLogprobs.completion(null)).isNull();
        assertThat(RequestedLogprobs.completion(0)).isZero();
        assertThat(RequestedLogprobs.completion(RequestedLogprobs.MAX)).isEqualTo(20);
        assertThatThrownBy(() -> RequestedLogprobs.completion(21))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("logprobs"))
                .hasMessage("logprobs must be between 0 and 20, got 21");
    }

    @Test
    void chatSendsAFlagAndTheCountAsTopLogprobs() {
        assertThat(RequestedLogprobs.chat(null, null)).isNull();
        assertThat(RequestedLogprobs.chat(false, null)).isNull();
        assertThat(RequestedLogprobs.chat(true, null)).isZero();
        assertThat(RequestedLogprobs.chat(true, 5)).isEqualTo(5);
        assertThatThrownBy(() -> RequestedLogprobs.chat(true, -1))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("top_logprobs"))
                .hasMessage("top_logprobs must be between 0 and 20, got -1");
        assertThatThrownBy(() -> RequestedLogprobs.chat(null, 2))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("top_logprobs"))
                .hasMessage("top_logprobs requires logprobs to be true");
    }
}
