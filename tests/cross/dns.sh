#!/usr/bin/env bash
# zegel resolve built for a cross board ($XZEGEL under $QEMU_USER) against
# the private signed tree of tests/e2e/dns_tree.sh: the verdicts must be the
# host's (big-endian MIPS and 32-bit ARM exercise the byte handling of the
# parser, the key tags, the RSA/ECDSA/Ed25519 paths and NSEC3 hashing).
# Own addresses/ports (127.53.1.x, 23153-23155) so it never meets the e2e run.
. "$TOP/tests/lib.sh"

for t in ldns-signzone nsd unbound dig; do
	if ! command -v $t >/dev/null; then
		skip "dns cross" "$t not installed"
		finish
		exit
	fi
done
W=$(tmpdir)
cleanup() {
	for f in "$W"/nsd.pid "$W"/unbound-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	sleep 0.2
	rm -rf "$W"
}
trap cleanup EXIT
export DNS_TREE_NET=127.53.1 DNS_TREE_PORT=23153
if ! out=$(bash "$TOP/tests/e2e/dns/build-tree.sh" "$W" 2>&1); then
	not_ok "build the signed tree" "$out"
	finish
	exit
fi
nsd -c "$W/nsd.conf" -P "$W/nsd.pid" >/dev/null 2>&1
unbound -c "$W/unbound.conf" >/dev/null 2>&1
up=0
for _ in $(seq 1 50); do
	if dig +short +time=1 +tries=1 @127.53.1.2 -p 23154 www.example.tld A 2>/dev/null | grep -q 192.0.2.1; then
		up=1
		break
	fi
	sleep 0.2
done
if [ $up = 0 ]; then
	not_ok "servers up" "$(tail -n 5 "$W"/nsd.log "$W"/unbound-*.log 2>&1)"
	finish
	exit
fi

while read -r type name want; do
	out=$(timeout 120 $QEMU_USER "$XZEGEL" resolve --server 127.53.1.2:23154 \
		--anchor "$W/anchor.zone" "$type" "$name" 2>&1)
	got=$(printf '%s\n' "$out" | tail -1 | sed -n 's/^status: \([a-z]*\).*/\1/p')
	if [ "$got" = "$want" ]; then
		ok "$BOARD: $type $name $want"
	else
		not_ok "$BOARD: $type $name: want $want, got ${got:-nothing}" "$out"
	fi
done <<'CASES'
A www.example.tld secure
TLSA _25._tcp.mail.example.tld secure
A www.ed.tld secure
A www.p384.tld secure
A nx.ed.tld secure
A x.wild.nsec3.tld secure
A www.unsigned.tld insecure
A www.badsig.tld bogus
A www.keytrap.tld bogus
CASES
finish
