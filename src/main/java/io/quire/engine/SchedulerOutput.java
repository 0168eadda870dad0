package io.quire.engine;

import java.util.List;

/**
 * What the scheduler decided for one step.
 *
 * @param scheduled          requests to run, running ones first, then newly admitted ones
 * @param preempted          requests preempted this step (blocks freed, back at the front of the waiting queue)
 * @param numScheduledTokens tokens in the step
 */
public record SchedulerOutput(List<ScheduledRequest> scheduled, List<Request> preempted, int numScheduledTokens) {

    public boolean isEmpty() { return scheduled.isEmpty(); }
}
