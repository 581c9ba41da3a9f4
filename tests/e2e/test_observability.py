"""Observability end to end: `/metrics` in Prometheus format, and JSON logs that never
carry a prompt, a key or a detected value — checked at trace level, the most verbose."""
from __future__ import annotations

import base64
import json
import re
import time

import httpx
import openai
import pytest

from conftest import Gateway, new_tenant, upstream_env

EMAIL = "jimin.park@example.co.kr"
RRN = "900101-1234568"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
SENTENCE = "The heron Quixotically Embroiders Saffron Lanterns at midnight"
PROVIDER_KEY = "sk-provider-secret-for-tests"
BAD_KEY = "sk-airlock-not-a-real-key-Zq9Xw7Vv5Uu3"
CLIENT_REQUEST_ID = "obs-client-id-0001"
SECRETS = [EMAIL, RRN, AWS_KEY, SENTENCE, "Quixotically", PROVIDER_KEY, BAD_KEY,
           # The local part and the RRN's digits on their own, in case something splits them.
           "jimin.park", "1234568"]


@pytest.fixture(scope="module")
def observed(upstream, database_url):
    tenant, key = new_tenant(database_url, "obs")
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_LOG_LEVEL="trace", AIRLOCK_LOG_FORMAT="json"))
    gw.wait_ready()
    time.sleep(0.5)
    try:
        yield gw, tenant, key
    finally:
        gw.stop()


def chat(gw, key, content, model="mock-chat", request_id=None, **extra) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"}
    if request_id:
        headers["x-request-id"] = request_id
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=30, headers=headers,
                      json={"model": model, "messages": [{"role": "user", "content": content}], **extra})


def drive_traffic(gw, key) -> dict[str, list[str]]:
    """Allowed, transformed, blocked, streamed, failing and unauthenticated calls."""
    ids: dict[str, list[str]] = {"ok": [], "refused": []}
    personal = f"My email is {EMAIL} and my RRN is {RRN}. {SENTENCE}."
    # Allowed (only the sentence) and transformed (email + RRN pseudonymized), JSON.
    for content in (SENTENCE, personal):
        r = chat(gw, key, content)
        assert r.status_code == 200, r.text
        ids["ok"].append(r.headers["x-request-id"])
    # The same through the SDK, streaming.
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
    for content in (SENTENCE, personal):
        stream = client.chat.completions.create(model="mock-chat", messages=[{"role": "user", "content": content}],
                                                stream=True, stream_options={"include_usage": True})
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    # The mock echoes the prompt: the restored answer carries the values again.
    assert EMAIL in chat(gw, key, personal).json()["choices"][0]["message"]["content"]
    # Blocked: a credential in the prompt, JSON and streaming; one with a client request id.
    blocked = f"Use {AWS_KEY} for {EMAIL}. {SENTENCE}"
    r = chat(gw, key, blocked, request_id=CLIENT_REQUEST_ID)
    assert r.status_code == 403 and r.headers["x-request-id"] == CLIENT_REQUEST_ID
    ids["refused"].append(CLIENT_REQUEST_ID)
    r = chat(gw, key, blocked, stream=True)
    assert r.status_code == 403
    ids["refused"].append(r.headers["x-request-id"])
    # Provider failures (logged as warnings/errors), with personal data in the prompt.
    assert chat(gw, key, personal, model="mock-500").status_code == 502
    assert chat(gw, key, personal, model="mock-400").status_code == 400
    # Bad, missing and malformed keys, and a malformed body carrying the values.
    for headers in ({"authorization": f"Bearer {BAD_KEY}"}, {}, {"authorization": f"Basic {BAD_KEY}"}):
        r = httpx.post(gw.base_url + "/v1/chat/completions", headers=headers, timeout=10,
                       json={"model": "mock-chat", "messages": [{"role": "user", "content": personal}]})
        assert r.status_code == 401
        ids["refused"].append(r.headers["x-request-id"])
    r = httpx.post(gw.base_url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=10,
                   content=f'{{"model": "mock-chat", "messages": [{{"role": "user", "content": "{personal}"')
    assert r.status_code == 400
    # Embeddings: plain text passes, personal data is refused; an unknown path carrying values.
    for text, status in ((SENTENCE, 200), (personal, 403)):
        assert httpx.post(gw.base_url + "/v1/embeddings", headers={"authorization": f"Bearer {key}"}, timeout=10,
                          json={"model": "mock-embed", "input": text}).status_code == status
    assert httpx.get(gw.base_url + f"/v1/{EMAIL}?q={RRN}", timeout=10).status_code == 404
    return ids


def test_metrics_and_logs_hold_no_personal_data(observed, upstream):
    gw, tenant, key = observed
    ids = drive_traffic(gw, key)
    time.sleep(1.0)  # audit writer flushes; stream bodies finish

    # /metrics: Prometheus text with the counters, by tenant and by entity type.
    r = httpx.get(gw.base_url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    metrics = r.text
    expected = [
        r'airlock_http_requests_total\{route="/v1/chat/completions",method="POST",status="200"\} [1-9]',
        r'airlock_http_requests_total\{route="/v1/chat/completions",method="POST",status="403"\} 2',
        r'airlock_http_requests_total\{route="/v1/chat/completions",method="POST",status="401"\} 3',
        r'airlock_http_requests_total\{route="other",method="GET",status="404"\} 1',
        r'airlock_http_request_duration_seconds_bucket\{route="/v1/chat/completions",method="POST",status="200",le="\+Inf"\} [1-9]',
        rf'airlock_decisions_total\{{tenant="{tenant}",decision="blocked"\}} 2',
        rf'airlock_decisions_total\{{tenant="{tenant}",decision="transformed"\}} [1-9]',
        rf'airlock_decisions_total\{{tenant="{tenant}",decision="allowed"\}} [1-9]',
        rf'airlock_entities_detected_total\{{tenant="{tenant}",entity_type="EMAIL_ADDRESS"\}} [1-9]',
        rf'airlock_entities_detected_total\{{tenant="{tenant}",entity_type="KR_RRN"\}} [1-9]',
        rf'airlock_entities_detected_total\{{tenant="{tenant}",entity_type="AWS_ACCESS_KEY"\}} 2',
        r'airlock_upstream_requests_total\{provider="mock",status="200"\} [1-9]',
        r'airlock_upstream_requests_total\{provider="mock",status="500"\} 1',
        r'airlock_upstream_errors_total\{provider="mock",code="status_500"\} 1',
        r'airlock_upstream_request_duration_seconds_bucket\{provider="mock",le="[0-9.]+"\} [0-9]+',
        r'airlock_upstream_request_duration_seconds_count\{provider="mock"\} [1-9]',
        r'airlock_provider_circuit_state\{provider="mock"\} [0-2]',
        r'(?m)^airlock_audit_queue_depth [0-9]+',
        r'(?m)^airlock_audit_spool_pending_records [0-9]+',
        r'airlock_audit_events_total\{outcome="written"\} [1-9]',
        r'# TYPE airlock_http_request_duration_seconds histogram',
    ]
    for pattern in expected:
        assert re.search(pattern, metrics), f"/metrics lacks {pattern}:\n{metrics}"
    for secret in SECRETS + [key]:
        assert secret not in metrics, f"/metrics contains {secret!r}"

    # Logs: every line JSON; request-path lines carry the request id; no value anywhere.
    gw.stop()
    logs = gw.log_path.read_text(errors="replace")
    lines = [l for l in logs.splitlines() if l.strip()]
    assert lines, "the gateway logged nothing"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"log line is not JSON: {line[:300]}")
    for rec in records:
        assert {"timestamp", "level", "label", "message"} <= rec.keys(), rec
    levels = {rec["level"] for rec in records}
    assert "trace" in levels or "debug" in levels, f"trace level was not in effect: {levels}"
    request_messages = {"request finished", "request rejected", "request failed", "provider failed; trying next permitted candidate",
                        "provider unreachable; trying next permitted candidate", "provider answered with server error",
                        "stream ended early"}
    for rec in records:
        if rec["message"] in request_messages:
            assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", rec.get("request_id", "")), f"no request id: {rec}"
    logged_ids = {rec.get("request_id") for rec in records}
    for rid in ids["ok"] + ids["refused"]:
        assert rid in logged_ids, f"request {rid} left no log line"
    assert any(rec["message"] == "request rejected" and rec.get("code") == "pii_blocked" for rec in records)
    assert any(rec["message"] == "request rejected" and rec.get("code") == "invalid_api_key" for rec in records)

    # At trace, PostgresNIO dumps SQL and row bytes and AsyncHTTPClient dumps response heads
    # and body bytes (hex) through the loggers Airlock hands them; those are held to info.
    chatty = [rec for rec in records if rec["level"] in ("trace", "debug")
              and not rec.get("source", "").lower().startswith("airlock")]
    assert not chatty, f"third-party {chatty[0]['source']} logged at {chatty[0]['level']}: {chatty[0]['message']}"

    lowered = logs.lower()
    for secret in SECRETS + [key]:
        for form in (secret, secret.encode().hex(), base64.b64encode(secret.encode()).decode()):
            assert form.lower() not in lowered, f"logs contain {secret!r} (as {form!r})"
    # The Airlock key's secret part, in case a prefix/id of it is logged legitimately.
    assert key.split("_")[-1].lower() not in lowered
