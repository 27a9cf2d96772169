// SPDX-License-Identifier: BSD-2-Clause
/*
 * Basic authentication against a password file; see basic.h for the
 * contract. The crypto is libxcrypt's (crypt_r, crypt_gensalt_rn) and
 * OpenSSL's (base64, SHA-256, CRYPTO_memcmp, RAND_bytes): nothing here
 * computes a hash by hand.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/basic.h"
#include "util/err.h"

/* Longest "user:password" worth decoding: anything longer cannot match. */
#define CRED_MAX (AUTH_USER_MAX + 1 + AUTH_PASSWORD_MAX)
/* Shortest salt accepted for yescrypt and SHA-512 crypt, in characters. */
#define SALT_MIN 8
#define NIL	 UINT32_MAX

struct auth_user {
	const char *name; /* NUL-terminated, in db->text */
	const char *hash; /* NUL-terminated, in db->text */
	uint32_t name_len;
	uint32_t hash_len;
	uint32_t line;
};

/* One cached header: key = SHA-256(db->key_salt || value). */
struct auth_centry {
	uint8_t key[32];
	uint64_t expires; /* ms on the cache's clock; live while now < expires */
	uint32_t user;	  /* index in db->users */
	uint32_t hnext;	  /* next in the bucket chain */
	uint32_t prev;	  /* LRU list, most recent at head */
	uint32_t next;	  /* LRU list, or the free list */
};

/*
 * Everything a check changes. It hangs off the db by pointer so that
 * checks can take a const db: the users never change, this does.
 */
struct auth_cache {
	pthread_mutex_t lock;
	struct auth_centry *ent;
	uint32_t *bucket;
	uint32_t cap; /* entries; 0 = disabled */
	uint32_t mask;
	uint32_t head, tail, free;
	uint64_t ttl_ms;
	uint64_t (*now_ms)(void *ctx);
	void *now_ctx;
	struct auth_stats st;
};

struct auth_db {
	char *text; /* the file, ':' and '\n' of entries turned into NULs */
	size_t text_len;
	struct auth_user *users;
	size_t nr_users;
	const struct auth_user *dummy; /* hashed against for unknown users */
	EVP_MD *sha256;		       /* fetched once, not per check */
	uint8_t key_salt[32];
	struct auth_cache *c;
};

/* ------------------------------------------------------------------ errors */

/* ------------------------------------------------------------------ users */

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, <= U+10FFFF. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* The user-name rule of basic.h; NULL if ok, else why not. */
static const char *user_bad(const char *s, size_t n)
{
	if (n == 0)
		return "empty user name";
	if (n > AUTH_USER_MAX)
		return "user name longer than 64 bytes";
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)s[i]) || s[i] == ' ')
			return "user name holds a space or a control character";
	if (!utf8_ok((const unsigned char *)s, n))
		return "user name is not valid UTF-8";
	return NULL;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int user_sort_cmp(const void *pa, const void *pb)
{
	const struct auth_user *a = pa, *b = pb;
	int r = name_cmp(a->name, a->name_len, b->name, b->name_len);

	/* Equal names: file order, so a duplicate is reported on its later line. */
	return r ? r : (a->line > b->line) - (a->line < b->line);
}

static const struct auth_user *user_find(const struct auth_db *db, const char *name, size_t n)
{
	size_t lo = 0, hi = db->nr_users;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct auth_user *u = &db->users[mid];
		int r = name_cmp(name, n, u->name, u->name_len);

		if (r == 0)
			return u;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------------ hashes */

/* crypt(3)'s base64 alphabet, which every accepted format uses. */
static bool is_b64c(unsigned char c)
{
	return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/* Characters of s[0, n) in the crypt alphabet before the first other one. */
static size_t b64c_span(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_b64c((unsigned char)s[i]))
		i++;
	return i;
}

/*
 * "$<params>$<salt>$<hash>" after the "$y$" prefix: params and salt in the
 * crypt alphabet, salt at least SALT_MIN, hash 43 characters (32 bytes).
 */
static const char *yescrypt_bad(const char *h, size_t n)
{
	size_t p = b64c_span(h, n), s;

	if (p == 0 || p == n || h[p] != '$')
		return "malformed yescrypt hash: parameters";
	h += p + 1, n -= p + 1;
	s = b64c_span(h, n);
	if (s == n || h[s] != '$')
		return "malformed yescrypt hash: salt";
	if (s < SALT_MIN)
		return "yescrypt salt shorter than 8 characters";
	h += s + 1, n -= s + 1;
	if (n != 43 || b64c_span(h, n) != n)
		return "malformed yescrypt hash: hash part is not 43 characters";
	return NULL;
}

/*
 * "[rounds=N$]<salt>$<hash>" after "$6$": N in 1000..999999999 written as
 * crypt writes it (no leading zero, else the output never equals the
 * stored string), salt 8..16 characters (crypt cuts longer ones), hash 86.
 */
static const char *sha512_bad(const char *h, size_t n)
{
	size_t s;

	if (n >= 7 && memcmp(h, "rounds=", 7) == 0) {
		uint64_t r = 0;
		size_t i = 7;

		while (i < n && h[i] >= '0' && h[i] <= '9' && i < 17)
			r = r * 10 + (uint64_t)(h[i++] - '0');
		if (i == 7 || i == n || h[i] != '$' || h[7] == '0' || r < 1000 || r > 999999999)
			return "SHA-512 rounds must be 1000..999999999";
		h += i + 1, n -= i + 1;
	}
	s = b64c_span(h, n);
	if (s == n || h[s] != '$')
		return "malformed SHA-512 hash: salt";
	if (s < SALT_MIN)
		return "SHA-512 salt shorter than 8 characters";
	if (s > 16)
		return "SHA-512 salt longer than 16 characters";
	h += s + 1, n -= s + 1;
	if (n != 86 || b64c_span(h, n) != n)
		return "malformed SHA-512 hash: hash part is not 86 characters";
	return NULL;
}

/* "NN$" + 22 salt + 31 hash characters after "$2b$": 60 in all. */
static const char *bcrypt_bad(const char *h, size_t n)
{
	int cost;

	if (n != 56 || h[0] < '0' || h[0] > '9' || h[1] < '0' || h[1] > '9' || h[2] != '$' ||
	    b64c_span(h + 3, 53) != 53)
		return "malformed bcrypt hash: expected $2b$NN$ and 53 characters";
	cost = (h[0] - '0') * 10 + (h[1] - '0');
	if (cost < 4 || cost > 31)
		return "bcrypt cost must be 04..31";
	return NULL;
}

/*
 * The hash policy of basic.h; NULL if ok, else why not. Weak and unsalted
 * formats get a message naming them, so the operator knows to rehash.
 */
static const char *hash_bad(const char *h, size_t n)
{
	const char *why;

	if (n == 0)
		return "empty hash: a user needs a password";
	if (memchr(h, ':', n))
		return "more than two ':'-separated fields (shadow-style lines are not supported)";
	if (h[0] == '!' || h[0] == '*')
		return "locked or disabled entry ('!' or '*'): remove the line instead";
	if (n >= 3 && memcmp(h, "$y$", 3) == 0)
		why = yescrypt_bad(h + 3, n - 3);
	else if (n >= 3 && memcmp(h, "$6$", 3) == 0)
		why = sha512_bad(h + 3, n - 3);
	else if (n >= 4 && (memcmp(h, "$2b$", 4) == 0 || memcmp(h, "$2y$", 4) == 0))
		why = bcrypt_bad(h + 4, n - 4);
	else if (n >= 3 && memcmp(h, "$1$", 3) == 0)
		return "MD5-crypt ($1$) is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt";
	else if (n >= 6 && memcmp(h, "$apr1$", 6) == 0)
		return "Apache MD5 ($apr1$) is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt";
	else if (n >= 5 && memcmp(h, "{SHA}", 5) == 0)
		return "{SHA} is unsalted SHA-1: rehash with yescrypt, SHA-512 ($6$) or bcrypt";
	else if (n >= 3 && memcmp(h, "$5$", 3) == 0)
		return "SHA-256 crypt ($5$) is not accepted: use yescrypt, SHA-512 ($6$) or bcrypt";
	else if (n >= 4 && (memcmp(h, "$2a$", 4) == 0 || memcmp(h, "$2x$", 4) == 0))
		return "bcrypt $2a$/$2x$ handle 8-bit passwords ambiguously: rehash as $2b$";
	else if (n == 13 && b64c_span(h, n) == n)
		return "traditional DES crypt is weak: rehash with yescrypt, SHA-512 ($6$) or "
		       "bcrypt";
	else if (h[0] == '_')
		return "BSDi extended DES crypt is weak: rehash with yescrypt, SHA-512 ($6$) or "
		       "bcrypt";
	else if (h[0] == '$')
		return "unsupported hash method: use yescrypt ($y$), SHA-512 ($6$) or bcrypt "
		       "($2b$)";
	else
		return "not a crypt(3) hash (plain text?): use yescrypt, SHA-512 ($6$) or bcrypt";
	if (why)
		return why;
	/* What our parse accepted, libxcrypt must accept too (not disabled, not legacy). */
	if (crypt_checksalt(h) != CRYPT_SALT_OK)
		return "hash method refused by libxcrypt";
	return NULL;
}

/* ------------------------------------------------------------------ load */

static uint64_t clock_mono_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void cache_arrays_free(struct auth_cache *c)
{
	free(c->ent);
	free(c->bucket);
	c->ent = NULL;
	c->bucket = NULL;
	c->cap = 0;
}

/*
 * Parse one line, line[0, n) NUL-terminated at line[n] in place of its
 * newline, into *u (pointers into the line; the caller cuts the name at
 * its ':'). 1 = an entry, 0 = blank or comment, -1 = error with *why set.
 */
static int parse_line(char *line, size_t n, struct auth_user *u, const char **why)
{
	size_t i = 0;
	char *colon;

	/* NUL and CR first, so that they are reported on comment lines too. */
	if (memchr(line, '\0', n)) {
		*why = "NUL byte";
		return -1;
	}
	if (n && line[n - 1] == '\r') {
		*why = "carriage return (DOS line endings?)";
		return -1;
	}
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == n || line[i] == '#')
		return 0;
	if (i > 0) {
		*why = "leading whitespace";
		return -1;
	}
	if (line[n - 1] == ' ' || line[n - 1] == '\t') {
		*why = "trailing whitespace";
		return -1;
	}
	colon = memchr(line, ':', n);
	if (!colon) {
		*why = "expected user:hash";
		return -1;
	}
	u->name = line;
	u->name_len = (uint32_t)(colon - line);
	u->hash = colon + 1;
	u->hash_len = (uint32_t)(n - u->name_len - 1);
	*why = user_bad(u->name, u->name_len);
	if (!*why)
		*why = hash_bad(u->hash, u->hash_len);
	return *why ? -1 : 1;
}

/* Append *u to db->users, growing it by doubling. 0 or -ENOMEM. */
static int users_push(struct auth_db *db, size_t *cap, const struct auth_user *u)
{
	if (db->nr_users == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct auth_user *nu = realloc(db->users, ncap * sizeof(*nu));

		if (!nu)
			return -ENOMEM;
		db->users = nu;
		*cap = ncap;
	}
	db->users[db->nr_users++] = *u;
	return 0;
}

/*
 * Sort the users for user_find, point db->dummy at the file's first user
 * and refuse a name given twice. 0 or -EINVAL with the message set.
 */
static int users_index(struct auth_db *db, const char *name, char *err, size_t errlen)
{
	const char *first = db->users[0].hash;

	qsort(db->users, db->nr_users, sizeof(*db->users), user_sort_cmp);
	for (size_t i = 0; i < db->nr_users; i++) {
		const struct auth_user *a = &db->users[i];

		if (a->hash == first)
			db->dummy = a;
		if (i && !name_cmp(a->name, a->name_len, a[-1].name, a[-1].name_len)) {
			util_errf(err, errlen, "%s:%u: user \"%s\" already defined on line %u",
				  name, a->line, a->name, a[-1].line);
			return -EINVAL;
		}
	}
	return 0;
}

/* Split db->text into lines and entries. 0 or -EINVAL/-ENOMEM with the message set. */
static int parse_text(struct auth_db *db, const char *name, char *err, size_t errlen)
{
	size_t cap = 0, off = 0;
	uint32_t lineno = 0;

	/* A BOM would silently become part of the first user's name. */
	if (db->text_len >= 3 && memcmp(db->text, "\xef\xbb\xbf", 3) == 0) {
		util_errf(err, errlen, "%s:1: UTF-8 byte order mark (save the file without it)",
			  name);
		return -EINVAL;
	}
	while (off < db->text_len) {
		char *line = db->text + off, *nl = memchr(line, '\n', db->text_len - off);
		size_t n = nl ? (size_t)(nl - line) : db->text_len - off;
		struct auth_user u = {0};
		const char *why = NULL;
		int rc;

		off += n + (nl ? 1 : 0);
		lineno++;
		if (n > AUTH_LINE_MAX) {
			util_errf(err, errlen, "%s:%u: line longer than %u bytes", name, lineno,
				  AUTH_LINE_MAX);
			return -EINVAL;
		}
		/* The '\n', or the text's final NUL: crypt_checksalt reads a C string. */
		line[n] = '\0';
		rc = parse_line(line, n, &u, &why);
		if (rc < 0) {
			util_errf(err, errlen, "%s:%u: %s", name, lineno, why);
			return -EINVAL;
		}
		if (rc == 0)
			continue;
		line[u.name_len] = '\0';
		u.line = lineno;
		if (users_push(db, &cap, &u)) {
			util_errf(err, errlen, "%s: out of memory", name);
			return -ENOMEM;
		}
	}
	if (db->nr_users == 0) {
		util_errf(err, errlen, "%s: no users", name);
		return -EINVAL;
	}
	return users_index(db, name, err, errlen);
}

struct auth_db *auth_db_parse(const char *text, size_t len, const char *name, char *err,
			      size_t errlen)
{
	struct auth_db *db;
	int rc;

	if (!name)
		name = "<input>";
	if (!text && len) {
		util_errf(err, errlen, "%s: no text", name);
		errno = EINVAL;
		return NULL;
	}
	if (len > AUTH_FILE_MAX) {
		util_errf(err, errlen, "%s: larger than %u bytes", name, AUTH_FILE_MAX);
		errno = EFBIG;
		return NULL;
	}
	rc = -ENOMEM;
	db = calloc(1, sizeof(*db));
	if (!db)
		goto fail;
	db->text = malloc(len + 1);
	if (!db->text)
		goto fail_db;
	if (len)
		memcpy(db->text, text, len);
	db->text[len] = '\0';
	db->text_len = len;

	rc = parse_text(db, name, err, errlen);
	if (rc)
		goto fail_text;
	rc = -ENOMEM;
	db->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!db->sha256)
		goto fail_text;
	if (RAND_bytes(db->key_salt, sizeof(db->key_salt)) != 1) {
		util_errf(err, errlen, "%s: no randomness for the cache key", name);
		rc = -EIO;
		goto fail_md;
	}
	db->c = calloc(1, sizeof(*db->c));
	if (!db->c)
		goto fail_md;
	rc = -pthread_mutex_init(&db->c->lock, NULL);
	if (rc) {
		util_errf(err, errlen, "%s: %s", name, strerror(-rc));
		goto fail_cache;
	}
	db->c->now_ms = clock_mono_ms;
	rc = auth_db_set_cache(db, AUTH_CACHE_ENTRIES_DEFAULT, AUTH_CACHE_TTL_DEFAULT);
	if (rc)
		goto fail_mutex;
	return db;

fail_mutex:
	pthread_mutex_destroy(&db->c->lock);
fail_cache:
	free(db->c);
fail_md:
	EVP_MD_free(db->sha256);
fail_text:
	free(db->users);
	OPENSSL_cleanse(db->text, len);
	free(db->text);
fail_db:
	free(db);
fail:
	if (rc == -ENOMEM)
		util_errf(err, errlen, "%s: out of memory", name);
	errno = -rc;
	return NULL;
}

struct auth_db *auth_db_load(const char *path, char *err, size_t errlen)
{
	struct auth_db *db = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, e;

	if (!path) {
		util_errf(err, errlen, "no password file given");
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		util_errf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		util_errf(err, errlen, "%s: %s", path, strerror(e));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		util_errf(err, errlen, "%s: not a regular file", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > AUTH_FILE_MAX) {
		e = EFBIG;
		util_errf(err, errlen, "%s: larger than %u bytes", path, AUTH_FILE_MAX);
		goto out_close;
	}
	/* One byte more than the size: a file that grew since fstat is refused, not cut. */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		e = ENOMEM;
		util_errf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			util_errf(err, errlen, "%s: %s", path, strerror(e));
			goto out_free;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > (size_t)st.st_size) {
			e = EAGAIN;
			util_errf(err, errlen, "%s: changed while being read", path);
			goto out_free;
		}
	}
	db = auth_db_parse(buf, got, path, err, errlen);
	e = errno;
out_free:
	OPENSSL_cleanse(buf, got);
	free(buf);
out_close:
	close(fd);
	errno = e;
	return db;
}

void auth_db_free(struct auth_db *db)
{
	if (!db)
		return;
	if (db->c) {
		cache_arrays_free(db->c);
		pthread_mutex_destroy(&db->c->lock);
		free(db->c);
	}
	EVP_MD_free(db->sha256);
	free(db->users);
	/* The text holds the hashes: not secrets, but no reason to leave them around. */
	OPENSSL_cleanse(db->text, db->text_len);
	free(db->text);
	free(db);
}

size_t auth_db_count(const struct auth_db *db)
{
	return db ? db->nr_users : 0;
}

/* ------------------------------------------------------------------ cache */

static uint32_t key_bucket(const struct auth_cache *c, const uint8_t *key)
{
	uint32_t h;

	/* SHA-256 output under a secret salt: any 4 bytes are uniform and unguessable. */
	memcpy(&h, key, sizeof(h));
	return h & c->mask;
}

static void lru_unlink(struct auth_cache *c, uint32_t i)
{
	struct auth_centry *e = &c->ent[i];

	if (e->prev != NIL)
		c->ent[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next != NIL)
		c->ent[e->next].prev = e->prev;
	else
		c->tail = e->prev;
}

static void lru_push_head(struct auth_cache *c, uint32_t i)
{
	struct auth_centry *e = &c->ent[i];

	e->prev = NIL;
	e->next = c->head;
	if (c->head != NIL)
		c->ent[c->head].prev = i;
	else
		c->tail = i;
	c->head = i;
}

/* Take entry i out of its bucket chain and the LRU list, onto the free list. */
static void cache_remove(struct auth_cache *c, uint32_t i)
{
	uint32_t *pp = &c->bucket[key_bucket(c, c->ent[i].key)];

	while (*pp != i)
		pp = &c->ent[*pp].hnext;
	*pp = c->ent[i].hnext;
	lru_unlink(c, i);
	c->ent[i].next = c->free;
	c->free = i;
}

/* The live entry for key, or NIL; an expired one found on the way is dropped. */
static uint32_t cache_find(struct auth_cache *c, const uint8_t *key, uint64_t now)
{
	uint32_t i;

	for (i = c->bucket[key_bucket(c, key)]; i != NIL; i = c->ent[i].hnext)
		if (memcmp(c->ent[i].key, key, 32) == 0)
			break;
	if (i == NIL)
		return NIL;
	if (now >= c->ent[i].expires) {
		cache_remove(c, i);
		c->st.cache_expired++;
		return NIL;
	}
	return i;
}

static void cache_insert(struct auth_cache *c, const uint8_t *key, uint32_t user, uint64_t now)
{
	uint32_t i = cache_find(c, key, now), b;

	/* Two threads that missed on the same header both hashed: keep one entry. */
	if (i != NIL) {
		lru_unlink(c, i);
	} else {
		if (c->free == NIL) {
			cache_remove(c, c->tail);
			c->st.cache_evicted++;
		}
		i = c->free;
		c->free = c->ent[i].next;
		memcpy(c->ent[i].key, key, 32);
		b = key_bucket(c, key);
		c->ent[i].hnext = c->bucket[b];
		c->bucket[b] = i;
	}
	c->ent[i].user = user;
	c->ent[i].expires = now + c->ttl_ms;
	lru_push_head(c, i);
}

/* Empty the cache, keeping its size. Called with the lock held. */
static void cache_clear(struct auth_cache *c)
{
	c->head = c->tail = c->free = NIL;
	if (!c->cap)
		return;
	for (uint32_t i = 0; i <= c->mask; i++)
		c->bucket[i] = NIL;
	for (uint32_t i = c->cap; i-- > 0;) {
		c->ent[i].next = c->free;
		c->free = i;
	}
}

int auth_db_set_cache(struct auth_db *db, uint32_t entries, uint32_t ttl_sec)
{
	struct auth_centry *ent = NULL;
	uint32_t *bucket = NULL, nb = 1;
	struct auth_cache *c;

	if (!db || entries > AUTH_CACHE_ENTRIES_MAX)
		return -EINVAL;
	if (!ttl_sec)
		entries = 0;
	if (entries) {
		/* Twice the entries, rounded up to a power of two: chains stay short. */
		while (nb < entries * 2)
			nb <<= 1;
		ent = calloc(entries, sizeof(*ent));
		bucket = calloc(nb, sizeof(*bucket));
		if (!ent || !bucket) {
			free(ent);
			free(bucket);
			return -ENOMEM;
		}
	}
	c = db->c;
	pthread_mutex_lock(&c->lock);
	cache_arrays_free(c);
	c->ent = ent;
	c->bucket = bucket;
	c->cap = entries;
	c->mask = nb - 1;
	c->ttl_ms = (uint64_t)ttl_sec * 1000;
	cache_clear(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void auth_db_set_clock(struct auth_db *db, uint64_t (*now_ms)(void *ctx), void *ctx)
{
	if (!db)
		return;
	pthread_mutex_lock(&db->c->lock);
	db->c->now_ms = now_ms ? now_ms : clock_mono_ms;
	db->c->now_ctx = now_ms ? ctx : NULL;
	cache_clear(db->c);
	pthread_mutex_unlock(&db->c->lock);
}

void auth_db_stats(const struct auth_db *db, struct auth_stats *out)
{
	if (!out)
		return;
	if (!db) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&db->c->lock);
	*out = db->c->st;
	pthread_mutex_unlock(&db->c->lock);
}

/* ------------------------------------------------------------------ check */

/* Standard base64 (RFC 4648 4): the value of c, or -1. */
static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Split value into its decoded credentials: out[0, *n) NUL-terminated at
 * out[*n], with out sized CRED_MAX + 3. 0, -EINVAL (malformed) or -EACCES
 * (well-formed but longer than any user:password could be).
 *
 * EVP_DecodeBlock skips leading and trailing whitespace, accepts '=' where
 * it should not and counts padding as zero bytes, so the token is checked
 * here first and EVP_DecodeBlock only ever sees a valid, padded token.
 */
static int basic_decode(const char *v, size_t len, unsigned char *out, size_t *n)
{
	const char *tok;
	size_t tlen, pad = 0, dlen;
	int last, got;

	if (len < 6 || strncasecmp(v, "Basic", 5) != 0 || v[5] != ' ')
		return -EINVAL;
	tok = v + 6;
	tlen = len - 6;
	if (tlen == 0 || tlen % 4)
		return -EINVAL;
	while (pad < 2 && tok[tlen - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < tlen - pad; i++)
		if (b64_val((unsigned char)tok[i]) < 0)
			return -EINVAL;
	/* Canonical: the bits of the last character that padding leaves over are zero. */
	last = b64_val((unsigned char)tok[tlen - pad - 1]);
	if ((pad == 1 && (last & 0x03)) || (pad == 2 && (last & 0x0f)))
		return -EINVAL;
	dlen = tlen / 4 * 3 - pad;
	if (dlen > CRED_MAX)
		return -EACCES;
	got = EVP_DecodeBlock(out, (const unsigned char *)tok, (int)tlen);
	if (got < 0 || (size_t)got != tlen / 4 * 3)
		return -EINVAL;
	out[dlen] = '\0';
	*n = dlen;
	return 0;
}

/* key = SHA-256(db->key_salt || value): true, or false if OpenSSL failed. */
static bool cache_key(const struct auth_db *db, const char *value, size_t len, uint8_t *key)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int klen = 0;
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DigestInit_ex(ctx, db->sha256, NULL) == 1 &&
	     EVP_DigestUpdate(ctx, db->key_salt, sizeof(db->key_salt)) == 1 &&
	     EVP_DigestUpdate(ctx, value, len) == 1 && EVP_DigestFinal_ex(ctx, key, &klen) == 1 &&
	     klen == 32;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/*
 * crypt_r(password, hash) == hash, compared in constant time. crypt_data is
 * 32 KiB: on the heap, not on a worker's stack. 1 match, 0 no, -ENOMEM;
 * *hashed is set when crypt_r ran, for the counters.
 */
static int verify(const struct auth_user *u, const char *password, bool *hashed)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *r;
	int ok;

	if (!cd)
		return -ENOMEM;
	r = crypt_r(password, u->hash, cd);
	*hashed = true;
	/* NULL or a failure token ("*0", "*1") never equals a validated hash. */
	ok = r && r[0] != '*' && strlen(r) == u->hash_len &&
	     CRYPTO_memcmp(r, u->hash, u->hash_len) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

static void copy_user(const struct auth_user *u, char *out)
{
	if (out) {
		memcpy(out, u->name, u->name_len);
		out[u->name_len] = '\0';
	}
}

static int check(const struct auth_db *db, const char *value, size_t len, char *user_out,
		 size_t user_cap, bool may_hash)
{
	struct auth_cache *c;
	unsigned char cred[CRED_MAX + 3];
	const struct auth_user *u = NULL;
	const char *colon = NULL;
	uint8_t key[32];
	size_t n = 0, ulen;
	bool hashed = false, keyed;
	int rc, match;

	if (!db || (!value && len) || (user_out && user_cap <= AUTH_USER_MAX))
		return -EINVAL;
	c = db->c;
	rc = basic_decode(value, len, cred, &n);
	if (rc == 0) {
		colon = memchr(cred, ':', n);
		if (!colon)
			rc = -EINVAL;
		for (size_t i = 0; i < n && !rc; i++)
			if (is_ctl(cred[i]))
				rc = -EINVAL;
	}
	if (rc == -EACCES && !may_hash)
		rc = -ENOENT; /* never cached, but that is for auth_check_basic to say */
	if (rc) {
		pthread_mutex_lock(&c->lock);
		if (rc == -EINVAL)
			c->st.malformed++;
		else if (rc == -EACCES)
			c->st.denied++;
		pthread_mutex_unlock(&c->lock);
		goto out;
	}

	/*
	 * Outside the lock: SHA-256 is cheap, but the lock is shared by all
	 * workers. Should it fail, this check goes without the cache.
	 */
	keyed = cache_key(db, value, len, key);
	pthread_mutex_lock(&c->lock);
	if (c->cap && keyed) {
		uint32_t i;

		i = cache_find(c, key, c->now_ms(c->now_ctx));
		if (i != NIL) {
			lru_unlink(c, i);
			lru_push_head(c, i);
			copy_user(&db->users[c->ent[i].user], user_out);
			c->st.cache_hits++;
			c->st.ok++;
			pthread_mutex_unlock(&c->lock);
			rc = 0;
			goto out;
		}
		if (may_hash)
			c->st.cache_misses++;
	}
	pthread_mutex_unlock(&c->lock);
	if (!may_hash) {
		rc = -ENOENT;
		goto out;
	}

	ulen = (size_t)(colon - (const char *)cred);
	if (n - ulen - 1 > AUTH_PASSWORD_MAX) {
		/* crypt_r refuses it fast for any user: no timing to equalize. */
		match = 0;
	} else {
		u = user_find(db, (const char *)cred, ulen);
		match = verify(u ? u : db->dummy, colon + 1, &hashed);
		if (match < 0) {
			rc = match;
			goto out;
		}
		match = match && u;
	}

	pthread_mutex_lock(&c->lock);
	if (hashed)
		c->st.hashes++;
	if (match) {
		if (c->cap && keyed)
			cache_insert(c, key, (uint32_t)(u - db->users), c->now_ms(c->now_ctx));
		c->st.ok++;
	} else {
		c->st.denied++;
	}
	pthread_mutex_unlock(&c->lock);
	if (match)
		copy_user(u, user_out);
	rc = match ? 0 : -EACCES;
out:
	OPENSSL_cleanse(cred, sizeof(cred));
	return rc;
}

int auth_check_basic(const struct auth_db *db, const char *value, size_t len, char *user_out,
		     size_t user_cap)
{
	return check(db, value, len, user_out, user_cap, true);
}

int auth_check_cached(const struct auth_db *db, const char *value, size_t len, char *user_out,
		      size_t user_cap)
{
	return check(db, value, len, user_out, user_cap, false);
}

/* ------------------------------------------------------------------ CLI, 407 */

int auth_hash_password(const char *password, char *out, size_t cap)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *r;
	size_t plen, n;
	int rc = 0;

	if (!password || !out)
		return -EINVAL;
	plen = strlen(password);
	if (plen > AUTH_PASSWORD_MAX)
		return -EINVAL;
	for (size_t i = 0; i < plen; i++)
		if (is_ctl((unsigned char)password[i]))
			return -EINVAL;
	/* count 0 = libxcrypt's default cost; rbytes NULL = randomness from the OS. */
	errno = 0;
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)))
		return errno ? -errno : -EIO;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	errno = 0;
	r = crypt_r(password, setting, cd);
	if (!r || r[0] == '*') {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	n = strlen(r);
	if (n + 1 > cap) {
		rc = -ENOSPC;
		goto out;
	}
	memcpy(out, r, n + 1);
out:
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int auth_challenge(const char *realm, char *out, size_t cap, size_t *len)
{
	static const char pre[] = "Basic realm=\"", post[] = "\", charset=\"UTF-8\"";
	size_t n = 0;

	if (!realm || !len || (!out && cap))
		return -EINVAL;
	for (const char *p = realm; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		/* qdtext / quoted-pair (RFC 9110 5.6.4) allow HTAB, SP, VCHAR, obs-text. */
		if (is_ctl(ch) && ch != '\t')
			return -EINVAL;
		n += (ch == '"' || ch == '\\') ? 2 : 1;
	}
	n += sizeof(pre) - 1 + sizeof(post) - 1;
	*len = n;
	if (cap < n + 1)
		return -ENOSPC;
	memcpy(out, pre, sizeof(pre) - 1);
	n = sizeof(pre) - 1;
	for (const char *p = realm; *p; p++) {
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	memcpy(out + n, post, sizeof(post));
	return 0;
}
