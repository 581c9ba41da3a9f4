#!/usr/bin/env python3
"""Records llama.cpp reference data for the engine's golden tests.

Needs `pip install llama-cpp-python` (which builds llama.cpp) and the model fetched by
scripts/engine/fetch-model.sh. Writes small JSON fixtures into
Tests/AirlockEngineTests/Fixtures/. Run once; the fixtures are committed and the Swift
tests never need llama.cpp or the network.

  python3 scripts/engine/record_reference.py [models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import json
import os
import sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(ROOT, "Tests", "AirlockEngineTests", "Fixtures")
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# Chat prompts, rendered with SmolLM2's ChatML template (default system prompt included).
CHATS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "List three primary colors.",
]
# A raw (non-chat) prompt too.
RAW = ["The quick brown fox jumps over the lazy dog. The quick brown"]

# Tokenizer corpus: multilingual, emoji, code, numbers, whitespace edge cases.
TEXTS = [
    "Hello, world!",
    "What is the capital of France?",
    "  leading spaces and trailing   ",
    "Numbers: 1234567890, 3.14159, -42, 1e10, 2024-11-29",
    "안녕하세요, 세계! 주민등록번호는 비밀입니다.",
    "こんにちは世界。東京は日本の首都です。",
    "你好，世界！北京是中国的首都。",
    "Привет, мир! Γειά σου Κόσμε! مرحبا بالعالم",
    "Emoji: 😀👍🏽🇰🇷 👨‍👩‍👧‍👦 ❤️ 🎉🎉",
    "Tabs\tand\nnewlines\r\n\n\nmixed \t \n end",
    "def f(x):\n    return x ** 2  # square\n",
    "I'm sure they'll say we've done it; you'd agree, isn't it? DON'T SHOUT",
    "e-mail: jane.doe@example.com, url: https://example.com/a?b=c&d=e",
    "Ünïcödé àçcênts ñ ß ø å æ œ",
    "<|im_start|>not special when parsed as text<|im_end|>",
    "a" * 40 + " " + "=" * 30 + "!!!???...",
    "Mixed 한국어 and English with 123 numbers 😀 in between.",
]


def chatml(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def last_logits(llm):
    # With logits_all off, llama.cpp keeps only the last row; read it directly.
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float32).copy()


def top10(logits):
    idx = np.argsort(-logits, kind="stable")[:10]
    return [[int(i), float(logits[i])] for i in idx]


def record_dequantization():
    """Random blocks of every supported type and gguf-py's reference dequantisation of them."""
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize
    from gguf.constants import GGML_QUANT_SIZES
    rng = np.random.default_rng(1234)
    out = []
    for name in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q6_K"]:
        qt = T[name]
        block, size = GGML_QUANT_SIZES[qt]
        n = 512
        if name in ("F32", "F16"):
            raw = rng.standard_normal(n).astype(np.float32 if name == "F32" else np.float16).tobytes()
        elif name == "BF16":
            raw = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            raw = bytearray(rng.integers(0, 256, size=n // block * size, dtype=np.uint8).tobytes())
            # Keep fp16 scales finite and small: overwrite them with random values in [0, 0.05).
            offsets = {"Q8_0": [0], "Q4_0": [0], "Q4_1": [0, 2], "Q4_K": [0, 2], "Q6_K": [208]}[name]
            for b in range(n // block):
                for off in offsets:
                    raw[b * size + off: b * size + off + 2] = np.float16(rng.uniform(0, 0.05)).tobytes()
            raw = bytes(raw)
        values = dequantize(np.frombuffer(raw, dtype=np.uint8), qt).reshape(-1)
        out.append({"type": name, "bytes": raw.hex(), "values": [float(v) for v in values]})
    with open(os.path.join(OUT, "dequantize-reference.json"), "w") as f:
        json.dump({"generator": "gguf-py " + __import__("gguf").__version__ if hasattr(__import__("gguf"), "__version__") else "gguf-py",
                   "cases": out}, f)


def main():
    record_dequantization()
    llm = Llama(model_path=MODEL, n_ctx=1024, n_threads=2, n_batch=512, logits_all=False,
                flash_attn=False, verbose=False, seed=0)
    eog = {llm.token_eos()}
    cases = []
    prompts = [(f"chat:{c}", chatml(c)) for c in CHATS] + [(f"raw:{r}", r) for r in RAW]
    for name, text in prompts:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        first = last_logits(llm)
        logits = first
        cont = []
        for _ in range(32):
            tok = int(np.argmax(logits))
            if tok in eog:
                break
            cont.append(tok)
            llm.eval([tok])
            logits = last_logits(llm)
        cases.append({"name": name, "prompt": ids, "top10": top10(first), "greedy": cont,
                      "greedyText": llm.detokenize(cont).decode("utf-8", "replace")})
    with open(os.path.join(OUT, "smollm2-golden.json"), "w") as f:
        json.dump({"model": os.path.basename(MODEL), "llama_cpp_python": __import__("llama_cpp").__version__,
                   "cases": cases}, f, indent=1, ensure_ascii=False)

    tok_cases = [{"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)} for t in TEXTS]
    with open(os.path.join(OUT, "smollm2-tokenizer.json"), "w") as f:
        json.dump({"model": os.path.basename(MODEL), "cases": tok_cases}, f, indent=1, ensure_ascii=False)
    for c in cases:
        print(c["name"], "->", repr(c["greedyText"]))


if __name__ == "__main__":
    main()
