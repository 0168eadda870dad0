#!/usr/bin/env bash
# Quire with and without n-gram speculative decoding on the same model, A B A B: each round starts
# the server without drafts, then with SPEC (vLLM's --speculative-config JSON), and runs one stream
# (6 requests, 16-token prompts, 128 out) and 32 streams (64 requests, ~100-token prompts, 128 out)
# through `quire bench serve` at temperature T; the line per run gives output tok/s and, with drafts,
# vLLM's spec-decode counters (drafted and accepted tokens) after each scenario. Run it on a quiet machine.
#
#   bash src/bench/speculative.sh MODEL.gguf [T] [ROUNDS] [SPEC]
#
# Needs a built jar (./mvnw -DskipTests package) and JAVA_HOME at a JDK 25. Outputs repeat their
# context more or less by model and temperature, and drafts pay only where they do: report the
# temperature and the acceptance with the speed.
set -euo pipefail
MODEL=${1:?usage: speculative.sh MODEL.gguf [TEMPERATURE] [ROUNDS] [SPEC]}
T=${2:-0}
ROUNDS=${3:-2}
SPEC=${4:-'{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4, "prompt_lookup_min": 1}'}
JAVA=${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java
JAR=${QUIRE_JAR:-$(ls target/quire-*.jar | grep -v original | head -1)}
EXTRA=${EXTRA_BODY:-'{}'}
PORT=${PORT:-8100}
OUT=$(mktemp -d)

counters() {
    curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^vllm:spec_decode_num_draft_tokens_total/ {d=$NF}
        /^vllm:spec_decode_num_accepted_tokens_total/ {a=$NF} END {if (d != "") printf "%d drafted, %d kept", d, a}'
}
for round in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
        args=()
        [ "$mode" = on ] && args=("--quire.speculative-config=$SPEC")
        "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms32m \
            -jar "$JAR" --quire.model="$MODEL" --server.port="$PORT" --quire.enable-prefix-caching=false \
            "${args[@]}" > "$OUT/server-$mode-$round.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break; sleep 0.5; done
        "$JAVA" -jar "$JAR" bench serve --base-url "http://127.0.0.1:$PORT" --seed 1 --extra-body "$EXTRA" \
            --temperature "$T" --num-prompts 6 --max-concurrency 1 --random-input-len 16 --random-output-len 128 \
            > "$OUT/one-$mode-$round.txt" 2>&1 || true
        after_one=$(counters)
        "$JAVA" -jar "$JAR" bench serve --base-url "http://127.0.0.1:$PORT" --seed 1 --extra-body "$EXTRA" \
            --temperature "$T" --num-prompts 64 --max-concurrency 32 --random-input-len 100 \
            --random-output-len 128 > "$OUT/many-$mode-$round.txt" 2>&1 || true
        after_many=$(counters)
        one=$(grep -i 'output token throughput' "$OUT/one-$mode-$round.txt" | awk '{print $NF}')
        many=$(grep -i 'output token throughput' "$OUT/many-$mode-$round.txt" | awk '{print $NF}')
        echo "drafts $mode, round $round, load $(cut -d' ' -f1 /proc/loadavg): one stream $one tok/s," \
            "32 streams $many tok/s${after_one:+ [after one stream: $after_one; after 32: $after_many]}"
        kill "$pid"
        wait "$pid" 2> /dev/null || true
    done
done
echo "logs and bench outputs in $OUT"
