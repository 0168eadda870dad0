package io.quire.api;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

import static org.springframework.web.reactive.function.server.RouterFunctions.route;

/** The KV memory report's route, next to the OpenAI-compatible ones (router functions from several beans compose). */
@Configuration(proxyBeanMethods = false)
public class KvReportRoutes {

    @Bean
    public RouterFunction<ServerResponse> kvReportRouter(KvReportHandler handler) {
        return route().GET("/kv/report", handler::report).build();
    }
}
