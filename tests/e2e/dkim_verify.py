#!/usr/bin/python3
"""Verify every DKIM signature of .eml files with dkimpy, keys served from
files instead of DNS.

usage: dkim_verify.py [--domains D1,D2] --key SELECTOR._domainkey.DOMAIN=TXTVALUE ... FILE...
Prints "ok FILE: N signatures (d=.. s=.. a=..)" or "FAIL FILE: why"; exits 1
if any file has no signature or any signature fails.
"""
import argparse
import re
import sys

import dkim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--min-sigs", type=int, default=1)
    # only signatures with these d= count (others, e.g. a client's own, are listed)
    ap.add_argument("--domains", default="")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    keys = {}
    for k in a.key:
        name, _, txt = k.partition("=")
        keys[name.lower().rstrip(".") + "."] = txt.encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return keys.get(name.lower().rstrip(".") + ".", b"")

    bad = 0
    for f in a.files:
        msg = open(f, "rb").read()
        d = dkim.DKIM(msg)
        sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
        only = [x.encode() for x in a.domains.split(",") if x]
        if len(sigs) < a.min_sigs:
            print("FAIL %s: %d signatures, want at least %d" % (f, len(sigs), a.min_sigs))
            bad += 1
            continue
        desc = []
        ok = True
        for i, (_, v) in enumerate(sigs):
            tags = dict(re.findall(rb"\s*([a-z]+)\s*=\s*([^;]*)", v))
            s = "d=%s s=%s a=%s" % (tags.get(b"d", b"?").decode(), tags.get(b"s", b"?").decode(),
                                    tags.get(b"a", b"?").decode())
            if only and tags.get(b"d", b"").strip().lower() not in only:
                s += " (not ours: not checked)"
            elif not dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc):
                ok = False
                s += " FAILED"
            desc.append(s)
        if ok:
            print("ok %s: %d signatures (%s)" % (f, len(sigs), "; ".join(desc)))
        else:
            print("FAIL %s: %s" % (f, "; ".join(desc)))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
