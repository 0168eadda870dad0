import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * What one core does with the Vector API's 16-bit products alone: the inner loop of the quantized
 * kernels (a weight broadcast into 32 short lanes, times a vector of them, added to a short sum), with
 * nothing around it, all in L1. It bounds what the kernels could reach, and it asks whether float FMAs
 * interleaved with the 16-bit products run beside them on other pipes (they do not, here).
 *
 *   java --add-modules jdk.incubator.vector src/bench/ShortProducts.java
 *
 * Prints multiply-adds per second (a short lane's product and sum count as one) for four and eight
 * rows at a time, float FMAs alone (16 lanes), and both in one loop; the last rounds count, the first
 * ones run before C2 has compiled the loops. One thread: run it on a quiet machine.
 */
public class ShortProducts {
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int COLS = 256;
    static final short[] XS = new short[COLS * 32];
    static final float[] XF = new float[COLS * 16];
    static final short[] WS = new short[COLS * 8];
    static final float[] WF = new float[COLS * 8];

    static long rows4(int reps) {
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < reps; k++) {
            for (int c = 0; c < COLS; c++) {
                ShortVector v = ShortVector.fromArray(S, XS, c * 32);
                int b = c * 8;
                a0 = ShortVector.broadcast(S, WS[b]).mul(v).add(a0);
                a1 = ShortVector.broadcast(S, WS[b + 1]).mul(v).add(a1);
                a2 = ShortVector.broadcast(S, WS[b + 2]).mul(v).add(a2);
                a3 = ShortVector.broadcast(S, WS[b + 3]).mul(v).add(a3);
            }
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    static long rows8(int reps) {
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int k = 0; k < reps; k++) {
            for (int c = 0; c < COLS; c++) {
                ShortVector v = ShortVector.fromArray(S, XS, c * 32);
                int b = c * 8;
                a0 = ShortVector.broadcast(S, WS[b]).mul(v).add(a0);
                a1 = ShortVector.broadcast(S, WS[b + 1]).mul(v).add(a1);
                a2 = ShortVector.broadcast(S, WS[b + 2]).mul(v).add(a2);
                a3 = ShortVector.broadcast(S, WS[b + 3]).mul(v).add(a3);
                a4 = ShortVector.broadcast(S, WS[b + 4]).mul(v).add(a4);
                a5 = ShortVector.broadcast(S, WS[b + 5]).mul(v).add(a5);
                a6 = ShortVector.broadcast(S, WS[b + 6]).mul(v).add(a6);
                a7 = ShortVector.broadcast(S, WS[b + 7]).mul(v).add(a7);
            }
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
    }

    static float floats(int reps) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int k = 0; k < reps; k++) {
            for (int c = 0; c < COLS; c++) {
                FloatVector v = FloatVector.fromArray(F, XF, c * 16);
                int b = c * 8;
                a0 = FloatVector.broadcast(F, WF[b]).fma(v, a0);
                a1 = FloatVector.broadcast(F, WF[b + 1]).fma(v, a1);
                a2 = FloatVector.broadcast(F, WF[b + 2]).fma(v, a2);
                a3 = FloatVector.broadcast(F, WF[b + 3]).fma(v, a3);
                a4 = FloatVector.broadcast(F, WF[b + 4]).fma(v, a4);
                a5 = FloatVector.broadcast(F, WF[b + 5]).fma(v, a5);
                a6 = FloatVector.broadcast(F, WF[b + 6]).fma(v, a6);
                a7 = FloatVector.broadcast(F, WF[b + 7]).fma(v, a7);
            }
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
    }

    /** Per column eight rows of 16-bit products (32 lanes) and four rows of float FMAs (16 lanes). */
    static float mixed(int reps) {
        ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector f0 = FloatVector.zero(F), f1 = f0, f2 = f0, f3 = f0;
        for (int k = 0; k < reps; k++) {
            for (int c = 0; c < COLS; c++) {
                ShortVector v = ShortVector.fromArray(S, XS, c * 32);
                FloatVector u = FloatVector.fromArray(F, XF, c * 16);
                int b = c * 8;
                a0 = ShortVector.broadcast(S, WS[b]).mul(v).add(a0);
                a1 = ShortVector.broadcast(S, WS[b + 1]).mul(v).add(a1);
                f0 = FloatVector.broadcast(F, WF[b]).fma(u, f0);
                a2 = ShortVector.broadcast(S, WS[b + 2]).mul(v).add(a2);
                a3 = ShortVector.broadcast(S, WS[b + 3]).mul(v).add(a3);
                f1 = FloatVector.broadcast(F, WF[b + 1]).fma(u, f1);
                a4 = ShortVector.broadcast(S, WS[b + 4]).mul(v).add(a4);
                a5 = ShortVector.broadcast(S, WS[b + 5]).mul(v).add(a5);
                f2 = FloatVector.broadcast(F, WF[b + 2]).fma(u, f2);
                a6 = ShortVector.broadcast(S, WS[b + 6]).mul(v).add(a6);
                a7 = ShortVector.broadcast(S, WS[b + 7]).mul(v).add(a7);
                f3 = FloatVector.broadcast(F, WF[b + 3]).fma(u, f3);
            }
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD)
                + f0.add(f1).add(f2).add(f3).reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) {
        java.util.Random random = new java.util.Random(1);
        for (int i = 0; i < XS.length; i++) XS[i] = (short) (random.nextInt(255) - 127);
        for (int i = 0; i < WS.length; i++) WS[i] = (short) (random.nextInt(16) - 8);
        for (int i = 0; i < XF.length; i++) XF[i] = (float) random.nextGaussian();
        for (int i = 0; i < WF.length; i++) WF[i] = (float) random.nextGaussian();
        int reps = 2000;
        double sink = 0;
        double perRep = COLS * 32.0 / 1e9;  // G multiply-adds per rep and row of 32 short lanes
        for (int round = 0; round < 8; round++) {
            long t = System.nanoTime();
            sink += rows4(reps);
            double r4 = reps * perRep * 4 / ((System.nanoTime() - t) / 1e9);
            t = System.nanoTime();
            sink += rows8(reps);
            double r8 = reps * perRep * 8 / ((System.nanoTime() - t) / 1e9);
            t = System.nanoTime();
            sink += floats(reps);
            double f = reps * perRep / 2 * 8 / ((System.nanoTime() - t) / 1e9);
            t = System.nanoTime();
            sink += mixed(reps);
            double m = reps * (perRep * 8 + perRep / 2 * 4) / ((System.nanoTime() - t) / 1e9);
            System.out.printf("round %d, G multiply-adds/s: 16-bit 4 rows %.1f, 8 rows %.1f; float FMA 8 rows %.1f;"
                    + " 16-bit 8 rows with float 4 rows %.1f%n", round, r4, r8, f, m);
        }
        if (sink == 42) System.out.println();  // keeps the sums alive
    }
}
