/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP Basic authentication for the forward proxy (RFC 7617, RFC 9110 11):
 * Proxy-Authorization checked against a file of salted password hashes, and
 * the Proxy-Authenticate challenge that goes with a 407.
 *
 * The password file, htpasswd-like, one entry a line:
 *
 *   # comment (the first non-blank character is '#')
 *   alice:$y$j9T$...            yescrypt (what auth_hash_password writes)
 *   bob:$6$rounds=5000$...      SHA-512 crypt
 *   carol:$2b$12$...            bcrypt ($2y$, as htpasswd -B writes, too)
 *
 * Blank lines are allowed. Anything else is refused at load with
 * "file:line: why", so a typo never silently locks a user out or, worse,
 * lets one in: DES, MD5 ($1$, $apr1$), {SHA}, plain text, SHA-256 crypt,
 * $2a$ bcrypt, salts shorter than 8 characters, locked ('!', '*') entries,
 * shadow-style extra fields, leading or trailing whitespace, CR (DOS line
 * endings), NUL, a UTF-8 byte order mark, a user given twice, and a file
 * with no user at all.
 * User names are 1..AUTH_USER_MAX bytes of valid UTF-8 without ':', space
 * or control characters; they are compared byte for byte (no Unicode
 * normalization).
 *
 * Cost and the cache. A slow hash costs milliseconds per check by design
 * (yescrypt at its default cost: ~20 ms here), which a proxy answering
 * thousands of requests a second cannot pay on each one. So every db has a
 * small positive cache: the SHA-256 of the exact Proxy-Authorization value
 * (salted with a per-db random key, so a memory dump does not hold fast
 * hashes of credentials) maps to the user it authenticated, for a TTL
 * (default 60 s) counted from the check that hashed, in at most a bounded
 * number of entries (default 1024, least recently used evicted first). A
 * keep-alive client that repeats the same header costs one hash per TTL.
 * Only successes are cached: every failure hashes, which is what makes
 * guessing slow; rate limiting failed clients is the caller's job.
 *
 * Password changes: the db is immutable once loaded; a changed file takes
 * effect when the caller loads a new db and swaps it in (a new db starts
 * with an empty cache). A caller that keeps checking against the old db
 * for a while (say, until in-flight requests finish) still accepts an old
 * password for at most the TTL after it was last hashed: a change takes
 * effect on reload plus at most the TTL.
 *
 * Threads: one db may be shared by all workers. The users and hashes never
 * change after load; the cache and the counters sit behind a mutex that is
 * held only for an O(1) lookup or insert, never while hashing, so threads
 * hash in parallel. auth_db_set_cache and auth_db_set_clock are safe too,
 * but are meant for setup.
 *
 * Event loops: a cache miss still blocks for one hash. A loop that must
 * never block calls auth_check_cached() first and hands only its misses
 * (-ENOENT) to a thread that calls auth_check_basic().
 *
 * Pure apart from auth_db_load (which reads the file) and the OS randomness
 * behind the salts: no globals, no logging.
 */
#ifndef XDP_AUTH_BASIC_H
#define XDP_AUTH_BASIC_H

#include <stddef.h>
#include <stdint.h>

/* Bytes in a user name (file and header alike); user_out needs one more. */
#define AUTH_USER_MAX 64
/* Bytes in a password: libxcrypt refuses longer phrases (CRYPT_MAX_PASSPHRASE_SIZE). */
#define AUTH_PASSWORD_MAX 511
/* Bytes in a password file line, newline excluded. */
#define AUTH_LINE_MAX 4096
/* Bytes in a password file. */
#define AUTH_FILE_MAX (64u << 20)
/* Room for any hash auth_hash_password writes, NUL included. */
#define AUTH_HASH_MAX 128

#define AUTH_CACHE_ENTRIES_DEFAULT 1024
#define AUTH_CACHE_ENTRIES_MAX	   (1u << 20)
#define AUTH_CACHE_TTL_DEFAULT	   60 /* seconds */

struct auth_db;

/* Counters since load, for `xdproxy stats` and the tests. */
struct auth_stats {
	uint64_t ok;		/* checks that returned 0 */
	uint64_t denied;	/* checks that returned -EACCES */
	uint64_t malformed;	/* checks that returned -EINVAL for the header */
	uint64_t hashes;	/* crypt(3) calls, dummy ones for unknown users included */
	uint64_t cache_hits;	/* successes answered by the cache */
	uint64_t cache_misses;	/* well-formed headers not in the cache (cache enabled) */
	uint64_t cache_expired; /* entries found past their TTL and dropped */
	uint64_t cache_evicted; /* live entries dropped to make room */
};

/*
 * Read and validate the password file at path (a regular file of at most
 * AUTH_FILE_MAX bytes) into a new db with the default cache.
 *
 * Returns the db, or NULL with errno set and, when err is not NULL, a
 * NUL-terminated message in err[0, errlen):
 *   EINVAL  a syntax or policy error: "path:line: why" (or "path: why");
 *   EFBIG   the file is larger than AUTH_FILE_MAX;
 *   EAGAIN  the file grew while being read;
 *   EIO     no randomness for the cache key;
 *   ENOMEM  out of memory;
 *   others  from open/fstat/read ("path: strerror").
 */
struct auth_db *auth_db_load(const char *path, char *err, size_t errlen);

/*
 * The same from text[0, len) already in memory (the text is copied);
 * name stands for the file in messages ("<input>" if NULL). text may be
 * NULL only with len 0 (which then fails: no users).
 */
struct auth_db *auth_db_parse(const char *text, size_t len, const char *name, char *err,
			      size_t errlen);

/* Free a db; NULL is fine. No check may be running on it. */
void auth_db_free(struct auth_db *db);

/* Number of users; 0 for NULL. */
size_t auth_db_count(const struct auth_db *db);

/*
 * Resize the cache to hold up to entries headers for ttl_sec seconds each;
 * entries or ttl_sec 0 disables it. Drops what was cached.
 * Returns 0, -EINVAL (db NULL, entries > AUTH_CACHE_ENTRIES_MAX) or -ENOMEM
 * (then the cache is left as it was).
 */
int auth_db_set_cache(struct auth_db *db, uint32_t entries, uint32_t ttl_sec);

/*
 * Use now_ms(ctx), a non-decreasing time in milliseconds, for cache expiry
 * instead of CLOCK_MONOTONIC (NULL restores that): for tests. Drops what
 * was cached, since old expiry times mean nothing on a new clock.
 */
void auth_db_set_clock(struct auth_db *db, uint64_t (*now_ms)(void *ctx), void *ctx);

/* Copy the counters into *out (zeros for a NULL db). */
void auth_db_stats(const struct auth_db *db, struct auth_stats *out);

/*
 * Check a Proxy-Authorization field value, value[0, len) as the h1 parser
 * gives it (OWS already cut): exactly "Basic" (any case), one SP, and a
 * padded, canonical base64 token (RFC 4648 4: length a multiple of 4, 0-2
 * '=', unused bits zero) that decodes to user ":" password, split at the
 * FIRST ':' (RFC 7617 2: a user name cannot hold ':', a password can).
 * The password is checked with crypt_r against the user's hash and the
 * result compared in constant time. An unknown user costs the same: the
 * password is hashed against the first user's hash (same method, same
 * cost) and refused whatever the result. Mixing methods or costs in one
 * file lets timing tell which kind of hash a user has; keep one kind.
 *
 * user_out may be NULL; otherwise user_cap must be > AUTH_USER_MAX and on
 * success the user name is copied there NUL-terminated.
 *
 * Returns
 *   0        authenticated (from the cache or by hashing);
 *   -EACCES  wrong password, unknown user, or a password over
 *            AUTH_PASSWORD_MAX bytes;
 *   -EINVAL  the value is malformed: another scheme, not exactly one SP,
 *            an empty, invalid, unpadded or non-canonical token, no ':'
 *            in the decoded text, or a control character in it (RFC 7617
 *            forbids them; NUL would cut the password short); also for a
 *            NULL db, value NULL with len > 0, user_cap too small;
 *   -ENOMEM  no memory for crypt_r's work area.
 * Blocks for one hash on a cache miss; thread-safe.
 */
int auth_check_basic(const struct auth_db *db, const char *value, size_t len, char *user_out,
		     size_t user_cap);

/*
 * auth_check_basic without the hash: 0 (and the user) when the value is a
 * live cache entry, -ENOENT when it is well-formed but not cached (or the
 * cache is disabled), -EINVAL as above. Never blocks on a hash.
 */
int auth_check_cached(const struct auth_db *db, const char *value, size_t len, char *user_out,
		      size_t user_cap);

/*
 * Hash password (NUL-terminated, at most AUTH_PASSWORD_MAX bytes, no
 * control characters since no client could send them) with yescrypt at
 * libxcrypt's default cost and a fresh random salt from crypt_gensalt_rn,
 * into out[0, cap) NUL-terminated: a line's hash for the password file.
 * An empty password is hashed like any other: refusing it is policy for
 * the caller (the CLI).
 *
 * Returns 0, -EINVAL (NULL argument, password too long or with a control
 * character), -ENOSPC (cap too small: AUTH_HASH_MAX is always enough),
 * -ENOMEM, or -errno from libxcrypt (e.g. no randomness available).
 */
int auth_hash_password(const char *password, char *out, size_t cap);

/*
 * The Proxy-Authenticate field value for a 407:
 *   Basic realm="<realm>", charset="UTF-8"
 * with realm written as an RFC 9110 quoted-string ('"' and '\' escaped with
 * '\'). realm is NUL-terminated and may be empty; it must not hold CR, LF
 * or another control character but HTAB (they cannot appear in a
 * quoted-string, and CR/LF would split the header).
 *
 * Returns 0 with *len the value length and out NUL-terminated, or
 *   -EINVAL  realm or len NULL, out NULL with cap > 0, a control character;
 *   -ENOSPC  cap < *len + 1: *len is set to the length needed (call with
 *            out NULL and cap 0 to measure); out[0, cap) may be written.
 */
int auth_challenge(const char *realm, char *out, size_t cap, size_t *len);

#endif
