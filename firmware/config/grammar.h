/*
 * firmware/config private header of the `set` / `delete` grammar: the
 * statement table (parse.c) calls one handler per statement (set_system.c,
 * set_mail.c, set_relay.c); the handlers share the word checks of words.c.
 * A handler gets the arguments after the statement's path (argc of them,
 * within the table's bounds) and edits w, a scratch copy of the candidate;
 * on an error it returns -EINVAL with one line in err and w is thrown away.
 */
#ifndef ZEGEL_CONFIG_GRAMMAR_H
#define ZEGEL_CONFIG_GRAMMAR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "firmware/config/internal.h"

static inline bool
streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Store a string with the rest of the field zeroed, so equal settings are
 * equal bytes (config_modified() and the tests compare whole structs). */
static inline void
put(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	memset(dst, 0, cap);
	memcpy(dst, src, n < cap ? n : cap - 1);
}

/* ---- words.c: each want_X() writes the error line ("what: ...") itself */

/* A host or domain name (RFC 1035 2.3.1 LDH labels; digits may lead, RFC
 * 1123 2.1). Lower-cased into out, trailing dot dropped. */
bool config_valid_dname(const char *s, char out[ZCFG_NAME_MAX]);
int config_want_dname(const char *what, const char *s, char out[ZCFG_NAME_MAX], char *err,
    size_t cap);
/* Names of things (listeners): letters, digits, '-', '_' and extra. */
bool config_valid_word(const char *s, size_t max, const char *extra);
int config_want_path(const char *what, const char *s, char out[ZCFG_PATH_MAX], char *err,
    size_t cap);
int config_want_onoff(const char *what, const char *s, bool *out, char *err, size_t cap);
/* Index of s in names[0..n), or -1. */
int config_lookup(const char *s, const char *const *names, int n);
/* An address with a port: "1.2.3.4:587", "[::1]:587". */
int config_want_addr_port(const char *what, const char *s, struct hal_addr *a, char *err,
    size_t cap);
/* "10.0.0.0/8", a bare address is a host network; host bits cleared. */
int config_parse_cidr(const char *what, const char *s, struct zcfg_network *n, char *err,
    size_t cap);
bool config_same_addr(const struct hal_addr *a, const struct hal_addr *b, bool port);
uint32_t config_parse_u32(const char *s, bool *ok);
/* "90", "30s", "5m", "4h", "5d" -> seconds (at most 10 years) */
bool config_parse_duration(const char *s, uint32_t *out);
/* "4096", "512K", "10M", "1G" (binary units; an optional B or iB) -> bytes */
bool config_parse_u64_bytes(const char *s, uint64_t *out);

/* ---- set_mail.c (keys) */
int config_set_rollover_auto(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_rollover_retire(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_rollover_check(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

/* ---- set_system.c */
int config_set_hostname(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_public_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_public_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_data_dir(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_log_level(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_size_limit(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tls_cert(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tls_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tls_key_store(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tpm_device(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_resolver(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_resolver(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_resolver_anchors(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_resolver_anchors(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_queue_lifetime(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_queue_delay_warning(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_queue_retry_base(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_queue_max_messages(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_queue_max_size(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_queue_min_free(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

/* ---- set_mail.c */
int config_set_domain(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_domain(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_user(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_user(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_network(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_network(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_listener(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_listener(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

/* ---- set_relay.c */
int config_set_relay_outbox(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_smarthost(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_direct(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_username(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_password(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_password_sealed(struct zcfg *w, int argc, char **argv, char *err,
    size_t cap);
int config_set_relay_ca_file(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_require_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_tls_required_no(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tlsrpt(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tlsrpt_org(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_tlsrpt_contact(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_relay_mx_port(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_relay(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

/* ---- set_smtpd.c */
int config_set_smtpd_per_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_idle(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_command(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_transaction(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_rate(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_shed(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_auth_delay(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_smtpd_auth_lockout(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
/* ---- set_time_log.c: clock sync and remote syslog */
int config_set_lwip_driver(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_lwip_interface(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_lwip_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_lwip_gateway(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_lwip_address6(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_lwip_dhcp(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_ntp_server(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_ntp_interval(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_ntp_server(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_syslog(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_set_syslog_facility(struct zcfg *w, int argc, char **argv, char *err, size_t cap);
int config_delete_syslog(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

#endif
