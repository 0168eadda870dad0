package io.quire.backend.cpu;

import io.quire.backend.TensorType;

/**
 * MatMul's batched products in 16-bit integer lanes, for the types whose block sums fit a short
 * ({@link Q4_0ShortTile}; Q4_K and Q5_K, {@link KQuantShortTile}; Q6_K, {@link Q6_KShortTile}; for batches
 * of 12-16 {@link Q4_0InterleavedTile}, {@link Q4_KInterleavedTile} and {@link Q6_KInterleavedTile}): the
 * batch packed once per call and per activation format (Q8_0, Q8_K), then each unit of rows unpacked once
 * into this thread's tile and multiplied into every panel.
 */
final class ShortTiles {
    /** Vectors of a batch that meet a tile's rows at a time, as MatMul's float tiles: they stay in L2. */
    private static final int CHUNK_PANELS = Math.max(1, 64 / Q4_0ShortTile.SL);

    /** The batch in panels (integers, scales, the K-quants' group sums), per thread, reused from call to call. */
    private static final ThreadLocal<short[]> PANELS_Q4_0 = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> SCALES_Q4_0 = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<short[]> PANELS_Q4_K = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> SCALES_Q4_K = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> SUMS_Q4_K = ThreadLocal.withInitial(() -> new float[0]);
    /** The plain panels of {@link #packPlain}, apart from those of {@link #pack} (one matmul may take both). */
    private static final ThreadLocal<short[]> PANELS_PLAIN = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> SCALES_PLAIN = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> SUMS_PLAIN = ThreadLocal.withInitial(() -> new float[0]);
    /** A tile of rows unpacked: values, per-block (K-quants: per-group) scales, Q4_K's and Q5_K's per-group offsets. */
    private static final ThreadLocal<short[]> TILE = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> TILE_SCALES = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> TILE_OFFSETS = ThreadLocal.withInitial(() -> new float[0]);
    /** A tile of Q4_0 rows unpacked for {@link Q4_0InterleavedTile}: pairs of values as ints. */
    private static final ThreadLocal<int[]> TILE_PAIRS = ThreadLocal.withInitial(() -> new int[0]);

    /** Whether batches take these kernels at all ({@code -Dquire.short-tiles=false}: the float tiles, for benchmarks). */
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("quire.short-tiles", "true"));

    /**
     * A batch quantized and packed in panels of {@link Q4_0ShortTile#SL} vectors: integers
     * {@code qs[(p*cols + c)*SL + j]}, scales {@code d[(p*blocks + k)*SL + j]} per 32 columns; for the K-quants also
     * each group's sum of integers times its scale, laid out as d (else null); interleaved: packed as
     * {@link Q4_0InterleavedTile#pack} lays a panel of column pairs out instead.
     */
    record Panels(short[] qs, float[] d, float[] sums, boolean interleaved) {}

    /** {@code -Dquire.interleaved-tiles=false}: batches of 12-16 take the tile dots, for benchmarks. */
    private static final boolean INTERLEAVED = Boolean.parseBoolean(System.getProperty("quire.interleaved-tiles",
            "true"));

    private ShortTiles() {}

    /**
     * Whether a batch of this size of a type these kernels apply to takes {@link Q4_0InterleavedTile},
     * {@link Q4_KInterleavedTile} or {@link Q6_KInterleavedTile} (below the tile dots' limit).
     */
    static boolean interleaved(int batch) {
        return ENABLED && INTERLEAVED && Q4_0InterleavedTile.takes(batch);
    }

    /**
     * Whether this type's batches can take these kernels ({@code -Dquire.short-tiles=false}: never). Q6_K's
     * only with 16-lane vectors: limited to 8 lanes (-Dquire.vector-bits=256 on the AVX-512 machine) its
     * tile ran 1.1-1.4x slower than the float tiles at every batch from 4 to 32 (bench kernels).
     */
    static boolean applies(TensorType type) {
        return (type == TensorType.Q4_0 || type == TensorType.Q4_K || type == TensorType.Q5_K
                || type == TensorType.Q6_K && Simd.L >= 16) && ENABLED;
    }

    /**
     * x packed in plain panels of Q8_K integers at any batch size, for the repacked tiles' panels
     * ({@link Q4_KTilePanels}, {@link Q6_KTilePanels}), which have no interleaved kernel: this thread's
     * arrays, apart from {@link #pack}'s, until its next call.
     */
    static Panels packPlain(float[] x, int batch, int cols) {
        return plain(x, batch, cols, PANELS_PLAIN, SCALES_PLAIN, SUMS_PLAIN);
    }

    /** x in plain K-quant panels ({@link KQuantShortTile#pack}) in this thread's arrays of the three locals. */
    private static Panels plain(float[] x, int batch, int cols, ThreadLocal<short[]> panels, ThreadLocal<float[]> scales,
            ThreadLocal<float[]> sumsLocal) {
        short[] qs = Scratch.shorts(panels, Q4_0ShortTile.packedLength(batch, cols));
        float[] d = Scratch.floats(scales, KQuantShortTile.scalesLength(batch, cols));
        float[] sums = Scratch.floats(sumsLocal, KQuantShortTile.scalesLength(batch, cols));
        KQuantShortTile.pack(x, batch, cols, qs, d, sums);
        return new Panels(qs, d, sums, false);
    }

    /** x ({@code batch} vectors of cols) packed for a weight of this type: this thread's arrays, until its next call. */
    static Panels pack(TensorType type, float[] x, int batch, int cols) {
        short[] qs;
        if (type == TensorType.Q4_0) {
            boolean pairs = interleaved(batch);
            int n = pairs ? Q4_0InterleavedTile.packedLength(cols) : Q4_0ShortTile.packedLength(batch, cols);
            qs = Scratch.shorts(PANELS_Q4_0, n);
            float[] d = Scratch.floats(SCALES_Q4_0, n / 32);
            if (pairs) Q4_0InterleavedTile.pack(x, batch, cols, qs, d);
            else Q4_0ShortTile.pack(x, batch, cols, qs, d);
            return new Panels(qs, d, null, pairs);
        }
        if (type != TensorType.Q4_0 && interleaved(batch)) {
            qs = Scratch.shorts(PANELS_Q4_K, Q4_0InterleavedTile.packedLength(cols));
            int n = cols / 32 * Q4_0InterleavedTile.MAX_BATCH;
            float[] d = Scratch.floats(SCALES_Q4_K, n), sums = Scratch.floats(SUMS_Q4_K, n);
            Q4_KInterleavedTile.pack(x, batch, cols, qs, d, sums);
            return new Panels(qs, d, sums, true);
        }
        return plain(x, batch, cols, PANELS_Q4_K, SCALES_Q4_K, SUMS_Q4_K);
    }

    /**
     * Units {@code [from, to)} of {@code tileRows} rows of the weight at absolute address base (rows x
     * cols of this type) times the packed batch, into {@code out[b*rows + r]}; tile and res are the
     * caller's scratch for the kernels' sums and the tile's results ({@link Q4_0ShortTile#multiply}).
     */
    static void run(TensorType type, long base, int rows, int cols, int tileRows, int from, int to,
            Panels x, int batch, float[] out, float[] tile, float[] res) {
        long rowBytes = type.bytesFor(cols);
        short[] w = Scratch.shorts(TILE, tileRows * cols);
        boolean q6k = type == TensorType.Q6_K;
        float[] dw = Scratch.floats(TILE_SCALES, q6k ? Q6_KShortTile.scalesLength(tileRows, cols) : tileRows * cols / 32);
        float[] cw = type == TensorType.Q4_K || type == TensorType.Q5_K
                ? Scratch.floats(TILE_OFFSETS, tileRows * cols / 32) : null;
        for (int u = from; u < to; u++) {
            int r0 = u * tileRows;
            int nr = Math.min(rows, r0 + tileRows) - r0;
            if (x.interleaved() && q6k) {
                Q6_KInterleavedTile.multiply(base + r0 * rowBytes, nr, tileRows, cols, x, batch, out, rows, r0,
                        Scratch.ints(TILE_PAIRS, tileRows * cols / 2), dw, tile, res);
            } else if (x.interleaved() && cw != null) {
                Q4_KInterleavedTile.multiply(type == TensorType.Q5_K, base + r0 * rowBytes, nr, tileRows, cols, x, batch, out, rows, r0,
                        Scratch.ints(TILE_PAIRS, tileRows * cols / 2), dw, cw, tile, res);
            } else if (x.interleaved()) {
                Q4_0InterleavedTile.multiply(base + r0 * rowBytes, nr, tileRows, cols, x, batch, out, rows, r0,
                        Scratch.ints(TILE_PAIRS, tileRows * cols / 2), dw, tile, res);
            } else if (q6k) {
                Q6_KShortTile.multiply(base + r0 * rowBytes, nr, tileRows, cols, x, batch, CHUNK_PANELS, out, rows, r0,
                        w, dw, tile, res);
            } else if (cw != null) {
                KQuantShortTile.multiply(type == TensorType.Q5_K, base + r0 * rowBytes, nr, tileRows, cols, x, batch,
                        CHUNK_PANELS, out, rows, r0, w, dw, cw, tile, res);
            } else {
                Q4_0ShortTile.multiply(base + r0 * rowBytes, nr, tileRows, cols, x, batch, CHUNK_PANELS, out, rows, r0,
                        w, dw, tile, res);
            }
        }
    }
}
