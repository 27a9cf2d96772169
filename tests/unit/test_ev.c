// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/ev: real pipes, socketpairs and files driven through
 * epoll, so readiness, generation checks and timer ordering are exercised
 * against the kernel rather than a mock. Every test runs under alarm() so a
 * loop that blocks forever fails instead of hanging the suite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ev/ev.h"

#define MAX_FDS 64
#define MAX_REC 2048

/* One observed callback: fd events and timer firings share the log. */
struct rec {
	int fd;		 /* -1 for timers */
	uint32_t events; /* 0 for timers */
	void *arg;
	uint64_t now; /* ev_now_ms() inside the callback */
};

static struct rec recs[MAX_REC];
static int nrec;

static void rec_push(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	assert_true(nrec < MAX_REC);
	recs[nrec++] = (struct rec){.fd = fd, .events = events, .arg = arg, .now = ev_now_ms(loop)};
}

static int setup(void **state)
{
	(void)state;
	nrec = 0;
	memset(recs, 0, sizeof(recs));
	alarm(10);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_true(p[0] < MAX_FDS && p[1] < MAX_FDS);
}

static void close_pipe(int p[2])
{
	close(p[0]);
	close(p[1]);
}

static void put_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct ev_loop *new_loop(void)
{
	struct ev_loop *loop = ev_loop_new(MAX_FDS);

	assert_non_null(loop);
	return loop;
}

/* ---- callbacks ---- */

static void rec_fd_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	rec_push(loop, fd, events, arg);
}

static void rec_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)t;
	rec_push(loop, -1, 0, arg);
}

/* Shared context for callbacks that act on "the other" fd of a pair. */
struct pair_ctx {
	int fd[2];
	int acted; /* the first callback to run acts; later ones only record */
	int replacement[2];
};

static int other_fd(const struct pair_ctx *c, int fd)
{
	return fd == c->fd[0] ? c->fd[1] : c->fd[0];
}

static void del_other_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *c = arg;

	rec_push(loop, fd, events, arg);
	if (!c->acted++)
		assert_int_equal(ev_del_fd(loop, other_fd(c, fd)), 0);
}

static void mod_other_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *c = arg;

	rec_push(loop, fd, events, arg);
	if (!c->acted++)
		assert_int_equal(ev_mod_fd(loop, other_fd(c, fd), 0), 0);
}

static int new_owner_tag;

/*
 * Delete, close and replace fd 'victim' by a new readable pipe end with the
 * same number, registered to rec_fd_cb with &new_owner_tag.
 */
static void replace_fd(struct ev_loop *loop, struct pair_ctx *c, int victim)
{
	int q[2];

	/* Pipe first, so it cannot itself land on the number being freed. */
	assert_int_equal(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(ev_del_fd(loop, victim), 0);
	close(victim);
	assert_int_equal(dup2(q[0], victim), victim);
	close(q[0]);
	put_byte(q[1]);
	c->replacement[0] = victim;
	c->replacement[1] = q[1];
	assert_int_equal(ev_add_fd(loop, victim, EV_READ, rec_fd_cb, &new_owner_tag), 0);
}

static void replace_other_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *c = arg;

	rec_push(loop, fd, events, arg);
	if (!c->acted++)
		replace_fd(loop, c, other_fd(c, fd));
}

static void replace_self_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *c = arg;

	rec_push(loop, fd, events, arg);
	replace_fd(loop, c, fd);
}

static int stop_at; /* ev_stop() when nrec reaches this; 0 = never */

static void stop_fd_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	rec_push(loop, fd, events, arg);
	if (nrec == stop_at)
		ev_stop(loop);
}

static void stop_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)t;
	rec_push(loop, -1, 0, arg);
	if (nrec == stop_at)
		ev_stop(loop);
}

/* ---- fd tests ---- */

static void test_loop_new_rejects_bad_size(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ev_loop_new(0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ev_loop_new(-5));
	assert_int_equal(errno, EINVAL);
	ev_loop_free(NULL);
}

static void test_read_readiness(void **state)
{
	struct ev_loop *loop = new_loop();
	int tag, p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, rec_fd_cb, &tag), 0);

	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 0); /* empty pipe: not readable */

	put_byte(p[1]);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(recs[0].fd, p[0]);
	assert_int_equal(recs[0].events, EV_READ);
	assert_ptr_equal(recs[0].arg, &tag);

	/* Level-triggered: unread data is reported again. */
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2);

	ev_loop_free(loop);
	close_pipe(p);
}

static void test_write_readiness(void **state)
{
	struct ev_loop *loop = new_loop();
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(ev_add_fd(loop, p[1], EV_WRITE, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(recs[0].fd, p[1]);
	assert_int_equal(recs[0].events, EV_WRITE);
	ev_loop_free(loop);
	close_pipe(p);
}

static void test_mod_changes_interest(void **state)
{
	struct ev_loop *loop = new_loop();
	int s[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s), 0);
	assert_int_equal(ev_add_fd(loop, s[0], EV_READ, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 0); /* writable, but only READ was asked */

	assert_int_equal(ev_mod_fd(loop, s[0], EV_WRITE), 0);
	assert_int_equal(ev_fd_events(loop, s[0]), EV_WRITE);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(recs[0].events, EV_WRITE);

	put_byte(s[1]);
	assert_int_equal(ev_mod_fd(loop, s[0], EV_READ | EV_WRITE), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2);
	assert_int_equal(recs[1].events, EV_READ | EV_WRITE);

	assert_int_equal(ev_mod_fd(loop, s[0], 0), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2); /* paused */

	ev_loop_free(loop);
	close(s[0]);
	close(s[1]);
}

static void test_del_stops_events(void **state)
{
	struct ev_loop *loop = new_loop();
	int p[2];

	(void)state;
	make_pipe(p);
	put_byte(p[1]);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_del_fd(loop, p[0]), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 0);
	assert_int_equal(ev_fd_events(loop, p[0]), 0);
	assert_int_equal(ev_del_fd(loop, p[0]), -ENOENT);

	/* The number is free again. */
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);

	ev_loop_free(loop);
	close_pipe(p);
}

static void test_del_after_close_frees_slot(void **state)
{
	struct ev_loop *loop = new_loop();
	int p[2], q[2];

	(void)state;
	make_pipe(p);
	make_pipe(q);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, rec_fd_cb, NULL), 0);
	close(p[0]); /* wrong order, but the slot must not leak */
	assert_int_equal(ev_del_fd(loop, p[0]), 0);
	assert_int_equal(ev_fd_events(loop, p[0]), 0);

	/* Same number, new file: registrable again. */
	assert_int_equal(dup2(q[0], p[0]), p[0]);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, rec_fd_cb, NULL), 0);
	put_byte(q[1]);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);

	ev_loop_free(loop);
	close_pipe(q);
	close_pipe(p);
}

static void test_errors(void **state)
{
	struct ev_loop *loop = ev_loop_new(8);
	char path[] = "/tmp/test_ev.XXXXXX";
	int p[2], hi, file;

	(void)state;
	assert_non_null(loop);
	make_pipe(p);

	/* -ERANGE checks the number before epoll sees it. */
	hi = fcntl(p[0], F_DUPFD_CLOEXEC, 8);
	assert_true(hi >= 8);
	assert_int_equal(ev_add_fd(loop, hi, EV_READ, rec_fd_cb, NULL), -ERANGE);
	assert_int_equal(ev_mod_fd(loop, hi, EV_READ), -ERANGE);
	assert_int_equal(ev_del_fd(loop, hi), -ERANGE);
	assert_int_equal(ev_add_fd(loop, -1, EV_READ, rec_fd_cb, NULL), -EBADF);
	close(hi);

	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, NULL, NULL), -EINVAL);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ | EPOLLET, rec_fd_cb, NULL), -EINVAL);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ | EPOLLONESHOT, rec_fd_cb, NULL), -EINVAL);

	assert_int_equal(ev_mod_fd(loop, p[0], EV_READ), -ENOENT);
	assert_int_equal(ev_del_fd(loop, p[0]), -ENOENT);

	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_add_fd(loop, p[0], EV_WRITE, rec_fd_cb, NULL), -EEXIST);
	assert_int_equal(ev_fd_events(loop, p[0]), EV_READ); /* unchanged by the failed add */
	assert_int_equal(ev_mod_fd(loop, p[0], EV_READ | EPOLLET), -EINVAL);

	/* An fd epoll refuses leaves the slot unregistered. */
	file = mkstemp(path);
	assert_true(file >= 0 && file < 8);
	unlink(path);
	assert_int_equal(ev_add_fd(loop, file, EV_READ, rec_fd_cb, NULL), -EPERM);
	assert_int_equal(ev_fd_events(loop, file), 0);
	assert_int_equal(ev_add_fd(loop, file, EV_READ, rec_fd_cb, NULL), -EPERM);
	close(file);

	errno = 0;
	assert_null(ev_timer_add(loop, 1, NULL, NULL));
	assert_int_equal(errno, EINVAL);

	ev_loop_free(loop);
	close_pipe(p);
}

static void test_fd_events(void **state)
{
	struct ev_loop *loop = new_loop();
	int s[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s), 0);
	assert_int_equal(ev_fd_events(loop, s[0]), 0);
	assert_int_equal(ev_fd_events(loop, -1), 0);
	assert_int_equal(ev_fd_events(loop, MAX_FDS), 0);
	assert_int_equal(ev_fd_events(loop, 1 << 30), 0);

	assert_int_equal(ev_add_fd(loop, s[0], EV_READ | EV_RDHUP, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_fd_events(loop, s[0]), EV_READ | EV_RDHUP);
	/* ERR/HUP are always reported, so they are not part of the interest set. */
	assert_int_equal(ev_mod_fd(loop, s[0], EV_WRITE | EV_ERR | EV_HUP), 0);
	assert_int_equal(ev_fd_events(loop, s[0]), EV_WRITE);
	assert_int_equal(ev_del_fd(loop, s[0]), 0);
	assert_int_equal(ev_fd_events(loop, s[0]), 0);

	ev_loop_free(loop);
	close(s[0]);
	close(s[1]);
}

static void test_hup_reported_without_interest(void **state)
{
	struct ev_loop *loop = new_loop();
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(ev_add_fd(loop, p[0], 0, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 0);
	close(p[1]);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(recs[0].events, EV_HUP);
	ev_loop_free(loop);
	close(p[0]);
}

static void test_rdhup_on_peer_shutdown(void **state)
{
	struct ev_loop *loop = new_loop();
	int s[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s), 0);
	assert_int_equal(ev_add_fd(loop, s[0], EV_RDHUP, rec_fd_cb, NULL), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 0);
	assert_int_equal(shutdown(s[1], SHUT_WR), 0);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(nrec, 1);
	assert_true(recs[0].events & EV_RDHUP);
	assert_false(recs[0].events & EV_READ); /* readable at EOF, but not asked for */
	ev_loop_free(loop);
	close(s[0]);
	close(s[1]);
}

/* Two readable pipes; whichever callback runs first acts on the other. */
static void pair_setup(struct ev_loop *loop, struct pair_ctx *c, int a[2], int b[2], ev_fd_cb cb)
{
	make_pipe(a);
	make_pipe(b);
	put_byte(a[1]);
	put_byte(b[1]);
	memset(c, 0, sizeof(*c));
	c->fd[0] = a[0];
	c->fd[1] = b[0];
	assert_int_equal(ev_add_fd(loop, a[0], EV_READ, cb, c), 0);
	assert_int_equal(ev_add_fd(loop, b[0], EV_READ, cb, c), 0);
}

static void test_stale_event_after_del(void **state)
{
	struct ev_loop *loop = new_loop();
	struct pair_ctx c;
	int a[2], b[2], first;

	(void)state;
	pair_setup(loop, &c, a, b, del_other_cb);
	/* Both fds are ready, so one epoll_wait returns both events. */
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	first = recs[0].fd;
	assert_int_equal(ev_fd_events(loop, other_fd(&c, first)), 0);

	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2);
	assert_int_equal(recs[1].fd, first);

	ev_loop_free(loop);
	close_pipe(a);
	close_pipe(b);
}

/* HUP bypasses the interest mask, so only the registration check stops it. */
static void test_stale_hup_after_del(void **state)
{
	struct ev_loop *loop = new_loop();
	struct pair_ctx c;
	int a[2], b[2];

	(void)state;
	pair_setup(loop, &c, a, b, del_other_cb);
	close(a[1]);
	close(b[1]);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(recs[0].events, EV_READ | EV_HUP);
	ev_loop_free(loop);
	close(a[0]);
	close(b[0]);
}

static void test_mod_in_batch_masks_pending_event(void **state)
{
	struct ev_loop *loop = new_loop();
	struct pair_ctx c;
	int a[2], b[2];

	(void)state;
	pair_setup(loop, &c, a, b, mod_other_cb);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1); /* the other's READ was masked by the new interest 0 */
	assert_int_equal(ev_fd_events(loop, other_fd(&c, recs[0].fd)), 0);
	ev_loop_free(loop);
	close_pipe(a);
	close_pipe(b);
}

static void test_reregister_other_in_batch(void **state)
{
	struct ev_loop *loop = new_loop();
	struct pair_ctx c;
	int a[2], b[2], victim;

	(void)state;
	pair_setup(loop, &c, a, b, replace_other_cb);
	assert_int_equal(ev_run_once(loop, 0), 0);
	/* The old registration's pending event must not reach the new owner. */
	assert_int_equal(nrec, 1);
	assert_ptr_equal(recs[0].arg, &c);
	victim = other_fd(&c, recs[0].fd);
	assert_int_equal(c.replacement[0], victim);

	/* The new registration is live from the next iteration on. */
	nrec = 0;
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2);
	for (int i = 0; i < 2; i++) {
		if (recs[i].fd == victim) {
			assert_ptr_equal(recs[i].arg, &new_owner_tag);
			assert_int_equal(recs[i].events, EV_READ);
		} else {
			assert_ptr_equal(recs[i].arg, &c);
		}
	}

	ev_loop_free(loop);
	/* victim is closed through a[0] or b[0]; the replacement's write end is separate */
	close_pipe(a);
	close_pipe(b);
	close(c.replacement[1]);
}

static void test_reregister_self_in_callback(void **state)
{
	struct ev_loop *loop = new_loop();
	struct pair_ctx c = {0};
	int p[2];

	(void)state;
	make_pipe(p);
	put_byte(p[1]);
	assert_int_equal(ev_add_fd(loop, p[0], EV_READ, replace_self_cb, &c), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	assert_ptr_equal(recs[0].arg, &c);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2);
	assert_int_equal(recs[1].fd, p[0]);
	assert_ptr_equal(recs[1].arg, &new_owner_tag);
	ev_loop_free(loop);
	close_pipe(p);
	close(c.replacement[1]);
}

static void test_stop_from_fd_callback(void **state)
{
	struct ev_loop *loop = new_loop();
	int a[2], b[2];

	(void)state;
	make_pipe(a);
	make_pipe(b);
	put_byte(a[1]);
	put_byte(b[1]);
	assert_int_equal(ev_add_fd(loop, a[0], EV_READ, stop_fd_cb, NULL), 0);
	assert_int_equal(ev_add_fd(loop, b[0], EV_READ, stop_fd_cb, NULL), 0);
	stop_at = 1;
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(nrec, 1); /* the rest of the batch waits for the next run */

	stop_at = 0;
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 3); /* level-triggered: nothing was lost */

	ev_loop_free(loop);
	close_pipe(a);
	close_pipe(b);
}

static void nested_run_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	rec_push(loop, fd, events, arg);
	assert_int_equal(ev_run_once(loop, 0), -EBUSY);
	assert_int_equal(ev_run(loop), -EBUSY);
}

static void test_nested_run_is_ebusy(void **state)
{
	struct ev_loop *loop = new_loop();
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(ev_add_fd(loop, p[1], EV_WRITE, nested_run_cb, NULL), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	ev_loop_free(loop);
	close_pipe(p);
}

static volatile sig_atomic_t got_signal;

static void on_sigusr1(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void test_eintr_is_not_error(void **state)
{
	struct ev_loop *loop = new_loop();
	struct sigaction sa = {.sa_handler = on_sigusr1}, old;
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	struct itimerspec its = {.it_value = {.tv_nsec = 20 * 1000 * 1000}};
	timer_t tid;
	uint64_t t0;

	(void)state;
	/* No SA_RESTART, and epoll_wait is never restarted anyway: it sees EINTR. */
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &tid), 0);
	got_signal = 0;
	t0 = mono_ms();
	assert_int_equal(timer_settime(tid, 0, &its, NULL), 0);
	assert_int_equal(ev_run_once(loop, 3000), 0);
	assert_true(got_signal);
	assert_true(mono_ms() - t0 < 2000); /* returned on the signal, not the timeout */
	timer_delete(tid);
	sigaction(SIGUSR1, &old, NULL);
	ev_loop_free(loop);
}

/* ---- timers ---- */

static void test_timers_fire_in_expiry_order(void **state)
{
	struct ev_loop *loop = new_loop();
	static const uint64_t ms[] = {30, 10, 20};
	uint64_t start;

	(void)state;
	start = ev_now_ms(loop);
	for (int i = 0; i < 3; i++)
		assert_non_null(ev_timer_add(loop, ms[i], stop_timer_cb, (void *)(uintptr_t)ms[i]));
	stop_at = 3;
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(nrec, 3);
	for (int i = 0; i < 3; i++) {
		uint64_t want = 10 * (uint64_t)(i + 1);

		assert_int_equal((uintptr_t)recs[i].arg, want);
		/* ev_now_ms is refreshed before timers run, so it shows expiry reached. */
		assert_true(recs[i].now >= start + want);
	}
	stop_at = 0;
	ev_loop_free(loop);
}

struct fifo_ctx {
	int n;
};

static void add_equal_timers_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct fifo_ctx *c = arg;

	(void)t;
	/* ev_now_ms is frozen inside a callback, so these expiries are identical. */
	for (int i = 0; i < c->n; i++)
		assert_non_null(ev_timer_add(loop, 2, rec_timer_cb, (void *)(uintptr_t)i));
}

static void test_equal_expiry_fifo(void **state)
{
	struct ev_loop *loop = new_loop();
	struct fifo_ctx c = {.n = 50};

	(void)state;
	assert_non_null(ev_timer_add(loop, 0, add_equal_timers_cb, &c));
	while (nrec < c.n)
		assert_int_equal(ev_run_once(loop, -1), 0);
	assert_int_equal(nrec, c.n);
	for (int i = 0; i < c.n; i++)
		assert_int_equal((uintptr_t)recs[i].arg, i);

	/* Zero-delay timers added back to back keep FIFO order too. */
	nrec = 0;
	for (int i = 0; i < c.n; i++)
		assert_non_null(ev_timer_add(loop, 0, rec_timer_cb, (void *)(uintptr_t)i));
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, c.n);
	for (int i = 0; i < c.n; i++)
		assert_int_equal((uintptr_t)recs[i].arg, i);
	ev_loop_free(loop);
}

#define NRAND 1000

struct rand_ctx {
	uint64_t ms[NRAND];
	struct ev_timer *t[NRAND];
	uint64_t base;
	int cancel_odd;
};

static void add_random_timers_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct rand_ctx *c = arg;

	(void)t;
	c->base = ev_now_ms(loop);
	for (int i = 0; i < NRAND; i++) {
		c->t[i] = ev_timer_add(loop, c->ms[i], rec_timer_cb, (void *)(uintptr_t)i);
		assert_non_null(c->t[i]);
	}
	/* Cancelling from everywhere in the heap exercises removal + re-sift. */
	if (c->cancel_odd) {
		for (int i = 1; i < NRAND; i += 2)
			ev_timer_cancel(loop, c->t[i]);
	}
}

static void run_random_timers(int cancel_odd)
{
	struct ev_loop *loop = new_loop();
	struct rand_ctx *c = calloc(1, sizeof(*c));
	int want = cancel_odd ? NRAND / 2 : NRAND;

	assert_non_null(c);
	srand(cancel_odd ? 12345 : 54321);
	for (int i = 0; i < NRAND; i++)
		c->ms[i] = (uint64_t)(rand() % 40);
	c->cancel_odd = cancel_odd;
	assert_non_null(ev_timer_add(loop, 0, add_random_timers_cb, c));
	for (int guard = 0; nrec < want && guard < 10000; guard++)
		assert_int_equal(ev_run_once(loop, -1), 0);
	assert_int_equal(nrec, want);

	for (int k = 0; k < nrec; k++) {
		int i = (int)(uintptr_t)recs[k].arg;

		if (cancel_odd)
			assert_int_equal(i % 2, 0);
		assert_true(recs[k].now >= c->base + c->ms[i]);
		if (k > 0) {
			int j = (int)(uintptr_t)recs[k - 1].arg;

			/* Sorted by delay; ties in insertion order. */
			assert_true(c->ms[j] < c->ms[i] || (c->ms[j] == c->ms[i] && j < i));
		}
	}
	/* Nothing left over: the loop would otherwise fire more later. */
	assert_int_equal(ev_run_once(loop, 60), 0);
	assert_int_equal(nrec, want);
	free(c);
	ev_loop_free(loop);
}

static void test_1000_random_timers_fire_sorted(void **state)
{
	(void)state;
	run_random_timers(0);
}

static void test_1000_random_timers_cancel_half(void **state)
{
	(void)state;
	run_random_timers(1);
}

static void test_cancel_pending(void **state)
{
	struct ev_loop *loop = new_loop();
	struct ev_timer *t;

	(void)state;
	t = ev_timer_add(loop, 0, rec_timer_cb, (void *)1);
	assert_non_null(t);
	ev_timer_cancel(loop, t);
	ev_timer_cancel(loop, NULL);
	assert_int_equal(ev_run_once(loop, 20), 0);
	assert_int_equal(nrec, 0);

	/* The recycled struct works as a fresh timer. */
	assert_non_null(ev_timer_add(loop, 0, rec_timer_cb, (void *)2));
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal((uintptr_t)recs[0].arg, 2);
	ev_loop_free(loop);
}

static void cancel_self_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	rec_push(loop, -1, 0, arg);
	ev_timer_cancel(loop, t); /* already fired: must be a harmless no-op */
	ev_timer_cancel(loop, t);
}

static void test_cancel_self_from_callback(void **state)
{
	struct ev_loop *loop = new_loop();
	struct ev_timer *t;

	(void)state;
	t = ev_timer_add(loop, 0, cancel_self_cb, NULL);
	assert_non_null(t);
	assert_non_null(ev_timer_add(loop, 0, rec_timer_cb, (void *)7));
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2); /* the later timer is undisturbed */
	assert_int_equal((uintptr_t)recs[1].arg, 7);
	/* Documented best effort: a fired, not yet reused handle is ignored. */
	ev_timer_cancel(loop, t);
	assert_non_null(ev_timer_add(loop, 0, rec_timer_cb, (void *)8));
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 3);
	ev_loop_free(loop);
}

struct cancel_ctx {
	struct ev_timer *victims[2];
};

static void cancel_others_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct cancel_ctx *c = arg;

	(void)t;
	rec_push(loop, -1, 0, NULL);
	ev_timer_cancel(loop, c->victims[0]);
	ev_timer_cancel(loop, c->victims[1]);
}

static void test_cancel_other_from_callback(void **state)
{
	struct ev_loop *loop = new_loop();
	struct cancel_ctx c;

	(void)state;
	assert_non_null(ev_timer_add(loop, 0, cancel_others_cb, &c));
	/* One due in the same pass, one later. */
	c.victims[0] = ev_timer_add(loop, 0, rec_timer_cb, (void *)1);
	c.victims[1] = ev_timer_add(loop, 15, rec_timer_cb, (void *)2);
	assert_non_null(ev_timer_add(loop, 25, rec_timer_cb, (void *)3));
	while (nrec < 2)
		assert_int_equal(ev_run_once(loop, -1), 0);
	assert_int_equal(nrec, 2);
	assert_null(recs[0].arg);
	assert_int_equal((uintptr_t)recs[1].arg, 3);
	ev_loop_free(loop);
}

static void rearm_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	int *left = arg;

	(void)t;
	rec_push(loop, -1, 0, arg);
	if (--*left > 0)
		assert_non_null(ev_timer_add(loop, 1, rearm_cb, arg));
	else
		ev_stop(loop);
}

static void test_rearm_from_callback(void **state)
{
	struct ev_loop *loop = new_loop();
	int left = 5;

	(void)state;
	assert_non_null(ev_timer_add(loop, 1, rearm_cb, &left));
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(nrec, 5);
	assert_int_equal(left, 0);
	for (int i = 1; i < 5; i++)
		assert_true(recs[i].now >= recs[i - 1].now + 1);
	ev_loop_free(loop);
}

static void rearm_zero_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)t;
	rec_push(loop, -1, 0, arg);
	assert_non_null(ev_timer_add(loop, 0, rearm_zero_cb, arg));
}

static void test_zero_ms_rearm_runs_once_per_iteration(void **state)
{
	struct ev_loop *loop = new_loop();

	(void)state;
	assert_non_null(ev_timer_add(loop, 0, rearm_zero_cb, NULL));
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(nrec, 2);
	ev_loop_free(loop); /* frees the still-pending re-armed timer */
}

static void test_stop_from_timer(void **state)
{
	struct ev_loop *loop = new_loop();

	(void)state;
	assert_non_null(ev_timer_add(loop, 0, stop_timer_cb, (void *)1));
	assert_non_null(ev_timer_add(loop, 0, stop_timer_cb, (void *)2));
	stop_at = 1;
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(nrec, 1);
	stop_at = 0;
	assert_int_equal(ev_run_once(loop, 0), 0); /* the due timer stayed queued */
	assert_int_equal(nrec, 2);
	assert_int_equal((uintptr_t)recs[1].arg, 2);
	ev_loop_free(loop);
}

static void test_run_once_bounded_by_timer(void **state)
{
	struct ev_loop *loop = new_loop();
	uint64_t t0;

	(void)state;
	t0 = mono_ms();
	assert_non_null(ev_timer_add(loop, 20, rec_timer_cb, NULL));
	/* -1 would block forever without the timer bounding the wait. */
	assert_int_equal(ev_run_once(loop, -1), 0);
	assert_int_equal(nrec, 1);
	assert_true(mono_ms() - t0 >= 19);

	/* And a caller's timeout bounds the wait for a far timer. */
	assert_non_null(ev_timer_add(loop, 60000, rec_timer_cb, NULL));
	t0 = mono_ms();
	assert_int_equal(ev_run_once(loop, 30), 0);
	assert_int_equal(nrec, 1);
	assert_true(mono_ms() - t0 < 5000);
	ev_loop_free(loop);
}

static void busy_now_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t t0 = mono_ms();
	uint64_t *seen = arg;

	(void)fd;
	(void)events;
	seen[0] = ev_now_ms(loop);
	while (mono_ms() - t0 < 5)
		;
	seen[1] = ev_now_ms(loop);
}

static void test_now_cached_per_iteration(void **state)
{
	struct ev_loop *loop = new_loop();
	uint64_t seen[2] = {0};
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(ev_add_fd(loop, p[1], EV_WRITE, busy_now_cb, seen), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_true(seen[0] != 0);
	assert_int_equal(seen[0], seen[1]);
	/* Outside the loop the clock is live, not the stale cache. */
	assert_true(ev_now_ms(loop) >= seen[0] + 5);
	ev_loop_free(loop);
	close_pipe(p);
}

/* Every test gets a fresh record log and its own watchdog. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_loop_new_rejects_bad_size),
	    T(test_read_readiness),
	    T(test_write_readiness),
	    T(test_mod_changes_interest),
	    T(test_del_stops_events),
	    T(test_del_after_close_frees_slot),
	    T(test_errors),
	    T(test_fd_events),
	    T(test_hup_reported_without_interest),
	    T(test_rdhup_on_peer_shutdown),
	    T(test_stale_event_after_del),
	    T(test_stale_hup_after_del),
	    T(test_mod_in_batch_masks_pending_event),
	    T(test_reregister_other_in_batch),
	    T(test_reregister_self_in_callback),
	    T(test_stop_from_fd_callback),
	    T(test_nested_run_is_ebusy),
	    T(test_eintr_is_not_error),
	    T(test_timers_fire_in_expiry_order),
	    T(test_equal_expiry_fifo),
	    T(test_1000_random_timers_fire_sorted),
	    T(test_1000_random_timers_cancel_half),
	    T(test_cancel_pending),
	    T(test_cancel_self_from_callback),
	    T(test_cancel_other_from_callback),
	    T(test_rearm_from_callback),
	    T(test_zero_ms_rearm_runs_once_per_iteration),
	    T(test_stop_from_timer),
	    T(test_run_once_bounded_by_timer),
	    T(test_now_cached_per_iteration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
