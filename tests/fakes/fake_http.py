"""HTTP plumbing shared by the fakes in this folder.

Every fake speaks HTTP/1.1 with keep-alive, logs nothing, and hands each method it serves to
one `route(method)`. A fake lists the methods it serves in `METHODS`: anything else keeps the
standard library's 501 answer, as a real service that lacks the verb would refuse it.
"""

from http.server import BaseHTTPRequestHandler


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    METHODS = ("GET", "PUT", "POST", "DELETE")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in cls.METHODS:
            if f"do_{method}" not in cls.__dict__:
                setattr(cls, f"do_{method}", lambda self, m=method: self.route(m))

    def log_message(self, *args):
        pass

    def raw_body(self):
        """The request body as bytes (empty without a Content-Length)."""
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self, method):
        raise NotImplementedError(method)
