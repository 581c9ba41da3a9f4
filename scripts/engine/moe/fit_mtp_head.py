#!/usr/bin/env python3
"""Fits a DeepSeek-V3-style multi-token-prediction (MTP) head for a dense llama GGUF that
has none (SmolLM2), and writes it as a companion GGUF the engine loads with
`--draft-model` (`airlock bench engine --speculative --draft-model F`).

  python3 scripts/engine/moe/fit_mtp_head.py [--model models/SmolLM2-135M-Instruct.Q4_1.gguf]
          [--out models/SmolLM2-135M-Instruct.mtp.gguf] [--check-llama-cpp]

The head: the MTP block is a copy of the model's last block; eh_proj is fitted by ridge
least squares so that eh_proj([rmsnorm(emb(x[t+1])); rmsnorm(h[t])]) approximates the
residual stream *entering the last block* at position t+1 (h[t] = final hidden state at
t, before the output norm). The copied block and the shared output head then turn that
estimate into a distribution for x[t+2]. enorm/hnorm are ones, shared_head_norm is the
model's output norm, embedding and head are the model's (tied) ones.

Hidden states come from a numpy forward pass of the model (checked against llama.cpp's
logits with --check-llama-cpp). Texts in scripts/engine/moe/text/: the fit uses
distill.txt, the ridge strength is chosen on calibration.txt, and heldout.txt is only
reported: teacher-forced agreement of the MTP draft with the main model's next argmax,
the acceptance rate speculative decoding would see on that text.

The head is a separate file because llama.cpp refuses model files with tensors its graph
does not use (checked with --check-llama-cpp), so the main file stays as it is.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import gguf

import moefy as M  # the numpy llama pieces (loader, attention, FFN)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TEXT = os.path.join(HERE, "text")
SEGMENT = 256  # tokens per forward pass (positions 0..255)


class Model(M.Dense):
    """The dense model in numpy: moefy's loader, attention and FFN, plus what the MTP fit reads."""

    def __init__(self, path):
        super().__init__(path)
        self.path = path
        self.reader = self.r
        self.tensors = self.t
        self.e = self.n_embd
        self.w = {}

    def get(self, name):
        if name not in self.w:
            self.w[name] = self.f32(name)
        return self.w[name]

    def rms(self, x, w=None):
        return M.rms(x, 1.0 if w is None else w, self.eps)

    def block(self, i, x):
        """Block i over T tokens (T × n_embd) at positions 0..T-1."""
        if ("block", i) not in self.w:
            self.w[("block", i)] = M.Dense.block(self, i)
        w = self.w[("block", i)]
        x = M.attention(self, w, x[None])[0]
        return x + M.ffn_dense(self.rms(x, w["ffn_norm"]), w)

    def forward(self, tokens):
        """Final hidden states (pre-norm) and the residual stream entering the last block."""
        x = self.get("token_embd.weight")[tokens]
        for i in range(self.n_layer):
            if i == self.n_layer - 1:
                before_last = x.copy()
            x = self.block(i, x)
        return x, before_last

    def head(self, x):
        out = self.get("output.weight") if "output.weight" in self.tensors else self.get("token_embd.weight")
        return self.rms(x, self.get("output_norm.weight")) @ out.T

    def mtp_inputs(self, tokens, hidden):
        """[rmsnorm(emb(x[t+1])); rmsnorm(h[t])] for t = 0..T-2."""
        emb = self.get("token_embd.weight")[tokens[1:]]
        return np.concatenate([self.rms(emb), self.rms(hidden[:-1])], axis=1)

    def mtp_logits(self, tokens, hidden, eh_proj):
        x = self.mtp_inputs(tokens, hidden) @ eh_proj.T
        x = self.block(self.n_layer - 1, x)
        return self.head(x)


def tokenize(model_path, text):
    from llama_cpp import Llama
    llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
    return llm.tokenize(text.encode(), add_bos=False, special=False)


def segments(ids):
    return [ids[i:i + SEGMENT] for i in range(0, len(ids) - 2, SEGMENT) if len(ids[i:i + SEGMENT]) > 2]


def check_against_llama_cpp(model_path, m, ids):
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=model_path, n_ctx=256, n_threads=2, logits_all=True, verbose=False)
    llm.eval(ids)
    ref = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(len(ids), llm.n_vocab())).copy()
    ours = m.head(m.forward(ids)[0])
    agree = np.mean(ours.argmax(1) == ref.argmax(1))
    err = np.abs(ours - ref).max() / np.abs(ref).max()
    print(f"numpy forward vs llama.cpp on {len(ids)} tokens: argmax agreement {agree:.3f}, relative logit error {err:.3f}")
    return agree


def write_companion(m, eh_proj, out_path):
    last = m.n_layer - 1
    n = m.n_layer
    w = gguf.GGUFWriter(out_path, "llama")
    w.add_name("MTP head (fitted) for " + os.path.basename(m.path))
    w.add_uint32("llama.block_count", n + 1)
    w.add_uint32("llama.embedding_length", m.e)
    w.add_uint32("llama.nextn_predict_layers", 1)
    for name, t in m.tensors.items():
        if name.startswith(f"blk.{last}."):
            w.add_tensor(name.replace(f"blk.{last}.", f"blk.{n}.", 1), np.array(t.data),
                         raw_dtype=t.tensor_type)
    ones = np.ones(m.e, dtype=np.float32)
    w.add_tensor(f"blk.{n}.nextn.enorm.weight", ones)
    w.add_tensor(f"blk.{n}.nextn.hnorm.weight", ones.copy())
    w.add_tensor(f"blk.{n}.nextn.shared_head_norm.weight", m.get("output_norm.weight").astype(np.float32))
    w.add_tensor(f"blk.{n}.nextn.eh_proj.weight", eh_proj.astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_cpp_refuses_extra_tensors(model_path, m, eh_proj):
    """Writes the model with the head's tensors added and asks llama.cpp to load it."""
    from llama_cpp import Llama
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "with-head.gguf")
        w = gguf.GGUFWriter(path, "llama")
        for f in m.reader.fields.values():
            if f.name.startswith("GGUF.") or f.name == "general.architecture":
                continue
            vtype = f.types[0]
            if vtype == gguf.GGUFValueType.ARRAY:
                sub = f.types[1]
                vals = [bytes(f.parts[i]).decode() if sub == gguf.GGUFValueType.STRING else f.parts[i][0].item() for i in f.data]
                w.add_array(f.name, vals)
            elif vtype == gguf.GGUFValueType.STRING:
                w.add_string(f.name, bytes(f.parts[-1]).decode())
            else:
                w.add_key_value(f.name, f.parts[-1][0].item(), vtype)
        for name, t in m.tensors.items():
            w.add_tensor(name, np.array(t.data), raw_dtype=t.tensor_type)
        w.add_tensor(f"blk.{m.n_layer}.nextn.eh_proj.weight", eh_proj.astype(np.float16))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        try:
            Llama(model_path=path, n_ctx=64, verbose=False)
            return "no: llama.cpp loaded the file with an unused tensor"
        except Exception as exc:
            return f"yes ({type(exc).__name__})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--ridge", default="1e-1,1e-2,1e-3,1e-4",
                    help="ridge strengths (times the mean diagonal) to try; the best on calibration.txt is kept")
    ap.add_argument("--max-calibration-tokens", type=int, default=24000)
    ap.add_argument("--check-llama-cpp", action="store_true")
    args = ap.parse_args()
    out = args.out or os.path.splitext(args.model)[0] + ".mtp.gguf"
    m = Model(args.model)
    start = time.time()

    fit_ids = tokenize(args.model, open(os.path.join(TEXT, "distill.txt")).read())[:args.max_calibration_tokens]
    select_ids = tokenize(args.model, open(os.path.join(TEXT, "calibration.txt")).read())
    held = tokenize(args.model, open(os.path.join(TEXT, "heldout.txt")).read())
    if args.check_llama_cpp:
        assert check_against_llama_cpp(args.model, m, held[:128]) > 0.9, "numpy forward disagrees with llama.cpp"

    # Normal equations of the ridge fit, accumulated segment by segment.
    d = 2 * m.e
    xtx = np.zeros((d, d))
    xty = np.zeros((d, m.e))
    count = 0
    for seg in segments(fit_ids):
        hidden, before_last = m.forward(seg)
        x = m.mtp_inputs(seg, hidden).astype(np.float64)
        y = before_last[1:].astype(np.float64)
        xtx += x.T @ x
        xty += x.T @ y
        count += len(x)
    print(f"features of {count} positions ({len(fit_ids)} tokens of distill.txt) in {time.time() - start:.0f} s")

    def evaluate(ids, projections):
        """Per projection: how often the MTP draft for x[t+2] equals the main argmax at t+1
        (teacher forcing: the acceptance rate speculative decoding would see on this text)."""
        agree, total = np.zeros(len(projections)), 0
        for seg in segments(ids):
            hidden, _ = m.forward(seg)
            main_next = m.head(hidden).argmax(1)
            total += len(seg) - 1
            for j, p in enumerate(projections):
                agree[j] += np.sum(m.mtp_logits(seg, hidden, p).argmax(1) == main_next[1:])
        return agree / total, total

    lams = [float(v) for v in args.ridge.split(",")]
    projections = [np.linalg.solve(xtx + lam * np.trace(xtx) / d * np.eye(d), xty).T.astype(np.float32) for lam in lams]
    rates, n_sel = evaluate(select_ids, projections)
    for lam, r in zip(lams, rates):
        print(f"ridge {lam:g}: calibration.txt ({n_sel} positions) draft agreement {r:.3f}")
    best = int(np.argmax(rates))
    eh_proj = projections[best]
    held_rate, n_held = evaluate(held, [eh_proj])
    print(f"kept ridge {lams[best]:g}; held-out heldout.txt ({n_held} positions): MTP draft == main argmax at t+1 "
          f"for {held_rate[0]:.3f} of positions")

    write_companion(m, eh_proj, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    if args.check_llama_cpp:
        print("llama.cpp refuses the model file with an extra nextn tensor:", llama_cpp_refuses_extra_tensors(args.model, m, eh_proj))


if __name__ == "__main__":
    main()
