/*
 * zegel keygen -t rsa|ed25519 [-b BITS] [--tpm] -d DOMAIN -s SELECTOR [-o DIR]
 *
 * Writes DIR/SELECTOR.key (PEM, mode 0600; RSA PKCS#1, Ed25519 PKCS#8), or
 * with --tpm an RSA-2048 key made inside the TPM (ZEGEL_TPM, default
 * /dev/tpmrm0) as DIR/SELECTOR.tpmkey, its TPM-wrapped blob (hal/tpm2.h), and
 * DIR/SELECTOR.txt, the DNS TXT record in zone-file syntax split into
 * 255-byte strings, as opendkim-genkey does. Refuses to overwrite a key.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"
#include "firmware/app/commands.h"
#include "firmware/keys/keys.h"
#include "hal/storage.h"
#include "hal/tpm2.h"

static void
usage(void)
{
	fprintf(stderr, "usage: zegel keygen -t rsa|ed25519 [-b BITS] [--tpm] -d DOMAIN "
			"-s SELECTOR [-o DIR]\n");
}

int
cmd_keygen(int argc, char **argv)
{
	const char *type = NULL, *domain = NULL, *sel = NULL, *dir = ".";
	unsigned long bits = 2048;
	enum hal_key_type kt;
	struct hal_key k;
	char keypath[HAL_PATH_MAX], txtpath[HAL_PATH_MAX], rec[2048];
	size_t n;
	bool tpm = false;
	int rc;

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--tpm") == 0) {
			tpm = true;
			i--;
			continue;
		}
		if (v == NULL) {
			usage();
			return 2;
		}
		if (strcmp(a, "-t") == 0) {
			type = v;
		} else if (strcmp(a, "-b") == 0) {
			char *end;

			bits = strtoul(v, &end, 10);
			if (*v == 0 || *end != 0) {
				usage();
				return 2;
			}
		} else if (strcmp(a, "-d") == 0) {
			domain = v;
		} else if (strcmp(a, "-s") == 0) {
			sel = v;
		} else if (strcmp(a, "-o") == 0) {
			dir = v;
		} else {
			usage();
			return 2;
		}
	}
	if (type == NULL || domain == NULL || sel == NULL) {
		usage();
		return 2;
	}
	if (strcmp(type, "rsa") == 0) {
		kt = HAL_KEY_RSA;
		if (bits < 1024 || bits > 4096) {
			fprintf(stderr, "zegel keygen: RSA keys must have 1024 to 4096 bits "
					"(RFC 8301 §3.2)\n");
			return 2;
		}
		if (bits < 2048)
			fprintf(stderr, "zegel keygen: warning: RSA-%lu is weak; use 2048 or more\n",
			    bits);
	} else if (strcmp(type, "ed25519") == 0) {
		kt = HAL_KEY_ED25519;
		bits = 256;
	} else {
		usage();
		return 2;
	}
	if (tpm && (kt != HAL_KEY_RSA || bits != 2048)) {
		fprintf(stderr, "zegel keygen: --tpm makes RSA-2048 keys only\n");
		return 2;
	}
	if (!dkim_valid_domain(domain) || !dkim_valid_selector(sel)) {
		fprintf(stderr, "zegel keygen: bad domain or selector\n");
		return 2;
	}
	if ((size_t)snprintf(keypath, sizeof(keypath), "%s/%s.%s", dir, sel,
		tpm ? "tpmkey" : "key") >= sizeof(keypath) ||
	    (size_t)snprintf(txtpath, sizeof(txtpath), "%s/%s.txt", dir, sel) >= sizeof(txtpath)) {
		fprintf(stderr, "zegel keygen: path too long\n");
		return 2;
	}
	if (hal_storage_exists(keypath) == 1) {
		fprintf(stderr, "zegel keygen: %s exists; not overwriting it\n", keypath);
		return 1;
	}
	rc = keys_generate_file(keypath, tpm ? HAL_KEY_RSA_TPM : kt, (unsigned)bits, &k);
	if (rc != 0) {
		fprintf(stderr, "zegel keygen: %s: %s%s%s\n", keypath, strerror(-rc),
		    tpm && hal_tpm2_why()[0] ? ": " : "", tpm ? hal_tpm2_why() : "");
		return 1;
	}
	rc = keys_dns_record(&k, sel, domain, rec, sizeof(rec), &n);
	hal_key_free(&k);
	if (rc == 0)
		rc = hal_storage_put(txtpath, rec, n, 0644);
	if (rc != 0) {
		fprintf(stderr, "zegel keygen: %s: %s\n", txtpath, strerror(-rc));
		return 1;
	}
	printf("%s\n%s\n", keypath, txtpath);
	return 0;
}
