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
import java.util.List;

/**
 * The Llama-family decoder on the CPU: llama (and Mistral, Mixtral), qwen2, qwen3, qwen3moe, phi3,
 * gemma2 and gemma3. Each layer is RMSNorm, {@link Attention} reading K/V through the paged cache,
 * the gated {@link FeedForward} (or its {@link MixtureOfExperts}), each half added to the residual
 * (Gemma norms each half's output first). What differs between the architectures is data, their
 * {@link ArchitectureFeatures}, not branches here. One {@link #forward} runs a flat batch that mixes
 * prefill chunks and decode tokens; every projection is one batched matrix product over all the
 * step's tokens (over each of its {@link #CHUNK}-token parts in a longer step), so weights are
 * streamed once per step, not once per token.
 */
public final class LlamaModel implements LanguageModel<PagedKvCache> {
    /**
     * Most tokens that go through the layers together (llama.cpp's micro-batch). A longer step (up to
     * max-num-batched-tokens) runs in parts of at most this many, their sizes a token apart at most,
     * each through every layer before the next, so its activations stay a few MB (q, k, v, attention
     * out and FFN gate and up at 2048 tokens took 70 MB of heap on the 86M model, over 250 MB on a
     * 7B). A part is still a batch long enough to reuse every weight tile, and a later part's tokens
     * read the earlier parts' K/V from the cache, where those parts wrote them.
     */
    static final int CHUNK = 256;

    private final String name;
    private final ModelConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final AutoCloseable resource;
    private final Attention attention;
    private final FeedForward feedForward;
    private final GenerationDefaults generationDefaults;
    private final int chunk;
    private volatile TensorType kvType;
    /** LoRA adapters, a batch's adapter k being adapters[k - 1]. */
    private volatile LoraAdapter[] adapters = new LoraAdapter[0];

    // Grow-only scratch space: forward() is called by one thread at a time.
    private int capacity;
    private float[] x, xb, proj, last, logits;
    private float[][] logitRows = new float[0][];
    /**
     * Rows of every token's logits (prompt logprobs, drafted tokens), {@link #EVERY_ROWS} at a time
     * (allocated when first asked for): the normed rows waiting in everyIn, whose sequence and token.
     */
    private float[] everyIn, everyOut, everyRow;
    private int[] everySeq, everyToken;
    private int everyPending;
    private static final int EVERY_ROWS = 16;

    LlamaModel(String name, ModelConfig config, LlamaWeights weights, Tokenizer tokenizer, AutoCloseable resource) {
        this(name, config, weights, tokenizer, resource, GenerationDefaults.NONE);
    }

    LlamaModel(String name, ModelConfig config, LlamaWeights weights, Tokenizer tokenizer, AutoCloseable resource,
               GenerationDefaults generationDefaults) {
        this(name, config, weights, tokenizer, resource, generationDefaults, CHUNK);
    }

    private LlamaModel(String name, ModelConfig config, LlamaWeights weights, Tokenizer tokenizer, AutoCloseable resource,
               GenerationDefaults generationDefaults, int chunk) {
        if (chunk < 2) throw new IllegalArgumentException("chunk " + chunk + " < 2");
        this.chunk = chunk;
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

    /** The same model (same weights) running parts of at most {@code chunk} tokens: tests compare part sizes. */
    LlamaModel withChunk(int chunk) {
        return new LlamaModel(name, config, weights, tokenizer, resource, generationDefaults, chunk);
    }

    @Override public ModelConfig config() { return config; }
    @Override public Tokenizer tokenizer() { return tokenizer; }
    @Override public String name() { return name; }
    @Override public GenerationDefaults generationDefaults() { return generationDefaults; }
    @Override public String deviceDescription() {
        return Parallel.threads() + " CPU threads in float32, KV cache in " + KvCacheDtype.nameOf(kvType);
    }

    /** The CPU computes in FP32 and caches K and V in {@link #useKvCacheDtype}'s type (auto: by the weights). */
    @Override
    public KvCacheSpec kvCacheSpec(int blockSize) {
        return config.kvCacheSpec(blockSize, kvType);
    }

    @Override
    public void useAdapters(List<LoraAdapter> adapters) {
        this.adapters = adapters.toArray(LoraAdapter[]::new);
    }

    @Override
    public List<LoraAdapter> adapters() { return List.of(adapters); }

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
        return forward(batch, cache, null);
    }

    @Override
    public boolean computesEveryTokenLogits() { return true; }

    @Override
    public float[][] forward(ForwardBatch batch, PagedKvCache cache, TokenLogits sink) {
        return forward(batch, cache, sink, null);
    }

    @Override
    public boolean computesHiddenStates() { return true; }

    @Override
    public float[][] forward(ForwardBatch batch, PagedKvCache cache, TokenLogits sink, HiddenStates hidden) {
        if (batch.everyTokenLogits() != null && sink == null) {
            throw new IllegalArgumentException("every token's logits asked for with nowhere to put them");
        }
        ModelConfig c = config;
        int n = batch.numTokens();
        int dim = c.dim();
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
        }
        int seqs = batch.numSeqs();
        ensureLogits(seqs);
        everyPending = 0;
        // Parts as equal as can be (their sizes differ by one at most), so with parts of up to 256 none is
        // under 128 tokens, never a single one: batch 1 runs another kernel, summing in another order.
        int parts = Math.max(1, (n + chunk - 1) / chunk);
        ensureCapacity((n + parts - 1) / parts);
        for (int i = 0, t0 = 0; i < parts; i++) {
            ForwardBatch part = parts == 1 ? batch : batch.part(t0, n / parts + (i < n % parts ? 1 : 0));
            layers(part, cache);
            if (batch.everyTokenLogits() != null) everyTokenLogits(batch, t0, part.numTokens(), sink);
            // Only each sequence's last token needs logits: norm just those rows, project them below.
            for (int s = 0; s < seqs; s++) {
                int last = batch.lastTokenIndex(s);
                if (last >= t0 && last < t0 + part.numTokens()) {
                    Ops.rmsNorm(this.last, s * dim, x, (last - t0) * dim, weights.outputNorm(), dim, c.rmsNormEps());
                }
            }
            t0 += part.numTokens();
        }
        if (hidden != null) for (int s = 0; s < seqs; s++) hidden.accept(s, last, s * dim);
        int vocab = c.vocabSize();
        // Rows of every token's logits still waiting (a few drafted tokens, a prompt's last ones) go through
        // the output matrix with the last rows: one read of it, which for a large vocabulary is much of a step.
        int pending = everyPending;
        if (pending > 0) System.arraycopy(everyIn, 0, last, seqs * dim, pending * dim);
        MatMul.matmul(weights.output(), last, seqs + pending, logits);
        float softcap = c.features().finalSoftcap();
        if (softcap > 0) Ops.softcap(logits, 0, (seqs + pending) * vocab, softcap);
        for (int r = 0; r < pending; r++) {
            System.arraycopy(logits, (seqs + r) * vocab, everyRow, 0, vocab);
            sink.accept(everySeq[r], everyToken[r], everyRow);
        }
        everyPending = 0;
        float[][] result = seqs == logitRows.length ? logitRows : Arrays.copyOf(logitRows, seqs);
        for (int s = 0; s < seqs; s++) System.arraycopy(logits, s * vocab, result[s], 0, vocab);
        return result;
    }

    /**
     * Norms the part's tokens {@code t0..t0+n-1} (its final hidden states in x) of the sequences that want
     * every token's logits, but each sequence's last (returned by forward), into everyIn, and projects
     * them {@link #EVERY_ROWS} rows at a time (a 2,048-token prompt's logits at once would take 256 MB at
     * a 32,000-token vocabulary); fewer left at the end go with the last rows (forward).
     */
    private void everyTokenLogits(ForwardBatch batch, int t0, int n, TokenLogits sink) {
        ModelConfig c = config;
        int dim = c.dim(), vocab = c.vocabSize();
        if (everyIn == null) {
            everyIn = new float[EVERY_ROWS * dim];
            everyOut = new float[EVERY_ROWS * vocab];
            everyRow = new float[vocab];
            everySeq = new int[EVERY_ROWS];
            everyToken = new int[EVERY_ROWS];
        }
        for (int s = 0; s < batch.numSeqs(); s++) {
            if (!batch.wantsEveryTokenLogits(s)) continue;
            int to = Math.min(batch.lastTokenIndex(s), t0 + n);
            for (int t = Math.max(batch.queryStart()[s], t0); t < to; t++) {
                int r = everyPending++;
                Ops.rmsNorm(everyIn, r * dim, x, (t - t0) * dim, weights.outputNorm(), dim, c.rmsNormEps());
                everySeq[r] = s;
                everyToken[r] = t;
                if (everyPending == EVERY_ROWS) project(sink);
            }
        }
    }

    /** The {@link #EVERY_ROWS} rows waiting in everyIn times the output matrix, each handed to the sink. */
    private void project(TokenLogits sink) {
        int vocab = config.vocabSize(), rows = everyPending;
        MatMul.matmul(weights.output(), everyIn, rows, everyOut);
        float softcap = config.features().finalSoftcap();
        if (softcap > 0) Ops.softcap(everyOut, 0, rows * vocab, softcap);
        for (int r = 0; r < rows; r++) {
            System.arraycopy(everyOut, r * vocab, everyRow, 0, vocab);
            sink.accept(everySeq[r], everyToken[r], everyRow);
        }
        everyPending = 0;
    }

    /** Every layer over one part of a step, leaving its final hidden states in x. */
    private void layers(ForwardBatch part, PagedKvCache cache) {
        ModelConfig c = config;
        int n = part.numTokens();
        int dim = c.dim();
        for (int t = 0; t < n; t++) Quant.dequantizeRow(weights.tokenEmbedding(), part.tokens()[t], x, t * dim);
        if (c.features().embeddingScale() != 1f) Ops.scale(x, n * dim, c.features().embeddingScale());
        int[] tokenSeq = part.tokenSequence();
        LoraDeltas lora = LoraDeltas.of(adapters, part);
        LlamaWeights.Layer[] layers = weights.layers();
        rmsNormRows(xb, x, layers[0].attnNorm(), n);
        for (int l = 0; l < c.numLayers(); l++) {
            LlamaWeights.Layer w = layers[l];
            attention.forward(w, l, xb, part, tokenSeq, cache, proj, lora);
            residual(w.attnPostNorm(), w.ffnNorm(), n);
            feedForward.forward(w, l, xb, n, proj, lora);
            residual(w.ffnPostNorm(), l + 1 < layers.length ? layers[l + 1].attnNorm() : null, n);
        }
    }

    /**
     * Adds a half's output in proj (normed first with {@code post} where the model norms it: Gemma) to the
     * residual x, and norms the sum into xb with {@code next} (null: the last layer's, normed later), token
     * by token: one pass over each row, and a prompt's rows split over the threads (on the calling thread
     * alone, the adds and norms of a 500-token prompt took 1% of its two-thread prefill, the other waiting).
     */
    private void residual(float[] post, float[] next, int n) {
        long work = (long) n * config.dim() * RESIDUAL_OPERATIONS;
        if (Parallel.runsInline(work)) {
            residual(post, next, 0, n);  // no lambda: a decode step allocates nothing here
        } else {
            Parallel.forRange(n, work, (t0, t1) -> residual(post, next, t0, t1));
        }
    }

    /** Operations per value of {@link #residual(float[], float[], int)}, as Parallel counts work. */
    private static final int RESIDUAL_OPERATIONS = 4;

    private void residual(float[] post, float[] next, int t0, int t1) {
        int dim = config.dim();
        float eps = config.rmsNormEps();
        for (int t = t0; t < t1; t++) {
            if (post != null) Ops.rmsNorm(proj, t * dim, proj, t * dim, post, dim, eps);
            Ops.add(x, t * dim, proj, t * dim, dim);
            if (next != null) Ops.rmsNorm(xb, t * dim, x, t * dim, next, dim, eps);
        }
    }

    /** Tokens each expert computed so far, over all layers (empty without experts): what routing did. */
    long[] tokensPerExpert() { return feedForward.tokensPerExpert(); }

    /**
     * Grow-only buffers of the last step: the returned rows are reused (valid until the next forward); last
     * and logits have room for {@link #EVERY_ROWS} every-token rows after the sequences' last rows.
     */
    private void ensureLogits(int seqs) {
        if (logitRows.length >= seqs) return;
        int cap = Math.max(seqs, logitRows.length * 2);
        last = new float[(cap + EVERY_ROWS) * config.dim()];
        logits = new float[(cap + EVERY_ROWS) * config.vocabSize()];
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
        // To the next 64 tokens (at most the part size), not doubled: doubling kept up to twice the
        // largest step's activations alive for the server's life.
        int cap = Math.min((n + 63) & ~63, chunk);
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
