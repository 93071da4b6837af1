#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time, seeded from
# tests/fuzz/corpus/<name>/ (read-only seeds; new inputs go to a scratch dir).
#   tests/fuzz/run-one.sh build/host-fuzz/fuzz/fuzz_x SECONDS
set -u
bin=$1 secs=$2
name=$(basename "$bin")
seeds="$(dirname "$0")/corpus/${name#fuzz_}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=("$work")
[ -d "$seeds" ] && args+=("$seeds")
if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-artifact_prefix="$work/" "${args[@]}" >"$work/out" 2>&1; then
	echo "ok 1 - $name: ${secs}s without a crash ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/out" | grep -o '[0-9]*$') runs)"
else
	tail -40 "$work/out"
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[ -f "$a" ] && { mkdir -p build/fuzz-artifacts; cp "$a" build/fuzz-artifacts/; }
	done
	echo "not ok 1 - $name found a crash (artifacts in build/fuzz-artifacts/)"
fi
