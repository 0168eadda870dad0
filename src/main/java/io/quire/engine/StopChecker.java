package io.quire.engine;

import java.util.HashSet;
import java.util.Set;

/**
 * Decides whether a sequence stops, in one place (vLLM's {@code check_stop}): a stop string or a
 * stop token (EOS unless {@code ignore_eos}, or one of {@code stop_token_ids}) once
 * {@code min_tokens} are out ends it with STOP; its resolved output limit
 * ({@link Sequence#maxOutputTokens}) or the context length ends it with LENGTH.
 */
final class StopChecker {
    private final Set<Integer> eosIds;
    private final int maxModelLen;

    StopChecker(Set<Integer> eosIds, int maxModelLen) {
        this.eosIds = Set.copyOf(eosIds);
        this.maxModelLen = maxModelLen;
    }

    /** Why the sequence, whose last token was just appended, stops now; null when it runs on. */
    FinishReason checkStop(Sequence s, boolean stopStringMatched) {
        if (stopStringMatched || endsWithStopToken(s)) return FinishReason.STOP;
        if (reachedLength(s)) return FinishReason.LENGTH;
        return null;
    }

    /** Whether the sequence's last token stops it (min_tokens reached). */
    boolean endsWithStopToken(Sequence s) {
        SamplingParams p = s.params();
        return minTokensReached(p, s.numOutputTokens()) && isStopToken(p, s.token(s.numTokens() - 1));
    }

    /** Whether the sequence has all the tokens it may have. */
    boolean reachedLength(Sequence s) {
        return s.numOutputTokens() >= s.maxOutputTokens() || s.numTokens() >= maxModelLen;
    }

    /** EOS (unless ignore_eos) or one of stop_token_ids, whatever min_tokens says. */
    boolean isStopToken(SamplingParams p, int token) {
        return (!p.ignoreEos() && eosIds.contains(token))
                || (p.stopTokenIds() != null && p.stopTokenIds().contains(token));
    }

    /** Whether {@code numOutputTokens} satisfy min_tokens, so stop tokens and stop strings count. */
    static boolean minTokensReached(SamplingParams p, int numOutputTokens) {
        return numOutputTokens >= p.minTokens();
    }

    /** The tokens the sampler must not pick before min_tokens: those that would stop the sequence. */
    Set<Integer> suppressedBeforeMinTokens(SamplingParams p) {
        if (p.minTokens() == 0) return Set.of();
        Set<Integer> ids = new HashSet<>();
        if (!p.ignoreEos()) ids.addAll(eosIds);
        if (p.stopTokenIds() != null) ids.addAll(p.stopTokenIds());
        return ids;
    }
}
