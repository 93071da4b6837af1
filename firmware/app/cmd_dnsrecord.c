/*
 * zegel dnsrecord -d DOMAIN -s SELECTOR -k KEYFILE
 *
 * Prints the DKIM key record of an existing private key in zone-file syntax
 * (the same text `zegel keygen` writes to SELECTOR.txt).
 */
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "firmware/app/commands.h"
#include "firmware/keys/keys.h"

int
cmd_dnsrecord(int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *file = NULL;
	struct hal_key k;
	char rec[2048];
	size_t n;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-d") == 0)
			domain = argv[i + 1];
		else if (strcmp(argv[i], "-s") == 0)
			sel = argv[i + 1];
		else if (strcmp(argv[i], "-k") == 0)
			file = argv[i + 1];
		else
			domain = NULL, i = argc;
	}
	if (argc % 2 == 0 || domain == NULL || sel == NULL || file == NULL) {
		fprintf(stderr, "usage: zegel dnsrecord -d DOMAIN -s SELECTOR -k KEYFILE\n");
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
	rc = keys_dns_record(&k, sel, domain, rec, sizeof(rec), &n);
	hal_key_free(&k);
	if (rc != 0) {
		fprintf(stderr, "zegel dnsrecord: %s\n", strerror(-rc));
		return 1;
	}
	fwrite(rec, 1, n, stdout);
	return 0;
}
