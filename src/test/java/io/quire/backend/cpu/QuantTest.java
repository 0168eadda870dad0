package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantTest {
    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final Random random = new Random(7);

    private float[] randomValues(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
        return v;
    }

    private static Tensor tensor(TensorType type, int rows, int cols, float[] values) {
        return new Tensor("t", type, new long[] {cols, rows}, Quant.quantize(type, values));
    }

    @Test
    void q4_1AndQ5_1WithoutTheirMinsAreTheRowLessM() {
        // The batched product decodes d*q in lanes and adds m times the activations' block sums itself;
        // d*q + m, one rounding each, must then be what the scalar decoding gives, bit for bit.
        int cols = 256;
        for (TensorType type : new TensorType[] {TensorType.Q4_1, TensorType.Q5_1}) {
            Tensor t = RandomBlocks.tensor("w", type, 3, cols, 9 + type.id());
            long base = Simd.nativeData(t).address();
            for (int r = 0; r < 3; r++) {
                long off = base + r * type.bytesFor(cols);
                float[] whole = new float[cols], part = new float[cols], mins = new float[cols / 32];
                SmallBlockQuants.dequantizeRow(type, off, cols, whole, 0);
                SmallBlockQuants.dequantizeRowWithoutMin(type, off, cols, part, 0, mins, 0);
                for (int c = 0; c < cols; c++) {
                    assertThat(Float.floatToRawIntBits(part[c] + mins[c / 32])).as("%s row %d value %d", type, r, c)
                            .isEqualTo(Float.floatToRawIntBits(whole[c]));
                }
            }
        }
    }

    @Test
    void f32RoundTripsExactly() {
        float[] v = randomValues(100);
        assertThat(Quant.dequantize(tensor(TensorType.F32, 4, 25, v))).containsExactly(v);
    }

    @Test
    void f16AndBf16RoundTripWithinHalfUlpOfTheirMantissa() {
        float[] v = randomValues(3 * 96);
        float[] f16 = Quant.dequantize(tensor(TensorType.F16, 3, 96, v));
        float[] bf16 = Quant.dequantize(tensor(TensorType.BF16, 3, 96, v));
        for (int i = 0; i < v.length; i++) {
            if (Math.abs(v[i]) > 1e-4f && Math.abs(v[i]) < 60000f) assertThat(Math.abs(f16[i] - v[i]))
                    .isLessThanOrEqualTo(Math.abs(v[i]) * 0x1p-11f);
            assertThat(Math.abs(bf16[i] - v[i])).isLessThanOrEqualTo(Math.abs(v[i]) * 0x1p-8f);
            assertThat(f16[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(v[i])));
        }
    }

    @Test
    void f16SpecialValuesDecodeExactly() {
        float[] v = {0f, -0f, 6.0e-8f, -3.0e-6f, 6.1e-5f, 65504f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.NaN, 1f, -2.5f,
                1e-7f, 0.3333f, 1000f, -65504f, 5.96e-8f};
        float[] out = Quant.dequantize(tensor(TensorType.F16, 1, 16, v));
        for (int i = 0; i < v.length; i++) {
            float expected = Float.float16ToFloat(Float.floatToFloat16(v[i]));
            assertThat(Float.floatToRawIntBits(out[i])).as("value %s", v[i])
                    .isEqualTo(Float.floatToRawIntBits(expected));
        }
    }

    @Test
    void q8_0ErrorIsWithinHalfAStepPerBlock() {
        float[] v = randomValues(8 * 64);
        Tensor t = tensor(TensorType.Q8_0, 8, 64, v);
        float[] out = Quant.dequantize(t);
        for (int b = 0; b < v.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(v[b * 32 + j]));
            float step = amax / 127f;
            for (int j = 0; j < 32; j++) {
                // half a step from rounding, plus the fp16 rounding of the scale (2^-11 relative) times |q| <= 127
                assertThat(Math.abs(out[b * 32 + j] - v[b * 32 + j]))
                        .isLessThanOrEqualTo(step * 0.5f + amax * 0x1p-11f + 1e-7f);
            }
        }
    }

    @Test
    void q4_0ErrorIsWithinHalfAStepPerBlock() {
        float[] v = randomValues(8 * 64);
        Tensor t = tensor(TensorType.Q4_0, 8, 64, v);
        float[] out = Quant.dequantize(t);
        for (int b = 0; b < v.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(v[b * 32 + j]));
            float step = amax / 8f;
            for (int j = 0; j < 32; j++) {
                assertThat(Math.abs(out[b * 32 + j] - v[b * 32 + j]))
                        .isLessThanOrEqualTo(step * 0.5f + amax * 0x1p-10f + 1e-7f);
            }
        }
    }

    @Test
    void q8_0BytesFollowGgmlReference() {
        float[] v = new float[32];
        for (int j = 0; j < 32; j++) v[j] = (j - 16) * 0.25f;  // amax 4 at j=0: d = 4/127
        v[5] = 0.5f * 4f / 127f * 3f;  // exactly 1.5 steps: roundf sends it to 2 (away from zero)
        v[6] = -v[5];                   // and -1.5 to -2
        MemorySegment seg = Quant.quantize(TensorType.Q8_0, v);
        assertThat(seg.byteSize()).isEqualTo(34);
        float d = 4f / 127f;
        assertThat(seg.get(SHORT, 0)).isEqualTo(Float.floatToFloat16(d));
        float id = 1f / d;
        for (int j = 0; j < 32; j++) {
            float scaled = v[j] * id;
            int expected = (int) Math.copySign(Math.floor(Math.abs(scaled) + 0.5), scaled);
            assertThat(seg.get(ValueLayout.JAVA_BYTE, 2 + j)).as("q[%d]", j).isEqualTo((byte) expected);
        }
        assertThat(seg.get(ValueLayout.JAVA_BYTE, 2)).isEqualTo((byte) -127);
        assertThat(seg.get(ValueLayout.JAVA_BYTE, 2 + 6)).isEqualTo((byte) -2);
    }

    @Test
    void q4_0BytesFollowGgmlReference() {
        float[] v = new float[32];
        for (int j = 0; j < 32; j++) v[j] = j * 0.5f - 4f;  // largest magnitude is 11.5 at j=31: d = -11.5/8
        MemorySegment seg = Quant.quantize(TensorType.Q4_0, v);
        assertThat(seg.byteSize()).isEqualTo(18);
        float d = 11.5f / -8f;
        assertThat(seg.get(SHORT, 0)).isEqualTo(Float.floatToFloat16(d));
        float id = 1f / d;
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (v[j] * id + 8.5f));
            int hi = Math.min(15, (int) (v[j + 16] * id + 8.5f));
            assertThat(seg.get(ValueLayout.JAVA_BYTE, 2 + j)).as("byte %d", j).isEqualTo((byte) (lo | hi << 4));
        }
        // the extreme value maps to q = 0, i.e. x = -8d = 11.5
        assertThat(seg.get(ValueLayout.JAVA_BYTE, 2 + 15) >> 4 & 0xf).isEqualTo(0);
        float[] back = Quant.dequantize(new Tensor("t", TensorType.Q4_0, new long[] {32, 1}, seg));
        assertThat(back[31]).isEqualTo(-8 * Float.float16ToFloat(Float.floatToFloat16(d)));
    }

    @Test
    void bf16RoundsToNearestEven() {
        float[] v = {Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000),
                Float.intBitsToFloat(0x3f808001)};
        MemorySegment seg = Quant.quantize(TensorType.BF16, v);
        assertThat(seg.get(SHORT, 0)).isEqualTo((short) 0x3f80);  // tie, even stays
        assertThat(seg.get(SHORT, 2)).isEqualTo((short) 0x3f82);  // tie, odd rounds up
        assertThat(seg.get(SHORT, 4)).isEqualTo((short) 0x3f81);  // above the tie
    }

    @Test
    void dequantizeRowReadsOneRow() {
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q8_0,
                TensorType.Q4_0}) {
            float[] v = randomValues(5 * 64);
            Tensor t = tensor(type, 5, 64, v);
            float[] all = Quant.dequantize(t);
            float[] row = new float[70];
            Quant.dequantizeRow(t, 3, row, 6);
            for (int c = 0; c < 64; c++) assertThat(row[6 + c]).isEqualTo(all[3 * 64 + c]);
        }
    }
}
