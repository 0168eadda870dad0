package io.quire.api;

import io.quire.api.wire.ModelCard;
import io.quire.api.wire.ModelList;
import io.quire.api.wire.VersionResponse;
import io.quire.engine.GenerationService;
import io.quire.model.LoraAdapter;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.info.BuildProperties;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

import java.util.ArrayList;
import java.util.List;

/** {@code GET /v1/models}, {@code GET /v1/models/{id}}, {@code GET /health} and {@code GET /version}. */
@Component
public class ModelsHandler {
    private final GenerationService engine;
    private final ApplicationAvailability availability;
    private final String version;
    private final long created = OpenAiFormat.nowSeconds();

    public ModelsHandler(GenerationService engine, ApplicationAvailability availability,
            ObjectProvider<BuildProperties> build) {
        this.engine = engine;
        this.availability = availability;
        BuildProperties props = build.getIfAvailable();
        String v = props != null ? props.getVersion() : ModelsHandler.class.getPackage().getImplementationVersion();
        this.version = v == null ? "unknown" : v;
    }

    private ModelCard card() {
        return new ModelCard(engine.modelName(), "model", created, "quire", engine.modelName(), null,
                engine.maxModelLen());
    }

    /** A LoRA adapter's card, as vLLM lists one: its folder as root, the served model as parent. */
    private ModelCard card(LoraAdapter adapter) {
        return new ModelCard(adapter.name(), "model", created, "quire", adapter.path().toString(), engine.modelName(),
                engine.maxModelLen());
    }

    private List<ModelCard> cards() {
        List<ModelCard> cards = new ArrayList<>();
        cards.add(card());
        for (LoraAdapter a : engine.adapters()) cards.add(card(a));
        return cards;
    }

    public Mono<ServerResponse> list(ServerRequest request) {
        return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(new ModelList("list", cards()));
    }

    public Mono<ServerResponse> get(ServerRequest request) {
        String id = request.pathVariable("id");
        return cards().stream().filter(c -> c.id().equals(id)).findFirst()
                .map(c -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(c))
                .orElseGet(() -> Mono.error(new ApiException(HttpStatus.NOT_FOUND, "model", "The model `" + id
                        + "` does not exist.")));
    }

    /** 200 with no body once the model is loaded and the server accepts traffic, as vLLM's {@code /health}. */
    public Mono<ServerResponse> health(ServerRequest request) {
        boolean ready = availability.getReadinessState() == ReadinessState.ACCEPTING_TRAFFIC;
        return ready ? ServerResponse.ok().build() : ServerResponse.status(HttpStatus.SERVICE_UNAVAILABLE).build();
    }

    public Mono<ServerResponse> version(ServerRequest request) {
        return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(new VersionResponse(version));
    }
}
