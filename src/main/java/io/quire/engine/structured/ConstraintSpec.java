package io.quire.engine.structured;

import java.util.List;
import java.util.Objects;

/**
 * What the output must look like, as a request states it: the engine-side form of OpenAI's
 * {@code response_format} and vLLM's {@code structured_outputs} / {@code guided_*} fields. A
 * value (records of strings), so equal constraints share one compiled automaton in the
 * {@link ConstraintCompiler}'s cache. The combinators ({@link Literal}, {@link Sequence},
 * {@link AnyOf}, {@link Repeat}) build constraints out of others, such as a tool call: fixed text
 * around arguments that follow a JSON Schema.
 */
public sealed interface ConstraintSpec {
    /** The whole output matches this regular expression ({@link RegexParser}'s syntax). */
    record Regex(String pattern) implements ConstraintSpec {
        public Regex { Objects.requireNonNull(pattern, "pattern"); }
    }

    /** The output is exactly one of these strings. */
    record Choice(List<String> choices) implements ConstraintSpec {
        public Choice { choices = List.copyOf(choices); }
    }

    /** A JSON document valid against this JSON Schema (given as JSON text). */
    record JsonSchema(String schema) implements ConstraintSpec {
        public JsonSchema { Objects.requireNonNull(schema, "schema"); }
    }

    /** Any JSON object (OpenAI's JSON mode). */
    record JsonObject() implements ConstraintSpec {}

    /** A string of this GBNF grammar (llama.cpp's EBNF dialect; the start rule is {@code root}). */
    record Grammar(String gbnf) implements ConstraintSpec {
        public Grammar { Objects.requireNonNull(gbnf, "gbnf"); }
    }

    /** Exactly this text. */
    record Literal(String text) implements ConstraintSpec {
        public Literal { Objects.requireNonNull(text, "text"); }
    }

    /** Each part in turn. */
    record Sequence(List<ConstraintSpec> parts) implements ConstraintSpec {
        public Sequence { parts = List.copyOf(parts); }
    }

    /** Any one of the options. */
    record AnyOf(List<ConstraintSpec> options) implements ConstraintSpec {
        public AnyOf { options = List.copyOf(options); }
    }

    /** {@code part} between {@code min} and {@code max} times (max -1: unbounded), {@code separator} between. */
    record Repeat(ConstraintSpec part, ConstraintSpec separator, int min, int max) implements ConstraintSpec {
        public Repeat {
            Objects.requireNonNull(part, "part");
            Objects.requireNonNull(separator, "separator");
        }
    }

    /** A JSON Schema given as a Jackson tree (its compact JSON text is the cache key). */
    static ConstraintSpec jsonSchema(tools.jackson.databind.JsonNode schema) {
        return new JsonSchema(schema.toString());
    }
}
