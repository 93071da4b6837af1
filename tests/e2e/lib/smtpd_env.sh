# Shared by tests/e2e/smtpd*.sh and tests/bench/smtp-load.sh: a test
# configuration for `zegel run` (the environment tests/vectors/smtp/PROVENANCE
# describes), its keys, and start/stop helpers. Source after tests/lib.sh.
#   smtpd_env_setup DIR BASEPORT    writes DIR/zegel.conf, DIR/keys/*.pem
#   smtpd_start DIR                 starts zegel, waits for the listener
#   smtpd_stop                      stops it; put it in your EXIT trap
#                                   (smtpd_start leaves the caller's trap alone)
#   dkim_pubkey_b64 KEYFILE         the p= value for a key file
SMTPD_PID=

smtpd_env_setup() {
	local d=$1 base=$2
	mkdir -p "$d/keys" "$d/outbox"
	openssl genpkey -algorithm ed25519 -out "$d/keys/ed.pem" 2>/dev/null
	openssl genpkey -algorithm ed25519 -out "$d/keys/org.pem" 2>/dev/null
	openssl genrsa -out "$d/keys/rsa.pem" 2048 2>/dev/null
	chmod 600 "$d"/keys/*.pem
	SUBMISSION_PORT=$base
	PLAINAUTH_PORT=$((base + 1))
	V6_PORT=$((base + 2))
	TLS_PORT=$((base + 3))
	cat >"$d/zegel.conf" <<CONF
set hostname mx.zegel.test
set data-dir $d/data
set log-level info
set message-size-limit 100000
set domain example.test envelope-align warn
set domain example.org subdomains on envelope-align refuse
set key ed domain example.test file $d/keys/ed.pem
set key rsa domain example.test file $d/keys/rsa.pem
set key org domain example.org file $d/keys/org.pem
set user alice password secret
set network 127.0.0.1/32
set network 127.0.0.3/32 line-endings normalise
set network ::1/128
set listener submission 127.0.0.1:$SUBMISSION_PORT mode starttls auth-plaintext off
set listener plainauth 127.0.0.1:$PLAINAUTH_PORT mode starttls auth-plaintext on
set listener v6 [::1]:$V6_PORT mode starttls
set listener submissions 127.0.0.1:$TLS_PORT mode tls
set relay outbox $d/outbox
CONF
}

# Wait until PORT on 127.0.0.1 accepts connections (10 s at most).
smtpd_wait_port() {
	local port=$1 i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

smtpd_start() {
	local d=$1
	"$ZEGEL" run --config "$d/zegel.conf" --no-console >"$d/zegel.log" 2>&1 </dev/null &
	SMTPD_PID=$!
	smtpd_wait_port "$SUBMISSION_PORT"
}

smtpd_stop() {
	if [ -n "$SMTPD_PID" ]; then
		kill "$SMTPD_PID" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$SMTPD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$SMTPD_PID" 2>/dev/null
		wait "$SMTPD_PID" 2>/dev/null
		SMTPD_PID=
	fi
}

# The DKIM p= value: RSA SubjectPublicKeyInfo, Ed25519 the raw 32 bytes (RFC 8463).
dkim_pubkey_b64() {
	local key=$1
	if openssl pkey -in "$key" -noout -text 2>/dev/null | grep -q ED25519; then
		openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0
	else
		openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0
	fi
}
