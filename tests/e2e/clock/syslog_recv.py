#!/usr/bin/env python3
"""Syslog collector for the tests: UDP and TCP (octet-counted frames) on PORT,
one message per output line: 'udp <msg>' / 'tcp <msg>'; a TCP frame whose
length does not match is written as 'tcp-BAD <rest>'."""
import socket, sys, select
port = int(sys.argv[1]); out = open(sys.argv[2], "a", buffering=1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("127.0.0.1", port)); l.listen(4)
conns = {}
while True:
    r, _, _ = select.select([u, l] + list(conns), [], [])
    for s in r:
        if s is u:
            d, _ = u.recvfrom(65536); out.write("udp " + d.decode("utf-8", "replace") + "\n")
        elif s is l:
            c, _ = l.accept(); conns[c] = b""
        else:
            d = s.recv(65536)
            if not d:
                del conns[s]; s.close(); continue
            buf = conns[s] + d
            while True:
                sp = buf.find(b" ")
                if sp < 0 or not buf[:sp].isdigit():
                    if buf and sp >= 0: out.write("tcp-BAD " + buf.decode("utf-8", "replace") + "\n"); buf = b""
                    break
                n = int(buf[:sp])
                if len(buf) < sp + 1 + n: break
                out.write("tcp " + buf[sp + 1:sp + 1 + n].decode("utf-8", "replace") + "\n")
                buf = buf[sp + 1 + n:]
            conns[s] = buf
