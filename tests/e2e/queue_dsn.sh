#!/usr/bin/env bash
# The queue's RFC 3464 DSN parsed back by Python's email module: a sample
# written by the unit-test binary (build/host/tests/test_dsn --write FILE).
. "$TOP/tests/lib.sh"
bin=$TOP/build/host/tests/test_dsn
d=$(tmpdir)
trap 'rm -rf "$d"' EXIT
if [ ! -x "$bin" ]; then
	skip "DSN parses with Python's email module" "build/host/tests/test_dsn not built (make BOARD=host unit-build)"
	finish
	exit
fi
check "test_dsn writes a sample DSN" "$bin" --write "$d/dsn.eml"
check "DSN is multipart/report; delivery-status with per-recipient fields (Python email)" \
	$PY "$TOP/tests/e2e/queue/dsn_check.py" "$d/dsn.eml" x@a.test failed 5.1.1 "jörg@b.test" failed 4.0.0
check_not "the checker notices a wrong Status" \
	$PY "$TOP/tests/e2e/queue/dsn_check.py" "$d/dsn.eml" x@a.test failed 5.1.2
check_not "the checker notices a missing recipient" \
	$PY "$TOP/tests/e2e/queue/dsn_check.py" "$d/dsn.eml" nobody@a.test failed 5.1.1
finish
