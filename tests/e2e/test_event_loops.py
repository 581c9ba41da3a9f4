"""Issue #9: the gateway sizes its event loops to the CPUs it may run on. NIO counts the
machine's cores (and cgroup limits) but not the process's affinity, so a gateway pinned to
one CPU ran two loops that preempted each other on it. Pinned, it now runs one loop and
still serves whole and streamed answers with personal data restored; `AIRLOCK_EVENT_LOOPS`
overrides the count, and a bad value stops the start with a one-line error."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import Gateway, airlock_binary, auth, upstream_env

pytestmark = pytest.mark.usefixtures("tenant_key")


def loop_threads(pid: int) -> int:
    names = [Path(t, "comm").read_text().strip() for t in Path(f"/proc/{pid}/task").iterdir()]
    return sum(1 for n in names if re.match(r"NIO-SGLTN-\d+-#", n))


def start_pinned(env: dict[str, str], cpus: set[int]) -> Gateway:
    """Starts a gateway whose process may only run on `cpus` (the affinity is inherited)."""
    own = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        gw = Gateway(env)
    finally:
        os.sched_setaffinity(0, own)
    gw.wait_ready()
    return gw


def test_a_gateway_pinned_to_one_cpu_runs_one_loop_and_serves(upstream, database_url):
    cpu = min(os.sched_getaffinity(0))
    models = "mock-chat,mock-echo-stream"
    gw = start_pinned(upstream_env(upstream, database_url, AIRLOCK_UPSTREAM_MODELS=models), {cpu})
    try:
        assert os.sched_getaffinity(gw.process.pid) == {cpu}
        assert loop_threads(gw.process.pid) == 1
        body = {"model": "mock-chat", "messages": [{"role": "user", "content": "Mail jane.doe@example.com please"}]}
        r = httpx.post(gw.base_url + "/v1/chat/completions", headers=auth(), json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert "jane.doe@example.com" in r.json()["choices"][0]["message"]["content"]
        assert "jane.doe@example.com" not in upstream.recorder.requests[-1]["raw"]  # pseudonymized on the way
        with httpx.stream("POST", gw.base_url + "/v1/chat/completions", headers=auth(), timeout=30,
                          json={**body, "model": "mock-echo-stream", "stream": True}) as s:
            text = "".join(s.iter_text())
        assert s.status_code == 200 and text.rstrip().endswith("data: [DONE]")
        assert "jane.doe@example.com" in "".join(re.findall(r'"content":"([^"]*)"', text))
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]


def test_the_loop_count_can_be_set(upstream, database_url):
    gw = start_pinned(upstream_env(upstream, database_url, AIRLOCK_EVENT_LOOPS="3"), {min(os.sched_getaffinity(0))})
    try:
        assert loop_threads(gw.process.pid) == 3
        r = httpx.post(gw.base_url + "/v1/chat/completions", headers=auth(), timeout=30,
                       json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200, r.text
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]


@pytest.mark.parametrize("value", ["0", "many", "99999"])
def test_a_bad_loop_count_stops_the_start_with_one_line(value, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env["AIRLOCK_EVENT_LOOPS"] = value
    # Were the value ignored, the start would fail on this database rather than start a
    # managed PostgreSQL in the working directory and leave it running.
    env["AIRLOCK_DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
    done = subprocess.run([airlock_binary(), "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "AIRLOCK_EVENT_LOOPS" in lines[0], done.stderr


def jobs_given_to_the_loops(gw: Gateway) -> float:
    text = httpx.get(gw.base_url + "/metrics", timeout=5).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.split(" ")[0] == "airlock_concurrency_jobs_total"]
    assert len(values) == 1, "airlock_concurrency_jobs_total not exposed once"
    return values[0]


def test_a_call_does_not_hop_between_executors(upstream, database_url):
    """Swift concurrency runs on the event loops as the generic executor: an await into a
    nonisolated async function continues inline instead of re-enqueueing its task. With NIO's
    own takeover's way of running jobs (the loop as their serial executor) each call here gave
    the loops about 148 jobs, most of them such hops (its audit batch's included: one batch
    per call at this pace); as the generic executor, about 15 (its task, its I/O resumptions,
    its audit batch's timers and round trips)."""
    gw = start_pinned(upstream_env(upstream, database_url), {min(os.sched_getaffinity(0))})
    body = {"model": "mock-chat", "messages": [{"role": "user", "content": "Mail jane.doe@example.com or call +44 20 7946 0958"}]}
    try:
        with httpx.Client(base_url=gw.base_url, headers=auth(), timeout=30) as client:
            for _ in range(5):
                assert client.post("/v1/chat/completions", json=body).status_code == 200
            before = jobs_given_to_the_loops(gw)
            calls = 60
            for _ in range(calls):
                r = client.post("/v1/chat/completions", json=body)
                assert r.status_code == 200, r.text
                assert "jane.doe@example.com" in r.json()["choices"][0]["message"]["content"]
            per_call = (jobs_given_to_the_loops(gw) - before) / calls
        assert 0 < per_call < 25, per_call
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]


def test_nios_own_takeover_can_be_chosen(upstream, database_url):
    """The escape hatch: `AIRLOCK_NIO_EXECUTOR=nio` installs NIO's takeover instead (whose
    jobs this gateway does not count), and calls are still served."""
    gw = start_pinned(upstream_env(upstream, database_url, AIRLOCK_NIO_EXECUTOR="nio"), {min(os.sched_getaffinity(0))})
    try:
        r = httpx.post(gw.base_url + "/v1/chat/completions", headers=auth(), timeout=30,
                       json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi jane.doe@example.com"}]})
        assert r.status_code == 200, r.text
        assert jobs_given_to_the_loops(gw) == 0
    finally:
        assert gw.stop() == 0, gw.logs()[-3000:]
