package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The FP8 KV cache formats: every code read exactly (scalar and in {@link Fp8Rows}' vector lanes),
 * against the OCP definition written out here independently, and writes rounded to the nearest
 * code, ties to even, clamped to the largest finite value.
 */
class Fp8Test {
    private static final int N = 4 * Simd.L;  // one lane-order chunk

    /** e4m3 (4 exponent bits) or e5m2 (5). */
    private static Fp8 format(int exponentBits) {
        return exponentBits == 4 ? Fp8.E4M3 : Fp8.E5M2;
    }

    /** The OCP value of code b: sign, biased exponent, mantissa; null for NaN and infinity codes. */
    private static Float reference(int exponentBits, int b) {
        int mantissaBits = 7 - exponentBits, bias = (1 << (exponentBits - 1)) - 1;
        int e = (b >> mantissaBits) & ((1 << exponentBits) - 1), m = b & ((1 << mantissaBits) - 1);
        if (exponentBits == 4 && e == 15 && m == 7) return null;   // e4m3: only S.1111.111 is NaN
        if (exponentBits == 5 && e == 31) return null;             // e5m2: infinities and NaN, as FP16
        double magnitude = e == 0 ? m * Math.pow(2, 1 - bias - mantissaBits)
                : (1 + m / (double) (1 << mantissaBits)) * Math.pow(2, e - bias);
        return (float) ((b & 0x80) != 0 ? -magnitude : magnitude);
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void everyFiniteCodeReadsAsItsValueAndWritesBackToItself(int exponentBits) {
        Fp8 f = format(exponentBits);
        int finite = 0;
        for (int b = 0; b < 256; b++) {
            Float want = reference(exponentBits, b);
            if (want == null) continue;
            finite++;
            assertThat(Float.floatToIntBits(f.decode((byte) b))).as("code %02x", b).isEqualTo(Float.floatToIntBits(want));
            assertThat(f.encode(want) & 0xff).as("code %02x", b).isEqualTo(b);
        }
        assertThat(finite).isEqualTo(exponentBits == 4 ? 254 : 248);
        assertThat(f.decode(f.encode(Float.MAX_VALUE))).isEqualTo(exponentBits == 4 ? 448f : 57344f);
        assertThat(f.decode(f.encode(Float.NEGATIVE_INFINITY))).isEqualTo(exponentBits == 4 ? -448f : -57344f);
        assertThat(f.decode(f.encode(Float.NaN))).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void writesRoundToTheNearestCodeTiesToEven(int exponentBits) {
        Fp8 f = format(exponentBits);
        float max = exponentBits == 4 ? 448f : 57344f;
        float[] codes = new float[256];
        for (int b = 0; b < 256; b++) {
            Float v = reference(exponentBits, b);
            codes[b] = v == null ? Float.NaN : v;
        }
        Random random = new Random(8);
        for (int i = 0; i < 200_000; i++) {
            // magnitudes across the whole range, subnormals included, and exact midpoints between codes
            float x = i % 4 == 0 ? midpoint(codes, random) : (float) ((random.nextBoolean() ? 1 : -1)
                    * Math.pow(2, random.nextDouble() * (Math.getExponent(max) + 24) - 22));
            float got = f.decode(f.encode(x));
            float clamped = Math.max(-max, Math.min(max, x));
            double best = Double.MAX_VALUE;
            for (float c : codes) if (!Float.isNaN(c)) best = Math.min(best, Math.abs((double) c - clamped));
            assertThat(Math.abs((double) got - clamped)).as("x = %s", x).isEqualTo(best);
            if (Math.abs((double) got - clamped) == best && isTie(codes, clamped, best)) {
                assertThat(f.encode(x) & 1).as("tie at %s goes to the even code", x).isZero();
            }
        }
    }

    private static float midpoint(float[] codes, Random random) {
        int b = random.nextInt(0x7e);
        float a = codes[b], c = codes[b + 1];
        return Float.isNaN(a) || Float.isNaN(c) ? 0f : (a + c) / 2;
    }

    private static boolean isTie(float[] codes, float x, double best) {
        int n = 0;
        for (float c : codes) if (!Float.isNaN(c) && Math.abs((double) c - x) == best && c != 0) n++;
        return n == 2;
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void rowsAreWrittenWithTheSameBitsAsOneValueAtATime(int exponentBits) {
        Fp8 f = format(exponentBits);
        Random random = new Random(exponentBits);
        float[] specials = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
                Float.MAX_VALUE, -Float.MAX_VALUE, 448f, 464f, -480f, 57344f, 61440f, 0x1p-6f, 0x1p-9f, 0x1p-10f,
                0x1p-14f, 0x1p-16f, 0x1p-17f, 3 * 0x1p-11f};
        for (int round = 0; round < 2000; round++) {
            int n = 1 + random.nextInt(3 * Simd.L + 3), off = random.nextInt(5);
            float[] src = new float[off + n];
            for (int i = 0; i < src.length; i++) {
                src[i] = random.nextInt(8) == 0 ? specials[random.nextInt(specials.length)]
                        : (float) ((random.nextBoolean() ? 1 : -1) * Math.pow(2, random.nextDouble() * 44 - 26));
            }
            byte[] got = new byte[n + 2];
            f.encode(src, off, got, 1, n);
            for (int i = 0; i < n; i++) {
                assertThat(got[1 + i]).as("%s", src[off + i]).isEqualTo(f.encode(src[off + i]));
            }
            assertThat(got[0]).isZero();
            assertThat(got[n + 1]).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void everyFiniteCodeReadsExactlyInDotsAndWeightedSums(int exponentBits) {
        Fp8 f = format(exponentBits);
        byte[] finite = new byte[256];
        int n = 0;
        for (int b = 0; b < 256; b++) if (reference(exponentBits, b) != null) finite[n++] = (byte) b;
        int headDim = N + 5; // a whole chunk and a natural-order tail
        int rows = (n + headDim - 1) / headDim;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) rows * headDim, 64);
            for (int i = 0; i < rows * headDim; i++) seg.set(ValueLayout.JAVA_BYTE, i, finite[i % n]);
            float[] q = new float[headDim], qp = new float[headDim];
            float[] acc = new float[headDim], got = new float[headDim];
            int[] rowOf = new int[rows];
            for (int r = 0; r < rows; r++) rowOf[r] = r * headDim;
            float[] p = new float[rows];
            for (int r = 0; r < rows; r++) {
                long row = seg.address() + (long) r * headDim;
                for (int i = 0; i < headDim; i++) {
                    float expected = reference(exponentBits, finite[(r * headDim + i) % n] & 0xff);
                    Arrays.fill(q, 0f);
                    q[i] = 1f;
                    Fp8Rows.permute(q, 0, qp, 0, headDim, Fp8Rows.queryScale(f));
                    assertThat(Fp8Rows.dot(f, qp, 0, row, headDim) * Fp8Rows.dotScale(f))
                            .as("row %d element %d", r, i).isEqualTo(expected);
                }
                Arrays.fill(p, 0f);
                p[r] = 1f;
                Arrays.fill(acc, 0f);
                Fp8Rows.addWeighted(f, p, 0, rowOf, r, r + 1, seg.address(), headDim, acc, 0);
                Fp8Rows.unpermute(acc, 0, got, 0, headDim);
                for (int i = 0; i < headDim; i++) {
                    // 0 + 1 * -0 is +0: the sums start from zero
                    assertThat(got[i]).as("row %d element %d", r, i)
                            .isEqualTo((float) reference(exponentBits, finite[(r * headDim + i) % n] & 0xff));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void permuteAndUnpermuteAreInverses(int factor) {
        float[] a = new float[3 * N + 5], b = new float[a.length], c = new float[a.length];
        for (int i = 0; i < a.length; i++) a[i] = i;
        Fp8Rows.permute(a, 0, b, 0, a.length, factor);
        assertThat(b[1]).isEqualTo(4f * factor);               // lane 1 of slice 0 is element 4
        assertThat(b[Simd.L]).isEqualTo(1f * factor);          // slice 1 starts at element 1
        assertThat(b[a.length - 1]).isEqualTo((a.length - 1f) * factor); // the tail stays in place
        for (int i = 0; i < b.length; i++) b[i] /= factor;
        Fp8Rows.unpermute(b, 0, c, 0, a.length);
        assertThat(c).containsExactly(a);
    }
}
