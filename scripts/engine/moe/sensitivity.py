#!/usr/bin/env python3
"""Per-layer sensitivity of the MoE conversion (moefy.py): for each block l, the held-out
perplexity of the dense model with *only* block l's FFN replaced by its MoE conversion
(fitted on the dense model's own inputs to that block), for several top-k settings.

It answers "which layers suffer, and would a non-uniform budget help": the log-perplexity
increases of single blocks add up closely to the whole conversion's (sum of ln(ppl_l/ppl_dense)
over the blocks predicts the converted model's perplexity before the stream-target
correction), so a layer's share of the total is its share of the damage.

Measured on SmolLM2-135M-Instruct (448 shared + 34×32 routed, refit for top-8, first 8,192
calibration tokens, 546 held-out tokens, dense 16.43): block 0 alone 21.1 at top-8 (hence
the dense lead block); every other block alone costs 0–10% (block 1 +6.6%, 28 +5.9%, 29 +9.6%,
the middle ones +1–4%: no block is cheap enough to starve for another); summed over blocks
1–29 the log-increase is 1.78 (top-1), 1.20 (top-4), 0.91 (top-8: predicts 40.9, the
converted model measures 40.1 without and 36.8 with the stream target), 0.55 (top-16, 62%
of the FFN). 1.15× the dense perplexity needs a sum of 0.14.

python3 sensitivity.py --model DENSE.gguf --tokens IDS.json [--top-k 1,4,8,16] [moefy layout options]
  IDS.json: {"calibration": [ids...], "heldout": [ids...]} (as moefy.py's --tokens, heldout required)
stdout: {"dense": ppl, "layers": [{"layer": l, "perplexity": {k: ppl}, "captured": …, "oracle": …}, ...],
         "sumLogIncrease": {k: Σ ln(ppl_l/ppl_dense)}}
"""
import argparse
import json
import math
import sys
import time
import types

import numpy as np

import moefy as M


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--top-k", default="1,4,8,16", help="top-k settings evaluated, comma-separated")
    ap.add_argument("--fit-k", type=int, default=8, help="top-k the down projections are refitted for")
    ap.add_argument("--experts", type=int, default=34)
    ap.add_argument("--expert-size", type=int, default=32)
    ap.add_argument("--shared-size", type=int, default=448)
    ap.add_argument("--max-tokens", type=int, default=8192)
    ap.add_argument("--segment", type=int, default=256)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    ks = [int(k) for k in a.top_k.split(",") if k.strip()]

    m = M.Dense(a.model)
    if a.shared_size + a.experts * a.expert_size != m.n_ff:
        raise SystemExit(f"sensitivity: shared + experts×size must equal the FFN width {m.n_ff}")
    if not all(1 <= k <= a.experts for k in ks + [a.fit_k]):
        raise SystemExit(f"sensitivity: top-k settings must be 1…{a.experts}")
    req = json.load(open(a.tokens))
    if not req.get("heldout"):
        raise SystemExit("sensitivity: the tokens file needs held-out ids")
    ids = req["calibration"][:a.max_tokens] if a.max_tokens else req["calibration"]
    calib = M.segments(ids, a.segment)
    held = np.array(req["heldout"], dtype=np.int64)[None, :]
    fit = types.SimpleNamespace(experts=a.experts, expert_size=a.expert_size, shared_size=a.shared_size,
                                top_k=a.fit_k, router_spread=0.02, refit=1.0, token_weighting=True, distill_epochs=0)
    rng = np.random.default_rng(a.seed)

    emb = m.f32("token_embd.weight")
    weights = [m.block(l) for l in range(m.n_layer)]
    dm = m.n_embd

    def dense_block(l, z):
        w = weights[l]
        z = M.attention(m, w, z)
        return z + M.ffn_dense(M.rms(z, w["ffn_norm"], m.eps).reshape(-1, dm), w).reshape(z.shape)

    # Dense held-out stream at every block's input, so each variant only recomputes from l on.
    stream = [emb[held]]
    for l in range(m.n_layer):
        stream.append(dense_block(l, stream[-1]))
    base = M.perplexity(m, stream[-1], held)
    M.log(f"sensitivity: dense held-out perplexity {base:.2f}")

    x = emb[calib]
    layers = []
    for l in range(m.n_layer):
        t0 = time.time()
        w = weights[l]
        xa = M.attention(m, w, x)
        f = M.rms(xa, w["ffn_norm"], m.eps).reshape(-1, dm)
        blk, info = M.fit_block(f, w, fit, rng)
        za = M.attention(m, w, stream[l])
        fe = M.rms(za, w["ffn_norm"], m.eps).reshape(-1, dm)
        row = {}
        for k in ks:
            z = za + blk.forward(fe, k).reshape(za.shape)
            for j in range(l + 1, m.n_layer):
                z = dense_block(j, z)
            row[str(k)] = M.perplexity(m, z, held)
        layers.append({"layer": l, "perplexity": row, "captured": info["captured"], "oracle": info["oracle"]})
        M.log(f"sensitivity: block {l}: " + ", ".join(f"top-{k} {v:.2f}" for k, v in row.items())
              + f" ({time.time() - t0:.1f}s)")
        x = xa + M.ffn_dense(f, w).reshape(xa.shape)     # next block sees the dense model's stream
    total = {str(k): sum(math.log(r["perplexity"][str(k)] / base) for r in layers) for k in ks}
    json.dump({"dense": base, "layers": layers, "sumLogIncrease": total}, sys.stdout)


if __name__ == "__main__":
    main()
