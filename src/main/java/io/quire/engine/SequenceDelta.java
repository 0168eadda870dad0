package io.quire.engine;

import java.util.List;

/**
 * What one sequence of a request produced in one engine step.
 *
 * @param index        which of the request's {@code n} sequences
 * @param text         newly released text (held-back text that might start a stop string is not in it yet)
 * @param tokenIds     tokens generated this step
 * @param logprobs     one per token when logprobs were asked for, else empty
 * @param finishReason null while the sequence runs
 */
public record SequenceDelta(int index, String text, int[] tokenIds, List<TokenLogprob> logprobs,
                            FinishReason finishReason) {}
