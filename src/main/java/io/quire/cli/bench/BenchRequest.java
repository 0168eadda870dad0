package io.quire.cli.bench;

/**
 * One request of a benchmark run: its prompt, the prompt's length in tokens as measured when it
 * was built (the server's {@code usage} wins when it reports one), and how many tokens to ask for.
 */
public record BenchRequest(int index, String prompt, int promptTokens, int outputTokens) {
    public BenchRequest {
        if (outputTokens < 1) {
            throw new IllegalArgumentException("a request must ask for at least one output token, got " + outputTokens);
        }
    }
}
