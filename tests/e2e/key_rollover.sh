#!/usr/bin/env bash
# DKIM key rollover on the console (issue 16) against a real signed DNS
# world: a DNSSEC-signed private root zone "." served by NSD and resolved by a
# non-validating Unbound; zegel's own resolver validates with the private
# anchor. zegel runs with its console on a FIFO and is killed with SIGKILL
# after every step; each restart must show the same key states.
#   1 a key from before key states (zegel keygen + set key) signs at once
#   2 key generate: published-pending, record shown (zone file + one line),
#     the new key does not sign
#   3 records in DNS that differ (t=y, a cut-off p=, the old key's p=) are
#     named; the state stays pending
#   4 the right record: published (secure); still not signing
#   5 key activate: the new key signs (s=, dkimpy verifies it against the
#     record in DNS), the old key is retiring, its record still reported
#   6 key retire: refused during the retire period, done after it
#   7 set key-rollover auto-activate on: an Ed25519 key signs once its record
#     is seen, beside the RSA key (only the same algorithm retires)
#   8 the states a kill between the steps of key generate / key retire
#     leaves (made by hand while zegel is down) are completed by running
#     the command again
#   9 a domain whose only key is pending: its mail is deferred (451 4.3.5)
# World: 127.0.47.0/24 in a network namespace of its own (NSD .1:47053,
# Unbound .2:47054, zegel's listener .1:47587); TTLs of 1 s.
. "$TOP/tests/lib.sh"
if [ -z "${KR_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
	exec env KR_NETNS=1 unshare -n bash "$0" "$@"
fi
[ -n "${KR_NETNS:-}" ] && ip link set lo up

for t in ldns-keygen ldns-signzone ldns-key2ds nsd unbound dig swaks; do
	if ! command -v $t >/dev/null; then
		skip "key rollover" "$t not installed (scripts/bootstrap.sh)"
		finish
		exit 0
	fi
done
if [ -z "${KR_NETNS:-}" ]; then
	skip "key rollover" "needs root and unshare -n for its own network namespace"
	finish
	exit 0
fi

N=127.0.47
d=$(tmpdir)
W=$d/dns
ZPID=
zkill() {
	[ -n "$ZPID" ] && kill -9 "$ZPID" 2>/dev/null && wait "$ZPID" 2>/dev/null
	ZPID=
	exec 3>&- 2>/dev/null
	return 0
}
nsd_stop() { # and wait until it is gone (its port is free for the next one)
	local p
	[ -f "$W/nsd.pid" ] || return 0
	p=$(cat "$W/nsd.pid")
	kill "$p" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	rm -f "$W/nsd.pid"
}
cleanup() {
	zkill
	nsd_stop
	[ -f "$W/unbound-47054.pid" ] && kill "$(cat "$W/unbound-47054.pid")" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT

# ------------------------------------------------------------ DNS world
. "$TOP/tests/e2e/lib/dnssec_zone.sh"
mkdir -p "$W/keys" "$W/zones" "$d/data/keys" "$d/outbox"
NOW=$(date +%s)
INC=$((NOW - 3600))
EXP=$((NOW + 30 * 86400))
ZONES=.
RK=$(cd "$W/keys" && key . RSASHA256)
SERIAL=1

# TXT rdata of a record value, split into 200-byte strings
txt() { printf '%s' "$1" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' '; }

# publish SEL VALUE ...: the zone with these DKIM records, signed and served
publish() {
	SERIAL=$((SERIAL + 1))
	{
		echo "\$TTL 1"
		echo ". IN SOA ns.tld. hostmaster.tld. $SERIAL 7200 3600 1209600 1"
		echo ". IN NS ns.tld."
		echo "ns.tld. IN A $N.1"
		echo "example.test. IN A $N.10"
		while [ $# -ge 2 ]; do
			echo "$1._domainkey.example.test. IN TXT $(txt "$2")"
			shift 2
		done
	} >"$W/zones/..zone"
	(cd "$W" && sign . -- "$RK") || return 1
	nsd_stop
	nsd -c "$W/nsd.conf" -P "$W/nsd.pid" >"$W/nsd.out" 2>&1 || return 1
	for _ in $(seq 1 50); do
		if dig +short +time=1 +tries=1 @$N.1 -p 47053 . SOA 2>/dev/null | grep -q " $SERIAL "; then
			sleep 1.2 # the 1 s TTLs in Unbound's and zegel's caches run out
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# republish: publish, or a failed check naming why
republish() {
	publish "$@" || not_ok "zone with serial $SERIAL served" "$(tail -5 "$W/nsd.log" "$W/nsd.out" 2>&1)"
}

ds "$RK" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' >"$d/anchor.zone"
nsd_conf $N.1 47053 >"$W/nsd.conf"
unbound_conf $N.2 47054 "iterator" "	local-zone: \"test.\" nodefault" $N.1 47053 >"$W/unbound.conf"
ip addr add $N.1/24 dev lo 2>/dev/null || true

# ------------------------------------------------------------ zegel
"$ZEGEL" keygen -t rsa -b 2048 -d example.test -s old -o "$d/data/keys" >/dev/null
OLDREC=$("$ZEGEL" dnsrecord -d example.test -s old -k "$d/data/keys/old.key" --one-line)
cat >"$d/zegel.conf" <<CONF
set hostname mx.example.test
set data-dir $d/data
set domain example.test
set key old domain example.test file $d/data/keys/old.key
set network 127.0.0.0/8
set listener sub $N.1:47587 mode plain
set resolver $N.2:47054
set resolver-anchors $d/anchor.zone
set relay outbox $d/outbox
CONF

if ! publish old "$OLDREC"; then
	not_ok "signed zone served by NSD" "$(cat "$W/nsd.out" "$W/nsd.log" 2>/dev/null | tail -5)"
	finish
	exit 1
fi
unbound -c "$W/unbound.conf" >"$W/unbound.out" 2>&1
for _ in $(seq 1 50); do
	dig +short +time=1 +tries=1 @$N.2 -p 47054 example.test A 2>/dev/null | grep -q "$N.10" && break
	sleep 0.1
done
check "dnsrecord --one-line is the zone-file record's strings joined" test "$OLDREC" = \
	"$("$ZEGEL" dnsrecord -d example.test -s old -k "$d/data/keys/old.key" | tr -d '\n\t' |
		sed 's/.*( *//; s/ *).*//; s/" *"//g; s/"//g')"
check "the DNS world answers (NSD + Unbound, old key's record)" \
	bash -c "dig +short @$N.2 -p 47054 old._domainkey.example.test TXT | grep -q DKIM1"

RUN=0
zstart() {
	RUN=$((RUN + 1))
	LOG=$d/console.$RUN
	rm -f "$d/in"
	mkfifo "$d/in"
	"$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >"$LOG" 2>&1 &
	ZPID=$!
	exec 3>"$d/in"
}
# zc LINE... : run console lines, then wait for a marker (20 s at most);
# OUT is what they printed
MARK=0
zc() {
	local before l
	before=$(wc -c <"$LOG")
	MARK=$((MARK + 1))
	for l in "$@"; do printf '%s\n' "$l" >&3; done
	printf 'mark-%d\n' "$MARK" >&3
	for _ in $(seq 1 200); do
		grep -q "unknown command 'mark-$MARK'" "$LOG" && break
		sleep 0.1
	done
	OUT=$(tail -c +"$((before + 1))" "$LOG")
}
# key check, waiting for its end
zcheck() {
	local before
	before=$(wc -c <"$LOG")
	printf 'key check\n' >&3
	for _ in $(seq 1 300); do
		tail -c +"$((before + 1))" "$LOG" | grep -q "key check: done" && break
		sleep 0.1
	done
	OUT=$(tail -c +"$((before + 1))" "$LOG")
}
# restart after SIGKILL
zrestart() { zkill; zstart; zc; }
# has PATTERN: OUT holds it (OUT is shown when it does not)
has() { grep -q -- "$1" <<<"$OUT" || { printf '%s\n' "$OUT" | tail -40; return 1; }; }
MSG=0
# send a message; SIGS = the DKIM-Signature s= values of what the outbox got
send() {
	SIGS=
	EML=
	MSG=$((MSG + 1))
	swaks --server $N.1 --port 47587 --from "me@example.test" --to "you@example.net" \
		--header "Subject: rollover $MSG" --header "Message-ID: <kr-$MSG@example.test>" \
		--body "message $MSG" >"$d/swaks.$MSG" 2>&1 || return 1
	EML=$(grep -l "kr-$MSG@" "$d"/outbox/*.eml 2>/dev/null | head -1)
	[ -n "$EML" ] || return 1
	SIGS=$(tr -d '\r' <"$EML" | sed -n '/^$/q;p' | tr -d '\n\t' | grep -o 'DKIM-Signature:[^:]*' |
		grep -o ' s=[^;]*' | sed 's/ s=//' | sort | tr '\n' ' ')
}
signed_by() { [ "$SIGS" = "$1" ] || { echo "s= of message $MSG: '$SIGS'"; tail -5 "$d/swaks.$MSG"; tail -5 "$LOG"; return 1; }; }
state_of() { awk -v s="$1" '$1==s {print $3}' "$d/data/keys/state"; }
verify() { # verify EML against the record in DNS now
	local keys=() s v
	for s in "$@"; do
		v=$(dig +short @$N.2 -p 47054 "$s._domainkey.example.test" TXT | sed 's/" "//g; s/"//g')
		keys+=(--key "$s._domainkey.example.test=$v")
	done
	$PY "$TOP/tests/e2e/dkim_verify.py" "${keys[@]}" "$EML"
}

# ---- 1: the key from before key states signs
zstart
zc "show keys"
check "a configured key without a state is active (upgrade path)" \
	has "state: active"
check "and recorded as active in the state file" test "$(state_of old)" = active
send
check "it signs (s=old)" signed_by "old "

# ---- 2: key generate
zc "key generate example.test new rsa 1024"
check "key generate: committed, saved, published-pending" \
	bash -c 'grep -q "committed and saved" <<<"$1" && grep -q "new for example.test: rsa-1024, published-pending" <<<"$1"' _ "$OUT"
check "the record in zone-file form (folded) and as one line" \
	bash -c 'grep -q "new._domainkey	IN	TXT	( \"v=DKIM1; k=rsa; \"" <<<"$1" && grep -q "one line (web DNS panels): v=DKIM1; k=rsa; p=MIGfMA0" <<<"$1"' _ "$OUT"
NEWREC=$(grep -o 'one line (web DNS panels): .*' <<<"$OUT" | sed 's/^one line (web DNS panels): //')
check "the key file is in the data dir, mode 0600" \
	test "$(stat -c %a "$d/data/keys/example.test/new.key")" = 600
check "state file: new is pending" test "$(state_of new)" = pending
zrestart
zc "show keys example.test"
check "after kill -9: new is still published-pending, with fingerprint and creation time" \
	bash -c 'grep -q "state: published-pending, not signing" <<<"$1" && grep -q "fingerprint: SHA256:" <<<"$1" && grep -q "created: 20" <<<"$1"' _ "$OUT"
check "and the saved configuration names it" grep -q "^set key new domain example.test" "$d/zegel.conf"
send
check "a pending key does not sign (s=old only)" signed_by "old "
zcheck
check "key check: not published yet (no TXT record, secure denial)" \
	has "key new for example.test \[published-pending\]: not published: no TXT record at new._domainkey.example.test (NXDOMAIN, secure)"
zc "key activate example.test new"
check "key activate refuses a key whose record was not seen" has "its DNS record was not seen yet"

# ---- 3: records that differ
P=${NEWREC#*p=}
republish old "$OLDREC" new "v=DKIM1; k=rsa; t=y; p=$P"
zcheck
check "t=y is named" has "key new for example.test \[published-pending\]: MISMATCH (secure): t=y"
republish old "$OLDREC" new "v=DKIM1; k=rsa; p=${P:0:100}"
zcheck
check "a cut-off p= is named" has "MISMATCH (secure): p= is cut off (100 base64 characters, the key has 216)"
republish old "$OLDREC" new "$OLDREC"
zcheck
check "the old key's record at the new name is named" has "MISMATCH (secure): p= is another key"
zrestart
zc "show keys"
check "after kill -9: still pending, the state file unchanged" \
	bash -c 'grep -q "state: published-pending" <<<"$1" && test "$(awk "\$1==\"new\" {print \$3}" "$2")" = pending' _ "$OUT" "$d/data/keys/state"

# ---- 4: the right record
republish old "$OLDREC" new "$NEWREC"
zcheck
check "the matching record: published (secure)" \
	has "key new for example.test \[published\]: published (secure), matches the key"
check "the transition is logged" grep -q "key new for example.test: published (secure)" "$LOG"
check "state file: published" test "$(state_of new)" = published
zrestart
zc "show keys"
check "after kill -9: published, not signing, activation suggested" \
	has "state: published since .*, not signing: key activate example.test new"
send
check "a published key does not sign before activation (s=old only)" signed_by "old "

# the record goes away again before activation: activation waits for it
republish old "$OLDREC"
zcheck
zc "key activate example.test new"
check "key activate refuses while the published record is gone again" \
	has "key activate: the record of key new for example.test went away since: no TXT record"
republish old "$OLDREC" new "$NEWREC"
zcheck

# ---- 5: activation
zc "key activate example.test new"
check "key activate: active" has "key activate: key new for example.test is active"
check "the old key retires (logged)" grep -q "key old for example.test: retiring (replaced by new)" "$LOG"
send
check "the new key signs, the retiring one does not (s=new)" signed_by "new "
check "dkimpy verifies the message against the record in DNS" verify new
zrestart
zc "show keys"
check "after kill -9: new active, old retiring with its record still reported" \
	bash -c 'grep -q "state: active since" <<<"$1" && grep -q "state: retiring since .*keep its record published 168 more hour" <<<"$1"' _ "$OUT"
zcheck
check "the retiring key's record is still checked (published, matches)" \
	has "key old for example.test \[retiring\]: published (secure), matches the key"
send
check "after the restart the new key still signs (s=new)" signed_by "new "

# ---- 6: retire
zc "key retire example.test old"
check "key retire refuses during the retire period" has "retires for 168 more hour"
zc "set key-rollover retire-days 0" "commit" "save" "show keys"
check "after the period show keys says to remove the record" \
	has "retire period over: remove its DNS record, then key retire example.test old"
zrestart
zc "key retire example.test old" "show keys"
check "key retire deletes it: configuration, state, key file" \
	bash -c 'grep -q "key retire: key old for example.test deleted" <<<"$1" && ! grep -q "^set key old" "$2" && test -z "$(awk "\$1==\"old\"" "$3")" && test ! -e "$4"' _ \
	"$OUT" "$d/zegel.conf" "$d/data/keys/state" "$d/data/keys/old.key"
zrestart
zc "show keys" "show running"
check "after kill -9: only the new key, active; zegel started with the saved config" \
	bash -c 'grep -q "key new for example.test" <<<"$1" && ! grep -q "key old" <<<"$1" && grep -q "state: active" <<<"$1"' _ "$OUT"
check "no temporary file left in the keys folder" \
	test -z "$(find "$d/data/keys" -name '*.tmp.*')"

# ---- 7: auto-activate; another algorithm does not retire the rsa key
zc "set key-rollover auto-activate on" "commit" "save" "key generate example.test ed ed25519"
EDREC=$(grep -o 'one line (web DNS panels): .*' <<<"$OUT" | sed 's/^one line (web DNS panels): //')
check "key generate ed25519: pending, auto-activation announced" has "auto-activate is on"
zrestart
republish new "$NEWREC" ed "$EDREC"
zcheck
check "with auto-activate the published ed25519 key becomes active at once" \
	bash -c 'grep -q "key ed for example.test: active (set key-rollover auto-activate on)" "$1" && test "$(awk "\$1==\"ed\" {print \$3}" "$2")" = active && test "$(awk "\$1==\"new\" {print \$3}" "$2")" = active' _ "$LOG" "$d/data/keys/state"
send
check "both sign: the rsa key is not retired by an ed25519 key (s=ed, s=new)" signed_by "ed new "
check "dkimpy verifies both signatures against DNS" verify ed new
zc "show status"
check "show status counts the keys by state" \
	has "dkim keys: 2 active, 0 published-pending, 0 published, 0 retiring"

# ---- 8: what a kill between the steps of key generate / key retire leaves
zkill
now=$(date +%s)
# (a) after the state entry, before the key file
echo "xa example.test pending ed25519 $now 0 0 0" >>"$d/data/keys/state"
# (b) after the key file, before the configuration
echo "xb example.test pending ed25519 $now 0 0 0" >>"$d/data/keys/state"
"$ZEGEL" keygen -t ed25519 -d example.test -s xb -o "$d/data/keys/example.test" >/dev/null
XB=$(tr -d '\n\t' <"$d/data/keys/example.test/xb.txt" | sed 's/.*p=//; s/".*//')
# (a') and a key file the kill cut off while it was written
echo "-----BEGIN PRIV" >"$d/data/keys/example.test/xa.key.tmp.999.0"
zstart
zc "show keys"
check "a cut-off key file write is removed at start (logged)" \
	bash -c 'test ! -e "$1" && grep -q "removed 1 unfinished write(s) of .*/xa.key" "$2"' _ \
	"$d/data/keys/example.test/xa.key.tmp.999.0" "$LOG"
check "an unfinished key generate shows as not in the configuration, not signing" \
	has "key xa for example.test: published-pending, not in the configuration"
zc "key generate example.test xa ed25519" "key generate example.test xb ed25519"
check "key generate again completes both (xb takes the key file left behind)" \
	bash -c 'grep -q "taking .*/xb.key (left by an interrupted key generate)" <<<"$1" && grep -q "^set key xa " "$2" && grep -q "^set key xb " "$2" && grep -q "p=$3" <<<"$1"' _ "$OUT" "$d/zegel.conf" "$XB"
send
check "neither signs (s=ed, s=new)" signed_by "ed new "
# (c) a key retire killed after the configuration was saved
zkill
sed -i '/^set key xa /d' "$d/zegel.conf"
zstart
zc "key retire example.test xa" "show keys"
check "key retire finishes an interrupted retire (state and key file gone)" \
	bash -c 'grep -q "key retire: key xa for example.test deleted" <<<"$1" && ! grep -q "key xa for example.test: published-pending, not in the configuration" <<<"$1" && test ! -e "$2" && ! grep -q "^xa " "$3"' _ \
	"$OUT" "$d/data/keys/example.test/xa.key" "$d/data/keys/state"

# ---- 9: a domain whose only key waits for its record: mail is deferred, never sent unsigned
zc "set domain other.test" "commit" "key generate other.test o1 ed25519"
swaks --server $N.1 --port 47587 --from "me@other.test" --to "you@example.net" \
	--header "Subject: no key yet" --body "x" >"$d/swaks.other" 2>&1
check "mail from a domain with only a pending key gets 451 4.3.5 naming why" \
	grep -q "451 4.3.5 Cannot sign for other.test (no active key for the domain" "$d/swaks.other"
zkill
[ -n "${KR_KEEP:-}" ] && cp -r "$d" "$KR_KEEP"
finish
