// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/1.1 reverse proxy sessions (see http.h for the shape).
 *
 * Each client connection runs one request ("transaction") at a time; its
 * whole state is in struct hp_conn and struct hp_txn, and hp_conn_progress()
 * is the only place that moves it: every event sets a readiness hint and
 * calls it, and it loops over the steps below until none can go further,
 * then sets the epoll interests both sockets need. Nothing blocks; every
 * buffer is bounded, and a full one simply stops the step that fills it.
 *
 *   client --read--> c->in --parse head, route, pick backend
 *                          --h1_write_head--> up->out --write--> upstream
 *                    c->in --request body, re-framed--> up->out
 *   upstream --read--> up->in --parse head--> c->out (h1_write_head)
 *                      up->in --response body, re-framed--> c->out --write--> client
 *
 * Timeouts use one timer per connection and per upstream connection, armed
 * for the nearest deadline and re-armed lazily when it fires early, so the
 * busy path of a keep-alive request touches no timer heap at all unless a
 * shorter deadline starts.
 */
#include "proxy/http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ev/ev.h"
#include "http/alog.h"
#include "http/fwd.h"
#include "http/h1.h"
#include "http/h2.h"
#include "http/revmap.h"
#include "net/proxyproto.h"
#include "net/sock.h"
#include "policy/rules.h"
#include "tls/client.h"
#include "tls/tls.h"
#include "route/pool.h"
#include "route/rules.h"
#include "util/log.h"

/* ------------------------------------------------------------------ buffers */

int hp_buf_get(struct hp_worker *w, struct hp_buf *b)
{
	if (b->p)
		return 0;
	if (w->nr_free_bufs) {
		b->p = w->free_bufs[--w->nr_free_bufs];
	} else {
		b->p = malloc(HP_BUF_SIZE);
		if (!b->p)
			return -ENOMEM;
	}
	b->cap = HP_BUF_SIZE;
	b->off = b->len = 0;
	return 0;
}

void hp_buf_put(struct hp_worker *w, struct hp_buf *b)
{
	if (!b->p)
		return;
	if (b->cap == HP_BUF_SIZE && w->nr_free_bufs < HP_FREE_BUFS)
		w->free_bufs[w->nr_free_bufs++] = b->p;
	else
		free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Moves the data to the front, so the room is all at the end. */
void hp_buf_compact(struct hp_buf *b)
{
	if (!b->off)
		return;
	memmove(b->p, b->p + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

/* Room for n more bytes at the end: compact, then grow. 0 or -ENOMEM. */
int hp_buf_reserve(struct hp_buf *b, uint32_t n)
{
	char *p;
	uint32_t cap;

	if (b->cap - b->len >= n)
		return 0;
	hp_buf_compact(b);
	if (b->cap - b->len >= n)
		return 0;
	cap = b->len + n;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/*
 * Capacity at least cap, data left where it is (offsets into the buffer
 * stay valid). A larger buffer goes back to malloc, not to the free list.
 */
int hp_buf_grow(struct hp_buf *b, uint32_t cap)
{
	char *p;

	if (!b->p || b->cap >= cap)
		return 0;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int hp_buf_append(struct hp_buf *b, const void *d, size_t n)
{
	if (hp_buf_reserve(b, (uint32_t)n))
		return -ENOMEM;
	memcpy(b->p + b->len, d, n);
	b->len += (uint32_t)n;
	return 0;
}

/* ------------------------------------------------------------------ timers */

static void conn_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg);

/* The current state times out ms from now (0: never). */
void hp_conn_deadline(struct hp_conn *c, uint32_t ms)
{
	uint64_t now = ev_now_ms(c->w->loop);

	c->deadline = ms ? now + ms : 0;
	if (!c->deadline)
		return; /* an armed timer finds no deadline and does nothing */
	if (c->timer && c->timer_at <= c->deadline)
		return; /* fires early, re-arms for the rest */
	ev_timer_cancel(c->w->loop, c->timer);
	c->timer = ev_timer_add(c->w->loop, ms, conn_timer_cb, c);
	c->timer_at = c->deadline;
}

/* Push the deadline on after activity, without touching the timer heap. */
void hp_conn_activity(struct hp_conn *c, uint32_t ms)
{
	if (c->deadline && ms)
		c->deadline = ev_now_ms(c->w->loop) + ms;
}

/* ------------------------------------------------------------------ helpers */

const char *hp_status_reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	case 508:
		return "Loop Detected";
	default:
		return "Error";
	}
}

static bool meth_idempotent(enum h1_meth m)
{
	return m == H1_METH_GET || m == H1_METH_HEAD || m == H1_METH_PUT || m == H1_METH_DELETE ||
	       m == H1_METH_OPTIONS || m == H1_METH_TRACE;
}

void hp_set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Sets fd's epoll interest to ev, adding or removing it as needed. */
void hp_fd_interest(struct ev_loop *loop, int fd, uint32_t ev, ev_fd_cb cb, void *arg)
{
	/* registered fds may have an empty interest set: 0 does not mean "not registered" */
	if (ev_fd_events(loop, fd) == ev)
		return;
	if (ev_mod_fd(loop, fd, ev) == -ENOENT)
		ev_add_fd(loop, fd, ev, cb, arg);
}

/* ------------------------------------------------------------------ txn */

static struct hp_txn *txn_get(struct hp_worker *w)
{
	struct hp_txn *t = w->free_txn;

	if (t) {
		w->free_txn = *(struct hp_txn **)t;
		return t;
	}
	return malloc(sizeof(*t));
}

static void txn_put(struct hp_worker *w, struct hp_txn *t)
{
	*(struct hp_txn **)t = w->free_txn;
	w->free_txn = t;
}

/* The access-log copy of span s of the request head, appended to t->log. */
static uint16_t log_copy(struct hp_txn *t, size_t *used, const char *buf, struct h1_span s)
{
	size_t n = s.len;

	if (n > sizeof(t->log) - *used)
		n = sizeof(t->log) - *used;
	memcpy(t->log + *used, buf + s.off, n);
	*used += n;
	return (uint16_t)n;
}

void hp_txn_log_fields(struct hp_conn *c, const char *buf)
{
	struct hp_txn *t = c->t;
	const struct h1_msg *m = &t->req;
	struct h1_span none = {0, 0};
	size_t used = 0;
	int i;

	t->lmeth = log_copy(t, &used, buf, m->method);
	t->ltarget = log_copy(t, &used, buf, m->target);
	t->lhost = log_copy(t, &used, buf, m->authority);
	i = h1_field_find(m, buf, "referer", 0);
	t->lref = log_copy(t, &used, buf, i >= 0 ? m->fields[i].value : none);
	i = h1_field_find(m, buf, "user-agent", 0);
	t->lua = log_copy(t, &used, buf, i >= 0 ? m->fields[i].value : none);
}

/*
 * The request's fields of an access log record from a copy made by
 * hp_txn_log_fields: method, target, host, Referer, User-Agent one after
 * the other in log, with their lengths (0 method: there was no request).
 */
static void log_req_fields(struct alog_rec *r, const char *p, uint16_t lmeth, uint16_t ltarget,
			   uint16_t lhost, uint16_t lref, uint16_t lua, uint8_t version)
{
	if (!lmeth)
		return;
	r->method = p;
	r->method_len = lmeth;
	p += lmeth;
	r->target = p;
	r->target_len = ltarget;
	p += ltarget;
	r->version = version;
	r->host = lhost ? p : NULL;
	r->host_len = lhost;
	p += lhost;
	r->referer = lref ? p : NULL;
	r->referer_len = lref;
	p += lref;
	r->user_agent = lua ? p : NULL;
	r->user_agent_len = lua;
}

void hp_txn_log(struct hp_conn *c)
{
	struct hp_server *s = c->w->s;
	struct hp_txn *t = c->t;
	struct alog_rec r;
	const char *p = t->log;
	char backend[80] = "";
	size_t len;

	if (s->log_fd < 0 || !t)
		return;
	memset(&r, 0, sizeof(r));
	r.client = (const struct sockaddr *)&c->peer;
	r.start = t->start_rt;
	r.duration_us = (ev_now_ms(c->w->loop) - t->start_ms) * 1000;
	log_req_fields(&r, p, t->lmeth, t->ltarget, t->lhost, t->lref, t->lua,
		       c->h2s ? 20 : t->version);
	r.status = t->status;
	r.bytes_sent = t->bytes_sent;
	r.bytes_received = t->bytes_rcvd;
	if (t->rule >= 0)
		r.route =
		    route_rule_get(s->rt[c->l->lc - s->cfg->listeners], (size_t)t->rule)->name;
	if (t->log_route)
		r.route = t->log_route;
	if (t->log_user)
		r.user = t->log_user;
	if (t->log_backend) {
		r.backend = t->log_backend;
	} else if (t->be) {
		snprintf(backend, sizeof(backend), "%s", t->be->cb->addr_str);
		r.backend = backend;
	}
	r.verdict = t->verdict ? t->verdict : "ok";
	r.upstream_ms =
	    t->first_up_ms ? (uint32_t)(t->first_up_ms - t->start_ms) : ALOG_UPSTREAM_NONE;
	if (alog_line(s->log_fmt, &r, c->w->logline, sizeof(c->w->logline), &len))
		return;
	if (write(s->log_fd, c->w->logline, len) < 0)
		return; /* a full disk must not stop the proxy */
}

/*
 * A tunnel's log line waits for its end: the spliced session (another
 * thread, tcp.c) reports its bytes when it closes. Everything the line
 * needs is copied here, since the connection is gone by then.
 */
struct hp_tlog {
	int fd;
	enum alog_format fmt;
	struct sockaddr_storage client;
	struct timespec start;
	uint64_t start_mono_ms;
	uint64_t bytes_sent, bytes_rcvd; /* before the hand-off */
	uint16_t status;
	uint8_t version;
	uint16_t lmeth, ltarget, lhost, lref, lua;
	char log[1024];
	char route[CFG_NAME_MAX + FPOL_NAME_MAX];
	char backend[HOST_NORM_MAX + 8];
	char user[AUTH_USER_MAX + 1];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void tlog_done(void *ctx, uint64_t to_backend, uint64_t to_client)
{
	struct hp_tlog *l = ctx;
	struct alog_rec r;
	const char *p = l->log;
	char line[HP_LOG_LINE];
	size_t len;

	memset(&r, 0, sizeof(r));
	r.client = (const struct sockaddr *)&l->client;
	r.start = l->start;
	r.duration_us = (mono_ms() - l->start_mono_ms) * 1000;
	log_req_fields(&r, p, l->lmeth, l->ltarget, l->lhost, l->lref, l->lua, l->version);
	r.status = l->status;
	r.bytes_sent = l->bytes_sent + to_client;
	r.bytes_received = l->bytes_rcvd + to_backend;
	r.route = l->route[0] ? l->route : NULL;
	r.backend = l->backend[0] ? l->backend : NULL;
	r.user = l->user[0] ? l->user : NULL;
	r.verdict = "tunnel";
	r.upstream_ms = ALOG_UPSTREAM_NONE;
	if (!alog_line(l->fmt, &r, line, sizeof(line), &len) && write(l->fd, line, len) < 0)
		pr_debug("access log: %s", strerror(errno));
	free(l);
}

/* The deferred log line of c's tunnel, or NULL (no access log, no memory). */
static struct hp_tlog *tlog_new(struct hp_conn *c)
{
	struct hp_server *s = c->w->s;
	struct hp_txn *t = c->t;
	struct hp_tlog *l;

	if (s->log_fd < 0 || !t || !(l = calloc(1, sizeof(*l))))
		return NULL;
	l->fd = s->log_fd;
	l->fmt = s->log_fmt;
	l->client = c->peer;
	l->start = t->start_rt;
	l->start_mono_ms = mono_ms() - (ev_now_ms(c->w->loop) - t->start_ms);
	l->bytes_sent = t->bytes_sent;
	l->bytes_rcvd = t->bytes_rcvd;
	l->status = t->status;
	l->version = t->version;
	l->lmeth = t->lmeth;
	l->ltarget = t->ltarget;
	l->lhost = t->lhost;
	l->lref = t->lref;
	l->lua = t->lua;
	memcpy(l->log, t->log, sizeof(l->log));
	if (t->log_route)
		snprintf(l->route, sizeof(l->route), "%s", t->log_route);
	else if (t->rule >= 0)
		snprintf(
		    l->route, sizeof(l->route), "%s",
		    route_rule_get(s->rt[c->l->lc - s->cfg->listeners], (size_t)t->rule)->name);
	if (t->log_backend)
		snprintf(l->backend, sizeof(l->backend), "%s", t->log_backend);
	else if (t->be)
		snprintf(l->backend, sizeof(l->backend), "%s", t->be->cb->addr_str);
	if (t->log_user)
		snprintf(l->user, sizeof(l->user), "%s", t->log_user);
	return l;
}

/* ------------------------------------------------------------------ upstream */

static void up_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg);

/* u's TLS handshake failed: counted, and why, for the operator (a bad CA, name, ...). */
static void up_tls_failed(struct hp_up *u, const char *why)
{
	struct hp_backend *be = u->be;

	be->tls_failed++;
	pr_warn("http pool %s backend %s: TLS handshake: %s", be->wp->cp->name, be->cb->addr_str,
		why);
}

static void up_unlink_idle(struct hp_up *u)
{
	struct hp_backend *be = u->be;

	if (u->prev)
		u->prev->next = u->next;
	else if (be->idle == u)
		be->idle = u->next;
	if (u->next)
		u->next->prev = u->prev;
	else if (be->idle_tail == u)
		be->idle_tail = u->prev;
	u->next = u->prev = NULL;
	be->nr_idle--;
}

void hp_up_close(struct hp_up *u)
{
	struct hp_worker *w = u->w;

	if (u->parked_on)
		u->parked_on->park = NULL; /* a forward proxy's, kept for its client only */
	else if (!u->c)
		up_unlink_idle(u);
	ev_timer_cancel(w->loop, u->timer);
	if (u->tls) {
		/* a close_notify if it can go at once: the server may keep our session */
		if (u->fd >= 0 && !u->tls_hs)
			tls_shutdown(u->tls);
		tls_conn_free(u->tls);
	}
	if (u->fd >= 0) {
		ev_del_fd(w->loop, u->fd);
		close(u->fd);
	}
	pool_conn_put(u->be->wp->pool, u->be->idx);
	hp_buf_put(w, &u->in);
	hp_buf_put(w, &u->out);
	free(u);
}

static void be_rest_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct hp_backend *be = arg;

	(void)loop;
	(void)t;
	be->rest = NULL;
	pool_set_up(be->wp->pool, be->idx, true);
}

/* Passive health: a backend that refused a connect rests HP_DOWN_MS. */
static void be_failed(struct hp_backend *be)
{
	struct hp_worker *w = be->wp->w;

	be->connect_fail++;
	w->tot.up_connect_fail++;
	if (be->rest)
		return;
	pool_set_up(be->wp->pool, be->idx, false);
	be->rest = ev_timer_add(w->loop, HP_DOWN_MS, be_rest_cb, be);
}

/* The upstream connection is done with its request: keep it idle or close it. */
void hp_up_release(struct hp_up *u, bool reusable)
{
	struct hp_backend *be = u->be;
	struct hp_worker *w = u->w;
	const struct cfg_pool *cp = be->wp->cp;

	u->c = NULL;
	/*
	 * A connection that began with a PROXY header speaks for one client:
	 * it is never given to another.
	 */
	if (!reusable || u->eof || hp_buf_data(&u->in) || hp_buf_data(&u->out) ||
	    be->nr_idle >= cp->keepalive || !cp->keepalive || cp->proxy_protocol != CFG_PP_OFF ||
	    (u->tls && (u->tls_hs || tls_pending(u->tls)))) {
		be->nr_idle++; /* up_close unlinks an idle one; it is not linked */
		u->c = NULL;
		u->next = u->prev = NULL;
		hp_up_close(u);
		return;
	}
	hp_buf_put(w, &u->in);
	hp_buf_put(w, &u->out);
	u->rd_ready = u->wr_blocked = false;
	u->reused = true;
	u->next = be->idle;
	u->prev = NULL;
	if (be->idle)
		be->idle->prev = u;
	else
		be->idle_tail = u;
	be->idle = u;
	be->nr_idle++;
	/* no timer per idle connection: sweep_cb closes the stale ones */
	ev_timer_cancel(w->loop, u->timer);
	u->timer = NULL;
	u->idle_since = ev_now_ms(w->loop);
	/* idle: any readable event means the server closed it or misbehaves */
	hp_fd_interest(w->loop, u->fd, EV_READ, hp_up_event, u);
}

static void up_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct hp_up *u = arg;
	struct hp_conn *c = u->c;

	(void)loop;
	(void)t;
	u->timer = NULL;
	if (!c)
		return;
	/* connect timeout */
	if (u->connecting) {
		if (u->tls_hs)
			up_tls_failed(u, "timed out");
		u->eof = true;
		c->w->tot.timeouts++;
		hp_conn_progress(c);
	}
}

/*
 * An idle TLS connection became readable. TLS 1.3 servers may send records
 * of their own (a late session ticket) after the response: those are read
 * and the connection stays idle. true: it does; false: it must be closed
 * (plain, hung up, application data the next request would misread, EOF
 * or an error).
 */
static bool up_tls_idle_read(struct hp_up *u, uint32_t events)
{
	char b;

	if (!u->tls || (events & (EV_HUP | EV_ERR)))
		return false;
	return tls_read(u->tls, &b, 1) == -EAGAIN && tls_want(u->tls) == TLS_WANT_READ &&
	       !tls_pending(u->tls);
}

void hp_up_event(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct hp_up *u = arg;

	(void)loop;
	(void)fd;
	if (!u->c) {
		/* idle connection readable: closed by the server (or TLS records of its own) */
		if (!up_tls_idle_read(u, events))
			hp_up_close(u);
		return;
	}
	/* TLS: a read may want the socket writable and a write readable (as conn_event) */
	if (events & (EV_READ | EV_HUP | EV_ERR) || (u->tls && events))
		u->rd_ready = true;
	if (events & (EV_WRITE | EV_HUP | EV_ERR) || (u->tls && events))
		u->wr_blocked = false;
	hp_conn_progress(u->c);
}

/* A new upstream connection to be for c. NULL when it could not even start. */
struct hp_up *hp_up_connect_addr(struct hp_conn *c, struct hp_backend *be,
				 const struct sockaddr_storage *addr, socklen_t len)
{
	struct hp_worker *w = c->w;
	const struct cfg_listener *lc = c->l->lc;
	struct hp_up *u;
	int fd;

	/* the listener's buffer sizes on both sides: bulk bodies and tunnels need them */
	fd = sock_connect_nb(addr, len, lc->sndbuf, lc->rcvbuf);
	if (fd < 0)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u) {
		close(fd);
		return NULL;
	}
	u->w = w;
	u->be = be;
	u->c = c;
	u->fd = fd;
	u->connecting = true;
	u->wr_blocked = true; /* until EV_WRITE says the connect finished */
	hp_set_nodelay(fd);
	if (ev_add_fd(w->loop, fd, EV_WRITE, hp_up_event, u)) {
		close(fd);
		free(u);
		return NULL;
	}
	u->timer = ev_timer_add(w->loop, lc->connect_timeout_ms, up_timer_cb, u);
	pool_conn_get(be->wp->pool, be->idx);
	be->connects++;
	w->tot.up_connects++;
	return u;
}

static struct hp_up *up_connect(struct hp_conn *c, struct hp_backend *be)
{
	struct hp_up *u = hp_up_connect_addr(c, be, &be->cb->addr, be->cb->addrlen);

	/* a TLS pool's speaks TLS once connected (up_tls_begin), resuming be's session */
	if (u && be->wp->tls &&
	    !(u->tls = tls_client_conn(be->wp->tls, u->fd, (const struct sockaddr *)&be->cb->addr,
				       be->idx))) {
		hp_up_close(u); /* busy (u->c set): on no idle list */
		return NULL;
	}
	/* records in the kernel where it can, as for TLS clients: a tunnel may then be spliced */
	if (u && u->tls && tls_ktls_available())
		tls_conn_ktls(u->tls);
	return u;
}

/* An idle connection to be, taken off its list, or NULL. */
static struct hp_up *up_take_idle(struct hp_conn *c, struct hp_backend *be)
{
	struct hp_up *u = be->idle;

	if (!u)
		return NULL;
	up_unlink_idle(u);
	u->c = c;
	be->reused++;
	c->w->tot.up_reused++;
	return u;
}

/* The PROXY header naming c's client, appended to u->out: a new connection's first bytes. */
static int up_pp_write(struct hp_conn *c, struct hp_up *u, enum cfg_pp version)
{
	const struct sockaddr *src = (const struct sockaddr *)&c->peer;
	const struct sockaddr *dst = (const struct sockaddr *)&c->local;
	size_t len;
	int rc;

	if (hp_buf_reserve(&u->out, PP_V1_MAX + 256))
		return -ENOMEM;
	rc = version == CFG_PP_V1
		 ? pp_v1_write(src, dst, u->out.p + u->out.len, u->out.cap - u->out.len, &len)
		 : pp_v2_write(src, dst, NULL, 0, u->out.p + u->out.len, u->out.cap - u->out.len,
			       &len);
	if (rc)
		return rc;
	u->out.len += (uint32_t)len;
	return 0;
}

/* ------------------------------------------------------------------ answers */

/*
 * Answers status with a short body and closes after it. Only before any
 * response byte went to the client; otherwise the connection is cut.
 */
void hp_conn_answer_raw(struct hp_conn *c, int status, const char *resp, size_t len,
			const char *verdict)
{
	struct hp_txn *t = c->t;

	if (t && t->resp_head) {
		c->dead = true; /* mid-response: nothing clean is left to say */
		t->verdict = verdict;
		return;
	}
	if (hp_buf_get(c->w, &c->out) || hp_buf_append(&c->out, resp, len)) {
		c->dead = true;
		return;
	}
	if (t) {
		t->status = (uint16_t)status;
		t->verdict = verdict;
		t->resp_head = true;
	}
	c->w->tot.status[hp_status_class(status)]++;
	if (t && c->l->rstats)
		c->l->rstats[t->rule >= 0 ? (size_t)t->rule : c->l->lc->http.nr_routes]
		    .status[hp_status_class(status)]++;
	if (c->up) {
		c->up->c = c; /* busy: not reusable */
		hp_up_release(c->up, false);
		c->up = NULL;
	}
	c->st = CS_CLOSING;
	hp_conn_deadline(c, hp_conn_http(c)->client_timeout_ms);
}

void hp_conn_answer_hdr(struct hp_conn *c, int status, const char *extra, const char *verdict)
{
	struct hp_txn *t = c->t;
	char resp[1024], body[96];
	int bl, hl;

	bl = snprintf(body, sizeof(body), "%d %s\n", status, hp_status_reason(status));
	hl = snprintf(resp, sizeof(resp),
		      "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		      "%sConnection: close\r\n\r\n%s",
		      status, hp_status_reason(status), bl, extra ? extra : "",
		      t && t->meth == H1_METH_HEAD ? "" : body);
	if (hl < 0 || (size_t)hl >= sizeof(resp))
		hl = snprintf(resp, sizeof(resp),
			      "HTTP/1.1 500 %s\r\nContent-Length: 0\r\n"
			      "Connection: close\r\n\r\n",
			      hp_status_reason(500));
	hp_conn_answer_raw(c, status, resp, (size_t)hl, verdict);
}

void hp_conn_answer(struct hp_conn *c, int status, const char *verdict)
{
	hp_conn_answer_hdr(c, status, NULL, verdict);
}

/* ------------------------------------------------------------------ request */

/* Starts a request whose head has been parsed from c->in at t->head_at. */
static void txn_route(struct hp_conn *c)
{
	struct hp_server *s = c->w->s;
	size_t li = (size_t)(c->l->lc - s->cfg->listeners);
	struct route_table *rt = s->rt[li];
	struct hp_txn *t = c->t;
	const char *buf = c->in.p + t->head_at;
	const struct h1_msg *m = &t->req;
	size_t pool_idx;
	int rc;

	t->meth = m->meth;
	t->version = m->version;
	t->upgrade = (m->flags & H1_F_UPGRADE) != 0;
	if (s->log_fd >= 0)
		hp_txn_log_fields(c, buf);
	if (m->meth == H1_METH_CONNECT) {
		hp_conn_answer(c, 405, "405-connect");
		return;
	}
	rc = route_req_prepare(&t->rr, m, buf, t->rt_scratch, sizeof(t->rt_scratch));
	if (rc) {
		c->w->tot.bad_request++;
		hp_conn_answer(c, rc == -ENOSPC ? 414 : 400, "400-target");
		return;
	}
	rc = route_match(rt, &t->rr);
	if (rc >= 0) {
		t->rule = rc;
		pool_idx = route_rule_get(rt, (size_t)rc)->pool;
	} else if (c->l->lc->pool != SIZE_MAX) {
		t->rule = -1;
		pool_idx = c->l->lc->pool;
	} else {
		c->w->tot.no_route++;
		hp_conn_answer(c, 404, "404-no-route");
		return;
	}
	c->l->rstats[t->rule >= 0 ? (size_t)t->rule : c->l->lc->http.nr_routes].requests++;
	t->wp = &c->w->pools[pool_idx];
	rc = route_target(rt, t->rule >= 0 ? t->rule : -1, &t->rr, t->route_tgt,
			  sizeof(t->route_tgt), &t->route_tgt_len);
	if (rc) {
		c->w->tot.bad_request++;
		hp_conn_answer(c, rc == -ENOSPC ? 414 : 400, "400-target");
		return;
	}
	if (fwd_via_loops(m, buf, hp_conn_http(c)->via_name) && hp_conn_http(c)->via) {
		hp_conn_answer(c, 508, "508-loop");
		return;
	}
	h1_body_init(&t->rqb, m);
	t->rq_pos = t->head_at + m->head_len;
	t->rq_done = m->body == H1_BODY_NONE;
	t->rq_chunked = m->body == H1_BODY_CHUNKED;
	t->head_live = true;
	if (!t->rq_done && (m->body != H1_BODY_LENGTH || m->content_length > HP_BIG_BODY))
		t->rq_big = true;
}

/* Picks a backend not tried yet and gives c an upstream connection to it. */
static void txn_attach(struct hp_conn *c)
{
	struct hp_txn *t = c->t;
	struct pool_pick_ctx pc = {
	    .client = (const struct sockaddr *)&c->peer,
	    .m = &t->req,
	    .buf = c->in.p + t->head_at,
	    .exclude = &t->tried,
	};
	const struct cfg_pool *cp = t->wp->cp;
	struct hp_backend *be;
	int i;

	for (;;) {
		if (t->attempts > cp->retries) {
			hp_conn_answer(c, 502, "502-connect");
			return;
		}
		i = pool_pick(t->wp->pool, &pc);
		if (i < 0) {
			hp_conn_answer(c, t->attempts ? 502 : 503,
				       t->attempts ? "502-connect" : "503-no-backend");
			return;
		}
		be = &t->wp->be[i];
		pool_set_add(&t->tried, (size_t)i);
		if (t->attempts)
			c->w->tot.retries++;
		t->attempts++;
		t->be = be;
		be->requests++;
		c->up = up_take_idle(c, be);
		if (!c->up)
			c->up = up_connect(c, be);
		if (c->up)
			break;
		be_failed(be);
	}
	if (hp_buf_get(c->w, &c->up->in) || hp_buf_get(c->w, &c->up->out) ||
	    (t->rq_big &&
	     (hp_buf_grow(&c->in, HP_BIG_BUF) || hp_buf_grow(&c->up->out, HP_BIG_BUF)))) {
		hp_conn_answer(c, 500, "500-memory");
		return;
	}
	t->head_sent = false;
	t->resp_at = 0;
	/* responses are limited by the defaults: the listener's limits are for clients */
	h1_msg_init(&t->resp, NULL);
}

/* Serializes the request head into up->out. */
static int txn_send_head(struct hp_conn *c)
{
	struct hp_server *s = c->w->s;
	size_t li = (size_t)(c->l->lc - s->cfg->listeners);
	struct hp_txn *t = c->t;
	struct hp_up *u = c->up;
	const char *buf = c->in.p + t->head_at;
	const struct h1_msg *m = &t->req;
	const struct fwd_conf *fc = s->fwd + li;
	struct h1_hdr add[HP_ADD_MAX];
	struct h1_fieldset drop;
	struct fwd_conn fconn = {
	    .client = (const struct sockaddr *)&c->peer,
	    .proxy = (const struct sockaddr *)&c->local,
	    .tls = hp_conn_tls(c) != NULL,
	};
	struct h1_rewrite rw;
	size_t nr_add = 0, used = 0;
	int rc;

	/* a new connection starts with the PROXY header (a TLS one had it before its handshake) */
	if (!u->reused && !u->tls && t->wp->cp->proxy_protocol != CFG_PP_OFF &&
	    !hp_buf_data(&u->out)) {
		rc = up_pp_write(c, u, t->wp->cp->proxy_protocol);
		if (rc)
			return rc;
	}
	memset(&drop, 0, sizeof(drop));
	h1_hop_fields(m, buf, t->upgrade ? H1_HOP_KEEP_UPGRADE : 0, &drop);
	if (t->rule >= 0) {
		rc = route_req_ops(s->rt[li], t->rule, m, buf, &drop, add, HP_ADD_MAX, &nr_add);
		if (rc)
			return rc;
		if (s->rfwd[li] && s->rfwd[li][t->rule])
			fc = s->rfwd[li][t->rule];
	}
	if (fc->mode) {
		rc = fwd_request(m, buf, fc, &fconn, &drop, add, HP_ADD_MAX, &nr_add, t->scratch,
				 sizeof(t->scratch), &used);
		if (rc)
			return rc;
	}
	if (m->host < 0 && nr_add < HP_ADD_MAX) {
		/* HTTP/1.0 without Host: HTTP/1.1 upstream needs one (as nginx sends) */
		const char *h = t->be->cb->addr_str;

		add[nr_add++] = (struct h1_hdr){"Host", 4, h, strlen(h)};
	}
	if (m->flags & H1_F_EXPECT_CONTINUE) {
		/*
		 * As nginx: answer 100 Continue ourselves once an upstream
		 * connection is there, and do not pass Expect on. Origins that
		 * never send 100 would otherwise cost every upload the client's
		 * wait (curl: 1 s); a refusal still reaches the client, after
		 * the body.
		 */
		for (int i = h1_field_find(m, buf, "expect", 0); i >= 0;
		     i = h1_field_find(m, buf, "expect", (uint32_t)i + 1))
			h1_fieldset_add(&drop, (uint32_t)i);
		if (!t->sent_continue && t->version >= 11) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			if (hp_buf_get(c->w, &c->out) ||
			    hp_buf_append(&c->out, cont, sizeof(cont) - 1))
				return -ENOMEM;
			t->sent_continue = true;
			c->w->tot.status[1]++;
		}
	}
	if (t->rq_chunked && nr_add < HP_ADD_MAX)
		add[nr_add++] = (struct h1_hdr){"Transfer-Encoding", 17, "chunked", 7};
	if (t->upgrade && nr_add < HP_ADD_MAX)
		add[nr_add++] = (struct h1_hdr){"Connection", 10, "upgrade", 7};
	memset(&rw, 0, sizeof(rw));
	rw.drop = &drop;
	rw.add = add;
	rw.nr_add = nr_add;
	rw.target = t->route_tgt;
	rw.target_len = t->route_tgt_len;
	rw.version = 11;
	rc = hp_write_head(&u->out, m, buf, &rw);
	if (rc)
		return rc;
	t->head_sent = true;
	return 0;
}

/*
 * Appends body data d[0, n) to out, framed as a chunk when chunked. The
 * caller made room for n + HP_CHUNK_HDR_MAX bytes.
 */
static void body_put(struct hp_buf *out, bool chunked, const char *d, size_t n)
{
	if (!n)
		return;
	if (chunked) {
		out->len += (uint32_t)snprintf(out->p + out->len, HP_CHUNK_HDR_MAX, "%zx\r\n", n);
		memcpy(out->p + out->len, d, n);
		out->len += (uint32_t)n;
		memcpy(out->p + out->len, "\r\n", 2);
		out->len += 2;
	} else {
		memcpy(out->p + out->len, d, n);
		out->len += (uint32_t)n;
	}
}

/*
 * A body that needs no re-framing may take in's buffer whole instead of
 * being copied: out is empty, the buffers are alike and every byte waiting
 * in in is body data (bulk bodies, above all over TLS).
 */
static bool body_swappable(const struct h1_body *b, const struct hp_buf *in, uint32_t avail,
			   const struct hp_buf *out)
{
	return !hp_buf_data(out) && out->p && out->cap == in->cap && avail >= HP_BUF_SIZE &&
	       (b->mode == H1_BODY_CLOSE || (b->mode == H1_BODY_LENGTH && b->remaining >= avail));
}

/*
 * Moves decoded body bytes from in[*pos, in->len) to out, re-framed, while
 * out has room; with swap (and not chunked), by exchanging the buffers when
 * body_swappable. Returns 1 when something moved, 0 when not, -EBADMSG for
 * a refused body (b->err says why).
 */
static int body_pump(struct h1_body *b, struct hp_buf *in, uint32_t *pos, struct hp_buf *out,
		     bool chunked, bool swap, bool *done, uint64_t *count)
{
	bool moved = false;

	while (!*done) {
		struct h1_body_out o;
		uint32_t avail = in->len - *pos, room;
		bool whole = swap && !chunked && body_swappable(b, in, avail, out);
		size_t feed;

		if (whole) {
			if (h1_body_feed(b, in->p + *pos, avail, &o))
				return -EBADMSG;
			if (!o.data_off && o.data_len == avail) {
				struct hp_buf tmp = *out;

				*out = *in;
				out->off = *pos;
				*in = tmp;
				in->off = in->len = 0;
				*pos = 0;
			} else { /* not what the mode promised: copy, as below */
				body_put(out, false, in->p + *pos + o.data_off, o.data_len);
				*pos += (uint32_t)o.consumed;
			}
			*count += o.data_len;
			moved = true;
			if (h1_body_done(b))
				*done = true;
			if (!o.consumed)
				break;
			continue;
		}

		/*
		 * Out of room: move what is left to the front only once most of it
		 * went, else every small write of a full 256 KiB buffer would move
		 * the rest (memmove was a third of a TLS bulk transfer's time).
		 */
		if (hp_buf_room(out) < HP_CHUNK_HDR_MAX + 1 + 5 && hp_buf_data(out) <= out->cap / 2)
			hp_buf_compact(out);
		room = hp_buf_room(out);
		if (room < HP_CHUNK_HDR_MAX + 1 + 5)
			break;
		feed = avail < room - HP_CHUNK_HDR_MAX - 5 ? avail : room - HP_CHUNK_HDR_MAX - 5;
		if (!feed && !h1_body_done(b))
			break;
		if (h1_body_feed(b, in->p + *pos, feed, &o))
			return -EBADMSG;
		body_put(out, chunked, in->p + *pos + o.data_off, o.data_len);
		*count += o.data_len;
		*pos += (uint32_t)o.consumed;
		if (o.consumed)
			moved = true;
		if (h1_body_done(b)) {
			*done = true;
			if (chunked) {
				memcpy(out->p + out->len, "0\r\n\r\n", 5);
				out->len += 5;
			}
			moved = true;
			break;
		}
		if (!o.consumed)
			break;
	}
	return moved;
}

/* ------------------------------------------------------------------ response */

/* Serializes the response head parsed in up->in into c->out. */
static int txn_resp_head(struct hp_conn *c)
{
	struct hp_server *s = c->w->s;
	size_t li = (size_t)(c->l->lc - s->cfg->listeners);
	struct hp_txn *t = c->t;
	struct hp_up *u = c->up;
	const char *buf = u->in.p + t->resp_at;
	const struct h1_msg *m = &t->resp;
	struct h1_hdr add[HP_ADD_MAX];
	struct h1_fieldset drop;
	struct h1_rewrite rw;
	/* a 101, or a 2xx to CONNECT (a parent proxy's): the bytes after are a tunnel's */
	bool tunnel = (m->flags & H1_F_TUNNEL) != 0;
	size_t nr_add = 0, used = 0;
	int rc;

	memset(&drop, 0, sizeof(drop));
	h1_hop_fields(m, buf, tunnel ? H1_HOP_KEEP_UPGRADE : 0, &drop);
	if (t->rule >= 0) {
		rc = route_resp_ops(s->rt[li], t->rule, m, buf, &drop, add, HP_ADD_MAX, &nr_add);
		if (rc)
			return rc;
	}
	if (t->wp->rm) {
		rc = revmap_response(t->wp->rm, m, buf, &drop, add, HP_ADD_MAX - 4, &nr_add,
				     t->rscratch, sizeof(t->rscratch), &used);
		if (rc)
			return rc;
	}
	if (m->status >= 200) {
		bool body = m->body != H1_BODY_NONE;

		t->rs_body = body;
		t->rs_chunked = false;
		if (body && m->body != H1_BODY_LENGTH) {
			/* a stream's body goes out in DATA frames: no chunks for it */
			if (t->version >= 11 && !c->h2s)
				t->rs_chunked = true;
			else
				t->keepalive = false; /* HTTP/1.0: delimited by our close */
		}
		if (!(m->flags & H1_F_KEEPALIVE))
			t->up_reusable = false;
		if (tunnel) {
			t->keepalive = false;
			t->rs_body = false;
			t->rs_chunked = false;
			if (m->status == 101)
				add[nr_add++] = (struct h1_hdr){"Connection", 10, "upgrade", 7};
		} else if (!t->keepalive || !t->rq_done) {
			/* a request body still coming is not ours to drain: close after */
			t->keepalive = false;
			add[nr_add++] = (struct h1_hdr){"Connection", 10, "close", 5};
		} else if (t->version == 10) {
			add[nr_add++] = (struct h1_hdr){"Connection", 10, "keep-alive", 10};
		}
		if (t->rs_chunked)
			add[nr_add++] = (struct h1_hdr){"Transfer-Encoding", 17, "chunked", 7};
	}
	memset(&rw, 0, sizeof(rw));
	rw.drop = &drop;
	rw.add = add;
	rw.nr_add = nr_add;
	rw.version = 11;
	if (hp_buf_get(c->w, &c->out))
		return -ENOMEM;
	rc = hp_write_head(&c->out, m, buf, &rw);
	if (rc)
		return rc;
	return 0;
}

/*
 * Parses and forwards response heads from up->in: 1xx ones pass through
 * (HTTP/1.1 clients only), the final one sets up the body. Returns 1 when
 * the final head went out, 0 when more bytes are needed, -EBADMSG.
 */
static int txn_resp_parse(struct hp_conn *c)
{
	struct hp_txn *t = c->t;
	struct hp_up *u = c->up;
	int rc;

	for (;;) {
		rc = h1_parse_response(&t->resp, u->in.p + t->resp_at, u->in.len - t->resp_at,
				       t->meth);
		if (rc == -EAGAIN)
			return 0;
		if (rc)
			return -EBADMSG;
		if (t->resp.status >= 200 || t->resp.status == 101)
			break;
		/* 1xx: forward to HTTP/1.1 clients, then parse the next head */
		if (t->version >= 11 && txn_resp_head(c))
			return -EBADMSG;
		t->resp_at += t->resp.head_len;
		h1_msg_init(&t->resp, NULL);
	}
	if (t->resp.status == 101 && !t->upgrade)
		return -EBADMSG; /* a 101 nobody asked for */
	t->status = t->resp.status;
	t->up_reusable = true;
	if (txn_resp_head(c))
		return -EBADMSG;
	t->resp_head = true;
	t->resp_at += t->resp.head_len;
	h1_body_init(&t->rsb, &t->resp);
	t->rs_done = t->resp.body == H1_BODY_NONE;
	if (t->meth == H1_METH_HEAD || !t->rs_body)
		t->rs_done = true;
	/* a large body moves in larger steps: fewer syscalls per byte */
	if (!t->rs_done &&
	    (t->resp.body != H1_BODY_LENGTH || t->resp.content_length > HP_BIG_BODY)) {
		hp_buf_grow(&u->in, HP_BIG_BUF);
		hp_buf_grow(&c->out, HP_BIG_BUF);
	}
	c->w->tot.status[hp_status_class(t->status)]++;
	c->l->rstats[t->rule >= 0 ? (size_t)t->rule : c->l->lc->http.nr_routes]
	    .status[hp_status_class(t->status)]++;
	return 1;
}

/* ------------------------------------------------------------------ I/O */

/* read() into b; 1 = bytes, 0 = EAGAIN or no room, -1 = EOF or error. */
static int sock_read(int fd, struct hp_buf *b, bool *ready, uint64_t *count)
{
	ssize_t n;

	/* no compaction here: callers hold offsets into b (heads, body positions) */
	if (!hp_buf_room(b))
		return 0;
	n = read(fd, b->p + b->len, b->cap - b->len);
	if (n > 0) {
		b->len += (uint32_t)n;
		*count += (uint64_t)n;
		if ((uint32_t)n < b->cap - b->len + (uint32_t)n)
			*ready = false; /* short read: drained, epoll says when there is more */
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		*ready = false;
		return 0;
	}
	*ready = false;
	return -1;
}

/* write() b's data; 1 = bytes went, 0 = blocked or nothing, -1 = error. */
static int sock_write(int fd, struct hp_buf *b, bool *blocked, uint64_t *count)
{
	ssize_t n;

	if (*blocked || !hp_buf_data(b))
		return 0;
	n = send(fd, b->p + b->off, hp_buf_data(b), MSG_NOSIGNAL);
	if (n > 0) {
		b->off += (uint32_t)n;
		if (count)
			*count += (uint64_t)n;
		if (b->off == b->len)
			b->off = b->len = 0;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		*blocked = true;
		return 0;
	}
	return -1;
}

/*
 * tls_read into b, as sock_read: 1 = bytes, 0 = EAGAIN or no room, -1 =
 * closed, reset or a TLS error. Decrypted bytes OpenSSL still holds keep
 * *ready on: epoll would not say so.
 */
static int buf_tls_read(struct tls_conn *tls, struct hp_buf *b, bool *ready, uint64_t *count)
{
	ssize_t n;

	if (!hp_buf_room(b))
		return 0;
	n = tls_read(tls, b->p + b->len, b->cap - b->len);
	if (n > 0) {
		b->len += (uint32_t)n;
		*count += (uint64_t)n;
		*ready = tls_pending(tls) > 0 || hp_buf_room(b) == 0;
		return 1;
	}
	*ready = false;
	return n == -EAGAIN ? 0 : -1;
}

/* tls_write b's data, as sock_write: 1 = bytes went, 0 = blocked or nothing, -1 = error. */
static int buf_tls_write(struct tls_conn *tls, struct hp_buf *b, bool *blocked, uint64_t *count)
{
	ssize_t n;

	if (*blocked || !hp_buf_data(b))
		return 0;
	n = tls_write(tls, b->p + b->off, hp_buf_data(b));
	if (n > 0) {
		b->off += (uint32_t)n;
		if (count)
			*count += (uint64_t)n;
		if (b->off == b->len)
			b->off = b->len = 0;
		return 1;
	}
	if (n == -EAGAIN) {
		*blocked = true;
		return 0;
	}
	return -1;
}

/*
 * The client side's reads and writes: plain, or through TLS. A TLS read can
 * want the socket writable and a write readable (and OpenSSL may hold
 * decrypted bytes the socket no longer shows), so for TLS every event sets
 * both hints (conn_event) and pending bytes keep the read hint on.
 */
int hp_conn_rd(struct hp_conn *c, struct hp_buf *b, uint64_t *count)
{
	if (c->h2s)
		return hp_h2s_rd(c, b, count);
	if (!c->tls)
		return sock_read(c->fd, b, &c->rd_ready, count);
	return buf_tls_read(c->tls, b, &c->rd_ready, count);
}

int hp_conn_wr(struct hp_conn *c, struct hp_buf *b, uint64_t *count)
{
	if (c->h2s)
		return hp_h2s_wr(c, b, count);
	if (!c->tls)
		return sock_write(c->fd, b, &c->wr_blocked, count);
	return buf_tls_write(c->tls, b, &c->wr_blocked, count);
}

/* ------------------------------------------------------------------ upstream TLS */

/* The upstream side's reads and writes: plain, or through the pool's TLS. */
static int up_rd(struct hp_up *u, struct hp_buf *b, uint64_t *count)
{
	int rc;

	if (!u->tls)
		return sock_read(u->fd, b, &u->rd_ready, count);
	rc = buf_tls_read(u->tls, b, &u->rd_ready, count);
	/* a read that must write first (a key update's answer) waits for EV_WRITE */
	if (rc == 0 && (tls_want(u->tls) & TLS_WANT_WRITE))
		u->wr_blocked = true;
	return rc;
}

static int up_wr(struct hp_up *u, struct hp_buf *b)
{
	if (!u->tls)
		return sock_write(u->fd, b, &u->wr_blocked, NULL);
	return buf_tls_write(u->tls, b, &u->wr_blocked, NULL);
}

/* Nothing more goes to the upstream: our close_notify first when TLS, then the FIN. */
static void up_shut_wr(struct hp_up *u)
{
	if (u->tls && tls_shutdown(u->tls) == -EAGAIN) {
		u->wr_blocked = true; /* again at EV_WRITE */
		return;
	}
	shutdown(u->fd, SHUT_WR);
}

/*
 * u's TCP connect succeeded. A TLS pool's connection is not connected yet:
 * its handshake follows, failing and timing out as a connect does (a
 * connect_timeout of its own), and a PROXY header goes before it, in clear,
 * as HAProxy sends it. Returns false for a plain connection.
 */
static bool up_tls_begin(struct hp_up *u)
{
	struct hp_conn *c = u->c;
	const struct cfg_pool *cp = u->be->wp->cp;

	if (!u->tls)
		return false;
	u->tls_hs = true;
	u->timer = ev_timer_add(u->w->loop, c->l->lc->connect_timeout_ms, up_timer_cb, u);
	if (cp->proxy_protocol != CFG_PP_OFF && up_pp_write(c, u, cp->proxy_protocol))
		u->eof = true; /* no memory: a failed connect */
	return true;
}

/*
 * Drives u's handshake, the PROXY header first. 0: done, u is connected;
 * -EAGAIN: wait for the next event on u; else failed: u->eof set and the
 * reason (a certificate check's own) logged, so the caller takes it for a
 * failed connect: another backend, then 502. Nothing of the request was
 * written: it waits in c->in until the handshake is done.
 */
static int up_tls_handshake(struct hp_up *u)
{
	struct hp_backend *be = u->be;
	int rc;

	if (!u->rd_ready && u->wr_blocked)
		return -EAGAIN; /* no event since OpenSSL asked to wait */
	if (hp_buf_data(&u->out)) {
		if (sock_write(u->fd, &u->out, &u->wr_blocked, NULL) < 0) {
			u->eof = true;
			return -EPIPE;
		}
		if (hp_buf_data(&u->out))
			return -EAGAIN;
	}
	rc = tls_handshake(u->tls);
	if (rc == -EAGAIN) {
		/* both hints come back with the next event (hp_up_event) */
		u->rd_ready = false;
		u->wr_blocked = true;
		return rc;
	}
	if (rc) {
		up_tls_failed(u, tls_conn_error(u->tls));
		u->eof = true;
		return rc;
	}
	be->tls_handshakes++;
	if (tls_conn_resumed(u->tls))
		be->tls_resumed++;
	u->tls_hs = false;
	u->connecting = false;
	ev_timer_cancel(u->w->loop, u->timer);
	u->timer = NULL;
	u->rd_ready = true; /* records may have come with the last flight */
	u->wr_blocked = false;
	return 0;
}

/* ------------------------------------------------------------------ the state machine */

int hp_write_head(struct hp_buf *b, const struct h1_msg *m, const char *buf,
		  const struct h1_rewrite *rw)
{
	size_t len;
	int rc;

	for (;;) {
		rc = h1_write_head(m, buf, rw, b->p + b->len, b->cap - b->len, &len);
		if (rc != -ENOSPC)
			break;
		if (hp_buf_reserve(b, (uint32_t)len))
			return -ENOMEM;
	}
	if (rc)
		return rc;
	b->len += (uint32_t)len;
	return 0;
}

struct hp_txn *hp_txn_begin(struct hp_conn *c)
{
	struct hp_txn *t = txn_get(c->w);

	if (!t)
		return NULL;
	c->t = t;
	/* the messages are set up by h1_msg_init: clear only the small state */
	memset(&t->head_at, 0, offsetof(struct hp_txn, log) - offsetof(struct hp_txn, head_at));
	t->rule = -1;
	t->lmeth = t->ltarget = t->lhost = t->lref = t->lua = 0;
	t->log_route = t->log_backend = t->log_user = NULL;
	t->fp_q = NULL;
	t->fp_auth = NULL;
	t->fp_rule = -1;
	t->fp_n = t->fp_next = 0;
	t->fp_connect = t->fp_parent = t->fp_transparent = false;
	t->head_at = c->in.off;
	t->start_ms = ev_now_ms(c->w->loop);
	h1_msg_init(&t->req, &hp_conn_http(c)->limits);
	return t;
}

/* The request ended (answered, or failed): log, release, go idle or close. */
void hp_txn_end(struct hp_conn *c)
{
	struct hp_txn *t = c->t;
	bool keep = t->keepalive && t->rq_done && !c->rd_eof;

	hp_txn_log(c);
	if (c->up) {
		bool reusable = t->up_reusable && t->rs_done && t->rq_done;

		/*
		 * A forward proxy's destinations differ from one request to the
		 * next: the connection waits on this client for its next request
		 * to the same destination (fp_park), not in a pool.
		 */
		if (c->l->lc->mode == CFG_MODE_FORWARD && reusable && keep)
			fp_park(c);
		else
			hp_up_release(c->up, reusable);
		c->up = NULL;
	}
	if (!keep) {
		c->st = CS_CLOSING;
		return;
	}
	/* the next pipelined request, if any, starts where this one ended */
	c->in.off = t->rq_pos;
	if (c->in.off == c->in.len)
		c->in.off = c->in.len = 0;
	txn_put(c->w, t);
	c->t = NULL;
	c->st = CS_IDLE;
	hp_conn_deadline(c, hp_conn_http(c)->idle_timeout_ms);
	if (!hp_buf_data(&c->in))
		hp_buf_put(c->w, &c->in);
	if (!hp_buf_data(&c->out))
		hp_buf_put(c->w, &c->out);
}

/* The upstream failed before answering: retry, or answer 502/504. */
static void txn_up_failed(struct hp_conn *c, bool timeout)
{
	struct hp_txn *t = c->t;
	struct hp_up *u = c->up;
	bool connect = u->connecting;
	bool retry;

	if (c->l->lc->mode == CFG_MODE_FORWARD) {
		hp_up_release(u, false);
		c->up = NULL;
		fp_up_failed(c, connect, timeout);
		return;
	}
	if (connect)
		be_failed(u->be);
	/*
	 * Retry when the request can be sent again unchanged: nothing came
	 * back, the body has not started streaming, and either the connection
	 * never opened or the method is idempotent (a reused connection the
	 * server closed as we wrote is the common case).
	 */
	retry = !t->got_upstream && t->head_live && (t->req.body == H1_BODY_NONE) &&
		(connect || meth_idempotent(t->meth));
	hp_up_release(u, false);
	c->up = NULL;
	if (!retry) {
		if (!connect)
			c->w->tot.up_bad_response++;
		hp_conn_answer(c, timeout ? 504 : 502, timeout ? "504-timeout" : "502-upstream");
		return;
	}
	/* a reused connection that died does not count against the backend */
	if (!connect && u != NULL)
		t->attempts--;
	txn_attach(c);
}

/*
 * The tunnel's sockets leave this worker for the TCP proxy's splice. Only
 * when nothing is in flight here: both heads and every byte read with them
 * were passed on, so the splice starts with what is still in the kernel.
 * Returns true when the connection was handed off (c is then freed).
 */
static bool conn_handoff(struct hp_conn *c)
{
	struct hp_worker *w = c->w;
	struct hp_server *s = w->s;
	struct hp_up *u = c->up;
	struct hp_handoff h;
	uint64_t one = 1;
	bool ok;

	/* TLS spoken to the upstream: as for a TLS client, spliced only with kTLS both ways */
	if (u->tls && tls_conn_ktls_active(u->tls) != (TLS_KTLS_TX | TLS_KTLS_RX))
		return false;
	/*
	 * TLS terminated here: the kernel splices plaintext only when it holds
	 * the records both ways (kTLS; not in this kernel, so untested here).
	 */
	if (s->handoff_fd < 0 || c->h2s ||
	    (c->tls && tls_conn_ktls_active(c->tls) != (TLS_KTLS_TX | TLS_KTLS_RX)) ||
	    hp_buf_data(&c->out) || hp_buf_data(&c->in) || hp_buf_data(&u->in) || c->rd_eof ||
	    u->eof || c->wr_blocked || u->wr_blocked)
		return false;
	h.cfd = c->fd;
	h.bfd = u->fd;
	h.log_ctx = tlog_new(c);
	h.log_done = h.log_ctx ? tlog_done : NULL;
	h.listener = c->l->idx;
	if (c->l->lc->mode == CFG_MODE_FORWARD) {
		h.pool = SIZE_MAX; /* a forward proxy's destination belongs to no pool */
		h.backend = 0;
	} else {
		h.pool = (size_t)(u->be->wp - w->pools);
		h.backend = u->be->idx;
	}
	pthread_mutex_lock(&s->handoff_lock);
	ok = s->handoff_n < s->handoff_cap;
	if (ok)
		s->handoff_q[s->handoff_n++] = h;
	pthread_mutex_unlock(&s->handoff_lock);
	if (!ok) {
		free(h.log_ctx);
		return false; /* the queue is full: relay here */
	}
	if (write(s->handoff_fd, &one, sizeof(one)) < 0)
		pr_warn("http: cannot wake the splice thread: %s", strerror(errno));
	w->tot.handoffs++;
	if (!h.log_ctx)
		hp_txn_log(c); /* no deferred line: say at least that it started */
	/* forget both sockets without closing them: they belong to the TCP proxy now */
	ev_del_fd(w->loop, c->fd);
	ev_del_fd(w->loop, u->fd);
	c->fd = -1;
	u->fd = -1;
	return true;
}

/* One pass over the request steps; true when something moved. */
static bool conn_step(struct hp_conn *c)
{
	struct hp_worker *w = c->w;
	const struct cfg_http *hc = hp_conn_http(c);
	struct hp_txn *t;
	struct hp_up *u;
	bool moved = false;
	int rc;

	if (c->st == CS_H2)
		return hp_h2_step(c);
	/* client bytes in */
	if (c->st == CS_HANDSHAKE) {
		rc = tls_handshake(c->tls);
		if (rc == -EAGAIN) {
			/* the interest follows what OpenSSL waits for */
			c->rd_ready = false;
			c->wr_blocked = (tls_want(c->tls) & TLS_WANT_WRITE) != 0;
			return false;
		}
		if (rc) {
			pr_debug("http %s: TLS handshake: %s", c->l->lc->name,
				 tls_conn_error(c->tls));
			w->tot.tls_failed++;
			c->dead = true;
			return false;
		}
		w->tot.tls_handshakes++;
		if (tls_conn_resumed(c->tls))
			w->tot.tls_resumed++;
		c->st = CS_IDLE;
		c->rd_ready = true; /* the client's first request may already be decrypted */
		hp_conn_deadline(c, hc->idle_timeout_ms);
		if (c->l->lc->tls.h2) {
			const char *alpn = tls_conn_alpn(c->tls);

			if (alpn && !strcmp(alpn, "h2") && hp_h2_start(c)) {
				c->dead = true;
				return false;
			}
		}
		return true;
	}
	if (c->rd_ready && !c->rd_eof && c->st != CS_CLOSING && c->st != CS_TUNNEL) {
		if (!hp_buf_get(w, &c->in)) {
			rc = hp_conn_rd(c, &c->in, &w->tot.bytes_in);
			if (rc > 0)
				moved = true;
			else if (rc < 0)
				c->rd_eof = true, moved = true;
		}
	}

	switch (c->st) {
	case CS_IDLE:
		if (c->rd_eof) {
			c->dead = true;
			return false;
		}
		if (!hp_buf_data(&c->in))
			return moved;
		if (hc->h2c && !c->had_request && !c->tls && !c->h2s) {
			/* RFC 9113 3.3: prior knowledge starts with the preface */
			switch (h2_preface_match(c->in.p + c->in.off, hp_buf_data(&c->in))) {
			case H2_PREFACE_YES:
				if (hp_h2_start(c)) {
					c->dead = true;
					return false;
				}
				return true;
			case H2_PREFACE_MORE:
				return moved;
			case H2_PREFACE_NO:
				break;
			}
		}
		c->had_request = true;
		t = hp_txn_begin(c);
		if (!t) {
			c->dead = true;
			return false;
		}
		c->st = CS_HEAD;
		hp_conn_deadline(c, hc->header_timeout_ms);
		return true;

	case CS_HEAD:
		t = c->t;
		rc = h1_parse_request(&t->req, c->in.p + t->head_at, c->in.len - t->head_at);
		if (rc == -EAGAIN) {
			if (c->rd_eof) {
				c->dead = true; /* gone mid-head: nobody to answer */
				return false;
			}
			if (!hp_buf_room(&c->in) && c->in.cap < hc->limits.max_head + HP_BUF_SIZE) {
				/* a head larger than one buffer: grow up to the head limit */
				if (t->head_at) {
					hp_buf_compact(&c->in);
					t->head_at = 0;
				}
				if (hp_buf_reserve(&c->in, HP_BUF_SIZE))
					c->dead = true;
				return true;
			}
			return moved;
		}
		clock_gettime(CLOCK_REALTIME, &t->start_rt);
		t->start_ms = ev_now_ms(w->loop);
		w->tot.requests++;
		if (rc) {
			w->tot.bad_request++;
			t->version = 11;
			t->meth = t->req.meth;
			hp_conn_answer(c, t->req.err_status ? t->req.err_status : 400,
				       h1_err_str(t->req.err));
			return true;
		}
		/* a stream carries one request: its end is the stream's */
		t->keepalive = (t->req.flags & H1_F_KEEPALIVE) != 0 && !c->h2s;
		c->st = CS_REQ;
		if (c->l->lc->mode == CFG_MODE_FORWARD) {
			fp_request(c); /* answers, or resolves and connects (async) */
			if (c->st == CS_REQ)
				hp_conn_deadline(c, hc->client_timeout_ms);
			return true;
		}
		txn_route(c);
		if (c->st != CS_REQ)
			return true;
		txn_attach(c);
		/* until the request is wholly sent, the client's pace decides */
		if (c->st == CS_REQ)
			hp_conn_deadline(c, hc->client_timeout_ms);
		return true;

	case CS_REQ:
		t = c->t;
		u = c->up;
		if (!u)
			return moved;
		if (u->tls_hs && !u->eof) {
			/* done: connecting is over; failed: u->eof, handled as a connect's */
			if (up_tls_handshake(u) == -EAGAIN)
				return moved;
			moved = true;
		}
		if (u->connecting) {
			if (u->eof) {
				txn_up_failed(c, false);
				return true;
			}
			if (u->wr_blocked || !u->rd_ready) {
				/* the first EV_WRITE after connect() says how it went */
			}
			return moved;
		}
		if (!t->head_sent && c->l->lc->mode == CFG_MODE_FORWARD) {
			if (fp_send_head(c)) {
				hp_conn_answer(c, 500, "500-head");
				return true;
			}
			if (c->st == CS_TUNNEL)
				return true; /* CONNECT: 200 is queued, the tunnel starts */
			moved = true;
		}
		if (!t->head_sent) {
			if (txn_send_head(c)) {
				hp_conn_answer(c, 500, "500-head");
				return true;
			}
			moved = true;
		}
		/* request body */
		if (!t->rq_done) {
			uint64_t before = t->bytes_rcvd;

			rc = body_pump(&t->rqb, &c->in, &t->rq_pos, &u->out, t->rq_chunked, false,
				       &t->rq_done, &t->bytes_rcvd);
			if (c->h2s && t->bytes_rcvd != before)
				hp_h2s_consumed(c, t->bytes_rcvd - before);
			if (rc < 0) {
				w->tot.bad_request++;
				hp_conn_answer(c, t->rqb.err_status ? t->rqb.err_status : 400,
					       h1_err_str(t->rqb.err));
				return true;
			}
			if (rc > 0) {
				moved = true;
				t->head_live = false;
				hp_conn_activity(c, hc->client_timeout_ms);
			}
			if (!t->rq_done && c->rd_eof) {
				/* the client gave up mid-body */
				t->verdict = "client-abort";
				t->up_reusable = false;
				c->dead = true;
				return false;
			}
			/* room for more body: drop what was forwarded, keep the head */
			if (!hp_buf_room(&c->in) && t->rq_pos > t->head_at + t->req.head_len &&
			    !t->head_live) {
				uint32_t keep = t->rq_pos;

				c->in.off = keep;
				hp_buf_compact(&c->in);
				t->head_at = 0; /* the view is stale now: head_live is false */
				t->rq_pos = 0;
			}
		}
		/* bytes to the upstream */
		rc = up_wr(u, &u->out);
		if (rc < 0) {
			u->eof = true;
			if (!t->got_upstream) {
				txn_up_failed(c, false);
				return true;
			}
		} else if (rc > 0) {
			moved = true;
		}
		/* the request is out: from now on the upstream's answer is awaited */
		if (t->rq_done && !hp_buf_data(&u->out) && !t->resp_wait && !t->resp_head) {
			t->resp_wait = true;
			hp_conn_deadline(c, hc->response_timeout_ms);
		}
		/* bytes from the upstream */
		if (u->rd_ready && !u->eof) {
			uint64_t n = 0;

			rc = up_rd(u, &u->in, &n);
			if (rc > 0) {
				moved = true;
				if (!t->got_upstream) {
					t->got_upstream = true;
					t->first_up_ms = ev_now_ms(w->loop);
				}
			} else if (rc < 0) {
				u->eof = true;
				moved = true;
			}
		}
		if (!t->resp_head) {
			rc = hp_buf_data(&u->in) ? txn_resp_parse(c) : 0;
			if (rc < 0) {
				w->tot.up_bad_response++;
				t->up_reusable = false;
				hp_conn_answer(c, 502, "502-bad-response");
				return true;
			}
			if (rc == 0) {
				if (u->eof) {
					txn_up_failed(c, false);
					return true;
				}
				break;
			}
			moved = true;
			hp_conn_deadline(c, hc->client_timeout_ms);
			if (t->resp.status == 101 || (t->resp.flags & H1_F_TUNNEL)) {
				/* tunnel: what follows both heads is opaque */
				w->tot.upgrades++;
				c->st = CS_TUNNEL;
				u->in.off = t->resp_at;
				c->in.off = t->rq_pos;
				t->rs_done = t->rq_done = true;
				return true;
			}
		}
		/* response body */
		if (!t->rs_done) {
			uint64_t n = 0;

			if (u->eof && t->resp.body == H1_BODY_CLOSE && t->resp_at == u->in.len) {
				if (h1_body_eof(&t->rsb) == 0)
					t->rs_done = true;
			}
			rc = body_pump(&t->rsb, &u->in, &t->resp_at, &c->out, t->rs_chunked, true,
				       &t->rs_done, &n);
			t->bytes_sent += n;
			if (rc < 0) {
				t->up_reusable = false;
				t->verdict = "502-bad-body";
				c->dead = true; /* the head is out: cut the client */
				return false;
			}
			if (rc > 0)
				moved = true;
			if (!t->rs_done && u->eof && t->resp_at == u->in.len) {
				if (t->resp.body == H1_BODY_CLOSE && !h1_body_eof(&t->rsb)) {
					t->rs_done = true;
					if (t->rs_chunked)
						hp_buf_append(&c->out, "0\r\n\r\n", 5);
					t->up_reusable = false;
				} else {
					t->verdict = "upstream-truncated";
					c->dead = true;
					return false;
				}
			}
			/* consumed response bytes can go */
			if (t->resp_at == u->in.len)
				u->in.off = u->in.len = t->resp_at = 0;
			else if (!hp_buf_room(&u->in) && u->in.len - t->resp_at <= u->in.cap / 2) {
				/* as in body_pump: compact once at least half is consumed */
				u->in.off = t->resp_at;
				hp_buf_compact(&u->in);
				t->resp_at = 0;
			}
		}
		break;

	case CS_TUNNEL:
		u = c->up;
		/* client -> upstream */
		if (c->rd_ready && !c->rd_eof) {
			if (!hp_buf_room(&c->in))
				hp_buf_compact(&c->in);
			rc = hp_conn_rd(c, &c->in, &w->tot.bytes_in);
			if (rc > 0)
				moved = true;
			else if (rc < 0) {
				c->rd_eof = true;
				moved = true;
			}
		}
		rc = up_wr(u, &c->in);
		if (rc < 0) {
			c->dead = true;
			return false;
		}
		moved |= rc > 0;
		if (c->rd_eof && !hp_buf_data(&c->in) && !u->eof) {
			up_shut_wr(u);
		}
		/* upstream -> client */
		if (u->rd_ready && !u->eof) {
			uint64_t n = 0;

			if (!hp_buf_room(&u->in))
				hp_buf_compact(&u->in);
			rc = up_rd(u, &u->in, &n);
			if (rc > 0)
				moved = true;
			else if (rc < 0) {
				u->eof = true;
				moved = true;
			}
		}
		break;

	case CS_CLOSING:
	case CS_HANDSHAKE: /* handled above */
	case CS_H2:
		break;
	}

	/* bytes to the client */
	if (c->st == CS_TUNNEL) {
		/* the 101 head first, then the tunnel's bytes */
		rc = hp_conn_wr(c, &c->out, &w->tot.bytes_out);
		if (rc < 0) {
			c->dead = true;
			return false;
		}
		moved |= rc > 0;
		if (hp_buf_data(&c->out))
			return moved;
		rc = hp_conn_wr(c, &c->up->in, &w->tot.bytes_out);
		if (rc < 0) {
			c->dead = true;
			return false;
		}
		moved |= rc > 0;
		if (rc > 0)
			hp_conn_activity(c, hc->client_timeout_ms);
		if (c->up->eof && !hp_buf_data(&c->up->in))
			shutdown(c->fd, SHUT_WR);
		if (c->up->eof && c->rd_eof && !hp_buf_data(&c->up->in) && !hp_buf_data(&c->in))
			c->dead = true;
		else if (conn_handoff(c))
			c->dead = true; /* closes nothing: both fds are -1 now */
		return moved;
	}
	rc = hp_conn_wr(c, &c->out, &w->tot.bytes_out);
	if (rc < 0) {
		c->dead = true;
		return false;
	}
	if (rc > 0) {
		moved = true;
		hp_conn_activity(c, hc->client_timeout_ms);
	}
	if (c->st == CS_CLOSING && !hp_buf_data(&c->out)) {
		c->clean = true; /* an HTTP/2 stream ends cleanly, not reset */
		c->dead = true;
		return false;
	}
	if (c->st == CS_REQ && c->t->resp_head && c->t->rs_done && !hp_buf_data(&c->out) &&
	    (c->t->rq_done || !c->t->keepalive)) {
		hp_txn_end(c);
		return true;
	}
	return moved;
}

static void conn_update_interest(struct hp_conn *c)
{
	struct ev_loop *loop = c->w->loop;
	struct hp_up *u = c->up;
	uint32_t ev = 0;

	if (c->st == CS_H2) {
		ev = hp_h2_interest(c);
	} else if (c->st == CS_HANDSHAKE) {
		ev = tls_want(c->tls) & TLS_WANT_WRITE ? EV_WRITE : EV_READ;
	} else if (c->st == CS_TUNNEL) {
		if (!c->rd_eof && (!c->in.p || hp_buf_room(&c->in) || c->in.off))
			ev |= EV_READ;
	} else if (c->st != CS_CLOSING && !c->rd_eof &&
		   (!c->in.p || hp_buf_room(&c->in) || c->in.off ||
		    (c->st == CS_HEAD &&
		     c->in.cap < hp_conn_http(c)->limits.max_head + HP_BUF_SIZE))) {
		ev |= EV_READ;
	}
	if (c->wr_blocked)
		ev |= EV_WRITE;
	if (c->fd >= 0) /* a stream has none */
		hp_fd_interest(loop, c->fd, ev, NULL, c);
	if (u) {
		ev = 0;
		if (u->tls_hs) {
			/* the PROXY header, or what OpenSSL waits for (nothing yet: write) */
			ev = EV_WRITE;
			if (tls_want(u->tls) == TLS_WANT_READ && !hp_buf_data(&u->out))
				ev = EV_READ;
		} else if (u->connecting) {
			ev = EV_WRITE;
		} else {
			if (!u->eof && (hp_buf_room(&u->in) || u->in.off))
				ev |= EV_READ;
			if (u->wr_blocked)
				ev |= EV_WRITE;
		}
		hp_fd_interest(loop, u->fd, ev, hp_up_event, u);
	}
}

static void conn_kick_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct hp_conn *c = arg;

	(void)loop;
	(void)t;
	c->kick = NULL;
	hp_conn_progress(c);
}

void hp_conn_defer(struct hp_conn *c)
{
	if (!c->kick)
		c->kick = ev_timer_add(c->w->loop, 0, conn_kick_cb, c);
}

void hp_conn_progress(struct hp_conn *c)
{
	int i;

	if (c->in_progress)
		return;
	c->in_progress = true;
	for (i = 0; i < 64 && !c->dead; i++) {
		if (c->up && c->up->connecting && !c->up->tls_hs && !c->up->wr_blocked &&
		    !c->up->eof) {
			/* EV_WRITE arrived (wr_blocked cleared by hp_up_event): connected? */
			int err = sock_error(c->up->fd);

			ev_timer_cancel(c->w->loop, c->up->timer);
			c->up->timer = NULL;
			if (err) {
				c->up->eof = true;
			} else if (!up_tls_begin(c->up)) {
				c->up->connecting = false;
			}
		}
		if (!conn_step(c))
			break;
	}
	/*
	 * Still moving after 64 rounds: let the other connections have a turn
	 * and come back at once. Readiness hints are already spent, so no
	 * epoll event would bring us back to the bytes left in the buffers.
	 */
	if (i == 64 && !c->dead)
		hp_conn_defer(c);
	c->in_progress = false;
	if (c->dead) {
		hp_conn_close(c);
		return;
	}
	conn_update_interest(c);
}

/* ------------------------------------------------------------------ client connections */

static void conn_event(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct hp_conn *c = arg;

	(void)loop;
	(void)fd;
	if (events & (EV_READ | EV_HUP | EV_ERR) || (c->tls && events))
		c->rd_ready = true;
	if (events & (EV_WRITE | EV_HUP | EV_ERR) || (c->tls && events))
		c->wr_blocked = false;
	hp_conn_progress(c);
}

static void conn_timer_cb(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct hp_conn *c = arg;
	uint64_t now = ev_now_ms(loop);

	(void)tm;
	c->timer = NULL;
	if (!c->deadline)
		return;
	if (now < c->deadline) {
		c->timer = ev_timer_add(loop, c->deadline - now, conn_timer_cb, c);
		c->timer_at = c->deadline;
		return;
	}
	c->deadline = 0;
	switch (c->st) {
	case CS_IDLE:
		hp_conn_close(c);
		return;
	case CS_HEAD:
		c->w->tot.timeouts++;
		hp_conn_answer(c, 408, "408-header-timeout");
		break;
	case CS_REQ:
		c->w->tot.timeouts++;
		if (c->t && !c->t->resp_head) {
			if (c->up)
				c->up->eof = true;
			c->t->up_reusable = false;
			hp_conn_answer(c, 504, "504-timeout");
		} else {
			if (c->t)
				c->t->verdict = "client-timeout";
			c->dead = true;
		}
		break;
	case CS_H2:
		hp_h2_timeout(c);
		break;
	case CS_CLOSING:
	case CS_TUNNEL:
	case CS_HANDSHAKE: /* a client that never finishes its handshake */
		c->w->tot.timeouts++;
		c->dead = true;
		break;
	}
	if (c->dead)
		hp_conn_close(c);
	else
		hp_conn_progress(c);
}

void hp_conn_close(struct hp_conn *c)
{
	struct hp_worker *w = c->w;

	if (c->in_progress) {
		c->dead = true;
		return;
	}
	if (c->h2s)
		hp_h2s_close(c);
	hp_h2_free(c);
	if (c->t) {
		fp_txn_stop(c);
		if (c->st != CS_IDLE && c->st != CS_HEAD && (c->fd >= 0 || c->h2s))
			hp_txn_log(c);
		txn_put(w, c->t);
		c->t = NULL;
	}
	if (c->up) {
		hp_up_release(c->up, false);
		c->up = NULL;
	}
	if (c->park)
		hp_up_close(c->park);
	ev_timer_cancel(w->loop, c->timer);
	ev_timer_cancel(w->loop, c->kick);
	tls_conn_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0) {
		ev_del_fd(w->loop, c->fd);
		close(c->fd);
	}
	hp_buf_put(w, &c->in);
	hp_buf_put(w, &c->out);
	if (c->h2s) {
		free(c); /* its h2s came in the same allocation */
		return;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->tot.active--;
	free(c);
}

static void listener_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct hp_lsn *l = arg;
	struct hp_worker *w = l->w;

	(void)events;
	for (int i = 0; i < HP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct hp_conn *c;
		int cfd;

		cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				pr_warn("http %s: accept: %s", l->lc->name, strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->w = w;
		c->l = l;
		c->fd = cfd;
		c->peer = ss;
		sl = sizeof(c->local);
		getsockname(cfd, (struct sockaddr *)&c->local, &sl);
		hp_set_nodelay(cfd);
		if (ev_add_fd(loop, cfd, EV_READ, conn_event, c)) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->tot.accepted++;
		w->tot.active++;
		c->st = CS_IDLE;
		hp_conn_deadline(c, l->lc->http.idle_timeout_ms);
		if (l->lc->tls.nr_certs) {
			struct tls_store *st;

			/* the store may be swapped by a reload: take it under the lock */
			pthread_mutex_lock(&w->s->tls_lock);
			st = w->s->tls[l->idx];
			c->tls = st ? tls_conn_new(st, cfd) : NULL;
			pthread_mutex_unlock(&w->s->tls_lock);
			if (!c->tls) {
				hp_conn_close(c);
				continue;
			}
			/* records in the kernel where it can (a tunnel can then be spliced) */
			if (tls_ktls_available())
				tls_conn_ktls(c->tls);
			c->st = CS_HANDSHAKE;
			hp_conn_deadline(c, l->lc->http.header_timeout_ms);
		}
		if (l->lc->mode == CFG_MODE_FORWARD && l->lc->forward.transparent)
			fp_accept(c); /* an intercepted connection? */
	}
}

/* ------------------------------------------------------------------ workers */

static void stop_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t v;

	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	ev_stop(loop);
}

#define HP_SWEEP_MS 250

/*
 * Idle upstream connections past their pool's keepalive_timeout are closed
 * here, oldest first, instead of by a timer each: a request then takes an
 * idle connection and gives it back without touching the timer heap.
 * Closing is late by at most HP_SWEEP_MS.
 */
static void sweep_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct hp_worker *w = arg;
	const struct cfg *cfg = w->s->cfg;
	uint64_t now = ev_now_ms(loop);

	(void)t;
	for (size_t i = 0; i < cfg->nr_pools; i++) {
		struct hp_wpool *wp = &w->pools[i];
		uint64_t to = wp->cp->keepalive_timeout_ms;

		for (size_t j = 0; j < cfg->pools[i].nr_backends; j++) {
			struct hp_backend *be = &wp->be[j];

			while (be->idle_tail && now - be->idle_tail->idle_since >= to)
				hp_up_close(be->idle_tail);
		}
	}
	w->sweep = ev_timer_add(loop, HP_SWEEP_MS, sweep_cb, w);
}

static void *worker_main(void *arg)
{
	struct hp_worker *w = arg;

	ev_run(w->loop);
	return NULL;
}

static void worker_free(struct hp_worker *w)
{
	const struct cfg *cfg = w->s->cfg;

	while (w->conns)
		hp_conn_close(w->conns);
	ev_timer_cancel(w->loop, w->sweep);
	fp_worker_free(w);
	if (w->pools) {
		for (size_t i = 0; i < cfg->nr_pools; i++) {
			struct hp_wpool *wp = &w->pools[i];

			if (!wp->be)
				continue;
			for (size_t j = 0; j < cfg->pools[i].nr_backends; j++) {
				while (wp->be[j].idle)
					hp_up_close(wp->be[j].idle);
				ev_timer_cancel(w->loop, wp->be[j].rest);
			}
			free(wp->be);
			pool_free(wp->pool);
			revmap_free(wp->rm);
		}
		free(w->pools);
	}
	if (w->lsn) {
		for (size_t i = 0; i < cfg->nr_listeners; i++) {
			if (w->lsn[i].fd >= 0) {
				ev_del_fd(w->loop, w->lsn[i].fd);
				close(w->lsn[i].fd);
			}
			free(w->lsn[i].rstats);
		}
		free(w->lsn);
	}
	while (w->nr_free_bufs)
		free(w->free_bufs[--w->nr_free_bufs]);
	free(w->free_bufs);
	while (w->free_txn) {
		struct hp_txn *t = w->free_txn;

		w->free_txn = *(struct hp_txn **)t;
		free(t);
	}
	if (w->stop_fd >= 0) {
		ev_del_fd(w->loop, w->stop_fd);
		close(w->stop_fd);
	}
	ev_loop_free(w->loop);
}

static int worker_pools(struct hp_worker *w)
{
	const struct cfg *cfg = w->s->cfg;
	char err[256];

	w->pools = calloc(cfg->nr_pools, sizeof(*w->pools));
	if (!w->pools)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nr_pools; i++) {
		const struct cfg_pool *cp = &cfg->pools[i];
		struct hp_wpool *wp = &w->pools[i];
		struct pool_backend_spec bs[POOL_MAX_BACKENDS];
		struct pool_spec ps = {
		    .algo = cp->balance,
		    .hash_name = cp->hash_key[0] ? cp->hash_key : NULL,
		    .backends = bs,
		    .n = cp->nr_backends,
		};

		wp->w = w;
		wp->cp = cp;
		wp->tls = w->s->up_tls ? w->s->up_tls[i] : NULL;
		if (cp->nr_backends > POOL_MAX_BACKENDS)
			return -E2BIG;
		for (size_t j = 0; j < cp->nr_backends; j++)
			bs[j] = (struct pool_backend_spec){cp->backends[j].addr_str,
							   cp->backends[j].weight};
		wp->pool = pool_new(&ps, err, sizeof(err));
		if (!wp->pool) {
			pr_err("http: pool %s: %s", cp->name, err);
			return -EINVAL;
		}
		wp->be = calloc(cp->nr_backends, sizeof(*wp->be));
		if (!wp->be)
			return -ENOMEM;
		for (size_t j = 0; j < cp->nr_backends; j++) {
			wp->be[j].wp = wp;
			wp->be[j].idx = j;
			wp->be[j].cb = &cp->backends[j];
		}
		if (cp->nr_reverse_map || cp->nr_cookie_domain_map || cp->nr_cookie_path_map) {
			struct revmap_pair *url = NULL, *dom = NULL, *path = NULL;
			struct revmap_spec rs;
			int rc = -ENOMEM;

			url = calloc(cp->nr_reverse_map + 1, sizeof(*url));
			dom = calloc(cp->nr_cookie_domain_map + 1, sizeof(*dom));
			path = calloc(cp->nr_cookie_path_map + 1, sizeof(*path));
			if (url && dom && path) {
				for (size_t j = 0; j < cp->nr_reverse_map; j++)
					url[j] = (struct revmap_pair){cp->reverse_map[j].from,
								      cp->reverse_map[j].to};
				for (size_t j = 0; j < cp->nr_cookie_domain_map; j++)
					dom[j] = (struct revmap_pair){cp->cookie_domain_map[j].from,
								      cp->cookie_domain_map[j].to};
				for (size_t j = 0; j < cp->nr_cookie_path_map; j++)
					path[j] = (struct revmap_pair){cp->cookie_path_map[j].from,
								       cp->cookie_path_map[j].to};
				memset(&rs, 0, sizeof(rs));
				rs.url = url;
				rs.nr_url = cp->nr_reverse_map;
				rs.domain = dom;
				rs.nr_domain = cp->nr_cookie_domain_map;
				rs.path = path;
				rs.nr_path = cp->nr_cookie_path_map;
				wp->rm = revmap_new(&rs, err, sizeof(err));
				rc = wp->rm ? 0 : -EINVAL;
				if (!wp->rm)
					pr_err("http: pool %s: reverse map: %s", cp->name, err);
			}
			free(url);
			free(dom);
			free(path);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int worker_init(struct hp_server *s, struct hp_worker *w, size_t id)
{
	const struct cfg *cfg = s->cfg;
	int err;

	w->s = s;
	w->id = id;
	w->stop_fd = -1;
	w->auth_fd = -1;
	pthread_mutex_init(&w->auth_lock, NULL);
	w->loop = ev_loop_new(HP_MAX_FDS);
	if (!w->loop)
		return -errno;
	w->free_bufs = calloc(HP_FREE_BUFS, sizeof(*w->free_bufs));
	w->lsn = calloc(cfg->nr_listeners, sizeof(*w->lsn));
	if (!w->free_bufs || !w->lsn)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nr_listeners; i++)
		w->lsn[i].fd = -1;
	err = worker_pools(w);
	if (err)
		return err;
	w->sweep = ev_timer_add(w->loop, HP_SWEEP_MS, sweep_cb, w);
	if (!w->sweep)
		return -ENOMEM;
	err = fp_worker_init(w);
	if (err)
		return err;
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->stop_fd < 0)
		return -errno;
	err = ev_add_fd(w->loop, w->stop_fd, EV_READ, stop_cb, w);
	if (err)
		return err;
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		const struct cfg_listener *lc = &cfg->listeners[i];
		struct hp_lsn *l = &w->lsn[i];

		if (lc->mode == CFG_MODE_TCP || id >= lc->workers)
			continue;
		l->w = w;
		l->lc = lc;
		l->idx = i;
		l->rstats = calloc(lc->http.nr_routes + 1, sizeof(*l->rstats));
		if (!l->rstats)
			return -ENOMEM;
		l->fd = sock_listen_reuseport(&lc->addr, lc->addrlen, lc->backlog, lc->sndbuf,
					      lc->rcvbuf);
		if (l->fd < 0) {
			err = l->fd;
			pr_err("http %s: listen on %s: %s", lc->name, lc->bind_str, strerror(-err));
			return err;
		}
		err = ev_add_fd(w->loop, l->fd, EV_READ, listener_cb, l);
		if (err)
			return err;
	}
	return 0;
}

static int fwd_conf_of(const struct cfg_http *h, int mode, struct fwd_conf *fc)
{
	memset(fc, 0, sizeof(*fc));
	switch (mode) {
	case CFG_FWD_XFF:
		fc->mode = FWD_XFF;
		break;
	case CFG_FWD_FORWARDED:
		fc->mode = FWD_FORWARDED;
		break;
	case CFG_FWD_BOTH:
		fc->mode = FWD_XFF | FWD_FORWARDED;
		break;
	case CFG_FWD_HIDE:
		fc->mode = FWD_HIDE;
		break;
	default:
		fc->mode = 0;
		break;
	}
	if (h->via && mode != CFG_FWD_HIDE)
		fc->mode |= FWD_VIA;
	fc->pseudonym = h->via_name;
	return fwd_conf_check(fc, NULL, 0);
}

/* The certificates of listener lc as a new store; NULL with the reason logged. */
static struct tls_store *tls_store_of(const struct cfg_listener *lc, struct tls_tickets *tickets)
{
	struct tls_cert_spec certs[64];
	struct tls_store_spec spec;
	struct tls_store *st;
	char err[512] = "";

	if (lc->tls.nr_certs > 64) {
		pr_err("http %s: tls: at most 64 certificates", lc->name);
		return NULL;
	}
	memset(&spec, 0, sizeof(spec));
	for (size_t i = 0; i < lc->tls.nr_certs; i++) {
		const struct cfg_tls_cert *cc = &lc->tls.certs[i];

		memset(&certs[i], 0, sizeof(certs[i]));
		certs[i].cert = cc->cert;
		certs[i].key = cc->key;
		certs[i].ocsp = cc->ocsp[0] ? cc->ocsp : NULL;
		certs[i].is_default = cc->is_default;
	}
	spec.certs = certs;
	spec.ncerts = lc->tls.nr_certs;
	/* h2 first when served: a client offering both gets it (h2conn.c) */
	spec.alpn = lc->tls.h2 ? "h2,http/1.1" : "http/1.1";
	spec.session_cache = lc->tls.session_cache ? (long)lc->tls.session_cache : -1;
	/* a reload keeps the ticket keys: sessions resume across it */
	spec.tickets = tickets;
	st = tls_store_new(&spec, err, sizeof(err));
	if (!st)
		pr_err("http %s: tls: %s", lc->name, err[0] ? err : strerror(errno));
	return st;
}

static int tls_stores_init(struct hp_server *s)
{
	const struct cfg *cfg = s->cfg;

	s->tls = calloc(cfg->nr_listeners, sizeof(*s->tls));
	if (!s->tls)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		if (!cfg->listeners[i].tls.nr_certs)
			continue;
		s->tls[i] = tls_store_of(&cfg->listeners[i], NULL);
		if (!s->tls[i])
			return -EINVAL;
		if (!tls_ktls_available())
			pr_info("http %s: kTLS unavailable (the kernel has no TLS ULP, "
				"CONFIG_TLS): records stay in userspace, TLS tunnels are relayed, "
				"not spliced",
				cfg->listeners[i].name);
	}
	return 0;
}

/*
 * Each tls pool's client context, shared by every worker: its CA bundle
 * and client certificate are read here, so a bad file stops the start
 * with its reason. 0, -ENOMEM or -EINVAL (logged).
 */
static int up_tls_init(struct hp_server *s)
{
	const struct cfg *cfg = s->cfg;

	s->up_tls = calloc(cfg->nr_pools + 1, sizeof(*s->up_tls));
	if (!s->up_tls)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nr_pools; i++) {
		const struct cfg_pool *cp = &cfg->pools[i];
		const struct cfg_pool_tls *pt = &cp->tls;
		struct tls_client_spec spec = {
		    .ca = pt->verify ? pt->ca : NULL,
		    .verify = pt->verify,
		    .sni = pt->sni[0] ? pt->sni : NULL,
		    .cert = pt->cert[0] ? pt->cert : NULL,
		    .key = pt->key[0] ? pt->key : NULL,
		    .slots = cp->nr_backends, /* a session per backend */
		};
		char err[512] = "";

		if (!pt->enabled)
			continue;
		s->up_tls[i] = tls_client_new(&spec, err, sizeof(err));
		if (!s->up_tls[i]) {
			pr_err("http pool %s: tls: %s", cp->name, err);
			return errno == ENOMEM ? -ENOMEM : -EINVAL;
		}
		if (!pt->verify)
			pr_warn("http pool %s: tls verify is false: whoever answers is trusted",
				cp->name);
	}
	return 0;
}

static void up_tls_free(struct hp_server *s)
{
	for (size_t i = 0; s->up_tls && i < s->cfg->nr_pools; i++)
		tls_client_free(s->up_tls[i]);
	free(s->up_tls);
}

int hp_server_reload_tls(struct hp_server *s)
{
	const struct cfg *cfg = s->cfg;
	int failed = 0;

	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		struct tls_store *st, *old;

		if (!cfg->listeners[i].tls.nr_certs)
			continue;
		pthread_mutex_lock(&s->tls_lock);
		st = tls_store_of(&cfg->listeners[i], tls_store_tickets(s->tls[i]));
		pthread_mutex_unlock(&s->tls_lock);
		if (!st) {
			failed++; /* the old certificates stay */
			continue;
		}
		pthread_mutex_lock(&s->tls_lock);
		old = s->tls[i];
		s->tls[i] = st;
		pthread_mutex_unlock(&s->tls_lock);
		/* connections hold their own references: they finish on the old one */
		tls_store_unref(old);
		pr_info("http %s: certificates reloaded", cfg->listeners[i].name);
	}
	return failed ? -EINVAL : 0;
}

struct hp_server *hp_server_new(const struct cfg *cfg)
{
	struct hp_server *s;
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < cfg->nr_listeners; i++)
		if (cfg->listeners[i].mode != CFG_MODE_TCP && cfg->listeners[i].workers > n)
			n = cfg->listeners[i].workers;
	if (!n) {
		errno = ENOENT;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = cfg;
	s->log_fd = -1;
	s->handoff_fd = -1;
	pthread_mutex_init(&s->handoff_lock, NULL);
	pthread_mutex_init(&s->tls_lock, NULL);
	s->rt = calloc(cfg->nr_listeners, sizeof(*s->rt));
	s->fwd = calloc(cfg->nr_listeners, sizeof(*s->fwd));
	s->rfwd = calloc(cfg->nr_listeners, sizeof(*s->rfwd));
	if (!s->rt || !s->fwd || !s->rfwd) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		const struct cfg_listener *lc = &cfg->listeners[i];
		struct route_rule *rules;
		char msg[256];

		if (lc->mode == CFG_MODE_TCP)
			continue;
		rules = calloc(lc->http.nr_routes + 1, sizeof(*rules));
		if (!rules) {
			err = -ENOMEM;
			goto fail;
		}
		for (size_t j = 0; j < lc->http.nr_routes; j++)
			rules[j] = lc->http.routes[j].rule;
		s->rt[i] = route_table_new(rules, lc->http.nr_routes, msg, sizeof(msg));
		free(rules);
		if (!s->rt[i]) {
			pr_err("http %s: routes: %s", lc->name, msg);
			err = -EINVAL;
			goto fail;
		}
		if (fwd_conf_of(&lc->http, (int)lc->http.fwd, &s->fwd[i])) {
			pr_err("http %s: forwarded headers: bad settings", lc->name);
			err = -EINVAL;
			goto fail;
		}
		s->rfwd[i] = calloc(lc->http.nr_routes + 1, sizeof(*s->rfwd[i]));
		if (!s->rfwd[i]) {
			err = -ENOMEM;
			goto fail;
		}
		for (size_t j = 0; j < lc->http.nr_routes; j++) {
			struct fwd_conf *fc;

			if (lc->http.routes[j].fwd < 0)
				continue;
			fc = calloc(1, sizeof(*fc));
			if (!fc || fwd_conf_of(&lc->http, lc->http.routes[j].fwd, fc)) {
				free(fc);
				err = -EINVAL;
				goto fail;
			}
			s->rfwd[i][j] = fc;
		}
		/* one access log for the process: the first listener that asks for it */
		if (s->log_fd < 0 && lc->http.access_log[0]) {
			if (!strcmp(lc->http.access_log, "-")) {
				s->log_fd = dup(STDOUT_FILENO);
			} else {
				s->log_fd = open(lc->http.access_log,
						 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
			}
			if (s->log_fd < 0) {
				err = -errno;
				pr_err("http %s: access log %s: %s", lc->name, lc->http.access_log,
				       strerror(errno));
				goto fail;
			}
			s->log_fmt =
			    lc->http.log_format == CFG_LOG_JSON ? ALOG_JSON : ALOG_COMBINED;
		}
	}
	err = fp_server_init(s);
	if (err)
		goto fail;
	err = tls_stores_init(s);
	if (err)
		goto fail;
	err = up_tls_init(s);
	if (err)
		goto fail;
	s->nr_workers = n;
	s->w = calloc(n, sizeof(*s->w));
	if (!s->w) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		err = worker_init(s, &s->w[i], i);
		if (err) {
			s->nr_workers = i + 1;
			goto fail;
		}
	}
	return s;
fail:
	hp_server_free(s);
	errno = err ? -err : EINVAL;
	return NULL;
}

static void handoff_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct hp_server *s = arg;
	struct hp_handoff q[64];
	uint64_t v;
	size_t n;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	do {
		pthread_mutex_lock(&s->handoff_lock);
		n = s->handoff_n < 64 ? s->handoff_n : 64;
		memcpy(q, s->handoff_q, n * sizeof(*q));
		memmove(s->handoff_q, s->handoff_q + n, (s->handoff_n - n) * sizeof(*q));
		s->handoff_n -= n;
		pthread_mutex_unlock(&s->handoff_lock);
		for (size_t i = 0; i < n; i++)
			s->handoff_fn(s->handoff_arg, &q[i]);
	} while (n == 64);
}

int hp_server_set_handoff(struct hp_server *s, struct ev_loop *loop, hp_handoff_fn fn, void *arg)
{
	int err;

	if (s->handoff_fd >= 0 || !fn)
		return -EINVAL;
	s->handoff_cap = 1024;
	s->handoff_q = calloc(s->handoff_cap, sizeof(*s->handoff_q));
	if (!s->handoff_q)
		return -ENOMEM;
	s->handoff_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->handoff_fd < 0)
		return -errno;
	err = ev_add_fd(loop, s->handoff_fd, EV_READ, handoff_cb, s);
	if (err) {
		close(s->handoff_fd);
		s->handoff_fd = -1;
		return err;
	}
	s->handoff_fn = fn;
	s->handoff_arg = arg;
	s->handoff_loop = loop;
	return 0;
}

int hp_server_start(struct hp_server *s)
{
	for (size_t i = 0; i < s->nr_workers; i++) {
		int err = pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i]);

		if (err)
			return -err;
		s->w[i].started = true;
	}
	return 0;
}

void hp_server_free(struct hp_server *s)
{
	const struct cfg *cfg;

	if (!s)
		return;
	cfg = s->cfg;
	for (size_t i = 0; s->w && i < s->nr_workers; i++) {
		struct hp_worker *w = &s->w[i];
		uint64_t one = 1;

		if (w->started) {
			if (write(w->stop_fd, &one, sizeof(one)) < 0)
				pr_warn("http: cannot stop worker %zu", i);
			pthread_join(w->thread, NULL);
		}
	}
	/* no worker runs now: the auth thread may finish into their queues, then stop */
	fp_server_quiesce(s);
	for (size_t i = 0; s->w && i < s->nr_workers; i++)
		if (s->w[i].loop)
			worker_free(&s->w[i]);
	free(s->w);
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		if (s->rt)
			route_table_free(s->rt[i]);
		if (s->rfwd && s->rfwd[i]) {
			for (size_t j = 0; j < cfg->listeners[i].http.nr_routes; j++)
				free(s->rfwd[i][j]);
			free(s->rfwd[i]);
		}
	}
	fp_server_free(s);
	for (size_t i = 0; s->tls && i < cfg->nr_listeners; i++)
		tls_store_unref(s->tls[i]);
	free(s->tls);
	up_tls_free(s); /* the workers and their connections are gone */
	pthread_mutex_destroy(&s->tls_lock);
	free(s->rt);
	free(s->fwd);
	free(s->rfwd);
	if (s->log_fd >= 0)
		close(s->log_fd);
	if (s->handoff_fd >= 0) {
		ev_del_fd(s->handoff_loop, s->handoff_fd);
		close(s->handoff_fd);
		/* the workers are gone: tunnels still queued are nobody's */
		for (size_t i = 0; i < s->handoff_n; i++) {
			close(s->handoff_q[i].cfd);
			close(s->handoff_q[i].bfd);
			free(s->handoff_q[i].log_ctx);
		}
	}
	free(s->handoff_q);
	pthread_mutex_destroy(&s->handoff_lock);
	free(s);
}

void hp_server_totals(struct hp_server *s, struct hp_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->nr_workers; i++) {
		const uint64_t *src = (const uint64_t *)&s->w[i].tot;
		uint64_t *dst = (uint64_t *)out;

		/* every field is a uint64_t, written by its worker alone */
		for (size_t j = 0; j < sizeof(*out) / sizeof(uint64_t); j++)
			dst[j] += __atomic_load_n(&src[j], __ATOMIC_RELAXED);
	}
}

/* The upstream TLS counters of backend b of pool p, a tls pool's: one line. */
static void up_tls_print_backend(struct hp_server *s, FILE *f, size_t p, size_t b)
{
	const struct cfg_pool *cp = &s->cfg->pools[p];
	uint64_t hs = 0, res = 0, fail = 0;

	for (size_t i = 0; i < s->nr_workers; i++) {
		const struct hp_backend *be = &s->w[i].pools[p].be[b];

		hs += be->tls_handshakes;
		res += be->tls_resumed;
		fail += be->tls_failed;
	}
	fprintf(f, "http pool=%s backend=%s tls_handshakes=%llu tls_resumed=%llu tls_failed=%llu\n",
		cp->name, cp->backends[b].addr_str, (unsigned long long)hs, (unsigned long long)res,
		(unsigned long long)fail);
}

void hp_server_print_stats(struct hp_server *s, FILE *f)
{
	const struct cfg *cfg = s->cfg;

	for (size_t li = 0; li < cfg->nr_listeners; li++) {
		const struct cfg_listener *lc = &cfg->listeners[li];

		if (lc->mode == CFG_MODE_TCP)
			continue;
		for (size_t r = 0; r <= lc->http.nr_routes; r++) {
			struct hp_route_stats sum = {0};

			for (size_t i = 0; i < s->nr_workers; i++) {
				const struct hp_route_stats *rs;

				if (!s->w[i].lsn[li].rstats)
					continue;
				rs = &s->w[i].lsn[li].rstats[r];
				sum.requests += rs->requests;
				for (int k = 0; k < 6; k++)
					sum.status[k] += rs->status[k];
			}
			fprintf(
			    f,
			    "http %s route=%s requests=%llu 2xx=%llu 3xx=%llu 4xx=%llu 5xx=%llu\n",
			    lc->name,
			    r < lc->http.nr_routes ? lc->http.routes[r].rule.name : "(default)",
			    (unsigned long long)sum.requests, (unsigned long long)sum.status[2],
			    (unsigned long long)sum.status[3], (unsigned long long)sum.status[4],
			    (unsigned long long)sum.status[5]);
		}
	}
	for (size_t p = 0; p < cfg->nr_pools; p++) {
		for (size_t b = 0; b < cfg->pools[p].nr_backends; b++) {
			uint64_t req = 0, con = 0, fail = 0, reu = 0, idle = 0;

			for (size_t i = 0; i < s->nr_workers; i++) {
				const struct hp_backend *be = &s->w[i].pools[p].be[b];

				req += be->requests;
				con += be->connects;
				fail += be->connect_fail;
				reu += be->reused;
				idle += be->nr_idle;
			}
			if (!req && !con)
				continue;
			fprintf(f,
				"http pool=%s backend=%s requests=%llu connects=%llu reused=%llu "
				"connect_fail=%llu idle=%llu\n",
				cfg->pools[p].name, cfg->pools[p].backends[b].addr_str,
				(unsigned long long)req, (unsigned long long)con,
				(unsigned long long)reu, (unsigned long long)fail,
				(unsigned long long)idle);
			if (cfg->pools[p].tls.enabled)
				up_tls_print_backend(s, f, p, b);
		}
	}
}
