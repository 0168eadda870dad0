package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Anonymous callers of {@code /actuator/health} (everyone, when no API key is configured) see each
 * component's status but no details: not the disk space check's path (the working directory),
 * nor the model's queue.
 */
class HealthDetailsApiTest extends Stories260KServerTest {

    @Test
    void statusesWithoutDetails() throws Exception {
        HttpResponse<String> r = get("/actuator/health");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode health = json.readTree(r.body());
        assertThat(health.get("status").asString()).isEqualTo("UP");
        assertThat(health.get("components").get("model").get("status").asString()).isEqualTo("UP");
        assertThat(health.findValues("details")).isEmpty();
        assertThat(r.body()).doesNotContain("path").doesNotContain(System.getProperty("user.dir"));

        for (String probe : new String[] {"/actuator/health/readiness", "/actuator/health/liveness"}) {
            HttpResponse<String> p = get(probe);
            assertThat(p.statusCode()).as(probe).isEqualTo(200);
            assertThat(json.readTree(p.body()).get("status").asString()).as(probe).isEqualTo("UP");
        }
        assertThat(json.readTree(get("/actuator/health/readiness").body()).get("components").get("model").get("status")
                .asString()).isEqualTo("UP");
    }
}
