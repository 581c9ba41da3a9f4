"""A real OpenAI-compatible HTTP server for end-to-end tests.

It answers by model name so each test can pick a behaviour, and records every request it
receives (path, headers, JSON body) so tests can prove what reached the provider.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.disconnects = 0
        self.completed_streams = 0

    def add(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)

    def bodies(self) -> list[dict]:
        with self.lock:
            return [r["body"] for r in self.requests]


def completion(model: str, content: str, extra_message: dict | None = None, usage: dict | None = None) -> dict:
    message = {"role": "assistant", "content": content}
    if extra_message:
        message.update(extra_message)
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": usage or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        "system_fingerprint": "fp_mock",
    }


def chunk(model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder
    region = "us"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "mock-chat", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        self._answer(self._read_request())

    def _read_request(self):
        """Reads and records the request; returns its JSON body (None when not JSON)."""
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.recorder.add({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "raw": raw.decode("utf-8", "replace")})
        return body

    def _answer(self, body) -> None:
        if self.path.endswith("/embeddings"):
            self._json(200, {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                             "model": body.get("model"), "usage": {"prompt_tokens": 2, "total_tokens": 2}})
            return
        model = (body or {}).get("model", "")
        if model == "mock-500":
            self._json(500, {"error": {"message": "upstream exploded"}})
            return
        if model == "mock-400":
            self._json(400, {"error": {"message": "bad parameter from provider", "type": "invalid_request_error", "param": "temperature", "code": None}})
            return
        if model == "mock-hang":
            time.sleep(30)
            self._json(200, completion(model, "too late"))
            return
        if body.get("stream"):
            self._stream(body)
            return
        extra = None
        if model == "mock-reasoner":
            extra = {"reasoning_content": "Thinking about it."}
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                 "prompt_tokens_details": {"cached_tokens": 3}, "completion_tokens_details": {"reasoning_tokens": 5}}
        last = body["messages"][-1].get("content")
        answer = f"echo: {last}" if isinstance(last, str) else "echo"
        self._json(200, completion(model, answer, extra, usage))

    def _stream(self, body: dict) -> None:
        model = body["model"]
        delay = 0.25 if model == "mock-slow-stream" else 0.02
        pieces = ["Hello", " from", " the", " mock", " upstream", "."]
        if model == "mock-echo-stream":
            # Echo the prompt in 3-byte pieces, so placeholders arrive split across chunks.
            last = body["messages"][-1].get("content") or ""
            pieces = [last[i:i + 3] for i in range(0, len(last), 3)]
            delay = 0.0
        if model == "mock-long-stream":
            pieces = [f" token{i}" for i in range(400)]
            delay = 0.05
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def send(payload: str) -> None:
            data = payload.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        try:
            if model == "mock-reasoner":
                send("data: " + json.dumps(chunk(model, {"role": "assistant", "reasoning_content": "Let me think."})) + "\n\n")
            for i, piece in enumerate(pieces):
                delta = {"content": piece}
                if i == 0:
                    delta["role"] = "assistant"
                send("data: " + json.dumps(chunk(model, delta)) + "\n\n")
                time.sleep(delay)
            send("data: " + json.dumps(chunk(model, {}, "stop")) + "\n\n")
            if (body.get("stream_options") or {}).get("include_usage"):
                usage_chunk = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                               "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": len(pieces), "total_tokens": 11 + len(pieces)}}
                send("data: " + json.dumps(usage_chunk) + "\n\n")
            send("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            with self.recorder.lock:
                self.recorder.completed_streams += 1
        except (BrokenPipeError, ConnectionResetError):
            with self.recorder.lock:
                self.recorder.disconnects += 1


class MockUpstream:
    def __init__(self) -> None:
        self.recorder = Recorder()
        handler = type("BoundHandler", (Handler,), {"recorder": self.recorder})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "MockUpstream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Faulty providers (issue #9): misbehaviour chosen by model name or for a whole server ---

import socket
import struct

FAULT_MODELS = ("mock-reset", "mock-garbage", "mock-garbage-sse", "mock-half-sse", "mock-truncated-json", "mock-sse-flood")


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Closes the connection with a TCP RST (SO_LINGER 0), like a crashed load balancer."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass


def _send_fault(handler: BaseHTTPRequestHandler, fault: str, model: str) -> bool:
    """Plays one fault on the connection; False if `fault` is not a fault this module knows."""
    if fault == "mock-reset":
        _reset(handler)
    elif fault == "mock-garbage":
        data = b"\x00\xff\xfe<html>502 Bad Gateway</html> {\"choices\": [\x80"
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    elif fault == "mock-truncated-json":
        # Promises 4 KiB, sends a few bytes, then the connection drops.
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", "4096")
        handler.end_headers()
        handler.wfile.write(b'{"id": "chatcmpl-mock", "choices": [')
        handler.wfile.flush()
        _reset(handler)
    elif fault in ("mock-garbage-sse", "mock-half-sse", "mock-sse-flood"):
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()

        def send(data: bytes) -> None:
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()

        try:
            send(("data: " + json.dumps(chunk(model, {"role": "assistant", "content": "Hello"})) + "\n\n").encode())
            if fault == "mock-garbage-sse":
                # Binary noise, a non-JSON data line, a JSON array, invalid UTF-8 in a field,
                # then a well-formed end.
                send(b"\x00\x01\x02\xff\xfe garbage without a field\n\n")
                send(b"data: {not json at all\n\n")
                send(b"data: [1, 2, 3]\n\n")
                send(b"data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"\xff\xfe\"}}]}\n\n")
                send(("data: " + json.dumps(chunk(model, {"content": " world"})) + "\n\n").encode())
                send(("data: " + json.dumps(chunk(model, {}, "stop")) + "\n\n").encode())
                send(b"data: [DONE]\n\n")
                handler.wfile.write(b"0\r\n\r\n")
                handler.wfile.flush()
            elif fault == "mock-half-sse":
                # Half an event, then the connection is cut: no terminating chunk, no [DONE].
                send(b'data: {"id": "chatcmpl-mock", "choices": [{"index": 0, "delta": {"content": " wor')
                time.sleep(0.1)
                _reset(handler)
            else:
                # One endless event: data lines but never the blank line that ends it.
                line = b"data: " + b"x" * 8000 + b"\n"
                deadline = time.time() + 20
                while time.time() < deadline:
                    send(line * 16)
        except (BrokenPipeError, ConnectionResetError):
            with handler.recorder.lock:
                handler.recorder.disconnects += 1
    elif fault == "mock-500":
        handler._json(500, {"error": {"message": "upstream exploded"}})
    elif fault == "mock-hang":
        time.sleep(30)
        _reset(handler)
    else:
        return False
    return True


def _do_POST_with_faults(self) -> None:
    body = self._read_request()
    model = (body or {}).get("model", "") if isinstance(body, dict) else ""
    fault = getattr(self, "fault", None) or (model if model in FAULT_MODELS else None)
    if fault and _send_fault(self, fault, model):
        return
    self._answer(body)


Handler.do_POST = _do_POST_with_faults


class FaultyUpstream(MockUpstream):
    """A provider that answers every chat call with one fault (`mock-reset`, `mock-garbage`,
    `mock-half-sse`, ..., or `mock-500`/`mock-hang` behaviour by name), whatever the model."""

    def __init__(self, fault: str) -> None:
        super().__init__()
        self.server.RequestHandlerClass = type("FaultyHandler", (self.server.RequestHandlerClass,), {"fault": fault})
