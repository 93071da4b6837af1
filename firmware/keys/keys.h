/*
 * firmware/keys/keys.h — the one door to private keys (STYLE.md §13).
 *
 * Model. Only this module reads private key files. The appliance loads the
 * keys the running configuration names (struct zcfg keys[]: selector, domain,
 * file) once with keys_load_config(); afterwards callers look keys up by
 * domain and selector and pass the const struct hal_key * to the DKIM signer,
 * which signs through hal/crypto. Keys are parsed once per process, never per
 * message. PEM buffers are wiped after parsing; keys_unload() frees and wipes
 * the key state (hal_key_free()).
 *
 * The tools (`zegel sign`, `zegel keygen`, `zegel dnsrecord`) use the
 * file-level helpers with caller-owned struct hal_key values.
 *
 * The door. In `zegel run` with privilege separation (firmware/privsep/)
 * the network process never reads a key file: keys_set_door() routes
 * keys_load_file() and keys_generate_file() to the key holder, which loads
 * or makes the key in its own memory and answers with a struct hal_key whose
 * backend forwards sign() to it and knows only the public key. Callers do
 * not change; a NULL door (the tools, the key holder itself) reads the file
 * here.
 *
 * Errors are negative errno values (-ENOENT, -EACCES, -EFBIG, -EINVAL for a
 * file that is no key, -ENOTSUP for a key type DKIM cannot use).
 */
#ifndef FIRMWARE_KEYS_KEYS_H
#define FIRMWARE_KEYS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "hal/crypto.h"
#include "zegel/cfg.h"

/* Largest PEM file accepted (an RSA-4096 PKCS#1 key is ~3.3 KB). */
#define KEYS_PEM_MAX 16384

/* Load a PEM key file (RSA PKCS#1/PKCS#8, Ed25519 PKCS#8) into *k. */
int keys_load_file(struct hal_key *k, const char *path);

/* Generate a key and write it as PEM to path with mode 0600 (atomically:
 * the file appears complete or not at all). bits is ignored for Ed25519.
 * HAL_KEY_RSA_TPM (bits 2048): the key is made inside the TPM and the file
 * holds only its TPM-wrapped blob (hal/tpm2.h); the key is then HAL_KEY_RSA.
 * If out is not NULL the key is also returned there (the caller frees it). */
int keys_generate_file(const char *path, enum hal_key_type type, unsigned bits,
    struct hal_key *out);

/* A signature finished elsewhere: rc 0 and the signature, or -errno. */
typedef void (*keys_sig_done_fn)(void *arg, unsigned idx, int rc, const uint8_t *sig,
    size_t len);

struct keys_door {
	int (*load)(struct hal_key *k, const char *path);
	/* bits already checked; out NULL: free the key after writing it */
	int (*generate)(const char *path, enum hal_key_type type, unsigned bits,
	    struct hal_key *out);
	/* Optional (issue 22): start signing digest (SHA-256) with k without
	 * waiting; done(arg, idx, ...) is called later from the event loop,
	 * never from inside sign_start. 0 and a ticket, or -errno (-ENOTSUP: k
	 * is not the door's, -EBUSY: too many in flight): sign synchronously. */
	int (*sign_start)(const struct hal_key *k, const uint8_t *digest, size_t n,
	    keys_sig_done_fn done, void *arg, unsigned idx, uint32_t *ticket);
	/* Forget a started signature: its done() is never called. */
	void (*sign_cancel)(uint32_t ticket);
};
void keys_set_door(const struct keys_door *door);
const struct keys_door *keys_door(void);

/* The DNS TXT record for a key in zone-file syntax (see dkim_dns_record()). */
int keys_dns_record(const struct hal_key *k, const char *selector, const char *domain,
    char *buf, size_t cap, size_t *len);

/* The appliance's key table, filled from the running configuration. */
struct keys_entry {
	bool used;
	char selector[ZCFG_SEL_MAX];
	char domain[ZCFG_NAME_MAX];
	struct hal_key key;
};

/* (Re)load every key of cfg; keys that fail are skipped and counted. Returns
 * the number of keys that failed (0 when all loaded), failures reported one
 * by one to the optional callback. */
int keys_load_config(const struct zcfg *cfg,
    void (*on_error)(const struct zcfg_key *k, int err, void *arg), void *arg);
void keys_unload(void);
const struct hal_key *keys_find(const char *domain, const char *selector);
/* Iterate the keys of a domain: prev NULL for the first, NULL at the end. */
const struct keys_entry *keys_next(const char *domain, const struct keys_entry *prev);

#endif
