package io.quire.engine;

import io.quire.model.tokenizer.StreamingDetokenizer;
import io.quire.model.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the client sees of its sequences (vLLM v1's {@code OutputProcessor}): each sequence's
 * streaming detokenizer and stop-string matcher, the outputs held back when a request returns
 * them only at the end (best_of > n, beam search), and the {@link SequenceDelta}s and
 * {@link RequestOutput}s built from them. Engine thread only.
 */
final class OutputProcessor {
    private final Tokenizer tokenizer;
    private final StopChecker stops;
    private final Map<Sequence, SequenceStream> streams = new IdentityHashMap<>();

    /** One sequence's way out: its text so far, and what it produced while its request holds outputs. */
    private static final class SequenceStream {
        final StreamingDetokenizer detokenizer;
        final StopStringMatcher stops;
        final StringBuilder heldText = new StringBuilder();
        final List<Integer> heldTokens = new ArrayList<>();
        final List<TokenLogprob> heldLogprobs = new ArrayList<>();
        FinishReason heldReason;

        SequenceStream(StreamingDetokenizer detokenizer, StopStringMatcher stops) {
            this.detokenizer = detokenizer;
            this.stops = stops;
        }
    }

    OutputProcessor(Tokenizer tokenizer, StopChecker stops) {
        this.tokenizer = tokenizer;
        this.stops = stops;
    }

    /** Starts a sequence's text (at admission, or when it is forked). */
    void open(Sequence seq) {
        SamplingParams p = seq.params();
        streams.put(seq, new SequenceStream(new StreamingDetokenizer(tokenizer, p.skipSpecialTokens()),
                new StopStringMatcher(p.stop() == null ? List.of() : p.stop(), p.includeStopStrInOutput())));
    }

    /**
     * The delta of the token just appended to {@code seq}: the text it releases, and the reason the
     * sequence stops ({@link StopChecker#checkStop}, stop strings included), null while it runs on.
     */
    SequenceDelta addToken(Sequence seq, int token, List<TokenLogprob> logprobs) {
        SequenceStream st = streams.get(seq);
        SamplingParams p = seq.params();
        boolean minReached = StopChecker.minTokensReached(p, seq.numOutputTokens());
        // As vLLM, a stop token's own text is left out unless stop strings are to be included.
        String piece = stops.endsWithStopToken(seq) && !p.includeStopStrInOutput() ? "" : st.detokenizer.add(token);
        StringBuilder text = new StringBuilder(st.stops.add(piece, minReached));
        FinishReason reason = stops.checkStop(seq, st.stops.matched() != null);
        if (reason != null && st.stops.matched() == null) {
            text.append(st.stops.add(st.detokenizer.flush(), minReached));
            text.append(st.stops.flush());
        }
        return new SequenceDelta(seq.index(), text.toString(), new int[]{token}, logprobs, reason);
    }

    /** Keeps a delta back until the request ends (best_of > n). */
    void hold(Sequence seq, SequenceDelta delta) {
        SequenceStream st = streams.get(seq);
        st.heldText.append(delta.text());
        for (int t : delta.tokenIds()) st.heldTokens.add(t);
        st.heldLogprobs.addAll(delta.logprobs());
        if (delta.finishReason() != null) st.heldReason = delta.finishReason();
    }

    /** best_of > n, every sequence done: the n with the highest cumulative logprob, as indices 0..n-1. */
    List<SequenceDelta> bestOf(Request req) {
        List<Sequence> best = new ArrayList<>(req.all);
        best.sort(Comparator.comparingDouble(Sequence::cumulativeLogprob).reversed());
        List<SequenceDelta> out = new ArrayList<>();
        int returned = 0;
        for (int i = 0; i < req.n(); i++) {
            SequenceStream st = streams.get(best.get(i));
            int[] tokens = st.heldTokens.stream().mapToInt(Integer::intValue).toArray();
            out.add(new SequenceDelta(i, st.heldText.toString(), tokens, List.copyOf(st.heldLogprobs), st.heldReason));
            returned += tokens.length;
        }
        req.returned = returned;
        return out;
    }

    /** Beam search done: the chosen beams' whole texts, best first. */
    List<SequenceDelta> beams(Request req, List<Request.BeamResult> chosen) {
        List<SequenceDelta> out = new ArrayList<>();
        int returned = 0;
        for (int i = 0; i < chosen.size(); i++) {
            Request.BeamResult res = chosen.get(i);
            StreamingDetokenizer d = new StreamingDetokenizer(tokenizer, req.params().skipSpecialTokens());
            StringBuilder text = new StringBuilder();
            for (int t : res.outputIds()) text.append(d.add(t));
            text.append(d.flush());
            out.add(new SequenceDelta(i, text.toString(), res.outputIds(), List.of(), res.reason()));
            returned += res.outputIds().length;
        }
        req.returned = returned;
        return out;
    }

    /** What an aborted request's subscriber gets last: every returned sequence ends with ABORT. */
    static RequestOutput aborted(Request req) {
        List<SequenceDelta> deltas = new ArrayList<>();
        for (int i = 0; i < req.n(); i++) {
            deltas.add(new SequenceDelta(i, "", new int[0], List.of(), FinishReason.ABORT));
        }
        // no prompt logprobs: they may be incomplete
        return new RequestOutput(req.requestId(), List.copyOf(deltas), req.numPromptTokens(), req.completionTokens(),
                req.isFinished());
    }

    /** One step's output of a request (final when the request is finished). */
    static RequestOutput output(Request req, List<SequenceDelta> deltas) {
        return new RequestOutput(req.requestId(), List.copyOf(deltas), req.numPromptTokens(),
                req.completionTokens(), req.isFinished(), req.takePromptLogprobs(),
                req.isFinished() ? req.embedding : null);
    }

    /** Forgets a request's sequences (it finished, was aborted or failed). */
    void close(Request req) {
        for (Sequence s : req.all) streams.remove(s);
    }
}
