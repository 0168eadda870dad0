package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2F;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_K weights repacked at load ({@link TensorType#Q4_K_R32}) so that one 16-bit lane holds one row:
 * {@link #ROWS} rows at a time, column by column. A Q4_K row dotted with x on its own multiplies 32
 * quants by 32 activations per instruction and must then add the products of a 32-value group across
 * lanes and scale them (pair sums, a 32-bit multiply: about 60 cycles per 256 values, three times what
 * the multiplies need); here a column's 32 quants (32 rows) meet one broadcast activation, each lane's
 * sum is its row's, and a group's scales are applied once per 32 columns to 32 rows. The same layout
 * serves every batch size, {@link #VECTORS} vectors at a time: a tile's quants are unpacked once per
 * column for all of them, the integer sums stay exact (a group's 32 products {@code q x} may pass a
 * short's range, but their sum less {@code 8 b_g}, the group's sum of x, is the sum of {@code (q - 8) x},
 * at most 8 x 127 x 32: taken modulo 2^16 in the lanes, it comes out exact), and each vector's float sums are the same operations whatever
 * the vectors beside it, so a vector gets the same bits in any batch.
 *
 * <p>Layout, per tile of {@link #ROWS} rows, per 256-value block, {@link #BLOCK_BYTES} bytes, in the order
 * the kernels read them: d and dmin as floats, 32 rows each, at 0 and 128; then per h = 0..3, at
 * {@link #part}(h): the scales of groups 2h and 2h + 1 (6-bit, decoded, 32 rows each), their mins, and the
 * quant bytes (each the low nibble of column {@code 64h + i} and the high nibble of column {@code 64h +
 * 32 + i}, as Q4_K stores them) for i = 0..31, 32 rows each. Read from memory, a kernel that jumped within
 * a block (d at its end first, the scales between the quants) ran at 11-17 GB/s on one thread where the
 * machine streams 31: the prefetchers follow a run of rising addresses best. 152 bytes per row and block
 * against Q4_K's 144.
 */
public final class Q4_KTiles {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Rows per tile: one per short lane of a 512-bit vector. */
    public static final int ROWS = 32;
    /** Vectors of a batch per pass over a tile. */
    static final int VECTORS = 4;
    static final int BLOCK_BYTES = 4864;
    static final int D = 0, DMIN = 128;
    /** Offsets in part h of a block: the two groups' scales, their mins, the quants. */
    static final int SCALES = 0, MINS = 64, QUANTS = 128;

    /** Where part h (columns 64h .. 64h + 63) of a block starts. */
    static int part(int h) {
        return 256 + 1152 * h;
    }

    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;

    /** {@code -Dquire.q4k-tiles=false}: Q4_K weights stay as stored (benchmarks). */
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("quire.q4k-tiles", "true"));
    /**
     * kernel4's group sums, per thread ({@link #products4}). Written in one method, kernel4 passed C2's
     * node-count limits about a third of the way through, so C2 inlined the rest late and in many JVMs
     * left some of its Vector API calls to their Java code, which boxes every vector (in `bench decode`
     * and `bench prefill` from one JVM in four to 7 of 11, 2-41 MB per step or pass; in `bench kernels` 9
     * of 11, 2-5x slower; docs/performance.md, thirty-fourth and thirty-fifth sessions).
     */
    private static final ThreadLocal<short[]> GROUP_SUMS = ThreadLocal.withInitial(() -> new short[4 * 8 * 32]);

    private Q4_KTiles() {}

    /**
     * Whether a Q4_K weight of this shape is repacked at load: 512-bit vectors in use (32 short lanes),
     * rows a multiple of {@link #ROWS}.
     */
    public static boolean applies(int rows, int cols) {
        return ENABLED && Simd.SW.length() == ROWS && Simd.L == 16 && rows % ROWS == 0 && cols % 256 == 0
                && rows > 0;
    }

    /** A Q4_K tensor that {@link #applies} repacked into memory of {@code arena}, 64-byte aligned. */
    public static Tensor repacked(Tensor q4k, Arena arena) {
        if (q4k.type() != TensorType.Q4_K || !applies(q4k.rows(), q4k.cols())) {
            throw new IllegalArgumentException("not a Q4_K tensor these tiles take: " + q4k);
        }
        MemorySegment dst = arena.allocate(TensorType.Q4_K_R32.bytesFor(q4k.elements()), 64);
        repack(q4k.data(), dst, q4k.rows(), q4k.cols());
        return new Tensor(q4k.name(), TensorType.Q4_K_R32, q4k.shape(), dst);
    }

    /** Repacks {@code rows x cols} Q4_K values at {@code src} into {@code dst} ({@code rows * cols / 256 * 152} bytes). */
    public static void repack(MemorySegment src, MemorySegment dst, int rows, int cols) {
        int blocks = cols / 256;
        long rowBytes = 144L * blocks;
        // A tile's blocks are gathered into an array and transposed there: a byte at a time through the
        // segments took seconds for a 4 GB model.
        byte[] in = new byte[ROWS * 144], out = new byte[BLOCK_BYTES];
        for (int t = 0; t < rows / ROWS; t++) {
            for (int s = 0; s < blocks; s++) {
                for (int r = 0; r < ROWS; r++) {
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) (t * ROWS + r) * rowBytes + 144L * s, in,
                            144 * r, 144);
                }
                for (int r = 0; r < ROWS; r++) {
                    int b = 144 * r;
                    float d = Float.float16ToFloat((short) (in[b] & 0xFF | in[b + 1] << 8));
                    float dmin = Float.float16ToFloat((short) (in[b + 2] & 0xFF | in[b + 3] << 8));
                    for (int g = 0; g < 8; g++) {
                        out[part(g / 2) + SCALES + 32 * (g % 2) + r] = (byte) scale(in, b + 4, g);
                        out[part(g / 2) + MINS + 32 * (g % 2) + r] = (byte) min(in, b + 4, g);
                    }
                    putFloat(out, D + 4 * r, d);
                    putFloat(out, DMIN + 4 * r, dmin);
                    for (int k = 0; k < 128; k++) out[part(k / 32) + QUANTS + 32 * (k % 32) + r] = in[b + 16 + k];
                }
                MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, ((long) t * blocks + s) * BLOCK_BYTES, BLOCK_BYTES);
            }
        }
    }

    private static void putFloat(byte[] a, int at, float f) {
        int bits = Float.floatToRawIntBits(f);
        for (int i = 0; i < 4; i++) a[at + i] = (byte) (bits >>> 8 * i);
    }

    /** ggml's get_scale_min_k4: group g's 6-bit scale, of the 12 scale bytes at {@code a[q..]}. */
    private static int scale(byte[] a, int q, int g) {
        return g < 4 ? a[q + g] & 63 : (a[q + g + 4] & 0xF) | ((a[q + g - 4] & 0xFF) >> 6) << 4;
    }

    /** Group g's 6-bit min. */
    private static int min(byte[] a, int q, int g) {
        return g < 4 ? a[q + g + 4] & 63 : (a[q + g + 4] & 0xFF) >> 4 | ((a[q + g] & 0xFF) >> 6) << 4;
    }

    /** Row {@code row} of the tiles at absolute address {@code base} ({@code cols} wide) as floats, as Q4_K decodes it. */
    static void dequantizeRow(long base, int row, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        int blocks = cols / 256;
        int r = row % ROWS;
        for (int s = 0; s < blocks; s++) {
            long b = base + ((long) (row / ROWS) * blocks + s) * BLOCK_BYTES;
            float d = seg.get(Layouts.FLOAT_LE, b + D + 4L * r), dmin = seg.get(Layouts.FLOAT_LE, b + DMIN + 4L * r);
            for (int h = 0; h < 4; h++) {
                long ph = b + part(h);
                float d1 = d * seg.get(ValueLayout.JAVA_BYTE, ph + SCALES + r);
                float m1 = dmin * seg.get(ValueLayout.JAVA_BYTE, ph + MINS + r);
                float d2 = d * seg.get(ValueLayout.JAVA_BYTE, ph + SCALES + 32 + r);
                float m2 = dmin * seg.get(ValueLayout.JAVA_BYTE, ph + MINS + 32 + r);
                for (int i = 0; i < 32; i++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, ph + QUANTS + 32L * i + r) & 0xFF;
                    out[outOff + 256 * s + 64 * h + i] = d1 * (q & 15) - m1;
                    out[outOff + 256 * s + 64 * h + 32 + i] = d2 * (q >> 4) - m2;
                }
            }
        }
    }

    /**
     * Tiles {@code t0 .. t1-1} of the weight at absolute address base ({@code rows x cols}) times the
     * batch's Q8K vectors, into {@code out[b*rows + r]}.
     */
    static void multiply(long base, int rows, int cols, int t0, int t1, Q8K[] xs, int batch, float[] out) {
        int blocks = cols / 256;
        short[] sums = batch >= VECTORS ? GROUP_SUMS.get() : null;
        for (int t = t0; t < t1; t++) {
            long tile = base + (long) t * blocks * BLOCK_BYTES;
            int r0 = t * ROWS;
            int b = 0;
            for (; b + VECTORS <= batch; b += VECTORS) {
                kernel4(tile, blocks, xs[b], xs[b + 1], xs[b + 2], xs[b + 3], out, b * rows + r0, rows, sums);
            }
            for (; b < batch; b++) kernel1(tile, blocks, xs[b], out, b * rows + r0);
        }
    }

    // The kernels, written out for 1 and 4 vectors: a helper taking or returning a vector is boxed
    // unless C2 inlines it. Per block: for each h, 32 columns' q x into the low-nibble group's and the
    // high-nibble group's short sums, less 8 b_g (b_g the vector's group sum): the exact sum of (q - 8) x;
    // then each group's sum to floats times d sc_g, plus b_g times 8 d sc_g - dmin m_g, and at the
    // block's end times d_x. (Subtracting 8 from every unpacked quant instead cost two operations per
    // column pair: batch 1 1.15x slower.)

    private static void kernel1(long tile, int blocks, Q8K y, float[] out, int o) {
        final MemorySegment seg = Simd.ALL;
        final short[] q8 = y.qs;
        FloatVector t0 = FloatVector.zero(F), t1 = t0;
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * BLOCK_BYTES;
            FloatVector d0 = FloatVector.fromMemorySegment(F, seg, sb + D, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(F, seg, sb + D + 64, LE);
            FloatVector n0 = FloatVector.fromMemorySegment(F, seg, sb + DMIN, LE);
            FloatVector n1 = FloatVector.fromMemorySegment(F, seg, sb + DMIN + 64, LE);
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int h = 0; h < 4; h++) {
                int xo = 256 * s + 64 * h;
                long ph = sb + part(h), qa = ph + QUANTS;
                ShortVector lo = ShortVector.zero(S), hi = lo;
                for (int i = 0; i < 32; i++) {
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, seg, qa + 32L * i, LE)
                            .convertShape(ZERO_EXTEND_B2S, S, 0);
                    lo = q.and((short) 15).mul(q8[xo + i]).add(lo);
                    hi = q.lanewise(LSHR, 4).mul(q8[xo + 32 + i]).add(hi);
                }
                int g = 2 * h;
                int bl = y.sums32[8 * s + g], bh = y.sums32[8 * s + g + 1];
                lo = lo.sub((short) (8 * bl));
                hi = hi.sub((short) (8 * bh));
                long sc = ph + SCALES, mn = ph + MINS;
                FloatVector c0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc, LE).convertShape(B2F, F, 0)).mul(d0);
                FloatVector c1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 16, LE).convertShape(B2F, F, 0)).mul(d1);
                FloatVector m0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn, LE).convertShape(B2F, F, 0)).mul(n0);
                FloatVector m1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn + 16, LE).convertShape(B2F, F, 0)).mul(n1);
                a0 = ((FloatVector) lo.convertShape(S2F, F, 0)).fma(c0, c0.mul(8f).sub(m0).fma(FloatVector.broadcast(F, bl), a0));
                a1 = ((FloatVector) lo.convertShape(S2F, F, 1)).fma(c1, c1.mul(8f).sub(m1).fma(FloatVector.broadcast(F, bl), a1));
                c0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 32, LE).convertShape(B2F, F, 0)).mul(d0);
                c1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 48, LE).convertShape(B2F, F, 0)).mul(d1);
                m0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn + 32, LE).convertShape(B2F, F, 0)).mul(n0);
                m1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn + 48, LE).convertShape(B2F, F, 0)).mul(n1);
                a0 = ((FloatVector) hi.convertShape(S2F, F, 0)).fma(c0, c0.mul(8f).sub(m0).fma(FloatVector.broadcast(F, bh), a0));
                a1 = ((FloatVector) hi.convertShape(S2F, F, 1)).fma(c1, c1.mul(8f).sub(m1).fma(FloatVector.broadcast(F, bh), a1));
            }
            float dx = y.d[s];
            t0 = a0.fma(FloatVector.broadcast(F, dx), t0);
            t1 = a1.fma(FloatVector.broadcast(F, dx), t1);
        }
        t0.intoArray(out, o);
        t1.intoArray(out, o + 16);
    }

    private static void kernel4(long tile, int blocks, Q8K y0, Q8K y1, Q8K y2, Q8K y3, float[] out, int o, int rows,
            short[] sums) {
        final MemorySegment seg = Simd.ALL;
        final short[] p0 = y0.qs, p1 = y1.qs, p2 = y2.qs, p3 = y3.qs;
        final FloatVector z = FloatVector.zero(F);
        // The vectors' sums so far, in out (rows apart), from zero.
        for (int v = 0; v < 4; v++) {
            z.intoArray(out, o + v * rows);
            z.intoArray(out, o + v * rows + 16);
        }
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * BLOCK_BYTES;
            products4(seg, sb, 256 * s, p0, p1, p2, p3, sums);
            FloatVector d0 = FloatVector.fromMemorySegment(F, seg, sb + D, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(F, seg, sb + D + 64, LE);
            FloatVector n0 = FloatVector.fromMemorySegment(F, seg, sb + DMIN, LE);
            FloatVector n1 = FloatVector.fromMemorySegment(F, seg, sb + DMIN + 64, LE);
            FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
            for (int h = 0; h < 4; h++) {
                long ph = sb + part(h);
                int u = 256 * h;
                ShortVector l0 = ShortVector.fromArray(S, sums, u), h0 = ShortVector.fromArray(S, sums, u + 32);
                ShortVector l1 = ShortVector.fromArray(S, sums, u + 64), h1 = ShortVector.fromArray(S, sums, u + 96);
                ShortVector l2 = ShortVector.fromArray(S, sums, u + 128), h2 = ShortVector.fromArray(S, sums, u + 160);
                ShortVector l3 = ShortVector.fromArray(S, sums, u + 192), h3 = ShortVector.fromArray(S, sums, u + 224);
                int g = 2 * h;
                long sc = ph + SCALES, mn = ph + MINS;
                FloatVector c0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc, LE).convertShape(B2F, F, 0)).mul(d0);
                FloatVector c1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 16, LE).convertShape(B2F, F, 0)).mul(d1);
                FloatVector e0 = c0.mul(8f).sub(((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn, LE).convertShape(B2F, F, 0)).mul(n0));
                FloatVector e1 = c1.mul(8f).sub(((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn + 16, LE).convertShape(B2F, F, 0)).mul(n1));
                int bg = 8 * s + g;
                l0 = l0.sub((short) (8 * y0.sums32[bg])); l1 = l1.sub((short) (8 * y1.sums32[bg]));
                l2 = l2.sub((short) (8 * y2.sums32[bg])); l3 = l3.sub((short) (8 * y3.sums32[bg]));
                a00 = ((FloatVector) l0.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y0.sums32[bg]), a00));
                a01 = ((FloatVector) l0.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y0.sums32[bg]), a01));
                a10 = ((FloatVector) l1.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y1.sums32[bg]), a10));
                a11 = ((FloatVector) l1.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y1.sums32[bg]), a11));
                a20 = ((FloatVector) l2.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y2.sums32[bg]), a20));
                a21 = ((FloatVector) l2.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y2.sums32[bg]), a21));
                a30 = ((FloatVector) l3.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y3.sums32[bg]), a30));
                a31 = ((FloatVector) l3.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y3.sums32[bg]), a31));
                c0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 32, LE).convertShape(B2F, F, 0)).mul(d0);
                c1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 48, LE).convertShape(B2F, F, 0)).mul(d1);
                e0 = c0.mul(8f).sub(((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn + 32, LE).convertShape(B2F, F, 0)).mul(n0));
                e1 = c1.mul(8f).sub(((FloatVector) ByteVector.fromMemorySegment(B16, seg, mn + 48, LE).convertShape(B2F, F, 0)).mul(n1));
                bg++;
                h0 = h0.sub((short) (8 * y0.sums32[bg])); h1 = h1.sub((short) (8 * y1.sums32[bg]));
                h2 = h2.sub((short) (8 * y2.sums32[bg])); h3 = h3.sub((short) (8 * y3.sums32[bg]));
                a00 = ((FloatVector) h0.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y0.sums32[bg]), a00));
                a01 = ((FloatVector) h0.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y0.sums32[bg]), a01));
                a10 = ((FloatVector) h1.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y1.sums32[bg]), a10));
                a11 = ((FloatVector) h1.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y1.sums32[bg]), a11));
                a20 = ((FloatVector) h2.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y2.sums32[bg]), a20));
                a21 = ((FloatVector) h2.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y2.sums32[bg]), a21));
                a30 = ((FloatVector) h3.convertShape(S2F, F, 0)).fma(c0, e0.fma(FloatVector.broadcast(F, y3.sums32[bg]), a30));
                a31 = ((FloatVector) h3.convertShape(S2F, F, 1)).fma(c1, e1.fma(FloatVector.broadcast(F, y3.sums32[bg]), a31));
            }
            int k = o;
            a00.fma(FloatVector.broadcast(F, y0.d[s]), FloatVector.fromArray(F, out, k)).intoArray(out, k);
            a01.fma(FloatVector.broadcast(F, y0.d[s]), FloatVector.fromArray(F, out, k + 16)).intoArray(out, k + 16);
            k += rows;
            a10.fma(FloatVector.broadcast(F, y1.d[s]), FloatVector.fromArray(F, out, k)).intoArray(out, k);
            a11.fma(FloatVector.broadcast(F, y1.d[s]), FloatVector.fromArray(F, out, k + 16)).intoArray(out, k + 16);
            k += rows;
            a20.fma(FloatVector.broadcast(F, y2.d[s]), FloatVector.fromArray(F, out, k)).intoArray(out, k);
            a21.fma(FloatVector.broadcast(F, y2.d[s]), FloatVector.fromArray(F, out, k + 16)).intoArray(out, k + 16);
            k += rows;
            a30.fma(FloatVector.broadcast(F, y3.d[s]), FloatVector.fromArray(F, out, k)).intoArray(out, k);
            a31.fma(FloatVector.broadcast(F, y3.d[s]), FloatVector.fromArray(F, out, k + 16)).intoArray(out, k + 16);
        }
    }

    /**
     * kernel4's products of one block: for each h, 32 columns' low and high nibbles times the four vectors,
     * into {@code sums} from 256 h (l0, h0, l1, h1, ... 32 shorts each). In a method of its own so that
     * kernel4 stays small enough for C2 to inline all its Vector API calls (see {@link #GROUP_SUMS}).
     */
    private static void products4(MemorySegment seg, long sb, int x0, short[] p0, short[] p1, short[] p2, short[] p3,
            short[] sums) {
        for (int h = 0; h < 4; h++) {
            long qa = sb + part(h) + QUANTS;
            int xo = x0 + 64 * h, u = 256 * h;
            ShortVector l0 = ShortVector.zero(S), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
            for (int i = 0; i < 32; i++) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, seg, qa + 32L * i, LE)
                        .convertShape(ZERO_EXTEND_B2S, S, 0);
                ShortVector ql = q.and((short) 15), qh = q.lanewise(LSHR, 4);
                int lo = xo + i, hi = xo + 32 + i;
                l0 = ql.mul(p0[lo]).add(l0); h0 = qh.mul(p0[hi]).add(h0);
                l1 = ql.mul(p1[lo]).add(l1); h1 = qh.mul(p1[hi]).add(h1);
                l2 = ql.mul(p2[lo]).add(l2); h2 = qh.mul(p2[hi]).add(h2);
                l3 = ql.mul(p3[lo]).add(l3); h3 = qh.mul(p3[hi]).add(h3);
            }
            l0.intoArray(sums, u); h0.intoArray(sums, u + 32);
            l1.intoArray(sums, u + 64); h1.intoArray(sums, u + 96);
            l2.intoArray(sums, u + 128); h2.intoArray(sums, u + 160);
            l3.intoArray(sums, u + 192); h3.intoArray(sums, u + 224);
        }
    }
}
