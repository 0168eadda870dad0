package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import io.quire.model.gguf.GgufWriter;
import io.quire.model.safetensors.SafetensorsFile;
import io.quire.model.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Test LoRA adapters as PEFT saves them (transformers names, {@code [r, in]} A and {@code [out, r]} B
 * in F32, an {@code adapter_config.json}), made of seeded random numbers for a Hugging Face folder of
 * {@link HfCheckpoints}, and the same folder with an adapter merged into its weights
 * ({@code W + scale * B A}, computed here in plain loops): the reference an adapter must reproduce.
 */
public final class PeftAdapters {
    /** PEFT's module names of a Llama layer, and where transformers keeps each. */
    public static final List<String> ALL = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    /** An adapter's matrices: per transformers weight name, A ({@code [r][in]}) and B ({@code [out][r]}). */
    public record Adapter(int rank, float alpha, Map<String, float[][]> a, Map<String, float[][]> b) {
        float scale() { return alpha / rank; }
    }

    private PeftAdapters() {}

    /**
     * A random adapter of rank {@code rank} on {@code modules} of every layer of the HF folder {@code base},
     * written to {@code dir}; its entries' magnitudes ({@code size}) make the update a visible fraction of the
     * base's output.
     */
    public static Adapter write(Path base, Path dir, List<String> modules, int rank, float alpha, float size, long seed)
            throws IOException {
        Files.createDirectories(dir);
        Random random = new Random(seed);
        Map<String, float[][]> as = new TreeMap<>(), bs = new TreeMap<>();
        SafetensorsWriter out = new SafetensorsWriter();
        for (Path shard : shards(base)) {
            try (SafetensorsFile f = SafetensorsFile.open(shard)) {
                for (var e : new TreeMap<>(f.entries()).entrySet()) {
                    String name = e.getKey();
                    String module = name.replaceAll(".*\\.(\\w+_proj)\\.weight$", "$1");
                    if (!name.startsWith("model.layers.") || !modules.contains(module)) continue;
                    int rows = (int) e.getValue().shape()[0], cols = (int) e.getValue().shape()[1];
                    float[][] a = random(random, rank, cols, size), b = random(random, rows, rank, size);
                    as.put(name, a);
                    bs.put(name, b);
                    String peft = "base_model.model." + name.substring(0, name.length() - ".weight".length());
                    out.add(peft + ".lora_A.weight", "F32", new long[] {rank, cols}, bytes(a));
                    out.add(peft + ".lora_B.weight", "F32", new long[] {rows, rank}, bytes(b));
                }
            }
        }
        out.write(dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), """
                {"peft_type": "LORA", "r": %d, "lora_alpha": %s, "target_modules": [%s], "bias": "none",
                 "lora_dropout": 0.0, "fan_in_fan_out": false, "use_rslora": false, "modules_to_save": null,
                 "task_type": "CAUSAL_LM", "base_model_name_or_path": "stories260K"}
                """.formatted(rank, alpha, String.join(", ", modules.stream().map(m -> "\"" + m + "\"").toList())));
        return new Adapter(rank, alpha, as, bs);
    }

    /** The HF folder {@code base} with {@code adapter} merged into its weights, written to {@code dir}. */
    public static Path merge(Path base, Adapter adapter, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(base)) {
            for (Path p : files.toList()) {
                if (!p.getFileName().toString().endsWith(".safetensors")) Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        for (Path shard : shards(base)) {
            SafetensorsWriter out = new SafetensorsWriter();
            try (SafetensorsFile f = SafetensorsFile.open(shard)) {
                for (var e : f.entries().values()) {
                    float[] w = Quant.dequantize(f.tensor(e.name()));
                    float[][] a = adapter.a().get(e.name()), b = adapter.b().get(e.name());
                    if (a != null) {
                        int rows = (int) e.shape()[0], cols = (int) e.shape()[1];
                        for (int o = 0; o < rows; o++) {
                            for (int i = 0; i < cols; i++) {
                                double d = 0;
                                for (int k = 0; k < adapter.rank(); k++) d += (double) b[o][k] * a[k][i];
                                w[o * cols + i] += (float) (adapter.scale() * d);
                            }
                        }
                    }
                    ByteBuffer buf = ByteBuffer.allocate(4 * w.length).order(ByteOrder.LITTLE_ENDIAN);
                    for (float x : w) buf.putFloat(x);
                    out.add(e.name(), "F32", e.shape(), buf.array());
                }
            }
            out.write(dir.resolve(shard.getFileName()));
        }
        return dir;
    }

    /**
     * {@code adapter} as llama.cpp's {@code convert_lora_to_gguf.py} writes it for a llama model: GGUF names
     * ({@code blk.N.attn_q.weight.lora_a}, shape {@code {in, r}}; {@code lora_b}, {@code {r, out}}),
     * {@code adapter.lora.alpha}, and the q/k rows of B permuted into interleaved RoPE pairs as the
     * converter permutes the model's ({@code reshape(heads, 2, hd/2, r).swapaxes(1, 2)}).
     */
    public static Path writeGguf(Adapter adapter, Path file, int heads, int kvHeads) throws IOException {
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").putString("general.type", "adapter")
                .putString("adapter.type", "lora").putFloat32("adapter.lora.alpha", adapter.alpha());
        for (String name : adapter.a().keySet()) {
            Matcher m = Pattern.compile("model\\.layers\\.(\\d+)\\.\\w+\\.(\\w+)_proj\\.weight").matcher(name);
            if (!m.matches()) throw new IllegalArgumentException(name);
            String gguf = "blk." + m.group(1) + "." + switch (m.group(2)) {
                case "q", "k", "v" -> "attn_" + m.group(2);
                case "o" -> "attn_output";
                default -> "ffn_" + m.group(2);
            } + ".weight";
            float[][] a = adapter.a().get(name), b = adapter.b().get(name);
            int n = m.group(2).equals("q") ? heads : m.group(2).equals("k") ? kvHeads : 0;
            if (n > 0) {
                int hd = b.length / n;
                float[][] p = new float[b.length][];
                for (int h = 0; h < n; h++) {
                    for (int j = 0; j < 2; j++) {
                        for (int i = 0; i < hd / 2; i++) p[h * hd + 2 * i + j] = b[h * hd + j * hd / 2 + i];
                    }
                }
                b = p;
            }
            w.addTensor(gguf + ".lora_a", TensorType.F32, new long[] {a[0].length, a.length}, segment(a));
            w.addTensor(gguf + ".lora_b", TensorType.F32, new long[] {b[0].length, b.length}, segment(b));
        }
        w.write(file);
        return file;
    }

    private static MemorySegment segment(float[][] m) {
        return MemorySegment.ofArray(bytes(m));
    }

    /** The model at {@code model}'s {@code n} greedy tokens after {@code prompt}, without the engine. */
    public static int[] greedy(Path model, int[] prompt, int n) throws IOException {
        try (LanguageModel<?> m = ModelLoader.load(model)) {
            return new SequenceRunner(m, 16, 16, 1).generate(List.of(prompt), n, prompt.length).getFirst();
        }
    }

    private static List<Path> shards(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    private static float[][] random(Random random, int rows, int cols, float size) {
        float[][] m = new float[rows][cols];
        for (float[] row : m) for (int i = 0; i < cols; i++) row[i] = (float) (random.nextGaussian() * size);
        return m;
    }

    private static byte[] bytes(float[][] m) {
        ByteBuffer buf = ByteBuffer.allocate(4 * m.length * m[0].length).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] row : m) for (float x : row) buf.putFloat(x);
        return buf.array();
    }
}
