// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/1.1 parser tests. Three tables - requests, responses, chunked bodies -
 * each row {input, expected verdict and status, expected view}; every row is
 * one cmocka test, and every row is also fed one byte at a time and in every
 * two-way split (each piece in a buffer of exactly its size, so ASan sees
 * any read past what was given): the verdict and the view must not change.
 * Every accepted head is re-serialized and must parse back to the same view.
 * Then the limits, each at N and N+1, pipelining, the body tracker, the
 * writer and the hop-by-hop helper.
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest input whose splits are all tried (quadratic). */
#define SPLIT_MAX 2048

/* ---------------------------------------------------------------- helpers */

static int parse_n(struct h1_msg *m, const char *in, size_t n, bool rsp, enum h1_meth rm)
{
	/* An exact-size copy: ASan catches a read past n, the view must not care. */
	char *b = malloc(n ? n : 1);
	int rc;

	assert_non_null(b);
	memcpy(b, in, n);
	rc = rsp ? h1_parse_response(m, b, n, rm) : h1_parse_request(m, b, n);
	free(b);
	return rc;
}

static void assert_span_eq(struct h1_span a, struct h1_span b)
{
	assert_int_equal(a.off, b.off);
	assert_int_equal(a.len, b.len);
}

/* Same verdict and same view, offsets included (same buffer). */
static void assert_same_msg(const struct h1_msg *a, const struct h1_msg *b)
{
	uint32_t i;

	assert_int_equal(a->err, b->err);
	assert_int_equal(a->err_status, b->err_status);
	assert_int_equal(a->head_len, b->head_len);
	if (a->err || !a->head_len)
		return;
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->meth, b->meth);
	assert_span_eq(a->method, b->method);
	assert_span_eq(a->target, b->target);
	assert_int_equal(a->form, b->form);
	assert_span_eq(a->authority, b->authority);
	assert_span_eq(a->path, b->path);
	assert_int_equal(a->status, b->status);
	assert_span_eq(a->reason, b->reason);
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->host, b->host);
	assert_int_equal(a->nr_fields, b->nr_fields);
	for (i = 0; i < a->nr_fields; i++) {
		assert_span_eq(a->fields[i].name, b->fields[i].name);
		assert_span_eq(a->fields[i].value, b->fields[i].value);
	}
}

static bool span_text_eq(const char *ab, struct h1_span a, const char *bb, struct h1_span b)
{
	return a.len == b.len && !memcmp(ab + a.off, bb + b.off, a.len);
}

/* Same view read from two buffers: compared as text, offsets aside. */
static void assert_same_text(const struct h1_msg *a, const char *ab, const struct h1_msg *b,
			     const char *bb)
{
	uint32_t i;

	assert_int_equal(a->version, b->version);
	assert_int_equal(a->meth, b->meth);
	assert_true(span_text_eq(ab, a->method, bb, b->method));
	assert_true(span_text_eq(ab, a->target, bb, b->target));
	assert_int_equal(a->form, b->form);
	assert_true(span_text_eq(ab, a->authority, bb, b->authority));
	assert_true(span_text_eq(ab, a->path, bb, b->path));
	assert_int_equal(a->status, b->status);
	assert_true(span_text_eq(ab, a->reason, bb, b->reason));
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->host, b->host);
	assert_int_equal(a->nr_fields, b->nr_fields);
	for (i = 0; i < a->nr_fields; i++) {
		assert_true(span_text_eq(ab, a->fields[i].name, bb, b->fields[i].name));
		assert_true(span_text_eq(ab, a->fields[i].value, bb, b->fields[i].value));
	}
}

/* Written back out, a head must parse to the same view. */
static void assert_reserializes(const struct h1_msg *m, const char *buf,
				const struct h1_limits *lim)
{
	size_t cap = m->head_len + 64, n = 0;
	char *out = malloc(cap);
	struct h1_msg *m2 = malloc(sizeof(*m2));

	assert_non_null(out);
	assert_non_null(m2);
	assert_int_equal(h1_write_head(m, buf, NULL, out, cap, &n), 0);
	assert_true(n <= m->head_len + 2);
	h1_msg_init(m2, lim);
	assert_int_equal(parse_n(m2, out, n, m->response, m->meth), 0);
	assert_int_equal(m2->head_len, n);
	assert_same_text(m, buf, m2, out);
	free(m2);
	free(out);
}

/*
 * Parses in whole, one byte more per call, and split in two at every point:
 * all must agree. Returns the whole-buffer verdict; *m holds its view.
 */
static int parse_all_ways(struct h1_msg *m, const char *in, size_t len, bool rsp, enum h1_meth rm,
			  const struct h1_limits *lim)
{
	struct h1_msg *s = malloc(sizeof(*s));
	int rc, rc2;
	size_t i, k;

	assert_non_null(s);
	h1_msg_init(m, lim);
	rc = parse_n(m, in, len, rsp, rm);
	/* Calling again changes nothing. */
	assert_int_equal(parse_n(m, in, len, rsp, rm), rc);

	if (len <= SPLIT_MAX) {
		h1_msg_init(s, lim);
		rc2 = -EAGAIN;
		for (i = 0; i <= len && rc2 == -EAGAIN; i++)
			rc2 = parse_n(s, in, i, rsp, rm);
		assert_int_equal(rc2, rc);
		assert_same_msg(m, s);

		for (k = 1; k < len; k++) {
			h1_msg_init(s, lim);
			rc2 = parse_n(s, in, k, rsp, rm);
			if (rc2 == -EAGAIN)
				rc2 = parse_n(s, in, len, rsp, rm);
			assert_int_equal(rc2, rc);
			assert_same_msg(m, s);
		}
	}
	free(s);
	return rc;
}

/* "name: value\n" for each field, to compare with a row's expectation. */
static char *fields_text(const struct h1_msg *m, const char *buf)
{
	size_t n = 1, o = 0;
	uint32_t i;
	char *s;

	for (i = 0; i < m->nr_fields; i++)
		n += m->fields[i].name.len + m->fields[i].value.len + 3;
	s = malloc(n);
	assert_non_null(s);
	for (i = 0; i < m->nr_fields; i++) {
		o += sprintf(s + o, "%.*s: %.*s\n", (int)m->fields[i].name.len,
			     buf + m->fields[i].name.off, (int)m->fields[i].value.len,
			     buf + m->fields[i].value.off);
	}
	s[o] = '\0';
	return s;
}

static void assert_span_str(const char *buf, struct h1_span s, const char *want)
{
	if (!want)
		return;
	if (strlen(want) != s.len || memcmp(buf + s.off, want, s.len))
		fail_msg("span \"%.*s\", want \"%s\"", (int)s.len, buf + s.off, want);
}

/* ----------------------------------------------------------- head tables */

struct head_case {
	const char *name;
	const char *in;
	size_t len;
	size_t head_len;   /* 0: len */
	enum h1_meth meth; /* responses: the request's method */
	int rc;		   /* 0, -EAGAIN, -EBADMSG */
	enum h1_err err;
	int status; /* err_status */
	enum h1_body_mode body;
	uint64_t cl;
	uint32_t set; /* flags that must be set */
	uint32_t clr; /* flags that must be clear */
	const char *fields;
	const char *target, *authority, *path, *reason;
	int form; /* 0: not checked, else enum h1_form + 1 */
	int code; /* response status, 0: not checked */
};

#define HOST "Host: a\r\n"
#define G11  "GET / HTTP/1.1\r\n"
#define KA   H1_F_KEEPALIVE

/* An accepted head that is the whole input. */
#define OK(n, in_, ...)                                                                            \
	{                                                                                          \
		.name = n, .in = in_, .len = sizeof(in_) - 1, .rc = 0, __VA_ARGS__                 \
	}
/* An accepted head followed by tail (a body, the next message). */
#define OKT(n, head_, tail_, ...)                                                                  \
	{                                                                                          \
		.name = n, .in = head_ tail_, .len = sizeof(head_ tail_) - 1,                      \
		.head_len = sizeof(head_) - 1, .rc = 0, __VA_ARGS__                                \
	}
#define MORE(n, in_)                                                                               \
	{                                                                                          \
		.name = n, .in = in_, .len = sizeof(in_) - 1, .rc = -EAGAIN                        \
	}
#define BAD(n, in_, e_, st_)                                                                       \
	{                                                                                          \
		.name = n, .in = in_, .len = sizeof(in_) - 1, .rc = -EBADMSG, .err = e_,           \
		.status = st_                                                                      \
	}
#define FORM(f) .form = (f) + 1

static const struct head_case req_cases[] = {
    /* accepted: framing, connection, forms */
    OK("req/get", G11 HOST "\r\n", .set = KA, .fields = "Host: a\n", .target = "/", .path = "/",
       .authority = "a", FORM(H1_FORM_ORIGIN)),
    OK("req/http10-no-host", "GET / HTTP/1.0\r\n\r\n", .clr = KA, .authority = ""),
    OK("req/http10-keepalive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       .set = KA | H1_F_CONN_KEEPALIVE),
    OK("req/http10-keepalive-case", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .set = KA),
    OK("req/http10-keepalive-and-close",
       "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
       .set = H1_F_CONN_CLOSE | H1_F_CONN_KEEPALIVE, .clr = KA),
    OK("req/http11-close", G11 HOST "Connection: close\r\n\r\n", .set = H1_F_CONN_CLOSE, .clr = KA),
    OK("req/http11-keepalive-close-list", G11 HOST "Connection: keep-alive, close\r\n\r\n",
       .clr = KA),
    OK("req/connection-empty-elements", G11 HOST "Connection: ,, close ,\r\n\r\n", .clr = KA),
    OK("req/connection-empty", G11 HOST "Connection:\r\n\r\n", .set = KA),
    OK("req/connection-other-token", G11 HOST "Connection: x-foo\r\n\r\n", .set = KA),
    OKT("req/post-cl", "POST /p HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n", "hello",
	.body = H1_BODY_LENGTH, .cl = 5, .set = KA),
    OK("req/cl-zero", G11 HOST "Content-Length: 0\r\n\r\n", .body = H1_BODY_LENGTH, .cl = 0),
    OK("req/cl-leading-zeros", G11 HOST "Content-Length: 007\r\n\r\n", .body = H1_BODY_LENGTH,
       .cl = 7),
    OK("req/cl-max", G11 HOST "Content-Length: 9223372036854775807\r\n\r\n", .body = H1_BODY_LENGTH,
       .cl = INT64_MAX),
    OK("req/cl-ows-trimmed", G11 HOST "Content-Length: \t 5 \t\r\n\r\n", .body = H1_BODY_LENGTH,
       .cl = 5, .fields = "Host: a\nContent-Length: 5\n"),
    OK("req/cl-name-case", G11 HOST "content-LENGTH: 5\r\n\r\n", .body = H1_BODY_LENGTH, .cl = 5),
    OKT("req/te-chunked", G11 HOST "Transfer-Encoding: chunked\r\n\r\n", "0\r\n\r\n",
	.body = H1_BODY_CHUNKED, .set = KA),
    OK("req/te-chunked-case", G11 HOST "transfer-encoding: Chunked\r\n\r\n",
       .body = H1_BODY_CHUNKED),
    OK("req/te-htab-ows-valid", G11 HOST "Transfer-Encoding:\tchunked\r\n\r\n",
       .body = H1_BODY_CHUNKED, .fields = "Host: a\nTransfer-Encoding: chunked\n"),
    OK("req/te-empty-elements", G11 HOST "Transfer-Encoding: , chunked ,\r\n\r\n",
       .body = H1_BODY_CHUNKED),
    OK("req/value-inner-ows-kept", G11 HOST "X-A:   v  v  \t\r\n\r\n",
       .fields = "Host: a\nX-A: v  v\n"),
    OK("req/value-empty", G11 HOST "X-E:\r\n\r\n", .fields = "Host: a\nX-E: \n"),
    OK("req/value-only-ows", G11 HOST "X-E: \t \r\n\r\n", .fields = "Host: a\nX-E: \n"),
    OK("req/value-obs-text", G11 HOST "X-O: caf\xc3\xa9\r\n\r\n",
       .fields = "Host: a\nX-O: caf\xc3\xa9\n"),
    OK("req/value-quotes-commas", G11 HOST "X-Q: \"a, b\"; c=d\r\n\r\n"),
    OK("req/fields-duplicates-kept", G11 HOST "X: 1\r\nX: 2\r\n\r\n",
       .fields = "Host: a\nX: 1\nX: 2\n"),
    OK("req/field-name-all-tchars", G11 HOST "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"),
    OK("req/leading-crlf", "\r\n" G11 HOST "\r\n", .target = "/"),
    OK("req/leading-crlf-4", "\r\n\r\n\r\n\r\n" G11 HOST "\r\n", .target = "/"),
    OK("req/options-asterisk", "OPTIONS * HTTP/1.1\r\n" HOST "\r\n", FORM(H1_FORM_ASTERISK),
       .meth = H1_METH_OPTIONS, .path = "", .authority = "a"),
    OK("req/connect-authority", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
       FORM(H1_FORM_AUTHORITY), .authority = "a.example:443", .clr = H1_F_HOST_DIFFERS),
    OK("req/connect-ipv6", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
       FORM(H1_FORM_AUTHORITY), .authority = "[2001:db8::1]:443"),
    OK("req/connect-host-differs", "CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n",
       .set = H1_F_HOST_DIFFERS, .authority = "a:443"),
    OK("req/absolute-form", "GET http://a.example/p?q HTTP/1.1\r\nHost: a.example\r\n\r\n",
       FORM(H1_FORM_ABSOLUTE), .authority = "a.example", .path = "/p?q", .clr = H1_F_HOST_DIFFERS),
    OK("req/absolute-host-differs", "GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
       .authority = "a.example", .set = H1_F_HOST_DIFFERS),
    OK("req/absolute-host-empty-differs", "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n",
       .authority = "a", .set = H1_F_HOST_DIFFERS),
    OK("req/absolute-https-case", "GET HTTPS://A.example HTTP/1.1\r\nHost: a.EXAMPLE\r\n\r\n",
       .authority = "A.example", .path = "", .clr = H1_F_HOST_DIFFERS),
    OK("req/absolute-port-query", "GET http://a:8080?x HTTP/1.1\r\nHost: a:8080\r\n\r\n",
       .authority = "a:8080", .path = "?x"),
    OK("req/absolute-http10-no-host", "GET http://a/ HTTP/1.0\r\n\r\n", .authority = "a",
       .set = H1_F_HOST_DIFFERS),
    OK("req/expect-continue", "PUT / HTTP/1.1\r\n" HOST "Expect: 100-Continue\r\n\r\n",
       .set = H1_F_EXPECT_CONTINUE, .meth = H1_METH_PUT),
    OK("req/expect-continue-http10", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
       .clr = H1_F_EXPECT_CONTINUE),
    OK("req/expect-other-ignored", G11 HOST "Expect: foo\r\n\r\n", .clr = H1_F_EXPECT_CONTINUE),
    OK("req/upgrade-websocket", G11 HOST "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
       .set = H1_F_UPGRADE | H1_F_CONN_UPGRADE | KA),
    OK("req/upgrade-without-connection", G11 HOST "Upgrade: websocket\r\n\r\n",
       .clr = H1_F_UPGRADE),
    OK("req/upgrade-http10-ignored",
       "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", .clr = H1_F_UPGRADE),
    OK("req/host-empty", G11 "Host:\r\n\r\n", .authority = ""),
    OK("req/host-ipv4-port", G11 "Host: 10.0.0.1:80\r\n\r\n", .authority = "10.0.0.1:80"),
    OK("req/host-ipv6", G11 "Host: [::1]\r\n\r\n", .authority = "[::1]"),
    OK("req/host-pct-encoded", G11 "Host: a%41b\r\n\r\n"),
    OK("req/host-trailing-dot-port-0", G11 "Host: a.example.:0\r\n\r\n"),
    OK("req/method-other", "PURGE / HTTP/1.1\r\n" HOST "\r\n", .meth = H1_METH_OTHER),
    OK("req/method-lowercase-is-other", "get / HTTP/1.1\r\n" HOST "\r\n", .meth = H1_METH_OTHER),
    OK("req/method-head", "HEAD / HTTP/1.1\r\n" HOST "\r\n", .meth = H1_METH_HEAD),
    OK("req/method-delete", "DELETE /x HTTP/1.1\r\n" HOST "\r\n", .meth = H1_METH_DELETE),
    OK("req/method-patch", "PATCH /x HTTP/1.1\r\n" HOST "\r\n", .meth = H1_METH_PATCH),
    OK("req/method-trace", "TRACE /x HTTP/1.1\r\n" HOST "\r\n", .meth = H1_METH_TRACE),
    OK("req/target-odd-vchars", "GET /a|b{c}\"d^`\\ HTTP/1.1\r\n" HOST "\r\n",
       .target = "/a|b{c}\"d^`\\"),
    OKT("req/pipelined-next-not-read", G11 HOST "\r\n", "GET /2 HTTP/1.1\r\n" HOST "\r\n"),
    OKT("req/garbage-after-head-not-read", G11 HOST "\r\n", "\x01\x02 not http\n"),
    OK("req/value-te-like-in-other-field", G11 HOST "X-T: foo;x=\"a, chunked\"\r\n\r\n"),

    /* need more */
    MORE("req/more-empty", ""),
    MORE("req/more-partial-line", "GET / HTT"),
    MORE("req/more-no-final-crlf", G11 HOST),
    MORE("req/more-cr-only", G11 HOST "\r"),
    MORE("req/more-only-crlfs", "\r\n\r\n\r\n\r\n"),

    /* request line */
    BAD("req/version-lowercase", "GET / http/1.1\r\n" HOST "\r\n", H1_ERR_VERSION, 400),
    BAD("req/version-http2", "GET / HTTP/2.0\r\n" HOST "\r\n", H1_ERR_VERSION_UNSUPPORTED, 505),
    BAD("req/version-http12", "GET / HTTP/1.2\r\n" HOST "\r\n", H1_ERR_VERSION_UNSUPPORTED, 505),
    BAD("req/version-http09", "GET / HTTP/0.9\r\n\r\n", H1_ERR_VERSION_UNSUPPORTED, 505),
    BAD("req/version-trailing-garbage", "GET / HTTP/1.1x\r\n" HOST "\r\n", H1_ERR_VERSION, 400),
    BAD("req/version-short", "GET / HTTP/1\r\n" HOST "\r\n", H1_ERR_VERSION, 400),
    BAD("req/version-two-digit-major", "GET / HTTP/11.1\r\n" HOST "\r\n", H1_ERR_VERSION, 400),
    BAD("req/version-missing-http09", "GET /\r\n\r\n", H1_ERR_REQUEST_LINE, 400),
    BAD("req/version-empty", "GET / \r\n\r\n", H1_ERR_VERSION, 400),
    BAD("req/double-sp-after-method", "GET  / HTTP/1.1\r\n" HOST "\r\n", H1_ERR_REQUEST_LINE, 400),
    BAD("req/double-sp-before-version", "GET /  HTTP/1.1\r\n" HOST "\r\n", H1_ERR_REQUEST_LINE,
	400),
    BAD("req/trailing-sp", "GET / HTTP/1.1 \r\n" HOST "\r\n", H1_ERR_REQUEST_LINE, 400),
    BAD("req/leading-sp", " GET / HTTP/1.1\r\n" HOST "\r\n", H1_ERR_REQUEST_LINE, 400),
    BAD("req/htab-separator", "GET\t/ HTTP/1.1\r\n" HOST "\r\n", H1_ERR_REQUEST_LINE, 400),
    BAD("req/method-only", "GET\r\n\r\n", H1_ERR_REQUEST_LINE, 400),
    BAD("req/method-bad-char", "GE(T / HTTP/1.1\r\n" HOST "\r\n", H1_ERR_METHOD, 400),
    BAD("req/method-ctl", "G\x01T / HTTP/1.1\r\n" HOST "\r\n", H1_ERR_METHOD, 400),
    BAD("req/method-obs-text", "G\xc3\xa9T / HTTP/1.1\r\n" HOST "\r\n", H1_ERR_METHOD, 400),
    BAD("req/target-htab", "GET /a\tb HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/target-del", "GET /\x7f HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/target-nul", "GET /\0 HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/target-cr", "GET /\r HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/target-fragment", "GET /a#b HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/target-obs-text", "GET /\xff HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/target-relative", "GET a/b HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/asterisk-with-get", "GET * HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET_FORM, 400),
    BAD("req/asterisk-prefix", "OPTIONS *x HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/connect-origin-form", "CONNECT / HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET_FORM, 400),
    BAD("req/connect-absolute-form", "CONNECT http://a:1/ HTTP/1.1\r\n" HOST "\r\n",
	H1_ERR_TARGET_FORM, 400),
    BAD("req/connect-asterisk", "CONNECT * HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET_FORM, 400),
    BAD("req/connect-no-port", "CONNECT a.example HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/connect-empty-port", "CONNECT a: HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/authority-form-with-get", "GET a.example:80 HTTP/1.1\r\n" HOST "\r\n",
	H1_ERR_TARGET_FORM, 400),
    BAD("req/absolute-ftp-scheme", "GET ftp://a/ HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/absolute-userinfo", "GET http://u:p@a/ HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/absolute-empty-host", "GET http:///p HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),
    BAD("req/absolute-bad-port", "GET http://a:99999/ HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET,
	400),
    BAD("req/absolute-no-slashes", "GET http:a/ HTTP/1.1\r\n" HOST "\r\n", H1_ERR_TARGET, 400),

    /* line endings */
    BAD("req/bare-lf-request-line", "GET / HTTP/1.1\n" HOST "\r\n", H1_ERR_BARE_LF, 400),
    BAD("req/bare-lf-field", G11 "Host: a\n\r\n", H1_ERR_BARE_LF, 400),
    BAD("req/bare-lf-end", G11 HOST "\n", H1_ERR_BARE_LF, 400),
    BAD("req/bare-lf-leading", "\n" G11 HOST "\r\n", H1_ERR_BARE_LF, 400),
    BAD("req/cr-cr-lf-end", G11 HOST "\r\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/empty-lines-5", "\r\n\r\n\r\n\r\n\r\n" G11 HOST "\r\n", H1_ERR_EMPTY_LINES, 400),

    /* field lines */
    BAD("req/space-before-colon", G11 "Host : a\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/htab-before-colon", G11 HOST "X-A\t: v\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/empty-name", G11 HOST ": v\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/no-colon", G11 HOST "X-A v\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/name-bad-char", G11 HOST "X(A): v\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/name-obs-text", G11 HOST "X\xff: v\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/name-nul", G11 HOST "X\0: v\r\n\r\n", H1_ERR_FIELD_NAME, 400),
    BAD("req/value-cr", G11 HOST "X: a\rb\r\n\r\n", H1_ERR_FIELD_VALUE, 400),
    BAD("req/value-nul", G11 HOST "X: a\0b\r\n\r\n", H1_ERR_FIELD_VALUE, 400),
    BAD("req/value-ctl", G11 HOST "X: a\x01\r\n\r\n", H1_ERR_FIELD_VALUE, 400),
    BAD("req/value-esc", G11 HOST "X: \x1b[31m\r\n\r\n", H1_ERR_FIELD_VALUE, 400),
    BAD("req/value-del", G11 HOST "X: a\x7f\r\n\r\n", H1_ERR_FIELD_VALUE, 400),
    BAD("req/value-vt-before-te",
	G11 HOST "Transfer-Encoding:\x0b"
		 "chunked\r\n\r\n",
	H1_ERR_FIELD_VALUE, 400),
    BAD("req/obs-fold-sp", G11 HOST "X: a\r\n b\r\n\r\n", H1_ERR_OBS_FOLD, 400),
    BAD("req/obs-fold-htab", G11 HOST "X: a\r\n\tb\r\n\r\n", H1_ERR_OBS_FOLD, 400),
    BAD("req/ws-before-first-field", G11 " " HOST "\r\n", H1_ERR_OBS_FOLD, 400),
    BAD("req/connection-not-token", G11 HOST "Connection: close;x\r\n\r\n", H1_ERR_CONNECTION, 400),
    BAD("req/connection-quoted", G11 HOST "Connection: \"close\"\r\n\r\n", H1_ERR_CONNECTION, 400),
    BAD("req/connection-space-list", G11 HOST "Connection: close keep-alive\r\n\r\n",
	H1_ERR_CONNECTION, 400),

    /* Host */
    BAD("req/host-missing", G11 "\r\n", H1_ERR_HOST_MISSING, 400),
    BAD("req/host-missing-absolute", "GET http://a/ HTTP/1.1\r\n\r\n", H1_ERR_HOST_MISSING, 400),
    BAD("req/host-missing-connect", "CONNECT a:1 HTTP/1.1\r\n\r\n", H1_ERR_HOST_MISSING, 400),
    BAD("req/host-dup", G11 "Host: a\r\nHost: b\r\n\r\n", H1_ERR_HOST_DUP, 400),
    BAD("req/host-dup-same-value", G11 HOST HOST "\r\n", H1_ERR_HOST_DUP, 400),
    BAD("req/host-dup-case", G11 "Host: a\r\nhOST: a\r\n\r\n", H1_ERR_HOST_DUP, 400),
    BAD("req/host-dup-http10", "GET / HTTP/1.0\r\n" HOST HOST "\r\n", H1_ERR_HOST_DUP, 400),
    BAD("req/host-dup-empty", G11 "Host:\r\nHost:\r\n\r\n", H1_ERR_HOST_DUP, 400),
    BAD("req/host-userinfo", G11 "Host: u@a\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-list", G11 "Host: a, b\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-comma-no-space", G11 "Host: a,b\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-space", G11 "Host: a b\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-port-alpha", G11 "Host: a:x\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-port-too-big", G11 "Host: a:65536\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-port-6-digits", G11 "Host: a:000080\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-port-empty", G11 "Host: a:\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-bad-pct", G11 "Host: a%4\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-ipv6-unclosed", G11 "Host: [::1\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-ipv6-bad-char", G11 "Host: [::g]\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-slash", G11 "Host: a/b\r\n\r\n", H1_ERR_HOST_INVALID, 400),
    BAD("req/host-absolute-invalid", "GET http://a/ HTTP/1.1\r\nHost: a b\r\n\r\n",
	H1_ERR_HOST_INVALID, 400),

    /* Content-Length */
    BAD("req/cl-dup-equal", G11 HOST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
	H1_ERR_CL_DUP, 400),
    BAD("req/cl-dup-differ", G11 HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
	H1_ERR_CL_DUP, 400),
    BAD("req/cl-list-equal", G11 HOST "Content-Length: 5, 5\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-list-differ", G11 HOST "Content-Length: 5, 6\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-plus", G11 HOST "Content-Length: +5\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-minus", G11 HOST "Content-Length: -5\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-inner-space", G11 HOST "Content-Length: 5 5\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-inner-htab", G11 HOST "Content-Length: 1\t0\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-hex", G11 HOST "Content-Length: 0x5\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-empty", G11 HOST "Content-Length:\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-overflow-2^63", G11 HOST "Content-Length: 9223372036854775808\r\n\r\n",
	H1_ERR_CL_INVALID, 400),
    BAD("req/cl-overflow-2^64", G11 HOST "Content-Length: 18446744073709551616\r\n\r\n",
	H1_ERR_CL_INVALID, 400),
    BAD("req/cl-decimal", G11 HOST "Content-Length: 5.0\r\n\r\n", H1_ERR_CL_INVALID, 400),
    BAD("req/cl-quoted", G11 HOST "Content-Length: \"5\"\r\n\r\n", H1_ERR_CL_INVALID, 400),

    /* Transfer-Encoding, and the smuggling classics */
    BAD("req/smuggle-cl-te",
	"POST / HTTP/1.1\r\n" HOST
	"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
	H1_ERR_CL_TE, 400),
    BAD("req/smuggle-te-cl",
	"POST / HTTP/1.1\r\n" HOST
	"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
	H1_ERR_CL_TE, 400),
    BAD("req/smuggle-cl0-te", G11 HOST "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
	H1_ERR_CL_TE, 400),
    BAD("req/smuggle-te-xchunked", G11 HOST "Transfer-Encoding: xchunked\r\n\r\n",
	H1_ERR_TE_NOT_CHUNKED, 400),
    BAD("req/smuggle-te-space-colon", G11 HOST "Transfer-Encoding : chunked\r\n\r\n",
	H1_ERR_FIELD_NAME, 400),
    BAD("req/smuggle-te-chunked-identity", G11 HOST "Transfer-Encoding: chunked, identity\r\n\r\n",
	H1_ERR_TE_NOT_CHUNKED, 400),
    BAD("req/smuggle-te-identity-chunked", G11 HOST "Transfer-Encoding: identity, chunked\r\n\r\n",
	H1_ERR_TE_UNSUPPORTED, 501),
    BAD("req/smuggle-te-dup-chunked",
	G11 HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	H1_ERR_TE_CHUNKED_TWICE, 400),
    BAD("req/smuggle-te-dup-then-other",
	G11 HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
	H1_ERR_TE_NOT_CHUNKED, 400),
    BAD("req/smuggle-te-dup-other-first",
	G11 HOST "Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	H1_ERR_TE_UNSUPPORTED, 501),
    BAD("req/smuggle-te-obs-fold", G11 HOST "Transfer-Encoding:\r\n chunked\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/smuggle-te-leading-space-line", G11 HOST " Transfer-Encoding: chunked\r\n\r\n",
	H1_ERR_OBS_FOLD, 400),
    BAD("req/smuggle-te-quoted", G11 HOST "Transfer-Encoding: \"chunked\"\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/smuggle-te-quoted-param-comma",
	G11 HOST "Transfer-Encoding: foo;x=\"a, chunked\"\r\n\r\n", H1_ERR_TE_NOT_CHUNKED, 400),
    BAD("req/smuggle-te-nul", G11 HOST "Transfer-Encoding: chunked\0\r\n\r\n", H1_ERR_FIELD_VALUE,
	400),
    /* a different field name (tchar '_'): Content-Length frames the body */
    OKT("req/smuggle-te-underscore-other-field",
	G11 HOST "Transfer_Encoding: chunked\r\nContent-Length: 1\r\n\r\n", "x",
	.body = H1_BODY_LENGTH, .cl = 1),
    BAD("req/te-chunked-twice-list", G11 HOST "Transfer-Encoding: chunked, chunked\r\n\r\n",
	H1_ERR_TE_CHUNKED_TWICE, 400),
    BAD("req/te-gzip-only", G11 HOST "Transfer-Encoding: gzip\r\n\r\n", H1_ERR_TE_NOT_CHUNKED, 400),
    BAD("req/te-gzip-chunked", G11 HOST "Transfer-Encoding: gzip, chunked\r\n\r\n",
	H1_ERR_TE_UNSUPPORTED, 501),
    BAD("req/te-unknown-chunked", G11 HOST "Transfer-Encoding: foo, chunked\r\n\r\n",
	H1_ERR_TE_UNSUPPORTED, 501),
    BAD("req/te-chunked-gzip", G11 HOST "Transfer-Encoding: chunked, gzip\r\n\r\n",
	H1_ERR_TE_NOT_CHUNKED, 400),
    BAD("req/te-params-501", G11 HOST "Transfer-Encoding: gzip;level=1, chunked\r\n\r\n",
	H1_ERR_TE_UNSUPPORTED, 501),
    BAD("req/te-param-bws-501", G11 HOST "Transfer-Encoding: gzip;a = 1 ; b=2, chunked\r\n\r\n",
	H1_ERR_TE_UNSUPPORTED, 501),
    BAD("req/te-param-quoted-pair-501",
	G11 HOST "Transfer-Encoding: gzip;a=\"x\\\"y, z\", chunked\r\n\r\n", H1_ERR_TE_UNSUPPORTED,
	501),
    BAD("req/te-param-no-eq", G11 HOST "Transfer-Encoding: gzip;a, chunked\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/te-param-no-value", G11 HOST "Transfer-Encoding: gzip;a=, chunked\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/te-param-backslash-end", G11 HOST "Transfer-Encoding: chunked, gzip;a=\"x\\\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/te-empty", G11 HOST "Transfer-Encoding:\r\n\r\n", H1_ERR_TE_INVALID, 400),
    BAD("req/te-commas-only", G11 HOST "Transfer-Encoding: , ,\r\n\r\n", H1_ERR_TE_INVALID, 400),
    BAD("req/te-chunked-param", G11 HOST "Transfer-Encoding: chunked;q=1\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/te-space-inside", G11 HOST "Transfer-Encoding: chun ked\r\n\r\n", H1_ERR_TE_INVALID,
	400),
    BAD("req/te-bad-param", G11 HOST "Transfer-Encoding: gzip;=1, chunked\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/te-unclosed-quote", G11 HOST "Transfer-Encoding: gzip;a=\"x, chunked\r\n\r\n",
	H1_ERR_TE_INVALID, 400),
    BAD("req/te-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", H1_ERR_TE_HTTP10,
	400),
    BAD("req/te-http10-with-cl",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	H1_ERR_TE_HTTP10, 400),
};

static const struct head_case rsp_cases[] = {
    OKT("rsp/200-cl", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "abc", .meth = H1_METH_GET,
	.body = H1_BODY_LENGTH, .cl = 3, .set = KA, .code = 200, .reason = "OK"),
    OK("rsp/200-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       .body = H1_BODY_CHUNKED, .set = KA, .clr = H1_F_TE_CODED),
    OK("rsp/200-close-delimited", "HTTP/1.1 200 OK\r\n\r\n", .body = H1_BODY_CLOSE, .clr = KA),
    OK("rsp/te-gzip-close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
       .body = H1_BODY_CLOSE, .set = H1_F_TE_CODED, .clr = KA),
    OK("rsp/te-gzip-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       .body = H1_BODY_CHUNKED, .set = H1_F_TE_CODED | KA),
    OK("rsp/te-chunked-gzip-close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       .body = H1_BODY_CLOSE, .clr = KA),
    OK("rsp/te-xchunked-close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n",
       .body = H1_BODY_CLOSE),
    OK("rsp/head-cl", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", .meth = H1_METH_HEAD,
       .body = H1_BODY_NONE, .set = KA),
    OK("rsp/head-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       .meth = H1_METH_HEAD, .body = H1_BODY_NONE, .set = KA),
    OK("rsp/head-no-framing", "HTTP/1.1 200 OK\r\n\r\n", .meth = H1_METH_HEAD, .body = H1_BODY_NONE,
       .set = KA),
    OK("rsp/204", "HTTP/1.1 204 No Content\r\n\r\n", .body = H1_BODY_NONE, .set = KA),
    OK("rsp/204-cl", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", .body = H1_BODY_NONE),
    OK("rsp/304-cl", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
       .body = H1_BODY_NONE, .set = KA),
    OK("rsp/100-continue", "HTTP/1.1 100 Continue\r\n\r\n", .body = H1_BODY_NONE, .code = 100),
    OK("rsp/101-upgrade",
       "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
       .body = H1_BODY_NONE, .set = H1_F_TUNNEL | H1_F_UPGRADE, .clr = KA),
    OK("rsp/connect-200-tunnel", "HTTP/1.1 200 Connection established\r\n\r\n",
       .meth = H1_METH_CONNECT, .body = H1_BODY_NONE, .set = H1_F_TUNNEL, .clr = KA),
    OK("rsp/connect-200-cl-ignored", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
       .meth = H1_METH_CONNECT, .body = H1_BODY_NONE, .set = H1_F_TUNNEL),
    OK("rsp/connect-407-cl", "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n",
       .meth = H1_METH_CONNECT, .body = H1_BODY_LENGTH, .cl = 2, .clr = H1_F_TUNNEL),
    OK("rsp/http10-cl", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", .body = H1_BODY_LENGTH,
       .cl = 2, .clr = KA),
    OK("rsp/http10-keepalive",
       "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
       .body = H1_BODY_LENGTH, .cl = 2, .set = KA),
    OK("rsp/http10-close-delimited", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
       .body = H1_BODY_CLOSE, .clr = KA),
    OK("rsp/connection-close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
       .body = H1_BODY_LENGTH, .clr = KA),
    OK("rsp/no-reason-no-sp", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", .reason = "",
       .body = H1_BODY_LENGTH, .code = 200),
    OK("rsp/empty-reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", .reason = "",
       .body = H1_BODY_LENGTH),
    OK("rsp/reason-spaces-obs-text", "HTTP/1.1 404 Not  Found \xe9\r\nContent-Length: 0\r\n\r\n",
       .reason = "Not  Found \xe9", .code = 404, .body = H1_BODY_LENGTH),
    OK("rsp/599", "HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n", .code = 599,
       .body = H1_BODY_LENGTH),
    OK("rsp/host-not-checked",
       "HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nContent-Length: 0\r\n\r\n",
       .body = H1_BODY_LENGTH),
    MORE("rsp/more", "HTTP/1.1 200 OK\r\n"),

    BAD("rsp/status-600", "HTTP/1.1 600 X\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/status-099", "HTTP/1.1 099 X\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/status-2-digits", "HTTP/1.1 20 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/status-4-digits", "HTTP/1.1 2000 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/status-alpha", "HTTP/1.1 2x0 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/status-sign", "HTTP/1.1 +20 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/version-http2", "HTTP/2.0 200 OK\r\n\r\n", H1_ERR_VERSION_UNSUPPORTED, 502),
    BAD("rsp/version-lowercase", "http/1.1 200 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/no-sp-after-version", "HTTP/1.1200 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/htab-after-version", "HTTP/1.1\t200 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/double-sp", "HTTP/1.1  200 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/reason-ctl", "HTTP/1.1 200 O\x01K\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/leading-crlf", "\r\nHTTP/1.1 200 OK\r\n\r\n", H1_ERR_STATUS_LINE, 502),
    BAD("rsp/bare-lf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", H1_ERR_BARE_LF, 502),
    BAD("rsp/obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", H1_ERR_OBS_FOLD, 502),
    BAD("rsp/cl-te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	H1_ERR_CL_TE, 502),
    BAD("rsp/te-http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_ERR_TE_HTTP10,
	502),
    BAD("rsp/cl-dup", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	H1_ERR_CL_DUP, 502),
    BAD("rsp/cl-invalid", "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n", H1_ERR_CL_INVALID, 502),
    BAD("rsp/te-chunked-twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	H1_ERR_TE_CHUNKED_TWICE, 502),
    BAD("rsp/te-invalid", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
	H1_ERR_TE_INVALID, 502),
    BAD("rsp/field-name", "HTTP/1.1 200 OK\r\nX y: 1\r\n\r\n", H1_ERR_FIELD_NAME, 502),
    BAD("rsp/field-value", "HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n", H1_ERR_FIELD_VALUE, 502),
    BAD("rsp/status-line-too-short", "HTTP/1.1\r\n\r\n", H1_ERR_STATUS_LINE, 502),
};

static void check_head_case(const struct head_case *c, bool rsp)
{
	struct h1_msg *m = malloc(sizeof(*m));
	char *got;
	int rc;

	assert_non_null(m);
	rc = parse_all_ways(m, c->in, c->len, rsp, c->meth, NULL);
	if (rc != c->rc)
		fail_msg("rc %d, want %d (err %s)", rc, c->rc, h1_err_str(m->err));
	if (rc == -EBADMSG) {
		if (m->err != c->err)
			fail_msg("err %s, want %s", h1_err_str(m->err), h1_err_str(c->err));
		assert_int_equal(m->err_status, c->status);
		assert_int_equal(h1_err_status(m->err, rsp), c->status);
	}
	if (rc) {
		free(m);
		return;
	}
	assert_int_equal(m->head_len, c->head_len ? c->head_len : c->len);
	assert_int_equal(m->response, rsp);
	assert_int_equal(m->body, c->body);
	if (c->body == H1_BODY_LENGTH)
		assert_int_equal(m->content_length, c->cl);
	if ((m->flags & c->set) != c->set || (m->flags & c->clr))
		fail_msg("flags %#x, want set %#x clear %#x", m->flags, c->set, c->clr);
	if (c->meth && !rsp)
		assert_int_equal(m->meth, c->meth);
	if (c->form)
		assert_int_equal(m->form, c->form - 1);
	if (c->code)
		assert_int_equal(m->status, c->code);
	assert_span_str(c->in, m->target, c->target);
	assert_span_str(c->in, m->authority, c->authority);
	assert_span_str(c->in, m->path, c->path);
	assert_span_str(c->in, m->reason, c->reason);
	if (c->fields) {
		got = fields_text(m, c->in);
		assert_string_equal(got, c->fields);
		free(got);
	}
	assert_reserializes(m, c->in, NULL);
	free(m);
}

static void run_req_case(void **state)
{
	check_head_case(*state, false);
}

static void run_rsp_case(void **state)
{
	check_head_case(*state, true);
}

/* -------------------------------------------------------- chunked table */

struct chunk_case {
	const char *name;
	const char *in;
	size_t len;
	int done;	 /* 1: body complete, 0: needs more, -1: refused */
	enum h1_err err; /* when refused */
	const char *data;
	size_t data_len;
	size_t consumed; /* 0: len (when done or needs more) */
	uint32_t nr_trailers;
};

#define CK_OK(n, in_, data_, ...)                                                                  \
	{                                                                                          \
		.name = "chunk/" n, .in = in_, .len = sizeof(in_) - 1, .done = 1, .data = data_,   \
		.data_len = sizeof(data_) - 1, __VA_ARGS__                                         \
	}
#define CK_MORE(n, in_, data_)                                                                     \
	{                                                                                          \
		.name = "chunk/" n, .in = in_, .len = sizeof(in_) - 1, .data = data_,              \
		.data_len = sizeof(data_) - 1                                                      \
	}
#define CK_BAD(n, in_, e_)                                                                         \
	{                                                                                          \
		.name = "chunk/" n, .in = in_, .len = sizeof(in_) - 1, .done = -1, .err = e_       \
	}

static const struct chunk_case chunk_cases[] = {
    CK_OK("one", "5\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("two", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
    CK_OK("zero-only", "0\r\n\r\n", ""),
    CK_OK("hex-upper", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    CK_OK("hex-lower", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    CK_OK("hex-two-digits", "1f\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n",
	  "0123456789abcdef0123456789abcde"),
    CK_OK("leading-zeros-16-digits", "0000000000000003\r\nabc\r\n0000000000000000\r\n\r\n", "abc"),
    CK_OK("binary-data", "6\r\n\r\n\0\n\r\xff\r\n0\r\n\r\n", "\r\n\0\n\r\xff"),
    CK_OK("ext-token", "5;a=b\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-name-only", "5;a\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-quoted", "5;a=\"x y;z=\\\"\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-quoted-obs-text", "5;a=\"\xe9\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-bws", "5 ; a = b ;\tc\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-multiple", "5;a;b=c;d=\"e\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-quoted-then-bws", "5;a=\"x\" ;b\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-on-last-chunk", "0;a=b\r\n\r\n", ""),
    CK_OK("ext-name-bws-semi", "5;a ;b\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-bws-around-eq", "5;a  =  b\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("ext-token-bws-semi", "5;a=b  ;c\r\nhello\r\n0\r\n\r\n", "hello"),
    CK_OK("trailers", "0\r\nX-T: v\r\nY:w \r\n\r\n", "", .nr_trailers = 2),
    CK_OK("trailer-empty-value", "0\r\nX:\r\n\r\n", "", .nr_trailers = 1),
    CK_OK("trailer-obs-text", "0\r\nX: \xe9\t\r\n\r\n", "", .nr_trailers = 1),
    CK_OK("next-message-not-read", "0\r\n\r\nGET / HTTP/1.1\r\n", "", .consumed = 5),
    CK_OK("next-message-after-data", "1\r\nx\r\n0\r\n\r\n\r\n", "x", .consumed = 11),
    CK_MORE("more-in-data", "5\r\nhel", "hel"),
    CK_MORE("more-in-size", "5", ""),
    CK_MORE("more-after-size", "5\r\n", ""),
    CK_MORE("more-in-ext", "5;a=\"x", ""),
    CK_MORE("more-data-cr", "1\r\nx\r", "x"),
    CK_MORE("more-in-trailers", "0\r\nX: y\r\n", ""),
    CK_MORE("more-last-cr", "0\r\n\r", ""),
    CK_MORE("max-size-accepted", "7fffffffffffffff\r\nab", "ab"),

    CK_BAD("size-empty", "\r\nhello\r\n0\r\n\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-non-hex", "g\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-leading-space", " 5\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-leading-htab", "\t5\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-trailing-space", "5 \r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-trailing-htab", "5\t\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-0x", "0x5\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-plus", "+5\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-minus", "-5\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-17-digits", "00000000000000005\r\nhello\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-overflow-2^63", "8000000000000000\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-overflow-2^64", "10000000000000000\r\n", H1_ERR_CHUNK_SIZE),
    CK_BAD("size-bare-lf", "5\nhello\r\n0\r\n\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("size-cr-no-lf", "5\rhello\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("data-then-garbage", "5\r\nhelloX\r\n0\r\n\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("data-bare-lf", "5\r\nhello\n0\r\n\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("data-cr-no-lf", "5\r\nhello\r0\r\n\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("data-short", "5\r\nhell\r\n0\r\n\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("data-no-crlf-next-size", "5\r\nhello5\r\nhello\r\n", H1_ERR_CHUNK_CRLF),
    CK_BAD("ext-empty-name", "5;\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-bad-name", "5;(\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-empty-value", "5;a=\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-unclosed-quote", "5;a=\"x\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-trailing-ws", "5;a \r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-ctl-value", "5;a=\x01\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-ctl-quoted", "5;a=\"\x01\"\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-bare-lf", "5;a\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-two-values", "5;a=b=c\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-value-after-quote", "5;a=\"b\"c\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-value-then-bws-token", "5;a=b c\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("ext-name-bws-token", "5;a b\r\nhello\r\n", H1_ERR_CHUNK_EXT),
    CK_BAD("last-bare-lf-end", "0\r\n\n", H1_ERR_TRAILER),
    CK_BAD("trailer-cr-no-lf", "0\r\nX: v\rY\r\n\r\n", H1_ERR_TRAILER),
    CK_BAD("last-cr-no-lf", "0\r\n\rX", H1_ERR_TRAILER),
    CK_BAD("trailer-no-colon", "0\r\nX\r\n\r\n", H1_ERR_TRAILER),
    CK_BAD("trailer-space-before-colon", "0\r\nX : v\r\n\r\n", H1_ERR_TRAILER),
    CK_BAD("trailer-obs-fold", "0\r\nX: v\r\n w\r\n\r\n", H1_ERR_TRAILER),
    CK_BAD("trailer-ctl", "0\r\nX: \x01\r\n\r\n", H1_ERR_TRAILER),
    CK_BAD("trailer-nul", "0\r\nX: a\0\r\n\r\n", H1_ERR_TRAILER),
    CK_BAD("trailer-bare-lf", "0\r\nX: v\n\r\n", H1_ERR_TRAILER),
    CK_BAD("trailer-empty-name", "0\r\n: v\r\n\r\n", H1_ERR_TRAILER),
};

/* Feeds in[0, len) in pieces cut at cuts[] (ascending), collecting data. */
static int feed_pieces(struct h1_body *b, const char *in, size_t len, const size_t *cuts,
		       size_t nr_cuts, char *data, size_t *data_len, size_t *consumed)
{
	size_t off = 0, piece_end, k = 0;

	*data_len = 0;
	while (!h1_body_done(b)) {
		struct h1_body_out out;
		char *copy;
		int rc;

		piece_end = k < nr_cuts ? cuts[k] : len;
		if (off == piece_end) {
			if (k >= nr_cuts)
				break;
			k++;
			continue;
		}
		copy = malloc(piece_end - off);
		assert_non_null(copy);
		memcpy(copy, in + off, piece_end - off);
		rc = h1_body_feed(b, copy, piece_end - off, &out);
		if (rc) {
			free(copy);
			*consumed = off;
			return rc;
		}
		assert_true(out.consumed <= piece_end - off);
		assert_true(out.data_off + out.data_len <= out.consumed);
		assert_true(out.consumed > 0 || h1_body_done(b));
		memcpy(data + *data_len, copy + out.data_off, out.data_len);
		*data_len += out.data_len;
		off += out.consumed;
		free(copy);
	}
	*consumed = off;
	return 0;
}

static void check_chunk_case(const struct chunk_case *c)
{
	char *data = malloc(c->len + 1);
	size_t data_len, consumed, cuts[1], i, k;
	struct h1_body b;
	int rc;

	assert_non_null(data);
	/* whole, then every 2-way split, then one byte at a time */
	for (k = 0; k <= c->len + 1; k++) {
		size_t *onebyte = NULL;
		size_t nr = 0;

		h1_body_start(&b, H1_BODY_CHUNKED, 0, NULL, false);
		if (k == c->len + 1) {
			onebyte = malloc(sizeof(size_t) * (c->len + 1));
			assert_non_null(onebyte);
			for (i = 1; i < c->len; i++)
				onebyte[nr++] = i;
			rc =
			    feed_pieces(&b, c->in, c->len, onebyte, nr, data, &data_len, &consumed);
			free(onebyte);
		} else {
			cuts[0] = k;
			rc = feed_pieces(&b, c->in, c->len, cuts, k ? 1 : 0, data, &data_len,
					 &consumed);
		}
		if (c->done < 0) {
			assert_int_equal(rc, -EBADMSG);
			if (b.err != c->err)
				fail_msg("split %zu: err %s, want %s", k, h1_err_str(b.err),
					 h1_err_str(c->err));
			assert_int_equal(b.err_status, h1_err_status(c->err, false));
			/* sticky */
			assert_int_equal(h1_body_feed(&b, "0", 1, &(struct h1_body_out){0}),
					 -EBADMSG);
			continue;
		}
		if (rc)
			fail_msg("split %zu: refused: %s", k, h1_err_str(b.err));
		assert_int_equal(h1_body_done(&b), c->done);
		assert_int_equal(consumed, c->consumed ? c->consumed : c->len);
		assert_int_equal(data_len, c->data_len);
		assert_memory_equal(data, c->data, data_len);
		assert_int_equal(b.total, c->data_len);
		if (c->done)
			assert_int_equal(b.nr_trailers, c->nr_trailers);
		else
			/* the peer closing here truncates the body */
			assert_int_equal(h1_body_eof(&b), -EBADMSG);
	}
	free(data);
}

static void run_chunk_case(void **state)
{
	check_chunk_case(*state);
}

/* ------------------------------------------------------------------ limits */

/* "GET /aaa... HTTP/1.1" with a request line of exactly n bytes. */
static char *request_line_of(size_t n, const char *rest)
{
	size_t rl = strlen(rest);
	char *s = malloc(n + 2 + rl + 1);

	assert_non_null(s);
	assert_true(n >= 15);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', n - 14);
	memcpy(s + n - 9, " HTTP/1.1\r\n", 11);
	memcpy(s + n + 2, rest, rl + 1);
	return s;
}

static int parse_str(struct h1_msg *m, const char *s, const struct h1_limits *lim)
{
	h1_msg_init(m, lim);
	return h1_parse_request(m, s, strlen(s));
}

static void test_limit_start_line(void **state)
{
	struct h1_limits lim = h1_limits_default;
	struct h1_msg m;
	char *s;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t n = pass ? 8192 : 100;

		lim.max_start_line = n;
		s = request_line_of(n, HOST "\r\n");
		assert_int_equal(parse_str(&m, s, pass ? NULL : &lim), 0);
		free(s);
		s = request_line_of(n + 1, HOST "\r\n");
		assert_int_equal(parse_str(&m, s, pass ? NULL : &lim), -EBADMSG);
		assert_int_equal(m.err, H1_ERR_START_LINE_TOO_LONG);
		assert_int_equal(m.err_status, 414);
		free(s);
	}
}

/* The verdict comes as soon as the limit is certainly passed, not at LF. */
static void test_limit_start_line_early(void **state)
{
	struct h1_limits lim = h1_limits_default;
	char buf[200];
	struct h1_msg m;
	size_t i;

	(void)state;
	lim.max_start_line = 100;
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', sizeof(buf) - 5);
	h1_msg_init(&m, &lim);
	/* 100 content bytes and a CR could still come: 102 bytes decide. */
	for (i = 0; i <= 101; i++)
		assert_int_equal(h1_parse_request(&m, buf, i), -EAGAIN);
	assert_int_equal(h1_parse_request(&m, buf, 102), -EBADMSG);
	assert_int_equal(m.err_status, 414);
	assert_int_equal(m.err_off, 0);
}

static void test_limit_field_line(void **state)
{
	struct h1_limits lim = h1_limits_default;
	char *s = malloc(9000);
	struct h1_msg m;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t n = pass ? 8192 : 50;

		lim.max_field = n;
		/* "X: " + value = n bytes */
		for (uint32_t extra = 0; extra < 2; extra++) {
			int len = sprintf(s, G11 HOST "X: ");
			memset(s + len, 'v', n - 3 + extra);
			strcpy(s + len + n - 3 + extra, "\r\n\r\n");
			if (!extra) {
				assert_int_equal(parse_str(&m, s, pass ? NULL : &lim), 0);
				assert_int_equal(m.fields[1].value.len, n - 3);
			} else {
				assert_int_equal(parse_str(&m, s, pass ? NULL : &lim), -EBADMSG);
				assert_int_equal(m.err, H1_ERR_FIELD_TOO_LONG);
				assert_int_equal(m.err_status, 431);
			}
		}
	}
	free(s);
}

/* A head of exactly n bytes: start line, Host, one filler field, CRLF. */
static char *head_of(size_t n)
{
	static const char pre[] = G11 HOST;
	char *s = malloc(n + 1);
	size_t fill;

	assert_non_null(s);
	fill = n - (sizeof(pre) - 1) - 2 /* final CRLF */ - 2 /* field CRLF */ - 3 /* "X: " */;
	memcpy(s, pre, sizeof(pre) - 1);
	memcpy(s + sizeof(pre) - 1, "X: ", 3);
	memset(s + sizeof(pre) - 1 + 3, 'v', fill);
	memcpy(s + n - 4, "\r\n\r\n", 5);
	return s;
}

static void test_limit_head(void **state)
{
	struct h1_limits lim = h1_limits_default;
	struct h1_msg m;
	char *s;

	(void)state;
	lim.max_head = 200;
	s = head_of(200);
	assert_int_equal(parse_str(&m, s, &lim), 0);
	assert_int_equal(m.head_len, 200);
	free(s);
	s = head_of(201);
	assert_int_equal(parse_str(&m, s, &lim), -EBADMSG);
	assert_int_equal(m.err, H1_ERR_HEAD_TOO_LARGE);
	assert_int_equal(m.err_status, 431);
	free(s);

	/* default 64 KiB, filled with 8000-byte fields */
	s = malloc(70000);
	for (int extra = 0; extra < 2; extra++) {
		size_t o = (size_t)sprintf(s, G11 HOST), target = 65536 + extra;

		while (target - o - 2 > 8002) {
			o += (size_t)sprintf(s + o, "X: ");
			memset(s + o, 'v', 7995);
			o += 7995;
			o += (size_t)sprintf(s + o, "\r\n");
		}
		o += (size_t)sprintf(s + o, "Y: ");
		memset(s + o, 'w', target - o - 4);
		o = target - 4;
		strcpy(s + o, "\r\n\r\n");
		assert_int_equal(strlen(s), target);
		assert_int_equal(parse_str(&m, s, NULL), extra ? -EBADMSG : 0);
		if (extra)
			assert_int_equal(m.err, H1_ERR_HEAD_TOO_LARGE);
	}
	free(s);
}

static void test_limit_field_count(void **state)
{
	struct h1_limits lim = h1_limits_default;
	char *s = malloc(4096);
	struct h1_msg m;

	(void)state;
	for (int pass = 0; pass < 3; pass++) {
		uint32_t n = pass == 0 ? 100 : pass == 1 ? 3 : H1_FIELDS_MAX;

		lim.max_fields = pass == 2 ? 100000 : n; /* clamped to H1_FIELDS_MAX */
		for (uint32_t extra = 0; extra < 2; extra++) {
			size_t o = (size_t)sprintf(s, G11 HOST);

			for (uint32_t i = 1; i < n + extra; i++)
				o += (size_t)sprintf(s + o, "X%u: %u\r\n", i, i);
			strcpy(s + o, "\r\n");
			if (!extra) {
				assert_int_equal(parse_str(&m, s, pass ? &lim : NULL), 0);
				assert_int_equal(m.nr_fields, n);
			} else {
				assert_int_equal(parse_str(&m, s, pass ? &lim : NULL), -EBADMSG);
				assert_int_equal(m.err, H1_ERR_TOO_MANY_FIELDS);
				assert_int_equal(m.err_status, 431);
			}
		}
	}
	free(s);
}

static void test_limit_empty_lines(void **state)
{
	struct h1_limits lim = h1_limits_default;
	struct h1_msg m;

	(void)state;
	lim.max_empty_lines = 0;
	assert_int_equal(parse_str(&m, G11 HOST "\r\n", &lim), 0);
	assert_int_equal(parse_str(&m, "\r\n" G11 HOST "\r\n", &lim), -EBADMSG);
	assert_int_equal(m.err, H1_ERR_EMPTY_LINES);
	lim.max_empty_lines = 1;
	assert_int_equal(parse_str(&m, "\r\n" G11 HOST "\r\n", &lim), 0);
	assert_int_equal(parse_str(&m, "\r\n\r\n" G11 HOST "\r\n", &lim), -EBADMSG);
}

static void test_limit_body_cl(void **state)
{
	struct h1_limits lim = h1_limits_default;
	struct h1_msg m;

	(void)state;
	lim.max_body = 10;
	assert_int_equal(parse_str(&m, G11 HOST "Content-Length: 10\r\n\r\n", &lim), 0);
	assert_int_equal(parse_str(&m, G11 HOST "Content-Length: 11\r\n\r\n", &lim), -EBADMSG);
	assert_int_equal(m.err, H1_ERR_BODY_TOO_LARGE);
	assert_int_equal(m.err_status, 413);
	/* a response over the limit is the upstream's fault */
	h1_msg_init(&m, &lim);
	assert_int_equal(
	    h1_parse_response(&m, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 40, H1_METH_GET),
	    -EBADMSG);
	assert_int_equal(m.err_status, 502);
	/* ... unless there is no body */
	h1_msg_init(&m, &lim);
	assert_int_equal(h1_parse_response(&m, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 40,
					   H1_METH_HEAD),
			 0);
}

static int feed_all(struct h1_body *b, const char *s, size_t len, size_t *data)
{
	struct h1_body_out out;
	size_t off = 0;
	int rc;

	*data = 0;
	while (off < len && !h1_body_done(b)) {
		rc = h1_body_feed(b, s + off, len - off, &out);
		if (rc)
			return rc;
		*data += out.data_len;
		off += out.consumed;
	}
	return 0;
}

static void test_limit_body_chunked(void **state)
{
	struct h1_limits lim = h1_limits_default;
	static const char ok[] = "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n";
	static const char over[] = "4\r\nabcd\r\n7\r\nefghijk\r\n0\r\n\r\n";
	struct h1_body b;
	size_t data;

	(void)state;
	lim.max_body = 10;
	h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, false);
	assert_int_equal(feed_all(&b, ok, sizeof(ok) - 1, &data), 0);
	assert_true(h1_body_done(&b));
	assert_int_equal(data, 10);
	h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, false);
	/* refused at the size line, before any byte of the chunk is passed on */
	assert_int_equal(feed_all(&b, over, sizeof(over) - 1, &data), -EBADMSG);
	assert_int_equal(b.err, H1_ERR_BODY_TOO_LARGE);
	assert_int_equal(b.err_status, 413);
	assert_int_equal(b.total, 4);
	h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, true);
	assert_int_equal(feed_all(&b, over, sizeof(over) - 1, &data), -EBADMSG);
	assert_int_equal(b.err_status, 502);
}

static void test_limit_body_close(void **state)
{
	struct h1_limits lim = h1_limits_default;
	struct h1_body_out out;
	struct h1_body b;
	size_t data;

	(void)state;
	lim.max_body = 10;
	h1_body_start(&b, H1_BODY_CLOSE, 0, &lim, true);
	assert_int_equal(feed_all(&b, "0123456789", 10, &data), 0);
	assert_int_equal(data, 10);
	assert_int_equal(feed_all(&b, "x", 1, &data), -EBADMSG);
	assert_int_equal(b.err, H1_ERR_BODY_TOO_LARGE);
	assert_int_equal(b.err_status, 502);
	/* 11 bytes at once: the 10 the limit allows go out, the 11th is refused */
	h1_body_start(&b, H1_BODY_CLOSE, 0, &lim, true);
	assert_int_equal(h1_body_feed(&b, "0123456789x", 11, &out), 0);
	assert_int_equal(out.consumed, 10);
	assert_int_equal(out.data_len, 10);
	assert_int_equal(h1_body_feed(&b, "x", 1, &out), -EBADMSG);
	assert_int_equal(b.err, H1_ERR_BODY_TOO_LARGE);
	/* a length over the limit fails at the first feed */
	h1_body_start(&b, H1_BODY_LENGTH, 11, &lim, false);
	assert_int_equal(feed_all(&b, "x", 1, &data), -EBADMSG);
	assert_int_equal(b.err_status, 413);
}

static void test_limit_chunk_ext(void **state)
{
	struct h1_limits lim = h1_limits_default;
	char s[2200];
	struct h1_body b;
	size_t data;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t n = pass ? 1024 : 20;

		lim.max_chunk_ext = n;
		for (uint32_t extra = 0; extra < 2; extra++) {
			/* ";" + name: n bytes between size and CRLF */
			size_t o = (size_t)sprintf(s, "1;");
			memset(s + o, 'e', n - 1 + extra);
			o += n - 1 + extra;
			strcpy(s + o, "\r\nx\r\n0\r\n\r\n");
			h1_body_start(&b, H1_BODY_CHUNKED, 0, pass ? NULL : &lim, false);
			if (!extra) {
				assert_int_equal(feed_all(&b, s, strlen(s), &data), 0);
				assert_true(h1_body_done(&b));
			} else {
				assert_int_equal(feed_all(&b, s, strlen(s), &data), -EBADMSG);
				assert_int_equal(b.err, H1_ERR_CHUNK_EXT_TOO_LONG);
				assert_int_equal(b.err_status, 400);
			}
		}
	}
	/* whitespace before ';' counts too */
	lim.max_chunk_ext = 4;
	h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, false);
	assert_int_equal(feed_all(&b, "1   ;a\r\n", 8, &data), -EBADMSG);
	assert_int_equal(b.err, H1_ERR_CHUNK_EXT_TOO_LONG);
}

static void test_limit_trailers(void **state)
{
	struct h1_limits lim = h1_limits_default;
	char s[512];
	struct h1_body b;
	size_t data, o;

	(void)state;
	/* trailer section: "X: vvv\r\n" + "\r\n" = exactly n bytes */
	lim.max_trailer = 30;
	for (int extra = 0; extra < 2; extra++) {
		o = (size_t)sprintf(s, "0\r\nX: ");
		memset(s + o, 'v', 30 - 7 + extra);
		o += 30 - 7 + extra;
		strcpy(s + o, "\r\n\r\n");
		h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, false);
		assert_int_equal(feed_all(&b, s, strlen(s), &data), extra ? -EBADMSG : 0);
		assert_int_equal(h1_body_done(&b), !extra);
		if (extra) {
			assert_int_equal(b.err, H1_ERR_TRAILER_TOO_LARGE);
			assert_int_equal(b.err_status, 431);
		}
	}
	/* one trailer line: max_field */
	lim = h1_limits_default;
	lim.max_field = 10;
	for (int extra = 0; extra < 2; extra++) {
		o = (size_t)sprintf(s, "0\r\nX: ");
		memset(s + o, 'v', 7 + extra);
		strcpy(s + o + 7 + extra, "\r\n\r\n");
		h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, false);
		assert_int_equal(feed_all(&b, s, strlen(s), &data), extra ? -EBADMSG : 0);
		if (extra)
			assert_int_equal(b.err, H1_ERR_TRAILER_TOO_LARGE);
	}
	/* trailer count: max_fields */
	lim = h1_limits_default;
	lim.max_fields = 3;
	for (int extra = 0; extra < 2; extra++) {
		o = (size_t)sprintf(s, "0\r\n");
		for (int i = 0; i < 3 + extra; i++)
			o += (size_t)sprintf(s + o, "T%d: v\r\n", i);
		strcpy(s + o, "\r\n");
		h1_body_start(&b, H1_BODY_CHUNKED, 0, &lim, false);
		assert_int_equal(feed_all(&b, s, strlen(s), &data), extra ? -EBADMSG : 0);
		if (extra)
			assert_int_equal(b.err, H1_ERR_TRAILER_TOO_LARGE);
		else
			assert_int_equal(b.nr_trailers, 3);
	}
}

/* --------------------------------------------------- pipelining and bodies */

static const char pipeline[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
			       "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
			       "\r\n" /* a stray CRLF some clients send after a body */
			       "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n"
			       "GET /4 HTTP/1.0\r\n\r\n";

/* Runs every message of buf[0, len) through head and body, feeding at most
 * step bytes more at a time; returns the number of messages. */
static int run_pipeline(const char *buf, size_t len, size_t step, char targets[][8], char *bodies)
{
	struct h1_msg m;
	struct h1_body b;
	size_t off = 0, avail;
	int nr = 0, rc;

	bodies[0] = '\0';
	while (off < len) {
		h1_msg_init(&m, NULL);
		avail = 0;
		do {
			avail = avail + step < len - off ? avail + step : len - off;
			rc = h1_parse_request(&m, buf + off, avail);
		} while (rc == -EAGAIN && avail < len - off);
		assert_int_equal(rc, 0);
		snprintf(targets[nr], 8, "%.*s", (int)m.target.len, buf + off + m.target.off);
		h1_body_init(&b, &m);
		off += m.head_len;
		while (!h1_body_done(&b)) {
			struct h1_body_out out;
			size_t n = step < len - off ? step : len - off;

			assert_true(n > 0);
			assert_int_equal(h1_body_feed(&b, buf + off, n, &out), 0);
			strncat(bodies, buf + off + out.data_off, out.data_len);
			off += out.consumed;
		}
		assert_int_equal(!!(m.flags & H1_F_KEEPALIVE), nr < 3);
		nr++;
	}
	return nr;
}

static void test_pipeline(void **state)
{
	char targets[8][8], bodies[64];
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(pipeline); step++) {
		assert_int_equal(
		    run_pipeline(pipeline, sizeof(pipeline) - 1, step, targets, bodies), 4);
		assert_string_equal(targets[0], "/1");
		assert_string_equal(targets[1], "/2");
		assert_string_equal(targets[2], "/3");
		assert_string_equal(targets[3], "/4");
		assert_string_equal(bodies, "helloabcde");
	}
}

/* A smuggled request inside a body stays body: CL frames what TE would not. */
static void test_pipeline_smuggled_stays_body(void **state)
{
	static const char in[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\n\r\n"
				 "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
				 "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
	char targets[8][8], bodies[64];

	(void)state;
	assert_int_equal(run_pipeline(in, sizeof(in) - 1, sizeof(in), targets, bodies), 2);
	assert_string_equal(targets[1], "/next");
	assert_string_equal(bodies, "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n");
}

static void test_body_length(void **state)
{
	struct h1_body b;
	struct h1_body_out out;

	(void)state;
	h1_body_start(&b, H1_BODY_LENGTH, 5, NULL, false);
	assert_int_equal(h1_body_feed(&b, "hel", 3, &out), 0);
	assert_int_equal(out.consumed, 3);
	assert_int_equal(out.data_len, 3);
	assert_int_equal(b.remaining, 2);
	assert_false(h1_body_done(&b));
	assert_int_equal(h1_body_feed(&b, "loGET", 5, &out), 0);
	assert_int_equal(out.consumed, 2);
	assert_int_equal(out.data_off, 0);
	assert_int_equal(out.data_len, 2);
	assert_true(h1_body_done(&b));
	/* done: the rest is the next message's */
	assert_int_equal(h1_body_feed(&b, "GET", 3, &out), 0);
	assert_int_equal(out.consumed, 0);
	assert_int_equal(h1_body_eof(&b), 0);
	/* zero length: done at once */
	h1_body_start(&b, H1_BODY_LENGTH, 0, NULL, false);
	assert_true(h1_body_done(&b));
	/* no body */
	h1_body_start(&b, H1_BODY_NONE, 0, NULL, false);
	assert_true(h1_body_done(&b));
}

static void test_body_eof(void **state)
{
	struct h1_body b;
	struct h1_body_out out;

	(void)state;
	/* close-delimited: EOF ends it */
	h1_body_start(&b, H1_BODY_CLOSE, 0, NULL, true);
	assert_int_equal(h1_body_feed(&b, "abc", 3, &out), 0);
	assert_int_equal(out.data_len, 3);
	assert_false(h1_body_done(&b));
	assert_int_equal(h1_body_eof(&b), 0);
	assert_true(h1_body_done(&b));
	/* a short Content-Length body is truncated */
	h1_body_start(&b, H1_BODY_LENGTH, 5, NULL, false);
	assert_int_equal(h1_body_feed(&b, "abc", 3, &out), 0);
	assert_int_equal(h1_body_eof(&b), -EBADMSG);
	assert_int_equal(b.err, H1_ERR_TRUNCATED);
	assert_int_equal(b.err_status, 400);
	/* so is a chunked one without its last chunk */
	h1_body_start(&b, H1_BODY_CHUNKED, 0, NULL, true);
	assert_int_equal(h1_body_feed(&b, "3\r\nabc\r\n", 8, &out), 0);
	assert_int_equal(h1_body_eof(&b), -EBADMSG);
	assert_int_equal(b.err_status, 502);
	/* refused stays refused */
	assert_int_equal(h1_body_eof(&b), -EBADMSG);
	assert_int_equal(h1_body_feed(&b, "", 0, &out), -EBADMSG);
	/* an empty feed is no progress and no error */
	h1_body_start(&b, H1_BODY_CHUNKED, 0, NULL, false);
	assert_int_equal(h1_body_feed(&b, "", 0, &out), 0);
	assert_int_equal(out.consumed, 0);
}

static void test_body_init_from_msg(void **state)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "2\r\nok\r\n0\r\n\r\n";
	struct h1_msg m;
	struct h1_body b;
	size_t data;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_response(&m, in, sizeof(in) - 1, H1_METH_GET), 0);
	h1_body_init(&b, &m);
	assert_true(b.response);
	assert_int_equal(b.mode, H1_BODY_CHUNKED);
	assert_int_equal(feed_all(&b, in + m.head_len, sizeof(in) - 1 - m.head_len, &data), 0);
	assert_true(h1_body_done(&b));
	assert_int_equal(data, 2);
}

/* ------------------------------------------------------------------ writer */

static void test_write_clean(void **state)
{
	static const char in[] = "\r\nGET /x?y HTTP/1.0\r\nHost:a\r\nX-A: \t v  w \t\r\n"
				 "Empty:\r\n\r\n";
	static const char want[] = "GET /x?y HTTP/1.0\r\nHost: a\r\nX-A: v  w\r\nEmpty: \r\n\r\n";
	struct h1_msg m;
	char out[256];
	size_t n;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	assert_int_equal(h1_write_head(&m, in, NULL, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
}

static void test_write_rewrite(void **state)
{
	static const char in[] = "GET http://a.example/p HTTP/1.0\r\nHost: b\r\n"
				 "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\nX-Keep: 2\r\n"
				 "Keep-Alive: timeout=5\r\n\r\n";
	static const char want[] = "GET /p HTTP/1.1\r\nX-Keep: 2\r\nHost: a.example\r\n"
				   "Via: 1.1 xdproxy\r\n\r\n";
	const struct h1_hdr add[] = {
	    {"Host", 4, "a.example", 9},
	    {"Via", 3, "1.1 xdproxy", 11},
	};
	struct h1_fieldset drop = {{0}};
	struct h1_rewrite rw = {
	    .drop = &drop, .add = add, .nr_add = 2, .target = "/p", .target_len = 2, .version = 11};
	struct h1_msg m, m2;
	char out[256];
	size_t n;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	h1_hop_fields(&m, in, 0, &drop);
	h1_fieldset_add(&drop, (uint32_t)m.host); /* replaced by the target's authority */
	assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	h1_msg_init(&m2, NULL);
	assert_int_equal(h1_parse_request(&m2, out, n), 0);
	assert_true(m2.flags & H1_F_KEEPALIVE);
}

static void test_write_response(void **state)
{
	static const char in[] = "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n";
	static const char want[] = "HTTP/1.0 404 \r\nContent-Length: 0\r\n\r\n";
	struct h1_rewrite rw = {.version = 10};
	struct h1_msg m;
	char out[128];
	size_t n;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_response(&m, in, sizeof(in) - 1, H1_METH_GET), 0);
	assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	/* a response has no target to replace */
	rw.target = "/";
	rw.target_len = 1;
	assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), -EINVAL);
}

static void test_write_nospace(void **state)
{
	static const char in[] = G11 HOST "\r\n";
	struct h1_msg m;
	char out[64];
	size_t n, need;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	assert_int_equal(h1_write_head(&m, in, NULL, NULL, 0, &need), -ENOSPC);
	assert_int_equal(need, sizeof(in) - 1);
	memset(out, 'Z', sizeof(out));
	assert_int_equal(h1_write_head(&m, in, NULL, out, need - 1, &n), -ENOSPC);
	assert_int_equal(n, need);
	assert_int_equal(out[need - 1], 'Z'); /* nothing past cap */
	assert_int_equal(h1_write_head(&m, in, NULL, out, need, &n), 0);
	assert_memory_equal(out, in, need);
}

static void test_write_refuses_invalid(void **state)
{
	static const char in[] = G11 HOST "\r\n";
	struct h1_hdr bad[] = {
	    {"X Y", 3, "v", 1},	      /* space in name */
	    {"", 0, "v", 1},	      /* empty name */
	    {"X", 1, "a\r\nY: b", 8}, /* header injection */
	    {"X", 1, " v", 2},	      /* leading OWS */
	    {"X", 1, "v\t", 2},	      /* trailing OWS */
	    {"X", 1, "\0", 1},	      /* NUL */
	    {"X:", 2, "v", 1},	      /* colon in name */
	};
	struct h1_rewrite rw = {0};
	struct h1_msg m;
	char out[128];
	size_t n, i;

	(void)state;
	h1_msg_init(&m, NULL);
	/* an incomplete head cannot be written */
	assert_int_equal(h1_parse_request(&m, in, 10), -EAGAIN);
	assert_int_equal(h1_write_head(&m, in, NULL, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		rw.add = &bad[i];
		rw.nr_add = 1;
		assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), -EINVAL);
	}
	rw = (struct h1_rewrite){.target = "/a b", .target_len = 4};
	assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), -EINVAL);
	rw = (struct h1_rewrite){.target = "", .target_len = 0};
	assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), -EINVAL);
	rw = (struct h1_rewrite){.version = 20};
	assert_int_equal(h1_write_head(&m, in, &rw, out, sizeof(out), &n), -EINVAL);
	/* a refused head neither */
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, G11 "\r\n", 18), -EBADMSG);
	assert_int_equal(h1_write_head(&m, G11 "\r\n", NULL, out, sizeof(out), &n), -EINVAL);
}

static void test_hop_fields(void **state)
{
	static const char in[] =
	    G11 HOST "Connection: close, X-Hop, host, Content-Length\r\n"
		     "Keep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\n"
		     "Transfer-Encoding: chunked\r\nUpgrade: h2c\r\nX-Hop: 1\r\n"
		     "x-hop: 2\r\nX-End: 3\r\n\r\n";
	static const char *const kept[] = {"Host", "X-End"};
	struct h1_fieldset set = {{0}};
	struct h1_msg m;
	uint32_t i, nr_kept = 0;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	h1_hop_fields(&m, in, 0, &set);
	for (i = 0; i < m.nr_fields; i++) {
		if (h1_fieldset_has(&set, i))
			continue;
		assert_true(nr_kept < ARRAY_SIZE(kept));
		assert_true(h1_span_eq_ci(in, m.fields[i].name, kept[nr_kept]));
		nr_kept++;
	}
	assert_int_equal(nr_kept, ARRAY_SIZE(kept));
}

static void test_hop_keep_upgrade(void **state)
{
	static const char in[] = G11 HOST "Connection: Upgrade, upgrade\r\nUpgrade: websocket\r\n"
					  "Content-Length: 0\r\n\r\n";
	struct h1_fieldset set = {{0}};
	struct h1_msg m;
	int up, conn, cl;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	assert_true(m.flags & H1_F_UPGRADE);
	up = h1_field_find(&m, in, "upgrade", 0);
	conn = h1_field_find(&m, in, "CONNECTION", 0);
	cl = h1_field_find(&m, in, "content-length", 0);
	assert_true(up >= 0 && conn >= 0 && cl >= 0);
	h1_hop_fields(&m, in, H1_HOP_KEEP_UPGRADE, &set);
	assert_false(h1_fieldset_has(&set, (uint32_t)up));
	assert_true(h1_fieldset_has(&set, (uint32_t)conn));
	assert_false(h1_fieldset_has(&set, (uint32_t)cl));
	memset(&set, 0, sizeof(set));
	h1_hop_fields(&m, in, 0, &set);
	assert_true(h1_fieldset_has(&set, (uint32_t)up));
}

/* ------------------------------------------------------------- API edges */

static void test_api_misuse(void **state)
{
	static const char in[] = G11 HOST "\r\n";
	struct h1_msg m;

	(void)state;
	assert_int_equal(h1_parse_request(NULL, in, 1), -EINVAL);
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, NULL, 1), -EINVAL);
	assert_int_equal(h1_parse_request(&m, NULL, 0), -EAGAIN);
	assert_int_equal(h1_parse_request(&m, in, 10), -EAGAIN);
	/* fewer bytes than already seen */
	assert_int_equal(h1_parse_request(&m, in, 5), -EINVAL);
	/* a request parser stays one */
	assert_int_equal(h1_parse_response(&m, in, 10, H1_METH_GET), -EINVAL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	/* done is sticky, more bytes are ignored */
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_response(&m, "HTTP/1.1 ", 9, H1_METH_GET), -EAGAIN);
	assert_int_equal(h1_parse_request(&m, "HTTP/1.1 ", 9), -EINVAL);
	/* errors are sticky */
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, "GET / HTTP/1.1\n", 15), -EBADMSG);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), -EBADMSG);
	assert_int_equal(m.err, H1_ERR_BARE_LF);
}

/* Buffer moved between calls: offsets stay right. */
static void test_buffer_moves(void **state)
{
	static const char in[] = "POST /m HTTP/1.1\r\nHost: moved\r\nContent-Length: 1\r\n\r\n";
	struct h1_msg m;
	char *a = malloc(20), *b;

	(void)state;
	memcpy(a, in, 20);
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, a, 20), -EAGAIN);
	b = malloc(sizeof(in));
	memcpy(b, in, sizeof(in));
	free(a);
	assert_int_equal(h1_parse_request(&m, b, sizeof(in) - 1), 0);
	assert_true(h1_span_eq_ci(b, m.fields[m.host].value, "MOVED"));
	assert_true(h1_span_eq_ci(b, m.target, "/m"));
	free(b);
}

static void test_err_table(void **state)
{
	int e;

	(void)state;
	assert_int_equal(h1_err_status(H1_ERR_NONE, false), 0);
	assert_string_equal(h1_err_str(H1_ERR__MAX), "?");
	for (e = 1; e < H1_ERR__MAX; e++) {
		int st = h1_err_status((enum h1_err)e, false);

		assert_string_not_equal(h1_err_str((enum h1_err)e), "?");
		assert_true(st == 400 || st == 413 || st == 414 || st == 431 || st == 501 ||
			    st == 502 || st == 505);
		assert_int_equal(h1_err_status((enum h1_err)e, true), 502);
	}
}

static void test_field_find(void **state)
{
	static const char in[] = G11 HOST "X: 1\r\nx: 2\r\n\r\n";
	struct h1_msg m;

	(void)state;
	h1_msg_init(&m, NULL);
	assert_int_equal(h1_parse_request(&m, in, sizeof(in) - 1), 0);
	assert_int_equal(h1_field_find(&m, in, "x", 0), 1);
	assert_int_equal(h1_field_find(&m, in, "X", 2), 2);
	assert_int_equal(h1_field_find(&m, in, "x", 3), -ENOENT);
	assert_int_equal(h1_field_find(&m, in, "Hos", 0), -ENOENT);
}

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_limit_start_line),
    cmocka_unit_test(test_limit_start_line_early),
    cmocka_unit_test(test_limit_field_line),
    cmocka_unit_test(test_limit_head),
    cmocka_unit_test(test_limit_field_count),
    cmocka_unit_test(test_limit_empty_lines),
    cmocka_unit_test(test_limit_body_cl),
    cmocka_unit_test(test_limit_body_chunked),
    cmocka_unit_test(test_limit_body_close),
    cmocka_unit_test(test_limit_chunk_ext),
    cmocka_unit_test(test_limit_trailers),
    cmocka_unit_test(test_pipeline),
    cmocka_unit_test(test_pipeline_smuggled_stays_body),
    cmocka_unit_test(test_body_length),
    cmocka_unit_test(test_body_eof),
    cmocka_unit_test(test_body_init_from_msg),
    cmocka_unit_test(test_write_clean),
    cmocka_unit_test(test_write_rewrite),
    cmocka_unit_test(test_write_response),
    cmocka_unit_test(test_write_nospace),
    cmocka_unit_test(test_write_refuses_invalid),
    cmocka_unit_test(test_hop_fields),
    cmocka_unit_test(test_hop_keep_upgrade),
    cmocka_unit_test(test_api_misuse),
    cmocka_unit_test(test_buffer_moves),
    cmocka_unit_test(test_err_table),
    cmocka_unit_test(test_field_find),
};

int main(void)
{
	size_t n = 0, i,
	       cap = ARRAY_SIZE(req_cases) + ARRAY_SIZE(rsp_cases) + ARRAY_SIZE(chunk_cases) +
		     ARRAY_SIZE(fixed_tests);
	struct CMUnitTest *t = calloc(cap, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	/* One cmocka test per table row, so a failure names its row. */
	for (i = 0; i < ARRAY_SIZE(req_cases); i++)
		t[n++] = (struct CMUnitTest){.name = req_cases[i].name,
					     .test_func = run_req_case,
					     .initial_state = (void *)&req_cases[i]};
	for (i = 0; i < ARRAY_SIZE(rsp_cases); i++)
		t[n++] = (struct CMUnitTest){.name = rsp_cases[i].name,
					     .test_func = run_rsp_case,
					     .initial_state = (void *)&rsp_cases[i]};
	for (i = 0; i < ARRAY_SIZE(chunk_cases); i++)
		t[n++] = (struct CMUnitTest){.name = chunk_cases[i].name,
					     .test_func = run_chunk_case,
					     .initial_state = (void *)&chunk_cases[i]};
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		t[n++] = fixed_tests[i];
	rc = _cmocka_run_group_tests("h1", t, n, NULL, NULL);
	free(t);
	return rc;
}
