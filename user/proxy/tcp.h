/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The L4 (TCP) proxy: listeners, backend pools with weighted round robin,
 * and the per-connection state machine that moves bytes either in the
 * kernel (sockmap splice, see include/xdproxy/splice.h) or in userspace
 * (splice(2) through a pipe). The controller owns each connection's life
 * cycle in both modes: connect with timeout and failover, half-close in
 * each direction, RST propagation, teardown.
 */
#ifndef XDP_PROXY_TCP_H
#define XDP_PROXY_TCP_H

#include <stdint.h>
#include <stdio.h>

#include "bpfctl/splice.h"
#include "config/config.h"
#include "ev/ev.h"

struct tp_proxy;

/* Counters of one backend, cumulative since start. */
struct tp_backend_stats {
	uint64_t conns; /* sessions that connected to it */
	uint64_t active;
	uint64_t connect_fail;
	uint64_t bytes_c2b; /* client -> backend */
	uint64_t bytes_b2c;
	uint64_t kernel_bytes; /* of which moved by the sockmap splice */
};

struct tp_totals {
	uint64_t accepted;
	uint64_t active;
	uint64_t spliced_active;  /* sessions whose pair is in the sockhash */
	uint64_t no_backend;	  /* clients closed: no backend reachable */
	uint64_t kernel_fallback; /* kernel listeners that fell back to user */
	uint64_t aborted;	  /* ended by RST or error */
	uint64_t adopted;	  /* tunnels taken over from the HTTP proxy */
	uint64_t sni_routed;	  /* TLS passthrough: ClientHellos routed by name */
	uint64_t sni_refused;	  /* ... closed: no route, not TLS, or too slow */
};

/*
 * Create the proxy for cfg on loop: opens listeners and, when a listener
 * asks for kernel splice, loads the sockmap programs. NULL with errno set
 * (and a logged reason) on failure. cfg must outlive the proxy.
 */
struct tp_proxy *tp_proxy_new(struct ev_loop *loop, const struct cfg *cfg);
/* Closes every session (RST) and listener. Accepts NULL. */
void tp_proxy_free(struct tp_proxy *p);

/*
 * Takes over a connected client/backend socket pair from the HTTP proxy (a
 * tunnel after 101) as a running session of listener li: spliced as that
 * listener's `splice` says, with its budget and buffers, counted on
 * backend be of pool (SIZE_MAX: none). Bytes already in the kernel are
 * relayed before the splice starts, as for a new session. done(ctx, bytes
 * client->backend, bytes backend->client) runs once when the session ends
 * (also when adopting fails). On this loop's thread only. 0, or -errno
 * with both fds closed.
 */
int tp_proxy_adopt(struct tp_proxy *p, size_t li, int cfd, int bfd, size_t pool, size_t be,
		   void (*done)(void *ctx, uint64_t c2b, uint64_t b2c), void *ctx);

void tp_proxy_totals(struct tp_proxy *p, struct tp_totals *out);
/* Stats of backend i of pool; NULL when out of range. Refreshes live bytes. */
const struct tp_backend_stats *tp_proxy_backend_stats(struct tp_proxy *p, size_t pool, size_t i);
/* The splice controller, or NULL when no listener uses kernel splice. */
struct splice_ctl *tp_proxy_splice(struct tp_proxy *p);

/* Write a one-line-per-backend stats block (text) to f. */
void tp_proxy_print_stats(struct tp_proxy *p, FILE *f);

/* Every live session's state, one block each (SIGUSR1, debugging). */
void tp_proxy_dump(struct tp_proxy *p, FILE *f);

#endif
