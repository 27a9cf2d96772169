// SPDX-License-Identifier: BSD-2-Clause
/*
 * Prefix set and address class tests. Three tables - prefixes that parse,
 * prefixes that are refused, addresses and their class - run one cmocka
 * test per row, with expectations written out by hand. Longest-prefix
 * matching is also checked against a brute-force scan over random nested
 * prefixes, and cidr_classify against a set built from its own table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "policy/cidr.h"

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

static struct cidr_prefix pfx(const char *s)
{
	struct cidr_prefix p;
	char err[160];

	if (cidr_parse(s, &p, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return p;
}

/* A sockaddr for an address in text: IPv4 as sockaddr_in, else sockaddr_in6. */
static struct sockaddr_storage sa_of(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, s, &s4->sin_addr), 1);
	}
	return ss;
}

/* The value of the entry an address matches, or -1 for none. */
static long match_val(const struct cidr_set *s, const char *addr)
{
	struct sockaddr_storage ss = sa_of(addr);
	const struct cidr_entry *e = cidr_match(s, (struct sockaddr *)&ss);

	if (!e) {
		assert_int_equal(errno, ENOENT);
		return -1;
	}
	return e->value;
}

static struct cidr_set *mkset(const char *const *strs, const uint32_t *vals, size_t n)
{
	struct cidr_entry e[64];
	struct cidr_set *s;
	char err[200];

	assert_true(n <= ARRAY_SIZE(e));
	for (size_t i = 0; i < n; i++) {
		e[i].prefix = pfx(strs[i]);
		e[i].value = vals ? vals[i] : (uint32_t)i;
	}
	s = cidr_set_new(e, n, err, sizeof(err));
	if (!s)
		fail_msg("cidr_set_new: %s", err);
	return s;
}

/* ------------------------------------------------------------- parsing */

struct parse_case {
	const char *name;
	const char *in;
	const char *out; /* cidr_format of the result */
	int family;
};

static const struct parse_case parse_cases[] = {
    {"parse: v4 /8", "10.0.0.0/8", "10.0.0.0/8", AF_INET},
    {"parse: v4 /0", "0.0.0.0/0", "0.0.0.0/0", AF_INET},
    {"parse: v4 /1 upper half", "128.0.0.0/1", "128.0.0.0/1", AF_INET},
    {"parse: v4 single address", "10.0.0.1", "10.0.0.1/32", AF_INET},
    {"parse: v4 /32", "192.0.2.77/32", "192.0.2.77/32", AF_INET},
    {"parse: v4 /31", "192.0.2.76/31", "192.0.2.76/31", AF_INET},
    {"parse: v4 broadcast /32", "255.255.255.255/32", "255.255.255.255/32", AF_INET},
    {"parse: v4 /12", "172.16.0.0/12", "172.16.0.0/12", AF_INET},
    {"parse: v6 /32", "2001:db8::/32", "2001:db8::/32", AF_INET6},
    {"parse: v6 uppercase, long form", "2001:DB8:0:0:0:0:0:0/64", "2001:db8::/64", AF_INET6},
    {"parse: v6 /0", "::/0", "::/0", AF_INET6},
    {"parse: v6 /1 upper half", "8000::/1", "8000::/1", AF_INET6},
    {"parse: v6 single address", "::1", "::1/128", AF_INET6},
    {"parse: v6 /128", "2001:db8::1/128", "2001:db8::1/128", AF_INET6},
    {"parse: v6 /10", "fe80::/10", "fe80::/10", AF_INET6},
    {"parse: v6 all ones /128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", AF_INET6},
    {"parse: v6 dotted tail", "64:ff9b::10.0.0.0/120", "64:ff9b::a00:0/120", AF_INET6},
    {"parse: mapped /104 is v4 /8", "::ffff:10.0.0.0/104", "10.0.0.0/8", AF_INET},
    {"parse: mapped /96 is v4 /0", "::ffff:0:0/96", "0.0.0.0/0", AF_INET},
    {"parse: mapped address is v4 /32", "::ffff:1.2.3.4", "1.2.3.4/32", AF_INET},
    {"parse: /95 around mapped stays v6", "::fffe:0:0/95", "::fffe:0:0/95", AF_INET6},
};

static void run_parse_case(void **state)
{
	const struct parse_case *c = *state;
	char err[160], out[CIDR_TEXT_MAX];
	struct cidr_prefix p;

	if (cidr_parse(c->in, &p, err, sizeof(err)) != 0)
		fail_msg("%s: %s", c->in, err);
	assert_int_equal(p.family, c->family);
	assert_int_equal(cidr_format(&p, out, sizeof(out)), (int)strlen(c->out));
	assert_string_equal(out, c->out);
	/* the text parses back to the same prefix */
	{
		struct cidr_prefix q = pfx(out);

		assert_memory_equal(&p, &q, sizeof(p));
	}
}

struct bad_parse_case {
	const char *name;
	const char *in;
	const char *err; /* the message, whole */
};

static const struct bad_parse_case bad_parse_cases[] = {
    {"refuse: v4 host bits", "10.0.0.1/8",
     "\"10.0.0.1/8\": host bits set; the network is 10.0.0.0/8"},
    {"refuse: v4 host bits /31", "192.0.2.77/31",
     "\"192.0.2.77/31\": host bits set; the network is 192.0.2.76/31"},
    {"refuse: v4 host bits /0", "1.0.0.0/0",
     "\"1.0.0.0/0\": host bits set; the network is 0.0.0.0/0"},
    {"refuse: v6 host bits", "2001:db8::1/32",
     "\"2001:db8::1/32\": host bits set; the network is 2001:db8::/32"},
    {"refuse: v6 host bits /127", "::1/127", "\"::1/127\": host bits set; the network is ::/127"},
    {"refuse: mapped host bits", "::ffff:10.0.0.1/104",
     "\"::ffff:10.0.0.1/104\": host bits set; the network is 10.0.0.0/8"},
    {"refuse: v4 length 33", "10.0.0.0/33", "\"10.0.0.0/33\": prefix length 33 is over 32"},
    {"refuse: v6 length 129", "::/129", "\"::/129\": prefix length 129 is over 128"},
    {"refuse: empty length", "10.0.0.0/", "\"10.0.0.0/\": prefix length must be a number 0 to 32"},
    {"refuse: length leading zero", "10.0.0.0/08",
     "\"10.0.0.0/08\": prefix length must be a number 0 to 32"},
    {"refuse: negative length", "10.0.0.0/-1",
     "\"10.0.0.0/-1\": prefix length must be a number 0 to 32"},
    {"refuse: space in length", "10.0.0.0/ 8",
     "\"10.0.0.0/ 8\": prefix length must be a number 0 to 32"},
    {"refuse: trailing space", "10.0.0.0/8 ",
     "\"10.0.0.0/8 \": prefix length must be a number 0 to 32"},
    {"refuse: two slashes", "10.0.0.0/8/8",
     "\"10.0.0.0/8/8\": prefix length must be a number 0 to 32"},
    {"refuse: 4-digit length", "::/0128", "\"::/0128\": prefix length must be a number 0 to 128"},
    {"refuse: short v4", "10/8", "\"10/8\": \"10\" is not an IPv4 address (four decimal parts)"},
    {"refuse: octal-looking v4", "010.0.0.0/8",
     "\"010.0.0.0/8\": \"010.0.0.0\" is not an IPv4 address (four decimal parts)"},
    {"refuse: hex v4", "0x0a.0.0.0/8",
     "\"0x0a.0.0.0/8\": \"0x0a.0.0.0\" is not an IPv4 address (four decimal parts)"},
    {"refuse: five parts", "1.2.3.4.5",
     "\"1.2.3.4.5\": \"1.2.3.4.5\" is not an IPv4 address (four decimal parts)"},
    {"refuse: leading space", " 10.0.0.0/8",
     "\" 10.0.0.0/8\": \" 10.0.0.0\" is not an IPv4 address (four decimal parts)"},
    {"refuse: bad v6", "::g/64", "\"::g/64\": \"::g\" is not an IPv6 address"},
    {"refuse: brackets", "[::1]/128", "\"[::1]/128\": \"[::1]\" is not an IPv6 address"},
    {"refuse: zone id", "fe80::1%eth0/64", "\"fe80::1%eth0/64\": zone ids are not allowed"},
    {"refuse: empty", "", "\"\": no address"},
    {"refuse: only a length", "/8", "\"/8\": no address"},
};

static void run_bad_parse_case(void **state)
{
	const struct bad_parse_case *c = *state;
	struct cidr_prefix p;
	char err[160];

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(cidr_parse(c->in, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, c->err);
	/* nothing written on failure */
	for (size_t i = 0; i < sizeof(p); i++)
		assert_int_equal(((uint8_t *)&p)[i], 0x5a);
}

/* ------------------------------------------------------------- classes */

struct class_case {
	const char *name;
	const char *addr;
	enum cidr_class cls;
};

static const struct class_case class_cases[] = {
    {"class: 127.0.0.1", "127.0.0.1", CIDR_CLASS_LOOPBACK},
    {"class: 127.255.255.255", "127.255.255.255", CIDR_CLASS_LOOPBACK},
    {"class: 126.255.255.255", "126.255.255.255", CIDR_CLASS_GLOBAL},
    {"class: 128.0.0.0", "128.0.0.0", CIDR_CLASS_GLOBAL},
    {"class: 10.0.0.0", "10.0.0.0", CIDR_CLASS_PRIVATE},
    {"class: 10.255.255.255", "10.255.255.255", CIDR_CLASS_PRIVATE},
    {"class: 11.0.0.0", "11.0.0.0", CIDR_CLASS_GLOBAL},
    {"class: 172.15.255.255", "172.15.255.255", CIDR_CLASS_GLOBAL},
    {"class: 172.16.0.0", "172.16.0.0", CIDR_CLASS_PRIVATE},
    {"class: 172.31.255.255", "172.31.255.255", CIDR_CLASS_PRIVATE},
    {"class: 172.32.0.0", "172.32.0.0", CIDR_CLASS_GLOBAL},
    {"class: 192.168.1.1", "192.168.1.1", CIDR_CLASS_PRIVATE},
    {"class: 192.169.0.0", "192.169.0.0", CIDR_CLASS_GLOBAL},
    {"class: 169.254.169.254", "169.254.169.254", CIDR_CLASS_LINK_LOCAL},
    {"class: 169.255.0.0", "169.255.0.0", CIDR_CLASS_GLOBAL},
    {"class: 100.64.0.1", "100.64.0.1", CIDR_CLASS_CGNAT},
    {"class: 100.127.255.255", "100.127.255.255", CIDR_CLASS_CGNAT},
    {"class: 100.128.0.0", "100.128.0.0", CIDR_CLASS_GLOBAL},
    {"class: 0.0.0.0", "0.0.0.0", CIDR_CLASS_UNSPECIFIED},
    {"class: 0.1.2.3", "0.1.2.3", CIDR_CLASS_UNSPECIFIED},
    {"class: 224.0.0.1", "224.0.0.1", CIDR_CLASS_MULTICAST},
    {"class: 239.255.255.255", "239.255.255.255", CIDR_CLASS_MULTICAST},
    {"class: 240.0.0.1", "240.0.0.1", CIDR_CLASS_RESERVED},
    {"class: 255.255.255.254", "255.255.255.254", CIDR_CLASS_RESERVED},
    {"class: 255.255.255.255", "255.255.255.255", CIDR_CLASS_BROADCAST},
    {"class: 192.0.0.9", "192.0.0.9", CIDR_CLASS_RESERVED},
    {"class: 192.0.2.1", "192.0.2.1", CIDR_CLASS_DOCUMENTATION},
    {"class: 198.51.100.7", "198.51.100.7", CIDR_CLASS_DOCUMENTATION},
    {"class: 203.0.113.9", "203.0.113.9", CIDR_CLASS_DOCUMENTATION},
    {"class: 192.88.99.1", "192.88.99.1", CIDR_CLASS_RESERVED},
    {"class: 198.18.0.1", "198.18.0.1", CIDR_CLASS_BENCHMARK},
    {"class: 198.19.255.255", "198.19.255.255", CIDR_CLASS_BENCHMARK},
    {"class: 198.20.0.0", "198.20.0.0", CIDR_CLASS_GLOBAL},
    {"class: 8.8.8.8", "8.8.8.8", CIDR_CLASS_GLOBAL},
    {"class: ::", "::", CIDR_CLASS_UNSPECIFIED},
    {"class: ::1", "::1", CIDR_CLASS_LOOPBACK},
    {"class: ::2 (IPv4-compatible)", "::2", CIDR_CLASS_RESERVED},
    {"class: ::127.0.0.1 (compatible)", "::127.0.0.1", CIDR_CLASS_RESERVED},
    {"class: mapped private", "::ffff:10.0.0.1", CIDR_CLASS_PRIVATE},
    {"class: mapped loopback", "::ffff:127.0.0.1", CIDR_CLASS_LOOPBACK},
    {"class: mapped global", "::ffff:8.8.8.8", CIDR_CLASS_GLOBAL},
    {"class: fc00::1", "fc00::1", CIDR_CLASS_PRIVATE},
    {"class: fdff:ffff::1", "fdff:ffff::1", CIDR_CLASS_PRIVATE},
    {"class: fbff::1", "fbff::1", CIDR_CLASS_GLOBAL},
    {"class: fe80::1", "fe80::1", CIDR_CLASS_LINK_LOCAL},
    {"class: febf::1", "febf::1", CIDR_CLASS_LINK_LOCAL},
    {"class: fec0::1 (site-local)", "fec0::1", CIDR_CLASS_PRIVATE},
    {"class: ff02::1", "ff02::1", CIDR_CLASS_MULTICAST},
    {"class: 2001:db8::1", "2001:db8::1", CIDR_CLASS_DOCUMENTATION},
    {"class: 3fff::1", "3fff::1", CIDR_CLASS_DOCUMENTATION},
    {"class: 3fff:1000::", "3fff:1000::", CIDR_CLASS_GLOBAL},
    {"class: 2001:2::1", "2001:2::1", CIDR_CLASS_BENCHMARK},
    {"class: 2001:2:1::", "2001:2:1::", CIDR_CLASS_GLOBAL},
    {"class: 2606:4700::1111", "2606:4700::1111", CIDR_CLASS_GLOBAL},
    {"class: 100::1 (discard)", "100::1", CIDR_CLASS_RESERVED},
    {"class: 100:0:0:1::1", "100:0:0:1::1", CIDR_CLASS_GLOBAL},
    {"class: NAT64 global", "64:ff9b::808:808", CIDR_CLASS_GLOBAL},
    {"class: NAT64 private", "64:ff9b::10.0.0.1", CIDR_CLASS_PRIVATE},
    {"class: SIIT-translated loopback", "::ffff:0:127.0.0.1", CIDR_CLASS_LOOPBACK},
    {"class: SIIT-translated global", "::ffff:0:8.8.8.8", CIDR_CLASS_GLOBAL},
    {"class: NAT64 loopback", "64:ff9b::127.0.0.1", CIDR_CLASS_LOOPBACK},
    {"class: NAT64 metadata", "64:ff9b::169.254.169.254", CIDR_CLASS_LINK_LOCAL},
    {"class: NAT64 local-use", "64:ff9b:1::1", CIDR_CLASS_PRIVATE},
    {"class: 6to4 loopback", "2002:7f00:1::1", CIDR_CLASS_LOOPBACK},
    {"class: 6to4 private", "2002:c0a8:101::", CIDR_CLASS_PRIVATE},
    {"class: 6to4 global", "2002:808:808::1", CIDR_CLASS_GLOBAL},
};

static void run_class_case(void **state)
{
	const struct class_case *c = *state;
	struct sockaddr_storage ss = sa_of(c->addr);
	int got = cidr_classify((struct sockaddr *)&ss);

	if (got != (int)c->cls)
		fail_msg("%s: %s, want %s", c->addr, cidr_class_str((enum cidr_class)got),
			 cidr_class_str(c->cls));
	/* the same through cidr_classify_addr */
	if (ss.ss_family == AF_INET)
		got = cidr_classify_addr(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr);
	else
		got = cidr_classify_addr(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	assert_int_equal(got, c->cls);
	/* an IPv4 address reached through a dual-stack socket is classed the same */
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};

		s6.sin6_addr.s6_addr[10] = 0xff;
		s6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6.sin6_addr.s6_addr[12], &((struct sockaddr_in *)&ss)->sin_addr, 4);
		assert_int_equal(cidr_classify((struct sockaddr *)&s6), c->cls);
	}
}

/* ------------------------------------------------------------- fixed tests */

static void test_parse_args(void **state)
{
	struct cidr_prefix p;
	char err[8];

	(void)state;
	assert_int_equal(cidr_parse(NULL, &p, NULL, 0), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.0/8", NULL, NULL, 0), -EINVAL);
	/* err is optional, and truncated to its size */
	assert_int_equal(cidr_parse("10.0.0.1/8", &p, NULL, 0), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.1/8", &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"10.0.0");
	/* a very long string is refused cleanly */
	{
		char big[300];

		memset(big, '1', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(cidr_parse(big, &p, NULL, 0), -EINVAL);
	}
}

static void test_format_args(void **state)
{
	struct cidr_prefix p = pfx("2001:db8::/32");
	char out[CIDR_TEXT_MAX];

	(void)state;
	/* "2001:db8::/32" is 13 bytes */
	assert_int_equal(cidr_format(&p, out, 13), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(cidr_format(&p, out, 14), 13);
	assert_string_equal(out, "2001:db8::/32");
	assert_int_equal(cidr_format(NULL, out, sizeof(out)), -EINVAL);
	p.len = 129;
	assert_int_equal(cidr_format(&p, out, sizeof(out)), -EINVAL);
	p = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_int_equal(cidr_format(&p, out, sizeof(out)), CIDR_TEXT_MAX - 1);
}

/* The most specific prefix decides, whatever the order given. */
static void test_longest_prefix(void **state)
{
	static const char *const s[] = {"10.1.2.3/32", "10.0.0.0/8", "10.1.2.0/24", "10.1.0.0/16"};
	static const uint32_t v[] = {4, 1, 3, 2};
	struct cidr_set *set = mkset(s, v, ARRAY_SIZE(s));

	(void)state;
	assert_int_equal(cidr_set_size(set), 4);
	assert_int_equal(match_val(set, "10.1.2.3"), 4);
	assert_int_equal(match_val(set, "10.1.2.2"), 3);
	assert_int_equal(match_val(set, "10.1.2.4"), 3);
	assert_int_equal(match_val(set, "10.1.2.255"), 3);
	assert_int_equal(match_val(set, "10.1.3.0"), 2);
	assert_int_equal(match_val(set, "10.1.1.255"), 2);
	assert_int_equal(match_val(set, "10.2.0.0"), 1);
	assert_int_equal(match_val(set, "10.0.255.255"), 1);
	assert_int_equal(match_val(set, "10.255.255.255"), 1);
	assert_int_equal(match_val(set, "9.255.255.255"), -1);
	assert_int_equal(match_val(set, "11.0.0.0"), -1);
	assert_int_equal(match_val(set, "0.0.0.0"), -1);
	assert_int_equal(match_val(set, "255.255.255.255"), -1);
	assert_int_equal(match_val(set, "::ffff:10.1.2.3"), 4);
	cidr_set_free(set);
}

/* Client allow/deny: allow 10/8, deny a /16 inside it, allow a /24 inside that. */
static void test_allow_deny(void **state)
{
	static const char *const s[] = {"10.0.0.0/8", "10.66.0.0/16", "10.66.1.0/24",
					"::1",	      "fd00::/8",     "fd00:bad::/32"};
	static const uint32_t v[] = {1, 0, 1, 1, 1, 0};
	struct cidr_set *set = mkset(s, v, ARRAY_SIZE(s));

	(void)state;
	assert_int_equal(match_val(set, "10.65.255.255"), 1);
	assert_int_equal(match_val(set, "10.66.0.1"), 0);
	assert_int_equal(match_val(set, "10.66.1.1"), 1);
	assert_int_equal(match_val(set, "10.66.2.1"), 0);
	assert_int_equal(match_val(set, "10.67.0.0"), 1);
	assert_int_equal(match_val(set, "::1"), 1);
	assert_int_equal(match_val(set, "::2"), -1);
	assert_int_equal(match_val(set, "fd00:bad::1"), 0);
	assert_int_equal(match_val(set, "fd00:bae::1"), 1);
	assert_int_equal(match_val(set, "fe00::1"), -1);
	cidr_set_free(set);
}

/* /0 covers a whole family and nothing of the other; mapped IPv6 is IPv4. */
static void test_zero_length(void **state)
{
	static const char *const v4[] = {"0.0.0.0/0"};
	static const char *const v6[] = {"::/0"};
	struct cidr_set *s4 = mkset(v4, NULL, 1), *s6 = mkset(v6, NULL, 1);

	(void)state;
	assert_int_equal(match_val(s4, "0.0.0.0"), 0);
	assert_int_equal(match_val(s4, "255.255.255.255"), 0);
	assert_int_equal(match_val(s4, "::ffff:1.2.3.4"), 0);
	assert_int_equal(match_val(s4, "::1"), -1);
	assert_int_equal(match_val(s6, "::"), 0);
	assert_int_equal(match_val(s6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0);
	assert_int_equal(match_val(s6, "2001:db8::1"), 0);
	/* a mapped address is an IPv4 address: ::/0 does not cover it */
	assert_int_equal(match_val(s6, "::ffff:1.2.3.4"), -1);
	assert_int_equal(match_val(s6, "1.2.3.4"), -1);
	/* the IPv4-compatible form is a plain IPv6 address */
	assert_int_equal(match_val(s6, "::1.2.3.4"), 0);
	cidr_set_free(s4);
	cidr_set_free(s6);
}

/* Single addresses, at both ends of each space. */
static void test_host_prefixes(void **state)
{
	static const char *const s[] = {
	    "0.0.0.0/32",      "255.255.255.255/32",
	    "::/128",	       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	    "2001:db8::1/128", "192.0.2.1"};
	struct cidr_set *set = mkset(s, NULL, ARRAY_SIZE(s));

	(void)state;
	assert_int_equal(match_val(set, "0.0.0.0"), 0);
	assert_int_equal(match_val(set, "0.0.0.1"), -1);
	assert_int_equal(match_val(set, "255.255.255.255"), 1);
	assert_int_equal(match_val(set, "255.255.255.254"), -1);
	assert_int_equal(match_val(set, "::"), 2);
	assert_int_equal(match_val(set, "::1"), -1);
	assert_int_equal(match_val(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 3);
	assert_int_equal(match_val(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), -1);
	assert_int_equal(match_val(set, "2001:db8::1"), 4);
	assert_int_equal(match_val(set, "2001:db8::"), -1);
	assert_int_equal(match_val(set, "2001:db8::2"), -1);
	assert_int_equal(match_val(set, "192.0.2.1"), 5);
	assert_int_equal(match_val(set, "192.0.2.0"), -1);
	assert_int_equal(match_val(set, "192.0.2.2"), -1);
	cidr_set_free(set);
}

/* A /1 pair covering everything, nested down to the last address. */
static void test_adjacent_and_top(void **state)
{
	static const char *const s[] = {"0.0.0.0/1",	      "128.0.0.0/1", "255.0.0.0/8",
					"255.255.255.255/32", "8000::/1",    "ffff::/16"};
	struct cidr_set *set = mkset(s, NULL, ARRAY_SIZE(s));

	(void)state;
	assert_int_equal(match_val(set, "127.255.255.255"), 0);
	assert_int_equal(match_val(set, "128.0.0.0"), 1);
	assert_int_equal(match_val(set, "254.255.255.255"), 1);
	assert_int_equal(match_val(set, "255.0.0.0"), 2);
	assert_int_equal(match_val(set, "255.255.255.254"), 2);
	assert_int_equal(match_val(set, "255.255.255.255"), 3);
	assert_int_equal(match_val(set, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), -1);
	assert_int_equal(match_val(set, "8000::"), 4);
	assert_int_equal(match_val(set, "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 4);
	assert_int_equal(match_val(set, "ffff::"), 5);
	assert_int_equal(match_val(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 5);
	cidr_set_free(set);
}

static void test_mapped_prefix_entry(void **state)
{
	static const char *const s[] = {"::ffff:192.168.0.0/112"};
	struct cidr_set *set = mkset(s, NULL, 1);
	const struct cidr_entry *e;
	struct sockaddr_storage ss = sa_of("192.168.7.7");
	char out[CIDR_TEXT_MAX];

	(void)state;
	e = cidr_match(set, (struct sockaddr *)&ss);
	assert_non_null(e);
	/* stored as the IPv4 prefix it means */
	assert_int_equal(e->prefix.family, AF_INET);
	cidr_format(&e->prefix, out, sizeof(out));
	assert_string_equal(out, "192.168.0.0/16");
	assert_int_equal(match_val(set, "::ffff:192.168.255.255"), 0);
	assert_int_equal(match_val(set, "192.169.0.0"), -1);
	cidr_set_free(set);
}

static void test_duplicates(void **state)
{
	struct cidr_entry e[3] = {
	    {pfx("10.0.0.0/8"), 7}, {pfx("10.0.0.0/8"), 7}, {pfx("::ffff:10.0.0.0/104"), 7}};
	struct cidr_set *set;
	char err[200];

	(void)state;
	/* the same prefix, the same value: kept once ("::ffff:10/104" is 10/8) */
	set = cidr_set_new(e, 3, err, sizeof(err));
	assert_non_null(set);
	assert_int_equal(cidr_set_size(set), 1);
	assert_int_equal(match_val(set, "10.9.9.9"), 7);
	cidr_set_free(set);
	/* another value: refused, naming both */
	e[2].value = 8;
	errno = 0;
	assert_null(cidr_set_new(e, 3, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "entry 2 (10.0.0.0/8): the same prefix as entry 0, another value");
	/* the same address at another length is no duplicate */
	e[1].prefix = pfx("10.0.0.0/9");
	e[1].value = 9;
	e[2].value = 7;
	set = cidr_set_new(e, 3, err, sizeof(err));
	assert_non_null(set);
	assert_int_equal(cidr_set_size(set), 2);
	assert_int_equal(match_val(set, "10.127.0.0"), 9);
	assert_int_equal(match_val(set, "10.128.0.0"), 7);
	cidr_set_free(set);
}

static void test_set_invalid_entries(void **state)
{
	struct cidr_entry e[2] = {{pfx("10.0.0.0/8"), 1}, {pfx("10.0.0.0/8"), 2}};
	char err[200];

	(void)state;
	e[1].prefix.addr[3] = 1;
	errno = 0;
	assert_null(cidr_set_new(e, 2, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "entry 1 (family 2, length 8): host bits set");
	e[1].prefix = pfx("10.0.0.0/8");
	e[1].prefix.len = 33;
	assert_null(cidr_set_new(e, 2, err, sizeof(err)));
	assert_string_equal(err, "entry 1 (family 2, length 33): prefix length out of range");
	e[1].prefix.family = AF_UNIX;
	assert_null(cidr_set_new(e, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "neither AF_INET nor AF_INET6"));
	e[1].prefix = pfx("10.0.0.0/8");
	e[1].prefix.addr[9] = 1;
	assert_null(cidr_set_new(e, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "past addr[3]"));
	assert_null(cidr_set_new(NULL, 2, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
}

static void test_empty_set_and_args(void **state)
{
	struct cidr_set *set = cidr_set_new(NULL, 0, NULL, 0);
	struct sockaddr_storage ss = sa_of("10.0.0.1");
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct in_addr a = {0};

	(void)state;
	assert_non_null(set);
	assert_int_equal(cidr_set_size(set), 0);
	errno = 0;
	assert_null(cidr_match(set, (struct sockaddr *)&ss));
	assert_int_equal(errno, ENOENT);
	assert_null(cidr_match(set, (struct sockaddr *)&un));
	assert_int_equal(errno, EAFNOSUPPORT);
	assert_null(cidr_match(set, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cidr_match(NULL, (struct sockaddr *)&ss));
	assert_int_equal(errno, EINVAL);
	assert_null(cidr_match_addr(set, AF_INET, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cidr_match_addr(set, AF_UNIX, &a));
	assert_int_equal(errno, EAFNOSUPPORT);
	assert_int_equal(cidr_set_size(NULL), 0);
	cidr_set_free(set);
	cidr_set_free(NULL);
}

static void test_from_strings(void **state)
{
	static const char *const ok[] = {"127.0.0.0/8", "::1"};
	static const char *const bad[] = {"127.0.0.0/8", "::1", "10.0.0.1/8"};
	struct cidr_set *set;
	char err[200];

	(void)state;
	set = cidr_set_from_strings(ok, 2, 42, err, sizeof(err));
	assert_non_null(set);
	assert_int_equal(match_val(set, "127.1.2.3"), 42);
	assert_int_equal(match_val(set, "::1"), 42);
	assert_int_equal(match_val(set, "::ffff:127.0.0.1"), 42);
	assert_int_equal(match_val(set, "128.0.0.1"), -1);
	cidr_set_free(set);
	errno = 0;
	assert_null(cidr_set_from_strings(bad, 3, 1, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err,
			    "entry 2: \"10.0.0.1/8\": host bits set; the network is 10.0.0.0/8");
	set = cidr_set_from_strings(NULL, 0, 1, err, sizeof(err));
	assert_non_null(set);
	cidr_set_free(set);
}

/* The set copies its entries: the caller's array may change afterwards. */
static void test_deep_copy(void **state)
{
	struct cidr_entry e[1] = {{pfx("192.0.2.0/24"), 5}};
	struct cidr_set *set = cidr_set_new(e, 1, NULL, 0);
	const struct cidr_entry *m;
	struct sockaddr_storage ss = sa_of("192.0.2.9");

	(void)state;
	memset(e, 0xff, sizeof(e));
	m = cidr_match(set, (struct sockaddr *)&ss);
	assert_non_null(m);
	assert_int_equal(m->value, 5);
	assert_int_equal(m->prefix.len, 24);
	cidr_set_free(set);
}

/* Random prefix of length len around base (so prefixes nest and collide). */
static struct cidr_prefix random_prefix(int family, const uint8_t *base)
{
	struct cidr_prefix p = {.family = (uint8_t)family};
	unsigned int bits = family == AF_INET ? 32 : 128, nb = bits / 8;

	p.len = (uint8_t)(prng() % (bits + 1));
	memcpy(p.addr, base, nb);
	/* flip a few bits so neighbours and nestings both occur */
	for (int k = (int)(prng() % 3); k > 0; k--) {
		unsigned int b = (unsigned int)(prng() % bits);

		p.addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
	}
	for (unsigned int b = p.len; b < bits; b++)
		p.addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
	return p;
}

static bool prefix_has(const struct cidr_prefix *p, const uint8_t *a)
{
	for (unsigned int b = 0; b < p->len; b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if ((p->addr[b / 8] & m) != (a[b / 8] & m))
			return false;
	}
	return true;
}

/*
 * 200 rounds of up to 60 random prefixes per family around one base
 * address each, then 2,000 addresses near the base: the set's answer must
 * be what a scan of every entry for the longest containing prefix gives.
 */
static void test_random_vs_bruteforce(void **state)
{
	(void)state;
	prng_state = 2024;
	for (int round = 0; round < 200; round++) {
		struct cidr_entry e[120];
		uint8_t base4[4], base6[16];
		struct cidr_set *set;
		size_t n = 0;
		char err[200];

		for (int i = 0; i < 4; i++)
			base4[i] = (uint8_t)prng();
		for (int i = 0; i < 16; i++)
			base6[i] = (uint8_t)prng();
		/* keep v6 bases off ::ffff:0:0/96, where they would be IPv4 */
		base6[0] |= 0x20;
		for (size_t k = 1 + prng() % 60; k > 0; k--) {
			for (int f = 0; f < 2; f++) {
				struct cidr_prefix p =
				    random_prefix(f ? AF_INET6 : AF_INET, f ? base6 : base4);
				bool dup = false;

				for (size_t j = 0; j < n; j++)
					if (!memcmp(&e[j].prefix, &p, sizeof(p)))
						dup = true;
				if (dup)
					continue;
				e[n].prefix = p;
				e[n].value = (uint32_t)n;
				n++;
			}
		}
		set = cidr_set_new(e, n, err, sizeof(err));
		if (!set)
			fail_msg("round %d: %s", round, err);
		assert_int_equal(cidr_set_size(set), n);
		for (int q = 0; q < 2000; q++) {
			int f = q & 1;
			unsigned int bits = f ? 128 : 32;
			struct cidr_prefix a =
			    random_prefix(f ? AF_INET6 : AF_INET, f ? base6 : base4);
			const struct cidr_entry *m;
			long want = -1;
			int best = -1;

			/* random_prefix zeroes the host bits: put random ones back */
			for (unsigned int b = a.len; b < bits; b++)
				if (prng() & 1)
					a.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			for (size_t j = 0; j < n; j++) {
				if (e[j].prefix.family != (f ? AF_INET6 : AF_INET))
					continue;
				if (prefix_has(&e[j].prefix, a.addr) && e[j].prefix.len > best) {
					best = e[j].prefix.len;
					want = (long)j;
				}
			}
			m = cidr_match_addr(set, f ? AF_INET6 : AF_INET, a.addr);
			if ((m ? (long)m->value : -1) != want)
				fail_msg("round %d query %d: got %ld want %ld", round, q,
					 m ? (long)m->value : -1, want);
		}
		cidr_set_free(set);
	}
}

/*
 * cidr_classify's linear scan and a cidr_set built from cidr_class_table
 * must agree on every address outside the NAT64 and 6to4 look-through.
 */
static void test_class_table_vs_set(void **state)
{
	const struct cidr_class_range *t;
	struct cidr_entry e[64];
	struct cidr_set *set;
	size_t n;
	char err[200];

	(void)state;
	t = cidr_class_table(&n);
	assert_true(n > 20 && n <= ARRAY_SIZE(e));
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].cls > CIDR_CLASS_GLOBAL && t[i].cls < CIDR_CLASS__MAX);
		e[i].prefix = t[i].prefix;
		e[i].value = t[i].cls;
	}
	set = cidr_set_new(e, n, err, sizeof(err));
	if (!set)
		fail_msg("class table: %s", err);
	assert_int_equal(cidr_set_size(set), n);
	prng_state = 5;
	for (int q = 0; q < 200000; q++) {
		/* near a table prefix half the time, anywhere the other half */
		const struct cidr_prefix *p = &t[prng() % n].prefix;
		int f = p->family, got, want;
		uint8_t a[16] = {0};
		const struct cidr_entry *m;

		if (q & 1) {
			memcpy(a, p->addr, 16);
			for (int k = 0; k < 3; k++) {
				unsigned int b = (unsigned int)(prng() % (f == AF_INET ? 32 : 128));

				a[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			}
		} else {
			for (int k = 0; k < 16; k++)
				a[k] = (uint8_t)prng();
			if (f == AF_INET)
				memset(a + 4, 0, 12);
		}
		if (f == AF_INET6 && ((a[0] == 0x20 && a[1] == 0x02) ||
				      (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)))
			continue;
		got = cidr_classify_addr(f, a);
		m = cidr_match_addr(set, f, a);
		want = m ? (int)m->value : CIDR_CLASS_GLOBAL;
		if (got != want)
			fail_msg("query %d: classify %s, set %s", q,
				 cidr_class_str((enum cidr_class)got),
				 cidr_class_str((enum cidr_class)want));
	}
	cidr_set_free(set);
}

static void test_class_names_and_args(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct in_addr a = {0};

	(void)state;
	assert_string_equal(cidr_class_str(CIDR_CLASS_PRIVATE), "private");
	assert_string_equal(cidr_class_str(CIDR_CLASS_LINK_LOCAL), "link-local");
	assert_string_equal(cidr_class_str(CIDR_CLASS_GLOBAL), "global");
	assert_string_equal(cidr_class_str(CIDR_CLASS__MAX), "?");
	for (int c = 0; c < CIDR_CLASS__MAX; c++)
		assert_string_not_equal(cidr_class_str((enum cidr_class)c), "?");
	assert_int_equal(cidr_classify(NULL), -EINVAL);
	assert_int_equal(cidr_classify((struct sockaddr *)&un), -EAFNOSUPPORT);
	assert_int_equal(cidr_classify_addr(AF_INET, NULL), -EINVAL);
	assert_int_equal(cidr_classify_addr(AF_UNIX, &a), -EAFNOSUPPORT);
	/* the default-deny mask is every class but global */
	assert_false(CIDR_CLASSES_SPECIAL & CIDR_CLASS_BIT(CIDR_CLASS_GLOBAL));
	for (int c = 1; c < CIDR_CLASS__MAX; c++)
		assert_true(CIDR_CLASSES_SPECIAL & CIDR_CLASS_BIT(c));
	assert_int_equal(CIDR_CLASSES_SPECIAL >> CIDR_CLASS__MAX, 0);
}

/* A policy's words: "denied: destination 10.1.2.3 is private". */
static void test_deny_message(void **state)
{
	struct sockaddr_storage ss = sa_of("10.1.2.3");
	char msg[80];
	int c = cidr_classify((struct sockaddr *)&ss);

	(void)state;
	assert_true(CIDR_CLASSES_SPECIAL & CIDR_CLASS_BIT(c));
	snprintf(msg, sizeof(msg), "denied: destination %s is %s", "10.1.2.3",
		 cidr_class_str((enum cidr_class)c));
	assert_string_equal(msg, "denied: destination 10.1.2.3 is private");
}

/* FNV-1a over a prefix: a value that equal prefixes share. */
static uint32_t prefix_hash(const struct cidr_prefix *p)
{
	const uint8_t *b = (const uint8_t *)p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*p); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 random IPv4 and IPv6 prefixes: build and 1M lookups, timed. */
static void test_large_set(void **state)
{
	const size_t n = 100000, q = 1000000;
	struct cidr_entry *e = calloc(n, sizeof(*e));
	uint8_t(*qa)[16] = calloc(q, sizeof(*qa));
	struct cidr_set *set;
	double t0, t1, t2, tb;
	size_t hits = 0;

	(void)state;
	assert_non_null(e);
	assert_non_null(qa);
	prng_state = 77;
	for (size_t i = 0; i < n; i++) {
		uint8_t base[16];

		for (int k = 0; k < 16; k++)
			base[k] = (uint8_t)prng();
		base[0] |= 0x20;
		e[i].prefix = random_prefix(i & 1 ? AF_INET6 : AF_INET, base);
		/* equal prefixes (short ones collide) must carry equal values */
		e[i].value = prefix_hash(&e[i].prefix);
	}
	t0 = now();
	set = cidr_set_new(e, n, NULL, 0);
	tb = now() - t0;
	assert_non_null(set);
	/* the queries first, so only lookups are timed */
	for (size_t i = 0; i < q; i++) {
		uint64_t r = prng(), r2 = prng();

		memcpy(qa[i], &r, 8);
		memcpy(qa[i] + 8, &r2, 8);
		qa[i][0] |= 0x20;
	}
	t1 = now();
	for (size_t i = 0; i < q; i++)
		hits += cidr_match_addr(set, i & 1 ? AF_INET6 : AF_INET, qa[i]) != NULL;
	t2 = now();
	print_message("cidr: %zu prefixes built in %.1f ms; %zu lookups in %.1f ms (%.0f ns each), "
		      "%zu hits\n",
		      n, tb * 1e3, q, (t2 - t1) * 1e3, (t2 - t1) * 1e9 / (double)q, hits);
	assert_true(tb < 2.0);
	assert_true(t2 - t1 < 2.0);
	cidr_set_free(set);
	free(qa);
	free(e);
}

/* ------------------------------------------------------------- main */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_parse_args),	       cmocka_unit_test(test_format_args),
    cmocka_unit_test(test_longest_prefix),     cmocka_unit_test(test_allow_deny),
    cmocka_unit_test(test_zero_length),	       cmocka_unit_test(test_host_prefixes),
    cmocka_unit_test(test_adjacent_and_top),   cmocka_unit_test(test_mapped_prefix_entry),
    cmocka_unit_test(test_duplicates),	       cmocka_unit_test(test_set_invalid_entries),
    cmocka_unit_test(test_empty_set_and_args), cmocka_unit_test(test_from_strings),
    cmocka_unit_test(test_deep_copy),	       cmocka_unit_test(test_random_vs_bruteforce),
    cmocka_unit_test(test_class_table_vs_set), cmocka_unit_test(test_class_names_and_args),
    cmocka_unit_test(test_deny_message),       cmocka_unit_test(test_large_set),
};

int main(void)
{
	size_t n = 0, i,
	       cap = ARRAY_SIZE(parse_cases) + ARRAY_SIZE(bad_parse_cases) +
		     ARRAY_SIZE(class_cases) + ARRAY_SIZE(fixed_tests);
	struct CMUnitTest *t = calloc(cap, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	/* One cmocka test per table row, so a failure names its row. */
	for (i = 0; i < ARRAY_SIZE(parse_cases); i++)
		t[n++] = (struct CMUnitTest){.name = parse_cases[i].name,
					     .test_func = run_parse_case,
					     .initial_state = (void *)&parse_cases[i]};
	for (i = 0; i < ARRAY_SIZE(bad_parse_cases); i++)
		t[n++] = (struct CMUnitTest){.name = bad_parse_cases[i].name,
					     .test_func = run_bad_parse_case,
					     .initial_state = (void *)&bad_parse_cases[i]};
	for (i = 0; i < ARRAY_SIZE(class_cases); i++)
		t[n++] = (struct CMUnitTest){.name = class_cases[i].name,
					     .test_func = run_class_case,
					     .initial_state = (void *)&class_cases[i]};
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		t[n++] = fixed_tests[i];
	rc = _cmocka_run_group_tests("cidr", t, n, NULL, NULL);
	free(t);
	return rc;
}
