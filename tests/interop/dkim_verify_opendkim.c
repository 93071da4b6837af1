/*
 * Verify DKIM signatures with libopendkim (OpenDKIM's library), keys from a
 * file instead of DNS (DKIM_QUERY_FILE, the library's test query method).
 *
 *   dkim_verify_opendkim KEYS N FILE...
 *
 * KEYS: "SELECTOR._domainkey.DOMAIN RECORD" lines. Prints one line per
 * signature among the first N (libopendkim lists them in header order):
 *   FILE <tab> INDEX <tab> SELECTOR <tab> pass|fail <tab> detail
 * Built and run by tests/interop/dkim.sh (not part of the firmware).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

int
main(int argc, char **argv)
{
	DKIM_LIB *lib;
	dkim_query_t q = DKIM_QUERY_FILE;
	int n;
	static unsigned char buf[1 << 16];

	if (argc < 3)
		return 2;
	n = atoi(argv[2]);
	lib = dkim_init(NULL, NULL);
	if (lib == NULL)
		return 2;
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &q, sizeof(q)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, argv[1], strlen(argv[1])) !=
		DKIM_STAT_OK)
		return 2;
	for (int a = 3; a < argc; a++) {
		DKIM_STAT st;
		DKIM *d = dkim_verify(lib, (unsigned char *)"zegel-interop", NULL, &st);
		FILE *f = fopen(argv[a], "rb");
		DKIM_SIGINFO **sigs = NULL;
		int nsigs = 0;
		size_t r;

		if (d == NULL || f == NULL)
			return 2;
		while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
			if ((st = dkim_chunk(d, buf, r)) != DKIM_STAT_OK)
				break;
		fclose(f);
		if (st == DKIM_STAT_OK)
			st = dkim_chunk(d, NULL, 0);
		if (st == DKIM_STAT_OK)
			st = dkim_eom(d, NULL);
		dkim_getsiglist(d, &sigs, &nsigs);
		for (int i = 0; i < n; i++) {
			DKIM_SIGINFO *s = i < nsigs ? sigs[i] : NULL;
			unsigned flags;
			int bh;
			const unsigned char *sel;

			if (s == NULL) {
				printf("%s\t%d\t?\tfail\tno signature (eom: %s)\n", argv[a], i,
				    dkim_getresultstr(st));
				continue;
			}
			flags = dkim_sig_getflags(s);
			bh = dkim_sig_getbh(s);
			sel = dkim_sig_getselector(s);
			printf("%s\t%d\t%s\t%s\tflags=0x%x bh=%d error=%s\n", argv[a], i,
			    sel ? (const char *)sel : "?",
			    (flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH ? "pass" : "fail",
			    flags, bh, dkim_sig_geterrorstr(dkim_sig_geterror(s)));
		}
		dkim_free(d);
	}
	dkim_close(lib);
	return 0;
}
