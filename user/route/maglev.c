// SPDX-License-Identifier: BSD-2-Clause
/*
 * Weighted Maglev table builder.
 *
 * Each real walks its own permutation of the slots, (offset + j * skip) %
 * size, with offset and skip drawn from a hash of its key; reals take turns
 * and each turn claims the next free slot on the real's walk (Maglev paper,
 * section 3.4, "Populate"). Removing a real frees only its slots for the
 * others, which is why few other flows move.
 *
 * The paper gives every real one turn per round. For weights we schedule
 * turns instead: a real with w and t turns taken so far is due at t / w, and
 * the real due earliest goes next (ties to the smaller key). That is Adams'
 * divisor method: a real never gets a whole slot more than its exact share
 * and loses at most a fraction n / size of it, every weighted real gets a
 * first turn before anyone gets a second (so none is starved by rounding),
 * and a min-heap makes each turn O(log n) whatever the weights. Katran's
 * credit loop (a turn each time a real's credit reaches the largest weight)
 * gives near-identical shares but visits every real each round, which costs
 * O(size * n) when one weight dwarfs the others, and can leave a light real
 * with no slot at all.
 *
 * The turn order decides who wins a slot both reals want, so everything is
 * done in key order: the array order and the ids never matter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xdproxy/lb.h"
#include "route/maglev.h"

/* One weighted real while the table fills. */
struct maglev_walk {
	uint32_t id;
	uint32_t weight;
	uint32_t next;	/* next slot of this real's permutation to try */
	uint32_t skip;	/* 1..size-1: with size prime the walk visits every slot */
	uint32_t turns; /* slots claimed so far */
};

/*
 * FNV-1a 64 over the key, then two outputs derived SplitMix64-style (add a
 * multiple of the golden gamma, apply the MurmurHash3 finalizer). FNV alone
 * barely changes its low bits between "10.0.0.2:80" and "10.0.0.3:80", and
 * offset and skip are taken modulo the size; the finalizer avalanches every
 * input bit, and the two gammas make offset and skip independent.
 * These constants are wire behaviour (see maglev.h): never change them.
 */
static uint64_t maglev_fnv1a(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t maglev_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#define MAGLEV_GAMMA 0x9e3779b97f4a7c15ull

bool maglev_size_ok(uint32_t size)
{
	if (size < MAGLEV_SIZE_MIN || size > LB_RING_MAX)
		return false;
	if (size % 2 == 0)
		return false;
	/* size <= 2^20, so at most ~500 divisions */
	for (uint32_t d = 3; d <= size / d; d += 2)
		if (size % d == 0)
			return false;
	return true;
}

static int maglev_cmp_key(const void *a, const void *b)
{
	const struct maglev_real *ra = *(const struct maglev_real *const *)a;
	const struct maglev_real *rb = *(const struct maglev_real *const *)b;

	return strcmp(ra->key, rb->key);
}

/* Is walk a due before walk b? Due time turns / weight, compared without division. */
static bool maglev_before(const struct maglev_walk *w, uint32_t a, uint32_t b)
{
	/* turns <= 2^20 and weight < 2^32: the products fit in 64 bits */
	uint64_t ta = (uint64_t)w[a].turns * w[b].weight;
	uint64_t tb = (uint64_t)w[b].turns * w[a].weight;

	if (ta != tb)
		return ta < tb;
	return a < b;
}

/* Restore the heap after heap[0]'s due time grew; it only ever grows. */
static void maglev_sift_down(uint32_t *heap, uint32_t n, const struct maglev_walk *w)
{
	uint32_t top = heap[0];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && maglev_before(w, heap[c + 1], heap[c]))
			c++;
		if (!maglev_before(w, heap[c], top))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = top;
}

/* Ids, keys and sizes are checked before anything is allocated or written. */
static int maglev_check(const struct maglev_real *reals, size_t n, uint32_t size,
			const uint32_t *table)
{
	uint64_t seen[(LB_MAX_REALS + 63) / 64] = {0};

	if (!table || (!reals && n) || !maglev_size_ok(size))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = reals[i].id;

		if (!reals[i].key || !reals[i].key[0])
			return -EINVAL;
		/* id 0 in a slot would read as "no backend" */
		if (id == 0 || id >= LB_MAX_REALS)
			return -EINVAL;
		if (seen[id / 64] & (1ull << (id % 64)))
			return -EINVAL;
		seen[id / 64] |= 1ull << (id % 64);
	}
	return 0;
}

int maglev_build(const struct maglev_real *reals, size_t n, uint32_t size, uint32_t *table)
{
	const struct maglev_real **sorted = NULL;
	struct maglev_walk *walk = NULL;
	uint32_t *heap = NULL;
	uint32_t nw = 0;
	int err;

	err = maglev_check(reals, n, size, table);
	if (err)
		return err;
	/* after maglev_check, n < LB_MAX_REALS: ids are distinct and in range */
	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		walk = malloc(n * sizeof(*walk));
		heap = malloc(n * sizeof(*heap));
		if (!sorted || !walk || !heap) {
			err = -ENOMEM;
			goto out_free;
		}
	}

	for (size_t i = 0; i < n; i++)
		sorted[i] = &reals[i];
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), maglev_cmp_key);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0) {
			err = -EINVAL;
			goto out_free;
		}
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t h;

		if (!sorted[i]->weight)
			continue;
		h = maglev_fnv1a(sorted[i]->key);
		walk[nw] = (struct maglev_walk){
		    .id = sorted[i]->id,
		    .weight = sorted[i]->weight,
		    .next = maglev_mix(h + MAGLEV_GAMMA) % size,
		    .skip = maglev_mix(h + 2 * MAGLEV_GAMMA) % (size - 1) + 1,
		};
		/* all due at 0, ties by index: index order is already a heap */
		heap[nw] = nw;
		nw++;
	}

	/* ids are never 0, so 0 marks a free slot while filling */
	memset(table, 0, (size_t)size * sizeof(*table));
	if (!nw)
		goto out_free;
	for (uint32_t filled = 0; filled < size; filled++) {
		struct maglev_walk *w = &walk[heap[0]];

		/* ends: the walk visits every slot and one is still free */
		while (table[w->next]) {
			w->next += w->skip;
			if (w->next >= size)
				w->next -= size;
		}
		table[w->next] = w->id;
		w->turns++;
		maglev_sift_down(heap, nw, walk);
	}
	err = 0;

out_free:
	free(heap);
	free(walk);
	free(sorted);
	return err;
}
