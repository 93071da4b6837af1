# Shared by the relay suites that put a private Postfix behind zegel
# (tests/e2e/relay_postfix.sh, tests/e2e/relay_sasl.sh). Source after
# tests/lib.sh and tests/e2e/lib/smtpd_env.sh.
#   relay_preflight WHAT           skip (and exit) without `zegel run`, root,
#                                  postfix or swaks
#   relay_postfix_up DIR PORT      test PKI in DIR/pki, Postfix in DIR/pf on
#                                  127.0.0.1:PORT (tests/e2e/relay/postfix.sh);
#                                  "postconf -e" lines from RELAY_POSTFIX_EXTRA
#                                  (one per line) change its main.cf, then a
#                                  function relay_postfix_hook, if the suite
#                                  defines one, gets DIR/pf; exits the suite
#                                  if Postfix does not start
#   relay_zegel_up DIR BASEPORT PFPORT [SET-LINE...]
#                                  zegel run in smarthost mode towards PFPORT
#                                  (DIR/zegel.conf, DIR/zegel.log); returns 1
#                                  if it does not start
#   relay_cleanup DIR              stop both, remove DIR (for the EXIT trap)
. "$TOP/tests/e2e/relay/postfix.sh"

relay_preflight() {
	local what=$1
	# Until the appliance (`zegel run`) is in this build, say so instead of failing.
	if timeout 5 "$ZEGEL" run --config /dev/null --no-console </dev/null 2>&1 | grep -q 'not implemented'; then
		skip "$what" "zegel run is not implemented in this build yet"
		finish
		exit 0
	fi
	if [ "$(id -u)" -ne 0 ] || ! command -v postfix >/dev/null || ! command -v swaks >/dev/null; then
		skip "$what" "needs root, postfix and swaks"
		finish
		exit 0
	fi
}

relay_postfix_up() {
	local d=$1 port=$2 line
	chmod 755 "$d"
	if ! "$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki"; then
		not_ok "test PKI"
		finish
		exit 1
	fi
	postfix_setup "$d/pf" "$port" "$d/pki/good.crt" "$d/pki/good.key"
	if [ -n "${RELAY_POSTFIX_EXTRA:-}" ]; then
		while IFS= read -r line; do
			[ -n "$line" ] && postconf -c "$d/pf/etc" -e "$line"
		done <<<"$RELAY_POSTFIX_EXTRA"
	fi
	if declare -F relay_postfix_hook >/dev/null; then
		relay_postfix_hook "$d/pf"
	fi
	if postfix_start "$d/pf" && smtpd_wait_port "$port"; then
		ok "private Postfix listens on 127.0.0.1:$port"
	else
		not_ok "private Postfix listens on 127.0.0.1:$port" \
			"$(cat "$d/pf/start.log" "$d/pf/maillog" 2>/dev/null | tail)"
		finish
		exit 1
	fi
}

relay_zegel_up() {
	local d=$1 base=$2 pfport=$3 line
	shift 3
	smtpd_env_setup "$d" "$base"
	{
		echo "set relay smarthost 127.0.0.1:$pfport"
		echo "set relay ca-file $d/pki/ca.crt"
		for line in "$@"; do echo "$line"; done
	} >>"$d/zegel.conf"
	smtpd_start "$d"
}

relay_cleanup() {
	local d=$1
	smtpd_stop
	postfix_stop "$d/pf"
	rm -rf "$d"
}
