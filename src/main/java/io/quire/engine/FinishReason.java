package io.quire.engine;

/** Why a sequence stopped generating. */
public enum FinishReason {
    /** EOS, a stop token id or a stop string. */
    STOP,
    /** max_tokens or the model's context length. */
    LENGTH,
    /** The client went away or the request was cancelled. */
    ABORT
}
