#!/usr/bin/env bash
# Outbox mode under SIGKILL (issue 22.2: the message is received into a
# reused, never-fsynced scratch spool file; the .eml is the one file created
# per message and the only durable copy). Four clients stream numbered
# messages, each retried until it gets its 250; zegel is SIGKILLed at random
# moments (receiving, signing, writing or publishing the .eml) and
# restarted. Then:
#   - every message a client got 250 for is in the outbox (nothing accepted
#     is lost; a message can be there twice when a kill came after its .eml
#     was published and before the client read the 250: it sent it again);
#   - every .eml is complete and both DKIM signatures verify (dkimpy): no
#     half message is ever visible;
#   - after the last start the outbox holds no *.eml.tmp.* and the spool
#     directory only empty scratch files (kept for reuse), at most one per
#     session slot; the scratch files are reused (same inodes) across
#     messages, not created per message.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
SENDERS=
trap 'for p in $SENDERS; do kill "$p" 2>/dev/null; done; smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22540
echo "set smtpd per-address-limit 16" >>"$d/zegel.conf"
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts"

sender() { # CLIENT: numbered messages until killed; "acked CLIENT-N" per 250
	exec $PY - "$SUBMISSION_PORT" "$1" <<'PYEOF'
import smtplib, sys, time
port, c = int(sys.argv[1]), sys.argv[2]
body = "".join("line %05d of filler text for the outbox kill test\r\n" % i for i in range(300))
n = 0
while True:
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=5)
        s.ehlo("x.test")
        s.sendmail("alice@example.test", ["bob@remote.example"],
                   "From: alice@example.test\r\nSubject: kill %s-%d\r\n\r\n%send %s-%d\r\n"
                   % (c, n, body, c, n))
        print("acked %s-%d" % (c, n), flush=True)   # the 250 came
        n += 1
        try:
            s.quit()
        except Exception:
            pass
    except Exception:
        time.sleep(0.05)                            # the same n again
PYEOF
}
for c in a b c d; do
	sender "$c" >"$d/sender-$c.out" 2>&1 &
	SENDERS="$SENDERS $!"
done
sleep 1
# a scratch file's inode now; compared at the end (reused, not recreated)
ino0=$(stat -c %i "$d/data/spool/scratch-0" 2>/dev/null)
kills=0
for _ in $(seq 1 15); do
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 50) / 100 }')"
	kill -9 "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null; SMTPD_PID=
	kills=$((kills + 1))
	cat "$d/zegel.log" >>"$d/zegel-all.log"
	smtpd_start "$d" || { not_ok "zegel restarts after SIGKILL $kills" "$(tail -20 "$d/zegel.log")"; break; }
done
# some messages without a kill: the scratch files of this run live on
sleep 1
ino1=$(stat -c %i "$d/data/spool/scratch-0" 2>/dev/null)
n1=$(cat "$d"/sender-*.out | grep -c '^acked')
sleep 1.5
ino2=$(stat -c %i "$d/data/spool/scratch-0" 2>/dev/null)
n2=$(cat "$d"/sender-*.out | grep -c '^acked')
for p in $SENDERS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
SENDERS=
sleep 0.3
cat "$d/zegel.log" >>"$d/zegel-all.log"
smtpd_stop
smtpd_start "$d" || not_ok "zegel restarts" "$(tail -20 "$d/zegel.log")"
cat "$d/zegel.log" >>"$d/zegel-all.log"
smtpd_stop

acked=$(cat "$d"/sender-*.out | grep -c '^acked')
check "the clients got 250s between $kills SIGKILLs ($acked acknowledged)" test "$acked" -gt 20
# every acknowledged message is in the outbox, none twice
out=$($PY - "$d" <<'PYEOF'
import glob, re, sys
d = sys.argv[1]
acked = set()
for f in glob.glob(d + "/sender-*.out"):
    acked |= {l.split()[1] for l in open(f) if l.startswith("acked ")}
seen = {}
incomplete = 0
for f in glob.glob(d + "/outbox/*.eml"):
    b = open(f, "rb").read()
    m = re.search(rb"^Subject: kill (\S+)\r$", b, re.M)
    if not m or not b.endswith(b"end " + m.group(1) + b"\r\n"):
        incomplete += 1
        continue
    k = m.group(1).decode()
    seen[k] = seen.get(k, 0) + 1
lost = sorted(acked - set(seen))
twice = sorted(k for k in acked if seen.get(k, 0) > 1)
extra = len(set(seen) - acked)
print("acked=%d files=%d lost=%d twice=%d incomplete=%d unacked-in-outbox=%d %s %s"
      % (len(acked), sum(seen.values()), len(lost), len(twice), incomplete, extra,
         lost[:5], twice[:5]))
PYEOF
)
echo "# $out"
check "no acknowledged message is lost" grep -q ' lost=0 ' <<<"$out"
check "every .eml in the outbox is complete" grep -q ' incomplete=0 ' <<<"$out"
ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
if v=$($PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$d"/outbox/*.eml 2>&1); then
	ok "every .eml verifies with dkimpy (ed25519 + rsa, $(grep -c '^ok' <<<"$v") files)"
else
	not_ok "every .eml verifies with dkimpy" "$(grep FAIL <<<"$v" | head -3)"
fi
check "no unfinished outbox file after the last start" \
	bash -c '[ -z "$(ls "$1" | grep "\.tmp\.")" ]' _ "$d/outbox"
check "the spool directory holds only empty scratch files" \
	bash -c '[ -z "$(find "$1" -type f \( ! -name "scratch-*" -o ! -empty \))" ]' _ "$d/data/spool"
max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")
check "at most one scratch file per session slot ($(ls "$d/data/spool" | wc -l))" \
	test "$(ls "$d/data/spool" | wc -l)" -le $(( ${max:-32} + 4 ))
check "a scratch file is reused across messages ($((n2 - n1)) acknowledged, inode $ino1 = $ino2)" \
	bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && [ "$3" -gt "$4" ]' _ "$ino1" "$ino2" "$n2" "$n1"
check_not "no .eml was ever replaced" grep -q "exists already" "$d/zegel-all.log"
echo "# kills=$kills acked=$acked first-inode=$ino0" \
	"unacknowledged-swept=$(grep -c 'left by a session that did not finish' "$d/zegel-all.log")"
finish
