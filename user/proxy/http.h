/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP/1.1 reverse proxy: the listeners of mode http, each served by
 * `workers` threads. Every worker runs its own event loop on its own
 * SO_REUSEPORT socket of each listener, with its own upstream pools, idle
 * upstream connections and counters, so workers share nothing but the
 * immutable config and route tables.
 *
 * A client connection carries one request at a time (pipelined requests
 * wait in its buffer, answered in order). For each request:
 *
 *   head parsed (user/http/h1.c, strict) -> route (user/route/rules.c)
 *   -> backend (user/route/pool.c) -> an idle upstream connection to it, or
 *   a new one -> the head re-serialized (hop-by-hop fields dropped, route
 *   ops, X-Forwarded-*, target as matched) -> the body re-framed as it
 *   streams -> the response head re-serialized (reverse mapping, route ops)
 *   -> its body re-framed -> the upstream connection back to the idle list
 *   when both messages ended cleanly -> the access log line.
 *
 * Buffers are taken from a per-worker free list when a request starts and
 * given back when the connection goes idle, so an idle keep-alive client
 * costs only its small connection struct.
 */
#ifndef XDP_PROXY_HTTP_H
#define XDP_PROXY_HTTP_H

#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

struct hp_server;
struct ev_loop;

/* Counters summed over workers; see hp_server_totals. */
struct hp_totals {
	uint64_t accepted;	  /* client connections */
	uint64_t active;	  /* client connections open now */
	uint64_t requests;	  /* request heads parsed */
	uint64_t status[6];	  /* responses sent by class: [1] 1xx .. [5] 5xx, [0] none */
	uint64_t bad_request;	  /* refused by the parser (400, 413, 414, 431, 501, 505) */
	uint64_t no_route;	  /* 404: no route and no default pool */
	uint64_t up_connects;	  /* new upstream connections */
	uint64_t up_reused;	  /* requests sent on an idle upstream connection */
	uint64_t up_connect_fail; /* connects that failed or timed out */
	uint64_t retries;	  /* requests sent again to another backend */
	uint64_t up_bad_response; /* 502: the upstream's response was refused */
	uint64_t timeouts;	  /* any timeout that ended a request or connection */
	uint64_t upgrades;	  /* connections that became tunnels (101) */
	uint64_t handoffs;	  /* tunnels handed to the TCP proxy's splice */
	uint64_t tls_handshakes;  /* TLS handshakes completed */
	uint64_t tls_resumed;	  /* ... of which resumed a session */
	uint64_t tls_failed;	  /* handshakes that failed */
	uint64_t h2_conns;	  /* client connections that spoke HTTP/2 */
	uint64_t h2_streams;	  /* requests that came on their streams */
	uint64_t bytes_in;	  /* from clients */
	uint64_t bytes_out;	  /* to clients */
};

/*
 * Opens every mode-http listener of cfg (one SO_REUSEPORT socket per worker)
 * and prepares the workers; nothing runs until hp_server_start. NULL with
 * errno set (and the reason logged) on failure; a cfg without http
 * listeners gives NULL with errno ENOENT. cfg must outlive the server.
 */
struct hp_server *hp_server_new(const struct cfg *cfg);
/* Starts the worker threads. 0 or -errno. */
int hp_server_start(struct hp_server *s);
/*
 * Stops and joins the workers (each closes its connections) and frees
 * everything. Accepts NULL.
 */
void hp_server_free(struct hp_server *s);

/*
 * A tunnel leaving the HTTP proxy: after a 101, once both heads and any
 * bytes that came with them have been passed on, the two sockets are opaque
 * bytes and go to the TCP proxy, which splices them in the kernel
 * (sockmap) or with splice(2) as the listener's `splice` says.
 */
struct hp_handoff {
	int cfd, bfd;	 /* the caller owns them from now on */
	size_t listener; /* index in cfg.listeners */
	size_t pool;	 /* index in cfg.pools, and backend in that pool: for counters;
			    SIZE_MAX: none (a forward proxy's tunnel) */
	size_t backend;
	/*
	 * The tunnel's access log line, written when its session ends:
	 * log_done(log_ctx, bytes to the backend, bytes to the client), once,
	 * from the thread that owns the session; it frees log_ctx. NULL: no
	 * line to write.
	 */
	void (*log_done)(void *log_ctx, uint64_t to_backend, uint64_t to_client);
	void *log_ctx;
};
typedef void (*hp_handoff_fn)(void *arg, const struct hp_handoff *h);

/*
 * Sends tunnels to fn, called on loop's thread (the workers queue them and
 * wake it). Without this, tunnels stay in the workers, relayed in
 * userspace. Call before hp_server_start. 0 or -errno.
 */
int hp_server_set_handoff(struct hp_server *s, struct ev_loop *loop, hp_handoff_fn fn, void *arg);

/*
 * Reads every TLS listener's certificate files again and swaps the new
 * stores in; connections in progress finish with the old ones, new ones
 * get the new. A listener whose files fail keeps its old certificates (and
 * the reason is logged). 0, or -EINVAL when any failed. Any thread.
 */
int hp_server_reload_tls(struct hp_server *s);

/* Sums the workers' counters (read while they run: each may be a little stale). */
void hp_server_totals(struct hp_server *s, struct hp_totals *out);

/* Per-route and per-backend counters, one line each, to f. */
void hp_server_print_stats(struct hp_server *s, FILE *f);

#endif
