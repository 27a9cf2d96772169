/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP/2 toward clients (RFC 9113), server side, multiplexed onto the
 * proxy's HTTP/1.1 machinery. Pure: no sockets, no global state; nghttp2
 * does every bit of framing, HPACK and flow-control arithmetic, this layer
 * only translates.
 *
 * Each client stream becomes an HTTP/1.1-shaped exchange the engine runs as
 * it runs a request read from an HTTP/1.1 connection:
 *
 *   client HEADERS (+CONTINUATION) -> validated -> on_request(head text)
 *   "GET /p HTTP/1.1\r\nHost: a\r\n...\r\n\r\n": h1_parse_request() it
 *   client DATA -> on_request_data(bytes) that follow that head, framed as
 *   the head says (Content-Length, or chunked when the client gave no
 *   length), then on_request_end(); feed them to h1_body_feed() as usual
 *   engine: h2_respond(HTTP/1.1 response head text) -> HEADERS
 *   engine: h2_send_data(decoded body bytes, end) -> DATA
 *   stream gone (ended, reset by either side) -> on_stream_close()
 *
 * The connection, as the integrator drives it:
 *
 *   s = h2_session_new(&lim, &cb, arg);      (queues our SETTINGS)
 *   on readable: n = read(fd, buf); rc = h2_feed(s, buf, n);
 *                rc == -EPROTO: stop reading, flush h2_pull, close
 *   while (h2_want_write(s)) { n = h2_pull(s, out, sizeof(out));
 *                              write it; on EAGAIN keep the rest, wait }
 *   close when !h2_want_read(s) && !h2_want_write(s)
 *
 * Over TLS the session starts when ALPN picked "h2". Over cleartext (h2c
 * with prior knowledge, RFC 9113 3.3) it is the same layer over a plain
 * socket: peek at the first bytes with h2_preface_match() before giving
 * them to the HTTP/1.1 parser (which would refuse "PRI * HTTP/2.0" as a bad
 * request); on H2_PREFACE_YES feed everything read so far, preface
 * included, to h2_feed(): nghttp2 checks the preface itself. The HTTP/1.1
 * "Upgrade: h2c" dance is not supported (RFC 9113 deprecates it).
 *
 * What nghttp2 1.52 (Debian 1.52.0-1+deb12u3) validates by itself, with
 * HTTP messaging left on, each a stream error PROTOCOL_ERROR (RST_STREAM)
 * unless noted - this layer relies on it and does not repeat it (the
 * tests show each one):
 *  - pseudo-header fields: only :method :scheme :authority :path (and
 *    :protocol, refused here because we never send
 *    SETTINGS_ENABLE_CONNECT_PROTOCOL), each at most once, all before the
 *    regular fields, none in trailers; :method a token; :path starting
 *    with '/', or '*' for OPTIONS; :authority and host non-empty, of
 *    authority characters, host at most once; RFC 9113 8.3.1: a request
 *    carries :method, :scheme, :path and :authority or host, a CONNECT
 *    :method and :authority only;
 *  - field names: lowercase token characters; values: no NUL, CR, LF or
 *    other CTL but HTAB, no leading/trailing SP or HTAB (RFC 9113 8.2.1).
 *    An invalid field resets the stream, never silently dropped: no
 *    on_invalid_header callback is installed;
 *  - connection-specific fields (RFC 9113 8.2.2): Connection, Keep-Alive,
 *    Proxy-Connection, Transfer-Encoding, Upgrade; TE other than
 *    "trailers";
 *  - content-length: one value, digits; the DATA received must add up to
 *    it (a byte too many never reaches on_request_data; too few at
 *    END_STREAM resets the stream);
 *  - trailers: END_STREAM required, no pseudo-header fields;
 *  - stream states, stream ids, frame sizes, flow-control windows, HPACK,
 *    the connection preface (connection errors: GOAWAY);
 *  - max concurrent streams: a stream over our SETTINGS value is refused
 *    with REFUSED_STREAM before the client has acknowledged them, a
 *    connection error after;
 *  - abuse, from Debian's backports of the CVE-2023-44487 and
 *    CVE-2024-28182 fixes: a time-based token bucket on received
 *    RST_STREAM (GOAWAY INTERNAL_ERROR when empty; note that streams
 *    opened before that GOAWAY is pulled still reach the engine), a cap on
 *    CONTINUATION frames per header block; and a cap on SETTINGS entries
 *    (GOAWAY ENHANCE_YOUR_CALM), on SETTINGS/PING ACKs and RST_STREAMs a
 *    client that does not read makes us queue (the session is dropped).
 *    PRIORITY frames cost nothing: we send SETTINGS_NO_RFC7540_PRIORITIES.
 *
 * What this layer adds: a :scheme of http or https (400 otherwise); a
 * host that names another entity than :authority (RFC 9113 8.3.1: 400); a
 * header list over max_header_list bytes (RFC 9113 6.5.2 accounting: name
 * + value + 32 per field, pseudo-headers included) or over max_fields
 * fields is answered 431 - counted as it arrives, so the rest of an
 * oversized block is only decoded (HPACK needs that), never stored; the
 * head it writes must parse back whole with h1_parse_request() under
 * lim->h1, else the layer answers the parser's status (400, 414, 431, ...);
 * a client resetting more than rst_max of every rst_window streams it
 * opens gets GOAWAY ENHANCE_YOUR_CALM at once (deterministic, and input
 * after it is ignored); so does a run of more than max_empty_frames DATA
 * frames that carry nothing and end nothing (CVE-2019-9518). The layer's
 * own answers (400/431) never reach the engine: no on_request, no
 * on_stream_close.
 *
 * When a response ends before its request did (an early 413, a 401
 * without reading the upload), the layer sends RST_STREAM(NO_ERROR) after
 * it, as RFC 9113 8.1 allows, so the client stops uploading: the engine
 * gets on_stream_close(H2_NO_ERROR) without on_request_end. Not for
 * CONNECT, whose two directions end independently.
 *
 * Callbacks run inside h2_feed() and h2_pull() (and h2_session_free() for
 * on_stream_close). They may call h2_respond, h2_send_data, h2_reset,
 * h2_consume and h2_goaway, never h2_feed, h2_pull or h2_session_free.
 */
#ifndef XDP_HTTP_H2_H
#define XDP_HTTP_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/h1.h"

/* RFC 9113 7: error codes for RST_STREAM and GOAWAY. */
#define H2_NO_ERROR	       0x0u
#define H2_PROTOCOL_ERROR      0x1u
#define H2_INTERNAL_ERROR      0x2u
#define H2_FLOW_CONTROL_ERROR  0x3u
#define H2_SETTINGS_TIMEOUT    0x4u
#define H2_STREAM_CLOSED       0x5u
#define H2_FRAME_SIZE_ERROR    0x6u
#define H2_REFUSED_STREAM      0x7u
#define H2_CANCEL	       0x8u
#define H2_COMPRESSION_ERROR   0x9u
#define H2_CONNECT_ERROR       0xau
#define H2_ENHANCE_YOUR_CALM   0xbu
#define H2_INADEQUATE_SECURITY 0xcu
#define H2_HTTP_1_1_REQUIRED   0xdu

/* h2_limits.flags */
/*
 * Write the request target in absolute-form ("GET https://a/p HTTP/1.1",
 * Host still added) instead of origin-form: for an engine that routes like
 * a forward proxy. CONNECT stays in authority-form, "OPTIONS *" as is.
 */
#define H2_O_ABSOLUTE_FORM 0x1u

/*
 * Limits and options. The first four go out in our SETTINGS. Start from
 * h2_limits_default and change what differs; h2_session_new refuses values
 * out of range (noted per field).
 */
struct h2_limits {
	uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS: 100; >= 1 */
	uint32_t initial_window;	 /* SETTINGS_INITIAL_WINDOW_SIZE, per stream: 256 KiB;
					  * <= 2^31-1 */
	uint32_t max_frame_size;	 /* SETTINGS_MAX_FRAME_SIZE: 16 KiB; 16384..2^24-1 */
	uint32_t max_header_list;	 /* SETTINGS_MAX_HEADER_LIST_SIZE, enforced -> 431:
					  * 64 KiB; >= 1024 */
	uint32_t conn_window;		 /* connection receive window: 1 MiB; 65535..2^31-1 */
	uint32_t max_fields;		 /* regular fields in a request head -> 431: 100; >= 1 */
	uint32_t max_continuations;	 /* CONTINUATION frames after a HEADERS, over -> the
					  * session ends: 8 */
	uint32_t send_queue;		 /* response body bytes queued per stream: 64 KiB; >= 1 */
	uint32_t rst_window;		 /* streams per reset-counting window: 100; >= 1 */
	uint32_t rst_max;		 /* client RST_STREAMs allowed per window, over ->
					  * GOAWAY ENHANCE_YOUR_CALM: 50 */
	uint32_t rst_burst;		 /* nghttp2's RST_STREAM bucket: 1000 tokens, */
	uint32_t rst_rate;		 /* refilled at 33 per second */
	uint32_t max_empty_frames;	 /* empty DATA frames without END_STREAM in a row
					  * (no DATA with data between), over -> GOAWAY
					  * ENHANCE_YOUR_CALM: 100 */
	uint32_t max_settings;		 /* entries in one SETTINGS frame: 32; >= 7 */
	uint32_t max_outbound_ack;	 /* ACKs/RST_STREAMs queued for a client that does
					  * not read, over -> session dropped: 1000; >= 1 */
	uint32_t flags;			 /* H2_O_* */
	const struct h1_limits *h1;	 /* the engine's parser limits, for the check
					  * of each head written; NULL: h1_limits_default */
};

extern const struct h2_limits h2_limits_default;

/*
 * What the engine is told. arg is h2_session_new's. stream_id names the
 * exchange from on_request until on_stream_close; after that the id is
 * dead and h2_* calls on it return -ENOENT.
 */
struct h2_callbacks {
	/*
	 * A request head: head[0, len) is an HTTP/1.1 request head, final
	 * CRLF included, that h1_parse_request() accepts whole under
	 * h2_limits.h1. Valid only during the call: copy it. Built as
	 *   :method SP (:path | :authority for CONNECT) SP "HTTP/1.1" CRLF
	 *   "Host: " (:authority, else host) CRLF
	 *   the client's regular fields in order, names lowercase, host and
	 *   cookie left out CRLF each
	 *   "cookie: " every cookie field joined with "; " (RFC 9113 8.2.3)
	 *   "Transfer-Encoding: chunked" when the request has a body (its
	 *   HEADERS did not end the stream), no content-length and is not a
	 *   CONNECT
	 *   CRLF
	 * :scheme (http or https) is not carried in origin-form: the engine
	 * knows its listener. With H2_O_ABSOLUTE_FORM the target is
	 * scheme "://" authority path instead.
	 * Required.
	 */
	void (*on_request)(void *arg, int32_t stream_id, const char *head, size_t len);
	/*
	 * Request body bytes, in order, exactly what would follow the head on
	 * an HTTP/1.1 connection: as received under content-length; chunk
	 * framed ("<hex>\r\n" ... "\r\n" ... "0\r\n\r\n") under
	 * Transfer-Encoding: chunked; raw tunnel bytes for CONNECT. Request
	 * trailers are dropped (RFC 9110 6.5.1). Required.
	 */
	void (*on_request_data)(void *arg, int32_t stream_id, const char *data, size_t len);
	/* The client ended its side: every body byte has been given. Optional. */
	void (*on_request_end)(void *arg, int32_t stream_id);
	/*
	 * A stream whose h2_send_data() returned -EAGAIN or a short count
	 * has room again (its queue drained to half). Optional (then poll).
	 */
	void (*on_stream_writable)(void *arg, int32_t stream_id);
	/*
	 * The stream is gone: both sides ended, or a RST_STREAM went either
	 * way (error_code: H2_*, H2_NO_ERROR when it completed; the client's
	 * code when it reset it), or the session was freed (H2_CANCEL).
	 * Called exactly once for every stream that got on_request, never
	 * for others. Required.
	 */
	void (*on_stream_close)(void *arg, int32_t stream_id, uint32_t error_code);
};

/* Why a session ended (h2_stats.fail). */
enum h2_fail {
	H2_FAIL_NONE = 0,
	H2_FAIL_PREFACE,       /* not the HTTP/2 connection preface */
	H2_FAIL_PROTOCOL,      /* nghttp2 sent GOAWAY with an error (h2_stats.goaway_code) */
	H2_FAIL_FLOOD,	       /* the client made us queue too many frames without reading */
	H2_FAIL_CONTINUATIONS, /* more than max_continuations CONTINUATION frames */
	H2_FAIL_RAPID_RESET,   /* more than rst_max resets in rst_window streams */
	H2_FAIL_EMPTY_FRAMES,  /* more than max_empty_frames empty DATA frames in a row */
	H2_FAIL_INTERNAL,      /* out of memory inside nghttp2 or this layer */
	H2_FAIL__MAX,
};

/* Stable lowercase name ("rapid-reset", ...) for counters and logs; "?" if unknown. */
const char *h2_fail_str(enum h2_fail fail);

/* Counters of one session. */
struct h2_stats {
	uint64_t streams;	/* request streams the client opened */
	uint64_t requests;	/* heads given to on_request */
	uint64_t refused;	/* answered by the layer itself (400, 431) */
	uint64_t client_resets; /* RST_STREAM frames received */
	uint64_t empty_frames;	/* empty DATA frames not ending a stream */
	uint64_t invalid;	/* frames nghttp2 refused: malformed requests (RST_STREAM
				 * PROTOCOL_ERROR), streams over the limit (REFUSED_STREAM), ... */
	enum h2_fail fail;
	uint32_t goaway_code; /* error code of the GOAWAY we sent, if any */
};

struct h2_session;

/*
 * A server session: our SETTINGS (the limits above, and
 * SETTINGS_NO_RFC7540_PRIORITIES) and the connection window are queued,
 * ready for h2_pull(). lim NULL = h2_limits_default; cb must have
 * on_request, on_request_data and on_stream_close.
 * NULL with errno EINVAL (bad limits or callbacks) or ENOMEM.
 */
struct h2_session *h2_session_new(const struct h2_limits *lim, const struct h2_callbacks *cb,
				  void *arg);

/* Frees s; on_stream_close(H2_CANCEL) for each stream still open. Accepts NULL. */
void h2_session_free(struct h2_session *s);

/*
 * Bytes read from the client: in[0, len), any split. Callbacks run from
 * here. Returns len (everything is always consumed), or -EPROTO: the
 * session must end - a GOAWAY (if any is due) is queued for h2_pull(),
 * h2_stats.fail says why; every later call returns -EPROTO too.
 * A protocol error nghttp2 detects inside a frame also queues GOAWAY but
 * is known only once it is pulled: h2_want_read() turns false then (and
 * h2_feed returns -EPROTO from there on). -EINVAL: s NULL or in NULL with
 * len > 0.
 */
int h2_feed(struct h2_session *s, const uint8_t *in, size_t len);

/*
 * Bytes for the client, up to cap, into out. Returns the count, 0 when
 * nothing is due, -EPROTO when the session broke while producing them (as
 * h2_feed), -EINVAL on NULLs. on_stream_writable and on_stream_close may
 * run from here.
 */
ssize_t h2_pull(struct h2_session *s, uint8_t *out, size_t cap);

/* True while h2_pull() has something to give. */
bool h2_want_write(const struct h2_session *s);

/*
 * True while the session wants client bytes. False once a GOAWAY ended it
 * (either way) and its streams are done, or after a failure: then flush
 * h2_pull() and close.
 */
bool h2_want_read(const struct h2_session *s);

/*
 * The engine's HTTP/1.1 response head for a stream: head[0, len), exactly
 * one complete head (h1_parse_response() of it, for the request's method,
 * is 0 with head_len == len). It becomes HEADERS: :status, the fields with
 * names lowercased, minus the hop-by-hop ones (h1_hop_fields():
 * Connection and what it names, Keep-Alive, Proxy-Connection, TE,
 * Transfer-Encoding, Upgrade); Content-Length stays, but not on a 2xx to
 * CONNECT (RFC 9110 9.3.6). A 1xx (but 101) goes out as an interim
 * response and a final one must follow. When the head says there is no
 * body (after HEAD, 204, 304, Content-Length: 0) the HEADERS end the
 * stream; otherwise h2_send_data() gives the body.
 *
 * The head is not kept after the call. Returns 0, or
 *   -ENOENT  no such stream (closed, reset, never given to on_request);
 *   -EALREADY a final response was already given;
 *   -EINVAL  s or head NULL, or not one valid response head;
 *   -EPROTONOSUPPORT 101, or transfer codings besides chunked: HTTP/2
 *            cannot carry them; answer 502 instead;
 *   -ENOMEM.
 */
int h2_respond(struct h2_session *s, int32_t stream_id, const char *head, size_t len);

/* What a head given to h2_respond_info() said. */
struct h2_resp_info {
	uint16_t status;
	bool final;   /* a final response (else an interim 1xx: the final one follows) */
	bool ended;   /* final, and its HEADERS ended the stream: no body */
	bool has_len; /* final with a body of len bytes (Content-Length) */
	uint64_t len; /* else the body ends with h2_send_data(..., end) */
};

/*
 * h2_respond(), and on success what the head said in *info (NULL: not
 * wanted), so an engine that has the head in a larger buffer need not parse
 * it again: its status and how much body follows.
 */
int h2_respond_info(struct h2_session *s, int32_t stream_id, const char *head, size_t len,
		    struct h2_resp_info *info);

/*
 * Queues response body bytes for a stream that has its final head: the
 * decoded body (h1_body_feed()'s data spans, never chunk framing; raw tunnel
 * bytes after a 2xx to CONNECT). end: these are the last bytes (len may be
 * 0); the stream ends once they are sent.
 *
 * At most h2_limits.send_queue bytes wait per stream; they leave as the
 * client's flow-control windows allow. Returns the bytes taken: len, or
 * fewer when the queue filled (end is then not applied: call again with the
 * rest, after on_stream_writable). Or
 *   -EAGAIN  the queue is full (len > 0): wait for on_stream_writable;
 *   -ENOENT  no such stream;
 *   -EINVAL  s NULL, data NULL with len > 0, no final head yet, the body
 *            already ended (a repeated end with len 0 returns 0), more than
 *            Content-Length, or end before Content-Length bytes (a body cut
 *            short is h2_reset()'s);
 *   -ENOMEM.
 */
ssize_t h2_send_data(struct h2_session *s, int32_t stream_id, const char *data, size_t len,
		     bool end);

/*
 * The engine is done with n more request body data bytes of a stream (data
 * bytes: what h1_body_feed() yields, not chunk framing; for content-length
 * and CONNECT bodies every byte given is data). Only consumed bytes reopen
 * the client's flow-control windows, so a slow upstream slows the client.
 * Bytes never consumed are released when the stream closes. Returns 0,
 * -ENOENT (no such stream), -EINVAL (n over what was given and not yet
 * consumed; s NULL), -ENOMEM.
 */
int h2_consume(struct h2_session *s, int32_t stream_id, size_t n);

/*
 * Resets a stream with an H2_* error code (H2_INTERNAL_ERROR for an upstream
 * that failed mid-response, H2_CANCEL, ...). on_stream_close follows from
 * h2_pull() once the RST_STREAM is out. Returns 0, -ENOENT, -EINVAL.
 */
int h2_reset(struct h2_session *s, int32_t stream_id, uint32_t error_code);

/*
 * Graceful shutdown: GOAWAY(error_code, last stream seen). Streams already
 * opened run to completion; newer ones are refused and a client may retry
 * them elsewhere (RFC 9113 6.8). Returns 0, -EINVAL, -ENOMEM.
 */
int h2_goaway(struct h2_session *s, uint32_t error_code);

/*
 * The engine's own pointer for a stream it got by on_request, so callbacks
 * find their object without a search. set: 0, -ENOENT (no such stream, or
 * not the engine's). get: the pointer, NULL when none was set or the
 * stream is gone; valid in on_stream_close (not while the session is freed).
 */
int h2_stream_set_ctx(struct h2_session *s, int32_t stream_id, void *ctx);
void *h2_stream_ctx(struct h2_session *s, int32_t stream_id);

/* Copies the session's counters into out. */
void h2_get_stats(const struct h2_session *s, struct h2_stats *out);

enum h2_preface {
	H2_PREFACE_NO = 0, /* not HTTP/2 prior knowledge: an HTTP/1.x client */
	H2_PREFACE_MORE,   /* so far a prefix of it: read more (24 bytes decide) */
	H2_PREFACE_YES,	   /* the first 24 bytes are "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
};

/* What the first len bytes of a cleartext connection are. buf may be NULL if len is 0. */
enum h2_preface h2_preface_match(const void *buf, size_t len);

#endif
