package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * {@code stream_options}: with {@code include_usage}, a last chunk carries the token counts; with vLLM's
 * {@code continuous_usage_stats} too, every chunk carries its choice's so far.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record StreamOptions(Boolean includeUsage, Boolean continuousUsageStats) {
    public boolean usage() { return Boolean.TRUE.equals(includeUsage); }

    /** As vLLM: only together with include_usage. */
    public boolean continuousUsage() { return usage() && Boolean.TRUE.equals(continuousUsageStats); }
}
