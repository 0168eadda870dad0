package io.quire.api;

import io.quire.api.wire.Usage;
import io.quire.engine.PromptLogprob;
import io.quire.engine.SequenceDelta;

import java.util.List;

/**
 * How one endpoint writes its choices, for {@link ChoiceStreams}: the wire records of a stream's
 * chunks and of the whole non-streamed response. Choices are numbered as the client sees them.
 */
interface ChoiceFormat {

    /**
     * The chunk a choice's stream starts with (echoed prompt, assistant role), or null for none;
     * {@code promptLogprobs}: its prompt's, when {@link #headAwaitsPromptLogprobs}, else null.
     */
    Object head(int choice, List<PromptLogprob> promptLogprobs);

    /** Whether the head shows the prompt's logprobs, so waits for the request's first output to carry them. */
    default boolean headAwaitsPromptLogprobs() { return false; }

    /** Whether chunks show token ids (vLLM's return_token_ids): then a delta with ids but no text is no empty one. */
    default boolean showsTokenIds() { return false; }

    /**
     * The chunk for one delta of a choice that carries text, logprobs or a finish reason, or null when
     * there is nothing to tell yet.
     */
    Object chunk(int choice, SequenceDelta delta);

    /** {@code chunk} (one this format made) carrying {@code usage} (vLLM's {@code continuous_usage_stats}). */
    Object withUsage(Object chunk, Usage usage);

    /** The last chunk of a stream, carrying only the usage ({@code stream_options.include_usage}). */
    Object usageChunk(Usage usage);

    /** The non-streamed response, from every choice's collected output in choice order. */
    Object response(List<ChoiceAccumulator> choices, Usage usage);
}
