package io.quire.backend.cpu;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A compiler directive for HotSpot's C2, added at startup, before any kernel is compiled: Quire's
 * methods compile with {@code IncrementalInlineForceCleanup}, a cleanup of the graph after each
 * call C2 inlines late. A kernel whose Vector API calls outnumber what C2 inlines while parsing
 * (about 18,000 nodes: {@code Q4_0Tiles.kernel1} crosses it in a block's second scale conversion)
 * gets the rest inlined late, and there an intrinsic can see an argument through a cast that still
 * hides its exact vector class, give up, and leave the Vector API's Java code in the kernel: every
 * vector a new object, a young collection every few tokens, decode twice as slow. Which calls it
 * hit depended on the JVM's profiles: a sixth of fresh servers, half of them with JFR recording
 * (docs/performance.md, forty-second session); with the cleanup the casts carry the exact class
 * before the next intrinsic is tried. The directive is the JVM's {@code Compiler.directives_add},
 * reached through the platform's DiagnosticCommand MBean, so it needs no command-line flag; a JVM
 * without it runs as before.
 */
public final class C2Directives {
    private static final String DIRECTIVE = "[{match: \"io/quire/*.*\", c2: {IncrementalInlineForceCleanup: true}}]";
    private static boolean installed;

    private C2Directives() {}

    /** Only when there is something to say: a logger made before Spring Boot's would configure logging first. */
    private static Logger log() { return LoggerFactory.getLogger(C2Directives.class); }

    /** Adds the directive once; false (logged) where the JVM has no such command. */
    public static synchronized boolean install() {
        if (installed) return true;
        try {
            Path file = Files.createTempFile("quire-c2-", ".json");
            try {
                Files.writeString(file, DIRECTIVE);
                Object answer = ManagementFactory.getPlatformMBeanServer().invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                        new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
                installed = String.valueOf(answer).contains("1 compiler directives added");
                if (!installed) log().warn("C2 did not take Quire's compiler directive: {}", answer);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (Exception | LinkageError e) {
            log().warn("No compiler directive for C2 ({}): vector kernels may run the Vector API's Java code"
                    + " in some JVMs", e.toString());
        }
        return installed;
    }
}
