package io.quire.api;

import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.exc.MismatchedInputException;

import java.math.BigInteger;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A request body that parsed as JSON but does not fit the request's fields, as OpenAI words it:
 * {@code Invalid type for 'messages[0].role': expected a string, but got an integer instead.}
 * The {@code param} is the top-level field; the message names the full path. Only JSON field
 * and type names appear, never Java ones.
 */
final class BindingErrors {
    private static final int MAX_SHOWN = 40;

    private BindingErrors() {}

    static ApiException of(JacksonException e, JsonNode body) {
        List<JacksonException.Reference> path = e.getPath();
        String param = path.isEmpty() ? null : path.getFirst().getPropertyName();
        if (param == null) return ApiException.badRequest(null, "The request body does not fit the request's fields.");
        String where = path(path);
        JsonNode value = at(body, path);
        Class<?> target = e instanceof MismatchedInputException m ? m.getTargetType()
                : e instanceof InputCoercionException c ? c.getTargetType() : null;
        String expected = expected(target);
        if (expected == null || value == null) {
            return ApiException.badRequest(param, "Invalid value for '" + where + "'.");
        }
        if (expected.equals("an integer") && isWholeNumber(value)) {
            boolean int32 = target == Integer.class || target == int.class;
            return ApiException.badRequest(param, "Invalid '" + where + "': integer out of range. Expected a value"
                    + " between " + (int32 ? Integer.MIN_VALUE : Long.MIN_VALUE)
                    + " and " + (int32 ? Integer.MAX_VALUE : Long.MAX_VALUE)
                    + ", but got " + shown(value) + " instead.");
        }
        return ApiException.badRequest(param, typeMismatch(where, expected, value));
    }

    static String typeMismatch(String where, String expected, JsonNode value) {
        return "Invalid type for '" + where + "': expected " + expected + ", but got " + kind(value) + " instead.";
    }

    /** The JSON type of a value, as OpenAI's messages name it. */
    static String kind(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) return "null";
        if (v.isBoolean()) return "a boolean";
        if (v.isIntegralNumber()) return "an integer";
        if (v.isNumber()) return "a decimal";
        if (v.isString()) return "a string";
        if (v.isArray()) return "an array";
        return "an object";
    }

    /** {@code messages[0].role}, {@code logit_bias.50256}. */
    private static String path(List<JacksonException.Reference> path) {
        StringBuilder sb = new StringBuilder();
        for (JacksonException.Reference r : path) {
            if (r.getPropertyName() != null) sb.append(sb.isEmpty() ? "" : ".").append(r.getPropertyName());
            else if (r.getIndex() >= 0) sb.append('[').append(r.getIndex()).append(']');
        }
        return sb.toString();
    }

    /** The offending value in the body, or null when the path does not lead to one. */
    private static JsonNode at(JsonNode body, List<JacksonException.Reference> path) {
        JsonNode n = body;
        for (JacksonException.Reference r : path) {
            if (n == null) return null;
            if (r.getPropertyName() != null) n = n.get(r.getPropertyName());
            else n = r.getIndex() >= 0 ? n.get(r.getIndex()) : null;
        }
        return n;
    }

    private static String expected(Class<?> target) {
        if (target == null) return null;
        if (target == Integer.class || target == int.class || target == Long.class || target == long.class
                || target == Short.class || target == short.class || target == BigInteger.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(target) || target == double.class || target == float.class) {
            return "a number";
        }
        if (target == Boolean.class || target == boolean.class) return "a boolean";
        if (CharSequence.class.isAssignableFrom(target)) return "a string";
        if (Collection.class.isAssignableFrom(target) || target.isArray()) return "an array";
        if (Map.class.isAssignableFrom(target) || target.isRecord()) return "an object";
        return null;
    }

    /** An integer, or a decimal without a fraction: refused for its size, not its type. */
    private static boolean isWholeNumber(JsonNode v) {
        if (v.isIntegralNumber()) return true;
        double d = v.isNumber() ? v.doubleValue() : Double.NaN;
        return Double.isFinite(d) && d == Math.rint(d);
    }

    private static String shown(JsonNode v) {
        String s = v.toString();
        return s.length() <= MAX_SHOWN ? s : s.substring(0, MAX_SHOWN) + "...";
    }
}
