#!/usr/bin/env bash
# One message, three recipient domains (issue 9 "Multi-domain message"):
#   a@ok.qtest      the receiver accepts            -> delivered once, signed
#   c@reject.qtest  550 5.1.1 at RCPT               -> bounced at once: a DSN
#                                                      (Action failed, 5.1.1)
#   b@defer.qtest   451 4.7.1 at RCPT every time    -> deferred, retried with
#                   backoff (retry-base 1s), a delay warning after 4 s (Action
#                   delayed), bounced at the lifetime (12 s: Action failed,
#                   Status 4.7.1)
# The DSNs arrive at the sink for the sender printer@example.test with the
# null sender, parse as RFC 3464 reports (Python's email module), and there
# is no DSN about a DSN. Ports: zegel 43110-43113; world as queue_env.sh.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/queue_env.sh"
queue_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(queue_env_need)
if [ -n "$why" ]; then
	skip "queue multi-domain test" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
trap 'smtpd_stop; queue_env_stop; [ -n "${QUEUE_KEEP:-}" ] || rm -rf "$d"' EXIT

if ! queue_env_setup "$d/w"; then
	not_ok "signed private root zone" "$QUEUE_ENV_ERR"
	finish
	exit 1
fi
smtpd_env_setup "$d" 43110
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set relay direct
set relay mx-port $QUEUE_MX_PORT
set resolver $QUEUE_RESOLVER
set resolver-anchors $d/w/anchor.zone
set queue retry-base 1s
set queue lifetime 12s
set queue delay-warning 4s
CONF
not_built() {
	grep -E "relay direct: not built|unknown setting '(relay direct|relay mx-port|resolver-anchors|resolver|queue [a-z-]*)'|No relay target available in this build" <<<"$1" | head -1
}
"$ZEGEL" run --config "$d/zegel.conf" --no-console >"$d/zegel.log" 2>&1 </dev/null &
SMTPD_PID=$!
up=0
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null && { up=1; break; }
	kill -0 "$SMTPD_PID" 2>/dev/null || break
	sleep 0.1
done
if [ $up = 0 ]; then
	nb=$(not_built "$(cat "$d/zegel.log")")
	if [ -n "$nb" ]; then
		skip "queue multi-domain test" "direct mode not built: $nb"
		finish
		exit 0
	fi
	not_ok "zegel run starts in direct mode" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (relay direct, lifetime 12s, delay-warning 4s, retry-base 1s)"
if ! queue_env_start; then
	not_ok "signed DNS, NSD, Unbound and the sink are up" "$QUEUE_ENV_ERR"
	finish
	exit 1
fi
ok "signed DNS, NSD, Unbound and the sink are up"

t0=$(date +%s)
out=$(timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to a@ok.qtest,b@defer.qtest,c@reject.qtest \
	--h-From printer@example.test --h-Subject "three domains" --body "One message, three domains." 2>&1)
id=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
if [ -z "$id" ]; then
	nb=$(not_built "$out")
	[ -n "$nb" ] && { skip "queue multi-domain test" "direct mode: $nb"; finish; exit 0; }
	not_ok "swaks gets 250 2.0.0 queued as ID" "$(tail -8 <<<"$out")"
	finish
	exit 1
fi
ok "queued as $id"

# sink helpers: files whose envelope matches
env_with() { grep -l -- "$1" "$QUEUE_DIR"/mail/*.env 2>/dev/null; }
dsns() { env_with '^from $'; }   # null sender
# wait (20 s + lifetime) for: the delivery, two failed DSNs and one delayed
for _ in $(seq 1 400); do
	n_ok=$(env_with '^rcpt a@ok\.qtest$' | wc -l)
	n_dsn=$(dsns | wc -l)
	[ "$n_ok" -ge 1 ] && [ "$n_dsn" -ge 3 ] && break
	sleep 0.1
done
sleep 2 # nothing more should come
el=$(($(date +%s) - t0))

# the accepting domain
n_ok=$(env_with '^rcpt a@ok\.qtest$' | wc -l)
check "a@ok.qtest: delivered exactly once ($n_ok)" test "$n_ok" = 1
f=$(env_with '^rcpt a@ok\.qtest$' | head -1)
f=${f%.env}.eml
check "a@ok.qtest: the delivered message verifies with dkimpy (ed25519 + rsa)" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" "$f"
check "log: a@ok.qtest sent" grep -qE "$id: to=<a@ok\.qtest>, relay=mx\.qtest\[127\.0\.43\.10\]:$QUEUE_MX_PORT, .*status=sent \(250 " "$d/zegel.log"
check "log: c@reject.qtest bounced (550 5.1.1)" grep -qE "$id: to=<c@reject\.qtest>, .*status=bounced \((550 )?5\.1\.1 " "$d/zegel.log"
nd=$(grep -cE "$id: to=<b@defer\.qtest>, .*status=deferred \((451 )?4\.7\.1 " "$d/zegel.log")
check "log: b@defer.qtest deferred and retried with backoff ($nd attempts in ${el}s)" test "$nd" -ge 3 -a "$nd" -le 8

# the DSNs, all to the sender, with the null sender
n_dsn=$(dsns | wc -l)
check "three DSNs to the sender (reject now, delay warning, lifetime bounce): $n_dsn" test "$n_dsn" = 3
check "every DSN goes to printer@example.test" bash -c \
	'for f in $(grep -l "^from $" "$1"/mail/*.env); do grep -qx "rcpt printer@example.test" "$f" || exit 1; done' _ "$QUEUE_DIR"
dsn_for() { # RCPT ACTION: the DSN file reporting RCPT with Action ACTION
	for f in $(dsns); do
		e=${f%.env}.eml
		grep -q "^Final-Recipient: rfc822; $1" "$e" && grep -q "^Action: $2" "$e" && echo "$e"
	done | head -1
}
f=$(dsn_for c@reject.qtest failed)
if [ -n "$f" ]; then
	check "DSN for c@reject.qtest: failed 5.1.1, RFC 3464 (Python email)" \
		$PY "$TOP/tests/e2e/queue/dsn_check.py" "$f" c@reject.qtest failed 5.1.1
	check_not "that DSN reports no other recipient" grep -qE "^Final-Recipient: .*(a@ok|b@defer)" "$f"
	check "that DSN carries the original headers" grep -q "^Subject: three domains" "$f"
else
	not_ok "DSN for c@reject.qtest (failed)" "$(ls "$QUEUE_DIR/mail")"
fi
f=$(dsn_for b@defer.qtest delayed)
[ -n "$f" ] && check "delay warning for b@defer.qtest: delayed 4.7.1 (Python email)" \
	$PY "$TOP/tests/e2e/queue/dsn_check.py" "$f" b@defer.qtest delayed 4.7.1 ||
	not_ok "delay warning for b@defer.qtest" "$(ls "$QUEUE_DIR/mail")"
f=$(dsn_for b@defer.qtest failed)
[ -n "$f" ] && check "lifetime bounce for b@defer.qtest: failed 4.7.1 (Python email)" \
	$PY "$TOP/tests/e2e/queue/dsn_check.py" "$f" b@defer.qtest failed 4.7.1 ||
	not_ok "lifetime bounce for b@defer.qtest" "$(ls "$QUEUE_DIR/mail"; grep -F "$id" "$d/zegel.log" | tail -5)"
check "every DSN comes From: MAILER-DAEMON@mx.zegel.test" bash -c \
	'for f in $(grep -l "^from $" "$1"/mail/*.env); do e=${f%.env}.eml; grep -q "^From: Mail Delivery System <MAILER-DAEMON@mx.zegel.test>" "$e" || exit 1; done' _ "$QUEUE_DIR"
check "the queue is empty at the end" bash -c '[ -z "$(ls -A "$1")" ] || { ls -la "$1"; false; }' _ "$d/data/queue"
finish
