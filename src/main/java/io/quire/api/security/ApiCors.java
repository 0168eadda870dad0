package io.quire.api.security;

import org.springframework.http.HttpMethod;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.reactive.CorsConfigurationSource;
import org.springframework.web.cors.reactive.UrlBasedCorsConfigurationSource;

import java.time.Duration;
import java.util.List;

/**
 * Which browser origins may call the HTTP API (vLLM's {@code --allowed-origins}). None: no CORS
 * headers at all, so browsers keep the same-origin rule. Credentials are not allowed: the API key
 * travels in {@code Authorization}, which the browser sends only where the app puts it.
 *
 * @param allowedOrigins origins such as {@code https://app.example.com}, or {@code *}
 * @param allowedHeaders request headers a browser may send (the preflight's {@code Access-Control-Request-Headers})
 */
public record ApiCors(List<String> allowedOrigins, List<String> allowedHeaders) {
    /** The HTTP API's routes; the Actuator endpoints are for servers, not browsers. */
    static final List<String> PATHS = List.of("/v1/**", "/v2/**", "/score", "/rerank", "/tokenize", "/detokenize",
            "/kv/**", "/health", "/version");

    public ApiCors {
        allowedOrigins = allowedOrigins == null ? List.of()
                : allowedOrigins.stream().filter(o -> !o.isBlank()).map(String::strip).toList();
        allowedHeaders = allowedHeaders == null ? List.of()
                : allowedHeaders.stream().filter(h -> !h.isBlank()).map(String::strip).toList();
    }

    public static ApiCors none() { return new ApiCors(List.of(), List.of()); }

    public boolean enabled() { return !allowedOrigins.isEmpty(); }

    /** The configuration per path, or {@code null} when no origin is allowed. */
    CorsConfigurationSource source() {
        if (!enabled()) return null;
        CorsConfiguration c = new CorsConfiguration();
        c.setAllowedOrigins(allowedOrigins);
        c.setAllowedMethods(List.of(HttpMethod.GET.name(), HttpMethod.POST.name(), HttpMethod.OPTIONS.name()));
        c.setAllowedHeaders(allowedHeaders);
        c.setAllowCredentials(false);
        // A browser may reuse the preflight's answer for an hour instead of asking before every request.
        c.setMaxAge(Duration.ofHours(1));
        UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
        for (String path : PATHS) source.registerCorsConfiguration(path, c);
        return source;
    }
}
