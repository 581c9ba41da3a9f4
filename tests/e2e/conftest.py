"""Fixtures that start the real `airlock serve` process against a real PostgreSQL and a
real local upstream, all over loopback."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from mock_upstream import MockUpstream

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def airlock_binary() -> str:
    return os.environ.get("AIRLOCK_BIN", str(REPO / ".build" / "debug" / "airlock"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, env: dict[str, str], args: list[str] | None = None, cwd: Path | None = None) -> None:
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="airlock-e2e-", suffix=".log")[1])
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
        full_env.update(env)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [airlock_binary(), "serve", "--port", str(self.port), *(args or [])],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd or REPO)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"airlock exited early with {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("airlock did not become ready:\n" + self.logs())

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                # The log says which service was still shutting down (ServiceGroup logs each one).
                raise AssertionError("airlock did not stop within the grace period; log tail:\n" + self.logs()[-6000:])
        self.log.close()
        return self.process.returncode


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("AIRLOCK_TEST_DATABASE_URL")
    if not url:
        pytest.fail("AIRLOCK_TEST_DATABASE_URL is not set; run the tests through scripts/test.sh")
    return url


def airlock_cli(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Runs an admin command against the test database; fails the test on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env["AIRLOCK_DATABASE_URL"] = database_url
    result = subprocess.run([airlock_binary(), *args], env=env, capture_output=True, text=True, input=stdin, timeout=120, cwd=REPO)
    if result.returncode != 0:
        raise AssertionError(f"airlock {' '.join(args)} failed: {result.stderr}")
    return result


def new_tenant(database_url: str, prefix: str = "t") -> tuple[str, str]:
    """A fresh tenant and one API key for it."""
    tenant = f"{prefix}-{uuid.uuid4().hex[:10]}"
    airlock_cli(database_url, "tenant", "create", tenant, "--name", tenant)
    key = airlock_cli(database_url, "key", "create", "--tenant", tenant).stdout.strip().splitlines()[-1]
    time.sleep(0.5)  # running gateways learn of the new key through LISTEN/NOTIFY
    return tenant, key


SESSION_KEY: dict[str, str] = {}


@pytest.fixture(scope="session")
def tenant_key(database_url) -> str:
    SESSION_KEY["value"] = new_tenant(database_url, "e2e")[1]
    return SESSION_KEY["value"]


def auth() -> dict[str, str]:
    """Authorization header with the session tenant's key (modules that call it use
    `pytestmark = pytest.mark.usefixtures("tenant_key")`)."""
    return {"authorization": f"Bearer {SESSION_KEY['value']}"}


@pytest.fixture(scope="session")
def upstream():
    with MockUpstream() as server:
        yield server


def upstream_env(upstream: MockUpstream, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "AIRLOCK_DATABASE_URL": database_url,
        "AIRLOCK_UPSTREAM_BASE_URL": upstream.base_url,
        "AIRLOCK_UPSTREAM_NAME": "mock",
        "AIRLOCK_UPSTREAM_REGION": "us-east",
        "AIRLOCK_UPSTREAM_MODELS": "mock-chat,mock-500,mock-400,mock-hang,mock-reasoner,mock-slow-stream,mock-long-stream,mock-embed",
        "AIRLOCK_UPSTREAM_API_KEY_ENV": "MOCK_PROVIDER_KEY",
        "MOCK_PROVIDER_KEY": "sk-provider-secret-for-tests",
        # Without the engine, provider failures surface as errors instead of local answers.
        "AIRLOCK_LOCAL_MODEL": "/nonexistent/model.gguf",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def gateway(upstream, database_url):
    gw = Gateway(upstream_env(upstream, database_url, AIRLOCK_MAX_BODY_BYTES="65536"))
    gw.wait_ready()
    yield gw
    gw.stop()


def managed_db(command: str, data_dir: Path) -> str:
    """`airlock db start|stop` on a private data folder; returns what it printed (the URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    result = subprocess.run([airlock_binary(), "db", command, "--data-dir", str(data_dir)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"airlock db {command} failed: {result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def private_db():
    """A PostgreSQL of the module's own, for tests that stop or break it. The managed server may
    run as another user (root → postgres), so its parents must be searchable."""
    root = Path(tempfile.mkdtemp(prefix="airlock-private-pg-", dir="/tmp"))
    root.chmod(0o755)
    data_dir = root / "pg"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    url = managed_db("start", data_dir).splitlines()[-1]
    yield url, data_dir
    try:
        managed_db("stop", data_dir)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ready_status(gw) -> int:
    try:
        return httpx.get(gw.base_url + "/readyz", timeout=2).status_code
    except httpx.HTTPError:
        return -1


def wait_for(predicate, timeout: float, step: float = 0.1) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def fail_closed_policy(name: str, local: str = "allowed") -> str:
    """A policy that allows everything and requires every call to be on record (`fail_closed`)."""
    return f"""apiVersion: airlock/v1
kind: Policy
name: {name}
mode: enforce
defaults: {{ action: allow, destinations: ["*"], local: {local} }}
rules: []
retention: {{ audit_days: 30, payload_days: 0, capture_payloads: false, fail_closed: true }}
"""


def audit_call_rows(database_url: str, tenant: str, limit: int = 100000) -> list[dict]:
    """The tenant's call rows from `airlock audit search` (creating the tenant and its key are
    audited too, as admin events; those are left out)."""
    out = airlock_cli(database_url, "audit", "search", "--tenant", tenant, "--json", "--limit", str(limit)).stdout
    return [r for r in (json.loads(line) for line in out.splitlines() if line.strip()) if r["decision"] != "admin"]


def wait_until_audited(database_url: str, tenant: str, request_ids: set[str], timeout: float = 30) -> tuple[list[dict], set[str]]:
    """Waits until every request id has a call row; returns the rows and the ids still missing
    at the timeout (empty when all arrived)."""
    rows: list[dict] = []

    def complete() -> bool:
        nonlocal rows
        rows = audit_call_rows(database_url, tenant)
        return request_ids <= {r["request_id"] for r in rows}

    try:
        wait_for(complete, timeout, step=0.5)
    except AssertionError:
        pass
    return rows, request_ids - {r["request_id"] for r in rows}

