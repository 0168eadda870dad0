package io.quire.api.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * What a stretch of model output turned into: text for the client's {@code content}, thinking for
 * {@code reasoning_content}, and complete function calls. Empty strings mean nothing of that kind.
 */
public record ParsedText(String reasoning, String content, List<ParsedToolCall> calls) {
    public static final ParsedText EMPTY = new ParsedText("", "", List.of());

    /** This, then {@code next}: texts joined, calls in order. */
    public ParsedText then(ParsedText next) {
        if (next.isEmpty()) return this;
        if (isEmpty()) return next;
        List<ParsedToolCall> all = new ArrayList<>(calls);
        all.addAll(next.calls);
        return new ParsedText(reasoning + next.reasoning, content + next.content, List.copyOf(all));
    }

    public boolean isEmpty() {
        return reasoning.isEmpty() && content.isEmpty() && calls.isEmpty();
    }
}
