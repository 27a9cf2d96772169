// SPDX-License-Identifier: BSD-2-Clause
/*
 * Config loader tests: every field of a full config lands where it should,
 * defaults fill the gaps, and every rejection names the exact line:col and
 * says what is wrong. Each error case starts from a valid config and breaks
 * one thing, so a test cannot pass because of some other, earlier error.
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
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char full_yaml[] = "global:\n"
				"  log_level: debug\n"
				"  stats_interval: 250ms\n"
				"  pin_path: /sys/fs/bpf/test\n"
				"  max_conns: 1000\n"
				"listeners:\n"
				"  - name: web\n"
				"    bind: 127.0.0.1:8080\n"
				"    pool: second\n"
				"    mode: tcp\n"
				"    splice: user\n"
				"    sndbuf: 64K\n"
				"    rcvbuf: 1M\n"
				"    splice_budget: 2M\n"
				"    connect_timeout: 1m\n"
				"    backlog: 511\n"
				"  - name: api.v2\n"
				"    bind: 10.1.2.3:443\n"
				"    pool: first\n"
				"pools:\n"
				"  - name: first\n"
				"    balance: roundrobin\n"
				"    backends:\n"
				"      - address: 10.0.0.2:80\n"
				"        weight: 3\n"
				"  - name: second\n"
				"    backends:\n"
				"      - address: 10.0.0.3:8000\n"
				"        weight: 0\n"
				"      - address: 10.0.0.4:8000\n";

/* The smallest valid config; error tests edit one line of it. */
static const char *const base_lines[] = {
    "listeners:\n",		      /* 1 */
    "  - name: web\n",		      /* 2 */
    "    bind: 0.0.0.0:8080\n",	      /* 3 */
    "    pool: origins\n",	      /* 4 */
    "pools:\n",			      /* 5 */
    "  - name: origins\n",	      /* 6 */
    "    backends:\n",		      /* 7 */
    "      - address: 10.0.0.2:80\n", /* 8 */
};

static const char full_lb_yaml[] =
    "listeners:\n"
    "  - name: web\n"
    "    bind: 127.0.0.1:8080\n"
    "    pool: p\n"
    "pools:\n"
    "  - name: p\n"
    "    backends:\n"
    "      - address: 10.0.0.2:80\n"
    "lb:\n"
    "  vips:\n"
    "    - name: web-nat\n"
    "      address: 198.18.0.10\n"
    "      port: 80\n"
    "      protocol: tcp\n"
    "      mode: nat\n"
    "      source: 198.18.2.1\n"
    "      table_size: 251\n"
    "      backends:\n"
    "        - address: 198.18.2.2\n"
    "          port: 8080\n"
    "          weight: 3\n"
    "        - address: 198.18.2.2\n" /* the VIP's port: another real */
    "          weight: 0\n"
    "    - name: dns\n"
    "      address: 2001:db8::53\n"
    "      port: 53\n"
    "      protocol: udp\n"
    "      mode: ipip\n"
    "      source: 2001:db8:2::1\n"
    "      backends:\n"
    "        - address: 2001:db8:2::2\n"
    "        - address: 2001:db8:2::3\n"
    "          weight: 65535\n"
    "    - address: 198.18.0.10\n" /* same address, another port */
    "      port: 443\n"
    "      mode: dsr-l2\n"
    "      backends: []\n"
    "    - address: 198.18.0.10\n" /* same port, another protocol */
    "      port: 443\n"
    "      protocol: udp\n"
    "      backends:\n";

/* The smallest valid lb-only config; lb error tests edit some of its lines. */
static const char *const lb_lines[] = {
    "lb:\n",			       /* 1 */
    "  vips:\n",		       /* 2 */
    "    - name: web\n",	       /* 3 */
    "      address: 198.18.0.10\n",    /* 4 */
    "      port: 80\n",		       /* 5 */
    "      mode: ipip\n",	       /* 6 */
    "      source: 198.18.2.1\n",      /* 7 */
    "      backends:\n",	       /* 8 */
    "        - address: 198.18.2.2\n", /* 9 */
};

/*
 * lb_lines with the edits in 'ap': (int line, const char *repl) pairs ended
 * by a line 0; repl may hold several lines, or be "" to delete the line.
 */
static void lb_build(char *text, int line, va_list ap)
{
	const char *repl[ARRAY_SIZE(lb_lines) + 1] = {0};

	for (; line; line = va_arg(ap, int)) {
		assert_true(line > 0 && line <= (int)ARRAY_SIZE(lb_lines));
		repl[line] = va_arg(ap, const char *);
	}
	text[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(lb_lines); i++)
		strcat(text, repl[i + 1] ? repl[i + 1] : lb_lines[i]);
}

static struct cfg *parse(const char *text, char *err)
{
	err[0] = '\0';
	return cfg_parse_string("t.yaml", text, strlen(text), err, CFG_ERR_MAX);
}

/* Asserts 'text' fails with EINVAL at "t.yaml:<pos>: " and says 'what'. */
static void expect_error(const char *text, const char *pos, const char *what)
{
	char err[CFG_ERR_MAX], prefix[64];
	struct cfg *cfg;

	errno = 0;
	cfg = parse(text, err);
	if (cfg)
		cfg_free(cfg);
	assert_null(cfg);
	assert_int_equal(errno, EINVAL);
	snprintf(prefix, sizeof(prefix), "t.yaml:%s: ", pos);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, what))
		fail_msg("want \"%s...%s\", got \"%s\"", prefix, what, err);
	assert_null(strchr(err, '\n'));
}

/*
 * The base config with line 'line' (1-based) replaced by 'repl' (which may
 * hold several lines, or be "" to delete it), then parsed as an error case.
 */
static void expect_base_error(int line, const char *repl, const char *pos, const char *what)
{
	char text[2048] = "";

	for (size_t i = 0; i < ARRAY_SIZE(base_lines); i++)
		strcat(text, (int)i + 1 == line ? repl : base_lines[i]);
	expect_error(text, pos, what);
}

static struct cfg *parse_base_with(int line, const char *repl)
{
	char text[2048] = "", err[CFG_ERR_MAX];
	struct cfg *cfg;

	for (size_t i = 0; i < ARRAY_SIZE(base_lines); i++)
		strcat(text, (int)i + 1 == line ? repl : base_lines[i]);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

/* expect_lb_error(pos, what, line, repl, ..., 0): edited lb_lines must fail so. */
static void expect_lb_error(const char *pos, const char *what, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, what);
	lb_build(text, va_arg(ap, int), ap);
	va_end(ap);
	expect_error(text, pos, what);
}

/* parse_lb(line, repl, ..., 0): edited lb_lines, which must be valid. */
static struct cfg *parse_lb(int line, ...)
{
	char text[2048], err[CFG_ERR_MAX];
	struct cfg *cfg;
	va_list ap;

	va_start(ap, line);
	lb_build(text, line, ap);
	va_end(ap);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("unexpected error: %s\n%s", err, text);
	return cfg;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void test_full_config(void **state)
{
	const struct sockaddr_in *sin;
	char err[CFG_ERR_MAX];
	struct cfg *cfg;

	(void)state;
	cfg = parse(full_yaml, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->log_level, LOG_LVL_DEBUG);
	assert_int_equal(cfg->stats_interval_ms, 250);
	assert_string_equal(cfg->pin_path, "/sys/fs/bpf/test");
	assert_int_equal(cfg->max_conns, 1000);

	assert_int_equal(cfg->nr_listeners, 2);
	assert_string_equal(cfg->listeners[0].name, "web");
	assert_string_equal(cfg->listeners[0].bind_str, "127.0.0.1:8080");
	sin = (const struct sockaddr_in *)&cfg->listeners[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8080);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(cfg->listeners[0].addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(cfg->listeners[0].pool, 1);
	assert_int_equal(cfg->listeners[0].splice, CFG_SPLICE_USER);
	assert_int_equal(cfg->listeners[0].sndbuf, 64 * 1024);
	assert_int_equal(cfg->listeners[0].rcvbuf, 1024 * 1024);
	assert_int_equal(cfg->listeners[0].splice_budget, 2 * 1024 * 1024);
	assert_int_equal(cfg->listeners[0].connect_timeout_ms, 60000);
	assert_int_equal(cfg->listeners[0].backlog, 511);
	assert_string_equal(cfg->listeners[1].name, "api.v2");
	assert_int_equal(cfg->listeners[1].pool, 0);
	assert_int_equal(port_of(&cfg->listeners[1].addr), 443);

	assert_int_equal(cfg->nr_pools, 2);
	assert_string_equal(cfg->pools[0].name, "first");
	assert_int_equal(cfg->pools[0].balance, POOL_ROUNDROBIN);
	assert_int_equal(cfg->pools[0].nr_backends, 1);
	assert_int_equal(cfg->pools[0].backends[0].weight, 3);
	assert_string_equal(cfg->pools[0].backends[0].addr_str, "10.0.0.2:80");
	assert_string_equal(cfg->pools[1].name, "second");
	assert_int_equal(cfg->pools[1].nr_backends, 2);
	assert_int_equal(cfg->pools[1].backends[0].weight, 0);
	assert_int_equal(cfg->pools[1].backends[1].weight, 1);
	assert_int_equal(port_of(&cfg->pools[1].backends[1].addr), 8000);
	cfg_free(cfg);
}

static void test_defaults(void **state)
{
	struct cfg *cfg = parse_base_with(0, "");
	const struct cfg_listener *l = &cfg->listeners[0];

	(void)state;
	assert_int_equal(cfg->log_level, LOG_LVL_INFO);
	assert_int_equal(cfg->stats_interval_ms, CFG_DEF_STATS_MS);
	assert_string_equal(cfg->pin_path, CFG_DEF_PIN_PATH);
	assert_int_equal(cfg->max_conns, CFG_DEF_MAX_CONNS);
	assert_int_equal(l->splice, CFG_SPLICE_KERNEL);
	assert_int_equal(l->sndbuf, CFG_DEF_SNDBUF);
	assert_int_equal(l->rcvbuf, CFG_DEF_RCVBUF);
	assert_int_equal(l->splice_budget, CFG_DEF_SPLICE_BUDGET);
	assert_int_equal(l->connect_timeout_ms, CFG_DEF_CONNECT_MS);
	assert_int_equal(l->backlog, CFG_DEF_BACKLOG);
	assert_int_equal(cfg->pools[0].balance, POOL_ROUNDROBIN);
	assert_int_equal(cfg->pools[0].backends[0].weight, 1);
	cfg_free(cfg);
}

static void test_ipv6(void **state)
{
	static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	const struct sockaddr_in6 *sin6;
	struct cfg *cfg;

	(void)state;
	cfg = parse_base_with(3, "    bind: '[::1]:8443'\n");
	sin6 = (const struct sockaddr_in6 *)&cfg->listeners[0].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 8443);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(cfg->listeners[0].addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(cfg->listeners[0].bind_str, "[::1]:8443");
	cfg_free(cfg);

	cfg = parse_base_with(8, "      - address: \"[2001:db8::2]:80\"\n");
	sin6 = (const struct sockaddr_in6 *)&cfg->pools[0].backends[0].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_memory_equal(&sin6->sin6_addr, want, 16);
	assert_int_equal(port_of(&cfg->pools[0].backends[0].addr), 80);
	cfg_free(cfg);
}

static void test_null_sections_and_zero_stats(void **state)
{
	struct cfg *cfg = parse_base_with(1, "global:\nlisteners:\n");

	(void)state;
	assert_int_equal(cfg->stats_interval_ms, CFG_DEF_STATS_MS);
	cfg_free(cfg);
	cfg = parse_base_with(1, "global: {stats_interval: 0}\nlisteners:\n");
	assert_int_equal(cfg->stats_interval_ms, 0);
	cfg_free(cfg);
}

static void test_alias_and_flow_style(void **state)
{
	char err[CFG_ERR_MAX];
	struct cfg *cfg;

	(void)state;
	cfg = parse("pools: [{name: &p origins, backends: [{address: '1.2.3.4:5', weight: 7}]}]\n"
		    "listeners: [{name: a, bind: '1.1.1.1:1', pool: *p}]\n",
		    err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->listeners[0].pool, 0);
	assert_int_equal(cfg->pools[0].backends[0].weight, 7);
	cfg_free(cfg);
}

static void test_embedded_default(void **state)
{
	char err[CFG_ERR_MAX] = "";
	const struct cfg_pool *p;
	struct cfg *cfg;

	(void)state;
	cfg = cfg_parse_string("<default>", cfg_default_yaml, strlen(cfg_default_yaml), err,
			       sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_listeners, 1);
	assert_string_equal(cfg->listeners[0].name, "demo");
	assert_string_equal(cfg->listeners[0].bind_str, "198.18.1.1:8080");
	assert_int_equal(port_of(&cfg->listeners[0].addr), 8080);
	assert_int_equal(cfg->listeners[0].splice, CFG_SPLICE_KERNEL);
	assert_int_equal(cfg->nr_pools, 1);
	p = &cfg->pools[cfg->listeners[0].pool];
	assert_string_equal(p->name, "origins");
	assert_int_equal(p->nr_backends, 3);
	assert_string_equal(p->backends[0].addr_str, "198.18.11.2:8000");
	assert_string_equal(p->backends[1].addr_str, "198.18.12.2:8000");
	assert_string_equal(p->backends[2].addr_str, "198.18.13.2:8000");
	assert_int_equal(p->backends[0].weight, 1);
	assert_int_equal(p->backends[1].weight, 1);
	assert_int_equal(p->backends[2].weight, 2);
	cfg_free(cfg);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX", err[CFG_ERR_MAX];
	struct cfg *cfg;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_yaml, strlen(full_yaml)), (ssize_t)strlen(full_yaml));
	close(fd);
	cfg = cfg_parse_file(path, err, sizeof(err));
	unlink(path);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_listeners, 2);
	cfg_free(cfg);
}

static void test_parse_file_missing(void **state)
{
	char err[CFG_ERR_MAX];

	(void)state;
	errno = 0;
	assert_null(cfg_parse_file("/nonexistent/xdproxy.yaml", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/xdproxy.yaml: "));
}

static void test_parse_file_error_names_path(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX", err[CFG_ERR_MAX], want[64];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "listeners: []\n", 14), 14);
	close(fd);
	errno = 0;
	assert_null(cfg_parse_file(path, err, sizeof(err)));
	unlink(path);
	assert_int_equal(errno, EINVAL);
	snprintf(want, sizeof(want), "%s:1:12: no listeners defined", path);
	assert_string_equal(err, want);
}

static void test_err_syntax(void **state)
{
	(void)state;
	expect_error("listeners: [\n", "2:1", "syntax error: did not find expected node content");
	expect_base_error(3, "    bind: 0.0.0.0:8080\n   bad: x\n", "4:4",
			  "syntax error: did not find expected '-' indicator");
	expect_error("listeners: {a: 1\n", "2:1", "syntax error: did not find expected ',' or '}'");
	expect_error("\tlisteners: 1\n", "1:1", "syntax error: found character that cannot");
}

static void test_err_invalid_utf8(void **state)
{
	(void)state;
	expect_base_error(2, "  - name: \xff\n", "2:11", "invalid input: invalid leading UTF-8");
}

static void test_err_undefined_alias(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: *nope\n", "4:11", "found undefined alias");
}

static void test_err_empty(void **state)
{
	(void)state;
	expect_error("", "1:1", "no listeners defined");
	expect_error("# only a comment\n", "1:1", "no listeners defined");
}

static void test_err_multiple_documents(void **state)
{
	char text[1024] = "";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(base_lines); i++)
		strcat(text, base_lines[i]);
	strcat(text, "---\nlisteners: []\n");
	expect_error(text, "10:1", "only one YAML document is allowed");
}

static void test_err_top_level_type(void **state)
{
	(void)state;
	expect_error("- listeners\n", "1:1", "top level: expected a mapping, got a list");
	expect_error("hello\n", "1:1", "top level: expected a mapping, got a scalar");
}

static void test_err_unknown_keys(void **state)
{
	(void)state;
	expect_base_error(5, "listner: 1\npools:\n", "5:1", "unknown key 'listner' in top level");
	expect_base_error(1, "global:\n  loglevel: info\nlisteners:\n", "2:3",
			  "unknown key 'loglevel' in global");
	expect_base_error(4, "    pool: origins\n    sndbuff: 8M\n", "5:5",
			  "unknown key 'sndbuff' in listener");
	expect_base_error(6, "  - name: origins\n    algo: rr\n", "7:5",
			  "unknown key 'algo' in pool");
	expect_base_error(8, "      - address: 10.0.0.2:80\n        weigth: 2\n", "9:9",
			  "unknown key 'weigth' in backend");
}

static void test_err_duplicate_keys(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    bind: 1.1.1.1:80\n", "5:5",
			  "duplicate key 'bind' in listener");
	expect_base_error(8, "      - address: 10.0.0.2:80\nlisteners: []\n", "9:1",
			  "duplicate key 'listeners' in top level");
}

static void test_err_wrong_types(void **state)
{
	(void)state;
	expect_error("listeners:\n  web: 1\n", "2:3", "listeners: expected a list, got a mapping");
	expect_error("listeners:\n  - web\n", "2:5", "listener: expected a mapping, got a scalar");
	expect_base_error(1, "global: [1]\nlisteners:\n", "1:9",
			  "global: expected a mapping, got a list");
	expect_base_error(2, "  - name: [web]\n", "2:11",
			  "name: expected a scalar value, got a list");
	expect_error("pools:\n  - name: p\n    backends: 10.0.0.2:80\n", "3:15",
		     "backends: expected a list, got a scalar");
	expect_base_error(1, "[listeners]: 1\nlisteners:\n", "1:1", "a key must be a scalar");
}

static void test_err_missing_value(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    sndbuf:\n", "5:12", "sndbuf: missing value");
}

static void test_err_missing_required(void **state)
{
	(void)state;
	expect_base_error(3, "", "2:5", "listener: missing required key 'bind'");
	expect_base_error(4, "", "2:5", "listener: missing required key 'pool'");
	expect_base_error(8, "      - weight: 2\n", "8:9",
			  "backend: missing required key 'address'");
}

static void test_err_no_listeners(void **state)
{
	(void)state;
	expect_error("listeners: []\n", "1:12", "no listeners defined");
	expect_error("listeners:\npools: []\n", "1:11", "no listeners defined");
	expect_error("pools: []\n", "1:1", "no listeners defined");
}

static void test_err_duplicate_listener_name(void **state)
{
	(void)state;
	expect_base_error(4,
			  "    pool: origins\n  - name: web\n    bind: 0.0.0.0:81\n"
			  "    pool: origins\n",
			  "5:11", "duplicate listener name 'web'");
}

static void test_err_duplicate_bind(void **state)
{
	(void)state;
	expect_base_error(4,
			  "    pool: origins\n  - name: web2\n    bind: 0.0.0.0:8080\n"
			  "    pool: origins\n",
			  "6:11", "bind address 0.0.0.0:8080 is already used by listener 'web'");
}

static void test_err_duplicate_pool_name(void **state)
{
	(void)state;
	expect_base_error(8,
			  "      - address: 10.0.0.2:80\n  - name: origins\n    backends:\n"
			  "      - address: 10.0.0.3:80\n",
			  "9:11", "duplicate pool name 'origins'");
}

static void test_err_duplicate_backend(void **state)
{
	(void)state;
	expect_base_error(8, "      - address: 10.0.0.2:80\n      - address: 10.0.0.2:80\n", "9:18",
			  "backend 10.0.0.2:80 is listed twice");
}

static void test_err_unknown_pool(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origin\n", "4:11", "listener 'web': unknown pool 'origin'");
	/* No pools section at all is the same mistake. */
	expect_error("listeners:\n  - {name: a, bind: '1.1.1.1:1', pool: p}\n", "2:40",
		     "unknown pool 'p'");
}

static void test_err_pool_without_backends(void **state)
{
	static const char head[] = "listeners: [{name: a, bind: '1.1.1.1:1', pool: p}]\n"
				   "pools:\n"
				   "  - name: p\n";
	char text[256];

	(void)state;
	snprintf(text, sizeof(text), "%s    backends: []\n", head);
	expect_error(text, "4:15", "pool 'p' has no backends");
	snprintf(text, sizeof(text), "%s    backends:\n", head);
	expect_error(text, "4:14", "pool 'p' has no backends");
	snprintf(text, sizeof(text), "%s    balance: roundrobin\n", head);
	expect_error(text, "3:5", "pool: missing required key 'backends'");
}

static void test_err_port_zero(void **state)
{
	(void)state;
	expect_base_error(3, "    bind: 0.0.0.0:0\n", "3:11", "port out of range 1..65535");
	expect_base_error(8, "      - address: '[::1]:0'\n", "8:18", "port out of range");
}

static void test_err_port_too_large(void **state)
{
	(void)state;
	expect_base_error(3, "    bind: 0.0.0.0:65536\n", "3:11", "port out of range 1..65535");
	expect_base_error(3, "    bind: 0.0.0.0:123456\n", "3:11", "port is not a decimal number");
	expect_base_error(3, "    bind: 0.0.0.0:80x\n", "3:11", "port is not a decimal number");
}

static void test_err_bad_ipv4(void **state)
{
	(void)state;
	expect_base_error(3, "    bind: 1.2.3:80\n", "3:11", "bad address '1.2.3:80': not an IPv4");
	expect_base_error(3, "    bind: 1.2.3.256:80\n", "3:11", "not an IPv4 address");
	expect_base_error(3, "    bind: localhost:80\n", "3:11", "not an IPv4 address");
	expect_base_error(3, "    bind: 1.2.3.4\n", "3:11", "missing ':port'");
}

static void test_err_bad_ipv6(void **state)
{
	(void)state;
	expect_base_error(3, "    bind: '[::1:80'\n", "3:11", "missing ']'");
	expect_base_error(3, "    bind: '[::g]:80'\n", "3:11", "not an IPv6 address");
	expect_base_error(3, "    bind: '[::1]80'\n", "3:11", "expected ':port' after ']'");
	expect_base_error(3, "    bind: ::1:80\n", "3:11", "must be written as [addr]:port");
}

static void test_err_weight(void **state)
{
	(void)state;
	expect_base_error(8, "      - address: 10.0.0.2:80\n        weight: 257\n", "9:17",
			  "weight: 257 out of range 0..256");
	expect_base_error(8, "      - address: 10.0.0.2:80\n        weight: -1\n", "9:17",
			  "weight: '-1' is not a whole number");
}

static void test_err_size(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    sndbuf: 8X\n", "5:13",
			  "sndbuf: bad size '8X'");
	expect_base_error(4, "    pool: origins\n    rcvbuf: 2G\n", "5:13",
			  "rcvbuf: size '2G' out of range 0..1G");
	expect_base_error(4, "    pool: origins\n    splice_budget: 1K\n", "5:20",
			  "splice_budget: size '1K' out of range 4K..1G");
	expect_base_error(4, "    pool: origins\n    sndbuf: 99999999999999999999\n", "5:13",
			  "bad size");
}

static void test_err_duration(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    connect_timeout: fast\n", "5:22",
			  "connect_timeout: bad duration 'fast'");
	expect_base_error(4, "    pool: origins\n    connect_timeout: 0ms\n", "5:22",
			  "connect_timeout: duration '0ms' out of range 1ms..60m");
	expect_base_error(4, "    pool: origins\n    connect_timeout: 61m\n", "5:22",
			  "out of range 1ms..60m");
	expect_base_error(1, "global:\n  stats_interval: 10ms\nlisteners:\n", "2:19",
			  "stats_interval: duration '10ms' out of range 0 or 100ms..60m");
}

static void test_err_name(void **state)
{
	(void)state;
	expect_base_error(2, "  - name: 'we b'\n", "2:11", "name: bad name 'we b'");
	expect_base_error(2, "  - name: abcdefghijabcdefghijabcdefghij01\n", "2:11",
			  "use 1 to 31 of [A-Za-z0-9_.-]");
	expect_base_error(6, "  - name: ''\n", "6:11", "bad name ''");
	expect_base_error(4, "    pool: orig/ins\n", "4:11", "pool: bad name 'orig/ins'");
}

static void test_ok_name_max_length(void **state)
{
	struct cfg *cfg = parse_base_with(2, "  - name: abcdefghijabcdefghijabcdefghij0\n");

	(void)state;
	assert_int_equal(strlen(cfg->listeners[0].name), 31);
	cfg_free(cfg);
}

static void test_err_nul_in_scalar(void **state)
{
	(void)state;
	expect_base_error(2, "  - name: \"we\\0b\"\n", "2:11", "name: value contains a NUL byte");
}

static void test_err_enums(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    mode: udp\n", "5:11",
			  "mode: bad value 'udp' (expected tcp|http)");
	expect_base_error(4, "    pool: origins\n    splice: sockmap\n", "5:13",
			  "splice: bad value 'sockmap' (expected kernel|user)");
	expect_base_error(7, "    balance: random\n    backends:\n", "7:14",
			  "balance: bad value 'random'");
	expect_base_error(1, "global:\n  log_level: loud\nlisteners:\n", "2:14",
			  "log_level: bad value 'loud'");
}

static void test_err_global_values(void **state)
{
	(void)state;
	expect_base_error(1, "global:\n  pin_path: bpf/x\nlisteners:\n", "2:13",
			  "pin_path: 'bpf/x' must be an absolute path");
	expect_base_error(1, "global:\n  max_conns: 0\nlisteners:\n", "2:14",
			  "max_conns: 0 out of range 1..16777216");
	expect_base_error(4, "    pool: origins\n    backlog: 70000\n", "5:14",
			  "backlog: 70000 out of range 1..65535");
}

static void test_first_error_wins(void **state)
{
	(void)state;
	/* The port, the weight and the pool name are all bad: line 3 wins. */
	expect_error("listeners:\n  - {name: a, bind: '1.1.1.1:0', pool: nope}\n"
		     "pools:\n  - {name: p, backends: [{address: '1.1.1.1:1', weight: 999}]}\n",
		     "2:21", "port out of range");
	expect_error("listeners: 1\nbogus: 2\n", "1:12", "listeners: expected a list");
	/* A duplicate name is reported before a later bad field of the same item. */
	expect_base_error(4,
			  "    pool: origins\n  - name: web\n    bind: 0.0.0.0:81\n"
			  "    sndbuf: 8X\n    pool: origins\n",
			  "5:11", "duplicate listener name 'web'");
}

static void test_err_message_stays_on_one_line(void **state)
{
	(void)state;
	expect_base_error(2, "  - name: \"a\\nb\"\n", "2:11", "bad name 'a?b'");
	expect_base_error(2,
			  "  - name: "
			  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
			  "2:11", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
}

static void test_truncated_inputs_never_crash(void **state)
{
	static const char *const texts[] = {full_yaml, full_lb_yaml};
	char err[CFG_ERR_MAX];
	struct cfg *cfg;

	(void)state;
	/*
	 * Every prefix of a valid file: most are broken in some way. Each must
	 * either parse or fail cleanly with a positioned message (ASan checks
	 * the rest).
	 */
	for (size_t t = 0; t < ARRAY_SIZE(texts); t++) {
		size_t len = strlen(texts[t]), ok = 0;

		for (size_t n = 0; n <= len; n++) {
			err[0] = '\0';
			errno = 0;
			cfg = cfg_parse_string("t.yaml", texts[t], n, err, sizeof(err));
			if (cfg) {
				ok++;
				cfg_free(cfg);
				continue;
			}
			assert_int_equal(errno, EINVAL);
			if (strncmp(err, "t.yaml:", 7) || !strchr(err + 7, ':'))
				fail_msg("text %zu, prefix %zu: bad message \"%s\"", t, n, err);
		}
		assert_true(ok > 0);
	}
}

static void test_small_err_buffer(void **state)
{
	char err[8] = "zzzzzzz";

	(void)state;
	errno = 0;
	assert_null(cfg_parse_string("t.yaml", "x", 1, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "t.yaml:");
	assert_null(cfg_parse_string("t.yaml", "x", 1, NULL, 0));
	cfg_free(NULL);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t want;
	} cases[] = {
	    {"4096", 0, 4096},
	    {"0", 0, 0},
	    {"64K", 0, 65536},
	    {"64k", 0, 65536},
	    {"8M", 0, 8u << 20},
	    {"1G", 0, 1u << 30},
	    {"16G", 0, 16ull << 30},
	    {"18446744073709551615", 0, UINT64_MAX},
	    {"18446744073709551616", -EINVAL, 0},
	    {"17179869184G", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"K", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {" 1", -EINVAL, 0},
	    {"1 K", -EINVAL, 0},
	    {"1KB", -EINVAL, 0},
	    {"1T", -EINVAL, 0},
	    {"0x10", -EINVAL, 0},
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 12345;
		if (cfg_parse_size(cases[i].in, &v) != cases[i].ret)
			fail_msg("cfg_parse_size(\"%s\") wrong return", cases[i].in);
		assert_int_equal(v, cases[i].ret ? 12345 : cases[i].want);
	}
	assert_int_equal(cfg_parse_size(NULL, &v), -EINVAL);
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t want;
	} cases[] = {
	    {"250ms", 0, 250},
	    {"2s", 0, 2000},
	    {"1m", 0, 60000},
	    {"3", 0, 3000},
	    {"0", 0, 0},
	    {"4294967295ms", 0, UINT32_MAX},
	    {"4294968s", -EINVAL, 0},
	    {"71583m", -EINVAL, 0},
	    {"99999999999999999999999", -EINVAL, 0},
	    {"1h", -EINVAL, 0},
	    {"1.5s", -EINVAL, 0},
	    {"ms", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"-1s", -EINVAL, 0},
	    {"5 s", -EINVAL, 0},
	    {"5sec", -EINVAL, 0},
	};
	uint32_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 777;
		if (cfg_parse_duration_ms(cases[i].in, &v) != cases[i].ret)
			fail_msg("cfg_parse_duration_ms(\"%s\") wrong return", cases[i].in);
		assert_int_equal(v, cases[i].ret ? 777 : cases[i].want);
	}
}

static void test_parse_addr(void **state)
{
	static const struct {
		const char *in;
		int ret;
		int family;
		uint16_t port;
	} cases[] = {
	    {"1.2.3.4:80", 0, AF_INET, 80},
	    {"0.0.0.0:65535", 0, AF_INET, 65535},
	    {"[::]:1", 0, AF_INET6, 1},
	    {"[::ffff:1.2.3.4]:443", 0, AF_INET6, 443},
	    {"[fe80::1%eth0]:80", -EINVAL, 0, 0},
	    {"1.2.3.4:0", -EINVAL, 0, 0},
	    {"1.2.3.4:65536", -EINVAL, 0, 0},
	    {"1.2.3.4:", -EINVAL, 0, 0},
	    {"1.2.3.4:+80", -EINVAL, 0, 0},
	    {":80", -EINVAL, 0, 0},
	    {"[]:80", -EINVAL, 0, 0},
	    {"01.2.3.4:80", -EINVAL, 0, 0},
	    {"1.2.3.4.5:80", -EINVAL, 0, 0},
	    {"example.com:80", -EINVAL, 0, 0},
	    {"::1:80", -EINVAL, 0, 0},
	    {"[::1]", -EINVAL, 0, 0},
	    {"", -EINVAL, 0, 0},
	};
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cfg_parse_addr(cases[i].in, &ss, &len) != cases[i].ret)
			fail_msg("cfg_parse_addr(\"%s\") wrong return", cases[i].in);
		if (cases[i].ret)
			continue;
		assert_int_equal(ss.ss_family, cases[i].family);
		assert_int_equal(port_of(&ss), cases[i].port);
		assert_int_equal(len, cases[i].family == AF_INET ? sizeof(struct sockaddr_in)
								 : sizeof(struct sockaddr_in6));
	}
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void assert_lb_addr(const struct cfg_lb_addr *a, const char *s)
{
	uint32_t want[4] = {0};
	uint8_t family = strchr(s, ':') ? LB_AF_V6 : LB_AF_V4;

	assert_int_equal(inet_pton(family == LB_AF_V6 ? AF_INET6 : AF_INET, s, want), 1);
	assert_int_equal(a->family, family);
	assert_memory_equal(a->addr, want, sizeof(want));
	assert_string_equal(a->str, s);
}

static void test_lb_full_config(void **state)
{
	static const uint32_t zero[4];
	const struct cfg_vip *v;
	char err[CFG_ERR_MAX];
	struct lb_vip_key key;
	struct cfg *cfg;

	(void)state;
	cfg = parse(full_lb_yaml, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_listeners, 1);
	assert_int_equal(cfg->nr_pools, 1);
	assert_int_equal(cfg->nr_vips, 4);

	v = &cfg->vips[0];
	assert_string_equal(v->name, "web-nat");
	assert_lb_addr(&v->addr, "198.18.0.10");
	assert_int_equal(v->addr.addr[0], ip4("198.18.0.10"));
	assert_int_equal(v->port, 80);
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->mode, LB_MODE_NAT);
	assert_lb_addr(&v->src, "198.18.2.1");
	assert_int_equal(v->table_size, 251);
	assert_int_equal(v->nr_backends, 2);
	assert_lb_addr(&v->backends[0].addr, "198.18.2.2");
	assert_int_equal(v->backends[0].port, 8080);
	assert_int_equal(v->backends[0].weight, 3);
	assert_lb_addr(&v->backends[1].addr, "198.18.2.2");
	assert_int_equal(v->backends[1].port, 0);
	assert_int_equal(v->backends[1].weight, 0);

	/* The keys bpfctl puts in lb_vips for it. */
	memset(&key, 0xa5, sizeof(key));
	cfg_vip_key(v, false, &key);
	assert_int_equal(key.addr[0], ip4("198.18.0.10"));
	assert_memory_equal(&key.addr[1], zero, 3 * sizeof(__be32));
	assert_int_equal(key.port, htons(80));
	assert_int_equal(key.proto, IPPROTO_TCP);
	assert_int_equal(key.family, LB_AF_V4);
	memset(&key, 0xa5, sizeof(key));
	cfg_vip_key(v, true, &key);
	assert_int_equal(key.addr[0], ip4("198.18.0.10"));
	assert_int_equal(key.port, 0);
	assert_int_equal(key.proto, 0);
	assert_int_equal(key.family, LB_AF_V4);

	v = &cfg->vips[1];
	assert_string_equal(v->name, "dns");
	assert_lb_addr(&v->addr, "2001:db8::53");
	assert_int_equal(v->port, 53);
	assert_int_equal(v->proto, IPPROTO_UDP);
	assert_int_equal(v->mode, LB_MODE_IPIP);
	assert_lb_addr(&v->src, "2001:db8:2::1");
	assert_int_equal(v->table_size, LB_RING_DEFAULT);
	assert_int_equal(v->nr_backends, 2);
	assert_lb_addr(&v->backends[0].addr, "2001:db8:2::2");
	assert_int_equal(v->backends[0].port, 0);
	assert_int_equal(v->backends[0].weight, 1);
	assert_lb_addr(&v->backends[1].addr, "2001:db8:2::3");
	assert_int_equal(v->backends[1].weight, 65535);
	cfg_vip_key(v, false, &key);
	assert_memory_equal(key.addr, v->addr.addr, sizeof(key.addr));
	assert_int_equal(key.port, htons(53));
	assert_int_equal(key.proto, IPPROTO_UDP);
	assert_int_equal(key.family, LB_AF_V6);

	/* Unnamed VIPs are named by their index. */
	v = &cfg->vips[2];
	assert_string_equal(v->name, "vip2");
	assert_int_equal(v->port, 443);
	assert_int_equal(v->mode, LB_MODE_DSR_L2);
	assert_int_equal(v->src.family, 0);
	assert_memory_equal(v->src.addr, zero, sizeof(zero));
	assert_int_equal(v->nr_backends, 0);
	assert_null(v->backends);
	v = &cfg->vips[3];
	assert_string_equal(v->name, "vip3");
	assert_int_equal(v->proto, IPPROTO_UDP);
	assert_int_equal(v->nr_backends, 0);
	cfg_free(cfg);
}

static void test_lb_defaults(void **state)
{
	static const uint32_t zero[4];
	const struct cfg_vip *v;
	struct cfg *cfg;

	(void)state;
	/* No name, protocol, mode, source, table_size, backend port or weight. */
	cfg = parse_lb(3, "    - address: 198.18.0.10\n", 4, "", 6, "", 7, "", 0);
	assert_int_equal(cfg->nr_listeners, 0);
	assert_null(cfg->listeners);
	assert_int_equal(cfg->nr_vips, 1);
	v = &cfg->vips[0];
	assert_string_equal(v->name, "vip0");
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->mode, LB_MODE_DSR_L2);
	assert_int_equal(v->src.family, 0);
	assert_memory_equal(v->src.addr, zero, sizeof(zero));
	assert_int_equal(v->table_size, LB_RING_DEFAULT);
	assert_int_equal(v->nr_backends, 1);
	assert_int_equal(v->backends[0].port, 0);
	assert_int_equal(v->backends[0].weight, 1);
	cfg_free(cfg);
}

static void test_lb_only_and_empty_parts(void **state)
{
	char text[2048];
	struct cfg *cfg;

	(void)state;
	/* A VIP without backends drops: valid, written [] or left empty. */
	cfg = parse_lb(8, "      backends: []\n", 9, "", 0);
	assert_int_equal(cfg->vips[0].nr_backends, 0);
	cfg_free(cfg);
	cfg = parse_lb(9, "", 0);
	assert_int_equal(cfg->vips[0].nr_backends, 0);
	cfg_free(cfg);
	/* An empty listeners section is fine next to VIPs. */
	cfg = parse_lb(1, "listeners: []\nlb:\n", 0);
	assert_int_equal(cfg->nr_listeners, 0);
	assert_int_equal(cfg->nr_vips, 1);
	cfg_free(cfg);
	/* And an empty lb section next to listeners. */
	text[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(base_lines); i++)
		strcat(text, base_lines[i]);
	strcat(text, "lb:\n  vips: []\n");
	cfg = parse(text, (char[CFG_ERR_MAX]){0});
	assert_non_null(cfg);
	assert_int_equal(cfg->nr_listeners, 1);
	assert_int_equal(cfg->nr_vips, 0);
	assert_null(cfg->vips);
	cfg_free(cfg);
	cfg = parse_base_with(8, "      - address: 10.0.0.2:80\nlb:\n");
	assert_int_equal(cfg->nr_vips, 0);
	cfg_free(cfg);
}

static void test_err_lb_nothing_defined(void **state)
{
	(void)state;
	expect_error("lb:\n", "1:4", "no listeners or lb vips defined");
	expect_error("lb:\n  vips: []\n", "2:3", "no listeners or lb vips defined");
	expect_error("listeners: []\nlb: {vips: []}\n", "1:12", "no listeners or lb vips defined");
}

static void test_err_lb_bad_address(void **state)
{
	(void)state;
	expect_lb_error("4:16", "address: bad address '198.18.0.300': not an IPv4 or IPv6 address",
			4, "      address: 198.18.0.300\n", 0);
	expect_lb_error("4:16", "bad address 'web.example': not an IPv4 or IPv6 address", 4,
			"      address: web.example\n", 0);
	expect_lb_error("4:16", "bad address '198.18.0.10:80': a port does not belong here", 4,
			"      address: 198.18.0.10:80\n", 0);
	expect_lb_error("4:16", "write an IPv6 address without brackets", 4,
			"      address: '[2001:db8::1]'\n", 0);
	expect_lb_error("4:16", "'2001:db8::g': not an IPv4 or IPv6 address", 4,
			"      address: 2001:db8::g\n", 0);
	expect_lb_error("4:16", "'0.0.0.0': the unspecified address cannot be used", 4,
			"      address: 0.0.0.0\n", 0);
	expect_lb_error("4:16", "'::': the unspecified address cannot be used", 4,
			"      address: '::'\n", 0);
	expect_lb_error("4:16", "'224.0.0.1': a multicast address cannot be used", 4,
			"      address: 224.0.0.1\n", 0);
	expect_lb_error("4:16", "'ff02::1': a multicast address cannot be used", 4,
			"      address: ff02::1\n", 0);
	expect_lb_error("4:16", "an IPv4-mapped address: write the IPv4 address", 4,
			"      address: ::ffff:198.18.0.10\n", 0);
	expect_lb_error("7:15", "source: bad address '198.18.2': not an IPv4", 7,
			"      source: 198.18.2\n", 0);
	expect_lb_error("9:20", "address: bad address '198.18.2.2:80': a port does not belong", 9,
			"        - address: 198.18.2.2:80\n", 0);
}

static void test_err_lb_port(void **state)
{
	(void)state;
	expect_lb_error("5:13", "port: 0 out of range 1..65535", 5, "      port: 0\n", 0);
	expect_lb_error("5:13", "port: 65536 out of range 1..65535", 5, "      port: 65536\n", 0);
	expect_lb_error("5:13", "port: 'http' is not a whole number", 5, "      port: http\n", 0);
	expect_lb_error("10:17", "port: 0 out of range 1..65535", 6, "      mode: nat\n", 9,
			"        - address: 198.18.2.2\n          port: 0\n", 0);
}

static void test_err_lb_protocol(void **state)
{
	(void)state;
	expect_lb_error("6:17", "protocol: bad value 'sctp' (expected tcp|udp)", 5,
			"      port: 80\n      protocol: sctp\n", 0);
	expect_lb_error("6:17", "protocol: bad value 'TCP'", 5,
			"      port: 80\n      protocol: TCP\n", 0);
}

static void test_err_lb_mode(void **state)
{
	(void)state;
	expect_lb_error("6:13", "mode: bad value 'dsr' (expected dsr-l2|ipip|nat)", 6,
			"      mode: dsr\n", 0);
}

static void test_err_lb_source_missing(void **state)
{
	(void)state;
	expect_lb_error("3:7", "vip 'web': mode ipip needs 'source', the LB's own address", 7, "",
			0);
	expect_lb_error("3:7", "vip 'web': mode nat needs 'source'", 6, "      mode: nat\n", 7, "",
			0);
}

static void test_err_lb_source_in_dsr(void **state)
{
	(void)state;
	expect_lb_error("7:15", "source: not used in mode dsr-l2", 6, "      mode: dsr-l2\n", 0);
	/* dsr-l2 is also the default. */
	expect_lb_error("6:15", "source: not used in mode dsr-l2", 6, "", 0);
}

static void test_err_lb_source_family(void **state)
{
	(void)state;
	expect_lb_error("7:15",
			"source: 2001:db8::1 is IPv6 but the vip address 198.18.0.10 is IPv4", 7,
			"      source: 2001:db8::1\n", 0);
	expect_lb_error("7:15",
			"source: 198.18.2.1 is IPv4 but the vip address 2001:db8::10 is IPv6", 4,
			"      address: 2001:db8::10\n", 9, "        - address: 2001:db8::2\n", 0);
}

static void test_err_lb_backend_family(void **state)
{
	(void)state;
	expect_lb_error("9:20",
			"vip 'web': backend 2001:db8::2 is IPv6 but the vip address 198.18.0.10 "
			"is IPv4",
			9, "        - address: 2001:db8::2\n", 0);
	/* The VIP's address may come after its backends: checked all the same. */
	expect_lb_error("5:20",
			"backend 198.18.2.2 is IPv4 but the vip address 2001:db8::10 is IPv6", 3,
			"    - name: web\n      backends:\n        - address: 198.18.2.2\n", 4,
			"      address: 2001:db8::10\n", 6, "", 7, "", 8, "", 9, "", 0);
}

static void test_err_lb_backend_port_not_nat(void **state)
{
	(void)state;
	expect_lb_error("10:17", "port: only mode nat can send to another port (vip 'web' is ipip)",
			9, "        - address: 198.18.2.2\n          port: 8080\n", 0);
	/* Even the VIP's own port: in these modes the backend port is not a setting. */
	expect_lb_error("8:17",
			"port: only mode nat can send to another port (vip 'web' is dsr-l2)", 6, "",
			7, "", 9, "        - address: 198.18.2.2\n          port: 80\n", 0);
}

static void test_err_lb_table_size(void **state)
{
	struct cfg *cfg;

	(void)state;
	expect_lb_error("8:19", "table_size: 65536 is not prime (next prime: 65537)", 7,
			"      source: 198.18.2.1\n      table_size: 65536\n", 0);
	expect_lb_error("8:19", "table_size: 1048572 is not prime (next prime: 1048573)", 7,
			"      source: 198.18.2.1\n      table_size: 1048572\n", 0);
	expect_lb_error("8:19", "table_size: 1048583 out of range 7..1048573", 7,
			"      source: 198.18.2.1\n      table_size: 1048583\n", 0);
	expect_lb_error("8:19", "table_size: 5 out of range 7..1048573", 7,
			"      source: 198.18.2.1\n      table_size: 5\n", 0);
	expect_lb_error("8:19", "table_size: 0 out of range", 7,
			"      source: 198.18.2.1\n      table_size: 0\n", 0);
	/* Both ends of the range. */
	cfg = parse_lb(7, "      source: 198.18.2.1\n      table_size: 7\n", 0);
	assert_int_equal(cfg->vips[0].table_size, 7);
	cfg_free(cfg);
	cfg = parse_lb(7, "      source: 198.18.2.1\n      table_size: 1048573\n", 0);
	assert_int_equal(cfg->vips[0].table_size, LB_RING_MAX);
	cfg_free(cfg);
}

static void test_err_lb_weight(void **state)
{
	(void)state;
	expect_lb_error("10:19", "weight: 65536 out of range 0..65535", 9,
			"        - address: 198.18.2.2\n          weight: 65536\n", 0);
	expect_lb_error("10:19", "weight: '-1' is not a whole number", 9,
			"        - address: 198.18.2.2\n          weight: -1\n", 0);
}

static void test_err_lb_duplicate_vip(void **state)
{
	static const char second[] = "        - address: 198.18.2.2\n"
				     "    - name: web2\n"
				     "      address: 198.18.0.10\n"
				     "      port: 80\n"
				     "      protocol: tcp\n"
				     "      backends: []\n";
	struct cfg *cfg;

	(void)state;
	expect_lb_error("11:16", "vip 'web2': 198.18.0.10 port 80/tcp is already vip 'web'", 9,
			second, 0);
	/* Same address and port over udp is another service. */
	cfg = parse_lb(9,
		       "        - address: 198.18.2.2\n"
		       "    - {address: 198.18.0.10, port: 80, protocol: udp, backends: []}\n",
		       0);
	assert_int_equal(cfg->nr_vips, 2);
	cfg_free(cfg);
	/* Written differently, the same IPv6 address. */
	expect_lb_error("10:16", "vip 'vip1': 2001:DB8:0::10 port 80/tcp is already vip 'web'", 4,
			"      address: 2001:db8::10\n", 7, "      source: 2001:db8::1\n", 9,
			"        - address: 2001:db8::2\n"
			"    - address: 2001:DB8:0::10\n"
			"      port: 80\n"
			"      backends: []\n",
			0);
}

static void test_err_lb_duplicate_backend(void **state)
{
	struct cfg *cfg;

	(void)state;
	expect_lb_error("10:20", "vip 'web': backend 198.18.2.2 is listed twice (use weight)", 9,
			"        - address: 198.18.2.2\n        - address: 198.18.2.2\n", 0);
	/* nat: the default port is the VIP's, so these two are one. */
	expect_lb_error("10:20", "vip 'web': backend 198.18.2.2 port 80 is listed twice", 6,
			"      mode: nat\n", 9,
			"        - address: 198.18.2.2\n        - address: 198.18.2.2\n"
			"          port: 80\n",
			0);
	/* nat: one host, two ports, two backends. */
	cfg = parse_lb(6, "      mode: nat\n", 9,
		       "        - address: 198.18.2.2\n        - address: 198.18.2.2\n"
		       "          port: 8080\n",
		       0);
	assert_int_equal(cfg->vips[0].nr_backends, 2);
	cfg_free(cfg);
}

static void test_err_lb_duplicate_name(void **state)
{
	(void)state;
	expect_lb_error("10:13", "duplicate vip name 'web'", 9,
			"        - address: 198.18.2.2\n    - name: web\n"
			"      address: 198.18.0.11\n      port: 80\n      backends: []\n",
			0);
	/* The second VIP's default name is taken by the first. */
	expect_lb_error("10:7", "vip name 'vip1' (the default for this vip) is already used", 3,
			"    - name: vip1\n", 9,
			"        - address: 198.18.2.2\n    - address: 198.18.0.11\n"
			"      port: 80\n      backends: []\n",
			0);
	expect_lb_error("3:13", "name: bad name 'w b'", 3, "    - name: w b\n", 0);
}

/* "lb:\n  vips:\n" and then one line per VIP from 'line' (i -> text). */
static char *lb_gen(size_t n, void (*line)(size_t i, char *buf, size_t len))
{
	size_t cap = 64 + n * 96, off;
	char *text = malloc(cap);

	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "lb:\n  vips:\n");
	for (size_t i = 0; i < n; i++) {
		line(i, text + off, cap - off);
		off += strlen(text + off);
	}
	return text;
}

static void vip_per_addr(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "    - {address: 10.%zu.%zu.1, port: 80, backends: []}\n", i >> 8,
		 i & 255);
}

static void vip_per_port(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "    - {address: 10.9.0.1, port: %zu, backends: []}\n", i + 1);
}

static void test_err_lb_too_many_vips(void **state)
{
	char err[CFG_ERR_MAX], *text;
	struct cfg *cfg;

	(void)state;
	/* Each address takes an address-only entry: 256 VIPs on 256 addresses fill 512. */
	text = lb_gen(256, vip_per_addr);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_vips, 256);
	cfg_free(cfg);
	free(text);
	text = lb_gen(257, vip_per_addr);
	expect_error(text, "259:7",
		     "too many vips: 257 vips + 257 distinct address(es) need 514 lb_vips "
		     "entries, more than LB_MAX_VIPS (512)");
	free(text);
	/* On one address: 511 services and the address itself. */
	text = lb_gen(LB_MAX_VIPS - 1, vip_per_port);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_vips, LB_MAX_VIPS - 1);
	cfg_free(cfg);
	free(text);
	text = lb_gen(LB_MAX_VIPS, vip_per_port);
	expect_error(text, "514:7", "too many vips: 512 vips + 1 distinct address(es) need 513");
	free(text);
}

/*
 * Two dsr-l2 VIPs: 'a' with backends 0..na-1, 'b' with 0..9 again (shared
 * reals: not counted twice) and then na..na+nb-1. Returns the text; *line
 * is the line of b's last backend.
 */
static char *lb_gen_backends(size_t na, size_t nb, size_t *line)
{
	size_t cap = 256 + (na + nb + 10) * 48, off = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	off += (size_t)snprintf(text + off, cap - off,
				"lb:\n  vips:\n    - name: a\n      address: 198.18.0.10\n"
				"      port: 80\n      backends:\n");
	for (size_t i = 0; i < na; i++)
		off += (size_t)snprintf(text + off, cap - off,
					"        - {address: 10.1.%zu.%zu}\n", i >> 8, i & 255);
	off += (size_t)snprintf(text + off, cap - off,
				"    - name: b\n      address: 198.18.0.10\n"
				"      port: 81\n      backends:\n");
	for (size_t i = 0; i < 10; i++)
		off += (size_t)snprintf(text + off, cap - off,
					"        - {address: 10.1.%zu.%zu}\n", i >> 8, i & 255);
	for (size_t i = na; i < na + nb; i++)
		off += (size_t)snprintf(text + off, cap - off,
					"        - {address: 10.1.%zu.%zu}\n", i >> 8, i & 255);
	*line = 6 + na + 4 + 10 + nb;
	return text;
}

static void test_err_lb_too_many_backends(void **state)
{
	char err[CFG_ERR_MAX], pos[32], *text;
	struct cfg *cfg;
	size_t line;

	(void)state;
	/* 4095 {vip, backend} pairs (4000 + 10 + 85): the most that fit. */
	text = lb_gen_backends(4000, LB_MAX_REALS - 1 - 4000 - 10, &line);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->vips[0].nr_backends + cfg->vips[1].nr_backends, LB_MAX_REALS - 1);
	cfg_free(cfg);
	free(text);
	text = lb_gen_backends(4000, LB_MAX_REALS - 4000 - 10, &line);
	snprintf(pos, sizeof(pos), "%zu:11", line);
	expect_error(text, pos,
		     "vip 'b': too many backends: more than 4095 {vip, backend} pairs over all "
		     "vips (LB_MAX_REALS - 1)");
	free(text);
}

static void test_err_lb_unknown_keys(void **state)
{
	(void)state;
	expect_lb_error("2:3", "unknown key 'vip' in lb (expected one of: vips)", 2, "  vip:\n", 0);
	expect_lb_error("6:7", "unknown key 'proto' in vip", 5,
			"      port: 80\n      proto: tcp\n", 0);
	expect_lb_error("10:11", "unknown key 'wieght' in vip backend", 9,
			"        - address: 198.18.2.2\n          wieght: 2\n", 0);
	expect_lb_error("6:7", "duplicate key 'port' in vip", 5, "      port: 80\n      port: 81\n",
			0);
}

static void test_err_lb_missing_required(void **state)
{
	(void)state;
	expect_lb_error("3:7", "vip: missing required key 'address'", 4, "", 0);
	expect_lb_error("3:7", "vip: missing required key 'port'", 5, "", 0);
	expect_lb_error("3:7", "vip: missing required key 'backends'", 8, "", 9, "", 0);
	expect_lb_error("9:11", "vip backend: missing required key 'address'", 9,
			"        - weight: 1\n", 0);
}

static void test_err_lb_wrong_types(void **state)
{
	(void)state;
	expect_error("lb: [vips]\n", "1:5", "lb: expected a mapping, got a list");
	expect_lb_error("2:9", "vips: expected a list, got a scalar", 2, "  vips: web\n", 3, "", 4,
			"", 5, "", 6, "", 7, "", 8, "", 9, "", 0);
	expect_lb_error("3:7", "vip: expected a mapping, got a scalar", 3, "    - web\n", 4, "", 5,
			"", 6, "", 7, "", 8, "", 9, "", 0);
	expect_lb_error("8:17", "backends: expected a list, got a scalar", 8,
			"      backends: 198.18.2.2\n", 9, "", 0);
	expect_lb_error("4:16", "address: expected a scalar value, got a list", 4,
			"      address: [198.18.0.10]\n", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_null_sections_and_zero_stats),
	    cmocka_unit_test(test_alias_and_flow_style),
	    cmocka_unit_test(test_embedded_default),
	    cmocka_unit_test(test_parse_file),
	    cmocka_unit_test(test_parse_file_missing),
	    cmocka_unit_test(test_parse_file_error_names_path),
	    cmocka_unit_test(test_err_syntax),
	    cmocka_unit_test(test_err_invalid_utf8),
	    cmocka_unit_test(test_err_undefined_alias),
	    cmocka_unit_test(test_err_empty),
	    cmocka_unit_test(test_err_multiple_documents),
	    cmocka_unit_test(test_err_top_level_type),
	    cmocka_unit_test(test_err_unknown_keys),
	    cmocka_unit_test(test_err_duplicate_keys),
	    cmocka_unit_test(test_err_wrong_types),
	    cmocka_unit_test(test_err_missing_value),
	    cmocka_unit_test(test_err_missing_required),
	    cmocka_unit_test(test_err_no_listeners),
	    cmocka_unit_test(test_err_duplicate_listener_name),
	    cmocka_unit_test(test_err_duplicate_bind),
	    cmocka_unit_test(test_err_duplicate_pool_name),
	    cmocka_unit_test(test_err_duplicate_backend),
	    cmocka_unit_test(test_err_unknown_pool),
	    cmocka_unit_test(test_err_pool_without_backends),
	    cmocka_unit_test(test_err_port_zero),
	    cmocka_unit_test(test_err_port_too_large),
	    cmocka_unit_test(test_err_bad_ipv4),
	    cmocka_unit_test(test_err_bad_ipv6),
	    cmocka_unit_test(test_err_weight),
	    cmocka_unit_test(test_err_size),
	    cmocka_unit_test(test_err_duration),
	    cmocka_unit_test(test_err_name),
	    cmocka_unit_test(test_ok_name_max_length),
	    cmocka_unit_test(test_err_nul_in_scalar),
	    cmocka_unit_test(test_err_enums),
	    cmocka_unit_test(test_err_global_values),
	    cmocka_unit_test(test_first_error_wins),
	    cmocka_unit_test(test_err_message_stays_on_one_line),
	    cmocka_unit_test(test_truncated_inputs_never_crash),
	    cmocka_unit_test(test_small_err_buffer),
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_parse_addr),
	    cmocka_unit_test(test_lb_full_config),
	    cmocka_unit_test(test_lb_defaults),
	    cmocka_unit_test(test_lb_only_and_empty_parts),
	    cmocka_unit_test(test_err_lb_nothing_defined),
	    cmocka_unit_test(test_err_lb_bad_address),
	    cmocka_unit_test(test_err_lb_port),
	    cmocka_unit_test(test_err_lb_protocol),
	    cmocka_unit_test(test_err_lb_mode),
	    cmocka_unit_test(test_err_lb_source_missing),
	    cmocka_unit_test(test_err_lb_source_in_dsr),
	    cmocka_unit_test(test_err_lb_source_family),
	    cmocka_unit_test(test_err_lb_backend_family),
	    cmocka_unit_test(test_err_lb_backend_port_not_nat),
	    cmocka_unit_test(test_err_lb_table_size),
	    cmocka_unit_test(test_err_lb_weight),
	    cmocka_unit_test(test_err_lb_duplicate_vip),
	    cmocka_unit_test(test_err_lb_duplicate_backend),
	    cmocka_unit_test(test_err_lb_duplicate_name),
	    cmocka_unit_test(test_err_lb_too_many_vips),
	    cmocka_unit_test(test_err_lb_too_many_backends),
	    cmocka_unit_test(test_err_lb_unknown_keys),
	    cmocka_unit_test(test_err_lb_missing_required),
	    cmocka_unit_test(test_err_lb_wrong_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
