#!/usr/bin/env python3
# tests/e2e/lwip.sh: a tiny DNS responder on ADDR:53, UDP and TCP. An A
# question for host.* or big.* is answered 192.0.2.77, big.* over UDP only
# with TC set (the client must ask again over TCP); each question is logged
# ("Q udp|tcp NAME CLASS TYPE").
import socket, socketserver, struct, sys, threading
import dns.message, dns.rrset, dns.flags, dns.rcode
addr = sys.argv[1]
def answer(wire, tcp):
    q = dns.message.from_wire(wire)
    print("Q", "tcp" if tcp else "udp", q.question[0], flush=True)
    r = dns.message.make_response(q)
    name = q.question[0].name
    if q.question[0].rdtype == 1 and str(name).startswith(("host.", "big.")):
        if str(name).startswith("big.") and not tcp:
            r.flags |= dns.flags.TC
        else:
            r.answer.append(dns.rrset.from_text(name, 300, "IN", "A", "192.0.2.77"))
    else:
        r.set_rcode(dns.rcode.NXDOMAIN) if q.question[0].rdtype == 1 else None
    return r.to_wire()
class U(socketserver.BaseRequestHandler):
    def handle(self):
        data, s = self.request
        s.sendto(answer(data, False), self.client_address)
class T(socketserver.BaseRequestHandler):
    def handle(self):
        n = struct.unpack("!H", self.request.recv(2))[0]
        data = b""
        while len(data) < n: data += self.request.recv(n - len(data))
        out = answer(data, True)
        self.request.sendall(struct.pack("!H", len(out)) + out)
socketserver.ThreadingUDPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.allow_reuse_address = True
u = socketserver.ThreadingUDPServer((addr, 53), U)
t = socketserver.ThreadingTCPServer((addr, 53), T)
threading.Thread(target=u.serve_forever, daemon=True).start()
print("ready", flush=True)
t.serve_forever()
