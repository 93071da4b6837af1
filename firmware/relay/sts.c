/*
 * MTA-STS policy discovery, fetch and cache on the event loop (sts.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/dns/wire.h"
#include "firmware/relay/sts.h"
#include "hal/clock.h"
#include "hal/storage.h"
#include "zegel/text.h"

enum { S_IDLE = 0, S_TXT, S_ADDR, S_FETCH, S_DONE };

static void fetch_next(struct sts_req *q);
static void on_addr(void *arg, struct hostaddr_req *ha);

static struct tls_client_conf sts_conf;
static unsigned sts_conf_users;

int
sts_tls_conf_get(const char *ca_file, const struct tls_client_conf **out, char *err,
    size_t errcap)
{
	const char *want = ca_file && ca_file[0] ? ca_file : TLS_CLIENT_DEFAULT_CA;

	if (sts_conf.loaded && strcmp(sts_conf.ca_file, want) != 0 && sts_conf_users == 0)
		tls_client_conf_free(&sts_conf);
	if (!sts_conf.loaded && tls_client_conf_load(&sts_conf, want, false, err, errcap) < 0)
		return -1;
	sts_conf_users++;
	*out = &sts_conf;
	return 0;
}

void
sts_tls_conf_put(void)
{
	if (sts_conf_users > 0)
		sts_conf_users--;
}

bool
sts_expired(const struct sts_policy *p, int64_t now)
{
	return p->fetched + (int64_t)p->max_age < now;
}

int
sts_cache_path(const char *data_dir, const char *domain, char *out, size_t cap)
{
	char d[ZCFG_NAME_MAX];
	size_t n = strlen(domain);

	if (data_dir == NULL || data_dir[0] == '\0' || n == 0 || n >= sizeof(d) ||
	    domain[0] == '.')
		return -1;
	for (size_t i = 0; i <= n; i++) {
		char c = (char)tolower((unsigned char)domain[i]);

		if (c != '\0' && !(isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_'))
			return -1;
		d[i] = c;
	}
	if (n > 0 && d[n - 1] == '.')
		d[n - 1] = '\0';
	zegel_strf(out, cap, "%s/sts/%s", data_dir, d);
	return 0;
}

static void
cache_load(struct sts_req *q)
{
	char path[ZCFG_PATH_MAX + ZCFG_NAME_MAX + 8];
	static char buf[STS_MX_MAX * (STS_NAME_MAX + 8) + 256];
	struct sts_parser *p = &q->parser;
	size_t len;

	q->cached_ok = false;
	if (sts_cache_path(q->data_dir, q->domain, path, sizeof(path)) < 0 ||
	    hal_storage_get(path, buf, sizeof(buf), &len) < 0)
		return;
	sts_parser_init(p, true);
	if (sts_parser_push(p, (const uint8_t *)buf, len) < 0 || sts_parser_finish(p) < 0 ||
	    p->pol.id[0] == '\0')
		return; /* a damaged cache file is as good as none */
	q->pol = p->pol; /* q->have stays false until the cache is chosen */
	q->cached_ok = true;
}

static void
cache_store(struct sts_req *q)
{
	char path[ZCFG_PATH_MAX + ZCFG_NAME_MAX + 8], dir[ZCFG_PATH_MAX + 8];
	static char buf[STS_MX_MAX * (STS_NAME_MAX + 8) + 256];
	size_t len;

	if (sts_cache_path(q->data_dir, q->domain, path, sizeof(path)) < 0)
		return;
	zegel_strf(dir, sizeof(dir), "%s/sts", q->data_dir);
	len = sts_policy_format(&q->pol, buf, sizeof(buf), true);
	if (len == 0 || hal_storage_mkdirs(dir, 0700) < 0 ||
	    hal_storage_put(path, buf, len, 0600) < 0)
		zegel_strf(q->why + strlen(q->why), sizeof(q->why) - strlen(q->why),
		    " (not cached: cannot write %s)", path);
}

/* ------------------------------------------------------------ outcome */

static void
finish_cb(void *arg)
{
	struct sts_req *q = arg;

	q->timer = -1;
	q->busy = false;
	q->done(q->arg, q);
}

static void
stream_close(struct sts_req *q)
{
	if (q->h >= 0)
		loop_close(q->h);
	q->h = -1;
	if (q->tls_live)
		tls_client_free(&q->tls);
	q->tls_live = false;
}

/* Done with what is known; the callback runs from a 0 ms timer. */
static void
finish(struct sts_req *q)
{
	stream_close(q);
	q->step = S_DONE;
	q->timer = loop_timer_add(0, finish_cb, q);
	if (q->timer < 0)
		finish_cb(q); /* no timer left: the caller is on the loop anyway */
}

/* No usable fresh policy: the cached one while within max_age, else none. */
static void
use_cache_or_none(struct sts_req *q, const char *what)
{
	int64_t now = (int64_t)hal_clock_now();

	if (q->cached_ok && !sts_expired(&q->pol, now)) {
		q->have = true;
		q->src = STS_SRC_CACHE;
		zegel_strf(q->why, sizeof(q->why), "%s; using the cached policy (id %s, %lld s "
		    "left)", what, q->pol.id,
		    (long long)(q->pol.fetched + q->pol.max_age - now));
	} else {
		q->have = false;
		q->src = STS_SRC_NONE;
		zegel_strf(q->why, sizeof(q->why), "%s%s", what,
		    q->cached_ok ? "; the cached policy has expired" : "");
	}
	finish(q);
}

/* ------------------------------------------------------------ TXT */

static void
on_txt(void *arg, const struct dns_result *res)
{
	struct sts_req *q = arg;
	char txt[512], id[STS_ID_MAX + 1], bad[STS_WHY_MAX];
	unsigned nsts = 0;
	bool malformed = false;
	char what[200];
	int n;

	q->dns_id = -1;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		zegel_strf(what, sizeof(what), "TXT _mta-sts.%s is %s: %s", q->domain,
		    dns_status_str(res->status), res->reason);
		use_cache_or_none(q, what);
		return;
	}
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		size_t full;
		int v;

		if (rr->type != DNS_T_TXT)
			continue;
		dns_txt_join(res->data + rr->rd_off, rr->rdlen, txt, sizeof(txt), &full);
		v = sts_txt_parse(txt, strlen(txt), id, bad, sizeof(bad));
		if (v == 0)
			continue;
		nsts++;
		if (v < 0 || full >= sizeof(txt))
			malformed = true;
		else
			memcpy(q->txt_id, id, sizeof(id));
	}
	if (nsts != 1 || malformed) {
		/* 3.1: not exactly one valid record = no policy available */
		q->txt_id[0] = '\0';
		if (nsts > 1)
			zegel_strf(what, sizeof(what), "%u v=STSv1 records at _mta-sts.%s (RFC "
			    "8461 3.1: none used)", nsts, q->domain);
		else if (nsts == 1)
			zegel_strf(what, sizeof(what), "malformed record at _mta-sts.%s: %s",
			    q->domain, bad);
		else
			zegel_strf(what, sizeof(what), "no MTA-STS record at _mta-sts.%s", q->domain);
		use_cache_or_none(q, what);
		return;
	}
	if (q->cached_ok && !q->force && strcmp(q->pol.id, q->txt_id) == 0 &&
	    !sts_expired(&q->pol, (int64_t)hal_clock_now())) {
		q->have = true;
		q->src = STS_SRC_CACHE;
		zegel_strf(q->why, sizeof(q->why), "cached policy, id %s unchanged", q->txt_id);
		finish(q);
		return;
	}
	/* new id, expired or no cache: fetch (3.3) */
	zegel_strf(q->host, sizeof(q->host), "mta-sts.%s", q->domain);
	q->step = S_ADDR;
	n = hostaddr_now(q->host, q->port, q->addrs, STS_ADDRS_MAX, what, sizeof(what));
	if (n > 0) {
		q->naddr = (unsigned)n;
		q->step = S_FETCH;
		fetch_next(q);
		return;
	}
	if (n < 0 || hostaddr_start(&q->ha, q->host, q->port, q->addrs, STS_ADDRS_MAX,
	    on_addr, q) < 0) {
		char t[240];

		q->fetch_failed = true;
		zegel_strf(t, sizeof(t), "policy fetch from %s failed: %s", q->host,
		    n < 0 ? what : q->ha.err);
		use_cache_or_none(q, t);
	}
}

static void
on_addr(void *arg, struct hostaddr_req *ha)
{
	struct sts_req *q = arg;
	char what[240];

	if (ha->n <= 0) {
		q->fetch_failed = true;
		zegel_strf(what, sizeof(what), "policy fetch from %s failed: %s", q->host,
		    ha->err[0] ? ha->err : "no address");
		use_cache_or_none(q, what);
		return;
	}
	q->naddr = (unsigned)ha->n;
	q->ai = 0;
	q->step = S_FETCH;
	fetch_next(q);
}

/* ------------------------------------------------------------ HTTPS */

static void
fetch_failed(struct sts_req *q, const char *why)
{
	char ip[HAL_ADDR_STRLEN];

	hal_addr_format(&q->addrs[q->ai - 1], true, ip, sizeof(ip));
	zegel_strf(q->fail, sizeof(q->fail), "%s[%s]: %s", q->host, ip, why);
	stream_close(q);
	fetch_next(q);
}

static void
fetched(struct sts_req *q)
{
	q->pol = q->parser.pol;
	memcpy(q->pol.id, q->txt_id, sizeof(q->pol.id));
	q->pol.fetched = (int64_t)hal_clock_now();
	q->have = true;
	q->src = STS_SRC_FETCHED;
	zegel_strf(q->why, sizeof(q->why), "policy fetched from https://%s%s, id %s", q->host,
	    STS_HTTP_PATH, q->txt_id);
	cache_store(q);
	finish(q);
}

/* Response bytes (or the end of the stream) into the HTTP machine, the body
 * into the policy parser. A BODY event is always followed by another push,
 * even of nothing: a Content-Length or chunked body reports DONE only then,
 * and a server that keeps the connection open must not make us wait for
 * the close. true when the fetch is over (fetched or failed). */
static bool
http_feed(struct sts_req *q, const uint8_t *p, size_t n, bool eof)
{
	size_t off = 0;

	for (;;) {
		off += sts_http_push(&q->http, p ? p + off : p, n - off);
		if (q->http.ev == STS_HTTP_EV_BODY) {
			if (sts_parser_push(&q->parser, q->http.body, q->http.body_len) < 0) {
				q->fail_kind = STS_FAIL_INVALID;
				fetch_failed(q, q->parser.why);
				return true;
			}
			continue;
		}
		if (q->http.ev == STS_HTTP_EV_NONE && eof)
			sts_http_eof(&q->http);
		if (q->http.ev == STS_HTTP_EV_ERROR) {
			q->fail_kind = STS_FAIL_FETCH;
			fetch_failed(q, q->http.why);
			return true;
		}
		if (q->http.ev == STS_HTTP_EV_DONE) {
			if (sts_parser_finish(&q->parser) < 0) {
				q->fail_kind = STS_FAIL_INVALID;
				fetch_failed(q, q->parser.why);
			} else {
				fetched(q);
			}
			return true;
		}
		return false; /* NONE: all of p taken, more to come */
	}
}

/* Move the TLS session on: handshake, request, response. */
static void
pump(struct sts_req *q)
{
	uint8_t buf[1024];

	if (loop_now_ms() - q->started_ms > STS_FETCH_MAX_MS) {
		fetch_failed(q, "took longer than 60 s");
		return;
	}
	if (!q->tls.handshaken) {
		int r = tls_client_handshake(&q->tls);

		if (r == TLS_CLIENT_AGAIN)
			return;
		if (r < 0) {
			/* RFC 8460 4.3.2.2: the policy host's certificate */
			q->fail_kind = q->tls.kind == TLS_FAIL_UNTRUSTED || q->tls.kind == TLS_FAIL_NAME ||
			    q->tls.kind == TLS_FAIL_EXPIRED || q->tls.kind == TLS_FAIL_CERT
			    ? STS_FAIL_WEBPKI : STS_FAIL_FETCH;
			fetch_failed(q, tls_client_why(&q->tls));
			return;
		}
	}
	while (q->req_off < q->req_len) {
		ssize_t w = tls_client_write(&q->tls, (const uint8_t *)q->req + q->req_off,
		    q->req_len - q->req_off);

		if (w == TLS_CLIENT_AGAIN)
			break;
		if (w < 0) {
			fetch_failed(q, tls_client_why(&q->tls));
			return;
		}
		q->req_off += (size_t)w;
	}
	for (;;) {
		ssize_t r = tls_client_read(&q->tls, buf, sizeof(buf));

		if (r == TLS_CLIENT_AGAIN)
			return;
		if (r == TLS_CLIENT_EOF || r == 0) {
			http_feed(q, NULL, 0, true);
			return;
		}
		if (r < 0) {
			/* RFC 8460 4.3.2.2: the policy host's certificate */
			q->fail_kind = q->tls.kind == TLS_FAIL_UNTRUSTED || q->tls.kind == TLS_FAIL_NAME ||
			    q->tls.kind == TLS_FAIL_EXPIRED || q->tls.kind == TLS_FAIL_CERT
			    ? STS_FAIL_WEBPKI : STS_FAIL_FETCH;
			fetch_failed(q, tls_client_why(&q->tls));
			return;
		}
		if (http_feed(q, buf, (size_t)r, false))
			return;
	}
}

static size_t
s_rx_space(void *arg, uint8_t **p)
{
	struct sts_req *q = arg;

	return q->tls_live ? tls_client_rx_space(&q->tls, p) : 0;
}

static void
s_rx_done(void *arg, size_t n)
{
	struct sts_req *q = arg;

	if (n == 0) {
		if (!q->tls.handshaken) {
			fetch_failed(q, "connection closed in the TLS handshake");
			return;
		}
		(void)http_feed(q, NULL, 0, true);
		return;
	}
	tls_client_rx_done(&q->tls, n);
	pump(q);
}

static size_t
s_tx_data(void *arg, const uint8_t **p)
{
	struct sts_req *q = arg;

	return q->tls_live ? tls_client_tx_data(&q->tls, p) : 0;
}

static void
s_tx_done(void *arg, size_t n)
{
	struct sts_req *q = arg;

	tls_client_tx_done(&q->tls, n);
	pump(q);
}

static void
s_event(void *arg, enum loop_event ev, int err)
{
	struct sts_req *q = arg;

	if (ev == LOOP_EV_CONNECTED) {
		pump(q);
		return;
	}
	fetch_failed(q, ev == LOOP_EV_TIMEOUT ? "timed out" : strerror(err < 0 ? -err : EIO));
}

static const struct loop_stream_ops sts_stream_ops = {
	.rx_space = s_rx_space,
	.rx_done = s_rx_done,
	.tx_data = s_tx_data,
	.tx_done = s_tx_done,
	.event = s_event,
};

static void
fetch_next(struct sts_req *q)
{
	char what[240];

	while (q->ai < q->naddr) {
		const struct hal_addr *a = &q->addrs[q->ai++];

		sts_http_init(&q->http);
		sts_parser_init(&q->parser, false);
		q->fail_kind = STS_FAIL_FETCH; /* until this address says otherwise */
		q->req_off = 0;
		q->req_len = sts_http_request(q->host, q->req, sizeof(q->req));
		if (tls_client_start(&q->tls, q->cc, q->host) < 0) {
			zegel_strf(q->fail, sizeof(q->fail), "%s", tls_client_why(&q->tls));
			tls_client_free(&q->tls);
			continue;
		}
		q->tls_live = true;
		q->h = loop_connect(a, &sts_stream_ops, q);
		if (q->h < 0) {
			zegel_strf(q->fail, sizeof(q->fail), "%s: cannot connect: %s", q->host,
			    strerror(-q->h));
			q->h = -1;
			stream_close(q);
			continue;
		}
		loop_set_idle_timeout(q->h, STS_FETCH_IDLE_MS);
		q->started_ms = loop_now_ms();
		return;
	}
	q->fetch_failed = true;
	zegel_strf(what, sizeof(what), "policy fetch failed: %s", q->fail);
	use_cache_or_none(q, what);
}

/* ------------------------------------------------------------ start */

int
sts_start(struct sts_req *q, const char *domain, const char *data_dir,
    const struct tls_client_conf *cc, sts_done_fn done, void *arg)
{
	char name[ZCFG_NAME_MAX + 16];
	uint16_t port = q->port ? q->port : 443;
	bool force = q->force;

	memset(q, 0, sizeof(*q));
	q->dns_id = q->timer = q->h = -1;
	q->port = port;
	q->force = force;
	q->cc = cc;
	q->done = done;
	q->arg = arg;
	zegel_strf(q->domain, sizeof(q->domain), "%s", domain);
	zegel_strf(q->data_dir, sizeof(q->data_dir), "%s", data_dir ? data_dir : "");
	q->busy = true;
	cache_load(q);
	zegel_strf(name, sizeof(name), "_mta-sts.%s", q->domain);
	q->step = S_TXT;
	q->dns_id = resolver_lookup(name, DNS_T_TXT, on_txt, q);
	if (q->dns_id < 0) {
		q->busy = false;
		zegel_strf(q->why, sizeof(q->why), "DNS resolver busy");
		return -1;
	}
	return 0;
}

void
sts_cancel(struct sts_req *q)
{
	if (!q->busy)
		return;
	if (q->dns_id >= 0)
		resolver_cancel(q->dns_id);
	q->dns_id = -1;
	if (q->step == S_ADDR)
		hostaddr_cancel(&q->ha);
	if (q->timer >= 0)
		loop_timer_cancel(q->timer);
	q->timer = -1;
	stream_close(q);
	q->busy = false;
}

/* ------------------------------------------------------------ the MX hosts */

enum sts_host
sts_host_check(const struct sts_req *q, const char *mx, char *why, size_t cap)
{
	why[0] = '\0';
	if (!q->have || q->pol.mode == STS_MODE_NONE)
		return STS_HOST_FREE;
	if (sts_mx_match(&q->pol, mx))
		return q->pol.mode == STS_MODE_ENFORCE ? STS_HOST_PKIX : STS_HOST_FREE;
	zegel_strf(why, cap, "MX %s does not match the MTA-STS policy of %s (mode %s, "
	    "id %s)", mx, q->domain, sts_mode_str(q->pol.mode), q->pol.id);
	return q->pol.mode == STS_MODE_ENFORCE ? STS_HOST_REFUSE : STS_HOST_REPORT;
}
