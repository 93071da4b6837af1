#!/usr/bin/env bash
# End-to-end load (issue 22), side by side in one run: Postfix's
# smtp-source sends N messages (default 400, ~8.5 KB each) over 1, 4, 16 and
# 32 concurrent sessions to
#   - `zegel run` in outbox mode (ZEGEL), and the same build before a change
#     (ZEGEL_BASE, optional: e.g. main's binary, for the ratio);
#   - Postfix 3 + OpenDKIM (two milters: one signs rsa-sha256, the other
#     ed25519-sha256, OpenDKIM's SignatureAlgorithm being global), the
#     reference, which queues the message (defer_transports: no delivery
#     work) after both signed it;
# both dual-signing RSA-2048 + Ed25519. Every zegel message must land in the
# outbox exactly once and a sample verify with dkimpy (both signatures);
# Postfix's queued messages must carry two DKIM-Signature fields.
# Printed per system: msgs/s per session count, latency (connect to the 250
# after the final dot) p50/p99 at 16 sessions (tests/bench/smtp_lat.py),
# peak RSS (VmHWM): zegel's network process, and separately the key holder
# with its signing workers; for Postfix+OpenDKIM the sum over its processes.
# Benchmark figures, not assertions; TAP lines say only that each run
# delivered everything. RESULTS=FILE also writes the table there.
#   TOP=$PWD ZEGEL=build/host/zegel [ZEGEL_BASE=/tmp/zegel-main] \
#       tests/bench/smtp-load.sh [N]
# With a second argument S (tests/e2e/smtpd_load.sh: 1000 32) it is the load
# test of issue 4: zegel only, S sessions, every message verified.
# Ports: zegel 22530-22533, Postfix 22540 (OpenDKIM on unix sockets), (no) relay 22542.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
. "$TOP/tests/e2e/relay/postfix.sh"
ZEGEL=${ZEGEL:-$TOP/build/host/zegel}
export ZEGEL_ALLOW_ROOT=${ZEGEL_ALLOW_ROOT:-1} # as tests/run.sh: no zegel user needed
n=${1:-400}
# suite mode (tests/e2e/smtpd_load.sh): one session count, zegel only,
# every message verified; else the side-by-side benchmark
if [ -n "${2:-}" ]; then
	SESSIONS=$2 FULL=
else
	SESSIONS=${SESSIONS:-"1 4 16 32"} FULL=1
fi
src=/usr/sbin/smtp-source
[ -x "$src" ] || { skip "smtp-source load" "$src missing (package postfix)"; finish; exit 0; }

d=$(tmpdir)
chmod 755 "$d"
OD_PID=
cleanup() {
	smtpd_stop
	[ -n "$OD_PID" ] && kill $OD_PID 2>/dev/null && wait $OD_PID 2>/dev/null
	[ -d "$d/front" ] && postfix_stop "$d/front"
	rm -rf "$d"
}
trap cleanup EXIT
smtpd_env_setup "$d" 22530
# every session comes from 127.0.0.1: lift the per-address cap (issue 20)
max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")
echo "set smtpd per-address-limit ${max:-32}" >>"$d/zegel.conf"
# ~8.5 KB, the median of the issue's corpus
{
	printf 'From: Load Test <alice@example.test>\nTo: bob@remote.example\nSubject: load\n'
	printf 'Date: Sun, 6 Dec 2026 12:00:00 +0000\nMessage-ID: <load@example.test>\n\n'
	for i in $(seq 1 110); do
		printf 'line %03d of the load test body, long enough to look like text: lorem ipsum\n' "$i"
	done
	printf '.dot line\n'
} >"$d/msg"
ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
declare -A RATE P50 P99 RSS AUX CPU

cpu_ticks() { # utime+stime of a process, its live children and reaped ones
	local sum=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		sum=$((sum + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')))
	done
	echo "$sum"
}

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
tree_hwm() { # the sum over a process and its descendants
	local sum=0 p r
	for p in $1 $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done); do
		r=$(hwm "$p")
		sum=$((sum + ${r:-0}))
	done
	echo "$sum"
}
load() { # SYSTEM PORT S -> RATE[SYSTEM,S]; smtp-source's status
	local t0 t1 rc
	t0=$(date +%s.%N)
	timeout 300 "$src" -s "$3" -m "$n" -N -f alice@example.test -t bob@remote.example \
		-F "$d/msg" "127.0.0.1:$2" >"$d/src.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	RATE[$1,$3]=$(echo "scale=1; $n / ($t1 - $t0)" | bc)
	return $rc
}
latency() { # SYSTEM PORT -> P50/P99[SYSTEM]
	local out
	out=$($PY "$TOP/tests/bench/smtp_lat.py" 127.0.0.1 "$2" "$n" 16 "$d/msg")
	P50[$1]=$(sed -n 's/.*p50=\([0-9.]*\).*/\1/p' <<<"$out")
	P99[$1]=$(sed -n 's/.*p99=\([0-9.]*\).*/\1/p' <<<"$out")
	grep -q "ok=$n " <<<"$out"
}

zegel_system() { # NAME BINARY
	local name=$1 bin=$2 s got distinct dup h
	rm -rf "$d/data" "$d/outbox"
	mkdir -p "$d/outbox"
	if ! ZEGEL=$bin smtpd_start "$d"; then
		not_ok "$name: zegel run starts" "$(tail -5 "$d/zegel.log")"
		return
	fi
	for s in $SESSIONS; do
		rm -f "$d"/outbox/*.eml
		load "$name" "$SUBMISSION_PORT" "$s"
		rc=$?
		got=$(ls "$d/outbox" | grep -c '\.eml$')
		dup=$(cat "$d"/outbox/*.eml | grep -a '^X-Original-To:' | sort | uniq -d | wc -l)
		distinct=$(cat "$d"/outbox/*.eml | grep -a '^X-Original-To:' | sort -u | wc -l)
		[ $rc -eq 0 ] && [ "$got" -eq "$n" ] && [ "$dup" -eq 0 ] && [ "$distinct" -eq "$n" ] &&
			ok "$name: $n messages over $s sessions, each in the outbox once (${RATE[$name,$s]} msg/s)" ||
			not_ok "$name: $n messages over $s sessions" "rc=$rc outbox=$got distinct=$distinct dup=$dup"
	done
	sample=$([ -n "$FULL" ] && echo 40 || echo "$n")
	if out=$($PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" \
		$(ls "$d"/outbox/*.eml | head -"$sample") 2>&1); then
		ok "$name: $sample messages verify with dkimpy (ed25519 + rsa)"
	else
		not_ok "$name: the messages verify with dkimpy" "$(grep FAIL <<<"$out" | head -3)"
	fi
	rm -f "$d"/outbox/*.eml
	[ -n "$FULL" ] && { latency "$name" "$SUBMISSION_PORT" &&
		ok "$name: latency run, $n messages over 16 sessions" || not_ok "$name: latency run"; }
	RSS[$name]=$(hwm "$SMTPD_PID")
	h=$(pgrep -P "$SMTPD_PID" | head -1)
	AUX[$name]=$([ -n "$h" ] && tree_hwm "$h" || echo -)
	# CPU per message (ms; clock ticks of 10 ms): network process / key holder and workers
	tk=$(getconf CLK_TCK)
	m=$(( n * ($(wc -w <<<"$SESSIONS") + (FULL ? 1 : 0)) ))
	CPU[$name]="$(echo "scale=2; $(cpu_ticks "$SMTPD_PID") * 1000 / $tk / $m" | bc)/$(echo "scale=2; ($(cpu_ticks $h $(pgrep -P "$h")) - 0) * 1000 / $tk / $m" | bc)"
	smtpd_stop
}

postfix_system() {
	local name=postfix+opendkim s mpid q sigs
	if [ "$(id -u)" -ne 0 ] || ! command -v opendkim >/dev/null; then
		skip "$name" "needs root and opendkim"
		return
	fi
	# one OpenDKIM per algorithm: its SignatureAlgorithm is global
	for a in rsa ed; do
		cat >"$d/opendkim-$a.conf" <<CONF
Mode s
Domain example.test
Selector $a
KeyFile $d/keys/$a.pem
Canonicalization relaxed/relaxed
Socket local:$d/od-$a.sock
UMask 000
Syslog no
RequireSafeKeys no
PidFile $d/opendkim-$a.pid
UserID root
$([ $a = ed ] && echo "SignatureAlgorithm ed25519-sha256")
CONF
		opendkim -f -x "$d/opendkim-$a.conf" >"$d/opendkim-$a.log" 2>&1 &
		OD_PID="$OD_PID $!"
	done
	postfix_setup_front "$d/front" 22540 22542 22541
	# queue after signing, deliver nothing: the work measured is the accept path
	echo "defer_transports = smtp" >>"$d/front/etc/main.cf"
	# unix sockets: over TCP, Nagle and delayed ACKs between Postfix and the
	# milters cost ~130 ms a message here (7.5 msg/s on one session)
	sed -i "s|^smtpd_milters = .*|smtpd_milters = unix:$d/od-rsa.sock, unix:$d/od-ed.sock|" \
		"$d/front/etc/main.cf"
	for _ in $(seq 1 100); do [ -S "$d/od-rsa.sock" ] && [ -S "$d/od-ed.sock" ] && break; sleep 0.1; done
	if ! { [ -S "$d/od-ed.sock" ] && postfix_start "$d/front" && smtpd_wait_port 22540; }; then
		not_ok "$name: start" "$(cat "$d"/opendkim-*.log "$d/front/start.log" 2>/dev/null | tail -5)"
		return
	fi
	for s in $SESSIONS; do
		load "$name" 22540 "$s" && ok "$name: $n messages over $s sessions accepted (${RATE[$name,$s]} msg/s)" ||
			not_ok "$name: $n messages over $s sessions" "$(tail -3 "$d/src.out")"
	done
	q=$(find "$d/front/queue/deferred" "$d/front/queue/active" -type f 2>/dev/null | head -1)
	sigs=$([ -n "$q" ] && postcat -c "$d/front/etc" "$q" 2>/dev/null | grep -c '^DKIM-Signature:')
	check "$name: a queued message carries two DKIM-Signature fields (${sigs:-0})" test "${sigs:-0}" = 2
	latency "$name" 22540 && ok "$name: latency run, $n messages over 16 sessions" ||
		not_ok "$name: latency run"
	mpid=$(tr -d ' \n' <"$d/front/queue/pid/master.pid")
	RSS[$name]=$(tree_hwm "$mpid")
	for p in $OD_PID; do RSS[$name]=$(( ${RSS[$name]} + $(hwm "$p") )); done
	AUX[$name]="-"
	postfix_stop "$d/front"
	kill $OD_PID 2>/dev/null
	wait $OD_PID 2>/dev/null
	OD_PID=
}

# ORDER=after-first runs the new build first: on a file system that skips
# recently freed inodes (ext4 without a journal) the system that runs after
# another's thousands of deleted files pays for them
# NAME / BASE_NAME rename the two zegel systems in the table (tests/bench/emu.sh:
# the host build as the base, an ARM or MIPS build under qemu-user);
# NO_POSTFIX=1 leaves the reference out.
me=${NAME:-zegel} base=${BASE_NAME:-zegel-before}
systems=
[ "${ORDER:-}" = after-first ] && zegel_system "$me" "$ZEGEL"
if [ -n "${ZEGEL_BASE:-}" ]; then
	zegel_system "$base" "$ZEGEL_BASE"
	systems="$base"
fi
[ "${ORDER:-}" = after-first ] || zegel_system "$me" "$ZEGEL"
systems="$systems $me"
[ -n "$FULL" ] && [ -z "${NO_POSTFIX:-}" ] && postfix_system
[ -n "${RSS[postfix+opendkim]:-}" ] && systems="$systems postfix+opendkim"

table() {
	local sys s s1=${SESSIONS%% *}
	local ref=${RATE[$base,$s1]:-${RATE[$me,$s1]:-0}}
	echo "# end to end, $n messages of $(wc -c <"$d/msg") bytes per run, dual-signed (RSA-2048 + Ed25519),"
	echo "# $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%-18s' "msgs/s"
	for s in $SESSIONS; do printf ' %9s' "${s}x"; done
	printf ' %10s %9s %9s %10s %12s %10s\n' "x before@1" "p50@16ms" "p99@16ms" "RSS kB" "holder+wkr" "cpu ms/msg"
	for sys in $systems; do
		printf '%-18s' "$sys"
		for s in $SESSIONS; do printf ' %9s' "${RATE[$sys,$s]:-?}"; done
		best=$(for s in $SESSIONS; do echo "${RATE[$sys,$s]:-0}"; done | sort -n | tail -1)
		printf ' %10s %9s %9s %10s %12s %10s\n' "$([ "$ref" != 0 ] && echo "scale=2; $best / $ref" | bc)" \
			"${P50[$sys]:-?}" "${P99[$sys]:-?}" "${RSS[$sys]:-?}" "${AUX[$sys]:-?}" "${CPU[$sys]:--}"
	done
	echo "# x before@1: the system's best msgs/s over $base's (else $me's) msgs/s at ${s1} session(s)"
	echo "# RSS kB: zegel's network process (VmHWM); holder+wkr: the key holder and its workers"
	echo "# (summed VmHWM); Postfix+OpenDKIM: every process summed. cpu ms/msg: network"
	echo "# process / key holder with its workers, over all the messages of the system's runs"
}
table | sed 's/^/# bench: /'
[ -n "${RESULTS:-}" ] && table >"$RESULTS"
finish
