// cublasGemmEx for the emulated device (see libcuda_emu.cpp): FP16 or BF16 A and B (both the
// same), FP32 C, FP32 accumulation, column-major as cuBLAS defines it. Only what Quire calls.
#include <cstring>
#include <cmath>

namespace {
float h2f(unsigned short h) { _Float16 v; memcpy(&v, &h, 2); return (float) v; }
float bf2f(unsigned short b) { unsigned u = (unsigned) b << 16; float f; memcpy(&f, &u, 4); return f; }
}

#define EXPORT __attribute__((visibility("default")))
extern "C" {
EXPORT int cublasCreate_v2(void** h) { *h = (void*) 0x4242; return 0; }
EXPORT int cublasDestroy_v2(void*) { return 0; }
EXPORT int cublasSetStream_v2(void* h, void* s) { return h == (void*) 0x4242 && s == (void*) 0x5678 ? 0 : 7; }
EXPORT int cublasSetMathMode(void*, int) { return 0; }
EXPORT const char* cublasGetStatusString(int) { return "emulated cuBLAS error"; }
// transa/transb: 0 = N, 1 = T. Atype = Btype = CUDA_R_16F (2) or CUDA_R_16BF (14), Ctype CUDA_R_32F (0).
EXPORT int cublasGemmEx(void* h, int transa, int transb, int m, int n, int k, const void* alpha, const void* A, int Atype, int lda,
                 const void* B, int Btype, int ldb, const void* beta, void* C, int Ctype, int ldc, int computeType, int algo) {
    if (h != (void*) 0x4242 || (Atype != 2 && Atype != 14) || Btype != Atype || Ctype != 0) return 7;  // CUBLAS_STATUS_INVALID_VALUE
    float (*load)(unsigned short) = Atype == 2 ? h2f : bf2f;
    const unsigned short* a = (const unsigned short*) A;
    const unsigned short* b = (const unsigned short*) B;
    float* c = (float*) C;
    float al = *(const float*) alpha, be = *(const float*) beta;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0;
            for (int l = 0; l < k; l++) {
                float av = transa ? load(a[i * (long) lda + l]) : load(a[l * (long) lda + i]);
                float bv = transb ? load(b[l * (long) ldb + j]) : load(b[j * (long) ldb + l]);
                acc += av * bv;
            }
            float* out = c + j * (long) ldc + i;
            *out = al * acc + (be == 0 ? 0 : be * *out);
        }
    return 0;
}
}
