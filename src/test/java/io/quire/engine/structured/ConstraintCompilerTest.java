package io.quire.engine.structured;

import io.quire.backend.TensorType;
import io.quire.model.RandomModels;
import io.quire.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Constraints on the random model's vocabulary, walked with uniformly random allowed tokens: only
 * the masks make the output valid, and the JSON Schema validator is the oracle.
 */
class ConstraintCompilerTest {
    private static Tokenizer tokenizer;
    private static ConstraintCompiler compiler;

    @BeforeAll
    static void vocabulary() {
        tokenizer = RandomModels.load(RandomModels.DEFAULT, TensorType.F32, 1).tokenizer();
        compiler = new ConstraintCompiler(tokenizer);
    }

    @Test
    void everyJsonSchemaWalkValidates() {
        Random random = new Random(7);
        int walks = 0;
        for (String schema : StructuredSchemas.SCHEMAS) {
            TokenConstraint c = compiler.compile(new ConstraintSpec.JsonSchema(schema));
            for (int i = 0; i < 16; i++, walks++) {
                ConstraintWalk.Result r = ConstraintWalk.run(c, tokenizer, 160, random);
                assertThat(StructuredSchemas.validate(schema, r.text())).as("%s\nagainst %s", r.text(), schema).isEmpty();
            }
        }
        assertThat(walks).isGreaterThan(200);
    }

    @Test
    void jsonObjectWalksParseAsObjects() {
        Random random = new Random(3);
        TokenConstraint c = compiler.compile(new ConstraintSpec.JsonObject());
        for (int i = 0; i < 30; i++) {
            String text = ConstraintWalk.run(c, tokenizer, 100, random).text();
            assertThat(StructuredSchemas.parse(text).isObject()).as(text).isTrue();
        }
    }

    @Test
    void regexWalksMatch() {
        Random random = new Random(5);
        for (String regex : List.of("[a-z]+@[a-z]+\\.(com|org)", "\\d{3}-\\d{4}", "(yes|no|maybe)!?",
                "[A-Z][a-z]{2,8}( [A-Z][a-z]{2,8})*", "[^\\n]{1,20}", "é+(ü|ß)\\u{1F600}?")) {
            TokenConstraint c = compiler.compile(new ConstraintSpec.Regex(regex));
            Pattern p = Pattern.compile(regex.replace("\\u{1F600}", "\\x{1F600}"));
            for (int i = 0; i < 20; i++) {
                ConstraintWalk.Result r = ConstraintWalk.run(c, tokenizer, 40, random);
                assertThat(p.matcher(r.text()).matches()).as("%s for %s", r.text(), regex).isTrue();
            }
        }
    }

    @Test
    void choiceWalksPickAChoice() {
        Random random = new Random(9);
        List<String> choices = List.of("positive", "negative", "neutral", "pos");
        TokenConstraint c = compiler.compile(new ConstraintSpec.Choice(choices));
        for (int i = 0; i < 40; i++) assertThat(choices).contains(ConstraintWalk.run(c, tokenizer, 20, random).text());
    }

    /** llama.cpp's grammars/json.gbnf, as published. */
    static final String JSON_GBNF = """
            root   ::= object
            value  ::= object | array | string | number | ("true" | "false" | "null") ws

            object ::=
              "{" ws (
                        string ":" ws value
                ("," ws string ":" ws value)*
              )? "}" ws

            array  ::=
              "[" ws (
                        value
                ("," ws value)*
              )? "]" ws

            string ::=
              "\\"" (
                [^"\\\\\\x7F\\x00-\\x1F] |
                "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
              )* "\\"" ws

            number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

            # Optional space: by convention, applied in this grammar after literal chars when allowed
            ws ::= | " " | "\\n" [ \\t]{0,20}
            """;

    static final String ARITHMETIC_GBNF = """
            root   ::= expr
            expr   ::= term (("+" | "-") term)*
            term   ::= factor (("*" | "/") factor)*
            factor ::= number | "(" expr ")"
            number ::= [0-9]+
            """;

    @Test
    void grammarWalksParse() {
        Random random = new Random(11);
        TokenConstraint json = compiler.compile(new ConstraintSpec.Grammar(JSON_GBNF));
        for (int i = 0; i < 30; i++) {
            String text = ConstraintWalk.run(json, tokenizer, 120, random).text();
            assertThat(StructuredSchemas.parse(text).isObject()).as(text).isTrue();
        }
        TokenConstraint arithmetic = compiler.compile(new ConstraintSpec.Grammar(ARITHMETIC_GBNF));
        for (int i = 0; i < 30; i++) {
            String text = ConstraintWalk.run(arithmetic, tokenizer, 60, random).text();
            assertThat(Arithmetic.parses(text)).as(text).isTrue();
        }
    }

    @Test
    void badGrammarsAreRefused() {
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Grammar("root ::= foo"))).hasMessageContaining("undefined rule 'foo'");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Grammar("start ::= \"a\""))).hasMessageContaining("no 'root'");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Grammar("root ::= \"a"))).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Grammar("root ::= \"a\" root"))).hasMessageContaining("no output");
    }

    /** The combinators a tool call is built from: fixed text around arguments that follow the function's schema. */
    @Test
    void combinedConstraintsHoldEveryPart() {
        String weather = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":10},"
                + "\"unit\":{\"enum\":[\"C\",\"F\"]}},\"required\":[\"city\",\"unit\"]}";
        String time = "{\"type\":\"object\",\"properties\":{\"zone\":{\"type\":\"string\",\"format\":\"uuid\"}},\"required\":[\"zone\"]}";
        ConstraintSpec call = new ConstraintSpec.AnyOf(List.of(
                new ConstraintSpec.Sequence(List.of(new ConstraintSpec.Literal("<tool_call>{\"name\": \"weather\", \"arguments\": "),
                        ConstraintSpec.jsonSchema(StructuredSchemas.parse(weather)), new ConstraintSpec.Literal("}</tool_call>"))),
                new ConstraintSpec.Sequence(List.of(new ConstraintSpec.Literal("<tool_call>{\"name\": \"time\", \"arguments\": "),
                        new ConstraintSpec.JsonSchema(time), new ConstraintSpec.Literal("}</tool_call>")))));
        TokenConstraint c = compiler.compile(new ConstraintSpec.Repeat(call, new ConstraintSpec.Literal("\n"), 1, 3));
        Random random = new Random(13);
        Pattern one = Pattern.compile("<tool_call>(\\{.*?})</tool_call>", Pattern.DOTALL);
        for (int i = 0; i < 20; i++) {
            String text = ConstraintWalk.run(c, tokenizer, 250, random).text();
            var m = one.matcher(text);
            int calls = 0;
            while (m.find()) {
                calls++;
                var node = StructuredSchemas.parse(m.group(1));
                String name = node.get("name").asString();
                String args = node.get("arguments").toString();
                assertThat(StructuredSchemas.validate(name.equals("weather") ? weather : time, args)).as(text).isEmpty();
            }
            assertThat(calls).as(text).isBetween(1, 3);
        }
    }

    @Test
    void endOfGenerationOnlyWhereTheLanguageMayEnd() {
        TokenConstraint c = compiler.compile(new ConstraintSpec.Regex("ab(c)?"));
        ConstraintState s = new ConstraintState(c);
        int eos = tokenizer.eosId();
        assertThat(ConstraintWalk.allowed(s, tokenizer.vocabSize())).doesNotContain(eos);
        s.advance(token("ab"));
        assertThat(ConstraintWalk.allowed(s, tokenizer.vocabSize())).contains(eos, token("c")).doesNotContain(token("ab"));
        s.advance(token("c"));
        assertThat(ConstraintWalk.allowed(s, tokenizer.vocabSize())).containsExactly(eos);
    }

    @Test
    void tokensEndingInsideACharacterAreJudgedByTheirBytes() {
        TokenConstraint c = compiler.compile(new ConstraintSpec.Regex("é"));
        ConstraintState s = new ConstraintState(c);
        int[] allowed = ConstraintWalk.allowed(s, tokenizer.vocabSize());
        // é is C3 A9: the byte-fallback token <0xC3> is the only way in on this vocabulary.
        assertThat(allowed).hasSize(1);
        assertThat(tokenizer.tokenBytes(allowed[0])).containsExactly(0xC3);
    }

    /** The token whose text is exactly {@code text}. */
    private static int token(String text) {
        byte[] want = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (java.util.Arrays.equals(tokenizer.tokenBytes(id), want) && !tokenizer.piece(id).startsWith("<0x")) return id;
        }
        throw new AssertionError("no token " + text);
    }

    @Test
    void aRepeatedConstraintIsCompiledOnce() {
        ConstraintSpec spec = new ConstraintSpec.JsonSchema(StructuredSchemas.SCHEMAS.get(3));
        assertThat(compiler.compile(spec)).isSameAs(compiler.compile(new ConstraintSpec.JsonSchema(StructuredSchemas.SCHEMAS.get(3))));
    }

    @Test
    void whatCannotBeCompiledIsRefusedWithAReason() {
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Regex("(a)\\1"))).isInstanceOf(ConstraintException.class)
                .hasMessageContaining("backreferences");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Regex("a(?=b)"))).hasMessageContaining("lookaround");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.JsonSchema("{\"type\":\"object\",\"patternProperties\":{}}")))
                .hasMessageContaining("'patternProperties'");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.JsonSchema("{\"type\":\"string\",\"format\":\"email\"}")))
                .hasMessageContaining("format 'email'");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.JsonSchema("{nope"))).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.Choice(List.of()))).hasMessageContaining("at least one");
        assertThatThrownBy(() -> compiler.compile(new ConstraintSpec.JsonSchema(
                "{\"$defs\":{\"a\":{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"required\":[\"a\"]}},\"$ref\":\"#/$defs/a\"}")))
                .hasMessageContaining("no output");
    }

    @Test
    void aLoneSurrogateIsRefusedWhereverItComesFrom() {
        for (ConstraintSpec spec : List.<ConstraintSpec>of(new ConstraintSpec.Choice(List.of("a", "\uD800")),
                new ConstraintSpec.Regex("a\uDFFF"), new ConstraintSpec.Regex("a\\uD800"),
                new ConstraintSpec.JsonSchema("{\"enum\": [\"\\ud800\"]}"), new ConstraintSpec.Grammar("root ::= \"\\ud800\""),
                new ConstraintSpec.Literal("x\uDC00"))) {
            assertThatThrownBy(() -> compiler.compile(spec)).as(spec.toString()).isInstanceOf(ConstraintException.class)
                    .hasMessageContaining("lone surrogate");
        }
        // A whole pair is one code point, and ranges never hold a surrogate.
        compiler.compile(new ConstraintSpec.Choice(List.of("\uD83D\uDE00")));
        compiler.compile(new ConstraintSpec.Regex("[\\u0000-\\uFFFF]"));
    }
}
