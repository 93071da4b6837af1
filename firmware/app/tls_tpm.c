/*
 * The TPM-held TLS key for the SMTP server (issue 15 point 4, `set tls
 * key-store tpm`; smtpd_set_tls_key_loader()). The key is made and loaded
 * by the key holder (firmware/privsep), the one process that talks to the
 * TPM: this process gets a struct hal_key that knows the public key and
 * whose sign() is a request to the key holder, so the network process
 * never holds the TPM, a key or a way to reach either but that request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/console/console.h"
#include "firmware/tls/tls.h"
#include "firmware/keys/keys.h"
#include "hal/log.h"
#include "hal/storage.h"

int
app_tls_tpm_key(const char *key_path, bool generate, struct hal_key *out, char *err, size_t cap)
{
	int rc;

	if (generate) {
		char dir[HAL_PATH_MAX];
		const char *slash = strrchr(key_path, '/');

		if (slash != NULL && slash != key_path) {
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - key_path), key_path);
			hal_storage_mkdirs(dir, 0700);
		}
		rc = keys_generate_file(key_path, HAL_KEY_RSA_TPM, 2048, out);
		if (rc == 0)
			hal_log(HAL_LOG_INFO, "tls", "TLS key made in the TPM (RSA-2048), its "
			    "wrapped blob in %s", key_path);
	} else {
		rc = keys_load_file(out, key_path);
	}
	if (rc != 0)
		snprintf(err, cap, "%s: %s", key_path,
		    rc == -ENODEV	   ? "the TPM cannot be reached (see the tpm2 line)"
		    : rc == -EKEYREJECTED ? "the TPM refused the key blob (another TPM, or cleared)"
		    : rc == -ENOENT	   ? "no such TPM key file"
					   : strerror(-rc));
	return rc;
}

/* `tls csr`: the request, line by line (the PEM has no blank lines). */
static int
cmd_tls_csr(struct console *c, int argc, char **argv, const char *line)
{
	static uint8_t pem[2048]; /* RSA-4096: ~1.8 KB */
	const struct zcfg *cfg = zcfg_running();
	char err[240], *l, *save = NULL;
	size_t len = 0;
	int rc;

	(void)argc;
	(void)argv;
	(void)line;
	rc = tls_server_csr(cfg->hostname[0] ? cfg->hostname : "zegel.localdomain", pem, sizeof(pem),
	    &len, err, sizeof(err));
	if (rc != 0) {
		console_printf(c, "tls csr: %s", err);
		return 1;
	}
	for (l = strtok_r((char *)pem, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		console_puts(c, l);
	return 0;
}

static const struct console_cmd tls_cmds[] = {
	{ "tls csr", "",
	    "a certificate signing request (PKCS#10, SHA-256, subjectAltName the host name) for "
	    "the TLS key in the TPM (set tls key-store tpm), signed by it: have a CA certify it, "
	    "then set tls cert PATH",
	    cmd_tls_csr },
};

int
tls_console_register(void)
{
	return console_register(tls_cmds, sizeof(tls_cmds) / sizeof(tls_cmds[0]));
}
