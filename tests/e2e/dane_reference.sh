#!/usr/bin/env bash
# Is the DANE case table right? Postfix's DANE client (a mature RFC 7672
# implementation) delivers one message per case of tests/e2e/lib/dane_env.sh
# in a private network namespace (tests/e2e/dane/reference.sh); every case
# must end as the table says — the same table dane_check.sh and
# dane_direct.sh hold zegel to — and the receivers must show it: delivered
# by the expected host, over TLS unless the case is plaintext, nothing for
# the deferred cases.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"

why=$(dane_env_need)
[ -z "$why" ] && ! command -v unshare >/dev/null && why="unshare (util-linux) missing"
[ -z "$why" ] && ! unshare -nm true 2>/dev/null && why="cannot create network/mount namespaces here"
if [ -n "$why" ]; then
	skip "DANE reference run (Postfix)" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
trap 'rm -rf "$d"' EXIT
if ! dane_env_setup "$d/w"; then
	not_ok "test PKI, signed tree and Postfix config" "$DANE_ENV_ERR"
	finish
	exit 1
fi
t0=$(date +%s%N)
out=$(env TOP="$TOP" timeout 90 unshare -nm bash "$TOP/tests/e2e/dane/reference.sh" "$d/w" 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if grep -q '^error' <<<"$out" || [ $rc != 0 ]; then
	not_ok "reference run in a private namespace (exit $rc)" "$out"
else
	ok "reference run: Postfix (smtp_tls_security_level = dane) sent one message per case in $ms ms"
fi

declare -A RES
while read -r tag c st host tls rest; do
	[ "$tag" = result ] && RES[$c]="$st $host $tls"
done <<<"$out"

while read -r c dom want host what; do
	[ -n "$c" ] || continue
	set -- ${RES[$c]:-none - none}
	st=$1 rhost=$2 tls=$3
	case $want in
	verified) [ "$st/$rhost/$tls" = "sent/$host/Verified" ] ;;
	encrypted) [ "$st/$rhost" = "sent/$host" ] && [[ $tls == Untrusted || $tls == Anonymous ]] ;;
	plaintext) [ "$st/$rhost/$tls" = "sent/$host/plain" ] ;;
	deferred) [ "$st" = deferred ] ;;
	esac
	if [ $? = 0 ]; then
		hs=${host#-}
		ok "Postfix agrees: $c ($what) -> $want${hs:+ $hs}"
	else
		not_ok "Postfix on $c: want $want $host, got ${RES[$c]:-nothing}" \
			"$(grep "^result $c " <<<"$out")"
	fi
	n=$(dane_mail_count "$dom")
	if [ "$want" = deferred ]; then
		[ "$n" = 0 ] && ok "$c: receiver got nothing" || not_ok "$c: receiver got nothing" "$n message(s)"
		continue
	fi
	f=$(dane_mail_files "$dom" | head -1)
	rcvd=$([ -n "$f" ] && dane_first_received "$f")
	grep -q "using TLS" <<<"$rcvd" && tlsseen=yes || tlsseen=no
	[ "$want" = plaintext ] && tlswant=no || tlswant=yes
	if [ "$n" = 1 ] && grep -q "by $host (Postfix)" <<<"$rcvd" && [ $tlsseen = $tlswant ]; then
		ok "$c: receiver: one message by $host, $([ "$want" = plaintext ] && echo plaintext || echo over TLS)"
	else
		not_ok "$c: receiver: one message by $host" "$n message(s); $rcvd"
	fi
done <<<"$DANE_CASES"
if grep -q "server certificate verification failed for mx1\.twomx\.dane" "$d/w/sender/maillog" 2>/dev/null; then
	ok "twomx: Postfix tried MX 10 first and rejected its certificate"
else
	not_ok "twomx: Postfix tried MX 10 first" "$(grep twomx "$d/w/sender/maillog" 2>/dev/null | tail -5)"
fi
finish
