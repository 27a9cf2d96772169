// SPDX-License-Identifier: BSD-2-Clause
/*
 * PROXY protocol tests. Expected bytes are written out by hand from the spec
 * (the v1 example line, the v2 layout), the CRC32c is checked against the
 * RFC 3720 vectors and a table-driven implementation local to this file, and
 * every parse runs on a heap buffer of exactly the given length so ASan
 * catches a read past it.
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
#include <sys/un.h>

#include "net/proxyproto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD	      0xa5

static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static struct sockaddr_storage mk(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* pp_parse on an exact-size heap copy. */
static int parse_exact(const void *buf, size_t len, struct pp_info *info)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	rc = pp_parse(copy, len, info);
	free(copy);
	return rc;
}

static void assert_addr_eq(const struct sockaddr_storage *got, const struct sockaddr_storage *want)
{
	assert_int_equal(got->ss_family, want->ss_family);
	if (want->ss_family == AF_INET)
		assert_memory_equal(got, want, sizeof(struct sockaddr_in));
	else
		assert_memory_equal(got, want, sizeof(struct sockaddr_in6));
}

/* Table-driven CRC32c (reflected 0x82f63b78), independent of the module's. */
static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
	uint32_t table[256], crc = 0xffffffffu;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

/* ---- CRC32c ---- */

static void test_crc32c_vectors(void **state)
{
	uint8_t buf[32];

	(void)state;
	/* The "check" value of CRC-32C, and RFC 3720 B.4. */
	assert_int_equal(pp_crc32c(0, "123456789", 9), 0xe3069283u);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pp_crc32c(0, buf, 32), 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(pp_crc32c(0, buf, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(pp_crc32c(0, buf, 32), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(pp_crc32c(0, buf, 32), 0x113fdb5cu);
	assert_int_equal(pp_crc32c(0, buf, 0), 0);
	assert_int_equal(pp_crc32c(0, buf, 32), ref_crc32c(buf, 32));
}

static void test_crc32c_continues(void **state)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s);

	(void)state;
	for (size_t cut = 0; cut <= n; cut++)
		assert_int_equal(pp_crc32c(pp_crc32c(0, s, cut), s + cut, n - cut),
				 ref_crc32c((const uint8_t *)s, n));
}

/* ---- v1 writer ---- */

static void v1_expect(const struct sockaddr *s, const struct sockaddr *d, const char *want)
{
	char out[PP_V1_MAX + 8];
	size_t len = 0;

	assert_int_equal(pp_v1_write(s, d, out, sizeof(out), &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
}

static void test_v1_write_tcp4_spec_example(void **state)
{
	struct sockaddr_storage s = mk("192.168.0.1", 56324), d = mk("192.168.0.11", 443);

	(void)state;
	v1_expect(SA(s), SA(d), "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
	s = mk("0.0.0.0", 0);
	d = mk("255.255.255.255", 65535);
	v1_expect(SA(s), SA(d), "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n");
}

static void test_v1_write_tcp6_rfc5952(void **state)
{
	static const struct {
		const char *in, *text;
	} cases[] = {
	    {"2001:db8::1", "2001:db8::1"},
	    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    /* first of equal runs */
	    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},	      /* the longest run */
	    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* one zero: not compressed */
	    {"::", "::"},
	    {"::1", "::1"},
	    {"1::", "1::"},
	    {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"}, /* one zero group: never "::" */
	    {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
	    {"FE80::ABCD", "fe80::abcd"},
	    {"::102:304", "::102:304"}, /* no dotted tail, unlike inet_ntop */
	    {"64:ff9b::c000:201", "64:ff9b::c000:201"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage s = mk(cases[i].in, 1), d = mk("2001:db8::2", 80);
		char want[PP_V1_MAX + 1];

		snprintf(want, sizeof(want), "PROXY TCP6 %s 2001:db8::2 1 80\r\n", cases[i].text);
		v1_expect(SA(s), SA(d), want);
	}
}

static void test_v1_write_v4mapped(void **state)
{
	struct sockaddr_storage s = mk("::ffff:192.0.2.1", 1234), d = mk("::ffff:198.51.100.7", 80);
	struct sockaddr_storage d4 = mk("198.51.100.7", 80);

	(void)state;
	v1_expect(SA(s), SA(d), "PROXY TCP4 192.0.2.1 198.51.100.7 1234 80\r\n");
	/* a mapped source with a plain IPv4 destination is IPv4 too */
	v1_expect(SA(s), SA(d4), "PROXY TCP4 192.0.2.1 198.51.100.7 1234 80\r\n");
	v1_expect(SA(d4), SA(s), "PROXY TCP4 198.51.100.7 192.0.2.1 80 1234\r\n");
}

static void test_v1_write_unknown(void **state)
{
	struct sockaddr_storage v4 = mk("192.0.2.1", 1), v6 = mk("2001:db8::1", 2);
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/run/x.sock"};
	char out[64];
	size_t len = 0;

	(void)state;
	v1_expect(SA(v4), SA(v6), "PROXY UNKNOWN\r\n");
	v1_expect(SA(v6), SA(v4), "PROXY UNKNOWN\r\n");
	v1_expect(NULL, NULL, "PROXY UNKNOWN\r\n");
	v1_expect((const struct sockaddr *)&un, (const struct sockaddr *)&un, "PROXY UNKNOWN\r\n");
	v1_expect(SA(v4), (const struct sockaddr *)&un, "PROXY UNKNOWN\r\n");
	assert_int_equal(pp_v1_write(SA(v4), NULL, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v1_write(NULL, SA(v4), out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v1_write(SA(v4), SA(v4), out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(pp_v1_write(SA(v4), SA(v4), NULL, 10, &len), -EINVAL);
}

static void test_v1_write_longest(void **state)
{
	struct sockaddr_storage s = mk("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	struct sockaddr_storage d = mk("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	char out[PP_V1_MAX];
	size_t len = 0;

	(void)state;
	/* the spec's TCP6 maximum: 104 bytes */
	assert_int_equal(pp_v1_write(SA(s), SA(d), out, sizeof(out), &len), 0);
	assert_int_equal(len, 104);
}

static void test_v1_write_enospc_every_cut(void **state)
{
	struct sockaddr_storage s = mk("2001:db8::1", 40000), d = mk("2001:db8::2", 443);
	const char *want = "PROXY TCP6 2001:db8::1 2001:db8::2 40000 443\r\n";
	size_t n = strlen(want);

	(void)state;
	for (size_t cap = 0; cap <= n; cap++) {
		char out[128];
		size_t len = 0;

		memset(out, GUARD, sizeof(out));
		if (cap < n) {
			assert_int_equal(pp_v1_write(SA(s), SA(d), cap ? out : NULL, cap, &len),
					 -ENOSPC);
		} else {
			assert_int_equal(pp_v1_write(SA(s), SA(d), out, cap, &len), 0);
			assert_memory_equal(out, want, n);
		}
		assert_int_equal(len, n);
		for (size_t k = cap; k < sizeof(out); k++)
			assert_int_equal((uint8_t)out[k], GUARD);
	}
}

/* ---- v1 parser ---- */

static void test_v1_parse_spec_example(void **state)
{
	const char *msg = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
			  "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
	struct sockaddr_storage s = mk("192.168.0.1", 56324), d = mk("192.168.0.11", 443);
	struct pp_info info;
	struct pp_tlv tlv;
	size_t pos = 0;

	(void)state;
	assert_int_equal(parse_exact(msg, strlen(msg), &info), 47);
	assert_int_equal(info.version, 1);
	assert_false(info.local);
	assert_int_equal(info.family, AF_INET);
	assert_int_equal(info.socktype, SOCK_STREAM);
	assert_false(info.crc32c);
	assert_addr_eq(&info.src, &s);
	assert_addr_eq(&info.dst, &d);
	assert_int_equal(pp_tlv_next(msg, &info, &pos, &tlv), -ENOENT);
}

static void test_v1_parse_tcp6_forms(void **state)
{
	static const struct {
		const char *text, *canon;
	} cases[] = {
	    {"2001:db8::1", "2001:db8::1"},
	    {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	    {"::", "::"},
	    {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage s = mk(cases[i].canon, 0), d = mk("::1", 65535);
		char line[PP_V1_MAX + 1];
		struct pp_info info;
		int n =
		    snprintf(line, sizeof(line), "PROXY TCP6 %s ::1 0 65535\r\n", cases[i].text);

		assert_int_equal(parse_exact(line, (size_t)n, &info), n);
		assert_int_equal(info.family, AF_INET6);
		assert_addr_eq(&info.src, &s);
		assert_addr_eq(&info.dst, &d);
	}
}

static void test_v1_parse_unknown(void **state)
{
	const char *worst = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct pp_info info;

	(void)state;
	assert_int_equal(parse_exact("PROXY UNKNOWN\r\nabc", 18, &info), 15);
	assert_int_equal(info.version, 1);
	assert_true(info.local);
	assert_int_equal(info.family, AF_UNSPEC);
	assert_int_equal(info.socktype, 0);
	assert_int_equal(info.src.ss_family, AF_UNSPEC);
	/* the spec's worst case, 107 bytes: accepted, the rest ignored */
	assert_int_equal(strlen(worst), PP_V1_MAX);
	assert_int_equal(parse_exact(worst, PP_V1_MAX, &info), PP_V1_MAX);
	assert_true(info.local);
	/* anything printable after UNKNOWN SP is ignored, even nonsense */
	assert_int_equal(parse_exact("PROXY UNKNOWN x y z!\r\n", 22, &info), 22);
	assert_int_equal(parse_exact("PROXY UNKNOWN \r\n", 16, &info), 16);
}

static void test_v1_parse_length_limit(void **state)
{
	/* 108 bytes: one digit too many in the worst case */
	const char *over = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n";
	/* valid grammar, but dotted tails make it 116 bytes */
	const char *dotted = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
			     "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n";
	char big[300];
	struct pp_info info;

	(void)state;
	assert_int_equal(strlen(over), PP_V1_MAX + 1);
	assert_int_equal(parse_exact(over, strlen(over), &info), -EBADMSG);
	assert_int_equal(parse_exact(dotted, strlen(dotted), &info), -EBADMSG);
	/* no CRLF within 107 bytes: refused as soon as 106 bytes show no CR */
	memset(big, 'a', sizeof(big));
	memcpy(big, "PROXY UNKNOWN ", 14);
	for (size_t n = 1; n <= sizeof(big); n++)
		assert_int_equal(parse_exact(big, n, &info),
				 n < PP_V1_MAX - 1 ? -EAGAIN : -EBADMSG);
	/* a CR at offset 106 would end a 108-byte line */
	big[106] = '\r';
	big[107] = '\n';
	assert_int_equal(parse_exact(big, 108, &info), -EBADMSG);
	big[105] = '\r';
	big[106] = '\n';
	assert_int_equal(parse_exact(big, 107, &info), 107);
}

static void test_v1_parse_truncated_every_length(void **state)
{
	static const char *const lines[] = {
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	    "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n",
	    "PROXY UNKNOWN\r\n",
	    "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
	};
	struct pp_info info;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		size_t n = strlen(lines[i]);

		for (size_t k = 0; k < n; k++)
			assert_int_equal(parse_exact(lines[i], k, &info), -EAGAIN);
		assert_int_equal(parse_exact(lines[i], n, &info), (int)n);
	}
}

static void test_v1_parse_ports(void **state)
{
	static const struct {
		const char *p;
		int port; /* -1: refused */
	} cases[] = {
	    {"0", 0},	   {"1", 1},	   {"80", 80},	 {"65535", 65535}, {"65536", -1},
	    {"99999", -1}, {"100000", -1}, {"00", -1},	 {"0443", -1},	   {"-1", -1},
	    {"+1", -1},	   {"1a", -1},	   {"0x50", -1}, {"", -1},	   {"1 ", -1},
	};
	struct pp_info info;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char line[128];
		int n = snprintf(line, sizeof(line), "PROXY TCP4 1.2.3.4 5.6.7.8 %s 80\r\n",
				 cases[i].p);
		int rc = parse_exact(line, (size_t)n, &info);

		if (cases[i].port < 0) {
			assert_int_equal(rc, -EBADMSG);
			continue;
		}
		assert_int_equal(rc, n);
		assert_int_equal(ntohs(((struct sockaddr_in *)&info.src)->sin_port), cases[i].port);
		/* and as destination port */
		n = snprintf(line, sizeof(line), "PROXY TCP4 1.2.3.4 5.6.7.8 80 %s\r\n",
			     cases[i].p);
		assert_int_equal(parse_exact(line, (size_t)n, &info), n);
		assert_int_equal(ntohs(((struct sockaddr_in *)&info.dst)->sin_port), cases[i].port);
	}
}

static void test_v1_parse_ipv4_text(void **state)
{
	static const struct {
		const char *a;
		bool ok;
	} cases[] = {
	    {"0.0.0.0", true},	   {"255.255.255.255", true},
	    {"10.0.0.1", true},	   {"256.0.0.1", false},
	    {"1.2.3.256", false},  {"01.2.3.4", false},
	    {"1.2.3.04", false},   {"1.2.00.4", false},
	    {"1.2.3", false},	   {"1.2.3.4.5", false},
	    {"1.2.3.4.", false},   {".1.2.3", false},
	    {"1..2.3", false},	   {"1.2.3.1234", false},
	    {"a.b.c.d", false},	   {"::1", false},
	    {"1.2.3.-4", false},   {"0x1.2.3.4", false},
	    {"1234.1.1.1", false}, {"", false},
	};
	struct pp_info info;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char line[128];
		int n = snprintf(line, sizeof(line), "PROXY TCP4 %s 5.6.7.8 1 2\r\n", cases[i].a);

		assert_int_equal(parse_exact(line, (size_t)n, &info), cases[i].ok ? n : -EBADMSG);
		n = snprintf(line, sizeof(line), "PROXY TCP4 5.6.7.8 %s 1 2\r\n", cases[i].a);
		assert_int_equal(parse_exact(line, (size_t)n, &info), cases[i].ok ? n : -EBADMSG);
	}
}

static void test_v1_parse_ipv6_text(void **state)
{
	static const char *const bad[] = {
	    "2001:db8:::1",   "1:2:3:4:5:6:7:8:9", "g::1",	   "fe80::1%eth0",
	    "2001:db8::1::2", "12345::1",	   "1.2.3.4",	   ":",
	    "[::1]",	      "::1/128",	   "2001:db8::1 ", "",
	};
	struct pp_info info;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char line[160];
		int n = snprintf(line, sizeof(line), "PROXY TCP6 %s ::1 1 2\r\n", bad[i]);

		assert_int_equal(parse_exact(line, (size_t)n, &info), -EBADMSG);
		n = snprintf(line, sizeof(line), "PROXY TCP6 ::1 %s 1 2\r\n", bad[i]);
		assert_int_equal(parse_exact(line, (size_t)n, &info), -EBADMSG);
	}
}

static void test_v1_parse_bad_grammar(void **state)
{
	static const struct {
		const char *name, *s;
		size_t len; /* 0: strlen */
	} cases[] = {
	    {"missing CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0},
	    {"CR then not LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n", 0},
	    {"CR CR LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", 0},
	    {"LF inside", "PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n", 0},
	    {"double space after PROXY", "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"double space between", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 0},
	    {"trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0},
	    {"tab separator", "PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0},
	    {"extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 0},
	    {"no fields", "PROXY TCP4\r\n", 0},
	    {"no fields SP", "PROXY TCP4 \r\n", 0},
	    {"empty", "PROXY \r\n", 0},
	    {"no SP", "PROXY\r\n", 0},
	    {"TCP5", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"lowercase tcp4", "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"lowercase proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"PROXYTCP4", "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"UNKNOWNX", "PROXY UNKNOWNX\r\n", 0},
	    {"UNKNOW", "PROXY UNKNOW\r\n", 0},
	    {"UNKNOWN tab", "PROXY UNKNOWN\tx\r\n", 0},
	    {"UNKNOWN high byte", "PROXY UNKNOWN \xc3\xa9\r\n", 0},
	    {"TCP6 with IPv4", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	    {"TCP4 with IPv6", "PROXY TCP4 ::1 ::2 1 2\r\n", 0},
	    {"mixed families", "PROXY TCP6 ::1 5.6.7.8 1 2\r\n", 0},
	    {"NUL inside", "PROXY TCP4 1.2.3.4\0005.6.7.8 1 2\r\n", 32},
	    {"DEL inside", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x7f\r\n", 0},
	    {"high byte", "PROXY TCP4 1.2.3.4 5.6.7.8 1 \xb2\r\n", 0},
	    {"leading space", " PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0},
	};
	struct pp_info info;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = cases[i].len ? cases[i].len : strlen(cases[i].s);
		int rc = parse_exact(cases[i].s, n, &info);

		if (rc != -EBADMSG)
			fail_msg("%s: got %d", cases[i].name, rc);
	}
}

static void test_v1_parse_early_refusal(void **state)
{
	struct pp_info info;

	(void)state;
	/* refused before the CRLF arrives: the sender sees the abort at once */
	assert_int_equal(parse_exact("PROXX", 5, &info), -EBADMSG);
	assert_int_equal(parse_exact("PROXY TCP4 1.2.3.4\n", 19, &info), -EBADMSG);
	assert_int_equal(parse_exact("PROXY TCP4 \xff", 12, &info), -EBADMSG);
	assert_int_equal(parse_exact("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx", 32, &info), -EBADMSG);
	/* ... but a valid-looking prefix waits */
	assert_int_equal(parse_exact("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", 31, &info), -EAGAIN);
}

static void test_v1_roundtrip(void **state)
{
	static const struct {
		const char *s, *d;
		uint16_t sp, dp;
	} cases[] = {
	    {"192.0.2.1", "198.51.100.2", 12345, 80},
	    {"0.0.0.0", "255.255.255.255", 0, 65535},
	    {"2001:db8::1", "2001:db8:0:1::2", 65535, 443},
	    {"::", "::1", 1, 2},
	    {"fe80::1:2:3:4", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1000, 1001},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage s = mk(cases[i].s, cases[i].sp),
					d = mk(cases[i].d, cases[i].dp);
		char out[PP_V1_MAX];
		struct pp_info info;
		size_t len = 0;

		assert_int_equal(pp_v1_write(SA(s), SA(d), out, sizeof(out), &len), 0);
		assert_int_equal(parse_exact(out, len, &info), (int)len);
		assert_false(info.local);
		assert_int_equal(info.family, s.ss_family);
		assert_addr_eq(&info.src, &s);
		assert_addr_eq(&info.dst, &d);
	}
}

/* ---- v2 writer ---- */

static void test_v2_write_tcp4_bytes(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x11, 0x00, 0x0c,	/* v2 PROXY, TCP over IPv4, 12 bytes */
		0xc0, 0x00, 0x02, 0x01,	/* 192.0.2.1 */
		0xc6, 0x33, 0x64, 0x0b,	/* 198.51.100.11 */
		0xdc, 0x04, 0x01, 0xbb,	/* 56324, 443 */
	};
	/* clang-format on */
	struct sockaddr_storage s = mk("192.0.2.1", 56324), d = mk("198.51.100.11", 443);
	char out[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), NULL, 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, len);
	/* mapped addresses are IPv4 in v2 too */
	s = mk("::ffff:192.0.2.1", 56324);
	assert_int_equal(pp_v2_write(SA(s), SA(d), NULL, 0, out, sizeof(out), &len), 0);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_v2_write_tcp6_bytes(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x21, 0x00, 0x24,	/* v2 PROXY, TCP over IPv6, 36 bytes */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,	/* 2001:db8::1 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,	/* 2001:db8::2 */
		0x04, 0xd2, 0x00, 0x50,	/* 1234, 80 */
	};
	/* clang-format on */
	struct sockaddr_storage s = mk("2001:db8::1", 1234), d = mk("2001:db8::2", 80);
	char out[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), NULL, 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, len);
}

static void test_v2_write_mixed_maps_to_v6(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x21, 0x00, 0x24,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x01,	/* ::ffff:192.0.2.1 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,	/* 2001:db8::2 */
		0x00, 0x07, 0x00, 0x50,	/* 7, 80 */
	};
	/* clang-format on */
	struct sockaddr_storage s = mk("192.0.2.1", 7), d = mk("2001:db8::2", 80);
	char out[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), NULL, 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, len);
}

static void test_v2_write_local_and_unspec(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/x"};
	struct sockaddr_storage v4 = mk("192.0.2.1", 1);
	uint8_t want[16];
	char out[64];
	size_t len = 0;

	(void)state;
	memcpy(want, sig, 12);
	want[12] = 0x20; /* v2 LOCAL */
	want[13] = 0x00;
	want[14] = 0;
	want[15] = 0;
	assert_int_equal(pp_v2_write(NULL, NULL, NULL, 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, 16);
	assert_memory_equal(out, want, 16);
	/* a family v2 is not asked to carry: PROXY with UNSPEC, no addresses */
	want[12] = 0x21;
	assert_int_equal(pp_v2_write((const struct sockaddr *)&un, (const struct sockaddr *)&un,
				     NULL, 0, out, sizeof(out), &len),
			 0);
	assert_int_equal(len, 16);
	assert_memory_equal(out, want, 16);
	assert_int_equal(pp_v2_write(SA(v4), NULL, NULL, 0, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(NULL, SA(v4), NULL, 0, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(v4), SA(v4), NULL, 1, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(v4), SA(v4), NULL, 0, NULL, 5, &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(v4), SA(v4), NULL, 0, out, sizeof(out), NULL), -EINVAL);
}

static void test_v2_write_tlvs_and_crc_bytes(void **state)
{
	struct sockaddr_storage s = mk("192.0.2.1", 56324), d = mk("198.51.100.11", 443);
	const struct pp_tlv tlvs[] = {
	    {PP2_TYPE_AUTHORITY, 11, "example.com"},
	    {PP2_TYPE_UNIQUE_ID, 3, "abc"},
	    {PP2_TYPE_CRC32C, 0, NULL},
	    {PP2_TYPE_NOOP, 0, NULL},
	};
	uint8_t want[16 + 12 + 14 + 6 + 7 + 3];
	uint8_t *w = want;
	char out[128];
	size_t len = 0;
	uint32_t crc;

	(void)state;
	memcpy(w, sig, 12);
	w += 12;
	memcpy(w, "\x21\x11\x00\x2a", 4); /* 12 + 14 + 6 + 7 + 3 = 42 */
	w += 4;
	memcpy(w, "\xc0\x00\x02\x01\xc6\x33\x64\x0b\xdc\x04\x01\xbb", 12);
	w += 12;
	memcpy(w,
	       "\x02\x00\x0b"
	       "example.com",
	       14);
	w += 14;
	memcpy(w,
	       "\x05\x00\x03"
	       "abc",
	       6);
	w += 6;
	memcpy(w, "\x03\x00\x04\x00\x00\x00\x00", 7);
	w += 7;
	memcpy(w, "\x04\x00\x00", 3);
	crc = ref_crc32c(want, sizeof(want));
	want[16 + 12 + 14 + 6 + 3] = (uint8_t)(crc >> 24);
	want[16 + 12 + 14 + 6 + 4] = (uint8_t)(crc >> 16);
	want[16 + 12 + 14 + 6 + 5] = (uint8_t)(crc >> 8);
	want[16 + 12 + 14 + 6 + 6] = (uint8_t)crc;

	assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, ARRAY_SIZE(tlvs), out, sizeof(out), &len),
			 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, len);
}

static void test_v2_write_enospc_every_cut(void **state)
{
	struct sockaddr_storage s = mk("2001:db8::1", 1), d = mk("2001:db8::2", 2);
	const struct pp_tlv tlvs[] = {{PP2_TYPE_AUTHORITY, 4, "host"}, {PP2_TYPE_CRC32C, 4, NULL}};
	const size_t n = 16 + 36 + 7 + 7;
	char full[128];
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, 2, full, sizeof(full), &len), 0);
	assert_int_equal(len, n);
	for (size_t cap = 0; cap <= n; cap++) {
		char out[128];

		memset(out, GUARD, sizeof(out));
		len = 0;
		assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, 2, cap ? out : NULL, cap, &len),
				 cap < n ? -ENOSPC : 0);
		assert_int_equal(len, n);
		if (cap == n)
			assert_memory_equal(out, full, n);
		for (size_t k = cap; k < sizeof(out); k++)
			assert_int_equal((uint8_t)out[k], GUARD);
	}
}

static void test_v2_write_bad_tlvs(void **state)
{
	struct sockaddr_storage s = mk("192.0.2.1", 1), d = mk("192.0.2.2", 2);
	static char big[65535];
	uint8_t ssl_bad[] = {0x01, 0, 0, 0, 0, 0x21, 0x00, 0x05, 'T', 'L', 'S'};
	uint8_t ssl_ok[] = {0x01, 0, 0, 0, 0, 0x21, 0x00, 0x03, 'T', 'L', 'S'};
	char id[PP2_UNIQUE_ID_MAX + 1];
	char out[256];
	size_t len;

	(void)state;
	memset(id, 'i', sizeof(id));
	struct pp_tlv t_id_ok = {PP2_TYPE_UNIQUE_ID, PP2_UNIQUE_ID_MAX, id};
	struct pp_tlv t_id_long = {PP2_TYPE_UNIQUE_ID, PP2_UNIQUE_ID_MAX + 1, id};
	struct pp_tlv t_null = {PP2_TYPE_AUTHORITY, 3, NULL};
	struct pp_tlv t_crc2[] = {{PP2_TYPE_CRC32C, 4, NULL}, {PP2_TYPE_CRC32C, 4, NULL}};
	struct pp_tlv t_ssl_short = {PP2_TYPE_SSL, 4, ssl_ok};
	struct pp_tlv t_ssl_bad = {PP2_TYPE_SSL, sizeof(ssl_bad), ssl_bad};
	struct pp_tlv t_ssl_ok = {PP2_TYPE_SSL, sizeof(ssl_ok), ssl_ok};
	/* 12 + 3 + 65521 = 65536: one more than the length field holds */
	struct pp_tlv t_big = {PP2_TYPE_NOOP, 65521, big};
	struct pp_tlv t_fit = {PP2_TYPE_NOOP, 65520, big};

	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_id_ok, 1, out, sizeof(out), &len), 0);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_id_long, 1, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_null, 1, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(s), SA(d), t_crc2, 2, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_ssl_short, 1, out, sizeof(out), &len),
			 -EINVAL);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_ssl_bad, 1, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_ssl_ok, 1, out, sizeof(out), &len), 0);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_big, 1, NULL, 0, &len), -EINVAL);
	assert_int_equal(pp_v2_write(SA(s), SA(d), &t_fit, 1, NULL, 0, &len), -ENOSPC);
	assert_int_equal(len, PP_V2_MAX);
}

/* ---- v2 parser ---- */

/* Write, parse back, compare addresses and every TLV. */
static void v2_roundtrip(const char *sip, const char *dip, const struct pp_tlv *tlvs, size_t nr,
			 bool crc)
{
	struct sockaddr_storage s = mk(sip, 40001), d = mk(dip, 443);
	char out[1024];
	struct pp_info info;
	struct pp_tlv t;
	size_t len = 0, pos = 0;

	assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, nr, out, sizeof(out), &len), 0);
	assert_int_equal(parse_exact(out, len, &info), (int)len);
	assert_int_equal(info.version, 2);
	assert_false(info.local);
	assert_int_equal(info.family, s.ss_family);
	assert_int_equal(info.socktype, SOCK_STREAM);
	assert_int_equal(info.crc32c, crc);
	assert_addr_eq(&info.src, &s);
	assert_addr_eq(&info.dst, &d);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(pp_tlv_next(out, &info, &pos, &t), 0);
		assert_int_equal(t.type, tlvs[i].type);
		if (t.type == PP2_TYPE_CRC32C) {
			assert_int_equal(t.len, 4);
			continue;
		}
		assert_int_equal(t.len, tlvs[i].len);
		if (t.len)
			assert_memory_equal(t.value, tlvs[i].value, t.len);
	}
	assert_int_equal(pp_tlv_next(out, &info, &pos, &t), -ENOENT);
}

static void test_v2_roundtrip_plain(void **state)
{
	(void)state;
	v2_roundtrip("192.0.2.1", "198.51.100.2", NULL, 0, false);
	v2_roundtrip("2001:db8::1", "2001:db8::2", NULL, 0, false);
	v2_roundtrip("0.0.0.0", "255.255.255.255", NULL, 0, false);
}

static void test_v2_roundtrip_tlvs(void **state)
{
	const struct pp_tlv tlvs[] = {
	    {PP2_TYPE_AUTHORITY, 15, "www.example.org"},
	    {PP2_TYPE_ALPN, 8, "http/1.1"},
	    {PP2_TYPE_UNIQUE_ID, 16, "0123456789abcdef"},
	    {0xe0, 0, NULL}, /* custom, empty */
	    {PP2_TYPE_NETNS, 4, "blue"},
	};

	(void)state;
	v2_roundtrip("192.0.2.1", "198.51.100.2", tlvs, ARRAY_SIZE(tlvs), false);
	v2_roundtrip("2001:db8::1", "2001:db8::2", tlvs, ARRAY_SIZE(tlvs), false);
}

static void test_v2_roundtrip_crc(void **state)
{
	const struct pp_tlv only[] = {{PP2_TYPE_CRC32C, 0, NULL}};
	const struct pp_tlv first[] = {{PP2_TYPE_CRC32C, 0, NULL}, {PP2_TYPE_AUTHORITY, 1, "h"}};
	const struct pp_tlv last[] = {{PP2_TYPE_AUTHORITY, 1, "h"}, {PP2_TYPE_CRC32C, 4, "junk"}};

	(void)state;
	v2_roundtrip("192.0.2.1", "198.51.100.2", only, 1, true);
	v2_roundtrip("2001:db8::1", "2001:db8::2", only, 1, true);
	v2_roundtrip("192.0.2.1", "198.51.100.2", first, 2, true);
	v2_roundtrip("2001:db8::1", "2001:db8::2", last, 2, true);
}

static void test_v2_parse_local(void **state)
{
	const struct pp_tlv tlvs[] = {{PP2_TYPE_CRC32C, 0, NULL}, {PP2_TYPE_UNIQUE_ID, 2, "id"}};
	uint8_t hdr[16 + 12 + 5];
	char out[64];
	struct pp_info info;
	struct pp_tlv t;
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(NULL, NULL, NULL, 0, out, sizeof(out), &len), 0);
	assert_int_equal(parse_exact(out, len, &info), 16);
	assert_true(info.local);
	assert_int_equal(info.family, AF_UNSPEC);
	assert_int_equal(info.socktype, 0);
	assert_int_equal(info.src.ss_family, AF_UNSPEC);

	/* LOCAL with TLVs after an UNSPEC (empty) address block */
	assert_int_equal(pp_v2_write(NULL, NULL, tlvs, 2, out, sizeof(out), &len), 0);
	assert_int_equal(parse_exact(out, len, &info), 16 + 7 + 5);
	assert_true(info.local);
	assert_true(info.crc32c);
	assert_int_equal(pp_tlv_find(out, &info, PP2_TYPE_UNIQUE_ID, &t), 0);
	assert_int_equal(t.len, 2);
	assert_memory_equal(t.value, "id", 2);

	/* LOCAL with an IPv4 block: the addresses are read past and ignored */
	memcpy(hdr, sig, 12);
	memcpy(hdr + 12, "\x20\x11\x00\x11", 4);
	memcpy(hdr + 16, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
	memcpy(hdr + 28, "\x02\x00\x02hi", 5);
	assert_int_equal(parse_exact(hdr, sizeof(hdr), &info), (int)sizeof(hdr));
	assert_true(info.local);
	assert_int_equal(info.family, AF_UNSPEC);
	assert_int_equal(info.src.ss_family, AF_UNSPEC);
	assert_int_equal(pp_tlv_find((const char *)hdr, &info, PP2_TYPE_AUTHORITY, &t), 0);
	assert_memory_equal(t.value, "hi", 2);
}

/* A v2 header: sig, ver_cmd, fam, then body[0, n) with the length set to n. */
static size_t v2_build(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *body, size_t n)
{
	memcpy(out, sig, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
	if (n)
		memcpy(out + 16, body, n);
	return 16 + n;
}

static void test_v2_parse_udp_and_unix(void **state)
{
	uint8_t body[216], hdr[16 + 216];
	struct sockaddr_storage s = mk("10.1.2.3", 53), d = mk("10.3.2.1", 5353);
	struct sockaddr_un *un;
	struct pp_info info;
	size_t n;

	(void)state;
	memcpy(body, "\x0a\x01\x02\x03\x0a\x03\x02\x01\x00\x35\x14\xe9", 12);
	n = v2_build(hdr, 0x21, 0x12, body, 12);
	assert_int_equal(parse_exact(hdr, n, &info), 28);
	assert_int_equal(info.family, AF_INET);
	assert_int_equal(info.socktype, SOCK_DGRAM);
	assert_addr_eq(&info.src, &s);
	assert_addr_eq(&info.dst, &d);

	memset(body, 0, sizeof(body));
	strcpy((char *)body, "/run/client.sock");
	strcpy((char *)body + 108, "/run/server.sock");
	for (uint8_t fam = 0x31; fam <= 0x32; fam++) {
		n = v2_build(hdr, 0x21, fam, body, 216);
		assert_int_equal(parse_exact(hdr, n, &info), 232);
		assert_int_equal(info.family, AF_UNIX);
		assert_int_equal(info.socktype, fam == 0x31 ? SOCK_STREAM : SOCK_DGRAM);
		un = (struct sockaddr_un *)&info.src;
		assert_int_equal(un->sun_family, AF_UNIX);
		assert_string_equal(un->sun_path, "/run/client.sock");
		un = (struct sockaddr_un *)&info.dst;
		assert_string_equal(un->sun_path, "/run/server.sock");
	}
}

static void test_v2_parse_proxy_unspec(void **state)
{
	uint8_t hdr[64];
	struct pp_info info;
	size_t n;

	(void)state;
	/* PROXY with UNSPEC: no addresses to use, the TLVs start at once */
	n = v2_build(hdr, 0x21, 0x00, "\x02\x00\x01x", 4);
	assert_int_equal(parse_exact(hdr, n, &info), 20);
	assert_true(info.local);
	assert_int_equal(info.family, AF_UNSPEC);
	assert_int_equal(info.tlv_off, 16);
	assert_int_equal(info.tlv_len, 4);
}

static void test_v2_parse_truncated_every_length(void **state)
{
	const struct pp_tlv tlvs[] = {{PP2_TYPE_AUTHORITY, 11, "example.com"},
				      {PP2_TYPE_CRC32C, 0, NULL}};
	struct sockaddr_storage s = mk("2001:db8::1", 1), d = mk("2001:db8::2", 2);
	char out[128];
	struct pp_info info;
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, 2, out, sizeof(out), &len), 0);
	for (size_t k = 0; k < len; k++)
		assert_int_equal(parse_exact(out, k, &info), -EAGAIN);
	assert_int_equal(parse_exact(out, len, &info), (int)len);
	/* LOCAL, 16 bytes */
	assert_int_equal(pp_v2_write(NULL, NULL, NULL, 0, out, sizeof(out), &len), 0);
	for (size_t k = 0; k < len; k++)
		assert_int_equal(parse_exact(out, k, &info), -EAGAIN);
}

static void test_v2_parse_bad_signature(void **state)
{
	struct sockaddr_storage s = mk("192.0.2.1", 1), d = mk("192.0.2.2", 2);
	char out[64], bad[64];
	struct pp_info info;
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), NULL, 0, out, sizeof(out), &len), 0);
	for (size_t i = 0; i < 12; i++) {
		memcpy(bad, out, len);
		bad[i] ^= 0x40;
		assert_int_equal(parse_exact(bad, len, &info), -EBADMSG);
		/* refused as soon as the bad byte is seen */
		assert_int_equal(parse_exact(bad, i + 1, &info), -EBADMSG);
	}
	/* v1's first bytes, then v2's: neither */
	assert_int_equal(parse_exact("\r\n\r\n\0\r\nQUIX\n", 12, &info), -EBADMSG);
}

static void test_v2_parse_bad_version_command(void **state)
{
	uint8_t hdr[64], body[12] = {0};
	struct pp_info info;
	size_t n;

	(void)state;
	for (int vc = 0; vc < 256; vc++) {
		bool ok = vc == 0x20 || vc == 0x21;

		n = v2_build(hdr, (uint8_t)vc, 0x11, body, 12);
		assert_int_equal(parse_exact(hdr, n, &info), ok ? 28 : -EBADMSG);
		if (!ok) /* refused at byte 13 */
			assert_int_equal(parse_exact(hdr, 13, &info), -EBADMSG);
	}
}

static void test_v2_parse_every_family_byte(void **state)
{
	static uint8_t body[216], hdr[16 + 216];
	struct pp_info info;
	size_t n;

	(void)state;
	/*
	 * 216 zero bytes: whatever follows the family's addresses is a run of
	 * empty type-0 TLVs (204, 180 and 216 are multiples of 3), so only the
	 * family byte decides.
	 */
	for (int cmd = 0x20; cmd <= 0x21; cmd++) {
		for (int fam = 0; fam < 256; fam++) {
			bool ok = fam == 0x00 || fam == 0x11 || fam == 0x12 || fam == 0x21 ||
				  fam == 0x22 || fam == 0x31 || fam == 0x32;

			n = v2_build(hdr, (uint8_t)cmd, (uint8_t)fam, body, sizeof(body));
			assert_int_equal(parse_exact(hdr, n, &info), ok ? (int)n : -EBADMSG);
			if (!ok)
				assert_int_equal(parse_exact(hdr, 14, &info), -EBADMSG);
		}
	}
}

static void test_v2_parse_length_too_short(void **state)
{
	static const struct {
		uint8_t fam;
		size_t need;
	} fams[] = {{0x11, 12}, {0x12, 12}, {0x21, 36}, {0x22, 36}, {0x31, 216}, {0x32, 216}};
	uint8_t body[216] = {0}, hdr[16 + 216];
	struct pp_info info;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fams); i++) {
		for (int cmd = 0x20; cmd <= 0x21; cmd++) {
			n = v2_build(hdr, (uint8_t)cmd, fams[i].fam, body, fams[i].need - 1);
			assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
			/* known from the 16-byte header alone */
			assert_int_equal(parse_exact(hdr, 16, &info), -EBADMSG);
			n = v2_build(hdr, (uint8_t)cmd, fams[i].fam, body, fams[i].need);
			assert_int_equal(parse_exact(hdr, n, &info), (int)n);
		}
	}
}

static void test_v2_parse_tlv_overflow(void **state)
{
	uint8_t body[64], hdr[128];
	struct pp_info info;
	size_t n;

	(void)state;
	memset(body, 0, 12);
	/* a TLV claiming more bytes than the header holds */
	memcpy(body + 12,
	       "\x02\x00\x05"
	       "abcd",
	       7);
	n = v2_build(hdr, 0x21, 0x11, body, 19);
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
	/* ... even when the bytes are there past the header */
	memcpy(body + 12,
	       "\x02\x00\x05"
	       "abcde",
	       8);
	n = v2_build(hdr, 0x21, 0x11, body, 19);
	hdr[n] = 'e';
	assert_int_equal(parse_exact(hdr, n + 1, &info), -EBADMSG);
	/* one or two stray bytes: a TLV header cut short */
	memcpy(body + 12, "\x02\x00\x01x\x04", 5);
	n = v2_build(hdr, 0x21, 0x11, body, 17);
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
	memcpy(body + 12, "\x02\x00\x01x\x04\x00", 6);
	n = v2_build(hdr, 0x21, 0x11, body, 18);
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
	/* the same with the third byte: a valid empty NOOP */
	memcpy(body + 12, "\x02\x00\x01x\x04\x00\x00", 7);
	n = v2_build(hdr, 0x21, 0x11, body, 19);
	assert_int_equal(parse_exact(hdr, n, &info), 35);
}

static void test_v2_parse_bad_crc(void **state)
{
	const struct pp_tlv tlvs[] = {{PP2_TYPE_AUTHORITY, 11, "example.com"},
				      {PP2_TYPE_CRC32C, 0, NULL},
				      {PP2_TYPE_UNIQUE_ID, 4, "uid1"}};
	struct sockaddr_storage s = mk("192.0.2.1", 1), d = mk("192.0.2.2", 2);
	char out[128], bad[128];
	struct pp_info info;
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, 3, out, sizeof(out), &len), 0);
	assert_int_equal(parse_exact(out, len, &info), (int)len);
	/*
	 * Every single-bit error is caught, by the grammar or by the CRC, but
	 * in the CRC TLV's own type byte: that turns it into another TLV, and
	 * no checksum can vouch for its own presence.
	 */
	for (size_t i = 0; i < len; i++) {
		if (i == 16 + 12 + 14) {
			assert_int_equal(out[i], PP2_TYPE_CRC32C);
			continue;
		}
		for (int b = 0; b < 8; b++) {
			memcpy(bad, out, len);
			bad[i] ^= (char)(1 << b);
			if (i == 14 || i == 15) /* a longer length waits for more */
				assert_true(parse_exact(bad, len, &info) < 0);
			else
				assert_int_equal(parse_exact(bad, len, &info), -EBADMSG);
		}
	}
}

static void test_v2_parse_crc_tlv_rules(void **state)
{
	uint8_t body[64], hdr[128];
	struct pp_info info;
	size_t n;
	uint32_t crc;

	(void)state;
	memset(body, 0, 12);
	/* 3 and 5 bytes: not a CRC32c */
	memcpy(body + 12, "\x03\x00\x03\x00\x00\x00", 6);
	n = v2_build(hdr, 0x21, 0x11, body, 18);
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
	memcpy(body + 12, "\x03\x00\x05\x00\x00\x00\x00\x00", 8);
	n = v2_build(hdr, 0x21, 0x11, body, 20);
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
	/* two, both zero in the sum: still refused */
	memcpy(body + 12, "\x03\x00\x04\x00\x00\x00\x00\x03\x00\x04\x00\x00\x00\x00", 14);
	n = v2_build(hdr, 0x21, 0x11, body, 26);
	crc = ref_crc32c(hdr, n);
	for (int k = 0; k < 4; k++) {
		hdr[31 + k] = (uint8_t)(crc >> (24 - 8 * k));
		hdr[38 + k] = (uint8_t)(crc >> (24 - 8 * k));
	}
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
	/* one, right: accepted; the same value little endian: refused */
	memcpy(body + 12, "\x03\x00\x04\x00\x00\x00\x00", 7);
	n = v2_build(hdr, 0x21, 0x11, body, 19);
	crc = ref_crc32c(hdr, n);
	for (int k = 0; k < 4; k++)
		hdr[31 + k] = (uint8_t)(crc >> (24 - 8 * k));
	assert_int_equal(parse_exact(hdr, n, &info), 35);
	assert_true(info.crc32c);
	for (int k = 0; k < 4; k++)
		hdr[31 + k] = (uint8_t)(crc >> (8 * k));
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);
}

static void test_v2_parse_unique_id_and_ssl(void **state)
{
	uint8_t body[300], hdr[400];
	struct pp_info info;
	struct pp_tlv t;
	size_t n, pos = 0;

	(void)state;
	memset(body, 0, sizeof(body));
	body[12] = PP2_TYPE_UNIQUE_ID;
	body[14] = PP2_UNIQUE_ID_MAX;
	n = v2_build(hdr, 0x21, 0x11, body, 12 + 3 + PP2_UNIQUE_ID_MAX);
	assert_int_equal(parse_exact(hdr, n, &info), (int)n);
	body[14] = PP2_UNIQUE_ID_MAX + 1;
	n = v2_build(hdr, 0x21, 0x11, body, 12 + 3 + PP2_UNIQUE_ID_MAX + 1);
	assert_int_equal(parse_exact(hdr, n, &info), -EBADMSG);

	/* SSL: client 0x01, verify 0, VERSION "TLSv1.3", CN "a" */
	memset(body, 0, sizeof(body));
	memcpy(body + 12,
	       "\x20\x00\x13"
	       "\x01\x00\x00\x00\x00"
	       "\x21\x00\x07TLSv1.3"
	       "\x22\x00\x01"
	       "a",
	       22);
	n = v2_build(hdr, 0x21, 0x11, body, 34);
	assert_int_equal(parse_exact(hdr, n, &info), 50);
	assert_int_equal(pp_tlv_next((const char *)hdr, &info, &pos, &t), 0);
	assert_int_equal(t.type, PP2_TYPE_SSL);
	assert_int_equal(t.len, 19);
	assert_memory_equal((const uint8_t *)t.value + 8, "TLSv1.3", 7);
	/* a sub-TLV past the end of the SSL TLV */
	body[12 + 3 + 5 + 10 + 2] = 0x02;
	assert_int_equal(parse_exact(hdr, v2_build(hdr, 0x21, 0x11, body, 34), &info), -EBADMSG);
	/* shorter than client + verify */
	memcpy(body + 12, "\x20\x00\x04\x01\x00\x00\x00", 7);
	assert_int_equal(parse_exact(hdr, v2_build(hdr, 0x21, 0x11, body, 19), &info), -EBADMSG);
	/* exactly client + verify, no sub-TLVs */
	memcpy(body + 12, "\x20\x00\x05\x00\x00\x00\x00\x01", 8);
	assert_int_equal(parse_exact(hdr, v2_build(hdr, 0x21, 0x11, body, 20), &info), 36);
}

static void test_v2_parse_largest(void **state)
{
	uint8_t *hdr = calloc(1, PP_V2_MAX + 10);
	struct pp_info info;
	struct pp_tlv t;

	(void)state;
	assert_non_null(hdr);
	memcpy(hdr, sig, 12);
	hdr[12] = 0x21;
	hdr[13] = 0x11;
	hdr[14] = 0xff;
	hdr[15] = 0xff;
	/* after 12 address bytes, one NOOP of 65535 - 12 - 3 bytes */
	hdr[28] = PP2_TYPE_NOOP;
	hdr[29] = (uint8_t)((65535 - 15) >> 8);
	hdr[30] = (uint8_t)(65535 - 15);
	assert_int_equal(parse_exact(hdr, PP_V2_MAX + 10, &info), PP_V2_MAX);
	assert_int_equal(parse_exact(hdr, PP_V2_MAX - 1, &info), -EAGAIN);
	assert_int_equal(pp_tlv_find((const char *)hdr, &info, PP2_TYPE_NOOP, &t), 0);
	assert_int_equal(t.len, 65520);
	free(hdr);
}

static void test_v2_payload_follows(void **state)
{
	struct sockaddr_storage s = mk("192.0.2.1", 1), d = mk("192.0.2.2", 2);
	char out[128];
	struct pp_info info;
	size_t len = 0;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), NULL, 0, out, sizeof(out), &len), 0);
	/* the payload's bytes are not the header's, even if they look like TLVs */
	memcpy(out + len, "\x16\x03\x01\x00\x05hello", 10);
	assert_int_equal(parse_exact(out, len + 10, &info), (int)len);
	assert_int_equal(info.tlv_len, 0);
}

/* ---- dispatch and TLV walk ---- */

static void test_parse_dispatch(void **state)
{
	struct pp_info info;

	(void)state;
	assert_int_equal(pp_parse(NULL, 0, &info), -EAGAIN);
	assert_int_equal(pp_parse(NULL, 5, &info), -EINVAL);
	assert_int_equal(pp_parse("PROXY", 5, NULL), -EINVAL);
	assert_int_equal(parse_exact("GET / HTTP/1.1\r\n\r\n", 18, &info), -EBADMSG);
	assert_int_equal(parse_exact("\x16\x03\x01\x02\x00", 5, &info), -EBADMSG);
	assert_int_equal(parse_exact("P", 1, &info), -EAGAIN);
	assert_int_equal(parse_exact("\r", 1, &info), -EAGAIN);
	assert_int_equal(parse_exact("\r\n\r\n\0", 5, &info), -EAGAIN);
	assert_int_equal(parse_exact("\n", 1, &info), -EBADMSG);
	assert_int_equal(parse_exact("", 0, &info), -EAGAIN);
}

static void test_parse_leaves_info_on_error(void **state)
{
	struct pp_info info, before;

	(void)state;
	memset(&info, 0x5a, sizeof(info));
	memcpy(&before, &info, sizeof(info));
	assert_int_equal(parse_exact("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", 36, &info),
			 -EBADMSG);
	assert_memory_equal(&info, &before, sizeof(info));
	assert_int_equal(parse_exact("PROXY TCP4 1.2.3.4", 18, &info), -EAGAIN);
	assert_memory_equal(&info, &before, sizeof(info));
}

static void test_tlv_walk_bounds(void **state)
{
	const struct pp_tlv tlvs[] = {{PP2_TYPE_AUTHORITY, 1, "a"}, {PP2_TYPE_ALPN, 2, "h2"}};
	struct sockaddr_storage s = mk("192.0.2.1", 1), d = mk("192.0.2.2", 2);
	char out[128];
	struct pp_info info;
	struct pp_tlv t;
	size_t len = 0, pos;

	(void)state;
	assert_int_equal(pp_v2_write(SA(s), SA(d), tlvs, 2, out, sizeof(out), &len), 0);
	assert_int_equal(parse_exact(out, len, &info), (int)len);
	assert_int_equal(info.tlv_off, 28);
	assert_int_equal(info.tlv_len, 9);
	assert_int_equal(pp_tlv_find(out, &info, PP2_TYPE_ALPN, &t), 0);
	assert_int_equal(t.len, 2);
	assert_memory_equal(t.value, "h2", 2);
	assert_int_equal(pp_tlv_find(out, &info, PP2_TYPE_UNIQUE_ID, &t), -ENOENT);
	pos = 10; /* past the end */
	assert_int_equal(pp_tlv_next(out, &info, &pos, &t), -EINVAL);
	pos = 8; /* one byte left: not a TLV */
	assert_int_equal(pp_tlv_next(out, &info, &pos, &t), -EINVAL);
	pos = 0;
	assert_int_equal(pp_tlv_next(NULL, &info, &pos, &t), -EINVAL);
	assert_int_equal(pp_tlv_next(out, NULL, &pos, &t), -EINVAL);
	assert_int_equal(pp_tlv_next(out, &info, NULL, &t), -EINVAL);
	assert_int_equal(pp_tlv_next(out, &info, &pos, NULL), -EINVAL);
	assert_int_equal(pp_tlv_find(out, &info, PP2_TYPE_ALPN, NULL), -EINVAL);
}

static void test_v2_parse_random_garbage(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t buf[96];
	struct pp_info info;

	(void)state;
	/*
	 * Random bodies behind a valid start: parse must give a length within
	 * the buffer or an error, never crash (ASan watches the reads).
	 */
	for (int iter = 0; iter < 20000; iter++) {
		size_t n;
		int rc;

		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		memcpy(buf, sig, 12);
		buf[12] = 0x21;
		buf[13] = (iter & 1) ? 0x11 : 0x21;
		buf[14] = 0;
		buf[15] = buf[15] % 80;
		n = 16 + (size_t)(x >> 32) % 80;
		rc = parse_exact(buf, n, &info);
		assert_true(rc == -EBADMSG || rc == -EAGAIN || (rc > 0 && (size_t)rc <= n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_vectors),
	    cmocka_unit_test(test_crc32c_continues),
	    cmocka_unit_test(test_v1_write_tcp4_spec_example),
	    cmocka_unit_test(test_v1_write_tcp6_rfc5952),
	    cmocka_unit_test(test_v1_write_v4mapped),
	    cmocka_unit_test(test_v1_write_unknown),
	    cmocka_unit_test(test_v1_write_longest),
	    cmocka_unit_test(test_v1_write_enospc_every_cut),
	    cmocka_unit_test(test_v1_parse_spec_example),
	    cmocka_unit_test(test_v1_parse_tcp6_forms),
	    cmocka_unit_test(test_v1_parse_unknown),
	    cmocka_unit_test(test_v1_parse_length_limit),
	    cmocka_unit_test(test_v1_parse_truncated_every_length),
	    cmocka_unit_test(test_v1_parse_ports),
	    cmocka_unit_test(test_v1_parse_ipv4_text),
	    cmocka_unit_test(test_v1_parse_ipv6_text),
	    cmocka_unit_test(test_v1_parse_bad_grammar),
	    cmocka_unit_test(test_v1_parse_early_refusal),
	    cmocka_unit_test(test_v1_roundtrip),
	    cmocka_unit_test(test_v2_write_tcp4_bytes),
	    cmocka_unit_test(test_v2_write_tcp6_bytes),
	    cmocka_unit_test(test_v2_write_mixed_maps_to_v6),
	    cmocka_unit_test(test_v2_write_local_and_unspec),
	    cmocka_unit_test(test_v2_write_tlvs_and_crc_bytes),
	    cmocka_unit_test(test_v2_write_enospc_every_cut),
	    cmocka_unit_test(test_v2_write_bad_tlvs),
	    cmocka_unit_test(test_v2_roundtrip_plain),
	    cmocka_unit_test(test_v2_roundtrip_tlvs),
	    cmocka_unit_test(test_v2_roundtrip_crc),
	    cmocka_unit_test(test_v2_parse_local),
	    cmocka_unit_test(test_v2_parse_udp_and_unix),
	    cmocka_unit_test(test_v2_parse_proxy_unspec),
	    cmocka_unit_test(test_v2_parse_truncated_every_length),
	    cmocka_unit_test(test_v2_parse_bad_signature),
	    cmocka_unit_test(test_v2_parse_bad_version_command),
	    cmocka_unit_test(test_v2_parse_every_family_byte),
	    cmocka_unit_test(test_v2_parse_length_too_short),
	    cmocka_unit_test(test_v2_parse_tlv_overflow),
	    cmocka_unit_test(test_v2_parse_bad_crc),
	    cmocka_unit_test(test_v2_parse_crc_tlv_rules),
	    cmocka_unit_test(test_v2_parse_unique_id_and_ssl),
	    cmocka_unit_test(test_v2_parse_largest),
	    cmocka_unit_test(test_v2_payload_follows),
	    cmocka_unit_test(test_parse_dispatch),
	    cmocka_unit_test(test_parse_leaves_info_on_error),
	    cmocka_unit_test(test_tlv_walk_bounds),
	    cmocka_unit_test(test_v2_parse_random_garbage),
	};

	return cmocka_run_group_tests_name("proxyproto", tests, NULL, NULL);
}
