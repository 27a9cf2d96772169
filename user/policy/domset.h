/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A set of domain names for destination rules: exact names and suffixes,
 * built from arrays, text or files, matched in O(labels) hash lookups.
 * Pure but for domset_load_file, which reads the file it is given.
 *
 * Entries, each normalized with host_normalize (so "EXAMPLE.com.",
 * "bücher.example" and "xn--bcher-kva.example" are entries as the requests
 * that mean them are normalized):
 *
 *   "example.com"     exactly that name; also an IPv4 or [IPv6] literal,
 *                     in any form host_normalize accepts ("0x7f.1")
 *   "*.example.com"   every strict subdomain (any depth), not example.com
 *   ".example.com"    example.com and every subdomain (Squid's dstdomain)
 *
 * A suffix entry must name a domain, not an address ("*.10.0.0.1" is
 * refused), and must not be a bare "*" or ".": a rule that matches every
 * name is written elsewhere. The same entry twice is kept once.
 *
 * domset_match returns the entry that matched, as stored (normalized, with
 * its "*." or "." prefix), so a deny page can name the rule: the host's own
 * exact entry first, then its "." entry, then the nearest parent with a
 * "." or "*." entry ("x.ads.example.com" against ".example.com" and
 * "*.ads.example.com" gives "*.ads.example.com").
 *
 * Inside: one open-addressing table (linear probing, load at most 3/4) of
 * 8-byte slots {32 bits of the 64-bit hash, arena offset}, and one arena of
 * records [kinds byte]["*." name NUL]: the three ways to name a domain are
 * one record, its exact, "." and "*." entries being the name, ".name" and
 * "*.name" inside it. A million names of ~23 bytes take about 45 MB (44
 * bytes an entry: 17 of table at load 1/2, the record, no pointers), load
 * from a file in about 0.4 s, and a lookup of a 5-label host against them
 * takes about 250 ns (the parents' slots are prefetched together, as the
 * table is out of cache); see test_million in tests/unit/test_domset.c.
 *
 * A set is built by one thread, then read by any number: domset_match does
 * not write.
 */
#ifndef XDP_POLICY_DOMSET_H
#define XDP_POLICY_DOMSET_H

#include <stddef.h>

struct domset;

/* An empty set, or NULL with errno ENOMEM. */
struct domset *domset_new(void);

/* Frees s and everything in it. Accepts NULL. */
void domset_free(struct domset *s);

/*
 * Adds one entry (entry[0, len), not NUL-terminated; no surrounding
 * whitespace, no comment) as described at the top.
 *
 * Returns 0, or
 *   -EINVAL  the entry is refused: err (if not NULL) gets
 *            "\"<entry>\": <why>", truncated to errlen bytes, NUL included;
 *   -ENOMEM  out of memory;
 *   -E2BIG   the set would pass 4 GiB of names or 2^31 table slots.
 * On error s is unchanged.
 */
int domset_add(struct domset *s, const char *entry, size_t len, char *err, size_t errlen);

/*
 * Adds entries[0, n), NUL-terminated strings, stopping at the first error
 * (err: "entry <i>: \"<entry>\": <why>"). Returns as domset_add; on error
 * s holds the entries before the bad one: discard it.
 */
int domset_add_list(struct domset *s, const char *const *entries, size_t n, char *err,
		    size_t errlen);

/*
 * Adds the entries of a list file's text[0, len): one entry per line (LF or
 * CRLF), '#' to the end of a line is a comment, spaces and tabs around an
 * entry are dropped, blank lines are skipped. A line with two fields is
 * refused ("0.0.0.0 ads.example" hosts-file lines are not this format), as
 * is a NUL byte. name is what errors call the text (a file name).
 *
 * Returns as domset_add, stopping at the first bad line with err
 * "<name>:<line>: \"<entry>\": <why>" (lines count from 1); on error s holds
 * the entries before that line: discard it.
 */
int domset_load_text(struct domset *s, const char *name, const char *text, size_t len, char *err,
		     size_t errlen);

/*
 * Reads the file at path and adds its entries as domset_load_text does,
 * with path as the name. Returns as domset_load_text, or the -errno of
 * open/read (err: "<path>: <strerror>").
 */
int domset_load_file(struct domset *s, const char *path, char *err, size_t errlen);

/*
 * The entry host matches, or NULL (also when s or host is NULL). host is
 * host_normalize's output (NUL-terminated); anything else is compared as
 * given, so "Example.com" matches nothing. Valid until s is freed.
 *
 * Cost: one hash lookup for the host and, when the set has suffix entries,
 * one per parent domain.
 */
const char *domset_match(const struct domset *s, const char *host);

/* Entries in s (exact, "." and "*." entries of one name count apart); 0 for NULL. */
size_t domset_size(const struct domset *s);

/* Bytes s holds on the heap: table and arena. 0 for NULL. */
size_t domset_mem(const struct domset *s);

#endif
