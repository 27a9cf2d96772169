/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016): builds the
 * lookup table that bpf/xdp_lb.bpf.c indexes with lb_flow_hash() % size.
 * Pure: no I/O, no global state.
 *
 * What callers may rely on:
 *  - The table depends only on the set of {key, weight} pairs and the size,
 *    never on the order of the array or on which ids were handed out, so
 *    two LB nodes given the same config send every flow to the same backend.
 *    The key hash is therefore part of the wire behaviour: changing it moves
 *    flows across a mixed-version fleet.
 *  - A real owns a share of slots proportional to its weight: with q its
 *    exact share size * weight / (sum of weights), it owns fewer than q + 1
 *    slots and more than q * (1 - n / size). Every real with weight > 0 owns
 *    at least one slot (when n <= size), so a weighted real gets traffic.
 *  - Removing one of N equally weighted reals moves its own 1/N of the flows
 *    and very few others.
 */
#ifndef XDP_ROUTE_MAGLEV_H
#define XDP_ROUTE_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Smallest table accepted: below this a table cannot spread even a few reals. */
#define MAGLEV_SIZE_MIN 7

struct maglev_real {
	uint32_t id;	 /* what goes in the table: 1..LB_MAX_REALS-1 */
	uint32_t weight; /* 0 = draining: valid, but owns no slot */
	const char *key; /* stable, unique name, e.g. "198.18.2.2:80"; seeds the permutation */
};

/*
 * True when size is a prime in [MAGLEV_SIZE_MIN, LB_RING_MAX]. Prime because
 * a real's walk (offset + j * skip) % size must visit every slot for any skip
 * in [1, size-1].
 */
bool maglev_size_ok(uint32_t size);

/*
 * Fill table[0..size-1] with real ids. Slots are 0 ("none") only when no real
 * has weight > 0, including n == 0 (reals may then be NULL).
 *
 * Returns 0, or
 *   -EINVAL  table NULL; reals NULL with n > 0; !maglev_size_ok(size); a key
 *            NULL, empty or given twice; an id 0, >= LB_MAX_REALS or given
 *            twice (weight-0 reals are checked too);
 *   -ENOMEM  out of memory.
 * On error the table is left untouched.
 *
 * Cost: O(n log n + size log n) plus the table fill, about size * ln(size)
 * probes; 65537 slots and 100 reals take a few milliseconds.
 */
int maglev_build(const struct maglev_real *reals, size_t n, uint32_t size, uint32_t *table);

#endif
