#!/usr/bin/env python3
"""llama.cpp's prefill and decode speed on the same model and prompt, for `airlock bench engine`.

Reads a JSON request on stdin: {"model": path, "threads": n, "prompt": [ids], "decode": m,
"repetitions": r} and prints {"prefill_tps": ..., "decode_tps": ..., "version": ...}.
Exits 3 when llama_cpp is not importable (the benchmark then reports ours only).
"""
import json
import sys
import time

try:
    import llama_cpp
    from llama_cpp import Llama
except ImportError:
    print(json.dumps({"error": "llama_cpp not importable"}))
    sys.exit(3)

import numpy as np


def main():
    req = json.load(sys.stdin)
    prompt = req["prompt"]
    decode = int(req["decode"])
    reps = int(req.get("repetitions", 3))
    llm = Llama(model_path=req["model"], n_ctx=len(prompt) + decode + 8, n_threads=req["threads"],
                n_threads_batch=req["threads"], n_batch=512, n_ubatch=512, verbose=False)
    n_vocab = llm.n_vocab()
    best_prefill = best_decode = float("inf")
    for _ in range(reps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        best_prefill = min(best_prefill, t1 - t0)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
        tok = int(logits.argmax())
        t0 = time.perf_counter()
        for _ in range(decode):
            llm.eval([tok])
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
            tok = int(logits.argmax())
        t1 = time.perf_counter()
        best_decode = min(best_decode, t1 - t0)
    print(json.dumps({"prefill_tps": len(prompt) / best_prefill, "decode_tps": decode / best_decode,
                      "version": llama_cpp.__version__}))


if __name__ == "__main__":
    main()
