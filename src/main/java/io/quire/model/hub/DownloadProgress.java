package io.quire.model.hub;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;

/** How a download shows its progress: a bar on a terminal, lines in a log. */
public interface DownloadProgress {
    /** {@code done} of {@code total} bytes of {@code file} are on disk (a resumed file starts above 0). */
    void advanced(String file, long done, long total);

    /** The file is complete and checked; {@code cached}: it was already there. */
    void finished(String file, long total, boolean cached);

    DownloadProgress NONE = new DownloadProgress() {
        @Override
        public void advanced(String file, long done, long total) {}

        @Override
        public void finished(String file, long total, boolean cached) {}
    };

    /** One bar, redrawn in place at most ten times a second. */
    static DownloadProgress terminal(PrintStream out) {
        return new DownloadProgress() {
            long lastDraw;

            @Override
            public void advanced(String file, long done, long total) {
                long now = System.nanoTime();
                if (now - lastDraw < 100_000_000L && done < total) return;
                lastDraw = now;
                int width = 30;
                int filled = total <= 0 ? width : (int) (width * done / total);
                out.print("\r" + file + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                        + percent(done, total) + " " + mb(done) + "/" + mb(total));
                out.flush();
            }

            @Override
            public void finished(String file, long total, boolean cached) {
                out.println("\r" + file + (cached ? " already in the cache" : " done") + ", " + mb(total)
                        + " ".repeat(30));
            }
        };
    }

    /** A line at every tenth of the file and at its end. */
    static DownloadProgress log(Consumer<String> log) {
        return new DownloadProgress() {
            int lastTenth = -1;
            String lastFile;

            @Override
            public void advanced(String file, long done, long total) {
                if (!file.equals(lastFile)) {
                    lastFile = file;
                    lastTenth = -1;
                }
                int tenth = total <= 0 ? 10 : (int) (10 * done / total);
                if (tenth == lastTenth) return;
                lastTenth = tenth;
                log.accept("Downloading " + file + ": " + percent(done, total) + " of " + mb(total));
            }

            @Override
            public void finished(String file, long total, boolean cached) {
                log.accept((cached ? "In the cache: " : "Downloaded and checked: ") + file + " (" + mb(total) + ")");
            }
        };
    }

    private static String percent(long done, long total) {
        return total <= 0 ? "100%" : (100 * done / total) + "%";
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
