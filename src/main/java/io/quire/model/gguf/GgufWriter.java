package io.quire.model.gguf;

import io.quire.backend.TensorType;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes GGUF version 3 files: typed metadata, then tensors in their stored type, each aligned to
 * {@code general.alignment} (32 unless set). Used to save random-weight models and in tests.
 */
public final class GgufWriter {
    private record PendingTensor(String name, TensorType type, long[] shape, MemorySegment data) {}

    private final Map<String, GgufMetadata.Entry> metadata = new LinkedHashMap<>();
    private final Map<String, PendingTensor> tensors = new LinkedHashMap<>();

    public GgufWriter put(String key, GgufMetadata.Entry entry) {
        metadata.put(key, entry);
        return this;
    }

    public GgufWriter putString(String key, String v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.STRING, null, v));
    }

    public GgufWriter putUInt32(String key, long v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.UINT32, null, v));
    }

    public GgufWriter putFloat32(String key, float v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.FLOAT32, null, v));
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.BOOL, null, v));
    }

    public GgufWriter putStrings(String key, String[] v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.STRING, v));
    }

    public GgufWriter putFloats(String key, float[] v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.FLOAT32, v));
    }

    public GgufWriter putInts(String key, int[] v) {
        return put(key, new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.INT32, v));
    }

    /**
     * Adds a tensor, replacing one of the same name; {@code data} holds its bytes in {@code type}
     * ({@code shape[0]} contiguous).
     */
    public GgufWriter addTensor(String name, TensorType type, long[] shape, MemorySegment data) {
        long elements = 1;
        for (long d : shape) elements *= d;
        if (data.byteSize() != type.bytesFor(elements)) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes given, "
                    + type.bytesFor(elements) + " needed for " + type);
        }
        tensors.put(name, new PendingTensor(name, type, shape.clone(), data));
        return this;
    }

    public void write(Path path) throws IOException {
        try (OutputStream raw = Files.newOutputStream(path);
             OutputStream out = new BufferedOutputStream(raw, 1 << 20)) {
            write(out);
        }
    }

    public void write(OutputStream out) throws IOException {
        int alignment = metadata.containsKey("general.alignment")
                ? ((Number) metadata.get("general.alignment").value()).intValue() : GgufFile.DEFAULT_ALIGNMENT;
        Sink s = new Sink(out);
        s.i32(GgufFile.MAGIC);
        s.i32(3);
        s.i64(tensors.size());
        s.i64(metadata.size());
        for (var e : metadata.entrySet()) {
            s.string(e.getKey());
            s.i32(e.getValue().type().id());
            writeValue(s, e.getValue());
        }
        long offset = 0;
        for (PendingTensor t : tensors.values()) {
            s.string(t.name());
            s.i32(t.shape().length);
            for (long d : t.shape()) s.i64(d);
            s.i32(t.type().id());
            s.i64(offset);
            offset = GgufFile.alignUp(offset + t.data().byteSize(), alignment);
        }
        s.pad(alignment);
        for (PendingTensor t : tensors.values()) {
            s.pad(alignment);
            s.bytes(t.data());
        }
        s.flush();
    }

    private static void writeValue(Sink s, GgufMetadata.Entry e) throws IOException {
        if (e.type() != GgufValueType.ARRAY) {
            writeScalar(s, e.type(), e.value());
            return;
        }
        s.i32(e.elementType().id());
        Object v = e.value();
        switch (v) {
            case int[] a -> { s.i64(a.length); for (int x : a) writeScalar(s, e.elementType(), x); }
            case long[] a -> { s.i64(a.length); for (long x : a) writeScalar(s, e.elementType(), x); }
            case float[] a -> { s.i64(a.length); for (float x : a) writeScalar(s, e.elementType(), x); }
            case double[] a -> { s.i64(a.length); for (double x : a) writeScalar(s, e.elementType(), x); }
            case boolean[] a -> { s.i64(a.length); for (boolean x : a) writeScalar(s, e.elementType(), x); }
            case String[] a -> { s.i64(a.length); for (String x : a) s.string(x); }
            case Object[] a -> { s.i64(a.length); for (Object x : a) writeValue(s, (GgufMetadata.Entry) x); }
            default -> throw new IllegalArgumentException("unsupported array value " + v.getClass());
        }
    }

    private static void writeScalar(Sink s, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> s.u8(((Number) v).intValue());
            case UINT16, INT16 -> s.i16(((Number) v).intValue());
            case UINT32, INT32 -> s.i32((int) ((Number) v).longValue());
            case UINT64, INT64 -> s.i64(((Number) v).longValue());
            case FLOAT32 -> s.i32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case FLOAT64 -> s.i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case BOOL -> s.u8(((Boolean) v) ? 1 : 0);
            case STRING -> s.string((String) v);
            case ARRAY -> throw new IllegalArgumentException("nested array needs an Entry");
        }
    }

    /** Little-endian output that counts bytes (for alignment padding). */
    private static final class Sink {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long written;

        Sink(OutputStream out) { this.out = out; }

        void u8(int v) throws IOException { out.write(v); written++; }
        void i16(int v) throws IOException {
            buf.clear();
            buf.putShort((short) v);
            out.write(buf.array(), 0, 2);
            written += 2;
        }
        void i32(int v) throws IOException { buf.clear(); buf.putInt(v); out.write(buf.array(), 0, 4); written += 4; }
        void i64(long v) throws IOException { buf.clear(); buf.putLong(v); out.write(buf.array(), 0, 8); written += 8; }

        void string(String v) throws IOException {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            out.write(b);
            written += b.length;
        }

        void bytes(MemorySegment seg) throws IOException {
            byte[] chunk = new byte[1 << 20];
            for (long off = 0; off < seg.byteSize(); off += chunk.length) {
                int n = (int) Math.min(chunk.length, seg.byteSize() - off);
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
                out.write(chunk, 0, n);
                written += n;
            }
        }

        void pad(int alignment) throws IOException {
            while (written % alignment != 0) u8(0);
        }

        void flush() throws IOException { out.flush(); }
    }
}
