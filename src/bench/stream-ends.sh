#!/usr/bin/env bash
# Does every streamed response end? Starts a fresh server ROUNDS times and sends it 64 streamed
# completions, one after the other on one keep-alive connection, from a raw-socket client that
# waits for each chunked body's terminating chunk (0 CRLF CRLF) for 10 s. Prints "ok" per round, or
# the last bytes received and stops. Until the eighteenth session about 1 round in 10-40 got a
# response's last event and "data: [DONE]" but never its terminating chunk, always among a fresh
# server's first three requests, from Spring's per-event flush groups (docs/api.md); with the
# events written by writeWith, 150 rounds ended every stream.
#
#   JAVA_HOME=... [EXTRA_BODY='{...}'] bash src/bench/stream-ends.sh MODEL.gguf [ROUNDS] [extra server options...]
#
# EXTRA_BODY: request fields added to every completion (the rounds that hung sent the side-by-side's
# logit_bias, keeping a random model off byte tokens; 137 rounds without it did not hang).
set -euo pipefail
MODEL=${1:?usage: stream-ends.sh MODEL.gguf [ROUNDS] [server options]}
ROUNDS=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
JAVA=${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java
JAR=${QUIRE_JAR:-$(ls target/quire-*.jar | grep -v original | head -1)}
PORT=${PORT:-8310}
CLIENT=$(mktemp --suffix=.py)
trap 'rm -f "$CLIENT"' EXIT
cat > "$CLIENT" <<'EOF'
import json, re, socket, sys
port = int(sys.argv[1])
extra = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)

def exchange(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    buf = b""
    while True:
        if b"\r\n\r\n" in buf:
            head, _, rest = buf.partition(b"\r\n\r\n")
            if b"transfer-encoding: chunked" in head.lower():
                if rest.endswith(b"0\r\n\r\n"):
                    return rest
            else:
                m = re.search(rb"content-length: (\d+)", head.lower())
                if m and len(rest) >= int(m.group(1)):
                    return rest
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            sys.exit("no end after 10 s; the last bytes: " + repr(buf[-300:]))
        if not chunk:
            sys.exit("connection closed; the last bytes: " + repr(buf[-300:]))
        buf += chunk

model = json.loads(exchange("GET", "/v1/models"))["data"][0]["id"]
for i in range(64):
    exchange("POST", "/v1/completions", {"model": model, "prompt": [300 + (7 * i + j) % 200 for j in range(16)],
                                         "max_tokens": 4, "stream": True, "ignore_eos": True, **extra})
EOF
for r in $(seq 1 "$ROUNDS"); do
    "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar "$JAR" --quire.model="$MODEL" \
        --server.port="$PORT" "$@" > /tmp/stream-ends-server.log 2>&1 &
    pid=$!
    for _ in $(seq 1 480); do curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break; sleep 0.25; done
    if python3 "$CLIENT" "$PORT" "${EXTRA_BODY:-{\}}"; then echo "round $r: ok"; else
        echo "round $r: a response did not end (server log: /tmp/stream-ends-server.log)"; kill "$pid"; exit 1; fi
    kill "$pid"; wait "$pid" 2> /dev/null || true
done
