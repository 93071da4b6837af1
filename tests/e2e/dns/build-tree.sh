#!/usr/bin/env bash
# Build a private signed DNS tree in directory $1 with Debian's ldns tools:
# a root ".", the TLD "tld." and child zones covering the algorithms and the
# bogus matrix. Writes zone files, nsd.conf, unbound.conf (non-validating
# iterator), unbound-val.conf (validating, for the CD-dropping forwarder),
# anchor.zone (zegel --anchor), anchor.delv (delv -a).
#
#   NSD       127.53.0.1@23053   every zone
#   Unbound   127.53.0.2@23054   iterator only, stub zones -> NSD
#   Unbound   127.53.0.3@23055   validating (trust anchor = private root)
# DNS_TREE_NET (default 127.53.0) and DNS_TREE_PORT (default 23053) move
# all three, e.g. for tests/cross/dns.sh.
set -eu
W=$1
NET=${DNS_TREE_NET:-127.53.0}
P0=${DNS_TREE_PORT:-23053}
NOW=$(date +%s)
INC=$((NOW - 3600))
EXP=$((NOW + 30 * 86400))
. "$(dirname "$0")/../lib/dnssec_zone.sh"
mkdir -p "$W/keys" "$W/zones"
cd "$W/keys"

# ---------------------------------------------------------------- leaf zones
declare -A K
mk_simple() { # name alg [nsec3 args]
	local name=$1 alg=$2
	shift 2
	K[$name]=$(key "$name" "$alg")
	{ header "$name"; cat; } > "$W/zones/$name.zone"
	sign "$name" "$@" -- "${K[$name]}"
}

mk_simple example.tld. RSASHA512 <<'EOF'
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
mail IN A 192.0.2.2
@ IN MX 10 mail.example.tld.
_25._tcp.mail IN TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6
alias IN CNAME www.example.tld.
ext IN CNAME www.ed.tld.
*.wild IN A 192.0.2.50
a.b.ent IN A 192.0.2.51
txt IN TXT "v=spf1 -all" "second string"
dn IN DNAME ed.tld.
insec IN NS ns.tld.
EOF
mk_simple ed.tld. ED25519 -n -a 1 -t 0 -s aabbccdd <<'EOF'
www IN A 192.0.2.3
*.w IN A 192.0.2.52
EOF
mk_simple p384.tld. ECDSAP384SHA384 <<'EOF'
www IN A 192.0.2.4
EOF
mk_simple ed448.tld. ED448 <<'EOF'
www IN A 192.0.2.5
EOF
mk_simple badsig.tld. ECDSAP256SHA256 <<'EOF'
www IN A 192.0.2.6
EOF
corrupt_rrsig badsig.tld. www.badsig.tld. A # flip one base64 character
SIGN_INC=$((NOW - 40 * 86400)) SIGN_EXP=$((NOW - 86400)) mk_simple expired.tld. ECDSAP256SHA256 <<'EOF'
www IN A 192.0.2.7
EOF
SIGN_INC=$((NOW + 86400)) SIGN_EXP=$((NOW + 40 * 86400)) mk_simple future.tld. ECDSAP256SHA256 <<'EOF'
www IN A 192.0.2.8
EOF
mk_simple dsmismatch.tld. ECDSAP256SHA256 <<'EOF'
www IN A 192.0.2.9
EOF
mk_simple wrongsigner.tld. ECDSAP256SHA256 <<'EOF'
www IN A 192.0.2.10
EOF
mk_simple nonsec.tld. ECDSAP256SHA256 <<'EOF'
www IN A 192.0.2.11
EOF
grep -v -P '\tNSEC\t|\tRRSIG\tNSEC ' "$W/zones/nonsec.tld..signed" > "$W/zones/x" &&
	mv "$W/zones/x" "$W/zones/nonsec.tld..signed"
mk_simple iter.tld. ECDSAP256SHA256 -n -a 1 -t 150 -s 01 <<'EOF'
www IN A 192.0.2.12
EOF
mk_simple nsec3.tld. ECDSAP256SHA256 -n -a 1 -t 0 <<'EOF'
www IN A 192.0.2.13
a.b.ent IN A 192.0.2.14
*.wild IN A 192.0.2.15
EOF

# KeyTrap-style zone: 12 extra DNSKEYs with the same key tag as the real one
# The validator tries the keys of a tag in the order served (canonical: the
# fakes' keys begin with a zero byte, so they sort first and exhaust the
# budget); a real key that begins with a zero byte too could sort before
# them (1 in 256 trees: the test then saw "secure"), so draw another.
for _ in 1 2 3 4 5 6 7 8; do
	K[keytrap.tld.]=$(key keytrap.tld. ED25519)
	first=$(sed 's/;.*//' "$W/keys/${K[keytrap.tld.]}.key" | awk '{print $NF}' | base64 -d 2>/dev/null |
		od -An -tu1 -N1 | tr -d ' ')
	[ "$first" != 0 ] && break
done
tag=$(sed 's/.*+0*\([0-9]*\)$/\1/' <<<"${K[keytrap.tld.]}")
{ header keytrap.tld.; echo "www IN A 192.0.2.16"
  # ldns-signzone looks keys up by tag: list the real one explicitly
  sed 's/;.*//' "$W/keys/${K[keytrap.tld.]}.key"
  /usr/bin/python3 - "$tag" <<'EOF'
import base64, os, sys
want = int(sys.argv[1])
def tag(rd):
    ac = 0
    for i, b in enumerate(rd):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xffff
    return ac & 0xffff
n = 0
while n < 12:
    key = bytes([0]) + os.urandom(29)
    for hi in range(256):
        for lo in range(256):
            rd = bytes([1, 1, 3, 15]) + key + bytes([hi, lo])
            if tag(rd) == want:
                print("@ IN DNSKEY 257 3 15 " + base64.b64encode(rd[4:]).decode())
                n += 1
                break
        else:
            continue
        break
EOF
} > "$W/zones/keytrap.tld..zone"
sign keytrap.tld. -- "${K[keytrap.tld.]}"

# unsigned child (opt-out in tld. covers its delegation)
{ header unsigned.tld.; echo "www IN A 192.0.2.17"; } > "$W/zones/unsigned.tld..signed"
# unsigned child of the NSEC zone example.tld. (NSEC proves no DS)
{ header insec.example.tld.; echo "www IN A 192.0.2.18"; } > "$W/zones/insec.example.tld..signed"

# ---------------------------------------------------------------- tld.
K[tld.]=$(key tld. ECDSAP256SHA256)
OTHER=$(key dsmismatch.tld. ECDSAP256SHA256) # its DS goes to tld: mismatch
{
	header tld.
	echo "ns.tld. IN A $NET.1"
	for c in example ed p384 ed448 badsig expired future wrongsigner nonsec iter nsec3 keytrap; do
		echo "$c IN NS ns.tld."
		ds "${K[$c.tld.]}" 2
	done
	ds "${K[example.tld.]}" 1   # SHA-1 next to SHA-256: ignored
	ds "${K[p384.tld.]}" 4      # SHA-384 too
	echo "dsmismatch IN NS ns.tld."
	ds "$OTHER" 2
	echo "unsigned IN NS ns.tld."
} > "$W/zones/tld..zone"
sign tld. -n -a 1 -t 0 -p -- "${K[tld.]}"
# wrong signer: www.wrongsigner.tld. A signed by tld.'s key, in a scratch
# copy of tld. without the delegation, then moved into the child zone
{ header tld.; echo "www.wrongsigner.tld. IN A 192.0.2.10"; } > "$W/zones/ws.zone"
ldns-signzone -i "$INC" -e "$EXP" -f "$W/zones/ws.signed" "$W/zones/ws.zone" "$W/keys/${K[tld.]}" >/dev/null
sig=$(grep -P '^www\.wrongsigner\.tld\.\t.*\tRRSIG\tA ' "$W/zones/ws.signed")
grep -v -P '^www\.wrongsigner\.tld\.\t.*\tRRSIG\tA ' "$W/zones/wrongsigner.tld..signed" > "$W/zones/x"
echo "$sig" >> "$W/zones/x"
mv "$W/zones/x" "$W/zones/wrongsigner.tld..signed"

# ---------------------------------------------------------------- root
RKSK=$(key . RSASHA256)
RZSK=$(zsk . RSASHA256)
{
	header .
	echo "ns.tld. IN A $NET.1"
	echo "tld. IN NS ns.tld."
	ds "${K[tld.]}" 2
} > "$W/zones/..zone"
sign . -- "$RKSK" "$RZSK"

ds "$RKSK" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' > "$W/anchor.zone"
sed 's/;.*//' "$W/keys/$RKSK.key" > "$W/anchor-key.zone"      # the same KSK as a DNSKEY anchor
ds "$OTHER" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' > "$W/anchor-wrong.zone"
awk '{printf "trust-anchors {\n\t\".\" static-ds %s %s %s \"%s\";\n};\n", $4, $5, $6, $7}' \
	"$W/anchor.zone" > "$W/anchor.delv"

# ---------------------------------------------------------------- servers
ZONES=". tld. example.tld. ed.tld. p384.tld. ed448.tld. badsig.tld. expired.tld. future.tld.
dsmismatch.tld. wrongsigner.tld. nonsec.tld. iter.tld. nsec3.tld. keytrap.tld. unsigned.tld.
insec.example.tld."
nsd_conf $NET.1 $P0 > "$W/nsd.conf"
unbound_conf $NET.2 $((P0 + 1)) "iterator" "" $NET.1 $P0 > "$W/unbound.conf"
unbound_conf $NET.3 $((P0 + 2)) "validator iterator" "	trust-anchor-file: \"$W/anchor.zone\"" \
	$NET.1 $P0 > "$W/unbound-val.conf"
