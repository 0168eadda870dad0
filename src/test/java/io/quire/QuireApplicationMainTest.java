package io.quire;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code main} in a JVM started as a newcomer might: without {@code --add-modules jdk.incubator.vector}.
 * Help needs no kernels; everything that computes says which option is missing instead of failing
 * with a stack trace.
 */
class QuireApplicationMainTest {
    private record Run(int exitCode, String stdout, String stderr) {}

    private static Run main(String... args) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                QuireApplication.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exited").isTrue();
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void helpWorksWithoutTheVectorModule() throws Exception {
        Run run = main("--help");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(run.stdout()).startsWith("usage: quire [--KEY=VALUE ...]").contains("usage: quire generate ");
    }

    @Test
    void theServerAndComputingToolsNameTheMissingOption() throws Exception {
        for (String[] args : List.of(new String[] {"--server.port=0"},
                new String[] {"generate", "--model", "dummy", "--prompt", "hi"})) {
            Run run = main(args);
            assertThat(run.exitCode()).as(run.stderr()).isEqualTo(1);
            assertThat(run.stderr()).startsWith("Quire needs the JVM option --add-modules jdk.incubator.vector")
                    .doesNotContain("Exception");
        }
    }
}
