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
	"listeners:\n",		     /* 1 */
	"  - name: web\n",	     /* 2 */
	"    bind: 0.0.0.0:8080\n",  /* 3 */
	"    pool: origins\n",	     /* 4 */
	"pools:\n",		     /* 5 */
	"  - name: origins\n",	     /* 6 */
	"    backends:\n",	     /* 7 */
	"      - address: 10.0.0.2:80\n", /* 8 */
};

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
	assert_int_equal(cfg->pools[0].balance, CFG_BALANCE_ROUNDROBIN);
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
	assert_int_equal(cfg->pools[0].balance, CFG_BALANCE_ROUNDROBIN);
	assert_int_equal(cfg->pools[0].backends[0].weight, 1);
	cfg_free(cfg);
}

static void test_ipv6(void **state)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
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
			  "mode: bad value 'udp' (expected tcp)");
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
	size_t len = strlen(full_yaml), ok = 0;
	char err[CFG_ERR_MAX];
	struct cfg *cfg;

	(void)state;
	/*
	 * Every prefix of a valid file: most are broken in some way. Each must
	 * either parse or fail cleanly with a positioned message (ASan checks
	 * the rest).
	 */
	for (size_t n = 0; n <= len; n++) {
		err[0] = '\0';
		errno = 0;
		cfg = cfg_parse_string("t.yaml", full_yaml, n, err, sizeof(err));
		if (cfg) {
			ok++;
			cfg_free(cfg);
			continue;
		}
		assert_int_equal(errno, EINVAL);
		if (strncmp(err, "t.yaml:", 7) || !strchr(err + 7, ':'))
			fail_msg("prefix %zu: bad message \"%s\"", n, err);
	}
	assert_true(ok > 0);
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
		{ "4096", 0, 4096 },
		{ "0", 0, 0 },
		{ "64K", 0, 65536 },
		{ "64k", 0, 65536 },
		{ "8M", 0, 8u << 20 },
		{ "1G", 0, 1u << 30 },
		{ "16G", 0, 16ull << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "17179869184G", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 K", -EINVAL, 0 },
		{ "1KB", -EINVAL, 0 },
		{ "1T", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
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
		{ "250ms", 0, 250 },
		{ "2s", 0, 2000 },
		{ "1m", 0, 60000 },
		{ "3", 0, 3000 },
		{ "0", 0, 0 },
		{ "4294967295ms", 0, UINT32_MAX },
		{ "4294968s", -EINVAL, 0 },
		{ "71583m", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
		{ "1h", -EINVAL, 0 },
		{ "1.5s", -EINVAL, 0 },
		{ "ms", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "5 s", -EINVAL, 0 },
		{ "5sec", -EINVAL, 0 },
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
		{ "1.2.3.4:80", 0, AF_INET, 80 },
		{ "0.0.0.0:65535", 0, AF_INET, 65535 },
		{ "[::]:1", 0, AF_INET6, 1 },
		{ "[::ffff:1.2.3.4]:443", 0, AF_INET6, 443 },
		{ "[fe80::1%eth0]:80", -EINVAL, 0, 0 },
		{ "1.2.3.4:0", -EINVAL, 0, 0 },
		{ "1.2.3.4:65536", -EINVAL, 0, 0 },
		{ "1.2.3.4:", -EINVAL, 0, 0 },
		{ "1.2.3.4:+80", -EINVAL, 0, 0 },
		{ ":80", -EINVAL, 0, 0 },
		{ "[]:80", -EINVAL, 0, 0 },
		{ "01.2.3.4:80", -EINVAL, 0, 0 },
		{ "1.2.3.4.5:80", -EINVAL, 0, 0 },
		{ "example.com:80", -EINVAL, 0, 0 },
		{ "::1:80", -EINVAL, 0, 0 },
		{ "[::1]", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
