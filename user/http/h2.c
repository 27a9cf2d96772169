// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/2 server session over nghttp2, translating each stream to and from
 * the HTTP/1.1 text the engine already speaks. See h2.h for the contract
 * and for what nghttp2 validates on its own.
 *
 * Decisions worth knowing when reading this file:
 *  - nghttp2 runs with HTTP messaging on (its RFC 9113 section 8 checks)
 *    and with automatic WINDOW_UPDATE off: request body bytes reopen the
 *    client's windows only when the engine says it is done with them
 *    (h2_consume), which is how a slow upstream slows the client.
 *  - One header block is decoded at a time (CONTINUATION must follow its
 *    HEADERS without anything in between), so the request being assembled
 *    lives in the session (struct h2_acc), not in each stream.
 *  - Every head this layer writes is parsed back with h1_parse_request()
 *    before the engine sees it: whatever nghttp2 lets through, the engine
 *    gets nothing its own strict parser would read differently.
 *  - Output from nghttp2_session_mem_send() that does not fit the caller's
 *    buffer is copied aside (stash) rather than kept as nghttp2's pointer,
 *    so nothing depends on how long nghttp2 keeps that buffer.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "http/h2.h"

const struct h2_limits h2_limits_default = {
    .max_concurrent_streams = 100,
    .initial_window = 256 * 1024,
    .max_frame_size = 16 * 1024,
    .max_header_list = 64 * 1024,
    .conn_window = 1024 * 1024,
    .max_fields = 100,
    .max_continuations = 8,
    .send_queue = 64 * 1024,
    .rst_window = 100,
    .rst_max = 50,
    .rst_burst = 1000,
    .rst_rate = 33,
    .max_empty_frames = 100,
    .max_settings = 32,
    .max_outbound_ack = 1000,
    .flags = 0,
    .h1 = NULL,
};

/*
 * Response heads come from the engine, which parsed them under its own
 * limits: re-reading them here must not refuse what the engine accepted.
 */
static const struct h1_limits h2_rsp_limits = {
    .max_start_line = 1u << 30,
    .max_field = 1u << 30,
    .max_head = 1u << 30,
    .max_fields = H1_FIELDS_MAX,
    .max_chunk_ext = 1024,
    .max_trailer = 8192,
    .max_empty_lines = 0,
    .max_body = UINT64_MAX,
};

/* A growable byte buffer; its size is bounded by max_header_list. */
struct h2_buf {
	char *p;
	size_t len, cap;
};

static int h2_buf_put(struct h2_buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int h2_buf_puts(struct h2_buf *b, const char *s)
{
	return h2_buf_put(b, s, strlen(s));
}

static void h2_buf_free(struct h2_buf *b)
{
	free(b->p);
	*b = (struct h2_buf){0};
}

struct h2_session;

struct h2_stream {
	struct h2_session *s;
	int32_t id;
	struct h2_stream *prev, *next; /* every stream of the session */
	struct h2_stream *wnext;       /* on the writable list */
	void *ctx;		       /* the engine's, h2_stream_set_ctx */
	bool wqueued;
	/* request */
	bool delivered; /* the engine owns it: on_request was called */
	bool refused;	/* the layer answered it */
	bool reset;	/* h2_reset was called */
	bool connect;
	bool chunked;
	bool crlf_due; /* chunked: the CRLF after the last chunk's data */
	bool req_ended;
	bool has_cl;
	enum h1_meth meth;
	uint64_t cl;
	uint64_t recv;	     /* request body data bytes received */
	uint64_t unconsumed; /* of those, given to the engine and not consumed */
	/* response */
	bool final_sent;
	bool send_end; /* the last body byte is queued (or there is no body) */
	bool deferred; /* the data provider said DEFERRED: resume on new data */
	bool blocked;  /* h2_send_data was short: on_stream_writable is owed */
	bool has_rlen;
	uint64_t rlen_left; /* Content-Length bytes not yet queued */
	char *q;	    /* ring of queued body bytes */
	size_t q_head, q_len, q_cap;
};

/* The request header block being decoded (see the top of the file). */
struct h2_acc {
	struct h2_buf method, scheme, authority, path, host, fields, cookie;
	uint64_t bytes;	    /* RFC 9113 6.5.2 size so far */
	uint32_t nr_fields; /* regular fields */
	uint32_t nr_host;   /* host fields */
	bool has_authority; /* :authority given (maybe empty) */
	bool has_cl;	    /* content-length given */
	bool too_large;	    /* over max_header_list or max_fields: answer 431 */
	bool oom;
};

struct h2_session {
	nghttp2_session *ng;
	struct h2_limits lim;
	struct h2_callbacks cb;
	void *arg;
	struct h2_stream *streams;
	struct h2_stream *wr_head, *wr_tail;
	struct h2_acc acc;
	struct h2_buf head;  /* the request head written */
	struct h2_buf names; /* response field names, lowercased */
	struct h2_buf stash; /* output not yet pulled */
	size_t stash_off;
	nghttp2_nv *nva;      /* response fields: H1_FIELDS_MAX + 1 */
	struct h1_msg *msg;   /* scratch for h1 parsing */
	uint32_t win_streams; /* rapid reset: streams and resets in this window */
	uint32_t win_resets;
	uint32_t empty_run; /* empty DATA frames in a row */
	struct h2_stats st;
	bool failed;	    /* the session must end (h2_feed returns -EPROTO) */
	bool dead;	    /* nothing more is sent either */
	bool freeing;	    /* h2_session_free runs: no more calls in */
	bool engine_goaway; /* the GOAWAY out was h2_goaway's */
};

static const char *const h2_fail_names[H2_FAIL__MAX] = {
    [H2_FAIL_NONE] = "none",
    [H2_FAIL_PREFACE] = "preface",
    [H2_FAIL_PROTOCOL] = "protocol",
    [H2_FAIL_FLOOD] = "flood",
    [H2_FAIL_CONTINUATIONS] = "continuations",
    [H2_FAIL_RAPID_RESET] = "rapid-reset",
    [H2_FAIL_EMPTY_FRAMES] = "empty-frames",
    [H2_FAIL_INTERNAL] = "internal",
};

const char *h2_fail_str(enum h2_fail fail)
{
	if ((unsigned)fail >= H2_FAIL__MAX)
		return "?";
	return h2_fail_names[fail];
}

/*
 * Ends the session for a reason of ours: GOAWAY(code) with the last stream
 * nghttp2 processed, then nghttp2 ignores all further input.
 */
static void h2_fail(struct h2_session *s, enum h2_fail why, uint32_t code)
{
	if (s->failed)
		return;
	s->failed = true;
	s->st.fail = why;
	nghttp2_session_terminate_session(s->ng, code);
}

static struct h2_stream *h2_stream_get(struct h2_session *s, int32_t id)
{
	if (id <= 0 || s->freeing)
		return NULL;
	return nghttp2_session_get_stream_user_data(s->ng, id);
}

int h2_stream_set_ctx(struct h2_session *s, int32_t stream_id, void *ctx)
{
	struct h2_stream *st = s ? h2_stream_get(s, stream_id) : NULL;

	if (!st || !st->delivered)
		return -ENOENT;
	st->ctx = ctx;
	return 0;
}

void *h2_stream_ctx(struct h2_session *s, int32_t stream_id)
{
	struct h2_stream *st = s ? h2_stream_get(s, stream_id) : NULL;

	return st ? st->ctx : NULL;
}

/* A stream the engine owns and may still act on. */
static struct h2_stream *h2_stream_engine(struct h2_session *s, int32_t id)
{
	struct h2_stream *st = h2_stream_get(s, id);

	if (!st || !st->delivered || st->reset)
		return NULL;
	return st;
}

static void h2_wr_remove(struct h2_session *s, struct h2_stream *st)
{
	struct h2_stream **pp = &s->wr_head, *prev = NULL;

	if (!st->wqueued)
		return;
	while (*pp && *pp != st) {
		prev = *pp;
		pp = &(*pp)->wnext;
	}
	if (*pp)
		*pp = st->wnext;
	if (s->wr_tail == st)
		s->wr_tail = prev;
	st->wnext = NULL;
	st->wqueued = false;
}

static void h2_wr_push(struct h2_session *s, struct h2_stream *st)
{
	if (st->wqueued)
		return;
	st->wqueued = true;
	st->wnext = NULL;
	if (s->wr_tail)
		s->wr_tail->wnext = st;
	else
		s->wr_head = st;
	s->wr_tail = st;
}

static void h2_stream_free(struct h2_session *s, struct h2_stream *st)
{
	h2_wr_remove(s, st);
	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st->q);
	free(st);
}

static void h2_acc_reset(struct h2_acc *a)
{
	struct h2_buf *bufs[] = {&a->method, &a->scheme, &a->authority, &a->path,
				 &a->host,   &a->fields, &a->cookie};

	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		bufs[i]->len = 0;
	a->bytes = 0;
	a->nr_fields = 0;
	a->nr_host = 0;
	a->has_authority = false;
	a->has_cl = false;
	a->too_large = false;
	a->oom = false;
}

static void h2_acc_free(struct h2_acc *a)
{
	h2_buf_free(&a->method);
	h2_buf_free(&a->scheme);
	h2_buf_free(&a->authority);
	h2_buf_free(&a->path);
	h2_buf_free(&a->host);
	h2_buf_free(&a->fields);
	h2_buf_free(&a->cookie);
}

static bool h2_buf_eq(const struct h2_buf *b, const char *str)
{
	size_t n = strlen(str);

	return b->len == n && !memcmp(b->p, str, n);
}

static bool h2_buf_eq_ci(const struct h2_buf *b, const char *str, size_t n)
{
	return b->len == n && !strncasecmp(b->p, str, n);
}

/* ------------------------------------------------------------ requests */

static void h2_deliver(struct h2_session *s, struct h2_stream *st, const char *data, size_t len)
{
	if (len)
		s->cb.on_request_data(s->arg, st->id, data, len);
}

/*
 * The layer answers a stream itself (400, 431): HEADERS with END_STREAM;
 * the engine never hears of it.
 */
static int h2_refuse(struct h2_session *s, struct h2_stream *st, unsigned status)
{
	char code[3];
	nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE};

	if (status < 100 || status > 599)
		status = 400;
	code[0] = (char)('0' + status / 100);
	code[1] = (char)('0' + status / 10 % 10);
	code[2] = (char)('0' + status % 10);
	st->refused = true;
	st->final_sent = true;
	st->send_end = true;
	s->st.refused++;
	if (nghttp2_submit_response(s->ng, st->id, &nv, 1, NULL))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static void h2_request_end(struct h2_session *s, struct h2_stream *st)
{
	if (st->req_ended || !st->delivered || st->reset)
		return;
	if (st->has_cl && st->recv != st->cl) {
		/* nghttp2 checks this first; kept so the engine never gets a short body */
		st->reset = true;
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	st->req_ended = true;
	if (st->chunked)
		h2_deliver(s, st, st->crlf_due ? "\r\n0\r\n\r\n" : "0\r\n\r\n",
			   st->crlf_due ? 7 : 5);
	st->crlf_due = false;
	if (s->cb.on_request_end)
		s->cb.on_request_end(s->arg, st->id);
}

/* Appends "name: value\r\n". */
static int h2_put_field(struct h2_buf *b, const char *name, size_t nlen, const char *value,
			size_t vlen)
{
	if (h2_buf_put(b, name, nlen) || h2_buf_put(b, ": ", 2) || h2_buf_put(b, value, vlen) ||
	    h2_buf_put(b, "\r\n", 2))
		return -ENOMEM;
	return 0;
}

/* Writes the HTTP/1.1 head of the request in s->acc into s->head. */
static int h2_write_request(struct h2_session *s, bool connect, bool chunked,
			    const struct h2_buf *auth)
{
	struct h2_acc *a = &s->acc;
	struct h2_buf *h = &s->head;
	int rc = 0;

	h->len = 0;
	rc |= h2_buf_put(h, a->method.p, a->method.len);
	rc |= h2_buf_put(h, " ", 1);
	if (connect) {
		rc |= h2_buf_put(h, auth->p, auth->len);
	} else {
		if ((s->lim.flags & H2_O_ABSOLUTE_FORM) && !h2_buf_eq(&a->path, "*")) {
			/* checked to be http or https, any case: written lowercase */
			rc |= h2_buf_puts(h, a->scheme.len == 5 ? "https://" : "http://");
			rc |= h2_buf_put(h, auth->p, auth->len);
		}
		rc |= h2_buf_put(h, a->path.p, a->path.len);
	}
	rc |= h2_buf_puts(h, " HTTP/1.1\r\n");
	rc |= h2_put_field(h, "Host", 4, auth->p, auth->len);
	rc |= h2_buf_put(h, a->fields.p, a->fields.len);
	if (a->cookie.len)
		rc |= h2_put_field(h, "cookie", 6, a->cookie.p, a->cookie.len);
	if (chunked)
		rc |= h2_buf_puts(h, "Transfer-Encoding: chunked\r\n");
	rc |= h2_buf_put(h, "\r\n", 2);
	return rc ? -ENOMEM : 0;
}

/* A request's header block is complete and nghttp2 found it valid. */
static int h2_request_ready(struct h2_session *s, struct h2_stream *st, const nghttp2_frame *f)
{
	struct h2_acc *a = &s->acc;
	const struct h2_buf *auth;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	bool connect, chunked;
	int rc;

	if (a->oom) {
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	if (a->too_large)
		return h2_refuse(s, st, 431);
	connect = h2_buf_eq(&a->method, "CONNECT");
	/* We proxy HTTP: any other scheme names a resource we cannot reach */
	if (!connect && !h2_buf_eq_ci(&a->scheme, "http", 4) &&
	    !h2_buf_eq_ci(&a->scheme, "https", 5))
		return h2_refuse(s, st, 400);
	/* RFC 9113 8.3.1: a host that names another entity is malformed */
	if (a->nr_host > 1)
		return h2_refuse(s, st, 400);
	if (a->has_authority && a->nr_host &&
	    !h2_buf_eq_ci(&a->host, a->authority.p, a->authority.len))
		return h2_refuse(s, st, 400);
	auth = a->has_authority ? &a->authority : &a->host;
	if (!auth->len)
		return h2_refuse(s, st, 400);
	/*
	 * No length and more to come: chunked is the one HTTP/1.1 framing
	 * that needs no length up front. A tunnel's bytes follow the 2xx as
	 * they are.
	 */
	chunked = !end && !a->has_cl && !connect;
	if (h2_write_request(s, connect, chunked, auth)) {
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	h1_msg_init(s->msg, s->lim.h1);
	rc = h1_parse_request(s->msg, s->head.p, s->head.len);
	if (rc || s->msg->head_len != s->head.len)
		return h2_refuse(s, st, rc == -EBADMSG ? s->msg->err_status : 400);
	st->meth = s->msg->meth;
	st->connect = connect;
	st->chunked = chunked;
	st->has_cl = s->msg->body == H1_BODY_LENGTH;
	st->cl = s->msg->content_length;
	st->delivered = true;
	s->st.requests++;
	s->cb.on_request(s->arg, st->id, s->head.p, s->head.len);
	if (end)
		h2_request_end(s, st);
	return 0;
}

/* ----------------------------------------------------- nghttp2 callbacks */

static int h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	h2_acc_reset(&s->acc);
	s->st.streams++;
	if (++s->win_streams > s->lim.rst_window) {
		s->win_streams = 1;
		s->win_resets = 0;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->s = s;
	st->id = f->hd.stream_id;
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	if (nghttp2_session_set_stream_user_data(ng, st->id, st)) {
		h2_stream_free(s, st);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int h2_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
			size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2_session *s = ud;
	struct h2_acc *a = &s->acc;
	const char *n = (const char *)name, *v = (const char *)value;
	struct h2_buf *dst = NULL;
	int rc = 0;

	(void)ng;
	(void)flags;
	/* Trailers: validated by nghttp2, then dropped (h2.h) */
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	/*
	 * Past a limit the rest of the block is still decoded (HPACK state
	 * depends on it) but nothing more is kept: memory stays bounded by
	 * max_header_list however long the block is.
	 */
	a->bytes += nlen + vlen + 32;
	if (a->bytes > s->lim.max_header_list)
		a->too_large = true;
	if (nlen && n[0] != ':' && ++a->nr_fields > s->lim.max_fields)
		a->too_large = true;
	if (a->too_large || a->oom)
		return 0;
	if (nlen && n[0] == ':') {
		/* nghttp2 lets through only these, once each, before the fields */
		if (nlen == 7 && !memcmp(n, ":method", 7))
			dst = &a->method;
		else if (nlen == 7 && !memcmp(n, ":scheme", 7))
			dst = &a->scheme;
		else if (nlen == 5 && !memcmp(n, ":path", 5))
			dst = &a->path;
		else if (nlen == 10 && !memcmp(n, ":authority", 10)) {
			dst = &a->authority;
			a->has_authority = true;
		} else {
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		rc = h2_buf_put(dst, v, vlen);
	} else if (nlen == 4 && !memcmp(n, "host", 4)) {
		if (a->nr_host++ == 0)
			rc = h2_buf_put(&a->host, v, vlen);
	} else if (nlen == 6 && !memcmp(n, "cookie", 6)) {
		/* RFC 9113 8.2.3: crumbs are joined with "; " for HTTP/1.1 */
		if (vlen && a->cookie.len)
			rc = h2_buf_put(&a->cookie, "; ", 2);
		if (!rc)
			rc = h2_buf_put(&a->cookie, v, vlen);
	} else {
		if (nlen == 14 && !memcmp(n, "content-length", 14))
			a->has_cl = true;
		rc = h2_put_field(&a->fields, n, nlen, v, vlen);
	}
	if (rc)
		a->oom = true;
	return 0;
}

static int h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
		if (!st)
			return 0;
		if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
			return h2_request_ready(s, st, f);
		if (end) /* trailers */
			h2_request_end(s, st);
		return 0;
	case NGHTTP2_DATA:
		/*
		 * An empty DATA frame that ends nothing costs us work but the
		 * client no flow-control window (CVE-2019-9518): a run of them
		 * is abuse. One carrying data ends the run: those are paced by
		 * the window.
		 */
		if (f->hd.length > f->data.padlen) {
			s->empty_run = 0;
		} else if (!end) {
			s->st.empty_frames++;
			if (++s->empty_run > s->lim.max_empty_frames) {
				h2_fail(s, H2_FAIL_EMPTY_FRAMES, NGHTTP2_ENHANCE_YOUR_CALM);
				return 0;
			}
		}
		st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
		if (st && end)
			h2_request_end(s, st);
		return 0;
	case NGHTTP2_RST_STREAM:
		s->st.client_resets++;
		if (++s->win_resets > s->lim.rst_max)
			h2_fail(s, H2_FAIL_RAPID_RESET, NGHTTP2_ENHANCE_YOUR_CALM);
		return 0;
	default:
		return 0;
	}
}

static int h2_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
			    size_t len, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
	char line[24];
	int n;

	(void)flags;
	if (!st || !st->delivered || st->reset || st->req_ended) {
		/* Nobody will read it: give the window back now */
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	if (!len)
		return 0; /* a zero chunk would end a chunked body */
	if (st->has_cl && st->recv + len > st->cl) {
		/* nghttp2 refuses this before calling us; never forward it */
		nghttp2_session_consume(ng, id, len);
		st->reset = true;
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_PROTOCOL_ERROR);
		return 0;
	}
	st->recv += len;
	st->unconsumed += len;
	if (st->chunked) {
		n = snprintf(line, sizeof(line), "%s%zx\r\n", st->crlf_due ? "\r\n" : "", len);
		h2_deliver(s, st, line, (size_t)n);
		st->crlf_due = true;
	}
	/* The engine may reset the stream from the callback above */
	if (!st->reset)
		h2_deliver(s, st, (const char *)data, len);
	return 0;
}

static int h2_on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f, int err, void *ud)
{
	struct h2_session *s = ud;

	(void)ng;
	(void)f;
	(void)err;
	s->st.invalid++;
	return 0;
}

static int h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st;

	if (f->hd.type == NGHTTP2_GOAWAY) {
		s->st.goaway_code = f->goaway.error_code;
		/*
		 * An error GOAWAY that neither we nor the engine asked for:
		 * nghttp2 found a connection error inside a frame; this is
		 * the first we hear of it.
		 */
		if (f->goaway.error_code != NGHTTP2_NO_ERROR && !s->engine_goaway && !s->failed) {
			s->failed = true;
			s->st.fail = H2_FAIL_PROTOCOL;
		}
		return 0;
	}
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	/*
	 * RFC 9113 8.1: the response is complete before the request: ask the
	 * client to stop sending, without error. Not for a tunnel, whose two
	 * directions end independently.
	 */
	if (st && !st->connect && !st->reset &&
	    !nghttp2_session_get_stream_remote_close(ng, f->hd.stream_id)) {
		st->reset = true;
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
	}
	return 0;
}

static int h2_on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *f, int err, void *ud)
{
	(void)ud;
	(void)err;
	/* A response HEADERS that could not go out (too large): end the stream */
	if (f->hd.type == NGHTTP2_HEADERS &&
	    nghttp2_session_get_stream_user_data(ng, f->hd.stream_id))
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id,
					  NGHTTP2_INTERNAL_ERROR);
	return 0;
}

static int h2_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
	struct h2_session *s = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);

	if (!st)
		return 0;
	/* What the engine never consumed still counts against the connection */
	if (st->unconsumed)
		nghttp2_session_consume_connection(ng, st->unconsumed);
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	if (st->delivered)
		s->cb.on_stream_close(s->arg, id, code);
	h2_stream_free(s, st);
	return 0;
}

/* The data provider: queued body bytes out as the windows allow. */
static ssize_t h2_body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
			    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	size_t n = length < st->q_len ? length : st->q_len, first;

	(void)ng;
	(void)id;
	(void)ud;
	if (n) {
		first = st->q_cap - st->q_head;
		if (first > n)
			first = n;
		memcpy(buf, st->q + st->q_head, first);
		memcpy(buf + first, st->q, n - first);
		st->q_head = (st->q_head + n) % st->q_cap;
		st->q_len -= n;
	}
	if (!st->q_len && st->send_end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	} else if (!n) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	/* Half empty: worth waking the engine for (fired after mem_send) */
	if (st->blocked && st->q_len <= st->q_cap / 2) {
		st->blocked = false;
		h2_wr_push(st->s, st);
	}
	return (ssize_t)n;
}

/* ------------------------------------------------------------- session */

static bool h2_limits_ok(const struct h2_limits *l)
{
	return l->max_concurrent_streams >= 1 && l->initial_window <= NGHTTP2_MAX_WINDOW_SIZE &&
	       l->max_frame_size >= 16384 && l->max_frame_size <= 16777215 &&
	       l->max_header_list >= 1024 &&
	       l->conn_window >= NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE &&
	       l->conn_window <= NGHTTP2_MAX_WINDOW_SIZE && l->max_fields >= 1 &&
	       l->send_queue >= 1 && l->rst_window >= 1 && l->max_settings >= 7 &&
	       l->max_outbound_ack >= 1 && !(l->flags & ~H2_O_ABSOLUTE_FORM);
}

static int h2_session_setup(struct h2_session *s)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	const struct h2_limits *l = &s->lim;
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, l->max_concurrent_streams},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, l->initial_window},
	    {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, l->max_frame_size},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, l->max_header_list},
	    /* No RFC 7540 priority tree to build and walk for the client */
	    {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
	};
	int rc = -ENOMEM;

	if (nghttp2_session_callbacks_new(&cbs))
		return -ENOMEM;
	if (nghttp2_option_new(&opt))
		goto free_cbs;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, h2_on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, h2_on_frame_not_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, h2_on_invalid_frame);

	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_no_closed_streams(opt, 1);
	nghttp2_option_set_max_continuations(opt, l->max_continuations);
	nghttp2_option_set_stream_reset_rate_limit(opt, l->rst_burst, l->rst_rate);
	nghttp2_option_set_max_settings(opt, l->max_settings);
	nghttp2_option_set_max_outbound_ack(opt, l->max_outbound_ack);

	if (nghttp2_session_server_new2(&s->ng, cbs, s, opt))
		goto free_opt;
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)l->conn_window)) {
		nghttp2_session_del(s->ng);
		s->ng = NULL;
		goto free_opt;
	}
	rc = 0;
free_opt:
	nghttp2_option_del(opt);
free_cbs:
	nghttp2_session_callbacks_del(cbs);
	return rc;
}

struct h2_session *h2_session_new(const struct h2_limits *lim, const struct h2_callbacks *cb,
				  void *arg)
{
	struct h2_session *s;
	int rc;

	if (!lim)
		lim = &h2_limits_default;
	if (!cb || !cb->on_request || !cb->on_request_data || !cb->on_stream_close ||
	    !h2_limits_ok(lim)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->lim = *lim;
	s->cb = *cb;
	s->arg = arg;
	s->msg = malloc(sizeof(*s->msg));
	s->nva = calloc(H1_FIELDS_MAX + 1, sizeof(*s->nva));
	if (!s->msg || !s->nva)
		goto free_s;
	rc = h2_session_setup(s);
	if (rc)
		goto free_s;
	return s;

free_s:
	free(s->nva);
	free(s->msg);
	free(s);
fail:
	errno = ENOMEM;
	return NULL;
}

void h2_session_free(struct h2_session *s)
{
	struct h2_stream *st, *next;

	if (!s)
		return;
	s->freeing = true;
	for (st = s->streams; st; st = st->next)
		if (st->delivered)
			s->cb.on_stream_close(s->arg, st->id, NGHTTP2_CANCEL);
	nghttp2_session_del(s->ng);
	for (st = s->streams; st; st = next) {
		next = st->next;
		free(st->q);
		free(st);
	}
	h2_acc_free(&s->acc);
	h2_buf_free(&s->head);
	h2_buf_free(&s->names);
	h2_buf_free(&s->stash);
	free(s->nva);
	free(s->msg);
	free(s);
}

int h2_feed(struct h2_session *s, const uint8_t *in, size_t len)
{
	ssize_t r;

	if (!s || (!in && len) || len > INT_MAX)
		return -EINVAL;
	if (s->failed)
		return -EPROTO;
	r = nghttp2_session_mem_recv(s->ng, in, len);
	if (r < 0) {
		switch (r) {
		case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
			/* RFC 9113 3.4: a connection error PROTOCOL_ERROR */
			h2_fail(s, H2_FAIL_PREFACE, NGHTTP2_PROTOCOL_ERROR);
			break;
		case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
			h2_fail(s, H2_FAIL_CONTINUATIONS, NGHTTP2_ENHANCE_YOUR_CALM);
			break;
		case NGHTTP2_ERR_FLOODED:
			/* The client does not read: send it nothing more */
			h2_fail(s, H2_FAIL_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM);
			s->dead = true;
			break;
		case NGHTTP2_ERR_NOMEM:
		case NGHTTP2_ERR_CALLBACK_FAILURE:
			h2_fail(s, H2_FAIL_INTERNAL, NGHTTP2_INTERNAL_ERROR);
			break;
		default:
			h2_fail(s, H2_FAIL_PROTOCOL, NGHTTP2_PROTOCOL_ERROR);
			break;
		}
		return -EPROTO;
	}
	if (s->failed)
		return -EPROTO;
	return (int)len;
}

/* Fires the on_stream_writable events the data provider collected. */
static void h2_fire_writable(struct h2_session *s)
{
	struct h2_stream *st;

	while ((st = s->wr_head)) {
		s->wr_head = st->wnext;
		if (!s->wr_head)
			s->wr_tail = NULL;
		st->wnext = NULL;
		st->wqueued = false;
		if (s->cb.on_stream_writable && st->delivered && !st->reset)
			s->cb.on_stream_writable(s->arg, st->id);
	}
}

ssize_t h2_pull(struct h2_session *s, uint8_t *out, size_t cap)
{
	const uint8_t *p;
	size_t n = 0, k;
	ssize_t r;

	if (!s || (!out && cap) || cap > SSIZE_MAX)
		return -EINVAL;
	if (s->dead)
		return 0;
	while (n < cap) {
		if (s->stash_off < s->stash.len) {
			k = s->stash.len - s->stash_off;
			if (k > cap - n)
				k = cap - n;
			memcpy(out + n, s->stash.p + s->stash_off, k);
			s->stash_off += k;
			n += k;
			continue;
		}
		s->stash.len = 0;
		s->stash_off = 0;
		r = nghttp2_session_mem_send(s->ng, &p);

		if (r < 0) {
			h2_fail(s, H2_FAIL_INTERNAL, NGHTTP2_INTERNAL_ERROR);
			s->dead = true;
			return -EPROTO;
		}
		if (!r)
			break;
		k = (size_t)r < cap - n ? (size_t)r : cap - n;
		memcpy(out + n, p, k);
		n += k;
		if (k < (size_t)r && h2_buf_put(&s->stash, p + k, (size_t)r - k)) {
			h2_fail(s, H2_FAIL_INTERNAL, NGHTTP2_INTERNAL_ERROR);
			s->dead = true;
			return -EPROTO;
		}
	}
	h2_fire_writable(s);
	return (ssize_t)n;
}

bool h2_want_write(const struct h2_session *s)
{
	if (!s || s->dead)
		return false;
	return s->stash_off < s->stash.len || nghttp2_session_want_write(s->ng);
}

bool h2_want_read(const struct h2_session *s)
{
	if (!s || s->dead || s->failed)
		return false;
	return nghttp2_session_want_read(s->ng);
}

/* ------------------------------------------------------------ responses */

int h2_respond_info(struct h2_session *s, int32_t stream_id, const char *head, size_t len,
		    struct h2_resp_info *info)
{
	struct h2_stream *st;
	struct h1_msg *m;
	struct h1_fieldset drop = {{0}};
	nghttp2_data_provider prd;
	char status[3];
	size_t nv = 0, off = 0;
	bool tunnel, nobody;
	int rc;

	if (!s || !head)
		return -EINVAL;
	st = h2_stream_engine(s, stream_id);
	if (!st)
		return -ENOENT;
	if (st->final_sent)
		return -EALREADY;
	m = s->msg;
	h1_msg_init(m, &h2_rsp_limits);
	rc = h1_parse_response(m, head, len, st->meth);
	if (rc || m->head_len != len)
		return -EINVAL;
	if (m->status == 101 || (m->flags & H1_F_TE_CODED))
		return -EPROTONOSUPPORT;
	tunnel = st->connect && m->status >= 200 && m->status < 300;
	h1_hop_fields(m, head, 0, &drop);

	/* Lowercased names, all in one buffer that does not move below */
	s->names.len = 0;
	for (uint32_t i = 0; i < m->nr_fields; i++)
		if (h2_buf_put(&s->names, head + m->fields[i].name.off, m->fields[i].name.len))
			return -ENOMEM;
	for (size_t i = 0; i < s->names.len; i++)
		if (s->names.p[i] >= 'A' && s->names.p[i] <= 'Z')
			s->names.p[i] += 'a' - 'A';

	/* the parser guarantees 100..599 */
	status[0] = (char)('0' + m->status / 100);
	status[1] = (char)('0' + m->status / 10 % 10);
	status[2] = (char)('0' + m->status % 10);
	s->nva[nv++] =
	    (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
	for (uint32_t i = 0; i < m->nr_fields; i++) {
		const struct h1_field *fl = &m->fields[i];
		const char *name = s->names.p + off;

		off += fl->name.len;
		if (h1_fieldset_has(&drop, i))
			continue;
		/* RFC 9110 9.3.6: no framing fields on the 2xx that opens a tunnel */
		if (tunnel && fl->name.len == 14 && !memcmp(name, "content-length", 14))
			continue;
		s->nva[nv++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)(head + fl->value.off),
					    fl->name.len, fl->value.len, NGHTTP2_NV_FLAG_NONE};
	}

	if (m->status < 200) {
		/* Interim: 100 Continue, 103 Early Hints; the final one follows */
		rc = nghttp2_submit_headers(s->ng, NGHTTP2_FLAG_NONE, stream_id, NULL, s->nva, nv,
					    NULL);
		if (!rc && info)
			*info = (struct h2_resp_info){.status = m->status};
		return rc == NGHTTP2_ERR_NOMEM ? -ENOMEM : rc ? -EINVAL : 0;
	}
	nobody = !tunnel &&
		 (m->body == H1_BODY_NONE || (m->body == H1_BODY_LENGTH && m->content_length == 0));
	prd.source.ptr = st;
	prd.read_callback = h2_body_read;
	rc = nghttp2_submit_response(s->ng, stream_id, s->nva, nv, nobody ? NULL : &prd);
	if (rc)
		return rc == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EINVAL;
	st->final_sent = true;
	st->send_end = nobody;
	st->has_rlen = !tunnel && m->body == H1_BODY_LENGTH;
	st->rlen_left = st->has_rlen ? m->content_length : 0;
	if (info)
		*info = (struct h2_resp_info){.status = m->status,
					      .final = true,
					      .ended = nobody,
					      .has_len = st->has_rlen && !nobody,
					      .len = st->rlen_left};
	return 0;
}

int h2_respond(struct h2_session *s, int32_t stream_id, const char *head, size_t len)
{
	return h2_respond_info(s, stream_id, head, len, NULL);
}

/*
 * Makes the stream's ring at least want bytes (at most max, at least 4 KiB):
 * its bytes move to the front of a new buffer. 0 or -ENOMEM.
 */
static int h2_queue_grow(struct h2_stream *st, size_t want, size_t max)
{
	size_t cap = st->q_cap ? st->q_cap * 2 : 4096, first;
	char *q;

	while (cap < want)
		cap *= 2;
	if (cap > max)
		cap = max;
	q = malloc(cap);
	if (!q)
		return -ENOMEM;
	if (st->q_len) {
		first = st->q_cap - st->q_head;
		if (first > st->q_len)
			first = st->q_len;
		memcpy(q, st->q + st->q_head, first);
		memcpy(q + first, st->q, st->q_len - first);
	}
	free(st->q);
	st->q = q;
	st->q_cap = cap;
	st->q_head = 0;
	return 0;
}

ssize_t h2_send_data(struct h2_session *s, int32_t stream_id, const char *data, size_t len,
		     bool end)
{
	struct h2_stream *st;
	size_t n, tail, first;

	if (!s || (!data && len) || len > SSIZE_MAX)
		return -EINVAL;
	st = h2_stream_engine(s, stream_id);
	if (!st)
		return -ENOENT;
	if (!st->final_sent)
		return -EINVAL;
	if (st->send_end)
		return !len && end ? 0 : -EINVAL;
	if (st->has_rlen && (len > st->rlen_left || (end && len != st->rlen_left)))
		return -EINVAL;
	/* only streams with a body pay for a queue, and small bodies little */
	if (len > st->q_cap - st->q_len && st->q_cap < s->lim.send_queue &&
	    h2_queue_grow(st, st->q_len + len, s->lim.send_queue))
		return -ENOMEM;
	n = st->q_cap - st->q_len;
	if (n > len)
		n = len;
	if (len && !n) {
		st->blocked = true;
		return -EAGAIN;
	}
	if (n) {
		tail = (st->q_head + st->q_len) % st->q_cap;
		first = st->q_cap - tail;
		if (first > n)
			first = n;
		memcpy(st->q + tail, data, first);
		memcpy(st->q, data + first, n - first);
	}
	st->q_len += n;
	if (st->has_rlen)
		st->rlen_left -= n;
	if (n < len)
		st->blocked = true;
	else if (end)
		st->send_end = true;
	if (st->deferred && (n || st->send_end)) {
		st->deferred = false;
		nghttp2_session_resume_data(s->ng, stream_id);
	}
	return (ssize_t)n;
}

int h2_consume(struct h2_session *s, int32_t stream_id, size_t n)
{
	struct h2_stream *st;

	if (!s)
		return -EINVAL;
	st = h2_stream_get(s, stream_id);
	if (!st || !st->delivered)
		return -ENOENT;
	if (n > st->unconsumed)
		return -EINVAL;
	if (!n)
		return 0;
	if (nghttp2_session_consume(s->ng, stream_id, n))
		return -ENOMEM;
	st->unconsumed -= n;
	return 0;
}

int h2_reset(struct h2_session *s, int32_t stream_id, uint32_t error_code)
{
	struct h2_stream *st;

	if (!s)
		return -EINVAL;
	st = h2_stream_engine(s, stream_id);
	if (!st)
		return -ENOENT;
	if (nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, stream_id, error_code))
		return -ENOMEM;
	st->reset = true;
	h2_wr_remove(s, st);
	return 0;
}

int h2_goaway(struct h2_session *s, uint32_t error_code)
{
	int rc;

	if (!s || s->freeing)
		return -EINVAL;
	rc = nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
				   nghttp2_session_get_last_proc_stream_id(s->ng), error_code, NULL,
				   0);
	if (rc)
		return rc == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EINVAL;
	s->engine_goaway = true;
	return 0;
}

void h2_get_stats(const struct h2_session *s, struct h2_stats *out)
{
	if (!out)
		return;
	if (!s) {
		*out = (struct h2_stats){0};
		return;
	}
	*out = s->st;
}

enum h2_preface h2_preface_match(const void *buf, size_t len)
{
	size_t n = len < NGHTTP2_CLIENT_MAGIC_LEN ? len : NGHTTP2_CLIENT_MAGIC_LEN;

	if (n && memcmp(buf, NGHTTP2_CLIENT_MAGIC, n))
		return H2_PREFACE_NO;
	return n == NGHTTP2_CLIENT_MAGIC_LEN ? H2_PREFACE_YES : H2_PREFACE_MORE;
}
