// SPDX-License-Identifier: BSD-2-Clause
/*
 * Client identity headers on a forwarded request. Everything is decided
 * from the parsed view and the two socket addresses; what is appended is
 * written into the caller's scratch, counted even past its end so that
 * -ENOSPC can say how much was needed, and committed to the caller's drop
 * set and add list only when all of it fits.
 */
#include "http/fwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define FWD_PSEUDONYM_MAX  255
#define FWD_USER_AGENT_MAX 1024

/* Longest "[v6]:port" the Forwarded for=/by= values need, NUL included. */
#define FWD_NODE_STRLEN (FWD_ADDR_STRLEN + 8)

/* scratch being filled: writes what fits, counts everything */
struct fwd_out {
	char *p;
	size_t cap;
	size_t n;
};

static void fwd_put(struct fwd_out *o, const char *s, size_t len)
{
	if (o->n < o->cap && len)
		memcpy(o->p + o->n, s, len < o->cap - o->n ? len : o->cap - o->n);
	o->n += len;
}

static void fwd_puts(struct fwd_out *o, const char *s)
{
	fwd_put(o, s, strlen(s));
}

/* tchar (RFC 9110 5.6.2) */
static bool fwd_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* field-vchar / SP / HTAB (RFC 9110 5.5), as h1_write_head() takes them */
static bool fwd_is_value(unsigned char c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

static unsigned char fwd_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static bool fwd_eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (fwd_lower(a[i]) != fwd_lower(b[i]))
			return false;
	return true;
}

/* Does the name n of buf start with the lowercase lit? */
static bool fwd_prefix_ci(const char *buf, struct h1_span n, const char *lit)
{
	size_t len = strlen(lit);

	return n.len >= len && fwd_eq_ci(buf + n.off, len, lit, len);
}

static void fwd_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

int fwd_conf_check(const struct fwd_conf *c, char *err, size_t errlen)
{
	const uint32_t fwd_sub = FWD_FORWARDED_APPEND | FWD_FORWARDED_PORT | FWD_FORWARDED_BY;
	size_t i, len;

	if (!c) {
		fwd_err(err, errlen, "no forwarding config");
		return -EINVAL;
	}
	if (c->mode & ~FWD_MODE_ALL) {
		fwd_err(err, errlen, "unknown forwarding mode flag");
		return -EINVAL;
	}
	if ((c->mode & FWD_XFF_APPEND) && !(c->mode & FWD_XFF)) {
		fwd_err(err, errlen, "xff-append needs xff");
		return -EINVAL;
	}
	if ((c->mode & fwd_sub) && !(c->mode & FWD_FORWARDED)) {
		fwd_err(err, errlen, "forwarded-append, -port and -by need forwarded");
		return -EINVAL;
	}
	if ((c->mode & FWD_HIDE) && (c->mode & ~FWD_HIDE)) {
		fwd_err(err, errlen, "hide adds no client identity: it excludes every other mode");
		return -EINVAL;
	}
	if (c->mode & FWD_VIA) {
		len = c->pseudonym ? strlen(c->pseudonym) : 0;
		if (!len || len > FWD_PSEUDONYM_MAX) {
			fwd_err(err, errlen, "via needs a pseudonym of 1 to 255 bytes");
			return -EINVAL;
		}
		/* token, or uri-host [":" port]: nothing that ends a Via element */
		for (i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)c->pseudonym[i];

			if (!fwd_is_tchar(ch) && ch != ':' && ch != '[' && ch != ']') {
				fwd_err(err, errlen,
					"via pseudonym: only token characters, ':', '[' and ']'");
				return -EINVAL;
			}
		}
	}
	if (c->user_agent) {
		len = strlen(c->user_agent);
		if (!(c->mode & FWD_HIDE)) {
			fwd_err(err, errlen, "a user-agent replacement needs hide");
			return -EINVAL;
		}
		if (!len || len > FWD_USER_AGENT_MAX) {
			fwd_err(err, errlen, "user-agent must be 1 to 1024 bytes");
			return -EINVAL;
		}
		for (i = 0; i < len; i++)
			if (!fwd_is_value((unsigned char)c->user_agent[i]))
				break;
		/* leading or trailing whitespace would be trimmed by the next hop */
		if (i < len || c->user_agent[0] == ' ' || c->user_agent[0] == '\t' ||
		    c->user_agent[len - 1] == ' ' || c->user_agent[len - 1] == '\t') {
			fwd_err(
			    err, errlen,
			    "user-agent: field-value characters only, no surrounding whitespace");
			return -EINVAL;
		}
	}
	fwd_err(err, errlen, "");
	return 0;
}

int fwd_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	char tmp[FWD_ADDR_STRLEN];
	size_t len;

	if (!sa || !out)
		return -EINVAL;
	if (cap)
		out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &in->sin_addr, tmp, sizeof(tmp)))
			return -EINVAL;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		/*
		 * A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d;
		 * the backend's access control and logs know them as a.b.c.d.
		 */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			if (!inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], tmp, sizeof(tmp)))
				return -EINVAL;
		} else if (!inet_ntop(AF_INET6, &in6->sin6_addr, tmp, sizeof(tmp))) {
			return -EINVAL;
		}
	} else {
		return -EAFNOSUPPORT;
	}
	len = strlen(tmp);
	if (len >= cap)
		return -ENOSPC;
	memcpy(out, tmp, len + 1);
	return 0;
}

/* The address's port in host order, 0 for another family. */
static unsigned int fwd_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

/* The client as X-Forwarded-For and X-Real-IP show it. */
static void fwd_put_addr(struct fwd_out *o, const struct sockaddr *sa)
{
	char a[FWD_ADDR_STRLEN];

	fwd_puts(o, fwd_addr_str(sa, a, sizeof(a)) ? "unknown" : a);
}

/*
 * A Forwarded parameter value (RFC 7239 4): a token as is, anything else as
 * a quoted-string, '"' and '\' escaped.
 */
static void fwd_put_param(struct fwd_out *o, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len && fwd_is_tchar((unsigned char)v[i]); i++)
		;
	if (len && i == len) {
		fwd_put(o, v, len);
		return;
	}
	fwd_put(o, "\"", 1);
	for (i = 0; i < len; i++) {
		if (v[i] == '"' || v[i] == '\\')
			fwd_put(o, "\\", 1);
		fwd_put(o, v + i, 1);
	}
	fwd_put(o, "\"", 1);
}

/* RFC 7239 6: node = nodename [":" node-port], IPv6 in brackets. */
static void fwd_put_node(struct fwd_out *o, const struct sockaddr *sa, bool port)
{
	char a[FWD_ADDR_STRLEN], node[FWD_NODE_STRLEN];
	int n;

	if (fwd_addr_str(sa, a, sizeof(a))) {
		fwd_puts(o, "unknown");
		return;
	}
	if (port)
		n = snprintf(node, sizeof(node), strchr(a, ':') ? "[%s]:%u" : "%s:%u", a,
			     fwd_port(sa));
	else
		n = snprintf(node, sizeof(node), strchr(a, ':') ? "[%s]" : "%s", a);
	fwd_put_param(o, node, (size_t)n);
}

/*
 * Every value of the fields named name (not in drop), joined by ", ",
 * empty ones skipped: one list as RFC 9110 5.3 combines them.
 * Returns whether anything was written.
 */
static bool fwd_put_combined(struct fwd_out *o, const struct h1_msg *m, const char *buf,
			     const struct h1_fieldset *drop, const char *name)
{
	bool any = false;
	int i;

	for (i = h1_field_find(m, buf, name, 0); i >= 0;
	     i = h1_field_find(m, buf, name, (uint32_t)i + 1)) {
		const struct h1_span v = m->fields[i].value;

		if (h1_fieldset_has(drop, (uint32_t)i) || !v.len)
			continue;
		if (any)
			fwd_put(o, ", ", 2);
		fwd_put(o, buf + v.off, v.len);
		any = true;
	}
	return any;
}

/* Leave out every field whose name is one of names[] or starts with one of prefixes[]. */
static void fwd_drop_names(const struct h1_msg *m, const char *buf, const char *const *names,
			   size_t nr_names, const char *const *prefixes, size_t nr_prefixes,
			   struct h1_fieldset *set)
{
	uint32_t i;
	size_t j;

	for (i = 0; i < m->nr_fields; i++) {
		const struct h1_span n = m->fields[i].name;

		for (j = 0; j < nr_names; j++)
			if (h1_span_eq_ci(buf, n, names[j]))
				h1_fieldset_add(set, i);
		for (j = 0; j < nr_prefixes; j++)
			if (fwd_prefix_ci(buf, n, prefixes[j]))
				h1_fieldset_add(set, i);
	}
}

static void fwd_hide(const struct h1_msg *m, const char *buf, const struct fwd_conf *conf,
		     struct h1_fieldset *set)
{
	static const char *const names[] = {
	    "forwarded",	"via",	       "x-real-ip",	      "client-ip", "true-client-ip",
	    "cf-connecting-ip", "x-client-ip", "x-cluster-client-ip", "from",
	};
	static const char *const prefixes[] = {"x-forwarded-"};
	static const char *const ua[] = {"user-agent"};
	uint32_t i;

	fwd_drop_names(m, buf, names, ARRAY_SIZE(names), prefixes, ARRAY_SIZE(prefixes), set);
	/* Proxy-Authorization is the forward proxy's to consume or pass on. */
	for (i = 0; i < m->nr_fields; i++)
		if (fwd_prefix_ci(buf, m->fields[i].name, "proxy-") &&
		    !h1_span_eq_ci(buf, m->fields[i].name, "proxy-authorization"))
			h1_fieldset_add(set, i);
	if (conf->user_agent)
		fwd_drop_names(m, buf, ua, 1, NULL, 0, set);
}

/* One field to append: its value is o->p[off, o->n) once everything fits. */
struct fwd_pending {
	const char *name;
	size_t off;
	size_t end;
};

int fwd_request(const struct h1_msg *m, const char *buf, const struct fwd_conf *conf,
		const struct fwd_conn *conn, struct h1_fieldset *drop, struct h1_hdr *add,
		size_t cap_add, size_t *nr_add, char *scratch, size_t scratch_cap,
		size_t *scratch_used)
{
	struct fwd_out o = {.p = scratch, .cap = scratch ? scratch_cap : 0};
	struct fwd_pending pend[FWD_ADD_MAX];
	struct h1_fieldset d;
	const char *proto;
	size_t nr = 0, i;
	uint32_t mode;

	if (!m || !buf || !conf || !conn || !drop || !nr_add || (cap_add && !add) ||
	    (scratch_cap && !scratch) || *nr_add > cap_add)
		return -EINVAL;
	if (m->response || !m->head_len || m->err || fwd_conf_check(conf, NULL, 0))
		return -EINVAL;
	mode = conf->mode;
	if ((mode & (FWD_XFF | FWD_FORWARDED | FWD_REAL_IP)) && !conn->client)
		return -EINVAL;
	if ((mode & FWD_FORWARDED_BY) && !conn->proxy)
		return -EINVAL;
	proto = conn->tls ? "https" : "http";
	d = *drop;

	if (mode & FWD_HIDE) {
		fwd_hide(m, buf, conf, &d);
		if (conf->user_agent) {
			pend[nr] = (struct fwd_pending){"User-Agent", o.n, 0};
			fwd_puts(&o, conf->user_agent);
			pend[nr++].end = o.n;
		}
	}

	if (mode & FWD_XFF) {
		static const char *const prefixes[] = {"x-forwarded-"};

		pend[nr] = (struct fwd_pending){"X-Forwarded-For", o.n, 0};
		/* combined from d as given: what the caller dropped is not chained */
		if ((mode & FWD_XFF_APPEND) && fwd_put_combined(&o, m, buf, &d, "x-forwarded-for"))
			fwd_put(&o, ", ", 2);
		fwd_put_addr(&o, conn->client);
		pend[nr++].end = o.n;
		pend[nr] = (struct fwd_pending){"X-Forwarded-Proto", o.n, 0};
		fwd_puts(&o, proto);
		pend[nr++].end = o.n;
		if (m->authority.len) {
			pend[nr] = (struct fwd_pending){"X-Forwarded-Host", o.n, 0};
			fwd_put(&o, buf + m->authority.off, m->authority.len);
			pend[nr++].end = o.n;
		}
		fwd_drop_names(m, buf, NULL, 0, prefixes, 1, &d);
	}

	if (mode & FWD_REAL_IP) {
		static const char *const names[] = {"x-real-ip"};

		pend[nr] = (struct fwd_pending){"X-Real-IP", o.n, 0};
		fwd_put_addr(&o, conn->client);
		pend[nr++].end = o.n;
		fwd_drop_names(m, buf, names, 1, NULL, 0, &d);
	}

	if (mode & FWD_FORWARDED) {
		static const char *const names[] = {"forwarded"};
		bool port = mode & FWD_FORWARDED_PORT;

		pend[nr] = (struct fwd_pending){"Forwarded", o.n, 0};
		if ((mode & FWD_FORWARDED_APPEND) && fwd_put_combined(&o, m, buf, &d, "forwarded"))
			fwd_put(&o, ", ", 2);
		fwd_puts(&o, "for=");
		fwd_put_node(&o, conn->client, port);
		fwd_puts(&o, ";proto=");
		fwd_puts(&o, proto);
		if (m->authority.len) {
			fwd_puts(&o, ";host=");
			fwd_put_param(&o, buf + m->authority.off, m->authority.len);
		}
		if (mode & FWD_FORWARDED_BY) {
			fwd_puts(&o, ";by=");
			fwd_put_node(&o, conn->proxy, port);
		}
		pend[nr++].end = o.n;
		fwd_drop_names(m, buf, names, 1, NULL, 0, &d);
	}

	if (mode & FWD_VIA) {
		static const char *const names[] = {"via"};

		pend[nr] = (struct fwd_pending){"Via", o.n, 0};
		if (fwd_put_combined(&o, m, buf, &d, "via"))
			fwd_put(&o, ", ", 2);
		/* received-protocol: "HTTP/" may be left out (RFC 9110 7.6.3) */
		fwd_puts(&o, m->version == 10 ? "1.0 " : "1.1 ");
		fwd_puts(&o, conf->pseudonym);
		pend[nr++].end = o.n;
		fwd_drop_names(m, buf, names, 1, NULL, 0, &d);
	}

	if (scratch_used)
		*scratch_used = o.n;
	if (o.n > o.cap || nr > cap_add - *nr_add)
		return -ENOSPC;
	for (i = 0; i < nr; i++)
		add[*nr_add + i] = (struct h1_hdr){
		    .name = pend[i].name,
		    .name_len = strlen(pend[i].name),
		    .value = scratch + pend[i].off,
		    .value_len = pend[i].end - pend[i].off,
		};
	*nr_add += nr;
	*drop = d;
	return 0;
}

/* Skips a comment "( ... )" at v[*i], nested and with quoted-pairs (RFC 9110 5.6.5). */
static void fwd_skip_comment(const char *v, size_t len, size_t *i)
{
	unsigned int depth = 0;

	for (; *i < len; (*i)++) {
		if (v[*i] == '\\') {
			(*i)++;
		} else if (v[*i] == '(') {
			depth++;
		} else if (v[*i] == ')' && !--depth) {
			(*i)++;
			return;
		}
	}
}

/* Skips a quoted-string at v[*i] (a stray one: Via has none, but it must not end an element). */
static void fwd_skip_quoted(const char *v, size_t len, size_t *i)
{
	for ((*i)++; *i < len; (*i)++) {
		if (v[*i] == '\\') {
			(*i)++;
		} else if (v[*i] == '"') {
			(*i)++;
			return;
		}
	}
}

/*
 * Via = #( received-protocol RWS received-by [ RWS comment ] ). The second
 * whitespace-separated word of each element is its received-by; a comma
 * inside a comment does not end the element.
 */
static bool fwd_via_value_has(const char *v, size_t len, const char *pn, size_t pnlen)
{
	size_t i = 0;

	while (i < len) {
		unsigned int word = 0;
		bool found = false;

		while (i < len && v[i] != ',') {
			size_t s;

			if (v[i] == ' ' || v[i] == '\t') {
				i++;
				continue;
			}
			if (v[i] == '(') {
				fwd_skip_comment(v, len, &i);
				continue;
			}
			if (v[i] == '"') {
				fwd_skip_quoted(v, len, &i);
				word++;
				continue;
			}
			for (s = i; i < len && v[i] != ' ' && v[i] != '\t' && v[i] != ',' &&
				    v[i] != '(' && v[i] != '"';
			     i++)
				;
			if (++word == 2 && fwd_eq_ci(v + s, i - s, pn, pnlen))
				found = true;
		}
		if (found)
			return true;
		i++; /* the comma */
	}
	return false;
}

bool fwd_via_loops(const struct h1_msg *m, const char *buf, const char *pseudonym)
{
	size_t pnlen;
	int i;

	if (!m || !buf || !pseudonym || !(pnlen = strlen(pseudonym)))
		return false;
	for (i = h1_field_find(m, buf, "via", 0); i >= 0;
	     i = h1_field_find(m, buf, "via", (uint32_t)i + 1)) {
		const struct h1_span v = m->fields[i].value;

		if (fwd_via_value_has(buf + v.off, v.len, pseudonym, pnlen))
			return true;
	}
	return false;
}
