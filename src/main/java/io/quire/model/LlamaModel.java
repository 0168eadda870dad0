package io.quire.model;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Ops;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.backend.cpu.Parallel;
import io.quire.backend.cpu.Quant;
import io.quire.model.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * The Llama-family decoder on the CPU: llama (and Mistral, Mixtral), qwen2, qwen3, qwen3moe, phi3,
 * gemma2 and gemma3. Each layer is RMSNorm, {@link Attention} reading K/V through the paged cache,
 * the gated {@link FeedForward} (or its {@link MixtureOfExperts}), each half added to the residual
 * (Gemma norms each half's output first). What differs between the architectures is data, their
 * {@link ArchitectureFeatures}, not branches here. One {@link #forward} runs a flat batch that mixes
 * prefill chunks and decode tokens; every projection is one batched matrix product over all the
 * step's tokens, so weights are streamed once per step, not once per token.
 */
public final class LlamaModel implements LanguageModel<PagedKvCache> {
    private final String name;
    private final ModelConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final AutoCloseable resource;
    private final Attention attention;
    private final FeedForward feedForward;
    private final GenerationDefaults generationDefaults;
    private volatile TensorType kvType;

    // Grow-only scratch space: forward() is called by one thread at a time.
    private int capacity;
    private float[] x, xb, proj, last, logits;
    private float[][] logitRows = new float[0][];

    LlamaModel(String name, ModelConfig config, LlamaWeights weights, Tokenizer tokenizer, AutoCloseable resource) {
        this(name, config, weights, tokenizer, resource, GenerationDefaults.NONE);
    }

    LlamaModel(String name, ModelConfig config, LlamaWeights weights, Tokenizer tokenizer, AutoCloseable resource,
               GenerationDefaults generationDefaults) {
        this.generationDefaults = generationDefaults;
        this.name = name;
        this.config = config;
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.resource = resource;
        this.attention = new Attention(config, weights.ropeFactors());
        this.feedForward = new FeedForward(config);
        this.kvType = KvCacheDtype.AUTO.typeFor(weights.layers()[0].wq().type());
    }

    @Override public ModelConfig config() { return config; }
    @Override public Tokenizer tokenizer() { return tokenizer; }
    @Override public String name() { return name; }
    @Override public GenerationDefaults generationDefaults() { return generationDefaults; }
    @Override public String deviceDescription() {
        return Parallel.threads() + " CPU threads in float32, KV cache in " + (kvType == TensorType.F16 ? "float16" : "float32");
    }

    /** The CPU computes in FP32 and caches K and V in {@link #useKvCacheDtype}'s type (auto: by the weights). */
    @Override
    public KvCacheSpec kvCacheSpec(int blockSize) {
        return config.kvCacheSpec(blockSize, kvType);
    }

    @Override
    public void useKvCacheDtype(KvCacheDtype dtype) {
        kvType = dtype.typeFor(weights.layers()[0].wq().type());
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
        ArchitectureFeatures a = c.features();
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
        if (a.embeddingScale() != 1f) Ops.scale(x, n * dim, a.embeddingScale());
        int[] tokenSeq = batch.tokenSequence();
        for (int l = 0; l < c.numLayers(); l++) {
            LlamaWeights.Layer w = weights.layers()[l];
            rmsNormRows(xb, x, w.attnNorm(), n);
            attention.forward(w, l, xb, batch, tokenSeq, cache, proj);
            if (w.attnPostNorm() != null) rmsNormRows(proj, proj, w.attnPostNorm(), n);
            Ops.add(x, proj, n * dim);

            rmsNormRows(xb, x, w.ffnNorm(), n);
            feedForward.forward(w, xb, n, proj);
            if (w.ffnPostNorm() != null) rmsNormRows(proj, proj, w.ffnPostNorm(), n);
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
        if (a.finalSoftcap() > 0) Ops.softcap(logits, 0, seqs * vocab, a.finalSoftcap());
        float[][] result = seqs == logitRows.length ? logitRows : Arrays.copyOf(logitRows, seqs);
        for (int s = 0; s < seqs; s++) System.arraycopy(logits, s * vocab, result[s], 0, vocab);
        return result;
    }

    /** Tokens each expert computed so far, over all layers (empty without experts): what routing did. */
    long[] tokensPerExpert() { return feedForward.tokensPerExpert(); }

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
        // To the next 64 tokens, not doubled: a step holds at most max-num-batched-tokens, and doubling
        // past that kept up to twice the largest step's activations alive for the server's life.
        int cap = (n + 63) & ~63;
        x = new float[cap * config.dim()];
        xb = new float[cap * config.dim()];
        proj = new float[cap * config.dim()];
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
