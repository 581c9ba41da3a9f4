"""A small Chrome DevTools Protocol client for the console test: starts headless Chromium,
drives one page, and records console messages, exceptions, CSP reports and failed requests."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import websocket  # websocket-client


def chromium_binary() -> str:
    for name in (os.environ.get("AIRLOCK_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise RuntimeError("Chromium not found: install the Debian package 'chromium' (scripts/setup.sh does)")


class Browser:
    def __init__(self, width: int = 1366, height: int = 900) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="airlock-chromium-"))
        args = [chromium_binary(), "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--disable-component-update", "--hide-scrollbars",
                "--disable-features=Translate,MediaRouter,OptimizationHints", "--password-store=basic", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root (CI containers)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.time() + 30
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError("Chromium did not start")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        import urllib.request
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.problems: list[str] = []
        self.documents: dict[str, int] = {}

    def send(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def _drain(self, until_method: str | None, timeout: float) -> None:
        deadline = time.time() + timeout
        seen = False
        while time.time() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.time()))
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if "method" in message:
                self.events.append(message)
                if message["method"] == until_method:
                    seen = True
                    break
        self.ws.settimeout(30)
        if until_method and not seen:
            raise RuntimeError(f"timed out waiting for {until_method}")

    def _collect(self) -> None:
        """Turns buffered events into problems: console errors, exceptions, CSP/log errors,
        failed requests and HTTP errors (the page's own status is kept per URL)."""
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                self.problems.append(f"console {p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif m == "Runtime.exceptionThrown":
                self.problems.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                entry = p["entry"]
                self.problems.append(f"log {entry['level']} ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                self.problems.append(f"request failed: {p.get('errorText')} ({p.get('type')})")
            elif m == "Network.responseReceived":
                r = p["response"]
                if p.get("type") == "Document":
                    self.documents[r["url"]] = r["status"]
                elif r["status"] >= 400:
                    self.problems.append(f"HTTP {r['status']} for {r['url']}")
        self.events.clear()

    def goto(self, url: str, timeout: float = 20) -> int:
        """Navigates and waits for the load event; returns the document's HTTP status.
        `problems` then holds what went wrong while loading this page."""
        self.events.clear()
        self.problems = []
        self.send("Page.navigate", url=url)
        self._drain("Page.loadEventFired", timeout)
        self._drain(None, 0.15)  # late subresource/console events
        self._collect()
        return self.documents.get(self.url(), 0)

    def submit(self, script: str, timeout: float = 60) -> int:
        """Runs `script` (which fills and submits a form) and waits for the next page."""
        self.events.clear()
        self.problems = []
        result = self.send("Runtime.evaluate", expression=script)
        if "exceptionDetails" in result:
            raise RuntimeError(f"form script failed: {result['exceptionDetails'].get('exception', {}).get('description')}")
        self._drain("Page.loadEventFired", timeout)
        self._drain(None, 0.15)
        self._collect()
        return self.documents.get(self.url(), 0)

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def url(self) -> str:
        return self.eval("location.href")

    def text(self) -> str:
        return self.eval("document.body.innerText")

    def html(self) -> str:
        return self.eval("document.documentElement.outerHTML")

    def links(self) -> list[str]:
        return self.eval("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")

    def cookies(self) -> list[dict]:
        return self.send("Network.getCookies")["cookies"]

    def screenshot(self, path: Path) -> None:
        height = int(self.eval("Math.ceil(document.documentElement.scrollHeight)") or 900)
        width = int(self.eval("document.documentElement.clientWidth") or 1366)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)
