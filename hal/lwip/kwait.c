/*
 * The kernel-fd waiter (README.md): one thread that poll(2)s the kernel
 * file descriptors of a hal_net_poll() set (the console's tty, the key
 * holder's socket) while the event loop's thread sleeps in lwip_poll, which
 * cannot see them. When one is ready (or a signal interrupts it) the thread
 * wakes lwip_poll with a datagram to the loop's wake-up socket; when
 * lwip_poll ends first, the loop's thread cancels the wait through an
 * eventfd. Both threads sleep in the kernel meanwhile: no busy loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hal/lwip/internal.h"

enum { IDLE, ASKED, DONE };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct pollfd set[LWIP_POLL_MAX + 1];
static size_t nset;
static int state = IDLE;
static int cancel_fd = -1;
static void (*wake_fn)(void);

static void *
waiter(void *arg)
{
	(void)arg;
	for (;;) {
		size_t n;
		int r;
		bool ready = false;

		pthread_mutex_lock(&mu);
		while (state != ASKED)
			pthread_cond_wait(&cv, &mu);
		n = nset;
		pthread_mutex_unlock(&mu);
		/* set[] is this thread's until DONE */
		r = poll(set, (nfds_t)n + 1, -1);
		if (r < 0)
			ready = true; /* a signal: let the loop see it */
		for (size_t i = 0; i < n && r > 0; i++)
			if (set[i].revents)
				ready = true;
		if (ready && !(set[n].revents & POLLIN))
			wake_fn();
		pthread_mutex_lock(&mu);
		state = DONE;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int
lwip_kwait_init(void (*wake)(void))
{
	pthread_t t;
	int rc;

	wake_fn = wake;
	cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cancel_fd < 0)
		return -errno;
	/* it takes signals (SIGINT, SIGTERM) like the loop's thread: one
	 * that lands here ends its poll and so wakes the loop */
	rc = pthread_create(&t, NULL, waiter, NULL);
	if (rc != 0)
		return -rc;
	pthread_detach(t);
	return 0;
}

void
lwip_kwait_begin(const struct pollfd *kp, size_t n)
{
	pthread_mutex_lock(&mu);
	memcpy(set, kp, n * sizeof(*kp));
	set[n] = (struct pollfd){ cancel_fd, POLLIN, 0 };
	nset = n;
	state = ASKED;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

void
lwip_kwait_end(struct pollfd *kp, size_t n)
{
	uint64_t v = 1;

	if (write(cancel_fd, &v, sizeof(v)) < 0) {
		/* cannot fail for a counter far from its limit */
	}
	pthread_mutex_lock(&mu);
	while (state != DONE)
		pthread_cond_wait(&cv, &mu);
	for (size_t i = 0; i < n && i < nset; i++)
		kp[i].revents = set[i].revents;
	state = IDLE;
	pthread_mutex_unlock(&mu);
	if (read(cancel_fd, &v, sizeof(v)) < 0) {
		/* nothing to take: fine */
	}
}
