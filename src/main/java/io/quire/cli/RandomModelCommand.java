package io.quire.cli;

import io.quire.backend.TensorType;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;

import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code random-model --out PATH [--preset default|110m] [--vocab N] [--type F32|F16|BF16|Q8_0|Q4_0|Q4_K] [--seed N]}
 * (Q4_K: random blocks, Quire having no K-quant quantizer):
 * writes a random-weight model as a GGUF file (for benchmarks, and for peers such as llama.cpp's
 * server to load the very same weights).
 */
public final class RandomModelCommand {
    private RandomModelCommand() {}

    public static int run(String[] args) {
        Args a = new Args(args, 1);
        Path out = Path.of(a.require("--out"));
        ModelConfig config = switch (a.get("--preset", "default")) {
            case "default" -> RandomModels.DEFAULT;
            case "110m" -> RandomModels.LLAMA_110M;
            default -> throw new IllegalArgumentException("--preset must be default or 110m");
        };
        if (a.has("--vocab")) {
            // The 110M shape with a small vocabulary (512) is the benchmarks' 86M model: the matrix
            // products of the layers, not the output projection, set its speed.
            ModelConfig c = config;
            config = ModelConfig.llama(c.dim(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.ffnDim(),
                    Integer.parseInt(a.require("--vocab")), c.contextLength());
        }
        TensorType type = TensorType.valueOf(a.get("--type", "F32"));
        try {
            RandomModels.write(config, type, Long.parseLong(a.get("--seed", "0")), out);
        } catch (IOException e) {
            System.err.println("quire random-model: cannot write " + out + ": " + e.getMessage());
            return 1;
        }
        System.err.println("wrote " + out + " (" + config + ", " + type + ")");
        return 0;
    }
}
