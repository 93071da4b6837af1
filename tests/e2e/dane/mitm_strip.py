#!/usr/bin/python3
"""A STARTTLS-stripping man in the middle for zegel's DANE tests.

    mitm_strip.py LISTEN_IP PORT BACKEND_IP BACKEND_PORT LOGFILE

Relays SMTP between a client and the real server, removes the STARTTLS line
from every EHLO reply (fixing the continuation marker when it was the last
line) and answers a STARTTLS command itself with "454 4.7.0 TLS not
available" without passing it on: what an active attacker on the path does
(RFC 7672 section 1.3, "downgrade"). Appends one line per event to LOGFILE:
  connect PEER / stripped / refused-starttls / client: VERB (first word of
  every client command after that, e.g. MAIL, RCPT, DATA) / close
so a test can tell whether a client went on in plaintext. Standard library
only; one thread per connection; a connection lives at most 60 s.
"""
import select
import socket
import sys
import threading
import time

lip, lport, bip, bport, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
lock = threading.Lock()


def log(msg):
    with lock:
        with open(logfile, "a") as f:
            f.write("%.3f %s\n" % (time.time(), msg))


def strip_reply(lines):
    """lines: one complete multi-line reply (bytes with CRLF). Drops STARTTLS."""
    kept = [ln for ln in lines if ln[4:].strip().upper() != b"STARTTLS"]
    if len(kept) == len(lines):
        return lines, False
    if kept and kept[-1][3:4] == b"-":
        kept[-1] = kept[-1][:3] + b" " + kept[-1][4:]
    return kept, True


def serve(client, peer):
    deadline = time.time() + 60
    client.settimeout(5)
    try:
        server = socket.create_connection((bip, bport), timeout=5)
    except OSError as e:
        log("backend-error %s" % e)
        client.close()
        return
    log("connect %s:%d" % peer)
    server.settimeout(5)
    sbuf = b""
    cbuf = b""
    pending = []  # lines of the server reply being collected
    ehlo = False
    in_data = False
    try:
        while time.time() < deadline:
            r, _, _ = select.select([client, server], [], [], 1)
            if server in r:
                data = server.recv(65536)
                if not data:
                    break
                sbuf += data
                while b"\n" in sbuf:
                    line, sbuf = sbuf.split(b"\n", 1)
                    pending.append(line + b"\n")
                    if line[3:4] != b"-":  # last line of the reply
                        out = pending
                        pending = []
                        if ehlo:
                            out, did = strip_reply(out)
                            if did:
                                log("stripped")
                            ehlo = False
                        client.sendall(b"".join(out))
            if client in r:
                data = client.recv(65536)
                if not data:
                    break
                cbuf += data
                while b"\n" in cbuf:
                    line, cbuf = cbuf.split(b"\n", 1)
                    if in_data:
                        if line.rstrip(b"\r") == b".":
                            in_data = False
                            log("client: end of data")
                        server.sendall(line + b"\n")
                        continue
                    verb = line.strip().split(b" ", 1)[0].upper()
                    if verb in (b"EHLO", b"HELO"):
                        ehlo = verb == b"EHLO"
                    if verb == b"STARTTLS":
                        log("refused-starttls")
                        client.sendall(b"454 4.7.0 TLS not available\r\n")
                        continue
                    if verb and verb.isalpha() and len(verb) <= 8:
                        log("client: %s" % verb.decode())
                    in_data = verb == b"DATA"
                    server.sendall(line + b"\n")
    except OSError as e:
        log("error %s" % e)
    finally:
        log("close")
        client.close()
        server.close()


def main():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lip, lport))
    ls.listen(16)
    open(logfile, "a").close()
    while True:
        c, peer = ls.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()


main()
