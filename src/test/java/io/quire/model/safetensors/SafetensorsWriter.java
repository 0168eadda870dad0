package io.quire.model.safetensors;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes {@code .safetensors} files for tests, as the reference Python writer does: the JSON
 * header padded with spaces to a multiple of 8 bytes, then each tensor's bytes in order.
 */
public final class SafetensorsWriter {
    public record Data(String dtype, long[] shape, byte[] bytes) {}

    private final Map<String, Data> tensors = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, String dtype, long[] shape, byte[] bytes) {
        tensors.put(name, new Data(dtype, shape.clone(), bytes));
        return this;
    }

    public void write(Path path) throws IOException {
        JsonMapper json = JsonMapper.builder().build();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Data> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            var shape = t.putArray("shape");
            for (long d : e.getValue().shape()) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + e.getValue().bytes().length);
            offset += e.getValue().bytes().length;
        }
        StringBuilder text = new StringBuilder(json.writeValueAsString(header));
        while (text.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) text.append(' ');
        byte[] h = text.toString().getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(path)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            out.write(h);
            for (Data d : tensors.values()) out.write(d.bytes());
        }
    }
}
