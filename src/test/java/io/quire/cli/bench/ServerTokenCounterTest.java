package io.quire.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The token counter against a server that answers /tokenize as llama.cpp's does. */
class ServerTokenCounterTest {
    private final JsonMapper json = JsonMapper.builder().build();
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) server.stop(0);
    }

    /**
     * llama.cpp answers {@code {"prompt"}} with an empty array and counts {@code {"content"}}, one token
     * per word here, plus BOS when {@code add_special} is set.
     */
    private URI llamaCppLike() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/tokenize", exchange -> {
            JsonNode body = json.readTree(exchange.getRequestBody().readAllBytes());
            StringBuilder tokens = new StringBuilder();
            if (body.has("content")) {
                if (body.path("add_special").asBoolean(false)) tokens.append("1");
                for (String word : body.path("content").asString().split(" ")) {
                    tokens.append(tokens.isEmpty() ? "" : ",").append(word.length());
                }
            }
            byte[] answer = ("{\"tokens\":[" + tokens + "]}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/tokenize");
    }

    @Test
    void switchesToLlamaCppsContentFormWithTheSpecialTokens() throws IOException {
        Optional<ServerTokenCounter> counter = ServerTokenCounter.probe(HttpClient.newHttpClient(), json,
                llamaCppLike(), "m", Duration.ofSeconds(5));
        assertThat(counter).isPresent();
        assertThat(counter.get().count("the cat sat")).isEqualTo(4); // BOS + three words
        assertThat(counter.get().describe()).contains("llama.cpp");
    }
}
