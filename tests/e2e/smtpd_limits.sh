#!/usr/bin/env bash
# Session pool limit: CONFIG_MAX_SESSIONS clients hold sessions; the next
# one gets "421 4.3.2" and is closed; after one leaves, a new client is
# served again. Also: the daemon survives clients that vanish mid-DATA.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")
max=${max:-32}
d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22540
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts"

out=$($PY - "$SUBMISSION_PORT" "$max" <<'PYEOF'
import socket, sys
port, mx = int(sys.argv[1]), int(sys.argv[2])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.recv(512).decode()
held = []
for i in range(mx):
    s, g = conn()
    if not g.startswith("220 "):
        print("FAIL greeting %d: %r" % (i, g)); sys.exit(1)
    held.append(s)
s, g = conn()
print("extra:", g.strip())
rest = s.recv(512)
print("extra closed:", rest == b"")
# one client vanishes in the middle of DATA
v = held.pop()
v.sendall(b"EHLO x\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@remote.example>\r\nDATA\r\n")
v.recv(4096)
v.sendall(b"From: alice@example.test\r\n\r\npartial")
v.close()
import time; time.sleep(0.5)
s, g = conn()
print("after:", g.strip())
s.sendall(b"QUIT\r\n"); print("quit:", s.recv(512).decode().strip())
PYEOF
)
echo "$out" | sed 's/^/# /'
grep -q '^extra: 421 4.3.2' <<<"$out" && ok "client $((max + 1)) gets 421 4.3.2" || not_ok "client $((max + 1)) gets 421 4.3.2"
grep -q '^extra closed: True' <<<"$out" && ok "and is closed" || not_ok "and is closed"
grep -q '^after: 220 ' <<<"$out" && ok "a freed slot serves a new client" || not_ok "a freed slot serves a new client"
grep -q '^quit: 221' <<<"$out" && ok "new client gets 221 to QUIT" || not_ok "new client gets 221 to QUIT"
grep -q 'discarded from .*client went away' "$d/zegel.log" && ok "message of the vanished client discarded" ||
	not_ok "message of the vanished client discarded" "$(tail -5 "$d/zegel.log")"
[ -z "$(ls -A "$d/data/spool" 2>/dev/null)" ] && ok "no spool file left behind" || not_ok "no spool file left behind"
[ -z "$(ls -A "$d/outbox" 2>/dev/null)" ] && ok "nothing delivered from the partial message" || not_ok "nothing delivered"
kill -0 "$SMTPD_PID" && ok "zegel still running" || not_ok "zegel still running"
finish
