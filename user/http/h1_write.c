// SPDX-License-Identifier: BSD-2-Clause
/*
 * Head re-serialization and hop-by-hop field selection. The proxy never
 * forwards the bytes it received: it writes the view back out, so whatever
 * the parser took (OWS around values, leading CRLFs) leaves in one canonical
 * spelling, and what it adds is checked as strictly as what it parsed.
 */
#include "http/h1.h"
#include "http/h1_int.h"

#include <errno.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Writes what fits and counts everything, so -ENOSPC can say how much. */
struct h1_out {
	char *p;
	size_t cap;
	size_t n;
};

static void h1_put(struct h1_out *o, const void *s, size_t len)
{
	if (o->n < o->cap)
		memcpy(o->p + o->n, s, len < o->cap - o->n ? len : o->cap - o->n);
	o->n += len;
}

static void h1_put_span(struct h1_out *o, const char *buf, struct h1_span s)
{
	h1_put(o, buf + s.off, s.len);
}

static bool h1_token_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!h1_is(p[i], H1_C_TCHAR))
			return false;
	return len > 0;
}

static bool h1_value_ok(const char *p, size_t len)
{
	size_t i;

	/* Leading or trailing OWS would be trimmed when read back. */
	if (len && (h1_is(p[0], H1_C_OWS) || h1_is(p[len - 1], H1_C_OWS)))
		return false;
	for (i = 0; i < len; i++)
		if (!h1_is(p[i], H1_C_VALUE))
			return false;
	return true;
}

static bool h1_target_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!h1_is(p[i], H1_C_TARGET))
			return false;
	return len > 0;
}

int h1_write_head(const struct h1_msg *m, const char *buf, const struct h1_rewrite *rw, char *out,
		  size_t cap, size_t *len)
{
	static const struct h1_rewrite none;
	struct h1_out o = {.p = out, .cap = out ? cap : 0};
	char status[4];
	uint8_t version;
	size_t i;

	if (!m || !buf || !len || !m->head_len || m->err)
		return -EINVAL;
	if (!rw)
		rw = &none;
	version = rw->version ? rw->version : m->version;
	if ((version != 10 && version != 11) ||
	    (rw->target && (m->response || !h1_target_ok(rw->target, rw->target_len))) ||
	    (rw->nr_add && !rw->add))
		return -EINVAL;
	for (i = 0; i < rw->nr_add; i++)
		if (!rw->add[i].name || (!rw->add[i].value && rw->add[i].value_len) ||
		    !h1_token_ok(rw->add[i].name, rw->add[i].name_len) ||
		    !h1_value_ok(rw->add[i].value, rw->add[i].value_len))
			return -EINVAL;

	if (m->response) {
		h1_put(&o, version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
		status[0] = (char)('0' + m->status / 100);
		status[1] = (char)('0' + m->status / 10 % 10);
		status[2] = (char)('0' + m->status % 10);
		status[3] = ' ';
		h1_put(&o, status, 4);
		h1_put_span(&o, buf, m->reason);
	} else {
		h1_put_span(&o, buf, m->method);
		h1_put(&o, " ", 1);
		if (rw->target)
			h1_put(&o, rw->target, rw->target_len);
		else
			h1_put_span(&o, buf, m->target);
		h1_put(&o, version == 10 ? " HTTP/1.0" : " HTTP/1.1", 9);
	}
	h1_put(&o, "\r\n", 2);

	for (i = 0; i < m->nr_fields; i++) {
		if (rw->drop && h1_fieldset_has(rw->drop, (uint32_t)i))
			continue;
		h1_put_span(&o, buf, m->fields[i].name);
		h1_put(&o, ": ", 2);
		h1_put_span(&o, buf, m->fields[i].value);
		h1_put(&o, "\r\n", 2);
	}
	for (i = 0; i < rw->nr_add; i++) {
		h1_put(&o, rw->add[i].name, rw->add[i].name_len);
		h1_put(&o, ": ", 2);
		if (rw->add[i].value_len)
			h1_put(&o, rw->add[i].value, rw->add[i].value_len);
		h1_put(&o, "\r\n", 2);
	}
	h1_put(&o, "\r\n", 2);

	*len = o.n;
	return o.n > o.cap ? -ENOSPC : 0;
}

static void h1_drop_named(const struct h1_msg *m, const char *buf, const char *name, size_t len,
			  struct h1_fieldset *set)
{
	uint32_t i;

	for (i = 0; i < m->nr_fields; i++) {
		const struct h1_span n = m->fields[i].name;

		if (n.len == len && h1_memeq_ci(buf + n.off, name, len))
			h1_fieldset_add(set, i);
	}
}

void h1_hop_fields(const struct h1_msg *m, const char *buf, uint32_t flags, struct h1_fieldset *set)
{
	static const char *const hop[] = {
	    "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade",
	};
	bool keep_upgrade = flags & H1_HOP_KEEP_UPGRADE;
	size_t i;
	int c;

	for (i = 0; i < ARRAY_SIZE(hop); i++)
		if (!keep_upgrade || strcmp(hop[i], "upgrade"))
			h1_drop_named(m, buf, hop[i], strlen(hop[i]), set);

	for (c = h1_field_find(m, buf, "connection", 0); c >= 0;
	     c = h1_field_find(m, buf, "connection", (uint32_t)c + 1)) {
		const struct h1_span v = m->fields[c].value;
		size_t pos = 0, tok = 0, tlen = 0;

		while (h1_list_token(buf + v.off, v.len, &pos, &tok, &tlen) > 0) {
			const char *t = buf + v.off + tok;

			/*
			 * Naming Host or Content-Length must not strip them from
			 * what the next hop routes and frames by; naming
			 * upgrade must not undo H1_HOP_KEEP_UPGRADE.
			 */
			if (h1_eq_ci(t, tlen, "host") || h1_eq_ci(t, tlen, "content-length") ||
			    (keep_upgrade && h1_eq_ci(t, tlen, "upgrade")))
				continue;
			h1_drop_named(m, buf, t, tlen, set);
		}
	}
}
