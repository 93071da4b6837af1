#!/usr/bin/env bash
# Issue 17 point 6, the console an admin can live with: the command-line
# tools' help and their common option names (piped here), then a real
# terminal (tests/e2e/console_ergo.py, pexpect): abbreviations, an
# ambiguous prefix, Tab, '?', sizes such as 10M, `show status` with a line
# per module (listeners and their state, relay and its last result, queue,
# resolver reachability, clock, keys), and `show running secrets` pasted
# back into a fresh zegel rebuilding the same running configuration.
# Ports 27470-27479: 27474-27477 the listeners, 27471 held busy, 27472 a
# resolver that never answers, 27473 one that answers REFUSED.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'rm -rf "$d"' EXIT

# --- the command-line tools
out=$("$ZEGEL" --help 2>&1)
check "zegel --help lists the commands" grep -q '^  dane-check ' <<<"$out"
check "... and says how to get one's arguments" grep -qF "'zegel COMMAND --help'" <<<"$out"
check "zegel resolve --help: --resolver" grep -qF 'usage: zegel resolve [--resolver IP[:PORT] ...]' \
	<<<"$("$ZEGEL" resolve --help 2>&1)"
check "zegel dane-check --help: --mx-port" grep -qF '[--mx-port N] DOMAIN' \
	<<<"$("$ZEGEL" dane-check --help 2>&1)"
check "zegel relay-check -h: --ca-file" grep -qF 'usage: zegel relay-check [--ca-file FILE]' \
	<<<"$("$ZEGEL" relay-check -h 2>&1)"
for tool in "resolve --resolver bad!addr A x.test" "resolve --server bad!addr A x.test" \
	"dane-check --resolver bad!addr x.test" "spf --resolver bad!addr 192.0.2.1 x.test"; do
	# shellcheck disable=SC2086
	out=$(timeout 10 "$ZEGEL" $tool 2>&1)
	check "zegel ${tool%% *} takes ${tool#* } (${tool#* }): the address is checked" \
		grep -q "bad or too many --\(resolver\|server\) 'bad!addr'" <<<"$out"
done
out=$(timeout 10 "$ZEGEL" dane-check --mx-port 0 x.test 2>&1)
check "dane-check --mx-port is an option (its value is checked)" grep -qF "bad --mx-port '0'" <<<"$out"
out=$(timeout 10 "$ZEGEL" relay-check --ca-file "$d/none.pem" --timeout 2 127.0.0.1:27479 2>&1)
check_not "relay-check --ca-file is an option (no usage error)" grep -q '^usage:' <<<"$out"

# --- the console over a pipe: abbreviations and sizes
out=$(printf 'se mess 10M\ncom\nsh run\ns\nse mess 99G\nexit\n' |
	(cd "$d" && timeout 20 "$ZEGEL" run --config /dev/null 2>&1))
check "piped: 'se mess 10M' then 'sh run' shows message-size-limit 10M" \
	grep -q '^\(zegel> \)*set message-size-limit 10M$' <<<"$out"
check "piped: an ambiguous command names the choices" \
	grep -qF "error: ambiguous: 's' could be show, set, save" <<<"$out"
check "piped: a size too large names the setting" \
	grep -qF "error: set message-size-limit: '99G' is not a size from 1K to" <<<"$out"
# (the AF_ALG probe's log line names the Linux kernel's option: that one is
# how an admin gets a kernel with it)
check_not "no console message names a CONFIG_ symbol" grep -q 'error: .*CONFIG_' <<<"$out"

# --- a terminal
if ! $PY -c 'import pexpect' 2>/dev/null; then
	skip "console on a terminal" "python3-pexpect missing"
	finish
	exit
fi
smtpd_env_setup "$d" 27474
# (the host build holds 4 listeners: the busy one replaces the IPv6 one)
sed -i 's/^set listener v6 .*/set listener busy 127.0.0.1:27471 mode starttls/' "$d/zegel.conf"
echo "set resolver 127.0.0.1:27472" >>"$d/zegel.conf"
"$PY" "$TOP/tests/e2e/console_ergo.py" "$ZEGEL" "$d" 27474 27471 27472 27473 >"$d/py.out" 2>&1
rc=$?
while IFS= read -r l; do
	case $l in
	"PASS "*) ok "${l#PASS }" ;;
	"FAIL "*) not_ok "${l#FAIL }" ;;
	*) echo "# $l" ;;
	esac
done <"$d/py.out"
grep -q '^PASS ' "$d/py.out" || not_ok "console_ergo.py ran no check (exit $rc)" "$(tail -20 "$d/py.out")"
[ "$rc" -eq 0 ] || grep -q '^FAIL ' "$d/py.out" || not_ok "console_ergo.py exited $rc" "$(tail -20 "$d/py.out")"
finish
