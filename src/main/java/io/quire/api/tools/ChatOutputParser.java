package io.quire.api.tools;

import java.util.List;

/**
 * One choice's output through the parsers the request uses: thinking split off first, then
 * function calls found in what is left. Either may be absent; with neither, text passes through.
 */
public final class ChatOutputParser {
    private final ReasoningParser.Stream reasoning;
    private final ToolCallStream tools;
    private final boolean keepReasoning;

    /**
     * @param keepReasoning false drops the thinking ({@code include_reasoning: false})
     */
    public ChatOutputParser(ReasoningParser.Stream reasoning, ToolCallStream tools, boolean keepReasoning) {
        this.reasoning = reasoning;
        this.tools = tools;
        this.keepReasoning = keepReasoning;
    }

    public ParsedText push(String text) {
        ParsedText split = reasoning == null ? new ParsedText("", text, List.of()) : reasoning.push(text);
        return calls(split, false);
    }

    public ParsedText finish() {
        ParsedText split = reasoning == null ? ParsedText.EMPTY : reasoning.finish();
        return calls(split, true);
    }

    private ParsedText calls(ParsedText split, boolean end) {
        String thinking = keepReasoning ? split.reasoning() : "";
        if (tools == null) return new ParsedText(thinking, split.content(), List.of());
        ParsedText found = split.content().isEmpty() ? ParsedText.EMPTY : tools.push(split.content());
        if (end) found = found.then(tools.finish());
        return new ParsedText(thinking, found.content(), found.calls());
    }

}
