package io.quire.cli;

/**
 * A large JSON Schema for the compile-time measurement of {@link StructuredBench}: 40 properties
 * of every supported kind, nested objects and arrays of objects, $defs with a recursive $ref.
 */
final class LargeSchema {
    static final String TEXT = build();

    private LargeSchema() {}

    private static String build() {
        String[] kinds = {
                "{\"type\":\"string\",\"maxLength\":40}",
                "{\"type\":\"integer\",\"minimum\":-1000,\"maximum\":100000}",
                "{\"type\":\"number\",\"minimum\":0,\"maximum\":1000}",
                "{\"enum\":[\"alpha\",\"beta\",\"gamma\",\"delta\",\"epsilon\"]}",
                "{\"type\":\"string\",\"format\":\"date-time\"}",
                "{\"type\":\"string\",\"format\":\"uuid\"}",
                "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/address\"},\"maxItems\":5}",
                "{\"anyOf\":[{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}[0-9]{6}$\"},{\"type\":\"null\"}]}",
                "{\"$ref\":\"#/$defs/tree\"}",
                "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":\"string\",\"format\":\"date\"},"
                        + "\"c\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":8}},\"required\":[\"a\",\"c\"]}"};
        StringBuilder props = new StringBuilder();
        StringBuilder required = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            if (i > 0) props.append(',');
            props.append("\"field_").append(i).append("\":").append(kinds[i % kinds.length]);
            if (i % 3 != 2) required.append(required.isEmpty() ? "" : ",").append("\"field_").append(i).append('"');
        }
        return "{\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"
                + "\"city\":{\"type\":\"string\"},\"zip\":{\"type\":\"string\",\"pattern\":\"^[0-9]{5}$\"}},"
                + "\"required\":[\"street\",\"city\"]},\"tree\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
                + "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/tree\"}}},\"required\":[\"v\"]}},"
                + "\"type\":\"object\",\"properties\":{" + props + "},\"required\":[" + required + "],"
                + "\"additionalProperties\":false}";
    }
}
