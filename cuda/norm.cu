#include "quire.cuh"

// RMSNorm of rows of x (FP32) into FP16 or BF16 (the next matrix product's input):
// out[r][i] = x[src][i] / sqrt(mean(x[src]^2) + eps) * w[i], src = rowIdx ? rowIdx[r] : r.
// grid.x = rows; the row index lets the final norm gather each sequence's last token.
template <class S>
__device__ __forceinline__ void rms_norm_impl(u16* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w,
                                              const int* __restrict__ rowIdx, int n, float eps) {
    __shared__ float red[32];
    int r = blockIdx.x;
    long long src = rowIdx ? rowIdx[r] : r;
    const float* xr = x + src * n;
    float ss = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    float scale = rsqrtf(ss / n + eps);
    u16* o = out + (long long) r * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) o[i] = S::store(xr[i] * scale * w[i]);
}
EXPORT_F16_BF16(, rms_norm,
        (u16* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w, const int* __restrict__ rowIdx, int n, float eps),
        (out, x, w, rowIdx, n, eps))
