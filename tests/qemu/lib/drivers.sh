# shellcheck shell=bash
# Sourced by the tests/qemu/ suites after tests/lib.sh.
#
# run_drivers NAME DRIVER SPEC...: the Python driver tests/qemu/DRIVER once
# per SPEC, all at once (each guest is one emulated CPU with its own ports
# and work dir); then their TAP lines, one driver after the other, renumbered
# into this suite's count. A driver that exits non-zero without reporting a
# failure counts as one failure.
run_drivers() {
	local name=$1 driver=$2 spec o line rest rc=0
	local outs=()
	shift 2
	for spec in "$@"; do
		o=$(mktemp "${TMPDIR:-/tmp}/zegel-qemu-out.XXXXXX")
		outs+=("$o")
		(PATH=$PATH:/sbin:/usr/sbin $PY "$TOP/tests/qemu/$driver" "$spec" >"$o" 2>&1
		 echo "driver-exit $?" >>"$o") &
	done
	wait
	while IFS= read -r line; do
		case "$line" in
		"1.."*) ;;
		"ok "*" # SKIP "*) rest=${line#* # SKIP }; skip "${rest%%: *}" "${rest#*: }" ;;
		"ok "*) ok "${line#ok * - }" ;;
		"not ok "*) not_ok "${line#not ok * - }" ;;
		"driver-exit "*) [ "${line#driver-exit }" = 0 ] || rc=${line#driver-exit } ;;
		*) echo "$line" ;;
		esac
	done < <(cat "${outs[@]}")
	rm -f "${outs[@]}"
	[ "$rc" = 0 ] || [ "$_tap_fail" -gt 0 ] || not_ok "$name driver exited with status ${rc:-?}"
}
