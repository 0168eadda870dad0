package io.quire.model;

import io.quire.backend.Device;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import io.quire.backend.cpu.RandomBlocks;
import io.quire.model.gguf.GgufWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random-weight models of any shape (vLLM's {@code --load-format dummy}): for tests, benchmarks and
 * the server's offline default. A random model is written as a real GGUF file (with a synthetic
 * SentencePiece vocabulary) and loaded through the same path as any other model, so nothing about
 * it is special-cased.
 */
public final class RandomModels {
    /** The server's built-in default: small enough to start in a second on any machine. */
    public static final ModelConfig DEFAULT = ModelConfig.llama(256, 4, 8, 4, 768, 4096, 2048);
    /** The 110M-parameter Llama of the benchmarks (llama2.c's stories110M shape). */
    public static final ModelConfig LLAMA_110M = ModelConfig.llama(768, 12, 12, 12, 2048, 32000, 1024);

    private static final String SPACE = "\u2581";

    private RandomModels() {}

    /** Writes a random model of shape {@code config} with matrices stored as {@code type}. */
    public static void write(ModelConfig config, TensorType type, long seed, Path path) throws IOException {
        writer(config, type, seed).write(path);
    }

    /** Creates a random model in a temporary file and loads it (the file is deleted once mapped). */
    public static LanguageModel<?> load(ModelConfig config, TensorType type, long seed) {
        return load(config, type, seed, "random-" + config.architecture());
    }

    /** As {@link #load(ModelConfig, TensorType, long)}, served under {@code name}. */
    public static LanguageModel<?> load(ModelConfig config, TensorType type, long seed, String name) {
        return load(config, type, seed, name, Device.CPU);
    }

    /** As {@link #load(ModelConfig, TensorType, long, String)}, on {@code device}. */
    public static LanguageModel<?> load(ModelConfig config, TensorType type, long seed, String name, Device device) {
        return load(config, type, seed, name, device, "auto");
    }

    /** As {@link #load(ModelConfig, TensorType, long, String, Device)}, in GPU type {@code dtype}. */
    public static LanguageModel<?> load(ModelConfig config, TensorType type, long seed, String name, Device device,
            String dtype) {
        try {
            Path tmp = Files.createTempFile("quire-random-", ".gguf");
            try {
                write(config, type, seed, tmp);
                return ModelLoader.load(tmp, name, device, dtype);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static GgufWriter writer(ModelConfig c, TensorType type, long seed) {
        if (!c.architecture().equals("llama") && !c.architecture().equals("qwen2")) {
            throw new IllegalArgumentException("random models support llama and qwen2, not " + c.architecture());
        }
        String a = c.architecture();
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", a)
                .putString("general.name", "random-" + a)
                .putUInt32(a + ".context_length", c.contextLength())
                .putUInt32(a + ".embedding_length", c.dim())
                .putUInt32(a + ".block_count", c.numLayers())
                .putUInt32(a + ".feed_forward_length", c.ffnDim())
                .putUInt32(a + ".attention.head_count", c.numHeads())
                .putUInt32(a + ".attention.head_count_kv", c.numKvHeads())
                .putFloat32(a + ".attention.layer_norm_rms_epsilon", c.rmsNormEps())
                .putFloat32(a + ".rope.freq_base", c.ropeTheta());
        if (c.headDim() != c.dim() / c.numHeads()) w.putUInt32(a + ".attention.key_length", c.headDim());
        addVocabulary(w, c.vocabSize());

        SplittableRandom random = new SplittableRandom(seed);
        matrix(w, "token_embd.weight", type, c.dim(), c.vocabSize(), random);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "blk." + i + ".";
            ones(w, p + "attn_norm.weight", c.dim());
            matrix(w, p + "attn_q.weight", type, c.dim(), c.qDim(), random);
            matrix(w, p + "attn_k.weight", type, c.dim(), c.kvDim(), random);
            matrix(w, p + "attn_v.weight", type, c.dim(), c.kvDim(), random);
            if (c.qkvBias()) {
                matrix(w, p + "attn_q.bias", TensorType.F32, c.qDim(), 1, random);
                matrix(w, p + "attn_k.bias", TensorType.F32, c.kvDim(), 1, random);
                matrix(w, p + "attn_v.bias", TensorType.F32, c.kvDim(), 1, random);
            }
            matrix(w, p + "attn_output.weight", type, c.qDim(), c.dim(), random);
            ones(w, p + "ffn_norm.weight", c.dim());
            matrix(w, p + "ffn_gate.weight", type, c.dim(), c.ffnDim(), random);
            matrix(w, p + "ffn_up.weight", type, c.dim(), c.ffnDim(), random);
            matrix(w, p + "ffn_down.weight", type, c.ffnDim(), c.dim(), random);
        }
        ones(w, "output_norm.weight", c.dim());
        // No output.weight: the LM head is tied to the embedding, as in llama2.c's stories models
        // (the 110M benchmark model is 110M parameters only with tied weights).
        return w;
    }

    /** Uniform weights with unit output variance for unit-variance inputs. */
    private static void matrix(GgufWriter w, String name, TensorType type, int cols, int rows,
            SplittableRandom random) {
        float[] values = new float[Math.multiplyExact(cols, rows)];
        double bound = Math.sqrt(3.0 / cols);
        for (int i = 0; i < values.length; i++) values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        long[] shape = rows == 1 ? new long[] {cols} : new long[] {cols, rows};
        // Quire quantizes to F32, F16, BF16, Q8_0 and Q4_0 only; Q4_K and Q6_K get random blocks (what their
        // repacked tiles' tests need), their scales small enough for the values to stay finite; other types are refused.
        w.addTensor(name, type, shape, type == TensorType.Q4_K || type == TensorType.Q6_K
                ? RandomBlocks.tensor(name, type, rows, cols, random.nextLong()).data()
                : Quant.quantize(type, values));
    }

    private static void ones(GgufWriter w, String name, int n) {
        float[] values = new float[n];
        Arrays.fill(values, 1f);
        w.addTensor(name, TensorType.F32, new long[] {n}, Quant.quantize(TensorType.F32, values));
    }

    /**
     * A SentencePiece-style vocabulary of exactly {@code size} tokens: {@code <unk> <s> </s>}, the
     * 256 byte-fallback tokens, printable ASCII, then every 2- and 3-letter piece over lowercase
     * letters and the word-start mark (so merges always have both halves), scored shorter-first.
     */
    static void addVocabulary(GgufWriter w, int size) {
        if (size < 300) {
            throw new IllegalArgumentException("a random model needs a vocabulary of at least 300 tokens, got " + size);
        }
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) tokens.add(String.format("<0x%02X>", b));
        LinkedHashSet<String> pieces = new LinkedHashSet<>();
        pieces.add(SPACE);
        for (char ch = 33; ch < 127; ch++) pieces.add(String.valueOf(ch));
        String alphabet = SPACE + "etaoinshrdlucmfwypvbgkjqxz";
        List<String> level = new ArrayList<>();
        for (int i = 0; i < alphabet.length(); i++) level.add(String.valueOf(alphabet.charAt(i)));
        while (tokens.size() + pieces.size() < size) {
            List<String> next = new ArrayList<>();
            for (String s : level) {
                for (int i = 0; i < alphabet.length() && tokens.size() + pieces.size() < size; i++) {
                    String piece = s + alphabet.charAt(i);
                    // A word-start mark only begins a piece, as SentencePiece vocabularies have it.
                    if (i == 0) continue;
                    if (pieces.add(piece)) next.add(piece);
                }
            }
            level = next;
        }
        tokens.addAll(pieces);
        while (tokens.size() > size) tokens.removeLast();
        int n = tokens.size();
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            scores[i] = i < 259 ? 0f : -(i - 259);
            types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
        }
        w.putString("tokenizer.ggml.model", "llama")
                .putStrings("tokenizer.ggml.tokens", tokens.toArray(String[]::new))
                .putFloats("tokenizer.ggml.scores", scores)
                .putInts("tokenizer.ggml.token_type", types)
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putUInt32("tokenizer.ggml.unknown_token_id", 0)
                .putBool("tokenizer.ggml.add_bos_token", true);
    }
}
