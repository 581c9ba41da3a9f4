"""The TLS listener option: with `listen.tls_certificate_file`/`tls_key_file` set, the
gateway serves HTTPS only, the official SDK works over it (JSON and streaming), plain HTTP
is refused, and a bad certificate path stops startup with a one-line error."""
from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import Gateway, upstream_env


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def wait_https(gw: Gateway, cert: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if gw.process.poll() is not None:
            raise RuntimeError(f"airlock exited early:\n{gw.logs()}")
        try:
            if httpx.get(f"https://127.0.0.1:{gw.port}/readyz", verify=ssl.create_default_context(cafile=str(cert)), timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("airlock did not become ready over TLS:\n" + gw.logs())


def test_sdk_over_tls_and_plain_http_refused(upstream, database_url, tenant_key, certificate, tmp_path):
    cert, key = certificate
    config = tmp_path / "airlock.yaml"
    config.write_text(f"listen:\n  tls_certificate_file: {cert}\n  tls_key_file: {key}\n")
    gw = Gateway(upstream_env(upstream, database_url), args=["--config", str(config)])
    try:
        wait_https(gw, cert)
        client = openai.OpenAI(base_url=f"https://127.0.0.1:{gw.port}/v1", api_key=tenant_key,
                               http_client=httpx.Client(verify=ssl.create_default_context(cafile=str(cert))))
        answer = client.chat.completions.create(model="mock-chat", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "echo: hi"
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="mock-chat", stream=True, messages=[{"role": "user", "content": "hi"}]) if c.choices)
        assert text == "Hello from the mock upstream."
        # Console cookies served over the TLS listener are marked Secure.
        page = httpx.get(f"https://127.0.0.1:{gw.port}/console/sign-in", verify=ssl.create_default_context(cafile=str(cert)), timeout=10)
        assert page.status_code == 200
        cookies = page.headers.get_list("set-cookie")
        assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies), cookies
        # The certificate is checked: a client that does not trust it is refused by the handshake.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{gw.port}/healthz", timeout=5)
        # Plain HTTP on the TLS port gets no HTTP answer.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{gw.port}/healthz", timeout=5)
        assert gw.stop() == 0
    finally:
        gw.stop()


def test_unreadable_certificate_stops_startup_with_one_line(upstream, database_url, certificate, tmp_path):
    _, key = certificate
    config = tmp_path / "airlock.yaml"
    config.write_text(f"listen:\n  tls_certificate_file: {tmp_path}/missing.pem\n  tls_key_file: {key}\n")
    gw = Gateway(upstream_env(upstream, database_url), args=["--config", str(config)])
    code = gw.process.wait(60)
    assert code != 0
    assert "listen.tls_certificate_file" in gw.logs() and "missing.pem" in gw.logs()


def test_half_configured_tls_is_rejected(upstream, database_url, certificate, tmp_path):
    cert, _ = certificate
    config = tmp_path / "airlock.yaml"
    config.write_text(f"listen:\n  tls_certificate_file: {cert}\n")
    gw = Gateway(upstream_env(upstream, database_url), args=["--config", str(config)])
    assert gw.process.wait(60) != 0
    assert "must be set together" in gw.logs()
