#!/usr/bin/python3
"""Record the TPM 2.0 commands and responses between zegel and swtpm.

usage: capture.py LISTEN_PORT SWTPM_PORT OUT
Listens on 127.0.0.1:LISTEN_PORT, forwards each connection to swtpm's raw
command channel on 127.0.0.1:SWTPM_PORT and appends "cmd HEX" / "rsp HEX"
lines to OUT (one TPM command or response a line, framed by the size field
of its 10-byte header). Stops after the first connection closes.
"""
import socket
import sys


def read_msg(s):
    hdr = b""
    while len(hdr) < 10:
        b = s.recv(10 - len(hdr))
        if not b:
            return None
        hdr += b
    size = int.from_bytes(hdr[2:6], "big")
    body = b""
    while len(body) < size - 10:
        b = s.recv(size - 10 - len(body))
        if not b:
            return None
        body += b
    return hdr + body


def main():
    lport, tport, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(1)
    c, _ = ls.accept()
    t = socket.create_connection(("127.0.0.1", tport))
    with open(out, "a") as f:
        while True:
            m = read_msg(c)
            if m is None:
                break
            t.sendall(m)
            r = read_msg(t)
            if r is None:
                break
            f.write("cmd %s\nrsp %s\n" % (m.hex(), r.hex()))
            c.sendall(r)
    c.close()
    t.close()


main()
