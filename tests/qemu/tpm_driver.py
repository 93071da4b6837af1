#!/usr/bin/python3
"""A DKIM key held in a TPM 2.0 inside the qemu-arm-virt image (issue 15).

    /usr/bin/python3 tests/qemu/tpm_driver.py BOARD:SMTPPORT

Called by tests/qemu/tpm.sh after it built the image. Reuses boot_driver.py's
Guest (serial console), TAP output and disk helpers.

  swtpm    swtpm_setup manufactures a TPM 2.0 state in a fresh directory; swtpm
           serves it on a unix control socket (`swtpm socket --ctrl
           type=unixio`); qemu-run.sh attaches it (QEMU_TPM_SOCKET: -tpmdev
           emulator, -device tpm-tis-device, the virt machine's MMIO TIS)
  guest    the kernel's TPM driver (CONFIG_TCG_TIS, built in) found it: a TPM
           device that does not exist is refused by `key generate ... rsa-tpm`,
           /dev/tpmrm0 makes the key; its DNS record read over the console
           (`key generate`, `show keys` agree); `key activate ... force`; a
           message submitted with swaks (STARTTLS, the forwarded port) is
           queued in /data/outbox
  host     the data disk (journal replayed): the message verifies with dkimpy,
           Mail::DKIM and libopendkim (OpenDKIM) against the record the guest
           printed; the key file is zegel's wrapped blob and nothing on the
           disk is a private key in clear; then swtpm is restarted on TCP with
           the same state and tpm2-tools loads the blob under the storage
           primary key: its public key is the DNS record's (the key lives in
           this TPM, nowhere else)

Prints TAP. Serial transcript: build/test-logs/qemu-<board>-tpm.log.
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boot_driver as bd  # noqa: E402

DOMAIN = "example.test"
SEL = "tpmq"
TOP = bd.TOP
tap = bd.tap


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def pidfile_kill(path):
    """End the swtpm this driver started (its pid file), wait for it to go."""
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 15)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass
    try:
        os.unlink(path)
    except OSError:
        pass


def wait_for(path, seconds=5):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def clear_keys(paths):
    """Those of the files that hold a private key in clear (PEM or DER)."""
    bad = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        if b"PRIVATE KEY" in data:
            bad.append("%s: a PEM private key" % p)
        for form in ("PEM", "DER"):
            if run(["openssl", "pkey", "-inform", form, "-in", p, "-noout"]).returncode == 0:
                bad.append("%s: a %s key openssl reads" % (p, form))
        if run(["openssl", "rsa", "-inform", "DER", "-in", p, "-noout"]).returncode == 0:
            bad.append("%s: a DER RSA key" % p)
    return bad


def run_board(board, port):
    work = tempfile.mkdtemp(prefix="zegel-qemu-tpm.")
    tpmdir = os.path.join(work, "tpm")
    sock = os.path.join(work, "swtpm.sock")
    pidf = os.path.join(work, "swtpm.pid")
    guest = None
    stage = ["swtpm"]
    try:
        # ---- swtpm: a manufactured TPM 2.0 on a unix control socket
        os.makedirs(tpmdir)
        r = run(["swtpm_setup", "--tpm2", "--tpmstate", tpmdir, "--createek", "--overwrite"])
        if not tap(r.returncode == 0, "%s: swtpm_setup manufactures a TPM 2.0 state" % board,
                   r.stdout + r.stderr):
            return
        r = run(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + tpmdir,
                 "--ctrl", "type=unixio,path=" + sock, "--pid", "file=" + pidf,
                 "--log", "file=" + os.path.join(work, "swtpm.log"), "--daemon"])
        if not tap(r.returncode == 0 and wait_for(sock),
                   "%s: swtpm serves it on a unix control socket" % board, r.stdout + r.stderr):
            return

        # ---- the guest, with the TPM attached by qemu-run.sh
        stage[0] = "boot"
        disk = os.path.join(work, "data.img")
        # A box provisioned for a TPM: its saved config keeps the TLS key in
        # the TPM from the first start (issue 15.4). Without it the first start
        # makes a file key, /data/tls/key.pem, that `set tls key-store tpm`
        # later leaves on the disk, unused.
        seed = os.path.join(work, "seed")
        os.makedirs(seed)
        with open(os.path.join(seed, "zegel.conf"), "w") as f:
            f.write("set tpm device /dev/tpmrm0\nset tls key-store tpm\n")
        run([os.path.join(TOP, "scripts/image-disk.sh"), disk, "16", seed], check=True)
        os.environ["QEMU_TPM_SOCKET"] = sock
        guest = bd.Guest(board, disk, [(port, 587)], "tpm")
        t = guest.boot()
        with open("/proc/%d/cmdline" % guest.p.pid, "rb") as f:
            qargs = f.read().split(b"\0")  # qemu-run.sh execs QEMU
        tap(b"emulator,id=tpm0,chardev=chrtpm" in qargs and b"tpm-tis-device,tpmdev=tpm0" in qargs
            and ("socket,id=chrtpm,path=" + sock).encode() in qargs,
            "%s: boots with -tpmdev emulator -device tpm-tis-device (prompt after %.1f s)"
            % (board, t), b" ".join(qargs).decode("utf-8", "replace"))
        stage[0] = "configure"
        config = [
            "set hostname mx.%s" % DOMAIN,
            "set domain %s" % DOMAIN,
            "set relay outbox /data/outbox",
            "set listener submission 0.0.0.0:587 mode starttls",
            "set network 10.0.2.0/24",
            "set resolver 127.0.0.1:1",  # no DNS leaves the test
            "set tpm device /dev/tpm7",  # no such device: the negative control
        ]
        outs = ["zegel> %s\n%s" % (c, guest.cmd(c)) for c in config]
        outs.append("zegel> commit\n" + guest.cmd("commit"))
        tap("commit: ok" in outs[-1], "%s: configured over the console (commit: ok)" % board,
            "\n".join(outs))
        stage[0] = "key generate"
        bad = guest.cmd("key generate %s nodev rsa-tpm" % DOMAIN, timeout=60)
        tap("published-pending" not in bad and "p=" not in bad,
            "%s: key generate rsa-tpm with a TPM device that is not there fails (%s)"
            % (board, (bad.splitlines() or ["no output"])[-1][:100]), bad)
        out = guest.cmd("set tpm device /dev/tpmrm0") + guest.cmd("commit")
        t0 = time.monotonic()
        gen = guest.cmd("key generate %s %s rsa-tpm" % (DOMAIN, SEL), timeout=120)
        tgen = time.monotonic() - t0
        one = re.search(r"one line \(web DNS panels\): (v=DKIM1; k=rsa; p=(\S+))", gen)
        record = one.group(1) if one else ""
        try:
            der = base64.b64decode(one.group(2), validate=True) if one else b""
        except ValueError:
            der = b""
        tap(one is not None and "key %s for %s: rsa-2048, published-pending" % (SEL, DOMAIN) in gen
            and "committed and saved" in gen and 290 <= len(der) <= 300,
            "%s: the kernel's TPM driver gives /dev/tpmrm0: key generate rsa-tpm made an "
            "RSA-2048 key in the TPM (%.1f s), committed, saved; its record read over the "
            "serial console" % (board, tgen), out + "\n" + gen)
        keys = guest.cmd("show keys %s" % DOMAIN)
        tap("algorithm: rsa-2048 (held in the TPM)" in keys and record and record in keys
            and ".tpmkey" in keys,
            "%s: show keys: held in the TPM, the same record, the file is a .tpmkey" % board, keys)
        act = guest.cmd("key activate %s %s force" % (DOMAIN, SEL), timeout=60)
        keys = guest.cmd("show keys %s" % DOMAIN)
        tap(re.search(r"key %s for %s\n  algorithm: rsa-2048 \(held in the TPM\)\n  state: active"
                      % (SEL, DOMAIN), keys) is not None,
            "%s: key activate ... force: the TPM key signs" % board, act + "\n" + keys)

        # ---- a message through the forwarded submission port
        stage[0] = "swaks"
        sw = run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--tls",
                  "--ehlo", "printer.lan", "--from", "scanner@" + DOMAIN,
                  "--to", "someone@example.net", "--header", "Subject: signed by the TPM",
                  "--header", "Message-ID: <qemu-tpm-%s@%s>" % (board, DOMAIN),
                  "--body", "Signed inside %s by a key in its TPM.\n" % board,
                  "--tls-get-peer-cert", os.path.join(work, "peer.pem"), "--timeout", "60"])
        tap(sw.returncode == 0 and re.search(r"<~ *250 ", sw.stdout) is not None,
            "%s: swaks submitted a message over STARTTLS through 127.0.0.1:%d" % (board, port),
            sw.stdout + sw.stderr)
        guest.kill()
        guest = None
        pidfile_kill(pidf)

        # ---- on the host: the outbox and the key file from the disk
        stage[0] = "host"
        ok, detail, copy = bd.disk_fsck(disk, work)
        tap(ok, "%s: data disk: journal replays, e2fsck -fn clean" % board, detail)
        dump = os.path.join(work, "disk")
        os.makedirs(dump)
        bd.debugfs(copy, "rdump / %s" % dump)
        outbox = os.path.join(dump, "outbox")
        emls = sorted(os.path.join(outbox, f) for f in os.listdir(outbox)
                      if f.endswith(".eml")) if os.path.isdir(outbox) else []
        tap(len(emls) == 1, "%s: one message in /data/outbox" % board,
            bd.debugfs(copy, "ls -l /outbox")[1])
        if emls:
            eml = emls[0]
            with open(eml, "rb") as f:
                head = f.read(4000).decode("utf-8", "replace")
            name = "%s._domainkey.%s" % (SEL, DOMAIN)
            r = run([sys.executable, os.path.join(TOP, "tests/e2e/dkim_verify.py"), "--domains",
                     DOMAIN, "--key", "%s=%s" % (name, record), eml])
            tap(r.returncode == 0 and "s=%s" % SEL in r.stdout,
                "%s: dkimpy verifies the TPM's signature (%s)" % (board, r.stdout.strip()[-60:]),
                r.stdout + r.stderr + head)
            r = run(["perl", os.path.join(TOP, "tests/e2e/dkim_verify.pl"),
                     "%s=%s" % (name, record), "--", eml])
            tap(r.returncode == 0 and r.stdout.startswith("ok "),
                "%s: Mail::DKIM verifies the TPM's signature" % board, r.stdout + r.stderr)
            odkim = os.path.join(work, "odkim")
            okeys = os.path.join(work, "okeys")
            with open(okeys, "w") as f:
                f.write("%s %s\n" % (name, record))
            r = run(["cc", "-O2", "-o", odkim,
                     os.path.join(TOP, "tests/interop/dkim_verify_opendkim.c"), "-lopendkim"])
            if r.returncode == 0:
                r = run([odkim, okeys, "1", eml])
                tap(re.search(r"\t%s\tpass" % SEL, r.stdout) is not None,
                    "%s: libopendkim (OpenDKIM) verifies the TPM's signature" % board,
                    r.stdout + r.stderr)
            else:
                tap(False, "%s: libopendkim verifier builds" % board, r.stdout + r.stderr)

        # ---- the data disk holds the wrapped blobs only
        def blob(path):
            text = open(path).read() if os.path.exists(path) else ""
            return (text, bytes.fromhex("".join(re.findall(r"^public ([0-9a-f]+)$", text, re.M))),
                    bytes.fromhex("".join(re.findall(r"^private ([0-9a-f]+)$", text, re.M))))
        kdir = os.path.join(dump, "keys", DOMAIN)
        ktext, kpub, kpriv = blob(os.path.join(kdir, SEL + ".tpmkey"))
        ttext, tpub, tpriv = blob(os.path.join(dump, "tls", "key.tpmkey"))
        parts = {}
        for name, data in (("dkim.pub", kpub), ("dkim.priv", kpriv), ("tls.pub", tpub),
                           ("tls.priv", tpriv)):
            parts[name] = os.path.join(work, name)
            with open(parts[name], "wb") as f:
                f.write(data)
        files = [os.path.join(d, n) for d, _, fs in os.walk(dump) for n in fs]
        clear = clear_keys(files + [parts["dkim.priv"], parts["tls.priv"]])
        listed = sorted(os.listdir(kdir)) if os.path.isdir(kdir) else []
        tap(ktext.startswith("zegel-tpm2-key 1\n") and ttext.startswith("zegel-tpm2-key 1\n")
            and kpub and tpub and 0 < len(kpriv) < 300 and 0 < len(tpriv) < 300 and not clear
            and listed == [SEL + ".tpmkey"],
            "%s: the disk holds only wrapped blobs (/keys/%s/%s.tpmkey, /tls/key.tpmkey: "
            "private parts %d and %d bytes); no private key in clear anywhere on it (%d files)"
            % (board, DOMAIN, SEL, len(kpriv), len(tpriv), len(files)),
            "files in keys/%s: %s\n%s\n%s" % (DOMAIN, listed, "\n".join(clear), ktext[:300]))

        # ---- cross-check: the blobs belong to this TPM (tpm2-tools on swtpm's TCP port)
        stage[0] = "tpm2-tools"
        if shutil.which("tpm2_load") is None:
            print("ok %d # SKIP %s: tpm2-tools cross-check: tpm2-tools not installed"
                  % (bd._next(), board))
            return
        tport = bd.free_port(41800)
        run(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + tpmdir,
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % tport,
             "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % (tport + 1),
             "--flags", "startup-clear,not-need-init", "--pid", "file=" + pidf, "--daemon"])
        wait_for(pidf)
        env = dict(os.environ, TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=%d" % tport)

        def tpm_public(which):
            """tpm2_load the blob under the SRK, tpm2_readpublic: base64 DER or ''."""
            steps = [
                ["tpm2_createprimary", "-C", "o", "-g", "sha256", "-G", "rsa2048:null:aes128cfb",
                 "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|"
                 "decrypt", "-c", "srk.ctx"],
                ["tpm2_load", "-C", "srk.ctx", "-u", which + ".pub", "-r", which + ".priv",
                 "-c", "key.ctx"],
                ["tpm2_readpublic", "-c", "key.ctx", "-f", "der", "-o", which + ".der"],
            ]
            log = ""
            for step in steps:
                r = run(step, cwd=work, env=env)
                log += "$ %s\n%s%s" % (" ".join(step), r.stdout, r.stderr)
                run(["tpm2_flushcontext", "-t"], cwd=work, env=env)
                if r.returncode != 0:
                    return "", log
            with open(os.path.join(work, which + ".der"), "rb") as f:
                return base64.b64encode(f.read()).decode(), log

        got, log = tpm_public("dkim")
        tap(got and record.endswith("p=" + got),
            "%s: after the run, tpm2_load takes the DKIM blob under this TPM's storage primary "
            "key and tpm2_readpublic gives the DNS record's public key" % board, log)
        got, log = tpm_public("tls")
        r = run(["openssl", "x509", "-in", os.path.join(work, "peer.pem"), "-noout", "-pubkey"])
        r2 = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=r.stdout.encode(),
                            capture_output=True, timeout=30)
        cert = base64.b64encode(r2.stdout).decode() if r.returncode == 0 and r2.returncode == 0 else ""
        tap(got and cert == got,
            "%s: the certificate STARTTLS presented to swaks is for the TLS key in the TPM "
            "(tpm2_readpublic of /tls/key.tpmkey)" % board, log + r.stderr + "\ncert key: " + cert)
    except bd.BootError as e:
        tap(False, "%s: %s: console prompt and commands" % (board, stage[0]), str(e))
    except (subprocess.SubprocessError, OSError, ValueError) as e:
        tap(False, "%s: %s" % (board, stage[0]), repr(e))
    finally:
        if guest is not None:
            guest.kill()
        pidfile_kill(pidf)
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    for spec in argv[1:]:
        board, port = spec.split(":")[:2]
        run_board(board, bd.free_port(int(port)))
    print("1..%d" % bd._n)
    return 1 if bd._failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
