#!/usr/bin/env python3
"""A stateful fake of Azure Key Vault (secrets data plane) plus the Entra ID token endpoint.

There is no Key Vault emulator on the allowed registries, so this speaks the real REST API that
`azure_security_keyvault_secrets` 1.0 and `azure_identity`'s ClientSecretCredential call, with
the real rules and error shapes, so the Rust SDK can be pointed at it unchanged.

Usage: azure_kv_fake.py PORT --ca-out PATH [--tenant T] [--client-id C] [--client-secret S] [--delay-ms N]

- Serves HTTPS only (the SDK's bearer policy refuses http). A throwaway CA and a leaf
  certificate for 127.0.0.1/localhost are generated at start-up with `cryptography`; the CA
  PEM is written to --ca-out *before* the port is bound, so "port open" means "CA ready".
- POST /{tenant}/oauth2/v2.0/token (client_credentials): issues a random bearer token when the
  client id and secret match; the vault then accepts only tokens it issued.
- Key Vault challenge flow: a request without a valid bearer gets 401 with
  `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}",
  resource="https://vault.azure.net"`.
- Data plane (api-version required): PUT/GET /secrets/{name}[/{version}], GET /secrets (paged
  with nextLink), GET /secrets/{name}/versions, DELETE /secrets/{name} (soft delete),
  GET/DELETE /deletedsecrets/{name}, GET /deletedsecrets, POST /deletedsecrets/{name}/recover.
  Names follow ^[0-9A-Za-z-]{1,127}$ and compare case-insensitively; setting a soft-deleted
  name is 409 Conflict; errors are {"error":{"code":...,"message":...}}.
- Control endpoints for tests (no auth, under /_fake/): inject failures, read stored plaintext
  and tags, change a value behind the client's back, soft-delete a name, request counters.
"""

import argparse
import json
import re
import secrets
import ssl
import sys
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from fake_http import FakeHandler, common_options
from fake_tls import make_certs

NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")
VALUE_MAX = 25 * 1024  # Key Vault's limit on a secret value
TAGS_MAX = 15
PAGE = 25  # Key Vault's default page size for list operations
RECOVERY_LEVEL = "Recoverable+Purgeable"
RECOVERABLE_DAYS = 90

LOCK = threading.Lock()
STATE = {
    "secrets": {},  # lower(name) -> {"name", "versions": [bundle...]}
    "deleted": {},  # lower(name) -> {"name", "versions", "deletedDate"}
    "tokens": set(),
    "fail": [],  # [{"status", "retry_after", "method", "path_re"}] consumed in order
    "counts": {},  # "METHOD kind" -> n (authorized data-plane requests)
}


def now_s():
    return int(time.time())


def kv_error(code, message, inner=None):
    err = {"code": code, "message": message}
    if inner:
        err["innererror"] = {"code": inner}
    return {"error": err}


def not_found(name):
    return kv_error(
        "SecretNotFound",
        f"A secret with (name/id) {name} was not found in this key vault. If you recently "
        "deleted this secret you may be able to recover it using the correct recovery command. "
        "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
    )


class Handler(FakeHandler):
    server_version = "azure-kv-fake"
    METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")

    # ---- plumbing -------------------------------------------------------------------------

    def base(self):
        return f"https://{self.headers.get('Host', '127.0.0.1')}"

    def body(self):
        return self.raw_body()

    def send(self, status, obj=None, headers=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def route(self, method):
        url = urlsplit(self.path)
        path = url.path
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        raw = self.body()
        try:
            if path == "/healthz":
                return self.send(200, {"ok": True})
            if path.startswith("/_fake/"):
                return self.control(method, path[len("/_fake/") :], raw)
            m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
            if m and method == "POST":
                return self.token(m.group(1), raw)
            return self.data_plane(method, path, query, raw)
        except Exception as e:  # a fake bug must show up as a 500, not a hang
            return self.send(500, kv_error("InternalServerError", f"fake: {type(e).__name__}: {e}"))

    # ---- Entra ID token endpoint -----------------------------------------------------------

    def token(self, tenant, raw):
        a = self.server.args
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        if tenant != a.tenant:
            return self.send(
                400,
                {
                    "error": "invalid_request",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                    "error_codes": [90002],
                },
            )
        if form.get("grant_type") != "client_credentials" or not form.get("scope"):
            return self.send(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "AADSTS900144: The request body must contain grant_type and scope.",
                    "error_codes": [900144],
                },
            )
        if form.get("client_id") != a.client_id:
            return self.send(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found in the directory.",
                    "error_codes": [700016],
                },
            )
        if form.get("client_secret") != a.client_secret:
            return self.send(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                    "error_codes": [7000215],
                },
            )
        tok = "fake-" + secrets.token_urlsafe(24)
        with LOCK:
            STATE["tokens"].add(tok)
        return self.send(
            200,
            {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": tok},
        )

    # ---- Key Vault data plane --------------------------------------------------------------

    def challenge(self, message):
        h = {
            "WWW-Authenticate": f'Bearer authorization="https://login.microsoftonline.com/{self.server.args.tenant}", resource="https://vault.azure.net"'
        }
        return self.send(401, kv_error("Unauthorized", message), h)

    def data_plane(self, method, path, query, raw):
        auth = self.headers.get("Authorization", "")
        if not auth:
            return self.challenge("AKV10000: Request is missing a Bearer or PoP token.")
        tok = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        with LOCK:
            known = tok in STATE["tokens"]
        if not known:
            return self.challenge("AKV10032: Invalid issuer. The token was not issued by this directory.")
        if not query.get("api-version"):
            return self.send(
                400,
                kv_error("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."),
            )
        segs = path.rstrip("/").split("/")
        if len(segs) > 2:
            segs[2] = "{}"  # count by operation, not by name
        kind = "/".join(segs)
        with LOCK:
            key = f"{method} {kind}"
            STATE["counts"][key] = STATE["counts"].get(key, 0) + 1
            fail = None
            for f in STATE["fail"]:
                if (not f.get("method") or f["method"] == method) and re.search(f.get("path_re") or "", path):
                    fail = f
                    break
            if fail is not None:
                if fail["count"] > 0:
                    fail["count"] -= 1
                    if fail["count"] == 0:
                        STATE["fail"].remove(fail)
                # count < 0: fail forever
        if fail is not None:
            st = fail["status"]
            if st == 429:
                return self.send(
                    429,
                    kv_error("Throttled", "Request was not allowed because application has exceeded the rate limit."),
                    {"Retry-After": str(fail.get("retry_after", 1))},
                )
            return self.send(st, kv_error("InternalServerError", "The service encountered an internal error."))

        parts = [p for p in path.split("/") if p != ""]
        if not parts:
            return self.send(404, kv_error("NotFound", "The requested resource does not exist."))
        if parts[0] == "secrets":
            if len(parts) == 1 and method == "GET":
                return self.list_secrets(query, "/secrets", self.live_items())
            name = parts[1] if len(parts) > 1 else ""
            if not NAME_RE.fullmatch(name):
                return self.send(400, kv_error("BadParameter", f"The request URI contains an invalid name: {name}"))
            rest = parts[2:]
            if method == "PUT" and not rest:
                return self.set_secret(name, raw)
            if method == "GET" and len(rest) <= 1 and rest != ["versions"]:
                return self.get_secret(name, rest[0] if rest else None)
            if method == "GET" and rest == ["versions"]:
                return self.list_versions(name, query)
            if method == "PATCH" and len(rest) <= 1:
                return self.update_secret(name, rest[0] if rest else None, raw)
            if method == "DELETE" and not rest:
                return self.delete_secret(name)
        if parts[0] == "deletedsecrets":
            if len(parts) == 1 and method == "GET":
                return self.list_secrets(query, "/deletedsecrets", self.deleted_items())
            name = parts[1]
            rest = parts[2:]
            if method == "GET" and not rest:
                return self.get_deleted(name)
            if method == "DELETE" and not rest:
                return self.purge(name)
            if method == "POST" and rest == ["recover"]:
                return self.recover(name)
        return self.send(405, kv_error("MethodNotAllowed", f"{method} {path} is not supported."))

    def bundle_out(self, name, b, with_value=True):
        out = {
            "id": f"{self.base()}/secrets/{name}/{b['version']}",
            "attributes": {
                "enabled": b["enabled"],
                "created": b["created"],
                "updated": b["updated"],
                "recoveryLevel": RECOVERY_LEVEL,
                "recoverableDays": RECOVERABLE_DAYS,
            },
            "tags": dict(b["tags"]),
        }
        if b.get("contentType") is not None:
            out["contentType"] = b["contentType"]
        if with_value:
            out["value"] = b["value"]
        return out

    def deleted_out(self, d, with_value=False):
        latest = d["versions"][-1]
        out = self.bundle_out(d["name"], latest, with_value)
        out["recoveryId"] = f"{self.base()}/deletedsecrets/{d['name']}"
        out["deletedDate"] = d["deletedDate"]
        out["scheduledPurgeDate"] = d["deletedDate"] + RECOVERABLE_DAYS * 86400
        return out

    def set_secret(self, name, raw):
        ctype = self.headers.get("Content-Type", "")
        if "application/json" not in ctype:
            return self.send(400, kv_error("BadParameter", "The request content type must be application/json."))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return self.send(400, kv_error("BadParameter", "The request body is not valid JSON."))
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return self.send(400, kv_error("BadParameter", "Property 'value' is required and must be a string."))
        value = body["value"]
        if len(value.encode()) > VALUE_MAX:
            return self.send(400, kv_error("BadParameter", "Secret value is too large (the limit is 25 KB)."))
        tags = body.get("tags") or {}
        if not isinstance(tags, dict) or len(tags) > TAGS_MAX or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 512 and len(v) <= 256 for k, v in tags.items()
        ):
            return self.send(400, kv_error("BadParameter", "Invalid tags: at most 15, names up to 512 and values up to 256 characters."))
        attrs = body.get("attributes") or {}
        with LOCK:
            if name.lower() in STATE["deleted"]:
                return self.send(
                    409,
                    kv_error(
                        "Conflict",
                        f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
                        "ObjectIsDeletedButRecoverable",
                    ),
                )
            b = store_version(name, value, tags, body.get("contentType"), attrs.get("enabled", True))
            entry = STATE["secrets"][name.lower()]
        return self.send(200, self.bundle_out(entry["name"], b))

    def get_secret(self, name, version):
        with LOCK:
            e = STATE["secrets"].get(name.lower())
            b = None
            if e:
                if version:
                    b = next((v for v in e["versions"] if v["version"] == version), None)
                else:
                    b = e["versions"][-1]
        if b is None:
            return self.send(404, not_found(name))
        if not b["enabled"]:
            return self.send(403, kv_error("Forbidden", f"Operation get is not allowed on a disabled secret."))
        return self.send(200, self.bundle_out(e["name"], b))

    def update_secret(self, name, version, raw):
        body = json.loads(raw or b"{}")
        with LOCK:
            e = STATE["secrets"].get(name.lower())
            if not e:
                return self.send(404, not_found(name))
            b = e["versions"][-1] if not version else next((v for v in e["versions"] if v["version"] == version), None)
            if b is None:
                return self.send(404, not_found(name))
            if "tags" in body:
                b["tags"] = dict(body["tags"] or {})
            if "contentType" in body:
                b["contentType"] = body["contentType"]
            b["updated"] = now_s()
        return self.send(200, self.bundle_out(e["name"], b, with_value=False))

    def live_items(self):
        with LOCK:
            rows = []
            for e in STATE["secrets"].values():
                b = e["versions"][-1]
                item = self.bundle_out(e["name"], b, with_value=False)
                item["id"] = f"{self.base()}/secrets/{e['name']}"
                rows.append(item)
        return sorted(rows, key=lambda r: r["id"].lower())

    def deleted_items(self):
        with LOCK:
            rows = [self.deleted_out(d) for d in STATE["deleted"].values()]
        for r in rows:
            r["id"] = r["id"].rsplit("/", 1)[0]
        return sorted(rows, key=lambda r: r["id"].lower())

    def list_versions(self, name, query):
        with LOCK:
            e = STATE["secrets"].get(name.lower())
            rows = [] if not e else [self.bundle_out(e["name"], b, with_value=False) for b in e["versions"]]
        if not e:
            return self.send(404, not_found(name))
        return self.list_secrets(query, f"/secrets/{name}/versions", rows)

    def list_secrets(self, query, path, rows):
        try:
            size = int(query.get("maxresults") or PAGE)
        except ValueError:
            return self.send(400, kv_error("BadParameter", "maxresults must be an integer."))
        if not 1 <= size <= 25:
            return self.send(400, kv_error("BadParameter", "maxresults must be between 1 and 25."))
        skip = int(query.get("$skiptoken") or 0)
        page = rows[skip : skip + size]
        out = {"value": page, "nextLink": None}
        if skip + size < len(rows):
            out["nextLink"] = (
                f"{self.base()}{path}?api-version={query['api-version']}&$skiptoken={skip + size}&maxresults={size}"
            )
        return self.send(200, out)

    def delete_secret(self, name):
        with LOCK:
            e = STATE["secrets"].pop(name.lower(), None)
            if e:
                d = {"name": e["name"], "versions": e["versions"], "deletedDate": now_s()}
                STATE["deleted"][name.lower()] = d
        if not e:
            return self.send(404, not_found(name))
        return self.send(200, self.deleted_out(d))

    def get_deleted(self, name):
        with LOCK:
            d = STATE["deleted"].get(name.lower())
        if not d:
            return self.send(404, kv_error("SecretNotFound", f"Deleted Secret not found: {name}"))
        return self.send(200, self.deleted_out(d))

    def purge(self, name):
        with LOCK:
            d = STATE["deleted"].pop(name.lower(), None)
        if not d:
            return self.send(404, kv_error("SecretNotFound", f"Deleted Secret not found: {name}"))
        return self.send(204)

    def recover(self, name):
        with LOCK:
            d = STATE["deleted"].pop(name.lower(), None)
            if d:
                STATE["secrets"][name.lower()] = {"name": d["name"], "versions": d["versions"]}
        if not d:
            return self.send(404, kv_error("SecretNotFound", f"Deleted Secret not found: {name}"))
        return self.send(200, self.bundle_out(d["name"], d["versions"][-1], with_value=False))

    # ---- control endpoints for tests -------------------------------------------------------

    def control(self, method, rest, raw):
        body = json.loads(raw) if raw else {}
        if rest == "reset" and method == "POST":
            with LOCK:
                for k in ("secrets", "deleted"):
                    STATE[k].clear()
                STATE["fail"].clear()
                STATE["counts"].clear()
            return self.send(204)
        if rest == "fail" and method == "POST":
            # {"status": 429|500|..., "count": N (-1 = forever), "retry_after": s,
            #  "method": "PUT" (optional), "path_re": "^/secrets/X" (optional)}
            with LOCK:
                STATE["fail"].append(
                    {
                        "status": int(body["status"]),
                        "count": int(body.get("count", 1)),
                        "retry_after": body.get("retry_after", 1),
                        "method": body.get("method"),
                        "path_re": body.get("path_re"),
                    }
                )
            return self.send(204)
        if rest == "counts" and method == "GET":
            with LOCK:
                return self.send(200, dict(STATE["counts"]))
        if rest == "revoke-tokens" and method == "POST":
            with LOCK:
                STATE["tokens"].clear()
            return self.send(204)
        m = re.fullmatch(r"secrets/([^/]+)(/softdelete)?", rest)
        if m:
            name = m.group(1)
            if m.group(2) and method == "POST":
                with LOCK:
                    e = STATE["secrets"].pop(name.lower(), None)
                    if e:
                        STATE["deleted"][name.lower()] = {
                            "name": e["name"],
                            "versions": e["versions"],
                            "deletedDate": now_s(),
                        }
                return self.send(204 if e else 404)
            if method == "GET":
                with LOCK:
                    e = STATE["secrets"].get(name.lower())
                    d = STATE["deleted"].get(name.lower())
                    src = e or d
                    if not src:
                        return self.send(404, {"error": "no such secret"})
                    b = src["versions"][-1]
                    return self.send(
                        200,
                        {
                            "name": src["name"],
                            "value": b["value"],
                            "tags": b["tags"],
                            "contentType": b.get("contentType"),
                            "versions": len(src["versions"]),
                            "deleted": d is not None and e is None,
                        },
                    )
            if method == "PUT":
                # a change behind the client's back: new version, tags kept unless given
                with LOCK:
                    e = STATE["secrets"].get(name.lower())
                    tags = body.get("tags")
                    if tags is None:
                        tags = e["versions"][-1]["tags"] if e else {}
                    store_version(name, body["value"], tags, body.get("contentType"), True)
                return self.send(204)
        return self.send(404, {"error": f"unknown control endpoint {method} {rest}"})


def store_version(name, value, tags, content_type, enabled):
    """Adds a version (caller holds LOCK); the first spelling of a name is kept."""
    e = STATE["secrets"].setdefault(name.lower(), {"name": name, "versions": []})
    t = now_s()
    b = {
        "version": uuid.uuid4().hex,
        "value": value,
        "tags": dict(tags),
        "contentType": content_type,
        "enabled": bool(enabled),
        "created": t,
        "updated": t,
    }
    e["versions"].append(b)
    return b


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # probes and aborted handshakes are expected


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--ca-out", required=True)
    p.add_argument("--tenant", default="00000000-0000-0000-0000-000000000001")
    p.add_argument("--client-id", default="vsync-test-client")
    p.add_argument("--client-secret", default="vsync-test-secret")
    args = p.parse_args(common_options(sys.argv[1:]))
    cert, key = make_certs(args.ca_out)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args = args
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # handshake in the handler thread, so a plain TCP readiness probe cannot stall accept()
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    srv.serve_forever()


if __name__ == "__main__":
    main()
