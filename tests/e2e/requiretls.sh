#!/usr/bin/env bash
# REQUIRETLS (RFC 8689) and "TLS-Required: No" in zegel, in the DANE test
# world (tests/e2e/lib/dane_env.sh). Debian 12's Postfix has no REQUIRETLS:
# its listeners are the incapable receivers. The capable one is
# tests/e2e/dane/rt_smtp.py (REQUIRETLS in EHLO after STARTTLS; it records
# each MAIL command), put in place of Postfix's mx.ta.dane listener
# (127.0.42.12, the ta certificate: DANE-TA 2 0 1 verifies it).
#   submission  EHLO shows REQUIRETLS only after STARTTLS; MAIL ... REQUIRETLS
#               on a plaintext session: 530 5.7.10
#   direct      rt-ta     REQUIRETLS, DANE + capable       -> sent, REQUIRETLS on MAIL
#               rt-ee512  REQUIRETLS, DANE + Postfix       -> 5.7.30 DSN, no MAIL there
#               rt-sts    REQUIRETLS, MTA-STS enforce + Postfix -> 5.7.30 (lacks REQUIRETLS)
#               rt-notlsa REQUIRETLS, no DANE, no MTA-STS  -> 5.7.30 DSN, no connection
#               tn-mismatch TLS-Required: No, TLSA mismatch, ignore -> deferred 4.7.5
#               rt-restart REQUIRETLS to ta while the receiver is down -> deferred;
#                         zegel restarted: the queue record still says requiretls
#   restart     (tls-required-no honour) queue flush: rt-restart sent with
#               REQUIRETLS; tn-mismatch delivered without authentication;
#               rt-tn REQUIRETLS + TLS-Required: No to notlsa -> 5.7.30 (REQUIRETLS wins)
#   smarthost   sync, mx.ta.dane:42025 (capable, DANE) -> sent with REQUIRETLS;
#               sync, mx.ee512.dane:42025 (Postfix)   -> 550 5.7.30 at RCPT;
#               queue on, mx.ee512.dane:42025          -> 5.7.30 DSN
# DSNs go to rcpt@insec.dane (the envelope sender), delivered by Postfix.
# Ports: zegel 42320-42323, the policy server 127.0.42.60:443 (namespace).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
if [ -n "$why" ]; then
	skip "REQUIRETLS" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
RT_IP=$DANE_NET.12
RT_PID=
WEB_PID=
# the capable receiver takes mx.ta.dane's place: no Postfix listener there
eval "$(declare -f _dane_listeners | sed '1s/_dane_listeners/_dane_listeners_all/')"
_dane_listeners() { _dane_listeners_all | grep -v "^$RT_IP "; }
stop_rt() {
	[ -n "$RT_PID" ] || return 0
	kill "$RT_PID" 2>/dev/null
	wait "$RT_PID" 2>/dev/null
	RT_PID=
}
zstop() {
	exec 3>&-
	smtpd_stop
}
trap 'zstop; stop_rt; [ -z "$WEB_PID" ] || kill "$WEB_PID" 2>/dev/null; dane_env_stop; rm -rf "$d"' EXIT

t0=$(date +%s%N)
if ! dane_env_setup "$d/w" || ! dane_env_start; then
	not_ok "DANE world (PKI, signed tree, NSD, Unbound, Postfix)" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up in $((($(date +%s%N) - t0) / 1000000)) ms"

RT=$d/rt
start_rt() {
	$PY "$TOP/tests/e2e/dane/rt_smtp.py" serve "$RT_IP" "$DANE_PORT" "$d/w/pki/ta.chain" \
		"$d/w/pki/ta.key" "$RT" 2>>"$d/rt.err" &
	RT_PID=$!
	for _ in $(seq 1 100); do
		_dane_port_open "$RT_IP" "$DANE_PORT" && return 0
		sleep 0.1
	done
	return 1
}
if start_rt; then
	ok "the REQUIRETLS receiver is up on $RT_IP:$DANE_PORT (mx.ta.dane)"
else
	not_ok "the REQUIRETLS receiver is up on $RT_IP:$DANE_PORT" "$(cat "$d/rt.err")"
	finish
	exit 1
fi
# MTA-STS enforce for stsgood.dane (its MX is Postfix: no REQUIRETLS)
W=$d/w/sts/www
mkdir -p "$W"
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.stsgood.dane\r\nmax_age: 86400\r\n' \
	>"$W/mta-sts.stsgood.dane"
$PY "$TOP/tests/e2e/dane/sts_server.py" "$DANE_STS_WEB" 443 "$d/w/pki/stsweb.chain" \
	"$d/w/pki/stsweb.key" "$W" "$d/w/sts/requests.log" 2>"$d/w/sts/server.err" &
WEB_PID=$!
for _ in $(seq 1 100); do _dane_port_open "$DANE_STS_WEB" 443 && break; sleep 0.1; done

# ---------------------------------------------------------------- zegel
smtpd_env_setup "$d" 42320
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set log-level debug
set relay direct
set relay mx-port $DANE_PORT
set relay ca-file $d/w/pki/root.crt
set resolver $DANE_RESOLVER
set resolver-anchors $d/w/anchor.zone
CONF
LOG=
zstart() { # config log: zegel with its console on a FIFO (fd 3)
	LOG=$2
	rm -f "$d/in"
	mkfifo "$d/in"
	"$ZEGEL" run --config "$1" <"$d/in" >"$LOG" 2>&1 &
	SMTPD_PID=$!
	exec 3>"$d/in"
	smtpd_wait_port "$SUBMISSION_PORT"
}
if zstart "$d/zegel.conf" "$d/zegel1.log"; then
	ok "zegel run starts (relay direct, tls-required-no not set: ignore)"
else
	not_ok "zegel run starts" "$(tail -20 "$LOG")"
	finish
	exit 1
fi

# ---------------------------------------------------------------- submission
out=$($PY "$TOP/tests/e2e/dane/rt_smtp.py" ehlo "$SUBMISSION_PORT" 2>&1)
if grep -q '^plain: ' <<<"$out" && ! grep '^plain: ' <<<"$out" | grep -qw REQUIRETLS &&
	grep '^tls: ' <<<"$out" | grep -qw REQUIRETLS; then
	ok "submission: EHLO shows REQUIRETLS only after STARTTLS"
else
	not_ok "submission: EHLO shows REQUIRETLS only after STARTTLS" "$out"
fi
if grep -q '^plain-mail: 530 5\.7\.10 ' <<<"$out"; then
	ok "submission: MAIL ... REQUIRETLS on a plaintext session: 530 5.7.10"
else
	not_ok "submission: MAIL ... REQUIRETLS on a plaintext session: 530 5.7.10" "$out"
fi
grep -q "530 5\.7\.10 REQUIRETLS needs a TLS session" "$LOG" &&
	ok "submission: the refusal is logged" ||
	not_ok "submission: the refusal is logged" "$(tail -5 "$LOG")"

declare -A ID
submit() { # tag to [flags...]: envelope sender rcpt@insec.dane (gets the DSNs)
	local tag=$1 to=$2 out id
	shift 2
	out=$(timeout 30 $PY "$TOP/tests/e2e/dane/rt_smtp.py" submit "$SUBMISSION_PORT" \
		rcpt@insec.dane "$to" "RT case $tag" "$@" 2>&1)
	id=$(sed -n 's/^DATA 250 .*queued as \([^ ]*\).*/\1/p' <<<"$out")
	if [ -n "$id" ]; then
		ID[$tag]=$id
	else
		not_ok "$tag: submitted and queued" "$out"
	fi
}
outcome() { # tag domain [status-regex]
	[ -n "${ID[$1]:-}" ] || return 0
	grep -E "${ID[$1]}: to=<rcpt@$2>, relay=.*status=${3:-(sent|deferred|bounced)}" "$LOG" | tail -1
}
wait_outcomes() { # tag:domain[:status] ...
	local t a missing
	for _ in $(seq 1 300); do
		missing=0
		for t in "$@"; do
			IFS=: read -r -a a <<<"$t"
			[ -n "$(outcome "${a[0]}" "${a[1]}" "${a[2]:-}")" ] || { missing=1; break; }
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
		ok "$1: $4"
	else
		not_ok "$1: $4: zegel's log should match /$3/" "${line:-no outcome logged}
$(grep -F "${ID[$1]:-none}" "$LOG" | tail -8)"
	fi
}
logged() { # tag regex what
	if grep -F "${ID[$1]:-none}" "$LOG" | grep -qE -- "$2"; then
		ok "$1: log: $3"
	else
		not_ok "$1: log: $3 (/$2/)" "$(grep -F "${ID[$1]:-none}" "$LOG" | tail -8)"
	fi
}
# the capable receiver's stored message of a case (its X-RT-* lines first)
rt_file() { grep -l "^Subject: RT case $1" "$RT"/*.eml 2>/dev/null | head -1; }
rt_got() { # tag what
	local f=
	for _ in $(seq 1 50); do f=$(rt_file "$1"); [ -n "$f" ] && break; sleep 0.1; done
	if [ -n "$f" ] && grep -q '^X-RT-Mail: MAIL FROM:<rcpt@insec\.dane>.* REQUIRETLS' "$f" &&
		grep -q '^X-RT-TLS: yes' "$f"; then
		ok "$1: $2: over TLS, MAIL FROM:<...> REQUIRETLS"
	else
		not_ok "$1: $2: over TLS, MAIL FROM:<...> REQUIRETLS" "$(head -3 "$f" 2>&1; tail -5 "$RT/log")"
	fi
}
no_mail_at() { # tag host: Postfix's listener saw a session, and no MAIL command in it
	for _ in $(seq 1 50); do
		dane_maillog "$2" | grep -q 'disconnect from' && break
		sleep 0.1
	done
	if ! dane_maillog "$2" | grep -q 'disconnect from .* starttls=1'; then
		not_ok "$1: $2: a session with STARTTLS was logged" "$(dane_maillog "$2" | tail -4)"
	elif dane_maillog "$2" | grep -q ' mail='; then
		not_ok "$1: $2 got no MAIL" "$(dane_maillog "$2" | tail -4)"
	else
		ok "$1: $2 got no MAIL command"
	fi
}
# the DSN for a case in rcpt@insec.dane's mailbox: Status 5.7.30
dsn_for() { # tag what
	local f= x
	for _ in $(seq 1 100); do
		for x in $(dane_mail_files insec.dane); do
			grep -q "X-Zegel-Queue-ID: ${ID[$1]:-none}" "$x" && { f=$x; break; }
		done
		[ -n "$f" ] && break
		sleep 0.1
	done
	if [ -n "$f" ] && grep -q '^Status: 5\.7\.30' "$f" && grep -q '^Action: failed' "$f" &&
		grep -q "^Subject: RT case $1" "$f" && ! grep -q "^REQUIRETLS test: " "$f"; then
		ok "$1: $2: DSN to the sender, Status 5.7.30, headers only"
	else
		not_ok "$1: $2: DSN to the sender, Status 5.7.30" "${f:-no DSN in insec.dane}
$(grep -E 'Status|Diagnostic' "${f:-/dev/null}")"
	fi
}

P='127\.0\.42\.[0-9]+'
submit rt-ta rcpt@ta.dane --requiretls
submit rt-ee512 rcpt@ee512.dane --requiretls
submit rt-sts rcpt@stsgood.dane --requiretls
submit rt-notlsa rcpt@notlsa.dane --requiretls
submit tn-mismatch rcpt@mismatch.dane --tls-required-no
wait_outcomes rt-ta:ta.dane rt-ee512:ee512.dane rt-sts:stsgood.dane rt-notlsa:notlsa.dane \
	tn-mismatch:mismatch.dane ||
	not_ok "zegel logged an outcome for every case within 30 s" "$(tail -20 "$LOG")"

expect rt-ta ta.dane "relay=mx\.ta\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.[23] verified=dane, status=sent \(250 " \
	"DANE-verified capable receiver: sent"
rt_got rt-ta "the receiver got it"
expect rt-ee512 ee512.dane "status=bounced \(550 5\.7\.30 REQUIRETLS: mx\.ee512\.dane\[$P\]:$DANE_PORT does not offer REQUIRETLS\)" \
	"DANE-verified Postfix without REQUIRETLS: bounced 5.7.30"
logged rt-ee512 "REQUIRETLS message to ee512\.dane not sent: .*\(5\.7\.30\)" "why it was returned"
no_mail_at rt-ee512 mx.ee512.dane
check "rt-ee512: nothing delivered to ee512.dane" test "$(dane_mail_count ee512.dane)" = 0
dsn_for rt-ee512 "returned"
expect rt-sts stsgood.dane "status=bounced \(550 5\.7\.30 REQUIRETLS: mx\.stsgood\.dane\[$P\]:$DANE_PORT does not offer REQUIRETLS\)" \
	"MTA-STS enforce (PKIX-verified) Postfix without REQUIRETLS: bounced 5.7.30"
no_mail_at rt-sts mx.stsgood.dane
expect rt-notlsa notlsa.dane "relay=none, .*status=bounced \(550 5\.7\.30 REQUIRETLS: MX mx\.notlsa\.dane not used: no authenticated TLS" \
	"no DANE, no MTA-STS: bounced 5.7.30 without connecting"
n=$(dane_maillog mx.notlsa.dane | grep -c 'connect from')
[ "$n" = 0 ] && ok "rt-notlsa: mx.notlsa.dane never connected to" ||
	not_ok "rt-notlsa: mx.notlsa.dane never connected to" "$(dane_maillog mx.notlsa.dane)"
dsn_for rt-notlsa "returned"
expect tn-mismatch mismatch.dane "status=deferred \(([0-9]{3} )?4\.7\.5 " \
	"TLS-Required: No with tls-required-no ignore: DANE still enforced (deferred 4.7.5)"
logged tn-mismatch "TLS-Required: No ignored \(set relay tls-required-no ignore\)" "the header was ignored"

# ---------------------------------------------------------------- restart
stop_rt
submit rt-restart rcpt@ta.dane --requiretls
wait_outcomes rt-restart:ta.dane ||
	not_ok "rt-restart: an outcome within 30 s" "$(tail -20 "$LOG")"
expect rt-restart ta.dane "status=deferred " "REQUIRETLS, the receiver down: deferred, not bounced"
zstop
st=$d/data/queue/${ID[rt-restart]:-none}.st
if grep -q '^flags.* requiretls' "$st" 2>/dev/null && grep -q '^flags.* tls-required-no' \
	"$d/data/queue/${ID[tn-mismatch]:-none}.st" 2>/dev/null; then
	ok "zegel stopped: the queue records say requiretls and tls-required-no"
else
	not_ok "zegel stopped: the queue records say requiretls and tls-required-no" \
		"$(head -5 "$st" "$d/data/queue/${ID[tn-mismatch]:-none}.st" 2>&1)"
fi
start_rt || not_ok "the REQUIRETLS receiver is up again" "$(cat "$d/rt.err")"
sed 's/^set log-level debug$/&\nset relay tls-required-no honour/' "$d/zegel.conf" >"$d/zegel2.conf"
if zstart "$d/zegel2.conf" "$d/zegel2.log"; then
	ok "zegel restarted with tls-required-no honour"
else
	not_ok "zegel restarted" "$(tail -20 "$LOG")"
fi
echo "show queue ${ID[rt-restart]:-none}" >&3
echo "show relay" >&3
echo "queue flush" >&3
submit rt-tn rcpt@notlsa.dane --requiretls --tls-required-no
wait_outcomes rt-restart:ta.dane:sent tn-mismatch:mismatch.dane:sent rt-tn:notlsa.dane ||
	not_ok "after queue flush: outcomes within 30 s" "$(tail -20 "$LOG")"
if grep -q "^size: .*, REQUIRETLS" "$LOG"; then
	ok "show queue ID after the restart: REQUIRETLS"
else
	not_ok "show queue ID after the restart: REQUIRETLS" "$(grep -A6 'show queue' "$LOG")"
fi
grep -q "'TLS-Required: No': honoured" "$LOG" && ok "show relay: TLS-Required: No honoured" ||
	not_ok "show relay: TLS-Required: No honoured" "$(grep '^relay:' "$LOG")"
expect rt-restart ta.dane "verified=dane, status=sent \(250 " "after the restart: sent"
rt_got rt-restart "the flag survived the restart"
expect tn-mismatch mismatch.dane "relay=mx\.mismatch\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=none, status=sent \(250 " \
	"TLS-Required: No with honour: delivered with unauthenticated TLS"
logged tn-mismatch "TLS-Required: No honoured: DANE and MTA-STS not enforced" "honoured, logged"
if dane_mail_wait mismatch.dane 1 10; then
	ok "tn-mismatch: Postfix mx.mismatch.dane has it"
else
	not_ok "tn-mismatch: Postfix mx.mismatch.dane has it" "$(dane_maillog mx.mismatch.dane | tail -3)"
fi
expect rt-tn notlsa.dane "status=bounced \(550 5\.7\.30 " \
	"REQUIRETLS and TLS-Required: No (honour): REQUIRETLS wins, bounced 5.7.30"
logged rt-tn "TLS-Required: No ignored: the message was sent with REQUIRETLS" "the header ignored"
zstop

# ---------------------------------------------------------------- smarthost
smarthost_conf() { # file data-dir relay-line
	sed -e '/^set relay direct$/d' -e '/^set relay mx-port/d' -e "s#^set data-dir .*#set data-dir $2#" \
		"$d/zegel.conf" >"$1"
	echo "$3" >>"$1"
}
# sync: the LAN client hears the smarthost's verdict (at RCPT)
smarthost_conf "$d/sh1.conf" "$d/sh1" "set relay smarthost mx.ta.dane:$DANE_PORT"
if zstart "$d/sh1.conf" "$d/sh1.log"; then
	out=$(timeout 30 $PY "$TOP/tests/e2e/dane/rt_smtp.py" submit "$SUBMISSION_PORT" \
		rcpt@insec.dane rcpt@ta.dane "RT case sh-ta" --requiretls 2>&1)
	if grep -q '^DATA 250 ' <<<"$out"; then
		ok "smarthost sync, capable (DANE) smarthost: 250 to the client"
	else
		not_ok "smarthost sync, capable (DANE) smarthost: 250 to the client" "$out
$(tail -8 "$LOG")"
	fi
	rt_got sh-ta "the smarthost got it"
else
	not_ok "zegel starts as smarthost client (mx.ta.dane)" "$(tail -20 "$LOG")"
fi
zstop
smarthost_conf "$d/sh2.conf" "$d/sh2" "set relay smarthost mx.ee512.dane:$DANE_PORT"
if zstart "$d/sh2.conf" "$d/sh2.log"; then
	out=$(timeout 30 $PY "$TOP/tests/e2e/dane/rt_smtp.py" submit "$SUBMISSION_PORT" \
		rcpt@insec.dane rcpt@ee512.dane "RT case sh-ee512" --requiretls 2>&1)
	if grep -qE '^(RCPT|DATA) 550 5\.7\.30 .*does not offer REQUIRETLS' <<<"$out"; then
		ok "smarthost sync, Postfix smarthost without REQUIRETLS: 550 5.7.30 to the client"
	else
		not_ok "smarthost sync, Postfix smarthost without REQUIRETLS: 550 5.7.30" "$out
$(tail -8 "$LOG")"
	fi
	grep -qE 'RCPT to=<rcpt@ee512\.dane>, .*verified=dane, refused \(550 5\.7\.30 .*REQUIRETLS: the next hop does not offer REQUIRETLS' "$LOG" && ok "sh-ee512: the refusal is logged" ||
		not_ok "sh-ee512: the refusal is logged" "$(tail -8 "$LOG")"
	# without REQUIRETLS the same smarthost takes it (the check is per message)
	out=$(timeout 30 $PY "$TOP/tests/e2e/dane/rt_smtp.py" submit "$SUBMISSION_PORT" \
		rcpt@insec.dane rcpt@ee512.dane "RT case sh-plain" 2>&1)
	grep -q '^DATA 250 ' <<<"$out" && ok "sh-plain: without REQUIRETLS the same smarthost takes it" ||
		not_ok "sh-plain: without REQUIRETLS the same smarthost takes it" "$out"
else
	not_ok "zegel starts as smarthost client (mx.ee512.dane)" "$(tail -20 "$LOG")"
fi
zstop
# queue on: accepted, then a 5.7.30 DSN
smarthost_conf "$d/sh3.conf" "$d/sh3" "set relay smarthost mx.ee512.dane:$DANE_PORT queue on"
if zstart "$d/sh3.conf" "$d/sh3.log"; then
	submit sh-q rcpt@ee512.dane --requiretls
	wait_outcomes sh-q:ee512.dane ||
		not_ok "sh-q: an outcome within 30 s" "$(tail -20 "$LOG")"
	expect sh-q ee512.dane "status=bounced \(550 5\.7\.30 " \
		"smarthost queue, Postfix smarthost without REQUIRETLS: bounced 5.7.30"
	dsn_for sh-q "returned"
else
	not_ok "zegel starts as smarthost client with the queue" "$(tail -20 "$LOG")"
fi
zstop
# Postfix's sessions with a MAIL command: sh-plain and sh-q's DSN (which
# goes out through the smarthost too), never sh-ee512 or sh-q
for _ in $(seq 1 30); do
	[ "$(dane_maillog mx.ee512.dane | grep -c ' mail=')" -ge 2 ] && break
	sleep 0.1
done
n=$(dane_maillog mx.ee512.dane | grep -c ' mail=')
[ "$n" = 2 ] && ok "the Postfix smarthost got MAIL only for sh-plain and sh-q's DSN" ||
	not_ok "the Postfix smarthost got MAIL only for sh-plain and sh-q's DSN" \
		"$(dane_maillog mx.ee512.dane | grep 'disconnect')"

finish
