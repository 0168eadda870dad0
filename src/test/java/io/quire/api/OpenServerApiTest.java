package io.quire.api;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.ApplicationContext;
import org.springframework.security.core.userdetails.ReactiveUserDetailsService;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The server with no {@code quire.api-key} and no {@code quire.cors.*}: open, as before Spring Security came in. */
class OpenServerApiTest extends Stories260KServerTest {
    @Autowired
    ApplicationContext context;

    @Test
    void noCorsHeaders() throws Exception {
        HttpResponse<String> preflight = http.send(HttpRequest.newBuilder(uri("/v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://app.example").header("Access-Control-Request-Method", "POST").build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> models = http.send(HttpRequest.newBuilder(uri("/v1/models"))
                .header("Origin", "https://app.example").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).isEqualTo(200);
        for (HttpResponse<String> r : List.of(preflight, models)) {
            assertThat(r.headers().map().keySet()).noneMatch(h -> h.toLowerCase().startsWith("access-control-"));
        }
    }

    @Test
    void anyAuthorizationHeaderIsIgnored() throws Exception {
        for (String header : new String[] {"Bearer whatever", "Basic dXNlcjpwYXNz", "garbage"}) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/v1/models")).header("Authorization", header)
                    .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(header).isEqualTo(200);
        }
    }

    @Test
    void noUserStoreSoNoGeneratedPassword() {
        // Boot would otherwise create an in-memory user and log its generated password at startup.
        assertThat(context.getBeanNamesForType(ReactiveUserDetailsService.class)).isEmpty();
    }
}
