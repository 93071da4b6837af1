#!/usr/bin/env bash
# `zegel spf` (firmware/mailauth/spf.c, RFC 7208 check_host()) against two
# reference implementations on the same DNS: Debian's spfquery (libspf2)
# and python3-spf (pyspf). The world (tests/e2e/spf/world.sh): a private
# signed tree on NSD behind a non-validating Unbound, in a network and mount
# namespace this suite creates, with its own /etc/resolv.conf (bind mount)
# so that the references (which read it) ask the same Unbound zegel asks.
#
# For every case: zegel's verdict must be the one RFC 7208 requires (the
# "want" column) and its last line must say the answers were DNSSEC secure;
# each reference must agree with zegel, unless the case is listed in KNOWN
# with the RFC section the reference does not follow (printed as a TAP
# diagnostic). Any other disagreement fails.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/spf/world.sh"

if [ -z "${SPFX_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -n -m true 2>/dev/null; then
	exec env SPFX_NETNS=1 unshare -n -m bash "$0" "$@"
fi
for t in ldns-keygen ldns-signzone ldns-key2ds nsd unbound dig spfquery; do
	command -v $t >/dev/null || { skip "SPF cross-check" "$t not installed (scripts/bootstrap.sh)"; finish; exit 0; }
done
$PY -c 'import spf' 2>/dev/null || { skip "SPF cross-check" "python3-spf not installed"; finish; exit 0; }
if [ -z "${SPFX_NETNS:-}" ]; then
	skip "SPF cross-check" "needs root for its own network and mount namespace"
	finish
	exit 0
fi
ip link set lo up

d=$(tmpdir)
trap 'spfx_stop; rm -rf "$d"' EXIT
t0=$(date +%s%N)
if ! spfx_setup "$d/w" >"$d/setup.log" 2>&1; then
	not_ok "signed SPF zones" "$(tail -5 "$d/setup.log")"
	finish
	exit 1
fi
mount --bind "$SPFX_DIR/resolv.conf" /etc/resolv.conf
if ! spfx_start; then
	not_ok "NSD and Unbound are up" "$SPFX_ERR"
	finish
	exit 1
fi
ok "SPF world up in $((($(date +%s%N) - t0) / 1000000)) ms (signed tree, NSD, Unbound, resolv.conf)"

HELO=helo.zs
# case  ip  sender  want (RFC 7208)  -- section / what it shows
CASES="\
ip4-pass          192.0.2.10    u@ip4pass.zs   pass       5.6 ip4 with a CIDR
ip4-fail          198.51.100.1  u@ip4pass.zs   fail       5.1 -all
a-pass            192.0.2.10    u@a.zs         pass       5.3 a at the domain
a-fail            192.0.2.11    u@a.zs         fail       5.3
a-cidr            192.0.2.10    u@acidr.zs     pass       5.3/5.6 a:host/24
a-cidr-out        192.0.3.10    u@acidr.zs     fail       5.6
dual-cidr-v6      2001:db8::1   u@dual.zs      fail       5.6 //64 applies to AAAA (none: void)
mx-pass           192.0.2.10    u@mx.zs        pass       5.4 the second MX host's address
mx-fail           192.0.2.11    u@mx.zs        fail       5.4
include-pass      192.0.2.10    u@inc.zs       pass       5.2 include's pass matches
include-nomatch   198.51.100.1  u@inc.zs       softfail   5.2 include's fail does not match
ip6-pass          2001:db8::1   u@ip6.zs       pass       5.6 ip6
ip6-fail          2001:db9::1   u@ip6.zs       fail       5.6
ip6-v4client      192.0.2.10    u@ip6.zs       fail       5.6 ip6 never matches IPv4
split-strings     192.0.2.10    u@split.zs     pass       3.3 TXT strings joined without spaces
upper-case        192.0.2.10    u@upper.zs     pass       4.5/12 case-insensitive
softfail          198.51.100.1  u@soft.zs      softfail   4.6.2 ~
neutral           198.51.100.1  u@neut.zs      neutral    4.6.2 ?
ten-lookups       192.0.2.10    u@ten.zs       pass       4.6.4 ten DNS terms allowed
eleven-lookups    192.0.2.10    u@eleven.zs    permerror  4.6.4 the eleventh
include-chain     192.0.2.10    u@incchain.zs  pass       4.6.4 ten lookups across includes
include-chain-11  198.51.100.1  u@incchain.zs  permerror  4.6.4 the eleventh across includes
redirect-chain    192.0.2.10    u@r1.zs        pass       6.1 r1 -> r2 -> r3
redirect-fail     203.0.113.9   u@r1.zs        fail       6.1
redirect-none     192.0.2.10    u@rnone.zs     permerror  6.1 target without a record
redirect-all      192.0.2.10    u@rall.zs      neutral    6.1 ignored when all is present
void-two          192.0.2.10    u@void2.zs     pass       4.6.4 two void lookups allowed
void-three        192.0.2.10    u@void3.zs     permerror  4.6.4 the third void lookup
void-mx-exists    192.0.2.10    u@voidmx.zs    permerror  4.6.4 MX NODATA + two exists NXDOMAIN
macro-i           192.0.2.10    u@mac.zs       pass       7.3 exists:%{i}._spf.%{d}
macro-i-fail      192.0.2.11    u@mac.zs       fail       7.3
macro-ir-v-d      192.0.2.10    u@macr.zs      pass       7.3 %{ir}.%{v}._spf.%{d}
macro-l           192.0.2.10    alice@macl.zs  pass       7.3 %{l}.u.%{d2}
macro-l-fail      192.0.2.10    bob@macl.zs    fail       7.3
macro-d1r-o       192.0.2.10    u@macd.zs      fail       7.3 %{d1r}.%{o}
no-record         192.0.2.10    u@norec.zs     none       4.5 no SPF record
nxdomain          192.0.2.10    u@nothere.zs   none       4.3 NXDOMAIN
two-records       192.0.2.10    u@two.zs       permerror  4.5 two SPF records
include-none      192.0.2.10    u@incnone.zs   permerror  5.2 include target without a record
bad-ip4           192.0.2.10    u@syn.zs       permerror  4.6 ip4:192.0.2.300
unknown-mech      192.0.2.10    u@unkmech.zs   permerror  4.6.1 unknown mechanism
unknown-mod       192.0.2.10    u@unkmod.zs    pass       6 unknown modifiers are ignored
two-redirects     192.0.2.10    u@tworedir.zs  permerror  6 redirect= twice
bad-cidr          192.0.2.10    u@badcidr.zs   permerror  5.6 /33
zero-transformer  192.0.2.10    u@zeroxf.zs    permerror  7.1 %{l0}
not-spf1          192.0.2.10    u@notspf.zs    none       4.5 v=spf10 is not v=spf1
ptr-pass          192.0.2.10    u@ptr.zs       pass       5.5 PTR name below the domain, resolves back
ptr-liar          192.0.2.11    u@ptr.zs       fail       5.5 PTR name that does not resolve back
ptr-no-ptr        192.0.2.12    u@ptr.zs       fail       5.5 no PTR record
ptr-other-domain  192.0.2.10    u@ptrother.zs  fail       5.5 validated name not below ptr:other.zs
exists-v-ip6      2001:db8::1   u@exv.zs       pass       5.7/7.3 exists asks A even for IPv6; %{v} is ip6
exists-v-ip4      192.0.2.10    u@exv.zs       fail       5.7/7.3 %{v} is in-addr
null-mx           192.0.2.10    u@nullmx.zs    pass       5.4 a null MX has no address
trailing-space    192.0.2.10    u@trail.zs     pass       4.6.1 a trailing space
redirect-macro    192.0.2.10    u@rmac.zs      pass       6.1/7 redirect=%{d2}.t.zs
cidr-leading-zero 192.0.2.10    u@cidr0.zs     permerror  12 ip4-cidr-length has no leading zeros
a-ip6-cidr        2001:db8:1::5 u@a6.zs        pass       5.3 a//48
empty-record      192.0.2.10    u@empty.zs     neutral    4.7 no mechanism: neutral
exp-fail          192.0.2.10    u@expl.zs      fail       6.2 exp= does not change the result
"
# Disagreements allowed: "case tool  RFC section: what the reference does"
KNOWN="\
include-chain-11 spfquery  4.6.4: the 11th DNS-querying term (include:ic6.zs, across includes) must be permerror; libspf2 1.2.10 returns the -all result
void-three       spfquery  4.6.4: more than two void lookups should be permerror; libspf2 1.2.10 has no void-lookup limit
void-mx-exists   spfquery  4.6.4: more than two void lookups should be permerror; libspf2 1.2.10 has no void-lookup limit
macro-l          spfquery  7.3: %{d2} of macl.zs is macl.zs; libspf2 1.2.10 expands it to acl.zs (asks alice.u.acl.zs)
two-redirects    spfquery  6: a modifier other than unknown ones appearing twice is permerror; libspf2 1.2.10 follows the first redirect=
redirect-macro   spfquery  7.3: %{d2} of rmac.zs is rmac.zs; libspf2 1.2.10 drops a character (the same bug as macro-l) and redirects to a name without a record
cidr-leading-zero spfquery 12: ip4-cidr-length = \"/\" (\"0\" / %x31-39 0*1DIGIT), no leading zero (a syntax error); libspf2 1.2.10 reads /024 as /24
zero-transformer python3-spf  7.1: a DIGIT transformer must be nonzero (%{l0} is a syntax error, permerror); pyspf 2.0.14 expands it and fails the exists:
"

zegel_spf() { # ip sender: the whole output into $d/zegel.out
	timeout 60 "$ZEGEL" spf --resolver "$SPFX_RESOLVER" --anchor "$SPFX_DIR/anchor.zone" \
		--helo "$HELO" "$1" "$2" >"$d/zegel.out" 2>&1
}
spfquery_spf() {
	# the verdict is the first line that is a result word (errors come first
	# in a StartError ... EndError block); "(invalid)" is libspf2's
	# SPF_RESULT_INVALID, a record it could not compile: RFC 7208 permerror
	timeout 60 spfquery -ip "$1" -sender "$2" -helo "$HELO" 2>/dev/null |
		grep -m1 -xE 'pass|fail|softfail|neutral|none|permerror|temperror|\(invalid\)' |
		sed 's/^(invalid)$/permerror/'
}
# pyspf: every case in one interpreter (its start-up is most of the time)
awk 'NF { print $1, $2, $3 }' <<<"$CASES" | timeout 100 $PY -c 'import sys, spf
for line in sys.stdin:
    c, ip, sender = line.split()
    try:
        r = spf.check2(i=ip, s=sender, h=sys.argv[1])[0]
    except Exception as e:
        r = "exception:" + type(e).__name__
    print(c, r, flush=True)' "$HELO" >"$d/pyspf.out" 2>"$d/pyspf.err"
pyspf_spf() { awk -v c="$1" '$1 == c { print $2 }' "$d/pyspf.out"; }

table="case zegel spfquery python3-spf"
while read -r c ip sender want rest; do
	[ -n "$c" ] || continue
	zegel_spf "$ip" "$sender"
	SPFX_OUT=$(cat "$d/zegel.out")
	SPFX_LAST=$(tail -1 "$d/zegel.out")
	z=$(sed -n 's/^spf: \([a-z]*\) (.*/\1/p' <<<"$SPFX_LAST")
	if [ "$z" = "$want" ]; then
		ok "$c: zegel spf $ip $sender -> $z ($rest)"
	else
		not_ok "$c: zegel spf $ip $sender -> ${z:-nothing}, RFC 7208 $rest wants $want" \
			"$SPFX_OUT"
	fi
	case $SPFX_LAST in
	*"dnssec secure)") ;;
	*) not_ok "$c: every answer DNSSEC secure" "$SPFX_LAST" ;;
	esac
	q=$(spfquery_spf "$ip" "$sender")
	p=$(pyspf_spf "$c")
	table="$table
$c $z $q $p"
	for tool in spfquery python3-spf; do
		[ $tool = spfquery ] && r=$q || r=$p
		k=$(awk -v c="$c" -v t="$tool" '$1 == c && $2 == t { $1 = ""; $2 = ""; sub(/^  /, ""); print }' <<<"$KNOWN")
		if [ "$r" = "$z" ]; then
			[ -z "$k" ] && ok "$c: $tool agrees ($r)" ||
				not_ok "$c: $tool agrees ($r) but the case is listed as a known disagreement" "$k"
		elif [ -n "$k" ]; then
			ok "$c: $tool says $r, zegel $z: known, RFC 7208 $k"
			echo "# known disagreement $c $tool=$r zegel=$z: RFC 7208 $k"
		else
			not_ok "$c: $tool says ${r:-nothing}, zegel $z"
		fi
	done
done <<<"$CASES"
# DNSSEC, zegel only (the references do not validate): a TXT RRset with a
# broken signature is a DNS error, temperror (RFC 7208 4.4), and said bogus
zegel_spf 192.0.2.10 u@bogus.zs
if tail -1 "$d/zegel.out" | grep -qx 'spf: temperror (0 lookups, dnssec bogus)'; then
	ok "bogus-signature: zegel spf -> temperror, dnssec bogus"
else
	not_ok "bogus-signature: zegel spf -> temperror, dnssec bogus" "$(cat "$d/zegel.out")"
fi
echo "# cross-check table:"
column -t <<<"$table" | sed 's/^/#   /'
echo "# suite took $((($(date +%s%N) - t0) / 1000000)) ms"
finish
