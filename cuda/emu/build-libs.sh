#!/usr/bin/env bash
# Builds the emulated GPU (libcuda.so.1, libcublas.so.13, libcublasLt.so.13) into a folder, for
# running the Java backend on the CPU: LD_LIBRARY_PATH=<folder>:/usr/local/cuda/lib64 (the real
# libcudart.so.13 is needed). Usage: cuda/emu/build-libs.sh OUTPUT_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
src="$out/src"
mkdir -p "$src"
for f in "$here"/../*.cu "$here"/../*.cuh; do
  sed -E 's/extern __shared__ float ([A-Za-z_]+)\[\];/float* \1 = (float*) emu_dynamic_smem;/' "$f" > "$src/$(basename "$f")"
done
# Hidden visibility: only the driver/cuBLAS entry points are exported, so the kernels' plain C
# names (add, rope, ...) cannot interpose symbols of other libraries in the process.
flags=(-std=c++20 -O2 -fPIC -shared -pthread -fvisibility=hidden -fvisibility-inlines-hidden -Wno-unknown-pragmas -Wno-narrowing)
g++ "${flags[@]}" -I"$here" -I"$src" -Wl,-soname,libcuda.so.1 -o "$out/libcuda.so.1" "$here/libcuda_emu.cpp"
echo 'libcublas.so.13 { global: *; };' > "$src/cublas.map"
echo 'libcublasLt.so.13 { global: *; };' > "$src/cublasLt.map"
g++ "${flags[@]}" -Wl,-soname,libcublas.so.13 -Wl,--version-script="$src/cublas.map" -o "$out/libcublas.so.13" "$here/libcublas_emu.cpp"
echo 'extern "C" __attribute__((visibility("default"))) int cublasLtEmuPresent() { return 1; }' > "$src/lt.cpp"
g++ "${flags[@]}" -Wl,-soname,libcublasLt.so.13 -Wl,--version-script="$src/cublasLt.map" -o "$out/libcublasLt.so.13" "$src/lt.cpp"
echo "emulated GPU libraries in $out"
