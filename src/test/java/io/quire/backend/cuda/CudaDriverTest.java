package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CudaDriverTest {

    @Test
    void autoWithoutTheDriverChoosesTheCpuAndUnpacksNothing(@TempDir Path tmp) throws Exception {
        assumeTrue(CudaDriver.missingReason() != null, "this machine has " + CudaDriver.LIBRARY);
        // A fresh JVM: this one's probe has run already, and surefire points its JavaCPP cache at target/.
        Path home = Files.createDirectory(tmp.resolve("home"));
        Path cache = Files.createDirectory(tmp.resolve("javacpp-cache"));
        Path log = tmp.resolve("out.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Duser.home=" + home, "-Dorg.bytedeco.javacpp.cachedir=" + cache,
                "-cp", System.getProperty("java.class.path"), AutoDeviceMain.class.getName()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("finished within 60 s").isTrue();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(contents(home)).as("written under user.home").isEmpty();
        assertThat(contents(cache)).as("written to the JavaCPP cache").isEmpty();
        assertThat(out).contains(
                "selected device: cpu (quire.device=auto, no GPU: the CUDA driver libcuda.so.1 is not installed");
    }

    private static List<Path> contents(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> !f.equals(dir)).toList();
        }
    }
}
