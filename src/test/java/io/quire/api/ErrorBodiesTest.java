package io.quire.api;

import org.junit.jupiter.api.Test;
import org.springframework.core.codec.DecodingException;
import org.springframework.http.HttpStatus;
import org.springframework.util.unit.DataSize;
import org.springframework.web.server.ServerWebInputException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Jackson parse failures as WebFlux hands them over (a {@link DecodingException} inside a
 * {@link ServerWebInputException}) become messages in JSON terms, never naming a Java type or
 * setting. Binding failures are {@code BindingErrors}' ({@code StrictRequestsApiTest}).
 */
class ErrorBodiesTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** What the codec does with a body: parse it into a tree. */
    private static ErrorBodies.Failure failureFor(String json) {
        try {
            JSON.readTree(json);
        } catch (JacksonException e) {
            return ErrorBodies.of(new ServerWebInputException("Failed to read HTTP message", null,
                    new DecodingException("JSON decoding error: " + e.getOriginalMessage(), e)));
        }
        return fail("no failure for " + json);
    }

    private static void assertMessage(String json, String message, String param) {
        ErrorBodies.Failure f = failureFor(json);
        assertThat(f.status()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(f.body().error().message()).as(json).isEqualTo(message);
        assertThat(f.body().error().param()).as(json).isEqualTo(param);
    }

    @Test
    void parseFailuresInJsonTermsOnly() {
        assertMessage("{\"name\": \"x\"",
                "Malformed JSON request body: Unexpected end-of-input: expected close marker for Object", null);
        assertMessage("[".repeat(600),
                "Request body exceeds a JSON limit: Document nesting depth (501) exceeds the maximum allowed (500)",
                null);
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

    @Test
    void sizesAreWrittenInTheLargestWholeUnit() {
        assertThat(ErrorBodies.size(DataSize.ofMegabytes(32))).isEqualTo("32 MiB");
        assertThat(ErrorBodies.size(DataSize.ofKilobytes(256))).isEqualTo("256 KiB");
        assertThat(ErrorBodies.size(DataSize.ofBytes(1000))).isEqualTo("1000 bytes");
    }
}
