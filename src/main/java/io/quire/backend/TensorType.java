package io.quire.backend;

/**
 * Element types of weight tensors, numbered as ggml numbers them (the GGUF tensor type ids).
 * Quantized types store {@code blockSize} values in {@code blockBytes} bytes. Every type ggml defines is
 * listed, so a file in one Quire cannot compute with still opens and is refused by name
 * ({@link #isComputeSupported}), not as an unknown id.
 */
public enum TensorType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17),
    /**
     * Not ggml types: the 8-bit floats of the CPU's FP8 KV cache ({@code quire.kv-cache-dtype} fp8_e4m3,
     * fp8_e5m2), numbered past ggml's ids; no weight file is read in them.
     */
    F8_E4M3(1000, 1, 1),
    F8_E5M2(1001, 1, 1),
    /**
     * Not a ggml type either: Q4_K weights as the CPU's kernels repack them at load, 32 rows to a tile
     * ({@code io.quire.backend.cpu.Q4_KTiles}); 152 bytes per row and 256 values. No file holds it.
     */
    Q4_K_R32(1002, 256, 152),
    /** Q4_0 weights repacked the same way ({@code io.quire.backend.cpu.Q4_0Tiles}); as many bytes as Q4_0. */
    Q4_0_R32(1003, 32, 18),
    /** Q6_K weights repacked the same way ({@code io.quire.backend.cpu.Q6_KTiles}); 212 bytes per row and 256 values. */
    Q6_K_R32(1004, 256, 212);

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    TensorType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int id() { return id; }

    /** Values per quantization block (1 for plain types). */
    public int blockSize() { return blockSize; }

    /** Bytes per quantization block. */
    public int blockBytes() { return blockBytes; }

    /** Bytes needed for {@code elements} values; elements must be a multiple of the block size. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(name() + " needs a multiple of " + blockSize + " elements, got "
                    + elements);
        }
        return elements / blockSize * blockBytes;
    }

    /** Whether this is a CPU layout made at load ({@code Q4_K_R32}, {@code Q4_0_R32}, {@code Q6_K_R32}): rows in tiles of 32. */
    public boolean isRepacked() {
        return this == Q4_K_R32 || this == Q4_0_R32 || this == Q6_K_R32;
    }

    /** Whether the kernels (CPU, and the CUDA upload) can compute with weights of this type. */
    public boolean isComputeSupported() {
        return switch (this) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS -> true;
            default -> false;  // Q8_1/Q8_K are activation formats; the IQ1-3, TQ and MXFP4 grids are not implemented
        };
    }

    /** The weight types Quire computes with, for error messages: "F32, F16, ...". */
    public static String supportedList() {
        StringBuilder sb = new StringBuilder();
        for (TensorType t : values()) {
            if (t.isComputeSupported()) sb.append(sb.isEmpty() ? "" : ", ").append(t.name());
        }
        return sb.toString();
    }

    /** The type with ggml id {@code id}, or null when the id is not one we know. */
    public static TensorType byId(int id) {
        for (TensorType t : values()) {
            // The repacked types are made at load, never read from a file: their rows are not laid out one by one.
            if (t.id == id && !t.isRepacked()) return t;
        }
        return null;
    }
}
