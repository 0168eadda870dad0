package io.quire.api;

import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.HttpHandlerDecoratorFactory;
import org.springframework.stereotype.Component;

/**
 * Wraps every response in a {@link NettyAnsweredResponse}, outside Spring's exchange, so its logging and metrics see it
 * too.
 */
@Component
public class NettyAnsweredRequests implements HttpHandlerDecoratorFactory {

    @Override
    public HttpHandler apply(HttpHandler handler) {
        return (request, response) -> handler.handle(request, new NettyAnsweredResponse(response));
    }
}
