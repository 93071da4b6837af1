#!/usr/bin/env bash
# The lwIP build (build/host-lwip/zegel) with `set lwip dhcp on`, against a
# real DHCP server and real router advertisements: dnsmasq on the kernel
# side of the TAP, in a network namespace this suite creates.
#
# A (ztap0): dnsmasq leases 10.88.0.50-60 for 2 minutes (dnsmasq's least)
# with the gateway 10.88.0.1, T1 10 s and T2 100 s, and advertises
# fd88::/64 (ra-only). Checked: the lease (dnsmasq's lease file names the MAC
# `show lwip` shows, `show lwip` and the log show the leased address), swaks
# submits over it with STARTTLS + AUTH, also from 10.99.0.1, an address off
# the link (zegel's answers must go through the gateway the lease named);
# SLAAC: lwIP forms fd88::<EUI-64 of its MAC> from the advertisement, `show
# lwip` shows it and the router, swaks submits to it over IPv6, also from
# fd99::1 off the link (through the advertised router); dkimpy verifies
# every message.
# B (ztap1): no DHCP server at first: a log line says so after 10 s, `show
# lwip` still answers, the process lives. Then dnsmasq leases 10.89.0.50-60
# without a gateway: a client off the link gets no answer (the negative
# control of A's gateway check).
# Renewal: lwIP times T1/T2/the lease in whole minutes of its coarse timer,
# which runs from the stack's start: with T1 10 s both renew at their first
# tick, 60 s after start. Before it, A's dnsmasq restarts with an empty lease
# file (it ACKs the renewal: the lease file names the MAC again, same
# address) and B's restarts with another range (10.89.0.100-110, now with a
# gateway): it NAKs, B asks again at once, gets a new address, swaks submits
# to it, the old one no longer answers, and the gateway works now.
# Not testable in 90 s: the lease's expiry without renewal (t0 = 2 min)
# and rebinding to another server at T2.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

LZEGEL=${LZEGEL:-$TOP/build/host-lwip/zegel}
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
why=
[ "$(id -u)" -eq 0 ] || why="needs root (network namespace, TAP)"
[ -z "$why" ] && [ ! -x "$DNSMASQ" ] && why="dnsmasq not installed (Debian dnsmasq-base, scripts/bootstrap.sh peers)"
[ -z "$why" ] && ! command -v swaks >/dev/null && why="swaks not installed"
[ -z "$why" ] && ! swaks --support 2>&1 | grep -q '=== IPv6 supported' &&
	why="swaks without IPv6 (Debian libio-socket-inet6-perl, scripts/bootstrap.sh peers)"
if [ -n "$why" ]; then
	skip "lwIP DHCP and SLAAC" "$why"
	finish
	exit 0
fi
if [ ! -x "$LZEGEL" ]; then
	not_ok "the lwIP build exists" "$LZEGEL missing: make BOARD=host VARIANT=lwip"
	finish
	exit 1
fi

d=$(tmpdir)
ns=zdhcp$$
declare -A zpid=() dpid=()
stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 1 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	exec 7>&- 8>&- 2>/dev/null
	for k in "${!zpid[@]}"; do stop_pid "${zpid[$k]}"; done
	for k in "${!dpid[@]}"; do stop_pid "${dpid[$k]}"; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
nsx() { ip netns exec "$ns" "$@"; }
t_start=$(date +%s)
elapsed() { echo $(($(date +%s) - t_start)); }

ip netns add "$ns" || { not_ok "network namespace" "ip netns add failed"; finish; exit 1; }
nsx ip link set lo up
# addresses off both links, for the gateway and router checks
nsx ip addr add 10.99.0.1/32 dev lo
nsx ip -6 addr add fd99::1/128 dev lo nodad
for i in 0 1; do
	nsx ip tuntap add dev ztap$i mode tap
	# the kernel side's link-local is usable at once when the TAP's carrier
	# comes (zegel attaches): no DAD delays dnsmasq's first advertisement
	nsx sysctl -qw net.ipv6.conf.ztap$i.accept_dad=0
done
nsx ip addr add 10.88.0.1/24 dev ztap0
nsx ip -6 addr add fd88::1/64 dev ztap0 nodad
nsx ip addr add 10.89.0.1/24 dev ztap1
nsx ip link set ztap0 up
nsx ip link set ztap1 up

# dnsmasq NAME IFACE ARGS...: a DHCP server (no DNS) on IFACE, its log and
# lease file under $d/NAME.*; waits until it has bound its sockets
dnsmasq_start() {
	local name=$1 ifc=$2
	shift 2
	: >"$d/$name.log"
	# not through nsx: $! must be dnsmasq itself (ip netns exec execs it)
	ip netns exec "$ns" "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --port=0 \
		--user=root --group=root --interface="$ifc" --bind-interfaces --dhcp-authoritative \
		--no-ping --dhcp-leasefile="$d/$name.leases" --pid-file="$d/$name.pid" \
		--log-dhcp --log-facility="$d/$name.log" "$@" 2>>"$d/$name.err" &
	dpid[$name]=$!
	for _ in $(seq 1 50); do
		grep -q 'sockets bound exclusively' "$d/$name.log" && return 0
		kill -0 "${dpid[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
dnsmasq_a() {
	dnsmasq_start a ztap0 --dhcp-range=10.88.0.50,10.88.0.60,255.255.255.0,2m \
		--dhcp-option=option:router,10.88.0.1 --dhcp-option=option:T1,10 \
		--dhcp-option=option:T2,100 --enable-ra --dhcp-range=fd88::,ra-only,64,1h
}

smtpd_env_setup "$d" 587 >/dev/null
for z in a b; do
	mkdir -p "$d/$z/outbox"
	cat >"$d/$z/zegel.conf" <<CONF
set hostname mx.zegel.test
set data-dir $d/$z/data
set log-level info
set domain example.test
set key ed domain example.test file $d/keys/ed.pem
set key rsa domain example.test file $d/keys/rsa.pem
set user alice password secret
set listener submission 0.0.0.0:587 mode starttls auth-plaintext off
set listener v6 [::]:587 mode starttls auth-plaintext off
set relay outbox $d/$z/outbox
set lwip driver tap
set lwip interface ztap$([ $z = a ] && echo 0 || echo 1)
set lwip dhcp on
CONF
	mkfifo "$d/$z/con"
done
if ! dnsmasq_a; then
	not_ok "dnsmasq on ztap0" "$(cat "$d/a.err" "$d/a.log" 2>/dev/null | tail -5)"
	finish
	exit 1
fi

# both zegels at once, consoles on pipes: their lwIP coarse timers (the
# renewal at 60 s) run from here
exec 7<>"$d/a/con" 8<>"$d/b/con"
for z in a b; do
	ip netns exec "$ns" "$LZEGEL" run --config "$d/$z/zegel.conf" <"$d/$z/con" \
		>"$d/$z/zegel.log" 2>&1 &
	zpid[$z]=$!
done
t_zegel=$(date +%s)

# show Z: `show lwip` on Z's console; prints that answer
show() {
	local log=$d/$1/zegel.log n0
	n0=$(grep -c 'lwip pool udp' "$log")
	echo "show lwip" >"$d/$1/con"
	for _ in $(seq 1 50); do
		[ "$(grep -c 'lwip pool udp' "$log")" -gt "$n0" ] && break
		sleep 0.1
	done
	tac "$log" | sed '/net: lwip/q' | tac
}
# wait_log Z REGEX SECONDS: until Z's log has a line matching REGEX
wait_log() {
	for _ in $(seq 1 $(($3 * 10))); do
		grep -qE "$2" "$d/$1/zegel.log" && return 0
		sleep 0.1
	done
	return 1
}
tcp_open() { nsx timeout "${3:-3}" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
sw() { # SERVER [swaks args]: STARTTLS + AUTH PLAIN submission
	local srv=$1
	shift
	nsx timeout 30 swaks --silent 1 --server "$srv" --port 587 --tls --auth PLAIN \
		--auth-user alice --auth-password secret --from alice@example.test \
		--to bob@remote.example --h-Subject "over lwIP's DHCP lease" --body "Hello." "$@"
}
count() { ls "$d/$1/outbox"/*.eml 2>/dev/null | wc -l; }

# ------------------------------------------------------------------ A: the lease
lease_line() { grep -s " $2 " "$d/$1.leases" | head -1; }
mac=
for _ in $(seq 1 100); do
	grep -qE '^[0-9]+ ([0-9a-f]{2}:){5}[0-9a-f]{2} 10\.88\.0\.' "$d/a.leases" 2>/dev/null && break
	sleep 0.1
done
out=$(show a)
mac=$(printf '%s\n' "$out" | sed -n 's/.*, mac \([0-9a-f:]*\),.*/\1/p')
lease=$(lease_line a "$mac")
ip_a=$(printf '%s\n' "$lease" | awk '{print $3}')
if [ -n "$mac" ] && [ -n "$ip_a" ] && printf '%s\n' "$out" | grep -qF "lwip ipv4 $ip_a netmask 255.255.255.0 gateway 10.88.0.1 (dhcp: bound)"; then
	ok "A: a lease in $(($(date +%s) - t_zegel)) s: dnsmasq's lease file names zegel's MAC $mac with $ip_a, show lwip shows it bound (gateway 10.88.0.1)"
else
	not_ok "A: a DHCP lease from dnsmasq, shown by show lwip" "mac '$mac', lease '$lease'; $(cat "$d/a.leases" 2>/dev/null); $out"
fi
printf '%s\n' "$out" | grep -qF "lwip dhcp bound, server 10.88.0.1, lease 120 s, renew after 10 s, rebind after 100 s" &&
	ok "A: show lwip: the server, the lease time and T1/T2 dnsmasq sent" ||
	not_ok "A: show lwip: server, lease, T1, T2" "$out"
wait_log a "lwip.*DHCP on ztap0: address $ip_a/24, gateway 10.88.0.1, from server 10.88.0.1, lease 120 s" 2 &&
	ok "A: the log says which lease (address, gateway, server, time)" ||
	not_ok "A: the lease in the log" "$(grep lwip "$d/a/zegel.log" | grep -v pool | tail -5)"

check "A: swaks STARTTLS + AUTH to the leased $ip_a" sw "$ip_a"
check "A: swaks from 10.99.0.1, off the link: zegel answers through the lease's gateway" \
	sw "$ip_a" --local-interface 10.99.0.1
[ "$(count a)" -eq 2 ] && ok "A: 2 messages in the outbox" || not_ok "A: 2 messages in the outbox" "$(count a)"

# ------------------------------------------------------------------ A: SLAAC
echo "# $(elapsed) s: A: SLAAC"
# EUI-64 of the MAC: flip the universal/local bit, ff:fe in the middle
IFS=: read -r m0 m1 m2 m3 m4 m5 <<<"${mac:-0:0:0:0:0:0}"
ip6_a=$(printf 'fd88::%x:%x:%x:%x' $(((0x$m0 ^ 2) << 8 | 0x$m1)) $((0x${m2}ff)) $((0xfe$m3)) $((0x$m4$m5)))
if wait_log a "IPv6 $ip6_a from a router advertisement \(SLAAC\)" 15; then
	out=$(show a)
	if printf '%s\n' "$out" | grep -qE "^lwip ipv6 $ip6_a \(slaac, valid [0-9]+ s\)$" &&
		printf '%s\n' "$out" | grep -qE '^lwip ipv6 router fe80::[0-9a-f:]+ \(router advertisement, [0-9]+ s left\)'; then
		ok "A: SLAAC $ip6_a (fd88::/64 + EUI-64 of $mac) after $(($(date +%s) - t_zegel)) s; show lwip shows it and the advertised router"
	else
		not_ok "A: show lwip shows the SLAAC address and the router" "$out"
	fi
else
	not_ok "A: SLAAC address $ip6_a from dnsmasq's router advertisement" \
		"$(grep lwip "$d/a/zegel.log" | grep -v pool | tail -5; grep RTR "$d/a.log" | tail -3)"
fi
check "A: swaks over IPv6 to [$ip6_a] STARTTLS + AUTH" sw "$ip6_a" -6
check "A: swaks from fd99::1, off the link: zegel answers through the advertised router" \
	sw "$ip6_a" -6 --local-interface fd99::1
[ "$(count a)" -eq 4 ] && ok "A: 4 messages in the outbox" || not_ok "A: 4 messages in the outbox" "$(count a)"
ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
dkimv() { $PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$@"; }
check "A: dkimpy verifies both signatures of the 4 messages (IPv4 lease, SLAAC)" dkimv "$d"/a/outbox/*.eml

# A's server restarts and forgets the lease (empty lease file): the renewal
# at T1 must be ACKed by the new process, which then writes it down again
stop_pid "${dpid[a]}"
mv "$d/a.log" "$d/a.log.1"
rm -f "$d/a.leases"
dnsmasq_a || not_ok "dnsmasq on ztap0 restarts" "$(tail -5 "$d/a.err")"

# ------------------------------------------------------------------ B: no server
echo "# $(elapsed) s: B: no server"
sleep_until() { local s=$(($1 - ($(date +%s) - t_zegel))); [ "$s" -gt 0 ] && sleep "$s"; }
sleep_until 11
if wait_log b 'lwip.*DHCP on ztap1: no DHCP server answered in 1[0-9] s; still asking' 3; then
	ok "B without a DHCP server: the log says so after $(grep -o 'answered in [0-9]* s' "$d/b/zegel.log" | head -1 | grep -o '[0-9]*') s"
else
	not_ok "B without a DHCP server: a log line" "$(grep lwip "$d/b/zegel.log" | grep -v pool | tail -5)"
fi
out=$(show b)
if kill -0 "${zpid[b]}" 2>/dev/null && printf '%s\n' "$out" | grep -q '^lwip ipv4 0\.0\.0\.0 .*(dhcp: waiting)' &&
	printf '%s\n' "$out" | grep -qE '^lwip dhcp .*, no lease$'; then
	ok "B without a DHCP server: alive, the console answers show lwip (no address, $(printf '%s\n' "$out" | grep '^lwip dhcp' | sed 's/^lwip dhcp //'))"
else
	not_ok "B without a DHCP server: alive, the console answers" "$out"
fi
# now a server without a gateway (option 3 empty: none sent); lwIP's next
# DISCOVER comes 14 s after start (then 30 s)
dnsmasq_start b ztap1 --dhcp-range=10.89.0.50,10.89.0.60,255.255.255.0,2m --dhcp-option=3 \
	--dhcp-option=option:T1,10 --dhcp-option=option:T2,100 ||
	not_ok "dnsmasq on ztap1" "$(tail -5 "$d/b.err")"
if wait_log b 'lwip.*DHCP on ztap1: address 10\.89\.0\.[0-9]+/24, gateway none' 25; then
	ip_b=$(grep -oE 'DHCP on ztap1: address 10\.89\.0\.[0-9]+' "$d/b/zegel.log" | tail -1 | sed 's/.* //')
	ok "B: a server came: lease $ip_b (no gateway) $(($(date +%s) - t_zegel)) s after start"
else
	ip_b=
	not_ok "B: a lease once a server came" "$(grep lwip "$d/b/zegel.log" | grep -v pool | tail -5)"
fi
# off the link without a gateway: no answer (A's gateway check can fail)
offlink() { nsx timeout 3 $PY -c '
import socket, sys
s = socket.socket(); s.bind((sys.argv[2], 0)); s.settimeout(2)
s.connect((sys.argv[1], 587)); print(s.recv(100).decode().strip())' "$1" "$2" 2>/dev/null; }
if [ -n "$ip_b" ] && tcp_open "$ip_b" 587 && ! offlink "$ip_b" 10.99.0.1 >/dev/null; then
	ok "B: $ip_b answers on the link, not to 10.99.0.1 off it (the lease named no gateway)"
else
	not_ok "B: on the link yes, off it no (no gateway)" "ip '$ip_b'"
fi
# B's server restarts with another range and a gateway: the renewal is NAKed
stop_pid "${dpid[b]}"
mv "$d/b.log" "$d/b.log.1"
dnsmasq_start b ztap1 --dhcp-range=10.89.0.100,10.89.0.110,255.255.255.0,2m \
	--dhcp-option=option:router,10.89.0.1 --dhcp-option=option:T1,10 --dhcp-option=option:T2,100 ||
	not_ok "dnsmasq on ztap1 restarts with another range" "$(tail -5 "$d/b.err")"

# ------------------------------------------------------------------ renewal at T1
echo "# $(elapsed) s: renewal at T1"
# lwIP's first coarse tick: 60 s after start
wait_log a "lwip.*DHCP on ztap0: lease $ip_a renewed by server 10\.88\.0\.1, 120 s" \
	$((75 - ($(date +%s) - t_zegel)))
ren=$(($(date +%s) - t_zegel))
if grep -qE "lwip.*DHCP on ztap0: lease $ip_a renewed" "$d/a/zegel.log" &&
	grep -qE "DHCPREQUEST\(ztap0\) $ip_a $mac" "$d/a.log" && grep -qE "DHCPACK\(ztap0\) $ip_a $mac" "$d/a.log" &&
	[ -n "$(lease_line a "$mac")" ] && [ "$(lease_line a "$mac" | awk '{print $3}')" = "$ip_a" ]; then
	ok "A: renewed at T1 (${ren} s after start) with the restarted server: ACK, its new lease file names $mac with $ip_a again"
else
	not_ok "A: renewal at T1 with the restarted server" "$(grep lwip "$d/a/zegel.log" | grep -v pool | tail -4; grep -E 'DHCP[A-Z]+\(' "$d/a.log" | tail -4; cat "$d/a.leases" 2>/dev/null)"
fi
wait_log b "lwip.*DHCP on ztap1: address 10\.89\.0\.1[01][0-9]/24, gateway 10\.89\.0\.1, from server 10\.89\.0\.1, lease 120 s, replaces $ip_b" 5
nip_b=$(grep -oE 'DHCP on ztap1: address 10\.89\.0\.1[01][0-9]' "$d/b/zegel.log" | tail -1 | sed 's/.* //')
if [ -n "$nip_b" ] && grep -qE "DHCPNAK\(ztap1\) $ip_b .*address not available" "$d/b.log" &&
	grep -qE "DHCPACK\(ztap1\) $nip_b " "$d/b.log"; then
	ok "B: renewal NAKed by the restarted server (another range): a new lease $nip_b replaces $ip_b at once"
else
	not_ok "B: NAK at the renewal, then a new lease" "$(grep lwip "$d/b/zegel.log" | grep -v pool | tail -4; grep -E 'DHCP[A-Z]+\(' "$d/b.log" | tail -6)"
fi
if [ -n "$nip_b" ]; then
	check "B: swaks STARTTLS + AUTH to the new address $nip_b" sw "$nip_b"
	out=$(offlink "$nip_b" 10.99.0.1)
	[[ $out == 220* ]] && ok "B: the new lease's gateway is used: 10.99.0.1, off the link, gets the banner" ||
		not_ok "B: the new lease's gateway is used" "'$out'"
	! tcp_open "$ip_b" 587 2 && ok "B: the old address $ip_b no longer answers" ||
		not_ok "B: the old address $ip_b no longer answers"
	check "B: dkimpy verifies the message submitted over the new lease" dkimv "$d"/b/outbox/*.eml
else
	not_ok "B: submission over the new lease" "no new lease"
fi

# ------------------------------------------------------------------ the end
echo "# $(elapsed) s: the end"
for z in a b; do
	echo "exit" >"$d/$z/con"
done
for z in a b; do
	rc=
	for _ in $(seq 1 50); do kill -0 "${zpid[$z]}" 2>/dev/null || break; sleep 0.1; done
	if ! kill -0 "${zpid[$z]}" 2>/dev/null; then
		wait "${zpid[$z]}"
		rc=$?
		unset "zpid[$z]"
	fi
	[ "$rc" = 0 ] && ! grep -qiE 'sanitizer|segmentation|abort|SIGSYS' "$d/$z/zegel.log" &&
		ok "$(echo $z | tr ab AB): exit on the console: zegel ends (exit 0), no crash in the log" ||
		not_ok "$(echo $z | tr ab AB): exit on the console ends zegel with 0" "rc '$rc'; $(tail -5 "$d/$z/zegel.log")"
done
echo "# suite time $(elapsed) s"
finish
