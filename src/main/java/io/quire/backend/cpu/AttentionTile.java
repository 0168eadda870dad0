package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Attention for a tile of rows that read the same keys: consecutive positions of one sequence (a
 * prompt chunk) times the query heads of one KV group, one row per vector lane, one or two vectors of
 * rows (planes: a second shares each key's broadcast). The queries are
 * transposed once per tile, so each key meets every row in broadcast FMAs: no horizontal sum per
 * score, softmax across rows in vector lanes, and each K and V row read once per tile instead of
 * once per token. A row's arithmetic does not depend on the other rows of its tile, so how a prompt
 * is split into tiles (or chunks) does not change its result.
 */
final class AttentionTile {
    /** Fewer rows than this leave most lanes empty: {@link TokenAttention}'s dot products are faster. */
    static final int MIN_ROWS = Simd.L / 2;
    /**
     * At most two vectors of rows, each a plane of its own (queries, scores, lanes): the second shares each
     * key's broadcast in {@link #weights2} (two FMAs per broadcast where one vector has one).
     */
    static final int MAX_ROWS = 2 * Simd.L;

    private static final ThreadLocal<float[]> QT = ThreadLocal.withInitial(() -> new float[64 * Simd.L]);
    private static final ThreadLocal<float[]> QT2 = ThreadLocal.withInitial(() -> new float[64 * Simd.L]);
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[256 * Simd.L]);
    private static final ThreadLocal<float[]> SCORES2 = ThreadLocal.withInitial(() -> new float[256 * Simd.L]);
    private static final ThreadLocal<int[]> ROWS = ThreadLocal.withInitial(() -> new int[256]);
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[3 * Simd.L]);
    private static final ThreadLocal<float[]> LANES2 = ThreadLocal.withInitial(() -> new float[3 * Simd.L]);
    private static final ThreadLocal<Widened> WIDENED = ThreadLocal.withInitial(Widened::new);
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private AttentionTile() {}

    /**
     * Rows {@code r < tokens * group}: token {@code t0 + r / group} (at position {@code pos0 + r / group})
     * and query head {@code kvHead * group + r % group}. Each row attends causally to its own
     * positions (only the last {@code window} when that is positive); {@code keys} and {@code values}
     * are the layer's absolute addresses, {@code table} the sequence's block table. {@code widened}
     * holds the rows the sequence's earlier tiles widened or copied (this thread's, from {@link #widened()}).
     */
    static void attend(float[] q, float[] out, int qStride, int t0, int tokens, int pos0, int group, int kvHead,
            int headDim, int[] table, int bs, int kvDim, long keys, long values, TensorType type, int window, float scale,
            float softcap, Widened widened) {
        final var F = Simd.F;
        final int L = Simd.L;
        int rows = tokens * group;
        int start = PagedAttention.first(pos0, window);
        int end = pos0 + tokens - 1;
        int len = end + 1 - start;

        // Queries transposed, a plane per vector of rows: qt[d * L + r] (rows L.. in qt2); unused lanes stay 0.
        // Per lane: first and last position seen.
        float[] qt = Scratch.floats(QT, headDim * L), lanes = LANES.get();
        transpose(q, qStride, t0, rows, 0, pos0, group, kvHead, headDim, window, qt, lanes);
        boolean two = rows > L;
        float[] qt2 = two ? Scratch.floats(QT2, headDim * L) : null, lanes2 = two ? LANES2.get() : null;
        if (two) transpose(q, qStride, t0, rows, L, pos0, group, kvHead, headDim, window, qt2, lanes2);

        // K and V rows of positions start..end, as floats in this thread's arrays (widened from an F16 or FP8
        // cache, copied from an F32 one), kept from tile to tile of the sequence (Widened).
        widened.cover(keys, values, table, bs, kvDim, kvHead, start, end, headDim, type);

        // Scores, key-major (s[j * L + r]), from the first position of start's panel of 8 keys (kStart): the
        // panel's positions before start (skip of them) are left out of the softmax and the sums.
        int n0 = (start - widened.from) / 8, n1 = (end - widened.from) / 8 + 1;
        int kStart = widened.from + 8 * n0, skip = start - kStart;
        float allSeeFrom = PagedAttention.first(end, window);
        float[] s = Scratch.floats(SCORES, 8 * (n1 - n0) * L);
        float[] s2 = two ? Scratch.floats(SCORES2, 8 * (n1 - n0) * L) : null;
        if (two) {
            weights2(qt, qt2, widened.k, n0, n1, headDim, s, s2, skip, len, kStart, pos0, allSeeFrom, scale, softcap,
                    lanes, lanes2);
        } else {
            weights(qt, widened.k, n0, n1, headDim, s, skip, len, kStart, pos0, allSeeFrom, scale, softcap, lanes);
        }

        // out[row] = inv[row] * sum_j p[j][row] * V[j]: four rows and up to four vectors of the head at a time.
        int v0 = (start - widened.from) * headDim;
        // The last rows (of a tile of 15, say) go four at a time too, the lanes past the tile's rows computed
        // and dropped: one row alone was one FMA chain, its latency a step (a 1,000-token prompt: 2% of the pass).
        for (int r = 0; r < rows; r += 4) {
            boolean second = r >= L;
            weighted4(second ? s2 : s, skip, second ? r - L : r, r, Math.min(4, rows - r), widened.v, v0, len, headDim,
                    second ? lanes2 : lanes, out, t0, qStride, group, kvHead);
        }
    }

    /**
     * Rows {@code first .. first+L-1} of the tile (as {@link #attend} numbers them) into one plane: their
     * queries transposed into qt, the first and last position each sees into {@code lanes[0..2L)}.
     */
    private static void transpose(float[] q, int qStride, int t0, int rows, int first, int pos0, int group, int kvHead,
            int headDim, int window, float[] qt, float[] lanes) {
        final int L = Simd.L;
        for (int lane = 0; lane < L; lane++) {
            int r = first + lane;
            int p = pos0 + Math.min(r, rows - 1) / group;
            lanes[lane] = PagedAttention.first(p, window);
            lanes[L + lane] = p;
            if (r >= rows) {
                for (int d = 0; d < headDim; d++) qt[d * L + lane] = 0f;
                continue;
            }
            int off = (t0 + r / group) * qStride + (kvHead * group + r % group) * headDim;
            for (int d = 0; d < headDim; d++) qt[d * L + lane] = q[off + d];
        }
    }

    /** A plane's scores exponentiated: the masked softmax of a capped model, {@link #edges} otherwise. */
    private static void normalize(float[] s, int skip, int len, int kStart, int pos0, float allSeeFrom, float scale,
            float softcap, float[] lanes) {
        if (softcap > 0) softmax(s, skip, len, kStart, pos0, allSeeFrom, scale, softcap, lanes);
        else edges(s, skip, len, kStart, pos0, allSeeFrom, lanes);
    }

    /**
     * The scores {@code s[j * L + r]} of the transposed queries qt against the keys of panels {@code n0 ..
     * n1-1} of {@code kp} (Widened's layout: key m of panel n, element d, at {@code 8 (n headDim + d) + m}),
     * j counted from panel n0's first key, then exponentiated (arguments as in {@link #softmax}). A panel's
     * eight keys keep eight FMA chains in flight, and their elements d lie side by side, so one index walks
     * the loop and C2 hoists its bounds checks: with eight keys' rows read at eight addresses, C2 ran out of
     * registers and spent 58 instructions per eight FMAs. Without a soft cap each panel is scaled as it is
     * stored, and the running maximum taken there of the panels every row sees in full; the few panels at
     * the causal edge (and a window's start) are masked after, and {@link Exp#shifted} exponentiates and
     * sums in one more pass ({@link #normalize}): four passes over the scores were 20% of a 500-token
     * prompt's attention. Its own method, too large for C2 to inline into {@link #attend}, so that what it
     * calls is inlined here, in a small compilation: inlined into attend, past C2's node-count cutoff, some
     * of softmax's Vector API calls were left to the Vector API's Java code, boxing every vector
     * (docs/performance.md).
     */
    private static void weights(float[] qt, float[] kp, int n0, int n1, int headDim, float[] s, int skip, int len,
            int kStart, int pos0, float allSeeFrom, float scale, float softcap, float[] lanes) {
        final var F = Simd.F;
        final int L = Simd.L;
        boolean capped = softcap > 0;
        float by = capped ? 1f : scale;  // a cap takes the scale itself (softmax)
        // Each row's running maximum in lanes[2L..3L), read and written per panel: a vector kept across the
        // loop and updated on some panels only is one two paths merge, and boxed where C2 inlines late (Exp).
        FloatVector.broadcast(F, Float.NEGATIVE_INFINITY).intoArray(lanes, 2 * L);
        for (int n = n0; n < n1; n++) {
            int kb = 8 * n * headDim, sb = 8 * (n - n0) * L;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int d = 0; d < headDim; d++) {
                FloatVector qd = FloatVector.fromArray(F, qt, d * L);
                int o = kb + 8 * d;
                a0 = qd.fma(FloatVector.broadcast(F, kp[o]), a0);
                a1 = qd.fma(FloatVector.broadcast(F, kp[o + 1]), a1);
                a2 = qd.fma(FloatVector.broadcast(F, kp[o + 2]), a2);
                a3 = qd.fma(FloatVector.broadcast(F, kp[o + 3]), a3);
                a4 = qd.fma(FloatVector.broadcast(F, kp[o + 4]), a4);
                a5 = qd.fma(FloatVector.broadcast(F, kp[o + 5]), a5);
                a6 = qd.fma(FloatVector.broadcast(F, kp[o + 6]), a6);
                a7 = qd.fma(FloatVector.broadcast(F, kp[o + 7]), a7);
            }
            a0 = a0.mul(by);
            a1 = a1.mul(by);
            a2 = a2.mul(by);
            a3 = a3.mul(by);
            a4 = a4.mul(by);
            a5 = a5.mul(by);
            a6 = a6.mul(by);
            a7 = a7.mul(by);
            a0.intoArray(s, sb);
            a1.intoArray(s, sb + L);
            a2.intoArray(s, sb + 2 * L);
            a3.intoArray(s, sb + 3 * L);
            a4.intoArray(s, sb + 4 * L);
            a5.intoArray(s, sb + 5 * L);
            a6.intoArray(s, sb + 6 * L);
            a7.intoArray(s, sb + 7 * L);
            int p = kStart + 8 * (n - n0);
            if (!capped && p >= allSeeFrom && p + 7 <= pos0) {
                // v.max(max), not max.max(v): see softmax
                a0.max(a1).max(a2).max(a3).max(a4).max(a5).max(a6).max(a7)
                        .max(FloatVector.fromArray(F, lanes, 2 * L)).intoArray(lanes, 2 * L);
            }
        }
        normalize(s, skip, len, kStart, pos0, allSeeFrom, scale, softcap, lanes);
    }

    /**
     * {@link #weights} for two planes of rows, qt and qt2 into s and s2 (lanes and lanes2): each key's broadcast
     * meets both, 16 FMAs per eight broadcasts and two loads where one plane has 8 per eight and one (a
     * scratch loop in L1: 108-117 GFLOP/s against 84). Its own method, as weights. A tile of one plane keeps
     * weights: a short run of rows over a long context (a prompt's suffix after a cached prefix, speculative
     * tokens to verify) would pay for a second plane of zeros.
     */
    private static void weights2(float[] qt, float[] qt2, float[] kp, int n0, int n1, int headDim, float[] s, float[] s2,
            int skip, int len, int kStart, int pos0, float allSeeFrom, float scale, float softcap, float[] lanes,
            float[] lanes2) {
        final var F = Simd.F;
        final int L = Simd.L;
        boolean capped = softcap > 0;
        float by = capped ? 1f : scale;
        FloatVector.broadcast(F, Float.NEGATIVE_INFINITY).intoArray(lanes, 2 * L);
        FloatVector.broadcast(F, Float.NEGATIVE_INFINITY).intoArray(lanes2, 2 * L);
        for (int n = n0; n < n1; n++) {
            int kb = 8 * n * headDim, sb = 8 * (n - n0) * L;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
            for (int d = 0; d < headDim; d++) {
                FloatVector qd = FloatVector.fromArray(F, qt, d * L), qe = FloatVector.fromArray(F, qt2, d * L);
                int o = kb + 8 * d;
                FloatVector k = FloatVector.broadcast(F, kp[o]);
                a0 = qd.fma(k, a0);
                b0 = qe.fma(k, b0);
                k = FloatVector.broadcast(F, kp[o + 1]);
                a1 = qd.fma(k, a1);
                b1 = qe.fma(k, b1);
                k = FloatVector.broadcast(F, kp[o + 2]);
                a2 = qd.fma(k, a2);
                b2 = qe.fma(k, b2);
                k = FloatVector.broadcast(F, kp[o + 3]);
                a3 = qd.fma(k, a3);
                b3 = qe.fma(k, b3);
                k = FloatVector.broadcast(F, kp[o + 4]);
                a4 = qd.fma(k, a4);
                b4 = qe.fma(k, b4);
                k = FloatVector.broadcast(F, kp[o + 5]);
                a5 = qd.fma(k, a5);
                b5 = qe.fma(k, b5);
                k = FloatVector.broadcast(F, kp[o + 6]);
                a6 = qd.fma(k, a6);
                b6 = qe.fma(k, b6);
                k = FloatVector.broadcast(F, kp[o + 7]);
                a7 = qd.fma(k, a7);
                b7 = qe.fma(k, b7);
            }
            a0 = a0.mul(by);
            a1 = a1.mul(by);
            a2 = a2.mul(by);
            a3 = a3.mul(by);
            a4 = a4.mul(by);
            a5 = a5.mul(by);
            a6 = a6.mul(by);
            a7 = a7.mul(by);
            b0 = b0.mul(by);
            b1 = b1.mul(by);
            b2 = b2.mul(by);
            b3 = b3.mul(by);
            b4 = b4.mul(by);
            b5 = b5.mul(by);
            b6 = b6.mul(by);
            b7 = b7.mul(by);
            a0.intoArray(s, sb);
            a1.intoArray(s, sb + L);
            a2.intoArray(s, sb + 2 * L);
            a3.intoArray(s, sb + 3 * L);
            a4.intoArray(s, sb + 4 * L);
            a5.intoArray(s, sb + 5 * L);
            a6.intoArray(s, sb + 6 * L);
            a7.intoArray(s, sb + 7 * L);
            b0.intoArray(s2, sb);
            b1.intoArray(s2, sb + L);
            b2.intoArray(s2, sb + 2 * L);
            b3.intoArray(s2, sb + 3 * L);
            b4.intoArray(s2, sb + 4 * L);
            b5.intoArray(s2, sb + 5 * L);
            b6.intoArray(s2, sb + 6 * L);
            b7.intoArray(s2, sb + 7 * L);
            int p = kStart + 8 * (n - n0);
            if (!capped && p >= allSeeFrom && p + 7 <= pos0) {
                a0.max(a1).max(a2).max(a3).max(a4).max(a5).max(a6).max(a7)
                        .max(FloatVector.fromArray(F, lanes, 2 * L)).intoArray(lanes, 2 * L);
                b0.max(b1).max(b2).max(b3).max(b4).max(b5).max(b6).max(b7)
                        .max(FloatVector.fromArray(F, lanes2, 2 * L)).intoArray(lanes2, 2 * L);
            }
        }
        normalize(s, skip, len, kStart, pos0, allSeeFrom, scale, softcap, lanes);
        normalize(s2, skip, len, kStart, pos0, allSeeFrom, scale, softcap, lanes2);
    }

    /**
     * The scaled scores of {@link #weights}' panels that not every row sees in full (the causal edge, a
     * window's start): masked, and taken into each row's maximum at {@code lanes[2L..3L)}; then all are
     * exponentiated against it, and 1/sum per row goes to {@code lanes[2L..3L)}. Arguments as in
     * {@link #softmax}. Scalar code, a few keys a tile: its Vector API form (a mask, a blend, a max per key)
     * was left uncompiled by C2 in some JVMs, boxing every vector (a 1,000-token prompt: 27 MB a pass).
     */
    private static void edges(float[] s, int skip, int len, int kStart, int pos0, float allSeeFrom, float[] lanes) {
        final int L = Simd.L;
        int j0 = skip, j1 = skip + len;
        for (int j = j0; j < j1; j++) {
            int p = kStart + j, panel = p - j % 8;  // panels start at kStart + 8i
            if (panel >= allSeeFrom && panel + 7 <= pos0) {  // one weights took in full
                j += 7 - j % 8;  // the panel's last key: the loop moves on to the next panel
                continue;
            }
            for (int r = 0; r < L; r++) {
                int i = j * L + r;
                if (lanes[L + r] < p || lanes[r] > p) s[i] = Float.NEGATIVE_INFINITY;  // row r does not see p
                lanes[2 * L + r] = Math.max(s[i], lanes[2 * L + r]);  // as FloatVector.max, NaN and -0 alike
            }
        }
        Exp.shifted(s, j0 * L, j1 * L, lanes, 2 * L);
        for (int r = 0; r < L; r++) lanes[2 * L + r] = 1f / lanes[2 * L + r];
    }

    /** Row {@code j} of {@code rowOf} in the cache at {@code src} (F32, F16 or FP8) as floats at {@code dst[off..]}. */
    private static void widen(long src, int[] rowOf, int j, int headDim, TensorType type, float[] dst, int off) {
        if (type == TensorType.F32) {
            copy(src + 4L * rowOf[j], headDim, dst, off);
        } else if (type == TensorType.F16) {
            widen(src + 2L * rowOf[j], headDim, dst, off);
        } else if (Fp8.of(type) == Fp8.E4M3) {
            widen(Fp8.E4M3, src + rowOf[j], headDim, dst, off, Fp8.E4M3_SHIFT, Fp8.E4M3_MASK);  // the shifts as constants (Fp8)
        } else {
            widen(Fp8.E5M2, src + rowOf[j], headDim, dst, off, Fp8.E5M2_SHIFT, Fp8.E5M2_MASK);
        }
    }

    /** The F32 row at {@code from} into {@code dst[off..off+headDim)}. */
    private static void copy(long from, int headDim, float[] dst, int off) {
        MemorySegment.copy(Simd.ALL, ValueLayout.JAVA_FLOAT_UNALIGNED, from, dst, off, headDim);
    }

    /**
     * The F16 row at {@code from} into {@code dst[off..off+headDim)}, widened as MatMul widens F16 weights
     * (rebias by 2^112, patch infinities and NaN, restore the sign).
     */
    private static void widen(long from, int headDim, float[] dst, int off) {
        final MemorySegment seg = Simd.ALL;
        final var I = Simd.I;
        final var S = Simd.S;
        final int L = Simd.L;
        final FloatVector rebias = FloatVector.broadcast(Simd.F, 0x1p112f);
        int d = 0;
        for (; d + L <= headDim; d += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, from + 2L * d, NATIVE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector m = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m.or(0x7f800000), m.compare(VectorOperators.GE, 0x7c00 << 13))
                    .or(h.and(0x80000000)).reinterpretAsFloats().intoArray(dst, off + d);
        }
        for (; d < headDim; d++) dst[off + d] = Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, from + 2L * d));
    }

    /** The FP8 row at {@code from} into {@code dst[off..off+headDim)}. */
    private static void widen(Fp8 f, long from, int headDim, float[] dst, int off, int shift, int mask) {
        final MemorySegment seg = Simd.ALL;
        final var I = Simd.I;
        final int L = Simd.L;
        final var B = L == 8 ? ByteVector.SPECIES_64 : ByteVector.SPECIES_128;
        final FloatVector rebias = FloatVector.broadcast(Simd.F, Math.scalb(1f, f.rebias));
        int d = 0;
        for (; d + L <= headDim; d += L) {
            // each byte sign-extended into an int lane, then moved to a float's place (Fp8)
            IntVector x = (IntVector) ByteVector.fromMemorySegment(B, seg, from + d, NATIVE)
                    .convertShape(VectorOperators.B2I, I, 0);
            x.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, shift).and(mask)
                    .reinterpretAsFloats().mul(rebias).intoArray(dst, off + d);
        }
        for (; d < headDim; d++) dst[off + d] = f.decode(seg.get(ValueLayout.JAVA_BYTE, from + d));
    }

    /** This thread's widened rows, emptied: for one run of tiles within which the cache does not change. */
    static Widened widened() {
        Widened w = WIDENED.get();
        w.table = null;
        return w;
    }

    /**
     * K and V rows of one sequence's positions {@code [from, to)} for one KV head of one layer as floats:
     * widened from an F16 or FP8 cache, copied from an F32 one. Each prompt tile of a sequence reads all
     * the positions before its own: widened tile by tile, a row was widened again for every 16 tokens
     * after it. Kept from tile to tile, each row is widened once per run of tiles (a 1,000-token prompt's
     * prefill 1.12x faster, a 500-token one's 1.04x). Valid only while the cache does not change:
     * {@link #widened()} empties it at the start of each such run. K lies in panels of 8 positions, element
     * by element ({@link #scores}); V row by row, position {@code p} at {@code (p - from) headDim}.
     */
    static final class Widened {
        private long cacheKeys;
        private int[] table;
        private int kvHead, from, to;
        private float[] k = new float[0], v = new float[0], row = new float[0];

        /**
         * Makes positions {@code start..end} widened, keeping what already is when it is this head's. Over
         * 325 bytes of bytecode (C2's FreqInlineSize), so compiled on its own, not inlined into attend: there
         * it took attend past C2's node-count cutoff, and softmax's vectors were boxed (a 500-token pass
         * allocated 745 MB in one JVM of four).
         */
        void cover(long keys, long values, int[] table, int bs, int kvDim, int kvHead, int start, int end, int headDim,
                TensorType type) {
            if (this.table != table || cacheKeys != keys || this.kvHead != kvHead || start < from || start > to) {
                this.table = table;
                cacheKeys = keys;
                this.kvHead = kvHead;
                from = to = start;
            }
            if (end < to) return;
            int rows = end + 1 - from, panels = (rows + 7) / 8;
            if (k.length < 8 * panels * headDim) {
                int size = Math.max(8 * panels * headDim, 2 * k.length);
                k = Arrays.copyOf(k, size);  // both layouts grow at the end: what is widened stays where it is
                v = Arrays.copyOf(v, size);
            }
            if (row.length < headDim) row = new float[headDim];
            // Where positions to..end lie in the cache: rowOf[j] for position to + j.
            int[] rowOf = Scratch.ints(ROWS, end + 1 - to);
            PagedAttention.rowOffsets(table, to, end + 1 - to, bs, kvDim, kvHead, headDim, rowOf);
            for (int p = to; p <= end; p++) {
                int j = p - to, i = p - from;
                widen(keys, rowOf, j, headDim, type, row, 0);
                int o = 8 * (i / 8) * headDim + i % 8;
                for (int d = 0; d < headDim; d++) k[o + 8 * d] = row[d];
                widen(values, rowOf, j, headDim, type, v, i * headDim);
            }
            to = end + 1;
        }
    }

    /**
     * The raw scores {@code s[j * L + r]}, {@code skip <= j < skip + len} (position {@code kStart + j}), scaled
     * and soft-capped (a model with a cap; {@link #weights} does the rest in fewer passes), masked where row r does not see the position (lanes[r] and lanes[L + r] are the first
     * and last position it sees; every row sees allSeeFrom..pos0), then exponentiated against each row's
     * maximum; 1/sum per row goes to lanes[2L..3L), applied to the output instead. A separate pass over the
     * scores, in L1 or L2, rather than a helper called per key: vectors passed to or returned from a method C2
     * does not inline are boxed.
     */
    private static void softmax(float[] s, int skip, int len, int kStart, int pos0, float allSeeFrom, float scale,
            float softcap, float[] lanes) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector firstSeen = FloatVector.fromArray(F, lanes, 0);
        FloatVector lastSeen = FloatVector.fromArray(F, lanes, L);
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        if (softcap > 0) {
            Tanh.cap(s, skip * L, (skip + len) * L, scale, softcap);
            scale = 1f;  // applied inside the cap
        }
        for (int j = skip; j < skip + len; j++) {
            FloatVector v = FloatVector.fromArray(F, s, j * L).mul(scale);
            int p = kStart + j;
            if (p > pos0 || p < allSeeFrom) {
                FloatVector pv = FloatVector.broadcast(F, (float) p);
                VectorMask<Float> unseen = lastSeen.compare(VectorOperators.LT, pv)
                        .or(firstSeen.compare(VectorOperators.GT, pv));
                v = v.blend(Float.NEGATIVE_INFINITY, unseen);
            }
            v.intoArray(s, j * L);
            // v.max(max), not max.max(v): where C2 inlines Vector API calls late (past its node-count
            // cutoff, as in attend before scores left it), it resolves a call only on a receiver whose
            // class it knows exactly, and a loop's accumulator is not one: max.max(v) stayed a call
            // that boxed every vector (a 16-token prompt: about 0.9 MB a pass; docs/performance.md).
            max = v.max(max);
        }
        // Each row's maximum read back per key: a vector kept from before a loop, as an argument, is what C2
        // fails to type where it inlines late (decode's softmax boxed so; TokenAttention).
        max.intoArray(lanes, 2 * L);
        for (int j = skip; j < skip + len; j++) {
            FloatVector.fromArray(F, s, j * L).sub(FloatVector.fromArray(F, lanes, 2 * L)).intoArray(s, j * L);
        }
        Exp.inPlace(s, skip * L, (skip + len) * L);
        FloatVector sum = FloatVector.zero(F);
        for (int j = skip; j < skip + len; j++) sum = FloatVector.fromArray(F, s, j * L).add(sum);  // as max above
        FloatVector.broadcast(F, 1f).div(sum).intoArray(lanes, 2 * L);
    }

    private static int outOffset(int row, int t0, int qStride, int group, int kvHead, int headDim) {
        return (t0 + row / group) * qStride + (kvHead * group + row % group) * headDim;
    }

    /**
     * Rows outRow..outRow+n-1 of the output, lanes r..r+n-1 of their plane (n at most 4; lanes up to r+3 are
     * computed all the same, their rows exist in the scores): the weights {@code s[(skip + j) * L + r]} times V rows {@code vw[v0 + j headDim
     * ..]}, j < len. The rows lie in one array at one stride, so the loop keeps few registers (read through
     * the block table's addresses, C2 moved them between registers: 45 instructions per eight FMAs).
     */
    private static void weighted4(float[] s, int skip, int r, int outRow, int n, float[] vw, int v0, int len,
            int headDim, float[] lanes, float[] out, int t0, int qStride, int group, int kvHead) {
        final var F = Simd.F;
        final int L = Simd.L;
        float i0 = lanes[2 * L + r], i1 = lanes[2 * L + r + 1], i2 = lanes[2 * L + r + 2], i3 = lanes[2 * L + r + 3];
        int d = 0;
        // Four vectors of the head at a time (a head of 64 in one pass over V): each V row read once per four
        // rows, 16 FMAs per four loads and four broadcasts.
        for (; d + 4 * L <= headDim; d += 4 * L) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
                    a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            for (int j = 0, row = v0 + d, pj = skip * L + r; j < len; j++, row += headDim, pj += L) {
                FloatVector w0 = FloatVector.fromArray(F, vw, row), w1 = FloatVector.fromArray(F, vw, row + L);
                FloatVector w2 = FloatVector.fromArray(F, vw, row + 2 * L), w3 = FloatVector.fromArray(F, vw, row + 3 * L);
                FloatVector p = FloatVector.broadcast(F, s[pj]);
                a00 = w0.fma(p, a00);
                a01 = w1.fma(p, a01);
                a02 = w2.fma(p, a02);
                a03 = w3.fma(p, a03);
                p = FloatVector.broadcast(F, s[pj + 1]);
                a10 = w0.fma(p, a10);
                a11 = w1.fma(p, a11);
                a12 = w2.fma(p, a12);
                a13 = w3.fma(p, a13);
                p = FloatVector.broadcast(F, s[pj + 2]);
                a20 = w0.fma(p, a20);
                a21 = w1.fma(p, a21);
                a22 = w2.fma(p, a22);
                a23 = w3.fma(p, a23);
                p = FloatVector.broadcast(F, s[pj + 3]);
                a30 = w0.fma(p, a30);
                a31 = w1.fma(p, a31);
                a32 = w2.fma(p, a32);
                a33 = w3.fma(p, a33);
            }
            int o = outOffset(outRow, t0, qStride, group, kvHead, headDim) + d;
            a00.mul(i0).intoArray(out, o);
            a01.mul(i0).intoArray(out, o + L);
            a02.mul(i0).intoArray(out, o + 2 * L);
            a03.mul(i0).intoArray(out, o + 3 * L);
            if (n > 1) {
                o = outOffset(outRow + 1, t0, qStride, group, kvHead, headDim) + d;
                a10.mul(i1).intoArray(out, o);
                a11.mul(i1).intoArray(out, o + L);
                a12.mul(i1).intoArray(out, o + 2 * L);
                a13.mul(i1).intoArray(out, o + 3 * L);
            }
            if (n > 2) {
                o = outOffset(outRow + 2, t0, qStride, group, kvHead, headDim) + d;
                a20.mul(i2).intoArray(out, o);
                a21.mul(i2).intoArray(out, o + L);
                a22.mul(i2).intoArray(out, o + 2 * L);
                a23.mul(i2).intoArray(out, o + 3 * L);
            }
            if (n > 3) {
                o = outOffset(outRow + 3, t0, qStride, group, kvHead, headDim) + d;
                a30.mul(i3).intoArray(out, o);
                a31.mul(i3).intoArray(out, o + L);
                a32.mul(i3).intoArray(out, o + 2 * L);
                a33.mul(i3).intoArray(out, o + 3 * L);
            }
        }
        for (; d + 2 * L <= headDim; d += 2 * L) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                    a31 = a00;
            for (int j = 0, row = v0 + d, pj = skip * L + r; j < len; j++, row += headDim, pj += L) {
                FloatVector v0v = FloatVector.fromArray(F, vw, row);
                FloatVector v1v = FloatVector.fromArray(F, vw, row + L);
                FloatVector p0 = FloatVector.broadcast(F, s[pj]), p1 = FloatVector.broadcast(F, s[pj + 1]);
                FloatVector p2 = FloatVector.broadcast(F, s[pj + 2]), p3 = FloatVector.broadcast(F, s[pj + 3]);
                a00 = v0v.fma(p0, a00);
                a01 = v1v.fma(p0, a01);
                a10 = v0v.fma(p1, a10);
                a11 = v1v.fma(p1, a11);
                a20 = v0v.fma(p2, a20);
                a21 = v1v.fma(p2, a21);
                a30 = v0v.fma(p3, a30);
                a31 = v1v.fma(p3, a31);
            }
            int o = outOffset(outRow, t0, qStride, group, kvHead, headDim) + d;
            a00.mul(i0).intoArray(out, o);
            a01.mul(i0).intoArray(out, o + L);
            if (n > 1) {
                o = outOffset(outRow + 1, t0, qStride, group, kvHead, headDim) + d;
                a10.mul(i1).intoArray(out, o);
                a11.mul(i1).intoArray(out, o + L);
            }
            if (n > 2) {
                o = outOffset(outRow + 2, t0, qStride, group, kvHead, headDim) + d;
                a20.mul(i2).intoArray(out, o);
                a21.mul(i2).intoArray(out, o + L);
            }
            if (n > 3) {
                o = outOffset(outRow + 3, t0, qStride, group, kvHead, headDim) + d;
                a30.mul(i3).intoArray(out, o);
                a31.mul(i3).intoArray(out, o + L);
            }
        }
        for (int k = 0; k < n; k++) {
            tail(s, skip, r + k, vw, v0, len, headDim, d, lanes[2 * L + r + k], out,
                    outOffset(outRow + k, t0, qStride, group, kvHead, headDim));
        }
    }

    /** Elements {@code from..headDim} of row r: a vector at a time, then scalar (heads narrower than a vector). */
    private static void tail(float[] s, int skip, int r, float[] vw, int v0, int len, int headDim, int from, float inv,
            float[] out, int outOff) {
        final var F = Simd.F;
        final int L = Simd.L;
        int d = from;
        for (; d + L <= headDim; d += L) {
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < len; j++) {
                a = FloatVector.fromArray(F, vw, v0 + j * headDim + d).fma(FloatVector.broadcast(F, s[(skip + j) * L + r]), a);
            }
            a.mul(inv).intoArray(out, outOff + d);
        }
        for (; d < headDim; d++) {
            float a = 0;
            for (int j = 0; j < len; j++) a = Math.fma(vw[v0 + j * headDim + d], s[(skip + j) * L + r], a);
            out[outOff + d] = a * inv;
        }
    }
}
