package io.quire.model;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cuda.Cublas;
import io.quire.backend.cuda.CudaDevice;
import io.quire.backend.cuda.CudaDtype;
import io.quire.backend.cuda.CudaKernels;
import io.quire.backend.cuda.CudaKvCache;
import io.quire.backend.cuda.DeviceBuffer;
import io.quire.model.gguf.GgufFile;
import io.quire.model.tokenizer.Tokenizer;
import io.quire.model.tokenizer.Tokenizers;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Llama-family decoder ({@link LlamaModel}'s forward pass) on a CUDA GPU, in one 16-bit type
 * ({@link CudaDtype}, FP16 or BF16): weights are uploaded once in it (quantized, F32 and the other
 * 16-bit type converted on the device), activations stay FP32 between kernels and are 16-bit only
 * as matrix-product inputs, and the KV cache holds it ({@link CudaKvCache}). Matrix products go
 * through cuBLAS with FP32 accumulation; as vLLM's QKVParallelLinear and MergedColumnParallelLinear
 * do, Q, K and V are one product (their weights stacked at upload) and so are gate and up, and
 * the kernels after them read their columns in place; the residual projections accumulate
 * straight into the residual stream (beta = 1).
 *
 * <p>Over 400 lines on purpose: the forward pass reads top to bottom as {@link LlamaModel}'s does,
 * and the upload, the fused weights and the step's device buffers exist only for it; split into
 * files, one pass would be scattered over them.
 */
public final class CudaLlamaModel implements LanguageModel<CudaKvCache> {
    private final String name;
    private final GenerationDefaults generationDefaults;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final CudaDevice device;
    private final CudaDtype dtype;
    private final CudaKernels kernels;
    private final Cublas cublas;
    private final float attnScale;
    private final List<DeviceBuffer> owned = new ArrayList<>();

    private final DeviceBuffer embedding, output, outputNorm, ropeCos, ropeSin;
    private final LayerWeights[] layers;

    /**
     * wQkv: Q, K and V weights stacked ({@code [qDim + 2 kvDim][dim]}); wGateUp: gate over up ({@code [2 ffn][dim]}).
     */
    private record LayerWeights(DeviceBuffer attnNorm, DeviceBuffer wQkv, DeviceBuffer bQkv, DeviceBuffer wo,
                                DeviceBuffer ffnNorm, DeviceBuffer wGateUp, DeviceBuffer wDown) {}

    // Grow-only activations: forward() runs on one thread at a time.
    private int capTokens, capSeqs, capInts;
    private long capScratch;
    private DeviceBuffer x, xb, qkv, attn, gateUp, hidden, last, logits, ints, scratch;
    /** Most rows of prompt logprobs' logits projected at once (within the 256 rows activationBytes allows). */
    private static final int EVERY_ROWS = 64;

    CudaLlamaModel(String name, ModelConfig config, LlamaWeights w, Tokenizer tokenizer, CudaDevice device,
            CudaDtype dtype) {
        this(name, config, w, tokenizer, device, dtype, GenerationDefaults.NONE);
    }

    CudaLlamaModel(String name, ModelConfig config, LlamaWeights w, Tokenizer tokenizer, CudaDevice device,
            CudaDtype dtype, GenerationDefaults generationDefaults) {
        this.generationDefaults = generationDefaults;
        this.name = name;
        this.config = config;
        this.tokenizer = tokenizer;
        this.device = device;
        this.dtype = dtype;
        this.kernels = device.kernels(dtype);
        this.cublas = device.cublas();
        this.attnScale = (float) (1.0 / Math.sqrt(config.headDim()));
        if (config.headDim() > CudaKernels.MAX_HEAD_DIM || config.headDim() % 2 != 0) {
            throw new ModelLoadException("the CUDA backend supports even head dimensions up to "
                    + CudaKernels.MAX_HEAD_DIM + ", the model has " + config.headDim());
        }
        try {
            try {
                this.embedding = upload16(w.tokenEmbedding());
                this.output = w.output() == w.tokenEmbedding() ? embedding : upload16(w.output());
                this.outputNorm = keep(device.upload(w.outputNorm()));
                this.layers = new LayerWeights[config.numLayers()];
                for (int i = 0; i < layers.length; i++) {
                    LlamaWeights.Layer l = w.layers()[i];
                    layers[i] = new LayerWeights(keep(device.upload(l.attnNorm())), upload16(l.wq(), l.wk(), l.wv()),
                            l.bq() == null ? null : keep(device.upload(concat(l.bq(), l.bk(), l.bv()))),
                            upload16(l.wo()), keep(device.upload(l.ffnNorm())), upload16(l.wGate(), l.wUp()),
                            upload16(l.wDown()));
                }
                float[][] tables = ropeTables(config, w.ropeFactors() == null ? null : w.ropeFactors().factors());
                this.ropeCos = keep(device.upload(tables[0]));
                this.ropeSin = keep(device.upload(tables[1]));
                device.synchronize();
            } finally {
                if (uploadScratch != null) {
                    uploadScratch.close();
                    uploadScratch = null;
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** As {@link #load(Path, String, CudaDevice, String)} with {@code dtype} auto. */
    public static CudaLlamaModel load(Path path, String name, CudaDevice device) throws IOException {
        return load(path, name, device, "auto");
    }

    /** The GPU path runs plain llama and qwen2; the newer architectures run on the CPU only, for now. */
    static void refuseUnsupported(ModelConfig c) {
        String why = refusal(c);
        if (why != null) throw new ModelLoadException(why + "; run it on the CPU with quire.device=cpu");
    }

    /** Why the GPU cannot run a model of config {@code c}, in one line; null when it can. */
    public static String refusal(ModelConfig c) {
        ArchitectureFeatures a = c.features();
        boolean plain = (c.architecture().equals("llama") || c.architecture().equals("qwen2"))
                && a.slidingWindow() == 0 && !a.isMoe();
        if (plain) return null;
        String what = a.isMoe() ? " with experts" : a.slidingWindow() > 0 ? " with a sliding window" : "";
        return "the CUDA backend cannot run architecture '" + c.architecture() + "'" + what
                + " (supported on the GPU: llama and qwen2 without sliding windows or experts)";
    }

    /**
     * Loads a GGUF model onto {@code device} in {@code dtype} ({@link CudaDtype#parse}: auto,
     * float16 or bfloat16): reads it as {@link ModelLoader} does, uploads the weights, and closes
     * the file (nothing of it is needed afterwards).
     */
    public static CudaLlamaModel load(Path path, String name, CudaDevice device, String dtype) throws IOException {
        try (GgufFile file = GgufFile.open(path)) {
            ModelConfig config = ModelLoader.readConfig(file);
            refuseUnsupported(config);
            Tokenizer tokenizer = Tokenizers.fromGguf(file.metadata());
            LlamaWeights weights = LlamaWeights.from(file, config);
            // auto follows the bulk of the weights: the first layer's query projection.
            CudaDtype type = CudaDtype.parse(dtype, weights.layers()[0].wq().type());
            return new CudaLlamaModel(name, config, weights, tokenizer, device, type);
        }
    }

    /** The RoPE cos/sin tables exactly as the CPU's {@code Rope} computes them. */
    static float[][] ropeTables(ModelConfig c, float[] freqFactors) {
        int half = c.headDim() / 2;
        long size = (long) c.contextLength() * half;
        if (size > Integer.MAX_VALUE - 8) {
            throw new ModelLoadException("RoPE table too large: " + c.contextLength() + " positions");
        }
        float[] cos = new float[(int) size];
        float[] sin = new float[(int) size];
        double[] freq = new double[half];
        for (int i = 0; i < half; i++) {
            freq[i] = Math.pow(c.ropeTheta(), -2.0 * i / c.headDim());
            if (freqFactors != null) freq[i] /= freqFactors[i];
        }
        for (int p = 0; p < c.contextLength(); p++) {
            double pos = p / (double) c.ropeScaleLinear();
            for (int i = 0; i < half; i++) {
                double a = pos * freq[i];
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        }
        return new float[][] {cos, sin};
    }

    private DeviceBuffer uploadScratch;

    private DeviceBuffer keep(DeviceBuffer b) {
        owned.add(b);
        return b;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] all = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, o, p.length);
            o += p.length;
        }
        return all;
    }

    /**
     * Weights in the model's 16-bit type on the device, stacked in one buffer in order (row-major
     * {@code [rows][cols]} each, same cols: their rows follow one another), so one matrix product
     * computes them all.
     */
    private DeviceBuffer upload16(Tensor... parts) {
        long total = 0;
        for (Tensor t : parts) total += t.elements();
        DeviceBuffer out = keep(device.alloc(2 * total));
        long offset = 0;
        for (Tensor t : parts) {
            upload16(t, out, offset);
            offset += 2 * t.elements();
        }
        return out;
    }

    /**
     * A weight in the model's 16-bit type at byte {@code offset} of {@code out}, converted on the device from its
     * stored type.
     */
    private void upload16(Tensor t, DeviceBuffer out, long offset) {
        long n = t.elements();
        long stored = t.type().bytesFor(n);
        MemorySegment data = t.data().asSlice(0, stored);
        boolean bf16 = dtype == CudaDtype.BFLOAT16;
        switch (t.type()) {
            case F32, F16, BF16 -> {}
            default -> {
                if (!CudaKernels.DEQUANTIZED.contains(t.type())) {
                    throw new ModelLoadException("tensor " + t.name() + " has type " + t.type()
                            + ", which the CUDA backend cannot upload (supported: F32, F16, BF16, "
                            + CudaKernels.DEQUANTIZED.stream().map(Enum::name).collect(
                                    java.util.stream.Collectors.joining(", ")) + ")");
                }
            }
        }
        if ((t.type() == TensorType.F16 && !bf16) || (t.type() == TensorType.BF16 && bf16)) {
            device.upload(data, out, offset);  // already the model's type
            return;
        }
        if (uploadScratch == null || uploadScratch.bytes() < stored) {
            if (uploadScratch != null) {
                device.synchronize();
                uploadScratch.close();
            }
            uploadScratch = device.alloc(stored);
        }
        // The synchronous upload waits for the previous conversion that read the scratch.
        device.upload(data, uploadScratch, 0);
        long o = out.ptr(offset), in = uploadScratch.ptr();
        switch (t.type()) {
            case F32 -> {
                if (bf16) kernels.f32ToBf16(o, in, n);
                else kernels.f32ToF16(o, in, n);
            }
            case BF16 -> kernels.bf16ToF16(o, in, n);
            case F16 -> kernels.f16ToBf16(o, in, n);
            default -> kernels.dequant(t.type(), o, in, n);
        }
    }

    @Override public ModelConfig config() { return config; }
    @Override public Tokenizer tokenizer() { return tokenizer; }
    @Override public String name() { return name; }
    @Override public GenerationDefaults generationDefaults() { return generationDefaults; }
    public CudaDevice device() { return device; }
    public CudaDtype dtype() { return dtype; }

    @Override public String deviceDescription() { return "the GPU in " + dtype.id(); }

    /** The cache holds the model's 16-bit type. */
    @Override
    public KvCacheSpec kvCacheSpec(int blockSize) {
        return config.kvCacheSpec(blockSize, dtype.tensorType());
    }

    /**
     * The blocks that fit in the budget's share of the free device memory (call it after the weights
     * are uploaded), leaving room for a step of its {@code maxBatchedTokens}; with no share given, its bytes.
     */
    @Override
    public int kvCacheBlocks(int blockSize, KvCacheBudget budget) {
        KvCacheSpec spec = kvCacheSpec(blockSize);
        if (budget.fixedBytes()) return budget.blocksInBytes(spec);
        return CudaKvCache.blocksFor(device, budget.gpuMemoryUtilization(), activationBytes(budget.maxBatchedTokens()),
                spec);
    }

    /** Bytes only when no share of the device's memory is given. */
    @Override
    public boolean kvCacheTakesBytes(KvCacheBudget budget) {
        return budget.fixedBytes();
    }

    /** Device memory a step of {@code maxTokens} takes outside the KV cache: activations (FP32 bound) and logits. */
    private long activationBytes(int maxTokens) {
        ModelConfig c = config;
        return (long) maxTokens * (4L * (3 * c.dim() + 2 * c.qDim() + 2 * c.kvDim() + 3 * c.ffnDim()))
                + 4L * 256 * c.vocabSize();
    }

    /** Swap space, if any, is pinned host memory (vLLM's swap_blocks between it and the device). */
    @Override
    public CudaKvCache newKvCache(int numBlocks, int blockSize, int numSwapBlocks) {
        return new CudaKvCache(device, kvCacheSpec(blockSize), numBlocks, numSwapBlocks);
    }

    @Override
    public float[][] forward(ForwardBatch batch, CudaKvCache cache) {
        return forward(batch, cache, null);
    }

    @Override
    public boolean computesEveryTokenLogits() { return true; }

    @Override
    public float[][] forward(ForwardBatch batch, CudaKvCache cache, TokenLogits sink) {
        return forward(batch, cache, sink, null);
    }

    @Override
    public boolean computesHiddenStates() { return true; }

    @Override
    public float[][] forward(ForwardBatch batch, CudaKvCache cache, TokenLogits sink, HiddenStates states) {
        if (batch.everyTokenLogits() != null && sink == null) {
            throw new IllegalArgumentException("every token's logits asked for with nowhere to put them");
        }
        if (cache.device() != device) {
            // Two GPUs: the type says CUDA, not which device's memory the cache lives in.
            throw new IllegalArgumentException("the KV cache lives on another device than the model");
        }
        ModelConfig c = config;
        if (cache.dtype() != dtype) {
            // The kernels would read one 16-bit format as the other: garbage, not an error.
            throw new IllegalArgumentException("the KV cache holds " + cache.dtype().id() + ", the model runs in "
                    + dtype.id());
        }
        if (!cache.spec().equals(kvCacheSpec(cache.blockSize()))) {
            throw new IllegalArgumentException("KV cache shape (" + cache.numLayers() + " layers, " + cache.numKvHeads()
                    + " KV heads of " + cache.headDim() + ") does not fit the model");
        }
        int n = batch.numTokens();
        int seqs = batch.numSeqs();
        if (n == 0) return new float[0][];
        Step step = Step.plan(batch, c, cache);
        ensureCapacity(n, Math.max(seqs, Math.min(step.everyCount, EVERY_ROWS)), step.ints.length,
                step.scratchFloats(c));
        device.upload(MemorySegment.ofArray(step.ints), ints, 0);
        long ip = ints.ptr();
        long tokens = ip + 4L * step.tokensAt, positions = ip + 4L * step.positionsAt, slots = ip + 4L * step.slotsAt;
        long tokSeq = ip + 4L * step.tokSeqAt, decodeIdx = ip + 4L * step.decodeAt,
                tileStart = ip + 4L * step.tileStartAt;
        long tileLen = ip + 4L * step.tileLenAt, lastIdx = ip + 4L * step.lastAt, tables = ip + 4L * step.tablesAt;

        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), ffn = c.ffnDim(), qkvDim = qDim + 2 * kvDim;
        // Token t's query heads, then key heads, then value heads: one row of the fused QKV output.
        long q = qkv.ptr(), k = qkv.ptr(4L * qDim), v = qkv.ptr(4L * (qDim + kvDim));
        kernels.embedding(x.ptr(), embedding.ptr(), tokens, n, dim);
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights w = layers[l];
            kernels.rmsNorm(xb.ptr(), x.ptr(), w.attnNorm.ptr(), 0, n, dim, c.rmsNormEps());
            matmul(w.wQkv.ptr(), qkvDim, dim, xb.ptr(), n, q, false);
            if (w.bQkv != null) kernels.addBias(q, w.bQkv.ptr(), n, qkvDim);
            // The query and key heads are adjacent: one launch rotates both.
            kernels.rope(q, positions, ropeCos.ptr(), ropeSin.ptr(), n, c.numHeads() + c.numKvHeads(), c.headDim(),
                    qkvDim, c.ropeNeox());
            kernels.reshapeAndCache(cache.keys(l), cache.values(l), k, v, slots, n, kvDim, qkvDim);
            attention(step, cache, l, q, qkvDim, decodeIdx, tokSeq, positions, tables, tileStart, tileLen);
            matmul(w.wo.ptr(), dim, qDim, attn.ptr(), n, x.ptr(), true);

            kernels.rmsNorm(xb.ptr(), x.ptr(), w.ffnNorm.ptr(), 0, n, dim, c.rmsNormEps());
            matmul(w.wGateUp.ptr(), 2 * ffn, dim, xb.ptr(), n, gateUp.ptr(), false);
            kernels.siluMul(hidden.ptr(), gateUp.ptr(), n, ffn);
            matmul(w.wDown.ptr(), dim, ffn, hidden.ptr(), n, x.ptr(), true);
        }
        // Only each sequence's last token needs logits: norm (gathering those rows) and project them.
        kernels.rmsNorm(last.ptr(), x.ptr(), outputNorm.ptr(), lastIdx, seqs, dim, c.rmsNormEps());
        if (states != null) {
            // the normed rows are in the model's 16-bit type, as the output product reads them
            short[] half = new short[seqs * dim];
            device.download(last, 0, MemorySegment.ofArray(half));
            float[] rows = new float[seqs * dim];
            for (int i = 0; i < rows.length; i++) rows[i] = dtype.toFloat(half[i]);
            for (int s = 0; s < seqs; s++) states.accept(s, rows, s * dim);
        }
        matmul(output.ptr(), c.vocabSize(), dim, last.ptr(), seqs, logits.ptr(), false);
        float[] flat = new float[seqs * c.vocabSize()];
        device.download(logits, 0, MemorySegment.ofArray(flat));
        float[][] result = new float[seqs][];
        for (int s = 0; s < seqs; s++) result[s] = Arrays.copyOfRange(flat, s * c.vocabSize(), (s + 1) * c.vocabSize());
        if (step.everyCount > 0) everyTokenLogits(step, ip, sink);
        return result;
    }

    /**
     * The rows prompt logprobs ask for (every new token but the last of the sequences that want them),
     * gathered, normed and projected as the last rows are, as many at a time as the logits buffer holds.
     */
    private void everyTokenLogits(Step step, long ip, TokenLogits sink) {
        ModelConfig c = config;
        int vocab = c.vocabSize();
        float[] row = new float[vocab];
        for (int r0 = 0; r0 < step.everyCount; r0 += capSeqs) {
            int rows = Math.min(capSeqs, step.everyCount - r0);
            kernels.rmsNorm(last.ptr(), x.ptr(), outputNorm.ptr(), ip + 4L * (step.everyAt + r0), rows, c.dim(),
                    c.rmsNormEps());
            matmul(output.ptr(), vocab, c.dim(), last.ptr(), rows, logits.ptr(), false);
            float[] flat = new float[rows * vocab];
            device.download(logits, 0, MemorySegment.ofArray(flat));
            for (int r = 0; r < rows; r++) {
                System.arraycopy(flat, r * vocab, row, 0, vocab);
                sink.accept(step.everySeq[r0 + r], step.ints[step.everyAt + r0 + r], row);
            }
        }
    }

    private void matmul(long w, int rows, int cols, long x, int n, long y, boolean accumulate) {
        cublas.matmul(dtype, w, rows, cols, x, n, y, accumulate);
    }

    private void attention(Step step, CudaKvCache cache, int layer, long q, int qStride, long decodeIdx, long tokSeq,
                           long positions, long tables, long tileStart, long tileLen) {
        ModelConfig c = config;
        if (step.decodeCount > 0) {
            int parts = step.partitions;
            int partSize = parts == 1 ? Math.max(1, step.maxDecodeContext) : CudaKernels.PARTITION_SIZE;
            long tmp = scratch.ptr();
            long maxLogits = tmp + 4L * step.decodeCount * c.numHeads() * parts * c.headDim();
            long expSums = maxLogits + 4L * step.decodeCount * c.numHeads() * parts;
            kernels.attentionDecode(attn.ptr(), q, qStride, cache.keys(layer), cache.values(layer), decodeIdx, tokSeq,
                    positions, tables, step.maxBlocks, step.decodeCount, c.numHeads(), c.numKvHeads(), c.headDim(),
                    cache.blockSize(), attnScale, partSize, parts, tmp, maxLogits, expSums);
        }
        if (step.tiles > 0) {
            kernels.attentionPrefill(attn.ptr(), q, qStride, cache.keys(layer), cache.values(layer), tileStart, tileLen,
                    step.tiles, tokSeq, positions, tables, step.maxBlocks, c.numHeads(), c.numKvHeads(), c.headDim(),
                    cache.blockSize(), attnScale);
        }
    }

    /**
     * One step's metadata packed into one int array (one upload): tokens, positions, slots, the
     * sequence of each token, the decode tokens (sequences with one new token), the prefill tiles
     * (up to 16 tokens of one sequence), each sequence's last token, and the block tables padded
     * to the longest. Everything a kernel will index with is checked here first: a bad index on
     * the GPU would be an illegal address that kills the context, not an exception.
     */
    private static final class Step {
        int[] ints;
        int tokensAt, positionsAt, slotsAt, tokSeqAt, decodeAt, tileStartAt, tileLenAt, lastAt, tablesAt, everyAt;
        int everyCount;
        /** The sequence of each row at everyAt (the tokens whose logits prompt logprobs want). */
        int[] everySeq = new int[0];
        int decodeCount, tiles, maxBlocks, maxDecodeContext, partitions;

        long scratchFloats(ModelConfig c) {
            if (decodeCount == 0 || partitions == 1) return 1;
            return (long) decodeCount * c.numHeads() * partitions * (c.headDim() + 2);
        }

        static Step plan(ForwardBatch b, ModelConfig c, CudaKvCache cache) {
            int n = b.numTokens(), seqs = b.numSeqs(), bs = cache.blockSize();
            int[] pos = b.positions(), toks = b.tokens(), slots = b.slotMapping(), qs = b.queryStart();
            long maxSlot = (long) cache.numBlocks() * bs;
            int maxBlocks = 1;
            for (int s = 0; s < seqs; s++) {
                int[] table = b.blockTables()[s];
                if (table == null) throw new IllegalArgumentException("sequence " + s + " has no block table");
                maxBlocks = Math.max(maxBlocks, table.length);
                for (int blk : table) {
                    if (blk < 0 || blk >= cache.numBlocks()) {
                        throw new IllegalArgumentException("block table of sequence " + s + " names block " + blk
                                + " outside the cache of " + cache.numBlocks());
                    }
                }
                if (qs[s + 1] < qs[s]) {
                    throw new IllegalArgumentException("queryStart must not decrease: " + Arrays.toString(qs));
                }
            }
            int[] tokSeq = b.tokenSequence();
            for (int t = 0; t < n; t++) {
                if (toks[t] < 0 || toks[t] >= c.vocabSize()) {
                    throw new IllegalArgumentException("token id " + toks[t] + " outside the vocabulary of "
                            + c.vocabSize());
                }
                if (pos[t] < 0 || pos[t] >= c.contextLength()) {
                    throw new IllegalArgumentException("position " + pos[t] + " outside the model's context of "
                            + c.contextLength());
                }
                if (slots[t] >= maxSlot) {
                    throw new IllegalArgumentException("slot " + slots[t] + " outside the cache of " + cache.numBlocks()
                            + " blocks");
                }
                int[] table = b.blockTables()[tokSeq[t]];
                if ((long) table.length * bs <= pos[t]) {
                    throw new IllegalArgumentException("token " + t + " at position " + pos[t] + " needs "
                            + (pos[t] / bs + 1) + " blocks, its sequence's table has " + table.length);
                }
                if (t > 0 && tokSeq[t] == tokSeq[t - 1] && pos[t] <= pos[t - 1]) {
                    throw new IllegalArgumentException("positions of a sequence's new tokens must increase (token "
                            + t + ")");
                }
            }
            Step st = new Step();
            List<Integer> decode = new ArrayList<>();
            List<int[]> tileList = new ArrayList<>();
            for (int s = 0; s < seqs; s++) {
                int len = qs[s + 1] - qs[s];
                if (len == 1) {
                    decode.add(qs[s]);
                    st.maxDecodeContext = Math.max(st.maxDecodeContext, pos[qs[s]] + 1);
                } else {
                    for (int t0 = qs[s]; t0 < qs[s + 1]; t0 += CudaKernels.PREFILL_TILE) {
                        tileList.add(new int[] {t0, Math.min(CudaKernels.PREFILL_TILE, qs[s + 1] - t0)});
                    }
                }
            }
            st.decodeCount = decode.size();
            st.tiles = tileList.size();
            st.maxBlocks = maxBlocks;
            st.partitions = choosePartitions(st.maxDecodeContext, st.decodeCount * c.numHeads());
            for (int s = 0; s < seqs; s++) if (b.wantsEveryTokenLogits(s)) st.everyCount += qs[s + 1] - qs[s] - 1;
            int size = 4 * n + st.decodeCount + 2 * st.tiles + seqs + seqs * maxBlocks + st.everyCount;
            int[] a = new int[Math.max(1, size)];
            int o = 0;
            st.tokensAt = o; System.arraycopy(toks, 0, a, o, n); o += n;
            st.positionsAt = o; System.arraycopy(pos, 0, a, o, n); o += n;
            st.slotsAt = o; System.arraycopy(slots, 0, a, o, n); o += n;
            st.tokSeqAt = o; System.arraycopy(tokSeq, 0, a, o, n); o += n;
            st.decodeAt = o; for (int d : decode) a[o++] = d;
            st.tileStartAt = o; for (int[] tl : tileList) a[o++] = tl[0];
            st.tileLenAt = o; for (int[] tl : tileList) a[o++] = tl[1];
            st.lastAt = o; for (int s = 0; s < seqs; s++) a[o++] = b.lastTokenIndex(s);
            st.tablesAt = o;
            for (int s = 0; s < seqs; s++) {
                int[] table = b.blockTables()[s];
                System.arraycopy(table, 0, a, o + s * maxBlocks, table.length);
            }
            o += seqs * maxBlocks;
            st.everyAt = o;
            st.everySeq = new int[st.everyCount];
            for (int s = 0, r = 0; s < seqs; s++) {
                if (!b.wantsEveryTokenLogits(s)) continue;
                for (int t = qs[s]; t < qs[s + 1] - 1; t++, r++) {
                    a[o++] = t;
                    st.everySeq[r] = s;
                }
            }
            st.ints = a;
            return st;
        }

        /**
         * Split-K (v2) when one pass per (token, head) would leave the GPU idle or the context is
         * too long for one block's shared memory; {@code quire.cuda.attention=v1|v2} forces it.
         */
        static int choosePartitions(int maxContext, int blocks) {
            if (maxContext == 0) return 1;
            int parts = CudaKernels.partitionsFor(maxContext, CudaKernels.PARTITION_SIZE);
            String force = System.getProperty("quire.cuda.attention", "auto");
            if (force.equals("v1") && maxContext <= 32768) return 1;
            if (force.equals("v2")) return parts;
            return parts > 1 && (maxContext > 8192 || blocks < 512) ? parts : 1;
        }
    }

    private void ensureCapacity(int n, int seqs, int intCount, long scratchFloats) {
        ModelConfig c = config;
        if (n > capTokens) {
            int cap = Math.max(n, capTokens * 2);
            for (DeviceBuffer b : new DeviceBuffer[] {x, xb, qkv, attn, gateUp, hidden}) if (b != null) b.close();
            x = device.alloc(4L * cap * c.dim());
            xb = device.alloc(2L * cap * c.dim());
            qkv = device.alloc(4L * cap * (c.qDim() + 2L * c.kvDim()));
            attn = device.alloc(2L * cap * c.qDim());
            gateUp = device.alloc(4L * cap * 2 * c.ffnDim());
            hidden = device.alloc(2L * cap * c.ffnDim());
            capTokens = cap;
        }
        if (seqs > capSeqs) {
            int cap = Math.max(seqs, capSeqs * 2);
            if (last != null) last.close();
            if (logits != null) logits.close();
            last = device.alloc(2L * cap * c.dim());
            logits = device.alloc(4L * cap * c.vocabSize());
            capSeqs = cap;
        }
        if (intCount > capInts) {
            int cap = Math.max(intCount, capInts * 2);
            if (ints != null) ints.close();
            ints = device.alloc(4L * cap);
            capInts = cap;
        }
        if (scratchFloats > capScratch) {
            long cap = Math.max(scratchFloats, capScratch * 2);
            if (scratch != null) scratch.close();
            scratch = device.alloc(4L * cap);
            capScratch = cap;
        }
    }

    @Override
    public void close() {
        device.synchronize();
        for (DeviceBuffer b : owned) b.close();
        owned.clear();
        for (DeviceBuffer b : new DeviceBuffer[] {x, xb, qkv, attn, gateUp, hidden, last, logits, ints, scratch,
                uploadScratch}) {
            if (b != null) b.close();
        }
    }
}
