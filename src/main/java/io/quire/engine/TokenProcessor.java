package io.quire.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * What a sequence's logits become once a step has computed them, by the kind of its request: a
 * sampled token (a parallel request first forks into its {@code best_of} sequences, which share
 * the prompt's blocks), appended and turned into a delta by the {@link OutputProcessor}, or beam
 * candidates for {@link BeamSearch}. Finished sequences leave the scheduler at once; a request
 * whose last sequence finished is marked finished, with its final deltas. Engine thread only.
 */
final class TokenProcessor {
    private static final Logger log = LoggerFactory.getLogger(TokenProcessor.class);
    private final Sampler sampler = new Sampler();
    /** Scratch for a constrained sequence's masked logits. */
    private float[] masked = new float[0];
    /** Scratch for the logits of a sequence's allowed_token_ids while its row is masked. */
    private float[] kept = new float[0];
    private final StopChecker stops;
    private final OutputProcessor outputs;
    private final BeamSearch beams;
    private final Scheduler scheduler;
    private final EngineMetrics metrics;

    TokenProcessor(StopChecker stops, OutputProcessor outputs, Scheduler scheduler, EngineMetrics metrics) {
        this.stops = stops;
        this.outputs = outputs;
        this.beams = new BeamSearch(stops, outputs, scheduler, metrics);
        this.scheduler = scheduler;
        this.metrics = metrics;
    }

    /**
     * Processes the step's sequences that reached their last token, in batch order, and returns
     * what each request emits. One that throws fails its own request ({@code onError}), not the step.
     */
    Map<Request, List<SequenceDelta>> process(SchedulerOutput out, float[][] logits,
                                              BiConsumer<Request, Throwable> onError) {
        return process(out, logits, null, onError);
    }

    /** As above, the sequences that ran drafted tokens verifying them through {@code spec}'s rows (null: none). */
    Map<Request, List<SequenceDelta>> process(SchedulerOutput out, float[][] logits, SpeculativeDecoding spec,
                                              BiConsumer<Request, Throwable> onError) {
        long now = System.nanoTime();
        Map<Request, List<SequenceDelta>> deltas = new LinkedHashMap<>();
        for (int i = 0; i < out.scheduled().size(); i++) {
            Sequence seq = out.scheduled().get(i).sequence();
            // A prompt chunk short of its end has nothing to sample; a failed request's sequences are finished.
            if (seq.numUncomputedTokens() != 0 || seq.isFinished()) continue;
            Request req = scheduler.requestOf(seq);
            try {
                int drafted = spec == null ? 0 : spec.drafted(i);
                if (drafted > 0) spec.accepted(i, verify(req, seq, spec, i, drafted, logits[i], now, deltas));
                else process(req, seq, logits[i], now, deltas);
            } catch (InvalidRequestException e) {
                // The request's own parameters leave nothing to sample: the client's error, not the server's.
                log.debug("Request {} cannot go on: {}", req.requestId(), e.getMessage());
                deltas.remove(req);
                onError.accept(req, e);
            } catch (Throwable t) {
                log.error("Sampling failed for request {}", req.requestId(), t);
                deltas.remove(req);
                onError.accept(req, t);
            }
        }
        return deltas;
    }

    /** Processes one sequence's logits, adding what its request emits this step to {@code deltas}. */
    private void process(Request req, Sequence seq, float[] logits, long now,
                         Map<Request, List<SequenceDelta>> deltas) {
        switch (req.kind()) {
            case SINGLE -> sample(req, seq, logits, now, deltas);
            case PARALLEL -> {
                if (req.forked) {
                    sample(req, seq, logits, now, deltas);
                    return;
                }
                // The prompt is done: fork into best_of sequences sharing its blocks, each sampling its first.
                req.forked = true;
                List<Sequence> seqs = new ArrayList<>();
                seqs.add(seq);
                for (int i = 1; i < req.width(); i++) {
                    SamplingState state = SamplingState.forSequence(seq.params().seed(), i, seq.promptIds());
                    Sequence child = req.fork(seq, i, state);
                    scheduler.fork(seq, child);
                    outputs.open(child);
                    seqs.add(child);
                }
                // The sampler gives the row back as it came, so every sequence samples from the same one.
                for (Sequence s : seqs) sample(req, s, logits, now, deltas);
            }
            case BEAM -> beams.add(req, seq, constrained(seq, logits), now, deltas);
        }
    }

    /**
     * A sequence that ran {@code drafted} drafted tokens after its last one: samples at each of those
     * positions in turn as if the tokens had come a step at a time (penalties, constraints, stop checks
     * and the random stream all see the tokens before), and goes on while the sampled token is the
     * drafted one, whose KV the step has computed. For a draft that is one token with certainty this is
     * rejection sampling (the draft kept with probability p(t), else a token from p without t), so the
     * outputs are distributed as without drafts, and a seeded request gets the same tokens (up to the
     * last bits of logits computed in a batch of another shape). Returns the drafted tokens kept; the
     * step's tokens of the sequence go out as one delta.
     */
    private int verify(Request req, Sequence seq, SpeculativeDecoding spec, int i, int drafted, float[] last,
                       long now, Map<Request, List<SequenceDelta>> deltas) {
        int[] draft = seq.draft();
        List<SequenceDelta> list = deltas.get(req);
        int before = list == null ? 0 : list.size();
        int kept = 0;
        for (int j = 0; j <= drafted; j++) {
            int token = sample(req, seq, j < drafted ? spec.row(i, j) : last, now, deltas);
            if (seq.isFinished() || j == drafted || token != draft[j]) break;
            seq.advanceComputed(1);
            kept++;
        }
        list = deltas.get(req);
        if (!req.holdsOutputs() && list != null && list.size() > before + 1) {
            List<SequenceDelta> mine = list.subList(before, list.size());
            SequenceDelta merged = merge(mine);
            mine.clear();
            list.add(merged);
        }
        return kept;
    }

    /** One sequence's consecutive deltas as one. */
    private static SequenceDelta merge(List<SequenceDelta> parts) {
        StringBuilder text = new StringBuilder();
        List<TokenLogprob> logprobs = new ArrayList<>();
        for (SequenceDelta d : parts) {
            text.append(d.text());
            logprobs.addAll(d.logprobs());
        }
        int[] tokens = parts.stream().flatMapToInt(d -> Arrays.stream(d.tokenIds())).toArray();
        return new SequenceDelta(parts.getFirst().index(), text.toString(), tokens, List.copyOf(logprobs),
                parts.getLast().finishReason());
    }

    /** Samples the sequence's next token and adds its delta (or holds it until the request ends); returns it. */
    private int sample(Request req, Sequence seq, float[] logits, long now, Map<Request, List<SequenceDelta>> deltas) {
        SamplingParams p = seq.params();
        logits = constrained(seq, logits);
        Sampler.Sample sample = sampler.sample(logits, p, seq.samplingState(), stops.suppressedBeforeMinTokens(p));
        int token = sample.tokenId();
        // best_of ranks sequences by their raw cumulative logprob (the sampler restored the raw row)
        if (req.width() > 1) seq.addLogprob(logSoftmax(logits, token));
        seq.appendOutput(token);
        metrics.recordTokens(req, now, 1);
        List<TokenLogprob> logprobs = sample.logprob() == null ? List.of() : List.of(sample.logprob());
        SequenceDelta delta = outputs.addToken(seq, token, logprobs);
        if (delta.finishReason() != null) scheduler.finishSequence(seq, delta.finishReason());
        if (!req.holdsOutputs()) {
            deltas.computeIfAbsent(req, k -> new ArrayList<>()).add(delta);
            if (req.live.isEmpty()) req.finish(delta.finishReason());
            return token;
        }
        outputs.hold(seq, delta);
        if (!req.live.isEmpty()) return token;
        List<SequenceDelta> best = outputs.bestOf(req);
        req.finish(best.getFirst().finishReason());
        deltas.put(req, best);
        return token;
    }

    /**
     * The row the sequence samples from: its logits, or with a constraint, allowed_token_ids or
     * bad_words a copy holding only the tokens they allow (as vLLM applies the grammar bitmask and
     * those logits processors before sampling, so logprobs and best_of's ranking are over the
     * allowed tokens). The raw row stays as it is for the other sequences sampling from it.
     */
    private float[] constrained(Sequence seq, float[] logits) {
        List<Integer> allowed = seq.params().allowedTokenIds();
        List<List<Integer>> bad = seq.params().badWordsTokenIds();
        if (seq.constraint() == null && allowed == null && bad == null) return logits;
        if (masked.length != logits.length) masked = new float[logits.length];
        float[] row = seq.constraint() == null ? logits
                : seq.constraint().mask(logits, masked, seq.maxOutputTokens() - seq.numOutputTokens());
        if (allowed != null) {
            // allowed_token_ids: only those keep their logit (of the constraint's row when there is one).
            if (kept.length < allowed.size()) kept = new float[allowed.size()];
            for (int i = 0; i < allowed.size(); i++) kept[i] = row[allowed.get(i)];
            Arrays.fill(masked, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < allowed.size(); i++) masked[allowed.get(i)] = kept[i];
            row = masked;
        }
        if (bad != null) {
            for (List<Integer> word : bad) {
                int last = word.getLast();
                if (!endsWith(seq, word) || row[last] == Float.NEGATIVE_INFINITY) continue;
                if (row == logits) {  // the raw row is shared by the request's sequences: ban in a copy
                    System.arraycopy(logits, 0, masked, 0, logits.length);
                    row = masked;
                }
                row[last] = Float.NEGATIVE_INFINITY;
            }
        }
        return row;
    }

    /** Whether the output ends with all of {@code word} but its last token (vLLM's bad_words match). */
    private static boolean endsWith(Sequence seq, List<Integer> word) {
        int k = word.size() - 1;
        int out = seq.numOutputTokens();
        if (out < k) return false;
        int from = seq.numTokens() - k;
        for (int i = 0; i < k; i++) if (seq.token(from + i) != word.get(i)) return false;
        return true;
    }

    /** The raw log-softmax value of {@code token}. */
    private static double logSoftmax(float[] raw, int token) {
        return raw[token] - LogSoftmax.logSumExp(raw);
    }
}
