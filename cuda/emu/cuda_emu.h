// A CPU stand-in for the CUDA features Quire's kernels use, to check their logic (indexing,
// masking, softmax, partition reduce) on a machine without a GPU. One OS thread per CUDA
// thread (from a pool), blocks run one after another, so `static` locals act as a block's shared memory;
// __syncthreads and warp shuffles are barriers. Not a performance model, not a memory-model
// check: numbers and index logic only. Used by cuda/emu/run.sh.
#pragma once
#include <barrier>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <semaphore>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

struct uint3 { unsigned x = 0, y = 0, z = 0; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct float2 { float x, y; };
struct uint4 { unsigned x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }

inline thread_local uint3 threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;
inline unsigned char* emu_dynamic_smem;
inline std::barrier<>* emu_block_barrier;
inline std::vector<std::unique_ptr<std::barrier<>>> emu_warp_barriers;
inline float emu_warp_exchange[32][32];

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static

inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu_warp_barriers[threadIdx.x / 32]->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    emu_warp_exchange[warp][lane] = v;
    __syncwarp();
    float r = emu_warp_exchange[warp][lane ^ lane_mask];
    __syncwarp();
    return r;
}
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
using std::min;
using std::max;

// The OS threads that play a block's CUDA threads, made once and reused: creating 128 threads
// per block per launch made the emulated GPU spend most of its time in the kernel (the OS one).
// Workers sleep on semaphores between blocks (no spinning). Never destroyed: they are detached
// and blocked when the process exits.
struct EmuPool {
    std::vector<std::binary_semaphore*> go;
    const std::function<void(int)>* job = nullptr;
    std::mutex mutex;
    std::condition_variable finished;
    int remaining = 0;

    void run(int n, const std::function<void(int)>& fn) {
        while ((int) go.size() < n) {
            int id = (int) go.size();
            auto* sem = new std::binary_semaphore(0);
            go.push_back(sem);
            std::thread([this, id, sem] {
                for (;;) {
                    sem->acquire();
                    (*job)(id);
                    std::lock_guard<std::mutex> lock(mutex);  // notify under the lock: run() cannot return mid-notify
                    if (--remaining == 0) finished.notify_all();
                }
            }).detach();
        }
        job = &fn;
        {
            std::lock_guard<std::mutex> lock(mutex);
            remaining = n;
        }
        for (int i = 0; i < n; i++) go[i]->release();
        std::unique_lock<std::mutex> lock(mutex);
        finished.wait(lock, [this] { return remaining == 0; });
    }
};
inline EmuPool& emu_pool() {
    static EmuPool* pool = new EmuPool();
    return *pool;
}

// Runs kernel() once per CUDA thread of every block of the grid. Block size must be a multiple of 32.
inline void emu_launch(dim3 grid, int block, int smemBytes, const std::function<void()>& kernel) {
    std::vector<unsigned char> smem(smemBytes + 16);
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                std::memset(smem.data(), 0xff, smem.size());  // NaN-ish garbage: unset reads show
                emu_dynamic_smem = smem.data();
                std::barrier<> bar(block);
                emu_block_barrier = &bar;
                emu_warp_barriers.clear();
                for (int w = 0; w < block / 32; w++) emu_warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
                std::function<void(int)> one = [&, bx, by, bz](int t) {
                    threadIdx = {(unsigned) t, 0, 0};
                    blockIdx = {bx, by, bz};
                    blockDim = {(unsigned) block, 1, 1};
                    gridDim = grid;
                    kernel();
                };
                emu_pool().run(block, one);
            }
}
