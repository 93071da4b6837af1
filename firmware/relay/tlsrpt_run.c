/*
 * TLS-RPT on the event loop: today's counters on storage, the report job,
 * the console (tlsrpt_run.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/dns/wire.h"
#include "firmware/keys/sign.h"
#include "firmware/relay/tlsrpt_record.h"
#include "firmware/relay/tlsrpt_run.h"
#include "firmware/spool/dsn.h"
#include "firmware/spool/queue.h"
#include "hal/clock.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/gzip.h"
#include "zegel/text.h"

#define LOGM "tlsrpt"
#define JOB_FILES 16            /* period files per run of the job */
#define JSON_MAX 24576
#define MAIL_MAX (JSON_MAX * 4 / 3 + 4096)

static const struct zcfg *rcfg;
static bool on;
static char dir[ZCFG_PATH_MAX + 16];
static struct tlsrpt_day today;         /* today.start 0: not loaded */
static int day_timer = -1;
static char filebuf[TLSRPT_FILE_MAX];

/* the report job */
static struct {
	bool running;
	char files[JOB_FILES][40];
	unsigned nfiles, fi;
	struct tlsrpt_day rep;
	unsigned pi;            /* row of rep whose domain is being reported */
	int dns_id;
	unsigned sent, skipped;
} job;                  /* zero: in .bss, not in the image (dns_id: job_start) */

/* The JSON text is built in filebuf (free while send_report() runs: it is
 * synchronous, nothing writes today's file meanwhile). */
#define json filebuf
_Static_assert(TLSRPT_FILE_MAX >= JSON_MAX, "the JSON text fits in filebuf");
static uint8_t gz[JSON_MAX + 64];
static char mail[MAIL_MAX];
static struct keys_sign sg;
static uint8_t sig[4096];

static void job_next(void);

static int64_t
now_s(void)
{
	return (int64_t)hal_clock_now();
}

static int64_t
day_of(int64_t t)
{
	return t - (t % 86400 + 86400) % 86400;
}

static void
ymd(int64_t t, char out[16])
{
	char dt[24];

	tlsrpt_datetime(t, dt); /* YYYY-MM-DDTHH:MM:SSZ */
	snprintf(out, 16, "%.4s%.2s%.2s", dt, dt + 5, dt + 8);
}

static void
day_path(int64_t start, char *out, size_t cap)
{
	char d[16];

	ymd(start, d);
	zegel_strf(out, cap, "%s/day-%s", dir, d);
}

bool
tlsrpt_enabled(void)
{
	return on;
}

/* ------------------------------------------------------------ today */

static int
load(const char *path, struct tlsrpt_day *d)
{
	size_t len = 0;
	int rc = hal_storage_get(path, filebuf, sizeof(filebuf), &len);

	if (rc < 0)
		return rc;
	if (tlsrpt_day_parse(d, filebuf, len) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "%s: not a TLS-RPT counter file; ignored", path);
		return -EINVAL;
	}
	return 0;
}

static void
today_load(int64_t start)
{
	char path[sizeof(dir) + 24];

	day_path(start, path, sizeof(path));
	if (hal_storage_exists(path) != 1 || load(path, &today) < 0 || today.start != start ||
	    today.end != 0)
		tlsrpt_day_init(&today, start);
}

static void
today_save(void)
{
	char path[sizeof(dir) + 24];
	size_t n;

	day_path(today.start, path, sizeof(path));
	n = tlsrpt_day_format(&today, filebuf, sizeof(filebuf));
	if (n == 0 || hal_storage_mkdirs(dir, 0700) < 0 || hal_storage_put(path, filebuf, n, 0600) < 0)
		hal_log(HAL_LOG_WARN, LOGM, "cannot write %s: today's TLS-RPT counters are "
		    "only in memory", path);
}

void
tlsrpt_note(const struct tlsrpt_sess *s)
{
	int64_t d;
	enum tlsrpt_add r;

	if (!on || dir[0] == '\0')
		return;
	d = day_of(now_s());
	if (today.start != d)
		today_load(d); /* a new day: the old file waits for the report job */
	r = tlsrpt_day_add(&today, s);
	if (r == TLSRPT_NO_ROW)
		hal_log(HAL_LOG_WARN, LOGM, "%s: not counted: already %u policy domains today "
		    "(%lu sessions dropped)", s->domain, TLSRPT_DOMAINS_MAX,
		    (unsigned long)today.dropped_sessions);
	else if (r == TLSRPT_NO_DETAIL)
		hal_log(HAL_LOG_WARN, LOGM, "%s: %s counted without its failure details: "
		    "already %u rows (%lu dropped today)", s->domain, tlsrpt_result_str(s->result),
		    TLSRPT_DETAILS_MAX, (unsigned long)today.dropped_details);
	hal_log(HAL_LOG_DEBUG, LOGM, "%s: %s %s%s%s", s->domain, tlsrpt_ptype_str(s->ptype),
	    tlsrpt_result_str(s->result), s->mx && s->mx[0] ? " at " : "", s->mx ? s->mx : "");
	today_save();
}

/* ------------------------------------------------------------ report job */

static int
list_cb(void *arg, const char *name)
{
	const char *todays = arg;

	if (job.nfiles >= JOB_FILES)
		return 0;
	if ((strncmp(name, "day-", 4) == 0 && strlen(name) == 12 && strcmp(name, todays) != 0) ||
	    (strncmp(name, "rep-", 4) == 0 && strlen(name) == 19))
		zegel_strf(job.files[job.nfiles++], sizeof(job.files[0]), "%s", name);
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
random_hex(char *out, size_t bytes)
{
	uint8_t r[16];

	if (bytes > sizeof(r))
		bytes = sizeof(r);
	if (hal_entropy_fill(r, bytes) < 0)
		memset(r, 0, sizeof(r));
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static const char *
host(void)
{
	return rcfg != NULL && rcfg->hostname[0] ? rcfg->hostname : "localhost";
}

/* Sign mail[0..n) for the host name's domain: the DKIM-Signature fields in
 * sig, their length (0: unsigned, logged). */
static size_t
sign_report(size_t n)
{
	const struct zcfg_domain *dom = config_domain_for(rcfg, host());
	const char *why = "";
	size_t len = 0;

	if (dom == NULL) {
		hal_log(HAL_LOG_WARN, LOGM, "report not DKIM-signed: the host name %s is not "
		    "under a signing domain (set domain)", host());
		return 0;
	}
	if (keys_sign_begin(&sg, rcfg, dom, &why) < 0 ||
	    keys_sign_push(&sg, (const uint8_t *)mail, n) < 0 ||
	    keys_sign_finish(&sg, now_s(), sig, sizeof(sig), &len, NULL, NULL, &why) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "report not DKIM-signed: %s",
		    why && why[0] ? why : "signer error");
		keys_sign_free(&sg);
		return 0;
	}
	return len;
}

/* Build, sign and queue the report of rep's rows for domain to the
 * addresses; 0 or -1 (logged). */
static int
send_report(const char *domain, const char *const *to, unsigned nto)
{
	char rid[ZCFG_NAME_MAX + 64], d[16], rnd[33], bound[40], date[40], path[sizeof(dir) + 16];
	char rcpts[TLSRPT_RUA_MAX * TLSRPT_URI_MAX], qid[QUEUE_ID_MAX];
	const struct tlsrpt_day *r = &job.rep;
	struct tlsrpt_meta meta;
	struct tlsrpt_mail m;
	struct queue_new qn;
	size_t jl, gl, ml, sl, off = 0;
	char contact[ZCFG_NAME_MAX + 16];
	int rc;

	ymd(r->start, d);
	random_hex(rnd, 8);
	zegel_strf(rid, sizeof(rid), "%s.%s.%s@%s", d, rnd, domain, host());
	zegel_strf(contact, sizeof(contact), "postmaster@%s", host());
	meta.org = rcfg->tlsrpt.org[0] ? rcfg->tlsrpt.org : host();
	meta.contact = rcfg->tlsrpt.contact[0] ? rcfg->tlsrpt.contact : contact;
	meta.report_id = rid;
	jl = tlsrpt_json(r, domain, &meta, json, JSON_MAX);
	gl = jl ? zgz_write(json, jl, (uint32_t)now_s(), gz, sizeof(gz)) : 0;
	random_hex(rnd, 12);
	zegel_strf(bound, sizeof(bound), "tlsrpt-%s", rnd);
	dsn_date(now_s(), date);
	m = (struct tlsrpt_mail){ .submitter = host(), .domain = domain, .report_id = rid,
		.to = to, .nto = nto, .date = date, .boundary = bound, .start = r->start,
		.end = tlsrpt_day_last(r), .gz = gz, .gzlen = gl };
	ml = gl ? tlsrpt_mail_write(&m, mail, sizeof(mail)) : 0;
	if (ml == 0) {
		hal_log(HAL_LOG_WARN, LOGM, "report for %s not sent: larger than %u octets",
		    domain, (unsigned)JSON_MAX);
		return -1;
	}
	sl = sign_report(ml);
	for (unsigned i = 0; i < nto; i++) {
		size_t l = strlen(to[i]) + 1;
		memcpy(rcpts + off, to[i], l);
		off += l;
	}
	zegel_strf(path, sizeof(path), "%s/msg.tmp", dir);
	if (hal_storage_put(path, mail, ml, 0600) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "report for %s not sent: cannot write %s", domain, path);
		return -1;
	}
	qn = (struct queue_new){ .mail_from = "", .rcpts = rcpts, .nrcpt = nto,
		.spool_path = path, .spool_size = ml, .prefix = sig, .prefix_len = sl,
		.now = now_s() };
	rc = queue_admit(ml + sl);
	if (rc == 0)
		rc = queue_commit(&qn, qid);
	if (rc < 0) {
		(void)hal_storage_remove(path);
		hal_log(HAL_LOG_WARN, LOGM, "report for %s not sent: queue: %s", domain, strerror(-rc));
		return -1;
	}
	hal_log(HAL_LOG_INFO, LOGM, "report %s for %s (%u octets gzip, %s) queued as %s to <%s>%s",
	    rid, domain, (unsigned)gl, sl ? "DKIM-signed" : "unsigned", qid, to[0],
	    nto > 1 ? " and more" : "");
	return 0;
}

static void
on_txt(void *arg, const struct dns_result *res)
{
	const char *domain = job.rep.pol[job.pi].domain;
	static struct tlsrpt_rec rec, one;
	static char addrs[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
	const char *to[TLSRPT_RUA_MAX];
	char txt[1024];
	unsigned nrec = 0, nto = 0, https = 0;
	bool malformed = false;

	(void)arg;
	job.dns_id = -1;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		hal_log(HAL_LOG_WARN, LOGM, "report for %s not sent: TXT _smtp._tls.%s is %s: %s",
		    domain, domain, dns_status_str(res->status), res->reason);
		job.skipped++;
		goto next;
	}
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		size_t full;
		int v;

		if (rr->type != DNS_T_TXT)
			continue;
		dns_txt_join(res->data + rr->rd_off, rr->rdlen, txt, sizeof(txt), &full);
		tlsrpt_rec_init(&rec);
		(void)tlsrpt_rec_push(&rec, (const uint8_t *)txt, strlen(txt));
		v = tlsrpt_rec_finish(&rec);
		if (v == 0)
			continue;
		nrec++;
		if (v < 0 || full >= sizeof(txt)) {
			malformed = true;
			hal_log(HAL_LOG_INFO, LOGM, "%s: malformed record at _smtp._tls.%s: %s",
			    domain, domain, v < 0 ? rec.why : "too long");
		} else {
			one = rec;
		}
	}
	if (nrec != 1 || malformed) {
		/* RFC 8460 3: not exactly one record: no reporting */
		hal_log(HAL_LOG_INFO, LOGM, "no report for %s: %s", domain,
		    nrec > 1 ? "more than one v=TLSRPTv1 record (RFC 8460 3: none used)"
			     : nrec == 1 ? "its record is malformed" : "no _smtp._tls record");
		job.skipped++;
		goto next;
	}
	for (unsigned i = 0; i < one.nrua; i++) {
		if (tlsrpt_mailto(one.rua[i], addrs[nto], sizeof(addrs[0])) == 0)
			to[nto] = addrs[nto], nto++;
		else if (strncasecmp(one.rua[i], "https:", 6) == 0)
			https++;
		else
			hal_log(HAL_LOG_INFO, LOGM, "%s: rua %s not used (only mailto: and https:)",
			    domain, one.rua[i]);
	}
	if (https)
		hal_log(HAL_LOG_INFO, LOGM, "%s: %u https: rua not used (zegel reports by mail only)",
		    domain, https);
	if (nto == 0) {
		hal_log(HAL_LOG_INFO, LOGM, "no report for %s: no usable mailto: rua", domain);
		job.skipped++;
		goto next;
	}
	if (send_report(domain, to, nto) == 0)
		job.sent++;
	else
		job.skipped++;
next:
	job.pi++;
	job_next();
}

/* The next domain of the current file, else the next file. */
static void
job_next(void)
{
	char path[sizeof(dir) + 48], name[ZCFG_NAME_MAX + 16];

	for (;;) {
		if (job.fi < job.nfiles && job.rep.start != 0) {
			/* the next row whose domain was not reported yet */
			while (job.pi < job.rep.npol) {
				bool seen = false;

				for (unsigned i = 0; i < job.pi; i++)
					if (strcmp(job.rep.pol[i].domain, job.rep.pol[job.pi].domain) == 0)
						seen = true;
				if (!seen)
					break;
				job.pi++;
			}
			if (job.pi < job.rep.npol) {
				zegel_strf(name, sizeof(name), "_smtp._tls.%s", job.rep.pol[job.pi].domain);
				job.dns_id = resolver_lookup(name, DNS_T_TXT, on_txt, NULL);
				if (job.dns_id >= 0)
					return;
				hal_log(HAL_LOG_WARN, LOGM, "resolver busy: reports wait for the next run");
				job.running = false;
				return;
			}
			/* every domain of this period done */
			zegel_strf(path, sizeof(path), "%s/%s", dir, job.files[job.fi]);
			if (hal_storage_remove(path) < 0)
				hal_log(HAL_LOG_WARN, LOGM, "cannot remove %s: it will be reported again",
				    path);
			job.fi++;
			job.rep.start = 0;
			continue;
		}
		if (job.fi >= job.nfiles) {
			hal_log(HAL_LOG_INFO, LOGM, "report run done: %u report(s) queued, %u domain(s) "
			    "without a report", job.sent, job.skipped);
			job.running = false;
			return;
		}
		zegel_strf(path, sizeof(path), "%s/%s", dir, job.files[job.fi]);
		job.pi = 0;
		if (load(path, &job.rep) < 0 || job.rep.start == 0) {
			hal_log(HAL_LOG_WARN, LOGM, "%s: unreadable, skipped (left in place)", path);
			job.fi++;
			job.rep.start = 0;
			continue;
		}
	}
}

static void
job_start(void)
{
	char todays[16], d[16];

	if (job.running || dir[0] == '\0')
		return;
	if (!queue_is_open()) {
		hal_log(HAL_LOG_WARN, LOGM, "reports wait: the delivery queue is not open "
		    "(relay direct)");
		return;
	}
	ymd(day_of(now_s()), d);
	zegel_strf(todays, sizeof(todays), "day-%s", d);
	memset(&job, 0, sizeof(job));
	job.dns_id = -1;
	if (hal_storage_list(dir, list_cb, todays) < 0 || job.nfiles == 0)
		return;
	qsort(job.files, job.nfiles, sizeof(job.files[0]), cmp_name);
	job.running = true;
	hal_log(HAL_LOG_INFO, LOGM, "report run: %u period(s) to report", job.nfiles);
	job_next();
}

/* ------------------------------------------------------------ schedule */

static void arm(void);

static void
on_day(void *arg)
{
	(void)arg;
	day_timer = -1;
	if (on)
		job_start();
	arm();
}

/* After the next UTC midnight, 1 to 5 minutes late (random: reporters
 * should not all send at 00:00, RFC 8460 4.1 leaves the time open). */
static void
arm(void)
{
	uint8_t r[2] = { 0, 0 };
	int64_t now = now_s(), due;

	if (day_timer >= 0)
		loop_timer_cancel(day_timer);
	day_timer = -1;
	if (!on)
		return;
	(void)hal_entropy_fill(r, sizeof(r));
	due = day_of(now) + 86400 + 60 + (r[0] << 8 | r[1]) % 241;
	day_timer = loop_timer_add((uint32_t)(due - now) * 1000u, on_day, NULL);
}

void
tlsrpt_configure(const struct zcfg *cfg)
{
	bool was = on;
	char old[sizeof(dir)];

	rcfg = cfg;
	memcpy(old, dir, sizeof(old));
	zegel_strf(dir, sizeof(dir), "%s/tlsrpt", cfg->data_dir);
	on = cfg->tlsrpt.on;
	if (strcmp(old, dir) != 0 || !was)
		today.start = 0; /* loaded again at the next note */
	if (on && today.start == 0)
		today_load(day_of(now_s()));
	if (on != was || day_timer < 0)
		arm();
	if (on && !was)
		job_start(); /* periods left from before (a stop over midnight) */
}

void
tlsrpt_stop(void)
{
	if (day_timer >= 0)
		loop_timer_cancel(day_timer);
	day_timer = -1;
	if (job.running && job.dns_id >= 0)
		resolver_cancel(job.dns_id);
	job.dns_id = -1;
	job.running = false;
}

int
tlsrpt_send_now(char *err, size_t cap)
{
	char path[sizeof(dir) + 48], d[16], dt[24];
	int64_t now = now_s();

	if (!on) {
		zegel_strf(err, cap, "TLS-RPT is off (set tlsrpt on)");
		return -1;
	}
	if (job.running) {
		zegel_strf(err, cap, "a report run is going on; try again when it is done");
		return -1;
	}
	if (today.start != day_of(now))
		today_load(day_of(now));
	if (today.npol > 0) {
		/* today so far becomes a closed period, ending now */
		size_t n;

		today.end = now > today.start ? now : today.start;
		ymd(today.start, d);
		tlsrpt_datetime(now, dt);
		zegel_strf(path, sizeof(path), "%s/rep-%s-%.2s%.2s%.2s", dir, d, dt + 11, dt + 14,
		    dt + 17);
		n = tlsrpt_day_format(&today, filebuf, sizeof(filebuf));
		if (n == 0 || hal_storage_mkdirs(dir, 0700) < 0 ||
		    hal_storage_put(path, filebuf, n, 0600) < 0) {
			today.end = 0;
			zegel_strf(err, cap, "cannot write %s", path);
			return -1;
		}
		tlsrpt_day_init(&today, now);
		day_path(today.start, path, sizeof(path));
		(void)hal_storage_remove(path);
	}
	job_start();
	return 0;
}

/* ------------------------------------------------------------ console */

static int
show_tlsrpt(struct console *c, int argc, char **argv, const char *line)
{
	char dt[24];

	(void)argc;
	(void)argv;
	(void)line;
	if (!on) {
		console_puts(c, zcfg_running()->tlsrpt.on
		    ? "tlsrpt: on, but only direct delivery is counted and reported (set relay direct)"
		    : "tlsrpt: off (set tlsrpt on: daily SMTP TLS reports, RFC 8460)");
		return 0;
	}
	if (today.start != day_of(now_s()))
		today_load(day_of(now_s()));
	tlsrpt_datetime(today.start, dt);
	console_printf(c, "tlsrpt: on; today %.10s (UTC): %u policy row(s)%s", dt, today.npol,
	    job.running ? "; a report run is going on" : "");
	if (today.dropped_sessions || today.dropped_details)
		console_printf(c, "tlsrpt: dropped today: %lu sessions (table full), %lu failure "
		    "details", (unsigned long)today.dropped_sessions,
		    (unsigned long)today.dropped_details);
	for (unsigned i = 0; i < today.npol; i++) {
		const struct tlsrpt_pol *p = &today.pol[i];

		console_printf(c, "tlsrpt: %s %s: %lu successful, %lu failed", p->domain,
		    tlsrpt_ptype_str(p->ptype), (unsigned long)p->ok, (unsigned long)p->fail);
		for (unsigned k = 0; k < p->ndet; k++)
			console_printf(c, "tlsrpt:   %s %lu mx=%s ip=%s from=%s",
			    tlsrpt_result_str(p->det[k].result), (unsigned long)p->det[k].count,
			    p->det[k].mx[0] ? p->det[k].mx : "-",
			    p->det[k].receiving_ip[0] ? p->det[k].receiving_ip : "-",
			    p->det[k].sending_ip[0] ? p->det[k].sending_ip : "-");
	}
	return 0;
}

static int
send_now(struct console *c, int argc, char **argv, const char *line)
{
	char err[200];

	(void)argc;
	(void)argv;
	(void)line;
	if (tlsrpt_send_now(err, sizeof(err)) < 0) {
		console_printf(c, "tlsrpt send-now: %s", err);
		return 1;
	}
	console_puts(c, "tlsrpt send-now: today's counters closed; reports go out in the "
	    "background (see the log)");
	return 0;
}

static const struct console_cmd tlsrpt_cmds[] = {
	{ "show tlsrpt", "", "today's TLS-RPT counters (RFC 8460) per policy domain", show_tlsrpt },
	{ "tlsrpt send-now", "", "close today's TLS-RPT counters and send the reports now",
	    send_now },
};

int
tlsrpt_console_register(void)
{
	return console_register(tlsrpt_cmds, sizeof(tlsrpt_cmds) / sizeof(tlsrpt_cmds[0]));
}
