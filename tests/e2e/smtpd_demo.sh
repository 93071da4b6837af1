#!/usr/bin/env bash
# `make run` (scripts/run-demo.sh) in a scratch directory: first start
# writes the demo configuration and keys, prints the swaks command, where
# the signed file lands and the DNS records; the printed swaks command
# delivers a message that verifies (dkimpy) with the printed records; the
# console answers and `exit` stops it. A second start reuses everything.
. "$TOP/tests/lib.sh"

d=$(tmpdir)
trap 'rm -rf "$d"' EXIT
port=22595
fifo=$d/console
mkfifo "$fifo"
run_demo() {
	(cd "$d" && ZEGEL_DEMO_PORT=$port timeout 60 "$TOP/scripts/run-demo.sh" "$ZEGEL" <"$fifo" >"$d/out$1" 2>&1) &
	demo=$!
	exec 7>"$fifo"
	for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}
run_demo 1
cmd=$(grep -A1 '^  swaks ' "$d/out1" | tr -d '\\\n' | sed 's/^ *//')
case $cmd in
swaks\ --server\ 127.0.0.1:$port*) ok "prints the swaks command" ;;
*) not_ok "prints the swaks command" "$(cat "$d/out1")" ;;
esac
grep -q 'lands in: var/outbox/' "$d/out1" && ok "prints where the signed file lands" || not_ok "prints where the signed file lands"
grep -q 'rsa2048._domainkey.*TXT' "$d/out1" && grep -q 'ed25519._domainkey.*TXT' "$d/out1" &&
	ok "prints the DNS records (rsa2048, ed25519)" || not_ok "prints the DNS records"
check "the printed swaks command delivers" bash -c "cd '$d' && $cmd --silent 1"
echo "show status" >&7
echo "exit" >&7
exec 7>&-
wait $demo && ok "console: exit stops zegel (status 0)" || not_ok "console: exit stops zegel"
grep -q 'smtp sessions:' "$d/out1" && ok "console: show status answers" || not_ok "console: show status answers"
f=$(ls "$d"/var/outbox/*.eml 2>/dev/null | head -1)
[ -n "$f" ] && ok "the message landed in var/outbox" || not_ok "the message landed in var/outbox"
# the printed records, as served DNS answers for the verifier
rec() { awk -v s="$1._domainkey" '$1 == s {p=1} p {print} p && /\)/ {exit}' "$d/out1" |
	grep -o '"[^"]*"' | tr -d '"\n'; }
check "dkimpy verifies both signatures against the printed DNS records" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "rsa2048._domainkey.example.test=$(rec rsa2048)" \
	--key "ed25519._domainkey.example.test=$(rec ed25519)" "$f"
sum1=$(cat "$d"/var/keys/*.key "$d/var/tls/cert.pem" | sha256sum)
run_demo 2
echo "exit" >&7
exec 7>&-
wait $demo
sum2=$(cat "$d"/var/keys/*.key "$d/var/tls/cert.pem" | sha256sum)
[ "$sum1" = "$sum2" ] && ! grep -q 'generated' "$d/out2" && ok "second start reuses keys and certificate" ||
	not_ok "second start reuses keys and certificate" "$(head -5 "$d/out2")"
finish
