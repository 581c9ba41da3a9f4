"""The walking skeleton, driven by the official OpenAI Python SDK."""
from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import SESSION_KEY, Gateway, auth, upstream_env


pytestmark = pytest.mark.usefixtures("tenant_key")


def client(gateway, **kw) -> openai.OpenAI:
    # The tenant's Airlock key: checked by the gateway, never forwarded to the provider.
    return openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=SESSION_KEY["value"], max_retries=0, **kw)


def test_chat_completion_round_trip(gateway, upstream):
    before = len(upstream.recorder.requests)
    result = client(gateway).chat.completions.create(
        model="mock-chat", messages=[{"role": "user", "content": "Hello there"}], temperature=0.2)
    assert result.choices[0].message.content == "echo: Hello there"
    assert result.usage.total_tokens == 18
    received = upstream.recorder.requests[before]
    assert received["path"] == "/v1/chat/completions"
    assert received["body"]["temperature"] == 0.2
    # The provider key comes from the environment variable the configuration names;
    # the client's own key is never forwarded.
    assert received["headers"]["authorization"] == "Bearer sk-provider-secret-for-tests"


def test_response_headers(gateway):
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(),
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    assert r.headers["x-request-id"].startswith("req_")
    assert r.headers["x-airlock-route"] == "mock/us-east"
    assert r.headers["x-airlock-decision"] == "allow"
    assert "x-airlock-policy-version" in r.headers


def test_unknown_fields_pass_through_both_ways(gateway, upstream):
    before = len(upstream.recorder.requests)
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    body = json.dumps({
        "model": "mock-reasoner", "messages": [{"role": "user", "content": "why?"}],
        "tools": tools, "response_format": {"type": "json_object"}, "logprobs": True, "top_logprobs": 2,
        "vendor_extension": {"x": "NUMBERS"}}).replace('"NUMBERS"', "[1,2.50,12345678901234567890]")
    r = httpx.post(gateway.base_url + "/v1/chat/completions", content=body, headers={"content-type": "application/json", **auth()})
    assert r.status_code == 200
    sent = upstream.recorder.requests[before]
    assert sent["body"]["tools"] == tools
    assert sent["body"]["response_format"] == {"type": "json_object"}
    assert sent["body"]["logprobs"] is True and sent["body"]["top_logprobs"] == 2
    assert '"x":[1,2.50,12345678901234567890]' in sent["raw"]  # numbers byte-for-byte
    answer = r.json()
    assert answer["choices"][0]["message"]["reasoning_content"] == "Thinking about it."
    assert answer["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5
    assert answer["system_fingerprint"] == "fp_mock"
    # Nothing was restored or redacted: the provider's own bytes arrive unchanged (its
    # serializer puts a space after each colon; Airlock's would not).
    assert b'"system_fingerprint": "fp_mock"' in r.content


def test_streaming_arrives_incrementally(gateway):
    stream = client(gateway).chat.completions.create(
        model="mock-slow-stream", messages=[{"role": "user", "content": "stream please"}], stream=True)
    arrivals, text = [], []
    for event in stream:
        arrivals.append(time.monotonic())
        if event.choices and event.choices[0].delta.content:
            text.append(event.choices[0].delta.content)
    assert "".join(text) == "Hello from the mock upstream."
    # The mock waits 250 ms between chunks; relayed chunk by chunk they arrive spread out,
    # buffered they would arrive together at the end.
    assert arrivals[-1] - arrivals[0] > 1.0
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert sum(1 for g in gaps if g > 0.15) >= 4


def test_streaming_usage_and_reasoning_content(gateway):
    stream = client(gateway).chat.completions.create(
        model="mock-reasoner", messages=[{"role": "user", "content": "think"}], stream=True,
        stream_options={"include_usage": True})
    events = list(stream)
    reasoning = [e.choices[0].delta.model_extra.get("reasoning_content") for e in events if e.choices]
    # Output scanning may hold back an unfinished word, so compare the joined text.
    assert "".join(r for r in reasoning if r) == "Let me think."
    assert events[-1].usage is not None and events[-1].usage.total_tokens == 17


def test_models_endpoint(gateway):
    models = [m.id for m in client(gateway).models.list()]
    assert "mock-chat" in models and "mock-reasoner" in models


def test_embeddings_pass_through(gateway, upstream):
    result = client(gateway).embeddings.create(model="mock-embed", input="hello")
    assert result.data[0].embedding == [0.1, 0.2]
    assert upstream.recorder.requests[-1]["path"] == "/v1/embeddings"


def test_health_and_readiness(gateway):
    assert httpx.get(gateway.base_url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.base_url + "/readyz")
    assert ready.status_code == 200 and ready.json()["database"] is True


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert response.headers["x-request-id"]
    return body["error"]


@pytest.mark.parametrize("body,code,param", [
    (b"{not json", "invalid_json", None),
    (b'{"model":"mock-chat"}', "invalid_request", "messages"),
    (b'{"messages":[{"role":"user","content":"x"}]}', "invalid_request", "model"),
    (b'{"model":"mock-chat","messages":[]}', "invalid_request", "messages"),
    (b'[1,2]', "invalid_json", None),
    (b'{"model":"mock-chat","messages":[{"role":"user","content":"\xff"}]}', "invalid_json", None),
])
def test_bad_requests_get_400(gateway, body, code, param):
    r = httpx.post(gateway.base_url + "/v1/chat/completions", content=body, headers={"content-type": "application/json", **auth()})
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == code and err["param"] == param


def test_sdk_raises_typed_errors(gateway):
    with pytest.raises(openai.NotFoundError) as info:
        client(gateway).chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert info.value.body["code"] == "model_not_found"


def test_body_over_limit_gets_413(gateway):
    big = "x" * 70_000
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(),
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": big}]})
    assert r.status_code == 413
    assert error_of(r)["code"] == "body_too_large"


def test_upstream_5xx_gets_502_with_request_id(gateway):
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(),
                   json={"model": "mock-500", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "upstream_error"
    assert r.headers["x-request-id"] in err["message"]


def test_provider_4xx_passes_through(gateway):
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(),
                   json={"model": "mock-400", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "temperature"


def test_upstream_refused_gets_502(upstream, database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    env = upstream_env(upstream, database_url, AIRLOCK_UPSTREAM_BASE_URL=f"http://127.0.0.1:{dead_port}/v1")
    gw = Gateway(env)
    try:
        gw.wait_ready()
        r = httpx.post(gw.base_url + "/v1/chat/completions", headers=auth(), json={"model": "mock-chat", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 502
        assert error_of(r)["code"] == "upstream_error"
    finally:
        assert gw.stop() == 0


def test_upstream_timeout_gets_504(upstream, database_url, tmp_path):
    config = tmp_path / "airlock.yaml"
    config.write_text("upstream:\n  read_timeout_seconds: 1\n")
    gw = Gateway(upstream_env(upstream, database_url), args=["--config", str(config)])
    try:
        gw.wait_ready()
        started = time.monotonic()
        r = httpx.post(gw.base_url + "/v1/chat/completions", timeout=20, headers=auth(),
                       json={"model": "mock-hang", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 504
        assert error_of(r)["code"] == "upstream_timeout"
        assert time.monotonic() - started < 5
    finally:
        assert gw.stop() == 0


def test_client_disconnect_cancels_upstream_stream(gateway, upstream):
    before = upstream.recorder.disconnects
    with httpx.stream("POST", gateway.base_url + "/v1/chat/completions", timeout=10, headers=auth(),
                      json={"model": "mock-long-stream", "stream": True, "messages": [{"role": "user", "content": "x"}]}) as r:
        assert r.status_code == 200
        for i, _ in enumerate(r.iter_raw()):
            if i >= 3:
                break
    # The upstream stream (400 tokens at 50 ms) must be broken off long before it ends.
    deadline = time.time() + 8
    while time.time() < deadline and upstream.recorder.disconnects == before:
        time.sleep(0.1)
    assert upstream.recorder.disconnects > before


def test_graceful_shutdown_finishes_in_flight_stream(upstream, database_url):
    gw = Gateway(upstream_env(upstream, database_url))
    gw.wait_ready()
    result: dict = {}

    def consume() -> None:
        stream = client(gw).chat.completions.create(
            model="mock-slow-stream", messages=[{"role": "user", "content": "x"}], stream=True)
        result["text"] = "".join(e.choices[0].delta.content or "" for e in stream if e.choices)

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.4)
    assert gw.stop(signal.SIGTERM) == 0
    t.join(10)
    assert result.get("text") == "Hello from the mock upstream."


def test_managed_postgres_lifecycle(upstream):
    """No database configured: serve initialises and starts its own PostgreSQL, applies the
    migrations, and stops it again on SIGTERM."""
    base = Path(tempfile.mkdtemp(prefix="airlock-managed-"))
    base.chmod(0o755)  # the server runs as the postgres user when tests run as root
    data_dir = base / "pg"
    env = upstream_env(upstream, "", AIRLOCK_DATA_DIR=str(data_dir))
    env.pop("AIRLOCK_DATABASE_URL")
    gw = Gateway(env)
    try:
        gw.wait_ready(timeout=120)
        assert (data_dir / "data" / "PG_VERSION").exists()
        assert (data_dir / "data" / "postmaster.pid").exists()
    finally:
        assert gw.stop() == 0
    assert not (data_dir / "data" / "postmaster.pid").exists()


def test_unreachable_managed_folder_is_a_clear_error(upstream, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root hands the folder to the postgres user")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    env = upstream_env(upstream, "", AIRLOCK_DATA_DIR=str(private / "x" / "pg"))
    env.pop("AIRLOCK_DATABASE_URL")
    gw = Gateway(env)
    assert gw.process.wait(60) != 0
    assert "world-searchable" in gw.logs()


def test_changed_migration_stops_startup(upstream, database_url, tmp_path):
    migrations = tmp_path / "Migrations"
    migrations.mkdir()
    repo_migrations = Path(__file__).resolve().parents[2] / "Migrations"
    for f in repo_migrations.glob("*.sql"):
        (migrations / f.name).write_text(f.read_text())
    first = sorted(migrations.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_MIGRATIONS_DIR=str(migrations)))
    code = gw.process.wait(60)
    assert code != 0
    assert "checksum mismatch" in gw.logs()
