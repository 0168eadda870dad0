package io.quire.backend.cuda;

import io.quire.backend.TensorType;

/**
 * Typed launches of Quire's kernels ({@code cuda/*.cu}) for one 16-bit type ({@link #dtype()}):
 * the methods that store or read "16-bit" values (KV cache, matrix-product inputs, weights)
 * launch that type's variant ({@code rms_norm_f16} or {@code rms_norm_bf16}). Arguments are
 * device buffers or device addresses; 16-bit buffers hold raw binary16 or bfloat16 values. Shapes are the caller's
 * contract (the model runner checks its inputs before they reach here), but sizes that would make a kernel read or
 * write past a buffer are rejected where the buffer is at hand.
 */
public final class CudaKernels {
    /** Threads of the attention blocks (four warps). */
    public static final int ATTENTION_THREADS = 128;
    /** Positions per partition of split-K decode attention (vLLM's PARTITION_SIZE). */
    public static final int PARTITION_SIZE = 512;
    /** Query tokens per prefill tile and key positions per chunk, as attention.cu fixes them. */
    public static final int PREFILL_TILE = 16;
    private static final int PREFILL_CHUNK = 32;
    public static final int MAX_HEAD_DIM = 256;

    private final CudaDevice device;
    private final CudaDtype dtype;
    private final Kernel reshapeAndCache, copyBlocks, rmsNorm, rope, siluMul, add, addBias, embedding;
    private final Kernel f32ToF16, f16ToF32, f32ToBf16, bf16ToF32, bf16ToF16, f16ToBf16;
    private final java.util.Map<TensorType, Kernel> dequant = new java.util.EnumMap<>(TensorType.class);
    private final Kernel attentionDecode, attentionReduce, attentionPrefill;

    CudaKernels(CudaDevice device, CudaDtype dtype) {
        this.device = device;
        this.dtype = dtype;
        String t = "_" + dtype.kernelSuffix();
        KernelModule cache = device.module("cache");
        KernelModule norm = device.module("norm");
        KernelModule ropeM = device.module("rope");
        KernelModule ew = device.module("elementwise");
        KernelModule quant = device.module("quant");
        KernelModule attn = device.module("attention");
        reshapeAndCache = cache.kernel("reshape_and_cache" + t);
        copyBlocks = cache.kernel("copy_blocks");
        rmsNorm = norm.kernel("rms_norm" + t);
        rope = ropeM.kernel("rope");
        siluMul = ew.kernel("silu_mul" + t);
        add = ew.kernel("add");
        addBias = ew.kernel("add_bias");
        embedding = ew.kernel("embedding" + t);
        f32ToF16 = ew.kernel("f32_to_f16");
        f16ToF32 = ew.kernel("f16_to_f32");
        f32ToBf16 = ew.kernel("f32_to_bf16");
        bf16ToF32 = ew.kernel("bf16_to_f32");
        bf16ToF16 = ew.kernel("bf16_to_f16");
        f16ToBf16 = ew.kernel("f16_to_bf16");
        for (TensorType type : DEQUANTIZED) {
            dequant.put(type, quant.kernel("dequant_" + type.name().toLowerCase(java.util.Locale.ROOT) + t));
        }
        attentionDecode = attn.kernel("paged_attention_decode" + t);
        attentionReduce = attn.kernel("paged_attention_reduce" + t);
        attentionPrefill = attn.kernel("paged_attention_prefill" + t);
    }

    /** The 16-bit type these launches store and read. */
    public CudaDtype dtype() { return dtype; }

    /** Blocks for a grid-stride loop over n elements: enough to fill the GPU, no more. */
    private int gridFor(long n, int threads) {
        long blocks = (n + threads - 1) / threads;
        return (int) Math.max(1, Math.min(blocks, (long) device.multiprocessors() * 16));
    }

    private static int threadsFor(int n) {
        return Math.min(256, Math.max(32, (n + 31) / 32 * 32));
    }

    /**
     * K/V (FP32, kvDim values per token, token t's at {@code k + 4 * t * stride}) of each token
     * into 16-bit cache slot {@code slots[t]}; negative slots skipped.
     */
    public void reshapeAndCache(long keyCache, long valueCache, long k, long v, long slots, int tokens, int kvDim,
            int stride) {
        reshapeAndCache.launch(tokens, 1, 1, threadsFor(kvDim), 0, keyCache, valueCache, k, v, slots, kvDim, stride);
    }

    /** Copies block pairs (mapping = [src0, dst0, src1, dst1, ...]) in every layer. */
    public void copyBlocks(long keyCache, long valueCache, long mapping, int pairs, int layers, long layerStrideHalves,
            int blockHalves) {
        if (blockHalves % 2 != 0) throw new IllegalArgumentException("a KV block must hold an even number of values, "
                + "got " + blockHalves);
        copyBlocks.launch(pairs, layers, 1, 256, 0, keyCache, valueCache, mapping, layerStrideHalves, blockHalves);
    }

    /** 16-bit {@code out[r] = rmsnorm(x[rowIdx ? rowIdx[r] : r]) * w} over rows of n values. */
    public void rmsNorm(long out, long x, long weight, long rowIdx, int rows, int n, float eps) {
        rmsNorm.launch(rows, 1, 1, 256, 0, out, x, weight, rowIdx == 0 ? null : rowIdx, n, eps);
    }

    /**
     * RoPE in place on FP32 heads of {@code headDim}: token t's {@code heads} heads start at
     * {@code x + 4 * t * stride}; tables {@code [position][headDim / 2]}.
     */
    public void rope(long x, long positions, long cos, long sin, int tokens, int heads, int headDim, int stride,
            boolean neox) {
        long total = (long) tokens * heads * (headDim / 2);
        int blocks = (int) ((total + 255) / 256);
        rope.launch(blocks, 1, 1, 256, 0, x, positions, cos, sin, tokens, heads, headDim, stride, neox ? 1 : 0);
    }

    /** 16-bit {@code out[r][i] = silu(gu[r][i]) * gu[r][cols + i]} over FP32 {@code gu = [rows][2 * cols]}. */
    public void siluMul(long out, long gu, int rows, int cols) {
        siluMul.launch((cols + 255) / 256, Math.min(rows, 65535), 1, 256, 0, out, gu, rows, cols);
    }

    /** {@code acc += x} over n FP32 values. */
    public void add(long acc, long x, long n) {
        add.launch(gridFor(n, 256), 1, 1, 256, 0, acc, x, n);
    }

    /** {@code x[r] += bias} for FP32 {@code [rows][cols]}. */
    public void addBias(long x, long bias, int rows, int cols) {
        addBias.launch(gridFor((long) rows * cols, 256), 1, 1, 256, 0, x, bias, rows, cols);
    }

    /** FP32 {@code out[t] = table[tokens[t]]} from a 16-bit {@code [vocab][dim]} table. */
    public void embedding(long out, long table, long tokens, int count, int dim) {
        embedding.launch(count, 1, 1, threadsFor(dim), 0, out, table, tokens, dim);
    }

    public void f32ToF16(long out, long in, long n) { f32ToF16.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n); }
    public void f16ToF32(long out, long in, long n) { f16ToF32.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n); }
    public void f32ToBf16(long out, long in, long n) { f32ToBf16.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n); }
    public void bf16ToF32(long out, long in, long n) { bf16ToF32.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n); }
    public void bf16ToF16(long out, long in, long n) { bf16ToF16.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n); }
    public void f16ToBf16(long out, long in, long n) { f16ToBf16.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n); }

    /** The quantized types quant.cu dequantizes (kernel {@code dequant_<type>}). */
    public static final java.util.Set<TensorType> DEQUANTIZED = java.util.Collections.unmodifiableSet(
            java.util.EnumSet.of(TensorType.Q8_0, TensorType.Q4_0, TensorType.Q4_1, TensorType.Q5_0, TensorType.Q5_1,
                    TensorType.Q2_K, TensorType.Q3_K, TensorType.Q4_K, TensorType.Q5_K, TensorType.Q6_K,
                    TensorType.IQ4_NL, TensorType.IQ4_XS));

    /** n values (whole blocks) of {@code type}, one of {@link #DEQUANTIZED}, to the 16-bit type. */
    public void dequant(TensorType type, long out, long in, long n) {
        Kernel kernel = dequant.get(type);
        if (kernel == null) throw new IllegalArgumentException("no CUDA dequantization kernel for " + type);
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(n + " values are not whole " + type + " blocks of " + type.blockSize());
        }
        kernel.launch(gridFor(n, 256), 1, 1, 256, 0, out, in, n);
    }

    /** Partitions a decode context of {@code maxContext} positions is split into. */
    public static int partitionsFor(int maxContext, int partitionSize) {
        return (maxContext + partitionSize - 1) / partitionSize;
    }

    /**
     * Decode attention for {@code count} query tokens (indices {@code tokIdx} into q/out; token t's
     * query heads at {@code q + 4 * t * qStride}), each
     * attending to positions {@code 0..positions[t]} of its sequence. {@code partitions == 1} is
     * the single-pass kernel (vLLM v1) with a partition as long as the longest context;
     * otherwise split-K over partitions of {@code partitionSize} positions and a reduce (v2), with
     * scratch {@code tmpOut} ({@code count*heads*partitions*headDim} floats), {@code maxLogits} and
     * {@code expSums} ({@code count*heads*partitions} floats each).
     */
    public void attentionDecode(long out, long q, int qStride, long keyCache, long valueCache, long tokIdx, long tokSeq,
            long positions,
                                long blockTables, int maxBlocksPerSeq, int count, int heads, int kvHeads, int headDim,
                                int blockSize, float scale, int partitionSize, int partitions,
                                long tmpOut, long maxLogits, long expSums) {
        checkHeads(heads, kvHeads, headDim);
        int smem = 4 * (headDim + partitionSize + Math.max(8 * ATTENTION_THREADS, headDim));
        attentionDecode.launch(heads, count, partitions, ATTENTION_THREADS, smem,
                out, tmpOut, maxLogits, expSums, q, qStride, keyCache, valueCache, tokIdx, tokSeq, positions,
                blockTables, maxBlocksPerSeq, heads, kvHeads, headDim, blockSize, scale, partitionSize);
        if (partitions > 1) {
            attentionReduce.launch(heads, count, 1, ATTENTION_THREADS, 4 * partitions,
                    out, tmpOut, maxLogits, expSums, tokIdx, positions, heads, headDim, partitionSize, partitions);
        }
    }

    /**
     * Prefill attention over {@code tiles} tiles of up to {@link #PREFILL_TILE} query tokens of one
     * sequence each ({@code tileStart}, {@code tileLen}), causal through the block tables; token
     * t's query heads at {@code q + 4 * t * qStride}.
     */
    public void attentionPrefill(long out, long q, int qStride, long keyCache, long valueCache, long tileStart,
            long tileLen, int tiles,
                                 long tokSeq, long positions, long blockTables, int maxBlocksPerSeq,
                                 int heads, int kvHeads, int headDim, int blockSize, float scale) {
        checkHeads(heads, kvHeads, headDim);
        int sd = headDim + 1;
        int smem = 4 * ((PREFILL_TILE + 2 * PREFILL_CHUNK) * sd + PREFILL_TILE * PREFILL_CHUNK);
        attentionPrefill.launch(heads, tiles, 1, ATTENTION_THREADS, smem,
                out, q, qStride, keyCache, valueCache, tileStart, tileLen, tokSeq, positions, blockTables,
                maxBlocksPerSeq,
                heads, kvHeads, headDim, blockSize, scale);
    }

    private static void checkHeads(int heads, int kvHeads, int headDim) {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " must be a positive multiple of kvHeads " + kvHeads);
        }
        if (headDim <= 0 || headDim % 2 != 0 || headDim > MAX_HEAD_DIM) {
            throw new IllegalArgumentException("the CUDA attention kernels need an even head dimension up to "
                    + MAX_HEAD_DIM + ", got " + headDim);
        }
    }
}
