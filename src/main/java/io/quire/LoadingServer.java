package io.quire;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

/**
 * Answers on the server's port while the model downloads and loads, before Spring's web server
 * exists (it starts only once every bean, the model's included, is built): {@code /health} and
 * readiness say 503 with the phase and its percentage, liveness says up, the playground page is served so that it can show the
 * progress, and every other route gets an OpenAI-shaped 503. As a {@link SmartLifecycle} of the
 * first phase it closes when the application starts, just before the web server binds the port;
 * a failed start closes it as the context is destroyed. Without a fixed port (0) it never opens.
 */
final class LoadingServer implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(LoadingServer.class);
    /** The playground's files, the only static resources served while loading. */
    private static final Pattern PAGE_FILE = Pattern.compile("/playground/[a-z0-9-]+\\.(js|css)");

    private final ModelLoadProgress progress;
    private HttpServer server;  // null unless open
    private ExecutorService threads;
    private volatile boolean handedOver;

    LoadingServer(ModelLoadProgress progress) {
        this.progress = progress;
    }

    ModelLoadProgress progress() { return progress; }

    /**
     * Starts answering on {@code address:port} (null address: every interface); false, and a
     * warning, when the port cannot be bound (the web server will then fail on it with Boot's message).
     */
    synchronized boolean open(String address, int port) {
        if (address == null || address.isBlank()) return open((InetAddress) null, port);
        try {
            return open(InetAddress.getByName(address), port);
        } catch (UnknownHostException e) {
            log.warn("Cannot answer on {} while the model loads: unknown address", address);
            return false;
        }
    }

    /** As {@link #open(String, int)}. */
    synchronized boolean open(InetAddress address, int port) {
        if (handedOver || server != null) return false;
        try {
            server = HttpServer.create(new InetSocketAddress(address, port), 16);
        } catch (IOException e) {
            log.warn("Cannot answer on port {} while the model loads: {}", port, e.getMessage());
            return false;
        }
        threads = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().name("quire-loading-", 0).factory());
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
        log.info("While the model downloads and loads, port {} answers /health with 503 and its progress", port());
        return true;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            boolean get = "GET".equals(exchange.getRequestMethod()) || "HEAD".equals(exchange.getRequestMethod());
            double percent = Math.round(progress.percent() * 10) / 10.0;
            boolean downloading = progress.phase() == ModelLoadProgress.Phase.DOWNLOADING;
            String file = progress.file();
            if (get && path.equals("/health")) {
                // "downloading" each file from the Hub, "reading" the weights, then "starting": the
                // engine and the web server are still to come.
                String phase = downloading ? "downloading" : percent < 100 ? "reading" : "starting";
                json(exchange, 503, "{\"status\":\"loading\",\"phase\":\"" + phase + "\","
                        + (downloading && file != null ? "\"file\":\"" + jsonText(file) + "\"," : "")
                        + "\"progress\":" + percent + "}");
            } else if (get && path.equals("/actuator/health/liveness")) {
                json(exchange, 200, "{\"status\":\"UP\"}");
            } else if (get && (path.equals("/actuator/health") || path.startsWith("/actuator/health/"))) {
                json(exchange, 503, "{\"status\":\"OUT_OF_SERVICE\"}");
            } else if (get && (path.equals("/") || path.equals("/index.html") || PAGE_FILE.matcher(path).matches())) {
                page(exchange, path.equals("/") ? "/index.html" : path);
            } else {
                exchange.getResponseHeaders().set("Retry-After", "5");
                json(exchange, 503, "{\"error\":{\"message\":\"The model is still "
                        + (downloading ? "downloading (" + percent + " % of a file)" : "loading (" + percent + " % read)")
                        + "; try again shortly.\",\"type\":\"ServiceUnavailableError\",\"param\":null,"
                        + "\"code\":503}}");
            }
        }
    }

    private static void page(HttpExchange exchange, String path) throws IOException {
        try (InputStream in = LoadingServer.class.getResourceAsStream("/static" + path)) {
            if (in == null) {
                json(exchange, 404, "{\"error\":{\"message\":\"Not found.\",\"type\":\"NotFoundError\"}}");
                return;
            }
            String ext = path.substring(path.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            String type = switch (ext) {
                case "html" -> "text/html; charset=utf-8";
                case "css" -> "text/css; charset=utf-8";
                default -> "text/javascript; charset=utf-8";
            };
            send(exchange, 200, type, in.readAllBytes());
        }
    }

    /** A file name as JSON string content (Hub file names are plain, but never trusted to be). */
    private static String jsonText(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.toString();
    }

    private static void json(HttpExchange exchange, int status, String body) throws IOException {
        send(exchange, status, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) exchange.getResponseBody().write(body);
    }

    /** The port it answers on (open only). */
    synchronized int port() { return server.getAddress().getPort(); }

    /** Stops answering and frees the port, at once (the requests it answers are short). */
    synchronized void close() {
        if (server == null) return;
        server.stop(0);
        threads.shutdownNow();
        server = null;
    }

    /** The application starts: the web server binds the port next. */
    @Override
    public void start() {
        handedOver = true;
        close();
    }

    @Override
    public void stop() { close(); }

    /** Spring starts a lifecycle that is not running; this one has nothing left to run once it handed the port over. */
    @Override
    public boolean isRunning() { return handedOver; }

    @Override
    public int getPhase() { return Integer.MIN_VALUE; }
}
