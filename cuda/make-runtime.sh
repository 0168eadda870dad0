#!/usr/bin/env bash
# Prepares, on a machine with Java, everything cuda/check.sh needs on the GPU machine (which has
# CUDA 13 but no Java), in the git-ignored folder .cuda-check/:
#   jdk.tar.xz        a jlink'd JDK 25 runtime: java.base, jdk.unsupported, jdk.incubator.vector
#                     and the few modules the jar needs (java.logging, java.xml for logback's
#                     config, java.naming, java.management), libjvm.so stripped of its symbols
#   app.tar.xz        from the jar built beforehand (./mvnw -DskipTests package): its classes
#                     and only the libraries the check uses (JavaCPP + CUDA presets, SLF4J,
#                     logback), about 9 MB where the whole server jar is over 40 MB; and the
#                     test classes with JUnit and AssertJ, for the CUDA JUnit tests (GpuTestsMain)
#   stories260K.gguf  the greedy-completion model (1.2 MB), if /work/shared has it
# and checks that all that travels stays under the device tool's 64 MiB.
#
# jlink runs with --compress=zip-0, not zip-9: xz then packs the uncompressed module image to
# about 15 MB, where the zip-9 image barely shrinks (about 25 MB).
# Usage: cuda/make-runtime.sh   (from anywhere; after ./mvnw -DskipTests package)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jdk="${JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
out="$root/.cuda-check"
mkdir -p "$out"

jar=$(ls "$root"/target/quire-*.jar 2>/dev/null | grep -v -e '-plain.jar$' -e sources -e javadoc | head -1 || true)
[ -n "$jar" ] || { echo "no target/quire-*.jar: run ./mvnw -DskipTests package first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f "$out/quire.jar"
mkdir -p "$tmp/app/lib"
(cd "$tmp/app" && unzip -q "$jar" 'BOOT-INF/classes/*' 'BOOT-INF/lib/*')
for f in "$tmp"/app/BOOT-INF/lib/*.jar; do
  case "$(basename "$f")" in javacpp-*|cuda-*|slf4j-api-*|logback-*) mv "$f" "$tmp/app/lib/";; esac
done
mv "$tmp/app/BOOT-INF/classes" "$tmp/app/classes"
rm -rf "$tmp/app/BOOT-INF"
[ -d "$root/target/test-classes/io" ] || { echo "no target/test-classes: build with ./mvnw -DskipTests package (it compiles the tests)" >&2; exit 1; }
mkdir -p "$tmp/app/test-classes" "$tmp/app/testlib"
cp -r "$root/target/test-classes/io" "$tmp/app/test-classes/"
(cd "$root" && ./mvnw -q -B dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$tmp/testcp.txt" >/dev/null)
tr ':' '\n' < "$tmp/testcp.txt" | grep -E '/(junit-[a-z-]+|opentest4j|apiguardian-api|assertj-core|byte-buddy)-[0-9][^/]*\.jar$' | xargs -I{} cp {} "$tmp/app/testlib/"
tar -C "$tmp" -cf - app | xz -9 -T0 > "$out/app.tar.xz"
"$jdk/bin/jlink" --strip-debug --no-header-files --no-man-pages --compress=zip-0 \
  --add-modules java.base,jdk.unsupported,jdk.incubator.vector,java.logging,java.xml,java.naming,java.management \
  --output "$tmp/jdk" 2> >(grep -v 'incubator modules' >&2)
strip --strip-unneeded "$tmp/jdk/lib/server/libjvm.so" 2>/dev/null || echo "strip not found: libjvm.so keeps its symbols (bigger archive)"
tar -C "$tmp" -cf - jdk | xz -9 -T0 > "$out/jdk.tar.xz"

stories="${STORIES:-/work/shared/models/stories260K.gguf}"
if [ -f "$stories" ]; then cp "$stories" "$out/stories260K.gguf"; else echo "note: $stories not found; the greedy check will be skipped"; fi

# What travels: tracked files, untracked files git does not ignore, and the carried .cuda-check.
tree=$(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carried=$(du -cb "$out" | tail -1 | cut -f1)
total=$((tree + carried))
printf 'working tree %.1f MiB + .cuda-check %.1f MiB = %.1f MiB (limit 64 MiB)\n' \
  "$(echo "$tree/1048576" | bc -l)" "$(echo "$carried/1048576" | bc -l)" "$(echo "$total/1048576" | bc -l)"
ls -la "$out"
[ "$total" -lt $((63 * 1048576)) ] || { echo "too big to travel" >&2; exit 1; }
