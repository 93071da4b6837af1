/*
 * hal/linux/afalg_proc.h — which driver the kernel binds for a crypto
 * algorithm, from the text of /proc/crypto, fed in byte slices.
 *
 * /proc/crypto is blank-line separated entries of "key : value" lines
 * (crypto/proc.c): name, driver, module, priority, refcnt, selftest,
 * internal, type, ... . An AF_ALG bind to "sha256" gets the entry of that
 * name with the highest priority; internal helpers ("internal : yes") are
 * never bound. The parser keeps, for each wanted name, the best hash entry
 * (type shash or ahash) seen so far.
 *
 * Use: hal_afalg_proc_init(c, names, picks, n), hal_afalg_proc_push(c, p, n)
 * as often as the text comes (every byte is consumed), hal_afalg_proc_end(c)
 * for an entry not closed by a blank line. picks[i].priority stays -1 for a
 * name without an entry. Lines longer than the buffer are ignored; the
 * caller owns everything; no I/O, no allocation.
 */
#ifndef HAL_LINUX_AFALG_PROC_H
#define HAL_LINUX_AFALG_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hal_afalg_pick {
	int priority; /* -1: no entry */
	char driver[64];
	char type[16];
};

struct hal_afalg_proc {
	const char *const *names;
	struct hal_afalg_pick *picks;
	unsigned n;
	/* the line being read */
	char line[128];
	size_t llen;
	bool overlong;
	/* the entry being read */
	char name[64], driver[64], type[16];
	int priority;
	bool internal;
};

void hal_afalg_proc_init(struct hal_afalg_proc *c, const char *const *names,
    struct hal_afalg_pick *picks, unsigned n);
void hal_afalg_proc_push(struct hal_afalg_proc *c, const uint8_t *p, size_t n);
void hal_afalg_proc_end(struct hal_afalg_proc *c);

#endif
