package io.quire.engine.structured;

import io.quire.model.tokenizer.Tokenizer;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Compiles {@link ConstraintSpec}s into {@link TokenConstraint}s for one model's vocabulary, before
 * a request is queued (a bad constraint is a {@link ConstraintException}, so a 400), and keeps the
 * last {@link #CACHE_SIZE} of them: a repeated constraint costs a map lookup, and its token masks,
 * computed once per automaton state, are shared by every request that uses it. Thread-safe.
 */
public final class ConstraintCompiler {
    static final int CACHE_SIZE = 64;
    /** Most choices a {@code choice} constraint may list. */
    static final int MAX_CHOICES = 10_000;

    private final Supplier<TokenVocabulary> vocabulary;
    private final Map<ConstraintSpec, TokenConstraint> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ConstraintSpec, TokenConstraint> e) {
            return size() > CACHE_SIZE;
        }
    };
    private TokenVocabulary vocab;

    public ConstraintCompiler(Tokenizer tokenizer) {
        this.vocabulary = () -> new TokenVocabulary(tokenizer);
    }

    /** The compiled constraint (cached). */
    public TokenConstraint compile(ConstraintSpec spec) {
        synchronized (cache) {
            TokenConstraint c = cache.get(spec);
            if (c != null) return c;
        }
        TokenConstraint c = new TokenConstraint(new ByteDfa(new Nfa(toRegex(spec))), vocabulary());
        synchronized (cache) {
            cache.putIfAbsent(spec, c);
            return cache.get(spec);
        }
    }

    private synchronized TokenVocabulary vocabulary() {
        if (vocab == null) vocab = vocabulary.get(); // built on first use: a large vocabulary takes a moment
        return vocab;
    }

    /** The language of {@code spec} as a regular expression over characters. */
    public static RegexNode toRegex(ConstraintSpec spec) {
        return switch (spec) {
            case ConstraintSpec.Regex r -> RegexParser.parse(r.pattern());
            case ConstraintSpec.Choice c -> {
                if (c.choices().isEmpty()) throw new ConstraintException("choice must list at least one string.");
                if (c.choices().size() > MAX_CHOICES) throw new ConstraintException("choice may list at most " + MAX_CHOICES + " strings.");
                yield JsonRegex.alts(c.choices().stream().map(RegexNode::literal).toList());
            }
            case ConstraintSpec.JsonSchema j -> JsonSchemaRegex.of(parseJson(j.schema()));
            case ConstraintSpec.JsonObject j -> JsonSchemaRegex.anyObject();
            case ConstraintSpec.Grammar g -> GbnfGrammar.parse(g.gbnf()).toRegex();
            case ConstraintSpec.Literal l -> RegexNode.literal(l.text());
            case ConstraintSpec.Sequence s -> new RegexNode.Concat(s.parts().stream().map(ConstraintCompiler::toRegex).toList());
            case ConstraintSpec.AnyOf a -> {
                if (a.options().isEmpty()) throw new ConstraintException("anyOf needs at least one option.");
                yield JsonRegex.alts(a.options().stream().map(ConstraintCompiler::toRegex).toList());
            }
            case ConstraintSpec.Repeat r -> repeat(r);
        };
    }

    private static RegexNode repeat(ConstraintSpec.Repeat r) {
        if (r.min() < 0 || (r.max() >= 0 && r.max() < r.min()) || Math.max(r.min(), r.max()) > RegexParser.MAX_REPEAT) {
            throw new ConstraintException("A repetition must have 0 <= min <= max <= " + RegexParser.MAX_REPEAT + ".");
        }
        RegexNode part = toRegex(r.part()), sep = toRegex(r.separator());
        if (r.max() < 0 && r.min() <= 1) return new RegexNode.SepList(part, sep, r.min() == 0);
        if (r.max() == 0) return RegexNode.EMPTY;
        List<RegexNode> parts = new ArrayList<>();
        parts.add(part);
        parts.add(new RegexNode.Repeat(RegexNode.concat(sep, part), Math.max(r.min() - 1, 0), r.max() < 0 ? -1 : r.max() - 1));
        RegexNode body = new RegexNode.Concat(parts);
        return r.min() == 0 ? RegexNode.optional(body) : body;
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static JsonNode parseJson(String text) {
        try {
            return JSON.readTree(text);
        } catch (JacksonException e) {
            throw new ConstraintException("The JSON Schema is not valid JSON: " + e.getOriginalMessage());
        }
    }
}
