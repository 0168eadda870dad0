#!/usr/bin/env python3
"""Checks a Hugging Face model folder against the GGUF file it was written from, with llama.cpp's
own code: gguf-py's tensor name map and convert_hf_to_gguf.py's q/k `permute`, so that a folder
Quire's tests write (src/test/java/io/quire/model/HfCheckpoints.java) is what llama.cpp's
converter would turn back into that GGUF. It needs no transformers, torch or safetensors package
(tools/make_hf_fixtures.py says where those come from): the safetensors files are read with numpy,
following the format's spec.

    PYTHONPATH=/work/llama.cpp/gguf-py python3 tools/check_hf_folder.py MODEL.gguf FOLDER

Prints one line per tensor kind and exits 1 on any difference (BF16/F16 folders are compared with
the GGUF values rounded to that type, round to nearest even as torch rounds).
"""
import json
import re
import struct
import sys
from pathlib import Path

import numpy as np
import gguf


def read_safetensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        begin, end = t['data_offsets']
        buf = np.frombuffer(data[begin:end], dtype={'F32': '<f4', 'F16': '<f2', 'BF16': '<u2'}[t['dtype']])
        if t['dtype'] == 'BF16':
            buf = (buf.astype(np.uint32) << 16).view(np.float32)
        out[name] = (t['dtype'], buf.astype(np.float32).reshape(t['shape']))
    return out


def round_to(dtype, a):
    if dtype == 'F16':
        return a.astype(np.float16).astype(np.float32)
    if dtype == 'BF16':
        u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
        return u.astype(np.uint32).view(np.float32)
    return a


# convert_hf_to_gguf.py, LlamaModel.permute
def permute(weights, n_head, n_head_kv):
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def main(gguf_path, folder):
    folder = Path(folder)
    config = json.loads((folder / 'config.json').read_text())
    files = ([folder / f for f in sorted(set(json.loads((folder / 'model.safetensors.index.json').read_text())
                                                 ['weight_map'].values()))]
             if (folder / 'model.safetensors.index.json').exists() else [folder / 'model.safetensors'])
    hf = {}
    for f in files:
        hf.update(read_safetensors(f))
    # LlamaModel/Qwen2MoeModel.modify_tensors: each expert's matrices are stacked into one 3-D tensor
    # named model.layers.N.{mlp,block_sparse_moe}.experts.W.weight before the name map.
    experts = {}
    for name in [n for n in hf if re.fullmatch(r'model\.layers\.\d+\.(mlp|block_sparse_moe)\.experts\.\d+\.\w+\.weight', n)]:
        head, xid, w = re.fullmatch(r'(.*\.experts)\.(\d+)\.(\w+)\.weight', name).groups()
        experts.setdefault((head, w), {})[int(xid)] = hf.pop(name)
    for (head, w), by_id in experts.items():
        dtype = by_id[0][0]
        hf[f'{head}.{w}.weight'] = (dtype, np.stack([by_id[i][1] for i in range(len(by_id))], axis=0))
    reader = gguf.GGUFReader(gguf_path)
    ref = {t.name: np.array(t.data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])
           for t in reader.tensors}
    arch = {'llama': gguf.MODEL_ARCH.LLAMA, 'mistral': gguf.MODEL_ARCH.LLAMA, 'qwen2': gguf.MODEL_ARCH.QWEN2,
            'qwen3': gguf.MODEL_ARCH.QWEN3, 'qwen3_moe': gguf.MODEL_ARCH.QWEN3MOE,
            'mixtral': gguf.MODEL_ARCH.LLAMA, 'phi3': gguf.MODEL_ARCH.PHI3, 'gemma2': gguf.MODEL_ARCH.GEMMA2,
            'gemma3_text': gguf.MODEL_ARCH.GEMMA3}[config['model_type']]
    tmap = gguf.get_tensor_name_map(arch, config['num_hidden_layers'])
    n_head, n_kv = config['num_attention_heads'], config.get('num_key_value_heads')
    worst, bad, seen = {}, 0, set()
    for name, (dtype, w) in hf.items():
        new = tmap.get_name(name, try_suffixes=('.weight', '.bias'))
        if new is None:
            print('no GGUF name for', name)
            bad += 1
            continue
        # LlamaModel.modify_tensors: only the llama family's q/k rows are permuted.
        if config['model_type'] in ('llama', 'mistral', 'mixtral'):
            if name.endswith('q_proj.weight'):
                w = permute(w, n_head, n_head)
            elif name.endswith('k_proj.weight'):
                w = permute(w, n_head, n_kv)
        # Gemma2Model/Gemma3Model.modify_tensors: transformers keeps the norm weights minus one.
        if config['model_type'].startswith('gemma') and name.endswith('norm.weight'):
            w = w + 1
        expected = round_to(dtype, ref[new].reshape(w.shape))
        d = float(np.max(np.abs(w - expected))) if w.size else 0.0
        kind = new.split('.')[2] + '.' + new.split('.')[-1] if new.startswith('blk.') else new
        worst[kind] = max(worst.get(kind, 0.0), d)
        bad += d != 0.0
        seen.add(new)
    # Phi3MiniModel.generate_extra_tensors: long-RoPE factors come from config.json.
    for kind in ('long', 'short'):
        name = f'rope_factors_{kind}.weight'
        if name in ref and (config.get('rope_scaling') or {}).get(f'{kind}_factor') is not None:
            d = float(np.max(np.abs(np.array(config['rope_scaling'][f'{kind}_factor'], dtype=np.float32) - ref[name])))
            worst[name] = d
            bad += d != 0.0
            seen.add(name)
    missing = sorted(n for n in ref if n not in seen and not (n == 'output.weight' and config.get('tie_word_embeddings')))
    for kind, d in sorted(worst.items()):
        print(f'{kind:28s} max |folder - GGUF| = {d:.3g}')
    tokens = reader.fields['tokenizer.ggml.tokens']
    vocab = [bytes(tokens.parts[i]).decode('utf-8') for i in tokens.data]
    tj = json.loads((folder / 'tokenizer.json').read_text())
    ids = dict(tj['model']['vocab'])
    ids.update({t['content']: t['id'] for t in tj['added_tokens']})
    first = {}
    for i, t in enumerate(vocab):
        first.setdefault(t, i)
    vocab_ok = all(ids.get(t) == i for t, i in first.items())
    print(f'{len(hf)} tensors, {bad} differing, GGUF tensors without a folder tensor: {missing or "none"};'
          f' tokenizer.json ids {"match" if vocab_ok else "DIFFER"}')
    return 0 if bad == 0 and not missing and vocab_ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
