#!/usr/bin/env python3
"""An independent implementation of the encrypted rolling pull backup (docs/formats.md §9.8), written
from the spec with Python's `cryptography` package: RQE1(zip of the vault folder) under the key
text and the config salt, with no RQEM0001 seal.

  upstream_backup.py open  FILE KEY_TEXT SALT [ENTRY]   -> the zip entry names, one per line,
                                                           or with ENTRY that entry's content
  upstream_backup.py write FILE KEY_TEXT SALT VROOT VAULT_FOLDER
  upstream_backup.py evil  FILE KEY_TEXT SALT NAME       -> a well-encrypted zip holding one
                                                           entry called NAME (e.g. ../x)
"""
import io
import os
import sys
import zipfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_bundle import derive, zip_vault  # noqa: E402


def encrypt(plain: bytes, key_text: str, salt: str) -> bytes:
    iv = os.urandom(12)
    return b"RQE1" + iv + AESGCM(derive(key_text, salt)).encrypt(iv, plain, None)


def decrypt(blob: bytes, key_text: str, salt: str) -> bytes:
    assert len(blob) >= 32 and blob[:4] == b"RQE1", "not an RQE1 envelope"
    plain = AESGCM(derive(key_text, salt)).decrypt(blob[4:16], blob[16:], None)
    assert plain[:8] != b"RQEM0001", "a backup carries no RQEM0001 seal"
    return plain


def write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def main(argv):
    cmd = argv[1]
    if cmd == "open":
        path, key_text, salt = argv[2:5]
        with open(path, "rb") as f:
            zip_bytes = decrypt(f.read(), key_text, salt)
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
            if len(argv) > 5:
                sys.stdout.write(z.read(argv[5]).decode())
            else:
                for name in z.namelist():
                    print(name)
    elif cmd == "write":
        path, key_text, salt, vroot, folder = argv[2:7]
        write_private(path, encrypt(zip_vault(vroot, folder), key_text, salt))
    elif cmd == "evil":
        path, key_text, salt, name = argv[2:6]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("infra/vault/dev/", b"")
            z.writestr(name, b"pwned")
        write_private(path, encrypt(buf.getvalue(), key_text, salt))
    else:
        sys.exit("usage: upstream_backup.py open|write|evil …")


if __name__ == "__main__":
    main(sys.argv)
