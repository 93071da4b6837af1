/*
 * `zegel run`'s commit check (issue 17 point 5): the DKIM key files
 * (console_keys.c), then the listener TLS material and each listener's
 * minimum TLS version. Nothing is written here: zegel's own self-signed pair
 * is generated when the commit is applied (firmware/tls/server.c).
 */
#include <stdio.h>

#include "firmware/app/commands.h"
#include "firmware/config/config.h"
#include "firmware/tls/tls.h"
#include "hal/storage.h"

int
app_commit_check(const struct zcfg *c, char *err, size_t cap)
{
	char e[400];
	int rc = keys_app_check(c, err, cap);

	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++) {
		const struct zcfg_listener *l = &c->listeners[i];

		if (!l->used || l->mode == ZCFG_LISTEN_NOTLS)
			continue;
		if (tls_server_min_supported(l->tls_min, e, sizeof(e)) != 0) {
			snprintf(err, cap, "commit: listener %s: tls-min 1.%u: %s", l->name,
			    (unsigned)l->tls_min % 10, e);
			return -1;
		}
	}
	if (c->tls_tpm) {
		/* the key is in the TPM: made at apply for zegel's own pair; an
		 * admin's pair must exist (the key a `zegel keygen -t rsa --tpm`
		 * file), checked against the TPM when applied */
		char k[ZCFG_PATH_MAX];

		config_tls_tpm_key(c, k);
		if (!config_tls_generated(c) && hal_storage_exists(k) != 1) {
			snprintf(err, cap, "commit: tls key %s does not exist (with tls key-store "
			    "tpm it is a TPM key file: zegel keygen -t rsa --tpm, or zegel's own "
			    "made at the first start)", k);
			return -1;
		}
		if (!config_tls_generated(c) && hal_storage_exists(c->tls_cert) != 1) {
			snprintf(err, cap, "commit: tls cert %s does not exist", c->tls_cert);
			return -1;
		}
		return 0;
	}
	if (tls_server_check(c->tls_cert, c->tls_key, config_tls_generated(c), e, sizeof(e)) != 0) {
		snprintf(err, cap, "commit: %s", e);
		return -1;
	}
	return 0;
}
