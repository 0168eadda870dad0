package io.quire.api.tools;

/**
 * {@code tool_choice}: {@code none} (the model answers in text), {@code auto} (it may call; the
 * server's parser finds calls in its text), {@code required} (it must call one or more of the
 * functions) or one named function ({@code function} set).
 */
public record ToolChoice(Mode mode, String function) {
    public enum Mode { NONE, AUTO, REQUIRED, NAMED }

    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    public static ToolChoice named(String function) {
        return new ToolChoice(Mode.NAMED, function);
    }

    /** Whether the output is forced into calls (by a constraint, whatever the model knows). */
    public boolean forced() {
        return mode == Mode.REQUIRED || mode == Mode.NAMED;
    }
}
