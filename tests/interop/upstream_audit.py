#!/usr/bin/env python3
"""An independent reader and appender of `audit.csv` as upstream handles it (docs/formats.md §12),
written from the spec with Python's csv module: columns are found by header name, columns it does
not know are ignored, a row is appended as ten fields after the existing text.

  upstream_audit.py read   LOG                 -> prints the rows as JSON (the ten fields)
  upstream_audit.py append LOG ACTION VERSION  -> appends one row the way upstream's writer does
"""
import csv
import io
import json
import os
import sys

COLUMNS = ["ts", "action", "version_ts", "hostname", "local_ip", "os_user", "git_email",
           "vsync_version", "bun_version", "meta"]


def quote(field: str) -> str:
    if any(c in field for c in '",\n\r'):
        return '"' + field.replace('"', '""') + '"'
    return field


def read(path: str) -> list:
    with open(path, encoding="utf-8", newline="") as f:
        records = [r for r in csv.reader(io.StringIO(f.read())) if r and r != [""]]
    if not records:
        return []
    header = [h.strip() for h in records[0]]
    where = {c: header.index(c) if c in header else None for c in COLUMNS}
    out = []
    for r in records[1:]:
        out.append({c: (r[i] if i is not None and i < len(r) else "") for c, i in where.items()})
    return out


def append(path: str, action: str, version: str) -> None:
    row = ["2026-01-02T03:04:05.678Z", action, version, "upstream-host", "10.0.0.9", "bob",
           "bob@example.com", "0.17.0", "1.3.0", '{"note":"from upstream, unchained"}']
    line = ",".join(quote(f) for f in row) + "\n"
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    if not text:
        text = ",".join(COLUMNS) + "\n"
    elif not text.endswith("\n"):
        text += "\n"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text + line)


def main() -> None:
    if sys.argv[1] == "read":
        print(json.dumps(read(sys.argv[2])))
    elif sys.argv[1] == "append":
        append(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: upstream_audit.py read LOG | append LOG ACTION VERSION")


if __name__ == "__main__":
    main()
