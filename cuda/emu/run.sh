#!/usr/bin/env bash
# Checks the kernels' logic on the CPU (no GPU): builds cuda/emu/emu_check.cpp with g++ against
# cuda_emu.h and the kernel sources, with `extern __shared__` arrays pointed at the emulated
# block's dynamic shared memory, and runs it. Usage: cuda/emu/run.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../target/cuda-emu}"
mkdir -p "$build"
for f in "$here"/../*.cu "$here"/../*.cuh; do
  sed -E 's/extern __shared__ float ([A-Za-z_]+)\[\];/float* \1 = (float*) emu_dynamic_smem;/' "$f" > "$build/$(basename "$f")"
done
g++ -std=c++20 -O2 -pthread -Wno-unknown-pragmas -Wno-narrowing -I"$here" -I"$build" -o "$build/emu_check" "$here/emu_check.cpp"
"$build/emu_check"
