// SPDX-License-Identifier: BSD-2-Clause
/*
 * epoll event loop: a flat per-fd table indexed by fd number, and one-shot
 * timers in a binary min-heap ordered by (expiry, insertion sequence).
 *
 * Invariants that the edge cases in ev.h rely on:
 *
 *  - Every epoll registration carries the fd number and a per-slot
 *    generation in epoll_event.data. The generation changes on every
 *    ev_add_fd(), so an event that epoll_wait() returned for a registration
 *    which a callback has since deleted (or deleted, closed and replaced by
 *    a new fd with the same number) no longer matches the slot and is
 *    dropped instead of being delivered to the wrong owner.
 *  - Delivered events are masked by the interest set current at delivery
 *    time, so an ev_mod_fd() made earlier in the same batch takes effect at
 *    once.
 *  - A timer is taken off the heap before its callback runs; while it runs
 *    it is in state RUNNING and owned by the dispatcher, which puts it back
 *    on the free list when the callback returns.
 *
 * Steady state allocates nothing: the fd table and the epoll_event batch are
 * sized once in ev_loop_new(), the heap array only grows, and timer structs
 * are recycled through a free list (only released by ev_loop_free()).
 */
#include "ev/ev.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

_Static_assert(EV_READ == EPOLLIN, "EV_READ must equal EPOLLIN");
_Static_assert(EV_WRITE == EPOLLOUT, "EV_WRITE must equal EPOLLOUT");
_Static_assert(EV_ERR == EPOLLERR, "EV_ERR must equal EPOLLERR");
_Static_assert(EV_HUP == EPOLLHUP, "EV_HUP must equal EPOLLHUP");
_Static_assert(EV_RDHUP == EPOLLRDHUP, "EV_RDHUP must equal EPOLLRDHUP");

/* Bits a caller may ask for. ERR and HUP are accepted but epoll always reports them. */
#define EV_INTEREST_MASK (EV_READ | EV_WRITE | EV_RDHUP)
#define EV_ALLOWED_MASK	 (EV_INTEREST_MASK | EV_ERR | EV_HUP)

/* Events fetched per epoll_wait(); level-triggering reports the rest next time. */
#define EV_BATCH 256

#define EV_HEAP_MIN 16

struct ev_fd_slot {
	ev_fd_cb cb; /* NULL: slot not registered */
	void *arg;
	uint32_t events; /* interest set, EV_INTEREST_MASK bits only */
	uint32_t gen;	 /* bumped on each add; stamped into epoll data */
};

enum ev_timer_state {
	EV_TIMER_FREE = 0, /* on the free list */
	EV_TIMER_PENDING,  /* in the heap */
	EV_TIMER_RUNNING,  /* off the heap, callback on the stack */
};

struct ev_timer {
	uint64_t expiry; /* loop clock, ms */
	uint64_t seq;	 /* insertion order: equal expiries fire FIFO */
	ev_timer_cb cb;
	void *arg;
	size_t idx;		    /* heap position while PENDING */
	struct ev_timer *next_free; /* free list link while FREE */
	enum ev_timer_state state;
};

struct ev_loop {
	int epfd;
	int max_fds;
	int nevents;
	bool stop;
	bool dispatching; /* inside ev_run_once's callback phase */
	uint64_t now;	  /* cached clock, ms */
	uint64_t timer_seq;
	struct ev_fd_slot *fds;
	struct epoll_event *events;
	struct ev_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	struct ev_timer *free_timers;
};

static uint64_t ev_clock_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer; no error path. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t ev_data_pack(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

struct ev_loop *ev_loop_new(int max_fds)
{
	struct ev_loop *loop;
	int err;

	if (max_fds <= 0) {
		errno = EINVAL;
		return NULL;
	}
	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->max_fds = max_fds;
	loop->nevents = max_fds < EV_BATCH ? max_fds : EV_BATCH;

	loop->fds = calloc((size_t)max_fds, sizeof(*loop->fds));
	if (!loop->fds) {
		err = ENOMEM;
		goto err_free_loop;
	}
	loop->events = calloc((size_t)loop->nevents, sizeof(*loop->events));
	if (!loop->events) {
		err = ENOMEM;
		goto err_free_fds;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = errno;
		goto err_free_events;
	}
	loop->now = ev_clock_ms();
	return loop;

err_free_events:
	free(loop->events);
err_free_fds:
	free(loop->fds);
err_free_loop:
	free(loop);
	errno = err;
	return NULL;
}

void ev_loop_free(struct ev_loop *loop)
{
	struct ev_timer *t, *next;

	if (!loop)
		return;
	for (size_t i = 0; i < loop->heap_len; i++)
		free(loop->heap[i]);
	for (t = loop->free_timers; t; t = next) {
		next = t->next_free;
		free(t);
	}
	free(loop->heap);
	close(loop->epfd);
	free(loop->events);
	free(loop->fds);
	free(loop);
}

/* Validates fd against the table; 0 or -EBADF / -ERANGE. */
static int ev_fd_check(const struct ev_loop *loop, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (fd >= loop->max_fds)
		return -ERANGE;
	return 0;
}

int ev_add_fd(struct ev_loop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg)
{
	struct ev_fd_slot *slot;
	struct epoll_event ev = {0};
	uint32_t gen;
	int err;

	err = ev_fd_check(loop, fd);
	if (err)
		return err;
	/* EPOLLET / EPOLLONESHOT would silently break the level-triggered contract. */
	if (!cb || (events & ~EV_ALLOWED_MASK))
		return -EINVAL;
	slot = &loop->fds[fd];
	if (slot->cb)
		return -EEXIST;

	gen = slot->gen + 1;
	ev.events = events & EV_INTEREST_MASK;
	ev.data.u64 = ev_data_pack(fd, gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	slot->gen = gen;
	slot->cb = cb;
	slot->arg = arg;
	slot->events = ev.events;
	return 0;
}

int ev_mod_fd(struct ev_loop *loop, int fd, uint32_t events)
{
	struct ev_fd_slot *slot;
	struct epoll_event ev = {0};
	int err;

	err = ev_fd_check(loop, fd);
	if (err)
		return err;
	if (events & ~EV_ALLOWED_MASK)
		return -EINVAL;
	slot = &loop->fds[fd];
	if (!slot->cb)
		return -ENOENT;

	/* Same registration, same generation: only the interest set changes. */
	ev.events = events & EV_INTEREST_MASK;
	ev.data.u64 = ev_data_pack(fd, slot->gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	slot->events = ev.events;
	return 0;
}

int ev_del_fd(struct ev_loop *loop, int fd)
{
	struct ev_fd_slot *slot;
	int err;

	err = ev_fd_check(loop, fd);
	if (err)
		return err;
	slot = &loop->fds[fd];
	if (!slot->cb)
		return -ENOENT;

	/*
	 * Forget the slot whatever epoll says: if the caller closed fd first
	 * (EBADF), or fd now names another file (ENOENT), the kernel has already
	 * dropped our registration, and keeping the slot would make the fd
	 * number unusable. The generation is left alone: clearing cb is enough
	 * to reject pending events, and the next add bumps it.
	 */
	slot->cb = NULL;
	slot->arg = NULL;
	slot->events = 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
		return -errno;
	return 0;
}

uint32_t ev_fd_events(struct ev_loop *loop, int fd)
{
	if (ev_fd_check(loop, fd) || !loop->fds[fd].cb)
		return 0;
	return loop->fds[fd].events;
}

/* ---- timers ---- */

static inline bool ev_timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->expiry < b->expiry || (a->expiry == b->expiry && a->seq < b->seq);
}

static inline void ev_heap_set(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->idx = i;
}

static void ev_heap_sift_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!ev_timer_before(t, loop->heap[parent]))
			break;
		ev_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	ev_heap_set(loop, i, t);
}

static void ev_heap_sift_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t n = loop->heap_len;

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && ev_timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!ev_timer_before(loop->heap[child], t))
			break;
		ev_heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	ev_heap_set(loop, i, t);
}

/* Removes the timer at heap position i; O(log n). */
static void ev_heap_remove(struct ev_loop *loop, size_t i)
{
	struct ev_timer *last = loop->heap[--loop->heap_len];

	if (i == loop->heap_len)
		return;
	ev_heap_set(loop, i, last);
	/* The moved element may belong above or below i; at most one sift moves it. */
	if (i > 0 && ev_timer_before(last, loop->heap[(i - 1) / 2]))
		ev_heap_sift_up(loop, i);
	else
		ev_heap_sift_down(loop, i);
}

static void ev_timer_release(struct ev_loop *loop, struct ev_timer *t)
{
	t->state = EV_TIMER_FREE;
	t->cb = NULL;
	t->arg = NULL;
	t->next_free = loop->free_timers;
	loop->free_timers = t;
}

struct ev_timer *ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t;
	uint64_t now;

	if (!cb) {
		errno = EINVAL;
		return NULL;
	}
	/* Grow first so that a failure leaves no half-inserted timer behind. */
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : EV_HEAP_MIN;
		struct ev_timer **heap = reallocarray(loop->heap, cap, sizeof(*heap));

		if (!heap)
			return NULL;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t = loop->free_timers;
	if (t) {
		loop->free_timers = t->next_free;
	} else {
		t = malloc(sizeof(*t));
		if (!t)
			return NULL;
	}

	now = ev_now_ms(loop);
	/* Saturate: a huge ms means "effectively never", not "wrapped to the past". */
	t->expiry = ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
	t->seq = loop->timer_seq++;
	t->cb = cb;
	t->arg = arg;
	t->next_free = NULL;
	t->state = EV_TIMER_PENDING;
	loop->heap[loop->heap_len++] = t;
	ev_heap_sift_up(loop, loop->heap_len - 1);
	return t;
}

/*
 * Cancel semantics, by state of the handle:
 *  PENDING  removed from the heap and recycled; the callback never runs.
 *  RUNNING  (cancel from the timer's own callback) a no-op: the timer has
 *           already fired and is recycled when its callback returns.
 *  FREE     (handle whose callback already returned, or already cancelled)
 *           a no-op, as long as the struct has not been handed out again by
 *           a later ev_timer_add(). Once reused, the old handle aliases the
 *           new timer, so holders must drop a handle when its callback runs.
 */
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t)
{
	if (!t || t->state != EV_TIMER_PENDING)
		return;
	ev_heap_remove(loop, t->idx);
	ev_timer_release(loop, t);
}

uint64_t ev_now_ms(struct ev_loop *loop)
{
	/*
	 * Callbacks see one clock value per iteration so that timers armed in
	 * the same batch share a base. Outside dispatch the cache may be
	 * arbitrarily old (setup code, time between ev_run_once calls), so read
	 * the clock instead of arming timers against a stale base.
	 */
	if (!loop->dispatching)
		loop->now = ev_clock_ms();
	return loop->now;
}

/* epoll_wait timeout honouring both the caller's bound and the next timer. */
static int ev_wait_timeout(struct ev_loop *loop, int timeout_ms)
{
	uint64_t wait;

	if (!loop->heap_len)
		return timeout_ms;
	if (loop->heap[0]->expiry <= loop->now)
		return 0;
	wait = loop->heap[0]->expiry - loop->now;
	if (wait > INT_MAX)
		wait = INT_MAX;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
		return timeout_ms;
	return (int)wait;
}

static void ev_dispatch_fd(struct ev_loop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct ev_fd_slot *slot;
	uint32_t events;

	if (fd < 0 || fd >= loop->max_fds)
		return;
	slot = &loop->fds[fd];
	/* Deleted, or deleted and re-added, by an earlier callback in this batch. */
	if (!slot->cb || slot->gen != gen)
		return;
	events = ev->events & (slot->events | EV_ERR | EV_HUP);
	if (!events)
		return;
	slot->cb(loop, fd, events, slot->arg);
}

static void ev_run_timers(struct ev_loop *loop)
{
	/*
	 * Only timers armed before this pass may fire in it: a callback that
	 * re-arms itself with 0 ms would otherwise spin here forever. Timers
	 * armed during the pass all expire at >= now with a larger seq, so the
	 * first one met at the top of the heap ends the pass.
	 */
	uint64_t limit = loop->timer_seq;

	while (loop->heap_len && !loop->stop) {
		struct ev_timer *t = loop->heap[0];

		if (t->expiry > loop->now || t->seq >= limit)
			break;
		ev_heap_remove(loop, 0);
		t->state = EV_TIMER_RUNNING;
		t->cb(loop, t, t->arg);
		ev_timer_release(loop, t);
	}
}

/* One iteration without touching the stop flag, so ev_run can observe it. */
static int ev_iterate(struct ev_loop *loop, int timeout_ms)
{
	int n;

	loop->now = ev_clock_ms();
	n = epoll_wait(loop->epfd, loop->events, loop->nevents, ev_wait_timeout(loop, timeout_ms));
	if (n < 0) {
		/* A signal is not an error; due timers still run below. */
		if (errno != EINTR)
			return -errno;
		n = 0;
	}

	loop->now = ev_clock_ms();
	loop->dispatching = true;
	for (int i = 0; i < n && !loop->stop; i++)
		ev_dispatch_fd(loop, &loop->events[i]);
	ev_run_timers(loop);
	loop->dispatching = false;
	return 0;
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	/* The batch array is shared: a nested iteration would overwrite it. */
	if (loop->dispatching)
		return -EBUSY;
	loop->stop = false;
	return ev_iterate(loop, timeout_ms);
}

int ev_run(struct ev_loop *loop)
{
	int err = 0;

	if (loop->dispatching)
		return -EBUSY;
	loop->stop = false;
	while (!loop->stop) {
		err = ev_iterate(loop, -1);
		if (err)
			break;
	}
	loop->stop = false;
	return err;
}

/*
 * Takes effect after the running callback returns: the rest of the current
 * batch and any due timers are left for the next run (fds are level-triggered
 * and timers stay in the heap, so nothing is lost), and ev_run returns.
 */
void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
