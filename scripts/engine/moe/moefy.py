#!/usr/bin/env python3
"""Turns a dense llama-architecture GGUF (SmolLM2) into a DeepSeekMoE-layout GGUF
(`deepseek` architecture: routed fine-grained experts plus an always-on shared expert,
the first blocks kept dense), the way "MoEfication" (Zhang et al., 2022) splits a
trained FFN:

1. Run the dense model (numpy, fp32) over the calibration token ids and record each
   block's FFN input X and the SwiGLU activations H = silu(X Gᵀ) ⊙ (X Uᵀ).
2. Shared expert: the intermediate neurons with the largest mean contribution
   |H_j|·‖D_j‖ (D_j = the neuron's column of ffn_down).
3. Routed experts: the remaining neurons clustered by their contribution patterns over
   the calibration tokens (balanced k-means: every expert gets the same number).
4. Router: ridge regression from X to each expert's output norm ‖Σ_{j∈e} D_j H_j‖,
   so top-k of the router picks the experts that matter most for the token.
5. Gate scaling: llama.cpp's `deepseek` MoE weights each chosen expert by its softmax
   probability. The router is scaled down so those probabilities are ≈1/E (uniform to
   within ~1%) while their order still follows the fitted scores, and each expert's down
   projection is multiplied by E: a chosen expert contributes ≈ its exact dense share.

Gate/up rows of the experts are copied from the dense file byte for byte (same rows,
same blocks); expert down projections (columns regrouped) are re-quantized; attention,
embeddings and norms are copied unchanged.

Invoked by `airlock model moefy`, which tokenizes the calibration text and passes the
ids in a JSON file: python3 moefy.py --model IN --out OUT --tokens IDS.json [options]
"""
import argparse
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFValueType as V
from gguf.quants import dequantize, quantize


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Dense:
    def __init__(self, path):
        self.r = gguf.GGUFReader(path)
        self.t = {t.name: t for t in self.r.tensors}
        f = self.r.fields
        self.arch = f["general.architecture"].contents()
        if self.arch != "llama":
            raise SystemExit(f"moefy: expected a dense llama model, got '{self.arch}'")
        k = lambda n: f[f"llama.{n}"].contents()
        self.n_layer = k("block_count")
        self.n_embd = k("embedding_length")
        self.n_ff = k("feed_forward_length")
        self.n_head = k("attention.head_count")
        self.n_head_kv = k("attention.head_count_kv")
        self.eps = k("attention.layer_norm_rms_epsilon")
        self.base = k("rope.freq_base")
        self.hd = self.n_embd // self.n_head

    def f32(self, name):
        t = self.t[name]
        if t.tensor_type == Q.F32:
            return np.array(t.data, dtype=np.float32).reshape(t.data.shape)
        return dequantize(t.data, t.tensor_type).astype(np.float32)


def rms(x, w, eps):
    return x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + eps).astype(np.float32) * w


def rope(x, pos, base):
    # Interleaved pairs (GGUF llama weights are permuted for this convention).
    hd = x.shape[-1]
    inv = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.outer(pos, inv)
    c = np.cos(ang).astype(np.float32)[:, None, :]
    s = np.sin(ang).astype(np.float32)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def silu(x):
    return x / (1 + np.exp(-x))


def record_ffn_inputs(m, segments):
    """FFN inputs of every block for every calibration token (dense forward pass)."""
    emb = m.f32("token_embd.weight")
    xs = [emb[np.array(seg)] for seg in segments]
    inputs = [[] for _ in range(m.n_layer)]
    for l in range(m.n_layer):
        p = f"blk.{l}."
        wq, wk, wv, wo = (m.f32(p + n) for n in ("attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight"))
        an, fn = m.f32(p + "attn_norm.weight"), m.f32(p + "ffn_norm.weight")
        g, u, d = m.f32(p + "ffn_gate.weight"), m.f32(p + "ffn_up.weight"), m.f32(p + "ffn_down.weight")
        for si, x in enumerate(xs):
            n = x.shape[0]
            pos = np.arange(n)
            h = rms(x, an, m.eps)
            q = rope((h @ wq.T).reshape(n, m.n_head, m.hd), pos, m.base)
            k = rope((h @ wk.T).reshape(n, m.n_head_kv, m.hd), pos, m.base)
            v = (h @ wv.T).reshape(n, m.n_head_kv, m.hd)
            rep = m.n_head // m.n_head_kv
            k = np.repeat(k, rep, axis=1)
            v = np.repeat(v, rep, axis=1)
            att = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(m.hd)
            att = att + np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            o = np.einsum("hqk,khd->qhd", att, v).reshape(n, m.n_embd)
            x = x + o @ wo.T
            f = rms(x, fn, m.eps)
            inputs[l].append(f)
            x = x + (silu(f @ g.T) * (f @ u.T)) @ d.T
            xs[si] = x
        log(f"moefy: recorded block {l + 1}/{m.n_layer}")
    # Held for the perplexity sanity check of the numpy forward.
    out_norm = m.f32("output_norm.weight")
    out = m.f32("output.weight") if "output.weight" in m.t else emb
    nll, count = 0.0, 0
    for seg, x in zip(segments, xs):
        logits = rms(x, out_norm, m.eps) @ out.T
        logits = logits - logits.max(-1, keepdims=True)
        lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nll -= lp[np.arange(len(seg) - 1), np.array(seg[1:])].sum()
        count += len(seg) - 1
    log(f"moefy: dense numpy forward perplexity on the calibration text {np.exp(nll / count):.2f}")
    return [np.concatenate(i) for i in inputs]


def balanced_kmeans(feat, k, iters, rng):
    """k equal-size clusters of the rows of `feat` (cosine k-means, greedy balanced assignment)."""
    n = feat.shape[0]
    size = n // k
    f = feat / (np.linalg.norm(feat, axis=1, keepdims=True) + 1e-9)
    centers = f[rng.choice(n, k, replace=False)]
    assign = None
    for _ in range(iters):
        sim = f @ centers.T
        order = np.argsort(-sim, axis=None)
        cap = np.full(k, size)
        assign = np.full(n, -1)
        for flat in order:
            i, c = divmod(int(flat), k)
            if assign[i] < 0 and cap[c] > 0:
                assign[i] = c
                cap[c] -= 1
        centers = np.stack([f[assign == c].mean(0) for c in range(k)])
        centers /= np.linalg.norm(centers, axis=1, keepdims=True) + 1e-9
    return [np.where(assign == c)[0] for c in range(k)]


def moefy_layer(x, g, u, d, n_shared, n_experts, expert_size, top_k, refit, rng):
    h = silu(x @ g.T) * (x @ u.T)                       # N × ff
    dn = np.linalg.norm(d, axis=0)                       # ‖D_j‖
    contrib = np.abs(h) * dn                             # N × ff
    importance = contrib.mean(0)
    shared = np.sort(np.argsort(-importance)[:n_shared])
    rest = np.setdiff1d(np.arange(h.shape[1]), shared)
    assert len(rest) == n_experts * expert_size, "neurons do not split evenly"
    groups = balanced_kmeans(contrib[:, rest].T, n_experts, 8, rng)
    experts = [np.sort(rest[gi]) for gi in groups]
    # Router targets: norm of each expert's output on each calibration token.
    target = np.stack([np.linalg.norm(h[:, e] @ d[:, e].T, axis=1) for e in experts], axis=1)   # N × E
    xtx = x.T.astype(np.float64) @ x
    lam = 1e-2 * np.trace(xtx) / x.shape[1]
    w = np.linalg.solve(xtx + lam * np.eye(x.shape[1]), x.T.astype(np.float64) @ target).astype(np.float32)  # d × E
    d_shared = d[:, shared]
    if refit:
        # What the chosen experts leave out, predicted from the shared expert's activations:
        # refit the shared down projection on (dense output − routed output).
        chosen = np.argsort(-(x @ w), axis=1)[:, :top_k]
        y = h @ d.T
        routed = np.zeros_like(y)
        for ei, e in enumerate(experts):
            mask = (chosen == ei).any(1)
            routed[mask] += h[mask][:, e] @ d[:, e].T
        hs = h[:, shared].astype(np.float64)
        gram = hs.T @ hs
        lam_s = refit * np.trace(gram) / gram.shape[0]
        d_shared = np.linalg.solve(gram + lam_s * np.eye(len(shared)), hs.T @ (y - routed)).T.astype(np.float32)
    return shared, experts, w.T, target, d_shared


def copy_metadata(m, w, renames, overrides):
    skip = {"general.architecture", "general.file_type"}
    for key, field in m.r.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        new = renames(key)
        if new in overrides:
            continue
        vtype = V(field.types[0])
        if vtype == V.ARRAY:
            w.add_key_value(new, field.contents(), vtype, sub_type=V(field.types[-1]))
        else:
            w.add_key_value(new, field.contents(), vtype)
    for key, (val, vtype) in overrides.items():
        w.add_key_value(key, val, vtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", required=True, help="JSON: {\"calibration\": [ids...]}")
    ap.add_argument("--experts", type=int, default=20)
    ap.add_argument("--expert-size", type=int, default=64)
    ap.add_argument("--shared-size", type=int, default=256)
    ap.add_argument("--top-k", type=int, default=6)
    ap.add_argument("--dense-lead", type=int, default=1)
    ap.add_argument("--segment", type=int, default=256)
    ap.add_argument("--down-type", choices=["q8_0", "q4_1", "f16"], default="q8_0")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--refit", type=float, default=0.0,
                    help="ridge strength for refitting the shared expert's down projection (0 = off)")
    a = ap.parse_args()

    m = Dense(a.model)
    if a.shared_size + a.experts * a.expert_size != m.n_ff or a.shared_size % a.expert_size:
        raise SystemExit(f"moefy: shared ({a.shared_size}) + experts×size ({a.experts}×{a.expert_size}) must equal the "
                         f"FFN width {m.n_ff}, and the shared size must be a multiple of the expert size")
    ids = json.load(open(a.tokens))["calibration"]
    segments = [ids[i:i + a.segment] for i in range(0, len(ids) - 16, a.segment)]
    log(f"moefy: {len(ids)} calibration tokens in {len(segments)} segments")
    cache = os.environ.get("MOEFY_CACHE")
    if cache and os.path.exists(cache):
        inputs = list(np.load(cache)["inputs"])
    else:
        inputs = record_ffn_inputs(m, segments)
        if cache:
            np.savez(cache, inputs=np.stack(inputs))
    rng = np.random.default_rng(a.seed)

    w = gguf.GGUFWriter(a.out, "deepseek")
    E, S = a.experts, a.shared_size
    overrides = {
        "deepseek.leading_dense_block_count": (a.dense_lead, V.UINT32),
        "deepseek.expert_feed_forward_length": (a.expert_size, V.UINT32),
        "deepseek.expert_count": (E, V.UINT32),
        "deepseek.expert_used_count": (a.top_k, V.UINT32),
        "deepseek.expert_shared_count": (S // a.expert_size, V.UINT32),
        "deepseek.expert_weights_scale": (1.0, V.FLOAT32),
        "general.name": ("SmolLM2-135M-Instruct MoEfied (DeepSeekMoE layout)", V.STRING),
    }
    copy_metadata(m, w, lambda k: "deepseek." + k[len("llama."):] if k.startswith("llama.") else k, overrides)

    down_q = {"q8_0": Q.Q8_0, "q4_1": Q.Q4_1, "f16": Q.F16}[a.down_type]

    def put_float(name, arr, qt):
        if qt == Q.F16:
            w.add_tensor(name, arr.astype(np.float16))
        elif qt == Q.F32:
            w.add_tensor(name, arr.astype(np.float32))
        else:
            w.add_tensor(name, quantize(arr.astype(np.float32), qt), raw_dtype=qt)

    def put_raw(name, t, rows=None, experts=None):
        data = np.asarray(t.data)
        if rows is not None:
            data = data[rows]
        if experts is not None:
            data = data.reshape(experts, -1, data.shape[-1])
        if t.tensor_type in (Q.F32, Q.F16):
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=t.tensor_type)

    report = []
    for t in m.r.tensors:
        name = t.name
        if not name.startswith("blk.") or ".ffn_" not in name or name.endswith("ffn_norm.weight"):
            put_raw(name, t)
            continue
        l = int(name.split(".")[1])
        if l < a.dense_lead:
            put_raw(name, t)
            continue
        if not name.endswith("ffn_gate.weight"):
            continue  # up/down written together with gate
        p = f"blk.{l}."
        tg, tu, td = m.t[p + "ffn_gate.weight"], m.t[p + "ffn_up.weight"], m.t[p + "ffn_down.weight"]
        g, u, d = m.f32(p + "ffn_gate.weight"), m.f32(p + "ffn_up.weight"), m.f32(p + "ffn_down.weight")
        shared, experts, router, target, d_shared = moefy_layer(inputs[l], g, u, d, S, E, a.expert_size, a.top_k,
                                                                a.refit, rng)
        scores = inputs[l] @ router.T
        chosen = np.argsort(-scores, axis=1)[:, :a.top_k]
        captured = np.take_along_axis(target, chosen, 1).sum() / target.sum()
        oracle = np.sort(target, axis=1)[:, ::-1][:, :a.top_k].sum() / target.sum()
        # Near-uniform softmax: the largest spread of router logits on calibration → 0.02.
        spread = (scores.max(1) - scores.min(1)).max()
        router_scaled = router * (0.02 / spread)
        report.append({"layer": l, "captured": float(captured), "oracle": float(oracle)})
        log(f"moefy: block {l}: router keeps {captured:.3f} of the routed output norm at top-{a.top_k} (oracle {oracle:.3f})")
        put_float(p + "ffn_gate_inp.weight", router_scaled, Q.F16)
        order = np.concatenate(experts)
        put_raw(p + "ffn_gate_exps.weight", tg, order, E)
        put_raw(p + "ffn_up_exps.weight", tu, order, E)
        down = np.stack([d[:, e] * E for e in experts])   # E × n_embd × size
        put_float(p + "ffn_down_exps.weight", down, down_q)
        put_raw(p + "ffn_gate_shexp.weight", tg, shared)
        put_raw(p + "ffn_up_shexp.weight", tu, shared)
        put_float(p + "ffn_down_shexp.weight", d_shared, down_q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(json.dumps({"out": a.out, "experts": E, "expertSize": a.expert_size, "sharedSize": S, "topK": a.top_k,
                      "denseLead": a.dense_lead, "layers": report}))


if __name__ == "__main__":
    main()
