#!/usr/bin/env bash
# Record validation sessions against a fresh private tree into
# tests/vectors/dns/tree/*.bin, for test_dns_resolve (offline replay) and as
# seeds for fuzz_dns_validate. Run by hand when the format or the cases
# change:  tests/e2e/dns/record-tree.sh [OUTDIR]
#
# File format (big endian):
#   now(8) anchor-DS-rdlen(2) anchor-DS-rdata qtype(2) qname-len(1) qname
#   expected-status(1: 0 secure 1 insecure 2 bogus 3 indeterminate)
#   then every answer zegel received, in order: len(2) message
set -eu
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=${1:-$TOP/tests/vectors/dns/tree}
ZEGEL=${ZEGEL:-$TOP/build/host/zegel}
PY=/usr/bin/python3
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; for f in $W/nsd.pid $W/unbound-*.pid; do [ -f $f ] && kill $(cat $f); done; sleep 0.2; rm -rf $W' EXIT
bash "$TOP/tests/e2e/dns/build-tree.sh" "$W" 2>/dev/null
nsd -c "$W/nsd.conf" -P "$W/nsd.pid"
unbound -c "$W/unbound.conf"
sleep 1
mkdir -p "$OUT"
NOW=$(date +%s)
while read -r name type qname; do
	[ -z "$name" ] && continue
	rec=$W/rec.$name
	: > "$rec"
	$PY "$TOP/tests/e2e/dns/proxy.py" "record:$rec" 127.53.0.4 23060 127.53.0.2 23054 &
	pid=$!
	sleep 0.3
	status=$("$ZEGEL" resolve --server 127.53.0.4:23060 --anchor "$W/anchor.zone" --now "$NOW" \
		"$type" "$qname" 2>/dev/null | tail -1 | sed 's/^status: \([a-z]*\).*/\1/') || true
	kill $pid
	wait $pid 2>/dev/null || true
	$PY - "$OUT/$name.bin" "$NOW" "$W/anchor.zone" "$type" "$qname" "$status" "$rec" <<'PYEOF'
import sys, dns.name, dns.rdatatype
out, now, anchor, qtype, qname, status, rec = sys.argv[1:]
ds = open(anchor).read().split()
tag, alg, dt, dig = int(ds[3]), int(ds[4]), int(ds[5]), bytes.fromhex(ds[6])
rd = tag.to_bytes(2, "big") + bytes([alg, dt]) + dig
qn = dns.name.from_text(qname).to_wire()
st = {"secure": 0, "insecure": 1, "bogus": 2, "indeterminate": 3}[status]
with open(out, "wb") as f:
    f.write(int(now).to_bytes(8, "big") + len(rd).to_bytes(2, "big") + rd)
    f.write(dns.rdatatype.from_text(qtype).to_bytes(2, "big") + bytes([len(qn)]) + qn)
    f.write(bytes([st]) + open(rec, "rb").read())
PYEOF
	echo "$name: $type $qname -> $status"
done <<'CASES'
secure-a A www.example.tld
secure-tlsa TLSA _25._tcp.mail.example.tld
cname-cross A ext.example.tld
dname A www.dn.example.tld
wildcard-nsec A x.wild.example.tld
nxdomain-nsec A nx.example.tld
ent-nsec A ent.example.tld
ed25519-nsec3-wildcard A x.w.ed.tld
nxdomain-nsec3 A nx.ed.tld
p384 A www.p384.tld
nodata-nsec3 MX www.nsec3.tld
insecure-optout A www.unsigned.tld
insecure-nsec A www.insec.example.tld
insecure-ed448 A www.ed448.tld
insecure-iterations A nx.iter.tld
bogus-badsig A www.badsig.tld
bogus-expired A www.expired.tld
bogus-dsmismatch A www.dsmismatch.tld
bogus-wrongsigner A www.wrongsigner.tld
bogus-nonsec A nx.nonsec.tld
bogus-keytrap A www.keytrap.tld
CASES
