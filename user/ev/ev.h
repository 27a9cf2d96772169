/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small epoll event loop (after redis' ae.h): file events and one-shot
 * timers on a monotonic millisecond clock. One loop per thread; nothing here
 * is thread-safe. Callbacks may add, modify or delete any fd or timer,
 * including their own, and may call ev_stop().
 */
#ifndef XDP_EV_EV_H
#define XDP_EV_EV_H

#include <stdint.h>

struct ev_loop;
struct ev_timer;

/* Event bits passed to and from file callbacks; they equal EPOLL* values. */
#define EV_READ		0x001u	/* EPOLLIN */
#define EV_WRITE	0x004u	/* EPOLLOUT */
#define EV_ERR		0x008u	/* EPOLLERR (always reported) */
#define EV_HUP		0x010u	/* EPOLLHUP (always reported) */
#define EV_RDHUP	0x2000u	/* EPOLLRDHUP */

typedef void (*ev_fd_cb)(struct ev_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, struct ev_timer *t, void *arg);

/* Returns NULL and sets errno on failure. max_fds bounds fd numbers. */
struct ev_loop *ev_loop_new(int max_fds);
/* Accepts NULL. Does not close registered fds. Not from inside a callback. */
void ev_loop_free(struct ev_loop *loop);

/*
 * Register fd for 'events' (level-triggered). 0 or -errno (-EEXIST if already
 * registered, -ERANGE if fd >= max_fds, -EBADF if fd < 0, -EINVAL for a NULL
 * cb or bits other than EV_*). EV_ERR and EV_HUP are always reported and are
 * not part of the interest set. An event fetched for an earlier registration
 * of the same fd number is never delivered to this one.
 */
int ev_add_fd(struct ev_loop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg);
/*
 * Change the interest set of a registered fd; 0 or -errno (-ENOENT, -ERANGE,
 * -EINVAL as above). Also masks events already fetched in the current batch.
 */
int ev_mod_fd(struct ev_loop *loop, int fd, uint32_t events);
/*
 * Forget fd (call before close). 0 or -errno (-ENOENT if unknown). A pending
 * event for fd in the current batch is dropped. If fd was closed first the
 * slot is still freed and 0 returned.
 */
int ev_del_fd(struct ev_loop *loop, int fd);
/* Current interest set of fd, 0 if not registered. */
uint32_t ev_fd_events(struct ev_loop *loop, int fd);

/*
 * Arm a one-shot timer firing after 'ms' milliseconds. Returns a handle or
 * NULL (errno set). The handle is valid until the callback returns or
 * ev_timer_cancel() is called; a callback may re-arm with ev_timer_add.
 */
struct ev_timer *ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_cb cb, void *arg);
/*
 * Cancel a pending timer: its callback will not run. Accepts NULL. From the
 * timer's own callback it is a no-op (the timer has fired and is released
 * when the callback returns). A handle whose callback has returned must not
 * be passed: its memory is recycled for later timers.
 */
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t);

/*
 * Monotonic milliseconds, cached per loop iteration: constant inside the
 * callbacks of one iteration, read after epoll_wait returns and so before any
 * timer runs. Outside callbacks it reads the clock.
 */
uint64_t ev_now_ms(struct ev_loop *loop);

/*
 * Run until ev_stop(). Returns 0, or -errno if epoll_wait fails (not EINTR);
 * -EBUSY if called from a callback (the loop is not reentrant).
 */
int ev_run(struct ev_loop *loop);
/*
 * One iteration waiting at most timeout_ms (-1 = until an event), shortened
 * to the next timer's expiry. 0 or -errno as ev_run.
 */
int ev_run_once(struct ev_loop *loop, int timeout_ms);
/*
 * Called from a callback: once it returns, the rest of the iteration (further
 * fd events, due timers) is left for the next run and ev_run returns 0.
 * Nothing is lost: fds are level-triggered and timers stay queued.
 */
void ev_stop(struct ev_loop *loop);

#endif
