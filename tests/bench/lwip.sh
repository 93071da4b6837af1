#!/usr/bin/env bash
# Benchmark (not a timed test): the lwIP build against the POSIX build, in
# the same run. Postfix's smtp-source sends N messages (default 300) with
# 1, 8 and 32 concurrent sessions to each, inside one network namespace:
# the POSIX build (build/host/zegel) on a kernel address of the namespace's
# loopback, the lwIP build (build/host-lwip/zegel) on its own address behind
# a TAP device (so its path also crosses the TAP: frames, not loopback
# segments). Prints messages/s per run, then the latency of N more messages
# at the same session count (connect to the 250 after the final dot, p50/p99,
# tests/bench/smtp_lat.py), and each build's peak RSS (VmHWM); TAP output,
# every message must land in the outbox.
#   TOP=$PWD tests/bench/lwip.sh [N]
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
n=${1:-300}
src=/usr/sbin/smtp-source
PZEGEL=$TOP/build/host/zegel
LZEGEL=$TOP/build/host-lwip/zegel
for x in "$src" "$PZEGEL" "$LZEGEL"; do
	[ -x "$x" ] || { skip "lwIP benchmark" "$x missing"; finish; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { skip "lwIP benchmark" "needs root (namespace, TAP)"; finish; exit 0; }

d=$(tmpdir)
ns=zlwbench$$
zp=
stop() {
	[ -n "$zp" ] || return 0
	kill "$zp" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$zp" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$zp" 2>/dev/null
	wait "$zp" 2>/dev/null
	zp=
}
trap 'stop; ip netns del "$ns" 2>/dev/null; rm -rf "$d"' EXIT
nsx() { ip netns exec "$ns" "$@"; }
ip netns add "$ns"
nsx ip link set lo up
nsx ip addr add 10.79.0.1/32 dev lo
nsx ip tuntap add dev ztap0 mode tap
nsx ip addr add 10.77.0.1/24 dev ztap0
nsx ip link set ztap0 up
smtpd_env_setup "$d" 587 >/dev/null
max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")

# start BIN ADDR [lwip lines...]
start() {
	local bin=$1 addr=$2 conf=$d/$3.conf
	shift 3
	rm -rf "$d/outbox" "$d/data"
	mkdir -p "$d/outbox"
	{
		echo "set hostname mx.zegel.test"
		echo "set data-dir $d/data"
		echo "set log-level warning"
		echo "set domain example.test"
		echo "set key ed domain example.test file $d/keys/ed.pem"
		echo "set network 10.0.0.0/8"
		echo "set smtpd per-address-limit ${max:-32}"
		echo "set listener submission $addr:587 mode starttls auth-plaintext off"
		echo "set relay outbox $d/outbox"
		for l in "$@"; do echo "$l"; done
	} >"$conf"
	# not through nsx: $! must be zegel itself (ip netns exec execs it)
	ip netns exec "$ns" "$bin" run --config "$conf" --no-console >"$d/zegel.log" 2>&1 </dev/null &
	zp=$!
	for _ in $(seq 1 100); do
		nsx bash -c "exec 3<>/dev/tcp/$addr/587" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
printf 'From: Load Test <alice@example.test>\nTo: bob@remote.example\nSubject: load\n\nload test body\n' >"$d/msg"
table=
for build in posix lwip; do
	if [ $build = posix ]; then
		start "$PZEGEL" 10.79.0.1 posix || { not_ok "posix build starts" "$(tail "$d/zegel.log")"; continue; }
		addr=10.79.0.1
	else
		start "$LZEGEL" 10.77.0.2 lwip "set lwip interface ztap0" \
			"set lwip address 10.77.0.2/24" "set lwip gateway 10.77.0.1" ||
			{ not_ok "lwIP build starts" "$(tail "$d/zegel.log")"; continue; }
		addr=10.77.0.2
	fi
	for s in 1 8 32; do
		before=$(ls "$d/outbox" | grep -c '\.eml$')
		t0=$(date +%s.%N)
		nsx timeout 300 "$src" -s "$s" -m "$n" -N -f alice@example.test -t bob@remote.example \
			-F "$d/msg" "$addr:587" >"$d/src.out" 2>&1
		rc=$?
		t1=$(date +%s.%N)
		got=$(($(ls "$d/outbox" | grep -c '\.eml$') - before))
		rate=$(echo "$n / ($t1 - $t0)" | bc -l | xargs printf '%.0f')
		if [ $rc -eq 0 ] && [ "$got" -eq "$n" ]; then
			ok "$build, $s sessions: $n messages, $rate msgs/s"
		else
			not_ok "$build, $s sessions: $n messages" "rc=$rc, $got in the outbox"
		fi
		lat=$(nsx "$PY" "$TOP/tests/bench/smtp_lat.py" "$addr" 587 "$n" "$s" "$d/msg")
		p50=$(sed -n 's/.*p50=\([0-9.]*\).*/\1/p' <<<"$lat")
		p99=$(sed -n 's/.*p99=\([0-9.]*\).*/\1/p' <<<"$lat")
		if grep -q "ok=$n " <<<"$lat"; then
			ok "$build, $s sessions: latency of $n messages, p50 $p50 ms, p99 $p99 ms"
		else
			not_ok "$build, $s sessions: latency run" "$lat"
		fi
		table="$table$(printf '%-6s %3d sessions %6s msgs/s  p50 %6s ms  p99 %6s ms' \
			"$build" "$s" "$rate" "$p50" "$p99")"$'\n'
	done
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$zp/status" 2>/dev/null)
	table="$table$(printf '%-6s peak RSS %s kB' "$build" "${hwm:-?}")"$'\n'
	stop
done
printf '%s' "$table" | sed 's/^/# /'
finish
