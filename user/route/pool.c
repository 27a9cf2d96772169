// SPDX-License-Identifier: BSD-2-Clause
/*
 * Upstream pools: backend selection (see pool.h for the contract).
 *
 * Hash pools look up table[h % size], h = pool_hash(input), in a Maglev
 * table of backend index + 1 (0 only when no backend has weight). When that
 * slot's backend is not eligible the key probes on, double-hashing style:
 *
 *   slot_j = (h % size + j * step) % size,
 *   step   = fmix64(h + 0x9e3779b97f4a7c15) % (size - 1) + 1,
 *
 * and takes the first slot whose backend is eligible (fmix64 is
 * MurmurHash3's finalizer). The size is prime, so the walk visits every slot
 * once in size steps, and Maglev gives every weighted backend at least one
 * slot (size >= n is checked), so the walk finds any eligible backend.
 * Each key has its own step, so the keys of a down backend scatter over the
 * whole table - in proportion to slots, hence weights - rather than piling
 * onto the slot's neighbours. The step's mix is wire behaviour like
 * pool_hash() itself.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/h1.h"
#include "xdproxy/lb.h"
#include "route/maglev.h"
#include "route/pool.h"
#include "util/err.h"

struct pool_backend {
	char *key;
	uint32_t weight;
	uint32_t conns;
	bool up;
	/*
	 * Smooth weighted round robin's running score. The sum over all
	 * backends stays 0 (a pick adds the eligible weights and takes their
	 * sum back from one), so with weights <= 256 it stays tiny; 64 bits
	 * leave no doubt whatever sets of backends take part pick after pick.
	 */
	int64_t current;
};

struct pool {
	enum pool_algo algo;
	char *hash_name;
	size_t n;
	uint32_t table_size; /* 0 unless hashing */
	uint16_t *table;     /* backend index + 1, 0 = none */
	size_t lc_next;	     /* leastconn: where the tie-breaking scan starts */
	struct pool_backend be[];
};

static const char *const pool_algo_names[POOL_ALGO__MAX] = {
    [POOL_ROUNDROBIN] = "roundrobin", [POOL_LEASTCONN] = "leastconn", [POOL_HASH_SOURCE] = "source",
    [POOL_HASH_HEADER] = "header",    [POOL_HASH_COOKIE] = "cookie",
};

const char *pool_algo_str(enum pool_algo algo)
{
	if ((unsigned)algo >= POOL_ALGO__MAX)
		return "?";
	return pool_algo_names[algo];
}

int pool_algo_parse(const char *s, enum pool_algo *out)
{
	if (!s || !out)
		return -EINVAL;
	for (unsigned i = 0; i < POOL_ALGO__MAX; i++) {
		if (strcmp(s, pool_algo_names[i]) == 0) {
			*out = (enum pool_algo)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- hashing: every constant here is wire behaviour (pool.h) ---- */

#define POOL_HASH_SEED	0x243f6a8885a308d3ull /* pi's fraction: a nothing-up-my-sleeve seed */
#define POOL_HASH_C1	0x87c37b91114253d5ull /* MurmurHash3 x64 */
#define POOL_HASH_C2	0x4cf5ad432745937full
#define POOL_HASH_GAMMA 0x9e3779b97f4a7c15ull /* golden ratio: the step's mix differs */

static inline uint64_t pool_rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/* MurmurHash3's fmix64: every input bit flips each output bit with p ~ 1/2. */
static inline uint64_t pool_fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t pool_mix_word(uint64_t k)
{
	k *= POOL_HASH_C1;
	k = pool_rotl(k, 31);
	k *= POOL_HASH_C2;
	return k;
}

uint64_t pool_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = POOL_HASH_SEED;
	size_t left = len;
	uint64_t k;

	/* bytes assembled little-endian by hand: the same value on any host */
	for (; left >= 8; left -= 8, p += 8) {
		k = 0;
		for (unsigned i = 0; i < 8; i++)
			k |= (uint64_t)p[i] << (8 * i);
		h ^= pool_mix_word(k);
		h = pool_rotl(h, 27);
		h = h * 5 + 0x52dce729;
	}
	if (left) {
		k = 0;
		for (unsigned i = 0; i < left; i++)
			k |= (uint64_t)p[i] << (8 * i);
		h ^= pool_mix_word(k);
	}
	/* the length tells "a" from "a\0" and the tail from zero padding */
	h ^= (uint64_t)len;
	return pool_fmix(h);
}

/* ---- construction ---- */

/* RFC 9110 5.6.2 tchar: what field names and (RFC 6265) cookie names are made of. */
static bool pool_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool pool_is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!pool_is_tchar((unsigned char)*s))
			return false;
	return true;
}

static bool pool_is_hash(enum pool_algo algo)
{
	return algo == POOL_HASH_SOURCE || algo == POOL_HASH_HEADER || algo == POOL_HASH_COOKIE;
}

/* Everything pool_new() refuses, before anything is allocated. */
static int pool_check(const struct pool_spec *s, char *err, size_t errlen)
{
	const char *algo;

	if (!s) {
		util_errf(err, errlen, "no pool spec");
		return -EINVAL;
	}
	if ((unsigned)s->algo >= POOL_ALGO__MAX) {
		util_errf(err, errlen, "unknown balancing algorithm %u", (unsigned)s->algo);
		return -EINVAL;
	}
	algo = pool_algo_str(s->algo);
	if (s->n == 0 || s->n > POOL_MAX_BACKENDS) {
		util_errf(err, errlen, "%zu backends: a pool has 1 to %d", s->n, POOL_MAX_BACKENDS);
		return -EINVAL;
	}
	if (!s->backends) {
		util_errf(err, errlen, "no backend array for %zu backends", s->n);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct pool_backend_spec *b = &s->backends[i];

		if (!b->key || !b->key[0]) {
			util_errf(err, errlen, "backend %zu: no key", i);
			return -EINVAL;
		}
		if (b->weight > POOL_WEIGHT_MAX) {
			util_errf(err, errlen, "backend %zu (\"%s\"): weight %u over %d", i, b->key,
				  b->weight, POOL_WEIGHT_MAX);
			return -EINVAL;
		}
		/* n <= 256: the quadratic scan is at most 32640 compares, once */
		for (size_t j = 0; j < i; j++) {
			if (strcmp(s->backends[j].key, b->key) == 0) {
				util_errf(err, errlen,
					  "backend %zu: key \"%s\" duplicates backend %zu", i,
					  b->key, j);
				return -EINVAL;
			}
		}
	}
	if (s->algo == POOL_HASH_HEADER || s->algo == POOL_HASH_COOKIE) {
		if (!pool_is_token(s->hash_name)) {
			util_errf(err, errlen, "%s hashing needs a %s name (a token), got %s%s%s",
				  algo, s->algo == POOL_HASH_HEADER ? "header" : "cookie",
				  s->hash_name ? "\"" : "", s->hash_name ? s->hash_name : "none",
				  s->hash_name ? "\"" : "");
			return -EINVAL;
		}
	} else if (s->hash_name) {
		/* most likely a config meant "header" or "cookie": say so, do not guess */
		util_errf(err, errlen, "%s takes no hash name (got \"%s\")", algo, s->hash_name);
		return -EINVAL;
	}
	if (s->table_size && (!maglev_size_ok(s->table_size) || s->table_size < s->n)) {
		util_errf(err, errlen,
			  "table size %u: must be a prime >= %zu (the backends) and >= %d, <= %u",
			  s->table_size, s->n, MAGLEV_SIZE_MIN, (unsigned)LB_RING_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Smallest prime >= max(POOL_TABLE_MIN_DEFAULT, POOL_TABLE_PER_BACKEND * n). */
static uint32_t pool_default_table(size_t n)
{
	uint32_t size = (uint32_t)n * POOL_TABLE_PER_BACKEND;

	if (size < POOL_TABLE_MIN_DEFAULT)
		size = POOL_TABLE_MIN_DEFAULT;
	/* n <= 256: 25600 is far below LB_RING_MAX, and a prime follows within ~100 */
	while (!maglev_size_ok(size))
		size++;
	return size;
}

static int pool_build_table(struct pool *p)
{
	struct maglev_real *reals;
	uint32_t *slots;
	int err;

	reals = calloc(p->n, sizeof(*reals));
	slots = malloc((size_t)p->table_size * sizeof(*slots));
	if (!reals || !slots) {
		err = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < p->n; i++) {
		reals[i] = (struct maglev_real){
		    .id = (uint32_t)i + 1,
		    .weight = p->be[i].weight,
		    .key = p->be[i].key,
		};
	}
	err = maglev_build(reals, p->n, p->table_size, slots);
	if (err)
		goto out_free;
	/* ids are 1..256: two bytes a slot keep the table cache-friendly */
	for (uint32_t s = 0; s < p->table_size; s++)
		p->table[s] = (uint16_t)slots[s];

out_free:
	free(slots);
	free(reals);
	return err;
}

struct pool *pool_new(const struct pool_spec *s, char *err, size_t errlen)
{
	struct pool *p;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	rc = pool_check(s, err, errlen);
	if (rc) {
		errno = -rc;
		return NULL;
	}

	p = calloc(1, sizeof(*p) + s->n * sizeof(p->be[0]));
	if (!p)
		goto err_nomem;
	p->algo = s->algo;
	p->n = s->n;
	for (size_t i = 0; i < s->n; i++) {
		p->be[i].key = strdup(s->backends[i].key);
		if (!p->be[i].key)
			goto err_free;
		p->be[i].weight = s->backends[i].weight;
		p->be[i].up = true;
	}
	if (s->hash_name) {
		p->hash_name = strdup(s->hash_name);
		if (!p->hash_name)
			goto err_free;
	}
	if (pool_is_hash(s->algo)) {
		p->table_size = s->table_size ? s->table_size : pool_default_table(s->n);
		p->table = malloc((size_t)p->table_size * sizeof(*p->table));
		if (!p->table)
			goto err_free;
		rc = pool_build_table(p);
		if (rc) {
			/* everything maglev_build() checks was checked above */
			pool_free(p);
			errno = -rc;
			return NULL;
		}
	}
	return p;

err_free:
	pool_free(p);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->be[i].key);
	free(p->hash_name);
	free(p->table);
	free(p);
}

/* ---- picking ---- */

static bool pool_eligible(const struct pool *p, size_t i, const struct pool_set *ex)
{
	return p->be[i].weight && p->be[i].up && !(ex && pool_set_has(ex, i));
}

static int pool_pick_rr(struct pool *p, const struct pool_set *ex)
{
	int64_t total = 0;
	int best = -1;

	for (size_t i = 0; i < p->n; i++) {
		struct pool_backend *b = &p->be[i];

		if (!pool_eligible(p, i, ex))
			continue;
		b->current += b->weight;
		total += b->weight;
		/* strictly greater: the first of equals wins, as in nginx */
		if (best < 0 || b->current > p->be[best].current)
			best = (int)i;
	}
	if (best < 0)
		return -EHOSTUNREACH;
	p->be[best].current -= total;
	return best;
}

/* Would backend a be less loaded than b after one more connection? */
static bool pool_lc_less(const struct pool *p, size_t a, size_t b)
{
	/* (conns + 1) <= 2^32 and weights <= 256: the products fit in 41 bits */
	uint64_t la = ((uint64_t)p->be[a].conns + 1) * p->be[b].weight;
	uint64_t lb = ((uint64_t)p->be[b].conns + 1) * p->be[a].weight;

	return la < lb;
}

static int pool_pick_lc(struct pool *p, const struct pool_set *ex)
{
	int best = -1;

	/* strict "less" from a rotating start: ties go to whoever is next in turn */
	for (size_t k = 0; k < p->n; k++) {
		size_t i = (p->lc_next + k) % p->n;

		if (!pool_eligible(p, i, ex))
			continue;
		if (best < 0 || pool_lc_less(p, i, (size_t)best))
			best = (int)i;
	}
	if (best < 0)
		return -EHOSTUNREACH;
	p->lc_next = ((size_t)best + 1) % p->n;
	return best;
}

static int pool_pick_hash(struct pool *p, uint64_t h, const struct pool_set *ex)
{
	uint32_t size = p->table_size;
	uint32_t slot = (uint32_t)(h % size);
	uint32_t step;
	bool any = false;
	uint16_t id;

	id = p->table[slot];
	if (id && pool_eligible(p, id - 1u, ex))
		return id - 1;
	/* the probe ends only on an eligible backend: make sure there is one */
	for (size_t i = 0; i < p->n && !any; i++)
		any = pool_eligible(p, i, ex);
	if (!any)
		return -EHOSTUNREACH;
	step = (uint32_t)(pool_fmix(h + POOL_HASH_GAMMA) % (size - 1)) + 1;
	for (uint32_t j = 1; j < size; j++) {
		slot += step;
		if (slot >= size)
			slot -= size;
		id = p->table[slot];
		if (id && pool_eligible(p, id - 1u, ex))
			return id - 1;
	}
	/* unreachable: an eligible backend has weight, hence a slot */
	return -EHOSTUNREACH;
}

/* The client address as 16 bytes, IPv4 mapped (::ffff:a.b.c.d); false if not IP. */
static bool pool_client_addr(const struct sockaddr *sa, unsigned char out[16])
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

static bool pool_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The value of cookie name in one Cookie field value v[0, len): RFC 6265
 * 4.2.1's "name=value; name=value", read leniently as servers do (5.4 is
 * the browser's side): pairs split on ';', whitespace around names and
 * values ignored, a pair without '=' skipped (no name), a DQUOTEd value
 * unquoted. Names match exactly: cookie names are case-sensitive, and only
 * a whole name matches ("xsession" is not "session").
 */
static bool pool_cookie_in(const char *v, size_t len, const char *name, size_t name_len,
			   const char **val, size_t *val_len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos, eq, ns, ne, vs, ve;

		while (end < len && v[end] != ';')
			end++;
		for (eq = pos; eq < end && v[eq] != '='; eq++)
			;
		if (eq < end) {
			for (ns = pos; ns < eq && pool_ows(v[ns]); ns++)
				;
			for (ne = eq; ne > ns && pool_ows(v[ne - 1]); ne--)
				;
			if (ne - ns == name_len && memcmp(v + ns, name, name_len) == 0) {
				for (vs = eq + 1; vs < end && pool_ows(v[vs]); vs++)
					;
				for (ve = end; ve > vs && pool_ows(v[ve - 1]); ve--)
					;
				if (ve - vs >= 2 && v[vs] == '"' && v[ve - 1] == '"') {
					vs++;
					ve--;
				}
				*val = v + vs;
				*val_len = ve - vs;
				return true;
			}
		}
		pos = end + 1;
	}
	return false;
}

/* The bytes a header/cookie pool hashes; false when missing or empty. */
static bool pool_msg_key(const struct pool *p, const struct h1_msg *m, const char *buf,
			 const char **key, size_t *key_len)
{
	size_t name_len = strlen(p->hash_name);
	int i;

	if (!m || !buf)
		return false;
	if (p->algo == POOL_HASH_HEADER) {
		i = h1_field_find(m, buf, p->hash_name, 0);
		if (i < 0 || !m->fields[i].value.len)
			return false;
		*key = buf + m->fields[i].value.off;
		*key_len = m->fields[i].value.len;
		return true;
	}
	for (i = h1_field_find(m, buf, "cookie", 0); i >= 0;
	     i = h1_field_find(m, buf, "cookie", (uint32_t)i + 1)) {
		const struct h1_span v = m->fields[i].value;

		/* the first cookie of that name decides, even when empty */
		if (pool_cookie_in(buf + v.off, v.len, p->hash_name, name_len, key, key_len))
			return *key_len > 0;
	}
	return false;
}

int pool_pick(struct pool *p, const struct pool_pick_ctx *c)
{
	static const struct pool_pick_ctx none;
	unsigned char addr[16];
	const char *key;
	size_t key_len;

	if (!p)
		return -EINVAL;
	if (!c)
		c = &none;
	switch (p->algo) {
	case POOL_ROUNDROBIN:
		break;
	case POOL_LEASTCONN:
		return pool_pick_lc(p, c->exclude);
	case POOL_HASH_SOURCE:
		if (pool_client_addr(c->client, addr))
			return pool_pick_hash(p, pool_hash(addr, sizeof(addr)), c->exclude);
		break;
	case POOL_HASH_HEADER:
	case POOL_HASH_COOKIE:
		if (pool_msg_key(p, c->m, c->buf, &key, &key_len))
			return pool_pick_hash(p, pool_hash(key, key_len), c->exclude);
		break;
	default:
		return -EINVAL;
	}
	return pool_pick_rr(p, c->exclude);
}

/* ---- state ---- */

int pool_set_up(struct pool *p, size_t i, bool up)
{
	if (!p || i >= p->n)
		return -EINVAL;
	p->be[i].up = up;
	return 0;
}

bool pool_is_up(const struct pool *p, size_t i)
{
	return p && i < p->n && p->be[i].up;
}

int pool_conn_get(struct pool *p, size_t i)
{
	if (!p || i >= p->n)
		return -EINVAL;
	if (p->be[i].conns < UINT32_MAX)
		p->be[i].conns++;
	return 0;
}

int pool_conn_put(struct pool *p, size_t i)
{
	if (!p || i >= p->n)
		return -EINVAL;
	if (!p->be[i].conns)
		return -ERANGE;
	p->be[i].conns--;
	return 0;
}

uint32_t pool_conns(const struct pool *p, size_t i)
{
	return p && i < p->n ? p->be[i].conns : 0;
}

size_t pool_size(const struct pool *p)
{
	return p ? p->n : 0;
}

const char *pool_key(const struct pool *p, size_t i)
{
	return p && i < p->n ? p->be[i].key : NULL;
}

uint32_t pool_weight(const struct pool *p, size_t i)
{
	return p && i < p->n ? p->be[i].weight : 0;
}

enum pool_algo pool_algo_of(const struct pool *p)
{
	return p ? p->algo : POOL_ALGO__MAX;
}

uint32_t pool_table_size(const struct pool *p)
{
	return p ? p->table_size : 0;
}
