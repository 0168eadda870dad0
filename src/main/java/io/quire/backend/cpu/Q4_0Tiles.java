package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2F;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_0 weights repacked at load ({@link TensorType#Q4_0_R32}) as {@link Q4_KTiles} repacks Q4_K: 32 rows
 * to a tile, a row per 16-bit lane. Per tile and 32-value block ({@link #BLOCK_BYTES}, the size of 32
 * Q4_0 blocks): the 16 quant bytes (low nibble column i, high nibble column i + 16), 32 rows each, at
 * {@code 32 i}; then the 32 rows' fp16 scales at 512. A block's 32 products {@code q x} sum in a short
 * per row; less {@code 8 b} (b the vector's block sum) that is the exact {@code sum (q - 8) x} (at most
 * 8 x 127 x 32), then to floats times the row's scale and the vector's. Four vectors share each unpacked
 * column ({@code kernel4}), the rest go alone ({@code kernel1}), with the same operations per vector, so a
 * vector gets the same bits in any batch; from {@link Q4_0TilePanels#MIN_BATCH} vectors {@link Q4_0TilePanels}.
 */
public final class Q4_0Tiles {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    public static final int ROWS = 32;
    static final int BLOCK_BYTES = 576;
    static final int SCALES = 512;

    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;

    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("quire.q4-0-tiles", "true"));

    private Q4_0Tiles() {}

    /** Whether a Q4_0 weight of this shape is repacked at load: 512-bit vectors in use, rows a multiple of 32. */
    public static boolean applies(int rows, int cols) {
        return ENABLED && Simd.SW.length() == ROWS && Simd.L == 16 && rows > 0 && rows % ROWS == 0
                && cols % 32 == 0;
    }

    /** A Q4_0 tensor that {@link #applies} repacked into memory of {@code arena}, 64-byte aligned. */
    public static Tensor repacked(Tensor q40, Arena arena) {
        if (q40.type() != TensorType.Q4_0 || !applies(q40.rows(), q40.cols())) {
            throw new IllegalArgumentException("not a Q4_0 tensor these tiles take: " + q40);
        }
        MemorySegment dst = arena.allocate(TensorType.Q4_0_R32.bytesFor(q40.elements()), 64);
        repack(q40.data(), dst, q40.rows(), q40.cols());
        return new Tensor(q40.name(), TensorType.Q4_0_R32, q40.shape(), dst);
    }

    /** Repacks {@code rows x cols} Q4_0 values at {@code src} into {@code dst} (the same number of bytes). */
    public static void repack(MemorySegment src, MemorySegment dst, int rows, int cols) {
        int blocks = cols / 32;
        long rowBytes = 18L * blocks;
        byte[] in = new byte[ROWS * 18 * blocks], out = new byte[BLOCK_BYTES];
        for (int t = 0; t < rows / ROWS; t++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, t * ROWS * rowBytes, in, 0, in.length);
            for (int k = 0; k < blocks; k++) {
                for (int r = 0; r < ROWS; r++) {
                    int b = (int) (r * rowBytes) + 18 * k;
                    out[SCALES + 2 * r] = in[b];
                    out[SCALES + 2 * r + 1] = in[b + 1];
                    for (int i = 0; i < 16; i++) out[32 * i + r] = in[b + 2 + i];
                }
                MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, ((long) t * blocks + k) * BLOCK_BYTES, BLOCK_BYTES);
            }
        }
    }

    /** Row {@code row} of the tiles at absolute address {@code base} as floats, as Q4_0 decodes it. */
    static void dequantizeRow(long base, int row, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        int blocks = cols / 32, r = row % ROWS;
        for (int k = 0; k < blocks; k++) {
            long b = base + ((long) (row / ROWS) * blocks + k) * BLOCK_BYTES;
            float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, b + SCALES + 2L * r));
            for (int i = 0; i < 16; i++) {
                int q = seg.get(ValueLayout.JAVA_BYTE, b + 32L * i + r) & 0xFF;
                out[outOff + 32 * k + i] = ((q & 15) - 8) * d;
                out[outOff + 32 * k + 16 + i] = ((q >> 4) - 8) * d;
            }
        }
    }

    /** Tiles {@code t0 .. t1-1} of the weight at absolute address base times the batch's Q8_0 vectors, into out. */
    static void multiply(long base, int rows, int cols, int t0, int t1, Q8_0Activation[] xs, int batch, float[] out) {
        int blocks = cols / 32;
        for (int t = t0; t < t1; t++) {
            long tile = base + (long) t * blocks * BLOCK_BYTES;
            int r0 = t * ROWS;
            int b = 0;
            for (; b + 4 <= batch; b += 4) kernel4(tile, blocks, xs[b], xs[b + 1], xs[b + 2], xs[b + 3], out, b * rows + r0, rows);
            for (; b < batch; b++) kernel1(tile, blocks, xs[b], out, b * rows + r0);
        }
    }

    // Written out for 1 and 4 vectors (a helper taking or returning a vector is boxed unless C2 inlines
    // it). The rows' fp16 scales widen as Quant's F16 rows do: into the float's bits, times 2^112, an
    // infinity or NaN kept as one. Each block's FMA is called on the broadcast scale (dx.fma(x, t), the
    // same bits as x.fma(dx, t)): called on the converted sums, it ran the Vector API's Java fallback in
    // 6 of 10 fresh servers (a young collection per token, 2x the time per token; docs/performance.md,
    // thirty-second session), on the broadcast in none of 10. It came back later (C2 inlines each
    // block's end late, past its node cutoff), until C2Directives (forty-second session).

    private static void kernel1(long tile, int blocks, Q8_0Activation y, float[] out, int o) {
        final MemorySegment seg = Simd.ALL;
        final short[] q8 = y.qs;
        final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        FloatVector t0 = FloatVector.zero(F), t1 = t0;
        for (int k = 0; k < blocks; k++) {
            long b = tile + (long) k * BLOCK_BYTES;
            int xo = 32 * k;
            ShortVector lo = ShortVector.zero(S), hi = lo;
            for (int i = 0; i < 16; i++) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, seg, b + 32L * i, LE)
                        .convertShape(ZERO_EXTEND_B2S, S, 0);
                lo = q.and((short) 15).mul(q8[xo + i]).add(lo);
                hi = q.lanewise(LSHR, 4).mul(q8[xo + 16 + i]).add(hi);
            }
            ShortVector sum = lo.add(hi).sub((short) y.eightSums[k]);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, seg, b + SCALES, LE).convertShape(S2I, I, 0);
            IntVector m = h.and(0x7fff).lanewise(LSHL, 13);
            FloatVector d0 = m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m.or(0x7f800000), m.compare(GE, 0x7c00 << 13)).or(h.and(0x80000000)).reinterpretAsFloats();
            h = (IntVector) ShortVector.fromMemorySegment(S16, seg, b + SCALES + 32, LE).convertShape(S2I, I, 0);
            m = h.and(0x7fff).lanewise(LSHL, 13);
            FloatVector d1 = m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m.or(0x7f800000), m.compare(GE, 0x7c00 << 13)).or(h.and(0x80000000)).reinterpretAsFloats();
            FloatVector dx = FloatVector.broadcast(F, y.d[k]);
            t0 = dx.fma(((FloatVector) sum.convertShape(S2F, F, 0)).mul(d0), t0);
            t1 = dx.fma(((FloatVector) sum.convertShape(S2F, F, 1)).mul(d1), t1);
        }
        t0.intoArray(out, o);
        t1.intoArray(out, o + 16);
    }

    private static void kernel4(long tile, int blocks, Q8_0Activation y0, Q8_0Activation y1, Q8_0Activation y2,
            Q8_0Activation y3, float[] out, int o, int rows) {
        final MemorySegment seg = Simd.ALL;
        final short[] p0 = y0.qs, p1 = y1.qs, p2 = y2.qs, p3 = y3.qs;
        final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        FloatVector t00 = FloatVector.zero(F), t01 = t00, t10 = t00, t11 = t00, t20 = t00, t21 = t00, t30 = t00, t31 = t00;
        for (int k = 0; k < blocks; k++) {
            long b = tile + (long) k * BLOCK_BYTES;
            int xo = 32 * k;
            ShortVector l0 = ShortVector.zero(S), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
            for (int i = 0; i < 16; i++) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, seg, b + 32L * i, LE)
                        .convertShape(ZERO_EXTEND_B2S, S, 0);
                ShortVector ql = q.and((short) 15), qh = q.lanewise(LSHR, 4);
                int lo = xo + i, hi = xo + 16 + i;
                l0 = ql.mul(p0[lo]).add(l0); h0 = qh.mul(p0[hi]).add(h0);
                l1 = ql.mul(p1[lo]).add(l1); h1 = qh.mul(p1[hi]).add(h1);
                l2 = ql.mul(p2[lo]).add(l2); h2 = qh.mul(p2[hi]).add(h2);
                l3 = ql.mul(p3[lo]).add(l3); h3 = qh.mul(p3[hi]).add(h3);
            }
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, seg, b + SCALES, LE).convertShape(S2I, I, 0);
            IntVector m = h.and(0x7fff).lanewise(LSHL, 13);
            FloatVector d0 = m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m.or(0x7f800000), m.compare(GE, 0x7c00 << 13)).or(h.and(0x80000000)).reinterpretAsFloats();
            h = (IntVector) ShortVector.fromMemorySegment(S16, seg, b + SCALES + 32, LE).convertShape(S2I, I, 0);
            m = h.and(0x7fff).lanewise(LSHL, 13);
            FloatVector d1 = m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m.or(0x7f800000), m.compare(GE, 0x7c00 << 13)).or(h.and(0x80000000)).reinterpretAsFloats();
            ShortVector s;
            FloatVector dx;
            s = l0.add(h0).sub((short) y0.eightSums[k]);
            dx = FloatVector.broadcast(F, y0.d[k]);
            t00 = dx.fma(((FloatVector) s.convertShape(S2F, F, 0)).mul(d0), t00);
            t01 = dx.fma(((FloatVector) s.convertShape(S2F, F, 1)).mul(d1), t01);
            s = l1.add(h1).sub((short) y1.eightSums[k]);
            dx = FloatVector.broadcast(F, y1.d[k]);
            t10 = dx.fma(((FloatVector) s.convertShape(S2F, F, 0)).mul(d0), t10);
            t11 = dx.fma(((FloatVector) s.convertShape(S2F, F, 1)).mul(d1), t11);
            s = l2.add(h2).sub((short) y2.eightSums[k]);
            dx = FloatVector.broadcast(F, y2.d[k]);
            t20 = dx.fma(((FloatVector) s.convertShape(S2F, F, 0)).mul(d0), t20);
            t21 = dx.fma(((FloatVector) s.convertShape(S2F, F, 1)).mul(d1), t21);
            s = l3.add(h3).sub((short) y3.eightSums[k]);
            dx = FloatVector.broadcast(F, y3.d[k]);
            t30 = dx.fma(((FloatVector) s.convertShape(S2F, F, 0)).mul(d0), t30);
            t31 = dx.fma(((FloatVector) s.convertShape(S2F, F, 1)).mul(d1), t31);
        }
        t00.intoArray(out, o); t01.intoArray(out, o + 16);
        t10.intoArray(out, o + rows); t11.intoArray(out, o + rows + 16);
        t20.intoArray(out, o + 2 * rows); t21.intoArray(out, o + 2 * rows + 16);
        t30.intoArray(out, o + 3 * rows); t31.intoArray(out, o + 3 * rows + 16);
    }
}
