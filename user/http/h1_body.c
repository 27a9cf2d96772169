// SPDX-License-Identifier: BSD-2-Clause
/*
 * Body decoder: Content-Length tracking, read-until-close, and the chunked
 * coding (RFC 9112 7.1). The chunked decoder is a byte-at-a-time state
 * machine so that it needs nothing kept from earlier feeds but its state: a
 * size line, an extension or a trailer may be split anywhere.
 *
 * Choices where the RFC leaves room, strict as in h1.c:
 *  - chunk-size is 1 to 16 hex digits (leading zeros count: a size line
 *    cannot grow without bound) worth at most 2^63-1.
 *  - Whitespace is taken only where the chunk-ext grammar puts BWS: around
 *    ';' and '='. "5 \r\n" (no extension after it) and " 5" are refused.
 *  - Extensions are checked against the grammar - token [= token /
 *    quoted-string] - and dropped; all the bytes between the size and the
 *    CRLF count against max_chunk_ext.
 *  - Every line, and the data, must end in CRLF: bare LF and a missing CRLF
 *    after the data are refused.
 *  - Trailer fields follow the head's field rules (token name, no
 *    whitespace before ':', no obs-fold, no CTL but HTAB in values) and are
 *    dropped after validation.
 */
#include "http/h1.h"
#include "http/h1_int.h"

#include <errno.h>
#include <string.h>

#define H1_CHUNK_DIGITS 16

enum {
	H1_BS_DONE = 0,
	H1_BS_ERROR,
	H1_BS_LENGTH,	   /* Content-Length bytes left in remaining */
	H1_BS_CLOSE,	   /* everything until h1_body_eof() */
	H1_BS_SIZE_FIRST,  /* first hex digit of a chunk size */
	H1_BS_SIZE,	   /* more hex digits, ';', BWS or CR */
	H1_BS_SIZE_BWS,	   /* BWS after the size: only ';' may follow */
	H1_BS_EXT_NAME_WS, /* after ';': BWS, then a token */
	H1_BS_EXT_NAME,
	H1_BS_EXT_EQ_WS, /* BWS after a name: '=' or ';' */
	H1_BS_EXT_VAL_WS,
	H1_BS_EXT_TOKEN,
	H1_BS_EXT_QUOTED,
	H1_BS_EXT_QPAIR,
	H1_BS_EXT_QEND,	   /* after the closing quote */
	H1_BS_EXT_SEMI_WS, /* BWS after a value: only ';' may follow */
	H1_BS_SIZE_LF,
	H1_BS_DATA,
	H1_BS_DATA_CR,
	H1_BS_DATA_LF,
	H1_BS_TR_START, /* start of a trailer line, or the final CRLF */
	H1_BS_TR_NAME,
	H1_BS_TR_VALUE,
	H1_BS_TR_LF,
	H1_BS_TR_END_LF,
};

static int h1_body_fail(struct h1_body *b, enum h1_err err)
{
	b->err = err;
	b->err_status = (uint16_t)h1_err_status(err, b->response);
	b->state = H1_BS_ERROR;
	return -EBADMSG;
}

void h1_body_start(struct h1_body *b, enum h1_body_mode mode, uint64_t length,
		   const struct h1_limits *lim, bool response)
{
	memset(b, 0, sizeof(*b));
	b->lim = lim ? lim : &h1_limits_default;
	b->mode = mode;
	b->response = response;
	switch (mode) {
	case H1_BODY_LENGTH:
		if (length > b->lim->max_body) {
			h1_body_fail(b, H1_ERR_BODY_TOO_LARGE);
			return;
		}
		b->remaining = length;
		b->state = length ? H1_BS_LENGTH : H1_BS_DONE;
		break;
	case H1_BODY_CHUNKED:
		b->state = H1_BS_SIZE_FIRST;
		break;
	case H1_BODY_CLOSE:
		b->state = H1_BS_CLOSE;
		break;
	default:
		b->state = H1_BS_DONE;
		break;
	}
}

void h1_body_init(struct h1_body *b, const struct h1_msg *m)
{
	h1_body_start(b, m->body, m->content_length, m->st.lim, m->response);
}

bool h1_body_done(const struct h1_body *b)
{
	return b->state == H1_BS_DONE;
}

int h1_body_eof(struct h1_body *b)
{
	if (b->state == H1_BS_DONE)
		return 0;
	if (b->state == H1_BS_ERROR)
		return -EBADMSG;
	if (b->state == H1_BS_CLOSE) {
		b->state = H1_BS_DONE;
		return 0;
	}
	return h1_body_fail(b, H1_ERR_TRUNCATED);
}

/* A byte of a chunk-ext: the whole run between size and CRLF is limited. */
static int h1_ext_byte(struct h1_body *b, int next)
{
	if (++b->line > b->lim->max_chunk_ext)
		return h1_body_fail(b, H1_ERR_CHUNK_EXT_TOO_LONG);
	b->state = (uint8_t)next;
	return 0;
}

/* The chunk-size line is complete: data follows, or the last chunk's trailers. */
static int h1_size_done(struct h1_body *b)
{
	if (!b->size) {
		b->state = H1_BS_TR_START;
		return 0;
	}
	if (b->size > b->lim->max_body - b->total)
		return h1_body_fail(b, H1_ERR_BODY_TOO_LARGE);
	b->remaining = b->size;
	b->state = H1_BS_DATA;
	return 0;
}

/* A byte of the trailer section, which is limited as a whole. */
static int h1_trailer_byte(struct h1_body *b, int next)
{
	if (++b->trailer > b->lim->max_trailer)
		return h1_body_fail(b, H1_ERR_TRAILER_TOO_LARGE);
	b->state = (uint8_t)next;
	return 0;
}

/* A byte of a trailer field line, in H1_BS_TR_NAME or H1_BS_TR_VALUE. */
static int h1_trailer_field_byte(struct h1_body *b, unsigned char c)
{
	bool value = b->state == H1_BS_TR_VALUE;

	if (value && c == '\r')
		return h1_trailer_byte(b, H1_BS_TR_LF);
	/* no whitespace before ':' (it is no tchar), no CTL but HTAB in values */
	if (value ? !h1_is(c, H1_C_VALUE) : !h1_is(c, H1_C_TCHAR) && c != ':')
		return h1_body_fail(b, H1_ERR_TRAILER);
	if (++b->line > b->lim->max_field)
		return h1_body_fail(b, H1_ERR_TRAILER_TOO_LARGE);
	return h1_trailer_byte(b, value || c == ':' ? H1_BS_TR_VALUE : H1_BS_TR_NAME);
}

/* One byte of chunked framing (anything but data) in state b->state. */
static int h1_chunk_byte(struct h1_body *b, unsigned char c)
{
	bool ows = h1_is(c, H1_C_OWS), tchar = h1_is(c, H1_C_TCHAR);
	uint32_t max_fields;
	int v;

	switch (b->state) {
	case H1_BS_SIZE_FIRST:
	case H1_BS_SIZE:
		v = h1_hexval(c);
		if (v >= 0) {
			if (b->digits == H1_CHUNK_DIGITS ||
			    b->size > (uint64_t)(INT64_MAX - v) / 16)
				return h1_body_fail(b, H1_ERR_CHUNK_SIZE);
			b->size = b->size * 16 + v;
			b->digits++;
			b->state = H1_BS_SIZE;
			return 0;
		}
		if (b->state == H1_BS_SIZE_FIRST)
			return h1_body_fail(b, H1_ERR_CHUNK_SIZE);
		b->line = 0;
		if (c == '\r') {
			b->state = H1_BS_SIZE_LF;
			return 0;
		}
		if (c == ';')
			return h1_ext_byte(b, H1_BS_EXT_NAME_WS);
		if (ows)
			return h1_ext_byte(b, H1_BS_SIZE_BWS);
		return h1_body_fail(b, c == '\n' ? H1_ERR_CHUNK_CRLF : H1_ERR_CHUNK_SIZE);
	case H1_BS_SIZE_BWS:
		if (ows || c == ';')
			return h1_ext_byte(b, ows ? H1_BS_SIZE_BWS : H1_BS_EXT_NAME_WS);
		/* "5 \r\n": whitespace after a size, with no extension after it */
		return h1_body_fail(b, H1_ERR_CHUNK_SIZE);
	case H1_BS_EXT_NAME_WS:
		if (ows || tchar)
			return h1_ext_byte(b, ows ? H1_BS_EXT_NAME_WS : H1_BS_EXT_NAME);
		break;
	case H1_BS_EXT_NAME:
		if (tchar)
			return h1_ext_byte(b, H1_BS_EXT_NAME);
		if (ows)
			return h1_ext_byte(b, H1_BS_EXT_EQ_WS);
		if (c == '=')
			return h1_ext_byte(b, H1_BS_EXT_VAL_WS);
		if (c == ';')
			return h1_ext_byte(b, H1_BS_EXT_NAME_WS);
		if (c == '\r') {
			b->state = H1_BS_SIZE_LF;
			return 0;
		}
		break;
	case H1_BS_EXT_EQ_WS:
		if (ows)
			return h1_ext_byte(b, H1_BS_EXT_EQ_WS);
		if (c == '=')
			return h1_ext_byte(b, H1_BS_EXT_VAL_WS);
		if (c == ';')
			return h1_ext_byte(b, H1_BS_EXT_NAME_WS);
		break;
	case H1_BS_EXT_VAL_WS:
		if (ows || tchar)
			return h1_ext_byte(b, ows ? H1_BS_EXT_VAL_WS : H1_BS_EXT_TOKEN);
		if (c == '"')
			return h1_ext_byte(b, H1_BS_EXT_QUOTED);
		break;
	case H1_BS_EXT_TOKEN:
	case H1_BS_EXT_QEND:
		if (tchar && b->state == H1_BS_EXT_TOKEN)
			return h1_ext_byte(b, H1_BS_EXT_TOKEN);
		if (ows)
			return h1_ext_byte(b, H1_BS_EXT_SEMI_WS);
		if (c == ';')
			return h1_ext_byte(b, H1_BS_EXT_NAME_WS);
		if (c == '\r') {
			b->state = H1_BS_SIZE_LF;
			return 0;
		}
		break;
	case H1_BS_EXT_QUOTED:
		if (c == '"')
			return h1_ext_byte(b, H1_BS_EXT_QEND);
		if (c == '\\')
			return h1_ext_byte(b, H1_BS_EXT_QPAIR);
		if (h1_is(c, H1_C_QDTEXT))
			return h1_ext_byte(b, H1_BS_EXT_QUOTED);
		break;
	case H1_BS_EXT_QPAIR:
		if (h1_is(c, H1_C_VALUE))
			return h1_ext_byte(b, H1_BS_EXT_QUOTED);
		break;
	case H1_BS_EXT_SEMI_WS:
		if (ows)
			return h1_ext_byte(b, H1_BS_EXT_SEMI_WS);
		if (c == ';')
			return h1_ext_byte(b, H1_BS_EXT_NAME_WS);
		break;
	case H1_BS_SIZE_LF:
		if (c != '\n')
			return h1_body_fail(b, H1_ERR_CHUNK_CRLF);
		return h1_size_done(b);
	case H1_BS_DATA_CR:
		if (c != '\r')
			return h1_body_fail(b, H1_ERR_CHUNK_CRLF);
		b->state = H1_BS_DATA_LF;
		return 0;
	case H1_BS_DATA_LF:
		if (c != '\n')
			return h1_body_fail(b, H1_ERR_CHUNK_CRLF);
		b->size = 0;
		b->digits = 0;
		b->state = H1_BS_SIZE_FIRST;
		return 0;
	case H1_BS_TR_START:
		if (c == '\r')
			return h1_trailer_byte(b, H1_BS_TR_END_LF);
		/* obs-fold, whitespace first, bare LF, or no name: all refused */
		if (!tchar)
			return h1_body_fail(b, H1_ERR_TRAILER);
		max_fields =
		    b->lim->max_fields < H1_FIELDS_MAX ? b->lim->max_fields : H1_FIELDS_MAX;
		if (b->nr_trailers >= max_fields)
			return h1_body_fail(b, H1_ERR_TRAILER_TOO_LARGE);
		b->line = 0;
		b->state = H1_BS_TR_NAME;
		return h1_trailer_field_byte(b, c);
	case H1_BS_TR_NAME:
	case H1_BS_TR_VALUE:
		return h1_trailer_field_byte(b, c);
	case H1_BS_TR_LF:
		if (c != '\n')
			return h1_body_fail(b, H1_ERR_TRAILER);
		b->nr_trailers++;
		return h1_trailer_byte(b, H1_BS_TR_START);
	case H1_BS_TR_END_LF:
		if (c != '\n')
			return h1_body_fail(b, H1_ERR_TRAILER);
		return h1_trailer_byte(b, H1_BS_DONE);
	}
	return h1_body_fail(b, H1_ERR_CHUNK_EXT);
}

int h1_body_feed(struct h1_body *b, const char *in, size_t len, struct h1_body_out *out)
{
	size_t i = 0, n;

	out->consumed = out->data_off = out->data_len = 0;
	if (!len && b->state != H1_BS_ERROR)
		return 0;
	switch (b->state) {
	case H1_BS_DONE:
		return 0;
	case H1_BS_ERROR:
		return -EBADMSG;
	case H1_BS_LENGTH:
		n = len < b->remaining ? len : (size_t)b->remaining;
		b->remaining -= n;
		b->total += n;
		if (!b->remaining)
			b->state = H1_BS_DONE;
		out->consumed = out->data_len = n;
		return 0;
	case H1_BS_CLOSE:
		/*
		 * Up to the limit, then refuse: the data passed on before the
		 * refusal is then the same however the body was split.
		 */
		if (b->total == b->lim->max_body)
			return h1_body_fail(b, H1_ERR_BODY_TOO_LARGE);
		n = len < b->lim->max_body - b->total ? len : (size_t)(b->lim->max_body - b->total);
		b->total += n;
		out->consumed = out->data_len = n;
		return 0;
	}

	while (i < len && b->state != H1_BS_DONE) {
		if (b->state == H1_BS_DATA) {
			n = len - i < b->remaining ? len - i : (size_t)b->remaining;
			b->remaining -= n;
			b->total += n;
			if (!b->remaining)
				b->state = H1_BS_DATA_CR;
			out->data_off = i;
			out->data_len = n;
			i += n;
			break;
		}
		if (h1_chunk_byte(b, (unsigned char)in[i]))
			return -EBADMSG;
		i++;
	}
	out->consumed = i;
	return 0;
}
