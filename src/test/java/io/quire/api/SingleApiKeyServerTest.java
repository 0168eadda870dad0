package io.quire.api;

import io.quire.KvLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** One API key, given as a YAML list ({@code quire.api-key[0]}), on the built-in dummy model. */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=32MB", "quire.max-model-len=256", "quire.api-key[0]=" + SingleApiKeyServerTest.KEY})
class SingleApiKeyServerTest {
    static final String KEY = "sk-the-only-key";

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void everyProtectedRouteNeedsTheKey() throws Exception {
        ProtectedRoutes.check(http, port, "quire-dummy", KEY);
        for (String open : new String[] {"/health", "/version", "/actuator/health", "/actuator/prometheus",
                "/metrics"}) {
            URI uri = URI.create("http://localhost:" + port + open);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(open).isEqualTo(200);
        }
    }
}
