package io.quire.backend;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.quire.backend.cuda.Cuda;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class DeviceSelectorTest {
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(DeviceSelector.class);

    @BeforeEach
    void capture() {
        logs.start();
        logger.addAppender(logs);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logs);
    }

    @Test
    void autoFallsBackToCpuWithTheReasonLoggedAtInfoWhereThereIsNoGpu() {
        assumeFalse(Cuda.available(), "this machine has a usable GPU");
        DeviceSelector.Selection sel = DeviceSelector.select("auto");
        assertThat(sel.device()).isEqualTo(Device.CPU);
        assertThat(Cuda.unavailableReason()).startsWith("no GPU: ");
        assertThat(logs.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.INFO);
            assertThat(e.getFormattedMessage()).startsWith("device: cpu (quire.device=auto, no GPU: ");
        });
    }

    @Test
    void cudaWithoutAGpuFailsWithTheReason() {
        assumeFalse(Cuda.available(), "this machine has a usable GPU");
        assertThatThrownBy(() -> DeviceSelector.select("cuda"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("quire.device=cuda but CUDA cannot be used: no GPU: ");
    }

    @Test
    void autoTakesTheGpuWhenOneIsThere() {
        DeviceSelector.Selection sel = DeviceSelector.select("AUTO", () -> true, () -> null, () -> "Test GPU");
        assertThat(sel.device()).isEqualTo(Device.CUDA);
        assertThat(logs.list)
                .anySatisfy(e -> assertThat(e.getFormattedMessage())
                .isEqualTo("device: cuda (quire.device=auto found Test GPU)"));
    }

    @Test
    void cpuIsTakenEvenWithAGpu() {
        assertThat(DeviceSelector.select("cpu", () -> true, () -> null, () -> "Test GPU").device())
                .isEqualTo(Device.CPU);
        assertThat(DeviceSelector.select(" ", () -> false, () -> "no GPU: test", () -> "x").device())
                .isEqualTo(Device.CPU);
    }

    @Test
    void unknownDeviceIsRejected() {
        assertThatThrownBy(() -> DeviceSelector.select("tpu", () -> false, () -> "no", () -> "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected auto, cpu or cuda");
    }
}
