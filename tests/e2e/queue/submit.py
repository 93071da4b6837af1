#!/usr/bin/python3
"""Submit numbered messages to zegel over STARTTLS, each until it is
accepted, surviving zegel being killed and restarted underneath.

usage: submit.py HOST PORT COUNT OUTFILE [DEADLINE_SECONDS]
Message n (1..COUNT) has "Subject: queue kill n" and "X-Kill-Seq: n"; every
third one is ~20 KB (a longer window for a kill mid-DATA or mid-commit).
After each 250 reply a line "n ID" (ID from "queued as ID") is appended to
OUTFILE and flushed: the list of ACCEPTED messages. A message whose
connection broke before the 250 is sent again (it was not accepted; if
zegel had committed it anyway, it may arrive twice: counted by the caller).
Exit 0 when all were accepted before the deadline, 1 otherwise.
The envelope recipient is $SUBMIT_RCPT (default rcpt@ok.qtest).
"""
import email.utils
import os
import re
import smtplib
import ssl
import sys
import time

host, port, count, outfile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
deadline = time.time() + (float(sys.argv[5]) if len(sys.argv) > 5 else 300)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = open(outfile, "a", buffering=1)
rcpt = os.environ.get("SUBMIT_RCPT", "rcpt@ok.qtest")


def body(n):
    lines = ["From: printer@example.test", "To: rcpt@ok.qtest",
             "Subject: queue kill %d" % n, "X-Kill-Seq: %d" % n,
             "Message-ID: <kill-%d@example.test>" % n,
             # a Date of its own: an MTA that adds one (Postfix) would break
             # the signature, which oversigns the missing field
             "Date: " + email.utils.formatdate(), "", "Message %d." % n,
             ".a line with a leading dot"]
    if n % 3 == 0:
        lines += ["filler %d %s" % (i, "x" * 60) for i in range(300)]
    return ("\r\n".join(lines) + "\r\n").encode()


conn = None
retries = 0
for n in range(1, count + 1):
    while True:
        if time.time() > deadline:
            print("deadline passed at message %d" % n, file=sys.stderr)
            sys.exit(1)
        try:
            if conn is None:
                conn = smtplib.SMTP(host, port, timeout=20)
                conn.ehlo("printer.example.test")
                conn.starttls(context=ctx)
                conn.ehlo("printer.example.test")
            conn.mail("printer@example.test")
            code, msg = conn.rcpt(rcpt)
            if code != 250:
                raise smtplib.SMTPResponseException(code, msg)
            code, msg = conn.data(body(n))
            if code != 250:
                raise smtplib.SMTPResponseException(code, msg)
            m = re.search(rb"queued as (\S+)", msg)
            out.write("%d %s\n" % (n, m.group(1).decode() if m else "?"))
            break
        except (OSError, smtplib.SMTPException) as e:
            retries += 1
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
            time.sleep(0.2)
try:
    conn.quit()
except Exception:
    pass
print("accepted %d, %d retries" % (count, retries))
