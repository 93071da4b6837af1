#!/usr/bin/python3
"""The benchmark corpus: 1,000 realistic messages (median about 8 KB) and one
10 MB message, deterministic. Writes DIR/msg-NNNN.eml and DIR/big.eml.

    sign_corpus.py DIR
"""
import base64
import hashlib
import os
import random
import sys

rnd = random.Random(20261129)
WORDS = ("the of and to in is that for it as was with be by on not he this are or "
         "his from at which but have an they you were her she there been one all we "
         "their has would when if so no will more about can said up out time them "
         "mailer invoice meeting report quarterly router firmware printer scanner").split()


def text(nbytes):
    lines, cur, size = [], [], 0
    while size < nbytes:
        w = rnd.choice(WORDS)
        cur.append(w)
        if sum(len(x) + 1 for x in cur) > rnd.randint(50, 76):
            line = " ".join(cur)
            lines.append(line)
            size += len(line) + 2
            cur = []
            if rnd.random() < 0.12:
                lines.append("")
    return "\r\n".join(lines) + "\r\n"


def headers(i):
    h = []
    for k in range(rnd.randint(0, 4)):
        h.append("Received: from host%d.lan (host%d.lan [192.168.1.%d])\r\n\tby router.lan "
                 "with ESMTPSA id %08x; Sat, 28 Nov 2026 12:%02d:00 +0000"
                 % (k, k, 10 + k, rnd.getrandbits(32), k))
    h += [
        "From: Office Scanner <scanner%d@example.com>" % (i % 7),
        "To: user%d@example.net" % (i % 50),
        "Subject: Scanned document %d from the office printer" % i,
        "Date: Sat, 28 Nov 2026 12:%02d:%02d +0000" % (i // 60 % 60, i % 60),
        "Message-ID: <%08x.%d@example.com>" % (rnd.getrandbits(32), i),
        "MIME-Version: 1.0",
    ]
    if rnd.random() < 0.3:
        h.append("Cc: office@example.com")
    if rnd.random() < 0.2:
        h.append("Reply-To: helpdesk@example.com")
    return h


def message(i, size):
    h = headers(i)
    if rnd.random() < 0.4 and size > 3000:
        att = hashlib.sha256(b"%d" % i).digest() * ((size * 3 // 4 - 600) // 32 + 1)
        att = base64.b64encode(att[: max(1, size * 3 // 4 - 600)]).decode()
        att = "\r\n".join(att[k:k + 76] for k in range(0, len(att), 76))
        h.append('Content-Type: multipart/mixed; boundary="=_b%d"' % i)
        body = ("--=_b%d\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s"
                "--=_b%d\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--=_b%d--\r\n"
                % (i, text(300), i, att, i))
    else:
        h.append("Content-Type: text/plain; charset=us-ascii")
        body = text(size)
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for i in range(1000):
        size = int(rnd.lognormvariate(8.95, 0.8))  # median e^8.95 ~ 7.7 KB of body
        size = max(200, min(size, 400000))
        with open(os.path.join(d, "msg-%04d.eml" % i), "wb") as f:
            f.write(message(i, size))
    big = hashlib.sha256(b"big").digest() * (7_600_000 // 32)
    b64 = base64.b64encode(big).decode()
    b64 = "\r\n".join(b64[k:k + 76] for k in range(0, len(b64), 76))
    h = headers(9999)
    h.append('Content-Type: multipart/mixed; boundary="=_big"')
    body = ("--=_big\r\nContent-Type: text/plain\r\n\r\n%s--=_big\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            "\r\n%s\r\n--=_big--\r\n" % (text(500), b64))
    with open(os.path.join(d, "big.eml"), "wb") as f:
        f.write(("\r\n".join(h) + "\r\n\r\n" + body).encode())


if __name__ == "__main__":
    main()
