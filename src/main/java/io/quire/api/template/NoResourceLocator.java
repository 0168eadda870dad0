package io.quire.api.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.loader.ResourceLocator;

import java.nio.charset.Charset;

/**
 * Chat templates load nothing. Jinjava's default locator reads the classpath (the server's
 * application.yml, its jars) and, through absolute URLs, any file; this one refuses every name,
 * so that no tag or function can reach a file even if it escapes the disabled-tag list.
 */
final class NoResourceLocator implements ResourceLocator {
    @Override
    public String getString(String fullName, Charset encoding, JinjavaInterpreter interpreter) {
        throw new ChatTemplateException("chat templates cannot load files or other templates ('" + fullName + "')");
    }
}
