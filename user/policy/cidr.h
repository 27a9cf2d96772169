/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IPv4/IPv6 prefix sets with longest-prefix match, and the special-purpose
 * address classes a forward proxy must not connect to on a client's behalf.
 * Pure: no I/O, no global state; a set is immutable once built, so any
 * number of threads may match against it.
 *
 * Uses: client allow/deny lists (each prefix carries a value, e.g. allow or
 * deny, and the most specific prefix decides: "allow 10.0.0.0/8, deny
 * 10.66.0.0/16"), and destination checks after resolution
 * (cidr_classify: "denied: destination 10.1.2.3 is private").
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket
 * reports for an IPv4 peer) are IPv4 addresses here, everywhere: they match
 * IPv4 prefixes and are classified as IPv4, and never match IPv6 prefixes
 * (not even ::/0). A prefix written inside ::ffff:0:0/96
 * ("::ffff:10.0.0.0/104") is stored as the IPv4 prefix it means
 * (10.0.0.0/8).
 *
 * Inside: per family, the prefixes are flattened into sorted disjoint
 * ranges, each holding the most specific prefix that covers it, and a match
 * is one binary search: O(log n), at most 2n + 1 ranges of 8 (IPv4) or 20
 * (IPv6) bytes. Chosen over a binary trie for being compact, branch-light
 * and easy to check; the price is that a set cannot change once built.
 */
#ifndef XDP_POLICY_CIDR_H
#define XDP_POLICY_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Text of a prefix, NUL included: "ffff:...:ffff/128". */
#define CIDR_TEXT_MAX 44

/* A network: host bits zero (cidr_parse and cidr_set_new refuse others). */
struct cidr_prefix {
	uint8_t family;	  /* AF_INET or AF_INET6 */
	uint8_t len;	  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network order; IPv4 in addr[0..3], the rest zero */
};

/* A prefix with the caller's value: allow/deny, a rule index, ... */
struct cidr_entry {
	struct cidr_prefix prefix;
	uint32_t value;
};

/*
 * Parses "10.0.0.0/8", "2001:db8::/32", or a single address ("10.0.0.1" is
 * /32, "::1" is /128). Strict: IPv4 as four decimal parts (no "10/8", no
 * "010.0.0.0"), a length of 1 to 3 digits without leading zeros, no spaces,
 * no zone ids, no brackets.
 *
 * Returns 0, or -EINVAL with err (if not NULL, truncated to errlen bytes)
 * saying why, e.g. "\"10.0.0.1/8\": host bits set; the network is
 * 10.0.0.0/8".
 */
int cidr_parse(const char *s, struct cidr_prefix *p, char *err, size_t errlen);

/*
 * Writes p as "10.0.0.0/8" or "2001:db8::/32" (RFC 5952) into out[0, cap),
 * NUL-terminated. Returns the length, -ENOSPC when cap is too small
 * (CIDR_TEXT_MAX always fits), -EINVAL when p is not a valid prefix.
 */
int cidr_format(const struct cidr_prefix *p, char *out, size_t cap);

struct cidr_set;

/*
 * Builds a set from entries[0, n) (n == 0 gives a set that matches
 * nothing); the entries are copied. The same prefix twice with the same
 * value is kept once; with different values it is refused, as is a prefix
 * with a bad family, a length out of range or host bits set.
 *
 * Returns the set, or NULL with errno
 *   EINVAL  entries NULL with n > 0, or an entry refused: err (if not NULL)
 *           gets "entry <i> (<prefix>): <why>", truncated to errlen bytes;
 *   ENOMEM  out of memory.
 */
struct cidr_set *cidr_set_new(const struct cidr_entry *entries, size_t n, char *err, size_t errlen);

/*
 * A set of strs[0, n), each parsed by cidr_parse, all with value. Errors as
 * cidr_set_new, err naming the string: "entry <i>: <cidr_parse's why>".
 */
struct cidr_set *cidr_set_from_strings(const char *const *strs, size_t n, uint32_t value, char *err,
				       size_t errlen);

/* Frees s. Accepts NULL. */
void cidr_set_free(struct cidr_set *s);

/* Prefixes in s, duplicates counted once; 0 for NULL. */
size_t cidr_set_size(const struct cidr_set *s);

/*
 * The entry with the longest prefix containing the address (an AF_INET or
 * AF_INET6 sockaddr; mapped IPv6 is IPv4), valid until s is freed; or NULL
 * with errno ENOENT when none contains it, EAFNOSUPPORT for another family,
 * EINVAL when s or sa is NULL.
 */
const struct cidr_entry *cidr_match(const struct cidr_set *s, const struct sockaddr *sa);

/* The same for family AF_INET with a struct in_addr, or AF_INET6 with a struct in6_addr. */
const struct cidr_entry *cidr_match_addr(const struct cidr_set *s, int family, const void *addr);

/*
 * Special-purpose address classes (IANA registries, RFC 6890 and
 * successors). GLOBAL is everything else.
 */
enum cidr_class {
	CIDR_CLASS_GLOBAL = 0,
	CIDR_CLASS_UNSPECIFIED,	  /* 0.0.0.0/8, ::/128 */
	CIDR_CLASS_LOOPBACK,	  /* 127.0.0.0/8, ::1/128 */
	CIDR_CLASS_PRIVATE,	  /* 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
				   * (deprecated site-local), 64:ff9b:1::/48 (local NAT64) */
	CIDR_CLASS_LINK_LOCAL,	  /* 169.254.0.0/16, fe80::/10 */
	CIDR_CLASS_CGNAT,	  /* 100.64.0.0/10, shared address space */
	CIDR_CLASS_MULTICAST,	  /* 224.0.0.0/4, ff00::/8 */
	CIDR_CLASS_BROADCAST,	  /* 255.255.255.255/32 */
	CIDR_CLASS_DOCUMENTATION, /* 192.0.2/24, 198.51.100/24, 203.0.113/24,
				   * 2001:db8::/32, 3fff::/20 */
	CIDR_CLASS_BENCHMARK,	  /* 198.18.0.0/15, 2001:2::/48 */
	CIDR_CLASS_RESERVED,	  /* 240.0.0.0/4, 192.0.0.0/24 (IETF protocol
				   * assignments), 192.88.99.0/24 (6to4 relay),
				   * ::/96 (IPv4-compatible), 100::/64 (discard) */
	CIDR_CLASS__MAX,
};

#define CIDR_CLASS_BIT(c) (1u << (c))
/* Every class but GLOBAL: what a forward proxy refuses by default. */
#define CIDR_CLASSES_SPECIAL                                                                       \
	(CIDR_CLASS_BIT(CIDR_CLASS__MAX) - 1 - CIDR_CLASS_BIT(CIDR_CLASS_GLOBAL))

/* Stable lowercase name: "private", "link-local", ...; "?" if out of range. */
const char *cidr_class_str(enum cidr_class c);

/*
 * The class of an address: the longest of the prefixes above containing
 * it. Two IPv6 ranges embed an IPv4 address that a translator would
 * connect to, so they take that address's class when it is not GLOBAL:
 * NAT64 64:ff9b::/96 (RFC 6052; the last 32 bits) and 6to4 2002::/16 (RFC
 * 3056; bits 16-47). "[64:ff9b::7f00:1]" is loopback.
 *
 * Returns the class (>= 0), or -EAFNOSUPPORT for a family other than
 * AF_INET/AF_INET6, -EINVAL for NULL.
 */
int cidr_classify(const struct sockaddr *sa);

/* The same for AF_INET with a struct in_addr, AF_INET6 with a struct in6_addr. */
int cidr_classify_addr(int family, const void *addr);

/* One row of the table behind cidr_classify. */
struct cidr_class_range {
	struct cidr_prefix prefix;
	enum cidr_class cls;
};

/*
 * The plain prefixes of every class but GLOBAL (not the NAT64/6to4
 * look-through), in no promised order; *n gets their number. For listing
 * them, or building a set from them.
 */
const struct cidr_class_range *cidr_class_table(size_t *n);

#endif
