#!/usr/bin/env bash
# The TLS server key in the TPM (issue 15 point 4), against swtpm on
# loopback, chosen with the console's `set tpm device tcp:...` (not the
# ZEGEL_TPM environment variable, which is unset here):
#   - `set tls key-store tpm`: the first start makes an RSA-2048 key inside
#     the TPM (only its wrapped blob in <data-dir>/tls/key.tpmkey) and a
#     self-signed certificate signed by it; no TLS private key in clear in
#     the data dir (PEM, DER, the blob);
#   - the certificate's public key is tpm2_readpublic's of the blob's key
#     (tpm2-tools loads the blob under its own SRK), and it verifies;
#   - openssl s_client STARTTLS: the handshake completes, the server
#     signature is SHA-256 RSA (the TPM's), the peer's key is the TPM's;
#     swaks submits with STARTTLS and AUTH;
#   - swtpm stopped: the handshake fails, with a log line naming the TPM;
#     nothing else signs in its place; swtpm back: TLS works again; a TPM
#     reset between handshakes: the key is loaded again;
#   - TPM missing at start: TLS unavailable (clear line), no STARTTLS, AUTH
#     refused in plaintext; the TPM back: TLS comes back by itself;
#   - `tls csr`: a PKCS#10 request signed by the TPM for its key; a CA's
#     certificate for it (`set tls cert`) is served, the key still in the TPM;
#   - `show running` and `help set` name the settings.
# Ports: swtpm 41720-41721, zegel 41722 (STARTTLS), 41723 (implicit TLS).
. "$TOP/tests/lib.sh"
for t in swtpm swaks openssl tpm2_createprimary; do
	if ! command -v "$t" >/dev/null; then
		not_ok "$t is installed (scripts/bootstrap.sh peers)"
		finish
		exit 1
	fi
done
unset ZEGEL_TPM
d=$(tmpdir)
TPMP=41720
SUB=41722
TLSP=41723
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
# zegel run, up when the TLS setup said how it went (the port is bound
# before the key is made or loaded)
zstart() {
	"$ZEGEL" run --config "$d/zegel.conf" --no-console >>"$d/zegel.log" 2>&1 </dev/null &
	ZPID=$!
	for _ in $(seq 1 300); do
		grep -q 'held in the TPM, signing\|TLS unavailable' "$d/zegel.log" && return 0
		kill -0 "$ZPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
cleanup() {
	zstop
	tpm_stop "$d/tpm"
	rm -rf "$d"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
# s_client's STARTTLS transcript (the certificate in $d/peer.pem)
handshake() {
	echo QUIT | timeout 20 openssl s_client -connect 127.0.0.1:$SUB -starttls smtp \
		-CAfile "${1:-$d/data/tls/cert.pem}" -verify_hostname mx.zegel.test 2>&1 |
		tee "$d/sclient.out" | sed -n '/BEGIN CERT/,/END CERT/p' >"$d/peer.pem"
	cat "$d/sclient.out"
}
send() { # SUBJECT
	swaks --server 127.0.0.1 --port "$SUB" --tls --tls-verify --tls-ca-path "$d/data/tls/cert.pem" \
		--auth PLAIN --auth-user printer --auth-password 'Printer pw 1' \
		--from printer@example.test --to rcpt@example.net --h-Subject "$1" --body "tls $1" 2>&1
}
nout() { find "$d/outbox" -name '*.eml' | wc -l; }

check "swtpm starts on loopback" tpm_start "$d/tpm" $TPMP
mkdir -p "$d/outbox" "$d/dkim"
# the DKIM key is an ordinary one outside the data dir (the TPM here holds
# the TLS key only; the data dir is checked for private keys in clear)
"$ZEGEL" keygen -t ed25519 -d example.test -s s1 -o "$d/dkim" >/dev/null 2>&1
cat >"$d/zegel.conf" <<CONF
set hostname mx.zegel.test
set data-dir $d/data
set log-level info
set tpm device tcp:127.0.0.1:$TPMP
set tls key-store tpm
set domain example.test
set key s1 domain example.test file $d/dkim/s1.key
set user printer password "Printer pw 1"
set listener submission 127.0.0.1:$SUB mode starttls
set listener smtps 127.0.0.1:$TLSP mode tls
set relay outbox $d/outbox
CONF

# ------------------------------------------------------------ the key made in the TPM
if zstart; then ok "zegel run starts with key-store tpm"; else not_ok "zegel run starts with key-store tpm" "$(tail -5 "$d/zegel.log")"; fi
check "the log says the TLS key was made in the TPM" grep -q 'TLS key made in the TPM (RSA-2048)' "$d/zegel.log"
check "the key holder took the device setting" grep -q "TPM device now tcp:127.0.0.1:$TPMP" "$d/zegel.log"
k=$d/data/tls/key.tpmkey
check "<data-dir>/tls/key.tpmkey is the blob format, mode 0600" \
	bash -c "head -1 '$k' | grep -qx 'zegel-tpm2-key 1' && test \$(stat -c %a '$k') = 600"
check_not "no key.pem was made" test -e "$d/data/tls/key.pem"
clear=
while IFS= read -r f; do
	grep -q 'PRIVATE KEY' "$f" && clear+="$f: a PEM private key; "
	openssl pkey -in "$f" -noout 2>/dev/null && clear+="$f: PEM key; "
	openssl pkey -inform DER -in "$f" -noout 2>/dev/null && clear+="$f: DER key; "
	openssl rsa -inform DER -in "$f" -noout 2>/dev/null && clear+="$f: DER RSA key; "
done < <(find "$d/data" -type f)
sed -n 's/^public //p' "$k" | xxd -r -p >"$d/pub.bin"
sed -n 's/^private //p' "$k" | xxd -r -p >"$d/priv.bin"
openssl pkey -inform DER -in "$d/priv.bin" -noout 2>/dev/null && clear+="blob: DER key; "
[ -z "$clear" ] && ok "no TLS private key in clear in the data dir (PEM, DER, the blob)" ||
	not_ok "no TLS private key in clear in the data dir" "$clear"
cert=$d/data/tls/cert.pem
check "the self-signed certificate verifies (signed by the TPM key)" \
	openssl verify -CAfile "$cert" "$cert"
check "... for mx.zegel.test, RSA-2048 with SHA-256" bash -c \
	"openssl x509 -in '$cert' -noout -text | grep -q 'Public-Key: (2048 bit)' &&
	 openssl x509 -in '$cert' -noout -text | grep -q 'sha256WithRSAEncryption' &&
	 openssl x509 -in '$cert' -noout -ext subjectAltName | grep -q 'DNS:mx.zegel.test'"

# tpm2-tools: the blob's key as the TPM has it (swtpm serves one connection
# at a time: zegel's key holder keeps one open, so zegel stops meanwhile)
zstop
export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$TPMP
tt() { timeout 20 "$@" >>"$d/tpm2tools.log" 2>&1 && timeout 20 tpm2_flushcontext -t >>"$d/tpm2tools.log" 2>&1; }
if tt tpm2_createprimary -C o -g sha256 -G rsa2048:null:aes128cfb \
	-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' \
	-c "$d/srk.ctx" && tt tpm2_load -C "$d/srk.ctx" -u "$d/pub.bin" -r "$d/priv.bin" -c "$d/key.ctx" &&
	tt tpm2_readpublic -c "$d/key.ctx" -f pem -o "$d/tpmpub.pem"; then
	ok "tpm2_load takes the TLS key's blob, tpm2_readpublic gives its key"
else
	not_ok "tpm2_load takes the TLS key's blob" "$(tail -5 "$d/tpm2tools.log")"
fi
unset TPM2TOOLS_TCTI
tpmp=$(openssl pkey -pubin -in "$d/tpmpub.pem" -outform DER 2>/dev/null | base64 -w0)
certp=$(openssl x509 -in "$cert" -noout -pubkey | openssl pkey -pubin -outform DER | base64 -w0)
check "the certificate's public key is tpm2_readpublic's" test -n "$tpmp" -a "$certp" = "$tpmp"
: >"$d/zegel.log"
if zstart; then ok "zegel run starts again with the key"; else not_ok "zegel run starts again with the key" "$(tail -5 "$d/zegel.log")"; fi
check "... loaded, not made again" bash -c "! grep -q 'TLS key made in the TPM' '$d/zegel.log'"

# ------------------------------------------------------------ handshakes signed by the TPM
out=$(handshake)
check "openssl s_client STARTTLS: handshake completes, the chain verifies" \
	grep -q 'Verify return code: 0 (ok)' <<<"$out"
check "the server's signature is RSA over SHA-256 (the TPM's)" \
	bash -c "grep -q 'Peer signing digest: SHA256' <<<\"\$1\" && grep -q 'Peer signature type: RSA' <<<\"\$1\"" _ "$out"
check "the suite is ECDHE-RSA (the TPM key never decrypts)" grep -q 'Cipher is ECDHE-RSA-' <<<"$out"
peerp=$(openssl x509 -in "$d/peer.pem" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | base64 -w0)
check "the key the server presented is the TPM's" test -n "$peerp" -a "$peerp" = "$tpmp"
out=$(send one)
check "swaks: STARTTLS, AUTH PLAIN and a message accepted" grep -q '^<~ *250 2.0.0' <<<"$out"
check "... and it is in the outbox" test "$(nout)" -eq 1

# ------------------------------------------------------------ the TPM goes away, comes back
tpm_stop "$d/tpm"
out=$(handshake)
check_not "swtpm stopped: no TLS handshake" grep -q 'New, TLSv1.2, Cipher is' <<<"$out"
check "the log says the TLS key did not sign, the TPM cannot be reached" \
	grep -q 'tls.*the TLS key .*key.tpmkey did not sign (the TPM cannot be reached): TLS refused' "$d/zegel.log"
out=$(send two)
check "swaks cannot submit (no TLS, so no AUTH)" bash -c "! grep -q '^<~ *250 2.0.0' <<<\"\$1\"" _ "$out"
check "nothing new in the outbox" test "$(nout)" -eq 1
check "swtpm restarted (same state)" tpm_start "$d/tpm" $TPMP
out=$(handshake)
check "swtpm back: the handshake completes again" grep -q 'New, TLSv1.2, Cipher is ECDHE-RSA-' <<<"$out"
check "the log says the key was loaded into the TPM again" grep -q 'key loaded into the TPM again' "$d/zegel.log"
# a TPM reset (swtpm's control channel: CMD_INIT) between two handshakes
check "the TPM is reset through swtpm's control channel" \
	swtpm_ioctl --tcp 127.0.0.1:$((TPMP + 1)) -i
out=$(handshake)
check "after a TPM reset the key is loaded again and the handshake completes" \
	grep -q 'New, TLSv1.2, Cipher is ECDHE-RSA-' <<<"$out"
check "the log names the reset (TPM_RC_INITIALIZE)" grep -q 'TPM_RC_INITIALIZE' "$d/zegel.log"
zstop

# ------------------------------------------------------------ TPM missing at start
tpm_stop "$d/tpm"
cp "$cert" "$d/cert.before"
: >"$d/zegel.log"
if zstart; then ok "zegel run starts without its TPM"; else not_ok "zegel run starts without its TPM" "$(tail -5 "$d/zegel.log")"; fi
check "TLS unavailable, with a clear line (no other key used)" \
	grep -q 'TLS unavailable: the TLS key in the TPM (.*key.tpmkey) cannot be used: .*the TPM cannot be reached.*no other key is used' "$d/zegel.log"
ehlo=$(exec 3<>"/dev/tcp/127.0.0.1/$SUB"
	for c in 'EHLO t' 'AUTH PLAIN AHByaW50ZXIAUHJpbnRlciBwdyAx' STARTTLS QUIT; do
		printf '%s\r\n' "$c" >&3
		sleep 0.3
	done
	timeout 3 cat <&3 | tr -d '\r')
check "EHLO offers no STARTTLS" bash -c "! grep -q '250-STARTTLS\|250 STARTTLS' <<<\"\$1\"" _ "$ehlo"
check "AUTH in plaintext is refused" grep -q '^538 5.7.11' <<<"$ehlo"
check "STARTTLS is refused" grep -q '^502 5.5.1 STARTTLS not available' <<<"$ehlo"
check "the implicit-TLS listener is closed, with a line saying why" bash -c \
	"grep -q 'listener smtps on 127.0.0.1:$TLSP: no TLS certificate, not started' '$d/zegel.log' &&
	 ! (exec 3<>/dev/tcp/127.0.0.1/$TLSP) 2>/dev/null"
check_not "no key.pem was made in its place" test -e "$d/data/tls/key.pem"
check "swtpm started again" tpm_start "$d/tpm" $TPMP
back=
for _ in $(seq 1 40); do
	grep -q 'TLS key .*key.tpmkey held in the TPM' "$d/zegel.log" && back=1 && break
	sleep 0.5
done
check "TLS comes back by itself when the TPM does (retried, no commit)" test -n "$back"
out=$(handshake)
check "... and the handshake completes" grep -q 'New, TLSv1.2, Cipher is ECDHE-RSA-' <<<"$out"
out=$(echo QUIT | timeout 20 openssl s_client -connect 127.0.0.1:$TLSP -CAfile "$cert" 2>&1)
check "... and the implicit-TLS listener is open again, signed by the TPM" bash -c \
	"grep -q 'Verify return code: 0 (ok)' <<<\"\$1\" && grep -q 'New, TLSv1.2, Cipher is ECDHE-RSA-' <<<\"\$1\"" _ "$out"
check "the same key and certificate as before" cmp "$cert" "$d/cert.before"
zstop

# ------------------------------------------------------------ a CA's certificate for the TPM key
con=$(printf 'tls csr\nexit\n' | timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1 | sed 's/^\(zegel> \)*//')
sed -n '/BEGIN CERTIFICATE REQUEST/,/END CERTIFICATE REQUEST/p' <<<"$con" >"$d/req.pem"
check "tls csr: the request's signature verifies (made by the TPM)" \
	openssl req -in "$d/req.pem" -noout -verify
reqp=$(openssl req -in "$d/req.pem" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | base64 -w0)
check "its public key is tpm2_readpublic's" test -n "$reqp" -a "$reqp" = "$tpmp"
check "it asks for subjectAltName DNS:mx.zegel.test" bash -c \
	"openssl req -in '$d/req.pem' -noout -text | grep -q 'DNS:mx.zegel.test'"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -subj '/CN=Test CA' \
	-days 2 >/dev/null 2>&1
openssl x509 -req -in "$d/req.pem" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
	-copy_extensions copy -days 2 -out "$d/admin.pem" >/dev/null 2>&1
con=$(printf 'set tls cert %s\ncommit\nsave\nexit\n' "$d/admin.pem" |
	timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "the CA's certificate for the TPM key commits (set tls cert, key still in the TPM)" \
	grep -q 'commit: ok' <<<"$con"
: >"$d/zegel.log"
zstart
out=$(handshake "$d/ca.pem")
check "STARTTLS with the CA's certificate: verifies against the CA, signed by the TPM" bash -c \
	"grep -q 'Verify return code: 0 (ok)' <<<\"\$1\" && grep -q 'New, TLSv1.2, Cipher is ECDHE-RSA-' <<<\"\$1\"" _ "$out"
check "the certificate presented is the CA's" cmp <(openssl x509 -in "$d/peer.pem" -outform DER) \
	<(openssl x509 -in "$d/admin.pem" -outform DER)
zstop

# ------------------------------------------------------------ the console
con=$(printf 'show running\nhelp set\nset tpm device /etc/passwd\nset tls key-store disk\nset tpm device default\nset tls key-store file\nshow diff\nexit\n' |
	timeout 30 "$ZEGEL" run --config "$d/zegel.conf" 2>&1)
check "show running has set tpm device" grep -q "^set tpm device tcp:127.0.0.1:$TPMP" <<<"$con"
check "show running has set tls key-store tpm" grep -q '^set tls key-store tpm' <<<"$con"
check "help set names both settings" bash -c \
	"grep -q 'set tls key-store file|tpm' <<<\"\$1\" && grep -q 'set tpm device /dev/tpm\*|tcp:IP:PORT|default' <<<\"\$1\"" _ "$con"
check "a path that is no TPM device is refused" \
	grep -q "error: set tpm device: '/etc/passwd' is not /dev/tpm..., tcp:IPV4:PORT or default" <<<"$con"
check "a store that is neither file nor tpm is refused" \
	grep -q "error: set tls key-store: 'disk' is not file or tpm" <<<"$con"
finish
