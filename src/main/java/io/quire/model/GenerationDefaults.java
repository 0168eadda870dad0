package io.quire.model;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The sampling settings a model's authors recommend, from a Hugging Face folder's
 * {@code generation_config.json}: they replace the server's defaults for fields a request leaves
 * out (as vLLM's {@code --generation-config auto} does; {@code do_sample} is ignored there too).
 * Null means not given. {@code eosTokenIds} ({@code eos_token_id}, one id or a list) end generation
 * like EOS does.
 */
public record GenerationDefaults(Float temperature, Float topP, Integer topK, Float minP, Float repetitionPenalty,
                                 List<Integer> eosTokenIds) {
    public static final String FILE_NAME = "generation_config.json";
    public static final GenerationDefaults NONE = new GenerationDefaults(null, null, null, null, null, List.of());
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** The folder's {@code generation_config.json}, or {@link #NONE} when it has none. */
    static GenerationDefaults read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) return NONE;
        JsonNode g;
        try {
            g = JSON.readTree(Files.readString(file));
        } catch (JacksonException e) {
            throw new ModelLoadException(file + " is not JSON (" + e.getOriginalMessage() + ")");
        }
        if (g == null || !g.isObject()) throw new ModelLoadException(file + " is not a JSON object");
        List<Integer> eos = new ArrayList<>();
        JsonNode e = g.path("eos_token_id");
        if (e.isArray()) {
            for (JsonNode id : e) eos.add(id(file, id));
        } else if (!e.isMissingNode() && !e.isNull()) {
            eos.add(id(file, e));
        }
        Float temperature = number(g, "temperature"), topP = number(g, "top_p"), minP = number(g, "min_p");
        Float repetition = number(g, "repetition_penalty");
        Integer topK = g.path("top_k").isNumber() ? g.path("top_k").asInt() : null;
        // The ranges a request is held to (RequestValidator): a bad default would otherwise turn every
        // request that leaves the field out into a 400, long after the server said it was ready.
        check(file, "temperature", temperature, temperature == null || temperature >= 0 && !temperature.isInfinite(),
                "non-negative");
        check(file, "top_p", topP, topP == null || topP > 0 && topP <= 1, "in (0, 1]");
        check(file, "top_k", topK, topK == null || topK >= -1, "-1 or 0 (off), or at least 1");
        check(file, "min_p", minP, minP == null || minP >= 0 && minP <= 1, "in [0, 1]");
        check(file, "repetition_penalty", repetition, repetition == null || repetition > 0 && !repetition.isInfinite(),
                "greater than zero");
        return new GenerationDefaults(temperature, topP, topK, minP, repetition, List.copyOf(eos));
    }

    private static void check(Path file, String key, Object value, boolean ok, String range) {
        if (!ok) throw new ModelLoadException(file + ": " + key + " must be " + range + ", got " + value);
    }

    private static Float number(JsonNode g, String key) {
        JsonNode v = g.path(key);
        return v.isNumber() ? (float) v.asDouble() : null;
    }

    private static int id(Path file, JsonNode v) {
        if (!v.canConvertToInt() || v.asInt() < 0) {
            throw new ModelLoadException(file + ": eos_token_id " + v + " is not a token id");
        }
        return v.asInt();
    }
}
