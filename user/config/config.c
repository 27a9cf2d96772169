// SPDX-License-Identifier: BSD-2-Clause
/*
 * Config loader. libyaml's document API builds the node tree (so the YAML
 * grammar, anchors and aliases are never ours to get wrong); a schema walk
 * then validates every value in document order, so the one error reported is
 * the first one a reader meets going down the file. Only references that can
 * point forward (listener -> pool) are checked after the walk, and a VIP's
 * cross-field rules (source and backends against the VIP's mode and family)
 * once its mapping is read, since its keys may come in any order.
 */
#include "config/config.h"
#include "route/maglev.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Limits: wide enough for any real deployment, narrow enough that a slipped
 * suffix ("8G" for "8M") or a stray digit is caught here and not at runtime.
 */
#define CFG_FILE_MAX	   (1u << 20)
#define CFG_BUF_MAX	   (1ull << 30)
#define CFG_BUDGET_MIN	   4096ull /* less than a page is surely a missing suffix */
#define CFG_TIMEOUT_MIN_MS 1u
#define CFG_TIMEOUT_MAX_MS 3600000u
#define CFG_STATS_MIN_MS   100u /* faster than this floods the log */
#define CFG_STATS_MAX_MS   3600000u
#define CFG_CONNS_MAX	   (1u << 24)
#define CFG_BACKLOG_MAX	   65535u
#define CFG_WEIGHT_MAX	   256u
#define CFG_WEIGHT_DEF	   1u
#define CFG_LB_WEIGHT_MAX  65535u
#define CFG_QUOTE_MAX	   40 /* user text echoed in a message is cut here */

struct cfg_ctx {
	const char *name; /* for messages only */
	const char *text; /* the input, to place reader errors by offset */
	size_t len;
	char *err;
	size_t errlen;
	struct cfg *cfg;
	/* listener i's "pool" value node, resolved once every pool is known */
	yaml_node_t **pool_refs;
	yaml_document_t *doc;
	/* the "listeners" and "lb" values, to place "no listeners" */
	yaml_node_t *listeners_node;
	yaml_node_t *lb_node;
	size_t nr_vip_addrs; /* distinct VIP addresses so far */
	/* {vip, backend} pairs so far: each is one of bpfctl's reals */
	size_t nr_reals;
};

static int __attribute__((format(printf, 3, 4)))
cfg_error(struct cfg_ctx *ctx, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctx->err || !ctx->errlen)
		return -EINVAL;
	n = snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: ", ctx->name, mark.line + 1,
		     mark.column + 1);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cfg_oom(struct cfg_ctx *ctx)
{
	if (ctx->err && ctx->errlen)
		snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->name);
	return -ENOMEM;
}

/*
 * Copies user text for a message: cut to CFG_QUOTE_MAX and with control
 * bytes replaced, because a quoted YAML scalar may hold newlines and the
 * message must stay on one line.
 */
static const char *cfg_quote(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i < CFG_QUOTE_MAX && i + 4 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i])
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
	return buf;
}

#define Q(s) cfg_quote((s), (char[CFG_QUOTE_MAX + 4]){0}, CFG_QUOTE_MAX + 4)

static const char *cfg_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* Only a plain scalar can be null: a quoted "~" is the string "~". */
static bool cfg_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static yaml_node_t *cfg_node(struct cfg_ctx *ctx, int index)
{
	return yaml_document_get_node(ctx->doc, index);
}

static int cfg_expect(struct cfg_ctx *ctx, yaml_node_t *n, yaml_node_type_t type, const char *what)
{
	static const char *const names[] = {
	    [YAML_SCALAR_NODE] = "a scalar",
	    [YAML_SEQUENCE_NODE] = "a list",
	    [YAML_MAPPING_NODE] = "a mapping",
	};

	if (n->type == type)
		return 0;
	return cfg_error(ctx, n->start_mark, "%s: expected %s, got %s", what, names[type],
			 cfg_kind(n));
}

static int cfg_scalar(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, const char **out)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE)
		return cfg_error(ctx, n->start_mark, "%s: expected a scalar value, got %s", key,
				 cfg_kind(n));
	if (cfg_is_null(n))
		return cfg_error(ctx, n->start_mark, "%s: missing value", key);
	v = (const char *)n->data.scalar.value;
	/* "\0" is a legal escape in double quotes; C strings cannot carry it. */
	if (strlen(v) != n->data.scalar.length)
		return cfg_error(ctx, n->start_mark, "%s: value contains a NUL byte", key);
	*out = v;
	return 0;
}

/*
 * Checks one mapping pair against the keys allowed there. On success *idx is
 * the key's index in 'keys', *val the value node, and the key is marked in
 * 'seen' so a repeat is refused: libyaml itself lets duplicates through.
 */
static int cfg_key(struct cfg_ctx *ctx, const yaml_node_pair_t *pair, const char *where,
		   const char *const *keys, size_t nkeys, uint32_t *seen, size_t *idx,
		   yaml_node_t **val)
{
	yaml_node_t *k = cfg_node(ctx, pair->key);
	char list[256];
	size_t i, off = 0;
	const char *s;

	*val = cfg_node(ctx, pair->value);
	if (!k || !*val)
		return cfg_error(ctx, (yaml_mark_t){0}, "%s: malformed mapping", where);
	if (k->type != YAML_SCALAR_NODE)
		return cfg_error(ctx, k->start_mark, "%s: a key must be a scalar, got %s", where,
				 cfg_kind(k));
	s = (const char *)k->data.scalar.value;
	for (i = 0; i < nkeys; i++) {
		if (strlen(s) == k->data.scalar.length && !strcmp(s, keys[i]))
			break;
	}
	if (i == nkeys) {
		list[0] = '\0';
		for (size_t j = 0; j < nkeys && off < sizeof(list); j++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s", j ? ", " : "",
					keys[j]);
		return cfg_error(ctx, k->start_mark, "unknown key '%s' in %s (expected one of: %s)",
				 Q(s), where, list);
	}
	if (*seen & (1u << i))
		return cfg_error(ctx, k->start_mark, "duplicate key '%s' in %s", keys[i], where);
	*seen |= 1u << i;
	*idx = i;
	return 0;
}

static int cfg_missing(struct cfg_ctx *ctx, yaml_node_t *map, const char *where,
		       const char *const *keys, uint32_t required, uint32_t seen)
{
	uint32_t missing = required & ~seen;

	if (!missing)
		return 0;
	return cfg_error(ctx, map->start_mark, "%s: missing required key '%s'", where,
			 keys[__builtin_ctz(missing)]);
}

/* Strict decimal: no sign, no spaces, no base prefix; 0 or -EINVAL. */
static int cfg_parse_u64(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

/*
 * Parses "N", "NK", "NM", "NG" (1024-based, either case) into bytes.
 * Returns 0, or -EINVAL for anything else or on overflow; *out is untouched
 * on failure.
 */
int cfg_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;

	if (!s || cfg_parse_u64(&s, &v))
		return -EINVAL;
	switch (*s) {
	case '\0':
		break;
	case 'K':
	case 'k':
		mult = 1ull << 10;
		s++;
		break;
	case 'M':
	case 'm':
		mult = 1ull << 20;
		s++;
		break;
	case 'G':
	case 'g':
		mult = 1ull << 30;
		s++;
		break;
	default:
		return -EINVAL;
	}
	if (*s || v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/*
 * Parses "Nms", "Ns", "Nm", or a bare "N" meaning seconds, into
 * milliseconds. Returns 0, or -EINVAL for anything else or if the result
 * does not fit 32 bits; *out is untouched on failure.
 */
int cfg_parse_duration_ms(const char *s, uint32_t *out)
{
	uint64_t v, mult;

	if (!s || cfg_parse_u64(&s, &v))
		return -EINVAL;
	if (!*s || !strcmp(s, "s"))
		mult = 1000;
	else if (!strcmp(s, "ms"))
		mult = 1;
	else if (!strcmp(s, "m"))
		mult = 60000;
	else
		return -EINVAL;
	if (v > UINT32_MAX / mult)
		return -EINVAL;
	*out = (uint32_t)(v * mult);
	return 0;
}

/* Returns NULL on success or why 's' is not an address, for messages. */
static const char *cfg_addr_why(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN];
	const char *end, *port;
	uint64_t pnum;
	size_t hlen;
	int family;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return "missing ']' after the IPv6 address";
		if (end[1] != ':')
			return "expected ':port' after ']'";
		s++;
		family = AF_INET6;
		port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end)
			return "missing ':port'";
		if (memchr(s, ':', (size_t)(end - s)))
			return "an IPv6 address must be written as [addr]:port";
		family = AF_INET;
		port = end + 1;
	}
	hlen = (size_t)(end - s);
	if (!hlen || hlen >= sizeof(host))
		return family == AF_INET ? "not an IPv4 address" : "not an IPv6 address";
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	/* Ports are 1..5 digits; the length cap keeps cfg_parse_u64 honest. */
	if (strlen(port) > 5 || cfg_parse_u64(&port, &pnum) || *port)
		return "the port is not a decimal number";
	if (pnum < 1 || pnum > 65535)
		return "port out of range 1..65535";

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return "not an IPv4 address";
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pnum);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return "not an IPv6 address";
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pnum);
		*len = sizeof(*sin6);
	}
	return NULL;
}

/*
 * Parses IPv4 "a.b.c.d:port" or IPv6 "[addr]:port" (port 1..65535, no
 * names, no zone ids) into *ss and *len. Returns 0, or -EINVAL; *ss and *len
 * may be clobbered on failure.
 */
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	if (!s || !ss || !len)
		return -EINVAL;
	return cfg_addr_why(s, ss, len) ? -EINVAL : 0;
}

static bool cfg_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

/* Human form of a byte limit for messages: 1G, 4K, 100. */
static const char *cfg_fmt_size(uint64_t v, char *buf, size_t len)
{
	if (v && !(v % (1ull << 30)))
		snprintf(buf, len, "%lluG", (unsigned long long)(v >> 30));
	else if (v && !(v % (1ull << 20)))
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else if (v && !(v % (1ull << 10)))
		snprintf(buf, len, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static const char *cfg_fmt_ms(uint32_t v, char *buf, size_t len)
{
	if (v && !(v % 60000))
		snprintf(buf, len, "%um", v / 60000);
	else if (v && !(v % 1000))
		snprintf(buf, len, "%us", v / 1000);
	else
		snprintf(buf, len, "%ums", v);
	return buf;
}

static int cfg_get_name(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, char *out)
{
	const char *v;
	size_t i;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	for (i = 0; v[i]; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			break;
	}
	if (!i || v[i] || i >= CFG_NAME_MAX)
		return cfg_error(ctx, n->start_mark,
				 "%s: bad name '%s': use 1 to %d of [A-Za-z0-9_.-]", key, Q(v),
				 CFG_NAME_MAX - 1);
	memcpy(out, v, i + 1);
	return 0;
}

static int cfg_get_size(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, uint64_t min,
			uint64_t max, uint64_t *out)
{
	char lo[24], hi[24];
	const char *v;
	uint64_t x = 0;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	if (cfg_parse_size(v, &x))
		return cfg_error(ctx, n->start_mark,
				 "%s: bad size '%s': expected bytes or a K/M/G suffix, e.g. 64K",
				 key, Q(v));
	if (x < min || x > max)
		return cfg_error(ctx, n->start_mark, "%s: size '%s' out of range %s..%s", key, Q(v),
				 cfg_fmt_size(min, lo, sizeof(lo)),
				 cfg_fmt_size(max, hi, sizeof(hi)));
	*out = x;
	return 0;
}

/* zero_ok: 0 is accepted as "off" even though it is below min. */
static int cfg_get_duration(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, uint32_t min,
			    uint32_t max, bool zero_ok, uint32_t *out)
{
	char lo[16], hi[16];
	const char *v;
	uint32_t x;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	if (cfg_parse_duration_ms(v, &x))
		return cfg_error(ctx, n->start_mark,
				 "%s: bad duration '%s': expected a number with ms, s or m "
				 "(bare = seconds)",
				 key, Q(v));
	if (!(zero_ok && !x) && (x < min || x > max))
		return cfg_error(ctx, n->start_mark, "%s: duration '%s' out of range %s%s..%s", key,
				 Q(v), zero_ok ? "0 or " : "", cfg_fmt_ms(min, lo, sizeof(lo)),
				 cfg_fmt_ms(max, hi, sizeof(hi)));
	*out = x;
	return 0;
}

static int cfg_get_uint(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, uint64_t min,
			uint64_t max, uint64_t *out)
{
	const char *v, *p;
	uint64_t x = 0;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	p = v;
	if (cfg_parse_u64(&p, &x) || *p)
		return cfg_error(ctx, n->start_mark, "%s: '%s' is not a whole number", key, Q(v));
	if (x < min || x > max)
		return cfg_error(ctx, n->start_mark, "%s: %s out of range %llu..%llu", key, Q(v),
				 (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

static int cfg_get_choice(struct cfg_ctx *ctx, yaml_node_t *n, const char *key,
			  const char *const *choices, size_t nchoices, int *out)
{
	char list[128];
	const char *v;
	size_t i, off = 0;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	for (i = 0; i < nchoices; i++) {
		if (!strcmp(v, choices[i])) {
			*out = (int)i;
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; i < nchoices && off < sizeof(list); i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%s", i ? "|" : "", choices[i]);
	return cfg_error(ctx, n->start_mark, "%s: bad value '%s' (expected %s)", key, Q(v), list);
}

/* 'str' has room for 64 bytes, as in struct cfg_backend / cfg_listener. */
static int cfg_get_addr(struct cfg_ctx *ctx, yaml_node_t *n, const char *key,
			struct sockaddr_storage *ss, socklen_t *len, char *str)
{
	const char *v, *why;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	/* No valid address is this long; the check keeps the copy below safe. */
	why = strlen(v) >= 64 ? "too long" : cfg_addr_why(v, ss, len);
	if (why)
		return cfg_error(ctx, n->start_mark,
				 "%s: bad address '%s': %s (expected a.b.c.d:port or [addr]:port)",
				 key, Q(v), why);
	strcpy(str, v);
	return 0;
}

static const char *const global_keys[] = {"log_level", "stats_interval", "pin_path", "max_conns"};
enum { GK_LOG_LEVEL, GK_STATS, GK_PIN_PATH, GK_MAX_CONNS };

static int cfg_parse_global(struct cfg_ctx *ctx, yaml_node_t *map)
{
	struct cfg *cfg = ctx->cfg;
	yaml_node_pair_t *pair;
	enum log_level lvl;
	uint32_t seen = 0;
	yaml_node_t *val;
	const char *v;
	uint64_t x = 0;
	size_t k;
	int ret;

	/* "global:" with everything commented out means "all defaults". */
	if (cfg_is_null(map))
		return 0;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "global");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "global", global_keys, ARRAY_SIZE(global_keys), &seen, &k,
			      &val);
		if (ret)
			return ret;
		switch (k) {
		case GK_LOG_LEVEL:
			ret = cfg_scalar(ctx, val, "log_level", &v);
			if (ret)
				return ret;
			if (log_level_parse(v, &lvl))
				return cfg_error(ctx, val->start_mark,
						 "log_level: bad value '%s' "
						 "(expected error|warn|info|debug)",
						 Q(v));
			cfg->log_level = (int)lvl;
			break;
		case GK_STATS:
			ret = cfg_get_duration(ctx, val, "stats_interval", CFG_STATS_MIN_MS,
					       CFG_STATS_MAX_MS, true, &cfg->stats_interval_ms);
			break;
		case GK_PIN_PATH:
			ret = cfg_scalar(ctx, val, "pin_path", &v);
			if (ret)
				return ret;
			/* bpffs pins are resolved from '/', never from the cwd. */
			if (v[0] != '/' || strlen(v) >= CFG_PATH_MAX)
				return cfg_error(ctx, val->start_mark,
						 "pin_path: '%s' must be an absolute path shorter "
						 "than %d bytes",
						 Q(v), CFG_PATH_MAX);
			strcpy(cfg->pin_path, v);
			break;
		case GK_MAX_CONNS:
			ret = cfg_get_uint(ctx, val, "max_conns", 1, CFG_CONNS_MAX, &x);
			cfg->max_conns = (uint32_t)x;
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

static const char *const listener_keys[] = {
    "name",    "bind",		"pool",
    "mode",    "splice",	"sndbuf",
    "rcvbuf",  "splice_budget", "connect_timeout",
    "backlog",
};
enum {
	LK_NAME,
	LK_BIND,
	LK_POOL,
	LK_MODE,
	LK_SPLICE,
	LK_SNDBUF,
	LK_RCVBUF,
	LK_BUDGET,
	LK_CONNECT,
	LK_BACKLOG,
};
#define LK_REQUIRED ((1u << LK_NAME) | (1u << LK_BIND) | (1u << LK_POOL))

static const char *const mode_names[] = {"tcp"};
static const char *const splice_names[] = {
    [CFG_SPLICE_KERNEL] = "kernel",
    [CFG_SPLICE_USER] = "user",
};
static const char *const balance_names[] = {
    [CFG_BALANCE_ROUNDROBIN] = "roundrobin",
};

/*
 * Uniqueness is checked as soon as the value is read, against the listeners
 * before this one, so the error lands in document order like every other.
 */
static int cfg_listener_unique(struct cfg_ctx *ctx, size_t idx, yaml_node_t *val, size_t key)
{
	const struct cfg_listener *l = &ctx->cfg->listeners[idx];

	for (size_t i = 0; i < idx; i++) {
		const struct cfg_listener *o = &ctx->cfg->listeners[i];

		if (key == LK_NAME && !strcmp(o->name, l->name))
			return cfg_error(ctx, val->start_mark, "duplicate listener name '%s'",
					 l->name);
		/* The second bind(2) would fail at startup; say so now. */
		if (key == LK_BIND && cfg_addr_equal(&o->addr, &l->addr))
			return cfg_error(ctx, val->start_mark,
					 "bind address %s is already used by listener '%s'",
					 l->bind_str, o->name);
	}
	return 0;
}

static int cfg_parse_listener(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_listener *l = &ctx->cfg->listeners[idx];
	yaml_node_t *val;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	int ret, choice = 0;
	uint64_t x = 0;
	size_t k;

	l->splice = CFG_SPLICE_KERNEL;
	l->sndbuf = CFG_DEF_SNDBUF;
	l->rcvbuf = CFG_DEF_RCVBUF;
	l->splice_budget = CFG_DEF_SPLICE_BUDGET;
	l->connect_timeout_ms = CFG_DEF_CONNECT_MS;
	l->backlog = CFG_DEF_BACKLOG;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "listener");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "listener", listener_keys, ARRAY_SIZE(listener_keys),
			      &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case LK_NAME:
			ret = cfg_get_name(ctx, val, "name", l->name);
			if (!ret)
				ret = cfg_listener_unique(ctx, idx, val, k);
			break;
		case LK_BIND:
			ret = cfg_get_addr(ctx, val, "bind", &l->addr, &l->addrlen, l->bind_str);
			if (!ret)
				ret = cfg_listener_unique(ctx, idx, val, k);
			break;
		case LK_POOL:
			/* Same rules as a pool's own name; resolved after the walk. */
			ret = cfg_get_name(ctx, val, "pool", (char[CFG_NAME_MAX]){0});
			ctx->pool_refs[idx] = val;
			break;
		case LK_MODE:
			ret = cfg_get_choice(ctx, val, "mode", mode_names, ARRAY_SIZE(mode_names),
					     &choice);
			break;
		case LK_SPLICE:
			ret = cfg_get_choice(ctx, val, "splice", splice_names,
					     ARRAY_SIZE(splice_names), &choice);
			l->splice = (enum cfg_splice)choice;
			break;
		case LK_SNDBUF:
			ret = cfg_get_size(ctx, val, "sndbuf", 0, CFG_BUF_MAX, &l->sndbuf);
			break;
		case LK_RCVBUF:
			ret = cfg_get_size(ctx, val, "rcvbuf", 0, CFG_BUF_MAX, &l->rcvbuf);
			break;
		case LK_BUDGET:
			ret = cfg_get_size(ctx, val, "splice_budget", CFG_BUDGET_MIN, CFG_BUF_MAX,
					   &l->splice_budget);
			break;
		case LK_CONNECT:
			ret = cfg_get_duration(ctx, val, "connect_timeout", CFG_TIMEOUT_MIN_MS,
					       CFG_TIMEOUT_MAX_MS, false, &l->connect_timeout_ms);
			break;
		case LK_BACKLOG:
			ret = cfg_get_uint(ctx, val, "backlog", 1, CFG_BACKLOG_MAX, &x);
			l->backlog = (int)x;
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "listener", listener_keys, LK_REQUIRED, seen);
}

static int cfg_parse_listeners(struct cfg_ctx *ctx, yaml_node_t *seq)
{
	size_t n, i;
	int ret;

	/* None is fine if lb has VIPs; cfg_parse_root decides. */
	ctx->listeners_node = seq;
	if (cfg_is_null(seq))
		return 0;
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, "listeners");
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return 0;
	ctx->cfg->listeners = calloc(n, sizeof(*ctx->cfg->listeners));
	ctx->pool_refs = calloc(n, sizeof(*ctx->pool_refs));
	if (!ctx->cfg->listeners || !ctx->pool_refs)
		return cfg_oom(ctx);
	for (i = 0; i < n; i++) {
		/* Counted as we go so cfg_free and the pool pass see only filled slots. */
		ctx->cfg->nr_listeners = i + 1;
		ret = cfg_parse_listener(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]), i);
		if (ret)
			return ret;
	}
	return 0;
}

static const char *const backend_keys[] = {"address", "weight"};
enum { BK_ADDRESS, BK_WEIGHT };
#define BK_REQUIRED (1u << BK_ADDRESS)

static int cfg_parse_backend(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_pool *p, size_t idx)
{
	struct cfg_backend *b = &p->backends[idx];
	yaml_node_t *val;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	uint64_t x = 0;
	size_t k;
	int ret;

	b->weight = CFG_WEIGHT_DEF;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "backend");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "backend", backend_keys, ARRAY_SIZE(backend_keys), &seen,
			      &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case BK_ADDRESS:
			ret = cfg_get_addr(ctx, val, "address", &b->addr, &b->addrlen, b->addr_str);
			/* Listing a backend twice silently doubles its share. */
			for (size_t i = 0; !ret && i < idx; i++) {
				if (cfg_addr_equal(&p->backends[i].addr, &b->addr))
					ret = cfg_error(ctx, val->start_mark,
							"pool '%s': backend %s is listed twice "
							"(use weight)",
							p->name, b->addr_str);
			}
			break;
		case BK_WEIGHT:
			ret = cfg_get_uint(ctx, val, "weight", 0, CFG_WEIGHT_MAX, &x);
			b->weight = (unsigned int)x;
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "backend", backend_keys, BK_REQUIRED, seen);
}

static int cfg_parse_backends(struct cfg_ctx *ctx, yaml_node_t *seq, struct cfg_pool *p)
{
	size_t n, i;
	int ret;

	if (cfg_is_null(seq))
		return cfg_error(ctx, seq->start_mark, "pool '%s' has no backends", p->name);
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, "backends");
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return cfg_error(ctx, seq->start_mark, "pool '%s' has no backends", p->name);
	p->backends = calloc(n, sizeof(*p->backends));
	if (!p->backends)
		return cfg_oom(ctx);
	for (i = 0; i < n; i++) {
		p->nr_backends = i + 1;
		ret =
		    cfg_parse_backend(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]), p, i);
		if (ret)
			return ret;
	}
	return 0;
}

static const char *const pool_keys[] = {"name", "balance", "backends"};
enum { PK_NAME, PK_BALANCE, PK_BACKENDS };
#define PK_REQUIRED ((1u << PK_NAME) | (1u << PK_BACKENDS))

static int cfg_parse_pool(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_pool *p = &ctx->cfg->pools[idx];
	yaml_node_t *val;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	int ret, choice = 0;
	size_t k;

	p->balance = CFG_BALANCE_ROUNDROBIN;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "pool");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "pool", pool_keys, ARRAY_SIZE(pool_keys), &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case PK_NAME:
			ret = cfg_get_name(ctx, val, "name", p->name);
			for (size_t i = 0; !ret && i < idx; i++) {
				if (!strcmp(ctx->cfg->pools[i].name, p->name))
					ret = cfg_error(ctx, val->start_mark,
							"duplicate pool name '%s'", p->name);
			}
			break;
		case PK_BALANCE:
			ret = cfg_get_choice(ctx, val, "balance", balance_names,
					     ARRAY_SIZE(balance_names), &choice);
			p->balance = (enum cfg_balance)choice;
			break;
		case PK_BACKENDS:
			ret = cfg_parse_backends(ctx, val, p);
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "pool", pool_keys, PK_REQUIRED, seen);
}

/*
 * A sequence of mappings named 'what' into a new array of *nr elements of
 * size sz, one fn call per item (a null value is an empty list). *nr counts
 * the items handed to fn so far, so cfg_free frees what was filled when an
 * item fails. 0 or the error already reported.
 */
static int cfg_parse_list(struct cfg_ctx *ctx, yaml_node_t *seq, const char *what, void **arr,
			  size_t *nr, size_t sz,
			  int (*fn)(struct cfg_ctx *ctx, yaml_node_t *item, size_t idx))
{
	size_t n, i;
	int ret;

	if (cfg_is_null(seq))
		return 0;
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, what);
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return 0;
	*arr = calloc(n, sz);
	if (!*arr)
		return cfg_oom(ctx);
	for (i = 0; i < n; i++) {
		*nr = i + 1;
		ret = fn(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]), i);
		if (ret)
			return ret;
	}
	return 0;
}

static int cfg_parse_pools(struct cfg_ctx *ctx, yaml_node_t *seq)
{
	/* An empty pools section is only wrong if a listener names a pool. */
	return cfg_parse_list(ctx, seq, "pools", (void **)&ctx->cfg->pools, &ctx->cfg->nr_pools,
			      sizeof(*ctx->cfg->pools), cfg_parse_pool);
}

/*
 * The XDP load balancer's VIPs (lb:). Addresses here have no port: the
 * datapath keys on {address, port, protocol}, so the port is a key of its
 * own, and a backend's can only differ from the VIP's in mode nat.
 */

static const char *cfg_lb_family(uint8_t family)
{
	return family == LB_AF_V4 ? "IPv4" : "IPv6";
}

/* Returns NULL on success or why 's' is not a usable address, for messages. */
static const char *cfg_lb_addr_why(const char *s, struct cfg_lb_addr *a)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon = strchr(s, ':');

	memset(a, 0, sizeof(*a));
	if (s[0] == '[')
		return "write an IPv6 address without brackets";
	if (!colon) {
		if (inet_pton(AF_INET, s, &a4) != 1)
			return "not an IPv4 or IPv6 address";
		if (a4.s_addr == htonl(INADDR_ANY))
			return "the unspecified address cannot be used";
		if (IN_MULTICAST(ntohl(a4.s_addr)))
			return "a multicast address cannot be used";
		a->family = LB_AF_V4;
		a->addr[0] = a4.s_addr;
		return NULL;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1) {
		/* "a.b.c.d:port": the one mistake worth naming. */
		if (strchr(s, '.') && colon == strrchr(s, ':'))
			return "a port does not belong here";
		return "not an IPv4 or IPv6 address";
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&a6))
		return "the unspecified address cannot be used";
	if (IN6_IS_ADDR_MULTICAST(&a6))
		return "a multicast address cannot be used";
	/* Never on the wire: IPv4 packets carry the IPv4 address. */
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return "an IPv4-mapped address: write the IPv4 address";
	a->family = LB_AF_V6;
	memcpy(a->addr, &a6, sizeof(a->addr));
	return NULL;
}

static int cfg_get_lb_addr(struct cfg_ctx *ctx, yaml_node_t *n, const char *key,
			   struct cfg_lb_addr *a)
{
	const char *v, *why;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	why = strlen(v) >= sizeof(a->str) ? "too long" : cfg_lb_addr_why(v, a);
	if (why)
		return cfg_error(ctx, n->start_mark,
				 "%s: bad address '%s': %s (expected an IPv4 or IPv6 address, "
				 "no port)",
				 key, Q(v), why);
	strcpy(a->str, v);
	return 0;
}

static bool cfg_lb_addr_equal(const struct cfg_lb_addr *a, const struct cfg_lb_addr *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* 0 and 1 are not prime; sizes are at most LB_RING_MAX, so trial division is instant. */
static bool cfg_is_prime(uint64_t n)
{
	if (n < 2)
		return false;
	for (uint64_t d = 2; d * d <= n; d++) {
		if (!(n % d))
			return false;
	}
	return true;
}

static const char *const lb_proto_names[] = {"tcp", "udp"};
static const uint8_t lb_protos[] = {IPPROTO_TCP, IPPROTO_UDP};
static const char *const lb_mode_names[] = {"dsr-l2", "ipip", "nat"};
static const enum lb_mode lb_modes[] = {LB_MODE_DSR_L2, LB_MODE_IPIP, LB_MODE_NAT};

static const char *cfg_lb_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static const char *cfg_lb_mode_name(enum lb_mode mode)
{
	for (size_t i = 0; i < ARRAY_SIZE(lb_modes); i++) {
		if (lb_modes[i] == mode)
			return lb_mode_names[i];
	}
	return "?";
}

/* Where a VIP backend's values sit, for the checks run once the VIP is read. */
struct cfg_lb_nodes {
	yaml_node_t *map;
	yaml_node_t *addr;
	yaml_node_t *port; /* NULL when not given */
};

static const char *const lb_backend_keys[] = {"address", "port", "weight"};
enum { LBK_ADDRESS, LBK_PORT, LBK_WEIGHT };
#define LBK_REQUIRED (1u << LBK_ADDRESS)

static int cfg_parse_lb_backend(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_lb_backend *b,
				struct cfg_lb_nodes *nodes)
{
	yaml_node_t *val;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	uint64_t x = 0;
	size_t k;
	int ret;

	b->weight = CFG_WEIGHT_DEF;
	nodes->map = map;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "vip backend");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "vip backend", lb_backend_keys,
			      ARRAY_SIZE(lb_backend_keys), &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case LBK_ADDRESS:
			ret = cfg_get_lb_addr(ctx, val, "address", &b->addr);
			nodes->addr = val;
			break;
		case LBK_PORT:
			ret = cfg_get_uint(ctx, val, "port", 1, 65535, &x);
			b->port = (uint16_t)x;
			nodes->port = val;
			break;
		case LBK_WEIGHT:
			ret = cfg_get_uint(ctx, val, "weight", 0, CFG_LB_WEIGHT_MAX, &x);
			b->weight = (uint32_t)x;
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "vip backend", lb_backend_keys, LBK_REQUIRED, seen);
}

/* *nodes gets one entry per backend; the caller frees it, also on error. */
static int cfg_parse_lb_backends(struct cfg_ctx *ctx, yaml_node_t *seq, struct cfg_vip *v,
				 struct cfg_lb_nodes **nodes)
{
	size_t n, i;
	int ret;

	/* No backends is valid: the VIP drops until some are added. */
	if (cfg_is_null(seq))
		return 0;
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, "backends");
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return 0;
	v->backends = calloc(n, sizeof(*v->backends));
	*nodes = calloc(n, sizeof(**nodes));
	if (!v->backends || !*nodes)
		return cfg_oom(ctx);
	for (i = 0; i < n; i++) {
		v->nr_backends = i + 1;
		ret = cfg_parse_lb_backend(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]),
					   &v->backends[i], &(*nodes)[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Whether backend i of v sends where an earlier one does (0 = the VIP's port). */
static bool cfg_lb_backend_repeated(const struct cfg_vip *v, size_t i)
{
	const struct cfg_lb_backend *b = &v->backends[i];

	for (size_t j = 0; j < i; j++) {
		const struct cfg_lb_backend *o = &v->backends[j];

		if (cfg_lb_addr_equal(&o->addr, &b->addr) &&
		    (o->port ? o->port : v->port) == (b->port ? b->port : v->port))
			return true;
	}
	return false;
}

/* Backend checks that need the whole VIP (mode, family, port) and the VIPs before it. */
static int cfg_check_lb_backends(struct cfg_ctx *ctx, size_t idx, const struct cfg_lb_nodes *bn)
{
	const struct cfg_vip *v = &ctx->cfg->vips[idx];

	for (size_t i = 0; i < v->nr_backends; i++) {
		const struct cfg_lb_backend *b = &v->backends[i];

		if (b->addr.family != v->addr.family)
			return cfg_error(ctx, bn[i].addr->start_mark,
					 "vip '%s': backend %s is %s but the vip address %s is %s",
					 v->name, b->addr.str, cfg_lb_family(b->addr.family),
					 v->addr.str, cfg_lb_family(v->addr.family));
		/* dsr-l2 and ipip deliver the client's packet as sent, port included. */
		if (bn[i].port && v->mode != LB_MODE_NAT)
			return cfg_error(ctx, bn[i].port->start_mark,
					 "port: only mode nat can send to another port "
					 "(vip '%s' is %s)",
					 v->name, cfg_lb_mode_name(v->mode));
		/* Listing a backend twice silently doubles its share. */
		if (cfg_lb_backend_repeated(v, i)) {
			if (v->mode == LB_MODE_NAT)
				return cfg_error(ctx, bn[i].addr->start_mark,
						 "vip '%s': backend %s port %u is listed twice "
						 "(use weight)",
						 v->name, b->addr.str, b->port ? b->port : v->port);
			return cfg_error(ctx, bn[i].addr->start_mark,
					 "vip '%s': backend %s is listed twice (use weight)",
					 v->name, b->addr.str);
		}
		/*
		 * As user/bpfctl/lb.h says: every {vip, backend} pair is a real of
		 * its own (so removing a backend from one VIP ends exactly that
		 * VIP's connections to it), and the datapath holds LB_MAX_REALS - 1.
		 */
		if (ctx->nr_reals == LB_MAX_REALS - 1)
			return cfg_error(ctx, bn[i].map->start_mark,
					 "vip '%s': too many backends: more than %d {vip, backend} "
					 "pairs over all vips (LB_MAX_REALS - 1)",
					 v->name, LB_MAX_REALS - 1);
		ctx->nr_reals++;
	}
	return 0;
}

/*
 * The rules that span a VIP's keys or other VIPs, run once its mapping is
 * read, in the order of where they point to in a usual file.
 */
static int cfg_check_vip(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx, yaml_node_t *addr_node,
			 yaml_node_t *src_node, const struct cfg_lb_nodes *bn)
{
	struct cfg_vip *v = &ctx->cfg->vips[idx];
	bool new_addr = true;
	size_t need;

	if (!v->name[0]) {
		snprintf(v->name, sizeof(v->name), "vip%zu", idx);
		for (size_t i = 0; i < idx; i++) {
			if (!strcmp(ctx->cfg->vips[i].name, v->name))
				return cfg_error(ctx, map->start_mark,
						 "vip name '%s' (the default for this vip) is "
						 "already used: give it a name",
						 v->name);
		}
	}
	for (size_t i = 0; i < idx; i++) {
		const struct cfg_vip *o = &ctx->cfg->vips[i];

		if (!cfg_lb_addr_equal(&o->addr, &v->addr))
			continue;
		new_addr = false;
		if (o->port == v->port && o->proto == v->proto)
			return cfg_error(ctx, addr_node->start_mark,
					 "vip '%s': %s port %u/%s is already vip '%s'", v->name,
					 v->addr.str, v->port, cfg_lb_proto_name(v->proto),
					 o->name);
	}
	ctx->nr_vip_addrs += new_addr;
	need = idx + 1 + ctx->nr_vip_addrs;
	if (need > LB_MAX_VIPS)
		return cfg_error(ctx, map->start_mark,
				 "too many vips: %zu vips + %zu distinct address(es) need %zu "
				 "lb_vips entries, more than LB_MAX_VIPS (%d)",
				 idx + 1, ctx->nr_vip_addrs, need, LB_MAX_VIPS);
	if (v->mode == LB_MODE_DSR_L2 && src_node)
		return cfg_error(ctx, src_node->start_mark,
				 "source: not used in mode dsr-l2 (only ipip and nat send from the "
				 "LB's own address)");
	if (v->mode != LB_MODE_DSR_L2 && !src_node)
		return cfg_error(ctx, map->start_mark,
				 "vip '%s': mode %s needs 'source', the LB's own address toward "
				 "the backends",
				 v->name, cfg_lb_mode_name(v->mode));
	if (src_node && v->src.family != v->addr.family)
		return cfg_error(ctx, src_node->start_mark,
				 "source: %s is %s but the vip address %s is %s", v->src.str,
				 cfg_lb_family(v->src.family), v->addr.str,
				 cfg_lb_family(v->addr.family));
	return cfg_check_lb_backends(ctx, idx, bn);
}

static const char *const vip_keys[] = {
    "name", "address", "port", "protocol", "mode", "source", "table_size", "backends",
};
enum { VK_NAME, VK_ADDRESS, VK_PORT, VK_PROTOCOL, VK_MODE, VK_SOURCE, VK_TABLE, VK_BACKENDS };
/* backends is required so that a VIP that drops says so: "backends: []". */
#define VK_REQUIRED ((1u << VK_ADDRESS) | (1u << VK_PORT) | (1u << VK_BACKENDS))

static int cfg_parse_vip(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	yaml_node_t *val, *addr_node = NULL, *src_node = NULL;
	struct cfg_vip *v = &ctx->cfg->vips[idx];
	struct cfg_lb_nodes *bn = NULL;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	int ret, choice = 0;
	uint64_t x = 0;
	size_t k;

	v->proto = IPPROTO_TCP;
	v->mode = LB_MODE_DSR_L2;
	v->table_size = LB_RING_DEFAULT;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "vip");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "vip", vip_keys, ARRAY_SIZE(vip_keys), &seen, &k, &val);
		if (ret)
			goto out;
		switch (k) {
		case VK_NAME:
			ret = cfg_get_name(ctx, val, "name", v->name);
			for (size_t i = 0; !ret && i < idx; i++) {
				if (!strcmp(ctx->cfg->vips[i].name, v->name))
					ret = cfg_error(ctx, val->start_mark,
							"duplicate vip name '%s'", v->name);
			}
			break;
		case VK_ADDRESS:
			ret = cfg_get_lb_addr(ctx, val, "address", &v->addr);
			addr_node = val;
			break;
		case VK_PORT:
			ret = cfg_get_uint(ctx, val, "port", 1, 65535, &x);
			v->port = (uint16_t)x;
			break;
		case VK_PROTOCOL:
			ret = cfg_get_choice(ctx, val, "protocol", lb_proto_names,
					     ARRAY_SIZE(lb_proto_names), &choice);
			v->proto = lb_protos[choice];
			break;
		case VK_MODE:
			ret = cfg_get_choice(ctx, val, "mode", lb_mode_names,
					     ARRAY_SIZE(lb_mode_names), &choice);
			v->mode = lb_modes[choice];
			break;
		case VK_SOURCE:
			ret = cfg_get_lb_addr(ctx, val, "source", &v->src);
			src_node = val;
			break;
		case VK_TABLE:
			ret =
			    cfg_get_uint(ctx, val, "table_size", MAGLEV_SIZE_MIN, LB_RING_MAX, &x);
			/* LB_RING_MAX is prime, so the suggestion is always in range. */
			if (!ret && !cfg_is_prime(x)) {
				uint64_t p = x + 1;

				while (!cfg_is_prime(p))
					p++;
				ret = cfg_error(ctx, val->start_mark,
						"table_size: %llu is not prime (next prime: %llu)",
						(unsigned long long)x, (unsigned long long)p);
			}
			v->table_size = (uint32_t)x;
			break;
		case VK_BACKENDS:
			ret = cfg_parse_lb_backends(ctx, val, v, &bn);
			break;
		}
		if (ret)
			goto out;
	}
	ret = cfg_missing(ctx, map, "vip", vip_keys, VK_REQUIRED, seen);
	if (!ret)
		ret = cfg_check_vip(ctx, map, idx, addr_node, src_node, bn);
out:
	free(bn);
	return ret;
}

static int cfg_parse_vips(struct cfg_ctx *ctx, yaml_node_t *seq)
{
	return cfg_parse_list(ctx, seq, "vips", (void **)&ctx->cfg->vips, &ctx->cfg->nr_vips,
			      sizeof(*ctx->cfg->vips), cfg_parse_vip);
}

static const char *const lb_keys[] = {"vips"};
enum { LBS_VIPS };

static int cfg_parse_lb(struct cfg_ctx *ctx, yaml_node_t *map)
{
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	yaml_node_t *val;
	size_t k;
	int ret;

	ctx->lb_node = map;
	if (cfg_is_null(map))
		return 0;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "lb");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "lb", lb_keys, ARRAY_SIZE(lb_keys), &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case LBS_VIPS:
			ret = cfg_parse_vips(ctx, val);
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

void cfg_vip_key(const struct cfg_vip *vip, bool addr_only, struct lb_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, vip->addr.addr, sizeof(key->addr));
	key->family = vip->addr.family;
	if (addr_only)
		return;
	key->port = htons(vip->port);
	key->proto = vip->proto;
}

static int cfg_resolve_pools(struct cfg_ctx *ctx)
{
	struct cfg *cfg = ctx->cfg;

	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		yaml_node_t *ref = ctx->pool_refs[i];
		const char *want = (const char *)ref->data.scalar.value;
		size_t j;

		for (j = 0; j < cfg->nr_pools; j++) {
			if (!strcmp(cfg->pools[j].name, want))
				break;
		}
		if (j == cfg->nr_pools)
			return cfg_error(ctx, ref->start_mark, "listener '%s': unknown pool '%s'",
					 cfg->listeners[i].name, want);
		cfg->listeners[i].pool = j;
	}
	return 0;
}

static const char *const root_keys[] = {"global", "listeners", "pools", "lb"};
enum { RK_GLOBAL, RK_LISTENERS, RK_POOLS, RK_LB };

static int cfg_parse_root(struct cfg_ctx *ctx, yaml_node_t *root)
{
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	yaml_node_t *val;
	size_t k;
	int ret;

	if (!root)
		return cfg_error(ctx, (yaml_mark_t){0}, "empty config: no listeners defined");
	ret = cfg_expect(ctx, root, YAML_MAPPING_NODE, "top level");
	if (ret)
		return ret;
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "top level", root_keys, ARRAY_SIZE(root_keys), &seen, &k,
			      &val);
		if (ret)
			return ret;
		switch (k) {
		case RK_GLOBAL:
			ret = cfg_parse_global(ctx, val);
			break;
		case RK_LISTENERS:
			ret = cfg_parse_listeners(ctx, val);
			break;
		case RK_POOLS:
			ret = cfg_parse_pools(ctx, val);
			break;
		case RK_LB:
			ret = cfg_parse_lb(ctx, val);
			break;
		}
		if (ret)
			return ret;
	}
	/*
	 * A file with nothing to run is surely a mistake. One with only lb or
	 * only listeners is not: each command checks for the part it needs.
	 */
	if (!ctx->cfg->nr_listeners && !ctx->cfg->nr_vips) {
		yaml_node_t *at = root;

		if (ctx->listeners_node)
			at = ctx->listeners_node;
		else if (ctx->lb_node)
			at = ctx->lb_node;
		if (ctx->lb_node)
			return cfg_error(ctx, at->start_mark, "no listeners or lb vips defined");
		return cfg_error(ctx, at->start_mark, "no listeners defined");
	}
	return cfg_resolve_pools(ctx);
}

/* libyaml's reader reports a byte offset only; turn it into line:col. */
static yaml_mark_t cfg_offset_mark(const struct cfg_ctx *ctx, size_t off)
{
	yaml_mark_t m = {0};

	if (off > ctx->len)
		off = ctx->len;
	for (size_t i = 0; i < off; i++) {
		if (ctx->text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	return m;
}

static int cfg_syntax_error(struct cfg_ctx *ctx, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return cfg_oom(ctx);
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			return cfg_error(ctx, cfg_offset_mark(ctx, p->problem_offset),
					 "invalid input: %s (byte 0x%02X)", problem,
					 (unsigned)p->problem_value);
		return cfg_error(ctx, cfg_offset_mark(ctx, p->problem_offset), "invalid input: %s",
				 problem);
	default:
		if (p->context)
			return cfg_error(ctx, p->problem_mark, "syntax error: %s (%s at %zu:%zu)",
					 problem, p->context, p->context_mark.line + 1,
					 p->context_mark.column + 1);
		return cfg_error(ctx, p->problem_mark, "syntax error: %s", problem);
	}
}

static struct cfg *cfg_new(void)
{
	struct cfg *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->log_level = LOG_LVL_INFO;
	cfg->stats_interval_ms = CFG_DEF_STATS_MS;
	strcpy(cfg->pin_path, CFG_DEF_PIN_PATH);
	cfg->max_conns = CFG_DEF_MAX_CONNS;
	return cfg;
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nr_pools; i++)
		free(cfg->pools[i].backends);
	free(cfg->pools);
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->nr_vips; i++)
		free(cfg->vips[i].backends);
	free(cfg->vips);
	free(cfg);
}

/*
 * Parses 'len' bytes of 'text' (no NUL needed). Returns a new cfg or NULL
 * with errno set and the first error in 'err'; see config.h.
 */
struct cfg *cfg_parse_string(const char *name, const char *text, size_t len, char *err,
			     size_t errlen)
{
	struct cfg_ctx ctx = {
	    .name = name ? name : "<config>",
	    .text = text ? text : "",
	    .len = text ? len : 0,
	    .err = err,
	    .errlen = errlen,
	};
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	yaml_node_t *root, *more;
	yaml_mark_t mark;
	int ret;

	if (!text && len) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no input", ctx.name);
		errno = EINVAL;
		return NULL;
	}
	ctx.cfg = cfg_new();
	if (!ctx.cfg) {
		ret = cfg_oom(&ctx);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		ret = cfg_oom(&ctx);
		goto free_cfg;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)ctx.text, ctx.len);
	/* On failure yaml_parser_load has already deleted the document. */
	if (!yaml_parser_load(&parser, &doc)) {
		ret = cfg_syntax_error(&ctx, &parser);
		goto free_parser;
	}
	ctx.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root) {
		/* A second document would be silently ignored: refuse it. */
		if (!yaml_parser_load(&parser, &extra)) {
			ret = cfg_syntax_error(&ctx, &parser);
			goto free_doc;
		}
		more = yaml_document_get_root_node(&extra);
		if (more) {
			mark = more->start_mark;
			yaml_document_delete(&extra);
			ret = cfg_error(&ctx, mark, "only one YAML document is allowed");
			goto free_doc;
		}
		yaml_document_delete(&extra);
	}
	ret = cfg_parse_root(&ctx, root);

free_doc:
	yaml_document_delete(&doc);
free_parser:
	yaml_parser_delete(&parser);
free_cfg:
	free(ctx.pool_refs);
	if (ret) {
		cfg_free(ctx.cfg);
		ctx.cfg = NULL;
	}
out:
	if (ret)
		errno = -ret;
	return ctx.cfg;
}

/* Reads all of fd, up to CFG_FILE_MAX bytes. Returns 0 or -errno. */
static int cfg_read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap > CFG_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (len > CFG_FILE_MAX) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Reads 'path' whole (at most 1 MiB; a config is never near that, and the
 * cap bounds what a wrong path such as a device can make us allocate) and
 * parses it. Open/read failures give "path: strerror" and that errno.
 */
struct cfg *cfg_parse_file(const char *path, char *err, size_t errlen)
{
	struct cfg *cfg;
	size_t len = 0;
	char *buf = NULL;
	int fd, ret, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = cfg_read_all(fd, &buf, &len);
	close(fd);
	if (ret)
		goto fail;
	cfg = cfg_parse_string(path, buf, len, err, errlen);
	e = errno;
	free(buf);
	errno = e;
	return cfg;

fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EFBIG ? "file too large (over 1 MiB)" : strerror(-ret));
	errno = -ret;
	return NULL;
}
