# Shared by the shell test suites: TAP output and small helpers.
#   . "$TOP/tests/lib.sh"
#   check "what it proves" command args...      ok if the command succeeds
#   check_not "what" command ...                ok if it fails
#   ok "what" / not_ok "what" [detail]          record a result directly
#   skip "what" "why"                           reported as skipped, never as passed
#   need_root / tmpdir
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ZEGEL=${ZEGEL:-$TOP/build/host/zegel}
# zegel run as root keeps root in the suites (the --allow-root test mode, see
# tests/run.sh and README "Security model"); tests/e2e/privsep.sh unsets it
export ZEGEL_ALLOW_ROOT=${ZEGEL_ALLOW_ROOT-1}
_tap_n=0
_tap_fail=0

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
not_ok() {
	_tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $1: $2"; }
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$(printf '%s\n' "$out" | tail -15)"; fi
}
check_not() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then not_ok "$what" "unexpectedly succeeded: $(printf '%s\n' "$out" | tail -5)"; else ok "$what"; fi
}
tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/zegel-test.XXXXXX")
	echo "$d"
}
finish() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; }
# Debian's Python packages (dkimpy, dnspython, nacl) are only importable by
# Debian's interpreter, not by the python3 first on PATH.
PY=/usr/bin/python3
