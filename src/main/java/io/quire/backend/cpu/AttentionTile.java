package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Attention for a tile of rows that read the same keys: consecutive positions of one sequence (a
 * prompt chunk) times the query heads of one KV group, one row per vector lane. The queries are
 * transposed once per tile, so each key meets every row in broadcast FMAs: no horizontal sum per
 * score, softmax across rows in vector lanes, and each K and V row read once per tile instead of
 * once per token. A row's arithmetic does not depend on the other rows of its tile, so how a prompt
 * is split into tiles (or chunks) does not change its result.
 */
final class AttentionTile {
    /** Fewer rows than this leave most lanes empty: {@link TokenAttention}'s dot products are faster. */
    static final int MIN_ROWS = Simd.L / 2;
    /** At most one vector of rows. */
    static final int MAX_ROWS = Simd.L;

    private static final ThreadLocal<float[]> QT = ThreadLocal.withInitial(() -> new float[64 * Simd.L]);
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[256 * Simd.L]);
    private static final ThreadLocal<int[]> ROWS = ThreadLocal.withInitial(() -> new int[256]);
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[3 * Simd.L]);
    private static final ThreadLocal<Widened> WIDENED = ThreadLocal.withInitial(Widened::new);
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private AttentionTile() {}

    /**
     * Rows {@code r < tokens * group}: token {@code t0 + r / group} (at position {@code pos0 + r / group})
     * and query head {@code kvHead * group + r % group}. Each row attends causally to its own
     * positions (only the last {@code window} when that is positive); {@code keys} and {@code values}
     * are the layer's absolute addresses, {@code table} the sequence's block table. {@code widened}
     * holds the rows an F16 or FP8 cache's earlier tiles widened (this thread's, from {@link #widened()}).
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

        // Queries transposed: qt[d * L + r]; unused lanes stay 0. Per lane: first and last position seen.
        float[] qt = Scratch.floats(QT, headDim * L);
        float[] lanes = LANES.get();
        for (int r = 0; r < L; r++) {
            int p = pos0 + Math.min(r, rows - 1) / group;
            lanes[r] = PagedAttention.first(p, window);
            lanes[L + r] = p;
            if (r >= rows) {
                for (int d = 0; d < headDim; d++) qt[d * L + r] = 0f;
                continue;
            }
            int off = (t0 + r / group) * qStride + (kvHead * group + r % group) * headDim;
            for (int d = 0; d < headDim; d++) qt[d * L + r] = q[off + d];
        }

        // Where each position's K/V row starts (index j is position start + j).
        int[] rowOf = Scratch.ints(ROWS, len);
        PagedAttention.rowOffsets(table, start, len, bs, kvDim, kvHead, headDim, rowOf);
        if (type != TensorType.F32) {
            // An F16 or FP8 cache: K and V rows are widened into floats, then read by every row of the tile
            // (up to a vector of them). The sequence's next tiles, for this head, read the same rows and a
            // few more: only those are widened again (Widened).
            widened.cover(keys, values, table, kvHead, start, end, headDim, rowOf, type);
            keys = widened.keys(start, headDim);
            values = widened.values(start, headDim);
            for (int j = 0; j < len; j++) rowOf[j] = j * headDim;
        }

        // Scores, key-major: s[j * L + r].
        float[] s = Scratch.floats(SCORES, len * L);
        scores(qt, keys, rowOf, len, headDim, s);
        softmax(s, len, start, pos0, PagedAttention.first(end, window), scale, softcap, lanes);

        // out[row] = inv[row] * sum_j p[j][row] * V[j]: four rows and up to four vectors of the head at a time.
        int r = 0;
        for (; r + 4 <= rows; r += 4) weighted4(s, r, rowOf, len, values, headDim, lanes, out, t0, qStride, group, kvHead);
        for (; r < rows; r++) weighted1(s, r, rowOf, len, values, headDim, lanes, out, t0, qStride, group, kvHead);
        Reference.reachabilityFence(widened);
    }

    /**
     * The raw scores {@code s[j * L + r]} of the transposed queries qt against the keys at {@code keys
     * + 4 * rowOf[j]}, j < len; eight keys at a time keep eight FMA chains in flight. Its own method, too
     * large for C2 to inline into {@link #attend} (over 325 bytes of bytecode): with it inside, attend
     * went past C2's node-count cutoff, past which C2 inlines Vector API calls late, and late it left
     * some of {@link #softmax}'s (inlined there too) as calls into the Vector API's Java code, boxing
     * every vector (docs/performance.md).
     */
    private static void scores(float[] qt, long keys, int[] rowOf, int len, int headDim, float[] s) {
        final var F = Simd.F;
        final int L = Simd.L;
        final MemorySegment seg = Simd.ALL;
        int j = 0;
        for (; j + 8 <= len; j += 8) {
            long k0 = keys + 4L * rowOf[j], k1 = keys + 4L * rowOf[j + 1], k2 = keys + 4L * rowOf[j + 2],
                    k3 = keys + 4L * rowOf[j + 3], k4 = keys + 4L * rowOf[j + 4], k5 = keys + 4L * rowOf[j + 5],
                    k6 = keys + 4L * rowOf[j + 6], k7 = keys + 4L * rowOf[j + 7];
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int d = 0; d < headDim; d++) {
                FloatVector qd = FloatVector.fromArray(F, qt, d * L);
                long o = 4L * d;
                a0 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k0 + o)), a0);
                a1 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k1 + o)), a1);
                a2 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k2 + o)), a2);
                a3 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k3 + o)), a3);
                a4 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k4 + o)), a4);
                a5 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k5 + o)), a5);
                a6 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k6 + o)), a6);
                a7 = qd.fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k7 + o)), a7);
            }
            a0.intoArray(s, j * L);
            a1.intoArray(s, (j + 1) * L);
            a2.intoArray(s, (j + 2) * L);
            a3.intoArray(s, (j + 3) * L);
            a4.intoArray(s, (j + 4) * L);
            a5.intoArray(s, (j + 5) * L);
            a6.intoArray(s, (j + 6) * L);
            a7.intoArray(s, (j + 7) * L);
        }
        for (; j < len; j++) {
            long k0 = keys + 4L * rowOf[j];
            FloatVector a0 = FloatVector.zero(F);
            for (int d = 0; d < headDim; d++) {
                a0 = FloatVector.fromArray(F, qt, d * L)
                        .fma(FloatVector.broadcast(F, seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k0 + 4L * d)), a0);
            }
            a0.intoArray(s, j * L);
        }
    }

    /**
     * The F16 rows at {@code src + 2 * rowOf[j]}, j in {@code [j0, j1)}, as floats at {@code dst + 4 * (j - j0)
     * * headDim}, widened as MatMul widens F16 weights (rebias by 2^112, patch infinities and NaN, restore the sign).
     */
    private static void widen(long src, int[] rowOf, int j0, int j1, int headDim, long dst) {
        final MemorySegment seg = Simd.ALL;
        final var I = Simd.I;
        final var S = Simd.S;
        final int L = Simd.L;
        final FloatVector rebias = FloatVector.broadcast(Simd.F, 0x1p112f);
        for (int j = j0; j < j1; j++) {
            long from = src + 2L * rowOf[j], to = dst + 4L * (j - j0) * headDim;
            int d = 0;
            for (; d + L <= headDim; d += L) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, from + 2L * d, NATIVE)
                        .convertShape(VectorOperators.S2I, I, 0);
                IntVector m = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                        .blend(m.or(0x7f800000), m.compare(VectorOperators.GE, 0x7c00 << 13))
                        .or(h.and(0x80000000)).reinterpretAsFloats().intoMemorySegment(seg, to + 4L * d, NATIVE);
            }
            for (; d < headDim; d++) {
                seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED, to + 4L * d,
                        Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, from + 2L * d)));
            }
        }
    }

    /** The FP8 rows at {@code src + rowOf[j]}, j in {@code [j0, j1)}, as floats at {@code dst + 4 * (j - j0) * headDim}. */
    private static void widen(Fp8 f, long src, int[] rowOf, int j0, int j1, int headDim, long dst) {
        // the shifts as constants (Fp8)
        if (f == Fp8.E4M3) widen(f, src, rowOf, j0, j1, headDim, dst, Fp8.E4M3_SHIFT, Fp8.E4M3_MASK);
        else widen(f, src, rowOf, j0, j1, headDim, dst, Fp8.E5M2_SHIFT, Fp8.E5M2_MASK);
    }

    private static void widen(Fp8 f, long src, int[] rowOf, int j0, int j1, int headDim, long dst, int shift, int mask) {
        final MemorySegment seg = Simd.ALL;
        final var I = Simd.I;
        final int L = Simd.L;
        final var B = L == 8 ? ByteVector.SPECIES_64 : ByteVector.SPECIES_128;
        final FloatVector rebias = FloatVector.broadcast(Simd.F, Math.scalb(1f, f.rebias));
        for (int j = j0; j < j1; j++) {
            long from = src + rowOf[j], to = dst + 4L * (j - j0) * headDim;
            int d = 0;
            for (; d + L <= headDim; d += L) {
                // each byte sign-extended into an int lane, then moved to a float's place (Fp8)
                IntVector x = (IntVector) ByteVector.fromMemorySegment(B, seg, from + d, NATIVE)
                        .convertShape(VectorOperators.B2I, I, 0);
                x.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, shift).and(mask)
                        .reinterpretAsFloats().mul(rebias).intoMemorySegment(seg, to + 4L * d, NATIVE);
            }
            for (; d < headDim; d++) {
                seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED, to + 4L * d, f.decode(seg.get(ValueLayout.JAVA_BYTE, from + d)));
            }
        }
    }

    /** This thread's widened rows, emptied: for one run of tiles within which the cache does not change. */
    static Widened widened() {
        Widened w = WIDENED.get();
        w.table = null;
        return w;
    }

    /**
     * K and V rows of one sequence's positions {@code [from, to)} for one KV head of one layer, widened
     * from an F16 or FP8 cache into floats, row {@code p - from} for position p. Each prompt tile of a
     * sequence reads all the positions before its own: widened tile by tile, a row was widened again for
     * every 16 tokens after it. Kept from tile to tile, each row is widened once per run of tiles (a
     * 1,000-token prompt's prefill 1.12x faster, a 500-token one's 1.04x). Valid only while the cache
     * does not change: {@link #widened()} empties it at the start of each such run.
     */
    static final class Widened {
        private long cacheKeys;
        private int[] table;
        private int kvHead, from, to;
        private MemorySegment k, v;

        /** Makes positions {@code start..end} widened, keeping what already is when it is this head's. */
        void cover(long keys, long values, int[] table, int kvHead, int start, int end, int headDim, int[] rowOf,
                TensorType type) {
            if (this.table != table || cacheKeys != keys || this.kvHead != kvHead || start < from || start > to) {
                this.table = table;
                cacheKeys = keys;
                this.kvHead = kvHead;
                from = to = start;
            }
            if (end < to) return;
            long rows = end + 1 - from, kept = 4L * (to - from) * headDim;
            if (k == null || k.byteSize() < 4 * rows * headDim) {
                long size = Math.max(4 * rows * headDim, k == null ? 0 : 2 * k.byteSize());
                MemorySegment nk = Arena.ofAuto().allocate(size, 64), nv = Arena.ofAuto().allocate(size, 64);
                if (kept > 0) {
                    MemorySegment.copy(k, 0, nk, 0, kept);
                    MemorySegment.copy(v, 0, nv, 0, kept);
                }
                k = nk;
                v = nv;
            }
            // rowOf[j] is position start + j's row in the cache: rows to..end are its j = to - start ..
            int j0 = to - start, j1 = end + 1 - start;
            long dk = k.address() + kept, dv = v.address() + kept;
            Fp8 f = Fp8.of(type);
            if (f == null) {
                AttentionTile.widen(keys, rowOf, j0, j1, headDim, dk);
                AttentionTile.widen(values, rowOf, j0, j1, headDim, dv);
            } else {
                AttentionTile.widen(f, keys, rowOf, j0, j1, headDim, dk);
                AttentionTile.widen(f, values, rowOf, j0, j1, headDim, dv);
            }
            to = end + 1;
        }

        /** Absolute address of position {@code start}'s widened K row. */
        long keys(int start, int headDim) {
            return k.address() + 4L * (start - from) * headDim;
        }

        /** Absolute address of position {@code start}'s widened V row. */
        long values(int start, int headDim) {
            return v.address() + 4L * (start - from) * headDim;
        }
    }

    /**
     * The raw scores {@code s[j * L + r]} scaled (and soft-capped), masked where row r does not see
     * position start + j (lanes[r] and lanes[L + r] are the first and last position it sees; every
     * row sees allSeeFrom..pos0), then exponentiated against each row's maximum; 1/sum per row goes
     * to lanes[2L..3L), applied to the output instead. A separate pass over the scores, in L1 or L2,
     * rather than a helper called per key from {@link #attend}: vectors passed to or returned from
     * a method C2 does not inline are boxed, and {@code attend} is too large for C2 to inline one.
     */
    private static void softmax(float[] s, int len, int start, int pos0, float allSeeFrom, float scale,
            float softcap, float[] lanes) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector firstSeen = FloatVector.fromArray(F, lanes, 0);
        FloatVector lastSeen = FloatVector.fromArray(F, lanes, L);
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < len; j++) {
            FloatVector v = FloatVector.fromArray(F, s, j * L).mul(scale);
            if (softcap > 0) v = v.div(softcap).lanewise(VectorOperators.TANH).mul(softcap);
            int p = start + j;
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
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < len; j++) {
            FloatVector e = FloatVector.fromArray(F, s, j * L).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, j * L);
            sum = e.add(sum);  // as max above
        }
        FloatVector.broadcast(F, 1f).div(sum).intoArray(lanes, 2 * L);
    }

    private static int outOffset(int row, int t0, int qStride, int group, int kvHead, int headDim) {
        return (t0 + row / group) * qStride + (kvHead * group + row % group) * headDim;
    }

    /** Rows r..r+3 of the output. */
    private static void weighted4(float[] s, int r, int[] rowOf, int len, long v, int headDim, float[] lanes,
            float[] out, int t0, int qStride, int group, int kvHead) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        int o0 = outOffset(r, t0, qStride, group, kvHead, headDim);
        int o1 = outOffset(r + 1, t0, qStride, group, kvHead, headDim);
        int o2 = outOffset(r + 2, t0, qStride, group, kvHead, headDim);
        int o3 = outOffset(r + 3, t0, qStride, group, kvHead, headDim);
        float i0 = lanes[2 * L + r], i1 = lanes[2 * L + r + 1], i2 = lanes[2 * L + r + 2], i3 = lanes[2 * L + r + 3];
        int d = 0;
        for (; d + 2 * L <= headDim; d += 2 * L) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                    a31 = a00;
            for (int j = 0; j < len; j++) {
                long row = v + 4L * (rowOf[j] + d);
                FloatVector v0 = FloatVector.fromMemorySegment(F, seg, row, NATIVE);
                FloatVector v1 = FloatVector.fromMemorySegment(F, seg, row + 4L * L, NATIVE);
                int pj = j * L + r;
                FloatVector p0 = FloatVector.broadcast(F, s[pj]), p1 = FloatVector.broadcast(F, s[pj + 1]);
                FloatVector p2 = FloatVector.broadcast(F, s[pj + 2]), p3 = FloatVector.broadcast(F, s[pj + 3]);
                a00 = v0.fma(p0, a00);
                a01 = v1.fma(p0, a01);
                a10 = v0.fma(p1, a10);
                a11 = v1.fma(p1, a11);
                a20 = v0.fma(p2, a20);
                a21 = v1.fma(p2, a21);
                a30 = v0.fma(p3, a30);
                a31 = v1.fma(p3, a31);
            }
            a00.mul(i0).intoArray(out, o0 + d);
            a01.mul(i0).intoArray(out, o0 + d + L);
            a10.mul(i1).intoArray(out, o1 + d);
            a11.mul(i1).intoArray(out, o1 + d + L);
            a20.mul(i2).intoArray(out, o2 + d);
            a21.mul(i2).intoArray(out, o2 + d + L);
            a30.mul(i3).intoArray(out, o3 + d);
            a31.mul(i3).intoArray(out, o3 + d + L);
        }
        for (int k = 0; k < 4; k++) {
            tail(s, r + k, rowOf, len, v, headDim, d, lanes[2 * L + r + k], out,
                    outOffset(r + k, t0, qStride, group, kvHead, headDim));
        }
    }

    /** One row of the output. */
    private static void weighted1(float[] s, int r, int[] rowOf, int len, long v, int headDim, float[] lanes,
            float[] out, int t0, int qStride, int group, int kvHead) {
        tail(s, r, rowOf, len, v, headDim, 0, lanes[2 * Simd.L + r], out,
                outOffset(r, t0, qStride, group, kvHead, headDim));
    }

    /** Elements {@code from..headDim} of row r: a vector at a time, then scalar (heads narrower than a vector). */
    private static void tail(float[] s, int r, int[] rowOf, int len, long v, int headDim, int from, float inv,
            float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        int d = from;
        for (; d + L <= headDim; d += L) {
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < len; j++) {
                a = FloatVector.fromMemorySegment(F, seg, v + 4L * (rowOf[j] + d), NATIVE)
                        .fma(FloatVector.broadcast(F, s[j * L + r]), a);
            }
            a.mul(inv).intoArray(out, outOff + d);
        }
        for (; d < headDim; d++) {
            float a = 0;
            for (int j = 0; j < len; j++) {
                a = Math.fma(seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, v + 4L * (rowOf[j] + d)), s[j * L + r], a);
            }
            out[outOff + d] = a * inv;
        }
    }
}
