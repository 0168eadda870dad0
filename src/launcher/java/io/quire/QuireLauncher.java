package io.quire;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The jar's start class, which Spring Boot's loader calls: on a JVM older than Java 25 it stops
 * with a message naming Java 25 instead of an {@code UnsupportedClassVersionError}, else it runs
 * {@link QuireApplication}. Compiled for Java 17 (pom.xml, execution {@code launcher}), the release
 * of Spring Boot's loader itself, so any JVM that gets as far as this class can load it; that is
 * also why it names the application only by reflection and uses nothing newer than Java 17.
 */
public final class QuireLauncher {
    /** The Java release the rest of Quire is compiled for (maven.compiler.release). */
    static final int REQUIRED_RELEASE = 25;
    private static final String APPLICATION = "io.quire.QuireApplication";

    private QuireLauncher() {}

    public static void main(String[] args) throws Throwable {
        String problem = problem(Runtime.version().feature(), System.getProperty("java.home"),
                System.getProperty("sun.java.command", ""), args);
        if (problem != null) {
            System.err.println(problem);
            System.exit(1);
        }
        Method main = Class.forName(APPLICATION, true, QuireLauncher.class.getClassLoader())
                .getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause(); // the application's own failure, not the reflection wrapper
        }
    }

    /**
     * Null when a JVM of this feature release can run Quire; otherwise what to do instead, with the
     * same jar and arguments. {@code command} is the JVM's {@code sun.java.command}: after
     * {@code java -jar}, the jar and the arguments joined by spaces.
     */
    static String problem(int release, String javaHome, String command, String[] args) {
        if (release >= REQUIRED_RELEASE) return null;
        return "Quire needs Java " + REQUIRED_RELEASE + " or newer, but this java is Java " + release
                + " (" + javaHome + ").\n"
                + "Run it with a JDK " + REQUIRED_RELEASE + "'s java, e.g.\n"
                + "  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64   # wherever your JDK 25 is\n"
                + "  $JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
                + " -jar " + jarAndArguments(command, args);
    }

    /** The jar as typed and the arguments, quoted for a shell; a placeholder when not run with -jar. */
    private static String jarAndArguments(String command, String[] args) {
        String joined = String.join(" ", args);
        String jar = args.length == 0 ? command
                : command.endsWith(" " + joined) ? command.substring(0, command.length() - joined.length() - 1) : "";
        if (!jar.endsWith(".jar")) return "quire.jar ...";
        StringBuilder line = new StringBuilder(shellWord(jar));
        for (String arg : args) line.append(' ').append(shellWord(arg));
        return line.toString();
    }

    private static String shellWord(String s) {
        return s.matches("[A-Za-z0-9_./=:,@%+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }
}
