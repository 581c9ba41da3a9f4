"""`airlock bench engine --speculative` (multi-token-prediction drafts, issue #7) on the tiny
deepseek2 fixture with one nextn block: the report and the error for a model without one."""
from __future__ import annotations

import json
import subprocess

from conftest import REPO, airlock_binary

FIXTURES = REPO / "Tests" / "AirlockEngineTests" / "Fixtures" / "moe"


def bench(model: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([airlock_binary(), "bench", "engine", "--speculative", "--model", str(FIXTURES / model),
                           "--prompt-tokens", "16", "--decode-tokens", "24", "--repetitions", "1", *extra],
                          capture_output=True, text=True, timeout=120)


def test_speculative_bench_reports_acceptance_and_same_tokens():
    r = bench("ds2-nextn.gguf")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["identical_tokens"] is True
    spec = out["speculative"]
    assert spec["drafts"] > 0 and 0 <= spec["acceptance_rate"] <= 1
    assert out["plain"]["main_passes"] == 23
    # Every accepted draft saves one main pass.
    assert spec["main_passes"] == 23 - spec["accepted"]
    assert spec["decode_tokens_per_second"] > 0 and out["plain"]["decode_tokens_per_second"] > 0


def test_speculative_bench_without_nextn_is_a_one_line_error():
    r = bench("ds2-v3.gguf")
    assert r.returncode != 0
    assert "nextn" in r.stderr and "Traceback" not in r.stderr and "Fatal" not in r.stderr
    r = bench("ds2-v3.gguf", "--draft-model", str(FIXTURES / "mixtral.gguf"))
    assert r.returncode != 0
    assert "multi-token-prediction" in r.stderr and "Fatal" not in r.stderr
