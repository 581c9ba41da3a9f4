"""Issue #9: with `AIRLOCK_AUDIT_THREAD=idle` the audit writer runs on a thread of its own at
the idle scheduling policy, so the kernel switches to a request as soon as one arrives instead
of letting an audit batch (sealing, COPY encoding, PostgreSQL round trips, the findings'
fingerprints) finish first. Every call is still audited, with its fingerprints, and the chain
verifies. By default the writer stays on the request loops."""
from __future__ import annotations

import re
import resource
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import Gateway, airlock_cli, new_tenant, upstream_env, wait_until_audited

SCHED_IDLE = 5


def thread_policies(pid: int) -> list[tuple[str, int]]:
    """(name, scheduling policy) of every thread; the policy is field 41 of stat."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        out.append(((task / "comm").read_text().strip(), int(fields[41 - 3])))
    return out


def call(gw: Gateway, key: str, i: int, stream: bool) -> str:
    rid = f"idle-thread-{i:04d}"  # client ids shorter than 8 characters are replaced
    body = {"model": "mock-echo-stream" if stream else "mock-chat", "stream": stream,
            "messages": [{"role": "user", "content": f"Mail person{i}@example.com about order {i}"}]}
    headers = {"authorization": f"Bearer {key}", "x-request-id": rid}
    if stream:
        with httpx.stream("POST", gw.base_url + "/v1/chat/completions", headers=headers, json=body, timeout=30) as s:
            text = "".join(s.iter_text())
        assert s.status_code == 200 and text.rstrip().endswith("data: [DONE]"), text[-500:]
        assert f"person{i}@example.com" in "".join(re.findall(r'"content":"([^"]*)"', text))
    else:
        r = httpx.post(gw.base_url + "/v1/chat/completions", headers=headers, json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert f"person{i}@example.com" in r.json()["choices"][0]["message"]["content"]
    return rid


def may_leave_idle_policy() -> bool:
    """What the gateway checks before it uses an idle-policy writer (it inherits our rights)."""
    cap_eff = int(re.search(r"CapEff:\s*([0-9a-f]+)", Path("/proc/self/status").read_text()).group(1), 16)
    return bool(cap_eff & (1 << 23)) or resource.getrlimit(resource.RLIMIT_NICE)[0] >= 20


def test_the_writer_runs_at_the_idle_policy_and_audits_every_call(upstream, database_url):
    if not may_leave_idle_policy():
        pytest.skip("this test run lacks CAP_SYS_NICE and RLIMIT_NICE >= 20: the gateway rightly shares its threads")
    tenant, key = new_tenant(database_url, "idle")
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_UPSTREAM_MODELS="mock-chat,mock-echo-stream",
                              AIRLOCK_AUDIT_THREAD="idle"))
    gw.wait_ready()
    try:
        idle = [name for name, policy in thread_policies(gw.process.pid) if policy == SCHED_IDLE]
        assert len(idle) == 1 and idle[0].startswith("NIO-ELT-"), thread_policies(gw.process.pid)
        with ThreadPoolExecutor(8) as pool:
            ids = set(pool.map(lambda i: call(gw, key, i, stream=i % 3 == 0), range(120)))
        rows, missing = wait_until_audited(database_url, tenant, ids)
        assert not missing, f"{len(missing)} calls have no audit row"
        mine = [r for r in rows if r["request_id"] in ids]
        assert len(mine) == 120  # exactly one row each
        # One e-mail per prompt: one fingerprint each, made on the writer's thread.
        assert all(len(r["fingerprints"]) == 1 and len(r["fingerprints"][0]) == 64 for r in mine), mine[:3]
        assert len({r["fingerprints"][0] for r in mine}) == 120
        assert airlock_cli(database_url, "audit", "verify").returncode == 0
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]


def test_by_default_the_writer_stays_on_the_request_loops(upstream, database_url):
    tenant, key = new_tenant(database_url, "shared")
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_UPSTREAM_MODELS="mock-chat,mock-echo-stream"))
    gw.wait_ready()
    try:
        threads = thread_policies(gw.process.pid)
        assert not [n for n, p in threads if p == SCHED_IDLE] and not [n for n, _ in threads if n.startswith("NIO-ELT-")], threads
        ids = {call(gw, key, i, stream=i == 0) for i in range(3)}
        _, missing = wait_until_audited(database_url, tenant, ids)
        assert not missing
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]


def test_without_the_right_to_boost_it_the_writer_shares_the_request_threads(upstream, database_url, tmp_path, monkeypatch):
    """Leaving SCHED_IDLE for nice 0 needs CAP_SYS_NICE (or RLIMIT_NICE >= 20): a gateway
    without it (root in a default docker container, an ordinary user) must not start a writer
    it could never boost, which would starve under load."""
    import shutil
    import conftest
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed")
    binary = conftest.airlock_binary()
    wrapper = tmp_path / "airlock-without-sys-nice"
    wrapper.write_text(f'#!/bin/sh\nexec setpriv --bounding-set -sys_nice prlimit --nice=0 -- "{binary}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(conftest, "airlock_binary", lambda: str(wrapper))
    tenant, key = new_tenant(database_url, "nonice")
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_UPSTREAM_MODELS="mock-chat,mock-echo-stream",
                              AIRLOCK_AUDIT_THREAD="idle"))
    gw.wait_ready()
    try:
        status = Path(f"/proc/{gw.process.pid}/status").read_text()
        cap_eff = int(re.search(r"CapEff:\s*([0-9a-f]+)", status).group(1), 16)
        assert not cap_eff & (1 << 23)
        threads = thread_policies(gw.process.pid)
        assert not [n for n, p in threads if p == SCHED_IDLE], threads
        ids = {call(gw, key, i, stream=i == 0) for i in range(3)}
        _, missing = wait_until_audited(database_url, tenant, ids)
        assert not missing
        assert "audit writer shares the request threads" in gw.logs()
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]
