#!/usr/bin/env bash
# The lwIP build (make VARIANT=lwip: build/host-lwip/zegel) owns a TAP device
# in a network namespace this suite creates, with its own addresses
# (10.77.0.2/24, fd77::2/64); the namespace's kernel side of the TAP is the
# client: swaks submits with STARTTLS and AUTH, Python's smtplib over IPv6;
# the messages land signed and verify with dkimpy. strace shows that zegel
# made no AF_INET/AF_INET6 socket (its TCP/IP is lwIP's; the TAP is a file).
# zegel resolve's DNS stub runs over lwIP too: UDP, and TCP after a
# truncated answer, against a responder on a second TAP.
# The console on a pipe (a kernel fd beside lwIP's sockets) answers `show
# lwip`, and the process idles without spinning. 2 x CONFIG_MAX_SESSIONS
# connections at once get refusals, no crash or hang, and the appliance
# serves again afterwards. Then smarthost mode over lwIP: Postfix on the
# TAP's kernel side with a certificate of the test CA: relayed and verified
# (pkix), one of two recipients refused with 550 by Postfix, and with
# another CA trusted the relay fails closed. And the packet-socket driver
# on a veth: one submission. Last, `zegel dane-check` over lwIP against the
# DANE world of tests/e2e/lib/dane_env.sh (NSD, Unbound, Postfix on
# 10.42.0.x in this suite's own namespace, reached through a third TAP):
# DNSSEC-validated DNS over UDP, and over TCP (zegel resolve --tcp), TLS and
# the SMTP client all over lwIP, with strace again.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
. "$TOP/tests/e2e/relay/postfix.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
# a namespace of our own (the DANE world's fixed loopback ports)
dane_env_netns "$0" "$@"

LZEGEL=${LZEGEL:-$TOP/build/host-lwip/zegel}
if [ "$(id -u)" -ne 0 ] || ! command -v strace >/dev/null || ! command -v swaks >/dev/null; then
	skip "lwIP e2e" "needs root (network namespace, TAP), strace and swaks"
	finish
	exit 0
fi
if [ ! -x "$LZEGEL" ]; then
	not_ok "the lwIP build exists" "$LZEGEL missing: make BOARD=host VARIANT=lwip"
	finish
	exit 1
fi
max_sessions=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$(dirname "$LZEGEL")/.config")

d=$(tmpdir)
ns=zlwip$$
spid=
cleanup() {
	exec 7>&- 2>/dev/null
	stop_zegel2
	postfix_stop "$d/pf"
	dane_env_stop
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
nsx() { ip netns exec "$ns" "$@"; }
z2=
stop_zegel2() {
	[ -n "$z2" ] || return 0
	kill "$z2" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$z2" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$z2" 2>/dev/null
	wait "$z2" 2>/dev/null
	z2=
}

ip netns add "$ns" || { not_ok "network namespace" "ip netns add failed"; finish; exit 1; }
nsx ip link set lo up
nsx ip tuntap add dev ztap0 mode tap
nsx ip addr add 10.77.0.1/24 dev ztap0
nsx ip -6 addr add fd77::1/64 dev ztap0 nodad
nsx ip link set ztap0 up
# a second TAP for the command-line tool (a TAP takes one process at a time)
nsx ip tuntap add dev ztap1 mode tap
nsx ip addr add 10.78.0.1/24 dev ztap1
nsx ip link set ztap1 up

smtpd_env_setup "$d" 587 >/dev/null
cat >"$d/zegel.conf" <<CONF
set hostname mx.zegel.test
set data-dir $d/data
set log-level info
set domain example.test
set key ed domain example.test file $d/keys/ed.pem
set key rsa domain example.test file $d/keys/rsa.pem
set user alice password secret
set smtpd per-address-limit $max_sessions
set listener submission 0.0.0.0:587 mode starttls auth-plaintext off
set listener v6 [::]:587 mode starttls auth-plaintext off
set relay outbox $d/outbox
set lwip driver tap
set lwip interface ztap0
set lwip address 10.77.0.2/24
set lwip gateway 10.77.0.1
set lwip address6 fd77::2/64
CONF

# the console reads a pipe: a kernel fd in the same poll as lwIP's sockets
mkfifo "$d/con"
exec 7<>"$d/con"
ip netns exec "$ns" strace -f -qq -e trace=network -o "$d/strace.txt" \
	"$LZEGEL" run --config "$d/zegel.conf" <"$d/con" >"$d/zegel.log" 2>&1 &
spid=$!

up=false
for _ in $(seq 1 100); do
	if nsx bash -c 'exec 3<>/dev/tcp/10.77.0.2/587' 2>/dev/null; then up=true; break; fi
	sleep 0.1
done
if $up; then
	ok "lwIP build: zegel answers on its lwIP address 10.77.0.2:587 over the TAP"
else
	not_ok "lwIP build: zegel answers on its lwIP address 10.77.0.2:587 over the TAP" \
		"$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
zpid=$(pgrep -P "$spid" | head -1) # strace's child: the network process

count() { ls "$d/outbox"/*.eml 2>/dev/null | wc -l; }
sw() { nsx timeout 30 swaks --silent 1 --server 10.77.0.2 --port 587 \
	--from alice@example.test --to bob@remote.example --h-Subject "over lwIP" \
	--body "Hello over lwIP." "$@"; }
check "swaks: STARTTLS + AUTH PLAIN to the lwIP address" \
	sw --tls --auth PLAIN --auth-user alice --auth-password secret
check_not "swaks: no AUTH from outside the allowed networks is refused" sw --tls
v6send() {
	nsx $PY - <<'PYEOF'
import smtplib, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("fd77::2", 587, timeout=20)
s.starttls(context=ctx)
s.login("alice", "secret")
s.sendmail("alice@example.test", ["bob@remote.example"],
    "From: alice@example.test\r\nTo: bob@remote.example\r\nSubject: lwIP IPv6\r\n\r\nHello over lwIP's IPv6.\r\n")
s.quit()
PYEOF
}
check "smtplib: IPv6 [fd77::2]:587 STARTTLS + AUTH (lwIP's IPv6)" v6send
[ "$(count)" -eq 2 ] && ok "2 messages in the outbox" || not_ok "2 messages in the outbox" "$(count) found"

ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
check "dkimpy verifies both signatures of every message submitted over lwIP" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$d"/outbox/*.eml

# the console: a line on the pipe is answered while the loop sleeps in lwip_poll
echo "show lwip" >&7
for _ in $(seq 1 50); do grep -q 'lwip pool tcp' "$d/zegel.log" && break; sleep 0.1; done
grep -q 'lwip interface ztap0 (tap).*link up, up' "$d/zegel.log" &&
	grep -q 'lwip ipv4 10.77.0.2 netmask 255.255.255.0 gateway 10.77.0.1' "$d/zegel.log" &&
	grep -q 'lwip ipv6 fd77::2' "$d/zegel.log" &&
	ok "console on a pipe (kernel fd) answers 'show lwip': interface, IPv4, IPv6" ||
	not_ok "console answers 'show lwip'" "$(tail -15 "$d/zegel.log")"

# idle: the loop and the kernel-fd waiter sleep (a spin would burn ~100 ticks/s)
ticks() { awk '{print $14 + $15}' "/proc/$zpid/stat"; }
t0=$(ticks)
sleep 2
t1=$(ticks)
[ $((t1 - t0)) -le 20 ] && ok "idle for 2 s with the console open: $((t1 - t0)) CPU ticks (no busy loop)" ||
	not_ok "idle without a busy loop" "$((t1 - t0)) ticks in 2 s"

# 2 x CONFIG_MAX_SESSIONS connections at once: the loop serves what it
# may and answers 421 to the rest; then twice lwIP's TCP pool
# (LOOP_SLOTS + 8 PCBs, lwipopts.h) opened at once: lwIP drops what it has
# no PCB for, and nothing crashes or hangs
flood() {
	nsx timeout 60 $PY - "$1" "$2" <<'PYEOF'
import select, socket, sys, time
n, wait = int(sys.argv[1]), float(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("10.77.0.2", 587))
    socks.append(s)
banner = refused = 0
pending = set(socks); end = time.time() + wait
while pending and time.time() < end:
    r, _, _ = select.select(list(pending), [], [], max(0, end - time.time()))
    for s in r:
        pending.discard(s)
        try:
            line = s.recv(200)
        except OSError:
            line = b""
        if line.startswith(b"220"): banner += 1
        else: refused += 1
print(banner, refused + len(pending))
for s in socks: s.close()
PYEOF
}
out=$(flood "$((2 * max_sessions))" 10)
banner=${out% *} refused=${out#* }
if [ -n "$out" ] && [ "$banner" -eq "$max_sessions" ] && [ "$refused" -eq "$max_sessions" ]; then
	ok "$((2 * max_sessions)) connections at once: $banner served, $refused refused with 421, none hang"
else
	not_ok "$((2 * max_sessions)) connections at once: $max_sessions served, the rest refused" "served/refused: '$out'"
fi
pcbs=$(echo "show lwip" >&7; for _ in $(seq 1 30); do grep -q 'lwip pool tcp ' "$d/zegel.log" && break; sleep 0.1; done
	grep 'lwip pool tcp ' "$d/zegel.log" | tail -1 | sed -n 's/.* \([0-9]*\) max.*/\1/p')
out=$(flood "$((2 * ${pcbs:-100}))" 4)
banner=${out% *} refused=${out#* }
if [ -n "$out" ] && [ "$banner" -ge 1 ] && [ "$refused" -ge "${pcbs:-100}" ]; then
	ok "$((2 * ${pcbs:-100})) connections at once (twice lwIP's $pcbs TCP PCBs): $banner served, $refused refused or dropped, none hang"
else
	not_ok "twice lwIP's TCP pool at once: refusals, no hang" "pool '$pcbs', served/refused: '$out'"
fi
kill -0 "$zpid" 2>/dev/null && ok "zegel survives both floods" || not_ok "zegel survives both floods" "$(tail "$d/zegel.log")"
ok_again=false
for _ in $(seq 1 20); do
	if sw --tls --auth PLAIN --auth-user alice --auth-password secret >/dev/null 2>&1; then ok_again=true; break; fi
	sleep 0.5
done
$ok_again && [ "$(count)" -eq 3 ] && ok "after the flood a submission over lwIP works again" ||
	not_ok "after the flood a submission over lwIP works again" "$(tail "$d/zegel.log")"
echo "show lwip" >&7
sleep 0.3
grep 'lwip pool' "$d/zegel.log" | tail -5 | sed 's/^/# /'
tcpline=$(grep 'lwip pool tcp ' "$d/zegel.log" | tail -1)
peak=$(echo "$tcpline" | sed -n 's/.* \([0-9]*\) peak.*/\1/p')
[ -n "$peak" ] && [ "$peak" = "$pcbs" ] &&
	ok "show lwip: the flood took lwIP's TCP pool to its limit (peak $peak of $pcbs)" ||
	not_ok "the flood took lwIP's TCP pool to its limit" "$tcpline"

# DNS over lwIP: zegel's stub asks a responder on the kernel side of ztap1,
# over UDP, then over TCP after a truncated answer (zegel resolve with the
# interface from --config)
ip netns exec "$ns" $PY "$TOP/tests/e2e/lwip_dns.py" 10.78.0.1 >"$d/dns.log" 2>&1 &
dnspid=$!
for _ in $(seq 1 50); do grep -q ready "$d/dns.log" && break; sleep 0.1; done
printf 'set lwip interface ztap1\nset lwip address 10.78.0.2/24\nset lwip gateway 10.78.0.1\n' >"$d/tool.conf"
res=$(nsx timeout 30 strace -f -qq -e trace=network -o "$d/strace-tool.txt" \
	"$LZEGEL" resolve --config "$d/tool.conf" --resolver 10.78.0.1 A big.example 2>&1)
kill "$dnspid" 2>/dev/null
wait "$dnspid" 2>/dev/null
if grep -q 'Q udp big.example. IN A' "$d/dns.log" && grep -q 'Q tcp big.example. IN A' "$d/dns.log" &&
	printf '%s\n' "$res" | grep -q '^status: bogus (big.example./A has no RRSIG'; then
	ok "zegel resolve over lwIP: UDP, then TCP after TC, answer validated (unsigned: bogus)"
else
	not_ok "zegel resolve over lwIP: UDP, then TCP after TC" "$(cat "$d/dns.log"; printf '%s\n' "$res" | tail -5)"
fi

# strace: kernel sockets of the data path would be AF_INET/AF_INET6
echo "exit" >&7
for _ in $(seq 1 50); do kill -0 "$zpid" 2>/dev/null || break; sleep 0.1; done
if grep -qE 'socket\(AF_INET6?,' "$d/strace.txt" "$d/strace-tool.txt"; then
	not_ok "strace: no AF_INET/AF_INET6 socket in the lwIP build" "$(grep -E 'socket\(AF_INET' "$d/strace.txt" "$d/strace-tool.txt" | head -5)"
elif ! grep -q 'socket(' "$d/strace.txt" || ! grep -q 'socket(' "$d/strace-tool.txt"; then
	not_ok "strace: no AF_INET/AF_INET6 socket in the lwIP build" "strace recorded no socket() at all: not tracing?"
else
	ok "strace: no AF_INET/AF_INET6 socket in zegel run nor zegel resolve ($(grep -oE 'socket\(AF_[A-Z0-9]+' "$d/strace.txt" "$d/strace-tool.txt" | sed 's/.*://' | sort -u | sed 's/socket(//' | tr '\n' ' '))"
fi
# ---------------------------------------------------------------- packet driver
# zegel owns a veth through a packet socket (hal/lwip/packetif.c): its own
# MAC in the interface's unicast filter, its own address
nsx ip link add zv0 type veth peer name zv1
nsx ip addr add 10.80.0.1/24 dev zv0
nsx ip link set zv0 up
nsx ip link set zv1 up
sed -e '/^set lwip/d' -e '/^set listener v6/d' "$d/zegel.conf" >"$d/zegel3.conf"
printf 'set lwip driver packet\nset lwip interface zv1\nset lwip address 10.80.0.2/24\n' >>"$d/zegel3.conf"
ip netns exec "$ns" "$LZEGEL" run --config "$d/zegel3.conf" --no-console >"$d/zegel3.log" 2>&1 </dev/null &
z2=$!
up=false
for _ in $(seq 1 100); do
	if nsx timeout 2 bash -c 'exec 3<>/dev/tcp/10.80.0.2/587' 2>/dev/null; then up=true; break; fi
	sleep 0.1
done
if $up && nsx timeout 30 swaks --silent 1 --server 10.80.0.2 --port 587 --tls --auth PLAIN \
	--auth-user alice --auth-password secret --from alice@example.test --to bob@remote.example \
	--h-Subject "over the packet driver" >/dev/null 2>&1 && [ "$(count)" -eq 4 ]; then
	mac=$(nsx ip neigh show 10.80.0.2 | grep -o 'lladdr [0-9a-f:]*')
	ok "packet driver: STARTTLS + AUTH to lwIP's address on a veth, message in the outbox ($mac)"
else
	not_ok "packet driver: submission over a veth" "$(tail -5 "$d/zegel3.log")"
fi
stop_zegel2

# ---------------------------------------------------------------- smarthost over lwIP
if ! command -v postfix >/dev/null; then
	skip "smarthost over lwIP" "postfix not installed"
	finish
	exit
fi
chmod 755 "$d"
"$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki" >/dev/null 2>&1
(cd "$d/pki" && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout up.key \
	-out up.csr -subj /CN=upstream.test &&
	printf 'subjectAltName=IP:10.77.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >up.ext &&
	openssl x509 -req -in up.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out up.crt -days 30 \
		-extfile up.ext) >/dev/null 2>&1
postfix_setup "$d/pf" 25 "$d/pki/up.crt" "$d/pki/up.key"
postconf -c "$d/pf/etc" -e "inet_interfaces = 10.77.0.1" "mynetworks = 127.0.0.0/8, 10.77.0.0/24"
sed -i 's/^127\.0\.0\.1:25 /10.77.0.1:25 /' "$d/pf/etc/master.cf"
nsx postfix -c "$d/pf/etc" start >"$d/pf/start.log" 2>&1
pf_up=false
for _ in $(seq 1 100); do
	if nsx bash -c 'exec 3<>/dev/tcp/10.77.0.1/25' 2>/dev/null; then pf_up=true; break; fi
	sleep 0.1
done
$pf_up || { not_ok "Postfix on 10.77.0.1:25" "$(cat "$d/pf/start.log" "$d/pf/maillog" 2>/dev/null | tail)"; finish; exit 1; }
start_zegel2() { # CA file
	sed -e '/^set relay outbox/d' -e '/^set listener v6/d' "$d/zegel.conf" >"$d/zegel2.conf"
	printf 'set relay smarthost 10.77.0.1:25\nset relay ca-file %s\n' "$1" >>"$d/zegel2.conf"
	# not through nsx: $! must be zegel itself (ip netns exec execs it)
	ip netns exec "$ns" "$LZEGEL" run --config "$d/zegel2.conf" --no-console >"$d/zegel2.log" 2>&1 </dev/null &
	z2=$!
	for _ in $(seq 1 100); do
		nsx bash -c 'exec 3<>/dev/tcp/10.77.0.2/587' 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
mails() { find "$d/pf/mail/sink/new" -type f 2>/dev/null | wc -l; }
sw2() { nsx timeout 30 swaks --server 10.77.0.2 --port 587 --tls --auth PLAIN --auth-user alice \
	--auth-password secret --from alice@example.test --h-From alice@example.test "$@"; }
if start_zegel2 "$d/pki/ca.crt"; then
	out=$(sw2 --to alice@example.net --h-Subject "smarthost over lwIP" 2>&1)
	if printf '%s\n' "$out" | grep -qE '^<~ +250 2\.0\.0 relayed via 10\.77\.0\.1\[10\.77\.0\.1\]:25: 250 ' &&
		postfix_wait_mail "$d/pf" 1 15; then
		ok "smarthost over lwIP: relayed to Postfix (250 after Postfix's 250), in its maildir"
	else
		not_ok "smarthost over lwIP: relayed to Postfix" "$(printf '%s\n' "$out" | tail -5; tail -5 "$d/zegel2.log")"
	fi
	grep -qE 'to=<alice@example\.net>, relay=10\.77\.0\.1\[10\.77\.0\.1\]:25, tls=TLSv1\.[23] verified=pkix, status=sent' "$d/zegel2.log" &&
		ok "the relay's TLS over lwIP verified the certificate (pkix)" ||
		not_ok "relay TLS verified=pkix" "$(grep 'to=<' "$d/zegel2.log" | tail -2)"
	out=$(sw2 --to carol@example.net,nobody@example.net --h-Subject "one bad recipient" 2>&1)
	if printf '%s\n' "$out" | grep -A1 -E '^ *[-~]> RCPT TO:<nobody@example\.net>' | grep -qE '<~\*? *550 5\.1\.1' &&
		postfix_wait_mail "$d/pf" 2 15; then
		ok "one of two recipients refused upstream: 550 5.1.1 at RCPT, the other delivered"
	else
		not_ok "550 for one recipient, the other delivered" "$(printf '%s\n' "$out" | grep -E 'RCPT|<~' | tail -8)"
	fi
else
	not_ok "zegel run (lwIP, smarthost mode) starts" "$(tail -10 "$d/zegel2.log")"
fi
stop_zegel2
before=$(mails)
if start_zegel2 "$d/pki/rogue.crt"; then
	out=$(sw2 --to alice@example.net 2>&1)
	printf '%s\n' "$out" | grep -qE '<~\*? *451 4\.7\.5 .*certificate not trusted' &&
		ok "another CA trusted: the relay over lwIP fails closed (451 4.7.5 certificate not trusted)" ||
		not_ok "untrusted certificate: 451 4.7.5" "$(printf '%s\n' "$out" | grep '<~' | tail -4)"
	sleep 0.5
	[ "$(mails)" -eq "$before" ] && ok "nothing reached Postfix with the untrusted certificate" ||
		not_ok "nothing reached Postfix with the untrusted certificate" "$(mails) mails, $before before"
else
	not_ok "zegel run (lwIP, untrusted CA) starts" "$(tail -10 "$d/zegel2.log")"
fi
stop_zegel2

# ---------------------------------------------------------------- dane-check over lwIP
# The DANE world in this suite's own namespace, on 10.42.0.x instead of
# 127.0.42.x (lwIP keeps all of 127/8 for its own loopback interface): a
# local route makes the whole /24 the kernel's own on lo (as 127/8 is).
# zegel's lwIP owns zdtap0 (10.79.0.2, gateway 10.79.0.1: the kernel side);
# Unbound answers that network too.
why=$(dane_env_need)
[ -z "$why" ] && [ -z "${DANE_NETNS:-}" ] && why="no network namespace of its own (unshare -n)"
if [ -n "$why" ]; then
	skip "dane-check over lwIP" "$why"
	finish
	exit
fi
export DANE_NET=10.42.0 # build-world.sh too
DANE_RESOLVER=$DANE_NET.2:$((DANE_DNS_PORT + 1))
DANE_STS_WEB=$DANE_NET.60
ip route add local $DANE_NET.0/24 dev lo
t0=$(date +%s%N)
if ! dane_env_setup "$d/w" ||
	! printf 'server:\n\taccess-control: %s.0/24 allow\n\taccess-control: 10.79.0.0/24 allow\n' \
		"$DANE_NET" >>"$d/w/dns/unbound.conf" ||
	! dane_env_start; then
	not_ok "DANE world (NSD, Unbound, Postfix) on $DANE_NET.x for dane-check over lwIP" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ip tuntap add dev zdtap0 mode tap
ip addr add 10.79.0.1/24 dev zdtap0
ip link set zdtap0 up
printf 'set lwip interface zdtap0\nset lwip address 10.79.0.2/24\nset lwip gateway 10.79.0.1\n' >"$d/dane.conf"
ok "DANE world on $DANE_NET.x and zdtap0 for lwIP up in $((($(date +%s%N) - t0) / 1000000)) ms"
n=0
dcl() { # DOMAIN: zegel dane-check over lwIP, strace'd; DC_OUT, DC_RC
	n=$((n + 1))
	DC_OUT=$(timeout 60 strace -f -qq -e trace=network -o "$d/strace-dane$n.txt" \
		"$LZEGEL" dane-check --config "$d/dane.conf" --resolver "$DANE_RESOLVER" \
		--anchor "$DANE_ANCHOR" --mx-port "$DANE_PORT" "$1" 2>&1)
	DC_RC=$?
}
T=_$DANE_PORT._tcp
# the kernel of this namespace counts what reached Unbound and Postfix
snmp() { awk -v k="$1" -v f="$2" '$1 == k { if (h) print $f; h = 1 }' /proc/net/snmp; }
u0=$(snmp Udp: 2)
dcl ee.dane
u1=$(snmp Udp: 2)
if [ "$DC_RC" = 0 ] && [ "$u1" -gt "$u0" ] && printf '%s\n' "$DC_OUT" | tail -1 | grep -qx 'status: verified mx.ee.dane' &&
	printf '%s\n' "$DC_OUT" | grep -q "^tlsa: $T\.mx\.ee\.dane secure" &&
	printf '%s\n' "$DC_OUT" | grep -qE "^tls: mx\.ee\.dane\[10\.42\.0\.11\]:$DANE_PORT TLSv1\.[23] " &&
	printf '%s\n' "$DC_OUT" | grep -qi "^match: 3 1 1 $(dane_spki_sha256 "$d/w/pki/ee.crt") depth 0"; then
	ok "dane-check ee.dane over lwIP: secure MX and TLSA ($((u1 - u0)) UDP queries), STARTTLS, DANE-EE 3 1 1 matched: verified"
else
	not_ok "dane-check ee.dane over lwIP: verified (exit $DC_RC)" "UDP datagrams $u0 -> $u1; $(printf '%s\n' "$DC_OUT" | tail -12)"
fi
dcl ta.dane
if [ "$DC_RC" = 0 ] && printf '%s\n' "$DC_OUT" | tail -1 | grep -qx 'status: verified mx.ta.dane'; then
	ok "dane-check ta.dane over lwIP: DANE-TA 2 0 1 (RSA leaf, intermediate sent): verified"
else
	not_ok "dane-check ta.dane over lwIP: verified (exit $DC_RC)" "$(printf '%s\n' "$DC_OUT" | tail -12)"
fi
dcl mitm.dane
if [ "$DC_RC" = 1 ] && printf '%s\n' "$DC_OUT" | tail -1 | grep -q '^status: deferred (' &&
	printf '%s\n' "$DC_OUT" | grep -q '^cert: .*issuer=.*attacker CA' &&
	printf '%s\n' "$DC_OUT" | grep -q '^match: none'; then
	ok "dane-check mitm.dane over lwIP: the attacker CA's certificate matched no TLSA: deferred, exit 1"
else
	not_ok "dane-check mitm.dane over lwIP: deferred (exit $DC_RC)" "$(printf '%s\n' "$DC_OUT" | tail -12)"
fi
# DNS over TCP over lwIP, validated against the signed tree: the kernel of
# this namespace counts the TCP connection Unbound accepted (PassiveOpens)
p0=$(snmp Tcp: 7)
n=$((n + 1))
res=$(timeout 30 strace -f -qq -e trace=network -o "$d/strace-dane$n.txt" "$LZEGEL" resolve \
	--config "$d/dane.conf" --resolver "$DANE_RESOLVER" --anchor "$DANE_ANCHOR" --tcp \
	TLSA "$T.mx.ee.dane" 2>&1)
p1=$(snmp Tcp: 7)
if printf '%s\n' "$res" | grep -q '^status: secure' && [ "$p1" -gt "$p0" ]; then
	ok "zegel resolve --tcp over lwIP: TLSA $T.mx.ee.dane secure ($((p1 - p0)) TCP connections to Unbound)"
else
	not_ok "zegel resolve --tcp over lwIP: TLSA secure over TCP" "PassiveOpens $p0 -> $p1; $(printf '%s\n' "$res" | tail -8)"
fi
st=("$d"/strace-dane*.txt)
if grep -qE 'socket\(AF_INET6?,' "${st[@]}"; then
	not_ok "strace: no AF_INET/AF_INET6 socket in dane-check and resolve over lwIP" "$(grep -hE 'socket\(AF_INET' "${st[@]}" | head -5)"
elif [ "${#st[@]}" -ne "$n" ] || ! grep -q 'socket(' "${st[@]}"; then
	not_ok "strace: no AF_INET/AF_INET6 socket in dane-check and resolve over lwIP" "strace recorded no socket() at all: not tracing?"
else
	ok "strace: no AF_INET/AF_INET6 socket in $n dane-check/resolve runs over lwIP"
fi
finish
