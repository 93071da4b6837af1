#!/usr/bin/env bash
# Session pool limit: CONFIG_MAX_SESSIONS clients hold sessions; the next
# one gets "421 4.3.2" and is closed; after one leaves, a new client is
# served again. Also: the daemon survives clients that vanish mid-DATA, and
# (issue 21) what a SIGKILL mid-DATA or amid a stream of messages leaves in
# the data dir and the outbox (spool files, *.tmp.*) is removed at the next
# start: after each restart no temporary or orphaned file remains (the
# spool's emptied scratch files stay, for reuse).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")
max=${max:-32}
d=$(tmpdir)
trap 'smtpd_stop; [ -n "${SENDER:-}" ] && kill "$SENDER" 2>/dev/null; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22540
# all clients come from 127.0.0.1 and the pool's refusal is what is tested:
# no per-address cap below the pool, no shedding (tests/e2e/smtpd_fair.sh)
printf 'set smtpd per-address-limit %s\nset smtpd shed-idle off\n' "$max" >>"$d/zegel.conf"
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts"

out=$($PY - "$SUBMISSION_PORT" "$max" <<'PYEOF'
import socket, sys
port, mx = int(sys.argv[1]), int(sys.argv[2])
def conn(src="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    return s, s.recv(512).decode()
held = []
for i in range(mx):
    s, g = conn()
    if not g.startswith("220 "):
        print("FAIL greeting %d: %r" % (i, g)); sys.exit(1)
    held.append(s)
s, g = conn("127.0.0.2")   # another host: 127.0.0.1 is at its cap too
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
# the spool keeps its scratch files for reuse (issue 22.2), emptied: no message
[ -z "$(find "$d/data/spool" -type f ! \( -name 'scratch-*' -empty \) 2>/dev/null)" ] &&
	ok "no spool file left behind (only emptied scratch files)" || not_ok "no spool file left behind"
[ -z "$(ls -A "$d/outbox" 2>/dev/null)" ] && ok "nothing delivered from the partial message" || not_ok "nothing delivered"
kill -0 "$SMTPD_PID" && ok "zegel still running" || not_ok "zegel still running"

# ---------------------------------------------------------------- kills
debris() { # temporary or orphaned files in the data dir and the outbox
	# (an empty spool scratch file is kept for reuse: not debris, issue 22.2)
	find "$d/data" "$d/outbox" -type f \( -name '*.tmp.*' -o -path "$d/data/spool/*" \) \
		! \( -path "$d/data/spool/scratch-*" -empty \) 2>/dev/null
}
sender() { # messages of ~60 KB until killed; prints one line per 250
	exec $PY - "$SUBMISSION_PORT" <<'PYEOF'
import smtplib, sys, time
port = int(sys.argv[1])
body = "".join("line %05d of filler text to make the message long enough\r\n" % i for i in range(1000))
n = 0
while True:
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=5)
        s.ehlo("x.test")
        s.sendmail("alice@example.test", ["bob@remote.example"],
                   "From: alice@example.test\r\nSubject: kill %d\r\n\r\n%s" % (n, body))
        s.quit()
        n += 1
        print("sent", n, flush=True)
    except Exception:
        time.sleep(0.05)
PYEOF
}
# a client stopped mid-DATA, then zegel SIGKILLed: its spool file stays ...
$PY - "$SUBMISSION_PORT" <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.recv(512)
s.sendall(b"EHLO x\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@remote.example>\r\nDATA\r\n")
time.sleep(0.3)
# more than the session's 2 KiB write buffer (firmware/spool/msg.h): on storage
s.sendall(b"From: alice@example.test\r\n\r\n" + (b"x" * 900 + b"\r\n") * 4)
time.sleep(5)
PYEOF
CLIENT=$!
sleep 1
kill -9 "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null; SMTPD_PID=
kill "$CLIENT" 2>/dev/null; wait "$CLIENT" 2>/dev/null
left=$(debris)
[ -n "$left" ] && ok "a SIGKILL mid-DATA leaves a spool file ($(basename "$left"))" ||
	not_ok "a SIGKILL mid-DATA leaves a spool file" "(nothing: the test did not hit DATA)"
smtpd_start "$d" || not_ok "zegel restarts" "$(tail -20 "$d/zegel.log")"
check "... which the next start removes" test -z "$(debris)"
check "and says so in the log" grep -q "removed .* left by an earlier run" "$d/zegel.log"
# SIGKILLs amid a stream of messages (receiving, committing, writing the outbox)
sender >"$d/sender.out" 2>&1 &
SENDER=$!
kills=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 40) / 100 }')"
	kill -9 "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null; SMTPD_PID=
	kills=$((kills + 1))
	cat "$d/zegel.log" >>"$d/zegel-all.log"
	smtpd_start "$d" || { not_ok "zegel restarts after SIGKILL $kills" "$(tail -20 "$d/zegel.log")"; break; }
done
kill "$SENDER" 2>/dev/null; wait "$SENDER" 2>/dev/null
sleep 0.5
check "the sender got 250s between $kills SIGKILLs ($(tail -1 "$d/sender.out"))" grep -q "^sent" "$d/sender.out"
smtpd_stop
smtpd_start "$d" || not_ok "zegel restarts" "$(tail -20 "$d/zegel.log")"
check "after the restarts the data dir and outbox hold no temporary or orphaned file" \
	bash -c 'f=$1; [ -z "$f" ] || { echo "$f" | head; false; }' _ "$(debris)"
bad=0
for f in "$d"/outbox/*.eml; do
	tail -c 80 "$f" | grep -q "line 00999 of filler" || bad=$((bad + 1))
done
check "every .eml in the outbox is complete" test "$bad" = 0
check_not "no .eml was ever replaced" grep -q "exists already" "$d/zegel.log" "$d/zegel-all.log"
kill -0 "$SMTPD_PID" && ok "zegel still running" || not_ok "zegel still running"
finish
