/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the HTTP/1.1 fuzz harnesses share. An input is one config byte, then
 * the bytes to parse. The config byte picks default or tiny limits (tiny
 * ones reach every limit check quickly) and, for responses, the request
 * method; the split points come from a hash of the input, so every input
 * has its own and the fuzzer can steer them.
 *
 * Invariants checked (an abort() is the finding):
 *  - no crash, no sanitizer report, no read outside the given bytes (every
 *    parse gets an exact-size copy);
 *  - verdicts are 0, -EAGAIN or -EBADMSG, errors carry a named reason and
 *    a status the caller can send;
 *  - consumed <= len, and every span lies inside what was consumed;
 *  - whole and split input give the same verdict and the same view;
 *  - a head written back out parses to the same view.
 */
#ifndef XDP_TESTS_FUZZ_H1_H
#define XDP_TESTS_FUZZ_H1_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define FZ_CFG_SMALL 0x01 /* tiny limits */

static const struct h1_limits fz_small_limits = {
    .max_start_line = 64,
    .max_field = 48,
    .max_head = 256,
    .max_fields = 6,
    .max_chunk_ext = 16,
    .max_trailer = 64,
    .max_empty_lines = 1,
    .max_body = 100,
};

static inline const struct h1_limits *fz_limits(uint8_t cfg)
{
	return cfg & FZ_CFG_SMALL ? &fz_small_limits : &h1_limits_default;
}

/* FNV-1a: split points that follow the input. */
static inline uint64_t fz_hash(const uint8_t *d, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--) {
		h ^= *d++;
		h *= 1099511628211ull;
	}
	return h;
}

static inline char *fz_copy(const uint8_t *d, size_t n)
{
	char *p = malloc(n ? n : 1);

	FZ_CHECK(p);
	if (n)
		memcpy(p, d, n);
	return p;
}

static inline int fz_parse(struct h1_msg *m, const uint8_t *d, size_t n, int rsp, enum h1_meth meth)
{
	char *p = fz_copy(d, n);
	int rc = rsp ? h1_parse_response(m, p, n, meth) : h1_parse_request(m, p, n);

	free(p);
	return rc;
}

static inline void fz_check_span(struct h1_span s, uint32_t end)
{
	FZ_CHECK(s.off <= end && s.len <= end - s.off);
}

/* The verdict and view of one parse, against its input of len bytes. */
static inline void fz_check_msg(const struct h1_msg *m, int rc, size_t len)
{
	uint32_t i;

	FZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EBADMSG);
	if (rc == -EBADMSG) {
		FZ_CHECK(m->err > H1_ERR_NONE && m->err < H1_ERR__MAX);
		FZ_CHECK(strcmp(h1_err_str(m->err), "?"));
		FZ_CHECK(m->err_status == h1_err_status(m->err, m->response));
		FZ_CHECK(m->err_status >= 400 && m->err_status <= 505);
		FZ_CHECK(m->err_off < len);
		return;
	}
	FZ_CHECK(m->err == H1_ERR_NONE);
	if (rc)
		return;
	FZ_CHECK(m->head_len > 0 && m->head_len <= len);
	FZ_CHECK(m->version == 10 || m->version == 11);
	FZ_CHECK(m->nr_fields <= H1_FIELDS_MAX);
	FZ_CHECK(m->nr_fields <= m->st.lim->max_fields);
	fz_check_span(m->method, m->head_len);
	fz_check_span(m->target, m->head_len);
	fz_check_span(m->authority, m->head_len);
	fz_check_span(m->path, m->head_len);
	fz_check_span(m->reason, m->head_len);
	for (i = 0; i < m->nr_fields; i++) {
		FZ_CHECK(m->fields[i].name.len > 0);
		fz_check_span(m->fields[i].name, m->head_len);
		fz_check_span(m->fields[i].value, m->head_len);
	}
	FZ_CHECK(m->host < (int)m->nr_fields);
	if (m->response) {
		FZ_CHECK(m->status >= 100 && m->status <= 599);
		FZ_CHECK(m->body != H1_BODY_CLOSE || !(m->flags & H1_F_KEEPALIVE));
	} else {
		FZ_CHECK(m->method.len > 0 && m->target.len > 0);
		FZ_CHECK(m->body != H1_BODY_CLOSE);
		FZ_CHECK(m->version == 10 || m->host >= 0);
	}
	if (m->body == H1_BODY_LENGTH)
		FZ_CHECK(m->content_length <= INT64_MAX &&
			 m->content_length <= m->st.lim->max_body);
}

static inline int fz_span_eq(const char *a, struct h1_span sa, const char *b, struct h1_span sb)
{
	return sa.len == sb.len && !memcmp(a + sa.off, b + sb.off, sa.len);
}

/* Same verdict and view from the same bytes: offsets must match too. */
static inline void fz_same_msg(const struct h1_msg *a, const struct h1_msg *b)
{
	uint32_t i;

	FZ_CHECK(a->err == b->err && a->err_status == b->err_status);
	FZ_CHECK(a->err_off == b->err_off || !a->err);
	FZ_CHECK(a->head_len == b->head_len);
	if (a->err || !a->head_len)
		return;
	FZ_CHECK(a->version == b->version && a->meth == b->meth && a->form == b->form);
	FZ_CHECK(!memcmp(&a->method, &b->method, sizeof(a->method)));
	FZ_CHECK(!memcmp(&a->target, &b->target, sizeof(a->target)));
	FZ_CHECK(!memcmp(&a->authority, &b->authority, sizeof(a->authority)));
	FZ_CHECK(!memcmp(&a->path, &b->path, sizeof(a->path)));
	FZ_CHECK(!memcmp(&a->reason, &b->reason, sizeof(a->reason)));
	FZ_CHECK(a->status == b->status && a->body == b->body);
	FZ_CHECK(a->content_length == b->content_length && a->flags == b->flags);
	FZ_CHECK(a->host == b->host && a->nr_fields == b->nr_fields);
	for (i = 0; i < a->nr_fields; i++)
		FZ_CHECK(!memcmp(&a->fields[i], &b->fields[i], sizeof(a->fields[i])));
}

/* Same view read from different bytes: compared as text. */
static inline void fz_same_text(const struct h1_msg *a, const char *ab, const struct h1_msg *b,
				const char *bb)
{
	uint32_t i;

	FZ_CHECK(a->version == b->version && a->meth == b->meth && a->form == b->form);
	FZ_CHECK(fz_span_eq(ab, a->method, bb, b->method));
	FZ_CHECK(fz_span_eq(ab, a->target, bb, b->target));
	FZ_CHECK(fz_span_eq(ab, a->authority, bb, b->authority));
	FZ_CHECK(fz_span_eq(ab, a->path, bb, b->path));
	FZ_CHECK(fz_span_eq(ab, a->reason, bb, b->reason));
	FZ_CHECK(a->status == b->status && a->body == b->body);
	FZ_CHECK(a->content_length == b->content_length && a->flags == b->flags);
	FZ_CHECK(a->host == b->host && a->nr_fields == b->nr_fields);
	for (i = 0; i < a->nr_fields; i++) {
		FZ_CHECK(fz_span_eq(ab, a->fields[i].name, bb, b->fields[i].name));
		FZ_CHECK(fz_span_eq(ab, a->fields[i].value, bb, b->fields[i].value));
	}
}

/*
 * Writes m back out and parses that. The writer adds a SP after each colon,
 * so the line limits get room; the field count and body limit stay.
 */
static inline void fz_check_rewrite(const struct h1_msg *m, const char *buf)
{
	struct h1_limits lim = *m->st.lim;
	struct h1_msg *m2 = malloc(sizeof(*m2));
	size_t need = 0, n = 0;
	char *out;

	FZ_CHECK(m2);
	FZ_CHECK(h1_write_head(m, buf, NULL, NULL, 0, &need) == -ENOSPC);
	FZ_CHECK(need <= (size_t)m->head_len + m->nr_fields + 2);
	out = malloc(need);
	FZ_CHECK(out);
	FZ_CHECK(h1_write_head(m, buf, NULL, out, need, &n) == 0 && n == need);
	lim.max_start_line += 16;
	lim.max_field += 16;
	lim.max_head = lim.max_head * 2 + 1024;
	h1_msg_init(m2, &lim);
	FZ_CHECK(fz_parse(m2, (const uint8_t *)out, n, m->response, m->meth) == 0);
	FZ_CHECK(m2->head_len == n);
	fz_same_text(m, buf, m2, out);
	free(out);
	free(m2);
}

/*
 * Drops the hop-by-hop fields, adds one, replaces a request's target: what
 * is written must parse, holding exactly the kept fields and the added one.
 * Dropping fields from a valid head cannot make it invalid: Host and
 * Content-Length are never dropped.
 */
static inline void fz_check_hop(const struct h1_msg *m, const char *buf, uint32_t flags)
{
	static const struct h1_hdr via = {"Via", 3, "1.1 xdproxy", 11};
	struct h1_fieldset drop = {{0}};
	struct h1_rewrite rw = {.drop = &drop, .add = &via, .nr_add = 1};
	struct h1_limits lim = *m->st.lim;
	struct h1_msg *m2 = malloc(sizeof(*m2));
	size_t need = 0, n = 0;
	uint32_t i, j = 0;
	char *out;

	FZ_CHECK(m2);
	/* as a proxy would: origin-form to the next hop, responses in 1.1 */
	if (m->response) {
		rw.version = 11;
	} else if (m->form == H1_FORM_ABSOLUTE || m->form == H1_FORM_ORIGIN) {
		rw.target = "/";
		rw.target_len = 1;
	}
	h1_hop_fields(m, buf, flags, &drop);
	FZ_CHECK(h1_write_head(m, buf, &rw, NULL, 0, &need) == -ENOSPC);
	out = malloc(need);
	FZ_CHECK(out);
	FZ_CHECK(h1_write_head(m, buf, &rw, out, need, &n) == 0 && n == need);
	lim.max_start_line += 16;
	lim.max_field += 16;
	lim.max_head = lim.max_head * 2 + 1024;
	lim.max_fields += 1;
	h1_msg_init(m2, &lim);
	FZ_CHECK(fz_parse(m2, (const uint8_t *)out, n, m->response, m->meth) == 0);
	for (i = 0; i < m->nr_fields; i++) {
		if (h1_fieldset_has(&drop, i)) {
			FZ_CHECK(!h1_span_eq_ci(buf, m->fields[i].name, "host"));
			FZ_CHECK(!h1_span_eq_ci(buf, m->fields[i].name, "content-length"));
			continue;
		}
		FZ_CHECK(j < m2->nr_fields);
		FZ_CHECK(fz_span_eq(buf, m->fields[i].name, out, m2->fields[j].name));
		FZ_CHECK(fz_span_eq(buf, m->fields[i].value, out, m2->fields[j].value));
		j++;
	}
	FZ_CHECK(j + 1 == m2->nr_fields);
	FZ_CHECK(h1_span_eq_ci(out, m2->fields[j].name, "via"));
	FZ_CHECK(h1_field_find(m2, out, "transfer-encoding", 0) == -ENOENT);
	FZ_CHECK(h1_field_find(m2, out, "connection", 0) == -ENOENT);
	free(out);
	free(m2);
}

/* Parses d[0, n) whole and split at cut: both must agree. Returns the verdict. */
static inline int fz_parse_both(struct h1_msg *m, const uint8_t *d, size_t n, size_t cut, int rsp,
				enum h1_meth meth, const struct h1_limits *lim)
{
	struct h1_msg *s = malloc(sizeof(*s));
	int rc, rc2;

	FZ_CHECK(s);
	h1_msg_init(m, lim);
	rc = fz_parse(m, d, n, rsp, meth);
	fz_check_msg(m, rc, n);
	FZ_CHECK(fz_parse(m, d, n, rsp, meth) == rc); /* idempotent */

	h1_msg_init(s, lim);
	rc2 = fz_parse(s, d, cut, rsp, meth);
	fz_check_msg(s, rc2, cut);
	if (rc2 == -EAGAIN)
		rc2 = fz_parse(s, d, n, rsp, meth);
	FZ_CHECK(rc2 == rc);
	fz_same_msg(m, s);
	free(s);
	return rc;
}

struct fz_body_result {
	int rc;
	enum h1_err err;
	int done;
	size_t consumed;
	size_t data_len;
	uint64_t data_hash;
};

/*
 * Decodes d[0, n) as a body of the given framing, fed in pieces that end
 * at the cuts (ascending; none past n). Data is hashed, not kept.
 */
static inline void fz_decode(struct fz_body_result *r, enum h1_body_mode mode, uint64_t cl,
			     const struct h1_limits *lim, int rsp, const uint8_t *d, size_t n,
			     const size_t *cuts, size_t nr_cuts)
{
	struct h1_body b;
	size_t off = 0, k = 0;

	memset(r, 0, sizeof(*r));
	r->data_hash = 1469598103934665603ull;
	h1_body_start(&b, mode, cl, lim, rsp);
	while (!h1_body_done(&b)) {
		size_t end = k < nr_cuts ? cuts[k] : n, i;
		struct h1_body_out out;
		char *p;

		if (off >= end) {
			if (k >= nr_cuts)
				break;
			k++;
			continue;
		}
		p = fz_copy(d + off, end - off);
		r->rc = h1_body_feed(&b, p, end - off, &out);
		if (r->rc) {
			FZ_CHECK(r->rc == -EBADMSG);
			FZ_CHECK(b.err > H1_ERR_NONE && b.err < H1_ERR__MAX);
			FZ_CHECK(b.err_status == h1_err_status(b.err, rsp));
			r->err = b.err;
			free(p);
			break;
		}
		FZ_CHECK(out.consumed <= end - off);
		FZ_CHECK(out.data_off <= out.consumed &&
			 out.data_len <= out.consumed - out.data_off);
		FZ_CHECK(out.consumed > 0 || h1_body_done(&b));
		for (i = 0; i < out.data_len; i++) {
			r->data_hash ^= (uint8_t)p[out.data_off + i];
			r->data_hash *= 1099511628211ull;
		}
		r->data_len += out.data_len;
		off += out.consumed;
		free(p);
	}
	FZ_CHECK(b.total == r->data_len);
	r->done = h1_body_done(&b);
	r->consumed = off;
	if (!r->rc && !r->done) {
		/* the peer closes here: only a close-delimited body ends well */
		int eof = h1_body_eof(&b);

		FZ_CHECK(mode == H1_BODY_CLOSE ? eof == 0 : eof == -EBADMSG);
	}
}

static inline void fz_same_body(const struct fz_body_result *a, const struct fz_body_result *b)
{
	FZ_CHECK(a->rc == b->rc && a->err == b->err && a->done == b->done);
	FZ_CHECK(a->data_len == b->data_len && a->data_hash == b->data_hash);
	if (!a->rc)
		FZ_CHECK(a->consumed == b->consumed);
}

/*
 * Parses d[0, n) as a stream of pipelined messages: each head whole and
 * split, written back out, its body decoded whole and split; the next
 * message starts where the body ended.
 */
static inline void fz_messages(const uint8_t *d, size_t n, int rsp, enum h1_meth meth,
			       const struct h1_limits *lim)
{
	struct h1_msg *m = malloc(sizeof(*m));
	uint64_t h = fz_hash(d, n);
	size_t off = 0;
	int i;

	FZ_CHECK(m);
	for (i = 0; i < 8 && off < n; i++) {
		struct fz_body_result whole, split;
		size_t left = n - off, cut, bcut;
		int rc;

		cut = (size_t)(h % (left + 1));
		rc = fz_parse_both(m, d + off, left, cut, rsp, meth, lim);
		if (rc)
			break;
		{
			char *p = fz_copy(d + off, m->head_len);

			fz_check_rewrite(m, p);
			fz_check_hop(m, p, (uint32_t)(h & H1_HOP_KEEP_UPGRADE));
			free(p);
		}
		off += m->head_len;
		left = n - off;
		bcut = (size_t)((h >> 20) % (left + 1));
		fz_decode(&whole, m->body, m->content_length, lim, rsp, d + off, left, NULL, 0);
		fz_decode(&split, m->body, m->content_length, lim, rsp, d + off, left, &bcut, 1);
		fz_same_body(&whole, &split);
		if (whole.rc || !whole.done)
			break;
		off += whole.consumed;
		h = h * 31 + 7;
	}
	free(m);
}

#endif
