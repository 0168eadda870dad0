package io.quire.backend;

import io.quire.backend.cuda.Cuda;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Chooses the device from {@code quire.device=auto|cpu|cuda}: {@code auto} takes the GPU when the
 * CUDA driver loads and a device exists, else the CPU; {@code cuda} fails with the reason when no
 * GPU can be used. The choice and its reason are logged once per call at INFO: a machine without
 * a GPU (no {@code libcuda.so.1}) is the normal case, not an error.
 */
public final class DeviceSelector {
    public static final String PROPERTY = "quire.device";
    private static final Logger log = LoggerFactory.getLogger(DeviceSelector.class);

    /** The chosen device and why. */
    public record Selection(Device device, String reason) {
        public String logLine() {
            return "device: " + device.id() + " (" + reason + ")";
        }
    }

    private DeviceSelector() {}

    /** Selects from the {@value #PROPERTY} system property (default {@code auto}). */
    public static Selection select() {
        return select(System.getProperty(PROPERTY, "auto"));
    }

    public static Selection select(String spec) {
        return select(spec, Cuda::available, Cuda::unavailableReason, () -> Cuda.device().describe());
    }

    /** The rule itself, with the CUDA probe passed in (tests give a fake one). */
    static Selection select(String spec, BooleanSupplier cudaAvailable, Supplier<String> unavailableReason,
            Supplier<String> deviceName) {
        String s = spec == null || spec.isBlank() ? "auto" : spec.trim().toLowerCase(Locale.ROOT);
        Selection sel = switch (s) {
            case "cpu" -> new Selection(Device.CPU, PROPERTY + "=cpu");
            case "cuda" -> {
                if (!cudaAvailable.getAsBoolean()) {
                    throw new IllegalStateException(PROPERTY + "=cuda but CUDA cannot be used: "
                            + unavailableReason.get());
                }
                yield new Selection(Device.CUDA, PROPERTY + "=cuda: " + deviceName.get());
            }
            case "auto" -> cudaAvailable.getAsBoolean()
                    ? new Selection(Device.CUDA, PROPERTY + "=auto found " + deviceName.get())
                    : new Selection(Device.CPU, PROPERTY + "=auto, " + unavailableReason.get());
            default -> throw new IllegalArgumentException("unknown " + PROPERTY + " '" + spec
                    + "' (expected auto, cpu or cuda)");
        };
        log.info(sel.logLine());
        return sel;
    }
}
