package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The KV cache's buffers: zeroed, writable, resident only where written (Linux), capped. */
class LazyMemoryTest {
    private static final long MIB = 1L << 20;

    @Test
    void aBufferReadsAsZerosAndKeepsWhatIsWritten() {
        try (Arena arena = Arena.ofConfined()) {
            for (long bytes : new long[] {4096, 3 * MIB + 12}) {
                MemorySegment s = LazyMemory.allocate(arena, bytes);
                assertThat(s.byteSize()).isEqualTo(bytes);
                assertThat(s.address() % 64).isZero();
                for (long o = 0; o < bytes; o += 4093) assertThat(s.get(ValueLayout.JAVA_BYTE, o)).isZero();
                s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, bytes - 4, 1.5f);
                assertThat(s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, bytes - 4)).isEqualTo(1.5f);
            }
        }
    }

    @Test
    void onLinuxOnlyTheWrittenPagesBecomeResidentAndClosingTheArenaUnmaps() throws IOException {
        assumeTrue(Files.exists(Path.of("/proc/self/statm")), "no /proc/self/statm: not Linux");
        long before = LazyMemory.mappedBytes();
        try (Arena arena = Arena.ofConfined()) {
            long rss0 = residentBytes();
            MemorySegment s = LazyMemory.allocate(arena, 256 * MIB);
            assertThat(LazyMemory.mappedBytes() - before).isEqualTo(256 * MIB);
            long rss1 = residentBytes();
            // Write one float in each of the first 2,048 pages (8 MiB).
            for (long o = 0; o < 8 * MIB; o += 4096) s.set(ValueLayout.JAVA_FLOAT, o, 1f);
            long rss2 = residentBytes();
            // An arena allocation would have zeroed, so touched, all 256 MiB.
            assertThat(rss1 - rss0).isLessThan(32 * MIB);
            assertThat(rss2 - rss1).isBetween(7 * MIB, 40 * MIB);
        }
        assertThat(LazyMemory.mappedBytes()).isEqualTo(before);
    }

    @Test
    void aBufferPastTheNativeMemoryCapIsRefused() {
        assumeTrue(Files.exists(Path.of("/proc/self/statm")), "arena allocations elsewhere: the JDK's own cap");
        long cap = Runtime.getRuntime().maxMemory();  // -XX:MaxDirectMemorySize is not set in the tests
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> LazyMemory.allocate(arena, cap + MIB)).isInstanceOf(OutOfMemoryError.class)
                    .hasMessageContaining("Cannot map");
        }
    }

    /** Resident set size from /proc/self/statm (pages of 4 KiB on x86-64 and aarch64 Linux defaults). */
    private static long residentBytes() throws IOException {
        String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(f[1]) * 4096;
    }
}
