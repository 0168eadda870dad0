#!/usr/bin/env python3
"""tokenizer.json files in the three styles people download, made with Hugging Face `tokenizers`
(and transformers' converter for the SentencePiece ones), and the ids that `tokenizers` gives on
llama.cpp's tokenizer test strings: the reference of Quire's TokenizerJsonReferenceTest
(src/test/resources/tokenizers/).

  llama3/   byte-level BPE with Llama 3's pre-tokenizer regex, <|begin_of_text|> added in front,
            Llama 3's header and end-of-turn special tokens
  llama2/   SentencePiece BPE with byte fallback, as the Hub's Llama 2 tokenizer.json is written
            (a Prepend("▁") + Replace(" ", "▁") normalizer, no pre-tokenizer; transformers' legacy form)
  mistral/  the same model as transformers 5 writes it (a Metaspace pre-tokenizer)
  phi3/     llama2/ with Phi-3's chat tokens, which strip the white space after them (rstrip), and
            one that strips the white space before it (lstrip)
  qwen2/    byte-level BPE with Qwen2's pre-tokenizer regex and NFC normaliser, ChatML special tokens
  NAME.json the cases: each test string, the ids without and with the tokenizer's special tokens
            added (the test strings, and a few with decomposed accents), the ids of the string wrapped in special tokens written as text, the text decoded
            from the ids with special tokens, and the text a stream gives after the first token

Each is trained on llama.cpp's README.md and docs/build.md (a fixed text, at the llama.cpp commit
below), 2,000 tokens. Run as make_hf_fixtures.py says (Debian forky's python3-transformers):
  chroot /work/hfenv python3 /repo/tools/make_tokenizer_fixtures.py /llama.cpp /repo/../shared/vocab \
      /repo/src/test/resources/tokenizers
(tokenizers 0.23.1, transformers 5.12.1 and llama.cpp 8984c5b0 made the committed files; the output
is the same on every run.)
"""
import json
import os
import shutil
import sys
import tempfile

import transformers as tf
from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, processors, trainers

VOCAB = 2000
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus(llama_cpp):
    text = []
    for f in ("README.md", "docs/build.md"):
        with open(os.path.join(llama_cpp, f), encoding="utf-8") as fh:
            text.append(fh.read())
    return text


def byte_level(text, regex, specials, nfc, bos):
    t = Tokenizer(models.BPE())
    if nfc:
        t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    t.train_from_iterator(text, trainer)
    t.add_special_tokens(specials)
    if bos:
        t.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=bos + " $A", pair=bos + " $A " + bos + " $B",
                                          special_tokens=[(bos, t.token_to_id(bos))])])
    return t


def sentencepiece(text, work, legacy):
    import sentencepiece as spm
    path = os.path.join(work, "corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(text))
    folder = os.path.join(work, "spm")
    if not os.path.exists(folder):
        os.makedirs(folder)
        spm.SentencePieceTrainer.train(input=path, model_prefix=os.path.join(folder, "tokenizer"), model_type="bpe",
                                       vocab_size=VOCAB, byte_fallback=True, character_coverage=1.0,
                                       split_digits=True, num_threads=1, remove_extra_whitespaces=False,
                                       normalization_rule_name="identity", unk_id=0, bos_id=1, eos_id=2,
                                       pad_id=-1, minloglevel=2)
    tok = tf.LlamaTokenizer.from_pretrained(folder, add_bos_token=True, add_prefix_space=True)
    if legacy:
        # transformers 5 writes a Metaspace pre-tokenizer; the Hub's Llama 2 files (transformers 4's
        # legacy converter) prepend and replace in the normaliser instead, with no pre-tokenizer.
        spec = json.loads(tok.backend_tokenizer.to_str())
        spec["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
        spec["pre_tokenizer"] = None
        tok = tf.PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), bos_token="<s>",
                                         eos_token="</s>", unk_token="<unk>")
    return tok


def phi3(base):
    """Phi-3's form: Llama 2's tokenizer with chat tokens that take the white space after them along
    (rstrip), and one that takes the white space before it (lstrip, as RoBERTa's <mask>)."""
    from tokenizers import AddedToken
    t = Tokenizer.from_str(base.backend_tokenizer.to_str())
    t.add_special_tokens([AddedToken(c, rstrip=True, normalized=False, special=True)
                          for c in ("<|assistant|>", "<|end|>", "<|user|>", "<|system|>")]
                         + [AddedToken("<|placeholder1|>", lstrip=True, normalized=False, special=True)])
    return tf.PreTrainedTokenizerFast(tokenizer_object=t, bos_token="<s>", eos_token="<|end|>", unk_token="<unk>")


def cases(vocab_dir):
    out = []
    for name in sorted(os.listdir(vocab_dir)):
        if name.endswith(".inp"):
            with open(os.path.join(vocab_dir, name), encoding="utf-8") as f:
                for s in f.read().split("\n__ggml_vocab_test__\n"):
                    if s not in out:
                        out.append(s)
    # Decomposed accents, which an NFC normaliser composes before the merges see them.
    extra = ["", "__ggml_vocab_test__", "cafe\u0301 and re\u0301sume\u0301", "A\u030angstro\u0308m, \u1100\u1161"]
    return [s for s in out if s != ""] + extra


def main():
    llama_cpp, vocab_dir, out = sys.argv[1:4]
    text = corpus(llama_cpp)
    work = os.path.join(tempfile.gettempdir(), "quire-tokenizer-fixtures")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    llama3_specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                       "<|eot_id|>"]
    toks = {
        "llama3": (tf.PreTrainedTokenizerFast(
            tokenizer_object=byte_level(text, LLAMA3, llama3_specials, False, "<|begin_of_text|>"),
            bos_token="<|begin_of_text|>", eos_token="<|eot_id|>"),
            "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"),
        "llama2": (sentencepiece(text, work, legacy=True), "<s>[INST] {} [/INST]</s>"),
        "mistral": (sentencepiece(text, work, legacy=False), "<s>[INST] {} [/INST]</s>"),
        "phi3": (phi3(sentencepiece(text, work, legacy=True)),
                 "<|user|>\n{}  <|placeholder1|><|end|>\n<|assistant|>\n"),
        "qwen2": (tf.PreTrainedTokenizerFast(
            tokenizer_object=byte_level(text, QWEN2, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], True, None),
            eos_token="<|im_end|>", pad_token="<|endoftext|>"),
            "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"),
    }
    for name, (tok, template) in toks.items():
        folder = os.path.join(out, name)
        shutil.rmtree(folder, ignore_errors=True)
        tok.save_pretrained(folder)
        for f in os.listdir(folder):
            if f not in ("tokenizer.json", "tokenizer_config.json"):
                os.remove(os.path.join(folder, f))
        tc_path = os.path.join(folder, "tokenizer_config.json")
        tc = json.load(open(tc_path))
        tc.pop("vocab_file", None)
        with open(tc_path, "w") as f:
            json.dump(tc, f, indent=2, ensure_ascii=False)
            f.write("\n")
        # The reference is `tokenizers` reading the file just written, as any user of it would.
        t = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        rows = []
        for s in cases(vocab_dir):
            plain = t.encode(s, add_special_tokens=False).ids
            wrapped = template.format(s)
            with_special = t.encode(s).ids
            # What a server streams after the first token: the text of all ids past the text of the
            # first (vLLM's incremental detokenizing); None where the first token's text is not a prefix.
            whole, first = t.decode(plain), t.decode(plain[:1])
            rows.append({"text": s, "ids": plain, "ids_with_special": with_special,
                         "chat": wrapped, "chat_ids": t.encode(wrapped, add_special_tokens=False).ids,
                         "decoded": t.decode(with_special, skip_special_tokens=True),
                         "streamed_after_first": whole[len(first):] if whole.startswith(first) else None})
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"source": f"tokenizers (transformers {tf.__version__})", "vocab": t.get_vocab_size(),
                       "cases": rows}, f, ensure_ascii=False, indent=0)
        print(name, t.get_vocab_size(), "tokens,", len(rows), "cases; normalizer",
              json.loads(t.to_str())["normalizer"], "pre_tokenizer", (json.loads(t.to_str())["pre_tokenizer"] or {}).get("type"))


if __name__ == "__main__":
    main()
