#!/usr/bin/env bash
# The DANE cases of tests/e2e/lib/dane_env.sh through zegel's direct
# delivery: swaks submits one message per case domain to `zegel run`
# (relay direct, mx-port 42025, the world's resolver and trust anchor);
# zegel queues it, looks up MX/A/TLSA with its validating stub and delivers
# to the real Postfix receivers, or not. Each case is checked
#   - in zegel's log: to=<rcpt@DOMAIN>, relay=HOST[IP]:PORT,
#     tls=TLSv1.2 verified=dane|none or tls=none, status=sent, or
#     status=deferred (4.7.5 ...) where authentication failed;
#   - at the receiver: delivered or not, by which MX host ("by HOST"), over
#     TLS or not ("using TLSv1.2"), and the delivered message verifies with
#     dkimpy; the STARTTLS stripper saw no MAIL command.
# Ports: zegel 42100-42103; the world 127.0.42.0/24 (see dane_env.sh).
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/dane_env.sh"
dane_env_netns "$0" "$@"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

why=$(dane_env_need)
if [ -n "$why" ]; then
	skip "DANE direct delivery" "$why"
	finish
	exit 0
fi
d=$(tmpdir)
trap 'smtpd_stop; dane_env_stop; rm -rf "$d"' EXIT

# zegel's configuration first: a binary without direct mode says so here
smtpd_env_setup "$d" 42100
sed -i '/^set relay outbox/d' "$d/zegel.conf"
cat >>"$d/zegel.conf" <<CONF
set log-level debug
set relay direct
set relay mx-port $DANE_PORT
set resolver $DANE_RESOLVER
set resolver-anchors $d/w/anchor.zone
CONF
not_built() { # the binary's own words that direct mode is not in it
	grep -E "relay direct: not built|unknown setting '(relay direct|relay mx-port|resolver-anchors|resolver)'|No relay target available in this build" <<<"$1" | head -1
}
# zegel first (it needs no DNS before the first delivery): a binary without
# direct mode refuses the configuration at once
"$ZEGEL" run --config "$d/zegel.conf" --no-console >"$d/zegel.log" 2>&1 </dev/null &
SMTPD_PID=$!
up=0
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null && { up=1; break; }
	kill -0 "$SMTPD_PID" 2>/dev/null || break
	sleep 0.1
done
if [ $up = 0 ]; then
	nb=$(not_built "$(cat "$d/zegel.log")")
	if [ -n "$nb" ]; then
		skip "DANE direct delivery" "direct mode not built: $nb"
		finish
		exit 0
	fi
	not_ok "zegel run starts in direct mode" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts (relay direct, mx-port $DANE_PORT, resolver $DANE_RESOLVER, private anchor)"

t0=$(date +%s%N)
if ! dane_env_setup "$d/w"; then
	not_ok "test PKI, signed tree and Postfix config" "$DANE_ENV_ERR"
	finish
	exit 1
fi
if ! dane_env_start; then
	not_ok "NSD, Unbound, Postfix and the STARTTLS stripper are up" "$DANE_ENV_ERR"
	finish
	exit 1
fi
ok "DANE world up in $((($(date +%s%N) - t0) / 1000000)) ms"

# ---------------------------------------------------------------- submit
declare -A ID
submit() { # case domain
	timeout 30 swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
		--from printer@example.test --to "rcpt@$2" --h-From printer@example.test \
		--h-Subject "DANE case $1" --body "Case $1 for $2.
.a line with a leading dot" 2>&1
}
first=1
while read -r c dom want host what; do
	[ -n "$c" ] || continue
	out=$(submit "$c" "$dom")
	id=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
	if [ $first = 1 ] && [ -z "$id" ]; then
		nb=$(not_built "$out")
		if [ -n "$nb" ]; then
			skip "DANE direct delivery" "direct mode not built: $nb"
			finish
			exit 0
		fi
	fi
	first=0
	if [ -n "$id" ]; then
		ID[$c]=$id
	else
		not_ok "$c: swaks gets 250 2.0.0 queued as ID" "$(tail -8 <<<"$out")"
	fi
done <<<"$DANE_CASES"
[ ${#ID[@]} -gt 0 ] && ok "${#ID[@]} messages queued (250 2.0.0 queued as ID)"

# ---------------------------------------------------------------- outcomes
# outcome CASE DOMAIN: zegel's first final-or-deferred log line for it
outcome() {
	grep -E "${ID[$1]}: to=<rcpt@$2>, relay=.*status=(sent|deferred|bounced)" "$d/zegel.log" | head -1
}
t1=$(date +%s)
for _ in $(seq 1 600); do # 60 s at most for all of them
	missing=0
	while read -r c dom rest; do
		[ -n "$c" ] && [ -n "${ID[$c]:-}" ] || continue
		[ -n "$(outcome "$c" "$dom")" ] || { missing=1; break; }
	done <<<"$DANE_CASES"
	[ $missing = 0 ] && break
	sleep 0.1
done
ok "zegel logged an outcome for every case in $(($(date +%s) - t1)) s" # (each checked below)
sleep 1 # Postfix's virtual delivery and postlogd

P='127\.0\.42\.[0-9]+'
while read -r c dom want host what; do
	[ -n "$c" ] && [ -n "${ID[$c]:-}" ] || continue
	line=$(outcome "$c" "$dom")
	h=${host//./\\.}
	case $want in
	verified) re="relay=$h\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=dane, status=sent \(250 " ;;
	encrypted) re="relay=$h\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=none, status=sent \(250 " ;;
	plaintext) re="relay=$h\[$P\]:$DANE_PORT, tls=none, status=sent \(250 " ;;
	deferred)
		case $c in
		mismatch | tabad | tanochain | mitm | strip) re="status=deferred \(([0-9]{3} )?4\.7\.5 " ;;
		*) re="status=deferred \(([0-9]{3} )?4\.[0-9]+\.[0-9]+ " ;;
		esac
		;;
	esac
	if grep -qE -- "$re" <<<"$line"; then
		ok "$c: log: ${line#*: to=}"
	else
		not_ok "$c: $what: zegel's log should match /$re/" "${line:-no outcome logged}
$(grep -F "${ID[$c]}" "$d/zegel.log" | tail -8)"
	fi
	if [ "$want" = deferred ]; then
		if grep -qE "${ID[$c]}: to=<rcpt@$dom>, .*status=sent" "$d/zegel.log"; then
			not_ok "$c: never sent" "$(grep -F "${ID[$c]}" "$d/zegel.log")"
		fi
		n=$(dane_mail_count "$dom")
		[ "$n" = 0 ] && ok "$c: receiver: nothing delivered" ||
			not_ok "$c: receiver: nothing delivered" "$n message(s) in $dom"
		continue
	fi
	if ! dane_mail_wait "$dom" 1 10; then
		not_ok "$c: receiver: delivered to $host" "$(tail -5 "$d/w/pf/maillog")"
		continue
	fi
	f=$(dane_mail_files "$dom" | head -1)
	rcvd=$(dane_first_received "$f")
	if [ "$want" = plaintext ]; then
		grep -q "using TLS" <<<"$rcvd" && r=1 || r=0
		tlsword="in plaintext (the policy allows it here)"
	else
		grep -q "using TLSv1\.2" <<<"$rcvd" && r=0 || r=1
		tlsword="over TLSv1.2"
	fi
	if [ $r = 0 ] && grep -q "by $host (Postfix)" <<<"$rcvd"; then
		ok "$c: receiver: delivered by $host $tlsword"
	else
		not_ok "$c: receiver: delivered by $host $tlsword" "$rcvd"
	fi
	check "$c: the delivered message verifies with dkimpy (ed25519 + rsa)" \
		$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$(dkim_pubkey_b64 "$d/keys/ed.pem")" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$(dkim_pubkey_b64 "$d/keys/rsa.pem")" "$f"
done <<<"$DANE_CASES"

for h in mx.ee.dane mx.cname.dane; do
	if dane_maillog $h | grep -q 'SNI .* not matched'; then
		not_ok "receiver $h: SNI was the TLSA base domain" "$(dane_maillog $h | grep SNI)"
	else
		ok "receiver $h: SNI was the TLSA base domain"
	fi
done
# the attacks, seen from the network side
if grep -q stripped "$d/w/mitm_strip.log" && ! grep -q "client: MAIL" "$d/w/mitm_strip.log"; then
	ok "strip: STARTTLS was stripped and zegel sent no MAIL in plaintext"
else
	not_ok "strip: STARTTLS stripped, no MAIL in plaintext" "$(cat "$d/w/mitm_strip.log")"
fi
for h in mx.servfail.dane mx.bogustlsa.dane mx.bogusmx.dane; do
	n=$(dane_maillog $h | grep -c 'connect from')
	[ "$n" = 0 ] && ok "receiver $h: never connected to" ||
		not_ok "receiver $h: never connected to" "$(dane_maillog $h)"
done
for h in mx.mitm.dane mx1.twomx.dane mx.mismatch.dane mx.tabad.dane mx.tanochain.dane; do
	if dane_maillog $h | grep -qE 'disconnect from .* mail=' ||
		grep -q "by $h (Postfix)" "$d"/w/pf/mail/*/new/* 2>/dev/null; then
		not_ok "receiver $h: no MAIL command reached it" "$(dane_maillog $h)"
	else
		ok "receiver $h: no MAIL command reached it"
	fi
done

# ---------------------------------------------------------------- require-tls
# the same zegel with `set relay require-tls on` (and a fresh queue): the
# insecure domain is still delivered over TLS, the one without STARTTLS must
# wait — never plaintext where TLS is required
smtpd_stop
sed -e "s|^set data-dir .*|set data-dir $d/data2|" "$d/zegel.conf" >"$d/zegel2.conf"
echo "set relay require-tls on" >>"$d/zegel2.conf"
mv "$d/zegel.log" "$d/zegel1.log"
"$ZEGEL" run --config "$d/zegel2.conf" --no-console >"$d/zegel.log" 2>&1 </dev/null &
SMTPD_PID=$!
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run restarts with require-tls on" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
before_plain=$(dane_mail_count plain.dane) before_insec=$(dane_mail_count insec.dane)
for c in plain insec; do
	out=$(submit "$c-require-tls" "$c.dane")
	ID[$c]=$(sed -n 's/^<~ *250 2\.0\.0 queued as \([^ ]*\).*/\1/p' <<<"$out" | tail -1)
	[ -n "${ID[$c]}" ] || not_ok "require-tls: $c: queued" "$(tail -8 <<<"$out")"
done
for _ in $(seq 1 300); do
	[ -n "$(outcome plain plain.dane)" ] && [ -n "$(outcome insec insec.dane)" ] && break
	sleep 0.1
done
sleep 1
line=$(outcome plain plain.dane)
if grep -qE "relay=[^,]*, tls=none, status=deferred \(([0-9]{3} )?4\.[0-9]+\.[0-9]+ " <<<"$line"; then
	ok "require-tls: plain.dane (no STARTTLS offered) deferred: ${line#*: to=}"
else
	not_ok "require-tls: plain.dane must be deferred" "${line:-no outcome}
$(tail -5 "$d/zegel.log")"
fi
[ "$(dane_mail_count plain.dane)" = "$before_plain" ] && ok "require-tls: nothing more reached mx.plain.dane" ||
	not_ok "require-tls: nothing more reached mx.plain.dane"
line=$(outcome insec insec.dane)
if grep -qE "relay=mx\.insec\.dane\[$P\]:$DANE_PORT, tls=TLSv1\.2 verified=none, status=sent \(250 " <<<"$line"; then
	ok "require-tls: insec.dane delivered over TLS: ${line#*: to=}"
else
	not_ok "require-tls: insec.dane delivered over TLS" "${line:-no outcome}"
fi
[ "$(dane_mail_count insec.dane)" = $((before_insec + 1)) ] && ok "require-tls: mx.insec.dane got it" ||
	not_ok "require-tls: mx.insec.dane got it" "$(dane_mail_count insec.dane) messages"
# with an ASan/UBSan build as ZEGEL (ZEGEL=build/host-asan/zegel) reports
# land in zegel's log, leaks at exit included
smtpd_stop
if grep -qE 'Sanitizer|runtime error' "$d/zegel1.log" "$d/zegel.log"; then
	not_ok "zegel's logs have no sanitizer reports" "$(grep -hE -A5 'Sanitizer|runtime error' "$d/zegel1.log" "$d/zegel.log" | head -20)"
else
	ok "zegel's logs have no sanitizer reports"
fi
finish
