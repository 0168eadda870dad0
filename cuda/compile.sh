#!/usr/bin/env bash
# Compiles every cuda/*.cu with nvcc to PTX (compute_90: any GPU of compute capability >= 9.0
# JIT-compiles it) and to cubin (sm_90: loads on Hopper with no JIT) into one folder, by default
# target/classes/cuda so that they are packaged as jar resources. The Maven profile "cuda-kernels"
# runs it when /usr/local/cuda/bin/nvcc exists. Skips the work when every output is newer than
# every source, so repeated builds stay fast. Usage: cuda/compile.sh [OUTPUT_DIR]
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-$src/../target/classes/cuda}" && cd "${1:-$src/../target/classes/cuda}" && pwd)"
nvcc="${NVCC:-/usr/local/cuda/bin/nvcc}"
cd "$src"
shopt -s nullglob
sources=(*.cu)
[ ${#sources[@]} -gt 0 ] || { echo "no cuda/*.cu sources" >&2; exit 1; }
stale=0
for f in "${sources[@]}"; do
  b="${f%.cu}"
  for o in "$out/$b.ptx" "$out/$b.cubin"; do
    if [ ! -e "$o" ]; then stale=1; continue; fi
    for dep in "$f" *.cuh; do [ "$dep" -nt "$o" ] && stale=1; done
  done
done
if [ $stale = 0 ]; then echo "cuda kernels up to date in $out"; exit 0; fi
echo "nvcc: ${sources[*]} -> $out (compute_90 PTX, sm_90 cubin)"
flags=(-std=c++17 -I. -Xptxas -warn-spills --output-directory "$out")
"$nvcc" -arch=compute_90 -ptx "${flags[@]}" "${sources[@]}" & ptx=$!
"$nvcc" -arch=sm_90 -cubin "${flags[@]}" "${sources[@]}" & cubin=$!
wait $ptx; wait $cubin
