package io.quire.api;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.MethodNotAllowedException;
import reactor.core.publisher.Mono;

import java.util.Set;

import static org.springframework.web.reactive.function.server.RequestPredicates.path;
import static org.springframework.web.reactive.function.server.RouterFunctions.route;

/** The OpenAI-compatible routes (plus vLLM's tokenizer, health and version endpoints). */
@Configuration(proxyBeanMethods = false)
public class ApiRoutes {

    @Bean
    public RouterFunction<ServerResponse> openAiRoutes(CompletionsHandler completions, ChatCompletionsHandler chat,
                                                       ResponsesHandler responses, EmbeddingsHandler embeddings,
                                                       ScoresHandler scores, ModelsHandler models,
                                                       TokenizeHandler tokenizer, VllmMetricsHandler metrics) {
        return route()
                .POST("/v1/completions", completions::complete)
                .POST("/v1/chat/completions", chat::complete)
                .POST("/v1/responses", responses::respond)
                .POST("/v1/embeddings", embeddings::embed)
                .POST("/score", scores::score)
                .POST("/v1/score", scores::score)
                .POST("/rerank", scores::rerank)
                .POST("/v1/rerank", scores::rerank)
                .POST("/v2/rerank", scores::rerank)
                .GET("/v1/models", models::list)
                .GET("/v1/models/{id}", models::get)
                .GET("/health", models::health)
                .GET("/version", models::version)
                .GET("/metrics", metrics::metrics)
                .POST("/tokenize", tokenizer::tokenize)
                .POST("/detokenize", tokenizer::detokenize)
                // A known path with the wrong method is a 405, not a 404.
                .route(path("/v1/completions").or(path("/v1/chat/completions")).or(path("/v1/responses"))
                                .or(path("/v1/embeddings")).or(path("/score")).or(path("/v1/score"))
                                .or(path("/rerank")).or(path("/v1/rerank")).or(path("/v2/rerank"))
                                .or(path("/tokenize")).or(path("/detokenize")),
                        r -> Mono.error(new MethodNotAllowedException(r.method(), Set.of(HttpMethod.POST))))
                .route(path("/v1/models").or(path("/v1/models/{id}")).or(path("/health")).or(path("/version"))
                                .or(path("/metrics")),
                        r -> Mono.error(new MethodNotAllowedException(r.method(), Set.of(HttpMethod.GET))))
                .build();
    }
}
