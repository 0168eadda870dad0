package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * Matrix times a batch of vectors with the weight in its stored type, dequantized on the fly.
 *
 * <p>Batch 1 is memory-bound: each row is streamed once and dotted with x straight from the stored
 * bytes. F32 rows go eight at a time, so eight memory streams are in flight and each load of x serves
 * eight rows: one stream per core left about half the bandwidth unused, four streams 5-8% of it. On
 * AVX-512 machines that double-pump 512-bit ops, the Q4_0/Q8_0 unpacking keeps those types
 * compute-bound. Larger batches dequantize a tile of {@value #ROW_TILE} rows into a per-thread float
 * scratch once and reuse it for every vector of the batch with a 4x4 register tile (16 accumulators,
 * 8 loads per 16 FMAs), which keeps the FMA units busy. (Reading F32 tiles in place from the mapped
 * file instead of copying them measured slower.)
 *
 * <p>Over 400 lines on purpose: a batch-1 and a tiled kernel for each stored type (F32, F16, BF16,
 * Q8_0, Q4_0), alike in shape and read side by side; apart they would share nothing.
 */
public final class MatMul {
    static final int ROW_TILE = 4;
    /** Tiles dequantized together for a batch: 16 rows, 48 KiB of floats at 768 columns. */
    private static final int TILES_PER_GROUP = 4;
    /** Vectors of a batch that meet a group's rows at a time: 64 x 768 floats (192 KiB) stay in L2. */
    private static final int BATCH_CHUNK = 64;
    /** Rows per parallel work unit at batch 1: enough bytes that claiming a chunk is cheap. */
    private static final int ROWS_PER_UNIT_B1 = 16;

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> MINS = ThreadLocal.withInitial(() -> new float[0]);
    /** The caller's x rounded as the weight types take it (ActivationRounding), reused from call to call. */
    private static final ThreadLocal<float[]> ROUNDED_Q8K = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> ROUNDED_Q8_0 = ThreadLocal.withInitial(() -> new float[0]);

    private MatMul() {}

    /**
     * {@code out[b*rows + r] = sum_c W[r][c] * x[b*cols + c]} for {@code b} in {@code [0, batch)},
     * with {@code rows = w.rows()} and {@code cols = w.cols()}. x and out must not overlap.
     * Batch 1 and larger batches sum in different orders, so a row's result may differ in the last
     * bits between them (it never depends on the thread count).
     */
    public static void matmul(Tensor w, float[] x, int batch, float[] out) {
        matmul(new Tensor[] {w}, x, batch, new float[][] {out});
    }

    /**
     * {@link #matmul(Tensor, float[], int, float[])} for several weights of one input (Q, K and V; gate
     * and up) in one parallel loop: the pool is woken once, not once per weight.
     */
    public static void matmul(Tensor[] ws, float[] x, int batch, float[][] outs) {
        if (batch < 1) throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        if (ws.length != outs.length) throw new IllegalArgumentException(ws.length + " weights, " + outs.length
                + " outputs");
        Job[] jobs = new Job[ws.length];
        MemorySegment[] data = new MemorySegment[ws.length];
        int[] firstUnit = new int[ws.length + 1];
        long work = 0;
        Q8K xq = null;
        float[] xQ8K = null, xQ8_0 = null;  // this thread's ROUNDED_* arrays, once filled for this x
        for (int i = 0; i < ws.length; i++) {
            Tensor w = ws[i];
            Quant.checkData(w);
            int rows = w.rows();
            int cols = w.cols();
            if ((long) batch * cols > x.length) throw new IllegalArgumentException("input of " + x.length
                    + " floats is shorter than batch " + batch + " x " + cols + " columns of " + w.name());
            if ((long) batch * rows > outs[i].length) throw new IllegalArgumentException("output of "
                    + outs[i].length + " floats is shorter than batch " + batch + " x " + rows + " rows of "
                    + w.name());
            data[i] = Simd.nativeData(w);
            TensorType type = w.type();
            // The activations rounded as llama.cpp rounds them for this type (ActivationRounding), once for
            // all weights of this input: Q8_K integers for the batch-1 K-quant kernels, else rounded floats.
            float[] xw = x;
            boolean q8k = ActivationRounding.usesQ8K(type);
            if (q8k && batch == 1 && xq == null) xq = Q8K.local(x, 0, cols);
            if (q8k && batch > 1) {
                if (xQ8K == null) ActivationRounding.q8k(x, batch, cols, xQ8K = atLeast(ROUNDED_Q8K, batch * cols));
                xw = xQ8K;
            }
            if (ActivationRounding.usesQ8_0(type)) {
                if (xQ8_0 == null) ActivationRounding.q8_0(x, batch, cols, xQ8_0 = atLeast(ROUNDED_Q8_0, batch * cols));
                xw = xQ8_0;
            }
            boolean withMin = type == TensorType.Q4_1 || type == TensorType.Q5_1;
            // Q4_1/Q5_1 take m times the Q8_1 block sums at every batch size; the others need block sums at batch 1.
            float[] xBlockSums = withMin ? ActivationRounding.q8_1Sums(x, batch, cols)
                    : batch != 1 || !usesBlockSums(type) ? null : blockSums(xw, 0, cols);
            jobs[i] = new Job(type, data[i].address(), type.bytesFor(cols), rows, cols, outs[i], xw, xBlockSums,
                    q8k ? xq : null);
            int unitRows = batch == 1 ? ROWS_PER_UNIT_B1 : ROW_TILE;
            firstUnit[i + 1] = firstUnit[i] + (rows + unitRows - 1) / unitRows;
            work += (long) rows * cols * batch;
        }
        Parallel.forRange(firstUnit[ws.length], work, (from, to) -> {
            for (int i = 0; i < jobs.length; i++) {
                int lo = Math.max(from, firstUnit[i]), hi = Math.min(to, firstUnit[i + 1]);
                if (lo < hi) run(jobs[i], jobs[i].x, batch, lo - firstUnit[i], hi - firstUnit[i]);
            }
        });
        Reference.reachabilityFence(data);
    }

    /** One weight of a {@link #matmul(Tensor[], float[], int, float[][])} call, its data at {@code base}. */
    private record Job(TensorType type, long base, long rowBytes, int rows, int cols, float[] out, float[] x,
            float[] xBlockSums, Q8K xq) {}

    private static boolean usesBlockSums(TensorType type) {
        return type == TensorType.Q4_0 || type == TensorType.Q4_1 || type == TensorType.Q5_0 || type == TensorType.Q5_1;
    }

    /** Units {@code [from, to)} of a job: {@value #ROWS_PER_UNIT_B1} rows each at batch 1, else tiles. */
    private static void run(Job j, float[] x, int batch, int from, int to) {
        TensorType type = j.type;
        long base = j.base, rowBytes = j.rowBytes;
        int rows = j.rows, cols = j.cols;
        float[] out = j.out;
        if (batch == 1) {
            int r = from * ROWS_PER_UNIT_B1;
            int rEnd = Math.min(rows, to * ROWS_PER_UNIT_B1);
            if (type == TensorType.F32) {
                // Eight rows at once: eight memory streams in flight, one load of x for eight rows.
                for (; r + 8 <= rEnd; r += 8) dotF32x8(base + r * rowBytes, cols, x, out, r);
            }
            // The K-quants' unpacked block scales: this thread's array, fetched once per unit, not per row.
            int[] scales = KQuants.SCALES.get();
            for (; r < rEnd; r++) out[r] = dot(type, base + r * rowBytes, x, cols, j.xBlockSums, j.xq, scales);
            return;
        }
        // A batch longer than a chunk (a prompt) meets groups of tiles dequantized together, BATCH_CHUNK
        // vectors at a time, so it is read from L2 once per group rather than once per tile. A short
        // batch gains nothing from that and keeps single tiles (measured: bench kernels, batch 6).
        int group = batch > BATCH_CHUNK ? TILES_PER_GROUP : 1;
        float[] scratch = atLeast(SCRATCH, group * ROW_TILE * cols);
        boolean withMin = type == TensorType.Q4_1 || type == TensorType.Q5_1;
        int blocks = cols / 32;
        float[] mins = withMin ? atLeast(MINS, group * ROW_TILE * blocks) : null;
        for (int g0 = from; g0 < to; g0 += group) {
            int g1 = Math.min(to, g0 + group);
            int r0 = g0 * ROW_TILE;
            int nr = Math.min(rows, g1 * ROW_TILE) - r0;
            for (int i = 0; i < nr; i++) {
                if (withMin) {
                    SmallBlockQuants.dequantizeRowWithoutMin(type, base + (r0 + i) * rowBytes, cols, scratch, i * cols,
                            mins, i * blocks);
                } else {
                    Quant.dequantizeRow(type, base + (r0 + i) * rowBytes, cols, scratch, i * cols);
                }
            }
            for (int b0 = 0; b0 < batch; b0 += BATCH_CHUNK) {
                int b1 = Math.min(batch, b0 + BATCH_CHUNK);
                for (int i = 0; i < nr; i += ROW_TILE) {
                    denseTile(scratch, i * cols, Math.min(ROW_TILE, nr - i), cols, x, b0, b1, out, rows, r0 + i);
                }
            }
            if (withMin) {
                // + sum over blocks of m * s, s the Q8_1 block sums of each vector (llama.cpp's summs).
                float[] s = j.xBlockSums;
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < nr; i++) {
                        float summs = 0;
                        for (int k = 0; k < blocks; k++) summs += mins[i * blocks + k] * s[b * blocks + k];
                        out[b * rows + r0 + i] += summs;
                    }
                }
            }
        }
    }

    /**
     * This thread's array of {@code local} (the tile, or the Q4_1/Q5_1 block offsets of a tile group),
     * at least {@code n} floats (grow-only).
     */
    private static float[] atLeast(ThreadLocal<float[]> local, int n) {
        float[] a = local.get();
        if (a.length < n) {
            a = new float[n];
            local.set(a);
        }
        return a;
    }

    // ---- batch > 1: dense tile of nr rows (in scratch) times all vectors of the batch ----

    /** Rows r0.. (nr of them, at {@code wOff} in w) times vectors b0..b1-1 of the batch. */
    private static void denseTile(float[] w, int wOff, int nr, int cols, float[] x, int b0, int b1, float[] out,
            int rows, int r0) {
        int b = b0;
        if (nr == 4) {
            for (; b + 4 <= b1; b += 4) kernel4x4(w, wOff, cols, x, b, out, rows, r0);
            if (b + 2 <= b1) {
                kernel4x2(w, wOff, cols, x, b, out, rows, r0);
                b += 2;
            }
            if (b < b1) kernel4x1(w, wOff, cols, x, b, out, rows, r0);
        } else {
            for (int i = 0; i < nr; i++) {
                for (b = b0; b < b1; b++) out[b * rows + r0 + i] = dotDense(w, wOff + i * cols, x, b * cols, cols);
            }
        }
    }

    private static void kernel4x4(float[] w, int wOff, int cols, float[] x, int b0, float[] out, int rows, int r0) {
        final var F = Simd.F;
        final int L = Simd.L;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        int x0 = b0 * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int c = 0;
        for (int bound = cols - cols % L; c < bound; c += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + c);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + c);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + c);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + c);
            FloatVector m = FloatVector.fromArray(F, w, w0 + c);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01); a02 = m.fma(v2, a02); a03 = m.fma(v3, a03);
            m = FloatVector.fromArray(F, w, w1 + c);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11); a12 = m.fma(v2, a12); a13 = m.fma(v3, a13);
            m = FloatVector.fromArray(F, w, w2 + c);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21); a22 = m.fma(v2, a22); a23 = m.fma(v3, a23);
            m = FloatVector.fromArray(F, w, w3 + c);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31); a32 = m.fma(v2, a32); a33 = m.fma(v3, a33);
        }
        float s00 = a00.reduceLanes(ADD), s01 = a01.reduceLanes(ADD), s02 = a02.reduceLanes(ADD),
                s03 = a03.reduceLanes(ADD);
        float s10 = a10.reduceLanes(ADD), s11 = a11.reduceLanes(ADD), s12 = a12.reduceLanes(ADD),
                s13 = a13.reduceLanes(ADD);
        float s20 = a20.reduceLanes(ADD), s21 = a21.reduceLanes(ADD), s22 = a22.reduceLanes(ADD),
                s23 = a23.reduceLanes(ADD);
        float s30 = a30.reduceLanes(ADD), s31 = a31.reduceLanes(ADD), s32 = a32.reduceLanes(ADD),
                s33 = a33.reduceLanes(ADD);
        for (; c < cols; c++) {
            float v0 = x[x0 + c], v1 = x[x1 + c], v2 = x[x2 + c], v3 = x[x3 + c];
            float m0 = w[w0 + c], m1 = w[w1 + c], m2 = w[w2 + c], m3 = w[w3 + c];
            s00 += m0 * v0; s01 += m0 * v1; s02 += m0 * v2; s03 += m0 * v3;
            s10 += m1 * v0; s11 += m1 * v1; s12 += m1 * v2; s13 += m1 * v3;
            s20 += m2 * v0; s21 += m2 * v1; s22 += m2 * v2; s23 += m2 * v3;
            s30 += m3 * v0; s31 += m3 * v1; s32 += m3 * v2; s33 += m3 * v3;
        }
        int o0 = b0 * rows + r0, o1 = o0 + rows, o2 = o1 + rows, o3 = o2 + rows;
        out[o0] = s00; out[o0 + 1] = s10; out[o0 + 2] = s20; out[o0 + 3] = s30;
        out[o1] = s01; out[o1 + 1] = s11; out[o1 + 2] = s21; out[o1 + 3] = s31;
        out[o2] = s02; out[o2 + 1] = s12; out[o2 + 2] = s22; out[o2 + 3] = s32;
        out[o3] = s03; out[o3 + 1] = s13; out[o3 + 2] = s23; out[o3 + 3] = s33;
    }

    private static void kernel4x2(float[] w, int wOff, int cols, float[] x, int b0, float[] out, int rows, int r0) {
        final var F = Simd.F;
        final int L = Simd.L;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        int x0 = b0 * cols, x1 = x0 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int c = 0;
        for (int bound = cols - cols % L; c < bound; c += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + c);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + c);
            FloatVector m = FloatVector.fromArray(F, w, w0 + c);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.fromArray(F, w, w1 + c);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.fromArray(F, w, w2 + c);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.fromArray(F, w, w3 + c);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
        }
        float s00 = a00.reduceLanes(ADD), s01 = a01.reduceLanes(ADD), s10 = a10.reduceLanes(ADD),
                s11 = a11.reduceLanes(ADD);
        float s20 = a20.reduceLanes(ADD), s21 = a21.reduceLanes(ADD), s30 = a30.reduceLanes(ADD),
                s31 = a31.reduceLanes(ADD);
        for (; c < cols; c++) {
            float v0 = x[x0 + c], v1 = x[x1 + c];
            float m0 = w[w0 + c], m1 = w[w1 + c], m2 = w[w2 + c], m3 = w[w3 + c];
            s00 += m0 * v0; s01 += m0 * v1; s10 += m1 * v0; s11 += m1 * v1;
            s20 += m2 * v0; s21 += m2 * v1; s30 += m3 * v0; s31 += m3 * v1;
        }
        int o0 = b0 * rows + r0, o1 = o0 + rows;
        out[o0] = s00; out[o0 + 1] = s10; out[o0 + 2] = s20; out[o0 + 3] = s30;
        out[o1] = s01; out[o1 + 1] = s11; out[o1 + 2] = s21; out[o1 + 3] = s31;
    }

    private static void kernel4x1(float[] w, int wOff, int cols, float[] x, int b, float[] out, int rows, int r0) {
        final var F = Simd.F;
        final int L = Simd.L;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        int x0 = b * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        for (int bound = cols - cols % L; c < bound; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + c);
            a0 = FloatVector.fromArray(F, w, w0 + c).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + c).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + c).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + c).fma(v, a3);
        }
        float s0 = a0.reduceLanes(ADD), s1 = a1.reduceLanes(ADD), s2 = a2.reduceLanes(ADD), s3 = a3.reduceLanes(ADD);
        for (; c < cols; c++) {
            float v = x[x0 + c];
            s0 += w[w0 + c] * v; s1 += w[w1 + c] * v; s2 += w[w2 + c] * v; s3 += w[w3 + c] * v;
        }
        int o = b * rows + r0;
        out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    }

    /** Batch 1, eight F32 rows at address w (cols floats apart) dotted with x into out[r0..r0+7]. */
    private static void dotF32x8(long w, int cols, float[] x, float[] out, int r0) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        final long rb = 4L * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int c = 0;
        for (int bound = cols - cols % L; c < bound; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, c);
            long o = w + 4L * c;
            a0 = FloatVector.fromMemorySegment(F, seg, o, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(F, seg, o + rb, LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(F, seg, o + 2 * rb, LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(F, seg, o + 3 * rb, LE).fma(v, a3);
            a4 = FloatVector.fromMemorySegment(F, seg, o + 4 * rb, LE).fma(v, a4);
            a5 = FloatVector.fromMemorySegment(F, seg, o + 5 * rb, LE).fma(v, a5);
            a6 = FloatVector.fromMemorySegment(F, seg, o + 6 * rb, LE).fma(v, a6);
            a7 = FloatVector.fromMemorySegment(F, seg, o + 7 * rb, LE).fma(v, a7);
        }
        float s0 = a0.reduceLanes(ADD), s1 = a1.reduceLanes(ADD), s2 = a2.reduceLanes(ADD), s3 = a3.reduceLanes(ADD);
        float s4 = a4.reduceLanes(ADD), s5 = a5.reduceLanes(ADD), s6 = a6.reduceLanes(ADD), s7 = a7.reduceLanes(ADD);
        for (; c < cols; c++) {
            float v = x[c];
            long o = w + 4L * c;
            s0 += seg.get(Layouts.FLOAT_LE, o) * v;
            s1 += seg.get(Layouts.FLOAT_LE, o + rb) * v;
            s2 += seg.get(Layouts.FLOAT_LE, o + 2 * rb) * v;
            s3 += seg.get(Layouts.FLOAT_LE, o + 3 * rb) * v;
            s4 += seg.get(Layouts.FLOAT_LE, o + 4 * rb) * v;
            s5 += seg.get(Layouts.FLOAT_LE, o + 5 * rb) * v;
            s6 += seg.get(Layouts.FLOAT_LE, o + 6 * rb) * v;
            s7 += seg.get(Layouts.FLOAT_LE, o + 7 * rb) * v;
        }
        out[r0] = s0; out[r0 + 1] = s1; out[r0 + 2] = s2; out[r0 + 3] = s3;
        out[r0 + 4] = s4; out[r0 + 5] = s5; out[r0 + 6] = s6; out[r0 + 7] = s7;
    }

    /** Dot product of two float arrays: the rows of a tile narrower than the 4-row kernels. */
    private static float dotDense(float[] a, int aOff, float[] b, int bOff, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (int bound = n - n % (2 * L); i < bound; i += 2 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), s1);
        }
        for (int bound = n - n % L; i < bound; i += L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
        }
        float s = s0.add(s1).reduceLanes(ADD);
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    // ---- batch 1: one row of stored bytes dotted with x ----

    /** Row at absolute address {@code addr} dotted with x. */
    private static float dot(TensorType type, long addr, float[] x, int cols, float[] xBlockSums, Q8K xq,
            int[] scales) {
        return switch (type) {
            case F32 -> dotF32(addr, x, 0, cols);
            case F16 -> dotF16(addr, x, 0, cols);
            case BF16 -> dotBF16(addr, x, 0, cols);
            case Q8_0 -> dotQ8_0(addr, x, 0, cols);
            case Q4_0 -> dotQ4_0(addr, x, 0, cols, xBlockSums);
            case Q4_K -> KQuantDot.q4k(addr, xq, cols, scales);
            case Q5_K -> KQuantDot.q5k(addr, xq, cols, scales);
            case Q6_K -> KQuantDot.q6k(addr, xq, cols);
            case Q2_K -> LowBitKQuantDot.q2k(addr, xq, cols);
            case Q3_K -> LowBitKQuantDot.q3k(addr, xq, cols, scales);
            case IQ4_XS -> LowBitKQuantDot.iq4xs(addr, xq, cols);
            case Q4_1 -> SmallBlockDot.dot(addr, 20, 2, -1, x, cols, xBlockSums);
            case Q5_0 -> SmallBlockDot.dot(addr, 22, -1, 2, x, cols, xBlockSums);
            case Q5_1 -> SmallBlockDot.dot(addr, 24, 2, 4, x, cols, xBlockSums);
            case IQ4_NL -> SmallBlockDot.iq4nl(addr, x, cols);
            default -> throw Quant.unsupported(type);
        };
    }

    // The batch-1 kernels below read weights by absolute address through Simd.ALL, a constant
    // segment, so C2 folds away per-access scope and bounds checks. They are deliberately flat: a helper that takes or
    // returns a vector must be inlined by C2 or the vector is boxed, and C2 refuses to inline a helper it already
    // compiled into a large method. So the conversions are written out in each loop.

    private static float dotF32(long off, float[] x, int xOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int c = 0;
        for (int bound = cols - cols % (4 * L); c < bound; c += 4 * L) {
            long o = off + 4L * c;
            s0 = FloatVector.fromMemorySegment(F, seg, o, LE).fma(FloatVector.fromArray(F, x, xOff + c), s0);
            s1 = FloatVector.fromMemorySegment(F, seg, o + 4L * L, LE)
                    .fma(FloatVector.fromArray(F, x, xOff + c + L), s1);
            s2 = FloatVector.fromMemorySegment(F, seg, o + 8L * L, LE)
                    .fma(FloatVector.fromArray(F, x, xOff + c + 2 * L), s2);
            s3 = FloatVector.fromMemorySegment(F, seg, o + 12L * L, LE)
                    .fma(FloatVector.fromArray(F, x, xOff + c + 3 * L), s3);
        }
        for (int bound = cols - cols % L; c < bound; c += L) {
            s0 = FloatVector.fromMemorySegment(F, seg, off + 4L * c, LE).fma(FloatVector.fromArray(F, x, xOff + c), s0);
        }
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(ADD);
        for (; c < cols; c++) s += seg.get(Layouts.FLOAT_LE, off + 4L * c) * x[xOff + c];
        return s;
    }

    private static float dotF16(long off, float[] x, int xOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var S = Simd.S;
        final int L = Simd.L;
        final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int c = 0;
        for (int bound = cols - cols % (2 * L); c < bound; c += 2 * L) {
            // f16 -> f32: shift exponent+mantissa into place, multiply by 2^112 to rebias (this also
            // normalizes subnormals), patch inf/NaN, restore the sign (bit 31 of the sign-extended half).
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, seg, off + 2L * c, LE).convertShape(S2I, I, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S, seg, off + 2L * (c + L), LE)
                    .convertShape(S2I, I, 0);
            IntVector m0 = h0.and(0x7fff).lanewise(LSHL, 13);
            IntVector m1 = h1.and(0x7fff).lanewise(LSHL, 13);
            IntVector b0 = m0.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m0.or(0x7f800000), m0.compare(GE, 0x7c00 << 13));
            IntVector b1 = m1.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                    .blend(m1.or(0x7f800000), m1.compare(GE, 0x7c00 << 13));
            FloatVector w0 = b0.or(h0.and(0x80000000)).reinterpretAsFloats();
            FloatVector w1 = b1.or(h1.and(0x80000000)).reinterpretAsFloats();
            s0 = w0.fma(FloatVector.fromArray(F, x, xOff + c), s0);
            s1 = w1.fma(FloatVector.fromArray(F, x, xOff + c + L), s1);
        }
        float s = s0.add(s1).reduceLanes(ADD);
        for (; c < cols; c++) s += Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2L * c)) * x[xOff + c];
        return s;
    }

    private static float dotBF16(long off, float[] x, int xOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var S = Simd.S;
        final int L = Simd.L;
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int c = 0;
        for (int bound = cols - cols % (2 * L); c < bound; c += 2 * L) {
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, seg, off + 2L * c, LE).convertShape(S2I, I, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S, seg, off + 2L * (c + L), LE)
                    .convertShape(S2I, I, 0);
            s0 = h0.lanewise(LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOff + c), s0);
            s1 = h1.lanewise(LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOff + c + L), s1);
        }
        float s = s0.add(s1).reduceLanes(ADD);
        for (; c < cols; c++) s += Float.intBitsToFloat(seg.get(Layouts.SHORT_LE, off + 2L * c) << 16) * x[xOff + c];
        return s;
    }

    // Quantized rows: two blocks per iteration, each scaled into its own accumulator, so
    // consecutive blocks do not wait on each other's FMA latency. Assumes L divides 16.

    private static float dotQ8_0(long off, float[] x, int xOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var B = Simd.B;
        final int L = Simd.L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int blocks = cols / 32;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, off += 68) {
            int xc = xOff + 32 * b;
            FloatVector p0 = FloatVector.zero(F), p1 = p0;
            for (int i = 0; i < 32; i += L) {
                p0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, LE).convertShape(B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xc + i), p0);
                p1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, off + 36 + i, LE).convertShape(B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xc + 32 + i), p1);
            }
            a0 = p0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off))), a0);
            a1 = p1.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 34))), a1);
        }
        if (b < blocks) {
            int xc = xOff + 32 * b;
            FloatVector p0 = FloatVector.zero(F);
            for (int i = 0; i < 32; i += L) {
                p0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, LE).convertShape(B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xc + i), p0);
            }
            a0 = p0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off))), a0);
        }
        return a0.add(a1).reduceLanes(ADD);
    }

    /**
     * Q4_0 row times x. The "- 8" of each value is folded out of the loop:
     * {@code sum d (q - 8) x = d sum q x - 8 d sum x}, with the block sums of x precomputed once per
     * call ({@code xBlockSums}), which with zero-extended nibbles saves three vector ops per block.
     */
    private static float dotQ4_0(long off, float[] x, int xOff, int cols, float[] xBlockSums) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var B = Simd.B;
        final var I = Simd.I;
        final int L = Simd.L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        float corr = 0;
        int blocks = cols / 32;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, off += 36) {
            int xc = xOff + 32 * b;
            FloatVector p0 = FloatVector.zero(F), p1 = p0;
            for (int i = 0; i < 16; i += L) {
                // Nibbles widened to int lanes first: x86 has no byte shifts, int shifts are cheap.
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                IntVector q1 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 20 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                p0 = ((FloatVector) q0.and(0x0f).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + i), p0);
                p0 = ((FloatVector) q0.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(F, x, xc + 16 + i), p0);
                p1 = ((FloatVector) q1.and(0x0f).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + 32 + i), p1);
                p1 = ((FloatVector) q1.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(F, x, xc + 48 + i), p1);
            }
            float d0 = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
            float d1 = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 18));
            a0 = p0.fma(FloatVector.broadcast(F, d0), a0);
            a1 = p1.fma(FloatVector.broadcast(F, d1), a1);
            corr += d0 * xBlockSums[b] + d1 * xBlockSums[b + 1];
        }
        if (b < blocks) {
            int xc = xOff + 32 * b;
            FloatVector p0 = FloatVector.zero(F);
            for (int i = 0; i < 16; i += L) {
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                p0 = ((FloatVector) q0.and(0x0f).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + i), p0);
                p0 = ((FloatVector) q0.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(F, x, xc + 16 + i), p0);
            }
            float d0 = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
            a0 = p0.fma(FloatVector.broadcast(F, d0), a0);
            corr += d0 * xBlockSums[b];
        }
        return a0.add(a1).reduceLanes(ADD) - 8 * corr;
    }

    /** Sums of x over each 32-value block. */
    private static float[] blockSums(float[] x, int xOff, int cols) {
        float[] sums = new float[cols / 32];
        for (int b = 0; b < sums.length; b++) {
            sums[b] = FloatVector.fromArray(Simd.F, x, xOff + 32 * b)
                    .add(FloatVector.fromArray(Simd.F, x, xOff + 32 * b + Simd.L)).reduceLanes(ADD)
                    + (Simd.L == 8 ? FloatVector.fromArray(Simd.F, x, xOff + 32 * b + 16)
                            .add(FloatVector.fromArray(Simd.F, x, xOff + 32 * b + 24)).reduceLanes(ADD) : 0f);
        }
        return sums;
    }

    private static final jdk.incubator.vector.VectorOperators.Associative ADD =
            jdk.incubator.vector.VectorOperators.ADD;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
}
