#!/usr/bin/env python3
"""Builds a tiny random DeepSeek-V3-layout `deepseek2` GGUF with one multi-token-prediction
(`nextn`) block and records reference logits from a small numpy implementation, as a
committed test fixture (Tests/AirlockEngineTests/Fixtures/moe/ds2-nextn.{gguf,json}).

  python3 scripts/engine/moe/make_nextn_model.py

Needs `gguf` and numpy; `llama-cpp-python` is used to check the numpy reference: the same
weights without the nextn block (block_count 2, written to a temporary file) go through
llama.cpp and the numpy main-model logits must match them. Whether llama.cpp loads the
file *with* the nextn block is tested and recorded in the JSON (`llamaCppLoadsNextN`).

The numpy reference follows DeepSeek-V3's MTP module as the reference implementations
write it: h' = eh_proj([enorm(emb(x[t+1])); hnorm(h[t])]) (embedding half first), then an
ordinary MLA + MoE block with its own causal attention over the MTP positions, then
shared_head_norm and the shared output head.
"""
import json
import os
import sys
import tempfile

import numpy as np
import gguf

sys.path.insert(0, os.path.dirname(__file__))
import make_tiny_models as tiny  # noqa: E402

NAME = "ds2-nextn"
E = tiny.N_EMBD
N_HEAD, NOPE, ROPE, V_HEAD, KV_LORA, Q_RANK = 4, 16, 8, 16, 32, 48
N_EXPERT, USED, FF_EXP, FF = 8, 2, 32, 96
GROUPS = (4, 2)
SCALE = 2.5
EPS = 1e-6
MAIN_LAYERS = 2
# A second, longer token sequence (byte tokens) besides the shared prompt.
SEQUENCES = [tiny.PROMPT, [256] + list(b"The quick brown fox jumps.")]


class Recorder(tiny.Model):
    """`tiny.Model` that also keeps every tensor (as stored: F16 matrices, F32 vectors)."""

    def __init__(self, path, seed):
        self.arch = "deepseek2"
        self.name = NAME
        self.rng = np.random.default_rng(seed)
        self.w = gguf.GGUFWriter(path, "deepseek2")
        self.spec = {"architecture": "deepseek2"}
        self.t = {}
        add = self.w.add_tensor

        def keep(name, a, **kw):
            self.t[name] = a.astype(np.float64)
            add(name, a, **kw)
        self.w.add_tensor = keep


def build(path, with_nextn, seed=61):
    """Writes the model; without the nextn block it is the same main model (same weights)."""
    m = Recorder(path, seed)
    n_layer = MAIN_LAYERS + 1
    m.common(n_layer if with_nextn else MAIN_LAYERS, N_HEAD)
    m.key("attention.head_count_kv", 1)
    m.key("leading_dense_block_count", 1)
    m.key("feed_forward_length", FF)
    m.key("expert_feed_forward_length", FF_EXP)
    m.key("expert_count", N_EXPERT)
    m.key("expert_used_count", USED)
    m.key("expert_shared_count", 1)
    m.key("expert_weights_scale", SCALE)
    m.key("expert_weights_norm", True)
    m.key("expert_gating_func", 2)
    m.key("expert_group_count", GROUPS[0])
    m.key("expert_group_used_count", GROUPS[1])
    m.key("attention.q_lora_rank", Q_RANK)
    m.key("attention.kv_lora_rank", KV_LORA)
    m.key("rope.dimension_count", ROPE)
    m.key("attention.key_length", KV_LORA + ROPE)
    m.key("attention.value_length", KV_LORA)
    m.key("attention.key_length_mla", NOPE + ROPE)
    m.key("attention.value_length_mla", V_HEAD)
    if with_nextn:
        m.key("nextn_predict_layers", 1)
    for i in range(n_layer):
        p = f"blk.{i}."
        # The random stream is the same with and without the nextn block: the block is
        # generated last and only written when wanted.
        if i == MAIN_LAYERS and not with_nextn:
            break
        m.vec(p + "attn_norm.weight", E)
        m.vec(p + "ffn_norm.weight", E)
        m.mat(p + "attn_q_a.weight", Q_RANK, E)
        m.vec(p + "attn_q_a_norm.weight", Q_RANK)
        m.mat(p + "attn_q_b.weight", N_HEAD * (NOPE + ROPE), Q_RANK)
        m.mat(p + "attn_kv_a_mqa.weight", KV_LORA + ROPE, E)
        m.vec(p + "attn_kv_a_norm.weight", KV_LORA)
        m.mat(p + "attn_k_b.weight", N_HEAD, KV_LORA, NOPE)
        m.mat(p + "attn_v_b.weight", N_HEAD, V_HEAD, KV_LORA)
        m.mat(p + "attn_output.weight", E, N_HEAD * V_HEAD)
        if i < 1:
            m.dense_ffn(p, FF)
        else:
            m.experts(p, N_EXPERT, FF_EXP, bias=True)
            m.dense_ffn(p, FF_EXP, "_shexp")
        if i == MAIN_LAYERS:
            m.vec(p + "nextn.enorm.weight", E)
            m.vec(p + "nextn.hnorm.weight", E)
            m.vec(p + "nextn.shared_head_norm.weight", E)
            m.mat(p + "nextn.eh_proj.weight", E, 2 * E)
    m.finish()
    return m


# --- numpy reference -------------------------------------------------------------------

def rms(x, w):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * w


def rope(x, positions):
    """Adjacent-pair rotation (llama.cpp's NORM rope, deepseek2) of the last ROPE dims."""
    out = x.copy()
    half = np.arange(0, ROPE, 2)
    theta = positions[:, None] * (10000.0 ** (-half / ROPE))[None, :]  # [T, ROPE/2]
    c, s = np.cos(theta), np.sin(theta)
    while c.ndim < x.ndim:
        c, s = c[:, None, :], s[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def silu(x):
    return x / (1 + np.exp(-x))


def mla(t, p, x, positions):
    """Absorbed multi-head latent attention over the rows of x (causal)."""
    T = x.shape[0]
    q = rms(x @ t[p + "attn_q_a.weight"].T, t[p + "attn_q_a_norm.weight"]) @ t[p + "attn_q_b.weight"].T
    q = q.reshape(T, N_HEAD, NOPE + ROPE)
    q_nope, q_pe = q[..., :NOPE], rope(q[..., NOPE:], positions)
    kv = x @ t[p + "attn_kv_a_mqa.weight"].T
    latent = rms(kv[:, :KV_LORA], t[p + "attn_kv_a_norm.weight"])
    k_pe = rope(kv[:, KV_LORA:], positions)
    kb, vb = t[p + "attn_k_b.weight"], t[p + "attn_v_b.weight"]  # [H, KV_LORA, NOPE], [H, V_HEAD, KV_LORA]
    scale = 1 / np.sqrt(NOPE + ROPE)
    out = np.zeros((T, N_HEAD * V_HEAD))
    for h in range(N_HEAD):
        q_lat = q_nope[:, h, :] @ kb[h].T  # [T, KV_LORA]
        scores = (q_lat @ latent.T + q_pe[:, h, :] @ k_pe.T) * scale
        scores = np.where(np.tril(np.ones((T, T), bool)), scores, -np.inf)
        w = np.exp(scores - scores.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        out[:, h * V_HEAD:(h + 1) * V_HEAD] = (w @ latent) @ vb[h].T
    return out @ t[p + "attn_output.weight"].T


def dense(t, p, x, suffix=""):
    return (silu(x @ t[f"{p}ffn_gate{suffix}.weight"].T) * (x @ t[f"{p}ffn_up{suffix}.weight"].T)) @ t[f"{p}ffn_down{suffix}.weight"].T


def moe(t, p, x):
    probs = 1 / (1 + np.exp(-(x @ t[p + "ffn_gate_inp.weight"].T)))
    select = probs + t[p + "exp_probs_b.bias"]
    per = N_EXPERT // GROUPS[0]
    out = dense(t, p, x, "_shexp")
    for r in range(x.shape[0]):
        s = select[r].copy()
        groups = s.reshape(GROUPS[0], per)
        gscore = np.sort(groups, axis=1)[:, -2:].sum(axis=1)
        keep = np.argsort(-gscore, kind="stable")[:GROUPS[1]]
        for g in range(GROUPS[0]):
            if g not in keep:
                s[g * per:(g + 1) * per] = -np.inf
        chosen = np.argsort(-s, kind="stable")[:USED]
        w = probs[r, chosen]
        w = w / w.sum() * SCALE
        for e, wt in zip(chosen, w):
            g = x[r] @ t[p + "ffn_gate_exps.weight"][e].T
            u = x[r] @ t[p + "ffn_up_exps.weight"][e].T
            out[r] += wt * ((silu(g) * u) @ t[p + "ffn_down_exps.weight"][e].T)
    return out


def block(t, i, x, positions):
    p = f"blk.{i}."
    x = x + mla(t, p, rms(x, t[p + "attn_norm.weight"]), positions)
    h = rms(x, t[p + "ffn_norm.weight"])
    return x + (dense(t, p, h) if i < 1 else moe(t, p, h))


def main_model(t, tokens):
    """Final hidden states (before the output norm) and logits at every position."""
    pos = np.arange(len(tokens), dtype=np.float64)
    x = t["token_embd.weight"][tokens]
    for i in range(MAIN_LAYERS):
        x = block(t, i, x, pos)
    return x, rms(x, t["output_norm.weight"]) @ t["output.weight"].T


def mtp(t, hidden, tokens):
    """MTP logits at positions 0..T-2: row t predicts token t+2 from h[t] and tokens[t+1]."""
    p = f"blk.{MAIN_LAYERS}.nextn."
    emb = t["token_embd.weight"][tokens[1:]]
    cat = np.concatenate([rms(emb, t[p + "enorm.weight"]), rms(hidden[:-1], t[p + "hnorm.weight"])], axis=1)
    x = cat @ t[p + "eh_proj.weight"].T
    x = block(t, MAIN_LAYERS, x, np.arange(len(tokens) - 1, dtype=np.float64))
    return rms(x, t[p + "shared_head_norm.weight"]) @ t["output.weight"].T


# --- llama.cpp checks ------------------------------------------------------------------

def llama_cpp_logits(path, tokens):
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=tiny.N_CTX, n_threads=2, n_batch=64, logits_all=True,
                flash_attn=False, verbose=False, seed=0)
    llm.reset()
    llm.eval(tokens)
    ptr = llama_cpp.llama_get_logits(llm.ctx)
    return np.ctypeslib.as_array(ptr, shape=(len(tokens), llm.n_vocab())).astype(np.float64).copy()


def main():
    out_path = os.path.join(tiny.OUT, NAME + ".gguf")
    full = build(out_path, with_nextn=True)
    with tempfile.TemporaryDirectory() as d:
        main_path = os.path.join(d, "main-only.gguf")
        main_only = build(main_path, with_nextn=False)
        for k, v in main_only.t.items():
            assert np.array_equal(v, full.t[k]), k
        worst = 0.0
        for seq in SEQUENCES:
            _, ours = main_model(full.t, seq)
            ref = llama_cpp_logits(main_path, seq)
            err = np.abs(ours - ref).max() / max(1.0, np.abs(ref).max())
            worst = max(worst, err)
        print(f"numpy main model vs llama.cpp (same weights, no nextn block): relative error {worst:.2e}")
        assert worst < 2e-3, "the numpy reference does not match llama.cpp"
    # Does llama.cpp load the file with the nextn block, and leave the block out of its
    # main forward pass (same logits as the main-only file)?
    try:
        seq = SEQUENCES[0]
        ref = llama_cpp_logits(out_path, seq)
        err = np.abs(main_model(full.t, seq)[1] - ref).max() / max(1.0, np.abs(ref).max())
        loads = f"yes; its logits on this file match the numpy main model within {err:.2e}"
    except Exception as exc:  # llama.cpp refuses files with tensors its graph does not use
        loads = f"no: {type(exc).__name__}: {exc}"
    print("llama.cpp loads the file with the nextn block:", loads)

    def fmt(rows):
        return [[float(f"{v:.6g}") for v in r] for r in rows]
    cases = []
    for seq in SEQUENCES:
        hidden, logits = main_model(full.t, seq)
        # Main logits at the last position only (the engine's main model is checked against
        # llama.cpp by the other fixtures); draft logits at every position.
        cases.append({"tokens": seq, "lastMainLogits": fmt(logits[-1:])[0], "draftLogits": fmt(mtp(full.t, hidden, seq))})
    data = {
        "model": NAME + ".gguf",
        "reference": "numpy (scripts/engine/moe/make_nextn_model.py); main logits checked against llama.cpp "
                     f"on the same weights without the nextn block, relative error {worst:.2e}",
        "llamaCppLoadsNextN": loads,
        "cases": cases,
    }
    with open(os.path.join(tiny.OUT, NAME + ".json"), "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"{NAME}: {os.path.getsize(out_path)} bytes gguf, "
          f"{os.path.getsize(os.path.join(tiny.OUT, NAME + '.json'))} bytes json")


if __name__ == "__main__":
    main()
