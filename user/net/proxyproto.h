/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HAProxy PROXY protocol, versions 1 (text) and 2 (binary), as specified in
 * https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt ("the spec"
 * below). Writers for the header xdproxy sends to a backend ahead of the
 * relayed bytes, and a strict parser for headers a trusted load balancer
 * sends ahead of a client's bytes. Pure: no I/O, no allocation, no global
 * state.
 *
 * The parser never guesses: a receiver that accepts the header only when
 * configured to (spec section 5) must refuse anything a lenient peer might
 * read as different addresses, so every deviation from the grammar is
 * -EBADMSG, and -EAGAIN is only returned while the bytes seen so far can
 * still become a valid header.
 */
#ifndef XDP_NET_PROXYPROTO_H
#define XDP_NET_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest v1 line, CRLF included ("PROXY UNKNOWN" + two full IPv6 + ports). */
#define PP_V1_MAX 107
/* Fixed part of a v2 header: signature, ver/cmd, family, length. */
#define PP_V2_HDR 16
/* Longest v2 header: the 16-bit length field bounds what follows. */
#define PP_V2_MAX (PP_V2_HDR + 65535)
/* The 12-byte v2 signature; it contains a NUL, so never a C string. */
#define PP_V2_SIG     "\r\n\r\n\0\r\nQUIT\n"
#define PP_V2_SIG_LEN 12

/* Registered TLV types (spec 2.2). */
#define PP2_TYPE_ALPN		0x01
#define PP2_TYPE_AUTHORITY	0x02 /* host name the client asked for (SNI, Host) */
#define PP2_TYPE_CRC32C		0x03 /* 4 bytes, big endian, over the whole header */
#define PP2_TYPE_NOOP		0x04
#define PP2_TYPE_UNIQUE_ID	0x05 /* opaque, at most PP2_UNIQUE_ID_MAX bytes */
#define PP2_TYPE_SSL		0x20 /* client(1) verify(4) then sub-TLVs */
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN	0x22
#define PP2_SUBTYPE_SSL_CIPHER	0x23
#define PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define PP2_SUBTYPE_SSL_KEY_ALG 0x25
#define PP2_TYPE_NETNS		0x30

#define PP2_UNIQUE_ID_MAX 128
/* PP2_TYPE_SSL's fixed head: client flags (1) and verify result (4). */
#define PP2_SSL_HDR 5

/*
 * One TLV. For pp_v2_write, value points at len bytes (it may be NULL when
 * len is 0); for pp_tlv_next/pp_tlv_find, value points into the parsed
 * buffer.
 */
struct pp_tlv {
	uint8_t type;
	uint16_t len;
	const void *value;
};

/* What pp_parse() found. */
struct pp_info {
	uint8_t version; /* 1 or 2 */
	/*
	 * True when the header gives no addresses to use: v1 "UNKNOWN", v2
	 * LOCAL, or v2 PROXY with the UNSPEC family. The receiver then uses
	 * the connection's own endpoints (spec 2.1, 2.2); family is AF_UNSPEC
	 * and src/dst are zeroed.
	 */
	bool local;
	int family;		     /* AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when local */
	int socktype;		     /* SOCK_STREAM, SOCK_DGRAM (v2 only), or 0 when local */
	struct sockaddr_storage src; /* the client, as the sender saw it */
	struct sockaddr_storage dst; /* the address the client connected to */
	bool crc32c;		     /* v2: a CRC32c TLV was present, and matched */
	/* v2: the TLV area is buf[tlv_off, tlv_off + tlv_len); 0, 0 for v1. */
	uint32_t tlv_off;
	uint32_t tlv_len;
};

/*
 * Write a v1 line "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" (or TCP6)
 * into out[0, cap). No NUL is written.
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are written as the IPv4
 * address they carry, so a pair of them, or one with an AF_INET address,
 * gives TCP4. IPv6 is written in RFC 5952 form (lowercase, longest zero run
 * compressed, never a dotted quad, which the spec's grammar lacks). When
 * the pair cannot be written as TCP4 or TCP6 (one IPv4 and one true IPv6,
 * another family, or src and dst both NULL) the line is the short
 * "PROXY UNKNOWN\r\n", which tells the receiver to use the connection's own
 * endpoints (spec 2.1).
 *
 * Returns 0 with *len the line length, or
 *   -EINVAL  len NULL; out NULL with cap > 0; only one of src, dst NULL;
 *   -ENOSPC  cap < the line length, *len set to that length; out[0, cap)
 *            may have been written.
 */
int pp_v1_write(const struct sockaddr *src, const struct sockaddr *dst, char *out, size_t cap,
		size_t *len);

/*
 * Write a v2 header into out[0, cap): signature, version 2, then
 *   - src and dst both NULL: the LOCAL command, family UNSPEC (a health
 *     check: the receiver uses the connection's endpoints), then the TLVs;
 *   - both IPv4 (IPv4-mapped IPv6 counts as IPv4): PROXY, TCP over IPv4;
 *   - both IPv6, or one IPv4 and one IPv6: PROXY, TCP over IPv6, an IPv4
 *     address written IPv4-mapped (v2 has no UNKNOWN, and UNSPEC lets the
 *     receiver drop the connection, so the pair is kept instead);
 *   - any other family: PROXY with family UNSPEC, no addresses (spec 2.2:
 *     "unsupported protocol families").
 * then tlvs[0, nr_tlvs) in the order given. A TLV of type PP2_TYPE_CRC32C
 * asks for the checksum: its value and len are ignored, 4 bytes are written
 * and filled with the CRC32c of the whole header, computed with those 4
 * bytes zero (spec 2.2.3).
 *
 * TLVs are checked as pp_parse() would: PP2_TYPE_UNIQUE_ID at most
 * PP2_UNIQUE_ID_MAX bytes, PP2_TYPE_SSL at least PP2_SSL_HDR bytes followed
 * by sub-TLVs that end exactly at its end, at most one PP2_TYPE_CRC32C.
 *
 * Returns 0 with *len the header length, or
 *   -EINVAL  len NULL; out NULL with cap > 0; only one of src, dst NULL;
 *            tlvs NULL with nr_tlvs > 0; a TLV with NULL value and len > 0
 *            or breaking a rule above; the header would exceed PP_V2_MAX;
 *   -ENOSPC  cap < the header length, *len set to that length; out[0, cap)
 *            may have been written.
 */
int pp_v2_write(const struct sockaddr *src, const struct sockaddr *dst, const struct pp_tlv *tlvs,
		size_t nr_tlvs, char *out, size_t cap, size_t *len);

/*
 * Parse the PROXY header at the start of buf[0, len): v2 if it starts with
 * the v2 signature, v1 if it starts with "PROXY ", invalid otherwise.
 *
 * Returns the header length (> 0; the connection's own bytes start at
 * buf + that), with *out filled, or
 *   -EAGAIN   the bytes so far are a valid beginning; read more. A v1 line
 *             ends within PP_V1_MAX bytes, a v2 header within PP_V2_MAX:
 *             a caller with a smaller buffer that fills up on -EAGAIN
 *             should refuse the connection;
 *   -EBADMSG  not a valid header; close the connection;
 *   -EINVAL   buf NULL with len > 0, or out NULL.
 * *out is only written on success.
 *
 * v1 is read as the spec's grammar and nothing else: "PROXY" SP ("TCP4" |
 * "TCP6") SP src SP dst SP sport SP dport CRLF, or "PROXY UNKNOWN" followed
 * by CRLF or by SP and printable ASCII up to CRLF (ignored). IPv4 addresses
 * are four decimal numbers 0-255 without leading zeros; IPv6 addresses are
 * what inet_pton() takes (hex groups of 1-4 digits, one "::", an optional
 * dotted quad tail); ports are 0-65535 without leading zeros; the family
 * word must match both addresses. Only ASCII 0x20-0x7e may precede the
 * CRLF; a bare CR or LF is an error.
 *
 * v2: version 2 only; command LOCAL or PROXY; the family/transport byte is
 * one of the spec's seven (0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32); the
 * length covers at least the family's address block (12, 36, 216 or 0
 * bytes) whatever the command; the rest is TLVs that end exactly at the end
 * of the header; a PP2_TYPE_CRC32C TLV must be 4 bytes, appear once, and
 * match; PP2_TYPE_UNIQUE_ID at most PP2_UNIQUE_ID_MAX bytes; PP2_TYPE_SSL at
 * least PP2_SSL_HDR bytes with sub-TLVs ending exactly at its end. Unknown
 * TLV types are accepted (spec: receivers may skip them). With LOCAL the
 * address block is read past and ignored.
 */
int pp_parse(const char *buf, size_t len, struct pp_info *out);

/*
 * Walk the TLVs of a header pp_parse() accepted, with buf the same bytes.
 * Start with *pos = 0. Returns 0 with *tlv set (value into buf) and *pos
 * advanced, -ENOENT after the last one, -EINVAL for NULL arguments or a
 * *pos that does not come from this walk.
 */
int pp_tlv_next(const char *buf, const struct pp_info *info, size_t *pos, struct pp_tlv *tlv);

/* The first top-level TLV of this type: 0 with *tlv set, or -ENOENT / -EINVAL. */
int pp_tlv_find(const char *buf, const struct pp_info *info, uint8_t type, struct pp_tlv *tlv);

/*
 * CRC32c (Castagnoli, as in RFC 4960 appendix B and iSCSI) of buf[0, len),
 * continued from crc (0 to start). Exposed for tests and for callers that
 * check a header themselves.
 */
uint32_t pp_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
