"""The web console in a real browser (headless Chromium over the DevTools protocol) against a
running gateway with seeded data: sign-in and roles, every page's content, every link on every
page, no console errors / CSP violations / failed requests, CSRF, exports, decrypt audited,
revocation and sign-out. Screenshots land in tests/browser/screenshots (or $AIRLOCK_CONSOLE_SHOTS)."""
from __future__ import annotations

import csv as csvmod
import io
import json
import os
import re
import secrets
import subprocess
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from cdp import Browser
from conftest import e2e_support

Gateway, upstream_env, REPO, airlock_binary = e2e_support.Gateway, e2e_support.upstream_env, e2e_support.REPO, e2e_support.airlock_binary
# The gateway and the CLI sign the chains with the same key, so verification checks signatures too.
CHECKPOINT_KEY = secrets.token_hex(32)

SHOTS = Path(os.environ.get("AIRLOCK_CONSOLE_SHOTS", Path(__file__).parent / "screenshots"))
EMAIL = "jimin.park@example.kr"
RRN = "900101-1234568"  # valid check digit
POLICY_V1 = ((REPO / "Policies" / "default.yaml").read_text()
             .replace("capture_payloads: false", "capture_payloads: true").replace("payload_days: 0", "payload_days: 7"))
DB_PROVIDER, DB_MODEL = "mock-db", "mock-db-chat"
POLICY_V2 = POLICY_V1.replace("rules:\n", "rules:\n  - id: block-kr-rrn\n    description: Resident numbers never leave.\n"
                                          "    when: { entities: [KR_RRN] }\n    action: block\n\n", 1)


def airlock_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env.update(AIRLOCK_DATABASE_URL=database_url, AIRLOCK_AUDIT_CHECKPOINT_KEY=CHECKPOINT_KEY)
    result = subprocess.run([airlock_binary(), *args], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, f"airlock {' '.join(args)} failed: {result.stderr}"
    return result


@pytest.fixture(scope="module")
def database_url(private_db):
    """A private PostgreSQL: counts and chain verification see only this test's data."""
    return private_db[0]


class Site:
    def __init__(self, gateway: Gateway, tenant: str, key: str, admin_token: str, auditor_token: str, auditor_id: str) -> None:
        self.gw, self.tenant, self.key, self.admin_token, self.auditor_token, self.auditor_id = gateway, tenant, key, admin_token, auditor_token, auditor_id
        self.base = gateway.base_url


@pytest.fixture(scope="module")
def site(upstream, database_url, tmp_path_factory):
    policy_dir = tmp_path_factory.mktemp("policies")
    (policy_dir / "v1.yaml").write_text(POLICY_V1)
    (policy_dir / "v2.yaml").write_text(POLICY_V2)
    tenant = "console-acme"
    airlock_cli(database_url, "tenant", "create", tenant, "--name", "Acme Corp")
    key = airlock_cli(database_url, "key", "create", "--tenant", tenant).stdout.strip().splitlines()[-1]
    airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(policy_dir / "v1.yaml"))
    # A provider stored in the database (the console can disable and enable it), serving one model of its own.
    airlock_cli(database_url, "provider", "add", DB_PROVIDER, "--kind", "openai", "--base-url", upstream.base_url,
                "--region", "us-east", "--model", DB_MODEL, "--secret-env", "MOCK_PROVIDER_KEY")
    env = upstream_env(upstream, database_url, AIRLOCK_AUDIT_CHECKPOINT_KEY=CHECKPOINT_KEY, AIRLOCK_AUDIT_PAYLOAD_KEY=secrets.token_hex(32))
    gw = Gateway(env)
    gw.wait_ready()

    def chat(text: str) -> int:
        return httpx.post(gw.base_url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=30,
                          json={"model": "mock-chat", "messages": [{"role": "user", "content": text}]}).status_code

    assert [chat("What is the capital of France?") for _ in range(3)] == [200] * 3
    assert [chat(f"Please write to {EMAIL} about the invoice") for _ in range(2)] == [200] * 2
    airlock_cli(database_url, "policy", "apply", "--tenant", tenant, str(policy_dir / "v2.yaml"))
    time.sleep(1)  # the gateway picks the new version up through LISTEN/NOTIFY
    assert chat(f"주민등록번호 {RRN} 확인") == 403
    deadline = time.time() + 20
    while time.time() < deadline:
        rows = airlock_cli(database_url, "audit", "search", "--tenant", tenant, "--json").stdout.strip().splitlines()
        if len(rows) >= 6:
            break
        time.sleep(0.2)
    airlock_cli(database_url, "retention", "run")  # nothing has expired yet; the run is listed on the retention page
    admin = airlock_cli(database_url, "operator", "create", "--name", "Ada Admin", "--role", "admin")
    auditor = airlock_cli(database_url, "operator", "create", "--name", "Otto Auditor", "--role", "auditor")
    auditor_id = re.search(r"operator (op_\w+)", auditor.stderr).group(1)
    yield Site(gw, tenant, key, admin.stdout.strip().splitlines()[-1], auditor.stdout.strip().splitlines()[-1], auditor_id)
    assert gw.stop() == 0


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    b = Browser()
    yield b
    b.close()


def sign_in(browser: Browser, site: Site, token: str) -> int:
    assert browser.goto(site.base + "/console") == 200
    assert "/console/sign-in" in browser.url()
    return browser.submit(f"document.querySelector('input[name=token]').value = {json.dumps(token)};"
                          "document.querySelector('form[action=\"/console/sign-in\"]').submit();")


def session_cookie(browser: Browser) -> dict[str, str]:
    return {c["name"]: c["value"] for c in browser.cookies() if c["name"] == "airlock_console"}


def crawl(browser: Browser, site: Site, start: list[str], role: str, per_path: int = 3, limit: int = 40) -> dict[str, str]:
    """Visits console pages breadth-first in the browser (at most `per_path` URLs per path),
    failing on any console error, CSP report or failed request; checks every other link
    found with an HTTP GET on the same session. Returns the HTML of each visited URL."""
    cookies = session_cookie(browser)
    queue, seen, visited, pages = list(start), set(start), {}, {}
    checked: set[str] = set()
    while queue and len(pages) < limit:
        url = queue.pop(0)
        # One bucket per page kind: every call detail counts as the same page.
        path = re.sub(r"/event/[0-9a-f-]{36}", "/event/id", urllib.parse.urlparse(url).path)
        if visited.get(path, 0) >= per_path or path.endswith("/export"):
            continue
        visited[path] = visited.get(path, 0) + 1
        status = browser.goto(url)
        assert status == 200, f"{url}: HTTP {status}"
        assert browser.problems == [], f"{url}: {browser.problems}"
        pages[url] = browser.html()
        if visited[path] == 1:
            name = role + "-" + (path.strip("/").replace("/", "-") or "root")
            browser.screenshot(SHOTS / f"{name}.png")
        for link in browser.links():
            link = link.split("#")[0]
            assert link.startswith(site.base), f"{url} links outside the console: {link}"
            if link not in seen:
                seen.add(link)
                queue.append(link)
    # Every link found, visited or not, must answer 200 on this session.
    with httpx.Client(cookies=cookies, timeout=60, follow_redirects=False) as client:
        for link in sorted(seen - set(pages)):
            if link in checked:
                continue
            checked.add(link)
            r = client.get(link)
            assert r.status_code == 200, f"broken link {link}: HTTP {r.status_code}"
    return pages


def test_sign_in_refuses_unknown_tokens(browser, site):
    assert browser.goto(site.base + "/console/overview") == 200
    assert browser.url().endswith("/console/sign-in")
    assert "Operator token" in browser.text()
    browser.screenshot(SHOTS / "sign-in.png")
    assert sign_in(browser, site, "aop_not-a-real-token") == 401
    assert "Unknown or revoked operator token" in browser.text()
    assert session_cookie(browser) == {}


def test_auditor_sees_audit_data_but_no_personal_data_and_no_admin_pages(browser, site):
    assert sign_in(browser, site, site.auditor_token) == 200
    assert browser.url().endswith("/console/overview")
    pages = crawl(browser, site, [site.base + "/console/overview", site.base + "/console/overview?range=24h",
                                  site.base + f"/console/audit?tenant={site.tenant}"], role="auditor")
    overview = pages[site.base + "/console/overview"]
    for text in ("Requests over time", "Entity types found", "Destinations by region", "Tokens and cost by model",
                 "Tokens and cost by tenant", "Cost avoided", "EMAIL_ADDRESS", "KR_RRN", site.tenant, "<svg"):
        assert text in overview, text
    audit = pages[site.base + f"/console/audit?tenant={site.tenant}"]
    assert audit.count('class="badge allowed"') >= 3 and 'class="badge transformed"' in audit and 'class="badge blocked"' in audit
    events = [u for u in pages if "/console/audit/event/" in u]
    assert events, "no call detail page was visited"
    assert "fingerprints" in pages[events[0]] and "Only admins holding the payload key" in "".join(pages[u] for u in events)
    for url, html in pages.items():
        assert EMAIL not in html and RRN not in html, f"personal data on {url}"
        assert "/console/policies" not in html, f"auditor sees an admin link on {url}"
    # Filters narrow the list.
    assert browser.goto(site.base + f"/console/audit?tenant={site.tenant}&decision=blocked") == 200
    text = browser.text()
    assert "1 matching row" in text and "blocked" in text
    # Admin pages are refused, not hidden only.
    assert browser.goto(site.base + "/console/policies") == 403
    assert "needs the admin role" in browser.text()
    browser.problems.clear()


def test_auditor_verifies_the_chains(browser, site):
    assert browser.goto(site.base + "/console/verification") == 200
    status = browser.submit("document.querySelector('select[name=scope]').value = 'all';"
                            "document.querySelector('form[action=\"/console/verification\"]').submit();")
    assert status == 200 and "?run=" in browser.url()
    assert "chains verified" in browser.text(), browser.text()
    browser.screenshot(SHOTS / "auditor-verification-run.png")


def test_csrf_and_origin_are_enforced(browser, site, database_url):
    cookies = session_cookie(browser)
    with httpx.Client(base_url=site.base, cookies=cookies, follow_redirects=False, timeout=60) as client:
        page = client.get("/console/verification").text
        token = re.search(r'name="_csrf" value="([0-9a-f]{64})"', page).group(1)
        assert client.post("/console/verification", data={"scope": "24h"}).status_code == 403
        assert client.post("/console/verification", data={"scope": "24h", "_csrf": "0" * 64}).status_code == 403
        assert client.post("/console/verification", data={"scope": "24h", "_csrf": token},
                           headers={"origin": "https://evil.example"}).status_code == 403
        r = client.post("/console/verification", data={"scope": "24h", "_csrf": token}, headers={"origin": site.base})
        assert r.status_code == 303 and "/console/verification?run=" in r.headers["location"]
        # A valid form from an auditor still cannot change holds, create keys, apply policies or switch providers.
        for path, data in (("/console/retention/holds", {"tenant": site.tenant, "reason": "x"}),
                           ("/console/access/keys", {"tenant": site.tenant, "name": "auditor-key"}),
                           ("/console/policies/apply", {"tenant": site.tenant, "yaml": POLICY_V2 + "# auditor\n"}),
                           ("/console/access/providers", {"name": DB_PROVIDER, "enabled": "false"})):
            r = client.post(path, data={**data, "_csrf": token}, headers={"origin": site.base})
            assert r.status_code == 403 and "needs the admin role" in r.text, path
    keys = json.loads(airlock_cli(database_url, "key", "list", "--tenant", site.tenant, "--json").stdout)
    assert [k["name"] for k in keys] == [None]
    assert [v["version"] for v in json.loads(airlock_cli(database_url, "policy", "list", "--tenant", site.tenant, "--json").stdout)] == [1, 2]
    assert json.loads(airlock_cli(database_url, "provider", "list", "--json").stdout)[0]["enabled"] is True
    # Without the session cookie nothing is served.
    r = httpx.get(site.base + "/console/audit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"
    r = httpx.get(site.base + "/console/overview", follow_redirects=True)
    assert "content-security-policy" in r.headers and "script-src" not in r.headers["content-security-policy"]


def test_exports_stream_the_filtered_set(browser, site):
    cookies = session_cookie(browser)
    with httpx.Client(base_url=site.base, cookies=cookies, timeout=60) as client:
        csv = client.get("/console/audit/export", params={"tenant": site.tenant, "format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in csv.headers["content-disposition"]
        assert csv.text.startswith("event_id,chain_id,seq,tenant_id")
        rows = list(csvmod.DictReader(io.StringIO(csv.text)))
        assert sorted(r["decision"] for r in rows if r["kind"] == "request") == ["allowed"] * 3 + ["blocked"] + ["transformed"] * 2
        assert any(r["endpoint"] == "console.audit.export" for r in rows)  # the export itself is on record
        jsonl = client.get("/console/audit/export", params={"tenant": site.tenant, "format": "jsonl", "decision": "transformed"})
        rows = [json.loads(line) for line in jsonl.text.strip().splitlines()]
        assert len(rows) == 2 and all(r["decision"] == "transformed" and "EMAIL_ADDRESS" in r["entities"] for r in rows)
        assert EMAIL not in csv.text + jsonl.text


def test_revoking_an_operator_ends_its_session(browser, site, database_url):
    airlock_cli(database_url, "operator", "revoke", site.auditor_id)
    assert browser.goto(site.base + "/console/overview") == 200
    assert browser.url().endswith("/console/sign-in")
    assert sign_in(browser, site, site.auditor_token) == 401


def test_admin_manages_policies_explains_and_decrypts_with_audit(browser, site, database_url):
    assert sign_in(browser, site, site.admin_token) == 200
    pages = crawl(browser, site, [site.base + "/console/overview", site.base + f"/console/policies?tenant={site.tenant}",
                                  site.base + "/console/retention", site.base + "/console/access"], role="admin")
    diff = next(html for url, html in pages.items() if "/console/policies/diff" in url)
    assert "block-kr-rrn" in diff and 'class="add"' in diff
    retention = pages[site.base + "/console/retention"]
    assert "What expires next" in retention and site.tenant in retention and "<span class=\"badge ok\">ok</span>" in retention
    access = pages[site.base + "/console/access"]
    assert "Otto Auditor" in access and "revoked" in access and "ak_live_" in access

    # Explain: findings, decision and route, nothing sent upstream.
    assert browser.goto(site.base + "/console/explain") == 200
    status = browser.submit(f"document.querySelector('select[name=tenant]').value = {json.dumps(site.tenant)};"
                            f"document.querySelector('textarea[name=prompt]').value = {json.dumps('주민등록번호 ' + RRN + ' 확인')};"
                            "document.querySelector('form[action=\"/console/explain\"]').submit();")
    assert status == 200 and browser.problems == []
    text = browser.text()
    assert "KR_RRN" in text and "block-kr-rrn" in text
    browser.screenshot(SHOTS / "admin-explain-result.png")

    # Legal hold: place and release.
    assert browser.goto(site.base + "/console/retention") == 200
    browser.submit(f"document.querySelector('form[action=\"/console/retention/holds\"] select[name=tenant]').value = {json.dumps(site.tenant)};"
                   "document.querySelector('input[name=reason]').value = 'CASE-2026-114';"
                   "document.querySelector('form[action=\"/console/retention/holds\"]').submit();")
    assert "CASE-2026-114" in browser.text() and "on hold" in browser.text()
    browser.screenshot(SHOTS / "admin-retention-hold.png")
    browser.submit("document.querySelector('form[action$=\"/release\"]').submit();")
    assert "released" in browser.text() and "CASE-2026-114" not in browser.text()

    # Decrypt a captured payload: shown to the admin, and the access is audited.
    assert browser.goto(site.base + f"/console/audit?tenant={site.tenant}&decision=transformed") == 200
    event = next(link for link in browser.links() if "/console/audit/event/" in link)
    assert browser.goto(event) == 200 and EMAIL not in browser.html()
    browser.submit("document.querySelector('form[action$=\"/decrypt\"]').submit();")
    assert EMAIL in browser.text() and "recorded in the audit log" in browser.text()
    browser.screenshot(SHOTS / "admin-event-decrypted.png")
    assert browser.goto(site.base + "/console/audit?decision=admin") == 200
    admin_log = browser.text()
    for action in ("audit.payload.decrypt", "legal_hold.place", "legal_hold.release", "policy.explain", "console.view"):
        assert action in admin_log, action
    assert browser.problems == []
    # Make v1 active again from the versions table.
    assert browser.goto(site.base + f"/console/policies?tenant={site.tenant}") == 200
    browser.submit("document.querySelector('form[action=\"/console/policies/activate\"] input[name=version][value=\"1\"]').form.submit();")
    assert "now runs version 1 (was v2)" in browser.text() and browser.problems == []
    browser.screenshot(SHOTS / "admin-policy-activated.png")
    # Revoke the tenant's API key: the gateway refuses it from then on.
    assert browser.goto(site.base + "/console/access") == 200
    browser.submit("document.querySelector('form[action$=\"/revoke\"]').submit();")
    assert "revoked; it stops authenticating" in browser.text() and browser.problems == []
    time.sleep(1)
    r = httpx.post(site.base + "/v1/chat/completions", headers={"authorization": f"Bearer {site.key}"}, timeout=30,
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 401
    # Older console actions are on the admin chain too (every page view is, so they scrolled off the first page).
    events = [json.loads(line) for line in airlock_cli(database_url, "audit", "search", "--decision", "admin", "--limit", "2000", "--json").stdout.splitlines()]
    actions = {(e["endpoint"], (e["actor"] or "").split(":")[0]) for e in events}
    for action in ("console.sign_in", "console.sign_in_failed", "audit.verify", "console.audit.export", "console.audit.view_event",
                   "policy.rollback", "key.revoke"):
        assert (action, "console") in actions, action


def chat_as(site: Site, key: str, text: str = "What is the capital of France?", model: str = "mock-chat") -> int:
    return httpx.post(site.base + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": text}]}).status_code


def eventually(check, timeout: float = 10):
    """Governance changes reach the gateway through LISTEN/NOTIFY within about a second."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(0.2)


def test_admin_creates_keys_applies_policies_and_switches_providers(browser, site, database_url):
    # Create a key: the secret is on the response page once, the gateway accepts it.
    assert browser.goto(site.base + "/console/access") == 200
    status = browser.submit(f"document.querySelector('form[action=\"/console/access/keys\"] select[name=tenant]').value = {json.dumps(site.tenant)};"
                            "document.querySelector('form[action=\"/console/access/keys\"] input[name=name]').value = 'browser-test';"
                            "document.querySelector('form[action=\"/console/access/keys\"]').submit();")
    assert status == 200 and browser.problems == [] and browser.url().endswith("/console/access/keys")
    key = browser.eval("document.getElementById('new-key').textContent")
    assert key.startswith("ak_live_") and "shown only this once" in browser.text()
    browser.screenshot(SHOTS / "admin-key-created.png")
    assert browser.goto(site.base + "/console/access") == 200
    assert key not in browser.html() and key[:12] in browser.html()  # the listing shows the prefix only
    listed = json.loads(airlock_cli(database_url, "key", "list", "--tenant", site.tenant, "--json").stdout)
    assert [(k["name"], k["revoked_at"] is None) for k in listed] == [(None, False), ("browser-test", True)]
    models = eventually(lambda: (r := httpx.get(site.base + "/v1/models", headers={"authorization": f"Bearer {key}"}, timeout=30)).status_code == 200 and r)
    assert models and "mock-chat" in models.text
    assert chat_as(site, key) == 200
    assert chat_as(site, key, f"주민등록번호 {RRN} 확인") == 200  # v1 is active: resident numbers are pseudonymized, not blocked

    # Apply a policy by pasting YAML: an invalid one is refused with its problems and stores nothing.
    assert browser.goto(site.base + f"/console/policies?tenant={site.tenant}") == 200
    broken = POLICY_V2.replace("action: block\n", "action: teleport\n", 1)
    status = browser.submit(f"document.querySelector('textarea[name=yaml]').value = {json.dumps(broken)};"
                            "document.querySelector('form[action=\"/console/policies/apply\"]').submit();")
    assert status == 422
    text = browser.text()
    assert "This policy is invalid; nothing was stored" in text and "policy.yaml:" in text and "teleport" in text, text
    assert browser.eval("document.querySelector('textarea[name=yaml]').value") == broken  # kept for fixing
    browser.screenshot(SHOTS / "admin-policy-apply-refused.png")
    browser.problems.clear()
    assert [v["version"] for v in json.loads(airlock_cli(database_url, "policy", "list", "--tenant", site.tenant, "--json").stdout)] == [1, 2]
    v3 = POLICY_V2.replace("Resident numbers never leave.", "Resident numbers never leave (applied from the console).")
    status = browser.submit(f"document.querySelector('textarea[name=yaml]').value = {json.dumps(v3)};"
                            "document.querySelector('form[action=\"/console/policies/apply\"]').submit();")
    assert status == 200 and browser.problems == []
    text = browser.text()
    assert "as version 3" in text and "v3 active" in text, text
    browser.screenshot(SHOTS / "admin-policy-applied.png")
    versions = json.loads(airlock_cli(database_url, "policy", "list", "--tenant", site.tenant, "--json").stdout)
    assert [(v["version"], v["active"]) for v in versions] == [(1, False), (2, False), (3, True)]
    assert versions[-1]["applied_by"].startswith("console:op_")
    assert eventually(lambda: chat_as(site, key, f"주민등록번호 {RRN} 확인") == 403)  # the gateway enforces v3

    # Disable and enable a database provider: its model stops and resumes being served.
    assert chat_as(site, key, model=DB_MODEL) == 200
    assert browser.goto(site.base + "/console/access") == 200
    browser.submit(f"document.querySelector('form[action=\"/console/access/providers\"] input[name=name][value={json.dumps(DB_PROVIDER)}]').form.submit();")
    assert f"Provider {DB_PROVIDER} disabled" in browser.text() and browser.problems == []
    browser.screenshot(SHOTS / "admin-provider-disabled.png")
    assert json.loads(airlock_cli(database_url, "provider", "list", "--json").stdout)[0]["enabled"] is False
    assert eventually(lambda: chat_as(site, key, model=DB_MODEL) != 200)
    assert chat_as(site, key) == 200  # the configured provider still serves its models
    browser.submit(f"document.querySelector('form[action=\"/console/access/providers\"] input[name=name][value={json.dumps(DB_PROVIDER)}]').form.submit();")
    assert f"Provider {DB_PROVIDER} enabled" in browser.text()
    assert eventually(lambda: chat_as(site, key, model=DB_MODEL) == 200)

    # Each change is on the admin chain as the console operator, never with the key or the YAML.
    events = [json.loads(line) for line in airlock_cli(database_url, "audit", "search", "--decision", "admin", "--limit", "2000", "--json").stdout.splitlines()]
    actions = {(e["endpoint"], (e["actor"] or "").split(":")[0]) for e in events}
    for action in ("key.create", "policy.apply", "policy.apply_refused", "provider.update"):
        assert (action, "console") in actions, action
    dumped = json.dumps(events)
    assert key not in dumped and "teleport" not in dumped


def test_sign_out_ends_the_session(browser, site):
    cookies = session_cookie(browser)
    assert browser.goto(site.base + "/console/overview") == 200
    browser.submit("document.querySelector('form[action=\"/console/sign-out\"]').submit();")
    assert browser.url().endswith("/console/sign-in")
    r = httpx.get(site.base + "/console/overview", cookies=cookies, follow_redirects=False)
    assert r.status_code == 303


INJECTIONS = ["x' OR '1'='1", "'; DROP TABLE audit_events; --", "t\") OR true --", "%' OR tenant_id LIKE '%"]


def test_filters_are_data_never_sql(browser, site):
    """Every audit-explorer filter is bound as a value: SQL in a filter matches nothing (or is
    refused as a bad value), is shown escaped, and the table is intact afterwards."""
    assert sign_in(browser, site, site.admin_token) == 200
    cookies = session_cookie(browser)
    with httpx.Client(base_url=site.base, cookies=cookies, timeout=60, follow_redirects=False) as client:
        baseline = client.get("/console/audit/export", params={"tenant": site.tenant, "format": "jsonl"}).text.strip().splitlines()
        for name in ("tenant", "decision", "entity", "provider", "region", "model"):
            for value in INJECTIONS:
                page = client.get("/console/audit", params={name: value})
                assert page.status_code in (200, 400), (name, value, page.status_code)
                assert value not in page.text  # echoed only HTML-escaped
                export = client.get("/console/audit/export", params={name: value, "format": "jsonl"})
                assert export.status_code in (200, 400), (name, value, export.status_code)
                if export.status_code == 200:
                    rows = [json.loads(line) for line in export.text.strip().splitlines() if line.strip()]
                    calls = [r for r in rows if r.get("kind") == "request"]
                    assert calls == [], f"{name}={value!r} matched {len(calls)} calls"
        after = client.get("/console/audit/export", params={"tenant": site.tenant, "format": "jsonl"}).text.strip().splitlines()
        calls_before = [line for line in baseline if json.loads(line).get("kind") == "request"]
        calls_after = [line for line in after if json.loads(line).get("kind") == "request"]
        assert calls_after == calls_before and calls_before
