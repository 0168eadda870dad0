package io.quire.cli;

/**
 * The CPU kernels use the Vector API, an incubator module the JVM only loads when told to; without
 * {@code --add-modules jdk.incubator.vector} the first kernel would fail with a
 * {@code NoClassDefFoundError} deep in a stack trace. Checked before the server or a tool that
 * computes starts ({@code tokenize} and {@code bench serve} do not compute, and run without it).
 */
public final class VectorModule {
    static final String NAME = "jdk.incubator.vector";

    private VectorModule() {}

    /** Null when the module is loaded; otherwise the message saying how to start the JVM. */
    public static String missing() {
        if (ModuleLayer.boot().findModule(NAME).isPresent()) return null;
        return "Quire needs the JVM option --add-modules " + NAME + " (its CPU kernels use the Vector API):\n"
                + "  java --add-modules " + NAME + " --enable-native-access=ALL-UNNAMED -jar quire.jar ...";
    }
}
