/*
 * zegel/cfg.h — the typed running configuration.
 *
 * Model. One struct zcfg holds everything that is set on the console:
 * signing domains and their keys, users, networks allowed to relay,
 * listeners, the relay target, the resolver. Sizes are fixed by Kconfig
 * (CONFIG_CFG_MAX_*), so a configuration is a plain value: it can be copied,
 * compared and zeroed. firmware/config keeps two of them, the candidate that
 * `set`/`delete` edit and the running one that `commit` replaces after
 * validation; every module reads the running one through zcfg_running() and
 * re-reads it when the generation number changes.
 *
 * The saved form is text: the `set` lines that rebuild it (config_dump()),
 * the same lines the console accepts (see firmware/config/README.md for the
 * grammar). Secrets (user password hashes, relay password) are in it;
 * the file is written with mode 0600.
 */
#ifndef ZEGEL_CFG_H
#define ZEGEL_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hal/net.h"
#include "zegel/config.h"

#define ZCFG_NAME_MAX 254   /* a domain name in text, NUL included */
#define ZCFG_SEL_MAX 64     /* a DKIM selector */
#define ZCFG_PATH_MAX 192
#define ZCFG_USER_MAX 64
#define ZCFG_HASH_MAX 128   /* "$zegel-sha256$<salt hex>$<hash hex>" */
#define ZCFG_SECRET_MAX 128

enum zcfg_canon { ZCFG_CANON_SIMPLE = 0, ZCFG_CANON_RELAXED = 1 };
enum zcfg_align { ZCFG_ALIGN_OFF = 0, ZCFG_ALIGN_WARN, ZCFG_ALIGN_REFUSE };
enum zcfg_key_alg { ZCFG_KEY_RSA = 1, ZCFG_KEY_ED25519 };

/* `set domain NAME [subdomains on|off] [canon H/B] [envelope-align off|warn|refuse]` */
struct zcfg_domain {
	bool used;
	char name[ZCFG_NAME_MAX];   /* lower case, no trailing dot */
	bool subdomains;            /* also sign for *.name, with d=name */
	enum zcfg_canon canon_header, canon_body; /* default relaxed/relaxed */
	enum zcfg_align envelope_align;           /* default warn */
};

/* `set key SELECTOR domain NAME file PATH` (alg from the key file) */
struct zcfg_key {
	bool used;
	char selector[ZCFG_SEL_MAX];
	char domain[ZCFG_NAME_MAX];
	char file[ZCFG_PATH_MAX];
	enum zcfg_key_alg alg;      /* filled when the key is loaded */
};

/* `set user NAME password SECRET` stores `set user NAME password-hash HASH` */
struct zcfg_user {
	bool used;
	char name[ZCFG_USER_MAX];
	char hash[ZCFG_HASH_MAX];
};

/* `set network CIDR [line-endings strict|normalise]` */
struct zcfg_network {
	bool used;
	struct hal_addr addr;       /* port unused */
	uint8_t prefix;             /* prefix length */
	bool normalise_line_endings;/* broken old devices: bare LF accepted */
};

enum zcfg_listener_mode {
	ZCFG_LISTEN_STARTTLS = 0,   /* 587: STARTTLS offered */
	ZCFG_LISTEN_TLS,            /* 465: implicit TLS (RFC 8314) */
	ZCFG_LISTEN_PLAIN,          /* 25 for old devices: STARTTLS offered too */
	ZCFG_LISTEN_NOTLS,          /* LAN devices whose STARTTLS fails: never offered */
};
#define ZCFG_LISTEN_NMODES 4

/* `set listener NAME ADDR:PORT mode starttls|tls|plain|no-tls [auth-plaintext on|off]
 *  [tls-min 1.0|1.1|1.2|1.3]` */
struct zcfg_listener {
	bool used;
	char name[32];              /* "submission", "submissions", "smtp", ... */
	struct hal_addr addr;
	enum zcfg_listener_mode mode;
	bool auth_plaintext;        /* allow AUTH before TLS (default off) */
	uint8_t tls_min;            /* 10, 11 or 13 for TLS 1.0/1.1/1.3; 0 = 1.2 (default) */
};

enum zcfg_relay_kind {
	ZCFG_RELAY_OUTBOX = 0,      /* `set relay outbox DIR` (default ./var/outbox on host) */
	ZCFG_RELAY_SMARTHOST,       /* `set relay smarthost HOST[:PORT]` */
	ZCFG_RELAY_DIRECT,          /* `set relay direct` */
};

struct zcfg_relay {
	enum zcfg_relay_kind kind;
	char outbox[ZCFG_PATH_MAX];
	char host[ZCFG_NAME_MAX];   /* smarthost name or address */
	uint16_t port;              /* default 587 */
	bool implicit_tls;          /* port 465 style: `set relay tls implicit` */
	char username[ZCFG_USER_MAX];     /* `set relay username U` */
	char password[ZCFG_SECRET_MAX];   /* `set relay password P` */
	char ca_file[ZCFG_PATH_MAX];      /* `set relay ca-file PATH` */
	bool require_tls;           /* `set relay require-tls on|off` (direct mode) */
	uint16_t mx_port;           /* `set relay mx-port N` (direct mode; 0 = 25) */
	bool tls_required_no;       /* `set relay tls-required-no honour|ignore` (direct mode):
				       honour a "TLS-Required: No" header (RFC 8689 5) */
	bool queue;                 /* `set relay smarthost HOST[:PORT] queue on`: accept once
				       stored, zegel retries (firmware/relay/shqueue.h) */
};

/* `set queue lifetime|delay-warning|retry-base DURATION`, `set queue
 * max-messages N`, `set queue max-size BYTES`, `set queue min-free BYTES`
 * (direct mode's queue, firmware/spool/queue.h; defaults from Kconfig) */
struct zcfg_queue {
	uint32_t lifetime;          /* seconds */
	uint32_t delay_warning;     /* seconds, 0 = never */
	uint32_t retry_base;        /* seconds */
	uint32_t max_messages;
	uint64_t max_size;          /* bytes */
	uint64_t min_free;          /* bytes */
};

/* `set key-rollover ...`: how new DKIM keys become active (firmware/keys/state.h) */
struct zcfg_key_rollover {
	bool auto_activate;         /* a key whose record is published signs at once */
	uint16_t retire_days;       /* days a replaced key stays published, not signing */
	uint32_t check_interval;    /* seconds between DNS checks of keys in transition */
};

/* `set smtpd ...`: fairness between LAN clients (firmware/smtpd/fair.h);
 * durations in seconds, defaults in config_smtpd_defaults() */
struct zcfg_smtpd {
	uint32_t per_address;       /* sessions one client address may hold */
	uint32_t idle_timeout;      /* waiting for the next command */
	uint32_t command_timeout;   /* one command line, first octet to CRLF */
	uint32_t transaction_timeout; /* MAIL to the reply after the final dot */
	uint32_t min_data_rate;     /* octets per second during DATA, 0 = off */
	uint32_t data_rate_window;  /* measured over this many seconds */
	uint32_t shed_idle;         /* without progress, may be shed for a newcomer; 0 = never */
	uint32_t auth_delay;        /* first delay after a failed AUTH */
	uint32_t auth_delay_max;    /* doubling up to this */
	uint32_t auth_lockout;      /* failures in a row before a lockout, 0 = never */
	uint32_t auth_lockout_time; /* how long */
};

/* `set ntp server HOST[:PORT]...` (up to 4), `set ntp interval DURATION`
 * (firmware/time/ntp.h) */
#define ZCFG_NTP_SERVERS 4
struct zcfg_ntp {
	char host[ZCFG_NTP_SERVERS][ZCFG_NAME_MAX]; /* IP address or name */
	uint16_t port[ZCFG_NTP_SERVERS];            /* 123 unless given */
	uint8_t nservers;
	uint32_t interval;          /* seconds between syncs; 0 = 1 hour */
};

/* `set syslog IP[:PORT] udp|tcp [rfc5424|rfc3164]`, `set syslog-facility
 * NAME` (firmware/time/syslog.h) */
struct zcfg_syslog {
	char host[ZCFG_NAME_MAX];   /* "" = no remote syslog */
	uint16_t port;              /* 514 unless given */
	bool tcp;                   /* octet-counted frames (RFC 6587) */
	bool rfc3164;               /* the old BSD format instead of RFC 5424 */
	uint8_t facility;           /* 0..23; the default is mail (2) */
	bool facility_set;          /* false: mail */
};

/* `set lwip driver|interface|address|gateway|address6|dhcp` (hal/lwip/README.md):
 * the interface the lwIP build's own TCP/IP stack owns; read at start. */
enum zcfg_lwip_driver { ZCFG_LWIP_TAP = 0, ZCFG_LWIP_PACKET = 1 };
struct zcfg_lwip {
	uint8_t driver;             /* enum zcfg_lwip_driver */
	char ifname[16];            /* "" = tap0 */
	bool dhcp;                  /* IPv4 from lwIP's DHCP client */
	bool addr4_set, gw4_set, addr6_set;
	struct hal_addr addr4, gw4, addr6; /* ports unused */
	uint8_t prefix4, prefix6;
};

/* `set tlsrpt on|off`, `set tlsrpt organization NAME`, `set tlsrpt contact
 * TEXT`: daily SMTP TLS reports (RFC 8460) of direct delivery
 * (firmware/relay/tlsrpt_run.h); "" = the host name / postmaster@host name */
#define ZCFG_TLSRPT_TEXT_MAX 128
struct zcfg_tlsrpt {
	bool on;
	char org[ZCFG_TLSRPT_TEXT_MAX];
	char contact[ZCFG_TLSRPT_TEXT_MAX];
};

struct zcfg {
	uint32_t generation;        /* bumped by every commit */
	char hostname[ZCFG_NAME_MAX];     /* `set hostname NAME`: EHLO and banner */
	char data_dir[ZCFG_PATH_MAX];     /* `set data-dir DIR`: keys, spool, queue */
	char tls_cert[ZCFG_PATH_MAX];     /* `set tls cert PATH` (an admin's: must exist) */
	char tls_key[ZCFG_PATH_MAX];      /* `set tls key PATH`; both at their defaults
	                                     (<data-dir>/tls/): zegel's own, generated */
	bool tls_tpm;                     /* `set tls key-store tpm|file`: zegel's own TLS
	                                     key made in the TPM (<data-dir>/tls/key.tpmkey) */
	char tpm_device[64];              /* `set tpm device /dev/tpm*|tcp:IP:PORT|default`;
	                                     "": ZEGEL_TPM, else CONFIG_HAL_TPM2_DEVICE */
	int log_level;                    /* `set log-level error|warning|info|debug` */
	uint32_t max_message_size;        /* `set message-size-limit N` (<= Kconfig max) */
	struct hal_addr public_address;   /* `set public-address IP`: where direct mode's
	                                     mail comes from (check domain's SPF question) */
	bool public_address_set;
	struct zcfg_domain domains[CONFIG_CFG_MAX_DOMAINS];
	struct zcfg_key keys[CONFIG_CFG_MAX_KEYS];
	struct zcfg_user users[CONFIG_CFG_MAX_USERS > 0 ? CONFIG_CFG_MAX_USERS : 1];
	struct zcfg_network networks[CONFIG_CFG_MAX_NETWORKS > 0 ? CONFIG_CFG_MAX_NETWORKS : 1];
	struct zcfg_listener listeners[CONFIG_CFG_MAX_LISTENERS];
	struct zcfg_relay relay;
	struct zcfg_queue queue;
	struct zcfg_key_rollover key_rollover;
	struct zcfg_smtpd smtpd;
	struct hal_addr resolvers[4];     /* `set resolver IP[:PORT]` (up to 4) */
	uint8_t nresolvers;
	char resolver_anchors[ZCFG_PATH_MAX]; /* `set resolver-anchors PATH`: DS/DNSKEY for "."
	                                         ("" = the built-in IANA root anchors) */
	struct zcfg_ntp ntp;
	struct zcfg_syslog syslog;
	struct zcfg_tlsrpt tlsrpt;
	struct zcfg_lwip lwip;
};

/* `set tpm device`: a TPM character device (/dev/tpm0, /dev/tpmrm0) or
 * swtpm's command channel tcp:IPV4:PORT; the key holder opens it read-write
 * and writes TPM commands to it, so nothing else (the key holder checks it
 * again: the network process is not trusted with a path). */
static inline bool
zcfg_tpm_device_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	if (s[n] || n >= 64)
		return false;
	if (n > 8 && memcmp(s, "/dev/tpm", 8) == 0) {
		for (size_t i = 8; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
				return false;
		return true;
	}
	if (n > 4 && memcmp(s, "tcp:", 4) == 0) {
		for (size_t i = 4; i < n; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == ':'))
				return false;
		return true;
	}
	return false;
}

/* The running configuration (after the last successful commit). */
const struct zcfg *zcfg_running(void);

#endif
