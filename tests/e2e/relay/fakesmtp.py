#!/usr/bin/python3
"""A scriptable fake upstream SMTP server for the relay failure matrix.

    fakesmtp.py --port P [--addr IP] --mode MODE [--cert C --key K] --log FILE --ready FILE

Serves one connection at a time until killed. Everything received is written
to --log (raw bytes, and a marker line '--TLS--' when TLS starts), so the
test can check that no message byte ever crossed the wire in plaintext.

Modes:
  ok            STARTTLS offered, accepts everything (250 after the dot)
  nostarttls    EHLO without STARTTLS
  badtls        offers STARTTLS, says 220, then sends garbage instead of TLS
  greet421      421 4.3.2 at the greeting
  dropdot       accepts DATA, closes the connection after the final dot
  rcpt550       550 5.1.1 for recipients starting with "bad"
  inject        after "220 Ready" appends a plaintext fake reply (injection)
  implicit      TLS from the first byte (465 style), then like ok
  auth          AUTH PLAIN and LOGIN offered after TLS only; MAIL needs a
                successful AUTH as zegel / s3cret (535 5.7.8 otherwise)
  authlogin     the same with only AUTH LOGIN offered
  7bit          like ok, but no 8BITMIME in EHLO; logs "--DOT--" for a final dot
"""
import argparse, base64, socket, ssl, sys

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--addr", default="127.0.0.1")
ap.add_argument("--mode", required=True)
ap.add_argument("--cert"); ap.add_argument("--key")
ap.add_argument("--log", required=True)
ap.add_argument("--ready", required=True)
a = ap.parse_args()

log = open(a.log, "ab", buffering=0)
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((a.addr, a.port))
ls.listen(8)
open(a.ready, "w").write("ready\n")

ctx = None
if a.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)


class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                return None
            log.write(d)
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l + b"\n"


def serve(s):
    c = Conn(s)
    tls = False
    if a.mode == "implicit":
        log.write(b"\n--TLS--\n")
        try:
            c.s = ctx.wrap_socket(c.s, server_side=True)
        except Exception as e:
            log.write(b"\n--TLS-FAILED-- " + str(e).encode() + b"\n")
            return
        tls = True
    if a.mode == "greet421":
        c.send(b"421 4.3.2 Service not available, closing channel\r\n")
        c.line()
        return
    c.send(b"220 fake.test ESMTP\r\n")
    rcpt_ok = 0
    authed = False
    while True:
        l = c.line()
        if l is None:
            return
        cmd = l.strip().upper()
        if cmd.startswith(b"EHLO"):
            ext = [b"fake.test", b"PIPELINING", b"SIZE 10000000", b"8BITMIME", b"ENHANCEDSTATUSCODES"]
            if a.mode == "7bit":
                ext.remove(b"8BITMIME")
            if a.mode != "nostarttls" and not tls:
                ext.append(b"STARTTLS")
            if a.mode == "auth" and tls:
                ext.append(b"AUTH PLAIN LOGIN")
            if a.mode == "authlogin" and tls:
                ext.append(b"AUTH LOGIN")
            c.send(b"".join(b"250-" + e + b"\r\n" for e in ext[:-1]) + b"250 " + ext[-1] + b"\r\n")
        elif cmd == b"STARTTLS":
            if a.mode == "badtls":
                c.send(b"220 2.0.0 Ready to start TLS\r\n")
                c.send(b"this is not a TLS server hello\r\n" * 4)
                return
            if a.mode == "inject":
                c.send(b"220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n")
            else:
                c.send(b"220 2.0.0 Ready to start TLS\r\n")
            log.write(b"\n--TLS--\n")
            try:
                c.s = ctx.wrap_socket(c.s, server_side=True)
            except Exception as e:
                log.write(b"\n--TLS-FAILED-- " + str(e).encode() + b"\n")
                return
            c.buf = b""
            tls = True
        elif cmd.startswith(b"AUTH") and a.mode.startswith("auth") and tls:
            parts = l.strip().split(b" ")
            try:
                if parts[1].upper() == b"PLAIN":
                    _, u, pw = base64.b64decode(parts[2]).split(b"\0")
                else:
                    c.send(b"334 VXNlcm5hbWU6\r\n")
                    u = base64.b64decode(c.line().strip())
                    c.send(b"334 UGFzc3dvcmQ6\r\n")
                    pw = base64.b64decode(c.line().strip())
            except Exception:
                u = pw = b""
            if u == b"zegel" and pw == b"s3cret":
                authed = True
                c.send(b"235 2.7.0 Authentication successful\r\n")
            else:
                c.send(b"535 5.7.8 Error: authentication failed\r\n")
        elif cmd.startswith(b"MAIL") and a.mode.startswith("auth") and not authed:
            c.send(b"530 5.7.0 Authentication required\r\n")
        elif cmd.startswith(b"MAIL"):
            rcpt_ok = 0
            c.send(b"250 2.1.0 Ok\r\n")
        elif cmd.startswith(b"RCPT"):
            if a.mode == "rcpt550" and b"<BAD" in cmd:
                c.send(b"550 5.1.1 " + l.strip()[8:] + b": Recipient address rejected: no such user\r\n")
            else:
                rcpt_ok += 1
                c.send(b"250 2.1.5 Ok\r\n")
        elif cmd == b"DATA":
            c.send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            while True:
                d = c.line()
                if d is None:
                    return
                if d == b".\r\n":
                    log.write(b"\n--DOT--\n")
                    break
            if a.mode == "dropdot":
                c.s.close()
                return
            c.send(b"250 2.0.0 Ok: queued as FAKE123\r\n")
        elif cmd == b"QUIT":
            c.send(b"221 2.0.0 Bye\r\n")
            return
        elif cmd == b"RSET" or cmd == b"NOOP":
            c.send(b"250 2.0.0 Ok\r\n")
        else:
            c.send(b"502 5.5.2 Error: command not recognized\r\n")


while True:
    s, _ = ls.accept()
    log.write(b"\n--CONNECT--\n")
    try:
        serve(s)
    except Exception as e:
        log.write(b"\n--ERROR-- " + str(e).encode() + b"\n")
    try:
        s.close()
    except Exception:
        pass
