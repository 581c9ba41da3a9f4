"""The in-process engine answering through the gateway with the real SmolLM2 model."""
from __future__ import annotations

import time

import httpx
import openai
import pytest

from conftest import MODEL, Gateway, airlock_cli, audit_call_rows, fail_closed_policy, new_tenant, upstream_env


@pytest.fixture(scope="module")
def local_gateway(upstream, database_url):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing; scripts/setup.sh fetches it")
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_LOCAL_MODEL=str(MODEL)))
    gw.wait_ready()
    yield gw
    assert gw.stop() == 0


def test_models_lists_the_local_model(local_gateway, tenant_key):
    c = openai.OpenAI(base_url=local_gateway.base_url + "/v1", api_key=tenant_key, max_retries=0)
    assert "airlock-local" in [m.id for m in c.models.list()]


def test_local_model_answers_with_paris(local_gateway, tenant_key):
    c = openai.OpenAI(base_url=local_gateway.base_url + "/v1", api_key=tenant_key, max_retries=0)
    r = c.chat.completions.with_raw_response.create(
        model="airlock-local", messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=24)
    assert r.headers["x-airlock-route"] == "local/local"
    answer = r.parse()
    assert "Paris" in answer.choices[0].message.content
    assert answer.usage.completion_tokens > 0 and answer.choices[0].finish_reason in ("stop", "length")


def test_local_streaming(local_gateway, tenant_key):
    c = openai.OpenAI(base_url=local_gateway.base_url + "/v1", api_key=tenant_key, max_retries=0)
    stream = c.chat.completions.create(model="airlock-local", stream=True, max_tokens=16,
                                       messages=[{"role": "user", "content": "What is the capital of France?"}],
                                       stream_options={"include_usage": True})
    events = list(stream)
    text = "".join(e.choices[0].delta.content or "" for e in events if e.choices)
    assert "Paris" in text
    assert sum(1 for e in events if e.choices and e.choices[0].delta.content) > 2  # token by token
    assert events[-1].usage is not None and events[-1].usage.completion_tokens > 0


def test_provider_failure_fails_over_to_local(local_gateway, tenant_key):
    r = httpx.post(local_gateway.base_url + "/v1/chat/completions", timeout=60,
                   headers={"authorization": f"Bearer {tenant_key}"},
                   json={"model": "mock-500", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hi"}]})
    assert r.status_code == 200
    assert r.headers["x-airlock-route"] == "local/local"


FAIL_CLOSED = fail_closed_policy("local-and-audited", local="required")


def test_a_fail_closed_local_stream_is_on_record_when_it_ends(local_gateway, database_url, tmp_path):
    tenant, key = new_tenant(database_url, "local-strict")
    policy = tmp_path / "strict.yaml"
    policy.write_text(FAIL_CLOSED)
    airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(policy))
    time.sleep(1.0)
    c = openai.OpenAI(base_url=local_gateway.base_url + "/v1", api_key=key, max_retries=0)
    raw = c.chat.completions.with_raw_response.create(model="airlock-local", stream=True, max_tokens=12,
                                                      messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert raw.headers["x-airlock-route"] == "local/local"
    events = list(raw.parse())
    assert "Paris" in "".join(e.choices[0].delta.content or "" for e in events if e.choices)
    # `[DONE]` was sent only after the event was durable: it is in the database now.
    rows = audit_call_rows(database_url, tenant)
    assert len(rows) == 1, rows
    assert rows[0]["provider"] == "local" and rows[0]["route_reason"] == "policy requires local"
    assert rows[0]["status"] == 200 and rows[0]["error_code"] is None and rows[0]["completion_tokens"] > 0
