package io.quire.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species and element conversions shared by the kernels. The float species has 8 or 16
 * lanes (AVX2 or AVX-512), so one 32-value quantization block is a whole number of vectors and
 * the byte/short species that widen into it exist (64/128-bit bytes, 128/256-bit shorts).
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final FloatVector TWO_POW_112 = FloatVector.broadcast(F, 0x1p112f);

    private Simd() {}

    /** L little-endian floats at byte offset {@code off}. */
    static FloatVector loadF32(MemorySegment seg, long off) {
        return FloatVector.fromMemorySegment(F, seg, off, LE);
    }

    /** L halves at byte offset {@code off}, widened to float exactly (zeros, subnormals, inf and NaN included). */
    static FloatVector loadF16(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector mag = h.and(0x7fff);
        // Exponent-shifted bits times 2^112 rebias the exponent and normalize subnormals in one multiply.
        FloatVector f = mag.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(TWO_POW_112);
        IntVector bits = f.reinterpretAsInts();
        bits = bits.blend(mag.lanewise(VectorOperators.LSHL, 13).or(0x7f800000), mag.compare(VectorOperators.GE, 0x7c00));
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /** L bfloat16 values at byte offset {@code off}: the upper halves of floats. */
    static FloatVector loadBF16(MemorySegment seg, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** L signed bytes at byte offset {@code off} as floats. */
    static FloatVector loadI8(MemorySegment seg, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, seg, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /** Of L packed Q4_0 bytes: the low nibbles minus 8, as floats. */
    static FloatVector q4Low(ByteVector packed) {
        return (FloatVector) packed.and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    /** The high nibbles minus 8, as floats. */
    static FloatVector q4High(ByteVector packed) {
        return (FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    static ByteVector loadBytes(MemorySegment seg, long off) {
        return ByteVector.fromMemorySegment(B, seg, off, LE);
    }

    /** The fp16 scale of a quantization block at byte offset {@code off}. */
    static float scale(MemorySegment seg, long off) {
        return Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
    }
}
