package io.quire.engine;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Picks the next token of one sequence from its logits with vLLM's semantics and order:
 * raw logprobs first (log-softmax of the model's logits, vLLM's default "raw" logprobs mode), then
 * the logit processors (logit_bias; min_tokens suppressing EOS and stop token ids), the penalties
 * (repetition over prompt+output, presence and frequency over output), then greedy argmax when
 * temperature is 0, else temperature, min_p, top_k, top_p and a draw from the request's own
 * generator.
 *
 * <p>The logits row is changed while a token is picked and restored, bit for bit, before
 * {@code sample} returns (or throws), so a caller may read the raw row afterwards, and the raw
 * logprobs need no copy of it. Nothing of the vocabulary's size is allocated per token: the
 * sampler keeps vocabulary-sized scratch arrays, so one instance serves one thread (the engine's).
 * Only as much of the order as top_k and top_p need is built, by selection and a bucket sort
 * (comparison sorts within buckets). That is most of the vocabulary only when top_p keeps most of
 * it (a flat distribution), when probabilities crowd into a few buckets (within 1% of each other),
 * or, all but never, when the fallback below needs it all.
 *
 * <p>Results are those of the full-sort formulation, bit for bit, for the same seed: probabilities
 * are {@code exp(logit/T - max)} in double, tokens ordered by probability rounded to float (ties:
 * lower id first), top_k keeps the first k of that order, top_p the shortest prefix whose running
 * sum of {@code prob / mass} reaches top_p (mass: the sum of the top_k tokens in that order), and
 * the draw walks the kept tokens in id order. How each step avoids the sort:
 * <ul>
 *   <li>top_k up to {@link #SMALL_TOP_K}: a min-heap finds the k-th largest logit, a bisection the
 *       smallest logit whose float probability reaches that one's (the map from logit to float
 *       probability is monotone), and only logits above it, k of them bar ties, get an exp and a
 *       sort.</li>
 *   <li>Otherwise every token gets its probability, counted into buckets by the top 16 bits of
 *       its float (sign, exponent, 7 mantissa bits: buckets in the order of the sort). Whole
 *       buckets, from the top, are then gathered in one pass and sorted each on its own, as far
 *       as top_k, or top_p, needs: a bucket sort of the head of the order only.</li>
 *   <li>top_p without top_k gathers the buckets whose mass reaches top_p (at least
 *       {@link #FIRST_TOP_P_PREFIX} tokens), fourfold more while its cut lies further. The mass it
 *       divides by is a sum in sorted order over every candidate; summed in index order instead it
 *       differs from that by at most {@code 2*gamma(n-1)*mass} (recursive summation of
 *       positives), and the cut is monotone in the mass, so the cuts for both ends of that
 *       interval are computed: equal (all but always), that is the cut; otherwise every bucket is
 *       sorted and the mass summed in order.</li>
 *   <li>The draw walks the kept tokens in id order: few by sorting their ids, many by a scan of
 *       the vocabulary that recognises them by their sort key.</li>
 *   <li>Logprobs: a heap of the best {@code logprobs} raw logits.</li>
 * </ul>
 * top_p and an untruncated draw still take an exp of every logit (their mass is over all tokens),
 * as before; top_k alone does not.
 */
public final class Sampler {
    /** Temperatures below this are greedy, as in vLLM. */
    static final float SAMPLING_EPS = 1e-5f;
    /** Largest top_k selected on the logits themselves (an exp for its candidates only). */
    static final int SMALL_TOP_K = 4096;
    /** Fewest tokens top_p sorts first. */
    static final int FIRST_TOP_P_PREFIX = 256;
    /** Buckets of probabilities in [0, 1]: the top 16 bits of their float, 1f's included. */
    private static final int BUCKETS = (Float.floatToIntBits(1f) >>> 16) + 1;
    /** Largest kept set drawn from by sorting its ids; a larger one is drawn from by a vocabulary scan. */
    static final int SORTED_DRAW = 4096;

    /** The sampled token and, when asked for, its logprob and the top alternatives. */
    public record Sample(int tokenId, TokenLogprob logprob) {}

    /** Multiplies the summation error bounds (1; larger only in tests, to drive the exact fallbacks). */
    private final double boundSlack;

    // Scratch, grown to the vocabulary and reused.
    private double[] probs = new double[0];
    private long[] keys = new long[0];
    private float[] heap = new float[0];
    private int[] ids = new int[0];
    private final int[] bucketCount = new int[BUCKETS];
    private final int[] bucketEnd = new int[BUCKETS];
    private final double[] bucketMass = new double[BUCKETS];
    private int[] undoIds = new int[64];
    private float[] undoValues = new float[64];
    private int undoSize;
    /** keys[0, sorted) are the best candidates, in order (with buckets: whole buckets of them). */
    private int sorted;
    /** With buckets: the highest bucket not gathered into keys yet. */
    private int nextBucket;
    /** With buckets: the candidates' probabilities summed in id order. */
    private double total;

    public Sampler() {
        this(1);
    }

    /** @param boundSlack factor (at least 1) on the summation error bounds; tests widen them */
    Sampler(double boundSlack) {
        if (!(boundSlack >= 1)) throw new IllegalArgumentException("boundSlack must be at least 1");
        this.boundSlack = boundSlack;
    }

    /**
     * @param suppressUntilMinTokens ids that may not be sampled before {@code min_tokens} outputs
     *                               (EOS unless ignore_eos, and the stop token ids)
     */
    public Sample sample(float[] logits, SamplingParams p, SamplingState state, Set<Integer> suppressUntilMinTokens) {
        int vocab = logits.length;
        int token;
        undoSize = 0;
        try {
            Map<Integer, Float> bias = p.logitBias() == null ? Map.of() : p.logitBias();
            for (Map.Entry<Integer, Float> e : bias.entrySet()) {
                int id = e.getKey();
                if (id >= 0 && id < vocab) set(logits, id, logits[id] + e.getValue(), this);
            }
            if (state.numOutputTokens() < p.minTokens()) {
                for (int id : suppressUntilMinTokens) {
                    if (id >= 0 && id < vocab) set(logits, id, Float.NEGATIVE_INFINITY, this);
                }
            }
            applyPenalties(logits, p, state, this);
            token = p.temperature() < SAMPLING_EPS ? argmax(logits) : draw(logits, p, state);
            // Every token excluded (argmax then falls on id 0, draw finds no mass): a request that cannot go on.
            if (!(logits[token] > Float.NEGATIVE_INFINITY)) throw nothingToSample(p, state, suppressUntilMinTokens);
        } finally {
            while (undoSize > 0) {
                undoSize--;
                logits[undoIds[undoSize]] = undoValues[undoSize];
            }
        }
        TokenLogprob lp = p.logprobs() == null ? null : logprobs(logits, token, p.logprobs());
        return new Sample(token, lp);
    }

    /**
     * The request leaves no token to sample at this step: the caller's error (a 400), named after
     * {@code min_tokens} when it holds back what the rest allows (a constraint that can only end now,
     * or stop_token_ids listing the whole vocabulary).
     */
    private static InvalidRequestException nothingToSample(SamplingParams p, SamplingState state,
            Set<Integer> suppressUntilMinTokens) {
        if (state.numOutputTokens() < p.minTokens() && !suppressUntilMinTokens.isEmpty()) {
            return new InvalidRequestException("min_tokens", "min_tokens " + p.minTokens() + " cannot be met: after "
                    + state.numOutputTokens() + " output tokens the only tokens the request allows end the output"
                    + " (EOS or stop_token_ids), which min_tokens holds back.");
        }
        return new InvalidRequestException(null, "No token can be sampled: the request's constraints exclude every"
                + " token.");
    }

    /** Applies the penalties in place (nothing to restore). */
    static void applyPenalties(float[] logits, SamplingParams p, SamplingState state) {
        applyPenalties(logits, p, state, null);
    }

    private static void applyPenalties(float[] logits, SamplingParams p, SamplingState state, Sampler undo) {
        float rep = p.repetitionPenalty();
        if (rep != 1f) {
            var seen = state.seen();
            for (int id = seen.nextSetBit(0); id >= 0 && id < logits.length; id = seen.nextSetBit(id + 1)) {
                set(logits, id, logits[id] > 0 ? logits[id] / rep : logits[id] * rep, undo);
            }
        }
        float freq = p.frequencyPenalty(), pres = p.presencePenalty();
        if (freq != 0f || pres != 0f) {
            for (Map.Entry<Integer, Integer> e : state.outputCounts().entrySet()) {
                int id = e.getKey();
                if (id < logits.length) set(logits, id, logits[id] - (freq * e.getValue() + pres), undo);
            }
        }
    }

    /** {@code logits[id] = value}, remembering the old value when {@code undo} is given. */
    private static void set(float[] logits, int id, float value, Sampler undo) {
        if (undo != null) {
            if (undo.undoSize == undo.undoIds.length) {
                undo.undoIds = Arrays.copyOf(undo.undoIds, 2 * undo.undoSize);
                undo.undoValues = Arrays.copyOf(undo.undoValues, 2 * undo.undoSize);
            }
            undo.undoIds[undo.undoSize] = id;
            undo.undoValues[undo.undoSize++] = logits[id];
        }
        logits[id] = value;
    }

    /** The first index of the largest value (NaN never counts as larger); 0 for no values. */
    static int argmax(float[] x) {
        if (x.length == 0) return 0;
        int best = 0;
        float top = x[0];
        for (int i = 1; i < x.length; i++) {
            float v = x[i];
            if (v > top) {
                top = v;
                best = i;
            }
        }
        return best;
    }

    private int draw(float[] logits, SamplingParams p, SamplingState state) {
        int vocab = logits.length;
        float invT = 1f / p.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float scaled = logits[i] * invT;
            if (scaled > max) max = scaled;
        }
        if (max == Float.NEGATIVE_INFINITY) return 0;  // every token excluded: sample() says so
        grow(vocab);
        int topK = p.topK() > 0 ? Math.min(p.topK(), vocab) : vocab;
        if (topK == vocab && !(p.topP() < 1f)) return drawAll(logits, invT, max, p.minP(), state);
        int keep = topK < vocab && topK <= SMALL_TOP_K ? smallTopK(logits, invT, max, p.minP(), topK)
                : candidates(logits, invT, max, p.minP(), topK);
        if (p.topP() < 1f) keep = topP(keep, p.topP());
        sortPrefix(keep); // (a top_k of at least every candidate, without top_p, has not sorted them yet)
        double sum = 0;
        for (int j = 0; j < keep; j++) sum += prob(j);
        return pick(state.random().nextDouble() * sum, keep);
    }

    /** No truncation: every token with its probability (bar min_p), in id order, as in vLLM. */
    private int drawAll(float[] logits, float invT, float max, float minP, SamplingState state) {
        int vocab = logits.length;
        double[] pr = probs;
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            pr[i] = Math.exp(logits[i] * invT - max);
            sum += pr[i];
        }
        // min_p: drop tokens less likely than min_p times the most likely one (the max has weight 1).
        if (minP > 0f) {
            for (int i = 0; i < vocab; i++) if (pr[i] < minP) { sum -= pr[i]; pr[i] = 0; }
        }
        double u = state.random().nextDouble() * sum;
        int last = -1;
        for (int i = 0; i < vocab; i++) {
            if (pr[i] <= 0) continue;
            last = i;
            u -= pr[i];
            if (u < 0) return i;
        }
        return last; // rounding left u just above zero
    }

    /**
     * The best {@code k} (fewer if fewer pass min_p) tokens, sorted into keys[0, keep); their
     * probabilities in probs. Only logits at or above the bisected threshold get an exp.
     */
    private int smallTopK(float[] logits, float invT, float max, float minP, int k) {
        float threshold = threshold(kthLargest(logits, k), invT, max);
        int n = 0;
        for (int i = 0; i < logits.length; i++) {
            float x = logits[i];
            if (x >= threshold) {
                double q = Math.exp(x * invT - max);
                if (q > 0 && !(q < minP)) {
                    probs[i] = q;
                    keys[n++] = key(q, i);
                }
            }
        }
        int keep = Math.min(k, n);
        selectSmallest(keys, 0, n, keep); // more than k only when probabilities tie at the k-th
        Arrays.sort(keys, 0, keep);
        sorted = keep;
        return keep;
    }

    /**
     * Every token's probability into probs (0 for those min_p drops), counted into buckets; the
     * best {@code k} gathered and sorted when that is fewer than all. Returns how many there are.
     */
    private int candidates(float[] logits, float invT, float max, float minP, int k) {
        double[] pr = probs;
        int[] count = bucketCount;
        double[] mass = bucketMass;
        Arrays.fill(count, 0);
        Arrays.fill(mass, 0);
        double t = 0;
        int n = 0;
        for (int i = 0; i < logits.length; i++) {
            double q = Math.exp(logits[i] * invT - max);
            if (q > 0 && !(q < minP)) {
                pr[i] = q;
                int b = bucket(q);
                count[b]++;
                mass[b] += q;
                t += q;
                n++;
            } else {
                pr[i] = 0;
            }
        }
        total = t;
        sorted = 0;
        nextBucket = BUCKETS - 1;
        if (k < n) {
            sortPrefix(k);
            return k;
        }
        return n;
    }

    /**
     * top_p over the {@code keep} best candidates: how many of them survive. The candidates are
     * either all sorted already (top_k) or every one with a probability (buckets, no top_k).
     */
    private int topP(int keep, float topP) {
        if (sorted >= keep) return cutExactly(keep, topP);
        double e = errorBound(keep, total);
        double lo = total - e, hi = total + e;
        // The buckets' masses tell about where the cut lies; a little more is gathered to be safe.
        double reach = topP * hi * (1 + 1e-9);
        double acc = 0;
        int m = 0;
        for (int b = BUCKETS - 1; b >= 0 && acc < reach; b--) {
            acc += bucketMass[b];
            m += bucketCount[b];
        }
        m = Math.min(keep, Math.max(m, FIRST_TOP_P_PREFIX));
        while (true) {
            sortPrefix(m);
            if (sorted >= keep) return cutExactly(keep, topP);
            int cut = cut(lo, hi, sorted, topP);
            if (cut > 0) return cut;
            // the bound cannot tell (0): order every candidate and sum in order; or the cut lies further (-1)
            m = cut == 0 ? keep : (int) Math.min(keep, 4L * sorted);
        }
    }

    /**
     * The cut for any mass in [lo, hi] when it is the same for all, looking at the first {@code m}
     * sorted candidates: the cut is monotone in the mass (each prob/mass is, and so each running
     * sum), so the earliest is the one for lo, the latest the one for hi; they agree when the sum
     * for hi reaches topP where the one for lo does. 0 when they differ, -1 when lo's lies further.
     */
    private int cut(double lo, double hi, int m, float topP) {
        double cumLo = 0, cumHi = 0;
        for (int j = 0; j < m; j++) {
            double q = prob(j);
            cumLo += q / lo;
            cumHi += q / hi;
            if (cumLo >= topP) return cumHi >= topP ? j + 1 : 0;
        }
        return -1;
    }

    /** The cut with the mass summed in sorted order, every candidate sorted. */
    private int cutExactly(int keep, float topP) {
        double mass = 0;
        for (int j = 0; j < keep; j++) mass += prob(j);
        int cut = cut(mass, keep, topP);
        return cut < 0 ? keep : cut;
    }

    /**
     * The shortest prefix of the sorted candidates whose running sum of prob/mass reaches topP,
     * looking at the first {@code m} only: -1 if it is longer.
     */
    private int cut(double mass, int m, float topP) {
        double cum = 0;
        for (int j = 0; j < m; j++) {
            cum += prob(j) / mass;
            if (cum >= topP) return j + 1;
        }
        return -1;
    }

    /**
     * Walks the kept tokens keys[0, keep) in id order subtracting their probabilities from
     * {@code u}: the first to take it below zero (the last, if rounding left u above zero). Few
     * kept tokens are walked by sorting their ids, many by a scan of the vocabulary (then every
     * token's probability is in probs: {@link #candidates} wrote them).
     */
    private int pick(double u, int keep) {
        int last = -1;
        if (keep <= SORTED_DRAW) {
            for (int j = 0; j < keep; j++) ids[j] = (int) keys[j];
            Arrays.sort(ids, 0, keep);
            for (int j = 0; j < keep; j++) {
                int id = ids[j];
                last = id;
                u -= probs[id];
                if (u < 0) return id;
            }
            return last;
        }
        // The kept: probability above the worst kept one's, or equal to it at an id not above its id.
        long worst = keys[keep - 1];
        float worstProb = Float.intBitsToFloat((int) (0x7fffffffL - (worst >>> 32)));
        int worstId = (int) worst;
        double[] pr = probs;
        for (int i = 0; i < pr.length; i++) {
            double q = pr[i];
            float f = (float) q;
            boolean kept = q > 0 && (f > worstProb || (f == worstProb && i <= worstId));
            // without a branch on kept (about as likely as not): subtracting 0 leaves u as it is
            u -= kept ? q : 0;
            last = kept ? i : last;
            if (u < 0) return i;
        }
        return last;
    }

    /** The probability of the j-th candidate. */
    private double prob(int j) {
        return probs[(int) keys[j]];
    }

    /**
     * How far a sum of {@code n} positive doubles in one order can be from the sum {@code t} of
     * the same in another: each is within gamma(n-1) = (n-1)u/(1-(n-1)u) of the exact sum (u = 2^-53),
     * so they are within 2*gamma*t/(1-gamma) of each other, which n * 2^-51 * t exceeds with room
     * for the rounding of this bound and of t -/+ it (n is far below 2^50).
     */
    private double errorBound(int n, double t) {
        return boundSlack * n * 0x1p-51 * t;
    }

    /**
     * Makes keys[0, m) (at least) the best m candidates, sorted: gathers whole buckets from
     * {@link #nextBucket} down in one pass over probs, then sorts each bucket.
     */
    private void sortPrefix(int m) {
        if (m <= sorted) return;
        int[] count = bucketCount, end = bucketEnd;
        int top = nextBucket, low = top, pos = sorted;
        for (; low >= 0 && pos < m; low--) {
            pos += count[low];
            end[low] = pos;
        }
        low++; // buckets [low, top] are gathered, bucket b into keys[end[b] - count[b], end[b])
        double[] pr = probs;
        long[] ks = keys;
        int lowBits = low << 16, topBits = (top << 16) | 0xffff;
        for (int i = 0; i < pr.length; i++) {
            double q = pr[i];
            if (q > 0) {
                int bits = Float.floatToRawIntBits((float) q);
                if (bits >= lowBits && bits <= topBits) {
                    int b = bits >>> 16;
                    ks[end[b] - count[b]] = key(q, i);
                    count[b]--;
                }
            }
        }
        for (int b = top; b >= low; b--) {
            int from = b == top ? sorted : end[b + 1];
            if (end[b] - from > 1) Arrays.sort(ks, from, end[b]);
        }
        sorted = pos;
        nextBucket = low - 1;
    }

    /** The bucket of a candidate's probability (positive, at most 1): its sort position in coarse. */
    private static int bucket(double prob) {
        return Float.floatToRawIntBits((float) prob) >>> 16;
    }

    /** Sort key: larger probability first, then lower id (float bits of a positive value sort like the value). */
    static long key(double prob, int id) {
        return ((0x7fffffffL - Float.floatToIntBits((float) prob)) << 32) | id;
    }

    /**
     * Reorders a[from, to) so that its {@code count} smallest values come first (in no order):
     * quickselect, with a sort when the partitions keep coming out lopsided. Values distinct.
     */
    static void selectSmallest(long[] a, int from, int to, int count) {
        if (count <= 0 || count >= to - from) return;
        int target = from + count - 1;
        int lo = from, hi = to - 1;
        int budget = 2 * (32 - Integer.numberOfLeadingZeros(to - from)) + 4;
        while (lo < hi) {
            if (budget-- == 0) {
                Arrays.sort(a, lo, hi + 1);
                return;
            }
            int mid = (lo + hi) >>> 1;
            long x = a[lo], y = a[mid], z = a[hi];
            long pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
            int i = lo, j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) {
                    long t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            // a[lo, j] <= pivot <= a[i, hi], j < i; between them only the pivot itself
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return;
        }
    }

    /** The k-th largest of the non-NaN values, counted with multiplicity (-infinity when there are fewer). */
    private float kthLargest(float[] x, int k) {
        if (heap.length < k) heap = new float[k];
        float[] h = heap;
        int size = 0;
        for (float v : x) {
            if (size < k) {
                if (v != v) continue;
                int c = size++;
                while (c > 0 && h[(c - 1) >>> 1] > v) {
                    h[c] = h[(c - 1) >>> 1];
                    c = (c - 1) >>> 1;
                }
                h[c] = v;
            } else if (v > h[0]) {
                int c = 0;
                while (true) {
                    int l = 2 * c + 1, m = l;
                    if (l >= size) break;
                    if (l + 1 < size && h[l + 1] < h[l]) m = l + 1;
                    if (h[m] >= v) break;
                    h[c] = h[m];
                    c = m;
                }
                h[c] = v;
            }
        }
        return size < k ? Float.NEGATIVE_INFINITY : h[0];
    }

    /**
     * The smallest logit whose probability, rounded to float as the sort key rounds it, reaches
     * that of {@code kth}: a bisection over the floats below it, the map being monotone (float
     * multiply and subtract round monotonically, Math.exp is semi-monotonic).
     */
    static float threshold(float kth, float invT, float max) {
        float target = (float) Math.exp(kth * invT - max);
        if (target == 0f) return Float.NEGATIVE_INFINITY;
        long lo = sortable(Float.NEGATIVE_INFINITY), hi = sortable(kth); // below, at or above the target
        while (hi - lo > 1) {
            long mid = (lo + hi) >> 1;
            float x = unsortable((int) mid);
            if ((float) Math.exp(x * invT - max) >= target) hi = mid;
            else lo = mid;
        }
        return unsortable((int) hi);
    }

    /** Float bits as an int that orders like the float (-0 just below +0). */
    private static int sortable(float f) {
        int b = Float.floatToRawIntBits(f);
        return b ^ ((b >> 31) & 0x7fffffff);
    }

    private static float unsortable(int s) {
        return Float.intBitsToFloat(s ^ ((s >> 31) & 0x7fffffff));
    }

    private void grow(int vocab) {
        if (probs.length != vocab) {
            probs = new double[vocab];
            keys = new long[vocab];
        }
        int idsNeeded = Math.min(vocab, SORTED_DRAW);
        if (ids.length < idsNeeded) ids = new int[idsNeeded];
    }

    /** log_softmax of the raw logits: the sampled token's logprob and the {@code k} most likely tokens. */
    TokenLogprob logprobs(float[] raw, int token, int k) {
        float lse = (float) LogSoftmax.logSumExp(raw);
        int n = Math.min(k, raw.length);
        if (ids.length < n) ids = new int[n];
        int[] h = ids;
        // A heap of the best n with the worst (lower logit, then higher id) at the root.
        int size = 0;
        for (int i = 0; i < raw.length && n > 0; i++) {
            if (size < n) {
                int c = size++;
                while (c > 0 && worse(raw, i, h[(c - 1) >>> 1])) {
                    h[c] = h[(c - 1) >>> 1];
                    c = (c - 1) >>> 1;
                }
                h[c] = i;
            } else if (raw[i] > raw[h[0]]) {
                siftDown(raw, h, i, size);
            }
        }
        TokenLogprob.Candidate[] top = new TokenLogprob.Candidate[n];
        while (size > 0) {
            int worst = h[0];
            top[--size] = new TokenLogprob.Candidate(worst, raw[worst] - lse);
            if (size > 0) siftDown(raw, h, h[size], size);
        }
        return new TokenLogprob(token, raw[token] - lse, List.of(top));
    }

    /** Puts {@code id} at the root of the heap h[0, size) and sifts it down. */
    private static void siftDown(float[] raw, int[] h, int id, int size) {
        int c = 0;
        while (true) {
            int l = 2 * c + 1, m = l;
            if (l >= size) break;
            if (l + 1 < size && worse(raw, h[l + 1], h[l])) m = l + 1;
            if (!worse(raw, h[m], id)) break;
            h[c] = h[m];
            c = m;
        }
        h[c] = id;
    }

    private static boolean worse(float[] raw, int a, int b) {
        return raw[a] < raw[b] || (raw[a] == raw[b] && a > b);
    }
}
