package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

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
 * bytes. On AVX-512 machines that double-pump 512-bit ops, the Q4_0/Q8_0 unpacking keeps those types
 * compute-bound. F32 rows go eight at a time up to F32's {@link #smallBatch} ({@link F32Rows}): eight
 * memory streams in flight, each load of x serving eight rows, the batch's vectors two at a time. A
 * small batch of another type runs the batch-1 kernels once per vector. Larger batches dequantize a
 * tile of rows ({@link #tileRows}) into a per-thread float scratch once and multiply it into every
 * vector of the batch: up to {@link #TILE_DOT_BATCH} vectors as dot products ({@link TileDots}), above
 * as outer products of panels packed once per call ({@link BatchTile}), which keep the FMA units busy;
 * Q4_0, Q4_K, Q5_K and Q6_K above that limit in 16-bit integer lanes instead ({@link ShortTiles}), and their
 * batches of 12-16 too ({@link Q4_0InterleavedTile}, {@link Q4_KInterleavedTile}, {@link Q6_KInterleavedTile}).
 * F32 tiles (batches above F32's limit) are read in place from the mapped file for a batch of one
 * panel (at most L vectors): there the copy was a third of the time; with two panels the in-place
 * kernel ran out of registers.
 * Q4_K, Q4_0 and Q6_K matrices the loader repacked ({@link TensorType#Q4_K_R32}, {@link TensorType#Q4_0_R32},
 * {@link TensorType#Q6_K_R32}) take {@link Q4_KTiles}, {@link Q4_0Tiles} and {@link Q6_KTiles} at every batch
 * size, 32 rows a unit (from 32 vectors, {@link Q4_KTilePanels}, {@link Q4_0TilePanels} and {@link Q6_KTilePanels}).
 *
 * <p>Over 400 lines on purpose: a batch-1 kernel for each stored type (F32, F16, BF16, Q8_0),
 * alike in shape and read side by side; apart they would share nothing.
 */
public final class MatMul {
    /** Vectors of a batch that meet a tile's rows at a time: 64 x 768 floats (192 KiB) stay in L2. */
    private static final int BATCH_CHUNK = 64;
    /** Rows per parallel work unit at batch 1: enough bytes that claiming a chunk is cheap. */
    private static final int ROWS_PER_UNIT_B1 = 16;

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> MINS = ThreadLocal.withInitial(() -> new float[0]);
    /** The caller's x rounded as the weight types take it (ActivationRounding), reused from call to call. */
    private static final ThreadLocal<float[]> ROUNDED_Q8K = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> ROUNDED_Q8_0 = ThreadLocal.withInitial(() -> new float[0]);
    /** That Q8_0 rounding in the order of {@link Q8_0Dot}'s byte slices, for batch-1 Q8_0 rows. */
    private static final ThreadLocal<float[]> ORDERED_Q8_0 = ThreadLocal.withInitial(() -> new float[0]);
    /** The caller's batch in {@link BatchTile} panels: of x, of its Q8_K and of its Q8_0 rounding. */
    private static final ThreadLocal<float[]> PANELS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PANELS_Q8K = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PANELS_Q8_0 = ThreadLocal.withInitial(() -> new float[0]);
    /** A tile's sums on their way from the kernel's registers to out ({@link BatchTile}, {@link ShortTiles}). */
    private static final ThreadLocal<float[]> TILE_SUMS = ThreadLocal.withInitial(
            () -> new float[Math.max(BatchTile.TILE_SUMS, Q4_0ShortTile.TILE_SUMS)]);
    /**
     * A tile's results for the whole batch, vector by vector ({@code tileRows} floats apart), on their way
     * to out a vector's rows at a time. Written straight into out, a kernel's few rows of each vector
     * went {@code rows} floats apart, 3 or 12 KiB for the 86M model: strides that map every vector's line
     * to the same few L1 sets, which the next rows' kernel then missed again; a third of a Q4_0 batch of
     * 256's time (bench kernels --rows 3072 --cols 768, one thread: 10.8 ms a call, 7.7 without the stores).
     */
    private static final ThreadLocal<float[]> TILE_RESULTS = ThreadLocal.withInitial(() -> new float[0]);

    private MatMul() {}

    /**
     * {@code out[b*rows + r] = sum_c W[r][c] * x[b*cols + c]} for {@code b} in {@code [0, batch)},
     * with {@code rows = w.rows()} and {@code cols = w.cols()}. x and out must not overlap.
     * A batch of at most {@link #smallBatch} (batch 1 among them) and larger batches sum in different
     * orders, so a row's result may differ in the last bits between them (it never depends on the
     * thread count).
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
        Q8K[] xqs = null;  // row by row: the Q8K of each vector
        boolean sums8 = false;  // xqs' sums over 8 values, which Q6_KTiles takes, filled
        Q8_0Activation[] xq0s = null;  // row by row, Q4_0/IQ4_NL in 16-bit lanes: each vector's Q8_0 integers
        float[] xQ8K = null, xQ8_0 = null;  // this thread's ROUNDED_* arrays, once filled for this x
        float[] xQ8_0Ordered = null;
        // Batched Q4_0, and Q4_K/Q5_K/Q6_K: x's Q8_0 or Q8_K integers in panels, once for all weights of each kind.
        ShortTiles.Panels q40Panels = null, q4kPanels = null, kTilePanels = null;
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
            // Q4_K and Q6_K repacked at load: every batch size through Q4_KTiles and Q6_KTiles, 32 rows a unit,
            // from the Q8K of each vector ...
            boolean tiles = type == TensorType.Q4_K_R32 || type == TensorType.Q6_K_R32;
            // ... and large batches of them through Q4_KTilePanels and Q6_KTilePanels, from the Q8_K panels
            // the stored types would take.
            boolean tilePanels = tiles && batch >= (type == TensorType.Q4_K_R32 ? Q4_KTilePanels.MIN_BATCH
                    : Q6_KTilePanels.MIN_BATCH);
            // ... and Q6_K's batches of 12-16 in a panel of column pairs (Q6_KTilePairs), as stored Q6_K's.
            boolean tilePairs = type == TensorType.Q6_K_R32 && !tilePanels && Q6_KTilePairs.takes(batch);
            // Q4_0 repacked the same way: Q4_0Tiles, from each vector's Q8_0 integers.
            boolean tiles0 = type == TensorType.Q4_0_R32;
            boolean tilePanels0 = tiles0 && batch >= Q4_0TilePanels.MIN_BATCH;
            if ((tiles || tiles0) && rows % Q4_KTiles.ROWS != 0) throw new IllegalArgumentException(w.name() + ": "
                    + rows + " rows are not whole tiles of " + Q4_KTiles.ROWS);
            // Batch 1, and a batch of at most smallBatch(type), go row by row through the batch-1 kernels.
            boolean rowwise = !tiles && !tiles0 && batch <= smallBatch(type);
            // The activations rounded as llama.cpp rounds them for this type (ActivationRounding), once for
            // all weights of this input: Q8_K integers for the batch-1 K-quant kernels, else rounded floats.
            float[] xw = x;
            int xStride = cols;
            boolean q8k = ActivationRounding.usesQ8K(type);
            if ((q8k && rowwise || tiles && !tilePanels && !tilePairs) && xqs == null) xqs = Q8K.locals(x, batch, cols);
            if (type == TensorType.Q6_K_R32 && !tilePanels && !tilePairs && !sums8) {
                for (int b = 0; b < batch; b++) xqs[b].fillSums8(cols);
                sums8 = true;
            }
            boolean shortTiles = !tiles && !tiles0 && shortTiles(type, batch);
            if (q8k && !rowwise && !shortTiles) {
                if (xQ8K == null) ActivationRounding.q8k(x, batch, cols, xQ8K = atLeast(ROUNDED_Q8K, batch * cols));
                xw = xQ8K;
            }
            // Q4_0 (and IQ4_NL where vpermw looks its grid up) row by row take the Q8_0 integers.
            boolean shortLanes = rowwise
                    && (type == TensorType.Q4_0 || type == TensorType.IQ4_NL && Iq4NlShortDot.applies());
            if ((shortLanes || tiles0 && !tilePanels0) && xq0s == null) xq0s = Q8_0Activation.locals(x, batch, cols);
            if ((shortTiles && type == TensorType.Q4_0 || tilePanels0) && q40Panels == null) {
                q40Panels = ShortTiles.pack(TensorType.Q4_0, x, batch, cols);
            }
            if ((shortTiles && type != TensorType.Q4_0 || tilePairs) && q4kPanels == null) {
                q4kPanels = ShortTiles.pack(tilePairs ? TensorType.Q6_K : type, x, batch, cols);
            }
            if (tilePanels && kTilePanels == null) kTilePanels = ShortTiles.packPlain(x, batch, cols);
            if (ActivationRounding.usesQ8_0(type) && !shortLanes && !shortTiles) {
                if (xQ8_0 == null) ActivationRounding.q8_0(x, batch, cols, xQ8_0 = atLeast(ROUNDED_Q8_0, batch * cols));
                xw = xQ8_0;
                if (rowwise && type == TensorType.Q8_0 && Q8_0Dot.applies()) {
                    xStride = Q8_0Dot.orderedLength(cols);
                    if (xQ8_0Ordered == null) {
                        xQ8_0Ordered = atLeast(ORDERED_Q8_0, batch * xStride);
                        for (int b = 0; b < batch; b++) Q8_0Dot.order(xQ8_0, b * cols, cols, xQ8_0Ordered, b * xStride);
                    }
                    xw = xQ8_0Ordered;
                }
            }
            boolean withMin = type == TensorType.Q4_1 || type == TensorType.Q5_1;
            // Q4_1/Q5_1 take m times the Q8_1 block sums at every batch size; Q5_0 needs block sums at batch 1.
            float[] xBlockSums = withMin ? ActivationRounding.q8_1Sums(x, batch, cols)
                    : rowwise && type == TensorType.Q5_0 ? blockSums(xw, 0, batch * cols) : null;
            float[] panels = null;
            if (!rowwise && !tiles && !tiles0 && !tileDots(type, batch) && !shortTiles) {
                // Each distinct input packed once per call for all weights that take it.
                for (int k = 0; k < i && panels == null; k++) if (jobs[k].x == xw) panels = jobs[k].panels;
                if (panels == null) {
                    panels = atLeast(xw == x ? PANELS : xw == xQ8K ? PANELS_Q8K : PANELS_Q8_0,
                            BatchTile.packedLength(batch, cols));
                    BatchTile.pack(xw, batch, cols, panels);
                }
            }
            jobs[i] = new Job(type, data[i].address(), type.bytesFor(cols), rows, cols, outs[i], xw, xStride, panels,
                    xBlockSums, q8k || tiles ? xqs : null, shortLanes || tiles0 ? xq0s : null,
                    tilePanels ? kTilePanels : tilePairs ? q4kPanels : tilePanels0 ? q40Panels : !shortTiles ? null : type == TensorType.Q4_0 ? q40Panels : q4kPanels, rowwise);
            int unitRows = tiles || tiles0 ? Q4_KTiles.ROWS : rowwise ? ROWS_PER_UNIT_B1 : tileRows(type, batch);
            firstUnit[i + 1] = firstUnit[i] + (rows + unitRows - 1) / unitRows;
            work += (long) rows * cols * batch;
        }
        Parallel.forRange(firstUnit[ws.length], work, (from, to) -> {
            for (int i = 0; i < jobs.length; i++) {
                int lo = Math.max(from, firstUnit[i]), hi = Math.min(to, firstUnit[i + 1]);
                if (lo < hi) run(jobs[i], batch, lo - firstUnit[i], hi - firstUnit[i]);
            }
        });
        Reference.reachabilityFence(data);
    }

    /**
     * One weight of a {@link #matmul(Tensor[], float[], int, float[][])} call, its data at {@code base}; x
     * holds the input as its kernels take it, vector b from {@code b * xStride} (row by row).
     */
    private record Job(TensorType type, long base, long rowBytes, int rows, int cols, float[] out, float[] x,
            int xStride, float[] panels, float[] xBlockSums, Q8K[] xqs, Q8_0Activation[] xq0s,
            ShortTiles.Panels shortPanels, boolean rowwise) {}

    /**
     * Largest batch that goes row by row through the batch-1 kernels, once per vector (1 for a type
     * without them): each row is read from memory once and from L1 for the other vectors, so such a
     * batch costs the kernels' arithmetic per vector, where the batched path dequantizes every row
     * first and then multiplies it as floats, a cost that barely changes from 2 to 8 vectors. So a
     * second request no longer makes each step 2-4x longer (bench decode on the 86M model, Q8_0: 4.4-4.5
     * ms at batch 1, 18-19 at batch 2 batched, 8.5-10.9 row by row), and a vector gets the same bits as
     * alone. The limits are where the two costs met in bench kernels and bench decode, 2 threads
     * (docs/performance.md, "Small batches"). F32 takes dot products of eight rows with two vectors
     * ({@link F32Rows}), which use every lane of every FMA: with 16-lane vectors they ran as fast as the
     * outer products or faster up to 32 vectors (bench decode, bench kernels), 3-8% slower on prompts of
     * 64-500 tokens (bench prefill); with 8 lanes (AVX2: 16 registers, too few for the kernel's 16
     * accumulators) they lost from batch 8 on (docs/performance.md, "F32 batches as dot products").
     * {@code -Dquire.small-batch=N} sets it for every type that can (benchmarks).
     */
    static int smallBatch(TensorType type) {
        boolean can = switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K, IQ4_XS -> true;
            default -> false;
        };
        if (!can) return 1;
        if (SMALL_BATCH >= 1) return SMALL_BATCH;
        // With the tile dots (16 lanes) the batched path wins earlier: the first number is where it
        // met row by row with them, the second without.
        boolean dots = TILE_DOT_BATCH >= 2;
        return switch (type) {
            case Q3_K, IQ4_XS, Q5_0, IQ4_NL -> dots ? 1 : 2;
            case Q2_K, Q5_1 -> dots ? 1 : 3;
            case Q4_0 -> dots ? 2 : 4;
            case Q6_K -> dots ? 2 : 3;
            case F16 -> 3;
            case Q5_K, Q4_1, Q8_0, Q4_K -> dots ? 3 : 4;
            case BF16 -> dots ? 4 : 8;
            case F32 -> Simd.L >= 16 ? 32 : 4;
            default -> 1;
        };
    }

    private static final int SMALL_BATCH = Integer.getInteger("quire.small-batch", 0);

    /**
     * Largest batch whose dequantized tiles go through {@link TileDots}' dot products rather than
     * {@link BatchTile}'s outer products: up to 20 vectors the dots were faster (bench decode, Q8_0 and
     * Q4_K_M, 2 threads: 1.3x at 5 and 12, even at 8, where one 8-lane panel is full), at 24 and 32
     * slower (docs/performance.md, "Dequantized tiles as dot products"). 0 with 8-lane vectors, where
     * the dot kernels spill registers. {@code -Dquire.tile-dot-batch=N} sets it (benchmarks).
     */
    static final int TILE_DOT_BATCH = Integer.getInteger("quire.tile-dot-batch", Simd.L >= 16 ? 20 : 0);

    /** Whether a batch of {@code batch} above the row-by-row limit takes {@link TileDots} (F32: never). */
    private static boolean tileDots(TensorType type, int batch) {
        return type != TensorType.F32 && batch <= TILE_DOT_BATCH && !shortTiles(type, batch);
    }

    /**
     * Whether a batch of {@code batch} of this type takes {@link Q4_0ShortTile} or {@link KQuantShortTile}: where the float
     * outer products ({@link BatchTile}) were, above the row-by-row and tile-dot limits. A short panel
     * (2L vectors) costs the same for 3 vectors as for 32, where the tile dots cost by the vector (bench
     * kernels --rows 3072 --cols 768 --types Q4_0 --threads 1, us, tile dots against short tiles: batch 8
     * 536-542 against 1,166-1,200, 20 1,112-1,128 against 1,211-1,247; outer products against short
     * tiles: 24 1,497 against 1,224-1,259, 32 1,958 against 1,186-1,226). Panels of 8 and L vectors for
     * small batches, tried, cost 700 and 800 us whatever the batch: a kernel is bound by its operations
     * per column, not by its lanes. Batches of 12-16 fill a panel of pairs of columns instead
     * ({@link Q4_0InterleavedTile}: 780-810 us whatever the batch, where the tile dots cost 990-1,060 at 16;
     * {@link Q4_KInterleavedTile}: 890-920 against 1,070-1,180; Q6_K's and Q5_K's: docs/performance.md).
     */
    private static boolean shortTiles(TensorType type, int batch) {
        if (!ShortTiles.applies(type) || batch <= smallBatch(type)) return false;
        return batch > TILE_DOT_BATCH || ShortTiles.interleaved(batch);
    }

    /**
     * Rows of a tile of a batch of {@code batch > 1}: what its kernels take, 8 for {@link TileDots}; for
     * {@link BatchTile}, 6 for pairs of panels and 8 for a panel left over, so 24 when a batch has both. A batch longer than a
     * chunk (a prompt) takes 24 rows in any case: it is read from L2 once per 24 rows, not once per 6.
     * A short batch gains nothing from that and keeps small tiles (measured: bench kernels, batch 6).
     * F32 batches of one panel take 24 rows, four times six read in place, eight for the copied last tile.
     */
    static int tileRows(TensorType type, int batch) {
        if (tileDots(type, batch)) return 8;
        if (shortTiles(type, batch)) return batch > BATCH_CHUNK ? 24 : 8;
        int panels = BatchTile.panels(batch);
        if (panels == 1) return type == TensorType.F32 ? 24 : BatchTile.ODD_ROWS;
        if (panels % 2 == 1 || batch > BATCH_CHUNK) return 24;
        return BatchTile.PAIR_ROWS;
    }

    /** Units {@code [from, to)} of a job: {@value #ROWS_PER_UNIT_B1} rows each at batch 1, else tiles. */
    private static void run(Job j, int batch, int from, int to) {
        float[] x = j.x;
        TensorType type = j.type;
        long base = j.base, rowBytes = j.rowBytes;
        int rows = j.rows, cols = j.cols;
        float[] out = j.out;
        if (type == TensorType.Q4_0_R32) {
            if (j.shortPanels != null) {
                Q4_0TilePanels.multiply(base, rows, cols, from, to, j.shortPanels, batch, out, TILE_SUMS.get(),
                        atLeast(TILE_RESULTS, batch * Q4_0Tiles.ROWS));
            } else {
                Q4_0Tiles.multiply(base, rows, cols, from, to, j.xq0s, batch, out);
            }
            return;
        }
        if (type == TensorType.Q4_K_R32) {
            if (j.shortPanels != null) {
                Q4_KTilePanels.multiply(base, rows, cols, from, to, j.shortPanels, batch, out, TILE_SUMS.get(),
                        atLeast(TILE_RESULTS, batch * Q4_KTiles.ROWS));
            } else {
                Q4_KTiles.multiply(base, rows, cols, from, to, j.xqs, batch, out);
            }
            return;
        }
        if (type == TensorType.Q6_K_R32) {
            if (j.shortPanels != null && j.shortPanels.interleaved()) {
                Q6_KTilePairs.multiply(base, rows, cols, from, to, j.shortPanels, batch, out, TILE_SUMS.get(),
                        atLeast(TILE_RESULTS, batch * Q6_KTiles.ROWS));
            } else if (j.shortPanels != null) {
                Q6_KTilePanels.multiply(base, rows, cols, from, to, j.shortPanels, batch, out, TILE_SUMS.get(),
                        atLeast(TILE_RESULTS, batch * Q6_KTiles.ROWS));
            } else {
                Q6_KTiles.multiply(base, rows, cols, from, to, j.xqs, batch, out);
            }
            return;
        }
        if (j.rowwise) {
            int r = from * ROWS_PER_UNIT_B1;
            int rEnd = Math.min(rows, to * ROWS_PER_UNIT_B1);
            if (type == TensorType.F32) {
                // Eight rows at once, the vectors two at a time (F32Rows); batch 1 sixteen rows at once
                // where 32 registers hold their chains (F32Rows.dot16: more memory streams); the rest row
                // by row below.
                float[] chains = F32Rows.chains(Math.max(batch, 2));
                if (batch == 1 && Simd.L >= 16) {
                    for (; r + 16 <= rEnd; r += 16) F32Rows.dot16(base + r * rowBytes, cols, x, 0, out, r, chains);
                }
                for (; r + 8 <= rEnd; r += 8) {
                    F32Rows.dot8(base + r * rowBytes, cols, x, j.xStride, batch, out, rows, r, chains);
                }
            }
            // The K-quants' unpacked block scales: this thread's array, fetched once per unit, not per row.
            int[] scales = KQuants.SCALES.get();
            Q8K[] xqs = j.xqs;
            Q8_0Activation[] xq0s = j.xq0s;
            if (type == TensorType.Q4_K || type == TensorType.Q5_K || type == TensorType.Q6_K || xq0s != null) {
                // These kernels loop over rows themselves: called once per row, each call set its vector
                // constants up again and the JIT's calling convention keeps no vector register across a
                // call (one thread of bench decode on the Q4_K_M model, 1.13-1.15x). A small batch takes
                // a unit's rows vector by vector, so they are read from memory once and then from L1.
                int step = batch == 1 ? rEnd - r : ROWS_PER_UNIT_B1;
                for (; r < rEnd; r += step) {
                    int n = Math.min(step, rEnd - r);
                    for (int b = 0; b < batch; b++) {
                        long first = base + r * rowBytes;
                        int at = b * rows + r;
                        if (type == TensorType.Q4_0) Q4_0ShortDot.rows(first, n, xq0s[b], cols, out, at);
                        else if (type == TensorType.IQ4_NL) Iq4NlShortDot.rows(first, n, xq0s[b], cols, out, at);
                        else kQuantRows(type, first, n, xqs[b], cols, scales, out, at);
                    }
                }
                return;
            }
            for (; r < rEnd; r++) {
                long addr = base + r * rowBytes;
                for (int b = 0; b < batch; b++) {
                    out[b * rows + r] = dot(type, addr, x, b * j.xStride, cols, j.xBlockSums,
                            xqs != null ? xqs[b] : null, scales);
                }
            }
            return;
        }
        int tileRows = tileRows(type, batch);
        if (j.shortPanels != null) {
            ShortTiles.run(type, base, rows, cols, tileRows, from, to, j.shortPanels, batch, out, TILE_SUMS.get(),
                    atLeast(TILE_RESULTS, batch * tileRows));
            return;
        }
        float[] scratch = atLeast(SCRATCH, tileRows * cols);
        float[] res = atLeast(TILE_RESULTS, batch * tileRows);
        boolean withMin = type == TensorType.Q4_1 || type == TensorType.Q5_1;
        int blocks = cols / 32;
        float[] mins = withMin ? atLeast(MINS, tileRows * blocks) : null;
        float[] tile = TILE_SUMS.get();
        boolean dots = tileDots(type, batch);
        float[] chains = dots ? F32Rows.chains(batch) : null;
        int panels = BatchTile.panels(batch);
        int chunkPanels = BATCH_CHUNK / BatchTile.lanes(batch);  // BATCH_CHUNK in panels
        for (int u = from; u < to; u++) {
            int r0 = u * tileRows;
            int nr = Math.min(rows, r0 + tileRows) - r0;
            if (type == TensorType.F32 && panels == 1 && nr == tileRows) {
                // A batch of one panel reads each F32 tile once: broadcast from where it is stored, the
                // weights' stream from memory overlaps the FMAs instead of preceding them in a copy.
                // (Two panels at once from stored rows ran out of registers under C2: slower than the copy.)
                for (int i = 0; i < nr; i += BatchTile.PAIR_ROWS) {
                    BatchTile.multiplyStored(base + (r0 + i) * rowBytes, cols, j.panels, batch, out, rows, r0 + i, tile);
                }
                continue;
            }
            for (int i = 0; i < nr; i++) {
                if (withMin) {
                    SmallBlockQuants.dequantizeRowWithoutMin(type, base + (r0 + i) * rowBytes, cols, scratch, i * cols,
                            mins, i * blocks);
                } else {
                    Quant.dequantizeRow(type, base + (r0 + i) * rowBytes, cols, scratch, i * cols);
                }
            }
            // A last tile of fewer rows is padded with zero rows: the kernels take whole multiples of theirs.
            java.util.Arrays.fill(scratch, nr * cols, tileRows * cols, 0f);
            if (dots) {
                TileDots.dot8(scratch, cols, x, j.xStride, batch, out, rows, r0, nr, chains);
            } else {
                for (int p0 = 0; p0 < panels; p0 += chunkPanels) {
                    int p1 = Math.min(panels, p0 + chunkPanels);
                    BatchTile.multiply(scratch, 0, nr, cols, j.panels, p0, p1, batch, res, tileRows, 0, tile);
                }
                for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
            }
            if (withMin) {
                // + sum over blocks of m * s, s the Q8_1 block sums of each vector (llama.cpp's summs).
                float[] s = j.xBlockSums;
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < nr; i++) {
                        out[b * rows + r0 + i] += offsets(mins, i * blocks, s, b * blocks, blocks);
                    }
                }
            }
        }
    }

    /**
     * {@code sum_k m[mOff + k] * s[sOff + k]} over a row's {@code n} blocks: the offsets' part of a
     * Q4_1/Q5_1 sum, in vector lanes. One scalar chain took a third of a batch of two's time (a
     * multiply-add's latency per block, 64 blocks per row of 2,048).
     */
    private static float offsets(float[] m, int mOff, float[] s, int sOff, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector acc = FloatVector.zero(F);
        int k = 0;
        for (int bound = n - n % L; k < bound; k += L) {
            acc = FloatVector.fromArray(F, m, mOff + k).fma(FloatVector.fromArray(F, s, sOff + k), acc);
        }
        float sum = acc.reduceLanes(ADD);
        for (; k < n; k++) sum += m[mOff + k] * s[sOff + k];
        return sum;
    }

    /**
     * This thread's array of {@code local} (the tile, or the Q4_1/Q5_1 block offsets of its rows),
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

    // ---- batch 1: one row of stored bytes dotted with x ----

    /** Row at absolute address {@code addr} dotted with x from {@code xOff}. */
    private static float dot(TensorType type, long addr, float[] x, int xOff, int cols, float[] xBlockSums, Q8K xq,
            int[] scales) {
        return switch (type) {
            case F32 -> dotF32(addr, x, xOff, cols);
            case F16 -> dotF16(addr, x, xOff, cols);
            case BF16 -> dotBF16(addr, x, xOff, cols);
            case Q8_0 -> Q8_0Dot.applies() ? Q8_0Dot.dot(addr, x, xOff, cols) : dotQ8_0(addr, x, xOff, cols);
            // Q4_0 rows never come here: run() hands them to Q4_0ShortDot, many rows a call.
            case Q2_K -> LowBitKQuantDot.q2k(addr, xq, cols);
            case Q3_K -> LowBitKQuantDot.q3k(addr, xq, cols, scales);
            case IQ4_XS -> LowBitKQuantDot.iq4xs(addr, xq, cols);
            // x's block sums, a row of cols / 32 per vector, are at xOff / 32 (x is not reordered for these).
            case Q4_1 -> SmallBlockDot.dot(addr, 20, 2, -1, x, xOff, cols, xBlockSums, xOff / 32);
            case Q5_0 -> SmallBlockDot.dot(addr, 22, -1, 2, x, xOff, cols, xBlockSums, xOff / 32);
            case Q5_1 -> SmallBlockDot.dot(addr, 24, 2, 4, x, xOff, cols, xBlockSums, xOff / 32);
            case IQ4_NL -> SmallBlockDot.iq4nl(addr, x, xOff, cols);  // 8 lanes; with 16, Iq4NlShortDot
            default -> throw Quant.unsupported(type);
        };
    }

    /** n consecutive Q4_K, Q5_K or Q6_K rows from {@code first} dotted with xq, into out from outOff. */
    private static void kQuantRows(TensorType type, long first, int n, Q8K xq, int cols, int[] scales, float[] out,
            int outOff) {
        switch (type) {
            case Q4_K -> KQuantDot.q4k(first, n, xq, cols, scales, out, outOff);
            case Q5_K -> KQuantDot.q5k(first, n, xq, cols, scales, out, outOff);
            case Q6_K -> KQuantDot.q6k(first, n, xq, cols, out, outOff);
            default -> throw new IllegalArgumentException(type + " is not a K-quant with a rows kernel");
        }
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
