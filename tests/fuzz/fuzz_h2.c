// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the HTTP/2 server layer (user/http/h2.c) fed what a
 * client might send after a valid connection preface and empty SETTINGS
 * (prepended here, so the fuzzer spends its time on frames). Input: one
 * config byte, then client bytes.
 *
 * Config byte: bit 0 tiny limits (windows, queues, header list, reset and
 * empty-frame bounds, so every limit is reached quickly); bit 1 the engine
 * answers each request at once from on_request; bit 2 it consumes body
 * bytes as they come (else never: flow control must hold); bit 3 it resets
 * every stream on its first body bytes. Split points for h2_feed and the
 * h2_pull buffer size follow a hash of the input.
 *
 * Invariants checked (an abort() is the finding):
 *  - no crash, no sanitizer report;
 *  - h2_feed takes every byte or says -EPROTO, and stays -EPROTO after;
 *  - every head given to on_request is one whole head h1_parse_request()
 *    accepts, and the body bytes that follow it decode (h1_body_feed)
 *    without error; on_request_end comes only once the body is complete;
 *  - callbacks come in order per stream: on_request, data, end, close -
 *    on_stream_close exactly once, nothing after it;
 *  - with no consumption, an engine never gets more body data on a stream
 *    than the stream window allows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"
#include "http/h2.h"

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define FZ_STREAMS 64 /* streams tracked: ids 1..127 */

enum { FZ_NONE = 0, FZ_OPEN, FZ_ENDED, FZ_CLOSED };

struct fz_stream {
	int state;
	bool tunnel;
	struct h1_body body;
	uint64_t data;	   /* decoded data bytes given */
	uint64_t consumed; /* of those, consumed */
};

struct fz {
	struct h2_session *s;
	uint8_t cfg;
	uint32_t window;
	struct fz_stream st[FZ_STREAMS];
};

static struct fz_stream *fz_stream(struct fz *z, int32_t id)
{
	FZ_CHECK(id > 0 && (id & 1));
	if ((id - 1) / 2 >= FZ_STREAMS)
		return NULL;
	return &z->st[(id - 1) / 2];
}

static void fz_on_request(void *arg, int32_t id, const char *head, size_t len)
{
	struct fz *z = arg;
	struct fz_stream *st = fz_stream(z, id);
	struct h1_msg *m = malloc(sizeof(*m));
	static const char rsp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";

	FZ_CHECK(m);
	h1_msg_init(m, NULL);
	FZ_CHECK(h1_parse_request(m, head, len) == 0);
	FZ_CHECK(m->head_len == len);
	if (st) {
		FZ_CHECK(st->state == FZ_NONE);
		st->state = FZ_OPEN;
		st->tunnel = m->meth == H1_METH_CONNECT;
		h1_body_init(&st->body, m);
	}
	free(m);
	if (z->cfg & 0x02) {
		FZ_CHECK(h2_respond(z->s, id, rsp, sizeof(rsp) - 1) == 0);
		FZ_CHECK(h2_send_data(z->s, id, "ok", 2, true) == 2);
	}
}

static void fz_on_data(void *arg, int32_t id, const char *data, size_t len)
{
	struct fz *z = arg;
	struct fz_stream *st = fz_stream(z, id);
	struct h1_body_out o;
	size_t off = 0, got = 0;

	FZ_CHECK(len > 0);
	if (!st)
		return;
	FZ_CHECK(st->state == FZ_OPEN);
	if (st->tunnel) {
		got = len;
	} else {
		while (off < len) {
			FZ_CHECK(!h1_body_done(&st->body));
			FZ_CHECK(h1_body_feed(&st->body, data + off, len - off, &o) == 0);
			got += o.data_len;
			off += o.consumed;
		}
	}
	st->data += got;
	if (!(z->cfg & 0x04))
		FZ_CHECK(st->data <= z->window);
	if (z->cfg & 0x08) {
		FZ_CHECK(h2_reset(z->s, id, H2_CANCEL) == 0);
		return;
	}
	if (z->cfg & 0x04) {
		FZ_CHECK(h2_consume(z->s, id, st->data - st->consumed) == 0);
		st->consumed = st->data;
	}
}

static void fz_on_end(void *arg, int32_t id)
{
	struct fz_stream *st = fz_stream(arg, id);

	if (!st)
		return;
	FZ_CHECK(st->state == FZ_OPEN);
	FZ_CHECK(st->tunnel || h1_body_done(&st->body));
	st->state = FZ_ENDED;
}

static void fz_on_writable(void *arg, int32_t id)
{
	struct fz_stream *st = fz_stream(arg, id);

	FZ_CHECK(!st || st->state == FZ_OPEN || st->state == FZ_ENDED);
}

static void fz_on_close(void *arg, int32_t id, uint32_t code)
{
	struct fz_stream *st = fz_stream(arg, id);

	(void)code;
	if (!st)
		return;
	FZ_CHECK(st->state == FZ_OPEN || st->state == FZ_ENDED);
	st->state = FZ_CLOSED;
}

static const struct h2_callbacks fz_cb = {
    .on_request = fz_on_request,
    .on_request_data = fz_on_data,
    .on_request_end = fz_on_end,
    .on_stream_writable = fz_on_writable,
    .on_stream_close = fz_on_close,
};

static uint64_t fz_hash(const uint8_t *d, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--) {
		h ^= *d++;
		h *= 1099511628211ull;
	}
	return h;
}

static void fz_drain(struct fz *z, size_t cap)
{
	uint8_t out[4096];
	ssize_t n;

	while ((n = h2_pull(z->s, out, cap)) > 0)
		FZ_CHECK((size_t)n <= cap);
	FZ_CHECK(n == 0 || n == -EPROTO);
}

static int fz_feed(struct fz *z, const uint8_t *d, size_t n, int *dead)
{
	int rc;

	if (*dead)
		return -EPROTO;
	rc = h2_feed(z->s, d, n);
	FZ_CHECK(rc == (int)n || rc == -EPROTO);
	if (rc < 0)
		*dead = 1;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
					 "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	struct h2_limits lim = h2_limits_default;
	struct fz *z;
	uint64_t h;
	size_t off = 0, cap;
	int dead = 0;

	if (!size)
		return 0;
	z = calloc(1, sizeof(*z));
	FZ_CHECK(z);
	z->cfg = data[0];
	if (z->cfg & 0x01) {
		lim.initial_window = 1000;
		lim.conn_window = 65535;
		lim.max_header_list = 1024;
		lim.max_fields = 4;
		lim.send_queue = 16;
		lim.rst_window = 4;
		lim.rst_max = 2;
		lim.max_empty_frames = 2;
		lim.max_concurrent_streams = 3;
	}
	z->window = lim.initial_window > 65535 ? lim.initial_window : 65535;
	z->s = h2_session_new(&lim, &fz_cb, z);
	FZ_CHECK(z->s);
	h = fz_hash(data, size);
	cap = 1 + h % 4096;
	fz_feed(z, preface, sizeof(preface) - 1, &dead);
	FZ_CHECK(!dead);
	fz_drain(z, cap);
	data++;
	size--;
	while (off < size) {
		size_t n = 1 + (h >> 12) % 512;

		h = h * 6364136223846793005ull + 1442695040888963407ull;
		if (n > size - off)
			n = size - off;
		fz_feed(z, data + off, n, &dead);
		fz_drain(z, cap);
		off += n;
	}
	if (dead)
		FZ_CHECK(h2_feed(z->s, data, 0) == -EPROTO && !h2_want_read(z->s));
	h2_session_free(z->s);
	/* every stream the engine got was closed, exactly once */
	for (int i = 0; i < FZ_STREAMS; i++)
		FZ_CHECK(z->st[i].state == FZ_NONE || z->st[i].state == FZ_CLOSED);
	free(z);
	return 0;
}
