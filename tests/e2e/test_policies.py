"""Personal data, policies and residency, end to end: what reaches which provider."""
from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import MODEL, REPO, Gateway, airlock_cli, new_tenant
from mock_upstream import MockUpstream

RRN = "900101-1234568"          # valid check digit
EMAIL = "jimin.park@example.co.kr"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(scope="module")
def regions():
    """Two real upstreams tagged with different regions; the US one sorts first."""
    with MockUpstream() as us, MockUpstream() as kr:
        yield {"us": us, "kr": kr}


def config_file(tmp: Path, regions: dict, kr_url: str | None = None) -> Path:
    path = tmp / "airlock.yaml"
    path.write_text(f"""
providers:
  - name: a-us
    kind: openai-compatible
    base_url: {regions['us'].base_url}
    region: us-east
    priority: 10
    models: [shared-model, mock-echo-stream]
  - name: b-kr
    kind: openai-compatible
    base_url: {kr_url or regions['kr'].base_url}
    region: kr
    priority: 20
    models: [shared-model, mock-echo-stream]
""")
    return path


@pytest.fixture(scope="module")
def gateway(regions, database_url, tmp_path_factory):
    cfg = config_file(tmp_path_factory.mktemp("cfg"), regions)
    gw = Gateway({"AIRLOCK_DATABASE_URL": database_url, "AIRLOCK_LOCAL_MODEL": "/nonexistent"}, args=["--config", str(cfg)])
    gw.wait_ready()
    yield gw
    assert gw.stop() == 0


def post(gw, key, content, model="shared-model", **extra):
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=30, headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": content}], **extra})


def everything_received(regions) -> str:
    return json.dumps([r["body"] for u in regions.values() for r in u.recorder.requests], ensure_ascii=False)


def test_missing_unknown_and_revoked_keys_get_401(gateway, database_url):
    r = httpx.post(gateway.base_url + "/v1/chat/completions", json={"model": "shared-model", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert post(gateway, "ak_live_not-a-real-key", "x").status_code == 401
    tenant, key = new_tenant(database_url)
    assert post(gateway, key, "hello").status_code == 200
    key_id = json.loads(airlock_cli(database_url, "key", "list", "--tenant", tenant, "--json").stdout)[0]["id"]
    airlock_cli(database_url, "key", "revoke", key_id)
    deadline = time.time() + 3   # reaches every instance through LISTEN/NOTIFY
    while time.time() < deadline and post(gateway, key, "hello").status_code == 200:
        time.sleep(0.1)
    assert post(gateway, key, "hello").status_code == 401
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=key, max_retries=0).chat.completions.create(
            model="shared-model", messages=[{"role": "user", "content": "x"}])


def test_default_policy_pseudonymizes_and_restores(gateway, regions, database_url):
    _, key = new_tenant(database_url)
    r = post(gateway, key, f"Please write to {EMAIL} today.")
    assert r.status_code == 200
    sent = regions["us"].recorder.requests[-1]["body"]["messages"][-1]["content"]
    assert EMAIL not in sent and "<EMAIL_ADDRESS_1>" in sent
    # The mock echoes what it got; the client sees its own value again.
    assert r.json()["choices"][0]["message"]["content"] == f"echo: Please write to {EMAIL} today."
    assert r.headers["x-airlock-decision"] == "pseudonymize"


def test_streamed_placeholders_split_across_chunks_are_restored(gateway, regions, database_url):
    _, key = new_tenant(database_url)
    client = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=key, max_retries=0)
    prompt = f"Contact {EMAIL} or 010-1234-5678 please"
    stream = client.chat.completions.create(model="mock-echo-stream", stream=True, messages=[{"role": "user", "content": prompt}])
    text = "".join(e.choices[0].delta.content or "" for e in stream if e.choices)
    assert text == prompt
    assert EMAIL not in everything_received(regions)


def test_credentials_are_blocked_before_any_provider(gateway, regions, database_url):
    _, key = new_tenant(database_url)
    before = sum(len(u.recorder.requests) for u in regions.values())
    r = post(gateway, key, f"my key is {AWS_KEY} and secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "pii_blocked" and "block-credentials" in err["message"]
    assert AWS_KEY not in err["message"]
    assert sum(len(u.recorder.requests) for u in regions.values()) == before


def test_kr_pipa_keeps_resident_numbers_in_kr(gateway, regions, database_url):
    tenant, key = new_tenant(database_url, "pipa")
    airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(REPO / "Policies" / "kr-pipa.yaml"))
    time.sleep(1.5)
    us_before, kr_before = len(regions["us"].recorder.requests), len(regions["kr"].recorder.requests)
    r = post(gateway, key, f"제 주민등록번호는 {RRN} 입니다. 확인해 주세요.")
    assert r.status_code == 200, r.text
    assert r.headers["x-airlock-route"] == "b-kr/kr"
    assert r.headers["x-airlock-policy-version"].startswith("kr-pipa@v")
    assert len(regions["us"].recorder.requests) == us_before
    assert len(regions["kr"].recorder.requests) == kr_before + 1
    assert RRN not in everything_received(regions)           # pseudonymized even in kr
    assert RRN in r.json()["choices"][0]["message"]["content"]  # and restored for the caller
    # Without a resident number the same tenant may use the first-ranked (US) provider.
    r = post(gateway, key, "What is the capital of Korea?")
    assert r.status_code == 200 and r.headers["x-airlock-route"] == "a-us/us-east"


def test_residency_violation_when_kr_is_down_and_no_local_engine(regions, database_url, tmp_path):
    cfg = config_file(tmp_path, regions, kr_url="http://127.0.0.1:9/v1")
    gw = Gateway({"AIRLOCK_DATABASE_URL": database_url, "AIRLOCK_LOCAL_MODEL": "/nonexistent"}, args=["--config", str(cfg)])
    try:
        gw.wait_ready()
        tenant, key = new_tenant(database_url, "pipa")
        airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(REPO / "Policies" / "kr-pipa.yaml"))
        time.sleep(1.5)
        us_before = len(regions["us"].recorder.requests)
        r = post(gw, key, f"주민등록번호 {RRN}")
        # The only permitted provider is unreachable: never fail over to the US one.
        assert r.status_code in (451, 502), r.text
        assert len(regions["us"].recorder.requests) == us_before
        # After the circuit opens the planner reports the residency rule by name.
        for _ in range(4):
            r = post(gw, key, f"주민등록번호 {RRN}")
        assert r.status_code == 451
        assert r.json()["error"]["code"] == "residency_violation"
        assert "kr-national-ids-stay-home" in r.json()["error"]["message"]
        assert RRN not in r.text
        assert len(regions["us"].recorder.requests) == us_before
    finally:
        assert gw.stop() == 0


def test_kr_down_goes_to_local_engine_under_pipa(regions, database_url, tmp_path):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing; scripts/setup.sh fetches it")
    cfg = config_file(tmp_path, regions, kr_url="http://127.0.0.1:9/v1")
    gw = Gateway({"AIRLOCK_DATABASE_URL": database_url, "AIRLOCK_LOCAL_MODEL": str(MODEL)}, args=["--config", str(cfg)])
    try:
        gw.wait_ready()
        tenant, key = new_tenant(database_url, "pipa")
        airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(REPO / "Policies" / "kr-pipa.yaml"))
        time.sleep(1.5)
        us_before = len(regions["us"].recorder.requests)
        r = post(gw, key, f"My resident number is {RRN}. Say OK.", max_tokens=8)
        assert r.status_code == 200, r.text
        assert r.headers["x-airlock-route"] == "local/local"
        assert len(regions["us"].recorder.requests) == us_before
    finally:
        assert gw.stop() == 0


def test_every_call_is_audited_without_personal_data(gateway, regions, database_url):
    tenant, key = new_tenant(database_url, "aud")
    assert post(gateway, key, f"Please write to {EMAIL} today.").status_code == 200
    assert post(gateway, key, f"key {AWS_KEY}").status_code == 403
    deadline = time.time() + 10
    rows = []
    while time.time() < deadline:
        out = airlock_cli(database_url, "audit", "search", "--tenant", tenant, "--json").stdout
        # Calls only: creating the tenant and its key are audited too, as admin events.
        rows = [r for r in (json.loads(line) for line in out.splitlines() if line.strip()) if r["decision"] != "admin"]
        if len(rows) >= 2:
            break
        time.sleep(0.3)
    assert len(rows) == 2
    text = json.dumps(rows)
    assert EMAIL not in text and AWS_KEY not in text
    decisions = sorted(r["decision"] for r in rows)
    assert decisions == ["blocked", "transformed"]
    verify = airlock_cli(database_url, "audit", "verify")
    assert verify.returncode == 0


def test_compliance_question_which_resident_numbers_went_to_a_us_provider(gateway, regions, database_url):
    """The compliance officer's question, answered from the audit trail with the region family
    (`--region us` covers the `us-east` provider) and the log proven unedited."""
    tenant, key = new_tenant(database_url, "ask")
    # Under the default policy a resident number is pseudonymized and may go to the US provider.
    to_us = [post(gateway, key, f"RRN {RRN}, number {i}") for i in range(2)]
    assert all(r.status_code == 200 and r.headers["x-airlock-route"] == "a-us/us-east" for r in to_us)
    assert post(gateway, key, "no personal data here").status_code == 200
    pipa, pipa_key = new_tenant(database_url, "ask-kr")
    airlock_cli(database_url, "policy", "apply", "--tenant", pipa, str(REPO / "Policies" / "kr-pipa.yaml"))
    time.sleep(1.5)
    assert post(gateway, pipa_key, f"RRN {RRN}").headers["x-airlock-route"] == "b-kr/kr"

    def rows(*filters: str) -> list[dict]:
        out = airlock_cli(database_url, "audit", "search", "--entity-type", "KR_RRN", *filters, "--json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    # Every call of both tenants is on record before asking (the writer batches for a few ms).
    deadline = time.time() + 10
    while len(rows("--tenant", tenant)) < 2 or len(rows("--tenant", pipa)) < 1:
        assert time.time() < deadline, "calls not audited"
        time.sleep(0.3)
    us = rows("--tenant", tenant, "--region", "us")
    assert len(us) == 2 and {r["region"] for r in us} == {"us-east"} and {r["provider"] for r in us} == {"a-us"}
    assert len(rows("--tenant", tenant, "--region", "us-east")) == 2
    assert rows("--tenant", tenant, "--region", "kr") == []
    assert rows("--tenant", pipa, "--region", "us") == []
    assert [r["region"] for r in rows("--tenant", pipa, "--region", "kr")] == ["kr"]
    assert RRN not in json.dumps(us)
    assert airlock_cli(database_url, "audit", "verify").returncode == 0
