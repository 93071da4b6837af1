/*
 * Taking a message into the queue and signing the queue's DSNs: shared by
 * the direct target and the smarthost queue (queued.h).
 */
#include <errno.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/keys/sign.h"
#include "firmware/relay/queued.h"
#include "firmware/spool/queue.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "zegel/text.h"

#define LOGM "relay"

void
queued_accept(const struct handoff_msg *m, bool running, handoff_done_fn done, void *arg)
{
	struct handoff_result res;
	struct queue_new qn;
	char id[QUEUE_ID_MAX], text[120];
	int rc;

	if (!running) {
		handoff_result_set(&res, 451, "4.3.0", "Queue not available; try again later");
		done(arg, &res);
		return;
	}
	if (queue_admit(m->size) < 0) {
		handoff_result_set(&res, 452, "4.3.1", "Queue full; try again later");
		hal_log(HAL_LOG_WARN, LOGM, "%s: queue full (%llu octets refused)", m->id,
		    (unsigned long long)m->size);
		done(arg, &res);
		return;
	}
	qn = (struct queue_new){
		.mail_from = m->mail_from,
		.rcpts = m->rcpts,
		.nrcpt = m->nrcpt,
		.spool_path = m->spool_path,
		.spool_size = m->size - m->prefix_len,
		.prefix = m->prefix,
		.prefix_len = m->prefix_len,
		.body_8bit = m->body_8bit,
		.smtputf8 = m->smtputf8,
		.requiretls = m->requiretls,
		.tls_required_no = m->tls_required_no,
		.now = (int64_t)hal_clock_now(),
	};
	rc = queue_commit(&qn, id);
	if (rc < 0) {
		handoff_result_set(&res, rc == -ENOSPC ? 452 : 451, rc == -ENOSPC ? "4.3.1" : "4.3.0",
		    rc == -ENOSPC ? "Queue full; try again later"
				  : "Local error in processing (queue); try again later");
		hal_log(HAL_LOG_ERR, LOGM, "%s: queue commit failed: %s", m->id, strerror(-rc));
		done(arg, &res);
		return;
	}
	hal_log(HAL_LOG_INFO, LOGM, "%s: queued as %s, nrcpt=%u", m->id, id, m->nrcpt);
	zegel_strf(text, sizeof(text), "queued as %s", id);
	handoff_result_set(&res, 250, "2.0.0", text);
	done(arg, &res); /* queue_commit() woke the delivery side */
}

/* ------------------------------------------------------------ DSN signing */

static struct keys_sign dsn_sg;
static const struct zcfg *scfg;

static int
dsn_put(void *parg, const void *p, size_t n)
{
	return keys_sign_push(parg, p, n);
}

static int
dsn_sign(void *arg, const char *domain, queue_gen_fn gen, void *gctx, uint8_t *out, size_t cap,
    size_t *len)
{
	const struct zcfg_domain *dom;
	const char *why = "";

	(void)arg;
	*len = 0;
	if (scfg == NULL || (dom = config_domain_for(scfg, domain)) == NULL)
		return -ENOENT;
	if (keys_sign_begin(&dsn_sg, scfg, dom, &why) < 0 || gen(gctx, dsn_put, &dsn_sg) != 0 ||
	    keys_sign_finish(&dsn_sg, (int64_t)hal_clock_now(), out, cap, len, NULL, NULL,
		&why) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "notification from %s not signed: %s", domain,
		    why && why[0] ? why : "signer error");
		keys_sign_free(&dsn_sg); /* gen() failed mid-message: its hashes */
		*len = 0;
		return -EIO;
	}
	return 0;
}

void
queued_dsn_signer(const struct zcfg *cfg)
{
	scfg = cfg;
	queue_set_dsn_signer(dsn_sign, NULL);
}
