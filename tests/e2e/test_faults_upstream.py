"""Issue #9, upstream faults: providers that reset connections, hang, answer garbage, cut an
SSE stream in half or stream one endless event. Each call ends in a bounded time with either
an answer from another provider *in a permitted region* or a clean OpenAI-style error, the
gateway stays up, and the call leaves exactly one audit row."""
from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import Gateway, airlock_cli, audit_call_rows, new_tenant, wait_for
from mock_upstream import FaultyUpstream, MockUpstream

# Only us-east and eu-west may receive this tenant's calls; the healthy cn provider sorts
# first (priority 1) and must never be used, even when every permitted provider fails.
POLICY = """apiVersion: airlock/v1
kind: Policy
name: faults-us-eu
mode: enforce
defaults: { action: allow, destinations: [us-east, eu-west], local: forbidden }
limits: { requests_per_minute: 100000 }
rules: []
"""

ONLY_US = POLICY.replace("faults-us-eu", "faults-us-only").replace("[us-east, eu-west]", "[us-east]")


@pytest.fixture(scope="module")
def providers():
    names = ["cn", "eu", "reset", "hang", "garbage", "truncated", "half_sse", "garbage_sse", "flood"]
    servers = {
        "cn": MockUpstream(), "eu": MockUpstream(),
        "reset": FaultyUpstream("mock-reset"), "hang": FaultyUpstream("mock-hang"),
        "garbage": FaultyUpstream("mock-garbage"), "truncated": FaultyUpstream("mock-truncated-json"),
        "half_sse": FaultyUpstream("mock-half-sse"), "garbage_sse": FaultyUpstream("mock-garbage-sse"),
        "flood": FaultyUpstream("mock-sse-flood"),
    }
    for name in names:
        servers[name].__enter__()
    yield servers
    for name in names:
        servers[name].__exit__(None, None, None)


def config(tmp: Path, p: dict) -> Path:
    # Each fault model is served by its faulty provider in us-east (priority 10) and by a
    # healthy provider in eu-west (priority 20); the stream-only faults have no healthy twin.
    path = tmp / "airlock.yaml"
    path.write_text(f"""
upstream:
  connect_timeout_seconds: 2
  read_timeout_seconds: 1.5
providers:
  - {{ name: p-cn, kind: openai-compatible, base_url: "{p['cn'].base_url}", region: cn, priority: 1,
       models: [m-reset, m-hang, m-garbage, m-truncated] }}
  - {{ name: p-reset, kind: openai-compatible, base_url: "{p['reset'].base_url}", region: us-east, priority: 10, models: [m-reset] }}
  - {{ name: p-hang, kind: openai-compatible, base_url: "{p['hang'].base_url}", region: us-east, priority: 10, models: [m-hang] }}
  - {{ name: p-garbage, kind: openai-compatible, base_url: "{p['garbage'].base_url}", region: us-east, priority: 10, models: [m-garbage] }}
  - {{ name: p-truncated, kind: openai-compatible, base_url: "{p['truncated'].base_url}", region: us-east, priority: 10, models: [m-truncated] }}
  - {{ name: p-half-sse, kind: openai-compatible, base_url: "{p['half_sse'].base_url}", region: us-east, priority: 10, models: [m-half-sse] }}
  - {{ name: p-garbage-sse, kind: openai-compatible, base_url: "{p['garbage_sse'].base_url}", region: us-east, priority: 10, models: [m-garbage-sse] }}
  - {{ name: p-flood, kind: openai-compatible, base_url: "{p['flood'].base_url}", region: us-east, priority: 10, models: [m-flood] }}
  - {{ name: p-eu, kind: openai-compatible, base_url: "{p['eu'].base_url}", region: eu-west, priority: 20,
       models: [m-reset, m-hang, m-garbage, m-truncated] }}
""")
    return path


@pytest.fixture(scope="module")
def faulty(providers, database_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    gw = Gateway({"AIRLOCK_DATABASE_URL": database_url, "AIRLOCK_LOCAL_MODEL": "/nonexistent"},
                 args=["--config", str(config(tmp, providers))])
    gw.wait_ready()
    tenant, key = new_tenant(database_url, "faults")
    (tmp / "p.yaml").write_text(POLICY)
    airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(tmp / "p.yaml"))
    narrow_tenant, narrow_key = new_tenant(database_url, "faults-us")
    (tmp / "q.yaml").write_text(ONLY_US)
    airlock_cli(database_url, "policy", "apply", "--tenant", narrow_tenant, str(tmp / "q.yaml"))
    time.sleep(1.0)
    yield gw, {"wide": (tenant, key), "narrow": (narrow_tenant, narrow_key)}
    assert gw.stop() == 0, gw.logs()[-3000:]


def post(gw, key, model, content="hello", timeout=20, **extra) -> httpx.Response:
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=timeout, headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": content}], **extra})


def openai_error(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


@pytest.mark.parametrize("model,faulty_name", [("m-reset", "reset"), ("m-garbage", "garbage"),
                                               ("m-truncated", "truncated"), ("m-hang", "hang")])
def test_failover_stays_in_permitted_regions(faulty, providers, model, faulty_name):
    gw, tenants = faulty
    cn_before = len(providers["cn"].recorder.requests)
    bad_before = len(providers[faulty_name].recorder.requests)
    started = time.monotonic()
    r = post(gw, tenants["wide"][1], model)
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert r.headers["x-airlock-route"] == "p-eu/eu-west"
    assert r.json()["choices"][0]["message"]["content"] == "echo: hello"
    # A reset, garbage or cut-off answer costs one attempt; a hang costs the read timeout (1.5 s).
    assert elapsed < 6, f"failover took {elapsed:.1f}s"
    assert len(providers["cn"].recorder.requests) == cn_before, "a provider outside the permitted regions was used"
    assert len(providers[faulty_name].recorder.requests) in (bad_before, bad_before + 1)  # skipped when its circuit is open


@pytest.mark.parametrize("model,code,status", [("m-reset", "upstream_error", 502), ("m-garbage", "upstream_error", 502),
                                               ("m-truncated", "upstream_error", 502), ("m-hang", "upstream_timeout", 504)])
def test_no_permitted_provider_left_is_a_clean_error(faulty, providers, model, code, status):
    gw, tenants = faulty
    before = {n: len(providers[n].recorder.requests) for n in ("cn", "eu")}
    started = time.monotonic()
    r = post(gw, tenants["narrow"][1], model)
    assert time.monotonic() - started < 6
    # With its circuit open the faulty provider is skipped and nothing is permitted: 451 then.
    assert r.status_code in (status, 451), r.text
    err = openai_error(r)
    assert err["code"] in (code, "residency_violation")
    if r.status_code != 451:
        assert r.headers["x-request-id"] in err["message"]
    assert {n: len(providers[n].recorder.requests) for n in ("cn", "eu")} == before, "failover left the permitted regions"


def test_garbage_answer_is_never_relayed_as_success(faulty, providers, database_url):
    """A 200 whose body is not JSON must not reach the client as an answer: it was neither
    restored nor output-scanned."""
    gw, tenants = faulty
    r = post(gw, tenants["narrow"][1], "m-garbage")
    assert r.status_code in (502, 451), r.text
    assert b"Bad Gateway</html>" not in r.content


def sdk(gw, key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0, timeout=20)


def test_half_an_sse_stream_ends_in_a_clean_error_and_one_audit_row(faulty, database_url):
    gw, tenants = faulty
    tenant, key = tenants["wide"]
    rid = f"half-sse-{time.monotonic_ns()}"
    started = time.monotonic()
    with pytest.raises(openai.APIError) as info:
        stream = sdk(gw, key).chat.completions.create(model="m-half-sse", messages=[{"role": "user", "content": "x"}],
                                                      stream=True, extra_headers={"x-request-id": rid})
        for _ in stream:
            pass
    assert time.monotonic() - started < 6
    assert rid in str(info.value.message), info.value.message
    assert "wor" not in str(info.value.message)  # the half event is not echoed back
    wait_for(lambda: any(r["request_id"] == rid for r in audit_call_rows(database_url, tenant)), 10, step=0.3)
    rows = [r for r in audit_call_rows(database_url, tenant) if r["request_id"] == rid]
    assert len(rows) == 1 and rows[0]["error_code"] == "stream_interrupted", rows
    assert gw.process.poll() is None


def test_garbage_sse_events_are_dropped_not_relayed(faulty):
    """Noise, non-JSON `data:` lines and non-object JSON are dropped (they could carry text
    that was never output-scanned); the well-formed chunks around them arrive."""
    gw, tenants = faulty
    r = post(gw, tenants["wide"][1], "m-garbage-sse", stream=True)
    assert r.status_code == 200
    events = [line[len("data: "):] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]  # every relayed event is a JSON object
    assert all(isinstance(c, dict) for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    assert text.startswith("Hello") and text.endswith(" world")
    # The SDK reads the same stream without tripping over anything.
    stream = sdk(gw, tenants["wide"][1]).chat.completions.create(model="m-garbage-sse", messages=[{"role": "user", "content": "x"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).endswith(" world")


def test_endless_sse_event_is_bounded(faulty):
    """One event that never ends (data lines without the blank line) must not grow the
    gateway's memory without bound: the stream is cut with an error once the event passes the
    parser's bound (8 MiB)."""
    gw, tenants = faulty
    started = time.monotonic()
    with pytest.raises(openai.APIError):
        stream = sdk(gw, tenants["wide"][1]).chat.completions.create(model="m-flood", messages=[{"role": "user", "content": "x"}], stream=True)
        for _ in stream:
            pass
    assert time.monotonic() - started < 15
    rss_kib = int(next(l for l in Path(f"/proc/{gw.process.pid}/status").read_text().splitlines() if l.startswith("VmRSS")).split()[1])
    assert rss_kib < 1_000_000, f"gateway RSS {rss_kib} KiB after the flood"
    assert gw.process.poll() is None
