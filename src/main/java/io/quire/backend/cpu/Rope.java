package io.quire.backend.cpu;

/**
 * Rotary position embedding with precomputed cos/sin tables.
 *
 * <p>Pair i of a head rotates by angle {@code (p / linearScale) * theta^(-2i/headDim) / freqFactors[i]}.
 * {@code neox = false} pairs (x[2i], x[2i+1]) (llama.cpp's NORM mode; Llama weights in GGUF are
 * permuted for it); {@code neox = true} pairs (x[i], x[i + headDim/2]) (Qwen2 and GPT-NeoX).
 */
public final class Rope {
    private final int headDim;
    private final int half;
    private final int maxPositions;
    private final boolean neox;
    private final float[] cos;  // [position][half]
    private final float[] sin;

    public Rope(int headDim, int maxPositions, float theta, float linearScale, float[] freqFactors, boolean neox) {
        this(headDim, maxPositions, theta, linearScale, freqFactors, neox, 1f);
    }

    /** @param attnFactor cos and sin are multiplied by it (llama.cpp's attn_factor: phi3's long-RoPE scale) */
    public Rope(int headDim, int maxPositions, float theta, float linearScale, float[] freqFactors, boolean neox,
            float attnFactor) {
        this(headDim, maxPositions, theta, linearScale, freqFactors, null, Integer.MAX_VALUE, neox, attnFactor);
    }

    /**
     * As above, but positions from {@code longFrom} on divide by {@code longFactors} instead
     * (Phi-3's long-RoPE: short factors inside the trained context, long ones beyond it).
     */
    public Rope(int headDim, int maxPositions, float theta, float linearScale, float[] freqFactors,
            float[] longFactors, int longFrom, boolean neox, float attnFactor) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("RoPE head dimension must be "
                + "positive and even, got " + headDim);
        if (maxPositions <= 0) throw new IllegalArgumentException("maxPositions must be positive, got " + maxPositions);
        if (!(theta > 0) || !(linearScale > 0)) throw new IllegalArgumentException("RoPE theta and linear scale must "
                + "be positive, got " + theta + " and " + linearScale);
        this.half = headDim / 2;
        if (longFactors != null && (freqFactors == null || longFactors.length < half)) {
            throw new IllegalArgumentException("RoPE long factors need " + half + " values and short ones beside them");
        }
        if (freqFactors != null && freqFactors.length < half) {
            throw new IllegalArgumentException("RoPE frequency factors have " + freqFactors.length + " values, need "
                    + half);
        }
        if ((long) maxPositions * half > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("RoPE table too "
                + "large: " + maxPositions + " positions");
        this.headDim = headDim;
        this.maxPositions = maxPositions;
        this.neox = neox;
        this.cos = new float[maxPositions * half];
        this.sin = new float[maxPositions * half];
        double[] freq = new double[half];
        double[] longFreq = new double[half];
        for (int i = 0; i < half; i++) {
            freq[i] = Math.pow(theta, -2.0 * i / headDim);
            longFreq[i] = longFactors == null ? freq[i] : freq[i] / longFactors[i];
            if (freqFactors != null) freq[i] /= freqFactors[i];
        }
        for (int p = 0; p < maxPositions; p++) {
            double pos = p / (double) linearScale;
            double[] f = p >= longFrom && longFactors != null ? longFreq : freq;
            for (int i = 0; i < half; i++) {
                double a = pos * f[i];
                cos[p * half + i] = (float) (Math.cos(a) * attnFactor);
                sin[p * half + i] = (float) (Math.sin(a) * attnFactor);
            }
        }
    }

    public int headDim() { return headDim; }
    public int maxPositions() { return maxPositions; }

    /** Rotates the {@code numHeads} heads stored at {@code x[offset ..]} for position {@code position}. */
    public void apply(float[] x, int offset, int numHeads, int position) {
        if (position < 0 || position >= maxPositions) {
            throw new IllegalArgumentException("position " + position + " is outside the RoPE table of " + maxPositions
                    + " positions");
        }
        int base = position * half;
        for (int h = 0; h < numHeads; h++) {
            int o = offset + h * headDim;
            if (neox) {
                for (int i = 0; i < half; i++) {
                    float c = cos[base + i], s = sin[base + i];
                    float x0 = x[o + i], x1 = x[o + i + half];
                    x[o + i] = x0 * c - x1 * s;
                    x[o + i + half] = x0 * s + x1 * c;
                }
            } else {
                for (int i = 0; i < half; i++) {
                    float c = cos[base + i], s = sin[base + i];
                    float x0 = x[o + 2 * i], x1 = x[o + 2 * i + 1];
                    x[o + 2 * i] = x0 * c - x1 * s;
                    x[o + 2 * i + 1] = x0 * s + x1 * c;
                }
            }
        }
    }
}
