#!/usr/bin/env python3
"""Tiny random GGUF checkpoints per architecture, and llama.cpp's logits on them, for Quire's
ArchitectureReferenceTest (src/test/resources/archs/).

The reference here is llama.cpp (tools/make_hf_fixtures.py makes the transformers one): each
model is written with llama.cpp's own gguf-py (its metadata keys and tensor names), and
tools/llamacpp-logits/dump_logits.cpp (built against libllama) gives the logits of every prompt
position and the greedy continuation. llama.cpp's CPU GELU goes through an FP16 lookup table, so
the reference build must have GGML_GELU_FP16 undefined (ggml/src/ggml-cpu/vec.h) for Gemma's
logits to be exact in F32.

Usage: PYTHONPATH=/work/llama.cpp/gguf-py python3 tools/make_arch_fixtures.py DUMP_LOGITS OUT_DIR
(DUMP_LOGITS built as tools/llamacpp-logits/dump_logits.cpp says; the output is deterministic: fixed
seeds, and rerunning it reproduces the committed fixtures byte for byte.)
"""
import json
import os
import subprocess
import sys

import numpy as np
import gguf

SPM_VOCAB = 320


def spm_vocab(w, add_space_prefix=True):
    """A SentencePiece vocabulary: <unk> <s> </s>, byte fallback, letters, then two-letter pieces
    (word starts first), scored shorter-first; other characters fall back to bytes."""
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    alphabet = "\u2581etaoinshrdlucmfwypvbgkjqxz"
    pieces = list(alphabet)
    for a in alphabet:
        for b in alphabet[1:]:
            if len(tokens) + len(pieces) >= SPM_VOCAB:
                break
            if a + b not in pieces:
                pieces.append(a + b)
    tokens = (tokens + pieces)[:SPM_VOCAB]
    scores = [0.0 if i < 259 else float(259 - i) for i in range(len(tokens))]
    types = [2 if i == 0 else 3 if i < 3 else 6 if i < 259 else 1 for i in range(len(tokens))]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(add_space_prefix)
    return len(tokens)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe_vocab(w):
    """A byte-level BPE vocabulary (GPT-2 byte mapping, Qwen2 pre-tokenizer) with a few merges."""
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges = []
    for pair in ["Ġ t", "h e", "Ġ a", "i n", "Ġt he", "e r", "o n", "Ġ w", "r e", "Ġ s", "a t", "o r",
                 "Ġ o", "e n", "Ġ i", "l l", "Ġ q", "u i", "qu i", "Ġqu i", "Ġqui r", "Ġquir e"]:
        a, b = pair.split(" ")
        merges.append(pair)
        tokens.append(a + b)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * len(tokens) + [3] * len(specials)
    tokens += specials
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tokens.index("<|endoftext|>"))
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_add_bos_token(False)
    return len(tokens)


class Model:
    def __init__(self, name, arch, seed):
        self.name, self.arch = name, arch
        self.rng = np.random.default_rng(seed)
        self.w = gguf.GGUFWriter(name + ".gguf", arch)

    def mat(self, name, rows, cols, scale=1.0, extra=()):
        shape = tuple(extra) + (rows, cols)
        bound = np.sqrt(3.0 / cols) * scale
        self.w.add_tensor(name, self.rng.uniform(-bound, bound, size=shape).astype(np.float32))

    def norm(self, name, n, spread=0.2, center=1.0):
        self.w.add_tensor(name, (center + self.rng.uniform(-spread, spread, size=n)).astype(np.float32))


def base(m, dim, layers, heads, kv_heads, ffn, ctx, head_dim=None):
    w = m.w
    w.add_context_length(ctx)
    w.add_embedding_length(dim)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(1e-6)
    if head_dim:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)


def layers_dense(m, n_layers, dim, q, kv, ffn, hd, qk_norm=False, post=False, fused=False, experts=0):
    for i in range(n_layers):
        p = "blk.%d." % i
        m.norm(p + "attn_norm.weight", dim)
        if fused:
            m.mat(p + "attn_qkv.weight", q + 2 * kv, dim)
        else:
            m.mat(p + "attn_q.weight", q, dim)
            m.mat(p + "attn_k.weight", kv, dim)
            m.mat(p + "attn_v.weight", kv, dim)
        if qk_norm:
            m.norm(p + "attn_q_norm.weight", hd, 0.5)
            m.norm(p + "attn_k_norm.weight", hd, 0.5)
        m.mat(p + "attn_output.weight", dim, q)
        if post:
            m.norm(p + "post_attention_norm.weight", dim, 0.2, 1.0)
            m.norm(p + "post_ffw_norm.weight", dim, 0.2, 1.0)
        m.norm(p + "ffn_norm.weight", dim)
        if experts:
            m.mat(p + "ffn_gate_inp.weight", experts, dim, 4.0)
            m.mat(p + "ffn_gate_exps.weight", ffn, dim, extra=(experts,))
            m.mat(p + "ffn_up_exps.weight", ffn, dim, extra=(experts,))
            m.mat(p + "ffn_down_exps.weight", dim, ffn, extra=(experts,))
        elif fused:
            m.mat(p + "ffn_up.weight", 2 * ffn, dim)
            m.mat(p + "ffn_down.weight", dim, ffn)
        else:
            m.mat(p + "ffn_gate.weight", ffn, dim)
            m.mat(p + "ffn_up.weight", ffn, dim)
            m.mat(p + "ffn_down.weight", dim, ffn)


def head(m, vocab, dim, tied=False, scale=1.0, emb_scale=None):
    # Unit-size embeddings, or for Gemma (which multiplies them by sqrt(dim)) small ones, as trained.
    m.mat("token_embd.weight", vocab, dim, np.sqrt(dim / 3.0) if emb_scale is None else emb_scale)
    m.norm("output_norm.weight", dim)
    if not tied:
        m.mat("output.weight", vocab, dim, scale)


def qwen3(moe=False):
    m = Model("qwen3moe" if moe else "qwen3", "qwen3moe" if moe else "qwen3", 3 if moe else 1)
    dim, layers, heads, kvh, hd = 64, 2, 4, 2, 32  # head size 32 != 64 / 4, as Qwen3's head_dim
    base(m, dim, layers, heads, kvh, 96, 256, hd)
    m.w.add_rope_freq_base(1000000.0)
    if moe:
        m.w.add_expert_count(6)
        m.w.add_expert_used_count(2)
        m.w.add_expert_feed_forward_length(32)
    vocab = bpe_vocab(m.w)
    head(m, vocab, dim)
    layers_dense(m, layers, dim, heads * hd, kvh * hd, 32 if moe else 96, hd, qk_norm=True,
                 experts=6 if moe else 0)
    return m


def mistral():
    """One layer, so that llama.cpp can give a windowed reference (dump_logits WINDOW)."""
    m = Model("mistral", "llama", 4)
    dim, heads, kvh = 64, 4, 2
    base(m, dim, 1, heads, kvh, 128, 256)
    m.w.add_sliding_window(8)
    m.w.add_rope_freq_base(10000.0)
    vocab = spm_vocab(m.w)
    head(m, vocab, dim)
    layers_dense(m, 1, dim, dim, kvh * dim // heads, 128, dim // heads)
    return m


def mixtral():
    m = Model("mixtral", "llama", 5)
    dim, heads, kvh = 64, 4, 2
    base(m, dim, 2, heads, kvh, 48, 256)
    m.w.add_expert_count(4)
    m.w.add_expert_used_count(2)
    m.w.add_rope_freq_base(1000000.0)
    vocab = spm_vocab(m.w)
    head(m, vocab, dim)
    layers_dense(m, 2, dim, dim, kvh * dim // heads, 48, dim // heads, experts=4)
    return m


def phi3():
    m = Model("phi3", "phi3", 6)
    dim, heads, kvh = 64, 4, 4
    base(m, dim, 2, heads, kvh, 96, 1024)
    m.w.add_rope_dimension_count(dim // heads)
    m.w.add_rope_freq_base(10000.0)
    # Context 1024 > 256, so the file carries long and short factors and the attention factor; llama.cpp
    # runs it with a 256-token context (N_CTX below; it pads smaller ones to 256), where it picks the
    # short factors, as Quire and transformers do for positions inside the trained context.
    m.w.add_rope_scaling_orig_ctx_len(256)
    m.w.add_rope_scaling_attn_factors(float(np.sqrt(1 + np.log(4) / np.log(256))))
    m.w.add_sliding_window(2047)  # ignored by llama.cpp and Quire alike
    vocab = spm_vocab(m.w)
    head(m, vocab, dim)
    half = dim // heads // 2
    m.w.add_tensor("rope_factors_long.weight", np.linspace(1.0, 8.0, half).astype(np.float32))
    m.w.add_tensor("rope_factors_short.weight", np.linspace(1.0, 1.5, half).astype(np.float32))
    layers_dense(m, 2, dim, dim, dim, 96, dim // heads, fused=True)
    return m


def gemma(version):
    arch = "gemma%d" % version
    m = Model(arch, arch, 7 + version)
    dim, heads, kvh, hd = 64, 4, 2, 16
    n_layers = 4 if version == 2 else 6
    base(m, dim, n_layers, heads, kvh, 64, 256, hd)
    m.w.add_sliding_window(8)
    if version == 2:
        m.w.add_attn_logit_softcapping(2.0)
        m.w.add_final_logit_softcapping(3.0)
        m.w.add_rope_freq_base(10000.0)
    else:
        m.w.add_rope_freq_base(1000000.0)
        m.w.add_rope_freq_base_swa(10000.0)
        m.w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        m.w.add_rope_scaling_factor(8.0)
    vocab = spm_vocab(m.w, add_space_prefix=False)
    head(m, vocab, dim, tied=True, emb_scale=0.2)
    layers_dense(m, n_layers, dim, heads * hd, kvh * hd, 64, hd, qk_norm=version == 3, post=True)
    return m


def main():
    dump, out = sys.argv[1], sys.argv[2]
    prompt = [1] + [259 + (i * 37) % 60 for i in range(27)]  # 28 tokens: past windows of 8, many routings
    # Prompts given as text are tokenized by llama.cpp: Quire's tokenizer must give the same ids.
    bpe_text = "<|im_start|>user\nThe quire in the tower, 42 pages!<|im_end|>\n<|im_start|>assistant\n"
    gemma_text = "the rain in spain stays mainly in the plain, 1234 times"
    models = [(qwen3(), bpe_text, 0), (qwen3(True), bpe_text, 0), (mistral(), prompt, 8), (mixtral(), prompt, 0),
              (phi3(), prompt, 0), (gemma(2), gemma_text, 0), (gemma(3), gemma_text, 0)]
    for m, toks, window in models:
        path = "%s/%s.gguf" % (out, m.name)
        m.w.path = None
        m.w.write_header_to_file(path=path)
        m.w.write_kv_data_to_file()
        m.w.write_tensors_to_file()
        m.w.close()
        text = isinstance(toks, str)
        args = [dump, path, "text:" + toks if text else ",".join(map(str, toks)), "12"] + ([str(window)] if window else [])
        env = dict(os.environ, N_CTX="256") if m.name == "phi3" else None
        res = json.loads(subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout)
        if text:
            res["text"] = toks
        res["window_reference"] = window
        with open("%s/%s.json" % (out, m.name), "w") as f:
            json.dump(res, f)
        print(m.name, "greedy", res["tokens"])


if __name__ == "__main__":
    main()
