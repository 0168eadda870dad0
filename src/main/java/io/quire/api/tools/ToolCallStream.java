package io.quire.api.tools;

/** Finds function calls in one choice's output as it streams; content holds everything else. */
public interface ToolCallStream {
    /** New output text; returns what can be told now (text that may begin a call is held back). */
    ParsedText push(String text);

    /** The output ended: the rest, with a call left open at the end parsed as far as it goes. */
    ParsedText finish();
}
