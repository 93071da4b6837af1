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
	cat >"$d/etc/master.cf" <<MF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
MF
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
