// Dequantization of ggml blocks to FP16 or BF16, run once when weights are uploaded. Blocks are not
// aligned (34 and 18 bytes), so they are read byte by byte; the FP16 scale is little-endian.
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
