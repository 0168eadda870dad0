package io.quire.model.gguf;

import java.lang.reflect.Array;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The key/value metadata of a GGUF file, in file order. Values keep the GGUF type they were
 * stored with ({@link #type}); scalars are boxed ({@code Integer} for 8..32-bit signed and 8..16-bit
 * unsigned ints, {@code Long} for UINT32 and 64-bit ints, {@code Float}, {@code Double},
 * {@code Boolean}, {@code String}) and arrays are primitive arrays of the same mapping
 * ({@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]},
 * {@code String[]}, or {@code Object[]} for nested arrays).
 */
public final class GgufMetadata {
    /** A value with its GGUF type; for arrays, {@code elementType} is the type of the elements. */
    public record Entry(GgufValueType type, GgufValueType elementType, Object value) {}

    private final Map<String, Entry> entries;

    public GgufMetadata(Map<String, Entry> entries) {
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    }

    public Map<String, Entry> entries() { return entries; }

    public boolean contains(String key) { return entries.containsKey(key); }

    public Object get(String key) {
        Entry e = entries.get(key);
        return e == null ? null : e.value();
    }

    public String getString(String key) {
        Object v = get(key);
        return v == null ? null : (String) v;
    }

    public String getString(String key, String fallback) {
        String v = getString(key);
        return v == null ? fallback : v;
    }

    public int getInt(String key, int fallback) {
        Object v = get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) {
            long x = n.longValue();
            if (x != (int) x) {
                throw new GgufFormatException("metadata " + key + " is " + x + ", outside the 32-bit integer range");
            }
            return (int) x;
        }
        throw new GgufFormatException("metadata " + key + " is not a number: " + describe(v));
    }

    public long getLong(String key, long fallback) {
        Object v = get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.longValue();
        throw new GgufFormatException("metadata " + key + " is not a number: " + describe(v));
    }

    public float getFloat(String key, float fallback) {
        Object v = get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.floatValue();
        throw new GgufFormatException("metadata " + key + " is not a number: " + describe(v));
    }

    public boolean getBoolean(String key, boolean fallback) {
        Object v = get(key);
        if (v == null) return fallback;
        if (v instanceof Boolean b) return b;
        throw new GgufFormatException("metadata " + key + " is not a boolean: " + describe(v));
    }

    /** A value for a message: arrays (per-layer values, for one) would print as {@code [I@1b6d3586}. */
    private static String describe(Object v) {
        if (v == null || !v.getClass().isArray()) return String.valueOf(v);
        return "an array of " + Array.getLength(v) + " values";
    }

    public String[] getStringArray(String key) {
        Object v = get(key);
        return v == null ? null : (String[]) v;
    }

    /** A float array; integer arrays are converted. */
    public float[] getFloatArray(String key) {
        Object v = get(key);
        return switch (v) {
            case null -> null;
            case float[] f -> f;
            case int[] a -> {
                float[] f = new float[a.length];
                for (int i = 0; i < a.length; i++) f[i] = a[i];
                yield f;
            }
            case double[] a -> {
                float[] f = new float[a.length];
                for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
                yield f;
            }
            default -> throw new GgufFormatException("metadata " + key + " is not a numeric array");
        };
    }

    /** An int array; long arrays are narrowed (exactly). */
    public int[] getIntArray(String key) {
        Object v = get(key);
        return switch (v) {
            case null -> null;
            case int[] a -> a;
            case long[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) r[i] = Math.toIntExact(a[i]);
                yield r;
            }
            default -> throw new GgufFormatException("metadata " + key + " is not an integer array");
        };
    }
}
