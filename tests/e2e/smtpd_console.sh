#!/usr/bin/env bash
# `zegel run` with its console on stdin next to the listeners (one event
# loop): the device certificate is generated on first start, replaced from
# the console (set tls cert/key + commit) without a restart, a listener is
# moved on commit, `show status` reports sessions, `exit` stops cleanly.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22560
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=replaced.zegel.test -keyout "$d/new.key" -out "$d/new.crt" 2>/dev/null
chmod 600 "$d/new.key"
out=$($PY - "$ZEGEL" "$d" "$SUBMISSION_PORT" <<'PYEOF' 2>&1
import hashlib, smtplib, ssl, subprocess, sys, time
zegel, d, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = subprocess.Popen([zegel, "run", "--config", d + "/zegel.conf"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
def cmd(line):
    p.stdin.write((line + "\n").encode()); p.stdin.flush()
def fingerprint(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = None
    for _ in range(50):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=10)
            break
        except OSError:
            time.sleep(0.1)
    if s is None:
        return "no-connection"
    s.starttls(context=ctx)
    der = s.sock.getpeercert(binary_form=True)
    s.quit()
    return hashlib.sha256(der).hexdigest()
first = fingerprint(port)
print("first", first)
cmd("set tls cert %s/new.crt" % d)
cmd("set tls key %s/new.key" % d)
cmd("set listener v6 127.0.0.1:%d mode starttls" % (port + 9))  # moved: all 4 slots in use
cmd("commit")
time.sleep(0.5)
print("second", fingerprint(port))
print("extra", fingerprint(port + 9))
cmd("show status")
cmd("exit")  # the commit is not saved: a warning, zegel keeps running
cmd("exit")  # the second one stops it
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill(); rc = "timeout"
print("rc", rc)
print("console:", p.stdout.read().decode(errors="replace").replace("\n", "\n# "))
PYEOF
)
echo "$out" | sed 's/^/# /'
new=$(openssl x509 -in "$d/new.crt" -outform DER | sha256sum | cut -d' ' -f1)
gen=$(openssl x509 -in "$d/data/tls/cert.pem" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
first=$(sed -n 's/^first //p' <<<"$out")
[ -n "$first" ] && [ "$first" = "$gen" ] && ok "first start: the generated certificate ($d/data/tls/cert.pem) is served" ||
	not_ok "first start: the generated certificate is served" "first=$first gen=$gen"
grep -q "^second $new" <<<"$out" && ok "after set tls cert/key + commit: the new certificate is served (no restart)" ||
	not_ok "after set tls cert/key + commit: the new certificate is served"
grep -q "^extra $new" <<<"$out" && ok "a listener moved on the console accepts STARTTLS at its new address" ||
	not_ok "a listener moved on the console accepts STARTTLS at its new address"
grep -q "smtp sessions: 0 open" <<<"$out" && ok "show status reports the SMTP sessions" ||
	not_ok "show status reports the SMTP sessions"
grep -q "warning: committed changes are not saved" <<<"$out" && ok "exit after an unsaved commit warns first" ||
	not_ok "exit after an unsaved commit warns first"
grep -q "^rc 0" <<<"$out" && ok "exit on the console stops zegel (status 0)" || not_ok "exit on the console stops zegel"
finish
