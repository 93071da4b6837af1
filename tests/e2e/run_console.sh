#!/usr/bin/env bash
# zegel run: the console over a pipe and over a pty, --config load errors,
# save to the --config file, automatic load of <data-dir>/zegel.conf.
. "$TOP/tests/lib.sh"
d=$(tmpdir)
trap 'rm -rf "$d"' EXIT

rc=0
err=$(printf 'exit\n' | timeout 10 "$ZEGEL" run --config "$d/missing.conf" 2>&1) || rc=$?
check "a missing --config file stops the start with exit 1" test "$rc" -eq 1
check "and says which file" grep -q "missing.conf: cannot read" <<<"$err"
# No key is made implicitly: a key file that does not exist fails the commit, naming it.
out=$(printf 'set data-dir %s\nset domain example.org\nset key s1 domain example.org file %s/s1.key\ncommit\nexit\n' "$d" "$d" |
	timeout 10 "$ZEGEL" run 2>&1)
check "a missing key file is a commit error naming the file" \
	grep -q "commit: key 's1' for example.org: $d/s1.key does not exist" <<<"$out"
check "and no key file was generated" test ! -e "$d/s1.key"
"$ZEGEL" keygen -t ed25519 -d example.org -s s1 -o "$d" >/dev/null
rc=0
out=$(printf 'set data-dir %s\nset domain example.org\nset key s1 domain example.org file %s/s1.key\nset user printer password "pass word"\ncommit\nsave\nshow running\nexit\n' "$d" "$d" |
	(cd "$d" && timeout 10 "$ZEGEL" run 2>&1)) || rc=$?
check "run with piped console exits 0 on 'exit'" test "$rc" -eq 0
check "commit through the console" grep -q 'commit: ok, generation 1' <<<"$out"
# save writes the file the next start reads: the start's <data-dir>/zegel.conf
# (./var on the host), which carries `set data-dir` to that start
check "save writes the start's <data-dir>/zegel.conf, not the new data-dir's" \
	bash -c "test -f '$d/var/zegel.conf' && test ! -e '$d/zegel.conf'"
cp -p "$d/var/zegel.conf" "$d/zegel.conf"
check "saved file is mode 0600" test "$(stat -c %a "$d/zegel.conf")" = 600
check "saved file holds the password hash, not the password" \
	bash -c "grep -q 'password-hash \$zegel-sha256\\$' '$d/zegel.conf' && ! grep -q 'pass word' '$d/zegel.conf'"
check "show running masks secrets" grep -q 'set user printer password-hash \*\*\*\*\*\*\*\*' <<<"$out"

# Load the saved file back: same running configuration.
out2=$(printf 'show running\n' | timeout 10 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "the saved file loads and shows the same configuration" \
	diff <(grep '^set ' <<<"$out" | sed 's/^zegel> //') <(grep '^set ' <<<"$out2" | sed 's/^zegel> //')
mkdir -p "$d/var" && cp "$d/zegel.conf" "$d/var/zegel.conf"
out3=$(printf 'show running\n' | (cd "$d" && timeout 10 "$ZEGEL" run 2>&1))
check "without --config, <data-dir>/zegel.conf is loaded (host data-dir ./var)" \
	grep -q '^set domain example.org' <<<"${out3#zegel> }"
# An invalid line names file:line; the start goes on with the defaults (no
# earlier file loaded) instead of exiting into init's restart loop
# (tests/e2e/config_commit.sh has the fallback chain).
printf 'set domain example.org\nset domain bad_name\n' >"$d/bad.conf"
rc=0
err=$(timeout 10 "$ZEGEL" run --config "$d/bad.conf" </dev/null 2>&1) || rc=$?
check "an invalid config file does not stop the start (exit 0 at end of input)" test "$rc" -eq 0
check "the error names file:line and the reason" grep -q "bad.conf:2: set domain: 'bad_name' is not a domain name" <<<"$err"
printf 'set key k domain nowhere.example file /k\n' >"$d/bad2.conf"
rc=0
err=$(timeout 10 "$ZEGEL" run --config "$d/bad2.conf" </dev/null 2>&1) || rc=$?
check "a config that fails commit validation: named, and the defaults run" \
	grep -q "CONFIGURATION NOT LOADED: .*bad2.conf: commit: key 'k' is for domain 'nowhere.example'" <<<"$err"

# save goes to the --config file.
cp "$d/zegel.conf" "$d/other.conf"
printf 'set hostname saved.example\ncommit\nsave\n' | timeout 10 "$ZEGEL" run --config "$d/other.conf" >/dev/null 2>&1
check "save writes back to the --config file" grep -q '^set hostname saved.example$' "$d/other.conf"
check "no temporary file is left next to it" test "$(ls "$d" | grep -c tmp)" -eq 0

# End of input without exit: a last unterminated line still runs.
out=$(printf 'show version' | timeout 10 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "EOF runs an unterminated last line and exits" grep -q '^board: ' <<<"$out"

# A real terminal: raw mode, echo and line editing (python3-pexpect).
if $PY -c 'import pexpect' 2>/dev/null; then
	check "pty console: prompt, echo, backspace, history, Ctrl-C, exit" $PY - "$ZEGEL" "$d/zegel.conf" <<'PYEOF'
import sys, pexpect
z, conf = sys.argv[1], sys.argv[2]
p = pexpect.spawn(z, ["run", "--config", conf], timeout=5, encoding="utf-8")
p.expect_exact("zegel> ")
p.send("show versiom\x7fn\r")
p.expect("board: ")
p.expect_exact("zegel> ")
p.send("garbage\x03")
p.expect_exact("^C")
p.expect_exact("zegel> ")
p.send("\x1b[A\r")              # history: show version again
p.expect("board: ")
p.expect_exact("zegel> ")
p.send("exit\r")
p.expect(pexpect.EOF)
p.close()
sys.exit(0 if p.exitstatus == 0 else 1)
PYEOF
else
	skip "pty console" "python3-pexpect is not installed"
fi
finish
