package io.quire.backend.cuda;

import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The GPU's 16-bit types on the host side: the rounding the checks compare against, and quire.dtype's rules. */
class CudaDtypeTest {

    @Test
    void bf16RoundsAsTheCpuBackendDoes() {
        SplittableRandom rnd = new SplittableRandom(11);
        float[] values = new float[100_000];
        for (int i = 0; i < values.length; i++) values[i] = Float.intBitsToFloat(rnd.nextInt());
        MemorySegment cpu = Quant.quantize(TensorType.BF16, values);
        for (int i = 0; i < values.length; i++) {
            float f = values[i];
            if (Float.isNaN(f)) {
                assertThat(CudaDtype.BFLOAT16.round(f)).isNaN();
                continue;
            }
            short want = cpu.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i);
            assertThat(CudaDtype.BFLOAT16.fromFloat(f)).as("%s", f).isEqualTo(want);
        }
        // Round to nearest, ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
        assertThat(CudaDtype.BFLOAT16.round(1f + 0x1p-8f)).isEqualTo(1f);
        assertThat(CudaDtype.BFLOAT16.round(1f + 0x1p-7f + 0x1p-8f)).isEqualTo(1f + 0x1p-6f);
        assertThat(CudaDtype.BFLOAT16.round(1e38f)).isFinite();  // FP32's range
        assertThat(CudaDtype.FLOAT16.round(1e38f)).isInfinite();
    }

    @Test
    void fp16IsIeeeBinary16() {
        for (float f : new float[] {0f, -0f, 1f, 65504f, 6.1e-5f, 3.14159f, -2.5e-8f}) {
            assertThat(CudaDtype.FLOAT16.fromFloat(f)).isEqualTo(Float.floatToFloat16(f));
            assertThat(CudaDtype.FLOAT16.round(f)).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(f)));
        }
    }

    @Test
    void autoKeepsBf16FilesInBf16AndPutsEverythingElseInFp16() {
        assertThat(CudaDtype.parse("auto", TensorType.BF16)).isEqualTo(CudaDtype.BFLOAT16);
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.F16, TensorType.Q8_0, TensorType.Q4_0}) {
            assertThat(CudaDtype.parse("auto", t)).isEqualTo(CudaDtype.FLOAT16);
        }
        assertThat(CudaDtype.parse(null, TensorType.BF16)).isEqualTo(CudaDtype.BFLOAT16);
        assertThat(CudaDtype.parse(" BFloat16 ", TensorType.F16)).isEqualTo(CudaDtype.BFLOAT16);
        assertThat(CudaDtype.parse("half", TensorType.BF16)).isEqualTo(CudaDtype.FLOAT16);
        assertThat(CudaDtype.parse("bf16", TensorType.F32)).isEqualTo(CudaDtype.BFLOAT16);
        assertThat(CudaDtype.BFLOAT16.kernelSuffix()).isEqualTo("bf16");
        assertThat(CudaDtype.FLOAT16.id()).isEqualTo("float16");
    }

    @Test
    void unknownDtypeIsRefusedWithTheChoices() {
        assertThatThrownBy(() -> CudaDtype.parse("float8", TensorType.F16))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("float8").hasMessageContaining("auto, float16 or bfloat16");
    }
}
