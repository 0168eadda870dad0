// Dequantization of ggml blocks to FP16 or BF16, run once when weights are uploaded. Blocks are not
// aligned (18 to 210 bytes), so they are read byte by byte; the FP16 scales are little-endian.
#include "quire.cuh"

#define GRID_STRIDE(i, n) for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long) gridDim.x * blockDim.x)

__device__ __forceinline__ float block_scale(const unsigned char* b) {
    return h2f((half_t) (b[0] | (b[1] << 8)));
}

// Q8_0: fp16 d, 32 int8 q; x = d * q. n = values (a multiple of 32).
template <class S>
__device__ __forceinline__ void dequant_q8_0_impl(u16* __restrict__ out, const unsigned char* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) {
        const unsigned char* b = in + (i / 32) * 34;
        out[i] = S::store(block_scale(b) * (float) (signed char) b[2 + i % 32]);
    }
}
EXPORT_F16_BF16(, dequant_q8_0, (u16* __restrict__ out, const unsigned char* __restrict__ in, long long n), (out, in, n))

// Q4_0: fp16 d, 16 bytes; low nibbles are values 0..15, high nibbles 16..31; x = d * (q - 8).
template <class S>
__device__ __forceinline__ void dequant_q4_0_impl(u16* __restrict__ out, const unsigned char* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) {
        const unsigned char* b = in + (i / 32) * 18;
        int j = (int) (i % 32);
        int q = j < 16 ? (b[2 + j] & 0x0f) : (b[2 + j - 16] >> 4);
        out[i] = S::store(block_scale(b) * (float) (q - 8));
    }
}
EXPORT_F16_BF16(, dequant_q4_0, (u16* __restrict__ out, const unsigned char* __restrict__ in, long long n), (out, in, n))

// ---- The other ggml types: one value per thread, as ggml's dequantize_row_* computes it (the group's
// scale first, then dl * q - ml, in float). Layouts: src/main/java/io/quire/backend/cpu/KQuants.java
// and SmallBlockQuants.java. ----

__device__ __forceinline__ int nibble32(const unsigned char* qs, int j) {
    return j < 16 ? (qs[j] & 0x0f) : (qs[j - 16] >> 4);
}

__device__ __forceinline__ unsigned int u32le(const unsigned char* p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((unsigned int) p[3] << 24);
}

// IQ4_NL/IQ4_XS's non-linear grid (kvalues_iq4nl); a local table, so the emulator (cuda/emu) compiles it too.
__device__ __forceinline__ float iq4_grid(int q) {
    const signed char grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    return (float) grid[q];
}

// Q4_1 (20 bytes): fp16 d, fp16 m, qs[16]; x = d*q + m.
__device__ __forceinline__ float q4_1_value(const unsigned char* b, int j) {
    return block_scale(b) * (float) nibble32(b + 4, j) + block_scale(b + 2);
}
// Q5_0 (22): fp16 d, u32 qh, qs[16]; x = d*((q | bit j of qh << 4) - 16).
__device__ __forceinline__ float q5_0_value(const unsigned char* b, int j) {
    int q = nibble32(b + 6, j) | (((u32le(b + 2) >> j) & 1) << 4);
    return block_scale(b) * (float) (q - 16);
}
// Q5_1 (24): fp16 d, fp16 m, u32 qh, qs[16]; x = d*q + m.
__device__ __forceinline__ float q5_1_value(const unsigned char* b, int j) {
    int q = nibble32(b + 8, j) | (((u32le(b + 4) >> j) & 1) << 4);
    return block_scale(b) * (float) q + block_scale(b + 2);
}
// IQ4_NL (18): fp16 d, qs[16]; x = d*grid[q].
__device__ __forceinline__ float iq4_nl_value(const unsigned char* b, int j) {
    return block_scale(b) * iq4_grid(nibble32(b + 2, j));
}
// Q2_K (84): scales[16], qs[64], fp16 d, fp16 dmin.
__device__ __forceinline__ float q2_k_value(const unsigned char* b, int e) {
    int sc = b[e / 16];
    float dl = block_scale(b + 80) * (float) (sc & 15), ml = block_scale(b + 82) * (float) (sc >> 4);
    int q = (b[16 + (e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    return dl * (float) q - ml;
}
// Q3_K (110): hmask[32], qs[64], scales[12] (16 6-bit, biased by 32), fp16 d.
__device__ __forceinline__ float q3_k_value(const unsigned char* b, int e) {
    int k = e / 16;
    int low = (b[96 + k % 8] >> (4 * (k / 8))) & 15;
    int high = (b[104 + k % 4] >> (2 * (k / 4))) & 3;
    float dl = block_scale(b + 108) * (float) ((low | (high << 4)) - 32);
    int l = e % 32;
    int q = (b[32 + (e / 128) * 32 + l] >> (2 * ((e % 128) / 32))) & 3;
    int hbit = (b[l] >> (e / 32)) & 1;
    return dl * (float) (q - (hbit ? 0 : 4));
}
// get_scale_min_k4: scale (min = false) or min of group j (0..7) from Q4_K/Q5_K's 12 bytes.
__device__ __forceinline__ int k4_scale(const unsigned char* s, int j, bool min) {
    if (j < 4) return s[j + (min ? 4 : 0)] & 63;
    int packed = s[j + 4];
    return (min ? packed >> 4 : packed & 15) | ((s[j - 4 + (min ? 4 : 0)] >> 6) << 4);
}
// Q4_K (144): fp16 d, fp16 dmin, scales[12], qs[128]. Q5_K (176): the same with qh[32] before qs.
__device__ __forceinline__ float q4_k_value(const unsigned char* b, int e, bool fifth) {
    int j = e / 32, l = e % 32;
    float dl = block_scale(b) * (float) k4_scale(b + 4, j, false);
    float ml = block_scale(b + 2) * (float) k4_scale(b + 4, j, true);
    int q = (b[(fifth ? 48 : 16) + (j / 2) * 32 + l] >> (4 * (j % 2))) & 15;
    if (fifth) q |= ((b[16 + l] >> j) & 1) << 4;
    return dl * (float) q - ml;
}
__device__ __forceinline__ float q4_k_value(const unsigned char* b, int e) { return q4_k_value(b, e, false); }
__device__ __forceinline__ float q5_k_value(const unsigned char* b, int e) { return q4_k_value(b, e, true); }
// Q6_K (210): ql[128], qh[64], int8 scales[16], fp16 d; x = d*sc*(q - 32).
__device__ __forceinline__ float q6_k_value(const unsigned char* b, int e) {
    float dl = block_scale(b + 208) * (float) (signed char) b[192 + e / 16];
    int h = e / 128, r = e % 128;
    int low = (b[h * 64 + r % 64] >> (4 * (r / 64))) & 15;
    int high = (b[128 + h * 32 + r % 32] >> (2 * (r / 32))) & 3;
    return dl * (float) ((low | (high << 4)) - 32);
}
// IQ4_XS (136): fp16 d, u16 scales_h, scales_l[4], qs[128]; x = d*(sc-32)*grid[q].
__device__ __forceinline__ float iq4_xs_value(const unsigned char* b, int e) {
    int j = e / 32, l = e % 32;
    int low = (b[4 + j / 2] >> (4 * (j % 2))) & 15;
    int high = ((b[2] | (b[3] << 8)) >> (2 * j)) & 3;
    float dl = block_scale(b) * (float) ((low | (high << 4)) - 32);
    int q = (b[8 + 16 * j + l % 16] >> (4 * (l / 16))) & 15;
    return dl * iq4_grid(q);
}

// n values (whole blocks) of a type with `qk` values in `bytes` bytes per block, to the 16-bit type.
#define DEQUANT_KERNEL(name, qk, bytes) \
    template <class S> \
    __device__ __forceinline__ void dequant_##name##_impl(u16* __restrict__ out, const unsigned char* __restrict__ in, long long n) { \
        GRID_STRIDE(i, n) out[i] = S::store(name##_value(in + (i / (qk)) * (bytes), (int) (i % (qk)))); \
    } \
    EXPORT_F16_BF16(, dequant_##name, (u16* __restrict__ out, const unsigned char* __restrict__ in, long long n), (out, in, n))

DEQUANT_KERNEL(q4_1, 32, 20)
DEQUANT_KERNEL(q5_0, 32, 22)
DEQUANT_KERNEL(q5_1, 32, 24)
DEQUANT_KERNEL(iq4_nl, 32, 18)
DEQUANT_KERNEL(q2_k, 256, 84)
DEQUANT_KERNEL(q3_k, 256, 110)
DEQUANT_KERNEL(q4_k, 256, 144)
DEQUANT_KERNEL(q5_k, 256, 176)
DEQUANT_KERNEL(q6_k, 256, 210)
DEQUANT_KERNEL(iq4_xs, 256, 136)
