#!/usr/bin/python3
"""Run a tests/vectors/smtp/*.script dialogue against an SMTP server over TCP.

usage: smtpscript.py --port-submission P --port-plainauth Q --outbox DIR SCRIPT...
Prints one TAP-ish line per script ("PASS name" / "FAIL name: why") and exits
non-zero if any failed. See tests/vectors/smtp/PROVENANCE for the language.
"""
import argparse
import os
import re
import socket
import ssl
import sys

TIMEOUT = 10


def unescape(s):
    out = bytearray()
    i = 0
    b = s.encode("utf-8")
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            n = chr(b[i + 1])
            if n == "r":
                out += b"\r"; i += 2; continue
            if n == "n":
                out += b"\n"; i += 2; continue
            if n == "t":
                out += b"\t"; i += 2; continue
            if n == "\\":
                out += b"\\"; i += 2; continue
            if n == "x" and i + 3 < len(b):
                out.append(int(b[i + 2:i + 4], 16)); i += 4; continue
        out.append(c)
        i += 1
    return bytes(out)


class Fail(Exception):
    pass


class Client:
    def __init__(self, addr, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.bind((addr, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Fail("send failed: %s" % e)

    def readline(self):
        while b"\r\n" not in self.buf:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("timeout waiting for a reply (have %r)" % self.buf[:200])
            except (ConnectionResetError, ssl.SSLError) as e:
                raise Fail("connection error: %s" % e)
            if not d:
                raise Fail("connection closed while waiting for a reply")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def closed(self):
        if self.buf:
            raise Fail("unexpected data before close: %r" % self.buf[:200])
        try:
            d = self.sock.recv(4096)
        except socket.timeout:
            raise Fail("server did not close the connection")
        except (ConnectionResetError, ssl.SSLError):
            return
        if d:
            raise Fail("unexpected data instead of close: %r" % d[:200])

    def starttls(self):
        if self.buf:
            raise Fail("plaintext data after 220 before TLS: %r" % self.buf[:200])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            self.sock = ctx.wrap_socket(self.sock)
        except (ssl.SSLError, OSError) as e:
            raise Fail("TLS handshake failed: %s" % e)


def code_ok(want, got):
    if re.fullmatch(r"[2-5]xx", want):
        return got[:1] == want[:1]
    return got[:3] == want


def count_outbox(d):
    try:
        return len([f for f in os.listdir(d) if f.endswith(".eml")])
    except FileNotFoundError:
        return 0


def run(path, ports, outbox):
    lines = open(path, encoding="utf-8").read().split("\n")
    client_addr, listener = "127.0.0.1", "submission"
    body = []
    for raw in lines:
        if raw.startswith("client "):
            client_addr = raw.split()[1]
        elif raw.startswith("listener "):
            listener = raw.split()[1]
        else:
            body.append(raw)
    base = count_outbox(outbox)
    c = Client(client_addr, ports[listener])
    try:
        for n, raw in enumerate(body):
            if raw.startswith("#") or not raw.strip() and not raw.startswith("writeln"):
                continue
            verb, _, arg = raw.partition(" ")
            if verb == "writeln":
                c.send(unescape(arg) + b"\r\n")
            elif verb == "write":
                c.send(unescape(arg))
            elif verb == "repeat":
                k, _, text = arg.partition(" ")
                c.send((unescape(text) + b"\r\n") * int(k))
            elif verb in ("expect", "expect-repeat"):
                times = 1
                if verb == "expect-repeat":
                    k, _, arg = arg.partition(" ")
                    times = int(k)
                want, _, text = arg.partition(" ")
                for _ in range(times):
                    r = c.reply()
                    joined = "\n".join(r)
                    if not code_ok(want, r[-1]) or any(w not in joined for w in text.split()):
                        raise Fail("line %s: expected %s %s, got %r" % (raw, want, text, r))
            elif verb == "starttls":
                c.starttls()
            elif verb == "expect-closed":
                c.closed()
            elif verb == "outbox":
                got = count_outbox(outbox) - base
                if got != int(arg):
                    raise Fail("expected %s new outbox messages, found %d" % (arg, got))
            else:
                raise Fail("unknown directive %r" % raw)
    finally:
        try:
            c.sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-submission", type=int, required=True)
    ap.add_argument("--port-plainauth", type=int, required=True)
    ap.add_argument("--outbox", required=True)
    ap.add_argument("scripts", nargs="+")
    a = ap.parse_args()
    ports = {"submission": a.port_submission, "plainauth": a.port_plainauth}
    bad = 0
    for s in a.scripts:
        name = os.path.basename(s)
        try:
            run(s, ports, a.outbox)
            print("PASS %s" % name)
        except Fail as e:
            bad += 1
            print("FAIL %s: %s" % (name, e))
        except OSError as e:
            bad += 1
            print("FAIL %s: %s" % (name, e))
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
