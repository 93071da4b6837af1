#!/usr/bin/env bash
# swaks -> zegel run (smarthost mode) -> a private Postfix on 127.0.0.1:24025
# with STARTTLS on a certificate from a test CA made here -> Postfix's maildir.
# The delivered message verifies with dkimpy (keys served without DNS); the
# upstream's 550 for one of two recipients reaches swaks as that RCPT's reply
# and the other recipient gets the message; zegel logs relay=, tls=TLSv1.2
# verified=pkix, status=sent.
# Ports: zegel 24010-24013, Postfix 24025.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
. "$TOP/tests/e2e/lib/relay_env.sh"
relay_preflight "relay to Postfix"
d=$(tmpdir)
trap 'relay_cleanup "$d"' EXIT
relay_postfix_up "$d" 24025
if ! relay_zegel_up "$d" 24010 24025; then
	not_ok "zegel run starts (smarthost mode)" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (smarthost mode)"

out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to alice@example.net --h-From printer@example.test \
	--h-Subject "relayed by zegel" --body "Scan attached.
.a line with a leading dot" 2>&1)
if printf '%s\n' "$out" | grep -qE '^<~ +250 2\.0\.0 .*relayed via 127\.0\.0\.1\[127\.0\.0\.1\]:24025: 250 '; then
	ok "swaks gets 250 only after Postfix accepted (relayed via ... 250 ... queued as)"
else
	not_ok "swaks gets 250 after Postfix accepted" "$(printf '%s\n' "$out" | tail -8)"
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
	check "dot-stuffing round trip: the leading-dot line arrived intact" \
		grep -q '^\.a line with a leading dot' "$f"
else
	not_ok "delivered message verifies with dkimpy" "no message"
fi
check "Postfix saw a TLS session from zegel" grep -qE 'TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.2' "$d/pf/maillog"
check "zegel logs to=, relay=HOST[IP]:PORT, tls=TLSv1.2 verified=pkix, status=sent" \
	grep -qE 'to=<alice@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:24025, tls=TLSv1\.2 verified=pkix, status=sent \(250 ' "$d/zegel.log"

# One recipient unknown upstream: its RCPT gets Postfix's 550 5.1.1 (asked
# at RCPT time), the other recipient gets the message.
before=$(find "$d/pf/mail/sink/new" -type f | wc -l)
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to carol@example.net,nobody@example.net \
	--h-From printer@example.test --h-Subject "one bad recipient" 2>&1)
if printf '%s\n' "$out" | grep -qE '^ *[-~]> RCPT TO:<nobody@example\.net>' &&
	printf '%s\n' "$out" | grep -A1 -E '^ *[-~]> RCPT TO:<nobody@example\.net>' |
	grep -qE '^<[-~]?\*+ +550 5\.1\.1 .*upstream refused <nobody@example\.net>: 550 5\.1\.1 .*User'; then
	ok "upstream 550 5.1.1 reaches swaks as the reply to that RCPT"
else
	not_ok "upstream 550 5.1.1 reaches swaks at RCPT" "$(printf '%s\n' "$out" | grep -E '^ *([-~]>|<)' | tail -12)"
fi
if printf '%s\n' "$out" | grep -A1 -E '^ *[-~]> RCPT TO:<carol@example\.net>' | grep -qE '^<[-~] +250 2\.1\.5 ' &&
	printf '%s\n' "$out" | grep -qE '^<[-~] +250 2\.0\.0 .*relayed via'; then
	ok "the other RCPT gets 250 and the message is relayed"
else
	not_ok "the other RCPT gets 250 and the message is relayed" "$(printf '%s\n' "$out" | grep -E '^ *([-~]>|<)' | tail -12)"
fi
if postfix_wait_mail "$d/pf" $((before + 1)) 15; then
	f=$(ls -t "$d"/pf/mail/sink/new/* | head -1)
	if grep -q '^Subject: one bad recipient' "$f" && grep -qi '^X-Original-To: carol@example\.net\|for <carol@example\.net>' "$f"; then
		ok "carol@example.net got it"
	else
		not_ok "carol@example.net got it" "$(head -20 "$f")"
	fi
else
	not_ok "carol@example.net got it" "$(tail -5 "$d/pf/maillog")"
fi
sleep 1
after=$(find "$d/pf/mail/sink/new" -type f | wc -l)
[ "$after" -eq $((before + 1)) ] && ok "exactly one copy delivered" ||
	not_ok "exactly one copy delivered" "$before -> $after messages"
check "zegel logs the refused RCPT" grep -qE 'RCPT to=<nobody@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:24025, tls=TLSv1\.2 verified=pkix, refused \(550 5\.1\.1 ' "$d/zegel.log"
check "zegel logs status=sent for carol only" grep -q 'to=<carol@example.net>, relay=.*status=sent' "$d/zegel.log"
if grep -q 'to=<nobody@example.net>, .*status=' "$d/zegel.log"; then
	not_ok "no delivery status for the refused recipient" "$(grep 'nobody@' "$d/zegel.log")"
else
	ok "no delivery status for the refused recipient"
fi

# The same with the client pipelining (RFC 2920): the replies keep their order.
before=$(find "$d/pf/mail/sink/new" -type f | wc -l)
out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls --pipeline \
	--from printer@example.test --to nobody@example.net,alice@example.net \
	--h-From printer@example.test --h-Subject "pipelined" 2>&1)
if printf '%s\n' "$out" | grep -E '^<[-~]?\*? +[0-9]{3} ' | sed -n '/2\.1\.0/,$p' | head -3 |
	tr '\n' '|' | grep -qE '^<[-~]? +250 2\.1\.0 [^|]*\|<[-~]?\*+ +550 5\.1\.1 [^|]*nobody@[^|]*\|<[-~]? +250 2\.1\.5 [^|]*accepted by'; then
	ok "pipelined: MAIL 250, RCPT nobody 550, RCPT alice 250, in order"
else
	not_ok "pipelined: replies in order" "$(replies=$(printf '%s\n' "$out" | grep -E '^ *([-~]>|<)' | tail -14); echo "$replies")"
fi
a=$(printf '%s\n' "$out" | grep -nE '^ *[-~]> RCPT TO:<alice@example\.net>' | cut -d: -f1)
b=$(printf '%s\n' "$out" | grep -nE '^<[-~]?\*+ +550 5\.1\.1 ' | cut -d: -f1)
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then
	ok "pipelined: swaks sent the second RCPT before the first one's reply"
else
	not_ok "pipelined: swaks really pipelined" "RCPT alice at line '$a', 550 at line '$b'"
fi
if postfix_wait_mail "$d/pf" $((before + 1)) 15; then
	ok "pipelined: the message reached alice"
else
	not_ok "pipelined: the message reached alice" "$(printf '%s\n' "$out" | tail -5)"
fi

# The console: `show relay` and `test relay` against the same Postfix.
smtpd_stop
out=$(printf 'show relay\ntest relay\n' | timeout 60 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
if printf '%s\n' "$out" | grep -q 'relay: smarthost 127.0.0.1 port 24025, STARTTLS required, sync mode' &&
	printf '%s\n' "$out" | grep -q "relay: CA file: $d/pki/ca.crt"; then
	ok "console: show relay"
else
	not_ok "console: show relay" "$out"
fi
if printf '%s\n' "$out" | grep -q 'relay: certificate subject: CN=localhost' &&
	printf '%s\n' "$out" | grep -q 'relay: certificate issuer:  CN=zegel test CA' &&
	printf '%s\n' "$out" | grep -qE 'relay: certificate expires: 20[0-9-]+ [0-9:]+ UTC' &&
	printf '%s\n' "$out" | grep -qE 'relay: TLS: TLSv1\.2, TLS-ECDHE-[A-Z0-9-]+, verified=pkix' &&
	printf '%s\n' "$out" | grep -q 'relay: OK: 250'; then
	ok "console: test relay shows subject, issuer, expiry, TLS version, suite, verified=pkix"
else
	not_ok "console: test relay" "$out"
fi
finish
