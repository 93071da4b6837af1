/*
 * The network process's side of privilege separation (privsep.h): the fork
 * of the key holder, the keys door and the backend of its keys, whose
 * sign() is a request over the socketpair. The SMTP sessions' signatures
 * go through the door's sign_start() (issue 22): the request is sent, the
 * event loop goes on, and the answer (matched by its id) resumes the
 * session from on_holder_fd(). Everything else (load, generate, free, the
 * seal, and sign() of the queue's DSNs) waits for its answer; signatures
 * answered meanwhile are kept and delivered from a timer, never from
 * inside such a wait.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dkim/dkim.h"
#include "firmware/core/loop.h"
#include "firmware/keys/keys.h"
#include "firmware/privsep/msg.h"
#include "firmware/privsep/privsep.h"
#include "hal/crypto.h"
#include "hal/log.h"

#define LOGM "privsep"
#define PROXIES (2 * CONFIG_CFG_MAX_KEYS + 4)
/* every session's final dot at once, each with all its signatures */
#define INFLIGHT (CONFIG_MAX_SESSIONS * DKIM_MAX_SIGS)

/* What this process knows of a key in the key holder. */
struct proxy {
	bool used;
	uint16_t slot;
	uint16_t publen;
	uint8_t pub[PRIVSEP_PUB_MAX];
};

/* A signature started by sign_start() whose answer has not come. */
struct flight {
	bool used, ready, cancelled;
	uint32_t id;
	keys_sig_done_fn done;
	void *arg;
	unsigned idx;
	int rc;
	uint16_t len;
	uint8_t sig[PRIVSEP_SIG_MAX];
};

static struct proxy proxies[PROXIES];
static struct flight flights[INFLIGHT];
static unsigned nflight;
static uint32_t next_id = 1;
static int ps_fd = -1;
static pid_t holder;
static int deliver_timer = -1;

static void deliver(void *arg);

pid_t
privsep_holder_pid(void)
{
	return holder;
}

/* The key holder is gone (killed, crashed): this process cannot sign and
 * must not go on as if it could; init starts both again. */
static void
holder_gone(const char *what)
{
	int st = 0;
	pid_t p = holder > 0 ? waitpid(holder, &st, WNOHANG) : 0;

	if (p == holder && WIFSIGNALED(st))
		fprintf(stderr, "zegel: key holder (pid %ld) killed by signal %d (%s): stopping\n",
		    (long)holder, WTERMSIG(st), what);
	else
		fprintf(stderr, "zegel: key holder (pid %ld) is gone (%s): stopping\n",
		    (long)holder, what);
	_exit(3);
}

/* An answer to a started signature: kept until deliver(). */
static bool
flight_answer(const struct privsep_msg *r)
{
	for (unsigned i = 0; i < INFLIGHT; i++) {
		struct flight *f = &flights[i];

		if (!f->used || f->ready || f->id != r->id)
			continue;
		f->ready = true;
		if (r->type == PRIVSEP_RESP_SIG && r->status == 0) {
			f->rc = 0;
			f->len = r->len;
			memcpy(f->sig, r->data, r->len);
		} else {
			f->rc = r->status < 0 ? r->status : -EBADMSG;
		}
		return true;
	}
	return false;
}

/* Hand the answered signatures to their sessions (from the loop). */
static void
deliver(void *arg)
{
	static uint8_t sig[PRIVSEP_SIG_MAX];

	(void)arg;
	deliver_timer = -1;
	for (unsigned i = 0; i < INFLIGHT; i++) {
		struct flight *f = &flights[i];
		keys_sig_done_fn done = f->done;
		bool call = !f->cancelled && done != NULL;
		int rc = f->rc;
		size_t len = f->len;

		if (!f->used || !f->ready)
			continue;
		/* the slot is free before done() runs: done() may start the next */
		memcpy(sig, f->sig, len);
		memset(f->sig, 0, sizeof(f->sig));
		f->used = false;
		nflight--;
		if (call)
			done(f->arg, f->idx, rc, sig, len);
	}
}

/* One datagram from the key holder into *r (blocking or not): 1 got one,
 * 0 nothing yet (nonblocking), -EBADMSG an undecodable one. */
static int
receive(struct privsep_msg *r, bool wait)
{
	uint8_t buf[PRIVSEP_MSG_MAX];
	ssize_t got;
	int rc;

	while ((got = recv(ps_fd, buf, sizeof(buf), wait ? 0 : MSG_DONTWAIT)) < 0) {
		if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (errno != EINTR)
			holder_gone("recv");
	}
	if (got == 0)
		holder_gone("end of file");
	rc = privsep_msg_decode(buf, (size_t)got, r);
	memset(buf, 0, sizeof(buf));
	return rc == 0 ? 1 : rc;
}

static int
send_msg(const struct privsep_msg *q)
{
	uint8_t buf[PRIVSEP_MSG_MAX];
	size_t n = 0;
	int rc;

	if ((rc = privsep_msg_encode(q, buf, sizeof(buf), &n)) != 0)
		return rc;
	while (send(ps_fd, buf, n, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			holder_gone("send");
	memset(buf, 0, sizeof(buf));
	return 0;
}

/* One request, one answer of type want (or a STATUS carrying an error);
 * the answer's status. Answers to started signatures that come first are
 * kept for deliver(). */
static int
request(struct privsep_msg *q, struct privsep_msg *r, uint8_t want)
{
	int rc;

	if (ps_fd < 0)
		return -ENOTSUP;
	q->id = next_id++;
	if ((rc = send_msg(q)) != 0)
		return rc;
	for (;;) {
		if ((rc = receive(r, true)) < 0)
			return rc;
		if (r->id == q->id)
			break;
		if (flight_answer(r) && deliver_timer < 0)
			deliver_timer = loop_timer_add(0, deliver, NULL);
	}
	if (r->type != want)
		return r->type == PRIVSEP_RESP_STATUS && r->status < 0 ? r->status : -EBADMSG;
	return r->status;
}

static int
proxy_public(const struct hal_key *k, uint8_t *buf, size_t cap, size_t *len)
{
	const struct proxy *p = k->impl;

	if (p == NULL)
		return -EINVAL;
	if (cap < p->publen)
		return -ERANGE;
	memcpy(buf, p->pub, p->publen);
	*len = p->publen;
	return 0;
}

static int
proxy_sign(const struct hal_key *k, enum hal_hash_alg alg, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	const struct proxy *p = k->impl;
	static struct privsep_msg q, r;
	int rc;

	if (p == NULL || n == 0 || n > PRIVSEP_SIGN_MAX)
		return -EINVAL;
	memset(&q, 0, offsetof(struct privsep_msg, data));
	q.type = PRIVSEP_REQ_SIGN;
	q.slot = p->slot;
	q.hash_alg = (uint8_t)alg;
	q.len = (uint16_t)n;
	memcpy(q.data, msg, n);
	if ((rc = request(&q, &r, PRIVSEP_RESP_SIG)) != 0)
		return rc;
	if (r.len > cap)
		return -ERANGE;
	memcpy(sig, r.data, r.len);
	*siglen = r.len;
	return 0;
}

static const struct hal_crypto_ops proxy_ops;

static int
door_sign_start(const struct hal_key *k, const uint8_t *digest, size_t n, keys_sig_done_fn done,
    void *arg, unsigned idx, uint32_t *ticket)
{
	const struct proxy *p = k->impl;
	static struct privsep_msg q;
	struct flight *f = NULL;
	int rc;

	if (k->ops != &proxy_ops || p == NULL || ps_fd < 0)
		return -ENOTSUP;
	if (n == 0 || n > PRIVSEP_SIGN_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < INFLIGHT && f == NULL; i++)
		if (!flights[i].used)
			f = &flights[i];
	if (f == NULL)
		return -EBUSY;
	memset(&q, 0, offsetof(struct privsep_msg, data));
	q.type = PRIVSEP_REQ_SIGN;
	q.slot = p->slot;
	q.hash_alg = (uint8_t)HAL_HASH_SHA256;
	q.len = (uint16_t)n;
	q.id = next_id++;
	memcpy(q.data, digest, n);
	if ((rc = send_msg(&q)) != 0)
		return rc;
	memset(f, 0, offsetof(struct flight, sig));
	f->used = true;
	f->id = q.id;
	f->done = done;
	f->arg = arg;
	f->idx = idx;
	nflight++;
	*ticket = q.id;
	return 0;
}

static void
door_sign_cancel(uint32_t ticket)
{
	for (unsigned i = 0; i < INFLIGHT; i++)
		if (flights[i].used && flights[i].id == ticket)
			flights[i].cancelled = true;    /* the answer is dropped */
}

static void
proxy_free(struct hal_key *k)
{
	struct proxy *p = k->impl;
	struct privsep_msg q, r;

	if (p == NULL)
		return;
	memset(&q, 0, offsetof(struct privsep_msg, data));
	q.type = PRIVSEP_REQ_FREE;
	q.slot = p->slot;
	(void)request(&q, &r, PRIVSEP_RESP_STATUS);
	memset(p, 0, sizeof(*p));
}

/* The backend of a key held by the key holder: no PEM ever (key_write_pem
 * answers -ENOTSUP), the public key from the LOAD answer, sign forwarded. */
static const struct hal_crypto_ops proxy_ops = {
	.name = "key-holder",
	.key_public = proxy_public,
	.sign = proxy_sign,
	.key_free = proxy_free,
};

static int
key_request(struct privsep_msg *q, struct hal_key *k)
{
	static struct privsep_msg r;
	struct proxy *p = NULL;
	int rc;

	memset(k, 0, sizeof(*k));
	for (unsigned i = 0; i < PROXIES && p == NULL; i++)
		if (!proxies[i].used)
			p = &proxies[i];
	if (p == NULL)
		return -ENOMEM;
	if ((rc = request(q, &r, PRIVSEP_RESP_KEY)) != 0)
		return rc;
	p->used = true;
	p->slot = r.slot;
	p->publen = r.len;
	memcpy(p->pub, r.data, r.len);
	k->ops = &proxy_ops;
	k->type = (enum hal_key_type)r.key_type;
	k->bits = r.bits;
	k->impl = p;
	return 0;
}

static int
path_msg(struct privsep_msg *q, uint8_t type, const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n >= PRIVSEP_PATH_MAX)
		return -ENAMETOOLONG;
	memset(q, 0, offsetof(struct privsep_msg, data));
	q->type = type;
	q->len = (uint16_t)n;
	memcpy(q->data, path, n);
	return 0;
}

static int
door_load(struct hal_key *k, const char *path)
{
	static struct privsep_msg q;
	int rc = path_msg(&q, PRIVSEP_REQ_LOAD, path);

	memset(k, 0, sizeof(*k));
	return rc != 0 ? rc : key_request(&q, k);
}

static int
door_generate(const char *path, enum hal_key_type type, unsigned bits, struct hal_key *out)
{
	static struct privsep_msg q;
	struct hal_key k;
	int rc = path_msg(&q, PRIVSEP_REQ_GENERATE, path);

	if (rc != 0)
		return rc;
	q.key_type = (uint8_t)type;
	q.bits = (uint16_t)(type == HAL_KEY_ED25519 ? 0 : bits);
	if ((rc = key_request(&q, &k)) != 0)
		return rc;
	if (out != NULL)
		*out = k;
	else
		hal_key_free(&k);
	return 0;
}

static const struct keys_door door = {
	.load = door_load,
	.generate = door_generate,
	.sign_start = door_sign_start,
	.sign_cancel = door_sign_cancel,
};

/* Used by privsep_drop() (drop.c) before the seal. */
int privsep_allow_dir(const char *dir);
int privsep_seal(void);

int
privsep_allow_dir(const char *dir)
{
	static struct privsep_msg q, r;
	int rc = path_msg(&q, PRIVSEP_REQ_ALLOW_DIR, dir);

	return rc != 0 ? rc : request(&q, &r, PRIVSEP_RESP_STATUS);
}

int
privsep_tpm_device(const char *spec)
{
	static struct privsep_msg q, r;
	int rc = path_msg(&q, PRIVSEP_REQ_TPM_DEVICE, spec[0] ? spec : "default");

	return rc != 0 ? rc : request(&q, &r, PRIVSEP_RESP_STATUS);
}

int
privsep_stats(char *line, size_t cap)
{
	static struct privsep_msg q, r;
	uint32_t v[2 + PRIVSEP_WORKERS_MAX] = { 0 };
	unsigned nv;
	size_t off;
	int rc;

	memset(&q, 0, offsetof(struct privsep_msg, data));
	q.type = PRIVSEP_REQ_STATS;
	if ((rc = request(&q, &r, PRIVSEP_RESP_STATS)) != 0)
		return rc;
	nv = r.len / 4;
	for (unsigned i = 0; i < nv; i++)
		v[i] = (uint32_t)r.data[4 * i] << 24 | (uint32_t)r.data[4 * i + 1] << 16 |
		    (uint32_t)r.data[4 * i + 2] << 8 | r.data[4 * i + 3];
	off = (size_t)snprintf(line, cap, "key holder: %lu signing workers, %u signatures in "
	    "flight, %lu retried after a worker died; served per worker:", (unsigned long)v[0],
	    nflight, (unsigned long)v[1]);
	for (unsigned i = 2; i < nv && off < cap; i++)
		off += (size_t)snprintf(line + off, cap - off, " %lu", (unsigned long)v[i]);
	return 0;
}

int
privsep_seal(void)
{
	struct privsep_msg q, r;

	memset(&q, 0, offsetof(struct privsep_msg, data));
	q.type = PRIVSEP_REQ_SEAL;
	return request(&q, &r, PRIVSEP_RESP_STATUS);
}

int
privsep_start(char *why, size_t cap)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(why, cap, "socketpair: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	holder = fork();
	if (holder < 0) {
		snprintf(why, cap, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (holder == 0) {
		close(sv[0]);
		/* the console and the network are not its business */
		if (dup2(STDERR_FILENO, STDIN_FILENO) < 0)
			_exit(1);
		privsep_holder_main(sv[1]);
	}
	close(sv[1]);
	ps_fd = sv[0];
	keys_set_door(&door);
	return 0;
}

static void
on_holder_fd(void *arg, int fd, unsigned revents)
{
	static struct privsep_msg r;
	int rc;

	(void)arg;
	(void)fd;
	(void)revents;
	/* answers to started signatures; EOF (holder_gone) otherwise */
	while ((rc = receive(&r, false)) != 0) {
		if (rc < 0 || !flight_answer(&r))
			hal_log(HAL_LOG_WARN, LOGM, "unexpected answer from the key holder (%s, "
			    "id %lu)", rc < 0 ? "undecodable" : privsep_msg_name(r.type),
			    (unsigned long)r.id);
	}
	memset(r.data, 0, sizeof(r.data));
	deliver(NULL);
}

void
privsep_watch(void)
{
	if (ps_fd >= 0 && loop_watch_fd(ps_fd, on_holder_fd, NULL) < 0)
		hal_log(HAL_LOG_WARN, LOGM, "cannot watch the key holder's socket");
}
