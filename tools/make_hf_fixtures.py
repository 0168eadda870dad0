#!/usr/bin/env python3
"""Tiny random checkpoints saved by Hugging Face transformers, transformers' own logits on them, and
the same checkpoints converted to GGUF by llama.cpp's convert_hf_to_gguf.py: the independent
reference of Quire's TransformersReferenceTest (src/test/resources/hf/).

Per architecture ARCH it writes:
  ARCH/        the checkpoint as save_pretrained leaves it (config.json, generation_config.json,
               model.safetensors in F32, tokenizer.json, tokenizer_config.json, and tokenizer.model
               for the SentencePiece ones, which llama.cpp's converter reads)
  ARCH-bf16/   model.safetensors of the same weights in BF16 (the folder's other files are ARCH's)
  ARCH.gguf    ARCH/ converted by llama.cpp (--outtype f32)
  ARCH.json    the prompt text, transformers' token ids for it, transformers' F32 logits at every
               prompt position, its greedy continuation, and the last position's logits and greedy
               continuation of the BF16 checkpoint (run in F32 on the BF16 weights)

The tokenizers are trained here on a short English text: SentencePiece BPE with byte fallback
(Llama, Mistral, Mixtral, Phi-3; Gemma's without the space prefix) and byte-level BPE with Qwen2's
pre-tokenizer, NFC normaliser and ChatML special tokens (Qwen2, Qwen3, Qwen3-MoE).

Weights are drawn with a fixed seed at a scale that keeps activations near 1, so logits spread and
greedy choices are not near-ties: a seed whose greedy path has a top-2 margin under 1e-2 is
skipped for the next one.

transformers cannot be installed from PyPI here; Debian forky packages it. Recipe (as root):
  debootstrap --variant=minbase --include=python3-transformers,python3-torch,python3-safetensors,\
python3-tokenizers,python3-sentencepiece,python3-protobuf forky /work/hfenv http://deb.debian.org/debian \
/usr/share/debootstrap/scripts/sid
  mount -t proc proc /work/hfenv/proc; mkdir -p /work/hfenv/{repo,llama.cpp}
  mount --bind REPO /work/hfenv/repo; mount --bind LLAMA_CPP /work/hfenv/llama.cpp
  chroot /work/hfenv python3 /repo/tools/make_hf_fixtures.py /llama.cpp /repo/src/test/resources/hf
(transformers 5.12.1, torch 2.14.1, tokenizers 0.23.1, llama.cpp 8984c5b0 made the committed files.)
"""
import json
import os
import shutil
import sys
import tempfile

import torch
import transformers as tf

TEXT = """Once upon a time there was a little robot who lived in a quiet town by the sea. Every morning
the robot walked to the harbour to watch the fishing boats come home. The fishermen waved and
the children laughed, because the robot always counted the boats out loud: one, two, three,
four, five. One stormy day a boat did not come back. The robot waited and waited, and then it
climbed the old lighthouse and turned on the lamp. The light shone across the dark water, and
the lost boat followed it safely into the harbour. After that day the robot was the keeper of
the lighthouse, and nobody in the town ever forgot how brave it had been. Quire serves models
on the JVM; paged attention keeps the cache in blocks, like pages of virtual memory. It is
2026, the weather is mild, and the tea costs 3.50 euros in the café near the station."""

PROMPT = "The robot climbed the lighthouse and counted the boats: one, two, three."

SPM_VOCAB = 512
BPE_VOCAB = 512


def spm_tokenizer(work, gemma):
    """A SentencePiece BPE model with byte fallback, and transformers' tokenizer made from it.
    Gemma's has no space prefix and Gemma's special pieces (<pad> <eos> <bos> <unk>)."""
    import sentencepiece as spm
    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w") as f:
        f.write(TEXT)
    folder = os.path.join(work, "gemma" if gemma else "spm")
    os.makedirs(folder, exist_ok=True)
    ids = dict(pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
               bos_piece="<bos>", user_defined_symbols=["<mask>"]) if gemma else dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(folder, "tokenizer"), model_type="bpe",
                                   vocab_size=SPM_VOCAB, byte_fallback=True, character_coverage=1.0,
                                   add_dummy_prefix=not gemma, split_digits=True, num_threads=1,
                                   remove_extra_whitespaces=False, normalization_rule_name="identity", minloglevel=2, **ids)
    cls = tf.GemmaTokenizer if gemma else tf.LlamaTokenizer
    # transformers 5 saves add_prefix_space as null unless told, and llama.cpp's converter writes a
    # null as "no space prefix"; say what the tokenizer does.
    tok = cls.from_pretrained(folder, add_bos_token=True, add_prefix_space=not gemma)
    assert len(tok) == SPM_VOCAB, tok.get_added_vocab()
    return tok, os.path.join(folder, "tokenizer.model")


def bpe_tokenizer():
    from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, trainers
    qwen2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    t = Tokenizer(models.BPE())
    t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(qwen2), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB - len(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    t.train_from_iterator([TEXT], trainer)
    t.add_special_tokens(specials)
    tok = tf.PreTrainedTokenizerFast(tokenizer_object=t, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    return tok


COMMON = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=256, rms_norm_eps=1e-5)


def configs(spm_size, bpe_size, tok):
    spm = dict(COMMON, vocab_size=spm_size, bos_token_id=1, eos_token_id=2)
    gemma = dict(COMMON, vocab_size=spm_size, bos_token_id=2, eos_token_id=1, pad_token_id=0)
    bpe = dict(COMMON, vocab_size=bpe_size, bos_token_id=None, eos_token_id=tok["bpe"].convert_tokens_to_ids("<|im_end|>"))
    return {
        "llama": ("spm", tf.LlamaConfig(num_hidden_layers=2, tie_word_embeddings=False,
                                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **spm),
                  tf.LlamaForCausalLM),
        "mistral": ("spm", tf.MistralConfig(num_hidden_layers=2, head_dim=8, sliding_window=8, **spm),
                    tf.MistralForCausalLM),
        "mixtral": ("spm", tf.MixtralConfig(num_hidden_layers=2, head_dim=8, num_local_experts=4,
                                            num_experts_per_tok=2, sliding_window=None, **spm), tf.MixtralForCausalLM),
        "qwen2": ("bpe", tf.Qwen2Config(num_hidden_layers=2, tie_word_embeddings=True, **bpe), tf.Qwen2ForCausalLM),
        "qwen3": ("bpe", tf.Qwen3Config(num_hidden_layers=2, head_dim=16, tie_word_embeddings=False, **bpe),
                  tf.Qwen3ForCausalLM),
        "qwen3_moe": ("bpe", tf.Qwen3MoeConfig(num_hidden_layers=2, num_experts=4, num_experts_per_tok=2,
                                               moe_intermediate_size=32, norm_topk_prob=True,
                                               tie_word_embeddings=False, **bpe), tf.Qwen3MoeForCausalLM),
        "phi3": ("spm", tf.Phi3Config(num_hidden_layers=2, original_max_position_embeddings=64,
                                      rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                                       "short_factor": [1.0, 1.3, 1.9, 2.5],
                                                       "long_factor": [1.0, 2.0, 4.0, 8.0],
                                                       "original_max_position_embeddings": 64},
                                      sliding_window=None, pad_token_id=None, **spm), tf.Phi3ForCausalLM),
        "gemma2": ("gemma", tf.Gemma2Config(num_hidden_layers=2, head_dim=8, query_pre_attn_scalar=8,
                                            sliding_window=8, attn_logit_softcapping=50.0,
                                            final_logit_softcapping=30.0, **gemma), tf.Gemma2ForCausalLM),
        "gemma3": ("gemma", tf.Gemma3TextConfig(num_hidden_layers=6, head_dim=8, query_pre_attn_scalar=8,
                                                sliding_window=8, final_logit_softcapping=None,
                                                rope_parameters={
                                                    "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                                    "full_attention": {"rope_type": "linear", "rope_theta": 1000000.0,
                                                                       "factor": 2.0}}, **gemma),
                   tf.Gemma3ForCausalLM),
    }


def randomize(model, seed):
    """Every parameter drawn again: matrices ~ N(0, 1/fan_in), norm weights near their identity
    (1, or 0 where Gemma adds 1), biases small. The projections that write into the residual
    stream (and Gemma's post-norms) are three times larger, so that the layers, not the current
    token's own embedding, decide the next token: with tied embeddings a weak residual makes a
    model repeat its last token."""
    g = torch.Generator().manual_seed(seed)
    gemma = "gemma" in model.config.model_type
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
                if "embed_tokens" in name:
                    p.mul_(fan_in ** 0.5 * (0.3 if gemma else 1.0))
                elif "o_proj" in name or "down_proj" in name:
                    p.mul_(3.0)
            elif "norm" in name:
                base = (2.0 if "post_" in name else 0.0) if gemma else 1.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def reference(model, ids, new_tokens):
    """Logits at every position of ids, and the greedy continuation with its smallest top-2 margin."""
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
        seq = list(ids)
        margin = float("inf")
        for _ in range(new_tokens):
            last = model(torch.tensor([seq])).logits[0, -1].float()
            top = torch.topk(last, 2).values
            margin = min(margin, float(top[0] - top[1]))
            seq.append(int(torch.argmax(last)))
    return logits, seq[len(ids):], margin


def rounded(values):
    return [float("%.7g" % v) for v in values]


def main():
    llama_cpp, out = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    sys.path.insert(0, llama_cpp)
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    # A fixed work folder: SentencePiece records its input and output paths in the model file.
    work = os.path.join(tempfile.gettempdir(), "quire-hf-fixtures")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    spm_tok, spm_model = spm_tokenizer(work, gemma=False)
    gemma_tok, gemma_model = spm_tokenizer(work, gemma=True)
    toks = {"spm": spm_tok, "gemma": gemma_tok, "bpe": bpe_tokenizer()}
    spm_files = {"spm": spm_model, "gemma": gemma_model}
    archs = configs(len(spm_tok), len(toks["bpe"]), toks)
    for arch, (kind, config, cls) in archs.items():
        if only and arch not in only:
            continue
        tok = toks[kind]
        text = "<|im_start|>" + PROMPT if kind == "bpe" else PROMPT
        ids = tok(text)["input_ids"]
        seed = 1
        while True:
            torch.manual_seed(seed)
            config.dtype = torch.float32
            model = cls(config).eval()
            model.config._attn_implementation = "eager"
            randomize(model, seed)
            logits, greedy, margin = reference(model, ids, 16)
            if margin >= 1e-2:
                break
            print(f"{arch}: seed {seed} has a top-2 margin of {margin:.2g} on its greedy path; next seed")
            seed += 1
        folder = os.path.join(out, arch)
        shutil.rmtree(folder, ignore_errors=True)
        model.generation_config = tf.GenerationConfig(
            bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, do_sample=True,
            temperature=0.7, top_p=0.9, top_k=40)
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        if kind in spm_files:
            shutil.copy(spm_files[kind], os.path.join(folder, "tokenizer.model"))
        tc_path = os.path.join(folder, "tokenizer_config.json")
        tc = json.load(open(tc_path))
        if tc.pop("vocab_file", None) is not None:  # where the work folder's model was: meaningless here
            with open(tc_path, "w") as f:
                json.dump(tc, f, indent=2, ensure_ascii=False)
                f.write("\n")
        bf16_folder = os.path.join(out, arch + "-bf16")
        shutil.rmtree(bf16_folder, ignore_errors=True)
        model.to(torch.bfloat16).save_pretrained(bf16_folder)
        for f in os.listdir(bf16_folder):
            if f != "model.safetensors":
                os.remove(os.path.join(bf16_folder, f))
        bf16 = cls.from_pretrained(folder, dtype=torch.float32).eval()
        bf16.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
        bf16.config._attn_implementation = "eager"
        bf16_logits, bf16_greedy, bf16_margin = reference(bf16, ids, 16)
        convert(llama_cpp, folder, os.path.join(out, arch + ".gguf"), kind == "bpe")
        ref = {
            "source": f"transformers {tf.__version__}, torch {torch.__version__}, {cls.__name__}, seed {seed}",
            "text": text, "prompt": ids, "tokens": greedy, "greedy_margin": margin,
            "logits": [rounded(row.tolist()) for row in logits],
            "bf16_last_logits": rounded(bf16_logits[-1].tolist()), "bf16_tokens": bf16_greedy,
            "bf16_greedy_margin": bf16_margin,
        }
        with open(os.path.join(out, arch + ".json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        print(f"{arch}: {len(ids)} prompt tokens, greedy margin {margin:.3g}, bf16 margin {bf16_margin:.3g}")


def convert(llama_cpp, folder, gguf_path, bpe):
    import convert_hf_to_gguf as c
    if bpe:
        # llama.cpp names a BPE pre-tokenizer by the hash of its output on a fixed text, which a
        # tokenizer trained here cannot match; it is Qwen2's pre-tokenizer, so say so.
        c.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
    load_hparams = c.ModelBase.load_hparams

    def with_rope_scaling(dir_model, is_mistral_format):
        # llama.cpp's Phi-3 converter reads long-RoPE from transformers 4's key, rope_scaling, but takes
        # the config from transformers, which (version 5) names it rope_parameters: without this the
        # converter silently drops the factors of every Phi-3 checkpoint.
        config = load_hparams(dir_model, is_mistral_format)
        rope = config.get("rope_parameters") or {}
        if rope.get("rope_type") == "longrope" and not config.get("rope_scaling"):
            config["rope_scaling"] = rope
        return config

    c.ModelBase.load_hparams = staticmethod(with_rope_scaling)
    argv = sys.argv
    sys.argv = ["convert_hf_to_gguf.py", folder, "--outtype", "f32", "--outfile", gguf_path]
    try:
        c.main()
    finally:
        sys.argv = argv
        c.ModelBase.load_hparams = staticmethod(load_hparams)


if __name__ == "__main__":
    main()
