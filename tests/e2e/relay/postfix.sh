# A private Postfix instance as the smarthost for the relay suites.
# Source after tests/lib.sh.
#   postfix_setup DIR PORT CERT KEY   config in DIR/etc, queue DIR/queue,
#                                     mail for alice@example.net and
#                                     carol@example.net lands in the maildir
#                                     DIR/mail/sink/; other recipients get
#                                     550 5.1.1 (User unknown)
#   postfix_start DIR / postfix_stop DIR
#   postfix_wait_mail DIR N SECONDS   wait until N messages are in the maildir
# Needs root (Postfix's master runs as root and drops to the postfix user).
postfix_setup() {
	local d=$1 port=$2 cert=$3 key=$4 uid gid
	uid=$(id -u postfix) gid=$(id -g postfix)
	mkdir -p "$d/etc" "$d/queue" "$d/data" "$d/mail"
	chown postfix:postfix "$d/data" "$d/mail"
	cp "$cert" "$d/etc/cert.pem"
	cp "$key" "$d/etc/key.pem"
	chmod 600 "$d/etc/key.pem"
	printf 'alice@example.net sink/\ncarol@example.net sink/\n' >"$d/etc/vmailbox"
	cat >"$d/etc/main.cf" <<CF
compatibility_level = 3.6
config_directory = $d/etc
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = upstream.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_tls_security_level = may
smtpd_tls_cert_file = $d/etc/cert.pem
smtpd_tls_key_file = $d/etc/key.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
virtual_mailbox_domains = example.net
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
maillog_file = $d/maillog
maillog_file_prefixes = $d
smtputf8_enable = no
biff = no
CF
	{ echo "127.0.0.1:$port inet n - n - - smtpd"
	  cat "$(dirname "${BASH_SOURCE[0]}")/master.cf.in"; } >"$d/etc/master.cf"
}

# SASL for the private Postfix (Cyrus, sasldb; `saslpasswd2` from sasl2-bin):
#   postfix_sasl DIR USER PASS     AUTH PLAIN/LOGIN over TLS only, user
#                                  USER@upstream.test, and relaying for
#                                  authenticated clients ONLY (mynetworks
#                                  empty: no client-address rule). Call
#                                  between postfix_setup and postfix_start.
postfix_sasl() {
	local d=$1 user=$2 pass=$3
	mkdir -p "$d/etc/sasl"
	printf '%s' "$pass" | saslpasswd2 -p -c -f "$d/etc/sasldb2" -u upstream.test "$user"
	chown postfix:postfix "$d/etc/sasldb2"
	chmod 640 "$d/etc/sasldb2"
	cat >"$d/etc/sasl/smtpd.conf" <<SASL
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $d/etc/sasldb2
SASL
	postconf -c "$d/etc" -e \
		"mynetworks =" \
		"smtpd_sasl_auth_enable = yes" \
		"smtpd_sasl_type = cyrus" \
		"smtpd_sasl_path = smtpd" \
		"cyrus_sasl_config_path = $d/etc/sasl" \
		"smtpd_sasl_local_domain = upstream.test" \
		"smtpd_sasl_security_options = noanonymous" \
		"smtpd_tls_auth_only = yes" \
		"smtpd_relay_restrictions = permit_sasl_authenticated, reject" \
		"smtpd_recipient_restrictions = permit_sasl_authenticated, reject"
}

postfix_start() {
	local d=$1 port
	port=$(sed -n 's/^127\.0\.0\.1:\([0-9]*\) inet.*/\1/p' "$d/etc/master.cf")
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is already in use" >"$d/start.log"
		return 1
	fi
	postfix -c "$d/etc" check >"$d/check.log" 2>&1 || true
	postfix -c "$d/etc" start >"$d/start.log" 2>&1
}

postfix_stop() {
	local d=$1 pid=
	[ -d "$d/etc" ] || return 0
	[ -f "$d/queue/pid/master.pid" ] && pid=$(tr -d ' \n' <"$d/queue/pid/master.pid")
	postfix -c "$d/etc" stop >/dev/null 2>&1 || true
	[ -n "$pid" ] || return 0
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

postfix_wait_mail() {
	local d=$1 n=$2 secs=$3 i
	for i in $(seq 1 $((secs * 10))); do
		[ "$(find "$d/mail/sink/new" -type f 2>/dev/null | wc -l)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# A second private Postfix as a signing front end for the benchmark:
#   postfix_setup_front DIR PORT RELAY_PORT MILTER_PORT
# accepts from 127.0.0.0/8 on PORT, runs the milter on 127.0.0.1:MILTER_PORT
# (OpenDKIM), relays everything to [127.0.0.1]:RELAY_PORT with mandatory TLS
# (encrypt: the sink's certificate is not verified here).
postfix_setup_front() {
	local d=$1 port=$2 relay=$3 milter=$4
	mkdir -p "$d/etc" "$d/queue" "$d/data"
	chown postfix:postfix "$d/data"
	cat >"$d/etc/main.cf" <<CF
compatibility_level = 3.6
config_directory = $d/etc
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = front.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$relay
smtp_tls_security_level = encrypt
smtpd_milters = inet:127.0.0.1:$milter
milter_default_action = tempfail
maillog_file = $d/maillog
maillog_file_prefixes = $d
smtputf8_enable = no
biff = no
CF
	{ echo "127.0.0.1:$port inet n - n - - smtpd"
	  cat "$(dirname "${BASH_SOURCE[0]}")/master.cf.in"; } >"$d/etc/master.cf"
}
