// Paged attention: queries (FP32) attend to keys/values read through block tables from the FP16
// or BF16 KV cache ([slot][kvHead][headDim] per layer). Token t's query heads start at
// q + t * qStride: the queries are the first columns of the fused QKV projection's output. Token t of the batch belongs to sequence tokSeq[t]
// and sees positions 0..positions[t] of it (causal). Head h reads KV head h / (heads / kvHeads).
// Outputs are FP16 or BF16 (the KV cache's type) [tokens][heads * headDim], the input of the output projection.
#include "quire.cuh"

// ---- Decode: one block per (head, query token, partition) --------------------------------------
// The context of a token is cut into partitions of partSize positions (vLLM's paged_attention_v2).
// With one partition (gridDim.z == 1) the block writes the final output (v1); otherwise it writes
// its partition's normalized output, max logit and exp-sum for paged_attention_reduce.
// Dynamic shared memory: (headDim + partSize + max(8 * blockDim.x, headDim)) floats.
template <class S>
__device__ __forceinline__ void paged_attention_decode_impl(
        u16* __restrict__ out, float* __restrict__ tmpOut, float* __restrict__ maxLogits, float* __restrict__ expSums,
        const float* __restrict__ q, int qStride, const u16* __restrict__ kcache, const u16* __restrict__ vcache,
        const int* __restrict__ tokIdx, const int* __restrict__ tokSeq, const int* __restrict__ positions,
        const int* __restrict__ blockTables, int maxBlocksPerSeq,
        int heads, int kvHeads, int headDim, int blockSize, float scale, int partSize) {
    extern __shared__ float smem[];
    __shared__ float red[32];
    const int h = blockIdx.x, i = blockIdx.y, part = blockIdx.z, parts = gridDim.z;
    const int t = tokIdx[i];
    const int ctx = positions[t] + 1;
    const int start = part * partSize;
    if (start >= ctx) return;
    const int end = min(ctx, start + partSize);
    const int n = end - start;
    const int D = headDim, P = headDim / 2, kvDim = kvHeads * headDim;
    const int kvOff = (h / (heads / kvHeads)) * headDim;
    const int* table = blockTables + (long long) tokSeq[t] * maxBlocksPerSeq;
    float* qs = smem;            // [D]
    float* sc = smem + D;        // [partSize]
    float* partial = sc + partSize;  // [G * D] <= max(8 * blockDim.x, D)
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;

    const float* qh = q + (long long) t * qStride + h * D;
    for (int d = tid; d < D; d += blockDim.x) qs[d] = qh[d];
    __syncthreads();

    // Scores. Where headDim is a power of two from 8 to 256 (every model we know), a group of
    // headDim/8 lanes reads one position's key with one 16-byte load per lane (two positions per
    // warp at headDim 128), each lane keeping its 8 query values in registers; otherwise one warp
    // per position, lanes over pairs of dimensions.
    const bool vec = (D & 7) == 0 && D <= 256 && ((D >> 3) & ((D >> 3) - 1)) == 0;
    float localMax = NEG_INF;
    if (vec) {
        const int lpp = D >> 3 < 32 ? D >> 3 : 32;  // lanes per position
        const int ppw = 32 / lpp;                    // positions per warp and step
        const int sub = lane % lpp, grp = lane / lpp;
        float qr[8];
#pragma unroll
        for (int e = 0; e < 8; e++) qr[e] = qs[8 * sub + e];
#pragma unroll 2
        for (int j0 = warp * ppw; j0 < n; j0 += warps * ppw) {
            const int j = j0 + grp;
            float dot = 0.f;
            if (j < n) {
                uint4 w = ((const uint4*) (kcache + kv_slot(table, start + j, blockSize) * kvDim + kvOff))[sub];
                float2 a = S::load2(w.x), b = S::load2(w.y), c = S::load2(w.z), e = S::load2(w.w);
                dot = qr[0] * a.x + qr[1] * a.y + qr[2] * b.x + qr[3] * b.y + qr[4] * c.x + qr[5] * c.y + qr[6] * e.x + qr[7] * e.y;
            }
            for (int o = lpp >> 1; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
            dot *= scale;
            if (j < n) {
                if (sub == 0) sc[j] = dot;
                localMax = fmaxf(localMax, dot);
            }
        }
    } else {
        for (int j = warp; j < n; j += warps) {
            const unsigned* kp = (const unsigned*) (kcache + kv_slot(table, start + j, blockSize) * kvDim + kvOff);
            float dot = 0.f;
            for (int p = lane; p < P; p += 32) {
                float2 kk = S::load2(kp[p]);
                dot += qs[2 * p] * kk.x + qs[2 * p + 1] * kk.y;
            }
            dot = warp_sum(dot) * scale;
            if (lane == 0) sc[j] = dot;
            localMax = fmaxf(localMax, dot);
        }
    }
    const float m = block_max(localMax, red);  // ends with __syncthreads: sc is complete
    float localSum = 0.f;
    for (int j = tid; j < n; j += blockDim.x) {
        float e = expf(sc[j] - m);
        sc[j] = e;
        localSum += e;
    }
    const float sum = block_sum(localSum, red);
    const float inv = 1.f / sum;

    // Weighted sum of V: G groups of threads split the positions; in each group a thread owns 8
    // dimensions (one 16-byte load per position) where headDim allows, else 2.
    const int per = vec ? 8 : 2;
    const int U = D / per;  // threads per row of V
    const int G = blockDim.x >= U ? blockDim.x / U : 1;
    const int g = blockDim.x >= U ? tid / U : 0;
    if (vec && g < G) {
        const int u = tid % U;
        float acc[8];
#pragma unroll
        for (int e = 0; e < 8; e++) acc[e] = 0.f;
#pragma unroll 4
        for (int j = g; j < n; j += G) {
            uint4 w = ((const uint4*) (vcache + kv_slot(table, start + j, blockSize) * kvDim + kvOff))[u];
            const float pj = sc[j];
            float2 a = S::load2(w.x), b = S::load2(w.y), c = S::load2(w.z), e = S::load2(w.w);
            acc[0] += pj * a.x; acc[1] += pj * a.y; acc[2] += pj * b.x; acc[3] += pj * b.y;
            acc[4] += pj * c.x; acc[5] += pj * c.y; acc[6] += pj * e.x; acc[7] += pj * e.y;
        }
#pragma unroll
        for (int e = 0; e < 8; e++) partial[g * D + 8 * u + e] = acc[e];
    } else if (!vec && g < G) {
        const int pStart = blockDim.x >= U ? tid % U : tid;
        const int pStep = blockDim.x >= U ? U : blockDim.x;
        for (int p = pStart; p < P; p += pStep) {
            float ax = 0.f, ay = 0.f;
#pragma unroll 4
            for (int j = g; j < n; j += G) {
                float2 vv = S::load2(((const unsigned*) (vcache + kv_slot(table, start + j, blockSize) * kvDim + kvOff))[p]);
                ax += sc[j] * vv.x;
                ay += sc[j] * vv.y;
            }
            partial[g * D + 2 * p] = ax;
            partial[g * D + 2 * p + 1] = ay;
        }
    }
    __syncthreads();
    for (int d = tid; d < D; d += blockDim.x) {
        float acc = 0.f;
        for (int gg = 0; gg < G; gg++) acc += partial[gg * D + d];
        acc *= inv;
        if (parts == 1) {
            out[(long long) t * heads * D + h * D + d] = S::store(acc);
        } else {
            tmpOut[(((long long) i * heads + h) * parts + part) * D + d] = acc;
        }
    }
    if (parts > 1 && tid == 0) {
        long long mi = ((long long) i * heads + h) * parts + part;
        maxLogits[mi] = m;
        expSums[mi] = sum;
    }
}

EXPORT_F16_BF16(, paged_attention_decode,
        (u16* __restrict__ out, float* __restrict__ tmpOut, float* __restrict__ maxLogits, float* __restrict__ expSums,
         const float* __restrict__ q, int qStride, const u16* __restrict__ kcache, const u16* __restrict__ vcache,
         const int* __restrict__ tokIdx, const int* __restrict__ tokSeq, const int* __restrict__ positions,
         const int* __restrict__ blockTables, int maxBlocksPerSeq,
         int heads, int kvHeads, int headDim, int blockSize, float scale, int partSize),
        (out, tmpOut, maxLogits, expSums, q, qStride, kcache, vcache, tokIdx, tokSeq, positions, blockTables, maxBlocksPerSeq,
         heads, kvHeads, headDim, blockSize, scale, partSize))

// Combines the partitions of paged_attention_decode (vLLM's paged_attention_v2 reduce).
// grid = (heads, query tokens); dynamic shared memory: parts floats.
template <class S>
__device__ __forceinline__ void paged_attention_reduce_impl(
        u16* __restrict__ out, const float* __restrict__ tmpOut, const float* __restrict__ maxLogits,
        const float* __restrict__ expSums, const int* __restrict__ tokIdx, const int* __restrict__ positions,
        int heads, int headDim, int partSize, int parts) {
    extern __shared__ float w[];
    __shared__ float red[32];
    const int h = blockIdx.x, i = blockIdx.y, t = tokIdx[i];
    const int used = (positions[t] + partSize) / partSize;  // ceil((pos + 1) / partSize)
    const long long base = ((long long) i * heads + h) * parts;
    float localMax = NEG_INF;
    for (int p = threadIdx.x; p < used; p += blockDim.x) localMax = fmaxf(localMax, maxLogits[base + p]);
    const float m = block_max(localMax, red);
    float localSum = 0.f;
    for (int p = threadIdx.x; p < used; p += blockDim.x) {
        float e = expSums[base + p] * expf(maxLogits[base + p] - m);
        w[p] = e;
        localSum += e;
    }
    const float inv = 1.f / block_sum(localSum, red);  // its barriers also publish w
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float acc = 0.f;
        for (int p = 0; p < used; p++) acc += w[p] * tmpOut[(base + p) * headDim + d];
        out[(long long) t * heads * headDim + h * headDim + d] = S::store(acc * inv);
    }
}
EXPORT_F16_BF16(, paged_attention_reduce,
        (u16* __restrict__ out, const float* __restrict__ tmpOut, const float* __restrict__ maxLogits,
         const float* __restrict__ expSums, const int* __restrict__ tokIdx, const int* __restrict__ positions,
         int heads, int headDim, int partSize, int parts),
        (out, tmpOut, maxLogits, expSums, tokIdx, positions, heads, headDim, partSize, parts))

// ---- Prefill: one block per (head, tile of up to 16 query tokens of one sequence) ---------------
// Keys and values are loaded once per chunk of 32 positions for the whole tile and combined with
// an online softmax (running max and sum per query row), so a prompt chunk reads its context once
// per tile instead of once per token. Tile k covers tokens tileStart[k] .. tileStart[k] + tileLen[k] - 1,
// all of one sequence, positions ascending. blockDim.x must be 128: 8 threads per query row.
// Dynamic shared memory: (16 + 2 * 32) * (headDim + 1) + 16 * 32 floats. headDim <= 256.
#define PF_TQ 16
#define PF_C 32
#define PF_MAXD 256
template <class S>
__device__ __forceinline__ void paged_attention_prefill_impl(
        u16* __restrict__ out, const float* __restrict__ q, int qStride, const u16* __restrict__ kcache, const u16* __restrict__ vcache,
        const int* __restrict__ tileStart, const int* __restrict__ tileLen, const int* __restrict__ tokSeq,
        const int* __restrict__ positions, const int* __restrict__ blockTables, int maxBlocksPerSeq,
        int heads, int kvHeads, int headDim, int blockSize, float scale) {
    extern __shared__ float smem[];
    const int h = blockIdx.x, tile = blockIdx.y;
    const int t0 = tileStart[tile], cnt = tileLen[tile];
    const int D = headDim, SD = headDim + 1, kvDim = kvHeads * headDim;
    const int kvOff = (h / (heads / kvHeads)) * headDim;
    const int* table = blockTables + (long long) tokSeq[t0] * maxBlocksPerSeq;
    float* qs = smem;                 // [TQ][SD]
    float* ks = qs + PF_TQ * SD;      // [C][SD]
    float* vs = ks + PF_C * SD;       // [C][SD]
    float* ps = vs + PF_C * SD;       // [TQ][C]
    const int tid = threadIdx.x, r = tid >> 3, sub = tid & 7;

    for (int e = tid; e < PF_TQ * D; e += blockDim.x) {
        int rr = e / D, d = e % D;
        qs[rr * SD + d] = rr < cnt ? q[(long long) (t0 + rr) * qStride + h * D + d] : 0.f;
    }
    const int qpos = r < cnt ? positions[t0 + r] : -1;
    const int maxPos = positions[t0 + cnt - 1];

    float acc[PF_MAXD / 8];
#pragma unroll
    for (int k = 0; k < PF_MAXD / 8; k++) acc[k] = 0.f;
    float m = NEG_INF, l = 0.f;

    for (int c0 = 0; c0 <= maxPos; c0 += PF_C) {
        __syncthreads();  // the previous chunk is consumed (and, the first time, qs is written)
        for (int e = tid; e < PF_C * D; e += blockDim.x) {
            int c = e / D, d = e % D, pos = c0 + c;
            float kv = 0.f, vv = 0.f;
            if (pos <= maxPos) {
                long long off = kv_slot(table, pos, blockSize) * kvDim + kvOff + d;
                kv = S::load(kcache[off]);
                vv = S::load(vcache[off]);
            }
            ks[c * SD + d] = kv;
            vs[c * SD + d] = vv;
        }
        __syncthreads();
        float s[PF_C / 8];
        float rowMax = NEG_INF;
#pragma unroll
        for (int k = 0; k < PF_C / 8; k++) {
            int c = sub + 8 * k;
            float dot = 0.f;
            for (int d = 0; d < D; d++) dot += qs[r * SD + d] * ks[c * SD + d];
            s[k] = (c0 + c <= qpos) ? dot * scale : NEG_INF;
            rowMax = fmaxf(rowMax, s[k]);
        }
#pragma unroll
        for (int o = 4; o > 0; o >>= 1) rowMax = fmaxf(rowMax, __shfl_xor_sync(0xffffffffu, rowMax, o));
        const float mNew = fmaxf(m, rowMax);
        float alpha, rowSum = 0.f;
        if (mNew == NEG_INF) {  // nothing visible yet (padding rows)
            alpha = 1.f;
#pragma unroll
            for (int k = 0; k < PF_C / 8; k++) s[k] = 0.f;
        } else {
            alpha = expf(m - mNew);
#pragma unroll
            for (int k = 0; k < PF_C / 8; k++) {
                s[k] = expf(s[k] - mNew);
                rowSum += s[k];
            }
        }
#pragma unroll
        for (int o = 4; o > 0; o >>= 1) rowSum += __shfl_xor_sync(0xffffffffu, rowSum, o);
        m = mNew;
        l = l * alpha + rowSum;
#pragma unroll
        for (int k = 0; k < PF_C / 8; k++) ps[r * PF_C + sub + 8 * k] = s[k];
        __syncwarp();  // a row's 8 threads share one warp
#pragma unroll
        for (int k = 0; k < PF_MAXD / 8; k++) {
            int d = sub + 8 * k;
            if (d < D) {
                float a = acc[k] * alpha;
                for (int c = 0; c < PF_C; c++) a += ps[r * PF_C + c] * vs[c * SD + d];
                acc[k] = a;
            }
        }
    }
    if (r < cnt) {
        const float inv = 1.f / l;
        u16* o = out + (long long) (t0 + r) * heads * D + h * D;
#pragma unroll
        for (int k = 0; k < PF_MAXD / 8; k++) {
            int d = sub + 8 * k;
            if (d < D) o[d] = S::store(acc[k] * inv);
        }
    }
}
EXPORT_F16_BF16(__launch_bounds__(128), paged_attention_prefill,
        (u16* __restrict__ out, const float* __restrict__ q, int qStride, const u16* __restrict__ kcache, const u16* __restrict__ vcache,
         const int* __restrict__ tileStart, const int* __restrict__ tileLen, const int* __restrict__ tokSeq,
         const int* __restrict__ positions, const int* __restrict__ blockTables, int maxBlocksPerSeq,
         int heads, int kvHeads, int headDim, int blockSize, float scale),
        (out, q, qStride, kcache, vcache, tileStart, tileLen, tokSeq, positions, blockTables, maxBlocksPerSeq,
         heads, kvHeads, headDim, blockSize, scale))
