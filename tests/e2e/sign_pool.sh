#!/usr/bin/env bash
# Signing off the event loop (issue 22; firmware/privsep/pool.c): the key
# holder signs in ZEGEL_SIGN_WORKERS=2 forked workers while the network
# process's loop goes on.
#   - 120 messages over 16 parallel sessions (smtp-source) all land in the
#     outbox exactly once, every one with both signatures verifying;
#   - both workers served signatures (`show status` on the console: the
#     key holder's per-worker counters);
#   - the group commit made the outbox files durable in fewer flushes than
#     files (`show status`; the spool files are reused scratch files);
#   - the loop answers while the workers sign: a session's EHLO is answered
#     during the load;
#   - SIGKILLs of workers in the middle of a load: every message is still
#     accepted (the request is signed again by a new worker), signed and
#     in the outbox once; `show status` counts the retries; the network
#     process and the key holder stay up;
#   - a killed key holder still stops the network process (holder_gone).
# Ports: zegel 47960-47963.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
src=/usr/sbin/smtp-source
if [ ! -x "$src" ]; then
	skip "signing workers" "$src missing (package postfix)"
	finish
	exit 0
fi
d=$(tmpdir)
ZPID= HOLD=
cleanup() {
	[ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null
	[ -n "$ZPID" ] && { kill -9 "$ZPID" 2>/dev/null; wait "$ZPID" 2>/dev/null; }
	rm -rf "$d"
}
trap cleanup EXIT
smtpd_env_setup "$d" 47960
# 16 load sessions and the probe, all from 127.0.0.1
echo "set smtpd per-address-limit 24" >>"$d/zegel.conf"
mkfifo "$d/console"
# the console reads the fifo; a sleeping writer keeps it open
sleep 600 >"$d/console" &
HOLD=$!
ZEGEL_SIGN_WORKERS=2 "$ZEGEL" run --config "$d/zegel.conf" <"$d/console" >"$d/zegel.log" 2>&1 &
ZPID=$!
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts with ZEGEL_SIGN_WORKERS=2"
H=$(pgrep -P "$ZPID" | head -1)
console() { # one command; waits until its output is in the log
	local before
	before=$(grep -c "^key holder:" "$d/zegel.log")
	echo "$1" >"$d/console"
	for _ in $(seq 1 50); do
		[ "$(grep -c "^key holder:" "$d/zegel.log")" -gt "$before" ] && return 0
		sleep 0.1
	done
	return 1
}
served() { grep "^key holder:" "$d/zegel.log" | tail -1 | sed 's/.*served per worker://'; }
ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
verify() {
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$@"
}
printf 'From: Pool <alice@example.test>\nTo: bob@remote.example\nSubject: pool\n\npool test body\n' >"$d/msg"
load() { # N messages over S sessions; smtp-source's status
	timeout 120 "$src" -s "$2" -m "$1" -N -f alice@example.test -t bob@remote.example \
		-F "$d/msg" "127.0.0.1:$SUBMISSION_PORT" >"$d/src.out" 2>&1
}
once() { # every numbered recipient once, N of them
	local dup distinct
	dup=$(cat "$d"/outbox/*.eml | grep -a '^X-Original-To:' | sort | uniq -d | wc -l)
	distinct=$(cat "$d"/outbox/*.eml | grep -a '^X-Original-To:' | sort -u | wc -l)
	[ "$dup" -eq 0 ] && [ "$distinct" -eq "$1" ]
}

# 1. parallel sessions, two workers
load 120 16 &
LP=$!
sleep 0.3
t0=$(date +%s%N)
ehlo=$( (exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT"; read -r -t 5 g <&3; printf 'EHLO probe\r\n' >&3;
	read -r -t 5 e <&3; printf 'QUIT\r\n' >&3; echo "$e") 2>/dev/null)
t1=$(date +%s%N)
wait "$LP"
check "120 messages over 16 sessions: smtp-source succeeds" test $? = 0
check "the loop answered EHLO during the load ($(( (t1 - t0) / 1000000 )) ms)" grep -q '^250' <<<"$ehlo"
n=$(ls "$d/outbox" | grep -c '\.eml$')
check "120 messages in the outbox (found $n)" test "$n" = 120
check "every message landed exactly once" once 120
check "all of them verify with dkimpy (ed25519 + rsa)" verify "$d"/outbox/*.eml
W=$(pgrep -P "$H" | wc -l)
check "the key holder has 2 signing workers (found $W)" test "$W" = 2
check "their name is zegel-signer" test "$(cat /proc/$(pgrep -P "$H" | head -1)/comm)" = zegel-signer
console "show status"
check "show status has the key holder's line" grep -q "^key holder: 2 signing workers" "$d/zegel.log"
read -r s1 s2 <<<"$(served)"
gc=$(grep "^group commit:" "$d/zegel.log" | tail -1)
gf=$(sed -n 's/^group commit: \([0-9]*\) files.* in \([0-9]*\) batches/\1/p' <<<"$gc")
gb=$(sed -n 's/^group commit: \([0-9]*\) files.* in \([0-9]*\) batches/\2/p' <<<"$gc")
# issue 22.2: the spool file of an outbox message is a reused scratch file,
# never flushed: the outbox file is the one made durable per message
check "group commit: the 120 outbox files made durable (${gf:-?}; spool: scratch files)" test "${gf:-0}" = 120
check "in fewer batches than files (${gb:-?} batches: several files per flush)" \
	test -n "$gb" -a "${gb:-0}" -lt "${gf:-0}"
check "both workers served signatures (${s1:-?} + ${s2:-?} = 240)" \
	test "${s1:-0}" -gt 0 -a "${s2:-0}" -gt 0 -a "$(( ${s1:-0} + ${s2:-0} ))" = 240

# 2. SIGKILL of workers mid-load: a retry, never a lost or unsigned message
rm -f "$d"/outbox/*.eml
load 200 16 &
LP=$!
kills=0
for _ in $(seq 1 40); do
	[ "$kills" -ge 6 ] && break
	sleep 0.05
	# a worker that is signing right now (running, not waiting on its socket)
	for w in $(pgrep -P "$H"); do
		[ "$(awk '{print $3}' "/proc/$w/stat" 2>/dev/null)" = R ] || continue
		kill -9 "$w" 2>/dev/null && kills=$((kills + 1))
		break
	done
done
wait "$LP"
rc=$?
check "$kills workers killed while signing" test "$kills" -ge 3
check "smtp-source: all 200 accepted anyway (status $rc)" test "$rc" = 0
n=$(ls "$d/outbox" | grep -c '\.eml$')
check "200 messages in the outbox (found $n)" test "$n" = 200
check "every message landed exactly once" once 200
check "all of them verify with dkimpy (none unsigned)" verify "$d"/outbox/*.eml
console "show status"
retried=$(grep "^key holder:" "$d/zegel.log" | tail -1 | sed -n 's/.*, \([0-9]*\) retried.*/\1/p')
check "show status counts the signatures retried after a kill (${retried:-?})" test "${retried:-0}" -ge 1
check "the network process and the key holder are still up" kill -0 "$ZPID" "$H"
# killed workers are forked again when a request needs one
rm -f "$d"/outbox/*.eml
load 60 16
check "after 60 more messages the pool is back at 2 workers" test "$(pgrep -P "$H" | wc -l)" = 2

# 3. the key holder's death still stops the network process
WP=$(pgrep -P "$H" | tr '\n' ' ')
kill -9 "$H"
for _ in $(seq 1 50); do kill -0 "$ZPID" 2>/dev/null || break; sleep 0.1; done
check_not "a killed key holder stops the network process" kill -0 "$ZPID"
wait "$ZPID"
rc=$?
ZPID=
check "with status 3, and the log says why" test "$rc" = 3
check "the log says the key holder is gone" grep -q "key holder (pid $H) .*: stopping" "$d/zegel.log"
alive() { for p in $WP; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
for _ in $(seq 1 30); do alive || break; sleep 0.1; done
check_not "the workers ($WP) are gone with it" alive
finish
