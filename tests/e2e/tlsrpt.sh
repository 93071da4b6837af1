#!/usr/bin/env bash
# TLS-RPT (RFC 8460) of zegel's direct delivery, in the DANE / MTA-STS test
# world (tests/e2e/lib/dane_env.sh; the STS cases and mismatch.dane publish
# _smtp._tls "v=TLSRPTv1; rua=mailto:tlsrpt@notlsa.dane", a Postfix mailbox)
# with mta_sts.sh's HTTPS policy server. One message per case, one at a time
# (each its own session):
#   stsgood x2  enforce, PKIX-valid             -> sts: 2 successful
#   stsbadcert  enforce, attacker certificate   -> sts: certificate-host-mismatch
#   stsbadmx    enforce, MX not in the policy   -> sts: validation-failure
#   ststest     testing, MX not in the policy   -> sts: validation-failure (delivered)
#   stsdown     the policy URL redirects        -> sts: sts-policy-fetch-error, and
#                                                  no-policy-found: 1 successful
#   mismatch    DANE-EE of a key nobody has     -> tlsa: tlsa-invalid
# `show tlsrpt` shows the counts; zegel is killed (-9) and started again and
# shows the same counts (the day file on storage); `tlsrpt send-now`; then
# the six report mails in the mailbox are checked by tests/e2e/tlsrpt_check.py:
# MIME shape of 5.3, DKIM (dkimpy), gzip, JSON schema of 4 (jsonschema) and
# the counts. Ports: zegel 42310-42313.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
[ -z "$why" ] && ! $PY -c 'import jsonschema, dkim' 2>/dev/null &&
	why="python3-jsonschema or python3-dkim missing (scripts/bootstrap.sh peers)"
if [ -n "$why" ]; then
	skip "TLS-RPT reports" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
WEB_PID=
trap 'smtpd_stop; [ -z "$WEB_PID" ] || kill "$WEB_PID" 2>/dev/null; dane_env_stop; rm -rf "$d"' EXIT

t0=$(date +%s%N)
if ! dane_env_setup "$d/w" || ! dane_env_start; then
	not_ok "DANE world up" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up in $((($(date +%s%N) - t0) / 1000000)) ms"

W=$d/w/sts/www
dane_sts_policies "$W"
echo "REDIRECT https://mta-sts.stsgood.dane/.well-known/mta-sts.txt" >"$W/mta-sts.stsdown.dane"
$PY "$TOP/tests/e2e/dane/sts_server.py" "$DANE_STS_WEB" 443 "$d/w/pki/stsweb.chain" \
	"$d/w/pki/stsweb.key" "$W" "$d/w/sts/requests.log" 2>"$d/w/sts/server.err" &
WEB_PID=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/$DANE_STS_WEB/443") 2>/dev/null && break
	sleep 0.1
done

# ---------------------------------------------------------------- zegel
smtpd_env_setup "$d" 42310
sed -i -e '/^set relay outbox/d' -e 's/^set hostname .*/set hostname zegel.example.org/' \
	"$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set log-level debug
set relay direct
set relay mx-port $DANE_PORT
set relay ca-file $d/w/pki/root.crt
set resolver $DANE_RESOLVER
set resolver-anchors $d/w/anchor.zone
set tlsrpt on
set tlsrpt organization "Zegel Test"
CONF
LOG=$d/zegel.log
: >"$LOG"
start_zegel() {
	rm -f "$d/in"
	mkfifo "$d/in"
	"$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >>"$LOG" 2>&1 &
	SMTPD_PID=$!
	exec 3>"$d/in"
	smtpd_wait_port "$SUBMISSION_PORT"
}
if ! start_zegel; then
	not_ok "zegel run starts (direct, tlsrpt on)" "$(tail -20 "$LOG")"
	finish
	exit 1
fi
ok "zegel run starts (relay direct, set tlsrpt on)"

declare -A ID
submit() { # tag domain
	local out
	out=$(timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to "rcpt@$2" --h-From printer@example.test \
		--h-Subject "TLS-RPT case $1" --body "Case $1 for $2." 2>&1)
	ID[$1]=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
	[ -n "${ID[$1]}" ] || not_ok "$1: queued" "$(tail -5 <<<"$out")"
}
wait_outcome() { # tag domain
	for _ in $(seq 1 300); do
		grep -qE "${ID[$1]:-none}: to=<rcpt@$2>, .*status=(sent|deferred|bounced)" "$LOG" &&
			return 0
		sleep 0.1
	done
	not_ok "$1: an outcome within 30 s" "$(tail -10 "$LOG")"
	return 1
}
# one at a time: each message its own session (no connection reuse)
for c in stsgood:stsgood.dane stsgood2:stsgood.dane stsbadcert:stsbadcert.dane \
	stsbadmx:stsbadmx.dane ststest:ststest.dane stsdown:stsdown.dane mismatch:mismatch.dane; do
	submit "${c%%:*}" "${c#*:}"
	wait_outcome "${c%%:*}" "${c#*:}"
done
n=$(grep -cE 'status=sent' "$LOG")
[ "$n" = 4 ] && ok "4 delivered (stsgood x2, ststest, stsdown), 3 deferred" ||
	not_ok "4 delivered, 3 deferred" "$(grep -E 'status=' "$LOG")"

show() { # -> the `show tlsrpt` lines
	local mark=$1
	echo "show tlsrpt" >&3
	echo "show clock" >&3 # a line after it: the end of its output
	for _ in $(seq 1 50); do
		[ "$(grep -c '^clock' "$LOG")" -gt "$mark" ] && break
		sleep 0.1
	done
	grep '^tlsrpt: ' "$LOG" | tail -n +"$((SHOWN + 1))"
}
SHOWN=0
before=$(show "$(grep -c '^clock' "$LOG")")
SHOWN=$(grep -c '^tlsrpt: ' "$LOG")
expect_show() {
	grep -qxF "tlsrpt: stsgood.dane sts: 2 successful, 0 failed" <<<"$1" &&
		grep -qxF "tlsrpt: stsbadcert.dane sts: 0 successful, 1 failed" <<<"$1" &&
		grep -qE "^tlsrpt:   certificate-host-mismatch 1 mx=mx\.stsbadcert\.dane ip=127\.0\.42\.42 from=127\." <<<"$1" &&
		grep -qxF "tlsrpt: stsbadmx.dane sts: 0 successful, 1 failed" <<<"$1" &&
		grep -qxF "tlsrpt: ststest.dane sts: 0 successful, 1 failed" <<<"$1" &&
		grep -qxF "tlsrpt: stsdown.dane sts: 0 successful, 1 failed" <<<"$1" &&
		grep -qxF "tlsrpt:   sts-policy-fetch-error 1 mx=- ip=- from=-" <<<"$1" &&
		grep -qxF "tlsrpt: stsdown.dane no-policy-found: 1 successful, 0 failed" <<<"$1" &&
		grep -qxF "tlsrpt: mismatch.dane tlsa: 0 successful, 1 failed" <<<"$1" &&
		grep -qE "^tlsrpt:   tlsa-invalid 1 mx=mx\.mismatch\.dane ip=127\.0\.42\.13 " <<<"$1"
}
if expect_show "$before"; then
	ok "show tlsrpt: the counts of each policy domain and the failure details"
else
	not_ok "show tlsrpt: the counts of each policy domain and the failure details" "$before"
fi
f=$(ls "$d/data/tlsrpt/"day-* 2>/dev/null)
[ -n "$f" ] && grep -q '^policy sts stsgood.dane 2 0$' "$f" &&
	ok "today's counters are on storage (${f##*/})" ||
	not_ok "today's counters are on storage" "$(ls -la "$d/data/tlsrpt" 2>&1; cat "$f" 2>&1)"

# ---------------------------------------------------------------- kill -9
kill -9 "$SMTPD_PID"
wait "$SMTPD_PID" 2>/dev/null
exec 3>&-
if start_zegel; then
	SHOWN=$(grep -c '^tlsrpt: ' "$LOG")
	after=$(show "$(grep -c '^clock' "$LOG")")
	SHOWN=$(grep -c '^tlsrpt: ' "$LOG")
	if expect_show "$after" && [ "$(grep -v 'on; today' <<<"$after")" = "$(grep -v 'on; today' <<<"$before")" ]; then
		ok "after kill -9 and a new start: the same counts"
	else
		not_ok "after kill -9 and a new start: the same counts" "before:
$before
after:
$after"
	fi
else
	not_ok "zegel starts again after kill -9" "$(tail -20 "$LOG")"
fi

# ---------------------------------------------------------------- send-now
echo "tlsrpt send-now" >&3
for _ in $(seq 1 300); do
	grep -q 'report run done' "$LOG" && break
	sleep 0.1
done
if grep -q 'report run done: 6 report(s) queued, 0 domain(s) without a report' "$LOG"; then
	ok "tlsrpt send-now: 6 reports queued"
else
	not_ok "tlsrpt send-now: 6 reports queued" "$(grep -E 'tlsrpt' "$LOG" | tail -20)"
fi
box=$d/w/pf/mail/tlsrpt/new
for _ in $(seq 1 300); do
	[ "$(find "$box" -type f 2>/dev/null | wc -l)" -ge 6 ] && break
	sleep 0.1
done
n=$(find "$box" -type f 2>/dev/null | wc -l)
[ "$n" = 6 ] && ok "6 report mails arrived at tlsrpt@notlsa.dane" ||
	not_ok "6 report mails arrived at tlsrpt@notlsa.dane" "$n; $(grep -E 'relay|tlsrpt' "$LOG" | tail -10)"
[ -z "$(ls "$d/data/tlsrpt/" | grep -v '^day-')" ] &&
	ok "the reported periods are removed from storage" ||
	not_ok "the reported periods are removed from storage" "$(ls -la "$d/data/tlsrpt")"
if [ "$n" -gt 0 ]; then
	pk=$(dkim_pubkey_b64 "$d/keys/org.pem")
	out=$($PY "$TOP/tests/e2e/tlsrpt_check.py" --submitter zegel.example.org \
		--key "org._domainkey.example.org=v=DKIM1; k=ed25519; p=$pk" \
		--key "org._domainkey.zegel.example.org=v=DKIM1; k=ed25519; p=$pk" \
		--expect "stsgood.dane sts 2 0" \
		--expect "stsbadcert.dane sts 0 1 certificate-host-mismatch:1:mx.stsbadcert.dane" \
		--expect "stsbadmx.dane sts 0 1 validation-failure:1:mx.stsbadmx.dane" \
		--expect "ststest.dane sts 0 1 validation-failure:1:mx.ststest.dane" \
		--expect "stsdown.dane sts 0 1 sts-policy-fetch-error:1:-" \
		--expect "stsdown.dane no-policy-found 1 0" \
		--expect "mismatch.dane tlsa 0 1 tlsa-invalid:1:mx.mismatch.dane" \
		$(find "$box" -type f | sort) 2>&1)
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *) not_ok "${line#FAIL }" ;;
		\#*) echo "$line" ;;
		*) not_ok "tlsrpt_check.py: $line" ;;
		esac
	done <<<"$out"
fi
finish
