package io.quire;

import io.quire.engine.EngineStats;
import io.quire.engine.LLMEngine;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * {@code model} health: up once the model is loaded and its engine runs (the bean exists only
 * then, so readiness, which includes it, stays down while a large model loads).
 */
public class ModelHealthIndicator implements HealthIndicator {
    private final LLMEngine engine;

    public ModelHealthIndicator(LLMEngine engine) {
        this.engine = engine;
    }

    @Override
    public Health health() {
        EngineStats s = engine.stats();
        return Health.up()
                .withDetail("model", engine.modelName())
                .withDetail("maxModelLen", engine.maxModelLen())
                .withDetail("running", s.running())
                .withDetail("waiting", s.waiting())
                .withDetail("kvBlocksFree", s.numFreeBlocks())
                .withDetail("kvBlocksTotal", s.numTotalBlocks())
                .build();
    }
}
