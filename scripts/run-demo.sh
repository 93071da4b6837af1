#!/usr/bin/env bash
# `make run`: start the appliance on this machine with a demo configuration.
#   scripts/run-demo.sh build/host/zegel
# First start: writes var/zegel.conf (domain example.test, submission on
# 127.0.0.1:2587 with STARTTLS, network 127.0.0.0/8, user demo, outbox
# var/outbox) and the DKIM keys (RSA-2048 and Ed25519 in var/keys, by
# `zegel keygen`: zegel never makes a key implicitly; keys made this way
# and added with `set key` sign at once, see README "Keys and rollover");
# `zegel run` generates the TLS certificate (var/tls). Later starts reuse
# all of it (delete var/ to start over). The console stays on this terminal.
set -eu
zegel=${1:-build/host/zegel}
[ -x "$zegel" ] || { echo "run-demo: $zegel not built (make BOARD=host)" >&2; exit 2; }
var=${ZEGEL_DEMO_DIR:-var}
port=${ZEGEL_DEMO_PORT:-2587}
mkdir -p "$var/keys" && mkdir -p -m 0750 "$var/outbox"
conf=$var/zegel.conf
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
set hostname zegel.example.test
set data-dir $var
set domain example.test
set key rsa2048 domain example.test file $var/keys/rsa2048.key
set key ed25519 domain example.test file $var/keys/ed25519.key
set user demo password demo
set network 127.0.0.0/8
set listener submission 127.0.0.1:$port mode starttls auth-plaintext off
set relay outbox $var/outbox
CONF
	chmod 600 "$conf"
	echo "run-demo: wrote $conf"
fi
# Keys on first start.
gen() { # selector type bits
	local f="$var/keys/$1.key"
	[ -s "$f" ] && return 0
	"$zegel" keygen -t "$2" ${3:+-b "$3"} -d example.test -s "$1" -o "$var/keys" >/dev/null
	[ -s "$f" ] || { echo "run-demo: zegel keygen did not write $f" >&2; exit 1; }
	echo "run-demo: generated $f"
}
gen rsa2048 rsa 2048
gen ed25519 ed25519

cat <<TXT

== zegel demo ==============================================================
Submission: 127.0.0.1:$port (STARTTLS; AUTH only after TLS; 127.0.0.0/8 may relay)

Send a test message (another terminal):

  swaks --server 127.0.0.1:$port --tls --auth PLAIN --auth-user demo --auth-password demo \\
        --from demo@example.test --to someone@example.net

The signed message lands in: $var/outbox/<id>.eml

DNS records to publish for example.test:
TXT
for s in rsa2048 ed25519; do
	"$zegel" dnsrecord -d example.test -s "$s" -k "$var/keys/$s.key" | sed 's/^/  /'
done
cat <<TXT

Console: type 'help'; 'show status'; 'exit' (or Ctrl-D) stops zegel.
=============================================================================

TXT
# Privilege separation (README "Security model"): started as root, zegel run
# keeps the keys in a root key holder and drops the network process to the
# user zegel, which must own the data dir (the key files excepted). A
# machine without that user runs the demo in the --allow-root test mode.
args=()
if [ "$(id -u)" = 0 ]; then
	if id -u zegel >/dev/null 2>&1; then
		chown -R zegel: "$var"
		chown root: "$var"/keys/*.key
		chmod 600 "$var"/keys/*.key
	else
		echo "run-demo: no user zegel here: the network process keeps root (--allow-root);"
		echo "          useradd --system --no-create-home zegel to run it as on the router"
		args+=(--allow-root)
	fi
fi
exec "$zegel" run --config "$conf" "${args[@]}"
