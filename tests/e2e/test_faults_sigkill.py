"""Issue #9: the gateway is killed with SIGKILL under load, while PostgreSQL is down, and
restarted. For a fail-closed tenant every answered call was made durable (database or fsync'd
spool) before the answer left, so after the restart replays the spool every call that got a
200 has exactly one audit row; nothing is duplicated and `airlock audit verify` passes.
Calls of a tenant without fail-closed are acknowledged before their event is durable: the
test reports how many of those the kill lost, and checks they were never duplicated."""
from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter

import httpx

from conftest import Gateway, airlock_cli, audit_call_rows, managed_db, new_tenant, ready_status, upstream_env, wait_until_audited
from test_audit_under_faults import kill_postgres

STRICT = """apiVersion: airlock/v1
kind: Policy
name: sigkill-strict
mode: enforce
defaults: { action: allow, destinations: ["*"], local: allowed }
limits: { requests_per_minute: 1000000 }
rules: []
retention: { audit_days: 30, payload_days: 0, capture_payloads: false, fail_closed: true }
"""
DOWN_SECONDS = 6.0
RELAXED = STRICT.replace("sigkill-strict", "sigkill-relaxed").replace("fail_closed: true", "fail_closed: false")


def load(gw, key: str, stop: threading.Event, results: list, lock: threading.Lock, tag: str) -> None:
    with httpx.Client(base_url=gw.base_url, timeout=10, headers={"authorization": f"Bearer {key}"}) as client:
        i = 0
        while not stop.is_set():
            rid = f"kill-{tag}-{i:05d}-{uuid.uuid4().hex[:8]}"
            i += 1
            try:
                r = client.post("/v1/chat/completions", headers={"x-request-id": rid},
                                json={"model": "mock-chat", "messages": [{"role": "user", "content": f"n{i}"}]})
                status = r.status_code
            except httpx.HTTPError:
                status = None  # the kill cut it off: no answer, no promise
            with lock:
                results.append((rid, status, time.monotonic()))


def test_sigkill_under_load_with_database_down_loses_no_answered_call(private_db, upstream, tmp_path):
    url, data_dir = private_db
    config = tmp_path / "airlock.yaml"
    # A fixed chain id: the restarted instance must find and replay its own spool.
    config.write_text(f"audit:\n  spool_dir: {tmp_path / 'spool'}\n  chain_id: sigkill-{uuid.uuid4().hex[:8]}\n")
    env = upstream_env(upstream, url)
    gw = Gateway(env, args=["--config", str(config)])
    gw.wait_ready()
    strict, strict_key = new_tenant(url, "kill-strict")
    relaxed, relaxed_key = new_tenant(url, "kill-relaxed")
    for tenant, text in ((strict, STRICT), (relaxed, RELAXED)):
        (tmp_path / f"{tenant}.yaml").write_text(text)
        airlock_cli(url, "policy", "apply", "--tenant", tenant, str(tmp_path / f"{tenant}.yaml"))
    time.sleep(1.5)

    results: list = []
    lock = threading.Lock()
    stop = threading.Event()
    threads = [threading.Thread(target=load, args=(gw, key, stop, results, lock, tag), daemon=True)
               for key, tag in ((strict_key, "s0"), (strict_key, "s1"), (relaxed_key, "r0"), (relaxed_key, "r1"))]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)                 # database up: rows go straight to PostgreSQL
        kill_postgres(data_dir)
        down_at = time.monotonic()
        time.sleep(DOWN_SECONDS)        # database down: durable means the spool
        gw.process.send_signal(signal.SIGKILL)
        gw.process.wait(10)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        gw.stop()
    managed_db("start", data_dir)

    gw2 = Gateway(env, args=["--config", str(config)])
    try:
        gw2.wait_ready()
        strict_ok = {rid for rid, status, _ in results if status == 200 and rid.startswith("kill-s")}
        relaxed_ok = {rid for rid, status, at in results if status == 200 and rid.startswith("kill-r")}
        statuses = Counter(status for _, status, _ in results)
        assert len(strict_ok) >= 20 and len(relaxed_ok) >= 20, f"too little load: {dict(statuses)}"
        strict_during = [r for r in results if r[0] in strict_ok and r[2] > down_at]
        during = Counter(status for rid, status, at in results if at > down_at and rid.startswith("kill-s"))
        assert strict_during, f"no fail-closed call was answered while the database was down: {dict(during)}"

        _, missing = wait_until_audited(url, strict, strict_ok)
        if missing:
            raise AssertionError(f"{len(missing)} of {len(strict_ok)} answered fail-closed calls have no audit row after "
                                 f"the restart, e.g. {sorted(missing)[:5]}\n{gw.logs()[-2000:]}\n{gw2.logs()[-3000:]}")
        time.sleep(1.5)
        for tenant in (strict, relaxed):
            counts = Counter(r["request_id"] for r in audit_call_rows(url, tenant))
            duplicates = {rid: n for rid, n in counts.items() if n > 1}
            assert not duplicates, f"duplicated audit rows after replay: {list(duplicates.items())[:5]}"
        relaxed_rows = {r["request_id"] for r in audit_call_rows(url, relaxed)}
        lost = relaxed_ok - relaxed_rows
        print(f"statuses {dict(statuses)}; fail-closed: {len(strict_ok)} answered, all audited "
              f"({len(strict_during)} while the database was down); relaxed: {len(relaxed_ok)} answered, "
              f"{len(lost)} lost to SIGKILL (acknowledged before durable)")
        verify = airlock_cli(url, "audit", "verify")
        assert verify.returncode == 0
        assert ready_status(gw2) == 200
    finally:
        assert gw2.stop() == 0, gw2.logs()[-3000:]
