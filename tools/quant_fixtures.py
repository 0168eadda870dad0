#!/usr/bin/env python3
"""Dequantization fixtures for QuantFixturesTest: random seeded blocks of each GGUF type and the floats
llama.cpp's own numpy reference (gguf-py's quants.py) decodes them to.

Run once from the repository root (the output is committed):
    PYTHONPATH=/work/llama.cpp/gguf-py python3 tools/quant_fixtures.py

Each file src/test/resources/quant/<TYPE>.bin holds the raw blocks followed by the decoded values as
little-endian float32. The quantized bytes are uniformly random except the fp16 scale fields, which
are random finite halves (normal, subnormal and negative ones included), so every bit pattern of
every field is exercised.
"""
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

# Byte offsets of the fp16 fields in each block (d, and dmin/m where the type has one).
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ4_NL: [0], T.IQ4_XS: [0],
}

def make(qtype, seed):
    block_size, block_bytes = GGML_QUANT_SIZES[qtype]
    n_blocks = 64 if block_size == 32 else 16
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for i in range(n_blocks):
        for off in HALF_FIELDS[qtype]:
            if i % 8 == 7:
                h = np.float16(rng.normal() * 1e-6)   # a subnormal half
            else:
                h = np.float16(rng.normal() * 0.01)
            raw[i, off:off + 2] = np.frombuffer(h.tobytes(), dtype=np.uint8)
    values = dequantize(raw.reshape(-1), qtype).astype('<f4').reshape(-1)
    assert values.size == n_blocks * block_size and np.all(np.isfinite(values))
    return raw.tobytes() + values.tobytes()

if __name__ == "__main__":
    for seed, qtype in enumerate(HALF_FIELDS):
        data = make(qtype, 1000 + seed)
        path = f"src/test/resources/quant/{qtype.name}.bin"
        with open(path, "wb") as f:
            f.write(data)
        print(path, len(data), "bytes")
