#!/usr/bin/env bash
# Issue 20 part 3 through `zegel run`'s console: the relay password is saved
# sealed with the device key (<data-dir>/secret.key, 0600), never in clear;
# a restart opens it again; `show running` masks it and pasting that output
# into a fresh zegel is refused with a clear error; `show running secrets`
# pasted into a fresh zegel rebuilds the same running configuration; a
# configuration moved without its device key does not start, and says why.
. "$TOP/tests/lib.sh"

d=$(tmpdir)
trap 'rm -rf "$d"' EXIT
pw='Office pw "7" \ x'
con() { # zegel run with the console on stdin and config FILE; the listing lines
	(cd "$d" && timeout 20 "$ZEGEL" run --config "$1" 2>&1) | sed 's/^\(zegel> \)*//'
}
echo "set data-dir $d/data" >"$d/zegel.conf"
printf 'set relay smarthost mail.example.net:587\nset relay username office@example.net\nset relay password "Office pw \\"7\\" \\\\ x"\nset user printer password hunter2\ncommit\nsave\nexit\n' |
	con "$d/zegel.conf" >"$d/out1"
check "save wrote the configuration" test -s "$d/zegel.conf"
check_not "the saved file does not hold the relay password in clear" grep -qF 'Office pw' "$d/zegel.conf"
check "it holds the sealed form" grep -q '^set relay password-sealed zs1\.[0-9a-f]\{32\}\.[0-9a-f]*\.[0-9a-f]\{16\}$' "$d/zegel.conf"
check "the device key is 32 octets, mode 0600" \
	test "$(stat -c '%a %s' "$d/data/secret.key" 2>&1)" = "600 32"

printf 'show running\nexit\n' | con "$d/zegel.conf" | grep -E '^(set |# )' >"$d/masked"
printf 'show running secrets\nexit\n' | con "$d/zegel.conf" | grep -E '^(set |# )' >"$d/secrets"
check "after a restart show running masks the password" grep -q '^set relay password \*\*\*\*\*\*\*\*$' "$d/masked"
check_not "... and shows no password" grep -qF 'Office pw' "$d/masked"
check "show running secrets has the password loaded from the sealed form" \
	grep -qF 'set relay password "Office pw \"7\" \\ x"' "$d/secrets"
check "... under a SECRET comment line" grep -q '^# SECRET: ' "$d/secrets"

# paste each listing into a fresh zegel (same data dir: its TLS files)
mkdir -p "$d/fresh"
echo "set data-dir $d/data" >"$d/fresh/a.conf"
cp "$d/fresh/a.conf" "$d/fresh/b.conf"
{ cat "$d/masked"; echo commit; echo exit; } | con "$d/fresh/a.conf" >"$d/out3"
check "pasting show running is refused for the relay password" \
	grep -q "error: set relay password: '\*\*\*\*\*\*\*\*' is what 'show running' prints in place of the password" "$d/out3"
check "... and for the user's hash" grep -q "error: set user: '\*\*\*\*\*\*\*\*' is what 'show running' prints" "$d/out3"
{ cat "$d/secrets"; echo commit; echo 'show running secrets'; echo exit; } | con "$d/fresh/b.conf" >"$d/out4"
check_not "pasting show running secrets is accepted without an error" grep -q '^error' "$d/out4"
a=$(grep '^set ' "$d/out4" | sort)
b=$(grep '^set ' "$d/secrets" | sort)
check "and rebuilds the same running configuration, password included" test -n "$a" -a "$a" = "$b"

# the configuration moved without its device key
mv "$d/data/secret.key" "$d/secret.key.away"
printf 'exit\n' | con "$d/zegel.conf" >"$d/out5"
check "without the device key zegel refuses the configuration, naming the key" \
	grep -q "set relay password-sealed: cannot read the device key $d/data/secret.key" "$d/out5"
finish
