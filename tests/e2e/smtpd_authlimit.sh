#!/usr/bin/env bash
# Issue 20: AUTH brute force from one LAN address. 127.0.0.2 tries 200
# wrong passwords (reconnecting when zegel closes after too many errors)
# while 127.0.0.9 logs in with the right one every 0.3 s. Proven: the
# failures' replies are held back per address (1 s, 2 s, 2 s, ... here) on a
# timer, so the 200 take at least the configured backoff (1+2+2+2+2 = 9 s
# before the lockout); after 5 failures the address is locked out (454
# 4.7.0, no password checked, even the right one); the other address gets
# 235 within 1 s throughout (the event loop never waited); an unknown user
# is answered like a wrong password; failures and the lockout are logged
# with address and user; after the lockout the right password works again.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22680
cat >>"$d/zegel.conf" <<CONF
set network 127.0.0.0/8
set smtpd auth-delay 1s max 2s
set smtpd auth-lockout 5 for 6s
CONF
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts"

out=$($PY - "$PLAINAUTH_PORT" <<'PYEOF' 2>&1
import base64, socket, sys, threading, time
port = int(sys.argv[1])

def plain(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()

class Conn:
    def __init__(self, src):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0))
        self.f = self.s.makefile("rb")
        self.line()
        self.cmd("EHLO t.example.test")
    def line(self):
        l = self.f.readline().decode().strip()
        if not l:
            raise OSError("closed")
        return l
    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        while True:
            l = self.line()
            if l[3:4] != "-":
                return l
    def close(self):
        self.s.close()

stop = threading.Event()
legit = []          # (seconds, reply)
def legit_loop():
    while not stop.is_set():
        t = time.monotonic()
        try:
            c = Conn("127.0.0.9")
            r = c.cmd("AUTH PLAIN " + plain("alice", "secret"))
            c.cmd("QUIT"); c.close()
        except OSError as e:
            r = "error %s" % e
        legit.append((time.monotonic() - t, r))
        time.sleep(0.3)
th = threading.Thread(target=legit_loop, daemon=True)
th.start()

codes = {}
t0 = time.monotonic()
first_454 = None
c = None
unknown = None
for i in range(200):
    if i % 8 == 0 and c is not None:
        c.close()   # a fresh session before CONFIG_SMTP_MAX_ERRORS closes it
        c = None
    for _ in range(3):
        try:
            if c is None:
                c = Conn("127.0.0.2")
            user = "nosuchuser" if i == 2 else "alice"
            ta = time.monotonic()
            r = c.cmd("AUTH PLAIN " + plain(user, "wrong%d" % i))
            if i == 2:
                unknown = (r, time.monotonic() - ta)
            break
        except OSError:
            c = None
    codes[r[:9]] = codes.get(r[:9], 0) + 1
    if r.startswith("454") and first_454 is None:
        first_454 = (i, time.monotonic() - t0, r)
    if r.startswith("421"):
        c = None
elapsed = time.monotonic() - t0
# the right password from the locked-out address is refused too
c = Conn("127.0.0.2")
locked_right = c.cmd("AUTH PLAIN " + plain("alice", "secret"))
c.close()
time.sleep(7)       # the lockout (6 s) ends
c = Conn("127.0.0.2")
after = c.cmd("AUTH PLAIN " + plain("alice", "secret"))
c.close()
stop.set()
th.join(5)
print("attempts_seconds %.1f" % elapsed)
print("codes", sorted(codes.items()))
print("first_454", first_454)
print("unknown_user", unknown)
print("locked_right", locked_right)
print("after_lockout", after)
print("legit_logins", len(legit))
print("legit_ok", sum(1 for _, r in legit if r.startswith("235")))
print("legit_max_seconds %.2f" % max(s for s, _ in legit))
PYEOF
)
echo "$out" | sed 's/^/# /'
val() { sed -n "s/^$1 //p" <<<"$out" | head -1; }

check "200 wrong passwords took at least the backoff before the lockout (9 s: $(val attempts_seconds) s)" \
	awk -v t="$(val attempts_seconds)" 'BEGIN { exit !(t != "" && t >= 9) }'
check "only 5 of them were checked (535 5.7.8), the rest locked out (454 4.7.0)" \
	grep -q "codes \[('454 4.7.0', 195), ('535 5.7.8', 5)\]" <<<"$out"
check "the lockout reply says so" grep -q "Too many failed authentications from your address" <<<"$out"
check "an unknown user gets the same 535 after the same kind of delay" \
	grep -qE "unknown_user \('535 5.7.8 Authentication credentials invalid', [12]\." <<<"$out"
check "the right password from the locked-out address is refused (454 4.7.0)" \
	grep -q "locked_right 454 4.7.0" <<<"$out"
check "after the lockout the right password works again" grep -q "after_lockout 235" <<<"$out"
n=$(val legit_logins)
check "the other address logged in every time ($(val legit_ok) of $n)" \
	test -n "$n" -a "$n" -ge 20 -a "$(val legit_ok)" = "$n"
check "... each within 1 s (slowest $(val legit_max_seconds) s)" \
	awk -v t="$(val legit_max_seconds)" 'BEGIN { exit !(t != "" && t < 1) }'
check "failures logged with address and user" \
	grep -q '\[127.0.0.2\]: AUTH failed for user alice (1 in a row from this address, reply delayed 1000 ms)' "$d/zegel.log"
check "the unknown user logged the same way" grep -q '\[127.0.0.2\]: AUTH failed for user nosuchuser' "$d/zegel.log"
check "the lockout logged" grep -q '\[127.0.0.2\]: AUTH locked out for 6 s after 5 failures (last user alice)' "$d/zegel.log"
check "refusals while locked out logged" \
	grep -q '\[127.0.0.2\]: AUTH refused for user alice: address locked out' "$d/zegel.log"
check_not "no failure logged for 127.0.0.9" grep -q '\[127.0.0.9\]: AUTH failed' "$d/zegel.log"
finish
