package io.quire.backend.cuda;

import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Run by {@link CudaPlumbingTest} in its own JVM against the stub libcuda.so.1: every host-side
 * path of the backend that does not need a real kernel. Exits 0 and prints "plumbing ok", or
 * throws.
 */
public final class StubPlumbingMain {
    private StubPlumbingMain() {}

    static void expect(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) {
        expect(Cuda.available(), "stub device available: " + Cuda.unavailableReason());
        CudaDevice d = Cuda.device();
        expect(d.name().equals("Stub GPU") && d.computeCapability() == 90 && d.multiprocessors() == 132, d.describe());
        expect(d.memoryInfo()[0] == 1L << 30, "memory info");

        float[] x = new float[100_000];
        for (int i = 0; i < x.length; i++) x[i] = i * 0.5f;
        DeviceBuffer b = d.upload(x);
        expect(Arrays.equals(x, d.downloadFloats(b, x.length)), "heap round trip");
        d.fill32(b, 0x7fc00000, 10);
        float[] z = d.downloadFloats(b, 11);
        expect(Float.isNaN(z[9]) && z[10] == 5f, "fill32");
        DeviceBuffer c = d.alloc(400);
        d.copy(b, 40, c, 0, 400);
        d.synchronize();
        expect(d.downloadFloats(c, 100)[0] == 5f, "device-to-device copy");
        float[] big = new float[20_000_000];  // 80 MB: more than one staging chunk
        for (int i = 0; i < big.length; i += 997) big[i] = i;
        DeviceBuffer bb = d.upload(big);
        expect(Arrays.equals(big, d.downloadFloats(bb, big.length)), "chunked round trip");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4000);
            for (int i = 0; i < 1000; i++) seg.setAtIndex(ValueLayout.JAVA_INT, i, i * 3);
            DeviceBuffer nb = d.alloc(4000);
            d.upload(seg, nb, 0);
            MemorySegment back = arena.allocate(4000);
            d.download(nb, 0, back);
            expect(back.mismatch(seg) == -1, "native segment round trip");
        }

        try (CudaKvCache kv = new CudaKvCache(d, new KvCacheSpec(16, 2, 2, 8, TensorType.F16), 6, 4)) {
            int n = (int) kv.layerStride();
            float[][] k = new float[2][n], v = new float[2][n];
            for (int l = 0; l < 2; l++) {
                for (int i = 0; i < n; i++) {
                    k[l][i] = Float.float16ToFloat(Float.floatToFloat16((float) Math.sin(i + l)));
                    v[l][i] = Float.float16ToFloat(Float.floatToFloat16((float) Math.cos(3 * i + l)));
                }
                kv.uploadLayer(l, k[l], v[l]);
            }
            expect(Arrays.equals(kv.keysAsFloats(1), k[1]) && Arrays.equals(kv.valuesAsFloats(0), v[0]),
                    "KV layer round trip");
            kv.swapOut(new int[] {5, 2}, new int[] {1, 3});
            kv.swapIn(new int[] {1, 3}, new int[] {0, 4});
            int bh = kv.blockHalves();
            for (int l = 0; l < 2; l++) {
                float[] ek = k[l].clone();
                System.arraycopy(k[l], 5 * bh, ek, 0, bh);
                System.arraycopy(k[l], 2 * bh, ek, 4 * bh, bh);
                expect(Arrays.equals(kv.keysAsFloats(l), ek), "swap out and in, layer " + l);
                expect(Arrays.equals(kv.swapKeysAsFloats(l, 1), Arrays.copyOfRange(k[l], 5 * bh, 6 * bh)),
                        "swap space, layer " + l);
            }
            kv.copyBlock(1, 2);  // a launch of copy_blocks: the stub prints it
        }
        expect(CudaKvCache.blocksFor(d, 0.5, 0,
                new KvCacheSpec(16, 1, 1, 64, TensorType.F16)) == (1 << 29) / (2 * 16 * 64 * 2), "blocksFor");

        CudaKernels ks = d.kernels();
        ks.add(0x1111L, 0x2222L, 1234L);
        ks.rmsNorm(0xaL, 0xbL, 0xcL, 0, 7, 4096, 1e-5f);
        ks.attentionPrefill(0x1L, 0x2L, 8 * 256 + 2 * 256, 0x3L, 0x4L, 0x5L, 0x6L, 3, 0, 0, 0, 1, 32, 8, 256, 16, 0.1f);
        expect(d.time(() -> {}) == 1.5f, "event timing");
        expect(d.moduleSources().values().stream().allMatch("cubin"::equals)
                || d.moduleSources().values().stream().allMatch("nvrtc"::equals),
                "modules " + d.moduleSources());
        System.out.println("plumbing ok " + d.moduleSources());
    }
}
