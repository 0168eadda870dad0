package io.quire.api;

import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.deser.std.StdScalarDeserializer;

import java.util.function.LongFunction;

/**
 * An integer field reads a JSON integer, or a decimal with no fraction ({@code 2.0}, as pydantic's
 * lax mode in vLLM accepts), within the Java type's range. Jackson would truncate {@code 1.5} to
 * 1 or refuse {@code 2.0}; strings and booleans are refused as for every other strict field.
 */
final class WholeNumberDeserializer<T extends Number> extends StdScalarDeserializer<T> {
    static final WholeNumberDeserializer<Integer> INTEGER =
            new WholeNumberDeserializer<>(Integer.class, Integer.MIN_VALUE, Integer.MAX_VALUE, v -> (int) v);
    static final WholeNumberDeserializer<Long> LONG =
            new WholeNumberDeserializer<>(Long.class, Long.MIN_VALUE, Long.MAX_VALUE, v -> v);

    private final long min;
    private final long max;
    private final LongFunction<T> box;

    private WholeNumberDeserializer(Class<T> type, long min, long max, LongFunction<T> box) {
        super(type);
        this.min = min;
        this.max = max;
        this.box = box;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T deserialize(JsonParser p, DeserializationContext ctxt) {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT) {
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) return outOfRange(ctxt);
            long v = p.getLongValue();
            return v < min || v > max ? outOfRange(ctxt) : box.apply(v);
        }
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            double v = p.getDoubleValue();
            if (!Double.isFinite(v) || v != Math.rint(v)) return ctxt.reportInputMismatch(this, "not a whole number");
            // Doubles hold whole numbers exactly up to 2^53, beyond any count a request has.
            return v < min || v > max ? outOfRange(ctxt) : box.apply((long) v);
        }
        return (T) ctxt.handleUnexpectedToken(handledType(), p);
    }

    private T outOfRange(DeserializationContext ctxt) {
        return ctxt.reportInputMismatch(this, "out of range");
    }
}
