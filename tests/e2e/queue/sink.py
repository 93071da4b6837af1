#!/usr/bin/python3
"""A small SMTP receiver for the queue tests: records every message it
accepts, answers per recipient domain.

usage: sink.py ADDR PORT DIR
  RCPT TO:<x@defer.qtest>   451 4.7.1 greylisted (try again later)
  RCPT TO:<x@reject.qtest>  550 5.1.1 no such user
  anything else             250
Each accepted message is written to DIR/NNNNNN.eml (the data, dot-unstuffed,
CRLF as received) with DIR/NNNNNN.env beside it ("from ADDR" and one
"rcpt ADDR" line each), via a temporary name and rename, BEFORE the 250
reply to the final dot: what the client saw accepted is on disk. No
STARTTLS (the DANE policy for an insecure / no-TLSA MX allows plaintext).
Logs one line per command to DIR/../sink.log. Stops on SIGTERM.
"""
import os
import signal
import socketserver
import sys
import threading

ADDR, PORT, DIR = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(DIR, exist_ok=True)
seq_lock = threading.Lock()
seq = [0]
logf = open(os.path.join(os.path.dirname(os.path.abspath(DIR)), "sink.log"), "a", buffering=1)


def log(s):
    logf.write(s + "\n")


def addr_of(arg):
    a = arg.split(b":", 1)[1].strip()
    if a.startswith(b"<"):
        a = a[1:a.index(b">")] if b">" in a else a[1:]
    return a.decode("utf-8", "replace")


class Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def reply(self, s):
        self.wfile.write(s.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        mail_from, rcpts = None, []
        self.reply("220 sink.qtest ESMTP queue test sink")
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.rstrip(b"\r\n")
            verb = cmd[:4].upper()
            log("C: " + cmd.decode("utf-8", "replace"))
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-sink.qtest\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                                 b"250 SMTPUTF8\r\n")
                self.wfile.flush()
            elif verb == b"MAIL":
                mail_from, rcpts = addr_of(cmd), []
                self.reply("250 2.1.0 ok")
            elif verb == b"RCPT":
                r = addr_of(cmd)
                dom = r.rsplit("@", 1)[-1].lower()
                if dom == "defer.qtest":
                    self.reply("451 4.7.1 greylisted, try again later")
                elif dom == "reject.qtest":
                    self.reply("550 5.1.1 no such user here")
                else:
                    rcpts.append(r)
                    self.reply("250 2.1.5 ok")
            elif verb == b"DATA":
                if mail_from is None or not rcpts:
                    self.reply("503 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                data = []
                while True:
                    l = self.rfile.readline(65536)
                    if not l:
                        return    # connection lost mid-data: nothing accepted
                    if l == b".\r\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data.append(l)
                with seq_lock:
                    seq[0] += 1
                    n = seq[0]
                base = os.path.join(DIR, "%06d" % n)
                with open(base + ".env.tmp", "w") as f:
                    f.write("from %s\n" % mail_from)
                    for r in rcpts:
                        f.write("rcpt %s\n" % r)
                with open(base + ".eml.tmp", "wb") as f:
                    f.write(b"".join(data))
                os.rename(base + ".env.tmp", base + ".env")
                os.rename(base + ".eml.tmp", base + ".eml")
                log("S: 250 message %06d from <%s> to %s" % (n, mail_from, ",".join(rcpts)))
                self.reply("250 2.0.0 ok: stored as %06d" % n)
                mail_from, rcpts = None, []
            elif verb == b"RSET":
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == b"NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


srv = Server((ADDR, PORT), Handler)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
print("listening", flush=True)
srv.serve_forever()
