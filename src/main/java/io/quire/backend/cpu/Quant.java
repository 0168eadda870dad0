package io.quire.backend.cpu;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Conversions between float values and the stored weight types F32, F16, BF16, Q8_0 and Q4_0,
 * byte for byte as ggml writes them (quantize_row_q8_0_ref / quantize_row_q4_0_ref).
 *
 * <p>Q8_0 block (34 bytes): fp16 scale d, 32 int8 q; x = d * q.
 * Q4_0 block (18 bytes): fp16 scale d, 16 bytes whose low nibbles are values 0..15 and high
 * nibbles values 16..31; x = d * (q - 8).
 */
public final class Quant {
    private static final int QK = 32;

    private Quant() {}

    /**
     * Encodes {@code values} as {@code type} into a new little-endian segment of an automatic arena.
     * Native like the memory-mapped weights, so the kernels' call sites see one kind of segment.
     */
    public static MemorySegment quantize(TensorType type, float[] values) {
        MemorySegment seg = Arena.ofAuto().allocate(type.bytesFor(values.length), 64);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < values.length; i++) seg.set(Layouts.FLOAT_LE, 4L * i, values[i]);
            }
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    seg.set(Layouts.SHORT_LE, 2L * i, Float.floatToFloat16(values[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) seg.set(Layouts.SHORT_LE, 2L * i, floatToBf16(values[i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < values.length / QK; b++) quantizeBlockQ8_0(values, b * QK, seg, 34L * b);
            }
            case Q4_0 -> {
                for (int b = 0; b < values.length / QK; b++) quantizeBlockQ4_0(values, b * QK, seg, 18L * b);
            }
            default -> throw unsupported(type);
        }
        return seg;
    }

    /** ggml_compute_fp32_to_bf16: round to nearest even, NaN kept quiet. */
    static short floatToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** C roundf: halves away from zero (Math.round would send -2.5 to -2). */
    private static float roundf(float v) {
        return (float) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    private static void quantizeBlockQ8_0(float[] x, int from, MemorySegment seg, long off) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[from + j]));
        float d = amax / 127f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        seg.set(Layouts.SHORT_LE, off, Float.floatToFloat16(d));
        for (int j = 0; j < QK; j++) seg.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) roundf(x[from + j] * id));
    }

    private static void quantizeBlockQ4_0(float[] x, int from, MemorySegment seg, long off) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < QK; j++) {
            float v = x[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        seg.set(Layouts.SHORT_LE, off, Float.floatToFloat16(d));
        for (int j = 0; j < QK / 2; j++) {
            float x0 = x[from + j] * id;
            float x1 = x[from + QK / 2 + j] * id;
            // (int8_t)(x + 8.5f) truncates toward zero, as the C cast does.
            int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
            int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
            seg.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) (xi0 | (xi1 << 4)));
        }
    }

    /** The whole tensor as floats, row after row. */
    public static float[] dequantize(Tensor t) {
        long n = t.elements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor " + t.name() + " is too large to dequantize into one array");
        }
        checkData(t);
        float[] out = new float[(int) n];
        int cols = t.cols();
        long rowBytes = t.type().bytesFor(cols);
        MemorySegment data = Simd.nativeData(t);
        for (int r = 0; r < t.rows(); r++) {
            if (t.type() == TensorType.Q4_K_R32) Q4_KTiles.dequantizeRow(data.address(), r, cols, out, r * cols);
            else if (t.type() == TensorType.Q4_0_R32) Q4_0Tiles.dequantizeRow(data.address(), r, cols, out, r * cols);
            else if (t.type() == TensorType.Q6_K_R32) Q6_KTiles.dequantizeRow(data.address(), r, cols, out, r * cols);
            else dequantizeRow(t.type(), data.address() + r * rowBytes, cols, out, r * cols);
        }
        Reference.reachabilityFence(data);
        return out;
    }

    /** Row {@code row} (cols values) into {@code out} at {@code outOffset}: an embedding lookup. */
    public static void dequantizeRow(Tensor t, int row, float[] out, int outOffset) {
        checkData(t);
        if (row < 0 || row >= t.rows()) {
            throw new IndexOutOfBoundsException("row " + row + " outside tensor " + t.name() + " of " + t.rows()
                    + " rows");
        }
        int cols = t.cols();
        if (outOffset < 0 || outOffset + cols > out.length) {
            throw new IndexOutOfBoundsException("output of " + out.length + " floats cannot hold " + cols
                    + " values at " + outOffset);
        }
        MemorySegment data = Simd.nativeData(t);
        // A repacked type's rows are spread over their tile, not one after the other.
        if (t.type() == TensorType.Q4_K_R32) Q4_KTiles.dequantizeRow(data.address(), row, cols, out, outOffset);
        else if (t.type() == TensorType.Q4_0_R32) Q4_0Tiles.dequantizeRow(data.address(), row, cols, out, outOffset);
        else if (t.type() == TensorType.Q6_K_R32) Q6_KTiles.dequantizeRow(data.address(), row, cols, out, outOffset);
        else dequantizeRow(t.type(), data.address() + row * t.type().bytesFor(cols), cols, out, outOffset);
        Reference.reachabilityFence(data);
    }

    /**
     * Decodes {@code cols} values stored at absolute address {@code off} (see {@link Simd#ALL}).
     * Bounds are the caller's job.
     * Conversions are written out inline, as in {@link MatMul}, so no vector crosses a call.
     */
    static void dequantizeRow(TensorType type, long off, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var S = Simd.S;
        final var B = Simd.B;
        final int L = Simd.L;
        final ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        switch (type) {
            case F32 -> MemorySegment.copy(seg, Layouts.FLOAT_LE, off, out, outOff, cols);
            case F16 -> {
                final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
                int c = 0;
                for (int bound = cols - cols % L; c < bound; c += L) {
                    IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off + 2L * c, le)
                            .convertShape(VectorOperators.S2I, I, 0);
                    IntVector m = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                    IntVector bits = m.reinterpretAsFloats().mul(rebias).reinterpretAsInts()
                            .blend(m.or(0x7f800000), m.compare(VectorOperators.GE, 0x7c00 << 13));
                    bits.or(h.and(0x80000000)).reinterpretAsFloats().intoArray(out, outOff + c);
                }
                for (; c < cols; c++) out[outOff + c] = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2L * c));
            }
            case BF16 -> {
                int c = 0;
                for (int bound = cols - cols % L; c < bound; c += L) {
                    IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, off + 2L * c, le)
                            .convertShape(VectorOperators.S2I, I, 0);
                    h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, outOff + c);
                }
                for (; c < cols; c++) {
                    out[outOff + c] = Float.intBitsToFloat(seg.get(Layouts.SHORT_LE, off + 2L * c) << 16);
                }
            }
            case Q8_0 -> {
                for (int c = 0; c < cols; c += QK, off += 34) {
                    FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off)));
                    for (int i = 0; i < QK; i += L) {
                        FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, le)
                                .convertShape(VectorOperators.B2F, F, 0);
                        q.mul(d).intoArray(out, outOff + c + i);
                    }
                }
            }
            case Q4_0 -> {
                for (int c = 0; c < cols; c += QK, off += 18) {
                    FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off)));
                    for (int i = 0; i < QK / 2; i += L) {
                        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, le)
                                .convertShape(VectorOperators.B2I, I, 0);
                        IntVector lo = q.and(0x0f).sub(8), hi = q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8);
                        int at = outOff + c + i;
                        ((FloatVector) lo.convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at);
                        ((FloatVector) hi.convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at + QK / 2);
                    }
                }
            }
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS -> KQuants.dequantizeRow(type, off, cols, out, outOff);
            case Q4_1, Q5_0, Q5_1, IQ4_NL -> SmallBlockQuants.dequantizeRow(type, off, cols, out, outOff);
            default -> throw unsupported(type);
        }
    }

    static void checkData(Tensor t) {
        if (!t.type().isComputeSupported() && !t.type().isRepacked()) throw unsupported(t.type());
        long need = t.type().bytesFor(t.elements());
        if (t.data().byteSize() < need) {
            throw new IllegalArgumentException("tensor " + t.name() + " has " + t.data().byteSize()
                    + " bytes of data, its shape needs " + need);
        }
        if (t.cols() % t.type().blockSize() != 0) {
            throw new IllegalArgumentException("tensor " + t.name() + ": row length " + t.cols()
                    + " is not a multiple of the " + t.type() + " block size " + t.type().blockSize());
        }
    }

    static IllegalArgumentException unsupported(TensorType type) {
        return new IllegalArgumentException("tensor type " + type
                + " is not supported by the CPU kernels (supported: " + TensorType.supportedList() + ")");
    }
}
