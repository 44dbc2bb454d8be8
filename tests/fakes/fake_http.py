"""HTTP plumbing shared by the fakes in this folder.

Every fake speaks HTTP/1.1 with keep-alive, logs nothing, and hands each method it serves to
one `route(method)`. A fake lists the methods it serves in `METHODS`: anything else keeps the
standard library's 501 answer, as a real service that lacks the verb would refuse it.

Options every fake takes (removed from its argument list by `common_options` before the fake
reads its own):
  --delay-ms N   every request outside /_fake/ waits N ms before it is served (a far-away
                 service, for the fan-out tests and scripts/bench-fanout)
Served by every fake:
  GET /_fake/timeline   JSON list of {"start","end","method","path"} (seconds since the epoch)
                        of every request outside /_fake/, so a test can see which requests of
                        two services were in flight at the same time
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

_TIMELINE = []
_TIMELINE_LOCK = threading.Lock()


def common_options(argv):
    """`argv` without the options every fake takes, which are applied here."""
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] == "--delay-ms" and i + 1 < len(argv):
            FakeHandler.DELAY_MS = int(argv[i + 1])
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return rest


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    METHODS = ("GET", "PUT", "POST", "DELETE")
    DELAY_MS = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in cls.METHODS:
            if f"do_{method}" not in cls.__dict__:
                setattr(cls, f"do_{method}", lambda self, m=method: self.serve(m))

    def log_message(self, *args):
        pass

    def raw_body(self):
        """The request body as bytes (empty without a Content-Length)."""
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def serve(self, method):
        path = self.path.split("?", 1)[0]
        if path.startswith("/_fake/"):
            if method == "GET" and path == "/_fake/timeline":
                with _TIMELINE_LOCK:
                    data = json.dumps(_TIMELINE).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            return self.route(method)
        start = time.time()
        if self.DELAY_MS:
            time.sleep(self.DELAY_MS / 1000)
        try:
            return self.route(method)
        finally:
            with _TIMELINE_LOCK:
                _TIMELINE.append({"start": start, "end": time.time(), "method": method, "path": path})

    def route(self, method):
        raise NotImplementedError(method)
