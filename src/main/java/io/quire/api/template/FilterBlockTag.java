package io.quire.api.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

/**
 * Jinja2's {@code {% filter name %}...{% endfilter %}} block, which Jinjava lacks: renders the
 * body, then applies the filter expression to it (some function-calling templates use it).
 */
final class FilterBlockTag implements Tag {
    private static final String BODY_VAR = "__quire_filter_body";

    @Override
    public String getName() { return "filter"; }

    @Override
    public String getEndTagName() { return "endfilter"; }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        StringBuilder body = new StringBuilder();
        for (Node child : tagNode.getChildren()) body.append(child.render(interpreter).getValue());
        // The body goes in as a variable's value, so that the filter sees text: spliced into the
        // expression it would be parsed, and Jinja in a message would run.
        interpreter.getContext().put(BODY_VAR, body.toString());
        Object filtered = interpreter.resolveELExpression(BODY_VAR + "|" + tagNode.getHelpers().trim(),
                tagNode.getLineNumber());
        return filtered == null ? "" : filtered.toString();
    }
}
