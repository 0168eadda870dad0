package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufMetadata;
import io.quire.model.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A file of a newer architecture that lacks what the architecture needs is refused in one line
 * naming the tensor or key, never by a failure later in the forward pass (the reference fixtures,
 * each rewritten with one thing wrong).
 */
class ArchitectureLoadErrorsTest {
    @TempDir Path tmp;

    /** The fixture rewritten without the tensors {@code drop} matches, after {@code edit} on its metadata. */
    private Path broken(String fixture, Predicate<String> drop, Consumer<GgufWriter> edit) throws Exception {
        Path out = tmp.resolve(fixture + "-broken.gguf");
        try (GgufFile in = GgufFile.open(Path.of(getClass().getResource("/archs/" + fixture + ".gguf").toURI()))) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufMetadata.Entry> e : in.metadata().entries().entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
            edit.accept(w);
            for (String name : in.tensorInfos().keySet()) {
                if (drop.test(name)) continue;
                Tensor t = in.tensor(name);
                w.addTensor(name, t.type(), t.shape(), t.data());
            }
            w.write(out);
        }
        return out;
    }

    @Test
    void qwen3WithoutItsQueryNormNamesTheTensor() throws Exception {
        Path p = broken("qwen3", n -> n.equals("blk.1.attn_q_norm.weight"), w -> { });
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessage("the model file lacks the tensor blk.1.attn_q_norm.weight");
    }

    @Test
    void gemma2WithoutItsPostNormNamesTheTensor() throws Exception {
        Path p = broken("gemma2", n -> n.equals("blk.0.post_ffw_norm.weight"), w -> { });
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessage("the model file lacks the tensor blk.0.post_ffw_norm.weight");
    }

    @Test
    void phi3WithPartialRopeIsRefused() throws Exception {
        Path p = broken("phi3", n -> false, w -> w.putUInt32("phi3.rope.dimension_count", 12));
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessage("phi3.rope.dimension_count 12 differs from the head size 16: partial RoPE is not"
                        + " supported");
    }

    @Test
    void moreExpertsUsedThanThereAreIsRefused() throws Exception {
        Path p = broken("qwen3moe", n -> false, w -> w.putUInt32("qwen3moe.expert_used_count", 7));
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessage("qwen3moe.expert_used_count 7 must be 1..6 (qwen3moe.expert_count)");
    }

    @Test
    void mixtralWithOneTensorPerExpertNamesTheLayout() throws Exception {
        Path p = broken("mixtral", n -> n.contains("_exps"), w -> { });
        // Put a per-expert tensor where the old layout had it: blk.0.ffn_gate.0.weight.
        Path old = tmp.resolve("mixtral-old.gguf");
        try (GgufFile in = GgufFile.open(p);
             GgufFile src = GgufFile.open(Path.of(getClass().getResource("/archs/mixtral.gguf").toURI()))) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufMetadata.Entry> e : in.metadata().entries().entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
            for (String name : in.tensorInfos().keySet()) {
                Tensor t = in.tensor(name);
                w.addTensor(name, t.type(), t.shape(), t.data());
            }
            Tensor gate = LlamaWeights.rows(src.tensor("blk.0.ffn_gate_exps.weight"), 0, 48, 64);
            w.addTensor("blk.0.ffn_gate.0.weight", gate.type(), gate.shape(), gate.data());
            w.write(old);
        }
        assertThatThrownBy(() -> ModelLoader.load(old)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("stores its experts as separate tensors (blk.0.ffn_gate.0.weight")
                .hasMessageContaining("convert the model again with a current llama.cpp");
    }
}
