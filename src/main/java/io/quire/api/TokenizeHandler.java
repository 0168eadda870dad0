package io.quire.api;

import io.quire.api.wire.DetokenizeRequest;
import io.quire.api.wire.DetokenizeResponse;
import io.quire.api.wire.TokenizeRequest;
import io.quire.api.wire.TokenizeResponse;
import io.quire.engine.GenerationService;
import io.quire.model.tokenizer.Tokenizer;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;

/**
 * vLLM's {@code POST /tokenize} and {@code POST /detokenize}. Messages tokenize exactly as a chat
 * completion would tokenize them, so {@code count} is what the chat request will use.
 */
@Component
public class TokenizeHandler {
    private final JsonMapper json;
    private final GenerationService engine;
    private final ChatPrompts prompts;
    private final RequestReader reader;

    public TokenizeHandler(GenerationService engine, ChatPrompts prompts, RequestReader reader, JsonMapper json) {
        this.json = json;
        this.engine = engine;
        this.prompts = prompts;
        this.reader = reader;
    }

    public Mono<ServerResponse> tokenize(ServerRequest request) {
        return reader.read(request, TokenizeRequest.class, UnsupportedFields.NONE_LISTED)
                .map(this::tokenize)
                .flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    TokenizeResponse tokenize(TokenizeRequest r) {
        OpenAiFormat.adapterOf(r.model(), engine);  // the adapters share the model's tokenizer
        boolean addSpecial = r.addSpecialTokens() == null || r.addSpecialTokens();
        int[] tokens;
        if (r.prompt() != null && r.messages() != null) {
            throw ApiException.badRequest("messages", "send either prompt or messages, not both");
        } else if (r.prompt() != null) {
            tokens = engine.tokenizer().encode(r.prompt(), addSpecial, true);
        } else if (r.messages() != null) {
            Map<String, Object> kwargs = r.chatTemplateKwargs() == null ? Map.of() : r.chatTemplateKwargs();
            List<Object> tools = RequestedTools.of(r.tools(), null, null, json).forTemplate();
            String rendered = prompts.render(r.messages(), tools, r.addGenerationPrompt(), r.continueFinalMessage(),
                    kwargs);
            tokens = prompts.tokenize(rendered, addSpecial);
        } else {
            throw ApiException.badRequest("prompt", "prompt or messages is required");
        }
        return new TokenizeResponse(tokens.length, engine.maxModelLen(), tokens);
    }

    public Mono<ServerResponse> detokenize(ServerRequest request) {
        return reader.read(request, DetokenizeRequest.class, UnsupportedFields.NONE_LISTED)
                .map(this::detokenize)
                .flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    DetokenizeResponse detokenize(DetokenizeRequest r) {
        OpenAiFormat.adapterOf(r.model(), engine);  // the adapters share the model's tokenizer
        if (r.tokens() == null) throw ApiException.badRequest("tokens", "tokens is required");
        Tokenizer tok = engine.tokenizer();
        List<Integer> ids = r.tokens();
        int[] tokens = new int[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            Integer id = ids.get(i);
            if (id == null || id < 0 || id >= tok.vocabSize()) {
                throw ApiException.badRequest("tokens", "token ids must be in [0, " + tok.vocabSize() + "), got " + id);
            }
            tokens[i] = id;
        }
        return new DetokenizeResponse(tok.decode(tokens));
    }
}
