package io.quire.cli.bench;

/**
 * What one request measured. Times are seconds from the moment the request was sent. {@code itl}
 * holds every gap between two successive streamed chunks of the same sample (choice), so with
 * {@code n > 1} each sample's decoding pace is measured on its own. {@code outputTokens} counts
 * all samples together: the server's {@code usage} when it sent one, else one per non-empty chunk.
 */
public record RequestResult(
        int index,
        boolean success,
        String error,
        int promptTokens,
        int outputTokens,
        boolean usageReported,
        int samples,
        double ttft,
        double e2e,
        double[] itl,
        double sentAt) {

    public static RequestResult failure(int index, String error, double e2e, double sentAt) {
        return new RequestResult(index, false, error, 0, 0, false, 0, 0, e2e, new double[0], sentAt);
    }

    /**
     * Time per output token after the first, vLLM's TPOT: {@code (e2e - ttft) / (tokens - 1)}
     * with the tokens of one sample (the mean over samples when {@code n > 1}); NaN when a
     * sample has at most one token, so that such requests are left out of the TPOT statistics.
     */
    public double tpot() {
        if (!success || samples == 0) return Double.NaN;
        double perSample = (double) outputTokens / samples;
        return perSample > 1 ? (e2e - ttft) / (perSample - 1) : Double.NaN;
    }
}
