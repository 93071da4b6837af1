#!/usr/bin/env bash
# Privilege separation of `zegel run` (issue 20.2; firmware/privsep/):
# started as root WITHOUT --allow-root (tests/run.sh sets ZEGEL_ALLOW_ROOT=1
# for the other suites; this one unsets it), so the default drop is tested:
#   - the network process runs as the user (nobody here; zegel, uid 100, on
#     the images), with seccomp mode 2, no_new_privs and exactly
#     CAP_NET_BIND_SERVICE + CAP_SYS_TIME; the key holder stays root;
#   - the network process cannot open the key files (setpriv as its uid,
#     and from inside it through the test-only hook, SIGUSR1);
#   - its file writes are confined by Landlock: it cannot create a file
#     outside the data dir and the configuration's directory (hook
#     SIGHUP: EACCES, no file), it can inside; `save` still writes;
#     `show status` and the log say so;
#   - mail is still signed (dkimpy verifies both signatures);
#   - a forbidden system call (hook SIGUSR2: mount) kills it by SIGSYS, and
#     the key holder follows it;
#   - SIGSEGV after a message was accepted loses nothing;
#   - under a restart loop emulating init, 20 SIGKILLs of the network
#     process and 20 of the key holder while messages are submitted lose
#     no accepted message.
# Ports: zegel 47940-47943.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
unset ZEGEL_ALLOW_ROOT
RUNAS=${ZEGEL_TEST_PRIVSEP_USER:-nobody}
KILLS=${PRIVSEP_KILLS:-20}

if [ "$(id -u)" != 0 ]; then
	skip "privilege separation" "needs root (zegel starts as root and drops it)"
	finish
	exit 0
fi
if ! id -u "$RUNAS" >/dev/null 2>&1; then
	not_ok "user $RUNAS exists"
	finish
	exit 1
fi
uid=$(id -u "$RUNAS")
gid=$(id -g "$RUNAS")
d=$(mktemp -d /tmp/zt-privsep-e2e.XXXXXX)
chmod 755 "$d"
# outside the data dir and the config's dir; /tmp lets $RUNAS create it
OUTSIDE=$(mktemp -u /tmp/zt-privsep-out.XXXXXX)
ZPID= SUP= SUBPID=
zkill() { [ -n "$ZPID" ] && kill -9 "$ZPID" 2>/dev/null; [ -n "$ZPID" ] && wait "$ZPID" 2>/dev/null; ZPID=; }
cleanup() {
	touch "$d/stop"
	[ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null
	[ -n "$SUP" ] && { kill "$(cat "$d/pid" 2>/dev/null)" 2>/dev/null; kill "$SUP" 2>/dev/null; wait "$SUP" 2>/dev/null; }
	zkill
	rm -rf "$d" "$OUTSIDE" "$OUTSIDE-dd"
}
trap cleanup EXIT

smtpd_env_setup "$d" 47940
mkdir -p "$d/data"
chown -R "$uid:$gid" "$d/data" "$d/outbox"
# the keys stay root's, 0600, outside the data dir (as the other suites)
zstart() { # start zegel as root with the default drop; 1 if it does not listen
	ZEGEL_TEST_HOOKS=1 ZEGEL_TEST_KEYREAD="$d/keys/rsa.pem" \
		ZEGEL_TEST_WRITEOUT="$OUTSIDE" ZEGEL_TEST_WRITEIN="$d/data/hook-in" \
		"$ZEGEL" run --config "$d/zegel.conf" --no-console --user "$RUNAS" \
		>>"$d/zegel.log" 2>&1 </dev/null &
	ZPID=$!
	for _ in $(seq 1 100); do
		grep -q "privsep: network process pid $ZPID" "$d/zegel.log" 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null && return 0
		kill -0 "$ZPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
holder_of() { pgrep -P "$1" | head -1; }
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
send() { # send one message with Subject $1; prints the queue id or nothing
	swaks --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls --from printer@example.test \
		--to rcpt@example.net --h-Subject "$1" --body "privsep $1" 2>&1 |
		sed -n 's/^<~ *250 2\.0\.0 .*queued as \([A-Za-z0-9]*\).*/\1/p'
}

if ! zstart; then
	not_ok "zegel run starts as root and drops to $RUNAS" "$(tail -20 "$d/zegel.log")"
	finish
	exit 1
fi
ok "zegel run starts as root and drops to $RUNAS (pid $ZPID)"
H=$(holder_of "$ZPID")
check "the key holder is a child process (pid ${H:-none})" test -n "$H"
check "network process: Uid $uid (real, effective, saved, fs)" \
	test "$(status_field "$ZPID" Uid | tr -s '\t ' ' ')" = "$uid $uid $uid $uid"
check "network process: Gid $gid, no supplementary groups but its own" \
	test "$(status_field "$ZPID" Gid | tr -s '\t ' ' ')" = "$gid $gid $gid $gid"
check "network process: Seccomp 2 (filter)" test "$(status_field "$ZPID" Seccomp)" = 2
check "network process: NoNewPrivs 1" test "$(status_field "$ZPID" NoNewPrivs)" = 1
check "network process: CapEff is CAP_NET_BIND_SERVICE + CAP_SYS_TIME only" \
	test "$(status_field "$ZPID" CapEff)" = 0000000002000400
check "network process: CapPrm the same, nothing inheritable" \
	test "$(status_field "$ZPID" CapPrm)/$(status_field "$ZPID" CapInh)" = 0000000002000400/0000000000000000
if [ -n "$H" ]; then
	check "key holder: runs as root (it reads the key files)" \
		test "$(status_field "$H" Uid | cut -f1)" = 0
	check "key holder: named zegel-keys" test "$(cat /proc/$H/comm)" = zegel-keys
fi
check "the log says how it runs" grep -q "privsep: network process pid $ZPID as $RUNAS (uid $uid), key holder pid $H as root; seccomp filter on" "$d/zegel.log"

# the key files: not readable by the network process's uid
check_not "uid $uid cannot read the RSA key (setpriv)" \
	setpriv --reuid="$uid" --regid="$gid" --clear-groups cat "$d/keys/rsa.pem"
check_not "uid $uid cannot read the Ed25519 key (setpriv)" \
	setpriv --reuid="$uid" --regid="$gid" --clear-groups cat "$d/keys/ed.pem"
kill -USR1 "$ZPID"
for _ in $(seq 1 30); do grep -q "privsep-hook: open $d/keys/rsa.pem:" "$d/zegel.log" && break; sleep 0.1; done
check "the network process itself cannot open the key (hook: Permission denied)" \
	grep -q "privsep-hook: open $d/keys/rsa.pem: Permission denied" "$d/zegel.log"

# Landlock: writes only beneath the data dir and the config file's dir
if [ "$(status_field "$ZPID" Seccomp)" = 2 ]; then # the hook needs the filter's process
	rm -f "$d/data/hook-in"
	kill -HUP "$ZPID"
	for _ in $(seq 1 30); do grep -q "privsep-hook: create $d/data/hook-in:" "$d/zegel.log" && break; sleep 0.1; done
fi
check "the log says the writes are confined ($d/data, $d)" \
	grep -q "privsep\[$ZPID\]: writes confined by landlock (ABI [0-9]*) to $d/data, $d\$" "$d/zegel.log"
check "the network process cannot create a file outside the data dir (hook: Permission denied)" \
	grep -q "privsep-hook: create $OUTSIDE: Permission denied (13)" "$d/zegel.log"
check_not "and the file is not there" test -e "$OUTSIDE"
check "it creates one inside the data dir (hook)" \
	grep -q "privsep-hook: create $d/data/hook-in: ok" "$d/zegel.log"
check "the file is there, owned by uid $uid" test "$(stat -c %u "$d/data/hook-in" 2>/dev/null)" = "$uid"

# mail is signed through the key holder
id1=$(send "signed")
check "a message is accepted (${id1:-no id})" test -n "$id1"
ed=$(dkim_pubkey_b64 "$d/keys/ed.pem")
rsa=$(dkim_pubkey_b64 "$d/keys/rsa.pem")
verify() {
	$PY "$TOP/tests/e2e/dkim_verify.py" --min-sigs 2 \
		--key "ed._domainkey.example.test=v=DKIM1; k=ed25519; p=$ed" \
		--key "rsa._domainkey.example.test=v=DKIM1; k=rsa; p=$rsa" "$@"
}
check "its two signatures (ed25519, rsa) verify with dkimpy" verify "$d/outbox/$id1.eml"

# a forbidden system call kills, it does not pass
kill -USR2 "$ZPID"
wait "$ZPID"
rc=$?
ZPID=
check "a forbidden system call (mount) kills the network process by SIGSYS (status $rc)" test "$rc" = 159
check "the log names the call" grep -q "seccomp: forbidden system call [0-9]" "$d/zegel.log"
check_not "the call did not return" grep -q "NO SECCOMP FILTER" "$d/zegel.log"
for _ in $(seq 1 30); do kill -0 "$H" 2>/dev/null || break; sleep 0.1; done
check_not "the key holder exits with it" kill -0 "$H"

# SIGSEGV after an accepted message
zstart || not_ok "zegel restarts" "$(tail -5 "$d/zegel.log")"
id2=$(send "before segv")
check "a message is accepted before the crash (${id2:-no id})" test -n "$id2"
H=$(holder_of "$ZPID")
kill -SEGV "$ZPID"
wait "$ZPID"
rc=$?
ZPID=
check "SIGSEGV ends the network process (status $rc)" test "$rc" = 139
check "the message accepted before the crash is there and verifies" verify "$d/outbox/$id2.eml"
for _ in $(seq 1 30); do kill -0 "$H" 2>/dev/null || break; sleep 0.1; done
check_not "the key holder exits after the crash" kill -0 "$H"
zstart || not_ok "zegel restarts after the crash" "$(tail -5 "$d/zegel.log")"
id3=$(send "after segv")
check "after the restart mail is signed again (${id3:-no id})" verify "$d/outbox/$id3.eml"
zkill

# the console of a dropped, confined zegel: show status, save beside the config
chown "$uid:$gid" "$d/zegel.conf"
chmod 644 "$d/zegel.conf"
chown "$uid:$gid" "$d"
rm -f "$d/zegel.conf.1"
cp -p "$d/zegel.conf" "$d/zegel.conf.orig"
st=$(printf 'show status\nset hostname saved.zegel.test\ncommit\nsave\nset data-dir %s\ncommit\nexit\nexit\n' "$OUTSIDE-dd" |
	timeout 20 "$ZEGEL" run --config "$d/zegel.conf" --user "$RUNAS" 2>&1)
check "show status: privsep: writes confined by landlock to $d/data, $d" \
	grep -q "^privsep: writes confined by landlock (ABI [0-9]*) to $d/data, $d\$" <<<"$st"
check "save writes the configuration beside it (says so, zegel.conf.1 kept)" \
	grep -q "save: wrote $d/zegel.conf" <<<"$st"
check "the saved file has the change, the kept one not" \
	test "$(grep -c '^set hostname saved.zegel.test' "$d/zegel.conf" "$d/zegel.conf.1" | tr '\n' ' ')" = "$d/zegel.conf:1 $d/zegel.conf.1:0 "
check_not "no write was refused" grep -qi "permission denied" <<<"$(sed -n '1,/^zegel> save: wrote/p' <<<"$st")"
check "a data dir committed outside the rules is a commit warning" \
	grep -q "warning: data dir $OUTSIDE-dd: this zegel may not write there (Landlock" <<<"$st"
check_not "and it was not created" test -e "$OUTSIDE-dd"
mv -f "$d/zegel.conf.orig" "$d/zegel.conf"
chown root:root "$d"

# kill loops under a restart loop that plays init
(
	while [ ! -e "$d/stop" ]; do
		ZEGEL_TEST_HOOKS=1 "$ZEGEL" run --config "$d/zegel.conf" --no-console --user "$RUNAS" \
			>>"$d/zegel.log" 2>&1 </dev/null &
		echo $! >"$d/pid"
		wait $!
		echo "exit $?" >>"$d/exits"
		sleep 0.2
	done
) &
SUP=$!
rm -f "$d/outbox"/*.eml
count=$((KILLS * 3))
$PY "$TOP/tests/e2e/queue/submit.py" 127.0.0.1 "$SUBMISSION_PORT" "$count" "$d/accepted" 240 \
	>"$d/submit.out" 2>&1 &
SUBPID=$!
current() { # the running network process of the loop, once it has dropped root
	local p
	p=$(cat "$d/pid" 2>/dev/null)
	[ -n "$p" ] && grep -q "privsep: network process pid $p " "$d/zegel.log" && echo "$p"
}
wait_current() {
	local p
	for _ in $(seq 1 100); do
		p=$(current) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 1
}
kn=0 kh=0 lost=0
for i in $(seq 1 $((2 * KILLS))); do
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 40) / 100 }')"
	p=$(wait_current) || { lost=1; break; }
	if [ $((i % 2)) = 1 ]; then
		h=$(holder_of "$p")
		[ -n "$h" ] && kill -9 "$h" && kh=$((kh + 1))
	else
		kill -9 "$p" && kn=$((kn + 1))
	fi
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
check "the restart loop brought zegel back after every kill" test "$lost" = 0
check "$kn SIGKILLs of the network process, $kh of the key holder (at least $KILLS each)" \
	test "$kn" -ge "$KILLS" -a "$kh" -ge "$KILLS"
wait "$SUBPID"
src=$?
SUBPID=
check "all $count messages were accepted in the end ($(tail -1 "$d/submit.out"))" test "$src" = 0
acc=$(wc -l <"$d/accepted")
missing=
while read -r seq qid; do
	grep -qs "^X-Kill-Seq: $seq"$'\r'"\$" "$d/outbox/$qid.eml" || missing="$missing $seq:$qid"
done <"$d/accepted"
check "every accepted message ($acc) is in the outbox under its id${missing:+ (missing:$missing)}" test -z "$missing"
n=0 bad=
for f in "$d"/outbox/*.eml; do
	n=$((n + 1))
	verify "$f" >/dev/null 2>&1 || bad="$bad $(basename "$f")"
done
check "all $n outbox messages verify with dkimpy${bad:+ (failed:$bad)}" test -z "$bad"
check "a killed key holder stopped the network process (the log says so)" \
	grep -q "key holder (pid [0-9]*) .*: stopping" "$d/zegel.log"
check "no forbidden system call but the deliberate one" \
	test "$(grep -c 'forbidden system call' "$d/zegel.log")" = 1
finish
