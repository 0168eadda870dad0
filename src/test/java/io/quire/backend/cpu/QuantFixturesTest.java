package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Dequantization bit for bit against llama.cpp's numpy reference: src/test/resources/quant/TYPE.bin
 * holds random seeded blocks and the floats gguf-py's quants.py decodes them to (made once by
 * tools/quant_fixtures.py).
 */
class QuantFixturesTest {

    /** The blocks of one fixture file as a tensor of rows of one block each, and the expected values. */
    record Fixture(Tensor tensor, float[] expected) {
        static Fixture load(TensorType type) throws IOException {
            byte[] all;
            try (InputStream in = QuantFixturesTest.class.getResourceAsStream("/quant/" + type + ".bin")) {
                assertThat(in).as("fixture for %s", type).isNotNull();
                all = in.readAllBytes();
            }
            int perBlock = type.blockBytes() + 4 * type.blockSize();
            assertThat(all.length % perBlock).isZero();
            int blocks = all.length / perBlock;
            int rawBytes = blocks * type.blockBytes();
            MemorySegment seg = Arena.ofAuto().allocate(rawBytes, 64);
            MemorySegment.copy(all, 0, seg, ValueLayout.JAVA_BYTE, 0, rawBytes);
            float[] expected = new float[blocks * type.blockSize()];
            ByteBuffer.wrap(all, rawBytes, 4 * expected.length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                    .get(expected);
            Tensor t = new Tensor("fixture", type, new long[] {type.blockSize(), blocks}, seg);
            return new Fixture(t, expected);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_0", "Q8_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL",
            "IQ4_XS"})
    void dequantizeMatchesTheNumpyReferenceBitForBit(TensorType type) throws IOException {
        Fixture f = Fixture.load(type);
        float[] got = Quant.dequantize(f.tensor());
        assertThat(got).hasSameSizeAs(f.expected());
        for (int i = 0; i < got.length; i++) {
            int e = Float.floatToRawIntBits(f.expected()[i]), g = Float.floatToRawIntBits(got[i]);
            if (e != g) {
                throw new AssertionError(type + " value " + i + " (block " + i / type.blockSize() + "): expected "
                        + f.expected()[i] + ", got " + got[i]);
            }
        }
        // The embedding lookup path decodes the same row the same way.
        float[] row = new float[type.blockSize()];
        int last = f.tensor().rows() - 1;
        Quant.dequantizeRow(f.tensor(), last, row, 0);
        for (int i = 0; i < row.length; i++) {
            assertThat(Float.floatToRawIntBits(row[i])).isEqualTo(
                    Float.floatToRawIntBits(f.expected()[last * type.blockSize() + i]));
        }
    }
}
