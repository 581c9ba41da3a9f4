"""Issue #5: PostgreSQL is killed (immediate shutdown, no checkpoint) and restarted while the
gateway is under load; afterwards every request that got an answer has exactly one audit row,
no row is duplicated, and the hash chain still verifies. Requests keep succeeding during the
outage: governance runs on the last good snapshot and the audit writer spools until the
database is back. Runs its own private PostgreSQL so killing it affects no other test."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

from conftest import managed_db, ready_status, wait_for, wait_until_audited, audit_call_rows, Gateway, airlock_cli, new_tenant, upstream_env

CLIENTS = 4
LOAD_SECONDS = 8.0
OUTAGE_AFTER = 2.5
OUTAGE_SECONDS = 3.0
PG_CTL = "/usr/lib/postgresql/15/bin/pg_ctl"

# The default per-key limit (600 requests per minute) would turn most of this load into 429s.
POLICY = """apiVersion: airlock/v1
kind: Policy
name: fault-load
mode: enforce
defaults: { action: allow, destinations: ["*"], local: allowed }
limits: { requests_per_minute: 1000000 }
rules: []
"""


def kill_postgres(data_dir: Path) -> None:
    """Immediate shutdown: the server exits without a checkpoint, like a crash; connections drop."""
    pg_data = str(data_dir / "data")
    if os.geteuid() == 0 and Path(PG_CTL).exists():
        cmd = ["runuser", "-u", "postgres", "--", PG_CTL, "-D", pg_data, "-m", "immediate", "-w", "stop"]
    elif Path(PG_CTL).exists():
        cmd = [PG_CTL, "-D", pg_data, "-m", "immediate", "-w", "stop"]
    else:
        managed_db("stop", data_dir)
        return
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"pg_ctl stop -m immediate failed: {result.stderr}"


class Load:
    """CLIENTS threads posting chat requests back to back, each with its own x-request-id."""

    def __init__(self, gw: Gateway, key: str) -> None:
        self.gw, self.key = gw, key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        # (request_id, status or None for a transport error, sent_at, body or error text)
        self.results: list[tuple[str, int | None, float, str]] = []

    def worker(self, n: int) -> None:
        with httpx.Client(base_url=self.gw.base_url, timeout=30,
                          headers={"authorization": f"Bearer {self.key}"}) as client:
            i = 0
            while not self.stop.is_set():
                rid = f"fault-{n}-{i:05d}-{uuid.uuid4().hex[:12]}"
                i += 1
                sent = time.monotonic()
                try:
                    r = client.post("/v1/chat/completions", headers={"x-request-id": rid},
                                    json={"model": "mock-chat", "messages": [{"role": "user", "content": f"hello {i}"}]})
                    assert r.headers.get("x-request-id") == rid, f"gateway did not reuse {rid}: {r.headers}"
                    entry = (rid, r.status_code, sent, "" if r.status_code < 300 else r.text[:500])
                except httpx.HTTPError as error:
                    entry = (rid, None, sent, repr(error))
                with self.lock:
                    self.results.append(entry)

    def run(self, during) -> None:
        threads = [threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            during()
        finally:
            self.stop.set()
            for t in threads:
                t.join(60)


def test_kill_and_restart_postgres_under_load_keeps_exactly_one_audit_row_per_request(private_db, upstream, tmp_path):
    url, data_dir = private_db
    gw = Gateway(upstream_env(upstream, url))
    try:
        gw.wait_ready()
        tenant, key = new_tenant(url, "fault")
        policy = tmp_path / "fault-load.yaml"
        policy.write_text(POLICY)
        airlock_cli(url, "policy", "apply", "--tenant", tenant, str(policy))
        time.sleep(1.5)  # running gateways learn of the policy through LISTEN/NOTIFY
        wait_for(lambda: httpx.post(gw.base_url + "/v1/chat/completions", timeout=10,
                                    headers={"authorization": f"Bearer {key}", "x-request-id": f"warmup-{uuid.uuid4().hex}"},
                                    json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200, 10)

        load = Load(gw, key)
        outage: dict[str, float] = {}

        def chaos() -> None:
            start = time.monotonic()
            time.sleep(OUTAGE_AFTER)
            kill_postgres(data_dir)
            outage["down"] = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            outage["restarting"] = time.monotonic()
            managed_db("start", data_dir)
            outage["up"] = time.monotonic()
            time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - start)))

        load.run(chaos)
        assert gw.process.poll() is None, "the gateway must survive losing its database:\n" + gw.logs()[-4000:]
        wait_for(lambda: ready_status(gw) == 200, 30)

        results = load.results
        statuses = Counter(status for _, status, _, _ in results)
        during = [r for r in results if outage["down"] <= r[2] < outage["up"]]
        summary = (f"{len(results)} requests, statuses {dict(statuses)}, {len(during)} sent while the database was down "
                   f"({outage['up'] - outage['down']:.1f}s, of which {outage['up'] - outage['restarting']:.1f}s crash recovery on restart)")
        print(summary)

        transport_errors = [r for r in results if r[1] is None]
        assert not transport_errors, f"{summary}; transport errors: {transport_errors[:5]}"
        server_errors = [r for r in results if r[1] >= 500]
        assert not server_errors, f"{summary}; 5xx responses: {server_errors[:5]}\n{gw.logs()[-4000:]}"
        # Within governance.max_stale_seconds (300 s by default) the last good snapshot keeps serving;
        # the only refusal policy allows here is the per-key rate limit.
        for rid, status, _, body in (r for r in results if r[1] != 200):
            code = json.loads(body)["error"]["code"]
            assert (status, code) == (429, "rate_limit_exceeded"), f"{summary}; unexpected refusal {rid}: {status} {body}"
        served_during = [r for r in during if r[1] == 200]
        assert len(served_during) >= CLIENTS, f"{summary}; requests must keep succeeding while the database is down"

        answered = {rid for rid, status, _, _ in results if status is not None and 200 <= status < 500}
        rows, missing = wait_until_audited(url, tenant, answered)
        if missing:
            missing_during = [r for r in results if r[0] in missing and outage["down"] <= r[2] < outage["up"]]
            raise AssertionError(f"{summary}; {len(missing)} answered requests have no audit row "
                                 f"({len(missing_during)} of them sent during the outage), e.g. {sorted(missing)[:5]}\n"
                                 + gw.logs()[-4000:])
        time.sleep(2)  # let any late duplicate from a retried spool flush land before the final count
        rows = audit_call_rows(url, tenant)
        counts = Counter(r["request_id"] for r in rows)
        duplicates = {rid: n for rid, n in counts.items() if n > 1}
        assert not duplicates, f"{summary}; duplicated audit rows: {list(duplicates.items())[:5]}"
        ours = answered | {rid for rid in counts if rid.startswith("warmup-")}
        strangers = set(counts) - ours
        assert not strangers, f"{summary}; audit rows for requests never answered: {sorted(strangers)[:5]}"
        assert all(counts[rid] == 1 for rid in answered)
        assert len([r for r in rows if r["request_id"] in answered]) == len(answered)
        print(f"{len(rows)} call audit rows ({len(answered)} load requests + warm-up)")

        verify = airlock_cli(url, "audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        assert gw.stop() == 0, gw.logs()[-4000:]
