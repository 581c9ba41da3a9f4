"""Writes small, valid GGUF v3 files as fuzzing seeds (metadata of every scalar type, a
string array, a nested array and two tensors)."""
import struct
import sys
from pathlib import Path


def s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key: str, type_: int, payload: bytes) -> bytes:
    return s(key) + struct.pack("<I", type_) + payload


def gguf(with_arrays: bool) -> bytes:
    meta = [kv("general.architecture", 8, s("llama")), kv("general.alignment", 4, struct.pack("<I", 32)),
            kv("llama.block_count", 4, struct.pack("<I", 1)), kv("x.f32", 6, struct.pack("<f", 1.5)),
            kv("x.bool", 7, b"\x01"), kv("x.i64", 11, struct.pack("<q", -3)), kv("x.f64", 12, struct.pack("<d", 2.0))]
    if with_arrays:
        meta.append(kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + s("a") + s("b") + s("<s>")))
        meta.append(kv("x.nested", 9, struct.pack("<IQ", 9, 2) + struct.pack("<IQ", 5, 1) + struct.pack("<i", 7)
                       + struct.pack("<IQ", 5, 0)))
    tensors = [("t.f32", [4], 0, 0), ("t.q8", [32, 2], 8, 32)]
    info = b"".join(s(n) + struct.pack("<I", len(d)) + b"".join(struct.pack("<Q", x) for x in d) + struct.pack("<IQ", t, o)
                    for n, d, t, o in tensors)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta) + info
    pad = (-len(head)) % 32
    return head + b"\0" * pad + b"\0" * (32 + 68)


out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / "small.gguf").write_bytes(gguf(False))
(out / "arrays.gguf").write_bytes(gguf(True))
