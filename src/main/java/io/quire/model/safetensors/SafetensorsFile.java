package io.quire.model.safetensors;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One memory-mapped {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * ({@code name -> {dtype, shape, data_offsets}}, offsets relative to the end of the header), then
 * the raw row-major data. Tensors are views of the mapping, never copies. Every entry is checked
 * against the file size when it is opened, so a truncated file fails here, naming itself.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Header sizes beyond this are corrupt (the format's reference reader caps it at 100 MB). */
    private static final long MAX_HEADER = 100L << 20;

    /** One header entry; {@code dtype} as written ("F32", "BF16", ...), {@code shape} row-major. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {}

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
    }

    /** Maps {@code path} and reads its header; the mapping lives until {@link #close()}. */
    public static SafetensorsFile open(Path path) throws IOException {
        if (!Files.isRegularFile(path)) throw new NoSuchFileException(path.toString(), null, "no safetensors file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            long size = all.byteSize();
            if (size < 8) throw bad(path, "it is " + size + " bytes, shorter than the 8-byte header length");
            long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw bad(path, "its header length " + headerLen + " does not fit the file of " + size + " bytes"
                        + " (truncated?)");
            }
            String header = new String(all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE),
                    StandardCharsets.UTF_8);
            MemorySegment data = all.asSlice(8 + headerLen);
            return new SafetensorsFile(path, arena, data, parse(path, header, data.byteSize()));
        } catch (RuntimeException | IOException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, Entry> parse(Path path, String header, long dataBytes) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JacksonException e) {
            throw bad(path, "its header is not JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) throw bad(path, "its header is not a JSON object");
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            JsonNode offsets = t.path("data_offsets");
            JsonNode shapeNode = t.path("shape");
            if (!t.path("dtype").isString() || !shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw bad(path, "tensor " + name + " lacks dtype, shape or two data_offsets");
            }
            long[] shape = new long[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) throw bad(path, "tensor " + name + " has a negative dimension");
                elements = multiply(path, name, elements, shape[i]);
            }
            long begin = offsets.get(0).asLong(-1), end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataBytes) {
                throw bad(path, "tensor " + name + " at bytes " + begin + ".." + end + " lies outside the "
                        + dataBytes + " data bytes (truncated?)");
            }
            String dtype = t.get("dtype").asString();
            int width = width(dtype);
            if (width > 0 && multiply(path, name, elements, width) != end - begin) {
                throw bad(path, "tensor " + name + " has " + (end - begin) + " bytes, not the " + elements * width
                        + " its shape and " + dtype + " need");
            }
            out.put(name, new Entry(name, dtype, shape, begin, end));
        }
        return Collections.unmodifiableMap(out);
    }

    public Path path() { return path; }

    public Map<String, Entry> entries() { return entries; }

    public boolean has(String name) { return entries.containsKey(name); }

    /**
     * The tensor {@code name} as a view of the mapping, its shape in Quire's (GGUF) order: the
     * innermost dimension first, so a {@code [rows, cols]} matrix becomes {@code {cols, rows}}.
     *
     * @throws SafetensorsException when absent or of a type Quire does not compute with
     */
    public Tensor tensor(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new SafetensorsException("tensor " + name + " is missing from " + path);
        TensorType type = switch (e.dtype()) {
            case "F32" -> TensorType.F32;
            case "F16" -> TensorType.F16;
            case "BF16" -> TensorType.BF16;
            default -> throw new SafetensorsException("tensor " + name + " in " + path + " has dtype " + e.dtype()
                    + ", which Quire does not load (supported: F32, F16, BF16)");
        };
        long[] shape = new long[e.shape().length];
        for (int i = 0; i < shape.length; i++) shape[i] = e.shape()[shape.length - 1 - i];
        if (shape.length == 0) shape = new long[] {1};
        return new Tensor(name, type, shape, data.asSlice(e.begin(), e.end() - e.begin()));
    }

    /** Whether some tensor's data does not start on a multiple of {@code alignment} bytes in memory. */
    public boolean hasTensorsMisalignedTo(int alignment) {
        for (Entry e : entries.values()) if ((data.address() + e.begin()) % alignment != 0) return true;
        return false;
    }

    /**
     * The same file with every tensor copied into memory of {@code arena}, each starting on a multiple of
     * {@code alignment} bytes, and the mapping closed: safetensors aligns its data to 8 bytes only, so
     * most vector loads of an F32 row would straddle two cache lines. Throws {@link OutOfMemoryError} (the
     * mapping left open) when the arena cannot hold the copy.
     */
    public SafetensorsFile copiedAligned(Arena arena, int alignment) {
        long total = 0;
        for (Entry e : entries.values()) total = alignUp(total, alignment) + (e.end() - e.begin());
        MemorySegment copy = arena.allocate(Math.max(total, 1), alignment);
        Map<String, Entry> relocated = new LinkedHashMap<>();
        long at = 0;
        for (Entry e : entries.values()) {
            at = alignUp(at, alignment);
            long bytes = e.end() - e.begin();
            MemorySegment.copy(data, e.begin(), copy, at, bytes);
            relocated.put(e.name(), new Entry(e.name(), e.dtype(), e.shape(), at, at + bytes));
            at += bytes;
        }
        SafetensorsFile in = new SafetensorsFile(path, arena, copy, Collections.unmodifiableMap(relocated));
        close();
        return in;
    }

    private static long alignUp(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    /** The whole mapping (header included), to read it ahead into the page cache. */
    public MemorySegment segment() { return data; }

    @Override
    public void close() { arena.close(); }

    /** Bytes per element of the dtypes the format defines; 0 for an unknown one (checked when used). */
    private static int width(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> 0;
        };
    }

    private static long multiply(Path path, String name, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException x) {
            throw bad(path, "tensor " + name + " has a shape whose size overflows");
        }
    }

    private static SafetensorsException bad(Path path, String why) {
        return new SafetensorsException("cannot read " + path + " as safetensors: " + why);
    }
}
