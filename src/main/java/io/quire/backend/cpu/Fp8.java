package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The two 8-bit float formats of an FP8 KV cache (vLLM's {@code fp8_e4m3} and {@code fp8_e5m2}, the
 * OCP FP8 formats): a sign, 4 exponent bits and 3 mantissa bits (bias 7, largest 448), or 5 and 2
 * (bias 15, largest 57344: FP16's top byte). No scale factor: values are stored as they are, as
 * vLLM does without calibrated scales.
 *
 * <p>Reading one is bit moves alone: the byte placed at the top of an int and shifted right
 * arithmetically puts its exponent and mantissa where a float's low exponent and high mantissa bits
 * are, with the sign in bit 31 (copies of it in between, masked off). That float is the value times
 * {@code 2^-rebias} (subnormals included), so one multiply, which callers fold into a query or a
 * probability, restores it. {@link Fp8Rows} does this eight (or sixteen) lanes at a time.
 */
final class Fp8 {
    // The shifts and masks as compile-time constants too: the vector loops take them as arguments of a
    // method per format, inlined, because C2 compiles a variable vector shift count far slower.
    /** e4m3: shifted right by 4 from bits 24-31, the exponent lands at bits 23-26, the mantissa at 20-22. */
    static final int E4M3_SHIFT = 4, E4M3_MASK = 0x87f00000;
    /** e5m2: shifted right by 3, the exponent lands at bits 23-27, the mantissa at 21-22. */
    static final int E5M2_SHIFT = 3, E5M2_MASK = 0x8fe00000;

    static final Fp8 E4M3 = new Fp8(4, 3, 448f, E4M3_MASK, 120);
    static final Fp8 E5M2 = new Fp8(5, 2, 57344f, E5M2_MASK, 112);

    /** The right shift after the byte is placed at bits 24-31. */
    final int shift;
    /** The bits of the shifted int that are the float: the sign, the exponent's low bits, the mantissa. */
    final int mask;
    /** A decoded bit pattern is the value times {@code 2^-rebias}: 127 minus the format's exponent bias. */
    final int rebias;
    private final int mantissaBits;
    private final int minExponent;
    private final int maxBits;
    private final byte maxCode;
    private final int minNormalBits;
    /** A power of two whose float spacing is the format's subnormal spacing. */
    private final float subnormalMagic;
    private final int subnormalMagicBits;
    private final float[] values = new float[256];

    private Fp8(int exponentBits, int mantissaBits, float max, int mask, int rebias) {
        this.shift = 8 - exponentBits;
        this.mask = mask;
        this.rebias = rebias;
        this.mantissaBits = mantissaBits;
        this.minExponent = 2 - (1 << (exponentBits - 1)); // 1 - bias
        this.maxBits = Float.floatToRawIntBits(max);
        this.maxCode = (byte) ((1 << 7) - 1 - (exponentBits == 4 ? 1 : 4)); // below e4m3's NaN, e5m2's infinity
        this.minNormalBits = Float.floatToRawIntBits(Math.scalb(1f, minExponent));
        this.subnormalMagic = Math.scalb(1f, minExponent - mantissaBits + 23);
        this.subnormalMagicBits = Float.floatToRawIntBits(subnormalMagic);
        for (int b = 0; b < 256; b++) values[b] = Math.scalb(bitsOf((byte) b), rebias);
    }

    /** The format of an FP8 cache type, or null for another type. */
    static Fp8 of(TensorType type) {
        return type == TensorType.F8_E4M3 ? E4M3 : type == TensorType.F8_E5M2 ? E5M2 : null;
    }

    /** The value of byte {@code b}. A NaN or infinity code reads as a large finite value (never written). */
    float decode(byte b) {
        return values[b & 0xff];
    }

    /** The float whose bits the vector kernels make of {@code b}: its value times {@code 2^-rebias}. */
    float bitsOf(byte b) {
        return Float.intBitsToFloat(((b << 24) >> shift) & mask);
    }

    /**
     * {@code dst[dstOff..+n)}: {@link #encode} of each of {@code src[srcOff..+n)}, the same bits, L at a
     * time (a K or V row of every new token passes here).
     */
    void encode(float[] src, int srcOff, byte[] dst, int dstOff, int n) {
        // 23 - mantissa bits: where a float's mantissa is cut (a constant, as the shifts above)
        int i = this == E4M3 ? encode(src, srcOff, dst, dstOff, n, 23 - 3) : encode(src, srcOff, dst, dstOff, n, 23 - 2);
        for (; i < n; i++) dst[dstOff + i] = encode(src[srcOff + i]);
    }

    /** The vector part of {@link #encode(float[], int, byte[], int, int)}; returns how many it did. */
    private int encode(float[] src, int srcOff, byte[] dst, int dstOff, int n, int mantissaShift) {
        final var F = Simd.F;
        final int L = Simd.L;
        final var B = L == 8 ? ByteVector.SPECIES_64 : ByteVector.SPECIES_128;
        final int rebiasAndRound = ((1 - minExponent - 127) << 23) + (1 << (mantissaShift - 1)) - 1;
        final FloatVector magic = FloatVector.broadcast(F, subnormalMagic);
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector bits = FloatVector.fromArray(F, src, srcOff + i).reinterpretAsInts();
            IntVector a = bits.and(0x7fffffff);
            IntVector normal = a.add(rebiasAndRound).add(a.lanewise(VectorOperators.LSHR, mantissaShift).and(1))
                    .lanewise(VectorOperators.LSHR, mantissaShift);
            IntVector subnormal = a.reinterpretAsFloats().add(magic).reinterpretAsInts().sub(subnormalMagicBits);
            IntVector code = normal.blend(subnormal, a.compare(VectorOperators.LT, minNormalBits))
                    .blend(maxCode, a.compare(VectorOperators.GE, maxBits))
                    .or(bits.lanewise(VectorOperators.LSHR, 24).and(0x80))
                    .blend(0, a.compare(VectorOperators.GT, 0x7f800000)); // NaN
            code.convertShape(VectorOperators.I2B, B, 0).reinterpretAsBytes().intoArray(dst, dstOff + i);
        }
        return i;
    }

    /**
     * {@code x} rounded to the nearest value of the format (ties to even). Values beyond its range,
     * infinities included, are clamped to its largest finite value rather than stored as NaN or
     * infinity, which would turn a whole softmax into NaN; a NaN is stored as 0. In bit operations
     * (every K and V value of every token passes here): below the smallest normal value, adding a
     * power of two whose spacing is the format's subnormal spacing rounds in the FPU; above it, the
     * exponent is rebiased and the mantissa rounded to nearest even with an add and a shift.
     */
    byte encode(float x) {
        if (x != x) return 0;
        int f = Float.floatToRawIntBits(x);
        int sign = (f >>> 24) & 0x80;
        f &= 0x7fffffff;
        if (f >= maxBits) return (byte) (sign | maxCode);
        if (f < minNormalBits) {
            return (byte) (sign | (Float.floatToRawIntBits(Float.intBitsToFloat(f) + subnormalMagic) - subnormalMagicBits));
        }
        int odd = (f >> (23 - mantissaBits)) & 1;
        f += ((1 - minExponent - 127) << 23) + (1 << (22 - mantissaBits)) - 1 + odd;
        return (byte) (sign | f >> (23 - mantissaBits));
    }
}
