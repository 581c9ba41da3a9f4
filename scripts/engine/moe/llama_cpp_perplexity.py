#!/usr/bin/env python3
"""llama.cpp's perplexity on given token ids, for `airlock model moefy`'s report.

stdin: {"model": PATH, "tokens": [ids], "arch": "deepseek"|"llama", "topK": [k, ...] or []}
stdout: {"version": "...", "results": [{"topK": k or null, "perplexity": p}, ...]}
Exit 3 when llama_cpp is not importable.
"""
import json
import sys

try:
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama
except ImportError:
    sys.exit(3)


def perplexity(path, ids, overrides):
    llm = Llama(model_path=path, n_ctx=max(512, len(ids) + 8), n_batch=512, logits_all=True, verbose=False,
                kv_overrides=overrides or None)
    llm.reset()
    llm.eval(ids)
    sc = np.array(llm.scores[:len(ids)], dtype=np.float64)
    sc -= sc.max(1, keepdims=True)
    lp = sc - np.log(np.exp(sc).sum(1, keepdims=True))
    return float(np.exp(-lp[np.arange(len(ids) - 1), ids[1:]].mean()))


def main():
    req = json.load(sys.stdin)
    ids = req["tokens"]
    results = []
    for k in req.get("topK") or [None]:
        ov = {f"{req['arch']}.expert_used_count": int(k)} if k else None
        results.append({"topK": k, "perplexity": perplexity(req["model"], ids, ov)})
    json.dump({"version": llama_cpp.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
