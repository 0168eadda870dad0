package io.quire.api.wire;

import java.util.List;

/** Chat logprobs: one entry per generated token. */
public record ChatLogprobs(List<ChatTokenLogprob> content) {}
