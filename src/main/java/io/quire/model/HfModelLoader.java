package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cuda.CudaDevice;
import io.quire.backend.cuda.CudaDtype;
import io.quire.model.safetensors.SafetensorsCheckpoint;
import io.quire.model.safetensors.SafetensorsFile;
import io.quire.model.tokenizer.Tokenizer;
import io.quire.model.tokenizer.TokenizerJson;
import io.quire.model.tokenizer.Tokenizers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a Hugging Face model folder ({@code config.json}, {@code model.safetensors} or its shards,
 * {@code tokenizer.json}) into the same {@link LlamaModel} a GGUF file becomes: the config maps
 * onto {@link ModelConfig} ({@link HfConfig}), the weights stay memory-mapped in their stored type
 * (F32, F16 or BF16) and are found by their transformers names ({@link HfTensorNames}), and the
 * tokenizer is the GGUF one built from {@code tokenizer.json}. On the GPU the weights are uploaded
 * as a GGUF file's are.
 */
final class HfModelLoader {
    private static final Logger log = LoggerFactory.getLogger(HfModelLoader.class);

    private HfModelLoader() {}

    /** Whether {@code path} is a folder, which Quire reads as a Hugging Face checkpoint. */
    static boolean isModelDir(Path path) {
        return Files.isDirectory(path);
    }

    /** What the weights are read with: the config, the tokenizer and the generation defaults. */
    private record Parts(HfConfig hf, Tokenizer tokenizer, GenerationDefaults defaults) {}

    private static Parts parts(Path dir) throws IOException {
        HfConfig hf = HfConfig.read(dir);
        ModelConfig config = hf.config();
        if (!SafetensorsCheckpoint.present(dir)) {
            throw new ModelLoadException(dir + " has no weights: neither model.safetensors nor"
                    + " model.safetensors.index.json (pytorch_model.bin and other formats are not read)");
        }
        GenerationDefaults defaults = GenerationDefaults.read(dir);
        // generation_config.json's eos_token_id list (Llama 3: <|end_of_text|>, <|eom_id|>, <|eot_id|>)
        // ends generation too.
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizers.withEndOfGeneration(tokenizer(dir, config.vocabSize()), defaults.eosTokenIds());
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(GenerationDefaults.FILE_NAME + ": " + e.getMessage());
        }
        if (tokenizer.vocabSize() > config.vocabSize()) {
            throw new ModelLoadException("tokenizer.json has " + tokenizer.vocabSize() + " tokens but config.json"
                    + " vocab_size is " + config.vocabSize() + " (one embedding row per token)");
        }
        return new Parts(hf, tokenizer, defaults);
    }

    static LanguageModel<?> load(Path dir, String name, LoadProgress progress) throws IOException {
        Parts p = parts(dir);
        ModelConfig config = p.hf().config();
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
        try {
            if (progress != LoadProgress.NONE) readAhead(ckpt, progress);
            alignRows(ckpt);
            LlamaWeights weights = LlamaWeights.from(source(ckpt, p.hf().tiedEmbeddings(), config), config,
                    p.hf().ropeFactors());
            return new LlamaModel(name, config, weights, p.tokenizer(), ckpt, p.defaults());
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    /**
     * Copies the checkpoint's tensors into 64-byte-aligned memory where its mapping leaves them misaligned
     * (safetensors aligns data to 8 bytes) and most of its bytes are F32, as {@link ModelLoader} does for
     * an F32 GGUF file (an F32 folder of the 86M benchmark model decoded 1.1-1.2x faster from the copy; a
     * BF16 one slower, so 16-bit folders stay mapped). A copy that does not fit leaves the rest mapped.
     * {@code -Dquire.mmap-weights=true} keeps the mapping.
     */
    private static void alignRows(SafetensorsCheckpoint ckpt) {
        if (Boolean.getBoolean("quire.mmap-weights") || !ckpt.hasTensorsMisalignedTo(ModelLoader.ROW_ALIGNMENT)) {
            return;
        }
        long f32 = 0, total = 0;
        for (SafetensorsFile f : ckpt.files()) {
            for (SafetensorsFile.Entry e : f.entries().values()) {
                total += e.end() - e.begin();
                if (e.dtype().equals("F32")) f32 += e.end() - e.begin();
            }
        }
        if (f32 * 2 < total) return;
        try {
            ckpt.alignTensors(ModelLoader.ROW_ALIGNMENT);
            log.info("Weights copied into {}-byte-aligned memory: safetensors aligns its tensors to fewer bytes"
                    + " than a vector load reads", ModelLoader.ROW_ALIGNMENT);
        } catch (OutOfMemoryError e) {
            log.warn("Weights left mapped, some rows misaligned ({}): decoding is slower", e.getMessage());
        }
    }

    /**
     * The folder on the GPU, in {@code dtype} as {@link CudaLlamaModel#load} takes it: the weights
     * are uploaded, then the checkpoint's mapping is closed.
     */
    static LanguageModel<?> loadCuda(Path dir, String name, CudaDevice device, String dtype, LoadProgress progress)
            throws IOException {
        Parts p = parts(dir);
        ModelConfig config = p.hf().config();
        CudaLlamaModel.refuseUnsupported(config);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            if (progress != LoadProgress.NONE) readAhead(ckpt, progress);
            alignRows(ckpt);
            LlamaWeights weights = LlamaWeights.from(source(ckpt, p.hf().tiedEmbeddings(), config), config,
                    p.hf().ropeFactors());
            CudaDtype type = CudaDtype.parse(dtype, weights.layers()[0].wq().type());
            return new CudaLlamaModel(name, config, weights, p.tokenizer(), device, type, p.defaults());
        }
    }

    /** The model's config alone (what {@link ModelLoader#cudaRefusal} needs). */
    static ModelConfig readConfig(Path dir) throws IOException {
        return HfConfig.read(dir).config();
    }

    static Tokenizer tokenizer(Path dir, int vocabSize) throws IOException {
        try {
            return TokenizerJson.load(dir, vocabSize);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(e.getMessage());
        }
    }

    /** The chat template of the folder, or null. */
    static String chatTemplate(Path dir) throws IOException {
        try {
            return TokenizerJson.chatTemplate(dir);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(e.getMessage());
        }
    }

    /**
     * GGUF names over the checkpoint. Tied embeddings ({@code tie_word_embeddings}, or no
     * {@code lm_head.weight}) read as a file without {@code output.weight}, which LlamaWeights ties.
     */
    private static TensorSource source(SafetensorsCheckpoint ckpt, boolean tied, ModelConfig config) {
        return new TensorSource() {
            @Override
            public boolean hasTensor(String name) {
                if (tied && name.equals("output.weight")) return false;
                return resolve(name) != null && ckpt.has(resolve(name));
            }

            @Override
            public Tensor tensor(String name) { return ckpt.tensor(resolve(name)); }

            /**
             * The stored name: as transformers names a text model's tensor, or under a
             * vision-language model's text part (Gemma 3: {@code language_model.model.*} in older
             * checkpoints, {@code model.language_model.*} in newer ones).
             */
            private String resolve(String name) {
                String hf = HfTensorNames.of(name, config);
                if (hf == null || ckpt.has(hf)) return hf;
                for (String alt : new String[] {"language_model." + hf, hf.replaceFirst("^model\\.",
                        "model.language_model.")}) {
                    if (ckpt.has(alt)) return alt;
                }
                return hf;
            }

            @Override
            public boolean expertsSeparate() { return true; }

            @Override
            public float normShift() { return config.features().postNorms() ? HfGemma.NORM_SHIFT : 0f; }

            @Override
            public String describe(String name) {
                String hf = HfTensorNames.of(name, config);
                return hf == null ? name : hf;
            }
        };
    }

    private static final long READ_CHUNK = 16L << 20;

    private static void readAhead(SafetensorsCheckpoint ckpt, LoadProgress progress) {
        long total = 0, done = 0;
        for (SafetensorsFile f : ckpt.files()) total += f.segment().byteSize();
        progress.read(0, total);
        for (SafetensorsFile f : ckpt.files()) {
            MemorySegment all = f.segment();
            for (long at = 0; at < all.byteSize(); at += READ_CHUNK) {
                long len = Math.min(READ_CHUNK, all.byteSize() - at);
                all.asSlice(at, len).load();
                done += len;
                progress.read(done, total);
            }
        }
    }
}
