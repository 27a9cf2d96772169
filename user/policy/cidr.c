// SPDX-License-Identifier: BSD-2-Clause
/*
 * Prefix sets and address classes: see cidr.h.
 *
 * Building a set: every prefix is the range [lo, hi] of its addresses
 * (128-bit keys for both families; IPv4 in the low 32 bits). Sorted by lo,
 * then by length, two prefixes either nest or are disjoint, so one sweep
 * with a stack of the prefixes open at the current point cuts the line into
 * ranges, each owned by the innermost open prefix (or none): a range
 * starts at every prefix's lo and after every prefix's hi. Matching finds
 * the last range starting at or below the address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cidr.h"
#include "policy/host.h"
#include "util/err.h"

#define CIDR_NONE UINT32_MAX /* a range no prefix owns */

typedef unsigned __int128 cidr_u128;

/* What a set is: the entries as given, and per family the ranges. */
struct cidr_set {
	size_t n;	 /* entries as given */
	size_t distinct; /* prefixes, duplicates once */
	struct cidr_entry *e;
	size_t n4, n6; /* ranges */
	uint32_t *start4;
	uint32_t *own4; /* entry index, or CIDR_NONE */
	cidr_u128 *start6;
	uint32_t *own6;
};

static unsigned int cidr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* The address as a key: IPv4 in the low 32 bits. */
static cidr_u128 cidr_key(int family, const uint8_t *addr)
{
	unsigned int nb = family == AF_INET ? 4 : 16;
	cidr_u128 k = 0;

	for (unsigned int i = 0; i < nb; i++)
		k = k << 8 | addr[i];
	return k;
}

/* The host part's mask of a /len in a family: the bits a network must have zero. */
static cidr_u128 cidr_hostmask(int family, unsigned int len)
{
	unsigned int hb = cidr_bits(family) - len;

	return hb == 128 ? ~(cidr_u128)0 : ((cidr_u128)1 << hb) - 1;
}

static const uint8_t cidr_mapped_pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* IPv6 prefixes inside ::ffff:0:0/96 become the IPv4 prefixes they mean. */
static void cidr_canon(struct cidr_prefix *p)
{
	if (p->family != AF_INET6 || p->len < 96 || memcmp(p->addr, cidr_mapped_pfx, 12))
		return;
	p->family = AF_INET;
	p->len -= 96;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
}

/* 0 if p is a valid network, else -EINVAL and why. */
static int cidr_check(const struct cidr_prefix *p, const char **why)
{
	if (p->family != AF_INET && p->family != AF_INET6) {
		*why = "family is neither AF_INET nor AF_INET6";
		return -EINVAL;
	}
	if (p->len > cidr_bits(p->family)) {
		*why = "prefix length out of range";
		return -EINVAL;
	}
	if (p->family == AF_INET) {
		for (int i = 4; i < 16; i++) {
			if (p->addr[i]) {
				*why = "IPv4 prefix with bytes set past addr[3]";
				return -EINVAL;
			}
		}
	}
	if (cidr_key(p->family, p->addr) & cidr_hostmask(p->family, p->len)) {
		*why = "host bits set";
		return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- text */

int cidr_format(const struct cidr_prefix *p, char *out, size_t cap)
{
	char a[HOST_IPV6_TEXT_MAX];
	const char *why;
	int n;

	if (!p || !out || cidr_check(p, &why) < 0)
		return -EINVAL;
	if (p->family == AF_INET) {
		n = snprintf(a, sizeof(a), "%u.%u.%u.%u", p->addr[0], p->addr[1], p->addr[2],
			     p->addr[3]);
	} else {
		struct in6_addr in6;

		memcpy(&in6, p->addr, 16);
		n = host_format_ipv6(&in6, a, sizeof(a));
	}
	if (n < 0)
		return n;
	n = snprintf(out, cap, "%s/%u", a, p->len);
	if ((size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

int cidr_parse(const char *s, struct cidr_prefix *p, char *err, size_t errlen)
{
	char text[INET6_ADDRSTRLEN];
	struct cidr_prefix q = {0};
	const char *slash;
	size_t alen;
	unsigned int max;

	if (err && errlen)
		err[0] = '\0';
	if (!s || !p) {
		util_errf(err, errlen, "no prefix");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0) {
		util_errf(err, errlen, "\"%s\": no address", s);
		return -EINVAL;
	}
	if (memchr(s, '%', alen)) {
		util_errf(err, errlen, "\"%s\": zone ids are not allowed", s);
		return -EINVAL;
	}
	if (alen >= sizeof(text)) {
		util_errf(err, errlen, "\"%.64s...\": not an IP address", s);
		return -EINVAL;
	}
	memcpy(text, s, alen);
	text[alen] = '\0';
	if (memchr(text, ':', alen)) {
		q.family = AF_INET6;
		if (inet_pton(AF_INET6, text, q.addr) != 1) {
			util_errf(err, errlen, "\"%s\": \"%s\" is not an IPv6 address", s, text);
			return -EINVAL;
		}
	} else {
		q.family = AF_INET;
		if (inet_pton(AF_INET, text, q.addr) != 1) {
			util_errf(err, errlen,
				  "\"%s\": \"%s\" is not an IPv4 address (four decimal parts)", s,
				  text);
			return -EINVAL;
		}
	}
	max = cidr_bits(q.family);
	q.len = (uint8_t)max;
	if (slash) {
		const char *d = slash + 1;
		size_t nd = strlen(d);
		unsigned int v = 0;

		if (nd == 0 || nd > 3 || (nd > 1 && d[0] == '0') || strspn(d, "0123456789") != nd) {
			util_errf(err, errlen, "\"%s\": prefix length must be a number 0 to %u", s,
				  max);
			return -EINVAL;
		}
		for (size_t i = 0; i < nd; i++)
			v = v * 10 + (unsigned int)(d[i] - '0');
		if (v > max) {
			util_errf(err, errlen, "\"%s\": prefix length %u is over %u", s, v, max);
			return -EINVAL;
		}
		q.len = (uint8_t)v;
	}
	if (cidr_key(q.family, q.addr) & cidr_hostmask(q.family, q.len)) {
		struct cidr_prefix net = q;
		char t[CIDR_TEXT_MAX];
		cidr_u128 m = ~cidr_hostmask(q.family, q.len);
		unsigned int nb = q.family == AF_INET ? 4 : 16;

		for (unsigned int i = 0; i < nb; i++)
			net.addr[i] &= (uint8_t)(m >> (8 * (nb - 1 - i)));
		cidr_canon(&net);
		cidr_format(&net, t, sizeof(t));
		util_errf(err, errlen, "\"%s\": host bits set; the network is %s", s, t);
		return -EINVAL;
	}
	cidr_canon(&q);
	*p = q;
	return 0;
}

/* ---------------------------------------------------------------- sets */

struct cidr_iv {
	cidr_u128 lo, hi;
	uint32_t idx; /* entry */
	uint8_t len;
};

static int cidr_iv_cmp(const void *a, const void *b)
{
	const struct cidr_iv *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* the first given first: duplicates keep it */
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct cidr_ranges {
	cidr_u128 *start;
	uint32_t *own;
	size_t n;
};

/* Appends a range from start owned by own, merging with the last one. */
static void cidr_emit(struct cidr_ranges *r, cidr_u128 start, uint32_t own)
{
	if (r->start[r->n - 1] == start) {
		r->own[r->n - 1] = own;
		if (r->n >= 2 && r->own[r->n - 2] == own)
			r->n--;
		return;
	}
	if (r->own[r->n - 1] == own)
		return;
	r->start[r->n] = start;
	r->own[r->n] = own;
	r->n++;
}

/* Sweeps iv[0, n) (sorted, no duplicates, keys up to max) into r (room for 2n + 1). */
static void cidr_sweep(const struct cidr_iv *iv, size_t n, cidr_u128 max, struct cidr_ranges *r)
{
	/* nested prefixes are strictly longer: at most 129 open at once */
	const struct cidr_iv *stack[129];
	size_t sp = 0;

	r->start[0] = 0;
	r->own[0] = CIDR_NONE;
	r->n = 1;
	for (size_t i = 0; i < n; i++) {
		while (sp && stack[sp - 1]->hi < iv[i].lo) {
			const struct cidr_iv *top = stack[--sp];

			cidr_emit(r, top->hi + 1, sp ? stack[sp - 1]->idx : CIDR_NONE);
		}
		cidr_emit(r, iv[i].lo, iv[i].idx);
		stack[sp++] = &iv[i];
	}
	while (sp) {
		const struct cidr_iv *top = stack[--sp];

		/* a prefix reaching the top of the space has nothing after it */
		if (top->hi != max)
			cidr_emit(r, top->hi + 1, sp ? stack[sp - 1]->idx : CIDR_NONE);
	}
}

/*
 * Builds the ranges of the entries of one family into start, own and nr.
 * -EINVAL (with *dup_a, *dup_b) for one prefix given twice with different
 * values; -ENOMEM.
 */
static int cidr_build_family(struct cidr_set *s, int family, cidr_u128 **start, uint32_t **own,
			     size_t *nr, size_t *dup_a, size_t *dup_b)
{
	struct cidr_ranges r = {0};
	struct cidr_iv *iv;
	size_t n = 0, k = 0;
	int rc = -ENOMEM;

	for (size_t i = 0; i < s->n; i++)
		n += s->e[i].prefix.family == family;
	iv = calloc(n ? n : 1, sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct cidr_prefix *p = &s->e[i].prefix;

		if (p->family != family)
			continue;
		iv[k].lo = cidr_key(family, p->addr);
		iv[k].hi = iv[k].lo | cidr_hostmask(family, p->len);
		iv[k].idx = (uint32_t)i;
		iv[k].len = p->len;
		k++;
	}
	qsort(iv, n, sizeof(*iv), cidr_iv_cmp);
	/* one prefix given twice: keep the first if the values agree */
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && iv[k - 1].lo == iv[i].lo && iv[k - 1].len == iv[i].len) {
			if (s->e[iv[k - 1].idx].value != s->e[iv[i].idx].value) {
				*dup_a = iv[k - 1].idx;
				*dup_b = iv[i].idx;
				rc = -EINVAL;
				goto free_iv;
			}
			continue;
		}
		iv[k++] = iv[i];
	}
	n = k;
	s->distinct += n;
	r.start = calloc(2 * n + 1, sizeof(*r.start));
	r.own = calloc(2 * n + 1, sizeof(*r.own));
	if (!r.start || !r.own)
		goto free_ranges;
	cidr_sweep(iv, n, cidr_hostmask(family, 0), &r);
	*start = r.start;
	*own = r.own;
	*nr = r.n;
	free(iv);
	return 0;

free_ranges:
	free(r.start);
	free(r.own);
free_iv:
	free(iv);
	return rc;
}

void cidr_set_free(struct cidr_set *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->start4);
	free(s->own4);
	free(s->start6);
	free(s->own6);
	free(s);
}

struct cidr_set *cidr_set_new(const struct cidr_entry *entries, size_t n, char *err, size_t errlen)
{
	size_t dup_a = 0, dup_b = 0, n4;
	cidr_u128 *start4 = NULL;
	struct cidr_set *s;
	const char *why;
	char t[CIDR_TEXT_MAX];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!entries && n) {
		util_errf(err, errlen, "no entries");
		errno = EINVAL;
		return NULL;
	}
	if (n >= CIDR_NONE) {
		util_errf(err, errlen, "%zu entries: too many", n);
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (cidr_check(&entries[i].prefix, &why) < 0) {
			if (cidr_format(&entries[i].prefix, t, sizeof(t)) < 0)
				snprintf(t, sizeof(t), "family %u, length %u",
					 entries[i].prefix.family, entries[i].prefix.len);
			util_errf(err, errlen, "entry %zu (%s): %s", i, t, why);
			errno = EINVAL;
			return NULL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->e = calloc(n ? n : 1, sizeof(*s->e));
	if (!s->e)
		goto free_set;
	if (n)
		memcpy(s->e, entries, n * sizeof(*s->e));
	s->n = n;
	for (size_t i = 0; i < n; i++)
		cidr_canon(&s->e[i].prefix);

	rc = cidr_build_family(s, AF_INET, &start4, &s->own4, &n4, &dup_a, &dup_b);
	if (rc == 0)
		rc = cidr_build_family(s, AF_INET6, &s->start6, &s->own6, &s->n6, &dup_a, &dup_b);
	if (rc == -EINVAL) {
		free(start4);
		cidr_format(&s->e[dup_b].prefix, t, sizeof(t));
		util_errf(err, errlen,
			  "entry %zu (%s): the same prefix as entry %zu, another value", dup_b, t,
			  dup_a);
		cidr_set_free(s);
		errno = EINVAL;
		return NULL;
	}
	if (rc < 0)
		goto free_start4;
	/* IPv4 ranges in 32 bits: a quarter of the memory, and cache */
	s->start4 = calloc(n4, sizeof(*s->start4));
	if (!s->start4)
		goto free_start4;
	for (size_t i = 0; i < n4; i++)
		s->start4[i] = (uint32_t)start4[i];
	s->n4 = n4;
	free(start4);
	return s;

free_start4:
	free(start4);
free_set:
	cidr_set_free(s);
nomem:
	util_errf(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}

struct cidr_set *cidr_set_from_strings(const char *const *strs, size_t n, uint32_t value, char *err,
				       size_t errlen)
{
	struct cidr_entry *e;
	struct cidr_set *s;
	char why[160];

	if (err && errlen)
		err[0] = '\0';
	if (!strs && n) {
		util_errf(err, errlen, "no entries");
		errno = EINVAL;
		return NULL;
	}
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e) {
		util_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (cidr_parse(strs[i], &e[i].prefix, why, sizeof(why)) < 0) {
			util_errf(err, errlen, "entry %zu: %s", i, why);
			free(e);
			errno = EINVAL;
			return NULL;
		}
		e[i].value = value;
	}
	s = cidr_set_new(e, n, err, errlen);
	free(e);
	return s;
}

size_t cidr_set_size(const struct cidr_set *s)
{
	return s ? s->distinct : 0;
}

/* ---------------------------------------------------------------- matching */

/*
 * Reads an AF_INET/AF_INET6 address into a family and 16 bytes (IPv4 in
 * the first 4), mapped IPv6 turned into IPv4. -EINVAL, -EAFNOSUPPORT.
 */
static int cidr_addr(int family, const void *addr, int *fam, uint8_t *b)
{
	if (!addr)
		return -EINVAL;
	memset(b, 0, 16);
	if (family == AF_INET) {
		memcpy(b, addr, 4);
		*fam = AF_INET;
		return 0;
	}
	if (family != AF_INET6)
		return -EAFNOSUPPORT;
	memcpy(b, addr, 16);
	*fam = AF_INET6;
	if (!memcmp(b, cidr_mapped_pfx, 12)) {
		memmove(b, b + 12, 4);
		memset(b + 4, 0, 12);
		*fam = AF_INET;
	}
	return 0;
}

/* The address of an AF_INET/AF_INET6 sockaddr: -EINVAL, -EAFNOSUPPORT. */
static int cidr_sa(const struct sockaddr *sa, int *family, const void **addr)
{
	if (!sa)
		return -EINVAL;
	*family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		*addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		*addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return -EAFNOSUPPORT;
	return 0;
}

const struct cidr_entry *cidr_match_addr(const struct cidr_set *s, int family, const void *addr)
{
	uint8_t b[16];
	uint32_t own;
	size_t lo = 0, hi;
	int fam, rc;

	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	rc = cidr_addr(family, addr, &fam, b);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	/* the last range starting at or below the key; range 0 starts at 0 */
	if (fam == AF_INET) {
		uint32_t k = (uint32_t)cidr_key(AF_INET, b);

		for (hi = s->n4; hi - lo > 1;) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->start4[mid] <= k)
				lo = mid;
			else
				hi = mid;
		}
		own = s->own4[lo];
	} else {
		cidr_u128 k = cidr_key(AF_INET6, b);

		for (hi = s->n6; hi - lo > 1;) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->start6[mid] <= k)
				lo = mid;
			else
				hi = mid;
		}
		own = s->own6[lo];
	}
	if (own == CIDR_NONE) {
		errno = ENOENT;
		return NULL;
	}
	return &s->e[own];
}

const struct cidr_entry *cidr_match(const struct cidr_set *s, const struct sockaddr *sa)
{
	const void *addr = NULL;
	int family = 0, rc;

	rc = cidr_sa(sa, &family, &addr);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return cidr_match_addr(s, family, addr);
}

/* ---------------------------------------------------------------- classes */

#define V4(a, b, c, d, l, k)                                                                       \
	{                                                                                          \
		{AF_INET, (l), {(a), (b), (c), (d)}}, CIDR_CLASS_##k                               \
	}
#define V6(l, k, ...)                                                                              \
	{                                                                                          \
		{AF_INET6, (l), {__VA_ARGS__}}, CIDR_CLASS_##k                                     \
	}

static const struct cidr_class_range cidr_classes[] = {
    V4(0, 0, 0, 0, 8, UNSPECIFIED),
    V4(10, 0, 0, 0, 8, PRIVATE),
    V4(100, 64, 0, 0, 10, CGNAT),
    V4(127, 0, 0, 0, 8, LOOPBACK),
    V4(169, 254, 0, 0, 16, LINK_LOCAL),
    V4(172, 16, 0, 0, 12, PRIVATE),
    V4(192, 0, 0, 0, 24, RESERVED),
    V4(192, 0, 2, 0, 24, DOCUMENTATION),
    V4(192, 88, 99, 0, 24, RESERVED),
    V4(192, 168, 0, 0, 16, PRIVATE),
    V4(198, 18, 0, 0, 15, BENCHMARK),
    V4(198, 51, 100, 0, 24, DOCUMENTATION),
    V4(203, 0, 113, 0, 24, DOCUMENTATION),
    V4(224, 0, 0, 0, 4, MULTICAST),
    V4(240, 0, 0, 0, 4, RESERVED),
    V4(255, 255, 255, 255, 32, BROADCAST),
    V6(128, UNSPECIFIED, 0),
    V6(128, LOOPBACK, [15] = 1),
    V6(96, RESERVED, 0),
    V6(48, PRIVATE, 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01),
    V6(64, RESERVED, 0x01, 0x00),
    V6(48, BENCHMARK, 0x20, 0x01, 0x00, 0x02),
    V6(32, DOCUMENTATION, 0x20, 0x01, 0x0d, 0xb8),
    V6(20, DOCUMENTATION, 0x3f, 0xff),
    V6(7, PRIVATE, 0xfc),
    V6(10, LINK_LOCAL, 0xfe, 0x80),
    V6(10, PRIVATE, 0xfe, 0xc0),
    V6(8, MULTICAST, 0xff),
};

#undef V4
#undef V6

static const char *const cidr_class_names[CIDR_CLASS__MAX] = {
    [CIDR_CLASS_GLOBAL] = "global",
    [CIDR_CLASS_UNSPECIFIED] = "unspecified",
    [CIDR_CLASS_LOOPBACK] = "loopback",
    [CIDR_CLASS_PRIVATE] = "private",
    [CIDR_CLASS_LINK_LOCAL] = "link-local",
    [CIDR_CLASS_CGNAT] = "cgnat",
    [CIDR_CLASS_MULTICAST] = "multicast",
    [CIDR_CLASS_BROADCAST] = "broadcast",
    [CIDR_CLASS_DOCUMENTATION] = "documentation",
    [CIDR_CLASS_BENCHMARK] = "benchmark",
    [CIDR_CLASS_RESERVED] = "reserved",
};

const char *cidr_class_str(enum cidr_class c)
{
	if ((unsigned int)c >= CIDR_CLASS__MAX)
		return "?";
	return cidr_class_names[c];
}

const struct cidr_class_range *cidr_class_table(size_t *n)
{
	if (n)
		*n = sizeof(cidr_classes) / sizeof(cidr_classes[0]);
	return cidr_classes;
}

/* The longest class prefix containing b (family fam, not mapped). */
static enum cidr_class cidr_class_of(int fam, const uint8_t *b)
{
	enum cidr_class c = CIDR_CLASS_GLOBAL;
	cidr_u128 k = cidr_key(fam, b);
	int best = -1;

	for (size_t i = 0; i < sizeof(cidr_classes) / sizeof(cidr_classes[0]); i++) {
		const struct cidr_prefix *p = &cidr_classes[i].prefix;

		if (p->family != fam || p->len <= best)
			continue;
		if ((k & ~cidr_hostmask(fam, p->len)) != cidr_key(fam, p->addr))
			continue;
		best = p->len;
		c = cidr_classes[i].cls;
	}
	return c;
}

int cidr_classify_addr(int family, const void *addr)
{
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	static const uint8_t translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
	enum cidr_class c;
	uint8_t b[16], v4[16] = {0};
	int fam, rc;

	rc = cidr_addr(family, addr, &fam, b);
	if (rc < 0)
		return rc;
	c = cidr_class_of(fam, b);
	if (fam != AF_INET6 || c != CIDR_CLASS_GLOBAL)
		return c;
	/* look through translators: their IPv4 address is where we would connect */
	if (!memcmp(b, nat64, 12))
		memcpy(v4, b + 12, 4);
	else if (!memcmp(b, translated, 12)) /* ::ffff:0:a.b.c.d, SIIT (RFC 2765) */
		memcpy(v4, b + 12, 4);
	else if (b[0] == 0x20 && b[1] == 0x02)
		memcpy(v4, b + 2, 4);
	else
		return c;
	return cidr_class_of(AF_INET, v4);
}

int cidr_classify(const struct sockaddr *sa)
{
	const void *addr = NULL;
	int family = 0, rc;

	rc = cidr_sa(sa, &family, &addr);
	if (rc < 0)
		return rc;
	return cidr_classify_addr(family, addr);
}
