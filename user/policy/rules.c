// SPDX-License-Identifier: BSD-2-Clause
/*
 * Forward-proxy policy: rule validation and copy at build time, first-match
 * evaluation, the destination check, the 403 page.
 *
 * Every reason string a verdict can carry is made when the policy is built
 * (or is a literal), so a verdict is a few pointers, evaluation allocates
 * nothing, and the reason stays valid for as long as the policy does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "policy/rules.h"

#include "policy/cidr.h"
#include "policy/sched.h"
#include "util/err.h"

struct fpol_range {
	uint16_t lo, hi;
};

/* A port list: ranges sorted and merged. */
struct fpol_ports {
	size_t n;
	struct fpol_range *r;
};

struct fpol_entry {
	char *name;
	enum fpol_action action;
	enum fpol_meth meth;
	bool has_ports;
	struct fpol_ports ports;
	struct fpol_hosts dst;
	struct fpol_addrs src;
	struct sched *sched; /* NULL: always */
	unsigned dest_allow;
	char *reason;
};

struct fpol {
	enum fpol_action def;
	struct fpol_ports connect;
	bool connect_any; /* connect ports cover 1..65535: no CONNECT port default */
	unsigned dest_allow;
	unsigned (*classify)(const struct sockaddr *a);
	char *connect_reason;
	size_t n;
	struct fpol_entry e[];
};

/* ------------------------------------------------------------- ports */

static int range_cmp(const void *a, const void *b)
{
	const struct fpol_range *x = a, *y = b;

	return (int)x->lo - (int)y->lo;
}

static const char *sp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A decimal port 1..65535; -1 when p does not start with one. */
static long port_num(const char **pp)
{
	const char *p = *pp;
	long v = 0;
	int k = 0;

	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (++k > 5)
			return -1;
	}
	if (!k || v < 1 || v > 65535)
		return -1;
	*pp = p;
	return v;
}

/* Parses spec into *out (caller frees out->r); err gets "<what> '<spec>': ...". */
static int ports_parse(const char *spec, const char *what, struct fpol_ports *out, char *err,
		       size_t errlen)
{
	const char *p = sp(spec);
	size_t cap = 1, n = 0;

	out->n = 0;
	out->r = NULL;
	if (*p == '*') {
		if (*sp(p + 1)) {
			util_errf(err, errlen, "%s '%s': '*' must stand alone", what, spec);
			return -EINVAL;
		}
		out->r = malloc(sizeof(*out->r));
		if (!out->r)
			goto nomem;
		out->r[0] = (struct fpol_range){1, 65535};
		out->n = 1;
		return 0;
	}
	for (const char *q = spec; *q; q++)
		cap += *q == ',';
	out->r = calloc(cap, sizeof(*out->r));
	if (!out->r)
		goto nomem;
	for (;;) {
		long lo, hi;

		p = sp(p);
		if (!*p || *p == ',') {
			util_errf(err, errlen, "%s '%s': empty item", what, spec);
			goto inval;
		}
		lo = port_num(&p);
		if (lo < 0)
			goto badnum;
		hi = lo;
		p = sp(p);
		if (*p == '-') {
			p = sp(p + 1);
			hi = port_num(&p);
			if (hi < 0)
				goto badnum;
			if (hi < lo) {
				util_errf(err, errlen, "%s '%s': range %ld-%ld is reversed", what,
					  spec, lo, hi);
				goto inval;
			}
			p = sp(p);
		}
		out->r[n++] = (struct fpol_range){(uint16_t)lo, (uint16_t)hi};
		if (!*p)
			break;
		if (*p != ',') {
			util_errf(err, errlen, "%s '%s': unexpected '%c' (want ',' or '-')", what,
				  spec, *p);
			goto inval;
		}
		p++;
	}
	qsort(out->r, n, sizeof(*out->r), range_cmp);
	out->n = 1;
	for (size_t i = 1; i < n; i++) {
		struct fpol_range *last = &out->r[out->n - 1];

		if (out->r[i].lo <= (uint32_t)last->hi + 1) {
			if (out->r[i].hi > last->hi)
				last->hi = out->r[i].hi;
		} else {
			out->r[out->n++] = out->r[i];
		}
	}
	return 0;
badnum:
	util_errf(err, errlen, "%s '%s': bad port at '%.16s' (want 1..65535 or a range a-b)", what,
		  spec, p);
inval:
	free(out->r);
	out->r = NULL;
	out->n = 0;
	return -EINVAL;
nomem:
	util_errf(err, errlen, "out of memory");
	return -ENOMEM;
}

static bool ports_has(const struct fpol_ports *ps, uint16_t port)
{
	size_t lo = 0, hi = ps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (port < ps->r[mid].lo)
			hi = mid;
		else if (port > ps->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* ------------------------------------------------- destination classes */

/*
 * The classes come from policy/cidr.c's table (one list of special ranges
 * for the whole tree, NAT64 and 6to4 looked through there too), folded into
 * the FPOL_DEST_* bits a policy allows: CGNAT counts as private, broadcast
 * as reserved, documentation and benchmarking ranges as public.
 */
unsigned fpol_dest_class(const struct sockaddr *a)
{
	int c = a ? cidr_classify(a) : -EINVAL;

	switch (c) {
	case CIDR_CLASS_GLOBAL:
	case CIDR_CLASS_DOCUMENTATION:
	case CIDR_CLASS_BENCHMARK:
		return 0;
	case CIDR_CLASS_UNSPECIFIED:
		return FPOL_DEST_UNSPEC;
	case CIDR_CLASS_LOOPBACK:
		return FPOL_DEST_LOOPBACK;
	case CIDR_CLASS_PRIVATE:
	case CIDR_CLASS_CGNAT:
		return FPOL_DEST_PRIVATE;
	case CIDR_CLASS_LINK_LOCAL:
		return FPOL_DEST_LINKLOCAL;
	case CIDR_CLASS_MULTICAST:
		return FPOL_DEST_MULTICAST;
	default: /* broadcast, reserved, another family, NULL */
		return FPOL_DEST_RESERVED;
	}
}

/* Lowest class first: the reason names one. */
static const char *const class_reason[] = {
    "denied: the destination is a loopback address",
    "denied: the destination is a private address",
    "denied: the destination is a link-local address",
    "denied: the destination is an unspecified address",
    "denied: the destination is a multicast address",
    "denied: the destination is a reserved address",
};

/* ------------------------------------------------------------- build */

static bool name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return false;
	return n >= 1 && n <= FPOL_NAME_MAX;
}

static void entry_free(struct fpol_entry *e)
{
	free(e->name);
	free(e->ports.r);
	sched_free(e->sched);
	free(e->reason);
}

void fpol_free(struct fpol *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		entry_free(&p->e[i]);
	free(p->connect.r);
	free(p->connect_reason);
	free(p);
}

size_t fpol_size(const struct fpol *p)
{
	return p ? p->n : 0;
}

/* Builds rule i into e; on error err gets "rule i 'name': ...". */
static int entry_build(struct fpol_entry *e, const struct fpol_rule *r, size_t i,
		       const char *zonedir, char *err, size_t errlen)
{
	char what[384] = "", stext[1024];
	int rc = -EINVAL, len;

	if (!r->name || !name_ok(r->name)) {
		util_errf(err, errlen, "rule %zu: name missing, longer than %d or not VCHARs only",
			  i, FPOL_NAME_MAX);
		return -EINVAL;
	}
	if ((unsigned)r->action >= FPOL_ACTION__MAX) {
		snprintf(what, sizeof(what), "unknown action %d", (int)r->action);
		goto fail;
	}
	if ((unsigned)r->meth >= FPOL_METH__MAX) {
		snprintf(what, sizeof(what), "unknown method kind %d", (int)r->meth);
		goto fail;
	}
	if ((r->dst.set && !r->dst.match) || (r->src.set && !r->src.match)) {
		snprintf(what, sizeof(what), "%s set given without a match function",
			 r->dst.set && !r->dst.match ? "destination" : "client");
		goto fail;
	}
	if (r->dest_allow & ~FPOL_DEST_ALL) {
		snprintf(what, sizeof(what), "dest_allow 0x%x: unknown class bits 0x%x",
			 r->dest_allow, r->dest_allow & ~FPOL_DEST_ALL);
		goto fail;
	}
	if (r->dest_allow && r->action != FPOL_ALLOW) {
		snprintf(what, sizeof(what), "dest_allow on a deny rule");
		goto fail;
	}
	e->action = r->action;
	e->meth = r->meth;
	e->dst = r->dst;
	e->src = r->src;
	e->dest_allow = r->dest_allow;
	if (r->ports) {
		rc = ports_parse(r->ports, "ports", &e->ports, what, sizeof(what));
		if (rc)
			goto fail;
		e->has_ports = true;
	}
	if (r->sched) {
		const struct fpol_sched_spec *s = r->sched;

		/* The message goes after a prefix, so nothing is copied twice. */
		strcpy(what, "schedule: ");
		e->sched = sched_parse(s->days, s->windows, s->nr_windows, s->tz, zonedir,
				       what + strlen(what), sizeof(what) - strlen(what));
		if (!e->sched) {
			rc = -errno;
			goto fail;
		}
		if (sched_format(e->sched, stext, sizeof(stext))) {
			rc = -EINVAL;
			snprintf(what, sizeof(what), "schedule too long to describe");
			goto fail;
		}
	}
	e->name = strdup(r->name);
	len = e->sched ? snprintf(NULL, 0, "%s by rule '%s' (%s)",
				  r->action == FPOL_ALLOW ? "allowed" : "denied", r->name, stext)
		       : snprintf(NULL, 0, "%s by rule '%s'",
				  r->action == FPOL_ALLOW ? "allowed" : "denied", r->name);
	e->reason = malloc((size_t)len + 1);
	if (!e->name || !e->reason) {
		rc = -ENOMEM;
		snprintf(what, sizeof(what), "out of memory");
		goto fail;
	}
	if (e->sched)
		snprintf(e->reason, (size_t)len + 1, "%s by rule '%s' (%s)",
			 r->action == FPOL_ALLOW ? "allowed" : "denied", r->name, stext);
	else
		snprintf(e->reason, (size_t)len + 1, "%s by rule '%s'",
			 r->action == FPOL_ALLOW ? "allowed" : "denied", r->name);
	return 0;
fail:
	util_errf(err, errlen, "rule %zu '%s': %s", i, r->name, what);
	return rc;
}

/* "443", "443,8443", "8000-8999": the canonical text of a port list. */
static void ports_text(const struct fpol_ports *ps, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ps->n && len < cap; i++) {
		int r = ps->r[i].lo == ps->r[i].hi
			    ? snprintf(out + len, cap - len, "%s%u", i ? "," : "", ps->r[i].lo)
			    : snprintf(out + len, cap - len, "%s%u-%u", i ? "," : "", ps->r[i].lo,
				       ps->r[i].hi);
		if (r < 0)
			break;
		len += (size_t)r;
	}
}

struct fpol *fpol_new(const struct fpol_rule *rules, size_t n, const struct fpol_opts *opts,
		      char *err, size_t errlen)
{
	static const struct fpol_opts defaults;
	char what[256], ptext[256];
	struct fpol *p;
	int rc, len;

	if (!rules && n) {
		util_errf(err, errlen, "rules: NULL with a count of %zu", n);
		errno = EINVAL;
		return NULL;
	}
	if (!opts)
		opts = &defaults;
	if ((unsigned)opts->default_action >= FPOL_ACTION__MAX) {
		util_errf(err, errlen, "options: unknown default action %d",
			  (int)opts->default_action);
		errno = EINVAL;
		return NULL;
	}
	if (opts->dest_allow & ~FPOL_DEST_ALL) {
		util_errf(err, errlen, "options: dest_allow 0x%x: unknown class bits 0x%x",
			  opts->dest_allow, opts->dest_allow & ~FPOL_DEST_ALL);
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p) + n * sizeof(p->e[0]));
	if (!p) {
		util_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->def = opts->default_action;
	p->dest_allow = opts->dest_allow;
	p->classify = opts->classify ? opts->classify : fpol_dest_class;
	rc = ports_parse(opts->connect_ports ? opts->connect_ports : "443",
			 "options: connect_ports", &p->connect, what, sizeof(what));
	if (rc) {
		util_errf(err, errlen, "%s", what);
		goto fail;
	}
	p->connect_any =
	    p->connect.n == 1 && p->connect.r[0].lo == 1 && p->connect.r[0].hi == 65535;
	ports_text(&p->connect, ptext, sizeof(ptext));
	len = snprintf(
	    NULL, 0, "denied: CONNECT is only allowed to port%s %s unless a rule lists the port",
	    p->connect.n == 1 && p->connect.r[0].lo == p->connect.r[0].hi ? "" : "s", ptext);
	p->connect_reason = malloc((size_t)len + 1);
	if (!p->connect_reason) {
		rc = -ENOMEM;
		util_errf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(p->connect_reason, (size_t)len + 1,
		 "denied: CONNECT is only allowed to port%s %s unless a rule lists the port",
		 p->connect.n == 1 && p->connect.r[0].lo == p->connect.r[0].hi ? "" : "s", ptext);
	for (size_t i = 0; i < n; i++) {
		rc = entry_build(&p->e[i], &rules[i], i, opts->zonedir, err, errlen);
		p->n = i + 1; /* fpol_free frees what entry_build got to */
		if (rc)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->e[j].name, rules[i].name)) {
				util_errf(err, errlen,
					  "rule %zu '%s': name already used by rule %zu", i,
					  rules[i].name, j);
				rc = -EINVAL;
				goto fail;
			}
		}
	}
	return p;
fail:
	fpol_free(p);
	errno = -rc;
	return NULL;
}

/* -------------------------------------------------------------- eval */

static bool meth_ok(enum fpol_meth m, bool connect)
{
	return m == FPOL_METH_ANY || (m == FPOL_METH_CONNECT) == connect;
}

static void verdict(struct fpol_verdict *out, enum fpol_action a, enum fpol_why why, int rule,
		    const char *name, const char *reason)
{
	*out = (struct fpol_verdict){a, why, rule, name, reason, 0};
}

int fpol_eval(const struct fpol *p, const struct fpol_req *req, time_t now,
	      struct fpol_verdict *out)
{
	char host[FPOL_HOST_MAX + 1];
	bool port_blocked = false, port_default;
	size_t hlen;

	if (!p || !req || !out || !req->host || !req->port)
		return -EINVAL;
	hlen = req->host_len;
	if (hlen && req->host[hlen - 1] == '.')
		hlen--;
	if (!hlen || hlen > FPOL_HOST_MAX || memchr(req->host, '\0', hlen))
		return -EINVAL;
	for (size_t i = 0; i < hlen; i++) {
		char c = req->host[i];

		host[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	host[hlen] = '\0';
	port_default = !req->connect || p->connect_any || ports_has(&p->connect, req->port);

	for (size_t i = 0; i < p->n; i++) {
		const struct fpol_entry *e = &p->e[i];

		if (!meth_ok(e->meth, req->connect))
			continue;
		if (e->has_ports && !ports_has(&e->ports, req->port))
			continue;
		if (e->sched && !sched_active(e->sched, now))
			continue;
		if (e->src.match && (!req->client || !e->src.match(e->src.set, req->client)))
			continue;
		if (e->dst.match && !e->dst.match(e->dst.set, host))
			continue;
		if (!e->has_ports && e->action == FPOL_ALLOW && !port_default) {
			/* This allow rule would do, but not for CONNECT to this port. */
			port_blocked = true;
			continue;
		}
		verdict(out, e->action, FPOL_WHY_RULE, (int)i, e->name, e->reason);
		return 0;
	}
	if (port_blocked || (p->def == FPOL_ALLOW && !port_default))
		verdict(out, FPOL_DENY, FPOL_WHY_CONNECT_PORT, -1, NULL, p->connect_reason);
	else if (p->def == FPOL_ALLOW)
		verdict(out, FPOL_ALLOW, FPOL_WHY_DEFAULT, -1, NULL, "allowed: no rule matched");
	else
		verdict(out, FPOL_DENY, FPOL_WHY_DEFAULT, -1, NULL,
			"denied: no rule allows this request");
	return 0;
}

int fpol_check_dest(const struct fpol *p, int rule, const struct sockaddr *a,
		    struct fpol_verdict *out)
{
	unsigned cls, allowed, bad;
	const char *name = NULL;

	if (!p || !a || !out || rule < -1 || (rule >= 0 && (size_t)rule >= p->n))
		return -EINVAL;
	cls = p->classify(a);
	allowed = p->dest_allow;
	if (rule >= 0) {
		allowed |= p->e[rule].dest_allow;
		name = p->e[rule].name;
	}
	bad = cls & ~allowed;
	if (!bad) {
		verdict(out, FPOL_ALLOW, FPOL_WHY_DEST, rule, name, "destination address allowed");
		out->dest_class = cls;
		return 0;
	}
	/* A classifier may return bits we do not know: call them reserved. */
	if (!(bad & FPOL_DEST_ALL))
		bad = FPOL_DEST_RESERVED;
	verdict(out, FPOL_DENY, FPOL_WHY_DEST, rule, name,
		class_reason[__builtin_ctz(bad & FPOL_DEST_ALL)]);
	out->dest_class = cls;
	return 0;
}

/* -------------------------------------------------------------- page */

/* Appends, counting on once out is full, so a first pass can size the body. */
struct obuf {
	char *out;
	size_t cap, len;
};

static void put(struct obuf *b, const char *s, size_t n)
{
	if (b->len < b->cap && n)
		memcpy(b->out + b->len, s, b->len + n <= b->cap ? n : b->cap - b->len);
	b->len += n;
}

static void puts_(struct obuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_esc(struct obuf *b, const char *s, size_t n, bool html)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			put(b, "?", 1);
		else if (html && c == '&')
			puts_(b, "&amp;");
		else if (html && c == '<')
			puts_(b, "&lt;");
		else if (html && c == '>')
			puts_(b, "&gt;");
		else if (html && c == '"')
			puts_(b, "&quot;");
		else if (html && c == '\'')
			puts_(b, "&#39;");
		else
			put(b, (const char *)&c, 1);
	}
}

static void page_body(struct obuf *b, const struct fpol_verdict *v, const char *host, size_t hlen,
		      uint16_t port, bool html)
{
	char pbuf[8];
	bool brackets = hlen && host[0] != '[' && memchr(host, ':', hlen);

	snprintf(pbuf, sizeof(pbuf), ":%u", port);
	if (html)
		puts_(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			 "<title>403 Forbidden</title></head>\n<body>\n<h1>403 Forbidden</h1>\n"
			 "<p>");
	else
		puts_(b, "403 Forbidden\n\n");
	if (hlen) {
		puts_(b, "The proxy does not allow access to ");
		if (html)
			puts_(b, "<b>");
		if (brackets)
			puts_(b, "[");
		put_esc(b, host, hlen, html);
		if (brackets)
			puts_(b, "]");
		puts_(b, pbuf);
		if (html)
			puts_(b, "</b>");
		puts_(b, ".");
	} else {
		puts_(b, "The proxy does not allow access to this destination.");
	}
	puts_(b, html ? "</p>\n<p>" : "\n");
	put_esc(b, v->reason ? v->reason : "denied", strlen(v->reason ? v->reason : "denied"),
		html);
	puts_(b, html ? "</p>\n</body></html>\n" : "\n");
}

int fpol_page(const struct fpol_verdict *v, const char *host, size_t host_len, uint16_t port,
	      bool html, char *out, size_t cap, size_t *len)
{
	struct obuf count = {NULL, 0, 0}, b = {out, cap, 0};
	char head[192];
	int hl;

	if (!v || !len || (!out && cap) || (!host && host_len) || v->action != FPOL_DENY)
		return -EINVAL;
	if (host_len > FPOL_HOST_MAX)
		host_len = FPOL_HOST_MAX;
	page_body(&count, v, host, host_len, port, html);
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 403 Forbidden\r\nContent-Type: %s; charset=utf-8\r\n"
		      "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
		      html ? "text/html" : "text/plain", count.len);
	if ((size_t)hl + count.len > cap) {
		*len = (size_t)hl + count.len;
		return -ENOSPC;
	}
	put(&b, head, (size_t)hl);
	page_body(&b, v, host, host_len, port, html);
	*len = b.len;
	return 0;
}
