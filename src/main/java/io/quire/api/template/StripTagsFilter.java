package io.quire.api.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.filter.UnescapeHtmlFilter;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Jinja2's {@code striptags} (markupsafe's): drops comments and tags, joins whitespace runs with
 * one space, unescapes entities. Jinjava's own renders its input as a template first, which would
 * run Jinja written in a message.
 */
final class StripTagsFilter implements Filter {
    private static final Pattern COMMENT = Pattern.compile("<!--.*?-->", Pattern.DOTALL);
    private static final Pattern TAG = Pattern.compile("<.*?>", Pattern.DOTALL);
    private static final Pattern SPACE = Pattern.compile("\\s+");
    private static final UnescapeHtmlFilter UNESCAPE = new UnescapeHtmlFilter();

    @Override
    public String getName() { return "striptags"; }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        String s = Objects.toString(var, "");
        s = TAG.matcher(COMMENT.matcher(s).replaceAll("")).replaceAll("");
        s = SPACE.matcher(s.strip()).replaceAll(" ");
        return UNESCAPE.filter(s, interpreter);
    }
}
