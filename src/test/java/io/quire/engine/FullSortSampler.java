package io.quire.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The sampler as it was before partial selection (commit 2346ffc), kept verbatim in test scope as
 * the reference {@link SamplerEquivalenceTest} and {@code SamplerBench} compare {@link Sampler}
 * with: it sorts the whole vocabulary for top_p and allocates vocabulary-sized arrays per token.
 *
 * <p>Picks the next token of one sequence from its logits with vLLM's semantics and order:
 * raw logprobs first (log-softmax of the model's logits, vLLM's default "raw" logprobs mode), then
 * the logit processors (logit_bias; min_tokens suppressing EOS and stop token ids), the penalties
 * (repetition over prompt+output, presence and frequency over output), then greedy argmax when
 * temperature is 0, else temperature, min_p, top_k, top_p and a draw from the request's own
 * generator. Stateless; the logits row is modified in place.
 */
final class FullSortSampler {
    /** Temperatures below this are greedy, as in vLLM. */
    static final float SAMPLING_EPS = 1e-5f;

    /**
     * @param suppressUntilMinTokens ids that may not be sampled before {@code min_tokens} outputs
     *                               (EOS unless ignore_eos, and the stop token ids)
     */
    public Sampler.Sample sample(float[] logits, SamplingParams p, SamplingState state,
                                 Set<Integer> suppressUntilMinTokens) {
        int vocab = logits.length;
        float[] raw = p.logprobs() != null ? logits.clone() : null;

        Map<Integer, Float> bias = p.logitBias() == null ? Map.of() : p.logitBias();
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            int id = e.getKey();
            if (id >= 0 && id < vocab) logits[id] += e.getValue();
        }
        if (state.numOutputTokens() < p.minTokens()) {
            for (int id : suppressUntilMinTokens) if (id >= 0 && id < vocab) logits[id] = Float.NEGATIVE_INFINITY;
        }
        applyPenalties(logits, p, state);

        int token = p.temperature() < SAMPLING_EPS ? argmax(logits) : draw(logits, p, state);
        // As Sampler since it reports a row with nothing to sample as the request's error (greedy included).
        if (!(logits[token] > Float.NEGATIVE_INFINITY)) throw new InvalidRequestException(null, "nothing to sample");
        TokenLogprob lp = raw == null ? null : logprobs(raw, token, p.logprobs());
        return new Sampler.Sample(token, lp);
    }

    static void applyPenalties(float[] logits, SamplingParams p, SamplingState state) {
        float rep = p.repetitionPenalty();
        if (rep != 1f) {
            var seen = state.seen();
            for (int id = seen.nextSetBit(0); id >= 0 && id < logits.length; id = seen.nextSetBit(id + 1)) {
                logits[id] = logits[id] > 0 ? logits[id] / rep : logits[id] * rep;
            }
        }
        float freq = p.frequencyPenalty(), pres = p.presencePenalty();
        if (freq != 0f || pres != 0f) {
            for (Map.Entry<Integer, Integer> e : state.outputCounts().entrySet()) {
                int id = e.getKey();
                if (id < logits.length) logits[id] -= freq * e.getValue() + pres;
            }
        }
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private static int draw(float[] logits, SamplingParams p, SamplingState state) {
        int vocab = logits.length;
        float invT = 1f / p.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            logits[i] *= invT;
            if (logits[i] > max) max = logits[i];
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new InvalidRequestException(null, "every token is suppressed; nothing to sample");
        }
        double[] probs = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            probs[i] = Math.exp(logits[i] - max);
            sum += probs[i];
        }
        // min_p: drop tokens less likely than min_p times the most likely one (the max has weight 1).
        if (p.minP() > 0f) {
            for (int i = 0; i < vocab; i++) if (probs[i] < p.minP()) { sum -= probs[i]; probs[i] = 0; }
        }
        int topK = p.topK() > 0 ? Math.min(p.topK(), vocab) : vocab;
        if (topK < vocab || p.topP() < 1f) {
            // Sorting a 150k vocabulary every token is wasteful when only the top k can survive.
            int[] order = topK <= vocab / 8 ? topDescending(probs, topK) : sortedDescending(probs);
            int keep = Math.min(topK, order.length);
            if (p.topP() < 1f) {
                double kept = 0;
                for (int j = 0; j < keep; j++) kept += probs[order[j]];
                double cum = 0;
                int j = 0;
                // Smallest prefix whose share of the (top-k) mass reaches top_p; at least one token.
                while (j < keep) {
                    cum += probs[order[j]] / kept;
                    j++;
                    if (cum >= p.topP()) break;
                }
                keep = j;
            }
            double[] kept = new double[vocab];
            sum = 0;
            for (int j = 0; j < keep; j++) {
                kept[order[j]] = probs[order[j]];
                sum += probs[order[j]];
            }
            probs = kept;
        }
        double u = state.random().nextDouble() * sum;
        int last = -1;
        for (int i = 0; i < vocab; i++) {
            if (probs[i] <= 0) continue;
            last = i;
            u -= probs[i];
            if (u < 0) return i;
        }
        return last; // rounding left u just above zero
    }

    /** Sort key: larger probability first, then lower id (float bits of a positive value sort like the value). */
    private static long key(double prob, int id) {
        return ((0x7fffffffL - Float.floatToIntBits((float) prob)) << 32) | id;
    }

    /** Indices with positive probability, most likely first (ties: lower id first). */
    static int[] sortedDescending(double[] probs) {
        long[] keys = new long[probs.length];
        int n = 0;
        for (int i = 0; i < probs.length; i++) if (probs[i] > 0) keys[n++] = key(probs[i], i);
        keys = Arrays.copyOf(keys, n);
        Arrays.sort(keys);
        int[] order = new int[n];
        for (int j = 0; j < n; j++) order[j] = (int) keys[j];
        return order;
    }

    /**
     * The (at most) {@code k} most likely indices with positive probability, in the order of
     * {@link #sortedDescending}.
     */
    static int[] topDescending(double[] probs, int k) {
        // A max-heap (on the key) of the k best seen so far: its root is the worst of them.
        long[] heap = new long[k];
        int size = 0;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] <= 0) continue;
            long key = key(probs[i], i);
            if (size < k) {
                int c = size++;
                heap[c] = key;
                while (c > 0 && heap[(c - 1) / 2] < heap[c]) { swap(heap, c, (c - 1) / 2); c = (c - 1) / 2; }
            } else if (key < heap[0]) {
                heap[0] = key;
                int c = 0;
                while (true) {
                    int l = 2 * c + 1, r = l + 1, m = c;
                    if (l < size && heap[l] > heap[m]) m = l;
                    if (r < size && heap[r] > heap[m]) m = r;
                    if (m == c) break;
                    swap(heap, c, m);
                    c = m;
                }
            }
        }
        long[] keys = Arrays.copyOf(heap, size);
        Arrays.sort(keys);
        int[] order = new int[size];
        for (int j = 0; j < size; j++) order[j] = (int) keys[j];
        return order;
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** log_softmax of the raw logits: the sampled token's logprob and the {@code k} most likely tokens. */
    static TokenLogprob logprobs(float[] raw, int token, int k) {
        float lse = (float) LogSoftmax.logSumExp(raw);
        List<TokenLogprob.Candidate> top = new ArrayList<>(k);
        if (k > 0) {
            // Min-heap of the best k (ties: lower id wins).
            PriorityQueue<Integer> heap = new PriorityQueue<>(k + 1,
                    (a, b) -> raw[a] != raw[b] ? Float.compare(raw[a], raw[b]) : Integer.compare(b, a));
            for (int i = 0; i < raw.length; i++) {
                if (heap.size() < k) heap.add(i);
                else {
                    int worst = heap.peek();
                    if (raw[i] > raw[worst]) { heap.poll(); heap.add(i); }
                }
            }
            while (!heap.isEmpty()) {
                int id = heap.poll();
                top.add(new TokenLogprob.Candidate(id, raw[id] - lse));
            }
            top = top.reversed();
        }
        return new TokenLogprob(token, raw[token] - lse, List.copyOf(top));
    }
}
