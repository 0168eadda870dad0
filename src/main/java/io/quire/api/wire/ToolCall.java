package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A function call the assistant made: in a message ({@code index} absent) or in a stream's delta
 * ({@code index} numbers the calls of one choice; this server sends each call whole, in one delta).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ToolCall(Integer index, String id, String type, Function function) {
    public static final String TYPE = "function";

    /** The called function's name and its arguments as a JSON text. */
    public record Function(String name, String arguments) {}
}
