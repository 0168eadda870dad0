package io.quire.api;

import io.quire.api.wire.RerankRequest;
import io.quire.api.wire.RerankResponse;
import io.quire.api.wire.ScoreRequest;
import io.quire.api.wire.ScoreResponse;
import io.quire.engine.GenerationService;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * vLLM's {@code /score} and {@code /rerank} with an embedding model: every distinct text is embedded
 * once ({@link PromptEmbeddings}, as on {@code /v1/embeddings}) and a pair's score is the cosine
 * similarity of its two vectors, as vLLM scores when the model is not a cross-encoder. Texts are
 * tokenized with BOS and cut by {@code truncate_prompt_tokens} as embedding inputs are.
 */
@Component
public class ScoresHandler {
    private final GenerationService engine;
    private final RequestReader reader;
    private final ModelPooling pooling;

    public ScoresHandler(GenerationService engine, RequestReader reader, ModelPooling pooling) {
        this.engine = engine;
        this.reader = reader;
        this.pooling = pooling;
    }

    public Mono<ServerResponse> score(ServerRequest request) {
        return reader.read(request, ScoreRequest.class, UnsupportedFields.SCORES).flatMap(r -> score(request, r));
    }

    public Mono<ServerResponse> rerank(ServerRequest request) {
        return reader.read(request, RerankRequest.class, UnsupportedFields.SCORES).flatMap(r -> rerank(request, r));
    }

    private Mono<ServerResponse> score(ServerRequest request, ScoreRequest r) {
        String adapter = OpenAiFormat.adapterOf(r.model(), engine);
        pooling.checkLastToken();
        List<String> first = texts(r.text1(), "text_1"), second = texts(r.text2(), "text_2");
        if (first.size() != 1 && first.size() != second.size()) {
            // vLLM's words
            throw ApiException.badRequest("text_1", "Input lengths must be either 1:1, 1:N or N:N");
        }
        String id = OpenAiFormat.newId("score-");
        long created = OpenAiFormat.nowSeconds();
        List<int[]> prompts = new ArrayList<>(first.size() + second.size());
        for (String t : first) prompts.add(tokens(t, r.truncatePromptTokens()));
        for (String t : second) prompts.add(tokens(t, r.truncatePromptTokens()));
        int usage = prompts.stream().mapToInt(p -> p.length).sum();
        int n = first.size();
        return PromptEmbeddings.of(request, engine, id, prompts, null, priority(r.priority()), adapter).map(v -> {
            List<ScoreResponse.Score> data = new ArrayList<>(second.size());
            for (int i = 0; i < second.size(); i++) {
                data.add(new ScoreResponse.Score(i, PromptEmbeddings.cosine(v.get(n == 1 ? 0 : i), v.get(n + i))));
            }
            return new ScoreResponse(id, created, OpenAiFormat.modelName(adapter, engine), data, usage);
        }).flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    private Mono<ServerResponse> rerank(ServerRequest request, RerankRequest r) {
        String adapter = OpenAiFormat.adapterOf(r.model(), engine);
        pooling.checkLastToken();
        if (r.query() == null || !r.query().isString()) {
            throw ApiException.badRequest("query", "query must be a string");
        }
        if (r.documents() == null || !r.documents().isArray()) {
            throw ApiException.badRequest("documents", "documents must be a non-empty array of strings");
        }
        List<String> documents = texts(r.documents(), "documents");
        int topN = r.topN() == null ? 0 : r.topN();
        if (topN < 0) throw ApiException.badRequest("top_n", "top_n must be at least 0, got " + topN);
        String id = OpenAiFormat.newId("rerank-");
        List<int[]> prompts = new ArrayList<>(documents.size() + 1);
        prompts.add(tokens(r.query().stringValue(), r.truncatePromptTokens()));
        for (String d : documents) prompts.add(tokens(d, r.truncatePromptTokens()));
        int usage = prompts.stream().mapToInt(p -> p.length).sum();
        return PromptEmbeddings.of(request, engine, id, prompts, null, priority(r.priority()), adapter).map(v -> {
            List<RerankResponse.Result> results = new ArrayList<>(documents.size());
            for (int i = 0; i < documents.size(); i++) {
                results.add(new RerankResponse.Result(i, new RerankResponse.Document(documents.get(i)),
                        PromptEmbeddings.cosine(v.getFirst(), v.get(i + 1))));
            }
            // highest first; a stable sort keeps equal scores in document order
            results.sort(Comparator.comparingDouble(RerankResponse.Result::relevanceScore).reversed());
            List<RerankResponse.Result> kept = topN > 0 && topN < results.size() ? results.subList(0, topN) : results;
            return new RerankResponse(id, OpenAiFormat.modelName(adapter, engine),
                    new RerankResponse.TotalTokens(usage), List.copyOf(kept));
        }).flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    /** A string, or a non-empty array of strings (at most {@link PromptInputs#MAX_PROMPTS}), as {@code field}. */
    private static List<String> texts(JsonNode value, String field) {
        if (value == null || value.isNull()) throw ApiException.badRequest(field, field + " is required");
        if (value.isString()) return List.of(value.stringValue());
        if (!value.isArray() || value.isEmpty()) {
            throw ApiException.badRequest(field, field + " must be a string or a non-empty array of strings");
        }
        if (value.size() > PromptInputs.MAX_PROMPTS) {
            throw ApiException.badRequest(field, "at most " + PromptInputs.MAX_PROMPTS + " texts per request, got "
                    + value.size());
        }
        List<String> out = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            if (!value.get(i).isString()) {
                throw ApiException.badRequest(field, field + "[" + i + "] must be a string (only text is scored)");
            }
            out.add(value.get(i).stringValue());
        }
        return out;
    }

    private int[] tokens(String text, Integer truncate) {
        int[] tokens = engine.tokenizer().encode(text, true, true);
        return PromptTruncation.apply(tokens, truncate, null, engine.maxModelLen());
    }

    private static int priority(Integer p) { return p == null ? 0 : p; }
}
