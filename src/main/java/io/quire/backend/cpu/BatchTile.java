package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * The batched matrix product's inner kernels: a tile of dequantized weight rows times the batch, as
 * outer products. The batch is first laid out in panels ({@link #pack}): panel p holds vectors
 * {@code p*L .. p*L+L-1}, column by column, so one vector load gives one column of L batch vectors.
 * A kernel broadcasts one weight, multiplies it into that column and accumulates. Panels go in pairs
 * through {@link #kernel6x2}: 6 rows times 2 panels make 12 accumulators of L (row, vector) sums
 * each, and 8 loads feed 12 FMAs. A panel left over (a batch of one panel, the third of 17-24 vectors)
 * goes through {@link #kernel8x1}: 8 rows, so 8 FMA chains, what an AVX2 core's two FMA units need in
 * flight.
 *
 * <p>Why these shapes: AVX2 has 16 vector registers. Dot products of rows in a 4x4 tile (16
 * accumulators plus the loaded vectors, each sum ending in a horizontal reduction) spilled and ran
 * at 36-49 GFLOP/s on an AVX2 core (bench kernels, F32 batch 32, one thread); 4 rows times 3 panels
 * (12 accumulators, 3 panel vectors and a broadcast: all 16) ran at 37 in a scratch loop; 6 times 2
 * (15 registers) at 92-95, the core's peak. For one panel, 6 rows (6 chains of a 4-cycle FMA) ran at
 * about 51 in a scratch loop, 8 rows at 57-71; 12 rows need 12 row offsets in general registers and
 * ran 2x slower in the kernel benchmark. Every (row, vector) sum is one FMA chain over the columns in
 * order, whichever kernel computed it, so a vector's result does not depend on the batch it came in
 * (above {@link MatMul#smallBatch}, which goes row by row), and the C1 and C2 compilers give the same
 * bits (no lane reductions).
 *
 * <p>Panels are L vectors wide, except on a core that splits 512-bit ops in two
 * ({@link Simd#splitsWideVectors}, AMD Zen 4): there a batch of at most 64 whose last 16-vector panel
 * would be at most half full (2-8, 17-24, 33-40, 49-56 vectors) is packed in panels of 8 and runs
 * {@link NarrowPanels}' 8-lane kernels, the same FMA chains (the same bits) with half the padding.
 * Measured there (bench kernels --rows 2048 --cols 2048 --threads 1, 8 against 16 lanes): batches 2
 * to 8 1.6-1.8x faster, 17 to 24 and 40 1.1-1.2x, 32 equal, 64 and 256 5-10% slower (so not used).
 */
final class BatchTile {
    /** Weight rows of {@link #kernel6x2}: a tile for pairs of panels is a multiple of it. */
    static final int PAIR_ROWS = 6;
    /** Weight rows of {@link #kernel8x1}: a tile with a panel left over is a multiple of it. */
    static final int ODD_ROWS = 8;

    /** Floats of the per-thread array that {@link #multiply} takes its kernels' sums through. */
    static final int TILE_SUMS = Math.max(PAIR_ROWS * 2, ODD_ROWS) * Simd.L;

    private BatchTile() {}

    /** Whether batches may take 8-lane panels on this machine (see the class comment). */
    private static final boolean NARROW = Simd.L == 16 && Simd.splitsWideVectors();

    static {
        if (NARROW) prime();
    }

    /**
     * Runs both widths' kernels, interleaved, on a few columns before either is hot. The Vector API's
     * shared code (the species check of every binary op) keeps one type profile for all callers: if
     * one width alone has been seen when C2 compiles the other's kernel, C2 speculates on the wrong
     * vector class, traps, and after a few recompiles gives up with code that ran 10x slower
     * (measured: batch 32 at 34-40 ms instead of 3.6-4.1 in 7 of 9 JVMs). With both seen from the
     * start, 9 of 9 JVMs were fine (docs/performance.md, "A JIT hazard of mixing vector widths").
     */
    private static void prime() {
        int cols = 16;
        float[] w = new float[ODD_ROWS * cols];
        float[] panels = new float[2 * cols * Simd.L];
        float[] tile = new float[TILE_SUMS];
        java.lang.foreign.MemorySegment stored = java.lang.foreign.Arena.ofAuto().allocate(4L * PAIR_ROWS * cols, 64);
        for (int i = 0; i < 1000; i++) {
            kernel6x2(w, 0, cols, panels, 0, tile);
            NarrowPanels.kernel6x2(w, 0, cols, panels, 0, tile);
            kernel8x1(w, 0, cols, panels, 0, tile);
            NarrowPanels.kernel8x1(w, 0, cols, panels, 0, tile);
            kernel6x1(stored.address(), cols, panels, 0, tile);
            NarrowPanels.kernel6x1(stored.address(), cols, panels, 0, tile);
        }
        java.lang.ref.Reference.reachabilityFence(stored);
    }

    /** Vectors per panel for a batch of {@code batch}: {@link NarrowPanels#L} or L (the class comment). */
    static int lanes(int batch) {
        int last = batch % 16;
        return NARROW && batch <= 64 && last != 0 && last <= 8 ? NarrowPanels.L : Simd.L;
    }

    /** Floats of the panels of a batch of {@code batch} vectors of {@code cols}. */
    static int packedLength(int batch, int cols) {
        return panels(batch) * cols * lanes(batch);
    }

    static int panels(int batch) {
        int lanes = lanes(batch);
        return (batch + lanes - 1) / lanes;
    }

    /**
     * x ({@code batch} vectors of {@code cols}) into panels: {@code panels[(p*cols + c)*L + j] =
     * x[(p*L + j)*cols + c]}, zero past the batch's end.
     */
    static void pack(float[] x, int batch, int cols, float[] panels) {
        // On the loop's threads, panel by panel (each panel's lines its own), as KQuantShortTile.pack.
        Parallel.forRange(panels(batch), (long) batch * cols, (p0, p1) -> pack(x, batch, cols, panels, p0, p1));
    }

    /** {@link #pack} of panels {@code p0 .. p1-1}. */
    private static void pack(float[] x, int batch, int cols, float[] panels, int p0, int p1) {
        final int L = lanes(batch);
        for (int p = p0; p < p1; p++) {
            int base = p * cols * L;
            for (int j = 0; j < L; j++) {
                int b = p * L + j;
                if (b < batch) {
                    int xo = b * cols;
                    for (int c = 0; c < cols; c++) panels[base + c * L + j] = x[xo + c];
                } else {
                    for (int c = 0; c < cols; c++) panels[base + c * L + j] = 0f;
                }
            }
        }
    }

    /**
     * Rows {@code r0 .. r0+nr-1} of the output for the vectors of panels {@code p0 .. p1-1}, from the
     * tile at {@code wOff} in w: nr rows, then zero rows up to a multiple of {@link #PAIR_ROWS} if
     * there is a pair of panels, and of {@link #ODD_ROWS} if one is left over.
     */
    static void multiply(float[] w, int wOff, int nr, int cols, float[] panels, int p0, int p1, int batch,
            float[] out, int rows, int r0, float[] tile) {
        boolean narrow = lanes(batch) != Simd.L;
        int pairsEnd = p0 + (p1 - p0) / 2 * 2;
        if (pairsEnd > p0) {
            for (int i = 0; i < nr; i += PAIR_ROWS) {
                for (int p = p0; p < pairsEnd; p += 2) {
                    if (narrow) NarrowPanels.kernel6x2(w, wOff + i * cols, cols, panels, p, tile);
                    else kernel6x2(w, wOff + i * cols, cols, panels, p, tile);
                    scatter(tile, 2, p, Math.min(PAIR_ROWS, nr - i), batch, out, rows, r0 + i);
                }
            }
        }
        if (pairsEnd < p1) {
            for (int i = 0; i < nr; i += ODD_ROWS) {
                if (narrow) NarrowPanels.kernel8x1(w, wOff + i * cols, cols, panels, pairsEnd, tile);
                else kernel8x1(w, wOff + i * cols, cols, panels, pairsEnd, tile);
                scatter(tile, 1, pairsEnd, Math.min(ODD_ROWS, nr - i), batch, out, rows, r0 + i);
            }
        }
    }

    /**
     * {@link #multiply} of a batch of one panel ({@code batch <= L}) with {@value #PAIR_ROWS} F32 rows
     * read where they are stored (at absolute address {@code w}, {@code cols} floats apart) instead of
     * from a copy: the same FMAs in the same order, so the same bits. Six rows, not eight: with eight
     * row addresses and their bounds checks in general registers it ran 1.7x slower (bench kernels
     * --rows 2048 --cols 768 --types F32 --batches 8).
     */
    static void multiplyStored(long w, int cols, float[] panels, int batch, float[] out, int rows, int r0,
            float[] tile) {
        if (lanes(batch) != Simd.L) NarrowPanels.kernel6x1(w, cols, panels, 0, tile);
        else kernel6x1(w, cols, panels, 0, tile);
        scatter(tile, 1, 0, PAIR_ROWS, batch, out, rows, r0);
    }

    /** The tile's sums (row i, panel k at {@code (i*np + k)*L}) into out, skipping padding. */
    private static void scatter(float[] tile, int np, int p0, int nr, int batch, float[] out, int rows, int r0) {
        final int L = lanes(batch);
        for (int k = 0; k < np; k++) {
            int b0 = (p0 + k) * L;
            int n = Math.min(L, batch - b0);
            for (int i = 0; i < nr; i++) {
                int t = (i * np + k) * L;
                for (int j = 0; j < n; j++) out[(b0 + j) * rows + r0 + i] = tile[t + j];
            }
        }
    }

    private static void kernel6x2(float[] w, int wOff, int cols, float[] panels, int p, float[] tile) {
        final var F = Simd.F;
        final int L = Simd.L;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols, w4 = w3 + cols, w5 = w4 + cols;
        int q0 = p * cols * L, q1 = q0 + cols * L;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        // Two columns an iteration (C2 does not unroll this loop): the loop's own instructions once per 24
        // FMAs, not 12, took it from 105 to 117 GFLOP/s, the FMA unit's peak (a scratch copy, one thread).
        // Each chain still takes the columns in order: the same bits. An odd last column goes on its own.
        int even = cols & ~1, c = 0;
        for (; c < even; c += 2) {  // a plain bound: "c + 1 < cols" kept every range check in the loop
            int o = c * L;
            FloatVector v0 = FloatVector.fromArray(F, panels, q0 + o);
            FloatVector v1 = FloatVector.fromArray(F, panels, q1 + o);
            FloatVector m = FloatVector.broadcast(F, w[w0 + c]);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.broadcast(F, w[w1 + c]);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.broadcast(F, w[w2 + c]);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.broadcast(F, w[w3 + c]);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
            m = FloatVector.broadcast(F, w[w4 + c]);
            a40 = m.fma(v0, a40); a41 = m.fma(v1, a41);
            m = FloatVector.broadcast(F, w[w5 + c]);
            a50 = m.fma(v0, a50); a51 = m.fma(v1, a51);
            v0 = FloatVector.fromArray(F, panels, q0 + o + L);
            v1 = FloatVector.fromArray(F, panels, q1 + o + L);
            m = FloatVector.broadcast(F, w[w0 + c + 1]);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.broadcast(F, w[w1 + c + 1]);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.broadcast(F, w[w2 + c + 1]);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.broadcast(F, w[w3 + c + 1]);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
            m = FloatVector.broadcast(F, w[w4 + c + 1]);
            a40 = m.fma(v0, a40); a41 = m.fma(v1, a41);
            m = FloatVector.broadcast(F, w[w5 + c + 1]);
            a50 = m.fma(v0, a50); a51 = m.fma(v1, a51);
        }
        if (c < cols) {
            int o = c * L;
            FloatVector v0 = FloatVector.fromArray(F, panels, q0 + o);
            FloatVector v1 = FloatVector.fromArray(F, panels, q1 + o);
            FloatVector m = FloatVector.broadcast(F, w[w0 + c]);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.broadcast(F, w[w1 + c]);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.broadcast(F, w[w2 + c]);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.broadcast(F, w[w3 + c]);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
            m = FloatVector.broadcast(F, w[w4 + c]);
            a40 = m.fma(v0, a40); a41 = m.fma(v1, a41);
            m = FloatVector.broadcast(F, w[w5 + c]);
            a50 = m.fma(v0, a50); a51 = m.fma(v1, a51);
        }
        a00.intoArray(tile, 0); a01.intoArray(tile, L);
        a10.intoArray(tile, 2 * L); a11.intoArray(tile, 3 * L);
        a20.intoArray(tile, 4 * L); a21.intoArray(tile, 5 * L);
        a30.intoArray(tile, 6 * L); a31.intoArray(tile, 7 * L);
        a40.intoArray(tile, 8 * L); a41.intoArray(tile, 9 * L);
        a50.intoArray(tile, 10 * L); a51.intoArray(tile, 11 * L);
    }

    private static void kernel8x1(float[] w, int wOff, int cols, float[] panels, int p, float[] tile) {
        final var F = Simd.F;
        final int L = Simd.L;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols, w4 = w3 + cols, w5 = w4 + cols;
        int w6 = w5 + cols, w7 = w6 + cols;
        int q0 = p * cols * L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        // Two columns an iteration, as kernel6x2.
        int even = cols & ~1, c = 0;
        for (; c < even; c += 2) {
            FloatVector v = FloatVector.fromArray(F, panels, q0 + c * L);
            a0 = FloatVector.broadcast(F, w[w0 + c]).fma(v, a0);
            a1 = FloatVector.broadcast(F, w[w1 + c]).fma(v, a1);
            a2 = FloatVector.broadcast(F, w[w2 + c]).fma(v, a2);
            a3 = FloatVector.broadcast(F, w[w3 + c]).fma(v, a3);
            a4 = FloatVector.broadcast(F, w[w4 + c]).fma(v, a4);
            a5 = FloatVector.broadcast(F, w[w5 + c]).fma(v, a5);
            a6 = FloatVector.broadcast(F, w[w6 + c]).fma(v, a6);
            a7 = FloatVector.broadcast(F, w[w7 + c]).fma(v, a7);
            v = FloatVector.fromArray(F, panels, q0 + c * L + L);
            a0 = FloatVector.broadcast(F, w[w0 + c + 1]).fma(v, a0);
            a1 = FloatVector.broadcast(F, w[w1 + c + 1]).fma(v, a1);
            a2 = FloatVector.broadcast(F, w[w2 + c + 1]).fma(v, a2);
            a3 = FloatVector.broadcast(F, w[w3 + c + 1]).fma(v, a3);
            a4 = FloatVector.broadcast(F, w[w4 + c + 1]).fma(v, a4);
            a5 = FloatVector.broadcast(F, w[w5 + c + 1]).fma(v, a5);
            a6 = FloatVector.broadcast(F, w[w6 + c + 1]).fma(v, a6);
            a7 = FloatVector.broadcast(F, w[w7 + c + 1]).fma(v, a7);
        }
        if (c < cols) {
            FloatVector v = FloatVector.fromArray(F, panels, q0 + c * L);
            a0 = FloatVector.broadcast(F, w[w0 + c]).fma(v, a0);
            a1 = FloatVector.broadcast(F, w[w1 + c]).fma(v, a1);
            a2 = FloatVector.broadcast(F, w[w2 + c]).fma(v, a2);
            a3 = FloatVector.broadcast(F, w[w3 + c]).fma(v, a3);
            a4 = FloatVector.broadcast(F, w[w4 + c]).fma(v, a4);
            a5 = FloatVector.broadcast(F, w[w5 + c]).fma(v, a5);
            a6 = FloatVector.broadcast(F, w[w6 + c]).fma(v, a6);
            a7 = FloatVector.broadcast(F, w[w7 + c]).fma(v, a7);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, L); a2.intoArray(tile, 2 * L); a3.intoArray(tile, 3 * L);
        a4.intoArray(tile, 4 * L); a5.intoArray(tile, 5 * L); a6.intoArray(tile, 6 * L); a7.intoArray(tile, 7 * L);
    }

    // Six rows of one panel, the weights broadcast from stored F32 rows (little-endian floats): per row
    // the same FMA chain as kernel8x1.

    private static void kernel6x1(long w, int cols, float[] panels, int p, float[] tile) {
        final var F = Simd.F;
        final int L = Simd.L;
        final java.lang.foreign.MemorySegment seg = Simd.ALL;
        final long rb = 4L * cols;
        long w0 = w, w1 = w0 + rb, w2 = w1 + rb, w3 = w2 + rb, w4 = w3 + rb, w5 = w4 + rb;
        int q0 = p * cols * L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        for (int c = 0; c < cols; c++) {
            long b = 4L * c;
            FloatVector v = FloatVector.fromArray(F, panels, q0 + c * L);
            a0 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w0 + b)).fma(v, a0);
            a1 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w1 + b)).fma(v, a1);
            a2 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w2 + b)).fma(v, a2);
            a3 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w3 + b)).fma(v, a3);
            a4 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w4 + b)).fma(v, a4);
            a5 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w5 + b)).fma(v, a5);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, L); a2.intoArray(tile, 2 * L);
        a3.intoArray(tile, 3 * L); a4.intoArray(tile, 4 * L); a5.intoArray(tile, 5 * L);
    }
}
