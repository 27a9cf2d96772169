// SPDX-License-Identifier: BSD-2-Clause
/*
 * ProxyPassReverse and its cookie siblings. The table holds every mapping
 * in normalized form, so matching a value is a scan that compares the
 * value's scheme, port and host (case-insensitively) and path prefix
 * (byte for byte) against each entry in order. Output goes through a
 * writer that counts past the end of its buffer, so every -ENOSPC knows
 * how much was needed.
 */
#include "http/revmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A URL mapping: from is an absolute URL (host set) or a path (host NULL). */
struct revmap_url {
	const char *host; /* lowercase; NULL: from is a path only */
	size_t host_len;
	unsigned int port; /* the effective port: default filled in */
	bool https;
	const char *path; /* never empty: "/" for a URL without one */
	size_t path_len;
	const char *to; /* normalized: "https://www.example.com/", or "/" */
	size_t to_len;
	bool to_is_path;
};

/* A cookie domain or path mapping. */
struct revmap_str {
	const char *from; /* domain: lowercase, no leading '.' */
	size_t from_len;
	const char *to;
	size_t to_len;
};

struct revmap {
	struct revmap_url *url;
	size_t nr_url;
	struct revmap_str *dom;
	size_t nr_dom;
	struct revmap_str *path;
	size_t nr_path;
	char *pool; /* every normalized string */
};

/* ------------------------------------------------------------ characters */

static unsigned char rm_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static bool rm_eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (rm_lower(a[i]) != rm_lower(b[i]))
			return false;
	return true;
}

static bool rm_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool rm_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool rm_is_hex(unsigned char c)
{
	return rm_is_digit(c) || (rm_lower(c) >= 'a' && rm_lower(c) <= 'f');
}

/* reg-name as h1.c takes a Host: ALPHA DIGIT - . _ ~ (and %XX, checked apart) */
static bool rm_is_host(unsigned char c)
{
	return rm_is_alpha(c) || rm_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* pchar but pct-encoded, plus '/' (RFC 3986 3.3): what a mapping's path may hold */
static bool rm_is_path(unsigned char c)
{
	return rm_is_host(c) || (c && strchr("/!$&'()*+,;=:@", c));
}

static bool rm_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* ---------------------------------------------------------------- output */

struct rm_out {
	char *p;
	size_t cap;
	size_t n;
};

static void rm_put(struct rm_out *o, const char *s, size_t len)
{
	if (o->n < o->cap && len)
		memcpy(o->p + o->n, s, len < o->cap - o->n ? len : o->cap - o->n);
	o->n += len;
}

/* ------------------------------------------------------------------ URLs */

/* An http/https URL split up; offsets into the string parsed. */
struct rm_url {
	bool https;
	size_t host; /* host[host, host_end) */
	size_t host_end;
	bool port_given;   /* ":digits" present (an empty ":" is not) */
	unsigned int port; /* effective */
	size_t path;	   /* path[path, path_end): maybe empty */
	size_t path_end;   /* first '?' or '#', or the end */
};

/*
 * Parses s[0, len) as scheme "://" host [":" port] path-abempty ["?"/"#" ...]
 * with scheme http or https (any case). Returns NULL when it parses, else
 * why not (for spec errors; a value that fails is simply left alone).
 * port_empty_ok: "http://h:/" means the default port, as RFC 3986 3.2.3
 * lets a value say; a mapping must not.
 */
static const char *rm_parse_url(const char *s, size_t len, struct rm_url *u, bool port_empty_ok)
{
	size_t i = 0, a, d;

	memset(u, 0, sizeof(*u));
	if (len && rm_is_alpha((unsigned char)s[0]))
		for (i = 1; i < len &&
			    (rm_is_alpha((unsigned char)s[i]) || rm_is_digit((unsigned char)s[i]) ||
			     s[i] == '+' || s[i] == '-' || s[i] == '.');
		     i++)
			;
	if (!i || len - i < 3 || memcmp(s + i, "://", 3))
		return "not an absolute URL (scheme://host...) nor a path starting with '/'";
	if (rm_eq_ci(s, i, "https", 5))
		u->https = true;
	else if (!rm_eq_ci(s, i, "http", 4))
		return "scheme must be http or https";
	a = i + 3;
	u->host = a;
	if (a < len && s[a] == '[') {
		for (i = a + 1;
		     i < len && (rm_is_hex((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'); i++)
			;
		if (i == len || s[i] != ']' || i - a < 3)
			return "bad IPv6 literal host";
		i++;
	} else {
		for (i = a; i < len; i++) {
			if (s[i] == '%') {
				if (len - i < 3 || !rm_is_hex((unsigned char)s[i + 1]) ||
				    !rm_is_hex((unsigned char)s[i + 2]))
					return "bad percent-encoding in host";
				i += 2;
			} else if (!rm_is_host((unsigned char)s[i])) {
				break;
			}
		}
		if (i == a)
			return "no host";
	}
	u->host_end = i;
	u->port = u->https ? 443 : 80;
	if (i < len && s[i] == ':') {
		for (d = ++i; i < len && rm_is_digit((unsigned char)s[i]); i++)
			;
		if (i - d > 5)
			return "port must be 1 to 65535";
		if (i > d) {
			unsigned int port = 0;

			for (; d < i; d++)
				port = port * 10 + (unsigned int)(s[d] - '0');
			if (!port || port > 65535)
				return "port must be 1 to 65535";
			u->port = port;
			u->port_given = true;
		} else if (!port_empty_ok) {
			return "port must be 1 to 65535";
		}
	}
	if (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#')
		return i < len && s[i] == '@' ? "userinfo is not allowed"
					      : "bad character after the host";
	u->path = i;
	for (; i < len && s[i] != '?' && s[i] != '#'; i++)
		;
	u->path_end = i;
	return NULL;
}

/*
 * Does path[0, len) start with the prefix pre[0, plen) at a segment
 * boundary (see revmap.h)? pre is never empty.
 */
static bool rm_prefix(const char *path, size_t len, const char *pre, size_t plen)
{
	if (len < plen || memcmp(path, pre, plen))
		return false;
	return pre[plen - 1] == '/' || len == plen || path[plen] == '/';
}

/*
 * A rewritten Location that starts "//" or "/\" would name another host
 * (browsers read '\' as '/'): "/app//evil.example" -> "//evil.example".
 */
static bool rm_network_path(const char *to, size_t to_len, const char *rest, size_t rest_len)
{
	return to_len == 1 && to[0] == '/' && rest_len && (rest[0] == '/' || rest[0] == '\\');
}

/* Writes the rewrite of val to o and returns 1, or returns 0 and writes nothing. */
static int rm_location(const struct revmap *t, const char *val, size_t len, struct rm_out *o)
{
	const struct revmap_url *e = NULL;
	const char *rest = NULL;
	size_t i, pl, rest_len = 0;
	struct rm_url u;

	if (len && val[0] == '/') {
		/* "//host" and "/\host" are network-path references, not paths */
		if (len > 1 && (val[1] == '/' || val[1] == '\\'))
			return 0;
		for (pl = 0; pl < len && val[pl] != '?' && val[pl] != '#'; pl++)
			;
		for (i = 0; i < t->nr_url && !e; i++) {
			if (t->url[i].host ||
			    !rm_prefix(val, pl, t->url[i].path, t->url[i].path_len))
				continue;
			e = &t->url[i];
			rest = val + e->path_len;
			rest_len = len - e->path_len;
		}
	} else if (!rm_parse_url(val, len, &u, true)) {
		pl = u.path_end - u.path;
		for (i = 0; i < t->nr_url && !e; i++) {
			const struct revmap_url *c = &t->url[i];

			if (!c->host || c->https != u.https || c->port != u.port ||
			    !rm_eq_ci(val + u.host, u.host_end - u.host, c->host, c->host_len))
				continue;
			if (pl) {
				if (!rm_prefix(val + u.path, pl, c->path, c->path_len))
					continue;
				rest = val + u.path + c->path_len;
				rest_len = len - u.path - c->path_len;
			} else {
				/* no path is "/" (RFC 9110 4.2.3): only "/" matches it */
				if (c->path_len != 1)
					continue;
				rest = val + u.path;
				rest_len = len - u.path;
			}
			e = c;
		}
	}
	if (!e || (e->to_is_path && rm_network_path(e->to, e->to_len, rest, rest_len)))
		return 0;
	rm_put(o, e->to, e->to_len);
	rm_put(o, rest, rest_len);
	return 1;
}

int revmap_location(const struct revmap *t, const char *val, size_t len, char *out, size_t cap,
		    size_t *outlen)
{
	struct rm_out o = {.p = out, .cap = cap};

	if (!t || (!val && len) || !outlen || (!out && cap))
		return -EINVAL;
	*outlen = 0;
	if (!rm_location(t, val, len, &o))
		return 0;
	*outlen = o.n;
	return o.n > cap ? -ENOSPC : 1;
}

/* --------------------------------------------------------------- cookies */

/* The cookie path mapping value v[0, len) falls under, or NULL; *keep = matched bytes. */
static const struct revmap_str *rm_cookie_path(const struct revmap *t, const char *v, size_t len,
					       size_t *keep, bool *dir)
{
	size_t i;

	for (i = 0; i < t->nr_path; i++) {
		const struct revmap_str *e = &t->path[i];

		if (rm_prefix(v, len, e->from, e->from_len)) {
			*keep = e->from_len;
			*dir = false;
			return e;
		}
		/* "/app" under "/app/": a cookie's default-path drops the last '/' */
		if (e->from_len > 1 && e->from[e->from_len - 1] == '/' && len == e->from_len - 1 &&
		    !memcmp(v, e->from, len)) {
			*keep = len;
			*dir = true;
			return e;
		}
	}
	return NULL;
}

static const struct revmap_str *rm_cookie_domain(const struct revmap *t, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < t->nr_dom; i++)
		if (rm_eq_ci(v, len, t->dom[i].from, t->dom[i].from_len))
			return &t->dom[i];
	return NULL;
}

/*
 * Writes the rewrite of the Set-Cookie value to o and returns 1, or returns
 * 0 with o->n as on entry (bytes past it may have been written).
 */
static int rm_set_cookie(const struct revmap *t, const char *val, size_t len, struct rm_out *o)
{
	size_t start = o->n, last = 0, s, e, ns, ne, vs, ve;
	bool any = false;

	/* The cookie-pair runs to the first ';' and is not ours to touch. */
	for (s = 0; s < len && val[s] != ';'; s++)
		;
	while (s < len) {
		s++; /* the ';' */
		for (e = s; e < len && val[e] != ';'; e++)
			;
		for (ns = s; ns < e && rm_is_wsp((unsigned char)val[ns]); ns++)
			;
		for (ne = ns; ne < e && val[ne] != '='; ne++)
			;
		if (ne == e) {
			s = e;
			continue;
		}
		for (vs = ne + 1; vs < e && rm_is_wsp((unsigned char)val[vs]); vs++)
			;
		for (ve = e; ve > vs && rm_is_wsp((unsigned char)val[ve - 1]); ve--)
			;
		while (ne > ns && rm_is_wsp((unsigned char)val[ne - 1]))
			ne--;

		if (rm_eq_ci(val + ns, ne - ns, "domain", 6) && ve > vs) {
			bool dot = val[vs] == '.';
			const struct revmap_str *m =
			    rm_cookie_domain(t, val + vs + dot, ve - vs - dot);

			if (m) {
				rm_put(o, val + last, vs + dot - last);
				rm_put(o, m->to, m->to_len);
				last = ve;
				any = true;
			}
		} else if (rm_eq_ci(val + ns, ne - ns, "path", 4) && ve > vs && val[vs] == '/') {
			size_t keep = 0;
			bool dir = false;
			const struct revmap_str *m =
			    rm_cookie_path(t, val + vs, ve - vs, &keep, &dir);

			if (m) {
				rm_put(o, val + last, vs - last);
				if (!dir)
					rm_put(o, m->to, m->to_len);
				else if (m->to_len > 1)
					rm_put(o, m->to, m->to_len - 1);
				else
					rm_put(o, "/", 1);
				last = vs + keep;
				any = true;
			}
		}
		s = e;
	}
	if (!any) {
		o->n = start;
		return 0;
	}
	rm_put(o, val + last, len - last);
	return 1;
}

int revmap_set_cookie(const struct revmap *t, const char *val, size_t len, char *out, size_t cap,
		      size_t *outlen)
{
	struct rm_out count = {0};
	struct rm_out o = {.p = out, .cap = cap};

	if (!t || (!val && len) || !outlen || (!out && cap))
		return -EINVAL;
	*outlen = 0;
	/* count first: out stays untouched unless the rewrite fits */
	if (!rm_set_cookie(t, val, len, &count))
		return 0;
	*outlen = count.n;
	if (count.n > cap)
		return -ENOSPC;
	rm_set_cookie(t, val, len, &o);
	return 1;
}

/* -------------------------------------------------------------- response */

enum { RM_LOCATION, RM_CONTENT_LOCATION, RM_SET_COOKIE, RM__NR };

int revmap_response(const struct revmap *t, const struct h1_msg *m, const char *buf,
		    struct h1_fieldset *drop, struct h1_hdr *add, size_t cap_add, size_t *nr_add,
		    char *scratch, size_t scratch_cap, size_t *scratch_used)
{
	static const char *const names[RM__NR] = {"location", "content-location", "set-cookie"};
	struct rm_out o = {.p = scratch, .cap = scratch ? scratch_cap : 0};
	uint32_t first[RM__NR] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
	/* per field: its class (-1: none), and its new value in scratch if rewritten */
	int8_t cls[H1_FIELDS_MAX];
	uint32_t off[H1_FIELDS_MAX], len[H1_FIELDS_MAX];
	bool done[H1_FIELDS_MAX];
	size_t nr = 0, k;
	uint32_t i;
	int c;

	if (!t || !m || !buf || !drop || !nr_add || (cap_add && !add) ||
	    (scratch_cap && !scratch) || *nr_add > cap_add)
		return -EINVAL;
	if (!m->response || !m->head_len || m->err || m->nr_fields > H1_FIELDS_MAX)
		return -EINVAL;

	for (i = 0; i < m->nr_fields; i++) {
		const struct h1_field *f = &m->fields[i];
		size_t at = o.n;
		int rc = 0;

		cls[i] = -1;
		done[i] = false;
		if (h1_fieldset_has(drop, i))
			continue;
		for (c = 0; c < RM__NR && cls[i] < 0; c++)
			if (h1_span_eq_ci(buf, f->name, names[c]))
				cls[i] = (int8_t)c;
		if (cls[i] < 0)
			continue;
		if (cls[i] == RM_SET_COOKIE)
			rc = rm_set_cookie(t, buf + f->value.off, f->value.len, &o);
		else
			rc = rm_location(t, buf + f->value.off, f->value.len, &o);
		if (!rc)
			continue;
		done[i] = true;
		off[i] = (uint32_t)at;
		len[i] = (uint32_t)(o.n - at);
		if (first[cls[i]] == UINT32_MAX)
			first[cls[i]] = i;
	}
	for (i = 0; i < m->nr_fields; i++)
		if (cls[i] >= 0 && i >= first[cls[i]])
			nr++;

	if (scratch_used)
		*scratch_used = o.n;
	if (o.n > o.cap || nr > cap_add - *nr_add)
		return -ENOSPC;

	k = *nr_add;
	for (i = 0; i < m->nr_fields; i++) {
		const struct h1_field *f = &m->fields[i];

		if (cls[i] < 0 || i < first[cls[i]])
			continue;
		add[k++] = (struct h1_hdr){
		    .name = buf + f->name.off,
		    .name_len = f->name.len,
		    .value = done[i] ? scratch + off[i] : buf + f->value.off,
		    .value_len = done[i] ? len[i] : f->value.len,
		};
		h1_fieldset_add(drop, i);
	}
	*nr_add = k;
	return 0;
}

/* ----------------------------------------------------------------- build */

static void rm_err(char *err, size_t errlen, const char *kind, size_t i, const char *which,
		   const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s[%zu].%s: %s", kind, i, which, why);
}

/* Why path p[0, len) is not a mapping path, or NULL. cookie: no ';' either. */
static const char *rm_path_bad(const char *p, size_t len, bool cookie)
{
	size_t i;

	if (!len || p[0] != '/')
		return "path must start with '/'";
	if (len > 1 && p[1] == '/')
		return "path must not start with '//' (a host)";
	for (i = 0; i < len; i++) {
		if (p[i] == '%') {
			if (len - i < 3 || !rm_is_hex((unsigned char)p[i + 1]) ||
			    !rm_is_hex((unsigned char)p[i + 2]))
				return "bad percent-encoding";
			i += 2;
			continue;
		}
		if (p[i] == '?' || p[i] == '#')
			return "no query or fragment allowed";
		if (!rm_is_path((unsigned char)p[i]) || (cookie && p[i] == ';'))
			return "character not allowed in a path";
	}
	return NULL;
}

static char *rm_pool_put(char **pool, const char *s, size_t len, bool lower)
{
	char *r = *pool;
	size_t i;

	for (i = 0; i < len; i++)
		r[i] = lower ? (char)rm_lower((unsigned char)s[i]) : s[i];
	r[len] = '\0';
	*pool += len + 1;
	return r;
}

/*
 * One URL-mapping side: an absolute URL (host, port, path set; *to = the
 * normalized text) or a path. Returns NULL or why not.
 */
static const char *rm_url_side(const char *s, char **pool, struct revmap_url *e, bool from,
			       const char **norm, size_t *norm_len, bool *is_path,
			       const char **path, size_t *path_len)
{
	size_t len = strlen(s), i;
	const char *why;
	struct rm_url u;
	char *start;

	if (!len || len > REVMAP_STR_MAX)
		return "must be 1 to 2048 bytes";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return "whitespace, control and non-ASCII bytes are not allowed";
	if (s[0] == '/') {
		why = rm_path_bad(s, len, false);
		if (why)
			return why;
		*is_path = true;
		*norm = *path = rm_pool_put(pool, s, len, false);
		*norm_len = *path_len = len;
		return NULL;
	}
	why = rm_parse_url(s, len, &u, false);
	if (why)
		return why;
	if (u.path_end != len)
		return "no query or fragment allowed";
	if (u.path < len) {
		why = rm_path_bad(s + u.path, len - u.path, false);
		if (why)
			return why;
	}
	*is_path = false;
	start = *pool;
	rm_pool_put(pool, u.https ? "https://" : "http://", u.https ? 8 : 7, false);
	(*pool)--;
	rm_pool_put(pool, s + u.host, u.host_end - u.host, true);
	(*pool)--;
	if (u.port != (u.https ? 443u : 80u))
		*pool += sprintf(*pool, ":%u", u.port);
	*path = *pool;
	if (u.path < len)
		rm_pool_put(pool, s + u.path, len - u.path, false);
	else
		rm_pool_put(pool, "/", 1, false);
	*path_len = strlen(*path);
	*norm = start;
	*norm_len = strlen(start);
	if (from) {
		e->https = u.https;
		e->port = u.port;
		e->host = start + (u.https ? 8 : 7);
		e->host_len = u.host_end - u.host;
	}
	return NULL;
}

/*
 * Is mapping i never used because an earlier one takes every value it
 * would? Its own from, read as a value, tells: see revmap.h's rules.
 */
static bool rm_url_shadowed(const struct revmap *t, size_t i)
{
	const struct revmap_url *e = &t->url[i];
	size_t j;

	for (j = 0; j < i; j++) {
		const struct revmap_url *p = &t->url[j];

		if (!p->host != !e->host)
			continue;
		if (p->host && (p->https != e->https || p->port != e->port ||
				!rm_eq_ci(p->host, p->host_len, e->host, e->host_len)))
			continue;
		if (rm_prefix(e->path, e->path_len, p->path, p->path_len))
			return true;
	}
	return false;
}

static bool rm_path_shadowed(const struct revmap *t, size_t i)
{
	const struct revmap_str *e = &t->path[i];
	struct revmap tmp = {.path = t->path, .nr_path = i};
	size_t keep;
	bool dir;

	/*
	 * An earlier mapping takes every path this one would if it takes this
	 * one's from; a from ending in '/' is taken by what takes its
	 * slashless default-path form too, and that is the stricter test.
	 */
	if (e->from[e->from_len - 1] == '/' && e->from_len > 1 &&
	    !rm_cookie_path(&tmp, e->from, e->from_len - 1, &keep, &dir))
		return false;
	return rm_cookie_path(&tmp, e->from, e->from_len, &keep, &dir);
}

/* Why the cookie domain d is not one, or NULL; *skip = 1 for a leading '.'. */
static const char *rm_domain_bad(const char *d, size_t *skip)
{
	size_t len = strlen(d), i;

	*skip = len && d[0] == '.';
	d += *skip;
	len -= *skip;
	if (!len || len > 253)
		return "domain must be 1 to 253 bytes";
	for (i = 0; i < len; i++) {
		if (d[i] == '.' && (i == 0 || i == len - 1 || d[i - 1] == '.'))
			return "empty label in domain";
		if (!rm_is_alpha((unsigned char)d[i]) && !rm_is_digit((unsigned char)d[i]) &&
		    d[i] != '-' && d[i] != '.' && d[i] != '_')
			return "domain: letters, digits, '-', '.' and '_' only";
	}
	return NULL;
}

static size_t rm_pool_size(const struct revmap_pair *p, size_t n)
{
	size_t i, sz = 0;

	/* normalization only shrinks, but an empty URL path grows to "/" */
	for (i = 0; i < n; i++)
		sz += (p[i].from ? strnlen(p[i].from, REVMAP_STR_MAX + 1) : 0) +
		      (p[i].to ? strnlen(p[i].to, REVMAP_STR_MAX + 1) : 0) + 16;
	return sz;
}

static int rm_check_counts(const struct revmap_spec *spec, char *err, size_t errlen)
{
	static const char *const kinds[] = {"url", "domain", "path"};
	const struct revmap_pair *arr[] = {spec->url, spec->domain, spec->path};
	size_t nr[] = {spec->nr_url, spec->nr_domain, spec->nr_path}, k, i;

	for (k = 0; k < 3; k++) {
		if (nr[k] > REVMAP_ENTRIES_MAX) {
			if (err && errlen)
				snprintf(err, errlen, "%s: more than %d mappings", kinds[k],
					 REVMAP_ENTRIES_MAX);
			return -EINVAL;
		}
		if (nr[k] && !arr[k]) {
			if (err && errlen)
				snprintf(err, errlen, "%s: %zu mappings but no array", kinds[k],
					 nr[k]);
			return -EINVAL;
		}
		for (i = 0; i < nr[k]; i++) {
			if (!arr[k][i].from || !arr[k][i].to) {
				rm_err(err, errlen, kinds[k], i, arr[k][i].from ? "to" : "from",
				       "missing");
				return -EINVAL;
			}
			if (strnlen(arr[k][i].from, REVMAP_STR_MAX + 1) > REVMAP_STR_MAX ||
			    strnlen(arr[k][i].to, REVMAP_STR_MAX + 1) > REVMAP_STR_MAX) {
				rm_err(err, errlen, kinds[k], i, "from/to",
				       "longer than 2048 bytes");
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int rm_build_url(struct revmap *t, const struct revmap_spec *spec, char **pool, char *err,
			size_t errlen)
{
	size_t i;

	for (i = 0; i < spec->nr_url; i++) {
		struct revmap_url *e = &t->url[i];
		const char *fn, *tn, *tp, *why;
		size_t fl, tl, tpl;
		bool fpath, tpath, to_bare;

		why = rm_url_side(spec->url[i].from, pool, e, true, &fn, &fl, &fpath, &e->path,
				  &e->path_len);
		if (why) {
			rm_err(err, errlen, "url", i, "from", why);
			return -EINVAL;
		}
		if (fpath)
			e->host = NULL;
		why = rm_url_side(spec->url[i].to, pool, e, false, &tn, &tl, &tpath, &tp, &tpl);
		if (why) {
			rm_err(err, errlen, "url", i, "to", why);
			return -EINVAL;
		}
		/*
		 * A to URL without a path fits a from of either kind: with a
		 * host fixed, "https://x" + "/y", "?q" or "" is a URL for x.
		 */
		to_bare = !tpath && tpl == 1 && spec->url[i].to[strlen(spec->url[i].to) - 1] != '/';
		if (to_bare && e->path[e->path_len - 1] != '/')
			tl--;
		e->to = tn;
		e->to_len = tl;
		e->to_is_path = tpath;
		if (!to_bare && (e->path[e->path_len - 1] == '/') != (tp[tpl - 1] == '/')) {
			rm_err(err, errlen, "url", i, "to",
			       "from and to must both end in '/' or both not");
			return -EINVAL;
		}
		t->nr_url = i + 1;
		if (rm_url_shadowed(t, i)) {
			rm_err(err, errlen, "url", i, "from",
			       "never used: an earlier mapping matches all it would");
			return -EINVAL;
		}
	}
	return 0;
}

static int rm_build_cookie(struct revmap *t, const struct revmap_spec *spec, char **pool, char *err,
			   size_t errlen)
{
	size_t i, j, skip;
	const char *why;

	for (i = 0; i < spec->nr_domain; i++) {
		struct revmap_str *e = &t->dom[i];
		const char *from = spec->domain[i].from, *to = spec->domain[i].to;

		why = rm_domain_bad(from, &skip);
		if (why) {
			rm_err(err, errlen, "domain", i, "from", why);
			return -EINVAL;
		}
		e->from_len = strlen(from + skip);
		e->from = rm_pool_put(pool, from + skip, e->from_len, true);
		why = rm_domain_bad(to, &skip);
		if (why) {
			rm_err(err, errlen, "domain", i, "to", why);
			return -EINVAL;
		}
		/* the leading '.' is the cookie's to keep or not, never the mapping's */
		e->to_len = strlen(to + skip);
		e->to = rm_pool_put(pool, to + skip, e->to_len, true);
		for (j = 0; j < i; j++) {
			if (rm_eq_ci(t->dom[j].from, t->dom[j].from_len, e->from, e->from_len)) {
				rm_err(err, errlen, "domain", i, "from",
				       "never used: an earlier mapping has the same from");
				return -EINVAL;
			}
		}
	}
	t->nr_dom = spec->nr_domain;

	for (i = 0; i < spec->nr_path; i++) {
		struct revmap_str *e = &t->path[i];
		const char *from = spec->path[i].from, *to = spec->path[i].to;

		why = rm_path_bad(from, strlen(from), true);
		if (why) {
			rm_err(err, errlen, "path", i, "from", why);
			return -EINVAL;
		}
		why = rm_path_bad(to, strlen(to), true);
		if (why) {
			rm_err(err, errlen, "path", i, "to", why);
			return -EINVAL;
		}
		e->from_len = strlen(from);
		e->from = rm_pool_put(pool, from, e->from_len, false);
		e->to_len = strlen(to);
		e->to = rm_pool_put(pool, to, e->to_len, false);
		if ((from[e->from_len - 1] == '/') != (to[e->to_len - 1] == '/')) {
			rm_err(err, errlen, "path", i, "to",
			       "from and to must both end in '/' or both not");
			return -EINVAL;
		}
		if (rm_path_shadowed(t, i)) {
			rm_err(err, errlen, "path", i, "from",
			       "never used: an earlier mapping matches all it would");
			return -EINVAL;
		}
	}
	t->nr_path = spec->nr_path;
	return 0;
}

struct revmap *revmap_new(const struct revmap_spec *spec, char *err, size_t errlen)
{
	struct revmap *t;
	char *pool;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!spec) {
		if (err && errlen)
			snprintf(err, errlen, "no reverse mapping spec");
		errno = EINVAL;
		return NULL;
	}
	rc = rm_check_counts(spec, err, errlen);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto err_nomem;
	t->url = calloc(spec->nr_url ? spec->nr_url : 1, sizeof(*t->url));
	t->dom = calloc(spec->nr_domain ? spec->nr_domain : 1, sizeof(*t->dom));
	t->path = calloc(spec->nr_path ? spec->nr_path : 1, sizeof(*t->path));
	t->pool = malloc(rm_pool_size(spec->url, spec->nr_url) +
			 rm_pool_size(spec->domain, spec->nr_domain) +
			 rm_pool_size(spec->path, spec->nr_path) + 1);
	if (!t->url || !t->dom || !t->path || !t->pool)
		goto err_free;
	pool = t->pool;
	rc = rm_build_url(t, spec, &pool, err, errlen);
	if (!rc)
		rc = rm_build_cookie(t, spec, &pool, err, errlen);
	if (rc) {
		revmap_free(t);
		errno = -rc;
		return NULL;
	}
	return t;

err_free:
	revmap_free(t);
err_nomem:
	if (err && errlen)
		snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void revmap_free(struct revmap *t)
{
	if (!t)
		return;
	free(t->pool);
	free(t->path);
	free(t->dom);
	free(t->url);
	free(t);
}
