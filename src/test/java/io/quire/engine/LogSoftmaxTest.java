package io.quire.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LogSoftmaxTest {

    @Test
    void logSumExpNormalizesAndDoesNotOverflow() {
        assertThat(LogSoftmax.logSumExp(new float[] {0f, 0f, 0f, 0f})).isCloseTo(Math.log(4), within(1e-12));
        // exp(1000) overflows a double: the max is taken out first.
        assertThat(LogSoftmax.logSumExp(new float[] {1000f, 1000f})).isCloseTo(1000 + Math.log(2), within(1e-9));
        float[] logits = {2f, -1f, 0.5f};
        double total = 0;
        for (float v : logits) total += Math.exp(v - LogSoftmax.logSumExp(logits));
        assertThat(total).isCloseTo(1, within(1e-12));
    }
}
