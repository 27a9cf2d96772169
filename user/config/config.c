// SPDX-License-Identifier: BSD-2-Clause
/*
 * Config loader. libyaml's document API builds the node tree (so the YAML
 * grammar, anchors and aliases are never ours to get wrong); a schema walk
 * then validates every value in document order, so the one error reported is
 * the first one a reader meets going down the file. Only references that can
 * point forward (listener and route -> pool) are checked after the walk, and
 * a VIP's or a route's cross-field rules (source and backends against the
 * VIP's mode and family, replace_prefix without strip_prefix) once its
 * mapping is read, since its keys may come in any order. The two keys that
 * decide how others read (a listener's mode, a pool's balance) are looked up
 * before the walk for the same reason.
 *
 * HTTP routes and pools are checked by the modules that will run them
 * (route_table_new, pool_new), and so are forward-proxy rules (fpol_new,
 * which parses ports and schedules, domset_add, cidr_parse, fwd_conf_check),
 * so the config cannot accept what the proxy would refuse at startup; each
 * value is probed on its own so the message points at it. Schedules load
 * their time zone files here: the one read besides the config itself.
 */
#include "config/config.h"
#include "http/fwd.h"
#include "policy/cidr.h"
#include "policy/domset.h"
#include "policy/rules.h"
#include "policy/sched.h"
#include "route/maglev.h"
#include "route/pool.h"
#include "route/rules.h"
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
#define CFG_QUOTE_MAX	   40	      /* user text echoed in a message is cut here */
#define CFG_LINE_MIN	   64u	      /* max_request_line, max_header: below is a typo */
#define CFG_HEAD_MIN	   1024u      /* max_headers_size */
#define CFG_HEAD_MAX	   (1u << 20) /* per connection, per worker: memory is bounded */
#define CFG_KEEPALIVE_MAX  65535u
#define CFG_MAP_VALUE_MAX  1024u /* one side of a reverse/cookie map pair */

/* A pool name to resolve after the walk, in document order. */
struct cfg_pool_ref {
	yaml_node_t *node; /* the name's scalar */
	size_t listener;
	size_t
	    route; /* SIZE_MAX: the listener's own (default) pool; CFG_REF_SNI | i: sni route i */
};
#define CFG_REF_SNI ((size_t)1 << (sizeof(size_t) * 8 - 2))

struct cfg_ctx {
	const char *name; /* for messages only */
	const char *text; /* the input, to place reader errors by offset */
	size_t len;
	char *err;
	size_t errlen;
	struct cfg *cfg;
	/* pool names (listeners' and routes'), resolved once every pool is known */
	struct cfg_pool_ref *refs;
	size_t nr_refs, cap_refs;
	size_t cur_listener;	 /* the listener whose routes are being read */
	struct cfg_tls *cur_tls; /* the tls block whose certificates are being read */
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

/*
 * The value of map's first pair keyed 'key', or NULL. For the few keys
 * that decide how the others are read (a listener's mode, a pool's
 * balance): they are read first, so that every other key is checked in
 * document order against the right rules, wherever the deciding key stands.
 */
static yaml_node_t *cfg_lookup(struct cfg_ctx *ctx, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = cfg_node(ctx, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strlen((const char *)k->data.scalar.value) == k->data.scalar.length &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return cfg_node(ctx, pair->value);
	}
	return NULL;
}

static int cfg_strdup(struct cfg_ctx *ctx, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : cfg_oom(ctx);
}

/* RFC 9110 5.6.2 token: field names, cookie names, Via pseudonyms. */
static bool cfg_is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

static const char *const bool_names[] = {"false", "true"};

/* Only "true" and "false": YAML 1.1's yes/no/on/off are too easy to misread. */
static int cfg_get_bool(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, bool *out)
{
	int choice = 0, ret;

	ret = cfg_get_choice(ctx, n, key, bool_names, ARRAY_SIZE(bool_names), &choice);
	if (!ret)
		*out = choice;
	return ret;
}

/* Records a pool name to resolve once every pool is known (route SIZE_MAX: the listener's). */
static int cfg_add_ref(struct cfg_ctx *ctx, yaml_node_t *node, size_t listener, size_t route)
{
	struct cfg_pool_ref *refs;

	if (ctx->nr_refs == ctx->cap_refs) {
		size_t cap = ctx->cap_refs ? ctx->cap_refs * 2 : 16;

		refs = realloc(ctx->refs, cap * sizeof(*refs));
		if (!refs)
			return cfg_oom(ctx);
		ctx->refs = refs;
		ctx->cap_refs = cap;
	}
	ctx->refs[ctx->nr_refs++] = (struct cfg_pool_ref){node, listener, route};
	return 0;
}

/* ---------------------------------------------------------------- http routes */

static const char *const fwd_names[] = {
    [CFG_FWD_XFF] = "xff",   [CFG_FWD_FORWARDED] = "forwarded", [CFG_FWD_BOTH] = "both",
    [CFG_FWD_NONE] = "none", [CFG_FWD_HIDE] = "hide",
};
static const char *const log_format_names[] = {
    [CFG_LOG_COMBINED] = "combined",
    [CFG_LOG_JSON] = "json",
};
/* The methods a route may name, in enum h1_meth order from H1_METH_GET. */
static const char *const meth_names[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};
_Static_assert(ARRAY_SIZE(meth_names) == H1_METH_PATCH - H1_METH_GET + 1,
	       "meth_names follows enum h1_meth");

/* Control bytes of a library message become '?': the message must stay on one line. */
static void cfg_one_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

/*
 * Runs route_table_new() on 'probe', a rule holding only the values to
 * check, named 'rname'. The routing module owns the rules of what a route
 * may hold; probing one value at a time lets its message point at the
 * value that is wrong. Its "rule 0 "<name>": " prefix gives way to ours.
 */
static int cfg_route_probe(struct cfg_ctx *ctx, yaml_node_t *at, const char *rname,
			   const struct route_rule *probe)
{
	char err[CFG_ERR_MAX], prefix[CFG_NAME_MAX + 16];
	struct route_rule r = *probe;
	struct route_table *t;
	const char *msg = err;

	r.name = rname;
	err[0] = '\0';
	t = route_table_new(&r, 1, err, sizeof(err));
	if (t) {
		route_table_free(t);
		return 0;
	}
	if (errno == ENOMEM)
		return cfg_oom(ctx);
	snprintf(prefix, sizeof(prefix), "rule 0 \"%s\": ", rname);
	if (!strncmp(err, prefix, strlen(prefix)))
		msg += strlen(prefix);
	cfg_one_line(err);
	return cfg_error(ctx, at->start_mark, "route '%s': %s", rname, msg);
}

static const char *const match_keys[] = {"name", "value", "negate"};
enum { MK_NAME, MK_VALUE, MK_NEGATE };
#define MK_REQUIRED (1u << MK_NAME)

/*
 * Condition idx of r; the ones before it are valid, and the probes include
 * them so that the routing module's message gives the right index.
 */
static int cfg_parse_hdr_match(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_route *r,
			       size_t idx)
{
	struct route_hdr_match *h = &r->hdrs[idx];
	const char *saved;
	yaml_node_t *val, *name_node = NULL, *value_node = NULL;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	const char *v;
	size_t k;
	int ret;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "header condition");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "header condition", match_keys, ARRAY_SIZE(match_keys),
			      &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case MK_NAME:
			ret = cfg_scalar(ctx, val, "name", &v);
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&h->name);
			name_node = val;
			break;
		case MK_VALUE:
			ret = cfg_scalar(ctx, val, "value", &v);
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&h->value);
			value_node = val;
			break;
		case MK_NEGATE:
			ret = cfg_get_bool(ctx, val, "negate", &h->negate);
			break;
		}
		if (ret)
			return ret;
	}
	ret = cfg_missing(ctx, map, "header condition", match_keys, MK_REQUIRED, seen);
	if (ret)
		return ret;
	/* The name's rules first (as a presence test), then the value's. */
	saved = h->value;
	h->value = NULL;
	ret = cfg_route_probe(ctx, name_node, r->name,
			      &(struct route_rule){.hdrs = r->hdrs, .nr_hdrs = idx + 1});
	h->value = saved;
	if (!ret && value_node)
		ret = cfg_route_probe(ctx, value_node, r->name,
				      &(struct route_rule){.hdrs = r->hdrs, .nr_hdrs = idx + 1});
	return ret;
}

static int cfg_parse_hdr_matches(struct cfg_ctx *ctx, yaml_node_t *seq, struct cfg_route *r)
{
	size_t n;
	int ret;

	if (cfg_is_null(seq))
		return 0;
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, "headers");
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return 0;
	r->hdrs = calloc(n, sizeof(*r->hdrs));
	if (!r->hdrs)
		return cfg_oom(ctx);
	r->rule.hdrs = r->hdrs;
	for (size_t i = 0; i < n; i++) {
		r->rule.nr_hdrs = i + 1;
		ret = cfg_parse_hdr_match(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]), r,
					  i);
		if (ret)
			return ret;
	}
	return 0;
}

static const char *const op_keys[] = {"set", "add", "remove", "value"};
enum { OK_SET, OK_ADD, OK_REMOVE, OK_VALUE };
_Static_assert(OK_SET == (int)ROUTE_OP_SET && OK_ADD == (int)ROUTE_OP_ADD &&
		   OK_REMOVE == (int)ROUTE_OP_REMOVE,
	       "op_keys follows enum route_op");

/* Op idx of ops, r's request or response ops; as for conditions, the probes include those before.
 */
static int cfg_parse_hdr_op(struct cfg_ctx *ctx, yaml_node_t *map, const char *what,
			    struct cfg_route *r, bool response, struct route_hdr_op *ops,
			    size_t idx)
{
	struct route_hdr_op *op = &ops[idx];
	struct route_rule probe = {0};
	const char *saved;
	yaml_node_t *val, *name_node = NULL, *value_node = NULL;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	const char *v;
	size_t k;
	int ret;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, what);
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, what, op_keys, ARRAY_SIZE(op_keys), &seen, &k, &val);
		if (ret)
			return ret;
		if (k == OK_VALUE) {
			ret = cfg_scalar(ctx, val, "value", &v);
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&op->value);
			value_node = val;
		} else if (name_node) {
			return cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
					 "%s: one of set, add, remove per item", what);
		} else {
			op->op = (enum route_op)k;
			ret = cfg_scalar(ctx, val, op_keys[k], &v);
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&op->name);
			name_node = val;
		}
		if (ret)
			return ret;
	}
	if (!name_node)
		return cfg_error(ctx, map->start_mark, "%s: an item needs one of set, add, remove",
				 what);
	if (op->op == ROUTE_OP_REMOVE && value_node)
		return cfg_error(ctx, value_node->start_mark, "%s: remove takes no value", what);
	if (op->op != ROUTE_OP_REMOVE && !value_node)
		return cfg_error(ctx, map->start_mark, "%s: %s '%s' needs a value", what,
				 op_keys[op->op], Q(op->name));
	if (response) {
		probe.resp_ops = ops;
		probe.nr_resp_ops = idx + 1;
	} else {
		probe.req_ops = ops;
		probe.nr_req_ops = idx + 1;
	}
	/*
	 * The name's rules first, with a stand-in value that passes every
	 * check (also a SET Host's), then the value's.
	 */
	saved = op->value;
	op->value = saved ? "x" : NULL;
	ret = cfg_route_probe(ctx, name_node, r->name, &probe);
	op->value = saved;
	if (!ret && value_node)
		ret = cfg_route_probe(ctx, value_node, r->name, &probe);
	return ret;
}

static int cfg_parse_hdr_ops(struct cfg_ctx *ctx, yaml_node_t *seq, const char *what,
			     struct cfg_route *r, bool response)
{
	struct route_hdr_op **ops = response ? &r->resp_ops : &r->req_ops;
	size_t *nr = response ? &r->rule.nr_resp_ops : &r->rule.nr_req_ops;
	size_t n;
	int ret;

	if (cfg_is_null(seq))
		return 0;
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, what);
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return 0;
	if (n >= ROUTE_OPS_MAX)
		return cfg_error(
		    ctx,
		    cfg_node(ctx, seq->data.sequence.items.start[ROUTE_OPS_MAX - 1])->start_mark,
		    "%s: more than %d ops (route '%s')", what, ROUTE_OPS_MAX - 1, r->name);
	*ops = calloc(n, sizeof(**ops));
	if (!*ops)
		return cfg_oom(ctx);
	if (response)
		r->rule.resp_ops = *ops;
	else
		r->rule.req_ops = *ops;
	for (size_t i = 0; i < n; i++) {
		*nr = i + 1;
		ret = cfg_parse_hdr_op(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]), what,
				       r, response, *ops, i);
		if (ret)
			return ret;
	}
	return 0;
}

static int cfg_parse_methods(struct cfg_ctx *ctx, yaml_node_t *seq, uint32_t *methods)
{
	size_t n;
	int ret, choice = 0;

	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, "methods");
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	/* 0 means "any" to the router: an empty list saying so would read as "none". */
	if (!n)
		return cfg_error(ctx, seq->start_mark,
				 "methods: empty list (leave 'methods' out to match any method)");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, seq->data.sequence.items.start[i]);
		uint32_t bit;

		ret = cfg_get_choice(ctx, item, "methods", meth_names, ARRAY_SIZE(meth_names),
				     &choice);
		if (ret)
			return ret;
		bit = ROUTE_METH(H1_METH_GET + choice);
		if (*methods & bit)
			return cfg_error(ctx, item->start_mark, "methods: %s is listed twice",
					 meth_names[choice]);
		*methods |= bit;
	}
	return 0;
}

static const char *const route_keys[] = {
    "name",	 "host", "path",	 "path_exact",	   "path_regex",      "methods",
    "headers",	 "pool", "strip_prefix", "replace_prefix", "request_headers", "response_headers",
    "forwarded",
};
enum {
	RTK_NAME,
	RTK_HOST,
	RTK_PATH,
	RTK_PATH_EXACT,
	RTK_PATH_REGEX,
	RTK_METHODS,
	RTK_HEADERS,
	RTK_POOL,
	RTK_STRIP,
	RTK_REPLACE,
	RTK_REQ_OPS,
	RTK_RESP_OPS,
	RTK_FORWARDED,
};
#define RTK_REQUIRED (1u << RTK_POOL)

static bool cfg_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return i && i < CFG_NAME_MAX;
}

static int cfg_parse_route(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_listener *l = &ctx->cfg->listeners[ctx->cur_listener];
	yaml_node_t *val, *name, *path_key = NULL, *replace_node = NULL;
	struct cfg_route *r = &l->http.routes[idx];
	struct route_rule *rule = &r->rule;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	int ret, choice = 0;
	const char *v;
	size_t k;

	r->fwd = -1;
	rule->name = r->name;
	rule->pool = SIZE_MAX;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "route");
	if (ret)
		return ret;
	/* Messages about any key name the route, so learn its name first. */
	name = cfg_lookup(ctx, map, "name");
	if (name && name->type == YAML_SCALAR_NODE && !cfg_is_null(name) &&
	    cfg_name_ok((const char *)name->data.scalar.value))
		strcpy(r->name, (const char *)name->data.scalar.value);
	else
		snprintf(r->name, sizeof(r->name), "route%zu", idx);

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "route", route_keys, ARRAY_SIZE(route_keys), &seen, &k,
			      &val);
		if (ret)
			return ret;
		switch (k) {
		case RTK_NAME:
			ret = cfg_get_name(ctx, val, "name", r->name);
			for (size_t i = 0; !ret && i < idx; i++) {
				if (!strcmp(l->http.routes[i].name, r->name))
					ret = cfg_error(ctx, val->start_mark,
							"duplicate route name '%s'", r->name);
			}
			break;
		case RTK_HOST:
			ret = cfg_scalar(ctx, val, "host", &v);
			if (ret)
				break;
			rule->host_kind =
			    strncmp(v, "*.", 2) ? ROUTE_HOST_EXACT : ROUTE_HOST_WILDCARD;
			ret = cfg_route_probe(
			    ctx, val, r->name,
			    &(struct route_rule){.host_kind = rule->host_kind, .host = v});
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&rule->host);
			break;
		case RTK_PATH:
		case RTK_PATH_EXACT:
		case RTK_PATH_REGEX:
			if (path_key) {
				ret = cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
						"route '%s': %s: only one of path, path_exact, "
						"path_regex",
						r->name, route_keys[k]);
				break;
			}
			path_key = cfg_node(ctx, pair->key);
			ret = cfg_scalar(ctx, val, route_keys[k], &v);
			if (ret)
				break;
			rule->path_kind = k == RTK_PATH		? ROUTE_PATH_PREFIX
					  : k == RTK_PATH_EXACT ? ROUTE_PATH_EXACT
								: ROUTE_PATH_REGEX;
			ret = cfg_route_probe(
			    ctx, val, r->name,
			    &(struct route_rule){.path_kind = rule->path_kind, .path = v});
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&rule->path);
			break;
		case RTK_METHODS:
			ret = cfg_parse_methods(ctx, val, &rule->methods);
			break;
		case RTK_HEADERS:
			ret = cfg_parse_hdr_matches(ctx, val, r);
			break;
		case RTK_POOL:
			/* Same rules as a pool's own name; resolved after the walk. */
			ret = cfg_get_name(ctx, val, "pool", (char[CFG_NAME_MAX]){0});
			if (!ret)
				ret = cfg_add_ref(ctx, val, ctx->cur_listener, idx);
			break;
		case RTK_STRIP:
			ret = cfg_scalar(ctx, val, "strip_prefix", &v);
			if (!ret)
				ret = cfg_route_probe(ctx, val, r->name,
						      &(struct route_rule){.strip_prefix = v});
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&rule->strip_prefix);
			break;
		case RTK_REPLACE:
			/* "" is a valid replacement: only a plain empty value is missing. */
			ret = cfg_scalar(ctx, val, "replace_prefix", &v);
			if (!ret)
				ret = cfg_route_probe(
				    ctx, val, r->name,
				    &(struct route_rule){.strip_prefix = "/", .replace_prefix = v});
			if (!ret)
				ret = cfg_strdup(ctx, v, (char **)&rule->replace_prefix);
			replace_node = val;
			break;
		case RTK_REQ_OPS:
			ret = cfg_parse_hdr_ops(ctx, val, "request_headers", r, false);
			break;
		case RTK_RESP_OPS:
			ret = cfg_parse_hdr_ops(ctx, val, "response_headers", r, true);
			break;
		case RTK_FORWARDED:
			ret = cfg_get_choice(ctx, val, "forwarded", fwd_names,
					     ARRAY_SIZE(fwd_names), &choice);
			r->fwd = choice;
			break;
		}
		if (ret)
			return ret;
	}
	ret = cfg_missing(ctx, map, "route", route_keys, RTK_REQUIRED, seen);
	if (ret)
		return ret;
	if (!(seen & (1u << RTK_NAME))) {
		for (size_t i = 0; i < idx; i++) {
			if (!strcmp(l->http.routes[i].name, r->name))
				return cfg_error(ctx, map->start_mark,
						 "route name '%s' (the default for this route) is "
						 "already used: give it a name",
						 r->name);
		}
	}
	if (replace_node && !rule->strip_prefix)
		return cfg_error(ctx, replace_node->start_mark,
				 "route '%s': replace_prefix needs strip_prefix", r->name);
	/* Every value passed on its own; this catches whatever spans several. */
	return cfg_route_probe(ctx, map, r->name, rule);
}

static void cfg_route_free(struct cfg_route *r)
{
	struct route_rule *rule = &r->rule;

	free((char *)rule->host);
	free((char *)rule->path);
	free((char *)rule->strip_prefix);
	free((char *)rule->replace_prefix);
	for (size_t i = 0; r->hdrs && i < rule->nr_hdrs; i++) {
		free((char *)r->hdrs[i].name);
		free((char *)r->hdrs[i].value);
	}
	free(r->hdrs);
	for (size_t i = 0; r->req_ops && i < rule->nr_req_ops; i++) {
		free((char *)r->req_ops[i].name);
		free((char *)r->req_ops[i].value);
	}
	free(r->req_ops);
	for (size_t i = 0; r->resp_ops && i < rule->nr_resp_ops; i++) {
		free((char *)r->resp_ops[i].name);
		free((char *)r->resp_ops[i].value);
	}
	free(r->resp_ops);
}

static int cfg_parse_routes(struct cfg_ctx *ctx, yaml_node_t *seq, struct cfg_listener *l)
{
	struct route_rule *rules;
	struct route_table *t;
	char err[CFG_ERR_MAX];
	int ret;

	ret = cfg_parse_list(ctx, seq, "routes", (void **)&l->http.routes, &l->http.nr_routes,
			     sizeof(*l->http.routes), cfg_parse_route);
	if (ret || !l->http.nr_routes)
		return ret;
	/*
	 * Each route passed alone; the table the proxy will build from all of
	 * them must pass too (names are unique already, so this only fails
	 * for want of memory, or if rules.h gains a check across rules).
	 */
	rules = calloc(l->http.nr_routes, sizeof(*rules));
	if (!rules)
		return cfg_oom(ctx);
	for (size_t i = 0; i < l->http.nr_routes; i++)
		rules[i] = l->http.routes[i].rule;
	t = route_table_new(rules, l->http.nr_routes, err, sizeof(err));
	free(rules);
	if (t) {
		route_table_free(t);
		return 0;
	}
	if (errno == ENOMEM)
		return cfg_oom(ctx);
	cfg_one_line(err);
	return cfg_error(ctx, seq->start_mark, "routes: %s", err);
}

static const char *const mode_names[] = {
    [CFG_MODE_TCP] = "tcp",
    [CFG_MODE_HTTP] = "http",
    [CFG_MODE_FORWARD] = "forward",
};

static const char *const http_keys[] = {
    "access_log",
    "log_format",
    "header_timeout",
    "idle_timeout",
    "client_timeout",
    "response_timeout",
    "forwarded",
    "via",
    "via_name",
    "max_request_line",
    "max_header",
    "max_headers_size",
    "max_headers",
    "max_body",
    "h2c",
};
enum {
	HK_ACCESS_LOG,
	HK_LOG_FORMAT,
	HK_HEADER_TO,
	HK_IDLE_TO,
	HK_CLIENT_TO,
	HK_RESPONSE_TO,
	HK_FORWARDED,
	HK_VIA,
	HK_VIA_NAME,
	HK_MAX_LINE,
	HK_MAX_FIELD,
	HK_MAX_HEAD,
	HK_MAX_FIELDS,
	HK_MAX_BODY,
	HK_H2C,
};

static int cfg_get_limit(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, uint64_t min,
			 uint64_t max, uint32_t *out)
{
	uint64_t x = 0;
	int ret;

	ret = cfg_get_size(ctx, n, key, min, max, &x);
	if (!ret)
		*out = (uint32_t)x;
	return ret;
}

static void cfg_http_defaults(struct cfg_http *h)
{
	h->log_format = CFG_LOG_COMBINED;
	h->header_timeout_ms = CFG_DEF_HEADER_MS;
	h->idle_timeout_ms = CFG_DEF_IDLE_MS;
	h->client_timeout_ms = CFG_DEF_CLIENT_MS;
	h->response_timeout_ms = CFG_DEF_RESPONSE_MS;
	h->limits = h1_limits_default;
	h->fwd = CFG_FWD_XFF;
	strcpy(h->via_name, CFG_DEF_VIA_NAME);
}

static int cfg_parse_http(struct cfg_ctx *ctx, yaml_node_t *map, enum cfg_mode mode,
			  struct cfg_http *h)
{
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	yaml_node_t *val;
	int ret, choice = 0;
	const char *v;
	uint64_t x = 0;
	size_t k;

	/* "http:" with everything commented out means "all defaults". */
	if (cfg_is_null(map))
		return 0;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "http");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "http", http_keys, ARRAY_SIZE(http_keys), &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case HK_ACCESS_LOG:
			ret = cfg_scalar(ctx, val, "access_log", &v);
			if (ret)
				break;
			if (!strcmp(v, "off"))
				h->access_log[0] = '\0';
			else if (!strcmp(v, "stdout"))
				strcpy(h->access_log, "-");
			/* The proxy may chdir; a relative path would move with it. */
			else if (v[0] == '/' && strlen(v) < CFG_PATH_MAX)
				strcpy(h->access_log, v);
			else
				ret = cfg_error(ctx, val->start_mark,
						"access_log: '%s' is not off, stdout, or an "
						"absolute path shorter than %d bytes",
						Q(v), CFG_PATH_MAX);
			break;
		case HK_LOG_FORMAT:
			ret = cfg_get_choice(ctx, val, "log_format", log_format_names,
					     ARRAY_SIZE(log_format_names), &choice);
			h->log_format = (enum cfg_log_format)choice;
			break;
		case HK_HEADER_TO:
			ret = cfg_get_duration(ctx, val, "header_timeout", CFG_TIMEOUT_MIN_MS,
					       CFG_TIMEOUT_MAX_MS, false, &h->header_timeout_ms);
			break;
		case HK_IDLE_TO:
			ret = cfg_get_duration(ctx, val, "idle_timeout", CFG_TIMEOUT_MIN_MS,
					       CFG_TIMEOUT_MAX_MS, false, &h->idle_timeout_ms);
			break;
		case HK_CLIENT_TO:
			ret = cfg_get_duration(ctx, val, "client_timeout", CFG_TIMEOUT_MIN_MS,
					       CFG_TIMEOUT_MAX_MS, false, &h->client_timeout_ms);
			break;
		case HK_RESPONSE_TO:
			ret = cfg_get_duration(ctx, val, "response_timeout", CFG_TIMEOUT_MIN_MS,
					       CFG_TIMEOUT_MAX_MS, false, &h->response_timeout_ms);
			break;
		case HK_FORWARDED:
			ret = cfg_get_choice(ctx, val, "forwarded", fwd_names,
					     ARRAY_SIZE(fwd_names), &choice);
			h->fwd = (enum cfg_fwd)choice;
			break;
		case HK_VIA:
			ret = cfg_get_bool(ctx, val, "via", &h->via);
			break;
		case HK_VIA_NAME:
			ret = cfg_scalar(ctx, val, "via_name", &v);
			if (ret)
				break;
			/* RFC 9110 7.6.3: a pseudonym is a token; it goes out verbatim. */
			if (!cfg_is_token(v) || strlen(v) >= sizeof(h->via_name))
				ret = cfg_error(ctx, val->start_mark,
						"via_name: bad value '%s': use 1 to %zu token "
						"characters (RFC 9110)",
						Q(v), sizeof(h->via_name) - 1);
			else
				strcpy(h->via_name, v);
			break;
		case HK_MAX_LINE:
			ret = cfg_get_limit(ctx, val, "max_request_line", CFG_LINE_MIN,
					    CFG_HEAD_MAX, &h->limits.max_start_line);
			break;
		case HK_MAX_FIELD:
			ret = cfg_get_limit(ctx, val, "max_header", CFG_LINE_MIN, CFG_HEAD_MAX,
					    &h->limits.max_field);
			break;
		case HK_MAX_HEAD:
			ret = cfg_get_limit(ctx, val, "max_headers_size", CFG_HEAD_MIN,
					    CFG_HEAD_MAX, &h->limits.max_head);
			break;
		case HK_MAX_FIELDS:
			ret = cfg_get_uint(ctx, val, "max_headers", 1, H1_FIELDS_MAX, &x);
			h->limits.max_fields = (uint32_t)x;
			break;
		case HK_MAX_BODY:
			ret = cfg_get_size(ctx, val, "max_body", 0, UINT64_MAX, &x);
			h->limits.max_body = x ? x : UINT64_MAX;
			break;
		case HK_H2C:
			ret = cfg_get_bool(ctx, val, "h2c", &h->h2c);
			/* a forward proxy's clients speak HTTP/1.1 to it (RFC 9113 has no proxy
			 * form) */
			if (!ret && h->h2c && mode != CFG_MODE_HTTP)
				ret = cfg_error(ctx, val->start_mark,
						"h2c: only for mode http (this listener is mode "
						"%s)",
						mode_names[mode]);
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------------- forward proxy */

/* Less than this is shorter than one retransmission; more, clients have given up. */
#define CFG_DNS_TIMEOUT_MIN_MS 100u
#define CFG_DNS_TIMEOUT_MAX_MS 60000u

static const char *const fwdm_names[] = {
    [CFG_FWDM_ANY] = "any",
    [CFG_FWDM_CONNECT] = "connect",
    [CFG_FWDM_HTTP] = "http",
};
/* In the order of bool deny. */
static const char *const action_names[] = {"allow", "deny"};

/*
 * A non-empty list of scalars named 'key' into a new array of strdup'ed
 * strings, each vetted by check(ctx, item, value, idx, arg) where it stands.
 * *nr counts the strings stored so far, so cfg_free frees them when an item
 * fails. An empty or null list is refused with 'hint', which says how to
 * get what an empty list might seem to mean.
 */
static int cfg_parse_strings(struct cfg_ctx *ctx, yaml_node_t *seq, const char *key,
			     const char *hint, size_t max, char ***arr, size_t *nr,
			     int (*check)(struct cfg_ctx *ctx, yaml_node_t *item, const char *v,
					  size_t idx, void *arg),
			     void *arg)
{
	size_t n;
	int ret;

	if (cfg_is_null(seq))
		return cfg_error(ctx, seq->start_mark, "%s: empty list (%s)", key, hint);
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, key);
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return cfg_error(ctx, seq->start_mark, "%s: empty list (%s)", key, hint);
	if (n > max)
		return cfg_error(ctx,
				 cfg_node(ctx, seq->data.sequence.items.start[max])->start_mark,
				 "%s: more than %zu items", key, max);
	*arr = calloc(n, sizeof(**arr));
	if (!*arr)
		return cfg_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, seq->data.sequence.items.start[i]);
		const char *v;

		ret = cfg_scalar(ctx, item, key, &v);
		if (!ret && check)
			ret = check(ctx, item, v, i, arg);
		if (!ret)
			ret = cfg_strdup(ctx, v, &(*arr)[i]);
		if (ret)
			return ret;
		*nr = i + 1;
	}
	return 0;
}

/* The prefixes of one clients list so far, to refuse a repeat. */
struct cfg_prefixes {
	const char *key; /* "clients" */
	struct cidr_prefix *p;
};

static int cfg_check_client(struct cfg_ctx *ctx, yaml_node_t *item, const char *v, size_t idx,
			    void *arg)
{
	struct cfg_prefixes *ps = arg;
	char err[CFG_ERR_MAX] = "";

	if (cidr_parse(v, &ps->p[idx], err, sizeof(err))) {
		cfg_one_line(err);
		return cfg_error(ctx, item->start_mark, "%s: bad prefix: %s", ps->key, err);
	}
	for (size_t i = 0; i < idx; i++) {
		if (!memcmp(&ps->p[i], &ps->p[idx], sizeof(ps->p[i])))
			return cfg_error(ctx, item->start_mark,
					 "%s: '%s' is the same prefix as item %zu", ps->key, Q(v),
					 i);
	}
	return 0;
}

/* A list of client CIDRs (forward.clients, a rule's clients). */
static int cfg_parse_clients(struct cfg_ctx *ctx, yaml_node_t *seq, const char *hint, char ***arr,
			     size_t *nr)
{
	struct cfg_prefixes ps = {"clients", NULL};
	size_t n = 1;
	int ret;

	if (seq->type == YAML_SEQUENCE_NODE)
		n += (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	ps.p = calloc(n, sizeof(*ps.p));
	if (!ps.p)
		return cfg_oom(ctx);
	ret =
	    cfg_parse_strings(ctx, seq, "clients", hint, SIZE_MAX, arr, nr, cfg_check_client, &ps);
	free(ps.p);
	return ret;
}

/* A list of ports 1..65535 without repeats, under key; [] is refused with hint. */
static int cfg_parse_port_list(struct cfg_ctx *ctx, yaml_node_t *seq, const char *key,
			       const char *hint, uint16_t **out, size_t *nr)
{
	uint64_t x = 0;
	size_t n = 0;
	int ret;

	if (!cfg_is_null(seq)) {
		ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, key);
		if (ret)
			return ret;
		n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	}
	if (!n)
		return cfg_error(ctx, seq->start_mark, "%s: empty list (%s)", key, hint);
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return cfg_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = cfg_node(ctx, seq->data.sequence.items.start[i]);

		ret = cfg_get_uint(ctx, item, key, 1, 65535, &x);
		if (ret)
			return ret;
		for (size_t j = 0; j < i; j++) {
			if ((*out)[j] == x)
				return cfg_error(ctx, item->start_mark, "%s: %llu is listed twice",
						 key, (unsigned long long)x);
		}
		(*out)[i] = (uint16_t)x;
		*nr = i + 1;
	}
	return 0;
}

static int cfg_parse_connect_ports(struct cfg_ctx *ctx, yaml_node_t *seq, struct cfg_forward *f)
{
	/* No CONNECT at all is a rule's job: one list, one meaning. */
	return cfg_parse_port_list(ctx, seq, "connect_ports",
				   "to refuse every CONNECT, add a rule with action: deny and "
				   "methods: connect",
				   &f->connect_ports, &f->nr_connect_ports);
}

/* A cgroup v2 path, absolute or relative to the cgroup v2 root: no "..", printable. */
static int cfg_get_cgroup(struct cfg_ctx *ctx, yaml_node_t *n, char *out)
{
	const char *v;
	int ret;

	ret = cfg_scalar(ctx, n, "intercept_cgroup", &v);
	if (ret)
		return ret;
	if (!*v || strlen(v) >= CFG_PATH_MAX || strstr(v, ".."))
		return cfg_error(ctx, n->start_mark,
				 "intercept_cgroup: '%s' must be a cgroup path (below the cgroup "
				 "v2 root), without '..', shorter than %d bytes",
				 Q(v), CFG_PATH_MAX);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return cfg_error(ctx, n->start_mark,
					 "intercept_cgroup: '%s': only printable characters, "
					 "no spaces",
					 Q(v));
	strcpy(out, v);
	return 0;
}

/*
 * Says why s[0, len) is not one c-ares server (ares_set_servers_ports_csv:
 * a.b.c.d[:port], [v6]:port, or a bare v6 address; c-ares 1.18 misreads
 * "[v6]" without a port), or NULL and fills *ss (port 53 when none).
 */
static const char *cfg_dns_server_why(const char *s, size_t len, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char buf[64];
	const char *colon, *p;
	size_t ncolons = 0;

	if (!len)
		return "empty item";
	if (len >= sizeof(buf))
		return "too long";
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (p = buf; *p; p++)
		ncolons += *p == ':';
	memset(ss, 0, sizeof(*ss));
	if (buf[0] == '[') {
		socklen_t slen;

		if (!strchr(buf, ']') || strchr(buf, ']')[1] != ':')
			return "write [addr]:port, or the IPv6 address without brackets";
		return cfg_addr_why(buf, ss, &slen);
	}
	if (ncolons > 1) {
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return "not an IPv6 address";
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
		return NULL;
	}
	colon = strchr(buf, ':');
	if (colon) {
		socklen_t slen;

		return cfg_addr_why(buf, ss, &slen);
	}
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
		return "not an IPv4 address";
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53);
	return NULL;
}

static int cfg_get_dns_servers(struct cfg_ctx *ctx, yaml_node_t *n, char *out, size_t outlen)
{
	/* A server takes at least 3 bytes with its comma ("::,"). */
	struct sockaddr_storage addrs[sizeof(((struct cfg_forward *)0)->dns_servers) / 3 + 1];
	char item[sizeof(((struct cfg_forward *)0)->dns_servers)];
	const char *v, *s, *end, *why;
	size_t nr = 0, len;
	int ret;

	ret = cfg_scalar(ctx, n, "dns_servers", &v);
	if (ret)
		return ret;
	if (!*v)
		return cfg_error(ctx, n->start_mark,
				 "dns_servers: empty (leave it out to use the system's resolvers)");
	if (strlen(v) >= outlen)
		return cfg_error(ctx, n->start_mark, "dns_servers: longer than %zu bytes",
				 outlen - 1);
	for (s = v;; s = end + 1) {
		end = strchr(s, ',');
		len = end ? (size_t)(end - s) : strlen(s);
		/* For messages; v is shorter than item, so it fits. */
		memcpy(item, s, len);
		item[len] = '\0';
		why = memchr(s, ' ', len) ? "spaces are not allowed"
					  : cfg_dns_server_why(s, len, &addrs[nr]);
		if (why)
			return cfg_error(ctx, n->start_mark, "dns_servers: bad server '%s': %s",
					 Q(item), why);
		for (size_t i = 0; i < nr; i++) {
			if (cfg_addr_equal(&addrs[i], &addrs[nr]))
				return cfg_error(ctx, n->start_mark,
						 "dns_servers: server '%s' is listed twice",
						 Q(item));
		}
		nr++;
		if (!end)
			break;
	}
	strcpy(out, v);
	return 0;
}

/* RFC 9110 11.5: a realm is a quoted-string; keeping out '"' and '\' spares us escaping. */
static int cfg_get_realm(struct cfg_ctx *ctx, yaml_node_t *n, char *out, size_t outlen)
{
	const char *v;
	size_t i;
	int ret;

	ret = cfg_scalar(ctx, n, "auth_realm", &v);
	if (ret)
		return ret;
	for (i = 0; v[i]; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			break;
	}
	if (!i || v[i] || i >= outlen)
		return cfg_error(ctx, n->start_mark,
				 "auth_realm: bad value '%s': use 1 to %zu printable ASCII "
				 "characters but '\"' and '\\'",
				 Q(v), outlen - 1);
	strcpy(out, v);
	return 0;
}

static int cfg_get_user_agent(struct cfg_ctx *ctx, yaml_node_t *n, char *out, size_t outlen)
{
	char err[CFG_ERR_MAX] = "";
	const char *v;
	int ret;

	ret = cfg_scalar(ctx, n, "user_agent", &v);
	if (ret)
		return ret;
	if (!*v)
		return cfg_error(ctx, n->start_mark,
				 "user_agent: empty (leave it out to keep the client's)");
	if (strlen(v) >= outlen)
		return cfg_error(ctx, n->start_mark, "user_agent: longer than %zu bytes",
				 outlen - 1);
	/* The module that writes the field decides what it may hold. */
	if (fwd_conf_check(&(struct fwd_conf){.mode = FWD_HIDE, .user_agent = v}, err,
			   sizeof(err))) {
		cfg_one_line(err);
		/* Its "user-agent: " would follow our "user_agent: ". */
		return cfg_error(ctx, n->start_mark, "user_agent: %s",
				 strncmp(err, "user-agent: ", 12) ? err : err + 12);
	}
	strcpy(out, v);
	return 0;
}

/* An absolute path read later by someone else: only its form is checked here. */
static int cfg_get_abs_path(struct cfg_ctx *ctx, yaml_node_t *n, const char *key, bool empty_ok,
			    char *out)
{
	const char *v;
	int ret;

	ret = cfg_scalar(ctx, n, key, &v);
	if (ret)
		return ret;
	if (empty_ok && !*v) {
		out[0] = '\0';
		return 0;
	}
	/* The proxy may chdir; a relative path would move with it. */
	if (v[0] != '/' || strlen(v) >= CFG_PATH_MAX)
		return cfg_error(ctx, n->start_mark,
				 "%s: '%s' must be an absolute path shorter than %d bytes", key,
				 Q(v), CFG_PATH_MAX);
	strcpy(out, v);
	return 0;
}

/*
 * The policy module's checks of one rule, run on 'probe' (a rule with only
 * the values to check): ports and schedules are parsed as the proxy will
 * parse them. Its "rule 0 '<name>': " prefix gives way to ours.
 */
static int cfg_fpol_probe(struct cfg_ctx *ctx, yaml_node_t *at, const struct fpol_rule *probe)
{
	char err[CFG_ERR_MAX] = "", prefix[FPOL_NAME_MAX + 16];
	const char *msg = err;
	struct fpol *p;

	p = fpol_new(probe, 1, NULL, err, sizeof(err));
	if (p) {
		fpol_free(p);
		return 0;
	}
	if (errno == ENOMEM)
		return cfg_oom(ctx);
	snprintf(prefix, sizeof(prefix), "rule 0 '%s': ", probe->name);
	if (!strncmp(err, prefix, strlen(prefix)))
		msg += strlen(prefix);
	cfg_one_line(err);
	return cfg_error(ctx, at->start_mark, "rule '%s': %s", probe->name, msg);
}

static int cfg_check_domain(struct cfg_ctx *ctx, yaml_node_t *item, const char *v, size_t idx,
			    void *arg)
{
	char err[CFG_ERR_MAX] = "";
	struct domset *set = arg;
	size_t before = domset_size(set);
	int ret;

	(void)idx;
	ret = domset_add(set, v, strlen(v), err, sizeof(err));
	if (ret == -ENOMEM)
		return cfg_oom(ctx);
	if (ret) {
		cfg_one_line(err);
		return cfg_error(ctx, item->start_mark, "domains: %s", err);
	}
	/* The set keeps one of each: "Example.COM." after "example.com" adds nothing. */
	if (domset_size(set) == before)
		return cfg_error(ctx, item->start_mark,
				 "domains: '%s' is already in the list (as written or once "
				 "normalized)",
				 Q(v));
	return 0;
}

static int cfg_parse_domains(struct cfg_ctx *ctx, yaml_node_t *seq, struct cfg_fwd_rule *r)
{
	struct domset *set = domset_new();
	int ret;

	if (!set)
		return cfg_oom(ctx);
	ret = cfg_parse_strings(ctx, seq, "domains", "leave 'domains' out to match any destination",
				SIZE_MAX, &r->domains, &r->nr_domains, cfg_check_domain, set);
	domset_free(set);
	return ret;
}

/*
 * Time window idx, where it is written. The windows before it are valid and
 * go in too, so that sched.h's message numbers it as the file does.
 */
static int cfg_check_window(struct cfg_ctx *ctx, yaml_node_t *item, const char *v, size_t idx,
			    void *arg)
{
	const struct cfg_fwd_rule *r = arg;
	const char *w[SCHED_WINDOWS_MAX];

	for (size_t i = 0; i < idx; i++)
		w[i] = r->sched_times[i];
	w[idx] = v;
	return cfg_fpol_probe(
	    ctx, item,
	    &(struct fpol_rule){
		.name = r->name,
		.sched = &(struct fpol_sched_spec){.windows = w, .nr_windows = idx + 1},
	    });
}

static const char *const sched_keys[] = {"days", "times", "tz"};
enum { SK_DAYS, SK_TIMES, SK_TZ };

/* A schedule, one sched_parse per value so that its message points there. */
static int cfg_parse_sched(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_fwd_rule *r)
{
	struct fpol_sched_spec spec = {0};
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	yaml_node_t *val;
	const char *v;
	size_t k;
	int ret;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "schedule");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "schedule", sched_keys, ARRAY_SIZE(sched_keys), &seen, &k,
			      &val);
		if (ret)
			return ret;
		switch (k) {
		case SK_DAYS:
		case SK_TZ:
			ret = cfg_scalar(ctx, val, sched_keys[k], &v);
			if (ret)
				return ret;
			if (strlen(v) >=
			    (k == SK_DAYS ? sizeof(r->sched_days) : sizeof(r->sched_tz)))
				return cfg_error(
				    ctx, val->start_mark, "%s: longer than %zu bytes",
				    sched_keys[k],
				    (k == SK_DAYS ? sizeof(r->sched_days) : sizeof(r->sched_tz)) -
					1);
			spec = (struct fpol_sched_spec){0};
			if (k == SK_DAYS)
				spec.days = v;
			else
				spec.tz = v;
			ret = cfg_fpol_probe(ctx, val,
					     &(struct fpol_rule){.name = r->name, .sched = &spec});
			if (ret)
				return ret;
			strcpy(k == SK_DAYS ? r->sched_days : r->sched_tz, v);
			break;
		case SK_TIMES:
			ret =
			    cfg_parse_strings(ctx, val, "times", "leave 'times' out for whole days",
					      SCHED_WINDOWS_MAX, &r->sched_times,
					      &r->nr_sched_times, cfg_check_window, r);
			if (ret)
				return ret;
			break;
		}
	}
	if (!seen)
		return cfg_error(ctx, map->start_mark, "schedule: needs days, times, or both");
	r->has_schedule = true;
	if (!(seen & (1u << SK_DAYS)))
		strcpy(r->sched_days, "*");
	if (!(seen & (1u << SK_TZ)))
		strcpy(r->sched_tz, "UTC");
	if (!r->nr_sched_times) {
		r->sched_times = calloc(1, sizeof(*r->sched_times));
		if (!r->sched_times)
			return cfg_oom(ctx);
		ret = cfg_strdup(ctx, "00:00-24:00", &r->sched_times[0]);
		if (ret)
			return ret;
		r->nr_sched_times = 1;
	}
	return 0;
}

static const char *const fwd_rule_keys[] = {
    "name", "action", "domains", "domain_file", "ports", "methods", "clients", "schedule",
};
enum {
	FRK_NAME,
	FRK_ACTION,
	FRK_DOMAINS,
	FRK_DOMAIN_FILE,
	FRK_PORTS,
	FRK_METHODS,
	FRK_CLIENTS,
	FRK_SCHEDULE,
};
#define FRK_REQUIRED (1u << FRK_ACTION)

/* Matches anything: the probes need a set, not its contents. */
static bool cfg_any_host(const void *set, const char *host)
{
	(void)set;
	(void)host;
	return true;
}

static bool cfg_any_addr(const void *set, const struct sockaddr *a)
{
	(void)set;
	(void)a;
	return true;
}

/* Rule r as the policy module will get it, with stand-in sets; spec receives the schedule. */
static struct fpol_rule cfg_fpol_rule(const struct cfg_fwd_rule *r, struct fpol_sched_spec *spec)
{
	struct fpol_rule fr = {
	    .name = r->name,
	    .action = r->deny ? FPOL_DENY : FPOL_ALLOW,
	    .meth = r->methods == CFG_FWDM_CONNECT ? FPOL_METH_CONNECT
		    : r->methods == CFG_FWDM_HTTP  ? FPOL_METH_HTTP
						   : FPOL_METH_ANY,
	    .ports = r->ports[0] ? r->ports : NULL,
	};

	if (r->domains || r->domain_file[0])
		fr.dst.match = cfg_any_host;
	if (r->clients)
		fr.src.match = cfg_any_addr;
	if (r->has_schedule) {
		*spec = (struct fpol_sched_spec){
		    .days = r->sched_days,
		    .windows = (const char *const *)r->sched_times,
		    .nr_windows = r->nr_sched_times,
		    .tz = r->sched_tz,
		};
		fr.sched = spec;
	}
	return fr;
}

static int cfg_parse_fwd_rule(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_forward *f = &ctx->cfg->listeners[ctx->cur_listener].forward;
	struct cfg_fwd_rule *r = &f->rules[idx];
	struct fpol_sched_spec spec;
	struct fpol_rule fr;
	yaml_node_pair_t *pair;
	yaml_node_t *val, *name;
	uint32_t seen = 0;
	int ret, choice = 0;
	const char *v;
	size_t k;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "rule");
	if (ret)
		return ret;
	/* Messages about any key name the rule, so learn its name first. */
	name = cfg_lookup(ctx, map, "name");
	if (name && name->type == YAML_SCALAR_NODE && !cfg_is_null(name) &&
	    cfg_name_ok((const char *)name->data.scalar.value))
		strcpy(r->name, (const char *)name->data.scalar.value);
	else
		snprintf(r->name, sizeof(r->name), "rule%zu", idx);

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "rule", fwd_rule_keys, ARRAY_SIZE(fwd_rule_keys), &seen,
			      &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case FRK_NAME:
			ret = cfg_get_name(ctx, val, "name", r->name);
			for (size_t i = 0; !ret && i < idx; i++) {
				if (!strcmp(f->rules[i].name, r->name))
					ret = cfg_error(ctx, val->start_mark,
							"duplicate rule name '%s'", r->name);
			}
			break;
		case FRK_ACTION:
			ret = cfg_get_choice(ctx, val, "action", action_names,
					     ARRAY_SIZE(action_names), &choice);
			r->deny = choice;
			break;
		case FRK_DOMAINS:
			ret = cfg_parse_domains(ctx, val, r);
			break;
		case FRK_DOMAIN_FILE:
			ret = cfg_get_abs_path(ctx, val, "domain_file", false, r->domain_file);
			break;
		case FRK_PORTS:
			ret = cfg_scalar(ctx, val, "ports", &v);
			if (ret)
				break;
			if (strlen(v) >= sizeof(r->ports)) {
				ret =
				    cfg_error(ctx, val->start_mark, "ports: longer than %zu bytes",
					      sizeof(r->ports) - 1);
				break;
			}
			ret = cfg_fpol_probe(ctx, val,
					     &(struct fpol_rule){.name = r->name, .ports = v});
			if (!ret)
				strcpy(r->ports, v);
			break;
		case FRK_METHODS:
			ret = cfg_get_choice(ctx, val, "methods", fwdm_names,
					     ARRAY_SIZE(fwdm_names), &choice);
			r->methods = (enum cfg_fwd_methods)choice;
			break;
		case FRK_CLIENTS:
			ret = cfg_parse_clients(ctx, val, "leave 'clients' out to match any client",
						&r->clients, &r->nr_clients);
			break;
		case FRK_SCHEDULE:
			ret = cfg_parse_sched(ctx, val, r);
			break;
		}
		if (ret)
			return ret;
	}
	ret = cfg_missing(ctx, map, "rule", fwd_rule_keys, FRK_REQUIRED, seen);
	if (ret)
		return ret;
	if (!(seen & (1u << FRK_NAME))) {
		for (size_t i = 0; i < idx; i++) {
			if (!strcmp(f->rules[i].name, r->name))
				return cfg_error(ctx, map->start_mark,
						 "rule name '%s' (the default for this rule) is "
						 "already used: give it a name",
						 r->name);
		}
	}
	/* Every value passed on its own; this catches whatever spans several. */
	fr = cfg_fpol_rule(r, &spec);
	return cfg_fpol_probe(ctx, map, &fr);
}

static void cfg_strings_free(char **arr, size_t n)
{
	for (size_t i = 0; arr && i < n; i++)
		free(arr[i]);
	free(arr);
}

static void cfg_forward_free(struct cfg_forward *f)
{
	cfg_strings_free(f->clients, f->nr_clients);
	free(f->connect_ports);
	free(f->http_ports);
	free(f->intercept_ports);
	for (size_t i = 0; f->rules && i < f->nr_rules; i++) {
		struct cfg_fwd_rule *r = &f->rules[i];

		cfg_strings_free(r->domains, r->nr_domains);
		cfg_strings_free(r->clients, r->nr_clients);
		cfg_strings_free(r->sched_times, r->nr_sched_times);
	}
	free(f->rules);
}

/*
 * The whole policy the proxy will build from a listener's rules, with
 * connect_ports as it will pass them. Each rule passed alone, so this only
 * fails for want of memory, or if rules.h gains a check across rules.
 */
static int cfg_check_policy(struct cfg_ctx *ctx, yaml_node_t *at, const struct cfg_forward *f)
{
	struct fpol_sched_spec *specs;
	struct fpol_rule *rules;
	char err[CFG_ERR_MAX] = "", *ports;
	size_t off = 0;
	struct fpol *p;
	int ret = 0;

	rules = calloc(f->nr_rules, sizeof(*rules));
	specs = calloc(f->nr_rules, sizeof(*specs));
	/* "65535," is the longest item. */
	ports = malloc(f->nr_connect_ports * 6 + 1);
	if (!rules || !specs || !ports) {
		ret = cfg_oom(ctx);
		goto out;
	}
	for (size_t i = 0; i < f->nr_rules; i++)
		rules[i] = cfg_fpol_rule(&f->rules[i], &specs[i]);
	ports[0] = '\0';
	for (size_t i = 0; i < f->nr_connect_ports; i++)
		off += (size_t)sprintf(ports + off, "%s%u", i ? "," : "", f->connect_ports[i]);
	p = fpol_new(rules, f->nr_rules, &(struct fpol_opts){.connect_ports = ports}, err,
		     sizeof(err));
	if (p) {
		fpol_free(p);
		goto out;
	}
	if (errno == ENOMEM) {
		ret = cfg_oom(ctx);
		goto out;
	}
	cfg_one_line(err);
	ret = cfg_error(ctx, at->start_mark, "rules: %s", err);
out:
	free(ports);
	free(specs);
	free(rules);
	return ret;
}

static const char *const forward_keys[] = {
    "clients",	     "auth_file",     "auth_realm", "anonymous",	"user_agent",
    "connect_ports", "allow_private", "parent",	    "dns_servers",	"dns_timeout",
    "rules",	     "transparent",   "http_ports", "intercept_cgroup", "intercept_ports",
};
enum {
	FK_CLIENTS,
	FK_AUTH_FILE,
	FK_AUTH_REALM,
	FK_ANONYMOUS,
	FK_USER_AGENT,
	FK_CONNECT_PORTS,
	FK_ALLOW_PRIVATE,
	FK_PARENT,
	FK_DNS_SERVERS,
	FK_DNS_TIMEOUT,
	FK_RULES,
	FK_TRANSPARENT,
	FK_HTTP_PORTS,
	FK_INTERCEPT_CGROUP,
	FK_INTERCEPT_PORTS,
};

/* What a forward listener gets for what its forward block leaves out. */
static int cfg_forward_defaults(struct cfg_ctx *ctx, struct cfg_forward *f)
{
	static const char *const loopback[] = {"127.0.0.0/8", "::1"};
	int ret;

	if (!f->clients) {
		f->clients = calloc(ARRAY_SIZE(loopback), sizeof(*f->clients));
		if (!f->clients)
			return cfg_oom(ctx);
		for (size_t i = 0; i < ARRAY_SIZE(loopback); i++) {
			ret = cfg_strdup(ctx, loopback[i], &f->clients[i]);
			if (ret)
				return ret;
			f->nr_clients = i + 1;
		}
	}
	if (!f->connect_ports) {
		f->connect_ports = calloc(1, sizeof(*f->connect_ports));
		if (!f->connect_ports)
			return cfg_oom(ctx);
		f->connect_ports[0] = CFG_DEF_CONNECT_PORT;
		f->nr_connect_ports = 1;
	}
	return 0;
}

static int cfg_parse_forward(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_listener *l)
{
	yaml_node_t *val, *realm_node = NULL, *ua_node = NULL, *rules_node = NULL;
	yaml_node_t *transp_node = NULL, *ip_node = NULL;
	struct cfg_forward *f = &l->forward;
	struct sockaddr_in6 *p6 = (struct sockaddr_in6 *)&f->parent;
	struct sockaddr_in *p4 = (struct sockaddr_in *)&f->parent;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	size_t k;
	int ret;

	/* "forward:" with everything commented out means "all defaults". */
	if (cfg_is_null(map))
		return 0;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "forward");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "forward", forward_keys, ARRAY_SIZE(forward_keys), &seen,
			      &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case FK_CLIENTS:
			ret = cfg_parse_clients(ctx, val,
						"nobody could use the proxy; leave 'clients' out "
						"for loopback only",
						&f->clients, &f->nr_clients);
			break;
		case FK_AUTH_FILE:
			ret = cfg_get_abs_path(ctx, val, "auth_file", true, f->auth_file);
			break;
		case FK_AUTH_REALM:
			ret = cfg_get_realm(ctx, val, f->auth_realm, sizeof(f->auth_realm));
			realm_node = val;
			break;
		case FK_ANONYMOUS:
			ret = cfg_get_bool(ctx, val, "anonymous", &f->anonymous);
			break;
		case FK_USER_AGENT:
			ret = cfg_get_user_agent(ctx, val, f->user_agent, sizeof(f->user_agent));
			ua_node = val;
			break;
		case FK_CONNECT_PORTS:
			ret = cfg_parse_connect_ports(ctx, val, f);
			break;
		case FK_ALLOW_PRIVATE:
			ret = cfg_get_bool(ctx, val, "allow_private", &f->allow_private);
			break;
		case FK_PARENT:
			ret = cfg_get_addr(ctx, val, "parent", &f->parent, &f->parent_len,
					   f->parent_str);
			if (ret)
				break;
			/* Linux connects to 0.0.0.0 as to itself: surely not a parent proxy. */
			if (f->parent.ss_family == AF_INET
				? p4->sin_addr.s_addr == htonl(INADDR_ANY)
				: IN6_IS_ADDR_UNSPECIFIED(&p6->sin6_addr))
				ret = cfg_error(ctx, val->start_mark,
						"parent: %s: the unspecified address is not a "
						"proxy to connect to",
						f->parent_str);
			f->has_parent = true;
			break;
		case FK_DNS_SERVERS:
			ret = cfg_get_dns_servers(ctx, val, f->dns_servers, sizeof(f->dns_servers));
			break;
		case FK_DNS_TIMEOUT:
			ret = cfg_get_duration(ctx, val, "dns_timeout", CFG_DNS_TIMEOUT_MIN_MS,
					       CFG_DNS_TIMEOUT_MAX_MS, false, &f->dns_timeout_ms);
			break;
		case FK_RULES:
			ret = cfg_parse_list(ctx, val, "rules", (void **)&f->rules, &f->nr_rules,
					     sizeof(*f->rules), cfg_parse_fwd_rule);
			rules_node = val;
			break;
		case FK_TRANSPARENT:
			ret = cfg_get_bool(ctx, val, "transparent", &f->transparent);
			break;
		case FK_HTTP_PORTS:
			ret = cfg_parse_port_list(ctx, val, "http_ports",
						  "leave it out for port 80; every intercepted "
						  "port not listed is a tunnel",
						  &f->http_ports, &f->nr_http_ports);
			transp_node = transp_node ? transp_node : val;
			break;
		case FK_INTERCEPT_CGROUP:
			ret = cfg_get_cgroup(ctx, val, f->intercept_cgroup);
			transp_node = transp_node ? transp_node : val;
			break;
		case FK_INTERCEPT_PORTS:
			ret = cfg_parse_port_list(ctx, val, "intercept_ports",
						  "leave it out for ports 80 and 443",
						  &f->intercept_ports, &f->nr_intercept_ports);
			ip_node = val;
			transp_node = transp_node ? transp_node : val;
			break;
		}
		if (ret)
			return ret;
	}
	/* A setting that can have no effect is surely a mistake. */
	if (ua_node && !f->anonymous)
		return cfg_error(ctx, ua_node->start_mark,
				 "user_agent: only with anonymous: true (it replaces the "
				 "client's User-Agent to hide it)");
	if (realm_node && !f->auth_file[0])
		return cfg_error(ctx, realm_node->start_mark,
				 "auth_realm: only with an auth_file (there is no "
				 "authentication to name)");
	if (transp_node && !f->transparent)
		return cfg_error(ctx, transp_node->start_mark,
				 "only with transparent: true (intercepted connections are what "
				 "this is about)");
	if (ip_node && !f->intercept_cgroup[0])
		return cfg_error(ctx, ip_node->start_mark,
				 "intercept_ports: only with intercept_cgroup (xdproxy intercept "
				 "--ports sets them otherwise)");
	ret = cfg_forward_defaults(ctx, f);
	if (!ret && f->nr_rules)
		ret = cfg_check_policy(ctx, rules_node, f);
	return ret;
}

/*
 * anonymous: true means the origin learns nothing of the client: the
 * listener's http block must not ask for the opposite.
 */
static int cfg_check_anonymous(struct cfg_ctx *ctx, yaml_node_t *http, struct cfg_listener *l)
{
	yaml_node_t *n;

	if (!l->forward.anonymous)
		return 0;
	n = http ? cfg_lookup(ctx, http, "forwarded") : NULL;
	if (n && l->http.fwd != CFG_FWD_HIDE)
		return cfg_error(ctx, n->start_mark,
				 "forwarded: %s would tell the origin about the client, but "
				 "forward.anonymous is true (use hide, or leave it out)",
				 fwd_names[l->http.fwd]);
	n = http ? cfg_lookup(ctx, http, "via") : NULL;
	if (n && l->http.via)
		return cfg_error(ctx, n->start_mark,
				 "via: true would name this proxy, but forward.anonymous is true");
	l->http.fwd = CFG_FWD_HIDE;
	return 0;
}

/* ---------------------------------------------------------------- listeners */

static const char *const listener_keys[] = {
    "name",	  "bind",	   "pool",
    "mode",	  "splice",	   "sndbuf",
    "rcvbuf",	  "splice_budget", "connect_timeout",
    "backlog",	  "workers",	   "http",
    "routes",	  "forward",	   "tls",
    "sni_routes",
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
	LK_WORKERS,
	LK_HTTP,
	LK_ROUTES,
	LK_FORWARD,
	LK_TLS,
	LK_SNI,
};
/* pool too, in mode tcp: checked once the walk is done. */
#define LK_REQUIRED ((1u << LK_NAME) | (1u << LK_BIND))

static const char *const splice_names[] = {
    [CFG_SPLICE_KERNEL] = "kernel",
    [CFG_SPLICE_USER] = "user",
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

static const char *const sni_route_keys[] = {"names", "pool"};
enum { SK_NAMES, SK_POOL };

/* One of a tcp listener's sni_routes: ClientHello names -> a pool. */
static int cfg_parse_sni_route(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_listener *l = &ctx->cfg->listeners[ctx->cur_listener];
	struct cfg_sni_route *r = &l->sni_routes[idx];
	yaml_node_pair_t *pair;
	yaml_node_t *val;
	uint32_t seen = 0;
	size_t k;
	int ret;

	r->pool = SIZE_MAX;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "sni_route");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "sni_route", sni_route_keys, ARRAY_SIZE(sni_route_keys),
			      &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case SK_NAMES: {
			struct domset *set = domset_new();

			if (!set)
				return cfg_oom(ctx);
			/* "a.example" exactly, "*.example" strict subdomains, ".example" both */
			ret = cfg_parse_strings(ctx, val, "names", "a route needs a name to match",
						SIZE_MAX, &r->names, &r->nr_names, cfg_check_domain,
						set);
			domset_free(set);
			break;
		}
		case SK_POOL:
			ret = cfg_get_name(ctx, val, "pool", (char[CFG_NAME_MAX]){0});
			if (!ret)
				ret = cfg_add_ref(ctx, val, ctx->cur_listener, CFG_REF_SNI | idx);
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "sni_route", sni_route_keys,
			   (1u << SK_NAMES) | (1u << SK_POOL), seen);
}

static const char *const tls_keys[] = {
    "certificates", "h2", "tickets", "ticket_rotation", "session_cache",
};
enum { TK_CERTS, TK_H2, TK_TICKETS, TK_ROTATE, TK_CACHE };

static const char *const tls_cert_keys[] = {"cert", "key", "ocsp", "default"};
enum { TCK_CERT, TCK_KEY, TCK_OCSP, TCK_DEFAULT };

static int cfg_parse_tls_cert(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_tls *t = ctx->cur_tls;
	struct cfg_tls_cert *c = &t->certs[idx];
	yaml_node_pair_t *pair;
	yaml_node_t *val;
	uint32_t seen = 0;
	size_t k;
	int ret;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "certificate");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "certificate", tls_cert_keys, ARRAY_SIZE(tls_cert_keys),
			      &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case TCK_CERT:
			ret = cfg_get_abs_path(ctx, val, "cert", false, c->cert);
			break;
		case TCK_KEY:
			ret = cfg_get_abs_path(ctx, val, "key", false, c->key);
			break;
		case TCK_OCSP:
			ret = cfg_get_abs_path(ctx, val, "ocsp", false, c->ocsp);
			break;
		case TCK_DEFAULT:
			ret = cfg_get_bool(ctx, val, "default", &c->is_default);
			for (size_t i = 0; !ret && c->is_default && i < idx; i++)
				if (t->certs[i].is_default)
					ret = cfg_error(ctx, val->start_mark,
							"default: certificate %zu is the default "
							"already",
							i);
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "certificate", tls_cert_keys,
			   (1u << TCK_CERT) | (1u << TCK_KEY), seen);
}

/* A listener's tls block: which certificates, what to offer. The proxy reads the files. */
static int cfg_parse_tls(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_tls *t)
{
	yaml_node_pair_t *pair;
	yaml_node_t *val;
	uint32_t seen = 0;
	uint64_t x = 0;
	size_t k;
	int ret;

	t->h2 = false;
	t->tickets = true;
	t->ticket_rotate_ms = CFG_DEF_TICKET_ROTATE_MS;
	t->session_cache = CFG_DEF_SESSION_CACHE;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "tls");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "tls", tls_keys, ARRAY_SIZE(tls_keys), &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case TK_CERTS:
			ctx->cur_tls = t;
			ret = cfg_parse_list(ctx, val, "certificates", (void **)&t->certs,
					     &t->nr_certs, sizeof(*t->certs), cfg_parse_tls_cert);
			if (!ret && !t->nr_certs)
				ret =
				    cfg_error(ctx, val->start_mark,
					      "certificates: at least one is needed to speak TLS");
			break;
		case TK_H2:
			ret = cfg_get_bool(ctx, val, "h2", &t->h2);
			break;
		case TK_TICKETS:
			ret = cfg_get_bool(ctx, val, "tickets", &t->tickets);
			break;
		case TK_ROTATE:
			ret = cfg_get_duration(ctx, val, "ticket_rotation", 60000, 86400000, false,
					       &t->ticket_rotate_ms);
			break;
		case TK_CACHE:
			ret = cfg_get_uint(ctx, val, "session_cache", 0, 1u << 20, &x);
			t->session_cache = (uint32_t)x;
			break;
		}
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, "tls", tls_keys, 1u << TK_CERTS, seen);
}

static int cfg_parse_listener(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_listener *l = &ctx->cfg->listeners[idx];
	yaml_node_t *val, *mode, *http = NULL;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	int ret, choice = 0;
	uint64_t x = 0;
	size_t k;

	ctx->cur_listener = idx;
	l->mode = CFG_MODE_TCP;
	l->workers = CFG_DEF_WORKERS;
	l->pool = SIZE_MAX;
	l->splice = CFG_SPLICE_KERNEL;
	l->sndbuf = CFG_DEF_SNDBUF;
	l->rcvbuf = CFG_DEF_RCVBUF;
	l->splice_budget = CFG_DEF_SPLICE_BUDGET;
	l->connect_timeout_ms = CFG_DEF_CONNECT_MS;
	l->backlog = CFG_DEF_BACKLOG;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "listener");
	if (ret)
		return ret;
	mode = cfg_lookup(ctx, map, "mode");
	if (mode) {
		ret =
		    cfg_get_choice(ctx, mode, "mode", mode_names, ARRAY_SIZE(mode_names), &choice);
		if (ret)
			return ret;
		l->mode = (enum cfg_mode)choice;
	}
	if (l->mode != CFG_MODE_TCP)
		cfg_http_defaults(&l->http);
	if (l->mode == CFG_MODE_FORWARD) {
		strcpy(l->forward.auth_realm, CFG_DEF_REALM);
		l->forward.dns_timeout_ms = CFG_DEF_DNS_TIMEOUT_MS;
	}
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
			if (l->mode == CFG_MODE_FORWARD) {
				ret = cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
						"pool: not for mode forward (a forward proxy "
						"connects where each request says)");
				break;
			}
			/* Same rules as a pool's own name; resolved after the walk. */
			ret = cfg_get_name(ctx, val, "pool", (char[CFG_NAME_MAX]){0});
			if (!ret)
				ret = cfg_add_ref(ctx, val, idx, SIZE_MAX);
			break;
		case LK_MODE:
			/* Read above, before the keys that depend on it. */
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
		case LK_WORKERS:
			ret = cfg_get_uint(ctx, val, "workers", 1, CFG_WORKERS_MAX, &x);
			/* The TCP proxy and its splice slots live in one event loop. */
			if (!ret && l->mode == CFG_MODE_TCP && x != 1)
				ret = cfg_error(ctx, val->start_mark,
						"workers: mode tcp runs 1 worker for now");
			l->workers = (uint32_t)x;
			break;
		case LK_HTTP:
			if (l->mode == CFG_MODE_TCP) {
				ret = cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
						"http: only for modes http and forward (this "
						"listener is mode tcp)");
				break;
			}
			ret = cfg_parse_http(ctx, val, l->mode, &l->http);
			http = val;
			break;
		case LK_ROUTES:
			if (l->mode != CFG_MODE_HTTP) {
				ret = cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
						"routes: only for mode http (this listener is mode "
						"%s)",
						mode_names[l->mode]);
				break;
			}
			ret = cfg_parse_routes(ctx, val, l);
			break;
		case LK_SNI:
			if (l->mode != CFG_MODE_TCP) {
				ret = cfg_error(
				    ctx, cfg_node(ctx, pair->key)->start_mark,
				    "sni_routes: only for mode tcp (TLS passthrough; this "
				    "listener is mode %s)",
				    mode_names[l->mode]);
				break;
			}
			ret = cfg_parse_list(ctx, val, "sni_routes", (void **)&l->sni_routes,
					     &l->nr_sni_routes, sizeof(*l->sni_routes),
					     cfg_parse_sni_route);
			if (!ret && !l->nr_sni_routes)
				ret =
				    cfg_error(ctx, val->start_mark,
					      "sni_routes: empty list (leave it out to send every "
					      "client to the pool)");
			break;
		case LK_TLS:
			if (l->mode != CFG_MODE_HTTP) {
				ret = cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
						"tls: only for mode http (this listener is mode "
						"%s)",
						mode_names[l->mode]);
				break;
			}
			ret = cfg_parse_tls(ctx, val, &l->tls);
			break;
		case LK_FORWARD:
			if (l->mode != CFG_MODE_FORWARD) {
				ret = cfg_error(ctx, cfg_node(ctx, pair->key)->start_mark,
						"forward: only for mode forward (this listener is "
						"mode %s)",
						mode_names[l->mode]);
				break;
			}
			ret = cfg_parse_forward(ctx, val, l);
			break;
		}
		if (ret)
			return ret;
	}
	ret = cfg_missing(ctx, map, "listener", listener_keys, LK_REQUIRED, seen);
	if (ret)
		return ret;
	if (l->mode == CFG_MODE_TCP && !(seen & (1u << LK_POOL)) && !l->nr_sni_routes)
		return cfg_error(ctx, map->start_mark, "listener: missing required key 'pool'");
	/* One that can only answer 404 is surely a mistake. */
	if (l->mode == CFG_MODE_HTTP && !(seen & (1u << LK_POOL)) && !l->http.nr_routes)
		return cfg_error(ctx, map->start_mark,
				 "listener '%s': mode http needs a default 'pool', 'routes', "
				 "or both",
				 l->name);
	if (l->mode != CFG_MODE_FORWARD)
		return 0;
	ret = cfg_forward_defaults(ctx, &l->forward);
	if (!ret)
		ret = cfg_check_anonymous(ctx, http, l);
	return ret;
}

static int cfg_parse_listeners(struct cfg_ctx *ctx, yaml_node_t *seq)
{
	/* None is fine if lb has VIPs; cfg_parse_root decides. */
	ctx->listeners_node = seq;
	return cfg_parse_list(ctx, seq, "listeners", (void **)&ctx->cfg->listeners,
			      &ctx->cfg->nr_listeners, sizeof(*ctx->cfg->listeners),
			      cfg_parse_listener);
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
	/* Backend indexes fit the pool's tried-set and its 16-bit hash table slots. */
	if (n > POOL_MAX_BACKENDS)
		return cfg_error(
		    ctx,
		    cfg_node(ctx, seq->data.sequence.items.start[POOL_MAX_BACKENDS])->start_mark,
		    "pool '%s': more than %d backends (POOL_MAX_BACKENDS)", p->name,
		    POOL_MAX_BACKENDS);
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

/* What the two sides of a map pair are, for their syntax checks. */
enum cfg_map_kind {
	CFG_MAP_URI,	/* reverse_map */
	CFG_MAP_DOMAIN, /* cookie_domain_map */
	CFG_MAP_PATH,	/* cookie_path_map */
};

static bool cfg_vchars(const char *s, const char *but)
{
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr(but, *s))
			return false;
	}
	return true;
}

/*
 * Says why s is not a valid side of a 'kind' pair, or NULL. The values are
 * written into Location and Set-Cookie fields, so nothing that would break
 * a field value or a cookie attribute gets through.
 */
static const char *cfg_map_why(enum cfg_map_kind kind, const char *s)
{
	size_t label = 0;

	if (strlen(s) > CFG_MAP_VALUE_MAX)
		return "too long";
	switch (kind) {
	case CFG_MAP_URI:
		if (!cfg_vchars(s, ""))
			return "expected VCHARs only (no spaces or control characters)";
		if (s[0] == '/' || (!strncasecmp(s, "http://", 7) && s[7]) ||
		    (!strncasecmp(s, "https://", 8) && s[8]))
			return NULL;
		return "expected an http:// or https:// URL, or a path starting with '/'";
	case CFG_MAP_DOMAIN:
		/* A leading '.' is old cookie syntax (RFC 2109), still sent. */
		if (*s == '.')
			s++;
		for (; *s; s++) {
			if (*s == '.') {
				if (!label)
					break;
				label = 0;
			} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				   (*s >= '0' && *s <= '9') || *s == '-' || *s == '_') {
				label++;
			} else {
				return "expected a domain: letters, digits, '-', '_' and '.' "
				       "(may start with '.')";
			}
		}
		return label ? NULL : "expected a domain: no empty label";
	case CFG_MAP_PATH:
		if (s[0] != '/' || !cfg_vchars(s, ";"))
			return "expected a path: '/' then VCHARs but ';'";
		return NULL;
	}
	return "?";
}

static const char *const map_keys[] = {"from", "to"};
enum { MPK_FROM, MPK_TO };
#define MPK_REQUIRED ((1u << MPK_FROM) | (1u << MPK_TO))

static int cfg_parse_map_pair(struct cfg_ctx *ctx, yaml_node_t *map, const char *what,
			      enum cfg_map_kind kind, struct cfg_map_pair *pairs, size_t idx)
{
	struct cfg_map_pair *mp = &pairs[idx];
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	yaml_node_t *val;
	const char *v, *why;
	size_t k;
	int ret;

	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, what);
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, what, map_keys, ARRAY_SIZE(map_keys), &seen, &k, &val);
		if (ret)
			return ret;
		ret = cfg_scalar(ctx, val, map_keys[k], &v);
		if (ret)
			return ret;
		why = cfg_map_why(kind, v);
		if (why)
			return cfg_error(ctx, val->start_mark, "%s: %s: bad value '%s': %s", what,
					 map_keys[k], Q(v), why);
		if (k == MPK_FROM) {
			/* The first match wins: a repeated 'from' could never apply. */
			for (size_t i = 0; i < idx; i++) {
				if (kind == CFG_MAP_DOMAIN ? !strcasecmp(pairs[i].from, v)
							   : !strcmp(pairs[i].from, v))
					return cfg_error(ctx, val->start_mark,
							 "%s: from '%s' is already mapped by "
							 "item %zu",
							 what, Q(v), i);
			}
		}
		ret = cfg_strdup(ctx, v, k == MPK_FROM ? &mp->from : &mp->to);
		if (ret)
			return ret;
	}
	return cfg_missing(ctx, map, what, map_keys, MPK_REQUIRED, seen);
}

static int cfg_parse_map(struct cfg_ctx *ctx, yaml_node_t *seq, const char *what,
			 enum cfg_map_kind kind, struct cfg_map_pair **arr, size_t *nr)
{
	size_t n;
	int ret;

	if (cfg_is_null(seq))
		return 0;
	ret = cfg_expect(ctx, seq, YAML_SEQUENCE_NODE, what);
	if (ret)
		return ret;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!n)
		return 0;
	*arr = calloc(n, sizeof(**arr));
	if (!*arr)
		return cfg_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		*nr = i + 1;
		ret = cfg_parse_map_pair(ctx, cfg_node(ctx, seq->data.sequence.items.start[i]),
					 what, kind, *arr, i);
		if (ret)
			return ret;
	}
	return 0;
}

static void cfg_map_free(struct cfg_map_pair *pairs, size_t n)
{
	for (size_t i = 0; pairs && i < n; i++) {
		free(pairs[i].from);
		free(pairs[i].to);
	}
	free(pairs);
}

/*
 * Builds the pool the proxy will build, so that whatever route/pool.h
 * refuses is refused here, with a position, rather than at startup.
 */
static int cfg_check_pool(struct cfg_ctx *ctx, yaml_node_t *map, const struct cfg_pool *p)
{
	struct pool_backend_spec *specs;
	char err[CFG_ERR_MAX] = "";
	struct pool *pool;

	specs = calloc(p->nr_backends, sizeof(*specs));
	if (!specs)
		return cfg_oom(ctx);
	for (size_t i = 0; i < p->nr_backends; i++)
		specs[i] =
		    (struct pool_backend_spec){p->backends[i].addr_str, p->backends[i].weight};
	pool = pool_new(
	    &(struct pool_spec){
		.algo = p->balance,
		.hash_name = p->hash_key[0] ? p->hash_key : NULL,
		.backends = specs,
		.n = p->nr_backends,
	    },
	    err, sizeof(err));
	free(specs);
	if (pool) {
		pool_free(pool);
		return 0;
	}
	if (errno == ENOMEM)
		return cfg_oom(ctx);
	cfg_one_line(err);
	return cfg_error(ctx, map->start_mark, "pool '%s': %s", p->name, err);
}

static const char *const pool_keys[] = {
    "name",    "balance",	 "hash_key",	"keepalive",	     "keepalive_timeout",
    "retries", "proxy_protocol", "reverse_map", "cookie_domain_map", "cookie_path_map",
    "tls",     "backends",
};
enum {
	PK_NAME,
	PK_BALANCE,
	PK_HASH_KEY,
	PK_KEEPALIVE,
	PK_KEEPALIVE_TO,
	PK_RETRIES,
	PK_PROXY_PROTOCOL,
	PK_REVERSE_MAP,
	PK_COOKIE_DOMAIN_MAP,
	PK_COOKIE_PATH_MAP,
	PK_TLS,
	PK_BACKENDS,
};
#define PK_REQUIRED ((1u << PK_NAME) | (1u << PK_BACKENDS))

static const char *const pp_names[] = {
    [CFG_PP_OFF] = "off",
    [CFG_PP_V1] = "v1",
    [CFG_PP_V2] = "v2",
};

static bool cfg_uses_hash_key(enum pool_algo algo)
{
	return algo == POOL_HASH_HEADER || algo == POOL_HASH_COOKIE;
}

static const char *const pool_tls_keys[] = {"verify", "ca", "sni", "cert", "key"};
enum { PTK_VERIFY, PTK_CA, PTK_SNI, PTK_CERT, PTK_KEY };

/*
 * Why s is no server name to send (RFC 6066 3: a DNS name, never an
 * address), or NULL. Labels as the TLS listener accepts them.
 */
static const char *cfg_sni_why(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	size_t lab = 0;

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return "an address is not a server name (RFC 6066); without sni the "
		       "certificate is checked against the backend's address";
	if (strlen(s) > 253)
		return "longer than 253 bytes";
	for (; *s; s++) {
		char c = *s;

		if (c == '.') {
			if (!lab)
				return "an empty label";
			lab = 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			return "only letters, digits, '-', '_' and '.' make a DNS name";
		} else if (++lab > 63) {
			return "a label longer than 63 bytes";
		}
	}
	return lab ? NULL : "empty, or ends with a dot";
}

/*
 * A pool's tls block. verify decides whether ca is needed or refused, so
 * those two are judged once the whole block is read, each at its place.
 */
static int cfg_parse_pool_tls(struct cfg_ctx *ctx, yaml_node_t *map, struct cfg_pool_tls *t)
{
	yaml_node_t *val, *ca = NULL, *cert = NULL, *key = NULL;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	const char *v, *why;
	size_t k;
	int ret;

	t->enabled = true;
	t->verify = true;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "tls");
	if (ret)
		return ret;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		ret = cfg_key(ctx, pair, "pool tls", pool_tls_keys, ARRAY_SIZE(pool_tls_keys),
			      &seen, &k, &val);
		if (ret)
			return ret;
		switch (k) {
		case PTK_VERIFY:
			ret = cfg_get_bool(ctx, val, "verify", &t->verify);
			break;
		case PTK_CA:
			ca = val;
			ret = cfg_get_abs_path(ctx, val, "ca", false, t->ca);
			break;
		case PTK_SNI:
			ret = cfg_scalar(ctx, val, "sni", &v);
			if (!ret && (why = cfg_sni_why(v)))
				ret = cfg_error(ctx, val->start_mark, "sni: '%s': %s", Q(v), why);
			for (size_t i = 0; !ret && v[i]; i++)
				t->sni[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] | 0x20 : v[i]);
			break;
		case PTK_CERT:
			cert = val;
			ret = cfg_get_abs_path(ctx, val, "cert", false, t->cert);
			break;
		case PTK_KEY:
			key = val;
			ret = cfg_get_abs_path(ctx, val, "key", false, t->key);
			break;
		}
		if (ret)
			return ret;
	}
	if (t->verify && !ca)
		return cfg_error(ctx, map->start_mark,
				 "tls: missing required key 'ca', the CA bundle that backends' "
				 "certificates are checked against (or 'verify: false' to check "
				 "nothing)");
	if (!t->verify && ca)
		return cfg_error(ctx, ca->start_mark,
				 "ca: only used with verify: true (verify is false here)");
	if (cert && !key)
		return cfg_error(ctx, cert->start_mark, "cert: needs 'key', its private key");
	if (key && !cert)
		return cfg_error(ctx, key->start_mark, "key: needs 'cert', its certificate");
	return 0;
}

static int cfg_parse_pool(struct cfg_ctx *ctx, yaml_node_t *map, size_t idx)
{
	struct cfg_pool *p = &ctx->cfg->pools[idx];
	const char *algos[POOL_ALGO__MAX], *v;
	yaml_node_t *val, *balance;
	yaml_node_pair_t *pair;
	uint32_t seen = 0;
	int ret, choice = 0;
	uint64_t x = 0;
	size_t k;

	p->balance = POOL_ROUNDROBIN;
	p->keepalive = CFG_DEF_KEEPALIVE;
	p->keepalive_timeout_ms = CFG_DEF_KEEPALIVE_MS;
	p->retries = CFG_DEF_RETRIES;
	p->proxy_protocol = CFG_PP_OFF;
	ret = cfg_expect(ctx, map, YAML_MAPPING_NODE, "pool");
	if (ret)
		return ret;
	/* hash_key's rules depend on it, wherever it is written. */
	balance = cfg_lookup(ctx, map, "balance");
	if (balance) {
		/* pool_algo_str() gives the names pool_algo_parse() takes. */
		for (int i = 0; i < POOL_ALGO__MAX; i++)
			algos[i] = pool_algo_str((enum pool_algo)i);
		ret = cfg_get_choice(ctx, balance, "balance", algos, ARRAY_SIZE(algos), &choice);
		if (ret)
			return ret;
		p->balance = (enum pool_algo)choice;
	}
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
			/* Read above. */
			break;
		case PK_HASH_KEY:
			ret = cfg_scalar(ctx, val, "hash_key", &v);
			if (ret)
				break;
			/* Most likely meant for header or cookie: say so, do not guess. */
			if (!cfg_uses_hash_key(p->balance))
				ret = cfg_error(ctx, val->start_mark,
						"hash_key: balance %s takes none (only header and "
						"cookie do)",
						pool_algo_str(p->balance));
			else if (!cfg_is_token(v) || strlen(v) >= sizeof(p->hash_key))
				ret = cfg_error(
				    ctx, val->start_mark,
				    "hash_key: bad value '%s': a %s name is 1 to %zu "
				    "token characters (RFC 9110)",
				    Q(v), p->balance == POOL_HASH_HEADER ? "header" : "cookie",
				    sizeof(p->hash_key) - 1);
			else
				strcpy(p->hash_key, v);
			break;
		case PK_KEEPALIVE:
			ret = cfg_get_uint(ctx, val, "keepalive", 0, CFG_KEEPALIVE_MAX, &x);
			p->keepalive = (uint32_t)x;
			break;
		case PK_KEEPALIVE_TO:
			ret = cfg_get_duration(ctx, val, "keepalive_timeout", CFG_TIMEOUT_MIN_MS,
					       CFG_TIMEOUT_MAX_MS, false, &p->keepalive_timeout_ms);
			break;
		case PK_RETRIES:
			ret = cfg_get_uint(ctx, val, "retries", 0, CFG_RETRIES_MAX, &x);
			p->retries = (uint32_t)x;
			break;
		case PK_PROXY_PROTOCOL:
			ret = cfg_get_choice(ctx, val, "proxy_protocol", pp_names,
					     ARRAY_SIZE(pp_names), &choice);
			p->proxy_protocol = (enum cfg_pp)choice;
			break;
		case PK_REVERSE_MAP:
			ret = cfg_parse_map(ctx, val, "reverse_map", CFG_MAP_URI, &p->reverse_map,
					    &p->nr_reverse_map);
			break;
		case PK_COOKIE_DOMAIN_MAP:
			ret = cfg_parse_map(ctx, val, "cookie_domain_map", CFG_MAP_DOMAIN,
					    &p->cookie_domain_map, &p->nr_cookie_domain_map);
			break;
		case PK_COOKIE_PATH_MAP:
			ret = cfg_parse_map(ctx, val, "cookie_path_map", CFG_MAP_PATH,
					    &p->cookie_path_map, &p->nr_cookie_path_map);
			break;
		case PK_BACKENDS:
			ret = cfg_parse_backends(ctx, val, p);
			break;
		case PK_TLS:
			ret = cfg_parse_pool_tls(ctx, val, &p->tls);
			break;
		}
		if (ret)
			return ret;
	}
	ret = cfg_missing(ctx, map, "pool", pool_keys, PK_REQUIRED, seen);
	if (ret)
		return ret;
	if (cfg_uses_hash_key(p->balance) && !p->hash_key[0])
		return cfg_error(ctx, map->start_mark,
				 "pool '%s': balance %s needs 'hash_key', the %s name", p->name,
				 pool_algo_str(p->balance),
				 p->balance == POOL_HASH_HEADER ? "header" : "cookie");
	return cfg_check_pool(ctx, map, p);
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
	/*
	 * A NAT source must not be a VIP address: the datapath takes packets to
	 * a VIP address as VIP traffic and would never translate the replies.
	 */
	for (size_t i = 0; i <= idx; i++) {
		const struct cfg_vip *o = &ctx->cfg->vips[i];

		if (v->mode == LB_MODE_NAT && cfg_lb_addr_equal(&v->src, &o->addr))
			return cfg_error(ctx, src_node->start_mark,
					 "source: %s is the address of vip '%s'; a NAT source "
					 "must be an address of its own (replies to a VIP "
					 "address are never translated back)",
					 v->src.str, o->name);
		if (i < idx && o->mode == LB_MODE_NAT && cfg_lb_addr_equal(&o->src, &v->addr))
			return cfg_error(ctx, addr_node->start_mark,
					 "vip '%s': %s is the NAT source of vip '%s'; a VIP "
					 "address cannot be a NAT source",
					 v->name, v->addr.str, o->name);
	}
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

	for (size_t i = 0; i < ctx->nr_refs; i++) {
		const struct cfg_pool_ref *ref = &ctx->refs[i];
		const char *want = (const char *)ref->node->data.scalar.value;
		struct cfg_listener *l = &cfg->listeners[ref->listener];
		size_t j;

		for (j = 0; j < cfg->nr_pools; j++) {
			if (!strcmp(cfg->pools[j].name, want))
				break;
		}
		if (j == cfg->nr_pools && ref->route == SIZE_MAX)
			return cfg_error(ctx, ref->node->start_mark,
					 "listener '%s': unknown pool '%s'", l->name, want);
		if (j == cfg->nr_pools && ref->route != SIZE_MAX && (ref->route & CFG_REF_SNI))
			return cfg_error(ctx, ref->node->start_mark,
					 "listener '%s' sni_route %zu: unknown pool '%s'", l->name,
					 ref->route & ~CFG_REF_SNI, want);
		/* the TCP proxy splices the bytes: it has nothing to encrypt them with */
		if (j < cfg->nr_pools && cfg->pools[j].tls.enabled && l->mode == CFG_MODE_TCP)
			return cfg_error(ctx, ref->node->start_mark,
					 "listener '%s': pool '%s' has tls (upstream TLS), which "
					 "only mode http listeners speak",
					 l->name, want);
		if (ref->route != SIZE_MAX && (ref->route & CFG_REF_SNI)) {
			l->sni_routes[ref->route & ~CFG_REF_SNI].pool = j;
			continue;
		}
		if (j == cfg->nr_pools)
			return cfg_error(ctx, ref->node->start_mark,
					 "listener '%s' route '%s': unknown pool '%s'", l->name,
					 l->http.routes[ref->route].name, want);
		if (ref->route == SIZE_MAX)
			l->pool = j;
		else
			l->http.routes[ref->route].rule.pool = j;
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
	for (size_t i = 0; i < cfg->nr_pools; i++) {
		struct cfg_pool *p = &cfg->pools[i];

		free(p->backends);
		cfg_map_free(p->reverse_map, p->nr_reverse_map);
		cfg_map_free(p->cookie_domain_map, p->nr_cookie_domain_map);
		cfg_map_free(p->cookie_path_map, p->nr_cookie_path_map);
	}
	free(cfg->pools);
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		struct cfg_http *h = &cfg->listeners[i].http;

		for (size_t j = 0; h->routes && j < h->nr_routes; j++)
			cfg_route_free(&h->routes[j]);
		free(h->routes);
		cfg_forward_free(&cfg->listeners[i].forward);
		free(cfg->listeners[i].tls.certs);
		for (size_t j = 0; j < cfg->listeners[i].nr_sni_routes; j++)
			cfg_strings_free(cfg->listeners[i].sni_routes[j].names,
					 cfg->listeners[i].sni_routes[j].nr_names);
		free(cfg->listeners[i].sni_routes);
	}
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
	free(ctx.refs);
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
