#!/usr/bin/env python3
"""A tiny-but-wide random `deepseek2` model for speed benchmarks (not a test fixture).

Writes two files with the same weights: the absorbed-MLA layout (attn_k_b/attn_v_b, the
cache holds kv_lora_rank + rope values per token per layer) and the older attn_kv_b
layout (per-head keys and values cached), so `airlock bench engine` can compare speed and
KV-cache bytes per token of the two.

  python3 scripts/engine/moe/make_bench_model.py [OUT_DIR]   # default: models/
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

sys.path.insert(0, os.path.dirname(__file__))
from make_tiny_models import VOCAB, add_byte_tokenizer  # noqa: E402

E, LAYERS, LEAD, HEADS = 1024, 4, 1, 16
NOPE, ROPE, VHEAD, KV_LORA, Q_LORA = 64, 32, 64, 256, 384
EXPERTS, USED, SHARED, FF_EXP, FF = 32, 4, 2, 256, 2048


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(99)

    def rnd(*shape, scale=1.0):
        return (rng.standard_normal(shape).astype(np.float32) * (scale / np.sqrt(shape[-1])))

    tensors = {}

    def q8(name, a):
        tensors[name] = ("q8", a)

    def f32(name, a):
        tensors[name] = ("f32", a.astype(np.float32))

    nv = len(VOCAB)
    q8("token_embd.weight", rnd(nv, E, scale=np.sqrt(E)))
    f32("output_norm.weight", 1 + 0.1 * rng.standard_normal(E))
    q8("output.weight", rnd(nv, E, scale=2.0))
    for i in range(LAYERS):
        p = f"blk.{i}."
        f32(p + "attn_norm.weight", 1 + 0.1 * rng.standard_normal(E))
        f32(p + "ffn_norm.weight", 1 + 0.1 * rng.standard_normal(E))
        q8(p + "attn_q_a.weight", rnd(Q_LORA, E))
        f32(p + "attn_q_a_norm.weight", 1 + 0.1 * rng.standard_normal(Q_LORA))
        q8(p + "attn_q_b.weight", rnd(HEADS * (NOPE + ROPE), Q_LORA))
        q8(p + "attn_kv_a_mqa.weight", rnd(KV_LORA + ROPE, E))
        f32(p + "attn_kv_a_norm.weight", 1 + 0.1 * rng.standard_normal(KV_LORA))
        tensors[p + "k_b"] = ("keep", rnd(HEADS, KV_LORA, NOPE))
        tensors[p + "v_b"] = ("keep", rnd(HEADS, VHEAD, KV_LORA))
        q8(p + "attn_output.weight", rnd(E, HEADS * VHEAD))
        if i < LEAD:
            q8(p + "ffn_gate.weight", rnd(FF, E)); q8(p + "ffn_up.weight", rnd(FF, E)); q8(p + "ffn_down.weight", rnd(E, FF))
        else:
            tensors[p + "ffn_gate_inp.weight"] = ("f16", rnd(EXPERTS, E, scale=2.0))
            q8(p + "ffn_gate_exps.weight", rnd(EXPERTS, FF_EXP, E))
            q8(p + "ffn_up_exps.weight", rnd(EXPERTS, FF_EXP, E))
            q8(p + "ffn_down_exps.weight", rnd(EXPERTS, E, FF_EXP))
            q8(p + "ffn_gate_shexp.weight", rnd(FF_EXP * SHARED, E))
            q8(p + "ffn_up_shexp.weight", rnd(FF_EXP * SHARED, E))
            q8(p + "ffn_down_shexp.weight", rnd(E, FF_EXP * SHARED))

    for absorbed in (True, False):
        name = "bench-deepseek2-wide" + ("" if absorbed else "-kvb")
        w = gguf.GGUFWriter(os.path.join(out, name + ".gguf"), "deepseek2")
        a = "deepseek2."
        w.add_name(name)
        for k, v in [("block_count", LAYERS), ("context_length", 4096), ("embedding_length", E),
                     ("feed_forward_length", FF), ("attention.head_count", HEADS),
                     ("attention.head_count_kv", 1 if absorbed else HEADS), ("leading_dense_block_count", LEAD),
                     ("expert_feed_forward_length", FF_EXP), ("expert_count", EXPERTS), ("expert_used_count", USED),
                     ("expert_shared_count", SHARED), ("expert_gating_func", 2), ("attention.q_lora_rank", Q_LORA),
                     ("attention.kv_lora_rank", KV_LORA), ("rope.dimension_count", ROPE),
                     ("expert_group_count", 4), ("expert_group_used_count", 2)]:
            w.add_uint32(a + k, v)
        w.add_float32(a + "expert_weights_scale", 2.5)
        w.add_bool(a + "expert_weights_norm", True)
        w.add_float32(a + "attention.layer_norm_rms_epsilon", 1e-6)
        w.add_float32(a + "rope.freq_base", 10000.0)
        if absorbed:
            w.add_uint32(a + "attention.key_length", KV_LORA + ROPE)
            w.add_uint32(a + "attention.value_length", KV_LORA)
            w.add_uint32(a + "attention.key_length_mla", NOPE + ROPE)
            w.add_uint32(a + "attention.value_length_mla", VHEAD)
        else:
            w.add_uint32(a + "attention.key_length", NOPE + ROPE)
            w.add_uint32(a + "attention.value_length", VHEAD)
        add_byte_tokenizer(w)
        for tname, (kind, arr) in tensors.items():
            if kind == "keep":
                continue
            if kind == "q8":
                w.add_tensor(tname, quantize(arr, Q.Q8_0), raw_dtype=Q.Q8_0)
            elif kind == "f16":
                w.add_tensor(tname, arr.astype(np.float16))
            else:
                w.add_tensor(tname, arr)
            if tname.endswith("attn_kv_a_norm.weight"):
                p = tname[: -len("attn_kv_a_norm.weight")]
                kb, vb = tensors[p + "k_b"][1], tensors[p + "v_b"][1]
                if absorbed:
                    w.add_tensor(p + "attn_k_b.weight", quantize(kb, Q.Q8_0) if NOPE % 32 == 0 else kb.astype(np.float16),
                                 raw_dtype=Q.Q8_0 if NOPE % 32 == 0 else None)
                    w.add_tensor(p + "attn_v_b.weight", quantize(vb, Q.Q8_0), raw_dtype=Q.Q8_0)
                else:
                    # Per head: the nope-key rows are k_b transposed, then the value rows.
                    kvb = np.concatenate([kb.transpose(0, 2, 1), vb], axis=1).reshape(HEADS * (NOPE + VHEAD), KV_LORA)
                    w.add_tensor(p + "attn_kv_b.weight", quantize(np.ascontiguousarray(kvb), Q.Q8_0), raw_dtype=Q.Q8_0)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        print(os.path.join(out, name + ".gguf"), os.path.getsize(os.path.join(out, name + ".gguf")))


if __name__ == "__main__":
    main()
