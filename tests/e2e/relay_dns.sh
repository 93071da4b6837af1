#!/usr/bin/env bash
# The smarthost's host name through zegel's own validating resolver
# (firmware/dns/resolver.c on the event loop, firmware/relay/hostaddr.c):
# swaks -> zegel run (`set relay smarthost NAME:PORT`, `set resolver`,
# `set resolver-anchors`) -> a fake TLS smarthost (tests/e2e/relay/fakesmtp.py).
#
# Runs in a network namespace of its own: the private signed tree
# (tests/e2e/dns/build-tree.sh: NSD + an iterating Unbound on 127.53.0.x)
# is the only DNS there is, and the smarthost listens on 192.0.2.1 /
# 192.0.2.17, addresses that only that tree knows (www.example.tld, secure;
# www.unsigned.tld, insecure). So a delivery proves the name came from the
# stub. www.badsig.tld (bogus) and a dead resolver (indeterminate) must end
# in 451 4.4.3 at swaks with the reason, and nothing may reach the smarthost.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

if [ -z "${RELAY_DNS_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
	exec env RELAY_DNS_NETNS=1 unshare -n bash "$0" "$@"
fi
if [ -z "${RELAY_DNS_NETNS:-}" ]; then
	skip "smarthost name via the resolver" "needs root and unshare -n (a network namespace)"
	finish
	exit 0
fi
for t in ldns-keygen ldns-signzone ldns-key2ds nsd unbound dig swaks openssl ip; do
	if ! command -v $t >/dev/null; then
		skip "smarthost name via the resolver" "$t not installed (scripts/bootstrap.sh)"
		finish
		exit 0
	fi
done
if timeout 5 "$ZEGEL" run --config /dev/null --no-console </dev/null 2>&1 | grep -q 'not implemented'; then
	skip "smarthost name via the resolver" "zegel run is not implemented in this build"
	finish
	exit 0
fi
ip link set lo up
for a in 192.0.2.1 192.0.2.6 192.0.2.17; do ip addr add "$a/32" dev lo; done

W=$(tmpdir)
FAKE_PID=
fake_stop() { [ -n "$FAKE_PID" ] && { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=; }; }
cleanup() {
	smtpd_stop
	fake_stop
	for f in "$W"/nsd.pid "$W"/dns/nsd.pid "$W"/dns/unbound-*.pid "$W"/unbound-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 0.2
	rm -rf "$W"
}
trap cleanup EXIT

if ! out=$(bash "$TOP/tests/e2e/dns/build-tree.sh" "$W/dns" 2>&1); then
	not_ok "build the signed tree" "$out"
	finish
	exit 1
fi
nsd -c "$W/dns/nsd.conf" -P "$W/nsd.pid" >/dev/null 2>&1
unbound -c "$W/dns/unbound.conf" >/dev/null 2>&1
ready=0
for _ in $(seq 1 50); do
	if dig +short +time=1 +tries=1 @127.53.0.2 -p 23054 www.example.tld A 2>/dev/null | grep -q 192.0.2.1; then
		ready=1
		break
	fi
	sleep 0.2
done
if [ $ready = 0 ]; then
	not_ok "signed tree served (NSD + Unbound)" "$(tail -n 5 "$W"/dns/*.log 2>&1)"
	finish
	exit 1
fi
ok "signed tree served in a private network namespace (NSD + iterating Unbound)"
RES=127.53.0.2:23054
ANCHOR=$W/dns/anchor.zone

# the binary has no C-library resolver in it any more
if command -v nm >/dev/null; then
	check_not "zegel links no getaddrinfo" sh -c "nm -D '$ZEGEL' 2>/dev/null | grep -q getaddrinfo || nm '$ZEGEL' 2>/dev/null | grep -q getaddrinfo"
fi

# PKI: the test CA, and a smarthost certificate for the two names
"$TOP/tests/e2e/relay/mkcerts.sh" "$W/pki" || { not_ok "test PKI"; finish; exit 1; }
(
	cd "$W/pki"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sh.key -out sh.csr \
		-subj "/CN=www.example.tld" 2>/dev/null
	printf 'subjectAltName=DNS:www.example.tld,DNS:www.unsigned.tld,DNS:www.badsig.tld\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >sh.ext
	openssl x509 -req -in sh.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out sh.crt -days 30 \
		-extfile sh.ext 2>/dev/null
) || { not_ok "smarthost certificate"; finish; exit 1; }

smtpd_env_setup "$W" 45100
cp "$W/zegel.conf" "$W/base.conf"
FAKE_PORT=45025

# case NAME HOST RESOLVER WANT_REGEX(swaks) DELIVERED(yes|no)
case_run() {
	local name=$1 host=$2 res=$3 want=$4 delivered=$5 out log=$W/fake.$1.log
	: >"$log"
	rm -f "$W/ready"
	$PY "$TOP/tests/e2e/relay/fakesmtp.py" --port $FAKE_PORT --addr 0.0.0.0 --mode ok \
		--cert "$W/pki/sh.crt" --key "$W/pki/sh.key" --log "$log" --ready "$W/ready" &
	FAKE_PID=$!
	for _ in $(seq 1 50); do [ -f "$W/ready" ] && break; sleep 0.1; done
	{
		cat "$W/base.conf"
		echo "set relay smarthost $host:$FAKE_PORT"
		echo "set relay ca-file $W/pki/ca.crt"
		echo "set resolver $res"
		echo "set resolver-anchors $ANCHOR"
	} >"$W/zegel.conf"
	if ! smtpd_start "$W"; then
		not_ok "$name: zegel run starts" "$(tail -5 "$W/zegel.log")"
		fake_stop
		return
	fi
	out=$(timeout 60 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to alice@example.net \
		--h-From printer@example.test --h-Subject "case $name" \
		--body "BODY-$name" 2>&1)
	smtpd_stop
	fake_stop
	if printf '%s\n' "$out" | grep -qE "$want"; then
		ok "$name: swaks gets $(printf '%s\n' "$out" | grep -E "$want" | head -1 | sed 's/^<[~*]* *//' | cut -c1-120)"
	else
		not_ok "$name: swaks gets /$want/" "$(printf '%s\n' "$out" | grep -E '^<' | tail -4; tail -5 "$W/zegel.log")"
	fi
	if [ "$delivered" = yes ]; then
		if grep -q -- '--TLS--' "$log" && grep -q "BODY-$name" "$log"; then
			ok "$name: the smarthost at the tree's address got the message over TLS"
		else
			not_ok "$name: the smarthost got the message over TLS" "$(head -c 600 "$log")"
		fi
	else
		if [ -s "$log" ]; then
			not_ok "$name: nothing reached the smarthost" "$(head -c 600 "$log")"
		else
			ok "$name: nothing reached the smarthost"
		fi
	fi
	cp "$W/zegel.log" "$W/zegel.$name.log"
}

case_run secure www.example.tld $RES '^<~ +250 2\.0\.0 .*relayed via www\.example\.tld\[192\.0\.2\.1\]:45025' yes
check "secure: zegel's log says the address came from the validating resolver" \
	grep -qE 'relay www\.example\.tld: 2 addresses \(secure, validating resolver\), first 192\.0\.2\.1' "$W/zegel.secure.log"
check "secure: TLSA looked up after secure addresses, securely denied: PKIX" \
	grep -qE 'relay www\.example\.tld: TLSA _45025\._tcp\.www\.example\.tld: secure, no TLSA records \(securely denied\) -> PKIX' "$W/zegel.secure.log"
check "secure: delivered to www.example.tld[192.0.2.1]" \
	grep -qE 'relay=www\.example\.tld\[192\.0\.2\.1\]:45025, tls=TLSv1\.[23] verified=pkix, status=sent' "$W/zegel.secure.log"

case_run insecure www.unsigned.tld $RES '^<~ +250 2\.0\.0 .*relayed via www\.unsigned\.tld\[192\.0\.2\.17\]:45025' yes
check "insecure: an unsigned delegation's address is used (and logged as insecure)" \
	grep -qE 'relay www\.unsigned\.tld: 1 address \(insecure, validating resolver\), first 192\.0\.2\.17' "$W/zegel.insecure.log"
check "insecure: no TLSA lookup for insecure addresses (RFC 7672 2.2.1): PKIX" \
	grep -qE 'relay www\.unsigned\.tld: TLSA not looked up: address records not DNSSEC-signed: no DANE -> PKIX' "$W/zegel.insecure.log"

case_run bogus www.badsig.tld $RES '^<[~*]* *451 4\.4\.3 .*DNS for www\.badsig\.tld is bogus' no
check "bogus: the reason is in zegel's log" grep -q 'DNS for www.badsig.tld is bogus' "$W/zegel.bogus.log"

# a resolver that does not answer: indeterminate (after the transport's timeouts)
case_run indeterminate www.example.tld 127.53.0.9:23099 '^<[~*]* *451 4\.4\.3 .*DNS for www\.example\.tld is indeterminate' no

# `test relay` / `show relay` on the console of zegel run: the name is looked
# up on the event loop (no blocking lookup inside the daemon)
rm -f "$W/ready"
$PY "$TOP/tests/e2e/relay/fakesmtp.py" --port $FAKE_PORT --addr 0.0.0.0 --mode ok \
	--cert "$W/pki/sh.crt" --key "$W/pki/sh.key" --log "$W/fake.console.log" --ready "$W/ready" &
FAKE_PID=$!
for _ in $(seq 1 50); do [ -f "$W/ready" ] && break; sleep 0.1; done
{
	cat "$W/base.conf"
	echo "set relay smarthost www.example.tld:$FAKE_PORT"
	echo "set relay ca-file $W/pki/ca.crt"
	echo "set resolver $RES"
	echo "set resolver-anchors $ANCHOR"
} >"$W/zegel.conf"
printf 'show relay\ntest relay\n' | timeout 60 "$ZEGEL" run --config "$W/zegel.conf" >"$W/console.out" 2>&1
fake_stop
check "console: show relay does not look the name up" \
	grep -q 'relay: addresses of www.example.tld from the validating resolver at each relay' "$W/console.out"
check "console: test relay looks the name up with the stub" \
	grep -q 'relay: looking up www.example.tld with the validating resolver' "$W/console.out"
check "console: test relay connects to the tree's address and verifies" \
	sh -c "grep -q 'relay: connecting to www.example.tld\[192.0.2.1\]:$FAKE_PORT' '$W/console.out' && grep -q 'relay: OK' '$W/console.out'"

# zegel relay-check (CLI): the blocking stub with the same rules
out=$(timeout 60 "$ZEGEL" relay-check --ca "$W/pki/ca.crt" --resolver $RES --anchor "$ANCHOR" \
	--timeout 10 www.badsig.tld:$FAKE_PORT 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q 'DNS for www.badsig.tld is bogus'; then
	ok "relay-check: bogus name refused (exit $rc)"
else
	not_ok "relay-check: bogus name refused" "rc=$rc $out"
fi
rm -f "$W/ready"
$PY "$TOP/tests/e2e/relay/fakesmtp.py" --port $FAKE_PORT --addr 0.0.0.0 --mode ok \
	--cert "$W/pki/sh.crt" --key "$W/pki/sh.key" --log "$W/fake.check.log" --ready "$W/ready" &
FAKE_PID=$!
for _ in $(seq 1 50); do [ -f "$W/ready" ] && break; sleep 0.1; done
out=$(timeout 60 "$ZEGEL" relay-check --ca "$W/pki/ca.crt" --resolver $RES --anchor "$ANCHOR" \
	--timeout 10 www.example.tld:$FAKE_PORT 2>&1)
rc=$?
fake_stop
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q 'connecting to www.example.tld\[192.0.2.1\]:45025'; then
	ok "relay-check: www.example.tld resolved by the stub, TLS verified"
else
	not_ok "relay-check: www.example.tld resolved by the stub, TLS verified" "rc=$rc $out"
fi
finish
