#!/usr/bin/env python3
"""Tests of the MoE conversion (moefy.py) on a tiny random dense llama GGUF.

python3 -m unittest scripts/engine/moe/test_moefy.py   (needs numpy and gguf; ~10 s)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import moefy  # noqa: E402
from distill import BlockDistiller  # noqa: E402

N_EMBD, N_FF, N_LAYER, N_HEAD, N_KV, VOCAB = 64, 96, 3, 4, 2, 128


def make_dense(path, seed=1):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(N_LAYER)
    w.add_context_length(256)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(VOCAB)
    hd = N_EMBD // N_HEAD
    r = lambda *s: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)
    w.add_tensor("token_embd.weight", r(VOCAB, N_EMBD))
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, np.float32))
    for l in range(N_LAYER):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", np.ones(N_EMBD, np.float32))
        w.add_tensor(p + "ffn_norm.weight", np.ones(N_EMBD, np.float32))
        w.add_tensor(p + "attn_q.weight", r(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_k.weight", r(N_KV * hd, N_EMBD))
        w.add_tensor(p + "attn_v.weight", r(N_KV * hd, N_EMBD))
        w.add_tensor(p + "attn_output.weight", r(N_EMBD, N_EMBD))
        w.add_tensor(p + "ffn_gate.weight", r(N_FF, N_EMBD) * 2)
        w.add_tensor(p + "ffn_up.weight", r(N_FF, N_EMBD) * 2)
        w.add_tensor(p + "ffn_down.weight", r(N_EMBD, N_FF))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def run(args):
    return subprocess.run([sys.executable, os.path.join(HERE, "moefy.py")] + args, capture_output=True, text=True)


class MoefyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.dense = os.path.join(cls.dir.name, "dense.gguf")
        make_dense(cls.dense)
        rng = np.random.default_rng(3)
        cls.ids = os.path.join(cls.dir.name, "ids.json")
        with open(cls.ids, "w") as f:
            json.dump({"calibration": rng.integers(0, VOCAB, 2048).tolist()}, f)
        # 32 shared + 8 experts × 8 neurons, top-2, first block dense.
        cls.common = ["--model", cls.dense, "--tokens", cls.ids, "--experts", "8", "--expert-size", "8",
                      "--shared-size", "32", "--top-k", "2", "--dense-lead", "1", "--segment", "64",
                      "--down-type", "f16"]

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def convert(self, name, extra):
        out = os.path.join(self.dir.name, name)
        r = run(self.common + ["--out", out] + extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return out, json.loads(r.stdout)

    def test_layout_is_deepseek_with_shared_and_routed_experts(self):
        out, report = self.convert("plain.gguf", ["--refit", "0"])
        rd = gguf.GGUFReader(out)
        self.assertEqual(rd.fields["general.architecture"].contents(), "deepseek")
        self.assertEqual(rd.fields["deepseek.expert_count"].contents(), 8)
        self.assertEqual(rd.fields["deepseek.expert_used_count"].contents(), 2)
        self.assertEqual(rd.fields["deepseek.expert_shared_count"].contents(), 4)
        self.assertEqual(rd.fields["deepseek.leading_dense_block_count"].contents(), 1)
        t = {x.name: x for x in rd.tensors}
        self.assertIn("blk.0.ffn_down.weight", t)               # dense lead block kept
        self.assertNotIn("blk.1.ffn_down.weight", t)
        self.assertEqual(list(t["blk.1.ffn_gate_exps.weight"].shape), [N_EMBD, 8, 8])
        self.assertEqual(list(t["blk.1.ffn_down_exps.weight"].shape), [8, N_EMBD, 8])
        self.assertEqual(list(t["blk.2.ffn_down_shexp.weight"].shape), [32, N_EMBD])
        self.assertEqual(list(t["blk.2.ffn_gate_inp.weight"].shape), [N_EMBD, 8])
        self.assertEqual(len(report["layers"]), N_LAYER - 1)

    def test_all_experts_reproduce_the_dense_ffn_without_refit(self):
        # The experts partition the dense neurons and the near-uniform gate times E is ≈1,
        # so with every expert used the MoE block is the dense FFN (up to the gate spread).
        a = moefy.argparse.Namespace(experts=8, expert_size=8, shared_size=32, top_k=2, refit=0.0,
                                     router_spread=0.02, token_weighting=True, distill_epochs=0)
        m = moefy.Dense(self.dense)
        w = m.block(1)
        x = np.random.default_rng(5).standard_normal((512, N_EMBD)).astype(np.float32)
        blk, _ = moefy.fit_block(x, w, a, np.random.default_rng(0))
        dense = moefy.ffn_dense(x, w)
        rel = np.linalg.norm(blk.forward(x, 8) - dense) / np.linalg.norm(dense)
        self.assertLess(rel, 0.02)
        self.assertGreater(np.linalg.norm(blk.forward(x, 2) - dense) / np.linalg.norm(dense), 0.05)
        covered = np.sort(np.concatenate([blk.shared] + blk.experts))
        self.assertTrue(np.array_equal(covered, np.arange(N_FF)))

    def test_refit_lowers_the_error_of_the_routed_block(self):
        _, plain = self.convert("plain2.gguf", ["--refit", "0"])
        _, fitted = self.convert("fitted.gguf", ["--refit", "0.1"])
        for layer in fitted["layers"]:
            self.assertLess(layer["mse_after"], layer["mse_before"])
        self.assertNotIn("mse_after", plain["layers"][0])

    def test_distillation_gradients_match_finite_differences(self):
        rng = np.random.default_rng(11)
        f = lambda *s: rng.standard_normal(s) * 0.5
        blk = moefy.argparse.Namespace(gs=f(6, 12), us=f(6, 12), d_shared=f(12, 6), ge=f(5, 3, 12), ue=f(5, 3, 12),
                                       d_experts=f(5, 12, 3), router=f(5, 12))
        d = BlockDistiller(blk)
        d.p = {n: v.astype(np.float64) for n, v in d.p.items()}
        x, y, w = f(20, 12), f(20, 12), rng.random(20)
        _, g = d.loss_and_grads(x, y, w, 2, 10.0)
        for n in BlockDistiller.NAMES:
            for _ in range(3):
                i = tuple(int(rng.integers(0, s)) for s in d.p[n].shape)
                old = d.p[n][i]
                d.p[n][i] = old + 1e-6
                up = d.loss_and_grads(x, y, w, 2, 10.0, grads=False)[0]
                d.p[n][i] = old - 1e-6
                down = d.loss_and_grads(x, y, w, 2, 10.0, grads=False)[0]
                d.p[n][i] = old
                self.assertAlmostEqual((up - down) / 2e-6, g[n][i], delta=1e-5 + 1e-4 * abs(g[n][i]), msg=n)

    def test_distillation_lowers_the_error_left_by_the_refit(self):
        # The refit is the least-squares optimum for fixed gate/up rows and routing, so any
        # further drop of the (token-weighted, relative) error comes from the gradient steps.
        a = moefy.argparse.Namespace(experts=8, expert_size=8, shared_size=32, top_k=2, refit=0.1,
                                     router_spread=0.02, token_weighting=True, distill_epochs=4,
                                     distill_lr=1e-2, distill_router_lr=0.0, distill_batch=256)
        m = moefy.Dense(self.dense)
        w = m.block(1)
        x = np.random.default_rng(5).standard_normal((4096, N_EMBD)).astype(np.float32)
        blk, info = moefy.fit_block(x, w, a, np.random.default_rng(0))
        self.assertLess(info["distill_after"], 0.97 * info["distill_before"])
        self.assertTrue(blk.trained)
        # The block's own forward pass (the one the conversion carries on) agrees with the loss.
        dense = moefy.ffn_dense(x, w)
        yy = (dense.astype(np.float64) ** 2).sum(1)
        tw = 1.0 / np.maximum(yy, yy.mean())
        err = (tw * ((blk.forward(x, 2) - dense) ** 2).sum(1)).sum() / (tw * yy).sum()
        self.assertAlmostEqual(err, info["distill_after"], delta=1e-3)

    def test_distilled_file_carries_the_trained_gate_and_up_rows(self):
        out, report = self.convert("distilled.gguf", ["--refit", "0.1", "--distill-epochs", "2"])
        for layer in report["layers"]:
            self.assertLess(layer["distill_after"], layer["distill_before"])
        dense, rd = gguf.GGUFReader(self.dense), gguf.GGUFReader(out)
        t = {x.name: np.asarray(x.data, dtype=np.float32) for x in rd.tensors}
        dense_gate = np.asarray({x.name: x for x in dense.tensors}["blk.1.ffn_gate.weight"].data, np.float32)
        exps = t["blk.1.ffn_gate_exps.weight"].reshape(-1, N_EMBD)
        # No trained row is still one of the dense rows (they were moved by the gradient).
        dist = np.abs(exps[:, None, :] - dense_gate[None, :, :]).max(-1).min(1)
        self.assertGreater(dist.min(), 1e-3)

    def test_sensitivity_reports_each_block_alone(self):
        # With every expert used (and the down projections refitted for that), a block
        # alone leaves the dense model's perplexity; with one expert it changes it.
        ids = os.path.join(self.dir.name, "ids-heldout.json")
        rng = np.random.default_rng(4)
        with open(ids, "w") as f:
            json.dump({"calibration": rng.integers(0, VOCAB, 1024).tolist(),
                       "heldout": rng.integers(0, VOCAB, 100).tolist()}, f)
        r = subprocess.run([sys.executable, os.path.join(HERE, "sensitivity.py"), "--model", self.dense,
                            "--tokens", ids, "--experts", "8", "--expert-size", "8", "--shared-size", "32",
                            "--top-k", "1,8", "--fit-k", "8", "--segment", "64"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual([x["layer"] for x in rep["layers"]], list(range(N_LAYER)))
        for x in rep["layers"]:
            self.assertAlmostEqual(x["perplexity"]["8"] / rep["dense"], 1.0, delta=0.01)
            self.assertGreater(abs(x["perplexity"]["1"] / rep["dense"] - 1.0), 1e-4)
        total = sum(np.log(x["perplexity"]["1"] / rep["dense"]) for x in rep["layers"])
        self.assertAlmostEqual(rep["sumLogIncrease"]["1"], total, places=9)

    def test_bad_split_is_a_one_line_error(self):
        r = run(self.common[:-12] + ["--out", os.path.join(self.dir.name, "x.gguf"), "--experts", "5",
                                     "--expert-size", "8", "--shared-size", "32"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("must equal the FFN width", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
