// SPDX-License-Identifier: BSD-2-Clause
/*
 * Upstream pool tests. Expectations are computed independently of pool.c:
 * round robin against a straight transcription of nginx's smooth weighted
 * round robin, hash picks against a Maglev table built here with
 * maglev_build() and indexed with pool_hash() % size, spreads against the
 * weights. Synthetic clients come from a fixed-seed PRNG, so every run sees
 * the same ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "http/h1.h"
#include "route/maglev.h"
#include "route/pool.h"
#include "xdproxy/lb.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NCLIENTS 10000

/* SplitMix64: small, fixed-seed, good enough to make up client addresses. */
static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Backend i is "10.0.0.<i+2>:80" for i < 250, then "10.0.1.<i-248>:80". */
static char keys[POOL_MAX_BACKENDS + 1][32];
static struct pool_backend_spec specs[POOL_MAX_BACKENDS + 1];

static void make_specs(size_t n, const uint32_t *weights)
{
	assert_true(n <= ARRAY_SIZE(specs));
	for (size_t i = 0; i < n; i++) {
		if (i < 250)
			snprintf(keys[i], sizeof(keys[i]), "10.0.0.%zu:80", i + 2);
		else
			snprintf(keys[i], sizeof(keys[i]), "10.0.1.%zu:80", i - 248);
		specs[i] =
		    (struct pool_backend_spec){.key = keys[i], .weight = weights ? weights[i] : 1};
	}
}

static struct pool *mk_sized(enum pool_algo algo, const char *hash_name, size_t n,
			     const uint32_t *weights, uint32_t table_size)
{
	char err[128];
	struct pool_spec s = {.algo = algo,
			      .hash_name = hash_name,
			      .backends = specs,
			      .n = n,
			      .table_size = table_size};
	struct pool *p;

	make_specs(n, weights);
	p = pool_new(&s, err, sizeof(err));
	if (!p)
		fail_msg("pool_new: %s (errno %d)", err, errno);
	assert_string_equal(err, "");
	return p;
}

static struct pool *mk(enum pool_algo algo, const char *hash_name, size_t n,
		       const uint32_t *weights)
{
	return mk_sized(algo, hash_name, n, weights, 0);
}

/* pool_new() on s must fail with EINVAL and a reason containing want. */
static void expect_einval(const struct pool_spec *s, const char *want)
{
	char err[160];

	memset(err, 'x', sizeof(err));
	errno = 0;
	assert_null(pool_new(s, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (!strstr(err, want))
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
	/* no reason buffer is fine too */
	errno = 0;
	assert_null(pool_new(s, NULL, 0));
	assert_int_equal(errno, EINVAL);
}

static struct sockaddr_in sin4(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(addr);
	return a;
}

/* ::ffff:addr, the form a dual-stack socket reports an IPv4 client in. */
static struct sockaddr_in6 sin6_mapped(uint32_t addr, uint16_t port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	a.sin6_addr.s6_addr[10] = 0xff;
	a.sin6_addr.s6_addr[11] = 0xff;
	addr = htonl(addr);
	memcpy(&a.sin6_addr.s6_addr[12], &addr, 4);
	return a;
}

static int pick_src(struct pool *p, const void *sa, const struct pool_set *ex)
{
	struct pool_pick_ctx c = {.client = sa, .exclude = ex};

	return pool_pick(p, &c);
}

static int pick_v4(struct pool *p, uint32_t addr, const struct pool_set *ex)
{
	struct sockaddr_in a = sin4(addr, 40000);

	return pick_src(p, &a, ex);
}

static int pick_ex(struct pool *p, const struct pool_set *ex)
{
	struct pool_pick_ctx c = {.exclude = ex};

	return pool_pick(p, &c);
}

/* One parsed request at a time: the message and the buffer its spans index. */
static struct h1_msg msg;
static const char *msg_buf;

static void parse(const char *req)
{
	h1_msg_init(&msg, NULL);
	assert_int_equal(h1_parse_request(&msg, req, strlen(req)), 0);
	msg_buf = req;
}

static int pick_msg(struct pool *p, const char *req, const struct pool_set *ex)
{
	struct pool_pick_ctx c = {.m = &msg, .buf = NULL, .exclude = ex};

	parse(req);
	c.buf = msg_buf;
	return pool_pick(p, &c);
}

/*
 * The backend a hash pool with every backend eligible must return for
 * input: built here from maglev_build() with the same ids and keys.
 */
static uint32_t *ref_table(size_t n, uint32_t size)
{
	struct maglev_real reals[POOL_MAX_BACKENDS];
	uint32_t *t = malloc(size * sizeof(*t));

	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		reals[i] = (struct maglev_real){
		    .id = (uint32_t)i + 1, .weight = specs[i].weight, .key = specs[i].key};
	assert_int_equal(maglev_build(reals, n, size, t), 0);
	return t;
}

static int ref_pick(const uint32_t *t, uint32_t size, const void *data, size_t len)
{
	return (int)t[pool_hash(data, len) % size] - 1;
}

/*
 * The probe as pool.c's comment specifies it, for backends up[] (NULL: all):
 * slot_j = (h % size + j * step) % size, step = fmix64(h + golden gamma) %
 * (size - 1) + 1, first slot whose backend is up. Written out here so that
 * a change to the wire behaviour shows.
 */
static uint64_t ref_fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static int ref_probe(const uint32_t *t, uint32_t size, uint64_t h, const bool *up)
{
	uint64_t step = ref_fmix(h + 0x9e3779b97f4a7c15ull) % (size - 1) + 1;

	for (uint64_t j = 0; j < size; j++) {
		uint32_t id = t[(h % size + j * step) % size];

		if (id && (!up || up[id - 1]))
			return (int)id - 1;
	}
	return -1;
}

/* 16-byte form of an IPv4 client, as pool.h says source hashing sees it. */
static void v4_bytes(uint32_t addr, unsigned char out[16])
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	out[12] = (unsigned char)(addr >> 24);
	out[13] = (unsigned char)(addr >> 16);
	out[14] = (unsigned char)(addr >> 8);
	out[15] = (unsigned char)addr;
}

/*
 * nginx's ngx_http_upstream_get_peer(), transcribed: the reference the
 * round robin picks are checked against. Returns -1 when none is eligible.
 */
struct ref_rr {
	size_t n;
	int64_t cur[POOL_MAX_BACKENDS];
	uint32_t w[POOL_MAX_BACKENDS];
};

static int ref_rr_pick(struct ref_rr *r, const bool *skip)
{
	int64_t total = 0;
	int best = -1;

	for (size_t i = 0; i < r->n; i++) {
		if (!r->w[i] || (skip && skip[i]))
			continue;
		r->cur[i] += r->w[i];
		total += r->w[i];
		if (best == -1 || r->cur[i] > r->cur[best])
			best = (int)i;
	}
	if (best == -1)
		return -1;
	r->cur[best] -= total;
	return best;
}

/* ------------------------------------------------------------------ */
/* algorithm names                                                     */

static void test_algo_round_trip(void **state)
{
	static const char *const names[] = {"roundrobin", "leastconn", "source", "header",
					    "cookie"};
	enum pool_algo a;

	(void)state;
	assert_int_equal(ARRAY_SIZE(names), POOL_ALGO__MAX);
	for (unsigned i = 0; i < POOL_ALGO__MAX; i++) {
		assert_string_equal(pool_algo_str((enum pool_algo)i), names[i]);
		a = POOL_ALGO__MAX;
		assert_int_equal(pool_algo_parse(names[i], &a), 0);
		assert_int_equal(a, i);
		assert_int_equal(pool_algo_parse(pool_algo_str(a), &a), 0);
		assert_int_equal(a, i);
	}
	assert_int_equal(POOL_ROUNDROBIN, 0);
}

static void test_algo_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",	   "RoundRobin", "roundrobin ", " leastconn", "round robin",
	    "hdr", "source\n",	 "lc",		"cookies",    "?"};
	enum pool_algo a = POOL_LEASTCONN;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(pool_algo_parse(bad[i], &a), -EINVAL);
		assert_int_equal(a, POOL_LEASTCONN); /* untouched */
	}
	assert_int_equal(pool_algo_parse(NULL, &a), -EINVAL);
	assert_int_equal(pool_algo_parse("source", NULL), -EINVAL);
	assert_string_equal(pool_algo_str(POOL_ALGO__MAX), "?");
	assert_string_equal(pool_algo_str((enum pool_algo) - 1), "?");
	assert_string_equal(pool_algo_str((enum pool_algo)1000), "?");
}

/* ------------------------------------------------------------------ */
/* pool_new validation                                                 */

static void test_new_null_and_algo(void **state)
{
	struct pool_spec s = {.algo = POOL_ROUNDROBIN, .backends = specs, .n = 2};

	(void)state;
	make_specs(2, NULL);
	expect_einval(NULL, "spec");
	s.algo = POOL_ALGO__MAX;
	expect_einval(&s, "algorithm");
	s.algo = (enum pool_algo) - 1;
	expect_einval(&s, "algorithm");
	s.algo = POOL_ROUNDROBIN;
	s.backends = NULL;
	expect_einval(&s, "backend array");
}

static void test_new_backend_count(void **state)
{
	struct pool_spec s = {.algo = POOL_ROUNDROBIN, .backends = specs};
	struct pool *p;

	(void)state;
	make_specs(POOL_MAX_BACKENDS + 1, NULL);
	s.n = 0;
	expect_einval(&s, "0 backends");
	s.n = POOL_MAX_BACKENDS + 1;
	expect_einval(&s, "257 backends");
	s.n = (size_t)-1;
	expect_einval(&s, "backends");
	/* exactly the maximum is fine, for every algorithm */
	for (unsigned a = 0; a < POOL_ALGO__MAX; a++) {
		s.algo = (enum pool_algo)a;
		s.n = POOL_MAX_BACKENDS;
		s.hash_name = a == POOL_HASH_HEADER   ? "X-User"
			      : a == POOL_HASH_COOKIE ? "sid"
						      : NULL;
		p = pool_new(&s, NULL, 0);
		assert_non_null(p);
		assert_int_equal(pool_size(p), POOL_MAX_BACKENDS);
		/* the last backend is reachable */
		for (size_t i = 0; i + 1 < POOL_MAX_BACKENDS; i++)
			assert_int_equal(pool_set_up(p, i, false), 0);
		assert_int_equal(pool_pick(p, NULL), POOL_MAX_BACKENDS - 1);
		pool_free(p);
	}
}

static void test_new_keys(void **state)
{
	struct pool_spec s = {.algo = POOL_HASH_SOURCE, .backends = specs, .n = 4};

	(void)state;
	make_specs(4, NULL);
	specs[2].key = keys[0];
	expect_einval(&s, "backend 2: key \"10.0.0.2:80\" duplicates backend 0");
	s.algo = POOL_ROUNDROBIN; /* checked whatever the algorithm */
	expect_einval(&s, "duplicates");
	make_specs(4, NULL);
	specs[3].key = NULL;
	expect_einval(&s, "backend 3: no key");
	specs[3].key = "";
	expect_einval(&s, "backend 3: no key");
	/* keys are case-sensitive names: these differ */
	specs[0].key = "web-a";
	specs[3].key = "WEB-A";
	{
		struct pool *p = pool_new(&s, NULL, 0);

		assert_non_null(p);
		assert_string_equal(pool_key(p, 0), "web-a");
		assert_string_equal(pool_key(p, 3), "WEB-A");
		pool_free(p);
	}
}

static void test_new_weights(void **state)
{
	struct pool_spec s = {.algo = POOL_LEASTCONN, .backends = specs, .n = 3};
	uint32_t w[3] = {1, POOL_WEIGHT_MAX + 1, 1};
	struct pool *p;

	(void)state;
	make_specs(3, w);
	expect_einval(&s, "weight 257");
	specs[1].weight = UINT32_MAX;
	expect_einval(&s, "backend 1");
	specs[1].weight = POOL_WEIGHT_MAX;
	p = pool_new(&s, NULL, 0);
	assert_non_null(p);
	assert_int_equal(pool_weight(p, 1), POOL_WEIGHT_MAX);
	pool_free(p);
	/* all disabled is a valid, drained pool */
	for (size_t i = 0; i < 3; i++)
		specs[i].weight = 0;
	for (unsigned a = 0; a < POOL_ALGO__MAX; a++) {
		s.algo = (enum pool_algo)a;
		s.hash_name = a == POOL_HASH_HEADER   ? "X-User"
			      : a == POOL_HASH_COOKIE ? "sid"
						      : NULL;
		p = pool_new(&s, NULL, 0);
		assert_non_null(p);
		assert_int_equal(pool_pick(p, NULL), -EHOSTUNREACH);
		assert_int_equal(pick_v4(p, 0xc0000201, NULL), -EHOSTUNREACH);
		pool_free(p);
	}
}

static void test_new_hash_name(void **state)
{
	static const char *const bad[] = {"",	 "X User", "a:b", "x\ty", "na\xc3\xafve",
					  "(x)", "a=b",	   "a;b", "\"q\""};
	struct pool_spec s = {.backends = specs, .n = 2};
	struct pool *p;

	(void)state;
	make_specs(2, NULL);
	s.algo = POOL_HASH_HEADER;
	expect_einval(&s, "header hashing needs a header name (a token), got none");
	s.algo = POOL_HASH_COOKIE;
	expect_einval(&s, "cookie hashing needs a cookie name (a token), got none");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		s.hash_name = bad[i];
		s.algo = POOL_HASH_HEADER;
		expect_einval(&s, "a token");
		s.algo = POOL_HASH_COOKIE;
		expect_einval(&s, "a token");
	}
	/* every tchar is fine */
	s.hash_name = "!#$%&'*+-.^_`|~09azAZ";
	p = pool_new(&s, NULL, 0);
	assert_non_null(p);
	pool_free(p);
	/* a name for an algorithm that has no use for one is a config mistake */
	s.hash_name = "X-User";
	s.algo = POOL_ROUNDROBIN;
	expect_einval(&s, "roundrobin takes no hash name");
	s.algo = POOL_LEASTCONN;
	expect_einval(&s, "leastconn takes no hash name");
	s.algo = POOL_HASH_SOURCE;
	expect_einval(&s, "source takes no hash name");
}

static void test_new_table_size(void **state)
{
	static const uint32_t bad[] = {1, 2, 5, 6, 9, 1000, 1022, 65536, 1048583, UINT32_MAX};
	struct pool_spec s = {.algo = POOL_HASH_SOURCE, .backends = specs, .n = 8};
	struct pool *p;

	(void)state;
	make_specs(8, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		s.table_size = bad[i];
		expect_einval(&s, "table size");
	}
	/* prime, but fewer slots than backends: some would own none */
	s.table_size = 7;
	expect_einval(&s, "table size 7");
	s.algo = POOL_ROUNDROBIN; /* a bad value is refused even where unused */
	expect_einval(&s, "table size 7");
	s.n = 7;
	p = pool_new(&s, NULL, 0);
	assert_non_null(p);
	assert_int_equal(pool_table_size(p), 0); /* no table without hashing */
	pool_free(p);
	s.algo = POOL_HASH_SOURCE;
	p = pool_new(&s, NULL, 0);
	assert_non_null(p);
	assert_int_equal(pool_table_size(p), 7);
	pool_free(p);
	s.table_size = LB_RING_MAX;
	p = pool_new(&s, NULL, 0);
	assert_non_null(p);
	assert_int_equal(pool_table_size(p), LB_RING_MAX);
	pool_free(p);
}

static bool is_prime(uint32_t x)
{
	if (x < 2)
		return false;
	for (uint32_t d = 2; d * d <= x; d++)
		if (x % d == 0)
			return false;
	return true;
}

static void test_default_table_size(void **state)
{
	static const size_t ns[] = {1, 2, 10, 11, 20, 100, 255, 256};

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
		uint32_t want = (uint32_t)ns[k] * 100;
		struct pool *p;

		if (want < 1021)
			want = 1021;
		while (!is_prime(want))
			want++;
		p = mk(POOL_HASH_COOKIE, "sid", ns[k], NULL);
		assert_int_equal(pool_table_size(p), want);
		pool_free(p);
	}
	/* spot checks of the arithmetic above */
	{
		struct pool *p = mk(POOL_HASH_SOURCE, NULL, 3, NULL);

		assert_int_equal(pool_table_size(p), 1021);
		pool_free(p);
		p = mk(POOL_HASH_SOURCE, NULL, 256, NULL);
		assert_int_equal(pool_table_size(p), 25601);
		pool_free(p);
	}
}

static void test_err_buffer(void **state)
{
	struct pool_spec s = {.algo = POOL_ROUNDROBIN, .backends = specs, .n = 0};
	char err[8];
	struct pool *p;

	(void)state;
	make_specs(2, NULL);
	memset(err, 'x', sizeof(err));
	assert_null(pool_new(&s, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1); /* truncated, terminated */
	assert_memory_equal(err, "0 backe", 8);
	err[0] = 'x';
	assert_null(pool_new(&s, err, 1));
	assert_int_equal(err[0], '\0');
	err[0] = 'x';
	assert_null(pool_new(&s, err, 0)); /* errlen 0: err untouched */
	assert_int_equal(err[0], 'x');
	s.n = 2;
	memset(err, 'x', sizeof(err));
	p = pool_new(&s, err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(err, "");
	pool_free(p);
}

/* The spec is copied: the caller's strings may go away. */
static void test_new_copies_spec(void **state)
{
	char k0[16] = "alpha", k1[16] = "beta", name[16] = "sid";
	struct pool_backend_spec b[2] = {{k0, 1}, {k1, 2}};
	struct pool_spec s = {.algo = POOL_HASH_COOKIE, .hash_name = name, .backends = b, .n = 2};
	struct pool *p = pool_new(&s, NULL, 0);
	int before;

	(void)state;
	assert_non_null(p);
	before = pick_msg(p, "GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=abc\r\n\r\n", NULL);
	memset(k0, 'z', sizeof(k0) - 1);
	memset(k1, 'y', sizeof(k1) - 1);
	strcpy(name, "other");
	b[0].weight = 0;
	assert_string_equal(pool_key(p, 0), "alpha");
	assert_string_equal(pool_key(p, 1), "beta");
	assert_int_equal(pool_weight(p, 0), 1);
	assert_int_equal(pool_algo_of(p), POOL_HASH_COOKIE);
	assert_int_equal(pick_msg(p, "GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=abc\r\n\r\n", NULL),
			 before);
	pool_free(p);
}

static void test_null_pool(void **state)
{
	struct pool_set ex = {0};

	(void)state;
	pool_free(NULL);
	assert_int_equal(pool_pick(NULL, NULL), -EINVAL);
	assert_int_equal(pick_ex(NULL, &ex), -EINVAL);
	assert_int_equal(pool_set_up(NULL, 0, true), -EINVAL);
	assert_false(pool_is_up(NULL, 0));
	assert_int_equal(pool_conn_get(NULL, 0), -EINVAL);
	assert_int_equal(pool_conn_put(NULL, 0), -EINVAL);
	assert_int_equal(pool_conns(NULL, 0), 0);
	assert_int_equal(pool_size(NULL), 0);
	assert_null(pool_key(NULL, 0));
	assert_int_equal(pool_weight(NULL, 0), 0);
	assert_int_equal(pool_algo_of(NULL), POOL_ALGO__MAX);
	assert_int_equal(pool_table_size(NULL), 0);
}

static void test_bad_index(void **state)
{
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 3, NULL);

	(void)state;
	assert_int_equal(pool_set_up(p, 3, false), -EINVAL);
	assert_int_equal(pool_set_up(p, (size_t)-1, false), -EINVAL);
	assert_false(pool_is_up(p, 3));
	assert_true(pool_is_up(p, 2));
	assert_int_equal(pool_conn_get(p, 3), -EINVAL);
	assert_int_equal(pool_conn_put(p, 3), -EINVAL);
	assert_int_equal(pool_conns(p, 3), 0);
	assert_null(pool_key(p, 3));
	assert_int_equal(pool_weight(p, 3), 0);
	/* nothing changed for the valid ones */
	for (size_t i = 0; i < 3; i++) {
		assert_true(pool_is_up(p, i));
		assert_int_equal(pool_conns(p, i), 0);
	}
	pool_free(p);
}

static void test_pool_set(void **state)
{
	struct pool_set s = {0};

	(void)state;
	for (size_t i = 0; i < POOL_MAX_BACKENDS; i++)
		assert_false(pool_set_has(&s, i));
	pool_set_add(&s, 0);
	pool_set_add(&s, 63);
	pool_set_add(&s, 64);
	pool_set_add(&s, 255);
	pool_set_add(&s, 256);	      /* ignored */
	pool_set_add(&s, (size_t)-1); /* ignored */
	for (size_t i = 0; i < POOL_MAX_BACKENDS; i++)
		assert_int_equal(pool_set_has(&s, i), i == 0 || i == 63 || i == 64 || i == 255);
	assert_false(pool_set_has(&s, 256));
	assert_false(pool_set_has(&s, 256 + 64));
	assert_int_equal(s.bits[0], (1ull << 63) | 1);
	assert_int_equal(s.bits[1], 1);
	assert_int_equal(s.bits[2], 0);
	assert_int_equal(s.bits[3], 1ull << 63);
}

/* ------------------------------------------------------------------ */
/* round robin                                                         */

/* nginx's documented example: weights 5, 1, 1 give a a b a c a a. */
static void test_rr_nginx_sequence(void **state)
{
	static const uint32_t w[] = {5, 1, 1};
	static const int want[] = {0, 0, 1, 0, 2, 0, 0};
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 3, w);

	(void)state;
	for (int round = 0; round < 5; round++)
		for (size_t k = 0; k < ARRAY_SIZE(want); k++)
			assert_int_equal(pool_pick(p, NULL), want[k]);
	pool_free(p);
}

/* Every window of sum-of-weights picks gives each backend exactly its weight. */
static void test_rr_exact_proportions(void **state)
{
	static const uint32_t w[] = {3, 2, 0, 7, 1, 256, 4};
	const size_t n = ARRAY_SIZE(w);
	uint32_t total = 0;
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, n, w);

	(void)state;
	for (size_t i = 0; i < n; i++)
		total += w[i];
	for (int window = 0; window < 20; window++) {
		uint32_t got[ARRAY_SIZE(w)] = {0};

		for (uint32_t k = 0; k < total; k++) {
			int i = pool_pick(p, NULL);

			assert_true(i >= 0 && (size_t)i < n);
			got[i]++;
		}
		for (size_t i = 0; i < n; i++)
			assert_int_equal(got[i], w[i]);
	}
	pool_free(p);
}

/*
 * Against the nginx transcription for many weight sets, and smooth: after
 * any k picks, a backend's count c is within one pick of its ideal share,
 * k * w / W - 1 <= c < k * w / W + 1 (SWRR keeps k * w - c * W in (-W, W]).
 */
static void test_rr_matches_nginx(void **state)
{
	(void)state;
	prng_state = 7;
	for (int set = 0; set < 200; set++) {
		size_t n = 1 + prng() % 12;
		uint32_t w[12];
		struct ref_rr ref = {.n = n};
		uint32_t total = 0;
		uint64_t count[12] = {0};
		struct pool *p;

		for (size_t i = 0; i < n; i++) {
			w[i] = (uint32_t)(prng() % 10); /* some 0s */
			ref.w[i] = w[i];
			total += w[i];
		}
		p = mk(POOL_ROUNDROBIN, NULL, n, w);
		for (uint32_t k = 1; k <= 3 * total + 5; k++) {
			int got = pool_pick(p, NULL);
			int want = ref_rr_pick(&ref, NULL);

			assert_int_equal(got, want < 0 ? -EHOSTUNREACH : want);
			if (got < 0)
				continue;
			count[got]++;
			for (size_t i = 0; i < n; i++) {
				int64_t lag = (int64_t)k * w[i] - (int64_t)count[i] * total;

				if (lag <= -(int64_t)total || lag > (int64_t)total)
					fail_msg(
					    "set %d pick %u backend %zu: %lu picks, ideal %.2f",
					    set, k, i, (unsigned long)count[i],
					    (double)k * w[i] / total);
			}
		}
		pool_free(p);
	}
}

/* Equal weights: strict rotation; 2:1: a b a, never a a b; no long bursts. */
static void test_rr_smooth(void **state)
{
	static const uint32_t w3[] = {1, 1, 1}, w21[] = {2, 1}, w41[] = {4, 1, 1, 1, 1};
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 3, w3);

	(void)state;
	for (int k = 0; k < 30; k++)
		assert_int_equal(pool_pick(p, NULL), k % 3);
	pool_free(p);
	p = mk(POOL_ROUNDROBIN, NULL, 2, w21);
	for (int k = 0; k < 30; k++)
		assert_int_equal(pool_pick(p, NULL), k % 3 == 1 ? 1 : 0);
	pool_free(p);
	/*
	 * Weight 4 of 8 gives a b a c d a e | a b a ...: never more than two
	 * in a row (plain weighted round robin would send a a a a b c d e).
	 */
	p = mk(POOL_ROUNDROBIN, NULL, 5, w41);
	for (int k = 0, run = 0; k < 80; k++) {
		int i = pool_pick(p, NULL);

		run = i == 0 ? run + 1 : 0;
		assert_true(run <= 2);
		if (k < 8)
			assert_int_equal(i, "01023040"[k] - '0');
	}
	pool_free(p);
}

static void test_rr_weight_zero(void **state)
{
	static const uint32_t w[] = {0, 1, 0, 1};
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 4, w);

	(void)state;
	for (int k = 0; k < 20; k++)
		assert_int_equal(pool_pick(p, NULL), k % 2 ? 3 : 1);
	/* up or not, a disabled backend stays out */
	assert_int_equal(pool_set_up(p, 0, true), 0);
	assert_int_equal(pool_set_up(p, 1, false), 0);
	assert_int_equal(pool_set_up(p, 3, false), 0);
	assert_int_equal(pool_pick(p, NULL), -EHOSTUNREACH);
	pool_free(p);
}

static void test_rr_down_and_back(void **state)
{
	static const uint32_t w[] = {1, 1, 1, 1};
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 4, w);
	uint32_t got[4] = {0};

	(void)state;
	assert_int_equal(pool_set_up(p, 2, false), 0);
	assert_false(pool_is_up(p, 2));
	for (int k = 0; k < 300; k++) {
		int i = pool_pick(p, NULL);

		assert_true(i >= 0 && i < 4);
		got[i]++;
	}
	assert_int_equal(got[2], 0);
	assert_int_equal(got[0], 100);
	assert_int_equal(got[1], 100);
	assert_int_equal(got[3], 100);
	assert_int_equal(pool_set_up(p, 2, true), 0);
	assert_true(pool_is_up(p, 2));
	memset(got, 0, sizeof(got));
	for (int k = 0; k < 400; k++)
		got[pool_pick(p, NULL)]++;
	for (int i = 0; i < 4; i++)
		assert_int_equal(got[i], 100);
	pool_free(p);
}

static void test_rr_all_down(void **state)
{
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 3, NULL);

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(pool_set_up(p, i, false), 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(pool_pick(p, NULL), -EHOSTUNREACH);
	assert_int_equal(pool_set_up(p, 1, true), 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(pool_pick(p, NULL), 1);
	pool_free(p);
}

/* Retries: never a tried one; the rest keep their nginx order. */
static void test_rr_exclude(void **state)
{
	static const uint32_t w[] = {5, 1, 1};
	struct ref_rr ref = {.n = 3, .w = {5, 1, 1}};
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 3, w);
	struct pool_set ex = {0};
	bool skip[3] = {false};

	(void)state;
	pool_set_add(&ex, 0);
	skip[0] = true;
	for (int k = 0; k < 50; k++) {
		int i = pick_ex(p, &ex);

		assert_true(i == 1 || i == 2);
		assert_int_equal(i, ref_rr_pick(&ref, skip));
	}
	/* a whole retry chain: each pick excluded from the next */
	memset(&ex, 0, sizeof(ex));
	for (int tries = 0; tries < 3; tries++) {
		int i = pick_ex(p, &ex);

		assert_true(i >= 0);
		assert_false(pool_set_has(&ex, (size_t)i));
		pool_set_add(&ex, (size_t)i);
	}
	assert_int_equal(pick_ex(p, &ex), -EHOSTUNREACH);
	/* exclusions outside the pool change nothing */
	memset(&ex, 0, sizeof(ex));
	pool_set_add(&ex, 200);
	assert_true(pick_ex(p, &ex) >= 0);
	pool_free(p);
}

static void test_rr_single(void **state)
{
	struct pool *p = mk(POOL_ROUNDROBIN, NULL, 1, NULL);
	struct pool_set ex = {0};

	(void)state;
	for (int k = 0; k < 5; k++)
		assert_int_equal(pool_pick(p, NULL), 0);
	pool_set_add(&ex, 0);
	assert_int_equal(pick_ex(p, &ex), -EHOSTUNREACH);
	assert_int_equal(pool_pick(p, NULL), 0);
	pool_free(p);
}

/* ------------------------------------------------------------------ */
/* leastconn                                                           */

static void test_lc_fewest(void **state)
{
	struct pool *p = mk(POOL_LEASTCONN, NULL, 3, NULL);

	(void)state;
	assert_int_equal(pool_conn_get(p, 0), 0);
	assert_int_equal(pool_conn_get(p, 0), 0);
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_conns(p, 0), 2);
	assert_int_equal(pool_conns(p, 1), 1);
	assert_int_equal(pool_conns(p, 2), 0);
	for (int k = 0; k < 4; k++)
		assert_int_equal(pool_pick(p, NULL), 2); /* picking alone counts nothing */
	assert_int_equal(pool_conn_get(p, 2), 0);
	assert_int_equal(pool_conn_get(p, 2), 0);
	assert_int_equal(pool_pick(p, NULL), 1);
	assert_int_equal(pool_conn_put(p, 0), 0);
	assert_int_equal(pool_conn_put(p, 0), 0);
	assert_int_equal(pool_pick(p, NULL), 0);
	pool_free(p);
}

static void test_lc_ties_take_turns(void **state)
{
	struct pool *p = mk(POOL_LEASTCONN, NULL, 4, NULL);

	(void)state;
	/* idle pool, short requests: everyone gets a turn */
	for (int k = 0; k < 40; k++)
		assert_int_equal(pool_pick(p, NULL), k % 4);
	/* 0 and 2 tie lowest: they alternate */
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_conn_get(p, 3), 0);
	for (int k = 0; k < 10; k++)
		assert_int_equal(pool_pick(p, NULL), k % 2 ? 2 : 0);
	pool_free(p);
}

/* Long-lived connections pile up in proportion to the weights. */
static void test_lc_weights(void **state)
{
	static const uint32_t w[] = {3, 1, 6, 0};
	struct pool *p = mk(POOL_LEASTCONN, NULL, 4, w);

	(void)state;
	for (int k = 0; k < 1000; k++) {
		int i = pool_pick(p, NULL);

		assert_true(i >= 0 && i < 3);
		assert_int_equal(pool_conn_get(p, (size_t)i), 0);
		/* never out of line by more than one connection */
		for (size_t j = 0; j < 3; j++) {
			double ideal = (double)(k + 1) * w[j] / 10;

			assert_true(pool_conns(p, j) <= ideal + 1 && pool_conns(p, j) + 1 >= ideal);
		}
	}
	assert_int_equal(pool_conns(p, 0), 300);
	assert_int_equal(pool_conns(p, 1), 100);
	assert_int_equal(pool_conns(p, 2), 600);
	assert_int_equal(pool_conns(p, 3), 0);
	pool_free(p);
}

/* Load is (conns + 1) / weight: an idle heavy backend goes first. */
static void test_lc_weighted_idle(void **state)
{
	static const uint32_t w[] = {1, 4};
	struct pool *p = mk(POOL_LEASTCONN, NULL, 2, w);

	(void)state;
	assert_int_equal(pool_pick(p, NULL), 1);
	/* 2 conns on w=4 (load 3/4 with one more) still beat 0 on w=1 (1/1) */
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_pick(p, NULL), 1);
	/* 3 on w=4 is 4/4 = 1/1: a tie, and it is backend 0's turn */
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_pick(p, NULL), 0);
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_pick(p, NULL), 0);
	pool_free(p);
}

static void test_lc_no_underflow(void **state)
{
	struct pool *p = mk(POOL_LEASTCONN, NULL, 2, NULL);

	(void)state;
	assert_int_equal(pool_conn_put(p, 0), -ERANGE);
	assert_int_equal(pool_conns(p, 0), 0);
	assert_int_equal(pool_conn_get(p, 0), 0);
	assert_int_equal(pool_conn_put(p, 0), 0);
	assert_int_equal(pool_conn_put(p, 0), -ERANGE);
	assert_int_equal(pool_conns(p, 0), 0);
	/* had it wrapped, backend 0 would look saturated and 1 would win */
	assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_pick(p, NULL), 0);
	pool_free(p);
}

static void test_lc_down_exclude(void **state)
{
	struct pool *p = mk(POOL_LEASTCONN, NULL, 3, NULL);
	struct pool_set ex = {0};

	(void)state;
	for (int k = 0; k < 5; k++)
		assert_int_equal(pool_conn_get(p, 1), 0);
	assert_int_equal(pool_conn_get(p, 2), 0);
	/* 0 is least loaded but down; its connections still count */
	assert_int_equal(pool_conn_get(p, 0), 0);
	assert_int_equal(pool_conn_put(p, 0), 0);
	assert_int_equal(pool_set_up(p, 0, false), 0);
	assert_int_equal(pool_conn_get(p, 0), 0);
	assert_int_equal(pool_conns(p, 0), 1);
	assert_int_equal(pool_pick(p, NULL), 2);
	/* a retry after 2 failed goes to the loaded one */
	pool_set_add(&ex, 2);
	assert_int_equal(pick_ex(p, &ex), 1);
	pool_set_add(&ex, 1);
	assert_int_equal(pick_ex(p, &ex), -EHOSTUNREACH);
	assert_int_equal(pool_set_up(p, 0, true), 0);
	assert_int_equal(pick_ex(p, &ex), 0);
	/* 0 and 2 now tie at 2 with one more; 0 just had its turn */
	assert_int_equal(pool_pick(p, NULL), 2);
	pool_free(p);
}

static void test_lc_weight_zero(void **state)
{
	static const uint32_t w[] = {0, 2};
	struct pool *p = mk(POOL_LEASTCONN, NULL, 2, w);

	(void)state;
	for (int k = 0; k < 10; k++) {
		assert_int_equal(pool_pick(p, NULL), 1);
		assert_int_equal(pool_conn_get(p, 1), 0);
	}
	assert_int_equal(pool_conns(p, 0), 0);
	pool_free(p);
}

/* ------------------------------------------------------------------ */
/* source hashing                                                      */

static void test_src_matches_maglev(void **state)
{
	static const uint32_t w[] = {1, 2, 3, 0, 1};
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 5, w);
	uint32_t size = pool_table_size(p);
	uint32_t *t = ref_table(5, size);

	(void)state;
	prng_state = 11;
	for (int k = 0; k < 2000; k++) {
		uint32_t addr = (uint32_t)prng();
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
		unsigned char b[16];

		v4_bytes(addr, b);
		assert_int_equal(pick_v4(p, addr, NULL), ref_pick(t, size, b, 16));
		for (int j = 0; j < 16; j++)
			a6.sin6_addr.s6_addr[j] = (unsigned char)prng();
		assert_int_equal(pick_src(p, &a6, NULL),
				 ref_pick(t, size, a6.sin6_addr.s6_addr, 16));
	}
	free(t);
	pool_free(p);
}

static void test_src_sticky_port_ignored(void **state)
{
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 8, NULL);
	bool seen[8] = {false};
	int distinct = 0;

	(void)state;
	for (uint32_t host = 1; host <= 64; host++) {
		uint32_t addr = 0xc6336400 + host; /* 198.51.100.x */
		int first = pick_v4(p, addr, NULL);

		assert_true(first >= 0 && first < 8);
		distinct += !seen[first];
		seen[first] = true;
		for (uint32_t port = 1; port < 65536; port += 997) {
			struct sockaddr_in a = sin4(addr, (uint16_t)port);

			assert_int_equal(pick_src(p, &a, NULL), first);
		}
	}
	/* and it really is hashing: 64 clients do not share one backend */
	assert_true(distinct >= 6);
	pool_free(p);
}

static void test_src_v4_mapped(void **state)
{
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 16, NULL);
	int differ = 0;

	(void)state;
	prng_state = 3;
	for (int k = 0; k < 1000; k++) {
		uint32_t addr = (uint32_t)prng();
		struct sockaddr_in a4 = sin4(addr, 1234);
		struct sockaddr_in6 a6 = sin6_mapped(addr, 4321);
		/* 2001:db8::a.b.c.d is another address entirely */
		struct sockaddr_in6 other = a6;

		other.sin6_addr.s6_addr[0] = 0x20;
		other.sin6_addr.s6_addr[1] = 0x01;
		other.sin6_addr.s6_addr[2] = 0x0d;
		other.sin6_addr.s6_addr[3] = 0xb8;
		other.sin6_addr.s6_addr[10] = other.sin6_addr.s6_addr[11] = 0;
		assert_int_equal(pick_src(p, &a4, NULL), pick_src(p, &a6, NULL));
		differ += pick_src(p, &other, NULL) != pick_src(p, &a4, NULL);
	}
	/* 15/16 of them would differ by chance */
	assert_true(differ > 850);
	pool_free(p);
}

/* 10k clients land within 2 percentage points of the weight shares. */
static void test_src_spread(void **state)
{
	static const uint32_t w[] = {1, 2, 3, 4, 0, 10};
	const size_t n = ARRAY_SIZE(w);
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, n, w);
	uint32_t got[ARRAY_SIZE(w)] = {0};

	(void)state;
	prng_state = 99;
	for (int k = 0; k < NCLIENTS; k++) {
		int i = pick_v4(p, (uint32_t)prng(), NULL);

		assert_true(i >= 0 && (size_t)i < n);
		got[i]++;
	}
	for (size_t i = 0; i < n; i++) {
		double share = (double)got[i] / NCLIENTS, want = w[i] / 20.0;

		if (share < want - 0.02 || share > want + 0.02)
			fail_msg("backend %zu weight %u: %.3f of clients, want %.3f", i, w[i],
				 share, want);
	}
	assert_int_equal(got[4], 0);
	pool_free(p);
}

/*
 * One of N down: only its clients move, spread over the rest; back up,
 * every client is home again.
 */
static void test_src_down_moves_only_its_keys(void **state)
{
	enum { N = 10, DOWN = 3 };
	static int before[NCLIENTS];
	static uint32_t addr[NCLIENTS];
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, N, NULL);
	uint32_t moved_to[N] = {0};
	uint32_t moved = 0;

	(void)state;
	prng_state = 5;
	for (int k = 0; k < NCLIENTS; k++) {
		addr[k] = (uint32_t)prng();
		before[k] = pick_v4(p, addr[k], NULL);
		assert_true(before[k] >= 0);
	}
	assert_int_equal(pool_set_up(p, DOWN, false), 0);
	for (int k = 0; k < NCLIENTS; k++) {
		int now = pick_v4(p, addr[k], NULL);

		assert_true(now >= 0 && now != DOWN);
		if (before[k] == DOWN) {
			moved++;
			moved_to[now]++;
		} else {
			assert_int_equal(now, before[k]);
		}
	}
	assert_true(moved <= NCLIENTS / N + NCLIENTS / 100);
	assert_true(moved >= NCLIENTS / N - NCLIENTS / 100);
	/* about moved / 9 each: no neighbour takes them all */
	for (int i = 0; i < N; i++) {
		if (i == DOWN)
			continue;
		if (moved_to[i] < moved / (N - 1) / 2 || moved_to[i] > moved / (N - 1) * 3 / 2)
			fail_msg("backend %d took %u of %u moved clients", i, moved_to[i], moved);
	}
	assert_int_equal(pool_set_up(p, DOWN, true), 0);
	for (int k = 0; k < NCLIENTS; k++)
		assert_int_equal(pick_v4(p, addr[k], NULL), before[k]);
	pool_free(p);
}

/* The probe past a down backend follows the documented formula exactly. */
static void test_src_probe_formula(void **state)
{
	enum { N = 12 };
	static const uint32_t w[N] = {1, 2, 3, 1, 2, 3, 0, 1, 2, 3, 1, 2};
	struct pool *p = mk_sized(POOL_HASH_SOURCE, NULL, N, w, 1031);
	uint32_t *t = ref_table(N, 1031);
	bool up[N];

	(void)state;
	prng_state = 13;
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < N; i++) {
			up[i] = prng() % 3 != 0;
			assert_int_equal(pool_set_up(p, i, up[i]), 0);
		}
		up[round % N] = true; /* at least one, usually */
		assert_int_equal(pool_set_up(p, round % N, true), 0);
		for (int k = 0; k < 200; k++) {
			uint32_t addr = (uint32_t)prng();
			unsigned char b[16];
			int want;

			v4_bytes(addr, b);
			want = ref_probe(t, 1031, pool_hash(b, 16), up);
			assert_int_equal(pick_v4(p, addr, NULL), want < 0 ? -EHOSTUNREACH : want);
		}
	}
	free(t);
	pool_free(p);
}

/* A retry excluding the first choice lands where "first choice down" would. */
static void test_src_exclude(void **state)
{
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 6, NULL);

	(void)state;
	prng_state = 17;
	for (int k = 0; k < 500; k++) {
		uint32_t addr = (uint32_t)prng();
		struct pool_set ex = {0};
		int first = pick_v4(p, addr, NULL), second, third;

		pool_set_add(&ex, (size_t)first);
		second = pick_v4(p, addr, &ex);
		assert_true(second >= 0 && second != first);
		assert_int_equal(pick_v4(p, addr, &ex), second); /* deterministic */
		assert_int_equal(pool_set_up(p, (size_t)first, false), 0);
		assert_int_equal(pick_v4(p, addr, NULL), second);
		assert_int_equal(pool_set_up(p, (size_t)first, true), 0);
		pool_set_add(&ex, (size_t)second);
		third = pick_v4(p, addr, &ex);
		assert_true(third >= 0 && third != first && third != second);
		/* the tried set decides, not the order they were tried in */
		assert_int_equal(pool_set_up(p, (size_t)first, false), 0);
		assert_int_equal(pool_set_up(p, (size_t)second, false), 0);
		assert_int_equal(pick_v4(p, addr, NULL), third);
		assert_int_equal(pool_set_up(p, (size_t)first, true), 0);
		assert_int_equal(pool_set_up(p, (size_t)second, true), 0);
	}
	/* everything tried */
	{
		struct pool_set ex = {0};

		for (size_t i = 0; i < 6; i++)
			pool_set_add(&ex, i);
		assert_int_equal(pick_v4(p, 0x01020304, &ex), -EHOSTUNREACH);
	}
	pool_free(p);
}

static void test_src_down_and_disabled(void **state)
{
	static const uint32_t w[] = {1, 0, 1, 1};
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 4, w);

	(void)state;
	prng_state = 23;
	assert_int_equal(pool_set_up(p, 0, false), 0);
	assert_int_equal(pool_set_up(p, 2, false), 0);
	/* one eligible backend left: every client, even with 1 of 1021 slots... */
	for (int k = 0; k < 200; k++)
		assert_int_equal(pick_v4(p, (uint32_t)prng(), NULL), 3);
	assert_int_equal(pool_set_up(p, 3, false), 0);
	for (int k = 0; k < 20; k++)
		assert_int_equal(pick_v4(p, (uint32_t)prng(), NULL), -EHOSTUNREACH);
	pool_free(p);
}

/* A weighted backend with a single slot is still found by every probe. */
static void test_src_probe_finds_last_slot(void **state)
{
	static uint32_t w[POOL_MAX_BACKENDS];
	struct pool *p;

	(void)state;
	for (size_t i = 0; i < POOL_MAX_BACKENDS; i++)
		w[i] = i == 77 ? 1 : POOL_WEIGHT_MAX;
	/* 257 slots, 256 backends, weight 1 of ~65000: backend 77 owns one slot */
	p = mk_sized(POOL_HASH_SOURCE, NULL, POOL_MAX_BACKENDS, w, 257);
	for (size_t i = 0; i < POOL_MAX_BACKENDS; i++)
		if (i != 77)
			assert_int_equal(pool_set_up(p, i, false), 0);
	prng_state = 29;
	for (int k = 0; k < 500; k++)
		assert_int_equal(pick_v4(p, (uint32_t)prng(), NULL), 77);
	pool_free(p);
}

/* Array order and indexes do not change which key a client goes to. */
static void test_src_order_independent(void **state)
{
	static const uint32_t w[] = {1, 2, 3, 4, 5};
	struct pool_backend_spec rev[5];
	struct pool_spec s = {.algo = POOL_HASH_SOURCE, .backends = rev, .n = 5};
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 5, w), *q;

	(void)state;
	for (size_t i = 0; i < 5; i++)
		rev[i] = specs[4 - i];
	q = pool_new(&s, NULL, 0);
	assert_non_null(q);
	assert_int_equal(pool_set_up(p, 1, false), 0);
	assert_int_equal(pool_set_up(q, 3, false), 0);
	prng_state = 31;
	for (int k = 0; k < 2000; k++) {
		uint32_t addr = (uint32_t)prng();
		int a = pick_v4(p, addr, NULL), b = pick_v4(q, addr, NULL);

		assert_true(a >= 0 && b >= 0);
		assert_string_equal(pool_key(p, (size_t)a), pool_key(q, (size_t)b));
	}
	pool_free(q);
	pool_free(p);
}

/* Not an IP client (or none): round robin, as without a header. */
static void test_src_no_ip_falls_back(void **state)
{
	static const uint32_t w[] = {5, 1, 1};
	static const int want[] = {0, 0, 1, 0, 2, 0, 0};
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 3, w);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct pool_set ex = {0};

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(want); k++)
		assert_int_equal(pick_src(p, k % 2 ? (const void *)&un : NULL, NULL), want[k]);
	pool_set_add(&ex, 0);
	for (int k = 0; k < 6; k++)
		assert_int_equal(pick_src(p, NULL, &ex), k % 2 ? 2 : 1);
	pool_free(p);
}

/* ------------------------------------------------------------------ */
/* header and cookie hashing                                           */

#define REQ(fields) "GET /x HTTP/1.1\r\nHost: example.com\r\n" fields "\r\n"

static void test_hdr_matches_hash(void **state)
{
	static const char *const users[] = {"alice", "bob",    "carol", "dave",
					    "Alice", "alice ", "x"};
	struct pool *p = mk(POOL_HASH_HEADER, "X-User", 7, NULL);
	uint32_t size = pool_table_size(p);
	uint32_t *t = ref_table(7, size);
	char req[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		const char *u = users[i];
		size_t len = strlen(u);

		/* the parser trims OWS: "alice " hashes as "alice" */
		while (len && u[len - 1] == ' ')
			len--;
		snprintf(req, sizeof(req), REQ("X-User: %s\r\n"), u);
		assert_int_equal(pick_msg(p, req, NULL), ref_pick(t, size, u, len));
		/* the field name is case-insensitive, OWS around the value does not count */
		snprintf(req, sizeof(req), REQ("x-uSER:\t  %s \t\r\n"), u);
		assert_int_equal(pick_msg(p, req, NULL), ref_pick(t, size, u, len));
	}
	free(t);
	pool_free(p);
}

/* Values are bytes: case and inner whitespace count; the first field decides. */
static void test_hdr_exact_value(void **state)
{
	struct pool *p = mk(POOL_HASH_HEADER, "X-User", 50, NULL);
	uint32_t size = pool_table_size(p);
	uint32_t *t = ref_table(50, size);
	int differ = 0;
	char req[256];

	(void)state;
	for (int k = 0; k < 100; k++) {
		char v[16];
		int a, b;

		snprintf(v, sizeof(v), "user%d", k);
		snprintf(req, sizeof(req), REQ("X-User: %s\r\n"), v);
		a = pick_msg(p, req, NULL);
		v[0] = 'U';
		snprintf(req, sizeof(req), REQ("X-User: %s\r\n"), v);
		b = pick_msg(p, req, NULL);
		differ += a != b;
	}
	assert_true(differ > 80); /* 49/50 by chance */
	/* a comma list is one value, and only the first field counts */
	assert_int_equal(pick_msg(p, REQ("X-User: a, b\r\nX-User: c\r\n"), NULL),
			 ref_pick(t, size, "a, b", 4));
	assert_int_equal(pick_msg(p, REQ("X-User: c\r\nX-User: a, b\r\n"), NULL),
			 ref_pick(t, size, "c", 1));
	/* a field whose name merely starts with the name is not it */
	assert_int_equal(pick_msg(p, REQ("X-User-Id: q\r\nX-User: z\r\n"), NULL),
			 ref_pick(t, size, "z", 1));
	free(t);
	pool_free(p);
}

static void test_hdr_missing_falls_back(void **state)
{
	static const uint32_t w[] = {5, 1, 1};
	static const int want[] = {0, 0, 1, 0, 2, 0, 0};
	static const char *const reqs[] = {
	    REQ(""),
	    REQ("X-Userx: a\r\n"),
	    REQ("X-Use: a\r\n"),
	    REQ("X-User:\r\n"),
	    REQ("X-User:   \r\n"),
	    NULL, /* TCP mode */
	    REQ("Cookie: X-User=a\r\n"),
	};
	struct pool *p = mk(POOL_HASH_HEADER, "X-User", 3, w);
	struct pool_pick_ctx tcp = {0};
	int hashed;

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(want); k++) {
		if (reqs[k])
			assert_int_equal(pick_msg(p, reqs[k], NULL), want[k]);
		else
			assert_int_equal(pool_pick(p, &tcp), want[k]);
	}
	/* hashed picks do not disturb the round robin in between */
	hashed = pick_msg(p, REQ("X-User: a\r\n"), NULL);
	assert_true(hashed >= 0);
	for (int round = 0; round < 3; round++) {
		for (size_t k = 0; k < ARRAY_SIZE(want); k++) {
			assert_int_equal(pick_msg(p, REQ(""), NULL), want[k]);
			assert_int_equal(pick_msg(p, REQ("X-User: a\r\n"), NULL), hashed);
		}
	}
	/* a message without its buffer is no message */
	tcp.m = &msg;
	assert_true(pool_pick(p, &tcp) >= 0);
	pool_free(p);
}

static void test_hdr_down_and_exclude(void **state)
{
	struct pool *p = mk(POOL_HASH_HEADER, "X-User", 4, NULL);
	struct pool_set ex = {0};
	int first, second;

	(void)state;
	first = pick_msg(p, REQ("X-User: alice\r\n"), NULL);
	pool_set_add(&ex, (size_t)first);
	second = pick_msg(p, REQ("X-User: alice\r\n"), &ex);
	assert_true(second >= 0 && second != first);
	assert_int_equal(pool_set_up(p, (size_t)first, false), 0);
	assert_int_equal(pick_msg(p, REQ("X-User: alice\r\n"), NULL), second);
	for (size_t i = 0; i < 4; i++)
		pool_set_add(&ex, i);
	assert_int_equal(pick_msg(p, REQ("X-User: alice\r\n"), &ex), -EHOSTUNREACH);
	/* round robin fallback honours exclusions and health too */
	assert_int_equal(pick_msg(p, REQ(""), &ex), -EHOSTUNREACH);
	memset(&ex, 0, sizeof(ex));
	for (int k = 0; k < 12; k++)
		assert_int_not_equal(pick_msg(p, REQ(""), &ex), first);
	pool_free(p);
}

/* Cookie pool: the value of cookie "sid" decides, compared to the hash of the value. */
struct cookie_case {
	const char *fields; /* request fields */
	const char *value;  /* the value hashed; NULL = round robin */
};

static void test_cookie_parse(void **state)
{
	static const struct cookie_case cases[] = {
	    {"Cookie: sid=abc\r\n", "abc"},
	    {"Cookie: a=1; sid=abc; b=2\r\n", "abc"},
	    {"Cookie: a=1;sid=abc;b=2\r\n", "abc"},
	    {"Cookie: a=1 ;  sid = abc  ; b=2\r\n", "abc"},
	    {"Cookie: a=1;\tsid\t=\tabc\r\n", "abc"},
	    {"Cookie:    sid=abc   \r\n", "abc"},
	    {"cookie: sid=abc\r\n", "abc"},
	    {"COOKIE: sid=abc\r\n", "abc"},
	    {"Cookie: sid=\"abc\"\r\n", "abc"},
	    {"Cookie: sid = \"abc\" ; x=1\r\n", "abc"},
	    {"Cookie: sid=\"a b\"\r\n", "a b"},
	    {"Cookie: sid=\"abc\r\n", "\"abc"}, /* unbalanced: taken as is */
	    {"Cookie: sid=abc\"\r\n", "abc\""},
	    {"Cookie: sid=\"\"x\r\n", "\"\"x"},
	    {"Cookie: sid=dGVzdA==\r\n", "dGVzdA=="}, /* '=' in the value */
	    {"Cookie: sid=a=b; c=d\r\n", "a=b"},
	    {"Cookie: sid=a,b\r\n", "a,b"}, /* ',' does not split Cookie */
	    {"Cookie: a=1\r\nCookie: sid=two\r\n", "two"},
	    {"Cookie: a=1\r\nX-Other: y\r\nCookie: b=2; sid=three\r\n", "three"},
	    {"Cookie: sid=first\r\nCookie: sid=second\r\n", "first"},
	    {"Cookie: sid=first; sid=second\r\n", "first"},
	    {"Cookie: nosuch\r\nCookie: sid=x\r\n", "x"},
	    {"Cookie: ; ;sid=x;;\r\n", "x"},
	    {"Cookie: flag; sid=x\r\n", "x"},
	    /* prefix and suffix traps */
	    {"Cookie: xsession=1; sid2=2; sidx=3; s=4\r\n", NULL},
	    {"Cookie: xsid=1\r\n", NULL},
	    {"Cookie: sid2=1\r\n", NULL},
	    {"Cookie: a=sid=5\r\n", NULL},
	    {"Cookie: a=\"sid=5\"\r\n", NULL},
	    {"Cookie: x sid=5\r\n", NULL},
	    {"Cookie: SID=5\r\n", NULL}, /* cookie names are case-sensitive */
	    {"Cookie: Sid=5; sid=6\r\n", "6"},
	    {"Cookie: xsid=1; sid=real\r\n", "real"},
	    /* missing or empty */
	    {"", NULL},
	    {"Cookie: \r\n", NULL},
	    {"Cookie: sid\r\n", NULL},
	    {"Cookie: sid=\r\n", NULL},
	    {"Cookie: sid=  ; a=1\r\n", NULL},
	    {"Cookie: sid=\"\"\r\n", NULL},
	    {"Cookie: sid=; sid=late\r\n", NULL}, /* the first one decides */
	    {"Set-Cookie: sid=abc\r\n", NULL},
	    {"X-Cookie: sid=abc\r\n", NULL},
	    {"Cookie2: sid=abc\r\n", NULL},
	};
	static const uint32_t w[] = {5, 1, 1};
	static const int rr[] = {0, 0, 1, 0, 2, 0, 0};
	struct pool *p = mk(POOL_HASH_COOKIE, "sid", 3, w);
	uint32_t size = pool_table_size(p);
	uint32_t *t = ref_table(3, size);
	size_t nrr = 0;
	char req[512];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		int got, want;

		snprintf(req, sizeof(req), REQ("%s"), cases[k].fields);
		got = pick_msg(p, req, NULL);
		if (cases[k].value)
			want = ref_pick(t, size, cases[k].value, strlen(cases[k].value));
		else
			want = rr[nrr++ % ARRAY_SIZE(rr)]; /* only fallbacks advance it */
		if (got != want)
			fail_msg("case %zu (%s): got %d, want %d", k, cases[k].fields, got, want);
	}
	free(t);
	pool_free(p);
}

/* The cookie value, not the pair or the field, is what is hashed: many backends tell. */
static void test_cookie_value_only(void **state)
{
	struct pool *p = mk(POOL_HASH_COOKIE, "session", 64, NULL);
	uint32_t size = pool_table_size(p);
	uint32_t *t = ref_table(64, size);
	char req[256];
	int same = 0;

	(void)state;
	for (int k = 0; k < 200; k++) {
		char v[32];
		int a, b;

		snprintf(v, sizeof(v), "s%08x", k * 2654435761u);
		snprintf(req, sizeof(req), REQ("Cookie: lang=en; session=%s; theme=dark\r\n"), v);
		a = pick_msg(p, req, NULL);
		assert_int_equal(a, ref_pick(t, size, v, strlen(v)));
		snprintf(req, sizeof(req), REQ("Cookie: theme=light\r\nCookie: session=\"%s\"\r\n"),
			 v);
		b = pick_msg(p, req, NULL);
		assert_int_equal(a, b);
		snprintf(req, sizeof(req), REQ("Cookie: xsession=%s\r\n"), v);
		same += pick_msg(p, req, NULL) == a; /* round robin: by chance only */
	}
	assert_true(same < 20);
	free(t);
	pool_free(p);
}

/* Many clients by cookie spread by weight and move only off a down backend. */
static void test_cookie_spread_and_down(void **state)
{
	static const uint32_t w[] = {2, 1, 1, 4};
	static int before[NCLIENTS];
	struct pool *p = mk(POOL_HASH_COOKIE, "sid", 4, w);
	uint32_t got[4] = {0};
	char req[128];
	uint32_t moved = 0;

	(void)state;
	for (int k = 0; k < NCLIENTS; k++) {
		snprintf(req, sizeof(req), REQ("Cookie: sid=%d\r\n"), k);
		before[k] = pick_msg(p, req, NULL);
		assert_true(before[k] >= 0);
		got[before[k]]++;
	}
	for (int i = 0; i < 4; i++) {
		double share = (double)got[i] / NCLIENTS;

		assert_true(share > w[i] / 8.0 - 0.02 && share < w[i] / 8.0 + 0.02);
	}
	assert_int_equal(pool_set_up(p, 3, false), 0);
	for (int k = 0; k < NCLIENTS; k++) {
		int now;

		snprintf(req, sizeof(req), REQ("Cookie: sid=%d\r\n"), k);
		now = pick_msg(p, req, NULL);
		assert_true(now >= 0 && now != 3);
		if (before[k] == 3)
			moved++;
		else
			assert_int_equal(now, before[k]);
	}
	assert_int_equal(moved, got[3]);
	pool_free(p);
}

/* ------------------------------------------------------------------ */
/* the hash itself                                                     */

/*
 * Pinned values: pool_hash() is wire behaviour (pool.h). If this fails,
 * clients of a mixed-version fleet will be sent to different backends.
 */
static void test_hash_golden(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		uint64_t want;
	} golden[] = {
	    {"", 0, 0x7acdbb98b1344213ull},
	    {"a", 1, 0x18612b028cc836ceull},
	    {"abc", 3, 0xe4b397348045a7abull},
	    {"alice", 5, 0xf61e2231f6531fdfull},
	    {"01234567", 8, 0xe1a76ee96493feb7ull},
	    {"0123456789abcdef", 16, 0xb325fde8caa38ef9ull},
	    {"The quick brown fox jumps over the lazy dog", 43, 0x1000fe5ec953f909ull},
	    {"\0", 1, 0xbe0627ce1831f633ull},
	};
	unsigned char v4[16];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(golden); i++)
		if (pool_hash(golden[i].in, golden[i].len) != golden[i].want)
			fail_msg("pool_hash(\"%s\", %zu) = 0x%016llx", golden[i].in, golden[i].len,
				 (unsigned long long)pool_hash(golden[i].in, golden[i].len));
	v4_bytes(0xc0000201, v4); /* 192.0.2.1 */
	assert_int_equal(pool_hash(v4, 16), 0x9eead75da711e3f0ull);
	assert_int_equal(pool_hash(NULL, 0), pool_hash("", 0));
}

/* And the whole chain: hash, Maglev table, probe. */
static void test_pick_golden(void **state)
{
	static const int want_up[8] = {2, 0, 4, 0, 3, 1, 2, 1};
	static const int want_down[8] = {4, 0, 4, 0, 3, 1, 4, 1};
	struct pool *p = mk(POOL_HASH_SOURCE, NULL, 5, NULL);
	int got[8];

	(void)state;
	for (uint32_t k = 0; k < 8; k++)
		got[k] = pick_v4(p, 0xc0000201 + k, NULL);
	for (uint32_t k = 0; k < 8; k++)
		if (got[k] != want_up[k])
			fail_msg("up: %d %d %d %d %d %d %d %d", got[0], got[1], got[2], got[3],
				 got[4], got[5], got[6], got[7]);
	assert_int_equal(pool_set_up(p, 2, false), 0);
	for (uint32_t k = 0; k < 8; k++)
		got[k] = pick_v4(p, 0xc0000201 + k, NULL);
	for (uint32_t k = 0; k < 8; k++)
		if (got[k] != want_down[k])
			fail_msg("down: %d %d %d %d %d %d %d %d", got[0], got[1], got[2], got[3],
				 got[4], got[5], got[6], got[7]);
	pool_free(p);
}

/* Flipping any input bit flips each output bit about half the time. */
static void test_hash_avalanche(void **state)
{
	static const size_t lens[] = {1, 4, 7, 8, 9, 16, 23};
	uint32_t flips[64];
	uint32_t trials = 0;

	(void)state;
	memset(flips, 0, sizeof(flips));
	prng_state = 41;
	for (size_t l = 0; l < ARRAY_SIZE(lens); l++) {
		for (int rep = 0; rep < 40; rep++) {
			unsigned char in[32];
			uint64_t h0;

			for (size_t i = 0; i < lens[l]; i++)
				in[i] = (unsigned char)prng();
			h0 = pool_hash(in, lens[l]);
			for (size_t bit = 0; bit < lens[l] * 8; bit++) {
				uint64_t d;

				in[bit / 8] ^= (unsigned char)(1u << (bit % 8));
				d = h0 ^ pool_hash(in, lens[l]);
				in[bit / 8] ^= (unsigned char)(1u << (bit % 8));
				for (int o = 0; o < 64; o++)
					flips[o] += (d >> o) & 1;
				trials++;
			}
		}
	}
	for (int o = 0; o < 64; o++) {
		double f = (double)flips[o] / trials;

		if (f < 0.45 || f > 0.55)
			fail_msg("output bit %d flips with p = %.3f", o, f);
	}
	/* length matters: zero bytes are not padding */
	assert_int_not_equal(pool_hash("\0\0", 2), pool_hash("\0", 1));
	assert_int_not_equal(pool_hash("abc\0\0\0\0\0", 8), pool_hash("abc", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_algo_round_trip),
	    cmocka_unit_test(test_algo_parse_rejects),
	    cmocka_unit_test(test_new_null_and_algo),
	    cmocka_unit_test(test_new_backend_count),
	    cmocka_unit_test(test_new_keys),
	    cmocka_unit_test(test_new_weights),
	    cmocka_unit_test(test_new_hash_name),
	    cmocka_unit_test(test_new_table_size),
	    cmocka_unit_test(test_default_table_size),
	    cmocka_unit_test(test_err_buffer),
	    cmocka_unit_test(test_new_copies_spec),
	    cmocka_unit_test(test_null_pool),
	    cmocka_unit_test(test_bad_index),
	    cmocka_unit_test(test_pool_set),
	    cmocka_unit_test(test_rr_nginx_sequence),
	    cmocka_unit_test(test_rr_exact_proportions),
	    cmocka_unit_test(test_rr_matches_nginx),
	    cmocka_unit_test(test_rr_smooth),
	    cmocka_unit_test(test_rr_weight_zero),
	    cmocka_unit_test(test_rr_down_and_back),
	    cmocka_unit_test(test_rr_all_down),
	    cmocka_unit_test(test_rr_exclude),
	    cmocka_unit_test(test_rr_single),
	    cmocka_unit_test(test_lc_fewest),
	    cmocka_unit_test(test_lc_ties_take_turns),
	    cmocka_unit_test(test_lc_weights),
	    cmocka_unit_test(test_lc_weighted_idle),
	    cmocka_unit_test(test_lc_no_underflow),
	    cmocka_unit_test(test_lc_down_exclude),
	    cmocka_unit_test(test_lc_weight_zero),
	    cmocka_unit_test(test_src_matches_maglev),
	    cmocka_unit_test(test_src_sticky_port_ignored),
	    cmocka_unit_test(test_src_v4_mapped),
	    cmocka_unit_test(test_src_spread),
	    cmocka_unit_test(test_src_down_moves_only_its_keys),
	    cmocka_unit_test(test_src_probe_formula),
	    cmocka_unit_test(test_src_exclude),
	    cmocka_unit_test(test_src_down_and_disabled),
	    cmocka_unit_test(test_src_probe_finds_last_slot),
	    cmocka_unit_test(test_src_order_independent),
	    cmocka_unit_test(test_src_no_ip_falls_back),
	    cmocka_unit_test(test_hdr_matches_hash),
	    cmocka_unit_test(test_hdr_exact_value),
	    cmocka_unit_test(test_hdr_missing_falls_back),
	    cmocka_unit_test(test_hdr_down_and_exclude),
	    cmocka_unit_test(test_cookie_parse),
	    cmocka_unit_test(test_cookie_value_only),
	    cmocka_unit_test(test_cookie_spread_and_down),
	    cmocka_unit_test(test_hash_golden),
	    cmocka_unit_test(test_pick_golden),
	    cmocka_unit_test(test_hash_avalanche),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
