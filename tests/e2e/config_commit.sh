#!/usr/bin/env bash
# Issue 17, points 3 and 4: commit validates and applies all or nothing
# (a missing key file, a port another program holds: rolled back, the
# reason named, the running configuration unchanged; warnings printed), a
# listener whose port is taken at start is retried and comes up, show diff,
# rollback 1..3 over the generations save keeps, exit warns about unsaved
# commits and says it stops zegel, a saved configuration that does not load
# boots into the console with the last good one and a loud message (never an
# exit into init's restart loop), and save writes the file the next start
# reads even after `set data-dir`. Loopback ports 23100-23199 only.
. "$TOP/tests/lib.sh"
mkdir -p /work/zt-commit 2>/dev/null || true
d=$(TMPDIR=${ZEGEL_TEST_TMP:-${TMPDIR:-/tmp}} tmpdir)
holders=()
cleanup() {
	for p in "${holders[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$d"
}
trap cleanup EXIT

P1=23100 P2=23101 P3=23102 P4=23103

# hold PORT for SECONDS (another program on the port); prints once bound
hold_port() {
	"$PY" - "$1" "$2" <<'PYEOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)

time.sleep(float(sys.argv[2]))
PYEOF
	holders+=($!)
}
wait_port_held() { # PORT: until something listens there (max 5 s)
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# the console's output without log lines and prompts
run_z() { # CONF INPUT [timeout]
	printf "$2" | timeout "${3:-20}" "$ZEGEL" run --config "$1" 2>&1 | grep -v '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T' |
		sed 's/^\(zegel> \)*//'
}

base() { # DIR: a configuration that commits cleanly
	mkdir -p "$1"
	cat >"$1/zegel.conf" <<EOF
set data-dir $1
set hostname base.example
set network 127.0.0.0/8
set domain example.org
set key s1 domain example.org file $1/s1.key
set listener sub 127.0.0.1:$P1
EOF
	"$ZEGEL" keygen -t ed25519 -d example.org -s s1 -o "$1" >/dev/null
}

# ---------------------------------------------------------------- commit
c=$d/commit
base "$c"
hold_port $P2 30
check "the test's own program holds port $P2" wait_port_held $P2
out=$(run_z "$c/zegel.conf" "show running\nset key s2 domain example.org file $c/nothere.key\ncommit\nshow running\ndiscard\nset listener other 127.0.0.1:$P2\nset listener sub 127.0.0.1:$P3\ncommit\nshow status\nshow running\ndiscard\ndelete network 127.0.0.0/8\ncommit\nshow status\nsave\nexit\n")
before=$(awk '/^set hostname/{n++} n==1' <<<"$out" | sed -n '1,/^set relay outbox/p')
check "a missing key file: commit fails naming the file" \
	grep -qxF "error: commit: key 's2' for example.org: $c/nothere.key does not exist (keys are never made implicitly: key generate example.org s2 rsa|ed25519, or fix the path)" <<<"$out"
check "and says nothing was applied, generation 1 still runs" \
	grep -qF "commit: nothing applied: the running configuration is unchanged (generation 1); the candidate keeps the edits" <<<"$out"
check "a port another program holds: commit rolled back, the listener and the reason named" \
	grep -qxF "error: commit: failed, rolled back to generation 1: listener other on 127.0.0.1:$P2: Address already in use (another program or listener holds the port)" <<<"$out"
r2=$(awk '/^set hostname/{n++} n==2' <<<"$out" | sed -n '1,/^set relay outbox/p')
r3=$(awk '/^set hostname/{n++} n==3' <<<"$out" | sed -n '1,/^set relay outbox/p')
check "after both failures the running configuration is the one loaded" \
	bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && [ "$1" = "$3" ]' _ "$before" "$r2" "$r3"
check "the listener that was running still listens on its old port (not moved to $P3)" \
	grep -qxF "listener sub 127.0.0.1:$P1 (STARTTLS): listening" <<<"$out"
check "and the new port was let go again (this test can bind it)" "$PY" -c "import socket; socket.socket().bind(('127.0.0.1', $P3))"
check "no network and no users: the commit applies with a warning that says what follows" \
	grep -qxF "warning: no network and no users: every client is refused (554 5.7.1); set network CIDR, or set user NAME password SECRET" <<<"$out"
check "commit: ok names the warning" grep -qxF "commit: ok, generation 2, with 1 warning above" <<<"$out"
check "show status says when the running configuration is not saved (after the commit, not before)" \
	test "$(grep -c "^config: the running configuration is not saved ('save'" <<<"$out")" -eq 1
check "a domain without a key is a warning too" bash -c "printf 'set domain other.example\ncommit\n' |
	timeout 10 '$ZEGEL' run --config '$c/zegel.conf' 2>&1 | grep -qF 'warning: domain other.example has no key: its mail is refused until one signs'"

# ---------------------------------------------------------------- retry
r=$d/retry
base "$r"
sed -i "s/:$P1\$/:$P4/" "$r/zegel.conf"
hold_port $P4 2
check "the test's own program holds port $P4" wait_port_held $P4
out=$({
	printf 'show status\n'
	sleep 13
	printf 'show status\n'
	sleep 0.5
	"$PY" - $P4 >"$r/banner" 2>&1 <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
print(s.recv(200).decode().strip())
PYEOF
	printf 'exit\n'
} | timeout 30 "$ZEGEL" run --config "$r/zegel.conf" 2>&1)
check "a port taken at start: zegel starts anyway and show status says the listener waits" \
	grep -qF "listener sub 127.0.0.1:$P4 (STARTTLS): NOT listening: Address already in use; retried every 10 s" <<<"$out"
check "it is retried and comes up once the port is free" \
	grep -qF "listener sub on 127.0.0.1:$P4: the port is free now" <<<"$out"
check "show status then says listening" grep -qF "listener sub 127.0.0.1:$P4 (STARTTLS): listening" <<<"$out"
check "and it answers SMTP" grep -q '^220 base.example' "$r/banner"

# ---------------------------------------------------------------- diff, rollback, exit
g=$d/gen
base "$g"
out=$(run_z "$g/zegel.conf" "show diff\nset hostname h1.example\nset network 10.0.0.0/8 line-endings normalise\ndelete domain example.org\ndelete key s1\nset listener sub 127.0.0.1:$P1 mode tls\nset queue lifetime 1d\nshow diff\ndiscard\nset queue lifetime 1d\ncommit\ndelete queue\nset hostname h2.example\nshow diff\n")
check "show diff without changes says so" \
	grep -qxF "show diff: the candidate is the running configuration" <<<"$out"
diff_out=$(sed -n '/^show diff: the candidate/,$p' <<<"$out" | sed -n '2,/^discard:/p' | grep -v '^discard:')
expect="delete domain example.org
delete key s1
set hostname h1.example
set network 10.0.0.0/8 line-endings normalise
set listener sub 127.0.0.1:$P1 mode tls auth-plaintext off
set queue lifetime 1d"
check "show diff: delete lines for what went, set lines for what is new or changed" \
	diff <(printf '%s\n' "$expect") <(printf '%s\n' "$diff_out")
check "show diff: a setting back at its default is set to the default" \
	grep -qxF "set queue lifetime 5d" <<<"$(run_z "$g/zegel.conf" "set queue lifetime 1d\ncommit\nset queue lifetime 5d\nshow diff\n")"

# five saves: h1..h5; the file holds h5, .1 h4, .2 h3, .3 h2
in=""
for i in 1 2 3 4 5; do in="${in}set hostname h$i.example\ncommit\nsave\n"; done
out=$(run_z "$g/zegel.conf" "${in}save\nexit\n")
check "save after save: the file and three generations" \
	bash -c "grep -q '^set hostname h5.example' '$g/zegel.conf' && grep -q '^set hostname h4.example' '$g/zegel.conf.1' &&
		grep -q '^set hostname h3.example' '$g/zegel.conf.2' && grep -q '^set hostname h2.example' '$g/zegel.conf.3' && test ! -e '$g/zegel.conf.4'"
check "a save without changes does not push out a generation" \
	grep -q '^set hostname h4.example' "$g/zegel.conf.1"
check "the generations are mode 0600" test "$(stat -c %a "$g/zegel.conf.3")" = 600
out=$(run_z "$g/zegel.conf" "rollback 1\nrollback 2\nrollback 3\ncommit\nshow running\nrollback 4\nrollback 0\nexit\nexit\n")
check "rollback 1 loads the newest generation into the candidate and shows the change" \
	bash -c "grep -qxF \"rollback 1: the candidate is now $g/zegel.conf.1; 'commit' applies it, 'discard' drops it. The changes:\" <<<\"\$1\" &&
		grep -qxF 'set hostname h4.example' <<<\"\$1\"" _ "$out"
check "rollback 2 and 3" bash -c "grep -qF 'set hostname h3.example' <<<\"\$1\" && grep -qF \"rollback 3: the candidate is now $g/zegel.conf.3 (your uncommitted edits are replaced)\" <<<\"\$1\"" _ "$out"
check "commit after rollback 3 runs the oldest generation" grep -qxF 'set hostname h2.example' <<<"$(sed -n '/^commit: ok/,$p' <<<"$out")"
check "rollback beyond the kept generations is refused with the range" \
	grep -qF "error: usage: rollback [N]: N is 0 (the saved file) to 3" <<<"$out"
check "exit with a committed, unsaved change warns and does not stop" \
	grep -qF "warning: committed changes are not saved: the next start loads $g/zegel.conf without them ('save' writes them). exit stops zegel: enter exit again to stop anyway" <<<"$out"
check "the second exit stops zegel and says so" \
	grep -qxF "exit: stopping zegel: no mail is accepted until it starts again" <<<"$out"
rc=0
printf 'set hostname q.example\ncommit\nexit\n' | timeout 5 "$ZEGEL" run --config "$g/zegel.conf" >"$g/out" 2>&1 && rc=0 || rc=$?
check "piped input that ends after a refused exit still ends zegel (status 0)" test "$rc" -eq 0
check "exit without unsaved changes stops at once" \
	bash -c "printf 'exit\nshow version\n' | timeout 5 '$ZEGEL' run --config '$g/zegel.conf' 2>&1 | grep -q 'exit: stopping zegel' &&
		! printf 'exit\nshow version\n' | timeout 5 '$ZEGEL' run --config '$g/zegel.conf' 2>&1 | grep -q '^board:'"

# ---------------------------------------------------------------- a saved file that does not load
b=$d/boot
base "$b"
out=$(run_z "$b/zegel.conf" "show running\nexit\n")
check "a start that loaded the file keeps it as zegel.conf.good" cmp "$b/zegel.conf" "$b/zegel.conf.good"
good=$(grep '^set ' <<<"$out")
printf 'set hostname broken.example\nset domain bad_name\n' >>"$b/zegel.conf"
rc=0
out=$(printf 'show status\nshow running\nexit\n' | timeout 10 "$ZEGEL" run --config "$b/zegel.conf" 2>&1) || rc=$?
check "a saved file that does not parse: zegel still starts the console (exit 0, not 1)" test "$rc" -eq 0
check "a loud message names the file, the line and the reason" \
	grep -qxF "*** CONFIGURATION NOT LOADED: $b/zegel.conf:8: set domain: 'bad_name' is not a domain name (letters, digits, '-', '.'; labels of 1-63)" <<<"$out"
check "and which configuration runs instead" grep -qxF "*** zegel runs with $b/zegel.conf.good instead." <<<"$out"
check "the running configuration is the last good one" \
	diff <(printf '%s\n' "$good") <(grep '^\(zegel> \)*set ' <<<"$out" | sed 's/^\(zegel> \)*//')
check "show status repeats it" grep -qF "start-up: CONFIGURATION NOT LOADED: $b/zegel.conf:8:" <<<"$out"
check "the last good one serves: its listener is up" grep -qF "listener sub 127.0.0.1:$P1 (STARTTLS): listening" <<<"$out"
check "the broken file was not touched" grep -q '^set domain bad_name' "$b/zegel.conf"
check "exit after such a start warns (the file still does not load)" grep -qF "warning: committed changes are not saved" <<<"$out"
# no .good: the newest generation; none at all: the defaults
rm "$b/zegel.conf.good"
cp "$b/zegel.conf" "$b/broken.conf"
printf 'set hostname gen1.example\n' >"$b/zegel.conf.1"
out=$(run_z "$b/zegel.conf" "show running\n")
check "without zegel.conf.good: zegel.conf.1" grep -qxF "*** zegel runs with $b/zegel.conf.1 instead." <<<"$out"
check "and runs it" grep -qxF 'set hostname gen1.example' <<<"$out"
echo 'set nonsense' >"$b/zegel.conf.1"
out=$(run_z "$b/zegel.conf" "show running\n")
check "no file loads: the defaults, said as loudly" grep -qxF "*** zegel runs with the defaults instead." <<<"$out"
# --no-console (how a service manager runs it): up and serving, not exiting
timeout 3 "$ZEGEL" run --config "$b/broken.conf" --no-console >"$b/nc.log" 2>&1 </dev/null
rc=$?
check "--no-console with a broken file keeps running (killed by the test's timeout, 124)" test "$rc" -eq 124
check "and logs why" grep -qF "configuration not loaded: $b/broken.conf:8:" "$b/nc.log"
# save after fixing it: the broken file becomes .1, the new one loads
out=$(run_z "$b/broken.conf" "set hostname fixed.example\ncommit\nsave\nexit\n")
check "save replaces the file that failed (kept as .1)" \
	bash -c "grep -q '^set hostname fixed.example' '$b/broken.conf' && grep -q 'bad_name' '$b/broken.conf.1'"
check "and the next start loads it without a message" \
	bash -c "! printf 'exit\n' | timeout 5 '$ZEGEL' run --config '$b/broken.conf' 2>&1 | grep -q 'NOT LOADED'"

# ---------------------------------------------------------------- data-dir
m=$d/dd
mkdir -p "$m/cwd" "$m/elsewhere"
out=$(cd "$m/cwd" && printf 'set data-dir %s\ncommit\nsave\nexit\n' "$m/elsewhere" | timeout 10 "$ZEGEL" run 2>&1)
check "save after set data-dir writes the file the next start reads (<start data-dir>/zegel.conf)" \
	grep -qxF "zegel> save: wrote ./var/zegel.conf" <<<"$(sed 's/^\(zegel> \)\{2,\}/zegel> /' <<<"$out")"
check "not into the new data dir, where no start looks" test ! -e "$m/elsewhere/zegel.conf"
out=$(cd "$m/cwd" && printf 'show running\n' | timeout 10 "$ZEGEL" run 2>&1)
check "the next start reads it and runs from the new data dir" grep -qF "set data-dir $m/elsewhere" <<<"$out"

finish
