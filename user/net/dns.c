// SPDX-License-Identifier: BSD-2-Clause
/*
 * c-ares on our event loop, with a TTL cache that also coalesces lookups.
 *
 * Loop integration. c-ares tells us about its sockets through two hooks:
 * the socket-create callback (the last step of opening a socket, where a
 * refusal makes c-ares close it and try elsewhere) registers the fd with
 * the loop, and the socket-state callback changes the interest set or, with
 * (0, 0), removes the fd just before c-ares closes it. Fd events go to
 * ares_process_fd(); one ev timer, re-armed from ares_timeout() after every
 * call into c-ares, drives retransmissions and timeouts.
 *
 * Cache. One hash table of entries keyed by the normalised name (lower
 * case, no trailing dot). An entry is PENDING while its lookup is in flight
 * (it then holds the waiting queries: that is the coalescing), and POS or
 * NEG once answered, when it also sits on an LRU list bounded by
 * cache_size. Pending entries are not counted against cache_size and never
 * evicted: c-ares 1.18 cannot cancel one lookup, so the entry must live
 * until its callback comes, and its answer is then cached even if every
 * waiter has gone.
 *
 * Delivery. No user callback ever runs inside c-ares or inside
 * dns_resolve(): completed queries (with their answer copied in, as the
 * cache entry may be evicted or expire meanwhile) go on a deferred list
 * that a 0 ms timer drains. A callback may therefore resolve, cancel, or
 * free the resolver without c-ares code on the stack; dns_free() from a
 * callback is deferred to the end of the drain.
 */
#include "net/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ev/ev.h"

#define DNS_DEF_TIMEOUT_MS 2000
#define DNS_DEF_TRIES	   2
#define DNS_DEF_CACHE	   4096
#define DNS_DEF_MAX_TTL	   3600
#define DNS_DEF_NEG_TTL	   10
#define DNS_MAX_TIMEOUT_MS 60000
#define DNS_MAX_TRIES	   16
#define DNS_MIN_BUCKETS	   64

/* A circular doubly linked list: unlinking needs no head, so a query can
 * leave whichever list it is on (waiters, deferred, a drain batch). */
struct dns_list {
	struct dns_list *next, *prev;
};

static void dns_list_init(struct dns_list *h)
{
	h->next = h;
	h->prev = h;
}

static bool dns_list_empty(const struct dns_list *h)
{
	return h->next == h;
}

static void dns_list_add_tail(struct dns_list *h, struct dns_list *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static void dns_list_add_head(struct dns_list *h, struct dns_list *n)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

static void dns_list_del(struct dns_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n;
	n->prev = n;
}

/* Move every element of from to the tail of to; from ends up empty. */
static void dns_list_splice_tail(struct dns_list *from, struct dns_list *to)
{
	if (dns_list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	dns_list_init(from);
}

#define dns_container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

enum dns_entry_state {
	DNS_E_PENDING = 0, /* lookup in flight; waiters hold queries */
	DNS_E_POS,	   /* addresses, on the LRU */
	DNS_E_NEG,	   /* NXDOMAIN / NODATA, on the LRU */
};

struct dns_entry {
	struct dns *d;
	struct dns_entry *hnext; /* hash chain */
	struct dns_list lru;	 /* POS / NEG: position in d->lru, head = most recent */
	struct dns_list waiters; /* PENDING: queries waiting for the lookup */
	uint64_t expires_ms;	 /* POS / NEG: cache clock */
	uint32_t hash;
	enum dns_entry_state state;
	int status; /* NEG: -ENOENT or -ENODATA */
	uint8_t n4, n6;
	struct in_addr v4[DNS_MAX_PER_FAMILY];
	struct in6_addr v6[DNS_MAX_PER_FAMILY];
	char name[]; /* normalised key */
};

enum dns_query_state {
	DNS_Q_WAITING = 0, /* on an entry's waiters */
	DNS_Q_DEFERRED,	   /* answered, on d->deferred or a drain batch */
	DNS_Q_DELIVERING,  /* its callback is running */
};

struct dns_query {
	struct dns *d;
	struct dns_list link;
	dns_cb cb;
	void *arg;
	int pref;
	enum dns_query_state state;
	int status;
	struct dns_result res; /* filled when answered */
};

struct dns {
	struct ev_loop *loop;
	ares_channel channel;
	struct ev_timer *ares_timer; /* c-ares' next timeout */
	struct ev_timer *defer_timer;
	struct dns_list deferred; /* answered queries awaiting delivery */
	struct dns_entry **buckets;
	uint32_t nbuckets; /* power of two */
	struct dns_list lru;
	uint32_t ncached; /* entries on lru */
	uint32_t ninflight;
	bool delivering;   /* inside the drain */
	bool free_pending; /* dns_free() called from a callback */
	bool destroying;   /* inside dns_free(): drop, do not deliver */
	uint32_t cache_size;
	uint32_t min_ttl_s, max_ttl_s, neg_ttl_s;
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
	struct dns_stats st;
};

static uint64_t dns_now(struct dns *d)
{
	return d->clock_ms ? d->clock_ms(d->clock_arg) : ev_now_ms(d->loop);
}

/* ---- event loop glue ---- */

static void dns_arm_ares_timer(struct dns *d);
static void dns_arm_defer(struct dns *d);

static void dns_on_fd(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct dns *d = arg;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	/*
	 * Errors and hangups go to whichever side c-ares waits on, so its
	 * recv() or its connect completion sees the error and moves on.
	 */
	if (events & (EV_READ | EV_ERR | EV_HUP))
		rfd = fd;
	if ((events & EV_WRITE) ||
	    ((events & (EV_ERR | EV_HUP)) && (ev_fd_events(loop, fd) & EV_WRITE)))
		wfd = fd;
	ares_process_fd(d->channel, rfd, wfd);
	dns_arm_ares_timer(d);
	dns_arm_defer(d);
}

static void dns_on_ares_timer(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct dns *d = arg;

	(void)loop;
	(void)t;
	d->ares_timer = NULL;
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_arm_ares_timer(d);
	dns_arm_defer(d);
}

/* Follow c-ares' next deadline; none when no query is outstanding. */
static void dns_arm_ares_timer(struct dns *d)
{
	struct timeval tv, *tvp;
	uint64_t ms;

	if (d->ares_timer) {
		ev_timer_cancel(d->loop, d->ares_timer);
		d->ares_timer = NULL;
	}
	tvp = ares_timeout(d->channel, NULL, &tv);
	if (!tvp)
		return;
	/*
	 * Round up so the timer does not fire just before c-ares considers
	 * the query late, and never arm 0 ms: a deadline c-ares does not yet
	 * see as passed would otherwise spin the loop.
	 */
	ms = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
	if (ms == 0)
		ms = 1;
	/* On ENOMEM the next fd event or resolve arms it again. */
	d->ares_timer = ev_timer_add(d->loop, ms, dns_on_ares_timer, d);
}

/* Socket-create hook: register the fd, or refuse the socket. */
static int dns_sock_create(ares_socket_t fd, int type, void *arg)
{
	struct dns *d = arg;

	(void)type;
	return ev_add_fd(d->loop, fd, EV_READ, dns_on_fd, d) ? -1 : 0;
}

/* Socket-state hook: (0, 0) means c-ares is about to close fd. */
static void dns_sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = arg;
	uint32_t ev = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	if (!ev) {
		ev_del_fd(d->loop, fd);
		return;
	}
	/*
	 * The create hook has registered it; add anyway if not, as c-ares
	 * cannot be told of a failure here. A socket that stays unregistered
	 * times out through the ares timer like a lost packet.
	 */
	if (ev_mod_fd(d->loop, fd, ev) == -ENOENT)
		ev_add_fd(d->loop, fd, ev, dns_on_fd, d);
}

/* ---- answers ---- */

/* sockaddr views for an entry's raw addresses. */
static void dns_addr_v4(union dns_addr *a, const struct in_addr *v4)
{
	memset(a, 0, sizeof(*a));
	a->sin.sin_family = AF_INET;
	a->sin.sin_addr = *v4;
}

static void dns_addr_v6(union dns_addr *a, const struct in6_addr *v6)
{
	memset(a, 0, sizeof(*a));
	a->sin6.sin6_family = AF_INET6;
	a->sin6.sin6_addr = *v6;
}

/*
 * Order the addresses for pref into r: the preferred family first, the
 * other after it unless pref restricts to one; server order within each.
 * Returns 0, or -ENODATA when nothing is left.
 */
static int dns_fill(struct dns_result *r, int pref, const struct in_addr *v4, size_t n4,
		    const struct in6_addr *v6, size_t n6)
{
	bool want4 = pref != DNS_ONLY_V6, want6 = pref != DNS_ONLY_V4;
	bool v6_first = pref == DNS_PREFER_V6 || pref == DNS_ONLY_V6;
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		bool six = (pass == 0) == v6_first;

		if (six && want6) {
			for (size_t i = 0; i < n6; i++)
				dns_addr_v6(&r->addrs[n++], &v6[i]);
		} else if (!six && want4) {
			for (size_t i = 0; i < n4; i++)
				dns_addr_v4(&r->addrs[n++], &v4[i]);
		}
		if (pass == 0)
			r->n_first = n;
	}
	r->n = n;
	/* One family only: the "first" family is whichever there is. */
	if (r->n_first == 0)
		r->n_first = n;
	return n ? 0 : -ENODATA;
}

static int dns_status_from_ares(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
		return -ENOENT;
	case ARES_ENODATA:
		return -ENODATA;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ECONNREFUSED:
	case ARES_EREFUSED:
		return -ECONNREFUSED;
	case ARES_ESERVFAIL:
		return -EAGAIN;
	case ARES_EBADRESP:
	case ARES_EFORMERR:
		return -EBADMSG;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_EBADNAME:
		return -EINVAL;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

const char *dns_strerror(int status)
{
	switch (status) {
	case 0:
		return "ok";
	case -ENOENT:
		return "name not found";
	case -ENODATA:
		return "no address for name";
	case -ETIMEDOUT:
		return "name server timeout";
	case -ECONNREFUSED:
		return "name server refused or failed";
	case -EAGAIN:
		return "name server failure";
	case -EBADMSG:
		return "malformed name server answer";
	case -ENOMEM:
		return "out of memory";
	case -EINVAL:
		return "invalid host name";
	case -ECANCELED:
		return "cancelled";
	case -ESHUTDOWN:
		return "resolver shut down";
	default:
		return "name resolution failed";
	}
}

/* ---- delivery ---- */

static void dns_on_defer(struct ev_loop *loop, struct ev_timer *t, void *arg);

static void dns_arm_defer(struct dns *d)
{
	if (d->defer_timer || d->delivering || dns_list_empty(&d->deferred))
		return;
	d->defer_timer = ev_timer_add(d->loop, 0, dns_on_defer, d);
}

static void dns_defer(struct dns *d, struct dns_query *q, int status)
{
	q->status = status;
	q->state = DNS_Q_DEFERRED;
	dns_list_add_tail(&d->deferred, &q->link);
}

static void dns_destroy(struct dns *d);

static void dns_on_defer(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct dns *d = arg;
	struct dns_list batch;

	(void)loop;
	(void)t;
	d->defer_timer = NULL;
	/*
	 * Deliver only what was queued before this drain: a callback that
	 * resolves again (a cache hit) is served on the next iteration, so a
	 * retry loop cannot starve the rest of the event loop.
	 */
	dns_list_init(&batch);
	dns_list_splice_tail(&d->deferred, &batch);
	d->delivering = true;
	while (!dns_list_empty(&batch) && !d->free_pending) {
		struct dns_query *q = dns_container_of(batch.next, struct dns_query, link);

		dns_list_del(&q->link);
		q->state = DNS_Q_DELIVERING;
		q->cb(q->arg, q->status, q->status ? NULL : &q->res);
		free(q);
	}
	d->delivering = false;
	/* Anything left (after a dns_free) goes back where dns_destroy finds it. */
	dns_list_splice_tail(&batch, &d->deferred);
	if (d->free_pending) {
		dns_destroy(d);
		return;
	}
	dns_arm_defer(d);
}

/* ---- cache ---- */

static uint32_t dns_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static struct dns_entry *dns_entry_find(struct dns *d, const char *name, uint32_t hash)
{
	struct dns_entry *e;

	for (e = d->buckets[hash & (d->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == hash && !strcmp(e->name, name))
			return e;
	return NULL;
}

static void dns_entry_unhash(struct dns *d, struct dns_entry *e)
{
	struct dns_entry **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
}

/* Take a resolved entry out of the cache and free it. */
static void dns_entry_drop(struct dns *d, struct dns_entry *e)
{
	dns_entry_unhash(d, e);
	dns_list_del(&e->lru);
	d->ncached--;
	free(e);
}

/* Make room for one more entry by dropping the least recently used. */
static void dns_cache_make_room(struct dns *d)
{
	while (d->ncached >= d->cache_size && !dns_list_empty(&d->lru)) {
		struct dns_entry *e = dns_container_of(d->lru.prev, struct dns_entry, lru);

		dns_entry_drop(d, e);
		d->st.evicted++;
	}
}

static uint32_t dns_clamp_ttl(const struct dns *d, uint32_t ttl)
{
	if (ttl < d->min_ttl_s)
		ttl = d->min_ttl_s;
	if (ttl > d->max_ttl_s)
		ttl = d->max_ttl_s;
	return ttl;
}

/* Remaining lifetime in whole seconds, rounded up. */
static uint32_t dns_ttl_left(uint64_t now, uint64_t expires)
{
	uint64_t left = expires > now ? expires - now : 0;

	left = (left + 999u) / 1000u;
	return left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/*
 * Collect the answer into e: addresses per family in server order without
 * duplicates, and the smallest TTL of the records that led to them.
 */
static uint32_t dns_entry_collect(struct dns_entry *e, const struct ares_addrinfo *ai)
{
	const struct ares_addrinfo_node *n;
	const struct ares_addrinfo_cname *c;
	int ttl = INT_MAX;

	e->n4 = 0;
	e->n6 = 0;
	for (n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
		if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in)) {
			const struct in_addr *a =
			    &((const struct sockaddr_in *)n->ai_addr)->sin_addr;
			bool dup = false;

			for (size_t i = 0; i < e->n4 && !dup; i++)
				dup = !memcmp(&e->v4[i], a, sizeof(*a));
			if (!dup && e->n4 < DNS_MAX_PER_FAMILY)
				e->v4[e->n4++] = *a;
		} else if (n->ai_family == AF_INET6 &&
			   n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			const struct in6_addr *a =
			    &((const struct sockaddr_in6 *)n->ai_addr)->sin6_addr;
			bool dup = false;

			for (size_t i = 0; i < e->n6 && !dup; i++)
				dup = !memcmp(&e->v6[i], a, sizeof(*a));
			if (!dup && e->n6 < DNS_MAX_PER_FAMILY)
				e->v6[e->n6++] = *a;
		} else {
			continue;
		}
		if (n->ai_ttl < ttl)
			ttl = n->ai_ttl;
	}
	/* A CNAME's TTL bounds how long the name keeps pointing there. */
	for (c = ai ? ai->cnames : NULL; c; c = c->next)
		if (c->ttl < ttl)
			ttl = c->ttl;
	if (ttl < 0 || ttl == INT_MAX)
		ttl = 0;
	return (uint32_t)ttl;
}

/*
 * A lookup ended: answer every waiter, then cache the entry or free it.
 * May run inside ares_getaddrinfo() (hosts file, .onion, ENOMEM), inside
 * ares_process_fd(), or inside ares_destroy() (EDESTRUCTION).
 */
static void dns_on_addrinfo(void *arg, int astatus, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_entry *e = arg;
	struct dns *d = e->d;
	struct dns_list *it, *next;
	uint32_t ttl = 0;
	uint64_t now;
	int status;

	(void)timeouts;
	d->ninflight--;
	if (d->destroying) {
		for (it = e->waiters.next; it != &e->waiters; it = next) {
			next = it->next;
			free(dns_container_of(it, struct dns_query, link));
		}
		dns_entry_unhash(d, e);
		free(e);
		ares_freeaddrinfo(ai);
		return;
	}

	status = dns_status_from_ares(astatus);
	if (!status) {
		ttl = dns_entry_collect(e, ai);
		if (!e->n4 && !e->n6)
			status = -ENODATA;
	}
	ares_freeaddrinfo(ai);

	if (!status) {
		d->st.lookup_ok++;
		ttl = dns_clamp_ttl(d, ttl);
	} else if (status == -ENOENT || status == -ENODATA) {
		d->st.lookup_neg++;
		ttl = d->neg_ttl_s;
	} else {
		d->st.lookup_err++;
		if (status == -ETIMEDOUT)
			d->st.lookup_timeout++;
		ttl = 0;
	}

	for (it = e->waiters.next; it != &e->waiters; it = next) {
		struct dns_query *q = dns_container_of(it, struct dns_query, link);
		int qs = status;

		next = it->next;
		dns_list_del(&q->link);
		if (!qs)
			qs = dns_fill(&q->res, q->pref, e->v4, e->n4, e->v6, e->n6);
		q->res.ttl_s = d->cache_size ? ttl : 0;
		q->res.source = DNS_SRC_QUERY;
		dns_defer(d, q, qs);
	}

	if (!ttl || !d->cache_size) {
		dns_entry_unhash(d, e);
		free(e);
	} else {
		now = dns_now(d);
		dns_cache_make_room(d);
		e->state = status ? DNS_E_NEG : DNS_E_POS;
		e->status = status;
		e->expires_ms = now + (uint64_t)ttl * 1000u;
		dns_list_add_head(&d->lru, &e->lru);
		d->ncached++;
	}
	dns_arm_defer(d);
}

/* ---- host names ---- */

static bool dns_is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A last label inet_aton() or a browser would read as a number. */
static bool dns_label_numeric(const char *l, size_t len)
{
	size_t i = 0;

	if (len >= 2 && l[0] == '0' && l[1] == 'x') {
		for (i = 2; i < len; i++)
			if (!((l[i] >= '0' && l[i] <= '9') || (l[i] >= 'a' && l[i] <= 'f')))
				return false;
		return true;
	}
	for (i = 0; i < len; i++)
		if (l[i] < '0' || l[i] > '9')
			return false;
	return true;
}

/*
 * Classify host: 1 = an address or localhost (lit filled: v4/v6 counts),
 * 0 = a name (key filled, normalised), -EINVAL.
 */
static int dns_parse_host(const char *host, char *key, struct in_addr *v4, size_t *n4,
			  struct in6_addr *v6, size_t *n6)
{
	size_t len = strnlen(host, DNS_HOST_MAX + 3), label = 0, last = 0;
	char buf[INET6_ADDRSTRLEN + 1];

	*n4 = 0;
	*n6 = 0;
	if (len == 0 || len > DNS_HOST_MAX + 2)
		return -EINVAL;
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, v6) != 1)
			return -EINVAL;
		*n6 = 1;
		return 1;
	}
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, v6) != 1)
			return -EINVAL;
		*n6 = 1;
		return 1;
	}
	if (inet_pton(AF_INET, host, v4) == 1) {
		*n4 = 1;
		return 1;
	}

	if (host[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
			last = i + 1;
		} else if (!dns_is_ldh(c) || ++label > 63) {
			return -EINVAL;
		}
		key[i] = c;
	}
	key[len] = '\0';
	if (label == 0 || dns_label_numeric(key + last, len - last))
		return -EINVAL;

	/* RFC 6761 6.3: localhost names are loopback, never asked about. */
	if (!strcmp(key, "localhost") || (len > 10 && !strcmp(key + len - 10, ".localhost"))) {
		v4->s_addr = htonl(INADDR_LOOPBACK);
		*v6 = in6addr_loopback;
		*n4 = 1;
		*n6 = 1;
		return 1;
	}
	return 0;
}

/* ---- public API ---- */

void dns_opts_init(struct dns_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = DNS_DEF_TIMEOUT_MS;
	o->tries = DNS_DEF_TRIES;
	o->cache_size = DNS_DEF_CACHE;
	o->min_ttl_s = 0;
	o->max_ttl_s = DNS_DEF_MAX_TTL;
	o->neg_ttl_s = DNS_DEF_NEG_TTL;
	o->hosts_file = true;
}

static int dns_opts_check(const struct dns_opts *o)
{
	if (o->timeout_ms < 1 || o->timeout_ms > DNS_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (o->tries < 1 || o->tries > DNS_MAX_TRIES)
		return -EINVAL;
	if (o->cache_size > DNS_CACHE_MAX || o->min_ttl_s > o->max_ttl_s)
		return -EINVAL;
	if (o->servers && !o->servers[0])
		return -EINVAL;
	return 0;
}

struct dns *dns_new(struct ev_loop *loop, const struct dns_opts *o)
{
	struct ares_options ao = {0};
	struct dns_opts def;
	struct dns *d;
	int optmask, rc, err;

	if (!o) {
		dns_opts_init(&def);
		o = &def;
	}
	if (!loop || dns_opts_check(o)) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->loop = loop;
	d->cache_size = o->cache_size;
	d->min_ttl_s = o->min_ttl_s;
	d->max_ttl_s = o->max_ttl_s;
	d->neg_ttl_s = o->neg_ttl_s;
	d->clock_ms = o->clock_ms;
	d->clock_arg = o->clock_arg;
	dns_list_init(&d->deferred);
	dns_list_init(&d->lru);

	d->nbuckets = DNS_MIN_BUCKETS;
	while (d->nbuckets < o->cache_size)
		d->nbuckets <<= 1;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets) {
		err = ENOMEM;
		goto err_free_d;
	}

	/*
	 * No search domains and NOSEARCH (which also disables HOSTALIASES):
	 * names are asked as given. No ares_library_init(): it only matters
	 * on Windows, and its counter is not thread-safe across workers.
	 */
	ao.flags = ARES_FLAG_NOSEARCH;
	ao.timeout = (int)o->timeout_ms;
	ao.tries = (int)o->tries;
	ao.ndomains = 0;
	ao.domains = NULL;
	ao.lookups = o->hosts_file ? "fb" : "b";
	ao.sock_state_cb = dns_sock_state;
	ao.sock_state_cb_data = d;
	optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
		  ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
	rc = ares_init_options(&d->channel, &ao, optmask);
	if (rc != ARES_SUCCESS) {
		err = rc == ARES_ENOMEM ? ENOMEM : EIO;
		goto err_free_buckets;
	}
	ares_set_socket_callback(d->channel, dns_sock_create, d);
	if (o->servers) {
		rc = ares_set_servers_ports_csv(d->channel, o->servers);
		if (rc != ARES_SUCCESS) {
			err = rc == ARES_ENOMEM ? ENOMEM : EINVAL;
			goto err_destroy;
		}
	}
	return d;

err_destroy:
	ares_destroy(d->channel);
err_free_buckets:
	free(d->buckets);
err_free_d:
	free(d);
	errno = err;
	return NULL;
}

/* Everything dns_free promises; the drain calls it once no callback runs. */
static void dns_destroy(struct dns *d)
{
	struct dns_list *it, *next;

	d->destroying = true;
	/* Ends every lookup with EDESTRUCTION (waiters dropped) and closes
	 * the sockets through the state hook, which takes them off the loop. */
	ares_destroy(d->channel);
	ev_timer_cancel(d->loop, d->ares_timer);
	ev_timer_cancel(d->loop, d->defer_timer);
	for (it = d->deferred.next; it != &d->deferred; it = next) {
		next = it->next;
		free(dns_container_of(it, struct dns_query, link));
	}
	for (it = d->lru.next; it != &d->lru; it = next) {
		next = it->next;
		free(dns_container_of(it, struct dns_entry, lru));
	}
	free(d->buckets);
	free(d);
}

void dns_free(struct dns *d)
{
	if (!d || d->free_pending)
		return;
	if (d->delivering) {
		d->free_pending = true;
		return;
	}
	dns_destroy(d);
}

static struct dns_query *dns_query_new(struct dns *d, dns_cb cb, void *arg, int pref)
{
	struct dns_query *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	q->pref = pref;
	dns_list_init(&q->link);
	return q;
}

/* Queue an answer known now; undone (-ENOMEM) if it could not be scheduled. */
static int dns_answer_now(struct dns *d, struct dns_query *q, int status)
{
	dns_defer(d, q, status);
	dns_arm_defer(d);
	if (!d->defer_timer && !d->delivering) {
		dns_list_del(&q->link);
		free(q);
		return -ENOMEM;
	}
	return 0;
}

int dns_resolve(struct dns *d, const char *host, int family_pref, dns_cb cb, void *arg,
		struct dns_query **qp)
{
	struct in_addr v4[2];
	struct in6_addr v6[2];
	struct ares_addrinfo_hints hints = {0};
	char key[DNS_HOST_MAX + 1];
	struct dns_query *q;
	struct dns_entry *e;
	size_t n4, n6, klen;
	uint32_t hash;
	int rc;

	if (!d || !host || !cb || family_pref < DNS_PREFER_V4 || family_pref > DNS_ONLY_V6)
		return -EINVAL;
	if (d->free_pending)
		return -ESHUTDOWN;
	rc = dns_parse_host(host, key, v4, &n4, v6, &n6);
	if (rc < 0)
		return rc;
	q = dns_query_new(d, cb, arg, family_pref);
	if (!q)
		return -ENOMEM;

	if (rc == 1) {
		int st = dns_fill(&q->res, family_pref, v4, n4, v6, n6);

		q->res.source = DNS_SRC_LITERAL;
		rc = dns_answer_now(d, q, st);
		if (rc)
			return rc;
		d->st.literals++;
		goto accepted;
	}

	hash = dns_hash(key);
	e = dns_entry_find(d, key, hash);
	if (e && e->state != DNS_E_PENDING) {
		uint64_t now = dns_now(d);

		if (now < e->expires_ms) {
			int st = e->status;

			if (!st)
				st = dns_fill(&q->res, family_pref, e->v4, e->n4, e->v6, e->n6);
			q->res.ttl_s = dns_ttl_left(now, e->expires_ms);
			q->res.source = DNS_SRC_CACHE;
			rc = dns_answer_now(d, q, st);
			if (rc)
				return rc;
			dns_list_del(&e->lru);
			dns_list_add_head(&d->lru, &e->lru);
			if (e->state == DNS_E_POS)
				d->st.hits++;
			else
				d->st.neg_hits++;
			goto accepted;
		}
		dns_entry_drop(d, e);
		d->st.expired++;
		e = NULL;
	}
	if (e) {
		/* In flight: wait for the same answer. */
		q->state = DNS_Q_WAITING;
		dns_list_add_tail(&e->waiters, &q->link);
		d->st.coalesced++;
		goto accepted;
	}

	klen = strlen(key);
	e = calloc(1, sizeof(*e) + klen + 1);
	if (!e) {
		free(q);
		return -ENOMEM;
	}
	e->d = d;
	e->hash = hash;
	e->state = DNS_E_PENDING;
	memcpy(e->name, key, klen + 1);
	dns_list_init(&e->lru);
	dns_list_init(&e->waiters);
	e->hnext = d->buckets[hash & (d->nbuckets - 1)];
	d->buckets[hash & (d->nbuckets - 1)] = e;
	q->state = DNS_Q_WAITING;
	dns_list_add_tail(&e->waiters, &q->link);
	d->ninflight++;
	d->st.lookups++;

	/*
	 * Both families always, so the entry serves every preference. NOSORT:
	 * c-ares' RFC 6724 sort connect()s a UDP socket per address to learn
	 * source addresses; we keep the server's order instead.
	 */
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	/* May complete synchronously: e and q are then on their way already. */
	ares_getaddrinfo(d->channel, key, NULL, &hints, dns_on_addrinfo, e);
	dns_arm_ares_timer(d);

accepted:
	d->st.resolves++;
	if (qp)
		*qp = q;
	return 0;
}

void dns_cancel(struct dns_query *q)
{
	if (!q || q->state == DNS_Q_DELIVERING)
		return;
	dns_list_del(&q->link);
	q->d->st.cancelled++;
	free(q);
}

void dns_flush(struct dns *d)
{
	if (!d)
		return;
	while (!dns_list_empty(&d->lru))
		dns_entry_drop(d, dns_container_of(d->lru.next, struct dns_entry, lru));
}

void dns_stats(const struct dns *d, struct dns_stats *out)
{
	*out = d->st;
	out->entries = d->ncached;
	out->inflight = d->ninflight;
}
