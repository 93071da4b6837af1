#!/usr/bin/env bash
# zegel resolve against a private signed DNS tree, with BIND's delv as the
# reference validator. The tree (tests/e2e/dns/build-tree.sh) is built at
# test time with ldns; NSD serves it on 127.53.0.1:23053, Unbound recurses
# (iterator only) on 127.53.0.2:23054, a validating Unbound on
# 127.53.0.3:23055, broken forwarders (tests/e2e/dns/proxy.py) on
# 127.53.0.4:23056-23059. Every case runs through zegel and through delv;
# where delv's verdict differs on purpose the case says why.
. "$TOP/tests/lib.sh"

for t in ldns-keygen ldns-signzone ldns-key2ds nsd unbound delv dig; do
	if ! command -v $t >/dev/null; then
		skip "dns tree" "$t not installed (scripts/bootstrap.sh)"
		finish
		exit
	fi
done
if ! $PY -c 'import dns.message' 2>/dev/null; then
	skip "dns tree" "python3-dnspython missing"
	finish
	exit
fi

W=$(tmpdir)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$W"/nsd.pid "$W"/unbound-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 0.2
	rm -rf "$W"
}
trap cleanup EXIT

if ! out=$(bash "$TOP/tests/e2e/dns/build-tree.sh" "$W" 2>&1); then
	not_ok "build the signed tree" "$out"
	finish
	exit
fi
ok "built a signed tree (algorithms 8, 10, 13, 14, 15, 16; NSEC, NSEC3, opt-out)"

nsd -c "$W/nsd.conf" -P "$W/nsd.pid" >/dev/null 2>&1
unbound -c "$W/unbound.conf" >/dev/null 2>&1
unbound -c "$W/unbound-val.conf" >/dev/null 2>&1
for m in "strip-rrsig 23056 127.53.0.2 23054" "strip-auth 23057 127.53.0.2 23054" \
	"drop-cd 23058 127.53.0.3 23055" "truncate 23059 127.53.0.2 23054"; do
	set -- $m
	$PY "$TOP/tests/e2e/dns/proxy.py" "$1" 127.53.0.4 "$2" "$3" "$4" 2>/dev/null &
	PIDS+=($!)
done
ready=0
for _ in $(seq 1 50); do
	if dig +short +time=1 +tries=1 @127.53.0.2 -p 23054 www.example.tld A 2>/dev/null | grep -q 192.0.2.1 &&
		dig +short +time=1 +tries=1 @127.53.0.3 -p 23055 www.example.tld A 2>/dev/null | grep -q 192.0.2.1; then
		ready=1
		break
	fi
	sleep 0.2
done
if [ $ready = 0 ]; then
	not_ok "servers up" "$(tail -n 5 "$W"/nsd.log "$W"/unbound-*.log 2>&1)"
	finish
	exit
fi
ok "NSD, two Unbounds and four broken forwarders are up"

# zegel SERVER TYPE NAME -> prints the status word, sets ZOUT and ZRC
zegel() {
	local srv=$1
	shift
	ZOUT=$(timeout 60 "$ZEGEL" resolve --server "$srv" --anchor "$W/anchor.zone" "$@" 2>&1)
	ZRC=$?
	ZSTATUS=$(printf '%s\n' "$ZOUT" | tail -1 | sed -n 's/^status: \([a-z]*\).*/\1/p')
}
# delv SERVER:PORT TYPE NAME -> secure | insecure | bogus
delv_status() {
	local ip=${1%:*} port=${1#*:} out
	out=$(timeout 60 delv @"$ip" -p "$port" -a "$W/anchor.delv" +root=. "$3" "$2" 2>&1)
	case $out in
	*"; fully validated"* | *"; negative response, fully validated"*) echo secure ;;
	*"; unsigned answer"* | *"; negative response, unsigned answer"*) echo insecure ;;
	*) echo bogus ;;
	esac
}

U=127.53.0.2:23054
# case: SERVER TYPE NAME ZEGEL-EXPECTED DELV-EXPECTED WHY-IF-DIFFERENT
run_case() {
	local srv=$1 type=$2 name=$3 want=$4 dwant=$5 why=${6:-}
	zegel "$srv" "$type" "$name"
	local zs=$ZSTATUS
	if [ "$zs" = "$want" ]; then
		ok "zegel $type $name via $srv: $want"
	else
		not_ok "zegel $type $name via $srv: want $want, got ${zs:-nothing}" "$ZOUT"
	fi
	[ "$dwant" = "-" ] && return
	local ds
	ds=$(delv_status "$srv" "$type" "$name")
	if [ "$ds" = "$dwant" ]; then
		if [ "$ds" = "$want" ]; then
			ok "delv agrees on $type $name: $ds"
		else
			ok "delv says $ds on $type $name, zegel $want on purpose: $why"
		fi
	else
		not_ok "delv on $type $name: expected $dwant, got $ds"
	fi
}

# ---------------------------------------------------------------- secure
run_case $U A www.example.tld secure secure
run_case $U AAAA www.example.tld secure secure
run_case $U TLSA _25._tcp.mail.example.tld secure secure
run_case $U MX example.tld secure secure
run_case $U TXT txt.example.tld secure secure
run_case $U A alias.example.tld secure secure            # CNAME inside the zone
run_case $U A ext.example.tld secure secure              # CNAME to an Ed25519 NSEC3 zone
run_case $U A www.dn.example.tld secure secure           # DNAME into ed.tld.
run_case $U A nx.dn.example.tld secure secure            # DNAME, then NSEC3 NXDOMAIN
run_case $U A x.wild.example.tld secure secure           # NSEC wildcard
run_case $U A nx.example.tld secure secure               # NSEC NXDOMAIN
run_case $U A ent.example.tld secure secure              # NSEC empty non-terminal
run_case $U MX www.example.tld secure secure             # NSEC NODATA
run_case $U DS example.tld secure secure
run_case $U DNSKEY . secure secure
run_case $U A www.ed.tld secure secure                   # Ed25519
run_case $U A x.w.ed.tld secure secure                   # NSEC3 (salted) wildcard
run_case $U A nx.ed.tld secure secure                    # NSEC3 NXDOMAIN
run_case $U A www.p384.tld secure secure                 # ECDSA P-384, SHA-384 DS
run_case $U A www.nsec3.tld secure secure
run_case $U A ent.nsec3.tld secure secure                # NSEC3 empty non-terminal
run_case $U A x.wild.nsec3.tld secure secure
run_case $U MX www.nsec3.tld secure secure               # NSEC3 NODATA
run_case $U A nx.tld secure secure                       # NSEC3 opt-out zone NXDOMAIN
ZOUT=$("$ZEGEL" resolve --server $U --anchor "$W/anchor-key.zone" A www.example.tld 2>&1)
check "a DNSKEY trust anchor works as well as a DS" grep -q "^status: secure" <<<"$ZOUT"
ZOUT=$("$ZEGEL" resolve --server $U --anchor "$W/anchor-wrong.zone" A www.example.tld 2>&1)
check "a trust anchor that matches no root key: bogus" grep -q "^status: bogus" <<<"$ZOUT"
ZOUT=$("$ZEGEL" resolve --server $U A www.example.tld 2>&1)
check "the built-in IANA anchors do not validate the private root: bogus" grep -q "^status: bogus" <<<"$ZOUT"
zegel $U --tcp A www.example.tld
check "--tcp gives the same secure answer" test "$ZSTATUS" = secure

# ---------------------------------------------------------------- insecure
run_case $U A www.unsigned.tld insecure insecure         # NSEC3 opt-out delegation
run_case $U A nx.unsigned.tld insecure insecure
run_case $U A www.insec.example.tld insecure insecure    # NSEC: NS without DS
run_case $U A www.ed448.tld insecure secure \
	"Ed448 (algorithm 16) is not implemented in zegel: unsupported algorithm means insecure (RFC 4035 5.2, RFC 8624)"
run_case $U A nx.iter.tld insecure secure \
	"NSEC3 with 150 iterations is above CONFIG_DNS_MAX_NSEC3_ITERATIONS=100 (RFC 9276 3.2); BIND 9.18 allows up to 150"
run_case $U A www.iter.tld secure secure                 # signatures there are still good

# ---------------------------------------------------------------- bogus
run_case $U A www.badsig.tld bogus bogus                 # corrupted signature
run_case $U A www.expired.tld bogus bogus
run_case $U A www.future.tld bogus bogus                 # not yet valid
run_case $U A www.dsmismatch.tld bogus bogus
run_case $U A nx.nonsec.tld bogus bogus                  # NXDOMAIN without NSEC
run_case $U A www.wrongsigner.tld bogus secure \
	"signed by tld. although wrongsigner.tld. is a zone cut: RFC 4035 5.3.1 wants the zone itself as signer; BIND only checks that the signer is an ancestor"
start=$(date +%s%N)
# 13 DNSKEYs share one key tag; zegel stops after CONFIG_DNS_MAX_KEYTAG_COLLISIONS=4
# tries (BIND 9.18.24+ has a similar KeyTrap limit)
run_case $U A www.keytrap.tld bogus bogus
ms=$((($(date +%s%N) - start) / 1000000))
check "KeyTrap zone answered with a budget reason" grep -q "work budget" <<<"$ZOUT"
check "KeyTrap zone bounded in time (${ms} ms for zegel and delv)" test "$ms" -lt 10000
zegel $U --now $(($(date +%s) + 60 * 86400)) A www.example.tld
check "--now after the signatures expire: bogus (expired)" \
	grep -q "^status: bogus (.*expired" <<<"$ZOUT"
zegel $U --now 1000 A www.example.tld
check "--now before the build date: indeterminate (clock)" \
	grep -q "^status: indeterminate (clock" <<<"$ZOUT"
check "indeterminate exits 1" test "$ZRC" = 1

# ---------------------------------------------------------------- broken upstreams
S=127.53.0.4:23056 A=127.53.0.4:23057 C=127.53.0.4:23058 T=127.53.0.4:23059
run_case $S A www.example.tld bogus bogus                # RRSIG-stripping forwarder
run_case $S A www.unsigned.tld bogus bogus               # stripped: insecurity unprovable
run_case $S A nx.example.tld bogus bogus
run_case $A A x.wild.example.tld bogus bogus             # wildcard without next-closer proof
run_case $A A x.w.ed.tld bogus bogus                     # same with NSEC3
run_case $A A nx.ed.tld bogus bogus                      # NXDOMAIN, denial stripped
run_case $A A www.unsigned.tld bogus bogus               # opt-out proof stripped
for n in www.badsig.tld www.expired.tld www.dsmismatch.tld; do
	zegel $C A $n                                    # CD-dropping forwarder, validating upstream
	check "CD dropped, $n: indeterminate, never insecure" test "$ZSTATUS" = indeterminate
done
zegel $C A www.example.tld
check "CD dropped, good data still secure" test "$ZSTATUS" = secure
zegel $T A www.example.tld                               # TC=1 and TCP refused
check "truncated with TCP blocked: indeterminate" test "$ZSTATUS" = indeterminate
check "truncated with TCP blocked: exit 2 (network)" test "$ZRC" = 2
# a black hole (UDP socket that never answers): bounded retries, then exit 2
$PY -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.53.0.4",23062)); time.sleep(60)' &
PIDS+=($!)
sleep 0.3
t0=$(date +%s%N)
zegel 127.53.0.4:23062 A www.example.tld
ms=$((($(date +%s%N) - t0) / 1000000))
check "no answer at all: indeterminate, exit 2" test "$ZSTATUS/$ZRC" = indeterminate/2
check "no answer at all: gives up in bounded time (${ms} ms)" test "$ms" -lt 10000
zegel $U A www.example.tld
check "secure exits 0" test "$ZRC" = 0
zegel $U A www.badsig.tld
check "bogus exits 1" test "$ZRC" = 1
check_not "usage error" "$ZEGEL" resolve --bogus
"$ZEGEL" resolve A >/dev/null 2>&1
check "usage error exits 2" test $? = 2
finish
