/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Asynchronous name resolution for the forward proxy: c-ares driven by our
 * event loop (user/ev), with a cache in front of it.
 *
 * What callers may rely on:
 *  - One resolver per ev loop, used only from that loop's thread. Nothing
 *    here is thread-safe; each worker owns its own resolver, cache and
 *    c-ares channel (channels are independent, so workers do not contend).
 *  - The callback of a successful dns_resolve() runs exactly once, always
 *    from the loop (a 0 ms timer), never inside dns_resolve() itself, and
 *    never from inside c-ares: it may call dns_resolve(), dns_cancel() on
 *    any other query, and dns_free(). Cache hits and literal addresses are
 *    delivered the same way, so a caller's state machine has one path.
 *  - dns_cancel() guarantees the callback never runs (a client that went
 *    away). The lookup itself goes on and its answer is still cached.
 *  - Answers list both families when asked to: the preferred family first,
 *    then the other one, each family in the order the server gave it (no
 *    RFC 6724 sorting: that needs a routing probe per address). A caller
 *    that fails to connect tries the next address; addrs[n_first] is the
 *    first address of the fallback family, where a Happy Eyeballs racer
 *    would start its second attempt.
 *  - Positive answers are cached for the smallest TTL of the records used
 *    (A/AAAA and any CNAME leading to them), clamped to [min_ttl_s,
 *    max_ttl_s]; a TTL that ends at 0 is not cached. NXDOMAIN and NODATA
 *    are cached for neg_ttl_s (c-ares does not hand us the SOA minimum of
 *    RFC 2308). Timeouts, SERVFAIL, REFUSED and the like are never cached:
 *    the next request asks again.
 *  - Concurrent requests for one name share one lookup (one A and one AAAA
 *    query on the wire), whatever their family preference: a lookup always
 *    asks for both families and the cache holds both.
 *  - Host names are looked up as given, never with resolv.conf search
 *    domains or HOSTALIASES: a proxy must not turn a client's "intranet"
 *    into "intranet.corp.example" (squid's dns_defnames off).
 */
#ifndef XDP_NET_DNS_H
#define XDP_NET_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;
struct dns;
struct dns_query;

/* Addresses kept per family and per answer; extra records are dropped. */
#define DNS_MAX_PER_FAMILY 8
#define DNS_MAX_ADDRS	   (2 * DNS_MAX_PER_FAMILY)
/* Longest host name, without the optional trailing dot (RFC 1035). */
#define DNS_HOST_MAX 253
/* Largest cache_size accepted. */
#define DNS_CACHE_MAX (1u << 20)

/* family_pref values for dns_resolve(). */
enum dns_family {
	DNS_PREFER_V4 = 0, /* IPv4 first, then IPv6 */
	DNS_PREFER_V6,	   /* IPv6 first, then IPv4 */
	DNS_ONLY_V4,	   /* IPv4 only (-ENODATA if the name has none) */
	DNS_ONLY_V6,	   /* IPv6 only (-ENODATA if the name has none) */
};

/* Where an answer came from. */
enum dns_source {
	DNS_SRC_LITERAL = 0, /* the host was an address (or "localhost") */
	DNS_SRC_CACHE,	     /* a cache entry, no packet sent */
	DNS_SRC_QUERY,	     /* a lookup made for this request or joined by it */
};

struct dns_opts {
	/*
	 * "ip[:port],[ip6]:port,..." replacing the name servers of
	 * /etc/resolv.conf (NULL: use those). Tests point this at 127.0.0.1.
	 */
	const char *servers;
	/*
	 * First try's timeout per server, 1..60000 ms. c-ares tries the servers
	 * in turn and doubles the timeout after each full round, so a name no
	 * server answers fails after sum over t in [0, tries) of
	 * timeout_ms << (t / nservers): with one server and tries 2, 3 x timeout_ms.
	 */
	uint32_t timeout_ms;
	uint32_t tries;	     /* 1..16 */
	uint32_t cache_size; /* answers kept (positive and negative), LRU; 0..DNS_CACHE_MAX */
	uint32_t min_ttl_s;  /* TTL clamp, min_ttl_s <= max_ttl_s */
	uint32_t max_ttl_s;
	uint32_t neg_ttl_s; /* NXDOMAIN / NODATA lifetime; 0: not cached */
	bool hosts_file;    /* consult /etc/hosts before DNS (its TTL is 0: see min_ttl_s) */
	/*
	 * Clock for cache lifetimes, monotonic ms. NULL: ev_now_ms(loop). Tests
	 * set it to move time without sleeping; c-ares' own retransmission
	 * timers always run on the real clock.
	 */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
};

/* An address ready for connect() once the caller sets the port. */
union dns_addr {
	struct sockaddr sa; /* sa.sa_family: AF_INET or AF_INET6 */
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct dns_result {
	size_t n;	/* 1..DNS_MAX_ADDRS addresses */
	size_t n_first; /* addrs[0..n_first) are of the first family, the rest of the other */
	union dns_addr addrs[DNS_MAX_ADDRS]; /* ports are 0 */
	uint32_t ttl_s;			     /* seconds the answer stays cached; 0: not cached */
	enum dns_source source;
};

/*
 * Completion. status is 0 (r non-NULL, valid only during the call) or, with
 * r NULL:
 *   -ENOENT        the name does not exist (NXDOMAIN; any .onion name)
 *   -ENODATA       it exists but has no address of the families asked for
 *   -ETIMEDOUT     no server answered in time
 *   -ECONNREFUSED  no server gave a usable answer: REFUSED, ICMP port
 *                  unreachable, and with c-ares 1.18 also SERVFAIL (it
 *                  ends such queries with the status they started with)
 *   -EAGAIN        SERVFAIL, where c-ares reports it as such (>= 1.19)
 *   -EBADMSG       malformed answers
 *   -ENOMEM, -EIO  local failure, anything else
 */
typedef void (*dns_cb)(void *arg, int status, const struct dns_result *r);

struct dns_stats {
	uint64_t resolves;	 /* dns_resolve() calls that returned 0 */
	uint64_t literals;	 /* ... answered from the host string itself */
	uint64_t hits;		 /* ... answered from a positive cache entry */
	uint64_t neg_hits;	 /* ... answered from a negative cache entry */
	uint64_t coalesced;	 /* ... that joined a lookup already in flight */
	uint64_t lookups;	 /* lookups started (each is one A + one AAAA question) */
	uint64_t lookup_ok;	 /* lookups that ended with addresses */
	uint64_t lookup_neg;	 /* ... with NXDOMAIN or NODATA */
	uint64_t lookup_err;	 /* ... with any other failure */
	uint64_t lookup_timeout; /* ... of which -ETIMEDOUT */
	uint64_t expired;	 /* cache entries found stale and dropped */
	uint64_t evicted;	 /* cache entries dropped for room (LRU) */
	uint64_t cancelled;	 /* dns_cancel() calls that stopped a callback */
	uint32_t entries;	 /* cache entries now (positive + negative) */
	uint32_t inflight;	 /* lookups in flight now */
};

/*
 * Defaults: servers from /etc/resolv.conf, timeout 2000 ms, 2 tries, 4096
 * entries, TTL clamp [0, 3600] s, negative TTL 10 s, /etc/hosts consulted,
 * the loop's clock.
 */
void dns_opts_init(struct dns_opts *o);

/*
 * A resolver on loop (which must outlive it). o NULL: defaults. Reads
 * /etc/resolv.conf once (blocking file I/O: call it at worker start-up).
 * Returns NULL and sets errno: EINVAL (NULL loop, an option out of range,
 * servers not a valid list), ENOMEM, EIO (c-ares failed to start).
 */
struct dns *dns_new(struct ev_loop *loop, const struct dns_opts *o);

/*
 * Stop everything: pending callbacks are dropped without being called, and
 * every struct dns_query handle becomes invalid (do not dns_cancel them
 * afterwards). Closes c-ares' sockets and removes them and the timers from
 * the loop, so it must run before ev_loop_free(). Accepts NULL. May be
 * called from a dns_cb: no other callback runs after it, and the memory is
 * released when that callback returns (d must not be used meanwhile,
 * although dns_resolve() would say -ESHUTDOWN).
 */
void dns_free(struct dns *d);

/*
 * Resolve host for family_pref (enum dns_family). host is a name in ASCII
 * (IDNA already applied), with or without a trailing dot, matched without
 * regard to case; or an IPv4 dotted quad, an IPv6 address, bracketed or
 * not (no zone index); or "localhost" / "*.localhost" (RFC 6761:
 * 127.0.0.1 and ::1). Addresses and localhost are answered without any
 * lookup, and never from /etc/hosts.
 *
 * Returns 0: cb(arg, ...) will run once from the loop unless dns_cancel()
 * is called first; if q is non-NULL, *q is the handle for that, valid
 * until cb starts running.
 * Returns -errno, cb never runs and *q is left alone:
 *   -EINVAL     d, host or cb NULL; family_pref unknown; host empty, longer
 *               than DNS_HOST_MAX, with an empty label or one over 63
 *               bytes, with a character other than [A-Za-z0-9-_.], or a
 *               name whose last label is a number (all digits, or 0x and
 *               hex digits: "127.1", "0x7f.1", "2130706433"). inet_aton()
 *               and browsers read those as IPv4 addresses, so an ACL and
 *               the connect() could disagree on what the host is.
 *   -ENOMEM     out of memory
 *   -ESHUTDOWN  dns_free() was already called from a callback
 */
int dns_resolve(struct dns *d, const char *host, int family_pref, dns_cb cb, void *arg,
		struct dns_query **q);

/*
 * Forget a query: its callback will never run. Accepts NULL. From within
 * the query's own callback it is a no-op; a handle whose callback has
 * returned must not be passed (its memory is freed).
 */
void dns_cancel(struct dns_query *q);

/* Drop every cached answer (lookups in flight go on and are cached). */
void dns_flush(struct dns *d);

/* Counters since dns_new, and current sizes. */
void dns_stats(const struct dns *d, struct dns_stats *out);

/* A short text for a dns_cb status ("name not found", ...), never NULL. */
const char *dns_strerror(int status);

#endif
