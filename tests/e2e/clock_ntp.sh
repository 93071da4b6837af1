#!/usr/bin/env bash
# The clock of a router without RTC (issue #17): `set ntp server` syncs from
# fake NTP servers on loopback (tests/e2e/clock/fakentp.py) taking the
# median of the agreeing majority, rejecting a server a day off and a
# kiss-o'-death; the host (test) build never sets the machine's clock, so
# the software offset applies and `show clock` must say so. A clock started
# in 1970 (ZEGEL_TEST_CLOCK_SKEW, honoured by test builds only) is logged as
# not plausible, DKIM signatures get no t= (and still verify), certificate
# and DNSSEC errors name the clock; after a sync the next signature has t=.
# Ports 27310-27329.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
PIDS=()
stop_all() {
	smtpd_stop
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=()
}
trap 'stop_all; rm -rf "$d"' EXIT
NTP=27310
fake() { $PY "$TOP/tests/e2e/clock/fakentp.py" "$@" & PIDS+=($!); }
fake $NTP 3600
fake $((NTP + 1)) 3600.2
fake $((NTP + 2)) 86400
fake $((NTP + 3)) 0 kod DENY
fake $((NTP + 4)) 0 stratum 16
fake $((NTP + 5)) 0 zero-xmt
fake $((NTP + 6)) 0
for _ in $(seq 1 50); do
	[ "$(ss -Hulpn "sport >= :$NTP and sport <= :$((NTP + 6))" 2>/dev/null | wc -l)" -ge 7 ] && break
	sleep 0.1
done

# console: the lines, a pause for the round, then `show clock`
run_console() {
	local wait=$1 lines=$2
	shift 2
	{ printf '%b' "$lines"; sleep "$wait"; printf 'show clock\nshow log ntp\n'; } |
		timeout 30 env "$@" "$ZEGEL" run 2>&1
}

# 1. four servers: two agree (+1 h), one a day off, one kiss-o'-death DENY
out=$(run_console 2 "set data-dir $d/a\nset ntp server 127.0.0.1:$NTP 127.0.0.1:$((NTP + 1)) 127.0.0.1:$((NTP + 2)) 127.0.0.1:$((NTP + 3))\ncommit\n" ZEGEL_TEST_CLOCK_SKEW=0)
check "sync: software offset applied (test builds never set the system clock)" \
	grep -qE 'set by: software offset \+(3599\.9|3600\.[0-2])[0-9]* s \(system clock not set: Operation not permitted\)' <<<"$out"
check "sync: the clock shows the synced time (+1 h)" \
	grep -q "^zegel> clock: $(date -u -d @$(($(date +%s) + 3600)) +%Y-%m-%dT%H), plausible\|^clock: $(date -u -d @$(($(date +%s) + 3600)) +%Y-%m-%dT%H)" <<<"$out"
check "sync: the median of the two agreeing servers (2 of 3 answers)" \
	grep -qE 'ntp: last sync .* offset \+(3599\.9|3600\.[0-2])[0-9]* s, delay [0-9]+ ms, 2 of 3 servers agree' <<<"$out"
check "sync: both agreeing servers are the source" \
	bash -c "grep -qE 'server 127.0.0.1:$NTP: offset \+3(599|600)\..* \(source\)' <<<\"\$0\" && grep -qE 'server 127.0.0.1:$((NTP + 1)): offset \+3(599|600)\..* \(source\)' <<<\"\$0\"" "$out"
check "outlier: the server a day off is rejected" \
	grep -qE "server 127.0.0.1:$((NTP + 2)): offset \+86(399|400)\..* outlier, rejected" <<<"$out"
check "outlier: and logged" grep -q "server 127.0.0.1:$((NTP + 2)) disagrees with the majority" <<<"$out"
check "kiss-o'-death DENY is rejected and logged" \
	bash -c "grep -q 'server 127.0.0.1:$((NTP + 3)): kiss-o.-death DENY' <<<\"\$0\" && grep -q 'warning: server 127.0.0.1:$((NTP + 3)): kiss' <<<\"\$0\"" "$out"

# 2. stratum 16 and a zero transmit timestamp are rejected; one good server stays
out=$(run_console 2 "set data-dir $d/b\nset ntp server 127.0.0.1:$((NTP + 4)) 127.0.0.1:$((NTP + 5)) 127.0.0.1:$((NTP + 6))\ncommit\n" ZEGEL_TEST_CLOCK_SKEW=0)
check "stratum 16 rejected" grep -q "server 127.0.0.1:$((NTP + 4)): rejected: server not synchronised" <<<"$out"
check "zero transmit timestamp rejected" grep -q "server 127.0.0.1:$((NTP + 5)): rejected: transmit timestamp 0" <<<"$out"
check "the one good answer is the majority of the valid ones; no step under 1 s" \
	bash -c "grep -q '1 of 1 servers agree' <<<\"\$0\" && grep -q 'set by: system clock, not changed by zegel' <<<\"\$0\"" "$out"

# 3. only disagreeing servers: no majority, the clock stays
out=$(run_console 4 "set data-dir $d/c\nset ntp server 127.0.0.1:$NTP 127.0.0.1:$((NTP + 2))\ncommit\n" ZEGEL_TEST_CLOCK_SKEW=0)
check "two servers that disagree: no majority, clock not changed" \
	bash -c "grep -q 'no agreeing majority among 2 answers: clock not changed' <<<\"\$0\" && grep -q 'ntp: not synced yet' <<<\"\$0\"" "$out"

# 4. started in 1970
now=$(date +%s)
skew=$((5 - now))
out=$(run_console 0.5 "set data-dir $d/d\n" ZEGEL_TEST_CLOCK_SKEW=$skew)
check "1970: the boot log says the clock is not plausible" \
	grep -q 'warning: clock 1970-01-01T00:00:0[5-9]Z is NOT plausible (before the build time' <<<"$out"
check "1970: show clock says NOT plausible" grep -q 'clock: 1970-01-01T00:00:.*NOT plausible' <<<"$out"
# the circle: a name needs DNSSEC, DNSSEC needs the clock; the IP server breaks it
out=$(run_console 2 "set data-dir $d/e\nset ntp server ntp.example.net 127.0.0.1:$((NTP + 6))\ncommit\n" ZEGEL_TEST_CLOCK_SKEW=$skew)
check "1970: an NTP server name is not looked up, and the log says why" \
	bash -c "grep -q 'server ntp.example.net:123: name not looked up: DNSSEC needs a plausible clock (give an IP address)' <<<\"\$0\" && grep -q 'warning: server ntp.example.net: name not looked up' <<<\"\$0\"" "$out"
check "1970: the server given by IP sets the clock (software offset), which is plausible now" \
	bash -c "grep -q 'clock: $(date -u +%Y-%m-%d)T.*, plausible' <<<\"\$0\" && grep -q 'set by: software offset +' <<<\"\$0\" && grep -q '1 of 1 servers agree' <<<\"\$0\"" "$out"
out=$(timeout 30 env ZEGEL_TEST_CLOCK_SKEW=$skew "$ZEGEL" resolve --server 127.0.0.1:$((NTP + 7)) A example.org 2>&1)
check "1970: a DNSSEC lookup names the clock" \
	grep -q 'clock not plausible (1970-01-01T00:00:[0-9]*Z, before the build time): set the clock' <<<"$out"

# a TLS certificate is "not yet valid (valid from ...)" with the clock as the likely cause
if "$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki" >/dev/null 2>&1; then
	rm -f "$d/ready"
	$PY "$TOP/tests/e2e/relay/fakesmtp.py" --port $((NTP + 8)) --mode ok --cert "$d/pki/good.crt" \
		--key "$d/pki/good.key" --log "$d/fakesmtp.log" --ready "$d/ready" &
	PIDS+=($!)
	for _ in $(seq 1 50); do [ -f "$d/ready" ] && break; sleep 0.1; done
	out=$(timeout 30 env ZEGEL_TEST_CLOCK_SKEW=$skew "$ZEGEL" relay-check --ca "$d/pki/ca.crt" \
		--timeout 10 127.0.0.1:$((NTP + 8)) 2>&1)
	check "1970: TLS says 'not yet valid (valid from ...)' and names the clock" \
		grep -qE 'certificate not yet valid \(valid from 20[0-9-]+ [0-9:]+; clock 1970-01-01 [0-9:]+, NOT plausible: likely the cause' <<<"$out"
else
	not_ok "test PKI for the TLS check"
fi

# signing in 1970: no t=, and the signature verifies; after a sync: t= now
smtpd_env_setup "$d/m" $((NTP + 10))
sign_one() {
	timeout 30 swaks --silent 1 --from alice@example.test --to bob@remote.example \
		--server 127.0.0.1 --port "$SUBMISSION_PORT" --tls --h-Subject "$1" --body "clock test"
}
tags() {  # the t= of every DKIM-Signature of a message ("none" when absent)
	$PY - "$1" <<'PYEOF'
import email, sys, re
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for v in m.get_all("DKIM-Signature", []):
    t = dict((k.strip(), x.strip()) for k, _, x in (p.partition("=") for p in re.sub(r"\s+", "", v).split(";") if p))
    print(t.get("t", "none"), t.get("x", "none"))
PYEOF
}
ZEGEL_TEST_CLOCK_SKEW=$skew smtpd_start "$d/m" || not_ok "zegel run starts (1970)" "$(tail -5 "$d/m/zegel.log")"
check "1970: a message is accepted and signed" sign_one "in 1970"
smtpd_stop
msg=$(ls "$d/m/outbox"/*.eml 2>/dev/null | head -1)
t=$([ -n "$msg" ] && tags "$msg")
check "1970: both signatures without t= and x=" test "$t" = "none none
none none"
check "1970: the log says why" grep -q 'clock not plausible: DKIM signature without t=' "$d/m/zegel.log"
ed=$(dkim_pubkey_b64 "$d/m/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/m/keys/rsa.pem")
check "1970: the signatures without t= verify (dkimpy)" $PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
	--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
	--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$msg"
rm -f "$d/m/outbox"/*.eml
echo "set ntp server 127.0.0.1:$((NTP + 6))" >>"$d/m/zegel.conf"
ZEGEL_TEST_CLOCK_SKEW=$skew smtpd_start "$d/m" || not_ok "zegel run starts (1970, NTP)" "$(tail -5 "$d/m/zegel.log")"
for _ in $(seq 1 50); do grep -q 'plausible now' "$d/m/zegel.log" && break; sleep 0.1; done
check "1970 + NTP: the sync makes the clock plausible (logged)" \
	grep -qE "clock [0-9-]+T[0-9:]+Z is plausible now" "$d/m/zegel.log"
check "after the sync: a message is accepted and signed" sign_one "after the sync"
smtpd_stop
msg=$(ls "$d/m/outbox"/*.eml 2>/dev/null | head -1)
t=$([ -n "$msg" ] && tags "$msg" | head -1 | cut -d' ' -f1)
now=$(date +%s)
check "after the sync: t= is the real time (within 60 s)" \
	bash -c "[ '$t' != none ] && [ \$(( $now - ${t:-0} )) -lt 60 ] && [ \$(( ${t:-0} - $now )) -lt 60 ]"
finish
