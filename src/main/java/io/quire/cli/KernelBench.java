package io.quire.cli;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Parallel;
import io.quire.backend.cpu.Quant;
import io.quire.backend.cpu.RandomBlocks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Matmul throughput of the CPU kernels per weight type, batch size and thread count, measured
 * side by side in one JVM: warm-up, then several timed repeats, reporting the median.
 *
 * <p>Usage: {@code bench kernels [--rows 2048] [--cols 768] [--repeats 7] [--types F32,F16,BF16,Q8_0,Q4_0]
 * [--batches 1,32] [--threads 1,N]}. Without the jar: {@code java --add-modules jdk.incubator.vector
 * --enable-native-access=ALL-UNNAMED -cp target/classes io.quire.cli.KernelBench}. GFLOP/s counts 2 flops per weight
 * per vector; GB/s is weight bytes read per call (x and out are small and cache-resident), so at batch 1 it shows how
 * close a type gets to memory bandwidth. Both are computed from the median; "best us" is the fastest
 * repeat, a hint of what the kernel does when the machine is not shared.
 */
public final class KernelBench {
    private static final long REPEAT_NANOS = 40_000_000L;

    private KernelBench() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        int rows = 2048;
        int cols = 768;
        int repeats = 7;
        List<TensorType> types = List.of(TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q8_0,
                TensorType.Q4_0);
        int[] batches = {1, 32};
        int all = Runtime.getRuntime().availableProcessors();
        int[] threadCounts = all > 1 ? new int[] {1, all} : new int[] {1};
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                // the CLI may pass "bench kernels" through
                if (i < 2 && (a.equals("bench") || a.equals("kernels"))) continue;
                if (i + 1 >= args.length) throw new IllegalArgumentException("missing value after " + a);
                String v = args[++i];
                switch (a) {
                    case "--rows" -> rows = Integer.parseInt(v);
                    case "--cols" -> cols = Integer.parseInt(v);
                    case "--repeats" -> repeats = Integer.parseInt(v);
                    case "--types" -> types = Arrays.stream(v.split(","))
                            .map(s -> TensorType.valueOf(s.trim().toUpperCase())).toList();
                    case "--batches" -> batches = Arrays.stream(v.split(",")).mapToInt(s -> Integer.parseInt(s.trim()))
                            .toArray();
                    case "--threads" -> threadCounts = Arrays.stream(v.split(","))
                            .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (rows < 1 || cols < 256 || cols % 256 != 0 || repeats < 1)
                throw new IllegalArgumentException("need rows >= 1, cols a positive multiple of 256, repeats >= 1");
        } catch (IllegalArgumentException e) {
            System.err.println("bench kernels: " + e.getMessage());
            System.err.println("usage: bench kernels [--rows N] [--cols N] [--repeats N] [--types "
                    + "F32,F16,BF16,Q8_0,Q4_0] [--batches 1,32] [--threads 1,2]");
            return 2;
        }

        int savedThreads = Parallel.threads();
        Random random = new Random(1);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        int maxBatch = Arrays.stream(batches).max().orElse(1);
        float[] x = new float[maxBatch * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();

        System.out.printf("matmul %d rows x %d cols, %d-lane float vectors, %d processors, median of %d repeats%n",
                rows, cols, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(), all, repeats);
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        System.out.printf("system load average before: %.2f%n", os.getSystemLoadAverage());
        List<Config> configs = new ArrayList<>();
        for (TensorType type : types) {
            // Quire encodes the first five types itself; the others get random blocks (same speed).
            Tensor w = switch (type) {
                case F32, F16, BF16, Q8_0, Q4_0 -> new Tensor("bench", type, new long[] {cols, rows},
                        Quant.quantize(type, values));
                // Q4_K, Q4_0 and Q6_K as the loader repacks them for the CPU's kernels.
                case Q4_0_R32 -> io.quire.backend.cpu.Q4_0Tiles.repacked(new Tensor("bench", TensorType.Q4_0,
                        new long[] {cols, rows}, Quant.quantize(TensorType.Q4_0, values)), java.lang.foreign.Arena.ofAuto());
                case Q4_K_R32 -> io.quire.backend.cpu.Q4_KTiles.repacked(
                        RandomBlocks.tensor("bench", TensorType.Q4_K, rows, cols, 1), java.lang.foreign.Arena.ofAuto());
                case Q6_K_R32 -> io.quire.backend.cpu.Q6_KTiles.repacked(
                        RandomBlocks.tensor("bench", TensorType.Q6_K, rows, cols, 1), java.lang.foreign.Arena.ofAuto());
                default -> RandomBlocks.tensor("bench", type, rows, cols, 1);
            };
            float[] dense = Quant.dequantize(w);
            for (int batch : batches) {
                for (int threads : threadCounts) configs.add(new Config(w, dense, batch, threads,
                        new float[batch * rows], new double[repeats]));
            }
        }
        try {
            // Warm every configuration first so C2 has compiled all kernels before anything is timed.
            for (Config c : configs) {
                Parallel.setThreads(c.threads);
                long warmEnd = System.nanoTime() + 300_000_000L;
                long calls = 0;
                long start = System.nanoTime();
                while (System.nanoTime() < warmEnd || calls < 20) {
                    MatMul.matmul(c.w, x, c.batch, c.out);
                    calls++;
                }
                c.iterations = (int) Math.max(1,
                        Math.min(1_000_000, REPEAT_NANOS / ((System.nanoTime() - start) / (double) calls)));
            }
            // Round-robin repeats: a burst of load from elsewhere on the machine hits all configurations alike.
            for (int r = 0; r < repeats; r++) {
                for (Config c : configs) {
                    Parallel.setThreads(c.threads);
                    for (int i = 0; i < 3; i++) MatMul.matmul(c.w, x, c.batch, c.out);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < c.iterations; i++) MatMul.matmul(c.w, x, c.batch, c.out);
                    c.times[r] = (System.nanoTime() - t0) / (double) c.iterations;
                }
            }
        } finally {
            Parallel.setThreads(savedThreads);
        }
        System.out.printf("system load average after: %.2f (above the core count, other processes shared the cores)%n",
                os.getSystemLoadAverage());
        System.out.printf("%-5s %5s %7s %10s %10s %9s %9s %11s%n", "type", "batch", "threads", "us/call", "best us",
                "GFLOP/s", "GB/s(w)", "max rel err");
        for (Config c : configs) {
            Arrays.sort(c.times);
            double nanos = c.times[repeats / 2];
            double err = maxRelativeError(c.dense, rows, cols, x, c.batch, c.out);
            double flops = 2.0 * rows * cols * c.batch;
            System.out.printf("%-5s %5d %7d %10.1f %10.1f %9.1f %9.1f %11.1e%n", c.w.type(), c.batch, c.threads,
                    nanos / 1e3, c.times[0] / 1e3,
                    flops / nanos, c.w.data().byteSize() / nanos, err);
        }
        return 0;
    }

    private static final class Config {
        final Tensor w;
        final float[] dense;
        final int batch;
        final int threads;
        final float[] out;
        final double[] times;
        int iterations;

        Config(Tensor w, float[] dense, int batch, int threads, float[] out, double[] times) {
            this.w = w;
            this.dense = dense;
            this.batch = batch;
            this.threads = threads;
            this.out = out;
            this.times = times;
        }
    }

    /** Largest |out - reference| relative to the sum of |w||x| of that output: a guard that the fast path is right. */
    private static double maxRelativeError(float[] w, int rows, int cols, float[] x, int batch, float[] out) {
        double worst = 0;
        for (int b = 0; b < batch; b += Math.max(1, batch / 4)) {
            for (int r = 0; r < rows; r += 7) {
                double s = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) w[r * cols + c] * x[b * cols + c];
                    s += p;
                    mag += Math.abs(p);
                }
                worst = Math.max(worst, Math.abs(out[b * rows + r] - s) / mag);
            }
        }
        return worst;
    }

}
