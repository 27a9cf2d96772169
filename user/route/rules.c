// SPDX-License-Identifier: BSD-2-Clause
/*
 * Request routing rules: validation and deep copy at build time, request
 * normalization, first-match, target rewriting, header ops.
 *
 * One path normalizer serves requests, rule paths and rewrite prefixes, so
 * a rule and a request that mean the same path are the same bytes by
 * construction, and what route_target forwards is what route_match saw.
 * It works in place and never grows its input (decoding shortens an escape,
 * dot-segment removal and slash merging only drop bytes), which is why the
 * scratch size a request needs is known from its spans alone.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route/rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A rule as stored: the public view plus what matching precomputes. */
struct route_entry {
	struct route_rule rule; /* every pointer owned by the table */
	size_t host_len;
	size_t path_len;
	size_t strip_len;
	size_t replace_len;
	size_t req_adds; /* SET and ADD ops: what route_*_ops may append */
	size_t resp_adds;
	bool has_re;
	regex_t re;
};

struct route_table {
	size_t n;
	struct route_entry e[];
};

/* ---------------------------------------------------------- characters */

static bool route_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool route_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int route_hexval(unsigned char c)
{
	if (route_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned char route_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

/* RFC 3986 2.3 */
static bool route_is_unreserved(unsigned char c)
{
	return route_is_alpha(c) || route_is_digit(c) || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* tchar (RFC 9110 5.6.2) */
static bool route_is_tchar(unsigned char c)
{
	return route_is_alpha(c) || route_is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool route_token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!route_is_tchar((unsigned char)*s))
			return false;
	return true;
}

/*
 * field-value as h1_write_head takes it: VCHAR, obs-text, SP, HTAB, without
 * leading or trailing whitespace (the parser would trim it: what is written
 * would not read back the same).
 */
static bool route_value_ok(const char *s)
{
	size_t len = strlen(s);

	if (len && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static bool route_memeq_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (route_lower((unsigned char)a[i]) != route_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- paths */

/*
 * Dot-segment removal and slash merging, in place on s[0, n), which starts
 * with '/'. Segments are read left to right with empty ones skipped (that
 * merges "//"); "." is dropped, ".." drops the last segment written (none at
 * the root: clamped, RFC 3986 5.2.4), anything else is appended. A path
 * that ended in '/', "." or ".." keeps a trailing '/'. The write position
 * never passes the read position, so the copy is safe in place.
 *
 * Returns the new length, or -EBADMSG for a "." or ".." segment with a ';'
 * parameter (*why set).
 */
static long route_norm_segments(char *s, size_t n, const char **why)
{
	size_t r = 0, w = 1;

	while (r < n) {
		size_t start, len, semi;

		while (r < n && s[r] == '/')
			r++;
		if (r == n)
			break;
		start = r;
		while (r < n && s[r] != '/')
			r++;
		len = r - start;
		for (semi = 0; semi < len && s[start + semi] != ';'; semi++)
			;
		if (semi < len && ((semi == 1 && s[start] == '.') ||
				   (semi == 2 && s[start] == '.' && s[start + 1] == '.'))) {
			*why = "a \".\" or \"..\" segment with a ';' parameter";
			return -EBADMSG;
		}
		if (len == 1 && s[start] == '.')
			continue;
		if (len == 2 && s[start] == '.' && s[start + 1] == '.') {
			/* s[0, w) ends in '/': step over it, then back to the previous one */
			if (w > 1) {
				w--;
				while (s[w - 1] != '/')
					w--;
			}
			continue;
		}
		memmove(s + w, s + start, len);
		w += len;
		if (r < n)
			s[w++] = '/';
	}
	return (long)w;
}

/*
 * Full normalization of a path (no query) in[0, n) into out, which may be
 * in itself and must hold n bytes (n >= 1, in[0] == '/'): percent-decoding
 * of unreserved characters, uppercase hex for the other escapes, then
 * route_norm_segments. Refuses (-EBADMSG, *why set) %2F, %5C, %00, a raw
 * '\' and malformed escapes: see rules.h for why.
 */
static long route_norm_path(const char *in, size_t n, char *out, const char **why)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, w = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int hi, lo, v;

		if (c == '\\') {
			*why = "a raw '\\'";
			return -EBADMSG;
		}
		if (c != '%') {
			out[w++] = (char)c;
			continue;
		}
		if (n - i < 3 || (hi = route_hexval((unsigned char)in[i + 1])) < 0 ||
		    (lo = route_hexval((unsigned char)in[i + 2])) < 0) {
			*why = "a malformed percent-encoding";
			return -EBADMSG;
		}
		v = hi << 4 | lo;
		if (v == '/' || v == '\\' || v == 0) {
			*why = "an encoded '/', '\\' or NUL (%2F, %5C, %00)";
			return -EBADMSG;
		}
		i += 2;
		if (route_is_unreserved((unsigned char)v)) {
			out[w++] = (char)v;
		} else {
			out[w++] = '%';
			out[w++] = hex[hi];
			out[w++] = hex[lo];
		}
	}
	return route_norm_segments(out, w, why);
}

/* ---------------------------------------------------------------- build */

static void route_fail(char *err, size_t errlen, size_t i, const char *name, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (name)
		snprintf(err, errlen, "rule %zu \"%s\": %s", i, name, what);
	else
		snprintf(err, errlen, "rule %zu: %s", i, what);
}

/* VCHARs only: a name goes into logs and counter labels verbatim. */
static bool route_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Labels of ALPHA DIGIT - _, non-empty, '.'-separated; s already without a trailing dot. */
static const char *route_labels_check(const char *s)
{
	size_t label = 0;

	if (!*s)
		return "empty";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.') {
			if (!label)
				return "empty label";
			label = 0;
			continue;
		}
		if (c == '*')
			return "'*' is only allowed as \"*.\" at the start of a wildcard host";
		if (c == ':')
			return "a port (ports are not matched)";
		if (!route_is_alpha(c) && !route_is_digit(c) && c != '-' && c != '_')
			return "invalid character";
		label++;
	}
	return label ? NULL : "empty label";
}

/* "[" HEXDIG / ":" / "." "]", as the HTTP parser takes IP literals. */
static const char *route_ip6_check(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 4 || s[n - 1] != ']')
		return "invalid IPv6 literal";
	for (i = 1; i < n - 1; i++)
		if (route_hexval((unsigned char)s[i]) < 0 && s[i] != ':' && s[i] != '.')
			return "invalid IPv6 literal";
	return NULL;
}

/* Lowercases the copy and drops one trailing dot; says what is wrong or NULL. */
static const char *route_host_norm(char *h, enum route_host kind)
{
	size_t n = strlen(h);

	for (size_t i = 0; i < n; i++)
		h[i] = (char)route_lower((unsigned char)h[i]);
	if (kind == ROUTE_HOST_EXACT && h[0] == '[')
		return route_ip6_check(h);
	if (kind == ROUTE_HOST_WILDCARD && strncmp(h, "*.", 2))
		return "a wildcard host must start with \"*.\"";
	/* after the "*." check: "*." is an empty wildcard, not "*" */
	if (n > (kind == ROUTE_HOST_WILDCARD ? 2u : 0u) && h[n - 1] == '.')
		h[--n] = '\0';
	return route_labels_check(kind == ROUTE_HOST_WILDCARD ? h + 2 : h);
}

/* Bytes a rule path may hold before normalization: VCHAR but '?' and '#'. */
static bool route_path_chars_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
			return false;
	}
	return true;
}

/*
 * Normalizes a rule path or prefix p (a copy the table owns) in place.
 * allow_empty for replace_prefix. Says what is wrong, or NULL.
 */
static const char *route_rule_path_norm(char *p, size_t *len, bool allow_empty)
{
	const char *why = NULL;
	size_t n = strlen(p);
	long rc;

	if (!n && allow_empty) {
		*len = 0;
		return NULL;
	}
	if (p[0] != '/')
		return "must start with '/'";
	if (!route_path_chars_ok(p))
		return "only VCHARs but '?' and '#' (the query is not matched)";
	rc = route_norm_path(p, n, p, &why);
	if (rc < 0)
		return why;
	p[rc] = '\0';
	*len = (size_t)rc;
	return NULL;
}

/* Fields whose ops are refused: framing and hop-by-hop, the proxy's own. */
static bool route_field_reserved(const char *name)
{
	static const char *const reserved[] = {
	    "content-length", "transfer-encoding", "connection",
	    "keep-alive",     "proxy-connection",  "te",
	    "upgrade",
	};

	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (!strcasecmp(name, reserved[i]))
			return true;
	return false;
}

/*
 * uri-host [":" port] for a SET Host value, as strict as the parser is with
 * a received Host: a value it would refuse must not be sent.
 */
static bool route_authority_ok(const char *s)
{
	size_t i = 0, digits = 0;
	unsigned long port = 0;

	if (s[0] == '[') {
		for (i = 1; s[i] && s[i] != ']'; i++)
			if (route_hexval((unsigned char)s[i]) < 0 && s[i] != ':' && s[i] != '.')
				return false;
		if (s[i] != ']' || i < 3)
			return false;
		i++;
	} else {
		for (; route_is_unreserved((unsigned char)s[i]); i++)
			;
		if (!i)
			return false;
	}
	if (!s[i])
		return true;
	if (s[i++] != ':')
		return false;
	for (; route_is_digit((unsigned char)s[i]) && digits < 6; i++, digits++)
		port = port * 10 + (unsigned long)(s[i] - '0');
	return !s[i] && digits >= 1 && digits <= 5 && port <= 65535;
}

static char *route_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Copies and checks one direction's ops; *adds = SET and ADD count. */
static int route_ops_copy(struct route_hdr_op **dst, const struct route_hdr_op *src, size_t n,
			  bool response, size_t *adds, const char **what, size_t *bad)
{
	struct route_hdr_op *ops;

	*adds = 0;
	*dst = NULL;
	if (!n)
		return 0;
	if (!src) {
		*what = "ops NULL";
		return -EINVAL;
	}
	if (n >= ROUTE_OPS_MAX) {
		*what = "too many ops (ROUTE_OPS_MAX - 1 at most)";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct route_hdr_op *o = &src[i];

		*bad = i;
		if ((unsigned int)o->op >= ROUTE_OP__MAX)
			*what = "unknown op";
		else if (!o->name || !route_token_ok(o->name))
			*what = "field name is not a token";
		else if (route_field_reserved(o->name))
			*what = "framing and hop-by-hop fields belong to the proxy";
		else if (!response && !strcasecmp(o->name, "host") && o->op != ROUTE_OP_SET)
			*what = "Host may only be SET on a request";
		else if (o->op == ROUTE_OP_REMOVE && o->value)
			*what = "REMOVE takes no value";
		else if (o->op != ROUTE_OP_REMOVE && !o->value)
			*what = "SET and ADD need a value";
		else if (o->value && !route_value_ok(o->value))
			*what = "value holds a control character or leading/trailing whitespace";
		else if (!response && !strcasecmp(o->name, "host") && !route_authority_ok(o->value))
			*what = "Host value is not host[:port]";
		else
			continue;
		return -EINVAL;
	}
	ops = calloc(n, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	*dst = ops;
	for (size_t i = 0; i < n; i++) {
		ops[i].op = src[i].op;
		ops[i].name = strdup(src[i].name);
		ops[i].value = route_strdup(src[i].value);
		if (!ops[i].name || (src[i].value && !ops[i].value))
			return -ENOMEM;
		if (ops[i].op != ROUTE_OP_REMOVE)
			(*adds)++;
	}
	return 0;
}

static void route_ops_free(struct route_hdr_op *ops, size_t n)
{
	if (!ops)
		return;
	for (size_t i = 0; i < n; i++) {
		free((char *)ops[i].name);
		free((char *)ops[i].value);
	}
	free(ops);
}

static void route_entry_free(struct route_entry *e)
{
	struct route_rule *r = &e->rule;

	free((char *)r->name);
	free((char *)r->host);
	free((char *)r->path);
	free((char *)r->strip_prefix);
	free((char *)r->replace_prefix);
	if (r->hdrs) {
		for (size_t i = 0; i < r->nr_hdrs; i++) {
			free((char *)r->hdrs[i].name);
			free((char *)r->hdrs[i].value);
		}
		free((struct route_hdr_match *)r->hdrs);
	}
	route_ops_free((struct route_hdr_op *)r->req_ops, r->nr_req_ops);
	route_ops_free((struct route_hdr_op *)r->resp_ops, r->nr_resp_ops);
	if (e->has_re)
		regfree(&e->re);
}

void route_table_free(struct route_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		route_entry_free(&t->e[i]);
	free(t);
}

/*
 * Checks src and fills e (zeroed) with its copy. On error, e holds what was
 * copied so far (route_entry_free undoes it) and err says what is wrong.
 */
static int route_entry_init(struct route_entry *e, const struct route_rule *src, size_t idx,
			    char *err, size_t errlen)
{
	struct route_rule *r = &e->rule;
	const char *name = src->name, *why;
	struct route_hdr_match *hdrs;
	size_t bad = 0;
	int rc;

	if (!name || !route_name_ok(name)) {
		route_fail(err, errlen, idx, NULL, "name missing or not VCHARs only");
		return -EINVAL;
	}
	r->name = strdup(name);
	if (!r->name)
		goto nomem;
	r->methods = src->methods;
	r->pool = src->pool;
	if (src->methods & ~ROUTE_METH_ALL) {
		route_fail(err, errlen, idx, name, "methods 0x%x: unknown method bits 0x%x",
			   src->methods, src->methods & ~ROUTE_METH_ALL);
		return -EINVAL;
	}

	r->host_kind = src->host_kind;
	if ((unsigned int)src->host_kind >= ROUTE_HOST__MAX) {
		route_fail(err, errlen, idx, name, "unknown host kind %d", (int)src->host_kind);
		return -EINVAL;
	}
	if (src->host_kind == ROUTE_HOST_ANY && src->host) {
		route_fail(err, errlen, idx, name, "host \"%s\" given with host kind any",
			   src->host);
		return -EINVAL;
	}
	if (src->host_kind != ROUTE_HOST_ANY) {
		if (!src->host) {
			route_fail(err, errlen, idx, name, "host missing");
			return -EINVAL;
		}
		r->host = strdup(src->host);
		if (!r->host)
			goto nomem;
		why = route_host_norm((char *)r->host, src->host_kind);
		if (why) {
			route_fail(err, errlen, idx, name, "host \"%s\": %s", src->host, why);
			return -EINVAL;
		}
		e->host_len = strlen(r->host);
	}

	r->path_kind = src->path_kind;
	if ((unsigned int)src->path_kind >= ROUTE_PATH__MAX) {
		route_fail(err, errlen, idx, name, "unknown path kind %d", (int)src->path_kind);
		return -EINVAL;
	}
	if (src->path_kind == ROUTE_PATH_ANY && src->path) {
		route_fail(err, errlen, idx, name, "path \"%s\" given with path kind any",
			   src->path);
		return -EINVAL;
	}
	if (src->path_kind != ROUTE_PATH_ANY) {
		if (!src->path) {
			route_fail(err, errlen, idx, name, "path missing");
			return -EINVAL;
		}
		r->path = strdup(src->path);
		if (!r->path)
			goto nomem;
		e->path_len = strlen(r->path);
	}
	if (src->path_kind == ROUTE_PATH_EXACT || src->path_kind == ROUTE_PATH_PREFIX) {
		why = route_rule_path_norm((char *)r->path, &e->path_len, false);
		if (why) {
			route_fail(err, errlen, idx, name, "path \"%s\": %s", src->path, why);
			return -EINVAL;
		}
	} else if (src->path_kind == ROUTE_PATH_REGEX) {
		char msg[128];

		if (!src->path[0]) {
			route_fail(err, errlen, idx, name, "empty path regex");
			return -EINVAL;
		}
		rc = regcomp(&e->re, r->path, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, NULL, msg, sizeof(msg));
			route_fail(err, errlen, idx, name, "path regex \"%s\": %s", src->path, msg);
			return rc == REG_ESPACE ? -ENOMEM : -EINVAL;
		}
		e->has_re = true;
	}

	if (src->nr_hdrs && !src->hdrs) {
		route_fail(err, errlen, idx, name, "header conditions NULL");
		return -EINVAL;
	}
	for (size_t i = 0; i < src->nr_hdrs; i++) {
		const struct route_hdr_match *h = &src->hdrs[i];

		if (!h->name || !route_token_ok(h->name)) {
			route_fail(err, errlen, idx, name,
				   "header condition %zu: name is not a token", i);
			return -EINVAL;
		}
		if (h->value && !route_value_ok(h->value)) {
			route_fail(err, errlen, idx, name,
				   "header condition %zu (%s): value holds a control character or "
				   "leading/trailing whitespace",
				   i, h->name);
			return -EINVAL;
		}
	}
	if (src->nr_hdrs) {
		hdrs = calloc(src->nr_hdrs, sizeof(*hdrs));
		if (!hdrs)
			goto nomem;
		r->hdrs = hdrs;
		r->nr_hdrs = src->nr_hdrs;
		for (size_t i = 0; i < src->nr_hdrs; i++) {
			hdrs[i].negate = src->hdrs[i].negate;
			hdrs[i].name = strdup(src->hdrs[i].name);
			hdrs[i].value = route_strdup(src->hdrs[i].value);
			if (!hdrs[i].name || (src->hdrs[i].value && !hdrs[i].value))
				goto nomem;
		}
	}

	for (int dir = 0; dir < 2; dir++) {
		const struct route_hdr_op *ops = dir ? src->resp_ops : src->req_ops;
		size_t n = dir ? src->nr_resp_ops : src->nr_req_ops;
		struct route_hdr_op *copy;

		rc = route_ops_copy(&copy, ops, n, dir, dir ? &e->resp_adds : &e->req_adds, &why,
				    &bad);
		if (copy) {
			/* set even when a copy failed half-way, for route_entry_free */
			if (dir) {
				r->resp_ops = copy;
				r->nr_resp_ops = n;
			} else {
				r->req_ops = copy;
				r->nr_req_ops = n;
			}
		}
		if (rc == -ENOMEM)
			goto nomem;
		if (rc) {
			if (n >= ROUTE_OPS_MAX || !ops)
				route_fail(err, errlen, idx, name, "%s ops: %s",
					   dir ? "response" : "request", why);
			else
				route_fail(err, errlen, idx, name, "%s op %zu (%s): %s",
					   dir ? "response" : "request", bad,
					   ops[bad].name ? ops[bad].name : "(null)", why);
			return rc;
		}
	}

	if (src->replace_prefix && !src->strip_prefix) {
		route_fail(err, errlen, idx, name, "replace_prefix without strip_prefix");
		return -EINVAL;
	}
	if (src->strip_prefix) {
		r->strip_prefix = strdup(src->strip_prefix);
		r->replace_prefix = strdup(src->replace_prefix ? src->replace_prefix : "");
		if (!r->strip_prefix || !r->replace_prefix)
			goto nomem;
		why = route_rule_path_norm((char *)r->strip_prefix, &e->strip_len, false);
		if (why) {
			route_fail(err, errlen, idx, name, "strip_prefix \"%s\": %s",
				   src->strip_prefix, why);
			return -EINVAL;
		}
		why = route_rule_path_norm((char *)r->replace_prefix, &e->replace_len, true);
		if (why) {
			route_fail(err, errlen, idx, name, "replace_prefix \"%s\": %s",
				   src->replace_prefix, why);
			return -EINVAL;
		}
	}
	return 0;

nomem:
	route_fail(err, errlen, idx, name, "out of memory");
	return -ENOMEM;
}

struct route_table *route_table_new(const struct route_rule *rules, size_t n, char *err,
				    size_t errlen)
{
	struct route_table *t;
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!rules && n) {
		if (err && errlen)
			snprintf(err, errlen, "rules NULL");
		errno = EINVAL;
		return NULL;
	}
	if (n > (SIZE_MAX - sizeof(*t)) / sizeof(t->e[0]) || n > INT32_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "too many rules");
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t) + n * sizeof(t->e[0]));
	if (!t) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		/* counted first: a half-built entry is freed like a whole one */
		t->n = i + 1;
		rc = route_entry_init(&t->e[i], &rules[i], i, err, errlen);
		if (rc)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(t->e[j].rule.name, t->e[i].rule.name)) {
				route_fail(err, errlen, i, rules[i].name,
					   "name already used by rule %zu", j);
				rc = -EINVAL;
				goto fail;
			}
		}
	}
	return t;

fail:
	route_table_free(t);
	errno = -rc;
	return NULL;
}

size_t route_table_size(const struct route_table *t)
{
	return t ? t->n : 0;
}

const struct route_rule *route_rule_get(const struct route_table *t, size_t i)
{
	if (!t || i >= t->n) {
		errno = EINVAL;
		return NULL;
	}
	return &t->e[i].rule;
}

/* ------------------------------------------------------------- requests */

/*
 * Host without port into h (lowercased, trailing dot dropped); returns its
 * length or -EBADMSG for a percent-encoded reg-name or an empty label.
 */
static long route_req_host(const char *a, size_t n, char *h)
{
	size_t i, end, label = 0;

	if (n && a[0] == '[') {
		/* the parser checked the literal and that ']' comes */
		for (end = 1; end < n && a[end] != ']'; end++)
			;
		end = end < n ? end + 1 : n;
	} else {
		for (end = 0; end < n && a[end] != ':'; end++)
			;
	}
	for (i = 0; i < end; i++)
		h[i] = (char)route_lower((unsigned char)a[i]);
	h[end] = '\0';
	if (!end || h[0] == '[')
		return (long)end;
	if (h[end - 1] == '.')
		h[--end] = '\0';
	for (i = 0; i < end; i++) {
		if (h[i] == '%')
			return -EBADMSG;
		if (h[i] == '.') {
			if (!label)
				return -EBADMSG;
			label = 0;
		} else {
			label++;
		}
	}
	/* "." alone, or "a..": the dot dropped or not, a label is empty */
	return label ? (long)end : -EBADMSG;
}

int route_req_prepare(struct route_req *r, const struct h1_msg *m, const char *buf, char *scratch,
		      size_t cap)
{
	const char *why = NULL, *p;
	size_t plen, q;
	char *host, *path;
	long rc;

	if (!r || !m || !buf || !scratch || m->response || !m->head_len || m->err)
		return -EINVAL;
	if (cap < route_scratch_size(m))
		return -ENOSPC;
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->buf = buf;
	r->meth = m->meth;
	r->form = m->form;

	host = scratch;
	rc = route_req_host(buf + m->authority.off, m->authority.len, host);
	if (rc < 0)
		return (int)rc;
	r->host = host;
	r->host_len = (size_t)rc;

	path = scratch + m->authority.len + 1;
	r->path = path;
	path[0] = '\0';
	if (m->form != H1_FORM_ORIGIN && m->form != H1_FORM_ABSOLUTE)
		return 0;
	r->has_path = true;
	p = buf + m->path.off;
	plen = m->path.len;
	for (q = 0; q < plen && p[q] != '?'; q++)
		;
	if (q < plen) {
		r->has_query = true;
		r->query = p + q + 1;
		r->query_len = plen - q - 1;
	}
	if (!q) {
		/* absolute-form without a path: "http://h" or "http://h?q" */
		path[0] = '/';
		path[1] = '\0';
		r->path_len = 1;
		return 0;
	}
	rc = route_norm_path(p, q, path, &why);
	if (rc < 0)
		return (int)rc;
	path[rc] = '\0';
	r->path_len = (size_t)rc;
	return 0;
}

/* ------------------------------------------------------------- matching */

static bool route_host_match(const struct route_entry *e, const struct route_req *r)
{
	const char *suffix;
	size_t sl;

	switch (e->rule.host_kind) {
	case ROUTE_HOST_EXACT:
		return r->host_len == e->host_len && !memcmp(r->host, e->rule.host, e->host_len);
	case ROUTE_HOST_WILDCARD:
		/*
		 * ".example.com" must end the host with at least one byte before
		 * it; request hosts have no empty labels, so that byte ends a
		 * whole label.
		 */
		suffix = e->rule.host + 1;
		sl = e->host_len - 1;
		return r->host_len > sl && !memcmp(r->host + r->host_len - sl, suffix, sl);
	default:
		return true;
	}
}

static bool route_path_match(const struct route_entry *e, const struct route_req *r)
{
	if (e->rule.path_kind == ROUTE_PATH_ANY)
		return true;
	if (!r->has_path)
		return false;
	switch (e->rule.path_kind) {
	case ROUTE_PATH_EXACT:
		return r->path_len == e->path_len && !memcmp(r->path, e->rule.path, e->path_len);
	case ROUTE_PATH_PREFIX:
		return r->path_len >= e->path_len && !memcmp(r->path, e->rule.path, e->path_len);
	case ROUTE_PATH_REGEX:
		return !regexec(&e->re, r->path, 0, NULL, 0);
	default:
		return false;
	}
}

static bool route_hdr_holds(const struct route_hdr_match *h, const struct route_req *r)
{
	const struct h1_msg *m = r->m;
	size_t vl = h->value ? strlen(h->value) : 0;
	bool found = false;

	for (int i = h1_field_find(m, r->buf, h->name, 0); i >= 0 && !found;
	     i = h1_field_find(m, r->buf, h->name, (uint32_t)i + 1)) {
		struct h1_span v = m->fields[i].value;

		found = !h->value || (v.len == vl && !memcmp(r->buf + v.off, h->value, vl));
	}
	return found != h->negate;
}

static bool route_entry_match(const struct route_entry *e, const struct route_req *r)
{
	if (e->rule.methods && !(e->rule.methods & ROUTE_METH(r->meth)))
		return false;
	if (!route_host_match(e, r) || !route_path_match(e, r))
		return false;
	for (size_t i = 0; i < e->rule.nr_hdrs; i++)
		if (!route_hdr_holds(&e->rule.hdrs[i], r))
			return false;
	return true;
}

int route_match(const struct route_table *t, const struct route_req *r)
{
	if (!t || !r || !r->m || !r->buf || !r->path || !r->host)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++)
		if (route_entry_match(&t->e[i], r))
			return (int)i;
	return -ENOENT;
}

/* --------------------------------------------------------------- target */

int route_target(const struct route_table *t, int rule, const struct route_req *r, char *out,
		 size_t cap, size_t *len)
{
	const struct route_entry *e;
	const char *why = NULL;
	size_t need, plen, rest = 0;
	bool rewrite;
	long rc;

	if (!t || !r || !len || (!out && cap) || rule < -1 || (rule >= 0 && (size_t)rule >= t->n) ||
	    !r->path)
		return -EINVAL;
	e = rule >= 0 ? &t->e[rule] : NULL;
	if (r->form == H1_FORM_ASTERISK) {
		*len = 1;
		if (cap < 1)
			return -ENOSPC;
		out[0] = '*';
		return 0;
	}
	if (!r->has_path)
		return -EINVAL;

	rewrite = e && e->rule.strip_prefix && r->path_len >= e->strip_len &&
		  !memcmp(r->path, e->rule.strip_prefix, e->strip_len);
	if (rewrite) {
		rest = r->path_len - e->strip_len;
		/* the replacement, the rest, and maybe a leading '/' */
		plen = e->replace_len + rest + 1;
	} else {
		plen = r->path_len;
	}
	need = plen + (r->has_query ? 1 + r->query_len : 0);
	if (need > cap) {
		*len = need;
		return -ENOSPC;
	}
	if (rewrite) {
		size_t w = 0;

		/* both halves are normalized: only the seam can hold "//" or dots */
		if (!e->replace_len && (!rest || r->path[e->strip_len] != '/'))
			out[w++] = '/';
		memcpy(out + w, e->rule.replace_prefix, e->replace_len);
		w += e->replace_len;
		memcpy(out + w, r->path + e->strip_len, rest);
		w += rest;
		rc = route_norm_segments(out, w, &why);
		if (rc < 0)
			return (int)rc;
		plen = (size_t)rc;
	} else {
		memcpy(out, r->path, plen);
	}
	if (r->has_query) {
		out[plen] = '?';
		memcpy(out + plen + 1, r->query, r->query_len);
		plen += 1 + r->query_len;
	}
	*len = plen;
	return 0;
}

/* ------------------------------------------------------------------ ops */

/* Drops from add[0, *n) every entry named name (case-insensitive), keeping order. */
static void route_add_remove(struct h1_hdr *add, size_t *n, const char *name, size_t nl)
{
	size_t w = 0;

	for (size_t i = 0; i < *n; i++)
		if (add[i].name_len != nl || !route_memeq_ci(add[i].name, name, nl))
			add[w++] = add[i];
	*n = w;
}

static void route_drop_named(const struct h1_msg *m, const char *buf, const char *name,
			     struct h1_fieldset *drop)
{
	for (int i = h1_field_find(m, buf, name, 0); i >= 0;
	     i = h1_field_find(m, buf, name, (uint32_t)i + 1))
		h1_fieldset_add(drop, (uint32_t)i);
}

static int route_ops(const struct route_table *t, int rule, const struct h1_msg *m, const char *buf,
		     struct h1_fieldset *drop, struct h1_hdr *add, size_t cap, size_t *nr_add,
		     bool response)
{
	const struct route_entry *e;
	const struct route_hdr_op *ops;
	size_t nops, bound, n = 0;
	bool host_fix;

	if (!t || !m || !buf || !drop || !nr_add || (!add && cap) || rule < 0 ||
	    (size_t)rule >= t->n || m->response != response || !m->head_len || m->err)
		return -EINVAL;
	e = &t->e[rule];
	ops = response ? e->rule.resp_ops : e->rule.req_ops;
	nops = response ? e->rule.nr_resp_ops : e->rule.nr_req_ops;
	bound = response ? e->resp_adds : e->req_adds + 1;
	if (cap < bound) {
		*nr_add = bound;
		return -ENOSPC;
	}
	host_fix = !response && m->form == H1_FORM_ABSOLUTE && (m->flags & H1_F_HOST_DIFFERS);
	if (host_fix) {
		route_drop_named(m, buf, "host", drop);
		add[n++] = (struct h1_hdr){"Host", 4, buf + m->authority.off, m->authority.len};
	}
	for (size_t i = 0; i < nops; i++) {
		const struct route_hdr_op *o = &ops[i];
		size_t nl = strlen(o->name);

		if (o->op != ROUTE_OP_ADD) {
			route_drop_named(m, buf, o->name, drop);
			route_add_remove(add, &n, o->name, nl);
		}
		if (o->op != ROUTE_OP_REMOVE)
			add[n++] = (struct h1_hdr){o->name, nl, o->value, strlen(o->value)};
	}
	*nr_add = n;
	return 0;
}

int route_req_ops(const struct route_table *t, int rule, const struct h1_msg *m, const char *buf,
		  struct h1_fieldset *drop, struct h1_hdr *add, size_t cap, size_t *nr_add)
{
	return route_ops(t, rule, m, buf, drop, add, cap, nr_add, false);
}

int route_resp_ops(const struct route_table *t, int rule, const struct h1_msg *m, const char *buf,
		   struct h1_fieldset *drop, struct h1_hdr *add, size_t cap, size_t *nr_add)
{
	return route_ops(t, rule, m, buf, drop, add, cap, nr_add, true);
}
