// An emulated GPU for machines without one: a libcuda.so.1 whose "device memory" is host memory
// and whose cuLaunchKernel runs Quire's kernels (compiled for the CPU through cuda_emu.h) by
// name. With libcublas_emu.cpp it lets the real Java backend (JavaCPP bindings, CudaLlamaModel,
// KernelCheck) run end to end on the CPU, to check everything but the GPU itself. Slow; small
// problems only. Built by cuda/emu/build-libs.sh.
#include <math.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include "cuda_emu.h"
#define QUIRE_EMU 1
#include "attention.cu"
#include "cache.cu"
#include "norm.cu"
#include "rope.cu"
#include "elementwise.cu"
#include "quant.cu"

namespace {
template <typename... A, std::size_t... I>
void call_impl(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*reinterpret_cast<A*>(p[I])...);
}
template <typename... A>
void call(void (*f)(A...), void** p) {
    call_impl(f, p, std::index_sequence_for<A...>{});
}

struct Kernel {
    const char* name;
    bool barriers;  // uses __syncthreads or shuffles: needs one OS thread per CUDA thread
    void (*run)(void**);
};

#define K(fn, barriers) Kernel{#fn, barriers, [](void** p) { call(fn, p); }}
// K2: a kernel of both 16-bit types (quire.cuh's EXPORT_F16_BF16).
#define K2(fn, barriers) K(fn##_f16, barriers), K(fn##_bf16, barriers)
const Kernel kernels[] = {
    K2(paged_attention_decode, true), K2(paged_attention_reduce, true), K2(paged_attention_prefill, true),
    K2(reshape_and_cache, false), K(copy_blocks, false), K2(rms_norm, true), K(rope, false),
    K2(silu_mul, false), K(add, false), K(add_bias, false), K2(embedding, false),
    K(f32_to_f16, false), K(f16_to_f32, false), K(f32_to_bf16, false), K(bf16_to_f32, false), K(bf16_to_f16, false),
    K(f16_to_bf16, false), K2(dequant_q8_0, false), K2(dequant_q4_0, false),
    K2(dequant_q4_1, false), K2(dequant_q5_0, false), K2(dequant_q5_1, false), K2(dequant_iq4_nl, false),
    K2(dequant_q2_k, false), K2(dequant_q3_k, false), K2(dequant_q4_k, false), K2(dequant_q5_k, false),
    K2(dequant_q6_k, false), K2(dequant_iq4_xs, false),
};

void* const CTX = (void*) 0x1234;
void* const STREAM = (void*) 0x5678;
}  // namespace

#define EXPORT __attribute__((visibility("default")))
extern "C" {
EXPORT int cuInit(unsigned) { return 0; }
// libnvrtc looks for the driver's private export table when libcuda.so.1 is loaded; the
// emulation has none (an error, as an old driver would answer).
EXPORT int cuGetExportTable(const void**, const void*) { return 500; }
EXPORT int cuDeviceGetCount(int* c) { *c = 1; return 0; }
EXPORT int cuDeviceGet(int* d, int o) { *d = o; return 0; }
EXPORT int cuDeviceGetName(char* n, int len, int) { strncpy(n, "Emulated GPU (CPU)", len); return 0; }
EXPORT int cuDeviceGetAttribute(int* v, int a, int) { *v = a == 75 ? 9 : a == 76 ? 0 : a == 16 ? 4 : 0; return 0; }
EXPORT int cuDevicePrimaryCtxRetain(void** c, int) { *c = CTX; return 0; }
EXPORT int cuCtxSetCurrent(void* c) { return c == CTX ? 0 : 201; }
EXPORT int cuStreamCreate(void** s, unsigned) { *s = STREAM; return 0; }
EXPORT int cuStreamSynchronize(void* s) { return s == STREAM ? 0 : 400; }
EXPORT int cuStreamDestroy_v2(void*) { return 0; }
EXPORT int cuMemGetInfo_v2(size_t* f, size_t* t) { *f = 4ull << 30; *t = 8ull << 30; return 0; }
EXPORT int cuMemAlloc_v2(unsigned long long* p, size_t n) { *p = (unsigned long long) malloc(n); return *p ? 0 : 2; }
EXPORT int cuMemFree_v2(unsigned long long p) { free((void*) p); return 0; }
EXPORT int cuMemcpyHtoD_v2(unsigned long long d, const void* s, size_t n) { memcpy((void*) d, s, n); return 0; }
EXPORT int cuMemcpyDtoH_v2(void* d, unsigned long long s, size_t n) { memcpy(d, (void*) s, n); return 0; }
EXPORT int cuMemcpyDtoDAsync_v2(unsigned long long d, unsigned long long s, size_t n, void* st) { if (st != STREAM) return 400; memmove((void*) d, (void*) s, n); return 0; }
EXPORT int cuMemcpyDtoHAsync_v2(void* d, unsigned long long s, size_t n, void* st) { if (st != STREAM) return 400; memcpy(d, (void*) s, n); return 0; }
EXPORT int cuMemcpyHtoDAsync_v2(unsigned long long d, const void* s, size_t n, void* st) { if (st != STREAM) return 400; memcpy((void*) d, s, n); return 0; }
EXPORT int cuMemsetD32_v2(unsigned long long d, unsigned v, size_t n) { unsigned* p = (unsigned*) d; for (size_t i = 0; i < n; i++) p[i] = v; return 0; }
EXPORT int cuMemHostAlloc(void** p, size_t n, unsigned) { *p = malloc(n); return *p ? 0 : 2; }
EXPORT int cuMemFreeHost(void* p) { free(p); return 0; }
EXPORT int cuGetErrorName(int, const char** s) { *s = "CUDA_ERROR_EMU"; return 0; }
EXPORT int cuGetErrorString(int, const char** s) { *s = "emulated device"; return 0; }
EXPORT int cuModuleLoadData(void** m, const void*) { *m = (void*) 0x9999; return 0; }
EXPORT int cuModuleUnload(void*) { return 0; }
EXPORT int cuModuleGetFunction(void** f, void*, const char* n) {
    for (const Kernel& k : kernels) if (strcmp(k.name, n) == 0) { *f = (void*) &k; return 0; }
    return 500;  // CUDA_ERROR_NOT_FOUND
}
EXPORT int cuFuncSetAttribute(void*, int, int) { return 0; }
EXPORT int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned smem,
                   void* st, void** p, void**) {
    if (st != STREAM) return 400;
    if (by != 1 || bz != 1 || bx % 32 != 0 || bx > 1024) return 1;  // CUDA_ERROR_INVALID_VALUE
    const Kernel* k = (const Kernel*) f;
    dim3 grid{gx, gy, gz};
    if (k->barriers) {
        emu_launch(grid, (int) bx, (int) smem, [&] { k->run(p); });
    } else {
        for (unsigned z = 0; z < gz; z++)
            for (unsigned y = 0; y < gy; y++)
                for (unsigned x = 0; x < gx; x++)
                    for (unsigned t = 0; t < bx; t++) {
                        threadIdx = {t, 0, 0};
                        blockIdx = {x, y, z};
                        blockDim = {bx, 1, 1};
                        gridDim = grid;
                        k->run(p);
                    }
    }
    return 0;
}
EXPORT int cuEventCreate(void** e, unsigned) { *e = malloc(8); return 0; }
EXPORT int cuEventRecord(void*, void* s) { return s == STREAM ? 0 : 400; }
EXPORT int cuEventSynchronize(void*) { return 0; }
EXPORT int cuEventElapsedTime_v2(float* ms, void*, void*) { *ms = 1.f; return 0; }
EXPORT int cuEventDestroy_v2(void* e) { free(e); return 0; }
}
