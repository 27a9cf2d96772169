// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/1.1 head parser: start line, field lines, and the framing they imply.
 *
 * It reads line by line. The caller keeps the head in one buffer (the view
 * is offsets into it), so a line is validated only once its LF is in, and
 * the search for that LF resumes where the previous call stopped. Limits are
 * enforced as caps on where an LF may still appear, so a verdict depends on
 * the bytes alone and never on how they were split into calls.
 *
 * Where RFC 9110/9112 leave a choice, this parser takes the strict one; a
 * proxy's leniency is the next hop's desync:
 *  - A head line must end in CRLF; a bare LF is an error (9112 2.2 allows
 *    LF alone), and so is a CR anywhere else in the head.
 *  - Up to max_empty_lines CRLFs before a request line are skipped (9112 2.2:
 *    SHOULD ignore at least one); none before a status line.
 *  - Content-Length is one field line holding 1*DIGIT (leading zeros taken)
 *    up to 2^63-1. A list ("5, 5") or a second line is refused even when the
 *    values agree: 9110 8.6 allows either and nginx refuses too.
 *  - Transfer-Encoding: a request may use chunked only, once and last.
 *    Final coding not chunked -> 400 (9112 6.3 MUST); another coding before
 *    it -> 501 (9112 6.1): re-framing the body cannot carry one faithfully.
 *    A response may list other codings (flagged H1_F_TE_CODED); if chunked
 *    is not last it is read until close (9112 6.3). In HTTP/1.0, and next
 *    to Content-Length, Transfer-Encoding is refused in both directions
 *    (9112 6.1 "faulty framing", 6.3 "ought to be handled as an error").
 *  - obs-fold is refused in both directions (9112 5.2 would let us unfold it
 *    in responses); so is whitespace before the first field line.
 *  - Field values may hold obs-text (0x80-0xff), as the grammar allows.
 *  - Request target: VCHARs but '#' (9112 3.2 has no fragment). Characters
 *    RFC 3986 excludes but clients send ('|', '{', '"') pass: none of them
 *    ends the target for the next hop. absolute-form: http and https only,
 *    no userinfo, a non-empty host (9110 4.2.1, 4.2.4).
 *  - Host: reg-name is ALPHA DIGIT - . _ ~ and pct-encoded (sub-delims
 *    would make "a,b" a host), IP-literal is HEXDIG ':' '.' (no IPvFuture);
 *    a port, if ':' is there, is 1-5 digits <= 65535. An empty Host is
 *    valid (9112 3.2: a target without authority).
 *  - Version: HTTP/1.0 and HTTP/1.1 only; any other HTTP/DIGIT.DIGIT is 505
 *    (1.2 included: 9110 2.5 only says we SHOULD treat it as 1.1), anything
 *    else 400.
 *  - A status line may omit the SP before an empty reason ("HTTP/1.1 200"):
 *    old servers send it and it reads only one way.
 *  - Expect: only 100-continue is recognized, and only in HTTP/1.1 (9110
 *    10.1.1); other expectations are left to the caller (417 is a MAY).
 */
#include "http/h1.h"
#include "http/h1_int.h"

#include <errno.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Keep every offset within a uint32_t span, whatever the limits say. */
#define H1_HEAD_CAP  (1u << 30)
#define H1_EMPTY_CAP 1024u

const struct h1_limits h1_limits_default = {
    .max_start_line = 8192,
    .max_field = 8192,
    .max_head = 65536,
    .max_fields = 100,
    .max_chunk_ext = 1024,
    .max_trailer = 8192,
    .max_empty_lines = 4,
    .max_body = UINT64_MAX,
};

#define T H1_C_TCHAR
#define V H1_C_VALUE
#define P H1_C_TARGET
#define H H1_C_HOST
#define X H1_C_HEX
#define D H1_C_DIGIT
#define W H1_C_OWS
#define Q H1_C_QDTEXT
/* Everything not listed (CTLs but HTAB, DEL) is in no class. */
const uint8_t h1_ctype[256] = {
    ['\t'] = V | W | Q,
    [' '] = V | W | Q,
    ['!'] = T | V | P | Q,
    ['"'] = V | P,
    ['#'] = T | V | Q,
    ['$'] = T | V | P | Q,
    ['%'] = T | V | P | Q | H,
    ['&'] = T | V | P | Q,
    ['\''] = T | V | P | Q,
    ['('] = V | P | Q,
    [')'] = V | P | Q,
    ['*'] = T | V | P | Q,
    ['+'] = T | V | P | Q,
    [','] = V | P | Q,
    ['-'] = T | V | P | Q | H,
    ['.'] = T | V | P | Q | H,
    ['/'] = V | P | Q,
    ['0' ... '9'] = T | V | P | Q | H | X | D,
    [':'] = V | P | Q,
    [';'] = V | P | Q,
    ['<'] = V | P | Q,
    ['='] = V | P | Q,
    ['>'] = V | P | Q,
    ['?'] = V | P | Q,
    ['@'] = V | P | Q,
    ['A' ... 'F'] = T | V | P | Q | H | X,
    ['G' ... 'Z'] = T | V | P | Q | H,
    ['['] = V | P | Q,
    ['\\'] = V | P,
    [']'] = V | P | Q,
    ['^'] = T | V | P | Q,
    ['_'] = T | V | P | Q | H,
    ['`'] = T | V | P | Q,
    ['a' ... 'f'] = T | V | P | Q | H | X,
    ['g' ... 'z'] = T | V | P | Q | H,
    ['{'] = V | P | Q,
    ['|'] = T | V | P | Q,
    ['}'] = V | P | Q,
    ['~'] = T | V | P | Q | H,
    [0x80 ... 0xff] = V | Q,
};
#undef T
#undef V
#undef P
#undef H
#undef X
#undef D
#undef W
#undef Q

static const struct {
	const char *name;
	uint16_t status;
} h1_errs[H1_ERR__MAX] = {
    [H1_ERR_NONE] = {"none", 0},
    [H1_ERR_START_LINE_TOO_LONG] = {"start-line-too-long", 414},
    [H1_ERR_FIELD_TOO_LONG] = {"field-too-long", 431},
    [H1_ERR_HEAD_TOO_LARGE] = {"head-too-large", 431},
    [H1_ERR_TOO_MANY_FIELDS] = {"too-many-fields", 431},
    [H1_ERR_BARE_LF] = {"bare-lf", 400},
    [H1_ERR_EMPTY_LINES] = {"empty-lines", 400},
    [H1_ERR_REQUEST_LINE] = {"request-line", 400},
    [H1_ERR_METHOD] = {"method", 400},
    [H1_ERR_TARGET] = {"target", 400},
    [H1_ERR_TARGET_FORM] = {"target-form", 400},
    [H1_ERR_VERSION] = {"version", 400},
    [H1_ERR_VERSION_UNSUPPORTED] = {"version-unsupported", 505},
    [H1_ERR_STATUS_LINE] = {"status-line", 502},
    [H1_ERR_FIELD_NAME] = {"field-name", 400},
    [H1_ERR_FIELD_VALUE] = {"field-value", 400},
    [H1_ERR_OBS_FOLD] = {"obs-fold", 400},
    [H1_ERR_HOST_MISSING] = {"host-missing", 400},
    [H1_ERR_HOST_DUP] = {"host-dup", 400},
    [H1_ERR_HOST_INVALID] = {"host-invalid", 400},
    [H1_ERR_CL_INVALID] = {"cl-invalid", 400},
    [H1_ERR_CL_DUP] = {"cl-dup", 400},
    [H1_ERR_CL_TE] = {"cl-te", 400},
    [H1_ERR_TE_INVALID] = {"te-invalid", 400},
    [H1_ERR_TE_HTTP10] = {"te-http10", 400},
    [H1_ERR_TE_CHUNKED_TWICE] = {"te-chunked-twice", 400},
    [H1_ERR_TE_NOT_CHUNKED] = {"te-not-chunked", 400},
    [H1_ERR_TE_UNSUPPORTED] = {"te-unsupported", 501},
    [H1_ERR_CONNECTION] = {"connection", 400},
    [H1_ERR_BODY_TOO_LARGE] = {"body-too-large", 413},
    [H1_ERR_CHUNK_SIZE] = {"chunk-size", 400},
    [H1_ERR_CHUNK_EXT] = {"chunk-ext", 400},
    [H1_ERR_CHUNK_EXT_TOO_LONG] = {"chunk-ext-too-long", 400},
    [H1_ERR_CHUNK_CRLF] = {"chunk-crlf", 400},
    [H1_ERR_TRAILER] = {"trailer", 400},
    [H1_ERR_TRAILER_TOO_LARGE] = {"trailer-too-large", 431},
    [H1_ERR_TRUNCATED] = {"truncated", 400},
};

const char *h1_err_str(enum h1_err err)
{
	if ((unsigned int)err >= H1_ERR__MAX || !h1_errs[err].name)
		return "?";
	return h1_errs[err].name;
}

int h1_err_status(enum h1_err err, bool response)
{
	if (err == H1_ERR_NONE || (unsigned int)err >= H1_ERR__MAX)
		return 0;
	return response ? 502 : h1_errs[err].status;
}

static inline unsigned char h1_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

bool h1_eq_ci(const char *p, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!lit[i] || h1_lower(p[i]) != (unsigned char)lit[i])
			return false;
	return !lit[len];
}

bool h1_memeq_ci(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (h1_lower(a[i]) != h1_lower(b[i]))
			return false;
	return true;
}

bool h1_span_eq_ci(const char *buf, struct h1_span s, const char *str)
{
	size_t n = strlen(str);

	return n == s.len && h1_memeq_ci(buf + s.off, str, n);
}

int h1_field_find(const struct h1_msg *m, const char *buf, const char *name, uint32_t from)
{
	size_t n = strlen(name);
	uint32_t i;

	for (i = from; i < m->nr_fields; i++)
		if (m->fields[i].name.len == n && h1_memeq_ci(buf + m->fields[i].name.off, name, n))
			return (int)i;
	return -ENOENT;
}

enum {
	H1_PH_START = 0, /* CRLFs before the start line, then the start line */
	H1_PH_FIELDS,
	H1_PH_DONE,
	H1_PH_ERROR,
};

enum {
	H1_KIND_NONE = 0,
	H1_KIND_REQ,
	H1_KIND_RSP,
};

/* h1_pstate.te: what the Transfer-Encoding lines so far listed */
#define H1_TE_SEEN	   0x1
#define H1_TE_CHUNKED	   0x2 /* chunked, somewhere */
#define H1_TE_LAST_CHUNKED 0x4 /* chunked, as the last coding so far */
#define H1_TE_OTHER	   0x8 /* a coding other than chunked */

static struct h1_span h1_mkspan(size_t off, size_t len)
{
	return (struct h1_span){.off = (uint32_t)off, .len = (uint32_t)len};
}

static int h1_fail(struct h1_msg *m, enum h1_err err, size_t off)
{
	m->err = err;
	m->err_status = (uint16_t)h1_err_status(err, m->response);
	m->err_off = (uint32_t)off;
	m->st.phase = H1_PH_ERROR;
	return -EBADMSG;
}

void h1_msg_init(struct h1_msg *m, const struct h1_limits *lim)
{
	if (!lim)
		lim = &h1_limits_default;
	/* The field array is 4 KiB that nr_fields already says is empty. */
	memset(m, 0, offsetof(struct h1_msg, fields));
	m->host = -1;
	m->st.lim = lim;
	m->st.max_fields = lim->max_fields < H1_FIELDS_MAX ? lim->max_fields : H1_FIELDS_MAX;
}

/* "HTTP/1.0" -> 10, "HTTP/1.1" -> 11, another HTTP/D.D -> -2, else -1. */
static int h1_version(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) || !h1_is(p[5], H1_C_DIGIT) || p[6] != '.' ||
	    !h1_is(p[7], H1_C_DIGIT))
		return -1;
	if (p[5] == '1' && (p[7] == '0' || p[7] == '1'))
		return p[7] == '0' ? 10 : 11;
	return -2;
}

/*
 * uri-host [":" port] as described at the top; need_port for CONNECT's
 * authority-form. Userinfo fails: '@' is in no host class.
 */
static bool h1_authority_ok(const char *p, size_t len, bool need_port)
{
	unsigned int port = 0;
	size_t i = 0, digits;

	if (!len)
		return false;
	if (p[0] == '[') {
		for (i = 1; i < len && (h1_is(p[i], H1_C_HEX) || p[i] == ':' || p[i] == '.'); i++)
			;
		if (i == len || p[i] != ']' || i < 3)
			return false;
		i++;
	} else {
		while (i < len && h1_is(p[i], H1_C_HOST)) {
			if (p[i] != '%') {
				i++;
				continue;
			}
			if (i + 2 >= len || !h1_is(p[i + 1], H1_C_HEX) ||
			    !h1_is(p[i + 2], H1_C_HEX))
				return false;
			i += 3;
		}
		if (!i)
			return false;
	}
	if (i == len)
		return !need_port;
	if (p[i++] != ':')
		return false;
	digits = len - i;
	if (digits < 1 || digits > 5)
		return false;
	for (; i < len; i++) {
		if (!h1_is(p[i], H1_C_DIGIT))
			return false;
		port = port * 10 + (p[i] - '0');
	}
	return port <= 65535;
}

static enum h1_meth h1_method_id(const char *p, size_t n)
{
	static const struct {
		const char *name;
		enum h1_meth id;
	} meths[] = {
	    {"GET", H1_METH_GET},	  {"HEAD", H1_METH_HEAD},     {"POST", H1_METH_POST},
	    {"PUT", H1_METH_PUT},	  {"DELETE", H1_METH_DELETE}, {"CONNECT", H1_METH_CONNECT},
	    {"OPTIONS", H1_METH_OPTIONS}, {"TRACE", H1_METH_TRACE},   {"PATCH", H1_METH_PATCH},
	};
	size_t i;

	/* Methods are case-sensitive (9110 9.1): "get" is some other method. */
	for (i = 0; i < ARRAY_SIZE(meths); i++)
		if (strlen(meths[i].name) == n && !memcmp(meths[i].name, p, n))
			return meths[i].id;
	return H1_METH_OTHER;
}

static bool h1_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1) */
static bool h1_is_scheme(unsigned char c)
{
	return h1_is_alpha(c) || h1_is(c, H1_C_DIGIT) || c == '+' || c == '-' || c == '.';
}

/* The target's form against the method (9112 3.2), and its authority and path. */
static int h1_target(struct h1_msg *m, const char *buf, size_t t, size_t n)
{
	const char *p = buf + t;
	bool connect = m->meth == H1_METH_CONNECT;
	size_t i = 0, a, ae;

	if (p[0] == '/') {
		if (connect)
			return h1_fail(m, H1_ERR_TARGET_FORM, t);
		m->form = H1_FORM_ORIGIN;
		m->path = h1_mkspan(t, n);
		return 0;
	}
	if (n == 1 && p[0] == '*') {
		if (m->meth != H1_METH_OPTIONS)
			return h1_fail(m, H1_ERR_TARGET_FORM, t);
		m->form = H1_FORM_ASTERISK;
		return 0;
	}
	if (h1_is_alpha(p[0]))
		for (i = 1; i < n && h1_is_scheme(p[i]); i++)
			;
	if (i && i + 3 <= n && !memcmp(p + i, "://", 3)) {
		if (!h1_eq_ci(p, i, "http") && !h1_eq_ci(p, i, "https"))
			return h1_fail(m, H1_ERR_TARGET, t);
		if (connect)
			return h1_fail(m, H1_ERR_TARGET_FORM, t);
		a = i + 3;
		for (ae = a; ae < n && p[ae] != '/' && p[ae] != '?'; ae++)
			;
		if (!h1_authority_ok(p + a, ae - a, false))
			return h1_fail(m, H1_ERR_TARGET, t);
		m->form = H1_FORM_ABSOLUTE;
		m->authority = h1_mkspan(t + a, ae - a);
		m->path = h1_mkspan(t + ae, n - ae);
		return 0;
	}
	if (h1_authority_ok(p, n, true)) {
		if (!connect)
			return h1_fail(m, H1_ERR_TARGET_FORM, t);
		m->form = H1_FORM_AUTHORITY;
		m->authority = h1_mkspan(t, n);
		return 0;
	}
	return h1_fail(m, H1_ERR_TARGET, t);
}

/* method SP request-target SP HTTP-version, in buf[s, e) (9112 3). */
static int h1_request_line(struct h1_msg *m, const char *buf, size_t s, size_t e)
{
	size_t i, t, v;
	int ver;

	for (i = s; i < e && h1_is(buf[i], H1_C_TCHAR); i++)
		;
	if (i < e && buf[i] != ' ' && buf[i] != '\t')
		return h1_fail(m, H1_ERR_METHOD, s);
	if (i == e || i == s || buf[i] != ' ')
		return h1_fail(m, H1_ERR_REQUEST_LINE, s);
	m->method = h1_mkspan(s, i - s);
	m->meth = h1_method_id(buf + s, i - s);

	for (t = v = i + 1; v < e && h1_is(buf[v], H1_C_TARGET); v++)
		;
	if (v == t || v == e)
		return h1_fail(m, H1_ERR_REQUEST_LINE, s);
	if (buf[v] != ' ')
		return h1_fail(m, H1_ERR_TARGET, s);
	m->target = h1_mkspan(t, v - t);

	if (memchr(buf + v + 1, ' ', e - v - 1))
		return h1_fail(m, H1_ERR_REQUEST_LINE, s);
	ver = h1_version(buf + v + 1, e - v - 1);
	if (ver == -2)
		return h1_fail(m, H1_ERR_VERSION_UNSUPPORTED, s);
	if (ver < 0)
		return h1_fail(m, H1_ERR_VERSION, s);
	m->version = (uint8_t)ver;
	return h1_target(m, buf, t, v - t);
}

/* HTTP-version SP 3DIGIT [SP reason-phrase], in buf[s, e) (9112 4). */
static int h1_status_line(struct h1_msg *m, const char *buf, size_t s, size_t e)
{
	const char *p = buf + s;
	size_t n = e - s, i;
	int ver;

	if (n < 12 || p[8] != ' ')
		return h1_fail(m, H1_ERR_STATUS_LINE, s);
	ver = h1_version(p, 8);
	if (ver == -2)
		return h1_fail(m, H1_ERR_VERSION_UNSUPPORTED, s);
	if (ver < 0)
		return h1_fail(m, H1_ERR_STATUS_LINE, s);
	if (!h1_is(p[9], H1_C_DIGIT) || !h1_is(p[10], H1_C_DIGIT) || !h1_is(p[11], H1_C_DIGIT) ||
	    (n > 12 && p[12] != ' '))
		return h1_fail(m, H1_ERR_STATUS_LINE, s);
	m->status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	if (m->status < 100 || m->status > 599)
		return h1_fail(m, H1_ERR_STATUS_LINE, s);
	for (i = 13; i < n; i++)
		if (!h1_is(p[i], H1_C_VALUE))
			return h1_fail(m, H1_ERR_STATUS_LINE, s);
	m->version = (uint8_t)ver;
	m->reason = n > 12 ? h1_mkspan(s + 13, n - 13) : h1_mkspan(e, 0);
	return 0;
}

int h1_list_token(const char *v, size_t len, size_t *pos, size_t *tok, size_t *tlen)
{
	size_t i = *pos;

	while (i < len && (v[i] == ',' || h1_is(v[i], H1_C_OWS)))
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	*tok = i;
	while (i < len && h1_is(v[i], H1_C_TCHAR))
		i++;
	if (i == *tok)
		return -1;
	*tlen = i - *tok;
	while (i < len && h1_is(v[i], H1_C_OWS))
		i++;
	if (i < len && v[i] != ',')
		return -1;
	*pos = i;
	return 1;
}

static size_t h1_skip_ows(const char *v, size_t len, size_t i)
{
	while (i < len && h1_is(v[i], H1_C_OWS))
		i++;
	return i;
}

/*
 * transfer-parameter = token BWS "=" BWS ( token / quoted-string ), from
 * v[i] (just after the ';' and its OWS). Returns the index after it, or
 * SIZE_MAX on a syntax error. Quoted strings are parsed, not skipped to the
 * next comma: "x;q=\"a, chunked\"" must not read as ending in chunked.
 */
static size_t h1_skip_param(const char *v, size_t len, size_t i)
{
	size_t s = i;

	while (i < len && h1_is(v[i], H1_C_TCHAR))
		i++;
	if (i == s)
		return SIZE_MAX;
	i = h1_skip_ows(v, len, i);
	if (i == len || v[i] != '=')
		return SIZE_MAX;
	i = h1_skip_ows(v, len, i + 1);
	if (i < len && v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len && h1_is(v[i + 1], H1_C_VALUE))
				i++;
			else if (!h1_is(v[i], H1_C_QDTEXT))
				return SIZE_MAX;
		}
		return i < len ? i + 1 : SIZE_MAX;
	}
	s = i;
	while (i < len && h1_is(v[i], H1_C_TCHAR))
		i++;
	return i == s ? SIZE_MAX : i;
}

/* One Transfer-Encoding line: #transfer-coding (9112 6.1, 9110 10.1.4). */
static int h1_te_field(struct h1_msg *m, const char *v, size_t len, size_t line)
{
	struct h1_pstate *st = &m->st;
	bool any = false;
	size_t i = 0;

	for (;;) {
		bool params = false, chunked;
		size_t tok;

		while (i < len && (v[i] == ',' || h1_is(v[i], H1_C_OWS)))
			i++;
		if (i == len)
			break;
		for (tok = i; i < len && h1_is(v[i], H1_C_TCHAR); i++)
			;
		if (i == tok)
			return h1_fail(m, H1_ERR_TE_INVALID, line);
		chunked = h1_eq_ci(v + tok, i - tok, "chunked");
		i = h1_skip_ows(v, len, i);
		while (i < len && v[i] == ';') {
			params = true;
			i = h1_skip_param(v, len, h1_skip_ows(v, len, i + 1));
			if (i == SIZE_MAX)
				return h1_fail(m, H1_ERR_TE_INVALID, line);
			i = h1_skip_ows(v, len, i);
		}
		if (i < len && v[i] != ',')
			return h1_fail(m, H1_ERR_TE_INVALID, line);
		any = true;
		if (!chunked) {
			st->te = (st->te & ~H1_TE_LAST_CHUNKED) | H1_TE_OTHER;
			continue;
		}
		/* chunked takes no parameters: "chunked;x=y" is not chunked. */
		if (params)
			return h1_fail(m, H1_ERR_TE_INVALID, line);
		if (st->te & H1_TE_CHUNKED)
			return h1_fail(m, H1_ERR_TE_CHUNKED_TWICE, line);
		st->te |= H1_TE_CHUNKED | H1_TE_LAST_CHUNKED;
	}
	if (!any)
		return h1_fail(m, H1_ERR_TE_INVALID, line);
	st->te |= H1_TE_SEEN;
	return 0;
}

static int h1_connection_field(struct h1_msg *m, const char *v, size_t len, size_t line)
{
	size_t pos = 0, tok = 0, tlen = 0;
	int ret;

	while ((ret = h1_list_token(v, len, &pos, &tok, &tlen)) > 0) {
		if (h1_eq_ci(v + tok, tlen, "close"))
			m->flags |= H1_F_CONN_CLOSE;
		else if (h1_eq_ci(v + tok, tlen, "keep-alive"))
			m->flags |= H1_F_CONN_KEEPALIVE;
		else if (h1_eq_ci(v + tok, tlen, "upgrade"))
			m->flags |= H1_F_CONN_UPGRADE;
	}
	return ret < 0 ? h1_fail(m, H1_ERR_CONNECTION, line) : 0;
}

static int h1_cl_field(struct h1_msg *m, const char *v, size_t len, size_t line)
{
	uint64_t cl = 0;
	size_t i;

	if (m->st.nr_cl++)
		return h1_fail(m, H1_ERR_CL_DUP, line);
	if (!len)
		return h1_fail(m, H1_ERR_CL_INVALID, line);
	for (i = 0; i < len; i++) {
		unsigned int d = (unsigned char)v[i] - '0';

		if (d > 9 || cl > ((uint64_t)INT64_MAX - d) / 10)
			return h1_fail(m, H1_ERR_CL_INVALID, line);
		cl = cl * 10 + d;
	}
	m->content_length = cl;
	return 0;
}

/* What the fields that decide framing, routing and the connection say. */
static int h1_field_meaning(struct h1_msg *m, const char *buf, uint32_t idx, size_t line)
{
	const struct h1_field *f = &m->fields[idx];
	const char *n = buf + f->name.off, *v = buf + f->value.off;
	size_t nl = f->name.len, vl = f->value.len;

	switch (nl) {
	case 4:
		if (m->response || !h1_eq_ci(n, nl, "host"))
			break;
		if (m->host >= 0)
			return h1_fail(m, H1_ERR_HOST_DUP, line);
		if (vl && !h1_authority_ok(v, vl, false))
			return h1_fail(m, H1_ERR_HOST_INVALID, line);
		m->host = (int)idx;
		break;
	case 6:
		if (!m->response && h1_eq_ci(n, nl, "expect") && h1_eq_ci(v, vl, "100-continue"))
			m->st.expect_continue = true;
		break;
	case 7:
		if (vl && h1_eq_ci(n, nl, "upgrade"))
			m->st.upgrade_seen = true;
		break;
	case 10:
		if (h1_eq_ci(n, nl, "connection"))
			return h1_connection_field(m, v, vl, line);
		break;
	case 14:
		if (h1_eq_ci(n, nl, "content-length"))
			return h1_cl_field(m, v, vl, line);
		break;
	case 17:
		if (h1_eq_ci(n, nl, "transfer-encoding"))
			return h1_te_field(m, v, vl, line);
		break;
	}
	return 0;
}

/* field-name ":" OWS field-value OWS, in buf[s, e) (9112 5). */
static int h1_field_line(struct h1_msg *m, const char *buf, size_t s, size_t e)
{
	struct h1_field *f;
	size_t i, n, vs, ve;

	/* obs-fold, or whitespace before the first field (9112 2.2, 5.2) */
	if (h1_is(buf[s], H1_C_OWS))
		return h1_fail(m, H1_ERR_OBS_FOLD, s);
	if (m->nr_fields >= m->st.max_fields)
		return h1_fail(m, H1_ERR_TOO_MANY_FIELDS, s);
	for (i = s; i < e && h1_is(buf[i], H1_C_TCHAR); i++)
		;
	/* no whitespace before the colon (9112 5.1): it is no tchar */
	if (i == s || i == e || buf[i] != ':')
		return h1_fail(m, H1_ERR_FIELD_NAME, s);
	vs = h1_skip_ows(buf, e, i + 1);
	for (ve = e; ve > vs && h1_is(buf[ve - 1], H1_C_OWS); ve--)
		;
	for (n = vs; n < ve; n++)
		if (!h1_is(buf[n], H1_C_VALUE))
			return h1_fail(m, H1_ERR_FIELD_VALUE, s);
	f = &m->fields[m->nr_fields];
	f->name = h1_mkspan(s, i - s);
	f->value = h1_mkspan(vs, ve - vs);
	return h1_field_meaning(m, buf, m->nr_fields++, s);
}

static void h1_set_keepalive(struct h1_msg *m)
{
	/* 9112 9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive". */
	if (m->flags & H1_F_CONN_CLOSE)
		return;
	if (m->version == 11 || (m->flags & H1_F_CONN_KEEPALIVE))
		m->flags |= H1_F_KEEPALIVE;
}

/* The head is complete: the rules that need all of it (9112 3.2, 6). */
static int h1_request_end(struct h1_msg *m, const char *buf, size_t line)
{
	struct h1_pstate *st = &m->st;
	struct h1_span host = {0, 0};

	if (m->host >= 0)
		host = m->fields[m->host].value;
	else if (m->version == 11)
		return h1_fail(m, H1_ERR_HOST_MISSING, line);
	if (st->te) {
		if (m->version == 10)
			return h1_fail(m, H1_ERR_TE_HTTP10, line);
		if (st->nr_cl)
			return h1_fail(m, H1_ERR_CL_TE, line);
		if (!(st->te & H1_TE_LAST_CHUNKED))
			return h1_fail(m, H1_ERR_TE_NOT_CHUNKED, line);
		if (st->te & H1_TE_OTHER)
			return h1_fail(m, H1_ERR_TE_UNSUPPORTED, line);
		m->body = H1_BODY_CHUNKED;
	} else if (st->nr_cl) {
		if (m->content_length > st->lim->max_body)
			return h1_fail(m, H1_ERR_BODY_TOO_LARGE, line);
		m->body = H1_BODY_LENGTH;
	}
	/* 9112 3.2.2: the target's authority wins over Host; say if they differ. */
	if (m->form == H1_FORM_ABSOLUTE || m->form == H1_FORM_AUTHORITY) {
		if (m->host < 0 || host.len != m->authority.len ||
		    !h1_memeq_ci(buf + host.off, buf + m->authority.off, host.len))
			m->flags |= H1_F_HOST_DIFFERS;
	} else {
		m->authority = host;
	}
	if (m->version == 11) {
		if (st->expect_continue)
			m->flags |= H1_F_EXPECT_CONTINUE;
		/* 9110 7.8: Upgrade counts only with its Connection option, in 1.1 */
		if (st->upgrade_seen && (m->flags & H1_F_CONN_UPGRADE))
			m->flags |= H1_F_UPGRADE;
	}
	h1_set_keepalive(m);
	return 0;
}

static int h1_response_end(struct h1_msg *m, size_t line)
{
	struct h1_pstate *st = &m->st;
	uint16_t status = m->status;

	if (st->te && m->version == 10)
		return h1_fail(m, H1_ERR_TE_HTTP10, line);
	if (st->te && st->nr_cl)
		return h1_fail(m, H1_ERR_CL_TE, line);
	/* 9112 6.3, in its order */
	if (m->meth == H1_METH_HEAD || status < 200 || status == 204 || status == 304) {
		m->body = H1_BODY_NONE;
	} else if (m->meth == H1_METH_CONNECT && status < 300) {
		m->body = H1_BODY_NONE;
		m->flags |= H1_F_TUNNEL;
	} else if (st->te) {
		m->body = st->te & H1_TE_LAST_CHUNKED ? H1_BODY_CHUNKED : H1_BODY_CLOSE;
	} else if (st->nr_cl) {
		if (m->content_length > st->lim->max_body)
			return h1_fail(m, H1_ERR_BODY_TOO_LARGE, line);
		m->body = H1_BODY_LENGTH;
	} else {
		m->body = H1_BODY_CLOSE;
	}
	if (status == 101) {
		m->flags |= H1_F_TUNNEL;
		if (st->upgrade_seen)
			m->flags |= H1_F_UPGRADE;
	}
	if (st->te & H1_TE_OTHER)
		m->flags |= H1_F_TE_CODED;
	if (m->body != H1_BODY_CLOSE && !(m->flags & H1_F_TUNNEL))
		h1_set_keepalive(m);
	return 0;
}

static int h1_parse(struct h1_msg *m, const char *buf, size_t len)
{
	struct h1_pstate *st = &m->st;
	const struct h1_limits *lim = st->lim;
	uint64_t max_head = lim->max_head < H1_HEAD_CAP ? lim->max_head : H1_HEAD_CAP;

	if (st->phase == H1_PH_DONE)
		return 0;
	if (st->phase == H1_PH_ERROR)
		return -EBADMSG;
	if (len < st->pos)
		return -EINVAL;

	for (;;) {
		bool start = st->phase == H1_PH_START;
		uint64_t cap_line, cap_head, end;
		const char *lf = NULL;
		size_t eol;
		int ret;

		/*
		 * The line's LF must come before cap_line (content + CR within
		 * the limit) and before cap_head (the head within max_head).
		 * Searching no further than they allow keeps both verdicts
		 * independent of how the bytes arrived.
		 */
		cap_line = st->line + (uint64_t)(start ? lim->max_start_line : lim->max_field) + 2;
		cap_head = st->start + max_head;
		end = cap_line < cap_head ? cap_line : cap_head;
		if (end > len)
			end = len;
		if (st->pos < end)
			lf = memchr(buf + st->pos, '\n', end - st->pos);
		if (!lf) {
			if (len < cap_line && len < cap_head) {
				st->pos = len;
				return -EAGAIN;
			}
			if (cap_head < cap_line)
				return h1_fail(m, H1_ERR_HEAD_TOO_LARGE, st->line);
			return h1_fail(m,
				       start ? H1_ERR_START_LINE_TOO_LONG : H1_ERR_FIELD_TOO_LONG,
				       st->line);
		}
		eol = lf - buf;
		st->pos = eol + 1;
		if (eol == st->line || buf[eol - 1] != '\r')
			return h1_fail(m, H1_ERR_BARE_LF, st->line);

		if (start && eol - 1 == st->line) {
			if (m->response)
				return h1_fail(m, H1_ERR_STATUS_LINE, st->line);
			if (++st->empty > lim->max_empty_lines || st->empty > H1_EMPTY_CAP)
				return h1_fail(m, H1_ERR_EMPTY_LINES, st->line);
			st->line = st->start = eol + 1;
			continue;
		}
		if (start) {
			ret = m->response ? h1_status_line(m, buf, st->line, eol - 1)
					  : h1_request_line(m, buf, st->line, eol - 1);
			if (!ret)
				st->phase = H1_PH_FIELDS;
		} else if (eol - 1 == st->line) {
			ret = m->response ? h1_response_end(m, st->line)
					  : h1_request_end(m, buf, st->line);
			if (!ret) {
				st->phase = H1_PH_DONE;
				m->head_len = (uint32_t)(eol + 1);
				return 0;
			}
		} else {
			ret = h1_field_line(m, buf, st->line, eol - 1);
		}
		if (ret)
			return ret;
		st->line = eol + 1;
	}
}

int h1_parse_request(struct h1_msg *m, const char *buf, size_t len)
{
	if (!m || (!buf && len) || m->st.kind == H1_KIND_RSP)
		return -EINVAL;
	m->st.kind = H1_KIND_REQ;
	return h1_parse(m, buf, len);
}

int h1_parse_response(struct h1_msg *m, const char *buf, size_t len, enum h1_meth req_meth)
{
	if (!m || (!buf && len) || m->st.kind == H1_KIND_REQ)
		return -EINVAL;
	if (m->st.kind == H1_KIND_NONE) {
		m->st.kind = H1_KIND_RSP;
		m->response = true;
		m->meth = req_meth;
	}
	return h1_parse(m, buf, len);
}
