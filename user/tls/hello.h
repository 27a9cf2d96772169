/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS ClientHello reader for passthrough routing (issue #6): reads the
 * first bytes a TLS client sends - the record layer and the ClientHello in
 * it (RFC 8446 4.1.2 and 5.1, RFC 5246 7.4.1.2) - and reports the server
 * name (RFC 6066 3), the ALPN protocols (RFC 7301) and the highest version
 * offered (RFC 8446 4.2.1), so the proxy can pick a backend without
 * terminating TLS and then splice the sockets. Pure: no I/O, no
 * allocation, no global state.
 *
 * The flow:
 *
 *   while ((rc = hello_parse(buf, len, &h)) == -EAGAIN)
 *           read more into buf (h.need bytes at least), len grows;
 *   rc == -EBADMSG: h.err / h.why say why; close (or route to a default).
 *   rc == 0: route on h.sni / h.alpn; send buf[0, len) - every byte, the
 *            ClientHello included - to the backend, then splice.
 *
 * Each call parses from the start: it keeps no state between calls, so
 * the buffer may move and the same bytes always give the same answer.
 * Verdicts are monotonic as the buffer grows: -EBADMSG on a prefix stays
 * -EBADMSG with the same reason, 0 stays 0 with the same view, and every
 * prefix of an accepted hello gets -EAGAIN. Bytes past out->consumed
 * (0-RTT early data, say) are never looked at.
 *
 * What is accepted (each decision where the RFCs leave room):
 *  - Records: content type 22 (handshake), version 3.0 to 3.3 (clients
 *    send 3.1 or 3.3 in the first record), length 1..2^14 (RFC 8446 5.1
 *    forbids empty handshake fragments). The ClientHello may be split over
 *    up to HELLO_RECORDS_MAX records, as RFC 8446 5.1 allows; real clients
 *    use one. A record holds nothing but the ClientHello: its last record
 *    ends where the ClientHello ends (no other handshake message may follow
 *    it before the server answers), and no other content type may come
 *    between its records.
 *  - The ClientHello (header included) is at most HELLO_MSG_MAX bytes.
 *  - legacy_version 3.x; session_id <= 32 bytes; cipher_suites an even
 *    length >= 2; compression_methods non-empty and holding null (0);
 *    extensions absent (SSL 3.0, old TLS 1.0) or a block that ends exactly
 *    where the ClientHello ends. No extension type twice (RFC 8446 4.2 and
 *    RFC 5246 7.4.1.4 say MUST NOT; OpenSSL refuses it too), so there is
 *    never a second server_name that a backend could read instead of ours.
 *  - server_name: exactly one entry, of type host_name, as OpenSSL
 *    requires. The name is a DNS name in text form: 1..HELLO_SNI_MAX bytes
 *    of letters, digits, '-', '_' (seen in the wild) and '.', labels of
 *    1..63 bytes, no trailing dot (RFC 6066 3). NUL, other control
 *    characters, spaces, non-ASCII (IDNs arrive as A-labels) and ':' (an
 *    IPv6 literal, which RFC 6066 forbids) are refused; so is an empty
 *    name. Dotted-quad IPv4 literals are not told apart from names. The
 *    name is reported in lower case: DNS names compare case-insensitively.
 *  - ALPN: a non-empty list of non-empty names (RFC 7301 3.1), kept as
 *    given (ALPN compares bytes exactly), in the client's order, while
 *    there is room: HELLO_ALPN_MAX names in HELLO_ALPN_BUF bytes. A name
 *    that does not fit is skipped (a shorter one after it may still be
 *    kept) and HELLO_F_ALPN_PARTIAL is set. Real clients send 1 to 3.
 *  - supported_versions: an even length 2..254. out->version is the highest
 *    3.x value listed (GREASE and draft versions are not 3.x), or
 *    legacy_version when the extension is absent or lists no 3.x value.
 *  - Other extensions are checked for framing only.
 */
#ifndef XDP_TLS_HELLO_H
#define XDP_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest ClientHello accepted, its 4-byte handshake header included. */
#define HELLO_MSG_MAX 16384
/* Most records a ClientHello may be spread over. */
#define HELLO_RECORDS_MAX 16
/* Most bytes hello_parse() ever asks for: size the read buffer to this. */
#define HELLO_WIRE_MAX (HELLO_MSG_MAX + 5 * HELLO_RECORDS_MAX)
/* Longest server name: a DNS name in text form without the trailing dot. */
#define HELLO_SNI_MAX 253
/* ALPN names kept, and the bytes they may take together. */
#define HELLO_ALPN_MAX 8
#define HELLO_ALPN_BUF 256

/* TLS versions as they appear on the wire. */
#define HELLO_SSL30 0x0300
#define HELLO_TLS10 0x0301
#define HELLO_TLS11 0x0302
#define HELLO_TLS12 0x0303
#define HELLO_TLS13 0x0304

/* Why bytes were refused: a stable name for counters and logs (hello_err_str). */
enum hello_err {
	HELLO_ERR_NONE = 0,
	HELLO_ERR_NOT_TLS,	      /* first byte is no TLS content type (plain HTTP?) */
	HELLO_ERR_SSLV2,	      /* an SSL 2.0 style record header (high bit set) */
	HELLO_ERR_NOT_HANDSHAKE,      /* first record is an alert, CCS, data or heartbeat */
	HELLO_ERR_RECORD_VERSION,     /* record version not 3.0..3.3 */
	HELLO_ERR_RECORD_LENGTH,      /* record length 0 or over 2^14 */
	HELLO_ERR_RECORD_INTERLEAVED, /* a later record is not a handshake record */
	HELLO_ERR_TOO_MANY_RECORDS,   /* ClientHello spread over more than HELLO_RECORDS_MAX */
	HELLO_ERR_TRAILING_DATA,      /* a record goes on past the end of the ClientHello */
	HELLO_ERR_NOT_CLIENT_HELLO,   /* handshake message type is not client_hello (1) */
	HELLO_ERR_TOO_LARGE,	      /* ClientHello over HELLO_MSG_MAX */
	HELLO_ERR_VERSION,	      /* legacy_version missing or not 3.x */
	HELLO_ERR_RANDOM,	      /* the 32-byte random runs past the ClientHello */
	HELLO_ERR_SESSION_ID,	      /* over 32 bytes, or past the ClientHello */
	HELLO_ERR_CIPHER_SUITES,      /* odd or zero length, or past the ClientHello */
	HELLO_ERR_COMPRESSION,	      /* empty, without null, or past the ClientHello */
	HELLO_ERR_EXTENSIONS,	      /* block length is not what is left of the ClientHello */
	HELLO_ERR_EXTENSION,	      /* an extension runs past the block */
	HELLO_ERR_EXTENSION_DUP,      /* an extension type appears twice */
	HELLO_ERR_SNI_LIST,	      /* server_name framing: lengths, type, not one entry */
	HELLO_ERR_SNI_LENGTH,	      /* host name empty or over HELLO_SNI_MAX */
	HELLO_ERR_SNI_CHAR,	      /* host name byte that no DNS name holds (NUL, ...) */
	HELLO_ERR_SNI_LABEL,	      /* empty label (leading, trailing or double dot), > 63 */
	HELLO_ERR_ALPN,		      /* ALPN framing: lengths, empty list or empty name */
	HELLO_ERR_VERSIONS,	      /* supported_versions framing */
	HELLO_ERR__MAX,
};

/* Stable lowercase name ("sni-char", ...) for counters and logs; "?" if unknown. */
const char *hello_err_str(enum hello_err err);

/* hello_info.flags */
#define HELLO_F_SNI	     0x01 /* server_name present: sni is set */
#define HELLO_F_ALPN	     0x02 /* ALPN present: alpn[] holds names */
#define HELLO_F_ALPN_PARTIAL 0x04 /* some ALPN names did not fit in alpn[] */
#define HELLO_F_VERSIONS     0x08 /* supported_versions present */
#define HELLO_F_ECH	     0x10 /* encrypted_client_hello: sni is the ECH public name */
#define HELLO_F_EARLY_DATA   0x20 /* early_data: 0-RTT records follow the ClientHello */

/* One kept ALPN name: alpn_buf[off, off + len), not NUL-terminated. */
struct hello_alpn {
	uint16_t off;
	uint8_t len;
};

/*
 * What hello_parse() found. Filled in afresh by every call: fields not
 * listed for a verdict are zero.
 */
struct hello_info {
	/* rc == 0 */
	uint32_t consumed;	     /* bytes of the records holding the ClientHello */
	uint32_t msg_len;	     /* ClientHello length, its 4-byte header included */
	uint16_t legacy_version;     /* ClientHello.legacy_version */
	uint16_t version;	     /* highest version offered (see above) */
	uint8_t nr_records;	     /* records the ClientHello was spread over */
	uint8_t flags;		     /* HELLO_F_* */
	uint16_t sni_len;	     /* 0 when there is no server_name */
	char sni[HELLO_SNI_MAX + 1]; /* lower case, NUL-terminated */
	uint8_t nr_alpn;	     /* names kept in alpn[], in the client's order */
	uint16_t alpn_total;	     /* names the client listed */
	struct hello_alpn alpn[HELLO_ALPN_MAX];
	char alpn_buf[HELLO_ALPN_BUF];
	/* rc == -EAGAIN */
	uint32_t need; /* a lower bound on the bytes needed: > len, <= HELLO_WIRE_MAX */
	/* rc == -EBADMSG */
	enum hello_err err;
	const char *why; /* hello_err_str(err) */
};

/*
 * Parse the ClientHello at the start of buf[0, len), reading nothing past
 * len (buf may be NULL when len is 0).
 *
 * Returns
 *   0         a whole ClientHello: out holds the view, which copies what it
 *             reports, so buf may go away; bytes past out->consumed follow
 *             the ClientHello and are not looked at;
 *   -EAGAIN   everything so far is valid but the ClientHello is not whole:
 *             out->need is the fewest bytes that could complete it;
 *   -EBADMSG  not a TLS ClientHello, or one refused above: out->err and
 *             out->why say why;
 *   -EINVAL   out NULL, or buf NULL with len > 0.
 *
 * Cost: one pass over the bytes, and an 8 KiB bitmap on the stack.
 */
int hello_parse(const uint8_t *buf, size_t len, struct hello_info *out);

/*
 * True when the client listed proto (NUL-terminated, compared byte for
 * byte: "h2", "http/1.1") among the ALPN names kept in h. False when h is
 * NULL, proto NULL or empty, or the name was not kept (HELLO_F_ALPN_PARTIAL).
 */
bool hello_alpn_has(const struct hello_info *h, const char *proto);

#endif
