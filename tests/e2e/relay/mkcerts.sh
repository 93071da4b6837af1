#!/usr/bin/env bash
# Test PKI for the relay suites: mkcerts.sh DIR
#   ca.crt/ca.key          the test CA (the one zegel is told to trust)
#   good.crt/.key          CN=localhost, SAN DNS:localhost, IP:127.0.0.1 (by the CA)
#   wrongname.crt/.key     SAN DNS:other.invalid only (by the CA)
#   expired.crt/.key       localhost/127.0.0.1, validity ended in 2020 (by the CA)
#   untrusted.crt/.key     localhost/127.0.0.1, signed by another CA (rogue.crt)
set -eu
d=$1
mkdir -p "$d"
cd "$d"
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-days 30 -subj "/CN=zegel test CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -out rogue.crt \
	-days 30 -subj "/CN=rogue CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() { # name san ca startdate enddate
	local name=$1 san=$2 ca=$3
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" \
		-out "$name.csr" -subj "/CN=${4:-localhost}"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$name.ext"
	ossl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
		-out "$name.crt" -days 30 -extfile "$name.ext"
}
leaf good "DNS:localhost,IP:127.0.0.1" ca
leaf wrongname "DNS:other.invalid" ca other.invalid
leaf untrusted "DNS:localhost,IP:127.0.0.1" rogue
# expired: openssl ca can set explicit dates in the past
mkdir -p ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >ca-db/ca.cnf <<CNF
[ca]
default_ca = t
[t]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
[ext]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr \
	-subj "/CN=localhost"
ossl ca -batch -config ca-db/ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
	-startdate 20190101000000Z -enddate 20200101000000Z -extensions ext -notext
test -s expired.crt
