package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The in-register widening of F16 rows: every finite half, read both ways, exactly as the JDK widens it. */
class HalfRowsTest {
    private static final int N = 2 * Simd.L;  // one lane-order chunk

    @Test
    void everyFiniteHalfWidensExactlyInDotsAndWeightedSums() {
        short[] finite = new short[65536 - 2 * 1024];
        int n = 0;
        for (int bits = 0; bits < 65536; bits++) {
            if ((bits & 0x7c00) != 0x7c00) finite[n++] = (short) bits; // not an infinity or NaN
        }
        int headDim = N + 8; // a whole chunk and a natural-order tail
        int rows = (n + headDim - 1) / headDim;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * rows * headDim, 64);
            for (int i = 0; i < rows * headDim; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT, i, finite[i % n]);
            float[] q = new float[headDim], qp = new float[headDim];
            float[] acc = new float[headDim], got = new float[headDim];
            int[] rowOf = new int[rows];
            for (int r = 0; r < rows; r++) rowOf[r] = r * headDim;
            float[] p = new float[rows];
            for (int r = 0; r < rows; r++) {
                long row = seg.address() + 2L * r * headDim;
                for (int i = 0; i < headDim; i++) {
                    float expected = Float.float16ToFloat(finite[(r * headDim + i) % n]);
                    Arrays.fill(q, 0f);
                    q[i] = 1f;
                    HalfRows.permute(q, 0, qp, 0, headDim);
                    assertThat(HalfRows.dot(qp, 0, row, headDim)).as("row %d element %d", r, i).isEqualTo(expected);
                }
                // one row weighted by 1: the sum is the row itself
                Arrays.fill(p, 0f);
                p[r] = 1f;
                Arrays.fill(acc, 0f);
                HalfRows.addWeighted(p, 0, rowOf, r, r + 1, seg.address(), headDim, acc, 0);
                HalfRows.unpermute(acc, 0, got, 0, headDim);
                for (int i = 0; i < headDim; i++) {
                    assertThat(got[i]).as("row %d element %d", r, i)
                            .isEqualTo(Float.float16ToFloat(finite[(r * headDim + i) % n]));
                }
            }
        }
    }

    @Test
    void permuteAndUnpermuteAreInverses() {
        float[] a = new float[3 * N + 5], b = new float[a.length], c = new float[a.length];
        for (int i = 0; i < a.length; i++) a[i] = i;
        HalfRows.permute(a, 0, b, 0, a.length);
        assertThat(b[1]).isEqualTo(2f);         // evens first
        assertThat(b[Simd.L]).isEqualTo(1f);    // then odds
        assertThat(b[a.length - 1]).isEqualTo(a.length - 1f); // the tail stays in place
        HalfRows.unpermute(b, 0, c, 0, a.length);
        assertThat(c).containsExactly(a);
    }
}
