#!/usr/bin/env bash
# Is zegel's MTA-STS case table right? The same cases as tests/e2e/mta_sts.sh
# (the DANE test world, tests/e2e/lib/dane_env.sh, and its HTTPS policy
# server) are sent through two clients, one message each:
#   - zegel in direct mode (as mta_sts.sh runs it);
#   - a Postfix instance of its own (config and queue under the test dir)
#     with Debian's postfix-mta-sts-resolver (mta-sts-daemon) as its
#     smtp_tls_policy_maps socketmap, smtp_tls_security_level = dane and
#     smtp_dns_support_level = dnssec (the configuration its README and
#     Postfix's TLS_README suggest for a host doing both).
# One check per case: both end as RFC 8461 says (EXPECTED below). Where the
# reference is documented to differ (DIFF below), the check is on zegel
# following the RFC, the reference must show exactly the documented other
# outcome, and a "# difference:" line says why. tests/e2e/STS-REFERENCE.md
# has the table.
#
# The daemon resolves with the C library (aiodns/c-ares and getaddrinfo read
# /etc/resolv.conf, port 53 only; it takes no resolver address), so the suite
# runs in a network and mount namespace of its own where a private
# resolv.conf naming the world's validating Unbound (127.0.42.3:53) is
# bind-mounted over /etc/resolv.conf; it trusts the test CA through
# SSL_CERT_FILE. Ports: zegel 42310-42313, Postfix sender 127.0.42.4:42026,
# daemon 127.0.0.1:8461 (all inside the namespace).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
if [ -z "${DANE_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -nm true 2>/dev/null; then
	exec env DANE_NETNS=1 STSREF_NS=1 unshare -nm bash "$0" "$@"
fi
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
[ -z "$why" ] && ! command -v mta-sts-daemon >/dev/null &&
	why="mta-sts-daemon missing (postfix-mta-sts-resolver, scripts/bootstrap.sh peers)"
[ -z "$why" ] && [ -z "${STSREF_NS:-}" ] && why="cannot create network/mount namespaces here"
if [ -n "$why" ]; then
	skip "MTA-STS reference run (Postfix + postfix-mta-sts-resolver)" "$why"
	finish
	exit 0
fi
ip link set lo up

d=$(tmpdir)
W=$d/w/sts/www
S=$d/sender
SPORT=$((DANE_PORT + 1))
WEB_PID='' STRIP_PID='' STSD_PID=''
stop_all() {
	smtpd_stop
	[ -f "$S/queue/pid/master.pid" ] && postfix -c "$S/etc" stop >/dev/null 2>&1
	for p in $WEB_PID $STRIP_PID $STSD_PID; do kill "$p" 2>/dev/null; done
	[ -f "$d/w/dns/unbound-val.pid" ] && kill "$(cat "$d/w/dns/unbound-val.pid")" 2>/dev/null
	dane_env_stop
	rm -rf "$d"
}
trap stop_all EXIT

t0=$(date +%s%N)
if ! dane_env_setup "$d/w"; then
	not_ok "test PKI, signed tree and Postfix config" "$DANE_ENV_ERR"
	finish
	exit 1
fi
printf 'nameserver %s.3\noptions trust-ad edns0 timeout:2 attempts:2\n' $DANE_NET >"$d/resolv.conf"
if ! { mount --make-rprivate / && mount --bind "$d/resolv.conf" /etc/resolv.conf; }; then
	not_ok "a private /etc/resolv.conf in the mount namespace" "mount failed"
	finish
	exit 1
fi
sed -i "s|^\(\s*\)interface: |\1pidfile: \"$d/w/dns/unbound-val.pid\"\n&|" "$d/w/dns/unbound-val.conf"
if ! dane_env_start || ! unbound -c "$d/w/dns/unbound-val.conf" >"$d/w/dns/unbound-val.out" 2>&1; then
	not_ok "NSD, Unbound (iterator and validator) and the Postfix receivers are up" \
		"$DANE_ENV_ERR $(cat "$d/w/dns/unbound-val.out" 2>/dev/null)"
	finish
	exit 1
fi

# ---------------------------------------------------------------- policies
# as in mta_sts.sh; the stsdown domain is used three times, each time with
# a policy that must be refused and would defer the message if it were not
dane_sts_policies "$W"
setdown() { # redirect | oversized | malformed
	case $1 in
	redirect) echo "REDIRECT https://mta-sts.stsgood.dane/.well-known/mta-sts.txt" ;;
	oversized) printf 'version: STSv1\nmode: enforce\nmx: nomatch.stsdown.dane\nmax_age: 600\n'
		head -c 70000 /dev/zero | tr '\0' 'x' ;;
	malformed) printf 'version: STSv1\nmode: strict\nmx: nomatch.stsdown.dane\nmax_age: 600\n' ;;
	esac >"$W/mta-sts.stsdown.dane"
}
setdown redirect
$PY "$TOP/tests/e2e/dane/sts_server.py" "$DANE_STS_WEB" 443 "$d/w/pki/stsweb.chain" \
	"$d/w/pki/stsweb.key" "$W" "$d/w/sts/requests.log" 2>"$d/w/sts/server.err" &
WEB_PID=$!
$PY "$TOP/tests/e2e/dane/mitm_strip.py" $DANE_NET.46 $DANE_PORT $DANE_NET.40 $DANE_PORT \
	"$d/w/sts/strip.log" 2>"$d/w/sts/strip.err" &
STRIP_PID=$!

# ---------------------------------------------------------------- the reference
cat >"$d/mta-sts-daemon.yml" <<YML
host: 127.0.0.1
port: 8461
reuse_port: true
cache:
  type: internal
default_zone:
  strict_testing: false
  timeout: 4
YML
env SSL_CERT_FILE="$d/w/pki/root.crt" mta-sts-daemon --disable-uvloop -v debug \
	-c "$d/mta-sts-daemon.yml" -l "$d/mta-sts-daemon.log" 2>"$d/mta-sts-daemon.err" &
STSD_PID=$!

mkdir -p "$S/etc" "$S/queue" "$S/data"
chown postfix:postfix "$S/data"
cat >"$S/etc/main.cf" <<CF
compatibility_level = 3.6
config_directory = $S/etc
queue_directory = $S/queue
data_directory = $S/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtp_tcp_port = $DANE_PORT
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8461:postfix
smtp_tls_CAfile = $d/w/pki/root.crt
smtp_tls_loglevel = 1
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
maillog_file = $S/maillog
maillog_file_prefixes = $S
smtputf8_enable = no
biff = no
CF
{ echo "$DANE_NET.4:$SPORT inet n - n - - smtpd"; cat "$TOP/tests/e2e/relay/master.cf.in"; } \
	>"$S/etc/master.cf"
postfix -c "$S/etc" start >"$S/start.log" 2>&1

# ---------------------------------------------------------------- zegel
smtpd_env_setup "$d" 42310
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set log-level debug
set relay direct
set relay mx-port $DANE_PORT
set relay ca-file $d/w/pki/root.crt
set resolver $DANE_RESOLVER
set resolver-anchors $d/w/anchor.zone
CONF
# the console on a FIFO kept open (zegel run ends at the console's EOF)
mkfifo "$d/in"
"$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >"$d/zegel.log" 2>&1 &
SMTPD_PID=$!
exec 3>"$d/in"

port_up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
up=
for _ in $(seq 1 100); do
	up=
	port_up $DANE_STS_WEB 443 || up="$up policy-server"
	port_up 127.0.0.1 8461 || up="$up mta-sts-daemon"
	port_up $DANE_NET.4 $SPORT || up="$up postfix-sender"
	port_up 127.0.0.1 "$SUBMISSION_PORT" || up="$up zegel"
	[ -z "$up" ] && break
	sleep 0.1
done
if [ -n "$up" ]; then
	not_ok "world, policy server, mta-sts-daemon, Postfix sender and zegel are up" "not up:$up
$(for f in "$d/mta-sts-daemon.err" "$d/mta-sts-daemon.log" "$S/start.log" "$d/zegel.log"; do
	echo "== $f"; tail -n 8 "$f" 2>&1; done)"
	finish
	exit 1
fi
ok "world, policy server, mta-sts-daemon, Postfix sender and zegel up in $((($(date +%s%N) - t0) / 1000000)) ms"

# ---------------------------------------------------------------- one round
# RFC 8461 outcome of a case: "delivered-pkix" (enforce: TLS, PKIX-valid for
# the MX), "delivered-dane", "delivered" (no policy / testing: as without
# MTA-STS), "deferred"
declare -A ZID PID
submit() { # tag domain
	local out
	out=$(timeout 20 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to "rcpt@$2" --h-From printer@example.test \
		--h-Subject "STS reference $1 (zegel)" 2>&1)
	ZID[$1]=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
	out=$(timeout 20 swaks --server $DANE_NET.4 --port $SPORT --from sender@sender.test \
		--to "rcpt@$2" --h-Subject "STS reference $1 (postfix)" 2>&1)
	PID[$1]=$(sed -n 's/^<[-~] *250 .*queued as \([0-9A-F]*\).*/\1/p' <<<"$out" | tail -1)
}
zline() { [ -n "${ZID[$1]}" ] && grep -E "${ZID[$1]}: to=<rcpt@$2>, relay=.*status=(sent|deferred|bounced)" "$d/zegel.log" | head -1; }
pline() { [ -n "${PID[$1]}" ] && grep -E "${PID[$1]}: to=<rcpt@$2>, relay=.*status=" "$S/maillog" | head -1; }
zeg_outcome() { # tag domain
	local l
	l=$(zline "$1" "$2")
	case $l in
	*verified=pkix,\ status=sent*) echo delivered-pkix ;;
	*verified=dane,\ status=sent*) echo delivered-dane ;;
	*status=sent*) echo delivered ;;
	*status=deferred*) echo deferred ;;
	*status=bounced*) echo bounced ;;
	*) echo none ;;
	esac
}
pf_outcome() { # tag domain
	local l host t
	l=$(pline "$1" "$2")
	case $l in
	*status=sent*)
		host=$(sed -n 's/.* relay=\([^[,]*\)\[.*/\1/p' <<<"$l")
		# the TLS line of this delivery's smtp process
		t=$(grep -E "TLS connection established to $host\[" "$S/maillog" | tail -1)
		# Postfix says "Verified" for DANE and for a "secure" policy
		# alike (name and chain checked); "Trusted"/"Untrusted"/
		# "Anonymous" is opportunistic TLS
		case $t in
		*Verified\ TLS*) echo delivered-verified ;;
		*) echo delivered ;;
		esac ;;
	*status=deferred*) echo deferred ;;
	*status=bounced*) echo bounced ;;
	*) echo none ;;
	esac
}
round() { # tag:domain ...
	local t
	for t in "$@"; do submit "${t%%:*}" "${t#*:}"; done
	for _ in $(seq 1 400); do
		local missing=0
		for t in "$@"; do
			[ -n "$(zline "${t%%:*}" "${t#*:}")" ] && [ -n "$(pline "${t%%:*}" "${t#*:}")" ] ||
				{ missing=1; break; }
		done
		[ $missing = 0 ] && return 0
		sleep 0.1
	done
}

# case  domain  expected  what  [reference's documented difference]
CASES="\
stsgood    stsgood.dane    delivered-pkix enforce, MX in the policy, PKIX-valid certificate
stsbadmx   stsbadmx.dane   deferred       enforce, the MX does not match the policy's mx patterns
stsbadcert stsbadcert.dane deferred       enforce (*.stsbadcert.dane), the MX shows an attacker-CA certificate
ststest    ststest.dane    delivered      testing, the MX does not match: delivered as without MTA-STS
stsdane    stsdane.dane    delivered-dane DANE-EE record and an enforce policy excluding the MX: DANE first (RFC 8461 2)
stsstrip   stsstrip.dane   deferred       enforce, a man in the middle strips STARTTLS
redirect   stsdown.dane    delivered      the policy URL answers 301 to an enforce policy that would defer: not followed (3.3), no policy
oversized  stsdown.dane    delivered      a 70 KB enforce policy that would defer: refused (over 64 KiB, 3.3), no policy
malformed  stsdown.dane    delivered      mode: strict: refused (3.2), no policy
"
declare -A DIFF
DIFF[stsdane]="deferred|Postfix's TLS policy table overrides smtp_tls_security_level = dane for the domain: the resolver answers 'secure match=nomatch.stsdane.dane', Postfix no longer uses the TLSA record and the MX certificate does not match the policy name; RFC 8461 2 says MTA-STS is designed not to interfere with DANE deployments, so zegel uses the usable TLSA record first (delivered, verified=dane)"

declare -A ZR PR
judge() { # case domain expected what
	local c=$1 dom=$2 want=$3 what=$4 z p pw dwant djust
	z=$(zeg_outcome "$c" "$dom")
	p=$(pf_outcome "$c" "$dom")
	ZR[$c]=$z PR[$c]=$p
	dwant=${DIFF[$c]:-}
	djust=${dwant#*|} dwant=${dwant%%|*}
	pw=$want
	[[ $want == delivered-pkix || $want == delivered-dane ]] && pw=delivered-verified
	if [ "$z" = "$want" ] && [ "$p" = "$pw" ]; then
		ok "$c: $what -> $want (zegel and Postfix+resolver agree)"
	elif [ "$z" = "$want" ] && [ -n "$dwant" ] && [ "$p" = "$dwant" ]; then
		ok "$c: $what -> $want (zegel; the reference differs as documented)"
		echo "# difference: $c: Postfix+resolver $p, RFC 8461 and zegel $want: $djust"
		echo "# difference: $c: Postfix logged: $(pline "$c" "$dom" | sed 's/.*status=//')"
		grep -E "smtp\[[0-9]+\]: .*(TLS connection established to|certificate).*mx\.$c\." "$S/maillog" |
			sed 's/.*: \([A-Za-z]* TLS connection\|server certificate\)/# difference: \1/' | head -3
	else
		not_ok "$c: $what -> want $want: zegel $z, Postfix+resolver $p" \
			"zegel: $(zline "$c" "$dom")
postfix: $(pline "$c" "$dom")
$(grep -E "${PID[$c]:-none}|TLS|certificate" "$S/maillog" | tail -6)"
	fi
}

mapfile -t R1 < <(awk 'NF && $1 != "redirect" && $1 != "oversized" && $1 != "malformed" {print $1 ":" $2}' <<<"$CASES")
round "${R1[@]}" redirect:stsdown.dane
for c in oversized malformed; do
	setdown $c
	round $c:stsdown.dane
done
while read -r c dom want what; do
	[ -n "$c" ] || continue
	judge "$c" "$dom" "$want" "$what"
done <<<"$CASES"

# the reference really asked the daemon, and the daemon really fetched
if grep -q "mta-sts.stsgood.dane /.well-known/mta-sts.txt 200" "$d/w/sts/requests.log" &&
	[ "$(grep -c 'Lookup PERFORMED' "$d/mta-sts-daemon.log")" -ge 8 ]; then
	ok "mta-sts-daemon looked up every domain and fetched the policies over HTTPS (test CA)"
else
	not_ok "mta-sts-daemon looked up every domain and fetched the policies" \
		"$(tail -20 "$d/mta-sts-daemon.log"; cat "$d/w/sts/requests.log")"
fi

echo "# table: case | expected (RFC 8461) | zegel | Postfix+postfix-mta-sts-resolver"
while read -r c dom want what; do
	[ -n "$c" ] && echo "# table: $c | $want | ${ZR[$c]} | ${PR[$c]}"
done <<<"$CASES"
finish
