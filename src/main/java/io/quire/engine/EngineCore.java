package io.quire.engine;

import io.quire.engine.structured.ConstraintCompiler;
import io.quire.engine.structured.ConstraintException;
import io.quire.engine.structured.TokenConstraint;
import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.KvCacheManager;
import io.quire.kv.SlidingWindow;
import io.quire.model.ArchitectureFeatures;
import io.quire.model.ModelConfig;
import io.quire.model.LanguageModel;
import io.quire.model.LoraAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One engine step and the parts it drives (vLLM v1's {@code EngineCore.step}): the
 * {@link Scheduler} decides what runs and where its KV lives ({@link KvCacheManager}), the
 * {@link ModelRunner} runs it, the {@link TokenProcessor} turns the logits into tokens and deltas.
 * It knows nothing of threads, queues or subscribers: {@link LLMEngine}'s loop calls it, on its
 * one thread, and delivers what a step returns.
 */
final class EngineCore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EngineCore.class);

    /**
     * What one step did.
     *
     * @param outputs  each request's deltas of this step (finished requests are marked so)
     * @param failed   requests that failed, with why (their sequences are finished already)
     * @param ranModel whether the model ran (a step may only move blocks, or find nothing it can run)
     */
    record StepResult(Map<Request, List<SequenceDelta>> outputs, Map<Request, Throwable> failed, boolean ranModel) {}

    private final ModelRunner<?> runner;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final OutputProcessor outputs;
    private final TokenProcessor tokens;
    private final PromptLogprobs promptLogprobs;
    private final EngineMetrics metrics;
    private final Consumer<Request> onFirstScheduled;
    private final int vocabSize;
    /** Floats of a final hidden state (an embedding). */
    private final int hiddenSize;
    private final int maxModelLen;
    private final int maxNumSeqs;
    private final KvAllocationPolicy allocationPolicy;
    /** The model's LoRA adapters, in slot order from 1. */
    private final List<String> adapterNames;
    /** Structured output: constraints compiled for this model's vocabulary, cached (callers' threads). */
    private final ConstraintCompiler constraints;
    /** Drafting and verifying tokens (speculative decoding); null when off. */
    private final SpeculativeDecoding speculation;
    private long numSteps;

    /** The model's sliding window as the block manager needs it: the window and how many layers slide. */
    static SlidingWindow slidingWindow(ModelConfig c) {
        ArchitectureFeatures f = c.features();
        int sliding = 0;
        for (int l = 0; l < c.numLayers(); l++) if (f.slides(l)) sliding++;
        return new SlidingWindow(f.slidingWindow(), sliding, c.numLayers());
    }

    /**
     * @param onFirstScheduled told when a request runs its first step (it leaves the waiting queue's bound)
     * @param speculation      drafts and verifies tokens each step (null: no speculative decoding)
     */
    EngineCore(LanguageModel<?> model, EngineConfig config, int maxModelLen, ModelRunner<?> runner,
               EngineMetrics metrics, Consumer<Request> onFirstScheduled, SpeculativeDecoding speculation) {
        if (speculation != null && !runner.computesEveryTokenLogits()) {
            throw new IllegalArgumentException("quire.speculative-config: " + model.name() + " on "
                    + model.deviceDescription() + " does not give the logits of every token, which verifying drafts"
                    + " needs");
        }
        this.speculation = speculation;
        this.runner = runner;
        this.adapterNames = model.adapters().stream().map(LoraAdapter::name).toList();
        this.kv = new KvCacheManager(runner.numBlocks(), config.blockSize(), config.enablePrefixCaching(),
                runner.numSwapBlocks(), slidingWindow(model.config()));
        runner.checkAgrees(kv);
        this.scheduler = new Scheduler(config.maxNumSeqs(), config.maxNumBatchedTokens(), kv, config.preemptionMode(),
                config.kvAllocationPolicy(), maxModelLen, config.schedulingPolicy());
        StopChecker stops = new StopChecker(Set.copyOf(model.tokenizer().endOfGenerationIds()), maxModelLen);
        this.outputs = new OutputProcessor(model.tokenizer(), stops);
        this.tokens = new TokenProcessor(stops, outputs, scheduler, metrics);
        this.promptLogprobs = new PromptLogprobs(scheduler);
        this.constraints = new ConstraintCompiler(model.tokenizer());
        this.metrics = metrics;
        this.onFirstScheduled = onFirstScheduled;
        this.vocabSize = model.config().vocabSize();
        this.hiddenSize = model.config().dim();
        this.maxModelLen = maxModelLen;
        this.maxNumSeqs = config.maxNumSeqs();
        this.allocationPolicy = config.kvAllocationPolicy();
        log.info("Engine for {}: {} KV blocks of {} tokens ({} MiB), {} swap blocks, prefix caching {}, preemption {},"
                        + " max model len {}, max {} seqs / {} tokens per step, {} scheduling", model.name(),
                runner.numBlocks(),
                config.blockSize(), runner.numBlocks() * runner.kvBytesPerBlock() >> 20, runner.numSwapBlocks(),
                config.enablePrefixCaching() ? "on" : "off", config.preemptionMode(), maxModelLen,
                config.maxNumSeqs(), config.maxNumBatchedTokens(), config.schedulingPolicy());
    }

    KvCacheManager kv() { return kv; }

    Scheduler scheduler() { return scheduler; }

    /** Steps that sent a batch to the model so far (a failed one included): the KV report's step. */
    long numSteps() { return numSteps; }

    /**
     * Validates one prompt of a submission ({@link RequestValidator}) and makes its request. Any
     * thread: it reads only sizes that never change.
     */
    Request newRequest(String id, int[] prompt, SamplingParams params, String cacheSalt) {
        return newRequest(id, prompt, params, cacheSalt, 0);
    }

    /** As above, with its priority, which only {@link SchedulingPolicy#PRIORITY} allows to be other than 0. */
    Request newRequest(String id, int[] prompt, SamplingParams params, String cacheSalt, int priority) {
        return newRequest(id, prompt, params, cacheSalt, priority, null);
    }

    /** As above, run with the LoRA adapter named {@code adapter} (null: the base model). */
    Request newRequest(String id, int[] prompt, SamplingParams params, String cacheSalt, int priority,
            String adapter) {
        checkIdAndPriority(id, priority);
        int slot = adapterSlot(adapter);
        int maxTokens = RequestValidator.validate(prompt, params, vocabSize, maxModelLen);
        if (params.promptLogprobs() != null && !runner.computesEveryTokenLogits()) {
            throw new InvalidRequestException("prompt_logprobs", "prompt logprobs are not computed on this device.");
        }
        RequestValidator.validateSequences(prompt.length, maxTokens, params, maxNumSeqs, kv, allocationPolicy,
                maxModelLen);
        TokenConstraint constraint = null;
        if (params.constraint() != null) {
            try {
                constraint = constraints.compile(params.constraint());
            } catch (ConstraintException e) {
                throw new InvalidConstraintException(e.getMessage());
            }
        }
        return new Request(id, prompt, params, maxTokens, System.nanoTime(), cacheSalt, constraint, priority, adapter,
                slot);
    }

    /**
     * Validates one prompt of an embedding submission and makes its request: the prompt runs as any
     * other's (chunks, prefix cache, priority) with one greedy token after it that nobody sees, and the
     * request's last output carries the prompt's last final hidden state. The prompt may fill the whole
     * context, as vLLM allows for embeddings: that token is sampled but never runs.
     */
    Request newEmbeddingRequest(String id, int[] prompt, String cacheSalt, int priority, String adapter) {
        checkIdAndPriority(id, priority);
        int slot = adapterSlot(adapter);
        if (!runner.computesHiddenStates()) {
            throw new InvalidRequestException("input", "Embeddings are not computed on this device.");
        }
        if (prompt != null && prompt.length > maxModelLen) {
            // vLLM's words
            throw new InvalidRequestException("input", "This model's maximum context length is " + maxModelLen
                    + " tokens. However, you requested " + prompt.length + " tokens in the input for embedding"
                    + " generation. Please reduce the length of the input.");
        }
        SamplingParams params = SamplingParams.greedy(1);
        RequestValidator.validate(prompt, params, vocabSize, maxModelLen + 1);
        RequestValidator.validateSequences(prompt.length, 1, params, maxNumSeqs, kv, allocationPolicy, maxModelLen);
        Request r = new Request(id, prompt, params, 1, System.nanoTime(), cacheSalt, null, priority, adapter, slot);
        r.pooling = true;
        return r;
    }

    /** The model's slot of LoRA adapter {@code name}: 0 for null (the base model), from 1 for its adapters. */
    private int adapterSlot(String name) {
        if (name == null) return 0;
        int i = adapterNames.indexOf(name);
        if (i >= 0) return i + 1;
        throw new InvalidRequestException("model", "There is no LoRA adapter named " + name + ".");
    }

    /** A request needs an id, and a priority other than 0 needs {@link SchedulingPolicy#PRIORITY}. */
    private void checkIdAndPriority(String id, int priority) {
        if (id == null || id.isEmpty()) throw new InvalidRequestException(null, "A request id is required.");
        if (priority != 0 && scheduler.policy() != SchedulingPolicy.PRIORITY) {
            // vLLM's words
            throw new InvalidRequestException("priority", "Got priority " + priority
                    + " but Priority scheduling is not enabled.");
        }
    }

    /** Admits a new request: its text starts, its sequence joins the waiting queue. */
    void add(Request r) {
        outputs.open(r.live.getFirst());
        scheduler.addRequest(r);
    }

    /** Ends a request that is aborted or failed: its sequences finish with ABORT and free their blocks. */
    void abort(Request r) {
        if (r.isFinished()) return;
        for (Sequence s : r.sequences()) scheduler.finishSequence(s, FinishReason.ABORT);
        r.finish(FinishReason.ABORT);
    }

    /** Forgets a request that ended (its texts). */
    void forget(Request r) { outputs.close(r); }

    /**
     * The engine's state now, running and waiting in sequences (a request with n = 4 counts 4, as in
     * vLLM's v1 engine, which runs its samples as child requests); {@code notAdmitted}: the sequences of
     * requests queued and not yet handed to {@link #add}.
     */
    EngineStats stats(int notAdmitted) {
        boolean lora = !adapterNames.isEmpty();
        return new EngineStats(scheduler.numRunning(), scheduler.numWaiting() + notAdmitted, kv.numFreeBlocks(),
                kv.numTotalBlocks(), kv.usage(), scheduler.numPreemptions(), scheduler.numSwapped(), kv.swapUsage(),
                kv.numFreeSwapBlocks(), kv.numSwapBlocks(), lora ? scheduler.adapters(true) : Set.of(),
                lora ? scheduler.adapters(false) : Set.of());
    }

    /** Schedules, runs the model and processes its logits. A failure fails only the requests it touches. */
    StepResult step() {
        if (speculation != null) speculation.propose(scheduler);
        SchedulerOutput plan = scheduler.schedule();
        metrics.recordSchedule(plan, scheduler.numPreemptions());
        // Swaps and copies first, even in a step that runs nothing: freed blocks may be reused next.
        runner.applyBlockOps(plan.blockOps());
        metrics.recordBlockOps(plan.blockOps());
        Map<Request, Throwable> failed = new LinkedHashMap<>();
        if (plan.isEmpty()) {
            if (plan.preempted().isEmpty() && plan.blockOps().isEmpty() && scheduler.hasWork()) {
                // Nothing can move (cannot happen with a cache that holds what validation allows); never spin on it.
                Request head = scheduler.headOfLine();
                log.error("No progress possible: {} running, {} waiting, {} swapped, {} free blocks; failing "
                        + "request {}", scheduler.numRunning(), scheduler.numWaiting(), scheduler.numSwapped(),
                        kv.numFreeBlocks(), head.requestId());
                fail(head, new IllegalStateException("request " + head.requestId()
                        + " cannot be scheduled: the KV cache is too small"), failed);
            }
            return new StepResult(Map.of(), failed, false);
        }
        numSteps++;
        metrics.recordIterationTokens(plan.numScheduledTokens());
        long now = System.nanoTime();
        Set<Request> requests = new LinkedHashSet<>();
        for (ScheduledSequence s : plan.scheduled()) requests.add(scheduler.requestOf(s.sequence()));
        for (Request r : requests) {
            if (r.firstScheduledNanos >= 0) continue;
            r.firstScheduledNanos = now;
            onFirstScheduled.accept(r);
            metrics.recordFirstScheduled(r, now);
        }
        float[][] logits;
        boolean[] forPrompts = promptLogprobs.wanted(plan);
        boolean[] drafted = speculation == null ? null : speculation.wanted(plan);
        boolean[] everyToken = either(forPrompts, drafted);
        try {
            logits = runner.execute(plan, kv, everyToken, (i, ss, position, row) -> {
                if (forPrompts != null && forPrompts[i]) promptLogprobs.accept(ss, position, row);
                if (drafted != null && drafted[i]) speculation.accept(i, ss, position, row);
            }, embeddings(plan));
            // before the sampler, which may change a row
            if (forPrompts != null) promptLogprobs.acceptLast(plan, forPrompts, logits);
        } catch (Throwable t) {
            log.error("Step {} failed in the model; failing its {} requests", numSteps, requests.size(), t);
            for (Request r : requests) fail(r, t, failed);
            return new StepResult(Map.of(), failed, false);
        }
        scheduler.updateFromStep(plan);
        Map<Request, List<SequenceDelta>> deltas = tokens.process(plan, logits, drafted == null ? null : speculation,
                (r, t) -> fail(r, t, failed));
        if (speculation != null) speculation.endStep(plan, scheduler);
        metrics.recordPromptTokens(plan);
        return new StepResult(deltas, failed, true);
    }

    /** Per sequence, whether either marks it; null when neither marks any. */
    private static boolean[] either(boolean[] a, boolean[] b) {
        if (a == null) return b;
        if (b == null) return a;
        boolean[] both = new boolean[a.length];
        for (int i = 0; i < a.length; i++) both[i] = a[i] || b[i];
        return both;
    }

    /**
     * Where the step's last hidden states go when an embedding request's prompt ends in it (null: none
     * does): that request keeps a copy of its sequence's row. A prompt ends in one step, chunked or not.
     */
    private LanguageModel.HiddenStates embeddings(SchedulerOutput plan) {
        Request[] ending = null;  // by the sequence's index in the step
        List<ScheduledSequence> scheduled = plan.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            ScheduledSequence ss = scheduled.get(i);
            Sequence seq = ss.sequence();
            Request r = scheduler.requestOf(seq);
            if (r.pooling && r.embedding == null && ss.start() + ss.numNewTokens() == seq.numPromptTokens()) {
                if (ending == null) ending = new Request[scheduled.size()];
                ending[i] = r;
            }
        }
        if (ending == null) return null;
        Request[] wanted = ending;
        int dim = hiddenSize;
        return (s, hidden, offset) -> {
            if (wanted[s] != null) wanted[s].embedding = Arrays.copyOfRange(hidden, offset, offset + dim);
        };
    }

    /** Fails every live request (the engine loop hit a bug): their blocks are freed, their Flux errors. */
    StepResult failAll(Throwable error) {
        Map<Request, Throwable> failed = new LinkedHashMap<>();
        for (Request r : scheduler.requests()) fail(r, error, failed);
        return new StepResult(Map.of(), failed, false);
    }

    private void fail(Request r, Throwable error, Map<Request, Throwable> failed) {
        abort(r);
        failed.putIfAbsent(r, error);
    }

    /** Releases the KV cache's device memory. */
    @Override
    public void close() { runner.close(); }
}
