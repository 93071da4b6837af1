# shellcheck shell=bash
# A DANE (RFC 7672) test world on loopback, shared by tests/e2e/dane_check.sh
# and tests/e2e/dane_direct.sh. Source after tests/lib.sh.
#
#   dane_env_need             prints why the environment cannot run here (tools,
#                             root), nothing if it can
#   dane_env_setup DIR        test PKI, signed DNS tree, Postfix config (no servers)
#   dane_env_start            NSD, Unbound, Postfix and the STARTTLS stripper;
#                             bounded waits; returns 1 (and DANE_ENV_ERR) on failure
#   dane_env_stop             stops all of them; put it in your EXIT trap
#   dane_mail_count CASE      messages delivered into CASE's mailbox
#   dane_mail_wait CASE N S   wait up to S seconds until CASE's mailbox holds N
#   dane_mail_files CASE      the message files
#
# Addresses (127.0.42.0/24, all on lo) and ports:
#   NSD 127.0.42.1:42053 serves the whole tree; Unbound 127.0.42.2:42054 is a
#   non-validating iterator (stub zones -> NSD): the client under test validates
#   with the private root's DS in $DANE_ANCHOR (delv: $DANE_DELV_ANCHOR).
#   One Postfix instance has one smtpd listener per MX host on
#   127.0.42.N:42025, each with its own certificate chain and myhostname
#   (-o overrides in master.cf), smtpd_tls_received_header = yes, so a
#   delivered message says which host took it ("by HOST") and whether over
#   TLS ("using TLSv1.x"). Every case domain has its own maildir
#   $DANE_DIR/pf/mail/DOMAIN/ for rcpt@DOMAIN. mx.ee.dane and mx.cname.dane
#   present their real certificate only for the right SNI (else the
#   attacker's). $DANE_DIR/pf/maillog has the
#   listener in every smtpd line: "pf/HOST/smtpd[PID]: connect from ...",
#   "... TLS connection established from ...".
#
# PKI ($DANE_DIR/pki, openssl, ECDSA P-256 unless noted):
#   root CA -> intermediate CA -> one leaf per MX host (SAN = the host name),
#   served as leaf + intermediate (mx.tanochain.dane: the leaf alone);
#   ta.crt is RSA-2048; expired.crt (by the
#   intermediate, 2019-2020, SAN wrong.invalid); badname.crt (by the
#   intermediate, SAN other.invalid); attacker.crt (SAN = the victims' names,
#   by a self-made "attacker CA"); stale.key (a key no server uses).
#
# The cases: DANE_CASES lines "CASE DOMAIN STATUS HOST  what it shows", where
# STATUS/HOST is what RFC 7672 requires of the client (the dane-check
# `status:` line; HOST is "-" for deferred). TLSA records live at
# _42025._tcp.HOST (the port the MX hosts listen on).
# DANE_NET from the environment moves the world to another /24 the caller made
# local (tests/e2e/lwip.sh: 10.42.0, as lwIP keeps all of 127/8 for itself)
DANE_NET=${DANE_NET:-127.0.42}
DANE_PORT=42025
DANE_DNS_PORT=42053
DANE_RESOLVER=$DANE_NET.2:$((DANE_DNS_PORT + 1))
DANE_DIR=
DANE_ENV_ERR=
DANE_PIDS=()

DANE_CASES="\
ee        ee.dane        verified  mx.ee.dane      DANE-EE 3 1 1 matches the leaf key
ta        ta.dane        verified  mx.ta.dane      DANE-TA 2 0 1 matches the intermediate sent with the RSA leaf
ee512     ee512.dane     verified  mx.ee512.dane   DANE-EE 3 1 2 (SHA-512 of the leaf key)
ta211     ta211.dane     verified  mx.ta211.dane   DANE-TA 2 1 1 (the intermediate's key digest)
tafull    tafull.dane    verified  mx.tafull.dane  DANE-TA 2 1 0 (the intermediate's full key) and the server sends only its leaf (RFC 7671 5.2.2)
eeexp     eeexp.dane     verified  mx.eeexp.dane   DANE-EE 3 0 1 on an expired leaf with a wrong name (RFC 7672 3.1.1: both ignored)
rollover  rollover.dane  verified  mx.rollover.dane  two DANE-EE records, the first stale, the second matches
twomx     twomx.dane     verified  mx2.twomx.dane  MX 10 fails DANE (attacker cert), MX 20 passes
cname     cname.dane     verified  mx.cname.dane   the MX host is a secure CNAME; TLSA only at its target (RFC 7672 2.2.2)
mismatch  mismatch.dane  deferred  -               DANE-EE 3 1 1 of a key no server has
tabad     tabad.dane     deferred  -               DANE-TA matches the chain but the leaf names other.invalid (RFC 7672 3.2.3)
tanochain tanochain.dane deferred  -               DANE-TA 2 0 1 but the server sends only its leaf (RFC 7671 5.2.2)
mitm      mitm.dane      deferred  -               a man in the middle with another certificate (attacker CA)
strip     strip.dane     deferred  -               a man in the middle removes STARTTLS from EHLO (RFC 7672 2.2)
servfail  servfail.dane  deferred  -               the TLSA lookup SERVFAILs (lame signed delegation): indeterminate
bogustlsa bogustlsa.dane deferred  -               TLSA RRset with a bad signature: bogus
bogusmx   bogusmx.dane   deferred  -               MX RRset with a bad signature: bogus, no fallback to the apex A
pkix      pkix.dane      encrypted mx.pkix.dane    only PKIX-EE 1 1 1: secure TLSA, none usable (RFC 7672 3.1.3)
notlsa    notlsa.dane    encrypted mx.notlsa.dane  signed zone, no TLSA (NSEC3 denial): opportunistic STARTTLS
insec     insec.dane     encrypted mx.insec.dane   unsigned delegation: its TLSA record is ignored, opportunistic STARTTLS
plain     plain.dane     plaintext mx.plain.dane   unsigned delegation, no STARTTLS offered: plaintext is allowed
"

# MTA-STS cases (tests/e2e/mta_sts.sh; not in DANE_CASES, the DANE suites
# leave them alone): signed zones without TLSA (stsdane: with a matching
# DANE-EE record), MX mx.CASE.dane on 127.0.42.40+i, _mta-sts TXT
# "v=STSv1; id=1", mta-sts.CASE.dane at $DANE_STS_WEB (the suite's HTTPS
# policy server, certificate pki/stsweb.chain by the test intermediate).
# stsbadcert's listener shows the attacker's certificate; stsstrip's MX
# (127.0.42.46) has no Postfix listener: the suite puts a STARTTLS stripper
# there in front of mx.stsgood.dane.
DANE_STS_CASES="stsgood stsbadmx stsbadcert ststest stsdane stsdown stsstrip"
DANE_STS_WEB=$DANE_NET.60
# TLS-RPT (tests/e2e/tlsrpt.sh): the STS cases and mismatch.dane publish
# _smtp._tls "v=TLSRPTv1; rua=mailto:$DANE_TLSRPT_RUA", a Postfix mailbox
# of its own ($DANE_DIR/pf/mail/tlsrpt/)
DANE_TLSRPT_RUA=tlsrpt@notlsa.dane

# dane_env_netns "$0" "$@": re-run the calling suite in a network namespace
# of its own (when the system allows it), so that two runs at the same time
# (other helpers, CI) never meet on 127.0.42.x:42025. Call it first thing;
# it returns in the namespace with lo up, or at once where there is none.
dane_env_netns() {
	if [ -z "${DANE_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
		exec env DANE_NETNS=1 unshare -n bash "$@"
	fi
	if [ -n "${DANE_NETNS:-}" ]; then
		ip link set lo up
	fi
}

dane_env_need() {
	local t
	for t in openssl ldns-keygen ldns-signzone ldns-key2ds nsd unbound delv dig postfix swaks ss; do
		command -v $t >/dev/null || { echo "$t not installed (scripts/bootstrap.sh)"; return; }
	done
	$PY -c 'import dns.message' 2>/dev/null || { echo "python3-dnspython missing"; return; }
	[ "$(id -u)" -eq 0 ] || echo "Postfix's master needs root"
}

# TLSA association data (upper-case hex)
dane_spki_sha256() { # cert-or-key file
	if grep -q CERTIFICATE "$1"; then
		openssl x509 -in "$1" -noout -pubkey
	else
		openssl pkey -in "$1" -pubout
	fi | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64 | tr a-f A-F
}
dane_spki_sha512() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
	sha512sum | cut -c1-128 | tr a-f A-F; }
dane_spki_hex() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
	od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
dane_cert_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64 | tr a-f A-F; }

# ---------------------------------------------------------------- Postfix
# listener lines: IP HOSTNAME PKI-NAME [-o extra ...]
_dane_listeners() {
	local N=$DANE_NET
	cat <<EOF
$N.11 mx.ee.dane attacker -o tls_server_sni_maps=hash:$DANE_DIR/pf/etc/sni
$N.12 mx.ta.dane ta
$N.13 mx.mismatch.dane mismatch
$N.14 mx.rollover.dane rollover
$N.15 mx.pkix.dane pkix
$N.16 mx.servfail.dane servfail
$N.17 mx.bogustlsa.dane bogustlsa
$N.18 mx.bogusmx.dane bogusmx
$N.19 mx.insec.dane attacker
$N.20 mx.plain.dane plain -o smtpd_tls_security_level=none
$N.31 mx.strip.dane strip
$N.22 mx.mitm.dane attacker
$N.23 mx1.twomx.dane attacker
$N.24 mx2.twomx.dane twomx2
$N.25 mx.eeexp.dane expired
$N.26 mx.tabad.dane badname
$N.27 mx.notlsa.dane notlsa
$N.28 mx.tanochain.dane tanochain.leaf
$N.29 mx.ee512.dane ee512
$N.32 mx.ta211.dane ta211
$N.33 mx.tafull.dane tafull.leaf
$N.30 mx.cname.dane attacker -o tls_server_sni_maps=hash:$DANE_DIR/pf/etc/sni
$N.40 mx.stsgood.dane stsgood
$N.41 mx.stsbadmx.dane stsbadmx
$N.42 mx.stsbadcert.dane attacker
$N.43 mx.ststest.dane ststest
$N.44 mx.stsdane.dane stsdane
$N.45 mx.stsdown.dane stsdown
EOF
}

_dane_postfix_setup() {
	local d=$DANE_DIR/pf uid gid doms="" c dom rest ip host pki extra
	uid=$(id -u postfix) gid=$(id -g postfix)
	mkdir -p "$d/etc" "$d/queue" "$d/data" "$d/mail"
	chown postfix:postfix "$d/data" "$d/mail"
	: >"$d/etc/vmailbox"
	while read -r c dom rest; do
		[ -n "$c" ] || continue
		doms="$doms $dom"
		echo "rcpt@$dom $dom/" >>"$d/etc/vmailbox"
	done <<<"$DANE_CASES"
	for c in $DANE_STS_CASES; do
		doms="$doms $c.dane"
		echo "rcpt@$c.dane $c.dane/" >>"$d/etc/vmailbox"
	done
	echo "$DANE_TLSRPT_RUA tlsrpt/" >>"$d/etc/vmailbox"
	cp "$DANE_DIR"/pki/*.chain "$DANE_DIR"/pki/*.key "$d/etc/"
	for c in tanochain tafull; do
		cp "$DANE_DIR/pki/$c.crt" "$d/etc/$c.leaf.chain"
		cp "$DANE_DIR/pki/$c.key" "$d/etc/$c.leaf.key"
	done
	chmod 600 "$d"/etc/*.key
	# SNI: the listeners of mx.ee.dane and mx.cname.dane show their real
	# certificate only to a client that asks for the TLSA base domain
	# (RFC 7672 8.1: mx.ee.dane, and the CNAME target host.cname.dane);
	# everyone else gets the attacker's
	: >"$d/etc/sni"
	for c in ee:mx.ee.dane cname:host.cname.dane; do
		cat "$DANE_DIR/pki/${c%%:*}.key" "$DANE_DIR/pki/${c%%:*}.chain" >"$d/etc/${c%%:*}.pem"
		chmod 600 "$d/etc/${c%%:*}.pem"
		echo "${c#*:} $d/etc/${c%%:*}.pem" >>"$d/etc/sni"
	done
	cat >"$d/etc/main.cf" <<CF
compatibility_level = 3.6
config_directory = $d/etc
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = receiver.dane
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
virtual_mailbox_domains =$doms
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
maillog_file = $d/maillog
maillog_file_prefixes = $d
smtputf8_enable = no
biff = no
CF
	{
		while read -r ip host pki extra; do
			echo "$ip:$DANE_PORT inet n - n - - smtpd -o myhostname=$host -o syslog_name=pf/$host" \
				"-o smtpd_tls_cert_file=$d/etc/$pki.chain -o smtpd_tls_key_file=$d/etc/$pki.key $extra"
		done < <(_dane_listeners)
		cat "$TOP/tests/e2e/relay/master.cf.in"
	} >"$d/etc/master.cf"
	postmap -F -c "$d/etc" "hash:$d/etc/sni"
}

dane_env_setup() {
	DANE_DIR=$1
	DANE_ANCHOR=$DANE_DIR/anchor.zone
	DANE_DELV_ANCHOR=$DANE_DIR/anchor.delv
	mkdir -p "$DANE_DIR" && chmod 755 "$DANE_DIR" "$(dirname "$DANE_DIR")"
	if ! bash "$TOP/tests/e2e/dane/build-world.sh" "$DANE_DIR" >"$DANE_DIR/build.log" 2>&1; then
		DANE_ENV_ERR="test PKI / signed tree: $(tail -5 "$DANE_DIR/build.log")"
		return 1
	fi
	_dane_postfix_setup || { DANE_ENV_ERR="Postfix configuration (postmap)"; return 1; }
}

# ---------------------------------------------------------------- servers
_dane_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

dane_env_start() {
	local W=$DANE_DIR/dns ip rest i ok up
	for ip in $(_dane_listeners | awk '{print $1}') $DANE_NET.21; do
		if _dane_port_open "$ip" $DANE_PORT; then
			DANE_ENV_ERR="$ip:$DANE_PORT is already in use"
			return 1
		fi
	done
	nsd -c "$W/nsd.conf" -P "$W/nsd.pid" >"$W/nsd.out" 2>&1
	unbound -c "$W/unbound.conf" >"$W/unbound.out" 2>&1
	postfix -c "$DANE_DIR/pf/etc" check >"$DANE_DIR/pf/check.log" 2>&1 || true
	postfix -c "$DANE_DIR/pf/etc" start >"$DANE_DIR/pf/start.log" 2>&1
	$PY "$TOP/tests/e2e/dane/mitm_strip.py" $DANE_NET.21 $DANE_PORT $DANE_NET.31 $DANE_PORT \
		"$DANE_DIR/mitm_strip.log" 2>>"$DANE_DIR/mitm_strip.err" &
	DANE_PIDS+=($!)
	# bounded: 10 s for everything
	for i in $(seq 1 100); do
		ok=1
		dig +short +time=1 +tries=1 @$DANE_NET.2 -p $((DANE_DNS_PORT + 1)) mx.ee.dane A 2>/dev/null |
			grep -q "^$DANE_NET.11\$" || ok=0
		# listening sockets, not test connections: the receiver's log
		# must show only the client under test
		if [ $ok = 1 ]; then
			up=$(ss -ltnH "sport = :$DANE_PORT" 2>/dev/null | awk '{print $4}')
			for ip in $(_dane_listeners | awk '{print $1}') $DANE_NET.21; do
				grep -qxF "$ip:$DANE_PORT" <<<"$up" || { ok=0; break; }
			done
		fi
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	DANE_ENV_ERR="servers not up after 10 s: $(tail -n 3 "$W"/nsd.log "$W"/unbound-*.log \
		"$DANE_DIR/pf/start.log" "$DANE_DIR/pf/maillog" "$DANE_DIR/mitm_strip.err" 2>&1)"
	return 1
}

dane_env_stop() {
	local p f pid=
	[ -n "$DANE_DIR" ] || return 0
	for p in "${DANE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	DANE_PIDS=()
	for f in "$DANE_DIR"/dns/nsd.pid "$DANE_DIR"/dns/unbound-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	if [ -d "$DANE_DIR/pf/etc" ]; then
		[ -f "$DANE_DIR/pf/queue/pid/master.pid" ] &&
			pid=$(tr -d ' \n' <"$DANE_DIR/pf/queue/pid/master.pid")
		postfix -c "$DANE_DIR/pf/etc" stop >/dev/null 2>&1 || true
		if [ -n "$pid" ]; then
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	return 0
}

# dane_maillog HOST: the receiver's log lines of HOST's listener
# dane_sts_policies DIR: the MTA-STS policies the STS suites serve (mta_sts.sh,
# tlsrpt.sh, sts_reference.sh) as DIR/mta-sts.<case>.dane; a suite adds its
# own (stsdown) after it.
dane_sts_policies() {
	local w=$1
	mkdir -p "$w"
	_dane_pol() { # case mode mx...
		local c=$1 m=$2
		shift 2
		{
			printf 'version: STSv1\r\nmode: %s\r\n' "$m"
			for x in "$@"; do printf 'mx: %s\r\n' "$x"; done
			printf 'max_age: 86400\r\n'
		} >"$w/mta-sts.$c.dane"
	}
	_dane_pol stsgood enforce mx.stsgood.dane
	_dane_pol stsbadmx enforce other.stsbadmx.dane
	_dane_pol stsbadcert enforce '*.stsbadcert.dane'
	_dane_pol ststest testing nothing.ststest.dane
	_dane_pol stsdane enforce nomatch.stsdane.dane
	_dane_pol stsstrip enforce mx.stsstrip.dane
}

dane_maillog() { grep -F " pf/$1/" "$DANE_DIR/pf/maillog" 2>/dev/null; }
# dane_first_received FILE: the topmost Received: header (the receiver's own)
dane_first_received() {
	awk '/^Received: / { on = 1; print; next } on && /^[ \t]/ { print; next } on { exit }' "$1"
}
dane_mail_files() { find "$DANE_DIR/pf/mail/$1/new" -type f 2>/dev/null | sort; }
dane_mail_count() { dane_mail_files "$1" | wc -l; }
dane_mail_wait() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[ "$(dane_mail_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
