#!/usr/bin/env bash
# The SMTP dialogue scripts (tests/vectors/smtp/*.script) over TCP against
# `zegel run`: smuggling variants, STARTTLS injection, relay tricks, From
# policy, AUTH, limits, pipelining. One TAP line per script.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22510
if ! smtpd_start "$d"; then
	not_ok "zegel run listens on 127.0.0.1:$SUBMISSION_PORT" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run listens on 127.0.0.1:$SUBMISSION_PORT"

out=$($PY "$TOP/tests/e2e/smtpscript.py" --port-submission "$SUBMISSION_PORT" \
	--port-plainauth "$PLAINAUTH_PORT" --outbox "$d/outbox" "$TOP"/tests/vectors/smtp/*.script 2>&1)
while IFS= read -r line; do
	case $line in
	PASS\ *) ok "script ${line#PASS }" ;;
	FAIL\ *) not_ok "script ${line#FAIL }" ;;
	*) echo "# $line" ;;
	esac
done <<<"$out"
n=$(ls "$TOP"/tests/vectors/smtp/*.script | wc -l)
[ "$(grep -c '^PASS\|^FAIL' <<<"$out")" -eq "$n" ] && ok "all $n scripts ran" || not_ok "all $n scripts ran"
kill -0 "$SMTPD_PID" 2>/dev/null && ok "zegel still running after all scripts" ||
	not_ok "zegel still running after all scripts" "$(tail -20 "$d/zegel.log")"
grep -q 'discarded .* pipelined after STARTTLS' "$d/zegel.log" && ok "log shows the STARTTLS injection discarded" ||
	not_ok "log shows the STARTTLS injection discarded"
grep -q 'warning: [0-9A-F]*: envelope sender <bounces@newsletter-service.example> does not align with From domain example.test' "$d/zegel.log" &&
	ok "log warns about the misaligned envelope sender (envelope-align warn)" ||
	not_ok "log warns about the misaligned envelope sender"
finish
