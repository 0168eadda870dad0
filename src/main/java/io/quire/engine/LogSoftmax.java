package io.quire.engine;

/**
 * The normalizer of log_softmax over a vocabulary's logits, for logprobs and beam scores: a
 * token's logprob is {@code logits[token] - logSumExp(logits)}.
 */
final class LogSoftmax {
    private LogSoftmax() {}

    /** {@code log(sum exp(logits[i]))}, the max subtracted first so no exp overflows; in double. */
    static double logSumExp(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return max + Math.log(sum);
    }
}
