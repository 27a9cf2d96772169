/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP proxy's insides, shared by http.c (reverse proxy, the state
 * machine) and forward.c (forward proxy: access control, policy, name
 * resolution, CONNECT). Not an API: only user/proxy/ includes this.
 */
#ifndef XDP_PROXY_HTTP_INT_H
#define XDP_PROXY_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/basic.h"
#include "ev/ev.h"
#include "http/alog.h"
#include "http/fwd.h"
#include "http/h1.h"
#include "net/dns.h"
#include "policy/host.h"
#include "proxy/http.h"
#include "route/pool.h"
#include "route/rules.h"

#define HP_BUF_SIZE	 (16u << 10)  /* buffers from the free list */
#define HP_BIG_BODY	 (256u << 10) /* bodies larger than this (or unknown) ... */
#define HP_BIG_BUF	 (256u << 10) /* ... stream through buffers this large */
#define HP_FREE_BUFS	 256	      /* kept on a worker's free list at most */
#define HP_ACCEPT_BATCH	 32
#define HP_ADD_MAX	 (ROUTE_OPS_MAX + FWD_ADD_MAX + 16)
#define HP_SCRATCH	 8192 /* identity values, rewritten locations, target */
#define HP_DOWN_MS	 2000 /* a backend that refused a connect rests this long */
#define HP_CHUNK_HDR_MAX 20   /* "ffffffffffffffff\r\n" + "\r\n" after the data */
#define HP_LOG_LINE	 4096
#define HP_MAX_FDS	 (1 << 20)

/* A byte buffer: data in p[off, len). */
struct hp_buf {
	char *p;
	uint32_t cap, off, len;
};

struct hp_worker;
struct hp_conn;
struct tls_client;
struct tls_conn;

/* An upstream connection: busy with one client's request, or idle in its backend's list. */
struct hp_up {
	struct hp_worker *w;
	struct hp_backend *be;
	struct hp_conn *c; /* NULL while idle */
	int fd;
	bool connecting;
	bool reused;	 /* carried an earlier request */
	bool rd_ready;	 /* readiness hints from epoll, cleared on EAGAIN */
	bool wr_blocked; /* last write hit EAGAIN: wait for EV_WRITE */
	bool eof;
	struct hp_up *next, *prev;    /* the backend's idle list */
	uint64_t idle_since;	      /* ms, when it went idle (swept by sweep_cb) */
	struct hp_conn *parked_on;    /* forward proxy: idle, kept for this client's next request */
	char dest[HOST_NORM_MAX + 8]; /* forward proxy: the "host:port" it is connected to */
	struct ev_timer *timer;	      /* connect timeout, or idle keep-alive timeout */
	struct hp_buf in, out;
	struct tls_conn *tls; /* a TLS pool's: every byte goes through it; NULL: plain */
	bool tls_hs;	      /* its handshake runs (connecting stays true until it is done) */
};

struct hp_backend {
	struct hp_wpool *wp;
	size_t idx;
	const struct cfg_backend *cb;
	struct hp_up *idle;	 /* most recently used first */
	struct hp_up *idle_tail; /* the longest idle: swept first */
	uint32_t nr_idle;
	struct ev_timer *rest; /* while marked down after a refused connect */
	uint64_t requests, connects, connect_fail, reused;
	uint64_t tls_handshakes, tls_resumed, tls_failed; /* upstream TLS */
};

/* A pool as one worker runs it. */
struct hp_wpool {
	struct hp_worker *w;
	const struct cfg_pool *cp;
	struct pool *pool;
	struct revmap *rm; /* NULL: no reverse mapping */
	struct hp_backend *be;
	struct tls_client *tls; /* upstream TLS (hp_server.up_tls), NULL: plain */
};

struct hp_route_stats {
	uint64_t requests;
	uint64_t status[6];
};

/* A listener as one worker runs it. */
struct hp_lsn {
	struct hp_worker *w;
	const struct cfg_listener *lc;
	size_t idx; /* in hp_server.lsn */
	int fd;
	struct hp_route_stats *rstats; /* [nr_routes + 1]: the last is "default pool" */
	/* mode forward: destinations are not a pool's; one stand-in for counters */
	struct hp_wpool fwp;
	struct hp_backend fbe;
	struct cfg_pool fcp;
	struct cfg_backend fcb;
};

enum hp_cstate {
	CS_IDLE = 0,  /* keep-alive: waiting for the first byte of a request */
	CS_HEAD,      /* reading a request head */
	CS_REQ,	      /* a request in progress */
	CS_CLOSING,   /* an answer is being written; close when it is out */
	CS_TUNNEL,    /* after 101: opaque bytes both ways */
	CS_HANDSHAKE, /* TLS listener: the handshake is in progress */
	CS_H2,	      /* HTTP/2: the socket carries frames; requests run as streams (h2conn.c) */
};

/* One request/response exchange. */
struct hp_txn {
	struct h1_msg req;  /* view into c->in.p + head_at */
	struct h1_msg resp; /* view into up->in.p + resp_at */
	struct h1_body rqb, rsb;
	uint32_t head_at; /* offset of the request in c->in.p */
	uint32_t rq_pos;  /* next request-body byte in c->in.p */
	uint32_t resp_at; /* offset of the response being parsed in up->in.p */
	int rule;	  /* route index, or -1 for the default pool */
	struct hp_wpool *wp;
	struct hp_backend *be;
	struct pool_set tried;
	uint32_t attempts;
	bool head_live;	    /* c->in still holds the request head (retry possible) */
	bool head_sent;	    /* queued to the upstream */
	bool rq_chunked;    /* re-framing the request body as chunked */
	bool rq_done;	    /* request body wholly read from the client */
	bool resp_head;	    /* final response head written to c->out */
	bool rs_chunked;    /* re-framing the response body as chunked */
	bool rs_done;	    /* response body wholly read from the upstream */
	bool rs_body;	    /* the client gets a body */
	bool keepalive;	    /* the client connection stays open afterwards */
	bool up_reusable;   /* the upstream connection may carry another request */
	bool got_upstream;  /* any response byte arrived */
	bool upgrade;	    /* request asked for an upgrade */
	bool resp_wait;	    /* the response timeout runs: the request is wholly sent */
	bool sent_continue; /* we answered Expect: 100-continue */
	bool rq_big;	    /* a large request body: grow the buffers it streams through */
	uint16_t status;    /* sent to the client */
	enum h1_meth meth;
	uint8_t version;
	uint64_t start_ms;
	uint64_t first_up_ms;
	uint64_t bytes_sent, bytes_rcvd;
	struct timespec start_rt;
	const char *verdict;
	/* copies for the access log, taken before the head may be overwritten */
	char log[1024];
	uint16_t lmeth, ltarget, lhost, lref, lua; /* lengths, in this order in log[] */
	char route_tgt[2048];			   /* the target sent upstream */
	size_t route_tgt_len;
	char scratch[HP_SCRATCH];
	char rscratch[HP_SCRATCH];
	char rt_scratch[HP_SCRATCH];
	struct route_req rr;
	/* access log fields that are not a route's or a backend's (forward proxy) */
	const char *log_route;
	const char *log_backend;
	const char *log_user;
	/* forward proxy (forward.c) */
	bool fp_connect;     /* a CONNECT tunnel */
	bool fp_parent;	     /* through the parent proxy */
	bool fp_transparent; /* intercepted: no 200 for a tunnel, no authentication */
	uint16_t fp_port;    /* the target's port */
	int fp_rule;	     /* the policy rule that decided, -1 none */
	char fp_host[HOST_NORM_MAX];
	char fp_dest[HOST_NORM_MAX + 8]; /* "host:port" for logs */
	char fp_user[AUTH_USER_MAX + 1];
	struct dns_query *fp_q;	     /* a resolution in flight */
	struct fp_auth_job *fp_auth; /* a password check in flight */
	union dns_addr fp_addrs[DNS_MAX_ADDRS];
	size_t fp_n, fp_next; /* addresses to try, and the next one */
};

struct hp_conn {
	struct hp_worker *w;
	struct hp_lsn *l;
	int fd;
	enum hp_cstate st;
	bool rd_ready, wr_blocked, rd_eof;
	bool in_progress; /* conn_progress is on the stack: closing is deferred */
	bool transparent; /* intercepted by bpf/intercept.bpf.c: orig is where it was going */
	struct sockaddr_storage orig;
	char orig_str[48]; /* its address as text, IPv6 in brackets */
	bool dead;
	struct sockaddr_storage peer, local;
	struct hp_buf in, out;
	struct hp_txn *t;
	struct hp_up *up;
	struct hp_up *park;   /* forward proxy: the last upstream connection, idle, for reuse */
	struct tls_conn *tls; /* TLS listener: the client's TLS; NULL: plain */
	/*
	 * HTTP/2 (h2conn.c): a client connection that speaks it (CS_H2) has
	 * h2; each of its request streams runs as a connection of its own with
	 * no socket (fd -1) and h2s set, which the engine drives like an
	 * HTTP/1.1 client sending one request.
	 */
	struct hp_h2 *h2;
	struct hp_h2s *h2s;
	struct hp_conn *h2p; /* a stream's HTTP/2 connection; NULL once that is gone */
	bool had_request;    /* a request head was parsed here: no h2c preface any more */
	bool clean;	     /* closing after the answer went out whole */
	struct ev_timer *timer;
	struct ev_timer *kick; /* conn_progress ran out of rounds: more to do at once */
	uint64_t timer_at;     /* when the armed timer fires */
	uint64_t deadline;     /* when the current state times out; 0 = none */
	struct hp_conn *next, *prev;
};

struct hp_worker {
	struct hp_server *s;
	size_t id;
	struct ev_loop *loop;
	pthread_t thread;
	bool started;
	int stop_fd;
	struct hp_lsn *lsn;
	struct hp_wpool *pools;
	struct hp_conn *conns;
	char **free_bufs;
	size_t nr_free_bufs;
	struct hp_txn *free_txn;
	struct hp_totals tot;
	struct ev_timer *sweep; /* closes idle upstream connections past keepalive_timeout */
	struct dns *dns;	/* forward listeners: this worker's resolver */
	/* password checks done by the server's auth thread (forward.c) */
	int auth_fd; /* eventfd: results are in auth_done; -1 without */
	pthread_mutex_t auth_lock;
	struct fp_auth_job *auth_done;
	char logline[HP_LOG_LINE];
};

struct hp_server {
	const struct cfg *cfg;
	size_t nr_workers; /* the largest 'workers' of any http listener */
	struct hp_worker *w;
	struct route_table **rt; /* per cfg listener (NULL for tcp listeners) */
	struct fwd_conf *fwd;	 /* per cfg listener */
	struct fwd_conf ***rfwd; /* per cfg listener, per route: NULL = the listener's */
	int log_fd;		 /* access log, -1 = off */
	/* tunnels to the TCP proxy (hp_server_set_handoff) */
	hp_handoff_fn handoff_fn;
	void *handoff_arg;
	struct ev_loop *handoff_loop;
	int handoff_fd; /* eventfd on handoff_loop, -1 = none */
	pthread_mutex_t handoff_lock;
	struct hp_handoff *handoff_q;
	size_t handoff_n, handoff_cap;
	enum alog_format log_fmt;
	struct fp_listener *fp;	    /* per cfg listener: forward proxies' policy (forward.c) */
	struct intercept_ctl *icpt; /* transparent listeners: the pinned original destinations */
	struct intercept_ctl *icpt_own; /* the interception this run attached (forward.intercept) */
	struct fp_auth_pool *auth;	/* the thread that checks passwords, NULL without auth */
	struct tls_store **tls;		/* per cfg listener: its certificates, NULL: plain */
	pthread_mutex_t tls_lock;	/* guards tls[] against a reload's swap */
	struct tls_client **up_tls;	/* per cfg pool: its upstream TLS, NULL: plain */
};

static inline uint32_t hp_buf_data(const struct hp_buf *b)
{
	return b->len - b->off;
}

static inline uint32_t hp_buf_room(const struct hp_buf *b)
{
	return b->p ? b->cap - b->len : 0;
}

static inline const struct cfg_http *hp_conn_http(const struct hp_conn *c)
{
	return &c->l->lc->http;
}

static inline int hp_status_class(int status)
{
	return status >= 100 && status < 600 ? status / 100 : 0;
}

/* http.c: buffers from the worker's free list (see the definitions) */
int hp_buf_get(struct hp_worker *w, struct hp_buf *b);
void hp_buf_put(struct hp_worker *w, struct hp_buf *b);
void hp_buf_compact(struct hp_buf *b);
int hp_buf_reserve(struct hp_buf *b, uint32_t n);
int hp_buf_grow(struct hp_buf *b, uint32_t cap);
int hp_buf_append(struct hp_buf *b, const void *d, size_t n);

/* The client's TLS: its own, or for a stream its HTTP/2 connection's. */
static inline struct tls_conn *hp_conn_tls(const struct hp_conn *c)
{
	return c->h2p ? c->h2p->tls : c->tls;
}

/* http.c: connections */
void hp_conn_progress(struct hp_conn *c);
/* hp_conn_progress(c) once the events of this loop round are handled (batching). */
void hp_conn_defer(struct hp_conn *c);
void hp_conn_close(struct hp_conn *c);
void hp_conn_deadline(struct hp_conn *c, uint32_t ms);
void hp_conn_activity(struct hp_conn *c, uint32_t ms);
/*
 * Answers the request status with a short text body and closes after it;
 * _hdr adds extra field lines (each ending in CRLF), _raw sends a complete
 * response as given. Only before any response byte went to the client;
 * otherwise the connection is cut.
 */
void hp_conn_answer(struct hp_conn *c, int status, const char *verdict);
void hp_conn_answer_hdr(struct hp_conn *c, int status, const char *extra, const char *verdict);
void hp_conn_answer_raw(struct hp_conn *c, int status, const char *resp, size_t len,
			const char *verdict);
const char *hp_status_reason(int status);
/* Copies the request's method, target, host, Referer, User-Agent for the access log. */
void hp_txn_log_fields(struct hp_conn *c, const char *buf);
void hp_txn_log(struct hp_conn *c);
void hp_txn_end(struct hp_conn *c);
/* h1_write_head into b, growing it as needed: 0, -ENOMEM or h1_write_head's -EINVAL. */
int hp_write_head(struct hp_buf *b, const struct h1_msg *m, const char *buf,
		  const struct h1_rewrite *rw);
/* A new transaction for c (c->t), its request starting at c->in.off; NULL: no memory. */
struct hp_txn *hp_txn_begin(struct hp_conn *c);
void hp_set_nodelay(int fd);
void hp_fd_interest(struct ev_loop *loop, int fd, uint32_t ev, ev_fd_cb cb, void *arg);

/*
 * http.c: the client side's reads and writes (plain or TLS), as for
 * sock_read/sock_write: 1 = bytes moved, 0 = nothing (EAGAIN, no room),
 * -1 = EOF or error. A stream's go through h2conn.c.
 */
int hp_conn_rd(struct hp_conn *c, struct hp_buf *b, uint64_t *count);
int hp_conn_wr(struct hp_conn *c, struct hp_buf *b, uint64_t *count);

/*
 * h2conn.c: HTTP/2 toward clients. hp_h2_start turns c (its TLS picked h2,
 * or an h2c listener saw the preface, which stays in c->in) into CS_H2;
 * -ENOMEM. hp_h2_step is conn_step for CS_H2. hp_h2_interest: the epoll
 * events c wants. hp_h2_timeout: c's deadline passed. hp_h2_free: c is
 * closing (its streams are cut). hp_h2_kick: a stream of c did something:
 * flush what the session has for the client.
 * For a stream: hp_h2s_rd/_wr are its conn_rd/conn_wr; hp_h2s_consumed:
 * n request body data bytes went upstream; hp_h2s_close: it is closing.
 */
int hp_h2_start(struct hp_conn *c);
bool hp_h2_step(struct hp_conn *c);
uint32_t hp_h2_interest(struct hp_conn *c);
void hp_h2_timeout(struct hp_conn *c);
void hp_h2_free(struct hp_conn *c);
void hp_h2_kick(struct hp_conn *c);
int hp_h2s_rd(struct hp_conn *c, struct hp_buf *b, uint64_t *count);
int hp_h2s_wr(struct hp_conn *c, struct hp_buf *b, uint64_t *count);
void hp_h2s_consumed(struct hp_conn *c, uint64_t n);
void hp_h2s_close(struct hp_conn *c);

/* http.c: upstream connections */
void hp_up_close(struct hp_up *u);
void hp_up_event(struct ev_loop *loop, int fd, uint32_t events, void *arg);
void hp_up_release(struct hp_up *u, bool reusable);

struct hp_up *hp_up_connect_addr(struct hp_conn *c, struct hp_backend *be,
				 const struct sockaddr_storage *addr, socklen_t len);

/*
 * forward.c: the forward proxy. fp_server_init builds each forward
 * listener's policy, client set and password db (0 or -errno, logged);
 * fp_worker_init gives a worker its resolver and stand-in pools.
 * fp_request takes a parsed request head: it answers it (400, 403, 407,
 * 405) or starts resolving and connecting. fp_send_head writes what goes
 * upstream once connected (or, for CONNECT, the 200 and the switch to
 * CS_TUNNEL). fp_up_failed: the connection to the current address failed.
 * fp_txn_stop: the request is being dropped (cancels a resolution).
 */
struct tls_conn;
struct tls_store;
struct fp_listener;
struct fp_auth_job;
struct fp_auth_pool;
int fp_server_init(struct hp_server *s);
void fp_server_free(struct hp_server *s);
/* Workers stopped: finish and stop the auth thread (before the workers are freed). */
void fp_server_quiesce(struct hp_server *s);
int fp_worker_init(struct hp_worker *w);
void fp_worker_free(struct hp_worker *w);
void fp_request(struct hp_conn *c);
/* A connection accepted on a transparent listener: intercepted or explicit? */
void fp_accept(struct hp_conn *c);
int fp_send_head(struct hp_conn *c);
void fp_up_failed(struct hp_conn *c, bool connect, bool timeout);
void fp_txn_stop(struct hp_conn *c);
/* The request ended cleanly: keep c->up idle on c for a next request to the same place. */
void fp_park(struct hp_conn *c);

#endif
