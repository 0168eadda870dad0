package io.quire;

import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Keeps clients out while the server sends its own warm-up requests ({@link WebWarmup}), between the
 * web server's start and readiness: they get what {@link LoadingServer} answered before (503 with
 * Retry-After in OpenAI's error shape; {@code /health} 503 "loading"), the Actuator's health and the
 * playground's page pass (readiness stays out of service until the application is ready). Only a
 * request carrying this process's random token in {@value #HEADER} passes while it is closed, and
 * such requests are left out of {@code http.server.requests}.
 */
final class WarmupGate implements WebFilter, Ordered {
    static final String HEADER = "X-Quire-Warmup";
    private static final byte[] WARMING_UP = ("{\"error\":{\"message\":\"The server is warming up; try again shortly.\","
            + "\"type\":\"ServiceUnavailableError\",\"param\":null,\"code\":503}}").getBytes(StandardCharsets.UTF_8);
    private static final byte[] HEALTH = "{\"status\":\"loading\",\"phase\":\"warming up\",\"progress\":100.0}"
            .getBytes(StandardCharsets.UTF_8);

    private final byte[] token;
    private volatile boolean open;

    /** A gate that is closed until {@link #open()}, or open from the start when no warm-up will run. */
    WarmupGate(boolean closed) {
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        this.token = HexFormat.of().formatHex(random).getBytes(StandardCharsets.US_ASCII);
        this.open = !closed;
    }

    /** The header value that lets a warm-up request through. */
    String token() { return new String(token, StandardCharsets.US_ASCII); }

    void open() { open = true; }

    boolean isOpen() { return open; }

    /** Whether {@code request} is one of the warm-up's own (constant-time comparison of the token). */
    boolean isWarmup(ServerHttpRequest request) {
        String presented = request.getHeaders().getFirst(HEADER);
        return presented != null && MessageDigest.isEqual(presented.getBytes(StandardCharsets.US_ASCII), token);
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (open) return chain.filter(exchange);
        ServerHttpRequest request = exchange.getRequest();
        if (isWarmup(request)) return chain.filter(exchange);
        String path = request.getPath().pathWithinApplication().value();
        boolean get = request.getMethod() == HttpMethod.GET || request.getMethod() == HttpMethod.HEAD;
        if (path.startsWith("/actuator/")) return chain.filter(exchange);
        if (get && (path.equals("/") || path.equals("/index.html") || path.startsWith("/playground/"))) {
            return chain.filter(exchange);
        }
        ServerHttpResponse response = exchange.getResponse();
        response.setStatusCode(HttpStatus.SERVICE_UNAVAILABLE);
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        response.getHeaders().setCacheControl("no-store");
        boolean health = get && path.equals("/health");
        if (!health) response.getHeaders().set("Retry-After", "1");
        DataBuffer body = response.bufferFactory().wrap(health ? HEALTH : WARMING_UP);
        return response.writeWith(Mono.just(body));
    }

    /** Ahead of every other filter (security included): nothing but the warm-up runs while closed. */
    @Override
    public int getOrder() { return Ordered.HIGHEST_PRECEDENCE; }
}
