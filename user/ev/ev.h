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
/* Accepts NULL. Does not close registered fds. */
void ev_loop_free(struct ev_loop *loop);

/*
 * Register fd for 'events' (level-triggered). 0 or -errno (-EEXIST if already
 * registered, -ERANGE if fd >= max_fds).
 */
int ev_add_fd(struct ev_loop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg);
/* Change the interest set of a registered fd; 0 or -errno. */
int ev_mod_fd(struct ev_loop *loop, int fd, uint32_t events);
/* Forget fd (call before close). 0 or -errno (-ENOENT if unknown). */
int ev_del_fd(struct ev_loop *loop, int fd);
/* Current interest set of fd, 0 if not registered. */
uint32_t ev_fd_events(struct ev_loop *loop, int fd);

/*
 * Arm a one-shot timer firing after 'ms' milliseconds. Returns a handle or
 * NULL (errno set). The handle is valid until the callback returns or
 * ev_timer_cancel() is called; a callback may re-arm with ev_timer_add.
 */
struct ev_timer *ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_cb cb, void *arg);
/* Cancel a pending timer. Accepts NULL. */
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t);

/* Monotonic milliseconds, cached per loop iteration. */
uint64_t ev_now_ms(struct ev_loop *loop);

/* Run until ev_stop(). Returns 0, or -errno if epoll_wait fails (not EINTR). */
int ev_run(struct ev_loop *loop);
/* One iteration waiting at most timeout_ms (-1 = until an event). */
int ev_run_once(struct ev_loop *loop, int timeout_ms);
void ev_stop(struct ev_loop *loop);

#endif
