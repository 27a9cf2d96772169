// SPDX-License-Identifier: BSD-2-Clause
/*
 * Maglev table tests. Flows are hashed with lb_flow_hash(), the very function
 * bpf/xdp_lb.bpf.c uses, and land on table[hash % size] (the datapath reads
 * the same slot at ring index 1 + hash % size). Flow sets come from a
 * fixed-seed PRNG, so every run sees the same 100,000 flows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdproxy/lb.h"
#include "route/maglev.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NFLOWS	  100000
#define MAX_TEST  64
#define POISON	  0xdeadbeefu
#define SMALL_TBL 13

/* SplitMix64: small, fixed-seed, good enough to make up 5-tuples. */
static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t flow_hash[NFLOWS];

/*
 * Half IPv4, half IPv6 clients with random addresses, ports and protocol,
 * all to one VIP per family: what one VIP's table actually sees.
 */
static int make_flows(void **state)
{
	(void)state;
	prng_state = 42;
	for (size_t i = 0; i < NFLOWS; i++) {
		struct lb_flow f = {0};
		uint64_t r = prng();

		f.proto = (r & 1) ? IPPROTO_TCP : IPPROTO_UDP;
		f.sport = htons(1024 + (uint16_t)((r >> 8) % (65536 - 1024)));
		f.dport = htons((r & 2) ? 443 : 80);
		if (r & 4) {
			f.family = LB_AF_V4;
			f.src[0] = (uint32_t)prng();
			f.dst[0] = htonl(0xc6120010); /* 198.18.0.16 */
		} else {
			f.family = LB_AF_V6;
			for (int k = 0; k < 4; k++)
				f.src[k] = (uint32_t)prng();
			f.dst[0] = htonl(0x20010db8);
			f.dst[3] = htonl(0x10);
		}
		flow_hash[i] = lb_flow_hash(&f);
	}
	return 0;
}

/* reals[i] gets key "198.18.2.<i+2>:80", id i + 1 and weights[i] (1 if NULL). */
static char keys[MAX_TEST][32];

static void make_reals(struct maglev_real *reals, size_t n, const uint32_t *weights)
{
	assert_true(n <= MAX_TEST);
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "198.18.2.%zu:80", i + 2);
		reals[i] = (struct maglev_real){
		    .id = (uint32_t)i + 1,
		    .weight = weights ? weights[i] : 1,
		    .key = keys[i],
		};
	}
}

static uint32_t *build(const struct maglev_real *reals, size_t n, uint32_t size)
{
	uint32_t *table = malloc(size * sizeof(*table));

	assert_non_null(table);
	assert_int_equal(maglev_build(reals, n, size, table), 0);
	return table;
}

/* Index into reals of the real with this id; fails the test if none. */
static size_t real_of(const struct maglev_real *reals, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (reals[i].id == id)
			return i;
	fail_msg("slot holds unknown id %u", id);
	return 0;
}

static void count_slots(const struct maglev_real *reals, size_t n, const uint32_t *table,
			uint32_t size, uint64_t *slots)
{
	memset(slots, 0, n * sizeof(*slots));
	for (uint32_t s = 0; s < size; s++)
		slots[real_of(reals, n, table[s])]++;
}

/*
 * Slots per real honour the contract in maglev.h: with q the exact share,
 * q * (1 - nw / size) < slots < q + 1, and slots >= 1 for a weighted real.
 */
static void check_slot_shares(const struct maglev_real *reals, size_t n, const uint32_t *table,
			      uint32_t size)
{
	uint64_t slots[MAX_TEST];
	double total = 0;
	size_t nw = 0;

	count_slots(reals, n, table, size, slots);
	for (size_t i = 0; i < n; i++) {
		total += reals[i].weight;
		nw += reals[i].weight > 0;
	}
	for (size_t i = 0; i < n; i++) {
		double q = size * (reals[i].weight / total);

		if (!reals[i].weight) {
			assert_int_equal(slots[i], 0);
			continue;
		}
		assert_true(slots[i] >= 1);
		if (!((double)slots[i] < q + 1 && (double)slots[i] > q * (1 - (double)nw / size)))
			fail_msg("real %zu weight %u: %" PRIu64 " slots, exact share %.2f", i,
				 reals[i].weight, slots[i], q);
	}
}

/* Largest relative deviation of any real's flow share from its weight share. */
static double flow_spread(const struct maglev_real *reals, size_t n, const uint32_t *table,
			  uint32_t size)
{
	uint64_t flows[MAX_TEST] = {0};
	double total = 0, worst = 0;

	for (size_t i = 0; i < NFLOWS; i++)
		flows[real_of(reals, n, table[flow_hash[i] % size])]++;
	for (size_t i = 0; i < n; i++)
		total += reals[i].weight;
	for (size_t i = 0; i < n; i++) {
		double want = NFLOWS * (reals[i].weight / total);
		double dev = ((double)flows[i] - want) / want;

		if (dev < 0)
			dev = -dev;
		if (dev > worst)
			worst = dev;
	}
	return worst;
}

/* 1. Flows spread within 5 % of each real's weight share. */
static void test_spread(void **state)
{
	static const uint32_t equal3[] = {1, 1, 1};
	static const uint32_t w112[] = {1, 1, 2};
	static const uint32_t mixed10[] = {1, 2, 3, 4, 1, 2, 3, 4, 2, 3};
	static const struct {
		const uint32_t *w;
		size_t n;
	} sets[] = {
	    {equal3, ARRAY_SIZE(equal3)},
	    {w112, ARRAY_SIZE(w112)},
	    {mixed10, ARRAY_SIZE(mixed10)},
	};
	struct maglev_real reals[MAX_TEST];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
		uint32_t *table;
		double dev;

		make_reals(reals, sets[k].n, sets[k].w);
		table = build(reals, sets[k].n, LB_RING_DEFAULT);
		check_slot_shares(reals, sets[k].n, table, LB_RING_DEFAULT);
		dev = flow_spread(reals, sets[k].n, table, LB_RING_DEFAULT);
		print_message("spread set %zu: worst flow share off by %.2f %%\n", k, dev * 100);
		assert_true(dev <= 0.05);
		free(table);
	}
}

/* Slot shares stay within the contract however lopsided the weights. */
static void test_extreme_weights(void **state)
{
	static const uint32_t lopsided[] = {1, UINT32_MAX};
	static const uint32_t one_heavy[] = {1000, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	static const uint32_t ramp[] = {1,  2,	3,  4,	5,  6,	7,  8,	9,  10, 11,
					12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	static const struct {
		const uint32_t *w;
		size_t n;
	} sets[] = {
	    {lopsided, ARRAY_SIZE(lopsided)},
	    {one_heavy, ARRAY_SIZE(one_heavy)},
	    {ramp, ARRAY_SIZE(ramp)},
	};
	static const uint32_t sizes[] = {251, LB_RING_DEFAULT};
	struct maglev_real reals[MAX_TEST];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			uint32_t *table;

			make_reals(reals, sets[k].n, sets[k].w);
			table = build(reals, sets[k].n, sizes[s]);
			check_slot_shares(reals, sets[k].n, table, sizes[s]);
			free(table);
		}
	}
}

/* Fraction of flows whose real differs between two tables (ids name the same reals). */
static double remapped(const uint32_t *a, const uint32_t *b, uint32_t size)
{
	size_t moved = 0;

	for (size_t i = 0; i < NFLOWS; i++)
		moved += a[flow_hash[i] % size] != b[flow_hash[i] % size];
	return (double)moved / NFLOWS;
}

/* 2. Removing one of N reals moves at most 1/N + 1 % of the flows. */
static void test_remove_one(void **state)
{
	static const size_t ns[] = {3, 5, 10, 20};
	struct maglev_real reals[MAX_TEST], fewer[MAX_TEST];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
		size_t n = ns[k];
		uint32_t *full;
		double worst = 0;

		make_reals(reals, n, NULL);
		full = build(reals, n, LB_RING_DEFAULT);
		for (size_t gone = 0; gone < n; gone++) {
			uint32_t *less;
			double frac;
			size_t m = 0;

			for (size_t i = 0; i < n; i++)
				if (i != gone)
					fewer[m++] = reals[i];
			less = build(fewer, m, LB_RING_DEFAULT);
			/* every slot of the removed real went to someone else */
			for (uint32_t s = 0; s < LB_RING_DEFAULT; s++)
				assert_int_not_equal(less[s], reals[gone].id);
			frac = remapped(full, less, LB_RING_DEFAULT);
			if (frac > worst)
				worst = frac;
			if (frac > 1.0 / n + 0.01)
				fail_msg("N=%zu, removing %zu moved %.2f %% of flows", n, gone,
					 frac * 100);
			free(less);
		}
		print_message("remove 1 of %zu: worst %.2f %% of flows moved (1/N = %.2f %%)\n", n,
			      worst * 100, 100.0 / n);
		free(full);
	}
}

/* Draining (weight 0) and removing give the same table: weight 0 = not in it. */
static void test_drain_equals_remove(void **state)
{
	static const uint32_t w[] = {3, 1, 0, 2, 5, 1};
	struct maglev_real reals[MAX_TEST], fewer[MAX_TEST];
	uint32_t *drained, *removed;
	size_t m = 0;

	(void)state;
	make_reals(reals, ARRAY_SIZE(w), w);
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		if (w[i])
			fewer[m++] = reals[i];
	drained = build(reals, ARRAY_SIZE(w), LB_RING_DEFAULT);
	removed = build(fewer, m, LB_RING_DEFAULT);
	assert_memory_equal(drained, removed, LB_RING_DEFAULT * sizeof(*drained));
	free(drained);
	free(removed);
}

/* 3. Same config, any array order, any ids: the same real for every slot. */
static void test_order_and_ids_do_not_matter(void **state)
{
	static const uint32_t w[] = {1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 0, 7};
	const size_t n = ARRAY_SIZE(w);
	struct maglev_real reals[MAX_TEST], shuffled[MAX_TEST];
	uint32_t *a, *b;

	(void)state;
	make_reals(reals, n, w);
	a = build(reals, n, LB_RING_DEFAULT);
	prng_state = 7;
	for (int round = 0; round < 5; round++) {
		memcpy(shuffled, reals, n * sizeof(*reals));
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = prng() % (i + 1);
			struct maglev_real t = shuffled[i];

			shuffled[i] = shuffled[j];
			shuffled[j] = t;
		}
		/* same ids, other order: byte-identical tables */
		b = build(shuffled, n, LB_RING_DEFAULT);
		assert_memory_equal(a, b, LB_RING_DEFAULT * sizeof(*a));
		free(b);

		/* other ids too, as another node may hand them out: compare by key */
		for (size_t i = 0; i < n; i++)
			shuffled[i].id = LB_MAX_REALS - 1 - (uint32_t)i * 37 - round;
		b = build(shuffled, n, LB_RING_DEFAULT);
		for (uint32_t s = 0; s < LB_RING_DEFAULT; s++) {
			const char *ka = reals[real_of(reals, n, a[s])].key;
			const char *kb = shuffled[real_of(shuffled, n, b[s])].key;

			assert_string_equal(ka, kb);
		}
		free(b);
	}
	free(a);
}

/* FNV-1a 64 over a table, to pin a large one in a few bytes. */
static uint64_t table_digest(const uint32_t *table, uint32_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t s = 0; s < size; s++) {
		for (int b = 0; b < 32; b += 8) {
			h ^= (table[s] >> b) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return h;
}

/*
 * The table is part of the wire behaviour: LB nodes running different
 * versions must agree. A change of key hash, offset/skip derivation or turn
 * order shows up here; if it must change, say so in the release notes.
 */
static void test_golden_table(void **state)
{
	static const uint32_t w[] = {1, 2, 1};
	static const uint32_t want[SMALL_TBL] = {3, 2, 1, 3, 2, 2, 1, 2, 2, 3, 2, 1, 1};
	static const uint32_t w10[] = {1, 2, 3, 4, 1, 2, 3, 4, 2, 3};
	struct maglev_real reals[MAX_TEST];
	uint32_t table[SMALL_TBL];
	uint32_t *big;

	(void)state;
	make_reals(reals, 3, w);
	assert_int_equal(maglev_build(reals, 3, SMALL_TBL, table), 0);
	assert_memory_equal(table, want, sizeof(table));

	make_reals(reals, ARRAY_SIZE(w10), w10);
	big = build(reals, ARRAY_SIZE(w10), LB_RING_DEFAULT);
	assert_true(table_digest(big, LB_RING_DEFAULT) == 0xc19bcab901245e38ull);
	free(big);
}

/* 4. Weight 0 owns nothing; nothing weighted leaves every slot 0. */
static void test_zero_weights(void **state)
{
	static const uint32_t some[] = {2, 0, 1, 0};
	static const uint32_t none[] = {0, 0, 0};
	struct maglev_real reals[MAX_TEST];
	uint32_t *table;

	(void)state;
	make_reals(reals, ARRAY_SIZE(some), some);
	table = build(reals, ARRAY_SIZE(some), LB_RING_DEFAULT);
	for (uint32_t s = 0; s < LB_RING_DEFAULT; s++) {
		assert_true(table[s] == reals[0].id || table[s] == reals[2].id);
	}
	check_slot_shares(reals, ARRAY_SIZE(some), table, LB_RING_DEFAULT);

	make_reals(reals, ARRAY_SIZE(none), none);
	memset(table, 0xaa, LB_RING_DEFAULT * sizeof(*table));
	assert_int_equal(maglev_build(reals, ARRAY_SIZE(none), LB_RING_DEFAULT, table), 0);
	for (uint32_t s = 0; s < LB_RING_DEFAULT; s++)
		assert_int_equal(table[s], 0);

	memset(table, 0xaa, LB_RING_DEFAULT * sizeof(*table));
	assert_int_equal(maglev_build(NULL, 0, LB_RING_DEFAULT, table), 0);
	for (uint32_t s = 0; s < LB_RING_DEFAULT; s++)
		assert_int_equal(table[s], 0);

	memset(table, 0xaa, LB_RING_DEFAULT * sizeof(*table));
	assert_int_equal(maglev_build(reals, 0, LB_RING_DEFAULT, table), 0);
	for (uint32_t s = 0; s < LB_RING_DEFAULT; s++)
		assert_int_equal(table[s], 0);
	free(table);
}

static void assert_untouched(const uint32_t *table, uint32_t size)
{
	for (uint32_t s = 0; s < size; s++)
		assert_int_equal(table[s], POISON);
}

/* Expect -EINVAL and the table as it was. */
static void expect_einval(const struct maglev_real *reals, size_t n, uint32_t size)
{
	uint32_t table[SMALL_TBL];

	for (size_t s = 0; s < SMALL_TBL; s++)
		table[s] = POISON;
	assert_int_equal(maglev_build(reals, n, size, table), -EINVAL);
	assert_untouched(table, SMALL_TBL);
}

/* 5. Bad input is refused before the table is touched. */
static void test_bad_input(void **state)
{
	struct maglev_real reals[4], bad[4];
	uint32_t table[SMALL_TBL];
	uint32_t *big;
	const uint32_t too_big = 1048583; /* the next prime after LB_RING_MAX */

	(void)state;
	make_reals(reals, 4, NULL);

	/* sizes: 0, 1, primes below the minimum, composites */
	expect_einval(reals, 4, 0);
	expect_einval(reals, 4, 1);
	expect_einval(reals, 4, 2);
	expect_einval(reals, 4, 5);
	expect_einval(reals, 4, 9);
	expect_einval(reals, 4, 12);
	expect_einval(reals, 4, 65536);
	expect_einval(reals, 4, 65535);
	expect_einval(reals, 4, UINT32_MAX);
	big = malloc(too_big * sizeof(*big));
	assert_non_null(big);
	for (uint32_t s = 0; s < too_big; s++)
		big[s] = POISON;
	assert_int_equal(maglev_build(reals, 4, too_big, big), -EINVAL);
	assert_untouched(big, too_big);
	free(big);

	/* NULL pointers */
	assert_int_equal(maglev_build(reals, 4, SMALL_TBL, NULL), -EINVAL);
	expect_einval(NULL, 4, SMALL_TBL);

	/* duplicate key, even on a draining real */
	memcpy(bad, reals, sizeof(bad));
	bad[3].key = "198.18.2.2:80";
	expect_einval(bad, 4, SMALL_TBL);
	bad[3].weight = 0;
	expect_einval(bad, 4, SMALL_TBL);

	/* keys must be named */
	memcpy(bad, reals, sizeof(bad));
	bad[2].key = NULL;
	expect_einval(bad, 4, SMALL_TBL);
	bad[2].key = "";
	expect_einval(bad, 4, SMALL_TBL);

	/* ids: 0 reads as "none", LB_MAX_REALS is out of range, no id twice */
	memcpy(bad, reals, sizeof(bad));
	bad[1].id = 0;
	expect_einval(bad, 4, SMALL_TBL);
	bad[1].id = LB_MAX_REALS;
	expect_einval(bad, 4, SMALL_TBL);
	bad[1].id = bad[3].id;
	expect_einval(bad, 4, SMALL_TBL);
	bad[1].weight = 0;
	expect_einval(bad, 4, SMALL_TBL);

	/* the same calls with good input succeed */
	bad[1].id = LB_MAX_REALS - 1;
	assert_int_equal(maglev_build(bad, 4, SMALL_TBL, table), 0);
	assert_int_equal(maglev_build(reals, 4, SMALL_TBL, table), 0);
}

/* maglev_size_ok: primes in [MAGLEV_SIZE_MIN, LB_RING_MAX] only. */
static void test_size_ok(void **state)
{
	static const uint32_t good[] = {MAGLEV_SIZE_MIN, 11,	     13, 251, 65521,
					LB_RING_DEFAULT, LB_RING_MAX};
	/* too small (primes included), composite, or prime but too large */
	static const uint32_t bad[] = {0,	1,	 2,	      3,	 5,	  9,
				       25,	49,	 65535,	      65536,	 1048575, 1048576,
				       1048583, 1048589, 4294967291u, UINT32_MAX};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(maglev_size_ok(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(maglev_size_ok(bad[i]));
}

/* 6. Small and default sizes work, and no slot of a weighted table is empty. */
static void test_sizes(void **state)
{
	static const uint32_t sizes[] = {MAGLEV_SIZE_MIN, 13,	      251, 65521,
					 LB_RING_DEFAULT, LB_RING_MAX};
	static const uint32_t w[] = {1, 2, 3};
	struct maglev_real reals[MAX_TEST];

	(void)state;
	make_reals(reals, 3, w);
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		uint32_t *table = build(reals, 3, sizes[k]);

		for (uint32_t s = 0; s < sizes[k]; s++)
			assert_int_not_equal(table[s], 0);
		check_slot_shares(reals, 3, table, sizes[k]);
		free(table);
	}

	/* more reals than slots: still no empty slot */
	make_reals(reals, 20, NULL);
	{
		uint32_t table[SMALL_TBL];

		assert_int_equal(maglev_build(reals, 20, SMALL_TBL, table), 0);
		for (uint32_t s = 0; s < SMALL_TBL; s++)
			assert_int_not_equal(table[s], 0);
	}
}

/* Every id the ABI allows, in one default-size table: each owns a slot. */
static void test_all_ids(void **state)
{
	const size_t n = LB_MAX_REALS - 1;
	struct maglev_real *reals = calloc(n, sizeof(*reals));
	char(*names)[32] = calloc(n, sizeof(*names));
	uint32_t *table, *slots;

	(void)state;
	assert_non_null(reals);
	assert_non_null(names);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "[2001:db8::%zx]:443", i);
		reals[i] = (struct maglev_real){
		    .id = (uint32_t)(n - i), .weight = 1 + i % 7, .key = names[i]};
	}
	table = build(reals, n, LB_RING_DEFAULT);
	slots = calloc(LB_MAX_REALS, sizeof(*slots));
	assert_non_null(slots);
	for (uint32_t s = 0; s < LB_RING_DEFAULT; s++) {
		assert_true(table[s] >= 1 && table[s] < LB_MAX_REALS);
		slots[table[s]]++;
	}
	for (uint32_t id = 1; id < LB_MAX_REALS; id++)
		assert_true(slots[id] >= 1);
	free(slots);
	free(table);
	free(names);
	free(reals);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_extreme_weights),
	    cmocka_unit_test(test_remove_one),
	    cmocka_unit_test(test_drain_equals_remove),
	    cmocka_unit_test(test_order_and_ids_do_not_matter),
	    cmocka_unit_test(test_golden_table),
	    cmocka_unit_test(test_zero_weights),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_size_ok),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_all_ids),
	};

	return cmocka_run_group_tests(tests, make_flows, NULL);
}
