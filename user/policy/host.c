// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host normalization: see host.h for what comes out and why.
 *
 * Labels are handled one at a time rather than handing the whole name to
 * libidn2, for two reasons. libidn2 applies IDNA 2008's hyphen rules to
 * ASCII labels too, refusing names that resolve and that browsers accept
 * ("r1---sn-x.googlevideo.com", "-a-.example"); and most hosts are ASCII,
 * so a blocklist of a million names loads without a million library calls.
 * The price is that IDNA's bidi rule is checked per label, not across the
 * name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy/host.h"

#define HOST_LABEL_MAX 63
#define HOST_NAME_MAX_ 253
/* Bytes of one non-ASCII label handed to libidn2: UTS #46 drops some code
 * points (soft hyphens, ...), so input may be longer than 63 code points,
 * but not without bound. */
#define HOST_ULABEL_IN_MAX 1024
#define HOST_V6_TEXT_MAX   45 /* INET6_ADDRSTRLEN - 1 */

static const char *const host_err_names[HOST_ERR__MAX] = {
    [HOST_ERR_NONE] = "no error",
    [HOST_ERR_EMPTY] = "empty host",
    [HOST_ERR_EMPTY_LABEL] = "empty label",
    [HOST_ERR_LABEL_TOO_LONG] = "label longer than 63 bytes",
    [HOST_ERR_NAME_TOO_LONG] = "name longer than 253 bytes",
    [HOST_ERR_CHAR] = "character not allowed in a host name",
    [HOST_ERR_PERCENT] = "percent-encoding in a host name",
    [HOST_ERR_PORT] = "':' in a host name (a port, or an IPv6 address without brackets)",
    [HOST_ERR_IPV4] = "ends in a number but is not an IPv4 address",
    [HOST_ERR_IPV6] = "not an IPv6 address",
    [HOST_ERR_ZONE] = "IPv6 zone id",
    [HOST_ERR_IDNA] = "refused by IDNA",
};

const char *host_err_str(enum host_err err)
{
	if ((unsigned)err >= HOST_ERR__MAX)
		return "?";
	return host_err_names[err];
}

const char *host_why(const struct host_info *info, char *buf, size_t cap)
{
	if (!buf || !cap)
		return "";
	if (!info) {
		snprintf(buf, cap, "?");
		return buf;
	}
	switch (info->err) {
	case HOST_ERR_CHAR:
		if (info->err_byte >= 0x20 && info->err_byte < 0x7f)
			snprintf(buf, cap, "character '%c' not allowed in a host name",
				 info->err_byte);
		else
			snprintf(buf, cap, "byte 0x%02x not allowed in a host name",
				 info->err_byte);
		break;
	case HOST_ERR_IDNA:
		snprintf(buf, cap, "refused by IDNA: %s", idn2_strerror(info->idna_rc));
		break;
	default:
		snprintf(buf, cap, "%s", host_err_str(info->err));
		break;
	}
	return buf;
}

/* ------------------------------------------------------------- helpers */

static int host_fail(struct host_info *info, enum host_err err)
{
	if (info)
		info->err = err;
	return -EINVAL;
}

static int host_fail_at(struct host_info *info, enum host_err err, const char *in, size_t off)
{
	if (info) {
		info->err_off = off;
		info->err_byte = (unsigned char)in[off];
	}
	return host_fail(info, err);
}

/* What an ASCII label may hold: LDH plus '_', which DNS and browsers allow. */
static bool host_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static unsigned char host_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static int host_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Length of the label separator at in[pos] (0 if none): '.', or the UTF-8
 * of U+3002, U+FF0E, U+FF61, which UTS #46 maps to '.'.
 */
static size_t host_sep(const unsigned char *in, size_t len, size_t pos)
{
	if (in[pos] == '.')
		return 1;
	if (pos + 2 >= len)
		return 0;
	if (in[pos] == 0xe3 && in[pos + 1] == 0x80 && in[pos + 2] == 0x82)
		return 3;
	if (in[pos] == 0xef && ((in[pos + 1] == 0xbc && in[pos + 2] == 0x8e) ||
				(in[pos + 1] == 0xbd && in[pos + 2] == 0xa1)))
		return 3;
	return 0;
}

/* ---------------------------------------------------------------- IPv4 */

/*
 * WHATWG URL "IPv4 number parser" on lowercase s[0, n): "0x" = hex (may be
 * empty: 0), other leading '0' = octal, else decimal. Values above 2^32
 * saturate there, which is enough to refuse them.
 */
static int host_v4_number(const char *s, size_t n, uint64_t *v)
{
	unsigned int base = 10;
	uint64_t x = 0;

	if (n >= 2 && s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
		n -= 2;
	} else if (n >= 2 && s[0] == '0') {
		base = 8;
		s++;
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		int d = host_hexval((unsigned char)s[i]);

		if (d < 0 || (unsigned int)d >= base)
			return -1;
		x = x * base + (unsigned int)d;
		if (x > UINT32_MAX)
			x = (uint64_t)UINT32_MAX + 1;
	}
	*v = x;
	return 0;
}

/* WHATWG "ends in a number": all digits, or "0x" and hex digits. */
static bool host_ends_in_number(const char *name, size_t n)
{
	const char *last = name;
	uint64_t v;
	size_t ln;
	bool digits = true;

	for (size_t i = 0; i < n; i++)
		if (name[i] == '.')
			last = name + i + 1;
	ln = (size_t)(name + n - last);
	for (size_t i = 0; i < ln; i++)
		if (last[i] < '0' || last[i] > '9')
			digits = false;
	if (digits)
		return true;
	return ln >= 2 && last[0] == '0' && last[1] == 'x' && host_v4_number(last, ln, &v) == 0;
}

/* WHATWG "IPv4 parser" on a lowercase name without trailing dot. */
static int host_v4_parse(const char *name, size_t n, uint32_t *addr)
{
	uint64_t part[4];
	size_t nr = 0, start = 0;
	uint64_t v;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && name[i] != '.')
			continue;
		if (nr == 4 || i == start)
			return -1;
		if (host_v4_number(name + start, i - start, &part[nr]) < 0)
			return -1;
		nr++;
		start = i + 1;
	}
	for (size_t i = 0; i + 1 < nr; i++)
		if (part[i] > 255)
			return -1;
	/* the last part fills the 5 - nr bytes that remain */
	if (part[nr - 1] >= (uint64_t)1 << (8 * (5 - nr)))
		return -1;
	v = part[nr - 1];
	for (size_t i = 0; i + 1 < nr; i++)
		v += part[i] << (8 * (3 - i));
	*addr = (uint32_t)v;
	return 0;
}

/* ---------------------------------------------------------------- IPv6 */

/* RFC 5952 4: lowercase, no leading zeros, longest (first) run of >= 2 zero groups as "::". */
static size_t host_v6_text(const struct in6_addr *a, char *dst)
{
	static const char hex[] = "0123456789abcdef";
	int bs = -1, bl = 0, cs = -1, cl = 0;
	uint16_t w[8];
	char *p = dst;

	for (int i = 0; i < 8; i++) {
		w[i] = (uint16_t)(a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1]);
		if (w[i]) {
			cs = -1;
			continue;
		}
		if (cs < 0) {
			cs = i;
			cl = 0;
		}
		if (++cl > bl) {
			bs = cs;
			bl = cl;
		}
	}
	if (bl < 2)
		bs = -1;
	for (int i = 0; i < 8;) {
		bool lead = true;

		if (i == bs) {
			*p++ = ':';
			*p++ = ':';
			i += bl;
			continue;
		}
		if (i > 0 && i != bs + bl)
			*p++ = ':';
		for (int sh = 12; sh >= 0; sh -= 4) {
			unsigned int d = (w[i] >> sh) & 0xf;

			if (lead && d == 0 && sh > 0)
				continue;
			lead = false;
			*p++ = hex[d];
		}
		i++;
	}
	*p = '\0';
	return (size_t)(p - dst);
}

int host_format_ipv6(const struct in6_addr *a, char *out, size_t cap)
{
	if (!a || !out)
		return -EINVAL;
	if (cap < HOST_IPV6_TEXT_MAX) {
		if (cap)
			out[0] = '\0';
		return -ENOSPC;
	}
	return (int)host_v6_text(a, out);
}

static int host_v6(const char *in, size_t len, char *res, size_t *rlen, struct host_info *info)
{
	char text[HOST_V6_TEXT_MAX + 1];
	struct in6_addr a;
	size_t n = len - 2;

	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%')
			return host_fail_at(info, HOST_ERR_ZONE, in, i);
		if (c != ':' && c != '.' && host_hexval(host_lower(c)) < 0)
			return host_fail_at(info, HOST_ERR_IPV6, in, i);
	}
	if (n == 0 || n > HOST_V6_TEXT_MAX)
		return host_fail(info, HOST_ERR_IPV6);
	memcpy(text, in + 1, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1)
		return host_fail(info, HOST_ERR_IPV6);
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		const uint8_t *b = a.s6_addr + 12;

		if (info) {
			info->kind = HOST_IPV4;
			memcpy(&info->addr.v4, b, 4);
		}
		*rlen = (size_t)snprintf(res, HOST_NORM_MAX, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		return 0;
	}
	if (info) {
		info->kind = HOST_IPV6;
		info->addr.v6 = a;
	}
	res[0] = '[';
	*rlen = host_v6_text(&a, res + 1) + 1;
	res[(*rlen)++] = ']';
	res[*rlen] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- IDNA */

/*
 * Runs one label through libidn2 (UTS #46 non-transitional mapping, then
 * IDNA 2008) and appends the A-label to res. Used for non-ASCII labels and
 * for "xn--" labels, which libidn2 decodes and checks.
 */
static int host_idna_label(const char *lab, size_t n, char *res, size_t *rlen,
			   struct host_info *info)
{
	char buf[HOST_ULABEL_IN_MAX + 1];
	uint8_t *a = NULL;
	size_t alen;
	int rc;

	if (n > HOST_ULABEL_IN_MAX)
		return host_fail(info, HOST_ERR_LABEL_TOO_LONG);
	memcpy(buf, lab, n);
	buf[n] = '\0';
	rc = idn2_lookup_u8((const uint8_t *)buf, &a, IDN2_NONTRANSITIONAL);
	if (rc == IDN2_MALLOC)
		return -ENOMEM;
	if (rc != IDN2_OK) {
		if (info)
			info->idna_rc = rc;
		return host_fail(info, HOST_ERR_IDNA);
	}
	alen = strlen((const char *)a);
	/*
	 * Without STD3 rules UTS #46 maps some code points to ASCII we do not
	 * accept (U+FF0F to '/', U+2488 to "1."): the result must be one
	 * label of our alphabet.
	 */
	for (size_t i = 0; i < alen; i++) {
		if (!host_ldh(a[i])) {
			idn2_free(a);
			if (info)
				info->idna_rc = IDN2_DISALLOWED;
			return host_fail(info, HOST_ERR_IDNA);
		}
	}
	if (alen == 0) {
		idn2_free(a);
		return host_fail(info, HOST_ERR_EMPTY_LABEL);
	}
	if (alen > HOST_LABEL_MAX) {
		idn2_free(a);
		return host_fail(info, HOST_ERR_LABEL_TOO_LONG);
	}
	if (*rlen + alen > HOST_NAME_MAX_) {
		idn2_free(a);
		return host_fail(info, HOST_ERR_NAME_TOO_LONG);
	}
	memcpy(res + *rlen, a, alen);
	*rlen += alen;
	idn2_free(a);
	return 0;
}

/* ---------------------------------------------------------------- names */

static int host_name(const char *in, size_t len, char *res, size_t *rlen, struct host_info *info)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t pos = 0, nlabels = 0;
	uint32_t v4;
	int rc;

	*rlen = 0;
	if (host_sep(u, len, 0) == len)
		return host_fail(info, HOST_ERR_EMPTY);
	for (;;) {
		size_t start = pos, sep = 0, n;
		bool ascii = true;

		for (; pos < len; pos++) {
			unsigned char c = u[pos];

			sep = host_sep(u, len, pos);
			if (sep)
				break;
			/* no label that long can pass: stop reading a huge one here */
			if (pos - start >= HOST_ULABEL_IN_MAX)
				return host_fail(info, HOST_ERR_LABEL_TOO_LONG);
			if (c >= 0x80) {
				ascii = false;
				continue;
			}
			if (host_ldh(host_lower(c)))
				continue;
			if (c == '%')
				return host_fail_at(info, HOST_ERR_PERCENT, in, pos);
			if (c == ':')
				return host_fail_at(info, HOST_ERR_PORT, in, pos);
			return host_fail_at(info, HOST_ERR_CHAR, in, pos);
		}
		n = pos - start;
		if (n == 0) {
			/* one trailing dot: the root, dropped */
			if (pos == len && nlabels > 0)
				break;
			return host_fail(info, HOST_ERR_EMPTY_LABEL);
		}
		if (nlabels > 0) {
			if (*rlen + 1 > HOST_NAME_MAX_)
				return host_fail(info, HOST_ERR_NAME_TOO_LONG);
			res[(*rlen)++] = '.';
		}
		if (ascii) {
			size_t at = *rlen;

			if (n > HOST_LABEL_MAX)
				return host_fail(info, HOST_ERR_LABEL_TOO_LONG);
			if (*rlen + n > HOST_NAME_MAX_)
				return host_fail(info, HOST_ERR_NAME_TOO_LONG);
			for (size_t i = 0; i < n; i++)
				res[at + i] = (char)host_lower(u[start + i]);
			if (n >= 4 && !memcmp(res + at, "xn--", 4)) {
				/* an A-label must be one libidn2 would have made */
				rc = host_idna_label(res + at, n, res, rlen, info);
				if (rc < 0)
					return rc;
			} else {
				*rlen += n;
			}
		} else {
			rc = host_idna_label(in + start, n, res, rlen, info);
			if (rc < 0)
				return rc;
		}
		nlabels++;
		if (pos == len)
			break;
		pos += sep;
	}
	res[*rlen] = '\0';
	if (!host_ends_in_number(res, *rlen)) {
		if (info)
			info->kind = HOST_NAME;
		return 0;
	}
	if (host_v4_parse(res, *rlen, &v4) < 0)
		return host_fail(info, HOST_ERR_IPV4);
	if (info) {
		info->kind = HOST_IPV4;
		info->addr.v4.s_addr = htonl(v4);
	}
	*rlen = (size_t)snprintf(res, HOST_NORM_MAX, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 0xff,
				 (v4 >> 8) & 0xff, v4 & 0xff);
	return 0;
}

int host_normalize(const char *in, size_t len, char *out, size_t cap, struct host_info *info)
{
	char res[HOST_NORM_MAX + 8];
	size_t rlen = 0;
	int rc;

	if (out && cap)
		out[0] = '\0';
	if (info)
		memset(info, 0, sizeof(*info));
	if (!in || !out)
		return host_fail(info, HOST_ERR_NONE);
	if (len == 0)
		return host_fail(info, HOST_ERR_EMPTY);
	if (memchr(in, '\0', len))
		return host_fail_at(info, HOST_ERR_CHAR, in,
				    (size_t)((const char *)memchr(in, '\0', len) - in));
	if (in[0] == '[') {
		if (len < 2 || in[len - 1] != ']')
			return host_fail(info, HOST_ERR_IPV6);
		rc = host_v6(in, len, res, &rlen, info);
	} else {
		rc = host_name(in, len, res, &rlen, info);
	}
	if (rc < 0)
		return rc;
	if (rlen + 1 > cap) {
		if (info)
			info->len = rlen;
		return -ENOSPC;
	}
	memcpy(out, res, rlen + 1);
	if (info)
		info->len = rlen;
	return 0;
}
