#!/usr/bin/env python3
"""Fake NTP server for tests/e2e/clock_ntp.sh, on 127.0.0.1:PORT (UDP).
usage: fakentp.py PORT SKEW_SECONDS [kod CODE | stratum N | zero-xmt]
Answers every client request with the time SKEW_SECONDS off the real one,
or with a kiss-o'-death, an unsynchronised stratum, a zero transmit time."""
import socket, struct, sys, time
port = int(sys.argv[1]); skew = float(sys.argv[2]); mode = sys.argv[3:]
D = 2208988800
def ts(t):
    s = int(t); f = int((t - s) * 2**32)
    return struct.pack("!II", (s + D) & 0xffffffff, f)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
while True:
    data, peer = s.recvfrom(512)
    if len(data) < 48 or data[0] & 7 != 3:
        continue
    rx = time.time() + skew
    stratum = 2; refid = b"GPS\0"
    if mode[:1] == ["kod"]:
        stratum = 0; refid = mode[1].encode()[:4].ljust(4, b"\0")
    if mode[:1] == ["stratum"]:
        stratum = int(mode[1])
    origin = data[40:48]
    hdr = bytes([0 << 6 | 4 << 3 | 4, stratum, 6, 0xec]) + b"\0" * 8 + refid
    xmt = b"\0" * 8 if mode[:1] == ["zero-xmt"] else ts(time.time() + skew)
    pkt = hdr + ts(rx) + origin + ts(rx) + xmt
    s.sendto(pkt, peer)
