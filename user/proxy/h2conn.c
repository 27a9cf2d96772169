// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/2 toward clients on the reverse proxy: the glue between the h2
 * layer (user/http/h2.c: nghttp2, no I/O) and the HTTP/1.1 engine
 * (http.c), which runs every request whatever it came on.
 *
 * A client connection that speaks h2 (its TLS picked "h2" by ALPN, or an
 * h2c listener saw the prior-knowledge preface) goes to CS_H2: its socket
 * carries only frames, read into c->in and fed to h2_feed(), pulled from
 * h2_pull() into c->out and written. Each request stream becomes a
 * connection of its own with no socket (fd -1, h2s set, h2p its parent),
 * which the engine drives like an HTTP/1.1 client that sends one request:
 *
 *   on_request(head)         stream conn made, the head put in its c->in
 *   on_request_data(bytes)   into its c->in when that has room, else pend
 *   engine conn_rd           hp_h2s_rd: pend -> c->in as room allows
 *   engine body_pump         hp_h2s_consumed: data bytes sent upstream
 *                            reopen the client's window (h2_consume)
 *   engine conn_wr(c->out)   hp_h2s_wr: the HTTP/1.1 response the engine
 *                            wrote is read back, head -> h2_respond, body
 *                            -> h2_send_data (h2_limits.send_queue bounds it)
 *   engine closes the stream hp_h2s_close: END_STREAM, or RST_STREAM when
 *                            the answer was cut short
 *   on_stream_close          a stream conn still running dies (client reset)
 *
 * The engine never chunk-frames toward a stream (rs_chunked stays off) and
 * never keeps one alive, so the body in c->out is the decoded one, counted
 * by Content-Length or ended by the stream's clean close.
 *
 * Callbacks run inside h2_feed() and h2_pull(): they only queue bytes and
 * mark streams dirty; the dirty streams are driven after the call returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/h2.h"
#include "proxy/http_int.h"
#include "util/log.h"

/*
 * Request bytes a stream may hold beyond what its c->in takes: the window
 * the client was given plus the chunk framing the layer adds (a few bytes
 * per DATA frame). More is a client that ignores flow control.
 */
#define H2S_PEND_MAX(lim) ((lim)->initial_window * 2u + (64u << 10))
#define H2_OUT_BUF	  (64u << 10) /* frames pulled per write */
#define H2_GOAWAY_MS	  1000	      /* after a GOAWAY, a client that does not read is cut */

enum h2s_rs {
	RS_HEAD = 0, /* the next bytes in c->out are a response head */
	RS_BODY,     /* rs_left more body bytes, then the stream ends */
	RS_EOF,	     /* body bytes until the stream conn closes cleanly */
	RS_DONE,     /* the stream has ended toward the client */
};

/* A stream conn's link to its HTTP/2 connection. */
struct hp_h2s {
	int32_t sid;
	enum h2s_rs rs;
	bool gone;  /* the layer closed the stream: no h2_* call for it any more */
	bool dirty; /* on the parent's dirty list */
	uint64_t rs_left;
	struct hp_buf pend;	     /* request bytes c->in had no room for */
	struct hp_conn *next, *prev; /* the parent's streams */
	struct hp_conn *dnext;	     /* the parent's dirty list */
};

/* A client connection in CS_H2. */
struct hp_h2 {
	struct h2_session *s;
	struct h2_limits lim;
	struct hp_conn *streams;
	struct hp_conn *dirty, *dirty_tail;
	uint32_t nr_streams;
	bool broken; /* h2_feed/h2_pull failed: flush the GOAWAY and close */
	bool dry;    /* h2_pull failed: nothing more comes from it */
	bool linger; /* all said and half-closed: draining the client until EOF */
	bool goaway; /* we sent GOAWAY (idle timeout) */
	bool more;   /* a stream kicked while the connection was being driven */
};

/* ------------------------------------------------------------------ streams */

/* The stream conn of a stream: the layer keeps it for us (NULL once it closed). */
static struct hp_conn *h2_stream(struct hp_conn *p, int32_t sid)
{
	return h2_stream_ctx(p->h2->s, sid);
}

static void h2_mark(struct hp_conn *p, struct hp_conn *sc)
{
	struct hp_h2 *h = p->h2;

	if (sc->h2s->dirty)
		return;
	sc->h2s->dirty = true;
	sc->h2s->dnext = NULL;
	if (h->dirty_tail)
		h->dirty_tail->h2s->dnext = sc;
	else
		h->dirty = sc;
	h->dirty_tail = sc;
}

static void h2_unlink(struct hp_conn *p, struct hp_conn *sc)
{
	struct hp_h2 *h = p->h2;
	struct hp_h2s *hs = sc->h2s;

	if (hs->prev)
		hs->prev->h2s->next = hs->next;
	else
		h->streams = hs->next;
	if (hs->next)
		hs->next->h2s->prev = hs->prev;
	if (hs->dirty) {
		struct hp_conn **pp = &h->dirty, *last = NULL;

		while (*pp && *pp != sc) {
			last = *pp;
			pp = &(*pp)->h2s->dnext;
		}
		if (*pp)
			*pp = hs->dnext;
		if (h->dirty_tail == sc)
			h->dirty_tail = last;
		hs->dirty = false;
	}
	h->nr_streams--;
	sc->h2p = NULL;
}

static void cb_request(void *arg, int32_t sid, const char *head, size_t len)
{
	struct hp_conn *p = arg, *sc;
	struct hp_worker *w = p->w;
	struct hp_h2 *h = p->h2;

	sc = calloc(1, sizeof(*sc) + sizeof(struct hp_h2s));
	if (!sc || hp_buf_get(w, &sc->in) || hp_buf_append(&sc->in, head, len)) {
		if (sc)
			hp_buf_put(w, &sc->in);
		free(sc);
		h2_reset(h->s, sid, H2_INTERNAL_ERROR);
		return;
	}
	sc->h2s = (struct hp_h2s *)(sc + 1);
	sc->h2s->sid = sid;
	sc->w = w;
	sc->l = p->l;
	sc->fd = -1;
	sc->peer = p->peer;
	sc->local = p->local;
	sc->h2p = p;
	sc->st = CS_IDLE;
	sc->rd_ready = true;
	sc->h2s->next = h->streams;
	if (h->streams)
		h->streams->h2s->prev = sc;
	h->streams = sc;
	h->nr_streams++;
	w->tot.h2_streams++;
	h2_stream_set_ctx(h->s, sid, sc);
	h2_mark(p, sc);
}

static void cb_request_data(void *arg, int32_t sid, const char *data, size_t len)
{
	struct hp_conn *p = arg, *sc = h2_stream(p, sid);
	struct hp_h2s *hs;

	if (!sc)
		return;
	hs = sc->h2s;
	/* straight in when nothing waits before it; appending moves no byte the engine holds */
	if (!hp_buf_data(&hs->pend) && sc->in.p && hp_buf_room(&sc->in) >= len) {
		memcpy(sc->in.p + sc->in.len, data, len);
		sc->in.len += (uint32_t)len;
	} else if (hp_buf_data(&hs->pend) + len > H2S_PEND_MAX(&p->h2->lim) ||
		   (!hs->pend.p && hp_buf_get(p->w, &hs->pend)) ||
		   hp_buf_append(&hs->pend, data, len)) {
		h2_reset(p->h2->s, sid, H2_ENHANCE_YOUR_CALM);
		if (sc->t)
			sc->t->verdict = "h2-overflow";
		sc->dead = true;
	}
	sc->rd_ready = true;
	h2_mark(p, sc);
}

static void cb_stream_writable(void *arg, int32_t sid)
{
	struct hp_conn *p = arg, *sc = h2_stream(p, sid);

	if (!sc)
		return;
	sc->wr_blocked = false;
	h2_mark(p, sc);
}

static void cb_stream_close(void *arg, int32_t sid, uint32_t code)
{
	struct hp_conn *p = arg, *sc = h2_stream(p, sid);

	if (!sc)
		return; /* its conn is gone already: the usual end */
	sc->h2s->gone = true;
	h2_mark(p, sc);
	/* the answer went out whole: the engine finishes on its own (and may reuse the upstream) */
	if (code == H2_NO_ERROR && sc->h2s->rs == RS_DONE)
		return;
	/* the client reset it (or the layer did, late): the stream conn stops */
	if (sc->t && !sc->t->verdict)
		sc->t->verdict = "client-reset";
	sc->dead = true;
}

/* Drives the streams that something happened to. True when any ran. */
static bool h2_run_dirty(struct hp_conn *p)
{
	struct hp_h2 *h = p->h2;
	bool ran = false;

	while (h->dirty) {
		struct hp_conn *sc = h->dirty;

		h->dirty = sc->h2s->dnext;
		if (!h->dirty)
			h->dirty_tail = NULL;
		sc->h2s->dirty = false;
		ran = true;
		hp_conn_progress(sc); /* may close and free sc */
	}
	return ran;
}

/* ------------------------------------------------------------------ the stream side */

int hp_h2s_rd(struct hp_conn *c, struct hp_buf *b, uint64_t *count)
{
	struct hp_h2s *hs = c->h2s;
	uint32_t n = hp_buf_data(&hs->pend), room = hp_buf_room(b);

	(void)count; /* the connection's reads counted these bytes */
	if (n > room)
		n = room;
	if (n) {
		memcpy(b->p + b->len, hs->pend.p + hs->pend.off, n);
		b->len += n;
		hs->pend.off += n;
	}
	c->rd_ready = hp_buf_data(&hs->pend) > 0;
	if (hs->pend.p && !hp_buf_data(&hs->pend))
		hp_buf_put(c->w, &hs->pend);
	return n ? 1 : 0;
}

void hp_h2s_consumed(struct hp_conn *c, uint64_t n)
{
	if (!c->h2p || c->h2s->gone)
		return;
	h2_consume(c->h2p->h2->s, c->h2s->sid, (size_t)n);
	hp_h2_kick(c->h2p); /* the WINDOW_UPDATE goes out */
}

/*
 * The response head at the front of b, as the engine wrote it (one head,
 * CRLF line ends, no blank line before its end), to the layer, which parses
 * it and says what body follows. 1 = taken, 0 = not whole yet, -errno.
 */
static int h2s_head(struct hp_conn *c, struct h2_session *s, struct hp_buf *b)
{
	struct hp_h2s *hs = c->h2s;
	struct h2_resp_info ri;
	const char *p = b->p + b->off, *end;
	size_t len;
	int rc;

	end = memmem(p, hp_buf_data(b), "\r\n\r\n", 4);
	if (!end)
		return 0; /* heads are written whole: not yet there */
	len = (size_t)(end - p) + 4;
	rc = h2_respond_info(s, hs->sid, p, len, &ri);
	if (rc) {
		pr_debug("http %s: h2 stream %d: response refused: %s", c->l->lc->name, hs->sid,
			 strerror(-rc));
		return rc;
	}
	b->off += (uint32_t)len;
	if (!ri.final)
		return 1; /* interim: the final head follows */
	if (ri.ended) {
		hs->rs = RS_DONE; /* the HEADERS ended the stream */
	} else if (ri.has_len) {
		hs->rs = RS_BODY;
		hs->rs_left = ri.len;
	} else {
		hs->rs = RS_EOF;
	}
	return 1;
}

int hp_h2s_wr(struct hp_conn *c, struct hp_buf *b, uint64_t *count)
{
	struct hp_h2s *hs = c->h2s;
	struct h2_session *s;
	bool moved = false;
	int rc;

	(void)count; /* the connection's writes count the frames */
	if (!c->h2p || hs->gone)
		return hp_buf_data(b) ? -1 : 0; /* nobody to answer any more */
	s = c->h2p->h2->s;
	while (hp_buf_data(b) && !c->wr_blocked) {
		uint32_t avail = hp_buf_data(b);
		ssize_t n;

		if (hs->rs == RS_HEAD) {
			rc = h2s_head(c, s, b);
			if (rc < 0)
				return -1;
			if (!rc)
				break;
			moved = true;
			continue;
		}
		if (hs->rs == RS_DONE) {
			b->off = b->len; /* nothing follows an ended stream */
			break;
		}
		if (hs->rs == RS_BODY && avail > hs->rs_left)
			avail = (uint32_t)hs->rs_left;
		n = h2_send_data(s, hs->sid, b->p + b->off, avail,
				 hs->rs == RS_BODY && avail == hs->rs_left);
		if (n == -EAGAIN) {
			c->wr_blocked = true;
			break;
		}
		if (n < 0)
			return -1;
		b->off += (uint32_t)n;
		moved |= n > 0;
		if (hs->rs == RS_BODY) {
			hs->rs_left -= (uint64_t)n;
			if (!hs->rs_left)
				hs->rs = RS_DONE;
		}
		if ((uint32_t)n < avail)
			c->wr_blocked = true; /* the stream's queue is full: on_stream_writable */
	}
	if (b->off == b->len)
		b->off = b->len = 0;
	if (moved)
		hp_h2_kick(c->h2p);
	return moved ? 1 : 0;
}

void hp_h2s_close(struct hp_conn *c)
{
	struct hp_h2s *hs = c->h2s;
	struct hp_conn *p = c->h2p;

	hp_buf_put(c->w, &hs->pend);
	if (!p)
		return; /* the connection went first */
	if (!hs->gone) {
		struct h2_session *s = p->h2->s;

		if (hs->rs == RS_EOF && c->clean)
			h2_send_data(s, hs->sid, NULL, 0, true);
		else if (hs->rs != RS_DONE || hp_buf_data(&c->out))
			h2_reset(s, hs->sid, H2_INTERNAL_ERROR); /* cut short */
	}
	h2_stream_set_ctx(p->h2->s, hs->sid, NULL); /* its later callbacks find nothing */
	h2_unlink(p, c);
	hp_h2_kick(p);
}

/* ------------------------------------------------------------------ the connection */

int hp_h2_start(struct hp_conn *c)
{
	static const struct h2_callbacks cb = {
	    .on_request = cb_request,
	    .on_request_data = cb_request_data,
	    .on_stream_writable = cb_stream_writable,
	    .on_stream_close = cb_stream_close,
	};
	struct hp_worker *w = c->w;
	struct hp_h2 *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lim = h2_limits_default;
	h->lim.h1 = &hp_conn_http(c)->limits;
	h->s = h2_session_new(&h->lim, &cb, c);
	if (!h->s) {
		free(h);
		return -errno;
	}
	c->h2 = h;
	c->st = CS_H2;
	c->rd_ready = true; /* the preface may be in c->in, or decrypted in OpenSSL */
	w->tot.h2_conns++;
	hp_conn_deadline(c, hp_conn_http(c)->idle_timeout_ms);
	return 0;
}

/* Pulls frames into c->out and writes them; true when bytes went. */
static bool h2_flush(struct hp_conn *c, bool *dead)
{
	struct hp_h2 *h = c->h2;
	bool moved = false;
	int rc;

	while (!c->wr_blocked) {
		/* a broken session still has its GOAWAY to give */
		if (!hp_buf_data(&c->out) && !h->dry && h2_want_write(h->s)) {
			ssize_t n;

			if (hp_buf_get(c->w, &c->out) || hp_buf_grow(&c->out, H2_OUT_BUF)) {
				*dead = true;
				return moved;
			}
			n = h2_pull(h->s, (uint8_t *)c->out.p, c->out.cap);
			if (n < 0)
				h->broken = h->dry = true;
			else
				c->out.len = (uint32_t)n;
		}
		if (!hp_buf_data(&c->out))
			break;
		rc = hp_conn_wr(c, &c->out, &c->w->tot.bytes_out);
		if (rc < 0) {
			*dead = true;
			return moved;
		}
		if (!rc)
			break;
		moved = true;
	}
	return moved;
}

bool hp_h2_step(struct hp_conn *c)
{
	struct hp_h2 *h = c->h2;
	const struct cfg_http *hc = hp_conn_http(c);
	bool moved = false, dead = false;
	int rc;

	h->more = false;
	if (h->linger) {
		/* read and drop until the client closes too (or H2_GOAWAY_MS passes) */
		while (c->rd_ready && !c->rd_eof) {
			if (hp_buf_get(c->w, &c->in) ||
			    hp_conn_rd(c, &c->in, &c->w->tot.bytes_in) < 0)
				c->rd_eof = true;
			c->in.off = c->in.len = 0;
		}
		if (c->rd_eof)
			c->dead = true;
		return false;
	}
	if (c->rd_ready && !c->rd_eof && !h->broken && !hp_buf_data(&c->in)) {
		if (hp_buf_get(c->w, &c->in)) {
			c->dead = true;
			return false;
		}
		rc = hp_conn_rd(c, &c->in, &c->w->tot.bytes_in);
		if (rc < 0)
			c->rd_eof = true;
		moved |= rc != 0;
	}
	if (hp_buf_data(&c->in)) {
		if (!h->broken &&
		    h2_feed(h->s, (const uint8_t *)c->in.p + c->in.off, hp_buf_data(&c->in)) < 0)
			h->broken = true;
		c->in.off = c->in.len = 0;
		moved = true;
	}
	moved |= h2_run_dirty(c);
	moved |= h2_flush(c, &dead);
	/* pulling may close streams or reopen their queues */
	moved |= h2_run_dirty(c);
	if (dead || c->rd_eof) {
		/* an HTTP/2 client does not half-close: EOF ends every stream */
		c->dead = true;
		return false;
	}
	if (hp_buf_data(&c->out) == 0 && (h->dry || !h2_want_write(h->s)) &&
	    (h->broken || !h2_want_read(h->s))) {
		/*
		 * All said (a GOAWAY last). Closing now, with client bytes unread,
		 * would make the kernel answer with a RST that can destroy the
		 * GOAWAY still in flight: half-close and drain instead.
		 */
		h->linger = true;
		shutdown(c->fd, SHUT_WR);
		hp_conn_deadline(c, H2_GOAWAY_MS);
		c->rd_ready = true;
		return true;
	}
	/* no stream: the keep-alive wait; a stream's own timers cover the rest */
	if (!h->nr_streams && !h->goaway && (moved || !c->deadline))
		hp_conn_deadline(c, hc->idle_timeout_ms);
	else if (h->nr_streams && !h->goaway)
		c->deadline = 0;
	return moved || h->more;
}

uint32_t hp_h2_interest(struct hp_conn *c)
{
	struct hp_h2 *h = c->h2;
	uint32_t ev = 0;

	if (!c->rd_eof && (h->linger || (!h->broken && h2_want_read(h->s))))
		ev |= EV_READ;
	if (c->wr_blocked)
		ev |= EV_WRITE;
	return ev;
}

void hp_h2_timeout(struct hp_conn *c)
{
	struct hp_h2 *h = c->h2;

	if (h->linger || h->goaway || h->nr_streams || c->wr_blocked) {
		c->dead = true; /* the GOAWAY went unread, or the client stopped reading */
		return;
	}
	/* idle: say so, let the client see it, then close (RFC 9113 6.8) */
	h->goaway = true;
	h2_goaway(h->s, H2_NO_ERROR);
	hp_conn_deadline(c, H2_GOAWAY_MS);
}

void hp_h2_kick(struct hp_conn *c)
{
	if (c->in_progress) {
		c->h2->more = true;
		return;
	}
	/*
	 * Later in this loop round: the other streams whose upstreams answered
	 * in the same epoll batch add their frames, and one write takes all.
	 */
	hp_conn_defer(c);
}

void hp_h2_free(struct hp_conn *c)
{
	struct hp_h2 *h = c->h2;

	if (!h)
		return;
	/* the streams go first, unlinked so they do not call back into the session */
	while (h->streams) {
		struct hp_conn *sc = h->streams;

		h2_stream_set_ctx(h->s, sc->h2s->sid, NULL);
		h2_unlink(c, sc);
		if (sc->t && !sc->t->verdict)
			sc->t->verdict = "client-gone";
		sc->h2s->gone = true;
		hp_conn_close(sc);
	}
	h2_session_free(h->s); /* no stream left for its on_stream_close */
	free(h);
	c->h2 = NULL;
}
