package io.quire.model.gguf;

import io.quire.SharedFiles;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufFileTest {
    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir Path tmp;

    @Test
    void anAlignedCopyHoldsTheSameTensorsOnSixtyFourByteBoundariesAndClosesTheMapping() throws Exception {
        // stories260K, as many GGUF files, aligns tensors to 32 bytes: in its mapping they start at 32 mod 64
        GgufFile mapped = GgufFile.open(SharedFiles.stories260K());
        assertThat(mapped.hasTensorsMisalignedTo(64)).isTrue();
        java.util.Map<String, byte[]> bytes = new java.util.HashMap<>();
        for (String name : mapped.tensorInfos().keySet()) {
            bytes.put(name, mapped.tensor(name).data().toArray(ValueLayout.JAVA_BYTE));
        }
        try (GgufFile copy = mapped.copiedAligned(java.lang.foreign.Arena.ofShared(), 64)) {
            assertThat(copy.hasTensorsMisalignedTo(64)).isFalse();
            assertThat(copy.metadata().entries()).isEqualTo(mapped.metadata().entries());
            for (String name : bytes.keySet()) {
                Tensor t = copy.tensor(name);
                assertThat(t.data().address() % 64).as(name).isZero();
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(name).isEqualTo(bytes.get(name));
            }
            // the mapping is gone: its tensors can no longer be read
            assertThatThrownBy(() -> mapped.tensor("output.weight").data().get(ValueLayout.JAVA_BYTE, 0))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void readsStories260K() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.stories260K())) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.metadata().getString("general.architecture")).isEqualTo("llama");
            assertThat(f.metadata().getInt("llama.embedding_length", 0)).isEqualTo(64);
            assertThat(f.metadata().getStringArray("tokenizer.ggml.tokens")).hasSize(512)
                    .startsWith("<unk>", "<s>", "</s>");
            assertThat(f.tensorInfos()).hasSize(48);
            assertThat(f.tensorInfos().values()).allMatch(t -> t.type() == TensorType.F32);
            Tensor emb = f.tensor("token_embd.weight");
            assertThat(emb.shape()).containsExactly(64, 512);
            assertThat(emb.data().byteSize()).isEqualTo(64L * 512 * 4);
            assertThat(f.dataStart() % 32).isZero();
        }
    }

    @Test
    void notGguf() throws Exception {
        Path p = tmp.resolve("model.gguf");
        Files.writeString(p, "this is not a model file at all");
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("not a GGUF file").hasMessageContaining("magic");
    }

    @Test
    void emptyFile() throws Exception {
        Path p = tmp.resolve("empty.gguf");
        Files.write(p, new byte[0]);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("not a GGUF file");
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> GgufFile.open(tmp.resolve("nope.gguf"))).hasMessageContaining("model file not found");
    }

    @Test
    void aDirectoryIsNamedAsOne() {
        assertThatThrownBy(() -> GgufFile.open(tmp)).isInstanceOf(java.io.IOException.class)
                .hasMessage("model path " + tmp + " is a directory, not a GGUF file");
    }

    @Test
    void aDeviceIsNotARegularFile() {
        Path zero = Path.of("/dev/zero");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(zero), "no /dev/zero here");
        assertThatThrownBy(() -> GgufFile.open(zero)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("/dev/zero is not a regular file");
    }

    @Test
    void aMisalignedTensorIsRefused() throws Exception {
        Path p = twoTensors();
        byte[] bytes = Files.readAllBytes(p);
        // "b" lies at data offset 32; 16 is inside the data but breaks the 32-byte alignment.
        patchOffset(bytes, "b", 1, 16);
        Files.write(p, bytes);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor 'b' has data offset 16, not a multiple of general.alignment 32");
    }

    @Test
    void anOffsetThatWouldOverflowIsPastTheEnd() throws Exception {
        Path p = twoTensors();
        byte[] bytes = Files.readAllBytes(p);
        patchOffset(bytes, "b", 1, Long.MAX_VALUE - 31);  // aligned; data start + offset wraps negative
        Files.write(p, bytes);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("truncated GGUF file").hasMessageContaining("tensor 'b' needs bytes");
    }

    @Test
    void aShapeWhoseSizeOverflowsIsRefused() throws Exception {
        Path p = twoTensors();
        byte[] bytes = Files.readAllBytes(p);
        // 2^62 F32 values are 2^64 bytes, which wrapped to 0 and passed the range check.
        MemorySegment.ofArray(bytes).set(LE_LONG, afterName(bytes, "b") + 4, 1L << 62);
        Files.write(p, bytes);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor 'b' has shape [4611686018427387904], too large");
    }

    @Test
    void unsupportedVersion() throws Exception {
        byte[] bytes = Files.readAllBytes(SharedFiles.stories260K());
        bytes[4] = 1; // version field
        Path p = tmp.resolve("v1.gguf");
        Files.write(p, bytes);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("unsupported GGUF version 1");
    }

    @Test
    void readsVersion2() throws Exception {
        // Versions 2 and 3 share the layout (3 added big-endian files, which we do not write).
        byte[] bytes = Files.readAllBytes(SharedFiles.stories260K());
        bytes[4] = 2;
        Path p = tmp.resolve("v2.gguf");
        Files.write(p, bytes);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isEqualTo(2);
            assertThat(f.tensorInfos()).hasSize(48);
        }
    }

    @Test
    void truncatedInTheHeader() throws Exception {
        Path p = truncatedCopy(2000);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("truncated GGUF file");
    }

    @Test
    void truncatedInTheTensorData() throws Exception {
        Path p = truncatedCopy(Files.size(SharedFiles.stories260K()) - 100);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("truncated GGUF file")
                .hasMessageContaining("tensor 'blk.4.ffn_up.weight' needs bytes");
    }

    @Test
    void unknownTensorType() throws Exception {
        Path p = tmp.resolve("t.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("weird", TensorType.F32, new long[] {4}, MemorySegment.ofArray(new float[4]))
                .write(p);
        // Patch the tensor's type id (after name, n_dims and the one dimension) to an id ggml never used.
        byte[] bytes = Files.readAllBytes(p);
        int at = indexOf(bytes, "weird".getBytes()) + 5 + 4 + 8;
        MemorySegment.ofArray(bytes).set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at, 99);
        Files.write(p, bytes);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor 'weird' has unknown tensor type id 99");
    }

    @Test
    void mapsFilesLargerThan2GiB() throws Exception {
        // A sparse file: the tensor lies past the 2 GiB mark, so reading it needs 64-bit offsets.
        Path p = tmp.resolve("big.gguf");
        long pad = (1L << 31) + 4096;
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("padding", TensorType.I8, new long[] {1}, MemorySegment.ofArray(new byte[1]))
                .addTensor("far", TensorType.F32, new long[] {4}, MemorySegment.ofArray(new float[] {1, 2, 3, 4}))
                .write(p);
        // Rewrite: move "far" beyond 2 GiB by patching its offset and extending the file.
        byte[] bytes = Files.readAllBytes(p);
        int offAt = indexOf(bytes, "far".getBytes()) + 3 + 4 + 8 + 4;
        var le = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        long dataStart;
        try (GgufFile f = GgufFile.open(p)) { dataStart = f.dataStart(); }
        MemorySegment.ofArray(bytes).set(le, offAt, pad);
        Files.write(p, java.util.Arrays.copyOf(bytes, (int) dataStart));
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(dataStart + pad + 16);
            raf.seek(dataStart + pad);
            for (float v : new float[] {1, 2, 3, 4}) raf.writeInt(Integer.reverseBytes(Float.floatToIntBits(v)));
        }
        try (GgufFile f = GgufFile.open(p)) {
            Tensor far = f.tensor("far");
            assertThat(f.tensorInfos().get("far").offset()).isGreaterThan(Integer.MAX_VALUE);
            float[] values = far.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
            assertThat(values).containsExactly(1, 2, 3, 4);
        }
    }

    /** Tensors "a" and "b" of 8 floats each, at data offsets 0 and 32. */
    private Path twoTensors() throws Exception {
        Path p = tmp.resolve("two.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("a", TensorType.F32, new long[] {8}, MemorySegment.ofArray(new float[8]))
                .addTensor("b", TensorType.F32, new long[] {8}, MemorySegment.ofArray(new float[8]))
                .write(p);
        return p;
    }

    /** Sets the data offset of the tensor info named {@code name} (after its name, n_dims, dims and type). */
    private static void patchOffset(byte[] bytes, String name, int dims, long offset) {
        MemorySegment.ofArray(bytes).set(LE_LONG, afterName(bytes, name) + 4 + 8 * dims + 4, offset);
    }

    /** Where a tensor info's n_dims field starts: after the name, found with its 64-bit length prefix. */
    private static int afterName(byte[] bytes, String name) {
        byte[] key = new byte[8 + name.length()];
        MemorySegment.ofArray(key).set(LE_LONG, 0, name.length());
        System.arraycopy(name.getBytes(), 0, key, 8, name.length());
        return indexOf(bytes, key) + key.length;
    }

    private Path truncatedCopy(long length) throws Exception {
        byte[] bytes = Files.readAllBytes(SharedFiles.stories260K());
        Path p = tmp.resolve("truncated.gguf");
        Files.write(p, java.util.Arrays.copyOf(bytes, (int) length));
        return p;
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
