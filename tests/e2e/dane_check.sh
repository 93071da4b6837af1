#!/usr/bin/env bash
# `zegel dane-check` against real peers: the DANE world of
# tests/e2e/lib/dane_env.sh (signed tree on NSD behind a non-validating
# Unbound, Postfix receivers with their own certificates, a STARTTLS
# stripper, an attacker certificate). For every case the last line
# (`status: ...`) and the exit code must be what RFC 7672 requires; some
# cases also check the lines before it (which TLSA record matched, DNSSEC
# status of MX/TLSA, no connection where none may be made). delv (BIND)
# cross-checks the DNS side of the tree with the same trust anchor.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"

why=$(dane_env_need)
if [ -n "$why" ]; then
	skip "DANE world" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
trap 'dane_env_stop; rm -rf "$d"' EXIT
t0=$(date +%s%N)
if ! dane_env_setup "$d/w"; then
	not_ok "test PKI, signed tree and Postfix config" "$DANE_ENV_ERR"
	finish
	exit 1
fi
if ! dane_env_start; then
	not_ok "NSD, Unbound, Postfix (one listener per MX host) and the STARTTLS stripper are up" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up in $((($(date +%s%N) - t0) / 1000000)) ms (PKI, signed tree, NSD, Unbound, Postfix, stripper)"

# ---------------------------------------------------------------- DNS side (delv)
# delv TYPE NAME -> secure | insecure | bogus | failed
delv_status() {
	local out
	out=$(timeout 30 delv @"${DANE_RESOLVER%:*}" -p "${DANE_RESOLVER#*:}" -a "$DANE_DELV_ANCHOR" +root=. \
		"$2" "$1" 2>&1)
	case $out in
	*"; fully validated"* | *"; negative response, fully validated"*) echo secure ;;
	*"; unsigned answer"* | *"; negative response, unsigned answer"*) echo insecure ;;
	*"RRSIG failed to verify"* | *"no valid signature"*) echo bogus ;;
	*) echo failed ;;
	esac
}
# zegel's own validator (zegel resolve, the stub dane-check uses) must agree
zresolve_status() {
	timeout 30 "$ZEGEL" resolve --server "$DANE_RESOLVER" --anchor "$DANE_ANCHOR" "$1" "$2" 2>&1 |
		sed -n 's/^status: \([a-z]*\).*/\1/p' | tail -1
}
T=_$DANE_PORT._tcp
while read -r type name want zwant; do
	got=$(delv_status "$type" "$name")
	[ "$got" = "$want" ] && ok "delv: $type $name is $want" ||
		not_ok "delv: $type $name: want $want, got $got"
	got=$(zresolve_status "$type" "$name")
	[ "$got" = "$zwant" ] && ok "zegel resolve: $type $name is $zwant" ||
		not_ok "zegel resolve: $type $name: want $zwant, got ${got:-nothing}"
done <<EOF
MX ee.dane secure secure
A mx.ee.dane secure secure
TLSA $T.mx.ee.dane secure secure
TLSA $T.mx.ta.dane secure secure
TLSA $T.mx.rollover.dane secure secure
TLSA $T.mx.notlsa.dane secure secure
MX twomx.dane secure secure
MX bogusmx.dane bogus bogus
TLSA $T.mx.bogustlsa.dane bogus bogus
TLSA $T.mx.servfail.dane failed indeterminate
MX insec.dane insecure insecure
TLSA $T.mx.insec.dane insecure insecure
EOF

# ---------------------------------------------------------------- dane-check
# dc DOMAIN [options]: DC_OUT (stdout and stderr), DC_LAST (last stdout line), DC_RC
dc() {
	local dom=$1
	shift
	DC_OUT=$(timeout 60 "$ZEGEL" dane-check --resolver "$DANE_RESOLVER" --anchor "$DANE_ANCHOR" \
		--port "$DANE_PORT" "$@" "$dom" 2>"$d/dc.err")
	DC_RC=$?
	DC_LAST=$(printf '%s\n' "$DC_OUT" | tail -1)
	[ -s "$d/dc.err" ] && DC_OUT="$DC_OUT${DC_OUT:+$'\n'}$(cat "$d/dc.err")"
	grep -hE -A5 'Sanitizer|runtime error' "$d/dc.err" >>"$d/sanitizer.txt"
}
has() { grep -qE -- "$1" <<<"$DC_OUT"; }

dc ee.dane
if grep -q 'not implemented' <<<"$DC_OUT" && [ "$DC_RC" = 2 ]; then
	skip "dane-check cases" "dane-check is not implemented in this build: $(head -1 <<<"$DC_OUT")"
	finish
	exit 0
fi

declare -A OUT
while read -r c dom want host what; do
	[ -n "$c" ] || continue
	t1=$(date +%s%N)
	dc "$dom"
	ms=$((($(date +%s%N) - t1) / 1000000))
	OUT[$c]=$DC_OUT
	if [ "$want" = deferred ]; then
		exp="status: deferred (...), exit 1"
		[[ $DC_LAST == "status: deferred ("*")" && $DC_RC = 1 ]] && r=0 || r=1
	else
		exp="status: $want $host, exit 0"
		[[ $DC_LAST == "status: $want $host" && $DC_RC = 0 ]] && r=0 || r=1
	fi
	if [ $r = 0 ]; then
		ok "$c: $what -> $exp (${ms} ms)"
	else
		not_ok "$c: $what -> want $exp, got '${DC_LAST}', exit $DC_RC" "$DC_OUT"
	fi
done <<<"$DANE_CASES"

# case CASE "what" regex [!]: a line of that case's output matches (or, with !, none does)
line() {
	local c=$1 what=$2 re=$3 neg=${4:-}
	if grep -qiE -- "$re" <<<"${OUT[$c]}"; then
		[ -z "$neg" ] && ok "$c: $what" || not_ok "$c: $what" "${OUT[$c]}"
	else
		[ -n "$neg" ] && ok "$c: $what" || not_ok "$c: $what (no line matches /$re/)" "${OUT[$c]}"
	fi
}
P=$d/w/pki
spki() { dane_spki_sha256 "$P/$1"; }
full() { dane_cert_sha256 "$P/$1"; }
line ee "MX secure" "^mx: ee\.dane secure 10 mx\.ee\.dane"
line ee "address secure" "^addr: mx\.ee\.dane secure 127\.0\.42\.11"
line ee "TLSA secure, 1 record" "^tlsa: $T\.mx\.ee\.dane secure"
line ee "the 3 1 1 record matched the leaf (depth 0)" "^match: 3 1 1 $(spki ee.crt) depth 0"
line ee "TLS 1.2 with mx.ee.dane" "^tls: mx\.ee\.dane\[127\.0\.42\.11\]:$DANE_PORT TLSv1\.2 "
line ee "certificate subject and issuer" "^cert: subject=.*mx\.ee\.dane.* issuer=.*intermediate"
line cname "TLSA looked up at the CNAME target" "^tlsa: $T\.host\.cname\.dane secure"
line cname "and matched there" "^match: 3 1 1 $(spki cname.crt) depth 0"
line ta211 "the 2 1 1 record matched the intermediate (depth 1)" "^match: 2 1 1 $(spki int.crt) depth 1"
line tafull "the 2 1 0 record (full key) matched above the leaf" "^match: 2 1 0 $(dane_spki_hex "$P/int.crt") depth"
line ta "the 2 0 1 record matched the intermediate (depth 1)" "^match: 2 0 1 $(full int.crt) depth 1"
line ee512 "the 3 1 2 (SHA-512) record matched the leaf" "^match: 3 1 2 $(dane_spki_sha512 "$P/ee512.crt") depth 0"
line tanochain "DANE-TA without the trust anchor in the chain does not verify" "^host: mx\.tanochain\.dane failed"
line eeexp "the 3 0 1 record matched the expired leaf" "^match: 3 0 1 $(full expired.crt) depth 0"
line rollover "two TLSA records listed" "^tlsa: $T\.mx\.rollover\.dane 3 1 1 $(spki stale.key) usable"
line rollover "the second (current) record matched" "^match: 3 1 1 $(spki rollover.crt) depth 0"
line rollover "not the stale one" "^match: 3 1 1 $(spki stale.key)" !
line twomx "MX 10 tried first and failed" "^host: mx1\.twomx\.dane failed"
line twomx "MX 20 verified" "^host: mx2\.twomx\.dane verified"
if grep -n '^connect:' <<<"${OUT[twomx]}" | head -1 | grep -q mx1.twomx.dane; then
	ok "twomx: connects to MX 10 before MX 20"
else
	not_ok "twomx: connects to MX 10 before MX 20" "${OUT[twomx]}"
fi
line mismatch "no record matched" "^match: none"
line mismatch "host failed" "^host: mx\.mismatch\.dane failed"
line tabad "DANE-TA with a leaf for another name does not verify" "^host: mx\.tabad\.dane failed"
line mitm "the attacker's certificate was seen" "^cert: .*issuer=.*attacker CA"
line mitm "and not accepted" "^match: none"
line strip "the host failed (no STARTTLS where DANE applies)" "^host: mx\.strip\.dane failed"
line strip "never plaintext" "^host: mx\.strip\.dane plaintext" !
if grep -q stripped "$d/w/mitm_strip.log"; then
	ok "strip: the man in the middle did strip STARTTLS from the EHLO reply"
else
	not_ok "strip: the man in the middle did strip STARTTLS" "$(cat "$d/w/mitm_strip.log")"
fi
line servfail "TLSA lookup indeterminate" "^tlsa: $T\.mx\.servfail\.dane indeterminate"
line servfail "no connection to a host whose TLSA lookup failed" "^connect:" !
line bogustlsa "TLSA bogus" "^tlsa: $T\.mx\.bogustlsa\.dane bogus"
line bogustlsa "no connection" "^connect:" !
line bogusmx "MX bogus" "^mx: bogusmx\.dane bogus"
line bogusmx "no fallback to the apex A record: no connection" "^connect:" !
line pkix "the 1 1 1 record is listed as unusable" "^tlsa: $T\.mx\.pkix\.dane 1 1 1 [0-9A-Fa-f]+ unusable"
line notlsa "no TLSA: a secure denial" "^tlsa: $T\.mx\.notlsa\.dane secure"
line insec "MX insecure" "^mx: insec\.dane insecure"
line insec "the insecure TLSA record is not used" "^match: [0-9]" !
line plain "no TLS" "^tls: " !

# the receivers' side: who was connected to (dane-check's connections are
# logged by the listener of each host)
sleep 0.5 # Postfix logs through postlogd
for h in mx.servfail.dane mx.bogustlsa.dane mx.bogusmx.dane; do
	n=$(dane_maillog $h | grep -c 'connect from')
	[ "$n" = 0 ] && ok "receiver $h: never connected to" ||
		not_ok "receiver $h: never connected to" "$(dane_maillog $h)"
done
if dane_maillog mx.ee.dane | grep -q 'TLS connection established from .*: TLSv1\.2'; then
	ok "receiver mx.ee.dane: a TLSv1.2 session from dane-check"
else
	not_ok "receiver mx.ee.dane: a TLSv1.2 session from dane-check" "$(dane_maillog mx.ee.dane)"
fi
for h in mx.ee.dane mx.cname.dane; do
	if dane_maillog $h | grep -q 'SNI .* not matched'; then
		not_ok "receiver $h: SNI was the TLSA base domain" "$(dane_maillog $h | grep SNI)"
	else
		ok "receiver $h: SNI was the TLSA base domain (else the attacker's certificate comes)"
	fi
done
if dane_maillog mx1.twomx.dane | grep -q 'connect from'; then
	ok "receiver mx1.twomx.dane: was tried"
else
	not_ok "receiver mx1.twomx.dane: was tried" "$(dane_maillog mx1.twomx.dane)"
fi

# delivery is not dane-check's business: no mailbox got anything
n=$(find "$d/w/pf/mail" -type f | wc -l)
[ "$n" = 0 ] && ok "dane-check sent no mail" || not_ok "dane-check sent no mail" "$n messages"

# the same command on zegel run's console (resolver, anchors and port from
# the configuration)
. "$TOP/tests/e2e/lib/smtpd_env.sh"
smtpd_env_setup "$d" 42110
cat >>"$d/zegel.conf" <<CONF
set relay mx-port $DANE_PORT
set resolver $DANE_RESOLVER
set resolver-anchors $DANE_ANCHOR
CONF
out=$(printf 'dane-check ee.dane\ndane-check mismatch.dane\ndane-check pkix.dane\n' |
	timeout 60 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
if grep -q "unknown setting 'resolver-anchors'" <<<"$out"; then
	skip "console dane-check" "set resolver-anchors is not in this build: $(grep -m1 unknown <<<"$out")"
else
	for want in "status: verified mx.ee.dane" "status: deferred (" "status: encrypted mx.pkix.dane"; do
		if grep -qF -- "$want" <<<"$out"; then
			ok "console: dane-check prints '$want'"
		else
			not_ok "console: dane-check prints '$want'" "$(tail -30 <<<"$out")"
		fi
	done
fi

# signatures expired (--now 60 days ahead): validation fails, the domain waits
dc ee.dane --now $(($(date +%s) + 60 * 86400))
[[ $DC_LAST == "status: deferred ("*")" && $DC_RC = 1 ]] &&
	ok "--now after the signatures expired: deferred, exit 1" ||
	not_ok "--now after the signatures expired: want deferred, exit 1; got '$DC_LAST', $DC_RC" "$DC_OUT"
# with an ASan/UBSan build as ZEGEL, no reports (leaks at exit included)
if [ -s "$d/sanitizer.txt" ]; then
	not_ok "dane-check: no sanitizer reports" "$(head -20 "$d/sanitizer.txt")"
else
	ok "dane-check: no sanitizer reports"
fi
"$ZEGEL" dane-check >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && ok "no DOMAIN: usage error, exit 2" || not_ok "no DOMAIN: usage error, exit 2" "exit $rc"
finish
