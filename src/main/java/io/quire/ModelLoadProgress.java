package io.quire;

import io.quire.model.LoadProgress;
import io.quire.model.hub.DownloadProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far the model has come at startup: the Hub download of each file (a {@code quire.model} given
 * as {@code Org/Name}), then the read of the weights; for the log (a line a second at most, and the
 * last one) and for {@link LoadingServer}'s {@code /health}. Written by the loading thread, read by any.
 */
final class ModelLoadProgress implements LoadProgress, DownloadProgress {
    private static final Logger log = LoggerFactory.getLogger(ModelLoadProgress.class);
    private static final long LOG_EVERY_NANOS = 1_000_000_000L;

    /** What /health says the server is doing. */
    enum Phase { DOWNLOADING, READING }

    private final String model;
    private volatile double percent;
    private volatile Phase phase = Phase.READING;
    private volatile String file;
    private long lastLog = System.nanoTime();

    ModelLoadProgress(String model) {
        this.model = model;
    }

    /** 0 to 100, of the file being downloaded or of the weights being read. */
    double percent() { return percent; }

    Phase phase() { return phase; }

    /** The file being downloaded (null when reading). */
    String file() { return file; }

    @Override
    public void read(long bytesDone, long bytesTotal) {
        phase = Phase.READING;
        file = null;
        percent = bytesTotal == 0 ? 100 : 100.0 * bytesDone / bytesTotal;
        long now = System.nanoTime();
        boolean last = bytesDone == bytesTotal;
        if (!last && now - lastLog < LOG_EVERY_NANOS) return;
        lastLog = now;
        log.info("Loading {}: {} % ({} of {} MiB read)", model, Math.round(percent), bytesDone >> 20, bytesTotal >> 20);
    }

    /** The download's own log lines are DownloadProgress.log's; this only keeps the state for /health. */
    @Override
    public void advanced(String name, long done, long total) {
        file = name;
        percent = total <= 0 ? 100 : 100.0 * done / total;
        phase = Phase.DOWNLOADING;
    }

    @Override
    public void finished(String name, long total, boolean cached) {
        advanced(name, total, total);
    }
}
