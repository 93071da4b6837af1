#!/usr/bin/python3
"""dkimpy's signing loop for tests/bench/sign (relaxed/relaxed).

    sign_dkimpy.py rsa|ed25519 KEYFILE SELECTOR LISTFILE BIGFILE
        -> "msgs_per_s=N big_mb_per_s=N"
Times are process CPU time. dkim.sign() takes the key as bytes: dkimpy parses it on every call (its
API offers no parsed-key handle), read from disk once here.
"""
import sys
import time

import dkim

alg, keyfile, sel, listfile, bigfile = sys.argv[1:6]
key = open(keyfile, "rb").read()
if alg == "ed25519":
    # dkimpy wants the base64 32-byte seed, not PKCS#8: the seed is the last
    # 32 bytes of the RFC 8410 DER
    import base64
    der = base64.b64decode(b"".join(l for l in key.splitlines() if not l.startswith(b"-----")))
    key = base64.b64encode(der[-32:])
msgs = [open(p.strip(), "rb").read() for p in open(listfile) if p.strip()]
big = open(bigfile, "rb").read()
kw = dict(canonicalize=(b"relaxed", b"relaxed"))
if alg == "ed25519":
    kw["signature_algorithm"] = b"ed25519-sha256"


def sign(m):
    return dkim.sign(m, sel.encode(), b"example.com", key, **kw)


t0 = time.process_time()
for m in msgs:
    sign(m)
t = time.process_time() - t0
print("msgs_per_s=%.0f " % (len(msgs) / t), end="")
t0 = time.process_time()
for _ in range(3):
    sign(big)
t = time.process_time() - t0
print("big_mb_per_s=%.1f" % (3 * len(big) / 1e6 / t))
