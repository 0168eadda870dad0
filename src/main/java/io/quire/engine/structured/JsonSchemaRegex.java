package io.quire.engine.structured;

import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.quire.engine.structured.RegexNode.concat;
import static io.quire.engine.structured.RegexNode.literal;
import static io.quire.engine.structured.RegexNode.optional;

/**
 * A JSON Schema as the regular expression of the JSON documents the output may be (the method of
 * outlines and llama.cpp's json-schema-to-grammar): every string it matches is valid against the
 * schema. Objects list their properties in the schema's order, required ones always, optional
 * ones maybe, and no others; recursive {@code $ref}s unfold {@link #MAX_REF_DEPTH} levels deep.
 * A keyword it cannot enforce is refused by name rather than ignored.
 */
public final class JsonSchemaRegex {
    static final int MAX_REF_DEPTH = 3;
    /** Keywords that only describe: they constrain nothing. */
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "$comment",
            "default", "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
    private static final Set<String> KNOWN = Set.of("type", "properties", "required", "additionalProperties",
            "enum", "const", "items", "minItems", "maxItems", "anyOf", "allOf", "$ref", "pattern", "format",
            "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");

    private final JsonNode root;
    private final Map<String, Integer> refDepth = new HashMap<>();

    private JsonSchemaRegex(JsonNode root) {
        this.root = root;
    }

    /** The documents valid against {@code schema}. */
    public static RegexNode of(JsonNode schema) {
        return new JsonSchemaRegex(schema).value(schema, "#");
    }

    /** Any JSON object: OpenAI's JSON mode. */
    static RegexNode anyObject() {
        return JsonRegex.object(JsonRegex.anyValue(JsonRegex.ANY_DEPTH - 1));
    }

    private RegexNode value(JsonNode s, String path) {
        if (s.isBoolean()) return s.booleanValue() ? JsonRegex.anyValue(JsonRegex.ANY_DEPTH) : RegexNode.NOTHING;
        if (!s.isObject()) throw error(path, "a schema must be an object or a boolean");
        for (String key : s.propertyNames()) {
            if (!KNOWN.contains(key) && !ANNOTATIONS.contains(key)) {
                throw new ConstraintException("The JSON Schema keyword '" + key + "' (at " + path + ") is not supported.");
            }
        }
        if (s.has("$ref")) return ref(s.get("$ref").asString(), path);
        if (s.has("const")) return literal(s.get("const").toString());
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty()) throw error(path, "enum must be a non-empty array");
            List<RegexNode> out = new ArrayList<>();
            for (JsonNode v : e) out.add(literal(v.toString()));
            return JsonRegex.alts(out);
        }
        if (s.has("anyOf")) return anyOf(s.get("anyOf"), path + "/anyOf");
        if (s.has("allOf")) {
            JsonNode all = s.get("allOf");
            if (!all.isArray() || all.size() != 1) throw error(path, "allOf is supported with one schema only");
            return value(all.get(0), path + "/allOf/0");
        }
        JsonNode type = s.get("type");
        if (type == null) {
            if (s.has("properties") || s.has("additionalProperties") || s.has("required")) return typed("object", s, path);
            if (s.has("items") || s.has("minItems") || s.has("maxItems")) return typed("array", s, path);
            if (s.has("pattern") || s.has("format") || s.has("minLength") || s.has("maxLength")) return typed("string", s, path);
            if (s.has("minimum") || s.has("maximum") || s.has("exclusiveMinimum") || s.has("exclusiveMaximum")) {
                return typed("number", s, path);
            }
            return JsonRegex.anyValue(JsonRegex.ANY_DEPTH);
        }
        if (type.isArray()) {
            List<RegexNode> out = new ArrayList<>();
            for (JsonNode t : type) out.add(typed(t.asString(), s, path));
            return JsonRegex.alts(out);
        }
        return typed(type.asString(), s, path);
    }

    private RegexNode typed(String type, JsonNode s, String path) {
        return switch (type) {
            case "string" -> StringSchemas.string(s, path);
            case "integer" -> NumberSchemas.integer(s, path);
            case "number" -> NumberSchemas.number(s, path);
            case "boolean" -> JsonRegex.BOOLEAN;
            case "null" -> JsonRegex.NULL;
            case "array" -> array(s, path);
            case "object" -> object(s, path);
            default -> throw error(path, "unknown type '" + type + "'");
        };
    }

    private RegexNode anyOf(JsonNode options, String path) {
        if (!options.isArray() || options.isEmpty()) throw error(path, "anyOf must be a non-empty array");
        List<RegexNode> out = new ArrayList<>();
        for (int i = 0; i < options.size(); i++) out.add(value(options.get(i), path + "/" + i));
        return JsonRegex.alts(out);
    }

    private RegexNode ref(String ref, String path) {
        if (!ref.startsWith("#")) throw error(path, "only local $refs (#/...) are supported, got '" + ref + "'");
        JsonNode target = root.at(ref.substring(1));
        if (target.isMissingNode()) throw error(path, "$ref '" + ref + "' points nowhere");
        int depth = refDepth.merge(ref, 1, Integer::sum);
        try {
            // Deeper than this, a recursive alternative is dropped: what remains must still end.
            return depth > MAX_REF_DEPTH ? RegexNode.NOTHING : value(target, ref);
        } finally {
            refDepth.merge(ref, -1, Integer::sum);
        }
    }

    private RegexNode array(JsonNode s, String path) {
        RegexNode item = s.has("items") ? value(s.get("items"), path + "/items") : JsonRegex.anyValue(JsonRegex.ANY_DEPTH - 1);
        int min = count(s, "minItems", 0, path);
        int max = count(s, "maxItems", -1, path);
        if (max >= 0 && max < min) throw error(path, "maxItems is below minItems");
        if (max > RegexParser.MAX_REPEAT || min > RegexParser.MAX_REPEAT) {
            throw error(path, "minItems/maxItems above " + RegexParser.MAX_REPEAT + " are not supported");
        }
        RegexNode body;
        if (min <= 1 && max < 0) {
            body = new RegexNode.SepList(item, JsonRegex.comma(), min == 0);
        } else if (max == 0) {
            body = RegexNode.EMPTY;
        } else {
            RegexNode more = new RegexNode.Repeat(concat(JsonRegex.comma(), item), Math.max(min - 1, 0), max < 0 ? -1 : max - 1);
            body = concat(item, more);
            if (min == 0) body = optional(body);
        }
        return concat(literal("["), JsonRegex.WS, body, JsonRegex.WS, literal("]"));
    }

    private RegexNode object(JsonNode s, String path) {
        JsonNode props = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        Set<String> required = new java.util.LinkedHashSet<>();
        if (s.has("required")) for (JsonNode r : s.get("required")) required.add(r.asString());
        if (props == null || props.isEmpty()) {
            if (!required.isEmpty()) throw error(path, "required names properties the schema does not define");
            if (additional != null && additional.isBoolean() && !additional.booleanValue()) return literal("{}");
            RegexNode v = additional == null || additional.isBoolean() ? JsonRegex.anyValue(JsonRegex.ANY_DEPTH - 1)
                    : value(additional, path + "/additionalProperties");
            return JsonRegex.object(v);
        }
        if (additional != null && !additional.isBoolean()) value(additional, path + "/additionalProperties"); // checked only
        List<RegexNode> members = new ArrayList<>();
        List<Boolean> isRequired = new ArrayList<>();
        for (String name : props.propertyNames()) {
            RegexNode v = value(props.get(name), path + "/properties/" + name);
            members.add(concat(literal(JsonRegex.quote(name)), JsonRegex.WS, literal(":"), JsonRegex.WS, v));
            isRequired.add(required.remove(name));
        }
        if (!required.isEmpty()) throw error(path, "required names properties the schema does not define: " + required);
        return concat(literal("{"), JsonRegex.WS, new RegexNode.Members(members, isRequired, JsonRegex.comma()), JsonRegex.WS, literal("}"));
    }

    private static int count(JsonNode s, String key, int none, String path) {
        JsonNode v = s.get(key);
        if (v == null) return none;
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0) throw error(path, key + " must be a non-negative integer");
        return v.intValue();
    }

    static ConstraintException error(String path, String what) {
        return new ConstraintException("Invalid JSON Schema at " + path + ": " + what + ".");
    }
}
