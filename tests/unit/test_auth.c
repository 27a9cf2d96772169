// SPDX-License-Identifier: BSD-2-Clause
/*
 * Basic authentication tests. The hashes are published test vectors, not
 * outputs of the library under test: yescrypt from the reference
 * implementation's TESTS-OK, SHA-512 crypt from Drepper's specification
 * (and `openssl passwd -6`, an independent implementation, for the others),
 * bcrypt from OpenBSD's and jBCrypt's test suites. The one exception, the
 * SHA-512 hash of the empty password, is marked. Base64 tokens were written
 * with coreutils base64(1). Every header is checked from an exact-size heap
 * copy so ASan catches a read past its end, and the cache is observed
 * through the counters (a hit does not hash) and an injected clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth/basic.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "pleaseletmein": yescrypt reference TESTS-OK (about 10 ms here). */
#define H_YESCRYPT "$y$/A2$LdJMENpBABJJ3hIHj/$5IEld1eWdmh5lylrqHLF5dvA3ISpimEM9J1Dd05n/.3"
/* "Hello world!": the SHA-crypt specification's first two vectors. */
#define H_SHA512                                                                                   \
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"                                       \
	"O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCo"                                                  \
	"EOfaS35inz1"
#define H_SHA512_ROUNDS                                                                            \
	"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"          \
	"UrjmM0Dp8v"                                                                               \
	"OuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
/* "U*U": OpenBSD's bcrypt vector, in both spellings of the fixed algorithm. */
#define H_BCRYPT_2B "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
#define H_BCRYPT_2Y "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
/* "" (empty): jBCrypt's vector. */
#define H_BCRYPT_EMPTY "$2b$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."
/* openssl passwd -6 -salt colonsalt 'pa:ss:word' */
#define H_COLON                                                                                    \
	"$6$colonsalt$NNKpLdXv5r2LTfuVukY.2."                                                      \
	"j5NY9KKEzWy2Q1iDetNxcxCNfk4uU1CrJlEKohuEbRbWLyawHWxliU"                                   \
	"w1IpFinP5/"
/* openssl passwd -6 -salt utf8salt 'pässwörd' (UTF-8) */
#define H_UTF8                                                                                     \
	"$6$utf8salt$Nf6juS0Q3mv0f53eB4BVd6Njt8ABkI/Nw9Yqy9ZA65U6sGRcr2ajrL8Kwlq2SfdEvHi3Rhn/"     \
	"AVzWRrT"                                                                                  \
	"M5gRn80"
/* openssl passwd -6 -salt spacesalt ' lead and trail ' */
#define H_SPACES                                                                                   \
	"$6$spacesalt$aykNSxlADdWWyxXmXTMK4WCCZ1PwBolwJiFcDWjb4lb.blCQL6lyIj/"                     \
	"NtqHKN4jgs7wqvq3KLZcqx"                                                                   \
	"ZhHqKs9k/"
/* "": libxcrypt's own output (openssl passwd refuses empty passwords). */
#define H_SHA512_EMPTY                                                                             \
	"$6$emptysalt$TrI.h19YNad.S.Xw2WEgON9ojBrkXYcCfZrEcOEa9k/"                                 \
	"Bp5Sw4dxhsyY0KdBJ5Vt2UbEFOMolXqrfnZ"                                                      \
	"Hc1QRM.."

/* The first user's hash is the one unknown users are hashed against. */
static const char users_txt[] = "# xdproxy test users\n"
				"\n"
				"carol:" H_YESCRYPT "\n"
				"alice:" H_SHA512 "\n"
				"   \t\n"
				"   # indented comment\n"
				"rounds:" H_SHA512_ROUNDS "\n"
				"bob:" H_BCRYPT_2B "\n"
				"bobby:" H_BCRYPT_2Y "\n"
				"erin:" H_BCRYPT_EMPTY "\n"
				"emma:" H_SHA512_EMPTY "\n"
				"dave:" H_COLON "\n"
				"j\xc3\xbcrgen:" H_UTF8 "\n"
				"frank:" H_SPACES; /* no final newline */

/* Tokens: printf %s 'user:password' | base64 */
#define B_ALICE	      "Basic YWxpY2U6SGVsbG8gd29ybGQh"	       /* alice:Hello world! */
#define B_ALICE_WRONG "Basic YWxpY2U6d3Jvbmc="		       /* alice:wrong */
#define B_ALICE_SHORT "Basic YWxpY2U6SGVsbG8gd29ybGQ="	       /* alice:Hello world */
#define B_ALICE_LONG  "Basic YWxpY2U6SGVsbG8gd29ybGQheA=="     /* alice:Hello world!x */
#define B_ALICE_EMPTY "Basic YWxpY2U6"			       /* alice: */
#define B_ROUNDS      "Basic cm91bmRzOkhlbGxvIHdvcmxkIQ=="     /* rounds:Hello world! */
#define B_BOB	      "Basic Ym9iOlUqVQ=="		       /* bob:U*U */
#define B_BOB_WRONG   "Basic Ym9iOlUqdQ=="		       /* bob:U*u */
#define B_BOBBY	      "Basic Ym9iYnk6VSpV"		       /* bobby:U*U */
#define B_CAROL	      "Basic Y2Fyb2w6cGxlYXNlbGV0bWVpbg=="     /* carol:pleaseletmein */
#define B_CAROL_WRONG "Basic Y2Fyb2w6cGxlYXNlbGV0bWVpbkc="     /* carol:pleaseletmeinG */
#define B_MALLORY     "Basic bWFsbG9yeTpwbGVhc2VsZXRtZWlu"     /* mallory:pleaseletmein */
#define B_DAVE	      "Basic ZGF2ZTpwYTpzczp3b3Jk"	       /* dave:pa:ss:word */
#define B_DAVE_SPLIT  "Basic ZGF2ZTpwYTpzczp3b3JkOg=="	       /* dave:pa:ss:word: */
#define B_ERIN	      "Basic ZXJpbjo="			       /* erin: */
#define B_ERIN_X      "Basic ZXJpbjp4"			       /* erin:x */
#define B_EMMA	      "Basic ZW1tYTo="			       /* emma: */
#define B_JURGEN      "Basic asO8cmdlbjpww6Rzc3fDtnJk"	       /* jürgen:pässwörd */
#define B_FRANK	      "Basic ZnJhbms6IGxlYWQgYW5kIHRyYWlsIA==" /* frank: lead and trail */
#define B_FRANK_TRIM  "Basic ZnJhbms6bGVhZCBhbmQgdHJhaWw="     /* frank:lead and trail */
#define B_NOCOLON     "Basic YWxpY2U="			       /* alice */
#define B_NOUSER      "Basic OkhlbGxvIHdvcmxkIQ=="	       /* :Hello world! */

/* ------------------------------------------------------------------ helpers */

static struct auth_db *db_from(const char *text)
{
	char err[256] = "";
	struct auth_db *db = auth_db_parse(text, strlen(text), "users", err, sizeof(err));

	if (!db)
		fail_msg("parse failed: %s", err);
	return db;
}

/* auth_check_basic on an exact-size heap copy of value. */
static int check(const struct auth_db *db, const char *value, char *user, size_t cap)
{
	size_t len = strlen(value);
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, value, len);
	rc = auth_check_basic(db, copy, len, user, cap);
	free(copy);
	return rc;
}

static int check_cached(const struct auth_db *db, const char *value, char *user, size_t cap)
{
	size_t len = strlen(value);
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, value, len);
	rc = auth_check_cached(db, copy, len, user, cap);
	free(copy);
	return rc;
}

/* Checks value and expects user (NULL: expects rc). */
static void expect(const struct auth_db *db, const char *value, int rc, const char *user)
{
	char out[AUTH_USER_MAX + 1];

	memset(out, 'X', sizeof(out));
	assert_int_equal(check(db, value, out, sizeof(out)), rc);
	if (user)
		assert_string_equal(out, user);
}

/* out = base64(in[0, n)), NUL-terminated; OpenSSL's encoder, not the decoder under test. */
static void b64(char *out, const char *in, size_t n)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
}

static struct auth_stats stats(const struct auth_db *db)
{
	struct auth_stats st;

	auth_db_stats(db, &st);
	return st;
}

/* Expects parsing text to fail with EINVAL and exactly message want. */
static void expect_load_err(const char *text, size_t len, const char *want)
{
	char err[256] = "";
	struct auth_db *db;

	errno = 0;
	db = auth_db_parse(text, len, "pw", err, sizeof(err));
	if (db) {
		auth_db_free(db);
		fail_msg("accepted, expected \"%s\"", want);
	}
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, want);
}

/* One line after a comment and a blank line, so errors are on line 3. */
static void expect_line_err(const char *line, const char *why)
{
	char text[8192], want[512];
	int n = snprintf(text, sizeof(text), "# header\n\n%s\n", line);

	assert_true(n > 0 && (size_t)n < sizeof(text));
	snprintf(want, sizeof(want), "pw:3: %s", why);
	expect_load_err(text, (size_t)n, want);
}

struct fake_clock {
	uint64_t now;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ load */

static void test_load_all_formats(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	assert_int_equal(auth_db_count(db), 10);
	auth_db_free(db);
}

static void test_load_weak_formats(void **state)
{
	static const struct {
		const char *hash, *why;
	} t[] = {
	    /* openssl passwd -1 -salt abcdefgh x */
	    {"$1$abcdefgh$znAnv9M.XU2pRYfmSs46h/",
	     "MD5-crypt ($1$) is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt"},
	    /* openssl passwd -apr1 -salt abcdefgh x */
	    {"$apr1$abcdefgh$82JubPF2dQkt1tVfvLnXS.",
	     "Apache MD5 ($apr1$) is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt"},
	    /* htpasswd -s: base64(SHA-1("password")) */
	    {"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
	     "{SHA} is unsalted SHA-1: rehash with yescrypt, SHA-512 ($6$) or bcrypt"},
	    /* traditional DES, "test" with salt "ab" */
	    {"abgOeLfPimXQo",
	     "traditional DES crypt is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt"},
	    {"_J9..CCCCXBrJUJV154M",
	     "BSDi extended DES crypt is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt"},
	    /* openssl passwd -5 -salt abcdefgh x */
	    {"$5$abcdefgh$sI6g8tHKrJ6RX7w.YoN9B7a/5wK5jYEOMmMnt3tPl0/",
	     "SHA-256 crypt ($5$) is not accepted: use yescrypt, SHA-512 ($6$) or bcrypt"},
	    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	     "bcrypt $2a$/$2x$ handle 8-bit passwords ambiguously: rehash as $2b$"},
	    {"hunter2", "not a crypt(3) hash (plain text?): use yescrypt, SHA-512 ($6$) or bcrypt"},
	    {"$7$06..../....SodiumChloride$ENlyo6fGw4PCcDBOFepfSZjFUnVatHzCcW55.ZGz3B0",
	     "unsupported hash method: use yescrypt ($y$), SHA-512 ($6$) or bcrypt ($2b$)"},
	    {"$gy$j9T$salt$hash",
	     "unsupported hash method: use yescrypt ($y$), SHA-512 ($6$) or bcrypt ($2b$)"},
	};
	char line[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(line, sizeof(line), "user:%s", t[i].hash);
		expect_line_err(line, t[i].why);
	}
}

static void test_load_unsalted_and_malformed(void **state)
{
	static const struct {
		const char *hash, *why;
	} t[] = {
	    /* yescrypt with an empty salt: a valid yescrypt string, but unsalted */
	    {"$y$jD5.7$$JD8dsR.nt1ty0ltQ2HHwauaDRoOUIEaA5i.vpj2nyL.",
	     "yescrypt salt shorter than 8 characters"},
	    {"$y$/A2$LdJMENp$5IEld1eWdmh5lylrqHLF5dvA3ISpimEM9J1Dd05n/.3",
	     "yescrypt salt shorter than 8 characters"},
	    {"$y$$LdJMENpBABJJ3hIHj/$5IEld1eWdmh5lylrqHLF5dvA3ISpimEM9J1Dd05n/.3",
	     "malformed yescrypt hash: parameters"},
	    {"$y$/A2$LdJMENpBABJJ3hIHj/$5IEld1eWdmh5lylrqHLF5dvA3ISpimEM9J1Dd05n/.",
	     "malformed yescrypt hash: hash part is not 43 characters"},
	    {"$y$/A2$LdJMENpBABJJ3hIHj/", "malformed yescrypt hash: salt"},
	    /* openssl passwd -6 -salt short x */
	    {"$6$short$QyVoKWqPNl6RNenmBA6a/"
	     "vLfaqSQjTh9uln9bU2ulhek2oiVdUAoCfuszVp.1rkl8XCLSBKCMmlydC"
	     "XQ0ITpm/",
	     "SHA-512 salt shorter than 8 characters"},
	    {"$6$$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
	     "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35"
	     "inz1",
	     "SHA-512 salt shorter than 8 characters"},
	    {"$6$saltstringsaltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4O"
	     "TLiBFdcbYEdFCoEOfaS35inz1",
	     "SHA-512 salt longer than 16 characters"},
	    {"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
	     "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYE",
	     "malformed SHA-512 hash: hash part is not 86 characters"},
	    {"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
	     "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEd"
	     "FCoEOfaS35in!1",
	     "malformed SHA-512 hash: hash part is not 86 characters"},
	    {"$6$rounds=010000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"
	     "UrjmM0"
	     "Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
	     "SHA-512 rounds must be 1000..999999999"},
	    {"$6$rounds=999$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"
	     "UrjmM0Dp8"
	     "vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
	     "SHA-512 rounds must be 1000..999999999"},
	    {"$6$rounds=$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"
	     "UrjmM0Dp8vOu"
	     "ZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
	     "SHA-512 rounds must be 1000..999999999"},
	    {"$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	     "bcrypt cost must be 04..31"},
	    {"$2b$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	     "bcrypt cost must be 04..31"},
	    {"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
	     "malformed bcrypt hash: expected $2b$NN$ and 53 characters"},
	    {"$2y$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx",
	     "malformed bcrypt hash: expected $2b$NN$ and 53 characters"},
	    {"", "empty hash: a user needs a password"},
	    {"!" H_SHA512, "locked or disabled entry ('!' or '*'): remove the line instead"},
	    {"*", "locked or disabled entry ('!' or '*'): remove the line instead"},
	    {H_SHA512 ":19000:0:99999:7:::",
	     "more than two ':'-separated fields (shadow-style lines are not supported)"},
	};
	char line[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(line, sizeof(line), "user:%s", t[i].hash);
		expect_line_err(line, t[i].why);
	}
}

static void test_load_bad_lines(void **state)
{
	(void)state;
	expect_line_err("alice " H_SHA512, "expected user:hash");
	expect_line_err(" alice:" H_SHA512, "leading whitespace");
	expect_line_err("\talice:" H_SHA512, "leading whitespace");
	expect_line_err("alice:" H_SHA512 " ", "trailing whitespace");
	expect_line_err("alice:" H_SHA512 "\r", "carriage return (DOS line endings?)");
	expect_line_err("# a comment\r", "carriage return (DOS line endings?)");
	expect_line_err(":" H_SHA512, "empty user name");
	expect_line_err("al ice:" H_SHA512, "user name holds a space or a control character");
	expect_line_err("al\x01ice:" H_SHA512, "user name holds a space or a control character");
	expect_line_err("al\x7fice:" H_SHA512, "user name holds a space or a control character");
	/* Latin-1, a lone continuation byte, an overlong '/', a surrogate, > U+10FFFF. */
	expect_line_err("j\xfcrgen:" H_SHA512, "user name is not valid UTF-8");
	expect_line_err("x\x80:" H_SHA512, "user name is not valid UTF-8");
	expect_line_err("\xc0\xaf:" H_SHA512, "user name is not valid UTF-8");
	expect_line_err("\xed\xa0\x80:" H_SHA512, "user name is not valid UTF-8");
	expect_line_err("\xf4\x90\x80\x80:" H_SHA512, "user name is not valid UTF-8");
	expect_line_err("trunc\xe2\x82:" H_SHA512, "user name is not valid UTF-8");
}

static void test_load_nul_byte(void **state)
{
	static const char text[] = "# ok\nalice:" H_SHA512 "\nbo\0b:" H_BCRYPT_2B "\n";
	static const char comment[] = "# a comment with a \0 in it\nalice:" H_SHA512 "\n";

	(void)state;
	expect_load_err(text, sizeof(text) - 1, "pw:3: NUL byte");
	expect_load_err(comment, sizeof(comment) - 1, "pw:1: NUL byte");
}

static void test_load_bom(void **state)
{
	static const char text[] = "\xef\xbb\xbf"
				   "alice:" H_SHA512 "\n";

	(void)state;
	expect_load_err(text, sizeof(text) - 1,
			"pw:1: UTF-8 byte order mark (save the file without it)");
}

static void test_load_user_length(void **state)
{
	char line[256], u64[AUTH_USER_MAX + 2];
	struct auth_db *db;

	(void)state;
	memset(u64, 'u', AUTH_USER_MAX);
	u64[AUTH_USER_MAX] = '\0';
	snprintf(line, sizeof(line), "%s:%s\n", u64, H_SHA512);
	db = db_from(line);
	assert_int_equal(auth_db_count(db), 1);
	auth_db_free(db);

	u64[AUTH_USER_MAX] = 'u';
	u64[AUTH_USER_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "%s:%s", u64, H_SHA512);
	expect_line_err(line, "user name longer than 64 bytes");
}

static void test_load_line_too_long(void **state)
{
	size_t n = AUTH_LINE_MAX + 1;
	char *text = malloc(n + 256);

	(void)state;
	assert_non_null(text);
	strcpy(text, "alice:" H_SHA512 "\n");
	memset(text + strlen(text), '#', n);
	text[strlen("alice:" H_SHA512 "\n") + n] = '\0';
	expect_load_err(text, strlen(text), "pw:2: line longer than 4096 bytes");
	/* A comment of exactly AUTH_LINE_MAX is fine. */
	text[strlen(text) - 1] = '\0';
	{
		struct auth_db *db = db_from(text);

		assert_int_equal(auth_db_count(db), 1);
		auth_db_free(db);
	}
	free(text);
}

static void test_load_duplicate(void **state)
{
	(void)state;
	expect_load_err(
	    "alice:" H_SHA512 "\n# x\nbob:" H_BCRYPT_2B "\nalice:" H_BCRYPT_2Y "\n",
	    strlen("alice:" H_SHA512 "\n# x\nbob:" H_BCRYPT_2B "\nalice:" H_BCRYPT_2Y "\n"),
	    "pw:4: user \"alice\" already defined on line 1");
	/* Names that share a prefix are different users. */
	{
		struct auth_db *db =
		    db_from("bob:" H_BCRYPT_2B "\nbo:" H_SHA512 "\nbobb:" H_SHA512);

		assert_int_equal(auth_db_count(db), 3);
		auth_db_free(db);
	}
}

static void test_load_no_users(void **state)
{
	(void)state;
	expect_load_err("", 0, "pw: no users");
	expect_load_err(NULL, 0, "pw: no users");
	expect_load_err("# only\n\n  # comments\n", strlen("# only\n\n  # comments\n"),
			"pw: no users");
}

static void test_load_bad_args(void **state)
{
	char err[64] = "";
	struct auth_db *db;

	(void)state;
	errno = 0;
	db = auth_db_parse(NULL, 5, NULL, err, sizeof(err));
	assert_null(db);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "<input>: no text");

	errno = 0;
	assert_null(auth_db_load(NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);

	/* err may be NULL, and a short err is cut and NUL-terminated. */
	errno = 0;
	assert_null(auth_db_parse("x", 1, "pw", NULL, 0));
	assert_int_equal(errno, EINVAL);
	memset(err, 'Z', sizeof(err));
	assert_null(auth_db_parse("x", 1, "pw", err, 6));
	assert_string_equal(err, "pw:1:");

	auth_db_free(NULL);
	assert_int_equal(auth_db_count(NULL), 0);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_auth.XXXXXX", err[256], want[300];
	struct auth_db *db;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, users_txt, strlen(users_txt)), (ssize_t)strlen(users_txt));
	close(fd);
	db = auth_db_load(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(auth_db_count(db), 10);
	expect(db, B_ALICE, 0, "alice");
	auth_db_free(db);

	/* Errors carry the path. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	{
		static const char bad[] = "alice:" H_SHA512 "\nbob:$1$x$y\n";

		assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)sizeof(bad) - 1);
	}
	close(fd);
	errno = 0;
	assert_null(auth_db_load(path, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: MD5-crypt ($1$) is weak: rehash with yescrypt, SHA-512 ($6$) or bcrypt",
		 path);
	assert_string_equal(err, want);

	assert_int_equal(unlink(path), 0);
	errno = 0;
	assert_null(auth_db_load(path, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);

	errno = 0;
	assert_null(auth_db_load("/tmp", err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "/tmp: not a regular file");
}

/* ------------------------------------------------------------------ check */

static void test_check_yescrypt(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_CAROL, 0, "carol");
	expect(db, B_CAROL_WRONG, -EACCES, NULL);
	auth_db_free(db);
}

static void test_check_sha512(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_ALICE, 0, "alice");
	expect(db, B_ROUNDS, 0, "rounds");
	expect(db, B_ALICE_WRONG, -EACCES, NULL);
	expect(db, B_ALICE_SHORT, -EACCES, NULL);
	expect(db, B_ALICE_LONG, -EACCES, NULL);
	auth_db_free(db);
}

static void test_check_bcrypt(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_BOB, 0, "bob");
	expect(db, B_BOBBY, 0, "bobby");
	expect(db, B_BOB_WRONG, -EACCES, NULL);
	auth_db_free(db);
}

/* One user's password does not open another user's account. */
static void test_check_other_users_password(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	/* "bob:Hello world!" and "alice:U*U" */
	expect(db, "Basic Ym9iOkhlbGxvIHdvcmxkIQ==", -EACCES, NULL);
	expect(db, "Basic YWxpY2U6VSpV", -EACCES, NULL);
	auth_db_free(db);
}

static void test_check_unknown_user(void **state)
{
	struct auth_db *db = db_from(users_txt);
	struct auth_stats st;

	(void)state;
	/* The right password of the user whose hash is the dummy: still refused. */
	expect(db, B_MALLORY, -EACCES, NULL);
	/* alic, alicex, ALICE: prefixes, extensions and case are other users. */
	expect(db, "Basic YWxpYzpIZWxsbyB3b3JsZCE=", -EACCES, NULL);
	expect(db, "Basic YWxpY2V4OkhlbGxvIHdvcmxkIQ==", -EACCES, NULL);
	expect(db, "Basic QUxJQ0U6SGVsbG8gd29ybGQh", -EACCES, NULL);
	/* empty user name */
	expect(db, B_NOUSER, -EACCES, NULL);
	st = stats(db);
	/* Each costs a hash, as a known user's does. */
	assert_int_equal(st.hashes, 5);
	assert_int_equal(st.denied, 5);
	assert_int_equal(st.ok, 0);
	auth_db_free(db);
}

/*
 * An unknown user costs about what a known one does: the dummy is the first
 * user's yescrypt hash (~10 ms). Without the dummy hash an unknown user
 * would return in microseconds, so the loose bound below cannot be met by
 * chance, and the minimum of several runs absorbs a busy machine.
 */
static void test_check_unknown_user_timing(void **state)
{
	struct auth_db *db = db_from(users_txt);
	double known = 1e9, unknown = 1e9;

	(void)state;
	for (int i = 0; i < 5; i++) {
		double t = mono(), d;

		assert_int_equal(check(db, B_CAROL_WRONG, NULL, 0), -EACCES);
		d = mono() - t;
		known = d < known ? d : known;
		t = mono();
		assert_int_equal(check(db, B_MALLORY, NULL, 0), -EACCES);
		d = mono() - t;
		unknown = d < unknown ? d : unknown;
	}
	if (unknown < known * 0.5)
		fail_msg("unknown user %.3f ms, known user %.3f ms", unknown * 1e3, known * 1e3);
	auth_db_free(db);
}

static void test_check_colon_in_password(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_DAVE, 0, "dave");
	/* A trailing ':' is part of the password. */
	expect(db, B_DAVE_SPLIT, -EACCES, NULL);
	/* What precedes the second ':' is not the password either. */
	expect(db, "Basic ZGF2ZTpwYQ==", -EACCES, NULL); /* dave:pa */
	auth_db_free(db);
}

static void test_check_empty_password(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_ERIN, 0, "erin");
	expect(db, B_EMMA, 0, "emma");
	expect(db, B_ERIN_X, -EACCES, NULL);
	expect(db, B_ALICE_EMPTY, -EACCES, NULL);
	auth_db_free(db);
}

static void test_check_utf8_and_spaces(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_JURGEN, 0, "j\xc3\xbcrgen");
	/* Spaces around a password are part of it. */
	expect(db, B_FRANK, 0, "frank");
	expect(db, B_FRANK_TRIM, -EACCES, NULL);
	auth_db_free(db);
}

static void test_check_scheme_case(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, "basic YWxpY2U6SGVsbG8gd29ybGQh", 0, "alice");
	expect(db, "BASIC YWxpY2U6SGVsbG8gd29ybGQh", 0, "alice");
	expect(db, "bAsIc YWxpY2U6SGVsbG8gd29ybGQh", 0, "alice");
	auth_db_free(db);
}

static void test_check_other_schemes(void **state)
{
	static const char *const bad[] = {
	    "",
	    "Basic",
	    "Basic ",
	    "Basi YWxpY2U6SGVsbG8gd29ybGQh",
	    "Basicx YWxpY2U6SGVsbG8gd29ybGQh",
	    "Bearer YWxpY2U6SGVsbG8gd29ybGQh",
	    "Digest username=\"alice\", realm=\"x\", nonce=\"1\", uri=\"/\", response=\"0\"",
	    "Negotiate YWxpY2U6SGVsbG8gd29ybGQh",
	    "YWxpY2U6SGVsbG8gd29ybGQh",
	    "Basic realm=\"x\"",
	    "Basic\tYWxpY2U6SGVsbG8gd29ybGQh",
	    "Basic\x00YWxpY2U6SGVsbG8gd29ybGQh",
	};
	struct auth_db *db = db_from(users_txt);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t len = i == ARRAY_SIZE(bad) - 1 ? 30 : strlen(bad[i]);
		char *copy = malloc(len ? len : 1);

		assert_non_null(copy);
		memcpy(copy, bad[i], len);
		if (auth_check_basic(db, copy, len, NULL, 0) != -EINVAL)
			fail_msg("accepted as Basic: \"%s\"", bad[i]);
		free(copy);
	}
	assert_int_equal(stats(db).malformed, ARRAY_SIZE(bad));
	assert_int_equal(stats(db).hashes, 0);
	auth_db_free(db);
}

static void test_check_bad_base64(void **state)
{
	static const char *const bad[] = {
	    /* bob:U*U is Ym9iOlUqVQ== */
	    "Basic Ym9iOlUqVQ",	    /* padding left out */
	    "Basic Ym9iOlUqVQ=",    /* one '=' short */
	    "Basic Ym9iOlUqVQ===",  /* one '=' too many */
	    "Basic Ym9iOlUqVQ====", /* a whole group of padding */
	    "Basic Ym9i=lUqVQ==",   /* '=' inside */
	    "Basic =m9iOlUqVQ==",
	    "Basic Ym9iOlUq*Q==", /* not in the alphabet */
	    "Basic Ym9iOlUq\x80Q==",
	    "Basic Ym9i-lUqVQ==", /* base64url */
	    "Basic Ym9i_lUqVQ==",
	    "Basic Ym9iOlUqVR==", /* non-canonical: unused bits set */
	    "Basic YWxpY2U6SGVsbG8gd29ybGR=",
	    "Basic  Ym9iOlUqVQ==", /* two spaces */
	    "Basic Ym9iOlUqVQ== ", /* trailing space */
	    " Basic Ym9iOlUqVQ==", /* leading space */
	    "Basic Ym9i OlUqVQ==", /* space inside */
	    "Basic Ym9iOlUq\nVQ==",
	    "Basic Ym9iOlUqVQ==\r\n",
	    "Basic Ym9iOlUqVQ==,Basic Ym9iOlUqVQ==",
	    "Basic =",
	    "Basic ====",
	    "Basic Y",
	    B_NOCOLON,			  /* decodes to "alice": no ':' */
	    "Basic YWxpY2U6AHg=",	  /* alice:\0x */
	    "Basic YWxpY2U6CXg=",	  /* alice:\tx */
	    "Basic YWwBaWNlOng=",	  /* al\x01ice:x */
	    "Basic YWxpY2U6SGVsbG8NCg==", /* alice:Hello\r\n */
	    "Basic YWxpY2U6f3g=",	  /* alice:\x7fx */
	};
	struct auth_db *db = db_from(users_txt);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (check(db, bad[i], NULL, 0) != -EINVAL)
			fail_msg("not refused as malformed: \"%s\"", bad[i]);
	assert_int_equal(stats(db).malformed, ARRAY_SIZE(bad));
	assert_int_equal(stats(db).hashes, 0);
	auth_db_free(db);
}

/* The base64 padding cases that are valid: 0, 1 and 2 '='. */
static void test_check_padding_lengths(void **state)
{
	struct auth_db *db = db_from("ab:" H_BCRYPT_2B "\nabc:" H_BCRYPT_2B "\nabcd:" H_BCRYPT_2B);

	(void)state;
	expect(db, "Basic YWI6VSpV", 0, "ab");		 /* ab:U*U, no padding */
	expect(db, "Basic YWJjOlUqVQ==", 0, "abc");	 /* abc:U*U, two */
	expect(db, "Basic YWJjZDpVKlU=", 0, "abcd");	 /* abcd:U*U, one */
	expect(db, "Basic YWJjZDpVKlUq", -EACCES, NULL); /* abcd:U*U* */
	auth_db_free(db);
}

static void test_check_long_credentials(void **state)
{
	struct auth_db *db = db_from(users_txt);
	char cred[1200], hdr[2000];
	struct auth_stats st;
	size_t n;

	(void)state;
	/* A 512-byte password: refused without hashing, crypt_r could not take it. */
	n = (size_t)snprintf(cred, sizeof(cred), "alice:");
	memset(cred + n, 'p', 512);
	n += 512;
	strcpy(hdr, "Basic ");
	b64(hdr + 6, cred, n);
	expect(db, hdr, -EACCES, NULL);
	assert_int_equal(stats(db).hashes, 0);
	/* 511 bytes: hashed, and wrong. */
	b64(hdr + 6, cred, n - 1);
	expect(db, hdr, -EACCES, NULL);
	assert_int_equal(stats(db).hashes, 1);
	/* A 65-byte user name: unknown, so hashed against the dummy. */
	memset(cred, 'u', 65);
	strcpy(cred + 65, ":x");
	b64(hdr + 6, cred, 67);
	expect(db, hdr, -EACCES, NULL);
	assert_int_equal(stats(db).hashes, 2);
	/* Longer than any user:password could be: refused at once. */
	memset(cred, 'a', 1000);
	cred[10] = ':';
	b64(hdr + 6, cred, 1000);
	expect(db, hdr, -EACCES, NULL);
	st = stats(db);
	assert_int_equal(st.hashes, 2);
	assert_int_equal(st.denied, 4);
	auth_db_free(db);
}

static void test_check_user_out(void **state)
{
	struct auth_db *db = db_from(users_txt);
	char small[AUTH_USER_MAX], exact[AUTH_USER_MAX + 1];

	(void)state;
	assert_int_equal(check(db, B_BOB, NULL, 0), 0);
	assert_int_equal(check(db, B_BOB, NULL, 5), 0);
	assert_int_equal(check(db, B_BOB, small, sizeof(small)), -EINVAL);
	memset(exact, 'X', sizeof(exact));
	assert_int_equal(check(db, B_BOB, exact, sizeof(exact)), 0);
	assert_string_equal(exact, "bob");
	auth_db_free(db);
}

static void test_check_bad_args(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	assert_int_equal(auth_check_basic(NULL, B_BOB, strlen(B_BOB), NULL, 0), -EINVAL);
	assert_int_equal(auth_check_basic(db, NULL, 5, NULL, 0), -EINVAL);
	assert_int_equal(auth_check_basic(db, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(auth_check_cached(NULL, B_BOB, strlen(B_BOB), NULL, 0), -EINVAL);
	auth_db_free(db);
}

/* The value is a span into a request buffer: nothing past len is read. */
static void test_check_span_not_terminated(void **state)
{
	static const char buf[] = "Proxy-Authorization: " B_BOB "\r\nHost: x\r\n";
	struct auth_db *db = db_from(users_txt);
	size_t off = strlen("Proxy-Authorization: "), len = strlen(B_BOB);
	char user[AUTH_USER_MAX + 1];

	(void)state;
	assert_int_equal(auth_check_basic(db, buf + off, len, user, sizeof(user)), 0);
	assert_string_equal(user, "bob");
	assert_int_equal(auth_check_basic(db, buf + off, len + 1, user, sizeof(user)), -EINVAL);
	assert_int_equal(auth_check_basic(db, buf + off, len - 1, user, sizeof(user)), -EINVAL);
	/* Cut at a group boundary the token is valid again: "bob:U*", wrong. */
	assert_int_equal(auth_check_basic(db, buf + off, len - 4, user, sizeof(user)), -EACCES);
	auth_db_free(db);
}

/* ------------------------------------------------------------------ cache */

static void test_cache_hit_avoids_hash(void **state)
{
	struct auth_db *db = db_from(users_txt);
	struct auth_stats st;

	(void)state;
	for (int i = 0; i < 10; i++)
		expect(db, B_CAROL, 0, "carol");
	st = stats(db);
	assert_int_equal(st.hashes, 1);
	assert_int_equal(st.cache_misses, 1);
	assert_int_equal(st.cache_hits, 9);
	assert_int_equal(st.ok, 10);
	auth_db_free(db);
}

/* A hit costs no hash, so it takes a small fraction of yescrypt's ~10 ms. */
static void test_cache_hit_is_fast(void **state)
{
	struct auth_db *db = db_from(users_txt);
	double miss, hit = 1e9, t;

	(void)state;
	t = mono();
	expect(db, B_CAROL, 0, "carol");
	miss = mono() - t;
	for (int i = 0; i < 5; i++) {
		double d;

		t = mono();
		expect(db, B_CAROL, 0, "carol");
		d = mono() - t;
		hit = d < hit ? d : hit;
	}
	if (hit > miss * 0.2)
		fail_msg("hit %.3f ms, miss %.3f ms", hit * 1e3, miss * 1e3);
	auth_db_free(db);
}

static void test_cache_key_is_exact_value(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	expect(db, B_ALICE, 0, "alice");
	expect(db, "basic YWxpY2U6SGVsbG8gd29ybGQh", 0, "alice");
	expect(db, B_ALICE, 0, "alice");
	expect(db, "basic YWxpY2U6SGVsbG8gd29ybGQh", 0, "alice");
	assert_int_equal(stats(db).hashes, 2);
	assert_int_equal(stats(db).cache_hits, 2);
	auth_db_free(db);
}

static void test_cache_failures_not_cached(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	for (int i = 0; i < 3; i++)
		expect(db, B_ALICE_WRONG, -EACCES, NULL);
	for (int i = 0; i < 2; i++)
		expect(db, B_MALLORY, -EACCES, NULL);
	assert_int_equal(stats(db).hashes, 5);
	assert_int_equal(stats(db).cache_hits, 0);
	assert_int_equal(check_cached(db, B_ALICE_WRONG, NULL, 0), -ENOENT);
	auth_db_free(db);
}

static void test_cache_ttl(void **state)
{
	struct auth_db *db = db_from(users_txt);
	struct fake_clock clk = {.now = 1000};
	struct auth_stats st;

	(void)state;
	auth_db_set_clock(db, fake_now, &clk);
	expect(db, B_BOB, 0, "bob"); /* hashed at 1000: live until 61000 */
	clk.now = 31000;
	expect(db, B_BOB, 0, "bob"); /* a hit does not extend the TTL */
	clk.now = 60999;
	expect(db, B_BOB, 0, "bob");
	st = stats(db);
	assert_int_equal(st.hashes, 1);
	assert_int_equal(st.cache_hits, 2);
	clk.now = 61000;
	expect(db, B_BOB, 0, "bob");
	st = stats(db);
	assert_int_equal(st.hashes, 2);
	assert_int_equal(st.cache_expired, 1);
	/* Hashed again at 61000: a new TTL from there. */
	clk.now = 120999;
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), 0);
	clk.now = 121000;
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), -ENOENT);
	assert_int_equal(stats(db).cache_expired, 2);
	auth_db_free(db);
}

static void test_cache_set_ttl(void **state)
{
	struct auth_db *db = db_from(users_txt);
	struct fake_clock clk = {.now = 0};

	(void)state;
	auth_db_set_clock(db, fake_now, &clk);
	assert_int_equal(auth_db_set_cache(db, 16, 5), 0);
	expect(db, B_BOB, 0, "bob");
	clk.now = 4999;
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), 0);
	clk.now = 5000;
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), -ENOENT);
	auth_db_free(db);
}

/* Capacity 2: the least recently used entry goes, a hit counts as a use. */
static void test_cache_lru(void **state)
{
	static const char a[] = "Basic Ym9iOlUqVQ==", b[] = "basic Ym9iOlUqVQ==",
			  c[] = "BASIC Ym9iOlUqVQ==";
	struct auth_db *db = db_from(users_txt);
	struct auth_stats st;

	(void)state;
	assert_int_equal(auth_db_set_cache(db, 2, 60), 0);
	expect(db, a, 0, "bob");
	expect(db, b, 0, "bob");
	expect(db, a, 0, "bob"); /* hit: a is now the most recent */
	expect(db, c, 0, "bob"); /* evicts b */
	st = stats(db);
	assert_int_equal(st.hashes, 3);
	assert_int_equal(st.cache_evicted, 1);
	assert_int_equal(check_cached(db, a, NULL, 0), 0);
	assert_int_equal(check_cached(db, c, NULL, 0), 0);
	assert_int_equal(check_cached(db, b, NULL, 0), -ENOENT);
	auth_db_free(db);
}

/*
 * 96 distinct valid headers (the 32 spellings of "Basic" for three users)
 * through a cache of 40: afterwards exactly the last 40 hit.
 */
static void test_cache_many(void **state)
{
	static const char *const tok[] = {"Ym9iOlUqVQ==", "Ym9iYnk6VSpV",
					  "YWxpY2U6SGVsbG8gd29ybGQh"};
	struct auth_db *db = db_from(users_txt);
	char hdr[96][64];
	struct auth_stats st;
	int hits = 0;

	(void)state;
	assert_int_equal(auth_db_set_cache(db, 40, 60), 0);
	for (int i = 0; i < 96; i++) {
		int spell = i % 32;

		snprintf(hdr[i], sizeof(hdr[i]), "Basic %s", tok[i / 32]);
		for (int k = 0; k < 5; k++)
			if (spell & (1 << k))
				hdr[i][k] ^= 0x20;
		assert_int_equal(check(db, hdr[i], NULL, 0), 0);
	}
	st = stats(db);
	assert_int_equal(st.hashes, 96);
	assert_int_equal(st.cache_evicted, 56);
	for (int i = 0; i < 96; i++) {
		int rc = check_cached(db, hdr[i], NULL, 0);

		assert_int_equal(rc, i >= 56 ? 0 : -ENOENT);
		hits += rc == 0;
	}
	assert_int_equal(hits, 40);
	auth_db_free(db);
}

static void test_cache_disabled(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	assert_int_equal(auth_db_set_cache(db, 0, 60), 0);
	expect(db, B_BOB, 0, "bob");
	expect(db, B_BOB, 0, "bob");
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), -ENOENT);
	assert_int_equal(auth_db_set_cache(db, 8, 0), 0);
	expect(db, B_BOB, 0, "bob");
	assert_int_equal(stats(db).hashes, 3);
	assert_int_equal(stats(db).cache_hits, 0);
	/* Back on: empty, then caching. */
	assert_int_equal(auth_db_set_cache(db, 8, 60), 0);
	expect(db, B_BOB, 0, "bob");
	expect(db, B_BOB, 0, "bob");
	assert_int_equal(stats(db).hashes, 4);
	assert_int_equal(stats(db).cache_hits, 1);
	auth_db_free(db);
}

static void test_cache_set_bad(void **state)
{
	struct auth_db *db = db_from(users_txt);

	(void)state;
	assert_int_equal(auth_db_set_cache(NULL, 8, 60), -EINVAL);
	assert_int_equal(auth_db_set_cache(db, AUTH_CACHE_ENTRIES_MAX + 1, 60), -EINVAL);
	/* A refused resize leaves the cache as it was. */
	expect(db, B_BOB, 0, "bob");
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), 0);
	auth_db_set_clock(NULL, fake_now, NULL);
	auth_db_free(db);
}

/* Resizing or changing the clock drops what was cached. */
static void test_cache_dropped_on_change(void **state)
{
	struct auth_db *db = db_from(users_txt);
	struct fake_clock clk = {.now = 0};

	(void)state;
	expect(db, B_BOB, 0, "bob");
	assert_int_equal(auth_db_set_cache(db, 8, 60), 0);
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), -ENOENT);
	expect(db, B_BOB, 0, "bob");
	auth_db_set_clock(db, fake_now, &clk);
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), -ENOENT);
	expect(db, B_BOB, 0, "bob");
	auth_db_set_clock(db, NULL, NULL);
	assert_int_equal(check_cached(db, B_BOB, NULL, 0), -ENOENT);
	auth_db_free(db);
}

static void test_check_cached(void **state)
{
	struct auth_db *db = db_from(users_txt);
	char user[AUTH_USER_MAX + 1];

	(void)state;
	assert_int_equal(check_cached(db, B_BOB, user, sizeof(user)), -ENOENT);
	assert_int_equal(check_cached(db, "Bearer x", user, sizeof(user)), -EINVAL);
	assert_int_equal(check_cached(db, "Basic Ym9iOlUqVQ", user, sizeof(user)), -EINVAL);
	assert_int_equal(check_cached(db, B_BOB, user, AUTH_USER_MAX), -EINVAL);
	assert_int_equal(stats(db).hashes, 0);
	expect(db, B_BOB, 0, "bob");
	memset(user, 'X', sizeof(user));
	assert_int_equal(check_cached(db, B_BOB, user, sizeof(user)), 0);
	assert_string_equal(user, "bob");
	assert_int_equal(stats(db).hashes, 1);
	auth_db_free(db);
}

/* Different dbs have different cache keys: a reload starts empty. */
static void test_cache_per_db(void **state)
{
	struct auth_db *a = db_from(users_txt), *b = db_from(users_txt);

	(void)state;
	expect(a, B_BOB, 0, "bob");
	assert_int_equal(check_cached(a, B_BOB, NULL, 0), 0);
	assert_int_equal(check_cached(b, B_BOB, NULL, 0), -ENOENT);
	auth_db_free(a);
	auth_db_free(b);
}

struct thr_arg {
	const struct auth_db *db;
	int fails;
};

static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	char user[AUTH_USER_MAX + 1];

	for (int i = 0; i < 40; i++) {
		const char *v = (i % 4 == 3) ? B_BOB_WRONG : (i % 2 ? B_BOB : B_BOBBY);
		int want = (i % 4 == 3) ? -EACCES : 0;
		size_t len = strlen(v);

		if (auth_check_basic(a->db, v, len, user, sizeof(user)) != want)
			a->fails++;
		else if (!want && strcmp(user, i % 2 ? "bob" : "bobby"))
			a->fails++;
	}
	return NULL;
}

static void test_cache_threads(void **state)
{
	struct auth_db *db = db_from(users_txt);
	struct thr_arg args[4];
	pthread_t t[4];
	struct auth_stats st;

	(void)state;
	assert_int_equal(auth_db_set_cache(db, 1, 60), 0); /* contended evictions */
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thr_arg){.db = db};
		assert_int_equal(pthread_create(&t[i], NULL, thr_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].fails, 0);
	}
	st = stats(db);
	assert_int_equal(st.ok, 4 * 30);
	assert_int_equal(st.denied, 4 * 10);
	assert_int_equal(st.ok, st.cache_hits + (st.hashes - st.denied));
	auth_db_free(db);
}

/* ------------------------------------------------------------------ hash_password */

static void test_hash_password_round_trip(void **state)
{
	char h1[AUTH_HASH_MAX], h2[AUTH_HASH_MAX], text[2 * AUTH_HASH_MAX + 16];
	struct auth_db *db;

	(void)state;
	assert_int_equal(auth_hash_password("s3cret:with colon", h1, sizeof(h1)), 0);
	assert_int_equal(auth_hash_password("s3cret:with colon", h2, sizeof(h2)), 0);
	assert_memory_equal(h1, "$y$", 3);
	/* A fresh salt each time. */
	assert_string_not_equal(h1, h2);
	snprintf(text, sizeof(text), "zoe:%s\nzed:%s\n", h1, h2);
	db = db_from(text);
	expect(db, "Basic em9lOnMzY3JldDp3aXRoIGNvbG9u", 0, "zoe"); /* zoe:s3cret:with colon */
	expect(db, "Basic emVkOnMzY3JldDp3aXRoIGNvbG9u", 0, "zed");
	expect(db, "Basic em9lOnMzY3JldA==", -EACCES, NULL); /* zoe:s3cret */
	auth_db_free(db);
}

static void test_hash_password_empty(void **state)
{
	char h[AUTH_HASH_MAX], text[AUTH_HASH_MAX + 16];
	struct auth_db *db;

	(void)state;
	assert_int_equal(auth_hash_password("", h, sizeof(h)), 0);
	snprintf(text, sizeof(text), "zoe:%s\n", h);
	db = db_from(text);
	expect(db, "Basic em9lOg==", 0, "zoe");	     /* zoe: */
	expect(db, "Basic em9lOiA=", -EACCES, NULL); /* "zoe: " */
	auth_db_free(db);
}

static void test_hash_password_errors(void **state)
{
	char h[AUTH_HASH_MAX], big[AUTH_PASSWORD_MAX + 2];

	(void)state;
	assert_int_equal(auth_hash_password(NULL, h, sizeof(h)), -EINVAL);
	assert_int_equal(auth_hash_password("x", NULL, sizeof(h)), -EINVAL);
	assert_int_equal(auth_hash_password("a\nb", h, sizeof(h)), -EINVAL);
	assert_int_equal(auth_hash_password("a\x7f", h, sizeof(h)), -EINVAL);
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(auth_hash_password(big, h, sizeof(h)), -EINVAL);
	assert_int_equal(auth_hash_password("x", h, 20), -ENOSPC);
	/* 511 bytes, the most crypt takes: fine. */
	big[AUTH_PASSWORD_MAX] = '\0';
	assert_int_equal(auth_hash_password(big, h, sizeof(h)), 0);
	/* yescrypt strings are 73 characters: 74 bytes is enough, 73 not. */
	assert_int_equal(strlen(h), 73);
	assert_int_equal(auth_hash_password("x", h, 73), -ENOSPC);
	assert_int_equal(auth_hash_password("x", h, 74), 0);
}

/* ------------------------------------------------------------------ challenge */

static void expect_challenge(const char *realm, const char *want)
{
	char out[256];
	size_t len = 0;

	memset(out, 'X', sizeof(out));
	assert_int_equal(auth_challenge(realm, out, sizeof(out), &len), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void test_challenge(void **state)
{
	(void)state;
	expect_challenge("xdproxy", "Basic realm=\"xdproxy\", charset=\"UTF-8\"");
	expect_challenge("", "Basic realm=\"\", charset=\"UTF-8\"");
	expect_challenge("corp proxy\t(eu)", "Basic realm=\"corp proxy\t(eu)\", charset=\"UTF-8\"");
	expect_challenge("Z\xc3\xbcrich", "Basic realm=\"Z\xc3\xbcrich\", charset=\"UTF-8\"");
}

static void test_challenge_quoting(void **state)
{
	(void)state;
	expect_challenge("say \"hi\"", "Basic realm=\"say \\\"hi\\\"\", charset=\"UTF-8\"");
	expect_challenge("a\\b", "Basic realm=\"a\\\\b\", charset=\"UTF-8\"");
	expect_challenge("\\\"", "Basic realm=\"\\\\\\\"\", charset=\"UTF-8\"");
	/* A realm trying to close the quote and add a parameter stays inside it. */
	expect_challenge("x\", charset=\"latin1",
			 "Basic realm=\"x\\\", charset=\\\"latin1\", charset=\"UTF-8\"");
}

static void test_challenge_bad_realm(void **state)
{
	static const char *const bad[] = {"a\rb", "a\nb",  "x\r\nSet-Cookie: y",
					  "\x01", "a\x7f", "\x1b[31m"};
	char out[256];
	size_t len = 7;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(auth_challenge(bad[i], out, sizeof(out), &len), -EINVAL);
	assert_int_equal(auth_challenge(NULL, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(auth_challenge("x", out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(auth_challenge("x", NULL, 10, &len), -EINVAL);
}

static void test_challenge_nospace(void **state)
{
	static const char want[] = "Basic realm=\"a\\\"b\", charset=\"UTF-8\"";
	char out[64];
	size_t len = 0, n = strlen(want);

	(void)state;
	assert_int_equal(auth_challenge("a\"b", NULL, 0, &len), -ENOSPC);
	assert_int_equal(len, n);
	len = 0;
	assert_int_equal(auth_challenge("a\"b", out, n, &len), -ENOSPC);
	assert_int_equal(len, n);
	memset(out, 'X', sizeof(out));
	assert_int_equal(auth_challenge("a\"b", out, n + 1, &len), 0);
	assert_string_equal(out, want);
	assert_int_equal(out[n + 1], 'X');
}

static void test_stats_null(void **state)
{
	struct auth_stats st;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	auth_db_stats(NULL, &st);
	assert_int_equal(st.ok, 0);
	assert_int_equal(st.hashes, 0);
	auth_db_stats(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_all_formats),
	    cmocka_unit_test(test_load_weak_formats),
	    cmocka_unit_test(test_load_unsalted_and_malformed),
	    cmocka_unit_test(test_load_bad_lines),
	    cmocka_unit_test(test_load_nul_byte),
	    cmocka_unit_test(test_load_bom),
	    cmocka_unit_test(test_load_user_length),
	    cmocka_unit_test(test_load_line_too_long),
	    cmocka_unit_test(test_load_duplicate),
	    cmocka_unit_test(test_load_no_users),
	    cmocka_unit_test(test_load_bad_args),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_check_yescrypt),
	    cmocka_unit_test(test_check_sha512),
	    cmocka_unit_test(test_check_bcrypt),
	    cmocka_unit_test(test_check_other_users_password),
	    cmocka_unit_test(test_check_unknown_user),
	    cmocka_unit_test(test_check_unknown_user_timing),
	    cmocka_unit_test(test_check_colon_in_password),
	    cmocka_unit_test(test_check_empty_password),
	    cmocka_unit_test(test_check_utf8_and_spaces),
	    cmocka_unit_test(test_check_scheme_case),
	    cmocka_unit_test(test_check_other_schemes),
	    cmocka_unit_test(test_check_bad_base64),
	    cmocka_unit_test(test_check_padding_lengths),
	    cmocka_unit_test(test_check_long_credentials),
	    cmocka_unit_test(test_check_user_out),
	    cmocka_unit_test(test_check_bad_args),
	    cmocka_unit_test(test_check_span_not_terminated),
	    cmocka_unit_test(test_cache_hit_avoids_hash),
	    cmocka_unit_test(test_cache_hit_is_fast),
	    cmocka_unit_test(test_cache_key_is_exact_value),
	    cmocka_unit_test(test_cache_failures_not_cached),
	    cmocka_unit_test(test_cache_ttl),
	    cmocka_unit_test(test_cache_set_ttl),
	    cmocka_unit_test(test_cache_lru),
	    cmocka_unit_test(test_cache_many),
	    cmocka_unit_test(test_cache_disabled),
	    cmocka_unit_test(test_cache_set_bad),
	    cmocka_unit_test(test_cache_dropped_on_change),
	    cmocka_unit_test(test_check_cached),
	    cmocka_unit_test(test_cache_per_db),
	    cmocka_unit_test(test_cache_threads),
	    cmocka_unit_test(test_hash_password_round_trip),
	    cmocka_unit_test(test_hash_password_empty),
	    cmocka_unit_test(test_hash_password_errors),
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_challenge_quoting),
	    cmocka_unit_test(test_challenge_bad_realm),
	    cmocka_unit_test(test_challenge_nospace),
	    cmocka_unit_test(test_stats_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
