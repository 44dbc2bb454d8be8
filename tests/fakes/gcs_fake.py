#!/usr/bin/env python3
"""A stateful fake of Google Cloud Storage's XML API, for vsync's `gs://` store tests.

Usage: python3 tests/fakes/gcs_fake.py PORT [--bucket NAME]... --service-account-out FILE
                                       [--untrusted-service-account-out FILE]

There is no installable GCS emulator that honours generation preconditions, so this serves exactly
the calls object_store 0.14's GCS client makes (src/gcp/client.rs), with the real semantics:

  PUT    /{bucket}/{object}            upload; `x-goog-if-generation-match: 0` = create only,
                                       `: N` = only if the live generation is N; else 412
  GET    /{bucket}/{object}[?generation=N]   download (Range `bytes=a-b`, `bytes=a-` honoured)
  HEAD   /{bucket}/{object}            metadata only
  DELETE /{bucket}/{object}            204; `x-goog-if-generation-match` honoured
  GET    /{bucket}?list-type=2&prefix=&delimiter=&continuation-token=&max-keys=&start-after=
                                       ListBucketResult (V2), in key order, paginated

Objects (the object name is percent-encoded in the path, `/` as %2F) carry a generation (a
microsecond timestamp, strictly increasing), metageneration 1, and an ETag that is the quoted MD5
hex of the content, as GCS gives for non-composite objects. Responses carry `x-goog-generation`,
`x-goog-metageneration`, `x-goog-hash`, `x-goog-stored-content-length`, `ETag`, `Last-Modified`.
Errors are GCS's XML shape `<Error><Code>..</Code><Message>..</Message></Error>` with its codes:
NoSuchKey / NoSuchBucket (404), PreconditionFailed (412), AuthenticationRequired (401),
InvalidArgument (400), NotImplemented (501).

Authentication as GCS does it for a service account's self-signed JWT (what object_store sends
for a service-account key): `Authorization: Bearer <RS256 JWT>` whose `kid` names the key, `iss`
is the account's email, `exp` is in the future, signed by the account's private key. At start the
fake creates a service account (an RSA key), writes its key file (the JSON a GCP console hands
out, `"type": "service_account"`) to --service-account-out and trusts only it; the optional
--untrusted-service-account-out file has the same email and key id but another key, so every
request made with it is refused (401), like a revoked or foreign key. Needs `cryptography`.
"""
import base64
import hashlib
import json
import os
import sys
import threading
import time
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from fake_http import FakeHandler
from xml.sax.saxutils import escape

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

LOCK = threading.Lock()
CLIENT_EMAIL = "vsync-test@vsync-fake.iam.gserviceaccount.com"
KEY_ID = "fake-key-1"
MAX_KEYS = 1000


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_service_account(path, key):
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    doc = {
        "type": "service_account",
        "project_id": "vsync-fake",
        "private_key_id": KEY_ID,
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.chmod(path + ".tmp", 0o600)
    os.replace(path + ".tmp", path)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class State:
    def __init__(self, buckets, public_key):
        self.public_key = public_key
        self.buckets = {b: {} for b in buckets}  # bucket -> name -> object dict
        self.last_generation = 0

    def next_generation(self):
        g = max(int(time.time() * 1_000_000), self.last_generation + 1)
        self.last_generation = g
        return g


STATE = None


def http_date(ts):
    return formatdate(ts, usegmt=True)


def iso8601(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % (int(ts * 1000) % 1000)


class Handler(FakeHandler):
    server_version = "UploadServer"  # what GCS's XML API calls itself
    METHODS = ("GET", "HEAD", "PUT", "DELETE")

    # -- plumbing ------------------------------------------------------------------------------

    def body(self):
        return self.raw_body()

    def reply(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def error(self, status, code, message, details=None, head=False):
        xml = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s</Message>" % (
            code,
            escape(message),
        )
        if details:
            xml += "<Details>%s</Details>" % escape(details)
        xml += "</Error>"
        self.reply(status, xml.encode(), {"Content-Type": "application/xml; charset=UTF-8"}, head)

    def authenticated(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        parts = auth[len("Bearer "):].split(".")
        if len(parts) != 3:
            return False
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, json.JSONDecodeError):
            return False
        if header.get("alg") != "RS256" or header.get("kid") != KEY_ID:
            return False
        try:
            STATE.public_key.verify(
                signature,
                (parts[0] + "." + parts[1]).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return False
        now = time.time()
        scope = str(claims.get("scope", ""))
        return (
            claims.get("iss") == CLIENT_EMAIL
            and isinstance(claims.get("exp"), (int, float))
            and claims["exp"] > now
            and claims.get("iat", 0) <= now + 300
            and ("cloud-platform" in scope or "devstorage" in scope)
        )

    def target(self):
        """(bucket, object name or None, query dict)."""
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        raw = url.path.lstrip("/")
        bucket_raw, _, obj_raw = raw.partition("/")
        bucket = unquote(bucket_raw)
        obj = unquote(obj_raw) if obj_raw else None
        return bucket, obj, query

    def route(self, method):
        head = method == "HEAD"
        if not self.authenticated():
            # Read the body so the connection stays usable.
            self.body()
            return self.error(
                401,
                "AuthenticationRequired",
                "Authentication required.",
                "Invalid Credentials",
                head,
            )
        bucket, obj, query = self.target()
        with LOCK:
            objects = STATE.buckets.get(bucket)
            if objects is None:
                self.body()
                return self.error(404, "NoSuchBucket", "The specified bucket does not exist.", None, head)
            if obj is None:
                if method == "GET":
                    return self.list_objects(bucket, objects, query)
                self.body()
                return self.error(501, "NotImplemented", "A header or query you provided requested a function that is not implemented.")
            if method == "PUT":
                return self.put_object(bucket, objects, obj, query)
            if method in ("GET", "HEAD"):
                return self.get_object(bucket, objects, obj, query, head)
            if method == "DELETE":
                return self.delete_object(bucket, objects, obj)
            self.body()
            return self.error(501, "NotImplemented", "A header or query you provided requested a function that is not implemented.")

    def precondition(self, current):
        """None when x-goog-if-generation-match holds (or is absent); else an error reply."""
        want = self.headers.get("x-goog-if-generation-match")
        if want is None:
            return None
        try:
            want = int(want)
        except ValueError:
            return (400, "InvalidArgument", "Invalid argument.", "Invalid x-goog-if-generation-match")
        live = current["generation"] if current else 0
        if want != live:
            return (412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.", "Precondition Failed")
        return None

    def object_headers(self, o):
        return {
            "ETag": '"%s"' % o["md5"],
            "Last-Modified": http_date(o["updated"]),
            "Content-Type": o["content_type"],
            "x-goog-generation": str(o["generation"]),
            "x-goog-metageneration": "1",
            "x-goog-stored-content-length": str(len(o["data"])),
            "x-goog-stored-content-encoding": "identity",
            "x-goog-hash": "md5=" + base64.b64encode(bytes.fromhex(o["md5"])).decode(),
            "x-goog-storage-class": "STANDARD",
        }

    # -- operations ----------------------------------------------------------------------------

    def put_object(self, bucket, objects, name, query):
        data = self.body()
        if "uploadId" in query or "uploads" in query or self.headers.get("x-goog-copy-source"):
            return self.error(501, "NotImplemented", "A header or query you provided requested a function that is not implemented.")
        current = objects.get(name)
        bad = self.precondition(current)
        if bad:
            return self.error(*bad)
        o = {
            "data": data,
            "md5": hashlib.md5(data).hexdigest(),
            "generation": STATE.next_generation(),
            "updated": time.time(),
            "content_type": self.headers.get("Content-Type") or "application/octet-stream",
        }
        objects[name] = o
        h = self.object_headers(o)
        for k in ("Last-Modified", "Content-Type", "x-goog-stored-content-length", "x-goog-stored-content-encoding"):
            h.pop(k)
        self.reply(200, b"", h)

    def get_object(self, bucket, objects, name, query, head):
        o = objects.get(name)
        gen = query.get("generation")
        if o is None or (gen is not None and gen != str(o["generation"])):
            return self.error(404, "NoSuchKey", "The specified key does not exist.", "No such object: %s/%s" % (bucket, name), head)
        bad = self.precondition(o)
        if bad:
            return self.error(*bad, head=head)
        h = self.object_headers(o)
        inm = self.headers.get("If-None-Match")
        if inm and inm.strip() in (h["ETag"], "*"):
            h.pop("Content-Type")
            return self.reply(304, b"", h, head)
        im = self.headers.get("If-Match")
        if im and im.strip() not in (h["ETag"], "*"):
            return self.error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.", None, head)
        data = o["data"]
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start_s, _, end_s = rng[len("bytes="):].partition("-")
            size = len(data)
            try:
                if start_s == "":
                    start, end = max(size - int(end_s), 0), size - 1
                else:
                    start = int(start_s)
                    end = min(int(end_s), size - 1) if end_s else size - 1
            except ValueError:
                start, end = 0, size - 1
            if start >= size or start > end:
                return self.error(416, "InvalidRange", "The requested range cannot be satisfied.", None, head)
            h["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
            return self.reply(206, data[start:end + 1], h, head)
        self.reply(200, data, h, head)

    def delete_object(self, bucket, objects, name):
        self.body()
        o = objects.get(name)
        if o is None:
            return self.error(404, "NoSuchKey", "The specified key does not exist.", "No such object: %s/%s" % (bucket, name))
        bad = self.precondition(o)
        if bad:
            return self.error(*bad)
        del objects[name]
        self.reply(204)

    def list_objects(self, bucket, objects, query):
        if query.get("list-type") != "2":
            # object_store only speaks ListObjectsV2; V1 paging is not modelled here.
            return self.error(501, "NotImplemented", "A header or query you provided requested a function that is not implemented.")
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter") or None
        after = query.get("continuation-token") or query.get("start-after") or ""
        try:
            max_keys = min(int(query.get("max-keys", MAX_KEYS)), MAX_KEYS)
        except ValueError:
            return self.error(400, "InvalidArgument", "Invalid argument.", "Invalid max-keys")
        contents, prefixes, seen_prefixes = [], [], set()
        truncated, last = False, None
        for name in sorted(objects):
            if not name.startswith(prefix) or name <= after:
                continue
            if delimiter:
                cut = name.find(delimiter, len(prefix))
                if cut >= 0:
                    p = name[: cut + len(delimiter)]
                    if p in seen_prefixes:
                        continue
                    if len(contents) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    seen_prefixes.add(p)
                    prefixes.append(p)
                    last = name
                    continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            contents.append((name, objects[name]))
            last = name
        xml = ["<?xml version='1.0' encoding='UTF-8'?>",
               '<ListBucketResult xmlns="http://doc.s3.amazonaws.com/2006-03-01">',
               "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>"
               % (escape(bucket), escape(prefix), len(contents) + len(prefixes), max_keys),
               "<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false")]
        if truncated and last is not None:
            xml.append("<NextContinuationToken>%s</NextContinuationToken>" % escape(last))
        for name, o in contents:
            xml.append(
                "<Contents><Key>%s</Key><Generation>%d</Generation><MetaGeneration>1</MetaGeneration>"
                "<LastModified>%s</LastModified><ETag>\"%s\"</ETag><Size>%d</Size></Contents>"
                % (escape(name), o["generation"], iso8601(o["updated"]), o["md5"], len(o["data"]))
            )
        for p in prefixes:
            xml.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % escape(p))
        xml.append("</ListBucketResult>")
        self.reply(200, "".join(xml).encode(), {"Content-Type": "application/xml; charset=UTF-8"})

    def do_POST(self):
        self.body()
        self.error(501, "NotImplemented", "A header or query you provided requested a function that is not implemented.")


def main(argv):
    global STATE
    port = int(argv[1])
    buckets, sa_out, untrusted_out = [], None, None
    i = 2
    while i < len(argv):
        if argv[i] == "--bucket":
            buckets.append(argv[i + 1])
        elif argv[i] == "--service-account-out":
            sa_out = argv[i + 1]
        elif argv[i] == "--untrusted-service-account-out":
            untrusted_out = argv[i + 1]
        else:
            sys.exit("unknown argument %s" % argv[i])
        i += 2
    if not sa_out:
        sys.exit("--service-account-out FILE is required")
    key = new_key()
    write_service_account(sa_out, key)
    if untrusted_out:
        write_service_account(untrusted_out, new_key())
    STATE = State(buckets or ["vsync-test"], key.public_key())
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
