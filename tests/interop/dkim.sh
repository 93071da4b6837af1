#!/usr/bin/env bash
# DKIM interop: messages signed by `zegel sign`, verified by three independent
# implementations: dkimpy (python3-dkim), Mail::DKIM (perl) and libopendkim
# (OpenDKIM's library, through a small C program built here). Keys are made by
# `zegel keygen`; the verifiers get the public keys from the generated DNS
# records through their test hooks (dnsfunc=, a replaced Mail::DKIM::DNS::query,
# DKIM_QUERY_FILE), never from DNS.
#
# Corpus: tests/interop/dkim_corpus.py (60+ nasty messages and a 10 MB one,
# generated at test time). Each is signed in all four canonicalisations twice:
# with four keys at once (RSA-1024, RSA-2048, RSA-4096, Ed25519) and with the
# usual dual RSA-2048 + Ed25519. Every signature must verify everywhere, except
# the exceptions listed in tests/interop/dkim_eval.py (each with the RFC
# section that decides it; they are reported as SKIP lines, never as passes).
. "$TOP/tests/lib.sh"

here=$TOP/tests/interop
T=$(tmpdir)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/k" "$T/c" "$T/s" "$T/neg" "$T/r"

# ---------------------------------------------------------------- keys
for spec in rsa:1024:r1024 rsa:2048:r2048 rsa:4096:r4096 ed25519:256:ed; do
	IFS=: read -r type bits sel <<<"$spec"
	check "zegel keygen -t $type -b $bits" \
		"$ZEGEL" keygen -t "$type" -b "$bits" -d example.com -s "$sel" -o "$T/k"
done
check "key files are mode 0600" \
	test "$(stat -c %a "$T"/k/*.key | sort -u)" = 600
check "zegel dnsrecord prints the record keygen wrote" \
	cmp <("$ZEGEL" dnsrecord -d example.com -s r4096 -k "$T/k/r4096.key") "$T/k/r4096.txt"
check "DNS record strings are at most 255 bytes" \
	bash -c "! grep -ho '\"[^\"]*\"' $T/k/*.txt | awk 'length(\$0) > 257' | grep -q ."
check "an ed25519 key is PKCS#8 that OpenSSL reads" \
	bash -c "openssl pkey -in $T/k/ed.key -noout -text | grep -q ED25519"
for f in "$T"/k/*.txt; do
	s=$(basename "$f" .txt)
	printf '%s._domainkey.example.com %s\n' "$s" "$(grep -o '"[^"]*"' "$f" | tr -d '"\n')"
done >"$T/keys"
K=(--key "r1024:$T/k/r1024.key" --key "r2048:$T/k/r2048.key" --key "r4096:$T/k/r4096.key"
	--key "ed:$T/k/ed.key")
D=(--key "r2048:$T/k/r2048.key" --key "ed:$T/k/ed.key")

# ---------------------------------------------------------------- corpus
check "corpus generated" "$PY" "$here/dkim_corpus.py" "$T/c" --big
n=$(ls "$T/c" | wc -l)
check "corpus has at least 50 messages ($n)" test "$n" -ge 50
check "corpus has a 10 MB message" test "$(stat -c %s "$T/c/big-10mb.eml")" -ge 10000000

signfail=""
for m in "$T"/c/*.eml; do
	b=$(basename "$m" .eml)
	for c in simple/simple simple/relaxed relaxed/simple relaxed/relaxed; do
		cc=${c/\//-}
		"$ZEGEL" sign -d example.com "${K[@]}" -c "$c" "$m" >"$T/s/$b.$cc.quad.eml" \
			2>"$T/err" || signfail+="$b $c quad: $(tail -1 "$T/err")"$'\n'
		"$ZEGEL" sign -d example.com "${D[@]}" -c "$c" "$m" >"$T/s/$b.$cc.dual.eml" \
			2>"$T/err" || signfail+="$b $c dual: $(tail -1 "$T/err")"$'\n'
	done
done
if [ -z "$signfail" ]; then ok "zegel sign signed every message 8 ways"; else
	not_ok "zegel sign signed every message 8 ways" "$signfail"; fi

# ---------------------------------------------------------------- verifiers
odkim=$T/dkim_verify_opendkim
check "libopendkim verifier builds" \
	cc -O2 -o "$odkim" "$here/dkim_verify_opendkim.c" -lopendkim
run_verifiers() { # DIR TAG N FILES...
	local out=$1 tag=$2 nsig=$3
	shift 3
	"$PY" "$here/dkim_verify_dkimpy.py" "$T/keys" "$nsig" "$@" >"$out/dkimpy.$tag.txt"
	perl "$here/dkim_verify_maildkim.pl" "$T/keys" "$nsig" "$@" >"$out/maildkim.$tag.txt"
	"$odkim" "$T/keys" "$nsig" "$@" >"$out/opendkim.$tag.txt"
}
run_verifiers "$T/r" quad 4 "$T"/s/*.quad.eml
run_verifiers "$T/r" dual 2 "$T"/s/*.dual.eml
for v in dkimpy maildkim opendkim; do
	lines=$(cat "$T/r/$v.quad.txt" "$T/r/$v.dual.txt" | wc -l)
	check "$v reported every signature ($lines)" test "$lines" -eq $((n * 4 * 6))
done
while IFS=$'\t' read -r kind what detail; do
	case $kind in
	OK) ok "$what" ;;
	NOTOK) not_ok "$what" "$detail" ;;
	SKIP) skip "$what" "$detail" ;;
	esac
done < <("$PY" "$here/dkim_eval.py" "$T"/r/*.txt)

# ---------------------------------------------------------------- tampering
# The verifiers must also say no: a changed body, an added From or Subject
# (oversigned), an added To (oversigned) each break every signature.
src=$T/s/plain.relaxed-relaxed.dual.eml
sed 's/^Hello World/Hello World!/' "$src" >"$T/neg/body.relaxed-relaxed.dual.eml"
{ printf 'From: mallory@example.com\r\n'; cat "$src"; } >"$T/neg/added-from.relaxed-relaxed.dual.eml"
awk '{print} /^Subject:/ {printf "Subject: second\r\n"}' "$src" \
	>"$T/neg/added-subject.relaxed-relaxed.dual.eml"
awk '/^\r?$/ && !d {printf "To: extra@example.net\r\n"; d=1} {print}' "$src" \
	>"$T/neg/added-to.relaxed-relaxed.dual.eml"
run_verifiers "$T/neg" neg 2 "$T"/neg/*.eml
for v in dkimpy maildkim opendkim; do
	passes=$(awk -F'\t' '$4 == "pass"' "$T/neg/$v.neg.txt")
	total=$(wc -l <"$T/neg/$v.neg.txt")
	if [ -z "$passes" ] && [ "$total" -eq 8 ]; then
		ok "$v rejects tampered messages (body, added From, Subject, To)"
	else
		not_ok "$v rejects tampered messages (body, added From, Subject, To)" \
			"$total results; passed: $passes"
	fi
done

# ---------------------------------------------------------------- key formats
# Keys made by OpenSSL, not by zegel: RSA PKCS#8 ("PRIVATE KEY"), RSA PKCS#1
# ("RSA PRIVATE KEY", openssl genrsa -traditional) and Ed25519 PKCS#8.
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$T/k/o8.key" 2>/dev/null
openssl genrsa -traditional -out "$T/k/o1.key" 2048 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/k/oe.key" 2>/dev/null
check "OpenSSL wrote the three key kinds" \
	bash -c "grep -q 'BEGIN PRIVATE KEY' $T/k/o8.key && grep -q 'BEGIN RSA PRIVATE KEY' $T/k/o1.key &&
		grep -q 'BEGIN PRIVATE KEY' $T/k/oe.key"
: >"$T/okeys"
for s in o8 o1 oe; do
	"$ZEGEL" dnsrecord -d example.com -s "$s" -k "$T/k/$s.key" >"$T/k/$s.txt"
	printf '%s._domainkey.example.com %s\n' "$s" "$(grep -o '"[^"]*"' "$T/k/$s.txt" | tr -d '"\n')" \
		>>"$T/okeys"
done
"$ZEGEL" sign -d example.com --key "o8:$T/k/o8.key" --key "o1:$T/k/o1.key" --key "oe:$T/k/oe.key" \
	"$T/c/plain.eml" >"$T/okeys.relaxed-relaxed.o.eml"
out=$("$PY" "$here/dkim_verify_dkimpy.py" "$T/okeys" 3 "$T/okeys.relaxed-relaxed.o.eml")
check "OpenSSL keys (RSA PKCS#8, RSA PKCS#1, Ed25519 PKCS#8) sign; dkimpy verifies all three" \
	test "$(awk -F'\t' '$4 == "pass"' <<<"$out" | wc -l)" -eq 3

# ---------------------------------------------------------------- header lists
# -h/--oversign: a field oversigned without being listed (every instance plus
# one, bottom-up: RFC 6376 §5.4.2), x=, i= in a subdomain; dkimpy and libopendkim.
printf 'From: a@sub.example.com\r\nX-A: first\r\nSubject: s\r\nX-A: second\r\n\r\nbody\r\n' \
	>"$T/hl.eml"
"$ZEGEL" sign -d example.com "${D[@]}" -h from:subject --oversign from:x-a -x 86400 \
	-i joe@sub.example.com "$T/hl.eml" >"$T/hl.relaxed-relaxed.h.eml"
check "h= lists every X-A instance plus one" \
	bash -c "sed -n '1,/^From:/p' $T/hl.relaxed-relaxed.h.eml | tr -d '\r\n ' |
		grep -q 'h=from:subject:from:x-a:x-a:x-a;'"
out=$("$PY" "$here/dkim_verify_dkimpy.py" "$T/keys" 2 "$T/hl.relaxed-relaxed.h.eml"
	"$odkim" "$T/keys" 2 "$T/hl.relaxed-relaxed.h.eml")
check "custom h=, oversigned unlisted field, x=, i=: dkimpy and libopendkim verify both signatures" \
	test "$(awk -F'\t' '$4 == "pass"' <<<"$out" | wc -l)" -eq 4
awk '{print} /^X-A: second/ {printf "X-A: third\r\n"}' "$T/hl.relaxed-relaxed.h.eml" \
	>"$T/hl2.relaxed-relaxed.h.eml"
out=$("$PY" "$here/dkim_verify_dkimpy.py" "$T/keys" 2 "$T/hl2.relaxed-relaxed.h.eml"
	"$odkim" "$T/keys" 2 "$T/hl2.relaxed-relaxed.h.eml")
check "a third X-A breaks both signatures for both verifiers" \
	test "$(awk -F'\t' '$4 == "fail"' <<<"$out" | wc -l)" -eq 4

# ---------------------------------------------------------------- refusals
refuse() { # what INPUT ARGS...: exit != 0, nothing on stdout, a message on stderr
	local what=$1 input=$2 rc
	shift 2
	printf '%b' "$input" | "$ZEGEL" sign "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -ne 0 ] && [ ! -s "$T/out" ] && [ -s "$T/err" ]; then
		ok "zegel sign refuses: $what ($(head -1 "$T/err"))"
	else
		not_ok "zegel sign refuses: $what" "rc=$rc stdout=$(wc -c <"$T/out") bytes"
	fi
}
refuse "no From" 'To: b@example.net\n\nx\n' -d example.com "${D[@]}"
refuse "two From" 'From: a@example.com\nFrom: b@example.com\n\nx\n' -d example.com "${D[@]}"
refuse "From outside d=" 'From: a@example.org\n\nx\n' -d example.com "${D[@]}"
refuse "unreadable key" 'From: a@example.com\n\nx\n' -d example.com --key s:/nonexistent/key
openssl genrsa -out "$T/k/small.key" 512 2>/dev/null
refuse "RSA-512 key" 'From: a@example.com\n\nx\n' -d example.com --key "s:$T/k/small.key"
printf 'not a key\n' >"$T/k/junk.key"
refuse "junk key file" 'From: a@example.com\n\nx\n' -d example.com --key "s:$T/k/junk.key"
printf 'From: a@example.com\nSubject: x\n\nbody\n' >"$T/lf.eml"
printf 'From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n' >"$T/crlf.eml"
"$ZEGEL" sign -d example.com --time 1700000000 --key "ed:$T/k/ed.key" <"$T/lf.eml" >"$T/lf.out"
"$ZEGEL" sign -d example.com --time 1700000000 --key "ed:$T/k/ed.key" "$T/crlf.eml" >"$T/crlf.out"
check "bare-LF input from stdin signs and prints exactly as its CRLF form" \
	cmp "$T/lf.out" "$T/crlf.out"
finish
