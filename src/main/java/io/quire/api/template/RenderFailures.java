package io.quire.api.template;

import com.hubspot.jinjava.interpret.CollectionTooBigException;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.interpret.errorcategory.BasicTemplateErrorCategory;

import java.util.Set;

/**
 * Which of Jinjava's render errors fail a render, and the message the client gets. Jinjava
 * reports most failures, limits included, as errors beside partial output; a partial prompt is
 * never used.
 */
final class RenderFailures {
    /** Tags that read other templates; {@link NoResourceLocator} would refuse them anyway. */
    static final Set<String> LOADING_TAGS = Set.of("include", "import", "from", "extends");

    private final long maxOutputChars;
    private final int maxCollectionSize;
    private final int maxMacroDepth;

    RenderFailures(long maxOutputChars, int maxCollectionSize, int maxMacroDepth) {
        this.maxOutputChars = maxOutputChars;
        this.maxCollectionSize = maxCollectionSize;
        this.maxMacroDepth = maxMacroDepth;
    }

    /** The exception for an error that fails the render; null for a warning. */
    ChatTemplateException of(TemplateError error) {
        // Recursion past the depth limit is only a warning to Jinjava, and the call renders empty.
        if (error.getCategory() == BasicTemplateErrorCategory.CYCLE_DETECTED) {
            String macro = error.getCategoryErrors() == null ? null : error.getCategoryErrors().get("name");
            return new ChatTemplateException(macro == null ? error.getMessage()
                    : "macro '" + macro + "' recursed deeper than " + maxMacroDepth + " calls");
        }
        if (error.getSeverity() != TemplateError.ErrorType.FATAL) return null;
        for (Throwable t = error.getException(); t != null; t = t.getCause() == t ? null : t.getCause()) {
            switch (t) {
                case ChatTemplateException raised -> { return raised; }
                case OutputTooBigException e -> { return outputTooLong(); }
                case CollectionTooBigException e -> { return collectionTooBig(); }
                default -> { }
            }
        }
        return switch (error.getReason()) {
            case OUTPUT_TOO_BIG -> outputTooLong();
            case COLLECTION_TOO_BIG -> collectionTooBig();
            case DISABLED -> new ChatTemplateException(error.getItem() == TemplateError.ErrorItem.TAG
                    && LOADING_TAGS.contains(error.getFieldName())
                    ? "chat templates cannot load files or other templates ({% " + error.getFieldName() + " %})"
                    : "chat template uses a disabled feature: " + error.getMessage());
            default -> new ChatTemplateException("chat template failed: " + error.getMessage());
        };
    }

    private ChatTemplateException outputTooLong() {
        return new ChatTemplateException("output is longer than " + maxOutputChars + " characters");
    }

    private ChatTemplateException collectionTooBig() {
        return new ChatTemplateException("a list or map has more than " + maxCollectionSize + " items");
    }
}
