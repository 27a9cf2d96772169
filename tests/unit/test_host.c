// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host normalization tests. Two tables - hosts that normalize, hosts that
 * are refused - run one cmocka test per row, so a failure names its row;
 * their expectations are written out by hand. Beyond the tables, numeric
 * IPv4 forms are checked against inet_aton() and against addresses written
 * out by a PRNG in every base and part count, and the IPv6 formatter
 * against glibc's inet_ntop(), which also follows RFC 5952 outside the
 * ranges it writes with a dotted quad.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "policy/cidr.h"
#include "policy/host.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- helpers */

static int norm(const char *in, char *out, struct host_info *info)
{
	return host_normalize(in, strlen(in), out, HOST_NORM_MAX, info);
}

/* SplitMix64: fixed seed, so every run sees the same cases. */
static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------- good hosts */

struct good_case {
	const char *name;
	const char *in;
	const char *out;
	enum host_kind kind;
};

static const struct good_case good_cases[] = {
    {"name: lowercase as is", "example.com", "example.com", HOST_NAME},
    {"name: mixed case", "ExAmPlE.CoM", "example.com", HOST_NAME},
    {"name: trailing dot dropped", "example.com.", "example.com", HOST_NAME},
    {"name: case and trailing dot", "WWW.Example.COM.", "www.example.com", HOST_NAME},
    {"name: single label", "localhost", "localhost", HOST_NAME},
    {"name: single label with dot", "LOCALHOST.", "localhost", HOST_NAME},
    {"name: underscore", "_dmarc.Example.com", "_dmarc.example.com", HOST_NAME},
    {"name: CDN hyphens at 3-4", "r1---sn-4g5e6nz7.googlevideo.com",
     "r1---sn-4g5e6nz7.googlevideo.com", HOST_NAME},
    {"name: leading/trailing hyphen", "-a-.example", "-a-.example", HOST_NAME},
    {"name: digits inside", "1.2.3.example", "1.2.3.example", HOST_NAME},
    {"name: IP-looking name", "127.0.0.1.nip.io", "127.0.0.1.nip.io", HOST_NAME},
    {"name: hex-looking first label", "0x7f.example.com", "0x7f.example.com", HOST_NAME},
    {"name: last label 0x and non-hex", "foo.0xg", "foo.0xg", HOST_NAME},
    {"name: last label ends in digit", "example.com1", "example.com1", HOST_NAME},
    {"idn: bücher", "bücher.example", "xn--bcher-kva.example", HOST_NAME},
    {"idn: uppercase Unicode", "BÜCHER.EXAMPLE", "xn--bcher-kva.example", HOST_NAME},
    {"idn: trailing dot", "bücher.example.", "xn--bcher-kva.example", HOST_NAME},
    {"idn: A-label as is", "xn--bcher-kva.example", "xn--bcher-kva.example", HOST_NAME},
    {"idn: A-label uppercase", "XN--BCHER-KVA.Example", "xn--bcher-kva.example", HOST_NAME},
    {"idn: sharp s non-transitional", "faß.de", "xn--fa-hia.de", HOST_NAME},
    {"idn: sharp s alone", "www.ß.com", "www.xn--zca.com", HOST_NAME},
    {"idn: münchen", "München.de", "xn--mnchen-3ya.de", HOST_NAME},
    {"idn: Greek", "ΑΒΓ.example", "xn--mxacd.example", HOST_NAME},
    {"idn: Japanese", "日本.jp", "xn--wgv71a.jp", HOST_NAME},
    {"idn: ideographic full stop", "bücher。example", "xn--bcher-kva.example", HOST_NAME},
    {"idn: fullwidth full stop", "a．b", "a.b", HOST_NAME},
    {"idn: halfwidth ideographic stop", "a｡b", "a.b", HOST_NAME},
    {"idn: trailing ideographic stop", "a。b。", "a.b", HOST_NAME},
    {"idn: fullwidth letters", "ＥＸＡＭＰＬＥ.com", "example.com", HOST_NAME},
    {"ipv4: dotted quad", "127.0.0.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: trailing dot", "127.0.0.1.", "127.0.0.1", HOST_IPV4},
    {"ipv4: decimal", "2130706433", "127.0.0.1", HOST_IPV4},
    {"ipv4: octal first part", "0177.0.0.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: octal all parts", "0177.00.00.01", "127.0.0.1", HOST_IPV4},
    {"ipv4: hex short", "0x7f.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: hex whole", "0x7f000001", "127.0.0.1", HOST_IPV4},
    {"ipv4: hex uppercase", "0X7F000001", "127.0.0.1", HOST_IPV4},
    {"ipv4: hex parts", "0x7f.0x0.0x0.0x1", "127.0.0.1", HOST_IPV4},
    {"ipv4: octal whole", "017700000001", "127.0.0.1", HOST_IPV4},
    {"ipv4: short two parts", "127.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: short three parts", "127.0.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: three parts, 16-bit last", "1.2.65535", "1.2.255.255", HOST_IPV4},
    {"ipv4: two parts, 24-bit last", "10.16777215", "10.255.255.255", HOST_IPV4},
    {"ipv4: mixed bases", "0xa.010.0x0.1", "10.8.0.1", HOST_IPV4},
    {"ipv4: leading zeros hex", "0x0000000000007f.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: leading zeros octal", "00000000000000177.1", "127.0.0.1", HOST_IPV4},
    {"ipv4: zero", "0", "0.0.0.0", HOST_IPV4},
    {"ipv4: 00", "00", "0.0.0.0", HOST_IPV4},
    {"ipv4: bare 0x (WHATWG)", "0x", "0.0.0.0", HOST_IPV4},
    {"ipv4: max decimal", "4294967295", "255.255.255.255", HOST_IPV4},
    {"ipv4: private decimal", "167772161", "10.0.0.1", HOST_IPV4},
    {"ipv4: link-local hex", "0xa9fea9fe", "169.254.169.254", HOST_IPV4},
    {"ipv4: fullwidth digits", "１２７.０.０.１", "127.0.0.1", HOST_IPV4},
    {"ipv4: mapped IPv6", "[::ffff:127.0.0.1]", "127.0.0.1", HOST_IPV4},
    {"ipv4: mapped IPv6 hex", "[::FFFF:7F00:1]", "127.0.0.1", HOST_IPV4},
    {"ipv4: mapped long form", "[0:0:0:0:0:ffff:a00:1]", "10.0.0.1", HOST_IPV4},
    {"ipv6: loopback", "[::1]", "[::1]", HOST_IPV6},
    {"ipv6: unspecified", "[0:0:0:0:0:0:0:0]", "[::]", HOST_IPV6},
    {"ipv6: leading zeros dropped", "[2001:0db8:0000:0000:0000:0000:0000:0001]", "[2001:db8::1]",
     HOST_IPV6},
    {"ipv6: uppercase", "[2001:DB8::ABCD]", "[2001:db8::abcd]", HOST_IPV6},
    {"ipv6: longest run compressed", "[2001:db8:0:0:1:0:0:0]", "[2001:db8:0:0:1::]", HOST_IPV6},
    {"ipv6: first of equal runs", "[2001:db8:0:0:1:0:0:1]", "[2001:db8::1:0:0:1]", HOST_IPV6},
    {"ipv6: single zero not compressed", "[2001:db8:0:1:1:1:1:1]", "[2001:db8:0:1:1:1:1:1]",
     HOST_IPV6},
    {"ipv6: trailing run", "[1::]", "[1::]", HOST_IPV6},
    {"ipv6: compat written as hex", "[::1.2.3.4]", "[::102:304]", HOST_IPV6},
    {"ipv6: NAT64 embedded", "[64:ff9b::10.0.0.1]", "[64:ff9b::a00:1]", HOST_IPV6},
    {"ipv6: link-local", "[FE80::1]", "[fe80::1]", HOST_IPV6},
};

static void run_good_case(void **state)
{
	const struct good_case *c = *state;
	char out[HOST_NORM_MAX], again[HOST_NORM_MAX], why[128];
	struct host_info info, info2;
	int rc;

	rc = norm(c->in, out, &info);
	if (rc != 0)
		fail_msg("%s: rc %d (%s)", c->in, rc, host_why(&info, why, sizeof(why)));
	assert_string_equal(out, c->out);
	assert_int_equal(info.kind, c->kind);
	assert_int_equal(info.len, strlen(c->out));
	assert_int_equal(info.err, HOST_ERR_NONE);
	/* the address matches the text */
	if (c->kind == HOST_IPV4) {
		char txt[INET_ADDRSTRLEN];

		assert_non_null(inet_ntop(AF_INET, &info.addr.v4, txt, sizeof(txt)));
		assert_string_equal(txt, c->out);
	} else if (c->kind == HOST_IPV6) {
		struct in6_addr a;
		char inner[64];

		snprintf(inner, sizeof(inner), "%.*s", (int)strlen(c->out) - 2, c->out + 1);
		assert_int_equal(inet_pton(AF_INET6, inner, &a), 1);
		assert_memory_equal(&a, &info.addr.v6, sizeof(a));
	}
	/* normalizing is idempotent */
	assert_int_equal(norm(out, again, &info2), 0);
	assert_string_equal(again, out);
	assert_int_equal(info2.kind, c->kind);
}

/* ------------------------------------------------------------- bad hosts */

struct bad_case {
	const char *name;
	const char *in;
	enum host_err err;
};

static const struct bad_case bad_cases[] = {
    {"bad: empty", "", HOST_ERR_EMPTY},
    {"bad: only a dot", ".", HOST_ERR_EMPTY},
    {"bad: only an ideographic stop", "。", HOST_ERR_EMPTY},
    {"bad: leading dot", ".example.com", HOST_ERR_EMPTY_LABEL},
    {"bad: double dot", "a..b", HOST_ERR_EMPTY_LABEL},
    {"bad: two trailing dots", "example.com..", HOST_ERR_EMPTY_LABEL},
    {"bad: space", "exa mple.com", HOST_ERR_CHAR},
    {"bad: tab", "a\tb", HOST_ERR_CHAR},
    {"bad: slash", "a/b", HOST_ERR_CHAR},
    {"bad: backslash", "a\\b", HOST_ERR_CHAR},
    {"bad: at sign (userinfo)", "user@example.com", HOST_ERR_CHAR},
    {"bad: asterisk", "*.example.com", HOST_ERR_CHAR},
    {"bad: plus", "a+b.com", HOST_ERR_CHAR},
    {"bad: DEL", "a\x7f.com", HOST_ERR_CHAR},
    {"bad: CR LF", "a.com\r\n", HOST_ERR_CHAR},
    {"bad: bracket inside", "a[1].com", HOST_ERR_CHAR},
    {"bad: percent", "ex%61mple.com", HOST_ERR_PERCENT},
    {"bad: percent-encoded dot", "127%2e0.0.1", HOST_ERR_PERCENT},
    {"bad: port", "example.com:80", HOST_ERR_PORT},
    {"bad: bare IPv6", "::1", HOST_ERR_PORT},
    {"bad: ipv4 five parts", "1.2.3.4.5", HOST_ERR_IPV4},
    {"bad: ipv4 256 first", "256.1.1.1", HOST_ERR_IPV4},
    {"bad: ipv4 256 last", "1.2.3.256", HOST_ERR_IPV4},
    {"bad: ipv4 three parts 65536", "1.2.65536", HOST_ERR_IPV4},
    {"bad: ipv4 two parts over 24 bits", "1.16777216", HOST_ERR_IPV4},
    {"bad: ipv4 over 32 bits", "4294967296", HOST_ERR_IPV4},
    {"bad: ipv4 huge hex", "0x100000000", HOST_ERR_IPV4},
    {"bad: ipv4 huge decimal", "99999999999999999999999", HOST_ERR_IPV4},
    {"bad: ipv4 octal 8", "08.1.1.1", HOST_ERR_IPV4},
    {"bad: ipv4 octal 9 last", "1.1.1.09", HOST_ERR_IPV4},
    {"bad: name ending in a number", "example.123", HOST_ERR_IPV4},
    {"bad: name ending in hex", "foo.0x7f", HOST_ERR_IPV4},
    {"bad: hex with bad digit", "0x7g.1.1.1", HOST_ERR_IPV4},
    {"bad: name then ipv4", "a.1.2.3.4", HOST_ERR_IPV4},
    {"bad: ipv6 unclosed", "[::1", HOST_ERR_IPV6},
    {"bad: ipv6 empty", "[]", HOST_ERR_IPV6},
    {"bad: ipv6 lone bracket", "[", HOST_ERR_IPV6},
    {"bad: ipv6 garbage", "[::g]", HOST_ERR_IPV6},
    {"bad: ipv6 too many groups", "[1:2:3:4:5:6:7:8:9]", HOST_ERR_IPV6},
    {"bad: ipv6 two ::", "[1::2::3]", HOST_ERR_IPV6},
    {"bad: ipv6 IPvFuture", "[v1.x]", HOST_ERR_IPV6},
    {"bad: ipv6 with port", "[::1]:80", HOST_ERR_IPV6},
    {"bad: ipv6 short embedded ipv4", "[::ffff:127.1]", HOST_ERR_IPV6},
    {"bad: ipv6 octal embedded ipv4", "[::ffff:0177.0.0.1]", HOST_ERR_IPV6},
    {"bad: ipv6 zone", "[fe80::1%eth0]", HOST_ERR_ZONE},
    {"bad: ipv6 zone encoded", "[fe80::1%25eth0]", HOST_ERR_ZONE},
    {"bad: idn invalid punycode", "xn--zz.example", HOST_ERR_IDNA},
    {"bad: idn empty punycode", "xn--.example", HOST_ERR_IDNA},
    {"bad: idn emoji", "\xf0\x9f\x92\xa9.la", HOST_ERR_IDNA},
    {"bad: idn emoji A-label", "xn--ls8h.la", HOST_ERR_IDNA},
    {"bad: idn invalid UTF-8", "\xff.com", HOST_ERR_IDNA},
    {"bad: idn truncated UTF-8", "b\xc3.com", HOST_ERR_IDNA},
    {"bad: idn fullwidth solidus",
     "a\xef\xbc\x8f"
     "b.com",
     HOST_ERR_IDNA},
};

static void run_bad_case(void **state)
{
	const struct bad_case *c = *state;
	char out[HOST_NORM_MAX] = "junk";
	struct host_info info;
	int rc;

	rc = norm(c->in, out, &info);
	if (rc != -EINVAL)
		fail_msg("\"%s\": rc %d, out \"%s\"", c->in, rc, out);
	if (info.err != c->err)
		fail_msg("\"%s\": err %s, want %s", c->in, host_err_str(info.err),
			 host_err_str(c->err));
	assert_string_equal(out, "");
}

/* ------------------------------------------------------------- fixed tests */

static void test_null_args(void **state)
{
	char out[HOST_NORM_MAX];
	struct host_info info;

	(void)state;
	assert_int_equal(host_normalize(NULL, 3, out, sizeof(out), &info), -EINVAL);
	assert_int_equal(host_normalize("a.b", 3, NULL, 10, &info), -EINVAL);
	/* info is optional */
	assert_int_equal(host_normalize("A.b", 3, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "a.b");
	assert_int_equal(host_normalize("a b", 3, out, sizeof(out), NULL), -EINVAL);
}

/* Only len bytes are read: the input need not be NUL-terminated. */
static void test_not_terminated(void **state)
{
	char buf[] = {'E', 'x', '.', 'c', 'o', 'm', ':', '8', '0'};
	char out[HOST_NORM_MAX];

	(void)state;
	assert_int_equal(host_normalize(buf, 6, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "ex.com");
	assert_int_equal(host_normalize(buf, 9, out, sizeof(out), NULL), -EINVAL);
}

static void test_nul_inside(void **state)
{
	char out[HOST_NORM_MAX];
	struct host_info info;

	(void)state;
	assert_int_equal(host_normalize("a\0b.com", 7, out, sizeof(out), &info), -EINVAL);
	assert_int_equal(info.err, HOST_ERR_CHAR);
	assert_int_equal(info.err_off, 1);
	assert_int_equal(info.err_byte, 0);
}

static void test_nospace(void **state)
{
	char out[16];
	struct host_info info;

	(void)state;
	/* "example.com" + NUL is 12 bytes */
	assert_int_equal(host_normalize("EXAMPLE.com", 11, out, 11, &info), -ENOSPC);
	assert_int_equal(info.len, 11);
	assert_string_equal(out, "");
	assert_int_equal(host_normalize("EXAMPLE.com", 11, out, 12, &info), 0);
	assert_string_equal(out, "example.com");
	/* the output, not the input, must fit */
	assert_int_equal(host_normalize("2130706433", 10, out, 9, &info), -ENOSPC);
	assert_int_equal(host_normalize("2130706433", 10, out, 10, &info), 0);
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(host_normalize("x", 1, out, 0, &info), -ENOSPC);
}

static void test_label_length(void **state)
{
	char in[300], out[HOST_NORM_MAX];
	struct host_info info;

	(void)state;
	memset(in, 'a', 63);
	strcpy(in + 63, ".com");
	assert_int_equal(norm(in, out, &info), 0);
	assert_int_equal(info.len, 67);
	memset(in, 'a', 64);
	strcpy(in + 64, ".com");
	assert_int_equal(norm(in, out, &info), -EINVAL);
	assert_int_equal(info.err, HOST_ERR_LABEL_TOO_LONG);
	/* a long label last, too */
	strcpy(in, "com.");
	memset(in + 4, 'b', 64);
	in[68] = '\0';
	assert_int_equal(norm(in, out, &info), -EINVAL);
	assert_int_equal(info.err, HOST_ERR_LABEL_TOO_LONG);
}

/* 253 bytes pass, 254 do not; the trailing dot does not count. */
static void test_name_length(void **state)
{
	char in[400], out[HOST_NORM_MAX];
	struct host_info info;
	size_t n = 0;

	(void)state;
	/* 4 labels of 62 + 3 dots = 251, then ".a" = 253 */
	for (int l = 0; l < 4; l++) {
		memset(in + n, 'a' + l, 62);
		n += 62;
		in[n++] = '.';
	}
	in[n++] = 'a';
	in[n] = '\0';
	assert_int_equal(n, 253);
	assert_int_equal(norm(in, out, &info), 0);
	assert_int_equal(info.len, 253);
	assert_string_equal(out, in);
	in[n++] = '.';
	in[n] = '\0';
	assert_int_equal(norm(in, out, &info), 0);
	assert_int_equal(info.len, 253);
	in[n - 1] = 'b';
	assert_int_equal(norm(in, out, &info), -EINVAL);
	assert_int_equal(info.err, HOST_ERR_NAME_TOO_LONG);
	/* much longer input, still a clean refusal */
	memset(in, 'a', sizeof(in) - 1);
	for (size_t i = 50; i < sizeof(in) - 1; i += 50)
		in[i] = '.';
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(norm(in, out, &info), -EINVAL);
	assert_int_equal(info.err, HOST_ERR_NAME_TOO_LONG);
}

/* The length limits apply to the A-label: 20 'ü' are 40 bytes but a shorter label. */
static void test_idn_lengths(void **state)
{
	char in[1200], out[HOST_NORM_MAX];
	struct host_info info;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 20; i++) {
		in[n++] = '\xc3';
		in[n++] = '\xbc';
	}
	strcpy(in + n, ".de");
	assert_int_equal(norm(in, out, &info), 0);
	assert_int_equal(strncmp(out, "xn--", 4), 0);
	assert_true(strchr(out, '.') - out <= 63);
	/* 70 'ü' make an A-label over 63 bytes */
	n = 0;
	for (int i = 0; i < 70; i++) {
		in[n++] = '\xc3';
		in[n++] = '\xbc';
	}
	strcpy(in + n, ".de");
	assert_int_equal(norm(in, out, &info), -EINVAL);
	assert_true(info.err == HOST_ERR_LABEL_TOO_LONG || info.err == HOST_ERR_IDNA);
	/* a U-label of more bytes than are ever handed to libidn2 */
	n = 0;
	while (n + 2 < sizeof(in) - 1) {
		in[n++] = '\xc3';
		in[n++] = '\xbc';
	}
	in[n] = '\0';
	assert_int_equal(norm(in, out, &info), -EINVAL);
	assert_int_equal(info.err, HOST_ERR_LABEL_TOO_LONG);
}

/* The offending byte is reported, and host_why says it in words. */
static void test_why(void **state)
{
	char out[HOST_NORM_MAX], why[128];
	struct host_info info;

	(void)state;
	assert_int_equal(norm("ab/c.com", out, &info), -EINVAL);
	assert_int_equal(info.err_off, 2);
	assert_int_equal(info.err_byte, '/');
	assert_string_equal(host_why(&info, why, sizeof(why)),
			    "character '/' not allowed in a host name");
	assert_int_equal(norm("a\x01.com", out, &info), -EINVAL);
	assert_string_equal(host_why(&info, why, sizeof(why)),
			    "byte 0x01 not allowed in a host name");
	assert_int_equal(norm("xn--zz.com", out, &info), -EINVAL);
	assert_int_equal(info.idna_rc, IDN2_PUNYCODE_BAD_INPUT);
	assert_non_null(strstr(host_why(&info, why, sizeof(why)), "refused by IDNA: "));
	assert_int_equal(norm("a..b", out, &info), -EINVAL);
	assert_string_equal(host_why(&info, why, sizeof(why)), "empty label");
	/* truncation and bad buffers */
	assert_string_equal(host_why(&info, why, 4), "emp");
	assert_string_equal(host_why(&info, NULL, 4), "");
	assert_string_equal(host_why(NULL, why, sizeof(why)), "?");
	assert_string_equal(host_err_str(HOST_ERR__MAX), "?");
	assert_string_equal(host_err_str((enum host_err) - 1), "?");
	for (int e = 0; e < HOST_ERR__MAX; e++)
		assert_string_not_equal(host_err_str((enum host_err)e), "?");
}

/*
 * inet_aton() as an independent judge: every numeric host it accepts must
 * give the same address here (a superset: WHATWG's forms, which browsers
 * send, are accepted too).
 */
static void test_inet_aton_agrees(void **state)
{
	static const char *const forms[] = {
	    "127.0.0.1",
	    "2130706433",
	    "0177.0.0.1",
	    "0x7f.1",
	    "127.1",
	    "0x7f000001",
	    "0X7F000001",
	    "017700000001",
	    "0x7f.0.1",
	    "10.0x10.0377",
	    "0xffffffff",
	    "037777777777",
	    "1.2.65535",
	    "0.0.0.0",
	    "00",
	    "0x00000000000007f.1",
	    "00000000000000000000177.1",
	    "0XFF.0XFF.0XFF.0XFF",
	    "169.254.169.254",
	    "0251.0376.0251.0376",
	    "0xa9.0xfe.0xa9fe",
	    "3232235521",
	    "0300.0250.1",
	    "100.64.1",
	    "0144.0x40.0.1",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		char out[HOST_NORM_MAX];
		struct host_info info;
		struct in_addr a;

		assert_int_equal(inet_aton(forms[i], &a), 1);
		if (norm(forms[i], out, &info) != 0)
			fail_msg("%s: refused", forms[i]);
		assert_int_equal(info.kind, HOST_IPV4);
		if (info.addr.v4.s_addr != a.s_addr)
			fail_msg("%s: %s, inet_aton says %s", forms[i], out, inet_ntoa(a));
		assert_string_equal(out, inet_ntoa(a));
	}
}

/*
 * Forms inet_aton() refuses that end in a number are refused here as well
 * (the one exception, WHATWG's bare "0x", is in the table above).
 */
static void test_inet_aton_refuses(void **state)
{
	static const char *const forms[] = {
	    "256.0.0.1",  "1.256.0.1",		 "1.2.3.256",	 "1.2.65536",	"1.16777216",
	    "4294967296", "0x100000000",	 "08",		 "09.0.0.1",	"0.0.0.08",
	    "1.2.3.4.5",  "0x1.0x2.0x3.0x4.0x5", "040000000000", "1.0x1000000",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		char out[HOST_NORM_MAX];
		struct host_info info;
		struct in_addr a;

		assert_int_equal(inet_aton(forms[i], &a), 0);
		if (norm(forms[i], out, &info) != -EINVAL)
			fail_msg("%s: accepted as %s", forms[i], out);
		assert_int_equal(info.err, HOST_ERR_IPV4);
	}
}

/* Writes v (< 2^32) as a part in base 8, 10 or 16; octal and hex maybe with extra leading zeros. */
static size_t put_part(char *p, uint64_t v, unsigned int base, unsigned int zeros)
{
	size_t n = 0;

	if (base == 16)
		n += (size_t)sprintf(p, prng() & 1 ? "0x" : "0X");
	if (base == 8)
		p[n++] = '0';
	for (unsigned int i = 0; base != 10 && i < zeros; i++)
		p[n++] = '0';
	n += (size_t)sprintf(p + n,
			     base == 16	 ? (prng() & 1 ? "%llx" : "%llX")
			     : base == 8 ? "%llo"
					 : "%llu",
			     (unsigned long long)v);
	p[n] = '\0';
	return n;
}

/*
 * 20,000 random addresses, each written as 1 to 4 parts in random bases:
 * all must come out as the dotted quad computed here, and as inet_aton
 * reads them.
 */
static void test_ipv4_random_forms(void **state)
{
	static const unsigned int bases[] = {8, 10, 16};

	(void)state;
	prng_state = 7;
	for (int i = 0; i < 20000; i++) {
		uint32_t a = (uint32_t)prng();
		unsigned int parts = 1 + (unsigned int)(prng() % 4);
		char in[128], out[HOST_NORM_MAX], want[INET_ADDRSTRLEN];
		struct host_info info;
		struct in_addr ia;
		size_t n = 0;

		for (unsigned int k = 0; k < parts; k++) {
			uint64_t v;

			if (k + 1 < parts)
				v = (a >> (24 - 8 * k)) & 0xff;
			else
				v = a & (parts == 1 ? 0xffffffffu : (1u << (8 * (5 - parts))) - 1);
			if (k)
				in[n++] = '.';
			n += put_part(in + n, v, bases[prng() % 3], (unsigned int)(prng() % 3));
		}
		snprintf(want, sizeof(want), "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
			 (a >> 8) & 0xff, a & 0xff);
		if (norm(in, out, &info) != 0)
			fail_msg("%s: refused, want %s", in, want);
		if (strcmp(out, want))
			fail_msg("%s: %s, want %s", in, out, want);
		assert_int_equal(info.kind, HOST_IPV4);
		assert_int_equal(ntohl(info.addr.v4.s_addr), a);
		assert_int_equal(inet_aton(in, &ia), 1);
		assert_int_equal(ia.s_addr, info.addr.v4.s_addr);
	}
}

/* Every numeric trick for loopback is caught by a loopback/private rule downstream. */
static void test_tricks_reach_cidr_class(void **state)
{
	static const struct {
		const char *in;
		enum cidr_class cls;
	} t[] = {
	    {"0x7f000001", CIDR_CLASS_LOOPBACK},
	    {"2130706433", CIDR_CLASS_LOOPBACK},
	    {"017700000001", CIDR_CLASS_LOOPBACK},
	    {"127.1", CIDR_CLASS_LOOPBACK},
	    {"0x7f.1", CIDR_CLASS_LOOPBACK},
	    {"[::ffff:127.0.0.1]", CIDR_CLASS_LOOPBACK},
	    {"[::1]", CIDR_CLASS_LOOPBACK},
	    {"167772161", CIDR_CLASS_PRIVATE},
	    {"0xc0a80001", CIDR_CLASS_PRIVATE},
	    {"0254.020.0.1", CIDR_CLASS_PRIVATE}, /* 172.16.0.1 */
	    {"0254.0.0.1", CIDR_CLASS_GLOBAL},	  /* 172.0.0.1: outside 172.16/12 */
	    {"0x64400001", CIDR_CLASS_CGNAT},
	    {"0xa9fea9fe", CIDR_CLASS_LINK_LOCAL},
	    {"0", CIDR_CLASS_UNSPECIFIED},
	    {"[64:ff9b::7f00:1]", CIDR_CLASS_LOOPBACK},
	    {"８.８.８.８", CIDR_CLASS_GLOBAL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char out[HOST_NORM_MAX];
		struct host_info info;
		int cls;

		assert_int_equal(norm(t[i].in, out, &info), 0);
		if (info.kind == HOST_IPV4)
			cls = cidr_classify_addr(AF_INET, &info.addr.v4);
		else
			cls = cidr_classify_addr(AF_INET6, &info.addr.v6);
		if (cls != (int)t[i].cls)
			fail_msg("%s (%s): class %s, want %s", t[i].in, out,
				 cidr_class_str((enum cidr_class)cls), cidr_class_str(t[i].cls));
	}
}

/* host_format_ipv6 against inet_ntop on random addresses with runs of zero groups. */
static void test_format_ipv6_random(void **state)
{
	static const uint8_t v4ish[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char mine[HOST_IPV6_TEXT_MAX], libc[INET6_ADDRSTRLEN];
	struct in6_addr a;
	int checked = 0;

	(void)state;
	prng_state = 99;
	for (int i = 0; i < 50000; i++) {
		uint64_t r = prng();

		/* each group zero with probability 1/2, so runs of every length appear */
		for (int g = 0; g < 8; g++) {
			uint16_t w = (r >> g) & 1 ? 0 : (uint16_t)(prng() >> (prng() % 16));

			a.s6_addr[2 * g] = (uint8_t)(w >> 8);
			a.s6_addr[2 * g + 1] = (uint8_t)w;
		}
		int len = host_format_ipv6(&a, mine, sizeof(mine));

		assert_int_equal(len, (int)strlen(mine));
		/* glibc writes ::a.b.c.d and ::ffff:a.b.c.d: compare elsewhere only */
		if (!memcmp(a.s6_addr, v4ish, 10) &&
		    ((a.s6_addr[10] == 0 && a.s6_addr[11] == 0) ||
		     (a.s6_addr[10] == 0xff && a.s6_addr[11] == 0xff)))
			continue;
		assert_non_null(inet_ntop(AF_INET6, &a, libc, sizeof(libc)));
		if (strcmp(mine, libc))
			fail_msg("mine %s, inet_ntop %s", mine, libc);
		checked++;
	}
	assert_true(checked > 40000);
	/* the longest text fits HOST_IPV6_TEXT_MAX exactly */
	memset(&a, 0xff, sizeof(a));
	assert_int_equal(host_format_ipv6(&a, mine, sizeof(mine)), HOST_IPV6_TEXT_MAX - 1);
	assert_int_equal(host_format_ipv6(&a, mine, HOST_IPV6_TEXT_MAX - 1), -ENOSPC);
	assert_int_equal(host_format_ipv6(NULL, mine, sizeof(mine)), -EINVAL);
}

/* Random bytes never crash, and anything accepted is stable and well formed. */
static void test_random_bytes(void **state)
{
	static const char alphabet[] = "aZ09-_.:[]%x\xc3\xbc\xe3\x80\x82 *";

	(void)state;
	prng_state = 1234;
	for (int i = 0; i < 100000; i++) {
		char in[40], out[HOST_NORM_MAX], again[HOST_NORM_MAX];
		struct host_info info;
		size_t n = prng() % sizeof(in);
		int rc;

		for (size_t k = 0; k < n; k++)
			in[k] =
			    (prng() & 7) ? alphabet[prng() % (sizeof(alphabet) - 1)] : (char)prng();
		rc = host_normalize(in, n, out, sizeof(out), &info);
		if (rc == -EINVAL) {
			assert_true(info.err > HOST_ERR_NONE && info.err < HOST_ERR__MAX);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(strlen(out), info.len);
		assert_true(info.len > 0 && info.len <= 253);
		for (size_t k = 0; k < info.len; k++)
			assert_true(strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.:[]", out[k]));
		assert_int_equal(norm(out, again, NULL), 0);
		assert_string_equal(again, out);
	}
}

/* ------------------------------------------------------------- main */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_null_args),	       cmocka_unit_test(test_not_terminated),
    cmocka_unit_test(test_nul_inside),	       cmocka_unit_test(test_nospace),
    cmocka_unit_test(test_label_length),       cmocka_unit_test(test_name_length),
    cmocka_unit_test(test_idn_lengths),	       cmocka_unit_test(test_why),
    cmocka_unit_test(test_inet_aton_agrees),   cmocka_unit_test(test_inet_aton_refuses),
    cmocka_unit_test(test_ipv4_random_forms),  cmocka_unit_test(test_tricks_reach_cidr_class),
    cmocka_unit_test(test_format_ipv6_random), cmocka_unit_test(test_random_bytes),
};

int main(void)
{
	size_t n = 0, i,
	       cap = ARRAY_SIZE(good_cases) + ARRAY_SIZE(bad_cases) + ARRAY_SIZE(fixed_tests);
	struct CMUnitTest *t = calloc(cap, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	/* One cmocka test per table row, so a failure names its row. */
	for (i = 0; i < ARRAY_SIZE(good_cases); i++)
		t[n++] = (struct CMUnitTest){.name = good_cases[i].name,
					     .test_func = run_good_case,
					     .initial_state = (void *)&good_cases[i]};
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		t[n++] = (struct CMUnitTest){.name = bad_cases[i].name,
					     .test_func = run_bad_case,
					     .initial_state = (void *)&bad_cases[i]};
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		t[n++] = fixed_tests[i];
	rc = _cmocka_run_group_tests("host", t, n, NULL, NULL);
	free(t);
	return rc;
}
