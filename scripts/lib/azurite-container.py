#!/usr/bin/env python3
"""Create a blob container on Azurite (or any Azure Blob endpoint) with Shared Key auth.

Usage: azurite-container.py ACCOUNT_URL ACCOUNT KEY CONTAINER
  ACCOUNT_URL  e.g. http://127.0.0.1:10000/devstoreaccount1 (path-style, as Azurite serves)
Exit 0 when the container exists afterwards (created now: 201, or already there: 409).
Stdlib only: object_store cannot create containers, and the tests need one.
"""
import base64
import hashlib
import hmac
import sys
import urllib.error
import urllib.request
from email.utils import formatdate
from urllib.parse import urlsplit

VERSION = "2021-08-06"


def main(account_url, account, key, container):
    url = account_url.rstrip("/") + "/" + container + "?restype=container"
    date = formatdate(usegmt=True)
    path = urlsplit(url).path
    # Shared Key string-to-sign: verb, 11 standard headers (all empty here; Content-Length is
    # empty for 0), canonical x-ms-* headers, canonical resource.
    string_to_sign = "\n".join(
        ["PUT"] + [""] * 11
        + ["x-ms-date:" + date, "x-ms-version:" + VERSION,
           "/" + account + path + "\nrestype:container"]
    )
    sig = base64.b64encode(
        hmac.new(base64.b64decode(key), string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    req = urllib.request.Request(url, method="PUT", data=None, headers={
        "x-ms-date": date,
        "x-ms-version": VERSION,
        "Authorization": "SharedKey %s:%s" % (account, sig),
        "Content-Length": "0",
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return 0 if r.status == 201 else 1
    except urllib.error.HTTPError as e:
        if e.code == 409:
            return 0
        sys.stderr.write("create container %s: HTTP %d %s\n" % (container, e.code, e.read()[:300]))
        return 1


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
