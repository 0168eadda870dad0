package io.quire.cli.check;

import io.quire.backend.KvCacheSpec;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Ops;
import io.quire.backend.cpu.PagedAttention;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.backend.cpu.Quant;
import io.quire.backend.cpu.RandomBlocks;
import io.quire.backend.cpu.Rope;
import io.quire.backend.cuda.CudaDevice;
import io.quire.backend.cuda.CudaDtype;
import io.quire.backend.cuda.CudaKernels;
import io.quire.backend.cuda.CudaKvCache;
import io.quire.backend.cuda.DeviceBuffer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Compares every CUDA kernel with the CPU backend on fresh random inputs, in both 16-bit types
 * (FP16, then BF16 for the kernels that store or read one; their names end in "[bf16]"). Each GPU
 * output is filled with NaN before the kernel runs, so an element the kernel fails to write shows
 * up as "unwritten". The error is normwise: {@code max|gpu - cpu| / max|cpu|}. Where the GPU
 * stores 16-bit values (KV cache, matrix-product inputs) the CPU reference gets the same rounded
 * inputs, so the error measures the kernel, not the storage format; FP16 outputs must be within
 * 1e-3, BF16 outputs (8 mantissa bits: rounding alone costs up to 2^-9) within 8e-3.
 *
 * <p>A tool, not part of serving: it lives with the checks ({@code quire cuda-check}, the CUDA tests)
 * because it holds the GPU backend against the CPU one, which the backends themselves never import.
 *
 * <p>Over 400 lines on purpose: one short check per kernel, all alike and read as a list, with
 * the few comparison helpers they share.
 */
public final class KernelCheck {
    public static final double FP16_TOLERANCE = 1e-3;
    public static final double BF16_TOLERANCE = 8e-3;
    private static final int NAN_F32 = 0x7fc00000;
    private static final int NAN_F16_PAIR = 0x7e007e00;
    private static final int NAN_BF16_PAIR = 0x7fc07fc0;

    /** One kernel's comparison. */
    public record Result(String kernel, double relError, long unwritten, long elements, double tolerance) {
        public boolean passed() {
            return unwritten == 0 && relError <= tolerance;
        }
    }

    private final CudaDevice device;
    private final CudaDtype dtype;
    private final CudaKernels k;
    private final SplittableRandom random;
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private final String tag;
    private final double tolerance;

    private KernelCheck(CudaDevice device, long seed, CudaDtype dtype) {
        this.device = device;
        this.dtype = dtype;
        this.k = device.kernels(dtype);
        this.random = new SplittableRandom(seed);
        this.tag = dtype == CudaDtype.FLOAT16 ? "" : " [" + dtype.kernelSuffix() + "]";
        this.tolerance = dtype == CudaDtype.FLOAT16 ? FP16_TOLERANCE : BF16_TOLERANCE;
    }

    /** Runs every check on {@code device}, FP16 and BF16; inputs come from {@code seed}. */
    public static List<Result> run(CudaDevice device, long seed) {
        List<Result> results = new ArrayList<>();
        KernelCheck c = new KernelCheck(device, seed, CudaDtype.FLOAT16);
        try {
            results.add(c.rope(false));
            results.add(c.rope(true));
            results.add(c.add());
            results.add(c.addBias());
            results.addAll(c.conversions());
            results.add(c.copyBlocks());
            results.add(c.swap());
        } finally {
            c.close();
        }
        for (CudaDtype t : CudaDtype.values()) results.addAll(run(device, seed, t));
        return results;
    }

    /** The checks of the kernels that store or read {@code dtype}. */
    public static List<Result> run(CudaDevice device, long seed, CudaDtype dtype) {
        KernelCheck c = new KernelCheck(device, seed + dtype.ordinal(), dtype);
        List<Result> results = new ArrayList<>();
        try {
            results.add(c.rmsNorm());
            results.add(c.siluMul());
            results.add(c.embedding());
            for (TensorType type : CudaKernels.DEQUANTIZED) results.add(c.dequant(type));
            results.add(c.gemm());
            results.add(c.reshapeAndCache());
            results.addAll(c.attention(64, 8, 2));
            results.addAll(c.attention(128, 4, 4));
            results.addAll(c.attention(96, 6, 2));  // not a power of two: the pairwise path
            results.addAll(c.attention(8, 8, 4));   // stories260K's head size
            // The largest: prefill needs 84 KB of shared memory (opt-in above 48 KB).
            results.addAll(c.attention(256, 2, 1));
        } finally {
            c.close();
        }
        return results;
    }

    // ---- helpers ----

    private float[] randoms(int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        return a;
    }

    /** {@code a} rounded to {@code type}. */
    private static float[] round(float[] a, CudaDtype type) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) r[i] = type.round(a[i]);
        return r;
    }

    private static float[] roundF16(float[] a) {
        return round(a, CudaDtype.FLOAT16);
    }

    private static KvCacheSpec spec(int blockSize, int layers, int kvHeads, int headDim, CudaDtype type) {
        return new KvCacheSpec(blockSize, layers, kvHeads, headDim, type.tensorType());
    }

    private DeviceBuffer f32(float[] a) { return track(device.upload(a)); }

    private DeviceBuffer i32(int[] a) { return track(device.upload(a)); }

    /** {@code a} rounded to the checked 16-bit type. */
    private float[] roundHalf(float[] a) {
        return round(a, dtype);
    }

    /** {@code a} as values of the checked 16-bit type on the device. */
    private DeviceBuffer half(float[] a) {
        short[] h = new short[a.length];
        for (int i = 0; i < a.length; i++) h[i] = dtype.fromFloat(a[i]);
        DeviceBuffer b = track(device.alloc(Math.max(4, 2L * a.length)));
        device.upload(MemorySegment.ofArray(h), b, 0);
        return b;
    }

    private DeviceBuffer nanF32(long n) {
        DeviceBuffer b = track(device.alloc(4 * n));
        device.fill32(b, NAN_F32, n);
        return b;
    }

    private DeviceBuffer nanF16(long n) {
        return nan16(n, NAN_F16_PAIR);
    }

    /** n values of the checked 16-bit type, all NaN. */
    private DeviceBuffer nanHalf(long n) {
        return nan16(n, dtype == CudaDtype.FLOAT16 ? NAN_F16_PAIR : NAN_BF16_PAIR);
    }

    private DeviceBuffer nan16(long n, int pair) {
        long words = (n + 1) / 2;
        DeviceBuffer b = track(device.alloc(4 * words));
        device.fill32(b, pair, words);
        return b;
    }

    private float[] readF32(DeviceBuffer b, int n) {
        device.synchronize();
        return device.downloadFloats(b, n);
    }

    private float[] readF16(DeviceBuffer b, int n) {
        return read16(b, n, CudaDtype.FLOAT16);
    }

    private float[] readHalf(DeviceBuffer b, int n) {
        return read16(b, n, dtype);
    }

    private float[] read16(DeviceBuffer b, int n, CudaDtype type) {
        device.synchronize();
        short[] h = device.downloadShorts(b, n);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = type.toFloat(h[i]);
        return f;
    }

    private DeviceBuffer track(DeviceBuffer b) {
        buffers.add(b);
        return b;
    }

    private void close() {
        device.synchronize();
        for (DeviceBuffer b : buffers) b.close();
        buffers.clear();
    }

    static Result compare(String name, float[] gpu, float[] cpu, double tolerance) {
        if (gpu.length != cpu.length) {
            throw new IllegalArgumentException(name + ": " + gpu.length + " GPU values vs " + cpu.length
                    + " CPU values");
        }
        long unwritten = 0;
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < gpu.length; i++) {
            if (Float.isNaN(cpu[i])) {
                // Where the reference holds NaN (left unwritten on purpose) the GPU must too.
                if (!Float.isNaN(gpu[i])) unwritten++;
                continue;
            }
            if (Float.isNaN(gpu[i])) {
                unwritten++;
                continue;
            }
            maxErr = Math.max(maxErr, Math.abs((double) gpu[i] - cpu[i]));
            maxRef = Math.max(maxRef, Math.abs((double) cpu[i]));
        }
        return new Result(name, maxRef == 0 ? maxErr : maxErr / maxRef, unwritten, gpu.length, tolerance);
    }

    // ---- checks ----

    private Result rmsNorm() {
        int rows = 7, n = 1000;
        float[] x = randoms(rows * n, 3f), w = randoms(n, 1f);
        DeviceBuffer out = nanHalf((long) rows * n);
        k.rmsNorm(out.ptr(), f32(x).ptr(), f32(w).ptr(), 0, rows, n, 1e-5f);
        float[] cpu = new float[rows * n];
        for (int r = 0; r < rows; r++) Ops.rmsNorm(cpu, r * n, x, r * n, w, n, 1e-5f);
        return compare("rms_norm" + tag, readHalf(out, rows * n), cpu, tolerance);
    }

    /** Rows as the fused QKV output has them: 6 rotated heads, then 2 heads' worth of columns RoPE must not touch. */
    private Result rope(boolean neox) {
        int tokens = 9, heads = 6, headDim = 64, maxPos = 300, stride = (heads + 2) * headDim;
        float[] x = randoms(tokens * stride, 1f);
        int[] pos = new int[tokens];
        for (int t = 0; t < tokens; t++) pos[t] = random.nextInt(maxPos);
        Rope rope = new Rope(headDim, maxPos, 10000f, 1f, null, neox);
        float[] cos = new float[maxPos * headDim / 2], sin = new float[maxPos * headDim / 2];
        tables(headDim, maxPos, 10000f, cos, sin);
        DeviceBuffer d = f32(x);
        k.rope(d.ptr(), i32(pos).ptr(), f32(cos).ptr(), f32(sin).ptr(), tokens, heads, headDim, stride, neox);
        float[] cpu = x.clone();
        for (int t = 0; t < tokens; t++) rope.apply(cpu, t * stride, heads, pos[t]);
        return compare(neox ? "rope (neox)" : "rope (interleaved)", readF32(d, x.length), cpu, 1e-5);
    }

    /** The cos/sin tables as the CPU's Rope computes them (no frequency factors, no scaling). */
    static void tables(int headDim, int maxPos, float theta, float[] cos, float[] sin) {
        int half = headDim / 2;
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < half; i++) {
                double a = p * Math.pow(theta, -2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        }
    }

    /** Over the fused gate/up output: each row holds the gate's columns, then the up projection's. */
    private Result siluMul() {
        int rows = 7, cols = 700, n = rows * cols;
        float[] gu = new float[2 * n], g = new float[n], u = new float[n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                g[r * cols + c] = gu[r * 2 * cols + c] = (float) ((random.nextDouble() * 2 - 1) * 4);
                u[r * cols + c] = gu[r * 2 * cols + cols + c] = (float) ((random.nextDouble() * 2 - 1) * 2);
            }
        }
        DeviceBuffer out = nanHalf(n);
        k.siluMul(out.ptr(), f32(gu).ptr(), rows, cols);
        float[] cpu = g.clone();
        Ops.siluMul(cpu, u, n);
        return compare("silu_mul" + tag, readHalf(out, n), cpu, tolerance);
    }

    private Result add() {
        int n = 4099;
        float[] a = randoms(n, 1f), b = randoms(n, 1f);
        DeviceBuffer d = f32(a);
        k.add(d.ptr(), f32(b).ptr(), n);
        float[] cpu = a.clone();
        Ops.add(cpu, b, n);
        return compare("add (residual)", readF32(d, n), cpu, 1e-6);
    }

    private Result addBias() {
        int rows = 5, cols = 384;
        float[] x = randoms(rows * cols, 1f), bias = randoms(cols, 1f);
        DeviceBuffer d = f32(x);
        k.addBias(d.ptr(), f32(bias).ptr(), rows, cols);
        float[] cpu = x.clone();
        Ops.addBias(cpu, rows, cols, bias);
        return compare("add_bias", readF32(d, x.length), cpu, 1e-6);
    }

    private Result embedding() {
        int vocab = 300, dim = 96, count = 11;
        float[] table = roundHalf(randoms(vocab * dim, 1f));
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = random.nextInt(vocab);
        DeviceBuffer out = nanF32((long) count * dim);
        k.embedding(out.ptr(), half(table).ptr(), i32(tokens).ptr(), count, dim);
        TensorType type = dtype.tensorType();
        Tensor t = new Tensor("table", type, new long[] {dim, vocab}, Quant.quantize(type, table));
        float[] cpu = new float[count * dim];
        for (int i = 0; i < count; i++) Quant.dequantizeRow(t, tokens[i], cpu, i * dim);
        return compare("embedding" + tag, readF32(out, cpu.length), cpu, 0);
    }

    private List<Result> conversions() {
        int n = 3001;
        float[] x = randoms(n, 100f);
        DeviceBuffer src = f32(x);
        List<Result> r = new ArrayList<>();
        DeviceBuffer h = nanF16(n);
        k.f32ToF16(h.ptr(), src.ptr(), n);
        r.add(compare("f32_to_f16", readF16(h, n), roundF16(x), 0));
        DeviceBuffer back = nanF32(n);
        k.f16ToF32(back.ptr(), h.ptr(), n);
        r.add(compare("f16_to_f32", readF32(back, n), roundF16(x), 0));
        float[] bf = Quant.dequantize(new Tensor("bf", TensorType.BF16, new long[] {n},
                Quant.quantize(TensorType.BF16, x)));
        DeviceBuffer b = nanF16(n);
        k.f32ToBf16(b.ptr(), src.ptr(), n);
        DeviceBuffer bBack = nanF32(n);
        k.bf16ToF32(bBack.ptr(), b.ptr(), n);
        r.add(compare("f32_to_bf16 + bf16_to_f32", readF32(bBack, n), bf, 0));
        DeviceBuffer bh = nanF16(n);
        k.bf16ToF16(bh.ptr(), b.ptr(), n);
        r.add(compare("bf16_to_f16", readF16(bh, n), roundF16(bf), 0));
        DeviceBuffer hb = nan16(n, NAN_BF16_PAIR);
        k.f16ToBf16(hb.ptr(), h.ptr(), n);
        r.add(compare("f16_to_bf16", read16(hb, n, CudaDtype.BFLOAT16), round(roundF16(x), CudaDtype.BFLOAT16), 0));
        return r;
    }

    private Result dequant(TensorType type) {
        int n = 256 * 13;
        // Q8_0/Q4_0 from quantized random values; the others from random blocks (every bit pattern).
        MemorySegment q = type == TensorType.Q8_0 || type == TensorType.Q4_0 ? Quant.quantize(type, randoms(n, 2f))
                : RandomBlocks.tensor("q", type, 1, n, random.nextLong()).data();
        DeviceBuffer raw = track(device.alloc(q.byteSize()));
        device.upload(q, raw, 0);
        DeviceBuffer out = nanHalf(n);
        k.dequant(type, out.ptr(), raw.ptr(), n);
        float[] cpu = Quant.dequantize(new Tensor("q", type, new long[] {n}, q));
        String name = "dequant_" + type.name().toLowerCase(Locale.ROOT) + " to " + dtype.kernelSuffix();
        return compare(name, readHalf(out, n), cpu, tolerance);
    }

    private Result gemm() {
        int rows = 384, cols = 512, n = 7;
        float[] w = roundHalf(randoms(rows * cols, 0.1f));
        float[] x = roundHalf(randoms(n * cols, 1f));
        DeviceBuffer y = nanF32((long) n * rows);
        device.cublas().matmul(dtype, half(w), rows, cols, half(x), n, y);
        float[] cpu = new float[n * rows];
        TensorType type = dtype.tensorType();
        MatMul.matmul(new Tensor("w", type, new long[] {cols, rows}, Quant.quantize(type, w)), x, n, cpu);
        String t = dtype.kernelSuffix();
        return compare("cublasGemmEx " + t + " x " + t + " -> f32", readF32(y, cpu.length), cpu, 1e-4);
    }

    private Result reshapeAndCache() {
        int layers = 2, blocks = 8, bs = 16, kvHeads = 2, headDim = 32, tokens = 20;
        int kvDim = kvHeads * headDim;
        try (CudaKvCache cache = new CudaKvCache(device, spec(bs, layers, kvHeads, headDim, dtype), blocks, 0)) {
            float[] nan = new float[(int) cache.layerStride()];
            Arrays.fill(nan, Float.NaN);
            cache.uploadLayer(1, nan, nan);
            // K and V are columns of the fused QKV output: rows of [q (2 kvDim) | k | v].
            int stride = 4 * kvDim;
            float[] qkv = randoms(tokens * stride, 2f), kk = new float[tokens * kvDim], vv = new float[tokens * kvDim];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(qkv, t * stride + 2 * kvDim, kk, t * kvDim, kvDim);
                System.arraycopy(qkv, t * stride + 3 * kvDim, vv, t * kvDim, kvDim);
            }
            int[] slots = new int[tokens];
            List<Integer> free = new ArrayList<>();
            for (int s = 0; s < blocks * bs; s++) free.add(s);
            Collections.shuffle(free, new Random(random.nextLong()));
            for (int t = 0; t < tokens; t++) slots[t] = free.get(t);
            slots[3] = -1;  // padding: not stored
            DeviceBuffer dQkv = f32(qkv);
            k.reshapeAndCache(cache.keys(1), cache.values(1), dQkv.ptr(4L * 2 * kvDim), dQkv.ptr(4L * 3 * kvDim),
                    i32(slots).ptr(), tokens, kvDim, stride);
            PagedKvCache cpu = new PagedKvCache(layers, blocks, bs, kvHeads, headDim);
            fill(cpu.keys(1), Float.NaN);
            fill(cpu.values(1), Float.NaN);
            cpu.write(1, slots, roundHalf(kk), roundHalf(vv), tokens);
            // Slots the CPU leaves NaN (slot -1 and every slot not written) must stay NaN on the GPU.
            return compare("reshape_and_cache" + tag, concat(cache.keysAsFloats(1), cache.valuesAsFloats(1)),
                    concat(cpu.keysAsFloats(1), cpu.valuesAsFloats(1)), 0);
        }
    }

    /** Rows of {@code width} values spread to rows of {@code stride}, the rest of each row random. */
    private float[] strided(float[] rows, int width, int stride) {
        int n = rows.length / width;
        float[] out = randoms(n * stride, 1f);
        for (int r = 0; r < n; r++) System.arraycopy(rows, r * width, out, r * stride, width);
        return out;
    }

    private static void fill(MemorySegment s, float value) {
        for (long i = 0; i < s.byteSize() / 4; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private Result copyBlocks() {
        int layers = 3, blocks = 10, bs = 16, kvHeads = 2, headDim = 16;
        KvCacheSpec spec = spec(bs, layers, kvHeads, headDim, CudaDtype.FLOAT16);
        try (CudaKvCache cache = new CudaKvCache(device, spec, blocks, 0)) {
            PagedKvCache cpu = new PagedKvCache(layers, blocks, bs, kvHeads, headDim);
            for (int l = 0; l < layers; l++) {
                float[] kk = roundF16(randoms((int) cache.layerStride(), 1f));
                float[] vv = roundF16(randoms((int) cache.layerStride(), 1f));
                cache.uploadLayer(l, kk, vv);
                cpu.writeLayer(l, kk, vv);
            }
            int[][] pairs = {{1, 7}, {4, 2}, {9, 0}};
            cache.copyBlocks(pairs);
            for (int[] p : pairs) cpu.copyBlock(p[0], p[1]);
            float[] g = new float[0], c = new float[0];
            for (int l = 0; l < layers; l++) {
                g = concat(g, concat(cache.keysAsFloats(l), cache.valuesAsFloats(l)));
                c = concat(c, concat(cpu.keysAsFloats(l), cpu.valuesAsFloats(l)));
            }
            return compare("copy_blocks", g, c, 0);
        }
    }

    private Result swap() {
        int layers = 2, blocks = 6, bs = 16, kvHeads = 1, headDim = 32, swapBlocks = 4;
        KvCacheSpec spec = spec(bs, layers, kvHeads, headDim, CudaDtype.FLOAT16);
        try (CudaKvCache cache = new CudaKvCache(device, spec, blocks, swapBlocks)) {
            float[][] kk = new float[layers][], vv = new float[layers][];
            for (int l = 0; l < layers; l++) {
                kk[l] = roundF16(randoms((int) cache.layerStride(), 1f));
                vv[l] = roundF16(randoms((int) cache.layerStride(), 1f));
                cache.uploadLayer(l, kk[l], vv[l]);
            }
            // Out: device 5 -> host 1, device 2 -> host 3; back in: host 1 -> device 0, host 3 -> device 4.
            cache.swapOut(new int[] {5, 2}, new int[] {1, 3});
            cache.swapIn(new int[] {1, 3}, new int[] {0, 4});
            int bh = cache.blockHalves();
            float[] g = new float[0], c = new float[0];
            for (int l = 0; l < layers; l++) {
                float[] ek = kk[l].clone(), ev = vv[l].clone();
                System.arraycopy(kk[l], 5 * bh, ek, 0, bh);
                System.arraycopy(kk[l], 2 * bh, ek, 4 * bh, bh);
                System.arraycopy(vv[l], 5 * bh, ev, 0, bh);
                System.arraycopy(vv[l], 2 * bh, ev, 4 * bh, bh);
                g = concat(g, concat(cache.keysAsFloats(l), cache.valuesAsFloats(l)));
                c = concat(c, concat(ek, ev));
                g = concat(g, cache.swapKeysAsFloats(l, 1));
                c = concat(c, Arrays.copyOfRange(kk[l], 5 * bh, 6 * bh));
            }
            return compare("swap out/in (pinned host)", g, c, 0);
        }
    }

    /**
     * Decode (v1 and split-K v2) and prefill attention against the CPU's PagedAttention, on a
     * cache of random K/V rounded to the checked type with scattered block tables and GQA.
     */
    private List<Result> attention(int headDim, int heads, int kvHeads) {
        int bs = 16, blocks = 300;
        int[] ctx = {37, 130, 2049};  // the last spans 5 partitions of 512
        int seqs = ctx.length;
        int layers = 1;
        List<Result> results = new ArrayList<>();
        String shape = " (headDim " + headDim + ", heads " + heads + "/" + kvHeads + ")" + tag;
        try (CudaKvCache cache = new CudaKvCache(device, spec(bs, layers, kvHeads, headDim, dtype), blocks, 0)) {
            PagedKvCache cpu = new PagedKvCache(layers, blocks, bs, kvHeads, headDim);
            float[] kk = roundHalf(randoms((int) cache.layerStride(), 1f));
            float[] vv = roundHalf(randoms((int) cache.layerStride(), 1f));
            cache.uploadLayer(0, kk, vv);
            cpu.writeLayer(0, kk, vv);
            List<Integer> perm = new ArrayList<>();
            for (int b = 0; b < blocks; b++) perm.add(b);
            Collections.shuffle(perm, new Random(random.nextLong()));
            int[][] tables = new int[seqs][];
            int next = 0, maxBlocks = 0;
            for (int s = 0; s < seqs; s++) {
                tables[s] = new int[(ctx[s] + bs - 1) / bs];
                for (int i = 0; i < tables[s].length; i++) tables[s][i] = perm.get(next++);
                maxBlocks = Math.max(maxBlocks, tables[s].length);
            }
            int[] flatTables = new int[seqs * maxBlocks];
            for (int s = 0; s < seqs; s++) System.arraycopy(tables[s], 0, flatTables, s * maxBlocks, tables[s].length);
            DeviceBuffer dTables = i32(flatTables);
            float scale = (float) (1 / Math.sqrt(headDim));
            int qDim = heads * headDim;

            // Decode: the last position of each sequence.
            int[] pos = new int[seqs], tokSeq = new int[seqs], idx = new int[seqs];
            for (int s = 0; s < seqs; s++) {
                pos[s] = ctx[s] - 1;
                tokSeq[s] = s;
                idx[s] = s;
            }
            float[] q = randoms(seqs * qDim, 1f);
            float[] expected = new float[seqs * qDim];
            PagedAttention.attend(q, expected, seqs, pos, tokSeq, tables, cpu, 0, heads, scale);
            // Queries as the fused QKV output holds them: the first qDim columns of rows of qkvDim.
            int qStride = qDim + 2 * kvHeads * headDim;
            DeviceBuffer dq = f32(strided(q, qDim, qStride)), dPos = i32(pos), dSeq = i32(tokSeq), dIdx = i32(idx);
            int maxCtx = 2049;
            DeviceBuffer out1 = nanHalf((long) seqs * qDim);
            k.attentionDecode(out1.ptr(), dq.ptr(), qStride, cache.keys(0), cache.values(0), dIdx.ptr(), dSeq.ptr(),
                    dPos.ptr(), dTables.ptr(),
                    maxBlocks, seqs, heads, kvHeads, headDim, bs, scale, maxCtx, 1, 0, 0, 0);
            results.add(compare("paged_attention_decode v1" + shape, readHalf(out1, seqs * qDim), expected, tolerance));
            int parts = CudaKernels.partitionsFor(maxCtx, CudaKernels.PARTITION_SIZE);
            DeviceBuffer tmp = nanF32((long) seqs * heads * parts * headDim);
            DeviceBuffer ml = nanF32((long) seqs * heads * parts), es = nanF32((long) seqs * heads * parts);
            DeviceBuffer out2 = nanHalf((long) seqs * qDim);
            k.attentionDecode(out2.ptr(), dq.ptr(), qStride, cache.keys(0), cache.values(0), dIdx.ptr(), dSeq.ptr(),
                    dPos.ptr(), dTables.ptr(), maxBlocks, seqs, heads, kvHeads, headDim, bs, scale,
                    CudaKernels.PARTITION_SIZE, parts, tmp.ptr(), ml.ptr(), es.ptr());
            results.add(compare("paged_attention_decode v2 split-K + reduce" + shape, readHalf(out2, seqs * qDim),
                    expected, tolerance));

            // Prefill chunks: sequence 0 all 37 positions, sequence 1 its last 40 (90..129) over a
            // cached prefix, sequence 2 a chunk of 19 in the middle (1000..1018).
            int[][] chunk = {{0, 37}, {90, 40}, {1000, 19}};
            int n = 0;
            for (int[] c : chunk) n += c[1];
            int[] ppos = new int[n], pseq = new int[n];
            List<int[]> tiles = new ArrayList<>();
            int t = 0;
            for (int s = 0; s < seqs; s++) {
                int start = t;
                for (int i = 0; i < chunk[s][1]; i++, t++) {
                    ppos[t] = chunk[s][0] + i;
                    pseq[t] = s;
                }
                for (int t0 = start; t0 < t; t0 += CudaKernels.PREFILL_TILE) {
                    tiles.add(new int[] {t0, Math.min(CudaKernels.PREFILL_TILE, t - t0)});
                }
            }
            int[] tileStart = tiles.stream().mapToInt(a -> a[0]).toArray();
            int[] tileLen = tiles.stream().mapToInt(a -> a[1]).toArray();
            float[] pq = randoms(n * qDim, 1f);
            float[] pexp = new float[n * qDim];
            PagedAttention.attend(pq, pexp, n, ppos, pseq, tables, cpu, 0, heads, scale);
            DeviceBuffer pout = nanHalf((long) n * qDim);
            k.attentionPrefill(pout.ptr(), f32(strided(pq, qDim, qStride)).ptr(), qStride, cache.keys(0),
                    cache.values(0), i32(tileStart).ptr(), i32(tileLen).ptr(), tiles.size(), i32(pseq).ptr(),
                    i32(ppos).ptr(), dTables.ptr(), maxBlocks, heads, kvHeads, headDim, bs, scale);
            results.add(compare("paged_attention_prefill (causal)" + shape, readHalf(pout, n * qDim), pexp, tolerance));
        }
        return results;
    }
}
