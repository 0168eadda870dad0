package io.quire.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Quant;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench profile} on a real recording of this JVM doing matrix products. */
class ProfileBreakdownTest extends CapturedStdStreams {

    @Test
    void attributesSamplesOfMatrixProductsToThem(@TempDir Path dir) throws Exception {
        float[] values = new float[256 * 512];
        Random random = new Random(3);
        for (int i = 0; i < values.length; i++) values[i] = random.nextFloat();
        Tensor w = new Tensor("w", TensorType.F32, new long[] {512, 256}, Quant.quantize(TensorType.F32, values));
        float[] x = new float[8 * 512], y = new float[8 * 256];
        Path file = dir.resolve("profile.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(1));
            recording.start();
            long end = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < end) MatMul.matmul(w, x, 8, y);
            recording.stop();
            recording.dump(file);
        }
        assertThat(Files.size(file)).isPositive();

        assertThat(Cli.run(new String[] {"bench", "profile", file.toString()})).isZero();

        String report = out.toString(StandardCharsets.UTF_8);
        assertThat(report).contains("CPU samples").contains("GC:");
        String matmulLine = report.lines().filter(l -> l.contains("matrix products")).findFirst().orElseThrow();
        double share = Double.parseDouble(matmulLine.replaceAll(".*\\s([0-9.]+)%$", "$1"));
        assertThat(share).as(report).isGreaterThan(50.0);
    }

    @Test
    void aMissingFileIsOneLineAndExitOne() {
        assertThat(Cli.run(new String[] {"bench", "profile", "/nonexistent/quire.jfr"})).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("bench profile: cannot read /nonexistent/quire.jfr");
    }
}
