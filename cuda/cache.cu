// The paged KV cache: per layer, keys and values of [block][offset][kvHead][headDim] in FP16 or
// BF16, the CPU PagedKvCache's layout, so slot s holds one token's K (or V) of all KV heads.
#include "quire.cuh"

// vLLM's reshape_and_cache: token t's K and V (FP32, kvDim values each, at k + t * stride and
// v + t * stride: columns of the fused QKV projection's output) go to slot slots[t]; a negative
// slot means "do not store". grid.x = tokens.
template <class S>
__device__ __forceinline__ void reshape_and_cache_impl(u16* __restrict__ kcache, u16* __restrict__ vcache,
                                                       const float* __restrict__ k, const float* __restrict__ v,
                                                       const int* __restrict__ slots, int kvDim, int stride) {
    int t = blockIdx.x;
    long long slot = slots[t];
    if (slot < 0) return;
    u16* kd = kcache + slot * kvDim;
    u16* vd = vcache + slot * kvDim;
    const float* ks = k + (long long) t * stride;
    const float* vs = v + (long long) t * stride;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        kd[i] = S::store(ks[i]);
        vd[i] = S::store(vs[i]);
    }
}
EXPORT_F16_BF16(, reshape_and_cache,
        (u16* __restrict__ kcache, u16* __restrict__ vcache, const float* __restrict__ k, const float* __restrict__ v,
         const int* __restrict__ slots, int kvDim, int stride),
        (kcache, vcache, k, v, slots, kvDim, stride))

// Copy-on-write: for each pair p, block mapping[2p] -> mapping[2p+1] in every layer, K and V.
// Each layer's K starts layerStride values after the previous one (V likewise). A copy of 16-bit
// values, so one kernel serves FP16 and BF16. grid = (pairs, layers); blockHalves = blockSize * kvDim (even).
extern "C" __global__ void copy_blocks(u16* kcache, u16* vcache, const int* __restrict__ mapping,
                                       long long layerStride, int blockHalves) {
    int p = blockIdx.x, layer = blockIdx.y;
    long long src = (long long) mapping[2 * p] * blockHalves + layer * layerStride;
    long long dst = (long long) mapping[2 * p + 1] * blockHalves + layer * layerStride;
    const unsigned* ks = (const unsigned*) (kcache + src);
    const unsigned* vs = (const unsigned*) (vcache + src);
    unsigned* kd = (unsigned*) (kcache + dst);
    unsigned* vd = (unsigned*) (vcache + dst);
    for (int i = threadIdx.x; i < blockHalves / 2; i += blockDim.x) {
        kd[i] = ks[i];
        vd[i] = vs[i];
    }
}
