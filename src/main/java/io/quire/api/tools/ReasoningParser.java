package io.quire.api.tools;

import java.util.List;

/**
 * Thinking between {@code <think>} and {@code </think>} moved out of the content, under vLLM's
 * {@code --reasoning-parser} names. {@code deepseek_r1}: output is thinking until {@code </think>},
 * whether or not the model wrote the {@code <think>} (R1's template already put it in the prompt).
 * {@code qwen3}: thinking only when the output begins with {@code <think>} (with
 * {@code enable_thinking=false} the template closes the block in the prompt and all output is content).
 * A block still open when the output ends counts as thinking.
 */
public final class ReasoningParser {
    public static final List<String> NAMES = List.of("deepseek_r1", "qwen3");
    private static final String START = "<think>";
    private static final String END = "</think>";

    private final boolean startOptional;

    private ReasoningParser(boolean startOptional) {
        this.startOptional = startOptional;
    }

    /** The parser of that name; throws IllegalArgumentException listing the names for another. */
    public static ReasoningParser named(String name) {
        return switch (name) {
            case "deepseek_r1" -> new ReasoningParser(true);
            case "qwen3" -> new ReasoningParser(false);
            default -> throw new IllegalArgumentException("unknown reasoning parser '" + name + "'; known: "
                    + String.join(", ", NAMES));
        };
    }

    /** A splitter for one choice's output; returns {@link ParsedText}s with no calls. */
    public Stream open() {
        return new Stream();
    }

    public final class Stream {
        private enum State { START, THINKING, CONTENT }

        private final StringBuilder held = new StringBuilder();
        private State state = State.START;

        public ParsedText push(String text) {
            if (state == State.CONTENT) return of("", text);
            held.append(text);
            StringBuilder reasoning = new StringBuilder();
            StringBuilder content = new StringBuilder();
            if (state == State.START) {
                String lead = held.toString().stripLeading();
                if (lead.startsWith(START)) {
                    held.setLength(0);
                    held.append(lead.substring(START.length()));
                    state = State.THINKING;
                } else if (START.startsWith(lead)) {
                    return ParsedText.EMPTY;
                } else {
                    state = startOptional ? State.THINKING : State.CONTENT;
                }
            }
            if (state == State.THINKING) {
                int end = held.indexOf(END);
                if (end >= 0) {
                    reasoning.append(held, 0, end);
                    content.append(held, end + END.length(), held.length());
                    held.setLength(0);
                    state = State.CONTENT;
                } else {
                    int keep = MarkedSpans.partialMarkerAtEnd(held, END);
                    reasoning.append(held, 0, held.length() - keep);
                    held.delete(0, held.length() - keep);
                }
            } else {
                content.append(held);
                held.setLength(0);
            }
            return of(reasoning.toString(), content.toString());
        }

        public ParsedText finish() {
            String rest = held.toString();
            held.setLength(0);
            boolean thinking = state == State.THINKING || (state == State.START && startOptional);
            return thinking ? of(rest, "") : of("", rest);
        }

        private static ParsedText of(String reasoning, String content) {
            return reasoning.isEmpty() && content.isEmpty() ? ParsedText.EMPTY
                    : new ParsedText(reasoning, content, List.of());
        }
    }
}
