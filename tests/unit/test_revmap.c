// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reverse mapping tests. Single values first: every expected rewrite is
 * written out by hand, every value is handed over in a buffer of exactly its
 * size (ASan sees a read past it), every rewrite is also tried with one byte
 * too little room (-ENOSPC and the size needed) and every refusal checks
 * that out was not touched. Then whole responses: parsed with
 * h1_parse_response(), rewritten with h1_write_head(), parsed again and
 * compared field by field, order included. Then the specs refused.
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

#include "http/h1.h"
#include "http/revmap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define PAIRS(...)  ((const struct revmap_pair[]){__VA_ARGS__})
#define NPAIRS(...) (sizeof(PAIRS(__VA_ARGS__)) / sizeof(struct revmap_pair))
#define URLS(...)   .url = PAIRS(__VA_ARGS__), .nr_url = NPAIRS(__VA_ARGS__)
#define DOMS(...)   .domain = PAIRS(__VA_ARGS__), .nr_domain = NPAIRS(__VA_ARGS__)
#define PATHS(...)  .path = PAIRS(__VA_ARGS__), .nr_path = NPAIRS(__VA_ARGS__)

/* ---------------------------------------------------------------- helpers */

static struct revmap *mk(const struct revmap_spec *spec)
{
	char err[256] = "";
	struct revmap *t = revmap_new(spec, err, sizeof(err));

	if (!t)
		fail_msg("revmap_new refused: %s", err);
	assert_string_equal(err, "");
	return t;
}

/* The usual route: backend http://10.0.0.2:8080/app/, public https://www.example.com/. */
static struct revmap *mk_std(void)
{
	const struct revmap_spec s = {
	    URLS({"http://10.0.0.2:8080/app/", "https://www.example.com/"}),
	    DOMS({"backend.internal", "example.com"}),
	    PATHS({"/app/", "/"}),
	};

	return mk(&s);
}

typedef int (*rewrite_fn)(const struct revmap *, const char *, size_t, char *, size_t, size_t *);

/* fn(in) must give want (NULL: no rewrite, out untouched). */
static void check(rewrite_fn fn, const struct revmap *t, const char *in, const char *want)
{
	size_t len = strlen(in), wlen = want ? strlen(want) : 0, n = 99;
	char *v = malloc(len ? len : 1), out[1024];
	int rc;

	assert_non_null(v);
	memcpy(v, in, len);
	memset(out, 'Z', sizeof(out));
	rc = fn(t, v, len, out, sizeof(out), &n);
	if (!want) {
		if (rc != 0)
			fail_msg("\"%s\": rc %d, \"%.*s\", want no rewrite", in, rc, (int)n, out);
		assert_int_equal(n, 0);
		assert_int_equal(out[0], 'Z');
		free(v);
		return;
	}
	if (rc != 1)
		fail_msg("\"%s\": rc %d, want \"%s\"", in, rc, want);
	if (n != wlen || memcmp(out, want, n))
		fail_msg("\"%s\": got \"%.*s\", want \"%s\"", in, (int)n, out, want);
	assert_int_equal(out[n], 'Z');
	/* one byte short: the size needed, nothing written past cap */
	memset(out, 'Z', sizeof(out));
	n = 0;
	assert_int_equal(fn(t, v, len, out, wlen - 1, &n), -ENOSPC);
	assert_int_equal(n, wlen);
	assert_int_equal(out[wlen - 1], 'Z');
	n = 0;
	assert_int_equal(fn(t, v, len, NULL, 0, &n), -ENOSPC);
	assert_int_equal(n, wlen);
	free(v);
}

static void loc(const struct revmap *t, const char *in, const char *want)
{
	check(revmap_location, t, in, want);
}

static void ck(const struct revmap *t, const char *in, const char *want)
{
	check(revmap_set_cookie, t, in, want);
}

/* One response's trip through revmap_response and h1_write_head. */
struct fx {
	char *in;
	size_t in_len;
	struct h1_msg m;
	struct h1_msg m2;
	struct h1_fieldset drop;
	struct h1_hdr add[32];
	size_t nr_add;
	char scratch[4096];
	size_t used;
	char out[8192];
	size_t out_len;
};

static struct fx *F;

static int fx_setup(void **state)
{
	(void)state;
	F = calloc(1, sizeof(*F));
	return F ? 0 : -1;
}

static int fx_teardown(void **state)
{
	(void)state;
	if (F)
		free(F->in);
	free(F);
	F = NULL;
	return 0;
}

static void rsp(const char *s)
{
	free(F->in);
	F->in_len = strlen(s);
	F->in = malloc(F->in_len);
	assert_non_null(F->in);
	memcpy(F->in, s, F->in_len);
	h1_msg_init(&F->m, NULL);
	assert_int_equal(h1_parse_response(&F->m, F->in, F->in_len, H1_METH_GET), 0);
	memset(&F->drop, 0, sizeof(F->drop));
	F->nr_add = 0;
	F->used = 0;
}

static void run(const struct revmap *t)
{
	struct h1_rewrite rw;

	assert_int_equal(revmap_response(t, &F->m, F->in, &F->drop, F->add, ARRAY_SIZE(F->add),
					 &F->nr_add, F->scratch, sizeof(F->scratch), &F->used),
			 0);
	rw = (struct h1_rewrite){.drop = &F->drop, .add = F->add, .nr_add = F->nr_add};
	assert_int_equal(h1_write_head(&F->m, F->in, &rw, F->out, sizeof(F->out), &F->out_len), 0);
	h1_msg_init(&F->m2, NULL);
	assert_int_equal(h1_parse_response(&F->m2, F->out, F->out_len, H1_METH_GET), 0);
	assert_int_equal(F->m2.head_len, F->out_len);
	assert_int_equal(F->m2.status, F->m.status);
}

static void expect_fields(const char *const *want, size_t n)
{
	char line[1024];
	uint32_t i;

	if (F->m2.nr_fields != n)
		fail_msg("%u fields, want %zu:\n%.*s", F->m2.nr_fields, n, (int)F->out_len, F->out);
	for (i = 0; i < n; i++) {
		const struct h1_field *f = &F->m2.fields[i];

		snprintf(line, sizeof(line), "%.*s: %.*s", (int)f->name.len, F->out + f->name.off,
			 (int)f->value.len, F->out + f->value.off);
		assert_string_equal(line, want[i]);
	}
}

/* ------------------------------------------------------------- Location */

static void test_loc_basic(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	loc(t, "http://10.0.0.2:8080/app/x/y?q=1&r=/app/#frag",
	    "https://www.example.com/x/y?q=1&r=/app/#frag");
	loc(t, "http://10.0.0.2:8080/app/", "https://www.example.com/");
	loc(t, "http://10.0.0.2:8080/app/?q", "https://www.example.com/?q");
	revmap_free(t);
}

static void test_loc_default_port(void **state)
{
	const struct revmap_spec s1 = {URLS({"http://backend/app/", "https://pub/"})};
	const struct revmap_spec s2 = {URLS({"https://Backend:443", "http://pub:8080"})};
	const struct revmap_spec s3 = {URLS({"http://backend:0080/", "https://pub/"})};
	struct revmap *t1 = mk(&s1), *t2 = mk(&s2), *t3 = mk(&s3);

	(void)state;
	loc(t1, "http://backend/app/x", "https://pub/x");
	loc(t1, "http://backend:80/app/x", "https://pub/x");
	loc(t1, "http://backend:080/app/x", "https://pub/x");
	loc(t1, "http://backend:/app/x", "https://pub/x"); /* empty port: the default */
	loc(t1, "http://backend:8080/app/x", NULL);
	loc(t1, "http://backend:443/app/x", NULL);
	loc(t1, "https://backend/app/x", NULL);
	loc(t1, "https://backend:80/app/x", NULL);
	loc(t1, "http://backend:65536/app/x", NULL);
	loc(t2, "https://backend/x", "http://pub:8080/x");
	loc(t2, "HTTPS://BACKEND:443/x", "http://pub:8080/x");
	loc(t2, "http://backend:443/x", NULL);
	loc(t3, "http://backend/x", "https://pub/x");
	revmap_free(t1);
	revmap_free(t2);
	revmap_free(t3);
}

static void test_loc_host_case(void **state)
{
	const struct revmap_spec s = {URLS({"http://BackEnd.Internal/", "https://pub/"})};
	struct revmap *t = mk_std(), *t2 = mk(&s);

	(void)state;
	loc(t, "HTTP://10.0.0.2:8080/app/x", "https://www.example.com/x");
	loc(t2, "http://backend.INTERNAL/Z", "https://pub/Z");
	loc(t2, "Http://BACKEND.internal/", "https://pub/");
	revmap_free(t);
	revmap_free(t2);
}

static void test_loc_path_case_sensitive(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	loc(t, "http://10.0.0.2:8080/App/x", NULL);
	loc(t, "http://10.0.0.2:8080/APP/", NULL);
	loc(t, "http://10.0.0.2:8080/%61pp/x", NULL); /* no percent-decoding either */
	revmap_free(t);
}

static void test_loc_boundary_no_slash(void **state)
{
	const struct revmap_spec s = {URLS({"/app", "/pub"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "/app", "/pub");
	loc(t, "/app/x", "/pub/x");
	loc(t, "/app/", "/pub/");
	loc(t, "/app?x=1", "/pub?x=1");
	loc(t, "/app#f", "/pub#f");
	loc(t, "/application", NULL);
	loc(t, "/app.html", NULL);
	loc(t, "/ap", NULL);
	loc(t, "/", NULL);
	revmap_free(t);
}

static void test_loc_boundary_slash(void **state)
{
	const struct revmap_spec s = {URLS({"/app/", "/"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "/app/", "/");
	loc(t, "/app/x?y", "/x?y");
	loc(t, "/app", NULL);
	loc(t, "/app?x", NULL);
	loc(t, "/application/x", NULL);
	revmap_free(t);
}

static void test_loc_first_match_wins(void **state)
{
	const struct revmap_spec s = {URLS({"http://b/app/sub/", "https://s/"},
					   {"http://b/app/", "https://a/"},
					   {"http://b/", "https://root/"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "http://b/app/sub/x", "https://s/x");
	loc(t, "http://b/app/sub/", "https://s/");
	loc(t, "http://b/app/subway", "https://a/subway");
	loc(t, "http://b/app/sub", "https://a/sub");
	loc(t, "http://b/app/x", "https://a/x");
	loc(t, "http://b/other", "https://root/other");
	loc(t, "http://b", "https://root/");
	revmap_free(t);
}

static void test_loc_shadowed_refused(void **state)
{
	const struct {
		struct revmap_spec s;
		const char *msg;
	} cases[] = {
	    {{URLS({"http://b/app/", "https://a/"}, {"http://b/app/sub/", "https://s/"})},
	     "url[1].from: never used"},
	    {{URLS({"http://b/", "https://a/"}, {"http://B:80", "https://s/"})},
	     "url[1].from: never used"},
	    {{URLS({"/x/", "/"}, {"/app", "/p"}, {"/app/y", "/p/y"})}, "url[2].from: never used"},
	    {{URLS({"/app", "/p"}, {"/app/", "/q/"})}, "url[1].from: never used"},
	    {{PATHS({"/app", "/p"}, {"/app/y/", "/q/"})}, "path[1].from: never used"},
	    /* "/app/" takes "/app" too, by the default-path rule */
	    {{PATHS({"/app/", "/"}, {"/app", "/p"})}, "path[1].from: never used"},
	    {{DOMS({"a.internal", "a.com"}, {"A.Internal", "b.com"})},
	     "domain[1].from: never used"},
	    {{DOMS({"a.internal", "a.com"}, {".a.internal", "b.com"})},
	     "domain[1].from: never used"},
	};
	/* not shadowed: the later one still takes something */
	const struct revmap_spec ok[] = {
	    {URLS({"/app/", "/"}, {"/app", "/p"})},
	    {URLS({"http://b/app/", "/"}, {"/app/", "/"})},
	    {URLS({"http://b/app/", "/"}, {"https://b/app/", "/"}, {"http://b:81/app/", "/"})},
	    {PATHS({"/app", "/p"}, {"/apple", "/q"})},
	    {PATHS({"/app/x/", "/"}, {"/app/", "/"})},
	};
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		errno = 0;
		assert_null(revmap_new(&cases[i].s, err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].msg);
	}
	for (i = 0; i < ARRAY_SIZE(ok); i++)
		revmap_free(mk(&ok[i]));
}

static void test_loc_path_vs_url(void **state)
{
	const struct revmap_spec s = {URLS({"/app/", "/"})};
	struct revmap *t = mk(&s), *std = mk_std();

	(void)state;
	loc(t, "/app/x", "/x");
	loc(t, "http://10.0.0.2:8080/app/x", NULL);
	loc(t, "http://b/app/x", NULL);
	loc(std, "/app/x", NULL);
	loc(std, "http://10.0.0.2:8080/app/x", "https://www.example.com/x");
	revmap_free(t);
	revmap_free(std);
}

static void test_loc_both_kinds(void **state)
{
	const struct revmap_spec s = {
	    URLS({"/app/", "https://www.example.com/"},
		 {"http://10.0.0.2:8080/app/", "https://www.example.com/"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "/app/x", "https://www.example.com/x");
	loc(t, "http://10.0.0.2:8080/app/y", "https://www.example.com/y");
	revmap_free(t);
}

static void test_loc_host_mismatch(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	loc(t, "http://10.0.0.3:8080/app/x", NULL);
	loc(t, "http://10.0.0.2.evil:8080/app/x", NULL);
	loc(t, "http://10.0.0.2:8080.evil/app/x", NULL);
	loc(t, "http://10.0.0.2:8081/app/x", NULL);
	loc(t, "http://www.example.com/app/x", NULL);
	revmap_free(t);
}

static void test_loc_not_absolute(void **state)
{
	static const char *const vals[] = {
	    "app/x",
	    "../app/x",
	    "./app/",
	    "?q",
	    "#f",
	    "",
	    " /app/x",
	    "//10.0.0.2:8080/app/x",
	    "/\\10.0.0.2:8080/app/x",
	    "mailto:a@b",
	    "ftp://10.0.0.2:8080/app/x",
	    "http:/app/x",
	    "http:10.0.0.2:8080/app/x",
	    "http://user@10.0.0.2:8080/app/x",
	    "http://10.0.0.2:8080@evil.example/app/x",
	    "http://[10.0.0.2:8080/app/x",
	    "http:///app/x",
	    "1http://10.0.0.2:8080/app/x",
	};
	const struct revmap_spec s = {
	    URLS({"/", "https://www.example.com/"},
		 {"http://10.0.0.2:8080/app/", "https://www.example.com/"})};
	struct revmap *t = mk(&s);
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vals); i++)
		loc(t, vals[i], NULL);
	/* the "/" mapping does take every absolute path */
	loc(t, "/x", "https://www.example.com/x");
	revmap_free(t);
}

static void test_loc_no_path(void **state)
{
	const struct revmap_spec s = {URLS({"http://b/", "https://x/"})};
	struct revmap *t = mk(&s), *std = mk_std();

	(void)state;
	loc(t, "http://b", "https://x/");
	loc(t, "http://b?q=1", "https://x/?q=1");
	loc(t, "http://b#f", "https://x/#f");
	loc(t, "http://b:80", "https://x/");
	loc(std, "http://10.0.0.2:8080", NULL);
	loc(std, "http://10.0.0.2:8080?x", NULL);
	revmap_free(t);
	revmap_free(std);
}

static void test_loc_ipv6(void **state)
{
	const struct revmap_spec s = {URLS({"http://[2001:db8::1]:8080/", "https://x/"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "http://[2001:DB8::1]:8080/a", "https://x/a");
	loc(t, "http://[2001:db8::1]/a", NULL);
	loc(t, "http://[2001:db8::2]:8080/a", NULL);
	revmap_free(t);
}

/* A to URL without a path takes a from without the final '/' too. */
static void test_loc_to_bare_host(void **state)
{
	const struct revmap_spec s1 = {URLS({"http://b/app", "https://X"})};
	const struct revmap_spec s2 = {URLS({"/app/", "https://x"})};
	struct revmap *t1 = mk(&s1), *t2 = mk(&s2);

	(void)state;
	loc(t1, "http://b/app", "https://x");
	loc(t1, "http://b/app/y", "https://x/y");
	loc(t1, "http://b/app?q", "https://x?q");
	loc(t1, "http://b/app#f", "https://x#f");
	loc(t1, "http://b/apple", NULL);
	loc(t2, "/app/y", "https://x/y");
	loc(t2, "/app/", "https://x/");
	revmap_free(t1);
	revmap_free(t2);
}

static void test_loc_to_path(void **state)
{
	const struct revmap_spec s = {URLS({"http://10.0.0.2:8080/app/", "/"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "http://10.0.0.2:8080/app/x?y", "/x?y");
	loc(t, "http://10.0.0.2:8080/app/", "/");
	revmap_free(t);
}

/* A rewrite must never make a same-host path into a URL for another host. */
static void test_loc_network_path_guard(void **state)
{
	const struct revmap_spec s = {URLS({"/app/", "/"}, {"http://b/", "/"})};
	const struct revmap_spec s2 = {URLS({"/", "/pub/"})};
	const struct revmap_spec s3 = {URLS({"/app/", "https://x/"})};
	struct revmap *t = mk(&s), *t2 = mk(&s2), *t3 = mk(&s3);

	(void)state;
	loc(t, "/app//evil.example/x", NULL);
	loc(t, "/app/\\evil.example/x", NULL);
	loc(t, "http://b//evil.example", NULL);
	loc(t, "http://b/\\evil.example", NULL);
	loc(t, "/app/ok", "/ok");
	loc(t2, "/\\evil", NULL);
	loc(t2, "/a//b", "/pub/a//b");
	/* with a URL for to, the host is fixed: "//" after it is only a path */
	loc(t3, "/app//evil", "https://x//evil");
	revmap_free(t);
	revmap_free(t2);
	revmap_free(t3);
}

static void test_loc_to_normalized(void **state)
{
	const struct revmap_spec s = {URLS({"http://b/", "HTTPS://WWW.Example.COM:443/Pub/"},
					   {"http://c", "HTTP://H:8080"},
					   {"http://d/%7Eu/", "http://[2001:DB8::A]:80/"})};
	struct revmap *t = mk(&s);

	(void)state;
	loc(t, "http://b/x", "https://www.example.com/Pub/x");
	loc(t, "http://c/x", "http://h:8080/x");
	loc(t, "http://d/%7Eu/x", "http://[2001:db8::a]/x");
	loc(t, "http://d/%7eu/x", NULL);
	revmap_free(t);
}

static void test_loc_args(void **state)
{
	struct revmap *t = mk_std();
	char out[8];
	size_t n;

	(void)state;
	assert_int_equal(revmap_location(NULL, "/", 1, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(revmap_location(t, NULL, 1, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(revmap_location(t, "/", 1, NULL, sizeof(out), &n), -EINVAL);
	assert_int_equal(revmap_location(t, "/", 1, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(revmap_location(t, NULL, 0, out, sizeof(out), &n), 0);
	assert_int_equal(revmap_set_cookie(NULL, "a", 1, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(revmap_set_cookie(t, NULL, 1, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(revmap_set_cookie(t, "a", 1, NULL, 1, &n), -EINVAL);
	assert_int_equal(revmap_set_cookie(t, "a", 1, out, sizeof(out), NULL), -EINVAL);
	revmap_free(t);
}

/* ------------------------------------------------------------ Set-Cookie */

static void test_ck_domain_and_path(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "sid=1; Domain=backend.internal; Path=/app/; HttpOnly",
	   "sid=1; Domain=example.com; Path=/; HttpOnly");
	ck(t, "sid=1; Path=/app/x; Secure", "sid=1; Path=/x; Secure");
	ck(t, "sid=1; Domain=backend.internal", "sid=1; Domain=example.com");
	revmap_free(t);
}

static void test_ck_domain_dot_and_case(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "a=b; domain=.Backend.Internal", "a=b; domain=.example.com");
	ck(t, "a=b; DOMAIN=BACKEND.INTERNAL; path=/app/x", "a=b; DOMAIN=example.com; path=/x");
	ck(t, "a=b; dOmAiN=.backend.internal; Secure", "a=b; dOmAiN=.example.com; Secure");
	revmap_free(t);
}

static void test_ck_domain_exact_only(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "a=b; Domain=api.backend.internal", NULL);
	ck(t, "a=b; Domain=backend.internal.evil", NULL);
	ck(t, "a=b; Domain=xbackend.internal", NULL);
	ck(t, "a=b; Domain=..backend.internal", NULL);
	ck(t, "a=b; Domain=", NULL);
	ck(t, "a=b; Domain=.", NULL);
	ck(t, "a=b; Domain", NULL);
	ck(t, "a=b; Domains=backend.internal", NULL);
	ck(t, "a=b; X-Domain=backend.internal", NULL);
	revmap_free(t);
}

static void test_ck_path_rules(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "a=b; Path=/app", "a=b; Path=/"); /* the default-path form of /app/ */
	ck(t, "a=b; Path=/app/", "a=b; Path=/");
	ck(t, "a=b; Path=/app/x/y", "a=b; Path=/x/y");
	ck(t, "a=b; Path=/application", NULL);
	ck(t, "a=b; Path=/ap", NULL);
	ck(t, "a=b; Path=app/x", NULL);
	ck(t, "a=b; Path=/App/", NULL);
	ck(t, "a=b; Path=", NULL);
	ck(t, "a=b; Path=/", NULL);
	revmap_free(t);
}

static void test_ck_path_nonroot(void **state)
{
	const struct revmap_spec s1 = {PATHS({"/app/", "/pub/"})};
	const struct revmap_spec s2 = {PATHS({"/app", "/pub"})};
	struct revmap *t1 = mk(&s1), *t2 = mk(&s2);

	(void)state;
	ck(t1, "a=b; Path=/app", "a=b; Path=/pub");
	ck(t1, "a=b; Path=/app/x", "a=b; Path=/pub/x");
	ck(t2, "a=b; Path=/app", "a=b; Path=/pub");
	ck(t2, "a=b; Path=/app/x", "a=b; Path=/pub/x");
	ck(t2, "a=b; Path=/apple", NULL);
	revmap_free(t1);
	revmap_free(t2);
}

static void test_ck_whitespace(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "a=b ;  path = /app/x ; secure", "a=b ;  path = /x ; secure");
	ck(t, "a=b;Domain=backend.internal", "a=b;Domain=example.com");
	ck(t, "a=b; Domain\t=\tbackend.internal\t; Secure",
	   "a=b; Domain\t=\texample.com\t; Secure");
	ck(t, "a=b;Path=/app/;", "a=b;Path=/;");
	revmap_free(t);
}

static void test_ck_cookie_pair_untouched(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	/* a cookie named Domain or Path is not an attribute */
	ck(t, "Domain=backend.internal; Path=/app/", "Domain=backend.internal; Path=/");
	ck(t, "Path=/app/x", NULL);
	ck(t, "Domain=backend.internal", NULL);
	ck(t, "a=Domain=backend.internal", NULL);
	revmap_free(t);
}

static void test_ck_quoted_values(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "sid=\"a b=c\"; Domain=backend.internal", "sid=\"a b=c\"; Domain=example.com");
	/* browsers split at every ';', quotes or not: so do we, and copy the rest */
	ck(t, "sid=\"x;y\"; Path=/app/", "sid=\"x;y\"; Path=/");
	ck(t, "sid=\"x; Path=/app/\"", "sid=\"x; Path=/\"");
	/* a quoted attribute value is not the domain */
	ck(t, "a=b; Domain=\"backend.internal\"", NULL);
	revmap_free(t);
}

static void test_ck_other_attrs(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t,
	   "id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=0; Domain=backend.internal; "
	   "SameSite=Lax; Partitioned; Secure; X-Ext=/app/",
	   "id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=0; Domain=example.com; "
	   "SameSite=Lax; Partitioned; Secure; X-Ext=/app/");
	revmap_free(t);
}

static void test_ck_no_match(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "a=b; Domain=other.example; Path=/other", NULL);
	ck(t, "a=b", NULL);
	ck(t, "", NULL);
	ck(t, ";;;", NULL);
	ck(t, "a=b; HttpOnly; Secure", NULL);
	revmap_free(t);
}

static void test_ck_several_attrs(void **state)
{
	struct revmap *t = mk_std();

	(void)state;
	ck(t, "a=b; Domain=backend.internal; Domain=.backend.internal; Path=/app/; Path=/app",
	   "a=b; Domain=example.com; Domain=.example.com; Path=/; Path=/");
	ck(t, "a=b; Domain=other; Domain=backend.internal",
	   "a=b; Domain=other; Domain=example.com");
	revmap_free(t);
}

static void test_ck_several_mappings(void **state)
{
	const struct revmap_spec s = {
	    DOMS({"a.internal", "a.example"}, {".B.Internal", ".b.example"}),
	    PATHS({"/one/", "/1/"}, {"/two", "/2"}),
	};
	struct revmap *t = mk(&s);

	(void)state;
	ck(t, "x=1; Domain=b.internal; Path=/two/z", "x=1; Domain=b.example; Path=/2/z");
	ck(t, "x=1; Domain=.a.internal; Path=/one", "x=1; Domain=.a.example; Path=/1");
	ck(t, "x=1; Domain=c.internal; Path=/three", NULL);
	revmap_free(t);
}

/* -------------------------------------------------------------- responses */

static void test_rsp_location(void **state)
{
	static const char *const want[] = {
	    "Content-Length: 0",
	    "Server: x",
	    "Location: https://www.example.com/login?next=%2F",
	};
	struct revmap *t = mk_std();

	(void)state;
	rsp("HTTP/1.1 302 Found\r\nLocation: http://10.0.0.2:8080/app/login?next=%2F\r\n"
	    "Content-Length: 0\r\nServer: x\r\n\r\n");
	run(t);
	expect_fields(want, ARRAY_SIZE(want));
	assert_int_equal(F->nr_add, 1);
	assert_int_equal(F->used, strlen("https://www.example.com/login?next=%2F"));
	revmap_free(t);
}

static void test_rsp_content_location(void **state)
{
	static const char *const want[] = {
	    "Content-Type: text/html",
	    "Content-Length: 5",
	    "content-location: https://www.example.com/doc.html",
	    "Location: /x",
	};
	const struct revmap_spec s = {
	    URLS({"http://10.0.0.2:8080/app/", "https://www.example.com/"}, {"/app/", "/"})};
	struct revmap *t = mk(&s);

	(void)state;
	rsp("HTTP/1.1 201 Created\r\ncontent-location: http://10.0.0.2:8080/app/doc.html\r\n"
	    "Content-Type: text/html\r\nLocation: /app/x\r\nContent-Length: 5\r\n\r\n");
	run(t);
	expect_fields(want, ARRAY_SIZE(want));
	revmap_free(t);
}

/* Set-Cookie fields keep their order: the later same-named cookie wins. */
static void test_rsp_set_cookie_order(void **state)
{
	static const char *const want[] = {
	    "Set-Cookie: a=1; Path=/other",
	    "X: y",
	    "Set-Cookie: b=2; Path=/",
	    "set-cookie: c=3",
	    "Set-Cookie: a=4; Domain=example.com",
	};
	struct revmap *t = mk_std();

	(void)state;
	rsp("HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/other\r\nSet-Cookie: b=2; Path=/app/\r\n"
	    "X: y\r\nset-cookie: c=3\r\nSet-Cookie: a=4; Domain=backend.internal\r\n"
	    "Content-Length: 0\r\n\r\n");
	run(t);
	/* Content-Length stays before the moved fields */
	assert_true(h1_span_eq_ci(F->out, F->m2.fields[2].name, "content-length"));
	F->m2.fields[2] = F->m2.fields[3];
	F->m2.fields[3] = F->m2.fields[4];
	F->m2.fields[4] = F->m2.fields[5];
	F->m2.nr_fields--;
	expect_fields(want, ARRAY_SIZE(want));
	/* only the two rewritten values are in scratch; c=3 is buf's */
	assert_int_equal(F->used, strlen("b=2; Path=/") + strlen("a=4; Domain=example.com"));
	assert_int_equal(F->nr_add, 3);
	assert_ptr_equal(F->add[1].value, F->in + F->m.fields[3].value.off);
	assert_false(h1_fieldset_has(&F->drop, 0));
	revmap_free(t);
}

static void test_rsp_unchanged(void **state)
{
	struct revmap *t = mk_std();
	struct h1_fieldset zero = {{0}};

	(void)state;
	rsp("HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/app/\r\n"
	    "Set-Cookie: a=1; Path=/x\r\nContent-Location: doc\r\nLink: </app/s.css>\r\n"
	    "Content-Length: 0\r\n\r\n");
	run(t);
	assert_int_equal(F->nr_add, 0);
	assert_int_equal(F->used, 0);
	assert_memory_equal(&F->drop, &zero, sizeof(zero));
	assert_int_equal(F->out_len, F->in_len);
	assert_memory_equal(F->out, F->in, F->in_len);
	revmap_free(t);
}

static void test_rsp_everything(void **state)
{
	static const char *const want[] = {
	    "Date: Mon, 1 Jan 2024 00:00:00 GMT",
	    "Set-Cookie: keep=1",
	    "Link: <http://10.0.0.2:8080/app/s.css>; rel=preload",
	    "Refresh: 0; url=http://10.0.0.2:8080/app/",
	    "Content-Length: 0",
	    "Location: https://www.example.com/next",
	    "Set-Cookie: s=1; Domain=.example.com; Path=/; HttpOnly",
	    "Content-Location: https://www.example.com/c",
	    "Set-Cookie: t=2",
	};
	struct revmap *t = mk_std();

	(void)state;
	rsp("HTTP/1.1 303 See Other\r\nDate: Mon, 1 Jan 2024 00:00:00 GMT\r\n"
	    "Location: http://10.0.0.2:8080/app/next\r\nSet-Cookie: keep=1\r\n"
	    "Set-Cookie: s=1; Domain=.backend.internal; Path=/app/; HttpOnly\r\n"
	    "Link: <http://10.0.0.2:8080/app/s.css>; rel=preload\r\n"
	    "Content-Location: http://10.0.0.2:8080/app/c\r\nSet-Cookie: t=2\r\n"
	    "Refresh: 0; url=http://10.0.0.2:8080/app/\r\nContent-Length: 0\r\n\r\n");
	run(t);
	expect_fields(want, ARRAY_SIZE(want));
	revmap_free(t);
}

static void test_rsp_skips_dropped(void **state)
{
	static const char *const want[] = {
	    "Server: s",
	    "Set-Cookie: b=2; Path=/",
	};
	struct revmap *t = mk_std();

	(void)state;
	rsp("HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/app/\r\nSet-Cookie: b=2; Path=/app/\r\n"
	    "Location: http://10.0.0.2:8080/app/x\r\nServer: s\r\n\r\n");
	/* the caller strips cookie a and answers Location itself: neither is re-added */
	h1_fieldset_add(&F->drop, 0);
	h1_fieldset_add(&F->drop, 2);
	run(t);
	assert_int_equal(F->nr_add, 1);
	assert_int_equal(F->used, strlen("b=2; Path=/"));
	expect_fields(want, ARRAY_SIZE(want));
	revmap_free(t);
}

static void test_rsp_enospc(void **state)
{
	struct revmap *t = mk_std();
	struct h1_fieldset before;
	const size_t need = strlen("https://www.example.com/x") + strlen("a=1; Path=/");
	char small[128];
	size_t used = 0, nr = 1;

	(void)state;
	rsp("HTTP/1.1 302 Found\r\nLocation: http://10.0.0.2:8080/app/x\r\n"
	    "Set-Cookie: a=1; Path=/app/\r\nSet-Cookie: b=2\r\n\r\n");
	h1_fieldset_add(&F->drop, 100);
	before = F->drop;
	memset(small, 'Z', sizeof(small));
	assert_int_equal(
	    revmap_response(t, &F->m, F->in, &F->drop, F->add, 16, &nr, small, need - 1, &used),
	    -ENOSPC);
	assert_int_equal(used, need);
	assert_int_equal(nr, 1);
	assert_memory_equal(&F->drop, &before, sizeof(before));
	assert_int_equal(small[need - 1], 'Z');
	/* three fields to add (b=2 moves with a=1), room for two */
	assert_int_equal(
	    revmap_response(t, &F->m, F->in, &F->drop, F->add, 3, &nr, small, need, &used),
	    -ENOSPC);
	assert_int_equal(nr, 1);
	assert_memory_equal(&F->drop, &before, sizeof(before));
	assert_int_equal(
	    revmap_response(t, &F->m, F->in, &F->drop, F->add, 4, &nr, small, need, NULL), 0);
	assert_int_equal(nr, 4);
	assert_true(h1_fieldset_has(&F->drop, 100));
	assert_true(h1_fieldset_has(&F->drop, 0));
	assert_true(h1_fieldset_has(&F->drop, 1));
	assert_true(h1_fieldset_has(&F->drop, 2));
	assert_memory_equal(small, "https://www.example.com/xa=1; Path=/", need);
	revmap_free(t);
}

static void test_rsp_appends_after_caller(void **state)
{
	static const char *const want[] = {
	    "Vary: Cookie",
	    "Set-Cookie: a=1; Domain=example.com",
	};
	struct revmap *t = mk_std();

	(void)state;
	rsp("HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Domain=backend.internal\r\n"
	    "Server: backend\r\n\r\n");
	F->add[0] = (struct h1_hdr){"Vary", 4, "Cookie", 6};
	F->nr_add = 1;
	h1_fieldset_add(&F->drop, 1);
	run(t);
	assert_int_equal(F->nr_add, 2);
	expect_fields(want, ARRAY_SIZE(want));
	revmap_free(t);
}

static void test_rsp_einval(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	struct revmap *t = mk_std();
	struct h1_msg *r = malloc(sizeof(*r));
	size_t nr = 0;

	(void)state;
	assert_non_null(r);
	rsp("HTTP/1.1 200 OK\r\n\r\n");
#define CALL(t_, m_, b_, d_, a_, cap_, nr_, s_, sc_)                                               \
	revmap_response(t_, m_, b_, d_, a_, cap_, nr_, s_, sc_, NULL)
	assert_int_equal(CALL(NULL, &F->m, F->in, &F->drop, F->add, 4, &nr, F->scratch, 9),
			 -EINVAL);
	assert_int_equal(CALL(t, NULL, F->in, &F->drop, F->add, 4, &nr, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(t, &F->m, NULL, &F->drop, F->add, 4, &nr, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(t, &F->m, F->in, NULL, F->add, 4, &nr, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(t, &F->m, F->in, &F->drop, NULL, 4, &nr, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(t, &F->m, F->in, &F->drop, F->add, 4, NULL, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(t, &F->m, F->in, &F->drop, F->add, 4, &nr, NULL, 9), -EINVAL);
	nr = 5;
	assert_int_equal(CALL(t, &F->m, F->in, &F->drop, F->add, 4, &nr, F->scratch, 9), -EINVAL);
	nr = 0;
	h1_msg_init(r, NULL);
	assert_int_equal(h1_parse_request(r, req, sizeof(req) - 1), 0);
	assert_int_equal(CALL(t, r, req, &F->drop, F->add, 4, &nr, F->scratch, 9), -EINVAL);
	h1_msg_init(r, NULL);
	assert_int_equal(CALL(t, r, req, &F->drop, F->add, 4, &nr, F->scratch, 9), -EINVAL);
	/* fine: nothing to add needs no room */
	assert_int_equal(CALL(t, &F->m, F->in, &F->drop, NULL, 0, &nr, NULL, 0), 0);
#undef CALL
	free(r);
	revmap_free(t);
}

/* ------------------------------------------------------------------ specs */

static void test_spec_refused(void **state)
{
	const struct {
		struct revmap_spec s;
		const char *msg;
	} cases[] = {
	    {{URLS({"ftp://b/", "/"})}, "url[0].from: scheme must be http or https"},
	    {{URLS({"http://b/", "gopher://x/"})}, "url[0].to: scheme must be http or https"},
	    {{URLS({"b/app/", "/"})}, "url[0].from: not an absolute URL"},
	    {{URLS({"", "/"})}, "url[0].from: must be 1 to 2048 bytes"},
	    {{URLS({"http:///app/", "/"})}, "url[0].from: no host"},
	    {{URLS({"http://u@b/", "/"})}, "url[0].from: userinfo is not allowed"},
	    {{URLS({"http://b/?q", "/"})}, "url[0].from: no query or fragment"},
	    {{URLS({"http://b/#f", "/"})}, "url[0].from: no query or fragment"},
	    {{URLS({"http://b?q", "/"})}, "url[0].from: no query or fragment"},
	    {{URLS({"/", "http://b#f"})}, "url[0].to: no query or fragment"},
	    {{URLS({"/app/?q", "/"})}, "url[0].from: no query or fragment"},
	    {{URLS({"http://b/a b/", "/"})}, "url[0].from: whitespace, control"},
	    {{URLS({"http://b/\x01/", "/"})}, "url[0].from: whitespace, control"},
	    {{URLS({"http://b/caf\xc3\xa9/", "/"})}, "url[0].from: whitespace, control"},
	    {{URLS({"http://b:0/", "/"})}, "url[0].from: port must be 1 to 65535"},
	    {{URLS({"http://b:65536/", "/"})}, "url[0].from: port must be 1 to 65535"},
	    {{URLS({"http://b:000080/", "/"})}, "url[0].from: port must be 1 to 65535"},
	    {{URLS({"http://b:/", "/"})}, "url[0].from: port must be 1 to 65535"},
	    {{URLS({"http://b:8x/", "/"})}, "url[0].from: bad character after the host"},
	    {{URLS({"http://[::1/", "/"})}, "url[0].from: bad IPv6 literal"},
	    {{URLS({"http://[]/", "/"})}, "url[0].from: bad IPv6 literal"},
	    {{URLS({"http://b%2/", "/"})}, "url[0].from: bad percent-encoding in host"},
	    {{URLS({"http://b/%zz/", "/"})}, "url[0].from: bad percent-encoding"},
	    {{URLS({"http://b/a\"b/", "/"})}, "url[0].from: character not allowed"},
	    {{URLS({"http://b/a\\b/", "/"})}, "url[0].from: character not allowed"},
	    {{URLS({"//b/app/", "/"})}, "url[0].from: path must not start with '//'"},
	    {{URLS({"/app/", "//evil/"})}, "url[0].to: path must not start with '//'"},
	    {{URLS({"/app", "/"})}, "url[0].to: from and to must both end in '/'"},
	    {{URLS({"/app/", "/pub"})}, "url[0].to: from and to must both end in '/'"},
	    {{URLS({"http://b/app", "https://x/"})}, "url[0].to: from and to must both end in '/'"},
	    {{URLS({"http://b", "https://x/app"})}, "url[0].to: from and to must both end in '/'"},
	    {{URLS({"/ok/", "/"}, {"http://b/", "https://x/"}, {"http://c", "x"})},
	     "url[2].to: not an absolute URL"},
	    {{URLS({"/a/", NULL})}, "url[0].to: missing"},
	    {{URLS({NULL, "/"})}, "url[0].from: missing"},
	    {{DOMS({"back end", "x"})}, "domain[0].from: domain: letters"},
	    {{DOMS({"b", "x;y"})}, "domain[0].to: domain: letters"},
	    {{DOMS({"a..b", "x"})}, "domain[0].from: empty label"},
	    {{DOMS({"b.", "x"})}, "domain[0].from: empty label"},
	    {{DOMS({"..b", "x"})}, "domain[0].from: empty label"},
	    {{DOMS({".", "x"})}, "domain[0].from: domain must be 1 to 253"},
	    {{DOMS({"", "x"})}, "domain[0].from: domain must be 1 to 253"},
	    {{DOMS({"b", ""})}, "domain[0].to: domain must be 1 to 253"},
	    {{PATHS({"app/", "/"})}, "path[0].from: path must start with '/'"},
	    {{PATHS({"/app/", ""})}, "path[0].to: path must start with '/'"},
	    {{PATHS({"/a;b/", "/"})}, "path[0].from: character not allowed"},
	    {{PATHS({"/a/", "/b; Domain=evil/"})}, "path[0].to: character not allowed"},
	    {{PATHS({"/a", "/b/"})}, "path[0].to: from and to must both end in '/'"},
	    {{.url = NULL, .nr_url = 1}, "url: 1 mappings but no array"},
	    {{.domain = NULL, .nr_domain = 2}, "domain: 2 mappings but no array"},
	    {{.path = NULL, .nr_path = 1}, "path: 1 mappings but no array"},
	};
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		errno = 0;
		memset(err, 'Z', sizeof(err));
		if (revmap_new(&cases[i].s, err, sizeof(err)))
			fail_msg("case %zu accepted, want \"%s\"", i, cases[i].msg);
		assert_int_equal(errno, EINVAL);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].msg);
	}
}

static void test_spec_limits(void **state)
{
	struct revmap_pair *many = calloc(REVMAP_ENTRIES_MAX + 1, sizeof(*many));
	char *big = malloc(REVMAP_STR_MAX + 2), err[128], (*paths)[16];
	struct revmap_spec s = {0};
	struct revmap *t;
	size_t i;

	(void)state;
	assert_non_null(many);
	assert_non_null(big);
	paths = calloc(REVMAP_ENTRIES_MAX + 1, sizeof(*paths));
	assert_non_null(paths);
	/* REVMAP_ENTRIES_MAX distinct paths are fine, one more is not */
	for (i = 0; i <= REVMAP_ENTRIES_MAX; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/p%zu/", i);
		many[i] = (struct revmap_pair){paths[i], "/"};
	}
	s.path = many;
	s.nr_path = REVMAP_ENTRIES_MAX;
	t = mk(&s);
	assert_int_equal(revmap_set_cookie(t, "a=b; Path=/p1023/x", 18, err, sizeof(err), &i), 1);
	assert_memory_equal(err, "a=b; Path=/x", i);
	revmap_free(t);
	s.nr_path = REVMAP_ENTRIES_MAX + 1;
	assert_null(revmap_new(&s, err, sizeof(err)));
	assert_string_equal(err, "path: more than 1024 mappings");
	/* a string of REVMAP_STR_MAX bytes is fine, one more is not */
	big[0] = '/';
	memset(big + 1, 'a', REVMAP_STR_MAX - 1);
	big[REVMAP_STR_MAX - 1] = '/';
	big[REVMAP_STR_MAX] = '\0';
	s = (struct revmap_spec){URLS({big, "/"})};
	revmap_free(mk(&s));
	big[REVMAP_STR_MAX] = '/';
	big[REVMAP_STR_MAX + 1] = '\0';
	assert_null(revmap_new(&s, err, sizeof(err)));
	assert_string_equal(err, "url[0].from/to: longer than 2048 bytes");
	free(paths);
	free(many);
	free(big);
}

static void test_spec_misc(void **state)
{
	const struct revmap_spec empty = {0};
	const struct revmap_spec bad = {URLS({"ftp://x/", "/"})};
	struct revmap *t;
	char err[8];
	size_t n;

	(void)state;
	revmap_free(NULL);
	/* no mappings: valid, rewrites nothing */
	t = mk(&empty);
	assert_int_equal(revmap_location(t, "/x", 2, err, sizeof(err), &n), 0);
	assert_int_equal(revmap_set_cookie(t, "a=b; Path=/", 11, err, sizeof(err), &n), 0);
	revmap_free(t);
	errno = 0;
	assert_null(revmap_new(NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	/* err may be NULL; a short err is still terminated */
	errno = 0;
	assert_null(revmap_new(&bad, NULL, 0));
	assert_int_equal(errno, EINVAL);
	memset(err, 'Z', sizeof(err));
	assert_null(revmap_new(&bad, err, sizeof(err)));
	assert_string_equal(err, "url[0].");
	/* the spec need not outlive the table: normalized copies are kept */
	{
		char from[] = "HTTP://B:80", to[] = "/x/";
		const struct revmap_pair p = {from, to};
		const struct revmap_spec s = {.url = &p, .nr_url = 1};
		char out[32];

		t = mk(&s);
		memset(from, 0, sizeof(from));
		memset(to, 0, sizeof(to));
		assert_int_equal(revmap_location(t, "http://b/y", 10, out, sizeof(out), &n), 1);
		assert_memory_equal(out, "/x/y", 4);
		assert_int_equal(n, 4);
		revmap_free(t);
	}
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_loc_basic),
    cmocka_unit_test(test_loc_default_port),
    cmocka_unit_test(test_loc_host_case),
    cmocka_unit_test(test_loc_path_case_sensitive),
    cmocka_unit_test(test_loc_boundary_no_slash),
    cmocka_unit_test(test_loc_boundary_slash),
    cmocka_unit_test(test_loc_first_match_wins),
    cmocka_unit_test(test_loc_shadowed_refused),
    cmocka_unit_test(test_loc_path_vs_url),
    cmocka_unit_test(test_loc_both_kinds),
    cmocka_unit_test(test_loc_host_mismatch),
    cmocka_unit_test(test_loc_not_absolute),
    cmocka_unit_test(test_loc_no_path),
    cmocka_unit_test(test_loc_ipv6),
    cmocka_unit_test(test_loc_to_path),
    cmocka_unit_test(test_loc_to_bare_host),
    cmocka_unit_test(test_loc_network_path_guard),
    cmocka_unit_test(test_loc_to_normalized),
    cmocka_unit_test(test_loc_args),
    cmocka_unit_test(test_ck_domain_and_path),
    cmocka_unit_test(test_ck_domain_dot_and_case),
    cmocka_unit_test(test_ck_domain_exact_only),
    cmocka_unit_test(test_ck_path_rules),
    cmocka_unit_test(test_ck_path_nonroot),
    cmocka_unit_test(test_ck_whitespace),
    cmocka_unit_test(test_ck_cookie_pair_untouched),
    cmocka_unit_test(test_ck_quoted_values),
    cmocka_unit_test(test_ck_other_attrs),
    cmocka_unit_test(test_ck_no_match),
    cmocka_unit_test(test_ck_several_attrs),
    cmocka_unit_test(test_ck_several_mappings),
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    T(test_rsp_location),
    T(test_rsp_content_location),
    T(test_rsp_set_cookie_order),
    T(test_rsp_unchanged),
    T(test_rsp_everything),
    T(test_rsp_skips_dropped),
    T(test_rsp_enospc),
    T(test_rsp_appends_after_caller),
    T(test_rsp_einval),
#undef T
    cmocka_unit_test(test_spec_refused),
    cmocka_unit_test(test_spec_limits),
    cmocka_unit_test(test_spec_misc),
};

int main(void)
{
	return cmocka_run_group_tests_name("revmap", tests, NULL, NULL);
}
