#!/usr/bin/env bash
# Issue 20: one busy or hostile LAN host must not stop the office's mail.
# Attackers on loopback source addresses keep the session pool full: from
# 127.0.0.2 idle sessions, one-octet drips inside a command line and inside
# DATA, and more connections than its per-address cap; from 127.0.0.3-5 idle
# sessions up to the cap; every attacker session is reopened as soon as it
# ends. Meanwhile a printer (127.0.0.9) sends 50 messages, one connection
# each. Proven: all 50 accepted within 30 s (each connection sheds an idle
# session), the cap's extras refused with 421 4.7.0, a command drip ends in
# 421 4.4.2 by the command deadline (3 s + 1 s), a DATA drip by the rate
# window (2 s + 1 s) with its message discarded (no spool file, nothing in
# the outbox but the 50), zegel's RSS below 4 MiB less glibc (see the
# check). Then a TLS handshake that
# stalls (implicit TLS, and after STARTTLS) is closed by the command deadline.
# Short limits keep it quick (about 30 s); at most ~1,500 connections.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'smtpd_stop; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22670
cat >>"$d/zegel.conf" <<CONF
set network 127.0.0.0/8
set smtpd per-address-limit 8
set smtpd idle-timeout 10s
set smtpd command-timeout 3s
set smtpd transaction-timeout 20s
set smtpd min-data-rate 200 window 2s
set smtpd shed-idle 1s
CONF
if ! smtpd_start "$d"; then
	not_ok "zegel run starts" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts"
max=$(sed -n 's/^CONFIG_MAX_SESSIONS=//p' "$TOP/build/host/.config")
[ "${max:-32}" = 32 ] || skip "pool of 32 sessions" "CONFIG_MAX_SESSIONS=$max: the suite assumes 32"

out=$($PY "$TOP/tests/e2e/smtpd_fair.py" "$SUBMISSION_PORT" "$SMTPD_PID" 15 8 2>&1)
echo "$out" | sed 's/^/# /'
val() { sed -n "s/^$1 //p" <<<"$out" | head -1; }

check "50 of 50 legitimate messages accepted" test "$(val legit_ok)" = 50
check "... within 30 s ($(val legit_seconds) s)" awk -v t="$(val legit_seconds)" 'BEGIN { exit !(t != "" && t < 30) }'
# a retry is a 421 4.3.2 at a moment when every attacker session was younger
# than shed-idle (they are reopened at once): 0 in most runs, 8 seen once on
# a loaded machine; the bound is that this stays occasional
check "... at most 15 retries (421 4.3.2 while no session was idle long enough: $(val legit_retries))" \
	test "$(val legit_retries)" -le 15
check "127.0.0.2 beyond its cap of 8 gets 421 4.7.0" grep -q '^refused 127.0.0.2 421_4.7.0' <<<"$out"
check_not "no other refusal reached an attacker at its cap with 4.3.2 (the cap comes first)" \
	grep -q '^refused 127.0.0.2 421_4.3.2' <<<"$out"
check "command drips ended by 421 4.4.2" grep -q "^dripcmd_last.*'421 4.4.2'" <<<"$out"
check "... no command drip lived past 3 s + 1 s (longest $(val dripcmd_max_life) s)" \
	awk -v t="$(val dripcmd_max_life)" 'BEGIN { exit !(t != "" && t < 4.5) }'
check "DATA drips ended by 421 4.4.2" grep -q "^dripdata_last.*'421 4.4.2'" <<<"$out"
check "... no DATA drip lived past its rate window (longest $(val dripdata_max_life) s)" \
	awk -v t="$(val dripdata_max_life)" 'BEGIN { exit !(t != "" && t < 4.5) }'
check "idle sessions were shed with 421 4.4.2" grep -q "^idle_last.*'421 4.4.2'" <<<"$out"
check "... none lived past the idle timeout (longest $(val idle_max_life) s)" \
	awk -v t="$(val idle_max_life)" 'BEGIN { exit !(t != "" && t < 11.5) }'
# The 4 MiB budget is the router's: there uClibc-ng is linked in statically
# (the whole mipsel binary's text is ~670 KiB). On this host the shared glibc
# alone touches ~1.7 MiB, and how much varies with the machine's glibc build
# (4112 KiB in total on one CI machine, 3996 here), so the check counts every
# page but glibc's against 4 MiB less 512 KiB left for a static C library.
echo "# total RSS $(val rss_max_kib) KiB, of it glibc $(val rss_glibc_at_max_kib) KiB, anonymous at most $(val rss_anon_max_kib) KiB"
check "zegel RSS without the host's shared glibc stayed below 3.5 MiB ($(val rss_without_glibc_kib) KiB)" \
	test "$(val rss_glibc_at_max_kib)" -gt 0 -a "$(val rss_without_glibc_kib)" -gt 0 -a "$(val rss_without_glibc_kib)" -lt 3584
check "the refusals are logged with the address" \
	grep -q 'too many sessions from \[127.0.0.2\] (8, limit 8): refused' "$d/zegel.log"
check "the deadlines are logged" grep -q 'deadline from \[127.0.0.2\]: command not completed in time' "$d/zegel.log"
check "the slow data is logged and its message discarded" \
	grep -q 'discarded from \[127.0.0.2\]: message data arriving too slowly' "$d/zegel.log"
check "the shedding is logged" grep -q 'closed idle session of \[127.0.0.[2-5]\].* to admit \[127.0.0.9\]' "$d/zegel.log"
# a TLS handshake that never comes is timed like a command (465 and STARTTLS)
tls=$($PY - "$TLS_PORT" "$SUBMISSION_PORT" <<'PYEOF'
import socket, sys, time
def life(port, starttls):
    s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=("127.0.0.6", 0))
    if starttls:
        s.recv(512)
        s.sendall(b"EHLO x\r\n"); time.sleep(0.2); s.recv(4096)
        s.sendall(b"STARTTLS\r\n"); time.sleep(0.2); s.recv(512)
    s.sendall(b"\x16\x03")       # the start of a ClientHello, then nothing
    t = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    return time.monotonic() - t
print("implicit %.1f" % life(int(sys.argv[1]), False))
print("starttls %.1f" % life(int(sys.argv[2]), True))
PYEOF
)
echo "$tls" | sed 's/^/# /'
check "a stalled TLS handshake on the implicit-TLS port is closed by the command deadline" \
	awk -v t="$(sed -n 's/^implicit //p' <<<"$tls")" 'BEGIN { exit !(t != "" && t >= 2 && t < 5) }'
check "... and one after STARTTLS" \
	awk -v t="$(sed -n 's/^starttls //p' <<<"$tls")" 'BEGIN { exit !(t != "" && t >= 2 && t < 5) }'
n=$(grep -l '^Subject: legit' "$d"/outbox/*.eml 2>/dev/null | wc -l)
check "exactly the 50 legitimate messages in the outbox ($n)" test "$n" = 50
check_not "no dripped message in the outbox" grep -lq '^Subject: drip' "$d"/outbox/*.eml
smtpd_stop
# the spool keeps its scratch files for reuse, emptied (issue 22.2)
check "no spool file left behind (only emptied scratch files)" \
	test -z "$(find "$d/data/spool" -type f ! \( -name 'scratch-*' -empty \) 2>/dev/null)"
finish
