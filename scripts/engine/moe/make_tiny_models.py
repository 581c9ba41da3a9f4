#!/usr/bin/env python3
"""Builds tiny random Mixture-of-Experts GGUF models of every architecture the engine
supports and records llama.cpp's logits on them as committed test fixtures.

Needs the `gguf` and `llama-cpp-python` PyPI packages (the Swift tests need neither):

  python3 scripts/engine/moe/make_tiny_models.py            # all models
  python3 scripts/engine/moe/make_tiny_models.py ds2-v3     # one

Writes Tests/AirlockEngineTests/Fixtures/moe/<name>.gguf and <name>.json. Weights are
fixed-seed random, F16 matrices and F32 vectors, so each file is a few hundred KB. The
JSON holds, for a fixed token sequence, llama.cpp's logits at every prompt position
(one batch) and the greedy continuation with the logits of every decoding step (one
token at a time).
"""
import json
import os
import sys

import numpy as np
import gguf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "Tests", "AirlockEngineTests", "Fixtures", "moe")

N_EMBD = 64
N_CTX = 128
PROMPT = [256, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33, 32, 77]
GREEDY_STEPS = 12


def byte_vocab():
    """GPT-2 byte-level symbols for the 256 bytes, then <s> and </s>."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)] + ["<s>", "</s>"]


VOCAB = byte_vocab()


def add_byte_tokenizer(w) -> None:
    """The tiny byte-level GPT-2 vocabulary every test model shares (bos 256, eos 257)."""
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(VOCAB)
    w.add_token_types([1] * 256 + [3, 3])
    w.add_token_merges(["Ġ t", "Ġ a", "h e"])
    w.add_bos_token_id(256)
    w.add_eos_token_id(257)


class Model:
    def __init__(self, name, arch, seed):
        self.name = name
        self.arch = arch
        self.rng = np.random.default_rng(seed)
        self.w = gguf.GGUFWriter(os.path.join(OUT, name + ".gguf"), arch)
        self.spec = {"architecture": arch}

    def key(self, k, v):
        full = f"{self.arch}.{k}"
        if isinstance(v, bool):
            self.w.add_bool(full, v)
        elif isinstance(v, int):
            self.w.add_uint32(full, v)
        else:
            self.w.add_float32(full, float(v))
        self.spec[k] = v

    def mat(self, name, *shape, scale=1.0):
        """A matrix with numpy shape `shape` (GGUF dims reversed), F16, ~unit-variance outputs."""
        fan_in = shape[-1]
        a = self.rng.standard_normal(shape).astype(np.float32) * (scale / np.sqrt(fan_in))
        # F16 even for the router: the llama.cpp build in llama-cpp-python 0.3.36 crashed
        # (null kernel in mul_mat) on every F32 matrix we tried.
        self.w.add_tensor(name, a.astype(np.float16))

    def vec(self, name, n, around=1.0, spread=0.1):
        self.w.add_tensor(name, (around + spread * self.rng.standard_normal(n)).astype(np.float32))

    def f32mat(self, name, *shape, scale=1.0):
        a = self.rng.standard_normal(shape).astype(np.float32) * (scale / np.sqrt(shape[-1]))
        self.w.add_tensor(name, a)

    def common(self, n_layer, n_head):
        w = self.w
        w.add_name(self.name)
        self.key("block_count", n_layer)
        self.key("context_length", N_CTX)
        self.key("embedding_length", N_EMBD)
        self.key("attention.head_count", n_head)
        self.key("attention.layer_norm_rms_epsilon", 1e-6)
        self.key("rope.freq_base", 10000.0)
        add_byte_tokenizer(w)
        w.add_add_bos_token(False)
        nv = len(VOCAB)
        self.mat("token_embd.weight", nv, N_EMBD, scale=np.sqrt(N_EMBD))
        self.vec("output_norm.weight", N_EMBD)
        self.mat("output.weight", nv, N_EMBD, scale=2.0)

    def gqa_attention(self, p, hd):
        """Norms and plain grouped-query attention (2 KV heads of `hd`), in the order the
        fixtures were generated (the random stream depends on it)."""
        self.vec(p + "attn_norm.weight", N_EMBD)
        self.vec(p + "ffn_norm.weight", N_EMBD)
        self.mat(p + "attn_q.weight", N_EMBD, N_EMBD)
        self.mat(p + "attn_k.weight", 2 * hd, N_EMBD)
        self.mat(p + "attn_v.weight", 2 * hd, N_EMBD)
        self.mat(p + "attn_output.weight", N_EMBD, N_EMBD)

    def dense_ffn(self, p, ff, suffix=""):
        self.mat(f"{p}ffn_gate{suffix}.weight", ff, N_EMBD)
        self.mat(f"{p}ffn_up{suffix}.weight", ff, N_EMBD)
        self.mat(f"{p}ffn_down{suffix}.weight", N_EMBD, ff)

    def experts(self, p, n_expert, ff, bias=False):
        self.mat(f"{p}ffn_gate_inp.weight", n_expert, N_EMBD, scale=2.0)
        self.mat(f"{p}ffn_gate_exps.weight", n_expert, ff, N_EMBD)
        self.mat(f"{p}ffn_up_exps.weight", n_expert, ff, N_EMBD)
        self.mat(f"{p}ffn_down_exps.weight", n_expert, N_EMBD, ff)
        if bias:
            self.w.add_tensor(f"{p}exp_probs_b.bias", (0.3 * self.rng.standard_normal(n_expert)).astype(np.float32))

    def finish(self):
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()


def deepseek2(name, seed, *, q_lora, absorbed, gating, groups=None, bias=False, shared=1,
              dense_lead=1, norm_w=False, scale=1.0, yarn=None, n_layer=3):
    m = Model(name, "deepseek2", seed)
    n_head, nope, rope, v_head, kv_lora, q_rank = 4, 16, 8, 16, 32, 48
    n_expert, used, ff_exp, ff = 8, 2, 32, 96
    m.common(n_layer, n_head)
    m.key("attention.head_count_kv", n_head if not absorbed else 1)
    m.key("leading_dense_block_count", dense_lead)
    m.key("feed_forward_length", ff)
    m.key("expert_feed_forward_length", ff_exp)
    m.key("expert_count", n_expert)
    m.key("expert_used_count", used)
    m.key("expert_shared_count", shared)
    m.key("expert_weights_scale", scale)
    m.key("expert_weights_norm", norm_w)
    m.key("expert_gating_func", {"softmax": 1, "sigmoid": 2}[gating])
    if groups:
        m.key("expert_group_count", groups[0])
        m.key("expert_group_used_count", groups[1])
    m.key("attention.q_lora_rank", q_rank if q_lora else 0)
    m.key("attention.kv_lora_rank", kv_lora)
    m.key("rope.dimension_count", rope)
    if absorbed:
        m.key("attention.key_length", kv_lora + rope)
        m.key("attention.value_length", kv_lora)
        m.key("attention.key_length_mla", nope + rope)
        m.key("attention.value_length_mla", v_head)
    else:
        m.key("attention.key_length", nope + rope)
        m.key("attention.value_length", v_head)
    if yarn:
        m.w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        m.key("rope.scaling.factor", yarn["factor"])
        m.key("rope.scaling.original_context_length", yarn["orig"])
        m.key("rope.scaling.yarn_log_multiplier", yarn["log_mul"])
        m.spec["rope.scaling.type"] = "yarn"
    for i in range(n_layer):
        p = f"blk.{i}."
        m.vec(p + "attn_norm.weight", N_EMBD)
        m.vec(p + "ffn_norm.weight", N_EMBD)
        if q_lora:
            m.mat(p + "attn_q_a.weight", q_rank, N_EMBD)
            m.vec(p + "attn_q_a_norm.weight", q_rank)
            m.mat(p + "attn_q_b.weight", n_head * (nope + rope), q_rank)
        else:
            m.mat(p + "attn_q.weight", n_head * (nope + rope), N_EMBD)
        m.mat(p + "attn_kv_a_mqa.weight", kv_lora + rope, N_EMBD)
        m.vec(p + "attn_kv_a_norm.weight", kv_lora)
        if absorbed:
            m.mat(p + "attn_k_b.weight", n_head, kv_lora, nope)
            m.mat(p + "attn_v_b.weight", n_head, v_head, kv_lora)
        else:
            m.mat(p + "attn_kv_b.weight", n_head * (nope + v_head), kv_lora)
        m.mat(p + "attn_output.weight", N_EMBD, n_head * v_head)
        if i < dense_lead:
            m.dense_ffn(p, ff)
        else:
            m.experts(p, n_expert, ff_exp, bias=bias)
            if shared:
                m.dense_ffn(p, ff_exp * shared, "_shexp")
    m.finish()


def deepseek(name, seed, ff_exp=32):
    m = Model(name, "deepseek", seed)
    n_layer, n_head, n_expert, ff, shared = 3, 4, 8, 96, 2
    m.common(n_layer, n_head)
    m.key("attention.head_count_kv", 2)
    m.key("leading_dense_block_count", 1)
    m.key("feed_forward_length", ff)
    m.key("expert_feed_forward_length", ff_exp)
    m.key("expert_count", n_expert)
    m.key("expert_used_count", 3)
    m.key("expert_shared_count", shared)
    m.key("expert_weights_scale", 1.0)
    m.key("rope.dimension_count", N_EMBD // n_head)
    hd = N_EMBD // n_head
    for i in range(n_layer):
        p = f"blk.{i}."
        m.gqa_attention(p, hd)
        if i < 1:
            m.dense_ffn(p, ff)
        else:
            m.experts(p, n_expert, ff_exp)
            m.dense_ffn(p, ff_exp * shared, "_shexp")
    m.finish()


def mixtral(name, seed):
    m = Model(name, "llama", seed)
    n_layer, n_head, n_expert, ff = 2, 4, 4, 64
    m.common(n_layer, n_head)
    m.key("attention.head_count_kv", 2)
    m.key("feed_forward_length", ff)
    m.key("expert_count", n_expert)
    m.key("expert_used_count", 2)
    m.key("rope.dimension_count", N_EMBD // n_head)
    hd = N_EMBD // n_head
    for i in range(n_layer):
        p = f"blk.{i}."
        m.gqa_attention(p, hd)
        m.experts(p, n_expert, ff)
    m.finish()


def qwen2moe(name, seed):
    m = Model(name, "qwen2moe", seed)
    n_layer, n_head, n_expert, ff_exp, ff_sh = 2, 4, 8, 32, 64
    m.common(n_layer, n_head)
    m.key("attention.head_count_kv", 2)
    m.key("expert_feed_forward_length", ff_exp)
    m.key("expert_shared_feed_forward_length", ff_sh)
    m.key("expert_count", n_expert)
    m.key("expert_used_count", 2)
    hd = N_EMBD // n_head
    for i in range(n_layer):
        p = f"blk.{i}."
        m.vec(p + "attn_norm.weight", N_EMBD)
        m.vec(p + "ffn_norm.weight", N_EMBD)
        m.mat(p + "attn_q.weight", N_EMBD, N_EMBD)
        m.vec(p + "attn_q.bias", N_EMBD, 0.0, 0.3)
        m.mat(p + "attn_k.weight", 2 * hd, N_EMBD)
        m.vec(p + "attn_k.bias", 2 * hd, 0.0, 0.3)
        m.mat(p + "attn_v.weight", 2 * hd, N_EMBD)
        m.vec(p + "attn_v.bias", 2 * hd, 0.0, 0.3)
        m.mat(p + "attn_output.weight", N_EMBD, N_EMBD)
        m.experts(p, n_expert, ff_exp)
        m.dense_ffn(p, ff_sh, "_shexp")
        m.vec(p + "ffn_gate_inp_shexp.weight", N_EMBD, 0.0, 0.3)
    m.finish()


def qwen3moe(name, seed):
    m = Model(name, "qwen3moe", seed)
    n_layer, n_head, n_expert, ff_exp, hd = 2, 4, 8, 32, 32
    m.common(n_layer, n_head)
    m.key("attention.head_count_kv", 2)
    m.key("attention.key_length", hd)
    m.key("attention.value_length", hd)
    m.key("expert_feed_forward_length", ff_exp)
    m.key("expert_count", n_expert)
    m.key("expert_used_count", 2)
    for i in range(n_layer):
        p = f"blk.{i}."
        m.vec(p + "attn_norm.weight", N_EMBD)
        m.vec(p + "ffn_norm.weight", N_EMBD)
        m.mat(p + "attn_q.weight", n_head * hd, N_EMBD)
        m.mat(p + "attn_k.weight", 2 * hd, N_EMBD)
        m.mat(p + "attn_v.weight", 2 * hd, N_EMBD)
        m.vec(p + "attn_q_norm.weight", hd)
        m.vec(p + "attn_k_norm.weight", hd)
        m.mat(p + "attn_output.weight", N_EMBD, n_head * hd)
        m.experts(p, n_expert, ff_exp)
    m.finish()


MODELS = {
    # DeepSeek-V2-Lite layout: no q-LoRA, softmax gating, one shared expert, absorbed MLA.
    "ds2-lite": lambda n: deepseek2(n, 11, q_lora=False, absorbed=True, gating="softmax"),
    # DeepSeek-V3 layout: q-LoRA, sigmoid gating, selection bias, 4 groups of which 2 are
    # used, normalised and scaled weights, YaRN rope scaling.
    "ds2-v3": lambda n: deepseek2(n, 12, q_lora=True, absorbed=True, gating="sigmoid", groups=(4, 2),
                                  bias=True, norm_w=True, scale=2.5,
                                  yarn={"factor": 4.0, "orig": 32, "log_mul": 0.1}),
    # Older conversions: attn_kv_b (keys/values decompressed into the cache), two shared
    # experts, softmax with normalisation, no dense lead block.
    "ds2-kvb": lambda n: deepseek2(n, 13, q_lora=True, absorbed=False, gating="softmax", shared=2,
                                   dense_lead=0, norm_w=True, n_layer=2),
    # Sigmoid with groups but no bias, two dense lead blocks (llama.cpp's deepseek2 always
    # has a shared expert).
    "ds2-groups": lambda n: deepseek2(n, 14, q_lora=False, absorbed=True, gating="sigmoid", groups=(2, 1),
                                      shared=1, dense_lead=2, norm_w=True, scale=1.5),
    "deepseek": lambda n: deepseek(n, 21),
    # Experts of 16 neurons (F16 down projections: rows shorter than a quantization block),
    # the layout `airlock model moefy --expert-size 16 --down-type f16` writes.
    "deepseek-e16": lambda n: deepseek(n, 22, ff_exp=16),
    "mixtral": lambda n: mixtral(n, 31),
    "qwen2moe": lambda n: qwen2moe(n, 41),
    "qwen3moe": lambda n: qwen3moe(n, 51),
}


def record(name):
    import llama_cpp
    from llama_cpp import Llama
    path = os.path.join(OUT, name + ".gguf")
    llm = Llama(model_path=path, n_ctx=N_CTX, n_threads=2, n_batch=64, logits_all=True,
                flash_attn=False, verbose=False, seed=0)
    nv = llm.n_vocab()

    def rows(k):
        ptr = llama_cpp.llama_get_logits(llm.ctx)
        return np.ctypeslib.as_array(ptr, shape=(k, nv)).astype(np.float32).copy()

    llm.reset()
    llm.eval(PROMPT)
    prompt_logits = rows(len(PROMPT))
    logits = prompt_logits[-1]
    greedy, steps = [], []
    for _ in range(GREEDY_STEPS):
        tok = int(np.argmax(logits))
        greedy.append(tok)
        llm.eval([tok])
        logits = rows(1)[0]
        steps.append(logits)
    data = {
        "model": name + ".gguf",
        "llama_cpp_python": llama_cpp.__version__,
        "prompt": PROMPT,
        "promptLogits": [[float(f"{v:.6g}") for v in r] for r in prompt_logits],
        "greedy": greedy,
        "greedyLogits": [[float(f"{v:.6g}") for v in r] for r in steps],
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"{name}: {os.path.getsize(path)} bytes, greedy {greedy}, |logit| max {np.abs(prompt_logits).max():.2f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    names = sys.argv[1:] or list(MODELS)
    for n in names:
        MODELS[n](n)
        record(n)


if __name__ == "__main__":
    main()
