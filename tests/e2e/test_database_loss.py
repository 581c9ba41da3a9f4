"""Losing PostgreSQL: the gateway reports not-ready at once, keeps enforcing the last good
governance snapshot (known keys and policies, never allow-all) for governance.max_stale_seconds,
then refuses with 503 not_ready; once the database is back it becomes ready and serves again.
Runs its own private PostgreSQL so stopping it affects no other test."""
from __future__ import annotations

import contextlib
import re
import time
import uuid

import httpx

from conftest import managed_db, ready_status, wait_for, wait_until_audited, Gateway, airlock_cli, new_tenant, upstream_env

EMAIL = "minji.kim@example.co.kr"
MAX_STALE = 4

POLICY = """apiVersion: airlock/v1
kind: Policy
name: block-email
mode: enforce
defaults: { action: allow, destinations: ["*"], local: allowed }
rules:
  - id: no-email
    when: { entities: [EMAIL_ADDRESS] }
    action: block
"""


def chat(gw, key, content) -> httpx.Response:
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=30, headers={"authorization": f"Bearer {key}"},
                      json={"model": "mock-chat", "messages": [{"role": "user", "content": content}]})


def console_sign_in(gw, token: str, timeout: float) -> httpx.Response:
    """Signs in to the web console with an operator token (form nonce and cookie included)."""
    with httpx.Client(base_url=gw.base_url, timeout=timeout) as client:
        form = client.get("/console/sign-in")
        nonce = re.search(r'name="_csrf" value="([0-9a-f]+)"', form.text).group(1)
        return client.post("/console/sign-in", data={"_csrf": nonce, "token": token})


@contextlib.contextmanager
def gateway_blocking_email_for_a_tenant(url: str, upstream, tmp_path):
    """A gateway with short governance staleness and a tenant whose policy blocks e-mail
    addresses (in force before this yields (gateway, tenant, key)); stopped cleanly afterwards."""
    config = tmp_path / "airlock.yaml"
    config.write_text(f"governance:\n  max_stale_seconds: {MAX_STALE}\n  reload_seconds: 1\n")
    gw = Gateway(upstream_env(upstream, url), args=["--config", str(config)])
    try:
        gw.wait_ready()
        tenant, key = new_tenant(url, "dbloss")
        policy = tmp_path / "block-email.yaml"
        policy.write_text(POLICY)
        airlock_cli(url, "policy", "apply", "--tenant", tenant, str(policy))
        wait_for(lambda: chat(gw, key, f"mail {EMAIL}").status_code == 403, 5)
        yield gw, tenant, key
    finally:
        assert gw.stop() == 0, gw.logs()[-4000:]


def test_database_loss_keeps_enforcing_then_fails_closed_and_recovers(private_db, upstream, tmp_path):
    url, data_dir = private_db
    with gateway_blocking_email_for_a_tenant(url, upstream, tmp_path) as (gw, _, key):
        assert chat(gw, key, "hello").status_code == 200

        managed_db("stop", data_dir)
        stopped = time.monotonic()
        took = wait_for(lambda: ready_status(gw) == 503, 5)
        assert took < 5

        # Within max_stale: the last good snapshot is enforced — never allow-all.
        assert time.monotonic() - stopped < MAX_STALE - 0.5, "too slow to test the stale window"
        allowed = chat(gw, key, "hello")
        assert allowed.status_code == 200, allowed.text
        blocked = chat(gw, key, f"mail {EMAIL}")
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "pii_blocked"
        assert chat(gw, "sk-airlock-unknown-key-000000000000", "hello").status_code == 401

        # After max_stale: refuse rather than enforce stale rules.
        wait_for(lambda: chat(gw, key, "hello").status_code == 503, MAX_STALE + 10, step=0.25)
        refused = chat(gw, key, "hello")
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "not_ready"
        assert chat(gw, key, f"mail {EMAIL}").status_code in (403, 503)  # never an allowed email
        assert chat(gw, key, f"mail {EMAIL}").status_code != 200
        assert gw.process.poll() is None, "the gateway must keep running without its database"

        # The database comes back: ready again, and serving with the same rules.
        managed_db("start", data_dir)
        wait_for(lambda: ready_status(gw) == 200, 30, step=0.25)
        assert chat(gw, key, "hello").status_code == 200
        assert chat(gw, key, f"mail {EMAIL}").status_code == 403


OUTAGE = 45


def test_after_a_long_outage_the_gateway_serves_again_as_soon_as_postgresql_is_back(private_db, upstream, tmp_path):
    """PostgreSQL's client pool retries a lost server on a backoff that grows to 60 s, so after a
    long outage it may reconnect many seconds after the database is back (9.7 s measured after
    45 s). Readiness and policy reloads use a fresh connection meanwhile, and the audit writer
    replays its spool over a connection of its own: the gateway is ready and serving with the
    tenant's rules within seconds, and a call served during the outage is in the audit log."""
    url, data_dir = private_db
    with gateway_blocking_email_for_a_tenant(url, upstream, tmp_path) as (gw, tenant, key):
        operator = airlock_cli(url, "operator", "create", "--name", "Outage Auditor", "--role", "auditor").stdout.strip()
        managed_db("stop", data_dir)
        stopped = time.monotonic()
        # Served on the last good snapshot; its audit event can only go to the spool.
        spooled_id = f"outage-{uuid.uuid4()}"
        served = httpx.post(gw.base_url + "/v1/chat/completions", timeout=30,
                            headers={"authorization": f"Bearer {key}", "x-request-id": spooled_id},
                            json={"model": "mock-chat", "messages": [{"role": "user", "content": "hello"}]})
        assert served.status_code == 200 and time.monotonic() - stopped < MAX_STALE, served.text
        wait_for(lambda: chat(gw, key, "hello").status_code == 503, MAX_STALE + 10, step=0.25)
        time.sleep(OUTAGE)
        managed_db("start", data_dir)
        back = time.monotonic()
        took = wait_for(lambda: ready_status(gw) == 200 and chat(gw, key, "hello").status_code == 200, 60, step=0.1)
        print(f"after a {OUTAGE} s outage: ready and serving {took:.2f} s after PostgreSQL was back")
        assert took < 5, took
        assert chat(gw, key, f"mail {EMAIL}").status_code == 403
        assert chat(gw, "sk-airlock-unknown-key-000000000000", "hello").status_code == 401
        _, missing = wait_until_audited(url, tenant, {spooled_id}, timeout=20)
        replayed = time.monotonic() - back
        print(f"the call served during the outage was in the audit log {replayed:.2f} s after PostgreSQL was back")
        assert not missing and replayed < 8, replayed
        assert "audit writer bypasses its database pool" in gw.logs()
        # The console reads through the shared pool. Where that pool still waits out its
        # backoff when the database is back, it is renewed (at the first probe after a long
        # outage, the third after a short one): the console signs in within seconds, not when
        # the old pool's next attempt comes (up to ~11 s after this outage, a minute after
        # longer ones). Meanwhile it refuses at once, with the reason.
        console = console_sign_in(gw, operator, timeout=3)
        if console.status_code == 503:
            assert "reconnecting" in console.text and console.headers["retry-after"] == "5"
        wait_for(lambda: console_sign_in(gw, operator, timeout=3).status_code == 303, 30, step=0.25)
        console_after = time.monotonic() - back
        renewed = "database pool renewed" in gw.logs()
        print(f"console signed in {console_after:.2f} s after PostgreSQL was back (pool renewed: {renewed})")
        assert console_after < 3, console_after
        metrics = httpx.get(gw.base_url + "/metrics", timeout=10).text
        assert "airlock_database_reachable 1" in metrics and "airlock_database_pool_up 1" in metrics
        assert f"airlock_database_pool_renewals_total {1 if renewed else 0}" in metrics
        # The audit writer's own pool catches up on its own schedule; the writer then goes back to it.
        wait_for(lambda: "audit writer is back on its database pool" in gw.logs(), 90, step=1)
        assert chat(gw, key, "hello").status_code == 200
