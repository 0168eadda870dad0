package io.quire.model.gguf;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class GgufWriterTest {
    @TempDir Path tmp;

    @Test
    void everyMetadataTypeRoundTrips() throws Exception {
        GgufWriter w = new GgufWriter();
        Map<String, GgufMetadata.Entry> in = new java.util.LinkedHashMap<>();
        in.put("u8", new GgufMetadata.Entry(GgufValueType.UINT8, null, 250));
        in.put("i8", new GgufMetadata.Entry(GgufValueType.INT8, null, -100));
        in.put("u16", new GgufMetadata.Entry(GgufValueType.UINT16, null, 65000));
        in.put("i16", new GgufMetadata.Entry(GgufValueType.INT16, null, -30000));
        in.put("u32", new GgufMetadata.Entry(GgufValueType.UINT32, null, 4_000_000_000L));
        in.put("i32", new GgufMetadata.Entry(GgufValueType.INT32, null, -2_000_000_000));
        in.put("f32", new GgufMetadata.Entry(GgufValueType.FLOAT32, null, 1.5f));
        in.put("bool", new GgufMetadata.Entry(GgufValueType.BOOL, null, true));
        in.put("str", new GgufMetadata.Entry(GgufValueType.STRING, null, "héllo ▁ 🦙"));
        in.put("u64", new GgufMetadata.Entry(GgufValueType.UINT64, null, 1L << 40));
        in.put("i64", new GgufMetadata.Entry(GgufValueType.INT64, null, -(1L << 40)));
        in.put("f64", new GgufMetadata.Entry(GgufValueType.FLOAT64, null, Math.PI));
        in.put("ints", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.INT32, new int[] {1, -2, 3}));
        in.put("floats", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.FLOAT32, new float[] {0.5f, -1f}));
        in.put("strs", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.STRING, new String[] {"a", "", "ü"}));
        in.put("bools", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.BOOL, new boolean[] {true, false}));
        in.put("u64s", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.UINT64, new long[] {1L << 50}));
        in.put("f64s", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.FLOAT64, new double[] {2.25}));
        in.put("nested", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.ARRAY, new Object[] {
                new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.INT32, new int[] {7, 8})}));
        in.forEach(w::put);
        Path p = tmp.resolve("meta.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            GgufMetadata md = f.metadata();
            assertThat(md.entries().keySet()).containsExactlyElementsOf(in.keySet());
            for (String key : in.keySet()) {
                if (key.equals("nested")) continue;
                assertThat(md.entries().get(key).type()).as(key).isEqualTo(in.get(key).type());
                assertThat(md.get(key)).as(key).isEqualTo(in.get(key).value());
            }
            Object[] nested = (Object[]) md.get("nested");
            assertThat(((GgufMetadata.Entry) nested[0]).value()).isEqualTo(new int[] {7, 8});
        }
    }

    @Test
    void quantizedTensorsLoadBack() throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        float[] values = new float[64 * 8];
        for (int i = 0; i < values.length; i++) values[i] = (float) r.nextGaussian();
        GgufWriter w = new GgufWriter();
        for (TensorType t : new TensorType[] {TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q8_0,
                TensorType.Q4_0}) {
            w.addTensor("w." + t, t, new long[] {64, 8}, Quant.quantize(t, values));
        }
        Path p = tmp.resolve("q.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            for (TensorType t : new TensorType[] {TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q8_0,
                    TensorType.Q4_0}) {
                Tensor tensor = f.tensor("w." + t);
                assertThat(tensor.type()).isEqualTo(t);
                assertThat(tensor.shape()).containsExactly(64, 8);
                assertThat(tensor.data().toArray(ValueLayout.JAVA_BYTE))
                        .isEqualTo(Quant.quantize(t, values).toArray(ValueLayout.JAVA_BYTE));
                float[] back = Quant.dequantize(tensor);
                double tolerance = t == TensorType.Q4_0 ? 0.5 : t == TensorType.Q8_0 ? 0.05 : 0.02;
                for (int i = 0; i < values.length; i++) assertThat((double) back[i])
                        .isCloseTo(values[i], org.assertj.core.api.Assertions.within(tolerance));
            }
            assertThat(f.tensorInfos().values()).allMatch(i -> (i.offset() - f.dataStart()) % 32 == 0);
        }
    }
}
