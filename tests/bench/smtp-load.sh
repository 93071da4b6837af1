#!/usr/bin/env bash
# Load: Postfix's smtp-source sends N messages (default 1000) over S
# concurrent sessions (default 32) to `zegel run`; every message must land
# in the outbox exactly once and verify with dkimpy (both signatures).
# zegel's peak RSS (VmHWM) is printed: a benchmark figure, not an assertion
# (target < 8 MiB). TAP output, so it can run as a test too:
#   TOP=$PWD ZEGEL=build/host/zegel tests/bench/smtp-load.sh [N] [S]
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
n=${1:-1000}
sessions=${2:-32}
src=/usr/sbin/smtp-source
[ -x "$src" ] || { skip "smtp-source load" "$src missing (package postfix)"; finish; exit 0; }

d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22530
# every session comes from 127.0.0.1: lift the per-address cap (issue 20)
max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")
echo "set smtpd per-address-limit $(( sessions < ${max:-32} ? sessions : ${max:-32} ))" >>"$d/zegel.conf"
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
printf 'From: Load Test <alice@example.test>\nTo: bob@remote.example\nSubject: load\n\nload test body\n.dot line\n' >"$d/msg"
t0=$(date +%s.%N)
timeout 600 "$src" -s "$sessions" -m "$n" -N -f alice@example.test -t bob@remote.example \
	-F "$d/msg" "127.0.0.1:$SUBMISSION_PORT" >"$d/src.out" 2>&1
rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] && ok "smtp-source: $n messages over $sessions sessions accepted" ||
	not_ok "smtp-source: $n messages over $sessions sessions accepted" "rc=$rc $(tail -5 "$d/src.out")"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SMTPD_PID/status" 2>/dev/null)
got=$(ls "$d/outbox" | grep -c '\.eml$')
[ "$got" -eq "$n" ] && ok "$n messages in the outbox" || not_ok "$n messages in the outbox" "found $got"
# exactly once: every numbered recipient (smtp-source -N) appears once
uniq=$(cat "$d"/outbox/*.eml | grep -a '^X-Original-To:' | sort | uniq -d | wc -l)
distinct=$(cat "$d"/outbox/*.eml | grep -a '^X-Original-To:' | sort -u | wc -l)
[ "$uniq" -eq 0 ] && [ "$distinct" -eq "$n" ] && ok "every message landed exactly once ($distinct distinct recipients)" ||
	not_ok "every message landed exactly once" "$distinct distinct, $uniq duplicated"
ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
if out=$($PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$d"/outbox/*.eml 2>&1); then
	ok "all $got messages verify with dkimpy (ed25519 + rsa)"
else
	not_ok "all messages verify with dkimpy" "$(grep FAIL <<<"$out" | head -5)"
fi
secs=$(echo "$t1 - $t0" | bc)
echo "# bench: $n messages, $sessions sessions, ${secs}s, $(echo "scale=1; $n / $secs" | bc) msg/s"
echo "# bench: zegel peak RSS (VmHWM) ${hwm:-?} kB (target < 8192 kB)"
finish
