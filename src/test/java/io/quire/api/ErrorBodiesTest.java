package io.quire.api;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import org.junit.jupiter.api.Test;
import org.springframework.core.codec.DecodingException;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebInputException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Jackson failures as WebFlux hands them over (a {@link DecodingException} inside a
 * {@link ServerWebInputException}) become messages in JSON terms, for the strict binding settings
 * too (unknown fields, nulls), never naming a Java type.
 */
class ErrorBodiesTest {
    record Inner(int count) {}

    record Body(String name, List<Inner> items, Map<String, Double> weights) {}

    record Flagged(@JsonSetter(nulls = Nulls.FAIL) Boolean flag) {}

    private static final JsonMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

    private static ErrorBodies.Failure failureFor(String json, Class<?> type) {
        try {
            STRICT.readValue(json, type);
        } catch (JacksonException e) {
            return ErrorBodies.of(new ServerWebInputException("Failed to read HTTP message", null,
                    new DecodingException("JSON decoding error: " + e.getOriginalMessage(), e)));
        }
        return fail("no failure for " + json);
    }

    private static void assertMessage(String json, String message, String param) {
        assertMessage(json, Body.class, message, param);
    }

    private static void assertMessage(String json, Class<?> type, String message, String param) {
        ErrorBodies.Failure f = failureFor(json, type);
        assertThat(f.status()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(f.body().error().message()).as(json).isEqualTo(message);
        assertThat(f.body().error().param()).as(json).isEqualTo(param);
    }

    @Test
    void jsonTermsOnly() {
        assertMessage("{\"nmae\": \"x\"}", "Unrecognized field 'nmae'", "nmae");
        assertMessage("{\"items\": [{\"count\": 1, \"size\": 2}]}", "Unrecognized field 'items.0.size'",
                "items.0.size");
        assertMessage("{\"flag\": null}", Flagged.class, "Invalid value for 'flag': must not be null", "flag");
        assertMessage("{\"items\": {}}", "Invalid value for 'items': expected an array", "items");
        assertMessage("{\"items\": [{\"count\": 1.5e99}]}",
                "Invalid value for 'items.0.count': number out of range (expected an integer from -2147483648 to "
                + "2147483647)", "items.0.count");
        assertMessage("{\"items\": [{\"count\": []}]}", "Invalid value for 'items.0.count': expected an integer",
                "items.0.count");
        assertMessage("{\"weights\": {\"a\": \"heavy\"}}", "Invalid value for 'weights.a': expected a number",
                "weights.a");
        assertMessage("{\"name\": {}}", "Invalid value for 'name': expected a string", "name");
        assertMessage("[]", "The request body must be a JSON object", null);
        assertMessage("{\"name\": \"x\"",
                "Malformed JSON request body: Unexpected end-of-input: expected close marker for Object", null);
    }

    @Test
    void scrubbingLeavesNoJavaNames() {
        assertThat(JsonTypes.scrub("Cannot deserialize value of type "
                + "`java.util.ArrayList<io.quire.api.wire.ChatMessage>` from String value"))
                .isEqualTo("Cannot deserialize value of type array from String value");
        assertThat(JsonTypes.scrub("Number value length (1001) exceeds the maximum allowed (1000, from "
                + "`StreamReadConstraints.getMaxNumberLength()`)"))
                .isEqualTo("Number value length (1001) exceeds the maximum allowed (1000)");
        assertThat(JsonTypes.scrub("value (token `JsonToken.START_ARRAY`) of `io.quire.api.wire.StreamOptions`"))
                .isEqualTo("value (token value) of value");
    }
}
