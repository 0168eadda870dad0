package io.quire.api;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JSON a Java binding type stands for, in words for error messages ("an integer", "an
 * array"): clients send JSON and should not learn the server's class names.
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

    static String describe(Class<?> type) {
        if (type == String.class || type == Character.class || type == char.class
                || CharSequence.class.isAssignableFrom(type) || type.isEnum()) {
            return "a string";
        }
        if (type == Boolean.class || type == boolean.class) return "a boolean";
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class
                || type == Short.class || type == short.class
                || type == Byte.class || type == byte.class || type == BigInteger.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) return "a number";
        if (type.isArray() || Collection.class.isAssignableFrom(type)) return "an array";
        if (type == Object.class) return "a JSON value";
        // Maps, records and every other bean are JSON objects.
        return "an object";
    }

    /** The range a number must fit, for an integer target ("" for others). */
    static String range(Class<?> type) {
        if (type == int.class || type == Integer.class) return " (expected an integer from " + Integer.MIN_VALUE
                + " to " + Integer.MAX_VALUE + ")";
        if (type == long.class || type == Long.class) return " (expected an integer from " + Long.MIN_VALUE + " to "
                + Long.MAX_VALUE + ")";
        if (type == short.class || type == Short.class) return " (expected an integer from " + Short.MIN_VALUE + " to "
                + Short.MAX_VALUE + ")";
        if (type == byte.class || type == Byte.class) return " (expected an integer from " + Byte.MIN_VALUE + " to "
                + Byte.MAX_VALUE + ")";
        if (type == BigDecimal.class || type == double.class || type == Double.class) return " (expected a number)";
        return "";
    }

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
