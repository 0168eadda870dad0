package io.quire.api;

import io.quire.api.wire.SamplingFields;
import io.quire.engine.InvalidConstraintException;
import io.quire.engine.structured.ConstraintSpec;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The request fields that constrain the output, mapped to the engine's {@link ConstraintSpec}:
 * OpenAI's {@code response_format} ({@code json_object}, {@code json_schema}), vLLM's
 * {@code structured_outputs} ({@code json}, {@code regex}, {@code choice}, {@code grammar},
 * {@code json_object}) and its older {@code guided_json}, {@code guided_regex},
 * {@code guided_choice}, {@code guided_grammar}. At most one may be given. Only the shape is
 * checked here; the engine compiles the constraint, and what it refuses comes back as a 400
 * naming the field it came from ({@link #submit}).
 */
final class StructuredOutputs {
    /** A constraint and the request field it came from. */
    record Requested(ConstraintSpec spec, String param) {}

    /** vLLM's structured_outputs options that do not change the language (backend choice). */
    private static final Set<String> NEUTRAL_OPTIONS = Set.of("backend", "disable_fallback");

    private StructuredOutputs() {}

    /** The request's constraint, or null when the output is free. */
    static Requested read(SamplingFields r) {
        List<Requested> found = new ArrayList<>();
        add(found, responseFormat(r.responseFormat()));
        add(found, structuredOutputs(r.structuredOutputs()));
        if (present(r.guidedJson())) found.add(new Requested(json(r.guidedJson(), "guided_json"), "guided_json"));
        if (present(r.guidedRegex())) found.add(new Requested(new ConstraintSpec.Regex(text(r.guidedRegex(), "guided_regex")), "guided_regex"));
        if (present(r.guidedChoice())) found.add(new Requested(choice(r.guidedChoice(), "guided_choice"), "guided_choice"));
        if (present(r.guidedGrammar())) {
            found.add(new Requested(new ConstraintSpec.Grammar(text(r.guidedGrammar(), "guided_grammar")), "guided_grammar"));
        }
        if (found.size() > 1) {
            throw ApiException.badRequest(found.get(1).param(), "Only one kind of structured output may be requested, got "
                    + found.stream().map(Requested::param).toList() + ".");
        }
        return found.isEmpty() ? null : found.getFirst();
    }

    /**
     * Runs the submission, turning the engine's refusal of the constraint into a 400 that names
     * the field it came from.
     */
    static <T> T submit(Requested constraint, Supplier<T> submission) {
        try {
            return submission.get();
        } catch (InvalidConstraintException e) {
            throw ApiException.badRequest(constraint == null ? null : constraint.param(), e.getMessage());
        }
    }

    private static void add(List<Requested> found, Requested r) {
        if (r != null) found.add(r);
    }

    private static Requested responseFormat(JsonNode v) {
        if (!present(v)) return null;
        String param = "response_format";
        if (!v.isObject() || !v.path("type").isString()) {
            throw ApiException.badRequest(param, "response_format must be an object with a string 'type'.");
        }
        return switch (v.get("type").stringValue()) {
            case "text" -> null;
            case "json_object" -> new Requested(new ConstraintSpec.JsonObject(), param);
            case "json_schema" -> {
                JsonNode js = v.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badRequest(param, "response_format of type json_schema needs a 'json_schema' object.");
                }
                // Neither changes the language (the schema is always enforced), but a wrong type is still a 400.
                checkType(js.get("name"), JsonNode::isString, "response_format.json_schema.name", "a string");
                checkType(js.get("strict"), JsonNode::isBoolean, "response_format.json_schema.strict", "a boolean");
                JsonNode schema = js.get("schema");
                if (schema == null || schema.isNull()) {
                    throw ApiException.badRequest(param, "response_format.json_schema needs a 'schema'.");
                }
                yield new Requested(json(schema, param), param);
            }
            default -> throw ApiException.badRequest(param, "response_format type '" + v.get("type").stringValue()
                    + "' is not supported; text, json_object and json_schema are.");
        };
    }

    private static Requested structuredOutputs(JsonNode v) {
        if (!present(v)) return null;
        String param = "structured_outputs";
        if (!v.isObject()) throw ApiException.badRequest(param, "structured_outputs must be an object.");
        List<Requested> found = new ArrayList<>();
        for (String key : v.propertyNames()) {
            JsonNode f = v.get(key);
            if (!present(f) || NEUTRAL_OPTIONS.contains(key)) continue;
            String where = param + "." + key;
            switch (key) {
                case "json" -> found.add(new Requested(json(f, where), param));
                case "regex" -> found.add(new Requested(new ConstraintSpec.Regex(text(f, where)), param));
                case "choice" -> found.add(new Requested(choice(f, where), param));
                case "grammar" -> found.add(new Requested(new ConstraintSpec.Grammar(text(f, where)), param));
                case "json_object" -> {
                    if (!f.isBoolean()) throw ApiException.badRequest(param, where + " must be a boolean.");
                    if (f.booleanValue()) found.add(new Requested(new ConstraintSpec.JsonObject(), param));
                }
                default -> throw ApiException.badRequest(param, "Unsupported parameter: '" + where
                        + "' is not supported by this server; json, regex, choice, grammar and json_object are.");
            }
        }
        if (found.size() > 1) {
            throw ApiException.badRequest(param, "structured_outputs may set only one of json, regex, choice, grammar, json_object.");
        }
        return found.isEmpty() ? null : found.getFirst();
    }

    /** A JSON Schema given as an object (or a boolean), or as JSON text. */
    private static ConstraintSpec json(JsonNode v, String where) {
        if (v.isObject() || v.isBoolean()) return ConstraintSpec.jsonSchema(v);
        if (v.isString()) return new ConstraintSpec.JsonSchema(v.stringValue());
        throw ApiException.badRequest(where.split("\\.")[0], where + " must be a JSON Schema (an object or a string).");
    }

    private static ConstraintSpec choice(JsonNode v, String where) {
        if (!v.isArray()) throw ApiException.badRequest(where.split("\\.")[0], where + " must be an array of strings.");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) out.add(text(v.get(i), where + "[" + i + "]"));
        return new ConstraintSpec.Choice(out);
    }

    private static String text(JsonNode v, String where) {
        if (!v.isString()) throw ApiException.badRequest(where.split("[.\\[]")[0], BindingErrors.typeMismatch(where, "a string", v));
        return v.stringValue();
    }

    private static void checkType(JsonNode v, Predicate<JsonNode> ok, String where, String expected) {
        if (present(v) && !ok.test(v)) {
            throw ApiException.badRequest(where.split("\\.")[0], BindingErrors.typeMismatch(where, expected, v));
        }
    }

    private static boolean present(JsonNode v) {
        return v != null && !v.isNull() && !v.isMissingNode();
    }
}
