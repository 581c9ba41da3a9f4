"""`airlock audit bench`: the audit writer's throughput, chain verification and the latency a
fail-closed call waits for (one event at a time, one-statement batches against the COPY
transaction). It runs in a scratch database that it drops afterwards; it used to crash while
dropping it (a PostgresClient run twice), after printing nothing."""
from __future__ import annotations

import json
import os
import subprocess

from conftest import REPO, airlock_binary
from test_hostile_secrets import psql


def test_audit_bench_reports_and_drops_its_database(database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env["AIRLOCK_DATABASE_URL"] = database_url
    result = subprocess.run([airlock_binary(), "audit", "bench", "--events", "2000", "--producers", "2", "--database", "airlock_audit_bench_e2e"],
                            env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["written"] == 2000 and report["spooled"] == 0
    assert report["verify_ok"] is True
    durable = report["durable_c1"]
    # Every durable call after the chain's first was one statement on its chain; none on the other.
    assert durable["one_statement_batches"] >= durable["rounds"]
    assert durable["transaction_batches"] >= durable["rounds"]
    assert 0 < durable["one_statement_ms"]["p50"] <= durable["one_statement_ms"]["p99"]
    assert 0 < durable["transaction_ms"]["p50"] <= durable["transaction_ms"]["p99"]
    assert psql(database_url, "SELECT count(*) FROM pg_database WHERE datname = 'airlock_audit_bench_e2e'").strip() == "0"
