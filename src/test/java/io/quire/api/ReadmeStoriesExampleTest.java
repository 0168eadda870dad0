package io.quire.api;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The stories260K requests of README.md and docs/models.md, as pasted, answer with the text
 * README.md promises: llama.cpp's greedy continuation.
 */
class ReadmeStoriesExampleTest extends Stories260KServerTest {
    @Test
    void theDocumentedRequestsGiveTheDocumentedText() throws Exception {
        List<String> readme = Files.readAllLines(Path.of("README.md"));
        int intro = readme.indexOf("The chunks' texts make llama.cpp's greedy continuation:");
        assertThat(intro).as("README.md states the continuation").isPositive();
        String promised = readme.get(intro + 2).substring(4);
        assertThat(promised).isEqualTo(ONCE_UPON_A_TIME_32);

        List<DocumentedCurls.Curl> curls = new ArrayList<>();
        curls.addAll(DocumentedCurls.in(Path.of("README.md")).forModel(MODEL));
        curls.addAll(DocumentedCurls.in(Path.of("docs", "models.md")).forModel(MODEL));
        assertThat(curls).hasSizeGreaterThanOrEqualTo(2).anyMatch(DocumentedCurls.Curl::streams);
        for (DocumentedCurls.Curl curl : curls) {
            String text = curl.streams() ? completionText(stream(curl.path(), curl.body()), 0)
                    : postJson(curl.path(), curl.body()).get("choices").get(0).get("text").asString();
            assertThat(text).as(curl.body()).isEqualTo(promised);
        }
    }
}
