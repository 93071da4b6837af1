/*
 * The key holder's signing workers (issue 22): how the key holder receives,
 * dispatches and answers requests (privsep.h, msg.h).
 *
 * The key holder forks CONFIG_SIGN_WORKERS processes (0: one per online
 * CPU), each with a copy of the loaded keys and a SOCK_SEQPACKET socketpair
 * to it. A SIGN request from the network process goes into a bounded FIFO
 * and to the first idle worker; the worker's answer (the request's id
 * echoed) is forwarded as it comes, so answers may pass each other. When
 * the FIFO is full the key holder stops reading its socket: the network
 * process's requests wait in the kernel (its sessions' 250 comes later).
 *
 * Every other request (load, generate, free, allow-dir, seal) is handled
 * by the key holder itself, and only once no signature is queued or being
 * made: a signature asked for before a key changes is made with the key
 * set it was asked of. After a request that may change the key set the
 * workers are replaced (forked again, lazily, with the new keys).
 *
 * A TPM key (the holder's signs_here()) is signed by the key holder
 * itself, in FIFO order: its TPM connection is one per process.
 *
 * A worker that dies (killed, crashed) is reaped and replaced; the request
 * it was serving is queued again once (then answered -EIO: the session
 * says 451). The workers die with the key holder (PR_SET_PDEATHSIG) and
 * exit when their socket closes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dkim/dkim.h"
#include "firmware/privsep/msg.h"
#include "firmware/privsep/privsep.h"

/* what the network process may have in flight (client.c INFLIGHT) */
#define QUEUE_MAX (CONFIG_MAX_SESSIONS * DKIM_MAX_SIGS)

struct job {
	uint32_t id;
	uint16_t slot;
	uint8_t alg;
	bool retried;
	uint16_t len;
	uint8_t data[PRIVSEP_SIGN_MAX];
};

struct worker {
	pid_t pid;
	int fd;                 /* -1: none */
	unsigned gen;           /* the key set it was forked with */
	bool busy;
	struct job job;
};

static struct job queue[QUEUE_MAX];
static unsigned qhead, qcount;
static struct worker workers[PRIVSEP_WORKERS_MAX];
static uint32_t served[PRIVSEP_WORKERS_MAX];
static uint32_t retried;
static unsigned nworkers, gen;
static int main_fd = -1;
static const struct privsep_pool_ops *ops; /* the holder's (privsep_pool_run) */

static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* Encode and send r on fd (an error answer if r cannot be encoded). */
static int
answer(int fd, struct privsep_msg *r)
{
	uint8_t buf[PRIVSEP_MSG_MAX];
	size_t out = 0;
	int rc = 0;

	if (privsep_msg_encode(r, buf, sizeof(buf), &out) != 0) {
		uint32_t id = r->id;

		memset(r, 0, offsetof(struct privsep_msg, data));
		r->type = PRIVSEP_RESP_STATUS;
		r->status = -EIO;
		r->id = id;
		(void)privsep_msg_encode(r, buf, sizeof(buf), &out);
	}
	if (send(fd, buf, out, MSG_NOSIGNAL) < 0)
		rc = -errno;
	wipe(buf, sizeof(buf));
	wipe(r->data, sizeof(r->data));
	return rc;
}

static void
answer_status(int fd, uint8_t type, uint32_t id, int status)
{
	static struct privsep_msg r;

	memset(&r, 0, offsetof(struct privsep_msg, data));
	r.type = type;
	r.status = status;
	r.id = id;
	(void)answer(fd, &r);
}

/* CONFIG_SIGN_WORKERS; ZEGEL_SIGN_WORKERS=N in the environment overrides it
 * (tests, tuning without a rebuild). */
static unsigned
pool_size(void)
{
	const char *e = getenv("ZEGEL_SIGN_WORKERS");
	long n = e != NULL && *e != 0 ? strtol(e, NULL, 10) : CONFIG_SIGN_WORKERS;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > PRIVSEP_WORKERS_MAX ? PRIVSEP_WORKERS_MAX : (unsigned)n;
}

/* ------------------------------------------------------------ a worker */

static void __attribute__((noreturn))
worker_main(int fd, pid_t parent)
{
	static struct privsep_msg q, r;
	uint8_t buf[PRIVSEP_MSG_MAX];

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	(void)prctl(PR_SET_NAME, "zegel-signer");
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;          /* retired, or the key holder is gone */
		if (privsep_msg_decode(buf, (size_t)n, &q) != 0 || q.type != PRIVSEP_REQ_SIGN) {
			memset(&r, 0, offsetof(struct privsep_msg, data));
			r.type = PRIVSEP_RESP_STATUS;
			r.status = -EBADMSG;
			r.id = q.id;
		} else {
			ops->handle(&q, &r);
			r.id = q.id;
		}
		wipe(buf, sizeof(buf));
		wipe(q.data, sizeof(q.data));
		if (answer(fd, &r) != 0)
			break;
	}
	_exit(0);
}

static int
spawn(unsigned i)
{
	struct worker *w = &workers[i];
	pid_t parent = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	w->pid = fork();
	if (w->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (w->pid == 0) {
		/* the network process must see EOF when the key holder dies:
		 * a worker keeps no end of its socket, nor of its siblings' */
		close(main_fd);
		for (unsigned k = 0; k < PRIVSEP_WORKERS_MAX; k++)
			if (workers[k].fd >= 0)
				close(workers[k].fd);
		close(sv[0]);
		worker_main(sv[1], parent);
	}
	close(sv[1]);
	w->fd = sv[0];
	w->gen = gen;
	w->busy = false;
	return 0;
}

/* Close a worker's socket: an idle one exits on EOF (reaped later). */
static void
retire(struct worker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->busy = false;
}

static void
reap(void)
{
	int st;

	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

/* ------------------------------------------------------------ the queue */

static void
push(const struct job *j, bool front)
{
	if (front) {
		qhead = (qhead + QUEUE_MAX - 1) % QUEUE_MAX;
		queue[qhead] = *j;
	} else {
		queue[(qhead + qcount) % QUEUE_MAX] = *j;
	}
	qcount++;
}

/* The worker died (EOF or an error on its socket): its request again, once. */
static void
died(struct worker *w)
{
	bool busy = w->busy;
	int st;

	retire(w);
	/* its socket can report EOF before the process is a zombie: a plain
	 * reap() then finds nothing and the zombie stays; make sure it is gone
	 * and wait for exactly it */
	if (w->pid > 0) {
		(void)kill(w->pid, SIGKILL);
		(void)waitpid(w->pid, &st, 0);
		w->pid = 0;
	}
	reap();
	if (!busy)
		return;
	retried++;
	if (!w->job.retried) {
		w->job.retried = true;
		push(&w->job, true);
	} else {
		answer_status(main_fd, PRIVSEP_RESP_SIG, w->job.id, -EIO);
	}
	wipe(w->job.data, sizeof(w->job.data));
}

/* Serve one job right here (no worker could be forked). */
static void
sign_here(const struct job *j)
{
	static struct privsep_msg q, r;

	memset(&q, 0, offsetof(struct privsep_msg, data));
	q.type = PRIVSEP_REQ_SIGN;
	q.slot = j->slot;
	q.hash_alg = j->alg;
	q.len = j->len;
	q.id = j->id;
	memcpy(q.data, j->data, j->len);
	ops->handle(&q, &r);
	r.id = j->id;
	wipe(q.data, sizeof(q.data));
	(void)answer(main_fd, &r);
}

static void
dispatch(void)
{
	static struct privsep_msg q;
	uint8_t buf[PRIVSEP_MSG_MAX];

	while (qcount > 0) {
		struct worker *w = NULL;
		bool any = false;
		size_t n = 0;

		if (ops->signs_here(queue[qhead].slot)) {
			sign_here(&queue[qhead]);       /* a TPM key: never in a worker */
			wipe(queue[qhead].data, sizeof(queue[qhead].data));
			qhead = (qhead + 1) % QUEUE_MAX;
			qcount--;
			continue;
		}
		for (unsigned i = 0; i < nworkers && w == NULL; i++)
			if (workers[i].fd >= 0 && !workers[i].busy && workers[i].gen == gen)
				w = &workers[i];
		for (unsigned i = 0; i < nworkers && w == NULL; i++)
			if (workers[i].fd < 0 && spawn(i) == 0)
				w = &workers[i];
		for (unsigned i = 0; i < nworkers && w == NULL; i++)
			any = any || workers[i].fd >= 0;
		if (w == NULL && any)
			return;         /* all busy: the queue waits */
		if (w == NULL) {
			sign_here(&queue[qhead]); /* no worker at all: never leave one waiting */
		} else {
			w->job = queue[qhead];
			w->busy = true;
			memset(&q, 0, offsetof(struct privsep_msg, data));
			q.type = PRIVSEP_REQ_SIGN;
			q.slot = w->job.slot;
			q.hash_alg = w->job.alg;
			q.len = w->job.len;
			q.id = w->job.id;
			memcpy(q.data, w->job.data, w->job.len);
		}
		wipe(queue[qhead].data, sizeof(queue[qhead].data));
		qhead = (qhead + 1) % QUEUE_MAX;
		qcount--;
		if (w != NULL && (privsep_msg_encode(&q, buf, sizeof(buf), &n) != 0 ||
		    send(w->fd, buf, n, MSG_NOSIGNAL) < 0))
			died(w);        /* queued again at the front (or -EIO) */
		wipe(buf, sizeof(buf));
		wipe(q.data, sizeof(q.data));
	}
}

/* ------------------------------------------------------------ requests */

static bool
idle(void)
{
	if (qcount > 0)
		return false;
	for (unsigned i = 0; i < nworkers; i++)
		if (workers[i].busy)
			return false;
	return true;
}

static void
stats(uint32_t id)
{
	static struct privsep_msg r;
	uint32_t v[2 + PRIVSEP_WORKERS_MAX];

	memset(&r, 0, offsetof(struct privsep_msg, data));
	r.type = PRIVSEP_RESP_STATS;
	r.id = id;
	v[0] = nworkers;
	v[1] = retried;
	for (unsigned i = 0; i < nworkers; i++)
		v[2 + i] = served[i];
	for (unsigned i = 0; i < 2 + nworkers; i++) {
		r.data[4 * i] = (uint8_t)(v[i] >> 24);
		r.data[4 * i + 1] = (uint8_t)(v[i] >> 16);
		r.data[4 * i + 2] = (uint8_t)(v[i] >> 8);
		r.data[4 * i + 3] = (uint8_t)v[i];
	}
	r.len = (uint16_t)(4 * (2 + nworkers));
	(void)answer(main_fd, &r);
}

/* A request other than SIGN, handled here once no signature is out. */
static void
control(struct privsep_msg *q)
{
	static struct privsep_msg r;
	uint8_t type = q->type;

	if (type == PRIVSEP_REQ_STATS) {
		stats(q->id);
		return;
	}
	ops->handle(q, &r);
	r.id = q->id;
	wipe(q->data, sizeof(q->data));
	(void)answer(main_fd, &r);
	if (type == PRIVSEP_REQ_LOAD || type == PRIVSEP_REQ_GENERATE || type == PRIVSEP_REQ_FREE) {
		gen++;          /* the key set changed: new workers */
		for (unsigned i = 0; i < nworkers; i++)
			retire(&workers[i]);
	}
}

/* Read requests while the queue has room; false when the network process
 * is gone. A control request is held in *held until idle(). */
static bool
take(struct privsep_msg *held, bool *holding)
{
	static struct privsep_msg q;
	uint8_t buf[PRIVSEP_MSG_MAX];

	while (qcount < QUEUE_MAX && !*holding) {
		ssize_t n = recv(main_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct job j;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		if (privsep_msg_decode(buf, (size_t)n, &q) != 0) {
			wipe(buf, sizeof(buf));
			answer_status(main_fd, PRIVSEP_RESP_STATUS, q.id, -EBADMSG);
			continue;
		}
		wipe(buf, sizeof(buf));
		if (q.type != PRIVSEP_REQ_SIGN) {
			*held = q;
			*holding = true;
			break;
		}
		memset(&j, 0, sizeof(j));
		j.id = q.id;
		j.slot = q.slot;
		j.alg = q.hash_alg;
		j.len = q.len;
		memcpy(j.data, q.data, q.len);
		wipe(q.data, sizeof(q.data));
		push(&j, false);
		wipe(j.data, sizeof(j.data));
	}
	return true;
}

void
privsep_pool_run(int fd, const struct privsep_pool_ops *holder_ops)
{
	static struct privsep_msg held;
	struct pollfd pf[1 + PRIVSEP_WORKERS_MAX];
	int map[1 + PRIVSEP_WORKERS_MAX];
	bool holding = false;

	main_fd = fd;
	ops = holder_ops;
	nworkers = pool_size();
	for (unsigned i = 0; i < PRIVSEP_WORKERS_MAX; i++)
		workers[i].fd = -1;
	for (;;) {
		unsigned np = 0;

		reap(); /* retired workers exit on EOF */
		if (holding && idle()) {
			control(&held);
			holding = false;
		}
		dispatch();
		if (holding && idle())
			continue;
		pf[np].fd = fd;
		pf[np].events = qcount < QUEUE_MAX && !holding ? POLLIN : 0;
		pf[np].revents = 0;
		map[np++] = -1;
		for (unsigned i = 0; i < nworkers; i++)
			if (workers[i].fd >= 0) {
				pf[np].fd = workers[i].fd;
				pf[np].events = POLLIN;
				pf[np].revents = 0;
				map[np++] = (int)i;
			}
		if (poll(pf, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned k = 1; k < np; k++) {
			struct worker *w = &workers[map[k]];
			uint8_t buf[PRIVSEP_MSG_MAX];
			ssize_t n;

			if (pf[k].revents == 0 || w->fd != pf[k].fd)
				continue;
			n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				died(w);
				continue;
			}
			/* the worker's answer, id and all: on to the network process */
			if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
				return;
			wipe(buf, sizeof(buf));
			wipe(w->job.data, sizeof(w->job.data));
			w->busy = false;
			served[map[k]]++;
			if (w->gen != gen)
				retire(w);
		}
		if ((pf[0].revents & (POLLHUP | POLLERR)) != 0 && (holding || qcount >= QUEUE_MAX))
			break;          /* the network process is gone */
		if (pf[0].revents != 0 && !take(&held, &holding))
			break;          /* the network process is gone */
	}
	for (unsigned i = 0; i < nworkers; i++)
		retire(&workers[i]);
	reap();
}
