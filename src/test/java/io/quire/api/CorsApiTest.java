package io.quire.api;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code quire.cors.allowed-origins}: a browser app on the allowed origin may call the API, others may not. */
class CorsApiTest extends ApiKeyServerTest {

    private HttpResponse<String> preflight(String path, String origin) throws Exception {
        // Browsers send the preflight without credentials: it must pass without the key.
        return send("OPTIONS", path, null, "Origin", origin, "Access-Control-Request-Method", "POST",
                "Access-Control-Request-Headers", "authorization, content-type");
    }

    @Test
    void aPreflightFromTheAllowedOriginIsAnsweredWithoutAKey() throws Exception {
        for (String path : new String[] {"/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"}) {
            HttpResponse<String> r = preflight(path, APP_ORIGIN);
            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).as(path).hasValue(APP_ORIGIN);
            assertThat(r.headers().firstValue("Access-Control-Allow-Methods").orElseThrow()).contains("POST");
            assertThat(r.headers().firstValue("Access-Control-Allow-Headers").orElseThrow().toLowerCase())
                    .contains("authorization").contains("content-type");
            assertThat(r.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
        }
    }

    @Test
    void aPreflightFromAnotherOriginIsRefused() throws Exception {
        HttpResponse<String> r = preflight("/v1/chat/completions", "https://elsewhere.example");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        HttpResponse<String> header = send("OPTIONS", "/v1/chat/completions", null, "Origin", APP_ORIGIN,
                "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-not-allowed");
        assertThat(header.statusCode()).isEqualTo(403);
    }

    @Test
    void theAllowedOriginCanStreamAndReadRefusals() throws Exception {
        HttpResponse<String> r = send("POST", "/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 4, "stream": true}""",
                "Origin", APP_ORIGIN, "Authorization", "Bearer " + KEY_ONE);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue(APP_ORIGIN);
        assertThat(parseEvents(r.body())).isNotEmpty();
        // The app can read why it was refused.
        HttpResponse<String> refused = send("GET", "/v1/models", null, "Origin", APP_ORIGIN);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.headers().firstValue("Access-Control-Allow-Origin")).hasValue(APP_ORIGIN);
        // Another origin's actual request is refused as well, without CORS headers.
        HttpResponse<String> other = send("GET", "/v1/models", null, "Origin", "https://elsewhere.example",
                "Authorization", "Bearer " + KEY_ONE);
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }
}
