/*
 * The console command `show crypto`: the crypto chain (hal/crypto.h), what
 * each backend's probe found, which backend serves which operation, and how
 * fast each hashes 64 KiB blocks, measured when the command runs (about
 * 25 ms per backend and algorithm: the loop waits that long).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/console/console.h"
#include "hal/crypto.h"

static void
emit_line(void *arg, const char *line)
{
	console_printf(arg, "  %s", line);
}

static void
mbps(char *out, size_t cap, unsigned long kbps)
{
	if (kbps == 0)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%lu.%lu MB/s", kbps / 1000, kbps % 1000 / 100);
}

static const char *
name_of(const struct hal_crypto_ops *b)
{
	return b ? b->name : "nobody";
}

/* The backend's name up to its first space: "soft", "af_alg". */
static int
short_len(const struct hal_crypto_ops *b)
{
	const char *n = name_of(b);

	return (int)strcspn(n, " ");
}

/* "what: B" for the backend that answers everything (the last one with
 * the op); backends tried before it that take only their own keys (tpm2:
 * TPM key files) follow as "; first tried: A". */
static void
key_op_line(struct console *c, const char *what, size_t off)
{
	const struct hal_crypto_ops *bs[HAL_CRYPTO_MAX_BACKENDS], *last = NULL;
	unsigned nb = hal_crypto_backends(bs, HAL_CRYPTO_MAX_BACKENDS);
	char first[120] = "";
	size_t o = 0;

	for (unsigned i = 0; i < nb; i++) {
		if (*(void *const *)((const char *)bs[i] + off) == NULL)
			continue;
		if (last != NULL && o < sizeof(first)) {
			int w = snprintf(first + o, sizeof(first) - o, "%s%s", o ? ", " : "",
			    last->name);

			o += w > 0 ? (size_t)w : 0;
		}
		last = bs[i];
	}
	console_printf(c, "%s: %s%s%s", what, name_of(last), first[0] ? "; first tried: " : "",
	    first);
}

static int
cmd_show_crypto(struct console *c, int argc, char **argv, const char *line)
{
	static const struct {
		const char *what;
		size_t off;
	} ops[] = {
		{ "key load", offsetof(struct hal_crypto_ops, key_load) },
		{ "key generation", offsetof(struct hal_crypto_ops, key_generate) },
		{ "RSA verification", offsetof(struct hal_crypto_ops, rsa_verify) },
		{ "ECDSA verification", offsetof(struct hal_crypto_ops, ecdsa_verify) },
		{ "Ed25519 verification", offsetof(struct hal_crypto_ops, ed25519_verify) },
	};
	const struct hal_crypto_ops *bs[HAL_CRYPTO_MAX_BACKENDS], *b;
	unsigned nb = hal_crypto_backends(bs, HAL_CRYPTO_MAX_BACKENDS);
	uint32_t caps = hal_crypto_caps();
	const char *why;
	bool used;

	(void)argv;
	(void)line;
	if (argc != 0) {
		console_puts(c, "usage: show crypto");
		return 1;
	}
	console_printf(c, "chain: %s", hal_crypto()->name);
	console_printf(c, "caps: %s%s%s%s%s%s", caps & HAL_CRYPTO_CAP_SHA ? "sha " : "",
	    caps & HAL_CRYPTO_CAP_RSA ? "rsa " : "", caps & HAL_CRYPTO_CAP_ECDSA ? "ecdsa " : "",
	    caps & HAL_CRYPTO_CAP_ED25519 ? "ed25519 " : "",
	    caps & HAL_CRYPTO_CAP_KEYGEN ? "keygen " : "",
	    caps & HAL_CRYPTO_CAP_HW ? "hw (an engine does some work)" : "(all in software)");
	for (unsigned i = 0; (why = hal_crypto_verdict(i, &b, &used)) != NULL; i++) {
		console_printf(c, "backend %s: %s%s%s", b->name, used ? "used" : "not used",
		    why[0] ? ": " : "", why);
		if (b->describe)
			b->describe(emit_line, c);
	}
	console_puts(c, "hashes (64 KiB blocks, measured now; - = not offered):");
	for (enum hal_hash_alg a = HAL_HASH_SHA1; a <= HAL_HASH_SHA512; a++) {
		char l[240], v[48];
		int n;

		b = hal_crypto_hash_backend(a);
		n = snprintf(l, sizeof(l), "  %-7s by %-8.*s", hal_hash_name(a), short_len(b),
		    name_of(b));
		for (unsigned i = 0, k = 0; i < nb && n > 0 && (size_t)n < sizeof(l); i++) {
			if (bs[i]->hash_init == NULL)
				continue; /* a key-only backend (tpm2) */
			mbps(v, sizeof(v), hal_crypto_hash_kbps(bs[i], a, 25));
			n += snprintf(l + n, sizeof(l) - (size_t)n, "%s%.*s %s", k++ ? ", " : "  (",
			    short_len(bs[i]), bs[i]->name, v);
		}
		if (n > 0 && (size_t)n < sizeof(l) - 1 && nb > 0)
			strcat(l, ")");
		console_puts(c, l);
	}
	console_printf(c, "signing: with the backend that loaded the key");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		key_op_line(c, ops[i].what, ops[i].off);
	return 0;
}

static const struct console_cmd crypto_cmds[] = {
	{ "show crypto", "",
	    "crypto backends and their probes (AF_ALG: kernel driver, verdict), which one serves "
	    "each operation, MB/s of each for 64 KiB blocks",
	    cmd_show_crypto },
};

int
crypto_console_register(void)
{
	return console_register(crypto_cmds, sizeof(crypto_cmds) / sizeof(crypto_cmds[0]));
}
