"""Issue #9, hostile clients at the connection level: thousands of idle connections and
slowloris-style request bodies. The gateway keeps answering other clients promptly, closes
idle and half-sent connections after `limits.idle_timeout_seconds`, answers a body that
trickles in past `limits.body_timeout_seconds` with 408 and drops the connection, so its file
descriptors return to where they were."""
from __future__ import annotations

import os
import resource
import socket
import threading
import time

import httpx
import pytest

from conftest import Gateway, upstream_env, wait_for

IDLE_TIMEOUT = 8
BODY_TIMEOUT = 3
IDLE_CONNECTIONS = 2000

# Both this process and the gateway (which inherits the limit) hold one descriptor per connection.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < IDLE_CONNECTIONS + 1000 and _hard > _soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(_hard, IDLE_CONNECTIONS + 1000), _hard))


@pytest.fixture(scope="module")
def guarded(upstream, database_url, tmp_path_factory):
    cfg = tmp_path_factory.mktemp("conn") / "airlock.yaml"
    cfg.write_text(f"limits:\n  idle_timeout_seconds: {IDLE_TIMEOUT}\n  body_timeout_seconds: {BODY_TIMEOUT}\n")
    gw = Gateway(upstream_env(upstream, database_url), args=["--config", str(cfg)])
    gw.wait_ready()
    yield gw
    assert gw.stop() == 0, gw.logs()[-3000:]


def open_fds(gw) -> int:
    return len(os.listdir(f"/proc/{gw.process.pid}/fd"))


def chat(gw, key, timeout=10) -> httpx.Response:
    return httpx.post(gw.base_url + "/v1/chat/completions", timeout=timeout, headers={"authorization": f"Bearer {key}"},
                      json={"model": "mock-chat", "messages": [{"role": "user", "content": "still there?"}]})


def timed_chat(gw, key) -> float:
    started = time.monotonic()
    r = chat(gw, key)
    assert r.status_code == 200, r.text
    return time.monotonic() - started


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True once the server has closed the connection (EOF or reset), reading any answer."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False


def test_thousands_of_idle_connections(guarded, tenant_key):
    gw = guarded
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < IDLE_CONNECTIONS + 200:
        pytest.skip("the open-files limit is too low for this many connections")
    baseline = open_fds(gw)
    socks: list[socket.socket] = []
    peak = baseline
    try:
        for i in range(IDLE_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
            if i % 10 == 0:
                # Every tenth stops in the middle of its request head.
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: app")
            socks.append(s)
            if i % 100 == 0:
                peak = max(peak, open_fds(gw))
        peak = max(peak, open_fds(gw))
        # The gateway has taken them on (most at once) and still answers everyone else at once.
        assert peak >= baseline + IDLE_CONNECTIONS // 2, f"only {peak - baseline} connections were ever held"
        latencies = [timed_chat(gw, tenant_key) for _ in range(5)]
        assert max(latencies) < 2, f"answers slowed to {latencies} with {IDLE_CONNECTIONS} idle connections"
        assert httpx.get(gw.base_url + "/healthz", timeout=5).status_code == 200

        # After the idle timeout every one of them is closed by the gateway.
        wait_for(lambda: open_fds(gw) <= baseline + 20, IDLE_TIMEOUT + 15, step=0.5)
        print(f"gateway fds: {baseline} before, {peak} with {IDLE_CONNECTIONS} idle connections, {open_fds(gw)} after the idle timeout")
        sample = socks[::97]
        assert all(closed_by_server(s, 2) for s in sample)
        assert timed_chat(gw, tenant_key) < 2
    finally:
        for s in socks:
            s.close()


def slow_body(gw, key: str, stop: threading.Event, outcome: dict, index: int) -> None:
    """Sends a complete head promising 2000 bytes, then one byte every 0.3 s."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    body = b'{"model": "mock-chat", "messages": [{"role": "user", "content": "' + b"x" * 1900
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n").encode()
    started = time.monotonic()
    received = b""
    try:
        s.sendall(head)
        s.settimeout(0.3)
        for b in body:
            if stop.is_set():
                break
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
            except (socket.timeout, TimeoutError):
                pass
            except ConnectionResetError:
                break
    finally:
        outcome[index] = (received, time.monotonic() - started)
        s.close()


@pytest.mark.parametrize("authenticated", [True, False])
def test_slowloris_bodies_are_cut_and_others_are_served(guarded, tenant_key, authenticated):
    gw = guarded
    baseline = open_fds(gw)
    key = tenant_key if authenticated else "ak_live_not-a-real-key"
    stop = threading.Event()
    outcome: dict[int, tuple[bytes, float]] = {}
    threads = [threading.Thread(target=slow_body, args=(gw, key, stop, outcome, i), daemon=True) for i in range(50)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        latencies = [timed_chat(gw, tenant_key) for _ in range(10)]
        assert max(latencies) < 2, f"answers slowed to {latencies} under 50 slow bodies"
        for t in threads:
            t.join(BODY_TIMEOUT + 10)
        assert not any(t.is_alive() for t in threads), "a trickling connection was never closed by the gateway"
    finally:
        stop.set()
    status = b"HTTP/1.1 408" if authenticated else b"HTTP/1.1 401"
    for received, seconds in outcome.values():
        assert received.startswith(status), received[:200]
        # Without the fix the gateway read all 2000 bytes (10 minutes at this pace).
        assert seconds < BODY_TIMEOUT + 5, f"connection held for {seconds:.1f}s"
    wait_for(lambda: open_fds(gw) <= baseline + 10, 10, step=0.5)
