"""Issue #9, hostile HTTP input: oversized and deeply nested JSON, invalid UTF-8, huge
headers, header injection through model names and request ids. Every one gets a clean
OpenAI-style 4xx (or the HTTP parser's 400/431), nothing reaches the provider that should
not, and the gateway keeps serving."""
from __future__ import annotations

import json
import socket

import httpx
import pytest

from conftest import SESSION_KEY, auth

pytestmark = pytest.mark.usefixtures("tenant_key")


def post_raw(gateway, body: bytes, headers: dict | None = None) -> httpx.Response:
    return httpx.post(gateway.base_url + "/v1/chat/completions", content=body, timeout=20,
                      headers={"content-type": "application/json", **auth(), **(headers or {})})


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def still_serving(gateway) -> None:
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(), timeout=10,
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": "ping"}]})
    assert r.status_code == 200, r.text


def raw_exchange(gateway, request: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), None)
                    if length is not None and len(rest) >= length:
                        break
        except (ConnectionResetError, socket.timeout):
            pass
        return data


# --- size and shape -------------------------------------------------------------------------

def test_chunked_body_over_the_limit_gets_413(gateway, upstream):
    before = len(upstream.recorder.requests)

    def chunks():
        for _ in range(40):
            yield b"x" * 4096  # 160 KiB, no content-length, limit 64 KiB
    r = httpx.post(gateway.base_url + "/v1/chat/completions", content=chunks(), timeout=20,
                   headers={"content-type": "application/json", **auth()})
    assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"
    assert len(upstream.recorder.requests) == before
    still_serving(gateway)


def test_huge_declared_length_is_refused_before_reading(gateway):
    reply = raw_exchange(gateway, (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SESSION_KEY['value']}\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{").encode())
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    still_serving(gateway)


@pytest.mark.parametrize("depth", [129, 10_000, 30_000])
def test_deeply_nested_json_is_refused(gateway, upstream, depth):
    before = len(upstream.recorder.requests)
    body = b'{"model":"mock-chat","messages":[{"role":"user","content":"x"}],"x":' + b"[" * depth + b"]" * depth + b"}"
    r = post_raw(gateway, body)
    assert r.status_code == 400, r.text[:300]
    err = error_of(r)
    assert err["code"] == "invalid_json" and "nested too deeply" in err["message"]
    assert len(upstream.recorder.requests) == before
    still_serving(gateway)


def test_nesting_within_the_bound_passes_through(gateway, upstream):
    nested = "[" * 100 + "]" * 100
    r = post_raw(gateway, ('{"model":"mock-chat","messages":[{"role":"user","content":"x"}],"vendor":' + nested + "}").encode())
    assert r.status_code == 200, r.text
    assert upstream.recorder.requests[-1]["raw"].count("[") >= 100


def test_many_members_and_long_strings_within_the_limit(gateway):
    members = ",".join(f'"k{i}":{i}' for i in range(3000))
    r = post_raw(gateway, ('{"model":"mock-chat","messages":[{"role":"user","content":"' + "a" * 20000 + '"}],' + members + "}").encode())
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("body", [
    b'{"model":"mock-chat","messages":[{"role":"user","content":"\xc0\xaf"}]}',          # overlong encoding
    b'{"model":"mock-chat","messages":[{"role":"user","content":"\xed\xa0\x80"}]}',      # UTF-8-encoded surrogate
    b'{"model":"mock-chat","messages":[{"role":"user","content":"\xf4\x90\x80\x80"}]}',  # above U+10FFFF
    b'{"model":"mock-chat","messages":[{"role":"user","content":"ab\xe2\x82"}]}',        # truncated sequence
    b'{"model":"mock-\xff","messages":[{"role":"user","content":"x"}]}',                 # in the model name
    b'{"mo\xfeel":"mock-chat","messages":[{"role":"user","content":"x"}]}',              # in a key
    b'{"model":"mock-chat","messages":[{"role":"user","content":"\\ud800"}]}',           # lone surrogate escape
    b'{"model":"mock-chat","messages":[{"role":"user","content":"\\udc00\\ud800"}]}',    # reversed pair
    b'\xef\xbb\xbf{"model":"mock-chat","messages":[{"role":"user","content":"x"}]}',     # byte order mark
    b'{"model":"mock-chat","messages":[{"role":"user","content":"x\x00y"}]}',            # raw control byte
])
def test_invalid_utf8_and_escapes_get_400(gateway, upstream, body):
    before = len(upstream.recorder.requests)
    r = post_raw(gateway, body)
    assert r.status_code == 400, r.text[:300]
    assert error_of(r)["code"] == "invalid_json"
    assert len(upstream.recorder.requests) == before


def test_nul_and_valid_escapes_reach_the_provider_intact(gateway, upstream):
    r = post_raw(gateway, b'{"model":"mock-chat","messages":[{"role":"user","content":"a\\u0000b \\ud83d\\ude00 \\u2028"}]}')
    assert r.status_code == 200, r.text
    assert upstream.recorder.requests[-1]["body"]["messages"][0]["content"] == "a\x00b \U0001F600 \u2028"


# --- headers --------------------------------------------------------------------------------

def test_huge_header_is_refused_and_the_server_survives(gateway):
    reply = raw_exchange(gateway, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 4"), reply[:100]
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    reply = raw_exchange(gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4"), reply[:100]
    still_serving(gateway)


def test_malformed_request_lines_get_400(gateway):
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS ClientHello
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                 b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\n"):
        reply = raw_exchange(gateway, junk)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400"), reply[:100]
    still_serving(gateway)


@pytest.mark.parametrize("model", [
    "mock-chat\r\nX-Injected: yes",
    "mock-chat\nSet-Cookie: session=evil",
    "nope\r\n\r\nHTTP/1.1 200 OK\r\nX-Injected: yes",
    "x" * 20_000,
    "\u202emock-chat\u0000\u001b[31m",
])
def test_header_and_log_injection_through_model_names(gateway, upstream, model):
    """Model names are echoed in errors and recorded in logs and audit: control characters
    and names over 256 bytes are refused up front (they used to be echoed verbatim)."""
    before = len(upstream.recorder.requests)
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(), timeout=10,
                   json={"model": model, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400, r.text[:300]
    assert error_of(r)["param"] == "model"
    assert "x-injected" not in r.headers and "set-cookie" not in r.headers
    for name, value in r.headers.items():
        assert "\r" not in value and "\n" not in value
    message = error_of(r)["message"]
    assert "\r" not in message and "\n" not in message and "\u0000" not in message and "\u001b" not in message
    assert len(message) < 400
    assert len(upstream.recorder.requests) == before


@pytest.mark.parametrize("rid", ["abc\r\nX-Injected: yes", "short", "x" * 65, "ok-id-but-\u00e9", "../../etc/passwd-0001", "id with spaces 1"])
def test_client_request_ids_are_only_echoed_when_plain(gateway, rid):
    headers = {"x-request-id": rid.encode("utf-8")} if "\r" not in rid else {}
    if "\r" in rid:
        reply = raw_exchange(gateway, (f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: {rid}\r\n\r\n").encode())
        assert b"x-injected" not in reply.lower().split(b"\r\n\r\n")[0]
        return
    r = httpx.get(gateway.base_url + "/healthz", headers=headers, timeout=10)
    assert r.headers["x-request-id"] != rid and r.headers["x-request-id"].startswith("req_")


def test_provider_never_sees_client_credentials_or_extra_headers(gateway, upstream):
    r = httpx.post(gateway.base_url + "/v1/chat/completions", timeout=10,
                   headers={**auth(), "x-forwarded-for": "10.0.0.1", "cookie": "session=abc", "x-api-key": "client-secret",
                            "openai-organization": "org-client"},
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200
    sent = upstream.recorder.requests[-1]["headers"]
    assert sent["authorization"] == "Bearer sk-provider-secret-for-tests"
    for name in ("x-forwarded-for", "cookie", "x-api-key", "openai-organization"):
        assert name not in sent
    assert SESSION_KEY["value"] not in json.dumps(sent)


# --- personal data outside `messages` ----------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"user": "jimin.park@example.co.kr"},
    {"prediction": {"type": "content", "content": "Reply to jimin.park@example.co.kr"}},
    {"prediction": {"type": "content", "content": [{"type": "text", "text": "jimin.park@example.co.kr"}]}},
    {"metadata": {"customer": "jimin.park@example.co.kr"}},
])
def test_personal_data_in_other_request_fields_does_not_leave_in_clear(gateway, upstream, extra):
    """OpenAI's `user`, `prediction` and `metadata` fields carry text too; the default policy
    should pseudonymize e-mail addresses wherever the request carries them."""
    r = httpx.post(gateway.base_url + "/v1/chat/completions", headers=auth(), timeout=10,
                   json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}], **extra})
    assert r.status_code == 200, r.text
    assert "jimin.park@example.co.kr" not in upstream.recorder.requests[-1]["raw"]


@pytest.mark.parametrize("value", [
    [["my mail is jimin.park@example.co.kr"]],                 # nested array of strings
    [{"text": "my mail is jimin.park@example.co.kr"}],          # objects inside the array
    ["fine", ["deeper", ["my mail is jimin.park@example.co.kr"]]],
])
def test_embedding_inputs_cannot_hide_text_from_the_scanner(gateway, upstream, value):
    """Only a string or an array of strings used to be scanned; nesting hid the address."""
    before = len(upstream.recorder.requests)
    r = httpx.post(gateway.base_url + "/v1/embeddings", headers=auth(), timeout=10, json={"model": "mock-embed", "input": value})
    assert r.status_code == 403, r.text
    assert len(upstream.recorder.requests) == before


@pytest.mark.parametrize("header,status", [
    ("bearer {key}", 200), ("BEARER {key}", 200), ("Bearer \t {key} \t", 200),
    ("Bearer", 401), ("Bearer    ", 401), ("Basic {key}", 401), ("Bearer {key}x", 401),
    ("Bearerx {key}", 401), ("Bearer \u00e9{key}", 401),
])
def test_authorization_scheme_and_spacing(gateway, header, status):
    """The scheme is matched without regard to case and the key without surrounding blanks,
    as RFC 9110 and the OpenAI SDKs expect; anything else is a 401 in OpenAI's shape."""
    value = header.format(key=SESSION_KEY["value"]).encode("utf-8")
    body = json.dumps({"model": "mock-chat", "messages": [{"role": "user", "content": "ping"}]}).encode()
    reply = raw_exchange(gateway, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: " + value +
                         b"\r\ncontent-type: application/json\r\ncontent-length: " + str(len(body)).encode() +
                         b"\r\nconnection: close\r\n\r\n" + body)
    assert reply.startswith(f"HTTP/1.1 {status}".encode()), reply[:200]
    if status == 401:
        assert b'"code":"invalid_api_key"' in reply.replace(b" ", b""), reply[-300:]
