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

/* A realistic HTTP front end: every new key, most of them off their default. */
static const char http_full_yaml[] =
    "global:\n"
    "  log_level: info\n"
    "listeners:\n"
    "  - name: edge\n"
    "    bind: 0.0.0.0:8080\n"
    "    mode: http\n"
    "    pool: www\n"
    "    workers: 4\n"
    "    splice: user\n"
    "    connect_timeout: 3s\n"
    "    http:\n"
    "      access_log: /var/log/xdproxy/access.log\n"
    "      log_format: json\n"
    "      header_timeout: 5s\n"
    "      idle_timeout: 2m\n"
    "      client_timeout: 45s\n"
    "      response_timeout: 1500ms\n"
    "      forwarded: both\n"
    "      via: true\n"
    "      via_name: edge-1\n"
    "      max_request_line: 4K\n"
    "      max_header: 16K\n"
    "      max_headers_size: 128K\n"
    "      max_headers: 50\n"
    "      max_body: 10M\n"
    "    routes:\n"
    "      - name: api\n"
    "        host: API.Example.com\n"
    "        path: /api/\n"
    "        methods: [GET, HEAD, POST]\n"
    "        headers:\n"
    "          - name: X-Canary\n"
    "            value: \"1\"\n"
    "            negate: true\n"
    "          - name: Authorization\n"
    "        pool: api\n"
    "        strip_prefix: /api\n"
    "        replace_prefix: /v2\n"
    "        request_headers:\n"
    "          - set: X-Env\n"
    "            value: prod\n"
    "          - add: X-Trace\n"
    "            value: \"1\"\n"
    "          - remove: X-Debug\n"
    "        response_headers:\n"
    "          - remove: Server\n"
    "          - value: no-store\n" /* value first: key order is free */
    "            set: Cache-Control\n"
    "        forwarded: none\n"
    "      - name: static\n"
    "        host: \"*.static.example.com\"\n"
    "        path_regex: ^/v[0-9]+/\n"
    "        pool: www\n"
    "      - path_exact: /healthz\n"
    "        pool: api\n"
    "  - name: raw\n"
    "    bind: \"[::]:9000\"\n"
    "    pool: www\n"
    "pools:\n"
    "  - name: www\n"
    "    hash_key: SESSIONID\n" /* before balance: still checked against it */
    "    balance: cookie\n"
    "    keepalive: 0\n"
    "    keepalive_timeout: 90s\n"
    "    retries: 0\n"
    "    proxy_protocol: v2\n"
    "    reverse_map:\n"
    "      - from: http://10.0.0.2:8080/\n"
    "        to: https://www.example.com/\n"
    "      - from: http://10.0.0.3:8080/\n"
    "        to: /\n"
    "    cookie_domain_map: [{from: backend.internal, to: .example.com}]\n"
    "    cookie_path_map: [{from: /app/, to: /}]\n"
    "    backends:\n"
    "      - address: 10.0.0.2:8080\n"
    "        weight: 2\n"
    "      - address: 10.0.0.3:8080\n"
    "  - name: api\n"
    "    balance: leastconn\n"
    "    retries: 16\n"
    "    keepalive: 65535\n"
    "    proxy_protocol: v1\n"
    "    backends:\n"
    "      - address: 10.0.1.2:80\n";

/* The smallest http config with a route; http error tests edit its lines. */
static const char *const http_lines[] = {
    "listeners:\n",		      /* 1 */
    "  - name: web\n",		      /* 2 */
    "    bind: 0.0.0.0:8080\n",	      /* 3 */
    "    mode: http\n",		      /* 4 */
    "    pool: origins\n",	      /* 5 */
    "    routes:\n",		      /* 6 */
    "      - name: api\n",	      /* 7 */
    "        path: /api/\n",	      /* 8 */
    "        pool: api\n",	      /* 9 */
    "pools:\n",			      /* 10 */
    "  - name: origins\n",	      /* 11 */
    "    backends:\n",		      /* 12 */
    "      - address: 10.0.0.2:80\n", /* 13 */
    "  - name: api\n",		      /* 14 */
    "    backends:\n",		      /* 15 */
    "      - address: 10.0.0.3:80\n", /* 16 */
};

/* As lb_build, over http_lines. */
static void http_build(char *text, int line, va_list ap)
{
	const char *repl[ARRAY_SIZE(http_lines) + 1] = {0};

	for (; line; line = va_arg(ap, int)) {
		assert_true(line > 0 && line <= (int)ARRAY_SIZE(http_lines));
		repl[line] = va_arg(ap, const char *);
	}
	text[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(http_lines); i++)
		strcat(text, repl[i + 1] ? repl[i + 1] : http_lines[i]);
}

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

/* expect_http_error(pos, what, line, repl, ..., 0): edited http_lines must fail so. */
static void expect_http_error(const char *pos, const char *what, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, what);
	http_build(text, va_arg(ap, int), ap);
	va_end(ap);
	expect_error(text, pos, what);
}

/* parse_http(line, repl, ..., 0): edited http_lines, which must be valid. */
static struct cfg *parse_http(int line, ...)
{
	char text[4096], err[CFG_ERR_MAX];
	struct cfg *cfg;
	va_list ap;

	va_start(ap, line);
	http_build(text, line, ap);
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

/* Upstream TLS: http_lines' first pool (line 13 is its backend) gets a tls block. */
static void test_pool_tls(void **state)
{
	const struct cfg_pool_tls *t;
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(13,
			 "      - address: 10.0.0.2:80\n    tls:\n      ca: /etc/ssl/ca.pem\n"
			 "      sni: Origin.Example\n      cert: /etc/x/client.pem\n"
			 "      key: /etc/x/client.key\n",
			 0);
	t = &cfg->pools[0].tls;
	assert_true(t->enabled);
	assert_true(t->verify); /* the default */
	assert_string_equal(t->ca, "/etc/ssl/ca.pem");
	assert_string_equal(t->sni, "origin.example");
	assert_string_equal(t->cert, "/etc/x/client.pem");
	assert_string_equal(t->key, "/etc/x/client.key");
	assert_false(cfg->pools[1].tls.enabled); /* no tls block: plain */
	cfg_free(cfg);
	/* verify false needs nothing else; no sni: the address is checked (when verifying) */
	cfg = parse_http(13, "      - address: 10.0.0.2:80\n    tls: {verify: false}\n", 0);
	t = &cfg->pools[0].tls;
	assert_true(t->enabled);
	assert_false(t->verify);
	assert_string_equal(t->ca, "");
	assert_string_equal(t->sni, "");
	assert_string_equal(t->cert, "");
	cfg_free(cfg);
	/* a route's pool may have tls; a longest-label, longest-name sni is fine */
	cfg = parse_http(16,
			 "      - address: 10.0.0.3:80\n    tls:\n      verify: true\n"
			 "      ca: /ca.pem\n      sni: "
			 "a23456789012345678901234567890123456789012345678901234567890123.x-y_z\n",
			 0);
	assert_true(cfg->pools[1].tls.enabled);
	assert_int_equal(strlen(cfg->pools[1].tls.sni), 69);
	cfg_free(cfg);
}

/*
 * Refused tls blocks: each 'tls' text follows the first pool's backend
 * (line 13 of http_lines), so the block starts on line 14.
 */
static const struct {
	const char *pos, *what, *tls;
} pool_tls_errors[] = {
    {"16:7", "unknown key 'verfy' in pool tls (expected one of: verify, ca, sni, cert, key)",
     "    tls:\n      ca: /a\n      verfy: true\n"},
    {"15:7", "tls: missing required key 'ca'", "    tls:\n      sni: a.example\n"},
    {"14:10", "tls: missing required key 'ca'", "    tls: {}\n"},
    {"14:9", "tls: expected a mapping, got a scalar", "    tls:\n"},
    {"16:11", "ca: only used with verify: true", "    tls:\n      verify: false\n      ca: /a\n"},
    {"14:15", "ca: 'a.pem' must be an absolute path", "    tls: {ca: a.pem}\n"},
    {"14:19", "verify: bad value 'yes' (expected false|true)", "    tls: {verify: yes, ca: /a}\n"},
    {"14:31", "sni: '10.0.0.2': an address is not a server name",
     "    tls: {verify: false, sni: 10.0.0.2}\n"},
    {"14:31", "sni: '::1': an address is not a server name",
     "    tls: {verify: false, sni: '::1'}\n"},
    {"14:31", "only letters, digits", "    tls: {verify: false, sni: 'a b.test'}\n"},
    {"14:31", "ends with a dot", "    tls: {verify: false, sni: a.test.}\n"},
    {"14:31", "an empty label", "    tls: {verify: false, sni: a..test}\n"},
    {"14:31", "sni: missing value", "    tls: {verify: false, sni: }\n"},
    {"14:31", "a label longer than 63 bytes",
     "    tls: {verify: false, sni: "
     "a234567890123456789012345678901234567890123456789012345678901234.test}\n"},
    {"14:32", "cert: needs 'key'", "    tls: {verify: false, cert: /c}\n"},
    {"14:31", "key: needs 'cert'", "    tls: {verify: false, key: /k}\n"},
    {"15:5", "duplicate key 'tls' in pool", "    tls: {verify: false}\n    tls: {verify: false}\n"},
};

static void test_err_pool_tls(void **state)
{
	static const char tcp_pool[] = "pools:\n  - name: p\n    tls: {verify: false}\n"
				       "    backends:\n      - address: 10.0.0.2:80\n";
	char text[1024];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(pool_tls_errors); i++) {
		snprintf(text, sizeof(text), "      - address: 10.0.0.2:80\n%s",
			 pool_tls_errors[i].tls);
		expect_http_error(pool_tls_errors[i].pos, pool_tls_errors[i].what, 13, text, 0);
	}
	/* the TCP proxy cannot speak TLS to a pool: its listener and sni_routes say so */
	snprintf(text, sizeof(text),
		 "listeners:\n  - name: t\n    bind: 127.0.0.1:1\n    pool: p\n%s", tcp_pool);
	expect_error(text, "4:11",
		     "listener 't': pool 'p' has tls (upstream TLS), which only mode http "
		     "listeners speak");
	snprintf(text, sizeof(text),
		 "listeners:\n  - name: t\n    bind: 127.0.0.1:1\n"
		 "    sni_routes:\n      - names: [a.test]\n        pool: p\n%s",
		 tcp_pool);
	expect_error(text, "6:15", "listener 't': pool 'p' has tls");
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
			  "mode: bad value 'udp' (expected tcp|http|forward)");
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
	static const char *const texts[] = {full_yaml, full_lb_yaml, http_full_yaml};
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

static void test_err_lb_nat_source_is_vip(void **state)
{
	(void)state;
	/* its own address */
	expect_error("lb:\n  vips:\n    - name: a\n      address: 198.18.0.10\n      port: 80\n"
		     "      mode: nat\n      source: 198.18.0.10\n      backends: []\n",
		     "7:15", "source: 198.18.0.10 is the address of vip 'a'; a NAT source");
	/* an earlier VIP's address */
	expect_error("lb:\n  vips:\n    - name: a\n      address: 198.18.0.10\n      port: 80\n"
		     "      backends: []\n    - name: b\n      address: 198.18.0.11\n"
		     "      port: 80\n      mode: nat\n      source: 198.18.0.10\n"
		     "      backends: []\n",
		     "11:15", "source: 198.18.0.10 is the address of vip 'a'");
	/* a later VIP on an earlier VIP's NAT source */
	expect_error("lb:\n  vips:\n    - name: a\n      address: 198.18.0.10\n      port: 80\n"
		     "      mode: nat\n      source: 198.18.2.1\n      backends: []\n"
		     "    - name: b\n      address: 198.18.2.1\n      port: 80\n"
		     "      backends: []\n",
		     "10:16", "vip 'b': 198.18.2.1 is the NAT source of vip 'a'");
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

/* ---------------------------------------------------------------- http: values */

static void test_http_full_config(void **state)
{
	const struct cfg_listener *l, *raw;
	const struct cfg_route *r;
	const struct cfg_pool *p;
	char err[CFG_ERR_MAX];
	struct cfg *cfg;

	(void)state;
	cfg = parse(http_full_yaml, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_listeners, 2);
	assert_int_equal(cfg->nr_pools, 2);
	l = &cfg->listeners[0];
	assert_int_equal(l->mode, CFG_MODE_HTTP);
	assert_int_equal(l->workers, 4);
	assert_int_equal(l->pool, 0);
	assert_int_equal(l->splice, CFG_SPLICE_USER);
	assert_int_equal(l->connect_timeout_ms, 3000);
	assert_string_equal(l->http.access_log, "/var/log/xdproxy/access.log");
	assert_int_equal(l->http.log_format, CFG_LOG_JSON);
	assert_int_equal(l->http.header_timeout_ms, 5000);
	assert_int_equal(l->http.idle_timeout_ms, 120000);
	assert_int_equal(l->http.client_timeout_ms, 45000);
	assert_int_equal(l->http.response_timeout_ms, 1500);
	assert_int_equal(l->http.fwd, CFG_FWD_BOTH);
	assert_true(l->http.via);
	assert_string_equal(l->http.via_name, "edge-1");
	assert_int_equal(l->http.limits.max_start_line, 4096);
	assert_int_equal(l->http.limits.max_field, 16384);
	assert_int_equal(l->http.limits.max_head, 131072);
	assert_int_equal(l->http.limits.max_fields, 50);
	assert_int_equal(l->http.limits.max_body, 10u << 20);
	/* Limits the file does not name keep the parser's defaults. */
	assert_int_equal(l->http.limits.max_chunk_ext, h1_limits_default.max_chunk_ext);
	assert_int_equal(l->http.limits.max_trailer, h1_limits_default.max_trailer);
	assert_int_equal(l->http.limits.max_empty_lines, h1_limits_default.max_empty_lines);

	assert_int_equal(l->http.nr_routes, 3);
	r = &l->http.routes[0];
	assert_string_equal(r->name, "api");
	assert_ptr_equal(r->rule.name, r->name);
	assert_int_equal(r->rule.host_kind, ROUTE_HOST_EXACT);
	assert_string_equal(r->rule.host, "API.Example.com"); /* as written: the table lowercases */
	assert_int_equal(r->rule.path_kind, ROUTE_PATH_PREFIX);
	assert_string_equal(r->rule.path, "/api/");
	assert_int_equal(r->rule.methods, ROUTE_METH(H1_METH_GET) | ROUTE_METH(H1_METH_HEAD) |
					      ROUTE_METH(H1_METH_POST));
	assert_int_equal(r->rule.nr_hdrs, 2);
	assert_ptr_equal(r->rule.hdrs, r->hdrs);
	assert_string_equal(r->hdrs[0].name, "X-Canary");
	assert_string_equal(r->hdrs[0].value, "1");
	assert_true(r->hdrs[0].negate);
	assert_string_equal(r->hdrs[1].name, "Authorization");
	assert_null(r->hdrs[1].value);
	assert_false(r->hdrs[1].negate);
	assert_int_equal(r->rule.pool, 1);
	assert_string_equal(r->rule.strip_prefix, "/api");
	assert_string_equal(r->rule.replace_prefix, "/v2");
	assert_int_equal(r->rule.nr_req_ops, 3);
	assert_ptr_equal(r->rule.req_ops, r->req_ops);
	assert_int_equal(r->req_ops[0].op, ROUTE_OP_SET);
	assert_string_equal(r->req_ops[0].name, "X-Env");
	assert_string_equal(r->req_ops[0].value, "prod");
	assert_int_equal(r->req_ops[1].op, ROUTE_OP_ADD);
	assert_string_equal(r->req_ops[1].name, "X-Trace");
	assert_string_equal(r->req_ops[1].value, "1");
	assert_int_equal(r->req_ops[2].op, ROUTE_OP_REMOVE);
	assert_string_equal(r->req_ops[2].name, "X-Debug");
	assert_null(r->req_ops[2].value);
	assert_int_equal(r->rule.nr_resp_ops, 2);
	assert_ptr_equal(r->rule.resp_ops, r->resp_ops);
	assert_int_equal(r->resp_ops[0].op, ROUTE_OP_REMOVE);
	assert_string_equal(r->resp_ops[0].name, "Server");
	assert_int_equal(r->resp_ops[1].op, ROUTE_OP_SET);
	assert_string_equal(r->resp_ops[1].name, "Cache-Control");
	assert_string_equal(r->resp_ops[1].value, "no-store");
	assert_int_equal(r->fwd, CFG_FWD_NONE);

	r = &l->http.routes[1];
	assert_string_equal(r->name, "static");
	assert_int_equal(r->rule.host_kind, ROUTE_HOST_WILDCARD);
	assert_string_equal(r->rule.host, "*.static.example.com");
	assert_int_equal(r->rule.path_kind, ROUTE_PATH_REGEX);
	assert_string_equal(r->rule.path, "^/v[0-9]+/");
	assert_int_equal(r->rule.methods, 0);
	assert_int_equal(r->rule.nr_hdrs, 0);
	assert_null(r->rule.hdrs);
	assert_int_equal(r->rule.pool, 0);
	assert_null(r->rule.strip_prefix);
	assert_null(r->rule.replace_prefix);
	assert_int_equal(r->rule.nr_req_ops + r->rule.nr_resp_ops, 0);
	assert_int_equal(r->fwd, -1);

	r = &l->http.routes[2];
	assert_string_equal(r->name, "route2");
	assert_int_equal(r->rule.host_kind, ROUTE_HOST_ANY);
	assert_null(r->rule.host);
	assert_int_equal(r->rule.path_kind, ROUTE_PATH_EXACT);
	assert_string_equal(r->rule.path, "/healthz");
	assert_int_equal(r->rule.pool, 1);

	raw = &cfg->listeners[1];
	assert_int_equal(raw->mode, CFG_MODE_TCP);
	assert_int_equal(raw->workers, 1);
	assert_int_equal(raw->pool, 0);
	assert_int_equal(raw->http.nr_routes, 0);
	assert_null(raw->http.routes);
	assert_string_equal(raw->http.via_name, ""); /* tcp: the http part is all zero */

	p = &cfg->pools[0];
	assert_string_equal(p->name, "www");
	assert_int_equal(p->balance, POOL_HASH_COOKIE);
	assert_string_equal(p->hash_key, "SESSIONID");
	assert_int_equal(p->keepalive, 0);
	assert_int_equal(p->keepalive_timeout_ms, 90000);
	assert_int_equal(p->retries, 0);
	assert_int_equal(p->proxy_protocol, CFG_PP_V2);
	assert_int_equal(p->nr_reverse_map, 2);
	assert_string_equal(p->reverse_map[0].from, "http://10.0.0.2:8080/");
	assert_string_equal(p->reverse_map[0].to, "https://www.example.com/");
	assert_string_equal(p->reverse_map[1].from, "http://10.0.0.3:8080/");
	assert_string_equal(p->reverse_map[1].to, "/");
	assert_int_equal(p->nr_cookie_domain_map, 1);
	assert_string_equal(p->cookie_domain_map[0].from, "backend.internal");
	assert_string_equal(p->cookie_domain_map[0].to, ".example.com");
	assert_int_equal(p->nr_cookie_path_map, 1);
	assert_string_equal(p->cookie_path_map[0].from, "/app/");
	assert_string_equal(p->cookie_path_map[0].to, "/");
	assert_int_equal(p->nr_backends, 2);
	assert_int_equal(p->backends[0].weight, 2);

	p = &cfg->pools[1];
	assert_int_equal(p->balance, POOL_LEASTCONN);
	assert_string_equal(p->hash_key, "");
	assert_int_equal(p->retries, 16);
	assert_int_equal(p->keepalive, 65535);
	assert_int_equal(p->keepalive_timeout_ms, CFG_DEF_KEEPALIVE_MS);
	assert_int_equal(p->proxy_protocol, CFG_PP_V1);
	assert_null(p->reverse_map);
	assert_int_equal(p->nr_reverse_map + p->nr_cookie_domain_map + p->nr_cookie_path_map, 0);
	cfg_free(cfg);
}

/* A request as the HTTP proxy will see it: parsed, normalized, matched. */
struct rt_req {
	char buf[512];
	char scratch[512];
	struct h1_msg m;
	struct route_req r;
};

static void rt_parse(struct rt_req *q, const char *raw)
{
	size_t n = strlen(raw);

	assert_true(n < sizeof(q->buf));
	memcpy(q->buf, raw, n);
	h1_msg_init(&q->m, NULL);
	assert_int_equal(h1_parse_request(&q->m, q->buf, n), 0);
	assert_int_equal(route_req_prepare(&q->r, &q->m, q->buf, q->scratch, sizeof(q->scratch)),
			 0);
}

static int rt_match(const struct route_table *t, struct rt_req *q, const char *raw)
{
	rt_parse(q, raw);
	return route_match(t, &q->r);
}

/*
 * The round trip the proxy makes: the parsed rules and pools go straight
 * into route_table_new() and pool_new(), and real requests land where the
 * file says.
 */
static void test_http_round_trip(void **state)
{
	static struct rt_req q;
	const struct cfg_listener *l;
	struct pool_backend_spec specs[2];
	char err[CFG_ERR_MAX], target[128];
	struct route_rule rules[3];
	struct route_table *t;
	const struct cfg_pool *cp;
	struct pool *p;
	struct cfg *cfg;
	size_t tlen = 0;
	int i;

	(void)state;
	cfg = parse(http_full_yaml, err);
	if (!cfg)
		fail_msg("%s", err);
	l = &cfg->listeners[0];
	for (size_t k = 0; k < l->http.nr_routes; k++)
		rules[k] = l->http.routes[k].rule;
	t = route_table_new(rules, l->http.nr_routes, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);

	/* api: host matched case-insensitively, prefix stripped and replaced. */
	i = rt_match(t, &q,
		     "GET /api/users?id=7 HTTP/1.1\r\nHost: api.example.com\r\n"
		     "Authorization: x\r\n\r\n");
	assert_int_equal(i, 0);
	assert_string_equal(cfg->pools[route_rule_get(t, i)->pool].name, "api");
	assert_int_equal(route_target(t, i, &q.r, target, sizeof(target), &tlen), 0);
	assert_int_equal(tlen, strlen("/v2/users?id=7"));
	assert_memory_equal(target, "/v2/users?id=7", tlen);
	/* The negated canary condition: with X-Canary: 1 the api route does not match. */
	assert_int_equal(rt_match(t, &q,
				  "GET /api/users HTTP/1.1\r\nHost: api.example.com\r\n"
				  "Authorization: x\r\nX-Canary: 1\r\n\r\n"),
			 -ENOENT);
	/* Without Authorization, or with a method not listed: no match either. */
	assert_int_equal(
	    rt_match(t, &q, "GET /api/users HTTP/1.1\r\nHost: api.example.com\r\n\r\n"), -ENOENT);
	assert_int_equal(rt_match(t, &q,
				  "DELETE /api/users HTTP/1.1\r\nHost: api.example.com\r\n"
				  "Authorization: x\r\n\r\n"),
			 -ENOENT);
	/* static: wildcard host and regex path. */
	i = rt_match(t, &q, "GET /v12/logo.png HTTP/1.1\r\nHost: img.static.example.com\r\n\r\n");
	assert_int_equal(i, 1);
	assert_string_equal(cfg->pools[route_rule_get(t, i)->pool].name, "www");
	assert_int_equal(rt_match(t, &q, "GET /v12/a HTTP/1.1\r\nHost: static.example.com\r\n\r\n"),
			 -ENOENT);
	/* route2: any host, the exact path only. */
	assert_int_equal(rt_match(t, &q, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 2);
	assert_int_equal(rt_match(t, &q, "GET /healthz/ HTTP/1.1\r\nHost: x\r\n\r\n"), -ENOENT);
	assert_string_equal(route_rule_get(t, 2)->name, "route2");
	route_table_free(t);

	/* The cookie pool hashes SESSIONID: one session, one backend, every time. */
	cp = &cfg->pools[l->pool];
	for (size_t k = 0; k < cp->nr_backends; k++)
		specs[k] =
		    (struct pool_backend_spec){cp->backends[k].addr_str, cp->backends[k].weight};
	p = pool_new(&(struct pool_spec){cp->balance, cp->hash_key, specs, cp->nr_backends, 0}, err,
		     sizeof(err));
	if (!p)
		fail_msg("%s", err);
	assert_int_equal(pool_algo_of(p), POOL_HASH_COOKIE);
	assert_int_equal(pool_weight(p, 0), 2);
	assert_string_equal(pool_key(p, 1), "10.0.0.3:8080");
	rt_parse(&q, "GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; SESSIONID=abc\r\n\r\n");
	i = pool_pick(p, &(struct pool_pick_ctx){.m = &q.m, .buf = q.buf});
	assert_true(i == 0 || i == 1);
	for (int k = 0; k < 20; k++)
		assert_int_equal(pool_pick(p, &(struct pool_pick_ctx){.m = &q.m, .buf = q.buf}), i);
	pool_free(p);
	cfg_free(cfg);
}

static void test_http_defaults(void **state)
{
	const struct cfg_listener *l;
	const struct cfg_route *r;
	const struct cfg_pool *p;
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(0);
	l = &cfg->listeners[0];
	assert_int_equal(l->mode, CFG_MODE_HTTP);
	assert_int_equal(l->workers, CFG_DEF_WORKERS);
	assert_int_equal(l->pool, 0);
	assert_int_equal(l->splice, CFG_SPLICE_KERNEL);
	assert_int_equal(l->connect_timeout_ms, CFG_DEF_CONNECT_MS);
	assert_string_equal(l->http.access_log, "");
	assert_int_equal(l->http.log_format, CFG_LOG_COMBINED);
	assert_int_equal(l->http.header_timeout_ms, 10000);
	assert_int_equal(l->http.idle_timeout_ms, 60000);
	assert_int_equal(l->http.client_timeout_ms, 60000);
	assert_int_equal(l->http.response_timeout_ms, 30000);
	assert_int_equal(l->http.fwd, CFG_FWD_XFF);
	assert_false(l->http.via);
	assert_string_equal(l->http.via_name, "xdproxy");
	assert_memory_equal(&l->http.limits, &h1_limits_default, sizeof(h1_limits_default));
	assert_int_equal(l->http.limits.max_body, UINT64_MAX);
	assert_int_equal(l->http.nr_routes, 1);
	r = &l->http.routes[0];
	assert_string_equal(r->name, "api");
	assert_int_equal(r->rule.host_kind, ROUTE_HOST_ANY);
	assert_null(r->rule.host);
	assert_int_equal(r->rule.methods, 0);
	assert_int_equal(r->rule.pool, 1);
	assert_int_equal(r->fwd, -1);
	assert_null(r->hdrs);
	assert_null(r->req_ops);
	assert_null(r->resp_ops);
	p = &cfg->pools[0];
	assert_int_equal(p->balance, POOL_ROUNDROBIN);
	assert_string_equal(p->hash_key, "");
	assert_int_equal(p->keepalive, 32);
	assert_int_equal(p->keepalive_timeout_ms, 60000);
	assert_int_equal(p->retries, 1);
	assert_int_equal(p->proxy_protocol, CFG_PP_OFF);
	assert_null(p->reverse_map);
	assert_null(p->cookie_domain_map);
	assert_null(p->cookie_path_map);
	cfg_free(cfg);
}

static void test_tcp_listener_defaults(void **state)
{
	struct cfg *cfg = parse_base_with(0, "");
	const struct cfg_listener *l = &cfg->listeners[0];

	(void)state;
	assert_int_equal(l->mode, CFG_MODE_TCP);
	assert_int_equal(l->workers, 1);
	assert_int_equal(l->pool, 0);
	assert_null(l->http.routes);
	assert_int_equal(l->http.nr_routes, 0);
	assert_string_equal(l->http.access_log, "");
	assert_int_equal(l->http.header_timeout_ms, 0);
	cfg_free(cfg);
	/* tcp is also what "mode: tcp" and "workers: 1" say. */
	cfg = parse_base_with(4, "    pool: origins\n    mode: tcp\n    workers: 1\n");
	assert_int_equal(cfg->listeners[0].mode, CFG_MODE_TCP);
	assert_int_equal(cfg->listeners[0].workers, 1);
	cfg_free(cfg);
}

static void test_http_default_pool_optional(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* Routes only: unmatched requests get 404, so there is no default pool. */
	cfg = parse_http(5, "", 0);
	assert_int_equal(cfg->listeners[0].pool, SIZE_MAX);
	assert_int_equal(cfg->listeners[0].http.routes[0].rule.pool, 1);
	cfg_free(cfg);
	/* A default pool only: every request goes there. */
	cfg = parse_http(6, "", 7, "", 8, "", 9, "", 0);
	assert_int_equal(cfg->listeners[0].pool, 0);
	assert_int_equal(cfg->listeners[0].http.nr_routes, 0);
	assert_null(cfg->listeners[0].http.routes);
	cfg_free(cfg);
	/* "routes:" empty or [] with a default pool is the same. */
	cfg = parse_http(6, "    routes: []\n", 7, "", 8, "", 9, "", 0);
	assert_int_equal(cfg->listeners[0].http.nr_routes, 0);
	cfg_free(cfg);
}

static void test_http_workers(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(5, "    pool: origins\n    workers: 64\n", 0);
	assert_int_equal(cfg->listeners[0].workers, 64);
	cfg_free(cfg);
	cfg = parse_http(5, "    pool: origins\n    workers: 1\n", 0);
	assert_int_equal(cfg->listeners[0].workers, 1);
	cfg_free(cfg);
}

static void test_http_mode_written_last(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* http and routes before "mode: http": the mode still decides how they read. */
	cfg = parse_http(4, "    http: {via: true}\n    workers: 8\n", 9,
			 "        pool: api\n    mode: http\n", 0);
	assert_int_equal(cfg->listeners[0].mode, CFG_MODE_HTTP);
	assert_true(cfg->listeners[0].http.via);
	assert_int_equal(cfg->listeners[0].workers, 8);
	/* ...and the defaults of what the section does not say are there. */
	assert_int_equal(cfg->listeners[0].http.idle_timeout_ms, CFG_DEF_IDLE_MS);
	cfg_free(cfg);
}

static void test_http_empty_sections(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(5, "    pool: origins\n    http:\n", 9,
			 "        pool: api\n        headers: []\n        request_headers:\n"
			 "        response_headers: []\n",
			 0);
	assert_int_equal(cfg->listeners[0].http.header_timeout_ms, CFG_DEF_HEADER_MS);
	assert_string_equal(cfg->listeners[0].http.via_name, CFG_DEF_VIA_NAME);
	assert_int_equal(cfg->listeners[0].http.routes[0].rule.nr_hdrs, 0);
	assert_int_equal(cfg->listeners[0].http.routes[0].rule.nr_req_ops, 0);
	assert_int_equal(cfg->listeners[0].http.routes[0].rule.nr_resp_ops, 0);
	cfg_free(cfg);
	cfg = parse_http(11, "  - name: origins\n    reverse_map: []\n    cookie_domain_map:\n", 0);
	assert_null(cfg->pools[0].reverse_map);
	assert_int_equal(cfg->pools[0].nr_cookie_domain_map, 0);
	cfg_free(cfg);
}

static void test_http_access_log(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"off", ""},
	    {"stdout", "-"},
	    {"/var/log/a.log", "/var/log/a.log"},
	    {"/", "/"},
	};
	char line[128];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "    pool: origins\n    http:\n      access_log: %s\n",
			 cases[i].in);
		cfg = parse_http(5, line, 0);
		assert_string_equal(cfg->listeners[0].http.access_log, cases[i].want);
		cfg_free(cfg);
	}
}

static void test_http_limits(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* The smallest values accepted. */
	cfg = parse_http(5,
			 "    pool: origins\n    http:\n      max_request_line: 64\n"
			 "      max_header: 64\n      max_headers_size: 1K\n      max_headers: 1\n"
			 "      max_body: 1\n",
			 0);
	assert_int_equal(cfg->listeners[0].http.limits.max_start_line, 64);
	assert_int_equal(cfg->listeners[0].http.limits.max_field, 64);
	assert_int_equal(cfg->listeners[0].http.limits.max_head, 1024);
	assert_int_equal(cfg->listeners[0].http.limits.max_fields, 1);
	assert_int_equal(cfg->listeners[0].http.limits.max_body, 1);
	cfg_free(cfg);
	/* The largest; max_body 0 is "unlimited", as the parser spells it. */
	cfg =
	    parse_http(5,
		       "    pool: origins\n    http:\n      max_request_line: 1M\n"
		       "      max_header: 1M\n      max_headers_size: 1M\n      max_headers: 256\n"
		       "      max_body: 0\n",
		       0);
	assert_int_equal(cfg->listeners[0].http.limits.max_start_line, 1u << 20);
	assert_int_equal(cfg->listeners[0].http.limits.max_field, 1u << 20);
	assert_int_equal(cfg->listeners[0].http.limits.max_head, 1u << 20);
	assert_int_equal(cfg->listeners[0].http.limits.max_fields, 256);
	assert_int_equal(cfg->listeners[0].http.limits.max_body, UINT64_MAX);
	cfg_free(cfg);
	cfg = parse_http(5, "    pool: origins\n    http: {max_body: 16G}\n", 0);
	assert_int_equal(cfg->listeners[0].http.limits.max_body, 16ull << 30);
	cfg_free(cfg);
}

static void test_http_forwarded_values(void **state)
{
	static const char *const names[] = {"xff", "forwarded", "both", "none", "hide"};
	static const enum cfg_fwd want[] = {CFG_FWD_XFF, CFG_FWD_FORWARDED, CFG_FWD_BOTH,
					    CFG_FWD_NONE, CFG_FWD_HIDE};
	char a[96], b[96];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(a, sizeof(a), "    pool: origins\n    http: {forwarded: %s}\n", names[i]);
		snprintf(b, sizeof(b), "        pool: api\n        forwarded: %s\n",
			 names[ARRAY_SIZE(names) - 1 - i]);
		cfg = parse_http(5, a, 9, b, 0);
		assert_int_equal(cfg->listeners[0].http.fwd, want[i]);
		assert_int_equal(cfg->listeners[0].http.routes[0].fwd,
				 want[ARRAY_SIZE(names) - 1 - i]);
		cfg_free(cfg);
	}
}

static void test_http_route_default_names(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(7, "      - path: /a/\n", 8, "        pool: api\n      - pool: origins\n",
			 9, "      - name: route0x\n        pool: api\n", 0);
	assert_int_equal(cfg->listeners[0].http.nr_routes, 3);
	assert_string_equal(cfg->listeners[0].http.routes[0].name, "route0");
	assert_string_equal(cfg->listeners[0].http.routes[1].name, "route1");
	assert_string_equal(cfg->listeners[0].http.routes[2].name, "route0x");
	assert_int_equal(cfg->listeners[0].http.routes[1].rule.path_kind, ROUTE_PATH_ANY);
	assert_int_equal(cfg->listeners[0].http.routes[1].rule.pool, 0);
	cfg_free(cfg);
}

static void test_http_route_hosts_and_paths(void **state)
{
	const struct cfg_route *r;
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(
	    8,
	    "        host: '[2001:db8::1]'\n        path_exact: /a/%7e\n        pool: api\n"
	    "      - host: \"*.a.example\"\n        path_regex: \\.php$\n"
	    "        pool: api\n      - host: example.com.\n",
	    0);
	r = cfg->listeners[0].http.routes;
	assert_int_equal(r[0].rule.host_kind, ROUTE_HOST_EXACT);
	assert_string_equal(r[0].rule.host, "[2001:db8::1]");
	assert_int_equal(r[0].rule.path_kind, ROUTE_PATH_EXACT);
	assert_string_equal(r[0].rule.path, "/a/%7e"); /* as written: the table normalizes */
	assert_int_equal(r[1].rule.host_kind, ROUTE_HOST_WILDCARD);
	assert_string_equal(r[1].rule.host, "*.a.example");
	assert_int_equal(r[1].rule.path_kind, ROUTE_PATH_REGEX);
	assert_string_equal(r[1].rule.path, "\\.php$");
	assert_int_equal(r[2].rule.host_kind, ROUTE_HOST_EXACT);
	assert_string_equal(r[2].rule.host, "example.com.");
	assert_int_equal(r[2].rule.path_kind, ROUTE_PATH_ANY);
	assert_null(r[2].rule.path);
	cfg_free(cfg);
}

static void test_http_route_methods(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg =
	    parse_http(9,
		       "        pool: api\n        methods: [GET, HEAD, POST, PUT, DELETE, "
		       "CONNECT, OPTIONS, TRACE, PATCH]\n"
		       "      - pool: api\n        methods:\n          - PATCH\n          - GET\n",
		       0);
	assert_int_equal(cfg->listeners[0].http.routes[0].rule.methods,
			 ROUTE_METH_ALL & ~ROUTE_METH(H1_METH_OTHER));
	assert_int_equal(cfg->listeners[0].http.routes[1].rule.methods,
			 (1u << H1_METH_PATCH) | (1u << H1_METH_GET));
	cfg_free(cfg);
}

static void test_http_route_ops_and_conditions(void **state)
{
	const struct cfg_route *r;
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(9,
			 "        pool: api\n"
			 "        headers:\n"
			 "          - {name: X-A, value: \"\"}\n"  /* an empty value, present */
			 "          - {negate: true, name: X-B}\n" /* absent */
			 "        request_headers:\n"
			 "          - {set: Host, value: 'internal:8080'}\n"
			 "          - {add: X-Empty, value: ''}\n"
			 "        response_headers:\n"
			 "          - {add: Host, value: a b}\n" /* only requests guard Host */
			 "          - {remove: Set-Cookie}\n",
			 0);
	r = &cfg->listeners[0].http.routes[0];
	assert_int_equal(r->rule.nr_hdrs, 2);
	assert_string_equal(r->hdrs[0].value, "");
	assert_false(r->hdrs[0].negate);
	assert_string_equal(r->hdrs[1].name, "X-B");
	assert_null(r->hdrs[1].value);
	assert_true(r->hdrs[1].negate);
	assert_int_equal(r->rule.nr_req_ops, 2);
	assert_int_equal(r->req_ops[0].op, ROUTE_OP_SET);
	assert_string_equal(r->req_ops[0].value, "internal:8080");
	assert_int_equal(r->req_ops[1].op, ROUTE_OP_ADD);
	assert_string_equal(r->req_ops[1].value, "");
	assert_int_equal(r->rule.nr_resp_ops, 2);
	assert_int_equal(r->resp_ops[0].op, ROUTE_OP_ADD);
	assert_string_equal(r->resp_ops[0].value, "a b");
	assert_int_equal(r->resp_ops[1].op, ROUTE_OP_REMOVE);
	assert_null(r->resp_ops[1].value);
	cfg_free(cfg);
}

static void test_http_route_rewrite(void **state)
{
	const struct cfg_route *r;
	struct cfg *cfg;

	(void)state;
	cfg =
	    parse_http(9,
		       "        pool: api\n        strip_prefix: /api\n        replace_prefix: ''\n"
		       "      - pool: api\n        strip_prefix: /old/\n",
		       0);
	r = cfg->listeners[0].http.routes;
	assert_string_equal(r[0].rule.strip_prefix, "/api");
	assert_string_equal(r[0].rule.replace_prefix, "");
	assert_string_equal(r[1].rule.strip_prefix, "/old/");
	assert_null(r[1].rule.replace_prefix);
	cfg_free(cfg);
}

static void test_http_ops_at_most(void **state)
{
	char *text = malloc(8192);
	char err[CFG_ERR_MAX];
	struct cfg *cfg;
	size_t off;

	(void)state;
	assert_non_null(text);
	/* ROUTE_OPS_MAX - 1 ops: the most a direction takes. */
	off = (size_t)snprintf(text, 8192,
			       "listeners:\n  - name: w\n    bind: 0.0.0.0:80\n    mode: http\n"
			       "    routes:\n      - pool: p\n        request_headers:\n");
	for (int i = 0; i < ROUTE_OPS_MAX - 1; i++)
		off += (size_t)snprintf(text + off, 8192 - off,
					"          - {add: X-%d, value: v}\n", i);
	snprintf(text + off, 8192 - off,
		 "pools: [{name: p, backends: [{address: '1.1.1.1:1'}]}]\n");
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->listeners[0].http.routes[0].rule.nr_req_ops, ROUTE_OPS_MAX - 1);
	assert_string_equal(cfg->listeners[0].http.routes[0].req_ops[62].name, "X-62");
	cfg_free(cfg);
	/* One more: refused at the op too many (line 8 + 63). */
	off = strlen(text) - strlen("pools: [{name: p, backends: [{address: '1.1.1.1:1'}]}]\n");
	off += (size_t)snprintf(text + off, 8192 - off, "          - {add: X-63, value: v}\n");
	snprintf(text + off, 8192 - off,
		 "pools: [{name: p, backends: [{address: '1.1.1.1:1'}]}]\n");
	expect_error(text, "71:13", "request_headers: more than 63 ops (route 'route0')");
	free(text);
}

static void test_pool_balance_names(void **state)
{
	static const char *const names[] = {"roundrobin", "leastconn", "source", "header",
					    "cookie"};
	char line[128];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		enum pool_algo want;

		assert_int_equal(pool_algo_parse(names[i], &want), 0);
		snprintf(line, sizeof(line), "  - name: origins\n    balance: %s\n%s", names[i],
			 want == POOL_HASH_HEADER || want == POOL_HASH_COOKIE ? "    hash_key: k\n"
									      : "");
		cfg = parse_http(11, line, 0);
		assert_int_equal(cfg->pools[0].balance, want);
		assert_string_equal(cfg->pools[0].hash_key,
				    want == POOL_HASH_HEADER || want == POOL_HASH_COOKIE ? "k"
											 : "");
		cfg_free(cfg);
	}
}

static void test_pool_hash_key_max_length(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(11,
			 "  - name: origins\n    balance: header\n    hash_key: "
			 "X-1234567890123456789012345678901234567890123456789012345678901\n",
			 0);
	assert_int_equal(strlen(cfg->pools[0].hash_key), 63);
	cfg_free(cfg);
}

static void test_pool_max_backends(void **state)
{
	char *text = malloc(16384), err[CFG_ERR_MAX];
	struct cfg *cfg;
	size_t off;

	(void)state;
	assert_non_null(text);
	off = (size_t)snprintf(text, 16384,
			       "listeners: [{name: a, bind: '1.1.1.1:1', pool: p}]\n"
			       "pools:\n  - name: p\n    balance: source\n    backends:\n");
	for (int i = 0; i < POOL_MAX_BACKENDS; i++)
		off += (size_t)snprintf(text + off, 16384 - off, "      - address: 10.0.%d.%d:80\n",
					i >> 8, i & 255);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->pools[0].nr_backends, POOL_MAX_BACKENDS);
	cfg_free(cfg);
	snprintf(text + off, 16384 - off, "      - address: 10.0.1.0:80\n");
	expect_error(text, "262:9", "pool 'p': more than 256 backends (POOL_MAX_BACKENDS)");
	free(text);
}

static void test_tcp_listener_any_balance(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* The TCP proxy balances round robin for now; the pool is still valid. */
	cfg = parse_base_with(7, "    balance: header\n    hash_key: X-User\n    backends:\n");
	assert_int_equal(cfg->pools[0].balance, POOL_HASH_HEADER);
	assert_int_equal(cfg->listeners[0].mode, CFG_MODE_TCP);
	cfg_free(cfg);
	cfg = parse_base_with(7, "    balance: leastconn\n    keepalive: 4\n    backends:\n");
	assert_int_equal(cfg->pools[0].balance, POOL_LEASTCONN);
	assert_int_equal(cfg->pools[0].keepalive, 4);
	cfg_free(cfg);
}

static void test_pool_maps(void **state)
{
	const struct cfg_pool *p;
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(11,
			 "  - name: origins\n"
			 "    reverse_map:\n"
			 "      - {to: /, from: HTTPS://b/}\n"
			 "      - {from: /internal/, to: https://x.example/ext/}\n"
			 "    cookie_domain_map:\n"
			 "      - {from: .B.internal, to: example.com}\n"
			 "      - {from: c_1-2.internal, to: x}\n"
			 "    cookie_path_map:\n"
			 "      - {from: /, to: /app/}\n"
			 "      - {from: /a/b, to: '/%7e'}\n",
			 0);
	p = &cfg->pools[0];
	assert_int_equal(p->nr_reverse_map, 2);
	assert_string_equal(p->reverse_map[0].from, "HTTPS://b/");
	assert_string_equal(p->reverse_map[0].to, "/");
	assert_string_equal(p->reverse_map[1].from, "/internal/");
	assert_string_equal(p->reverse_map[1].to, "https://x.example/ext/");
	assert_int_equal(p->nr_cookie_domain_map, 2);
	assert_string_equal(p->cookie_domain_map[0].from, ".B.internal");
	assert_string_equal(p->cookie_domain_map[1].from, "c_1-2.internal");
	assert_string_equal(p->cookie_domain_map[1].to, "x");
	assert_int_equal(p->nr_cookie_path_map, 2);
	assert_string_equal(p->cookie_path_map[0].to, "/app/");
	assert_string_equal(p->cookie_path_map[1].to, "/%7e");
	cfg_free(cfg);
}

/* ---------------------------------------------------------------- http: errors */

/* http_lines' line 5 replaced: the default pool, then an http section holding 'kv'. */
#define HTTP_KV(kv) 5, "    pool: origins\n    http:\n      " kv "\n"
/* http_lines' line 9 replaced: route api's pool, then 'more' (whole lines). */
#define ROUTE_MORE(more) 9, "        pool: api\n" more
/* http_lines' line 11 replaced: pool origins' name, then 'more' (whole lines). */
#define POOL_MORE(more) 11, "  - name: origins\n" more

static void test_err_http_mode(void **state)
{
	(void)state;
	expect_http_error("4:11", "mode: bad value 'https' (expected tcp|http|forward)", 4,
			  "    mode: https\n", 0);
	expect_http_error("4:11", "mode: bad value 'HTTP'", 4, "    mode: HTTP\n", 0);
	expect_http_error("4:11", "mode: expected a scalar value, got a list", 4,
			  "    mode: [http]\n", 0);
}

static void test_err_http_section_in_tcp(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    http:\n      via: true\n", "5:5",
			  "http: only for modes http and forward (this listener is mode tcp)");
	/* The mode decides, wherever it is written. */
	expect_base_error(4, "    pool: origins\n    http: {}\n    mode: tcp\n", "5:5",
			  "http: only for modes http and forward");
	expect_http_error("6:5", "routes: only for mode http (this listener is mode tcp)", 4,
			  "    mode: tcp\n", 0);
}

static void test_err_workers(void **state)
{
	(void)state;
	expect_http_error("6:14", "workers: 0 out of range 1..64", 5,
			  "    pool: origins\n    workers: 0\n", 0);
	expect_http_error("6:14", "workers: 65 out of range 1..64", 5,
			  "    pool: origins\n    workers: 65\n", 0);
	expect_http_error("6:14", "workers: 'two' is not a whole number", 5,
			  "    pool: origins\n    workers: two\n", 0);
	expect_base_error(4, "    pool: origins\n    workers: 2\n", "5:14",
			  "workers: mode tcp runs 1 worker for now");
	expect_base_error(4, "    pool: origins\n    workers: 4\n    mode: tcp\n", "5:14",
			  "workers: mode tcp runs 1 worker for now");
}

static void test_err_http_durations(void **state)
{
	(void)state;
	expect_http_error("7:23", "header_timeout: bad duration 'fast'",
			  HTTP_KV("header_timeout: fast"), 0);
	expect_http_error("7:21", "idle_timeout: duration '0' out of range 1ms..60m",
			  HTTP_KV("idle_timeout: 0"), 0);
	expect_http_error("7:23", "client_timeout: bad duration '1h'",
			  HTTP_KV("client_timeout: 1h"), 0);
	expect_http_error("7:25", "response_timeout: duration '61m' out of range 1ms..60m",
			  HTTP_KV("response_timeout: 61m"), 0);
}

static void test_err_http_sizes(void **state)
{
	(void)state;
	expect_http_error("7:25", "max_request_line: bad size '8X'",
			  HTTP_KV("max_request_line: 8X"), 0);
	expect_http_error("7:25", "max_request_line: size '32' out of range 64..1M",
			  HTTP_KV("max_request_line: 32"), 0);
	expect_http_error("7:19", "max_header: size '0' out of range 64..1M",
			  HTTP_KV("max_header: 0"), 0);
	expect_http_error("7:25", "max_headers_size: size '2M' out of range 1K..1M",
			  HTTP_KV("max_headers_size: 2M"), 0);
	expect_http_error("7:25", "max_headers_size: size '1023' out of range 1K..1M",
			  HTTP_KV("max_headers_size: 1023"), 0);
	expect_http_error("7:17", "max_body: bad size '-1'", HTTP_KV("max_body: -1"), 0);
	expect_http_error("7:17", "max_body: bad size '99999999999999999999'",
			  HTTP_KV("max_body: 99999999999999999999"), 0);
}

static void test_err_http_max_headers(void **state)
{
	(void)state;
	expect_http_error("7:20", "max_headers: 0 out of range 1..256", HTTP_KV("max_headers: 0"),
			  0);
	expect_http_error("7:20", "max_headers: 257 out of range 1..256",
			  HTTP_KV("max_headers: 257"), 0);
	expect_http_error("7:20", "max_headers: '1K' is not a whole number",
			  HTTP_KV("max_headers: 1K"), 0);
}

static void test_err_http_forwarded(void **state)
{
	(void)state;
	expect_http_error("7:18",
			  "forwarded: bad value 'xri' (expected xff|forwarded|both|none|hide)",
			  HTTP_KV("forwarded: xri"), 0);
	expect_http_error("10:20", "forwarded: bad value 'XFF'",
			  ROUTE_MORE("        forwarded: XFF\n"), 0);
}

static void test_err_http_log_format(void **state)
{
	(void)state;
	expect_http_error("7:19", "log_format: bad value 'common' (expected combined|json)",
			  HTTP_KV("log_format: common"), 0);
}

static void test_err_http_via(void **state)
{
	(void)state;
	expect_http_error("7:12", "via: bad value 'yes' (expected false|true)", HTTP_KV("via: yes"),
			  0);
	expect_http_error("7:17", "via_name: bad value 'a b': use 1 to 63 token characters",
			  HTTP_KV("via_name: 'a b'"), 0);
	expect_http_error("7:17", "via_name: bad value 'a/b'", HTTP_KV("via_name: a/b"), 0);
	expect_http_error("7:17", "via_name: bad value ''", HTTP_KV("via_name: ''"), 0);
	expect_http_error("7:17", "via_name: bad value",
			  HTTP_KV("via_name: "
				  "a123456789012345678901234567890123456789"
				  "012345678901234567890123"),
			  0);
}

static void test_err_http_access_log(void **state)
{
	char kv[400];

	(void)state;
	expect_http_error(
	    "7:19",
	    "access_log: 'logs/a.log' is not off, stdout, or an absolute path shorter "
	    "than 256 bytes",
	    HTTP_KV("access_log: logs/a.log"), 0);
	expect_http_error("7:19", "access_log: 'OFF' is not off", HTTP_KV("access_log: OFF"), 0);
	expect_http_error("7:18", "access_log: missing value", HTTP_KV("access_log:"), 0);
	snprintf(kv, sizeof(kv), "    pool: origins\n    http:\n      access_log: /%0300d\n", 0);
	expect_http_error("7:19", "is not off, stdout, or an absolute path", 5, kv, 0);
}

static void test_err_http_keys(void **state)
{
	(void)state;
	expect_http_error("7:7",
			  "unknown key 'timeout' in http (expected one of: access_log, log_format, "
			  "header_timeout, idle_timeout, client_timeout, response_timeout, "
			  "forwarded, via, via_name, max_request_line, max_header, "
			  "max_headers_size, max_headers, max_body, h2c)",
			  HTTP_KV("timeout: 5s"), 0);
	expect_http_error("8:7", "duplicate key 'via' in http",
			  HTTP_KV("via: true\n      via: false"), 0);
	expect_http_error("6:5", "unknown key 'route' in listener", 6, "    route:\n", 0);
}

static void test_err_http_wrong_types(void **state)
{
	(void)state;
	expect_http_error("6:11", "http: expected a mapping, got a list", 5,
			  "    pool: origins\n    http: [1]\n", 0);
	expect_http_error("6:13", "routes: expected a list, got a scalar", 6, "    routes: api\n",
			  7, "", 8, "", 9, "", 0);
	expect_http_error("7:9", "route: expected a mapping, got a scalar", 7, "      - api\n", 8,
			  "", 9, "", 0);
}

static void test_err_http_needs_pool_or_routes(void **state)
{
	(void)state;
	expect_http_error("2:5",
			  "listener 'web': mode http needs a default 'pool', 'routes', or both", 5,
			  "", 6, "", 7, "", 8, "", 9, "", 0);
	expect_http_error("2:5", "mode http needs a default 'pool'", 5, "", 6, "    routes: []\n",
			  7, "", 8, "", 9, "", 0);
}

static void test_err_route_unknown_key(void **state)
{
	(void)state;
	expect_http_error("10:9",
			  "unknown key 'paths' in route (expected one of: name, host, path, "
			  "path_exact, path_regex, methods, headers, pool, strip_prefix, "
			  "replace_prefix, request_headers, response_headers, forwarded)",
			  ROUTE_MORE("        paths: /x\n"), 0);
	expect_http_error("10:9", "duplicate key 'path' in route", ROUTE_MORE("        path: /x\n"),
			  0);
}

static void test_err_route_two_paths(void **state)
{
	(void)state;
	expect_http_error("10:9",
			  "route 'api': path_exact: only one of path, path_exact, path_regex",
			  ROUTE_MORE("        path_exact: /x\n"), 0);
	expect_http_error("9:9", "route 'api': path: only one of path, path_exact, path_regex", 8,
			  "        path_regex: ^/a\n        path: /b\n", 0);
	expect_http_error("9:9", "route 'api': path_regex: only one of", 8,
			  "        path_exact: /a\n        path_regex: ^/b\n", 0);
}

static void test_err_route_unknown_pool(void **state)
{
	(void)state;
	expect_http_error("9:15", "listener 'web' route 'api': unknown pool 'apx'", 9,
			  "        pool: apx\n", 0);
	expect_http_error("5:11", "listener 'web': unknown pool 'nope'", 5, "    pool: nope\n", 0);
	/* Both wrong: the first in the file is reported. */
	expect_http_error("5:11", "unknown pool 'nope'", 5, "    pool: nope\n", 9,
			  "        pool: apx\n", 0);
}

static void test_err_route_missing_pool(void **state)
{
	(void)state;
	expect_http_error("7:9", "route: missing required key 'pool'", 9, "", 0);
}

static void test_err_route_bad_regex(void **state)
{
	(void)state;
	expect_http_error("8:21", "route 'api': path regex \"^/v[0-9\": ", 8,
			  "        path_regex: ^/v[0-9\n", 0);
	expect_http_error("8:21", "route 'api': path regex \"(a\": ", 8, "        path_regex: (a\n",
			  0);
	expect_http_error("8:21", "route 'api': empty path regex", 8, "        path_regex: ''\n",
			  0);
}

static void test_err_route_bad_path(void **state)
{
	(void)state;
	expect_http_error("8:15", "route 'api': path \"api/\": must start with '/'", 8,
			  "        path: api/\n", 0);
	expect_http_error("8:15", "route 'api': path \"/a?b\": only VCHARs but '?' and '#'", 8,
			  "        path: /a?b\n", 0);
	expect_http_error("8:21", "route 'api': path \"/a%2Fb\": ", 8,
			  "        path_exact: /a%2Fb\n", 0);
	expect_http_error("8:14", "path: missing value", 8, "        path:\n", 0);
}

static void test_err_route_bad_host(void **state)
{
	(void)state;
	expect_http_error("8:15", "route 'api': host \"exa mple.com\": invalid character", 8,
			  "        host: exa mple.com\n", 0);
	expect_http_error("8:15", "route 'api': host \"example.com:80\": a port", 8,
			  "        host: example.com:80\n", 0);
	expect_http_error(
	    "8:15", "route 'api': host \"a*.com\": '*' is only allowed as \"*.\" at the start", 8,
	    "        host: 'a*.com'\n", 0);
	expect_http_error("8:15", "route 'api': host \"*.\": empty", 8, "        host: '*.'\n", 0);
	expect_http_error("8:15", "route 'api': host \"a..b\": empty label", 8,
			  "        host: a..b\n", 0);
}

static void test_err_route_methods(void **state)
{
	(void)state;
	expect_http_error("10:19",
			  "methods: bad value 'get' (expected "
			  "GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH)",
			  ROUTE_MORE("        methods: [get]\n"), 0);
	expect_http_error("10:24", "methods: GET is listed twice",
			  ROUTE_MORE("        methods: [GET, GET]\n"), 0);
	expect_http_error("10:18", "methods: empty list (leave 'methods' out to match any method)",
			  ROUTE_MORE("        methods: []\n"), 0);
	expect_http_error("10:18", "methods: expected a list, got a scalar",
			  ROUTE_MORE("        methods: GET\n"), 0);
	expect_http_error("10:19", "methods: bad value 'OTHER'",
			  ROUTE_MORE("        methods: [OTHER]\n"), 0);
}

static void test_err_route_header_conditions(void **state)
{
	(void)state;
	expect_http_error("11:13", "header condition: missing required key 'name'",
			  ROUTE_MORE("        headers:\n          - value: x\n"), 0);
	expect_http_error("11:19", "route 'api': header condition 0: name is not a token",
			  ROUTE_MORE("        headers:\n          - name: X Canary\n"), 0);
	expect_http_error(
	    "12:20",
	    "route 'api': header condition 0 (X-C): value holds a control character "
	    "or leading/trailing whitespace",
	    ROUTE_MORE("        headers:\n          - name: X-C\n            value: ' x'\n"), 0);
	expect_http_error(
	    "12:21", "negate: bad value 'maybe' (expected false|true)",
	    ROUTE_MORE("        headers:\n          - name: X-C\n            negate: maybe\n"), 0);
	expect_http_error("11:13", "unknown key 'nam' in header condition",
			  ROUTE_MORE("        headers:\n          - nam: X\n"), 0);
	expect_http_error("10:18", "headers: expected a list, got a scalar",
			  ROUTE_MORE("        headers: X-C\n"), 0);
	expect_http_error("11:13", "header condition: expected a mapping, got a scalar",
			  ROUTE_MORE("        headers:\n          - X-C\n"), 0);
	/* The index is the condition's own. */
	expect_http_error(
	    "12:19", "route 'api': header condition 1: name is not a token",
	    ROUTE_MORE("        headers:\n          - name: X-A\n          - name: 'X:B'\n"), 0);
}

#define REQ_OPS(items) ROUTE_MORE("        request_headers:\n" items)

static void test_err_route_op_names(void **state)
{
	(void)state;
	expect_http_error("11:18", "route 'api': request op 0 (X Env): field name is not a token",
			  REQ_OPS("          - set: X Env\n            value: a\n"), 0);
	expect_http_error(
	    "11:21",
	    "route 'api': request op 0 (Content-Length): framing and hop-by-hop fields "
	    "belong to the proxy",
	    REQ_OPS("          - remove: Content-Length\n"), 0);
	expect_http_error("11:18",
			  "route 'api': request op 0 (Host): Host may only be SET on a request",
			  REQ_OPS("          - add: Host\n            value: a.example\n"), 0);
	expect_http_error("12:21", "route 'api': request op 1 (Upgrade): framing and hop-by-hop",
			  REQ_OPS("          - remove: X-A\n          - remove: Upgrade\n"), 0);
	expect_http_error(
	    "11:18", "route 'api': response op 0 (Transfer-Encoding): framing",
	    ROUTE_MORE("        response_headers:\n          - set: Transfer-Encoding\n"
		       "            value: x\n"),
	    0);
}

static void test_err_route_op_values(void **state)
{
	(void)state;
	expect_http_error("11:13", "request_headers: set 'X-Env' needs a value",
			  REQ_OPS("          - set: X-Env\n"), 0);
	expect_http_error("11:13", "response_headers: add 'X-A' needs a value",
			  ROUTE_MORE("        response_headers:\n          - add: X-A\n"), 0);
	expect_http_error("12:20", "request_headers: remove takes no value",
			  REQ_OPS("          - remove: X-Debug\n            value: '1'\n"), 0);
	expect_http_error("12:20",
			  "route 'api': request op 0 (Host): Host value is not host[:port]",
			  REQ_OPS("          - set: Host\n            value: a b\n"), 0);
	expect_http_error("12:20",
			  "route 'api': request op 0 (X-A): value holds a control character",
			  REQ_OPS("          - add: X-A\n            value: \"a\\x01b\"\n"), 0);
	expect_http_error("12:20", "value holds a control character or leading/trailing whitespace",
			  REQ_OPS("          - add: X-A\n            value: 'a '\n"), 0);
}

static void test_err_route_op_shape(void **state)
{
	(void)state;
	expect_http_error(
	    "12:13", "request_headers: one of set, add, remove per item",
	    REQ_OPS("          - set: X-A\n            add: X-B\n            value: v\n"), 0);
	expect_http_error("11:13", "request_headers: an item needs one of set, add, remove",
			  REQ_OPS("          - value: x\n"), 0);
	expect_http_error("11:13", "unknown key 'sett' in request_headers",
			  REQ_OPS("          - sett: X\n"), 0);
	expect_http_error("11:13", "request_headers: expected a mapping, got a scalar",
			  REQ_OPS("          - X-A\n"), 0);
	expect_http_error("10:27", "response_headers: expected a list, got a mapping",
			  ROUTE_MORE("        response_headers: {remove: X}\n"), 0);
}

static void test_err_route_prefixes(void **state)
{
	struct cfg *cfg;

	(void)state;
	expect_http_error("10:23", "route 'api': strip_prefix \"api\": must start with '/'",
			  ROUTE_MORE("        strip_prefix: api\n"), 0);
	expect_http_error("10:25", "route 'api': replace_prefix needs strip_prefix",
			  ROUTE_MORE("        replace_prefix: /v2\n"), 0);
	expect_http_error("11:25", "route 'api': replace_prefix \"v2\": must start with '/'",
			  ROUTE_MORE("        strip_prefix: /a\n        replace_prefix: v2\n"), 0);
	/* Written in the other order, the pair is just as valid. */
	cfg = parse_http(ROUTE_MORE("        replace_prefix: /v2\n        strip_prefix: /a\n"), 0);
	assert_string_equal(cfg->listeners[0].http.routes[0].rule.replace_prefix, "/v2");
	cfg_free(cfg);
}

static void test_err_route_names(void **state)
{
	(void)state;
	expect_http_error("10:15", "duplicate route name 'api'",
			  ROUTE_MORE("      - name: api\n        pool: api\n"), 0);
	expect_http_error(
	    "10:9",
	    "route name 'route1' (the default for this route) is already used: give it "
	    "a name",
	    7, "      - name: route1\n", ROUTE_MORE("      - pool: api\n"), 0);
	expect_http_error("7:15", "name: bad name 'a b'", 7, "      - name: 'a b'\n", 0);
}

static void test_err_route_name_written_later(void **state)
{
	(void)state;
	/* The message names the route even when its name comes after the error. */
	expect_http_error("7:15", "route 'later': path \"api\": must start with '/'", 7,
			  "      - path: api\n", 8, "        name: later\n", 0);
	/* A bad name written later: the default stands in, the name's error comes later. */
	expect_http_error("7:15", "route 'route0': path \"api\"", 7, "      - path: api\n", 8,
			  "        name: 'a b'\n", 0);
}

static void test_err_route_message_one_line(void **state)
{
	(void)state;
	expect_http_error("8:21", "route 'api': path regex \"[?\"", 8,
			  "        path_regex: \"[\\n\"\n", 0);
}

/* ---------------------------------------------------------------- pools: errors */

static void test_err_pool_hash_key_missing(void **state)
{
	(void)state;
	expect_http_error("11:5",
			  "pool 'origins': balance header needs 'hash_key', the header name",
			  POOL_MORE("    balance: header\n"), 0);
	expect_http_error("11:5",
			  "pool 'origins': balance cookie needs 'hash_key', the cookie name",
			  POOL_MORE("    balance: cookie\n"), 0);
}

static void test_err_pool_hash_key_refused(void **state)
{
	(void)state;
	expect_http_error("12:15",
			  "hash_key: balance roundrobin takes none (only header and cookie do)",
			  POOL_MORE("    hash_key: X-User\n"), 0);
	/* balance written after hash_key still decides. */
	expect_http_error("12:15", "hash_key: balance source takes none",
			  POOL_MORE("    hash_key: X-User\n    balance: source\n"), 0);
	expect_http_error("13:15", "hash_key: balance leastconn takes none",
			  POOL_MORE("    balance: leastconn\n    hash_key: X-User\n"), 0);
}

static void test_err_pool_hash_key_bad(void **state)
{
	(void)state;
	expect_http_error("13:15",
			  "hash_key: bad value 'X User': a header name is 1 to 63 token characters",
			  POOL_MORE("    balance: header\n    hash_key: X User\n"), 0);
	expect_http_error("13:15", "hash_key: bad value 'a;b': a cookie name",
			  POOL_MORE("    balance: cookie\n    hash_key: a;b\n"), 0);
	expect_http_error(
	    "13:15", "hash_key: bad value",
	    POOL_MORE("    balance: header\n    hash_key: "
		      "X-12345678901234567890123456789012345678901234567890123456789012\n"),
	    0);
	expect_http_error("13:14", "hash_key: missing value",
			  POOL_MORE("    balance: header\n    hash_key:\n"), 0);
}

static void test_err_pool_balance(void **state)
{
	(void)state;
	expect_http_error(
	    "12:14",
	    "balance: bad value 'random' (expected roundrobin|leastconn|source|header|"
	    "cookie)",
	    POOL_MORE("    balance: random\n"), 0);
	expect_http_error("12:14", "balance: bad value 'RoundRobin'",
			  POOL_MORE("    balance: RoundRobin\n"), 0);
}

static void test_err_pool_numbers(void **state)
{
	(void)state;
	expect_http_error("12:16", "keepalive: 65536 out of range 0..65535",
			  POOL_MORE("    keepalive: 65536\n"), 0);
	expect_http_error("12:16", "keepalive: '-1' is not a whole number",
			  POOL_MORE("    keepalive: -1\n"), 0);
	expect_http_error("12:14", "retries: 17 out of range 0..16", POOL_MORE("    retries: 17\n"),
			  0);
	expect_http_error("12:24", "keepalive_timeout: duration '0' out of range 1ms..60m",
			  POOL_MORE("    keepalive_timeout: 0\n"), 0);
	expect_http_error("12:24", "keepalive_timeout: bad duration '2h'",
			  POOL_MORE("    keepalive_timeout: 2h\n"), 0);
}

static void test_err_pool_proxy_protocol(void **state)
{
	(void)state;
	expect_http_error("12:21", "proxy_protocol: bad value 'v3' (expected off|v1|v2)",
			  POOL_MORE("    proxy_protocol: v3\n"), 0);
	expect_http_error("12:21", "proxy_protocol: bad value 'on'",
			  POOL_MORE("    proxy_protocol: on\n"), 0);
}

static void test_err_pool_reverse_map(void **state)
{
	(void)state;
	expect_http_error("13:9", "reverse_map: missing required key 'to'",
			  POOL_MORE("    reverse_map:\n      - from: http://a/\n"), 0);
	expect_http_error("13:9", "reverse_map: missing required key 'from'",
			  POOL_MORE("    reverse_map:\n      - to: /\n"), 0);
	expect_http_error(
	    "13:16",
	    "reverse_map: from: bad value 'ftp://a/': expected an http:// or https:// "
	    "URL, or a path starting with '/'",
	    POOL_MORE("    reverse_map:\n      - {from: ftp://a/, to: /}\n"), 0);
	expect_http_error("13:16", "reverse_map: from: bad value 'http://': expected an http://",
			  POOL_MORE("    reverse_map:\n      - {from: 'http://', to: /}\n"), 0);
	expect_http_error("13:24",
			  "reverse_map: to: bad value '/b c': expected VCHARs only (no spaces or "
			  "control characters)",
			  POOL_MORE("    reverse_map:\n      - {from: /a, to: '/b c'}\n"), 0);
	expect_http_error("14:16", "reverse_map: from '/a' is already mapped by item 0",
			  POOL_MORE("    reverse_map:\n      - {from: /a, to: /b}\n"
				    "      - {from: /a, to: /c}\n"),
			  0);
	expect_http_error("13:20", "unknown key 'too' in reverse_map (expected one of: from, to)",
			  POOL_MORE("    reverse_map:\n      - {from: /a, too: /b}\n"), 0);
	expect_http_error("12:18", "reverse_map: expected a list, got a mapping",
			  POOL_MORE("    reverse_map: {from: /a, to: /b}\n"), 0);
	expect_http_error("13:9", "reverse_map: expected a mapping, got a scalar",
			  POOL_MORE("    reverse_map:\n      - /a\n"), 0);
}

static void test_err_pool_cookie_maps(void **state)
{
	char more[1300];

	(void)state;
	expect_http_error("12:32", "cookie_domain_map: from: bad value 'a b': expected a domain",
			  POOL_MORE("    cookie_domain_map: [{from: 'a b', to: x}]\n"), 0);
	expect_http_error("12:32",
			  "cookie_domain_map: from: bad value 'a..b': expected a domain: no "
			  "empty label",
			  POOL_MORE("    cookie_domain_map: [{from: a..b, to: x}]\n"), 0);
	expect_http_error("12:32", "bad value 'a.': expected a domain: no empty label",
			  POOL_MORE("    cookie_domain_map: [{from: a., to: x}]\n"), 0);
	expect_http_error("12:32", "bad value '.': expected a domain",
			  POOL_MORE("    cookie_domain_map: [{from: ., to: x}]\n"), 0);
	/* Domains compare without case. */
	expect_http_error(
	    "12:52", "cookie_domain_map: from 'a.B' is already mapped by item 0",
	    POOL_MORE("    cookie_domain_map: [{from: A.b, to: x}, {from: a.B, to: y}]\n"), 0);
	expect_http_error(
	    "12:30",
	    "cookie_path_map: from: bad value 'app/': expected a path: '/' then VCHARs "
	    "but ';'",
	    POOL_MORE("    cookie_path_map: [{from: app/, to: /}]\n"), 0);
	expect_http_error("12:38", "cookie_path_map: to: bad value '/b;c'",
			  POOL_MORE("    cookie_path_map: [{from: /a, to: '/b;c'}]\n"), 0);
	snprintf(more, sizeof(more),
		 "  - name: origins\n    cookie_path_map: [{from: /%01100d, to: /}]\n", 0);
	expect_http_error("12:30", "cookie_path_map: from: bad value '/000", 11, more, 0);
	expect_http_error("12:30", "...': too long", 11, more, 0);
}

/* ---------------------------------------------------------------- forward proxy */

/* A realistic forward proxy next to an HTTP front end: every forward key, off its default. */
static const char fwd_full_yaml[] =
    "global:\n"
    "  log_level: info\n"
    "listeners:\n"
    "  - name: fwd\n"
    "    bind: 127.0.0.1:3128\n"
    "    mode: forward\n"
    "    workers: 2\n"
    "    connect_timeout: 5s\n"
    "    splice: user\n"
    "    http:\n"
    "      access_log: stdout\n"
    "      log_format: json\n"
    "      header_timeout: 5s\n"
    "      max_headers: 64\n"
    "      forwarded: hide\n"
    "    forward:\n"
    "      clients: [127.0.0.0/8, \"::1\", 10.0.0.0/8, \"2001:db8::/32\"]\n"
    "      auth_file: /etc/xdproxy/passwd\n"
    "      auth_realm: Corp proxy\n"
    "      anonymous: true\n"
    "      user_agent: \"Mozilla/5.0 (X11; Linux x86_64)\"\n"
    "      connect_ports: [443, 8443, 563]\n"
    "      allow_private: true\n"
    "      parent: \"[2001:db8::1]:3128\"\n"
    "      dns_servers: \"127.0.0.1:5353,[::1]:53,2001:db8::53,192.0.2.53\"\n"
    "      dns_timeout: 1500ms\n"
    "      rules:\n"
    "        - name: social\n"
    "          action: deny\n"
    "          domains: [\".facebook.com\", \"*.tiktok.com\", \"example.org\"]\n"
    "          domain_file: /etc/xdproxy/social.txt\n"
    "          ports: \"80,443,8000-8999\"\n"
    "          methods: any\n"
    "          clients: [10.0.0.0/8]\n"
    "          schedule:\n"
    "            days: mon-fri\n"
    "            times: [\"09:00-17:00\", \"18:00-19:30\"]\n"
    "            tz: Europe/Paris\n"
    "        - name: intranet\n"
    "          action: allow\n"
    "          domains: [.corp.example]\n"
    "          methods: http\n"
    "        - action: allow\n"
    "          methods: connect\n"
    "          ports: \"*\"\n"
    "          clients: [192.168.0.0/16]\n"
    "        - action: deny\n"
    "  - name: web\n"
    "    bind: 0.0.0.0:8080\n"
    "    mode: http\n"
    "    pool: www\n"
    "pools:\n"
    "  - name: www\n"
    "    backends:\n"
    "      - address: 10.0.0.2:80\n";

/* The smallest forward config with a rule; forward error tests edit its lines. */
static const char *const fwd_lines[] = {
    "listeners:\n",			  /* 1 */
    "  - name: fwd\n",			  /* 2 */
    "    bind: 127.0.0.1:3128\n",	  /* 3 */
    "    mode: forward\n",		  /* 4 */
    "    forward:\n",			  /* 5 */
    "      clients: [10.0.0.0/8]\n",	  /* 6 */
    "      rules:\n",			  /* 7 */
    "        - name: r\n",		  /* 8 */
    "          action: deny\n",		  /* 9 */
    "          domains: [example.com]\n", /* 10 */
};

/* As lb_build, over fwd_lines. */
static void fwd_build(char *text, int line, va_list ap)
{
	const char *repl[ARRAY_SIZE(fwd_lines) + 1] = {0};

	for (; line; line = va_arg(ap, int)) {
		assert_true(line > 0 && line <= (int)ARRAY_SIZE(fwd_lines));
		repl[line] = va_arg(ap, const char *);
	}
	text[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(fwd_lines); i++)
		strcat(text, repl[i + 1] ? repl[i + 1] : fwd_lines[i]);
}

/* expect_fwd_error(pos, what, line, repl, ..., 0): edited fwd_lines must fail so. */
static void expect_fwd_error(const char *pos, const char *what, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, what);
	fwd_build(text, va_arg(ap, int), ap);
	va_end(ap);
	expect_error(text, pos, what);
}

/* parse_fwd(line, repl, ..., 0): edited fwd_lines, which must be valid. */
static struct cfg *parse_fwd(int line, ...)
{
	char text[8192], err[CFG_ERR_MAX];
	struct cfg *cfg;
	va_list ap;

	va_start(ap, line);
	fwd_build(text, line, ap);
	va_end(ap);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("unexpected error: %s\n%s", err, text);
	return cfg;
}

static bool have_zone(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return !access(path, R_OK);
}

static void assert_strings(char *const *got, size_t n, const char *const *want, size_t nwant)
{
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
}

#define ASSERT_STRINGS(got, n, ...)                                                                \
	do {                                                                                       \
		static const char *const want_[] = {__VA_ARGS__};                                  \
		assert_strings((got), (n), want_, ARRAY_SIZE(want_));                              \
	} while (0)

static void test_fwd_full_config(void **state)
{
	const struct sockaddr_in6 *sin6;
	const struct cfg_fwd_rule *r;
	const struct cfg_forward *f;
	const struct cfg_listener *l;
	char err[CFG_ERR_MAX], a[INET6_ADDRSTRLEN];
	struct cfg *cfg;

	(void)state;
	if (!have_zone("Europe/Paris"))
		skip();
	cfg = parse(fwd_full_yaml, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->nr_listeners, 2);
	l = &cfg->listeners[0];
	assert_string_equal(l->name, "fwd");
	assert_int_equal(l->mode, CFG_MODE_FORWARD);
	assert_int_equal(port_of(&l->addr), 3128);
	assert_int_equal(l->workers, 2);
	assert_int_equal(l->pool, SIZE_MAX);
	assert_int_equal(l->connect_timeout_ms, 5000);
	assert_int_equal(l->splice, CFG_SPLICE_USER);
	assert_string_equal(l->http.access_log, "-");
	assert_int_equal(l->http.log_format, CFG_LOG_JSON);
	assert_int_equal(l->http.header_timeout_ms, 5000);
	assert_int_equal(l->http.idle_timeout_ms, CFG_DEF_IDLE_MS);
	assert_int_equal(l->http.limits.max_fields, 64);
	assert_int_equal(l->http.fwd, CFG_FWD_HIDE);
	assert_false(l->http.via);
	assert_null(l->http.routes);
	assert_int_equal(l->http.nr_routes, 0);

	f = &l->forward;
	ASSERT_STRINGS(f->clients, f->nr_clients, "127.0.0.0/8", "::1", "10.0.0.0/8",
		       "2001:db8::/32");
	assert_string_equal(f->auth_file, "/etc/xdproxy/passwd");
	assert_string_equal(f->auth_realm, "Corp proxy");
	assert_true(f->anonymous);
	assert_string_equal(f->user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
	assert_int_equal(f->nr_connect_ports, 3);
	assert_int_equal(f->connect_ports[0], 443);
	assert_int_equal(f->connect_ports[1], 8443);
	assert_int_equal(f->connect_ports[2], 563);
	assert_true(f->allow_private);
	assert_true(f->has_parent);
	assert_string_equal(f->parent_str, "[2001:db8::1]:3128");
	assert_int_equal(f->parent.ss_family, AF_INET6);
	assert_int_equal(f->parent_len, sizeof(struct sockaddr_in6));
	sin6 = (const struct sockaddr_in6 *)&f->parent;
	assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)), "2001:db8::1");
	assert_int_equal(ntohs(sin6->sin6_port), 3128);
	assert_string_equal(f->dns_servers, "127.0.0.1:5353,[::1]:53,2001:db8::53,192.0.2.53");
	assert_int_equal(f->dns_timeout_ms, 1500);

	assert_int_equal(f->nr_rules, 4);
	r = &f->rules[0];
	assert_string_equal(r->name, "social");
	assert_true(r->deny);
	ASSERT_STRINGS(r->domains, r->nr_domains, ".facebook.com", "*.tiktok.com", "example.org");
	assert_string_equal(r->domain_file, "/etc/xdproxy/social.txt");
	assert_string_equal(r->ports, "80,443,8000-8999");
	assert_int_equal(r->methods, CFG_FWDM_ANY);
	ASSERT_STRINGS(r->clients, r->nr_clients, "10.0.0.0/8");
	assert_true(r->has_schedule);
	assert_string_equal(r->sched_days, "mon-fri");
	ASSERT_STRINGS(r->sched_times, r->nr_sched_times, "09:00-17:00", "18:00-19:30");
	assert_string_equal(r->sched_tz, "Europe/Paris");

	r = &f->rules[1];
	assert_string_equal(r->name, "intranet");
	assert_false(r->deny);
	ASSERT_STRINGS(r->domains, r->nr_domains, ".corp.example");
	assert_string_equal(r->domain_file, "");
	assert_string_equal(r->ports, "");
	assert_int_equal(r->methods, CFG_FWDM_HTTP);
	assert_null(r->clients);
	assert_false(r->has_schedule);

	r = &f->rules[2];
	assert_string_equal(r->name, "rule2");
	assert_false(r->deny);
	assert_null(r->domains);
	assert_int_equal(r->nr_domains, 0);
	assert_string_equal(r->ports, "*");
	assert_int_equal(r->methods, CFG_FWDM_CONNECT);
	ASSERT_STRINGS(r->clients, r->nr_clients, "192.168.0.0/16");

	r = &f->rules[3];
	assert_string_equal(r->name, "rule3");
	assert_true(r->deny);
	assert_null(r->domains);
	assert_null(r->clients);
	assert_string_equal(r->ports, "");
	assert_int_equal(r->methods, CFG_FWDM_ANY);
	assert_false(r->has_schedule);

	/* The HTTP listener next to it is untouched by all this. */
	l = &cfg->listeners[1];
	assert_int_equal(l->mode, CFG_MODE_HTTP);
	assert_int_equal(l->pool, 0);
	assert_null(l->forward.clients);
	assert_null(l->forward.rules);
	assert_int_equal(l->forward.nr_connect_ports, 0);
	cfg_free(cfg);
}

/* What a forward listener with nothing but its mode gets. */
static void assert_fwd_defaults(const struct cfg_listener *l)
{
	const struct cfg_forward *f = &l->forward;

	assert_int_equal(l->mode, CFG_MODE_FORWARD);
	assert_int_equal(l->workers, CFG_DEF_WORKERS);
	assert_int_equal(l->pool, SIZE_MAX);
	assert_int_equal(l->connect_timeout_ms, CFG_DEF_CONNECT_MS);
	assert_int_equal(l->http.fwd, CFG_FWD_XFF);
	assert_false(l->http.via);
	assert_string_equal(l->http.via_name, CFG_DEF_VIA_NAME);
	assert_int_equal(l->http.header_timeout_ms, CFG_DEF_HEADER_MS);
	assert_int_equal(l->http.limits.max_fields, h1_limits_default.max_fields);
	assert_string_equal(l->http.access_log, "");
	ASSERT_STRINGS(f->clients, f->nr_clients, "127.0.0.0/8", "::1");
	assert_string_equal(f->auth_file, "");
	assert_string_equal(f->auth_realm, CFG_DEF_REALM);
	assert_false(f->anonymous);
	assert_string_equal(f->user_agent, "");
	assert_int_equal(f->nr_connect_ports, 1);
	assert_int_equal(f->connect_ports[0], 443);
	assert_false(f->allow_private);
	assert_false(f->has_parent);
	assert_string_equal(f->parent_str, "");
	assert_string_equal(f->dns_servers, "");
	assert_int_equal(f->dns_timeout_ms, 2000);
	assert_null(f->rules);
	assert_int_equal(f->nr_rules, 0);
}

static void test_fwd_defaults(void **state)
{
	static const char *const blocks[] = {
	    "",			 /* no forward block at all */
	    "    forward:\n",	 /* null */
	    "    forward: {}\n", /* empty */
	    "    forward:\n      rules: []\n",
	    "    forward:\n      rules:\n",
	};
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++) {
		cfg = parse_fwd(5, blocks[i], 6, "", 7, "", 8, "", 9, "", 10, "", 0);
		assert_fwd_defaults(&cfg->listeners[0]);
		cfg_free(cfg);
	}
}

static void test_fwd_mode_written_last(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* forward and http are read by the rules of the mode, wherever it stands. */
	cfg = parse_fwd(4, "    http:\n      via: true\n", 10,
			"          domains: [example.com]\n    mode: forward\n", 0);
	assert_int_equal(cfg->listeners[0].mode, CFG_MODE_FORWARD);
	assert_true(cfg->listeners[0].http.via);
	assert_int_equal(cfg->listeners[0].forward.nr_rules, 1);
	cfg_free(cfg);
}

static void test_fwd_http_block(void **state)
{
	const struct cfg_http *h;
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(4,
			"    mode: forward\n    http:\n      access_log: /var/log/fwd.log\n"
			"      idle_timeout: 5m\n      client_timeout: 10s\n"
			"      response_timeout: 90s\n      forwarded: both\n      via: true\n"
			"      via_name: gw\n      max_request_line: 16K\n      max_header: 4K\n"
			"      max_headers_size: 32K\n      max_body: 10M\n",
			0);
	h = &cfg->listeners[0].http;
	assert_string_equal(h->access_log, "/var/log/fwd.log");
	assert_int_equal(h->idle_timeout_ms, 300000);
	assert_int_equal(h->client_timeout_ms, 10000);
	assert_int_equal(h->response_timeout_ms, 90000);
	assert_int_equal(h->fwd, CFG_FWD_BOTH);
	assert_true(h->via);
	assert_string_equal(h->via_name, "gw");
	assert_int_equal(h->limits.max_start_line, 16384);
	assert_int_equal(h->limits.max_field, 4096);
	assert_int_equal(h->limits.max_head, 32768);
	assert_int_equal(h->limits.max_body, 10u << 20);
	cfg_free(cfg);
}

static void test_h2c(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(0);
	assert_false(cfg->listeners[0].http.h2c);
	cfg_free(cfg);
	cfg = parse_http(5, "    pool: origins\n    http:\n      h2c: true\n", 0);
	assert_true(cfg->listeners[0].http.h2c);
	cfg_free(cfg);
	expect_http_error("7:12", "h2c: bad value '2' (expected", 5,
			  "    pool: origins\n    http:\n      h2c: 2\n", 0);
	expect_fwd_error("6:12", "h2c: only for mode http (this listener is mode forward)", 4,
			 "    mode: forward\n    http:\n      h2c: true\n", 0);
	/* false is harmless anywhere http: is */
	cfg = parse_fwd(4, "    mode: forward\n    http:\n      h2c: false\n", 0);
	assert_false(cfg->listeners[0].http.h2c);
	cfg_free(cfg);
}

static void test_fwd_workers(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(4, "    mode: forward\n    workers: 64\n", 0);
	assert_int_equal(cfg->listeners[0].workers, 64);
	cfg_free(cfg);
	expect_fwd_error("5:14", "workers: 0 out of range 1..64", 4,
			 "    mode: forward\n    workers: 0\n", 0);
	expect_fwd_error("5:14", "workers: 65 out of range 1..64", 4,
			 "    mode: forward\n    workers: 65\n", 0);
}

static void test_fwd_clients(void **state)
{
	static const struct {
		const char *yaml;
		const char *want[4];
		size_t n;
	} cases[] = {
	    {"      clients: [10.0.0.0/8]\n", {"10.0.0.0/8"}, 1},
	    {"      clients: [192.0.2.7, \"2001:db8::7\"]\n", {"192.0.2.7", "2001:db8::7"}, 2},
	    {"      clients: [0.0.0.0/0, \"::/0\"]\n", {"0.0.0.0/0", "::/0"}, 2},
	    {"      clients:\n        - \"::1\"\n        - 172.16.0.0/12\n",
	     {"::1", "172.16.0.0/12"},
	     2},
	    /* An IPv4-mapped prefix is the IPv4 prefix it means: fine on its own. */
	    {"      clients: [\"::ffff:10.0.0.0/104\", \"fe80::/10\"]\n",
	     {"::ffff:10.0.0.0/104", "fe80::/10"},
	     2},
	    {"      clients: [10.1.2.3/32, 10.1.2.0/24, 10.0.0.0/8]\n",
	     {"10.1.2.3/32", "10.1.2.0/24", "10.0.0.0/8"},
	     3},
	};
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cfg = parse_fwd(6, cases[i].yaml, 0);
		assert_strings(cfg->listeners[0].forward.clients,
			       cfg->listeners[0].forward.nr_clients, cases[i].want, cases[i].n);
		cfg_free(cfg);
	}
}

static void test_fwd_auth(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(
	    6, "      auth_file: /etc/p\n      auth_realm: \"a b!#$%&'()*+,-./:;<=>?@[]^_`{|}~\"\n",
	    0);
	assert_string_equal(cfg->listeners[0].forward.auth_file, "/etc/p");
	assert_string_equal(cfg->listeners[0].forward.auth_realm,
			    "a b!#$%&'()*+,-./:;<=>?@[]^_`{|}~");
	/* The default clients, since the line that set them is gone. */
	assert_int_equal(cfg->listeners[0].forward.nr_clients, 2);
	cfg_free(cfg);
	/* "" is no authentication, as absent. */
	cfg = parse_fwd(6, "      auth_file: \"\"\n", 0);
	assert_string_equal(cfg->listeners[0].forward.auth_file, "");
	assert_string_equal(cfg->listeners[0].forward.auth_realm, "xdproxy");
	cfg_free(cfg);
	/* 63 characters is the longest realm. */
	cfg = parse_fwd(6,
			"      auth_file: /p\n      auth_realm: "
			"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR\n",
			0);
	assert_int_equal(strlen(cfg->listeners[0].forward.auth_realm), 63);
	cfg_free(cfg);
}

static void test_fwd_anonymous(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* anonymous sets hide; the default xff would have told the origin. */
	cfg = parse_fwd(6, "      anonymous: true\n", 0);
	assert_true(cfg->listeners[0].forward.anonymous);
	assert_int_equal(cfg->listeners[0].http.fwd, CFG_FWD_HIDE);
	assert_string_equal(cfg->listeners[0].forward.user_agent, "");
	cfg_free(cfg);
	/* Saying hide, or via: false, again is fine, before or after. */
	cfg =
	    parse_fwd(4, "    mode: forward\n    http:\n      forwarded: hide\n      via: false\n",
		      6, "      user_agent: curl/8.0\n      anonymous: true\n", 0);
	assert_int_equal(cfg->listeners[0].http.fwd, CFG_FWD_HIDE);
	assert_string_equal(cfg->listeners[0].forward.user_agent, "curl/8.0");
	cfg_free(cfg);
	/* anonymous: false leaves http alone. */
	cfg = parse_fwd(4, "    mode: forward\n    http:\n      forwarded: none\n      via: true\n",
			6, "      anonymous: false\n", 0);
	assert_false(cfg->listeners[0].forward.anonymous);
	assert_int_equal(cfg->listeners[0].http.fwd, CFG_FWD_NONE);
	assert_true(cfg->listeners[0].http.via);
	cfg_free(cfg);
}

static void test_fwd_connect_ports(void **state)
{
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(6, "      connect_ports: [1, 65535, 443]\n", 0);
	assert_int_equal(cfg->listeners[0].forward.nr_connect_ports, 3);
	assert_int_equal(cfg->listeners[0].forward.connect_ports[0], 1);
	assert_int_equal(cfg->listeners[0].forward.connect_ports[1], 65535);
	assert_int_equal(cfg->listeners[0].forward.connect_ports[2], 443);
	cfg_free(cfg);
	cfg = parse_fwd(6, "      connect_ports:\n        - 8443\n", 0);
	assert_int_equal(cfg->listeners[0].forward.nr_connect_ports, 1);
	assert_int_equal(cfg->listeners[0].forward.connect_ports[0], 8443);
	cfg_free(cfg);
}

static const char sni_base[] = "listeners:\n  - name: t\n    bind: 127.0.0.1:9443\n";
static const char sni_pools[] =
    "pools:\n  - name: a\n    backends:\n      - address: 10.0.0.2:443\n"
    "  - name: b\n    backends:\n      - address: 10.0.0.3:443\n";

static void test_sni_routes(void **state)
{
	char text[1024], err[CFG_ERR_MAX];
	const struct cfg_listener *l;
	struct cfg *cfg;

	(void)state;
	snprintf(text, sizeof(text),
		 "%s    sni_routes:\n      - names: [a.test, \"*.a.test\"]\n        pool: a\n"
		 "      - names: [.b.test]\n        pool: b\n%s",
		 sni_base, sni_pools);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	l = &cfg->listeners[0];
	assert_int_equal(l->pool, SIZE_MAX); /* no default: unmatched names are closed */
	assert_int_equal(l->nr_sni_routes, 2);
	assert_int_equal(l->sni_routes[0].nr_names, 2);
	assert_string_equal(l->sni_routes[0].names[1], "*.a.test");
	assert_int_equal(l->sni_routes[0].pool, 0);
	assert_int_equal(l->sni_routes[1].pool, 1);
	cfg_free(cfg);
}

static void test_err_sni_routes(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%s    sni_routes: []\n%s", sni_base, sni_pools);
	expect_error(text, "4:17", "sni_routes: empty list");
	snprintf(text, sizeof(text),
		 "%s    sni_routes:\n      - names: [a.test]\n        pool: nope\n%s", sni_base,
		 sni_pools);
	expect_error(text, "6:15", "sni_route 0: unknown pool 'nope'");
	snprintf(text, sizeof(text), "%s    sni_routes:\n      - pool: a\n%s", sni_base, sni_pools);
	expect_error(text, "5:9", "sni_route: missing required key 'names'");
	snprintf(text, sizeof(text),
		 "%s    sni_routes:\n      - names: [a..test]\n        pool: a\n%s", sni_base,
		 sni_pools);
	expect_error(text, "5:17", "domains: ");
	snprintf(text, sizeof(text),
		 "%s    mode: http\n    pool: a\n    sni_routes:\n      - names: [a.test]\n"
		 "        pool: a\n%s",
		 sni_base, sni_pools);
	expect_error(text, "6:5", "sni_routes: only for mode tcp");
}

static void test_tls_block(void **state)
{
	const struct cfg_tls *t;
	struct cfg *cfg;

	(void)state;
	cfg = parse_http(5,
			 "    pool: origins\n    tls:\n      certificates:\n"
			 "        - cert: /etc/x/a.pem\n          key: /etc/x/a.key\n"
			 "        - cert: /etc/x/b.pem\n          key: /etc/x/b.key\n"
			 "          ocsp: /etc/x/b.ocsp\n          default: true\n"
			 "      h2: false\n      ticket_rotation: 10m\n      session_cache: 0\n",
			 0);
	t = &cfg->listeners[0].tls;
	assert_int_equal(t->nr_certs, 2);
	assert_string_equal(t->certs[0].cert, "/etc/x/a.pem");
	assert_string_equal(t->certs[0].key, "/etc/x/a.key");
	assert_string_equal(t->certs[0].ocsp, "");
	assert_false(t->certs[0].is_default);
	assert_string_equal(t->certs[1].ocsp, "/etc/x/b.ocsp");
	assert_true(t->certs[1].is_default);
	assert_false(t->h2);
	assert_true(t->tickets);
	assert_int_equal(t->ticket_rotate_ms, 600000);
	assert_int_equal(t->session_cache, 0);
	cfg_free(cfg);
	cfg = parse_http(5,
			 "    pool: origins\n    tls:\n      certificates: [{cert: /a, key: /a}]\n"
			 "      h2: true\n",
			 0);
	assert_true(cfg->listeners[0].tls.h2);
	cfg_free(cfg);
	/* without a tls block: plain TCP */
	cfg = parse_http(0);
	assert_int_equal(cfg->listeners[0].tls.nr_certs, 0);
	assert_null(cfg->listeners[0].tls.certs);
	cfg_free(cfg);
}

static void test_err_tls(void **state)
{
	(void)state;
	expect_http_error("6:5", "unknown key 'tlss' in listener", 5,
			  "    pool: origins\n    tlss: {}\n", 0);
	expect_http_error("8:18", "cert: 'a.pem' must be an absolute path", 5,
			  "    pool: origins\n    tls:\n      certificates:\n"
			  "        - {cert: a.pem, key: /k}\n",
			  0);
	expect_http_error("8:11", "certificate: missing required key 'key'", 5,
			  "    pool: origins\n    tls:\n      certificates:\n"
			  "        - cert: /c\n",
			  0);
	expect_http_error("7:21", "certificates: at least one", 5,
			  "    pool: origins\n    tls:\n      certificates: []\n", 0);
	expect_http_error("7:7", "tls: missing required key 'certificates'", 5,
			  "    pool: origins\n    tls:\n      tickets: true\n", 0);
	expect_http_error("8:11", "h2: bad value 'yes please' (expected", 5,
			  "    pool: origins\n    tls:\n      certificates: [{cert: /a, key: /a}]\n"
			  "      h2: yes please\n",
			  0);
	expect_http_error("9:40", "default: certificate 0 is the default already", 5,
			  "    pool: origins\n    tls:\n      certificates:\n"
			  "        - {cert: /a, key: /a, default: true}\n"
			  "        - {cert: /b, key: /b, default: true}\n",
			  0);
	expect_http_error("8:24", "ticket_rotation", 5,
			  "    pool: origins\n    tls:\n      certificates: [{cert: /a, key: /a}]\n"
			  "      ticket_rotation: 2s\n",
			  0);
	expect_error("listeners:\n  - name: t\n    bind: 127.0.0.1:1\n    pool: p\n"
		     "    tls: {certificates: [{cert: /a, key: /a}]}\n"
		     "pools:\n  - name: p\n    backends:\n      - address: 10.0.0.2:80\n",
		     "5:5", "tls: only for mode http (this listener is mode tcp)");
}

static void test_fwd_transparent(void **state)
{
	const struct cfg_forward *f;
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(6, "      transparent: true\n", 0);
	f = &cfg->listeners[0].forward;
	assert_true(f->transparent);
	assert_int_equal(f->nr_http_ports, 0); /* the proxy's default: 80 */
	assert_string_equal(f->intercept_cgroup, "");
	cfg_free(cfg);
	cfg = parse_fwd(
	    6,
	    "      transparent: true\n      http_ports: [80, 8080]\n"
	    "      intercept_cgroup: /xdp/clients\n      intercept_ports: [80, 443, 8080]\n",
	    0);
	f = &cfg->listeners[0].forward;
	assert_int_equal(f->nr_http_ports, 2);
	assert_int_equal(f->http_ports[1], 8080);
	assert_string_equal(f->intercept_cgroup, "/xdp/clients");
	assert_int_equal(f->nr_intercept_ports, 3);
	assert_int_equal(f->intercept_ports[2], 8080);
	cfg_free(cfg);
}

static void test_err_fwd_transparent(void **state)
{
	(void)state;
	expect_fwd_error("6:20", "transparent: ", 6, "      transparent: maybe\n", 0);
	expect_fwd_error("6:19", "only with transparent: true", 6, "      http_ports: [80]\n", 0);
	expect_fwd_error("6:25", "only with transparent: true", 6, "      intercept_cgroup: /x\n",
			 0);
	expect_fwd_error("7:19", "http_ports: empty list", 6,
			 "      transparent: true\n      http_ports: []\n", 0);
	expect_fwd_error("7:24", "http_ports: 80 is listed twice", 6,
			 "      transparent: true\n      http_ports: [80, 80]\n", 0);
	expect_fwd_error("7:25", "intercept_cgroup: '../x' must be a cgroup path", 6,
			 "      transparent: true\n      intercept_cgroup: ../x\n", 0);
	expect_fwd_error("7:24", "intercept_ports: only with intercept_cgroup", 6,
			 "      transparent: true\n      intercept_ports: [80]\n", 0);
	expect_fwd_error("8:25", "intercept_ports: 0 out of range", 6,
			 "      transparent: true\n      intercept_cgroup: /x\n"
			 "      intercept_ports: [0]\n",
			 0);
}

static void test_fwd_parent(void **state)
{
	const struct sockaddr_in *sin;
	const struct cfg_forward *f;
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(6, "      parent: 10.0.0.1:3128\n", 0);
	f = &cfg->listeners[0].forward;
	assert_true(f->has_parent);
	assert_string_equal(f->parent_str, "10.0.0.1:3128");
	assert_int_equal(f->parent_len, sizeof(struct sockaddr_in));
	sin = (const struct sockaddr_in *)&f->parent;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(sin->sin_addr.s_addr, htonl(0x0a000001));
	assert_int_equal(ntohs(sin->sin_port), 3128);
	cfg_free(cfg);
}

static void test_fwd_dns(void **state)
{
	static const char *const ok[] = {
	    "127.0.0.1",
	    "127.0.0.1:5353",
	    "::1",
	    "[::1]:53",
	    "2001:db8::53,192.0.2.1,[2001:db8::54]:5300",
	    /* The same address on two ports is two servers. */
	    "192.0.2.1,192.0.2.1:5353",
	};
	char line[512];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(line, sizeof(line), "      dns_servers: \"%s\"\n", ok[i]);
		cfg = parse_fwd(6, line, 0);
		assert_string_equal(cfg->listeners[0].forward.dns_servers, ok[i]);
		cfg_free(cfg);
	}
	cfg = parse_fwd(6, "      dns_timeout: 100ms\n", 0);
	assert_int_equal(cfg->listeners[0].forward.dns_timeout_ms, 100);
	cfg_free(cfg);
	cfg = parse_fwd(6, "      dns_timeout: 60\n", 0);
	assert_int_equal(cfg->listeners[0].forward.dns_timeout_ms, 60000);
	cfg_free(cfg);
	cfg = parse_fwd(6, "      dns_timeout: 1m\n", 0);
	assert_int_equal(cfg->listeners[0].forward.dns_timeout_ms, 60000);
	cfg_free(cfg);
}

static void test_fwd_rule_defaults(void **state)
{
	const struct cfg_fwd_rule *r;
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(8, "        - action: allow\n", 9, "", 10, "", 0);
	assert_int_equal(cfg->listeners[0].forward.nr_rules, 1);
	r = &cfg->listeners[0].forward.rules[0];
	assert_string_equal(r->name, "rule0");
	assert_false(r->deny);
	assert_null(r->domains);
	assert_int_equal(r->nr_domains, 0);
	assert_string_equal(r->domain_file, "");
	assert_string_equal(r->ports, "");
	assert_int_equal(r->methods, CFG_FWDM_ANY);
	assert_null(r->clients);
	assert_int_equal(r->nr_clients, 0);
	assert_false(r->has_schedule);
	assert_null(r->sched_times);
	cfg_free(cfg);
}

static void test_fwd_rule_names(void **state)
{
	const struct cfg_forward *f;
	struct cfg *cfg;

	(void)state;
	/* Defaults count the index in rules, named rules included. */
	cfg = parse_fwd(10,
			"          domains: [example.com]\n"
			"        - action: allow\n        - name: rule9\n          action: deny\n"
			"        - action: allow\n          methods: http\n"
			"        - {action: deny, name: last}\n",
			0);
	f = &cfg->listeners[0].forward;
	assert_int_equal(f->nr_rules, 5);
	assert_string_equal(f->rules[0].name, "r");
	assert_string_equal(f->rules[1].name, "rule1");
	assert_string_equal(f->rules[2].name, "rule9");
	assert_string_equal(f->rules[3].name, "rule3");
	assert_int_equal(f->rules[3].methods, CFG_FWDM_HTTP);
	assert_string_equal(f->rules[4].name, "last");
	cfg_free(cfg);
}

static void test_fwd_rule_methods_and_ports(void **state)
{
	static const struct {
		const char *yaml;
		enum cfg_fwd_methods meth;
		const char *ports;
	} cases[] = {
	    {"          methods: any\n", CFG_FWDM_ANY, ""},
	    {"          methods: connect\n          ports: 443\n", CFG_FWDM_CONNECT, "443"},
	    {"          methods: http\n          ports: \"80,8080\"\n", CFG_FWDM_HTTP, "80,8080"},
	    {"          ports: \"*\"\n", CFG_FWDM_ANY, "*"},
	    {"          ports: 80,443,8000-8999\n", CFG_FWDM_ANY, "80,443,8000-8999"},
	    {"          ports: \"1-65535\"\n", CFG_FWDM_ANY, "1-65535"},
	    {"          ports: \"443, 8443\"\n", CFG_FWDM_ANY, "443, 8443"},
	};
	char line[256];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "          domains: [example.com]\n%s", cases[i].yaml);
		cfg = parse_fwd(10, line, 0);
		assert_int_equal(cfg->listeners[0].forward.rules[0].methods, cases[i].meth);
		assert_string_equal(cfg->listeners[0].forward.rules[0].ports, cases[i].ports);
		cfg_free(cfg);
	}
}

static void test_fwd_rule_domains(void **state)
{
	const struct cfg_fwd_rule *r;
	struct cfg *cfg;

	(void)state;
	/* Stored as written: the proxy builds its set from them (domset.h). */
	cfg = parse_fwd(
	    10,
	    "          domains:\n            - EXAMPLE.com.\n            - \"*.ads.example\"\n"
	    "            - .example.net\n            - bücher.example\n"
	    "            - 192.0.2.1\n            - \"[2001:db8::1]\"\n",
	    0);
	r = &cfg->listeners[0].forward.rules[0];
	ASSERT_STRINGS(r->domains, r->nr_domains, "EXAMPLE.com.", "*.ads.example", ".example.net",
		       "bücher.example", "192.0.2.1", "[2001:db8::1]");
	cfg_free(cfg);
	/* One name as an exact, a "." and a "*." entry: three entries. */
	cfg = parse_fwd(10, "          domains: [a.example, .a.example, \"*.a.example\"]\n", 0);
	assert_int_equal(cfg->listeners[0].forward.rules[0].nr_domains, 3);
	cfg_free(cfg);
	/* A domain file alone is a host condition too. */
	cfg = parse_fwd(10, "          domain_file: /etc/xdproxy/ads.txt\n", 0);
	r = &cfg->listeners[0].forward.rules[0];
	assert_null(r->domains);
	assert_string_equal(r->domain_file, "/etc/xdproxy/ads.txt");
	cfg_free(cfg);
}

static void test_fwd_rule_clients(void **state)
{
	const struct cfg_fwd_rule *r;
	struct cfg *cfg;

	(void)state;
	cfg = parse_fwd(10, "          clients: [10.1.0.0/16, \"2001:db8:1::/48\"]\n", 0);
	r = &cfg->listeners[0].forward.rules[0];
	ASSERT_STRINGS(r->clients, r->nr_clients, "10.1.0.0/16", "2001:db8:1::/48");
	assert_null(r->domains);
	cfg_free(cfg);
}

static void test_fwd_schedule_defaults(void **state)
{
	const struct cfg_fwd_rule *r;
	struct cfg *cfg;

	(void)state;
	/* Days only: whole days, in UTC. */
	cfg = parse_fwd(10, "          schedule:\n            days: sat,sun\n", 0);
	r = &cfg->listeners[0].forward.rules[0];
	assert_true(r->has_schedule);
	assert_string_equal(r->sched_days, "sat,sun");
	ASSERT_STRINGS(r->sched_times, r->nr_sched_times, "00:00-24:00");
	assert_string_equal(r->sched_tz, "UTC");
	cfg_free(cfg);
	/* Times only: every day. */
	cfg = parse_fwd(10, "          schedule: {times: [\"22:00-06:00\", \"12:00-13:00\"]}\n", 0);
	r = &cfg->listeners[0].forward.rules[0];
	assert_string_equal(r->sched_days, "*");
	ASSERT_STRINGS(r->sched_times, r->nr_sched_times, "22:00-06:00", "12:00-13:00");
	assert_string_equal(r->sched_tz, "UTC");
	cfg_free(cfg);
	/* tz only: every day, whole days. */
	cfg = parse_fwd(10, "          schedule: {tz: UTC}\n", 0);
	r = &cfg->listeners[0].forward.rules[0];
	assert_string_equal(r->sched_days, "*");
	ASSERT_STRINGS(r->sched_times, r->nr_sched_times, "00:00-24:00");
	cfg_free(cfg);
}

static void test_fwd_schedule_zone(void **state)
{
	const struct cfg_fwd_rule *r;
	struct cfg *cfg;

	(void)state;
	if (!have_zone("America/New_York"))
		skip();
	cfg = parse_fwd(10,
			"          schedule:\n            tz: America/New_York\n"
			"            days: Mon-Wed,fri\n            times: [\"9:00-12:00\"]\n",
			0);
	r = &cfg->listeners[0].forward.rules[0];
	assert_string_equal(r->sched_tz, "America/New_York");
	assert_string_equal(r->sched_days, "Mon-Wed,fri");
	ASSERT_STRINGS(r->sched_times, r->nr_sched_times, "9:00-12:00");
	cfg_free(cfg);
}

static void test_fwd_schedule_max_windows(void **state)
{
	char text[8192], err[CFG_ERR_MAX];
	struct cfg *cfg;

	(void)state;
	strcpy(text, "");
	for (size_t i = 0; i < 9; i++)
		strcat(text, fwd_lines[i]);
	strcat(text, "          schedule:\n            times:\n");
	for (int i = 0; i < 32; i++)
		sprintf(text + strlen(text), "              - \"%02d:%02d-%02d:%02d\"\n", i / 2,
			(i % 2) * 30, i / 2, (i % 2) * 30 + 10);
	cfg = parse(text, err);
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->listeners[0].forward.rules[0].nr_sched_times, 32);
	assert_string_equal(cfg->listeners[0].forward.rules[0].sched_times[31], "15:30-15:40");
	cfg_free(cfg);
	/* Line 12 is times' first item; the 33rd is on line 44. */
	strcat(text, "              - \"23:00-23:30\"\n");
	expect_error(text, "44:17", "times: more than 32 items");
}

static void test_fwd_beside_other_modes(void **state)
{
	struct cfg *cfg;

	(void)state;
	/* Rule names are per listener; a second forward listener has its own. */
	cfg = parse_fwd(10,
			"          domains: [example.com]\n"
			"  - name: fwd2\n    bind: \"[::1]:3128\"\n    mode: forward\n"
			"    forward:\n      rules:\n        - {name: r, action: allow}\n"
			"  - name: tcp\n    bind: 127.0.0.1:9000\n    pool: p\n"
			"pools:\n  - name: p\n    backends:\n      - address: 10.0.0.9:80\n",
			0);
	assert_int_equal(cfg->nr_listeners, 3);
	assert_string_equal(cfg->listeners[1].forward.rules[0].name, "r");
	assert_int_equal(cfg->listeners[1].forward.nr_clients, 2);
	assert_int_equal(cfg->listeners[2].mode, CFG_MODE_TCP);
	assert_int_equal(cfg->listeners[2].pool, 0);
	assert_null(cfg->listeners[2].forward.clients);
	cfg_free(cfg);
	/* A file with only a forward listener needs no pools. */
	cfg = parse_fwd(0);
	assert_int_equal(cfg->nr_pools, 0);
	cfg_free(cfg);
}

/* ------------------------------------------------------------ forward errors */

static void test_err_fwd_block_in_other_modes(void **state)
{
	(void)state;
	expect_base_error(4, "    pool: origins\n    forward: {}\n", "5:5",
			  "forward: only for mode forward (this listener is mode tcp)");
	expect_http_error("6:5", "forward: only for mode forward (this listener is mode http)", 5,
			  "    pool: origins\n    forward:\n      anonymous: true\n", 0);
	/* The mode decides, wherever it is written. */
	expect_fwd_error("4:5", "forward: only for mode forward (this listener is mode http)", 4,
			 "", 10, "          domains: [example.com]\n    mode: http\n", 0);
}

static void test_err_fwd_pool_and_routes(void **state)
{
	(void)state;
	expect_fwd_error("5:5",
			 "pool: not for mode forward (a forward proxy connects where each "
			 "request says)",
			 4, "    mode: forward\n    pool: p\n", 0);
	expect_fwd_error("5:5", "routes: only for mode http (this listener is mode forward)", 4,
			 "    mode: forward\n    routes: []\n", 0);
	/* Even a valid-looking route is refused at the key. */
	expect_fwd_error("11:5", "routes: only for mode http (this listener is mode forward)", 10,
			 "          domains: [example.com]\n    routes:\n      - path: /\n"
			 "        pool: p\n",
			 0);
}

static void test_err_fwd_block_shape(void **state)
{
	(void)state;
	expect_fwd_error("5:14", "forward: expected a mapping, got a list", 5, "    forward: []\n",
			 6, "", 7, "", 8, "", 9, "", 10, "", 0);
	expect_fwd_error("5:14", "forward: expected a mapping, got a scalar", 5,
			 "    forward: yes\n", 6, "", 7, "", 8, "", 9, "", 10, "", 0);
	expect_fwd_error("6:7", "unknown key 'client' in forward (expected one of: clients,", 6,
			 "      client: [10.0.0.0/8]\n", 0);
	expect_fwd_error("7:7", "duplicate key 'clients' in forward", 6,
			 "      clients: [10.0.0.0/8]\n      clients: [10.0.0.0/8]\n", 0);
	expect_fwd_error("6:7", "unknown key 'pool' in forward", 6, "      pool: p\n", 0);
}

static void test_err_fwd_clients(void **state)
{
	(void)state;
	expect_fwd_error(
	    "6:17", "clients: bad prefix: \"10.0.0.1/8\": host bits set; the network is 10.0.0.0/8",
	    6, "      clients: [10.0.0.1/8]\n", 0);
	expect_fwd_error("6:29",
			 "clients: bad prefix: \"10.0.0.0/33\": prefix length 33 is over 32", 6,
			 "      clients: [10.0.0.0/8, 10.0.0.0/33]\n", 0);
	expect_fwd_error(
	    "6:17",
	    "clients: bad prefix: \"10/8\": \"10\" is not an IPv4 address (four decimal parts)", 6,
	    "      clients: [10/8]\n", 0);
	expect_fwd_error("6:17",
			 "clients: bad prefix: \"example.com\": \"example.com\" is not an IPv4 "
			 "address (four decimal parts)",
			 6, "      clients: [example.com]\n", 0);
	expect_fwd_error("6:17", "clients: bad prefix: \"[::1]\": \"[::1]\" is not an IPv6 address",
			 6, "      clients: [\"[::1]\"]\n", 0);
	expect_fwd_error("6:17", "clients: bad prefix: \"fe80::1%eth0\": zone ids are not allowed",
			 6, "      clients: [\"fe80::1%eth0\"]\n", 0);
	expect_fwd_error("6:16",
			 "clients: empty list (nobody could use the proxy; leave 'clients' out "
			 "for loopback only)",
			 6, "      clients: []\n", 0);
	expect_fwd_error("6:15", "clients: empty list", 6, "      clients:\n", 0);
	expect_fwd_error("6:16", "clients: expected a list, got a scalar", 6,
			 "      clients: 10.0.0.0/8\n", 0);
	expect_fwd_error("6:17", "clients: expected a scalar value, got a list", 6,
			 "      clients: [[10.0.0.0/8]]\n", 0);
	/* The same prefix, however written. */
	expect_fwd_error("6:24", "clients: '::1/128' is the same prefix as item 0", 6,
			 "      clients: [\"::1\", \"::1/128\"]\n", 0);
	expect_fwd_error("6:29", "clients: '10.0.0.0/8' is the same prefix as item 0", 6,
			 "      clients: [10.0.0.0/8, 10.0.0.0/8]\n", 0);
	expect_fwd_error("6:29", "clients: '::ffff:10.0.0.0/104' is the same prefix as item 0", 6,
			 "      clients: [10.0.0.0/8, \"::ffff:10.0.0.0/104\"]\n", 0);
}

static void test_err_fwd_auth_file(void **state)
{
	char line[512];

	(void)state;
	expect_fwd_error("6:18",
			 "auth_file: 'passwd' must be an absolute path shorter than 256 bytes", 6,
			 "      auth_file: passwd\n", 0);
	snprintf(line, sizeof(line), "      auth_file: /%0255d\n", 0);
	expect_fwd_error("6:18",
			 "auth_file: '/000000000000000000000000000000000000000...' must be an "
			 "absolute path shorter than 256 bytes",
			 6, line, 0);
	expect_fwd_error("6:17", "auth_file: missing value", 6, "      auth_file:\n", 0);
	expect_fwd_error("6:18", "auth_file: expected a scalar value, got a list", 6,
			 "      auth_file: [/a]\n", 0);
}

static void test_err_fwd_auth_realm(void **state)
{
	static const struct {
		const char *in, *shown;
	} bad[] = {
	    {"\"say \\\"hi\\\"\"", "say \"hi\""},
	    {"\"back\\\\slash\"", "back\\slash"},
	    {"\"tab\\there\"", "tab?here"},
	    {"\"\"", ""},
	    {"\"caf\\u00e9\"", "caf\xc3\xa9"},
	    {"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR", /* 64 */
	     "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR..."},
	};
	char line[256], what[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(line, sizeof(line), "      auth_file: /etc/p\n      auth_realm: %s\n",
			 bad[i].in);
		snprintf(what, sizeof(what),
			 "auth_realm: bad value '%s': use 1 to 63 printable ASCII characters but "
			 "'\"' and '\\'",
			 bad[i].shown);
		expect_fwd_error("7:19", what, 6, line, 0);
	}
	/* A realm without authentication names nothing. */
	expect_fwd_error("6:19",
			 "auth_realm: only with an auth_file (there is no authentication to "
			 "name)",
			 6, "      auth_realm: corp\n", 0);
	expect_fwd_error("7:19", "auth_realm: only with an auth_file", 6,
			 "      auth_file: \"\"\n      auth_realm: corp\n", 0);
}

static void test_err_fwd_user_agent(void **state)
{
	char line[512];

	(void)state;
	expect_fwd_error("6:19",
			 "user_agent: only with anonymous: true (it replaces the client's "
			 "User-Agent to hide it)",
			 6, "      user_agent: x/1\n", 0);
	expect_fwd_error("6:19", "user_agent: only with anonymous: true", 6,
			 "      user_agent: x/1\n      anonymous: false\n", 0);
	expect_fwd_error("7:19", "user_agent: empty (leave it out to keep the client's)", 6,
			 "      anonymous: true\n      user_agent: \"\"\n", 0);
	expect_fwd_error("7:19",
			 "user_agent: field-value characters only, no surrounding whitespace", 6,
			 "      anonymous: true\n      user_agent: \" padded\"\n", 0);
	expect_fwd_error("7:19",
			 "user_agent: field-value characters only, no surrounding whitespace", 6,
			 "      anonymous: true\n      user_agent: \"a\\x01b\"\n", 0);
	snprintf(line, sizeof(line), "      anonymous: true\n      user_agent: %0256d\n", 0);
	expect_fwd_error("7:19", "user_agent: longer than 255 bytes", 6, line, 0);
}

static void test_err_fwd_anonymous(void **state)
{
	(void)state;
	expect_fwd_error("6:18", "anonymous: bad value 'yes' (expected false|true)", 6,
			 "      anonymous: yes\n", 0);
	/* http asks for what anonymous forbids: the http value is pointed at. */
	expect_fwd_error("6:18",
			 "forwarded: xff would tell the origin about the client, but "
			 "forward.anonymous is true (use hide, or leave it out)",
			 4, "    mode: forward\n    http:\n      forwarded: xff\n", 6,
			 "      anonymous: true\n", 0);
	expect_fwd_error("6:18",
			 "forwarded: none would tell the origin about the client, but "
			 "forward.anonymous is true (use hide, or leave it out)",
			 4, "    mode: forward\n    http:\n      forwarded: none\n", 6,
			 "      anonymous: true\n", 0);
	expect_fwd_error("6:12", "via: true would name this proxy, but forward.anonymous is true",
			 4, "    mode: forward\n    http:\n      via: true\n", 6,
			 "      anonymous: true\n", 0);
	/* The same with http after forward. */
	expect_fwd_error("12:12", "via: true would name this proxy, but forward.anonymous is true",
			 6, "      anonymous: true\n", 10,
			 "          domains: [example.com]\n    http:\n      via: true\n", 0);
}

static void test_err_fwd_connect_ports(void **state)
{
	(void)state;
	expect_fwd_error("6:23", "connect_ports: 0 out of range 1..65535", 6,
			 "      connect_ports: [0]\n", 0);
	expect_fwd_error("6:28", "connect_ports: 65536 out of range 1..65535", 6,
			 "      connect_ports: [443, 65536]\n", 0);
	expect_fwd_error("6:28", "connect_ports: 443 is listed twice", 6,
			 "      connect_ports: [443, 443]\n", 0);
	expect_fwd_error("6:23", "connect_ports: '*' is not a whole number", 6,
			 "      connect_ports: [\"*\"]\n", 0);
	expect_fwd_error("6:22",
			 "connect_ports: empty list (to refuse every CONNECT, add a rule with "
			 "action: deny and methods: connect)",
			 6, "      connect_ports: []\n", 0);
	expect_fwd_error("6:21", "connect_ports: empty list", 6, "      connect_ports:\n", 0);
	expect_fwd_error("6:22", "connect_ports: expected a list, got a scalar", 6,
			 "      connect_ports: 443\n", 0);
}

static void test_err_fwd_allow_private(void **state)
{
	(void)state;
	expect_fwd_error("6:22", "allow_private: bad value 'on' (expected false|true)", 6,
			 "      allow_private: on\n", 0);
	expect_fwd_error("6:22", "allow_private: expected a scalar value, got a mapping", 6,
			 "      allow_private: {}\n", 0);
}

static void test_err_fwd_parent(void **state)
{
	(void)state;
	expect_fwd_error("6:15",
			 "parent: bad address 'proxy.example:3128': not an IPv4 address "
			 "(expected a.b.c.d:port or [addr]:port)",
			 6, "      parent: proxy.example:3128\n", 0);
	expect_fwd_error("6:15", "parent: bad address '10.0.0.1': missing ':port'", 6,
			 "      parent: 10.0.0.1\n", 0);
	expect_fwd_error("6:15", "parent: bad address '10.0.0.1:0': port out of range 1..65535", 6,
			 "      parent: 10.0.0.1:0\n", 0);
	expect_fwd_error("6:15",
			 "parent: bad address '2001:db8::1:3128': an IPv6 address must be written "
			 "as [addr]:port (expected a.b.c.d:port or [addr]:port)",
			 6, "      parent: \"2001:db8::1:3128\"\n", 0);
	expect_fwd_error("6:15",
			 "parent: 0.0.0.0:3128: the unspecified address is not a proxy to "
			 "connect to",
			 6, "      parent: 0.0.0.0:3128\n", 0);
	expect_fwd_error("6:15",
			 "parent: [::]:3128: the unspecified address is not a proxy to connect to",
			 6, "      parent: \"[::]:3128\"\n", 0);
}

static void test_err_fwd_dns_servers(void **state)
{
	static const struct {
		const char *in, *what;
	} cases[] = {
	    {"\"\"", "dns_servers: empty (leave it out to use the system's resolvers)"},
	    {"\"1.1.1.1,\"", "dns_servers: bad server '': empty item"},
	    {"\",1.1.1.1\"", "dns_servers: bad server '': empty item"},
	    {"\"1.1.1.1,,8.8.8.8\"", "dns_servers: bad server '': empty item"},
	    {"1.1.1.256", "dns_servers: bad server '1.1.1.256': not an IPv4 address"},
	    {"\"1.1.1.1:053000\"", "bad server '1.1.1.1:053000': the port is not a decimal number"},
	    {"dns.example", "dns_servers: bad server 'dns.example': not an IPv4 address"},
	    {"\"1.1.1.1:0\"", "bad server '1.1.1.1:0': port out of range 1..65535"},
	    {"\"1.1.1.1:x\"", "bad server '1.1.1.1:x': the port is not a decimal number"},
	    {"\"[::1]\"",
	     "bad server '[::1]': write [addr]:port, or the IPv6 address without brackets"},
	    {"\"[::1]:\"", "bad server '[::1]:': the port is not a decimal number"},
	    {"\"[1.2.3.4]:53\"", "bad server '[1.2.3.4]:53': not an IPv6 address"},
	    {"\"::g\"", "bad server '::g': not an IPv6 address"},
	    {"\"fe80::1%eth0\"", "bad server 'fe80::1%eth0': not an IPv6 address"},
	    {"\"1.1.1.1, 8.8.8.8\"", "bad server ' 8.8.8.8': spaces are not allowed"},
	    {"\"1.1.1.1,8.8.8.8,1.1.1.1:53\"", "dns_servers: server '1.1.1.1:53' is listed twice"},
	    {"\"::1,[::1]:53\"", "dns_servers: server '[::1]:53' is listed twice"},
	    {"[1.1.1.1]", "dns_servers: expected a scalar value, got a list"},
	    /* The message stays on one line whatever the item holds. */
	    {"\"1.1.1.1,8.8.8.8\\n\"", "dns_servers: bad server '8.8.8.8?': not an IPv4 address"},
	};
	char line[512];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "      dns_servers: %s\n", cases[i].in);
		expect_fwd_error("6:20", cases[i].what, 6, line, 0);
	}
	/* 255 bytes fit the field; 256 do not. */
	strcpy(line, "      dns_servers: \"10.0.0.1:5353");
	for (int i = 2; i <= 26; i++)
		sprintf(line + strlen(line), ",10.0.0.%d", i);
	assert_int_equal(strlen(line) - strlen("      dns_servers: \""), 255);
	cfg = parse_fwd(6, strcat(line, "\"\n"), 0);
	assert_int_equal(strlen(cfg->listeners[0].forward.dns_servers), 255);
	cfg_free(cfg);
	strcpy(line, "      dns_servers: \"10.0.0.1:53,10.0.0.2:53");
	for (int i = 3; i <= 26; i++)
		sprintf(line + strlen(line), ",10.0.0.%d", i);
	assert_int_equal(strlen(line) - strlen("      dns_servers: \""), 256);
	expect_fwd_error("6:20", "dns_servers: longer than 255 bytes", 6, strcat(line, "\"\n"), 0);
}

static void test_err_fwd_dns_timeout(void **state)
{
	(void)state;
	expect_fwd_error("6:20", "dns_timeout: duration '99ms' out of range 100ms..1m", 6,
			 "      dns_timeout: 99ms\n", 0);
	expect_fwd_error("6:20", "dns_timeout: duration '61s' out of range 100ms..1m", 6,
			 "      dns_timeout: 61s\n", 0);
	expect_fwd_error("6:20", "dns_timeout: duration '0' out of range 100ms..1m", 6,
			 "      dns_timeout: 0\n", 0);
	expect_fwd_error(
	    "6:20",
	    "dns_timeout: bad duration '2h': expected a number with ms, s or m (bare = seconds)", 6,
	    "      dns_timeout: 2h\n", 0);
}

static void test_err_fwd_rules_shape(void **state)
{
	(void)state;
	expect_fwd_error("7:14", "rules: expected a list, got a mapping", 7,
			 "      rules: {a: 1}\n", 8, "", 9, "", 10, "", 0);
	expect_fwd_error("8:11", "rule: expected a mapping, got a scalar", 8, "        - deny\n", 9,
			 "", 10, "", 0);
	expect_fwd_error("11:11",
			 "unknown key 'host' in rule (expected one of: name, action, domains, "
			 "domain_file, ports, methods, clients, schedule)",
			 10, "          domains: [example.com]\n          host: example.com\n", 0);
	expect_fwd_error("8:11", "rule: missing required key 'action'", 9, "", 0);
	expect_fwd_error("11:11", "duplicate key 'action' in rule", 10,
			 "          domains: [example.com]\n          action: allow\n", 0);
}

static void test_err_fwd_rule_action(void **state)
{
	(void)state;
	expect_fwd_error("9:19", "action: bad value 'block' (expected allow|deny)", 9,
			 "          action: block\n", 0);
	expect_fwd_error("9:19", "action: bad value 'Deny' (expected allow|deny)", 9,
			 "          action: Deny\n", 0);
	expect_fwd_error("9:18", "action: missing value", 9, "          action:\n", 0);
}

static void test_err_fwd_rule_names(void **state)
{
	(void)state;
	expect_fwd_error("12:17", "duplicate rule name 'r'", 10,
			 "          domains: [example.com]\n        - action: allow\n"
			 "          name: r\n",
			 0);
	expect_fwd_error("11:11",
			 "rule name 'rule1' (the default for this rule) is already used: give "
			 "it a name",
			 8, "        - name: rule1\n", 10,
			 "          domains: [example.com]\n        - action: allow\n", 0);
	expect_fwd_error("8:17", "name: bad name 'a b': use 1 to 31 of [A-Za-z0-9_.-]", 8,
			 "        - name: a b\n", 0);
	/* Messages about a rule name it, even when the name is written later. */
	expect_fwd_error("8:18",
			 "rule 'late': ports 'x': bad port at 'x' (want 1..65535 or a range a-b)",
			 8, "        - ports: x\n          name: late\n", 0);
}

static void test_err_fwd_rule_domains(void **state)
{
	(void)state;
	expect_fwd_error("10:34", "domains: \"a..b\": empty label", 10,
			 "          domains: [example.com, a..b]\n", 0);
	expect_fwd_error("10:21", "domains: \"*\": '*' is only allowed as a leading \"*.\"", 10,
			 "          domains: [\"*\"]\n", 0);
	expect_fwd_error("10:21",
			 "domains: \"*.10.0.0.1\": a suffix entry needs a domain name, not an IP "
			 "address",
			 10, "          domains: [\"*.10.0.0.1\"]\n", 0);
	expect_fwd_error("10:21",
			 "domains: \"exa mple.com\": character ' ' not allowed in a host name", 10,
			 "          domains: [exa mple.com]\n", 0);
	expect_fwd_error("10:21",
			 "domains: \"256.1.1.1\": ends in a number but is not an IPv4 address", 10,
			 "          domains: [256.1.1.1]\n", 0);
	expect_fwd_error("10:34",
			 "domains: 'EXAMPLE.COM.' is already in the list (as written or once "
			 "normalized)",
			 10, "          domains: [example.com, EXAMPLE.COM.]\n", 0);
	expect_fwd_error("10:20",
			 "domains: empty list (leave 'domains' out to match any destination)", 10,
			 "          domains: []\n", 0);
	expect_fwd_error("10:20", "domains: expected a list, got a scalar", 10,
			 "          domains: example.com\n", 0);
	expect_fwd_error("10:21", "domains: expected a scalar value, got a mapping", 10,
			 "          domains: [{a: b}]\n", 0);
	expect_fwd_error("10:24",
			 "domain_file: 'social.txt' must be an absolute path shorter than 256 "
			 "bytes",
			 10, "          domain_file: social.txt\n", 0);
	expect_fwd_error("10:24", "domain_file: '' must be an absolute path shorter than 256 bytes",
			 10, "          domain_file: \"\"\n", 0);
}

static void test_err_fwd_rule_ports(void **state)
{
	static const struct {
		const char *in, *what;
	} cases[] = {
	    {"0", "rule 'r': ports '0': bad port at '0' (want 1..65535 or a range a-b)"},
	    {"\"70000\"",
	     "rule 'r': ports '70000': bad port at '70000' (want 1..65535 or a range a-b)"},
	    {"\"443-80\"", "rule 'r': ports '443-80': range 443-80 is reversed"},
	    {"\"*,80\"", "rule 'r': ports '*,80': '*' must stand alone"},
	    {"\"80,,443\"", "rule 'r': ports '80,,443': empty item"},
	    {"\"\"", "rule 'r': ports '': empty item"},
	    {"http", "rule 'r': ports 'http': bad port at 'http' (want 1..65535 or a range a-b)"},
	    {"\"80;443\"", "rule 'r': ports '80;443': unexpected ';' (want ',' or '-')"},
	    {"[80, 443]", "ports: expected a scalar value, got a list"},
	};
	char line[256];
	struct cfg *cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "          ports: %s\n", cases[i].in);
		expect_fwd_error("10:18", cases[i].what, 10, line, 0);
	}
	/* 127 bytes fit the field; 128 do not. */
	strcpy(line, "          ports: \"1-10000");
	for (int i = 1; i < 21; i++)
		sprintf(line + strlen(line), ",%d", 10000 + i);
	assert_int_equal(strlen(line) - strlen("          ports: \""), 127);
	cfg = parse_fwd(10, strcat(line, "\"\n"), 0);
	assert_int_equal(strlen(cfg->listeners[0].forward.rules[0].ports), 127);
	cfg_free(cfg);
	strcpy(line, "          ports: \"1-100000");
	for (int i = 1; i < 21; i++)
		sprintf(line + strlen(line), ",%d", 10000 + i);
	expect_fwd_error("10:18", "ports: longer than 127 bytes", 10, strcat(line, "\"\n"), 0);
}

static void test_err_fwd_rule_methods(void **state)
{
	(void)state;
	expect_fwd_error("10:20", "methods: bad value 'CONNECT' (expected any|connect|http)", 10,
			 "          methods: CONNECT\n", 0);
	expect_fwd_error("10:20", "methods: bad value 'https' (expected any|connect|http)", 10,
			 "          methods: https\n", 0);
	/* Not the route's list of methods. */
	expect_fwd_error("10:20", "methods: expected a scalar value, got a list", 10,
			 "          methods: [GET]\n", 0);
}

static void test_err_fwd_rule_clients(void **state)
{
	(void)state;
	expect_fwd_error("10:20", "clients: empty list (leave 'clients' out to match any client)",
			 10, "          clients: []\n", 0);
	expect_fwd_error(
	    "10:33",
	    "clients: bad prefix: \"10.1.1.1/16\": host bits set; the network is 10.1.0.0/16", 10,
	    "          clients: [10.0.0.0/8, 10.1.1.1/16]\n", 0);
	expect_fwd_error("10:33", "clients: '10.0.0.0/8' is the same prefix as item 0", 10,
			 "          clients: [10.0.0.0/8, 10.0.0.0/8]\n", 0);
}

static void test_err_fwd_schedule(void **state)
{
	(void)state;
	expect_fwd_error("10:21", "schedule: expected a mapping, got a scalar", 10,
			 "          schedule: always\n", 0);
	expect_fwd_error("10:21", "schedule: needs days, times, or both", 10,
			 "          schedule: {}\n", 0);
	expect_fwd_error("12:13",
			 "unknown key 'day' in schedule (expected one of: days, times, tz)", 10,
			 "          schedule:\n            days: mon\n            day: tue\n", 0);
	expect_fwd_error("11:19",
			 "rule 'r': schedule: days 'mon,tuz': unknown day 'tuz' (want mon..sun)",
			 10, "          schedule:\n            days: mon,tuz\n", 0);
	expect_fwd_error(
	    "11:19",
	    "rule 'r': schedule: days: empty (leave the days out for every day, or write '*')", 10,
	    "          schedule:\n            days: \"\"\n", 0);
	expect_fwd_error(
	    "11:36",
	    "rule 'r': schedule: window 2 '25:00-26:00': want HH:MM-HH:MM, hours 00..23 (24:00 "
	    "only as an end), minutes 00..59",
	    10, "          schedule:\n            times: [\"09:00-10:00\", \"25:00-26:00\"]\n", 0);
	expect_fwd_error("11:21",
			 "rule 'r': schedule: window 1 '09:00-09:00': start equals end (write "
			 "00:00-24:00 for a whole day)",
			 10, "          schedule:\n            times: [\"09:00-09:00\"]\n", 0);
	expect_fwd_error("11:21",
			 "rule 'r': schedule: window 1 '9-17': want HH:MM-HH:MM, hours 00..23 "
			 "(24:00 only as an end), minutes 00..59",
			 10, "          schedule:\n            times: [9-17]\n", 0);
	expect_fwd_error("11:20", "times: empty list (leave 'times' out for whole days)", 10,
			 "          schedule:\n            times: []\n", 0);
	expect_fwd_error("11:20", "times: expected a list, got a scalar", 10,
			 "          schedule:\n            times: 09:00-17:00\n", 0);
	expect_fwd_error("11:17",
			 "rule 'r': schedule: tz 'Mars/Olympus_Mons': unknown zone (no "
			 "/usr/share/zoneinfo/Mars/Olympus_Mons)",
			 10, "          schedule:\n            tz: Mars/Olympus_Mons\n", 0);
	expect_fwd_error(
	    "11:17",
	    "rule 'r': schedule: tz '../../etc/passwd': must be a name below the zone directory",
	    10, "          schedule:\n            tz: ../../etc/passwd\n", 0);
	expect_fwd_error(
	    "11:17",
	    "rule 'r': schedule: tz '/etc/localtime': must be a name below the zone directory", 10,
	    "          schedule:\n            tz: /etc/localtime\n", 0);
	expect_fwd_error("11:17", "tz: longer than 63 bytes", 10,
			 "          schedule:\n            tz: "
			 "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
			 0);
	expect_fwd_error("12:13", "duplicate key 'tz' in schedule", 10,
			 "          schedule:\n            tz: UTC\n            tz: UTC\n", 0);
}

static void test_err_fwd_first_error_wins(void **state)
{
	(void)state;
	/* Two bad values: the one written first is reported. */
	expect_fwd_error("6:17", "clients: bad prefix", 6,
			 "      clients: [bad]\n      dns_timeout: 0\n", 0);
	expect_fwd_error("9:19", "action: bad value 'x'", 9,
			 "          action: x\n          ports: \"0\"\n", 0);
	/* A rule's errors come before those of the block's later keys. */
	expect_fwd_error("10:21", "domains: \"a..b\"", 10,
			 "          domains: [a..b]\n      parent: nope\n", 0);
}

static void test_fwd_truncated_never_crash(void **state)
{
	char err[CFG_ERR_MAX];
	size_t len = strlen(fwd_full_yaml), ok = 0;
	struct cfg *cfg;

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		err[0] = '\0';
		errno = 0;
		cfg = cfg_parse_string("t.yaml", fwd_full_yaml, n, err, sizeof(err));
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
	    cmocka_unit_test(test_pool_tls),
	    cmocka_unit_test(test_err_pool_tls),
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
	    cmocka_unit_test(test_err_lb_nat_source_is_vip),
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
	    cmocka_unit_test(test_http_full_config),
	    cmocka_unit_test(test_http_round_trip),
	    cmocka_unit_test(test_http_defaults),
	    cmocka_unit_test(test_tcp_listener_defaults),
	    cmocka_unit_test(test_http_default_pool_optional),
	    cmocka_unit_test(test_http_workers),
	    cmocka_unit_test(test_http_mode_written_last),
	    cmocka_unit_test(test_http_empty_sections),
	    cmocka_unit_test(test_http_access_log),
	    cmocka_unit_test(test_http_limits),
	    cmocka_unit_test(test_http_forwarded_values),
	    cmocka_unit_test(test_http_route_default_names),
	    cmocka_unit_test(test_http_route_hosts_and_paths),
	    cmocka_unit_test(test_http_route_methods),
	    cmocka_unit_test(test_http_route_ops_and_conditions),
	    cmocka_unit_test(test_http_route_rewrite),
	    cmocka_unit_test(test_http_ops_at_most),
	    cmocka_unit_test(test_pool_balance_names),
	    cmocka_unit_test(test_pool_hash_key_max_length),
	    cmocka_unit_test(test_pool_max_backends),
	    cmocka_unit_test(test_tcp_listener_any_balance),
	    cmocka_unit_test(test_pool_maps),
	    cmocka_unit_test(test_err_http_mode),
	    cmocka_unit_test(test_err_http_section_in_tcp),
	    cmocka_unit_test(test_err_workers),
	    cmocka_unit_test(test_err_http_durations),
	    cmocka_unit_test(test_err_http_sizes),
	    cmocka_unit_test(test_err_http_max_headers),
	    cmocka_unit_test(test_err_http_forwarded),
	    cmocka_unit_test(test_err_http_log_format),
	    cmocka_unit_test(test_err_http_via),
	    cmocka_unit_test(test_err_http_access_log),
	    cmocka_unit_test(test_err_http_keys),
	    cmocka_unit_test(test_err_http_wrong_types),
	    cmocka_unit_test(test_err_http_needs_pool_or_routes),
	    cmocka_unit_test(test_err_route_unknown_key),
	    cmocka_unit_test(test_err_route_two_paths),
	    cmocka_unit_test(test_err_route_unknown_pool),
	    cmocka_unit_test(test_err_route_missing_pool),
	    cmocka_unit_test(test_err_route_bad_regex),
	    cmocka_unit_test(test_err_route_bad_path),
	    cmocka_unit_test(test_err_route_bad_host),
	    cmocka_unit_test(test_err_route_methods),
	    cmocka_unit_test(test_err_route_header_conditions),
	    cmocka_unit_test(test_err_route_op_names),
	    cmocka_unit_test(test_err_route_op_values),
	    cmocka_unit_test(test_err_route_op_shape),
	    cmocka_unit_test(test_err_route_prefixes),
	    cmocka_unit_test(test_err_route_names),
	    cmocka_unit_test(test_err_route_name_written_later),
	    cmocka_unit_test(test_err_route_message_one_line),
	    cmocka_unit_test(test_err_pool_hash_key_missing),
	    cmocka_unit_test(test_err_pool_hash_key_refused),
	    cmocka_unit_test(test_err_pool_hash_key_bad),
	    cmocka_unit_test(test_err_pool_balance),
	    cmocka_unit_test(test_err_pool_numbers),
	    cmocka_unit_test(test_err_pool_proxy_protocol),
	    cmocka_unit_test(test_err_pool_reverse_map),
	    cmocka_unit_test(test_err_pool_cookie_maps),
	    cmocka_unit_test(test_fwd_full_config),
	    cmocka_unit_test(test_fwd_defaults),
	    cmocka_unit_test(test_fwd_mode_written_last),
	    cmocka_unit_test(test_fwd_http_block),
	    cmocka_unit_test(test_h2c),
	    cmocka_unit_test(test_fwd_workers),
	    cmocka_unit_test(test_fwd_clients),
	    cmocka_unit_test(test_fwd_auth),
	    cmocka_unit_test(test_fwd_anonymous),
	    cmocka_unit_test(test_fwd_connect_ports),
	    cmocka_unit_test(test_fwd_parent),
	    cmocka_unit_test(test_fwd_transparent),
	    cmocka_unit_test(test_tls_block),
	    cmocka_unit_test(test_sni_routes),
	    cmocka_unit_test(test_err_sni_routes),
	    cmocka_unit_test(test_err_tls),
	    cmocka_unit_test(test_err_fwd_transparent),
	    cmocka_unit_test(test_fwd_dns),
	    cmocka_unit_test(test_fwd_rule_defaults),
	    cmocka_unit_test(test_fwd_rule_names),
	    cmocka_unit_test(test_fwd_rule_methods_and_ports),
	    cmocka_unit_test(test_fwd_rule_domains),
	    cmocka_unit_test(test_fwd_rule_clients),
	    cmocka_unit_test(test_fwd_schedule_defaults),
	    cmocka_unit_test(test_fwd_schedule_zone),
	    cmocka_unit_test(test_fwd_schedule_max_windows),
	    cmocka_unit_test(test_fwd_beside_other_modes),
	    cmocka_unit_test(test_err_fwd_block_in_other_modes),
	    cmocka_unit_test(test_err_fwd_pool_and_routes),
	    cmocka_unit_test(test_err_fwd_block_shape),
	    cmocka_unit_test(test_err_fwd_clients),
	    cmocka_unit_test(test_err_fwd_auth_file),
	    cmocka_unit_test(test_err_fwd_auth_realm),
	    cmocka_unit_test(test_err_fwd_user_agent),
	    cmocka_unit_test(test_err_fwd_anonymous),
	    cmocka_unit_test(test_err_fwd_connect_ports),
	    cmocka_unit_test(test_err_fwd_allow_private),
	    cmocka_unit_test(test_err_fwd_parent),
	    cmocka_unit_test(test_err_fwd_dns_servers),
	    cmocka_unit_test(test_err_fwd_dns_timeout),
	    cmocka_unit_test(test_err_fwd_rules_shape),
	    cmocka_unit_test(test_err_fwd_rule_action),
	    cmocka_unit_test(test_err_fwd_rule_names),
	    cmocka_unit_test(test_err_fwd_rule_domains),
	    cmocka_unit_test(test_err_fwd_rule_ports),
	    cmocka_unit_test(test_err_fwd_rule_methods),
	    cmocka_unit_test(test_err_fwd_rule_clients),
	    cmocka_unit_test(test_err_fwd_schedule),
	    cmocka_unit_test(test_err_fwd_first_error_wins),
	    cmocka_unit_test(test_fwd_truncated_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
