// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/net/dns: the real resolver, c-ares and event loop
 * against a tiny DNS server that runs on the same loop, on 127.0.0.1 at a
 * kernel-chosen port (UDP, and TCP on the same port for truncated answers).
 *
 * The server answers from a table of names. Its packets are built here, in
 * the test only (the product code never touches DNS wire format): header,
 * the question copied from the query, then A / AAAA / CNAME records whose
 * owner is a compression pointer to the question (or the spelled-out CNAME
 * target). It counts every question per name and type, which is how the
 * tests see caching and coalescing on the wire.
 *
 * Cache lifetimes run on an injected clock (fake_now) except in one test
 * that waits out a 1 s TTL on the loop's own clock. Every test runs under
 * alarm() so a resolver that never calls back fails instead of hanging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ev/ev.h"
#include "net/dns.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_FDS	    1024
#define MAX_RR	    12
#define MAX_NAMES   64
#define MAX_TCP	    4
#define T_A	    1
#define T_CNAME	    5
#define T_AAAA	    28
#define RC_NOERROR  0
#define RC_SERVFAIL 2
#define RC_NXDOMAIN 3
#define RC_REFUSED  5

/* ---- the fake server ---- */

struct rrset {
	uint32_t ttl;
	int n;
	const char *addr[MAX_RR];
	bool drop; /* never answer this type */
};

struct zone {
	const char *name; /* lower case, no trailing dot */
	int rcode;	  /* for both types */
	struct rrset a, aaaa;
	const char *cname; /* if set: name CNAME cname, whose records are a / aaaa */
	uint32_t cname_ttl;
	bool tc; /* UDP answers are empty and truncated: the client must use TCP */
};

struct fake;

struct tcp_conn {
	struct fake *f;
	int fd;
	uint8_t buf[600];
	size_t len;
};

struct fake {
	struct ev_loop *loop;
	int udp, tcp;
	uint16_t port;
	bool drop_all;
	const struct zone *zones;
	size_t nzones;
	int udp_queries, tcp_queries;
	int count[MAX_NAMES][2]; /* per zone: A, AAAA questions seen */
	int unknown;		 /* questions for names not in the table */
	struct tcp_conn conns[MAX_TCP];
};

static int zone_find(const struct fake *f, const char *name)
{
	for (size_t i = 0; i < f->nzones; i++)
		if (!strcmp(f->zones[i].name, name))
			return (int)i;
	return -1;
}

/* Dotted lower-case name at p, or -1. Queries carry no compression. */
static int wire_name(const uint8_t *p, size_t len, size_t *off, char *out, size_t outsz)
{
	size_t o = *off, w = 0;

	for (;;) {
		uint8_t l;

		if (o >= len)
			return -1;
		l = p[o++];
		if (!l)
			break;
		if (l > 63 || o + l > len || w + l + 2 > outsz)
			return -1;
		if (w)
			out[w++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			char c = (char)p[o + i];

			out[w++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		o += l;
	}
	out[w] = '\0';
	*off = o;
	return 0;
}

static size_t put16(uint8_t *p, size_t o, uint16_t v)
{
	p[o] = (uint8_t)(v >> 8);
	p[o + 1] = (uint8_t)v;
	return o + 2;
}

static size_t put32(uint8_t *p, size_t o, uint32_t v)
{
	o = put16(p, o, (uint16_t)(v >> 16));
	return put16(p, o, (uint16_t)v);
}

static size_t put_name(uint8_t *p, size_t o, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[o++] = (uint8_t)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

/*
 * The answer to query q (qlen bytes) in out, or 0 to stay silent. Counts
 * the question.
 */
static size_t fake_answer(struct fake *f, const uint8_t *q, size_t qlen, bool udp, uint8_t *out)
{
	char name[256];
	size_t off = 12, o, qend;
	uint16_t qtype, flags, ancount = 0;
	const struct zone *z;
	const struct rrset *rs;
	size_t target_off = 12; /* owner of the address records: the question name */
	size_t rdlen_at;
	int zi;

	if (qlen < 12 || wire_name(q, qlen, &off, name, sizeof(name)) || off + 4 > qlen)
		return 0;
	qtype = (uint16_t)(q[off] << 8 | q[off + 1]);
	qend = off + 4;
	zi = zone_find(f, name);
	if (zi < 0) {
		f->unknown++;
		return 0;
	}
	if (qtype == T_A || qtype == T_AAAA)
		f->count[zi][qtype == T_AAAA]++;
	z = &f->zones[zi];
	rs = qtype == T_AAAA ? &z->aaaa : &z->a;
	if (f->drop_all || rs->drop)
		return 0;

	memcpy(out, q, qend); /* id, flags (fixed below), counts (fixed below), question */
	flags = (uint16_t)(0x8000 | (q[2] << 8 & 0x7900) | 0x0080 | (z->rcode & 0xf));
	o = qend;
	if (udp && z->tc) {
		flags |= 0x0200;
	} else if (z->rcode == RC_NOERROR && (qtype == T_A || qtype == T_AAAA)) {
		if (z->cname) {
			o = put16(out, o, 0xc00c);
			o = put16(out, o, T_CNAME);
			o = put16(out, o, 1);
			o = put32(out, o, z->cname_ttl);
			rdlen_at = o;
			o = put_name(out, o + 2, z->cname);
			put16(out, rdlen_at, (uint16_t)(o - rdlen_at - 2));
			target_off = rdlen_at + 2;
			ancount++;
		}
		for (int i = 0; i < rs->n; i++) {
			uint8_t raw[16];
			int fam = qtype == T_AAAA ? AF_INET6 : AF_INET;
			uint16_t rdlen = qtype == T_AAAA ? 16 : 4;

			assert_int_equal(inet_pton(fam, rs->addr[i], raw), 1);
			o = put16(out, o, (uint16_t)(0xc000 | target_off));
			o = put16(out, o, qtype);
			o = put16(out, o, 1);
			o = put32(out, o, rs->ttl);
			o = put16(out, o, rdlen);
			memcpy(out + o, raw, rdlen);
			o += rdlen;
			ancount++;
		}
	}
	put16(out, 2, flags);
	put16(out, 4, 1);
	put16(out, 6, ancount);
	put16(out, 8, 0);
	put16(out, 10, 0);
	return o;
}

static void fake_on_udp(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	uint8_t q[600], out[1500];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	size_t alen;

	(void)loop;
	(void)events;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
	if (n <= 0)
		return;
	f->udp_queries++;
	alen = fake_answer(f, q, (size_t)n, true, out);
	if (alen)
		sendto(fd, out, alen, 0, (struct sockaddr *)&from, flen);
}

static void fake_tcp_serve(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct tcp_conn *c = arg;
	struct fake *f = c->f;
	uint8_t out[1502];
	ssize_t n;

	(void)events;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		ev_del_fd(loop, fd);
		close(fd);
		c->fd = -1;
		c->len = 0;
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2) {
		size_t mlen = (size_t)(c->buf[0] << 8 | c->buf[1]), alen;

		if (c->len < mlen + 2)
			break;
		f->tcp_queries++;
		alen = fake_answer(f, c->buf + 2, mlen, false, out + 2);
		if (alen) {
			put16(out, 0, (uint16_t)alen);
			assert_int_equal(write(fd, out, alen + 2), (ssize_t)(alen + 2));
		}
		memmove(c->buf, c->buf + mlen + 2, c->len - mlen - 2);
		c->len -= mlen + 2;
	}
}

static void fake_on_accept(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	int cfd;

	(void)events;
	cfd = accept(fd, NULL, NULL);
	if (cfd < 0)
		return;
	for (int i = 0; i < MAX_TCP; i++) {
		if (f->conns[i].fd < 0) {
			f->conns[i].fd = cfd;
			f->conns[i].len = 0;
			f->conns[i].f = f;
			assert_int_equal(
			    ev_add_fd(loop, cfd, EV_READ, fake_tcp_serve, &f->conns[i]), 0);
			return;
		}
	}
	close(cfd);
}

/* A server on 127.0.0.1, UDP and TCP on one free port. */
static void fake_start(struct fake *f, struct ev_loop *loop, const struct zone *zones, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->zones = zones;
	f->nzones = n;
	for (int i = 0; i < MAX_TCP; i++)
		f->conns[i].fd = -1;
	assert_true(n <= MAX_NAMES);
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sa);
		int one = 1;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(f->udp >= 0);
		assert_int_equal(bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(f->udp, (struct sockaddr *)&sa, &sl), 0);
		f->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(f->tcp >= 0);
		setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(f->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(f->tcp, 8) == 0) {
			f->port = ntohs(sa.sin_port);
			assert_int_equal(ev_add_fd(loop, f->udp, EV_READ, fake_on_udp, f), 0);
			assert_int_equal(ev_add_fd(loop, f->tcp, EV_READ, fake_on_accept, f), 0);
			return;
		}
		close(f->udp);
		close(f->tcp);
	}
	fail_msg("no free port for the fake server");
}

static void fake_stop(struct fake *f)
{
	for (int i = 0; i < MAX_TCP; i++) {
		if (f->conns[i].fd >= 0) {
			ev_del_fd(f->loop, f->conns[i].fd);
			close(f->conns[i].fd);
		}
	}
	ev_del_fd(f->loop, f->udp);
	ev_del_fd(f->loop, f->tcp);
	close(f->udp);
	close(f->tcp);
}

static int fake_count(const struct fake *f, const char *name, int qtype)
{
	int zi = zone_find(f, name);

	assert_true(zi >= 0);
	return f->count[zi][qtype == T_AAAA];
}

/* ---- the zone every test can use ---- */

static const struct zone zones[] = {
    {.name = "v4.test", .a = {300, 2, {"192.0.2.1", "192.0.2.2"}}},
    {.name = "v6.test", .aaaa = {300, 2, {"2001:db8::1", "2001:db8::2"}}},
    {.name = "both.test",
     .a = {300, 3, {"192.0.2.30", "192.0.2.10", "192.0.2.20"}},
     .aaaa = {300, 2, {"2001:db8::b", "2001:db8::a"}}},
    {.name = "nx.test", .rcode = RC_NXDOMAIN},
    {.name = "nodata.test"},
    {.name = "servfail.test", .rcode = RC_SERVFAIL},
    {.name = "refused.test", .rcode = RC_REFUSED},
    {.name = "silent.test", .a = {300, 1, {"192.0.2.1"}, true}, .aaaa = {300, 0, {0}, true}},
    {.name = "half.test", .a = {300, 1, {"192.0.2.7"}}, .aaaa = {300, 0, {0}, true}},
    {.name = "ttl0.test", .a = {0, 1, {"192.0.2.40"}}},
    {.name = "ttl1.test", .a = {1, 1, {"192.0.2.41"}}},
    {.name = "long.test", .a = {86400, 1, {"192.0.2.42"}}},
    {.name = "mixttl.test", .a = {300, 1, {"192.0.2.43"}}, .aaaa = {60, 1, {"2001:db8::43"}}},
    {.name = "alias.test",
     .cname = "target.test",
     .cname_ttl = 30,
     .a = {300, 1, {"192.0.2.44"}},
     .aaaa = {300, 1, {"2001:db8::44"}}},
    {.name = "many.test",
     .a = {300,
	   12,
	   {"192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3", "192.0.2.4", "192.0.2.5",
	    "192.0.2.6", "192.0.2.7", "192.0.2.8", "192.0.2.9", "192.0.2.10", "192.0.2.11"}}},
    {.name = "big.test", .tc = true, .a = {300, 1, {"192.0.2.50"}}},
    {.name = "a.test", .a = {300, 1, {"192.0.2.61"}}},
    {.name = "b.test", .a = {300, 1, {"192.0.2.62"}}},
    {.name = "c.test", .a = {300, 1, {"192.0.2.63"}}},
    {.name = "intranet", .a = {300, 1, {"192.0.2.64"}}},
};

/* ---- fixture ---- */

static uint64_t fake_now;

static uint64_t test_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct fix {
	struct ev_loop *loop;
	struct fake srv;
	struct dns *d;
	char servers[64];
};

/* One observed completion. */
struct rec {
	int calls;
	int status;
	bool in_resolve; /* the callback ran inside dns_resolve: forbidden */
	struct dns_result r;
	uint64_t at_ms;
};

static bool g_in_resolve;

static void rec_cb(void *arg, int status, const struct dns_result *r)
{
	struct rec *rc = arg;

	rc->calls++;
	rc->status = status;
	rc->in_resolve = g_in_resolve;
	rc->at_ms = mono_ms();
	if (status == 0) {
		assert_non_null(r);
		rc->r = *r;
	} else {
		assert_null(r);
	}
}

static int resolve(struct dns *d, const char *host, int pref, struct rec *rc, struct dns_query **q)
{
	int ret;

	g_in_resolve = true;
	ret = dns_resolve(d, host, pref, rec_cb, rc, q);
	g_in_resolve = false;
	return ret;
}

/* Run the loop until *calls reaches want or ms pass. */
static void run_until(struct ev_loop *loop, const int *calls, int want, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	while (*calls < want && mono_ms() < end)
		assert_int_equal(ev_run_once(loop, 5), 0);
}

static void run_for(struct ev_loop *loop, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	while (mono_ms() < end)
		assert_int_equal(ev_run_once(loop, 5), 0);
}

static void test_opts(struct fix *f, struct dns_opts *o)
{
	dns_opts_init(o);
	snprintf(f->servers, sizeof(f->servers), "127.0.0.1:%u", f->srv.port);
	o->servers = f->servers;
	o->timeout_ms = 100;
	o->tries = 2;
	o->hosts_file = false;
	o->clock_ms = test_clock;
}

static struct dns *mk_dns(struct fix *f, const struct dns_opts *o)
{
	f->d = dns_new(f->loop, o);
	assert_non_null(f->d);
	return f->d;
}

/* The resolver as most tests want it. */
static struct dns *std_dns(struct fix *f)
{
	struct dns_opts o;

	test_opts(f, &o);
	return mk_dns(f, &o);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = ev_loop_new(MAX_FDS);
	assert_non_null(f->loop);
	fake_start(&f->srv, f->loop, zones, ARRAY_SIZE(zones));
	fake_now = 1000000;
	g_in_resolve = false;
	alarm(20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	dns_free(f->d);
	fake_stop(&f->srv);
	ev_loop_free(f->loop);
	free(f);
	alarm(0);
	return 0;
}

/* ---- result checks ---- */

static void assert_v4(const union dns_addr *a, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(a->sa.sa_family, AF_INET);
	assert_int_equal(a->sin.sin_port, 0);
	assert_non_null(inet_ntop(AF_INET, &a->sin.sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static void assert_v6(const union dns_addr *a, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(a->sa.sa_family, AF_INET6);
	assert_int_equal(a->sin6.sin6_port, 0);
	assert_non_null(inet_ntop(AF_INET6, &a->sin6.sin6_addr, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

/* Resolve host, run until answered, and check it did not run inside dns_resolve. */
static void resolve_wait(struct fix *f, const char *host, int pref, struct rec *rc)
{
	memset(rc, 0, sizeof(*rc));
	assert_int_equal(resolve(f->d, host, pref, rc, NULL), 0);
	assert_int_equal(rc->calls, 0);
	run_until(f->loop, &rc->calls, 1, 3000);
	assert_int_equal(rc->calls, 1);
	assert_false(rc->in_resolve);
}

/* ---- options and bad input ---- */

static void test_opts_defaults(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct dns *d;

	dns_opts_init(&o);
	assert_null(o.servers);
	assert_int_equal(o.timeout_ms, 2000);
	assert_int_equal(o.tries, 2);
	assert_int_equal(o.cache_size, 4096);
	assert_int_equal(o.min_ttl_s, 0);
	assert_int_equal(o.max_ttl_s, 3600);
	assert_int_equal(o.neg_ttl_s, 10);
	assert_true(o.hosts_file);
	assert_null(o.clock_ms);
	/* NULL options: the defaults, from /etc/resolv.conf. */
	d = dns_new(f->loop, NULL);
	assert_non_null(d);
	dns_free(d);
	dns_free(NULL);
}

static void test_opts_invalid(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;

	errno = 0;
	assert_null(dns_new(NULL, NULL));
	assert_int_equal(errno, EINVAL);

	static const char *const cases[] = {
	    "timeout 0", "timeout too big", "tries 0",	     "tries 17",
	    "min > max", "cache too big",   "servers empty", "servers garbage",
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		test_opts(f, &o);
		switch (i) {
		case 0:
			o.timeout_ms = 0;
			break;
		case 1:
			o.timeout_ms = 60001;
			break;
		case 2:
			o.tries = 0;
			break;
		case 3:
			o.tries = 17;
			break;
		case 4:
			o.min_ttl_s = 10;
			o.max_ttl_s = 9;
			break;
		case 5:
			o.cache_size = DNS_CACHE_MAX + 1;
			break;
		case 6:
			o.servers = "";
			break;
		case 7:
			o.servers = "not an address";
			break;
		}
		errno = 0;
		if (dns_new(f->loop, &o)) {
			print_error("accepted: %s\n", cases[i]);
			fail();
		}
		assert_int_equal(errno, EINVAL);
	}
	/* Limits themselves are fine. */
	test_opts(f, &o);
	o.timeout_ms = 60000;
	o.tries = 16;
	o.cache_size = 0;
	o.min_ttl_s = o.max_ttl_s = 7;
	o.servers = "127.0.0.1:53,[::1]:5353";
	mk_dns(f, &o);
}

static void test_resolve_bad_input(void **state)
{
	struct fix *f = *state;
	struct rec rc = {0};
	struct dns_query *q = (struct dns_query *)&rc; /* must stay untouched */
	char longname[300], longlabel[80];
	static const char *const bad[] = {
	    "",
	    ".",
	    "a..b",
	    ".a.b",
	    "a b.test",
	    "a/b.test",
	    "a\x80.test",
	    "host:80",
	    "[192.0.2.1]",
	    "[2001:db8::1",
	    "2001:db8::1]",
	    "[]",
	    "fe80::1%eth0",
	    "127.1",
	    "1.2.3.4.",
	    "1.2.3.4.5",
	    "0x7f.1",
	    "0x7F000001",
	    "2130706433",
	    "host.123",
	    "a.test..",
	};

	std_dns(f);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (resolve(f->d, bad[i], DNS_PREFER_V4, &rc, &q) != -EINVAL) {
			print_error("accepted host \"%s\"\n", bad[i]);
			fail();
		}
	}
	/* 254 bytes without the dot: one too many. 253 is fine. */
	memset(longname, 'a', sizeof(longname));
	for (int i = 63; i < 253; i += 64)
		longname[i] = '.';
	longname[254] = '\0';
	assert_int_equal(resolve(f->d, longname, DNS_PREFER_V4, &rc, &q), -EINVAL);
	longname[253] = '\0';
	assert_int_equal(resolve(f->d, longname, DNS_PREFER_V4, &rc, &q), 0);
	assert_ptr_not_equal(q, &rc);
	dns_cancel(q);
	q = (struct dns_query *)&rc;
	/* A 64-byte label is one too many. */
	memset(longlabel, 'b', sizeof(longlabel));
	strcpy(longlabel + 64, ".test");
	assert_int_equal(resolve(f->d, longlabel, DNS_PREFER_V4, &rc, &q), -EINVAL);

	assert_int_equal(dns_resolve(NULL, "a.test", DNS_PREFER_V4, rec_cb, &rc, &q), -EINVAL);
	assert_int_equal(dns_resolve(f->d, NULL, DNS_PREFER_V4, rec_cb, &rc, &q), -EINVAL);
	assert_int_equal(dns_resolve(f->d, "a.test", DNS_PREFER_V4, NULL, &rc, &q), -EINVAL);
	assert_int_equal(dns_resolve(f->d, "a.test", -1, rec_cb, &rc, &q), -EINVAL);
	assert_int_equal(dns_resolve(f->d, "a.test", DNS_ONLY_V6 + 1, rec_cb, &rc, &q), -EINVAL);
	assert_ptr_equal(q, &rc);

	run_for(f->loop, 50);
	assert_int_equal(rc.calls, 0);
	assert_int_equal(f->srv.count[zone_find(&f->srv, "a.test")][0], 0);
}

/* ---- literals ---- */

static void test_literal_v4(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "192.0.2.9", DNS_PREFER_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 1);
	assert_int_equal(rc.r.n_first, 1);
	assert_v4(&rc.r.addrs[0], "192.0.2.9");
	assert_int_equal(rc.r.source, DNS_SRC_LITERAL);
	assert_int_equal(rc.r.ttl_s, 0);

	/* The wrong family for an address is "no address", not a lookup. */
	resolve_wait(f, "192.0.2.9", DNS_ONLY_V6, &rc);
	assert_int_equal(rc.status, -ENODATA);

	assert_int_equal(f->srv.udp_queries, 0);
	dns_stats(f->d, &st);
	assert_int_equal(st.literals, 2);
	assert_int_equal(st.resolves, 2);
	assert_int_equal(st.lookups, 0);
}

static void test_literal_v6(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "2001:DB8::1", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 1);
	assert_v6(&rc.r.addrs[0], "2001:db8::1");

	resolve_wait(f, "[::ffff:192.0.2.1]", DNS_ONLY_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_v6(&rc.r.addrs[0], "::ffff:192.0.2.1");

	resolve_wait(f, "[::1]", DNS_ONLY_V4, &rc);
	assert_int_equal(rc.status, -ENODATA);
	assert_int_equal(f->srv.udp_queries, 0);
}

static void test_localhost(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "LocalHost.", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
	assert_int_equal(rc.r.n_first, 1);
	assert_v4(&rc.r.addrs[0], "127.0.0.1");
	assert_v6(&rc.r.addrs[1], "::1");
	assert_int_equal(rc.r.source, DNS_SRC_LITERAL);

	resolve_wait(f, "app.localhost", DNS_PREFER_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_v6(&rc.r.addrs[0], "::1");
	assert_v4(&rc.r.addrs[1], "127.0.0.1");

	/* Not a localhost name: it goes to the server (which does not know it). */
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(resolve(f->d, "localhost.test", DNS_PREFER_V4, &rc, NULL), 0);
	run_until(f->loop, &rc.calls, 1, 3000);
	assert_int_equal(rc.calls, 1);
	assert_int_equal(rc.status, -ETIMEDOUT);
	assert_true(f->srv.unknown > 0);
}

/* ---- families and order ---- */

static void test_a_only(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
	assert_int_equal(rc.r.n_first, 2);
	assert_v4(&rc.r.addrs[0], "192.0.2.1");
	assert_v4(&rc.r.addrs[1], "192.0.2.2");
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(rc.r.ttl_s, 300);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 1);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_AAAA), 1);

	/* Preferring IPv6 falls back to what there is. */
	resolve_wait(f, "v4.test", DNS_PREFER_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
	assert_int_equal(rc.r.n_first, 2);
	assert_v4(&rc.r.addrs[0], "192.0.2.1");
	/* Insisting on IPv6 does not. */
	resolve_wait(f, "v4.test", DNS_ONLY_V6, &rc);
	assert_int_equal(rc.status, -ENODATA);
}

static void test_aaaa_only(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "v6.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
	assert_int_equal(rc.r.n_first, 2);
	assert_v6(&rc.r.addrs[0], "2001:db8::1");
	assert_v6(&rc.r.addrs[1], "2001:db8::2");

	resolve_wait(f, "v6.test", DNS_ONLY_V4, &rc);
	assert_int_equal(rc.status, -ENODATA);
	resolve_wait(f, "v6.test", DNS_ONLY_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
}

static void test_both_prefer_v4(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "both.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 5);
	assert_int_equal(rc.r.n_first, 3);
	/* Server order within a family, not sorted. */
	assert_v4(&rc.r.addrs[0], "192.0.2.30");
	assert_v4(&rc.r.addrs[1], "192.0.2.10");
	assert_v4(&rc.r.addrs[2], "192.0.2.20");
	assert_v6(&rc.r.addrs[3], "2001:db8::b");
	assert_v6(&rc.r.addrs[4], "2001:db8::a");
}

static void test_both_prefer_v6(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "both.test", DNS_PREFER_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 5);
	assert_int_equal(rc.r.n_first, 2);
	assert_v6(&rc.r.addrs[0], "2001:db8::b");
	assert_v6(&rc.r.addrs[1], "2001:db8::a");
	assert_v4(&rc.r.addrs[2], "192.0.2.30");
	assert_v4(&rc.r.addrs[4], "192.0.2.20");
}

static void test_only_filters_from_cache(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "both.test", DNS_ONLY_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
	assert_int_equal(rc.r.n_first, 2);
	assert_v6(&rc.r.addrs[0], "2001:db8::b");
	/* The lookup asked for both: the IPv4 answer comes from the cache. */
	resolve_wait(f, "both.test", DNS_ONLY_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 3);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	assert_v4(&rc.r.addrs[0], "192.0.2.30");
	assert_int_equal(fake_count(&f->srv, "both.test", T_A), 1);
	assert_int_equal(fake_count(&f->srv, "both.test", T_AAAA), 1);
}

static void test_address_cap_and_dedup(void **state)
{
	struct fix *f = *state;
	static const char *const want[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4",
					   "192.0.2.5", "192.0.2.6", "192.0.2.7", "192.0.2.8"};
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "many.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, DNS_MAX_PER_FAMILY);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_v4(&rc.r.addrs[i], want[i]);
}

static void test_cname(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "alias.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 2);
	assert_v4(&rc.r.addrs[0], "192.0.2.44");
	assert_v6(&rc.r.addrs[1], "2001:db8::44");
	/* The CNAME's 30 s bound the answer, not the records' 300 s. */
	assert_int_equal(rc.r.ttl_s, 30);
}

static void test_no_search_domains(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	/* A single label is asked as it is, nothing appended. */
	resolve_wait(f, "Intranet", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_v4(&rc.r.addrs[0], "192.0.2.64");
	assert_int_equal(fake_count(&f->srv, "intranet", T_A), 1);
	assert_int_equal(f->srv.unknown, 0);
}

/* ---- cache and TTL ---- */

static void test_cache_hit_until_ttl(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);

	fake_now += 299999; /* 1 ms before the 300 s are up */
	resolve_wait(f, "V4.TEST.", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	assert_int_equal(rc.r.ttl_s, 1);
	assert_v4(&rc.r.addrs[0], "192.0.2.1");
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 1);

	fake_now += 1;
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 2);

	dns_stats(f->d, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.lookups, 2);
	assert_int_equal(st.entries, 1);
}

static void test_ttl_remaining_reported(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "both.test", DNS_PREFER_V4, &rc);
	fake_now += 100500;
	resolve_wait(f, "both.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	assert_int_equal(rc.r.ttl_s, 200); /* 199.5 s rounded up */
}

static void test_ttl_smallest_record(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "mixttl.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.ttl_s, 60);
	fake_now += 59999;
	resolve_wait(f, "mixttl.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	fake_now += 1;
	resolve_wait(f, "mixttl.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "mixttl.test", T_AAAA), 2);
}

static void test_ttl_zero_not_cached(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "ttl0.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.ttl_s, 0);
	assert_v4(&rc.r.addrs[0], "192.0.2.40");
	resolve_wait(f, "ttl0.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "ttl0.test", T_A), 2);
	dns_stats(f->d, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.hits, 0);
}

static void test_ttl_min_clamp(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct rec rc;

	test_opts(f, &o);
	o.min_ttl_s = 5;
	mk_dns(f, &o);
	resolve_wait(f, "ttl0.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.ttl_s, 5);
	fake_now += 4999;
	resolve_wait(f, "ttl0.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	fake_now += 1;
	resolve_wait(f, "ttl0.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "ttl0.test", T_A), 2);
}

static void test_ttl_max_clamp(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct rec rc;

	test_opts(f, &o);
	o.max_ttl_s = 10;
	mk_dns(f, &o);
	resolve_wait(f, "long.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.ttl_s, 10);
	fake_now += 10000;
	resolve_wait(f, "long.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "long.test", T_A), 2);
}

/* The default clock is the loop's: a 1 s TTL really runs out. */
static void test_ttl_real_clock(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct rec rc;

	test_opts(f, &o);
	o.clock_ms = NULL;
	mk_dns(f, &o);
	resolve_wait(f, "ttl1.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.ttl_s, 1);
	resolve_wait(f, "ttl1.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	run_for(f->loop, 1050);
	resolve_wait(f, "ttl1.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "ttl1.test", T_A), 2);
}

static void test_nxdomain_negative_cache(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENOENT);
	assert_string_equal(dns_strerror(rc.status), "name not found");
	fake_now += 9999;
	resolve_wait(f, "nx.test", DNS_PREFER_V6, &rc);
	assert_int_equal(rc.status, -ENOENT);
	assert_int_equal(fake_count(&f->srv, "nx.test", T_A), 1);
	fake_now += 1;
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENOENT);
	assert_int_equal(fake_count(&f->srv, "nx.test", T_A), 2);
	dns_stats(f->d, &st);
	assert_int_equal(st.neg_hits, 1);
	assert_int_equal(st.lookup_neg, 2);
	assert_int_equal(st.hits, 0);
}

static void test_nodata_negative_cache(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "nodata.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENODATA);
	resolve_wait(f, "nodata.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENODATA);
	assert_int_equal(fake_count(&f->srv, "nodata.test", T_A), 1);
	assert_int_equal(fake_count(&f->srv, "nodata.test", T_AAAA), 1);
}

static void test_negative_ttl_zero(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct rec rc;

	test_opts(f, &o);
	o.neg_ttl_s = 0;
	mk_dns(f, &o);
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENOENT);
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENOENT);
	assert_int_equal(fake_count(&f->srv, "nx.test", T_A), 2);
}

static void test_cache_eviction_lru(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct dns_stats st;
	struct rec rc;

	test_opts(f, &o);
	o.cache_size = 2;
	mk_dns(f, &o);
	resolve_wait(f, "a.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "b.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "a.test", DNS_PREFER_V4, &rc); /* a is now the most recent */
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	resolve_wait(f, "c.test", DNS_PREFER_V4, &rc); /* evicts b */
	dns_stats(f->d, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evicted, 1);

	resolve_wait(f, "a.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	resolve_wait(f, "c.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	resolve_wait(f, "b.test", DNS_PREFER_V4, &rc); /* asked again; evicts a */
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	assert_v4(&rc.r.addrs[0], "192.0.2.62");
	assert_int_equal(fake_count(&f->srv, "a.test", T_A), 1);
	assert_int_equal(fake_count(&f->srv, "b.test", T_A), 2);
	assert_int_equal(fake_count(&f->srv, "c.test", T_A), 1);
	resolve_wait(f, "a.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
	dns_stats(f->d, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evicted, 3);
}

static void test_cache_size_zero(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct rec r1 = {0}, r2 = {0};

	test_opts(f, &o);
	o.cache_size = 0;
	mk_dns(f, &o);
	/* Nothing is kept, yet concurrent requests still share a lookup. */
	assert_int_equal(resolve(f->d, "v4.test", DNS_PREFER_V4, &r1, NULL), 0);
	assert_int_equal(resolve(f->d, "v4.test", DNS_PREFER_V4, &r2, NULL), 0);
	run_until(f->loop, &r2.calls, 1, 3000);
	run_until(f->loop, &r1.calls, 1, 3000);
	assert_int_equal(r1.status, 0);
	assert_int_equal(r2.status, 0);
	assert_int_equal(r1.r.ttl_s, 0);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 1);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &r1);
	assert_int_equal(r1.r.source, DNS_SRC_QUERY);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 2);
}

static void test_flush(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	dns_stats(f->d, &st);
	assert_int_equal(st.entries, 2);
	dns_flush(f->d);
	dns_flush(NULL);
	dns_stats(f->d, &st);
	assert_int_equal(st.entries, 0);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_QUERY);
}

/* ---- failures ---- */

static void test_timeout(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc = {0};
	uint64_t t0;

	std_dns(f);
	t0 = mono_ms();
	assert_int_equal(resolve(f->d, "silent.test", DNS_PREFER_V4, &rc, NULL), 0);
	run_until(f->loop, &rc.calls, 1, 5000);
	assert_int_equal(rc.calls, 1);
	assert_int_equal(rc.status, -ETIMEDOUT);
	/* 100 ms, then 200 ms on the second try (c-ares doubles per round). */
	assert_true(rc.at_ms - t0 >= 280);
	assert_true(rc.at_ms - t0 <= 1000);
	/* Both tries reached the server. */
	assert_int_equal(fake_count(&f->srv, "silent.test", T_A), 2);
	dns_stats(f->d, &st);
	assert_int_equal(st.lookup_timeout, 1);
	assert_int_equal(st.lookup_err, 1);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.inflight, 0);

	/* Failures are not cached. */
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(resolve(f->d, "silent.test", DNS_PREFER_V4, &rc, NULL), 0);
	run_until(f->loop, &rc.calls, 1, 5000);
	assert_int_equal(rc.status, -ETIMEDOUT);
	assert_int_equal(fake_count(&f->srv, "silent.test", T_A), 4);
}

static void test_timeout_one_family(void **state)
{
	struct fix *f = *state;
	struct rec rc = {0};

	std_dns(f);
	/* The A answer is used once the AAAA question has timed out. */
	assert_int_equal(resolve(f->d, "half.test", DNS_PREFER_V6, &rc, NULL), 0);
	run_until(f->loop, &rc.calls, 1, 5000);
	assert_int_equal(rc.status, 0);
	assert_int_equal(rc.r.n, 1);
	assert_v4(&rc.r.addrs[0], "192.0.2.7");
}

static void test_servfail_refused(void **state)
{
	struct fix *f = *state;
	struct rec rc;
	int before;

	std_dns(f);
	/*
	 * c-ares 1.18 ends a query whose servers all said SERVFAIL with the
	 * status it started with, ECONNREFUSED; later versions say ESERVFAIL.
	 */
	resolve_wait(f, "servfail.test", DNS_PREFER_V4, &rc);
	assert_true(rc.status == -ECONNREFUSED || rc.status == -EAGAIN);
	/* Each try asked the server again (tries 2): SERVFAIL is not final. */
	assert_int_equal(fake_count(&f->srv, "servfail.test", T_A), 2);
	before = fake_count(&f->srv, "servfail.test", T_A);
	resolve_wait(f, "servfail.test", DNS_PREFER_V4, &rc);
	assert_true(rc.status == -ECONNREFUSED || rc.status == -EAGAIN);
	/* Not cached. */
	assert_true(fake_count(&f->srv, "servfail.test", T_A) > before);

	resolve_wait(f, "refused.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ECONNREFUSED);
}

static void test_server_port_closed(void **state)
{
	struct fix *f = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct dns_opts o;
	struct rec rc;
	int s;

	/* A port nobody listens on: ICMP port unreachable, not a timeout. */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	test_opts(f, &o);
	snprintf(f->servers, sizeof(f->servers), "127.0.0.1:%u", ntohs(sa.sin_port));
	o.timeout_ms = 2000;
	mk_dns(f, &o);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ECONNREFUSED);
}

static void test_second_server(void **state)
{
	struct fix *f = *state;
	struct fake dead;
	struct dns_opts o;
	struct rec rc;

	fake_start(&dead, f->loop, zones, ARRAY_SIZE(zones));
	dead.drop_all = true;
	test_opts(f, &o);
	snprintf(f->servers, sizeof(f->servers), "127.0.0.1:%u,127.0.0.1:%u", dead.port,
		 f->srv.port);
	mk_dns(f, &o);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_v4(&rc.r.addrs[0], "192.0.2.1");
	assert_int_equal(fake_count(&dead, "v4.test", T_A), 1);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 1);
	dns_free(f->d);
	f->d = NULL;
	fake_stop(&dead);
}

static void test_truncated_uses_tcp(void **state)
{
	struct fix *f = *state;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "big.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, 0);
	assert_v4(&rc.r.addrs[0], "192.0.2.50");
	assert_true(f->srv.tcp_queries >= 1);
}

/* ---- coalescing, cancel, reentrancy ---- */

static void test_coalesce(void **state)
{
	struct fix *f = *state;
	struct rec r1 = {0}, r2 = {0}, r3 = {0};
	struct dns_stats st;

	std_dns(f);
	assert_int_equal(resolve(f->d, "both.test", DNS_PREFER_V4, &r1, NULL), 0);
	assert_int_equal(resolve(f->d, "BOTH.test.", DNS_PREFER_V6, &r2, NULL), 0);
	assert_int_equal(resolve(f->d, "both.test", DNS_ONLY_V4, &r3, NULL), 0);
	dns_stats(f->d, &st);
	assert_int_equal(st.inflight, 1);
	run_until(f->loop, &r3.calls, 1, 3000);
	run_until(f->loop, &r1.calls, 1, 100);
	run_until(f->loop, &r2.calls, 1, 100);
	assert_int_equal(r1.calls + r2.calls + r3.calls, 3);
	assert_false(r1.in_resolve || r2.in_resolve || r3.in_resolve);
	/* One question per family on the wire, each request in its own order. */
	assert_int_equal(fake_count(&f->srv, "both.test", T_A), 1);
	assert_int_equal(fake_count(&f->srv, "both.test", T_AAAA), 1);
	assert_int_equal(f->srv.udp_queries, 2);
	assert_v4(&r1.r.addrs[0], "192.0.2.30");
	assert_v6(&r2.r.addrs[0], "2001:db8::b");
	assert_int_equal(r3.r.n, 3);
	assert_int_equal(r1.r.source, DNS_SRC_QUERY);
	assert_int_equal(r2.r.source, DNS_SRC_QUERY);
	dns_stats(f->d, &st);
	assert_int_equal(st.coalesced, 2);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.inflight, 0);
}

static void test_cancel_only_waiter(void **state)
{
	struct fix *f = *state;
	struct rec rc = {0};
	struct dns_query *q = NULL;
	struct dns_stats st;

	std_dns(f);
	assert_int_equal(resolve(f->d, "v4.test", DNS_PREFER_V4, &rc, &q), 0);
	assert_non_null(q);
	dns_cancel(q);
	dns_cancel(NULL);
	/* The lookup goes on and its answer is cached for whoever asks next. */
	for (int i = 0; i < 100; i++) {
		dns_stats(f->d, &st);
		if (!st.inflight)
			break;
		run_for(f->loop, 10);
	}
	assert_int_equal(st.inflight, 0);
	assert_int_equal(rc.calls, 0);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.cancelled, 1);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.r.source, DNS_SRC_CACHE);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 1);
}

static void test_cancel_one_of_two(void **state)
{
	struct fix *f = *state;
	struct rec r1 = {0}, r2 = {0};
	struct dns_query *q1, *q2;

	std_dns(f);
	assert_int_equal(resolve(f->d, "v6.test", DNS_PREFER_V4, &r1, &q1), 0);
	assert_int_equal(resolve(f->d, "v6.test", DNS_PREFER_V4, &r2, &q2), 0);
	assert_ptr_not_equal(q1, q2);
	dns_cancel(q1);
	run_until(f->loop, &r2.calls, 1, 3000);
	run_for(f->loop, 30);
	assert_int_equal(r1.calls, 0);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.status, 0);
}

static void test_cancel_immediate_answers(void **state)
{
	struct fix *f = *state;
	struct rec r1 = {0}, r2 = {0}, r3 = {0};
	struct dns_query *q1, *q2, *q3;

	std_dns(f);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &r3);
	memset(&r3, 0, sizeof(r3));
	/* A literal and a cache hit are queued too, and can be taken back. */
	assert_int_equal(resolve(f->d, "192.0.2.1", DNS_PREFER_V4, &r1, &q1), 0);
	assert_int_equal(resolve(f->d, "v4.test", DNS_PREFER_V4, &r2, &q2), 0);
	assert_int_equal(resolve(f->d, "nx.test", DNS_PREFER_V4, &r3, &q3), 0);
	dns_cancel(q1);
	dns_cancel(q2);
	run_until(f->loop, &r3.calls, 1, 3000);
	run_for(f->loop, 20);
	assert_int_equal(r1.calls, 0);
	assert_int_equal(r2.calls, 0);
	assert_int_equal(r3.calls, 1);
	assert_int_equal(r3.status, -ENOENT);
}

/* A callback that cancels another query delivered in the same batch. */
struct canceller {
	struct rec rec;
	struct dns_query *victim;
};

static void cancel_cb(void *arg, int status, const struct dns_result *r)
{
	struct canceller *c = arg;

	rec_cb(&c->rec, status, r);
	dns_cancel(c->victim);
}

static void test_cancel_from_callback(void **state)
{
	struct fix *f = *state;
	struct canceller c = {0};
	struct rec victim = {0};
	struct dns_query *q;

	std_dns(f);
	assert_int_equal(dns_resolve(f->d, "192.0.2.1", DNS_PREFER_V4, cancel_cb, &c, NULL), 0);
	assert_int_equal(resolve(f->d, "192.0.2.2", DNS_PREFER_V4, &victim, &q), 0);
	c.victim = q;
	run_until(f->loop, &c.rec.calls, 1, 1000);
	run_for(f->loop, 20);
	assert_int_equal(c.rec.calls, 1);
	assert_int_equal(victim.calls, 0);
}

/* A callback that resolves again; also cancels itself (a no-op). */
struct again {
	struct rec first;
	struct rec second;
	struct dns *d;
	struct dns_query *self;
	int ret;
};

static void again_cb(void *arg, int status, const struct dns_result *r)
{
	struct again *a = arg;

	rec_cb(&a->first, status, r);
	dns_cancel(a->self);
	a->ret = resolve(a->d, "v4.test", DNS_PREFER_V4, &a->second, NULL);
	/* A cache hit, yet not answered inside this callback either. */
	assert_int_equal(a->second.calls, 0);
}

static void test_resolve_from_callback(void **state)
{
	struct fix *f = *state;
	struct again a = {0};

	a.d = std_dns(f);
	assert_int_equal(dns_resolve(f->d, "v4.test", DNS_PREFER_V4, again_cb, &a, &a.self), 0);
	run_until(f->loop, &a.second.calls, 1, 3000);
	assert_int_equal(a.ret, 0);
	assert_int_equal(a.first.calls, 1);
	assert_int_equal(a.second.calls, 1);
	assert_false(a.second.in_resolve);
	assert_int_equal(a.second.r.source, DNS_SRC_CACHE);
	assert_int_equal(fake_count(&f->srv, "v4.test", T_A), 1);
}

/* A callback that frees the resolver while more answers are queued. */
struct freer {
	struct rec rec;
	struct dns **d;
	int ret_after;
};

static void free_cb(void *arg, int status, const struct dns_result *r)
{
	struct freer *fr = arg;

	rec_cb(&fr->rec, status, r);
	dns_free(*fr->d);
	dns_free(*fr->d); /* twice: still only once */
	fr->ret_after = dns_resolve(*fr->d, "v4.test", DNS_PREFER_V4, rec_cb, &fr->rec, NULL);
}

static void test_free_from_callback(void **state)
{
	struct fix *f = *state;
	struct freer fr = {0};
	struct rec later = {0}, inflight = {0};

	std_dns(f);
	fr.d = &f->d;
	assert_int_equal(resolve(f->d, "silent.test", DNS_PREFER_V4, &inflight, NULL), 0);
	assert_int_equal(dns_resolve(f->d, "192.0.2.1", DNS_PREFER_V4, free_cb, &fr, NULL), 0);
	assert_int_equal(resolve(f->d, "192.0.2.2", DNS_PREFER_V4, &later, NULL), 0);
	run_until(f->loop, &fr.rec.calls, 1, 1000);
	f->d = NULL; /* freed by the callback */
	assert_int_equal(fr.ret_after, -ESHUTDOWN);
	run_for(f->loop, 400);
	assert_int_equal(fr.rec.calls, 1);
	assert_int_equal(later.calls, 0);
	assert_int_equal(inflight.calls, 0);
}

/* dns_free with lookups in flight: no callbacks, no fds left on the loop. */
static void test_free_with_pending(void **state)
{
	struct fix *f = *state;
	struct rec r[3] = {{0}};

	std_dns(f);
	assert_int_equal(resolve(f->d, "silent.test", DNS_PREFER_V4, &r[0], NULL), 0);
	assert_int_equal(resolve(f->d, "big.test", DNS_PREFER_V4, &r[1], NULL), 0);
	assert_int_equal(resolve(f->d, "192.0.2.1", DNS_PREFER_V4, &r[2], NULL), 0);
	/* Let the packets go out and the TCP connection start. */
	for (int i = 0; i < 20 && f->srv.tcp_queries == 0; i++)
		assert_int_equal(ev_run_once(f->loop, 5), 0);
	run_until(f->loop, &r[2].calls, 1, 100);
	assert_int_equal(r[2].calls, 1);
	dns_free(f->d);
	f->d = NULL;
	for (int fd = 0; fd < MAX_FDS; fd++) {
		bool ours = fd == f->srv.udp || fd == f->srv.tcp;

		for (int i = 0; i < MAX_TCP; i++)
			ours = ours || fd == f->srv.conns[i].fd;
		if (!ours && ev_fd_events(f->loop, fd))
			fail_msg("fd %d still on the loop after dns_free", fd);
	}
	run_for(f->loop, 400);
	assert_int_equal(r[0].calls, 0);
	assert_int_equal(r[1].calls, 0);
}

/* dns_free while answers wait for delivery: none runs, nothing leaks (ASan). */
static void test_free_before_delivery(void **state)
{
	struct fix *f = *state;
	struct rec r1 = {0}, r2 = {0}, r3 = {0};

	std_dns(f);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &r3);
	memset(&r3, 0, sizeof(r3));
	assert_int_equal(resolve(f->d, "192.0.2.1", DNS_PREFER_V4, &r1, NULL), 0);
	assert_int_equal(resolve(f->d, "v4.test", DNS_PREFER_V4, &r2, NULL), 0);
	assert_int_equal(resolve(f->d, "both.test", DNS_PREFER_V4, &r3, NULL), 0);
	dns_free(f->d);
	f->d = NULL;
	run_for(f->loop, 50);
	assert_int_equal(r1.calls + r2.calls + r3.calls, 0);
}

/*
 * c-ares answers some names inside ares_getaddrinfo() itself (.onion is
 * NXDOMAIN by RFC 7686): the answer must still come from the loop.
 */
static void test_sync_completion(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	resolve_wait(f, "hidden.onion", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENOENT);
	resolve_wait(f, "hidden.onion", DNS_PREFER_V4, &rc);
	assert_int_equal(rc.status, -ENOENT);
	assert_int_equal(f->srv.udp_queries, 0);
	dns_stats(f->d, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.neg_hits, 1);
	assert_int_equal(st.inflight, 0);
}

/* With /etc/hosts consulted first, a name it lacks still goes to DNS. */
static void test_hosts_file_then_dns(void **state)
{
	struct fix *f = *state;
	struct dns_opts o;
	struct rec rc;

	test_opts(f, &o);
	o.hosts_file = true;
	mk_dns(f, &o);
	resolve_wait(f, "both.test", DNS_PREFER_V6, &rc);
	assert_int_equal(rc.status, 0);
	assert_v6(&rc.r.addrs[0], "2001:db8::b");
	assert_int_equal(fake_count(&f->srv, "both.test", T_A), 1);
}

static void test_stats_and_strerror(void **state)
{
	struct fix *f = *state;
	struct dns_stats st;
	struct rec rc;

	std_dns(f);
	dns_stats(f->d, &st);
	assert_int_equal(st.resolves, 0);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "v4.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "nx.test", DNS_PREFER_V4, &rc);
	resolve_wait(f, "::1", DNS_PREFER_V4, &rc);
	dns_stats(f->d, &st);
	assert_int_equal(st.resolves, 5);
	assert_int_equal(st.literals, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.neg_hits, 1);
	assert_int_equal(st.lookups, 2);
	assert_int_equal(st.lookup_ok, 1);
	assert_int_equal(st.lookup_neg, 1);
	assert_int_equal(st.lookup_err, 0);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.inflight, 0);

	assert_string_equal(dns_strerror(0), "ok");
	assert_string_equal(dns_strerror(-ENODATA), "no address for name");
	assert_string_equal(dns_strerror(-ETIMEDOUT), "name server timeout");
	assert_string_equal(dns_strerror(-ECONNREFUSED), "name server refused or failed");
	assert_string_equal(dns_strerror(-EAGAIN), "name server failure");
	assert_string_equal(dns_strerror(-12345), "name resolution failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_opts_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_opts_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_literal_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_literal_v6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_localhost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_aaaa_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_both_prefer_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_both_prefer_v6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_filters_from_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_address_cap_and_dedup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cname, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_search_domains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_hit_until_ttl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ttl_remaining_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ttl_smallest_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ttl_zero_not_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ttl_min_clamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ttl_max_clamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ttl_real_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nxdomain_negative_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nodata_negative_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_negative_ttl_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_eviction_lru, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_size_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_one_family, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_servfail_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_port_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_uses_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_only_waiter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_one_of_two, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_immediate_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_from_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_from_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_before_delivery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_completion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hosts_file_then_dns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_and_strerror, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
