"""Open a page in headless Chromium and report what a reader sees: a full-page screenshot and DOM facts.

Driven over the DevTools protocol (tornado's websocket client, which Jupyter already installs) instead of
``--screenshot``/``--dump-dom`` with a virtual-time budget: MathJax loads its parts with timers, and virtual
time fires those timeouts before the files have arrived ("Math Processing Error"). Here the page runs in
real time and the test waits until MathJax's queue is idle (``READY``, for lessons) or, for a page without
MathJax, until it and its images have loaded (``LOADED``), then looks.
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]

READY = """(() => {
  const hub = window.MathJax && window.MathJax.Hub;
  if (document.readyState !== 'complete' || !hub || !hub.queue) return false;
  return hub.queue.pending === 0 && !hub.queue.running
         && document.querySelectorAll('script[type^="math/tex"]').length > 0
         && [...document.querySelectorAll('script[type^="math/tex"]')].every(s => s.MathJax && s.MathJax.state === 2);
})()"""

LOADED = """(() => document.readyState === 'complete' && [...document.images].every(i => i.complete))()"""

FACTS = """(() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height}; };
  return {
    formulas: document.querySelectorAll('script[type^="math/tex"]').length,
    rendered: [...document.querySelectorAll('script[type^="math/tex"]')]
                .filter(s => s.previousSibling && s.previousSibling.classList
                             && (s.previousSibling.classList.contains('MathJax')
                                 || s.previousSibling.classList.contains('MathJax_Display'))).length,
    displays: [...document.querySelectorAll('.MathJax_Display')].map(box),
    errors: document.querySelectorAll('.MathJax_Error').length
            + (document.body.innerText.match(/Math Processing Error/g) || []).length,
    images: [...document.images].filter(i => i.src.startsWith('data:image/png'))
              .map(i => ({...box(i), natural: i.naturalWidth})),
    height: document.documentElement.scrollHeight,
    width: document.documentElement.scrollWidth,
    viewport: innerWidth,
    wider: [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
             .map(e => e.tagName + (e.id ? '#' + e.id : '')),
  };
})()"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


async def _drive(ws_url: str, url: str, width: int, timeout: float, ready: str, mobile: bool) -> tuple[bytes, dict]:
    import base64

    from tornado.websocket import websocket_connect

    ws = await websocket_connect(ws_url, max_message_size=512 << 20)
    counter = iter(range(1, 1 << 30))
    requests: list[str] = []  # every URL the page asked for (DevTools Network domain), in order

    async def call(method: str, **params):
        msg_id = next(counter)
        await ws.write_message(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            raw = await ws.read_message()
            if raw is None:
                raise RuntimeError("Chromium closed the DevTools connection")
            msg = json.loads(raw)
            if msg.get("method") == "Network.requestWillBeSent":
                requests.append(msg["params"]["request"]["url"])
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    async def evaluate(expr: str):
        return (await call("Runtime.evaluate", expression=expr, returnByValue=True))["result"].get("value")

    await call("Page.enable")
    await call("Network.enable")
    await call("Emulation.setDeviceMetricsOverride", width=width, height=1000, deviceScaleFactor=1, mobile=mobile)
    await call("Page.navigate", url=url)
    deadline = time.monotonic() + timeout
    while not await evaluate(ready):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    facts = await evaluate(FACTS)
    facts["ready"] = bool(await evaluate(ready))
    height = int(min(facts["height"], 30000))
    shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
    facts["requests"] = requests
    ws.close()
    return base64.b64decode(shot["data"]), facts


def look(page: Path, profile: Path, width: int = 1100, timeout: float = 60, ready: str = READY,
         mobile: bool = False) -> tuple[bytes, dict]:
    """``(screenshot PNG bytes, DOM facts)`` of ``page`` as headless Chromium renders it; ``facts["requests"]``
    lists the URL of every request the page made (``data:`` images included), from DevTools' Network domain.

    ``ready``: the expression awaited before looking (``READY``: MathJax done; ``LOADED``: page and images loaded).
    ``mobile``: emulate a phone, which honours the page's viewport meta tag; ``facts["wider"]`` names the elements
    reaching past the viewport's width."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("Chromium is not installed (Debian: apt-get install -y chromium)")
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    found: list[str] = []

    def read_stderr():
        for line in proc.stderr:
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m and not found:
                found.append(m.group(1))

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        start = time.monotonic()
        while not found and time.monotonic() - start < 30 and proc.poll() is None:
            time.sleep(0.05)
        if not found:
            raise RuntimeError("Chromium did not open its DevTools port")
        port = re.search(r"ws://[^:/]+:(\d+)/", found[0]).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        return asyncio.run(_drive(ws_url, page.resolve().as_uri(), width, timeout, ready, mobile))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def off_machine(requests: list[str]) -> list[str]:
    """The requests that would leave the machine: anything but ``file:``, ``data:``, ``blob:`` and ``about:``."""
    return [url for url in requests if not url.startswith(("file:", "data:", "blob:", "about:"))]


def ink(png: bytes, box: dict) -> dict:
    """What is drawn inside ``box`` of a screenshot: the share of non-white pixels and the number of colours."""
    import io

    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    x0, y0 = max(0, int(box["x"])), max(0, int(box["y"]))
    x1, y1 = min(img.shape[1], int(box["x"] + box["w"])), min(img.shape[0], int(box["y"] + box["h"]))
    if x1 <= x0 or y1 <= y0:
        return {"ink": 0.0, "colours": 0}
    pixels = img[y0:y1, x0:x1].reshape(-1, 3)
    non_white = int((pixels.min(axis=1) < 235).sum())
    return {"ink": non_white / len(pixels), "colours": len(np.unique(pixels, axis=0))}
