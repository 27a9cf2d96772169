// SPDX-License-Identifier: BSD-2-Clause
/*
 * Routing rule tests. Every request is a real HTTP/1.1 head parsed by
 * h1_parse_request, then normalized, matched, given its upstream target and
 * its header ops; what the proxy would send is written with h1_write_head
 * and parsed again. Two tables - request normalization and invalid rules -
 * run one cmocka test per row, so a failure names its row; the expectations
 * in them are written out by hand, never computed by the code under test.
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
#include "route/rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define GET(target, host) "GET " target " HTTP/1.1\r\nHost: " host "\r\n\r\n"

/* ---------------------------------------------------------------- helpers */

/* A parsed request and its route_req. Heap: h1_msg is 4 KiB. */
struct rq {
	struct h1_msg m;
	char buf[4096];
	char scratch[4096];
	struct route_req r;
	int prep; /* route_req_prepare's verdict */
};

/* raw must be one complete, valid request head. */
static struct rq *rq_new(const char *raw)
{
	struct rq *q = calloc(1, sizeof(*q));
	size_t n = strlen(raw);

	assert_non_null(q);
	assert_true(n < sizeof(q->buf));
	memcpy(q->buf, raw, n);
	h1_msg_init(&q->m, NULL);
	assert_int_equal(h1_parse_request(&q->m, q->buf, n), 0);
	q->prep = route_req_prepare(&q->r, &q->m, q->buf, q->scratch, sizeof(q->scratch));
	return q;
}

static struct route_table *mk(const struct route_rule *rules, size_t n)
{
	char err[256] = "";
	struct route_table *t = route_table_new(rules, n, err, sizeof(err));

	if (!t)
		fail_msg("route_table_new: %s", err);
	assert_int_equal(route_table_size(t), n);
	return t;
}

/* The rule index raw routes to, or the negative verdict of prepare/match. */
static int route_of(const struct route_table *t, const char *raw)
{
	struct rq *q = rq_new(raw);
	int rc = q->prep ? q->prep : route_match(t, &q->r);

	free(q);
	return rc;
}

/* raw must route to rule; out gets its upstream target, NUL-terminated. */
static int target_of(const struct route_table *t, int rule, const char *raw, char *out, size_t cap)
{
	struct rq *q = rq_new(raw);
	size_t len = 0;
	int rc;

	assert_int_equal(q->prep, 0);
	assert_int_equal(route_match(t, &q->r), rule);
	rc = route_target(t, rule, &q->r, out, cap - 1, &len);
	if (!rc) {
		assert_true(len < cap);
		out[len] = '\0';
	}
	free(q);
	return rc;
}

static void assert_target(const struct route_table *t, int rule, const char *raw, const char *want)
{
	char out[512];

	assert_int_equal(target_of(t, rule, raw, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static bool span_is(const char *buf, struct h1_span s, const char *str)
{
	return s.len == strlen(str) && !memcmp(buf + s.off, str, s.len);
}

static bool hdr_is(const struct h1_hdr *h, const char *name, const char *value)
{
	return h->name_len == strlen(name) && !memcmp(h->name, name, h->name_len) &&
	       h->value_len == strlen(value) && !memcmp(h->value, value, h->value_len);
}

static size_t fieldset_count(const struct h1_fieldset *s)
{
	size_t n = 0;

	for (uint32_t i = 0; i < H1_FIELDS_MAX; i++)
		n += h1_fieldset_has(s, i);
	return n;
}

/* -------------------------------------------------- normalization table */

struct norm_case {
	const char *name;
	const char *req;
	int rc;		   /* route_req_prepare */
	const char *host;  /* when rc == 0 */
	const char *path;  /* NULL: no path (asterisk/authority-form) */
	const char *query; /* NULL: no '?' */
};

static const struct norm_case norm_cases[] = {
    /* host */
    {"host-lowercased", GET("/", "Example.COM"), 0, "example.com", "/", NULL},
    {"host-port-dropped", GET("/", "example.com:8080"), 0, "example.com", "/", NULL},
    {"host-trailing-dot", GET("/", "example.com."), 0, "example.com", "/", NULL},
    {"host-trailing-dot-port", GET("/", "Example.com.:443"), 0, "example.com", "/", NULL},
    {"host-ipv6-port", GET("/", "[2001:DB8::1]:8080"), 0, "[2001:db8::1]", "/", NULL},
    {"host-ipv6", GET("/", "[::1]"), 0, "[::1]", "/", NULL},
    {"host-ipv4-port", GET("/", "10.0.0.1:80"), 0, "10.0.0.1", "/", NULL},
    {"host-absolute-form-wins", "GET http://A.example.com:81/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
     0, "a.example.com", "/x", "y"},
    {"host-absolute-no-host-http10", "GET http://a.com/x HTTP/1.0\r\n\r\n", 0, "a.com", "/x", NULL},
    {"host-none-http10", "GET /x HTTP/1.0\r\n\r\n", 0, "", "/x", NULL},
    {"host-empty", "GET /x HTTP/1.1\r\nHost: \r\n\r\n", 0, "", "/x", NULL},
    {"host-pct-encoded-refused", GET("/", "%65xample.com"), -EBADMSG, NULL, NULL, NULL},
    {"host-empty-label-refused", GET("/", "a..b"), -EBADMSG, NULL, NULL, NULL},
    {"host-leading-dot-refused", GET("/", ".a.com"), -EBADMSG, NULL, NULL, NULL},
    {"host-dot-alone-refused", GET("/", "."), -EBADMSG, NULL, NULL, NULL},
    {"host-two-trailing-dots-refused", GET("/", "a.com.."), -EBADMSG, NULL, NULL, NULL},
    /* absolute-form path */
    {"abs-empty-path", "GET http://h.com HTTP/1.1\r\nHost: h.com\r\n\r\n", 0, "h.com", "/", NULL},
    {"abs-query-no-path", "GET http://h.com?q=1 HTTP/1.1\r\nHost: h.com\r\n\r\n", 0, "h.com", "/",
     "q=1"},
    {"abs-path-normalized", "GET https://h.com/a/../b HTTP/1.1\r\nHost: h.com\r\n\r\n", 0, "h.com",
     "/b", NULL},
    /* query */
    {"query-split-raw", GET("/a?b=%2F&c=/../d", "h"), 0, "h", "/a", "b=%2F&c=/../d"},
    {"query-empty", GET("/a?", "h"), 0, "h", "/a", ""},
    {"query-second-qmark", GET("/a?b?c", "h"), 0, "h", "/a", "b?c"},
    /* percent-encoding */
    {"pct-unreserved-decoded", GET("/%7euser/%41%2d%5F%2E", "h"), 0, "h", "/~user/A-_.", NULL},
    {"pct-hex-uppercased", GET("/a%c3%a9", "h"), 0, "h", "/a%C3%A9", NULL},
    {"pct-reserved-kept", GET("/a%20b%3fc%3B%25", "h"), 0, "h", "/a%20b%3Fc%3B%25", NULL},
    {"pct-2f-refused", GET("/a%2fb", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-2F-refused", GET("/a%2Fb", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-5c-refused", GET("/a%5cb", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-00-refused", GET("/a%00", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-not-hex-refused", GET("/a%zz", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-one-digit-refused", GET("/a%4", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-bare-refused", GET("/a%", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-bad-before-query", GET("/a%4?x", "h"), -EBADMSG, NULL, NULL, NULL},
    {"pct-encoded-dotdot-slash", GET("/a/..%2fb", "h"), -EBADMSG, NULL, NULL, NULL},
    {"raw-backslash-refused", GET("/a\\..\\admin", "h"), -EBADMSG, NULL, NULL, NULL},
    /* dot-segments and slashes */
    {"dot-dot-climbs", GET("/a/../admin", "h"), 0, "h", "/admin", NULL},
    {"dot-dropped-trailing", GET("/a/./b/.", "h"), 0, "h", "/a/b/", NULL},
    {"dot-dot-trailing", GET("/a/b/..", "h"), 0, "h", "/a/", NULL},
    {"dot-dot-above-root-clamped", GET("/../../x", "h"), 0, "h", "/x", NULL},
    {"dot-dot-root", GET("/..", "h"), 0, "h", "/", NULL},
    {"dot-root", GET("/.", "h"), 0, "h", "/", NULL},
    {"slashes-merged", GET("//a///b//", "h"), 0, "h", "/a/b/", NULL},
    {"slashes-merged-before-dots", GET("/a//../b", "h"), 0, "h", "/b", NULL},
    {"encoded-dots-removed", GET("/%2e%2e/admin/%2E/x", "h"), 0, "h", "/admin/x", NULL},
    {"half-encoded-dots", GET("/a/.%2e/b", "h"), 0, "h", "/b", NULL},
    {"three-dots-is-a-name", GET("/a/.../b", "h"), 0, "h", "/a/.../b", NULL},
    {"dotted-names-kept", GET("/.well-known/a..b/.x", "h"), 0, "h", "/.well-known/a..b/.x", NULL},
    {"dotdot-param-refused", GET("/pub/..;/admin", "h"), -EBADMSG, NULL, NULL, NULL},
    {"dot-param-refused", GET("/pub/.;x=1/admin", "h"), -EBADMSG, NULL, NULL, NULL},
    {"encoded-dotdot-param-refused", GET("/pub/%2e%2e;/admin", "h"), -EBADMSG, NULL, NULL, NULL},
    {"param-on-name-kept", GET("/a;jsessionid=1/b", "h"), 0, "h", "/a;jsessionid=1/b", NULL},
    {"case-kept", GET("/Admin/X", "h"), 0, "h", "/Admin/X", NULL},
    /* forms without a path */
    {"options-asterisk", "OPTIONS * HTTP/1.1\r\nHost: Example.com\r\n\r\n", 0, "example.com", NULL,
     NULL},
    {"connect-authority", "CONNECT h.com:443 HTTP/1.1\r\nHost: h.com:443\r\n\r\n", 0, "h.com", NULL,
     NULL},
};

static void run_norm_case(void **state)
{
	const struct norm_case *c = *state;
	struct rq *q = rq_new(c->req);

	assert_int_equal(q->prep, c->rc);
	if (c->rc) {
		free(q);
		return;
	}
	assert_string_equal(q->r.host, c->host);
	assert_int_equal(q->r.host_len, strlen(c->host));
	assert_int_equal(q->r.has_path, c->path != NULL);
	assert_string_equal(q->r.path, c->path ? c->path : "");
	assert_int_equal(q->r.path_len, strlen(q->r.path));
	assert_int_equal(q->r.has_query, c->query != NULL);
	if (c->query) {
		assert_int_equal(q->r.query_len, strlen(c->query));
		assert_memory_equal(q->r.query, c->query, q->r.query_len);
	}
	assert_ptr_equal(q->r.m, &q->m);
	assert_ptr_equal(q->r.buf, q->buf);
	assert_int_equal(q->r.meth, q->m.meth);
	free(q);
}

/* ------------------------------------------------------ validation table */

struct bad_case {
	const char *name;
	struct route_rule rule; /* goes in at index 1, after a valid rule */
	const char *want;	/* must appear in the error message */
};

#define OP(o, n, v) ((const struct route_hdr_op[]){{(o), (n), (v)}})
#define HM(n, v)    ((const struct route_hdr_match[]){{(n), (v), false}})

static const struct bad_case bad_cases[] = {
    {"name-null", {.name = NULL}, "rule 1: name missing"},
    {"name-empty", {.name = ""}, "rule 1: name missing"},
    {"name-space", {.name = "a b"}, "rule 1: name missing or not VCHARs"},
    {"name-duplicate", {.name = "ok"}, "rule 1 \"ok\": name already used by rule 0"},
    {"methods-unknown-bit", {.name = "m", .methods = 1u << 20}, "unknown method bits 0x100000"},
    {"host-kind-range", {.name = "h", .host_kind = ROUTE_HOST__MAX}, "unknown host kind"},
    {"host-with-any", {.name = "h", .host = "a.com"}, "given with host kind any"},
    {"host-missing", {.name = "h", .host_kind = ROUTE_HOST_EXACT}, "host missing"},
    {"host-empty", {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = ""}, "host \"\": empty"},
    {"host-empty-label",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "a..b"},
     "host \"a..b\": empty label"},
    {"host-leading-dot", {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = ".a"}, "empty label"},
    {"host-dot-alone", {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "."}, "empty"},
    {"host-port",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "a.com:80"},
     "a port (ports are not matched)"},
    {"host-bad-char",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "a b.com"},
     "invalid character"},
    {"host-pct",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "%61.com"},
     "invalid character"},
    {"host-star-in-exact",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "*.a.com"},
     "'*' is only allowed"},
    {"wildcard-no-star",
     {.name = "h", .host_kind = ROUTE_HOST_WILDCARD, .host = "a.com"},
     "must start with \"*.\""},
    {"wildcard-star-alone",
     {.name = "h", .host_kind = ROUTE_HOST_WILDCARD, .host = "*"},
     "must start with \"*.\""},
    {"wildcard-empty-rest", {.name = "h", .host_kind = ROUTE_HOST_WILDCARD, .host = "*."}, "empty"},
    {"wildcard-two-stars",
     {.name = "h", .host_kind = ROUTE_HOST_WILDCARD, .host = "*.*.a.com"},
     "'*' is only allowed"},
    {"wildcard-ipv6",
     {.name = "h", .host_kind = ROUTE_HOST_WILDCARD, .host = "*.[::1]"},
     "invalid character"},
    {"ipv6-bad-digit",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "[::g]"},
     "invalid IPv6 literal"},
    {"ipv6-unclosed",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "[::1"},
     "invalid IPv6 literal"},
    {"ipv6-port",
     {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "[::1]:80"},
     "invalid IPv6 literal"},
    {"path-kind-range", {.name = "p", .path_kind = ROUTE_PATH__MAX}, "unknown path kind"},
    {"path-with-any", {.name = "p", .path = "/a"}, "given with path kind any"},
    {"path-missing", {.name = "p", .path_kind = ROUTE_PATH_PREFIX}, "path missing"},
    {"path-no-slash",
     {.name = "p", .path_kind = ROUTE_PATH_EXACT, .path = "admin"},
     "path \"admin\": must start with '/'"},
    {"path-empty",
     {.name = "p", .path_kind = ROUTE_PATH_PREFIX, .path = ""},
     "must start with '/'"},
    {"path-query",
     {.name = "p", .path_kind = ROUTE_PATH_EXACT, .path = "/a?b"},
     "the query is not matched"},
    {"path-space", {.name = "p", .path_kind = ROUTE_PATH_PREFIX, .path = "/a b"}, "only VCHARs"},
    {"path-fragment", {.name = "p", .path_kind = ROUTE_PATH_PREFIX, .path = "/a#b"}, "only VCHARs"},
    {"path-2f", {.name = "p", .path_kind = ROUTE_PATH_PREFIX, .path = "/a%2fb"}, "an encoded '/'"},
    {"path-bad-pct",
     {.name = "p", .path_kind = ROUTE_PATH_EXACT, .path = "/a%g0"},
     "malformed percent-encoding"},
    {"path-backslash",
     {.name = "p", .path_kind = ROUTE_PATH_PREFIX, .path = "/a\\b"},
     "a raw '\\'"},
    {"path-dotdot-param",
     {.name = "p", .path_kind = ROUTE_PATH_PREFIX, .path = "/..;/a"},
     "';' parameter"},
    {"regex-bad",
     {.name = "r", .path_kind = ROUTE_PATH_REGEX, .path = "^/(a"},
     "path regex \"^/(a\": "},
    {"regex-empty", {.name = "r", .path_kind = ROUTE_PATH_REGEX, .path = ""}, "empty path regex"},
    {"hdrs-null", {.name = "x", .nr_hdrs = 1}, "header conditions NULL"},
    {"hdr-name-null",
     {.name = "x", .hdrs = HM(NULL, NULL), .nr_hdrs = 1},
     "header condition 0: name is not a token"},
    {"hdr-name-space", {.name = "x", .hdrs = HM("X A", NULL), .nr_hdrs = 1}, "name is not a token"},
    {"hdr-name-colon", {.name = "x", .hdrs = HM("X:", NULL), .nr_hdrs = 1}, "name is not a token"},
    {"hdr-value-lead-space",
     {.name = "x", .hdrs = HM("X", " v"), .nr_hdrs = 1},
     "header condition 0 (X): value holds"},
    {"hdr-value-crlf", {.name = "x", .hdrs = HM("X", "a\r\nb"), .nr_hdrs = 1}, "value holds"},
    {"req-ops-null", {.name = "o", .nr_req_ops = 1}, "request ops: ops NULL"},
    {"resp-ops-null", {.name = "o", .nr_resp_ops = 2}, "response ops: ops NULL"},
    {"op-unknown",
     {.name = "o", .req_ops = OP(ROUTE_OP__MAX, "X", "v"), .nr_req_ops = 1},
     "request op 0 (X): unknown op"},
    {"op-name-empty",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, "", "v"), .nr_req_ops = 1},
     "field name is not a token"},
    {"op-name-null",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, NULL, "v"), .nr_req_ops = 1},
     "request op 0 ((null)): field name is not a token"},
    {"op-content-length",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, "Content-Length", "1"), .nr_req_ops = 1},
     "framing and hop-by-hop fields belong to the proxy"},
    {"op-transfer-encoding",
     {.name = "o", .resp_ops = OP(ROUTE_OP_REMOVE, "transfer-encoding", NULL), .nr_resp_ops = 1},
     "response op 0 (transfer-encoding): framing"},
    {"op-connection",
     {.name = "o", .req_ops = OP(ROUTE_OP_ADD, "Connection", "x"), .nr_req_ops = 1},
     "framing and hop-by-hop"},
    {"op-upgrade",
     {.name = "o", .req_ops = OP(ROUTE_OP_REMOVE, "UPGRADE", NULL), .nr_req_ops = 1},
     "framing and hop-by-hop"},
    {"op-host-add",
     {.name = "o", .req_ops = OP(ROUTE_OP_ADD, "Host", "a"), .nr_req_ops = 1},
     "Host may only be SET"},
    {"op-host-remove",
     {.name = "o", .req_ops = OP(ROUTE_OP_REMOVE, "host", NULL), .nr_req_ops = 1},
     "Host may only be SET"},
    {"op-set-no-value",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, "X", NULL), .nr_req_ops = 1},
     "SET and ADD need a value"},
    {"op-remove-value",
     {.name = "o", .req_ops = OP(ROUTE_OP_REMOVE, "X", "v"), .nr_req_ops = 1},
     "REMOVE takes no value"},
    {"op-value-lf",
     {.name = "o", .req_ops = OP(ROUTE_OP_ADD, "X", "a\nb"), .nr_req_ops = 1},
     "value holds a control character"},
    {"op-value-trailing-space",
     {.name = "o", .resp_ops = OP(ROUTE_OP_SET, "X", "a "), .nr_resp_ops = 1},
     "leading/trailing whitespace"},
    {"op-value-del",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, "X", "a\x7f"), .nr_req_ops = 1},
     "control character"},
    {"op-value-tab-lead",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, "X", "\ta"), .nr_req_ops = 1},
     "whitespace"},
    {"op-host-not-authority",
     {.name = "o", .req_ops = OP(ROUTE_OP_SET, "host", "a b"), .nr_req_ops = 1},
     "request op 0 (host): Host value is not host[:port]"},
    {"replace-without-strip",
     {.name = "w", .replace_prefix = "/v2"},
     "replace_prefix without strip_prefix"},
    {"strip-no-slash",
     {.name = "w", .strip_prefix = "api"},
     "strip_prefix \"api\": must start with '/'"},
    {"strip-empty", {.name = "w", .strip_prefix = ""}, "strip_prefix \"\": must start"},
    {"strip-2f", {.name = "w", .strip_prefix = "/a%2F"}, "strip_prefix \"/a%2F\": an encoded"},
    {"replace-no-slash",
     {.name = "w", .strip_prefix = "/a", .replace_prefix = "v2"},
     "replace_prefix \"v2\": must start with '/'"},
    {"replace-query",
     {.name = "w", .strip_prefix = "/a", .replace_prefix = "/v?x"},
     "replace_prefix \"/v?x\": only VCHARs"},
};

static void run_bad_case(void **state)
{
	const struct bad_case *c = *state;
	struct route_rule rules[2] = {{.name = "ok"}, c->rule};
	char err[256];

	memset(err, 'x', sizeof(err));
	errno = 0;
	assert_null(route_table_new(rules, 2, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	if (!strstr(err, c->want))
		fail_msg("error \"%s\" lacks \"%s\"", err, c->want);
	/* the message names the index, then the name when there is one */
	assert_memory_equal(err, "rule 1", 6);
	if (c->rule.name && c->rule.name[0] && !strchr(c->rule.name, ' ')) {
		char who[64];

		snprintf(who, sizeof(who), "rule 1 \"%s\": ", c->rule.name);
		assert_memory_equal(err, who, strlen(who));
	}
}

/* ---------------------------------------------------------------- table */

static void test_table_basics(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "a", .pool = 7},
	    {.name = "b", .pool = 3},
	};
	struct route_table *t;
	const struct route_rule *r;

	(void)state;
	t = mk(rules, 2);
	r = route_rule_get(t, 1);
	assert_non_null(r);
	assert_string_equal(r->name, "b");
	assert_int_equal(r->pool, 3);
	assert_ptr_not_equal(r->name, rules[1].name);
	assert_int_equal(route_rule_get(t, 0)->pool, 7);
	errno = 0;
	assert_null(route_rule_get(t, 2));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(route_rule_get(NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(route_table_size(NULL), 0);
	route_table_free(t);
	route_table_free(NULL);
}

static void test_table_empty(void **state)
{
	struct route_table *t;

	(void)state;
	t = route_table_new(NULL, 0, NULL, 0);
	assert_non_null(t);
	assert_int_equal(route_table_size(t), 0);
	assert_int_equal(route_of(t, GET("/", "h")), -ENOENT);
	route_table_free(t);
}

static void test_table_rules_null(void **state)
{
	char err[64];

	(void)state;
	errno = 0;
	assert_null(route_table_new(NULL, 1, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "rules NULL");
}

/* err NULL is fine; a short err is truncated and still NUL-terminated. */
static void test_table_err_buffer(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "x", .host_kind = ROUTE_HOST_EXACT, .host = "a..b"},
	};
	char err[12];

	(void)state;
	errno = 0;
	assert_null(route_table_new(rules, 1, NULL, 0));
	assert_int_equal(errno, EINVAL);
	memset(err, 'x', sizeof(err));
	assert_null(route_table_new(rules, 1, err, sizeof(err)));
	assert_string_equal(err, "rule 0 \"x\":");
}

/* The first bad rule is reported even with valid ones after it. */
static void test_table_first_error(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "a"},
	    {.name = "b"},
	    {.name = "c", .path_kind = ROUTE_PATH_EXACT, .path = "x"},
	    {.name = "d", .path_kind = ROUTE_PATH_EXACT, .path = "y"},
	};
	char err[128];

	(void)state;
	assert_null(route_table_new(rules, 4, err, sizeof(err)));
	assert_string_equal(err, "rule 2 \"c\": path \"x\": must start with '/'");
}

/* The table keeps its own copies: the caller's rules are freed before use. */
static void test_table_deep_copy(void **state)
{
	struct route_rule *rules = calloc(1, sizeof(*rules));
	struct route_hdr_match *hm = calloc(1, sizeof(*hm));
	struct route_hdr_op *ops = calloc(1, sizeof(*ops));
	struct route_table *t;
	const struct route_rule *r;
	struct h1_fieldset drop = {0};
	struct h1_hdr add[4];
	size_t nr = 0;
	struct rq *q;

	(void)state;
	assert_non_null(rules);
	assert_non_null(hm);
	assert_non_null(ops);
	hm->name = strdup("X-Key");
	hm->value = strdup("k");
	ops->op = ROUTE_OP_SET;
	ops->name = strdup("X-Up");
	ops->value = strdup("1");
	rules->name = strdup("heap");
	rules->host_kind = ROUTE_HOST_WILDCARD;
	rules->host = strdup("*.Example.com");
	rules->path_kind = ROUTE_PATH_REGEX;
	rules->path = strdup("^/v[0-9]/");
	rules->hdrs = hm;
	rules->nr_hdrs = 1;
	rules->req_ops = ops;
	rules->nr_req_ops = 1;
	rules->strip_prefix = strdup("/v1");
	rules->replace_prefix = strdup("/x");
	t = mk(rules, 1);
	memset((char *)hm->name, 0, 5);
	memset((char *)rules->host, 0, 5);
	free((char *)hm->name);
	free((char *)hm->value);
	free((char *)ops->name);
	free((char *)ops->value);
	free((char *)rules->name);
	free((char *)rules->host);
	free((char *)rules->path);
	free((char *)rules->strip_prefix);
	free((char *)rules->replace_prefix);
	free(hm);
	free(ops);
	free(rules);

	r = route_rule_get(t, 0);
	assert_string_equal(r->name, "heap");
	assert_string_equal(r->host, "*.example.com");
	assert_string_equal(r->hdrs[0].name, "X-Key");
	assert_string_equal(r->req_ops[0].value, "1");
	q = rq_new("GET /v1/a HTTP/1.1\r\nHost: a.example.com\r\nX-Key: k\r\n\r\n");
	assert_int_equal(q->prep, 0);
	assert_int_equal(route_match(t, &q->r), 0);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 4, &nr), 0);
	assert_int_equal(nr, 1);
	assert_true(hdr_is(&add[0], "X-Up", "1"));
	free(q);
	assert_target(t, 0, "GET /v1/a HTTP/1.1\r\nHost: a.example.com\r\nX-Key: k\r\n\r\n",
		      "/x/a");
	route_table_free(t);
}

/* What route_rule_get shows: hosts lowercased without trailing dot, paths normalized. */
static void test_table_stores_normalized(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "API.Example.COM."},
	    {.name = "w", .host_kind = ROUTE_HOST_WILDCARD, .host = "*.Example.com."},
	    {.name = "6", .host_kind = ROUTE_HOST_EXACT, .host = "[2001:DB8::1]"},
	    {.name = "p", .path_kind = ROUTE_PATH_EXACT, .path = "/a/%7e/./b//c%3f"},
	    {.name = "x", .path_kind = ROUTE_PATH_PREFIX, .path = "/x/y/../"},
	    {.name = "r", .path_kind = ROUTE_PATH_REGEX, .path = "^/A//b$"},
	    {.name = "s", .strip_prefix = "/API/%41/", .replace_prefix = "/v%2d2/."},
	    {.name = "e", .strip_prefix = "/e"},
	};
	struct route_table *t = mk(rules, ARRAY_SIZE(rules));

	(void)state;
	assert_string_equal(route_rule_get(t, 0)->host, "api.example.com");
	assert_string_equal(route_rule_get(t, 1)->host, "*.example.com");
	assert_string_equal(route_rule_get(t, 2)->host, "[2001:db8::1]");
	assert_string_equal(route_rule_get(t, 3)->path, "/a/~/b/c%3F");
	assert_string_equal(route_rule_get(t, 4)->path, "/x/");
	/* a regex is the user's text: it is not a path */
	assert_string_equal(route_rule_get(t, 5)->path, "^/A//b$");
	assert_string_equal(route_rule_get(t, 6)->strip_prefix, "/API/A/");
	assert_string_equal(route_rule_get(t, 6)->replace_prefix, "/v-2/");
	assert_string_equal(route_rule_get(t, 7)->replace_prefix, "");
	assert_null(route_rule_get(t, 0)->path);
	assert_null(route_rule_get(t, 0)->strip_prefix);
	route_table_free(t);
}

/* Exactly ROUTE_OPS_MAX - 1 ops are accepted, one more is not. */
static void test_table_ops_limit(void **state)
{
	struct route_hdr_op ops[ROUTE_OPS_MAX];
	struct route_rule rule = {.name = "many", .resp_ops = ops};
	struct route_table *t;
	char err[128];

	(void)state;
	for (size_t i = 0; i < ROUTE_OPS_MAX; i++)
		ops[i] = (struct route_hdr_op){ROUTE_OP_ADD, "X-A", "v"};
	rule.nr_resp_ops = ROUTE_OPS_MAX - 1;
	t = mk(&rule, 1);
	route_table_free(t);
	rule.nr_resp_ops = ROUTE_OPS_MAX;
	assert_null(route_table_new(&rule, 1, err, sizeof(err)));
	assert_string_equal(err, "rule 0 \"many\": response ops: too many ops (ROUTE_OPS_MAX - 1 "
				 "at most)");
}

/* A SET Host value must be what the parser takes as a Host: uri-host [":" port]. */
static void test_table_set_host_values(void **state)
{
	static const char *const good[] = {"a.com", "a.com:8080", "[::1]:443", "[2001:db8::1]",
					   "x_y~z", "10.0.0.1:1", "h:65535"};
	static const char *const bad[] = {"",	"a b", "a:",  "a:123456",    "a:65536", "[::1",
					  "[]", "a/b", "a@b", "a.com:80:80", "[::1]x",	"%61"};
	struct route_hdr_op op = {ROUTE_OP_SET, "Host", NULL};
	struct route_rule rule = {.name = "h", .req_ops = &op, .nr_req_ops = 1};
	struct route_table *t;
	char err[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		op.value = good[i];
		t = route_table_new(&rule, 1, err, sizeof(err));
		if (!t)
			fail_msg("\"%s\" refused: %s", good[i], err);
		route_table_free(t);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		op.value = bad[i];
		t = route_table_new(&rule, 1, err, sizeof(err));
		if (t)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(err, "Host value is not host[:port]"));
	}
	/* on a response, Host means nothing to the proxy: any valid value goes */
	op.value = "a b";
	rule = (struct route_rule){.name = "h", .resp_ops = &op, .nr_resp_ops = 1};
	t = mk(&rule, 1);
	route_table_free(t);
}

/* ---------------------------------------------------------------- hosts */

static void test_host_exact(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "ex", .host_kind = ROUTE_HOST_EXACT, .host = "example.com"},
	};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_int_equal(route_of(t, GET("/", "example.com")), 0);
	assert_int_equal(route_of(t, GET("/", "EXAMPLE.com")), 0);
	assert_int_equal(route_of(t, GET("/", "example.com:8443")), 0);
	assert_int_equal(route_of(t, GET("/", "example.com.")), 0);
	assert_int_equal(route_of(t, GET("/", "example.com.:80")), 0);
	assert_int_equal(route_of(t, GET("/", "www.example.com")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "example.co")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "example.com.evil")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "xexample.com")), -ENOENT);
	assert_int_equal(route_of(t, "GET / HTTP/1.0\r\n\r\n"), -ENOENT);
	route_table_free(t);
}

/* A rule written with capitals and a trailing dot matches like its lowercase form. */
static void test_host_exact_rule_case_dot(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "ex", .host_kind = ROUTE_HOST_EXACT, .host = "Example.COM."},
	};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_int_equal(route_of(t, GET("/", "example.com")), 0);
	assert_int_equal(route_of(t, GET("/", "EXAMPLE.COM.")), 0);
	route_table_free(t);
}

static void test_host_wildcard(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "wild", .host_kind = ROUTE_HOST_WILDCARD, .host = "*.example.com"},
	};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_int_equal(route_of(t, GET("/", "a.example.com")), 0);
	assert_int_equal(route_of(t, GET("/", "a.b.example.com")), 0);
	assert_int_equal(route_of(t, GET("/", "A.Example.Com:8080")), 0);
	assert_int_equal(route_of(t, GET("/", "a.example.com.")), 0);
	assert_int_equal(route_of(t, GET("/", "x-y_z.example.com")), 0);
	assert_int_equal(route_of(t, GET("/", "example.com")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "aexample.com")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "a.example.com.evil")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "a.example.co")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "a.xexample.com")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "example.com.a")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "[::1]")), -ENOENT);
	/* an empty label before the suffix never reaches matching */
	assert_int_equal(route_of(t, GET("/", ".example.com")), -EBADMSG);
	route_table_free(t);
}

static void test_host_ip_literals(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "v6", .host_kind = ROUTE_HOST_EXACT, .host = "[2001:db8::1]"},
	    {.name = "v4", .host_kind = ROUTE_HOST_EXACT, .host = "192.0.2.1"},
	};
	struct route_table *t = mk(rules, 2);

	(void)state;
	assert_int_equal(route_of(t, GET("/", "[2001:DB8::1]:8080")), 0);
	assert_int_equal(route_of(t, GET("/", "[2001:db8::1]")), 0);
	assert_int_equal(route_of(t, GET("/", "[2001:db8::2]")), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "192.0.2.1:80")), 1);
	assert_int_equal(route_of(t, GET("/", "192.0.2.10")), -ENOENT);
	route_table_free(t);
}

/* The absolute-form authority is matched, not Host (RFC 9112 3.2.2). */
static void test_host_absolute_form(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "api", .host_kind = ROUTE_HOST_EXACT, .host = "api.example.com"},
	    {.name = "www", .host_kind = ROUTE_HOST_EXACT, .host = "www.example.com"},
	};
	struct route_table *t = mk(rules, 2);

	(void)state;
	assert_int_equal(route_of(t, "GET http://api.example.com/x HTTP/1.1\r\n"
				     "Host: www.example.com\r\n\r\n"),
			 0);
	assert_int_equal(route_of(t, "GET http://WWW.example.com:8080 HTTP/1.1\r\n"
				     "Host: api.example.com\r\n\r\n"),
			 1);
	assert_int_equal(route_of(t, "GET http://api.example.com/x HTTP/1.0\r\n\r\n"), 0);
	route_table_free(t);
}

/* ---------------------------------------------------------------- paths */

static void test_path_exact(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "adm", .path_kind = ROUTE_PATH_EXACT, .path = "/admin"},
	};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_int_equal(route_of(t, GET("/admin", "h")), 0);
	assert_int_equal(route_of(t, GET("/admin?x=1", "h")), 0);
	assert_int_equal(route_of(t, GET("//admin", "h")), 0);
	assert_int_equal(route_of(t, GET("/x/../%61dmin", "h")), 0);
	assert_int_equal(route_of(t, GET("/admin/", "h")), -ENOENT);
	assert_int_equal(route_of(t, GET("/admin/x", "h")), -ENOENT);
	assert_int_equal(route_of(t, GET("/Admin", "h")), -ENOENT);
	assert_int_equal(route_of(t, GET("/admi", "h")), -ENOENT);
	assert_int_equal(route_of(t, "GET http://h/admin HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	route_table_free(t);
}

/* Prefix is a string prefix of the normalized path; "/api/" for whole segments. */
static void test_path_prefix(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "seg", .path_kind = ROUTE_PATH_PREFIX, .path = "/api/"},
	    {.name = "str", .path_kind = ROUTE_PATH_PREFIX, .path = "/api"},
	    {.name = "root", .path_kind = ROUTE_PATH_PREFIX, .path = "/"},
	};
	struct route_table *t = mk(rules, 3);

	(void)state;
	assert_int_equal(route_of(t, GET("/api/x", "h")), 0);
	assert_int_equal(route_of(t, GET("/api/", "h")), 0);
	assert_int_equal(route_of(t, GET("/api//x", "h")), 0);
	assert_int_equal(route_of(t, GET("/api", "h")), 1);
	assert_int_equal(route_of(t, GET("/apix", "h")), 1);
	assert_int_equal(route_of(t, GET("/api?x/", "h")), 1);
	assert_int_equal(route_of(t, GET("/ap", "h")), 2);
	assert_int_equal(route_of(t, GET("/API/x", "h")), 2);
	assert_int_equal(route_of(t, "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n"), 2);
	route_table_free(t);
}

/* The ACL bypass: "/a/../admin" must hit the "/admin" rule and be forwarded as "/admin". */
static void test_path_dot_segments_acl(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "admin", .path_kind = ROUTE_PATH_PREFIX, .path = "/admin", .pool = 9},
	    {.name = "public", .path_kind = ROUTE_PATH_PREFIX, .path = "/"},
	};
	static const char *const reqs[] = {
	    GET("/a/../admin", "h"),
	    GET("/public/../admin", "h"),
	    GET("/./admin", "h"),
	    GET("/%2e%2e/admin", "h"),
	    GET("/public/%2E%2E/admin", "h"),
	    GET("//admin", "h"),
	    GET("/../../../admin", "h"),
	    GET("/%61dmin", "h"),
	    GET("/public/.%2e//admin", "h"),
	};
	struct route_table *t = mk(rules, 2);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
		char out[64];

		assert_int_equal(target_of(t, 0, reqs[i], out, sizeof(out)), 0);
		assert_string_equal(out, "/admin");
	}
	/* and what cannot be read one way is refused, not routed to "public" */
	assert_int_equal(route_of(t, GET("/public/..;/admin", "h")), -EBADMSG);
	assert_int_equal(route_of(t, GET("/public%2f..%2fadmin", "h")), -EBADMSG);
	assert_int_equal(route_of(t, GET("/public\\..\\admin", "h")), -EBADMSG);
	route_table_free(t);
}

static void test_path_regex(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "ver", .path_kind = ROUTE_PATH_REGEX, .path = "^/v[0-9]+/"},
	    {.name = "adm", .path_kind = ROUTE_PATH_REGEX, .path = "admin"},
	    {.name = "end", .path_kind = ROUTE_PATH_REGEX, .path = "^/q$"},
	    {.name = "pct", .path_kind = ROUTE_PATH_REGEX, .path = "^/%C3%A9$"},
	};
	struct route_table *t = mk(rules, 4);

	(void)state;
	assert_int_equal(route_of(t, GET("/v2/x", "h")), 0);
	assert_int_equal(route_of(t, GET("/v10/", "h")), 0);
	assert_int_equal(route_of(t, GET("/v/x", "h")), -ENOENT);
	assert_int_equal(route_of(t, GET("/x/v2/", "h")), -ENOENT);
	/* unanchored: searched anywhere in the path */
	assert_int_equal(route_of(t, GET("/x/admin/y", "h")), 1);
	/* the normalized path, not the raw one */
	assert_int_equal(route_of(t, GET("/v1/../adm%69n", "h")), 1);
	assert_int_equal(route_of(t, GET("/x//v3/", "h")), -ENOENT);
	/* the query is not part of what the regex sees */
	assert_int_equal(route_of(t, GET("/q?admin", "h")), 2);
	assert_int_equal(route_of(t, GET("/%c3%a9", "h")), 3);
	route_table_free(t);
}

/* OPTIONS * and CONNECT have no path: only path-ANY rules see them. */
static void test_path_pathless_forms(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "rx", .path_kind = ROUTE_PATH_REGEX, .path = "^$|.*"},
	    {.name = "pre", .path_kind = ROUTE_PATH_PREFIX, .path = "/"},
	    {.name = "h", .host_kind = ROUTE_HOST_EXACT, .host = "h.com"},
	};
	struct route_table *t = mk(rules, 3);

	(void)state;
	assert_int_equal(route_of(t, "OPTIONS * HTTP/1.1\r\nHost: h.com\r\n\r\n"), 2);
	assert_int_equal(route_of(t, "CONNECT h.com:443 HTTP/1.1\r\nHost: h.com:443\r\n\r\n"), 2);
	assert_int_equal(route_of(t, "OPTIONS * HTTP/1.1\r\nHost: x.com\r\n\r\n"), -ENOENT);
	assert_int_equal(route_of(t, "OPTIONS /x HTTP/1.1\r\nHost: x.com\r\n\r\n"), 0);
	route_table_free(t);
}

/* Normalizing what route_target forwards changes nothing: matched == forwarded. */
static void test_path_idempotent(void **state)
{
	static const char *const paths[] = {
	    "/a/../b/./c//d/",
	    "/%7e%41%2e%2E/x",
	    "/a%c3%a9%20/..",
	    "/../..",
	    "/.well-known/x/../y?z=/../",
	    "//x;p=1/y/.",
	};
	static const struct route_rule rules[] = {{.name = "all"}};
	struct route_table *t = mk(rules, 1);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char raw[256], out[256], raw2[512], out2[256];

		snprintf(raw, sizeof(raw), GET("%s", "h"), paths[i]);
		assert_int_equal(target_of(t, 0, raw, out, sizeof(out)), 0);
		snprintf(raw2, sizeof(raw2), GET("%s", "h"), out);
		assert_int_equal(target_of(t, 0, raw2, out2, sizeof(out2)), 0);
		assert_string_equal(out, out2);
	}
	route_table_free(t);
}

/* -------------------------------------------------------------- methods */

static void test_methods(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "read",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/r",
	     .methods = ROUTE_METH(H1_METH_GET) | ROUTE_METH(H1_METH_HEAD)},
	    {.name = "other",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/r",
	     .methods = ROUTE_METH(H1_METH_OTHER)},
	    {.name = "any", .path_kind = ROUTE_PATH_PREFIX, .path = "/r"},
	};
	struct route_table *t = mk(rules, 3);

	(void)state;
	assert_int_equal(route_of(t, "GET /r HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "HEAD /r HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
			 2);
	assert_int_equal(route_of(t, "DELETE /r HTTP/1.1\r\nHost: h\r\n\r\n"), 2);
	assert_int_equal(route_of(t, "PURGE /r HTTP/1.1\r\nHost: h\r\n\r\n"), 1);
	/* methods are case-sensitive: "get" is some other method */
	assert_int_equal(route_of(t, "get /r HTTP/1.1\r\nHost: h\r\n\r\n"), 1);
	route_table_free(t);
}

static void test_methods_all_bits(void **state)
{
	struct route_rule rule = {.name = "all", .methods = ROUTE_METH_ALL};
	struct route_table *t = mk(&rule, 1);

	(void)state;
	assert_int_equal(route_of(t, "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	route_table_free(t);
	rule.methods = ROUTE_METH(H1_METH_PATCH);
	t = mk(&rule, 1);
	assert_int_equal(route_of(t, "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "PUT / HTTP/1.1\r\nHost: h\r\n\r\n"), -ENOENT);
	route_table_free(t);
}

/* -------------------------------------------------------------- headers */

static void test_hdr_present(void **state)
{
	const struct route_rule rules[] = {
	    {.name = "dbg", .hdrs = HM("X-Debug", NULL), .nr_hdrs = 1},
	};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Debug: 1\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nx-debug:\r\n\r\n"), 0);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Debugs: 1\r\n\r\n"), -ENOENT);
	assert_int_equal(route_of(t, GET("/", "h")), -ENOENT);
	route_table_free(t);
}

static void test_hdr_value(void **state)
{
	const struct route_rule rules[] = {
	    {.name = "canary", .hdrs = HM("x-canary", "yes"), .nr_hdrs = 1},
	    {.name = "empty", .hdrs = HM("x-e", ""), .nr_hdrs = 1},
	};
	struct route_table *t = mk(rules, 2);

	(void)state;
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Canary: yes\r\n\r\n"), 0);
	/* OWS around the value is not part of it */
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Canary: \t yes \r\n\r\n"), 0);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Canary: Yes\r\n\r\n"),
			 -ENOENT);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Canary: yes, no\r\n\r\n"),
			 -ENOENT);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Canary: ye\r\n\r\n"), -ENOENT);
	/* some field of that name: the second one counts */
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Canary: no\r\n"
				     "x-CANARY: yes\r\n\r\n"),
			 0);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\n\r\n"), 1);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nX-E: x\r\n\r\n"), -ENOENT);
	route_table_free(t);
}

static void test_hdr_negate(void **state)
{
	static const struct route_hdr_match no_auth[] = {{"Authorization", NULL, true}};
	static const struct route_hdr_match not_beta[] = {{"X-Tier", "beta", true}};
	static const struct route_rule rules[] = {
	    {.name = "anon", .hdrs = no_auth, .nr_hdrs = 1, .pool = 1},
	    {.name = "stable", .hdrs = not_beta, .nr_hdrs = 1, .pool = 2},
	};
	struct route_table *t = mk(rules, 2);

	(void)state;
	assert_int_equal(route_of(t, GET("/", "h")), 0);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nauthorization: x\r\n\r\n"), 1);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: x\r\n"
				     "X-Tier: gold\r\n\r\n"),
			 1);
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: x\r\n"
				     "X-Tier: beta\r\n\r\n"),
			 -ENOENT);
	/* one beta field among others: "some field has the value" holds, negated fails */
	assert_int_equal(route_of(t, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: x\r\n"
				     "X-Tier: gold\r\nX-Tier: beta\r\n\r\n"),
			 -ENOENT);
	route_table_free(t);
}

/* Every condition of a rule must hold, with host, path and method too. */
static void test_hdr_all_must_hold(void **state)
{
	static const struct route_hdr_match both[] = {
	    {"X-A", "1", false},
	    {"X-B", NULL, false},
	    {"X-C", NULL, true},
	};
	static const struct route_rule rules[] = {
	    {.name = "all",
	     .host_kind = ROUTE_HOST_EXACT,
	     .host = "h.com",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/p",
	     .methods = ROUTE_METH(H1_METH_GET),
	     .hdrs = both,
	     .nr_hdrs = 3},
	};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_int_equal(route_of(t, "GET /p HTTP/1.1\r\nHost: h.com\r\nX-A: 1\r\nX-B: 2\r\n\r\n"),
			 0);
	assert_int_equal(route_of(t, "GET /p HTTP/1.1\r\nHost: h.com\r\nX-A: 1\r\n\r\n"), -ENOENT);
	assert_int_equal(route_of(t, "GET /p HTTP/1.1\r\nHost: h.com\r\nX-B: 2\r\n\r\n"), -ENOENT);
	assert_int_equal(route_of(t, "GET /p HTTP/1.1\r\nHost: h.com\r\nX-A: 1\r\nX-B: 2\r\n"
				     "X-C: 3\r\n\r\n"),
			 -ENOENT);
	assert_int_equal(route_of(t, "PUT /p HTTP/1.1\r\nHost: h.com\r\nX-A: 1\r\nX-B: 2\r\n\r\n"),
			 -ENOENT);
	assert_int_equal(route_of(t, "GET /q HTTP/1.1\r\nHost: h.com\r\nX-A: 1\r\nX-B: 2\r\n\r\n"),
			 -ENOENT);
	assert_int_equal(route_of(t, "GET /p HTTP/1.1\r\nHost: g.com\r\nX-A: 1\r\nX-B: 2\r\n\r\n"),
			 -ENOENT);
	route_table_free(t);
}

/* ---------------------------------------------------------------- order */

static void test_first_match_wins(void **state)
{
	static const struct route_rule fwd[] = {
	    {.name = "narrow", .path_kind = ROUTE_PATH_PREFIX, .path = "/api/v2/", .pool = 2},
	    {.name = "wide", .path_kind = ROUTE_PATH_PREFIX, .path = "/api/", .pool = 1},
	    {.name = "default", .pool = 0},
	};
	static const struct route_rule rev[] = {
	    {.name = "wide", .path_kind = ROUTE_PATH_PREFIX, .path = "/api/", .pool = 1},
	    {.name = "narrow", .path_kind = ROUTE_PATH_PREFIX, .path = "/api/v2/", .pool = 2},
	};
	struct route_table *t = mk(fwd, 3), *r = mk(rev, 2);

	(void)state;
	assert_int_equal(route_of(t, GET("/api/v2/x", "h")), 0);
	assert_int_equal(route_of(t, GET("/api/v1/x", "h")), 1);
	assert_int_equal(route_of(t, GET("/other", "h")), 2);
	assert_int_equal(route_rule_get(t, 2)->pool, 0);
	/* the narrow rule after the wide one is never reached */
	assert_int_equal(route_of(r, GET("/api/v2/x", "h")), 0);
	assert_int_equal(route_of(r, GET("/other", "h")), -ENOENT);
	route_table_free(t);
	route_table_free(r);
}

/* -------------------------------------------------------------- targets */

static void test_target_plain(void **state)
{
	static const struct route_rule rules[] = {{.name = "all"}};
	struct route_table *t = mk(rules, 1);

	(void)state;
	assert_target(t, 0, GET("/a/./b/../c?x=%2F&y=/../z", "h"), "/a/c?x=%2F&y=/../z");
	assert_target(t, 0, GET("/a?", "h"), "/a?");
	assert_target(t, 0, GET("/%7ea%c3%a9", "h"), "/~a%C3%A9");
	assert_target(t, 0, "GET http://h.com HTTP/1.1\r\nHost: h.com\r\n\r\n", "/");
	assert_target(t, 0, "GET http://h.com?q HTTP/1.1\r\nHost: h.com\r\n\r\n", "/?q");
	assert_target(t, 0, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "*");
	route_table_free(t);
}

static void test_target_rewrite(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "v2",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/api/",
	     .strip_prefix = "/api",
	     .replace_prefix = "/v2"},
	    {.name = "strip", .path_kind = ROUTE_PATH_PREFIX, .path = "/s", .strip_prefix = "/s"},
	    {.name = "slash", .path_kind = ROUTE_PATH_PREFIX, .path = "/t/", .strip_prefix = "/t/"},
	    {.name = "seam",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/u",
	     .strip_prefix = "/u",
	     .replace_prefix = "/w/"},
	    {.name = "dots",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/foo",
	     .strip_prefix = "/foo",
	     .replace_prefix = "/bar/"},
	    {.name = "miss", .strip_prefix = "/nomatch", .replace_prefix = "/x"},
	};
	struct route_table *t = mk(rules, ARRAY_SIZE(rules));

	(void)state;
	assert_target(t, 0, GET("/api/users?id=1", "h"), "/v2/users?id=1");
	assert_target(t, 0, GET("/x/../api//users/", "h"), "/v2/users/");
	/* stripped to nothing: "/" */
	assert_target(t, 1, GET("/s", "h"), "/");
	assert_target(t, 1, GET("/s?q=1", "h"), "/?q=1");
	assert_target(t, 1, GET("/s/", "h"), "/");
	assert_target(t, 1, GET("/s/x", "h"), "/x");
	/* a string prefix: "/sx" loses its "/s" and gains a leading '/' */
	assert_target(t, 1, GET("/sx", "h"), "/x");
	assert_target(t, 2, GET("/t/x/y", "h"), "/x/y");
	assert_target(t, 2, GET("/t/", "h"), "/");
	/* "/w/" + "/x" joins without "//" */
	assert_target(t, 3, GET("/u/x", "h"), "/w/x");
	assert_target(t, 3, GET("/u", "h"), "/w/");
	/* the seam cannot make a dot-segment: "/bar/" + ".." is resolved */
	assert_target(t, 4, GET("/foo..", "h"), "/");
	assert_target(t, 4, GET("/foo.", "h"), "/bar/");
	assert_target(t, 4, GET("/foo..x", "h"), "/bar/..x");
	/* no strip prefix at the start: the path goes as normalized */
	assert_target(t, 5, GET("/a/nomatch", "h"), "/a/nomatch");
	route_table_free(t);
}

/* A rewrite that would forward "/..;x" is refused rather than sent. */
static void test_target_rewrite_refused(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "dots", .strip_prefix = "/foo", .replace_prefix = "/bar/"},
	};
	struct route_table *t = mk(rules, 1);
	char out[64];

	(void)state;
	assert_int_equal(target_of(t, 0, GET("/foo..;x", "h"), out, sizeof(out)), -EBADMSG);
	route_table_free(t);
}

static void test_target_nospace(void **state)
{
	static const struct route_rule rules[] = {
	    {.name = "plain", .path_kind = ROUTE_PATH_PREFIX, .path = "/p"},
	    {.name = "rw", .strip_prefix = "/api", .replace_prefix = "/version2"},
	};
	struct route_table *t = mk(rules, 2);
	struct rq *q = rq_new(GET("/p/abc?q=12", "h"));
	char out[64];
	size_t len = 0, need;

	(void)state;
	assert_int_equal(q->prep, 0);
	/* "/p/abc?q=12" is 11 bytes: exact for a plain path */
	assert_int_equal(route_target(t, 0, &q->r, out, 10, &len), -ENOSPC);
	assert_int_equal(len, 11);
	assert_int_equal(route_target(t, 0, &q->r, NULL, 0, &len), -ENOSPC);
	assert_int_equal(len, 11);
	assert_int_equal(route_target(t, 0, &q->r, out, 11, &len), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(out, "/p/abc?q=12", 11);
	free(q);

	/* a rewrite asks for enough; the result may be shorter */
	q = rq_new(GET("/api/x?y", "h"));
	assert_int_equal(q->prep, 0);
	assert_int_equal(route_target(t, 1, &q->r, out, 4, &len), -ENOSPC);
	need = len;
	assert_true(need >= strlen("/version2/x?y"));
	assert_int_equal(route_target(t, 1, &q->r, out, need, &len), 0);
	assert_int_equal(len, strlen("/version2/x?y"));
	assert_memory_equal(out, "/version2/x?y", len);
	free(q);

	q = rq_new("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(route_target(t, 0, &q->r, out, 0, &len), -ENOSPC);
	assert_int_equal(len, 1);
	free(q);
	route_table_free(t);
}

static void test_target_invalid(void **state)
{
	static const struct route_rule rules[] = {{.name = "all"}};
	struct route_table *t = mk(rules, 1);
	struct rq *q = rq_new("CONNECT h.com:443 HTTP/1.1\r\nHost: h.com:443\r\n\r\n");
	char out[64];
	size_t len;

	(void)state;
	assert_int_equal(q->prep, 0);
	assert_int_equal(route_match(t, &q->r), 0);
	assert_int_equal(route_target(t, 0, &q->r, out, sizeof(out), &len), -EINVAL);
	free(q);
	q = rq_new(GET("/", "h"));
	assert_int_equal(route_target(t, 1, &q->r, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(route_target(t, -2, &q->r, out, sizeof(out), &len), -EINVAL);
	/* -1: no rule (a default pool): the normalized path, no rewrite */
	free(q);
	q = rq_new(GET("/a/../b//c?x=1", "h"));
	assert_int_equal(route_target(t, -1, &q->r, out, sizeof(out), &len), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(out, "/b/c?x=1", 8);
	assert_int_equal(route_target(NULL, 0, &q->r, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(route_target(t, 0, NULL, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(route_target(t, 0, &q->r, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(route_target(t, 0, &q->r, NULL, 5, &len), -EINVAL);
	free(q);
	route_table_free(t);
}

/* ------------------------------------------------------------- prepare */

static void test_prepare_scratch(void **state)
{
	static const char raw[] = "GET /a/b?c HTTP/1.1\r\nHost: example.com:80\r\n\r\n";
	struct rq *q = rq_new(raw);
	size_t need = route_scratch_size(&q->m);
	struct route_req r;
	char *s;

	(void)state;
	/* authority 14 + target 6 + 3 */
	assert_int_equal(need, 23);
	s = malloc(need - 1);
	assert_non_null(s);
	assert_int_equal(route_req_prepare(&r, &q->m, q->buf, s, need - 1), -ENOSPC);
	free(s);
	/* exactly enough, in a buffer ASan bounds */
	s = malloc(need);
	assert_non_null(s);
	assert_int_equal(route_req_prepare(&r, &q->m, q->buf, s, need), 0);
	assert_string_equal(r.host, "example.com");
	assert_string_equal(r.path, "/a/b");
	free(s);
	free(q);

	/* the smallest case: an empty absolute-form path still needs "/" */
	q = rq_new("GET http://a HTTP/1.0\r\n\r\n");
	need = route_scratch_size(&q->m);
	assert_int_equal(need, 4);
	s = malloc(need);
	assert_non_null(s);
	assert_int_equal(route_req_prepare(&r, &q->m, q->buf, s, need), 0);
	assert_string_equal(r.host, "a");
	assert_string_equal(r.path, "/");
	free(s);
	free(q);
}

static void test_prepare_invalid(void **state)
{
	static const char rsp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct rq *q = rq_new(GET("/", "h"));
	struct h1_msg *m = malloc(sizeof(*m));
	struct route_req r;
	char s[64];

	(void)state;
	assert_non_null(m);
	assert_int_equal(route_req_prepare(NULL, &q->m, q->buf, s, sizeof(s)), -EINVAL);
	assert_int_equal(route_req_prepare(&r, NULL, q->buf, s, sizeof(s)), -EINVAL);
	assert_int_equal(route_req_prepare(&r, &q->m, NULL, s, sizeof(s)), -EINVAL);
	assert_int_equal(route_req_prepare(&r, &q->m, q->buf, NULL, sizeof(s)), -EINVAL);
	/* a head not complete yet */
	h1_msg_init(m, NULL);
	assert_int_equal(h1_parse_request(m, "GET / HTTP/1.1\r\n", 16), -EAGAIN);
	assert_int_equal(route_req_prepare(&r, m, "GET / HTTP/1.1\r\n", s, sizeof(s)), -EINVAL);
	/* a refused head */
	h1_msg_init(m, NULL);
	assert_int_equal(h1_parse_request(m, "GET / HTTP/1.1\r\n\r\n", 18), -EBADMSG);
	assert_int_equal(route_req_prepare(&r, m, "GET / HTTP/1.1\r\n\r\n", s, sizeof(s)), -EINVAL);
	/* a response */
	h1_msg_init(m, NULL);
	assert_int_equal(h1_parse_response(m, rsp, strlen(rsp), H1_METH_GET), 0);
	assert_int_equal(route_req_prepare(&r, m, rsp, s, sizeof(s)), -EINVAL);
	assert_int_equal(route_match(NULL, &q->r), -EINVAL);
	free(m);
	free(q);
}

/* ------------------------------------------------------------------ ops */

static void test_ops_set_add_remove(void **state)
{
	static const struct route_hdr_op ops[] = {
	    {ROUTE_OP_SET, "X-Dup", "one"},
	    {ROUTE_OP_ADD, "X-Keep", "k2"},
	    {ROUTE_OP_REMOVE, "x-gone", NULL},
	    {ROUTE_OP_ADD, "X-New", ""},
	};
	static const struct route_rule rules[] = {{.name = "o", .req_ops = ops, .nr_req_ops = 4}};
	struct route_table *t = mk(rules, 1);
	struct rq *q = rq_new("GET / HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\nX-Keep: k\r\n"
			      "X-Gone: g\r\nX-GONE: g2\r\nX-Dupe: 3\r\n\r\n");
	struct h1_fieldset drop = {0};
	struct h1_hdr add[8];
	size_t nr = 99;

	(void)state;
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 8, &nr), 0);
	/* fields: 0 Host, 1 X-Dup, 2 x-dup, 3 X-Keep, 4 X-Gone, 5 X-GONE, 6 X-Dupe */
	assert_int_equal(fieldset_count(&drop), 4);
	assert_true(h1_fieldset_has(&drop, 1));
	assert_true(h1_fieldset_has(&drop, 2));
	assert_true(h1_fieldset_has(&drop, 4));
	assert_true(h1_fieldset_has(&drop, 5));
	assert_int_equal(nr, 3);
	assert_true(hdr_is(&add[0], "X-Dup", "one"));
	assert_true(hdr_is(&add[1], "X-Keep", "k2"));
	assert_true(hdr_is(&add[2], "X-New", ""));
	free(q);
	route_table_free(t);
}

/* Ops act on the message as the earlier ones left it. */
static void test_ops_in_order(void **state)
{
	static const struct route_hdr_op ops[] = {
	    {ROUTE_OP_ADD, "X-A", "1"}, {ROUTE_OP_ADD, "X-B", "1"},	{ROUTE_OP_ADD, "X-A", "2"},
	    {ROUTE_OP_SET, "x-a", "3"}, {ROUTE_OP_REMOVE, "X-B", NULL}, {ROUTE_OP_ADD, "X-B", "4"},
	    {ROUTE_OP_ADD, "X-C", "5"},
	};
	static const struct route_rule rules[] = {{.name = "o", .req_ops = ops, .nr_req_ops = 7}};
	struct route_table *t = mk(rules, 1);
	struct rq *q = rq_new("GET / HTTP/1.1\r\nHost: h\r\nX-B: 0\r\n\r\n");
	struct h1_fieldset drop = {0};
	struct h1_hdr add[8];
	size_t nr = 0;

	(void)state;
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 8, &nr), 0);
	assert_int_equal(fieldset_count(&drop), 1);
	assert_true(h1_fieldset_has(&drop, 1));
	assert_int_equal(nr, 3);
	assert_true(hdr_is(&add[0], "x-a", "3"));
	assert_true(hdr_is(&add[1], "X-B", "4"));
	assert_true(hdr_is(&add[2], "X-C", "5"));
	free(q);
	route_table_free(t);
}

/* What the proxy sends: hop fields and op drops, op adds, the routed target. */
static void test_ops_round_trip(void **state)
{
	static const struct route_hdr_op ops[] = {
	    {ROUTE_OP_SET, "X-Dup", "one"},
	    {ROUTE_OP_ADD, "X-Keep", "k2"},
	    {ROUTE_OP_REMOVE, "X-Gone", NULL},
	    {ROUTE_OP_ADD, "X-Forwarded-Proto", "https"},
	};
	static const struct route_rule rules[] = {
	    {.name = "api",
	     .path_kind = ROUTE_PATH_PREFIX,
	     .path = "/api/",
	     .req_ops = ops,
	     .nr_req_ops = 4,
	     .strip_prefix = "/api",
	     .replace_prefix = "/v2"},
	};
	static const char want[] = "GET /v2/x?q=1 HTTP/1.1\r\nHost: a.com\r\nX-Keep: k\r\n"
				   "X-Dup: one\r\nX-Keep: k2\r\nX-Forwarded-Proto: https\r\n\r\n";
	struct route_table *t = mk(rules, 1);
	struct rq *q = rq_new("GET /api/../api/./x?q=1 HTTP/1.1\r\nHost: a.com\r\nX-Dup: 1\r\n"
			      "x-dup: 2\r\nX-Keep: k\r\nX-Gone: g\r\nConnection: close\r\n\r\n");
	struct h1_fieldset drop = {0};
	struct h1_hdr add[ROUTE_OPS_MAX];
	struct h1_msg *m2 = malloc(sizeof(*m2));
	char target[64], out[512];
	size_t tlen = 0, nr = 0, olen = 0;
	struct h1_rewrite rw;

	(void)state;
	assert_non_null(m2);
	assert_int_equal(q->prep, 0);
	assert_int_equal(route_match(t, &q->r), 0);
	assert_int_equal(route_target(t, 0, &q->r, target, sizeof(target), &tlen), 0);
	h1_hop_fields(&q->m, q->buf, 0, &drop);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, ROUTE_OPS_MAX, &nr), 0);
	/* the hop-by-hop Connection stays dropped: drop is added to, not reset */
	assert_true(h1_fieldset_has(&drop, 5));
	rw = (struct h1_rewrite){
	    .drop = &drop, .add = add, .nr_add = nr, .target = target, .target_len = tlen};
	assert_int_equal(h1_write_head(&q->m, q->buf, &rw, out, sizeof(out), &olen), 0);
	assert_int_equal(olen, strlen(want));
	assert_memory_equal(out, want, olen);

	h1_msg_init(m2, NULL);
	assert_int_equal(h1_parse_request(m2, out, olen), 0);
	assert_true(span_is(out, m2->target, "/v2/x?q=1"));
	assert_int_equal(m2->nr_fields, 5);
	assert_true(span_is(out, m2->fields[2].name, "X-Dup"));
	assert_true(span_is(out, m2->fields[2].value, "one"));
	assert_int_equal(h1_field_find(m2, out, "x-gone", 0), -ENOENT);
	assert_int_equal(h1_field_find(m2, out, "connection", 0), -ENOENT);
	free(m2);
	free(q);
	route_table_free(t);
}

/* Absolute-form: the origin gets the Host that was matched. */
static void test_ops_host_fix(void **state)
{
	static const struct route_hdr_op set_host[] = {{ROUTE_OP_SET, "Host", "internal"}};
	static const struct route_rule rules[] = {
	    {.name = "a", .host_kind = ROUTE_HOST_EXACT, .host = "a.com"},
	    {.name = "b",
	     .host_kind = ROUTE_HOST_EXACT,
	     .host = "b.com",
	     .req_ops = set_host,
	     .nr_req_ops = 1},
	    {.name = "rest"},
	};
	struct route_table *t = mk(rules, 3);
	struct h1_fieldset drop;
	struct h1_hdr add[4];
	char target[64], out[256];
	size_t nr, tlen, olen;
	struct rq *q;

	(void)state;
	/* Host differs: dropped, the authority (port and case as sent) added */
	q = rq_new("GET http://A.com:8080/x HTTP/1.1\r\nHost: evil.com\r\nX: 1\r\n\r\n");
	assert_int_equal(route_match(t, &q->r), 0);
	memset(&drop, 0, sizeof(drop));
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 4, &nr), 0);
	assert_int_equal(nr, 1);
	assert_true(hdr_is(&add[0], "Host", "A.com:8080"));
	assert_int_equal(fieldset_count(&drop), 1);
	assert_true(h1_fieldset_has(&drop, 0));
	assert_int_equal(route_target(t, 0, &q->r, target, sizeof(target), &tlen), 0);
	assert_int_equal(
	    h1_write_head(
		&q->m, q->buf,
		&(struct h1_rewrite){
		    .drop = &drop, .add = add, .nr_add = nr, .target = target, .target_len = tlen},
		out, sizeof(out), &olen),
	    0);
	assert_int_equal(olen, strlen("GET /x HTTP/1.1\r\nX: 1\r\nHost: A.com:8080\r\n\r\n"));
	assert_memory_equal(out, "GET /x HTTP/1.1\r\nX: 1\r\nHost: A.com:8080\r\n\r\n", olen);
	free(q);

	/* HTTP/1.0 without Host: one is added */
	q = rq_new("GET http://a.com/x HTTP/1.0\r\n\r\n");
	memset(&drop, 0, sizeof(drop));
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 4, &nr), 0);
	assert_int_equal(nr, 1);
	assert_true(hdr_is(&add[0], "Host", "a.com"));
	assert_int_equal(fieldset_count(&drop), 0);
	free(q);

	/* the same host, case aside: nothing to fix */
	q = rq_new("GET http://a.com/ HTTP/1.1\r\nHost: A.COM\r\n\r\n");
	memset(&drop, 0, sizeof(drop));
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 4, &nr), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(fieldset_count(&drop), 0);
	free(q);

	/* origin-form: Host is what was matched already */
	q = rq_new(GET("/", "a.com"));
	memset(&drop, 0, sizeof(drop));
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 4, &nr), 0);
	assert_int_equal(nr, 0);
	free(q);

	/* a rule's SET Host replaces the fixed one */
	q = rq_new("GET http://b.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n");
	assert_int_equal(route_match(t, &q->r), 1);
	memset(&drop, 0, sizeof(drop));
	assert_int_equal(route_req_ops(t, 1, &q->m, q->buf, &drop, add, 4, &nr), 0);
	assert_int_equal(nr, 1);
	assert_true(hdr_is(&add[0], "Host", "internal"));
	assert_true(h1_fieldset_has(&drop, 0));
	free(q);
	route_table_free(t);
}

static void test_ops_response(void **state)
{
	static const struct route_hdr_op ops[] = {
	    {ROUTE_OP_REMOVE, "server", NULL},
	    {ROUTE_OP_SET, "Cache-Control", "no-store"},
	    {ROUTE_OP_ADD, "X-Route", "api"},
	};
	static const struct route_rule rules[] = {{.name = "o", .resp_ops = ops, .nr_resp_ops = 3}};
	static const char rsp[] = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n"
				  "Cache-Control: private\r\nSERVER: y\r\n\r\n";
	static const char want[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
				   "Cache-Control: no-store\r\nX-Route: api\r\n\r\n";
	struct route_table *t = mk(rules, 1);
	struct h1_msg *m = malloc(sizeof(*m));
	struct h1_fieldset drop = {0};
	struct h1_hdr add[2];
	char out[256];
	size_t nr = 0, olen = 0;

	(void)state;
	assert_non_null(m);
	h1_msg_init(m, NULL);
	assert_int_equal(h1_parse_response(m, rsp, strlen(rsp), H1_METH_GET), 0);
	/* two SET/ADD ops: two slots are enough for a response (no Host fix) */
	assert_int_equal(route_resp_ops(t, 0, m, rsp, &drop, add, 2, &nr), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(fieldset_count(&drop), 3);
	assert_true(h1_fieldset_has(&drop, 0));
	assert_true(h1_fieldset_has(&drop, 2));
	assert_true(h1_fieldset_has(&drop, 3));
	assert_int_equal(
	    h1_write_head(m, rsp, &(struct h1_rewrite){.drop = &drop, .add = add, .nr_add = nr},
			  out, sizeof(out), &olen),
	    0);
	assert_int_equal(olen, strlen(want));
	assert_memory_equal(out, want, olen);
	/* request ops on a response, response ops on a request: refused */
	assert_int_equal(route_req_ops(t, 0, m, rsp, &drop, add, 2, &nr), -EINVAL);
	free(m);
	route_table_free(t);
}

static void test_ops_nospace(void **state)
{
	static const struct route_hdr_op ops[] = {
	    {ROUTE_OP_SET, "X-A", "1"},
	    {ROUTE_OP_REMOVE, "X-B", NULL},
	    {ROUTE_OP_ADD, "X-C", "2"},
	};
	static const struct route_rule rules[] = {
	    {.name = "o", .req_ops = ops, .nr_req_ops = 3, .resp_ops = ops, .nr_resp_ops = 3},
	    {.name = "none"},
	};
	static const char rsp[] = "HTTP/1.1 204 No Content\r\nX-B: 1\r\n\r\n";
	struct route_table *t = mk(rules, 2);
	struct rq *q = rq_new("GET / HTTP/1.1\r\nHost: h\r\nX-A: 0\r\nX-B: 0\r\n\r\n");
	struct h1_msg *m = malloc(sizeof(*m));
	struct h1_fieldset drop = {0}, zero = {0};
	struct h1_hdr add[3];
	size_t nr = 0;

	(void)state;
	assert_non_null(m);
	/* request: 2 SET/ADD + 1 for Host */
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 2, &nr), -ENOSPC);
	assert_int_equal(nr, 3);
	assert_memory_equal(&drop, &zero, sizeof(drop));
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, NULL, 0, &nr), -ENOSPC);
	assert_int_equal(nr, 3);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 3, &nr), 0);
	assert_int_equal(nr, 2);
	/* no ops: still one slot for the Host fix */
	assert_int_equal(route_req_ops(t, 1, &q->m, q->buf, &drop, NULL, 0, &nr), -ENOSPC);
	assert_int_equal(nr, 1);
	/* response: just the SET/ADD ops */
	h1_msg_init(m, NULL);
	assert_int_equal(h1_parse_response(m, rsp, strlen(rsp), H1_METH_GET), 0);
	memset(&drop, 0, sizeof(drop));
	assert_int_equal(route_resp_ops(t, 0, m, rsp, &drop, add, 1, &nr), -ENOSPC);
	assert_int_equal(nr, 2);
	assert_memory_equal(&drop, &zero, sizeof(drop));
	assert_int_equal(route_resp_ops(t, 1, m, rsp, &drop, NULL, 0, &nr), 0);
	assert_int_equal(nr, 0);
	free(m);
	free(q);
	route_table_free(t);
}

static void test_ops_invalid(void **state)
{
	static const struct route_rule rules[] = {{.name = "none"}};
	struct route_table *t = mk(rules, 1);
	struct rq *q = rq_new(GET("/", "h"));
	struct h1_fieldset drop = {0};
	struct h1_hdr add[2];
	size_t nr;

	(void)state;
	assert_int_equal(route_req_ops(NULL, 0, &q->m, q->buf, &drop, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 1, &q->m, q->buf, &drop, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, -1, &q->m, q->buf, &drop, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 0, NULL, q->buf, &drop, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 0, &q->m, NULL, &drop, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, NULL, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, NULL, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 2, NULL), -EINVAL);
	assert_int_equal(route_resp_ops(t, 0, &q->m, q->buf, &drop, add, 2, &nr), -EINVAL);
	assert_int_equal(route_req_ops(t, 0, &q->m, q->buf, &drop, add, 2, &nr), 0);
	assert_int_equal(nr, 0);
	free(q);
	route_table_free(t);
}

/* ----------------------------------------------------------------- main */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_table_basics),
    cmocka_unit_test(test_table_empty),
    cmocka_unit_test(test_table_rules_null),
    cmocka_unit_test(test_table_err_buffer),
    cmocka_unit_test(test_table_first_error),
    cmocka_unit_test(test_table_deep_copy),
    cmocka_unit_test(test_table_stores_normalized),
    cmocka_unit_test(test_table_ops_limit),
    cmocka_unit_test(test_table_set_host_values),
    cmocka_unit_test(test_host_exact),
    cmocka_unit_test(test_host_exact_rule_case_dot),
    cmocka_unit_test(test_host_wildcard),
    cmocka_unit_test(test_host_ip_literals),
    cmocka_unit_test(test_host_absolute_form),
    cmocka_unit_test(test_path_exact),
    cmocka_unit_test(test_path_prefix),
    cmocka_unit_test(test_path_dot_segments_acl),
    cmocka_unit_test(test_path_regex),
    cmocka_unit_test(test_path_pathless_forms),
    cmocka_unit_test(test_path_idempotent),
    cmocka_unit_test(test_methods),
    cmocka_unit_test(test_methods_all_bits),
    cmocka_unit_test(test_hdr_present),
    cmocka_unit_test(test_hdr_value),
    cmocka_unit_test(test_hdr_negate),
    cmocka_unit_test(test_hdr_all_must_hold),
    cmocka_unit_test(test_first_match_wins),
    cmocka_unit_test(test_target_plain),
    cmocka_unit_test(test_target_rewrite),
    cmocka_unit_test(test_target_rewrite_refused),
    cmocka_unit_test(test_target_nospace),
    cmocka_unit_test(test_target_invalid),
    cmocka_unit_test(test_prepare_scratch),
    cmocka_unit_test(test_prepare_invalid),
    cmocka_unit_test(test_ops_set_add_remove),
    cmocka_unit_test(test_ops_in_order),
    cmocka_unit_test(test_ops_round_trip),
    cmocka_unit_test(test_ops_host_fix),
    cmocka_unit_test(test_ops_response),
    cmocka_unit_test(test_ops_nospace),
    cmocka_unit_test(test_ops_invalid),
};

int main(void)
{
	size_t n = 0, i,
	       cap = ARRAY_SIZE(norm_cases) + ARRAY_SIZE(bad_cases) + ARRAY_SIZE(fixed_tests);
	struct CMUnitTest *t = calloc(cap, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	/* One cmocka test per table row, so a failure names its row. */
	for (i = 0; i < ARRAY_SIZE(norm_cases); i++)
		t[n++] = (struct CMUnitTest){.name = norm_cases[i].name,
					     .test_func = run_norm_case,
					     .initial_state = (void *)&norm_cases[i]};
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		t[n++] = (struct CMUnitTest){.name = bad_cases[i].name,
					     .test_func = run_bad_case,
					     .initial_state = (void *)&bad_cases[i]};
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		t[n++] = fixed_tests[i];
	rc = _cmocka_run_group_tests("route", t, n, NULL, NULL);
	free(t);
	return rc;
}
