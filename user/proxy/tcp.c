// SPDX-License-Identifier: BSD-2-Clause
/*
 * TCP proxy sessions. Each session has two halves (client->backend and
 * backend->client); each half runs in one of three ways:
 *
 *   H_USER     splice(2) src -> pipe -> dst. Used by 'splice: user'
 *              listeners and as the fallback when a socket cannot enter the
 *              sockhash (KERNEL-NOTES sockmap 8).
 *   H_RELAY    kernel listener, userspace moves the bytes that the verdict
 *              passed (before arming, after credit ran out, around EOF):
 *              recv(MSG_PEEK) on src (sockhash sockets must be read with
 *              recv() so the verdict sees queued data first), send() on
 *              the injector into dst's psock queue, then recv() to consume.
 *   H_SPLICED  the verdict redirects every skb to the peer; userspace only
 *              watches EPOLLRDHUP and refreshes flow-control credit.
 *
 * While a half relays it holds one 'hold token' in its direction's pending
 * count, so the verdict cannot redirect ahead of bytes userspace still has
 * to inject; injected bytes queue behind everything redirected before, so
 * the byte order is kept across mode changes.
 */
#include "proxy/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sock.h"
#include "policy/domset.h"
#include "tls/hello.h"
#include "util/log.h"

#define TP_PEEK_MIN	(256u << 10) /* smallest relay peek buffer */
#define TP_PIPE_SIZE	(1u << 20)
#define TP_ACCEPT_BATCH 64
#define TP_POLL_MS	2 /* backlog / EOF re-check while relaying */
#define TP_NO_SLOT	UINT32_MAX

enum tp_hmode {
	H_USER = 0,
	H_RELAY,
	H_SPLICED,
};

struct tp_session;

struct tp_half {
	struct tp_session *s;
	int *src, *dst; /* point at the session's fds */
	enum tp_hmode mode;
	bool eof;		  /* src delivered its last byte */
	bool done;		  /* shutdown(dst, SHUT_WR) sent */
	bool can_read, can_write; /* readiness hints, cleared on EAGAIN */
	bool waiting;		  /* a backlog/EOF re-check is scheduled */
	bool src_fin;		  /* src's FIN arrived (EPOLLRDHUP/HUP): no way back to H_SPLICED */
	/* H_USER */
	int pipe[2];
	size_t pipe_fill, pipe_cap;
	/* H_RELAY: peek buffer, sized to hold src's whole receive buffer */
	char *buf;
	size_t buf_cap;
	/* kernel bookkeeping */
	uint32_t slot;	       /* src's slot, or TP_NO_SLOT */
	uint64_t user_written; /* bytes userspace wrote to dst, ever */
	uint64_t written_base; /* dst's written counter minus user_written at arm */
	uint64_t fwd_checked;  /* fwd_bytes when backlog was last seen 0 */
	bool backlog_zero;     /* ... and it was */
	uint64_t bytes;	       /* userspace-moved bytes (stats) */
};

enum tp_sstate {
	S_CONNECTING = 0,
	S_RUNNING,
	S_SNI, /* TLS passthrough: reading the ClientHello's server name (peeked, not consumed) */
};

struct tp_listener {
	struct tp_proxy *p;
	const struct cfg_listener *cfg;
	int fd;
	struct domset **sni; /* per cfg sni_route: its names */
};

struct tp_backend {
	const struct cfg_backend *cfg;
	struct tp_backend_stats st;
	int cur_weight; /* smooth WRR state */
};

struct tp_pool {
	const struct cfg_pool *cfg;
	struct tp_backend *be;
	size_t n;
};

struct tp_session {
	struct tp_proxy *p;
	struct tp_listener *l;
	struct tp_session *prev, *next;
	int cfd, bfd;
	enum tp_sstate state;
	struct tp_half c2b, b2c;
	size_t pool; /* cfg.pools index: the listener's, or the one its SNI picked */
	struct tp_backend *be;
	uint32_t slot; /* even slot of the pair, or TP_NO_SLOT */
	bool cfd_watched, bfd_watched;
	struct ev_timer *timer;
	void (*done)(void *ctx, uint64_t c2b, uint64_t b2c); /* adopted: its log line */
	void *done_ctx;
	uint64_t tried; /* bitmap of tried backends (first 64) */
	unsigned attempts;
};

struct tp_proxy {
	struct ev_loop *loop;
	const struct cfg *cfg;
	struct tp_listener *ls;
	size_t nr_ls;
	struct tp_pool *pools;
	struct splice_ctl *splice;
	uint32_t *free_slots; /* stack of free even slots */
	uint32_t nr_free;
	struct tp_session **by_slot; /* pair index -> session */
	struct tp_session *sessions; /* list of live sessions */
	struct tp_totals tot;
	uint64_t budget_default;
	uint8_t *hello; /* HELLO_WIRE_MAX bytes: ClientHellos are peeked into it */
};

static void session_progress(struct tp_session *s);
static void session_close(struct tp_session *s, bool abort);
static void session_try_connect(struct tp_session *s);
static void session_update_interest(struct tp_session *s);
static void session_start_running(struct tp_session *s);
static void session_sni(struct tp_session *s);

/* ---- pools: smooth weighted round robin (as nginx) ---- */

static struct tp_backend *tp_pool_pick(struct tp_pool *pool, uint64_t tried)
{
	struct tp_backend *best = NULL;
	int total = 0;

	for (size_t i = 0; i < pool->n; i++) {
		struct tp_backend *b = &pool->be[i];

		if (!b->cfg->weight || (i < 64 && (tried & (1ull << i))))
			continue;
		b->cur_weight += (int)b->cfg->weight;
		total += (int)b->cfg->weight;
		if (!best || b->cur_weight > best->cur_weight)
			best = b;
	}
	if (best)
		best->cur_weight -= total;
	return best;
}

/* ---- slots ---- */

static uint32_t slot_alloc(struct tp_proxy *p)
{
	if (!p->nr_free)
		return TP_NO_SLOT;
	return p->free_slots[--p->nr_free];
}

static void slot_free(struct tp_proxy *p, uint32_t slot)
{
	p->free_slots[p->nr_free++] = slot;
}

/* ---- session plumbing ---- */

/* The connect to s->be failed (why: for the log): try the next backend. */
static void session_connect_failed(struct tp_session *s, const char *why)
{
	pr_debug("connect to %s failed: %s", s->be->cfg->addr_str, why);
	s->be->st.connect_fail++;
	ev_del_fd(s->p->loop, s->bfd);
	close(s->bfd);
	s->bfd = -1;
	s->bfd_watched = false;
	session_try_connect(s);
}

static void session_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct tp_session *s = arg;

	(void)loop;
	(void)t;
	s->timer = NULL;
	if (s->state == S_CONNECTING) {
		session_connect_failed(s, "timed out");
		return;
	}
	if (s->state == S_SNI) {
		s->p->tot.sni_refused++;
		pr_debug("%s: no complete ClientHello in time", s->l->cfg->name);
		session_close(s, false);
		return;
	}
	s->c2b.waiting = s->b2c.waiting = false;
	session_progress(s);
}

static void session_kick(struct tp_session *s, uint64_t ms)
{
	if (s->timer)
		return;
	s->timer = ev_timer_add(s->p->loop, ms, session_timer_cb, s);
}

static void half_init(struct tp_half *h, struct tp_session *s, int *src, int *dst)
{
	memset(h, 0, sizeof(*h));
	h->s = s;
	h->src = src;
	h->dst = dst;
	h->pipe[0] = h->pipe[1] = -1;
	h->slot = TP_NO_SLOT;
	h->can_read = h->can_write = true;
}

static void half_release(struct tp_half *h)
{
	if (h->pipe[0] >= 0)
		close(h->pipe[0]);
	if (h->pipe[1] >= 0)
		close(h->pipe[1]);
	h->pipe[0] = h->pipe[1] = -1;
	free(h->buf);
	h->buf = NULL;
}

static uint64_t half_kernel_bytes(struct tp_half *h)
{
	struct splice_dir *d;

	if (h->slot == TP_NO_SLOT || !h->s->p->splice)
		return 0;
	d = splice_ctl_dir(h->s->p->splice, h->slot);
	return d ? splice_load(&d->fwd_bytes) : 0;
}

static void half_shutdown_dst(struct tp_half *h)
{
	if (h->done)
		return;
	shutdown(*h->dst, SHUT_WR);
	h->done = true;
}

/* ---- H_USER: splice(2) through a pipe ---- */

static int half_user_setup(struct tp_half *h)
{
	if (h->pipe[0] >= 0)
		return 0;
	if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	/* Bigger pipes mean fewer splice calls; the default max is 1 MiB. */
	int cap = fcntl(h->pipe[1], F_SETPIPE_SZ, TP_PIPE_SIZE);

	if (cap < 0)
		cap = fcntl(h->pipe[1], F_GETPIPE_SZ);
	h->pipe_cap = cap > 0 ? (size_t)cap : 65536;
	return 0;
}

/* Returns 1 if progress was made, 0 if blocked, -errno on a fatal error. */
static int half_user_step(struct tp_half *h)
{
	int progress = 0;
	ssize_t n;

	for (;;) {
		bool moved = false;

		if (!h->eof && h->can_read && h->pipe_fill < h->pipe_cap) {
			n = splice(*h->src, NULL, h->pipe[1], NULL, h->pipe_cap - h->pipe_fill,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->pipe_fill += (size_t)n;
				moved = true;
			} else if (n == 0) {
				h->eof = true;
				moved = true;
			} else if (errno == EAGAIN) {
				/* The pipe may be full (its size can be < TP_PIPE_SIZE). */
				h->can_read = false;
			} else if (errno != EINTR) {
				return -errno;
			}
		}
		if (h->pipe_fill && h->can_write) {
			n = splice(h->pipe[0], NULL, *h->dst, NULL, h->pipe_fill,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->pipe_fill -= (size_t)n;
				h->bytes += (uint64_t)n;
				h->can_read = true; /* room in the pipe again */
				moved = true;
			} else if (n < 0 && errno == EAGAIN) {
				h->can_write = false;
			} else if (n < 0 && errno != EINTR) {
				return -errno;
			}
		}
		if (!moved)
			break;
		progress = 1;
	}
	if (h->eof && !h->pipe_fill)
		half_shutdown_dst(h);
	return progress;
}

/* ---- H_RELAY / H_SPLICED: kernel splice ---- */

/*
 * Bytes redirected to dst that the kernel has not yet put into dst's TCP
 * send queue (the psock backlog). 0 = userspace may write to dst without
 * overtaking redirected bytes. Cached: unchanged fwd_bytes keeps it 0.
 */
static int half_backlog(struct tp_half *h, struct splice_dir *d, uint64_t *backlog)
{
	uint64_t fwd = splice_load(&d->fwd_bytes), w;
	int err;

	if (h->backlog_zero && fwd == h->fwd_checked) {
		*backlog = 0;
		return 0;
	}
	err = sock_tcp_written(*h->dst, &w);
	if (err)
		return err;
	w -= h->written_base;
	*backlog = h->user_written + fwd > w ? h->user_written + fwd - w : 0;
	h->backlog_zero = *backlog == 0;
	h->fwd_checked = fwd;
	return 0;
}

/* Grant the verdict room for 'budget' bytes beyond what dst has absorbed. */
static void half_refresh_credit(struct tp_half *h, struct splice_dir *d)
{
	uint64_t budget = h->s->l->cfg->splice_budget, backlog, room, fwd;

	if (half_backlog(h, d, &backlog))
		return;
	fwd = splice_load(&d->fwd_bytes);
	room = backlog < budget ? budget - backlog : 0;
	splice_store(&d->credit, fwd + room);
	/* Below 64 KiB of room, let the verdict run dry and pass instead. */
	splice_store(&d->notify_at, room >= (128u << 10) ? fwd + room / 2 : UINT64_MAX);
}

/* Drop n bytes from the head of src's queue: they were already injected. */
static int half_consume(struct tp_half *h, size_t n)
{
	while (n) {
		ssize_t r = recv(*h->src, h->buf, n, MSG_DONTWAIT);

		if (r > 0) {
			n -= (size_t)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else {
			/* Peeked bytes vanished: the stream is broken. */
			return r < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/*
 * Give the direction back to the verdict: subtract our token and the 'also'
 * bytes just injected; true if that left nothing pending. Otherwise the
 * token is taken again (the 'also' bytes stay subtracted).
 */
static bool half_try_splice(struct tp_half *h, struct splice_dir *d, uint64_t also)
{
	/* After the FIN only EOF is left to see, and only a relaying half sees it. */
	if (h->src_fin) {
		splice_pending_sub(d, also);
		return false;
	}
	half_refresh_credit(h, d);
	if (splice_pending_sub(d, also + 1) == 0) {
		h->mode = H_SPLICED;
		return true;
	}
	splice_pending_add(d, 1);
	return false;
}

/*
 * Relay what the verdict passed. Bytes are peeked, injected into dst's psock
 * queue (behind everything redirected there before, so order holds without
 * waiting for that queue to drain), and only then consumed. Peeking leaves
 * them charged to src's receive buffer, so a sender that outruns dst finds
 * the window closed; when everything passed is injected, 'pending' drops to
 * zero at once and the verdict takes over again. Consuming only afterwards
 * is what lets the hand-back happen under full load: new bytes cannot
 * arrive before the window opens, and by then they are redirected.
 */
static int half_relay_step(struct tp_half *h)
{
	struct splice_ctl *ctl = h->s->p->splice;
	struct splice_dir *d = splice_ctl_dir(ctl, h->slot);
	uint64_t budget = h->s->l->cfg->splice_budget, backlog;
	int progress = 0, err;

	if (!h->buf) {
		h->buf = malloc(h->buf_cap);
		if (!h->buf)
			return -ENOMEM;
	}
	while (!h->eof && h->can_read) {
		ssize_t n, k;

		/* Flow control: take more only while dst keeps up. */
		err = half_backlog(h, d, &backlog);
		if (err)
			return err;
		if (backlog > budget / 2) {
			h->waiting = true;
			break;
		}
		n = recv(*h->src, h->buf, h->buf_cap, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			h->can_read = false;
			break;
		}
		if (n == 0) {
			/*
			 * Not EOF while passed bytes are still on their way to
			 * the socket's queue (KERNEL-NOTES sockmap 6).
			 */
			if (splice_load(&d->pending) > 1) {
				h->waiting = true;
				h->can_read = false;
				break;
			}
			h->eof = true;
			progress = 1;
			break;
		}
		k = splice_ctl_inject(ctl, h->slot ^ 1, h->buf, (size_t)n);
		if (k == -EAGAIN) {
			h->waiting = true; /* injector full: retry on a tick */
			break;
		}
		if (k < 0)
			return (int)k;
		h->user_written += (uint64_t)k;
		h->bytes += (uint64_t)k;
		h->backlog_zero = false;
		progress = 1;
		if (k == n && splice_load(&d->pending) == 1 + (uint64_t)n) {
			/* All that was passed is injected: try to hand back. */
			bool spliced = half_try_splice(h, d, (uint64_t)n);

			err = half_consume(h, (size_t)n);
			if (spliced) {
				free(h->buf);
				h->buf = NULL;
				return err ? err : 1;
			}
		} else {
			splice_pending_sub(d, (uint64_t)k);
			err = half_consume(h, (size_t)k);
		}
		if (err)
			return err;
	}

	if (h->eof) {
		/* Half-close only once dst has every forwarded byte (sockmap 5). */
		err = half_backlog(h, d, &backlog);
		if (err)
			return err;
		if (backlog) {
			h->waiting = true;
			return progress;
		}
		half_shutdown_dst(h);
		return progress;
	}
	if (!h->can_read && !h->waiting && splice_load(&d->pending) == 1 &&
	    half_try_splice(h, d, 0)) {
		free(h->buf);
		h->buf = NULL;
		return 1;
	}
	return progress;
}

static int half_step(struct tp_half *h)
{
	if (h->done)
		return 0;
	switch (h->mode) {
	case H_USER:
		return half_user_step(h);
	case H_RELAY:
		return half_relay_step(h);
	case H_SPLICED:
		return 0;
	}
	return 0;
}

/* A spliced half needs userspace again: take the hold token and relay. */
static void half_to_relay(struct tp_half *h)
{
	struct splice_dir *d;

	if (h->mode != H_SPLICED || h->done)
		return;
	d = splice_ctl_dir(h->s->p->splice, h->slot);
	splice_pending_add(d, 1);
	h->mode = H_RELAY;
	h->can_read = h->can_write = true;
}

/* ---- session ---- */

static void fd_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct tp_session *s = arg;
	struct tp_half *rd = fd == s->cfd ? &s->c2b : &s->b2c; /* fd is its src */
	struct tp_half *wr = fd == s->cfd ? &s->b2c : &s->c2b; /* fd is its dst */

	(void)loop;
	if (s->state == S_SNI) {
		if (events & (EV_ERR | EV_HUP)) {
			session_close(s, true);
			return;
		}
		session_sni(s);
		return;
	}
	if (s->state == S_CONNECTING) {
		if (fd == s->bfd) {
			int e = sock_error(fd);

			ev_timer_cancel(s->p->loop, s->timer);
			s->timer = NULL;
			if (e) {
				session_connect_failed(s, strerror(e > 0 ? e : -e));
				return;
			}
			s->state = S_RUNNING;
			s->be->st.conns++;
			s->be->st.active++;
			session_start_running(s);
			return;
		}
		/* Client side while connecting: only errors matter. */
		if (events & EV_ERR) {
			session_close(s, true);
			return;
		}
		/* Its FIN or data waits in the kernel until the backend is up. */
		ev_mod_fd(s->p->loop, s->cfd, 0);
		if (events & EV_HUP) {
			ev_del_fd(s->p->loop, s->cfd);
			s->cfd_watched = false;
		}
		return;
	}

	if (events & EV_ERR) {
		session_close(s, true);
		return;
	}
	if (events & (EV_READ | EV_RDHUP | EV_HUP))
		rd->can_read = true;
	if (events & (EV_WRITE | EV_HUP))
		wr->can_write = true;
	if (events & (EV_RDHUP | EV_HUP))
		rd->src_fin = true;
	if (events & EV_RDHUP)
		half_to_relay(rd);
	if (events & EV_HUP) {
		/*
		 * Both directions of this socket are shut: EPOLLHUP stays
		 * raised and would spin (KERNEL-NOTES sockmap 7). Stop watching;
		 * the poll timer finishes what is left.
		 */
		ev_del_fd(s->p->loop, fd);
		if (fd == s->cfd)
			s->cfd_watched = false;
		else
			s->bfd_watched = false;
		half_to_relay(rd);
		rd->waiting = true;
	}
	session_progress(s);
}

/* The peek buffer must hold a full receive buffer for the hand-back to work. */
static size_t tp_peek_cap(const struct cfg_listener *lc)
{
	/* The kernel doubles SO_RCVBUF; the default tcp_rmem max is 6 MiB. */
	uint64_t cap = lc->rcvbuf ? 2 * lc->rcvbuf : (6u << 20);

	if (cap < TP_PEEK_MIN)
		cap = TP_PEEK_MIN;
	if (cap > (32u << 20))
		cap = 32u << 20;
	return (size_t)cap;
}

static int session_arm(struct tp_session *s)
{
	struct tp_proxy *p = s->p;
	uint64_t w;
	int err;

	if (s->l->cfg->splice != CFG_SPLICE_KERNEL || !p->splice)
		goto user;
	s->slot = slot_alloc(p);
	if (s->slot == TP_NO_SLOT)
		goto fallback;
	err = splice_ctl_add_pair(p->splice, s->slot, s->cfd, s->bfd, s->l->cfg->splice_budget);
	if (err) {
		pr_debug("sockhash insert failed (%s): userspace relay", strerror(-err));
		slot_free(p, s->slot);
		s->slot = TP_NO_SLOT;
		goto fallback;
	}
	p->by_slot[s->slot / 2] = s;
	p->tot.spliced_active++;
	s->c2b.slot = s->slot;
	s->b2c.slot = s->slot + 1;
	s->c2b.mode = s->b2c.mode = H_RELAY;
	s->c2b.buf_cap = s->b2c.buf_cap = tp_peek_cap(s->l->cfg);
	/* Nothing was written by userspace yet: dst's counter is the base. */
	if (sock_tcp_written(s->bfd, &w) == 0)
		s->c2b.written_base = w;
	if (sock_tcp_written(s->cfd, &w) == 0)
		s->b2c.written_base = w;
	return 0;

fallback:
	p->tot.kernel_fallback++;
user:
	s->c2b.mode = s->b2c.mode = H_USER;
	if ((err = half_user_setup(&s->c2b)) || (err = half_user_setup(&s->b2c)))
		return err;
	return 0;
}

static uint32_t half_interest_src(struct tp_half *h)
{
	if (h->done || h->eof)
		return 0;
	if (h->mode == H_SPLICED)
		return EV_RDHUP;
	if (h->waiting)
		return 0;
	if (h->mode == H_USER)
		return h->pipe_fill < h->pipe_cap && !h->can_read ? EV_READ : 0;
	return !h->can_read ? EV_READ : 0;
}

static uint32_t half_interest_dst(struct tp_half *h)
{
	if (h->done || h->waiting || h->can_write)
		return 0;
	/* H_RELAY writes through the injector, never to dst directly. */
	if (h->mode == H_USER)
		return h->pipe_fill ? EV_WRITE : 0;
	return 0;
}

static void session_update_interest(struct tp_session *s)
{
	uint32_t ce = half_interest_src(&s->c2b) | half_interest_dst(&s->b2c);
	uint32_t be = half_interest_src(&s->b2c) | half_interest_dst(&s->c2b);

	if (s->cfd_watched && ev_fd_events(s->p->loop, s->cfd) != ce)
		ev_mod_fd(s->p->loop, s->cfd, ce);
	if (s->bfd_watched && ev_fd_events(s->p->loop, s->bfd) != be)
		ev_mod_fd(s->p->loop, s->bfd, be);
}

static void session_progress(struct tp_session *s)
{
	int r1, r2, rounds = 0;

	do {
		r1 = half_step(&s->c2b);
		r2 = half_step(&s->b2c);
		if (r1 < 0 || r2 < 0) {
			int e = r1 < 0 ? r1 : r2;

			if (e != -EPIPE && e != -ECONNRESET)
				pr_debug("session error: %s", strerror(-e));
			session_close(s, true);
			return;
		}
	} while ((r1 > 0 || r2 > 0) && ++rounds < 16);

	if (s->c2b.done && s->b2c.done) {
		session_close(s, false);
		return;
	}
	/* A half that is waiting on the kernel or was unwatched needs a tick. */
	if (s->c2b.waiting || s->b2c.waiting || (!s->cfd_watched && !s->c2b.done) ||
	    (!s->bfd_watched && !s->b2c.done) || rounds >= 16) {
		if (rounds >= 16) {
			/* Fairness: yield, come back at once. */
			s->c2b.can_read = s->b2c.can_read = true;
		}
		session_kick(s, rounds >= 16 ? 0 : TP_POLL_MS);
	}
	session_update_interest(s);
}

static void session_start_running(struct tp_session *s)
{
	int err = session_arm(s);

	if (err) {
		pr_warn("cannot set up session: %s", strerror(-err));
		session_close(s, true);
		return;
	}
	if (!s->cfd_watched) {
		/* Was unwatched after HUP while connecting. */
		s->c2b.waiting = true;
	} else {
		ev_mod_fd(s->p->loop, s->cfd, 0);
	}
	session_progress(s);
}

static void session_try_connect(struct tp_session *s)
{
	struct tp_pool *pool = &s->p->pools[s->pool];
	const struct cfg_listener *lc = s->l->cfg;

	for (;;) {
		struct tp_backend *be = tp_pool_pick(pool, s->tried);
		size_t idx;
		int fd, err;

		if (!be || s->attempts >= pool->n) {
			s->p->tot.no_backend++;
			pr_debug("no backend reachable for a client of %s", lc->name);
			session_close(s, false);
			return;
		}
		idx = (size_t)(be - pool->be);
		if (idx < 64)
			s->tried |= 1ull << idx;
		s->attempts++;
		s->be = be;
		fd = sock_connect_nb(&be->cfg->addr, be->cfg->addrlen, lc->sndbuf, lc->rcvbuf);
		if (fd < 0) {
			be->st.connect_fail++;
			continue;
		}
		s->bfd = fd;
		err = ev_add_fd(s->p->loop, fd, EV_WRITE, fd_cb, s);
		if (err) {
			close(fd);
			s->bfd = -1;
			pr_warn("event loop: %s", strerror(-err));
			session_close(s, true);
			return;
		}
		s->bfd_watched = true;
		s->timer = ev_timer_add(s->p->loop, lc->connect_timeout_ms, session_timer_cb, s);
		return;
	}
}

static void session_close(struct tp_session *s, bool abort)
{
	struct tp_proxy *p = s->p;

	uint64_t k1 = 0, k2 = 0;

	ev_timer_cancel(p->loop, s->timer);
	s->timer = NULL;
	if (s->slot != TP_NO_SLOT) {
		k1 = half_kernel_bytes(&s->c2b);
		k2 = half_kernel_bytes(&s->b2c);
		if (s->be) {
			s->be->st.bytes_c2b += k1;
			s->be->st.bytes_b2c += k2;
			s->be->st.kernel_bytes += k1 + k2;
		}
		splice_ctl_del_pair(p->splice, s->slot);
		p->by_slot[s->slot / 2] = NULL;
		slot_free(p, s->slot);
		p->tot.spliced_active--;
	}
	if (s->done) {
		s->done(s->done_ctx, s->c2b.bytes + k1, s->b2c.bytes + k2);
		s->done = NULL;
	}
	if (s->be && s->state == S_RUNNING) {
		s->be->st.bytes_c2b += s->c2b.bytes;
		s->be->st.bytes_b2c += s->b2c.bytes;
		s->be->st.active--;
	}
	if (s->cfd >= 0) {
		if (s->cfd_watched)
			ev_del_fd(p->loop, s->cfd);
		abort ? sock_close_rst(s->cfd) : (void)close(s->cfd);
	}
	if (s->bfd >= 0) {
		if (s->bfd_watched)
			ev_del_fd(p->loop, s->bfd);
		abort ? sock_close_rst(s->bfd) : (void)close(s->bfd);
	}
	half_release(&s->c2b);
	half_release(&s->b2c);
	if (abort)
		p->tot.aborted++;
	if (s->prev)
		s->prev->next = s->next;
	else
		p->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	p->tot.active--;
	free(s);
}

static void listener_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct tp_listener *l = arg;
	struct tp_proxy *p = l->p;

	(void)loop;
	(void)events;
	for (int i = 0; i < TP_ACCEPT_BATCH; i++) {
		struct tp_session *s;
		int cfd;

		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				pr_warn("accept on %s: %s", l->cfg->name, strerror(errno));
			return;
		}
		p->tot.accepted++;
		if (p->tot.active >= p->cfg->max_conns || !(s = calloc(1, sizeof(*s)))) {
			sock_close_rst(cfd);
			continue;
		}
		s->p = p;
		s->l = l;
		s->cfd = cfd;
		s->bfd = -1;
		s->slot = TP_NO_SLOT;
		half_init(&s->c2b, s, &s->cfd, &s->bfd);
		half_init(&s->b2c, s, &s->bfd, &s->cfd);
		s->next = p->sessions;
		if (p->sessions)
			p->sessions->prev = s;
		p->sessions = s;
		p->tot.active++;
		s->pool = l->cfg->pool;
		if (l->cfg->nr_sni_routes) {
			/* the backend depends on the ClientHello: read its name first */
			s->state = S_SNI;
			if (ev_add_fd(p->loop, cfd, EV_READ | EV_RDHUP, fd_cb, s)) {
				session_close(s, true);
				continue;
			}
			s->cfd_watched = true;
			s->timer =
			    ev_timer_add(p->loop, l->cfg->connect_timeout_ms, session_timer_cb, s);
			continue;
		}
		if (ev_add_fd(p->loop, cfd, EV_RDHUP, fd_cb, s)) {
			session_close(s, true);
			continue;
		}
		s->cfd_watched = true;
		session_try_connect(s);
	}
}

/*
 * TLS passthrough: the client's ClientHello is peeked (left in the socket,
 * so the backend gets it whole through the usual relay and splice) until it
 * is complete; its server name picks the pool. SO_RCVLOWAT makes epoll wait
 * for as many bytes as the parser still needs, instead of reporting the
 * same unread bytes again and again.
 */
static void session_sni(struct tp_session *s)
{
	const struct cfg_listener *lc = s->l->cfg;
	struct tp_proxy *p = s->p;
	struct hello_info h;
	ssize_t n;
	int rc, one = 1;

	n = recv(s->cfd, p->hello, HELLO_WIRE_MAX, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		session_close(s, n < 0);
		return;
	}
	rc = hello_parse(p->hello, (size_t)n, &h);
	if (rc == -EAGAIN) {
		int want = (int)h.need;

		if (setsockopt(s->cfd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof(want)))
			session_close(s, true);
		return;
	}
	setsockopt(s->cfd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	s->pool = lc->pool; /* no name, or no route: the listener's pool, if any */
	if (rc == 0 && h.sni_len) {
		for (size_t i = 0; i < lc->nr_sni_routes; i++) {
			if (domset_match(s->l->sni[i], h.sni)) {
				s->pool = lc->sni_routes[i].pool;
				break;
			}
		}
	}
	if (s->pool == SIZE_MAX) {
		p->tot.sni_refused++;
		pr_debug("%s: %s: no route", lc->name,
			 rc	     ? "not a TLS ClientHello"
			 : h.sni_len ? h.sni
				     : "no server name");
		session_close(s, false);
		return;
	}
	p->tot.sni_routed++;
	ev_timer_cancel(p->loop, s->timer);
	s->timer = NULL;
	s->state = S_CONNECTING;
	ev_mod_fd(p->loop, s->cfd, EV_RDHUP);
	session_try_connect(s);
}

int tp_proxy_adopt(struct tp_proxy *p, size_t li, int cfd, int bfd, size_t pool, size_t be,
		   void (*done)(void *ctx, uint64_t c2b, uint64_t b2c), void *ctx)
{
	struct tp_session *s;

	if (li >= p->nr_ls ||
	    (pool != SIZE_MAX && (pool >= p->cfg->nr_pools || be >= p->pools[pool].n)) ||
	    !(s = calloc(1, sizeof(*s)))) {
		close(cfd);
		close(bfd);
		if (done)
			done(ctx, 0, 0);
		return -EINVAL;
	}
	s->done = done;
	s->done_ctx = ctx;
	s->p = p;
	s->l = &p->ls[li];
	s->cfd = cfd;
	s->bfd = bfd;
	s->slot = TP_NO_SLOT;
	s->be = pool == SIZE_MAX ? NULL : &p->pools[pool].be[be];
	half_init(&s->c2b, s, &s->cfd, &s->bfd);
	half_init(&s->b2c, s, &s->bfd, &s->cfd);
	s->next = p->sessions;
	if (p->sessions)
		p->sessions->prev = s;
	p->sessions = s;
	p->tot.active++;
	p->tot.adopted++;
	if (ev_add_fd(p->loop, cfd, EV_RDHUP, fd_cb, s)) {
		session_close(s, true);
		return -ENOMEM;
	}
	s->cfd_watched = true;
	if (ev_add_fd(p->loop, bfd, 0, fd_cb, s)) {
		session_close(s, true);
		return -ENOMEM;
	}
	s->bfd_watched = true;
	/* connected already: the rest is what a new session does once up */
	s->state = S_RUNNING;
	if (s->be) {
		s->be->st.conns++;
		s->be->st.active++;
	}
	session_start_running(s);
	return 0;
}

static int splice_event_cb(void *arg, const struct splice_event *ev)
{
	struct tp_proxy *p = arg;
	struct tp_session *s;
	struct tp_half *h;

	if (ev->slot >= splice_ctl_slots(p->splice))
		return 0;
	s = p->by_slot[ev->slot / 2];
	if (!s)
		return 0; /* stale: the session is gone */
	h = (ev->slot & 1) ? &s->b2c : &s->c2b;
	if (h->slot != ev->slot)
		return 0;
	if (ev->kind == SPLICE_EV_BROKEN) {
		/*
		 * The verdict met an skb repeating bytes it had already
		 * delivered and could not cut them off: the byte stream can
		 * no longer be kept exact, so reset rather than corrupt it.
		 */
		pr_warn("splice: slot %u: repeated bytes could not be trimmed; resetting the "
			"connection",
			ev->slot);
		session_close(s, true);
	} else if (ev->kind == SPLICE_EV_PASS) {
		half_to_relay(h);
		session_progress(s);
	} else if (ev->kind == SPLICE_EV_CREDIT && h->mode == H_SPLICED) {
		half_refresh_credit(h, splice_ctl_dir(p->splice, h->slot));
	}
	return 0;
}

static void splice_events_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct tp_proxy *p = arg;

	(void)loop;
	(void)fd;
	(void)events;
	splice_ctl_events_drain(p->splice, splice_event_cb, p);
}

struct tp_proxy *tp_proxy_new(struct ev_loop *loop, const struct cfg *cfg)
{
	struct tp_proxy *p;
	bool need_kernel = false, want_kernel = false;
	int err = -ENOMEM;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	p->cfg = cfg;
	p->pools = calloc(cfg->nr_pools, sizeof(*p->pools));
	p->ls = calloc(cfg->nr_listeners, sizeof(*p->ls));
	if (!p->pools || !p->ls)
		goto err;
	for (size_t i = 0; i < cfg->nr_pools; i++) {
		struct tp_pool *pool = &p->pools[i];

		pool->cfg = &cfg->pools[i];
		pool->n = pool->cfg->nr_backends;
		pool->be = calloc(pool->n, sizeof(*pool->be));
		if (!pool->be)
			goto err;
		for (size_t j = 0; j < pool->n; j++)
			pool->be[j].cfg = &pool->cfg->backends[j];
	}
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		if (cfg->listeners[i].splice != CFG_SPLICE_KERNEL)
			continue;
		if (cfg->listeners[i].mode == CFG_MODE_TCP)
			need_kernel = true;
		else
			want_kernel = true; /* HTTP tunnels: splice when we can */
	}

	if (need_kernel || want_kernel) {
		uint32_t pairs = cfg->max_conns;

		p->splice = splice_ctl_open(pairs, cfg->pin_path);
		if (!p->splice && !need_kernel) {
			pr_warn("kernel splice unavailable (%s): HTTP tunnels are relayed in "
				"userspace",
				strerror(errno));
			goto listeners;
		}
		if (!p->splice) {
			err = -errno;
			pr_err("kernel splice unavailable (%s); use 'splice: user' or run as root",
			       strerror(errno));
			goto err;
		}
		p->free_slots = calloc(pairs, sizeof(*p->free_slots));
		p->by_slot = calloc(pairs, sizeof(*p->by_slot));
		if (!p->free_slots || !p->by_slot)
			goto err;
		for (uint32_t k = 0; k < pairs; k++)
			p->free_slots[k] = 2 * (pairs - 1 - k);
		p->nr_free = pairs;
		err =
		    ev_add_fd(loop, splice_ctl_events_fd(p->splice), EV_READ, splice_events_cb, p);
		if (err)
			goto err;
	}

listeners:
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		const struct cfg_listener *lc = &cfg->listeners[i];
		struct tp_listener *l = &p->ls[i];

		l->p = p;
		l->cfg = lc;
		l->fd = -1;
		p->nr_ls = i + 1;
		if (lc->mode != CFG_MODE_TCP)
			continue; /* proxy/http.c serves it */
		l->fd = sock_listen(&lc->addr, lc->addrlen, lc->backlog, lc->sndbuf, lc->rcvbuf);
		if (l->fd < 0) {
			err = l->fd;
			pr_err("listener %s: cannot listen on %s: %s", lc->name, lc->bind_str,
			       strerror(-err));
			goto err;
		}
		p->nr_ls = i + 1;
		err = ev_add_fd(loop, l->fd, EV_READ, listener_cb, l);
		if (err)
			goto err;
		if (lc->nr_sni_routes) {
			char msg[256];

			err = -ENOMEM;
			if (!p->hello && !(p->hello = malloc(HELLO_WIRE_MAX)))
				goto err;
			l->sni = calloc(lc->nr_sni_routes, sizeof(*l->sni));
			if (!l->sni)
				goto err;
			for (size_t j = 0; j < lc->nr_sni_routes; j++) {
				l->sni[j] = domset_new();
				if (!l->sni[j])
					goto err;
				if (domset_add_list(l->sni[j],
						    (const char *const *)lc->sni_routes[j].names,
						    lc->sni_routes[j].nr_names, msg, sizeof(msg))) {
					pr_err("listener %s: sni_routes: %s", lc->name, msg);
					err = -EINVAL;
					goto err;
				}
			}
		}
		pr_info("listener %s on %s -> %s%s, %s splice", lc->name, lc->bind_str,
			lc->nr_sni_routes ? "TLS server names, else " : "",
			lc->pool == SIZE_MAX ? "(closed)" : cfg->pools[lc->pool].name,
			lc->splice == CFG_SPLICE_KERNEL ? "kernel" : "user");
	}
	return p;
err:
	tp_proxy_free(p);
	errno = -err;
	return NULL;
}

void tp_proxy_free(struct tp_proxy *p)
{
	if (!p)
		return;
	while (p->sessions)
		session_close(p->sessions, true);
	for (size_t i = 0; i < p->nr_ls; i++) {
		if (p->ls[i].fd >= 0) {
			ev_del_fd(p->loop, p->ls[i].fd);
			close(p->ls[i].fd);
		}
		for (size_t j = 0; p->ls[i].sni && j < p->ls[i].cfg->nr_sni_routes; j++)
			domset_free(p->ls[i].sni[j]);
		free(p->ls[i].sni);
	}
	free(p->hello);
	if (p->splice) {
		ev_del_fd(p->loop, splice_ctl_events_fd(p->splice));
		splice_ctl_close(p->splice);
	}
	if (p->pools)
		for (size_t i = 0; i < p->cfg->nr_pools; i++)
			free(p->pools[i].be);
	free(p->pools);
	free(p->ls);
	free(p->free_slots);
	free(p->by_slot);
	free(p);
}

void tp_proxy_totals(struct tp_proxy *p, struct tp_totals *out)
{
	*out = p->tot;
}

struct splice_ctl *tp_proxy_splice(struct tp_proxy *p)
{
	return p->splice;
}

const struct tp_backend_stats *tp_proxy_backend_stats(struct tp_proxy *p, size_t pool, size_t i)
{
	static struct tp_backend_stats live;
	struct tp_backend *be;

	if (pool >= p->cfg->nr_pools || i >= p->pools[pool].n)
		return NULL;
	be = &p->pools[pool].be[i];
	live = be->st;
	/* Add what live sessions moved so far. */
	for (struct tp_session *s = p->sessions; s; s = s->next) {
		if (s->be != be || s->state != S_RUNNING)
			continue;
		uint64_t k1 = half_kernel_bytes(&s->c2b), k2 = half_kernel_bytes(&s->b2c);

		live.bytes_c2b += s->c2b.bytes + k1;
		live.bytes_b2c += s->b2c.bytes + k2;
		live.kernel_bytes += k1 + k2;
	}
	return &live;
}

void tp_proxy_print_stats(struct tp_proxy *p, FILE *f)
{
	for (size_t i = 0; i < p->cfg->nr_pools; i++) {
		for (size_t j = 0; j < p->pools[i].n; j++) {
			const struct tp_backend_stats *st = tp_proxy_backend_stats(p, i, j);

			fprintf(f,
				"backend pool=%s addr=%s conns=%llu active=%llu connect_fail=%llu "
				"bytes_c2b=%llu bytes_b2c=%llu kernel_bytes=%llu\n",
				p->cfg->pools[i].name, p->pools[i].be[j].cfg->addr_str,
				(unsigned long long)st->conns, (unsigned long long)st->active,
				(unsigned long long)st->connect_fail,
				(unsigned long long)st->bytes_c2b,
				(unsigned long long)st->bytes_b2c,
				(unsigned long long)st->kernel_bytes);
		}
	}
}

static const char *const hmode_names[] = {"user", "relay", "spliced"};

static void half_dump(struct tp_half *h, const char *name, FILE *f)
{
	fprintf(f, "  %s mode=%s eof=%d done=%d rd=%d wr=%d wait=%d pipe=%zu user=%llu", name,
		hmode_names[h->mode], h->eof, h->done, h->can_read, h->can_write, h->waiting,
		h->pipe_fill, (unsigned long long)h->user_written);
	if (h->slot != TP_NO_SLOT && h->s->p->splice) {
		struct splice_dir *d = splice_ctl_dir(h->s->p->splice, h->slot);
		uint64_t w = 0;

		sock_tcp_written(*h->dst, &w);
		fprintf(f,
			" slot=%u fwd=%llu pass=%llu pending=%llu credit=%llu notify_at=%llu "
			"dst_written=%llu trimmed=%llu/%u",
			h->slot, (unsigned long long)splice_load(&d->fwd_bytes),
			(unsigned long long)splice_load(&d->pass_bytes),
			(unsigned long long)splice_load(&d->pending),
			(unsigned long long)splice_load(&d->credit),
			(unsigned long long)splice_load(&d->notify_at),
			(unsigned long long)(w - h->written_base),
			(unsigned long long)splice_load(&d->trim_bytes), d->trim_skbs);
	}
	fputc('\n', f);
}

void tp_proxy_dump(struct tp_proxy *p, FILE *f)
{
	for (struct tp_session *s = p->sessions; s; s = s->next) {
		fprintf(f, "session cfd=%d bfd=%d state=%d watched=%d/%d ev=%#x/%#x timer=%d\n",
			s->cfd, s->bfd, s->state, s->cfd_watched, s->bfd_watched,
			s->cfd >= 0 ? ev_fd_events(p->loop, s->cfd) : 0,
			s->bfd >= 0 ? ev_fd_events(p->loop, s->bfd) : 0, s->timer != NULL);
		half_dump(&s->c2b, "c2b", f);
		half_dump(&s->b2c, "b2c", f);
	}
}
