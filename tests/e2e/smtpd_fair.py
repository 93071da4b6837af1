#!/usr/bin/python3
"""Load driver of tests/e2e/smtpd_fair.sh (issue 20): hostile LAN hosts
against one legitimate client, all over loopback source addresses.

  smtpd_fair.py PORT PID ATTACK_SECONDS

Attackers (each loop reopens a session as soon as one ends, so the pool
stays full):
  127.0.0.2  per-address cap + 4 extra: idle sessions, one-octet drips in a
             command line, one-octet drips in DATA; the extras must get 421
  127.0.0.3-5 idle sessions up to the cap (fill the pool)
The legitimate client 127.0.0.9 sends 50 messages, one connection each.
Prints "key value" lines the shell suite checks.
"""
import smtplib
import socket
import sys
import threading
import time

PORT, PID, SECS = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
CAP = int(sys.argv[4]) if len(sys.argv) > 4 else 8
stop = threading.Event()
lock = threading.Lock()
stats = {}          # kind -> list of (lifetime s, last reply)
refused = []        # first lines of refused connections
rss_max = [0]
anon_max = [0]
# glibc's pages at the moment of the largest RSS: a router build links
# uClibc-ng (or musl) statically, so the host's shared C library is the one
# part of the host RSS that the appliance does not have in this form
libc_at_max = [0]
GLIBC = ("/libc.so", "/ld-linux", "/libm.so", "/libpthread.so", "/libdl.so", "/libresolv.so")


def glibc_rss():
    kib, name = 0, ""
    with open("/proc/%d/smaps" % PID) as f:
        for line in f:
            head = line.split(None, 6)
            if head and "-" in head[0] and len(head) >= 5:
                name = head[5].strip() if len(head) > 5 else ""
            elif line.startswith("Rss:") and any(g in name for g in GLIBC):
                kib += int(line.split()[1])
    return kib


def rec(kind, life, last):
    with lock:
        stats.setdefault(kind, []).append((life, last))


def connect(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", PORT))
    return s


def readline(s):
    buf = b""
    while not buf.endswith(b"\r\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf.decode(errors="replace").strip()


def drain(s):
    """Wait for the server to end the session; its last line."""
    last = ""
    s.settimeout(60)
    data = b""
    try:
        while True:
            c = s.recv(4096)
            if not c:
                break
            data += c
    except OSError:
        pass
    lines = [x for x in data.decode(errors="replace").split("\r\n") if x]
    if lines:
        last = lines[-1]
    return last


def pause(s, secs):
    """Sleep secs unless the server speaks first: then its lines until close."""
    s.settimeout(secs)
    try:
        c = s.recv(4096)
    except socket.timeout:
        return None
    s.settimeout(30)
    return (c.decode(errors="replace") if c else "") + "\r\n" + drain(s)


def lastline(text):
    lines = [x for x in text.split("\r\n") if x]
    return lines[-1] if lines else ""


def one(src, kind):
    """One attacker session; returns False if refused at connect."""
    t0 = time.monotonic()
    try:
        s = connect(src)
        g = readline(s)
    except OSError as e:
        rec(kind + "-error", 0, str(e))
        time.sleep(0.2)
        return True
    if not g.startswith("220"):
        with lock:
            refused.append((src, g))
        s.close()
        return False
    last = ""
    try:
        if kind == "idle":
            last = drain(s)
        elif kind == "dripcmd":
            for ch in b"EHLO " + b"x" * 200:
                if stop.is_set():
                    break
                s.send(bytes([ch]))
                r = pause(s, 0.25)
                if r is not None:
                    last = lastline(r)
                    break
        elif kind == "dripdata":
            s.sendall(b"EHLO drip.test\r\n")
            while not readline(s).startswith("250 "):
                pass
            s.sendall(b"MAIL FROM:<alice@example.test>\r\n")
            readline(s)
            s.sendall(b"RCPT TO:<bob@remote.example>\r\n")
            readline(s)
            s.sendall(b"DATA\r\n")
            readline(s)
            s.sendall(b"From: alice@example.test\r\nSubject: drip\r\n\r\n")
            for _ in range(400):
                if stop.is_set():
                    break
                s.send(b"z")
                r = pause(s, 0.25)
                if r is not None:
                    last = lastline(r)
                    break
    except OSError:
        last = last or "reset"
    s.close()
    if not stop.is_set():   # ended by the server, not by the end of the test
        rec(kind, time.monotonic() - t0, last)
    return True


def attacker(src, kind):
    while not stop.is_set():
        if not one(src, kind):
            time.sleep(0.5)     # refused: try again (bounded connection count)


def rss_watch():
    while not stop.is_set():
        try:
            for line in open("/proc/%d/status" % PID):
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    if rss > rss_max[0]:
                        rss_max[0] = rss
                        libc_at_max[0] = glibc_rss()
                if line.startswith("RssAnon:"):
                    anon_max[0] = max(anon_max[0], int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.1)


threads = [threading.Thread(target=rss_watch, daemon=True)]
# 127.0.0.2: the cap's worth of mixed sessions plus 4 that must be refused
kinds = (["idle"] * 2 + ["dripcmd"] * 3 + ["dripdata"] * 3)[:CAP]
kinds += ["idle"] * (CAP - len(kinds)) + ["idle"] * 4
for k in kinds:
    threads.append(threading.Thread(target=attacker, args=("127.0.0.2", k), daemon=True))
for src in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
    for _ in range(CAP):
        threads.append(threading.Thread(target=attacker, args=(src, "idle"), daemon=True))
for t in threads:
    t.start()
time.sleep(2.0)     # the pool is full, the first sessions idle for a while

t0 = time.monotonic()
ok = 0
fails = []
body = "".join("line %03d of a small report from the office printer\r\n" % i for i in range(40))
for i in range(50):
    for attempt in range(40):
        try:
            c = smtplib.SMTP(timeout=20, source_address=("127.0.0.9", 0))
            c.connect("127.0.0.1", PORT)
            c.ehlo("printer.example.test")
            c.sendmail("alice@example.test", ["bob@remote.example"],
                       "From: alice@example.test\r\nSubject: legit %d\r\n\r\n%s" % (i, body))
            c.quit()
            ok += 1
            break
        except (smtplib.SMTPException, OSError) as e:
            fails.append("%d/%d: %s" % (i, attempt, e))
            time.sleep(0.25)
legit_secs = time.monotonic() - t0
time.sleep(max(0.0, SECS - (time.monotonic() - t0)))
stop.set()
time.sleep(0.5)

print("legit_ok", ok)
print("legit_seconds %.1f" % legit_secs)
print("legit_retries", len(fails))
for f in fails[:5]:
    print("legit_fail", f)
print("rss_max_kib", rss_max[0])
print("rss_anon_max_kib", anon_max[0])
print("rss_glibc_at_max_kib", libc_at_max[0])
print("rss_without_glibc_kib", rss_max[0] - libc_at_max[0])
with lock:
    for kind in ("idle", "dripcmd", "dripdata"):
        lst = stats.get(kind, [])
        print("%s_sessions %d" % (kind, len(lst)))
        if lst:
            print("%s_max_life %.1f" % (kind, max(x[0] for x in lst)))
            codes = {}
            for _, last in lst:
                codes[last[:9]] = codes.get(last[:9], 0) + 1
            print("%s_last %s" % (kind, sorted(codes.items())))
    rc = {}
    for src, g in refused:
        rc[(src, g[:9])] = rc.get((src, g[:9]), 0) + 1
    for (src, code), n in sorted(rc.items()):
        print("refused %s %s %d" % (src, code.replace(" ", "_"), n))
    for k in sorted(stats):
        if k.endswith("-error"):
            print("%s %d" % (k, len(stats[k])))
