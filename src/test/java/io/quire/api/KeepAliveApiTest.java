package io.quire.api;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * One HTTP/1.1 keep-alive connection must keep serving requests. Reactor Netty up to 1.3.7 stopped
 * reading a connection for good when a request that arrived while the previous (asynchronous)
 * response was still finishing got answered synchronously (reactor-netty issue 4361): the next
 * request on that connection hung until the client gave up. CI hit it as a timed-out Prometheus
 * scrape after a completion and a {@code /kv/report}. Pipelining the second request makes the race
 * certain instead of occasional.
 */
class KeepAliveApiTest extends Stories260KServerTest {

    @Test
    void aConnectionKeepsServingAfterARequestQueuedBehindACompletion() throws IOException {
        String completion = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""";
        byte[] body = completion.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int round = 0; round < 20; round++) {
                // The completion is answered from the engine's thread; the GET behind it in the same
                // write is queued until that answer ends, then answered at once, on the event loop.
                String pipelined = "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                        + "application/json\r\n"
                        + "Content-Length: " + body.length + "\r\n\r\n" + completion
                        + "GET /kv/report?detail=false HTTP/1.1\r\nHost: localhost\r\n\r\n";
                out.write(pipelined.getBytes(StandardCharsets.UTF_8));
                out.flush();
                assertThat(readResponse(in, round, "the completion")).contains("\"text_completion\"");
                assertThat(readResponse(in, round, "the queued /kv/report")).contains("\"blocks_total\"");
                // The request that hung: the connection must still be read.
                out.write("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                assertThat(readResponse(in, round, "the next request on the connection")).contains("\"stories260K\"");
            }
        }
    }

    /**
     * Every streamed response on a keep-alive connection must end with the chunked body's
     * terminating chunk, not only with {@code data: [DONE]}: a client that reads the body to its end
     * (or reuses the connection) waits for it. Streams written as per-event flush groups lost it now
     * and then among a fresh server's first requests (src/bench/stream-ends.sh, with a body as
     * large as this one's logit_bias).
     */
    @Test
    void everyStreamedResponseOnAConnectionEndsWithItsTerminatingChunk() throws IOException {
        StringBuilder bias = new StringBuilder();
        for (int token = 3; token < 259; token++) {  // the byte tokens, as the side-by-side's clients send
            bias.append(token == 3 ? "" : ", ").append('"').append(token).append("\": -100");
        }
        String completion = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 4, "stream": true,
                 "ignore_eos": true, "logit_bias": {%s}}""".formatted(bias);
        byte[] body = completion.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int round = 0; round < 32; round++) {
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(body);
                out.flush();
                String events = readChunkedBody(in, round);
                assertThat(events).as("round " + round).startsWith("data: {").endsWith("data: [DONE]\n\n");
            }
        }
    }

    /** Reads one 200 response with a chunked body up to its terminating chunk; fails on a stall. */
    private static String readChunkedBody(InputStream in, int round) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try {
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200");
            assertThat(head.toLowerCase(Locale.ROOT)).contains("transfer-encoding: chunked");
            while (true) {
                String sizeLine = readLine(in);
                int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
                if (size == 0) {
                    assertThat(readLine(in)).as("the blank line after the last chunk").isEmpty();
                    return body.toString(StandardCharsets.UTF_8);
                }
                body.write(in.readNBytes(size));
                assertThat(readLine(in)).as("CRLF after a chunk").isEmpty();
            }
        } catch (SocketTimeoutException e) {
            return fail("round " + round + ": no terminating chunk within 10 s after: "
                    + body.toString(StandardCharsets.UTF_8));
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) throw new IOException("connection closed after " + line);
            if (b != '\r') line.write(b);
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    /** Reads one response with a Content-Length body and returns the body; fails on a non-200 or a stall. */
    private static String readResponse(InputStream in, int round, String what) throws IOException {
        try {
            String head = readHead(in);
            assertThat(head).as(what).startsWith("HTTP/1.1 200");
            int length = -1;
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT)
                        .startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
            }
            assertThat(length).as("Content-Length of " + what + " in " + head).isNotNegative();
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            return fail("round " + round + ": no answer to " + what
                    + " within 10 s: the server stopped reading the connection");
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) throw new IOException("connection closed after " + head);
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }
}
