#!/usr/bin/env bash
# The CUDA backend's device check, for a person (or session) with a GPU: one run does it all.
#
# Prepare here (a machine with Java; the GPU machine has CUDA 13 but no Java):
#   export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
#   ./mvnw -B -DskipTests package && cuda/make-runtime.sh     # fills the git-ignored .cuda-check/
# Then, with the device tool, from the checkout that holds .cuda-check/ (about 33 MiB travels):
#   run(command="bash cuda/check.sh", carry=[".cuda-check"], timeout_s=600)
# It writes its log to $OUT/cuda-check.log, and the summary table is the last thing it prints.
# Budget: about 1-2 minutes for the machine to start, then roughly 1-4 minutes here (the 1B
# random model is generated on the machine's CPU: ~1.1 G values). To skip that part:
#   run(command="QUIRE_CHECK_ARGS='--skip-1b true' bash cuda/check.sh", carry=[".cuda-check"], timeout_s=300)
#
# What it does, on the GPU machine:
#   1. unpacks the JDK 25 runtime and the application (classes + the few libraries it needs, on a
#      plain class path);
#   2. finds libcudart.so.13, libcublas(Lt).so.13 and libnvrtc.so.13 wherever they are installed
#      (CUDA toolkit folders, pip's nvidia-* packages under PyTorch's site-packages, ...) and the
#      driver's libcuda.so.1, and puts their folders on LD_LIBRARY_PATH;
#   3. runs the kernels once from the PTX (JIT) instead of the sm_90 cubin, then the CUDA JUnit
#      tests (io.quire.GpuTestsMain: CudaKernelsTest, cli.check.KernelCheckTest and CudaLlamaModelTest,
#      FP16 and BF16), then
#      io.quire.cli.CudaCheck (= `quire cuda-check`): every kernel against the CPU backend on
#      fresh random inputs, FP16 and BF16 (outputs pre-filled with NaN; relative error within 1e-3
#      for FP16, 8e-3 for BF16), the same
#      checks the CUDA JUnit tests run; every cuda/*.cu compiled with NVRTC and loaded; paged-
#      attention decode GB/s next to a device-to-device copy; a greedy stories260K completion on
#      the GPU against the CPU; decode tokens/s of a ~1B-parameter random Llama in FP16 (then BF16) at batch
#      1, 32 and 128, and the kernel launches a decode step makes. The summary table is last.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=.cuda-check
work=$(mktemp -d /tmp/quire-check.XXXX)
out="${OUT:-$work}"
log="$out/cuda-check.log"
exec > >(tee "$log") 2>&1

say() { echo "== $*"; }
# Timeouts fit the 600 s device call; QUIRE_CHECK_TIMEOUT_SCALE stretches them (the emulated GPU of
# cuda/emu is a hundred times slower than a real one).
scale=${QUIRE_CHECK_TIMEOUT_SCALE:-1}
[ -f "$bundle/jdk.tar.xz" ] || { echo "missing $bundle/jdk.tar.xz: run cuda/make-runtime.sh and carry $bundle" >&2; exit 2; }
[ -f "$bundle/app.tar.xz" ] || { echo "missing $bundle/app.tar.xz: run cuda/make-runtime.sh and carry $bundle" >&2; exit 2; }

say "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader 2>&1 | head -2
command -v nvcc >/dev/null && nvcc --version | tail -2

say "unpacking the runtime and the application"
tar -xJf "$bundle/jdk.tar.xz" -C "$work"
tar -xJf "$bundle/app.tar.xz" -C "$work"
java="$work/jdk/bin/java"
"$java" -version 2>&1 | head -1

say "CUDA libraries"
dirs=()
add_dir() { local d; d=$(dirname "$1"); for x in "${dirs[@]:-}"; do [ "$x" = "$d" ] && return; done; dirs+=("$d"); }
roots=(/usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
py_site=$(python3 -c 'import site,sys; print("\n".join(site.getsitepackages()+[site.getusersitepackages()]))' 2>/dev/null || true)
while read -r p; do [ -n "$p" ] && [ -d "$p/nvidia" ] && roots+=("$p/nvidia"); done <<< "$py_site"
roots+=(/opt /usr/local /root)
for lib in libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13 libnvrtc-builtins.so.13.0; do
  found=""
  for r in "${roots[@]}"; do
    [ -d "$r" ] || continue
    found=$(find -L "$r" -maxdepth 9 -name "$lib" \( -type f -o -type l \) 2>/dev/null | head -1)
    [ -n "$found" ] && break
  done
  if [ -z "$found" ] && [ "$lib" = libcuda.so.1 ]; then found=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}'); fi
  if [ -n "$found" ]; then echo "$lib: $found"; add_dir "$found"; else echo "$lib: NOT FOUND"; fi
done
LD_LIBRARY_PATH=$(IFS=:; echo "${dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

jvm=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g
     -Dorg.bytedeco.javacpp.cachedir="$work/javacpp" -Dlogback.configurationFile=cli-logback.xml)
app_cp=(-cp "$work/app/classes:$work/app/lib/*")
test_cp=(-cp "$work/app/classes:$work/app/test-classes:$work/app/lib/*:$work/app/testlib/*")
stories=()
[ -f "$bundle/stories260K.gguf" ] && stories=(--stories "$bundle/stories260K.gguf")

say "kernels from PTX (driver JIT) instead of the sm_90 cubin"
timeout $((60 * scale)) "$java" "${jvm[@]}" "${app_cp[@]}" -Dquire.cuda.kernels=ptx io.quire.cli.CudaCheck --skip-1b true --kernels-only true
ptx_rc=$?

say "CUDA JUnit tests (CudaKernelsTest, KernelCheckTest, CudaLlamaModelTest; a skip counts as a failure here)"
mkdir -p "$work/shared/models"  # SharedFiles finds stories260K as the tests expect it
[ -f "$bundle/stories260K.gguf" ] && ln -sf "$(pwd)/$bundle/stories260K.gguf" "$work/shared/models/stories260K.gguf"
QUIRE_SHARED_DIR="$work/shared" timeout $((90 * scale)) "$java" "${jvm[@]}" "${test_cp[@]}" io.quire.GpuTestsMain
junit_rc=$?

say "cuda-check"
# shellcheck disable=SC2086
timeout $((420 * scale)) "$java" "${jvm[@]}" "${app_cp[@]}" io.quire.cli.CudaCheck "${stories[@]}" ${QUIRE_CHECK_ARGS:-}
rc=$?
echo "cuda-check exit $rc (PTX kernels run: exit $ptx_rc; CUDA JUnit tests: exit $junit_rc)"
[ $rc -eq 0 ] && [ $ptx_rc -eq 0 ] && [ $junit_rc -eq 0 ]
