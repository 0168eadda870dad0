package io.quire.api;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

import static org.springframework.web.reactive.function.server.RouterFunctions.route;

/** The KV memory report's routes (the JSON report, its event stream), next to the OpenAI-compatible ones (router functions from several beans compose). */
@Configuration(proxyBeanMethods = false)
public class KvReportRoutes {

    @Bean
    public RouterFunction<ServerResponse> kvReportRouter(KvReportHandler handler, KvStreamHandler stream) {
        return route().GET("/kv/report", handler::report).GET("/kv/stream", stream::stream).build();
    }
}
