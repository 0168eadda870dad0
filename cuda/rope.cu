#include "quire.cuh"

// Rotary position embedding in place on FP32 heads: token t's heads start at x + t * stride (one
// launch rotates the query and key heads, adjacent in the fused QKV output), with cos/sin tables
// [position][headDim/2] computed on the host exactly as the CPU's Rope does. neox = 0 rotates
// pairs (x[2i], x[2i+1]) (Llama in GGUF), neox = 1 rotates (x[i], x[i + headDim/2]) (Qwen2, NeoX).
// One thread per (token, head, pair).
extern "C" __global__ void rope(float* __restrict__ x, const int* __restrict__ positions, const float* __restrict__ cosT,
                                const float* __restrict__ sinT, int tokens, int heads, int headDim, int stride, int neox) {
    int half = headDim / 2;
    long long idx = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long total = (long long) tokens * heads * half;
    if (idx >= total) return;
    int i = (int) (idx % half);
    long long th = idx / half;  // token * heads + head
    int t = (int) (th / heads), head = (int) (th % heads);
    long long base = (long long) positions[t] * half + i;
    float c = cosT[base], s = sinT[base];
    float* h = x + (long long) t * stride + head * headDim;
    int a = neox ? i : 2 * i;
    int b = neox ? i + half : 2 * i + 1;
    float x0 = h[a], x1 = h[b];
    h[a] = x0 * c - x1 * s;
    h[b] = x0 * s + x1 * c;
}
