# shellcheck shell=bash
# A small world for the queue's direct-delivery tests (tests/e2e/queue_*.sh).
# Source after tests/lib.sh.
#
#   queue_env_netns "$0" "$@"  re-run the suite in a network namespace of its
#                              own when possible (no clash with other runs)
#   queue_env_need             why it cannot run here, nothing if it can
#   queue_env_setup DIR        signed private root zone, NSD/Unbound configs
#   queue_env_start            NSD, Unbound and the sink; bounded waits;
#                              returns 1 with QUEUE_ENV_ERR on failure
#   queue_env_stop             stops them (put it in your EXIT trap)
#   queue_sink_files           the .eml files the sink accepted, in order
#
# DNS: one DNSSEC-signed private root zone "." (RSASHA256; its DS in
# $QUEUE_ANCHOR for `set resolver-anchors`) holds every name, so each answer
# is secure; there are no TLSA records (NSEC-proven), so the DANE policy is
# opportunistic STARTTLS and the sink, which offers none, gets plaintext:
#   ok.qtest, defer.qtest, reject.qtest, example.test   MX 10 mx.qtest.
#   mx.qtest                                            A  127.0.43.10
# NSD 127.0.43.1:43053 serves it; Unbound 127.0.43.2:43054 is a
# non-validating iterator stubbed to NSD ($QUEUE_RESOLVER for zegel).
# The sink (tests/e2e/queue/sink.py) listens on 127.0.43.10:43025: 250 for
# every domain but defer.qtest (451 4.7.1 at RCPT) and reject.qtest (550
# 5.1.1 at RCPT); it writes each message to $QUEUE_DIR/mail/NNNNNN.eml (+ .env)
# before it answers 250.
QUEUE_NET=127.0.43
QUEUE_MX_PORT=43025
QUEUE_DNS_PORT=43053
QUEUE_RESOLVER=$QUEUE_NET.2:$((QUEUE_DNS_PORT + 1))
QUEUE_DIR=
QUEUE_ENV_ERR=
QUEUE_PIDS=()

queue_env_netns() {
	if [ -z "${QUEUE_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
		exec env QUEUE_NETNS=1 unshare -n bash "$@"
	fi
	if [ -n "${QUEUE_NETNS:-}" ]; then
		ip link set lo up
	fi
}

queue_env_need() {
	local t
	for t in ldns-keygen ldns-signzone ldns-key2ds nsd unbound dig swaks; do
		command -v $t >/dev/null || { echo "$t not installed (scripts/bootstrap.sh)"; return; }
	done
	$PY -c 'import dkim' 2>/dev/null || echo "python3-dkim missing"
}

queue_env_setup() {
	QUEUE_DIR=$1
	QUEUE_ANCHOR=$QUEUE_DIR/anchor.zone
	local W=$QUEUE_DIR/dns NOW INC EXP ZONES=. RK N=$QUEUE_NET
	mkdir -p "$W/keys" "$W/zones" "$QUEUE_DIR/mail"
	. "$TOP/tests/e2e/lib/dnssec_zone.sh"
	NOW=$(date +%s)
	INC=$((NOW - 3600))
	EXP=$((NOW + 30 * 86400))
	(
		cd "$W/keys" || exit 1
		RK=$(key . RSASHA256)
		echo "$RK" >"$W/rootkey"
	) || { QUEUE_ENV_ERR="ldns-keygen failed"; return 1; }
	RK=$(cat "$W/rootkey")
	{
		header .
		echo "ns.tld. IN A $N.1"
		for dom in ok.qtest defer.qtest reject.qtest example.test; do
			echo "$dom. IN MX 10 mx.qtest."
		done
		echo "mx.qtest. IN A $N.10"
	} >"$W/zones/..zone"
	# dnssec_zone.sh names zone files after the zone: "." -> "..zone"
	if ! (cd "$W" && sign . -- "$RK") 2>"$QUEUE_DIR/sign.err"; then
		QUEUE_ENV_ERR="ldns-signzone: $(tail -3 "$QUEUE_DIR/sign.err")"
		return 1
	fi
	ds "$RK" 2 | awk '{print ". IN DS", $(NF-3), $(NF-2), $(NF-1), $NF}' >"$QUEUE_ANCHOR"
	nsd_conf $N.1 $QUEUE_DNS_PORT >"$W/nsd.conf"
	# Unbound answers "test." itself (RFC 6761 default local zone): not here
	unbound_conf $N.2 $((QUEUE_DNS_PORT + 1)) "iterator" "	local-zone: \"test.\" nodefault" \
		$N.1 $QUEUE_DNS_PORT >"$W/unbound.conf"
}

_queue_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

queue_env_start() {
	local W=$QUEUE_DIR/dns i
	if _queue_port_open $QUEUE_NET.10 $QUEUE_MX_PORT; then
		QUEUE_ENV_ERR="$QUEUE_NET.10:$QUEUE_MX_PORT is already in use"
		return 1
	fi
	nsd -c "$W/nsd.conf" -P "$W/nsd.pid" >"$W/nsd.out" 2>&1
	unbound -c "$W/unbound.conf" >"$W/unbound.out" 2>&1
	$PY "$TOP/tests/e2e/queue/sink.py" $QUEUE_NET.10 $QUEUE_MX_PORT "$QUEUE_DIR/mail" \
		>"$QUEUE_DIR/sink.out" 2>&1 &
	QUEUE_PIDS+=($!)
	for i in $(seq 1 100); do # 10 s at most
		if dig +short +time=1 +tries=1 @$QUEUE_NET.2 -p $((QUEUE_DNS_PORT + 1)) mx.qtest A 2>/dev/null |
			grep -q "^$QUEUE_NET.10\$" && _queue_port_open $QUEUE_NET.10 $QUEUE_MX_PORT; then
			return 0
		fi
		sleep 0.1
	done
	QUEUE_ENV_ERR="servers not up after 10 s: $(tail -n 3 "$W"/nsd.log "$W"/unbound-*.log "$W"/*.out \
		"$QUEUE_DIR/sink.out" 2>&1)"
	return 1
}

queue_env_stop() {
	local p f
	[ -n "$QUEUE_DIR" ] || return 0
	for p in "${QUEUE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	QUEUE_PIDS=()
	for f in "$QUEUE_DIR"/dns/nsd.pid "$QUEUE_DIR"/dns/unbound-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}

queue_sink_files() { ls "$QUEUE_DIR"/mail/*.eml 2>/dev/null; }
