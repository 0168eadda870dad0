package io.quire;

import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The jar's start class: loadable by an old JVM, which it sends to Java 25. */
class QuireLauncherTest {
    /** Class file major version of Java 17, the release of Spring Boot's loader (JarLauncher). */
    private static final int JAVA_17 = 61;

    @Test
    void isCompiledForTheLoadersReleaseWhileTheApplicationIsFor25() throws IOException {
        assertThat(majorVersion(QuireLauncher.class)).isEqualTo(JAVA_17);
        assertThat(majorVersion(QuireApplication.class)).isEqualTo(44 + QuireLauncher.REQUIRED_RELEASE);
    }

    @Test
    void anOlderJavaIsToldToUseJava25WithTheSameJarAndArguments() {
        String[] args = {"generate", "--prompt", "Once upon a time", "--stop", "it's"};
        String problem = QuireLauncher.problem(17, "/usr/lib/jvm/java-17-openjdk-amd64",
                "target/quire-0.1.0-SNAPSHOT.jar generate --prompt Once upon a time --stop it's", args);
        assertThat(problem).startsWith("Quire needs Java 25 or newer, but this java is Java 17"
                        + " (/usr/lib/jvm/java-17-openjdk-amd64).")
                .contains("export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64")
                .endsWith("$JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
                        + " -jar target/quire-0.1.0-SNAPSHOT.jar generate --prompt 'Once upon a time'"
                        + " --stop 'it'\\''s'");
        assertThat(QuireLauncher.problem(17, "/jdk17", "/my jars/quire.jar", new String[0]))
                .endsWith("-jar '/my jars/quire.jar'");
        // Not started with -jar (a main class on a class path): no command to repeat.
        assertThat(QuireLauncher.problem(21, "/jdk21", "io.quire.QuireLauncher --help", new String[] {"--help"}))
                .endsWith("-jar quire.jar ...");
    }

    @Test
    void java25AndNewerRun() {
        String[] none = new String[0];
        assertThat(QuireLauncher.problem(25, "/jdk", "x.jar", none)).isNull();
        assertThat(QuireLauncher.problem(26, "/jdk", "x.jar", none)).isNull();
        assertThat(QuireLauncher.problem(Runtime.version().feature(), "/jdk", "x.jar", none)).isNull();
    }

    private static int majorVersion(Class<?> type) throws IOException {
        try (InputStream in = type.getResourceAsStream(type.getSimpleName() + ".class")) {
            DataInputStream data = new DataInputStream(in);
            assertThat(data.readInt()).isEqualTo(0xCAFEBABE);
            data.readUnsignedShort(); // minor
            return data.readUnsignedShort();
        }
    }
}
