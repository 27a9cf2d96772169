// SPDX-License-Identifier: BSD-2-Clause
/*
 * Access log formatting. The text formats go through a counting writer that
 * copies what fits and measures everything, so -ENOSPC can say exactly how
 * much room the line needs in one pass. The JSON format is built as a
 * jansson object and dumped into the caller's buffer.
 */
#include "http/alog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for an address from inet_ntop, IPv6 with a dotted tail included. */
#define ADDR_TEXT 46
/*
 * "2023-11-14T23:13:20.123+01:00" needs 30 bytes; the rest is room for what
 * gcc's range analysis of the struct tm fields cannot rule out.
 */
#define TIME_TEXT 128

static const char hex_upper[] = "0123456789ABCDEF";

static const char *const month[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static const char *const format_name[] = {
    [ALOG_OFF] = "off",
    [ALOG_COMBINED] = "combined",
    [ALOG_COMBINED_EXT] = "combined-ext",
    [ALOG_JSON] = "json",
};

int alog_format_parse(const char *s, enum alog_format *out)
{
	if (!s || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(format_name) / sizeof(format_name[0]); i++) {
		if (!strcmp(s, format_name[i])) {
			*out = (enum alog_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *alog_format_str(enum alog_format f)
{
	if ((unsigned int)f >= sizeof(format_name) / sizeof(format_name[0]))
		return "?";
	return format_name[f];
}

/* A NULL pointer with a length is a caller bug, not an absent field. */
static bool span_ok(const char *s, size_t len)
{
	return s || len == 0;
}

/*
 * The rules of struct alog_rec, checked once for every format so that a
 * record valid for one is valid for all.
 */
/* " HTTP/1.1" for a version in alog_rec's form (the space for the combined line). */
static const char *alog_proto(uint8_t version)
{
	return version == 10 ? " HTTP/1.0" : version == 20 ? " HTTP/2.0" : " HTTP/1.1";
}

static int rec_check(const struct alog_rec *r)
{
	if (r->client && r->client->sa_family != AF_INET && r->client->sa_family != AF_INET6)
		return -EINVAL;
	if (r->start.tv_nsec < 0 || r->start.tv_nsec >= 1000000000L)
		return -EINVAL;
	if (!span_ok(r->method, r->method_len) || !span_ok(r->referer, r->referer_len) ||
	    !span_ok(r->user_agent, r->user_agent_len) || !span_ok(r->host, r->host_len))
		return -EINVAL;
	if (r->method && (!r->method_len || !r->target || !r->target_len ||
			  (r->version != 10 && r->version != 11 && r->version != 20)))
		return -EINVAL;
	if (r->status != 0 && (r->status < 100 || r->status > 999))
		return -EINVAL;
	/* JSON integers are signed 64-bit in jansson; keep every format alike. */
	if (r->bytes_sent > INT64_MAX || r->bytes_received > INT64_MAX)
		return -EINVAL;
	return 0;
}

/*
 * Local time of start, with the year bounded to the four digits both
 * formats have room for.
 */
static int rec_tm(const struct alog_rec *r, struct tm *tm)
{
	time_t t = r->start.tv_sec;

	if (!localtime_r(&t, tm) || tm->tm_year < -1900 || tm->tm_year > 9999 - 1900)
		return -EINVAL;
	return 0;
}

/*
 * UTC offset as sign, hours, minutes. Seconds of an offset (local mean time
 * before 1900) are dropped, as strftime's %z drops them.
 */
static void tm_offset(const struct tm *tm, char *sign, long *hh, long *mm)
{
	long off = tm->tm_gmtoff;

	*sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	*hh = off / 3600;
	*mm = off % 3600 / 60;
}

/* Client address text, IPv4-mapped IPv6 shown as the IPv4 it is. */
static void client_text(const struct sockaddr *sa, char *dst, unsigned int *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, dst, ADDR_TEXT);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], dst, ADDR_TEXT);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, dst, ADDR_TEXT);
		*port = ntohs(in6->sin6_port);
	}
}

/* The counting writer: copies what fits in out[0, cap), counts it all. */
struct wbuf {
	char *out;
	size_t cap;
	size_t n;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->n < w->cap)
		memcpy(w->out + w->n, s, n < w->cap - w->n ? n : w->cap - w->n);
	w->n += n;
}

static void puts_(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static void putf(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct wbuf *w, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Only numbers and fixed-size pieces come through here. */
	if (n > 0)
		put(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * nginx's ngx_http_log_escape(): '"', '\', 0x00-0x1f and 0x7f-0xff become
 * \xHH. escape_sp adds SP, for fields outside quotes.
 */
static void put_esc(struct wbuf *w, const char *s, size_t len, bool escape_sp)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[4];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && (c != ' ' || !escape_sp))
			continue;
		put(w, s + run, i - run);
		e[0] = '\\';
		e[1] = 'x';
		e[2] = hex_upper[c >> 4];
		e[3] = hex_upper[c & 0xf];
		put(w, e, 4);
		run = i + 1;
	}
	put(w, s + run, len - run);
}

/* A quoted field: "-" for absent, escaped bytes otherwise. */
static void put_quoted(struct wbuf *w, const char *s, size_t len)
{
	put(w, "\"", 1);
	if (s)
		put_esc(w, s, len, false);
	else
		put(w, "-", 1);
	put(w, "\"", 1);
}

/* An unquoted field: "-" for absent or empty, SP escaped so fields stay apart. */
static void put_token(struct wbuf *w, const char *s)
{
	if (s && *s)
		put_esc(w, s, strlen(s), true);
	else
		put(w, "-", 1);
}

static int combined(const struct alog_rec *r, char *out, size_t cap, size_t *len, bool ext)
{
	struct wbuf w = {.out = out, .cap = cap};
	char addr[ADDR_TEXT], sign;
	unsigned int port;
	struct tm tm;
	long hh, mm;
	int rc;

	if (!r || !len || (!out && cap))
		return -EINVAL;
	rc = rec_check(r) ?: rec_tm(r, &tm);
	if (rc)
		return rc;

	if (r->client) {
		client_text(r->client, addr, &port);
		puts_(&w, addr);
	} else {
		put(&w, "-", 1);
	}
	put(&w, " - ", 3);
	put_token(&w, r->user);
	tm_offset(&tm, &sign, &hh, &mm);
	putf(&w, " [%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld] \"", tm.tm_mday, month[tm.tm_mon],
	     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, hh, mm);
	if (r->method) {
		put_esc(&w, r->method, r->method_len, false);
		put(&w, " ", 1);
		put_esc(&w, r->target, r->target_len, false);
		puts_(&w, alog_proto(r->version));
	} else {
		put(&w, "-", 1);
	}
	putf(&w, "\" %03d %" PRIu64 " ", r->status, r->bytes_sent);
	put_quoted(&w, r->referer, r->referer_len);
	put(&w, " ", 1);
	put_quoted(&w, r->user_agent, r->user_agent_len);
	if (ext) {
		put(&w, " ", 1);
		put_quoted(&w, r->host, r->host_len);
		put(&w, " ", 1);
		put_token(&w, r->route);
		put(&w, " ", 1);
		put_token(&w, r->backend);
		put(&w, " ", 1);
		put_token(&w, r->verdict);
		putf(&w, " %" PRIu64 ".%03u ", r->duration_us / 1000,
		     (unsigned int)(r->duration_us % 1000));
		if (r->upstream_ms == ALOG_UPSTREAM_NONE)
			put(&w, "-", 1);
		else
			putf(&w, "%" PRIu32, r->upstream_ms);
	}
	put(&w, "\n", 1);

	*len = w.n;
	return w.n > cap ? -ENOSPC : 0;
}

int alog_combined(const struct alog_rec *r, char *out, size_t cap, size_t *len)
{
	return combined(r, out, cap, len, false);
}

int alog_combined_ext(const struct alog_rec *r, char *out, size_t cap, size_t *len)
{
	return combined(r, out, cap, len, true);
}

/*
 * Length of the well-formed UTF-8 sequence at s[0, n) (RFC 3629 section 4),
 * or 0 if there is none. The same rules as jansson's own check, which
 * refuses a whole string for one bad byte.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0; /* continuation byte, 0xc0, 0xc1, 0xf5-0xff */
	}
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return need + 1;
}

/*
 * A JSON string of s[0, len), or JSON null for NULL. Bytes outside
 * well-formed UTF-8 become "\xHH" text first. NULL on allocation failure.
 */
static json_t *jstr(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, n = 0;
	json_t *v;
	char *tmp;

	if (!s)
		return json_null();
	while (i < len && (k = utf8_seq(u + i, len - i)))
		i += k;
	if (i == len)
		return json_stringn(s, len);

	/* Each bad byte grows to 4, good ones stay: 4 * len bounds it. */
	tmp = malloc(len * 4);
	if (!tmp)
		return NULL;
	memcpy(tmp, s, i);
	n = i;
	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (k) {
			memcpy(tmp + n, s + i, k);
			n += k;
			i += k;
			continue;
		}
		tmp[n++] = '\\';
		tmp[n++] = 'x';
		tmp[n++] = hex_upper[u[i] >> 4];
		tmp[n++] = hex_upper[u[i] & 0xf];
		i++;
	}
	v = json_stringn(tmp, n);
	free(tmp);
	return v;
}

static json_t *jcstr(const char *s)
{
	return jstr(s, s ? strlen(s) : 0);
}

/*
 * Significant digits that print duration_ms with exactly its microseconds:
 * the integer digits of the milliseconds plus three, at most 17 (a double's
 * worth).
 */
static int ms_digits(uint64_t us)
{
	uint64_t ms = us / 1000;
	int d = 1;

	while (ms >= 10) {
		ms /= 10;
		d++;
	}
	return d + 3 > 17 ? 17 : d + 3;
}

int alog_json(const struct alog_rec *r, char *out, size_t cap, size_t *len)
{
	char when[TIME_TEXT], addr[ADDR_TEXT], proto[16], sign, none;
	unsigned int port = 0;
	json_t *o = NULL;
	struct tm tm;
	long hh, mm;
	size_t n;
	int rc;

	if (!r || !len || (!out && cap))
		return -EINVAL;
	rc = rec_check(r) ?: rec_tm(r, &tm);
	if (rc)
		return rc;

	tm_offset(&tm, &sign, &hh, &mm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ld%c%02ld:%02ld",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 r->start.tv_nsec / 1000000, sign, hh, mm);
	if (r->client)
		client_text(r->client, addr, &port);
	if (r->method)
		snprintf(proto, sizeof(proto), "%s", alog_proto(r->version) + 1);

	o = json_object();
	if (!o)
		return -ENOMEM;
	/*
	 * json_object_set_new() takes the value even on failure and fails on
	 * a NULL value, so one check per key covers both allocations.
	 */
	struct {
		const char *key;
		json_t *val;
	} kv[] = {
	    {"time", json_string(when)},
	    {"client", r->client ? json_string(addr) : json_null()},
	    {"client_port", r->client ? json_integer(port) : json_null()},
	    {"user", jcstr(r->user)},
	    {"method", jstr(r->method, r->method_len)},
	    {"target", r->method ? jstr(r->target, r->target_len) : json_null()},
	    {"protocol", r->method ? json_string(proto) : json_null()},
	    {"status", r->status ? json_integer(r->status) : json_null()},
	    {"bytes_sent", json_integer((json_int_t)r->bytes_sent)},
	    {"bytes_received", json_integer((json_int_t)r->bytes_received)},
	    {"duration_ms", json_real((double)r->duration_us / 1000.0)},
	    {"referer", jstr(r->referer, r->referer_len)},
	    {"user_agent", jstr(r->user_agent, r->user_agent_len)},
	    {"host", jstr(r->host, r->host_len)},
	    {"route", jcstr(r->route)},
	    {"backend", jcstr(r->backend)},
	    {"verdict", jcstr(r->verdict)},
	    {"upstream_ms",
	     r->upstream_ms == ALOG_UPSTREAM_NONE ? json_null() : json_integer(r->upstream_ms)},
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (json_object_set_new(o, kv[i].key, kv[i].val))
			rc = -ENOMEM;
	}
	if (rc)
		goto out_free;

	/* json_dumpb() only copies what fits, and returns the full size. */
	n = json_dumpb(o, out ? out : &none, cap,
		       JSON_COMPACT | JSON_REAL_PRECISION(ms_digits(r->duration_us)));
	if (!n) {
		rc = -ENOMEM;
		goto out_free;
	}
	*len = n + 1;
	if (n + 1 > cap) {
		rc = -ENOSPC;
		goto out_free;
	}
	out[n] = '\n';
out_free:
	json_decref(o);
	return rc;
}

int alog_line(enum alog_format f, const struct alog_rec *r, char *out, size_t cap, size_t *len)
{
	switch (f) {
	case ALOG_OFF:
		if (!len)
			return -EINVAL;
		*len = 0;
		return 0;
	case ALOG_COMBINED:
		return alog_combined(r, out, cap, len);
	case ALOG_COMBINED_EXT:
		return alog_combined_ext(r, out, cap, len);
	case ALOG_JSON:
		return alog_json(r, out, cap, len);
	default:
		return -EINVAL;
	}
}
