#!/usr/bin/env python3
"""The MTA-STS policy server of the DANE test world (tests/e2e/mta_sts.sh).

sts_server.py IP PORT CHAIN KEY WWW LOG

HTTPS (the test PKI's certificate for every mta-sts.CASE.dane) on IP:PORT.
GET /.well-known/mta-sts.txt answers with the file WWW/HOST (HOST from the
Host header, without a port) as text/plain; a file whose first line is
"REDIRECT URL" answers 301 to URL instead (RFC 8461 3.3: clients must not
follow). No file: 404. Each request is logged to LOG as "HOST PATH STATUS". After a
200 the connection stays open whatever the client's "Connection: close"
asked: the client must end at Content-Length, not wait for the close.
"""
import http.server
import os
import ssl
import sys

ip, port, chain, key, www, log = sys.argv[1:7]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, host, status):
        with open(log, "a") as f:
            f.write("%s %s %d\n" % (host, self.path, status))

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = os.path.join(www, os.path.basename(host))
        if self.path != "/.well-known/mta-sts.txt" or not os.path.isfile(path):
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.note(host, 404)
            return
        with open(path, "rb") as f:
            body = f.read()
        if body.startswith(b"REDIRECT "):
            self.send_response(301)
            self.send_header("Location", body.split()[1].decode())
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.note(host, 301)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = False
        self.note(host, 200)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
srv = http.server.ThreadingHTTPServer((ip, int(port)), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
