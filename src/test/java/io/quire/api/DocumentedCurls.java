package io.quire.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The {@code curl} commands of a Markdown file, as a reader would paste them: path and JSON body. */
record DocumentedCurls(Path file, List<Curl> curls) {
    record Curl(String path, String body) {
        boolean streams() {
            return body.replace(" ", "").contains("\"stream\":true");
        }
    }

    private static final Pattern PATH = Pattern.compile("localhost:8000(/\\S+)");
    private static final Pattern BODY = Pattern.compile("-d '([^']*)'");

    /** Every {@code curl} with a {@code -d} body; a command continues over lines ending in a backslash. */
    static DocumentedCurls in(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<Curl> curls = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().startsWith("curl ")) continue;
            StringBuilder command = new StringBuilder(lines.get(i));
            while (lines.get(i).endsWith("\\") && i + 1 < lines.size()) command.append(' ').append(lines.get(++i));
            Matcher path = PATH.matcher(command);
            Matcher body = BODY.matcher(command);
            if (path.find() && body.find()) curls.add(new Curl(path.group(1), body.group(1)));
        }
        return new DocumentedCurls(file, curls);
    }

    /** Those whose body names {@code model}. */
    List<Curl> forModel(String model) {
        return curls.stream().filter(c -> c.body().replace(" ", "").contains("\"model\":\"" + model + "\"")).toList();
    }
}
