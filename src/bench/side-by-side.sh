#!/usr/bin/env bash
# Quire and llama.cpp's server on the same GGUF file, measured side by side: each round runs Quire,
# then llama.cpp, through the same OpenAI streaming client (`quire bench serve`), and the table gives
# each figure per round, the medians and their ratio. Run it on a quiet machine.
#
#   LLAMA_SERVER=/path/to/llama-server bash src/bench/side-by-side.sh MODEL.gguf [ROUNDS] [OUT_DIR]
#
# Needs a built jar (./mvnw -DskipTests package), JAVA_HOME at a JDK 25, and a llama-server you built
# yourself (the project does not build or ship llama.cpp). Scenarios: one stream with a short prompt
# (time to first token), one stream of 128 tokens (output tok/s), a 500-token prompt with one output
# token (time to first token: prefill), and 32 concurrent streams of 64 requests (~100-token prompts,
# 128 out; output tok/s). Prompt caching is off on both, as the synthetic prompts repeat words.
# llama.cpp runs in its best configuration for each: one slot for one stream (more slots cost it time
# per token), 32 slots of 1024 tokens for 32 streams; -t sets its threads (THREADS, default: all cores).
set -euo pipefail
MODEL=${1:?usage: LLAMA_SERVER=... side-by-side.sh MODEL.gguf [ROUNDS] [OUT_DIR]}
ROUNDS=${2:-2}
OUT=${3:-side-by-side-$(date +%Y%m%d-%H%M%S)}
LLAMA=${LLAMA_SERVER:?set LLAMA_SERVER to your llama-server binary}
THREADS=${THREADS:-$(nproc)}
JAVA=${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java
JAR=${QUIRE_JAR:-$(ls target/quire-*.jar | grep -v original | head -1)}
# Extra request fields for both servers, e.g. a logit_bias that keeps a random model off byte tokens.
EXTRA=${EXTRA_BODY:-'{}'}
# Extra Quire settings, space-separated, e.g. QUIRE_ARGS="--quire.block-size=128".
read -r -a QARGS <<< "${QUIRE_ARGS:-}"
# Extra llama-server flags, space-separated, e.g. LLAMA_ARGS="--spec-type ngram-simple" beside a Quire
# started with --quire.speculative-config (a JSON without spaces there).
read -r -a LARGS <<< "${LLAMA_ARGS:-}"
mkdir -p "$OUT"

bench() { # name port options...
    local name=$1 port=$2; shift 2
    "$JAVA" -jar "$JAR" bench serve --base-url "http://127.0.0.1:$port" --seed 1 --extra-body "$EXTRA" \
        --result-json "$OUT/$name.json" "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err" || true
}
single() {
    # 24 short prompts: a median of 8 moved by 10-20% from round to round (a short prompt's TTFT is
    # tens of milliseconds, and a fresh server's first requests run slower).
    bench "$1-ttft-short" "$2" --num-prompts 24 --max-concurrency 1 --random-input-len 16 --random-output-len 4
    bench "$1-one-stream" "$2" --num-prompts 4 --max-concurrency 1 --random-input-len 16 --random-output-len 128
    bench "$1-prefill500" "$2" --num-prompts 4 --max-concurrency 1 --random-input-len 500 --random-output-len 1
}
many() {
    bench "$1-32-streams" "$2" --num-prompts 64 --max-concurrency 32 --random-input-len 100 --random-output-len 128
}
up() { for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$1/v1/models" > /dev/null && return 0; sleep 0.5; done; return 1; }
stop() { kill "$1" 2> /dev/null; wait "$1" 2> /dev/null || true; }

for r in $(seq 1 "$ROUNDS"); do
    echo "round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
    "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms32m -jar "$JAR" \
        --quire.model="$MODEL" --server.port=8100 --quire.enable-prefix-caching=false ${QARGS[@]+"${QARGS[@]}"} \
        > "$OUT/quire-$r.log" 2>&1 &
    pid=$!; up 8100 || { echo "Quire did not start: $OUT/quire-$r.log"; exit 1; }
    single "quire-$r" 8100; many "quire-$r" 8100
    ps -o rss= -p "$pid" > "$OUT/quire-$r.rss"; stop "$pid"
    "$LLAMA" -m "$MODEL" -t "$THREADS" --port 8101 -np 1 -c 1024 --no-cache-prompt ${LARGS[@]+"${LARGS[@]}"} \
        > "$OUT/llama-$r-1.log" 2>&1 &
    pid=$!; up 8101 || { echo "llama-server did not start: $OUT/llama-$r-1.log"; exit 1; }
    single "llama-$r" 8101; stop "$pid"
    "$LLAMA" -m "$MODEL" -t "$THREADS" --port 8101 -np 32 -c 32768 --no-cache-prompt ${LARGS[@]+"${LARGS[@]}"} \
        > "$OUT/llama-$r-32.log" 2>&1 &
    pid=$!; up 8101 || { echo "llama-server did not start: $OUT/llama-$r-32.log"; exit 1; }
    many "llama-$r" 8101; stop "$pid"
done
echo "end, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"

# One figure of every round's table: "-" where a run failed (its .err file says why).
figure() { # server scenario label
    for r in $(seq 1 "$ROUNDS"); do
        local f="$OUT/$1-$r-$2.txt" v
        v=$(grep -F "$3" "$f" 2> /dev/null | awk -F: '{gsub(/ /, "", $2); print $2}')
        if grep -q "^Failed requests: *0$" "$f" 2> /dev/null && [ -n "$v" ]; then echo "$v"; else echo "-"; fi
    done
}
median() { { grep -v '^-$' || true; } | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "| measure | Quire | llama.cpp | Quire / llama.cpp (medians; > 1: Quire better) |"
echo "|---|---|---|---|"
row() { # label scenario line higher-is-better
    local q l mq ml
    q=$(figure quire "$2" "$3" | paste -sd, -); l=$(figure llama "$2" "$3" | paste -sd, -)
    mq=$(figure quire "$2" "$3" | median); ml=$(figure llama "$2" "$3" | median)
    local ratio="-"
    if [ "$mq" != "-" ] && [ "$ml" != "-" ]; then
        ratio=$(awk -v a="$mq" -v b="$ml" -v up="$4" 'BEGIN {printf "%.2fx", up ? a / b : b / a}')
    fi
    echo "| $1 | $q | $l | $ratio |"
}
row "32 streams, output tok/s" 32-streams "Output token throughput" 1
row "one stream, output tok/s" one-stream "Output token throughput" 1
row "one stream, short prompt: median TTFT ms" ttft-short "Median TTFT" 0
row "one stream, 500-token prompt: median TTFT ms" prefill500 "Median TTFT" 0
echo "Quire RSS (KiB) per round: $(cat "$OUT"/quire-*.rss | paste -sd, -)"
