#!/usr/bin/env bash
# Direct mode sends the queued messages for one domain over one SMTP
# session (RFC 5321 3.3) and never opens two sessions to a domain at once.
# With the receiver (mx.ee.dane of the DANE world, DANE-EE) stopped, three
# messages are deferred; with it back, `queue flush` on the console makes
# all three due at once: one connection, one DANE-verified TLS handshake,
# three transactions; every message arrives and verifies.
# Then a bounce: a recipient the receiver does not know (550 5.1.1) gets
# the sender an RFC 3464 DSN from MAILER-DAEMON@<hostname>, DKIM-signed
# because the host name is a signing domain; it is delivered (to the
# envelope sender rcpt@ee.dane) and verifies with dkimpy.
# Ports: zegel 42110-42113; the world 127.0.42.0/24 (dane_env.sh).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
if [ -n "$why" ]; then
	skip "direct connection reuse" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
trap 'exec 7>&- 2>/dev/null; smtpd_stop; dane_env_stop; rm -rf "$d"' EXIT

smtpd_env_setup "$d" 42110
sed -i '/^set relay outbox/d; s/^set hostname .*/set hostname example.test/' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set log-level debug
set relay direct
set relay mx-port $DANE_PORT
set resolver $DANE_RESOLVER
set resolver-anchors $d/w/anchor.zone
CONF
if ! dane_env_setup "$d/w" || ! dane_env_start; then
	not_ok "DANE world up" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up"
postfix -c "$DANE_DIR/pf/etc" stop >/dev/null 2>&1
for _ in $(seq 1 50); do _dane_port_open 127.0.42.11 "$DANE_PORT" || break; sleep 0.1; done
_dane_port_open 127.0.42.11 "$DANE_PORT" && not_ok "receiver stopped" || ok "receiver stopped"

# zegel with its console on a FIFO (for `queue flush`)
mkfifo "$d/console"
"$ZEGEL" run --config "$d/zegel.conf" <"$d/console" >"$d/zegel.log" 2>&1 &
SMTPD_PID=$!
exec 7>"$d/console"
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run starts in direct mode" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts in direct mode"

ids=()
for i in 1 2 3; do
	out=$(timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to rcpt@ee.dane --h-From printer@example.test \
		--h-Subject "reuse $i" --body "message $i" 2>&1)
	id=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
	[ -n "$id" ] && ids+=("$id") || not_ok "message $i queued" "$(tail -5 <<<"$out")"
done
check "three messages queued" test ${#ids[@]} = 3

count() { grep -cE "$1" "$d/zegel.log"; }
for _ in $(seq 1 300); do
	[ "$(count 'to=<rcpt@ee.dane>, .*status=deferred')" -ge 3 ] && break
	sleep 0.1
done
check "all three deferred while the receiver is down" \
	test "$(count 'to=<rcpt@ee.dane>, .*status=deferred')" -ge 3
check "never two sessions to ee.dane at once: no overlapping attempts logged" \
	test "$(count 'over the open session')" = 0

postfix -c "$DANE_DIR/pf/etc" start >/dev/null 2>&1
for _ in $(seq 1 100); do _dane_port_open 127.0.42.11 "$DANE_PORT" && break; sleep 0.1; done
echo "queue flush" >&7
for _ in $(seq 1 300); do
	[ "$(count 'to=<rcpt@ee.dane>, .*verified=dane, status=sent')" -ge 3 ] && break
	sleep 0.1
done
check "after queue flush: all three sent, DANE-verified" \
	test "$(count 'to=<rcpt@ee.dane>, .*verified=dane, status=sent')" = 3
check "messages 2 and 3 went over the open session" test "$(count 'over the open session')" = 2
sleep 1
# sessions that sent mail (port probes of this script also show up as connects)
sessions=$(dane_maillog mx.ee.dane | grep -E 'disconnect from .* mail=[0-9]')
echo "$sessions" | sed 's/^/# /'
check "the receiver saw one SMTP session carrying all three (mail=3 rcpt=3 data=3)" \
	test "$(grep -c . <<<"$sessions")" = 1 -a "$(grep -c 'mail=3 rcpt=3 data=3' <<<"$sessions")" = 1
dane_mail_wait ee.dane 3 10
check "the receiver has the three messages" test "$(dane_mail_count ee.dane)" = 3
n=0
for f in $(dane_mail_files ee.dane); do
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" \
		"$f" >/dev/null 2>&1 && n=$((n + 1))
done
check "all three verify with dkimpy" test "$n" = 3
check "the queue is empty" test "$(find "$d/data/queue" -name '*.st' | wc -l)" = 0

# ---------------------------------------------------------------- a bounce
out=$(timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from rcpt@ee.dane --to nobody@ee.dane --h-From printer@example.test \
	--h-Subject "to nobody" --body "nobody is home" 2>&1)
bid=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
check "message to an unknown recipient queued" test -n "$bid"
dane_mail_wait ee.dane 4 20
check "the bounce reached the sender's mailbox" test "$(dane_mail_count ee.dane)" = 4
grep -E "$bid: to=<nobody@ee.dane>, .*status=bounced \(550 " "$d/zegel.log" | sed 's/^/# /'
check "zegel logged the 550 as bounced" grep -qE "$bid: to=<nobody@ee.dane>, .*status=bounced \(550 " "$d/zegel.log"
dsn=$(grep -l '^Content-Type: multipart/report' $(dane_mail_files ee.dane) 2>/dev/null | head -1)
if [ -n "$dsn" ]; then
	$PY - "$dsn" <<'PYEOF' | sed 's/^/# /'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
print("From:", m["From"], "| report-type:", m.get_param("report-type"))
for part in m.walk():
    if part.get_content_type() == "message/delivery-status":
        for block in part.get_payload():
            for k in ("Final-Recipient", "Action", "Status", "Diagnostic-Code"):
                if block.get(k): print(k + ":", block.get(k))
PYEOF
	check "the DSN is From MAILER-DAEMON@example.test" grep -q '^From:.*MAILER-DAEMON@example.test' "$dsn"
	check "the DSN says Action: failed, Status: 5.1.1 for nobody@ee.dane" \
		$PY -c 'import email,sys
m=email.message_from_binary_file(open(sys.argv[1],"rb"))
ds=[b for p in m.walk() if p.get_content_type()=="message/delivery-status" for b in p.get_payload()]
r=[b for b in ds if b.get("Final-Recipient")]
sys.exit(0 if r and "nobody@ee.dane" in r[0]["Final-Recipient"] and r[0]["Action"]=="failed" and r[0]["Status"]=="5.1.1" else 1)' "$dsn"
	check "the DSN is DKIM-signed for example.test and verifies with dkimpy" \
		$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" "$dsn"
else
	not_ok "a DSN (multipart/report) in the sender's mailbox" "$(ls "$DANE_DIR/pf/mail/ee.dane/new")"
fi
finish
