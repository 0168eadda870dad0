package io.quire;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container image's {@code HEALTHCHECK}: exits 0 when {@code GET /health} on this machine's
 * Quire answers 200, else 1. Images without curl or wget (config/offline-images.sh makes one from
 * a bare runtime) have only {@code java}, so the check is this class, run from a folder of its own
 * rather than through the Spring Boot jar, which would take seconds to open. Compiled with the
 * launcher for Java 17 and using java.base only. The port is {@code SERVER_PORT} (default 8000),
 * as the server reads it.
 */
public final class HealthCheck {
    private HealthCheck() {}

    public static void main(String[] args) {
        String port = System.getenv().getOrDefault("SERVER_PORT", "8000");
        try {
            HttpURLConnection http = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/health")
                    .toURL().openConnection();
            http.setConnectTimeout(2000);
            http.setReadTimeout(4000);
            int status = http.getResponseCode();
            http.disconnect();
            if (status == 200) return;
            System.err.println("GET /health answered " + status);
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("GET /health failed: " + e);
        }
        System.exit(1);
    }
}
