package io.quire;

import io.quire.model.LoadProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far the model file has been read at startup, for the log (a line a second at most, and the
 * last one) and for {@link LoadingServer}'s {@code /health}. Written by the loading thread, read by
 * any.
 */
final class ModelLoadProgress implements LoadProgress {
    private static final Logger log = LoggerFactory.getLogger(ModelLoadProgress.class);
    private static final long LOG_EVERY_NANOS = 1_000_000_000L;

    private final String model;
    private volatile double percent;
    private long lastLog = System.nanoTime();

    ModelLoadProgress(String model) {
        this.model = model;
    }

    /** 0 to 100. */
    double percent() { return percent; }

    @Override
    public void read(long bytesDone, long bytesTotal) {
        percent = bytesTotal == 0 ? 100 : 100.0 * bytesDone / bytesTotal;
        long now = System.nanoTime();
        boolean last = bytesDone == bytesTotal;
        if (!last && now - lastLog < LOG_EVERY_NANOS) return;
        lastLog = now;
        log.info("Loading {}: {} % ({} of {} MiB read)", model, Math.round(percent), bytesDone >> 20, bytesTotal >> 20);
    }
}
