#!/usr/bin/env bash
# DKIM keys that never leave a TPM 2.0 (issue 15.3; hal/tpm2/), against
# swtpm on loopback (its raw TCP command channel, ZEGEL_TPM=tcp:...):
#   - `zegel keygen -t rsa --tpm` makes the key inside the TPM; the data
#     holds only the TPM-wrapped blob: no PEM/DER private key anywhere, and
#     the blob is useless to another TPM (a second swtpm refuses it);
#   - tpm2-tools cross-check: tpm2_load takes the blob under an SRK made by
#     tpm2_createprimary with the same template, and tpm2_readpublic's key
#     is the one in zegel's DNS record (`zegel dnsrecord` too);
#   - `zegel run` with the key (the key holder talks to the TPM): a message
#     submitted with swaks is signed and verifies with dkimpy, Mail::DKIM
#     and libopendkim;
#   - swtpm stopped: 451 4.3.5 and nothing in the outbox; swtpm restarted,
#     or the TPM reset (swtpm_ioctl -i): the key is loaded again and signing
#     works; TPM missing at start: the key is reported unusable (log, show
#     keys), 451 4.3.5, nothing unsigned;
#   - the console's `key generate DOMAIN SEL rsa-tpm`, `show keys`;
#   - damaged and foreign blobs: clear errors.
# Ports: swtpm 41700-41701 (second TPM 41703-41704), zegel 41702.
. "$TOP/tests/lib.sh"
for t in swtpm swaks tpm2_createprimary; do
	if ! command -v "$t" >/dev/null; then
		not_ok "$t is installed (scripts/bootstrap.sh peers)"
		finish
		exit 1
	fi
done
d=$(tmpdir)
TPMP=41700
SUB=41702
export ZEGEL_TPM=tcp:127.0.0.1:$TPMP
ZPID=
. "$TOP/tests/e2e/lib/swtpm.sh"
zstop() {
	[ -n "$ZPID" ] || return 0
	kill "$ZPID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$ZPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$ZPID" 2>/dev/null
	wait "$ZPID" 2>/dev/null
	ZPID=
}
zstart() {
	"$ZEGEL" run --config "$d/zegel.conf" --no-console >"$d/zegel.log" 2>&1 </dev/null &
	ZPID=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$SUB") 2>/dev/null && return 0
		kill -0 "$ZPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
cleanup() {
	zstop
	tpm_stop "$d/tpm"
	tpm_stop "$d/tpm2"
	rm -rf "$d"
}
trap cleanup EXIT
send() { # SUBJECT: swaks's transcript
	swaks --server 127.0.0.1 --port "$SUB" --tls --from printer@example.test \
		--to rcpt@example.net --h-From printer@example.test --h-Subject "$1" \
		--body "tpm $1" 2>&1
}
nout() { find "$d/outbox" -name '*.eml' | wc -l; }

check "swtpm starts on loopback" tpm_start "$d/tpm" $TPMP

# ------------------------------------------------------------ key generation
mkdir -p "$d/data/keys" "$d/outbox"
check "zegel keygen -t rsa --tpm makes a key in the TPM" \
	"$ZEGEL" keygen -t rsa --tpm -d example.test -s tpm -o "$d/data/keys"
k=$d/data/keys/tpm.tpmkey
check "the key file is the clear blob format, mode 0600" \
	bash -c "head -1 '$k' | grep -qx 'zegel-tpm2-key 1' && test \$(stat -c %a '$k') = 600"
check_not "keygen --tpm refuses RSA-1024 (RSA-2048 only)" \
	"$ZEGEL" keygen -t rsa -b 1024 --tpm -d example.test -s t2 -o "$d/data/keys"
sed -n 's/^public //p' "$k" | xxd -r -p >"$d/pub.bin"
sed -n 's/^private //p' "$k" | xxd -r -p >"$d/priv.bin"
clear=
for f in "$d"/data/keys/* "$d/priv.bin"; do
	grep -q 'PRIVATE KEY' "$f" && clear+="$f: a PEM private key; "
	openssl pkey -in "$f" -noout 2>/dev/null && clear+="$f: PEM key; "
	openssl pkey -inform DER -in "$f" -noout 2>/dev/null && clear+="$f: DER key; "
	openssl rsa -inform DER -in "$f" -noout 2>/dev/null && clear+="$f: DER RSA key; "
done
[ -z "$clear" ] && ok "no private key material in clear in the data dir (PEM, DER, the blob)" ||
	not_ok "no private key material in clear in the data dir" "$clear"
# the TPM2B_PRIVATE of an RSA-2048 key: one encrypted prime (128 bytes) with
# its integrity HMAC and IV, far smaller than any RSA private key encoding
psz=$(stat -c %s "$d/priv.bin")
check "the private part is the TPM's sealed blob ($psz bytes, < 300)" test "$psz" -lt 300

# ------------------------------------------------------------ tpm2-tools cross-check
# (tpm2-tools speaks to swtpm without a resource manager: flush after each step)
export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$TPMP
tt() { "$@" >>"$d/tpm2tools.log" 2>&1 && tpm2_flushcontext -t >>"$d/tpm2tools.log" 2>&1; }
if tt tpm2_createprimary -C o -g sha256 -G rsa2048:null:aes128cfb \
	-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' \
	-c "$d/srk.ctx" && tt tpm2_load -C "$d/srk.ctx" -u "$d/pub.bin" -r "$d/priv.bin" -c "$d/key.ctx" &&
	tt tpm2_readpublic -c "$d/key.ctx" -f pem -o "$d/tpmpub.pem"; then
	ok "tpm2_load takes zegel's blob under tpm2_createprimary's SRK (same template)"
else
	not_ok "tpm2_load takes zegel's blob under tpm2_createprimary's SRK" "$(tail -5 "$d/tpm2tools.log")"
fi
unset TPM2TOOLS_TCTI
tpmp=$(openssl pkey -pubin -in "$d/tpmpub.pem" -outform DER 2>/dev/null | base64 -w0)
rec=$("$ZEGEL" dnsrecord -d example.test -s tpm -k "$k" --one-line 2>&1)
check "zegel dnsrecord of the TPM key is tpm2_readpublic's key" \
	test -n "$tpmp" -a "$rec" = "v=DKIM1; k=rsa; p=$tpmp"
txt=$(grep -o '"[^"]*"' "$d/data/keys/tpm.txt" | tr -d '"\n')
check "keygen's tpm.txt holds the same record" test "$txt" = "$rec"

# ------------------------------------------------------------ signing in zegel run
cat >"$d/zegel.conf" <<CONF
set hostname mx.zegel.test
set data-dir $d/data
set log-level info
set domain example.test
set key tpm domain example.test file $k
set network 127.0.0.1/32
set listener submission 127.0.0.1:$SUB mode starttls auth-plaintext off
set relay outbox $d/outbox
CONF
# zstart in this shell, not in check's subshell: ZPID must be ours to stop
if zstart; then ok "zegel run starts with the TPM key"; else not_ok "zegel run starts with the TPM key" "$(tail -5 "$d/zegel.log")"; fi
check "the key loaded (no 'not loaded' line)" bash -c "! grep -q 'not loaded' '$d/zegel.log'"
out=$(send one)
check "a message is accepted and signed" grep -q '^<~ *250 2.0.0' <<<"$out"
f=$(find "$d/outbox" -name '*.eml' | head -1)
check "dkimpy verifies the TPM's signature" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --key "tpm._domainkey.example.test=$txt" "$f"
check "Mail::DKIM verifies the TPM's signature" \
	perl "$TOP/tests/e2e/dkim_verify.pl" "tpm._domainkey.example.test=$txt" -- "$f"
printf 'tpm._domainkey.example.test %s\n' "$txt" >"$d/okeys"
if cc -O2 -o "$d/odkim" "$TOP/tests/interop/dkim_verify_opendkim.c" -lopendkim 2>"$d/cc.log"; then
	ores=$("$d/odkim" "$d/okeys" 1 "$f" 2>&1)
	check "libopendkim (OpenDKIM) verifies the TPM's signature" grep -q "	pass" <<<"$ores"
else
	not_ok "libopendkim verifier builds" "$(cat "$d/cc.log")"
fi

# ------------------------------------------------------------ the TPM goes away, comes back
tpm_stop "$d/tpm"
n0=$(nout)
out=$(send two)
check "swtpm stopped: 451 4.3.5" grep -q '^<~\* *451 4.3.5' <<<"$out"
check "and nothing new in the outbox (never an unsigned message)" test "$(nout)" -eq "$n0"
check "the log says the TPM cannot be reached" grep -q 'tpm2.*cannot reach the TPM' "$d/zegel.log"
check "swtpm restarted (same state)" tpm_start "$d/tpm" $TPMP
out=$(send three)
check "after the restart the key is loaded again and signs" grep -q '^<~ *250 2.0.0' <<<"$out"
check "the log says it loaded the key again" grep -q 'key loaded into the TPM again' "$d/zegel.log"
f3=$(grep -l 'Subject: three' "$d"/outbox/*.eml | head -1)
check "dkimpy verifies the message signed after the restart" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --key "tpm._domainkey.example.test=$txt" "$f3"
# a TPM reset (swtpm's control channel: CMD_INIT) between two signatures:
# the key is gone from the TPM, which wants TPM2_Startup first
check "the TPM is reset through swtpm's control channel" \
	swtpm_ioctl --tcp 127.0.0.1:$((TPMP + 1)) -i
out=$(send reset)
check "after the reset the key is loaded again and signs" grep -q '^<~ *250 2.0.0' <<<"$out"
check "the log names the reset (TPM_RC_INITIALIZE)" grep -q 'TPM_RC_INITIALIZE' "$d/zegel.log"
f4=$(grep -l 'Subject: reset' "$d"/outbox/*.eml | head -1)
check "dkimpy verifies the message signed after the reset" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --key "tpm._domainkey.example.test=$txt" "$f4"
zstop

# ------------------------------------------------------------ TPM missing at start
tpm_stop "$d/tpm"
n0=$(nout)
if zstart; then ok "zegel run starts without its TPM"; else not_ok "zegel run starts without its TPM" "$(tail -5 "$d/zegel.log")"; fi
check "the key is reported unusable at start" \
	grep -q 'key tpm for example.test.*not loaded: the TPM cannot be reached' "$d/zegel.log"
out=$(send four)
check "TPM missing at start: 451 4.3.5" grep -q '^<~\* *451 4.3.5' <<<"$out"
check "and nothing new in the outbox" test "$(nout)" -eq "$n0"
zstop
con=$(printf 'show keys example.test\nexit\n' | timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "show keys says the key is not loaded" grep -q 'file: .*tpm.tpmkey (NOT LOADED: see the log)' <<<"$con"
check "swtpm started again" tpm_start "$d/tpm" $TPMP

# ------------------------------------------------------------ the console
con=$(printf 'key generate example.test ctpm rsa-tpm\nshow keys example.test\nexit\n' |
	timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "console: key generate ... rsa-tpm makes a TPM key" \
	grep -q 'key ctpm for example.test: rsa-2048, published-pending' <<<"$con"
check "console: its file is the blob" \
	bash -c "head -1 '$d/data/keys/example.test/ctpm.tpmkey' | grep -qx 'zegel-tpm2-key 1'"
check "console: show keys says it is held in the TPM" \
	grep -q 'algorithm: rsa-2048 (held in the TPM)' <<<"$con"

# ------------------------------------------------------------ damaged and foreign blobs
printf 'From: a@example.test\r\nTo: b@example.net\r\nSubject: s\r\n\r\nbody\r\n' >"$d/m.eml"
# one hex digit of the private part's integrity HMAC changed
perl -pe 'if (/^private /) { my $c = substr($_, 30, 1); substr($_, 30, 1) = $c eq "0" ? "1" : "0" }' \
	"$k" >"$d/flip.tpmkey"
err=$("$ZEGEL" sign -d example.test --key "tpm:$d/flip.tpmkey" "$d/m.eml" 2>&1 >/dev/null)
check "a blob with a changed byte: the TPM refuses it, clearly" \
	grep -q 'the TPM refused the key blob' <<<"$err"
head -3 "$k" >"$d/short.tpmkey"
err=$("$ZEGEL" sign -d example.test --key "tpm:$d/short.tpmkey" "$d/m.eml" 2>&1 >/dev/null)
check "a truncated key file: 'the TPM key file is damaged'" \
	grep -q 'the TPM key file is damaged' <<<"$err"
check "a second TPM (fresh swtpm) starts" tpm_start "$d/tpm2" $((TPMP + 3))
err=$(ZEGEL_TPM=tcp:127.0.0.1:$((TPMP + 3)) "$ZEGEL" sign -d example.test --key "tpm:$k" \
	"$d/m.eml" 2>&1 >/dev/null)
check "the blob is useless to another TPM (refused)" grep -q 'the TPM refused the key blob' <<<"$err"
check "zegel sign with the right TPM still signs" \
	bash -c "'$ZEGEL' sign -d example.test --key 'tpm:$k' '$d/m.eml' >'$d/s.eml'"
check "and dkimpy verifies it" \
	$PY "$TOP/tests/e2e/dkim_verify.py" --key "tpm._domainkey.example.test=$txt" "$d/s.eml"
finish
