#!/usr/bin/env bash
# `zegel check-domain` and the console's `check domain` against a private
# signed DNS tree (tests/e2e/check/build-world.sh: NSD behind a
# non-validating Unbound, zegel validates with the private root's DS) and a
# STARTTLS receiver (tests/e2e/check/smtp_tls.py) whose key the TLSA
# records of mx.good.chk name. One zone per case; each case asserts its
# specific checklist lines and the exit code (0 pass, 1 warn, 2 fail).
# Addresses 127.0.47.0/24 in a network namespace of its own.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"

for t in openssl ldns-keygen ldns-signzone ldns-key2ds nsd unbound dig; do
	command -v $t >/dev/null || { skip "check-domain world" "$t not installed (scripts/bootstrap.sh)"; finish; exit 0; }
done
[ -n "${DANE_NETNS:-}" ] || { skip "check-domain world" "needs a network namespace (root, unshare -n)"; finish; exit 0; }
ip addr add 127.0.47.1/24 dev lo 2>/dev/null || true
N=127.0.47
d=$(tmpdir)
pids=()
stop() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$d"/w/dns/nsd.pid "$d"/w/dns/unbound-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	rm -rf "$d"
}
trap stop EXIT
W=$d/w
if ! bash "$TOP/tests/e2e/check/build-world.sh" "$W" "$ZEGEL" >"$d/build.log" 2>&1; then
	not_ok "signed test tree, keys, configs" "$(tail -5 "$d/build.log")"
	finish
	exit 1
fi
nsd -c "$W/dns/nsd.conf" -P "$W/dns/nsd.pid" >"$W/dns/nsd.out" 2>&1
unbound -c "$W/dns/unbound.conf" >"$W/dns/unbound.out" 2>&1
$PY "$TOP/tests/e2e/check/smtp_tls.py" $N.11 47025 "$W/pki/mx.crt" "$W/pki/mx.key" 2>"$d/smtp.err" &
pids+=($!)
up=0
for _ in $(seq 1 100); do
	if dig +short +time=1 +tries=1 @$N.2 -p 47054 mx.good.chk A 2>/dev/null | grep -q "^$N.11\$" &&
		(exec 3<>/dev/tcp/$N.11/47025) 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
if [ $up = 0 ]; then
	not_ok "NSD, Unbound and the STARTTLS receiver are up" "$(tail -3 "$W"/dns/*.log "$d/smtp.err" 2>&1)"
	finish
	exit 1
fi
ok "signed tree on NSD/Unbound and the STARTTLS receiver are up"

# run CASE [DOMAIN]: the checklist into $out, the exit code into $rc
run() {
	rc=0
	out=$(timeout 100 "$ZEGEL" check-domain --config "$W/conf/$1.conf" "${2:-$1.chk}" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$d/$1.out"
}
# want CASE RC LINE-REGEX...: the exit code and each line (a grep -E regex)
want() {
	local c=$1 r=$2 re bad=""
	shift 2
	[ "$rc" = "$r" ] || bad="exit $rc, want $r"
	for re in "$@"; do
		grep -qE "$re" <<<"$out" || bad="${bad:+$bad; }no line /$re/"
	done
	[ -z "$bad" ] && ok "$c: exit $r and ${#@} lines" || not_ok "$c: $bad" "$out"
}
P='^pass  '
WN='^warn  '
F='^fail  '

run good
want "all good" 0 "${P}dnssec: good.chk is signed and secure from the root \(algorithm 13 ECDSAP256SHA256\)$" \
	"${P}dkim: goodrsa._domainkey.good.chk: matches the rsa-2048 key in use$" \
	"${P}dkim: gooded._domainkey.good.chk: matches the ed25519-256 key in use$" \
	"${P}spf: good.chk: others get fail \(-all\)" \
	"${P}spf-relay: smarthost 198.51.100.25 \(198.51.100.25\) may send for good.chk \(ip4:198.51.100.25\)" \
	"${P}dmarc: p=reject, alignment DKIM relaxed / SPF relaxed$" "${P}dmarc-rua: reports go to mailto:d@good.chk" \
	"${P}mx: good.chk: 10 mx.good.chk$" "${P}tlsa: _47025._tcp.mx.good.chk: 1 usable record \(secure\)" \
	"${P}dane: mx.good.chk: the TLSA records match the certificate it serves" \
	"${P}mta-sts: _mta-sts.good.chk id=20261205, policy host mta-sts.good.chk has an address" \
	"${P}tls-rpt: reports go to mailto:tlsrpt@good.chk" '^summary: good.chk: 12 pass, 0 warn, 0 fail$'
check "all good: no warn or fail line" bash -c "! grep -qE '^(warn|fail)' '$d/good.out'"

run nodkim
want "DKIM record missing" 2 "${F}dkim: nodkimrsa._domainkey.nodkim.chk: no record \(NXDOMAIN\)" \
	'^      fix: nodkimrsa._domainkey.nodkim.chk. IN TXT "v=DKIM1; k=rsa; " "p=MII' \
	"${P}dkim: nodkimed._domainkey.nodkim.chk: matches"
run oldkey
want "record with the previous key" 2 "${F}dkim: oldkeyrsa._domainkey.oldkey.chk: p= is another key \(an old one\?\)"
run trunc
want "truncated p=" 2 "${F}dkim: truncrsa._domainkey.trunc.chk: p= is cut off \(200 base64 characters, the key has 392\)"
run testing
want "t=y" 1 "${WN}dkim: testingrsa._domainkey.testing.chk: matches the key in use, but t=y" \
	'^summary: testing.chk: 11 pass, 1 warn, 0 fail$'
run spfno
want "SPF not permitting the smarthost" 2 \
	"${F}spf-relay: smarthost 198.51.100.25 \(198.51.100.25\) gets fail for spfno.chk by -all" \
	'^      fix: add ip4:198.51.100.25 to the SPF record of spfno.chk' "${P}spf: spfno.chk: others get fail"
run spf11
want "SPF with 11 lookups" 2 "${F}spf: spf11.chk: permerror: .*(10|lookup)"
check "SPF with 11 lookups: no relay verdict after a permerror" bash -c "! grep -q '^.... *spf-relay' '$d/spf11.out'"
run redirect
want "SPF redirect chain" 0 "${P}spf: redirect.chk: others get fail" \
	"${P}spf-relay: smarthost 198.51.100.25 \(198.51.100.25\) may send for redirect.chk \(ip4:198.51.100.25\)"
run nodmarc
want "DMARC missing" 2 "${F}dmarc: no record at _dmarc.nodmarc.chk" \
	'^      fix: _dmarc.nodmarc.chk. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.chk"'
run dmarcnone
want "DMARC p=none" 1 "${WN}dmarc: p=none: receivers only report, forged mail is delivered; next step: p=quarantine" \
	'^      fix: _dmarc.dmarcnone.chk. IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@dmarcnone.chk"'
run sub sub.good.chk
want "DMARC inherited from the organisational domain" 1 \
	"${P}dmarc: p=quarantine \(inherited from good.chk, its sp= applies\)" "${WN}dkim: no key for sub.good.chk"
run unsigned
want "unsigned zone" 2 "${F}dnssec: unsigned.chk is not signed" \
	"${WN}tlsa: mx.good.chk: no DANE \(MX records not DNSSEC-signed" "${P}dkim: unsignedrsa._domainkey.unsigned.chk: matches the rsa-2048 key in use \(insecure"
run bogus
want "bogus zone" 2 "${F}dnssec: bogus.chk: DNSSEC validation fails \(bogus" "${F}dkim: bogusrsa._domainkey.bogus.chk: DNSSEC validation fails"
run tlsabad
want "MX with mismatching TLSA" 2 "${P}mx: tlsabad.chk: 5 mx.tlsabad.chk, 10 mx.good.chk" \
	"${F}dane: mx.tlsabad.chk: not DANE-verified \(.*" \
	"${P}dane: mx.good.chk: the TLSA records match the certificate it serves"
run stsnopol
want "MTA-STS TXT without policy" 2 "${F}mta-sts: _mta-sts.stsnopol.chk id=20261205 but no policy host: mta-sts.stsnopol.chk has no address" \
	'^      fix: serve the policy at https://mta-sts.stsnopol.chk/.well-known/mta-sts.txt'

# the same checklist twice: stable enough to diff
run good
check "two runs of the same check give the same lines" diff "$d/good.out" <(printf '%s\n' "$out")

# usage errors: exit 3
rc=0
"$ZEGEL" check-domain >/dev/null 2>&1 || rc=$?
check "no domain: usage, exit 3" test "$rc" -eq 3

# ---------------------------------------------------------------- console
rc=0
cout=$(printf 'check domain good.chk\n' | timeout 100 "$ZEGEL" run --config "$W/conf/good.conf" 2>&1) || rc=$?
[ "$rc" = 0 ] || not_ok "console: zegel run exits 0" "$cout"
printf '%s\n' "$cout" >"$d/console.out"
check "console: check domain prints the same checklist as the CLI" \
	diff <(grep -E '^(pass|warn|fail|      fix|summary)' "$d/good.out") \
	<(sed 's/^\(zegel> \)*//' "$d/console.out" | grep -E '^(pass|warn|fail|      fix|summary)')
finish
