#!/usr/bin/env bash
# DANE for the smarthost (RFC 7672 2.2 for a next hop without MX lookup):
# swaks -> zegel run (`set relay smarthost mx.CASE.dane:42025`, the DANE
# world's resolver and trust anchor) -> the world's real Postfix receivers
# (tests/e2e/lib/dane_env.sh: signed tree, TLSA at _42025._tcp.HOST, one
# listener per host with its own certificate). Each case is checked at swaks
# (the RCPT-time relay answers with the upstream's verdict or 451 4.7.5), in
# zegel's log (verified=dane|pkix) and at the receiver (delivered or not):
#   ee        3 1 1 matches; CA file = the attacker CA, so PKIX would refuse
#             the certificate (openssl verify says so): delivered, verified=dane
#   eeexp     3 0 1 on an expired leaf with a wrong name, CA file = the right
#             root (PKIX refuses it anyway): delivered, verified=dane
#   mismatch  3 1 1 of a key nobody has, certificate PKIX-valid under the CA
#             file: 451 4.7.5, nothing delivered (DANE wins over PKIX)
#   bogustlsa TLSA with a bad signature: 451 4.7.5 with the reason, no connection
#   servfail  the TLSA lookup fails (indeterminate): 451 4.7.5
#   notlsa    no TLSA (secure denial): PKIX as before, verified=pkix;
#             and with the wrong CA file: 451 4.7.5 (still authenticated TLS)
#   pkix      only a PKIX-EE 1 1 1 record (secure, none usable): PKIX
# Then `zegel relay-check` (CLI) and the console's `test relay` for the
# same hosts. zegel listens on 127.0.0.1:47100-47103 (this suite's range)
# inside a network namespace of its own.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
if [ -n "$why" ]; then
	skip "smarthost DANE" "$why"
	finish
	exit 0
fi
if [ -z "${DANE_NETNS:-}" ]; then
	skip "smarthost DANE" "needs a network namespace of its own (unshare -n)"
	finish
	exit 0
fi
d=$(tmpdir)
FAKE_PID=
trap 'smtpd_stop; [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; dane_env_stop; rm -rf "$d"' EXIT

t0=$(date +%s%N)
if ! dane_env_setup "$d/w"; then
	not_ok "test PKI, signed tree and Postfix config" "$DANE_ENV_ERR"
	finish
	exit 1
fi
if ! dane_env_start; then
	not_ok "NSD, Unbound, Postfix and the STARTTLS stripper are up" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up in $((($(date +%s%N) - t0) / 1000000)) ms"
PKI=$d/w/pki
ROOT=$PKI/root.crt
WRONGCA=$PKI/attackerca.crt

# the preconditions that make the cases mean something
check "ee: PKIX with the attacker CA file refuses mx.ee.dane's certificate" \
	sh -c "! openssl verify -CAfile '$WRONGCA' -untrusted '$PKI/int.crt' '$PKI/ee.crt' >/dev/null 2>&1"
check "mismatch: mx.mismatch.dane's certificate is PKIX-valid under the root CA file" \
	openssl verify -CAfile "$ROOT" -untrusted "$PKI/int.crt" -verify_hostname mx.mismatch.dane \
	"$PKI/mismatch.crt"
check "eeexp: PKIX refuses mx.eeexp.dane's certificate even with the root CA file" \
	sh -c "! openssl verify -CAfile '$ROOT' -untrusted '$PKI/int.crt' -verify_hostname mx.eeexp.dane '$PKI/expired.crt' >/dev/null 2>&1"

smtpd_env_setup "$d" 47100
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cp "$d/zegel.conf" "$d/base.conf"

# run_case NAME HOST CAFILE SWAKS_REGEX DELIVERED(yes|no) [LOG_REGEX]
run_case() {
	local name=$1 host=$2 ca=$3 want=$4 delivered=$5 logre=${6:-} dom out before after
	dom=${host#mx.}
	{
		cat "$d/base.conf"
		echo "set relay smarthost $host:$DANE_PORT"
		echo "set relay ca-file $ca"
		echo "set resolver $DANE_RESOLVER"
		echo "set resolver-anchors $DANE_ANCHOR"
	} >"$d/zegel.conf"
	before=$(dane_mail_count "$dom")
	if ! smtpd_start "$d"; then
		not_ok "$name: zegel run starts" "$(tail -5 "$d/zegel.log")"
		smtpd_stop
		return
	fi
	out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to "rcpt@$dom" --h-From printer@example.test \
		--h-Subject "smarthost case $name" --body "BODY-$name" 2>&1)
	smtpd_stop
	cp "$d/zegel.log" "$d/zegel.$name.log"
	if grep -qE "$want" <<<"$out"; then
		ok "$name: swaks gets $(grep -E "$want" <<<"$out" | head -1 | sed 's/^<[~*]* *//' | cut -c1-150)"
	else
		not_ok "$name: swaks gets /$want/" "$(grep -E '^<' <<<"$out" | tail -4; tail -8 "$d/zegel.log")"
	fi
	if [ "$delivered" = yes ]; then
		if dane_mail_wait "$dom" $((before + 1)) 10 &&
			grep -q "BODY-$name" "$(dane_mail_files "$dom" | tail -1)" &&
			dane_first_received "$(dane_mail_files "$dom" | tail -1)" | grep -q "using TLSv1"; then
			ok "$name: delivered to $host over TLS"
		else
			not_ok "$name: delivered to $host over TLS" "$(dane_maillog "$host" | tail -5)"
		fi
	else
		sleep 0.5
		after=$(dane_mail_count "$dom")
		if [ "$after" = "$before" ] && ! dane_maillog "$host" | grep -q "BODY-$name"; then
			ok "$name: nothing delivered"
		else
			not_ok "$name: nothing delivered" "$before -> $after $(dane_maillog "$host" | tail -3)"
		fi
	fi
	if [ -n "$logre" ]; then
		if grep -qE "$logre" "$d/zegel.$name.log"; then
			ok "$name: zegel's log: $(grep -oE "$logre" "$d/zegel.$name.log" | head -1 | cut -c1-150)"
		else
			not_ok "$name: zegel's log has /$logre/" "$(grep -E 'relay' "$d/zegel.$name.log" | tail -6)"
		fi
	fi
}

IP='127\.0\.42\.[0-9]+'
run_case ee mx.ee.dane "$WRONGCA" '^<~ +250 2\.0\.0 .*relayed via mx\.ee\.dane' yes \
	"to=<rcpt@ee\.dane>, relay=mx\.ee\.dane\[$IP\]:$DANE_PORT, tls=TLSv1\.2 verified=dane, status=sent"
check "ee: the log shows the TLSA finding" \
	grep -qE 'relay mx\.ee\.dane: TLSA _42025\._tcp\.mx\.ee\.dane: secure, 1 TLSA record, 1 usable -> DANE' "$d/zegel.ee.log"
run_case eeexp mx.eeexp.dane "$ROOT" '^<~ +250 2\.0\.0 .*relayed via mx\.eeexp\.dane' yes \
	"to=<rcpt@eeexp\.dane>, relay=mx\.eeexp\.dane\[$IP\]:$DANE_PORT, tls=TLSv1\.2 verified=dane, status=sent"
run_case mismatch mx.mismatch.dane "$ROOT" '^<[~*]* *451 4\.7\.5 .*TLS with mx\.mismatch\.dane' no \
	'RCPT to=<rcpt@mismatch\.dane>, relay=mx\.mismatch\.dane.*refused \(451 4\.7\.5 .*DANE: '
run_case bogustlsa mx.bogustlsa.dane "$ROOT" '^<[~*]* *451 4\.7\.5 .*TLSA lookup for _42025\._tcp\.mx\.bogustlsa\.dane is bogus' no
if grep -q 'connect from' <(dane_maillog mx.bogustlsa.dane); then
	not_ok "bogustlsa: no connection to the smarthost" "$(dane_maillog mx.bogustlsa.dane | tail -3)"
else
	ok "bogustlsa: no connection to the smarthost"
fi
run_case servfail mx.servfail.dane "$ROOT" '^<[~*]* *451 4\.7\.5 .*TLSA lookup for _42025\._tcp\.mx\.servfail\.dane is (indeterminate|bogus)' no
run_case notlsa mx.notlsa.dane "$ROOT" '^<~ +250 2\.0\.0 .*relayed via mx\.notlsa\.dane' yes \
	"to=<rcpt@notlsa\.dane>, relay=mx\.notlsa\.dane\[$IP\]:$DANE_PORT, tls=TLSv1\.2 verified=pkix, status=sent"
run_case notlsa-wrongca mx.notlsa.dane "$WRONGCA" '^<[~*]* *451 4\.7\.5 ' no
run_case pkix mx.pkix.dane "$ROOT" '^<~ +250 2\.0\.0 .*relayed via mx\.pkix\.dane' yes \
	"to=<rcpt@pkix\.dane>, relay=mx\.pkix\.dane\[$IP\]:$DANE_PORT, tls=TLSv1\.2 verified=pkix, status=sent"

# ---------------------------------------------------------------- relay-check
rc_run() { # HOST CAFILE
	timeout 60 "$ZEGEL" relay-check --ca "$2" --resolver "$DANE_RESOLVER" --anchor "$DANE_ANCHOR" \
		--timeout 10 "$1:$DANE_PORT" 2>&1
}
out=$(rc_run mx.ee.dane "$WRONGCA")
rc=$?
if [ $rc -eq 0 ] && grep -q 'relay: TLSA _42025._tcp.mx.ee.dane: secure, 1 TLSA record, 1 usable' <<<"$out" &&
	grep -qE 'relay: DANE: matched TLSA 3 1 1 [0-9a-fA-F]{64} at depth 0' <<<"$out" &&
	grep -q 'verified=dane' <<<"$out" && grep -q 'relay: OK' <<<"$out"; then
	ok "relay-check mx.ee.dane: TLSA found, matched, verified=dane (exit 0)"
else
	not_ok "relay-check mx.ee.dane: verified=dane" "rc=$rc $out"
fi
out=$(rc_run mx.mismatch.dane "$ROOT")
rc=$?
if [ $rc -eq 1 ] && grep -q 'relay: DANE: no TLSA record matched' <<<"$out" &&
	grep -q 'relay: FAILED: 451 4.7.5' <<<"$out"; then
	ok "relay-check mx.mismatch.dane: no match, FAILED 451 4.7.5 (exit 1) despite a PKIX-valid certificate"
else
	not_ok "relay-check mx.mismatch.dane fails" "rc=$rc $out"
fi
out=$(rc_run mx.bogustlsa.dane "$ROOT")
rc=$?
if [ $rc -eq 1 ] && grep -q 'relay: FAILED: 451 4.7.5 TLSA lookup for _42025._tcp.mx.bogustlsa.dane is bogus' <<<"$out" &&
	! grep -q 'relay: connecting' <<<"$out"; then
	ok "relay-check mx.bogustlsa.dane: bogus TLSA, no connection (exit 1)"
else
	not_ok "relay-check mx.bogustlsa.dane" "rc=$rc $out"
fi
out=$(rc_run mx.notlsa.dane "$ROOT")
rc=$?
if [ $rc -eq 0 ] && grep -q 'relay: no usable TLSA: PKIX with the CA file' <<<"$out" &&
	grep -q 'verified=pkix' <<<"$out"; then
	ok "relay-check mx.notlsa.dane: no TLSA, PKIX (exit 0)"
else
	not_ok "relay-check mx.notlsa.dane: PKIX" "rc=$rc $out"
fi

# ---------------------------------------------------------------- console
{
	cat "$d/base.conf"
	echo "set relay smarthost mx.ee.dane:$DANE_PORT"
	echo "set relay ca-file $WRONGCA"
	echo "set resolver $DANE_RESOLVER"
	echo "set resolver-anchors $DANE_ANCHOR"
} >"$d/zegel.conf"
printf 'show relay\ntest relay\n' | timeout 60 "$ZEGEL" run --config "$d/zegel.conf" >"$d/console.out" 2>&1
if grep -q 'relay: TLSA _42025._tcp.mx.ee.dane: secure' "$d/console.out" &&
	grep -qE 'relay: DANE: matched TLSA 3 1 1 ' "$d/console.out" &&
	grep -q 'verified=dane' "$d/console.out" && grep -q 'relay: OK' "$d/console.out"; then
	ok "console test relay: TLSA looked up on the loop, verified=dane, OK"
else
	not_ok "console test relay: verified=dane" "$(grep 'relay' "$d/console.out" | tail -12)"
fi
check "console show relay: says where DANE comes from (no lookup)" \
	grep -q "relay: DANE: TLSA at _$DANE_PORT._tcp.mx.ee.dane when its addresses are DNSSEC-signed" "$d/console.out"

# ---------------------------------------------------------------- implicit TLS
# `set relay tls implicit`: the TLS client starts before the TLSA finding is
# known and is started again for DANE (upstream_set_verify). Postfix makes
# room: tests/e2e/relay/fakesmtp.py (TLS from the first byte) takes over
# mx.ee.dane's and mx.mismatch.dane's addresses with their certificates.
postfix -c "$DANE_DIR/pf/etc" stop >/dev/null 2>&1
for _ in $(seq 1 50); do
	ss -ltnH "sport = :$DANE_PORT" 2>/dev/null | grep -qE "$DANE_NET\.(11|13):" || break
	sleep 0.1
done
FAKE_PID=
implicit_case() { # NAME HOST IP PKI-NAME CAFILE SWAKS_REGEX DELIVERED [LOG_REGEX]
	local name=$1 host=$2 ip=$3 pki=$4 ca=$5 want=$6 delivered=$7 logre=${8:-} out
	rm -f "$d/ready"
	$PY "$TOP/tests/e2e/relay/fakesmtp.py" --addr "$ip" --port "$DANE_PORT" --mode implicit \
		--cert "$PKI/$pki.chain" --key "$PKI/$pki.key" --log "$d/fake.$name.log" --ready "$d/ready" &
	FAKE_PID=$!
	for _ in $(seq 1 50); do [ -f "$d/ready" ] && break; sleep 0.1; done
	{
		cat "$d/base.conf"
		echo "set relay smarthost $host:$DANE_PORT"
		echo "set relay tls implicit"
		echo "set relay ca-file $ca"
		echo "set resolver $DANE_RESOLVER"
		echo "set resolver-anchors $DANE_ANCHOR"
	} >"$d/zegel.conf"
	if smtpd_start "$d"; then
		out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
			--from printer@example.test --to "rcpt@${host#mx.}" --h-From printer@example.test \
			--h-Subject "implicit case $name" --body "BODY-$name" 2>&1)
	else
		out="zegel did not start: $(tail -3 "$d/zegel.log")"
	fi
	smtpd_stop
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	cp "$d/zegel.log" "$d/zegel.$name.log"
	if grep -qE "$want" <<<"$out"; then
		ok "$name: swaks gets $(grep -E "$want" <<<"$out" | head -1 | sed 's/^<[~*]* *//' | cut -c1-150)"
	else
		not_ok "$name: swaks gets /$want/" "$(grep -E '^<' <<<"$out" | tail -4; tail -8 "$d/zegel.log")"
	fi
	if [ "$delivered" = yes ]; then
		check "$name: the implicit-TLS smarthost got the message over TLS" \
			sh -c "grep -q -- '--TLS--' '$d/fake.$name.log' && grep -q 'BODY-$name' '$d/fake.$name.log'"
	else
		check_not "$name: no MAIL reached the implicit-TLS smarthost" \
			grep -q 'MAIL FROM' "$d/fake.$name.log"
	fi
	if [ -n "$logre" ]; then
		check "$name: zegel's log has /$logre/" grep -qE "$logre" "$d/zegel.$name.log"
	fi
}
implicit_case implicit-ee mx.ee.dane $DANE_NET.11 ee "$WRONGCA" \
	'^<~ +250 2\.0\.0 .*relayed via mx\.ee\.dane' yes \
	"to=<rcpt@ee\.dane>, relay=mx\.ee\.dane\[$IP\]:$DANE_PORT, tls=TLSv1\.2 verified=dane, status=sent"
implicit_case implicit-mismatch mx.mismatch.dane $DANE_NET.13 mismatch "$ROOT" \
	'^<[~*]* *451 4\.7\.5 .*DANE: ' no
finish
