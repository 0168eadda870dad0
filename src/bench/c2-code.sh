#!/usr/bin/env bash
# Prints the machine code C2 made of one method, disassembled, without an hsdis library: the JVM prints
# the code as hex (-XX:CompileCommand=print) and objdump reads it back. For kernel work: count what a
# loop costs, find a range check or a spilled register (docs/performance.md shows what it found).
#
#   bash src/bench/c2-code.sh CLASS::METHOD [quire arguments...]
#   bash src/bench/c2-code.sh io.quire.backend.cpu.KQuantDot::q4k \
#        bench kernels --rows 3072 --cols 768 --types Q4_K --batches 1 --threads 1 --repeats 301
#
# Runs target/quire-0.1.0-SNAPSHOT.jar (QUIRE_JAR to change it) with $JAVA_HOME/bin/java and prints the
# last C2 compilation of the method that is not an on-stack replacement (the one later calls run).
# Needs python3 and objdump (binutils).
set -euo pipefail
[ $# -ge 1 ] || { sed -n 6,8p "$0"; exit 2; }
method=$1; shift
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
jar=${QUIRE_JAR:-target/quire-0.1.0-SNAPSHOT.jar}
log=$(mktemp); bin=$(mktemp)
trap 'rm -f "$log" "$bin"' EXIT
"$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UnlockDiagnosticVMOptions \
    "-XX:CompileCommand=print,$method" -jar "$jar" "$@" > "$log" 2>&1 || true
base=$(python3 - "$log" "$bin" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().split("\n")
starts = [i for i, l in enumerate(lines) if l.startswith("Compiled method (c2)") and " % " not in l]
if not starts:
    sys.exit("no C2 compilation of the method was printed (did it run enough to be compiled?)")
first = starts[-1]
print(lines[first], file=sys.stderr)
code, base = bytearray(), None
for l in lines[first + 1:]:
    if l.startswith("====") or l.startswith("Compiled method"):
        break
    m = re.match(r"\s+0x([0-9a-f]+): ((?:[0-9a-f]{4} ?[0-9a-f]{0,4}\s*\|?\s*)+)$", l)
    if not m:
        continue
    addr = int(m.group(1), 16)
    if base is None:
        base = addr
    if addr - base < len(code):
        continue  # a line printed twice (a comment between)
    code += b"\x90" * (addr - base - len(code)) + bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(2)))
open(sys.argv[2], "wb").write(code)
print(hex(base))
PY
)
objdump -D -b binary -mi386:x86-64 --adjust-vma="$base" "$bin" | tail -n +8
