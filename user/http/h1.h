/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Strict HTTP/1.1 message parser (RFC 9110, RFC 9112) for requests and
 * responses alike. Pure: no I/O, no allocation, no global state.
 *
 * A proxy that reads a message one way and forwards it so that the next hop
 * reads it another way is how request smuggling happens, so this parser
 * refuses everything a peer could read differently (see h1_err below), and
 * the proxy never forwards the bytes it received: it re-serializes the view
 * with h1_write_head() and re-frames the body from h1_body_feed()'s spans.
 *
 * The flow for one message:
 *
 *   h1_msg_init(&m, lim);
 *   while ((rc = h1_parse_request(&m, buf, len)) == -EAGAIN)
 *           read more into buf, len grows;      (the bytes already given
 *                                                stay unchanged, the buffer
 *                                                may move)
 *   rc == -EBADMSG: answer m.err_status, close.
 *   rc == 0: the head is buf[0, m.head_len); every h1_span is an offset into
 *            buf, so the view stays valid while those bytes do.
 *   h1_body_init(&b, &m);
 *   off = m.head_len;
 *   while (!h1_body_done(&b)) {
 *           h1_body_feed(&b, buf + off, len - off, &out);
 *           forward buf + off + out.data_off, out.data_len;
 *           off += out.consumed;              (read more when off == len)
 *   }
 *   the next pipelined message starts at buf + off: h1_msg_init again.
 *
 * Every decision where the RFCs leave room is strict and named in h1.c:
 * bare LF is an error everywhere, Content-Length must be one field with one
 * value, the only transfer coding a request may use is chunked, obs-fold is
 * rejected in both directions, and so on.
 */
#ifndef XDP_HTTP_H1_H
#define XDP_HTTP_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field lines a head can hold; h1_limits.max_fields is clamped to it. */
#define H1_FIELDS_MAX 256

/*
 * Limits, each with the status a request that exceeds it gets (a response
 * from an upstream always gets 502). A limit of N accepts N and refuses N+1.
 */
struct h1_limits {
	uint32_t max_start_line;  /* request/status line, CRLF excluded: 8 KiB -> 414 */
	uint32_t max_field;	  /* one field line, CRLF excluded: 8 KiB -> 431 */
	uint32_t max_head;	  /* start line to final CRLF included: 64 KiB -> 431 */
	uint32_t max_fields;	  /* field lines in the head, and in trailers: 100 -> 431 */
	uint32_t max_chunk_ext;	  /* bytes between a chunk size and its CRLF: 1 KiB -> 400 */
	uint32_t max_trailer;	  /* trailer section, final CRLF included: 8 KiB -> 431 */
	uint32_t max_empty_lines; /* CRLFs skipped before a request line: 4 -> 400 */
	uint64_t max_body;	  /* decoded body bytes: UINT64_MAX (none) -> 413 */
};

/* The defaults above; passing NULL for limits anywhere means these. */
extern const struct h1_limits h1_limits_default;

/*
 * Why a message was refused: a stable reason for counters and logs
 * (h1_err_str) and the status a server answers a request with (in
 * parentheses; h1_err_status). Responses always map to 502.
 */
enum h1_err {
	H1_ERR_NONE = 0,
	H1_ERR_START_LINE_TOO_LONG, /* (414) request line over max_start_line */
	H1_ERR_FIELD_TOO_LONG,	    /* (431) field line over max_field */
	H1_ERR_HEAD_TOO_LARGE,	    /* (431) head over max_head */
	H1_ERR_TOO_MANY_FIELDS,	    /* (431) more than max_fields field lines */
	H1_ERR_BARE_LF,		    /* (400) a head line ends in LF without CR */
	H1_ERR_EMPTY_LINES,	    /* (400) more than max_empty_lines CRLFs first */
	H1_ERR_REQUEST_LINE,	    /* (400) not "method SP target SP version" */
	H1_ERR_METHOD,		    /* (400) method is not a token */
	H1_ERR_TARGET,		    /* (400) target has a CTL, SP, '#', non-ASCII; bad URI */
	H1_ERR_TARGET_FORM, /* (400) CONNECT without authority-form, '*' without OPTIONS, ... */
	H1_ERR_VERSION,	    /* (400) not HTTP/DIGIT.DIGIT */
	H1_ERR_VERSION_UNSUPPORTED, /* (505) HTTP/DIGIT.DIGIT other than 1.0 and 1.1 */
	H1_ERR_STATUS_LINE,	 /* (502) not "HTTP/1.x SP 3DIGIT [SP reason]", code not 100-599 */
	H1_ERR_FIELD_NAME,	 /* (400) empty, non-token, or whitespace before ':' */
	H1_ERR_FIELD_VALUE,	 /* (400) NUL, CR, or another CTL but HTAB in a value */
	H1_ERR_OBS_FOLD,	 /* (400) a line starts with SP/HTAB (obs-fold) */
	H1_ERR_HOST_MISSING,	 /* (400) HTTP/1.1 request without Host */
	H1_ERR_HOST_DUP,	 /* (400) more than one Host */
	H1_ERR_HOST_INVALID,	 /* (400) Host is not uri-host [":" port] */
	H1_ERR_CL_INVALID,	 /* (400) Content-Length is not 1*DIGIT <= 2^63-1 */
	H1_ERR_CL_DUP,		 /* (400) more than one Content-Length field */
	H1_ERR_CL_TE,		 /* (400) both Content-Length and Transfer-Encoding */
	H1_ERR_TE_INVALID,	 /* (400) Transfer-Encoding syntax */
	H1_ERR_TE_HTTP10,	 /* (400) Transfer-Encoding in an HTTP/1.0 message */
	H1_ERR_TE_CHUNKED_TWICE, /* (400) chunked applied more than once */
	H1_ERR_TE_NOT_CHUNKED,	 /* (400) request whose final coding is not chunked */
	H1_ERR_TE_UNSUPPORTED,	 /* (501) request with a coding other than chunked */
	H1_ERR_CONNECTION,	 /* (400) Connection is not a list of tokens */
	H1_ERR_BODY_TOO_LARGE,	 /* (413) body over max_body */
	H1_ERR_CHUNK_SIZE,	 /* (400) chunk size empty, not hex, > 16 digits, > 2^63-1, SP */
	H1_ERR_CHUNK_EXT,	 /* (400) chunk extension syntax */
	H1_ERR_CHUNK_EXT_TOO_LONG, /* (400) chunk extensions over max_chunk_ext */
	H1_ERR_CHUNK_CRLF,	   /* (400) chunk line or data not followed by CRLF */
	H1_ERR_TRAILER,		   /* (400) trailer field syntax, as for head fields */
	H1_ERR_TRAILER_TOO_LARGE,  /* (431) trailers over max_field/max_fields/max_trailer */
	H1_ERR_TRUNCATED,	   /* (400) the peer closed inside a delimited body */
	H1_ERR__MAX,
};

/* Stable lowercase name ("cl-te", ...) for counters and logs; "?" if unknown. */
const char *h1_err_str(enum h1_err err);
/* The status to answer: the table above for requests, 502 for responses, 0 for NONE. */
int h1_err_status(enum h1_err err, bool response);

enum h1_meth {
	H1_METH_OTHER = 0, /* a valid token we have no rule for */
	H1_METH_GET,
	H1_METH_HEAD,
	H1_METH_POST,
	H1_METH_PUT,
	H1_METH_DELETE,
	H1_METH_CONNECT,
	H1_METH_OPTIONS,
	H1_METH_TRACE,
	H1_METH_PATCH,
};

/* RFC 9112 3.2: the request-target forms. */
enum h1_form {
	H1_FORM_ORIGIN = 0, /* /path?query */
	H1_FORM_ABSOLUTE,   /* http://authority/path?query (http and https only) */
	H1_FORM_AUTHORITY,  /* host:port, CONNECT only */
	H1_FORM_ASTERISK,   /* *, OPTIONS only */
};

/* How the body is delimited (RFC 9112 6.3). */
enum h1_body_mode {
	H1_BODY_NONE = 0, /* no body: the next message starts after the head */
	H1_BODY_LENGTH,	  /* Content-Length bytes */
	H1_BODY_CHUNKED,  /* chunked coding */
	H1_BODY_CLOSE,	  /* responses only: until the upstream closes */
};

/*
 * h1_msg.flags. KEEPALIVE is the verdict (RFC 9112 9.3); CONN_* are the
 * Connection options seen. UPGRADE: a 1.1 request with Upgrade and the
 * upgrade option, or a 101 with Upgrade. TUNNEL: a 101, or a 2xx to CONNECT;
 * the bytes after the head belong to the tunnel. HOST_DIFFERS: the target
 * is in absolute/authority-form and Host is absent or another value.
 * TE_CODED: a response lists transfer codings besides chunked.
 */
#define H1_F_KEEPALIVE	     0x001u
#define H1_F_CONN_CLOSE	     0x002u
#define H1_F_CONN_KEEPALIVE  0x004u
#define H1_F_CONN_UPGRADE    0x008u
#define H1_F_UPGRADE	     0x010u
#define H1_F_TUNNEL	     0x020u
#define H1_F_EXPECT_CONTINUE 0x040u /* an HTTP/1.1 request with Expect: 100-continue */
#define H1_F_HOST_DIFFERS    0x080u
#define H1_F_TE_CODED	     0x100u

/* Bytes buf[off, off + len) of the buffer the message was parsed from. */
struct h1_span {
	uint32_t off;
	uint32_t len;
};

/* A field line: name as received, value with leading and trailing OWS cut. */
struct h1_field {
	struct h1_span name;
	struct h1_span value;
};

/* Parser state: h1.c's alone. */
struct h1_pstate {
	const struct h1_limits *lim;
	size_t pos;	     /* first byte not yet searched for LF */
	size_t line;	     /* start of the line being read */
	size_t start;	     /* start of the start line (after skipped CRLFs) */
	uint32_t empty;	     /* CRLFs skipped before the start line */
	uint32_t max_fields; /* lim->max_fields, clamped */
	uint8_t phase;
	uint8_t kind; /* 0 until the first parse call, then request or response */
	uint8_t nr_cl;
	uint8_t te; /* H1_TE_* in h1.c */
	bool upgrade_seen;
	bool expect_continue;
};

/*
 * A parsed head: valid once h1_parse_request/response returned 0. Only what
 * applies to the message's kind is set; the rest is zero.
 */
struct h1_msg {
	bool response;
	uint8_t version;	  /* 10 or 11 */
	enum h1_meth meth;	  /* request: parsed; response: the request's, as given */
	struct h1_span method;	  /* request */
	struct h1_span target;	  /* request, as received */
	enum h1_form form;	  /* request */
	struct h1_span authority; /* request: absolute/authority-form: from the target, else Host */
	struct h1_span path;	  /* request: origin-form: the target; absolute-form: after
				   * the authority, maybe empty; else empty */
	uint16_t status;	  /* response */
	struct h1_span reason;	  /* response, maybe empty */
	enum h1_body_mode body;	  /* framing */
	uint64_t content_length;  /* H1_BODY_LENGTH */
	uint32_t flags;		  /* H1_F_* */
	int host;		  /* request: index of the Host field, -1 if none */
	uint32_t head_len;	  /* bytes of the head, leading CRLFs included */
	enum h1_err err;	  /* on -EBADMSG */
	uint16_t err_status;	  /* on -EBADMSG: 400..505 for requests, 502 for responses */
	uint32_t err_off;	  /* on -EBADMSG: start of the offending line */
	struct h1_pstate st;	  /* private */
	uint32_t nr_fields;
	struct h1_field fields[H1_FIELDS_MAX]; /* must stay last: init leaves it as is */
};

/*
 * Prepares m for a new message. lim (NULL = h1_limits_default) must outlive m;
 * max_fields is clamped to H1_FIELDS_MAX. Cheap: the field array is not cleared.
 */
void h1_msg_init(struct h1_msg *m, const struct h1_limits *lim);

/*
 * Parses the head of a request from buf[0, len). Incremental: call again with
 * the same message and a longer len as bytes arrive; the bytes already given
 * must be unchanged (the buffer may have moved). Each byte is examined about
 * twice in all, however the head arrives. Bytes after the head (body, next
 * message) are not looked at.
 *
 * Returns
 *   0        the head is complete: m->head_len bytes, the view is set; calling
 *            again returns 0 and changes nothing;
 *   -EAGAIN  need more bytes (nothing refused so far);
 *   -EBADMSG refused: m->err, m->err_status, m->err_off; sticky;
 *   -EINVAL  m or buf NULL, len shorter than already seen, or m was used for
 *            a response.
 */
int h1_parse_request(struct h1_msg *m, const char *buf, size_t len);

/*
 * As h1_parse_request, for a response to a request of method req_meth (which
 * decides framing: no body after HEAD, a tunnel after a 2xx to CONNECT;
 * the first call's req_meth is the one that counts).
 * Every refusal sets err_status 502: the upstream, not the client, erred.
 * A 1xx is a complete message: parse the next response after it.
 */
int h1_parse_response(struct h1_msg *m, const char *buf, size_t len, enum h1_meth req_meth);

/*
 * Index of the first field at or after index from whose name is name
 * (case-insensitive), or -ENOENT.
 */
int h1_field_find(const struct h1_msg *m, const char *buf, const char *name, uint32_t from);

/* True when span s of buf equals the NUL-terminated str, case-insensitively. */
bool h1_span_eq_ci(const char *buf, struct h1_span s, const char *str);

/*
 * Body decoder. Streaming: the bytes fed need not stay around, and any split
 * of the body into feeds gives the same data and verdict. Trailers are
 * validated like head fields, counted, and dropped: RFC 9110 6.5.1 lets a
 * recipient discard them, and none of them may change framing or routing.
 */
struct h1_body {
	const struct h1_limits *lim;
	enum h1_body_mode mode;
	bool response;
	uint8_t state;	    /* private */
	uint8_t digits;	    /* private: hex digits of the chunk size so far */
	uint64_t remaining; /* LENGTH: bytes left; CHUNKED: bytes left of the current chunk */
	uint64_t size;	    /* private: chunk size being read */
	uint64_t total;	    /* data bytes so far */
	uint32_t line;	    /* private: bytes of the current chunk-ext or trailer line */
	uint32_t trailer;   /* bytes of the trailer section so far */
	uint32_t nr_trailers;
	enum h1_err err;     /* on -EBADMSG */
	uint16_t err_status; /* on -EBADMSG: 400/413/431 for requests, 502 for responses */
};

/* What one h1_body_feed() call did. */
struct h1_body_out {
	size_t consumed; /* bytes of the input used: framing and data */
	size_t data_off; /* body data: input[data_off, data_off + data_len) */
	size_t data_len;
};

/* Starts the body of a parsed message m (h1_parse_* returned 0). */
void h1_body_init(struct h1_body *b, const struct h1_msg *m);

/*
 * Starts a body of the given framing directly; length is H1_BODY_LENGTH's
 * byte count. lim NULL = h1_limits_default; response picks error statuses.
 * A length over lim->max_body makes the first feed fail.
 */
void h1_body_start(struct h1_body *b, enum h1_body_mode mode, uint64_t length,
		   const struct h1_limits *lim, bool response);

/*
 * Decodes from in[0, len). Stops after the first run of data (so one call
 * yields at most one span), at the end of the body, or at the end of the
 * input; loop until h1_body_done() or out->consumed == len.
 *
 * Returns 0 (out set; out->consumed may be 0 only when len is 0 or the body
 * is done), or -EBADMSG: refused, b->err and b->err_status set, sticky.
 * The data passed on before a refusal does not depend on how the input was
 * split: a chunk over max_body is refused at its size line, a
 * close-delimited body gets max_body bytes and the next one is refused.
 * After the body is done, returns 0 and consumes nothing: whatever follows
 * belongs to the next message.
 */
int h1_body_feed(struct h1_body *b, const char *in, size_t len, struct h1_body_out *out);

/*
 * The peer closed the connection. Returns 0 when that ends the body
 * (H1_BODY_CLOSE, or the body was already done), else -EBADMSG with
 * H1_ERR_TRUNCATED.
 */
int h1_body_eof(struct h1_body *b);

/* True once the whole body, trailers included, has been consumed. */
bool h1_body_done(const struct h1_body *b);

/*
 * Re-serialization. h1_write_head() writes a clean head from a view: the
 * start line with single SPs, "name: value" per field, CRLFs. A set of field
 * indexes to leave out and a list of fields to append do every rewrite; a
 * replacement is both.
 */
struct h1_fieldset {
	uint64_t bits[H1_FIELDS_MAX / 64];
};

static inline void h1_fieldset_add(struct h1_fieldset *s, uint32_t i)
{
	if (i < H1_FIELDS_MAX)
		s->bits[i / 64] |= 1ull << (i % 64);
}

static inline bool h1_fieldset_has(const struct h1_fieldset *s, uint32_t i)
{
	return i < H1_FIELDS_MAX && (s->bits[i / 64] >> (i % 64)) & 1;
}

/* A field to add; name and value need no NUL. */
struct h1_hdr {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct h1_rewrite {
	const struct h1_fieldset *drop; /* fields left out; NULL keeps all */
	const struct h1_hdr *add;	/* appended after the kept fields, in order */
	size_t nr_add;
	const char *target; /* request: replaces the target when not NULL */
	size_t target_len;
	uint8_t version; /* 10 or 11 replaces the version; 0 keeps it */
};

/*
 * Writes the head of m (parsed from buf) into out[0, cap), rewritten by rw
 * (NULL: as parsed). Leading CRLFs are not written. An added field must be a
 * token name and a value of field-vchar/SP/HTAB without leading or trailing
 * whitespace; a replacement target must be non-empty VCHARs without '#' -
 * so what is written parses back to the same view.
 *
 * Returns 0 and *len = bytes written; -ENOSPC and *len = bytes needed (out
 * holds a prefix); -EINVAL: m not a complete head, or rw invalid as above.
 */
int h1_write_head(const struct h1_msg *m, const char *buf, const struct h1_rewrite *rw, char *out,
		  size_t cap, size_t *len);

/* h1_hop_fields() flags */
#define H1_HOP_KEEP_UPGRADE 0x1u /* tunneling: Upgrade goes on to the next hop */

/*
 * Adds to set the hop-by-hop fields of m (RFC 9110 7.6.1): Connection,
 * Keep-Alive, Proxy-Connection, TE, Transfer-Encoding (the proxy frames the
 * body itself), Upgrade unless H1_HOP_KEEP_UPGRADE, and every field that a
 * Connection token names - except Host and Content-Length, which a client
 * could otherwise strip from the next hop's view by naming them.
 * With H1_F_TE_CODED (a response's codings besides chunked), the codings
 * belong to the content: whoever re-frames the body must list them again.
 */
void h1_hop_fields(const struct h1_msg *m, const char *buf, uint32_t flags,
		   struct h1_fieldset *set);

#endif
