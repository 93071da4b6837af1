#!/usr/bin/env bash
# Relay benchmark: the same load through zegel (sync smarthost relay, DKIM
# Ed25519 + RSA) and through Postfix + OpenDKIM (milter, RSA) into the same
# sink (a private Postfix with STARTTLS delivering to a maildir), plus the
# sink alone as the baseline. Printed per path:
#   - client latency per message: smtp-source, one session, sequential
#     messages, total time / N (for zegel this includes the upstream's answer
#     to the final dot; Postfix answers after queueing)
#   - time until all N are in the sink's maildir
#   - a concurrent run (S sessions) and its throughput
#   - peak RSS (VmHWM): zegel's one process; for Postfix+OpenDKIM the sum of
#     the peaks of every process of the front instance plus opendkim (an
#     upper bound: shared pages are counted once per process)
# Benchmark figures, not assertions; TAP lines say only that each path
# delivered everything.
#   TOP=$PWD ZEGEL=build/host/zegel tests/bench/relay.sh [N] [S]
# Ports: zegel 24060-24063, sink 24025, front 24026, opendkim 24027.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
. "$TOP/tests/e2e/relay/postfix.sh"
n=${1:-200}
sessions=${2:-8}
src=/usr/sbin/smtp-source
if [ "$(id -u)" -ne 0 ] || [ ! -x "$src" ] || ! command -v opendkim >/dev/null; then
	skip "relay benchmark" "needs root, postfix (smtp-source) and opendkim"
	finish
	exit 0
fi
d=$(tmpdir)
chmod 755 "$d"
OD_PID=
cleanup() {
	smtpd_stop
	[ -n "$OD_PID" ] && kill "$OD_PID" 2>/dev/null && wait "$OD_PID" 2>/dev/null
	postfix_stop "$d/front"
	postfix_stop "$d/pf"
	rm -rf "$d"
}
trap cleanup EXIT
"$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki" >/dev/null || { not_ok "test PKI"; finish; exit 1; }
postfix_setup "$d/pf" 24025 "$d/pki/good.crt" "$d/pki/good.key"
postfix_start "$d/pf" && smtpd_wait_port 24025 || { not_ok "sink Postfix starts" "$(cat "$d/pf/start.log")"; finish; exit 1; }
ok "sink: private Postfix with STARTTLS on 127.0.0.1:24025"

sink_count() { find "$d/pf/mail/sink/new" -type f 2>/dev/null | wc -l; }
wait_sink() { # N SECS -> prints seconds waited
	local want=$1 secs=$2 t0 i
	t0=$(date +%s.%N)
	for i in $(seq 1 $((secs * 20))); do
		[ "$(sink_count)" -ge "$want" ] && break
		sleep 0.05
	done
	echo "$(date +%s.%N) - $t0" | bc
}
msg="$d/msg"
printf 'From: Bench <alice@example.test>\nTo: alice@example.net\nSubject: relay bench\n\nbench body line one\n.dot line\nbench body line two\n' >"$msg"

# run PATH_NAME PORT -> sets LAT (ms/message, sequential), DLV (s), THR (msg/s)
run_path() {
	local name=$1 port=$2 base t0 t1 rc
	base=$(sink_count)
	t0=$(date +%s.%N)
	timeout 600 "$src" -s 1 -m "$n" -f alice@example.test -t alice@example.net -F "$msg" \
		"127.0.0.1:$port" >"$d/src.$name.seq" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	LAT=$(echo "scale=2; ($t1 - $t0) * 1000 / $n" | bc)
	w=$(wait_sink $((base + n)) 120)
	DLV=$(echo "scale=2; $t1 - $t0 + $w" | bc)
	[ $rc -eq 0 ] && [ "$(sink_count)" -ge $((base + n)) ] &&
		ok "$name: $n sequential messages delivered to the sink" ||
		not_ok "$name: $n sequential messages delivered" "rc=$rc sink=$(( $(sink_count) - base )) $(tail -3 "$d/src.$name.seq")"
	base=$(sink_count)
	t0=$(date +%s.%N)
	timeout 600 "$src" -s "$sessions" -m "$n" -f alice@example.test -t alice@example.net -F "$msg" \
		"127.0.0.1:$port" >"$d/src.$name.par" 2>&1
	rc=$?
	w=$(wait_sink $((base + n)) 120)
	t1=$(date +%s.%N)
	THR=$(echo "scale=1; $n / ($t1 - $t0)" | bc)
	[ $rc -eq 0 ] && [ "$(sink_count)" -ge $((base + n)) ] &&
		ok "$name: $n messages over $sessions sessions delivered to the sink" ||
		not_ok "$name: $n concurrent messages delivered" "rc=$rc sink=$(( $(sink_count) - base ))"
}

# 1. baseline: straight into the sink
run_path sink 24025
B_LAT=$LAT B_DLV=$DLV B_THR=$THR

# 2. zegel, smarthost mode
smtpd_env_setup "$d" 24060
printf 'set relay smarthost 127.0.0.1:24025\nset relay ca-file %s\n' "$d/pki/ca.crt" >>"$d/zegel.conf"
smtpd_start "$d" || { not_ok "zegel run starts" "$(tail "$d/zegel.log")"; finish; exit 1; }
run_path zegel "$SUBMISSION_PORT"
Z_LAT=$LAT Z_DLV=$DLV Z_THR=$THR
Z_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$SMTPD_PID/status")
smtpd_stop

# 3. Postfix + OpenDKIM milter
cat >"$d/opendkim.conf" <<CONF
Mode s
Domain example.test
Selector rsa
KeyFile $d/keys/rsa.pem
Canonicalization relaxed/relaxed
Socket inet:24027@127.0.0.1
Syslog no
RequireSafeKeys no
PidFile $d/opendkim.pid
UserID root
CONF
opendkim -f -x "$d/opendkim.conf" >"$d/opendkim.log" 2>&1 &
OD_PID=$!
postfix_setup_front "$d/front" 24026 24025 24027
smtpd_wait_port 24027 && postfix_start "$d/front" && smtpd_wait_port 24026 ||
	{ not_ok "front Postfix + OpenDKIM start" "$(cat "$d/opendkim.log" "$d/front/start.log")"; finish; exit 1; }
run_path postfix+opendkim 24026
P_LAT=$LAT P_DLV=$DLV P_THR=$THR
P_RSS=0
mpid=$(tr -d ' \n' <"$d/front/queue/pid/master.pid")
for p in $mpid $(pgrep -P "$mpid") $OD_PID; do
	r=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
	P_RSS=$((P_RSS + ${r:-0}))
done
# every message the two signing paths delivered carries a signature
f=$(grep -l 'front.test' "$d"/pf/mail/sink/new/* 2>/dev/null | head -1)
[ -n "$f" ] && grep -q '^DKIM-Signature:' "$f" && ok "postfix+opendkim messages are signed" ||
	not_ok "postfix+opendkim messages are signed"

echo "# bench: relay, $n messages per run, $sessions concurrent sessions, message $(wc -c <"$msg") bytes"
printf '# bench: %-18s %14s %16s %12s %14s\n' path "client ms/msg" "delivered (s)" "msg/s (${sessions}x)" "peak RSS kB"
printf '# bench: %-18s %14.2f %16.2f %12.1f %14s\n' "sink alone" "$B_LAT" "$B_DLV" "$B_THR" "-"
printf '# bench: %-18s %14.2f %16.2f %12.1f %14s\n' "zegel (sync)" "$Z_LAT" "$Z_DLV" "$Z_THR" "$Z_RSS"
printf '# bench: %-18s %14.2f %16.2f %12.1f %14s\n' "postfix+opendkim" "$P_LAT" "$P_DLV" "$P_THR" "$P_RSS"
echo "# bench: added client latency per message vs the sink: zegel $(echo "$Z_LAT - $B_LAT" | bc) ms, postfix+opendkim $(echo "$P_LAT - $B_LAT" | bc) ms (postfix answers before relaying)"
finish
