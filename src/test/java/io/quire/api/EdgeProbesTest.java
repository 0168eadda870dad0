package io.quire.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Keeps the edge probe tool working, and holds the server to its table: no 5xx, nothing left running. */
class EdgeProbesTest extends Stories260KServerTest {

    @Test
    void theHostileClientProbesFindNoHole() throws Exception {
        List<EdgeProbes.Row> rows = new EdgeProbes("http://localhost:" + port, null).runAll();
        EdgeProbes.print(rows);
        for (EdgeProbes.Row r : rows) {
            assertThat(r.server5xx()).as(r.probe()).isZero();
            assertThat(r.leftRunning()).as(r.probe()).isZero();
        }
        assertThat(rows.get(0).note()).as("template text").startsWith(rows.get(0).tried() + " of");
        assertThat(rows.get(1).client4xx()).as("every wrong body refused").isEqualTo(rows.get(1).tried());
        assertThat(rows.get(3).aborted()).as("every prompt of the abandoned batch").isEqualTo(300);
    }
}
