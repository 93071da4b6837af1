#!/usr/bin/python3
"""Per-message latency under load: S concurrent plain SMTP sessions, each
sending its share of N messages one per connection (as smtp-source does):
connect, EHLO, MAIL, RCPT, DATA, the message, QUIT. A message's latency is
from the connect to the 250 after its final dot. Prints one line:
  msgs=N ok=K secs=T rate=R p50=A p99=B max=C   (milliseconds)
usage: smtp_lat.py HOST PORT N S MESSAGE_FILE
"""
import asyncio
import sys
import time

host, port, total, sessions, path = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                     int(sys.argv[4]), sys.argv[5])
body = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
body = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in body.split(b"\r\n"))
if not body.endswith(b"\r\n"):
    body += b"\r\n"
lat, failed = [], [0]
left = [total]


async def reply(r):
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def one(n):
    t0 = time.monotonic()
    r, w = await asyncio.open_connection(host, port)
    try:
        if await reply(r) != 220:
            raise ConnectionError("greeting")
        for cmd, want in ((b"EHLO lat.test", 250), (b"MAIL FROM:<alice@example.test>", 250),
                          (b"RCPT TO:<bob%d@remote.example>" % n, 250), (b"DATA", 354)):
            w.write(cmd + b"\r\n")
            if await reply(r) != want:
                raise ConnectionError(cmd.decode())
        w.write(body + b".\r\n")
        if await reply(r) != 250:
            raise ConnectionError("dot")
        lat.append((time.monotonic() - t0) * 1000)
        w.write(b"QUIT\r\n")
        await reply(r)
    finally:
        w.close()


async def worker():
    while left[0] > 0:
        left[0] -= 1
        try:
            await one(left[0])
        except (ConnectionError, OSError):
            failed[0] += 1


async def main():
    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(sessions)))
    secs = time.monotonic() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0
    print("msgs=%d ok=%d secs=%.2f rate=%.1f p50=%.1f p99=%.1f max=%.1f" %
          (total, len(lat), secs, len(lat) / secs, q(0.50), q(0.99), lat[-1] if lat else 0))

asyncio.run(main())
