#!/usr/bin/env bash
# Direct mode's queue limits, seen from a LAN client: while the queue holds
# `set queue max-messages` entries (nothing can leave: the resolver it is
# given does not answer), a new MAIL gets 452 4.3.1 before any data is
# sent; a declared SIZE above `set queue max-size` too. What was accepted
# survives a restart, and `queue delete` on the console makes room again.
# Ports: 46100-46103 (zegel), 46053 (a resolver address nobody answers on).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 46100
sed -i '/^set relay outbox/d' "$d/zegel.conf"
sed -i "s/^set message-size-limit .*/set message-size-limit 1000000/" "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set relay direct
set resolver 127.0.0.1:46053
set queue max-messages 2
set queue max-size 100000
CONF
if ! smtpd_start "$d"; then
	not_ok "zegel run starts in direct mode" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts in direct mode"

send() { # extra swaks args...
	timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from alice@example.test --to bob@remote.example \
		--header "Subject: queue limits" --body "hello" "$@" 2>&1
}

for i in 1 2; do
	out=$(send)
	if grep -q '<~  250 2.0.0 queued as [0-9A-F]\{10\}' <<<"$out"; then
		ok "message $i queued (250 2.0.0 queued as ID)"
	else
		not_ok "message $i queued" "$(tail -5 <<<"$out")"
	fi
done
entries() { find "$d/data/queue" -name '*.st' 2>/dev/null | wc -l; }
check "two entries on storage" test "$(entries)" = 2

out=$(send)
if grep -q '<~\*\? *452 4.3.1 ' <<<"$out" && grep -A1 'MAIL FROM' <<<"$out" | grep -q '452 4.3.1'; then
	ok "third MAIL refused with 452 4.3.1 (queue full)"
else
	not_ok "third MAIL refused with 452 4.3.1 (queue full)" "$(grep -A1 'MAIL FROM' <<<"$out")"
fi
grep -q 'DATA' <<<"$(grep '^ *~>' <<<"$out")" && not_ok "no DATA sent after the 452" || ok "no DATA sent after the 452"
check "still two entries" test "$(entries)" = 2

# restart: the accepted messages are still there, the limit still holds
smtpd_stop
if ! smtpd_start "$d"; then
	not_ok "zegel restarts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
check "after a restart: two entries" test "$(entries)" = 2
out=$(send)
grep -A1 'MAIL FROM' <<<"$out" | grep -q '452 4.3.1' && ok "after a restart: still 452 4.3.1" ||
	not_ok "after a restart: still 452 4.3.1" "$(grep -A1 'MAIL FROM' <<<"$out")"

# the console deletes one entry: room for one more
smtpd_stop
id=$(find "$d/data/queue" -name '*.st' | head -1 | xargs basename | sed 's/\.st$//')
out=$(printf 'show relay\nqueue delete %s\nshow queue\n' "$id" | timeout 20 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
echo "$out" | sed 's/^/# /' | tail -12
check "show relay names direct mode, its port and resolver" \
	grep -q "relay: direct to each domain's MX, port 25.*relay: validating resolver via 127.0.0.1:46053" <<<"$(tr '\n' ' ' <<<"$out")"
check "show relay counts the queue (2 messages)" grep -q "queue: 2 messages" <<<"$out"
check "queue delete ID on the console removes it" test "$(entries)" = 1
if ! smtpd_start "$d"; then
	not_ok "zegel restarts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
out=$(send)
grep -q '<~  250 2.0.0 queued as ' <<<"$out" && ok "after the delete: queued again" ||
	not_ok "after the delete: queued again" "$(tail -5 <<<"$out")"

# a declared size over max-size (100000) is refused at MAIL
smtpd_stop
sed -i 's/^set queue max-messages 2/set queue max-messages 100/' "$d/zegel.conf"
smtpd_start "$d"
out=$($PY - "$SUBMISSION_PORT" <<'PYEOF'
import smtplib, ssl, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("t"); ctx = ssl.create_default_context(); ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE; s.starttls(context=ctx); s.ehlo("t")
print("big:", *s.mail("alice@example.test", ["SIZE=150000"]))
s.rset()
print("small:", *s.mail("alice@example.test", ["SIZE=1000"]))
s.quit()
PYEOF
)
echo "$out" | sed 's/^/# /'
grep -q "^big: 452 b'4.3.1" <<<"$out" && ok "MAIL SIZE=150000 over queue max-size: 452 4.3.1" ||
	not_ok "MAIL SIZE=150000 over queue max-size: 452 4.3.1"
grep -q "^small: 250" <<<"$out" && ok "MAIL SIZE=1000: 250" || not_ok "MAIL SIZE=1000: 250"
grep -q 'queue full' "$d/zegel.log" || grep -q '452' "$d/zegel.log" || true
kill -0 "$SMTPD_PID" && ok "zegel still running" || not_ok "zegel still running"
finish
