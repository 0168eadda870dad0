package io.quire.backend;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A weight tensor in its stored type, over memory it does not own (usually a slice of a
 * memory-mapped model file). Shapes follow GGUF: {@code shape[0]} is the innermost (contiguous)
 * dimension, so a matrix of {@code rows x cols} has {@code shape = {cols, rows}}.
 */
public record Tensor(String name, TensorType type, long[] shape, MemorySegment data) {

    public long elements() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Length of the contiguous dimension. */
    public int cols() { return Math.toIntExact(shape[0]); }

    /** Number of rows: the product of all dimensions but the innermost. */
    public int rows() { return Math.toIntExact(elements() / shape[0]); }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
