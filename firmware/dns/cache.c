/*
 * The answer cache: finished results by (name, type), CONFIG_DNS_CACHE_ENTRIES
 * slots, replaced round-robin when full; TTLs count down from storing.
 */
#include <string.h>

#include "firmware/dns/trust.h"

bool
dns_cache_get(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type, struct dns_result *res)
{
	if (CONFIG_DNS_CACHE_ENTRIES == 0)
		return false;
	for (unsigned i = 0; i < DNS_CACHE_SLOTS; i++) {
		struct dns_cache_entry *e = &ctx->cache[i];
		if (!e->used || e->type != type || !dns_name_eq(e->name, qname))
			continue;
		if (e->expires <= ctx->now) {
			e->used = false;
			return false;
		}
		res->status = (enum dns_status)e->status;
		res->rcode = e->rcode;
		res->nodata = e->nodata;
		res->ede = e->ede;
		memcpy(res->reason, e->reason, sizeof(res->reason));
		res->nrr = e->nrr;
		memcpy(res->rr, e->rr, e->nrr * sizeof(e->rr[0]));
		memcpy(res->data, e->data, e->used_data);
		res->used = e->used_data;
		/* TTLs count down from the time the answer was stored */
		for (unsigned k = 0; k < res->nrr; k++) {
			int64_t left = e->expires - ctx->now;
			if ((int64_t)res->rr[k].ttl > left)
				res->rr[k].ttl = (uint32_t)left;
		}
		return true;
	}
	return false;
}

void
dns_cache_put(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type, const struct dns_result *res,
    int64_t expires)
{
	struct dns_cache_entry *e = NULL;

	if (CONFIG_DNS_CACHE_ENTRIES == 0 || expires <= ctx->now || res->nrr > DNS_CACHE_RR ||
	    res->used > DNS_CACHE_DATA)
		return;
	for (unsigned i = 0; i < DNS_CACHE_SLOTS && e == NULL; i++)
		if (!ctx->cache[i].used || ctx->cache[i].expires <= ctx->now ||
		    (ctx->cache[i].type == type && dns_name_eq(ctx->cache[i].name, qname)))
			e = &ctx->cache[i];
	if (e == NULL) { /* full: replace round-robin */
		e = &ctx->cache[ctx->cache_next];
		ctx->cache_next = (ctx->cache_next + 1) % DNS_CACHE_SLOTS;
	}
	e->used = true;
	memcpy(e->name, qname, dns_name_len(qname, DNS_NAME_MAX));
	e->type = type;
	e->expires = expires;
	e->status = (uint8_t)res->status;
	e->rcode = res->rcode;
	e->nodata = res->nodata;
	e->ede = res->ede;
	memcpy(e->reason, res->reason, sizeof(e->reason));
	e->nrr = res->nrr;
	memcpy(e->rr, res->rr, res->nrr * sizeof(res->rr[0]));
	memcpy(e->data, res->data, res->used);
	e->used_data = (uint16_t)res->used;
}
