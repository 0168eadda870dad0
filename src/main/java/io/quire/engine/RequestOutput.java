package io.quire.engine;

import java.util.List;

/**
 * One step's output of one request, pushed to its subscriber. The last one of a request has
 * {@code finished} true and every sequence's finish reason set.
 *
 * @param promptTokens     tokens in the prompt
 * @param completionTokens tokens generated so far, over all sequences
 * @param promptLogprobs   in the request's first output, when asked for: prompt token i + 1's logprob at i
 * @param embedding        in an embedding request's last output ({@link GenerationService#embed}): its prompt's
 *                         last final hidden state, as the model computed it (not normalized); else null
 */
public record RequestOutput(String requestId, List<SequenceDelta> deltas, int promptTokens, int completionTokens,
                            boolean finished, List<PromptLogprob> promptLogprobs, float[] embedding) {

    public RequestOutput(String requestId, List<SequenceDelta> deltas, int promptTokens, int completionTokens,
                         boolean finished, List<PromptLogprob> promptLogprobs) {
        this(requestId, deltas, promptTokens, completionTokens, finished, promptLogprobs, null);
    }

    public RequestOutput(String requestId, List<SequenceDelta> deltas, int promptTokens, int completionTokens,
                         boolean finished) {
        this(requestId, deltas, promptTokens, completionTokens, finished, null);
    }
}
