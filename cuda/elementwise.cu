#include "quire.cuh"

#define GRID_STRIDE(i, n) for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long) gridDim.x * blockDim.x)

// SwiGLU gate: out[i] = silu(gate[i]) * up[i] in FP16 (the down projection's input).
extern "C" __global__ void silu_mul(half_t* __restrict__ out, const float* __restrict__ gate, const float* __restrict__ up, long long n) {
    GRID_STRIDE(i, n) {
        float g = gate[i];
        out[i] = f2h(g / (1.f + expf(-g)) * up[i]);
    }
}

// Residual connection: acc[i] += x[i].
extern "C" __global__ void add(float* __restrict__ acc, const float* __restrict__ x, long long n) {
    GRID_STRIDE(i, n) acc[i] += x[i];
}

// x[r][c] += bias[c] over rows of cols values (Qwen2's Q/K/V biases).
extern "C" __global__ void add_bias(float* __restrict__ x, const float* __restrict__ bias, int rows, int cols) {
    GRID_STRIDE(i, (long long) rows * cols) x[i] += bias[i % cols];
}

// Embedding lookup: out[t] = table[tokens[t]] (FP16 table, FP32 residual stream). grid.x = tokens.
extern "C" __global__ void embedding(float* __restrict__ out, const half_t* __restrict__ table, const int* __restrict__ tokens, int dim) {
    const half_t* row = table + (long long) tokens[blockIdx.x] * dim;
    float* o = out + (long long) blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = h2f(row[i]);
}

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
