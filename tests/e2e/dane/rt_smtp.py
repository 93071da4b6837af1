#!/usr/bin/python3
"""REQUIRETLS (RFC 8689) helpers for tests/e2e/requiretls.sh. Written for
this project (python3 stdlib only).

rt_smtp.py serve IP PORT CHAIN KEY OUTDIR
    A small SMTP receiver: STARTTLS with CHAIN/KEY (leaf first, then the
    intermediate: a DANE-TA record can match it), REQUIRETLS in its EHLO
    reply only after TLS. Each accepted message is written to
    OUTDIR/N.eml, preceded by two lines of its own:
        X-RT-Mail: <the MAIL command as received>
        X-RT-TLS: yes|no
    OUTDIR/log has one line per command ("C: ...") for the suite to read.
    Runs until killed.

rt_smtp.py submit PORT FROM TO SUBJECT [--requiretls] [--tls-required-no] [--plain]
    Submits one message to zegel on 127.0.0.1:PORT (STARTTLS unless --plain;
    zegel's certificate is not checked) and prints the replies:
        MAIL <code> <text>
        RCPT <code> <text>
        DATA <code> <text>
    (stopping at the first refusal). Exit 0 if the message was accepted.

rt_smtp.py ehlo PORT
    Prints "plain: KEYWORD..." (EHLO before STARTTLS) and "tls: KEYWORD..."
    (EHLO after it), then "plain-mail: <code> <text>" for MAIL ...
    REQUIRETLS on a fresh plaintext session.
"""
import email.utils
import os
import smtplib
import socketserver
import ssl
import sys
import threading


def serve(ip, port, chain, key, outdir):
    os.makedirs(outdir, exist_ok=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(chain, key)
    lock = threading.Lock()
    seq = [0]
    logf = open(os.path.join(outdir, "log"), "a", buffering=1)

    def log(s):
        with lock:
            logf.write(s + "\n")

    class H(socketserver.StreamRequestHandler):
        def handle(self):
            sock = self.request
            rf = sock.makefile("rb")
            tls = False
            mail = None
            rcpts = 0

            def send(s):
                sock.sendall(s.encode() + b"\r\n")

            send("220 rt.receiver ESMTP test")
            while True:
                line = rf.readline(2048)
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                log("C: " + cmd + (" [tls]" if tls else ""))
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    ext = ["rt.receiver", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"]
                    ext.append("REQUIRETLS" if tls else "STARTTLS")
                    for e in ext[:-1]:
                        send("250-" + e)
                    send("250 " + ext[-1])
                elif verb == "STARTTLS" and not tls:
                    send("220 2.0.0 go ahead")
                    sock = ctx.wrap_socket(sock, server_side=True)
                    rf = sock.makefile("rb")
                    tls = True
                    mail, rcpts = None, 0
                elif verb == "MAIL":
                    if "REQUIRETLS" in cmd.upper() and not tls:
                        send("530 5.7.10 REQUIRETLS needs TLS")
                        continue
                    mail, rcpts = cmd, 0
                    send("250 2.1.0 ok")
                elif verb == "RCPT":
                    rcpts += 1
                    send("250 2.1.5 ok")
                elif verb == "DATA":
                    if mail is None or rcpts == 0:
                        send("503 5.5.1 no envelope")
                        continue
                    send("354 go")
                    data = []
                    while True:
                        d = rf.readline(4096)
                        if not d:
                            return
                        if d == b".\r\n":
                            break
                        data.append(d[1:] if d.startswith(b"..") else d)
                    with lock:
                        seq[0] += 1
                        n = seq[0]
                    with open(os.path.join(outdir, "%d.eml" % n), "wb") as f:
                        f.write(("X-RT-Mail: %s\r\nX-RT-TLS: %s\r\n" %
                                 (mail, "yes" if tls else "no")).encode())
                        f.write(b"".join(data))
                    log("stored %d.eml" % n)
                    send("250 2.0.0 stored as %d" % n)
                    mail, rcpts = None, 0
                elif verb == "RSET":
                    mail, rcpts = None, 0
                    send("250 2.0.0 ok")
                elif verb == "NOOP":
                    send("250 2.0.0 ok")
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("502 5.5.1 not implemented")

    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    S((ip, int(port)), H).serve_forever()


def client(port, starttls):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
    s.ehlo("client.test")
    if starttls:
        s.starttls(context=ctx)
        s.ehlo("client.test")
    return s


def submit(port, frm, to, subject, flags):
    s = client(port, "--plain" not in flags)
    hdr = ("From: printer@example.test\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n"
           "Message-ID: %s\r\n" % (to, subject, email.utils.formatdate(),
                                   email.utils.make_msgid(domain="example.test")))
    if "--tls-required-no" in flags:
        hdr += "TLS-Required: No\r\n"
    msg = hdr + "\r\nREQUIRETLS test: %s\r\n" % subject
    opts = ["REQUIRETLS"] if "--requiretls" in flags else []
    code, text = s.mail(frm, opts)
    print("MAIL %d %s" % (code, text.decode()))
    if code != 250:
        return 1
    code, text = s.rcpt(to)
    print("RCPT %d %s" % (code, text.decode()))
    if code // 100 != 2:
        return 1
    code, text = s.data(msg.encode())
    print("DATA %d %s" % (code, text.decode()))
    s.quit()
    return 0 if code == 250 else 1


def ehlo(port):
    s = client(port, False)
    print("plain: " + " ".join(k.upper() for k in s.esmtp_features))
    s.starttls(context=client_ctx())
    s.ehlo("client.test")
    print("tls: " + " ".join(k.upper() for k in s.esmtp_features))
    s.quit()
    s = client(port, False)
    code, text = s.mail("printer@example.test", ["REQUIRETLS"])
    print("plain-mail: %d %s" % (code, text.decode()))
    s.close()
    return 0


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


if __name__ == "__main__":
    a = sys.argv[1:]
    try:
        if a[0] == "serve":
            serve(*a[1:6])
        elif a[0] == "submit":
            sys.exit(submit(a[1], a[2], a[3], a[4], a[5:]))
        elif a[0] == "ehlo":
            sys.exit(ehlo(a[1]))
    except (OSError, smtplib.SMTPException) as e:
        print("error: %s" % e)
        sys.exit(2)
    sys.exit(64)
