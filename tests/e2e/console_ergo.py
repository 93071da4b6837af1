#!/usr/bin/python3
# The console on a real terminal (pexpect), for tests/e2e/console_ergo.sh:
# abbreviations, an ambiguous prefix, Tab, '?', sizes, `show status` with a
# line per module, and the `show running secrets` export pasted back into a
# fresh zegel rebuilding the same running configuration. Prints one
# "PASS what" or "FAIL what: detail" line per check.
#   console_ergo.py ZEGEL DIR SUBMISSION_PORT BUSY_PORT DEAD_DNS LIVE_DNS
import re
import smtplib
import socket
import sys
import threading
import time

import pexpect

z, d, sub_port, busy_port, dead_dns, live_dns = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
fails = 0


def res(what, ok, detail=""):
    global fails
    if ok:
        print("PASS " + what, flush=True)
    else:
        fails += 1
        print("FAIL " + what + ": " + detail.replace("\n", "\\n")[-600:], flush=True)


def clean(s):
    s = re.sub(r"\x1b\[[0-9]*[A-Za-z]", "", s)
    return s.replace("\r", "")


class Con:
    def __init__(self, conf):
        self.p = pexpect.spawn(z, ["run", "--config", conf], timeout=10, encoding="utf-8",
                               cwd=d, dimensions=(50, 400))
        self.p.expect_exact("zegel> ")

    def run(self, line):
        """Type line and Enter on a fresh line; the output up to the next
        prompt (Ctrl-C first: whatever keys() left is dropped, and the
        prompts drawn again after Tab or '?' are behind us)."""
        self.p.send("\x03")
        self.p.expect(r"\^C\r*\nzegel> ")
        self.p.send(line + "\r")
        self.p.expect_exact("zegel> ")
        return clean(self.p.before)

    def enter(self):
        """Enter on the line as edited so far; the output up to the prompt."""
        self.p.send("\r")
        self.p.expect(r"\r*\nzegel> ")
        return clean(self.p.before)

    def keys(self, s, expect):
        """Type keys without Enter; wait for text expect; what came."""
        self.p.send(s)
        try:
            self.p.expect_exact(expect)
            return True, clean(self.p.before + self.p.after)
        except pexpect.TIMEOUT:
            return False, clean(self.p.before)

    def close(self):
        self.p.send("\x15exit\r")
        i = self.p.expect(["enter exit again", pexpect.EOF])
        if i == 0:
            self.p.send("exit\r")
            self.p.expect(pexpect.EOF)
        self.p.close()


# a port zegel cannot bind: its listener must show as NOT listening
busy = socket.socket()
busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
busy.bind(("127.0.0.1", busy_port))
busy.listen(1)


# a DNS server that answers every query REFUSED (reachable, says no)
def dns_refuser(sock):
    while True:
        try:
            q, a = sock.recvfrom(4096)
        except OSError:
            return
        if len(q) >= 12:
            r = bytearray(q)
            r[2] = (q[2] | 0x80) & 0xF9  # QR, no AA/TC; RD kept
            r[3] = 0x85  # RA, REFUSED
            sock.sendto(bytes(r), a)


live = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
live.bind(("127.0.0.1", live_dns))
threading.Thread(target=dns_refuser, args=(live,), daemon=True).start()

c = Con(d + "/zegel.conf")

# --- abbreviations
out = c.run("sh ver")
res("'sh ver' is show version", "board: " in out, out)
out = c.run("s")
res("'s' is ambiguous and the error names the choices",
    "error: ambiguous: 's' could be show, set, save" in out, out)
out = c.run("se rel pas x")
res("an ambiguous setting word names its choices",
    "error: set relay: ambiguous: 'pas' could be password, password-sealed" in out, out)
out = c.run("help sh run")
res("help takes abbreviations too", "usage: show running [secrets]" in out, out)

# --- Tab
ok, out = c.keys("sh\t", "show ")
res("Tab completes a unique first word", ok, out)
ok, out = c.keys("ru\t", "running ")
res("Tab completes the second word", ok, out)
out = c.enter()
res("the completed line runs", "set hostname mx.zegel.test" in out, out)
ok, out = c.keys("s\t", "show, set, save")
res("Tab on an ambiguous prefix lists the candidates", ok, out)
ok, out = c.keys("", "zegel> s")
res("... and draws the line again", ok, out)
ok, out = c.keys("\x15set relay sm\t", "smarthost ")
res("Tab completes a setting from the grammar", ok, out)

# --- ?
ok, out = c.keys("\x15?", "commit ")
ok2, out2 = c.keys("", "zegel> ")
res("'?' lists the commands with their help",
    ok and ok2 and "validate and apply" in out2 and "stop zegel" in out2, out + out2)
ok, out = c.keys("set relay ?", "smarthost")
ok2, out2 = c.keys("", "zegel> set relay ")
res("'?' after 'set relay' lists its settings with usages and keeps the line",
    ok and ok2 and "HOST[:PORT]" in out2 and "  outbox " in out, out + out2)
ok, out = c.keys("\x15sh ru ?", "usage: show running [secrets]")
res("'?' where arguments follow shows the usage", ok, out)
out = c.run("sh ru sec")
res("an abbreviated keyword argument: 'sh ru sec' is show running secrets",
    "# SECRET" in out, out)

# --- sizes
out = c.run("se mess 10M")
out += c.run("se qu max-s 1G")
out += c.run("se qu min-f 512K")
out += c.run("com")
res("sizes with M, G and K are taken", "commit: ok" in out and "error" not in out, out)
out = c.run("sh run")
res("show running shows them the same way",
    "set message-size-limit 10M" in out and "set queue max-size 1G" in out and
    "set queue min-free 512K" in out, out)
out = c.run("se mess 100G")
res("a size too large names the setting and the limit, not a build symbol",
    "error: set message-size-limit: '100G' is not a size from 1K to" in out and
    "CONFIG_" not in out, out)

# --- show status: one line per module
msg = "From: a@example.test\r\nTo: b@example.net\r\nSubject: ergo\r\n\r\nhello\r\n"
try:
    with smtplib.SMTP("127.0.0.1", sub_port, timeout=10) as s:
        s.sendmail("a@example.test", ["b@example.net"], msg)
    sent = True
except Exception as e:  # the status check below then fails with it
    sent = repr(e)
out = c.run("check domain example.test")
deadline = time.time() + 40
while True:
    out = c.run("sh stat")
    if "NOT ANSWERING" in out or time.time() > deadline:
        break
    time.sleep(1)
lines = out.split("\n")


def line(prefix, pattern):
    return any(l.startswith(prefix) and re.search(pattern, l) for l in lines)


res("status: a line per listener, listening", line(
    "listener submission 127.0.0.1:%d" % sub_port, r"\(STARTTLS\): listening$"), out)
res("status: a listener whose port is taken says NOT listening and retried",
    line("listener busy 127.0.0.1:%d" % busy_port, r"NOT listening: .*retried"), out)
res("status: the relay's mode and its last result (%s)" % ("message sent" if sent is True else sent),
    sent is True and line("relay: outbox ", r"last result: .*status=sent"), out)
res("status: the queue", line("queue: ", r"not used|messages"), out)
res("status: a resolver that does not answer says so",
    line("resolver: 127.0.0.1:%d" % dead_dns, r"NOT ANSWERING: the last \d+ attempts"), out)
res("status: the clock", line("clock: ", r"plausible"), out)
res("status: the keys", line("dkim keys: ", r"\d+ active"), out)
res("status: sessions", line("smtp sessions: ", r"open"), out)

out = c.run("se resolver 127.0.0.1:%d" % live_dns)
out += c.run("del resolver 127.0.0.1:%d" % dead_dns)
out += c.run("com")
out += c.run("check domain example.test")
deadline = time.time() + 30
while True:
    out = c.run("sh stat")
    if "reachable: last answer" in out or time.time() > deadline:
        break
    time.sleep(1)
lines = out.split("\n")
res("status: a resolver that answers is reachable",
    line("resolver: 127.0.0.1:%d" % live_dns, r"reachable: last answer \d+ s ago"), out)

# --- the export pasted back
for l in ['se rel smart mail.example.net:2525', 'se rel user "office@example.test"',
          'se rel password "Pa ss?\\"q\\" \\\\ x"', 'set user bob password "b?b pw"',
          "com"]:
    out = c.run(l)
    if "error" in out:
        res("configure secrets: " + l, False, out)
export = c.run("show running secrets")
running = c.run("show running")
c.close()
exp_lines = [l for l in export.split("\n") if l.startswith(("set ", "# "))]
res("the export holds the relay password in clear, quoted",
    'set relay password "Pa ss?\\"q\\" \\\\ x"' in exp_lines, export)

with open(d + "/fresh.conf", "w") as f:
    f.write("set data-dir %s/data\n" % d)
busy.close()  # the fresh zegel may bind it
c2 = Con(d + "/fresh.conf")
# a paste: every line at once, as a terminal sends it
c2.p.send("".join(l + "\r" for l in exp_lines) + "commit\r")
c2.p.expect(r"commit: [^\r\n]*")
pasted = clean(c2.p.before + c2.p.after)
export2 = c2.run("show running secrets")
running2 = c2.run("show running")
res("the pasted export is taken without an error (no '?' help, no Tab)",
    "error" not in pasted and "commit: ok" in pasted and "usage:" not in pasted, pasted)


def sets(s):
    return sorted(l for l in s.split("\n") if l.startswith("set "))


res("the paste rebuilds the same running configuration, secrets included",
    sets(export) == sets(export2) and len(sets(export)) > 10,
    "\n".join(set(sets(export)) ^ set(sets(export2))))
res("... and the same show running", sets(running) == sets(running2),
    "\n".join(set(sets(running)) ^ set(sets(running2))))
c2.close()
live.close()
sys.exit(1 if fails else 0)
