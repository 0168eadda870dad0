#!/usr/bin/env python3
"""Trains a tiny Llama with transformers on llama.cpp's own documentation, so that greedy decoding
has real margins: the model for checking that every quantized type gives llama.cpp's greedy tokens
(docs/models.md, "Greedy tokens against llama.cpp").

A random model is the wrong instrument for that check. Its next-token choices are near ties, and
activation rounding (llama.cpp rounds activations to Q8_0/Q8_1/Q8_K before every quantized product,
and Quire does the same) is discontinuous: a one-ulp difference in a sum's order can move a value
to the next integer step, and a random network carries that step to the logits. llama.cpp's own two
CPU paths (repacked and not) disagree with each other on the 110M random model within a few tokens.

The model: Llama, 4 layers, hidden 256, FFN 512, 4 heads, a 512-token SentencePiece vocabulary with
byte fallback, rows 256 and 512 wide so every K-quant applies. Trained on llama.cpp's README.md and
docs/*.md (at llama.cpp 8984c5b0) with AdamW, fixed seeds, one thread. Writes the transformers
folder and, with llama.cpp's convert_hf_to_gguf.py, OUT/tiny-F32.gguf.

Run as make_hf_fixtures.py says (Debian forky's transformers, in a chroot):
  chroot /work/hfenv python3 /repo/tools/train_tiny_llama.py /llama.cpp /out STEPS
then quantize and compare outside it:
  for t in Q4_K_M Q5_K_M Q6_K Q3_K_M Q2_K Q4_0 Q5_0 Q4_1 IQ4_NL; do
    llama-quantize OUT/tiny-F32.gguf OUT/tiny-$t.gguf $t; done
  LLAMA_BIN=... python3 tools/compare_greedy.py --tokens 32 --prompt "..." OUT/tiny-*.gguf
"""
import glob
import os
import shutil
import sys

import torch
import transformers as tf


def main():
    llama_cpp, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, llama_cpp)
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    text = ""
    for f in [os.path.join(llama_cpp, "README.md")] + sorted(glob.glob(os.path.join(llama_cpp, "docs", "*.md"))):
        with open(f, encoding="utf-8") as fh:
            text += fh.read() + "\n"
    work = os.path.join(out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    import sentencepiece as spm
    with open(os.path.join(work, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    spm.SentencePieceTrainer.train(input=os.path.join(work, "corpus.txt"), model_prefix=os.path.join(work, "tokenizer"),
                                   model_type="bpe", vocab_size=512, byte_fallback=True, character_coverage=1.0,
                                   split_digits=True, num_threads=1, remove_extra_whitespaces=False,
                                   normalization_rule_name="identity", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                                   max_sentence_length=1 << 20, minloglevel=2)
    tok = tf.LlamaTokenizer.from_pretrained(work, add_bos_token=True, add_prefix_space=True)
    ids = torch.tensor(tok(text, add_special_tokens=False)["input_ids"])
    print(f"corpus: {len(text)} characters, {len(ids)} tokens")
    config = tf.LlamaConfig(vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                            num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
                            rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    model = tf.LlamaForCausalLM(config)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(1)
    seq, batch = 128, 16
    for step in range(steps):
        starts = torch.randint(0, len(ids) - seq - 1, (batch,), generator=g)
        x = torch.stack([torch.cat([torch.tensor([1]), ids[s:s + seq - 1]]) for s in starts])
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    model.eval()
    folder = os.path.join(out, "tiny-llama")
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    shutil.copy(os.path.join(work, "tokenizer.model"), folder)
    import make_hf_fixtures
    make_hf_fixtures.convert(llama_cpp, folder, os.path.join(out, "tiny-F32.gguf"), False)


if __name__ == "__main__":
    main()
