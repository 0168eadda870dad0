package io.quire.api;

/**
 * The pooling the served model's files declare ({@link io.quire.model.DeclaredPooling}; null: none).
 * {@code /v1/embeddings} pools by the last token: a model declared to pool otherwise (a mean- or
 * CLS-pooled embedding model) would get vectors it was not trained to give, so it is refused instead.
 */
public record ModelPooling(String declared) {
    /** A 400 naming the declared pooling unless it is the last token's (or none is declared). */
    void checkLastToken() {
        if (declared != null && !declared.equals("last")) {
            throw ApiException.badRequest("model", "The model's files declare " + declared + " pooling; embeddings"
                    + " here are pooled by the last token only, so this model's would be wrong.");
        }
    }
}
