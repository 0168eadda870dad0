package io.quire.engine;

import io.quire.backend.KvCache;
import io.quire.kv.BlockOp;
import io.quire.kv.KvCacheManager;
import io.quire.kv.SlidingWindow;
import io.quire.model.ForwardBatch;
import io.quire.model.KvCacheBudget;
import io.quire.model.LanguageModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * How a step runs on the model (nano-vllm's {@code ModelRunner}): it sizes and owns the physical
 * KV cache, performs the scheduler's block copies and swaps in it, lays the scheduled sequences
 * out as one flat {@link ForwardBatch} and runs the forward pass. The only engine class that
 * touches {@code io.quire.backend}. Engine thread only.
 */
final class ModelRunner<C extends KvCache> implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelRunner.class);

    private final LanguageModel<C> model;
    private final C kvCache;
    private final long kvBytesPerBlock;
    private final int numBlocks;
    private final int numSwapBlocks;

    /** A runner for {@code model}, whatever its cache type (a wildcard model is captured here). */
    static <C extends KvCache> ModelRunner<C> create(LanguageModel<C> model, EngineConfig config, int maxModelLen) {
        return new ModelRunner<>(model, config, maxModelLen);
    }

    /**
     * Divides the KV budget ({@link KvCacheSize}, or a GPU's share of its memory) and swap space of
     * {@code config} into blocks, says how many and why in one line, and allocates the cache.
     */
    private ModelRunner(LanguageModel<C> model, EngineConfig config, int maxModelLen) {
        this.model = model;
        // The model's device sizes its cache: what a block costs there, and how many the budget buys.
        this.kvBytesPerBlock = model.kvBytesPerBlock(config.blockSize());
        KvCacheSize size = KvCacheSize.choose(config, kvBytesPerBlock, maxModelLen);
        KvCacheBudget budget = config.kvCacheBudget(size.bytes());
        this.numBlocks = model.kvCacheBlocks(config.blockSize(), budget);
        long tokens = (long) numBlocks * config.blockSize();
        SlidingWindow window = EngineCore.slidingWindow(model.config());
        if (window.freesBlocks()) {
            // Every layer slides: a request holds at most its window and one step's chunk at once (vLLM's
            // sliding-window spec), however long it grows.
            int held = (int) Math.min(maxModelLen, window.window() - 1L + config.maxNumBatchedTokens());
            int need = (held + config.blockSize() - 1) / config.blockSize() + 1;
            if (numBlocks < Math.min(need, (maxModelLen + config.blockSize() - 1) / config.blockSize())) {
                throw new IllegalArgumentException("The KV cache budget of " + numBlocks * kvBytesPerBlock
                        + " bytes holds " + numBlocks + " blocks of " + config.blockSize() + " tokens, fewer than the "
                        + need + " one request holds at once with the model's sliding window of " + window.window()
                        + " and " + config.maxNumBatchedTokens() + " tokens per step; raise the KV cache budget");
            }
        } else if (tokens < maxModelLen) {
            // As vLLM: one request of the full context must fit, or it could never finish.
            throw new IllegalArgumentException("The KV cache budget of " + numBlocks * kvBytesPerBlock + " bytes holds "
                    + numBlocks + " blocks of " + config.blockSize() + " tokens (" + tokens + " tokens), less than the"
                    + " maximum model length " + maxModelLen + "; raise the KV cache budget or lower the maximum model"
                    + " length");
        }
        String why = model.kvCacheTakesBytes(budget) ? size.reason()
                : "gpu-memory-utilization " + budget.gpuMemoryUtilization() + " of the free GPU memory";
        log.info("KV cache: {} blocks of {} tokens ({} MiB): {}", numBlocks, config.blockSize(),
                String.format("%.1f", numBlocks * kvBytesPerBlock / 1048576.0), why);
        this.numSwapBlocks = config.numSwapBlocks(kvBytesPerBlock);
        this.kvCache = model.newKvCache(numBlocks, config.blockSize(), numSwapBlocks);
    }

    int numBlocks() { return numBlocks; }

    /** {@link Warmup}: before the engine takes its first request, while every block is free. */
    void warmUp(int maxModelLen, Duration budget) {
        long start = System.nanoTime();
        int passes = Warmup.run(batch -> model.forward(batch, kvCache), kvCache.blockSize(), numBlocks,
                model.config().vocabSize(), maxModelLen, budget, model.adapters().size());
        log.info("Warm-up: {} forward passes of made-up sequences in {} ms, so the kernels are compiled before the"
                + " first request (quire.warmup)", passes, (System.nanoTime() - start) / 1_000_000);
    }

    /** Block tables cut in one block size and read by attention in another would be silently wrong: refuse. */
    void checkAgrees(KvCacheManager blocks) {
        if (kvCache.blockSize() != blocks.blockSize() || kvCache.numBlocks() != blocks.numTotalBlocks()) {
            throw new IllegalStateException(model.name() + " made a KV cache of " + kvCache.numBlocks() + " blocks of "
                    + kvCache.blockSize() + " tokens for " + blocks.numTotalBlocks() + " blocks of "
                    + blocks.blockSize());
        }
    }

    int numSwapBlocks() { return numSwapBlocks; }

    /** Bytes of one block over all layers, K and V. */
    long kvBytesPerBlock() { return kvBytesPerBlock; }

    /** Performs the scheduler's copies and swaps in order, consecutive swaps of one direction at once. */
    void applyBlockOps(List<BlockOp> ops) {
        for (int i = 0; i < ops.size(); ) {
            BlockOp op = ops.get(i);
            if (op.kind() == BlockOp.Kind.COPY) {
                kvCache.copyBlock(op.src(), op.dst());
                i++;
                continue;
            }
            int j = i;
            while (j < ops.size() && ops.get(j).kind() == op.kind()) j++;
            int[] src = new int[j - i], dst = new int[j - i];
            for (int k = i; k < j; k++) {
                src[k - i] = ops.get(k).src();
                dst[k - i] = ops.get(k).dst();
            }
            if (op.kind() == BlockOp.Kind.SWAP_OUT) kvCache.swapOut(src, dst);
            else kvCache.swapIn(src, dst);
            i = j;
        }
    }

    /**
     * Receives the logits at a position of a scheduled sequence's chunk before its last (prompt logprobs,
     * drafted tokens), with the sequence's index in the step; valid only during the call.
     */
    interface PositionLogits {
        void accept(int index, ScheduledSequence seq, int position, float[] logits);
    }

    /** Whether the model can give every token's logits, not only each sequence's last one's. */
    boolean computesEveryTokenLogits() { return model.computesEveryTokenLogits(); }

    /** Whether the model can give each sequence's last final hidden state (embeddings). */
    boolean computesHiddenStates() { return model.computesHiddenStates(); }

    /** Runs the scheduled sequences through the model: the logits of each one's last new token, in order. */
    float[][] execute(SchedulerOutput out, KvCacheManager blocks) {
        return execute(out, blocks, null, null, null);
    }

    /**
     * As {@link #execute(SchedulerOutput, KvCacheManager)}, and hands {@code sink} every earlier position's
     * logits of the sequences {@code everyToken} marks (null: none), and {@code hidden} (null: none) each
     * scheduled sequence's last final hidden state, by its index in the step.
     */
    float[][] execute(SchedulerOutput out, KvCacheManager blocks, boolean[] everyToken, PositionLogits sink,
            LanguageModel.HiddenStates hidden) {
        ForwardBatch batch = buildBatch(out, blocks, everyToken);
        LanguageModel.TokenLogits tokenSink = everyToken == null ? null : (s, t, row) -> {
            ScheduledSequence ss = out.scheduled().get(s);
            sink.accept(s, ss, ss.start() + t - batch.queryStart()[s], row);
        };
        float[][] logits = model.forward(batch, kvCache, tokenSink, hidden);
        if (logits.length != out.scheduled().size()) {
            throw new IllegalStateException("model returned logits for " + logits.length + " sequences, expected "
                    + out.scheduled().size());
        }
        return logits;
    }

    /** The flat batch: every scheduled token with its position and KV slot, and each sequence's block table. */
    private static ForwardBatch buildBatch(SchedulerOutput out, KvCacheManager blocks, boolean[] everyToken) {
        int numTokens = out.numScheduledTokens();
        int numSeqs = out.scheduled().size();
        int[] tokens = new int[numTokens];
        int[] positions = new int[numTokens];
        int[] slots = new int[numTokens];
        int[] queryStart = new int[numSeqs + 1];
        int[][] blockTables = new int[numSeqs][];
        int[] adapters = null;
        int t = 0;
        for (int s = 0; s < numSeqs; s++) {
            ScheduledSequence ss = out.scheduled().get(s);
            Sequence seq = ss.sequence();
            queryStart[s] = t;
            try {
                blocks.slotMapping(seq.seqId(), ss.start(), ss.numNewTokens(), slots, t);
            } catch (IllegalStateException ex) {
                throw new IllegalStateException(ex.getMessage() + " (" + seq + ", scheduled " + ss.start() + "+"
                        + ss.numNewTokens() + ")", ex);
            }
            for (int i = 0; i < ss.numNewTokens(); i++, t++) {
                tokens[t] = seq.tokenOrDraft(ss.start() + i);
                positions[t] = ss.start() + i;
            }
            blockTables[s] = blocks.blockTable(seq.seqId());
            if (seq.adapterSlot() != 0) {
                if (adapters == null) adapters = new int[numSeqs];
                adapters[s] = seq.adapterSlot();
            }
        }
        queryStart[numSeqs] = t;
        return new ForwardBatch(tokens, positions, slots, queryStart, blockTables, everyToken, adapters);
    }

    /** Releases a device cache (GPU memory, pinned swap space); the CPU cache is freed with its automatic arena. */
    @Override
    public void close() {
        if (kvCache instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("Closing the KV cache failed", e);
            }
        }
    }
}
