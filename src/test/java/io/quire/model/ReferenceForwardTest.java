package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import io.quire.model.gguf.GgufFile;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The paged, batched forward pass equals a plain textbook transformer written here in double
 * precision over dense K/V (its own RoPE, causal attention, SwiGLU), for both architectures:
 * Llama (interleaved RoPE, GQA) and Qwen2 (NEOX RoPE, Q/K/V biases).
 */
class ReferenceForwardTest {
    @TempDir Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void matchesDenseReference(String arch) throws Exception {
        boolean qwen = arch.equals("qwen2");
        ModelConfig c = new ModelConfig(arch, 64, 2, 4, 2, 16, 96, 320, 128, 1e-5f, qwen ? 1_000_000f : 10000f, 1f,
                qwen, qwen);
        Path file = tmp.resolve(arch + ".gguf");
        RandomModels.write(c, TensorType.F32, 21, file);
        int[] prompt = {1, 40, 77, 300, 5, 123, 9, 250, 18, 64, 200, 33, 7, 100, 290, 11, 45, 61, 2, 99};

        // Quire: the prompt in chunks of 6 through the paged cache, block size 4.
        float[] quire;
        try (LanguageModel<?> model = ModelLoader.load(file)) {
            SequenceRunner runner = new SequenceRunner(model, 16, 4, 5);
            quire = runner.lastLogits(prompt, 6);
        }
        double[] expected;
        try (GgufFile f = GgufFile.open(file)) {
            expected = new Reference(f, c).lastLogits(prompt);
        }
        double maxAbs = 0, maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Math.abs(expected[i] - quire[i]));
        }
        assertThat(maxErr / maxAbs).as("max error relative to the largest logit").isLessThan(1e-4);
    }

    /** A straightforward transformer over dense per-layer K/V arrays. */
    private static final class Reference {
        final ModelConfig c;
        final GgufFile f;

        Reference(GgufFile f, ModelConfig c) { this.f = f; this.c = c; }

        double[] w(String name) {
            float[] v = Quant.dequantize(f.tensor(name));
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) d[i] = v[i];
            return d;
        }

        /** y = W x for W stored row-major as rows x cols. */
        static double[] mv(double[] w, double[] x, int rows) {
            int cols = x.length;
            double[] y = new double[rows];
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int k = 0; k < cols; k++) s += w[r * cols + k] * x[k];
                y[r] = s;
            }
            return y;
        }

        double[] rms(double[] x, double[] g) {
            double ss = 0;
            for (double v : x) ss += v * v;
            double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) y[i] = x[i] * inv * g[i];
            return y;
        }

        void rope(double[] x, int heads, int pos) {
            int hd = c.headDim();
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < hd / 2; i++) {
                    double freq = Math.pow(c.ropeTheta(), -2.0 * i / hd);
                    double a = pos * freq, cos = Math.cos(a), sin = Math.sin(a);
                    int i0 = h * hd + (c.ropeNeox() ? i : 2 * i);
                    int i1 = h * hd + (c.ropeNeox() ? i + hd / 2 : 2 * i + 1);
                    double x0 = x[i0], x1 = x[i1];
                    x[i0] = x0 * cos - x1 * sin;
                    x[i1] = x0 * sin + x1 * cos;
                }
            }
        }

        double[] lastLogits(int[] tokens) {
            int n = tokens.length, dim = c.dim(), hd = c.headDim();
            double[] emb = w("token_embd.weight");
            double[][] x = new double[n][dim];
            for (int t = 0; t < n; t++) System.arraycopy(emb, tokens[t] * dim, x[t], 0, dim);
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "blk." + l + ".";
                double[] wq = w(p + "attn_q.weight"), wk = w(p + "attn_k.weight"), wv = w(p + "attn_v.weight"),
                        wo = w(p + "attn_output.weight");
                double[][] k = new double[n][], v = new double[n][], q = new double[n][];
                for (int t = 0; t < n; t++) {
                    double[] xn = rms(x[t], w(p + "attn_norm.weight"));
                    q[t] = mv(wq, xn, c.qDim());
                    k[t] = mv(wk, xn, c.kvDim());
                    v[t] = mv(wv, xn, c.kvDim());
                    if (c.qkvBias()) {
                        add(q[t], w(p + "attn_q.bias"));
                        add(k[t], w(p + "attn_k.bias"));
                        add(v[t], w(p + "attn_v.bias"));
                    }
                    rope(q[t], c.numHeads(), t);
                    rope(k[t], c.numKvHeads(), t);
                }
                int group = c.numHeads() / c.numKvHeads();
                for (int t = 0; t < n; t++) {
                    double[] att = new double[c.qDim()];
                    for (int h = 0; h < c.numHeads(); h++) {
                        int kh = h / group;
                        double[] s = new double[t + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j <= t; j++) {
                            double d = 0;
                            for (int i = 0; i < hd; i++) d += q[t][h * hd + i] * k[j][kh * hd + i];
                            s[j] = d / Math.sqrt(hd);
                            max = Math.max(max, s[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j <= t; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                        for (int j = 0; j <= t; j++) for (int i = 0; i < hd; i++) att[h * hd
                                + i] += s[j] / sum * v[j][kh * hd + i];
                    }
                    add(x[t], mv(wo, att, dim));
                }
                double[] wg = w(p + "ffn_gate.weight"), wu = w(p + "ffn_up.weight"), wd = w(p + "ffn_down.weight");
                for (int t = 0; t < n; t++) {
                    double[] xn = rms(x[t], w(p + "ffn_norm.weight"));
                    double[] g = mv(wg, xn, c.ffnDim()), u = mv(wu, xn, c.ffnDim());
                    for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                    add(x[t], mv(wd, g, dim));
                }
            }
            double[] out = rms(x[n - 1], w("output_norm.weight"));
            String head = f.hasTensor("output.weight") ? "output.weight" : "token_embd.weight";
            return mv(w(head), out, c.vocabSize());
        }

        static void add(double[] acc, double[] b) { for (int i = 0; i < acc.length; i++) acc[i] += b[i]; }
    }

}
