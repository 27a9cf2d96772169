/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host name normalization for the forward proxy's destination policy. Pure:
 * no I/O, no global state (libidn2 is used for IDNA and allocates).
 *
 * A policy that matches one spelling of a host and lets another through is
 * an open door: "0x7f.1", "2130706433", "[::ffff:127.0.0.1]" and
 * "LOCALHOST." must meet the same rules as "127.0.0.1" and "localhost". So
 * every host a rule or a request names goes through host_normalize first,
 * and rules are compared with its output only. The output is one of:
 *
 *  - HOST_NAME: a lowercase domain of A-labels, no trailing dot:
 *    "bücher.example." -> "xn--bcher-kva.example". Labels are 1..63 bytes of
 *    [a-z0-9_-] (after IDNA), the whole name at most 253 bytes. '_' and
 *    hyphens anywhere (e.g. "r1---sn-x.googlevideo.com") are accepted in
 *    ASCII labels, as browsers and DNS do: IDNA 2008's hyphen rules are for
 *    U-labels, and refusing real CDN names would only break clients.
 *    Non-ASCII labels go through libidn2 (IDNA 2008 with UTS #46
 *    non-transitional mapping: uppercase Unicode is lowercased, "faß" stays
 *    "xn--fa-hia"), as do ASCII labels starting with "xn--", which must be
 *    valid A-labels. The UTS #46 full stops U+3002, U+FF0E and U+FF61
 *    separate labels like '.'.
 *  - HOST_IPV4: dotted-quad "a.b.c.d". A name whose last label is a number
 *    (all digits, or "0x" and hex digits) is an IPv4 address as the WHATWG
 *    URL standard parses it, which is what browsers send: every numeric
 *    form inet_aton() accepts, plus a bare "0x" part (0). 1 to 4 parts,
 *    each decimal, octal (leading "0") or hex ("0x"); every part but the
 *    last at most 255, the last filling the remaining bytes ("127.1",
 *    "2130706433", "0177.0.0.1", "0x7f.1" are all 127.0.0.1). When that parse fails the host is
 * refused, never treated as a name: "256.1.1.1", "1.2.3.4.5", "1.2.3.256", "4294967296", "08.1.1.1"
 * and "example.123" are all -EINVAL (browsers refuse them too, and no DNS name ends in a numeric
 * label).
 *    "[::ffff:a.b.c.d]" (IPv4-mapped IPv6) is HOST_IPV4 as well: a socket
 *    connects to the IPv4 address, so the IPv4 rules must see it.
 *  - HOST_IPV6: "[" RFC 5952 text "]": lowercase hex, leading zeros
 *    dropped, the longest run (first if tied) of two or more zero groups
 *    as "::", no embedded dotted quad ("[::1.2.3.4]" -> "[::102:304]").
 *    Brackets are required: a bare "::1" is refused (a ':' outside brackets
 *    is a port, which the caller must have split off).
 *
 * Refused (-EINVAL, with the reason in info->err): empty host, empty label
 * ("a..b", ".a", "."; one trailing dot is dropped), label over 63 or name
 * over 253 bytes, any byte outside [A-Za-z0-9_.-] in ASCII text, '%'
 * (percent-encoding: an origin could decode it differently), a zone id
 * ("[fe80::1%eth0]"), an IPv6 literal inet_pton() refuses (IPvFuture
 * "[v1.x]" included), a name ending in a number that is not an IPv4
 * address, and anything libidn2 refuses (bad UTF-8, invalid punycode,
 * disallowed code points such as emoji).
 */
#ifndef XDP_POLICY_HOST_H
#define XDP_POLICY_HOST_H

#include <netinet/in.h>
#include <stddef.h>

/* Output buffer size that is always enough: 253 bytes of name + NUL. */
#define HOST_NORM_MAX 254

enum host_kind {
	HOST_NAME = 0,
	HOST_IPV4,
	HOST_IPV6,
};

/* Why host_normalize refused a host; host_err_str() says it in words. */
enum host_err {
	HOST_ERR_NONE = 0,
	HOST_ERR_EMPTY,		 /* no bytes, or only a dot */
	HOST_ERR_EMPTY_LABEL,	 /* "a..b", ".a" */
	HOST_ERR_LABEL_TOO_LONG, /* a label over 63 bytes (as an A-label) */
	HOST_ERR_NAME_TOO_LONG,	 /* over 253 bytes (as A-labels, no trailing dot) */
	HOST_ERR_CHAR,		 /* a byte not allowed in a host name */
	HOST_ERR_PERCENT,	 /* percent-encoding */
	HOST_ERR_PORT,		 /* ':' outside brackets: a port or a bare IPv6 literal */
	HOST_ERR_IPV4,		 /* ends in a number but is not an IPv4 address */
	HOST_ERR_IPV6,		 /* "[...]" that is not an IPv6 address */
	HOST_ERR_ZONE,		 /* an IPv6 zone id */
	HOST_ERR_IDNA,		 /* refused by libidn2: see host_info.idna_rc */
	HOST_ERR__MAX,
};

/* What host_normalize found. */
struct host_info {
	enum host_kind kind;
	enum host_err err; /* HOST_ERR_NONE unless -EINVAL */
	int idna_rc;	   /* with HOST_ERR_IDNA: libidn2's error code */
	size_t err_off;	   /* with HOST_ERR_CHAR/PERCENT/PORT: offset of that byte in the input */
	unsigned char err_byte; /* ... and the byte itself */
	size_t len;		/* strlen(out) on success */
	union {
		struct in_addr v4;  /* HOST_IPV4, network byte order */
		struct in6_addr v6; /* HOST_IPV6 */
	} addr;
};

/*
 * Normalizes in[0, len) - a request authority's host, without port, IPv6
 * in brackets; not NUL-terminated, and a NUL inside is refused - into out
 * (NUL-terminated) as described at the top. info may be NULL; when given it
 * is filled on success and, with the reason, on -EINVAL.
 *
 * Returns 0, or
 *   -EINVAL  the host is refused (info->err says why), or in/out NULL;
 *   -ENOSPC  cap is too small for the result (HOST_NORM_MAX always fits);
 *   -ENOMEM  libidn2 ran out of memory.
 * On error out holds "" when cap > 0; on -ENOSPC info->len is the length
 * the result needs (NUL excluded).
 *
 * Cost: a pass over the bytes for ASCII hosts; libidn2 runs only for
 * non-ASCII and "xn--" labels.
 */
int host_normalize(const char *in, size_t len, char *out, size_t cap, struct host_info *info);

/*
 * Writes a in RFC 5952 text, without brackets ("2001:db8::1"; never a
 * dotted quad inside), NUL-terminated, into out[0, cap). Returns its length,
 * or -ENOSPC when cap < HOST_IPV6_TEXT_MAX (always enough), -EINVAL when a
 * or out is NULL.
 */
#define HOST_IPV6_TEXT_MAX 40
int host_format_ipv6(const struct in6_addr *a, char *out, size_t cap);

/* A short lowercase reason ("empty label"), "?" if err is out of range. */
const char *host_err_str(enum host_err err);

/*
 * Writes why info's host was refused into buf[0, cap) (truncated,
 * NUL-terminated): host_err_str, the offending byte where there is one
 * ("character '/' not allowed in a host name"), libidn2's words for IDNA
 * errors. Returns buf, or "" when buf is NULL or cap is 0.
 */
const char *host_why(const struct host_info *info, char *buf, size_t cap);

#endif
