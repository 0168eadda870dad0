package io.quire.api.security;

import org.springframework.boot.security.autoconfigure.actuate.web.reactive.EndpointRequest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.annotation.web.reactive.EnableWebFluxSecurity;
import org.springframework.security.config.web.server.SecurityWebFiltersOrder;
import org.springframework.security.config.web.server.ServerHttpSecurity;
import org.springframework.security.web.server.SecurityWebFilterChain;
import org.springframework.security.web.server.authentication.AuthenticationWebFilter;
import org.springframework.security.web.server.context.NoOpServerSecurityContextRepository;
import org.springframework.security.web.server.firewall.ServerExchangeRejectedHandler;
import org.springframework.security.web.server.savedrequest.NoOpServerRequestCache;
import org.springframework.security.web.server.util.matcher.OrServerWebExchangeMatcher;
import org.springframework.security.web.server.util.matcher.ServerWebExchangeMatcher;
import org.springframework.security.web.server.util.matcher.ServerWebExchangeMatchers;
import org.springframework.web.cors.reactive.CorsConfigurationSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * The HTTP edge's filter chain (Spring Security, reactive). With API keys configured every route
 * needs {@code Authorization: Bearer <key>} except the open ones (vLLM's {@code /health} and
 * {@code /version}, the Actuator health and Prometheus endpoints, the playground page), unknown routes included; with
 * none, everything is open as before. Stateless: no session, no CSRF (no cookies are used), no
 * login form, basic auth or logout. CORS preflights are answered before the key is checked, as
 * browsers send them without credentials. Spring Security's default response headers stay
 * ({@code nosniff}, frame options, {@code Cache-Control: no-store} where a response sets none).
 */
@Configuration(proxyBeanMethods = false)
@EnableWebFluxSecurity
public class ApiSecurityConfiguration {

    /**
     * Routes for probes and scrapers, open whatever the keys, and the playground page's static files
     * (the page holds no data: it sends the key its user types to the protected routes).
     */
    static ServerWebExchangeMatcher openRoutes() {
        return new OrServerWebExchangeMatcher(
                ServerWebExchangeMatchers.pathMatchers(HttpMethod.GET, "/", "/index.html", "/playground/*"),
                ServerWebExchangeMatchers.pathMatchers("/health", "/version"),
                ServerWebExchangeMatchers.pathMatchers(HttpMethod.GET, "/metrics"),
                EndpointRequest.to("health", "prometheus"));
    }

    /** Picked up by Spring Security's filter chain proxy: the firewall's refusals get a JSON body too. */
    @Bean
    public ServerExchangeRejectedHandler exchangeRejectedHandler(JsonMapper json) {
        return new OpenAiExchangeRejectedHandler(json);
    }

    @Bean
    public SecurityWebFilterChain apiSecurityFilterChain(ServerHttpSecurity http, ApiKeys keys, ApiCors cors,
            JsonMapper json) {
        http.csrf(ServerHttpSecurity.CsrfSpec::disable)
                .formLogin(ServerHttpSecurity.FormLoginSpec::disable)
                .httpBasic(ServerHttpSecurity.HttpBasicSpec::disable)
                .logout(ServerHttpSecurity.LogoutSpec::disable)
                .requestCache(c -> c.requestCache(NoOpServerRequestCache.getInstance()))
                .securityContextRepository(NoOpServerSecurityContextRepository.getInstance());
        CorsConfigurationSource corsSource = cors.source();
        if (corsSource != null) http.cors(c -> c.configurationSource(corsSource));
        else http.cors(ServerHttpSecurity.CorsSpec::disable);

        if (keys.isEmpty()) return http.authorizeExchange(a -> a.anyExchange().permitAll()).build();

        OpenAiAuthenticationEntryPoint entryPoint = new OpenAiAuthenticationEntryPoint(json);
        AuthenticationWebFilter bearer = new AuthenticationWebFilter(new ApiKeyAuthenticationManager(keys));
        bearer.setServerAuthenticationConverter(new BearerKeyConverter());
        bearer.setAuthenticationFailureHandler(new OpenRoutesFailureHandler(openRoutes(), entryPoint));
        return http.addFilterAt(bearer, SecurityWebFiltersOrder.AUTHENTICATION)
                .exceptionHandling(e -> e.authenticationEntryPoint(entryPoint))
                .authorizeExchange(a -> a.matchers(openRoutes()).permitAll().anyExchange().authenticated())
                .build();
    }
}
