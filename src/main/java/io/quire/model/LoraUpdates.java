package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cpu.Quant;
import io.quire.model.LoraAdapter.Module;

import java.nio.file.Path;
import java.util.Set;

/**
 * An adapter's updates as its file's reader finds them, checked against the base model's shapes and
 * put in the base's layout: B transposed, fused modules split, q/k rows in the base's RoPE order.
 */
final class LoraUpdates {
    private static final Set<String> MLP = Set.of("gate_proj", "up_proj", "down_proj", "gate_up_proj");

    private final String name;
    private final ModelConfig c;
    private final LoraAdapter.Update[][] updates;  // [layer][module], null where not adapted
    private int maxRank;

    LoraUpdates(String name, ModelConfig c) {
        this.name = name;
        this.c = c;
        this.updates = new LoraAdapter.Update[c.numLayers()][Module.values().length];
    }

    /** The adapter of the updates added, read from {@code path}; refused when there were none. */
    LoraAdapter adapter(Path path) {
        if (maxRank == 0) throw new ModelLoadException("LoRA adapter " + name + ": " + path + " holds no LoRA tensors");
        return new LoraAdapter(name, path, updates, maxRank);
    }

    /**
     * Adds the update of one PEFT module of layer {@code layerIndex} (split into Quire's projections if
     * fused), its q/k rows in interleaved RoPE pairs when {@code interleaved}, else in transformers'
     * rotate-half order, and reordered to the base's.
     */
    void add(int layerIndex, String module, Tensor aTensor, Tensor bTensor, float scale, boolean interleaved) {
        if (layerIndex >= c.numLayers()) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + aTensor.name() + " is for layer " + layerIndex
                    + ", but the model has " + c.numLayers());
        }
        if (c.features().isMoe() && MLP.contains(module)) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + aTensor.name() + " adapts the feed-forward"
                    + " of a mixture of experts, which Quire does not apply adapters to");
        }
        LoraAdapter.Update[] layer = updates[layerIndex];
        int rank = aTensor.rows(), in = aTensor.cols();
        if (bTensor.cols() != rank || aTensor.shape().length != 2 || bTensor.shape().length != 2) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + aTensor.name() + " and " + bTensor.name()
                    + " are not [r, in] and [out, r] matrices of one rank r");
        }
        float[] a = Quant.dequantize(aTensor), b = Quant.dequantize(bTensor);
        int dim = c.dim(), q = c.qDim(), kv = c.kvDim(), ffn = c.ffnDim();
        // {module, first row of B, rows, input width} of each projection this PEFT module updates
        int[][] parts = switch (module) {
            case "q_proj" -> new int[][] {{Module.Q.ordinal(), 0, q, dim}};
            case "k_proj" -> new int[][] {{Module.K.ordinal(), 0, kv, dim}};
            case "v_proj" -> new int[][] {{Module.V.ordinal(), 0, kv, dim}};
            case "o_proj" -> new int[][] {{Module.O.ordinal(), 0, dim, q}};
            case "gate_proj" -> new int[][] {{Module.GATE.ordinal(), 0, ffn, dim}};
            case "up_proj" -> new int[][] {{Module.UP.ordinal(), 0, ffn, dim}};
            case "down_proj" -> new int[][] {{Module.DOWN.ordinal(), 0, dim, ffn}};
            case "qkv_proj" -> new int[][] {{Module.Q.ordinal(), 0, q, dim}, {Module.K.ordinal(), q, kv, dim},
                    {Module.V.ordinal(), q + kv, kv, dim}};
            case "gate_up_proj" -> new int[][] {{Module.GATE.ordinal(), 0, ffn, dim},
                    {Module.UP.ordinal(), ffn, ffn, dim}};
            default -> throw new IllegalStateException(module);
        };
        int[] lastPart = parts[parts.length - 1];
        int rows = lastPart[1] + lastPart[2];
        if (in != parts[0][3] || bTensor.rows() != rows) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + module + " adapts a " + in + " -> "
                    + bTensor.rows() + " projection where the model's is " + parts[0][3] + " -> " + rows
                    + " (an adapter for another model?)");
        }
        for (int[] part : parts) {
            Module m = Module.values()[part[0]];
            if (layer[part[0]] != null) {
                throw new ModelLoadException("LoRA adapter " + name + ": " + m.name().toLowerCase()
                        + " is adapted twice in one layer");
            }
            layer[part[0]] = update(m, a, b, part[1], part[2], rank, in, scale, interleaved, !c.ropeNeox(),
                    c.headDim());
        }
        maxRank = Math.max(maxRank, rank);
    }

    /** B's rows {@code from .. from+out-1} with A, as {@code module}'s update. */
    private static LoraAdapter.Update update(Module module, float[] a, float[] b, int from, int out, int rank, int in,
            float scale, boolean fromInterleaved, boolean toInterleaved, int hd) {
        // Interleaved RoPE pairs (a llama GGUF): row 2i+j of a head is rotate-half row j*hd/2+i.
        boolean rope = module == Module.Q || module == Module.K;
        boolean permute = rope && toInterleaved && !fromInterleaved;
        boolean unpermute = rope && fromInterleaved && !toInterleaved;
        float[] bt = new float[rank * out];
        for (int o = 0; o < out; o++) {
            int src = o;
            int within = o % hd;
            if (permute) src = o - within + (within % 2) * (hd / 2) + within / 2;
            if (unpermute) src = o - within + 2 * (within % (hd / 2)) + within / (hd / 2);
            for (int k = 0; k < rank; k++) bt[k * out + o] = b[(from + src) * rank + k];
        }
        return new LoraAdapter.Update(rank, in, out, a, bt, scale);
    }
}
