#!/usr/bin/env python3
"""Turns a dense llama-architecture GGUF (SmolLM2) into a DeepSeekMoE-layout GGUF
(`deepseek` architecture: routed fine-grained experts plus an always-on shared expert,
the first blocks kept dense), the way "MoEfication" (Zhang et al., 2022) splits a
trained FFN, then repairs what dropping experts loses by least squares:

The conversion runs block by block over the calibration tokens (the shipped text plus
text the dense model sampled itself), carrying the hidden states of the *converted*
model forward, so each block is fitted on the inputs it will really see and can
correct the errors of the blocks before it. For each MoE block:

1. Activations H = silu(X Gᵀ) ⊙ (X Uᵀ) of the dense FFN at the converted model's
   inputs X; the target is the dense FFN output Y = H Dᵀ at those inputs.
2. Shared expert: the intermediate neurons with the largest mean contribution
   |H_j|·‖D_j‖ (D_j = the neuron's column of ffn_down).
3. Routed experts: the remaining neurons clustered by their contribution patterns over
   the calibration tokens (balanced k-means: every expert gets the same number).
4. Router: ridge regression from X to each expert's output norm ‖Σ_{j∈e} D_j H_j‖,
   so top-k of the router picks the experts that matter most for the token.
   llama.cpp's `deepseek` MoE weights each chosen expert by its softmax probability:
   the router is scaled so those probabilities stay near 1/E and the down projections
   carry a factor E (a chosen expert contributes about its own output).
5. Down projections refitted jointly (shared + routed, ridge pulled towards the dense
   weights) so that the MoE output under the routing the router actually makes, gate
   weights included, matches Y: the shared and chosen experts absorb the predictable
   part of what the dropped experts would have added.

6. Optional (--distill-epochs N): gradient distillation of the whole block (distill.py):
   Adam on the shared and routed gate/up/down weights (the router is kept: moving it
   reorders the top-k, which the gradient does not see) against the same target, tokens
   weighted as in the refit. With all 22.6k calibration tokens, 2 epochs lower each
   block's held-out error by another ~10% (e.g. 0.30 -> 0.28) and the held-out perplexity
   at top-8 from 44.4 to 39.5; on 8k tokens with the stream target it overfits (41.3).
7. Optional (--stream-target β): the target of 5. and 6. moves from the dense FFN output
   at the block's inputs towards what puts the stream back on the dense model's
   (x_dense after the block − x before the FFN): each block corrects part of the drift of
   the blocks before it. On the first 8,192 calibration tokens: 40.1 (β=0), 35.9 (0.5),
   37.3 (1.0), numpy held-out perplexity at top-8.

Where it stands (held-out perplexity, dense 16.3 ours / 16.4 llama.cpp): 35.5 / 35.7 at
the default top-9 (49.7% of the FFN per token), 2.2× the dense model. The damage is
spread over all blocks (sensitivity.py: each MoE block alone costs +1–10%, and these add
up), so no per-layer budget the `deepseek` layout can express (only leading dense blocks;
expert count, size, top-k and shared size are global) helps: 2 dense lead blocks at top-8
(49.4%) numpy 37.1 vs 35.9 with one.
Finer experts do help: 320 shared + 76 × 16 at top-26 (49.7%, --down-type f16) 31.4 in
llama.cpp and 31.3 in this engine, but decodes slower than the top-9 file (F16 down
projections, 26 small experts per token), so it is not the default. Why: per token,
the best 736 of the 1536 neurons (by |h_j|·‖D_j‖) leave only 1–2% relative error in the FFN
output, but which neurons those are is not group-structured: with any fixed grouping into
experts of 32 (clustered on contribution patterns, z-scored or co-activation) even the
oracle choice of 9 experts leaves 13–21% (the shared expert alone 41–48%); the block's
held-out error after the refit falls only with the expert size (0.179 / 0.167 / 0.152 for
experts of 32 / 16 / 8 at the same cost, blocks 2, 10, 20, 28). Experts of 8 (320 shared
+ 152 × 8, top-52, --down-type f16): numpy 29.5, but llama.cpp 0.3.36 aborts building the
graph for 52 experts per token (ggml context pool too small).

Without distillation the experts' gate/up rows are copied from the dense file byte for
byte; distilled ones are quantized to the dense file's type. The refitted down
projections are quantized (Q8_0 by default); attention, embeddings and norms are copied
unchanged.

Invoked by `airlock model moefy`, which tokenizes the texts and passes the ids in a JSON
file: python3 moefy.py --model IN --out OUT --tokens IDS.json [options]
  {"calibration": [ids...], "heldout": [ids...] (optional: numpy perplexity in the log)}
"""
import argparse
import json
import sys
import time

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFValueType as V
from gguf.quants import dequantize, quantize

from distill import BlockDistiller


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

    def block(self, l):
        p = f"blk.{l}."
        names = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")
        return {n: self.f32(p + n + ".weight") for n in names}


def rms(x, w, eps):
    return x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + eps).astype(np.float32) * w


def rope(x, base):
    # x: … × T × heads × hd; interleaved pairs (GGUF llama weights are permuted for this).
    t, hd = x.shape[-3], x.shape[-1]
    inv = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.outer(np.arange(t), inv)
    c = np.cos(ang).astype(np.float32)[:, None, :]
    s = np.sin(ang).astype(np.float32)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def silu(x):
    return x / (1 + np.exp(-x))


def attention(m, w, x, chunk=8):
    """x + self-attention(x) for S segments × T tokens × n_embd (each segment from position 0)."""
    out = np.empty_like(x)
    rep = m.n_head // m.n_head_kv
    for i in range(0, x.shape[0], chunk):
        xs = x[i:i + chunk]
        s, t, _ = xs.shape
        h = rms(xs, w["attn_norm"], m.eps)
        q = rope((h @ w["attn_q"].T).reshape(s, t, m.n_head, m.hd), m.base)
        k = rope((h @ w["attn_k"].T).reshape(s, t, m.n_head_kv, m.hd), m.base)
        v = (h @ w["attn_v"].T).reshape(s, t, m.n_head_kv, m.hd)
        k = np.repeat(k, rep, axis=2)
        v = np.repeat(v, rep, axis=2)
        att = (q.transpose(0, 2, 1, 3) @ k.transpose(0, 2, 3, 1)) / np.float32(np.sqrt(m.hd))   # s × h × q × k
        att += np.triu(np.full((t, t), -np.inf, dtype=np.float32), 1)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        o = (att @ v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3).reshape(s, t, m.n_embd)
        out[i:i + chunk] = xs + o @ w["attn_output"].T
    return out


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


class MoEBlock:
    """One converted FFN: neuron groups, their gate/up rows, router and down projections."""

    def __init__(self, g, u, shared, experts, router, d_shared, d_experts, gate_scale):
        self.shared, self.experts = shared, experts
        self.gs, self.us = g[shared], u[shared]                          # S × n_embd
        self.ge = np.stack([g[idx] for idx in experts])                  # E × size × n_embd
        self.ue = np.stack([u[idx] for idx in experts])
        self.router = router              # E × n_embd (already scaled: near-uniform softmax)
        self.d_shared = d_shared          # n_embd × S
        self.d_experts = d_experts        # E × n_embd × size (gate_scale folded in)
        self.gate_scale = gate_scale
        self.trained = False              # gate/up no longer the dense file's rows (distilled)
        self.unfitted = None              # the same block before refit/distillation (diagnostics)

    def copy(self):
        c = MoEBlock.__new__(MoEBlock)
        c.__dict__.update({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()})
        return c

    def route(self, x, k):
        logits = x @ self.router.T
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        chosen = np.argpartition(-logits, k - 1, axis=1)[:, :k] if k < len(self.experts) else \
            np.tile(np.arange(len(self.experts)), (len(x), 1))
        return chosen, p

    def forward(self, x, k):
        y = (silu(x @ self.gs.T) * (x @ self.us.T)) @ self.d_shared.T
        chosen, p = self.route(x, k)
        for e in range(len(self.experts)):
            rows = np.where((chosen == e).any(1))[0]
            if len(rows) == 0:
                continue
            xe = x[rows]
            he = silu(xe @ self.ge[e].T) * (xe @ self.ue[e].T)
            y[rows] += p[rows, e:e + 1] * (he @ self.d_experts[e].T)
        return y


def fit_block(x, w, a, rng, target=None):
    """Fits one MoE block on FFN inputs x (N × n_embd) of the converted model. The refit and
    the distillation match `target` (N × n_embd) when given, else the dense FFN output at x."""
    g, u, d = w["ffn_gate"], w["ffn_up"], w["ffn_down"]
    E, S, size = a.experts, a.shared_size, a.expert_size
    h = silu(x @ g.T) * (x @ u.T)                        # N × ff
    y = h @ d.T if target is None else target            # dense FFN output at these inputs
    dn = np.linalg.norm(d, axis=0)
    importance = (np.abs(h) * dn).mean(0)
    shared = np.sort(np.argsort(-importance)[:S])
    rest = np.setdiff1d(np.arange(h.shape[1]), shared)
    sub = rng.choice(len(x), min(len(x), 6000), replace=False)
    contrib = np.abs(h[sub][:, rest]) * dn[rest]
    experts = [np.sort(rest[gi]) for gi in balanced_kmeans(contrib.T, E, 8, rng)]

    # Router: ridge regression onto each expert's output norm.
    target = np.stack([np.linalg.norm(h[:, e] @ d[:, e].T, axis=1) for e in experts], axis=1)   # N × E
    xd = x.astype(np.float64)
    xtx = xd.T @ xd
    lam = 1e-2 * np.trace(xtx) / x.shape[1]
    router = np.linalg.solve(xtx + lam * np.eye(x.shape[1]), xd.T @ target).T.astype(np.float32)   # E × n_embd
    scores = x @ router.T
    spread = np.percentile(scores.max(1) - scores.min(1), 99.9)
    router *= np.float32(a.router_spread / spread)
    blk = MoEBlock(g, u, shared, experts, router, d[:, shared].copy(),
                   np.stack([d[:, e] * E for e in experts]), E)
    chosen, p = blk.route(x, a.top_k)
    captured = np.take_along_axis(target, chosen, 1).sum() / target.sum()
    oracle = np.sort(target, axis=1)[:, ::-1][:, :a.top_k].sum() / target.sum()
    info = {"captured": float(captured), "oracle": float(oracle)}

    if a.refit > 0:
        # Features of the MoE output that is linear in the down projections:
        # [H_shared | p_e·E·H_e for chosen e, else 0], target the dense output.
        n = len(x)
        phi = np.zeros((n, S + E * size), dtype=np.float32)
        phi[:, :S] = h[:, shared]
        for e, idx in enumerate(experts):
            sel = (chosen == e).any(1)
            phi[sel, S + e * size:S + (e + 1) * size] = h[sel][:, idx] * (p[sel, e:e + 1] * E)
        # Each token weighted by 1/‖y‖² (floored at the mean): a few tokens with huge FFN
        # outputs (attention-sink positions) would otherwise dominate the fit.
        yy = (y.astype(np.float64) ** 2).sum(1)
        tw = np.sqrt(1.0 / np.maximum(yy, yy.mean())).astype(np.float32)[:, None] if a.token_weighting \
            else np.ones((n, 1), np.float32)
        phw = phi * tw
        gram = (phw.T @ phw).astype(np.float64)
        rhs = (phw.T @ (y * tw)).astype(np.float64)         # F × n_embd
        d0 = np.concatenate([d[:, shared]] + [d[:, e] for e in experts], axis=1).T.astype(np.float64)   # F × n_embd
        diag = np.diag(gram).copy()
        reg = a.refit * (diag + diag.mean() * 1e-3)
        sol = np.linalg.solve(gram + np.diag(reg), rhs + reg[:, None] * d0).astype(np.float32)   # F × n_embd
        before = np.mean((phi @ d0.astype(np.float32) - y) ** 2)
        after = np.mean((phi @ sol - y) ** 2)
        info.update({"mse_before": float(before / np.mean(y ** 2)), "mse_after": float(after / np.mean(y ** 2))})
        blk.unfitted = blk.copy()
        blk.d_shared = sol[:S].T.copy()
        blk.d_experts = np.stack([sol[S + e * size:S + (e + 1) * size].T * E for e in range(E)])
    else:
        yy = (y.astype(np.float64) ** 2).sum(1)
    if a.distill_epochs > 0:
        if blk.unfitted is None:
            blk.unfitted = blk.copy()
        tw2 = (1.0 / np.maximum(yy, yy.mean())).astype(np.float32) if a.token_weighting else np.ones(len(x), np.float32)
        t0 = time.time()
        dist = BlockDistiller(blk, lr=a.distill_lr, router_lr=a.distill_router_lr)
        before, after = dist.train(x, y, tw2, a.top_k, a.distill_epochs, a.distill_batch, rng)
        dist.apply()
        info.update({"distill_before": before, "distill_after": after, "distill_seconds": round(time.time() - t0, 1)})
    return blk, info


def ffn_dense(x, w):
    return (silu(x @ w["ffn_gate"].T) * (x @ w["ffn_up"].T)) @ w["ffn_down"].T


def perplexity(m, x, ids):
    """x: S × T × n_embd final hidden states of segments of ids (S × T)."""
    emb_out = m.f32("output.weight") if "output.weight" in m.t else m.f32("token_embd.weight")
    h = rms(x, m.f32("output_norm.weight"), m.eps)
    nll, count = 0.0, 0
    for s in range(x.shape[0]):
        logits = (h[s] @ emb_out.T).astype(np.float64)
        logits -= logits.max(-1, keepdims=True)
        lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nll -= lp[np.arange(ids.shape[1] - 1), ids[s, 1:]].sum()
        count += ids.shape[1] - 1
    return float(np.exp(nll / count))


def convert(m, a, calib, heldout, rng):
    """Block-by-block conversion; returns {layer: MoEBlock} and per-layer info."""
    emb = m.f32("token_embd.weight")
    x = emb[calib]                                   # S × T × D, converted model's stream
    xd = x.copy() if a.stream_target > 0 else None   # the dense model's stream on the same tokens
    ev = {}
    if heldout is not None:
        ks = sorted(set(a.eval_k) | {a.top_k})
        ev = {k: emb[heldout] for k in ["dense"] + ks}
    blocks, infos = {}, []
    for l in range(m.n_layer):
        t0 = time.time()
        w = m.block(l)
        x = attention(m, w, x)
        if xd is not None:
            xd = attention(m, w, xd)
            xd = xd + ffn_dense(rms(xd, w["ffn_norm"], m.eps).reshape(-1, xd.shape[-1]), w).reshape(xd.shape)
        for k in ev:
            ev[k] = attention(m, w, ev[k])
        f = rms(x, w["ffn_norm"], m.eps)
        s, t, dm = f.shape
        if l < a.dense_lead:
            x = x + ffn_dense(f.reshape(-1, dm), w).reshape(s, t, dm)
            for k in ev:
                ev[k] = ev[k] + ffn_dense(rms(ev[k], w["ffn_norm"], m.eps).reshape(-1, dm), w).reshape(ev[k].shape)
            log(f"moefy: block {l} dense ({time.time() - t0:.1f}s)")
            continue
        target = None
        if xd is not None:
            # Pull the block's output towards what would put the stream back on the dense
            # model's (x_dense after this block − x before this FFN): it corrects drift of
            # the blocks before it instead of only imitating this FFN.
            yf = ffn_dense(f.reshape(-1, dm), w)
            target = yf + np.float32(a.stream_target) * ((xd - x).reshape(-1, dm) - yf)
        blk, info = fit_block(f.reshape(-1, dm), w, a, rng, target)
        blocks[l] = blk
        x = x + blk.forward(f.reshape(-1, dm), a.top_k).reshape(s, t, dm)
        for k in ev:
            fe = rms(ev[k], w["ffn_norm"], m.eps).reshape(-1, dm)
            ye = ffn_dense(fe, w) if k == "dense" else blk.forward(fe, k)
            if k == a.top_k:
                # Generalisation check: relative error against the dense FFN on the held-out stream.
                yd = ffn_dense(fe, w)
                info["heldout_error"] = float(np.mean((ye - yd) ** 2) / np.mean(yd ** 2))
                if blk.unfitted is not None:
                    yu = blk.unfitted.forward(fe, k)
                    info["heldout_error_before"] = float(np.mean((yu - yd) ** 2) / np.mean(yd ** 2))
            ev[k] = ev[k] + ye.reshape(ev[k].shape)
        info["layer"] = l
        infos.append(info)
        log(f"moefy: block {l}: router keeps {info['captured']:.3f} of the routed output norm at top-{a.top_k} "
            f"(oracle {info['oracle']:.3f})"
            + (f", relative error {info['mse_before']:.3f} -> {info['mse_after']:.3f}" if "mse_after" in info else "")
            + (f", distilled {info['distill_before']:.3f} -> {info['distill_after']:.3f} ({info['distill_seconds']}s)"
               if "distill_after" in info else "")
            + (f", held-out {info.get('heldout_error_before', float('nan')):.3f} -> {info['heldout_error']:.3f}"
               if "heldout_error" in info else "")
            + f" ({time.time() - t0:.1f}s)")
    evaluation = {}
    if ev:
        for k, xe in ev.items():
            evaluation[str(k)] = perplexity(m, xe, heldout)
        log("moefy: numpy held-out perplexity " + ", ".join(f"{k}: {v:.2f}" for k, v in evaluation.items()))
    return blocks, infos, evaluation


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


def write(m, a, blocks):
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

    for t in m.r.tensors:
        name = t.name
        if not name.startswith("blk.") or ".ffn_" not in name or name.endswith("ffn_norm.weight"):
            put_raw(name, t)
            continue
        l = int(name.split(".")[1])
        if l not in blocks:
            put_raw(name, t)
            continue
        if not name.endswith("ffn_gate.weight"):
            continue  # up/down written together with gate
        p = f"blk.{l}."
        blk = blocks[l]
        tg, tu = m.t[p + "ffn_gate.weight"], m.t[p + "ffn_up.weight"]
        put_float(p + "ffn_gate_inp.weight", blk.router, Q.F16)
        # Distilled gate/up rows are new weights: quantized to the dense file's type, so the
        # bytes read per token stay those of the undistilled layout (Q8_0 instead of Q4_1
        # would add 10 MB per token for −0.5 held-out perplexity).
        gu_q = tg.tensor_type if tg.tensor_type in (Q.Q8_0, Q.Q4_1, Q.Q4_0, Q.F16, Q.F32) else Q.Q8_0
        if blk.trained:
            put_float(p + "ffn_gate_exps.weight", blk.ge, gu_q)
            put_float(p + "ffn_up_exps.weight", blk.ue, gu_q)
        else:
            order = np.concatenate(blk.experts)
            put_raw(p + "ffn_gate_exps.weight", tg, order, E)
            put_raw(p + "ffn_up_exps.weight", tu, order, E)
        put_float(p + "ffn_down_exps.weight", blk.d_experts, down_q)
        if blk.trained:
            put_float(p + "ffn_gate_shexp.weight", blk.gs, gu_q)
            put_float(p + "ffn_up_shexp.weight", blk.us, gu_q)
        else:
            put_raw(p + "ffn_gate_shexp.weight", tg, blk.shared)
            put_raw(p + "ffn_up_shexp.weight", tu, blk.shared)
        put_float(p + "ffn_down_shexp.weight", blk.d_shared, down_q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def segments(ids, length):
    n = len(ids) // length
    return np.array(ids[:n * length], dtype=np.int64).reshape(n, length)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", required=True, help="JSON: {\"calibration\": [ids...], \"heldout\": [ids...]}")
    ap.add_argument("--experts", type=int, default=34)
    ap.add_argument("--expert-size", type=int, default=32)
    ap.add_argument("--shared-size", type=int, default=448)
    ap.add_argument("--top-k", type=int, default=9)
    ap.add_argument("--dense-lead", type=int, default=1)
    ap.add_argument("--segment", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=0, help="use at most this many calibration tokens (0 = all)")
    ap.add_argument("--down-type", choices=["q8_0", "q4_1", "f16"], default="q8_0")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--refit", type=float, default=1.0,
                    help="ridge strength (relative to each feature's energy) for refitting the down projections "
                         "towards the dense output; 0 = keep the dense down projections")
    ap.add_argument("--no-token-weighting", dest="token_weighting", action="store_false",
                    help="fit the down projections with every token weighted equally (default: by 1/‖dense output‖²)")
    ap.add_argument("--router-spread", type=float, default=0.02,
                    help="router logit spread (99.9th percentile) after scaling: small = near-uniform gates")
    ap.add_argument("--distill-epochs", type=int, default=0,
                    help="epochs of gradient distillation per block after the refit (0 = none)")
    ap.add_argument("--distill-lr", type=float, default=1e-2, help="Adam step relative to each tensor's RMS")
    ap.add_argument("--distill-router-lr", type=float, default=0.0,
                    help="router step relative to the others (0 = keep the fitted router: a moving router "
                         "reorders the top-k, which the gradient does not see, and the loss rises)")
    ap.add_argument("--distill-batch", type=int, default=512, help="tokens per distillation step")
    ap.add_argument("--stream-target", type=float, default=0.0,
                    help="0…1: how far each MoE block's fitting target moves from the dense FFN output at its "
                         "inputs towards the dense model's residual stream (corrects earlier blocks' drift)")
    ap.add_argument("--eval-k", default="4,8,12,16", help="top-k settings for the numpy held-out perplexity")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    a.eval_k = [int(k) for k in a.eval_k.split(",") if k.strip()]

    m = Dense(a.model)
    if a.shared_size + a.experts * a.expert_size != m.n_ff or a.shared_size % a.expert_size:
        raise SystemExit(f"moefy: shared ({a.shared_size}) + experts×size ({a.experts}×{a.expert_size}) must equal the "
                         f"FFN width {m.n_ff}, and the shared size must be a multiple of the expert size")
    if not 1 <= a.top_k <= a.experts:
        raise SystemExit(f"moefy: top-k must be 1…{a.experts}")
    a.eval_k = [k for k in a.eval_k if 1 <= k <= a.experts]
    req = json.load(open(a.tokens))
    ids = req["calibration"]
    if a.max_tokens:
        ids = ids[:a.max_tokens]
    calib = segments(ids, a.segment)
    heldout = np.array(req["heldout"], dtype=np.int64)[None, :] if req.get("heldout") else None
    # FFN neurons computed per token (shared + top-k routed; all in the dense lead blocks),
    # averaged over the blocks, as a fraction of the dense model's.
    active = (a.dense_lead * m.n_ff + (m.n_layer - a.dense_lead) * (a.shared_size + a.top_k * a.expert_size)) \
        / (m.n_layer * m.n_ff)
    log(f"moefy: {calib.size} calibration tokens in {calib.shape[0]} segments of {a.segment}; "
        f"{100 * active:.1f}% of the dense FFN computed per token")
    rng = np.random.default_rng(a.seed)
    start = time.time()
    blocks, infos, evaluation = convert(m, a, calib, heldout, rng)
    if not a.no_write:
        write(m, a, blocks)
    log(f"moefy: done in {time.time() - start:.0f}s")
    print(json.dumps({"out": a.out, "experts": a.experts, "expertSize": a.expert_size, "sharedSize": a.shared_size,
                      "topK": a.top_k, "denseLead": a.dense_lead, "activeFFNFraction": round(active, 4), "calibrationTokens": int(calib.size),
                      "layers": infos, "numpyHeldoutPerplexity": evaluation}))


if __name__ == "__main__":
    main()
