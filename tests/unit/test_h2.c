// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/2 server layer tests. Each test runs a real nghttp2 *client* session
 * against the layer, bytes shuttled both ways until neither side has
 * anything to say, with a mock engine behind the layer that records what
 * it is told (heads, body bytes, ends, closes, writable events) and answers
 * as each test scripts. Expectations are computed independently: heads are
 * compared as exact text and parsed back with the HTTP/1.1 parser, chunked
 * bodies are decoded with h1_body_feed(), and what the client sees comes
 * from nghttp2's own decoding. A few abuse tests append raw frames the
 * client library would never write (the 9-byte frame header is simple
 * enough to write here; the layer itself never writes one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "http/h1.h"
#include "http/h2.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAXS	      512 /* stream slots: client ids 1, 3, ... 1023 */

/* ------------------------------------------------------------ byte bags */

struct bag {
	char *p;
	size_t len, cap;
};

static void bag_put(struct bag *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void bag_free(struct bag *b)
{
	free(b->p);
	*b = (struct bag){0};
}

static const char *bag_str(const struct bag *b)
{
	return b->p ? b->p : "";
}

/* ---------------------------------------------------------- mock engine */

struct ereq {
	int nr_heads;
	struct bag head;
	struct bag data; /* as given: framing included */
	struct bag dec;	 /* decoded as the engine would, h1_body_feed's data */
	struct h1_body body;
	bool tunnel;	 /* CONNECT: raw bytes */
	size_t dec_len;	 /* data bytes given */
	size_t consumed; /* of those, consumed */
	int ends;
	int closes;
	uint32_t close_code;
	int writable;
	bool seen;
};

struct t;

struct eng {
	struct ereq r[MAXS];
	int order[MAXS]; /* stream ids in on_request order */
	int nr_req;
	bool auto_consume;
	/* answer every request on arrival with this head (+ body, end) */
	const char *auto_head;
	const char *auto_body;
	/* reset every stream on its first data */
	bool reset_on_data;
	struct t *t;
	int close_events;
};

/* ---------------------------------------------------------- mock client */

struct cresp {
	int status;	   /* final */
	int interim;	   /* 1xx HEADERS received */
	struct bag fields; /* final response fields "name: value\n" */
	struct bag body;
	bool ended;
	bool closed;
	uint32_t close_code;
	bool rst;
	uint32_t rst_code;
};

struct cbody {
	const char *p;
	size_t len, off;
	size_t chunk; /* max bytes per read, 0 = any */
};

struct cli {
	nghttp2_session *ng;
	struct cresp r[MAXS];
	struct cbody b[MAXS];
	bool goaway;
	uint32_t goaway_code;
	int32_t goaway_last;
	bool manual_window; /* consume received data only when told */
	size_t pad;	    /* padding per DATA frame */
	size_t chunk;	    /* max body bytes per DATA frame, 0 = any */
};

struct t {
	struct h2_session *s;
	struct h2_limits lim;
	struct eng e;
	struct cli c;
	int feed_rc;	 /* first negative h2_feed result */
	size_t pull_cap; /* bytes per h2_pull call */
	bool feed_bytewise;
};

static int slot(int32_t id)
{
	assert_true(id > 0 && (id & 1) && (id - 1) / 2 < MAXS);
	return (id - 1) / 2;
}

/* engine callbacks */

static void e_on_request(void *arg, int32_t id, const char *head, size_t len)
{
	struct eng *e = arg;
	struct ereq *r = &e->r[slot(id)];

	assert_false(r->seen);
	r->seen = true;
	r->nr_heads++;
	bag_put(&r->head, head, len);
	e->order[e->nr_req++] = id;
	{
		/* the engine's own view of the head, to frame the body by */
		struct h1_msg *m = malloc(sizeof(*m));

		assert_non_null(m);
		h1_msg_init(m, NULL);
		assert_int_equal(h1_parse_request(m, head, len), 0);
		assert_int_equal(m->head_len, len);
		h1_body_init(&r->body, m);
		r->tunnel = m->meth == H1_METH_CONNECT;
		free(m);
	}
	if (e->auto_head) {
		assert_int_equal(h2_respond(e->t->s, id, e->auto_head, strlen(e->auto_head)), 0);
		if (e->auto_body)
			assert_int_equal(
			    h2_send_data(e->t->s, id, e->auto_body, strlen(e->auto_body), true),
			    (ssize_t)strlen(e->auto_body));
	}
}

static void e_on_data(void *arg, int32_t id, const char *data, size_t len)
{
	struct eng *e = arg;
	struct ereq *r = &e->r[slot(id)];

	assert_true(r->seen);
	assert_int_equal(r->ends, 0);
	assert_int_equal(r->closes, 0);
	assert_true(len > 0);
	bag_put(&r->data, data, len);
	if (e->reset_on_data) {
		assert_int_equal(h2_reset(e->t->s, id, H2_CANCEL), 0);
		return;
	}
	/* decoded data bytes are what the engine consumes, framing is not */
	if (r->tunnel) {
		bag_put(&r->dec, data, len);
		r->dec_len += len;
	} else {
		size_t off = 0;
		struct h1_body_out o;

		while (off < len) {
			assert_false(h1_body_done(&r->body));
			assert_int_equal(h1_body_feed(&r->body, data + off, len - off, &o), 0);
			bag_put(&r->dec, data + off + o.data_off, o.data_len);
			r->dec_len += o.data_len;
			off += o.consumed;
		}
	}
	if (e->auto_consume) {
		assert_int_equal(h2_consume(e->t->s, id, r->dec_len - r->consumed), 0);
		r->consumed = r->dec_len;
	}
}

static void e_on_end(void *arg, int32_t id)
{
	struct eng *e = arg;
	struct ereq *r = &e->r[slot(id)];

	assert_true(r->seen);
	assert_int_equal(r->closes, 0);
	/* whatever the framing, the body is complete when the end comes */
	if (!r->tunnel)
		assert_true(h1_body_done(&r->body));
	r->ends++;
}

static void e_on_writable(void *arg, int32_t id)
{
	struct eng *e = arg;

	e->r[slot(id)].writable++;
}

static void e_on_close(void *arg, int32_t id, uint32_t code)
{
	struct eng *e = arg;
	struct ereq *r = &e->r[slot(id)];

	assert_true(r->seen);
	r->closes++;
	r->close_code = code;
	e->close_events++;
}

static const struct h2_callbacks e_cb = {
    .on_request = e_on_request,
    .on_request_data = e_on_data,
    .on_request_end = e_on_end,
    .on_stream_writable = e_on_writable,
    .on_stream_close = e_on_close,
};

/* client callbacks */

static int c_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	(void)ng;
	(void)f;
	(void)ud;
	return 0;
}

static int c_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
		       size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct cli *c = ud;
	struct cresp *r;

	(void)ng;
	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	r = &c->r[slot(f->hd.stream_id)];
	if (nlen == 7 && !memcmp(name, ":status", 7)) {
		int st = atoi((const char *)value);

		if (st < 200) {
			r->interim++;
		} else {
			r->status = st;
		}
		return 0;
	}
	if (r->status) {
		bag_put(&r->fields, name, nlen);
		bag_put(&r->fields, ": ", 2);
		bag_put(&r->fields, value, vlen);
		bag_put(&r->fields, "\n", 1);
	}
	return 0;
}

static int c_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct cli *c = ud;

	(void)ng;
	switch (f->hd.type) {
	case NGHTTP2_GOAWAY:
		c->goaway = true;
		c->goaway_code = f->goaway.error_code;
		c->goaway_last = f->goaway.last_stream_id;
		break;
	case NGHTTP2_RST_STREAM:
		c->r[slot(f->hd.stream_id)].rst = true;
		c->r[slot(f->hd.stream_id)].rst_code = f->rst_stream.error_code;
		break;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
			c->r[slot(f->hd.stream_id)].ended = true;
		break;
	}
	return 0;
}

static int c_on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
		     size_t len, void *ud)
{
	struct cli *c = ud;

	(void)ng;
	(void)flags;
	bag_put(&c->r[slot(id)].body, data, len);
	return 0;
}

static int c_on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
	struct cli *c = ud;

	(void)ng;
	c->r[slot(id)].closed = true;
	c->r[slot(id)].close_code = code;
	return 0;
}

static ssize_t c_select_padding(nghttp2_session *ng, const nghttp2_frame *f, size_t max, void *ud)
{
	struct cli *c = ud;
	size_t want = f->hd.length + c->pad;

	(void)ng;
	if (f->hd.type != NGHTTP2_DATA)
		return (ssize_t)f->hd.length;
	return (ssize_t)(want < max ? want : max);
}

static ssize_t c_body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
			   uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct cbody *b = src->ptr;
	size_t n = b->len - b->off;

	(void)ng;
	(void)id;
	(void)ud;
	if (n > length)
		n = length;
	if (b->chunk && n > b->chunk)
		n = b->chunk;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	if (b->off == b->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ----------------------------------------------------------- the rig */

static void cli_init(struct t *t, const nghttp2_settings_entry *iv, size_t niv)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;

	assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
	assert_int_equal(nghttp2_option_new(&opt), 0);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, c_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, c_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, c_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, c_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_on_close);
	nghttp2_session_callbacks_set_select_padding_callback(cbs, c_select_padding);
	if (t->c.manual_window)
		nghttp2_option_set_no_auto_window_update(opt, 1);
	/* big blocks for the tests that send too much on purpose */
	nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
	/* the client checks nothing of ours: we test our own checks */
	nghttp2_option_set_no_http_messaging(opt, 1);
	assert_int_equal(nghttp2_session_client_new2(&t->c.ng, cbs, &t->c, opt), 0);
	assert_int_equal(nghttp2_submit_settings(t->c.ng, NGHTTP2_FLAG_NONE, iv, niv), 0);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
}

/* A rig with server limits lim (NULL: defaults) and client SETTINGS iv. */
static struct t *rig_new(const struct h2_limits *lim, bool manual_window,
			 const nghttp2_settings_entry *iv, size_t niv)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->lim = lim ? *lim : h2_limits_default;
	t->e.t = t;
	t->e.auto_consume = true;
	t->pull_cap = 4096;
	t->c.manual_window = manual_window;
	t->s = h2_session_new(&t->lim, &e_cb, &t->e);
	assert_non_null(t->s);
	cli_init(t, iv, niv);
	return t;
}

static struct t *rig(void)
{
	return rig_new(NULL, false, NULL, 0);
}

static void rig_free(struct t *t)
{
	h2_session_free(t->s);
	nghttp2_session_del(t->c.ng);
	for (int i = 0; i < MAXS; i++) {
		bag_free(&t->e.r[i].head);
		bag_free(&t->e.r[i].data);
		bag_free(&t->e.r[i].dec);
		bag_free(&t->c.r[i].fields);
		bag_free(&t->c.r[i].body);
	}
	free(t);
}

static void feed(struct t *t, const uint8_t *p, size_t n)
{
	int rc;

	if (t->feed_rc < 0)
		return; /* the integrator stopped reading */
	if (t->feed_bytewise) {
		for (size_t i = 0; i < n && t->feed_rc >= 0; i++) {
			rc = h2_feed(t->s, p + i, 1);
			if (rc < 0)
				t->feed_rc = rc;
			else
				assert_int_equal(rc, 1);
		}
		return;
	}
	rc = h2_feed(t->s, p, n);
	if (rc < 0)
		t->feed_rc = rc;
	else
		assert_int_equal(rc, (int)n);
}

/* Client bytes to the server only. */
static bool c2s(struct t *t)
{
	const uint8_t *p;
	ssize_t n;
	bool moved = false;

	while ((n = nghttp2_session_mem_send(t->c.ng, &p)) > 0) {
		feed(t, p, (size_t)n);
		moved = true;
	}
	assert_true(n == 0);
	return moved;
}

/* Server bytes to the client only. */
static bool s2c(struct t *t)
{
	uint8_t *buf = malloc(t->pull_cap);
	ssize_t n;
	bool moved = false;

	assert_non_null(buf);
	while ((n = h2_pull(t->s, buf, t->pull_cap)) > 0) {
		assert_true((size_t)n <= t->pull_cap);
		assert_true(nghttp2_session_mem_recv(t->c.ng, buf, (size_t)n) >= 0);
		moved = true;
	}
	assert_true(n == 0);
	assert_false(h2_want_write(t->s));
	free(buf);
	return moved;
}

/* Both ways until quiet. */
static void pump(struct t *t)
{
	for (int i = 0; i < 100000; i++) {
		bool a = c2s(t);
		bool b = s2c(t);

		if (!a && !b)
			return;
	}
	fail_msg("pump did not settle");
}

/*
 * A request from the client: fields are "name", "value" pairs ending with
 * NULL; with_body sends body[0, blen) as DATA (END_STREAM on the last),
 * else the HEADERS end the stream.
 */
static int32_t vsubmit(struct t *t, bool with_body, const char *body, size_t blen, va_list ap)
{
	nghttp2_nv nv[200];
	size_t n = 0;
	const char *name;
	nghttp2_data_provider prd;
	int32_t id = (int32_t)nghttp2_session_get_next_stream_id(t->c.ng), got;

	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		assert_true(n < ARRAY_SIZE(nv));
		/* names as given: nghttp2 would lowercase a copy */
		nv[n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, strlen(name),
				       strlen(value), NGHTTP2_NV_FLAG_NO_COPY_NAME};
	}
	/* nghttp2 keeps the source pointer: the slot of the id to come */
	t->c.b[slot(id)] = (struct cbody){.p = body, .len = blen, .chunk = t->c.chunk};
	prd.source.ptr = &t->c.b[slot(id)];
	prd.read_callback = c_body_read;
	got = nghttp2_submit_request(t->c.ng, NULL, nv, n, with_body ? &prd : NULL, NULL);
	assert_int_equal(got, id);
	return id;
}

static int32_t req(struct t *t, ...)
{
	int32_t id;
	va_list ap;

	va_start(ap, t);
	id = vsubmit(t, false, NULL, 0, ap);
	va_end(ap);
	return id;
}

static int32_t reqb(struct t *t, const char *body, size_t blen, ...)
{
	int32_t id;
	va_list ap;

	va_start(ap, blen);
	id = vsubmit(t, true, body, blen, ap);
	va_end(ap);
	return id;
}

#define GET_FIELDS(path)                                                                           \
	":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", path

/* The head the engine got for stream id, parsed back: it must be one whole head. */
static void assert_head(struct t *t, int32_t id, const char *want)
{
	struct ereq *r = &t->e.r[slot(id)];
	struct h1_msg *m = malloc(sizeof(*m));

	assert_non_null(m);
	assert_int_equal(r->nr_heads, 1);
	assert_string_equal(bag_str(&r->head), want);
	h1_msg_init(m, NULL);
	assert_int_equal(h1_parse_request(m, r->head.p, r->head.len), 0);
	assert_int_equal(m->head_len, r->head.len);
	free(m);
}

/* Decodes a chunked body as the engine would; returns the data. */
static void dechunk(const struct bag *in, struct bag *out)
{
	struct h1_body b;
	struct h1_body_out o;
	size_t off = 0;

	h1_body_start(&b, H1_BODY_CHUNKED, 0, NULL, false);
	while (!h1_body_done(&b)) {
		assert_true(off < in->len);
		assert_int_equal(h1_body_feed(&b, in->p + off, in->len - off, &o), 0);
		bag_put(out, in->p + off + o.data_off, o.data_len);
		off += o.consumed;
	}
	assert_int_equal(off, in->len);
}

static void respond(struct t *t, int32_t id, const char *head)
{
	assert_int_equal(h2_respond(t->s, id, head, strlen(head)), 0);
}

static void send_all(struct t *t, int32_t id, const char *data, bool end)
{
	size_t n = strlen(data);

	assert_int_equal(h2_send_data(t->s, id, data, n, end), (ssize_t)n);
}

/* The stream never reached the engine, and the client saw it reset with code. */
static void assert_stream_reset(struct t *t, int32_t id, uint32_t code)
{

	assert_false(t->e.r[slot(id)].seen);
	assert_true(t->c.r[slot(id)].rst);
	assert_int_equal(t->c.r[slot(id)].rst_code, code);
	assert_true(t->c.r[slot(id)].closed);
	/* the connection lives on */
	assert_false(t->c.goaway);
	assert_true(h2_want_read(t->s));
}

/* The layer answered the stream with status itself. */
static void assert_refused(struct t *t, int32_t id, int status)
{

	assert_false(t->e.r[slot(id)].seen);
	assert_int_equal(t->c.r[slot(id)].status, status);
	assert_true(t->c.r[slot(id)].ended);
	assert_false(t->c.goaway);
}

static const uint8_t *raw_frame(uint8_t *out, uint32_t len, uint8_t type, uint8_t flags,
				uint32_t sid)
{
	out[0] = (uint8_t)(len >> 16);
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	out[3] = type;
	out[4] = flags;
	out[5] = (uint8_t)(sid >> 24);
	out[6] = (uint8_t)(sid >> 16);
	out[7] = (uint8_t)(sid >> 8);
	out[8] = (uint8_t)sid;
	return out;
}

/* ------------------------------------------------------------ the tests */

static void test_preface_match(void **state)
{
	const char *p = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	(void)state;
	assert_int_equal(h2_preface_match(NULL, 0), H2_PREFACE_MORE);
	assert_int_equal(h2_preface_match(p, 1), H2_PREFACE_MORE);
	assert_int_equal(h2_preface_match(p, 23), H2_PREFACE_MORE);
	assert_int_equal(h2_preface_match(p, 24), H2_PREFACE_YES);
	assert_int_equal(h2_preface_match("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12\x04", 28),
			 H2_PREFACE_YES);
	assert_int_equal(h2_preface_match("GET / HTTP/1.1\r\n", 16), H2_PREFACE_NO);
	assert_int_equal(h2_preface_match("PRX", 3), H2_PREFACE_NO);
	assert_int_equal(h2_preface_match("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n", 24), H2_PREFACE_NO);
	assert_int_equal(h2_preface_match("pri", 3), H2_PREFACE_NO);
}

static void test_new_bad_args(void **state)
{
	struct h2_limits l;
	struct h2_callbacks cb = e_cb;

	(void)state;
	errno = 0;
	assert_null(h2_session_new(NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	cb.on_request = NULL;
	assert_null(h2_session_new(NULL, &cb, NULL));
	assert_int_equal(errno, EINVAL);
	cb = e_cb;
	cb.on_request_data = NULL;
	assert_null(h2_session_new(NULL, &cb, NULL));
	cb = e_cb;
	cb.on_stream_close = NULL;
	assert_null(h2_session_new(NULL, &cb, NULL));
	/* the optional ones may be NULL */
	cb = e_cb;
	cb.on_request_end = NULL;
	cb.on_stream_writable = NULL;
	h2_session_free(h2_session_new(NULL, &cb, NULL));

#define BAD(field, v)                                                                              \
	do {                                                                                       \
		l = h2_limits_default;                                                             \
		l.field = v;                                                                       \
		errno = 0;                                                                         \
		assert_null(h2_session_new(&l, &e_cb, NULL));                                      \
		assert_int_equal(errno, EINVAL);                                                   \
	} while (0)
#define GOOD(field, v)                                                                             \
	do {                                                                                       \
		struct h2_session *s_;                                                             \
		l = h2_limits_default;                                                             \
		l.field = v;                                                                       \
		s_ = h2_session_new(&l, &e_cb, NULL);                                              \
		assert_non_null(s_);                                                               \
		h2_session_free(s_);                                                               \
	} while (0)
	BAD(max_concurrent_streams, 0);
	GOOD(max_concurrent_streams, 1);
	BAD(initial_window, 0x80000000u);
	GOOD(initial_window, 0x7fffffffu);
	GOOD(initial_window, 0);
	BAD(max_frame_size, 16383);
	GOOD(max_frame_size, 16384);
	GOOD(max_frame_size, 16777215);
	BAD(max_frame_size, 16777216);
	BAD(max_header_list, 1023);
	GOOD(max_header_list, 1024);
	BAD(conn_window, 65534);
	GOOD(conn_window, 65535);
	BAD(conn_window, 0x80000000u);
	BAD(max_fields, 0);
	BAD(send_queue, 0);
	BAD(rst_window, 0);
	BAD(max_settings, 6);
	BAD(max_outbound_ack, 0);
	BAD(flags, 0x2);
	GOOD(flags, H2_O_ABSOLUTE_FORM);
#undef BAD
#undef GOOD
}

static void test_null_args(void **state)
{
	struct t *t = rig();
	struct h2_stats st;
	uint8_t b[4];

	(void)state;
	h2_session_free(NULL);
	assert_int_equal(h2_feed(NULL, b, 1), -EINVAL);
	assert_int_equal(h2_feed(t->s, NULL, 1), -EINVAL);
	assert_int_equal(h2_feed(t->s, NULL, 0), 0);
	assert_int_equal(h2_pull(NULL, b, 4), -EINVAL);
	assert_int_equal(h2_pull(t->s, NULL, 4), -EINVAL);
	assert_false(h2_want_write(NULL));
	assert_false(h2_want_read(NULL));
	assert_int_equal(h2_respond(NULL, 1, "x", 1), -EINVAL);
	assert_int_equal(h2_respond(t->s, 1, NULL, 1), -EINVAL);
	assert_int_equal(h2_send_data(NULL, 1, "x", 1, false), -EINVAL);
	assert_int_equal(h2_send_data(t->s, 1, NULL, 1, false), -EINVAL);
	assert_int_equal(h2_consume(NULL, 1, 1), -EINVAL);
	assert_int_equal(h2_reset(NULL, 1, 0), -EINVAL);
	assert_int_equal(h2_goaway(NULL, 0), -EINVAL);
	/* streams that do not exist */
	assert_int_equal(h2_respond(t->s, 1, "HTTP/1.1 200 OK\r\n\r\n", 19), -ENOENT);
	assert_int_equal(h2_send_data(t->s, 1, "x", 1, false), -ENOENT);
	assert_int_equal(h2_consume(t->s, 1, 1), -ENOENT);
	assert_int_equal(h2_reset(t->s, 1, 0), -ENOENT);
	assert_int_equal(h2_respond(t->s, 0, "HTTP/1.1 200 OK\r\n\r\n", 19), -ENOENT);
	assert_int_equal(h2_respond(t->s, -1, "HTTP/1.1 200 OK\r\n\r\n", 19), -ENOENT);
	h2_get_stats(NULL, &st);
	assert_int_equal(st.streams, 0);
	h2_get_stats(t->s, NULL);
	assert_string_equal(h2_fail_str(H2_FAIL_RAPID_RESET), "rapid-reset");
	assert_string_equal(h2_fail_str(H2_FAIL_NONE), "none");
	assert_string_equal(h2_fail_str(H2_FAIL__MAX), "?");
	assert_string_equal(h2_fail_str((enum h2_fail) - 1), "?");
	rig_free(t);
}

/* Our SETTINGS and connection window, as the client reads them. */
static void test_settings_sent(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct t *t;

	(void)state;
	t = rig();
	assert_true(h2_want_write(t->s)); /* SETTINGS before the client says anything */
	pump(t);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
	    100);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE),
	    256 * 1024);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_MAX_FRAME_SIZE), 16384);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE),
	    65536);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES),
	    1);
	assert_int_equal(nghttp2_session_get_remote_window_size(t->c.ng), 1024 * 1024);
	assert_true(h2_want_read(t->s));
	assert_false(h2_want_write(t->s));
	rig_free(t);

	l.max_concurrent_streams = 7;
	l.initial_window = 1000;
	l.max_frame_size = 32768;
	l.max_header_list = 2048;
	l.conn_window = 65535;
	t = rig_new(&l, false, NULL, 0);
	pump(t);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
	    7);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE),
	    1000);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_MAX_FRAME_SIZE), 32768);
	assert_int_equal(
	    nghttp2_session_get_remote_settings(t->c.ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE),
	    2048);
	assert_int_equal(nghttp2_session_get_remote_window_size(t->c.ng), 65535);
	rig_free(t);
}

static void test_simple_get(void **state)
{
	struct t *t = rig();
	struct h2_stats st;
	int32_t id;

	(void)state;
	id = req(t, GET_FIELDS("/index.html?q=1"), "user-agent", "test/1", "accept", "*/*", NULL);
	pump(t);
	assert_int_equal(t->e.nr_req, 1);
	assert_head(t, id,
		    "GET /index.html?q=1 HTTP/1.1\r\n"
		    "Host: example.com\r\n"
		    "user-agent: test/1\r\n"
		    "accept: */*\r\n"
		    "\r\n");
	/* no body: the end comes with the head, no data at all */
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	assert_int_equal(t->e.r[slot(id)].data.len, 0);
	assert_int_equal(t->e.r[slot(id)].closes, 0);

	respond(t, id, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
	send_all(t, id, "hi", true);
	pump(t);
	assert_int_equal(t->c.r[slot(id)].status, 200);
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "hi");
	assert_true(t->c.r[slot(id)].ended);
	assert_false(t->c.r[slot(id)].rst);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_NO_ERROR);
	/* the id is dead now */
	assert_int_equal(h2_send_data(t->s, id, "x", 1, true), -ENOENT);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.streams, 1);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.fail, H2_FAIL_NONE);
	rig_free(t);
}

/* The same exchange fed one byte at a time and pulled 7 bytes at a time. */
static void test_byte_at_a_time(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	t->feed_bytewise = true;
	t->pull_cap = 7;
	id = reqb(t, "0123456789", 10, ":method", "POST", ":scheme", "http", ":authority",
		  "a.test:8080", ":path", "/up", "content-length", "10", NULL);
	pump(t);
	assert_head(t, id, "POST /up HTTP/1.1\r\nHost: a.test:8080\r\ncontent-length: 10\r\n\r\n");
	assert_string_equal(bag_str(&t->e.r[slot(id)].data), "0123456789");
	respond(t, id, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\n");
	send_all(t, id, "abcdefghijklmnopqrstuvwxyz", true);
	pump(t);
	assert_int_equal(t->c.r[slot(id)].status, 200);
	assert_string_equal(bag_str(&t->c.r[slot(id)].fields),
			    "content-type: text/plain\ncontent-length: 26\n");
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	rig_free(t);
}

static void test_host_only(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = req(t, ":method", "GET", ":scheme", "http", ":path", "/", "host", "h.test", "x-a", "1",
		 NULL);
	pump(t);
	assert_head(t, id, "GET / HTTP/1.1\r\nHost: h.test\r\nx-a: 1\r\n\r\n");
	rig_free(t);
}

static void test_host_and_authority(void **state)
{
	struct t *t = rig();
	int32_t a, b, c, d;

	(void)state;
	/* the same entity: one Host */
	a = req(t, GET_FIELDS("/"), "host", "EXAMPLE.com", NULL);
	/* another one: malformed (RFC 9113 8.3.1) */
	b = req(t, GET_FIELDS("/"), "host", "evil.test", NULL);
	/* host twice */
	c = req(t, ":method", "GET", ":scheme", "http", ":path", "/", "host", "h.test", "host",
		"h.test", NULL);
	/* an empty authority names nothing */
	d = req(t, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "", NULL);
	pump(t);
	assert_head(t, a, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_refused(t, b, 400);
	/* nghttp2 refuses a second host itself, as it does a second :authority */
	assert_stream_reset(t, c, H2_PROTOCOL_ERROR);
	assert_true(!t->e.r[slot(d)].seen);
	assert_true(t->c.r[slot(d)].status == 400 || t->c.r[slot(d)].rst);
	rig_free(t);
}

static void test_cookies_joined(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = req(t, GET_FIELDS("/"), "cookie", "a=1", "accept", "text/html", "cookie", "b=2",
		 "cookie", "c=3; d=4", "x-z", "z", NULL);
	pump(t);
	assert_head(t, id,
		    "GET / HTTP/1.1\r\nHost: example.com\r\naccept: text/html\r\nx-z: z\r\n"
		    "cookie: a=1; b=2; c=3; d=4\r\n\r\n");
	rig_free(t);
}

static void test_post_content_length(void **state)
{
	struct t *t = rig();
	static char body[100000];
	char cl[16];
	int32_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	snprintf(cl, sizeof(cl), "%zu", sizeof(body));
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority",
		  "example.com", ":path", "/form", "content-type", "text/plain", "content-length",
		  cl, NULL);
	pump(t);
	assert_head(t, id,
		    "POST /form HTTP/1.1\r\nHost: example.com\r\ncontent-type: text/plain\r\n"
		    "content-length: 100000\r\n\r\n");
	/* as received: no framing added under content-length */
	assert_int_equal(t->e.r[slot(id)].data.len, sizeof(body));
	assert_memory_equal(t->e.r[slot(id)].data.p, body, sizeof(body));
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	rig_free(t);
}

static void test_post_chunked(void **state)
{
	struct t *t = rig();
	static char body[70000];
	struct bag dec = {0};
	int32_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('0' + i % 10);
	id = reqb(t, body, sizeof(body), ":method", "PUT", ":scheme", "https", ":authority",
		  "example.com", ":path", "/blob", NULL);
	pump(t);
	assert_head(
	    t, id, "PUT /blob HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n");
	dechunk(&t->e.r[slot(id)].data, &dec);
	assert_int_equal(dec.len, sizeof(body));
	assert_memory_equal(dec.p, body, sizeof(body));
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	bag_free(&dec);
	rig_free(t);
}

/* The exact framing: one chunk per DATA frame, then the last chunk. */
static void test_chunk_framing_exact(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	t->c.chunk = 11;
	id = reqb(t, "hello world, again", 18, ":method", "POST", ":scheme", "https", ":authority",
		  "example.com", ":path", "/", NULL);
	pump(t);
	assert_string_equal(bag_str(&t->e.r[slot(id)].data),
			    "b\r\nhello world\r\n7\r\n, again\r\n0\r\n\r\n");
	rig_free(t);
}

/* HEADERS without END_STREAM, then an empty DATA that ends it: an empty chunked body. */
static void test_empty_chunked_body(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = reqb(t, "", 0, ":method", "POST", ":scheme", "https", ":authority", "example.com",
		  ":path", "/", NULL);
	pump(t);
	assert_head(t, id,
		    "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_string_equal(bag_str(&t->e.r[slot(id)].data), "0\r\n\r\n");
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	rig_free(t);
}

/* A POST whose HEADERS end the stream has no body: no framing field at all. */
static void test_post_no_body(void **state)
{
	struct t *t = rig();
	int32_t a, b;

	(void)state;
	a = req(t, ":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/",
		NULL);
	b = req(t, ":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/",
		"content-length", "0", NULL);
	pump(t);
	assert_head(t, a, "POST / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_head(t, b, "POST / HTTP/1.1\r\nHost: example.com\r\ncontent-length: 0\r\n\r\n");
	assert_int_equal(t->e.r[slot(a)].ends, 1);
	assert_int_equal(t->e.r[slot(b)].ends, 1);
	rig_free(t);
}

static void test_content_length_short(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = reqb(t, "12345", 5, ":method", "POST", ":scheme", "https", ":authority", "example.com",
		  ":path", "/", "content-length", "10", NULL);
	pump(t);
	/* the head went on, the body came short: reset, no end for the engine */
	assert_true(t->e.r[slot(id)].seen);
	assert_int_equal(t->e.r[slot(id)].ends, 0);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_PROTOCOL_ERROR);
	assert_true(t->c.r[slot(id)].rst);
	assert_int_equal(t->c.r[slot(id)].rst_code, H2_PROTOCOL_ERROR);
	assert_false(t->c.goaway);
	rig_free(t);
}

static void test_content_length_long(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = reqb(t, "1234567890", 10, ":method", "POST", ":scheme", "https", ":authority",
		  "example.com", ":path", "/", "content-length", "4", NULL);
	pump(t);
	assert_true(t->e.r[slot(id)].seen);
	/* never a byte past the length */
	assert_true(t->e.r[slot(id)].data.len <= 4);
	assert_int_equal(t->e.r[slot(id)].ends, 0);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_PROTOCOL_ERROR);
	assert_int_equal(t->c.r[slot(id)].rst_code, H2_PROTOCOL_ERROR);
	rig_free(t);
}

/* content-length promised, HEADERS end the stream: malformed, never given on. */
static void test_content_length_no_data(void **state)
{
	struct t *t = rig();
	int32_t a, b, c;

	(void)state;
	a = req(t, ":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/",
		"content-length", "3", NULL);
	b = req(t, ":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/",
		"content-length", "3", "content-length", "3", NULL);
	c = req(t, ":method", "POST", ":scheme", "https", ":authority", "example.com", ":path", "/",
		"content-length", "-1", NULL);
	pump(t);
	assert_stream_reset(t, a, H2_PROTOCOL_ERROR);
	assert_stream_reset(t, b, H2_PROTOCOL_ERROR);
	assert_stream_reset(t, c, H2_PROTOCOL_ERROR);
	rig_free(t);
}

/* RFC 9113 8.2.2: connection-specific fields make a request malformed. */
static void test_connection_specific_fields(void **state)
{
	static const char *const bad[][2] = {
	    {"connection", "close"},
	    {"connection", "keep-alive"},
	    {"transfer-encoding", "chunked"},
	    {"keep-alive", "timeout=5"},
	    {"proxy-connection", "keep-alive"},
	    {"upgrade", "websocket"},
	    {"te", "gzip"},
	    {"te", "trailers, gzip"},
	};
	struct t *t = rig();
	int32_t ids[ARRAY_SIZE(bad)], ok;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ids[i] = req(t, GET_FIELDS("/"), bad[i][0], bad[i][1], NULL);
	ok = req(t, GET_FIELDS("/"), "te", "trailers", NULL);
	pump(t);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_stream_reset(t, ids[i], H2_PROTOCOL_ERROR);
	assert_head(t, ok, "GET / HTTP/1.1\r\nHost: example.com\r\nte: trailers\r\n\r\n");
	assert_int_equal(t->e.nr_req, 1);
	{
		struct h2_stats st;

		h2_get_stats(t->s, &st);
		assert_int_equal(st.streams, ARRAY_SIZE(bad) + 1);
		assert_int_equal(st.requests, 1);
		assert_int_equal(st.invalid, ARRAY_SIZE(bad));
		assert_int_equal(st.refused, 0);
	}
	rig_free(t);
}

static void test_bad_field_names(void **state)
{
	static const char *const bad[] = {"X-Upper", "a b",  "x@y",	   "",
					  "x:y",     "\x7f", "caf\xc3\xa9"};
	struct t *t = rig();
	int32_t ids[ARRAY_SIZE(bad)];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ids[i] = req(t, GET_FIELDS("/"), bad[i], "v", NULL);
	pump(t);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_stream_reset(t, ids[i], H2_PROTOCOL_ERROR);
	assert_int_equal(t->e.nr_req, 0);
	rig_free(t);
}

static void test_bad_field_values(void **state)
{
	static const char *const bad[] = {" lead",     "trail ", "\tlead", "trail\t",
					  "a\r\nb: c", "a\nb",	 "a\rb",   "a\x01"};
	struct t *t = rig();
	int32_t ids[ARRAY_SIZE(bad) + 1], ok;
	nghttp2_nv nv[5];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ids[i] = req(t, GET_FIELDS("/"), "x-v", bad[i], NULL);
	/* NUL inside a value: needs an explicit length */
	nv[0] = (nghttp2_nv){(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0};
	nv[1] = (nghttp2_nv){(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0};
	nv[2] = (nghttp2_nv){(uint8_t *)":authority", (uint8_t *)"example.com", 10, 11, 0};
	nv[3] = (nghttp2_nv){(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0};
	nv[4] = (nghttp2_nv){(uint8_t *)"x-v", (uint8_t *)"a\0b", 3, 3, 0};
	ids[ARRAY_SIZE(bad)] = nghttp2_submit_request(t->c.ng, NULL, nv, 5, NULL, NULL);
	/* inner whitespace and obs-text are fine */
	ok = req(t, GET_FIELDS("/"), "x-v", "a \t b\xff", NULL);
	pump(t);
	for (size_t i = 0; i <= ARRAY_SIZE(bad); i++)
		assert_stream_reset(t, ids[i], H2_PROTOCOL_ERROR);
	assert_head(t, ok, "GET / HTTP/1.1\r\nHost: example.com\r\nx-v: a \t b\xff\r\n\r\n");
	rig_free(t);
}

/* Pseudo-header rules (RFC 9113 8.3), CONNECT's included. */
static void test_pseudo_headers(void **state)
{
	struct t *t = rig();
	int32_t bad[9];
	int n = 0;

	(void)state;
	/* no :path */
	bad[n++] = req(t, ":method", "GET", ":scheme", "https", ":authority", "a", NULL);
	/* no :method */
	bad[n++] = req(t, ":scheme", "https", ":authority", "a", ":path", "/", NULL);
	/* no :scheme */
	bad[n++] = req(t, ":method", "GET", ":authority", "a", ":path", "/", NULL);
	/* :path twice */
	bad[n++] = req(t, GET_FIELDS("/"), ":path", "/x", NULL);
	/* a pseudo-header after a regular field */
	bad[n++] = req(t, ":method", "GET", ":scheme", "https", "x-a", "1", ":authority", "a",
		       ":path", "/", NULL);
	/* one that does not exist; a response's in a request */
	bad[n++] = req(t, GET_FIELDS("/"), ":foo", "x", NULL);
	bad[n++] = req(t, GET_FIELDS("/"), ":status", "200", NULL);
	/* CONNECT with :path / :scheme */
	bad[n++] = req(t, ":method", "CONNECT", ":authority", "a:443", ":path", "/", NULL);
	/* :protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL */
	bad[n++] = req(t, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "https",
		       ":authority", "a:443", ":path", "/chat", NULL);
	pump(t);
	for (int i = 0; i < n; i++)
		assert_stream_reset(t, bad[i], H2_PROTOCOL_ERROR);
	assert_int_equal(t->e.nr_req, 0);
	rig_free(t);
}

static void test_bad_scheme_and_path(void **state)
{
	struct t *t = rig();
	int32_t ftp, rel, star, ok;

	(void)state;
	ftp = req(t, ":method", "GET", ":scheme", "ftp", ":authority", "a", ":path", "/", NULL);
	rel = req(t, GET_FIELDS("rel"), NULL);
	star = req(t, GET_FIELDS("*"), NULL);
	ok = req(t, ":method", "GET", ":scheme", "HTTPS", ":authority", "a", ":path", "/", NULL);
	pump(t);
	assert_refused(t, ftp, 400);
	assert_stream_reset(t, rel, H2_PROTOCOL_ERROR);
	assert_stream_reset(t, star, H2_PROTOCOL_ERROR);
	assert_head(t, ok, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	rig_free(t);
}

/* Whatever nghttp2 lets through, the engine's parser has the last word. */
static void test_h1_self_check(void **state)
{
	struct h1_limits hl = h1_limits_default;
	struct h2_limits l = h2_limits_default;
	struct t *t;
	int32_t ids[4], ok;
	char longpath[200];

	(void)state;
	hl.max_start_line = 100;
	l.h1 = &hl;
	t = rig_new(&l, false, NULL, 0);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ids[0] = req(t, GET_FIELDS(longpath), NULL); /* 414 */
	ids[1] = req(t, ":method", "GET", ":scheme", "https", ":authority", "u@a.test", ":path",
		     "/", NULL);			   /* userinfo: 400 */
	ids[2] = req(t, GET_FIELDS("/a#frag"), NULL);	   /* '#': 400 */
	ids[3] = req(t, GET_FIELDS("/caf\xc3\xa9"), NULL); /* non-ASCII: 400 */
	ok = req(t, GET_FIELDS("/%C3%A9?x=1&y=/"), NULL);
	pump(t);
	/* refused by nghttp2 or by the parser: either way not for the engine */
	assert_refused(t, ids[0], 414);
	for (int i = 1; i < 4; i++) {
		assert_false(t->e.r[slot(ids[i])].seen);
		assert_true(t->c.r[slot(ids[i])].status == 400 ||
			    t->c.r[slot(ids[i])].rst_code == H2_PROTOCOL_ERROR);
	}
	assert_head(t, ok, "GET /%C3%A9?x=1&y=/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
	rig_free(t);
}

static void test_options_star_and_absolute_form(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct t *t = rig();
	int32_t a, b, c, d;

	(void)state;
	a = req(t, ":method", "OPTIONS", ":scheme", "https", ":authority", "a.test", ":path", "*",
		NULL);
	pump(t);
	assert_head(t, a, "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n");
	rig_free(t);

	l.flags = H2_O_ABSOLUTE_FORM;
	t = rig_new(&l, false, NULL, 0);
	a = req(t, GET_FIELDS("/p?q"), NULL);
	b = req(t, ":method", "OPTIONS", ":scheme", "http", ":authority", "a.test", ":path", "*",
		NULL);
	c = req(t, ":method", "CONNECT", ":authority", "a.test:443", NULL);
	d = req(t, ":method", "GET", ":scheme", "HTTP", ":authority", "a.test", ":path", "/", NULL);
	pump(t);
	assert_head(t, a, "GET https://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_head(t, d, "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
	assert_head(t, b, "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n");
	assert_head(t, c, "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n");
	rig_free(t);
}

/* A CONNECT tunnel: raw bytes both ways, each side ends on its own. */
static void test_connect_tunnel(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = reqb(t, "client-hello", 12, ":method", "CONNECT", ":authority", "db.test:5432", NULL);
	pump(t);
	assert_head(t, id, "CONNECT db.test:5432 HTTP/1.1\r\nHost: db.test:5432\r\n\r\n");
	/* raw bytes, no chunk framing */
	assert_string_equal(bag_str(&t->e.r[slot(id)].data), "client-hello");
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	/* the upstream's 200 may carry framing fields; a tunnel's must not */
	respond(t, id,
		"HTTP/1.1 200 Connection established\r\nContent-Length: 0\r\nX-Via: p\r\n\r\n");
	send_all(t, id, "server-hello", false);
	pump(t);
	assert_int_equal(t->c.r[slot(id)].status, 200);
	assert_string_equal(bag_str(&t->c.r[slot(id)].fields), "x-via: p\n");
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "server-hello");
	assert_false(t->c.r[slot(id)].ended);
	assert_int_equal(h2_send_data(t->s, id, "bye", 3, true), 3);
	pump(t);
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "server-hellobye");
	assert_true(t->c.r[slot(id)].ended);
	assert_false(t->c.r[slot(id)].rst);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_NO_ERROR);
	rig_free(t);
}

/* A tunnel the upstream ends first: the client may go on sending (half-closed). */
static void test_connect_half_close(void **state)
{
	struct t *t = rig();
	int32_t id = (int32_t)nghttp2_session_get_next_stream_id(t->c.ng);
	nghttp2_nv nv[2] = {
	    {(uint8_t *)":method", (uint8_t *)"CONNECT", 7, 7, 0},
	    {(uint8_t *)":authority", (uint8_t *)"db.test:5432", 10, 12, 0},
	};

	(void)state;
	/* HEADERS without END_STREAM and no data yet: the client keeps its side open */
	assert_int_equal(nghttp2_submit_headers(t->c.ng, NGHTTP2_FLAG_NONE, -1, NULL, nv, 2, NULL),
			 id);
	pump(t);
	respond(t, id, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(h2_send_data(t->s, id, "", 0, true), 0);
	pump(t);
	assert_true(t->c.r[slot(id)].ended);
	assert_false(t->c.r[slot(id)].rst); /* no RST_STREAM(NO_ERROR) for a tunnel */
	assert_int_equal(t->e.r[slot(id)].closes, 0);
	/* the client's half still flows, then it ends too */
	assert_int_equal(
	    nghttp2_submit_data(t->c.ng, NGHTTP2_FLAG_END_STREAM, id,
				&(nghttp2_data_provider){.source.ptr = &t->c.b[slot(id)],
							 .read_callback = c_body_read}),
	    0);
	t->c.b[slot(id)] = (struct cbody){.p = "late", .len = 4};
	pump(t);
	assert_string_equal(bag_str(&t->e.r[slot(id)].data), "late");
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_NO_ERROR);
	rig_free(t);
}

static void test_response_conversion(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	respond(t, id,
		"HTTP/1.1 404 Not Found\r\n"
		"Content-Type: text/plain\r\n"
		"Connection: keep-alive, X-Hop\r\n"
		"X-Hop: secret\r\n"
		"Keep-Alive: timeout=5\r\n"
		"Proxy-Connection: keep-alive\r\n"
		"Upgrade: h2c\r\n"
		"TE: trailers\r\n"
		"Set-Cookie: a=1\r\n"
		"SET-COOKIE: b=2\r\n"
		"X-Mixed-Case: Value Kept\r\n"
		"Content-Length: 4\r\n"
		"\r\n");
	send_all(t, id, "nope", true);
	pump(t);
	assert_int_equal(t->c.r[slot(id)].status, 404);
	assert_string_equal(bag_str(&t->c.r[slot(id)].fields), "content-type: text/plain\n"
							       "set-cookie: a=1\n"
							       "set-cookie: b=2\n"
							       "x-mixed-case: Value Kept\n"
							       "content-length: 4\n");
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "nope");
	assert_true(t->c.r[slot(id)].ended);
	rig_free(t);
}

/* A chunked (or close-delimited) response: the engine passes decoded bytes. */
static void test_response_chunked_and_close(void **state)
{
	struct t *t = rig();
	int32_t a, b;

	(void)state;
	a = req(t, GET_FIELDS("/a"), NULL);
	b = req(t, GET_FIELDS("/b"), NULL);
	pump(t);
	respond(t, a, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nVary: *\r\n\r\n");
	respond(t, b, "HTTP/1.0 200 OK\r\nX-B: 1\r\n\r\n");
	send_all(t, a, "part1,", false);
	send_all(t, b, "until-close", false);
	pump(t);
	assert_false(t->c.r[slot(a)].ended);
	send_all(t, a, "part2", false);
	assert_int_equal(h2_send_data(t->s, a, NULL, 0, true), 0);
	assert_int_equal(h2_send_data(t->s, b, NULL, 0, true), 0);
	pump(t);
	assert_string_equal(bag_str(&t->c.r[slot(a)].fields), "vary: *\n");
	assert_string_equal(bag_str(&t->c.r[slot(a)].body), "part1,part2");
	assert_true(t->c.r[slot(a)].ended);
	assert_string_equal(bag_str(&t->c.r[slot(b)].fields), "x-b: 1\n");
	assert_string_equal(bag_str(&t->c.r[slot(b)].body), "until-close");
	assert_true(t->c.r[slot(b)].ended);
	rig_free(t);
}

/* Bodiless responses end with their HEADERS; a repeated end is harmless. */
static void test_response_no_body(void **state)
{
	struct t *t = rig();
	int32_t h, n204, n304, cl0;

	(void)state;
	h = req(t, ":method", "HEAD", ":scheme", "https", ":authority", "a", ":path", "/", NULL);
	n204 = req(t, GET_FIELDS("/204"), NULL);
	n304 = req(t, GET_FIELDS("/304"), NULL);
	cl0 = req(t, GET_FIELDS("/0"), NULL);
	pump(t);
	respond(t, h, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
	respond(t, n204, "HTTP/1.1 204 No Content\r\n\r\n");
	respond(t, n304, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
	respond(t, cl0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h2_send_data(t->s, h, "x", 1, false), -EINVAL);
	assert_int_equal(h2_send_data(t->s, h, NULL, 0, true), 0);
	assert_int_equal(h2_send_data(t->s, cl0, NULL, 0, true), 0);
	pump(t);
	assert_int_equal(t->c.r[slot(h)].status, 200);
	/* HEAD keeps the GET's length */
	assert_string_equal(bag_str(&t->c.r[slot(h)].fields), "content-length: 1234\n");
	assert_int_equal(t->c.r[slot(h)].body.len, 0);
	assert_true(t->c.r[slot(h)].ended);
	assert_int_equal(t->c.r[slot(n204)].status, 204);
	assert_true(t->c.r[slot(n204)].ended);
	assert_int_equal(t->c.r[slot(n304)].status, 304);
	assert_string_equal(bag_str(&t->c.r[slot(n304)].fields), "etag: \"x\"\n");
	assert_true(t->c.r[slot(cl0)].ended);
	for (int32_t id = 1; id <= 7; id += 2) {
		assert_int_equal(t->e.r[slot(id)].closes, 1);
		assert_int_equal(t->e.r[slot(id)].close_code, H2_NO_ERROR);
		assert_false(t->c.r[slot(id)].rst);
	}
	rig_free(t);
}

static void test_interim_responses(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = reqb(t, "data", 4, ":method", "POST", ":scheme", "https", ":authority", "a", ":path",
		  "/", "expect", "100-continue", "content-length", "4", NULL);
	pump(t);
	assert_head(
	    t, id,
	    "POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n");
	respond(t, id, "HTTP/1.1 100 Continue\r\n\r\n");
	respond(t, id, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n");
	/* interim heads carry no body */
	assert_int_equal(h2_send_data(t->s, id, "x", 1, false), -EINVAL);
	respond(t, id, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n");
	send_all(t, id, "ok", true);
	pump(t);
	assert_int_equal(t->c.r[slot(id)].interim, 2);
	assert_int_equal(t->c.r[slot(id)].status, 201);
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "ok");
	rig_free(t);
}

/* h2_respond_info says what each head means for the body, so the engine need not parse it. */
static void test_respond_info(void **state)
{
	static const struct {
		const char *method, *head;
		struct h2_resp_info want;
		const char *body; /* sent with end; NULL: none may follow */
	} cases[] = {
	    {"GET", "HTTP/1.1 100 Continue\r\n\r\n", {.status = 100}, NULL},
	    {"GET",
	     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
	     {.status = 200, .final = true, .has_len = true, .len = 5},
	     "hello"},
	    {"GET",
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	     {.status = 200, .final = true, .ended = true},
	     NULL},
	    {"GET",
	     "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
	     {.status = 200, .final = true},
	     "until the end"},
	    {"HEAD",
	     "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
	     {.status = 200, .final = true, .ended = true},
	     NULL},
	    {"GET",
	     "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
	     {.status = 304, .final = true, .ended = true},
	     NULL},
	    {"GET",
	     "HTTP/1.1 204 No Content\r\n\r\n",
	     {.status = 204, .final = true, .ended = true},
	     NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t *t = rig();
		struct h2_resp_info ri;
		int32_t id;

		memset(&ri, 0xa5, sizeof(ri));
		id = req(t, ":method", cases[i].method, ":scheme", "https", ":authority", "a",
			 ":path", "/", NULL);
		pump(t);
		assert_int_equal(
		    h2_respond_info(t->s, id, cases[i].head, strlen(cases[i].head), &ri), 0);
		assert_int_equal(ri.status, cases[i].want.status);
		assert_int_equal(ri.final, cases[i].want.final);
		assert_int_equal(ri.ended, cases[i].want.ended);
		assert_int_equal(ri.has_len, cases[i].want.has_len);
		if (ri.has_len)
			assert_int_equal(ri.len, cases[i].want.len);
		if (cases[i].body) {
			send_all(t, id, cases[i].body, true);
			pump(t);
			assert_string_equal(bag_str(&t->c.r[slot(id)].body), cases[i].body);
		} else if (ri.final) {
			assert_int_equal(h2_send_data(t->s, id, "x", 1, false), -EINVAL);
		}
		rig_free(t);
	}
}

/* The engine's pointer rides with its stream until the stream is gone. */
static void test_stream_ctx(void **state)
{
	struct t *t = rig();
	int marker = 0;
	int32_t id;

	(void)state;
	assert_int_equal(h2_stream_set_ctx(t->s, 1, &marker), -ENOENT); /* not opened yet */
	id = req(t, ":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/", NULL);
	pump(t);
	assert_null(h2_stream_ctx(t->s, id));
	assert_int_equal(h2_stream_set_ctx(t->s, id, &marker), 0);
	assert_ptr_equal(h2_stream_ctx(t->s, id), &marker);
	assert_null(h2_stream_ctx(t->s, id + 2));
	respond(t, id, "HTTP/1.1 204 No Content\r\n\r\n");
	pump(t);
	assert_null(h2_stream_ctx(t->s, id)); /* closed: gone with it */
	assert_int_equal(h2_stream_set_ctx(t->s, id, &marker), -ENOENT);
	assert_null(h2_stream_ctx(NULL, id));
	rig_free(t);
}

static void test_respond_errors(void **state)
{
	struct t *t = rig();
	int32_t id, c;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";

	(void)state;
	id = req(t, GET_FIELDS("/"), NULL);
	c = req(t, ":method", "CONNECT", ":authority", "a:1", NULL);
	pump(t);
	/* data before a head */
	assert_int_equal(h2_send_data(t->s, id, "abc", 3, true), -EINVAL);
	/* not one complete, valid head */
	assert_int_equal(h2_respond(t->s, id, "HTTP/1.1 200 OK\r\n", 17), -EINVAL);
	assert_int_equal(h2_respond(t->s, id, "HTTP/1.1 200 OK\r\n\r\nextra", 24), -EINVAL);
	assert_int_equal(h2_respond(t->s, id, "HTTP/1.1 2000 OK\r\n\r\n", 20), -EINVAL);
	assert_int_equal(h2_respond(t->s, id, "HTTP/1.1 200 OK\nX: y\n\n", 22), -EINVAL);
	assert_int_equal(h2_respond(t->s, id, "", 0), -EINVAL);
	/* what HTTP/2 cannot say */
	{
		const char *up = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
				 "Upgrade: websocket\r\n\r\n";
		const char *gz = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";

		assert_int_equal(h2_respond(t->s, id, up, strlen(up)), -EPROTONOSUPPORT);
		assert_int_equal(h2_respond(t->s, id, gz, strlen(gz)), -EPROTONOSUPPORT);
	}
	assert_int_equal(h2_respond(t->s, id, ok, strlen(ok)), 0);
	assert_int_equal(h2_respond(t->s, id, ok, strlen(ok)), -EALREADY);
	/* the length is the law */
	assert_int_equal(h2_send_data(t->s, id, "abcd", 4, false), -EINVAL);
	assert_int_equal(h2_send_data(t->s, id, "ab", 2, true), -EINVAL);
	assert_int_equal(h2_send_data(t->s, id, "ab", 2, false), 2);
	assert_int_equal(h2_send_data(t->s, id, "cd", 2, false), -EINVAL);
	assert_int_equal(h2_send_data(t->s, id, "c", 1, true), 1);
	assert_int_equal(h2_send_data(t->s, id, "d", 1, false), -EINVAL);
	assert_int_equal(h2_send_data(t->s, id, NULL, 0, true), 0);
	/* a non-2xx to CONNECT is an ordinary response */
	respond(t, c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
	pump(t);
	assert_string_equal(bag_str(&t->c.r[slot(id)].body), "abc");
	assert_int_equal(t->c.r[slot(c)].status, 403);
	assert_true(t->c.r[slot(c)].ended);
	rig_free(t);
}

/*
 * Response flow control: the client's window is small, so bytes wait in the
 * stream's queue; the engine is told when the queue drained to half.
 */
static void test_response_flow_control(void **state)
{
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}};
	struct h2_limits l = h2_limits_default;
	static char body[20000];
	struct t *t;
	int32_t id;
	size_t sent = 0, given = 0;
	ssize_t n;
	int rounds = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('A' + i % 26);
	l.send_queue = 4096;
	t = rig_new(&l, true, iv, 1);
	id = req(t, GET_FIELDS("/big"), NULL);
	pump(t);
	respond(t, id, "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n");
	/* more than the queue holds: a short count */
	n = h2_send_data(t->s, id, body, sizeof(body), true);
	assert_int_equal(n, 4096);
	sent = 4096;
	assert_int_equal(h2_send_data(t->s, id, body + sent, sizeof(body) - sent, true), -EAGAIN);
	pump(t);
	/* the client's window let 1000 through; 3096 wait; not yet half empty */
	assert_int_equal(t->c.r[slot(id)].body.len, 1000);
	assert_int_equal(t->e.r[slot(id)].writable, 0);
	/* what left made room for as much */
	assert_int_equal(h2_send_data(t->s, id, body + sent, sizeof(body) - sent, true), 1000);
	sent += 1000;
	assert_int_equal(h2_send_data(t->s, id, body + sent, sizeof(body) - sent, true), -EAGAIN);

	while (!t->c.r[slot(id)].ended) {
		int w = t->e.r[slot(id)].writable;
		size_t got = t->c.r[slot(id)].body.len;

		assert_true(++rounds < 1000);
		/* the client reads what it got: its window reopens */
		assert_int_equal(nghttp2_session_consume(t->c.ng, id, got - given), 0);
		given = got;
		pump(t);
		if (t->e.r[slot(id)].writable > w && sent < sizeof(body)) {
			n = h2_send_data(t->s, id, body + sent, sizeof(body) - sent, true);
			assert_true(n > 0);
			sent += (size_t)n;
			pump(t);
		}
	}
	assert_int_equal(sent, sizeof(body));
	assert_true(t->e.r[slot(id)].writable >= 4);
	assert_int_equal(t->c.r[slot(id)].body.len, sizeof(body));
	assert_memory_equal(t->c.r[slot(id)].body.p, body, sizeof(body));
	rig_free(t);
}

/* No on_stream_writable when nothing was refused. */
static void test_writable_only_when_blocked(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	respond(t, id, "HTTP/1.1 200 OK\r\n\r\n");
	for (int i = 0; i < 10; i++) {
		send_all(t, id, "0123456789", false);
		pump(t);
	}
	assert_int_equal(h2_send_data(t->s, id, NULL, 0, true), 0);
	pump(t);
	assert_int_equal(t->c.r[slot(id)].body.len, 100);
	assert_int_equal(t->e.r[slot(id)].writable, 0);
	rig_free(t);
}

/* Request body backpressure: nothing consumed, nothing more admitted. */
static void test_request_backpressure(void **state)
{
	struct h2_limits l = h2_limits_default;
	static char body[200000];
	struct t *t;
	struct ereq *r;
	int32_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)i;
	l.initial_window = 16384;
	t = rig_new(&l, false, NULL, 0);
	t->e.auto_consume = false;
	pump(t); /* the client knows our window before it sends */
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", "content-length", "200000", NULL);
	r = &t->e.r[slot(id)];
	pump(t);
	/* exactly one window's worth, and the client is stuck */
	assert_int_equal(r->dec_len, 16384);
	assert_int_equal(nghttp2_session_get_stream_remote_window_size(t->c.ng, id), 0);
	pump(t);
	assert_int_equal(r->dec_len, 16384);
	/* over-consuming is refused */
	assert_int_equal(h2_consume(t->s, id, 16385), -EINVAL);
	/* less than half a window: not worth a WINDOW_UPDATE yet */
	assert_int_equal(h2_consume(t->s, id, 100), 0);
	pump(t);
	assert_int_equal(r->dec_len, 16384);
	/* half a window consumed: a WINDOW_UPDATE goes out, as much comes in */
	assert_int_equal(h2_consume(t->s, id, 8092), 0);
	r->consumed = 8192;
	pump(t);
	assert_int_equal(r->dec_len, 16384 + 8192);
	/* then the engine keeps up: the whole body arrives, intact */
	while (!r->ends) {
		size_t now = r->dec_len;

		assert_int_equal(h2_consume(t->s, id, r->dec_len - r->consumed), 0);
		r->consumed = r->dec_len;
		pump(t);
		assert_true(r->dec_len > now || r->ends);
	}
	assert_int_equal(r->dec_len, sizeof(body));
	assert_memory_equal(r->dec.p, body, sizeof(body));
	assert_int_equal(h2_consume(t->s, id, 0), 0);
	rig_free(t);
}

/* The connection window too: two streams share it. */
static void test_connection_window(void **state)
{
	struct h2_limits l = h2_limits_default;
	static char body[100000];
	struct t *t;
	int32_t a, b;

	(void)state;
	memset(body, 'x', sizeof(body));
	l.initial_window = 60000;
	l.conn_window = 65535;
	t = rig_new(&l, false, NULL, 0);
	t->e.auto_consume = false;
	pump(t);
	a = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		 ":path", "/a", NULL);
	b = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		 ":path", "/b", NULL);
	t->c.chunk = 0;
	pump(t);
	/* 65535 payload bytes in all, chunk framing aside */
	{
		size_t pa = 0, pb = 0;
		struct h1_body hb;
		struct h1_body_out o;
		size_t off = 0;

		h1_body_start(&hb, H1_BODY_CHUNKED, 0, NULL, false);
		while (off < t->e.r[slot(a)].data.len) {
			assert_int_equal(h1_body_feed(&hb, t->e.r[slot(a)].data.p + off,
						      t->e.r[slot(a)].data.len - off, &o),
					 0);
			pa += o.data_len;
			off += o.consumed;
		}
		off = 0;
		h1_body_start(&hb, H1_BODY_CHUNKED, 0, NULL, false);
		while (off < t->e.r[slot(b)].data.len) {
			assert_int_equal(h1_body_feed(&hb, t->e.r[slot(b)].data.p + off,
						      t->e.r[slot(b)].data.len - off, &o),
					 0);
			pb += o.data_len;
			off += o.consumed;
		}
		assert_int_equal(pa + pb, 65535);
		assert_true(pa <= 60000 && pb <= 60000);
		assert_int_equal(t->e.r[slot(a)].dec_len + t->e.r[slot(b)].dec_len, 65535);
	}
	/* the engine catches up: both bodies complete */
	t->e.auto_consume = true;
	for (int32_t id = a; id <= b; id += 2) {
		struct ereq *r = &t->e.r[slot(id)];

		assert_int_equal(h2_consume(t->s, id, r->dec_len), 0);
		r->consumed = r->dec_len;
	}
	pump(t);
	assert_int_equal(t->e.r[slot(a)].dec_len, sizeof(body));
	assert_int_equal(t->e.r[slot(b)].dec_len, sizeof(body));
	assert_int_equal(t->e.r[slot(a)].ends, 1);
	assert_int_equal(t->e.r[slot(b)].ends, 1);
	rig_free(t);
}

/*
 * Bytes the engine never consumed are given back to the connection when
 * their stream closes, or the connection would starve.
 */
static void test_unconsumed_released_on_close(void **state)
{
	struct h2_limits l = h2_limits_default;
	static char body[60000];
	struct t *t;
	int32_t a, b;

	(void)state;
	memset(body, 'y', sizeof(body));
	l.initial_window = 65535;
	l.conn_window = 65535;
	t = rig_new(&l, false, NULL, 0);
	t->e.auto_consume = false;
	a = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		 ":path", "/a", "content-length", "60000", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(a)].data.len, 60000);
	/* the engine gives up on it without consuming a byte */
	assert_int_equal(h2_reset(t->s, a, H2_CANCEL), 0);
	assert_int_equal(h2_reset(t->s, a, H2_CANCEL), -ENOENT);
	pump(t);
	assert_int_equal(t->c.r[slot(a)].rst_code, H2_CANCEL);
	assert_int_equal(t->e.r[slot(a)].closes, 1);
	assert_int_equal(t->e.r[slot(a)].close_code, H2_CANCEL);
	assert_int_equal(h2_consume(t->s, a, 1), -ENOENT);
	/* a second stream still gets a full 60000 through */
	b = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		 ":path", "/b", "content-length", "60000", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(b)].data.len, 60000);
	assert_int_equal(t->e.r[slot(b)].ends, 1);
	rig_free(t);
}

/* Padding counts against the windows; nghttp2 gives it back by itself. */
static void test_padding(void **state)
{
	struct h2_limits l = h2_limits_default;
	static char body[40000];
	struct t *t;
	int32_t id;

	(void)state;
	memset(body, 'p', sizeof(body));
	l.initial_window = 65535;
	l.conn_window = 65535;
	t = rig_new(&l, false, NULL, 0);
	t->c.pad = 200;
	t->c.chunk = 1000;
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", "content-length", "40000", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].data.len, 40000);
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	/* again: the connection window is whole again */
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", "content-length", "40000", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].data.len, 40000);
	rig_free(t);
}

static void test_client_reset(void **state)
{
	struct t *t = rig();
	int32_t id;

	(void)state;
	id = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	assert_int_equal(nghttp2_submit_rst_stream(t->c.ng, NGHTTP2_FLAG_NONE, id, H2_CANCEL), 0);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_CANCEL);
	assert_int_equal(h2_respond(t->s, id, "HTTP/1.1 200 OK\r\n\r\n", 19), -ENOENT);
	assert_true(h2_want_read(t->s));
	rig_free(t);
}

/* The engine resets a stream mid-body; later DATA is not delivered. */
static void test_engine_reset_mid_body(void **state)
{
	struct t *t = rig();
	static char body[50000];
	int32_t id, ok;

	(void)state;
	memset(body, 'r', sizeof(body));
	t->e.reset_on_data = true;
	t->c.chunk = 1000;
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", "content-length", "50000", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].data.len, 1000);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_CANCEL);
	assert_int_equal(t->c.r[slot(id)].rst_code, H2_CANCEL);
	/* the connection is fine */
	t->e.reset_on_data = false;
	ok = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	assert_true(t->e.r[slot(ok)].seen);
	rig_free(t);
}

/* The response ended before the request: RST_STREAM(NO_ERROR) stops the upload. */
static void test_early_response(void **state)
{
	struct t *t = rig();
	static char body[300000];
	int32_t id;

	(void)state;
	memset(body, 'e', sizeof(body));
	t->e.auto_consume = false;
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", "content-length", "300000", NULL);
	pump(t);
	assert_true(t->e.r[slot(id)].data.len < sizeof(body));
	respond(t, id, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
	pump(t);
	assert_int_equal(t->c.r[slot(id)].status, 413);
	assert_true(t->c.r[slot(id)].ended);
	assert_true(t->c.r[slot(id)].rst);
	assert_int_equal(t->c.r[slot(id)].rst_code, H2_NO_ERROR);
	assert_int_equal(t->e.r[slot(id)].ends, 0);
	assert_int_equal(t->e.r[slot(id)].closes, 1);
	assert_int_equal(t->e.r[slot(id)].close_code, H2_NO_ERROR);
	/* a new stream still has the connection window */
	t->e.auto_consume = true;
	id = reqb(t, body, 100000, ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", "content-length", "100000", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].data.len, 100000);
	rig_free(t);
}

/* Request trailers are validated by nghttp2 and dropped; the body ends cleanly. */
static void test_request_trailers(void **state)
{
	struct t *t = rig();
	int32_t id = (int32_t)nghttp2_session_get_next_stream_id(t->c.ng);
	nghttp2_nv nv[4] = {
	    {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
	    {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
	    {(uint8_t *)":authority", (uint8_t *)"a", 10, 1, 0},
	    {(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0},
	};
	nghttp2_nv tr = {(uint8_t *)"x-checksum", (uint8_t *)"abc", 10, 3, 0};
	nghttp2_data_provider prd = {.source.ptr = &t->c.b[slot(id)], .read_callback = NULL};

	(void)state;
	(void)prd;
	assert_int_equal(nghttp2_submit_headers(t->c.ng, NGHTTP2_FLAG_NONE, -1, NULL, nv, 4, NULL),
			 id);
	c2s(t); /* the stream exists once its HEADERS are out */
	t->c.b[slot(id)] = (struct cbody){.p = "body", .len = 4};
	prd.read_callback = c_body_read;
	/* DATA without END_STREAM: nghttp2 ends at EOF unless told otherwise */
	assert_int_equal(nghttp2_submit_data(t->c.ng, NGHTTP2_FLAG_NONE, id, &prd), 0);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].ends, 0);
	assert_int_equal(nghttp2_submit_trailer(t->c.ng, id, &tr, 1), 0);
	pump(t);
	assert_head(t, id, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_string_equal(bag_str(&t->e.r[slot(id)].data), "4\r\nbody\r\n0\r\n\r\n");
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	rig_free(t);
}

/* Rapid reset (CVE-2023-44487): open, reset, repeat -> GOAWAY ENHANCE_YOUR_CALM. */
static void test_rapid_reset(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;
	int32_t id = 0;

	(void)state;
	l.rst_window = 100;
	l.rst_max = 50;
	t = rig_new(&l, false, NULL, 0);
	pump(t);
	for (int i = 0; i < 80; i++) {
		id = req(t, GET_FIELDS("/"), NULL);
		c2s(t); /* HEADERS, then at once RST_STREAM */
		assert_int_equal(
		    nghttp2_submit_rst_stream(t->c.ng, NGHTTP2_FLAG_NONE, id, H2_CANCEL), 0);
	}
	pump(t);
	assert_int_equal(t->feed_rc, -EPROTO);
	assert_true(t->c.goaway);
	assert_int_equal(t->c.goaway_code, H2_ENHANCE_YOUR_CALM);
	assert_false(h2_want_read(t->s));
	assert_false(h2_want_write(t->s));
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_RAPID_RESET);
	assert_int_equal(st.client_resets, 51);
	assert_int_equal(st.goaway_code, H2_ENHANCE_YOUR_CALM);
	/* later input is refused outright */
	assert_int_equal(h2_feed(t->s, (const uint8_t *)"x", 1), -EPROTO);
	/* every stream the engine got was closed for it */
	assert_int_equal(t->e.close_events, t->e.nr_req);
	(void)id;
	rig_free(t);
}

/* Up to rst_max resets in every window of rst_window streams is fine. */
static void test_resets_within_limit(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;

	(void)state;
	l.rst_window = 10;
	l.rst_max = 5;
	t = rig_new(&l, false, NULL, 0);
	t->e.auto_head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	for (int w = 0; w < 5; w++) {
		for (int i = 0; i < 10; i++) {
			int32_t id = req(t, GET_FIELDS("/"), NULL);

			c2s(t);
			if (i < 5)
				assert_int_equal(nghttp2_submit_rst_stream(
						     t->c.ng, NGHTTP2_FLAG_NONE, id, H2_CANCEL),
						 0);
		}
		pump(t);
	}
	assert_int_equal(t->feed_rc, 0);
	assert_false(t->c.goaway);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.client_resets, 25);
	assert_int_equal(st.streams, 50);
	assert_int_equal(st.fail, H2_FAIL_NONE);
	/* one more than allowed in the next window */
	for (int i = 0; i < 6; i++) {
		int32_t id = req(t, GET_FIELDS("/"), NULL);

		c2s(t);
		nghttp2_submit_rst_stream(t->c.ng, NGHTTP2_FLAG_NONE, id, H2_CANCEL);
	}
	pump(t);
	assert_int_equal(t->feed_rc, -EPROTO);
	assert_int_equal(t->c.goaway_code, H2_ENHANCE_YOUR_CALM);
	rig_free(t);
}

/* nghttp2's own time-based bucket is set from the limits too. */
static void test_reset_token_bucket(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;

	(void)state;
	l.rst_max = 1000000;
	l.rst_burst = 10;
	l.rst_rate = 1;
	t = rig_new(&l, false, NULL, 0);
	pump(t);
	for (int i = 0; i < 30 && !t->c.goaway; i++) {
		int32_t id = req(t, GET_FIELDS("/"), NULL);

		c2s(t);
		nghttp2_submit_rst_stream(t->c.ng, NGHTTP2_FLAG_NONE, id, H2_CANCEL);
		pump(t);
	}
	assert_true(t->c.goaway);
	assert_int_not_equal(t->c.goaway_code, H2_NO_ERROR);
	assert_false(h2_want_read(t->s));
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_PROTOCOL);
	assert_int_equal(st.goaway_code, t->c.goaway_code);
	/* the bucket held 10 (one more may refill while the test runs) */
	assert_true(st.client_resets >= 11 && st.client_resets <= 12);
	rig_free(t);
}

static size_t hdr_size(const char *n, const char *v)
{
	return strlen(n) + strlen(v) + 32;
}

/* max_header_list, RFC 9113 6.5.2 accounting: N bytes accepted, N+1 -> 431. */
static void test_header_list_limit(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;
	static char v1[2048], v2[2048];
	size_t base;
	int32_t ok, big, huge;
	static char hv[60000];

	(void)state;
	l.max_header_list = 2048;
	t = rig_new(&l, false, NULL, 0);
	base = hdr_size(":method", "GET") + hdr_size(":scheme", "https") +
	       hdr_size(":authority", "example.com") + hdr_size(":path", "/") +
	       hdr_size("x-pad", "");
	memset(v1, 'a', 2048 - base);
	memset(v2, 'a', 2048 - base + 1);
	ok = req(t, GET_FIELDS("/"), "x-pad", v1, NULL);
	big = req(t, GET_FIELDS("/"), "x-pad", v2, NULL);
	memset(hv, 'h', sizeof(hv) - 1);
	huge = req(t, GET_FIELDS("/"), "x-1", hv, "x-2", hv, NULL);
	pump(t);
	assert_true(t->e.r[slot(ok)].seen);
	assert_refused(t, big, 431);
	assert_refused(t, huge, 431);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.requests, 1);
	/* the connection goes on: HPACK state survived the skipped blocks */
	ok = req(t, GET_FIELDS("/after"), "x-pad", "v", NULL);
	pump(t);
	assert_head(t, ok, "GET /after HTTP/1.1\r\nHost: example.com\r\nx-pad: v\r\n\r\n");
	rig_free(t);
}

static void test_field_count_limit(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct t *t;
	int32_t ok, big;
	nghttp2_nv nv[20];
	static const char *names[] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
				      "a8", "a9", "b0", "b1", "b2", "b3", "b4", "b5"};

	(void)state;
	l.max_fields = 10;
	t = rig_new(&l, false, NULL, 0);
	nv[0] = (nghttp2_nv){(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0};
	nv[1] = (nghttp2_nv){(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0};
	nv[2] = (nghttp2_nv){(uint8_t *)":authority", (uint8_t *)"a", 10, 1, 0};
	nv[3] = (nghttp2_nv){(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0};
	for (int i = 0; i < 11; i++)
		nv[4 + i] = (nghttp2_nv){(uint8_t *)names[i], (uint8_t *)"v", 2, 1, 0};
	ok = nghttp2_submit_request(t->c.ng, NULL, nv, 14, NULL, NULL);
	big = nghttp2_submit_request(t->c.ng, NULL, nv, 15, NULL, NULL);
	pump(t);
	assert_true(t->e.r[slot(ok)].seen);
	assert_refused(t, big, 431);
	rig_free(t);
}

/* CONTINUATION flood (CVE-2024-28182): the session ends. */
static void test_continuation_flood(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;
	static char hv[8][16000];
	nghttp2_nv nv[12];

	(void)state;
	l.max_continuations = 2;
	t = rig_new(&l, false, NULL, 0);
	pump(t);
	nv[0] = (nghttp2_nv){(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0};
	nv[1] = (nghttp2_nv){(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0};
	nv[2] = (nghttp2_nv){(uint8_t *)":authority", (uint8_t *)"a", 10, 1, 0};
	nv[3] = (nghttp2_nv){(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0};
	for (int i = 0; i < 8; i++) {
		memset(hv[i], 'a' + i, sizeof(hv[i]) - 1);
		nv[4 + i] = (nghttp2_nv){(uint8_t *)"x-big", (uint8_t *)hv[i], 5, sizeof(hv[i]) - 1,
					 NGHTTP2_NV_FLAG_NO_INDEX};
	}
	/* ~128 KB of literal fields in 16 KB frames: 7 CONTINUATIONs */
	assert_true(nghttp2_submit_request(t->c.ng, NULL, nv, 12, NULL, NULL) > 0);
	pump(t);
	assert_int_equal(t->feed_rc, -EPROTO);
	assert_true(t->c.goaway);
	assert_int_equal(t->c.goaway_code, H2_ENHANCE_YOUR_CALM);
	assert_int_equal(t->e.nr_req, 0);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_CONTINUATIONS);
	assert_false(h2_want_read(t->s));
	rig_free(t);
}

/* A well-behaved client waits for streams to finish beyond the limit. */
static void test_concurrency_respected(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct t *t;
	int32_t ids[10];
	int done = 0;

	(void)state;
	l.max_concurrent_streams = 3;
	t = rig_new(&l, false, NULL, 0);
	pump(t); /* the client learns the limit first */
	for (int i = 0; i < 10; i++)
		ids[i] = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	assert_int_equal(t->e.nr_req, 3);
	while (done < 10) {
		int n = t->e.nr_req;

		assert_true(n - done <= 3);
		for (; done < n; done++) {
			respond(t, t->e.order[done], "HTTP/1.1 204 No Content\r\n\r\n");
		}
		pump(t);
	}
	for (int i = 0; i < 10; i++) {
		assert_int_equal(t->c.r[slot(ids[i])].status, 204);
		assert_false(t->c.r[slot(ids[i])].rst);
	}
	rig_free(t);
}

/* A client that opens streams before reading our SETTINGS is refused past the limit. */
static void test_concurrency_enforced(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct t *t;
	int32_t ids[6];

	(void)state;
	l.max_concurrent_streams = 3;
	t = rig_new(&l, false, NULL, 0);
	for (int i = 0; i < 6; i++)
		ids[i] = req(t, GET_FIELDS("/"), NULL);
	c2s(t); /* all six before the client has heard of the limit */
	pump(t);
	assert_int_equal(t->e.nr_req, 3);
	for (int i = 3; i < 6; i++)
		assert_stream_reset(t, ids[i], H2_REFUSED_STREAM);
	rig_free(t);
}

/* Not HTTP/2 at all: GOAWAY PROTOCOL_ERROR, then nothing. */
static void test_garbage_preface(void **state)
{
	struct t *t = rig();
	const char *junk = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct h2_stats st;

	(void)state;
	assert_int_equal(h2_feed(t->s, (const uint8_t *)junk, strlen(junk)), -EPROTO);
	assert_true(h2_want_write(t->s));
	assert_false(h2_want_read(t->s));
	s2c(t); /* our SETTINGS, then the GOAWAY, read by a client */
	assert_true(t->c.goaway);
	assert_int_equal(t->c.goaway_code, H2_PROTOCOL_ERROR);
	assert_int_equal(t->c.goaway_last, 0);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_PREFACE);
	assert_int_equal(h2_feed(t->s, (const uint8_t *)junk, 3), -EPROTO);
	assert_false(h2_want_write(t->s));
	rig_free(t);
}

/* A bad frame after a good preface: nghttp2's GOAWAY; known once pulled. */
static void test_bad_frame(void **state)
{
	struct t *t = rig();
	struct h2_stats st;
	uint8_t f[9 + 8];

	(void)state;
	pump(t);
	/* PING with a 7-byte payload: FRAME_SIZE_ERROR */
	raw_frame(f, 7, NGHTTP2_PING, 0, 0);
	memset(f + 9, 0, 8);
	assert_int_equal(h2_feed(t->s, f, 16), 16);
	s2c(t);
	assert_true(t->c.goaway);
	assert_int_equal(t->c.goaway_code, H2_FRAME_SIZE_ERROR);
	assert_false(h2_want_read(t->s));
	assert_int_equal(h2_feed(t->s, f, 16), -EPROTO);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_PROTOCOL);
	assert_int_equal(st.goaway_code, H2_FRAME_SIZE_ERROR);
	rig_free(t);
}

/* Empty DATA frames that end nothing (CVE-2019-9518). */
static void test_empty_frame_flood(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;
	uint8_t f[9], g[10];
	int32_t id;

	(void)state;
	l.max_empty_frames = 20;
	t = rig_new(&l, false, NULL, 0);
	id = (int32_t)nghttp2_session_get_next_stream_id(t->c.ng);
	{
		nghttp2_nv nv[4] = {
		    {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
		    {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
		    {(uint8_t *)":authority", (uint8_t *)"a", 10, 1, 0},
		    {(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0},
		};

		assert_int_equal(
		    nghttp2_submit_headers(t->c.ng, NGHTTP2_FLAG_NONE, -1, NULL, nv, 4, NULL), id);
	}
	pump(t);
	/* a run of 20 is allowed; a frame with data ends the run */
	for (int run = 0; run < 3; run++) {
		for (int i = 0; i < 20; i++)
			assert_int_equal(
			    h2_feed(t->s, raw_frame(f, 0, NGHTTP2_DATA, 0, (uint32_t)id), 9), 9);
		raw_frame(g, 1, NGHTTP2_DATA, 0, (uint32_t)id);
		g[9] = 'd';
		assert_int_equal(h2_feed(t->s, g, 10), 10);
	}
	h2_get_stats(t->s, &st);
	assert_int_equal(st.empty_frames, 60);
	assert_int_equal(st.fail, H2_FAIL_NONE);
	assert_string_equal(bag_str(&t->e.r[slot(id)].dec), "ddd");
	for (int i = 0; i < 20; i++)
		assert_int_equal(h2_feed(t->s, raw_frame(f, 0, NGHTTP2_DATA, 0, (uint32_t)id), 9),
				 9);
	assert_int_equal(h2_feed(t->s, raw_frame(f, 0, NGHTTP2_DATA, 0, (uint32_t)id), 9), -EPROTO);
	s2c(t);
	assert_int_equal(t->c.goaway_code, H2_ENHANCE_YOUR_CALM);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_EMPTY_FRAMES);
	assert_false(h2_want_read(t->s));
	rig_free(t);
}

static void test_ping_flood(void **state)
{
	struct h2_limits l = h2_limits_default;
	struct h2_stats st;
	struct t *t;
	uint8_t f[17];
	int rc = 0;

	(void)state;
	l.max_outbound_ack = 50;
	t = rig_new(&l, false, NULL, 0);
	pump(t);
	raw_frame(f, 8, NGHTTP2_PING, 0, 0);
	memset(f + 9, 'p', 8);
	for (int i = 0; i < 200 && rc >= 0; i++)
		rc = h2_feed(t->s, f, 17);
	assert_int_equal(rc, -EPROTO);
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_FLOOD);
	/* nothing more is sent to it */
	assert_false(h2_want_write(t->s));
	assert_false(h2_want_read(t->s));
	assert_int_equal(h2_pull(t->s, f, sizeof(f)), 0);
	rig_free(t);
}

static void test_settings_too_many_entries(void **state)
{
	struct h2_limits l = h2_limits_default;
	nghttp2_settings_entry iv[12];
	struct t *t;

	(void)state;
	for (int i = 0; i < 12; i++)
		iv[i] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096};
	l.max_settings = 10;
	t = rig_new(&l, false, iv, 12);
	pump(t);
	/* a connection error found inside a frame: known once the GOAWAY is out */
	assert_true(t->c.goaway);
	assert_int_equal(t->c.goaway_code, H2_ENHANCE_YOUR_CALM);
	assert_false(h2_want_read(t->s));
	assert_int_equal(h2_feed(t->s, (const uint8_t *)"x", 1), -EPROTO);
	rig_free(t);
}

static void test_graceful_goaway(void **state)
{
	struct t *t = rig();
	struct h2_stats st;
	int32_t a, b;

	(void)state;
	a = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	assert_int_equal(h2_goaway(t->s, H2_NO_ERROR), 0);
	pump(t);
	assert_true(t->c.goaway);
	assert_int_equal(t->c.goaway_code, H2_NO_ERROR);
	assert_int_equal(t->c.goaway_last, a);
	/* the open stream completes */
	assert_true(h2_want_read(t->s));
	respond(t, a, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n");
	send_all(t, a, "k", true);
	pump(t);
	assert_string_equal(bag_str(&t->c.r[slot(a)].body), "k");
	/* done: nothing more to read */
	assert_false(h2_want_read(t->s));
	assert_false(h2_want_write(t->s));
	h2_get_stats(t->s, &st);
	assert_int_equal(st.fail, H2_FAIL_NONE);
	/* the client may not open more; if it did, nothing reaches the engine */
	b = req(t, GET_FIELDS("/late"), NULL);
	pump(t);
	assert_int_equal(t->e.nr_req, 1);
	assert_int_equal(t->c.r[slot(b)].status, 0);
	rig_free(t);
}

/* Freeing a session closes every stream the engine still holds. */
static void test_free_closes_streams(void **state)
{
	struct t *t = rig();
	int32_t a, b, c;

	(void)state;
	a = req(t, GET_FIELDS("/a"), NULL);
	b = req(t, GET_FIELDS("/b"), NULL);
	c = req(t, GET_FIELDS("/c"), "connection", "close", NULL); /* never the engine's */
	pump(t);
	respond(t, a, "HTTP/1.1 200 OK\r\n\r\n");
	send_all(t, a, "partial", false);
	pump(t);
	h2_session_free(t->s);
	t->s = NULL;
	assert_int_equal(t->e.r[slot(a)].closes, 1);
	assert_int_equal(t->e.r[slot(a)].close_code, H2_CANCEL);
	assert_int_equal(t->e.r[slot(b)].closes, 1);
	assert_int_equal(t->e.r[slot(c)].closes, 0);
	assert_int_equal(t->e.close_events, 2);
	rig_free(t);
}

/* Many streams at once, interleaved bodies both ways, all intact. */
static void test_multiplexing(void **state)
{
	struct t *t = rig();
	static char bodies[20][5000];
	int32_t ids[20];
	char cl[16];

	(void)state;
	for (int i = 0; i < 20; i++) {
		memset(bodies[i], 'a' + i, sizeof(bodies[i]));
		snprintf(cl, sizeof(cl), "%zu", sizeof(bodies[i]));
		ids[i] =
		    reqb(t, bodies[i], sizeof(bodies[i]), ":method", "POST", ":scheme", "https",
			 ":authority", "m.test", ":path", "/m", "content-length", "5000", NULL);
	}
	pump(t);
	for (int i = 19; i >= 0; i--) {
		struct ereq *r = &t->e.r[slot(ids[i])];

		assert_int_equal(r->data.len, 5000);
		assert_memory_equal(r->data.p, bodies[i], 5000);
		assert_int_equal(r->ends, 1);
		respond(t, ids[i], "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
		assert_int_equal(h2_send_data(t->s, ids[i], bodies[19 - i], 5000, true), 5000);
	}
	pump(t);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(t->c.r[slot(ids[i])].body.len, 5000);
		assert_memory_equal(t->c.r[slot(ids[i])].body.p, bodies[19 - i], 5000);
		assert_int_equal(t->e.r[slot(ids[i])].closes, 1);
	}
	(void)cl;
	rig_free(t);
}

/* A chunked body through a small window: consumption counts data, not framing. */
static void test_chunked_backpressure(void **state)
{
	struct h2_limits l = h2_limits_default;
	static char body[100000];
	struct t *t;
	int32_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)(i * 7);
	l.initial_window = 16384;
	l.conn_window = 65535;
	t = rig_new(&l, false, NULL, 0);
	t->c.chunk = 777;
	pump(t);
	id = reqb(t, body, sizeof(body), ":method", "POST", ":scheme", "https", ":authority", "a",
		  ":path", "/", NULL);
	pump(t);
	assert_int_equal(t->e.r[slot(id)].ends, 1);
	assert_int_equal(t->e.r[slot(id)].dec_len, sizeof(body));
	assert_memory_equal(t->e.r[slot(id)].dec.p, body, sizeof(body));
	/* framing was delivered but never counted as consumable */
	assert_true(t->e.r[slot(id)].data.len > sizeof(body));
	assert_int_equal(h2_consume(t->s, id, 1), -EINVAL); /* all consumed already */
	rig_free(t);
}

/* The engine answers from inside on_request: fine for any number of streams. */
static void test_respond_from_callback(void **state)
{
	struct t *t = rig();
	int32_t ids[60];

	(void)state;
	t->e.auto_head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
	t->e.auto_body = "hello";
	for (int i = 0; i < 60; i++)
		ids[i] = req(t, GET_FIELDS("/"), NULL);
	pump(t);
	for (int i = 0; i < 60; i++) {
		assert_int_equal(t->c.r[slot(ids[i])].status, 200);
		assert_string_equal(bag_str(&t->c.r[slot(ids[i])].body), "hello");
		assert_int_equal(t->e.r[slot(ids[i])].closes, 1);
	}
	rig_free(t);
}

/* Random frames after a good preface: every byte is taken or the session ends; no crash. */
static void test_random_frames(void **state)
{
	uint32_t seed = 12345;
	uint8_t out[4096];

	(void)state;
	for (int iter = 0; iter < 300; iter++) {
		struct t *t = rig();
		const uint8_t *p;
		ssize_t n;
		int rc = 0;

		/* the real preface and SETTINGS, and a real request */
		req(t, GET_FIELDS("/"), NULL);
		while ((n = nghttp2_session_mem_send(t->c.ng, &p)) > 0)
			assert_int_equal(h2_feed(t->s, p, (size_t)n), (int)n);
		for (int f = 0; f < 20 && rc >= 0; f++) {
			uint8_t fr[9 + 64];
			uint32_t len;

			seed = seed * 1103515245u + 12345u;
			len = (seed >> 8) % 65;
			raw_frame(fr, len, (uint8_t)((seed >> 16) % 11), (uint8_t)(seed >> 24),
				  (seed >> 4) % 8);
			for (uint32_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				fr[9 + i] = (uint8_t)(seed >> 16);
			}
			rc = h2_feed(t->s, fr, 9 + len);
			assert_true(rc == (int)(9 + len) || rc == -EPROTO);
			while ((n = h2_pull(t->s, out, sizeof(out))) > 0)
				;
			assert_true(n == 0 || n == -EPROTO);
		}
		rig_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_preface_match),
	    cmocka_unit_test(test_new_bad_args),
	    cmocka_unit_test(test_null_args),
	    cmocka_unit_test(test_settings_sent),
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_host_only),
	    cmocka_unit_test(test_host_and_authority),
	    cmocka_unit_test(test_cookies_joined),
	    cmocka_unit_test(test_post_content_length),
	    cmocka_unit_test(test_post_chunked),
	    cmocka_unit_test(test_chunk_framing_exact),
	    cmocka_unit_test(test_empty_chunked_body),
	    cmocka_unit_test(test_post_no_body),
	    cmocka_unit_test(test_content_length_short),
	    cmocka_unit_test(test_content_length_long),
	    cmocka_unit_test(test_content_length_no_data),
	    cmocka_unit_test(test_connection_specific_fields),
	    cmocka_unit_test(test_bad_field_names),
	    cmocka_unit_test(test_bad_field_values),
	    cmocka_unit_test(test_pseudo_headers),
	    cmocka_unit_test(test_bad_scheme_and_path),
	    cmocka_unit_test(test_h1_self_check),
	    cmocka_unit_test(test_options_star_and_absolute_form),
	    cmocka_unit_test(test_connect_tunnel),
	    cmocka_unit_test(test_connect_half_close),
	    cmocka_unit_test(test_response_conversion),
	    cmocka_unit_test(test_response_chunked_and_close),
	    cmocka_unit_test(test_response_no_body),
	    cmocka_unit_test(test_interim_responses),
	    cmocka_unit_test(test_respond_info),
	    cmocka_unit_test(test_stream_ctx),
	    cmocka_unit_test(test_respond_errors),
	    cmocka_unit_test(test_response_flow_control),
	    cmocka_unit_test(test_writable_only_when_blocked),
	    cmocka_unit_test(test_request_backpressure),
	    cmocka_unit_test(test_connection_window),
	    cmocka_unit_test(test_unconsumed_released_on_close),
	    cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_client_reset),
	    cmocka_unit_test(test_engine_reset_mid_body),
	    cmocka_unit_test(test_early_response),
	    cmocka_unit_test(test_request_trailers),
	    cmocka_unit_test(test_rapid_reset),
	    cmocka_unit_test(test_resets_within_limit),
	    cmocka_unit_test(test_reset_token_bucket),
	    cmocka_unit_test(test_header_list_limit),
	    cmocka_unit_test(test_field_count_limit),
	    cmocka_unit_test(test_continuation_flood),
	    cmocka_unit_test(test_concurrency_respected),
	    cmocka_unit_test(test_concurrency_enforced),
	    cmocka_unit_test(test_garbage_preface),
	    cmocka_unit_test(test_bad_frame),
	    cmocka_unit_test(test_empty_frame_flood),
	    cmocka_unit_test(test_ping_flood),
	    cmocka_unit_test(test_settings_too_many_entries),
	    cmocka_unit_test(test_graceful_goaway),
	    cmocka_unit_test(test_free_closes_streams),
	    cmocka_unit_test(test_multiplexing),
	    cmocka_unit_test(test_chunked_backpressure),
	    cmocka_unit_test(test_respond_from_callback),
	    cmocka_unit_test(test_random_frames),
	};

	return cmocka_run_group_tests_name("h2", tests, NULL, NULL);
}
