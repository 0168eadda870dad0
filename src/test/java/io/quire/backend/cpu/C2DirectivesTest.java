package io.quire.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

class C2DirectivesTest {

    /** The JVM's own listing of its directives shows Quire's, with the cleanup on for C2. */
    @Test
    void theJvmTakesTheDirectiveForQuiresMethods() throws Exception {
        assertTrue(C2Directives.install(), "the directive was added");
        assertTrue(C2Directives.install(), "a second call keeps it");
        String listing = String.valueOf(ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesPrint",
                new Object[] {new String[0]}, new String[] {String[].class.getName()}));
        int ours = listing.indexOf("matching: io/quire/*.*");
        assertTrue(ours >= 0, listing);
        int c2 = listing.indexOf("c2 directives:", ours);
        int next = listing.indexOf("Directive:", c2);
        String c2Part = listing.substring(c2, next < 0 ? listing.length() : next);
        assertTrue(c2Part.contains("IncrementalInlineForceCleanup:true"), c2Part);
    }
}
