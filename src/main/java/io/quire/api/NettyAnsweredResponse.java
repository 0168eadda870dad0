package io.quire.api;

import org.reactivestreams.Publisher;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerResponse;

/**
 * A response that Reactor Netty may answer on its own. When it cannot decode a request's body
 * (a chunk-size line that is not a number or overflows, a malformed chunk) it sends 400 itself
 * (414 or 431 for an over-long chunk-size or trailer line) and closes the connection, while
 * Spring's handler is still reading the body and its response is uncommitted. Unwrapped, the error
 * handler's answer then fails with "Status and headers already sent", which Spring logs as a 500
 * with a stack trace and counts as a 500 in {@code http.server.requests}. Wrapped, the response
 * reports itself committed with a 400 and drops any later write, so the request is logged and
 * counted as the client error it is.
 */
final class NettyAnsweredResponse extends ServerHttpResponseDecorator {

    NettyAnsweredResponse(ServerHttpResponse delegate) {
        super(delegate);
    }

    /** Whether Reactor Netty sent a response for this request that Spring did not write. */
    static boolean answeredByNetty(ServerHttpResponse response) {
        for (ServerHttpResponse r = response; r instanceof ServerHttpResponseDecorator d; r = d.getDelegate()) {
            if (r instanceof NettyAnsweredResponse n) return n.answered();
        }
        return false;
    }

    boolean answered() {
        return !getDelegate().isCommitted()
                && ServerHttpResponseDecorator.getNativeResponse(getDelegate()) instanceof HttpServerResponse netty
                && netty.hasSentHeaders();
    }

    @Override
    public boolean isCommitted() {
        return getDelegate().isCommitted() || answered();
    }

    @Override
    public boolean setStatusCode(HttpStatusCode status) {
        return !answered() && getDelegate().setStatusCode(status);
    }

    @Override
    public HttpStatusCode getStatusCode() {
        // Reactor Netty does not expose the status it sent; its decoding-failure answer is 400 but
        // for over-long lines (414, 431), which are client errors as well.
        return answered() ? HttpStatus.BAD_REQUEST : getDelegate().getStatusCode();
    }

    @Override
    public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
        return answered() ? Mono.empty() : getDelegate().writeWith(body);
    }

    @Override
    public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
        return answered() ? Mono.empty() : getDelegate().writeAndFlushWith(body);
    }

    @Override
    public Mono<Void> setComplete() {
        return answered() ? Mono.empty() : getDelegate().setComplete();
    }
}
