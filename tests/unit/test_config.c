/* The configuration model: every grammar line, bad input leaves nothing half
 * applied, commit validation and hooks, dump -> load round trip, atomic
 * save, password hashes, relay networks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/config/config.h"
#include "hal/storage.h"

static char tmp[128];
static char err[512];

static int
setup(void **state)
{
	(void)state;
	config_init();
	return 0;
}

static void
ok_line(const char *line)
{
	int rc = config_set_line(line, err, sizeof(err));
	if (rc != 0)
		fail_msg("'%s' refused: %s", line, err);
}

static void
commit_ok(void)
{
	if (config_commit(err, sizeof(err)) != 0)
		fail_msg("commit refused: %s", err);
}

static void
test_defaults(void **state)
{
	const struct zcfg *c = zcfg_running();

	(void)state;
	assert_int_equal(c->generation, 0);
	assert_true(c->hostname[0] != 0);
	assert_string_equal(c->data_dir, CONFIG_BOARD_DATA_DIR);
	assert_int_equal(c->relay.kind, ZCFG_RELAY_OUTBOX);
	assert_string_equal(c->relay.outbox, CONFIG_BOARD_DATA_DIR "/outbox");
	assert_string_equal(c->tls_cert, CONFIG_BOARD_DATA_DIR "/tls/cert.pem");
	assert_string_equal(c->tls_key, CONFIG_BOARD_DATA_DIR "/tls/key.pem");
	assert_int_equal(c->log_level, 2);
	assert_int_equal(c->max_message_size, CONFIG_SMTP_MAX_MESSAGE_SIZE);
	assert_memory_equal(zcfg_candidate(), c, sizeof(*c));
	assert_false(config_modified());
}

static void
test_every_line(void **state)
{
	const struct zcfg *c = zcfg_candidate();
	struct hal_addr a;

	(void)state;
	ok_line("set hostname MX.Example.ORG.");
	assert_string_equal(c->hostname, "mx.example.org");
	ok_line("set data-dir /srv/zegel");
	assert_string_equal(c->data_dir, "/srv/zegel");
	assert_string_equal(c->relay.outbox, "/srv/zegel/outbox"); /* followed */
	assert_string_equal(c->tls_cert, "/srv/zegel/tls/cert.pem");
	ok_line("set log-level debug");
	assert_int_equal(c->log_level, 3);
	ok_line("set message-size-limit 1048576");
	assert_int_equal(c->max_message_size, 1048576);
	ok_line("set domain example.org");
	assert_true(c->domains[0].used);
	assert_string_equal(c->domains[0].name, "example.org");
	assert_int_equal(c->domains[0].canon_header, ZCFG_CANON_RELAXED);
	assert_int_equal(c->domains[0].canon_body, ZCFG_CANON_RELAXED);
	assert_int_equal(c->domains[0].envelope_align, ZCFG_ALIGN_WARN);
	assert_false(c->domains[0].subdomains);
	ok_line("set domain example.org subdomains on canon simple/relaxed envelope-align refuse");
	assert_true(c->domains[0].subdomains);
	assert_int_equal(c->domains[0].canon_header, ZCFG_CANON_SIMPLE);
	assert_int_equal(c->domains[0].canon_body, ZCFG_CANON_RELAXED);
	assert_int_equal(c->domains[0].envelope_align, ZCFG_ALIGN_REFUSE);
	ok_line("set domain example.org envelope-align off"); /* others kept */
	assert_int_equal(c->domains[0].envelope_align, ZCFG_ALIGN_OFF);
	assert_true(c->domains[0].subdomains);
	ok_line("set key sel2024 domain example.org file /srv/zegel/keys/sel2024.pem");
	assert_string_equal(c->keys[0].selector, "sel2024");
	assert_string_equal(c->keys[0].domain, "example.org");
	assert_string_equal(c->keys[0].file, "/srv/zegel/keys/sel2024.pem");
	ok_line("set key ed file /k/ed.pem domain example.org"); /* either order */
	assert_string_equal(c->keys[1].file, "/k/ed.pem");
	ok_line("set user printer password \"correct horse\"");
	assert_string_equal(c->users[0].name, "printer");
	assert_memory_equal(c->users[0].hash, "$zegel-sha256$", 14);
	assert_int_equal(strlen(c->users[0].hash), 14 + 32 + 1 + 64);
	ok_line("set network 192.168.1.77/24");
	assert_int_equal(c->networks[0].prefix, 24);
	hal_addr_parse(&a, "192.168.1.0", 0);
	assert_memory_equal(c->networks[0].addr.ip, a.ip, 4); /* host bits cleared */
	assert_false(c->networks[0].normalise_line_endings);
	ok_line("set network 192.168.1.0/24 line-endings normalise"); /* same network */
	assert_true(c->networks[0].normalise_line_endings);
	assert_false(c->networks[1].used);
	ok_line("set network 2001:db8::/32 line-endings strict");
	assert_int_equal(c->networks[1].addr.family, 6);
	ok_line("set network 10.1.2.3");
	assert_int_equal(c->networks[2].prefix, 32);
	ok_line("set listener submission 127.0.0.1:26587 mode starttls");
	assert_string_equal(c->listeners[0].name, "submission");
	assert_int_equal(c->listeners[0].addr.port, 26587);
	assert_int_equal(c->listeners[0].mode, ZCFG_LISTEN_STARTTLS);
	ok_line("set listener smtps [::1]:26465 mode tls auth-plaintext on");
	assert_int_equal(c->listeners[1].addr.family, 6);
	assert_int_equal(c->listeners[1].mode, ZCFG_LISTEN_TLS);
	assert_true(c->listeners[1].auth_plaintext);
	ok_line("set listener legacy 0.0.0.0:26025 mode plain");
	assert_int_equal(c->listeners[2].mode, ZCFG_LISTEN_PLAIN);
	ok_line("set relay outbox /tmp/out");
	assert_string_equal(c->relay.outbox, "/tmp/out");
	assert_int_equal(c->relay.kind, ZCFG_RELAY_OUTBOX);
	ok_line("set relay smarthost Mail.Example.NET");
	assert_int_equal(c->relay.kind, ZCFG_RELAY_SMARTHOST);
	assert_string_equal(c->relay.host, "mail.example.net");
	assert_int_equal(c->relay.port, 587);
	ok_line("set relay smarthost [2001:db8::25]:465");
	assert_string_equal(c->relay.host, "2001:db8::25");
	assert_int_equal(c->relay.port, 465);
	ok_line("set relay smarthost 127.0.0.1:26026 queue on");
	assert_true(c->relay.queue);
	assert_int_equal(c->relay.port, 26026);
	ok_line("set relay smarthost 127.0.0.1:26026 queue off");
	assert_false(c->relay.queue);
	ok_line("set relay smarthost [::1]:26026 queue on");
	assert_true(c->relay.queue);
	assert_string_equal(c->relay.host, "::1");
	/* the old line (no queue word) is the whole mode: the queue goes off */
	ok_line("set relay smarthost 127.0.0.1:26026");
	assert_false(c->relay.queue);
	assert_string_equal(c->relay.host, "127.0.0.1");
	assert_int_equal(c->relay.port, 26026);
	ok_line("set relay username alice@example.org");
	assert_string_equal(c->relay.username, "alice@example.org");
	ok_line("set relay password \"p a\\\"ss\\\\\"");
	assert_string_equal(c->relay.password, "p a\"ss\\");
	ok_line("set relay ca-file /etc/ssl/certs/ca-certificates.crt");
	assert_string_equal(c->relay.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	ok_line("set relay tls implicit");
	assert_true(c->relay.implicit_tls);
	ok_line("set relay tls starttls");
	assert_false(c->relay.implicit_tls);
	ok_line("set relay require-tls on");
	assert_true(c->relay.require_tls);
	ok_line("set relay tls-required-no honour");
	assert_true(c->relay.tls_required_no);
	ok_line("set relay tls-required-no ignore");
	assert_false(c->relay.tls_required_no);
	ok_line("set relay tls-required-no honor");
	assert_true(c->relay.tls_required_no);
	ok_line("set relay mx-port 26025");
	assert_int_equal(c->relay.mx_port, 26025);
	if (IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)) {
		ok_line("set relay direct");
		assert_int_equal(c->relay.kind, ZCFG_RELAY_DIRECT);
	}
	ok_line("set resolver 127.0.0.1:26053");
	ok_line("set resolver ::1");
	ok_line("set resolver 127.0.0.1:26053"); /* duplicate: no second entry */
	ok_line("set resolver-anchors /etc/zegel/root.anchors");
	assert_string_equal(c->resolver_anchors, "/etc/zegel/root.anchors");
	ok_line("set resolver-anchors \"\""); /* empty: the built-in anchors */
	assert_string_equal(c->resolver_anchors, "");
	ok_line("set resolver-anchors /etc/zegel/root.anchors");
	ok_line("delete resolver-anchors");
	assert_string_equal(c->resolver_anchors, "");
	assert_int_equal(c->nresolvers, 2);
	assert_int_equal(c->resolvers[1].port, 53);
	ok_line("set tls cert /c.pem");
	ok_line("set tls key /k.pem");
	assert_string_equal(c->tls_cert, "/c.pem");
	assert_string_equal(c->tls_key, "/k.pem");
	ok_line("   # a comment line changes nothing");
	ok_line("");
	commit_ok();
	assert_int_equal(zcfg_running()->generation, 1);

	ok_line("delete key ed");
	assert_false(c->keys[1].used);
	ok_line("delete user printer");
	assert_false(c->users[0].used);
	ok_line("delete network 192.168.1.0/24");
	assert_false(c->networks[0].used);
	ok_line("delete listener legacy");
	assert_false(c->listeners[2].used);
	ok_line("delete resolver 127.0.0.1:26053");
	assert_int_equal(c->nresolvers, 1);
	assert_int_equal(c->resolvers[0].family, 6);
	ok_line("delete relay password");
	ok_line("delete relay username");
	ok_line("delete relay ca-file");
	assert_string_equal(c->relay.ca_file, "");
	ok_line("delete key sel2024");
	ok_line("delete domain example.org");
	assert_false(c->domains[0].used);
	commit_ok();
	assert_int_equal(zcfg_running()->generation, 2);
}

/* Each bad line: refused with a one-line message, candidate untouched. */
static void
test_bad_lines(void **state)
{
	static const char *const bad[] = {
		"set domain exa_mple.com",
		"set domain -bad.com",
		"set domain a..b",
		"set domain example.com subdomains maybe",
		"set domain example.com canon relaxed",
		"set domain example.com envelope-align strict",
		"set domain example.com colour blue",
		"set domain example.com subdomains",
		"set domain aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
		"set hostname",
		"set hostname a b",
		"set hostname under_score",
		"set log-level loud",
		"set message-size-limit 12",
		"set message-size-limit 1e6",
		"set message-size-limit 99999999999",
		"set message-size-limit -5",
		"set key s domain example.com",
		"set key s file /x",
		"set key bad_sel domain a.b file /x",
		"set key s domain a.b file /x extra",
		"set key s domain a.b path /x",
		"set user bob",
		"set user bob password",
		"set user bob secret x",
		"set user b/ob password x",
		"set user bob password-hash abc",
		"set user bob password-hash $zegel-sha256$00$11",
		"set network 300.1.1.1/24",
		"set network 10.0.0.0/33",
		"set network ::/129",
		"set network 10.0.0.0/",
		"set network 10.0.0.0/x",
		"set network 1.2.3.4:25",
		"set network example.com/24",
		"set network 10.0.0.0/8 line-endings lf",
		"set network 10.0.0.0/8 line-endings",
		"set listener x 127.0.0.1",
		"set listener x 127.0.0.1:0",
		"set listener x nohost:25",
		"set listener x 127.0.0.1:25 mode smtp",
		"set listener x 127.0.0.1:25 mode",
		"set listener x! 127.0.0.1:25",
		"set listener x 127.0.0.1:99999",
		"set relay",
		"set relay bogus",
		"set relay smarthost",
		"set relay smarthost a_b:25",
		"set relay smarthost host:0",
		"set relay smarthost host:x",
		"set relay smarthost [::1",
		"set relay smarthost ::1:25x",
		"set relay smarthost host:25 queue",
		"set relay smarthost host:25 queue maybe",
		"set relay smarthost host:25 retry on",
		"set relay smarthost host:25 queue on extra",
		"set relay tls yes",
		"set relay require-tls maybe",
		"set relay tls-required-no yes",
		"set relay tls-required-no",
		"set relay mx-port 0",
		"set relay mx-port 65536",
		"set relay mx-port -1",
		"set relay mx-port 25x",
		"set relay direct now",
		"set relay outbox",
		"set relay username \"\"",
		"set resolver dns.example",
		"set resolver 1.2.3.4:0",
		"set tls",
		"set tls cert",
		"set tls cert \"\"",
		"set tls pem /x",
		"set data-dir \"\"",
		"delete domain nothere.org",
		"delete key nosel",
		"delete user nobody",
		"delete network 10.9.9.0/24",
		"delete listener none",
		"delete resolver 9.9.9.9",
		"delete relay host",
		"delete",
		"delete hostname x",
		"set",
		"frobnicate",
		"show config",
		"set hostname \"unterminated",
		"set hostname \"a\"b",
		"set a b c d e f g h i j k l m n o p q r",
		"set listener l 127.0.0.1:25 tls-min 1.4",
		"set listener l 127.0.0.1:25 tls-min 12",
		"set listener l 127.0.0.1:25 mode no-tls tls-min 1.0",
		"set listener l 127.0.0.1:25 mode none",
		"delete tls cert",
	};
	struct zcfg before;

	(void)state;
	ok_line("set domain example.com");
	ok_line("set network 10.0.0.0/8");
	before = *zcfg_candidate();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (config_set_line(bad[i], err, sizeof(err)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		if (err[0] == 0 || strchr(err, '\n') != NULL)
			fail_msg("'%s': not one error line: '%s'", bad[i], err);
		if (memcmp(&before, zcfg_candidate(), sizeof(before)) != 0)
			fail_msg("'%s' changed the candidate", bad[i]);
	}
	/* The message says what is valid. */
	assert_int_not_equal(config_set_line("set domain exa_mple", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "letters, digits, '-', '.'"));
	assert_int_not_equal(config_set_line("set log-level loud", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "error, warning, info, debug"));
	assert_int_not_equal(config_set_line("set relay bogus x", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "smarthost"));
}

static void
test_long_line(void **state)
{
	char line[2048];

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	memcpy(line, "set hostname ", 13);
	assert_int_not_equal(config_set_line(line, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "too long"));
	/* err is cut to its capacity, never overrun. */
	char small[8];
	memset(small, 'X', sizeof(small));
	assert_int_not_equal(config_set_line("set domain bad_name", small, 5), 0);
	assert_int_equal(small[4], 0);
	assert_int_equal(small[5], 'X');
}

static void
test_tables_full(void **state)
{
	char line[64];
	int i;

	(void)state;
	for (i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++) {
		snprintf(line, sizeof(line), "set domain d%d.example", i);
		ok_line(line);
	}
	snprintf(line, sizeof(line), "set domain d%d.example", i);
	assert_int_not_equal(config_set_line(line, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "the most this firmware was built for"));
	assert_null(strstr(err, "CONFIG_")); /* the admin's words, not a build symbol */
	ok_line("set domain d0.example subdomains on"); /* an existing one still changes */
	for (i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "set resolver 127.0.0.%d", i + 1);
		ok_line(line);
	}
	assert_int_not_equal(config_set_line("set resolver 127.0.0.9", err, sizeof(err)), 0);
}

static int hook_calls;
static uint32_t hook_gen;

static void
hook(const struct zcfg *r, void *arg)
{
	hook_calls += *(int *)arg;
	hook_gen = r->generation;
}

static void
test_commit_validation(void **state)
{
	static int one = 1;
	struct zcfg before;

	(void)state;
	assert_int_equal(config_on_commit(hook, &one), 0);
	hook_calls = 0;
	ok_line("set key s1 domain nothere.org file /k.pem");
	before = *zcfg_running();
	assert_int_not_equal(config_commit(err, sizeof(err)), 0);
	assert_non_null(strstr(err, "nothere.org"));
	assert_memory_equal(&before, zcfg_running(), sizeof(before));
	assert_int_equal(hook_calls, 0);
	ok_line("set domain nothere.org");
	commit_ok();
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_gen, 1);

	ok_line("set listener a 127.0.0.1:26001");
	ok_line("set listener b 127.0.0.1:26001 mode tls");
	assert_int_not_equal(config_commit(err, sizeof(err)), 0);
	assert_non_null(strstr(err, "127.0.0.1:26001"));
	ok_line("set listener b 127.0.0.1:26002 mode tls");
	commit_ok();
	assert_int_equal(hook_calls, 2);

	ok_line("set relay username u");
	assert_int_not_equal(config_commit(err, sizeof(err)), 0);
	assert_non_null(strstr(err, "password"));
	assert_true(config_modified());
	config_discard();
	assert_false(config_modified());
	assert_memory_equal(zcfg_candidate(), zcfg_running(), sizeof(struct zcfg));
	/* The hook table is bounded. */
	int extra = 0;
	while (config_on_commit(hook, &one) == 0)
		extra++;
	assert_int_equal(extra, CONFIG_MAX_HOOKS - 1);
}

static int
mktmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/zegel-test-config.XXXXXX");
	return mkdtemp(tmp) != NULL ? 0 : -1;
}

static void
rmtmp(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", tmp);
}

/* Leftovers of a save cut short (power cut, kill) are removed at start;
 * other files are not touched. */
static void
test_clean_temps(void **state)
{
	static const char *const names[] = { "zegel.conf", "zegel.conf.tmp.123.0",
		"zegel.conf.tmp.77.4", "other.conf.tmp.5.0", "zegel.conf.tmp", NULL };
	char path[300];

	(void)state;
	assert_int_equal(mktmp(), 0);
	for (int i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, names[i]);
		assert_int_equal(hal_storage_put(path, "x", 1, 0600), 0);
	}
	snprintf(path, sizeof(path), "%s/zegel.conf", tmp);
	assert_int_equal(config_clean_temps(path), 2);
	for (int i = 0; names[i]; i++) {
		char p[300];
		snprintf(p, sizeof(p), "%s/%s", tmp, names[i]);
		assert_int_equal(hal_storage_exists(p), strstr(names[i], ".tmp.") &&
		    strncmp(names[i], "zegel.conf.", 11) == 0 ? 0 : 1);
	}
	assert_int_equal(config_clean_temps(path), 0);
	rmtmp();
}

static void
rich_config(void)
{
	ok_line("set hostname relay.example.org");
	ok_line("set log-level warning");
	ok_line("set message-size-limit 2000000");
	ok_line("set tls cert \"/etc/with space/cert.pem\"");
	ok_line("set domain example.org subdomains on canon simple/simple envelope-align refuse");
	ok_line("set domain example.net");
	ok_line("set key k1 domain example.org file \"/keys/#1.pem\"");
	ok_line("set key k2.sub domain example.net file /keys/k2.pem");
	ok_line("set user printer password hunter2");
	ok_line("set user scan@lan password \"two words\"");
	ok_line("set network 192.168.0.0/16 line-endings normalise");
	ok_line("set network fd00::/8");
	ok_line("set listener submission [::]:26587 mode starttls");
	ok_line("set listener smtps 127.0.0.1:26465 mode tls auth-plaintext on");
	ok_line("set listener old 127.0.0.1:26466 mode tls tls-min 1.0");
	ok_line("set listener printer 127.0.0.1:26025 mode no-tls auth-plaintext on");
	ok_line("set resolver [::1]:26053");
	ok_line("set resolver 127.0.0.1");
	ok_line("set resolver-anchors /etc/zegel/root.anchors");
	ok_line("set relay smarthost mail.example.net:26587");
	ok_line("set relay username \"user name\"");
	ok_line("set relay password \"p\\\"w\\\\d\"");
	ok_line("set relay ca-file /ca.pem");
	ok_line("set relay require-tls on");
	ok_line("set relay tls-required-no honour");
	ok_line("set relay mx-port 2525");
	ok_line("set relay outbox /var/spool/out"); /* outbox kind, smarthost kept */
	commit_ok();
}

/* The data directory (and with it the device key of the sealed relay
 * password) inside this test's temporary directory. */
static void
data_dir_in_tmp(void)
{
	char line[200];

	snprintf(line, sizeof(line), "set data-dir %s/data", tmp);
	ok_line(line);
	commit_ok();
}

static void
test_round_trip(void **state)
{
	struct zcfg saved, loaded;
	char path[200];

	(void)state;
	assert_int_equal(mktmp(), 0);
	rich_config();
	data_dir_in_tmp();      /* save writes the device key there (secret.c) */
	saved = *zcfg_running();
	snprintf(path, sizeof(path), "%s/sub/dir/zegel.conf", tmp);
	if (config_save(path, err, sizeof(err)) != 0)
		fail_msg("save: %s", err);
	config_init();
	if (config_load(path, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	loaded = *zcfg_running();
	saved.generation = loaded.generation = 0;
	assert_memory_equal(&saved, &loaded, sizeof(saved));
	/* Loaded users still authenticate. */
	assert_int_equal(config_user_check(zcfg_running(), "scan@lan", "two words"), 1);
	assert_int_equal(config_user_check(zcfg_running(), "printer", "hunter2"), 1);
	/* Every other kind of relay survives too. */
	ok_line("set relay smarthost [2001:db8::1]:465");
	ok_line("set relay tls implicit");
	commit_ok();
	saved = *zcfg_running();
	assert_int_equal(config_save(path, err, sizeof(err)), 0);
	config_init();
	assert_int_equal(config_load(path, err, sizeof(err)), 0);
	loaded = *zcfg_running();
	saved.generation = loaded.generation = 0;
	assert_memory_equal(&saved, &loaded, sizeof(saved));
	/* The smarthost queue: on in the saved line, and kept while another
	 * mode is chosen (the smarthost line before the mode line) */
	for (int k = 0; k < 2; k++) {
		ok_line("set relay smarthost [2001:db8::1]:465 queue on");
		if (k == 1)
			ok_line("set relay direct");
		commit_ok();
		saved = *zcfg_running();
		assert_true(saved.relay.queue);
		assert_int_equal(config_save(path, err, sizeof(err)), 0);
		config_init();
		assert_int_equal(config_load(path, err, sizeof(err)), 0);
		loaded = *zcfg_running();
		saved.generation = loaded.generation = 0;
		assert_memory_equal(&saved, &loaded, sizeof(saved));
	}
	rmtmp();
}

static void collect(void *arg, const char *line);

/* `set ntp` and `set syslog`: values, the dump, a save/load round trip and
 * the refusals (a syslog collector is an IP address). */
static void
test_time_log_settings(void **state)
{
	static const char *const bad[] = {
		"set ntp server -bad.example",
		"set ntp server bad_name.example",
		"set ntp server a b c d e",
		"set ntp server pool.example:0",
		"set ntp interval 10s",
		"set ntp interval 2d",
		"set syslog logs.example.net udp",
		"set syslog 192.0.2.10 sctp",
		"set syslog 192.0.2.10 udp rfc1234",
		"set syslog-facility mail2",
	};
	struct zcfg saved, loaded;
	char path[200], buf[4096] = "";

	(void)state;
	assert_int_equal(mktmp(), 0);
	config_init();
	ok_line("set ntp server 192.0.2.123 NTP.Example.Net. [2001:db8::123]:1123");
	ok_line("set ntp interval 15m");
	ok_line("set syslog 192.0.2.10:1514 tcp rfc3164");
	ok_line("set syslog-facility local3");
	commit_ok();
	assert_int_equal(zcfg_running()->ntp.nservers, 3);
	assert_string_equal(zcfg_running()->ntp.host[1], "ntp.example.net");
	assert_int_equal(zcfg_running()->ntp.port[2], 1123);
	assert_int_equal(zcfg_running()->ntp.interval, 900);
	assert_true(zcfg_running()->syslog.tcp && zcfg_running()->syslog.rfc3164);
	assert_int_equal(zcfg_running()->syslog.facility, 19);
	config_dump(zcfg_running(), false, collect, buf);
	assert_non_null(strstr(buf, "set ntp server 192.0.2.123:123 ntp.example.net:123 "
				    "[2001:db8::123]:1123\n"));
	assert_non_null(strstr(buf, "set ntp interval 900s\n"));
	assert_non_null(strstr(buf, "set syslog 192.0.2.10:1514 tcp rfc3164\n"));
	assert_non_null(strstr(buf, "set syslog-facility local3\n"));
	saved = *zcfg_running();
	snprintf(path, sizeof(path), "%s/zegel.conf", tmp);
	assert_int_equal(config_save(path, err, sizeof(err)), 0);
	config_init();
	assert_int_equal(config_load(path, err, sizeof(err)), 0);
	loaded = *zcfg_running();
	saved.generation = loaded.generation = 0;
	assert_memory_equal(&saved, &loaded, sizeof(saved));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (config_set_line(bad[i], err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != 0);
	}
	ok_line("delete ntp server");
	ok_line("delete syslog");
	assert_int_not_equal(config_set_line("delete syslog", err, sizeof(err)), 0);
	commit_ok();
	assert_int_equal(zcfg_running()->ntp.nservers, 0);
	assert_int_equal(zcfg_running()->syslog.host[0], 0);
	rmtmp();
}

static void
collect(void *arg, const char *line)
{
	char *buf = arg;

	strcat(buf, line);
	strcat(buf, "\n");
}

static void
test_dump_masks_secrets(void **state)
{
	static char buf[16384];

	(void)state;
	rich_config();
	buf[0] = 0;
	config_dump(zcfg_running(), false, collect, buf);
	assert_null(strstr(buf, "$zegel-sha256$"));
	assert_null(strstr(buf, "p\\\"w"));
	assert_non_null(strstr(buf, "set relay password ********"));
	assert_non_null(strstr(buf, "set user printer password-hash ********"));
	buf[0] = 0;
	config_dump(zcfg_running(), true, collect, buf);
	assert_non_null(strstr(buf, "set relay password \"p\\\"w\\\\d\"\n"));
	assert_non_null(strstr(buf, "set user printer password-hash $zegel-sha256$"));
	assert_non_null(strstr(buf, "set tls cert \"/etc/with space/cert.pem\"\n"));
	assert_non_null(strstr(buf, "set key k1 domain example.org file /keys/#1.pem\n"));
	/* Derived paths are not written, so they keep following data-dir. */
	assert_null(strstr(buf, "set tls key"));
	/* The relay's mode line is the last line. */
	const char *last = strstr(buf, "set relay outbox /var/spool/out\n");
	assert_non_null(last);
	assert_int_equal(strlen(last), strlen("set relay outbox /var/spool/out\n"));
	/* show running: `queue on` only when on (the sync line stays as it was) */
	buf[0] = 0;
	config_dump(zcfg_running(), false, collect, buf);
	assert_null(strstr(buf, " queue "));
	ok_line("set relay smarthost mail.example.net:26587 queue on");
	commit_ok();
	buf[0] = 0;
	config_dump(zcfg_running(), false, collect, buf);
	last = strstr(buf, "set relay smarthost mail.example.net:26587 queue on\n");
	assert_non_null(last);
	assert_int_equal(strlen(last), strlen("set relay smarthost mail.example.net:26587 queue on\n"));
}

static void
test_save_atomic(void **state)
{
	char path[200], path2[210], buf[8192];
	size_t len;
	struct stat st;
	DIR *d;
	struct dirent *e;
	int files = 0;

	(void)state;
	assert_int_equal(mktmp(), 0);
	snprintf(path, sizeof(path), "%s/zegel.conf", tmp);
	assert_int_equal(hal_storage_put(path, "old contents\n", 13, 0644), 0);
	rich_config();
	data_dir_in_tmp();
	assert_int_equal(config_save(path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(hal_storage_get(path, buf, sizeof(buf) - 1, &len), 0);
	buf[len] = 0;
	assert_null(strstr(buf, "old contents"));
	assert_non_null(strstr(buf, "set hostname relay.example.org\n"));
	d = opendir(tmp);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, "data") != 0)
			files++;
	closedir(d);
	assert_int_equal(files, 2); /* no temporary file left; the old one kept as .1 */
	snprintf(path2, sizeof(path2), "%s.1", path);
	assert_int_equal(hal_storage_get(path2, buf, sizeof(buf) - 1, &len), 0);
	assert_int_equal(len, 13);
	assert_memory_equal(buf, "old contents\n", 13);
	/* A directory (or device) is never replaced. */
	assert_int_not_equal(config_save(tmp, err, sizeof(err)), 0);
	assert_int_equal(stat(tmp, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	rmtmp();
}

static void
test_load_errors(void **state)
{
	char path[200];
	struct zcfg before;
	static const char good_then_bad[] = "set domain ok.example\n# comment\n\n"
					    "set network 10.0.0.0/8\nset domain bad_one\n";

	(void)state;
	assert_int_equal(mktmp(), 0);
	snprintf(path, sizeof(path), "%s/c.conf", tmp);
	before = *zcfg_running();
	assert_int_equal(hal_storage_put(path, good_then_bad, strlen(good_then_bad), 0600), 0);
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "c.conf:5: set domain: 'bad_one'"));
	assert_memory_equal(&before, zcfg_running(), sizeof(before));
	assert_memory_equal(zcfg_candidate(), zcfg_running(), sizeof(before));
	/* A commit-time error names the file. */
	static const char orphan[] = "set key s domain gone.example file /k\n";
	assert_int_equal(hal_storage_put(path, orphan, strlen(orphan), 0600), 0);
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "gone.example"));
	assert_memory_equal(zcfg_candidate(), zcfg_running(), sizeof(before));
	/* Last line without newline, CRLF line ends. */
	static const char crlf[] = "set domain a.example\r\nset domain b.example";
	assert_int_equal(hal_storage_put(path, crlf, strlen(crlf), 0600), 0);
	if (config_load(path, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_string_equal(zcfg_running()->domains[1].name, "b.example");
	/* A NUL byte and an overlong line are refused. */
	assert_int_equal(hal_storage_put(path, "set domain a\0b\n", 15, 0600), 0);
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":1: NUL"));
	static char longf[3000];
	memset(longf, 'x', sizeof(longf));
	assert_int_equal(hal_storage_put(path, longf, sizeof(longf), 0600), 0);
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "too long"));
	snprintf(path, sizeof(path), "%s/missing.conf", tmp);
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "missing.conf"));
	rmtmp();
}

static void
test_users(void **state)
{
	const struct zcfg *c = zcfg_candidate();
	char h1[ZCFG_HASH_MAX], line[256];
	uint8_t salt[16] = { 1, 2, 3 };

	(void)state;
	ok_line("set user alice password s3cret");
	ok_line("set user bob password s3cret");
	/* Random salts: the same password hashes differently. */
	assert_string_not_equal(c->users[0].hash, c->users[1].hash);
	assert_int_equal(config_user_check(c, "alice", "s3cret"), 1);
	assert_int_equal(config_user_check(c, "alice", "s3cre"), 0);
	assert_int_equal(config_user_check(c, "alice", "s3cret "), 0);
	assert_int_equal(config_user_check(c, "alice", ""), 0);
	assert_int_equal(config_user_check(c, "carol", "s3cret"), 0);
	assert_int_equal(config_user_check(c, "Alice", "s3cret"), 0);
	/* A stored hash works as given; the format is fixed. */
	assert_int_equal(config_password_hash("pw", salt, h1, sizeof(h1)), 0);
	snprintf(line, sizeof(line), "set user carol password-hash %s", h1);
	ok_line(line);
	assert_int_equal(config_user_check(c, "carol", "pw"), 1);
	assert_int_equal(config_user_check(c, "carol", "pW"), 0);
	assert_int_equal(config_password_hash("pw", salt, h1, 20), -ERANGE);
	/* The password itself is nowhere in the configuration. */
	for (size_t i = 0; i + 6 <= sizeof(*c); i++)
		assert_false(memcmp((const char *)c + i, "s3cret", 6) == 0);
}

static void
test_networks(void **state)
{
	const struct zcfg *c = zcfg_candidate();
	struct hal_addr a;
	bool norm = true;

	(void)state;
	assert_int_equal(hal_addr_parse(&a, "192.168.1.20", 0), 0);
	assert_false(config_network_allows(c, &a, &norm));
	assert_false(norm);
	ok_line("set network 192.168.0.0/16");
	ok_line("set network 192.168.1.16/28 line-endings normalise");
	ok_line("set network 2001:db8:1::/48");
	ok_line("set network 0.0.0.0/0");
	ok_line("delete network 0.0.0.0/0");
	assert_true(config_network_allows(c, &a, &norm));
	assert_true(norm); /* the /28 is more specific */
	hal_addr_parse(&a, "192.168.1.40", 0);
	assert_true(config_network_allows(c, &a, &norm));
	assert_false(norm);
	hal_addr_parse(&a, "192.169.0.1", 0);
	assert_false(config_network_allows(c, &a, NULL));
	hal_addr_parse(&a, "::ffff:192.168.1.17", 0);
	assert_true(config_network_allows(c, &a, &norm));
	assert_true(norm);
	hal_addr_parse(&a, "2001:db8:1:ffff::1", 0);
	assert_true(config_network_allows(c, &a, NULL));
	hal_addr_parse(&a, "2001:db8:2::1", 0);
	assert_false(config_network_allows(c, &a, NULL));
	hal_addr_parse(&a, "::ffff:10.0.0.1", 0);
	assert_false(config_network_allows(c, &a, NULL));
	ok_line("set network 10.0.0.0/7"); /* odd prefix */
	hal_addr_parse(&a, "11.255.0.1", 0);
	assert_true(config_network_allows(c, &a, NULL));
	hal_addr_parse(&a, "12.0.0.1", 0);
	assert_false(config_network_allows(c, &a, NULL));
}

static void
test_tokenize(void **state)
{
	char line[128], *argv[8];

	(void)state;
	strcpy(line, "  set  \"a b\" \"\" c\\d \"e\\\"f\\\\\" # comment \"");
	assert_int_equal(config_tokenize(line, argv, 8), 5);
	assert_string_equal(argv[0], "set");
	assert_string_equal(argv[1], "a b");
	assert_string_equal(argv[2], "");
	assert_string_equal(argv[3], "c\\d");
	assert_string_equal(argv[4], "e\"f\\");
	strcpy(line, "a b c");
	assert_int_equal(config_tokenize(line, argv, 2), -E2BIG);
	strcpy(line, "\"abc");
	assert_int_equal(config_tokenize(line, argv, 8), -EINVAL);
	strcpy(line, "\"abc\"def");
	assert_int_equal(config_tokenize(line, argv, 8), -EINVAL);
	strcpy(line, "x\"y\"");
	assert_int_equal(config_tokenize(line, argv, 8), 1);
	assert_string_equal(argv[0], "x\"y\"");
}

static void
emit_count(void *arg, const char *line)
{
	(*(int *)arg)++;
	assert_true(strncmp(line, "set ", 4) == 0 || strncmp(line, "delete ", 7) == 0);
}

static void
find_tls_lines(void *arg, const char *line)
{
	if (strcmp(line, "set listener a 127.0.0.1:2525 mode starttls auth-plaintext off "
		   "tls-min 1.3") == 0 ||
	    strcmp(line, "set listener b 127.0.0.1:2526 mode no-tls auth-plaintext off") == 0)
		(*(int *)arg)++;
}

/* Issue 17 point 5: a listener's tls-min and mode no-tls; `delete tls`
 * returns to zegel's own generated pair, which config_tls_generated() tells
 * from paths an admin named. */
static void
test_listener_tls_options(void **state)
{
	const struct zcfg *c = zcfg_candidate();
	int found = 0;

	(void)state;
	ok_line("set listener a 127.0.0.1:2525 mode starttls tls-min 1.1");
	assert_int_equal(c->listeners[0].tls_min, 11);
	ok_line("set listener a 127.0.0.1:2525 tls-min 1.2"); /* the default: stored as 0 */
	assert_int_equal(c->listeners[0].tls_min, 0);
	ok_line("set listener a 127.0.0.1:2525 tls-min 1.3");
	assert_int_equal(c->listeners[0].tls_min, 13);
	ok_line("set listener b 127.0.0.1:2526 mode no-tls");
	assert_int_equal(c->listeners[1].mode, ZCFG_LISTEN_NOTLS);
	assert_int_not_equal(config_set_line("set listener b 127.0.0.1:2526 tls-min 1.0", err,
	    sizeof(err)), 0);
	assert_non_null(strstr(err, "no meaning with mode no-tls"));
	commit_ok();
	config_dump(zcfg_running(), false, find_tls_lines, &found);
	assert_int_equal(found, 2);
	/* paths */
	assert_true(config_tls_generated(zcfg_running()));
	ok_line("set tls cert /etc/ssl/zegel.crt");
	assert_false(config_tls_generated(zcfg_candidate()));
	ok_line("set data-dir /tmp/elsewhere"); /* the key follows, the cert stays */
	assert_string_equal(c->tls_key, "/tmp/elsewhere/tls/key.pem");
	assert_false(config_tls_generated(zcfg_candidate()));
	ok_line("delete tls");
	assert_string_equal(c->tls_cert, "/tmp/elsewhere/tls/cert.pem");
	assert_true(config_tls_generated(zcfg_candidate()));
}

static void
test_usage(void **state)
{
	int n = 0;

	(void)state;
	config_usage(NULL, emit_count, &n);
	assert_true(n >= 27);
	n = 0;
	config_usage("delete", emit_count, &n);
	assert_int_equal(n, 12); /* ... delete tls */
}

static void
find_line(void *arg, const char *line)
{
	if (strcmp(line, "set public-address 2001:db8::7") == 0)
		(*(int *)arg)++;
}

/* `set public-address IP`: an address without a port, dumped, deleted. */
static void
test_public_address(void **state)
{
	int n = 0;

	(void)state;
	assert_int_not_equal(config_set_line("set public-address 192.0.2.1:25", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "is not an IP address"));
	assert_int_not_equal(config_set_line("set public-address mail.example", err, sizeof(err)), 0);
	ok_line("set public-address 198.51.100.7");
	commit_ok();
	assert_true(zcfg_running()->public_address_set);
	assert_int_equal(zcfg_running()->public_address.family, 4);
	assert_int_equal(zcfg_running()->public_address.ip[3], 7);
	ok_line("set public-address 2001:db8::7");
	commit_ok();
	config_dump(zcfg_running(), false, find_line, &n);
	assert_int_equal(n, 1);
	ok_line("delete public-address");
	commit_ok();
	assert_false(zcfg_running()->public_address_set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_every_line, setup),
		cmocka_unit_test_setup(test_bad_lines, setup),
		cmocka_unit_test_setup(test_long_line, setup),
		cmocka_unit_test_setup(test_tables_full, setup),
		cmocka_unit_test_setup(test_commit_validation, setup),
		cmocka_unit_test_setup(test_round_trip, setup),
		cmocka_unit_test_setup(test_time_log_settings, setup),
		cmocka_unit_test_setup(test_dump_masks_secrets, setup),
		cmocka_unit_test_setup(test_save_atomic, setup),
		cmocka_unit_test_setup(test_load_errors, setup),
		cmocka_unit_test_setup(test_users, setup),
		cmocka_unit_test_setup(test_networks, setup),
		cmocka_unit_test_setup(test_tokenize, setup),
		cmocka_unit_test_setup(test_usage, setup),
		cmocka_unit_test_setup(test_listener_tls_options, setup),
		cmocka_unit_test_setup(test_public_address, setup),
		cmocka_unit_test_setup(test_clean_temps, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
