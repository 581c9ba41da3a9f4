"""POST /admin/v1/explain: operator-token authentication, the `policy explain --json` document,
no prompt values echoed and no provider called."""
from __future__ import annotations

import httpx
import pytest

from conftest import REPO, Gateway, airlock_cli, new_tenant, upstream_env

TOKEN = "operator-token-for-e2e"
RRN = "900101-1234568"  # valid check digit


@pytest.fixture(scope="module")
def admin_gateway(upstream, database_url):
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_ADMIN_TOKEN=TOKEN))
    gw.wait_ready()
    yield gw
    assert gw.stop() == 0


@pytest.fixture(scope="module")
def kr_tenant(database_url):
    tenant, _ = new_tenant(database_url, "admin-kr")
    airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(REPO / "Policies" / "kr-pipa.yaml"))
    return tenant


def explain(gw, body, token: str | None = TOKEN) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(gw.base_url + "/admin/v1/explain", json=body, headers=headers, timeout=30)


def test_admin_requires_the_operator_token(admin_gateway, kr_tenant):
    body = {"tenant": kr_tenant, "prompt": "hello", "model": "mock-chat"}
    r = explain(admin_gateway, body, token=None)
    assert r.status_code == 401
    r = explain(admin_gateway, body, token="wrong-token")
    assert r.status_code == 401
    assert "wrong-token" not in r.text


def test_admin_routes_are_absent_without_a_token(gateway, kr_tenant):
    r = explain(gateway, {"tenant": kr_tenant, "prompt": "hello"})
    assert r.status_code == 404


def test_explain_request_names_rule_and_entity_without_values(admin_gateway, kr_tenant, upstream):
    before = len(upstream.recorder.requests)
    body = {"tenant": kr_tenant, "request": {"model": "mock-chat", "messages": [
        {"role": "user", "content": f"주민등록번호 {RRN} 확인 부탁드립니다"}]}}
    r = explain(admin_gateway, body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["tenant"] == kr_tenant and doc["input"] == "request"
    assert doc["policy_source"]["kind"] == "database"
    assert "kr-national-ids-stay-home" in r.text
    assert "KR_RRN" in r.text
    assert any(f.get("path", "").startswith("messages[0]") or "messages" in f.get("path", "")
               for f in doc["decision"]["findings"])
    assert RRN not in r.text and RRN.replace("-", "") not in r.text
    assert len(upstream.recorder.requests) == before, "explain must not call a provider"


def test_explain_prompt_matches_the_cli(admin_gateway, kr_tenant, database_url):
    prompt = f"RRN {RRN}"
    r = explain(admin_gateway, {"tenant": kr_tenant, "prompt": prompt, "model": "mock-chat"})
    assert r.status_code == 200, r.text
    assert RRN not in r.text
    cli = httpx.Response(200, content=airlock_cli(database_url, "policy", "explain", "--tenant", kr_tenant, "--model", "mock-chat",
                                                  "--json", prompt).stdout).json()
    api = r.json()
    for field in ("tenant", "model", "input", "policy_source", "enforced_policy", "decision"):
        assert api[field] == cli[field], field


def test_explain_unknown_tenant_and_bad_body(admin_gateway):
    assert explain(admin_gateway, {"tenant": "no-such-tenant-xyz", "prompt": "hi"}).status_code == 404
    assert explain(admin_gateway, {"prompt": "hi"}).status_code == 400
