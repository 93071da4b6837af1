#!/usr/bin/env bash
# swaks -> zegel run (smarthost mode, `set relay username/password`) -> a
# private Postfix that relays ONLY for SASL-authenticated clients (Cyrus SASL
# with a sasldb; no client-address rule: mynetworks is empty) -> its maildir.
# Right credentials: delivered, DKIM verifies with dkimpy, Postfix logs the
# SASL login. Wrong password: swaks gets 451 4.7.8 and nothing is delivered.
# Ports: zegel 44010-44013, Postfix 44025.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
. "$TOP/tests/e2e/lib/relay_env.sh"
relay_preflight "SASL relay to Postfix"
if ! command -v saslpasswd2 >/dev/null || ! postconf -a 2>/dev/null | grep -qx cyrus; then
	skip "SASL relay to Postfix" "needs saslpasswd2 (sasl2-bin) and Postfix with Cyrus SASL"
	finish
	exit 0
fi
d=$(tmpdir)
trap 'relay_cleanup "$d"' EXIT
relay_postfix_hook() { postfix_sasl "$1" zegel 'up-s3cret'; }
relay_postfix_up "$d" 44025

msgs() { find "$d/pf/mail/sink/new" -type f 2>/dev/null | wc -l; }
replies() { printf '%s\n' "$1" | grep -E '^ *([-~]>|<)' | tail -${2:-8}; }

# The smarthost really refuses unauthenticated relaying from 127.0.0.1 ...
out=$(timeout 30 swaks --server 127.0.0.1 --port 44025 --tls --quit-after RCPT \
	--from printer@example.test --to alice@example.net 2>&1)
if printf '%s\n' "$out" | grep -qE '^<[-~]?\*+ +554 5\.7\.1 .*(Relay access|Access) denied'; then
	ok "Postfix refuses 127.0.0.1 without AUTH (no client-address rule)"
else
	not_ok "Postfix refuses 127.0.0.1 without AUTH" "$(replies "$out")"
fi
# ... and takes the credentials (only over TLS).
out=$(timeout 30 swaks --server 127.0.0.1 --port 44025 --tls --quit-after RCPT \
	--auth PLAIN --auth-user zegel --auth-password 'up-s3cret' \
	--from printer@example.test --to alice@example.net 2>&1)
if printf '%s\n' "$out" | grep -qE '^<[-~] +235 ' && printf '%s\n' "$out" | grep -qE '^<[-~] +250 2\.1\.5 '; then
	ok "Postfix accepts AUTH PLAIN for zegel and then the recipient"
else
	not_ok "Postfix accepts AUTH PLAIN for zegel" "$(replies "$out")"
fi

if ! relay_zegel_up "$d" 44010 44025 "set relay username zegel" "set relay password up-s3cret"; then
	not_ok "zegel run starts (smarthost mode with credentials)" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (smarthost mode with credentials)"
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to alice@example.net --h-From printer@example.test \
	--h-Subject "relayed with SASL" --body "Authenticated relay." 2>&1)
if printf '%s\n' "$out" | grep -qE '^<[-~] +250 2\.0\.0 .*relayed via 127\.0\.0\.1\[127\.0\.0\.1\]:44025: 250 '; then
	ok "swaks gets 250 after Postfix accepted the authenticated relay"
else
	not_ok "swaks gets 250 after Postfix accepted" "$(replies "$out")"
fi
if postfix_wait_mail "$d/pf" 1 15; then
	ok "the message is in Postfix's maildir"
else
	not_ok "the message is in Postfix's maildir" "$(tail -10 "$d/pf/maillog")"
fi
f=$(find "$d/pf/mail/sink/new" -type f | head -1)
if [ -n "$f" ]; then
	check "delivered message verifies with dkimpy (ed25519 + rsa)" $PY "$TOP/tests/e2e/dkim_verify.py" \
		--min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" \
		"$f"
else
	not_ok "delivered message verifies with dkimpy" "no message"
fi
check "Postfix logs zegel's SASL login over TLS" \
	grep -qE 'client=localhost\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=zegel' "$d/pf/maillog"
check "zegel logs status=sent" \
	grep -qE 'to=<alice@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:44025, tls=TLSv1\.2 verified=pkix, status=sent \(250 ' "$d/zegel.log"

# Wrong password: the RCPT already gets 451 4.7.8 (the session opens at RCPT
# time), swaks gives up, nothing reaches the maildir.
smtpd_stop
sed -i 's/^set relay password .*/set relay password wrong-one/' "$d/zegel.conf"
before=$(msgs)
if ! smtpd_start "$d"; then
	not_ok "zegel run starts (wrong password)" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to alice@example.net --h-From printer@example.test \
	--h-Subject "wrong password" 2>&1)
if printf '%s\n' "$out" | grep -qE "^<[-~]?\*+ +451 4\.7\.8 .*refused zegel's relay credentials: 535 5\.7\.8"; then
	ok "wrong password: swaks gets 451 4.7.8 with Postfix's 535 5.7.8"
else
	not_ok "wrong password: swaks gets 451 4.7.8" "$(replies "$out")"
fi
if printf '%s\n' "$out" | grep -qE '^ *[-~]> DATA'; then
	not_ok "wrong password: swaks never got to DATA" "$(replies "$out")"
else
	ok "wrong password: swaks never got to DATA"
fi
sleep 1
[ "$(msgs)" -eq "$before" ] && ok "wrong password: nothing delivered" ||
	not_ok "wrong password: nothing delivered" "$before -> $(msgs)"
check "Postfix logs the failed SASL login" grep -qE 'SASL (PLAIN|LOGIN) authentication failed' "$d/pf/maillog"
finish
