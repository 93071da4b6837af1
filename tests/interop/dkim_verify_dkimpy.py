#!/usr/bin/python3
"""Verify the first N DKIM-Signature fields of each message with dkimpy.

    dkim_verify_dkimpy.py KEYS N FILE...

KEYS has one line per key: "SELECTOR._domainkey.DOMAIN RECORD" (the TXT
text); dkimpy gets it through dnsfunc=, no DNS. Prints one line per
signature: FILE <tab> INDEX <tab> SELECTOR <tab> pass|fail <tab> detail.
"""
import io
import logging
import re
import sys

import dkim

keys = {}
with open(sys.argv[1]) as f:
    for line in f:
        name, rec = line.rstrip("\n").split(" ", 1)
        keys[name.lower().rstrip(".")] = rec.encode()


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    return keys.get(name.lower().rstrip("."))


n = int(sys.argv[2])
for path in sys.argv[3:]:
    with open(path, "rb") as f:
        m = f.read()
    for i in range(n):
        log = io.StringIO()
        logger = logging.getLogger("v")
        logger.handlers = [logging.StreamHandler(log)]
        logger.setLevel(logging.DEBUG)
        d = None
        try:
            d = dkim.DKIM(m, logger=logger)
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
            detail = "" if ok else log.getvalue().strip().splitlines()[-1:]
        except Exception as e:  # dkimpy raises on malformed input
            ok, detail = False, "exception %s: %s" % (type(e).__name__, e)
        sel = d.selector.decode() if d is not None and getattr(d, "selector", None) else "?"
        print("%s\t%d\t%s\t%s\t%s" % (path, i, sel, "pass" if ok else "fail",
                                      re.sub(r"\s+", " ", str(detail))[:200]))
