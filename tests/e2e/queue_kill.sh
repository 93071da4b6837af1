#!/usr/bin/env bash
# Crash safety of the direct-mode queue (issue 9 "Kill tests"): 200 messages
# are submitted (tests/e2e/queue/submit.py, STARTTLS, each until accepted)
# to `zegel run` in direct mode, which delivers them to a recording sink via
# the private signed DNS of tests/e2e/lib/queue_env.sh, while zegel is
# killed with SIGKILL at random moments (receiving, committing, delivering,
# updating recipient state) and restarted. Afterwards:
#   - every accepted message arrived at the sink at least once,
#   - none more often than 1 + the number of kills, and the duplicates in
#     total are at most the kill count times the messages in flight,
#   - every delivered message verifies with dkimpy (ed25519 + rsa),
#   - zegel logged which recipients it retried after a restart,
#   - the queue directory ends empty (no stray or damaged files),
#   - the data dir holds no temporary or orphaned spool file (swept at start).
# Ports: zegel 43100-43103; the world 127.0.43.0/24 (queue_env.sh).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/queue_env.sh"
queue_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

COUNT=${QUEUE_KILL_COUNT:-200}
why=$(queue_env_need)
if [ -n "$why" ]; then
	skip "queue kill test" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
ZPID=
SUBPID=
zstop() { [ -n "$ZPID" ] && kill -9 "$ZPID" 2>/dev/null; [ -n "$ZPID" ] && wait "$ZPID" 2>/dev/null; ZPID=; }
trap 'zstop; [ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null; queue_env_stop; rm -rf "$d"' EXIT

if ! queue_env_setup "$d/w"; then
	not_ok "signed private root zone" "$QUEUE_ENV_ERR"
	finish
	exit 1
fi
smtpd_env_setup "$d" 43100
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set relay direct
set relay mx-port $QUEUE_MX_PORT
set resolver $QUEUE_RESOLVER
set resolver-anchors $d/w/anchor.zone
set queue retry-base 1s
CONF
not_built() {
	grep -E "relay direct: not built|unknown setting '(relay direct|relay mx-port|resolver-anchors|resolver|queue [a-z-]*)'|No relay target available in this build" <<<"$1" | head -1
}
zstart() { # start zegel, wait for the listener (10 s); 1 if it exits
	"$ZEGEL" run --config "$d/zegel.conf" --no-console >>"$d/zegel.log" 2>&1 </dev/null &
	ZPID=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null && return 0
		kill -0 "$ZPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
if ! zstart; then
	nb=$(not_built "$(cat "$d/zegel.log")")
	if [ -n "$nb" ]; then
		skip "queue kill test" "direct mode not built: $nb"
		finish
		exit 0
	fi
	not_ok "zegel run starts in direct mode" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (relay direct, mx-port $QUEUE_MX_PORT, resolver $QUEUE_RESOLVER)"
if ! queue_env_start; then
	not_ok "signed DNS, NSD, Unbound and the sink are up" "$QUEUE_ENV_ERR"
	finish
	exit 1
fi
ok "signed DNS, NSD, Unbound and the sink are up"

# one probe first: a build without the direct target answers 451 here
out=$(timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from printer@example.test --to probe@ok.qtest --h-Subject "queue kill probe" --body probe 2>&1)
if ! grep -q "^<~ *250 2\.0\.0 queued as " <<<"$out"; then
	nb=$(not_built "$out")
	if [ -n "$nb" ]; then
		skip "queue kill test" "direct mode: $nb"
		finish
		exit 0
	fi
	not_ok "a probe message is queued (250 2.0.0 queued as ID)" "$(tail -8 <<<"$out")"
	finish
	exit 1
fi
ok "a probe message is queued ($(sed -n 's/^<~ *\(250 2\.0\.0 queued as [^ ]*\).*/\1/p' <<<"$out"))"

# ---------------------------------------------------------------- the run
t0=$(date +%s)
$PY "$TOP/tests/e2e/queue/submit.py" 127.0.0.1 "$SUBMISSION_PORT" "$COUNT" "$d/accepted" 180 \
	>"$d/submit.out" 2>&1 &
SUBPID=$!
kills=0
MIN_KILLS=${QUEUE_KILL_MIN:-20}
# kills go on after the last submission (until MIN_KILLS) to hit the delivery
# of what is still queued, too
while kill -0 "$SUBPID" 2>/dev/null || [ $kills -lt $MIN_KILLS ]; do
	# 0.1 .. 0.6 s between kills
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + (r % 50) / 100 }')"
	zstop
	kills=$((kills + 1))
	echo "=== SIGKILL $kills at $(date +%T.%N)" >>"$d/zegel.log"
	if ! zstart; then
		not_ok "zegel restarts after SIGKILL $kills" "$(tail -20 "$d/zegel.log")"
		finish
		exit 1
	fi
done
wait "$SUBPID"
src=$?
SUBPID=
acc=$(wc -l <"$d/accepted")
[ $src = 0 ] && ok "all $COUNT messages accepted in $(($(date +%s) - t0)) s while zegel was SIGKILLed $kills times ($(tail -1 "$d/submit.out"))" ||
	not_ok "all $COUNT messages accepted" "$(tail -5 "$d/submit.out")"
check "zegel was killed at least $MIN_KILLS times ($kills)" test "$kills" -ge $MIN_KILLS

# ---------------------------------------------------------------- delivery
seqs() { # the X-Kill-Seq of every delivered message, one per line
	for f in $(queue_sink_files); do sed -n 's/^X-Kill-Seq: \([0-9]*\)\r$/\1/p' "$f"; done
}
for _ in $(seq 1 900); do # 90 s at most
	n=$(seqs | sort -un | wc -l)
	[ "$n" -ge "$acc" ] && break
	sleep 0.1
done
sleep 2 # anything still in flight lands, so the duplicate count is final
missing=$(comm -23 <(cut -d' ' -f1 "$d/accepted" | sort -u) <(seqs | sort -u))
if [ -z "$missing" ]; then
	ok "every accepted message ($acc) was delivered"
else
	not_ok "every accepted message was delivered" "missing: $(echo $missing | head -c 400)
$(grep -F "$(head -1 <<<"$missing")" "$d/accepted")"
fi
max=$(seqs | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')
dups=$(($(seqs | wc -l) - $(seqs | sort -u | wc -l)))
check "no message delivered more than 1 + $kills (kills) times (max $max)" test "${max:-0}" -le $((kills + 1))
# at most the recipients in flight at each kill arrive twice; the
# scheduler has a handful of jobs open at once
check "duplicates in total ($dups) at most 4 per kill ($kills kills)" test "$dups" -le $((4 * kills))
if [ "$dups" -gt 0 ]; then
	check "zegel logged the recipients it retried after a restart" \
		grep -q "delivery was in flight when zegel stopped: retried" "$d/zegel.log"
else
	ok "no duplicates (no kill hit a delivery between the receiver's 250 and the state update)"
fi
# the sink received only complete messages: every one has its header and body end
bad=0 why=
for f in $(queue_sink_files); do
	if grep -q "^X-Kill-Seq: " "$f"; then
		tail -c 200 "$f" | grep -q "^\.a line with a leading dot\|filler 299" ||
			{ bad=$((bad + 1)); why+="$f: incomplete (ends: $(tail -c 120 "$f" | tr '\r\n' '  '))"$'\n'; }
	else
		grep -q "^probe" "$f" ||
			{ bad=$((bad + 1)); why+="$f: neither a test message nor the probe: $(head -c 300 "$f" | tr '\r\n' '  ')"$'\n'; }
	fi
	grep -q "^DKIM-Signature: " "$f" ||
		{ bad=$((bad + 1)); why+="$f: no DKIM-Signature: $(head -c 300 "$f" | tr '\r\n' '  ')"$'\n'; }
done
check "every delivered message is complete and signed" test $bad = 0
[ -n "$why" ] && echo "$why" | head -20 | sed 's/^/# /'
[ -n "$(queue_sink_files)" ] || not_ok "the sink received messages" "none"
check "every delivered message verifies with dkimpy (ed25519 + rsa)" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" \
	$(queue_sink_files)
# the queue drains completely (a duplicate whose attempt a kill cut short
# waits for its retry: backoff from 1 s, capped at 12 s)
for _ in $(seq 1 400); do
	[ -z "$(ls "$d/data/queue" 2>/dev/null)" ] && break
	sleep 0.1
done
check "the queue directory is empty at the end (no stray or damaged files)" \
	bash -c '[ -z "$(ls -A "$1")" ] || { ls -la "$1"; cat "$1"/*.st; false; }' _ "$d/data/queue"
check_not "no damaged state record was ever found" grep -q "damaged state record\|message file missing" "$d/zegel.log"
# issue 21: what the kills left (spool files of unfinished sessions,
# temporary files) is removed at each start, so nothing piles up
check "the data dir holds no temporary or orphaned file after the restarts" \
	bash -c 'f=$(find "$1" -type f \( -name "*.tmp.*" -o -path "$1/spool/*" \)); [ -z "$f" ] || { echo "$f" | head; false; }' _ "$d/data"
echo "# kills=$kills accepted=$acc delivered=$(seqs | wc -l) duplicates=$dups" \
	"retried-after-restart=$(grep -c 'delivery was in flight when zegel stopped' "$d/zegel.log")" \
	"spool-files-swept=$(grep -c 'left by a session that did not finish' "$d/zegel.log")"
finish
