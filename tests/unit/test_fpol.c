// SPDX-License-Identifier: BSD-2-Clause
/*
 * Forward-proxy policy tests: first match, each matcher, schedules by an
 * injected clock, the CONNECT port default, destination classes (through a
 * fake classifier and the built-in one), validation, the 403 page.
 *
 * The host and client sets are small fakes with the documented semantics
 * ("example.com" exact, "*.example.com" strict subdomains, ".example.com"
 * the domain and its subdomains; IPv4 prefixes), so these tests do not
 * depend on the real set modules.
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
#include <time.h>

#include "policy/rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HOUR	      3600

/* ----------------------------------------------------------- fakes */

struct fake_hosts {
	const char *pat[8]; /* NULL-terminated */
};

static char last_host[300]; /* what the last host callback saw */
static int host_calls;

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool fake_host_match(const void *set, const char *host)
{
	const struct fake_hosts *h = set;

	host_calls++;
	snprintf(last_host, sizeof(last_host), "%s", host);
	for (size_t i = 0; i < ARRAY_SIZE(h->pat) && h->pat[i]; i++) {
		const char *p = h->pat[i];

		if (p[0] == '*' && p[1] == '.') {
			if (ends_with(host, p + 1) && strlen(host) > strlen(p + 1))
				return true;
		} else if (p[0] == '.') {
			if (!strcmp(host, p + 1) || ends_with(host, p))
				return true;
		} else if (!strcmp(host, p)) {
			return true;
		}
	}
	return false;
}

struct fake_nets {
	struct {
		const char *net;
		int len;
	} n[4];
};

static bool fake_client_match(const void *set, const struct sockaddr *a)
{
	const struct fake_nets *s = set;
	const struct sockaddr_in *in = (const struct sockaddr_in *)a;

	if (a->sa_family != AF_INET)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(s->n) && s->n[i].net; i++) {
		struct in_addr net;
		uint32_t mask = s->n[i].len ? ~0u << (32 - s->n[i].len) : 0;

		assert_int_equal(inet_pton(AF_INET, s->n[i].net, &net), 1);
		if ((ntohl(in->sin_addr.s_addr) & mask) == (ntohl(net.s_addr) & mask))
			return true;
	}
	return false;
}

/* The fake classifier: an IPv4 address's last byte is its class mask. */
static unsigned fake_classify(const struct sockaddr *a)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)a;

	return ntohl(in->sin_addr.s_addr) & 0xff;
}

static struct sockaddr_storage ss_buf[4];
static int ss_next;

/* A sockaddr for a literal; a small ring so a test can hold a few at once. */
static const struct sockaddr *sa(const char *ip)
{
	struct sockaddr_storage *ss = &ss_buf[ss_next++ % 4];

	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static const struct fake_hosts social = {{".facebook.com", "*.tiktok.com", "x.com"}};
static const struct fake_hosts corp = {{".corp.example"}};
static const struct fake_nets admins = {{{"10.1.0.0", 16}}};

#define HOSTS(h) ((struct fpol_hosts){fake_host_match, (h)})
#define NETS(n)	 ((struct fpol_addrs){fake_client_match, (n)})

static struct fpol *mk(const struct fpol_rule *r, size_t n, const struct fpol_opts *o)
{
	char err[256] = "";
	struct fpol *p = fpol_new(r, n, o, err, sizeof(err));

	if (!p)
		fail_msg("fpol_new: %s", err);
	return p;
}

/* Evaluates and returns the verdict; fails the test if fpol_eval errs. */
static struct fpol_verdict ev(const struct fpol *p, bool connect, const char *host, uint16_t port,
			      const char *client, time_t now)
{
	struct fpol_verdict v;
	struct fpol_req r = {connect, host, strlen(host), port, client ? sa(client) : NULL};

	memset(&v, 0x5a, sizeof(v));
	assert_int_equal(fpol_eval(p, &r, now, &v), 0);
	return v;
}

static void expect_new_err(const struct fpol_rule *r, size_t n, const struct fpol_opts *o, int e,
			   const char *sub)
{
	char err[256] = "";
	struct fpol *p;

	errno = 0;
	p = fpol_new(r, n, o, err, sizeof(err));
	if (p) {
		fpol_free(p);
		fail_msg("accepted (want '%s')", sub);
	}
	if (errno != e)
		fail_msg("errno %d, want %d (%s)", errno, e, err);
	if (!strstr(err, sub))
		fail_msg("message '%s' lacks '%s'", err, sub);
}

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};

	return timegm(&tm);
}

/* ------------------------------------------------------ first match */

static void test_first_match_wins(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "block-social", .action = FPOL_DENY, .dst = HOSTS(&social)},
	    {.name = "all", .action = FPOL_ALLOW},
	};
	struct fpol *p = mk(r, 2, NULL);
	struct fpol_verdict v;

	(void)state;
	v = ev(p, false, "www.facebook.com", 80, NULL, 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.why, FPOL_WHY_RULE);
	assert_int_equal(v.rule, 0);
	assert_string_equal(v.name, "block-social");
	assert_string_equal(v.reason, "denied by rule 'block-social'");
	v = ev(p, false, "example.org", 80, NULL, 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(v.rule, 1);
	assert_string_equal(v.name, "all");
	assert_string_equal(v.reason, "allowed by rule 'all'");
	assert_int_equal(v.dest_class, 0);
	fpol_free(p);
}

static void test_first_match_order(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "all", .action = FPOL_ALLOW},
	    {.name = "block-social", .action = FPOL_DENY, .dst = HOSTS(&social)},
	};
	struct fpol *p = mk(r, 2, NULL);
	struct fpol_verdict v;

	(void)state;
	/* The allow comes first: the deny below it never gets a say. */
	host_calls = 0;
	v = ev(p, false, "www.facebook.com", 80, NULL, 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(v.rule, 0);
	assert_int_equal(host_calls, 0); /* evaluation stopped at the first match */
	fpol_free(p);
}

static void test_default_action(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "corp", .action = FPOL_ALLOW, .dst = HOSTS(&corp)},
	};
	struct fpol_opts allow = {.default_action = FPOL_ALLOW};
	struct fpol *d = mk(r, 1, NULL), *a = mk(r, 1, &allow), *e = mk(NULL, 0, NULL);
	struct fpol_verdict v;

	(void)state;
	v = ev(d, false, "example.org", 80, NULL, 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.why, FPOL_WHY_DEFAULT);
	assert_int_equal(v.rule, -1);
	assert_null(v.name);
	assert_string_equal(v.reason, "denied: no rule allows this request");
	v = ev(a, false, "example.org", 80, NULL, 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(v.why, FPOL_WHY_DEFAULT);
	assert_string_equal(v.reason, "allowed: no rule matched");
	/* No rules at all: the default (deny, as zeroed options say). */
	assert_int_equal(fpol_size(e), 0);
	assert_int_equal(ev(e, true, "example.org", 443, NULL, 0).action, FPOL_DENY);
	assert_int_equal(fpol_size(d), 1);
	assert_int_equal(fpol_size(NULL), 0);
	fpol_free(d);
	fpol_free(a);
	fpol_free(e);
	fpol_free(NULL);
}

/* --------------------------------------------------------- matchers */

static void test_dst_patterns(void **state)
{
	const struct fpol_rule r[] = {{.name = "s", .action = FPOL_DENY, .dst = HOSTS(&social)}};
	const struct fpol_opts o = {.default_action = FPOL_ALLOW};
	struct fpol *p = mk(r, 1, &o);
	static const struct {
		const char *host;
		bool denied;
	} t[] = {
	    {"facebook.com", true},	/* ".facebook.com": the domain ... */
	    {"www.facebook.com", true}, /* ... and its subdomains */
	    {"a.b.facebook.com", true},
	    {"notfacebook.com", false},
	    {"facebook.com.evil", false},
	    {"tiktok.com", false}, /* "*.tiktok.com": subdomains only */
	    {"www.tiktok.com", true},
	    {"x.com", true}, /* exact */
	    {"www.x.com", false},
	    {"ax.com", false},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct fpol_verdict v = ev(p, false, t[i].host, 80, NULL, 0);

		if ((v.action == FPOL_DENY) != t[i].denied)
			fail_msg("%s: action %d", t[i].host, v.action);
	}
	fpol_free(p);
}

static void test_host_normalized(void **state)
{
	const struct fpol_rule r[] = {{.name = "s", .action = FPOL_DENY, .dst = HOSTS(&social)}};
	const struct fpol_opts o = {.default_action = FPOL_ALLOW};
	struct fpol *p = mk(r, 1, &o);
	struct fpol_req req = {false, "WWW.FaceBook.COM.", 17, 80, NULL};
	struct fpol_verdict v;
	char host[300];

	(void)state;
	/* Lowercased, one trailing dot dropped: what the set sees. */
	assert_int_equal(fpol_eval(p, &req, 0, &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_string_equal(last_host, "www.facebook.com");
	/* host_len bounds the host: the rest of the buffer is not read. */
	snprintf(host, sizeof(host), "x.comXYZ");
	req = (struct fpol_req){false, host, 5, 80, NULL};
	assert_int_equal(fpol_eval(p, &req, 0, &v), 0);
	assert_string_equal(last_host, "x.com");
	assert_int_equal(v.action, FPOL_DENY);
	/* IP literals pass as written. */
	ev(p, true, "[2001:DB8::1]", 443, NULL, 0);
	assert_string_equal(last_host, "[2001:db8::1]");
	fpol_free(p);
}

static void test_ports(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "web", .action = FPOL_ALLOW, .ports = "80,443,8000-8999"},
	};
	struct fpol *p = mk(r, 1, NULL);
	static const struct {
		uint16_t port;
		bool allowed;
	} t[] = {
	    {80, true},	   {443, true}, {8000, true},	{8500, true}, {8999, true},
	    {79, false},   {81, false}, {442, false},	{444, false}, {7999, false},
	    {9000, false}, {1, false},	{65535, false},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		/* Both kinds: the rule lists its ports, so CONNECT follows them too. */
		for (int c = 0; c < 2; c++) {
			struct fpol_verdict v = ev(p, c, "example.org", t[i].port, NULL, 0);

			if ((v.action == FPOL_ALLOW) != t[i].allowed)
				fail_msg("port %u connect %d: action %d", t[i].port, c, v.action);
		}
	}
	fpol_free(p);
}

static void test_ports_merged_and_spaced(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "a", .action = FPOL_ALLOW, .ports = " 8500-9500 , 8000-8999,443,1-2,3 "},
	    {.name = "b", .action = FPOL_ALLOW, .ports = "*"},
	};
	struct fpol *p = mk(r, 1, NULL), *star = mk(r + 1, 1, NULL);

	(void)state;
	assert_int_equal(ev(p, true, "h", 9500, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(p, true, "h", 8000, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(p, true, "h", 9501, NULL, 0).action, FPOL_DENY);
	assert_int_equal(ev(p, true, "h", 7999, NULL, 0).action, FPOL_DENY);
	assert_int_equal(ev(p, true, "h", 3, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(p, true, "h", 4, NULL, 0).action, FPOL_DENY);
	assert_int_equal(ev(star, true, "h", 1, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(star, true, "h", 65535, NULL, 0).action, FPOL_ALLOW);
	fpol_free(p);
	fpol_free(star);
}

static void test_ports_bad(void **state)
{
	static const struct {
		const char *ports, *sub;
	} t[] = {
	    {"", "empty item"},
	    {"80,,81", "empty item"},
	    {"80,", "empty item"},
	    {"0", "bad port at '0'"},
	    {"65536", "bad port at '65536'"},
	    {"123456", "bad port"},
	    {"80-", "bad port"},
	    {"-80", "bad port"},
	    {"9000-8000", "range 9000-8000 is reversed"},
	    {"abc", "bad port at 'abc'"},
	    {"80 443", "unexpected '4'"},
	    {"80;443", "unexpected ';'"},
	    {"*,80", "'*' must stand alone"},
	    {"+80", "bad port"},
	    {"80-90-100", "unexpected '-'"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const struct fpol_rule r = {.name = "p", .action = FPOL_ALLOW, .ports = t[i].ports};
		const struct fpol_opts o = {.connect_ports = t[i].ports};
		char sub[128];

		snprintf(sub, sizeof(sub), "rule 0 'p': ports '%s': %s", t[i].ports, t[i].sub);
		expect_new_err(&r, 1, NULL, EINVAL, sub);
		snprintf(sub, sizeof(sub), "options: connect_ports '%s': %s", t[i].ports, t[i].sub);
		expect_new_err(NULL, 0, &o, EINVAL, sub);
	}
}

static void test_methods(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "tunnels",
	     .action = FPOL_DENY,
	     .meth = FPOL_METH_CONNECT,
	     .dst = HOSTS(&social)},
	    {.name = "plain", .action = FPOL_DENY, .meth = FPOL_METH_HTTP, .dst = HOSTS(&corp)},
	    {.name = "any", .action = FPOL_ALLOW, .meth = FPOL_METH_ANY},
	};
	struct fpol *p = mk(r, 3, NULL);

	(void)state;
	assert_int_equal(ev(p, true, "x.com", 443, NULL, 0).rule, 0);
	assert_int_equal(ev(p, false, "x.com", 80, NULL, 0).rule, 2);
	assert_int_equal(ev(p, false, "a.corp.example", 80, NULL, 0).rule, 1);
	assert_int_equal(ev(p, true, "a.corp.example", 443, NULL, 0).rule, 2);
	assert_int_equal(ev(p, true, "example.org", 443, NULL, 0).rule, 2);
	assert_int_equal(ev(p, false, "example.org", 80, NULL, 0).rule, 2);
	fpol_free(p);
}

static void test_client_set(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "admins", .action = FPOL_ALLOW, .src = NETS(&admins), .ports = "*"},
	    {.name = "rest", .action = FPOL_DENY},
	};
	struct fpol *p = mk(r, 2, NULL);

	(void)state;
	assert_int_equal(ev(p, true, "h", 22, "10.1.2.3", 0).rule, 0);
	assert_int_equal(ev(p, true, "h", 22, "10.1.255.255", 0).rule, 0);
	assert_int_equal(ev(p, true, "h", 22, "10.2.0.1", 0).rule, 1);
	assert_int_equal(ev(p, true, "h", 22, "2001:db8::1", 0).rule, 1);
	/* A request with no known client never matches a rule that names clients. */
	assert_int_equal(ev(p, true, "h", 22, NULL, 0).rule, 1);
	fpol_free(p);
}

static void test_all_conditions_needed(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "narrow",
	     .action = FPOL_ALLOW,
	     .meth = FPOL_METH_CONNECT,
	     .ports = "8443",
	     .dst = HOSTS(&corp),
	     .src = NETS(&admins)},
	};
	struct fpol *p = mk(r, 1, NULL);

	(void)state;
	assert_int_equal(ev(p, true, "git.corp.example", 8443, "10.1.0.9", 0).action, FPOL_ALLOW);
	assert_int_equal(ev(p, false, "git.corp.example", 8443, "10.1.0.9", 0).action, FPOL_DENY);
	assert_int_equal(ev(p, true, "git.corp.example", 443, "10.1.0.9", 0).action, FPOL_DENY);
	assert_int_equal(ev(p, true, "git.example", 8443, "10.1.0.9", 0).action, FPOL_DENY);
	assert_int_equal(ev(p, true, "git.corp.example", 8443, "10.9.0.9", 0).action, FPOL_DENY);
	fpol_free(p);
}

/* --------------------------------------------------------- schedules */

static const char *const office[] = {"09:00-17:00"};
static const struct fpol_sched_spec office_paris = {"mon-fri", office, 1, "Europe/Paris"};

static void test_schedule_on_off(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "social", .action = FPOL_DENY, .dst = HOSTS(&social), .sched = &office_paris},
	    {.name = "all", .action = FPOL_ALLOW},
	};
	struct fpol *p = mk(r, 2, NULL);
	struct fpol_verdict v;

	(void)state;
	/* Monday 2026-03-30, CEST (UTC+2): 10:00 local is 08:00Z. */
	v = ev(p, true, "www.facebook.com", 443, NULL, utc(2026, 3, 30, 8, 0, 0));
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.rule, 0);
	assert_string_equal(v.reason, "denied by rule 'social' (mon-fri 09:00-17:00 Europe/Paris)");
	/* The edges: 09:00 and 17:00 local. */
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 30, 6, 59, 59)).rule, 1);
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 30, 7, 0, 0)).rule, 0);
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 30, 14, 59, 59)).rule, 0);
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 30, 15, 0, 0)).rule, 1);
	/* Saturday: the rule sleeps. A week earlier, CET: 08:00Z is 09:00 local. */
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 28, 9, 0, 0)).rule, 1);
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 23, 7, 59, 59)).rule, 1);
	assert_int_equal(ev(p, true, "x.com", 443, NULL, utc(2026, 3, 23, 8, 0, 0)).rule, 0);
	/* Other hosts are never touched by it. */
	assert_int_equal(ev(p, true, "example.org", 443, NULL, utc(2026, 3, 30, 8, 0, 0)).rule, 1);
	fpol_free(p);
}

static void test_schedule_allow_rule(void **state)
{
	static const char *const lunch[] = {"12:00-13:00"};
	static const struct fpol_sched_spec s = {NULL, lunch, 1, NULL};
	const struct fpol_rule r[] = {
	    {.name = "lunch", .action = FPOL_ALLOW, .dst = HOSTS(&social), .sched = &s},
	};
	struct fpol *p = mk(r, 1, NULL);
	struct fpol_verdict v;

	(void)state;
	v = ev(p, false, "x.com", 80, NULL, utc(2026, 3, 28, 12, 30, 0));
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_string_equal(v.reason, "allowed by rule 'lunch' (* 12:00-13:00 UTC)");
	v = ev(p, false, "x.com", 80, NULL, utc(2026, 3, 28, 13, 0, 0));
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.why, FPOL_WHY_DEFAULT);
	fpol_free(p);
}

static void test_schedule_errors(void **state)
{
	static const char *const badw[] = {"09:00-25:00"};
	const struct fpol_sched_spec bad_days = {"mon-fry", office, 1, NULL};
	const struct fpol_sched_spec bad_win = {"mon", badw, 1, NULL};
	const struct fpol_sched_spec bad_tz = {"mon", office, 1, "Mars/Base"};
	const struct fpol_sched_spec bad_name = {"mon", office, 1, "../../etc/passwd"};
	struct fpol_rule r = {.name = "x", .action = FPOL_DENY};
	const struct fpol_opts nodir = {.zonedir = "/nonexistent"};

	(void)state;
	r.sched = &bad_days;
	expect_new_err(&r, 1, NULL, EINVAL, "rule 0 'x': schedule: days 'mon-fry': unknown day");
	r.sched = &bad_win;
	expect_new_err(&r, 1, NULL, EINVAL, "rule 0 'x': schedule: window 1 '09:00-25:00'");
	r.sched = &bad_tz;
	expect_new_err(&r, 1, NULL, ENOENT, "rule 0 'x': schedule: tz 'Mars/Base': unknown zone");
	r.sched = &bad_name;
	expect_new_err(&r, 1, NULL, EINVAL, "below the zone directory");
	/* The zone directory option reaches the schedules. */
	r.sched = &office_paris;
	expect_new_err(&r, 1, &nodir, ENOENT, "tz 'Europe/Paris': unknown zone");
}

/* ----------------------------------------------------- CONNECT ports */

static void test_connect_default_443(void **state)
{
	const struct fpol_rule r[] = {{.name = "all", .action = FPOL_ALLOW}};
	struct fpol *p = mk(r, 1, NULL);
	struct fpol_verdict v;

	(void)state;
	assert_int_equal(ev(p, true, "example.org", 443, NULL, 0).action, FPOL_ALLOW);
	v = ev(p, true, "example.org", 22, NULL, 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.why, FPOL_WHY_CONNECT_PORT);
	assert_int_equal(v.rule, -1);
	assert_string_equal(
	    v.reason, "denied: CONNECT is only allowed to port 443 unless a rule lists the port");
	assert_int_equal(ev(p, true, "example.org", 80, NULL, 0).action, FPOL_DENY);
	/* Forwarded HTTP requests are not tunnels: any port. */
	assert_int_equal(ev(p, false, "example.org", 8080, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(p, false, "example.org", 22, NULL, 0).action, FPOL_ALLOW);
	fpol_free(p);
}

static void test_connect_rule_lists_port(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "all", .action = FPOL_ALLOW},
	    {.name = "ssh-admins", .action = FPOL_ALLOW, .ports = "22", .src = NETS(&admins)},
	};
	struct fpol *p = mk(r, 2, NULL);
	struct fpol_verdict v;

	(void)state;
	/* Rule 0 does not match CONNECT :22, so rule 1 gets its turn. */
	v = ev(p, true, "git.example", 22, "10.1.0.1", 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(v.rule, 1);
	v = ev(p, true, "git.example", 22, "192.0.2.1", 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.why, FPOL_WHY_CONNECT_PORT);
	assert_int_equal(ev(p, true, "git.example", 443, "192.0.2.1", 0).rule, 0);
	fpol_free(p);
}

static void test_connect_deny_rules_any_port(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "no-social", .action = FPOL_DENY, .dst = HOSTS(&social)},
	    {.name = "ssh", .action = FPOL_ALLOW, .ports = "22"},
	};
	struct fpol *p = mk(r, 2, NULL);

	(void)state;
	/* A deny rule without ports denies every port, CONNECT or not. */
	assert_int_equal(ev(p, true, "x.com", 22, NULL, 0).rule, 0);
	assert_int_equal(ev(p, true, "x.com", 443, NULL, 0).rule, 0);
	assert_int_equal(ev(p, false, "x.com", 8080, NULL, 0).rule, 0);
	assert_int_equal(ev(p, true, "example.org", 22, NULL, 0).rule, 1);
	fpol_free(p);
}

static void test_connect_ports_option(void **state)
{
	const struct fpol_rule r[] = {{.name = "all", .action = FPOL_ALLOW}};
	const struct fpol_opts two = {.connect_ports = "443,8443"};
	const struct fpol_opts any = {.connect_ports = "*"};
	const struct fpol_opts range = {.connect_ports = "443, 5000-5010"};
	struct fpol *p = mk(r, 1, &two), *q = mk(r, 1, &any), *g = mk(r, 1, &range);
	struct fpol_verdict v;

	(void)state;
	assert_int_equal(ev(p, true, "h", 8443, NULL, 0).action, FPOL_ALLOW);
	v = ev(p, true, "h", 8080, NULL, 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_string_equal(
	    v.reason,
	    "denied: CONNECT is only allowed to ports 443,8443 unless a rule lists the port");
	assert_int_equal(ev(q, true, "h", 22, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(q, true, "h", 1, NULL, 0).action, FPOL_ALLOW);
	assert_int_equal(ev(g, true, "h", 5010, NULL, 0).action, FPOL_ALLOW);
	v = ev(g, true, "h", 5011, NULL, 0);
	assert_string_equal(
	    v.reason,
	    "denied: CONNECT is only allowed to ports 443,5000-5010 unless a rule lists the port");
	fpol_free(p);
	fpol_free(q);
	fpol_free(g);
	/* Overlapping and adjacent ranges are merged: the reason shows one. */
	g = mk(r, 1, &(struct fpol_opts){.connect_ports = "444-445,443,446,8000-8100,8050-8060"});
	v = ev(g, true, "h", 8101, NULL, 0);
	assert_string_equal(v.reason, "denied: CONNECT is only allowed to ports 443-446,8000-8100 "
				      "unless a rule lists the port");
	assert_int_equal(ev(g, true, "h", 446, NULL, 0).action, FPOL_ALLOW);
	fpol_free(g);
}

static void test_connect_default_allow_policy(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "no-social", .action = FPOL_DENY, .dst = HOSTS(&social)}};
	const struct fpol_opts o = {.default_action = FPOL_ALLOW};
	struct fpol *p = mk(r, 1, &o);
	struct fpol_verdict v;

	(void)state;
	/* Even an allow-by-default policy keeps CONNECT to 443. */
	assert_int_equal(ev(p, true, "example.org", 443, NULL, 0).action, FPOL_ALLOW);
	v = ev(p, true, "example.org", 25, NULL, 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.why, FPOL_WHY_CONNECT_PORT);
	assert_int_equal(ev(p, false, "example.org", 25, NULL, 0).action, FPOL_ALLOW);
	fpol_free(p);
}

/* ---------------------------------------------------- destinations */

static void test_dest_fake_classifier(void **state)
{
	const struct fpol_rule r[] = {{.name = "all", .action = FPOL_ALLOW}};
	const struct fpol_opts o = {.classify = fake_classify};
	struct fpol *p = mk(r, 1, &o);
	struct fpol_verdict v;
	static const struct {
		unsigned cls;
		const char *reason;
	} t[] = {
	    {FPOL_DEST_LOOPBACK, "denied: the destination is a loopback address"},
	    {FPOL_DEST_PRIVATE, "denied: the destination is a private address"},
	    {FPOL_DEST_LINKLOCAL, "denied: the destination is a link-local address"},
	    {FPOL_DEST_UNSPEC, "denied: the destination is an unspecified address"},
	    {FPOL_DEST_MULTICAST, "denied: the destination is a multicast address"},
	    {FPOL_DEST_RESERVED, "denied: the destination is a reserved address"},
	    {FPOL_DEST_PRIVATE | FPOL_DEST_LINKLOCAL, "private"},
	};

	(void)state;
	assert_int_equal(fpol_check_dest(p, 0, sa("198.51.100.0"), &v), 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(v.why, FPOL_WHY_DEST);
	assert_int_equal(v.rule, 0);
	assert_string_equal(v.name, "all");
	assert_int_equal(v.dest_class, 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%u", t[i].cls);
		assert_int_equal(fpol_check_dest(p, 0, sa(ip), &v), 0);
		assert_int_equal(v.action, FPOL_DENY);
		assert_int_equal(v.why, FPOL_WHY_DEST);
		assert_int_equal(v.dest_class, t[i].cls);
		assert_non_null(strstr(v.reason, t[i].reason));
		/* The reason never names the address: it goes to the client. */
		assert_null(strstr(v.reason, "198.51"));
	}
	fpol_free(p);
}

static void test_dest_allow_by_rule_and_policy(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "intranet",
	     .action = FPOL_ALLOW,
	     .dst = HOSTS(&corp),
	     .dest_allow = FPOL_DEST_PRIVATE},
	    {.name = "all", .action = FPOL_ALLOW},
	};
	const struct fpol_opts o = {.classify = fake_classify};
	const struct fpol_opts ll = {.classify = fake_classify, .dest_allow = FPOL_DEST_LINKLOCAL};
	struct fpol *p = mk(r, 2, &o), *q = mk(r, 2, &ll);
	struct fpol_verdict v;
	int rule;

	(void)state;
	rule = ev(p, false, "wiki.corp.example", 80, NULL, 0).rule;
	assert_int_equal(rule, 0);
	assert_int_equal(fpol_check_dest(p, rule, sa("198.51.100.2"), &v), 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	/* Private is all that rule opens: loopback stays shut. */
	assert_int_equal(fpol_check_dest(p, rule, sa("198.51.100.1"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(fpol_check_dest(p, rule, sa("198.51.100.3"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	/* Any other rule, or none: private is denied. */
	assert_int_equal(fpol_check_dest(p, 1, sa("198.51.100.2"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(fpol_check_dest(p, -1, sa("198.51.100.2"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_null(v.name);
	/* The policy-wide option adds to every rule's. */
	assert_int_equal(fpol_check_dest(q, -1, sa("198.51.100.4"), &v), 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(fpol_check_dest(q, 0, sa("198.51.100.6"), &v), 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	assert_int_equal(fpol_check_dest(q, 1, sa("198.51.100.6"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	fpol_free(p);
	fpol_free(q);
}

static void test_dest_unknown_class_bits(void **state)
{
	const struct fpol_opts o = {.classify = fake_classify, .dest_allow = FPOL_DEST_ALL};
	struct fpol *p = mk(NULL, 0, &o);
	struct fpol_verdict v;

	(void)state;
	/* A classifier bit we do not know is never allowed: it reads as reserved. */
	assert_int_equal(fpol_check_dest(p, -1, sa("198.51.100.64"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_string_equal(v.reason, "denied: the destination is a reserved address");
	assert_int_equal(v.dest_class, 64);
	assert_int_equal(fpol_check_dest(p, -1, sa("198.51.100.63"), &v), 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	fpol_free(p);
}

static void test_dest_args(void **state)
{
	const struct fpol_rule r[] = {{.name = "all", .action = FPOL_ALLOW}};
	struct fpol *p = mk(r, 1, NULL);
	struct fpol_verdict v;

	(void)state;
	assert_int_equal(fpol_check_dest(NULL, 0, sa("192.0.2.1"), &v), -EINVAL);
	assert_int_equal(fpol_check_dest(p, 0, NULL, &v), -EINVAL);
	assert_int_equal(fpol_check_dest(p, 0, sa("192.0.2.1"), NULL), -EINVAL);
	assert_int_equal(fpol_check_dest(p, 1, sa("192.0.2.1"), &v), -EINVAL);
	assert_int_equal(fpol_check_dest(p, -2, sa("192.0.2.1"), &v), -EINVAL);
	/* The built-in classifier when none is given. */
	assert_int_equal(fpol_check_dest(p, 0, sa("127.0.0.1"), &v), 0);
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(v.dest_class, FPOL_DEST_LOOPBACK);
	assert_int_equal(fpol_check_dest(p, 0, sa("93.184.216.34"), &v), 0);
	assert_int_equal(v.action, FPOL_ALLOW);
	fpol_free(p);
}

static void test_builtin_classes(void **state)
{
	static const struct {
		const char *ip;
		unsigned cls;
	} t[] = {
	    {"93.184.216.34", 0},
	    {"8.8.8.8", 0},
	    {"0.0.0.0", FPOL_DEST_UNSPEC},
	    {"0.1.2.3", FPOL_DEST_UNSPEC},
	    {"10.0.0.1", FPOL_DEST_PRIVATE},
	    {"10.255.255.255", FPOL_DEST_PRIVATE},
	    {"11.0.0.1", 0},
	    {"100.64.0.1", FPOL_DEST_PRIVATE},
	    {"100.127.255.255", FPOL_DEST_PRIVATE},
	    {"100.128.0.0", 0},
	    {"100.63.255.255", 0},
	    {"127.0.0.1", FPOL_DEST_LOOPBACK},
	    {"127.255.0.9", FPOL_DEST_LOOPBACK},
	    {"169.254.169.254", FPOL_DEST_LINKLOCAL},
	    {"169.255.0.1", 0},
	    {"172.16.0.1", FPOL_DEST_PRIVATE},
	    {"172.31.255.255", FPOL_DEST_PRIVATE},
	    {"172.32.0.1", 0},
	    {"172.15.255.255", 0},
	    {"192.168.1.1", FPOL_DEST_PRIVATE},
	    {"192.169.0.1", 0},
	    {"192.0.0.8", FPOL_DEST_RESERVED},
	    {"192.0.2.1", 0},
	    {"198.18.0.1", 0},
	    {"224.0.0.1", FPOL_DEST_MULTICAST},
	    {"239.255.255.255", FPOL_DEST_MULTICAST},
	    {"240.0.0.1", FPOL_DEST_RESERVED},
	    {"255.255.255.255", FPOL_DEST_RESERVED},
	    {"::", FPOL_DEST_UNSPEC},
	    {"::1", FPOL_DEST_LOOPBACK},
	    {"::2", FPOL_DEST_RESERVED},
	    {"::10.0.0.1", FPOL_DEST_RESERVED},
	    {"::ffff:127.0.0.1", FPOL_DEST_LOOPBACK},
	    {"::ffff:10.1.2.3", FPOL_DEST_PRIVATE},
	    {"::ffff:93.184.216.34", 0},
	    {"::ffff:0:169.254.1.1", FPOL_DEST_LINKLOCAL},
	    {"64:ff9b::127.0.0.1", FPOL_DEST_LOOPBACK},
	    {"64:ff9b::8.8.8.8", 0},
	    {"64:ff9b:1::1", FPOL_DEST_PRIVATE},
	    {"2002:c0a8:0101::1", FPOL_DEST_PRIVATE}, /* 6to4 of 192.168.1.1 */
	    {"2002:0808:0808::1", 0},
	    {"100::1", FPOL_DEST_RESERVED},
	    {"100:0:0:1::1", 0},
	    {"fc00::1", FPOL_DEST_PRIVATE},
	    {"fdff:ffff::1", FPOL_DEST_PRIVATE},
	    {"fe80::1", FPOL_DEST_LINKLOCAL},
	    {"febf::1", FPOL_DEST_LINKLOCAL},
	    {"fec0::1", FPOL_DEST_PRIVATE},
	    {"ff02::1", FPOL_DEST_MULTICAST},
	    {"2001:db8::1", 0},
	    {"2606:2800:220:1::1", 0},
	};
	struct sockaddr_un_like {
		sa_family_t family;
		char path[20];
	} un = {AF_UNIX, "/tmp/x"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		unsigned c = fpol_dest_class(sa(t[i].ip));

		if (c != t[i].cls)
			fail_msg("%s: class 0x%x, want 0x%x", t[i].ip, c, t[i].cls);
	}
	assert_int_equal(fpol_dest_class(NULL), FPOL_DEST_RESERVED);
	assert_int_equal(fpol_dest_class((const struct sockaddr *)&un), FPOL_DEST_RESERVED);
}

/* ------------------------------------------------------- validation */

static bool yes_host(const void *set, const char *host)
{
	(void)set;
	(void)host;
	return true;
}

static void test_validation(void **state)
{
	char longname[FPOL_NAME_MAX + 2];
	struct fpol_rule r[2] = {{.name = "a", .action = FPOL_ALLOW},
				 {.name = "b", .action = FPOL_ALLOW}};
	struct fpol_opts o = {0};
	struct fpol *p;

	(void)state;
	expect_new_err(NULL, 1, NULL, EINVAL, "rules: NULL with a count of 1");
	r[1].name = "a";
	expect_new_err(r, 2, NULL, EINVAL, "rule 1 'a': name already used by rule 0");
	r[1].name = NULL;
	expect_new_err(r, 2, NULL, EINVAL, "rule 1: name missing");
	r[1].name = "";
	expect_new_err(r, 2, NULL, EINVAL, "rule 1: name missing");
	r[1].name = "has space";
	expect_new_err(r, 2, NULL, EINVAL, "not VCHARs only");
	r[1].name = "tab\there";
	expect_new_err(r, 2, NULL, EINVAL, "not VCHARs only");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	r[1].name = longname;
	expect_new_err(r, 2, NULL, EINVAL, "longer than 64");
	longname[FPOL_NAME_MAX] = '\0';
	p = mk(r, 2, NULL); /* exactly FPOL_NAME_MAX: fine */
	fpol_free(p);
	r[1].name = "b";
	r[1].action = FPOL_ACTION__MAX;
	expect_new_err(r, 2, NULL, EINVAL, "rule 1 'b': unknown action 2");
	r[1].action = FPOL_ALLOW;
	r[1].meth = (enum fpol_meth)7;
	expect_new_err(r, 2, NULL, EINVAL, "rule 1 'b': unknown method kind 7");
	r[1].meth = FPOL_METH_ANY;
	r[1].dst = (struct fpol_hosts){NULL, &social};
	expect_new_err(r, 2, NULL, EINVAL, "destination set given without a match function");
	r[1].dst = (struct fpol_hosts){yes_host, NULL}; /* a stateless matcher: fine */
	fpol_free(mk(r, 2, NULL));
	r[1].dst = (struct fpol_hosts){0};
	r[1].src = (struct fpol_addrs){NULL, &admins};
	expect_new_err(r, 2, NULL, EINVAL, "client set given without a match function");
	r[1].src = (struct fpol_addrs){0};
	r[1].dest_allow = 0x40;
	expect_new_err(r, 2, NULL, EINVAL, "dest_allow 0x40: unknown class bits 0x40");
	r[1].dest_allow = FPOL_DEST_PRIVATE;
	r[1].action = FPOL_DENY;
	expect_new_err(r, 2, NULL, EINVAL, "rule 1 'b': dest_allow on a deny rule");
	r[1].action = FPOL_ALLOW;
	fpol_free(mk(r, 2, NULL));

	o.default_action = (enum fpol_action)5;
	expect_new_err(r, 2, &o, EINVAL, "options: unknown default action 5");
	o.default_action = FPOL_DENY;
	o.dest_allow = 0x100;
	expect_new_err(r, 2, &o, EINVAL, "options: dest_allow 0x100");
	/* No error buffer: still refuses. */
	errno = 0;
	assert_null(fpol_new(r, 2, &o, NULL, 0));
	assert_int_equal(errno, EINVAL);
}

static void test_eval_bad_args(void **state)
{
	const struct fpol_rule r[] = {{.name = "all", .action = FPOL_ALLOW}};
	struct fpol *p = mk(r, 1, NULL);
	struct fpol_verdict v;
	struct fpol_req req = {true, "example.org", 11, 443, NULL};
	char host[FPOL_HOST_MAX + 2];

	(void)state;
	assert_int_equal(fpol_eval(NULL, &req, 0, &v), -EINVAL);
	assert_int_equal(fpol_eval(p, NULL, 0, &v), -EINVAL);
	assert_int_equal(fpol_eval(p, &req, 0, NULL), -EINVAL);
	req.port = 0;
	assert_int_equal(fpol_eval(p, &req, 0, &v), -EINVAL);
	req.port = 443;
	req.host = NULL;
	assert_int_equal(fpol_eval(p, &req, 0, &v), -EINVAL);
	req.host = "";
	req.host_len = 0;
	assert_int_equal(fpol_eval(p, &req, 0, &v), -EINVAL);
	req.host = ".";
	req.host_len = 1;
	assert_int_equal(fpol_eval(p, &req, 0, &v), -EINVAL);
	req.host = "a\0b";
	req.host_len = 3;
	assert_int_equal(fpol_eval(p, &req, 0, &v), -EINVAL);
	/* 255 bytes, with or without a trailing dot, and no more. */
	memset(host, 'a', sizeof(host));
	req.host = host;
	req.host_len = FPOL_HOST_MAX;
	assert_int_equal(fpol_eval(p, &req, 0, &v), 0);
	host[FPOL_HOST_MAX] = '.';
	req.host_len = FPOL_HOST_MAX + 1;
	assert_int_equal(fpol_eval(p, &req, 0, &v), 0);
	host[FPOL_HOST_MAX] = 'a';
	assert_int_equal(fpol_eval(p, &req, 0, &v), -EINVAL);
	fpol_free(p);
}

/* -------------------------------------------------------- 403 page */

/* Splits a response into head and body and checks Content-Length. */
static const char *page_body(const char *resp, size_t len)
{
	const char *sep = strstr(resp, "\r\n\r\n");
	const char *cl = strstr(resp, "Content-Length: ");

	assert_non_null(sep);
	assert_non_null(cl);
	assert_true(cl < sep);
	assert_int_equal(strtoul(cl + 16, NULL, 10), len - (size_t)(sep + 4 - resp));
	return sep + 4;
}

static void test_page_html_escaping(void **state)
{
	const struct fpol_rule r[] = {{.name = "<b>&'\"x", .action = FPOL_DENY}};
	struct fpol *p = mk(r, 1, NULL);
	const char *evil = "<script>alert('x')</script>&\"\r\nSet-Cookie: a=b\x01\xff";
	struct fpol_verdict v = ev(p, false, "example.org", 80, NULL, 0);
	char out[4096];
	const char *body;
	size_t len;

	(void)state;
	assert_int_equal(fpol_page(&v, evil, strlen(evil), 8080, true, out, sizeof(out) - 1, &len),
			 0);
	out[len] = '\0';
	assert_int_equal(strlen(out), len);
	assert_memory_equal(out, "HTTP/1.1 403 Forbidden\r\n", 24);
	assert_non_null(strstr(out, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strstr(out, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	body = page_body(out, len);
	assert_non_null(strstr(body, "<title>403 Forbidden</title>"));
	/* The host holds a colon, so it is shown in brackets like an IPv6 literal. */
	assert_non_null(strstr(body, "[&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
				     "??Set-Cookie: a=b??]:8080"));
	assert_non_null(strstr(body, "denied by rule &#39;&lt;b&gt;&amp;&#39;&quot;x&#39;"));
	assert_null(strstr(body, "<script>"));
	assert_null(strstr(body, "<b>&"));
	/* Nothing from the request ends the head early. */
	assert_null(strstr(out, "\r\nSet-Cookie"));
	fpol_free(p);
}

static void test_page_plain(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "social", .action = FPOL_DENY, .sched = &office_paris}};
	struct fpol *p = mk(r, 1, NULL);
	struct fpol_verdict v = ev(p, true, "x.com", 443, NULL, utc(2026, 3, 30, 8, 0, 0));
	const char *want_body = "403 Forbidden\n\nThe proxy does not allow access to "
				"<x>.com\?\?:443.\n"
				"denied by rule 'social' (mon-fri 09:00-17:00 Europe/Paris)\n";
	char out[1024];
	size_t len;

	(void)state;
	assert_int_equal(v.action, FPOL_DENY);
	assert_int_equal(fpol_page(&v, "<x>.com\n\t", 9, 443, false, out, sizeof(out), &len), 0);
	assert_non_null(strstr(out, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_int_equal(strlen(want_body), len - (size_t)(page_body(out, len) - out));
	assert_memory_equal(page_body(out, len), want_body, strlen(want_body));
	fpol_free(p);
}

static void test_page_space(void **state)
{
	const struct fpol_verdict v = {FPOL_DENY, FPOL_WHY_DEFAULT, -1, NULL, "nope", 0};
	char out[1024], small[1024];
	size_t len, need;

	(void)state;
	assert_int_equal(fpol_page(&v, "h", 1, 80, true, out, sizeof(out), &len), 0);
	/* Too small: the size needed, whatever the format. */
	assert_int_equal(fpol_page(&v, "h", 1, 80, true, small, 10, &need), -ENOSPC);
	assert_int_equal(need, len);
	assert_int_equal(fpol_page(&v, "h", 1, 80, true, NULL, 0, &need), -ENOSPC);
	assert_int_equal(need, len);
	assert_int_equal(fpol_page(&v, "h", 1, 80, true, small, len - 1, &need), -ENOSPC);
	assert_int_equal(need, len);
	memset(small, 'Z', sizeof(small));
	assert_int_equal(fpol_page(&v, "h", 1, 80, true, small, len, &need), 0);
	assert_int_equal(need, len);
	assert_memory_equal(small, out, len);
	assert_int_equal(small[len], 'Z'); /* not a byte more */
}

static void test_page_hosts(void **state)
{
	const struct fpol_verdict v = {
	    FPOL_DENY, FPOL_WHY_DEST, -1, NULL, "denied: the destination is a private address", 0};
	char out[2048], host[400];
	size_t len;

	(void)state;
	assert_int_equal(fpol_page(&v, "2001:db8::1", 11, 443, false, out, sizeof(out), &len), 0);
	out[len] = '\0';
	assert_non_null(strstr(out, "access to [2001:db8::1]:443."));
	assert_int_equal(fpol_page(&v, "[2001:db8::1]", 13, 443, false, out, sizeof(out), &len), 0);
	out[len] = '\0';
	assert_non_null(strstr(out, "access to [2001:db8::1]:443."));
	/* No host (HTTP/1.0 without Host): still a page. */
	assert_int_equal(fpol_page(&v, NULL, 0, 80, false, out, sizeof(out), &len), 0);
	out[len] = '\0';
	assert_non_null(strstr(out, "access to this destination."));
	/* A huge host is cut at FPOL_HOST_MAX bytes. */
	memset(host, 'h', sizeof(host));
	assert_int_equal(fpol_page(&v, host, sizeof(host), 80, false, out, sizeof(out), &len), 0);
	out[len] = '\0';
	assert_non_null(strstr(out, "hhh:80."));
	assert_int_equal(strspn(strstr(out, "access to ") + 10, "h"), FPOL_HOST_MAX);
}

static void test_page_args(void **state)
{
	const struct fpol_verdict allow = {FPOL_ALLOW, FPOL_WHY_RULE, 0, "a", "allowed", 0};
	const struct fpol_verdict deny = {FPOL_DENY, FPOL_WHY_RULE, 0, "a", "denied", 0};
	char out[1024];
	size_t len;

	(void)state;
	assert_int_equal(fpol_page(&allow, "h", 1, 80, true, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(fpol_page(NULL, "h", 1, 80, true, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(fpol_page(&deny, "h", 1, 80, true, NULL, 10, &len), -EINVAL);
	assert_int_equal(fpol_page(&deny, "h", 1, 80, true, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(fpol_page(&deny, NULL, 1, 80, true, out, sizeof(out), &len), -EINVAL);
}

static void test_verdict_lifetime(void **state)
{
	const struct fpol_rule r[] = {
	    {.name = "one", .action = FPOL_DENY, .dst = HOSTS(&social)},
	    {.name = "two", .action = FPOL_ALLOW, .ports = "80"},
	};
	struct fpol *p = mk(r, 2, NULL);
	struct fpol_verdict a, b;

	(void)state;
	a = ev(p, false, "x.com", 80, NULL, 0);
	b = ev(p, false, "example.org", 80, NULL, 0);
	/* Verdicts point into the policy, not into a shared buffer. */
	assert_string_equal(a.reason, "denied by rule 'one'");
	assert_string_equal(b.reason, "allowed by rule 'two'");
	assert_string_equal(a.name, "one");
	/* The caller's strings were copied. */
	assert_true(a.name != r[0].name);
	fpol_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_match_wins),
	    cmocka_unit_test(test_first_match_order),
	    cmocka_unit_test(test_default_action),
	    cmocka_unit_test(test_dst_patterns),
	    cmocka_unit_test(test_host_normalized),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_ports_merged_and_spaced),
	    cmocka_unit_test(test_ports_bad),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_client_set),
	    cmocka_unit_test(test_all_conditions_needed),
	    cmocka_unit_test(test_schedule_on_off),
	    cmocka_unit_test(test_schedule_allow_rule),
	    cmocka_unit_test(test_schedule_errors),
	    cmocka_unit_test(test_connect_default_443),
	    cmocka_unit_test(test_connect_rule_lists_port),
	    cmocka_unit_test(test_connect_deny_rules_any_port),
	    cmocka_unit_test(test_connect_ports_option),
	    cmocka_unit_test(test_connect_default_allow_policy),
	    cmocka_unit_test(test_dest_fake_classifier),
	    cmocka_unit_test(test_dest_allow_by_rule_and_policy),
	    cmocka_unit_test(test_dest_unknown_class_bits),
	    cmocka_unit_test(test_dest_args),
	    cmocka_unit_test(test_builtin_classes),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_eval_bad_args),
	    cmocka_unit_test(test_page_html_escaping),
	    cmocka_unit_test(test_page_plain),
	    cmocka_unit_test(test_page_space),
	    cmocka_unit_test(test_page_hosts),
	    cmocka_unit_test(test_page_args),
	    cmocka_unit_test(test_verdict_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
