// SPDX-License-Identifier: BSD-2-Clause
/*
 * Client identity header tests. Every case parses a real request with
 * h1_parse_request(), runs fwd_request(), writes the head with
 * h1_write_head() and parses what was written again: the checks are on that
 * second view, field by field - the value expected, written out by hand,
 * and the count of each name, so a spoofed field left in or a duplicate
 * shows. Then the loop detector, the address formatter, the config checker
 * and the error paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "http/fwd.h"
#include "http/h1.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- fixture */

/* One request's trip: input, the rewrite, the output and its view. */
struct fx {
	char *in; /* exactly the request's bytes: ASan sees reads past them */
	size_t in_len;
	struct h1_msg m;
	struct h1_msg m2;
	struct h1_fieldset drop;
	struct h1_hdr add[16];
	size_t nr_add;
	char scratch[4096];
	size_t used;
	char out[8192];
	size_t out_len;
	struct sockaddr_storage client;
	struct sockaddr_storage proxy;
	struct fwd_conn conn;
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

static const struct sockaddr *sa4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return (const struct sockaddr *)ss;
}

static const struct sockaddr *sa6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	return (const struct sockaddr *)ss;
}

/* Parses the request s; the connection defaults to 192.0.2.1:4711 -> 198.51.100.1:80. */
static void req(const char *s)
{
	free(F->in);
	F->in_len = strlen(s);
	F->in = malloc(F->in_len);
	assert_non_null(F->in);
	memcpy(F->in, s, F->in_len);
	h1_msg_init(&F->m, NULL);
	assert_int_equal(h1_parse_request(&F->m, F->in, F->in_len), 0);
	memset(&F->drop, 0, sizeof(F->drop));
	F->nr_add = 0;
	F->used = 0;
	F->conn = (struct fwd_conn){
	    .client = sa4(&F->client, "192.0.2.1", 4711),
	    .proxy = sa4(&F->proxy, "198.51.100.1", 80),
	};
}

/* The rewrite, written and parsed back: the view checked is F->m2. */
static void write_back(void)
{
	struct h1_rewrite rw = {.drop = &F->drop, .add = F->add, .nr_add = F->nr_add};

	assert_int_equal(h1_write_head(&F->m, F->in, &rw, F->out, sizeof(F->out), &F->out_len), 0);
	h1_msg_init(&F->m2, NULL);
	assert_int_equal(h1_parse_request(&F->m2, F->out, F->out_len), 0);
	assert_int_equal(F->m2.head_len, F->out_len);
}

static int run_rc(uint32_t mode, const char *pseudonym, const char *ua)
{
	const struct fwd_conf c = {.mode = mode, .pseudonym = pseudonym, .user_agent = ua};

	return fwd_request(&F->m, F->in, &c, &F->conn, &F->drop, F->add, ARRAY_SIZE(F->add),
			   &F->nr_add, F->scratch, sizeof(F->scratch), &F->used);
}

static void run(uint32_t mode, const char *pseudonym, const char *ua)
{
	assert_int_equal(run_rc(mode, pseudonym, ua), 0);
	write_back();
}

/* Fields of the output named name. */
static size_t cnt(const char *name)
{
	size_t n = 0;
	int i;

	for (i = h1_field_find(&F->m2, F->out, name, 0); i >= 0;
	     i = h1_field_find(&F->m2, F->out, name, (uint32_t)i + 1))
		n++;
	return n;
}

/* The one value of name in the output. */
static void expect(const char *name, const char *want)
{
	static char got[2048];
	struct h1_span v;
	int i;

	if (cnt(name) != 1)
		fail_msg("%s: %zu fields, want 1\n%.*s", name, cnt(name), (int)F->out_len, F->out);
	i = h1_field_find(&F->m2, F->out, name, 0);
	v = F->m2.fields[i].value;
	assert_true(v.len < sizeof(got));
	memcpy(got, F->out + v.off, v.len);
	got[v.len] = '\0';
	assert_string_equal(got, want);
}

static void absent(const char *name)
{
	if (cnt(name))
		fail_msg("%s still there:\n%.*s", name, (int)F->out_len, F->out);
}

/* The output's fields, exactly: "Name: value" lines in order. */
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

/* --------------------------------------------------------- X-Forwarded-* */

static void test_xff_basic(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Accept: */*",
	    "X-Forwarded-For: 192.0.2.1",
	    "X-Forwarded-Proto: http",
	    "X-Forwarded-Host: example.com",
	};

	(void)state;
	req("GET /a HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
	assert_memory_equal(F->out, "GET /a HTTP/1.1\r\n", 17);
}

static void test_xff_tls(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.tls = true;
	run(FWD_XFF, NULL, NULL);
	expect("X-Forwarded-Proto", "https");
	expect("X-Forwarded-For", "192.0.2.1");
}

static void test_xff_spoofed_dropped(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Cookie: a=1",
	    "X-Forwarded-For: 192.0.2.1",
	    "X-Forwarded-Proto: http",
	    "X-Forwarded-Host: example.com",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 6.6.6.6\r\n"
	    "x-forwarded-for: 7.7.7.7, 8.8.8.8\r\nX-Forwarded-Proto: https\r\n"
	    "X-FORWARDED-HOST: evil.example\r\nX-Forwarded-Port: 443\r\n"
	    "X-Forwarded-Prefix: /admin\r\nCookie: a=1\r\nX-Forwarded-Server: s\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
	absent("X-Forwarded-Port");
	absent("X-Forwarded-Prefix");
}

static void test_xff_append_single(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n");
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect("X-Forwarded-For", "203.0.113.7, 192.0.2.1");
}

static void test_xff_append_combined(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Accept: x",
	    "X-Forwarded-For: 203.0.113.7, 10.1.1.1, 2001:db8::5, 192.0.2.1",
	    "X-Forwarded-Proto: http",
	    "X-Forwarded-Host: example.com",
	};

	(void)state;
	/* Three fields, one of them a list, around another field. */
	req("GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.7\r\nHost: example.com\r\n"
	    "X-Forwarded-For:   10.1.1.1  \r\nAccept: x\r\nx-forwarded-for: 2001:db8::5\r\n\r\n");
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

static void test_xff_append_none_yet(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect("X-Forwarded-For", "192.0.2.1");
}

static void test_xff_append_skips_empty(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For:\r\nX-Forwarded-For: 1.2.3.4\r\n"
	    "X-Forwarded-For: \r\n\r\n");
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect("X-Forwarded-For", "1.2.3.4, 192.0.2.1");
	req("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For:\r\n\r\n");
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect("X-Forwarded-For", "192.0.2.1");
}

/* Trusting the chain trusts X-Forwarded-For only: proto and host are this hop's. */
static void test_xff_append_replaces_proto_host(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 203.0.113.7\r\n"
	    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n");
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect("X-Forwarded-For", "203.0.113.7, 192.0.2.1");
	expect("X-Forwarded-Proto", "http");
	expect("X-Forwarded-Host", "example.com");
}

static void test_xff_ipv6(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.client = sa6(&F->client, "2001:DB8:0:0::1", 4711);
	run(FWD_XFF, NULL, NULL);
	expect("X-Forwarded-For", "2001:db8::1");
}

static void test_xff_ipv4_mapped(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n");
	F->conn.client = sa6(&F->client, "::ffff:192.0.2.9", 4711);
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect("X-Forwarded-For", "1.1.1.1, 192.0.2.9");
}

static void test_xff_unix_client(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/run/x.sock"};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.client = (const struct sockaddr *)&un;
	run(FWD_XFF, NULL, NULL);
	expect("X-Forwarded-For", "unknown");
}

/* absolute-form: the target's authority, as received, not the Host field */
static void test_xff_host_absolute_form(void **state)
{
	(void)state;
	req("GET http://A.example:8080/p HTTP/1.1\r\nHost: other.example\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	expect("X-Forwarded-Host", "A.example:8080");
	expect("Host", "other.example");
}

static void test_xff_host_with_port(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: [2001:db8::7]:8443\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	expect("X-Forwarded-Host", "[2001:db8::7]:8443");
}

static void test_xff_no_host_http10(void **state)
{
	static const char *const want[] = {
	    "Accept: a",
	    "X-Forwarded-For: 192.0.2.1",
	    "X-Forwarded-Proto: http",
	};

	(void)state;
	req("GET / HTTP/1.0\r\nAccept: a\r\nX-Forwarded-Host: evil\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
	/* an empty Host is valid and says "no authority" just the same */
	req("GET / HTTP/1.1\r\nHost:\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	absent("X-Forwarded-Host");
}

static void test_real_ip(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nX-Real-IP: 6.6.6.6\r\nx-real-ip: 7.7.7.7\r\n\r\n");
	F->conn.client = sa6(&F->client, "2001:db8::2", 1);
	run(FWD_REAL_IP, NULL, NULL);
	expect("X-Real-IP", "2001:db8::2");
	absent("X-Forwarded-For");
}

/* ------------------------------------------------------------- Forwarded */

static void test_forwarded_ipv4(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Forwarded: for=192.0.2.1;proto=http;host=example.com",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	run(FWD_FORWARDED, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

static void test_forwarded_ipv6_quoted(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.client = sa6(&F->client, "2001:db8::1", 4711);
	F->conn.tls = true;
	run(FWD_FORWARDED, NULL, NULL);
	expect("Forwarded", "for=\"[2001:db8::1]\";proto=https;host=example.com");
}

static void test_forwarded_port_ipv4(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	run(FWD_FORWARDED | FWD_FORWARDED_PORT, NULL, NULL);
	expect("Forwarded", "for=\"192.0.2.1:4711\";proto=http;host=example.com");
}

static void test_forwarded_port_ipv6(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.client = sa6(&F->client, "2001:db8::1", 65535);
	run(FWD_FORWARDED | FWD_FORWARDED_PORT, NULL, NULL);
	expect("Forwarded", "for=\"[2001:db8::1]:65535\";proto=http;host=example.com");
}

/* host with a port has a ':', which is not a tchar: quoted */
static void test_forwarded_host_quoted(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
	run(FWD_FORWARDED, NULL, NULL);
	expect("Forwarded", "for=192.0.2.1;proto=http;host=\"example.com:8080\"");
	req("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n");
	run(FWD_FORWARDED, NULL, NULL);
	expect("Forwarded", "for=192.0.2.1;proto=http;host=\"[::1]\"");
}

static void test_forwarded_spoofed_dropped(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Authorization: Basic eDp5",
	    "Forwarded: for=192.0.2.1;proto=http;host=example.com",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nForwarded: for=6.6.6.6\r\nHost: example.com\r\n"
	    "FORWARDED: for=\"[::6]\";proto=https, for=7.7.7.7\r\n"
	    "Authorization: Basic eDp5\r\n\r\n");
	run(FWD_FORWARDED, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

static void test_forwarded_append(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nForwarded: for=203.0.113.7;proto=https\r\nHost: example.com\r\n"
	    "Forwarded: for=\"[2001:db8::9]\", for=unknown\r\n\r\n");
	run(FWD_FORWARDED | FWD_FORWARDED_APPEND, NULL, NULL);
	expect("Forwarded", "for=203.0.113.7;proto=https, for=\"[2001:db8::9]\", for=unknown, "
			    "for=192.0.2.1;proto=http;host=example.com");
}

static void test_forwarded_by(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	run(FWD_FORWARDED | FWD_FORWARDED_BY, NULL, NULL);
	expect("Forwarded", "for=192.0.2.1;proto=http;host=example.com;by=198.51.100.1");
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.proxy = sa6(&F->proxy, "2001:db8::80", 443);
	run(FWD_FORWARDED | FWD_FORWARDED_BY | FWD_FORWARDED_PORT, NULL, NULL);
	expect("Forwarded",
	       "for=\"192.0.2.1:4711\";proto=http;host=example.com;by=\"[2001:db8::80]:443\"");
}

static void test_forwarded_unknown_and_mapped(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.client = (const struct sockaddr *)&un;
	run(FWD_FORWARDED | FWD_FORWARDED_PORT, NULL, NULL);
	expect("Forwarded", "for=unknown;proto=http;host=example.com");
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	F->conn.client = sa6(&F->client, "::ffff:203.0.113.1", 80);
	run(FWD_FORWARDED, NULL, NULL);
	expect("Forwarded", "for=203.0.113.1;proto=http;host=example.com");
}

static void test_forwarded_no_host(void **state)
{
	(void)state;
	req("GET / HTTP/1.0\r\n\r\n");
	run(FWD_FORWARDED, NULL, NULL);
	expect("Forwarded", "for=192.0.2.1;proto=http");
}

/* ------------------------------------------------------------------- Via */

static void test_via_add(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Via: 1.1 edge1",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	run(FWD_VIA, "edge1", NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

static void test_via_http10(void **state)
{
	(void)state;
	req("GET / HTTP/1.0\r\nVia: 1.0 fred\r\n\r\n");
	run(FWD_VIA, "edge1:8080", NULL);
	expect("Via", "1.0 fred, 1.0 edge1:8080");
	/* the request line keeps its version: only the caller may change it */
	assert_int_equal(F->m2.version, 10);
}

static void test_via_chain_combined(void **state)
{
	static const char *const want[] = {
	    "Host: h",
	    "Accept: x",
	    "Via: 1.0 fred, 1.1 p.example.net (Apache/1.1), HTTP/1.1 [2001:db8::1]:81, 1.1 edge1",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nVia: 1.0 fred, 1.1 p.example.net (Apache/1.1)\r\nHost: h\r\n"
	    "Accept: x\r\nvia: HTTP/1.1 [2001:db8::1]:81\r\n\r\n");
	run(FWD_VIA, "edge1", NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

static void test_via_loop_detected(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 a, 1.1 EDGE1\r\n\r\n");
	assert_true(fwd_via_loops(&F->m, F->in, "edge1"));
	req("GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 a\r\nVia: HTTP/1.0 edge1 (xdproxy)\r\n\r\n");
	assert_true(fwd_via_loops(&F->m, F->in, "Edge1"));
	req("GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 a (c), 1.1\tedge1:8080 (d)\r\n\r\n");
	assert_true(fwd_via_loops(&F->m, F->in, "edge1:8080"));
	req("GET / HTTP/1.1\r\nHost: h\r\nVia: ,, 1.1 edge1,\r\n\r\n");
	assert_true(fwd_via_loops(&F->m, F->in, "edge1"));
}

static void test_via_loop_not_fooled(void **state)
{
	static const char *const vias[] = {
	    "1.1 edge10",
	    "1.1 edge1:8080",
	    "1.1 xedge1",
	    "1.1 a (edge1)",
	    "1.1 a (x, 1.1 edge1), 1.1 b",
	    "1.1 a (x (nested, 1.1 edge1)), 1.1 b",
	    "edge1 a",
	    "1.1",
	    "1.1 a edge1",
	    "1.1 a \"1.1 edge1\"",
	    "1.1 a (unterminated, 1.1 edge1",
	    "1.1 a (\\), 1.1 edge1)",
	};
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vias); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nVia: %s\r\n\r\n", vias[i]);
		req(buf);
		if (fwd_via_loops(&F->m, F->in, "edge1"))
			fail_msg("loop reported for Via: %s", vias[i]);
	}
}

static void test_via_loop_args(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 edge1\r\n\r\n");
	assert_false(fwd_via_loops(NULL, F->in, "edge1"));
	assert_false(fwd_via_loops(&F->m, NULL, "edge1"));
	assert_false(fwd_via_loops(&F->m, F->in, NULL));
	assert_false(fwd_via_loops(&F->m, F->in, ""));
	req("GET / HTTP/1.1\r\nHost: edge1\r\n\r\n");
	assert_false(fwd_via_loops(&F->m, F->in, "edge1"));
}

/* ----------------------------------------------------------- combinations */

static void test_all_modes_order(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "User-Agent: curl/8",
	    "X-Forwarded-For: 203.0.113.7, 192.0.2.1",
	    "X-Forwarded-Proto: https",
	    "X-Forwarded-Host: example.com",
	    "X-Real-IP: 192.0.2.1",
	    "Forwarded: for=192.0.2.1;proto=https;host=example.com",
	    "Via: 1.1 a, 1.1 edge1",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nVia: 1.1 a\r\nForwarded: for=x\r\n"
	    "X-Forwarded-For: 203.0.113.7\r\nUser-Agent: curl/8\r\nX-Real-IP: 1.1.1.1\r\n\r\n");
	F->conn.tls = true;
	run(FWD_XFF | FWD_XFF_APPEND | FWD_REAL_IP | FWD_FORWARDED | FWD_VIA, "edge1", NULL);
	expect_fields(want, ARRAY_SIZE(want));
	assert_int_equal(F->nr_add, 6);
	assert_int_equal(F->nr_add, FWD_ADD_MAX);
}

static void test_mode_zero_noop(void **state)
{
	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nVia: 1.1 a\r\n\r\n");
	run(0, NULL, NULL);
	assert_int_equal(F->nr_add, 0);
	assert_int_equal(F->used, 0);
	assert_int_equal(F->out_len, F->in_len);
	assert_memory_equal(F->out, F->in, F->in_len);
}

/* XFF only: unrelated fields, other identity ones included, pass byte for byte */
static void test_xff_leaves_the_rest(void **state)
{
	static const char *const want[] = {
	    "Host: h",
	    "Authorization: Bearer abc.def",
	    "Cookie: a=1; b=2",
	    "Via: 1.1 a",
	    "Forwarded: for=1.2.3.4",
	    "X-Real-IP: 9.9.9.9",
	    "X-Forwarded: not-a-prefix-match",
	    "X-Forwarded-For: 192.0.2.1",
	    "X-Forwarded-Proto: http",
	    "X-Forwarded-Host: h",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc.def\r\nCookie: a=1; b=2\r\n"
	    "Via: 1.1 a\r\nForwarded: for=1.2.3.4\r\nX-Real-IP: 9.9.9.9\r\n"
	    "X-Forwarded: not-a-prefix-match\r\n\r\n");
	run(FWD_XFF, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

/* What the caller dropped first (hop-by-hop) is not chained. */
static void test_prior_drop_respected(void **state)
{
	static const char *const want[] = {
	    "Host: h",
	    "X-Forwarded-For: 10.0.0.1, 192.0.2.1",
	    "X-Forwarded-Proto: http",
	    "X-Forwarded-Host: h",
	    "Via: 1.1 edge1",
	};
	static const char *const want2[] = {
	    "Host: h",
	    "Via: 1.1 a",
	    "X-Forwarded-For: 10.0.0.1, 192.0.2.1",
	    "X-Forwarded-Proto: http",
	    "X-Forwarded-Host: h",
	};

	(void)state;
	/* the client names Via as hop-by-hop: its Via fields are for us alone */
	req("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Via\r\n"
	    "X-Forwarded-For: 10.0.0.1\r\nVia: 1.1 a\r\nvia: 1.1 b\r\n\r\n");
	h1_hop_fields(&F->m, F->in, 0, &F->drop);
	run(FWD_XFF | FWD_XFF_APPEND | FWD_VIA, "edge1", NULL);
	expect_fields(want, ARRAY_SIZE(want));
	/* any field the caller set aside, by index */
	req("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\nVia: 1.1 a\r\n\r\n");
	h1_fieldset_add(&F->drop, 2);
	run(FWD_XFF | FWD_XFF_APPEND, NULL, NULL);
	expect_fields(want2, ARRAY_SIZE(want2));
}

/* Appends after what the caller already added; ORs into its drop set. */
static void test_appends_after_caller(void **state)
{
	static const char *const want[] = {
	    "Host: h",
	    "X-Request-Id: 42",
	    "Via: 1.1 edge1",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nX-Secret: s\r\n\r\n");
	F->add[0] = (struct h1_hdr){"X-Request-Id", 12, "42", 2};
	F->nr_add = 1;
	h1_fieldset_add(&F->drop, 1);
	run(FWD_VIA, "edge1", NULL);
	assert_int_equal(F->nr_add, 2);
	assert_ptr_equal(F->add[0].value, "42");
	expect_fields(want, ARRAY_SIZE(want));
}

/* ------------------------------------------------------------------- hide */

static void test_hide_drops_exactly_listed(void **state)
{
	static const char *const want[] = {
	    "Host: example.com",
	    "Authorization: Basic eDp5",
	    "Cookie: sid=1",
	    "User-Agent: Mozilla/5.0",
	    "Proxy-Authorization: Basic cDpx",
	    "Accept: text/html",
	    "Referer: https://example.com/",
	    "X-Forwarded: kept",
	    "X-Real-IPv6: kept",
	    "Fromage: kept",
	    "Proxyish: kept",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.1.1.1\r\n"
	    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: a\r\nX-Forwarded-Port: 1\r\n"
	    "Forwarded: for=1.1.1.1\r\nVia: 1.1 corp-proxy\r\nX-Real-IP: 1.1.1.1\r\n"
	    "Client-IP: 1.1.1.1\r\nTrue-Client-IP: 1.1.1.1\r\nCF-Connecting-IP: 1.1.1.1\r\n"
	    "X-Client-IP: 1.1.1.1\r\nX-Cluster-Client-IP: 1.1.1.1\r\nFrom: me@example.com\r\n"
	    "Authorization: Basic eDp5\r\nCookie: sid=1\r\nUser-Agent: Mozilla/5.0\r\n"
	    "Proxy-Authorization: Basic cDpx\r\nProxy-Connection: keep-alive\r\n"
	    "Proxy-Foo: bar\r\nproxy-authenticate: x\r\nAccept: text/html\r\n"
	    "Referer: https://example.com/\r\nX-Forwarded: kept\r\nX-Real-IPv6: kept\r\n"
	    "Fromage: kept\r\nProxyish: kept\r\n\r\n");
	run(FWD_HIDE, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
	assert_int_equal(F->nr_add, 0);
	assert_int_equal(F->used, 0);
}

static void test_hide_case_insensitive(void **state)
{
	static const char *const want[] = {"host: h"};

	(void)state;
	req("GET / HTTP/1.1\r\nhost: h\r\nx-REAL-ip: 1\r\nVIA: 1.1 a\r\nfRoM: x\r\n"
	    "PROXY-X: y\r\ncf-connecting-ip: 2\r\nX-FORWARDED-FOR: 3\r\n\r\n");
	run(FWD_HIDE, NULL, NULL);
	expect_fields(want, ARRAY_SIZE(want));
}

static void test_hide_user_agent(void **state)
{
	static const char *const want[] = {
	    "Host: h",
	    "Accept: */*",
	    "User-Agent: Mozilla/5.0 (generic)",
	};

	(void)state;
	req("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: MyBrowser/1.2 (Linux; fingerprint)\r\n"
	    "Accept: */*\r\nuser-agent: second\r\nVia: 1.1 x\r\n\r\n");
	run(FWD_HIDE, NULL, "Mozilla/5.0 (generic)");
	expect_fields(want, ARRAY_SIZE(want));
	/* a request without User-Agent gets the fixed one too: all look alike */
	req("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	run(FWD_HIDE, NULL, "Mozilla/5.0 (generic)");
	expect("User-Agent", "Mozilla/5.0 (generic)");
}

/* ----------------------------------------------------------------- ENOSPC */

static void test_enospc_scratch(void **state)
{
	const struct fwd_conf c = {.mode = FWD_XFF | FWD_XFF_APPEND | FWD_VIA, .pseudonym = "e"};
	/* "1.1.1.1, 192.0.2.1" "http" "example.com" "1.1 a, 1.1 e" */
	const size_t need = 18 + 4 + 11 + 12;
	struct h1_fieldset before;
	char small[64];
	size_t used = 0;

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.1.1.1\r\nVia: 1.1 "
	    "a\r\n\r\n");
	h1_fieldset_add(&F->drop, 0);
	F->nr_add = 1;
	before = F->drop;
	memset(small, 'Z', sizeof(small));
	assert_int_equal(fwd_request(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 16, &F->nr_add,
				     small, need - 1, &used),
			 -ENOSPC);
	assert_int_equal(used, need);
	assert_int_equal(F->nr_add, 1);
	assert_memory_equal(&F->drop, &before, sizeof(before));
	assert_int_equal(small[need - 1], 'Z'); /* nothing past cap */
	assert_int_equal(fwd_request(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 16, &F->nr_add,
				     NULL, 0, &used),
			 -ENOSPC);
	assert_int_equal(used, need);
	/* exactly enough */
	assert_int_equal(fwd_request(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 16, &F->nr_add,
				     small, need, &used),
			 0);
	assert_int_equal(used, need);
	assert_int_equal(F->nr_add, 5);
	assert_memory_equal(small, "1.1.1.1, 192.0.2.1httpexample.com1.1 a, 1.1 e", need);
}

static void test_enospc_add(void **state)
{
	const struct fwd_conf c = {.mode = FWD_XFF | FWD_VIA, .pseudonym = "e"};
	struct h1_fieldset before;
	size_t nr = 2, used = 0;

	(void)state;
	req("GET / HTTP/1.1\r\nHost: example.com\r\nVia: 1.1 a\r\n\r\n");
	before = F->drop;
	/* four fields to add, room for three after the two already there */
	assert_int_equal(fwd_request(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 5, &nr,
				     F->scratch, sizeof(F->scratch), &used),
			 -ENOSPC);
	assert_int_equal(nr, 2);
	assert_memory_equal(&F->drop, &before, sizeof(before));
	assert_int_equal(fwd_request(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 6, &nr,
				     F->scratch, sizeof(F->scratch), NULL),
			 0);
	assert_int_equal(nr, 6);
	assert_true(h1_fieldset_has(&F->drop, 1));
}

/* ------------------------------------------------------------- bad input */

static void test_einval(void **state)
{
	const struct fwd_conf c = {.mode = FWD_XFF};
	const struct fwd_conf by = {.mode = FWD_FORWARDED | FWD_FORWARDED_BY};
	const struct fwd_conf bad = {.mode = FWD_VIA};
	static const char rsp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct h1_msg *r = malloc(sizeof(*r));
	struct fwd_conn noclient;
	size_t nr = 0, used;

	(void)state;
	assert_non_null(r);
	req("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
#define CALL(m_, b_, c_, cn_, d_, a_, cap_, nr_, s_, sc_)                                          \
	fwd_request(m_, b_, c_, cn_, d_, a_, cap_, nr_, s_, sc_, &used)
	assert_int_equal(CALL(NULL, F->in, &c, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 9),
			 -EINVAL);
	assert_int_equal(CALL(&F->m, NULL, &c, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 9),
			 -EINVAL);
	assert_int_equal(
	    CALL(&F->m, F->in, NULL, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(&F->m, F->in, &c, NULL, &F->drop, F->add, 16, &nr, F->scratch, 9),
			 -EINVAL);
	assert_int_equal(CALL(&F->m, F->in, &c, &F->conn, NULL, F->add, 16, &nr, F->scratch, 9),
			 -EINVAL);
	assert_int_equal(CALL(&F->m, F->in, &c, &F->conn, &F->drop, NULL, 16, &nr, F->scratch, 9),
			 -EINVAL);
	assert_int_equal(
	    CALL(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 16, NULL, F->scratch, 9), -EINVAL);
	assert_int_equal(CALL(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 16, &nr, NULL, 9),
			 -EINVAL);
	nr = 17;
	assert_int_equal(
	    CALL(&F->m, F->in, &c, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 99), -EINVAL);
	nr = 0;
	noclient = F->conn;
	noclient.client = NULL;
	assert_int_equal(
	    CALL(&F->m, F->in, &c, &noclient, &F->drop, F->add, 16, &nr, F->scratch, 99), -EINVAL);
	noclient = F->conn;
	noclient.proxy = NULL;
	assert_int_equal(
	    CALL(&F->m, F->in, &by, &noclient, &F->drop, F->add, 16, &nr, F->scratch, 99), -EINVAL);
	/* a Via without a pseudonym is refused by the checker, so here too */
	assert_int_equal(
	    CALL(&F->m, F->in, &bad, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 99), -EINVAL);
	/* a response, and a message that was never parsed */
	h1_msg_init(r, NULL);
	assert_int_equal(h1_parse_response(r, rsp, sizeof(rsp) - 1, H1_METH_GET), 0);
	assert_int_equal(CALL(r, rsp, &c, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 99),
			 -EINVAL);
	h1_msg_init(r, NULL);
	assert_int_equal(CALL(r, rsp, &c, &F->conn, &F->drop, F->add, 16, &nr, F->scratch, 99),
			 -EINVAL);
	/* a refused request */
	h1_msg_init(r, NULL);
	assert_int_equal(h1_parse_request(r, "GET / HTTP/1.1\r\n\r\n", 18), -EBADMSG);
	assert_int_equal(CALL(r, "GET / HTTP/1.1\r\n\r\n", &c, &F->conn, &F->drop, F->add, 16, &nr,
			      F->scratch, 99),
			 -EINVAL);
#undef CALL
	assert_int_equal(nr, 0);
	/* the client is not needed when nothing reports it */
	noclient = F->conn;
	noclient.client = NULL;
	nr = 0;
	{
		const struct fwd_conf via = {.mode = FWD_VIA, .pseudonym = "e"};

		assert_int_equal(fwd_request(&F->m, F->in, &via, &noclient, &F->drop, F->add, 16,
					     &nr, F->scratch, 99, NULL),
				 0);
		assert_int_equal(nr, 1);
	}
	free(r);
}

static void test_conf_check(void **state)
{
	static const struct {
		struct fwd_conf c;
		const char *msg; /* NULL: accepted */
	} cases[] = {
	    {{.mode = 0}, NULL},
	    {{.mode = FWD_XFF | FWD_XFF_APPEND | FWD_FORWARDED | FWD_FORWARDED_APPEND |
		      FWD_FORWARDED_PORT | FWD_FORWARDED_BY | FWD_REAL_IP | FWD_VIA,
	      .pseudonym = "edge-1.example.com:8080"},
	     NULL},
	    {{.mode = FWD_VIA, .pseudonym = "[2001:db8::1]:80"}, NULL},
	    {{.mode = FWD_HIDE, .user_agent = "Mozilla/5.0 (X11; Linux x86_64)"}, NULL},
	    {{.mode = FWD_HIDE}, NULL},
	    {{.mode = 0x200}, "unknown forwarding mode flag"},
	    {{.mode = FWD_XFF_APPEND}, "xff-append needs xff"},
	    {{.mode = FWD_FORWARDED_PORT | FWD_XFF}, "forwarded-append, -port and -by need"},
	    {{.mode = FWD_FORWARDED_APPEND}, "need forwarded"},
	    {{.mode = FWD_FORWARDED_BY}, "need forwarded"},
	    {{.mode = FWD_HIDE | FWD_XFF}, "hide adds no client identity"},
	    {{.mode = FWD_HIDE | FWD_VIA, .pseudonym = "e"}, "hide adds no client identity"},
	    {{.mode = FWD_VIA}, "via needs a pseudonym"},
	    {{.mode = FWD_VIA, .pseudonym = ""}, "via needs a pseudonym"},
	    {{.mode = FWD_VIA, .pseudonym = "a b"}, "via pseudonym: only token"},
	    {{.mode = FWD_VIA, .pseudonym = "a,b"}, "via pseudonym: only token"},
	    {{.mode = FWD_VIA, .pseudonym = "a(b)"}, "via pseudonym: only token"},
	    {{.mode = FWD_VIA, .pseudonym = "caf\xc3\xa9"}, "via pseudonym: only token"},
	    {{.mode = FWD_XFF, .user_agent = "x"}, "a user-agent replacement needs hide"},
	    {{.mode = FWD_HIDE, .user_agent = ""}, "user-agent must be 1 to 1024 bytes"},
	    {{.mode = FWD_HIDE, .user_agent = " x"}, "no surrounding whitespace"},
	    {{.mode = FWD_HIDE, .user_agent = "x\t"}, "no surrounding whitespace"},
	    {{.mode = FWD_HIDE, .user_agent = "x\r\nInjected: 1"}, "field-value characters only"},
	    {{.mode = FWD_HIDE, .user_agent = "x\x7f"}, "field-value characters only"},
	};
	char long_name[300], err[128];
	struct fwd_conf c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = fwd_conf_check(&cases[i].c, err, sizeof(err));

		if (!cases[i].msg) {
			if (rc)
				fail_msg("case %zu refused: %s", i, err);
			assert_string_equal(err, "");
			continue;
		}
		assert_int_equal(rc, -EINVAL);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].msg);
	}
	memset(long_name, 'a', sizeof(long_name));
	long_name[255] = '\0';
	c = (struct fwd_conf){.mode = FWD_VIA, .pseudonym = long_name};
	assert_int_equal(fwd_conf_check(&c, NULL, 0), 0);
	long_name[255] = 'a';
	long_name[256] = '\0';
	assert_int_equal(fwd_conf_check(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(fwd_conf_check(NULL, err, sizeof(err)), -EINVAL);
	/* a short buffer still gets a terminated (truncated) message */
	memset(err, 'Z', sizeof(err));
	assert_int_equal(fwd_conf_check(NULL, err, 4), -EINVAL);
	assert_int_equal(strlen(err), 3);
}

static void test_addr_str(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	char out[FWD_ADDR_STRLEN];

	(void)state;
	assert_int_equal(fwd_addr_str(sa4(&ss, "203.0.113.255", 1), out, sizeof(out)), 0);
	assert_string_equal(out, "203.0.113.255");
	assert_int_equal(
	    fwd_addr_str(sa6(&ss, "2001:0db8:0000:0000:0000:0000:0000:0001", 1), out, sizeof(out)),
	    0);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(fwd_addr_str(sa6(&ss, "::ffff:10.1.2.3", 1), out, sizeof(out)), 0);
	assert_string_equal(out, "10.1.2.3");
	/* ::10.1.2.3 (IPv4-compatible, deprecated) is not mapped: stays IPv6 */
	assert_int_equal(fwd_addr_str(sa6(&ss, "::1", 1), out, sizeof(out)), 0);
	assert_string_equal(out, "::1");
	assert_int_equal(
	    fwd_addr_str(sa6(&ss, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1), out, sizeof(out)),
	    0);
	assert_string_equal(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* a zone is not shown: the backend cannot use it */
	sa6(&ss, "fe80::1", 1);
	((struct sockaddr_in6 *)&ss)->sin6_scope_id = 2;
	assert_int_equal(fwd_addr_str((struct sockaddr *)&ss, out, sizeof(out)), 0);
	assert_string_equal(out, "fe80::1");
	assert_int_equal(fwd_addr_str((struct sockaddr *)&un, out, sizeof(out)), -EAFNOSUPPORT);
	assert_int_equal(fwd_addr_str(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(fwd_addr_str(sa4(&ss, "1.2.3.4", 1), NULL, 8), -EINVAL);
	/* "1.2.3.4" needs 8 bytes with its NUL */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(fwd_addr_str(sa4(&ss, "1.2.3.4", 1), out, 7), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(fwd_addr_str(sa4(&ss, "1.2.3.4", 1), out, 8), 0);
	assert_string_equal(out, "1.2.3.4");
	assert_int_equal(fwd_addr_str(sa4(&ss, "1.2.3.4", 1), out, 0), -ENOSPC);
}

static const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    T(test_xff_basic),
    T(test_xff_tls),
    T(test_xff_spoofed_dropped),
    T(test_xff_append_single),
    T(test_xff_append_combined),
    T(test_xff_append_none_yet),
    T(test_xff_append_skips_empty),
    T(test_xff_append_replaces_proto_host),
    T(test_xff_ipv6),
    T(test_xff_ipv4_mapped),
    T(test_xff_unix_client),
    T(test_xff_host_absolute_form),
    T(test_xff_host_with_port),
    T(test_xff_no_host_http10),
    T(test_real_ip),
    T(test_forwarded_ipv4),
    T(test_forwarded_ipv6_quoted),
    T(test_forwarded_port_ipv4),
    T(test_forwarded_port_ipv6),
    T(test_forwarded_host_quoted),
    T(test_forwarded_spoofed_dropped),
    T(test_forwarded_append),
    T(test_forwarded_by),
    T(test_forwarded_unknown_and_mapped),
    T(test_forwarded_no_host),
    T(test_via_add),
    T(test_via_http10),
    T(test_via_chain_combined),
    T(test_via_loop_detected),
    T(test_via_loop_not_fooled),
    T(test_via_loop_args),
    T(test_all_modes_order),
    T(test_mode_zero_noop),
    T(test_xff_leaves_the_rest),
    T(test_prior_drop_respected),
    T(test_appends_after_caller),
    T(test_hide_drops_exactly_listed),
    T(test_hide_case_insensitive),
    T(test_hide_user_agent),
    T(test_enospc_scratch),
    T(test_enospc_add),
    T(test_einval),
    T(test_conf_check),
    T(test_addr_str),
#undef T
};

int main(void)
{
	return cmocka_run_group_tests_name("fwd", tests, NULL, NULL);
}
