package io.quire.engine;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Speculative decoding as vLLM's {@code --speculative-config} sets it, for the one method Quire has:
 * {@code ngram} (prompt lookup). Before a step, each decoding sequence looks for the last
 * {@code promptLookupMax} down to {@code promptLookupMin} tokens of its context earlier in it and
 * drafts up to {@code numSpeculativeTokens} tokens that followed; the step runs them with the
 * sequence's last token and keeps those the sampler would have picked anyway ({@link NgramProposer}).
 *
 * @param numSpeculativeTokens most tokens drafted per sequence and step
 * @param promptLookupMin      shortest n-gram matched
 * @param promptLookupMax      longest n-gram matched (tried first)
 * @param disableByBatchSize   no drafts while this many sequences or more run (0: drafts at any batch):
 *                             on a CPU a large batch is bound by arithmetic, and drafts add to it
 */
public record SpeculativeConfig(int numSpeculativeTokens, int promptLookupMin, int promptLookupMax,
                                int disableByBatchSize) {

    private static final String NAME = "quire.speculative-config";
    private static final Set<String> KEYS = Set.of("method", "num_speculative_tokens", "prompt_lookup_min",
            "prompt_lookup_max", "disable_by_batch_size");

    public SpeculativeConfig {
        if (numSpeculativeTokens < 1 || numSpeculativeTokens > 64) {
            throw new IllegalArgumentException(NAME + ": num_speculative_tokens must be between 1 and 64, got "
                    + numSpeculativeTokens);
        }
        if (promptLookupMin < 1) {
            throw new IllegalArgumentException(NAME + ": prompt_lookup_min must be at least 1, got " + promptLookupMin);
        }
        if (promptLookupMax < promptLookupMin) {
            throw new IllegalArgumentException(NAME + ": prompt_lookup_min (" + promptLookupMin
                    + ") must not exceed prompt_lookup_max (" + promptLookupMax + ")");
        }
        if (disableByBatchSize < 0) {
            throw new IllegalArgumentException(NAME + ": disable_by_batch_size must be at least 0, got "
                    + disableByBatchSize);
        }
    }

    /**
     * The config from vLLM's JSON keys, parsed into {@code settings}: {@code method} must be
     * {@code ngram}, {@code num_speculative_tokens} is required, a missing lookup bound takes the
     * other's value and both missing are 5 (vLLM's defaults). Anything else is refused, naming it.
     */
    public static SpeculativeConfig of(Map<String, ?> settings) {
        Set<String> unknown = new TreeSet<>(settings.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(NAME + ": " + String.join(", ", unknown) + (unknown.size() == 1 ? " is"
                    : " are") + " not supported; Quire drafts by n-gram lookup only and takes " + new TreeSet<>(KEYS));
        }
        Object method = settings.get("method");
        if (!"ngram".equals(method)) {
            throw new IllegalArgumentException(NAME + ": method " + (method == null ? "is missing" : "\"" + method
                    + "\" is not supported") + "; Quire drafts by n-gram lookup only: \"method\": \"ngram\"");
        }
        Integer k = integer(settings, "num_speculative_tokens");
        if (k == null) throw new IllegalArgumentException(NAME + ": num_speculative_tokens is required");
        Integer min = integer(settings, "prompt_lookup_min"), max = integer(settings, "prompt_lookup_max");
        if (min == null && max == null) min = max = 5;
        else if (min == null) min = max;
        else if (max == null) max = min;
        Integer off = integer(settings, "disable_by_batch_size");
        return new SpeculativeConfig(k, min, max, off == null ? 0 : off);
    }

    private static Integer integer(Map<String, ?> settings, String key) {
        Object v = settings.get(key);
        if (v == null) return null;
        if (v instanceof Number n && n.doubleValue() == n.intValue()) return n.intValue();
        throw new IllegalArgumentException(NAME + ": " + key + " must be an integer, got " + v);
    }

    /** Whether sequences draft in a step where {@code running} sequences run. */
    boolean draftsAt(int running) { return disableByBatchSize == 0 || running < disableByBatchSize; }
}
