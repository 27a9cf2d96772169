// SPDX-License-Identifier: BSD-2-Clause
/*
 * Access log tests. Expected lines are written out in full; the local times
 * were taken from date(1) (TZ=Europe/Paris date -d @1700000000), the
 * escaping rule is restated from nginx's ngx_http_log_escape() table, and
 * JSON lines are parsed back with jansson and compared field by field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/alog.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD	      0xa5
#define LINE_MAX_     4096

#define T_WINTER 1700000000 /* 2023-11-14T22:13:20Z */
#define T_SUMMER 1690000000 /* 2023-07-22T04:26:40Z */

static struct sockaddr_storage client4, client6, client_mapped;

static void set_tz(const char *name, const char *posix)
{
	char path[128];

	/* the zone file if tzdata is installed, else the same rule in POSIX form */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	setenv("TZ", access(path, R_OK) == 0 ? name : posix, 1);
	tzset();
}

static void tz_utc(void)
{
	set_tz("UTC", "UTC0");
}

static void tz_paris(void)
{
	set_tz("Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3");
}

static void mk(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
}

#define S(str) str, sizeof(str) - 1

/* A complete request: every field set. */
static struct alog_rec base(void)
{
	return (struct alog_rec){
	    .client = (const struct sockaddr *)&client4,
	    .user = "alice",
	    .start = {T_WINTER, 123456789},
	    .duration_us = 12345,
	    .method = "GET",
	    .method_len = 3,
	    .target = "/a?b=1",
	    .target_len = 6,
	    .version = 11,
	    .status = 200,
	    .bytes_sent = 512,
	    .bytes_received = 0,
	    .referer = NULL,
	    .user_agent = S("curl/8.5.0"),
	    .host = S("example.com"),
	    .route = "api",
	    .backend = "10.0.0.2:80",
	    .verdict = "ok",
	    .upstream_ms = 3,
	};
}

/* Nothing but what every record has. */
static struct alog_rec bare(void)
{
	return (struct alog_rec){
	    .start = {T_WINTER, 0},
	    .upstream_ms = ALOG_UPSTREAM_NONE,
	};
}

typedef int (*fmt_fn)(const struct alog_rec *, char *, size_t, size_t *);

static void expect(fmt_fn fn, const struct alog_rec *r, const char *want)
{
	char out[LINE_MAX_];
	size_t len = 0;
	int rc = fn(r, out, sizeof(out), &len);

	if (rc)
		fail_msg("rc %d for \"%s\"", rc, want);
	if (len != strlen(want) || memcmp(out, want, len))
		fail_msg("got  \"%.*s\"\nwant \"%s\"", (int)len, out, want);
}

static int setup(void **state)
{
	(void)state;
	mk(&client4, "192.0.2.7", 51234);
	mk(&client6, "2001:db8::7", 443);
	mk(&client_mapped, "::ffff:198.51.100.9", 8080);
	tz_utc();
	return 0;
}

/* Back to UTC after each test, whatever zone it set. */
static int teardown(void **state)
{
	(void)state;
	tz_utc();
	return 0;
}

/* ---- format names ---- */

static void test_format_parse(void **state)
{
	static const struct {
		const char *s;
		enum alog_format f;
	} ok[] = {{"off", ALOG_OFF},
		  {"combined", ALOG_COMBINED},
		  {"combined-ext", ALOG_COMBINED_EXT},
		  {"json", ALOG_JSON}};
	static const char *const bad[] = {
	    "",	  "Combined", "JSON",	   "json ", " json", "combined_ext",
	    "on", "none",     "combinedx", "of"};
	enum alog_format f;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		f = (enum alog_format)99;
		assert_int_equal(alog_format_parse(ok[i].s, &f), 0);
		assert_int_equal(f, ok[i].f);
		assert_string_equal(alog_format_str(f), ok[i].s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		f = ALOG_JSON;
		assert_int_equal(alog_format_parse(bad[i], &f), -EINVAL);
		assert_int_equal(f, ALOG_JSON);
	}
	assert_int_equal(alog_format_parse(NULL, &f), -EINVAL);
	assert_int_equal(alog_format_parse("json", NULL), -EINVAL);
	assert_string_equal(alog_format_str((enum alog_format)4), "?");
	assert_string_equal(alog_format_str((enum alog_format) - 1), "?");
}

/* ---- combined ---- */

static void test_combined_utc(void **state)
{
	struct alog_rec r = base();

	(void)state;
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\"\n");
}

static void test_combined_paris(void **state)
{
	struct alog_rec r = base();

	(void)state;
	tz_paris();
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [14/Nov/2023:23:13:20 +0100] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\"\n");
	r.start.tv_sec = T_SUMMER;
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [22/Jul/2023:06:26:40 +0200] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\"\n");
}

static void test_combined_other_zones(void **state)
{
	static const struct {
		const char *name, *posix;
		long t;
		const char *when;
	} cases[] = {
	    {"America/New_York", "EST5EDT,M3.2.0,M11.1.0", T_WINTER, "14/Nov/2023:17:13:20 -0500"},
	    {"America/New_York", "EST5EDT,M3.2.0,M11.1.0", T_SUMMER, "22/Jul/2023:00:26:40 -0400"},
	    {"Asia/Kolkata", "IST-5:30", T_WINTER, "15/Nov/2023:03:43:20 +0530"},
	    {"America/St_Johns", "NST3:30NDT,M3.2.0,M11.1.0", T_WINTER,
	     "14/Nov/2023:18:43:20 -0330"},
	    {"America/St_Johns", "NST3:30NDT,M3.2.0,M11.1.0", T_SUMMER,
	     "22/Jul/2023:01:56:40 -0230"},
	    {"UTC", "UTC0", 0, "01/Jan/1970:00:00:00 +0000"},
	    {"UTC", "UTC0", 951782400, "29/Feb/2000:00:00:00 +0000"},
	    {"UTC", "UTC0", 253402300799L, "31/Dec/9999:23:59:59 +0000"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alog_rec r = bare();
		char want[128];

		set_tz(cases[i].name, cases[i].posix);
		r.start.tv_sec = cases[i].t;
		snprintf(want, sizeof(want), "- - - [%s] \"-\" 000 0 \"-\" \"-\"\n", cases[i].when);
		expect(alog_combined, &r, want);
	}
}

static void test_combined_month_names(void **state)
{
	static const char *const m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	/* the 15th of each month of 2024, noon UTC */
	static const long t[] = {1705320000, 1707998400, 1710504000, 1713182400,
				 1715774400, 1718452800, 1721044800, 1723723200,
				 1726401600, 1728993600, 1731672000, 1734264000};

	(void)state;
	for (size_t i = 0; i < 12; i++) {
		struct alog_rec r = bare();
		char want[128];

		r.start.tv_sec = t[i];
		snprintf(want, sizeof(want),
			 "- - - [15/%s/2024:12:00:00 +0000] \"-\" 000 0 \"-\" \"-\"\n", m[i]);
		expect(alog_combined, &r, want);
	}
}

static void test_combined_clients(void **state)
{
	struct alog_rec r = base();

	(void)state;
	r.client = (const struct sockaddr *)&client6;
	expect(alog_combined, &r,
	       "2001:db8::7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\"\n");
	/* a dual-stack socket's IPv4 client is logged as the IPv4 it is */
	r.client = (const struct sockaddr *)&client_mapped;
	expect(alog_combined, &r,
	       "198.51.100.9 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\"\n");
	r.client = NULL;
	expect(alog_combined, &r,
	       "- - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\"\n");
}

static void test_combined_http10_and_methods(void **state)
{
	struct alog_rec r = base();

	(void)state;
	r.version = 10;
	r.method = "POST";
	r.method_len = 4;
	r.target = "/form";
	r.target_len = 5;
	r.status = 201;
	r.bytes_sent = 0;
	r.bytes_received = 1000;
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"POST /form HTTP/1.0\" 201 0 "
	       "\"-\" \"curl/8.5.0\"\n");
	r.version = 11;
	r.method = "CONNECT";
	r.method_len = 7;
	r.target = "example.com:443";
	r.target_len = 15;
	expect(
	    alog_combined, &r,
	    "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"CONNECT example.com:443 HTTP/1.1\" "
	    "201 0 \"-\" \"curl/8.5.0\"\n");
	/* a stream of an HTTP/2 connection */
	r.version = 20;
	expect(
	    alog_combined, &r,
	    "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"CONNECT example.com:443 HTTP/2.0\" "
	    "201 0 \"-\" \"curl/8.5.0\"\n");
	r.version = 11;
	/* lengths are honoured: the bytes past them are not the field's */
	r.method = "GETX";
	r.method_len = 3;
	r.target = "/abc";
	r.target_len = 2;
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a HTTP/1.1\" "
	       "201 0 \"-\" \"curl/8.5.0\"\n");
}

static void test_combined_no_request(void **state)
{
	struct alog_rec r = bare();

	(void)state;
	/* a connection closed before a request line: nginx's "000", Apache's "-" */
	r.client = (const struct sockaddr *)&client4;
	expect(alog_combined, &r,
	       "192.0.2.7 - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\"\n");
	/* a 400 with no request line, target and version ignored */
	r.status = 400;
	r.target = "ignored";
	r.target_len = 7;
	r.version = 99;
	expect(alog_combined, &r,
	       "192.0.2.7 - - [14/Nov/2023:22:13:20 +0000] \"-\" 400 0 \"-\" \"-\"\n");
}

static void test_combined_status_and_bytes(void **state)
{
	struct alog_rec r = bare();

	(void)state;
	r.status = 100;
	r.bytes_sent = INT64_MAX;
	expect(alog_combined, &r,
	       "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 100 9223372036854775807 \"-\" \"-\"\n");
	r.status = 999;
	r.bytes_sent = 0;
	expect(alog_combined, &r, "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 999 0 \"-\" \"-\"\n");
}

static void test_combined_escape_quotes_backslash(void **state)
{
	struct alog_rec r = base();

	(void)state;
	r.user_agent = "say \"hi\" \\o/";
	r.user_agent_len = strlen(r.user_agent);
	r.referer = "http://x/\"";
	r.referer_len = strlen(r.referer);
	r.target = "/a\\b\"c";
	r.target_len = 6;
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a\\x5Cb\\x22c HTTP/1.1\" 200 "
	       "512 \"http://x/\\x22\" \"say \\x22hi\\x22 \\x5Co/\"\n");
}

static void test_combined_escape_control_and_high(void **state)
{
	static const char ua[] = "a\tb\r\nc\0d\x1f\x7f\x80\xc3\xa9\xff";
	struct alog_rec r = base();

	(void)state;
	r.user_agent = ua;
	r.user_agent_len = sizeof(ua) - 1;
	expect(alog_combined, &r,
	       "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"a\\x09b\\x0D\\x0Ac\\x00d\\x1F\\x7F\\x80\\xC3\\xA9\\xFF\"\n");
}

static void test_combined_escape_every_byte(void **state)
{
	char ua[256], want[LINE_MAX_], *w = want;
	struct alog_rec r = base();

	(void)state;
	for (int c = 0; c < 256; c++)
		ua[c] = (char)c;
	r.user_agent = ua;
	r.user_agent_len = sizeof(ua);
	r.referer = ua;
	r.referer_len = sizeof(ua);
	w += sprintf(w, "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" "
			"200 512 ");
	for (int f = 0; f < 2; f++) {
		*w++ = '"';
		/* nginx's table: 0x00-0x1f, '"', '\', 0x7f-0xff */
		for (int c = 0; c < 256; c++) {
			if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
				w += sprintf(w, "\\x%02X", c);
			else
				*w++ = (char)c;
		}
		*w++ = '"';
		*w++ = f == 0 ? ' ' : '\n';
	}
	*w = '\0';
	expect(alog_combined, &r, want);
}

static void test_combined_user_field(void **state)
{
	struct alog_rec r = bare();

	(void)state;
	/* unquoted: a space would shift every later field, so it is escaped */
	r.user = "john doe";
	expect(alog_combined, &r,
	       "- - john\\x20doe [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\"\n");
	r.user = "";
	expect(alog_combined, &r, "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\"\n");
	r.user = "\"q\"\\\xe2\x82\xac\n";
	expect(alog_combined, &r,
	       "- - \\x22q\\x22\\x5C\\xE2\\x82\\xAC\\x0A [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 "
	       "\"-\" \"-\"\n");
}

static void test_combined_empty_vs_absent(void **state)
{
	struct alog_rec r = bare();

	(void)state;
	/* a header sent empty is "", one not sent is "-" (as nginx) */
	r.referer = "";
	r.user_agent = "x";
	r.user_agent_len = 0;
	expect(alog_combined, &r, "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"\" \"\"\n");
}

static void check_enospc_every_cut(fmt_fn fn, const struct alog_rec *r)
{
	char full[LINE_MAX_];
	size_t n = 0, len;

	assert_int_equal(fn(r, full, sizeof(full), &n), 0);
	assert_true(n > 0 && full[n - 1] == '\n');
	/* measuring with no buffer */
	len = 0;
	assert_int_equal(fn(r, NULL, 0, &len), -ENOSPC);
	assert_int_equal(len, n);
	for (size_t cap = 0; cap <= n; cap++) {
		char *out = malloc(n + 16);

		assert_non_null(out);
		memset(out, GUARD, n + 16);
		len = 0;
		assert_int_equal(fn(r, out, cap, &len), cap < n ? -ENOSPC : 0);
		assert_int_equal(len, n);
		if (cap == n)
			assert_memory_equal(out, full, n);
		for (size_t k = cap; k < n + 16; k++)
			assert_int_equal((uint8_t)out[k], GUARD);
		free(out);
	}
}

static void test_combined_enospc_every_cut(void **state)
{
	struct alog_rec r = base();

	(void)state;
	check_enospc_every_cut(alog_combined, &r);
	r.user_agent = "\"\"\"";
	r.user_agent_len = 3;
	check_enospc_every_cut(alog_combined, &r);
	r = bare();
	check_enospc_every_cut(alog_combined, &r);
}

/* ---- combined-ext ---- */

static void test_combined_ext_line(void **state)
{
	struct alog_rec r = base();

	(void)state;
	expect(alog_combined_ext, &r,
	       "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	       "\"-\" \"curl/8.5.0\" \"example.com\" api 10.0.0.2:80 ok 12.345 3\n");
	r.backend = "[2001:db8::2]:8080";
	r.verdict = "502-connect";
	r.upstream_ms = 0;
	expect(
	    alog_combined_ext, &r,
	    "192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 512 "
	    "\"-\" \"curl/8.5.0\" \"example.com\" api [2001:db8::2]:8080 502-connect 12.345 0\n");
}

static void test_combined_ext_absent(void **state)
{
	struct alog_rec r = bare();

	(void)state;
	expect(alog_combined_ext, &r,
	       "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\" \"-\" - - - 0.000 -\n");
	r.route = "";
	r.backend = "";
	r.verdict = "";
	r.host = "";
	expect(alog_combined_ext, &r,
	       "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\" \"\" - - - 0.000 -\n");
}

static void test_combined_ext_escapes(void **state)
{
	struct alog_rec r = bare();

	(void)state;
	r.host = "ex\"ample\x01";
	r.host_len = strlen(r.host);
	r.route = "my route";
	r.backend = "a\\b";
	r.verdict = "bad\tverdict";
	r.upstream_ms = UINT32_MAX - 1;
	expect(alog_combined_ext, &r,
	       "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\" \"ex\\x22ample\\x01\" "
	       "my\\x20route a\\x5Cb bad\\x09verdict 0.000 4294967294\n");
}

static void test_combined_ext_durations(void **state)
{
	static const struct {
		uint64_t us;
		const char *ms;
	} cases[] = {
	    {0, "0.000"},
	    {1, "0.001"},
	    {999, "0.999"},
	    {1000, "1.000"},
	    {1001, "1.001"},
	    {12345, "12.345"},
	    {123456789, "123456.789"},
	    {UINT64_MAX, "18446744073709551.615"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alog_rec r = bare();
		char want[160];

		r.duration_us = cases[i].us;
		snprintf(
		    want, sizeof(want),
		    "- - - [14/Nov/2023:22:13:20 +0000] \"-\" 000 0 \"-\" \"-\" \"-\" - - - %s -\n",
		    cases[i].ms);
		expect(alog_combined_ext, &r, want);
	}
}

static void test_combined_ext_enospc_every_cut(void **state)
{
	struct alog_rec r = base();

	(void)state;
	check_enospc_every_cut(alog_combined_ext, &r);
	r = bare();
	check_enospc_every_cut(alog_combined_ext, &r);
}

/* ---- JSON ---- */

static json_t *json_line(const struct alog_rec *r)
{
	char out[LINE_MAX_ * 2];
	json_error_t err;
	size_t len = 0;
	json_t *o;

	assert_int_equal(alog_json(r, out, sizeof(out), &len), 0);
	assert_true(len > 1);
	assert_int_equal(out[len - 1], '\n');
	/* one line: the only newline is the last byte */
	assert_null(memchr(out, '\n', len - 1));
	/* \u0000 is valid JSON; jansson only reads it back when asked */
	o = json_loadb(out, len - 1, JSON_ALLOW_NUL, &err);
	if (!o)
		fail_msg("bad JSON (%s): %.*s", err.text, (int)len, out);
	assert_true(json_is_object(o));
	return o;
}

static void assert_jstr(json_t *o, const char *key, const char *want, size_t want_len)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		fail_msg("no key %s", key);
	if (!want) {
		if (!json_is_null(v))
			fail_msg("%s: not null", key);
		return;
	}
	if (!json_is_string(v))
		fail_msg("%s: not a string", key);
	assert_int_equal(json_string_length(v), want_len);
	assert_memory_equal(json_string_value(v), want, want_len);
}

static void assert_jcstr(json_t *o, const char *key, const char *want)
{
	assert_jstr(o, key, want, want ? strlen(want) : 0);
}

static void assert_jint(json_t *o, const char *key, json_int_t want)
{
	json_t *v = json_object_get(o, key);

	if (!v || !json_is_integer(v))
		fail_msg("%s: not an integer", key);
	assert_int_equal(json_integer_value(v), want);
}

static void assert_jnull(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v || !json_is_null(v))
		fail_msg("%s: not null", key);
}

static void test_json_every_field(void **state)
{
	struct alog_rec r = base();
	json_t *o, *d;

	(void)state;
	r.referer = "https://example.com/start";
	r.referer_len = strlen(r.referer);
	r.bytes_received = 77;
	o = json_line(&r);
	assert_int_equal(json_object_size(o), 18);
	assert_jcstr(o, "time", "2023-11-14T22:13:20.123+00:00");
	assert_jcstr(o, "client", "192.0.2.7");
	assert_jint(o, "client_port", 51234);
	assert_jcstr(o, "user", "alice");
	assert_jcstr(o, "method", "GET");
	assert_jcstr(o, "target", "/a?b=1");
	assert_jcstr(o, "protocol", "HTTP/1.1");
	json_decref(o);
	r.version = 20;
	o = json_line(&r);
	assert_jcstr(o, "protocol", "HTTP/2.0");
	assert_jint(o, "status", 200);
	assert_jint(o, "bytes_sent", 512);
	assert_jint(o, "bytes_received", 77);
	d = json_object_get(o, "duration_ms");
	assert_true(json_is_real(d));
	assert_true(json_real_value(d) == 12.345);
	assert_jcstr(o, "referer", "https://example.com/start");
	assert_jcstr(o, "user_agent", "curl/8.5.0");
	assert_jcstr(o, "host", "example.com");
	assert_jcstr(o, "route", "api");
	assert_jcstr(o, "backend", "10.0.0.2:80");
	assert_jcstr(o, "verdict", "ok");
	assert_jint(o, "upstream_ms", 3);
	json_decref(o);
}

static void test_json_exact_text(void **state)
{
	struct alog_rec r = base();

	(void)state;
	/* the key order is part of the format: people grep these lines */
	expect(alog_json, &r,
	       "{\"time\":\"2023-11-14T22:13:20.123+00:00\",\"client\":\"192.0.2.7\","
	       "\"client_port\":51234,\"user\":\"alice\",\"method\":\"GET\",\"target\":\"/a?b=1\","
	       "\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes_sent\":512,\"bytes_received\":0,"
	       "\"duration_ms\":12.345,\"referer\":null,\"user_agent\":\"curl/8.5.0\","
	       "\"host\":\"example.com\",\"route\":\"api\",\"backend\":\"10.0.0.2:80\","
	       "\"verdict\":\"ok\",\"upstream_ms\":3}\n");
	r = bare();
	expect(alog_json, &r,
	       "{\"time\":\"2023-11-14T22:13:20.000+00:00\",\"client\":null,\"client_port\":null,"
	       "\"user\":null,\"method\":null,\"target\":null,\"protocol\":null,\"status\":null,"
	       "\"bytes_sent\":0,\"bytes_received\":0,\"duration_ms\":0.0,\"referer\":null,"
	       "\"user_agent\":null,\"host\":null,\"route\":null,\"backend\":null,"
	       "\"verdict\":null,\"upstream_ms\":null}\n");
}

static void test_json_absent_fields(void **state)
{
	struct alog_rec r = bare();
	json_t *o;

	(void)state;
	r.status = 502;
	r.target = "ignored without a method";
	r.target_len = 5;
	r.route = "";
	o = json_line(&r);
	assert_int_equal(json_object_size(o), 18);
	assert_jnull(o, "client");
	assert_jnull(o, "client_port");
	assert_jnull(o, "user");
	assert_jnull(o, "method");
	assert_jnull(o, "target");
	assert_jnull(o, "protocol");
	assert_jint(o, "status", 502);
	assert_jnull(o, "referer");
	assert_jnull(o, "user_agent");
	assert_jnull(o, "host");
	/* empty is not absent in JSON: the route name was "" */
	assert_jcstr(o, "route", "");
	assert_jnull(o, "backend");
	assert_jnull(o, "verdict");
	assert_jnull(o, "upstream_ms");
	json_decref(o);
}

static void test_json_time(void **state)
{
	static const struct {
		const char *name, *posix;
		long sec, nsec;
		const char *want;
	} cases[] = {
	    {"UTC", "UTC0", T_WINTER, 0, "2023-11-14T22:13:20.000+00:00"},
	    {"UTC", "UTC0", T_WINTER, 999999999, "2023-11-14T22:13:20.999+00:00"},
	    {"UTC", "UTC0", T_WINTER, 1000000, "2023-11-14T22:13:20.001+00:00"},
	    {"UTC", "UTC0", T_WINTER, 999999, "2023-11-14T22:13:20.000+00:00"},
	    {"Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3", T_WINTER, 500000000,
	     "2023-11-14T23:13:20.500+01:00"},
	    {"Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3", T_SUMMER, 0,
	     "2023-07-22T06:26:40.000+02:00"},
	    {"America/New_York", "EST5EDT,M3.2.0,M11.1.0", T_WINTER, 0,
	     "2023-11-14T17:13:20.000-05:00"},
	    {"Asia/Kolkata", "IST-5:30", T_WINTER, 0, "2023-11-15T03:43:20.000+05:30"},
	    {"America/St_Johns", "NST3:30NDT,M3.2.0,M11.1.0", T_SUMMER, 0,
	     "2023-07-22T01:56:40.000-02:30"},
	    {"UTC", "UTC0", -1, 0, "1969-12-31T23:59:59.000+00:00"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alog_rec r = bare();
		json_t *o;

		set_tz(cases[i].name, cases[i].posix);
		r.start.tv_sec = cases[i].sec;
		r.start.tv_nsec = cases[i].nsec;
		o = json_line(&r);
		assert_jcstr(o, "time", cases[i].want);
		json_decref(o);
	}
}

static void test_json_duration_precision(void **state)
{
	static const struct {
		uint64_t us;
		const char *text;
	} cases[] = {
	    {0, "0.0"},
	    {1, "0.001"},
	    {10, "0.01"},
	    {999, "0.999"},
	    {1000, "1.0"},
	    {1500, "1.5"},
	    {12345, "12.345"},
	    {7000000, "7000.0"},
	    {123456789, "123456.789"},
	    {86400000001ull, "86400000.001"},
	    {1000000000000001ull, "1000000000000.001"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alog_rec r = bare();
		char out[LINE_MAX_], want[64];
		size_t len = 0;

		r.duration_us = cases[i].us;
		assert_int_equal(alog_json(&r, out, sizeof(out), &len), 0);
		snprintf(want, sizeof(want), "\"duration_ms\":%s,", cases[i].text);
		out[len] = '\0';
		if (!strstr(out, want))
			fail_msg("want %s in %s", want, out);
	}
}

static void test_json_clients(void **state)
{
	struct alog_rec r = base();
	json_t *o;

	(void)state;
	r.client = (const struct sockaddr *)&client6;
	o = json_line(&r);
	assert_jcstr(o, "client", "2001:db8::7");
	assert_jint(o, "client_port", 443);
	json_decref(o);
	r.client = (const struct sockaddr *)&client_mapped;
	o = json_line(&r);
	assert_jcstr(o, "client", "198.51.100.9");
	assert_jint(o, "client_port", 8080);
	json_decref(o);
}

static void test_json_escaping_by_jansson(void **state)
{
	static const char ua[] = "q\"b\\s/\t\r\n\0\x01\x7f end";
	struct alog_rec r = base();
	char out[LINE_MAX_];
	size_t len = 0;
	json_t *o;

	(void)state;
	/* valid UTF-8, controls and NUL included, comes back byte for byte */
	r.user_agent = ua;
	r.user_agent_len = sizeof(ua) - 1;
	r.user = "\xc3\xa9l\xc3\xa8ve \xe2\x82\xac \xf0\x9f\x98\x80";
	o = json_line(&r);
	assert_jstr(o, "user_agent", ua, sizeof(ua) - 1);
	assert_jcstr(o, "user", r.user);
	json_decref(o);
	assert_int_equal(alog_json(&r, out, sizeof(out), &len), 0);
	out[len] = '\0';
	assert_non_null(
	    strstr(out, "\"user_agent\":\"q\\\"b\\\\s/\\t\\r\\n\\u0000\\u0001\x7f end\""));
}

static void test_json_invalid_utf8(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    {"\xff\xfe"
	     "abc",
	     5, "\\xFF\\xFEabc"},
	    {"ab\xe2\x82", 4, "ab\\xE2\\x82"},			   /* truncated sequence */
	    {"\xe2\x82\xac\xe2\x82", 5, "\xe2\x82\xac\\xE2\\x82"}, /* good then truncated */
	    {"\xc0\xaf", 2, "\\xC0\\xAF"},			   /* overlong '/' */
	    {"\xe0\x80\xaf", 3, "\\xE0\\x80\\xAF"},		   /* overlong, 3 bytes */
	    {"\xf0\x80\x80\xaf", 4, "\\xF0\\x80\\x80\\xAF"},	   /* overlong, 4 bytes */
	    {"\xed\xa0\x80", 3, "\\xED\\xA0\\x80"},		   /* surrogate D800 */
	    {"\xed\x9f\xbf", 3, "\xed\x9f\xbf"},		   /* U+D7FF: fine */
	    {"\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf"},	   /* U+10FFFF: fine */
	    {"\xf4\x90\x80\x80", 4, "\\xF4\\x90\\x80\\x80"},	   /* past U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, "\\xF5\\x80\\x80\\x80"},
	    {"\x80", 1, "\\x80"}, /* lone continuation */
	    {"\xc3\xa9\xc3", 3, "\xc3\xa9\\xC3"},
	    {"\xc3(", 2, "\\xC3("}, /* lead then ASCII */
	    {"a\xfe"
	     "b\xff"
	     "c",
	     5, "a\\xFEb\\xFFc"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alog_rec r = base();
		json_t *o;

		r.user_agent = cases[i].in;
		r.user_agent_len = cases[i].len;
		r.referer = cases[i].in;
		r.referer_len = cases[i].len;
		r.host = cases[i].in;
		r.host_len = cases[i].len;
		r.target = cases[i].in;
		r.target_len = cases[i].len;
		r.method = cases[i].in;
		r.method_len = cases[i].len;
		o = json_line(&r);
		assert_jcstr(o, "user_agent", cases[i].want);
		assert_jcstr(o, "referer", cases[i].want);
		assert_jcstr(o, "host", cases[i].want);
		assert_jcstr(o, "target", cases[i].want);
		assert_jcstr(o, "method", cases[i].want);
		json_decref(o);
	}
	/* NUL-terminated fields too */
	{
		struct alog_rec r = base();
		json_t *o;

		r.user = "b\xe9"
			 "b\xe9";
		r.route = "\xff";
		r.backend = "\xc0";
		r.verdict = "ok\x80";
		o = json_line(&r);
		assert_jcstr(o, "user", "b\\xE9b\\xE9");
		assert_jcstr(o, "route", "\\xFF");
		assert_jcstr(o, "backend", "\\xC0");
		assert_jcstr(o, "verdict", "ok\\x80");
		json_decref(o);
	}
}

/* "\xHH" (uppercase) back to the byte; everything else as is. */
static size_t unescape_x(const char *s, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (i + 3 < n && s[i] == '\\' && s[i + 1] == 'x' && s[i + 2] && s[i + 3] &&
		    strchr("0123456789ABCDEF", s[i + 2]) && strchr("0123456789ABCDEF", s[i + 3]) &&
		    sscanf(s + i + 2, "%2X", &v) == 1) {
			out[k++] = (char)v;
			i += 3;
		} else {
			out[k++] = s[i];
		}
	}
	return k;
}

/*
 * The oracle is jansson itself: a string it takes as is must come back
 * unchanged; one it refuses must come back escaped, and unescaping must give
 * the input back.
 */
static void utf8_oracle(const char *in, size_t n)
{
	struct alog_rec r = bare();
	json_t *o, *v, *raw = json_stringn(in, n);
	char back[64];
	size_t k;

	r.user_agent = in;
	r.user_agent_len = n;
	o = json_line(&r);
	v = json_object_get(o, "user_agent");
	assert_true(json_is_string(v));
	if (raw) {
		assert_int_equal(json_string_length(v), n);
		assert_memory_equal(json_string_value(v), in, n);
		json_decref(raw);
	} else {
		assert_true(json_string_length(v) > n);
		assert_true(json_string_length(v) < sizeof(back));
		k = unescape_x(json_string_value(v), json_string_length(v), back);
		assert_int_equal(k, n);
		assert_memory_equal(back, in, n);
	}
	json_decref(o);
}

static void test_json_utf8_every_two_bytes(void **state)
{
	(void)state;
	for (int a = 0; a < 256; a++) {
		char one = (char)a;

		utf8_oracle(&one, 1);
		for (int b = 0; b < 256; b++) {
			char two[2] = {(char)a, (char)b};

			utf8_oracle(two, 2);
		}
	}
}

static void test_json_utf8_random(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	(void)state;
	/*
	 * Mostly bytes >= 0x80, where the sequences are, and lead bytes often
	 * enough to build 3- and 4-byte sequences; no backslash, so that the
	 * unescaping in the oracle is unambiguous.
	 */
	for (int iter = 0; iter < 30000; iter++) {
		char s[12];
		size_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = 1 + (size_t)(x % sizeof(s));
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			switch (x % 4) {
			case 0:
				s[i] = (char)(0xe0 + (x >> 8) % 0x18); /* e0-f7 */
				break;
			case 1:
				s[i] = (char)(0x80 + (x >> 8) % 0x40); /* continuation */
				break;
			case 2:
				s[i] = (char)(0xc0 + (x >> 8) % 0x40);
				break;
			default:
				s[i] = (char)(0x20 + (x >> 8) % 0x5f);
				if (s[i] == '\\')
					s[i] = 'x';
			}
		}
		utf8_oracle(s, n);
	}
}

static void test_json_enospc_every_cut(void **state)
{
	struct alog_rec r = base();

	(void)state;
	check_enospc_every_cut(alog_json, &r);
	r = bare();
	check_enospc_every_cut(alog_json, &r);
	r = base();
	r.user_agent = "\xff\xfe";
	r.user_agent_len = 2;
	check_enospc_every_cut(alog_json, &r);
}

/* ---- bad records, dispatch ---- */

static void test_invalid_records(void **state)
{
	static const fmt_fn fns[] = {alog_combined, alog_combined_ext, alog_json};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	char out[LINE_MAX_];
	size_t len;

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(fns); f++) {
		struct alog_rec r;

#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		r = base();                                                                        \
		stmt;                                                                              \
		len = 12345;                                                                       \
		assert_int_equal(fns[f](&r, out, sizeof(out), &len), -EINVAL);                     \
		assert_int_equal(len, 12345);                                                      \
	} while (0)

		BAD(r.client = (const struct sockaddr *)&un);
		BAD(r.start.tv_nsec = -1);
		BAD(r.start.tv_nsec = 1000000000L);
		BAD(r.method = NULL);  /* method_len 3 */
		BAD(r.method_len = 0); /* empty method */
		BAD(r.target = NULL);
		BAD(r.target_len = 0);
		BAD(r.version = 0);
		BAD(r.version = 9);
		BAD(r.version = 12);
		BAD(r.version = 21); /* HTTP/2 is 20 */
		BAD(r.status = 1);
		BAD(r.status = 99);
		BAD(r.status = 1000);
		BAD(r.status = -200);
		BAD(r.bytes_sent = (uint64_t)INT64_MAX + 1);
		BAD(r.bytes_received = UINT64_MAX);
		BAD((r.referer = NULL, r.referer_len = 1));
		BAD(r.user_agent = NULL);	     /* user_agent_len 10 */
		BAD(r.host = NULL);		     /* host_len 11 */
		BAD(r.start.tv_sec = 253402300800L); /* year 10000 */
#undef BAD
		r = base();
		assert_int_equal(fns[f](NULL, out, sizeof(out), &len), -EINVAL);
		assert_int_equal(fns[f](&r, out, sizeof(out), NULL), -EINVAL);
		assert_int_equal(fns[f](&r, NULL, 10, &len), -EINVAL);
		/* the boundaries themselves are fine */
		r.status = 100;
		r.bytes_sent = INT64_MAX;
		r.bytes_received = INT64_MAX;
		r.start.tv_nsec = 999999999;
		assert_int_equal(fns[f](&r, out, sizeof(out), &len), 0);
	}
}

static void test_line_dispatch(void **state)
{
	static const struct {
		enum alog_format f;
		fmt_fn fn;
	} cases[] = {{ALOG_COMBINED, alog_combined},
		     {ALOG_COMBINED_EXT, alog_combined_ext},
		     {ALOG_JSON, alog_json}};
	struct alog_rec r = base();
	char a[LINE_MAX_], b[LINE_MAX_];
	size_t la = 0, lb = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(alog_line(cases[i].f, &r, a, sizeof(a), &la), 0);
		assert_int_equal(cases[i].fn(&r, b, sizeof(b), &lb), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		assert_int_equal(alog_line(cases[i].f, &r, a, 10, &la), -ENOSPC);
		assert_int_equal(la, lb);
	}
	la = 99;
	assert_int_equal(alog_line(ALOG_OFF, &r, a, sizeof(a), &la), 0);
	assert_int_equal(la, 0);
	assert_int_equal(alog_line(ALOG_OFF, NULL, NULL, 0, &la), 0);
	assert_int_equal(alog_line(ALOG_OFF, &r, a, sizeof(a), NULL), -EINVAL);
	assert_int_equal(alog_line((enum alog_format)7, &r, a, sizeof(a), &la), -EINVAL);
}

static void test_long_fields(void **state)
{
	struct alog_rec r = base();
	size_t n = 8192, len = 0, need;
	char *target = malloc(n), *out;

	(void)state;
	assert_non_null(target);
	target[0] = '/';
	memset(target + 1, 'a', n - 1);
	for (size_t i = 1; i < n; i += 7)
		target[i] = '"'; /* 4 bytes each once escaped */
	r.target = target;
	r.target_len = n;
	assert_int_equal(alog_combined(&r, NULL, 0, &need), -ENOSPC);
	out = malloc(need);
	assert_non_null(out);
	assert_int_equal(alog_combined(&r, out, need, &len), 0);
	assert_int_equal(len, need);
	assert_int_equal(out[len - 1], '\n');
	free(out);
	/* the JSON line for the same record, sized the same way */
	assert_int_equal(alog_json(&r, NULL, 0, &need), -ENOSPC);
	out = malloc(need);
	assert_non_null(out);
	assert_int_equal(alog_json(&r, out, need, &len), 0);
	assert_int_equal(len, need);
	free(out);
	free(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_format_parse, teardown),
	    cmocka_unit_test_teardown(test_combined_utc, teardown),
	    cmocka_unit_test_teardown(test_combined_paris, teardown),
	    cmocka_unit_test_teardown(test_combined_other_zones, teardown),
	    cmocka_unit_test_teardown(test_combined_month_names, teardown),
	    cmocka_unit_test_teardown(test_combined_clients, teardown),
	    cmocka_unit_test_teardown(test_combined_http10_and_methods, teardown),
	    cmocka_unit_test_teardown(test_combined_no_request, teardown),
	    cmocka_unit_test_teardown(test_combined_status_and_bytes, teardown),
	    cmocka_unit_test_teardown(test_combined_escape_quotes_backslash, teardown),
	    cmocka_unit_test_teardown(test_combined_escape_control_and_high, teardown),
	    cmocka_unit_test_teardown(test_combined_escape_every_byte, teardown),
	    cmocka_unit_test_teardown(test_combined_user_field, teardown),
	    cmocka_unit_test_teardown(test_combined_empty_vs_absent, teardown),
	    cmocka_unit_test_teardown(test_combined_enospc_every_cut, teardown),
	    cmocka_unit_test_teardown(test_combined_ext_line, teardown),
	    cmocka_unit_test_teardown(test_combined_ext_absent, teardown),
	    cmocka_unit_test_teardown(test_combined_ext_escapes, teardown),
	    cmocka_unit_test_teardown(test_combined_ext_durations, teardown),
	    cmocka_unit_test_teardown(test_combined_ext_enospc_every_cut, teardown),
	    cmocka_unit_test_teardown(test_json_every_field, teardown),
	    cmocka_unit_test_teardown(test_json_exact_text, teardown),
	    cmocka_unit_test_teardown(test_json_absent_fields, teardown),
	    cmocka_unit_test_teardown(test_json_time, teardown),
	    cmocka_unit_test_teardown(test_json_duration_precision, teardown),
	    cmocka_unit_test_teardown(test_json_clients, teardown),
	    cmocka_unit_test_teardown(test_json_escaping_by_jansson, teardown),
	    cmocka_unit_test_teardown(test_json_invalid_utf8, teardown),
	    cmocka_unit_test_teardown(test_json_utf8_every_two_bytes, teardown),
	    cmocka_unit_test_teardown(test_json_utf8_random, teardown),
	    cmocka_unit_test_teardown(test_json_enospc_every_cut, teardown),
	    cmocka_unit_test_teardown(test_invalid_records, teardown),
	    cmocka_unit_test_teardown(test_line_dispatch, teardown),
	    cmocka_unit_test_teardown(test_long_fields, teardown),
	};

	return cmocka_run_group_tests_name("alog", tests, setup, NULL);
}
