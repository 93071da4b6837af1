/* See smtpd_testcfg.h. */
#include <stdio.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/keys/keys.h"
#include "tests/unit/smtpd_testcfg.h"

int
smtpd_testcfg_build(const struct zcfg **cfg, const char *dir)
{
	char line[512], err[512], path[300];
	static const struct {
		const char *sel, *domain;
		enum hal_key_type type;
	} keys[] = {
		{ "ed", "example.test", HAL_KEY_ED25519 },
		{ "rsa", "example.test", HAL_KEY_RSA },
		{ "org", "example.org", HAL_KEY_ED25519 },
	};
	const char *lines[] = {
		"set hostname mx.zegel.test",
		"set message-size-limit 100000",
		"set domain example.test envelope-align warn",
		"set domain example.org subdomains on envelope-align refuse",
		"set user alice password secret",
		"set network 127.0.0.1/32",
		"set network 127.0.0.3/32 line-endings normalise",
		"set network ::1/128",
		"set listener submission 127.0.0.1:22599 mode starttls auth-plaintext off",
		"set listener plainauth 127.0.0.1:22598 mode starttls auth-plaintext on",
	};

	config_init();
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (config_set_line(lines[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", lines[i], err);
			return -1;
		}
	snprintf(line, sizeof(line), "set data-dir %s/data", dir);
	if (config_set_line(line, err, sizeof(err)) != 0)
		goto bad;
	snprintf(line, sizeof(line), "set relay outbox %s/outbox", dir);
	if (config_set_line(line, err, sizeof(err)) != 0)
		goto bad;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.pem", dir, keys[i].sel);
		if (keys_generate_file(path, keys[i].type, 2048, NULL) != 0) {
			fprintf(stderr, "cannot generate %s\n", path);
			return -1;
		}
		snprintf(line, sizeof(line), "set key %s domain %s file %s", keys[i].sel,
		    keys[i].domain, path);
		if (config_set_line(line, err, sizeof(err)) != 0)
			goto bad;
	}
	if (config_commit(err, sizeof(err)) != 0)
		goto bad;
	*cfg = zcfg_running();
	if (keys_load_config(*cfg, NULL, NULL) != 0) {
		fprintf(stderr, "keys did not load\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "%s: %s\n", line, err);
	return -1;
}
