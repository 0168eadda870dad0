#!/usr/bin/env python3
"""Greedy tokens of Quire and llama.cpp on the same GGUF files, token id for token id.

For each file: Quire's `generate --token-ids true` (the server's engine, temperature 0) gives the
prompt's and the output's token ids; llama.cpp's llama-server is started on the same file and asked
for the same prompt ids with temperature 0 (its /completion with return_tokens). Prints, per file,
how many leading tokens agree out of how many were generated.

    JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 ./mvnw -DskipTests package
    LLAMA_BIN=/work/llama.cpp/build/bin python3 tools/compare_greedy.py [--tokens 32] \
        [--prompt "Once upon a time"] [--threads 2] FILE.gguf...

Both get a logit bias of -100 on the byte tokens (ids 3-258 of a SentencePiece vocabulary, --ban):
a random model draws them often, and llama-server answers HTTP 500 on output that is not UTF-8.

A random model's logits lie close together, so a tiny numeric difference (llama.cpp quantizes the
activations to Q8_0/Q8_1 for the legacy types, keeps an F16 KV cache, sums in other orders) can flip
an argmax late in a sequence and everything after it differs: the leading agreement is the measure.
To compare with llama.cpp computing attention as Quire does, pass --llama-args="-fa off -ctk f32
-ctv f32": llama-server's defaults keep the KV cache in F16 and run flash attention, which rounds to
F16 on the CPU, where Quire keeps F32 (docs/models.md, "A trained model instead").
Quire runs the request 3 times unseen first (generate --warmup 3): until C2 has compiled its kernels
the Vector API's Java code computes them, rounding sums and exponentials otherwise, and a cold run's
tokens depend on when the JIT got there (docs/performance.md, "Determinism and the JIT").
"""
import argparse, glob, json, os, subprocess, sys, time, urllib.request


def quire(jar, java, model, prompt, tokens, threads, ban, warmup=3):
    out = subprocess.run([java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                          "-jar", jar, "generate", "--model", model, "--prompt", prompt, "--max-tokens", str(tokens),
                          "--threads", str(threads), "--token-ids", "true", "--ban-tokens", f"{ban[0]}-{ban[1]}", "--warmup", str(warmup)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def llama(bin_dir, model, prompt_ids, tokens, threads, port, ban, extra):
    env = dict(os.environ, LD_LIBRARY_PATH=bin_dir)
    log = open(f"/tmp/compare-greedy-llama-{port}.log", "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "llama-server"), "-m", model, "-t", str(threads),
                             "--port", str(port), "-c", "1024", "-np", "1"] + extra, stdout=log, stderr=log, env=env)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except Exception:
                time.sleep(0.5)
        body = json.dumps({"prompt": prompt_ids, "n_predict": tokens, "temperature": 0, "return_tokens": True,
                           "cache_prompt": False, "n_probs": 2,
                           "logit_bias": [[t, -100] for t in range(ban[0], ban[1] + 1)]}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=body,
                                     headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(req, timeout=600).read())
        tops = [[(t["id"], t["logprob"]) for t in p.get("top_logprobs", [])]
                for p in answer.get("completion_probabilities", [])]
        return answer["tokens"], answer.get("tokens_evaluated"), tops
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--prompt", default="Once upon a time")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=8190)
    ap.add_argument("--llama-args", default="", help="more llama-server arguments, e.g. '--no-repack'")
    ap.add_argument("--ban", default="3-258", help="token ids both engines get a logit bias of -100 on")
    args = ap.parse_args()
    java = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java")
    jar = os.environ.get("QUIRE_JAR") or [j for j in glob.glob("target/quire-*.jar") if "original" not in j][0]
    bin_dir = os.environ.get("LLAMA_BIN", "/work/llama.cpp/build/bin")
    ban = [int(v) for v in args.ban.split("-")]
    print(f"prompt {args.prompt!r}, {args.tokens} tokens, greedy, {args.threads} threads, logit bias -100 on {args.ban}")
    print(f"{'file':32} {'agree':>7}  first difference (quire / llama.cpp)")
    for f in args.files:
        q = quire(jar, java, f, args.prompt, args.tokens, args.threads, ban)
        l, evaluated, tops = llama(bin_dir, f, q["prompt"], args.tokens, args.threads, args.port, ban, args.llama_args.split())
        agree = 0
        while agree < min(len(q["tokens"]), len(l)) and q["tokens"][agree] == l[agree]:
            agree += 1
        n = max(len(q["tokens"]), len(l))
        diff = "-" if agree == n else f"at {agree}: {q['tokens'][agree:agree + 3]} / {l[agree:agree + 3]}"
        if agree < n and agree < len(tops) and len(tops[agree]) == 2:
            # How close llama.cpp's own first and second choice were where the two parted: a margin of a
            # few thousandths of a nat is a tie that summation order decides.
            (id1, lp1), (id2, lp2) = tops[agree]
            second = " (Quire took llama.cpp's second choice)" if agree < len(q["tokens"]) and q["tokens"][agree] == id2 else ""
            diff += f"; llama.cpp's top two there differ by {lp1 - lp2:.4f} nats{second}"
        print(f"{os.path.basename(f):32} {agree:>3}/{n:<3}  {diff}", flush=True)
        if evaluated is not None and evaluated != len(q["prompt"]):
            print(f"  (llama.cpp evaluated {evaluated} prompt tokens, Quire sent {len(q['prompt'])})")


if __name__ == "__main__":
    sys.exit(main())
