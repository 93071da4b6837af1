#!/usr/bin/env bash
# Run every test suite and print one summary line: "N passed, M failed".
#
# Suites speak TAP: each check is a line "ok N - what" or "not ok N - what"
# ("ok N # SKIP why" counts as skipped, never as passed). A suite that exits
# non-zero without reporting a failure counts as one failure, so a crash is
# never silent. Logs: build/test-logs/<suite>.log.
#
#   tests/run.sh                  everything (make test builds first)
#   ZEGEL_TEST_QUICK=1            host unit tests only
#   ZEGEL_TEST_FILTER=REGEX       only suites whose name matches
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
logs=build/test-logs
mkdir -p "$logs"
export TOP="$top" ZEGEL="$top/build/host/zegel"
export PATH="$top/tests/bin:$PATH"
# `zegel run` started as root drops to the user zegel (firmware/privsep/),
# which this machine need not have, into data dirs the suites make as root:
# every suite runs it in the documented test mode that keeps root (the key
# holder and the seccomp filter stay on). tests/e2e/privsep.sh unsets it and
# tests the drop; the QEMU images run the default.
export ZEGEL_ALLOW_ROOT=1

pass=0 fail=0 skip=0
failed_suites=()
start_all=$(date +%s)

selected() { [ -z "${ZEGEL_TEST_FILTER:-}" ] || [[ $1 =~ $ZEGEL_TEST_FILTER ]]; }
suite_log() { echo "$logs/${1//\//_}.log"; }

# run_suite NAME TIMEOUT CMD...
run_suite() {
	local name=$1 limit=$2
	shift 2
	selected "$name" || return
	local log t0 rc
	log=$(suite_log "$name")
	t0=$(date +%s)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	count_suite "$name" "$limit" "$rc" "$t0"
}

# wait_kernels RC-FILE: a TAP check that the background kernel build (make
# test) ended and succeeded; its output is build/test-logs/kernels.log.
wait_kernels() {
	local t0 rc
	t0=$(date +%s)
	while [ ! -f "$1" ]; do sleep 5; done
	rc=$(cat "$1")
	if [ "$rc" = 0 ]; then
		echo "ok 1 - the board kernels and the MT7621 image built (waited $(($(date +%s) - t0)) s)"
	else
		echo "not ok 1 - the board kernels did not build (exit $rc)"
		tail -30 "$logs/kernels.log" | sed 's/^/# /'
	fi
}
export -f wait_kernels
export logs

# count_suite NAME TIMEOUT EXIT-STATUS START-TIME: add a finished suite's log
# to the totals and print its line.
count_suite() {
	local name=$1 limit=$2 rc=$3 t0=$4 log p f s sk
	log=$(suite_log "$name")
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -ciE '^ok [0-9]+.*# *skip' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	# cmocka's skip() prints "not ok N # SKIP": a skip, not a failure
	sk=$(grep -ciE '^not ok [0-9]+ *# *skip' "$log" | tr -d ' ')
	s=$((s + sk)) f=$((f - sk))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "not ok - suite $name timed out after ${limit}s" >>"$log"
		else
			echo "not ok - suite $name exited with status $rc" >>"$log"
		fi
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		echo "not ok - suite $name reported no checks" >>"$log"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	printf '%-44s %4d passed %3d failed %3d skipped %4ds\n' "$name" "$p" "$f" "$s" \
		$(($(date +%s) - t0))
	if [ "$f" -gt 0 ]; then
		failed_suites+=("$name")
		grep -E '^not ok' "$log" | head -20 | sed 's/^/    /'
		echo "    (log: $log)"
	fi
}

# 1. Unit tests (cmocka, TAP output), plain and with ASan+UBSan.
export CMOCKA_MESSAGE_OUTPUT=TAP
for variant in host host-asan; do
	[ "$variant" = host-asan ] && [ -n "${ZEGEL_TEST_QUICK:-}" ] && continue
	for t in build/$variant/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite "unit/$variant/$(basename "$t")" 600 "$t"
	done
done
unset CMOCKA_MESSAGE_OUTPUT

if [ -z "${ZEGEL_TEST_QUICK:-}" ]; then
	# 2. Cross boards under qemu-user: every tests/cross/*.sh once per board.
	for b in $(ls board); do
		[ -f "board/$b/defconfig" ] && [ "$b" != host ] || continue
		[ -x "build/$b/zegel" ] || { run_suite "cross/$b/build" 10 false; continue; }
		qemu=$(make -s --no-print-directory BOARD="$b" print-QEMU_USER 2>/dev/null)
		for s in tests/cross/*.sh; do
			[ -f "$s" ] || continue
			BOARD=$b XZEGEL="$top/build/$b/zegel" QEMU_USER="$qemu" \
				run_suite "cross/$b/$(basename "$s" .sh)" 900 bash "$s"
		done
	done

	# 2b. The lwIP builds of the cross boards (Makefile LWIP_CROSS_BOARDS,
	# VARIANT=lwip LIBC=glibc) under qemu-user: the suites that need no
	# network (dns and relay_check reach their peers over the kernel's
	# loopback, which an lwIP build never uses).
	for b in $(make -s --no-print-directory print-LWIP_CROSS_BOARDS 2>/dev/null); do
		d=build/$b-lwip-glibc
		[ -x "$d/zegel" ] || { run_suite "cross/$b-lwip/build" 10 false; continue; }
		qemu=$(make -s --no-print-directory BOARD="$b" VARIANT=lwip LIBC=glibc print-QEMU_USER 2>/dev/null)
		for s in selftest dkim_kat libc; do
			BOARD=$b XZEGEL="$top/$d/zegel" QEMU_USER="$qemu" \
				run_suite "cross/$b-lwip/$s" 900 bash "tests/cross/$s.sh"
		done
	done

	# 3. Fuzz targets: a short bounded run each, seeded from their corpora.
	# Each libFuzzer run is one CPU-bound process that touches no port or shared
	# file, so as many run at once as there are cores; the logs are counted in
	# order as each batch ends.
	jobs=$(nproc 2>/dev/null || echo 1)
	batch=()
	for fz in build/host-fuzz/fuzz/fuzz_* ""; do
		if [ -n "$fz" ]; then
			[ -x "$fz" ] || continue
			n="fuzz/$(basename "$fz")"
			selected "$n" || continue
			(timeout --kill-after=10 120 tests/fuzz/run-one.sh "$fz" \
				"${ZEGEL_FUZZ_SECONDS:-15}" >"$(suite_log "$n")" 2>&1 </dev/null
			 echo $? >"$(suite_log "$n").rc") &
			batch+=("$n:$(date +%s)")
			[ ${#batch[@]} -lt "$jobs" ] && continue
		fi
		wait
		for b in "${batch[@]}"; do
			n=${b%:*}
			count_suite "$n" 120 "$(cat "$(suite_log "$n").rc")" "${b##*:}"
			rm -f "$(suite_log "$n").rc"
		done
		batch=()
	done

	# 4. Script suites: interop, e2e, qemu (each a TAP-speaking script).
	for dir in interop e2e qemu; do
		# make test builds the board kernels in the background (Makefile,
		# test-kernels): wait for them before the suites that boot images
		if [ "$dir" = qemu ] && [ -n "${ZEGEL_KERNELS_RC:-}" ]; then
			run_suite build/kernels 3600 bash -c 'wait_kernels "$1"' _ "$ZEGEL_KERNELS_RC"
		fi
		for s in tests/$dir/*.sh; do
			[ -f "$s" ] || continue
			run_suite "$dir/$(basename "$s" .sh)" 1800 bash "$s"
		done
	done
fi

# never leave the background kernel build running (a filter may skip the wait)
if [ -n "${ZEGEL_KERNELS_RC:-}" ]; then
	while [ ! -f "$ZEGEL_KERNELS_RC" ]; do sleep 5; done
fi

echo
echo "test time: $(($(date +%s) - start_all))s"
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
