package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2F;

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
 * Q6_K weights repacked at load ({@link TensorType#Q6_K_R32}) as {@link Q4_KTiles} repacks Q4_K: 32 rows
 * to a tile, a row per 16-bit lane. Stored Q6_K spreads a value over a nibble of {@code ql} and two bits
 * of {@code qh} and its batch-1 kernel goes row by row (12-18 GB/s on one thread where Q4_K's tiles reach
 * 30-44). Here each row's eight 6-bit values of 8 columns fill three shorts: {@code w0 = v0 | v1 << 6 |
 * (v6 & 15) << 12}, {@code w1 = v2 | v3 << 6 | (v6 >> 4) << 12 | (v7 & 3) << 14}, {@code w2 = v4 | v5 << 6
 * | (v7 >> 2) << 12}, so a 512-bit load brings 32 rows' words and each value comes out in one to four
 * lane operations. The 8 products {@code v x} (v in 0..63) sum in a short modulo 2^16; less {@code 32
 * s8} (s8 the vector's sum over those 8 columns) that is the exact {@code sum (v - 32) x}, at most 32 x
 * 127 x 8; then to floats times the row's {@code d sc_g}, and per block times the vector's d.
 *
 * <p>Layout per tile and 256-value block, {@link #BLOCK_BYTES} bytes in the order the kernels read them:
 * the 32 rows' d as floats at 0; then per 32 columns G (at {@link #part}(G)) the int8 scales of groups
 * 2G and 2G + 1 (32 rows each), and four runs of 8 columns, each the 32 rows' w0, then w1, then w2. 212
 * bytes per row and block against Q6_K's 210.
 */
public final class Q6_KTiles {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    public static final int ROWS = 32;
    static final int BLOCK_BYTES = 6784;
    /** In a part: the two groups' scales, then the runs of 8 columns (three words of 32 rows each). */
    static final int RUNS = 64, RUN_BYTES = 192;

    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;

    /** {@code -Dquire.q6k-tiles=false}: Q6_K weights stay as stored (benchmarks). */
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("quire.q6k-tiles", "true"));

    /** kernel4's run sums of a block, per thread ({@link #products2}): 32 runs of 4 vectors' 32 shorts. */
    private static final ThreadLocal<short[]> RUN_SUMS = ThreadLocal.withInitial(() -> new short[32 * 4 * 32]);

    private Q6_KTiles() {}

    /** Whether a Q6_K weight of this shape is repacked at load: 512-bit vectors in use, rows a multiple of 32. */
    public static boolean applies(int rows, int cols) {
        return ENABLED && Simd.SW.length() == ROWS && Simd.L == 16 && rows > 0 && rows % ROWS == 0
                && cols % 256 == 0;
    }

    /** Where part G (columns 32G .. 32G + 31) of a block starts. */
    static int part(int g) {
        return 128 + 832 * g;
    }

    /** A Q6_K tensor that {@link #applies} repacked into memory of {@code arena}, 64-byte aligned. */
    public static Tensor repacked(Tensor q6k, Arena arena) {
        if (q6k.type() != TensorType.Q6_K || !applies(q6k.rows(), q6k.cols())) {
            throw new IllegalArgumentException("not a Q6_K tensor these tiles take: " + q6k);
        }
        MemorySegment dst = arena.allocate(TensorType.Q6_K_R32.bytesFor(q6k.elements()), 64);
        repack(q6k.data(), dst, q6k.rows(), q6k.cols());
        return new Tensor(q6k.name(), TensorType.Q6_K_R32, q6k.shape(), dst);
    }

    /** Repacks {@code rows x cols} Q6_K values at {@code src} into {@code dst} ({@code rows * cols / 256 * 212} bytes). */
    public static void repack(MemorySegment src, MemorySegment dst, int rows, int cols) {
        int blocks = cols / 256;
        long rowBytes = 210L * blocks;
        byte[] in = new byte[210], out = new byte[BLOCK_BYTES];
        int[] v = new int[256];
        for (int t = 0; t < rows / ROWS; t++) {
            for (int s = 0; s < blocks; s++) {
                for (int r = 0; r < ROWS; r++) {
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) (t * ROWS + r) * rowBytes + 210L * s, in, 0, 210);
                    values(in, v);
                    float d = Float.float16ToFloat((short) (in[208] & 0xFF | in[209] << 8));
                    int bits = Float.floatToRawIntBits(d);
                    for (int i = 0; i < 4; i++) out[4 * r + i] = (byte) (bits >>> 8 * i);
                    for (int g = 0; g < 16; g++) out[part(g / 2) + 32 * (g % 2) + r] = in[192 + g];
                    for (int c = 0; c < 256; c += 8) {
                        int run = part(c / 32) + RUNS + RUN_BYTES * (c % 32 / 8) + 2 * r;
                        int w0 = v[c] | v[c + 1] << 6 | (v[c + 6] & 15) << 12;
                        int w1 = v[c + 2] | v[c + 3] << 6 | (v[c + 6] >> 4) << 12 | (v[c + 7] & 3) << 14;
                        int w2 = v[c + 4] | v[c + 5] << 6 | (v[c + 7] >> 2) << 12;
                        putShort(out, run, w0);
                        putShort(out, run + 64, w1);
                        putShort(out, run + 128, w2);
                    }
                }
                MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, ((long) t * blocks + s) * BLOCK_BYTES, BLOCK_BYTES);
            }
        }
    }

    /** The 256 6-bit values (0..63, before the offset of 32) of the Q6_K block in {@code b}, as dequantize_row_q6_K orders them. */
    private static void values(byte[] b, int[] v) {
        for (int n = 0; n < 2; n++) {
            for (int l = 0; l < 32; l++) {
                int a = b[64 * n + l] & 0xFF, c = b[64 * n + 32 + l] & 0xFF, h = b[128 + 32 * n + l] & 0xFF;
                v[128 * n + l] = a & 15 | (h & 3) << 4;
                v[128 * n + 32 + l] = c & 15 | (h >> 2 & 3) << 4;
                v[128 * n + 64 + l] = a >> 4 | (h >> 4 & 3) << 4;
                v[128 * n + 96 + l] = c >> 4 | (h >> 6 & 3) << 4;
            }
        }
    }

    private static void putShort(byte[] a, int at, int w) {
        a[at] = (byte) w;
        a[at + 1] = (byte) (w >>> 8);
    }

    /** The 6-bit value of column k (0..7) of a run, from its row's three words. */
    static int value(int w0, int w1, int w2, int k) {
        return switch (k) {
            case 0 -> w0 & 63;
            case 1 -> w0 >> 6 & 63;
            case 2 -> w1 & 63;
            case 3 -> w1 >> 6 & 63;
            case 4 -> w2 & 63;
            case 5 -> w2 >> 6 & 63;
            case 6 -> w0 >> 12 & 15 | (w1 >> 8 & 0x30);
            default -> w1 >> 14 & 3 | (w2 >> 10 & 0x3C);
        };
    }

    /** Row {@code row} of the tiles at absolute address {@code base} ({@code cols} wide) as floats, as Q6_K decodes it. */
    static void dequantizeRow(long base, int row, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        int blocks = cols / 256;
        int r = row % ROWS;
        for (int s = 0; s < blocks; s++) {
            long b = base + ((long) (row / ROWS) * blocks + s) * BLOCK_BYTES;
            float d = seg.get(Layouts.FLOAT_LE, b + 4L * r);
            for (int c = 0; c < 256; c += 8) {
                long run = b + part(c / 32) + RUNS + RUN_BYTES * (c % 32 / 8) + 2L * r;
                int w0 = seg.get(Layouts.SHORT_LE, run) & 0xFFFF, w1 = seg.get(Layouts.SHORT_LE, run + 64) & 0xFFFF;
                int w2 = seg.get(Layouts.SHORT_LE, run + 128) & 0xFFFF;
                float dl = d * seg.get(ValueLayout.JAVA_BYTE, b + part(c / 32) + 32 * (c % 32 / 16) + r);
                for (int k = 0; k < 8; k++) out[outOff + 256 * s + c + k] = dl * (value(w0, w1, w2, k) - 32);
            }
        }
    }

    /**
     * The 16 groups' {@code d sc_g} of the block at absolute address {@code sb}, row r's of group g at
     * {@code dw[at + 32g + r]}: the factors the panels' kernels take.
     */
    static void groupFactors(long sb, float[] dw, int at) {
        final MemorySegment seg = Simd.ALL;
        FloatVector d0 = FloatVector.fromMemorySegment(F, seg, sb, LE);
        FloatVector d1 = FloatVector.fromMemorySegment(F, seg, sb + 64, LE);
        for (int g = 0; g < 16; g++) {
            long sc = sb + part(g / 2) + 32 * (g % 2);
            ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc, LE).convertShape(B2F, F, 0)).mul(d0)
                    .intoArray(dw, at + 32 * g);
            ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 16, LE).convertShape(B2F, F, 0)).mul(d1)
                    .intoArray(dw, at + 32 * g + 16);
        }
    }

    /**
     * Tiles {@code t0 .. t1-1} of the weight at absolute address base ({@code rows x cols}) times the
     * batch's Q8K vectors (their {@link Q8K#sums8} filled), into {@code out[b*rows + r]}.
     */
    static void multiply(long base, int rows, int cols, int t0, int t1, Q8K[] xs, int batch, float[] out) {
        int blocks = cols / 256;
        short[] sums = batch >= 4 ? RUN_SUMS.get() : null;
        for (int t = t0; t < t1; t++) {
            long tile = base + (long) t * blocks * BLOCK_BYTES;
            int r0 = t * ROWS;
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                kernel4(tile, blocks, xs[b], xs[b + 1], xs[b + 2], xs[b + 3], out, b * rows + r0, rows, sums);
            }
            for (; b < batch; b++) kernel1(tile, blocks, xs[b], out, b * rows + r0);
        }
    }

    // The kernels, written out for 1 and 4 vectors (a helper taking or returning a vector is boxed unless
    // C2 inlines it), with the same operations per vector: a run's 8 products into a short, less 32 s8,
    // to floats, times d sc_g into the block's sums; at the block's end those times the vector's d.

    private static void kernel1(long tile, int blocks, Q8K y, float[] out, int o) {
        final MemorySegment seg = Simd.ALL;
        final short[] q8 = y.qs;
        final int[] s8 = y.sums8;
        FloatVector t0 = FloatVector.zero(F), t1 = t0;
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * BLOCK_BYTES;
            FloatVector d0 = FloatVector.fromMemorySegment(F, seg, sb, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(F, seg, sb + 64, LE);
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int g = 0; g < 16; g++) {
                long pg = sb + part(g / 2);
                long sc = pg + 32 * (g % 2);
                FloatVector c0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc, LE).convertShape(B2F, F, 0)).mul(d0);
                FloatVector c1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 16, LE).convertShape(B2F, F, 0)).mul(d1);
                for (int h = 0; h < 2; h++) {
                    long w = pg + RUNS + RUN_BYTES * (2 * (g % 2) + h);
                    int xo = 256 * s + 16 * g + 8 * h;
                    ShortVector w0 = ShortVector.fromMemorySegment(S, seg, w, LE);
                    ShortVector w1 = ShortVector.fromMemorySegment(S, seg, w + 64, LE);
                    ShortVector w2 = ShortVector.fromMemorySegment(S, seg, w + 128, LE);
                    ShortVector acc = w0.and((short) 63).mul(q8[xo]);
                    acc = w0.lanewise(LSHR, 6).and((short) 63).mul(q8[xo + 1]).add(acc);
                    acc = w1.and((short) 63).mul(q8[xo + 2]).add(acc);
                    acc = w1.lanewise(LSHR, 6).and((short) 63).mul(q8[xo + 3]).add(acc);
                    acc = w2.and((short) 63).mul(q8[xo + 4]).add(acc);
                    acc = w2.lanewise(LSHR, 6).and((short) 63).mul(q8[xo + 5]).add(acc);
                    acc = w0.lanewise(LSHR, 12).or(w1.lanewise(LSHR, 8).and((short) 0x30)).mul(q8[xo + 6]).add(acc);
                    acc = w1.lanewise(LSHR, 14).or(w2.lanewise(LSHR, 10).and((short) 0x3C)).mul(q8[xo + 7]).add(acc);
                    acc = acc.sub((short) (32 * s8[xo / 8]));
                    a0 = ((FloatVector) acc.convertShape(S2F, F, 0)).fma(c0, a0);
                    a1 = ((FloatVector) acc.convertShape(S2F, F, 1)).fma(c1, a1);
                }
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
        // The vectors' sums so far, in out (rows apart), from zero: in registers they left too few for the block.
        for (int v = 0; v < 4; v++) {
            z.intoArray(out, o + v * rows);
            z.intoArray(out, o + v * rows + 16);
        }
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * BLOCK_BYTES;
            products2(seg, sb, 256 * s, p0, p1, sums, 0);
            products2(seg, sb, 256 * s, p2, p3, sums, 1);
            FloatVector d0 = FloatVector.fromMemorySegment(F, seg, sb, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(F, seg, sb + 64, LE);
            FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
            for (int g = 0; g < 16; g++) {
                long sc = sb + part(g / 2) + 32 * (g % 2);
                FloatVector c0 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc, LE).convertShape(B2F, F, 0)).mul(d0);
                FloatVector c1 = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, sc + 16, LE).convertShape(B2F, F, 0)).mul(d1);
                for (int h = 0; h < 2; h++) {
                    int r = 2 * g + h, u = 128 * r, k = 32 * s + r;
                    ShortVector e0 = ShortVector.fromArray(S, sums, u).sub((short) (32 * y0.sums8[k]));
                    ShortVector e1 = ShortVector.fromArray(S, sums, u + 32).sub((short) (32 * y1.sums8[k]));
                    ShortVector e2 = ShortVector.fromArray(S, sums, u + 64).sub((short) (32 * y2.sums8[k]));
                    ShortVector e3 = ShortVector.fromArray(S, sums, u + 96).sub((short) (32 * y3.sums8[k]));
                    a00 = ((FloatVector) e0.convertShape(S2F, F, 0)).fma(c0, a00);
                    a01 = ((FloatVector) e0.convertShape(S2F, F, 1)).fma(c1, a01);
                    a10 = ((FloatVector) e1.convertShape(S2F, F, 0)).fma(c0, a10);
                    a11 = ((FloatVector) e1.convertShape(S2F, F, 1)).fma(c1, a11);
                    a20 = ((FloatVector) e2.convertShape(S2F, F, 0)).fma(c0, a20);
                    a21 = ((FloatVector) e2.convertShape(S2F, F, 1)).fma(c1, a21);
                    a30 = ((FloatVector) e3.convertShape(S2F, F, 0)).fma(c0, a30);
                    a31 = ((FloatVector) e3.convertShape(S2F, F, 1)).fma(c1, a31);
                }
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
     * kernel4's integer half for one block and two of its vectors: each run's 8 products per vector (modulo
     * 2^16), into {@code sums} from 128 r + 32 v (v: 2 j and 2 j + 1). Apart from the float half, and for two
     * vectors at a time, each part has the registers it needs: written together for four, C2 kept the
     * block's float sums and the arrays' addresses on the stack and reloaded them for every run (349
     * instructions a run, 91 of them on the stack), and batch 4 took as long as four batches of 1
     * (docs/performance.md, thirty-fifth session). Each run's weights are decoded twice, once per pair.
     */
    private static void products2(MemorySegment seg, long sb, int x0, short[] pa, short[] pb, short[] sums, int j) {
        for (int r = 0; r < 32; r++) {
            long w = sb + part(r / 4) + RUNS + RUN_BYTES * (r % 4);
            int xo = x0 + 8 * r;
            ShortVector w0 = ShortVector.fromMemorySegment(S, seg, w, LE);
            ShortVector w1 = ShortVector.fromMemorySegment(S, seg, w + 64, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S, seg, w + 128, LE);
            ShortVector v = w0.and((short) 63);
            ShortVector ea = v.mul(pa[xo]), eb = v.mul(pb[xo]);
            v = w0.lanewise(LSHR, 6).and((short) 63);
            ea = v.mul(pa[xo + 1]).add(ea); eb = v.mul(pb[xo + 1]).add(eb);
            v = w1.and((short) 63);
            ea = v.mul(pa[xo + 2]).add(ea); eb = v.mul(pb[xo + 2]).add(eb);
            v = w1.lanewise(LSHR, 6).and((short) 63);
            ea = v.mul(pa[xo + 3]).add(ea); eb = v.mul(pb[xo + 3]).add(eb);
            v = w2.and((short) 63);
            ea = v.mul(pa[xo + 4]).add(ea); eb = v.mul(pb[xo + 4]).add(eb);
            v = w2.lanewise(LSHR, 6).and((short) 63);
            ea = v.mul(pa[xo + 5]).add(ea); eb = v.mul(pb[xo + 5]).add(eb);
            v = w0.lanewise(LSHR, 12).or(w1.lanewise(LSHR, 8).and((short) 0x30));
            ea = v.mul(pa[xo + 6]).add(ea); eb = v.mul(pb[xo + 6]).add(eb);
            v = w1.lanewise(LSHR, 14).or(w2.lanewise(LSHR, 10).and((short) 0x3C));
            ea = v.mul(pa[xo + 7]).add(ea); eb = v.mul(pb[xo + 7]).add(eb);
            int u = 128 * r + 64 * j;
            ea.intoArray(sums, u);
            eb.intoArray(sums, u + 32);
        }
    }
}
