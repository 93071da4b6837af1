# shellcheck shell=bash
# Building blocks for a private DNSSEC-signed DNS tree made with Debian's
# ldns tools, served by NSD and resolved by a non-validating Unbound
# (the client under test does the validation). Shared by
# tests/e2e/dns/build-tree.sh and tests/e2e/lib/dane_env.sh.
#
# The caller sets these globals before using the functions:
#   W        work directory; keys go to $W/keys, zone files to $W/zones
#   INC EXP  signature inception / expiration (UNIX time); SIGN_INC and
#            SIGN_EXP override them for one sign call
#   DZ_NS    the name server name in every SOA/NS (default ns.tld.)
#   ZONES    space separated zone names (with the trailing dot) that NSD
#            serves from $W/zones/NAME.signed and Unbound stubs to NSD
#
#   key NAME ALG        prints the base name of a new CSK (KSK flag set)
#   zsk NAME ALG        the same without the KSK flag
#   ds BASE DIGEST      the DS record of key BASE (digest type 1, 2 or 4)
#   header NAME         $TTL, SOA and NS lines of zone NAME
#   sign NAME ARGS... -- KEYS...   ldns-signzone $W/zones/NAME.zone into
#                       $W/zones/NAME.signed (ARGS e.g. -n for NSEC3)
#   corrupt_rrsig NAME OWNER TYPE  flips one base64 character of the RRSIG
#                       covering OWNER/TYPE in $W/zones/NAME.signed (bogus)
#   nsd_conf IP PORT    nsd.conf for every zone in $ZONES
#   unbound_conf IP PORT MODULES EXTRA AUTH_IP AUTH_PORT
#                       unbound.conf with stub zones for $ZONES -> AUTH
DZ_NS=${DZ_NS:-ns.tld.}

key() { ldns-keygen -a "$2" -k -b 2048 "$1" 2>/dev/null | tail -1; }
zsk() { ldns-keygen -a "$2" -b 2048 "$1" 2>/dev/null | tail -1; }
ds() { ldns-key2ds -n "-$2" "$W/keys/$1.key" | sed 's/;.*//'; }

header() {
	cat <<EOF
\$TTL 3600
$1 IN SOA $DZ_NS hostmaster.${1#.} 1 7200 3600 1209600 300
$1 IN NS $DZ_NS
EOF
}

sign() {
	local name=$1 in=$W/zones/$1.zone
	shift
	local args=() keys=()
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	shift
	for k in "$@"; do keys+=("$W/keys/$k"); done
	ldns-signzone -i "${SIGN_INC:-$INC}" -e "${SIGN_EXP:-$EXP}" "${args[@]}" \
		-f "$W/zones/$name.signed" "$in" "${keys[@]}" >/dev/null
}

corrupt_rrsig() {
	local f=$W/zones/$1.signed
	awk -v o="$2" -v t="$3" '$1==o && $4=="RRSIG" && $5==t { s=$NF; c=substr(s,length(s)-5,1);
		r=(c=="A")?"B":"A"; $NF=substr(s,1,length(s)-6) r substr(s,length(s)-4); n++ }
		{print} END { if (!n) exit 1 }' OFS='\t' "$f" >"$f.x" && mv "$f.x" "$f"
}

nsd_conf() {
	cat <<EOF
server:
	ip-address: $1@$2
	username: ""
	chroot: ""
	zonesdir: "$W/zones"
	pidfile: "$W/nsd.pid"
	database: ""
	xfrdfile: "$W/xfrd.state"
	zonelistfile: "$W/zone.list"
	logfile: "$W/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	tcp-count: 32
remote-control:
	control-enable: no
EOF
	for z in $ZONES; do printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.signed"\n' "$z" "$z"; done
}

unbound_conf() {
	cat <<EOF
server:
	interface: $1
	port: $2
	do-ip6: no
	do-not-query-localhost: no
	access-control: 127.0.0.0/8 allow
	module-config: "$3"
	username: ""
	chroot: ""
	directory: "$W"
	pidfile: "$W/unbound-$2.pid"
	use-syslog: no
	logfile: "$W/unbound-$2.log"
	num-threads: 1
	so-reuseport: no
	rrset-roundrobin: no
	qname-minimisation: no
	minimal-responses: no
	outgoing-range: 64
	num-queries-per-thread: 32
	harden-below-nxdomain: no
	target-fetch-policy: "0 0 0 0 0"
	val-log-level: 2
$4
remote-control:
	control-enable: no
EOF
	for z in $ZONES; do printf 'stub-zone:\n\tname: "%s"\n\tstub-addr: %s\n' "$z" "$5@$6"; done
}
