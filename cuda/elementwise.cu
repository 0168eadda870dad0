#include "quire.cuh"

#define GRID_STRIDE(i, n) for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long) gridDim.x * blockDim.x)

// SwiGLU gate over the fused gate/up projection's output gu = [rows][2 * cols] (gate columns, then
// up columns): out[r][i] = silu(gu[r][i]) * gu[r][cols + i], in FP16 or BF16 (the down
// projection's input).
// grid.y strides over rows, grid.x over columns: no 64-bit division per element.
template <class S>
__device__ __forceinline__ void silu_mul_impl(u16* __restrict__ out, const float* __restrict__ gu, int rows, int cols) {
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        const float* g = gu + (long long) r * 2 * cols;
        u16* o = out + (long long) r * cols;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            float x = g[c];
            o[c] = S::store(x / (1.f + expf(-x)) * g[cols + c]);
        }
    }
}
EXPORT_F16_BF16(, silu_mul, (u16* __restrict__ out, const float* __restrict__ gu, int rows, int cols), (out, gu, rows, cols))

// Residual connection: acc[i] += x[i].
extern "C" __global__ void add(float* __restrict__ acc, const float* __restrict__ x, long long n) {
    GRID_STRIDE(i, n) acc[i] += x[i];
}

// x[r][c] += bias[c] over rows of cols values (Qwen2's Q/K/V biases).
extern "C" __global__ void add_bias(float* __restrict__ x, const float* __restrict__ bias, int rows, int cols) {
    GRID_STRIDE(i, (long long) rows * cols) x[i] += bias[i % cols];
}

// Embedding lookup: out[t] = table[tokens[t]] (FP16 or BF16 table, FP32 residual stream). grid.x = tokens.
template <class S>
__device__ __forceinline__ void embedding_impl(float* __restrict__ out, const u16* __restrict__ table, const int* __restrict__ tokens, int dim) {
    const u16* row = table + (long long) tokens[blockIdx.x] * dim;
    float* o = out + (long long) blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = S::load(row[i]);
}
EXPORT_F16_BF16(, embedding, (float* __restrict__ out, const u16* __restrict__ table, const int* __restrict__ tokens, int dim),
        (out, table, tokens, dim))

extern "C" __global__ void f32_to_f16(half_t* __restrict__ out, const float* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) out[i] = f2h(in[i]);
}

extern "C" __global__ void f16_to_f32(float* __restrict__ out, const half_t* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) out[i] = h2f(in[i]);
}

extern "C" __global__ void f32_to_bf16(bf16_t* __restrict__ out, const float* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) out[i] = f2bf(in[i]);
}

extern "C" __global__ void bf16_to_f32(float* __restrict__ out, const bf16_t* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) out[i] = bf2f(in[i]);
}

extern "C" __global__ void bf16_to_f16(half_t* __restrict__ out, const bf16_t* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) out[i] = f2h(bf2f(in[i]));
}

// Weights stored as F16 uploaded for a BF16 model (quire.dtype=bfloat16).
extern "C" __global__ void f16_to_bf16(bf16_t* __restrict__ out, const half_t* __restrict__ in, long long n) {
    GRID_STRIDE(i, n) out[i] = f2bf(h2f(in[i]));
}
