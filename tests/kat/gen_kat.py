#!/usr/bin/env python3
"""Known-answer vectors for vsync-crypto, from an independent implementation.

Built only on Python's standard library (gzip, zipfile, base64, json) and the `cryptography`
package (OpenSSL's PBKDF2 and AES-GCM), following docs/formats.md §1-§8 -- not on vsync's Rust code.
Every input is fixed (passphrases, salts, IVs, gzip MTIME 0), so the output is deterministic.

    python3 tests/kat/gen_kat.py           # rewrite tests/kat/kat.json
    python3 tests/kat/gen_kat.py --check   # regenerate in memory, fail if kat.json differs

The Rust side (tests/kat/main.rs, `cargo test --release -p vsync-tests --test kat`) checks that
vsync-crypto produces these bytes exactly where the format is deterministic (PBKDF2, RQE1 with a
fixed IV, RQEM0001, the bundle object, the share/keytree frame around a given plaintext) and
decodes everything, including the gzip layers, where byte-identical deflate output is not
required (docs/formats.md §17 item 21).
"""

import base64
import difflib
import gzip
import io
import json
import os
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "kat.json"


def _ensure_cryptography():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        venv_py = HERE.parent.parent / ".ci" / "venv" / "bin" / "python"
        if venv_py.exists() and Path(sys.executable).resolve() != venv_py.resolve() \
                and not os.environ.get("VSYNC_KAT_REEXEC"):
            os.environ["VSYNC_KAT_REEXEC"] = "1"
            os.execv(str(venv_py), [str(venv_py), *sys.argv])
        sys.exit("gen_kat.py needs the Python 'cryptography' package "
                 "(pip install cryptography, or run scripts/test-services install)")


_ensure_cryptography()

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC  # noqa: E402

ITERATIONS = 600000
_KEYS = {}


def pbkdf2(password: str, salt: str, iterations: int = ITERATIONS, length: int = 32) -> bytes:
    """docs/formats.md §1.6: password and salt are TEXT, fed as UTF-8 bytes (never base64-decoded)."""
    k = (password, salt, iterations, length)
    if k not in _KEYS:
        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=length,
                         salt=salt.encode("utf-8"), iterations=iterations)
        _KEYS[k] = kdf.derive(password.encode("utf-8"))
    return _KEYS[k]


def rqe1(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """docs/formats.md §2: "RQE1" | IV | ciphertext | tag, no AAD."""
    assert len(iv) == 12
    return b"RQE1" + iv + AESGCM(key).encrypt(iv, plaintext, None)


def rqem0001(ts: str, payload: bytes) -> bytes:
    """docs/formats.md §3: "RQEM0001" | 15-byte ts | payload (23-byte header, no version byte)."""
    assert len(ts) == 15
    return b"RQEM0001" + ts.encode("ascii") + payload


def frame(magic: bytes, salt: str, envelope: bytes) -> bytes:
    """docs/formats.md §6.1 / §7: magic | L | salt text | RQE1."""
    s = salt.encode("utf-8")
    return magic + bytes([len(s)]) + s + envelope


def compact(obj) -> str:
    """JSON.stringify-style compact JSON (docs/formats.md §1.2)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def b64std(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seq(start: int, n: int) -> bytes:
    return bytes((start + i) & 0xFF for i in range(n))


def demo_zip(env: str, lines: str) -> bytes:
    """A small deterministic zip of a vault folder (docs/formats.md §4)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, method in [
            (f"infra/vault/{env}/", b"", zipfile.ZIP_STORED),
            (f"infra/vault/{env}/.env.{env}", lines.encode(), zipfile.ZIP_DEFLATED),
            (f"infra/vault/{env}/certs/ca.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
             zipfile.ZIP_DEFLATED),
        ]:
            info = zipfile.ZipInfo(name, date_time=(2026, 5, 23, 11, 42, 0))
            info.compress_type = method
            info.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else (0o100600 << 16)
            z.writestr(info, data)
    return buf.getvalue()


def gen():
    out = {
        "about": "Known answers for vsync-crypto from tests/kat/gen_kat.py (Python cryptography + "
                 "stdlib, independent of the Rust code). Regenerate: python3 tests/kat/gen_kat.py; "
                 "verify: python3 tests/kat/gen_kat.py --check.",
        "iterations": ITERATIONS,
    }

    # PBKDF2 with text inputs: boundaries of the HMAC key block (64 bytes), of the SHA-256
    # padding (salt + 4 bytes around 55/56/64), multi-block output, non-ASCII text.
    pb = []
    for pw, salt, it, n in [
        ("password", "saltsaltsaltsalt", ITERATIONS, 32),
        ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ICEiIyQlJicoKSorLC0uLzAx", ITERATIONS, 32),
        ("correct-horse-battery-staple", "oKGio6SlpqeoqaqrrK2urw==", ITERATIONS, 32),
        ("", "", 1, 32),
        ("p", "s", 2, 32),
        ("x" * 63, "y" * 51, 3, 32),
        ("x" * 64, "y" * 52, 3, 32),
        ("x" * 65, "y" * 56, 3, 32),
        ("long " * 40, "z" * 119, 5, 32),
        ("pässwörd ✓ 🔑", "sält—ünïcode", 1000, 32),
        ("multi-block", "output", 7, 64),
        ("multi-block", "output", 7, 100),
        ("one", "byte", 4, 1),
    ]:
        pb.append({"password": pw, "salt": salt, "iterations": it, "dklen": n,
                   "key_hex": pbkdf2(pw, salt, it, n).hex()})
    out["pbkdf2"] = pb

    # RQE1 with fixed IVs.
    pw, salt = "correct horse battery staple", "x+3cS0P6hBH3f/wva8TIrg=="
    key = pbkdf2(pw, salt)
    r = []
    for name, iv, pt in [
        ("empty", seq(0, 12), b""),
        ("hello", bytes(12), b"hello world"),
        ("one-block", bytes([0x11] * 12), seq(0x20, 16)),
        ("binary", bytes([0xFF] * 12), bytes([0xFF, 0xFE, 0xFD, 0x00, 0x01, 0xC3, 0x28, 0xA0, 0xA1])),
        ("kib", seq(0xA0, 12), seq(0, 1024)),
        ("odd-size", seq(0x50, 12), seq(7, 4096 + 7)),
    ]:
        r.append({"name": name, "passphrase": pw, "salt": salt, "iv_hex": iv.hex(),
                  "plaintext_hex": pt.hex(), "envelope_hex": rqe1(key, iv, pt).hex()})
    out["rqe1"] = r

    # Bare RQEM0001 seals.
    out["rqem0001"] = [
        {"ts": ts, "payload_hex": p.hex(), "sealed_hex": rqem0001(ts, p).hex()}
        for ts, p in [("20260523-114201", b"PK-demo"), ("19700101-000000", b""),
                      ("20241231-235959", seq(0, 300))]
    ]

    # Whole bucket objects: RQE1(RQEM0001(ts) || zip), password = 44-char key text,
    # salt = 24-char config salt text.
    key_text = b64std(seq(0x40, 32))
    cfg_salt = b64std(seq(0x90, 18))
    bk = pbkdf2(key_text, cfg_salt)
    bl = []
    for ts, iv, z in [
        ("20260523-114201", seq(0x01, 12), demo_zip("staging", "API_URL=https://api.example.com\nTOKEN=t0k3n\n")),
        ("20261128-093000", seq(0x77, 12), demo_zip("prod", "DATABASE_URL=postgres://db/prod\n")),
    ]:
        bl.append({"passphrase": key_text, "salt": cfg_salt, "ts": ts, "iv_hex": iv.hex(),
                   "zip_hex": z.hex(), "object_hex": rqe1(bk, iv, rqem0001(ts, z)).hex()})
    out["bundle"] = bl

    # A share file (SLS1 + ExportPayload v2), with an unknown field and non-ASCII text.
    config = {
        "version": 1,
        "s3": {"endpoint": "https://s3.example.com", "region": "eu-central-1", "bucket": "acme-secrets",
               "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "s3cr3t/with+chars", "useSsl": True},
        "encryption": {"salt": cfg_salt},
        "files": {"vaultFolder": "infra/vault/dev"},
        "sync": {"gh": {"repo": "acme/web"}},
        "audit": {"enabled": True},
        "prefix": "acme_web/dev/",
    }
    payload = {"version": 2, "repo": "acme_web", "env": "dev", "config": config, "key": key_text,
               "note": "Grüße — exported for the café team"}
    share_pw, share_salt = "lantern-copper-fjord-velvet", b64std(seq(0xA0, 16))
    json_text = compact(payload)
    inner = b64std(gz(json_text.encode("utf-8")))
    iv = bytes([0x11] * 12)
    out["sls1"] = [{
        "passphrase": share_pw, "salt": share_salt, "iv_hex": iv.hex(),
        "payload": payload, "json": json_text, "inner_text": inner,
        "file_hex": frame(b"SLS1", share_salt, rqe1(pbkdf2(share_pw, share_salt), iv, inner.encode("ascii"))).hex(),
    }]

    # A keytree file (VKT1): plain JSON inside RQE1.
    tree = {
        "version": 1,
        "exportedAt": "2026-05-23T11:42:01.234Z",
        "entries": [{"repo": "acme_web", "env": "dev", "config": config, "key": key_text}],
        "profiles": [{"name": "acme", "version": 1, "endpoint": "https://s3.example.com", "region": "eu-central-1",
                      "bucket": "acme-secrets", "prefix": "acme/", "accessKeyId": "AKIAEXAMPLE",
                      "secretAccessKey": "s3cr3t"}],
    }
    kt_pw, kt_salt = "keytree passphrase ✓", b64std(seq(0xB0, 16))
    tree_text = compact(tree)
    iv = seq(0xC0, 12)
    out["vkt1"] = [{
        "passphrase": kt_pw, "salt": kt_salt, "iv_hex": iv.hex(), "keytree": tree, "json": tree_text,
        "file_hex": frame(b"VKT1", kt_salt, rqe1(pbkdf2(kt_pw, kt_salt), iv, tree_text.encode("utf-8"))).hex(),
    }]

    # Runtime blobs: "vsync-cfg-v1:" + base64url-nopad(gzip(JSON)).
    cb = []
    for cfg in [
        {"v": 1, "endpoint": "https://s3.amazonaws.com", "region": "us-east-1", "bucket": "acme-secrets",
         "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "secret", "prefix": "acme_web/prod/", "env": "prod",
         "salt": "ICEiIyQlJicoKSorLC0uLzAx", "iterations": 600000},
        {"v": 1, "endpoint": "http://127.0.0.1:8333", "region": "auto", "bucket": "b", "accessKeyId": "k",
         "secretAccessKey": "s/+=", "prefix": "", "env": "dev", "salt": cfg_salt, "iterations": 1,
         "futureField": {"nested": ["ü", 1]}},
    ]:
        text = compact(cfg)
        body = base64.urlsafe_b64encode(gz(text.encode("utf-8"))).decode("ascii").rstrip("=")
        cb.append({"config": cfg, "json": text, "blob": "vsync-cfg-v1:" + body})
    out["cfg_blob"] = cb
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    if argv not in ([], ["--check"]):
        sys.exit("usage: gen_kat.py [--check]")
    text = gen()
    if argv == ["--check"]:
        old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if old != text:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), "kat.json (committed)",
                                        "kat.json (regenerated)", lineterm="", n=1)
            for i, line in enumerate(diff):
                if i >= 40:
                    print("…", file=sys.stderr)
                    break
                print(line, file=sys.stderr)
            print("kat: FAILED: tests/kat/kat.json differs from what gen_kat.py produces", file=sys.stderr)
            return 1
        n = sum(len(v) for v in json.loads(text).values() if isinstance(v, list))
        print(f"kat: tests/kat/kat.json matches the generator ({n} vectors)")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
