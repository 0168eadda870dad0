package io.quire.model.safetensors;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * {@code model.safetensors.index.json} of a sharded checkpoint: its {@code weight_map} says which
 * shard ({@code model-00001-of-00002.safetensors}) holds each tensor.
 */
public record SafetensorsIndex(Map<String, String> weightMap) {
    public static final String FILE_NAME = "model.safetensors.index.json";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    public static SafetensorsIndex read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JacksonException e) {
            throw new SafetensorsException(file + " is not JSON (" + e.getOriginalMessage() + ")");
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new SafetensorsException(file + " has no weight_map naming the shards");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String shard = e.getValue().asString("");
            // A shard is a file beside the index: a path that leaves the folder is refused.
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new SafetensorsException(file + " maps " + e.getKey() + " to '" + shard
                        + "', not a file name beside the index");
            }
            out.put(e.getKey(), shard);
        }
        return new SafetensorsIndex(Collections.unmodifiableMap(out));
    }

    /** The shard file names, in the order first named. */
    public Set<String> shards() { return new LinkedHashSet<>(weightMap.values()); }
}
