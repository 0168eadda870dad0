package io.quire.cli;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.YamlPropertiesFactoryBean;
import org.springframework.core.io.ClassPathResource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code quire --help}, {@code -h} and {@code quire COMMAND --help}: usage on stdout, exit 0, nothing run. */
class CliHelpTest extends CapturedStdStreams {
    private static final List<String> COMMANDS = List.of("generate", "tokenize", "random-model", "bench kernels",
            "bench attention", "bench decode", "bench prefill", "bench kv", "bench serve", "bench profile", "bench structured", "cuda-check", "pull");

    private String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpAloneOrAmongServerSettingsPrintsTheServerAndEveryCommand() {
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"-h"},
                new String[] {"--quire.model=dummy", "--help"})) {
            out.reset();
            assertThat(Cli.handles(args)).isTrue();
            assertThat(Cli.run(args)).isZero();
            assertThat(stdout()).startsWith("usage: quire [--KEY=VALUE ...]")
                    .contains("--quire.model=PATH|Org/Name|dummy", "--server.port=PORT", "application.yml",
                            "docs/configuration.md");
            for (String command : COMMANDS) assertThat(stdout()).contains("usage: quire " + command + " ");
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void serverArgumentsWithoutHelpStartTheServer() {
        assertThat(Cli.handles(new String[0])).isFalse();
        assertThat(Cli.handles(new String[] {"--quire.model=x.gguf", "--server.port=9000"})).isFalse();
    }

    @Test
    void eachCommandHelpsWithItsOwnOptionsInsteadOfRunning() {
        for (String command : COMMANDS) {
            for (String flag : List.of("--help", "-h")) {
                out.reset();
                String[] args = (command + " " + flag).split(" ");
                // Without --help every one of these would fail or start work (a missing --model, a benchmark).
                assertThat(Cli.run(args)).as(command + " " + flag).isZero();
                assertThat(stdout()).as(command).startsWith("usage: quire " + command + " ")
                        .doesNotContain("usage: quire [");
            }
        }
        out.reset();
        assertThat(Cli.run(new String[] {"bench", "--help"})).isZero();
        for (String bench : List.of("kernels", "decode", "kv", "serve")) {
            assertThat(stdout()).contains("usage: quire bench " + bench + " ");
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void helpAfterOtherOptionsCountsButAnOptionsValueIsNotAFlag() {
        assertThat(Cli.run(new String[] {"generate", "--model", "dummy", "--help"})).isZero();
        assertThat(stdout()).startsWith("usage: quire generate ");
        assertThat(Cli.asksForHelp(new String[] {"generate", "--model", "dummy", "--prompt", "-h"}, 1)).isFalse();
        assertThat(Cli.asksForHelp(new String[] {"generate", "--prompt=x", "-h"}, 1)).isTrue();
        // bench serve has flags without a value, so a flag anywhere is help there.
        assertThat(Cli.asksForHelp(new String[] {"bench", "serve", "--skip-test-request", "--help"}, 2)).isTrue();
    }

    @Test
    void aBadCommandLineStillFailsWithTheUsageOnStderr() {
        assertThat(Cli.run(new String[] {"bench", "nonsense"})).isEqualTo(2);
        assertThat(stdout()).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("bench needs one of", "usage: quire generate ");
    }

    /** The server settings --help names are application.yml's keys, with its defaults. */
    @Test
    void serverSettingsInTheHelpAreApplicationYmlsWithTheSameDefaults() {
        YamlPropertiesFactoryBean yaml = new YamlPropertiesFactoryBean();
        yaml.setResources(new ClassPathResource("application.yml"));
        Properties settings = yaml.getObject();
        Matcher m = Pattern.compile("--((?:quire|server)\\.[a-z.-]+)=\\S+\\s+(.*)").matcher(Usage.SERVER);
        int seen = 0;
        while (m.find()) {
            seen++;
            String key = m.group(1);
            assertThat(settings).as(key).containsKey(key);
            Matcher d = Pattern.compile("\\(default ([^ :)]+)\\)").matcher(m.group(2));
            if (d.find()) assertThat(settings.getProperty(key)).as(key).isEqualTo(d.group(1));
        }
        assertThat(seen).isGreaterThanOrEqualTo(10);
    }
}
