package io.quire.backend.cpu;

import io.quire.backend.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species shared by the kernels. The float species has 8 or 16
 * lanes (AVX2 or AVX-512), so one 32-value quantization block is a whole number of vectors and
 * the byte/short species that widen into it exist (64/128-bit bytes, 128/256-bit shorts).
 *
 * <p>There are deliberately no load/convert helpers here: a method that returns a vector must be
 * inlined by C2 or the vector is boxed, and C2 will not inline a helper it has already compiled
 * into a large method, so the kernels write their conversions out.
 */
final class Simd {
    static final VectorSpecies<Float> F = species(System.getProperty("quire.vector-bits", ""));
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** Shorts filling a float vector (2L lanes), and the bytes that widen into them. */
    static final VectorSpecies<Short> SW = VectorSpecies.of(short.class, F.vectorShape());
    static final VectorSpecies<Byte> BW = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 16));

    /**
     * All of native memory. Kernels read weights through this one constant segment by absolute
     * address: C2 then knows its class, bounds and (global) scope and drops the per-access checks a
     * weight's own segment would cost. {@link #nativeData} checks the real segment once per call, so
     * a weight's arena must simply stay open while a kernel runs (the model owns it).
     */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /**
     * The tensor's data as a native segment, checked to be alive and long enough; kernels read it at
     * {@code address()}. Heap segments (neither the loader nor Quant makes them) are copied to native
     * memory: correct but slow. Callers keep the result reachable until they are done
     * ({@link java.lang.ref.Reference#reachabilityFence}), as an auto arena frees it otherwise.
     */
    static MemorySegment nativeData(Tensor t) {
        MemorySegment seg = t.data();
        long need = t.type().bytesFor(t.elements());
        if (seg.byteSize() < need) {
            throw new IllegalArgumentException("tensor " + t.name() + " has " + seg.byteSize()
                    + " bytes of data, its shape needs " + need);
        }
        if (!seg.scope().isAlive()) throw new IllegalStateException("tensor " + t.name()
                + " belongs to a closed arena");
        if (seg.isNative()) return seg;
        MemorySegment copy = Arena.ofAuto().allocate(need, 64);
        copy.copyFrom(seg.asSlice(0, need));
        return copy;
    }

    /**
     * 512-bit vectors where the CPU prefers them (AVX-512), else 256. {@code -Dquire.vector-bits=other}
     * (or 256, 512) picks the other width, for tests: the kernels have paths for 8 and for 16 lanes,
     * and a width the CPU lacks still runs, in the Vector API's Java code (slowly), so both paths are
     * tested on any machine (the surefire execution "other-vector-width").
     */
    static VectorSpecies<Float> species(String bits) {
        boolean wide = FloatVector.SPECIES_PREFERRED.length() >= 16;
        if (bits.equals("other")) wide = !wide;
        else if (bits.equals("512")) wide = true;
        else if (bits.equals("256")) wide = false;
        return wide ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    }

    /**
     * Whether this CPU runs a 512-bit vector op as two 256-bit halves (AMD Zen 4, family 0x19 with
     * AVX-512; Zen 3 has the same family but no AVX-512, Zen 5 has full-width units): there a 512-bit
     * FMA costs two 256-bit ones, so work in 8-lane vectors is no slower per lane and wastes half as
     * much on padding. {@code -Dquire.narrow-panels=true|false} overrides the detection (tests).
     */
    static boolean splitsWideVectors() {
        String forced = System.getProperty("quire.narrow-panels", "auto");
        if (!forced.equals("auto")) return Boolean.parseBoolean(forced);
        if (FloatVector.SPECIES_PREFERRED.length() < 16) return false;
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            var head = lines.limit(8).toList();
            return head.stream().anyMatch(l -> l.startsWith("vendor_id") && l.endsWith("AuthenticAMD"))
                    && head.stream().anyMatch(l -> l.matches("cpu family\\s*:\\s*25"));
        } catch (java.io.IOException | RuntimeException e) {
            return false;  // not Linux, or unreadable: keep full-width panels
        }
    }

    private Simd() {}
}
