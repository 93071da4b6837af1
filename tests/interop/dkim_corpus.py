#!/usr/bin/python3
"""Write the DKIM interop corpus: nasty messages, one file each, into DIR.

    dkim_corpus.py DIR [--big]

Every message is From: someone at example.com or one of its subdomains, so
`zegel sign -d example.com` may sign it. File names say what each case tests.
With --big, also big-10mb.eml: a multipart message with a 10 MB base64
attachment (generated here, deterministic). Nothing is random: the corpus is
the same on every run.
"""
import base64
import hashlib
import os
import sys

CRLF = b"\r\n"


def msg(headers, body, eol=CRLF):
    """headers: list of raw header lines (bytes, folding included with \n)."""
    out = b""
    for h in headers:
        out += h.replace(b"\n", eol) + eol
    out += eol
    out += body.replace(b"\n", eol) if eol != b"\n" else body
    return out


H = [
    b"From: Alice Example <alice@example.com>",
    b"To: Bob <bob@example.net>",
    b"Subject: interop test",
    b"Date: Sat, 28 Nov 2026 12:00:00 +0000",
    b"Message-ID: <interop.1@example.com>",
]


def std(*extra, subject=None, frm=None):
    h = list(H)
    if subject is not None:
        h[2] = subject
    if frm is not None:
        h[0] = frm
    return h + list(extra)


def pseudo(n, seed=b"zegel"):
    """n deterministic pseudo-random bytes."""
    out = bytearray()
    c = 0
    while len(out) < n:
        out += hashlib.sha256(seed + c.to_bytes(8, "big")).digest()
        c += 1
    return bytes(out[:n])


def b64lines(data):
    enc = base64.b64encode(data)
    return b"\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + b"\n"


def corpus():
    c = {}
    c["plain"] = msg(std(), b"Hello World\n")
    c["empty-body-no-blank-line"] = b"".join(x + CRLF for x in std())
    c["empty-body"] = msg(std(), b"")
    c["only-blank-lines"] = msg(std(), b"\n\n\n\n")
    c["no-final-crlf"] = msg(std(), b"last line without line end")
    c["trailing-blank-lines"] = msg(std(), b"text\n\n\n\n\n")
    c["trailing-wsp-lines"] = msg(std(), b"text\n \n\t\n  \t \n")
    c["wsp-runs"] = msg(std(), b"a  b\t\tc \t d\n   leading\nend   \n")
    c["wsp-only-middle-lines"] = msg(std(), b"one\n   \n\t\ntwo\n")
    c["leading-wsp-body"] = msg(std(), b"  indented first line\n\tand tab\n")
    c["trailing-tabs"] = msg(std(), b"tabs at end\t\t\n\t\n")
    c["many-trailing-blank-lines"] = msg(std(), b"x\n" + b"\n" * 1000)
    c["dot-lines"] = msg(std(), b".\n..\n. \n.x\n...\n.\n")
    c["only-dot"] = msg(std(), b".\n")
    c["bare-cr"] = msg(std(), b"bare\rcarriage return\nx\r\ry\n")
    c["bare-cr-at-line-end"] = msg(std(), b"cr before crlf\r\nnext\n")
    c["lf-only"] = msg(std(), b"line one\nline two\n\nlast\n", eol=b"\n")
    c["mixed-eol"] = (b"From: Alice <alice@example.com>\r\nTo: bob@example.net\n"
                      b"Subject: mixed\r\n\nline crlf\r\nline lf\nend\r\n")
    c["long-line-1000"] = msg(std(), b"x" * 998 + b"\nshort\n")
    c["long-line-10000"] = msg(std(), (b"word " * 2000) + b"\n")
    c["long-line-no-space"] = msg(std(), b"y" * 20000 + b"\n")
    c["8bit-latin1"] = msg(std(), b"caf\xe9 na\xefve \xa3100\n")
    c["utf8-body"] = msg(std(b"Content-Type: text/plain; charset=utf-8",
                             b"Content-Transfer-Encoding: 8bit", b"MIME-Version: 1.0"),
                         "Grüße, ünïcödé ✓ 日本語 😀\n".encode())
    c["utf8-subject-raw"] = msg(std(subject="Subject: Grüße aus Köln ✓".encode()), b"x\n")
    c["rfc2047-subject"] = msg(std(subject=b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\n"
                                   b" =?utf-8?b?S8O2bG4=?="), b"x\n")
    c["8bit-header-latin1"] = msg(std(b"X-Latin: caf\xe9"), b"x\n")
    c["control-chars"] = msg(std(), b"form\x0cfeed\x0bvt\x01\x7f\n")
    c["nul-byte"] = msg(std(), b"nul\x00inside\n")
    c["200-headers"] = msg(std(*[b"X-Header-%d: value %d" % (i, i) for i in range(200)]),
                           b"many headers\n")
    c["200-received"] = msg([b"Received: from h%d.example.net by h%d.example.net; "
                             b"Sat, 28 Nov 2026 12:00:%02d +0000" % (i, i + 1, i % 60)
                             for i in range(200)] + std(), b"received\n")
    c["folded-subject"] = msg(std(subject=b"Subject: a subject\n that is folded\n\tover"
                                  b" three lines"), b"x\n")
    c["folded-to-list"] = msg(std(b"Cc: one@example.net,\n two@example.net,\n"
                                  b"\tthree@example.net"), b"x\n")
    c["folded-many-lines"] = msg(std(b"X-Long: " + b"\n ".join(b"part%d" % i
                                                               for i in range(50))), b"x\n")
    c["header-name-case"] = msg([b"FROM: alice@example.com", b"sUbJeCt: case",
                                 b"to: bob@example.net", b"DATE: Sat, 28 Nov 2026 12:00:00 +0000",
                                 b"MESSAGE-ID: <case@example.com>"], b"x\n")
    c["wsp-before-colon-space"] = msg(std(b"Cc : carol@example.net"), b"x\n")
    c["wsp-before-colon-tab"] = msg(std(subject=b"Subject\t: tab before colon"), b"x\n")
    c["header-wsp-runs"] = msg(std(subject=b"Subject:    lots   of \t spaces   "), b"x\n")
    c["header-no-space-after-colon"] = msg(std(subject=b"Subject:nospace"), b"x\n")
    c["empty-header-value"] = msg(std(subject=b"Subject:"), b"x\n")
    c["wsp-only-header-value"] = msg(std(subject=b"Subject:    "), b"x\n")
    c["wsp-only-continuation"] = msg(std(subject=b"Subject: a\n \n b"), b"x\n")
    c["long-header-word"] = msg(std(subject=b"Subject: " + b"z" * 2000), b"x\n")
    c["two-to-headers"] = msg(std(b"To: second@example.net"), b"two To fields\n")
    c["reply-to-cc"] = msg(std(b"Reply-To: list@example.com", b"Cc: carol@example.net"), b"x\n")
    c["from-display-quoted"] = msg(std(frm=b'From: "Smith, Alice (Sales) <x@y>" '
                                       b"<alice@example.com>"), b"x\n")
    c["from-comments"] = msg(std(frm=b"From: (the boss) alice@example.com (Alice)"), b"x\n")
    c["from-subdomain"] = msg(std(frm=b"From: alice@mail.sub.example.com"), b"x\n")
    c["from-folded"] = msg(std(frm=b"From: Alice\n <alice@example.com>"), b"x\n")
    c["existing-dkim-signature"] = msg([b"DKIM-Signature: v=1; a=rsa-sha256; d=other.example;"
                                        b" s=x; h=from; bh=AAAA; b=AAAA"] + std(), b"x\n")
    c["list-headers"] = msg(std(b"List-Id: <list.example.com>",
                                b"List-Unsubscribe: <mailto:leave@example.com>",
                                b"List-Post: <mailto:list@example.com>",
                                b"List-Help: <mailto:help@example.com>"), b"list mail\n")
    c["references"] = msg(std(b"In-Reply-To: <a@example.com>",
                              b"References: <a@example.com>\n <b@example.com>\n"
                              b" <c@example.com>"), b"reply\n")
    mime = [b"MIME-Version: 1.0",
            b'Content-Type: multipart/alternative;\n boundary="b1"']
    c["multipart-alternative"] = msg(std(*mime), b"preamble\n--b1\n"
                                     b"Content-Type: text/plain\n\nplain\n--b1\n"
                                     b"Content-Type: text/html\n\n<p>html</p>\n--b1--\n"
                                     b"epilogue\n")
    att = b64lines(pseudo(30000))
    c["multipart-mixed-base64"] = msg(std(b"MIME-Version: 1.0",
                                          b'Content-Type: multipart/mixed; boundary="m"'),
                                      b"--m\nContent-Type: text/plain\n\nsee attachment\n--m\n"
                                      b"Content-Type: application/octet-stream\n"
                                      b"Content-Transfer-Encoding: base64\n"
                                      b'Content-Disposition: attachment; filename="a.bin"\n\n'
                                      + att + b"--m--\n")
    c["multipart-nested"] = msg(std(b"MIME-Version: 1.0",
                                    b'Content-Type: multipart/mixed; boundary="o"'),
                                b"--o\nContent-Type: multipart/alternative; boundary=\"i\"\n\n"
                                b"--i\nContent-Type: text/plain\n\ninner\n--i--\n"
                                b"--o\nContent-Type: text/plain\n\nouter  \n\n--o--\n")
    c["quoted-printable"] = msg(std(b"MIME-Version: 1.0",
                                    b"Content-Transfer-Encoding: quoted-printable"),
                                b"soft line=\nbreak =3D equals=20\n" + b"a" * 75 + b"=\n\n")
    c["mbox-from-line-in-body"] = msg(std(), b"From the start\n>From quoted\nFrom: not a header\n")
    c["body-1mb-short-lines"] = msg(std(), b"".join(b"line %d\n" % i for i in range(120000)))
    c["crlf-in-middle-of-wsp"] = msg(std(), b"a \t\nb\t \n \tc\n")
    c["header-tab-continuation"] = msg(std(b"X-Tab: first\n\tsecond\n\t\tthird"), b"x\n")
    c["header-trailing-wsp"] = msg(std(b"X-Trail: value   \t"), b"x\n")
    c["no-date-no-msgid"] = msg([b"From: alice@example.com", b"To: bob@example.net"], b"x\n")
    c["only-from"] = msg([b"From: alice@example.com"], b"only from\n")
    return c


def big():
    data = pseudo(7_500_000, b"big")  # 10 MB of base64 text
    return msg(std(b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="big"'),
               b"--big\nContent-Type: text/plain\n\n10 MB attachment follows\n--big\n"
               b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
               + b64lines(data) + b"--big--\n")


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, m in corpus().items():
        with open(os.path.join(d, name + ".eml"), "wb") as f:
            f.write(m)
    if "--big" in sys.argv:
        with open(os.path.join(d, "big-10mb.eml"), "wb") as f:
            f.write(big())


if __name__ == "__main__":
    main()
