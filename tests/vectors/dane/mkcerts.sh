#!/usr/bin/env bash
# DANE test PKI: mkcerts.sh [DIR]   (default: this script's directory)
# Writes the certificates and keys listed in PROVENANCE and tlsa.txt, the
# TLSA association data computed here with openssl (not with zegel's code),
# one line per record: "NAME USAGE SELECTOR MTYPE HEX".
set -eu
d=${1:-$(dirname "$0")}
mkdir -p "$d"
cd "$d"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ossl() { openssl "$@" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }; }
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"; }
ca_db() { # name
	mkdir -p "$tmp/$1"
	: >"$tmp/$1/index.txt"
	echo "unique_subject = no" >"$tmp/$1/index.txt.attr"
	echo 1000 >"$tmp/$1/serial"
}
sign() { # out csr ca-name start end extsection extfile
	ossl ca -batch -config "$tmp/ca.cnf" -name "$3" -cert "$3.crt" -keyfile "$3.key" \
		-in "$2" -out "$1.crt" -startdate "$4" -enddate "$5" -extensions "$6" \
		-extfile "$7" -notext
	test -s "$1.crt"
}
cat >"$tmp/ca.cnf" <<CNF
[root]
database = $tmp/root/index.txt
serial = $tmp/root/serial
new_certs_dir = $tmp/root
default_md = sha256
policy = p
copy_extensions = none
[inter]
database = $tmp/inter/index.txt
serial = $tmp/inter/serial
new_certs_dir = $tmp/inter
default_md = sha256
policy = p
copy_extensions = none
[rogue]
database = $tmp/rogue/index.txt
serial = $tmp/rogue/serial
new_certs_dir = $tmp/rogue
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
CNF
ca_db root
ca_db inter
ca_db rogue
far_start=20240101000000Z
far_end=21240101000000Z
# root: self-signed, 100 years
ossl req -x509 $(ec) -keyout root.key -out root.crt -days 36500 -subj "/CN=zegel DANE test root" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
# intermediate, by the root
printf '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$tmp/ca.ext"
ossl req $(ec) -keyout inter.key -out "$tmp/inter.csr" -subj "/CN=zegel DANE test intermediate"
sign inter "$tmp/inter.csr" root $far_start $far_end ca "$tmp/ca.ext"
# the intermediate's key re-certified: expired (by the root), and forged (by a
# rogue CA that calls itself the root)
sign inter-expired "$tmp/inter.csr" root 20200101000000Z 20210101000000Z ca "$tmp/ca.ext"
ossl req -x509 $(ec) -keyout "$tmp/rogue.key" -out "$tmp/rogue.crt" -days 36500 \
	-subj "/CN=zegel DANE test root" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"
cp "$tmp/rogue.crt" rogue.crt
cp "$tmp/rogue.key" rogue.key
sign inter-forged "$tmp/inter.csr" rogue $far_start $far_end ca "$tmp/ca.ext"
rm -f rogue.key
leaf() { # name cn san start end
	printf '[l]\nsubjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$3" >"$tmp/$1.ext"
	ossl req $(ec) -keyout "$1.key" -out "$tmp/$1.csr" -subj "/CN=$2"
	sign "$1" "$tmp/$1.csr" inter "$4" "$5" l "$tmp/$1.ext"
}
leaf leaf mx.example.net "DNS:mx.example.net" $far_start $far_end
leaf wild "*.example.net" "DNS:*.example.net" $far_start $far_end
leaf nexthop example.org "DNS:example.org" $far_start $far_end
leaf wrongname other.example.com "DNS:other.example.com" $far_start $far_end
leaf expired mx.example.net "DNS:mx.example.net" 20200101000000Z 20210101000000Z
# a man in the middle: self-signed, the right name, another key
ossl req -x509 $(ec) -keyout mitm.key -out mitm.crt -days 36500 -subj "/CN=mx.example.net" \
	-addext "subjectAltName=DNS:mx.example.net"
# chains as a server sends them (leaf first)
for l in leaf wild nexthop wrongname expired; do
	cat $l.crt inter.crt >$l-chain.crt
	cat $l.crt inter.crt root.crt >$l-full.crt
done
cat mitm.crt inter.crt >mitm-inter.crt
cat leaf.crt inter-expired.crt root.crt >leaf-interexpired.crt
cat leaf.crt inter-forged.crt root.crt >leaf-interforged.crt
# TLSA association data, computed with openssl
spki() { openssl x509 -in "$1.crt" -noout -pubkey | openssl pkey -pubin -outform DER; }
cert() { openssl x509 -in "$1.crt" -outform DER; }
hex() { od -An -v -tx1 | tr -d ' \n'; }
{
	for n in leaf expired mitm inter root; do
		echo "$n 3 1 1 $(spki $n | openssl dgst -sha256 -binary | hex)"
		echo "$n 3 1 2 $(spki $n | openssl dgst -sha512 -binary | hex)"
		echo "$n 3 0 1 $(cert $n | openssl dgst -sha256 -binary | hex)"
		echo "$n 3 0 2 $(cert $n | openssl dgst -sha512 -binary | hex)"
		echo "$n 3 1 0 $(spki $n | hex)"
		echo "$n 3 0 0 $(cert $n | hex)"
	done
} >tlsa.txt
