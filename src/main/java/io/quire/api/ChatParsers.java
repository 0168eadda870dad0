package io.quire.api;

import io.quire.api.tools.ChatOutputParser;
import io.quire.api.tools.ForcedToolCalls;
import io.quire.api.tools.ReasoningParser;
import io.quire.api.tools.ToolCallParser;
import io.quire.api.tools.ToolChoice;

import java.util.function.Supplier;

/**
 * The server's output parsers ({@code quire.tool-call-parser}, {@code quire.reasoning-parser}, as
 * vLLM's {@code --tool-call-parser} and {@code --reasoning-parser}), and which of them a chat request uses.
 */
public final class ChatParsers {
    /** Null: none configured. */
    private final ToolCallParser tools;
    private final ReasoningParser reasoning;

    /**
     * @param toolCallParser  blank for none; else one of {@link ToolCallParser#NAMES}
     * @param reasoningParser blank for none; else one of {@link ReasoningParser#NAMES}
     * @throws IllegalArgumentException naming the known parsers, for an unknown one
     */
    public ChatParsers(String toolCallParser, String reasoningParser) {
        this.tools = blank(toolCallParser) ? null : ToolCallParser.named(toolCallParser.strip());
        this.reasoning = blank(reasoningParser) ? null : ReasoningParser.named(reasoningParser.strip());
    }

    public static ChatParsers none() {
        return new ChatParsers(null, null);
    }

    public String toolCallParser() { return tools == null ? null : tools.name(); }

    /**
     * The per-choice parsers for a request, or null when its text passes through untouched. Calls are
     * looked for with {@code tool_choice} auto (the configured parser, which must exist) or forced
     * (the output is the call's JSON, whatever the parser). An output held to JSON from its first token
     * ({@code jsonOutput}: JSON mode, a JSON Schema, forced calls) has no thinking to split off.
     */
    Supplier<ChatOutputParser> forRequest(RequestedTools requested, boolean includeReasoning, boolean jsonOutput) {
        ToolChoice choice = requested.choice();
        if (choice.mode() == ToolChoice.Mode.AUTO && tools == null) {
            throw ApiException.badRequest("tool_choice", "\"auto\" tool choice needs the server started with"
                    + " quire.tool-call-parser (one of " + String.join(", ", ToolCallParser.NAMES) + ");"
                    + " send tool_choice \"none\", \"required\" or a named function instead");
        }
        boolean callsParsed = choice.mode() != ToolChoice.Mode.NONE;
        boolean thinking = reasoning != null && !jsonOutput && !choice.forced();
        if (!callsParsed && !thinking) return null;
        return () -> new ChatOutputParser(thinking ? reasoning.open() : null,
                !callsParsed ? null
                        : choice.forced() ? ForcedToolCalls.open(choice, requested.parameters())
                        : tools.open(requested.parameters()),
                includeReasoning);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
