// SPDX-License-Identifier: BSD-2-Clause
/*
 * Domain sets: see domset.h for what they hold and how they match.
 *
 * Layout. A slot is {tag, off}: tag is the 64-bit hash folded to 32 bits,
 * and it also picks the home bucket (tag & mask), so growing the table
 * rehashes from the slots alone, never reading the arena; off is where the
 * name's record starts in the arena (0 = empty slot, so the arena's first
 * byte is never a record). Lookups compare tags first and touch the arena
 * only on a tag hit: with a good hash, about once per lookup that finds
 * something and almost never for one that does not - and most lookups
 * (parents of a host not in the set) find nothing.
 *
 * A record is [kinds]['*']['.'][name][NUL]; the entries a domset_match
 * caller sees are pointers into it: name (+3), ".name" (+2), "*.name" (+1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/domset.h"
#include "policy/host.h"
#include "util/err.h"

#define DOMSET_EXACT 0x1u /* "name" */
#define DOMSET_DOT   0x2u /* ".name": name and subdomains */
#define DOMSET_WILD  0x4u /* "*.name": subdomains only */

#define DOMSET_MIN_CAP	 16u
#define DOMSET_MAX_CAP	 (1u << 31)
#define DOMSET_ARENA_MAX UINT32_MAX
/* record bytes besides the name: kinds, "*.", NUL */
#define DOMSET_REC_EXTRA 4
/* entry bytes shown in an error message */
#define DOMSET_SHOW_MAX 64

struct domset_slot {
	uint32_t tag;
	uint32_t off;
};

struct domset {
	struct domset_slot *slot;
	uint32_t cap; /* power of two */
	size_t used;  /* names (records) in the table */
	size_t entries;
	char *arena;
	size_t alen;
	size_t acap;
	bool has_suffix; /* some record has DOMSET_DOT or DOMSET_WILD */
};

/* ---------------------------------------------------------------- hash */

static uint64_t domset_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t domset_r8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint64_t domset_r4(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * A wyhash-style hash (multiply, fold the 128-bit product): 16 bytes per
 * multiply, fast on the short strings names are, and well mixed in every
 * bit, which linear probing needs since the low bits pick the bucket. Its
 * constants are wyhash's. The seed is fixed: the table's contents come from
 * the operator, and a client only chooses what to look up, which cannot
 * lengthen a probe sequence.
 */
static uint64_t domset_hash(const char *key, size_t len)
{
	const uint64_t s0 = 0xa0761d6478bd642full, s1 = 0xe7037ed1a0b428dbull;
	const uint64_t s2 = 0x8ebc6af09c88c6e3ull, s3 = 0x589965cc75374cc3ull;
	const unsigned char *p = (const unsigned char *)key;
	uint64_t seed = s0 ^ domset_mum(s2, s3);
	uint64_t a, b;

	if (len <= 16) {
		if (len >= 4) {
			size_t q = (len >> 3) << 2;

			a = domset_r4(p) << 32 | domset_r4(p + q);
			b = domset_r4(p + len - 4) << 32 | domset_r4(p + len - 4 - q);
		} else if (len > 0) {
			a = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t i = len;

		while (i > 16) {
			seed = domset_mum(domset_r8(p) ^ s1, domset_r8(p + 8) ^ seed);
			p += 16;
			i -= 16;
		}
		a = domset_r8(p + i - 16);
		b = domset_r8(p + i - 8);
	}
	return domset_mum(s1 ^ len, domset_mum(a ^ s1, b ^ seed) ^ s3);
}

static uint32_t domset_tag(const char *key, size_t len)
{
	uint64_t h = domset_hash(key, len);

	return (uint32_t)(h ^ (h >> 32));
}

/* ---------------------------------------------------------------- table */

/* Offset of key's record, 0 if absent. */
static uint32_t domset_find(const struct domset *s, const char *key, size_t len, uint32_t tag)
{
	uint32_t mask = s->cap - 1;

	for (uint32_t i = tag & mask;; i = (i + 1) & mask) {
		const struct domset_slot *sl = &s->slot[i];
		const char *name;

		if (!sl->off)
			return 0;
		if (sl->tag != tag)
			continue;
		name = s->arena + sl->off + 3;
		if (!memcmp(name, key, len) && name[len] == '\0')
			return sl->off;
	}
}

/* Rebuilds the table with cap slots (a power of two above used * 4 / 3). */
static int domset_rehash(struct domset *s, uint32_t cap)
{
	struct domset_slot *ns = calloc(cap, sizeof(*ns));
	uint32_t mask = cap - 1;

	if (!ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->cap; i++) {
		uint32_t j;

		if (!s->slot[i].off)
			continue;
		for (j = s->slot[i].tag & mask; ns[j].off; j = (j + 1) & mask)
			;
		ns[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = ns;
	s->cap = cap;
	return 0;
}

/* Makes room for n names in all at a load of at most 3/4. */
static int domset_reserve(struct domset *s, size_t n)
{
	uint64_t cap = s->cap;

	while (n * 4 > cap * 3) {
		if (cap >= DOMSET_MAX_CAP)
			return -E2BIG;
		cap *= 2;
	}
	if (cap == s->cap)
		return 0;
	return domset_rehash(s, (uint32_t)cap);
}

/* Makes room for n more arena bytes. */
static int domset_arena_reserve(struct domset *s, size_t n)
{
	size_t want = s->alen + n, cap = s->acap;
	char *na;

	if (want > DOMSET_ARENA_MAX)
		return -E2BIG;
	if (want <= cap)
		return 0;
	while (cap < want)
		cap = cap < 4096 ? 4096 : cap * 2;
	if (cap > DOMSET_ARENA_MAX)
		cap = DOMSET_ARENA_MAX;
	na = realloc(s->arena, cap);
	if (!na)
		return -ENOMEM;
	s->arena = na;
	s->acap = cap;
	return 0;
}

/*
 * Gives back arena space a bulk load reserved and did not use (comments,
 * whitespace, the doubling): a big list is loaded once and kept for long.
 */
static void domset_arena_trim(struct domset *s)
{
	char *na;

	if (s->acap - s->alen < s->alen / 16 + 4096)
		return;
	na = realloc(s->arena, s->alen);
	if (!na)
		return; /* keeping the bigger block is fine */
	s->arena = na;
	s->acap = s->alen;
}

/* Grows the arena to exactly n more bytes (a bulk load's estimate): no doubling. */
static void domset_arena_exact(struct domset *s, size_t n)
{
	size_t want = s->alen + n;
	char *na;

	if (want <= s->acap || want > DOMSET_ARENA_MAX)
		return;
	na = realloc(s->arena, want);
	if (!na)
		return; /* only a hint: inserts grow what they need */
	s->arena = na;
	s->acap = want;
}

static unsigned int domset_bits(unsigned int k)
{
	return (k & 1) + ((k >> 1) & 1) + ((k >> 2) & 1);
}

/* Adds kind to name's record, creating it. */
static int domset_insert(struct domset *s, const char *name, size_t len, unsigned int kind)
{
	uint32_t tag = domset_tag(name, len), off, mask, i;
	unsigned char *k;
	int rc;

	off = domset_find(s, name, len, tag);
	if (off) {
		k = (unsigned char *)s->arena + off;
		s->entries += domset_bits(kind & ~*k);
		*k |= (unsigned char)kind;
	} else {
		rc = domset_arena_reserve(s, len + DOMSET_REC_EXTRA);
		if (rc < 0)
			return rc;
		rc = domset_reserve(s, s->used + 1);
		if (rc < 0)
			return rc;
		off = (uint32_t)s->alen;
		s->arena[off] = (char)kind;
		s->arena[off + 1] = '*';
		s->arena[off + 2] = '.';
		memcpy(s->arena + off + 3, name, len);
		s->arena[off + 3 + len] = '\0';
		s->alen += len + DOMSET_REC_EXTRA;
		mask = s->cap - 1;
		for (i = tag & mask; s->slot[i].off; i = (i + 1) & mask)
			;
		s->slot[i].tag = tag;
		s->slot[i].off = off;
		s->used++;
		s->entries += domset_bits(kind);
	}
	if (kind & (DOMSET_DOT | DOMSET_WILD))
		s->has_suffix = true;
	return 0;
}

/* ---------------------------------------------------------------- building */

struct domset *domset_new(void)
{
	struct domset *s = calloc(1, sizeof(*s));

	if (!s)
		goto fail;
	s->slot = calloc(DOMSET_MIN_CAP, sizeof(*s->slot));
	if (!s->slot)
		goto free_set;
	s->cap = DOMSET_MIN_CAP;
	/* offset 0 means "empty slot": no record may start there */
	if (domset_arena_reserve(s, 1) < 0)
		goto free_slots;
	s->arena[0] = '\0';
	s->alen = 1;
	return s;

free_slots:
	free(s->slot);
free_set:
	free(s);
fail:
	errno = ENOMEM;
	return NULL;
}

void domset_free(struct domset *s)
{
	if (!s)
		return;
	free(s->slot);
	free(s->arena);
	free(s);
}

/*
 * entry[0, len) quoted for a message: control bytes, '"' and '\' escaped,
 * cut at DOMSET_SHOW_MAX bytes. UTF-8 passes through, so an IDN entry shows
 * as written.
 */
static const char *domset_show(const char *entry, size_t len, char *buf, size_t cap)
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; i < len && i < DOMSET_SHOW_MAX && o + 6 < cap; i++) {
		unsigned char c = (unsigned char)entry[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (len > DOMSET_SHOW_MAX)
		o += (size_t)snprintf(buf + o, cap - o, "...");
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Adds one entry; on -EINVAL why says what is wrong with it (no quoting). */
static int domset_add_entry(struct domset *s, const char *entry, size_t len, char *why,
			    size_t whylen)
{
	char name[HOST_NORM_MAX];
	struct host_info info;
	unsigned int kind = DOMSET_EXACT;
	const char *p = entry;
	size_t n = len;
	int rc;

	if (n >= 2 && p[0] == '*' && p[1] == '.') {
		kind = DOMSET_WILD;
		p += 2;
		n -= 2;
	} else if (n >= 1 && p[0] == '.') {
		kind = DOMSET_DOT;
		p++;
		n--;
	}
	if (memchr(p, '*', n)) {
		snprintf(why, whylen, "'*' is only allowed as a leading \"*.\"");
		return -EINVAL;
	}
	if (kind != DOMSET_EXACT && n == 0) {
		snprintf(why, whylen, "a suffix entry needs a domain after its \"%s\"",
			 kind == DOMSET_WILD ? "*." : ".");
		return -EINVAL;
	}
	rc = host_normalize(p, n, name, sizeof(name), &info);
	if (rc == -EINVAL) {
		host_why(&info, why, whylen);
		return rc;
	}
	if (rc < 0) {
		snprintf(why, whylen, "%s", strerror(-rc));
		return rc;
	}
	if (kind != DOMSET_EXACT && info.kind != HOST_NAME) {
		snprintf(why, whylen, "a suffix entry needs a domain name, not an IP address");
		return -EINVAL;
	}
	rc = domset_insert(s, name, info.len, kind);
	if (rc < 0)
		snprintf(why, whylen, "%s", rc == -E2BIG ? "the set is full" : strerror(-rc));
	return rc;
}

int domset_add(struct domset *s, const char *entry, size_t len, char *err, size_t errlen)
{
	char why[256], show[DOMSET_SHOW_MAX * 4 + 8];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!s || (!entry && len)) {
		util_errf(err, errlen, "no set or no entry");
		return -EINVAL;
	}
	if (!entry)
		entry = "";
	rc = domset_add_entry(s, entry, len, why, sizeof(why));
	if (rc < 0)
		util_errf(err, errlen, "%s: %s", domset_show(entry, len, show, sizeof(show)), why);
	return rc;
}

int domset_add_list(struct domset *s, const char *const *entries, size_t n, char *err,
		    size_t errlen)
{
	char why[256], show[DOMSET_SHOW_MAX * 4 + 8];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!s || (!entries && n)) {
		util_errf(err, errlen, "no set or no entries");
		return -EINVAL;
	}
	/* a hint: each insert grows what it needs and reports what it cannot */
	domset_reserve(s, s->used + n);
	for (size_t i = 0; i < n; i++) {
		const char *e = entries[i] ? entries[i] : "";
		size_t len = strlen(e);

		rc = domset_add_entry(s, e, len, why, sizeof(why));
		if (rc < 0) {
			util_errf(err, errlen, "entry %zu: %s: %s", i,
				  domset_show(e, len, show, sizeof(show)), why);
			return rc;
		}
	}
	return 0;
}

int domset_load_text(struct domset *s, const char *name, const char *text, size_t len, char *err,
		     size_t errlen)
{
	char why[256], show[DOMSET_SHOW_MAX * 4 + 8];
	size_t lines = 1, lineno = 0, pos = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "(text)";
	if (!s || (!text && len)) {
		util_errf(err, errlen, "%s: no set or no text", name);
		return -EINVAL;
	}
	if (!len)
		return 0;
	/*
	 * Size the table and arena once: lines bound the entries, and the text
	 * bounds their bytes (but for IDN, which may grow). Only a hint: if it
	 * fails, each insert grows what it needs and reports what it cannot.
	 */
	for (const char *p = text, *end = text + len; p && p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			break;
		lines++;
	}
	if (domset_reserve(s, s->used + lines) == 0 && len <= DOMSET_ARENA_MAX / 2)
		domset_arena_exact(s, len + lines * DOMSET_REC_EXTRA);
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, b = 0, e;
		const char *hash = memchr(line, '#', n);

		lineno++;
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			util_errf(err, errlen, "%s:%zu: NUL byte", name, lineno);
			return -EINVAL;
		}
		if (hash)
			n = (size_t)(hash - line);
		while (b < n && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r'))
			b++;
		e = n;
		while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
			e--;
		if (b == e)
			continue;
		for (size_t i = b; i < e; i++) {
			if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
				util_errf(err, errlen, "%s:%zu: %s: one entry per line", name,
					  lineno, domset_show(line + b, e - b, show, sizeof(show)));
				return -EINVAL;
			}
		}
		rc = domset_add_entry(s, line + b, e - b, why, sizeof(why));
		if (rc < 0) {
			util_errf(err, errlen, "%s:%zu: %s: %s", name, lineno,
				  domset_show(line + b, e - b, show, sizeof(show)), why);
			return rc;
		}
	}
	domset_arena_trim(s);
	return 0;
}

int domset_load_file(struct domset *s, const char *path, char *err, size_t errlen)
{
	size_t len = 0, cap;
	struct stat st;
	char *buf;
	int fd, rc;

	if (err && errlen)
		err[0] = '\0';
	if (!s || !path) {
		util_errf(err, errlen, "no set or no path");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto close_fd;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto close_fd;
	}
	/* the size is a hint: a file that grows meanwhile is read to its end */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto close_fd;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				rc = -ENOMEM;
				goto free_buf;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto free_buf;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rc = domset_load_text(s, path, buf, len, err, errlen);
	free(buf);
	return rc;

free_buf:
	free(buf);
close_fd:
	close(fd);
fail:
	util_errf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

/* ---------------------------------------------------------------- matching */

/* Parent domains whose slots domset_match prefetches; deeper ones are probed as they come. */
#define DOMSET_PREFETCH 16

const char *domset_match(const struct domset *s, const char *host)
{
	uint32_t tag[DOMSET_PREFETCH], mask, off;
	size_t len, np = 0, n = 0;
	const char *end;
	unsigned char k;

	if (!s || !host)
		return NULL;
	len = strlen(host);
	if (!len || !s->used)
		return NULL;
	end = host + len;
	mask = s->cap - 1;
	/*
	 * A big set does not fit in cache, so each probe is a miss: issue
	 * the host's and its parents' slot loads together rather than one
	 * after another.
	 */
	tag[np] = domset_tag(host, len);
	__builtin_prefetch(&s->slot[tag[np] & mask]);
	np++;
	if (s->has_suffix) {
		for (const char *p = host;
		     np < DOMSET_PREFETCH && (p = memchr(p, '.', (size_t)(end - p)));) {
			p++;
			tag[np] = domset_tag(p, (size_t)(end - p));
			__builtin_prefetch(&s->slot[tag[np] & mask]);
			np++;
		}
	}
	off = domset_find(s, host, len, tag[0]);
	if (off) {
		k = (unsigned char)s->arena[off];
		if (k & DOMSET_EXACT)
			return s->arena + off + 3;
		if (k & DOMSET_DOT)
			return s->arena + off + 2;
	}
	if (!s->has_suffix)
		return NULL;
	/* the parents, nearest first; the first DOMSET_PREFETCH - 1 hashed above */
	for (const char *p = host; (p = memchr(p, '.', (size_t)(end - p)));) {
		p++;
		n++;
		off = domset_find(s, p, (size_t)(end - p),
				  n < np ? tag[n] : domset_tag(p, (size_t)(end - p)));
		if (!off)
			continue;
		k = (unsigned char)s->arena[off];
		if (k & DOMSET_DOT)
			return s->arena + off + 2;
		if (k & DOMSET_WILD)
			return s->arena + off + 1;
	}
	return NULL;
}

size_t domset_size(const struct domset *s)
{
	return s ? s->entries : 0;
}

size_t domset_mem(const struct domset *s)
{
	return s ? (size_t)s->cap * sizeof(*s->slot) + s->acap : 0;
}
