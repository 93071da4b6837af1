#!/usr/bin/env python3
"""A minimal SMTP receiver with STARTTLS (Python's ssl = OpenSSL) for
tests/e2e/check_domain.sh: the MX host whose certificate the TLSA records
of the test zones name (or do not). smtp_tls.py IP PORT CERTCHAIN KEY"""
import socket
import ssl
import sys
import threading

ip, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def serve(c):
    f = c.makefile("rwb", buffering=0)
    tls = False
    try:
        f.write(b"220 mx.test ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                f.write(b"250-mx.test\r\n" + (b"" if tls else b"250-STARTTLS\r\n") + b"250 8BITMIME\r\n")
            elif verb == b"STAR" and not tls:
                f.write(b"220 go ahead\r\n")
                c = ctx.wrap_socket(c, server_side=True)
                f = c.makefile("rwb", buffering=0)
                tls = True
            elif verb == b"QUIT":
                f.write(b"221 bye\r\n")
                return
            else:
                f.write(b"250 ok\r\n")
    except (OSError, ssl.SSLError):
        return
    finally:
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port))
s.listen(8)
while True:
    conn, _ = s.accept()
    conn.settimeout(20)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
