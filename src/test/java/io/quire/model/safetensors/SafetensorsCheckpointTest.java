package io.quire.model.safetensors;

import io.quire.SharedFiles;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.model.HfCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsCheckpointTest {
    @TempDir Path tmp;

    @Test
    void anAlignedCopyHoldsTheSameTensorsOnSixtyFourByteBoundariesAndClosesTheMappings() throws Exception {
        // safetensors aligns tensor data to 8 bytes: in a mapping most tensors start off a 64-byte boundary
        Path dir = HfCheckpoints.write(SharedFiles.stories260K(), tmp.resolve("hf"), TensorType.BF16, 2, null);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertThat(ckpt.hasTensorsMisalignedTo(64)).isTrue();
            Map<String, byte[]> bytes = new HashMap<>();
            Map<String, long[]> shapes = new HashMap<>();
            Tensor before = null;
            for (SafetensorsFile f : ckpt.files()) {
                for (String name : f.entries().keySet()) {
                    Tensor t = ckpt.tensor(name);
                    bytes.put(name, t.data().toArray(ValueLayout.JAVA_BYTE));
                    shapes.put(name, t.shape());
                    before = t;
                }
            }
            assertThat(bytes).hasSizeGreaterThan(40);
            ckpt.alignTensors(64);
            assertThat(ckpt.hasTensorsMisalignedTo(64)).isFalse();
            for (String name : bytes.keySet()) {
                Tensor t = ckpt.tensor(name);
                assertThat(t.data().address() % 64).as(name).isZero();
                assertThat(t.shape()).as(name).isEqualTo(shapes.get(name));
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(name).isEqualTo(bytes.get(name));
            }
            // the mappings are gone: a tensor taken from them can no longer be read
            Tensor old = before;
            assertThatThrownBy(() -> old.data().get(ValueLayout.JAVA_BYTE, 0))
                    .isInstanceOf(IllegalStateException.class);
        }
    }
}
