#!/usr/bin/env bash
# The DNS world of tests/e2e/check_domain.sh: a private signed root, the
# signed TLD chk. and one child zone per case (each with the records of a
# good domain plus the one twist the case is about), DKIM keys made by
# zegel keygen, one config per case, an MX certificate.
#   build-world.sh DIR ZEGEL   (DIR/dns, DIR/keys, DIR/conf/CASE.conf, DIR/pki, DIR/anchor.zone)
set -eu
DIR=$1
ZEGEL=$2
TOP=${TOP:-$(cd "$(dirname "$0")/../../.." && pwd)}
N=127.0.47
PORT=47025
SMARTHOST=198.51.100.25
T=_$PORT._tcp
W=$DIR/dns
P=$DIR/pki
mkdir -p "$W/keys" "$W/zones" "$P" "$DIR/keys" "$DIR/conf"

# ---------------------------------------------------------------- MX certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=mx.good.chk -addext subjectAltName=DNS:mx.good.chk \
	-keyout "$P/mx.key" -out "$P/mx.crt" 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$P/stale.key" 2>/dev/null
spki() { openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -c1-64; }
MXSPKI=$(spki "$P/mx.key")
STALE=$(spki "$P/stale.key")

# ---------------------------------------------------------------- DKIM keys
"$ZEGEL" keygen -t rsa -b 2048 -d x.chk -s rsa -o "$DIR/keys" >/dev/null
"$ZEGEL" keygen -t ed25519 -d x.chk -s ed -o "$DIR/keys" >/dev/null
"$ZEGEL" keygen -t rsa -b 2048 -d x.chk -s old -o "$DIR/keys" >/dev/null
pval() { "$ZEGEL" dnsrecord -d x.chk -s s -k "$DIR/keys/$1.key" | tr -d '\n\t' |
	sed 's/" *"//g; s/.*p=\([A-Za-z0-9+\/=]*\).*/\1/'; }
PRSA=$(pval rsa)
PED=$(pval ed)
POLD=$(pval old)
# dkim_txt OWNER K FLAGS P: a TXT record in strings of at most 200 bytes
dkim_txt() {
	printf '%s TXT "v=DKIM1; k=%s; %s"' "$1" "$2" "$3"
	fold -w 200 <<<"p=$4" | while read -r s; do printf ' "%s"' "$s"; done
	echo
}

# ---------------------------------------------------------------- zones
NOW=$(date +%s)
INC=$((NOW - 3600))
EXP=$((NOW + 30 * 86400))
DZ_NS=ns.chk.
. "$TOP/tests/e2e/lib/dnssec_zone.sh"
cd "$W/keys"
declare -A K

# base CASE TWIST...: the records of a good domain; a twist drops or
# replaces one of them (nodkim, oldkey, trunc, testing, spfno, spf11,
# redirect, nodmarc, dmarcnone, inherit, tlsabad, stspol)
base() {
	local c=$1 tw=" ${*:2} "
	echo "@ MX 10 mx.good.chk."
	[[ $tw == *" nodkim "* ]] || {
		if [[ $tw == *" oldkey "* ]]; then dkim_txt "${c}rsa._domainkey" rsa "" "$POLD"
		elif [[ $tw == *" trunc "* ]]; then dkim_txt "${c}rsa._domainkey" rsa "" "${PRSA:0:200}"
		elif [[ $tw == *" testing "* ]]; then dkim_txt "${c}rsa._domainkey" rsa "t=y; " "$PRSA"
		else dkim_txt "${c}rsa._domainkey" rsa "" "$PRSA"; fi
	}
	dkim_txt "${c}ed._domainkey" ed25519 "" "$PED"
	if [[ $tw == *" spfno "* ]]; then echo '@ TXT "v=spf1 ip4:203.0.113.9 -all"'
	elif [[ $tw == *" spf11 "* ]]; then
		printf '@ TXT "v=spf1'; for i in $(seq 1 11); do printf ' a:h%s.spf11.chk' "$i"; done; echo ' -all"'
		for i in $(seq 1 11); do echo "h$i A 203.0.113.$i"; done
	elif [[ $tw == *" redirect "* ]]; then
		echo '@ TXT "v=spf1 redirect=_spf1.redirect.chk"'
		echo '_spf1 TXT "v=spf1 redirect=_spf2.redirect.chk"'
		echo "_spf2 TXT \"v=spf1 ip4:$SMARTHOST -all\""
	else echo "@ TXT \"v=spf1 ip4:$SMARTHOST -all\""; fi
	if [[ $tw == *" dmarcnone "* ]]; then echo "_dmarc TXT \"v=DMARC1; p=none; rua=mailto:d@$c.chk\""
	elif [[ $tw != *" nodmarc "* ]]; then
		echo "_dmarc TXT \"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@$c.chk\""; fi
	# a subdomain with no DMARC record of its own (inherits sp=)
	echo "sub MX 10 mx.good.chk."
	echo "sub TXT \"v=spf1 ip4:$SMARTHOST -all\""
	echo "_mta-sts TXT \"v=STSv1; id=20261205\""
	[[ $tw == *" stsnopol "* ]] || echo "mta-sts A $N.11"
	echo "_smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$c.chk\""
	if [[ $c == good ]]; then
		echo "mx A $N.11"
		echo "$T.mx TLSA 3 1 1 $MXSPKI"
	fi
	if [[ $tw == *" tlsabad "* ]]; then
		echo "@ MX 5 mx"
		echo "mx A $N.11"
		echo "$T.mx TLSA 3 1 1 $STALE"
	fi
}
zone() { # CASE TWIST...
	local name=$1.chk.
	K[$name]=$(key "$name" ECDSAP256SHA256)
	{ header "$name"; base "$@"; } >"$W/zones/$name.zone"
	sign "$name" -n -a 1 -t 0 -- "${K[$name]}"
}
CASES="good nodkim oldkey trunc testing spfno spf11 redirect nodmarc dmarcnone tlsabad stsnopol bogus"
for c in $CASES; do zone "$c" "$c"; done
corrupt_rrsig bogus.chk. bogus.chk. DNSKEY
# unsigned: delegated without DS
{ header unsigned.chk.; base unsigned; } >"$W/zones/unsigned.chk..signed"

K[chk.]=$(key chk. ECDSAP256SHA256)
{
	header chk.
	echo "ns A $N.1"
	for c in $CASES; do echo "$c NS ns.chk."; ds "${K[$c.chk.]}" 2; done
	echo "unsigned NS ns.chk."
} >"$W/zones/chk..zone"
sign chk. -- "${K[chk.]}"
RKSK=$(key . ECDSAP256SHA256)
{ header .; echo "ns.chk. IN A $N.1"; echo "chk. IN NS ns.chk."; ds "${K[chk.]}" 2; } >"$W/zones/..zone"
sign . -- "$RKSK"
ds "$RKSK" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' >"$DIR/anchor.zone"

ZONES=". chk. unsigned.chk."
for c in $CASES; do ZONES="$ZONES $c.chk."; done
nsd_conf $N.1 47053 >"$W/nsd.conf"
unbound_conf $N.2 47054 "iterator" "" $N.1 47053 >"$W/unbound.conf"

# ---------------------------------------------------------------- configs
for c in $CASES unsigned sub; do
	d=$c.chk
	[ $c = sub ] && d=sub.good.chk
	{
		echo "set data-dir $DIR/var-$c"
		echo "set domain $d"
		[ $c = sub ] || echo "set key ${c}rsa domain $d file $DIR/keys/rsa.key"
		[ $c = sub ] || echo "set key ${c}ed domain $d file $DIR/keys/ed.key"
		echo "set relay smarthost $SMARTHOST"
		echo "set resolver $N.2:47054"
		echo "set resolver-anchors $DIR/anchor.zone"
		echo "set relay mx-port $PORT"
	} >"$DIR/conf/$c.conf"
done
