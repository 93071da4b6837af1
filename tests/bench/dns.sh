#!/usr/bin/env bash
# Benchmark: cold-cache TLSA lookups per second and upstream queries per
# lookup, zegel resolve side by side with BIND's delv, on the private signed
# tree of tests/e2e/dns_tree.sh (NSD + non-validating Unbound on loopback).
# "Cold" means a fresh validator process per lookup (no validator cache);
# Unbound's cache is warm for both after the first round, so the numbers
# compare validation work and round trips, not the network.
#   tests/bench/dns.sh [ROUNDS]      (default 50)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ZEGEL=${ZEGEL:-$TOP/build/host/zegel}
PY=/usr/bin/python3
N=${1:-50}
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; for f in $W/nsd.pid $W/unbound-*.pid; do [ -f $f ] && kill $(cat $f); done; sleep 0.2; rm -rf $W' EXIT
bash "$TOP/tests/e2e/dns/build-tree.sh" "$W" 2>/dev/null
nsd -c "$W/nsd.conf" -P "$W/nsd.pid"
unbound -c "$W/unbound.conf"
# a pass-through proxy that records every answer: counts the queries
$PY "$TOP/tests/e2e/dns/proxy.py" "record:$W/count" 127.53.0.4 23061 127.53.0.2 23054 &
PIDS+=($!)
sleep 1
NAME=_25._tcp.mail.example.tld
count() { $PY -c "import sys
d=open(sys.argv[1],'rb').read(); o=n=0
while o+2<=len(d): o+=2+int.from_bytes(d[o:o+2],'big'); n+=1
print(n)" "$W/count"; }

run() { # label command...
	local label=$1
	shift
	"$@" >/dev/null 2>&1 # warm Unbound
	: > "$W/count"
	local t0 t1
	t0=$(date +%s%N)
	for _ in $(seq "$N"); do "$@" > "$W/out" 2>&1; done
	t1=$(date +%s%N)
	local q ms
	q=$(count)
	ms=$(((t1 - t0) / 1000000))
	awk -v l="$label" -v n="$N" -v ms="$ms" -v q="$q" -v s="$(grep -o 'status: [a-z]*\|fully validated' "$W/out" | head -1)" \
		'BEGIN { printf "%-8s %5d lookups  %7d ms  %8.1f lookups/s  %5.1f queries/lookup  (%s)\n", l, n, ms, n * 1000 / (ms ? ms : 1), q / n, s }'
}
echo "cold-cache TLSA $NAME through Unbound (iterator only), $N rounds"
run zegel "$ZEGEL" resolve --server 127.53.0.4:23061 --anchor "$W/anchor.zone" TLSA "$NAME"
run delv delv @127.53.0.4 -p 23061 -a "$W/anchor.delv" +root=. "$NAME" TLSA
