package io.quire.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Large zeroed native buffers (the KV cache) mapped on Linux with {@code mmap} and marked for
 * transparent huge pages ({@code madvise(MADV_HUGEPAGE)}). Attention reads the cache a block at a
 * time in an order set by the block tables, a few KiB here and a few there: on 4 KiB pages every
 * such run is a new page, a TLB miss and a restart of the hardware prefetcher, and one core read a
 * paged cache at under half the bandwidth it streams weights at. On 2 MiB pages the runs of a
 * block lie in pages already mapped. The mapping is also lazy, so untouched blocks cost no RSS.
 * Elsewhere (or when mmap fails) the buffer is an ordinary arena allocation.
 */
final class HugePageMemory {
    private static final long HUGE_PAGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null, madvise = null, munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            } catch (RuntimeException | LinkageError e) {
                mmap = madvise = munmap = null; // no native access: ordinary allocations
            }
        }
        MMAP = mmap;
        MADVISE = madvise;
        MUNMAP = munmap;
    }

    private HugePageMemory() {}

    /** {@code bytes} zeroed bytes, 64-byte aligned at least, freed with {@code arena}. */
    static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP == null || bytes < HUGE_PAGE) return arena.allocate(bytes, 64);
        try {
            // Over-map by one huge page so the buffer can start on a huge-page boundary.
            long length = bytes + HUGE_PAGE;
            long base = (long) MMAP.invokeExact(0L, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (base == -1L) return arena.allocate(bytes, 64);
            long start = (base + HUGE_PAGE - 1) & -HUGE_PAGE;
            int ignored = (int) MADVISE.invokeExact(start, bytes, MADV_HUGEPAGE); // a hint: failure is harmless
            return MemorySegment.ofAddress(start).reinterpret(bytes, arena, s -> unmap(base, length));
        } catch (Throwable e) {
            return arena.allocate(bytes, 64);
        }
    }

    private static void unmap(long base, long length) {
        try {
            int ignored = (int) MUNMAP.invokeExact(base, length);
        } catch (Throwable e) {
            // nothing to do: the address space stays reserved until the process ends
        }
    }
}
