/*
 * zegel dnsrecord -d DOMAIN -s SELECTOR -k KEYFILE [--one-line]
 *
 * Prints the DKIM key record of an existing private key in zone-file syntax
 * (the same text `zegel keygen` writes to SELECTOR.txt), or with --one-line
 * only the TXT value on one line ("v=DKIM1; k=...; p=..."), the form web
 * DNS panels take (as `show keys` on the console shows both).
 */
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "firmware/app/commands.h"
#include "firmware/keys/keys.h"
#include "firmware/keys/record.h"

int
cmd_dnsrecord(int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *file = NULL;
	bool one_line = false, bad = false;
	struct hal_key k;
	char rec[2048];
	uint8_t pub[1024];
	size_t n, pl;
	int rc;

	for (int i = 1; i < argc && !bad; i++) {
		const char **to = strcmp(argv[i], "-d") == 0   ? &domain
				  : strcmp(argv[i], "-s") == 0 ? &sel
				  : strcmp(argv[i], "-k") == 0 ? &file
							       : NULL;

		if (strcmp(argv[i], "--one-line") == 0)
			one_line = true;
		else if (to == NULL || i + 1 >= argc)
			bad = true;
		else
			*to = argv[++i];
	}
	if (bad || domain == NULL || sel == NULL || file == NULL) {
		fprintf(stderr, "usage: zegel dnsrecord -d DOMAIN -s SELECTOR -k KEYFILE "
				"[--one-line]\n");
		return 2;
	}
	if (!dkim_valid_domain(domain) || !dkim_valid_selector(sel)) {
		fprintf(stderr, "zegel dnsrecord: bad domain or selector\n");
		return 2;
	}
	rc = keys_load_file(&k, file);
	if (rc != 0) {
		fprintf(stderr, "zegel dnsrecord: %s: cannot load key: %s\n", file,
		    rc == -EINVAL ? "not a PEM RSA or Ed25519 private key" : strerror(-rc));
		return 1;
	}
	if (one_line) {
		rc = hal_key_public(&k, pub, sizeof(pub), &pl);
		if (rc == 0)
			rc = keyrec_value(k.type, pub, pl, rec, sizeof(rec) - 1, &n);
		if (rc == 0)
			rec[n++] = '\n';
	} else {
		rc = keys_dns_record(&k, sel, domain, rec, sizeof(rec), &n);
	}
	hal_key_free(&k);
	if (rc != 0) {
		fprintf(stderr, "zegel dnsrecord: %s\n", strerror(-rc));
		return 1;
	}
	fwrite(rec, 1, n, stdout);
	return 0;
}
