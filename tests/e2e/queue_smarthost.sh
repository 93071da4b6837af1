#!/usr/bin/env bash
# The smarthost queue (issue 17.7: `set relay smarthost HOST[:PORT] queue on`)
# against a real Postfix as the smarthost (STARTTLS, certificate from the
# test CA of tests/e2e/relay/mkcerts.sh):
#   - while the smarthost is down, swaks gets 250 "queued as" from zegel;
#     zegel defers (4.4.1) and retries; once Postfix is up the message is
#     delivered and verifies with dkimpy;
#   - Postfix's 550 5.1.1 for one of two recipients: the other gets the
#     message, the sender gets a DSN (RFC 3464, parsed by Python's email)
#     about that one recipient only;
#   - 20+ SIGKILLs of zegel during a stream of submissions
#     (tests/e2e/queue/submit.py): every accepted message (its X-Kill-Seq)
#     reaches Postfix's maildir at least once; duplicates are allowed
#     (at-least-once: a kill between the smarthost's 250 and the queue's
#     state update) and reported; the queue ends empty;
#   - show running / show relay / show status / show queue name the queue;
#   - queue off: today's sync mode (250 "relayed via", the smarthost down:
#     451 at RCPT, nothing queued).
# Ports: zegel 48200-48203, Postfix 48225.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
. "$TOP/tests/e2e/lib/relay_env.sh"
relay_preflight "smarthost queue"
$PY -c 'import dkim' 2>/dev/null || { skip "smarthost queue" "python3-dkim missing"; finish; exit 0; }

COUNT=${QUEUE_SH_COUNT:-80}
MIN_KILLS=${QUEUE_SH_KILLS:-20}
PF=48225
d=$(tmpdir)
ZPID=
SUBPID=
zstop() { [ -n "$ZPID" ] && kill -9 "$ZPID" 2>/dev/null; [ -n "$ZPID" ] && wait "$ZPID" 2>/dev/null; ZPID=; }
zterm() { # a clean stop (SIGTERM), so the console runs below get the ports
	[ -n "$ZPID" ] || return 0
	kill "$ZPID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$ZPID" 2>/dev/null || break; sleep 0.1; done
	zstop
}
trap 'zstop; [ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null; postfix_stop "$d/pf"; rm -rf "$d"' EXIT
zstart() { # start zegel, wait for the listener (10 s); 1 if it exits
	"$ZEGEL" run --config "$d/zegel.conf" --no-console >>"$d/zegel.log" 2>&1 </dev/null &
	ZPID=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null && return 0
		kill -0 "$ZPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
maildir_files() { find "$d/pf/mail/$1/new" -type f 2>/dev/null | sort; }
wait_files() { # DIR N SECONDS
	for _ in $(seq 1 $(($3 * 10))); do
		[ "$(maildir_files "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
qfiles() { ls "$d/data/queue" 2>/dev/null; }

# ---------------------------------------------------------------- setup
chmod 755 "$d"
if ! "$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki" >/dev/null 2>&1; then
	not_ok "test PKI"
	finish
	exit 1
fi
postfix_setup "$d/pf" $PF "$d/pki/good.crt" "$d/pki/good.key"
echo "bounces@example.net dsn/" >>"$d/pf/etc/vmailbox" # the DSNs land here
smtpd_env_setup "$d" 48200
cat >>"$d/zegel.conf" <<CONF
set relay ca-file $d/pki/ca.crt
set queue retry-base 1s
set relay smarthost 127.0.0.1:$PF queue on
CONF
if ! zstart; then
	not_ok "zegel run starts (smarthost 127.0.0.1:$PF queue on)" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (smarthost 127.0.0.1:$PF queue on), Postfix not started yet"

# ---------------------------------------------------------------- smarthost down
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to alice@example.net --h-From printer@example.test \
	--h-Subject "queued while the smarthost is down" --body "Scan attached.
.a line with a leading dot" 2>&1)
if grep -qE '^<~ +250 2\.0\.0 queued as [0-9A-F]{10}' <<<"$out"; then
	ok "smarthost down: swaks gets 250 2.0.0 queued as ID"
else
	not_ok "smarthost down: swaks gets 250 2.0.0 queued as ID" "$(tail -8 <<<"$out")"
fi
ok_deferred=
for _ in $(seq 1 100); do
	grep -qE 'to=<alice@example\.net>, relay=127\.0\.0\.1.*status=deferred \(451 4\.4\.1 ' "$d/zegel.log" &&
		{ ok_deferred=1; break; }
	sleep 0.1
done
[ -n "$ok_deferred" ] && ok "zegel tried the smarthost and deferred (451 4.4.1, logged)" ||
	not_ok "zegel tried the smarthost and deferred (451 4.4.1)" "$(tail -10 "$d/zegel.log")"
check "the message waits in the queue (one ID.st, one ID.msg)" \
	bash -c '[ "$(ls "$1"/*.st | wc -l)" = 1 ] && [ "$(ls "$1"/*.msg | wc -l)" = 1 ]' _ "$d/data/queue"
check_not "nothing reached Postfix yet" test -d "$d/pf/mail/sink/new"

# ---------------------------------------------------------------- smarthost up
if postfix_start "$d/pf" && smtpd_wait_port $PF; then
	ok "Postfix (the smarthost) comes up on 127.0.0.1:$PF"
else
	not_ok "Postfix comes up on 127.0.0.1:$PF" "$(cat "$d/pf/start.log" "$d/pf/maillog" 2>/dev/null | tail)"
	finish
	exit 1
fi
# backoff from 1 s doubling, capped at 12 s: the next attempt within 12 s
if wait_files sink 1 40; then
	ok "the retry delivered it once the smarthost was up"
else
	not_ok "the retry delivered it once the smarthost was up" "$(tail -10 "$d/zegel.log")"
fi
f=$(maildir_files sink | head -1)
if [ -n "$f" ]; then
	check "delivered message verifies with dkimpy (ed25519 + rsa)" $PY "$TOP/tests/e2e/dkim_verify.py" \
		--min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" \
		"$f"
	check "dot-stuffing round trip: the leading-dot line arrived intact" \
		grep -q '^\.a line with a leading dot' "$f"
else
	not_ok "delivered message verifies with dkimpy" "no message"
fi
check "zegel logs status=sent over TLS verified by PKIX" \
	grep -qE 'to=<alice@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:'$PF', tls=TLSv1\.2 verified=pkix, status=sent \(250 ' "$d/zegel.log"
for _ in $(seq 1 50); do [ -z "$(qfiles)" ] && break; sleep 0.1; done
check "the queue is empty after the delivery" test -z "$(qfiles)"

# ---------------------------------------------------------------- one 550
before=$(maildir_files sink | wc -l)
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from bounces@example.net --to carol@example.net,nobody@example.net \
	--h-From printer@example.test --h-Subject "one bad recipient" 2>&1)
if grep -A1 -E '^ *~> RCPT TO:<nobody@example\.net>' <<<"$out" | grep -qE '^<~ +250 ' &&
	grep -qE '^<~ +250 2\.0\.0 queued as ' <<<"$out"; then
	ok "queue on: both RCPTs get 250 from zegel, the message is queued"
else
	not_ok "queue on: both RCPTs get 250, the message is queued" "$(grep -E '^ *(~>|<)' <<<"$out" | tail -12)"
fi
if wait_files sink $((before + 1)) 30; then
	f=$(ls -t "$d"/pf/mail/sink/new/* | head -1)
	grep -q '^Subject: one bad recipient' "$f" && ok "carol@example.net got it" ||
		not_ok "carol@example.net got it" "$(head -20 "$f")"
else
	not_ok "carol@example.net got it" "$(tail -10 "$d/zegel.log")"
fi
if wait_files dsn 1 30; then
	ok "a DSN reached the sender (bounces@example.net)"
	dsn=$(maildir_files dsn | head -1)
	check "the DSN is RFC 3464 about nobody@example.net (failed, 5.1.1), parsed by Python's email" \
		$PY "$TOP/tests/e2e/queue/dsn_check.py" "$dsn" nobody@example.net failed 5.1.1
	check_not "the DSN does not name carol@example.net, who got the message" \
		grep -qi 'Final-Recipient: rfc822; *carol@' "$dsn"
	check "the DSN has the null sender (Return-Path: <>)" grep -q '^Return-Path: <>' "$dsn"
else
	not_ok "a DSN reached the sender" "$(grep -i 'notification\|nobody' "$d/zegel.log" | tail -5)"
fi
check "zegel logs nobody@ bounced with Postfix's 550 5.1.1" \
	grep -qE 'to=<nobody@example\.net>, relay=.*status=bounced \(550 5\.1\.1 ' "$d/zegel.log"
sleep 1
[ "$(maildir_files sink | wc -l)" -eq $((before + 1)) ] && ok "exactly one copy delivered to carol" ||
	not_ok "exactly one copy delivered to carol" "$before -> $(maildir_files sink | wc -l)"

# ---------------------------------------------------------------- kills
base=$(maildir_files sink | wc -l)
t0=$(date +%s)
SUBMIT_RCPT=alice@example.net $PY "$TOP/tests/e2e/queue/submit.py" 127.0.0.1 "$SUBMISSION_PORT" \
	"$COUNT" "$d/accepted" 240 >"$d/submit.out" 2>&1 &
SUBPID=$!
kills=0
# kills go on after the last submission (until MIN_KILLS) to hit the
# delivery of what is still queued, too
while kill -0 "$SUBPID" 2>/dev/null || [ $kills -lt "$MIN_KILLS" ]; do
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + (r % 50) / 100 }')"
	zstop
	kills=$((kills + 1))
	echo "=== SIGKILL $kills at $(date +%T.%N)" >>"$d/zegel.log"
	if ! zstart; then
		not_ok "zegel restarts after SIGKILL $kills" "$(tail -20 "$d/zegel.log")"
		finish
		exit 1
	fi
done
wait "$SUBPID"
src=$?
SUBPID=
acc=$(wc -l <"$d/accepted")
[ $src = 0 ] && ok "all $COUNT messages accepted in $(($(date +%s) - t0)) s while zegel was SIGKILLed $kills times ($(tail -1 "$d/submit.out"))" ||
	not_ok "all $COUNT messages accepted" "$(tail -5 "$d/submit.out")"
check "zegel was killed at least $MIN_KILLS times ($kills)" test "$kills" -ge "$MIN_KILLS"
seqs() { # the X-Kill-Seq of every delivered message, one per line
	for f in $(maildir_files sink); do sed -n 's/^X-Kill-Seq: \([0-9]*\)$/\1/p' "$f"; done
}
for _ in $(seq 1 900); do # 90 s at most
	[ "$(seqs | sort -un | wc -l)" -ge "$acc" ] && break
	sleep 0.1
done
sleep 2 # anything still in flight lands, so the duplicate count is final
missing=$(comm -23 <(cut -d' ' -f1 "$d/accepted" | sort -u) <(seqs | sort -u))
if [ -z "$missing" ]; then
	ok "every accepted message ($acc) reached the smarthost: none lost"
else
	not_ok "every accepted message reached the smarthost" "missing: $(echo $missing | head -c 400)"
fi
dups=$(($(seqs | wc -l) - $(seqs | sort -u | wc -l)))
max=$(seqs | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')
check "no message delivered more than 1 + $kills (kills) times (max ${max:-0})" test "${max:-0}" -le $((kills + 1))
if [ "$dups" -gt 0 ]; then
	check "duplicates ($dups) come with the log line of a retried in-flight delivery" \
		grep -q "delivery was in flight when zegel stopped: retried" "$d/zegel.log"
else
	ok "no duplicates (no kill hit a delivery between the smarthost's 250 and the state update)"
fi
check "every message of the run verifies with dkimpy (ed25519 + rsa)" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" \
	$(maildir_files sink | tail -n +$((base + 1)))
for _ in $(seq 1 400); do [ -z "$(qfiles)" ] && break; sleep 0.1; done
check "the queue directory is empty at the end (no stray or damaged files)" \
	bash -c '[ -z "$(ls -A "$1")" ] || { ls -la "$1"; cat "$1"/*.st; false; }' _ "$d/data/queue"
check_not "no damaged state record was ever found" grep -q "damaged state record\|message file missing" "$d/zegel.log"
echo "# kills=$kills accepted=$acc delivered=$(seqs | wc -l) duplicates=$dups" \
	"retried-after-restart=$(grep -c 'delivery was in flight when zegel stopped' "$d/zegel.log")"

# ---------------------------------------------------------------- console
zterm
out=$(printf 'show running\nshow relay\nshow status\nshow queue\n' |
	timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "show running prints the mode line with queue on" \
	grep -q "^set relay smarthost 127.0.0.1:$PF queue on\$" <<<"$out"
check "show relay: queue on" \
	grep -q "relay: smarthost 127.0.0.1 port $PF, STARTTLS required, queue on" <<<"$out"
check "show status: the smarthost queue" \
	grep -q "relay queue: delivered by the smarthost 127.0.0.1:$PF; 0 messages" <<<"$out"
check "show queue: who delivers it" grep -q "queue: delivered by the smarthost 127.0.0.1:$PF" <<<"$out"

# ---------------------------------------------------------------- queue off
sed -i "s/^set relay smarthost 127.0.0.1:$PF queue on\$/set relay smarthost 127.0.0.1:$PF/" "$d/zegel.conf"
out=$(printf 'show running\nshow relay\n' | timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "queue off: show running has the old line (no queue word)" \
	grep -q "^set relay smarthost 127.0.0.1:$PF\$" <<<"$out"
check "queue off: show relay says sync mode" \
	grep -q "relay: smarthost 127.0.0.1 port $PF, STARTTLS required, sync mode" <<<"$out"
if ! zstart; then
	not_ok "zegel run starts with queue off" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to alice@example.net --h-From printer@example.test \
	--h-Subject "sync again" 2>&1)
check "queue off: 250 only after Postfix accepted (relayed via ... 250)" \
	grep -qE "^<~ +250 2\.0\.0 .*relayed via 127\.0\.0\.1\[127\.0\.0\.1\]:$PF: 250 " <<<"$out"
postfix_stop "$d/pf"
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to alice@example.net --h-From printer@example.test \
	--h-Subject "smarthost down, sync" 2>&1)
check "queue off, smarthost down: the client hears 451 4.4.1 at RCPT (it keeps the message)" \
	grep -qE '^<~\*+ +451 4\.4\.1 ' <<<"$out"
check_not "queue off: nothing was queued" grep -q '^<~ +250 2\.0\.0 queued as' <<<"$out"
check "queue off: the queue directory stays empty" test -z "$(qfiles)"
finish
