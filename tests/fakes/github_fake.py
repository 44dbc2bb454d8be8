#!/usr/bin/env python3
"""A small stateful fake of GitHub's Actions-secrets REST API, for vsync's tests.

Usage: python3 tests/fakes/github_fake.py PORT [--token TOKEN] [--repo OWNER/NAME[:ENV,ENV]]... [--delay-ms N]

Defaults: token `test-token`, repos `acme/app` with environments `dev` and `production`.
Every sealed box received is decrypted with the fake's private key; the plaintext is kept so tests can
assert what GitHub would store (GET /_fake/plaintext/...). Python stdlib + PyNaCl only.

Served (repository and environment scope, both the current and the legacy repository-id form):
  GET    /repos/{o}/{r}                                       (id lookup)
  GET    /repos/{o}/{r}/actions/secrets/public-key
  GET    /repos/{o}/{r}/actions/secrets?per_page=&page=
  GET|PUT|DELETE /repos/{o}/{r}/actions/secrets/{NAME}
  ... /repos/{o}/{r}/environments/{env}/secrets/...        (same shapes)
  ... /repositories/{id}/environments/{env}/secrets/...    (legacy form)
Test knobs (no auth needed):
  GET  /_fake/plaintext/{o}/{r}/{NAME}            repository secret plaintext (text/plain), 404 if absent
  GET  /_fake/plaintext/{o}/{r}/{env}/{NAME}      environment secret plaintext
  POST /_fake/fail  {"count":N,"status":429,"retry_after":1}   next N API requests fail with that status
  POST /_fake/fail  {"repo":"o/r","status":500}   every API request for that repo fails, until reset
  POST /_fake/reset                               clear secrets, failures and the request log
  GET  /_fake/requests                            JSON list of "METHOD path" seen (API requests only)
"""
import base64
import json
import re
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

from fake_http import FakeHandler, common_options

from nacl.public import PrivateKey, SealedBox

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOCK = threading.Lock()


class Scope:
    """One secrets scope (a repository or one of its environments) with its own keypair."""

    def __init__(self, key_id):
        self.sk = PrivateKey.generate()
        self.key_id = key_id
        self.secrets = {}  # NAME -> {"plaintext": bytes, "created_at", "updated_at"}


class State:
    def __init__(self, token, repos):
        self.token = token
        self.repos = {}  # "o/r" -> {"id", "scope", "envs": {env: Scope}}
        self.by_id = {}
        for i, (full, envs) in enumerate(repos):
            rid = 1000 + i
            entry = {"id": rid, "scope": Scope(f"repo-{rid}-k1"),
                     "envs": {e: Scope(f"env-{rid}-{e}-k1") for e in envs}}
            self.repos[full.lower()] = entry
            self.by_id[rid] = full.lower()
        self.reset()

    def reset(self):
        self.fail_count = 0
        self.fail_status = 429
        self.fail_retry_after = 1
        self.fail_repos = {}
        self.requests = []
        for entry in self.repos.values():
            entry["scope"].secrets.clear()
            for s in entry["envs"].values():
                s.secrets.clear()


STATE = None


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Handler(FakeHandler):
    server_version = "github-fake/1"

    # ---- helpers -------------------------------------------------------------------------
    def send(self, status, body=None, headers=None, ctype="application/json"):
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def not_found(self):
        self.send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def body(self):
        raw = self.raw_body()
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    # ---- dispatch -------------------------------------------------------------------------
    def route(self, method):
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["_fake"]:
            return self.fake_api(method, parts[1:])
        if not parts:
            return self.send(200, {"fake": "github"})
        with LOCK:
            STATE.requests.append(f"{method} {url.path}")
        auth = self.headers.get("Authorization", "")
        tok = auth.split(" ", 1)[1].strip() if " " in auth else ""
        if auth.split(" ", 1)[0].lower() not in ("bearer", "token") or tok != STATE.token:
            self.body()
            return self.send(401, {"message": "Bad credentials"})
        # resolve repository
        if parts[0] == "repos" and len(parts) >= 3:
            full = f"{parts[1]}/{parts[2]}".lower()
            rest = parts[3:]
        elif parts[0] == "repositories" and len(parts) >= 2 and parts[1].isdigit():
            full = STATE.by_id.get(int(parts[1]), "")
            rest = parts[2:]
        else:
            self.body()
            return self.not_found()
        entry = STATE.repos.get(full)
        # injected failures
        with LOCK:
            if full in STATE.fail_repos:
                self.body()
                return self.send(STATE.fail_repos[full], {"message": "Server Error"})
            if STATE.fail_count > 0:
                STATE.fail_count -= 1
                self.body()
                hdr = {"Retry-After": str(STATE.fail_retry_after)} if STATE.fail_status == 429 else {}
                if STATE.fail_status == 429:
                    hdr["X-RateLimit-Remaining"] = "0"
                return self.send(STATE.fail_status, {"message": "API rate limit exceeded"}, hdr)
        if entry is None:
            self.body()
            return self.not_found()
        if not rest and method == "GET":
            return self.send(200, {"id": entry["id"], "name": full.split("/")[1], "full_name": full})
        if rest[:2] == ["actions", "secrets"]:
            return self.secrets(method, entry["scope"], rest[2:], url)
        if len(rest) >= 3 and rest[0] == "environments" and rest[2] == "secrets":
            scope = entry["envs"].get(rest[1])
            if scope is None:
                self.body()
                return self.not_found()
            return self.secrets(method, scope, rest[3:], url)
        self.body()
        return self.not_found()

    def secrets(self, method, scope, rest, url):
        if rest == ["public-key"] and method == "GET":
            pk = base64.b64encode(bytes(scope.sk.public_key)).decode()
            return self.send(200, {"key_id": scope.key_id, "key": pk})
        if not rest and method == "GET":
            q = parse_qs(url.query)
            per_page = max(1, min(100, int(q.get("per_page", ["30"])[0])))
            page = max(1, int(q.get("page", ["1"])[0]))
            with LOCK:
                names = sorted(scope.secrets)
                items = [{"name": n, "created_at": scope.secrets[n]["created_at"],
                          "updated_at": scope.secrets[n]["updated_at"]}
                         for n in names[(page - 1) * per_page: page * per_page]]
            hdr = {}
            if page * per_page < len(names):
                nxt = f"http://{self.headers.get('Host')}{url.path}?per_page={per_page}&page={page + 1}"
                hdr["Link"] = f'<{nxt}>; rel="next"'
            return self.send(200, {"total_count": len(names), "secrets": items}, hdr)
        if len(rest) != 1:
            self.body()
            return self.not_found()
        name = rest[0].upper()
        if method == "GET":
            with LOCK:
                s = scope.secrets.get(name)
            if s is None:
                return self.not_found()
            return self.send(200, {"name": name, "created_at": s["created_at"], "updated_at": s["updated_at"]})
        if method == "DELETE":
            self.body()
            with LOCK:
                existed = scope.secrets.pop(name, None) is not None
            return self.send(204) if existed else self.not_found()
        if method == "PUT":
            body = self.body()
            if not NAME_RE.match(name) or name.startswith("GITHUB_"):
                return self.send(422, {"message": "Secret names can only contain alphanumeric characters "
                                                  "([a-z], [A-Z], [0-9]) or underscores (_); must not start with GITHUB_"})
            if not isinstance(body, dict) or body.get("key_id") != scope.key_id:
                return self.send(422, {"message": "Invalid request: key_id does not match"})
            try:
                plain = SealedBox(scope.sk).decrypt(base64.b64decode(body.get("encrypted_value", ""), validate=True))
            except Exception:
                return self.send(422, {"message": "Invalid request: encrypted_value could not be decrypted"})
            with LOCK:
                old = scope.secrets.get(name)
                ts = now()
                scope.secrets[name] = {"plaintext": plain, "created_at": old["created_at"] if old else ts,
                                       "updated_at": ts}
            return self.send(204 if old else 201, None if old else {})
        self.body()
        return self.send(405, {"message": "Method Not Allowed"})

    def fake_api(self, method, parts):
        if method == "POST" and parts == ["reset"]:
            self.body()
            with LOCK:
                STATE.reset()
            return self.send(200, {"ok": True})
        if method == "POST" and parts == ["fail"]:
            b = self.body() or {}
            with LOCK:
                status = int(b.get("status", 429))
                if b.get("repo"):
                    STATE.fail_repos[b["repo"].lower()] = status
                else:
                    STATE.fail_count = int(b.get("count", 1))
                    STATE.fail_status = status
                    STATE.fail_retry_after = int(b.get("retry_after", 1))
            return self.send(200, {"ok": True})
        if method == "GET" and parts == ["requests"]:
            with LOCK:
                return self.send(200, list(STATE.requests))
        if method == "GET" and parts[:1] == ["plaintext"] and len(parts) in (4, 5):
            entry = STATE.repos.get(f"{parts[1]}/{parts[2]}".lower())
            if entry is None:
                return self.not_found()
            scope = entry["scope"] if len(parts) == 4 else entry["envs"].get(parts[3])
            if scope is None:
                return self.not_found()
            with LOCK:
                s = scope.secrets.get(parts[-1].upper())
            if s is None:
                return self.not_found()
            return self.send(200, s["plaintext"], ctype="application/octet-stream")
        self.body()
        return self.not_found()


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    argv = common_options(argv)
    port = int(argv[0])
    token = "test-token"
    repos = []
    i = 1
    while i < len(argv):
        if argv[i] == "--token":
            token = argv[i + 1]
            i += 2
        elif argv[i] == "--repo":
            spec = argv[i + 1]
            full, _, envs = spec.partition(":")
            repos.append((full, [e for e in envs.split(",") if e]))
            i += 2
        else:
            print(f"unknown argument {argv[i]}", file=sys.stderr)
            return 2
    if not repos:
        repos = [("acme/app", ["dev", "production"])]
    global STATE
    STATE = State(token, repos)
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    print(f"github fake listening on 127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
