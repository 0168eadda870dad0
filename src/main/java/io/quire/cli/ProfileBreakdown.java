package io.quire.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * {@code bench profile FILE.jfr}: where a Java Flight Recording of the server spent its CPU samples,
 * by part of the server, and how long the GC paused it. Record with, for example,
 * {@code java -XX:StartFlightRecording=filename=quire.jfr,settings=profile ... -jar quire.jar}
 * while {@code bench serve} drives it. A sample counts for the first part whose class appears on its
 * stack, in the order of {@link #PARTS}: a matrix product called by the engine is a matrix product.
 */
public final class ProfileBreakdown {
    /** Part of the server, and the class-name prefixes that put a stack in it. */
    record Part(String name, List<String> prefixes) {}

    static final List<Part> PARTS = List.of(
            new Part("startup (JVM and Spring, before the load)", List.of("org.springframework.boot.loader.launch.",
                    "io.quire.QuireApplication.main")),
            new Part("matrix products", List.of("io.quire.backend.cpu.MatMul")),
            new Part("attention", List.of("io.quire.backend.cpu.PagedAttention")),
            new Part("norms, RoPE, activations, KV writes", List.of("io.quire.backend.cpu.", "io.quire.model.")),
            new Part("sampling", List.of("io.quire.engine.Sampler", "io.quire.engine.TokenProcessor",
                    "io.quire.engine.BeamSearch")),
            new Part("detokenizing and stop checks", List.of("io.quire.engine.OutputProcessor",
                    "io.quire.engine.StopChecker", "io.quire.model.tokenizer.")),
            new Part("scheduling and KV blocks", List.of("io.quire.engine.Scheduler", "io.quire.kv.",
                    "io.quire.engine.ModelRunner")),
            new Part("engine, other", List.of("io.quire.engine.")),
            new Part("HTTP/SSE (Netty, Reactor, Spring, Jackson, Quire's API)", List.of("io.quire.api.", "reactor.",
                    "io.netty.", "org.springframework.", "tools.jackson.")),
            new Part("other (JIT, JFR, the JDK)", List.of("")));

    private ProfileBreakdown() {}

    public static int run(String[] args) {
        if (args.length != 3) {
            System.err.print(Usage.BENCH_PROFILE);
            return 2;
        }
        Path file = Path.of(args[2]);
        Map<String, Long> samples = new LinkedHashMap<>();
        for (Part p : PARTS) samples.put(p.name(), 0L);
        long total = 0, collections = 0;
        Duration paused = Duration.ZERO;
        try (RecordingFile recording = new RecordingFile(file)) {
            while (recording.hasMoreEvents()) {
                RecordedEvent e = recording.readEvent();
                String type = e.getEventType().getName();
                if (type.equals("jdk.ExecutionSample") && e.getStackTrace() != null) {
                    samples.merge(partOf(e.getStackTrace().getFrames()), 1L, Long::sum);
                    total++;
                } else if (type.equals("jdk.GarbageCollection")) {
                    collections++;
                    paused = paused.plus(e.getDuration("sumOfPauses"));
                }
            }
        } catch (IOException e) {
            System.err.println("bench profile: cannot read " + file + ": " + e.getMessage());
            return 1;
        }
        System.out.printf(Locale.ROOT, "%s: %,d CPU samples; GC: %d collections, %d ms paused%n", file, total,
                collections, paused.toMillis());
        for (Map.Entry<String, Long> s : samples.entrySet()) {
            if (s.getValue() == 0) continue;
            System.out.printf(Locale.ROOT, "  %-58s %5.1f%%%n", s.getKey(), 100.0 * s.getValue() / total);
        }
        return 0;
    }

    /** The first part, in {@link #PARTS} order, with a class on the stack. */
    static String partOf(List<RecordedFrame> frames) {
        for (Part p : PARTS) {
            for (RecordedFrame f : frames) {
                String cls = f.getMethod().getType().getName();
                for (String prefix : p.prefixes()) {
                    if (cls.startsWith(prefix)) return p.name();
                }
            }
        }
        return PARTS.getLast().name();
    }
}
