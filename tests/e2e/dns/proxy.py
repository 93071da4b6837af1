#!/usr/bin/python3
"""A broken DNS forwarder for zegel's e2e tests (Debian's python3-dnspython).

    proxy.py MODE LISTEN_IP PORT UPSTREAM_IP UPSTREAM_PORT

MODE:
  strip-rrsig  remove every RRSIG (a resolver that strips signatures)
  strip-auth   remove NSEC/NSEC3 and their RRSIGs from the authority section
  drop-cd      forward with the CD bit cleared (to a validating upstream)
  truncate     answer every UDP query with TC=1 and no records; no TCP
  record:FILE  pass everything through; append each answer to FILE as a
               2-octet length and the message (for tests/vectors/dns/tree)
UDP only: with no TCP listener, a TCP retry is refused.
"""
import socket
import sys

import dns.flags
import dns.message
import dns.rdatatype

mode, lip, lport, uip, uport = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((lip, lport))
DENIAL = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)


def forward(wire):
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.settimeout(3)
    try:
        up.sendto(wire, (uip, uport))
        return up.recvfrom(65535)[0]
    except OSError:
        return None
    finally:
        up.close()


while True:
    data, peer = sock.recvfrom(65535)
    try:
        q = dns.message.from_wire(data)
    except Exception:
        continue
    if mode == "truncate":
        r = dns.message.make_response(q)
        r.flags |= dns.flags.TC
        sock.sendto(r.to_wire(), peer)
        continue
    if mode == "drop-cd":
        q.flags &= ~dns.flags.CD
    ans = forward(q.to_wire())
    if ans is None:
        continue
    if mode.startswith("record:"):
        with open(mode[7:], "ab") as f:
            f.write(len(ans).to_bytes(2, "big") + ans)
        sock.sendto(ans, peer)
        continue
    r = dns.message.from_wire(ans)
    if mode == "strip-rrsig":
        for sec in (r.answer, r.authority, r.additional):
            sec[:] = [s for s in sec if s.rdtype != dns.rdatatype.RRSIG]
    elif mode == "strip-auth":
        r.authority[:] = [s for s in r.authority
                          if s.rdtype not in DENIAL and s.covers not in DENIAL]
    sock.sendto(r.to_wire(max_size=65535), peer)
