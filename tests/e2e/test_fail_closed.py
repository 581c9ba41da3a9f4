"""Fail-closed audit, end to end: with PostgreSQL down and the spool's disk full, a tenant
whose policy says `fail_closed: true` gets 503 `audit_unavailable` instead of an unaudited
answer, while a tenant without it is still served (its event waits in memory). Runs its own
PostgreSQL and puts the spool on a tiny tmpfs it can fill."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from conftest import managed_db, Gateway, airlock_cli, audit_call_rows, fail_closed_policy, new_tenant, upstream_env

POLICY = fail_closed_policy("audited-or-nothing")


def chat(gw, key) -> httpx.Response:
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=30, headers={"authorization": f"Bearer {key}"},
                      json={"model": "mock-chat", "messages": [{"role": "user", "content": "hello"}]})


def stream_chat(gw, key) -> httpx.Response:
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=30, headers={"authorization": f"Bearer {key}"},
                      json={"model": "mock-chat", "stream": True, "messages": [{"role": "user", "content": "hello"}]})


@pytest.fixture
def spool_mount():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = Path(tempfile.mkdtemp(prefix="airlock-spool-", dir="/tmp"))
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield path
    subprocess.run(["umount", "-l", str(path)])
    shutil.rmtree(path, ignore_errors=True)


def gateway_spooling_to(upstream, url: str, spool: Path, tmp_path: Path) -> Gateway:
    config = tmp_path / "airlock.yaml"
    config.write_text(f"audit:\n  spool_dir: {spool}\n")
    return Gateway(upstream_env(upstream, url), args=["--config", str(config)])


def fail_closed_tenant(url: str, tmp_path: Path) -> tuple[str, str]:
    tenant, key = new_tenant(url, "strict")
    policy = tmp_path / "strict.yaml"
    policy.write_text(POLICY)
    airlock_cli(url, "policy", "apply", "--tenant", tenant, str(policy))
    return tenant, key


def fill_file_system(directory: Path) -> None:
    """Fills the spool's file system so the fallback cannot take an event either."""
    with open(directory / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def rows_once_written(url: str, tenant: str, count: int) -> list[dict]:
    """The tenant's call rows once there are `count` (the connection pool reconnects with
    backoff after an outage, which can take a while)."""
    deadline = time.time() + 120
    rows = audit_call_rows(url, tenant)
    while len(rows) < count and time.time() < deadline:
        time.sleep(0.5)
        rows = audit_call_rows(url, tenant)
    return rows


def test_fail_closed_tenant_is_refused_when_nothing_can_persist(upstream, spool_mount, private_db, tmp_path):
    url, data_dir = private_db
    gw = gateway_spooling_to(upstream, url, spool_mount, tmp_path)
    try:
        gw.wait_ready()
        strict_tenant, strict_key = fail_closed_tenant(url, tmp_path)
        relaxed_tenant, relaxed_key = new_tenant(url, "relaxed")
        time.sleep(1.0)
        assert chat(gw, strict_key).status_code == 200  # audited normally

        managed_db("stop", data_dir)
        fill_file_system(spool_mount)
        refused = chat(gw, strict_key)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "audit_unavailable"
        assert "hello" not in refused.text
        # A stream cannot be withheld once started, so it is refused before the first byte.
        streamed = stream_chat(gw, strict_key)
        assert streamed.status_code == 503, streamed.text
        assert streamed.headers["content-type"].startswith("application/json")
        assert streamed.json()["error"]["code"] == "audit_unavailable"
        # Without fail_closed the call is served; its event waits for the database.
        assert chat(gw, relaxed_key).status_code == 200

        # Database back: the waiting event is written, nothing lost; shutdown drains cleanly.
        managed_db("start", data_dir)
        assert len(rows_once_written(url, relaxed_tenant, 1)) == 1
        assert gw.stop() == 0
    finally:
        gw.stop()
        managed_db("start", data_dir)  # the fixture stops it again


@contextlib.contextmanager
def strict_gateway_spooling_to_disk(upstream, url: str, tmp_path: Path):
    """A gateway whose spool has room, with a fail-closed tenant whose first call is on
    record; yields (gateway, tenant, key) and stops the gateway whatever happens."""
    spool = tmp_path / "spool"
    spool.mkdir()
    gw = gateway_spooling_to(upstream, url, spool, tmp_path)
    try:
        gw.wait_ready()
        tenant, key = fail_closed_tenant(url, tmp_path)
        time.sleep(1.0)
        assert chat(gw, key).status_code == 200
        yield gw, tenant, key
    finally:
        gw.stop()


def test_a_fail_closed_call_goes_to_the_spool_at_once_when_postgresql_dies(upstream, private_db, tmp_path):
    """When PostgreSQL stops, a fail-closed call does not sit out the writer's 3 s database
    timeout before its event goes to the spool: the writer sees that no connection can be
    made and spools at once. Every call is on record once the database is back."""
    url, data_dir = private_db
    try:
        with strict_gateway_spooling_to_disk(upstream, url, tmp_path) as (gw, tenant, key):
            managed_db("stop", data_dir)
            timings = []
            for _ in range(5):
                started = time.monotonic()
                answer = chat(gw, key)
                timings.append(time.monotonic() - started)
                assert answer.status_code == 200, answer.text
            print("fail-closed call times with PostgreSQL stopped:", [round(t, 3) for t in timings])
            assert max(timings) < 1.0, timings

            managed_db("start", data_dir)
            assert len(rows_once_written(url, tenant, 6)) == 6
            assert gw.stop() == 0
            verified = airlock_cli(url, "audit", "verify")
            assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        managed_db("start", data_dir)  # the fixture stops it again


def test_a_fail_closed_call_does_not_wait_out_a_frozen_postgresql(upstream, private_db, tmp_path):
    """PostgreSQL frozen (every process stopped, connections open but silent): the writer's
    check cannot open a connection within 1 s, so the event goes to the spool well before the
    3 s database timeout."""
    url, data_dir = private_db
    with strict_gateway_spooling_to_disk(upstream, url, tmp_path) as (gw, tenant, key):
        frozen = postgres_processes(data_dir)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            answer = chat(gw, key)
            took = time.monotonic() - started
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        assert answer.status_code == 200, answer.text
        print(f"fail-closed call with PostgreSQL frozen: {took:.3f} s")
        assert took < 2.5, took

        assert len(rows_once_written(url, tenant, 2)) == 2
        assert gw.stop() == 0


def postgres_processes(data_dir: Path) -> list[int]:
    """The postmaster of this data folder and its children."""
    postmaster = int((data_dir / "data" / "postmaster.pid").read_text().splitlines()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:  # the field after the state is the parent's pid
            children.append(int(stat.parent.name))
    return [postmaster, *children]


def stream_events(gw, key, model: str, after_first=None) -> list[str]:
    """The `data:` payloads of one streamed call, calling `after_first` once the first arrived."""
    events: list[str] = []
    with httpx.stream("POST", gw.base_url + "/v1/chat/completions", timeout=60, headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "stream": True, "messages": [{"role": "user", "content": "hello"}]}) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: "):])
                if len(events) == 1 and after_first:
                    after_first()
    return events


def test_a_fail_closed_stream_ends_with_done_only_once_its_event_is_durable(upstream, spool_mount, private_db, tmp_path):
    """A stream cannot be withheld, but its end can: `[DONE]` goes out only once the call's
    event is durable. When the event cannot be made durable mid-stream (PostgreSQL stops and
    the spool's disk fills while the answer streams), the stream ends with an
    `audit_unavailable` error event instead, and the event is written once the database is back."""
    url, data_dir = private_db
    gw = gateway_spooling_to(upstream, url, spool_mount, tmp_path)
    try:
        gw.wait_ready()
        tenant, key = fail_closed_tenant(url, tmp_path)
        time.sleep(1.0)

        events = stream_events(gw, key, "mock-chat")
        assert events[-1] == "[DONE]" and len(events) > 2
        assert len(audit_call_rows(url, tenant)) == 1

        def lose_both_stores() -> None:
            managed_db("stop", data_dir)
            fill_file_system(spool_mount)

        events = stream_events(gw, key, "mock-slow-stream", after_first=lose_both_stores)
        assert "[DONE]" not in events, events[-3:]
        error = json.loads(events[-1])["error"]
        assert error["code"] == "audit_unavailable" and error["type"] == "server_error"
        # The answer itself had been relayed (it cannot be withheld once streaming).
        assert any("mock" in e for e in events[:-1])

        # Database back: the call's event is written after all, exactly once.
        managed_db("start", data_dir)
        rows = rows_once_written(url, tenant, 2)
        assert len(rows) == 2, rows
        assert any(row["error_code"] == "audit_unavailable" for row in rows), rows
        assert gw.stop() == 0
    finally:
        gw.stop()
        managed_db("start", data_dir)  # the fixture stops it again
