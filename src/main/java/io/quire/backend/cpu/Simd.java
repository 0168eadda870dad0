package io.quire.backend.cpu;

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
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

    private Simd() {}
}
