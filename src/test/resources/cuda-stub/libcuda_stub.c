/*
 * A stand-in libcuda.so.1 for machines without a GPU, for CudaPlumbingTest only: "device" memory
 * is host memory, copies are memcpy, and a kernel launch prints its name, grid and first argument
 * values instead of running. It checks the Java side's calls into the JavaCPP driver bindings
 * (handles returned through pointers, argument arrays, host and device addresses), not kernels.
 * Functions it lacks resolve lazily, so calling one would end the test JVM: that is a failure too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTX ((void*) 0x1234)
#define STREAM ((void*) 0x5678)
#define BAD_STREAM 400

int cuInit(unsigned f) { return 0; }
int cuDeviceGetCount(int* c) { *c = 1; return 0; }
int cuDeviceGet(int* d, int o) { *d = o; return 0; }
int cuDeviceGetName(char* n, int len, int d) { strncpy(n, "Stub GPU", len); return 0; }
int cuDeviceGetAttribute(int* v, int a, int d) { *v = a == 75 ? 9 : a == 76 ? 0 : a == 16 ? 132 : 0; return 0; }
int cuDevicePrimaryCtxRetain(void** c, int d) { *c = CTX; return 0; }
int cuCtxSetCurrent(void* c) { return c == CTX ? 0 : 201; }
int cuStreamCreate(void** s, unsigned f) { *s = STREAM; return 0; }
int cuStreamSynchronize(void* s) { return s == STREAM ? 0 : BAD_STREAM; }
int cuStreamDestroy_v2(void* s) { return 0; }
int cuMemGetInfo_v2(size_t* f, size_t* t) { *f = 1ull << 30; *t = 2ull << 30; return 0; }
int cuMemAlloc_v2(unsigned long long* p, size_t n) { *p = (unsigned long long) malloc(n); return 0; }
int cuMemFree_v2(unsigned long long p) { free((void*) p); return 0; }
int cuMemcpyHtoD_v2(unsigned long long d, const void* s, size_t n) { memcpy((void*) d, s, n); return 0; }
int cuMemcpyDtoH_v2(void* d, unsigned long long s, size_t n) { memcpy(d, (void*) s, n); return 0; }
int cuMemcpyDtoDAsync_v2(unsigned long long d, unsigned long long s, size_t n, void* st) {
    if (st != STREAM) return BAD_STREAM;
    memcpy((void*) d, (void*) s, n);
    return 0;
}
int cuMemcpyDtoHAsync_v2(void* d, unsigned long long s, size_t n, void* st) {
    if (st != STREAM) return BAD_STREAM;
    memcpy(d, (void*) s, n);
    return 0;
}
int cuMemcpyHtoDAsync_v2(unsigned long long d, const void* s, size_t n, void* st) {
    if (st != STREAM) return BAD_STREAM;
    memcpy((void*) d, s, n);
    return 0;
}
int cuMemsetD32_v2(unsigned long long d, unsigned v, size_t n) {
    unsigned* p = (unsigned*) d;
    for (size_t i = 0; i < n; i++) p[i] = v;
    return 0;
}
int cuMemHostAlloc(void** p, size_t n, unsigned f) { *p = malloc(n); return 0; }
int cuMemFreeHost(void* p) { free(p); return 0; }
int cuGetErrorName(int e, const char** s) { *s = "CUDA_ERROR_STUB"; return 0; }
int cuGetErrorString(int e, const char** s) { *s = "stub"; return 0; }
int cuModuleLoadData(void** m, const void* img) { *m = (void*) 0x9999; return 0; }
int cuModuleGetFunction(void** f, void* m, const char* n) { *f = strdup(n); return 0; }
int cuModuleUnload(void* m) { return 0; }
int cuFuncSetAttribute(void* f, int a, int v) { fprintf(stderr, "stub attribute %s %d=%d\n", (char*) f, a, v); return 0; }
int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned sm,
                   void* st, void** p, void** e) {
    if (st != STREAM) return BAD_STREAM;
    fprintf(stderr, "stub launch %s <<<(%u,%u,%u),(%u,%u,%u),%u>>> args:", (char*) f, gx, gy, gz, bx, by, bz, sm);
    for (int i = 0; i < 3; i++) fprintf(stderr, " %llx", *(unsigned long long*) p[i]);
    fprintf(stderr, "\n");
    return 0;
}
int cuEventCreate(void** e, unsigned f) { *e = malloc(8); return 0; }
int cuEventRecord(void* e, void* s) { return s == STREAM ? 0 : BAD_STREAM; }
int cuEventSynchronize(void* e) { return 0; }
int cuEventElapsedTime_v2(float* ms, void* a, void* b) { *ms = 1.5f; return 0; }
int cuEventDestroy_v2(void* e) { free(e); return 0; }
