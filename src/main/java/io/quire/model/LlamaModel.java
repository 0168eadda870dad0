package io.quire.model;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Ops;
import io.quire.backend.cpu.PagedAttention;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.backend.cpu.Parallel;
import io.quire.backend.cpu.Quant;
import io.quire.backend.cpu.Rope;
import io.quire.model.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * The Llama-family decoder (architectures {@code llama} and {@code qwen2}): RMSNorm, GQA attention
 * with RoPE reading K/V through the paged cache, SwiGLU feed-forward. One {@link #forward} runs a
 * flat batch that mixes prefill chunks and decode tokens; every projection is one batched matrix
 * product over all the step's tokens, so weights are streamed once per step, not once per token.
 */
public final class LlamaModel implements LanguageModel<PagedKvCache> {
    private final String name;
    private final ModelConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final AutoCloseable resource;
    private final Rope rope;
    private final float attnScale;

    // Grow-only scratch space: forward() is called by one thread at a time.
    private int capacity;
    private float[] x, xb, q, k, v, attn, proj, gate, up, last, logits;
    private float[][] logitRows = new float[0][];

    LlamaModel(String name, ModelConfig config, LlamaWeights weights, Tokenizer tokenizer, AutoCloseable resource) {
        this.name = name;
        this.config = config;
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.resource = resource;
        this.rope = new Rope(config.headDim(), config.contextLength(), config.ropeTheta(), config.ropeScaleLinear(),
                weights.ropeFreqFactors(), config.ropeNeox());
        this.attnScale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    @Override public ModelConfig config() { return config; }
    @Override public Tokenizer tokenizer() { return tokenizer; }
    @Override public String name() { return name; }
    @Override public String deviceDescription() { return Parallel.threads() + " CPU threads in float32"; }

    /** The CPU computes and caches in FP32. */
    @Override
    public KvCacheSpec kvCacheSpec(int blockSize) {
        return config.kvCacheSpec(blockSize, TensorType.F32);
    }

    /** On the CPU the KV cache is sized by its configured bytes alone. */
    @Override
    public int kvCacheBlocks(int blockSize, KvCacheBudget budget) {
        return budget.blocksInBytes(kvCacheSpec(blockSize));
    }

    @Override
    public PagedKvCache newKvCache(int numBlocks, int blockSize, int numSwapBlocks) {
        return new PagedKvCache(kvCacheSpec(blockSize), numBlocks, numSwapBlocks);
    }

    @Override
    public float[][] forward(ForwardBatch batch, PagedKvCache cache) {
        ModelConfig c = config;
        int n = batch.numTokens();
        int dim = c.dim();
        ensureCapacity(n);
        int[] positions = batch.positions();
        for (int t = 0; t < n; t++) {
            if (positions[t] < 0 || positions[t] >= c.contextLength()) {
                throw new IllegalArgumentException("position " + positions[t] + " outside the model's context of "
                        + c.contextLength());
            }
            int token = batch.tokens()[t];
            if (token < 0 || token >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + c.vocabSize());
            }
            Quant.dequantizeRow(weights.tokenEmbedding(), token, x, t * dim);
        }
        int[] tokenSeq = batch.tokenSequence();
        for (int l = 0; l < c.numLayers(); l++) {
            LlamaWeights.Layer w = weights.layers()[l];
            rmsNormRows(xb, x, w.attnNorm(), n);
            MatMul.matmul(new Tensor[] {w.wq(), w.wk(), w.wv()}, xb, n, new float[][] {q, k, v});
            if (w.bq() != null) {
                Ops.addBias(q, n, c.qDim(), w.bq());
                Ops.addBias(k, n, c.kvDim(), w.bk());
                Ops.addBias(v, n, c.kvDim(), w.bv());
            }
            Parallel.forRange(n, (from, to) -> {
                for (int t = from; t < to; t++) {
                    rope.apply(q, t * c.qDim(), c.numHeads(), positions[t]);
                    rope.apply(k, t * c.kvDim(), c.numKvHeads(), positions[t]);
                }
            });
            cache.write(l, batch.slotMapping(), k, v, n);
            PagedAttention.attend(q, attn, n, positions, tokenSeq, batch.blockTables(), cache, l, c.numHeads(),
                    attnScale);
            MatMul.matmul(w.wo(), attn, n, proj);
            Ops.add(x, proj, n * dim);

            rmsNormRows(xb, x, w.ffnNorm(), n);
            MatMul.matmul(new Tensor[] {w.wGate(), w.wUp()}, xb, n, new float[][] {gate, up});
            Ops.siluMul(gate, up, n * c.ffnDim());
            MatMul.matmul(w.wDown(), gate, n, proj);
            Ops.add(x, proj, n * dim);
        }
        // Only each sequence's last token needs logits: norm and project just those rows.
        int seqs = batch.numSeqs();
        int vocab = c.vocabSize();
        ensureLogits(seqs);
        for (int s = 0; s < seqs; s++) {
            Ops.rmsNorm(last, s * dim, x, batch.lastTokenIndex(s) * dim, weights.outputNorm(), dim, c.rmsNormEps());
        }
        MatMul.matmul(weights.output(), last, seqs, logits);
        float[][] result = seqs == logitRows.length ? logitRows : Arrays.copyOf(logitRows, seqs);
        for (int s = 0; s < seqs; s++) System.arraycopy(logits, s * vocab, result[s], 0, vocab);
        return result;
    }

    /** Grow-only buffers of the last step: the returned rows are reused (valid until the next forward). */
    private void ensureLogits(int seqs) {
        if (logitRows.length >= seqs) return;
        int cap = Math.max(seqs, logitRows.length * 2);
        last = new float[cap * config.dim()];
        logits = new float[cap * config.vocabSize()];
        float[][] rows = Arrays.copyOf(logitRows, cap);
        for (int s = logitRows.length; s < cap; s++) rows[s] = new float[config.vocabSize()];
        logitRows = rows;
    }

    private void rmsNormRows(float[] out, float[] in, float[] weight, int n) {
        int dim = config.dim();
        float eps = config.rmsNormEps();
        for (int t = 0; t < n; t++) Ops.rmsNorm(out, t * dim, in, t * dim, weight, dim, eps);
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        ModelConfig c = config;
        int cap = Math.max(n, capacity * 2);
        x = new float[cap * c.dim()];
        xb = new float[cap * c.dim()];
        q = new float[cap * c.qDim()];
        k = new float[cap * c.kvDim()];
        v = new float[cap * c.kvDim()];
        attn = new float[cap * c.qDim()];
        proj = new float[cap * c.dim()];
        gate = new float[cap * c.ffnDim()];
        up = new float[cap * c.ffnDim()];
        capacity = cap;
    }

    @Override
    public void close() {
        try {
            resource.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing model " + name, e);
        }
    }
}
