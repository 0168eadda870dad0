package io.quire.engine;

/** The engine is shutting down and takes no new requests (an HTTP 503, not a server error). */
public class EngineStoppedException extends IllegalStateException {
    public EngineStoppedException() {
        super("The server is shutting down and accepts no new requests.");
    }
}
