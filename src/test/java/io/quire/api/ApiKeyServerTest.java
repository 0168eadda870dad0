package io.quire.api;

import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The stories260K server with two API keys (the comma-separated form, as in {@code QUIRE_API_KEY})
 * and one allowed CORS origin; the test classes extending this share its Spring context.
 */
@TestPropertySource(properties = {
        "quire.api-key=" + ApiKeyServerTest.KEY_ONE + ", " + ApiKeyServerTest.KEY_TWO,
        "quire.cors.allowed-origins=" + ApiKeyServerTest.APP_ORIGIN,
})
abstract class ApiKeyServerTest extends Stories260KServerTest {
    static final String KEY_ONE = "sk-quire-test-one";
    static final String KEY_TWO = "sk-quire-test-two";
    static final String APP_ORIGIN = "https://app.example";

    HttpResponse<String> send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> getWithKey(String path) throws Exception {
        return send("GET", path, null, "Authorization", "Bearer " + KEY_ONE);
    }
}
