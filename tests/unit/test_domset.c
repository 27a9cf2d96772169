// SPDX-License-Identifier: BSD-2-Clause
/*
 * Domain set tests. Two tables - hosts against one fixed set, entries that
 * are refused - run one cmocka test per row, with expectations written out
 * by hand. Hosts go through host_normalize first, as the proxy sends them.
 * List files are written to a temporary directory. The million-entry test
 * times loading and lookups in thread CPU time, so other work on the
 * machine does not make it flaky, and prints what it measured.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/domset.h"
#include "policy/host.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- helpers */

static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The entry a raw host matches: normalized first, as the proxy does. */
static const char *match(const struct domset *s, const char *raw)
{
	static char h[HOST_NORM_MAX];

	if (host_normalize(raw, strlen(raw), h, sizeof(h), NULL) < 0)
		fail_msg("%s: host_normalize refused it", raw);
	return domset_match(s, h);
}

static struct domset *from_text(const char *text)
{
	struct domset *s = domset_new();
	char err[256];

	assert_non_null(s);
	if (domset_load_text(s, "t", text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return s;
}

/* Writes text to a new file in a temporary directory; the path goes into path. */
static void write_tmp(char *path, size_t cap, const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	FILE *f;
	int fd;

	snprintf(path, cap, "%s/test_domset.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- matching */

static const char fixed_list[] = "# the set every match row runs against\n"
				 "example.com\n"
				 "*.wild.example\n"
				 ".dot.example\n"
				 "bücher.example\n"
				 "EXAMPLE.org.\n"
				 "0x0a000001\n"
				 "[0:0::1]\n"
				 ".example.net\n"
				 "*.ads.example.net\n"
				 "both.example\n"
				 ".both.example\n"
				 "*.w2.example\n"
				 ".w2.example\n"
				 "*.com.au\n";

struct match_case {
	const char *name;
	const char *host;  /* as a client sends it */
	const char *entry; /* what matches, NULL for nothing */
};

static const struct match_case match_cases[] = {
    {"match: exact", "example.com", "example.com"},
    {"match: exact, case and dot", "EXAMPLE.COM.", "example.com"},
    {"match: exact is not a suffix", "www.example.com", NULL},
    {"match: exact is not a prefix", "example.com.evil", NULL},
    {"match: exact parent only", "com", NULL},
    {"match: wildcard: not the domain", "wild.example", NULL},
    {"match: wildcard: one label", "a.wild.example", "*.wild.example"},
    {"match: wildcard: two labels", "a.b.wild.example", "*.wild.example"},
    {"match: wildcard: label boundary", "xwild.example", NULL},
    {"match: wildcard: case", "A.WILD.EXAMPLE.", "*.wild.example"},
    {"match: dotted: the domain", "dot.example", ".dot.example"},
    {"match: dotted: a subdomain", "a.dot.example", ".dot.example"},
    {"match: dotted: deep", "a.b.c.d.e.dot.example", ".dot.example"},
    {"match: dotted: label boundary", "notdot.example", NULL},
    {"match: dotted: not a suffix", "dot.example.evil", NULL},
    {"match: idn: U-label", "bücher.example", "xn--bcher-kva.example"},
    {"match: idn: uppercase U-label", "BÜCHER.EXAMPLE.", "xn--bcher-kva.example"},
    {"match: idn: A-label", "XN--BCHER-KVA.example", "xn--bcher-kva.example"},
    {"match: idn: ideographic stop", "bücher。example", "xn--bcher-kva.example"},
    {"match: entry with case and dot", "example.org", "example.org"},
    {"match: ipv4 entry, dotted quad", "10.0.0.1", "10.0.0.1"},
    {"match: ipv4 entry, decimal", "167772161", "10.0.0.1"},
    {"match: ipv4 entry, octal", "012.0.0.01", "10.0.0.1"},
    {"match: ipv4 entry, mapped", "[::ffff:10.0.0.1]", "10.0.0.1"},
    {"match: ipv4 other address", "10.0.0.2", NULL},
    {"match: ipv6 entry", "[::1]", "[::1]"},
    {"match: ipv6 entry, long form", "[0000:0:0:0:0:0:0:0001]", "[::1]"},
    {"match: nearest parent wins", "x.ads.example.net", "*.ads.example.net"},
    {"match: dotted parent of a wildcard", "ads.example.net", ".example.net"},
    {"match: dotted parent, other child", "www.example.net", ".example.net"},
    {"match: exact before dotted", "both.example", "both.example"},
    {"match: dotted for subdomains", "x.both.example", ".both.example"},
    {"match: dotted before wildcard", "x.w2.example", ".w2.example"},
    {"match: dotted alone for the domain", "w2.example", ".w2.example"},
    {"match: public suffix wildcard", "shop.com.au", "*.com.au"},
    {"match: public suffix itself", "com.au", NULL},
    {"match: unrelated", "example.edu", NULL},
    {"match: single label", "localhost", NULL},
};

static void run_match_case(void **state)
{
	const struct match_case *c = *state;
	struct domset *s = from_text(fixed_list);
	const char *got = match(s, c->host);

	if (!c->entry && got)
		fail_msg("%s: matched \"%s\", want nothing", c->host, got);
	if (c->entry && !got)
		fail_msg("%s: no match, want \"%s\"", c->host, c->entry);
	if (c->entry)
		assert_string_equal(got, c->entry);
	domset_free(s);
}

/* ------------------------------------------------------------- refused */

struct bad_case {
	const char *name;
	const char *entry;
	const char *err; /* domset_add's message, whole */
};

static const struct bad_case bad_cases[] = {
    {"refuse: bare star", "*", "\"*\": '*' is only allowed as a leading \"*.\""},
    {"refuse: star inside", "a.*.com", "\"a.*.com\": '*' is only allowed as a leading \"*.\""},
    {"refuse: two stars", "*.*.example.com",
     "\"*.*.example.com\": '*' is only allowed as a leading \"*.\""},
    {"refuse: star glued", "*example.com",
     "\"*example.com\": '*' is only allowed as a leading \"*.\""},
    {"refuse: bare dot", ".", "\".\": a suffix entry needs a domain after its \".\""},
    {"refuse: bare star-dot", "*.", "\"*.\": a suffix entry needs a domain after its \"*.\""},
    {"refuse: two leading dots", "..example.com", "\"..example.com\": empty label"},
    {"refuse: star and two dots", "*..example.com", "\"*..example.com\": empty label"},
    {"refuse: wildcard ipv4", "*.10.0.0.1",
     "\"*.10.0.0.1\": a suffix entry needs a domain name, not an IP address"},
    {"refuse: dotted ipv4 trick", ".0x7f.1",
     "\".0x7f.1\": a suffix entry needs a domain name, not an IP address"},
    {"refuse: wildcard ipv6", "*.[::1]",
     "\"*.[::1]\": a suffix entry needs a domain name, not an IP address"},
    {"refuse: empty", "", "\"\": empty host"},
    {"refuse: space", "exa mple.com", "\"exa mple.com\": character ' ' not allowed in a host name"},
    {"refuse: slash", "example.com/ads",
     "\"example.com/ads\": character '/' not allowed in a host name"},
    {"refuse: port", "example.com:80",
     "\"example.com:80\": ':' in a host name (a port, or an IPv6 address without brackets)"},
    {"refuse: percent", "ex%61mple.com", "\"ex%61mple.com\": percent-encoding in a host name"},
    {"refuse: ipv4 five parts", "1.2.3.4.5",
     "\"1.2.3.4.5\": ends in a number but is not an IPv4 address"},
    {"refuse: ipv4 out of range", "256.1.1.1",
     "\"256.1.1.1\": ends in a number but is not an IPv4 address"},
    {"refuse: bad punycode", "xn--zz.com",
     "\"xn--zz.com\": refused by IDNA: string contains invalid punycode data"},
    {"refuse: control byte shown escaped", "a\x01.com",
     "\"a\\x01.com\": byte 0x01 not allowed in a host name"},
    {"refuse: quote shown escaped", "a\".com",
     "\"a\\x22.com\": character '\"' not allowed in a host name"},
    {"refuse: zone id", "[fe80::1%eth0]", "\"[fe80::1%eth0]\": IPv6 zone id"},
};

static void run_bad_case(void **state)
{
	const struct bad_case *c = *state;
	struct domset *s = domset_new();
	char err[256];

	assert_non_null(s);
	assert_int_equal(domset_add(s, c->entry, strlen(c->entry), err, sizeof(err)), -EINVAL);
	assert_string_equal(err, c->err);
	/* nothing was added */
	assert_int_equal(domset_size(s), 0);
	domset_free(s);
}

/* ------------------------------------------------------------- fixed tests */

static void test_add_and_size(void **state)
{
	struct domset *s = domset_new();
	char err[128];

	(void)state;
	assert_int_equal(domset_add(s, "example.com", 11, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 1);
	/* the same entry, any spelling: kept once */
	assert_int_equal(domset_add(s, "EXAMPLE.COM.", 12, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 1);
	/* the other two kinds of the same name count apart */
	assert_int_equal(domset_add(s, ".example.com", 12, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 2);
	assert_int_equal(domset_add(s, "*.example.com", 13, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 3);
	assert_int_equal(domset_add(s, "*.EXAMPLE.com", 13, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 3);
	/* len bounds the entry: no NUL needed */
	assert_int_equal(domset_add(s, "a.example.comXYZ", 13, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 4);
	assert_string_equal(domset_match(s, "a.example.com"), "a.example.com");
	assert_string_equal(domset_match(s, "b.example.com"), ".example.com");
	assert_true(domset_mem(s) > 0);
	domset_free(s);
}

static void test_null_args(void **state)
{
	struct domset *s = domset_new();
	char err[128];

	(void)state;
	assert_int_equal(domset_add(NULL, "a.com", 5, err, sizeof(err)), -EINVAL);
	assert_int_equal(domset_add(s, NULL, 5, err, sizeof(err)), -EINVAL);
	assert_int_equal(domset_add(s, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"\": empty host");
	/* err is optional */
	assert_int_equal(domset_add(s, "a b", 3, NULL, 0), -EINVAL);
	assert_int_equal(domset_add_list(s, NULL, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(domset_load_text(s, "x", NULL, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(domset_load_text(NULL, "x", "a", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(domset_load_file(s, NULL, err, sizeof(err)), -EINVAL);
	assert_null(domset_match(NULL, "a.com"));
	assert_null(domset_match(s, NULL));
	assert_null(domset_match(s, ""));
	assert_null(domset_match(s, "a.com"));
	assert_int_equal(domset_size(NULL), 0);
	assert_int_equal(domset_mem(NULL), 0);
	domset_free(s);
	domset_free(NULL);
}

/* Unnormalized hosts are compared as given: the caller normalizes. */
static void test_match_wants_normalized(void **state)
{
	struct domset *s = from_text("example.com\n.dot.example\n");

	(void)state;
	assert_string_equal(domset_match(s, "example.com"), "example.com");
	assert_null(domset_match(s, "Example.com"));
	assert_null(domset_match(s, "example.com."));
	assert_string_equal(domset_match(s, "x.dot.example"), ".dot.example");
	/* odd strings do not crash or match */
	assert_null(domset_match(s, "."));
	assert_null(domset_match(s, ".."));
	assert_null(domset_match(s, "dot.example."));
	assert_string_equal(domset_match(s, ".dot.example"), ".dot.example");
	domset_free(s);
}

static void test_add_list(void **state)
{
	static const char *const good[] = {"a.example", "*.b.example", ".c.example"};
	static const char *const bad[] = {"a.example", "b.example", "c..example", "d.example"};
	struct domset *s = domset_new();
	char err[200];

	(void)state;
	assert_int_equal(domset_add_list(s, good, ARRAY_SIZE(good), err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 3);
	assert_string_equal(domset_match(s, "x.b.example"), "*.b.example");
	assert_string_equal(domset_match(s, "c.example"), ".c.example");
	assert_int_equal(domset_add_list(s, bad, ARRAY_SIZE(bad), err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "entry 2: \"c..example\": empty label");
	/* the entries before the bad one are in */
	assert_string_equal(domset_match(s, "b.example"), "b.example");
	assert_null(domset_match(s, "d.example"));
	assert_int_equal(domset_add_list(s, NULL, 0, err, sizeof(err)), 0);
	domset_free(s);
}

static void test_text_format(void **state)
{
	static const char text[] = "# a comment line\n"
				   "\n"
				   "   \t  \n"
				   "  plain.example  \n"
				   "\ttabbed.example\t\n"
				   "crlf.example\r\n"
				   "commented.example # trailing comment\n"
				   "commented2.example#no space\n"
				   "   # indented comment\n"
				   ".dotted.example\r\n"
				   "*.wild.example\n"
				   "last.example";
	struct domset *s = from_text(text);

	(void)state;
	assert_int_equal(domset_size(s), 8);
	assert_string_equal(match(s, "plain.example"), "plain.example");
	assert_string_equal(match(s, "tabbed.example"), "tabbed.example");
	assert_string_equal(match(s, "crlf.example"), "crlf.example");
	assert_string_equal(match(s, "commented.example"), "commented.example");
	assert_string_equal(match(s, "commented2.example"), "commented2.example");
	assert_string_equal(match(s, "a.dotted.example"), ".dotted.example");
	assert_string_equal(match(s, "a.wild.example"), "*.wild.example");
	assert_string_equal(match(s, "last.example"), "last.example");
	domset_free(s);
}

/* Errors name the file and the line, counting comments and blank lines. */
static void test_text_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} t[] = {
	    {"good.example\n# comment\n\nbad..example\n", "list:4: \"bad..example\": empty label"},
	    {"bad entry.example\n", "list:1: \"bad entry.example\": one entry per line"},
	    {"a.example\n0.0.0.0 ads.example\n",
	     "list:2: \"0.0.0.0 ads.example\": one entry per line"},
	    {"a.example\r\nb.example\tc.example\r\n",
	     "list:2: \"b.example\\x09c.example\": one entry per line"},
	    {"a.example\nx\0y.example\n", "list:2: NUL byte"},
	    {"a\nb\nc\nd\ne\nf\ng\nh\ni\n*\n",
	     "list:10: \"*\": '*' is only allowed as a leading \"*.\""},
	    {"\n\n\n  example.com:443  # port\n",
	     "list:4: \"example.com:443\": ':' in a host name (a port, or an IPv6 address without "
	     "brackets)"},
	    {"ok.example\nlast.bad.123", "list:2: \"last.bad.123\": ends in a number but is not an "
					 "IPv4 address"},
	    {"*.1.2.3.4\n", "list:1: \"*.1.2.3.4\": a suffix entry needs a domain name, not an IP "
			    "address"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct domset *s = domset_new();
		size_t len = strlen(t[i].text);
		char err[256];

		/* the NUL case: the text runs past the embedded NUL */
		if (strstr(t[i].err, "NUL"))
			len = sizeof("a.example\nx\0y.example\n") - 1;
		assert_int_equal(domset_load_text(s, "list", t[i].text, len, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, t[i].err);
		domset_free(s);
	}
}

static void test_text_empty(void **state)
{
	struct domset *s = domset_new();
	char err[64];

	(void)state;
	assert_int_equal(domset_load_text(s, "e", "", 0, err, sizeof(err)), 0);
	assert_int_equal(domset_load_text(s, "e", NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(domset_load_text(s, "e", "\n\n# x\n", 6, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 0);
	/* a NULL name still gives a message */
	assert_int_equal(domset_load_text(s, NULL, "a..b\n", 5, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "(text):1: \"a..b\": empty label");
	domset_free(s);
}

/* A long bad line: the message shows its start and says it was cut. */
static void test_long_line(void **state)
{
	struct domset *s = domset_new();
	char *text = malloc(100001), err[512];

	(void)state;
	assert_non_null(text);
	memset(text, 'a', 100000);
	text[100000] = '\0';
	assert_int_equal(domset_load_text(s, "big", text, 100000, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "big:1: \"aaaa"));
	assert_non_null(strstr(err, "...\": label longer than 63 bytes"));
	assert_true(strlen(err) < 200);
	/* a tiny err buffer is truncated, NUL-terminated */
	assert_int_equal(domset_load_text(s, "big", text, 100000, err, 8), -EINVAL);
	assert_string_equal(err, "big:1: ");
	free(text);
	domset_free(s);
}

static void test_file(void **state)
{
	static const char text[] = "# list\nfile.example\n*.wild.example\nBÜCHER.example.\n";
	char path[512], err[600];
	struct domset *s = domset_new();

	(void)state;
	write_tmp(path, sizeof(path), text, sizeof(text) - 1);
	assert_int_equal(domset_load_file(s, path, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 3);
	assert_string_equal(match(s, "file.example"), "file.example");
	assert_string_equal(match(s, "x.wild.example"), "*.wild.example");
	assert_string_equal(match(s, "bücher.example"), "xn--bcher-kva.example");
	unlink(path);
	domset_free(s);
}

/* A file's errors name the file by its path. */
static void test_file_errors(void **state)
{
	static const char text[] = "ok.example\n\nbad/entry.example\n";
	char path[512], want[700], err[700];
	struct domset *s = domset_new();

	(void)state;
	write_tmp(path, sizeof(path), text, sizeof(text) - 1);
	assert_int_equal(domset_load_file(s, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:3: \"bad/entry.example\": character '/' not allowed in a host name", path);
	assert_string_equal(err, want);
	unlink(path);
	assert_int_equal(domset_load_file(s, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(domset_load_file(s, "/", err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: Is a directory");
	domset_free(s);
}

static void test_empty_file(void **state)
{
	char path[512], err[600];
	struct domset *s = domset_new();

	(void)state;
	write_tmp(path, sizeof(path), "", 0);
	assert_int_equal(domset_load_file(s, path, err, sizeof(err)), 0);
	assert_int_equal(domset_size(s), 0);
	unlink(path);
	domset_free(s);
}

/*
 * 200,000 entries added one at a time (the table grows from 16 slots):
 * every one matches, as itself, and near misses do not.
 */
static void test_growth(void **state)
{
	struct domset *s = domset_new();
	char e[64], h[80];

	(void)state;
	for (int i = 0; i < 200000; i++) {
		int n =
		    snprintf(e, sizeof(e), "%sh%d.example%d.com", i % 3 == 0 ? "." : "", i, i % 97);

		assert_int_equal(domset_add(s, e, (size_t)n, NULL, 0), 0);
	}
	assert_int_equal(domset_size(s), 200000);
	for (int i = 0; i < 200000; i++) {
		const char *m;

		snprintf(h, sizeof(h), "h%d.example%d.com", i, i % 97);
		m = domset_match(s, h);
		assert_non_null(m);
		assert_string_equal(m + (i % 3 == 0), h);
		/* subdomains only for the dotted third */
		snprintf(h, sizeof(h), "www.h%d.example%d.com", i, i % 97);
		assert_true((domset_match(s, h) != NULL) == (i % 3 == 0));
		/* another suffix number: no match */
		snprintf(h, sizeof(h), "h%d.example%d.com", i, (i + 1) % 97);
		assert_null(domset_match(s, h));
	}
	domset_free(s);
}

/*
 * The acceptance test: a million entries (a third exact, a third ".",
 * a third "*.") from a file in under 2 s, a million lookups of hosts of 2
 * to 6 labels, half in the set, in under 1 s; both in thread CPU time.
 * Typical numbers are printed: expect a few hundred ms and well under a
 * microsecond per lookup.
 */
static void test_million(void **state)
{
	const size_t n = 1000000, q = 1000000;
	char *text = malloc(n * 48), path[512], err[600];
	char(*hosts)[96] = malloc(q * sizeof(*hosts));
	struct domset *s = domset_new();
	size_t len = 0, hits = 0, want_hits = 0;
	double t0, t1, t2, t3;

	(void)state;
	assert_non_null(text);
	assert_non_null(hosts);
	prng_state = 1;
	for (size_t i = 0; i < n; i++) {
		static const char *const pre[] = {"", ".", "*."};

		len += (size_t)sprintf(text + len, "%sd%zx-%llx.t%zu.example\n", pre[i % 3], i,
				       (unsigned long long)(prng() & 0xffff), i % 1000);
	}
	write_tmp(path, sizeof(path), text, len);
	t0 = cpu_now();
	if (domset_load_file(s, path, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	t1 = cpu_now();
	unlink(path);
	assert_int_equal(domset_size(s), n);

	/* queries: an entry's own name, a subdomain of one, or a miss */
	prng_state = 1;
	for (size_t i = 0; i < q; i++) {
		unsigned long long r = prng() & 0xffff;
		int kind = (int)(i % 4);

		switch (kind) {
		case 0: /* the entry itself: exact and "." match, "*." does not */
			sprintf(hosts[i], "d%zx-%llx.t%zu.example", i, r, i % 1000);
			want_hits += i % 3 != 2;
			break;
		case 1: /* two labels deeper: "." and "*." match, exact does not */
			sprintf(hosts[i], "a.b.d%zx-%llx.t%zu.example", i, r, i % 1000);
			want_hits += i % 3 != 0;
			break;
		default: /* a miss with as many labels */
			sprintf(hosts[i], "x.y.z%zx-%llx.t%zu.example", i, r, i % 1000);
			break;
		}
	}
	t2 = cpu_now();
	for (size_t i = 0; i < q; i++)
		hits += domset_match(s, hosts[i]) != NULL;
	t3 = cpu_now();
	print_message("domset: %zu entries loaded in %.0f ms (%.0f MB file, %.1f MB in memory, "
		      "%.1f bytes/entry); %zu lookups in %.0f ms (%.0f ns each)\n",
		      n, (t1 - t0) * 1e3, (double)len / 1e6, (double)domset_mem(s) / 1e6,
		      (double)domset_mem(s) / (double)n, q, (t3 - t2) * 1e3,
		      (t3 - t2) * 1e9 / (double)q);
	assert_int_equal(hits, want_hits);
	assert_true(t1 - t0 < 2.0);
	assert_true(t3 - t2 < 1.0);
	/* compact: table and arena under 64 bytes an entry */
	assert_true(domset_mem(s) < n * 64);
	domset_free(s);
	free(hosts);
	free(text);
}

/* ------------------------------------------------------------- main */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_add_and_size),
    cmocka_unit_test(test_null_args),
    cmocka_unit_test(test_match_wants_normalized),
    cmocka_unit_test(test_add_list),
    cmocka_unit_test(test_text_format),
    cmocka_unit_test(test_text_errors),
    cmocka_unit_test(test_text_empty),
    cmocka_unit_test(test_long_line),
    cmocka_unit_test(test_file),
    cmocka_unit_test(test_file_errors),
    cmocka_unit_test(test_empty_file),
    cmocka_unit_test(test_growth),
    cmocka_unit_test(test_million),
};

int main(void)
{
	size_t n = 0, i,
	       cap = ARRAY_SIZE(match_cases) + ARRAY_SIZE(bad_cases) + ARRAY_SIZE(fixed_tests);
	struct CMUnitTest *t = calloc(cap, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	/* One cmocka test per table row, so a failure names its row. */
	for (i = 0; i < ARRAY_SIZE(match_cases); i++)
		t[n++] = (struct CMUnitTest){.name = match_cases[i].name,
					     .test_func = run_match_case,
					     .initial_state = (void *)&match_cases[i]};
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		t[n++] = (struct CMUnitTest){.name = bad_cases[i].name,
					     .test_func = run_bad_case,
					     .initial_state = (void *)&bad_cases[i]};
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		t[n++] = fixed_tests[i];
	rc = _cmocka_run_group_tests("domset", t, n, NULL, NULL);
	free(t);
	return rc;
}
