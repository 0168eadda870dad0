package io.quire.api;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jackson's parser messages with the Java type and setting names it quotes replaced by JSON words
 * ("integer", "array"): clients send JSON and should not learn the server's class names.
 */
final class JsonTypes {
    /**
     * A Java type name as Jackson quotes it: {@code `java.lang.Integer`}, {@code `int`}, {@code `java.util.List<x.Y>`}.
     */
    private static final Pattern QUOTED = Pattern.compile("`([^`]*)`");
    /** Jackson's pointer to the setting behind a limit: "(1000, from `StreamReadConstraints.getMaxNumberLength()`)". */
    private static final Pattern FROM_SETTING = Pattern.compile(",? from `[^`]*`");
    /**
     * Where an unclosed object began: "(start marker at [Source: REDACTED (`StreamReadFeature...` disabled); byte
     * offset: #UNKNOWN])".
     */
    private static final Pattern START_MARKER = Pattern.compile(" ?\\(start marker at \\[[^\\]]*]\\)");

    private JsonTypes() {}

    /** A message with every back-quoted Java type replaced by its JSON kind, for texts not built here. */
    static String scrub(String message) {
        if (message == null) return null;
        String plain = START_MARKER.matcher(FROM_SETTING.matcher(message).replaceAll("")).replaceAll("");
        Matcher m = QUOTED.matcher(plain);
        StringBuilder out = new StringBuilder();
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(kind(m.group(1))));
        m.appendTail(out);
        return out.toString();
    }

    private static String kind(String quoted) {
        String raw = quoted.replaceAll("<.*", "").strip();
        if (raw.endsWith("[]") || raw.endsWith("List") || raw.endsWith("Set")
                || raw.endsWith("Collection")) return "array";
        if (raw.endsWith("Map")) return "object";
        return switch (raw) {
            case "int", "long", "short", "byte", "java.lang.Integer", "java.lang.Long", "java.lang.Short",
                    "java.lang.Byte", "java.math.BigInteger" -> "integer";
            case "float", "double", "java.lang.Float", "java.lang.Double", "java.math.BigDecimal",
                    "java.lang.Number" -> "number";
            case "boolean", "java.lang.Boolean" -> "boolean";
            case "char", "java.lang.String", "java.lang.Character" -> "string";
            // Any other dotted name is a Java type or constant (`JsonToken.START_ARRAY`); a plain word (`null`) stays.
            default -> raw.contains(".") || raw.contains("(") ? "value" : raw;
        };
    }
}
