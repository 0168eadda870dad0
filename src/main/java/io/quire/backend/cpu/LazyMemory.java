package io.quire.backend.cpu;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Large zeroed native buffers (the KV cache) whose pages take memory only once written. On Linux
 * each is an anonymous private {@code mmap}: the kernel gives a page its frame on first touch, so
 * blocks no sequence has used cost nothing, as with vLLM's CPU cache ({@code torch.empty}). An arena
 * allocation zeroes, and so touches, every byte up front: stories260K's default pool of 40 MiB was
 * all resident before the first request, which needs a few blocks. Elsewhere, or if {@code mmap}
 * fails, the buffer is such an arena allocation.
 *
 * <p>Mapped buffers are held to the cap arena ones have, {@code -XX:MaxDirectMemorySize} (by default
 * the maximum heap size; counted apart from the JDK's own), so a cache too large for the machine
 * still fails at startup with {@link OutOfMemoryError} instead of under load.
 */
final class LazyMemory {
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    /** Below this an arena allocation is as good: a few pages either way. */
    private static final long MIN_MAPPED = 1L << 20;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final AtomicLong MAPPED = new AtomicLong();

    static {
        MethodHandle mmap = null, munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            } catch (RuntimeException | LinkageError e) {
                mmap = munmap = null;  // no native access: arena allocations
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    private LazyMemory() {}

    /**
     * {@code bytes} zeroed bytes, page-aligned when mapped (64-byte aligned otherwise), released with
     * {@code arena}. Throws {@link OutOfMemoryError} past {@code -XX:MaxDirectMemorySize}.
     */
    static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP == null || bytes < MIN_MAPPED) return arena.allocate(bytes, 64);
        long cap = cap();
        if (MAPPED.addAndGet(bytes) > cap) {
            MAPPED.addAndGet(-bytes);
            throw new OutOfMemoryError("Cannot map " + bytes + " bytes: " + MAPPED.get() + " of " + cap
                    + " bytes of native memory mapped");
        }
        long base;
        try {
            base = (long) MMAP.invokeExact(0L, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable e) {
            base = -1L;
        }
        if (base == -1L) {
            MAPPED.addAndGet(-bytes);
            return arena.allocate(bytes, 64);
        }
        long start = base;
        return MemorySegment.ofAddress(start).reinterpret(bytes, arena, s -> unmap(start, bytes));
    }

    /** Bytes this class has mapped and not yet unmapped. */
    static long mappedBytes() {
        return MAPPED.get();
    }

    private static void unmap(long base, long bytes) {
        try {
            int ignored = (int) MUNMAP.invokeExact(base, bytes);
        } catch (Throwable e) {
            // nothing to do: the mapping stays until the process ends
        }
        MAPPED.addAndGet(-bytes);
    }

    /** -XX:MaxDirectMemorySize, or the maximum heap size when it is 0 (its default), as the JDK counts it. */
    private static long cap() {
        try {
            long v = Long.parseLong(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("MaxDirectMemorySize").getValue());
            return v > 0 ? v : Runtime.getRuntime().maxMemory();
        } catch (RuntimeException e) {
            return Runtime.getRuntime().maxMemory();
        }
    }
}
