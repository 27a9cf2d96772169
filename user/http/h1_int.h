/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals shared by h1.c, h1_body.c and h1_write.c: one byte-class table,
 * so the head parser, the chunk decoder and the writer agree on every
 * character class by construction.
 */
#ifndef XDP_HTTP_H1_INT_H
#define XDP_HTTP_H1_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H1_C_TCHAR  0x01 /* tchar (RFC 9110 5.6.2) */
#define H1_C_VALUE  0x02 /* inside a field value or reason: VCHAR, obs-text, SP, HTAB */
#define H1_C_TARGET 0x04 /* request-target: VCHAR but '#' */
#define H1_C_HOST   0x08 /* reg-name as we take it: ALPHA DIGIT - . _ ~ and % (pct-encoded) */
#define H1_C_HEX    0x10
#define H1_C_DIGIT  0x20
#define H1_C_OWS    0x40 /* SP, HTAB */
#define H1_C_QDTEXT 0x80 /* quoted-string text: H1_C_VALUE but '"' and '\' */

extern const uint8_t h1_ctype[256];

static inline bool h1_is(unsigned char c, uint8_t cls)
{
	return h1_ctype[c] & cls;
}

static inline int h1_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Next token of a comma-separated token list (RFC 9110 5.6.1) in
 * v[*pos, len): empty elements and OWS are skipped. Returns 1 with the token
 * in v[*tok, *tok + *tlen), 0 at the end, -1 if an element is not a token.
 */
int h1_list_token(const char *v, size_t len, size_t *pos, size_t *tok, size_t *tlen);

/* Case-insensitive compare of p[0, len) with the lowercase ASCII lit. */
bool h1_eq_ci(const char *p, size_t len, const char *lit);

/* Case-insensitive (ASCII letters only) compare of a[0, n) and b[0, n). */
bool h1_memeq_ci(const char *a, const char *b, size_t n);

#endif
