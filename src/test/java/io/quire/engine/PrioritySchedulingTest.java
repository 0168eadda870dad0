package io.quire.engine;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** vLLM's priority scheduling through the engine: served by priority, then arrival; refused under FCFS. */
class PrioritySchedulingTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /**
     * The order in which requests "a" (priority 0, first), "b" (5) and "c" (1) finish, one running at a time
     * (under FCFS all of priority 0).
     */
    private static List<String> finishOrder(SchedulingPolicy policy) throws InterruptedException {
        ToyModel model = new ToyModel(64, 256);
        // The engine thread waits inside a's first step until b and c are queued: which of them runs after a
        // is then the scheduler's choice alone.
        CountDownLatch inStep = new CountDownLatch(1), queued = new CountDownLatch(1);
        model.failWhen = batch -> {
            inStep.countDown();
            try {
                return !queued.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
        try (LLMEngine engine = TestEngines.with(model).maxNumSeqs(1).schedulingPolicy(policy).build()) {
            List<String> finished = Collections.synchronizedList(new ArrayList<>());
            SamplingParams params = SamplingParams.greedy(40).withIgnoreEos(true);
            int[] prompt = {1, 5, 6, 7};
            String[] ids = {"a", "b", "c"};
            int[] priorities = policy == SchedulingPolicy.PRIORITY ? new int[] {0, 5, 1} : new int[] {0, 0, 0};
            List<Mono<Void>> done = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String id = ids[i];
                Mono<Void> d = engine.generate(List.of(id), List.of(prompt), params, null, priorities[i]).getFirst()
                        .doOnComplete(() -> finished.add(id)).then().cache();
                d.subscribe();
                done.add(d);
                if (i == 0) assertThat(inStep.await(60, TimeUnit.SECONDS)).isTrue();
            }
            queued.countDown();
            Mono.when(done).block(TIMEOUT);
            TestEngines.awaitAllBlocksFree(engine);
            return finished;
        }
    }

    @Test
    void requestsAreServedByPriorityThenArrival() throws Exception {
        assertThat(finishOrder(SchedulingPolicy.PRIORITY)).containsExactly("a", "c", "b");
        assertThat(finishOrder(SchedulingPolicy.FCFS)).containsExactly("a", "b", "c");
    }

    @Test
    void aPriorityOtherThanZeroIsRefusedUnderFcfsInVllmsWords() {
        try (LLMEngine engine = TestEngines.with(new ToyModel(64, 256)).build()) {
            assertThatThrownBy(() -> engine.generate(List.of("x"), List.of(new int[] {1, 2}),
                    SamplingParams.greedy(2), null, 3))
                    .isInstanceOfSatisfying(InvalidRequestException.class,
                            e -> assertThat(e.param()).isEqualTo("priority"))
                    .hasMessage("Got priority 3 but Priority scheduling is not enabled.");
        }
    }
}
