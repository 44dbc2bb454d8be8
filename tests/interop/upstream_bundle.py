#!/usr/bin/env python3
"""An independent implementation of vsync's bucket format (docs/formats.md §1.6, §2, §3, §4, §11),
written from the spec with Python's `cryptography` package, used to check that what `vsync push`
writes is what upstream reads, and that `vsync pull` reads what upstream writes.

  upstream_bundle.py open  OBJECT KEY_TEXT SALT TS     -> prints the zip entry names, one per line
  upstream_bundle.py write BUCKET_DIR PREFIX KEY_TEXT SALT TS VROOT VAULT_FOLDER
"""
import hashlib
import io
import os
import sys
import zipfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def derive(password: str, salt: str) -> bytes:
    # Both inputs are text: their UTF-8 bytes go to PBKDF2 as they are. The count is upstream's
    # 600 000 unless a test asks for another (a runtime token may carry any count).
    iterations = int(os.environ.get("VSYNC_TEST_ITERATIONS", "600000"))
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations, 32)


def open_object(blob: bytes, key_text: str, salt: str, ts: str) -> bytes:
    assert len(blob) >= 32 and blob[:4] == b"RQE1", "not an RQE1 envelope"
    plain = AESGCM(derive(key_text, salt)).decrypt(blob[4:16], blob[16:], None)
    assert plain[:8] == b"RQEM0001", "no RQEM0001 seal"
    assert plain[8:23].decode("ascii") == ts, "seal does not match the pointer"
    return plain[23:]


def seal_object(zip_bytes: bytes, key_text: str, salt: str, ts: str) -> bytes:
    iv = os.urandom(12)
    plain = b"RQEM0001" + ts.encode("ascii") + zip_bytes
    return b"RQE1" + iv + AESGCM(derive(key_text, salt)).encrypt(iv, plain, None)


def zip_vault(vroot: str, folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        base = os.path.join(vroot, folder)
        z.writestr(folder.rstrip("/") + "/", b"")
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, vroot).replace(os.sep, "/")
            if dirpath != base:
                z.writestr(rel_dir + "/", b"")
            for name in sorted(filenames):
                with open(os.path.join(dirpath, name), "rb") as f:
                    z.writestr(rel_dir + "/" + name, f.read())
    return buf.getvalue()


def main(argv):
    if argv[1] == "open":
        _, _, obj, key_text, salt, ts = argv
        with open(obj, "rb") as f:
            zip_bytes = open_object(f.read(), key_text, salt, ts)
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
            for name in z.namelist():
                print(name)
    elif argv[1] == "write":
        _, _, bucket, prefix, key_text, salt, ts, vroot, folder = argv
        sealed = seal_object(zip_vault(vroot, folder), key_text, salt, ts)
        os.makedirs(os.path.join(bucket, prefix, "versions"), exist_ok=True)
        with open(os.path.join(bucket, prefix, "versions", ts + ".enc"), "wb") as f:
            f.write(sealed)
        # Upstream writes the pointer as the bare 15 bytes, no newline.
        with open(os.path.join(bucket, prefix, "latest"), "wb") as f:
            f.write(ts.encode("ascii"))
    else:
        sys.exit("usage: upstream_bundle.py open|write …")


if __name__ == "__main__":
    main(sys.argv)
