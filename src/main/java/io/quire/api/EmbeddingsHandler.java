package io.quire.api;

import io.quire.api.wire.EmbeddingRequest;
import io.quire.api.wire.EmbeddingResponse;
import io.quire.engine.GenerationService;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/embeddings}: each input runs through the engine as a prompt (batched with
 * whatever else runs, prefix cache and priority included) and its embedding is its last token's
 * final hidden state, the vector the model's output matrix reads, L2-normalized unless
 * {@code normalize} is false: vLLM's default pooling for a decoder-only model (last token,
 * normalized), which is also how its embedding models such as Qwen3-Embedding or e5-mistral pool.
 */
@Component
public class EmbeddingsHandler {
    private final GenerationService engine;
    private final RequestReader reader;
    private final ModelPooling pooling;
    private final ChatPrompts chats;

    public EmbeddingsHandler(GenerationService engine, RequestReader reader, ModelPooling pooling, ChatPrompts chats) {
        this.engine = engine;
        this.reader = reader;
        this.pooling = pooling;
        this.chats = chats;
    }

    public Mono<ServerResponse> embed(ServerRequest request) {
        return reader.read(request, EmbeddingRequest.class, UnsupportedFields.EMBEDDINGS)
                .flatMap(r -> handle(request, r));
    }

    private Mono<ServerResponse> handle(ServerRequest request, EmbeddingRequest r) {
        String adapter = OpenAiFormat.adapterOf(r.model(), engine);
        pooling.checkLastToken();
        boolean base64 = encoding(r.encodingFormat());
        if (r.dimensions() != null) {
            // vLLM's words: only matryoshka models may be cut short, and no model here is one.
            throw ApiException.badRequest("dimensions", "Model \"" + engine.modelName() + "\" does not support"
                    + " matryoshka representation, changing output dimensions will lead to poor results.");
        }
        // newer vLLM calls normalize use_activation: either, the same switch
        if (r.normalize() != null && r.useActivation() != null && !r.normalize().equals(r.useActivation())) {
            throw ApiException.badRequest("use_activation", "normalize and use_activation disagree; send one");
        }
        Boolean asked = r.normalize() != null ? r.normalize() : r.useActivation();
        boolean normalize = asked == null || asked;
        List<PromptInputs.Prompt> inputs = r.messages() != null ? List.of(chat(r))
                : PromptInputs.read(r.input(), "input", r.addSpecialTokens() == null || r.addSpecialTokens(),
                        engine.tokenizer());
        String id = OpenAiFormat.newId("embd-");
        long created = OpenAiFormat.nowSeconds();
        List<int[]> tokens = new ArrayList<>(inputs.size());
        int promptTokens = 0;
        for (PromptInputs.Prompt input : inputs) {
            int[] kept = PromptTruncation.apply(input.tokens(), r.truncatePromptTokens(), r.truncationSide(),
                    engine.maxModelLen());
            tokens.add(kept);
            promptTokens += kept.length;
        }
        int usage = promptTokens;
        int priority = r.priority() == null ? 0 : r.priority();
        return PromptEmbeddings.of(request, engine, id, tokens, r.cacheSalt(), priority, adapter)
                .map(vectors -> {
                    List<EmbeddingResponse.Embedding> data = new ArrayList<>(vectors.size());
                    for (int i = 0; i < vectors.size(); i++) {
                        float[] v = normalize ? PromptEmbeddings.normalized(vectors.get(i)) : vectors.get(i);
                        data.add(new EmbeddingResponse.Embedding(i, base64 ? base64(v) : v));
                    }
                    return new EmbeddingResponse(id, created, OpenAiFormat.modelName(adapter, engine), data, usage);
                })
                .flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    /**
     * vLLM's chat form: the conversation rendered with the model's template, as the chat endpoint renders
     * it but without a generation prompt unless asked (vLLM's default for embeddings); BOS once, as on the
     * chat endpoint: added unless the template wrote it or {@code add_special_tokens} is false.
     */
    private PromptInputs.Prompt chat(EmbeddingRequest r) {
        if (r.input() != null && !r.input().isNull()) {
            throw ApiException.badRequest("messages", "send either input or messages, not both");
        }
        Map<String, Object> kwargs = r.chatTemplateKwargs() == null ? Map.of() : r.chatTemplateKwargs();
        String rendered = chats.render(r.messages(), List.of(), Boolean.TRUE.equals(r.addGenerationPrompt()),
                r.continueFinalMessage(), kwargs);
        boolean addSpecial = r.addSpecialTokens() == null || r.addSpecialTokens();
        return new PromptInputs.Prompt(rendered, chats.tokenize(rendered, addSpecial));
    }

    /** Whether the vectors go as base64; float (the default) or base64, else a 400. */
    private static boolean encoding(String format) {
        if (format == null || format.equals("float")) return false;
        if (format.equals("base64")) return true;
        throw ApiException.badRequest("encoding_format", "encoding_format must be 'float' or 'base64', got '"
                + format + "'");
    }

    /** The floats as little-endian float32 bytes in base64, as OpenAI's clients decode them. */
    static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return Base64.getEncoder().encodeToString(b.array());
    }
}
