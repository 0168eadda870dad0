package io.quire.model;

import io.quire.backend.Device;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Q4_0Tiles;
import io.quire.backend.cpu.Q4_KTiles;
import io.quire.backend.cpu.Q6_KTiles;
import io.quire.backend.cuda.Cuda;
import io.quire.backend.cuda.CudaDtype;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufMetadata;
import io.quire.model.tokenizer.Tokenizer;
import io.quire.model.tokenizer.Tokenizers;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Loads a GGUF model: reads its hyperparameters from metadata, checks every weight it will use,
 * and returns a runnable model whose weights stay memory-mapped in their stored type. A folder is
 * a Hugging Face checkpoint, which {@link HfModelLoader} turns into the same model.
 */
public final class ModelLoader {
    private static final Logger log = LoggerFactory.getLogger(ModelLoader.class);
    public static final List<String> ARCHITECTURES = List.of("llama", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2",
            "gemma3");

    private ModelLoader() {}

    /** The name that selects the built-in random model instead of a file. */
    public static final String DUMMY = "dummy";

    /**
     * Loads {@code spec}: a GGUF path or Hugging Face model folder, or {@value #DUMMY} for the built-in
     * random model ({@link RandomModels#DEFAULT}, F32, fixed seed), which needs no file and no network.
     */
    public static LanguageModel<?> load(String spec) throws IOException {
        return load(spec, Device.CPU);
    }

    /** Loads a GGUF file, named after the file without its extension. */
    public static LanguageModel<?> load(Path path) throws IOException {
        return load(path, defaultName(path));
    }

    /** Loads a GGUF file (or a Hugging Face model folder) under the model name {@code name}. */
    public static LanguageModel<?> load(Path path, String name) throws IOException {
        if (HfModelLoader.isModelDir(path)) return HfModelLoader.load(path, name, LoadProgress.NONE);
        GgufFile file = GgufFile.open(path);
        try {
            ModelConfig config = readConfig(file);
            file = withCpuLayouts(file, config);
            Tokenizer tokenizer = Tokenizers.fromGguf(file.metadata());
            return new LlamaModel(name, config, LlamaWeights.from(file, config), tokenizer, file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Bytes a CPU vector load reads at once (AVX-512): where a float row must start not to straddle cache lines. */
    static final int ROW_ALIGNMENT = 64;

    /**
     * {@code file}, or a copy of its tensors in 64-byte-aligned memory ({@link GgufFile#copiedAligned}), the
     * mapping closed, when the CPU's kernels gain from one:
     * <ul>
     * <li>its Q4_K, Q4_0 and Q6_K matrices repacked ({@link Q4_KTiles}, {@link Q4_0Tiles}, {@link Q6_KTiles}:
     *     a row per 16-bit lane, 32 rows to a tile), which the kernels multiply 1.1-2.8x faster at batches of
     *     1-16 (Q6_K: 2.1-2.5x at batch 1, slower at 8 and 17-20; bench kernels);
     *     not the token embedding unless it is the LM head too (tied);
     * <li>most of its bytes F32 rows that the mapping leaves misaligned: that kernel loads whole vectors of a
     *     row, and a vector split over two cache lines costs two loads (decode 1.23x faster on one thread from
     *     the copy). Not 16-bit rows: BF16 decode ran slower 64-byte-aligned than at the GGUF's 32 mod 64,
     *     copied or mapped (0.75x on one thread, docs/performance.md). Quantized blocks (34, 144, 210
     *     bytes...) straddle lines whatever the start.
     * </ul>
     * Files a copy would not fit (the JDK's direct memory limit, by default the heap's maximum size) stay
     * mapped as they are. {@code -Dquire.mmap-weights=true} keeps every file mapped (benchmarks).
     */
    static GgufFile withCpuLayouts(GgufFile file, ModelConfig config) {
        if (Boolean.getBoolean("quire.mmap-weights")) return file;
        GgufFile.Relayout repack = repack(config, !file.hasTensor("output.weight"));
        long rows = 0, total = 0, repacked = 0;
        for (GgufFile.TensorInfo t : file.tensorInfos().values()) {
            total += t.bytes();
            if (t.type() == TensorType.F32 && t.shape().length >= 2) rows += t.bytes();
            if (repack.typeOf(t) != null) repacked += t.bytes();
        }
        boolean align = rows * 2 >= total && file.hasTensorsMisalignedTo(ROW_ALIGNMENT);
        if (repacked == 0 && !align) return file;
        Arena arena = Arena.ofShared();
        try {
            GgufFile copy = file.copiedAligned(arena, ROW_ALIGNMENT, repacked == 0 ? null : repack);
            if (repacked > 0) {
                log.info("Weights copied into memory ({} MiB), {} MiB of Q4_K/Q4_0 matrices repacked for the CPU's kernels",
                        total >> 20, repacked >> 20);
            } else {
                log.info("Weights copied into {}-byte-aligned memory ({} MiB): the file aligns its tensors to fewer"
                        + " bytes than a vector load reads", ROW_ALIGNMENT, total >> 20);
            }
            return copy;
        } catch (OutOfMemoryError e) {
            arena.close();
            log.warn("Weights left mapped as stored ({}): decoding is slower; -XX:MaxDirectMemorySize would let"
                    + " them be copied", e.getMessage());
            return file;
        }
    }

    /**
     * The Q4_K, Q4_0 and Q6_K matrices that {@link Q4_KTiles}, {@link Q4_0Tiles} and {@link Q6_KTiles} take: all
     * but the token embedding where the file has its own LM head ({@code output.weight}: the embedding is then
     * only read a row per token, which the stored layout does in one run) and a fused matrix that
     * {@link LlamaWeights#rows} would cut between two tiles (Phi-3's QKV or gate-up with a size not a
     * multiple of 32). A tied embedding is the LM head too, read whole every step, so it is repacked; its
     * rows are then gathered from their tiles ({@link io.quire.backend.cpu.Quant#dequantizeRow}).
     */
    private static GgufFile.Relayout repack(ModelConfig c, boolean tiedEmbedding) {
        ArchitectureFeatures a = c.features();
        int tile = Q4_KTiles.ROWS;
        boolean cutQkv = a.fusedQkv() && (c.qDim() % tile != 0 || c.kvDim() % tile != 0);
        boolean cutGateUp = a.fusedGateUp() && c.ffnDim() % tile != 0;
        return new GgufFile.Relayout() {
            @Override
            public TensorType typeOf(GgufFile.TensorInfo t) {
                long[] s = t.shape();
                String name = t.name();
                boolean matrix = s.length == 2 && s[0] <= Integer.MAX_VALUE && s[1] <= Integer.MAX_VALUE
                        && (tiedEmbedding || !name.equals("token_embd.weight"))
                        && !(cutQkv && name.endsWith(".attn_qkv.weight"))
                        && !(cutGateUp && name.endsWith(".ffn_up.weight"));
                if (!matrix) return null;
                int rows = (int) s[1], cols = (int) s[0];
                if (t.type() == TensorType.Q4_K && Q4_KTiles.applies(rows, cols)) return TensorType.Q4_K_R32;
                if (t.type() == TensorType.Q4_0 && Q4_0Tiles.applies(rows, cols)) return TensorType.Q4_0_R32;
                if (t.type() == TensorType.Q6_K && Q6_KTiles.applies(rows, cols)) return TensorType.Q6_K_R32;
                return null;
            }

            @Override
            public void write(GgufFile.TensorInfo t, MemorySegment src, MemorySegment dst) {
                int rows = (int) t.shape()[1], cols = (int) t.shape()[0];
                if (t.type() == TensorType.Q4_0) Q4_0Tiles.repack(src, dst, rows, cols);
                else if (t.type() == TensorType.Q6_K) Q6_KTiles.repack(src, dst, rows, cols);
                else Q4_KTiles.repack(src, dst, rows, cols);
            }
        };
    }

    /**
     * Loads {@code spec} (a GGUF path or {@value #DUMMY}) onto {@code device}: the CPU model, or
     * {@link CudaLlamaModel} with its weights uploaded to the GPU of {@link Cuda#device()}.
     */
    public static LanguageModel<?> load(String spec, Device device) throws IOException {
        if (DUMMY.equals(spec)) return RandomModels.load(RandomModels.DEFAULT, TensorType.F32, 0, "quire-dummy",
                device);
        Path path = Path.of(spec);
        return load(path, defaultName(path), device);
    }

    /** The name a model file is served under unless one is given: the file name without {@code .gguf}. */
    public static String defaultName(Path path) {
        return path.getFileName().toString().replaceFirst("\\.gguf$", "");
    }

    /** Loads a GGUF file under the model name {@code name} onto {@code device}. */
    public static LanguageModel<?> load(Path path, String name, Device device) throws IOException {
        return load(path, name, device, "auto");
    }

    /**
     * As {@link #load(Path, String, Device)}; on a GPU the model is kept in
     * {@code dtype} (auto, float16 or bfloat16: {@link CudaDtype#parse}).
     * The CPU computes in FP32 whatever the dtype, but a bad dtype is refused on either device.
     */
    public static LanguageModel<?> load(Path path, String name, Device device, String dtype) throws IOException {
        return load(path, name, device, dtype, LoadProgress.NONE);
    }

    /**
     * As {@link #load(Path, String, Device, String)}, reading the whole file into memory first (the
     * OS page cache) and telling {@code progress} how far it is: on a cold disk that read is most of
     * a large model's load, and without it the first requests would page the weights in instead.
     * With {@link LoadProgress#NONE} nothing is read ahead.
     */
    public static LanguageModel<?> load(Path path, String name, Device device, String dtype, LoadProgress progress)
            throws IOException {
        CudaDtype.parse(dtype, null);  // fail early, before the file is read
        if (HfModelLoader.isModelDir(path)) {
            return switch (device) {
                case CPU -> HfModelLoader.load(path, name, progress);
                case CUDA -> HfModelLoader.loadCuda(path, name, Cuda.device(), dtype, progress);
            };
        }
        if (progress != LoadProgress.NONE) {
            try (GgufFile file = GgufFile.open(path)) {
                readConfig(file);  // a bad file fails before it is read in full
                readAhead(file, progress);
            }
        }
        return switch (device) {
            case CPU -> load(path, name);
            case CUDA -> CudaLlamaModel.load(path, name, Cuda.device(), dtype);
        };
    }

    /** The tokenizer of a GGUF file or a Hugging Face model folder, without loading the weights. */
    public static Tokenizer tokenizer(Path path) throws IOException {
        if (HfModelLoader.isModelDir(path)) return HfModelLoader.tokenizer(path, 0);
        try (GgufFile file = GgufFile.open(path)) {
            return Tokenizers.fromGguf(file.metadata());
        }
    }

    /**
     * The chat template the model carries ({@code tokenizer.chat_template} of a GGUF file, or a
     * Hugging Face folder's template), or null when it has none.
     */
    public static String chatTemplate(Path path) throws IOException {
        if (HfModelLoader.isModelDir(path)) return HfModelLoader.chatTemplate(path);
        try (GgufFile file = GgufFile.open(path)) {
            return file.metadata().getString("tokenizer.chat_template");
        }
    }

    /**
     * Why the GPU cannot run the model in {@code path} (one line), or null when it can: lets
     * {@code quire.device=auto} run such a model on the CPU instead of failing.
     */
    public static String cudaRefusal(Path path) throws IOException {
        if (HfModelLoader.isModelDir(path)) return CudaLlamaModel.refusal(HfModelLoader.readConfig(path));
        try (GgufFile file = GgufFile.open(path)) {
            return CudaLlamaModel.refusal(readConfig(file));
        }
    }

    /**
     * Hyperparameters from GGUF metadata ({@code <arch>.*} keys as llama.cpp writes them). Each value
     * is checked where it is read, so a bad file is refused naming its key instead of failing later
     * as a division by zero, an empty model or a shape mismatch.
     */
    public static ModelConfig readConfig(GgufFile file) {
        GgufMetadata md = file.metadata();
        String arch = md.getString("general.architecture");
        if (arch == null) throw new ModelLoadException("the model file has no general.architecture: " + file.path());
        if (!ARCHITECTURES.contains(arch)) {
            throw new ModelLoadException("unsupported model architecture '" + arch + "' (supported: "
                    + String.join(", ", ARCHITECTURES) + ")");
        }
        String dimKey = arch + ".embedding_length";
        String layersKey = arch + ".block_count";
        String headsKey = arch + ".attention.head_count";
        String kvHeadsKey = arch + ".attention.head_count_kv";
        String keyLengthKey = arch + ".attention.key_length";
        String valueLengthKey = arch + ".attention.value_length";
        int dim = positive(dimKey, required(md, dimKey));
        int layers = positive(layersKey, required(md, layersKey));
        // Each layer has several tensors: a larger count is corrupt, and would allocate before failing.
        if (layers > file.tensorInfos().size()) {
            throw new ModelLoadException(layersKey + " is " + layers + ", more layers than the file's "
                    + file.tensorInfos().size() + " tensors can hold");
        }
        int heads = positive(headsKey, required(md, headsKey));
        int kvHeads = positive(kvHeadsKey, md.getInt(kvHeadsKey, heads));
        if (heads % kvHeads != 0) {
            throw new ModelLoadException(headsKey + " " + heads + " is not a multiple of "
                    + kvHeadsKey + " " + kvHeads);
        }
        int headDim;
        if (md.contains(keyLengthKey)) {
            headDim = positive(keyLengthKey, md.getInt(keyLengthKey, 0));
            if (headDim % 2 != 0) {
                throw new ModelLoadException(keyLengthKey + " is " + headDim + ", odd: RoPE rotates pairs");
            }
        } else {
            if (dim % heads != 0) {
                throw new ModelLoadException(dimKey + " " + dim + " is not divisible by " + headsKey + " " + heads
                        + " (and there is no " + keyLengthKey + ")");
            }
            headDim = dim / heads;
            if (headDim % 2 != 0) {
                throw new ModelLoadException("the head size " + dimKey + " / " + headsKey + " = " + dim + " / " + heads
                        + " is odd: RoPE rotates pairs");
            }
        }
        if ((long) heads * headDim > Integer.MAX_VALUE) {
            throw new ModelLoadException(headsKey + " " + heads + " times the head size " + headDim + " overflows");
        }
        // Quire keeps one head size for K and V (llama.cpp allows them to differ; these architectures never do).
        int valueLength = md.getInt(valueLengthKey, headDim);
        if (valueLength != headDim) {
            throw new ModelLoadException(valueLengthKey + " " + valueLength + " differs from the key head size "
                    + headDim + ", which Quire does not support");
        }
        String ffnKey = arch + ".feed_forward_length";
        // A mixture of experts may give only the experts' size (qwen3moe's expert_feed_forward_length).
        String expertFfnKey = arch + ".expert_feed_forward_length";
        int ffn = positive(ffnKey, md.contains(ffnKey) || !md.contains(expertFfnKey) ? required(md, ffnKey)
                : md.getInt(expertFfnKey, 0));
        String ctxKey = arch + ".context_length";
        int ctx = positive(ctxKey, md.getInt(ctxKey, 2048));
        String epsKey = arch + ".attention.layer_norm_rms_epsilon";
        float eps = md.getFloat(epsKey, 1e-5f);
        if (!(eps >= 0) || Float.isInfinite(eps)) {
            throw new ModelLoadException(epsKey + " is " + eps + ", not a finite number >= 0");
        }
        float theta = positiveFinite(arch + ".rope.freq_base", md.getFloat(arch + ".rope.freq_base", 10000f));
        String scaling = md.getString(arch + ".rope.scaling.type", "none");
        float linear = 1f;
        switch (scaling) {
            case "none" -> { }
            case "linear" -> {
                String factorKey = arch + ".rope.scaling.factor";
                linear = positiveFinite(factorKey, md.getFloat(factorKey, 1f));
            }
            default -> throw new ModelLoadException("unsupported RoPE scaling type '" + scaling
                    + "' (supported: none, linear, and Llama 3 rope_freqs)");
        }
        int ropeDims = md.getInt(arch + ".rope.dimension_count", headDim);
        if (ropeDims != headDim) {
            throw new ModelLoadException(arch + ".rope.dimension_count " + ropeDims + " differs from the head size "
                    + headDim + ": partial RoPE is not supported");
        }
        int vocab = vocabularySize(file);
        ArchitectureFeatures features = ArchitectureFeatures.read(md, arch, dim, heads, headDim, layers, ffn);
        if (features.isMoe()) positive(expertFfnKey, features.expertFfnDim());
        // llama.cpp's rope type: NORM (interleaved pairs) for llama only, NEOX (halves) for the others here.
        boolean neox = !arch.equals("llama");
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, ctx, eps, theta, linear, neox,
                arch.equals("qwen2"), features);
    }

    /** Tokens in the vocabulary, which the embedding must have one row for each of. */
    private static int vocabularySize(GgufFile file) {
        String[] tokens = file.metadata().getStringArray("tokenizer.ggml.tokens");
        boolean embedded = file.hasTensor("token_embd.weight");
        if (tokens == null) {
            if (!embedded) {
                throw new ModelLoadException(
                        "cannot tell the vocabulary size: no tokenizer.ggml.tokens and no token_embd.weight");
            }
            return file.tensor("token_embd.weight").rows();
        }
        if (tokens.length == 0) throw new ModelLoadException("tokenizer.ggml.tokens is empty");
        int rows = embedded ? file.tensor("token_embd.weight").rows() : tokens.length;
        if (rows != tokens.length) {
            throw new ModelLoadException("tokenizer.ggml.tokens has " + tokens.length
                    + " tokens but token_embd.weight has " + rows + " rows (one per token)");
        }
        return tokens.length;
    }

    private static int required(GgufMetadata md, String key) {
        if (!md.contains(key)) throw new ModelLoadException("the model file lacks the required metadata key " + key);
        return md.getInt(key, 0);
    }

    private static int positive(String key, int value) {
        if (value <= 0) throw new ModelLoadException(key + " is " + value + "; it must be at least 1");
        return value;
    }

    private static float positiveFinite(String key, float value) {
        if (!(value > 0) || Float.isInfinite(value)) {
            throw new ModelLoadException(key + " is " + value + ", not a finite number > 0");
        }
        return value;
    }

    private static final long READ_CHUNK = 16L << 20;

    /** Brings every page of the file into memory, a chunk at a time, reporting after each. */
    private static void readAhead(GgufFile file, LoadProgress progress) {
        MemorySegment all = file.segment();
        long size = all.byteSize();
        progress.read(0, size);
        for (long at = 0; at < size; at += READ_CHUNK) {
            long len = Math.min(READ_CHUNK, size - at);
            all.asSlice(at, len).load();
            progress.read(at + len, size);
        }
    }

    /** Fetches a weight and checks its type and shape ({cols, rows} in GGUF order). */
    static Tensor weight(GgufFile file, String name, long... shape) {
        return weight(TensorSource.of(file), name, shape);
    }

    /** As {@link #weight(GgufFile, String, long...)}, from any source; errors name the source's tensor. */
    static Tensor weight(TensorSource file, String name, long... shape) {
        if (!file.hasTensor(name)) {
            throw new ModelLoadException("the model file lacks the tensor " + file.describe(name));
        }
        Tensor t = file.tensor(name);
        if (!t.type().isComputeSupported() && !t.type().isRepacked()) {
            throw new ModelLoadException("tensor " + file.describe(name) + " has type " + t.type()
                    + ", which Quire cannot compute with (supported: " + TensorType.supportedList() + ")");
        }
        long[] actual = t.shape();
        boolean ok = actual.length == shape.length
                || (actual.length > shape.length && trailingOnes(actual, shape.length));
        for (int i = 0; ok && i < shape.length; i++) ok = actual[i] == shape[i];
        if (!ok) {
            throw new ModelLoadException("tensor " + file.describe(name) + " has shape " + Arrays.toString(actual)
                    + ", expected "
                    + Arrays.toString(shape));
        }
        return t;
    }

    private static boolean trailingOnes(long[] shape, int from) {
        for (int i = from; i < shape.length; i++) if (shape[i] != 1) return false;
        return true;
    }
}
