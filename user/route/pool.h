/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Upstream pools: which backend a new upstream connection (TCP mode) or
 * request (HTTP mode) goes to. Pure: no I/O, no global state, and not
 * thread-safe: each worker event loop owns its own pools, so picks need no
 * locks and each worker balances its own share of the traffic.
 *
 * Algorithms (the names are pool_algo_parse()'s, as in HAProxy's "balance"):
 *
 *  roundrobin  Smooth weighted round robin, nginx's: every pick adds each
 *              eligible backend's weight to its "current", takes the largest
 *              current (the first one on a tie) and subtracts the eligible
 *              weights' sum from it. Over any sum-of-weights picks each
 *              backend gets exactly its weight, interleaved: weights 5,1,1
 *              give a a b a c a a.
 *  leastconn   Fewest active connections relative to weight, HAProxy's
 *              measure: the smallest (conns + 1) / weight, i.e. the backend
 *              least loaded once it has this connection too. Compared as
 *              (conns_a + 1) * w_b < (conns_b + 1) * w_a in 64 bits, which
 *              cannot overflow (conns < 2^32, weights <= 256). The "+ 1"
 *              makes weights count while the pool is idle (plain conns / w
 *              ties every idle backend at 0, and a pool of short requests
 *              would be split evenly whatever the weights). Ties go round
 *              robin: the scan starts after the last backend picked, so
 *              equal backends take turns.
 *  source      Consistent hash of the client's IP address (not the port):
 *              pool_hash() of its 16-byte IPv6 form, IPv4 a.b.c.d taken as
 *              ::ffff:a.b.c.d, so IPv4 and IPv4-mapped IPv6 hash alike and a
 *              dual-stack listener does not split one client in two.
 *  header      Consistent hash of the value of the request field hash_name
 *              (first field of that name; the value as the parser gives it,
 *              leading and trailing whitespace cut; bytes exact, case
 *              matters).
 *  cookie      Consistent hash of the value of cookie hash_name (case
 *              matters) from the request's Cookie field(s): "a=1; b=2",
 *              several Cookie fields, whitespace around pairs, names and
 *              values, and a value in DQUOTEs (hashed without them) are all
 *              understood; pairs without '=' are skipped; the first cookie
 *              of that name wins (if its value is empty: round robin).
 *
 * Consistent hashing uses a weighted Maglev table (route/maglev.h) over the
 * backends with weight > 0, keyed by the backends' stable names and indexed
 * by pool_hash(input) % table size. When the header or cookie is missing or
 * empty, when a hash pool is used without a message (TCP mode), or for
 * "source" when the client is not IPv4/IPv6, the pick falls back to round
 * robin, as HAProxy does: an empty value would otherwise send every such
 * client to one backend.
 *
 * Backend state. Eligible = weight > 0, up, and not in the caller's
 * exclusion set. A weight-0 backend is disabled (kept for its index and
 * connection count, never picked); pool_set_up(false) marks one down after a
 * failed health check or connect. For hash pools a down or excluded backend
 * is skipped by probing: the key walks the table from its slot,
 * (slot + j * step) % size with a per-key step, and takes the first eligible
 * backend. So:
 *  - keys whose slot holds an eligible backend never move: marking one of N
 *    backends down moves its keys and no others (a Maglev rebuild would move
 *    a few others too), and bringing it back restores every key;
 *  - the moved keys spread over the others in proportion to their slots,
 *    i.e. their weights;
 *  - a retry with the first choice excluded gets the same backend as when
 *    that one is down: deterministic, the same on every proxy of a fleet;
 *  - pool_set_up() is O(1), allocates nothing and cannot fail.
 *
 * Fleet agreement: pool_hash(), the probe step and the Maglev table depend
 * only on the backends' {key, weight} pairs and the table size, never on
 * their order, so proxies given the same pool send a client to the same
 * backend. pool_hash()'s constants are therefore wire behaviour: never
 * change them.
 *
 * Connection accounting (what leastconn reads): pool_conn_get() when a
 * connection to backend i is made (or reserved, right after the pick),
 * pool_conn_put() when it closes or fails - exactly once each.
 */
#ifndef XDP_ROUTE_POOL_H
#define XDP_ROUTE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h1_msg;
struct sockaddr;

#define POOL_MAX_BACKENDS 256
#define POOL_WEIGHT_MAX	  256 /* largest backend weight; 0 disables the backend */
/*
 * Smallest default hash table. The default is the smallest prime >= both
 * this and 100 * n: Maglev gives each backend its share of slots to within a
 * fraction n / size (maglev.h), so 100 slots a backend keep every share
 * within 1 % of its weight. 1021 slots of 2 bytes fit in 2 KiB; 256
 * backends get 25601 slots, 50 KiB per pool per worker, built in about a
 * millisecond.
 */
#define POOL_TABLE_MIN_DEFAULT 1021
#define POOL_TABLE_PER_BACKEND 100

enum pool_algo {
	POOL_ROUNDROBIN = 0,
	POOL_LEASTCONN,
	POOL_HASH_SOURCE,
	POOL_HASH_HEADER,
	POOL_HASH_COOKIE,
	POOL_ALGO__MAX,
};

/* Stable config name ("roundrobin", "leastconn", "source", "header", "cookie"); "?" if unknown. */
const char *pool_algo_str(enum pool_algo algo);

/* Sets *out from an exact (case-sensitive) config name above; 0, or -EINVAL if unknown or NULL. */
int pool_algo_parse(const char *s, enum pool_algo *out);

struct pool_backend_spec {
	const char *key; /* stable unique name, e.g. "10.0.0.2:80": seeds Maglev; copied */
	uint32_t weight; /* 0..POOL_WEIGHT_MAX; 0 = disabled */
};

struct pool_spec {
	enum pool_algo algo;
	const char *hash_name; /* header/cookie: field or cookie name (a token); NULL otherwise */
	const struct pool_backend_spec *backends;
	size_t n;	     /* 1..POOL_MAX_BACKENDS */
	uint32_t table_size; /* hash table slots: 0 = default (above), else a prime >= n
			      * accepted by maglev_size_ok(); unused by roundrobin/leastconn */
};

struct pool;

/*
 * A pool of s->n backends, all up, no connections. Indexes 0..n-1 follow
 * s->backends; nothing of s is referenced afterwards. All weights 0 is
 * allowed (a pool drained by config: every pick fails).
 *
 * Returns the pool, or NULL with errno
 *   EINVAL  s or s->backends NULL, algo unknown, n 0 or > POOL_MAX_BACKENDS,
 *           a key NULL, empty or given twice, a weight > POOL_WEIGHT_MAX,
 *           hash_name missing or not a token for header/cookie, or given for
 *           another algorithm, table_size not 0 and not a prime in
 *           [max(n, MAGLEV_SIZE_MIN), LB_RING_MAX];
 *   ENOMEM  out of memory.
 * On EINVAL, when err is not NULL, err[0, errlen) gets a NUL-terminated
 * reason for the operator ("backend 2: key \"10.0.0.3:80\" duplicates
 * backend 0"), truncated to fit; on success or ENOMEM err is "" (errlen > 0).
 */
struct pool *pool_new(const struct pool_spec *s, char *err, size_t errlen);

/* Frees p; NULL is fine. */
void pool_free(struct pool *p);

/*
 * Backends a request already tried: pool_pick() never returns one of them.
 * Zero-initialize (= {0}) for the empty set.
 */
struct pool_set {
	uint64_t bits[POOL_MAX_BACKENDS / 64];
};

/* Adds i; indexes >= POOL_MAX_BACKENDS are ignored. */
static inline void pool_set_add(struct pool_set *s, size_t i)
{
	if (i < POOL_MAX_BACKENDS)
		s->bits[i / 64] |= 1ull << (i % 64);
}

/* True when i was added; false for indexes >= POOL_MAX_BACKENDS. */
static inline bool pool_set_has(const struct pool_set *s, size_t i)
{
	return i < POOL_MAX_BACKENDS && (s->bits[i / 64] >> (i % 64)) & 1;
}

/* What a pick may look at; every member may be NULL. */
struct pool_pick_ctx {
	const struct sockaddr *client;	/* source: a sockaddr_in or sockaddr_in6 */
	const struct h1_msg *m;		/* header/cookie: a parsed request head... */
	const char *buf;		/* ...and the buffer its spans index; NULL in TCP mode */
	const struct pool_set *exclude; /* backends already tried; NULL = none */
};

/*
 * The backend for a new connection or request: an eligible index (weight > 0,
 * up, not excluded) chosen by p's algorithm, falling back to round robin as
 * described above. c NULL is a context of all NULLs. Round robin and
 * leastconn state advance with each successful pick; the caller then does
 * pool_conn_get() on the index it uses.
 *
 * Returns the index, -EHOSTUNREACH when no backend is eligible, or -EINVAL
 * when p is NULL. Cost: O(n) for roundrobin/leastconn; for hashing O(1)
 * when the key's own slot is eligible, else O(n) plus the probe (a few
 * slots expected, the table size at worst, when few slots hold an eligible
 * backend).
 */
int pool_pick(struct pool *p, const struct pool_pick_ctx *c);

/* Marks backend i up or down (see above). 0, or -EINVAL for p NULL or i >= size. */
int pool_set_up(struct pool *p, size_t i, bool up);

/* True when backend i is up (its weight aside); false for p NULL or i >= size. */
bool pool_is_up(const struct pool *p, size_t i);

/*
 * Counts a connection to backend i in or out. get saturates at UINT32_MAX;
 * put at 0 leaves 0 and returns -ERANGE (an unpaired put is the caller's
 * bug; it must not wrap to 4 billion and starve the backend under
 * leastconn). Both return 0, or -EINVAL for p NULL or i >= size.
 * Connections of a down or disabled backend are still counted.
 */
int pool_conn_get(struct pool *p, size_t i);
int pool_conn_put(struct pool *p, size_t i);

/* Active connections of backend i; 0 for p NULL or i >= size. */
uint32_t pool_conns(const struct pool *p, size_t i);

/* Number of backends; 0 for NULL. */
size_t pool_size(const struct pool *p);

/* Backend i's key (owned by p) and weight; NULL / 0 for p NULL or i >= size. */
const char *pool_key(const struct pool *p, size_t i);
uint32_t pool_weight(const struct pool *p, size_t i);

/* The pool's algorithm; POOL_ALGO__MAX for NULL. */
enum pool_algo pool_algo_of(const struct pool *p);

/* Slots of the hash table: 0 for roundrobin/leastconn and for NULL. */
uint32_t pool_table_size(const struct pool *p);

/*
 * The fixed 64-bit hash of the hash algorithms: a single-lane MurmurHash3
 * x64 style mix of 8-byte little-endian words (the same on any host), the
 * length folded in, and the MurmurHash3 64-bit finalizer, which avalanches
 * every input bit into every output bit. Not keyed: a client who can pick
 * its header or cookie value can pick its backend anyway. Wire behaviour:
 * never change it. data may be NULL when len is 0.
 */
uint64_t pool_hash(const void *data, size_t len);

#endif
