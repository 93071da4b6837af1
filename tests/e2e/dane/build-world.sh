#!/usr/bin/env bash
# The static half of the DANE test world (tests/e2e/lib/dane_env.sh
# describes it): build-world.sh DIR writes
#   DIR/pki/        test PKI (openssl): root CA, intermediate, leaves, attacker
#   DIR/dns/        keys, signed zones, nsd.conf, unbound.conf (iterator only)
#   DIR/anchor.zone the private root's DS (zegel --anchor, set resolver-anchors)
#   DIR/anchor.delv the same for delv -a
# A separate script (not a function) so that `set -e` really stops at the
# first failing step whatever context the caller runs in.
set -eu
DIR=$1
TOP=${TOP:-$(cd "$(dirname "$0")/../../.." && pwd)}
PY=/usr/bin/python3
. "$TOP/tests/e2e/lib/dane_env.sh"
N=$DANE_NET
T=_$DANE_PORT._tcp
P=$DIR/pki
mkdir -p "$P"

# ---------------------------------------------------------------- PKI
ossl() { openssl "$@" 2>/dev/null; }
newkey() { # name [rsa]
	if [ "${2:-}" = rsa ]; then
		ossl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$P/$1.key"
	else
		ossl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$P/$1.key"
	fi
}
ca() { # name subject [issuer]
	newkey "$1"
	ossl req -new -key "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$2"
	printf 'basicConstraints=critical,CA:TRUE%s\nkeyUsage=critical,keyCertSign,cRLSign\n' \
		"${3:+,pathlen:0}" >"$P/$1.ext"
	if [ -n "${3:-}" ]; then
		ossl x509 -req -in "$P/$1.csr" -CA "$P/$3.crt" -CAkey "$P/$3.key" -CAcreateserial \
			-days 30 -extfile "$P/$1.ext" -out "$P/$1.crt"
	else
		ossl x509 -req -in "$P/$1.csr" -signkey "$P/$1.key" -days 30 -extfile "$P/$1.ext" \
			-out "$P/$1.crt"
	fi
}
leaf() { # name issuer NAME[,NAME...] [rsa]: SAN = the names; chain = leaf + issuer
	newkey "$1" "${4:-}"
	ossl req -new -key "$P/$1.key" -out "$P/$1.csr" -subj "/CN=${3%%,*}"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$(sed 's/\([^,]*\)/DNS:\1/g' <<<"$3")" >"$P/$1.ext"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" -CAcreateserial -days 30 \
		-extfile "$P/$1.ext" -out "$P/$1.crt"
	cat "$P/$1.crt" "$P/$2.crt" >"$P/$1.chain"
}
ca root "zegel DANE test root CA"
ca int "zegel DANE test intermediate CA" root
ca attackerca "attacker CA"
for h in ee ee512 rollover pkix servfail bogustlsa bogusmx strip mitm notlsa mismatch tanochain ta211 tafull; do
	leaf $h int mx.$h.dane
done
leaf ta int mx.ta.dane rsa
leaf cname int host.cname.dane
leaf twomx1 int mx1.twomx.dane
leaf twomx2 int mx2.twomx.dane
leaf plain int mx.plain.dane
leaf badname int other.invalid
# MTA-STS (tests/e2e/mta_sts.sh): PKIX-valid MX leaves and the policy
# server's certificate for every mta-sts.CASE.dane
for h in $DANE_STS_CASES; do
	leaf $h int mx.$h.dane
done
leaf stsweb int "$(for h in $DANE_STS_CASES; do printf 'mta-sts.%s.dane,' $h; done | sed 's/,$//')"
leaf attacker attackerca mx.mitm.dane,mx1.twomx.dane,mx.strip.dane,mx.insec.dane
newkey stale
# expired (2019-2020), wrong name: `openssl ca` sets dates in the past
mkdir -p "$P/db"
: >"$P/db/index.txt"
echo 1000 >"$P/db/serial"
cat >"$P/db/ca.cnf" <<CNF
[ca]
default_ca = t
[t]
database = $P/db/index.txt
serial = $P/db/serial
new_certs_dir = $P/db
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
[ext]
subjectAltName = DNS:wrong.invalid
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
newkey expired
ossl req -new -key "$P/expired.key" -out "$P/expired.csr" -subj "/CN=wrong.invalid"
ossl ca -batch -config "$P/db/ca.cnf" -cert "$P/int.crt" -keyfile "$P/int.key" -in "$P/expired.csr" \
	-out "$P/expired.crt" -startdate 20190101000000Z -enddate 20200101000000Z -extensions ext -notext
cat "$P/expired.crt" "$P/int.crt" >"$P/expired.chain"
for f in "$P"/*.chain; do
	openssl x509 -in "$f" -noout
done

# ---------------------------------------------------------------- DNS tree
W=$DIR/dns
NOW=$(date +%s)
INC=$((NOW - 3600))
EXP=$((NOW + 30 * 86400))
DZ_NS=ns.dane.
. "$TOP/tests/e2e/lib/dnssec_zone.sh"
mkdir -p "$W/keys" "$W/zones"
cd "$W/keys"
declare -A K
zone() { # name [ldns-signzone args]: records on stdin, relative to the zone
	local name=$1
	shift
	K[$name]=$(key "$name" ECDSAP256SHA256)
	{ header "$name"; cat; } >"$W/zones/$name.zone"
	sign "$name" "$@" -- "${K[$name]}"
}
spki() { dane_spki_sha256 "$P/$1"; }
full() { dane_cert_sha256 "$P/$1"; }

zone ee.dane. <<EOF
@ MX 10 mx
mx A $N.11
$T.mx TLSA 3 1 1 $(spki ee.crt)
EOF
zone ta.dane. <<EOF
@ MX 10 mx
mx A $N.12
$T.mx TLSA 2 0 1 $(full int.crt)
EOF
zone ee512.dane. <<EOF
@ MX 10 mx
mx A $N.29
$T.mx TLSA 3 1 2 $(dane_spki_sha512 "$P/ee512.crt")
EOF
# the MX host name is an alias; the TLSA record is at the target only
zone cname.dane. <<EOF
@ MX 10 mx
mx CNAME host
host A $N.30
$T.host TLSA 3 1 1 $(spki cname.crt)
EOF
zone ta211.dane. <<EOF
@ MX 10 mx
mx A $N.32
$T.mx TLSA 2 1 1 $(spki int.crt)
EOF
# the full key needs no certificate from the server: it sends the leaf alone
zone tafull.dane. <<EOF
@ MX 10 mx
mx A $N.33
$T.mx TLSA 2 1 0 $(dane_spki_hex "$P/int.crt")
EOF
# the listener sends the leaf alone: the trust anchor is not in the chain
zone tanochain.dane. <<EOF
@ MX 10 mx
mx A $N.28
$T.mx TLSA 2 0 1 $(full int.crt)
EOF
zone mismatch.dane. <<EOF
@ MX 10 mx
mx A $N.13
$T.mx TLSA 3 1 1 $(spki stale.key)
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:$DANE_TLSRPT_RUA"
EOF
zone rollover.dane. <<EOF
@ MX 10 mx
mx A $N.14
$T.mx TLSA 3 1 1 $(spki stale.key)
$T.mx TLSA 3 1 1 $(spki rollover.crt)
EOF
zone pkix.dane. <<EOF
@ MX 10 mx
mx A $N.15
$T.mx TLSA 1 1 1 $(spki pkix.crt)
EOF
# The TLSA owner is a signed delegation (DS here) to a zone that NSD is
# configured for but has no file for: NSD answers SERVFAIL for it, and so
# does Unbound.
lame=$(key "$T.mx.servfail.dane." ECDSAP256SHA256)
zone servfail.dane. <<EOF
@ MX 10 mx
mx A $N.16
$T.mx NS ns.dane.
$(ds "$lame" 2)
EOF
zone bogustlsa.dane. <<EOF
@ MX 10 mx
mx A $N.17
$T.mx TLSA 3 1 1 $(spki bogustlsa.crt)
EOF
corrupt_rrsig bogustlsa.dane. "$T.mx.bogustlsa.dane." TLSA
# the apex A would lead to a willing receiver if a client fell back to it
zone bogusmx.dane. <<EOF
@ MX 10 mx
@ A $N.18
mx A $N.18
$T.mx TLSA 3 1 1 $(spki bogusmx.crt)
EOF
corrupt_rrsig bogusmx.dane. bogusmx.dane. MX
zone strip.dane. <<EOF
@ MX 10 mx
mx A $N.21
$T.mx TLSA 3 1 1 $(spki strip.crt)
EOF
zone mitm.dane. <<EOF
@ MX 10 mx
mx A $N.22
$T.mx TLSA 3 1 1 $(spki mitm.crt)
$T.mx TLSA 2 0 1 $(full int.crt)
EOF
zone twomx.dane. <<EOF
@ MX 10 mx1
@ MX 20 mx2
mx1 A $N.23
mx2 A $N.24
$T.mx1 TLSA 3 1 1 $(spki twomx1.crt)
$T.mx2 TLSA 3 1 1 $(spki twomx2.crt)
EOF
zone eeexp.dane. <<EOF
@ MX 10 mx
mx A $N.25
$T.mx TLSA 3 0 1 $(full expired.crt)
EOF
zone tabad.dane. <<EOF
@ MX 10 mx
mx A $N.26
$T.mx TLSA 2 0 1 $(full int.crt)
EOF
zone notlsa.dane. -n -a 1 -t 0 <<EOF
@ MX 10 mx
mx A $N.27
EOF
# unsigned children of dane. (NSEC there proves that they have no DS); the
# TLSA record in insec.dane. matches nothing and must be ignored
{ header insec.dane.; printf '@ MX 10 mx\nmx A %s.19\n%s.mx TLSA 3 1 1 %s\n' \
	$N $T "$(spki stale.key)"; } >"$W/zones/insec.dane..signed"
{ header plain.dane.; printf '@ MX 10 mx\nmx A %s.20\n' $N; } >"$W/zones/plain.dane..signed"

# MTA-STS cases: signed, no TLSA except stsdane (DANE wins, RFC 8461 2);
# the policies themselves are the suite's (DIR/sts/www/mta-sts.CASE.dane)
i=0
for h in $DANE_STS_CASES; do
	# (a redirection, not a pipe: zone() records the key in K)
	zone $h.dane. < <(
		echo "@ MX 10 mx"
		echo "mx A $N.$((40 + i))"
		echo "_mta-sts TXT \"v=STSv1; id=1\""
		echo "mta-sts A $DANE_STS_WEB"
		echo "_smtp._tls TXT \"v=TLSRPTv1; rua=mailto:$DANE_TLSRPT_RUA\""
		[ $h != stsdane ] || echo "$T.mx TLSA 3 1 1 $(spki stsdane.crt)"
	)
	i=$((i + 1))
done

K[dane.]=$(key dane. ECDSAP256SHA256)
{
	header dane.
	echo "ns A $N.1"
	for c in ee ee512 cname ta ta211 tafull mismatch rollover pkix servfail bogustlsa bogusmx strip mitm twomx eeexp tabad tanochain notlsa; do
		echo "$c NS ns.dane."
		ds "${K[$c.dane.]}" 2
	done
	for c in $DANE_STS_CASES; do
		echo "$c NS ns.dane."
		ds "${K[$c.dane.]}" 2
	done
	echo "insec NS ns.dane."
	echo "plain NS ns.dane."
} >"$W/zones/dane..zone"
sign dane. -- "${K[dane.]}"

RKSK=$(key . RSASHA256)
RZSK=$(zsk . RSASHA256)
{
	header .
	echo "ns.dane. IN A $N.1"
	echo "dane. IN NS ns.dane."
	ds "${K[dane.]}" 2
} >"$W/zones/..zone"
sign . -- "$RKSK" "$RZSK"
ds "$RKSK" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' >"$DIR/anchor.zone"
awk '{printf "trust-anchors {\n\t\".\" static-ds %s %s %s \"%s\";\n};\n", $4, $5, $6, $7}' \
	"$DIR/anchor.zone" >"$DIR/anchor.delv"

ZONES=". dane. ee.dane. ee512.dane. cname.dane. ta211.dane. tafull.dane. tanochain.dane. ta.dane. mismatch.dane. rollover.dane. pkix.dane. servfail.dane.
$T.mx.servfail.dane. bogustlsa.dane. bogusmx.dane. strip.dane. mitm.dane. twomx.dane.
eeexp.dane. tabad.dane. notlsa.dane. insec.dane. plain.dane.
$(for c in $DANE_STS_CASES; do printf '%s.dane. ' $c; done)"
nsd_conf $N.1 $DANE_DNS_PORT >"$W/nsd.conf"
unbound_conf $N.2 $((DANE_DNS_PORT + 1)) "iterator" "" $N.1 $DANE_DNS_PORT >"$W/unbound.conf"
# a validating Unbound for the reference client (tests/e2e/dane/oracle.sh):
# port 53 because the C library's resolver knows no other; it only ever
# runs inside the oracle's own network namespace
unbound_conf $N.3 53 "validator iterator" "	trust-anchor-file: \"$DIR/anchor.zone\"" \
	$N.1 $DANE_DNS_PORT >"$W/unbound-val.conf"
