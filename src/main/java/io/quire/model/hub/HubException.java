package io.quire.model.hub;

import java.io.IOException;

/** A download that cannot be done, with a message fit for one line (which file, what went wrong). */
public final class HubException extends IOException {
    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
