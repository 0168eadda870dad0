// The paged KV cache: per layer, keys and values of [block][offset][kvHead][headDim] in FP16,
// the same layout as the CPU's PagedKvCache, so slot s holds one token's K (or V) of all KV heads.
#include "quire.cuh"

// vLLM's reshape_and_cache: token t's K and V (FP32, kvDim values each) go to slot slots[t];
// a negative slot means "do not store". grid.x = tokens.
extern "C" __global__ void reshape_and_cache(half_t* __restrict__ kcache, half_t* __restrict__ vcache,
                                             const float* __restrict__ k, const float* __restrict__ v,
                                             const int* __restrict__ slots, int kvDim) {
    int t = blockIdx.x;
    long long slot = slots[t];
    if (slot < 0) return;
    half_t* kd = kcache + slot * kvDim;
    half_t* vd = vcache + slot * kvDim;
    const float* ks = k + (long long) t * kvDim;
    const float* vs = v + (long long) t * kvDim;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        kd[i] = f2h(ks[i]);
        vd[i] = f2h(vs[i]);
    }
}

// Copy-on-write: for each pair p, block mapping[2p] -> mapping[2p+1] in every layer, K and V.
// Each layer's K starts layerStride halves after the previous one (V likewise).
// grid = (pairs, layers); blockHalves = blockSize * kvDim (even).
extern "C" __global__ void copy_blocks(half_t* kcache, half_t* vcache, const int* __restrict__ mapping,
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
