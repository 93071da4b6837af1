#!/usr/bin/env bash
# Issue 17 point 5 through `zegel run`'s console (ports 23200-23209): TLS
# material and old LAN devices.
#   - a typo in `set tls cert` is a commit error naming the file, and the key
#     the admin named stays byte-identical (it used to be overwritten by a
#     generated key, with a certificate written at the typo's path);
#   - a key that is not the certificate's, or a key where the certificate
#     should be, is refused at commit naming both files / the file;
#   - zegel's own certificate has subjectAltName DNS:<hostname>, and a host
#     name change makes it again (served at once, same key); an admin's
#     certificate is never rewritten;
#   - a `mode no-tls` listener's EHLO has no STARTTLS (502 if tried), while
#     `mode plain` offers it;
#   - the default minimum TLS 1.2 refuses a TLS 1.1 client and accepts 1.2; a
#     listener with `tls-min 1.1` accepts it (so the refusal is the setting's);
#     `tls-min 1.3` is refused at commit with words (mbedTLS 2.28).
. "$TOP/tests/lib.sh"

d=$(tmpdir)
[ -n "$d" ] && [ -d "$d" ] || exit 1
ZPID=
cleanup() {
	[ -n "$ZPID" ] && kill "$ZPID" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
P=23200
cat >"$d/zegel.conf" <<CONF
set hostname one.zegel.test
set data-dir $d/data
set listener sub 127.0.0.1:$P mode starttls
CONF
con() { # zegel run, the console on stdin; prints what it said
	(cd "$d" && timeout 20 "$ZEGEL" run --config "${CONF:-$d/zegel.conf}" 2>&1) | sed 's/^\(zegel> \)*//'
}
san() { openssl x509 -noout -ext subjectAltName 2>/dev/null | sed -n 's/^ *\(DNS:\)/\1/p'; }

# --- zegel's own pair, generated with a subjectAltName
printf 'exit\n' | con >"$d/out0"
check "first start generates zegel's own key and certificate" \
	test -s "$d/data/tls/key.pem" -a -s "$d/data/tls/cert.pem"
check "the certificate has subjectAltName DNS:one.zegel.test" \
	test "$(san <"$d/data/tls/cert.pem")" = "DNS:one.zegel.test"
cp "$d/data/tls/key.pem" "$d/own.key.orig"

# --- the admin's own files, and a typo in the certificate's path
mkdir -p "$d/admin"
cp "$d/data/tls/key.pem" "$d/admin/key.pem"
cp "$d/data/tls/cert.pem" "$d/admin/cert.pem"
cp "$d/admin/key.pem" "$d/admin.key.orig"
printf 'set tls key %s\nset tls cert %s\ncommit\nexit\n' "$d/admin/key.pem" "$d/admin/crt.pem" |
	con >"$d/out1"
check "a missing certificate path is a commit error naming the file" \
	grep -qF "error: commit: tls cert $d/admin/crt.pem does not exist" "$d/out1"
check "the key the admin named is byte-identical afterwards" cmp "$d/admin/key.pem" "$d/admin.key.orig"
check_not "no certificate was written at the typo's path" test -e "$d/admin/crt.pem"
check "zegel's own key is untouched too" cmp "$d/data/tls/key.pem" "$d/own.key.orig"

# --- certificate and key that do not belong together
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/admin/other.key" 2>/dev/null
printf 'set tls cert %s\nset tls key %s\ncommit\ndiscard\nset tls cert %s\nset tls key %s\ncommit\nexit\n' \
	"$d/admin/cert.pem" "$d/admin/other.key" "$d/admin/key.pem" "$d/admin/key.pem" | con >"$d/out2"
check "a key that is not the certificate's is refused at commit, naming both files" \
	grep -qF "error: commit: tls key $d/admin/other.key does not belong to tls cert $d/admin/cert.pem" "$d/out2"
check "a key file given as the certificate is refused, naming it" \
	grep -qF "error: commit: tls cert $d/admin/key.pem: not a certificate" "$d/out2"
check_not "neither commit went through" grep -q '^commit: ok' "$d/out2"

# --- a matching admin pair is taken and never rewritten, not on a host name change either
printf 'set tls cert %s\nset tls key %s\nset hostname three.zegel.test\ncommit\nsave\nexit\n' \
	"$d/admin/cert.pem" "$d/admin/key.pem" | con >"$d/out3"
check "the matching pair commits" grep -q '^commit: ok' "$d/out3"
check "the admin's certificate is not rewritten on a host name change" \
	cmp "$d/admin/cert.pem" "$d/data/tls/cert.pem"
printf 'delete tls\nset hostname one.zegel.test\ncommit\nsave\nexit\n' | con >"$d/out4"
check "'delete tls' returns to zegel's own pair" grep -q '^commit: ok' "$d/out4"
check_not "... and the saved configuration names no TLS file" grep -q '^set tls' "$d/zegel.conf"

# --- a saved configuration whose certificate went missing still starts (no
# boot loop over a lost file), says why, writes nothing; the console refuses it
{ cat "$d/zegel.conf"; echo "set tls cert $d/admin/gone.pem"; echo "set tls key $d/admin/key.pem"; } >"$d/gone.conf"
{ printf 'show running\n'; sleep 2; printf 'commit\nset hostname four.zegel.test\ncommit\nexit\n'; } |
	CONF="$d/gone.conf" con >"$d/out5" &
cpid=$!
gone_ehlo=$($PY - "$P" <<'PYEOF' 2>&1
import smtplib, sys, time
s = None
for _ in range(30):
    try:
        s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5)
        break
    except OSError:
        time.sleep(0.05)
s.ehlo("printer.lan")
print("starttls" if s.has_extn("starttls") else "no-starttls")
s.close()
PYEOF
)
wait "$cpid"
check "a start with a missing admin certificate runs, logging why TLS is unavailable" \
	grep -qF "TLS unavailable: tls cert $d/admin/gone.pem: cannot read" "$d/out5"
check "... its console answers" grep -q "^set tls cert $d/admin/gone.pem" "$d/out5"
check "... its STARTTLS listener offers no STARTTLS it could not do" test "$gone_ehlo" = no-starttls
check "... a commit there is refused naming the file" \
	grep -qF "error: commit: tls cert $d/admin/gone.pem does not exist" "$d/out5"
check "... and the admin's key is byte-identical" cmp "$d/admin/key.pem" "$d/admin.key.orig"
check_not "... no certificate written" test -e "$d/admin/gone.pem"

# --- a running zegel: host name change, listener modes, minimum versions
mkfifo "$d/in"
(cd "$d" && exec "$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >"$d/run.log" 2>&1) &
ZPID=$!
exec 7>"$d/in"
send() { printf '%s\n' "$@" >&7; }
wait_log() { # PATTERN [N]: wait up to 10 s for N (1) lines matching it in the console output
	local i
	for i in $(seq 1 100); do
		[ "$(grep -cE "$1" "$d/run.log")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
served_san() { # PORT [s_client options]: the served certificate's SAN
	local port=$1
	shift
	timeout 10 openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null 2>/dev/null | san
}
send "set listener smtps 127.0.0.1:$((P + 1)) mode tls" \
	"set listener old 127.0.0.1:$((P + 2)) mode tls tls-min 1.1" \
	"set listener printer 127.0.0.1:$((P + 3)) mode no-tls" \
	commit
check "listeners with tls-min 1.1 and mode no-tls commit" wait_log 'commit: ok, generation'
check "the no-tls listener is logged as such" \
	wait_log "listening on 127.0.0.1:$((P + 3)) \(printer, no TLS, STARTTLS not offered\)"
check "the tls-min 1.1 listener says so" \
	wait_log "listening on 127.0.0.1:$((P + 2)) \(old, implicit TLS, TLS 1.1 allowed\)"
check "the served certificate names one.zegel.test" \
	test "$(served_san $((P + 1)))" = "DNS:one.zegel.test"
send "set hostname two.zegel.test" commit
check "a host name change commits" wait_log 'commit: ok' 2
check "zegel logs the new certificate" wait_log 'made again for two.zegel.test' 
check "the certificate file now names two.zegel.test" \
	test "$(san <"$d/data/tls/cert.pem")" = "DNS:two.zegel.test"
check "the served certificate names two.zegel.test at once (STARTTLS)" \
	test "$(served_san $P -starttls smtp)" = "DNS:two.zegel.test"
check "with the same key" cmp "$d/data/tls/key.pem" "$d/own.key.orig"

ehlo=$($PY - "$((P + 3))" "$P" <<'PYEOF' 2>&1
import smtplib, sys
for port in sys.argv[1:]:
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
    s.ehlo("printer.lan")
    print(port, "starttls" if s.has_extn("starttls") else "no-starttls", s.docmd("STARTTLS")[0])
    s.close()
PYEOF
)
echo "$ehlo" | sed 's/^/# /'
check "a no-tls listener's EHLO has no STARTTLS, and STARTTLS is 502" \
	grep -qx "$((P + 3)) no-starttls 502" <<<"$ehlo"
check "a starttls listener still offers it" grep -qx "$P starttls 220" <<<"$ehlo"

s11=(-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
proto() { # PORT [s_client options]: the version agreed, or "none"
	local o
	o=$(timeout 10 openssl s_client -connect "127.0.0.1:$1" "${@:2}" </dev/null 2>&1)
	if grep -q 'Cipher is (NONE)' <<<"$o" || ! grep -q 'Cipher is' <<<"$o"; then
		echo none
	else
		sed -n 's/^ *Protocol *: *//p' <<<"$o" | head -1
	fi
}
if [ "$(proto $((P + 2)) "${s11[@]}")" = "TLSv1.1" ]; then
	ok "a tls-min 1.1 listener accepts a TLS 1.1 client (openssl s_client -tls1_1, SECLEVEL=0)"
	r=$(proto $((P + 1)) "${s11[@]}")
	check "the default (1.2) refuses that TLS 1.1 client on implicit TLS" test "$r" = none
	r=$(proto $P -starttls smtp "${s11[@]}")
	check "... and after STARTTLS" test "$r" = none
	check "zegel logs why" wait_log 'TLS handshake failed with \[127.0.0.1\]: .*(min/max|version)'
else
	skip "TLS 1.1 refusal" "this host's OpenSSL cannot speak TLS 1.1 even at SECLEVEL=0, or zegel's mbedTLS lacks it"
fi
check "the default accepts TLS 1.2" test "$(proto $((P + 1)) -tls1_2)" = "TLSv1.2"

send "set listener old 127.0.0.1:$((P + 2)) tls-min 1.3" commit discard
check "tls-min 1.3 is refused at commit with words, not served as 1.2" \
	wait_log 'error: commit: listener old: tls-min 1.3: TLS 1.3 is not available: this build.s mbedTLS [0-9.]+ has no TLS 1.3 server'
send save exit
exec 7>&-
wait "$ZPID"
rc=$?
ZPID=
check "exit stops zegel cleanly" test "$rc" -eq 0
check "save wrote the listener options back" \
	grep -q "^set listener old 127.0.0.1:$((P + 2)) mode tls auth-plaintext off tls-min 1.1$" "$d/zegel.conf"
check "... and mode no-tls" grep -q "^set listener printer 127.0.0.1:$((P + 3)) mode no-tls" "$d/zegel.conf"
sed 's/^/# /' "$d/run.log" | tail -40
finish
