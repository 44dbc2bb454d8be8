#!/usr/bin/env python3
"""A stateful fake of the GCP Secret Manager v1 REST API (Python stdlib only), for vsync tests.

Usage: gcp_sm_fake.py PORT [--token T] [--denied-token D] [--refresh-token R] [--max-page-size N] [--delay-ms N]

It serves the paths the Rust client `google-cloud-secretmanager-v1` calls (REST/JSON):
  GET    /v1/projects/{p}/secrets                       list (pageSize, pageToken, filter)
  POST   /v1/projects/{p}/secrets?secretId=ID           create (body: a Secret)
  GET    /v1/projects/{p}/secrets/{s}                   get
  DELETE /v1/projects/{p}/secrets/{s}[?etag=E]          delete (etag checked when given)
  POST   /v1/projects/{p}/secrets/{s}:addVersion        add a version ({"payload":{"data":b64}})
  GET    /v1/projects/{p}/secrets/{s}/versions          list versions
  GET    /v1/projects/{p}/secrets/{s}/versions/{v}:access   read (v = N or "latest")
  POST   /v1/projects/{p}/secrets/{s}/versions/{v}:destroy  destroy a version
and, like Google's OAuth server for an `authorized_user` credential file (token_uri):
  POST   /token   {"grant_type":"refresh_token","refresh_token":R,...} -> {"access_token":T,...}

Rules enforced as the real service does: secret ids ^[A-Za-z0-9_-]{1,255}$, label keys/values,
a replication policy on create, payloads of 1..65536 bytes, `latest` = the newest version (an
access fails with FAILED_PRECONDITION when it is disabled or destroyed), resource names in
responses carry the project *number*, enums are ints when `$alt=json;enum-encoding=int` is asked.
Errors use Google's shape {"error":{"code","message","status"}}. With --token, requests need
`Authorization: Bearer <token>` (missing or unknown -> 401 UNAUTHENTICATED; --denied-token -> 403).

Test controls (never part of the real API), under /_fake/:
  POST /_fake/fail      {"count":N,"status":429|500|503,"retryAfter":S,"match":"substring"}
  GET  /_fake/secret/{p}/{s}      {"labels","versions":[{"version","state","data_b64"}]} or 404
  POST /_fake/set/{p}/{s}?labels=k=v,..   raw body becomes a new version (secret created if missing)
  GET  /_fake/stats     {"requests":N,"addVersion":N,"create":N,"delete":N,"destroy":N,"access":N,
                         "throttled":N,"failed":N}  (injected failures are counted apart)
  POST /_fake/reset
"""

import base64
import json
import re
import sys
import threading
import time
import zlib
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from fake_http import FakeHandler, common_options

SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
PAYLOAD_MAX = 65536
STATES = {"ENABLED": 1, "DISABLED": 2, "DESTROYED": 3}
HTTP_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

OPTS = {"token": None, "denied": None, "refresh": None, "max_page": None}
LOCK = threading.Lock()
STATE = {}  # project id -> {secret id -> secret dict}
FAILS = []  # pending injected failures
STATS = {}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def project_number(p):
    # The real API answers with the project number in resource names, whatever was asked.
    if p.isdigit():
        return p
    return str(100000000000 + zlib.crc32(p.encode()) % 899999999999)


def canonical_project(p):
    for known in STATE:
        if project_number(known) == p:
            return known
    return p


class ApiError(Exception):
    def __init__(self, code, message, status=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or HTTP_STATUS.get(code, "UNKNOWN")
        self.headers = headers or {}


def bump(name):
    STATS[name] = STATS.get(name, 0) + 1


def secret_json(p, sid, s, ints):
    return {
        "name": f"projects/{project_number(p)}/secrets/{sid}",
        "replication": s["replication"],
        "createTime": s["createTime"],
        "labels": s["labels"],
        "etag": f'"{s["etag"]}"',
    }


def version_json(p, sid, v, ints):
    out = {
        "name": f"projects/{project_number(p)}/secrets/{sid}/versions/{v['n']}",
        "createTime": v["createTime"],
        "state": STATES[v["state"]] if ints else v["state"],
        "etag": f'"{v["etag"]}"',
    }
    if v["state"] == "DESTROYED":
        out["destroyTime"] = v["destroyTime"]
    return out


def check_replication(r):
    if not isinstance(r, dict) or not r:
        raise ApiError(400, "Replication policy is required.")
    if "automatic" in r:
        return
    um = r.get("userManaged")
    if isinstance(um, dict) and um.get("replicas"):
        for rep in um["replicas"]:
            if not rep.get("location"):
                raise ApiError(400, "Replica location is required.")
        return
    raise ApiError(400, "Replication policy must be automatic or user managed with replicas.")


def check_labels(labels):
    if not isinstance(labels, dict):
        raise ApiError(400, "Invalid labels.")
    if len(labels) > 64:
        raise ApiError(400, "A secret can have at most 64 labels.")
    for k, v in labels.items():
        if not LABEL_KEY.match(k) or not isinstance(v, str) or not LABEL_VALUE.match(v):
            raise ApiError(400, f"Invalid label: {k!r}.")


def match_filter(s, flt):
    """The subset of the list filter syntax vsync uses: `labels.KEY=VALUE` / `labels.KEY:VALUE`."""
    if not flt:
        return True
    m = re.fullmatch(r"labels\.([a-z][a-z0-9_-]*)\s*[=:]\s*([a-z0-9_-]*)", flt.strip())
    if not m:
        raise ApiError(400, f"Invalid filter: {flt}")
    return s["labels"].get(m.group(1)) == m.group(2)


def page(items, qs):
    size = int((qs.get("pageSize") or ["0"])[0] or 0)
    if size <= 0 or size > 25000:
        size = 25000
    if OPTS["max_page"]:
        size = min(size, OPTS["max_page"])
    start = int((qs.get("pageToken") or ["0"])[0] or 0)
    chunk = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else ""
    return chunk, nxt


def add_version(s, data):
    n = len(s["versions"]) + 1
    s["versions"].append(
        {"n": n, "state": "ENABLED", "data": data, "createTime": now(), "etag": str(time.time_ns())}
    )
    return s["versions"][-1]


def get_secret(p, sid):
    s = STATE.get(p, {}).get(sid)
    if s is None:
        raise ApiError(404, f"Secret [projects/{project_number(p)}/secrets/{sid}] not found or has no versions.")
    return s


def find_version(p, sid, s, v):
    if v == "latest":
        if not s["versions"]:
            raise ApiError(404, f"Secret Version [projects/{project_number(p)}/secrets/{sid}/versions/latest] not found.")
        return s["versions"][-1]
    if not v.isdigit() or not 1 <= int(v) <= len(s["versions"]):
        raise ApiError(404, f"Secret Version [projects/{project_number(p)}/secrets/{sid}/versions/{v}] not found.")
    return s["versions"][int(v) - 1]


def api(method, path, qs, body):
    """One Secret Manager call; returns the JSON answer or raises ApiError. Caller holds LOCK."""
    ints = "json;enum-encoding=int" in (qs.get("$alt") or [""])[0]
    m = re.fullmatch(r"/v1/projects/([^/:]+)/secrets", path)
    if m:
        p = canonical_project(m.group(1))
        if method == "GET":
            bump("list")
            flt = (qs.get("filter") or [""])[0]
            items = [(sid, s) for sid, s in sorted(STATE.get(p, {}).items()) if match_filter(s, flt)]
            chunk, nxt = page(items, qs)
            out = {"secrets": [secret_json(p, sid, s, ints) for sid, s in chunk], "totalSize": len(items)}
            if nxt:
                out["nextPageToken"] = nxt
            return out
        if method == "POST":
            bump("create")
            sid = (qs.get("secretId") or [""])[0]
            if not SECRET_ID.match(sid):
                raise ApiError(400, f"Invalid resource field value in the request: secret_id {sid!r} must match [a-zA-Z_0-9-]{{1,255}}.")
            secret = body or {}
            check_replication(secret.get("replication"))
            labels = secret.get("labels") or {}
            check_labels(labels)
            if sid in STATE.get(p, {}):
                raise ApiError(409, f"Secret [projects/{project_number(p)}/secrets/{sid}] already exists.")
            s = {
                "replication": secret["replication"],
                "labels": labels,
                "createTime": now(),
                "etag": str(time.time_ns()),
                "versions": [],
            }
            STATE.setdefault(p, {})[sid] = s
            return secret_json(p, sid, s, ints)
    m = re.fullmatch(r"/v1/projects/([^/:]+)/secrets/([^/:]+)(:addVersion)?", path)
    if m:
        p, sid, verb = canonical_project(m.group(1)), m.group(2), m.group(3)
        if verb and method == "POST":
            bump("addVersion")
            s = get_secret(p, sid)
            payload = (body or {}).get("payload") or {}
            data = base64.b64decode(payload.get("data", ""))
            if not data:
                raise ApiError(400, "Secret Payload cannot be empty.")
            if len(data) > PAYLOAD_MAX:
                raise ApiError(400, "Secret Payload cannot be larger than 65536 bytes.")
            if "dataCrc32c" in payload:
                raise ApiError(400, "This fake does not check dataCrc32c; do not send it.")
            v = add_version(s, data)
            return version_json(p, sid, v, ints)
        if not verb and method == "GET":
            bump("get")
            return secret_json(p, sid, get_secret(p, sid), ints)
        if not verb and method == "DELETE":
            bump("delete")
            s = get_secret(p, sid)
            etag = (qs.get("etag") or [""])[0]
            if etag and etag.strip('"') != s["etag"]:
                raise ApiError(400, "The etag provided does not match the current etag.", "FAILED_PRECONDITION")
            del STATE[p][sid]
            return {}
    m = re.fullmatch(r"/v1/projects/([^/:]+)/secrets/([^/:]+)/versions", path)
    if m and method == "GET":
        bump("listVersions")
        p, sid = canonical_project(m.group(1)), m.group(2)
        s = get_secret(p, sid)
        items = list(reversed(s["versions"]))  # newest first, as the real API lists them
        chunk, nxt = page(items, qs)
        out = {"versions": [version_json(p, sid, v, ints) for v in chunk], "totalSize": len(items)}
        if nxt:
            out["nextPageToken"] = nxt
        return out
    m = re.fullmatch(r"/v1/projects/([^/:]+)/secrets/([^/:]+)/versions/([^/:]+):(access|destroy)", path)
    if m:
        p, sid, ver, verb = canonical_project(m.group(1)), m.group(2), m.group(3), m.group(4)
        s = get_secret(p, sid)
        v = find_version(p, sid, s, ver)
        name = f"projects/{project_number(p)}/secrets/{sid}/versions/{v['n']}"
        if verb == "access" and method == "GET":
            bump("access")
            if v["state"] != "ENABLED":
                raise ApiError(400, f"Secret Version [{name}] is in {v['state']} state.", "FAILED_PRECONDITION")
            return {"name": name, "payload": {"data": base64.b64encode(v["data"]).decode()}}
        if verb == "destroy" and method == "POST":
            bump("destroy")
            if v["state"] == "DESTROYED":
                raise ApiError(400, f"Secret Version [{name}] is already in DESTROYED state.", "FAILED_PRECONDITION")
            v["state"], v["data"], v["destroyTime"] = "DESTROYED", b"", now()
            return version_json(p, sid, v, ints)
    raise ApiError(404, f"The requested URL {path} was not found on this server.")


class Handler(FakeHandler):
    METHODS = ("GET", "POST", "DELETE", "PATCH")

    def send(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, e):
        self.send(e.code, {"error": {"code": e.code, "message": e.message, "status": e.status}}, e.headers)

    def body(self):
        return self.raw_body()

    def route(self, method):
        url = urlsplit(self.path)
        path, qs = unquote(url.path), parse_qs(url.query, keep_blank_values=True)
        raw = self.body()
        if path.startswith("/_fake/"):
            return self.control(method, path, qs, raw)
        if path == "/token" and method == "POST":
            return self.token(raw)
        if not path.startswith("/v1/"):
            return self.send(200, {"fake": "gcp secret manager"})
        with LOCK:
            bump("requests")
            try:
                self.authorize()
                for f in FAILS:
                    if f["count"] > 0 and f.get("match", "") in f"{method} {path}":
                        f["count"] -= 1
                        bump("throttled" if f["status"] == 429 else "failed")
                        hdrs = {"Retry-After": str(f["retryAfter"])} if f.get("retryAfter") is not None else {}
                        msg = "Quota exceeded for quota metric 'Access requests'." if f["status"] == 429 else "Internal error encountered."
                        raise ApiError(f["status"], msg, headers=hdrs)
                body = json.loads(raw) if raw else None
                out = api(method, path, qs, body)
            except ApiError as e:
                return self.send_error_json(e)
            except (ValueError, KeyError, TypeError) as e:
                return self.send_error_json(ApiError(400, f"Invalid JSON payload received. {type(e).__name__}"))
        self.send(200, out)

    def authorize(self):
        if not OPTS["token"]:
            return
        auth = self.headers.get("Authorization") or ""
        tok = auth[7:] if auth.startswith("Bearer ") else None
        if tok and tok == OPTS["denied"]:
            raise ApiError(403, "Permission 'secretmanager.secrets.list' denied for resource (or it may not exist).")
        if tok != OPTS["token"]:
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")

    def token(self, raw):
        try:
            req = json.loads(raw) if raw.strip().startswith(b"{") else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        except ValueError:
            req = {}
        if req.get("grant_type") != "refresh_token" or not OPTS["refresh"] or req.get("refresh_token") != OPTS["refresh"]:
            return self.send(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        self.send(200, {"access_token": OPTS["token"], "expires_in": 3599, "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/cloud-platform"})

    def control(self, method, path, qs, raw):
        with LOCK:
            if path == "/_fake/reset" and method == "POST":
                STATE.clear(), FAILS.clear(), STATS.clear()
                return self.send(200, {})
            if path == "/_fake/fail" and method == "POST":
                f = json.loads(raw)
                f.setdefault("status", 500)
                FAILS.append(f)
                return self.send(200, {})
            if path == "/_fake/stats":
                return self.send(200, dict(STATS))
            m = re.fullmatch(r"/_fake/(secret|set)/([^/]+)/([^/]+)", path)
            if m and m.group(1) == "secret" and method == "GET":
                s = STATE.get(m.group(2), {}).get(m.group(3))
                if s is None:
                    return self.send(404, {})
                vers = [{"version": v["n"], "state": v["state"], "data_b64": base64.b64encode(v["data"]).decode()} for v in s["versions"]]
                return self.send(200, {"labels": s["labels"], "replication": s["replication"], "versions": vers})
            if m and m.group(1) == "set" and method == "POST":
                p, sid = m.group(2), m.group(3)
                s = STATE.setdefault(p, {}).get(sid)
                if s is None:
                    labels = dict(kv.split("=", 1) for kv in (qs.get("labels") or [""])[0].split(",") if kv)
                    s = {"replication": {"automatic": {}}, "labels": labels, "createTime": now(), "etag": str(time.time_ns()), "versions": []}
                    STATE[p][sid] = s
                add_version(s, raw)
                return self.send(200, {})
        self.send(404, {})



def main():
    args = common_options(sys.argv[1:])
    port = int(args.pop(0))
    flags = {"--token": "token", "--denied-token": "denied", "--refresh-token": "refresh", "--max-page-size": "max_page"}
    while args:
        k = args.pop(0)
        if k not in flags or not args:
            sys.exit(f"unknown or incomplete option {k}")
        v = args.pop(0)
        OPTS[flags[k]] = int(v) if k == "--max-page-size" else v
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
