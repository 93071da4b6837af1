#!/usr/bin/env bash
# MTA-STS (RFC 8461) in zegel's direct delivery, in the DANE test world
# (tests/e2e/lib/dane_env.sh, DANE_STS_CASES) plus a Python HTTPS policy
# server (tests/e2e/dane/sts_server.py, certificate by the test PKI, which
# zegel trusts through `set relay ca-file`). One message per case:
#   stsgood    enforce, MX in the policy, PKIX-valid cert  -> sent, verified=pkix
#   stsbadmx   enforce, MX not in the policy               -> deferred 4.7.5, never connected
#   stsbadcert enforce (*.stsbadcert.dane), attacker cert  -> deferred 4.7.5, no MAIL
#   ststest    testing, MX not in the policy               -> sent (opportunistic), logged
#   stsdane    TLSA 3 1 1 and an enforce policy excluding the MX -> sent verified=dane,
#              the policy never fetched (DANE first, RFC 8461 2)
#   stsdown    the policy URL redirects (refused, 3.3), no cache -> sent as without STS
#   stsstrip   enforce, a man in the middle strips STARTTLS -> deferred, no MAIL sent
#   notlsa     no _mta-sts record                          -> sent as today (verified=none)
# then, with the policy server up: a changed id and an expired max_age each
# make zegel fetch again (and rewrite the cache); `sts-refresh` fetches a
# cached policy in the last quarter of its max_age again; an oversized and a
# malformed policy are refused (sts-check); then, with the policy server stopped: stsgood again (cached policy, id
# unchanged: no fetch, verified=pkix) and stsbadmx again after the cached id
# was made stale (refetch fails -> the cached enforce policy still applies).
# Checked in zegel's log, the receivers' mailboxes and logs, the policy
# server's request log and zegel's cache files; `zegel sts-check` too.
# Ports: zegel 42300-42303, the policy server 127.0.42.60:443 (namespace).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
if [ -n "$why" ]; then
	skip "MTA-STS direct delivery" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
WEB_PID=
STRIP_PID=
stop_web() {
	[ -n "$WEB_PID" ] || return 0
	kill "$WEB_PID" 2>/dev/null
	wait "$WEB_PID" 2>/dev/null
	WEB_PID=
}
trap 'smtpd_stop; stop_web; [ -z "$STRIP_PID" ] || kill "$STRIP_PID" 2>/dev/null; dane_env_stop; rm -rf "$d"' EXIT

t0=$(date +%s%N)
if ! dane_env_setup "$d/w"; then
	not_ok "test PKI, signed tree and Postfix config" "$DANE_ENV_ERR"
	finish
	exit 1
fi
if ! dane_env_start; then
	not_ok "NSD, Unbound, Postfix and the STARTTLS stripper are up" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up in $((($(date +%s%N) - t0) / 1000000)) ms"

# ---------------------------------------------------------------- policies
W=$d/w/sts/www
dane_sts_policies "$W"
echo "REDIRECT https://mta-sts.stsgood.dane/.well-known/mta-sts.txt" >"$W/mta-sts.stsdown.dane"
WEBLOG=$d/w/sts/requests.log
: >"$WEBLOG"
$PY "$TOP/tests/e2e/dane/sts_server.py" "$DANE_STS_WEB" 443 "$d/w/pki/stsweb.chain" \
	"$d/w/pki/stsweb.key" "$W" "$WEBLOG" 2>"$d/w/sts/server.err" &
WEB_PID=$!
up=0
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/$DANE_STS_WEB/443") 2>/dev/null && { up=1; break; }
	sleep 0.1
done
if [ $up = 0 ]; then
	not_ok "the HTTPS policy server is up on $DANE_STS_WEB:443" "$(cat "$d/w/sts/server.err")"
	finish
	exit 1
fi
ok "the HTTPS policy server is up on $DANE_STS_WEB:443"
# stsstrip's MX: a STARTTLS stripper in front of mx.stsgood.dane's listener
$PY "$TOP/tests/e2e/dane/mitm_strip.py" $DANE_NET.46 $DANE_PORT $DANE_NET.40 $DANE_PORT \
	"$d/w/sts/strip.log" 2>"$d/w/sts/strip.err" &
STRIP_PID=$!

# ---------------------------------------------------------------- sts-check
out=$("$ZEGEL" sts-check --resolver "$DANE_RESOLVER" --anchor "$d/w/anchor.zone" \
	--ca "$d/w/pki/root.crt" stsbadmx.dane 2>&1)
rc=$?
if [ $rc = 0 ] && grep -q '^mta-sts: _mta-sts.stsbadmx.dane id=1$' <<<"$out" &&
	grep -q '^mta-sts: policy: mode enforce, max_age 86400$' <<<"$out" &&
	grep -q '^mta-sts: MX 10 mx.stsbadmx.dane: does not match any mx pattern' <<<"$out"; then
	ok "sts-check stsbadmx.dane: the policy and the verdict for its MX"
else
	not_ok "sts-check stsbadmx.dane: the policy and the verdict for its MX" "rc=$rc $out"
fi
out=$("$ZEGEL" sts-check --resolver "$DANE_RESOLVER" --anchor "$d/w/anchor.zone" \
	--ca "$d/w/pki/root.crt" stsdown.dane 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q 'redirect refused' <<<"$out"; then
	ok "sts-check stsdown.dane: redirect refused, no policy (exit 1)"
else
	not_ok "sts-check stsdown.dane: redirect refused, no policy (exit 1)" "rc=$rc $out"
fi
out=$("$ZEGEL" sts-check --resolver "$DANE_RESOLVER" --anchor "$d/w/anchor.zone" \
	stsgood.dane 2>&1)
if grep -q 'policy fetch failed: .*not trusted' <<<"$out"; then
	ok "sts-check without the test CA: the policy server's certificate is not trusted"
else
	not_ok "sts-check without the test CA: the policy server's certificate is not trusted" "$out"
fi
: >"$WEBLOG"

# ---------------------------------------------------------------- zegel
smtpd_env_setup "$d" 42300
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set log-level debug
set relay direct
set relay mx-port $DANE_PORT
set relay ca-file $d/w/pki/root.crt
set resolver $DANE_RESOLVER
set resolver-anchors $d/w/anchor.zone
CONF
# with its console on a FIFO (sts-check below); log and console in zegel.log
mkfifo "$d/in"
"$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >"$d/zegel.log" 2>&1 &
SMTPD_PID=$!
exec 3>"$d/in"
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run starts in direct mode" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (relay direct, the test CA as relay ca-file)"

declare -A ID
submit() { # tag domain
	local out id
	out=$(timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to "rcpt@$2" --h-From printer@example.test \
		--h-Subject "MTA-STS case $1" --body "Case $1 for $2." 2>&1)
	id=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
	if [ -n "$id" ]; then
		ID[$1]=$id
	else
		not_ok "$1: swaks gets 250 2.0.0 queued as ID" "$(tail -8 <<<"$out")"
	fi
}
outcome() { # tag domain
	[ -n "${ID[$1]:-}" ] || return 0
	grep -E "${ID[$1]}: to=<rcpt@$2>, relay=.*status=(sent|deferred|bounced)" "$d/zegel.log" |
		head -1
}
wait_outcomes() { # tag:domain ...
	local t missing
	for _ in $(seq 1 600); do
		missing=0
		for t in "$@"; do
			[ -n "$(outcome "${t%%:*}" "${t#*:}")" ] || { missing=1; break; }
		done
		[ $missing = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
expect() { # tag domain regex what
	local line
	line=$(outcome "$1" "$2")
	if grep -qE -- "$3" <<<"$line"; then
		ok "$1: $4: ${line#*: to=}"
	else
		not_ok "$1: $4: zegel's log should match /$3/" "${line:-no outcome logged}
$(grep -F "${ID[$1]:-none}" "$d/zegel.log" | tail -8)"
	fi
}
logged() { # tag regex what
	if grep -F "${ID[$1]:-none}" "$d/zegel.log" | grep -qE -- "$2"; then
		ok "$1: log: $3"
	else
		not_ok "$1: log: $3 (/$2/)" "$(grep -F "${ID[$1]:-none}" "$d/zegel.log" | tail -8)"
	fi
}
delivered() { # tag domain host [count]
	local f rcvd
	if ! dane_mail_wait "$2" "${4:-1}" 10; then
		not_ok "$1: receiver: delivered by $3" "$(tail -5 "$d/w/pf/maillog")"
		return
	fi
	f=$(dane_mail_files "$2" | tail -1)
	rcvd=$(dane_first_received "$f")
	if grep -q "by $3 (Postfix)" <<<"$rcvd" && grep -q "using TLSv1\.2" <<<"$rcvd"; then
		ok "$1: receiver: delivered by $3 over TLSv1.2"
	else
		not_ok "$1: receiver: delivered by $3 over TLSv1.2" "$rcvd"
	fi
}
nothing() { # tag domain
	local n
	n=$(dane_mail_count "$2")
	[ "$n" = 0 ] && ok "$1: receiver: nothing delivered" ||
		not_ok "$1: receiver: nothing delivered" "$n message(s) in $2"
}

P='127\.0\.42\.[0-9]+'
for c in stsgood stsbadmx stsbadcert ststest stsdane stsdown stsstrip; do
	submit $c $c.dane
done
submit notlsa notlsa.dane
[ ${#ID[@]} = 8 ] && ok "8 messages queued"
wait_outcomes stsgood:stsgood.dane stsbadmx:stsbadmx.dane stsbadcert:stsbadcert.dane \
	ststest:ststest.dane stsdane:stsdane.dane stsdown:stsdown.dane notlsa:notlsa.dane \
	stsstrip:stsstrip.dane ||
	not_ok "zegel logged an outcome for every case within 60 s" "$(tail -20 "$d/zegel.log")"
sleep 1 # Postfix's virtual delivery

expect stsgood stsgood.dane "relay=mx\.stsgood\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=pkix, status=sent \(250 " \
	"enforce, MX in the policy: sent, PKIX-verified"
logged stsgood "MTA-STS for stsgood\.dane: mode enforce" "the enforce policy was applied"
delivered stsgood stsgood.dane mx.stsgood.dane

expect stsbadmx stsbadmx.dane "status=deferred \(([0-9]{3} )?4\.7\.5 MX mx\.stsbadmx\.dane does not match the MTA-STS policy" \
	"enforce, MX not in the policy: deferred 4.7.5"
nothing stsbadmx stsbadmx.dane
n=$(dane_maillog mx.stsbadmx.dane | grep -c 'connect from')
[ "$n" = 0 ] && ok "stsbadmx: receiver mx.stsbadmx.dane never connected to" ||
	not_ok "stsbadmx: receiver mx.stsbadmx.dane never connected to" "$(dane_maillog mx.stsbadmx.dane)"

expect stsbadcert stsbadcert.dane "status=deferred \(([0-9]{3} )?4\.7\.5 .*(not trusted|name mismatch)" \
	"enforce, the MX's certificate fails PKIX: deferred 4.7.5"
nothing stsbadcert stsbadcert.dane
if dane_maillog mx.stsbadcert.dane | grep -qE 'disconnect from .* mail='; then
	not_ok "stsbadcert: no MAIL sent to the receiver" "$(dane_maillog mx.stsbadcert.dane)"
else
	ok "stsbadcert: no MAIL sent to the receiver"
fi

expect ststest ststest.dane "relay=mx\.ststest\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=none, status=sent \(250 " \
	"testing, MX not in the policy: sent as without MTA-STS"
logged ststest "MX mx\.ststest\.dane does not match the MTA-STS policy of ststest\.dane \(mode testing, id 1\): testing mode, used anyway" \
	"the policy failure is logged"
delivered ststest ststest.dane mx.ststest.dane

expect stsdane stsdane.dane "relay=mx\.stsdane\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=dane, status=sent \(250 " \
	"DANE and an enforce policy excluding the MX: DANE wins"
delivered stsdane stsdane.dane mx.stsdane.dane
grep -q '^mta-sts.stsdane.dane ' "$WEBLOG" &&
	not_ok "stsdane: the policy was never fetched" "$(cat "$WEBLOG")" ||
	ok "stsdane: the policy was never fetched"

expect stsdown stsdown.dane "relay=mx\.stsdown\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=none, status=sent \(250 " \
	"the policy URL redirects, no cache: sent as without MTA-STS"
logged stsdown "MTA-STS for stsdown\.dane: no policy \(policy fetch failed: .*redirect refused" \
	"the redirect was refused"
delivered stsdown stsdown.dane mx.stsdown.dane

expect stsstrip stsstrip.dane "status=deferred \(([0-9]{3} )?4\.7\.[0-9]+ " \
	"enforce, STARTTLS stripped: deferred"
nothing stsstrip stsstrip.dane
if grep -q stripped "$d/w/sts/strip.log" 2>/dev/null && ! grep -q "client: MAIL" "$d/w/sts/strip.log"; then
	ok "stsstrip: STARTTLS was stripped and zegel sent no MAIL in plaintext"
else
	not_ok "stsstrip: STARTTLS stripped, no MAIL in plaintext" "$(cat "$d/w/sts/strip.log" 2>&1)"
fi

expect notlsa notlsa.dane "relay=mx\.notlsa\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=none, status=sent \(250 " \
	"no _mta-sts record: as today"
logged notlsa "MTA-STS for notlsa\.dane: no policy \(no MTA-STS record" "no record found"

# ---------------------------------------------------------------- cache
for c in stsgood stsbadmx ststest; do
	f=$d/data/sts/$c.dane
	if grep -q '^zegel-id: 1$' "$f" 2>/dev/null && grep -q '^mode: ' "$f"; then
		ok "$c: the policy is cached in data-dir/sts/$c.dane"
	else
		not_ok "$c: the policy is cached in data-dir/sts/$c.dane" "$(ls -la "$d/data/sts" 2>&1)"
	fi
done
[ -e "$d/data/sts/stsdown.dane" ] && not_ok "stsdown: nothing cached" "$(cat "$d/data/sts/stsdown.dane")" ||
	ok "stsdown: nothing cached"

# ---------------------------------------------------------------- refetch
# a new id (the cache says 0, DNS says 1) and an expired max_age (fetched
# long ago): each delivery fetches again and the cache is rewritten
sed -i 's/^zegel-id: 1$/zegel-id: 0/' "$d/data/sts/ststest.dane"
sed -i 's/^zegel-fetched: .*/zegel-fetched: 1000/' "$d/data/sts/stsgood.dane"
: >"$WEBLOG"
submit ststest2 ststest.dane
submit stsgood3 stsgood.dane
wait_outcomes ststest2:ststest.dane stsgood3:stsgood.dane ||
	not_ok "zegel logged an outcome for both within 60 s" "$(tail -20 "$d/zegel.log")"
for c in ststest stsgood; do
	if grep -q "^mta-sts.$c.dane /.well-known/mta-sts.txt 200$" "$WEBLOG" &&
		grep -q '^zegel-id: 1$' "$d/data/sts/$c.dane" &&
		! grep -q '^zegel-fetched: 1000$' "$d/data/sts/$c.dane"; then
		[ $c = ststest ] && why="the id changed" || why="max_age ran out"
		ok "$c: fetched again ($why) and cached anew"
	else
		not_ok "$c: fetched again and cached anew" "$(cat "$WEBLOG" "$d/data/sts/$c.dane")"
	fi
done
logged ststest2 "MTA-STS for ststest\.dane: policy fetched from https://mta-sts\.ststest\.dane/\.well-known/mta-sts\.txt, id 1" \
	"the refetch"
expect stsgood3 stsgood.dane "verified=pkix, status=sent \(250 " "after the refetch: enforced (PKIX)"

# the proactive refresh (RFC 8461 5.1, sts_refresh.h): stsbadmx's cached
# policy has 1 h of its 24 h left, the others are fresh: `sts-refresh` (what
# the hourly timer runs) fetches stsbadmx's again, and only that one
now=$(date +%s)
sed -i "s/^zegel-fetched: .*/zegel-fetched: $((now - 86400 + 3600))/" "$d/data/sts/stsbadmx.dane"
: >"$WEBLOG"
echo "sts-refresh" >&3
for _ in $(seq 1 100); do
	grep -qE 'MTA-STS refresh: [0-9]+ cached polic' "$d/zegel.log" && break
	sleep 0.1
done
if grep -q 'MTA-STS policy of stsbadmx.dane refreshed before it expired' "$d/zegel.log" &&
	grep -q 'MTA-STS refresh: 1 cached policy refreshed' "$d/zegel.log" &&
	[ "$(cat "$WEBLOG")" = "mta-sts.stsbadmx.dane /.well-known/mta-sts.txt 200" ] &&
	f=$(sed -n 's/^zegel-fetched: //p' "$d/data/sts/stsbadmx.dane") && [ "$f" -ge "$now" ]; then
	ok "sts-refresh: the policy with 1 h of max_age left is fetched again (cache renewed), the fresh ones are not"
else
	not_ok "sts-refresh: the policy with 1 h of max_age left is fetched again, the fresh ones are not" \
		"$(cat "$WEBLOG"; grep -E 'MTA-STS (refresh|policy of)' "$d/zegel.log"; cat "$d/data/sts/stsbadmx.dane")"
fi

# the console's sts-check (the running configuration's resolver and CA file)
echo "sts-check ststest.dane" >&3
for _ in $(seq 1 100); do
	grep -q '^mta-sts: MX 10 mx.ststest.dane: ' "$d/zegel.log" && break
	sleep 0.1
done
if grep -q '^mta-sts: policy: mode testing, max_age 86400$' "$d/zegel.log" &&
	grep -q '^mta-sts: MX 10 mx.ststest.dane: does not match any mx pattern: used anyway (testing), logged$' "$d/zegel.log"; then
	ok "console sts-check ststest.dane: the policy and the verdict for its MX"
else
	not_ok "console sts-check ststest.dane: the policy and the verdict for its MX" \
		"$(grep -E 'mta-sts|sts-check' "$d/zegel.log" | tail -10)"
fi

# oversized and malformed policies are refused (the same fetch code)
{ printf 'version: STSv1\nmode: enforce\nmx: mx.stsdown.dane\nmax_age: 600\n'
	head -c 70000 /dev/zero | tr '\0' 'x'; } >"$W/mta-sts.stsdown.dane"
out=$("$ZEGEL" sts-check --resolver "$DANE_RESOLVER" --anchor "$d/w/anchor.zone" \
	--ca "$d/w/pki/root.crt" stsdown.dane 2>&1)
rc=$?
[ $rc = 1 ] && grep -q 'larger than 64 KiB' <<<"$out" &&
	ok "a 70 KB policy is refused (sts-check exit 1)" ||
	not_ok "a 70 KB policy is refused" "rc=$rc $out"
printf 'version: STSv1\nmode: strict\nmx: mx.stsdown.dane\nmax_age: 600\n' >"$W/mta-sts.stsdown.dane"
out=$("$ZEGEL" sts-check --resolver "$DANE_RESOLVER" --anchor "$d/w/anchor.zone" \
	--ca "$d/w/pki/root.crt" stsdown.dane 2>&1)
rc=$?
[ $rc = 1 ] && grep -q 'policy line 2: mode must be enforce, testing or none' <<<"$out" &&
	ok "a malformed policy (mode: strict) is refused (sts-check exit 1)" ||
	not_ok "a malformed policy (mode: strict) is refused" "rc=$rc $out"

stop_web
ok "the policy server is stopped"
# stsbadmx: an older id in the cache, as if the domain had published a new
# one: zegel must try to fetch, fail, and keep the cached enforce policy
sed -i 's/^zegel-id: 1$/zegel-id: 0/' "$d/data/sts/stsbadmx.dane"
: >"$WEBLOG"
submit stsgood2 stsgood.dane
submit stsbadmx2 stsbadmx.dane
wait_outcomes stsgood2:stsgood.dane stsbadmx2:stsbadmx.dane ||
	not_ok "zegel logged an outcome for both within 60 s" "$(tail -20 "$d/zegel.log")"
sleep 1
expect stsgood2 stsgood.dane "relay=mx\.stsgood\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=pkix, status=sent \(250 " \
	"server down, cached policy with the current id: still enforced (PKIX)"
logged stsgood2 "MTA-STS for stsgood\.dane: cached policy, id 1 unchanged" "the cache was used, no fetch"
delivered stsgood2 stsgood.dane mx.stsgood.dane 3
expect stsbadmx2 stsbadmx.dane "status=deferred \(([0-9]{3} )?4\.7\.5 MX mx\.stsbadmx\.dane does not match" \
	"server down, new id: the fetch fails, the cached enforce policy still applies"
logged stsbadmx2 "MTA-STS for stsbadmx\.dane: policy fetch failed: .*; using the cached policy" \
	"the failed refetch and the fallback to the cache"
nothing stsbadmx2 stsbadmx.dane
if grep -q 'zegel-id: 0' "$d/data/sts/stsbadmx.dane"; then
	ok "stsbadmx: the cache was not overwritten by the failed fetch"
else
	not_ok "stsbadmx: the cache was not overwritten by the failed fetch" "$(cat "$d/data/sts/stsbadmx.dane")"
fi

finish
