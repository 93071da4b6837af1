#!/usr/bin/env bash
# RFC 8463 Appendix A known answers on a cross board under qemu-user:
# `zegel sign` with the published keys and t= must reproduce the published
# b= values byte for byte (Ed25519 and RSASSA-PKCS1-v1_5 are deterministic),
# in CRLF and bare-LF input; the body hashes of the published derived values
# must match; `zegel dnsrecord` must rebuild the A.2 p= values.
# Env: XZEGEL (the cross binary), QEMU_USER (qemu-arm, qemu-mipsel, ...).
. "$TOP/tests/lib.sh"

V=$TOP/tests/vectors/dkim/rfc8463-appendix-a.txt
T=$(tmpdir)
trap 'rm -rf "$T"' EXIT
Z() { $QEMU_USER "$XZEGEL" "$@"; }

# Keys (A.1): RSA PKCS#1 PEM as printed; the Ed25519 seed wrapped in PKCS#8
# (RFC 8410: the fixed 16-byte prefix, then the 32-byte seed).
awk '/^-----BEGIN RSA PRIVATE KEY-----/,/^-----END RSA PRIVATE KEY-----/' "$V" >"$T/rsa.pem"
seed=$(awk '/^Ed25519 secret key/ {getline; getline; print; exit}' "$V")
{
	echo "-----BEGIN PRIVATE KEY-----"
	{ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'
	  printf '%s' "$seed" | base64 -d; } | base64 -w0
	echo
	echo "-----END PRIVATE KEY-----"
} >"$T/ed.pem"
# The message (A.3) without its two DKIM-Signature fields, LF and CRLF forms.
awk '/^-----BEGIN MESSAGE-----/ {m=1; next} /^-----END MESSAGE-----/ {m=0} m' "$V" |
	sed -n '/^From:/,$p' >"$T/msg.lf"
sed 's/$/\r/' "$T/msg.lf" >"$T/msg.crlf"
want_ed=$(awk '$1 == "ed25519" && $2 == "b=" {print $3; exit}' "$V")
want_rsa=$(awk '$1 == "rsa" && $2 == "b=" {print $3; exit}' "$V")
want_bh=$(awk '$1 == "both" && $2 == "bh=" {print $3}' "$V")
check "vector file gives the expected values" test -n "$want_ed" -a -n "$want_rsa" -a -n "$want_bh"

# tag NAME < signed message: the value of NAME= in each DKIM-Signature, unfolded
tag() {
	awk -v t="$1" '
		/^DKIM-Signature:/ { if (f != "") out(); f = $0; next }
		/^[ \t]/ && f != "" { f = f $0; next }
		{ if (f != "") out(); f = "" }
		function out(  s, n, i, a, kv) {
			s = f; sub(/^DKIM-Signature:/, "", s); gsub(/[ \t\r]/, "", s)
			n = split(s, a, ";")
			for (i = 1; i <= n; i++) if (index(a[i], t "=") == 1) print substr(a[i], length(t) + 2)
		}' | tr -d '\r'
}

kat=(-d football.example.com --key "brisbane:$T/ed.pem" --key "test:$T/rsa.pem"
	-i @football.example.com -h from:to:subject:date:message-id --oversign from:subject:date
	--rfc8463-layout --time 1528637909)
for form in crlf lf; do
	Z sign "${kat[@]}" "$T/msg.$form" >"$T/out.$form" 2>"$T/err.$form"
	check "zegel sign ($form input) exits 0 on $BOARD" test -s "$T/out.$form"
	check "ed25519-sha256 b= is RFC 8463's ($form input)" \
		test "$(tag b <"$T/out.$form" | sed -n 1p)" = "$want_ed"
	check "rsa-sha256 b= is RFC 8463's ($form input)" \
		test "$(tag b <"$T/out.$form" | sed -n 2p)" = "$want_rsa"
	check "relaxed bh= is RFC 8463's ($form input)" \
		test "$(tag bh <"$T/out.$form" | sort -u)" = "$want_bh"
done
check "the signed message is the CRLF form of the input" \
	cmp <(sed -n '/^From:/,$p' "$T/out.lf") "$T/msg.crlf"

# Derived values printed in the vector file (simple body, empty bodies).
want_simple=$(grep -A1 '^simple body canonicalization' "$V" | sed -n 's/.*sha256\/base64 = //p')
Z sign -d football.example.com --key "brisbane:$T/ed.pem" -c relaxed/simple --time 1 \
	"$T/msg.crlf" >"$T/simple.out"
check "simple body hash is the derived value ($want_simple)" \
	test "$(tag bh <"$T/simple.out")" = "$want_simple"
printf 'From: a@football.example.com\r\n\r\n' >"$T/empty.eml"
Z sign -d football.example.com --key "brisbane:$T/ed.pem" -c simple/simple --time 1 \
	"$T/empty.eml" >"$T/e1.out"
Z sign -d football.example.com --key "brisbane:$T/ed.pem" -c simple/relaxed --time 1 \
	"$T/empty.eml" >"$T/e2.out"
check "empty body, simple: sha256(CRLF)" \
	test "$(tag bh <"$T/e1.out")" = "$(sed -n 's/^Empty body: simple  -> sha256("\\r\\n") = //p' "$V")"
check "empty body, relaxed: sha256(\"\")" \
	test "$(tag bh <"$T/e2.out")" = "$(sed -n 's/^ *relaxed -> sha256("") *= //p' "$V")"

# A.2: the public key records.
Z dnsrecord -d football.example.com -s brisbane -k "$T/ed.pem" >"$T/ed.txt"
Z dnsrecord -d football.example.com -s test -k "$T/rsa.pem" >"$T/rsa.txt"
p_of() { grep -o '"[^"]*"' "$1" | tr -d '"\n' | sed 's/.*p=//'; }
want_ed_p=$(grep -A1 '^brisbane._domainkey' "$V" | grep -o 'p=[^"]*' | sed 's/p=//')
want_rsa_p=$(awk '/^test._domainkey/ {m=1; next} m && /^$/ {m=0} m' "$V" | grep -o '"[^"]*"' |
	tr -d '"\n' | sed 's/.*p=//')
check "dnsrecord: Ed25519 p= is A.2's" test "$(p_of "$T/ed.txt")" = "$want_ed_p"
check "dnsrecord: RSA p= is A.2's" test "$(p_of "$T/rsa.txt")" = "$want_rsa_p"
check "dnsrecord: k=ed25519 record" grep -q '"v=DKIM1; k=ed25519; "' "$T/ed.txt"
finish
