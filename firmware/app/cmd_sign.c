/*
 * zegel sign -d DOMAIN --key SELECTOR:KEYFILE [--key ...] [-c HEADER/BODY]
 *            [--time UNIX] [-x SECONDS] [-i AUID] [-h H1:H2:...]
 *            [--oversign H1:H2:... | --oversign ""] [--rfc8463-layout] [INFILE]
 *
 * Writes the message to stdout with one DKIM-Signature field per key
 * prepended (rsa-sha256 or ed25519-sha256 from the key type), in its CRLF
 * form (bare LF becomes CRLF: that is what was signed; a last line without
 * line end gets CRLF). On any error: a
 * message on stderr, exit status 1 (2 for usage), nothing on stdout.
 *
 * The message is streamed through the signer, never held in memory: a
 * seekable input is read twice, a pipe is copied to a temporary file on the
 * first pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dkim/dkim.h"
#include "firmware/app/commands.h"
#include "firmware/keys/keys.h"
#include "hal/clock.h"

#define SIGN_MAX_LIST 64

struct sign_key {
	const char *selector;
	const char *file;
	struct hal_key key;
};

static struct dkim_signer signer;
static uint8_t hdrbuf[CONFIG_DKIM_MAX_HEADER_BYTES];
static uint8_t iobuf[65536];

static void
usage(void)
{
	fprintf(stderr,
	    "usage: zegel sign -d DOMAIN --key SELECTOR:KEYFILE [--key ...] [-c HEADER/BODY]\n"
	    "                  [--time UNIX] [-x SECONDS] [-i AUID] [-h H1:H2:...]\n"
	    "                  [--oversign H1:H2:...] [--rfc8463-layout] [INFILE]\n");
}

/* "relaxed/simple", "simple", ... (RFC 6376 §3.5 c=: body defaults to simple). */
static int
parse_canon(const char *s, enum dkim_canon *h, enum dkim_canon *b)
{
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);

	if (hl == 6 && strncmp(s, "simple", 6) == 0)
		*h = DKIM_CANON_SIMPLE;
	else if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
		*h = DKIM_CANON_RELAXED;
	else
		return -1;
	if (slash == NULL)
		*b = DKIM_CANON_SIMPLE;
	else if (strcmp(slash + 1, "simple") == 0)
		*b = DKIM_CANON_SIMPLE;
	else if (strcmp(slash + 1, "relaxed") == 0)
		*b = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* Split "a:b:c" in place into list (NULL-terminated). */
static int
parse_list(char *s, const char **list, size_t cap)
{
	size_t n = 0;

	for (char *tok = strtok(s, ":"); tok != NULL; tok = strtok(NULL, ":")) {
		if (n + 1 >= cap)
			return -1;
		list[n++] = tok;
	}
	list[n] = NULL;
	return 0;
}

/* Write p[0..n) turning bare LF into CRLF; *prev is the last byte written. */
static int
write_crlf(FILE *out, const uint8_t *p, size_t n, int *prev)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if ((i > 0 ? p[i - 1] : *prev) == '\r')
			continue;
		if (fwrite(p + start, 1, i - start, out) != i - start || fputs("\r\n", out) < 0)
			return -1;
		start = i + 1;
	}
	if (fwrite(p + start, 1, n - start, out) != n - start)
		return -1;
	if (n > 0)
		*prev = p[n - 1];
	return 0;
}

static int
sign_stream(FILE *in, FILE *spool, const char *name)
{
	size_t n, off, k;

	while ((n = fread(iobuf, 1, sizeof(iobuf), in)) > 0) {
		if (spool != NULL && fwrite(iobuf, 1, n, spool) != n) {
			fprintf(stderr, "zegel sign: cannot write the temporary copy\n");
			return -1;
		}
		for (off = 0; off < n; off += k) {
			k = dkim_signer_push(&signer, iobuf + off, n - off);
			if (k == 0)
				break;
		}
		if (dkim_signer_error(&signer) != DKIM_OK)
			break;
	}
	if (ferror(in)) {
		fprintf(stderr, "zegel sign: %s: read error\n", name);
		return -1;
	}
	return 0;
}

int
cmd_sign(int argc, char **argv)
{
	static struct sign_key keys[DKIM_MAX_SIGS];
	static const char *hlist[SIGN_MAX_LIST], *olist[SIGN_MAX_LIST];
	const char *domain = NULL, *identity = NULL, *infile = NULL;
	bool have_h = false, have_o = false, rfc8463 = false;
	enum dkim_canon ch = DKIM_CANON_RELAXED, cb = DKIM_CANON_RELAXED;
	long long t = -1, expire = 0;
	unsigned nkeys = 0;
	FILE *in = stdin, *spool = NULL, *src;
	struct stat st;
	int rc = 1, prev = 0;
	size_t n, hlen = 0;
	static char hdr[DKIM_MAX_SIGS * 4096];

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (infile != NULL) {
				usage();
				return 2;
			}
			infile = a;
			i--;    /* no value */
			continue;
		}
		if (v == NULL && strcmp(a, "--rfc8463-layout") != 0) {
			usage();
			return 2;
		}
		if (strcmp(a, "-d") == 0) {
			domain = v;
		} else if (strcmp(a, "--key") == 0 || strcmp(a, "-k") == 0) {
			char *colon = strchr(argv[i + 1], ':');

			if (colon == NULL || colon == argv[i + 1] || colon[1] == 0) {
				fprintf(stderr, "zegel sign: --key wants SELECTOR:KEYFILE\n");
				return 2;
			}
			if (nkeys >= DKIM_MAX_SIGS) {
				fprintf(stderr, "zegel sign: at most %d keys\n", DKIM_MAX_SIGS);
				return 2;
			}
			*colon = 0;
			keys[nkeys].selector = argv[i + 1];
			keys[nkeys].file = colon + 1;
			nkeys++;
		} else if (strcmp(a, "-c") == 0) {
			if (parse_canon(v, &ch, &cb) != 0) {
				fprintf(stderr, "zegel sign: -c wants simple|relaxed[/simple|relaxed]\n");
				return 2;
			}
		} else if (strcmp(a, "--time") == 0 || strcmp(a, "-t") == 0) {
			char *end;

			t = strtoll(v, &end, 10);
			if (*v == 0 || *end != 0 || t < 0) {
				fprintf(stderr, "zegel sign: --time wants UNIX seconds\n");
				return 2;
			}
		} else if (strcmp(a, "-x") == 0) {
			char *end;

			expire = strtoll(v, &end, 10);
			if (*v == 0 || *end != 0 || expire <= 0 || expire > 0xffffffffLL) {
				fprintf(stderr, "zegel sign: -x wants seconds\n");
				return 2;
			}
		} else if (strcmp(a, "-i") == 0) {
			identity = v;
		} else if (strcmp(a, "-h") == 0) {
			if (parse_list(argv[i + 1], hlist, SIGN_MAX_LIST) != 0) {
				fprintf(stderr, "zegel sign: -h: too many names\n");
				return 2;
			}
			have_h = true;
		} else if (strcmp(a, "--oversign") == 0) {
			if (parse_list(argv[i + 1], olist, SIGN_MAX_LIST) != 0) {
				fprintf(stderr, "zegel sign: --oversign: too many names\n");
				return 2;
			}
			have_o = true;
		} else if (strcmp(a, "--rfc8463-layout") == 0) {
			rfc8463 = true;
			i--;    /* no value */
		} else {
			usage();
			return 2;
		}
	}
	if (domain == NULL || nkeys == 0) {
		usage();
		return 2;
	}
	if (t < 0) {
		t = hal_clock_now();
		/* no t= rather than a 1970 one (README "The clock"); --time sets it */
		if (!hal_clock_plausible(t)) {
			fprintf(stderr, "zegel sign: the clock is not plausible: signing without t= "
			    "(give --time UNIX)\n");
			t = -1;
		}
	}

	dkim_signer_init(&signer, hdrbuf, sizeof(hdrbuf));
	for (unsigned i = 0; i < nkeys; i++) {
		struct dkim_sig_params p = {
			.domain = domain,
			.selector = keys[i].selector,
			.key = &keys[i].key,
			.canon_header = ch,
			.canon_body = cb,
			.headers = have_h ? hlist : NULL,
			.oversign = have_o ? olist : NULL,
			.expire_after = (uint32_t)expire,
			.identity = identity,
			.flags = rfc8463 ? DKIM_SIG_RFC8463_LAYOUT : 0,
		};
		int r = keys_load_file(&keys[i].key, keys[i].file);

		if (r != 0) {
			fprintf(stderr, "zegel sign: %s: cannot load key: %s\n", keys[i].file,
			    r == -EINVAL ? "not a PEM RSA or Ed25519 private key"
			    : r == -ENOTSUP ? "key type not usable for DKIM"
					    : strerror(-r));
			goto out;
		}
		if (keys[i].key.type == HAL_KEY_RSA && keys[i].key.bits >= 1024 &&
		    keys[i].key.bits < 2048)
			fprintf(stderr, "zegel sign: warning: %s: RSA-%u is weak; use 2048 bits or "
			    "more (RFC 8301 §3.2)\n", keys[i].file, keys[i].key.bits);
		r = dkim_signer_add(&signer, &p);
		if (r != DKIM_OK) {
			fprintf(stderr, "zegel sign: key %s (%s): %s\n", keys[i].selector,
			    keys[i].file, dkim_strerror(r));
			goto out;
		}
	}

	if (infile != NULL && strcmp(infile, "-") != 0) {
		in = fopen(infile, "rb");
		if (in == NULL) {
			fprintf(stderr, "zegel sign: %s: %s\n", infile, strerror(errno));
			goto out;
		}
	}
	if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode)) {
		spool = tmpfile();
		if (spool == NULL) {
			fprintf(stderr, "zegel sign: cannot create a temporary file: %s\n",
			    strerror(errno));
			goto out;
		}
	}
	if (sign_stream(in, spool, infile ? infile : "stdin") != 0)
		goto out;
	if ((rc = dkim_signer_finish(&signer, t)) != DKIM_OK) {
		fprintf(stderr, "zegel sign: %s\n", dkim_strerror(rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	/* all fields first: nothing reaches stdout unless everything worked */
	for (unsigned i = 0; i < dkim_signer_count(&signer); i++) {
		if (dkim_signer_header(&signer, i, hdr + hlen, sizeof(hdr) - hlen, &n) != DKIM_OK) {
			fprintf(stderr, "zegel sign: signature field too long\n");
			goto out;
		}
		hlen += n;
	}
	fwrite(hdr, 1, hlen, stdout);
	src = spool != NULL ? spool : in;
	if (fseek(src, 0, SEEK_SET) != 0) {
		fprintf(stderr, "zegel sign: cannot rewind the input\n");
		goto out;
	}
	while ((n = fread(iobuf, 1, sizeof(iobuf), src)) > 0)
		if (write_crlf(stdout, iobuf, n, &prev) != 0)
			break;
	/* a last line without line end gets CRLF, as SMTP would send it; the
	 * body hash is the same (RFC 6376 §3.4.3, §3.4.4) */
	if (prev != 0 && prev != '\n')
		fputs("\r\n", stdout);
	if (ferror(src) || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "zegel sign: write error\n");
		goto out;
	}
	rc = 0;
out:
	dkim_signer_free(&signer); /* a failed read leaves the body hashes open */
	for (unsigned i = 0; i < nkeys; i++)
		hal_key_free(&keys[i].key);
	if (spool != NULL)
		fclose(spool);
	if (in != stdin && in != NULL)
		fclose(in);
	return rc;
}
