// Shared helpers for Quire's kernels. No CUDA headers are included on purpose: the same sources
// compile with nvcc (build time) and NVRTC (run time, where no toolkit headers may exist), so
// FP16/BF16 are handled as raw 16-bit values and converted with PTX instructions.
#pragma once

typedef unsigned short half_t;  // IEEE binary16 bits
typedef unsigned short bf16_t;  // bfloat16 bits

// math.h's INFINITY is not there under NVRTC.
#define NEG_INF (__int_as_float(0xff800000))

#ifdef QUIRE_EMU
// Host emulation (cuda/emu): the compiler's _Float16 gives the same round-to-nearest-even.
__device__ __forceinline__ float h2f(half_t h) { _Float16 v; memcpy(&v, &h, 2); return (float) v; }
__device__ __forceinline__ half_t f2h(float f) { _Float16 v = (_Float16) f; half_t h; memcpy(&h, &v, 2); return h; }
#else
__device__ __forceinline__ float h2f(half_t h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ half_t f2h(float f) {
    half_t h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
#endif

__device__ __forceinline__ float bf2f(bf16_t b) { return __uint_as_float(((unsigned) b) << 16); }

// Round to nearest even, NaN kept quiet: the same rule as ggml's fp32_to_bf16 (and Quant.floatToBf16).
__device__ __forceinline__ bf16_t f2bf(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t) ((u >> 16) | 64);
    return (bf16_t) ((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

// Two FP16 values packed in one 32-bit word (element 2i in the low half).
__device__ __forceinline__ float2 h2x2f(unsigned w) {
    return make_float2(h2f((half_t) (w & 0xffffu)), h2f((half_t) (w >> 16)));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide reductions; red must hold 32 floats. Every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = lane < warps ? red[lane] : 0.f;
    return warp_sum(r);
}

__device__ __forceinline__ float block_max(float v, float* red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = lane < warps ? red[lane] : NEG_INF;
    return warp_max(r);
}

// ---- The 16-bit storage type ------------------------------------------------------------------
// Weights, matrix-product inputs and the KV cache are FP16 or BF16 (quire.dtype). A kernel that
// reads or writes them is written once as a template over F16 or BF16 and exported under both
// names, <kernel>_f16 and <kernel>_bf16, by EXPORT_F16_BF16.
typedef unsigned short u16;

struct F16 {
    static __device__ __forceinline__ float load(u16 v) { return h2f(v); }
    static __device__ __forceinline__ u16 store(float f) { return f2h(f); }
    // Two values packed in one 32-bit word (element 2i in the low half).
    static __device__ __forceinline__ float2 load2(unsigned w) { return h2x2f(w); }
};

struct BF16 {
    static __device__ __forceinline__ float load(u16 v) { return bf2f(v); }
    static __device__ __forceinline__ u16 store(float f) { return f2bf(f); }
    static __device__ __forceinline__ float2 load2(unsigned w) {
        return make_float2(__uint_as_float(w << 16), __uint_as_float(w & 0xffff0000u));
    }
};

// EXPORT_F16_BF16(attrs, name, (params), (args)) defines extern "C" kernels name_f16 and
// name_bf16 that call name##_impl<F16 or BF16> args. Templates cannot have C linkage, and plain
// names are what both the driver (cuModuleGetFunction) and NVRTC find without name mangling.
#define EXPORT_F16_BF16(attrs, name, params, args) \
    extern "C" __global__ void attrs name##_f16 params { name##_impl<F16> args; } \
    extern "C" __global__ void attrs name##_bf16 params { name##_impl<BF16> args; }

// KV position j of a sequence lives at slot table[j / blockSize] * blockSize + j % blockSize.
__device__ __forceinline__ long long kv_slot(const int* table, int j, int blockSize) {
    return (long long) table[j / blockSize] * blockSize + j % blockSize;
}
