package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @Test
    void coversEveryIndexExactlyOnce() {
        for (int threads : new int[] {1, 2, 3, 8}) {
            Parallel.setThreads(threads);
            for (int n : new int[] {0, 1, 2, 7, 100, 1001}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
                Parallel.forRange(n, (from, to) -> {
                    for (int i = from; i < to; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("threads %d n %d i %d", threads, n, i)
                        .isEqualTo(1);
            }
        }
    }

    @Test
    void nestedLoopsDoNotDeadlock() {
        Parallel.setThreads(2);
        AtomicIntegerArray hits = new AtomicIntegerArray(64);
        Parallel.forRange(8, (from, to) -> {
            for (int i = from; i < to; i++) {
                int outer = i;
                Parallel.forRange(8, (f, t) -> {
                    for (int j = f; j < t; j++) hits.incrementAndGet(outer * 8 + j);
                });
            }
        });
        for (int i = 0; i < 64; i++) assertThat(hits.get(i)).isEqualTo(1);
    }

    @Test
    void bodyExceptionReachesCaller() {
        Parallel.setThreads(2);
        assertThatThrownBy(() -> Parallel.forRange(50, (from, to) -> {
            if (from <= 30 && 30 < to) throw new IllegalStateException("boom");
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
    }

    @Test
    void rejectsZeroThreads() {
        assertThatThrownBy(() -> Parallel.setThreads(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
