package io.quire.api.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Renders a conversation into a prompt with a model's own Jinja chat template (GGUF
 * {@code tokenizer.chat_template}), in the environment Hugging Face's {@code apply_chat_template}
 * provides: {@code messages}, {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token}, {@code raise_exception}, {@code strftime_now}, a Python-style
 * {@code tojson}, {@code trim_blocks} and {@code lstrip_blocks}.
 *
 * <p>Everything a client sends (message text, roles, names, tool calls, {@code chat_template_kwargs})
 * is data: templates see plain strings and print them as they are, never as Jinja. Templates
 * themselves, the model's or the administrator's, load nothing (no include, import, from or
 * extends) and run within bounds on time, output, collections and macro recursion; past one,
 * rendering fails with a {@link ChatTemplateException}.
 *
 * <p>Models without a template get {@link #fallback()}: one {@code role: content} line per
 * message, then {@code assistant:} when a generation prompt is asked for. It is not what any
 * model was trained on, only a readable default for base models.
 */
public final class ChatTemplate {
    /** The fallback's source, so that it renders through the same code path. */
    static final String FALLBACK_SOURCE = """
            {%- for message in messages -%}
            {{ message['role'] }}: {{ message['content'] }}
            {% endfor -%}
            {%- if add_generation_prompt -%}
            assistant:
            {%- endif -%}""";

    /**
     * {@code not x is defined}: Jinja2 binds the test tighter than {@code not}; Jinjava applies
     * {@code not} first, so the template is rewritten to {@code not (x is defined)}.
     */
    private static final Pattern NOT_IS_TEST =
            Pattern.compile("\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]]*\\])*(?:\\.[A-Za-z_]\\w*)*)"
                    + "\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*)");

    /** Longest prompt, in characters (far beyond any context window), and longest string. */
    static final long MAX_OUTPUT_CHARS = 16L << 20;
    /** Most items in a list or map, the conversation's and the template's own. */
    static final int MAX_COLLECTION_SIZE = 100_000;
    /** Deepest macro recursion (Jinja2 allows recursion; real templates nest a few levels). */
    static final int MAX_MACRO_DEPTH = 64;
    /** Longest render: real templates take milliseconds. */
    static final Duration TIME_LIMIT = Duration.ofSeconds(2);

    private final String source;
    private final Jinjava jinjava;
    private final RenderFailures failures = new RenderFailures(MAX_OUTPUT_CHARS, MAX_COLLECTION_SIZE, MAX_MACRO_DEPTH);
    private final RenderGuard guard = new RenderGuard(TIME_LIMIT, failures);

    public ChatTemplate(String source) {
        // Jinja2 drops one trailing newline from a template (keep_trailing_newline=False).
        String trimmed = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        this.source = NOT_IS_TEST.matcher(trimmed).replaceAll("not ($1 is $2$3)");
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                // Jinjava 2.x renders a printed value again when it contains {{ or {%: message text
                // would run as Jinja (file reads, loops). Values are data.
                .withNestedInterpretationEnabled(false)
                .withDisabled(Map.of(Context.Library.TAG, RenderFailures.LOADING_TAGS,
                        // renders a string as a template
                        Context.Library.FILTER, Set.of("render")))
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxStringLength(MAX_OUTPUT_CHARS)
                .withMaxListSize(MAX_COLLECTION_SIZE)
                .withMaxMapSize(MAX_COLLECTION_SIZE)
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(MAX_MACRO_DEPTH)
                .withNodePreProcessor(guard)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUsePyishObjectMapper(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withWhitespaceRequiredWithinTokens(false)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .build())
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.setResourceLocator(new NoResourceLocator());
        try {
            jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class,
                    "raiseException", String.class));
            jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class,
                    "strftimeNow", String.class));
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot register chat template functions", e);
        }
        jinjava.registerFilter(new ToJsonFilter());
        jinjava.registerFilter(new ItemsFilter());
        jinjava.registerFilter(new StripTagsFilter());
        jinjava.registerTag(new FilterBlockTag());
    }

    /** The plain template for models that carry none (see the class comment). */
    public static ChatTemplate fallback() {
        return new ChatTemplate(FALLBACK_SOURCE);
    }

    public String source() { return source; }

    /**
     * Renders {@code messages} (maps with {@code role}, {@code content} and whatever else the
     * client sent, such as {@code tool_calls}).
     *
     * @param extra {@code chat_template_kwargs}: more template variables (they cannot replace
     *              the ones above)
     * @throws ChatTemplateException when the template raises or fails
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt, String bosToken,
                         String eosToken, Map<String, Object> extra) {
        return render(messages, List.of(), addGenerationPrompt, bosToken, eosToken, extra);
    }

    /**
     * As above, with the functions the model may call as Hugging Face templates take them: the
     * {@code tools} variable, a list of {@code {"type": "function", "function": {...}}}; empty: none
     * (the variable is then left undefined, so templates' {@code tools is not none} tests hold).
     */
    public String render(List<Map<String, Object>> messages, List<Object> tools, boolean addGenerationPrompt,
                         String bosToken, String eosToken, Map<String, Object> extra) {
        Map<String, Object> vars = new HashMap<>();
        if (extra != null) vars.putAll(extra);
        if (tools != null && !tools.isEmpty()) vars.put("tools", tools);
        List<Map<String, Object>> copy = new ArrayList<>(messages.size());
        for (Map<String, Object> m : messages) copy.add(new LinkedHashMap<>(m));
        vars.put("messages", copy);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken == null ? "" : bosToken);
        vars.put("eos_token", eosToken == null ? "" : eosToken);
        return guard.run(() -> renderBounded(vars));
    }

    private String renderBounded(Map<String, Object> vars) {
        RenderResult result;
        try {
            result = jinjava.renderForResult(source, vars);
        } catch (ChatTemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            ChatTemplateException raised = findRaised(e);
            if (raised != null) throw raised;
            throw new ChatTemplateException("chat template failed: " + e.getMessage());
        }
        for (TemplateError error : result.getErrors()) {
            ChatTemplateException failure = failures.of(error);
            if (failure != null) throw failure;
        }
        return result.getOutput();
    }

    private static ChatTemplateException findRaised(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof ChatTemplateException c) return c;
        }
        return null;
    }

    /** {@code tojson} as in Hugging Face's environment (Python {@code json.dumps} spacing, optional indent). */
    static final class ToJsonFilter implements Filter {
        @Override
        public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
            return PythonJson.dumps(var, indent);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            return PythonJson.dumps(var, indent == null ? null
                    : ((Number) (indent instanceof String s ? Integer.valueOf(s) : indent)).intValue());
        }
    }

    /** {@code items}: a mapping's key/value pairs, as Jinja2's {@code dict.items()}. */
    static final class ItemsFilter implements Filter {
        @Override
        public String getName() { return "items"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (!(var instanceof Map<?, ?> m)) return List.of();
            List<List<Object>> pairs = new ArrayList<>();
            for (Map.Entry<?, ?> e : m.entrySet())
                pairs.add(List.of(e.getKey(), e.getValue() == null ? "" : e.getValue()));
            return pairs;
        }
    }
}
