// Checks the logic of Quire's CUDA kernels on the CPU through cuda_emu.h, against naive
// double-precision references. Build and run with cuda/emu/run.sh. Prints one line per check
// and exits 1 if any fails.
#include <math.h>
#include <cstdio>
#include <random>
#include <string>
#include "cuda_emu.h"
#define QUIRE_EMU 1
#include "attention.cu"
#include "cache.cu"
#include "norm.cu"
#include "rope.cu"
#include "elementwise.cu"
#include "quant.cu"

static std::mt19937_64 rng(12345);
static float uni(float s) { return std::uniform_real_distribution<float>(-s, s)(rng); }
static half_t toh(float f) { _Float16 v = (_Float16) f; half_t h; memcpy(&h, &v, 2); return h; }
static float fromh(half_t h) { _Float16 v; memcpy(&v, &h, 2); return (float) v; }
static int failures = 0;

static void report(const std::string& name, const std::vector<double>& got, const std::vector<double>& want, double tol) {
    double err = 0, ref = 0;
    long bad = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (std::isnan(got[i])) { bad++; continue; }
        err = std::max(err, std::fabs(got[i] - want[i]));
        ref = std::max(ref, std::fabs(want[i]));
    }
    double rel = ref > 0 ? err / ref : err;
    bool ok = bad == 0 && rel <= tol;
    if (!ok) failures++;
    printf("%-60s rel.err %.2e unwritten %ld/%zu %s\n", name.c_str(), rel, bad, got.size(), ok ? "PASS" : "FAIL");
}

static void attention(int D, int heads, int kvHeads) {
    const int bs = 16, blocks = 120, kvDim = kvHeads * D;
    std::vector<int> ctx = {37, 130, 700};  // the last spans 2 partitions of 512
    int seqs = ctx.size();
    std::vector<half_t> kc((size_t) blocks * bs * kvDim), vc(kc.size());
    for (auto& x : kc) x = toh(uni(1));
    for (auto& x : vc) x = toh(uni(1));
    std::vector<int> perm(blocks);
    for (int i = 0; i < blocks; i++) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    int maxBlocks = 0, next = 0;
    std::vector<std::vector<int>> tables(seqs);
    for (int s = 0; s < seqs; s++) {
        tables[s].resize((ctx[s] + bs - 1) / bs);
        for (auto& b : tables[s]) b = perm[next++];
        maxBlocks = std::max(maxBlocks, (int) tables[s].size());
    }
    std::vector<int> flat(seqs * maxBlocks, 0);
    for (int s = 0; s < seqs; s++) std::copy(tables[s].begin(), tables[s].end(), flat.begin() + s * maxBlocks);
    float scale = 1.f / std::sqrt((float) D);
    int qDim = heads * D;
    auto reference = [&](const std::vector<float>& q, const std::vector<int>& pos, const std::vector<int>& seq) {
        std::vector<double> out(q.size());
        for (size_t t = 0; t < pos.size(); t++)
            for (int h = 0; h < heads; h++) {
                int kvh = h / (heads / kvHeads);
                std::vector<double> sc(pos[t] + 1);
                double m = -INFINITY;
                for (int j = 0; j <= pos[t]; j++) {
                    long slot = (long) tables[seq[t]][j / bs] * bs + j % bs;
                    double d = 0;
                    for (int e = 0; e < D; e++) d += (double) q[t * qDim + h * D + e] * fromh(kc[slot * kvDim + kvh * D + e]);
                    sc[j] = d * scale;
                    m = std::max(m, sc[j]);
                }
                double sum = 0;
                for (auto& x : sc) { x = std::exp(x - m); sum += x; }
                for (int e = 0; e < D; e++) {
                    double a = 0;
                    for (int j = 0; j <= pos[t]; j++) {
                        long slot = (long) tables[seq[t]][j / bs] * bs + j % bs;
                        a += sc[j] * fromh(vc[slot * kvDim + kvh * D + e]);
                    }
                    out[t * qDim + h * D + e] = a / sum;
                }
            }
        return out;
    };
    std::string shape = " D" + std::to_string(D) + " h" + std::to_string(heads) + "/" + std::to_string(kvHeads);
    // Decode: last position of each sequence.
    std::vector<int> pos(seqs), seq(seqs), idx(seqs);
    for (int s = 0; s < seqs; s++) { pos[s] = ctx[s] - 1; seq[s] = s; idx[s] = s; }
    std::vector<float> q(seqs * qDim);
    for (auto& x : q) x = uni(1);
    auto want = reference(q, pos, seq);
    int maxCtx = 700;
    for (int variant = 0; variant < 2; variant++) {
        int partSize = variant == 0 ? maxCtx : 512, parts = variant == 0 ? 1 : (maxCtx + 511) / 512;
        std::vector<half_t> out(seqs * qDim, 0x7e00);
        std::vector<float> tmp((size_t) seqs * heads * parts * D, NAN), ml(seqs * heads * parts, NAN), es(ml.size(), NAN);
        int smem = 4 * (D + partSize + std::max(8 * 128, D));
        emu_launch({(unsigned) heads, (unsigned) seqs, (unsigned) parts}, 128, smem, [&] {
            paged_attention_decode_f16(out.data(), tmp.data(), ml.data(), es.data(), q.data(), qDim, kc.data(), vc.data(), idx.data(), seq.data(),
                                   pos.data(), flat.data(), maxBlocks, heads, kvHeads, D, bs, scale, partSize);
        });
        if (parts > 1) {
            emu_launch({(unsigned) heads, (unsigned) seqs, 1}, 128, 4 * parts, [&] {
                paged_attention_reduce_f16(out.data(), tmp.data(), ml.data(), es.data(), idx.data(), pos.data(), heads, D, partSize, parts);
            });
        }
        std::vector<double> got(out.size());
        for (size_t i = 0; i < out.size(); i++) got[i] = fromh(out[i]);
        report(std::string(variant == 0 ? "decode v1" : "decode v2 split-K + reduce") + shape, got, want, 1e-3);
    }
    // Prefill chunks: seq 0 whole (0..36), seq 1 positions 90..129, seq 2 positions 600..618.
    int chunk[3][2] = {{0, 37}, {90, 40}, {600, 19}};
    std::vector<int> ppos, pseq, tileStart, tileLen;
    for (int s = 0; s < 3; s++) {
        int start = ppos.size();
        for (int i = 0; i < chunk[s][1]; i++) { ppos.push_back(chunk[s][0] + i); pseq.push_back(s); }
        for (int t0 = start; t0 < (int) ppos.size(); t0 += 16) { tileStart.push_back(t0); tileLen.push_back(std::min(16, (int) ppos.size() - t0)); }
    }
    int n = ppos.size();
    std::vector<float> pq(n * qDim);
    for (auto& x : pq) x = uni(1);
    auto pwant = reference(pq, ppos, pseq);
    std::vector<half_t> pout(n * qDim, 0x7e00);
    int smem = 4 * ((16 + 64) * (D + 1) + 16 * 32);
    emu_launch({(unsigned) heads, (unsigned) tileStart.size(), 1}, 128, smem, [&] {
        paged_attention_prefill_f16(pout.data(), pq.data(), qDim, kc.data(), vc.data(), tileStart.data(), tileLen.data(), pseq.data(), ppos.data(),
                                flat.data(), maxBlocks, heads, kvHeads, D, bs, scale);
    });
    std::vector<double> got(pout.size());
    for (size_t i = 0; i < pout.size(); i++) got[i] = fromh(pout[i]);
    report("prefill (causal)" + shape, got, pwant, 1e-3);
}

static void others() {
    {   // rms_norm with a row gather
        int rows = 3, n = 300;
        std::vector<float> x(5 * n), w(n);
        for (auto& v : x) v = uni(3);
        for (auto& v : w) v = uni(1);
        std::vector<int> rowIdx = {4, 0, 2};
        std::vector<half_t> out(rows * n, 0x7e00);
        emu_launch({(unsigned) rows, 1, 1}, 256, 0, [&] { rms_norm_f16(out.data(), x.data(), w.data(), rowIdx.data(), n, 1e-5f); });
        std::vector<double> got(out.size()), want(out.size());
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double) x[rowIdx[r] * n + i] * x[rowIdx[r] * n + i];
            double sc = 1 / std::sqrt(ss / n + 1e-5);
            for (int i = 0; i < n; i++) { want[r * n + i] = x[rowIdx[r] * n + i] * sc * w[i]; got[r * n + i] = fromh(out[r * n + i]); }
        }
        report("rms_norm (gathered rows)", got, want, 1e-3);
    }
    for (int neox = 0; neox < 2; neox++) {   // rope
        int tokens = 3, heads = 4, D = 16, half = D / 2, maxPos = 50;
        std::vector<float> x(tokens * heads * D), cosT(maxPos * half), sinT(maxPos * half);
        for (auto& v : x) v = uni(1);
        for (int p = 0; p < maxPos; p++)
            for (int i = 0; i < half; i++) { double a = p * std::pow(10000.0, -2.0 * i / D); cosT[p * half + i] = cos(a); sinT[p * half + i] = sin(a); }
        std::vector<int> pos = {0, 7, 49};
        std::vector<float> y = x;
        int total = tokens * heads * half;
        emu_launch({(unsigned) ((total + 127) / 128), 1, 1}, 128, 0, [&] { rope(y.data(), pos.data(), cosT.data(), sinT.data(), tokens, heads, D, heads * D, neox); });
        std::vector<double> got(y.begin(), y.end()), want(x.size());
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < half; i++) {
                    int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1, o = (t * heads + h) * D;
                    double c = cosT[pos[t] * half + i], s = sinT[pos[t] * half + i];
                    want[o + a] = x[o + a] * c - x[o + b] * s;
                    want[o + b] = x[o + a] * s + x[o + b] * c;
                }
        report(neox ? "rope (neox)" : "rope (interleaved)", got, want, 1e-6);
    }
    {   // reshape_and_cache + copy_blocks
        int layers = 2, blocks = 4, bs = 4, kvDim = 6, tokens = 5, bh = bs * kvDim;
        long stride = (long) blocks * bh;
        std::vector<half_t> kc(layers * stride, 0x7e00), vc(layers * stride, 0x7e00);
        std::vector<float> k(tokens * kvDim), v(tokens * kvDim);
        for (auto& a : k) a = uni(2);
        for (auto& a : v) a = uni(2);
        std::vector<int> slots = {3, -1, 9, 6, 4};  // block 3 unused: it receives the copy
        emu_launch({(unsigned) tokens, 1, 1}, 32, 0, [&] { reshape_and_cache_f16(kc.data() + stride, vc.data() + stride, k.data(), v.data(), slots.data(), kvDim, kvDim); });
        std::vector<int> mapping = {0, 3};  // block 0 (slot 3) -> block 3
        emu_launch({1, (unsigned) layers, 1}, 32, 0, [&] { copy_blocks(kc.data(), vc.data(), mapping.data(), stride, bh); });
        std::vector<double> got, want;
        for (int t = 0; t < tokens; t++) {
            if (slots[t] < 0) continue;
            for (int i = 0; i < kvDim; i++) {
                got.push_back(fromh(kc[stride + (long) slots[t] * kvDim + i])); want.push_back(fromh(toh(k[t * kvDim + i])));
                got.push_back(fromh(vc[stride + (long) slots[t] * kvDim + i])); want.push_back(fromh(toh(v[t * kvDim + i])));
            }
        }
        for (int i = 0; i < bh; i++) {  // block 3 of layer 1 is now block 0's copy
            half_t a = kc[stride + 3 * bh + i], b = kc[stride + i];
            got.push_back(a == b ? 0 : 1); want.push_back(0);
        }
        int skipped = 0;  // slot 1's token was not stored: slots 0..2 of layer 1 stay NaN
        for (int i = 0; i < 3 * kvDim; i++) skipped += kc[stride + i] == 0x7e00;
        got.push_back(skipped); want.push_back(3 * kvDim);
        report("reshape_and_cache + copy_blocks", got, want, 0);
    }
    {   // dequant q8_0 / q4_0
        int nb = 5, n = nb * 32;
        std::vector<unsigned char> q8(nb * 34), q4(nb * 18);
        for (auto& b : q8) b = rng() & 0xff;
        for (auto& b : q4) b = rng() & 0xff;
        for (int b = 0; b < nb; b++) { half_t d = toh(uni(0.1f)); memcpy(&q8[b * 34], &d, 2); memcpy(&q4[b * 18], &d, 2); }
        std::vector<half_t> o8(n, 0x7e00), o4(n, 0x7e00);
        emu_launch({1, 1, 1}, 64, 0, [&] { dequant_q8_0_f16(o8.data(), q8.data(), n); dequant_q4_0_f16(o4.data(), q4.data(), n); });
        std::vector<double> got, want;
        for (int i = 0; i < n; i++) {
            int b = i / 32, j = i % 32;
            half_t d8, d4;
            memcpy(&d8, &q8[b * 34], 2);
            memcpy(&d4, &q4[b * 18], 2);
            got.push_back(fromh(o8[i])); want.push_back(fromh(toh(fromh(d8) * (signed char) q8[b * 34 + 2 + j])));
            int nib = j < 16 ? (q4[b * 18 + 2 + j] & 15) : (q4[b * 18 + 2 + j - 16] >> 4);
            got.push_back(fromh(o4[i])); want.push_back(fromh(toh(fromh(d4) * (nib - 8))));
        }
        report("dequant q8_0 + q4_0", got, want, 0);
    }
}

int main() {
    others();
    attention(64, 8, 2);
    attention(96, 6, 2);
    attention(8, 8, 4);
    attention(128, 4, 4);
    printf(failures ? "emu: %d FAILED\n" : "emu: all passed\n", failures);
    return failures ? 1 : 0;
}
