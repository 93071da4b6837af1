#!/usr/bin/env bash
# The reference run for the DANE world: Postfix's own DANE client
# (smtp_tls_security_level = dane, smtp_dns_support_level = dnssec) delivers
# one message per case; tests/e2e/dane_reference.sh compares the outcomes
# with the case table, so the table is what a mature RFC 7672
# implementation does, not only what we think.
#
#   unshare -nm bash reference.sh DIR     (DIR built by dane_env_setup)
#
# Runs in its own network and mount namespace: the C library's resolver
# only talks to port 53 and reads /etc/resolv.conf, so a validating Unbound
# listens on 127.0.42.3:53 and a private resolv.conf is bind-mounted over
# /etc/resolv.conf — both visible to nothing outside this namespace.
# Prints one line per case: "result CASE sent|deferred|none HOST TLS"
# (TLS: Verified, Untrusted, Anonymous or plain).
set -u
DIR=$1
TOP=${TOP:-$(cd "$(dirname "$0")/../../.." && pwd)}
PY=/usr/bin/python3
. "$TOP/tests/e2e/lib/dane_env.sh"
DANE_DIR=$DIR
S=$DIR/sender
SPORT=$((DANE_PORT + 1))

stop_all() {
	[ -f "$S/queue/pid/master.pid" ] && postfix -c "$S/etc" stop >/dev/null 2>&1
	dane_env_stop
	sleep 0.2
}
trap stop_all EXIT

ip link set lo up || { echo "error: no lo in the namespace"; exit 1; }
mount --make-rprivate / && printf 'nameserver %s.3\noptions trust-ad edns0 timeout:2 attempts:2\n' \
	$DANE_NET >"$DIR/resolv.conf" && mount --bind "$DIR/resolv.conf" /etc/resolv.conf ||
	{ echo "error: cannot bind-mount resolv.conf"; exit 1; }
dane_env_start || { echo "error: $DANE_ENV_ERR"; exit 1; }
unbound -c "$DIR/dns/unbound-val.conf" >"$DIR/dns/unbound-val.out" 2>&1 ||
	{ echo "error: validating unbound: $(cat "$DIR/dns/unbound-val.out")"; exit 1; }

uid=$(id -u postfix)
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
postfix -c "$S/etc" start >"$S/start.log" 2>&1 || { echo "error: sender postfix: $(cat "$S/start.log")"; exit 1; }
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/$DANE_NET.4/$SPORT") 2>/dev/null && break
	sleep 0.1
done

while read -r c dom rest; do
	[ -n "$c" ] || continue
	timeout 20 swaks --silent 2 --server $DANE_NET.4 --port $SPORT --from sender@sender.test \
		--to "rcpt@$dom" --h-Subject "reference $c" >/dev/null 2>&1 || echo "error: submit $c"
done <<<"$DANE_CASES"

# wait (30 s at most) until every recipient has a status= line
for _ in $(seq 1 300); do
	n=$(grep -cE 'to=<rcpt@[a-z0-9]+\.dane>, relay=.*status=' "$S/maillog" 2>/dev/null)
	[ "${n:-0}" -ge "$(grep -c . <<<"$DANE_CASES")" ] && break
	sleep 0.1
done
while read -r c dom rest; do
	[ -n "$c" ] || continue
	line=$(grep -E "to=<rcpt@$dom>, relay=.*status=" "$S/maillog" | head -1)
	st=$(sed -n 's/.* status=\([a-z]*\).*/\1/p' <<<"$line")
	host=$(sed -n 's/.* relay=\([^[,]*\)\[.*/\1/p' <<<"$line")
	tls=plain
	if [ "$st" = sent ] && [ -n "$host" ]; then
		t=$(grep -oE "(Verified|Untrusted|Anonymous|Trusted) TLS connection established to $host\[" \
			"$S/maillog" | head -1)
		[ -n "$t" ] && tls=${t%% *}
	fi
	echo "result $c ${st:-none} ${host:--} $tls ${line#*status=}"
done <<<"$DANE_CASES"
