package io.quire.model.gguf;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF file (versions 2 and 3) memory-mapped as one {@link MemorySegment}: metadata is parsed
 * eagerly, tensors are slices of the mapping in their stored type (nothing is copied, so files
 * larger than 2 GiB and larger than the heap work).
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    public static final int DEFAULT_ALIGNMENT = 32;

    /** Where a tensor lies: its type, GGUF shape and absolute byte offset in the file. */
    public record TensorInfo(String name, TensorType type, long[] shape, long offset, long bytes) {
        /** Values in the tensor. */
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final GgufMetadata metadata;
    private final Map<String, TensorInfo> tensorInfos;
    private final long dataStart;
    private long pos;

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        try {
            if (file.byteSize() < 4 || file.get(I32, 0) != MAGIC) {
                throw new GgufFormatException("not a GGUF file: " + path
                        + " does not start with the magic bytes 'GGUF'");
            }
            pos = 4;
            version = readI32();
            if (version != 2 && version != 3) {
                throw new GgufFormatException("unsupported GGUF version " + version + " in " + path
                        + " (versions 2 and 3 are supported)");
            }
            long tensorCount = readI64();
            long kvCount = readI64();
            if (tensorCount < 0 || kvCount < 0 || tensorCount > file.byteSize() || kvCount > file.byteSize()) {
                throw new GgufFormatException("corrupt GGUF header in " + path + ": " + tensorCount + " tensors, "
                        + kvCount + " metadata entries");
            }
            Map<String, GgufMetadata.Entry> entries = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = readString();
                int typeId = readI32();
                GgufValueType type = GgufValueType.byId(typeId);
                if (type == null) {
                    throw new GgufFormatException("unknown metadata value type " + typeId + " for key '" + key + "' in "
                            + path);
                }
                entries.put(key, readValue(key, type));
            }
            metadata = new GgufMetadata(entries);
            Map<String, long[]> shapes = new LinkedHashMap<>();
            Map<String, TensorInfo> infos = new LinkedHashMap<>();
            String[] names = new String[Math.toIntExact(tensorCount)];
            int[] typeIds = new int[names.length];
            long[] offsets = new long[names.length];
            for (int i = 0; i < names.length; i++) {
                names[i] = readString();
                int nDims = readI32();
                if (nDims < 1 || nDims > 4) {
                    throw new GgufFormatException("tensor '" + names[i] + "' has " + nDims
                            + " dimensions (1 to 4 allowed) in " + path);
                }
                long[] shape = new long[nDims];
                for (int d = 0; d < nDims; d++) {
                    shape[d] = readI64();
                    if (shape[d] <= 0) {
                        throw new GgufFormatException("tensor '" + names[i] + "' has dimension " + shape[d] + " in "
                                + path);
                    }
                }
                shapes.put(names[i], shape);
                typeIds[i] = readI32();
                offsets[i] = readI64();
            }
            int alignment = metadata.getInt("general.alignment", DEFAULT_ALIGNMENT);
            if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
                throw new GgufFormatException("general.alignment " + alignment + " is not a power of two in " + path);
            }
            dataStart = alignUp(pos, alignment);
            for (int i = 0; i < names.length; i++) {
                TensorType type = TensorType.byId(typeIds[i]);
                if (type == null) {
                    throw new GgufFormatException("tensor '" + names[i] + "' has unknown tensor type id " + typeIds[i]
                            + " in " + path + " (Quire computes with " + TensorType.supportedList() + ")");
                }
                long[] shape = shapes.get(names[i]);
                if (shape[0] % type.blockSize() != 0) {
                    throw new GgufFormatException("tensor '" + names[i] + "' of type " + type + " has a row of "
                            + shape[0] + " values, not a multiple of " + type.blockSize());
                }
                long bytes = byteSize(names[i], type, shape);
                // llama.cpp refuses these too: a misaligned offset means the writer and reader disagree
                // on the layout, and the data read would be shifted garbage.
                if (offsets[i] % alignment != 0) {
                    throw new GgufFormatException("tensor '" + names[i] + "' has data offset " + offsets[i]
                            + ", not a multiple of general.alignment " + alignment + " in " + path);
                }
                // Compared without adding, so a huge offset cannot overflow into a "valid" range.
                long room = file.byteSize() - dataStart;
                if (offsets[i] < 0 || offsets[i] > room || bytes > room - offsets[i]) {
                    BigInteger start = BigInteger.valueOf(dataStart).add(BigInteger.valueOf(offsets[i]));
                    throw new GgufFormatException("truncated GGUF file " + path + ": tensor '" + names[i]
                            + "' needs bytes " + start + ".." + start.add(BigInteger.valueOf(bytes))
                            + " but the file has " + file.byteSize());
                }
                long start = dataStart + offsets[i];
                infos.put(names[i], new TensorInfo(names[i], type, shape, start, bytes));
            }
            tensorInfos = Collections.unmodifiableMap(infos);
        } catch (IndexOutOfBoundsException e) {
            throw new GgufFormatException("truncated GGUF file " + path + ": header ends past the end of the file ("
                    + file.byteSize() + " bytes)", e);
        }
    }

    /** {@code parsed}'s header over {@code copy}, its tensors at {@code relocated}'s offsets there. */
    private GgufFile(GgufFile parsed, Arena arena, MemorySegment copy, Map<String, TensorInfo> relocated) {
        this.path = parsed.path;
        this.arena = arena;
        this.file = copy;
        this.version = parsed.version;
        this.metadata = parsed.metadata;
        this.tensorInfos = Collections.unmodifiableMap(relocated);
        this.dataStart = 0;
    }

    /**
     * The same file with every tensor copied into memory of {@code arena}, each starting on a multiple of
     * {@code alignment} bytes, and the mapping closed. GGUF aligns tensors to 32 bytes only
     * ({@code general.alignment}), so in many files every 64-byte vector load of an F32 row straddles two
     * cache lines; from a 64-byte-aligned copy F32 decode ran 1.23x faster on one thread (docs/performance.md).
     * Throws {@link OutOfMemoryError} (the mapping left open) when the arena cannot hold the copy.
     */
    public GgufFile copiedAligned(Arena arena, int alignment) {
        return copiedAligned(arena, alignment, null);
    }

    /**
     * How {@link #copiedAligned(Arena, int, Relayout)} writes tensors in another layout than the file's (the
     * CPU kernels' repacked Q4_K): per tensor, the type it takes in the copy, or null to copy it as stored.
     */
    public interface Relayout {
        TensorType typeOf(TensorInfo t);

        /** Writes t's data ({@code src}, as stored) into {@code dst} in {@link #typeOf}'s layout. */
        void write(TensorInfo t, MemorySegment src, MemorySegment dst);
    }

    /** As {@link #copiedAligned(Arena, int)}, the tensors that {@code relayout} names written in their new layout. */
    public GgufFile copiedAligned(Arena arena, int alignment, Relayout relayout) {
        Map<String, TensorType> types = new LinkedHashMap<>();
        long total = 0;
        for (TensorInfo t : tensorInfos.values()) {
            TensorType type = relayout == null ? null : relayout.typeOf(t);
            types.put(t.name(), type == null ? t.type() : type);
            long bytes = type == null ? t.bytes() : type.bytesFor(t.elements());
            total = alignUp(total, alignment) + bytes;
        }
        MemorySegment copy = arena.allocate(Math.max(total, 1), alignment);
        Map<String, TensorInfo> relocated = new LinkedHashMap<>();
        long at = 0;
        for (TensorInfo t : tensorInfos.values()) {
            at = alignUp(at, alignment);
            TensorType type = types.get(t.name());
            long bytes = type == t.type() ? t.bytes() : type.bytesFor(t.elements());
            if (type == t.type()) MemorySegment.copy(file, t.offset(), copy, at, bytes);
            else relayout.write(t, file.asSlice(t.offset(), t.bytes()), copy.asSlice(at, bytes));
            relocated.put(t.name(), new TensorInfo(t.name(), type, t.shape(), at, bytes));
            at += bytes;
        }
        GgufFile in = new GgufFile(this, arena, copy, relocated);
        close();
        return in;
    }

    /** Whether some tensor's data does not start on a multiple of {@code alignment} bytes in memory. */
    public boolean hasTensorsMisalignedTo(int alignment) {
        for (TensorInfo t : tensorInfos.values()) if ((file.address() + t.offset()) % alignment != 0) return true;
        return false;
    }

    /** Maps and parses {@code path}; the mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) throws IOException {
        // Each case its own message: "not found" for a directory or /dev/zero sends people looking
        // in the wrong place.
        if (Files.isDirectory(path)) throw new IOException("model path " + path + " is a directory, not a GGUF file");
        if (!Files.exists(path)) throw new FileNotFoundException("model file not found: " + path);
        if (!Files.isRegularFile(path)) {
            throw new IOException("model path " + path + " is not a regular file (a device, pipe or socket)");
        }
        if (!Files.isReadable(path)) {
            throw new AccessDeniedException(path.toString(), null, "the model file is not readable");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (RuntimeException | IOException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }
    public int version() { return version; }
    public GgufMetadata metadata() { return metadata; }
    public Map<String, TensorInfo> tensorInfos() { return tensorInfos; }
    public long dataStart() { return dataStart; }
    public MemorySegment segment() { return file; }

    public boolean hasTensor(String name) { return tensorInfos.containsKey(name); }

    /** The tensor {@code name} as a view of the mapping, in its stored type. */
    public Tensor tensor(String name) {
        TensorInfo info = tensorInfos.get(name);
        if (info == null) throw new GgufFormatException("tensor '" + name + "' is missing from " + path);
        return new Tensor(name, info.type(), info.shape(), file.asSlice(info.offset(), info.bytes()));
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Bytes of a tensor's data; a shape whose size overflows a long is a corrupt header, not an arithmetic error. */
    private long byteSize(String name, TensorType type, long[] shape) {
        try {
            long elements = 1;
            for (long d : shape) elements = Math.multiplyExact(elements, d);
            return Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
        } catch (ArithmeticException e) {
            throw new GgufFormatException("tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + ", too large for any file, in " + path);
        }
    }

    static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private int readI32() { int v = file.get(I32, pos); pos += 4; return v; }
    private long readI64() { long v = file.get(I64, pos); pos += 8; return v; }

    private String readString() {
        long len = readI64();
        if (len < 0 || pos + len > file.byteSize()) {
            throw new GgufFormatException("truncated GGUF file " + path + ": a string of " + len + " bytes at offset "
                    + pos + " runs past the end (" + file.byteSize() + " bytes)");
        }
        byte[] bytes = file.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
        pos += len;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private GgufMetadata.Entry readValue(String key, GgufValueType type) {
        if (type != GgufValueType.ARRAY) return new GgufMetadata.Entry(type, null, readScalar(type));
        int elemId = readI32();
        GgufValueType elem = GgufValueType.byId(elemId);
        if (elem == null) {
            throw new GgufFormatException("unknown array element type " + elemId + " for key '" + key + "' in " + path);
        }
        long n = readI64();
        if (n < 0 || n > file.byteSize() - pos) {
            throw new GgufFormatException("truncated GGUF file " + path + ": array '" + key + "' claims " + n
                    + " elements");
        }
        int count = Math.toIntExact(n);
        Object value = switch (elem) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                int[] a = new int[count];
                for (int i = 0; i < count; i++) a[i] = ((Number) readScalar(elem)).intValue();
                yield a;
            }
            case UINT32, UINT64, INT64 -> {
                long[] a = new long[count];
                for (int i = 0; i < count; i++) a[i] = ((Number) readScalar(elem)).longValue();
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[count];
                for (int i = 0; i < count; i++) {
                    a[i] = file.get(F32, pos);
                    pos += 4;
                }
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[count];
                for (int i = 0; i < count; i++) {
                    a[i] = file.get(F64, pos);
                    pos += 8;
                }
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[count];
                for (int i = 0; i < count; i++) a[i] = (Boolean) readScalar(elem);
                yield a;
            }
            case STRING -> {
                String[] a = new String[count];
                for (int i = 0; i < count; i++) a[i] = readString();
                yield a;
            }
            case ARRAY -> {
                Object[] a = new Object[count];
                for (int i = 0; i < count; i++) a[i] = readValue(key, GgufValueType.ARRAY);
                yield a;
            }
        };
        return new GgufMetadata.Entry(GgufValueType.ARRAY, elem, value);
    }

    private Object readScalar(GgufValueType type) {
        Object v = switch (type) {
            case UINT8 -> Byte.toUnsignedInt(file.get(ValueLayout.JAVA_BYTE, pos));
            case INT8 -> (int) file.get(ValueLayout.JAVA_BYTE, pos);
            case UINT16 -> Short.toUnsignedInt(file.get(I16, pos));
            case INT16 -> (int) file.get(I16, pos);
            case UINT32 -> Integer.toUnsignedLong(file.get(I32, pos));
            case INT32 -> file.get(I32, pos);
            case FLOAT32 -> file.get(F32, pos);
            case BOOL -> file.get(ValueLayout.JAVA_BYTE, pos) != 0;
            case UINT64, INT64 -> file.get(I64, pos);
            case FLOAT64 -> file.get(F64, pos);
            case STRING -> null;
            case ARRAY -> throw new IllegalStateException();
        };
        if (type == GgufValueType.STRING) return readString();
        pos += type.fixedSize();
        return v;
    }
}
