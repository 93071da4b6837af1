# shellcheck shell=bash
# The SPF cross-check world of tests/e2e/spf_crosscheck.sh: a private
# DNSSEC-signed tree (root "." and "zs.", ECDSA P-256, ldns tools) served
# by NSD on 127.0.77.1:53 behind a non-validating Unbound on 127.0.77.2:53
# (port 53: the C library's resolver that spfquery uses and pyspf's
# resolv.conf reader know no other port; both only ever run inside the
# suite's own network namespace). zegel validates with the private root's DS
# in $SPFX_DIR/anchor.zone.
#
#   spfx_zone_records     the records of zs. (every case's SPF records); the
#                         PTR records of 192.0.2.10/11 are in the root zone
#   spfx_setup DIR        keys, signed zones, nsd.conf, unbound.conf, resolv.conf
#   spfx_start / spfx_stop
SPFX_NET=127.0.77
SPFX_RESOLVER=$SPFX_NET.2:53
SPFX_DIR=

spfx_zone_records() {
	# ip4 / a / mx / include, each permitting 192.0.2.10 and nothing else
	cat <<'EOF'
ip4pass TXT "v=spf1 ip4:192.0.2.0/24 -all"
a TXT "v=spf1 a -all"
a A 192.0.2.10
acidr TXT "v=spf1 a:h.acidr.zs/24 -all"
h.acidr A 192.0.2.99
mx TXT "v=spf1 mx -all"
mx MX 10 m1.mx
mx MX 20 m2.mx
m1.mx A 203.0.113.5
m2.mx A 192.0.2.10
inc TXT "v=spf1 include:inner.zs ~all"
inner TXT "v=spf1 ip4:192.0.2.10 -all"
ip6 TXT "v=spf1 ip6:2001:db8::/32 -all"
split TXT "v=spf1 ip4:192.0.2.10" " -all"
upper TXT "V=SPF1 IP4:192.0.2.10 -ALL"
soft TXT "v=spf1 ip4:192.0.2.10 ~all"
neut TXT "v=spf1 ip4:192.0.2.10 ?all"
dual TXT "v=spf1 a:h.acidr.zs/24//64 -all"
EOF
	# lookup limit: ten DNS-querying terms are allowed, the eleventh is permerror
	printf 'ten TXT "v=spf1'
	for i in 1 2 3 4 5 6 7 8 9 10; do printf ' a:h%s.lim.zs' $i; done
	printf ' ip4:192.0.2.10 -all"\n'
	printf 'eleven TXT "v=spf1'
	for i in 1 2 3 4 5 6 7 8 9 10 11; do printf ' a:h%s.lim.zs' $i; done
	printf ' ip4:192.0.2.10 -all"\n'
	for i in 1 2 3 4 5 6 7 8 9 10 11; do echo "h$i.lim A 203.0.113.$i"; done
	cat <<'EOF'
incchain TXT "v=spf1 include:ic1.zs include:ic2.zs include:ic3.zs include:ic4.zs include:ic5.zs include:ic6.zs -all"
ic1 TXT "v=spf1 a:h1.lim.zs a:h2.lim.zs -all"
ic2 TXT "v=spf1 a:h3.lim.zs -all"
ic3 TXT "v=spf1 a:h4.lim.zs -all"
ic4 TXT "v=spf1 a:h5.lim.zs -all"
ic5 TXT "v=spf1 ip4:192.0.2.10 -all"
ic6 TXT "v=spf1 -all"
r1 TXT "v=spf1 redirect=r2.zs"
r2 TXT "v=spf1 ip4:198.51.100.0/24 redirect=r3.zs"
r3 TXT "v=spf1 ip4:192.0.2.10 -all"
rnone TXT "v=spf1 redirect=norec.zs"
rall TXT "v=spf1 ?all redirect=r3.zs"
void2 TXT "v=spf1 a:nx1.zs a:nx2.zs ip4:192.0.2.10 -all"
void3 TXT "v=spf1 a:nx1.zs a:nx2.zs a:nx3.zs ip4:192.0.2.10 -all"
voidmx TXT "v=spf1 mx:norec.zs exists:nx1.zs exists:nx2.zs ip4:192.0.2.10 -all"
mac TXT "v=spf1 exists:%{i}._spf.mac.zs -all"
192.0.2.10._spf.mac A 127.0.0.2
macr TXT "v=spf1 exists:%{ir}.%{v}._spf.%{d} -all"
10.2.0.192.in-addr._spf.macr A 127.0.0.2
macl TXT "v=spf1 exists:%{l}.u.%{d2} -all"
alice.u.macl A 127.0.0.2
macd TXT "v=spf1 -exists:%{d1r}.%{o}.x.zs +all"
macd.macd.zs.x A 127.0.0.2
norec A 192.0.2.1
two TXT "v=spf1 -all"
two TXT "v=spf1 +all"
incnone TXT "v=spf1 include:norec.zs -all"
syn TXT "v=spf1 ip4:192.0.2.300 -all"
unkmech TXT "v=spf1 foo:bar.zs -all"
unkmod TXT "v=spf1 ip4:192.0.2.10 foo=bar -all"
tworedir TXT "v=spf1 redirect=r3.zs redirect=r3.zs"
badcidr TXT "v=spf1 ip4:192.0.2.0/33 -all"
zeroxf TXT "v=spf1 exists:%{l0}.zs -all"
notspf TXT "v=spf10 +all"
ptr TXT "v=spf1 ptr -all"
host.ptr A 192.0.2.10
liar.ptr A 192.0.2.99
ptrother TXT "v=spf1 ptr:other.zs -all"
bogus TXT "v=spf1 +all"
exv TXT "v=spf1 exists:%{v}.x.zs -all"
ip6.x A 127.0.0.2
nullmx TXT "v=spf1 mx ip4:192.0.2.10 -all"
nullmx MX 0 .
trail TXT "v=spf1 ip4:192.0.2.10 -all "
rmac TXT "v=spf1 redirect=%{d2}.t.zs"
rmac.zs.t TXT "v=spf1 ip4:192.0.2.10 -all"
cidr0 TXT "v=spf1 ip4:192.0.2.0/024 -all"
a6 TXT "v=spf1 a//48 -all"
a6 AAAA 2001:db8:1::1
empty TXT "v=spf1"
expl TXT "v=spf1 -all exp=explain.zs"
explain TXT "%{i} is not one of %{d}'s senders"
EOF
}

spfx_setup() {
	SPFX_DIR=$1
	local W=$SPFX_DIR/dns RK ZK
	mkdir -p "$W/keys" "$W/zones"
	(
		set -e
		W=$SPFX_DIR/dns
		NOW=$(date +%s)
		INC=$((NOW - 3600))
		EXP=$((NOW + 30 * 86400))
		DZ_NS=ns.zs.
		. "$TOP/tests/e2e/lib/dnssec_zone.sh"
		cd "$W/keys"
		ZK=$(key zs. ECDSAP256SHA256)
		{ header zs.; echo "ns A $SPFX_NET.1"; spfx_zone_records; } >"$W/zones/zs..zone"
		sign zs. -- "$ZK"
		# bogus.zs's TXT RRset gets a broken signature (zegel: bogus -> temperror)
		corrupt_rrsig zs. bogus.zs. TXT
		RK=$(key . ECDSAP256SHA256)
		# the reverse names live in the root zone itself (signed by its key):
		# 192.0.2.10 points at a name that resolves back, 192.0.2.11 at a liar
		{
			header .
			echo "ns.zs. IN A $SPFX_NET.1"
			echo "zs. IN NS ns.zs."
			ds "$ZK" 2
			echo "10.2.0.192.in-addr.arpa. IN PTR host.ptr.zs."
			echo "11.2.0.192.in-addr.arpa. IN PTR liar.ptr.zs."
		} >"$W/zones/..zone"
		sign . -- "$RK"
		ds "$RK" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' >"$SPFX_DIR/anchor.zone"
		ZONES=". zs."
		nsd_conf $SPFX_NET.1 53 >"$W/nsd.conf"
		# Unbound answers TEST-NET-1's reverse zone itself (RFC 6303) unless told not to
		unbound_conf $SPFX_NET.2 53 "iterator" '	local-zone: "2.0.192.in-addr.arpa." nodefault' \
			$SPFX_NET.1 53 >"$W/unbound.conf"
		echo "nameserver $SPFX_NET.2" >"$SPFX_DIR/resolv.conf"
	)
}

spfx_start() {
	local W=$SPFX_DIR/dns i
	nsd -c "$W/nsd.conf" -P "$W/nsd.pid" >"$W/nsd.out" 2>&1
	unbound -c "$W/unbound.conf" >"$W/unbound.out" 2>&1
	for i in $(seq 1 100); do
		dig +short +time=1 +tries=1 @$SPFX_NET.2 a.zs A 2>/dev/null | grep -q '^192\.0\.2\.10$' &&
			return 0
		sleep 0.1
	done
	SPFX_ERR="NSD/Unbound not answering after 10 s: $(tail -n 3 "$W"/nsd.log "$W"/unbound-*.log "$W"/*.out 2>&1)"
	return 1
}

spfx_stop() {
	local f
	[ -n "$SPFX_DIR" ] || return 0
	for f in "$SPFX_DIR"/dns/nsd.pid "$SPFX_DIR"/dns/unbound-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}
