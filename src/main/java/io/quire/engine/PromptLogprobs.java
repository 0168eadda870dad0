package io.quire.engine;

import java.util.List;

/**
 * Prompt logprobs as a step computes them: which scheduled prompt chunks need the logits of every
 * token and not only the last one's, and what each of those rows becomes. A row at position p gives
 * the logprob of prompt token p + 1; each request collects them in order, once (a prompt computed
 * again after a preemption adds nothing it has). From the raw logits, as vLLM's default logprobs
 * mode. Engine thread only.
 */
final class PromptLogprobs {
    private final Sampler sampler = new Sampler();
    private final Scheduler scheduler;

    PromptLogprobs(Scheduler scheduler) {
        this.scheduler = scheduler;
    }

    /** Per scheduled sequence, whether its chunk holds a position whose prompt logprob is still missing; null: none. */
    boolean[] wanted(SchedulerOutput plan) {
        boolean[] wanted = null;
        List<ScheduledSequence> scheduled = plan.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            ScheduledSequence ss = scheduled.get(i);
            Request r = scheduler.requestOf(ss.sequence());
            if (!r.wantsPromptLogprobs() || ss.start() + ss.numNewTokens() <= r.promptLogprobs.size()) continue;
            if (wanted == null) wanted = new boolean[scheduled.size()];
            wanted[i] = true;
        }
        return wanted;
    }

    /** The logits at {@code position} of a scheduled sequence: the next prompt token's logprob, if still missing. */
    void accept(ScheduledSequence ss, int position, float[] logits) {
        Sequence seq = ss.sequence();
        Request r = scheduler.requestOf(seq);
        if (r.promptLogprobs == null || position != r.promptLogprobs.size() || position + 1 >= r.numPromptTokens()) {
            return;
        }
        int token = seq.token(position + 1);
        int rank = 1;
        float logit = logits[token];
        for (float v : logits) if (v > logit) rank++;
        r.promptLogprobs.add(new PromptLogprob(sampler.logprobs(logits, token, r.params().promptLogprobs()), rank));
    }

    /** Each wanted sequence's last row, which the model returned with the step's logits. */
    void acceptLast(SchedulerOutput plan, boolean[] wanted, float[][] logits) {
        for (int i = 0; i < wanted.length; i++) {
            if (!wanted[i]) continue;
            ScheduledSequence ss = plan.scheduled().get(i);
            accept(ss, ss.start() + ss.numNewTokens() - 1, logits[i]);
        }
    }
}
