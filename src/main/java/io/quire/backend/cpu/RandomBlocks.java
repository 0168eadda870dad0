package io.quire.backend.cpu;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

/**
 * Weights of a quantized type made of random blocks: random bytes, except the fp16 scale fields,
 * which get random finite halves of either sign. Every quant and packed scale bit pattern occurs,
 * which is what kernel tests and benchmarks need; Quire has no quantizer for the K-quants
 * (llama-quantize makes real files).
 */
public final class RandomBlocks {
    private RandomBlocks() {}

    /** Byte offsets of the fp16 fields in a block of {@code type}. */
    static List<Integer> halfFields(TensorType type) {
        return switch (type) {
            case Q4_0, Q8_0, Q5_0, IQ4_NL, IQ4_XS -> List.of(0);
            case Q4_1, Q5_1, Q4_K, Q5_K -> List.of(0, 2);
            case Q2_K -> List.of(80, 82);
            case Q3_K -> List.of(108);
            case Q6_K -> List.of(208);
            default -> throw new IllegalArgumentException("no random blocks for " + type);
        };
    }

    /** A rows x cols tensor of random blocks of {@code type}. */
    public static Tensor tensor(String name, TensorType type, int rows, int cols, long seed) {
        Random random = new Random(seed);
        long blocks = type.bytesFor((long) rows * cols) / type.blockBytes();
        MemorySegment seg = Arena.ofAuto().allocate(blocks * type.blockBytes(), 64);
        byte[] block = new byte[type.blockBytes()];
        List<Integer> halves = halfFields(type);
        for (long b = 0; b < blocks; b++) {
            random.nextBytes(block);
            for (int at : halves) {
                short h = Float.floatToFloat16((float) (random.nextGaussian() * 0.01));
                block[at] = (byte) h;
                block[at + 1] = (byte) (h >> 8);
            }
            MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_BYTE, b * block.length, block.length);
        }
        return new Tensor(name, type, new long[] {cols, rows}, seg);
    }
}
