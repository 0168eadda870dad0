package io.quire.api.template;

/** A chat template refused the conversation ({@code raise_exception}) or failed to render. */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }
}
