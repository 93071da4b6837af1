#!/usr/bin/env bash
# Real clients against `zegel run`: swaks over STARTTLS with AUTH from a
# stranger address, from the allowed network (IPv4 and IPv6), over implicit
# TLS; refused without either. Every outbox message verifies with dkimpy and
# Mail::DKIM (RSA; Debian's has no Ed25519) and libopendkim (keys served
# without DNS), with both signatures (Ed25519 + RSA).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22520
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts and listens"

count() { ls "$d/outbox"/*.eml 2>/dev/null | wc -l; }
sw() { timeout 30 swaks --silent 1 --from alice@example.test --to bob@remote.example \
	--h-Subject "zegel e2e" --body "Hello from swaks.
.leading dot line" "$@"; }

check "swaks: STARTTLS + AUTH PLAIN from a stranger address (127.0.0.2)" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --local-interface 127.0.0.2 \
	--tls --auth PLAIN --auth-user alice --auth-password secret
check "swaks: STARTTLS + AUTH LOGIN" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --local-interface 127.0.0.2 \
	--tls --auth LOGIN --auth-user alice --auth-password secret
check "swaks: from the allowed network, STARTTLS, no AUTH" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls
# swaks needs IO::Socket::INET6 for IPv6; Python's smtplib does it directly
v6send() {
	$PY - "$V6_PORT" <<'PYEOF'
import smtplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("::1", int(sys.argv[1]), timeout=20)
s.starttls(context=ctx)
s.sendmail("alice@example.test", ["bob@remote.example"],
    "From: alice@example.test\r\nTo: bob@remote.example\r\nSubject: zegel e2e over IPv6\r\n\r\nHello from swaks over ::1.\r\n")
s.quit()
PYEOF
}
check "smtplib: IPv6 [::1] STARTTLS from the allowed network ::1/128" v6send
check "swaks: implicit TLS (465-style listener) + AUTH" \
	sw --server 127.0.0.1 --port "$TLS_PORT" --local-interface 127.0.0.2 \
	--tls-on-connect --auth PLAIN --auth-user alice --auth-password secret
[ "$(count)" -eq 5 ] && ok "5 messages in the outbox" || not_ok "5 messages in the outbox" "$(count) found"

check_not "swaks: stranger without AUTH is refused (554 5.7.1)" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --local-interface 127.0.0.2 --tls
check_not "swaks: wrong password is refused" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --local-interface 127.0.0.2 \
	--tls --auth PLAIN --auth-user alice --auth-password wrong
check_not "swaks: AUTH without TLS is refused on the submission listener" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --local-interface 127.0.0.2 \
	--auth PLAIN --auth-user alice --auth-password secret
check_not "swaks: From domain not configured is refused" \
	sw --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls --h-From mallory@evil.example
[ "$(count)" -eq 5 ] && ok "refused messages did not reach the outbox" ||
	not_ok "refused messages did not reach the outbox" "$(count) found"

ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
keys=("ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed"
	"rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa")
check "dkimpy verifies both signatures (ed25519-sha256, rsa-sha256) of every message" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 --key "${keys[0]}" --key "${keys[1]}" "$d"/outbox/*.eml
# Debian 12's Mail::DKIM (1.20230212) has no Ed25519 yet: it checks the RSA
# signature and reports the Ed25519 one as unsupported (shown below).
if out=$(perl "$TOP/tests/e2e/dkim_verify.pl" "${keys[@]}" -- "$d"/outbox/*.eml 2>&1); then
	ok "Mail::DKIM verifies the rsa-sha256 signature of every message"
else
	not_ok "Mail::DKIM verifies the rsa-sha256 signature of every message" "$out"
fi
printf '%s\n' "$out" | head -2 | sed 's/^/# /'

# a third implementation: libopendkim (the interop suite's verifier, keys
# from a file through DKIM_QUERY_FILE)
if cc -O2 -o "$d/odkim" "$TOP/tests/interop/dkim_verify_opendkim.c" -lopendkim 2>"$d/cc.err"; then
	printf '%s\n' "ed._domainkey.example.test v=DKIM1; k=ed25519; p=$ed" \
		"rsa._domainkey.example.test v=DKIM1; k=rsa; p=$rsa" >"$d/keys.txt"
	"$d/odkim" "$d/keys.txt" 2 "$d"/outbox/*.eml >"$d/odkim.out"
	total=$(wc -l <"$d/odkim.out")
	fails=$(awk -F'\t' '$4 != "pass"' "$d/odkim.out")
	if [ "$total" -eq $(($(count) * 2)) ] && [ -z "$fails" ]; then
		ok "libopendkim verifies both signatures of every message"
	else
		not_ok "libopendkim verifies both signatures of every message" "$(cat "$d/odkim.out")"
	fi
else
	not_ok "libopendkim verifier builds" "$(cat "$d/cc.err")"
fi
# a tampered copy must fail (the verifiers are not rubber stamps)
f=$(ls "$d"/outbox/*.eml | head -1)
sed 's/Hello from swaks/Hello from mallory/' "$f" >"$d/tampered.eml"
check_not "dkimpy rejects a tampered message" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --key "${keys[0]}" --key "${keys[1]}" "$d/tampered.eml"
check_not "Mail::DKIM rejects a tampered message" \
	perl "$TOP/tests/e2e/dkim_verify.pl" "${keys[@]}" -- "$d/tampered.eml"
grep -qE '[0-9A-F]{10}: signed d=example.test s=ed a=ed25519-sha256' "$d/zegel.log" &&
	ok "log: id: signed d=example.test s=ed a=ed25519-sha256" || not_ok "log: signed line" "$(tail "$d/zegel.log")"
grep -qE '[0-9A-F]{10}: client=\[127.0.0.2\], sasl_username=alice, from=<alice@example.test>, size=[0-9]+, nrcpt=1' "$d/zegel.log" &&
	ok "log: id: client=..., from=<...>, size=..., nrcpt=..." || not_ok "log: client line" "$(tail "$d/zegel.log")"
grep -qE '[0-9A-F]{10}: to=<bob@remote.example>, relay=outbox, status=sent' "$d/zegel.log" &&
	ok "log: id: to=<...>, relay=outbox, status=sent" || not_ok "log: to= line"
ls "$d/data/tls/cert.pem" "$d/data/tls/key.pem" >/dev/null 2>&1 && ok "device TLS certificate generated on first start" ||
	not_ok "device TLS certificate generated on first start"
# the spool keeps its scratch files for reuse, emptied (issue 22.2)
[ -z "$(find "$d/data/spool" -type f ! \( -name 'scratch-*' -empty \) 2>/dev/null)" ] &&
	ok "spool holds no message afterwards (only emptied scratch files)" ||
	not_ok "spool holds no message afterwards" "$(ls -l "$d/data/spool")"
finish
