package io.quire.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Beam search (vLLM's {@code BeamSearchParams}): a request's live beams are its sequences. Once
 * every live beam has its logits, each one's top {@code 2*width} continuations compete by
 * cumulative logprob; those ending in a stop token become finished beams, the best {@code width}
 * others live on. A kept beam's first continuation extends it, further ones fork it (sharing all
 * its blocks); beams with none are dropped. The best {@code n} finished beams are returned at the
 * end. Engine thread only.
 */
final class BeamSearch {
    private final StopChecker stops;
    private final OutputProcessor outputs;
    private final Scheduler scheduler;
    private final EngineMetrics metrics;

    BeamSearch(StopChecker stops, OutputProcessor outputs, Scheduler scheduler, EngineMetrics metrics) {
        this.stops = stops;
        this.outputs = outputs;
        this.scheduler = scheduler;
        this.metrics = metrics;
    }

    /** A beam's logits are ready: keeps its candidates, and runs the beam step once every live beam has them. */
    void add(Request req, Sequence beam, float[] logits, long now, Map<Request, List<SequenceDelta>> deltas) {
        req.pending.put(beam, candidates(logits, 2 * req.width()));
        if (req.pending.keySet().containsAll(req.live)) step(req, now, deltas);
    }

    /**
     * The {@code k} most likely next tokens with their (raw, double precision) logprobs, most likely
     * first, ties by lower id.
     */
    static List<Request.Candidate> candidates(float[] logits, int k) {
        double lse = LogSoftmax.logSumExp(logits);
        // A min-heap of the best k so far (its root the worst of them): O(vocab log k), no full sort.
        Comparator<Integer> worseFirst = (a, b) -> logits[a] != logits[b] ? Float.compare(logits[a], logits[b])
                : Integer.compare(b, a);
        PriorityQueue<Integer> heap = new PriorityQueue<>(k + 1, worseFirst);
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] == Float.NEGATIVE_INFINITY) continue; // masked out by a constraint
            if (heap.size() < k) {
                heap.add(i);
            } else if (worseFirst.compare(i, heap.peek()) > 0) {
                heap.poll();
                heap.add(i);
            }
        }
        List<Request.Candidate> out = new ArrayList<>(heap.size());
        while (!heap.isEmpty()) {
            int id = heap.poll();
            out.add(new Request.Candidate(id, logits[id] - lse));
        }
        return out.reversed();
    }

    /**
     * vLLM's beam score: cumulative logprob over the length (prompt plus output, EOS not counted) to
     * the power length_penalty.
     */
    static double score(double cumulativeLogprob, int length, float lengthPenalty) {
        return cumulativeLogprob / Math.pow(length, lengthPenalty);
    }

    /** One beam step, every live beam having its candidates. */
    private void step(Request req, long now, Map<Request, List<SequenceDelta>> deltas) {
        SamplingParams p = req.params();
        record Extension(Sequence beam, int tokenId, double logprob, double cumulative) {}
        List<Extension> extensions = new ArrayList<>();
        for (Sequence b : req.live) {
            for (Request.Candidate c : req.pending.get(b)) {
                double cum = b.cumulativeLogprob() + c.logprob();
                boolean stop = stops.isStopToken(p, c.tokenId());
                if (stop && StopChecker.minTokensReached(p, b.numOutputTokens() + 1)) {
                    int[] out = b.outputIds();
                    if (p.includeStopStrInOutput()) {
                        out = Arrays.copyOf(out, out.length + 1);
                        out[out.length - 1] = c.tokenId();
                    }
                    req.completed.add(new Request.BeamResult(out, cum, score(cum, b.numTokens(), p.lengthPenalty()),
                            FinishReason.STOP));
                } else if (!stop) {
                    extensions.add(new Extension(b, c.tokenId(), c.logprob(), cum));
                }
            }
        }
        // Stable: on ties earlier beams, and likelier tokens, come first.
        extensions.sort(Comparator.comparingDouble(Extension::cumulative).reversed());
        Map<Sequence, List<Extension>> kept = new IdentityHashMap<>();
        for (Extension e : extensions.subList(0, Math.min(req.width(), extensions.size()))) {
            kept.computeIfAbsent(e.beam(), k -> new ArrayList<>()).add(e);
        }
        req.pending.clear();
        for (Sequence b : List.copyOf(req.live)) {
            List<Extension> mine = kept.get(b);
            if (mine == null) {
                // Dropped: its blocks go back (shared ones stay with the others).
                scheduler.finishSequence(b, FinishReason.ABORT);
                continue;
            }
            for (int j = 1; j < mine.size(); j++) {
                Sequence child = req.fork(b, 0, b.samplingState().copyForBeam());
                scheduler.fork(b, child);
                child.appendOutput(mine.get(j).tokenId());
                child.addLogprob(mine.get(j).logprob());
            }
            b.appendOutput(mine.getFirst().tokenId());
            b.addLogprob(mine.getFirst().logprob());
        }
        req.live.sort(Comparator.comparingDouble(Sequence::cumulativeLogprob).reversed());
        req.forked = true;
        metrics.recordTokens(req, now, kept.isEmpty() ? 0 : Math.min(req.width(), extensions.size()));
        // All live beams have the same length: one of them tells whether they are out of tokens.
        if (req.live.isEmpty() || stops.reachedLength(req.live.getFirst())) finish(req, deltas);
    }

    /** Ends the search: the live beams finish by length, and the best n of all finished beams are returned. */
    private void finish(Request req, Map<Request, List<SequenceDelta>> deltas) {
        float lengthPenalty = req.params().lengthPenalty();
        for (Sequence b : List.copyOf(req.live)) {
            req.completed.add(new Request.BeamResult(b.outputIds(), b.cumulativeLogprob(),
                    score(b.cumulativeLogprob(), b.numTokens(), lengthPenalty), FinishReason.LENGTH));
            scheduler.finishSequence(b, FinishReason.LENGTH);
        }
        List<Request.BeamResult> best = new ArrayList<>(req.completed);
        best.sort(Comparator.comparingDouble(Request.BeamResult::score).reversed());
        List<SequenceDelta> out = outputs.beams(req, best.subList(0, Math.min(req.n(), best.size())));
        req.finish(out.isEmpty() ? FinishReason.LENGTH : out.getFirst().finishReason());
        deltas.put(req, out);
    }
}
