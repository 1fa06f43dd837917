"""A headless Chromium driven over the DevTools protocol: what the browser
test of `htable show` (test_show.py) and its benchmark (bench/show.py)
share.  CHROMIUM is Debian's chromium, or None; websocket is
python3-websocket's module, or None."""
import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

try:
    import websocket
except ImportError:
    websocket = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium and its first tab, over the DevTools
    protocol."""

    def __init__(self, tmp):
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--remote-debugging-port=0",
             "--user-data-dir=" + os.path.join(tmp, "profile"),
             "--window-size=1600,1100", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            self.proc.kill()
            raise RuntimeError("chromium did not start its DevTools")
        # drain chromium's chatter, or it blocks on a full pipe
        self.proc.stderr.close()
        port = re.match(r"ws://[^:]+:(\d+)/", url).group(1)
        with urllib.request.urlopen("http://127.0.0.1:%s/json/list" %
                                    port, timeout=30) as r:
            tabs = json.load(r)
        page = [t for t in tabs if t.get("type") == "page"][0]
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=120,
            suppress_origin=True)
        self.n = 0

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page threw: %s: %s" % (
                expr, r["exceptionDetails"].get("exception", {}).get(
                    "description", r["exceptionDetails"])))
        return r["result"].get("value")

    def load(self, path):
        t0 = time.time()
        self.call("Page.navigate", url="file://" + os.path.abspath(path))
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if self.eval("!!(window.htShow && htShow.ready)"):
                    return time.time() - t0
            except RuntimeError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the page never got ready: " + path)

    def hover(self, x, y):
        self.call("Input.dispatchMouseEvent", type="mouseMoved",
                  x=x, y=y, button="none")

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", format="png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
