#!/usr/bin/python3
"""Boot test of the lwIP firmware images (make image VARIANT=lwip LIBC=glibc).

    /usr/bin/python3 tests/qemu/lwip_driver.py BOARD:IMAGEDIR:PORT1:PORT2

Called by tests/qemu/lwip_image.sh after it built the images. The guest gets
two NICs (scripts/qemu-run.sh --lwip), each on its own QEMU user-mode network:
eth0 has the kernel's 10.0.2.15 (init), eth1 is up with no kernel address
(init's zegel_link=eth1) and zegel's lwIP owns it through a packet socket
(hal/lwip/packetif.c) at 10.0.2.16. PORT1 forwards to the kernel's eth0:587,
PORT2 to lwIP's 10.0.2.16:587 on eth1. The data disk comes seeded with the
configuration (key, domain, outbox, listener, `set lwip driver packet` ...).

  boot     init brought eth0 up with an address, eth1 up without one, and
           reports the kernel has no address (IPv4 or IPv6) on eth1
  lwip     `show lwip` over the serial console: eth1, driver packet, the MAC
           derived from eth1's (52:54:00:12:34:57: ...:0d), link up,
           10.0.2.16/24 via 10.0.2.2, the pool counters
  mail     swaks through PORT1 (the kernel's eth0) gets no SMTP greeting;
           swaks with STARTTLS through PORT2 (lwIP on eth1) submits a message;
           `show lwip` has a TCP PCB peak of at least 1 afterwards
  again    `exit`: init starts zegel again, says the kernel still has no
           address on eth1, and lwIP takes eth1 again (`show lwip`)
  host     power cut; on a copy of the disk: one message in /outbox, and it
           verifies with dkimpy (signed in the guest); no boot hit the
           seccomp filter

Prints TAP. Serial transcripts: build/test-logs/qemu-<board>-lwip.log.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pexpect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boot_driver as bd  # noqa: E402
from boot_driver import tap, clean, BootError, TOP, LOGS, DOMAIN, SELECTOR  # noqa: E402

LWIP_IP = "10.0.2.16"
NIC2_MAC = "52:54:00:12:34:57"  # scripts/qemu-run.sh --lwip
# hal/lwip/packetif.c: the interface's MAC, locally administered, last byte ^ 0x5a
LWIP_MAC = "52:54:00:12:34:%02x" % (0x57 ^ 0x5a)


class LwipGuest(bd.Guest):
    """boot_driver's Guest with the second NIC (qemu-run.sh --lwip --fwd2)."""

    def __init__(self, board, disk, image, port1, port2, tag):  # pylint: disable=super-init-not-called
        self.board = board
        args = [os.path.join(TOP, "scripts/qemu-run.sh"), board, "--test", "--disk", disk,
                "--image", image, "--fwd", "%d:587" % port1, "--fwd2", "%d:587" % port2]
        os.makedirs(LOGS, exist_ok=True)
        self.log = open(os.path.join(LOGS, "qemu-%s-%s.log" % (board, tag)), "w")
        self.t0 = time.monotonic()
        self.p = pexpect.spawn(args[0], args[1:], encoding="utf-8", codec_errors="replace",
                               timeout=bd.CMD_TIMEOUT, dimensions=(50, 200))
        self.p.logfile_read = self.log

    def settle(self):
        """Let the start-up's network log lines pass before typing: QEMU's
        router advertisement makes zegel log its IPv6 default router a
        moment after the prompt (at most a few seconds)."""
        try:
            self.p.expect("IPv6 default router [^\r\n]*", timeout=8)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pass


def swaks(port, tls, subject):
    args = ["swaks", "--server", "127.0.0.1", "--port", str(port), "--ehlo", "printer.lan",
            "--from", "scanner@" + DOMAIN, "--to", "someone@example.net",
            "--header", "Subject: " + subject, "--body", "Page 1 of 1.\n", "--timeout", "30"]
    if tls:
        args.append("--tls")
    return subprocess.run(args, capture_output=True, text=True, timeout=90)


def show_lwip_ok(board, out, what):
    lines = out.splitlines()
    want_if = "lwip interface eth1 (packet), mac %s, link up, up" % LWIP_MAC
    pools = [l for l in lines if l.startswith("lwip pool ")]
    return tap(want_if in lines
               and ("lwip ipv4 %s netmask 255.255.255.0 gateway 10.0.2.2" % LWIP_IP) in lines
               and len(pools) == 5 and all(
                   re.match(r"lwip pool \S+ +\d+ used, \d+ peak, \d+ max, 0 refused$", l)
                   for l in pools),
               "%s: %s: show lwip: eth1 through the packet driver, MAC %s (eth1's %s), "
               "10.0.2.16/24 via 10.0.2.2, five pool counters, nothing refused"
               % (board, what, LWIP_MAC, NIC2_MAC), out)


def kernel_none(board, text, what):
    m = re.findall(r"init: eth1: the kernel's addresses on it:(.*)", text)
    return tap(len(m) >= 1 and m[-1].strip() == "none",
               "%s: %s: init reads back no kernel address (IPv4 or IPv6) on eth1" % (board, what),
               text[-1500:])


def run_board(board, image, port1, port2):
    work = tempfile.mkdtemp(prefix="zegel-qemu-lwip-%s." % board)
    guest = None
    stage = ["setup"]
    try:
        seed = os.path.join(work, "seed")
        pub = bd.make_key(os.path.join(seed, "keys"))
        config = [
            "set hostname mx.%s" % DOMAIN,
            "set domain %s" % DOMAIN,
            "set key %s domain %s file /data/keys/%s.key" % (SELECTOR, DOMAIN, SELECTOR),
            "set relay outbox /data/outbox",
            "set listener submission 0.0.0.0:587 mode starttls",
            "set network 10.0.2.0/24",
            "set lwip driver packet",
            "set lwip interface eth1",
            "set lwip address %s/24" % LWIP_IP,
            "set lwip gateway 10.0.2.2",
        ]
        with open(os.path.join(seed, "zegel.conf"), "w") as f:
            f.write("\n".join(config) + "\n")
        disk = os.path.join(work, "data.img")
        subprocess.run([os.path.join(TOP, "scripts/image-disk.sh"), disk, "16", seed],
                       check=True, capture_output=True)

        stage[0] = "boot"
        guest = LwipGuest(board, disk, image, port1, port2, "lwip")
        try:
            t = guest.boot()
        finally:
            il = getattr(guest, "init_log", None)
            if il is not None:
                tap("eth0 up 10.0.2.15/24 via 10.0.2.2" in il
                    and "eth1 up without an address, for zegel's own network stack" in il,
                    "%s: init brought eth0 up with the kernel's 10.0.2.15 and eth1 up without "
                    "an address (zegel_link=eth1)" % board, il)
                kernel_none(board, il, "boot")
        tap(True, "%s: console prompt after %.1f s" % (board, t))
        guest.settle()
        stage[0] = "show lwip"
        show_lwip_ok(board, guest.cmd("show lwip"), "boot")
        running = bd.config_lines(guest.cmd("show running"))
        missing = [c for c in config if not any(l.startswith(c) for l in running)]
        tap(not missing, "%s: the seeded configuration runs (%d lines)" % (board, len(config)),
            "missing: %s\n%s" % (missing, "\n".join(running)))

        stage[0] = "mail"
        # the kernel's eth0 has no port 587: QEMU accepts on the host side,
        # the guest's kernel resets, swaks sees no greeting
        sw = swaks(port1, False, "to the kernel's eth0")
        tap(sw.returncode != 0 and not re.search(r"^<- +220 ", sw.stdout, re.M),
            "%s: through 127.0.0.1:%d (the kernel's eth0) no SMTP server answers (swaks exit %d)"
            % (board, port1, sw.returncode), sw.stdout + sw.stderr)
        sw = swaks(port2, True, "scan from the lwip qemu test")
        tap(sw.returncode == 0 and re.search(r"^<- +220 ", sw.stdout, re.M) is not None,
            "%s: swaks submitted a message over STARTTLS through 127.0.0.1:%d (lwIP's "
            "10.0.2.16 on eth1)" % (board, port2), sw.stdout + sw.stderr)
        out = guest.cmd("show lwip")
        m = re.search(r"^lwip pool tcp +\d+ used, (\d+) peak", out, re.M)
        tap(m is not None and int(m.group(1)) >= 1,
            "%s: show lwip: lwIP's TCP PCB pool peaked at %s (the submission was lwIP's)"
            % (board, m.group(1) if m else "?"), out)

        stage[0] = "restart"
        guest.p.send("exit\r")
        i = guest.p.expect(["init: zegel exited with status [0-9]+", pexpect.TIMEOUT, pexpect.EOF],
                           timeout=bd.CMD_TIMEOUT)
        again = i == 0 and guest.p.expect(["init: starting zegel run", pexpect.TIMEOUT,
                                           pexpect.EOF], timeout=bd.CMD_TIMEOUT) == 0
        text = clean(guest.p.before)
        tap(again, "%s: after `exit` init starts zegel again" % board, text)
        if again:
            kernel_none(board, text, "after the submission")
            guest.prompt()
            guest.settle()
            show_lwip_ok(board, guest.cmd("show lwip"), "restarted zegel")
        guest.kill()
        guest = None

        stage[0] = "host"
        ok, detail, copy = bd.disk_fsck(disk, work)
        tap(ok, "%s: data disk after the power cut: journal replays, e2fsck -fn clean" % board,
            detail)
        msgs = bd.outbox_messages(copy, work)
        tap(len(msgs) == 1, "%s: one message in /data/outbox (%s)"
            % (board, ", ".join(n for n, _ in msgs) or "none"),
            bd.debugfs(copy, "ls -l /outbox")[1])
        if msgs:
            msg = msgs[0][1]
            tap(bd.signed_by_guest(msg, pub) and b"Subject: scan from the lwip qemu test" in msg,
                "%s: the message from the guest's outbox (signed in the guest) verifies with "
                "dkimpy (d=%s s=%s)" % (board, DOMAIN, SELECTOR),
                msg[:1500].decode("utf-8", "replace"))
        with open(os.path.join(LOGS, "qemu-%s-lwip.log" % board), errors="replace") as f:
            bad = [l.strip() for l in f if "forbidden system call" in l
                   or re.search(r"zegel killed by signal (31|12)\b", l)]
        tap(not bad, "%s: no forbidden system call, no SIGSYS (seccomp)" % board,
            "\n".join(bad[:10]))
    except BootError as e:
        tap(False, "%s: %s" % (board, stage[0]), str(e))
    except (subprocess.SubprocessError, OSError) as e:
        tap(False, "%s: %s" % (board, stage[0]), repr(e))
    finally:
        if guest is not None:
            guest.kill()
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    for spec in argv[1:]:
        board, image, p1, p2 = spec.split(":")
        run_board(board, image, bd.free_port(int(p1)), bd.free_port(int(p2)))
    print("1..%d" % bd._n)  # pylint: disable=protected-access
    return 1 if bd._failed else 0  # pylint: disable=protected-access


if __name__ == "__main__":
    sys.exit(main(sys.argv))
