/*
 * The key store: the only code that reads private key files.
 */
#include <string.h>
#include <strings.h>

#include "dkim/dkim.h"
#include "firmware/keys/keys.h"
#include "hal/storage.h"

static struct keys_entry table[CONFIG_CFG_MAX_KEYS];
static const struct keys_door *door;

void
keys_set_door(const struct keys_door *d)
{
	door = d;
}

const struct keys_door *
keys_door(void)
{
	return door;
}

/* Wipe that the compiler may not drop (no memset_s/explicit_bzero in C11). */
static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

int
keys_load_file(struct hal_key *k, const char *path)
{
	static const size_t cap = KEYS_PEM_MAX;
	uint8_t pem[KEYS_PEM_MAX];
	size_t n = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	if (door != NULL)
		return door->load(k, path);
	rc = hal_storage_get(path, pem, cap, &n);
	if (rc == 0)
		rc = hal_key_load(k, pem, n);
	wipe(pem, sizeof(pem));
	return rc;
}

int
keys_generate_file(const char *path, enum hal_key_type type, unsigned bits,
    struct hal_key *out)
{
	struct hal_key k;
	char pem[KEYS_PEM_MAX];
	size_t n = 0;
	int rc;

	memset(&k, 0, sizeof(k));
	if (type == HAL_KEY_RSA && (bits < 1024 || bits > 4096))
		return -EINVAL;
	if (type == HAL_KEY_RSA_TPM && bits != 2048)
		return -EINVAL;
	if (door != NULL)
		return door->generate(path, type, type == HAL_KEY_ED25519 ? 0 : bits, out);
	rc = hal_key_generate(&k, type, bits);
	if (rc == 0)
		rc = hal_key_write_pem(&k, pem, sizeof(pem), &n);
	if (rc == 0)
		rc = hal_storage_put(path, pem, n, 0600);
	wipe(pem, sizeof(pem));
	if (rc == 0 && out != NULL)
		*out = k;
	else
		hal_key_free(&k);
	return rc;
}

int
keys_dns_record(const struct hal_key *k, const char *selector, const char *domain, char *buf,
    size_t cap, size_t *len)
{
	uint8_t pub[1024];
	size_t pl = 0;
	int rc = hal_key_public(k, pub, sizeof(pub), &pl);

	if (rc != 0)
		return rc;
	rc = dkim_dns_record(selector, domain, k->type, pub, pl, buf, cap, len);
	if (rc == DKIM_ERR_OUTPUT_SPACE)
		return -ERANGE;
	return rc == DKIM_OK ? 0 : -EINVAL;
}

void
keys_unload(void)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		hal_key_free(&table[i].key);
		memset(&table[i], 0, sizeof(table[i]));
	}
}

int
keys_load_config(const struct zcfg *cfg,
    void (*on_error)(const struct zcfg_key *k, int err, void *arg), void *arg)
{
	size_t j = 0;
	int failed = 0;

	keys_unload();
	for (size_t i = 0; i < sizeof(cfg->keys) / sizeof(cfg->keys[0]); i++) {
		const struct zcfg_key *ck = &cfg->keys[i];
		struct keys_entry *e;
		int rc;

		if (!ck->used)
			continue;
		e = &table[j];
		rc = keys_load_file(&e->key, ck->file);
		if (rc != 0) {
			failed++;
			if (on_error != NULL)
				on_error(ck, rc, arg);
			continue;
		}
		e->used = true;
		strncpy(e->selector, ck->selector, sizeof(e->selector) - 1);
		strncpy(e->domain, ck->domain, sizeof(e->domain) - 1);
		j++;
	}
	return failed;
}

const struct hal_key *
keys_find(const char *domain, const char *selector)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].used && strcasecmp(table[i].domain, domain) == 0 &&
		    strcmp(table[i].selector, selector) == 0)
			return &table[i].key;
	return NULL;
}

const struct keys_entry *
keys_next(const char *domain, const struct keys_entry *prev)
{
	size_t i = prev == NULL ? 0 : (size_t)(prev - table) + 1;

	for (; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].used && strcasecmp(table[i].domain, domain) == 0)
			return &table[i];
	return NULL;
}
