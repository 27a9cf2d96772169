// SPDX-License-Identifier: BSD-2-Clause
/*
 * PROXY protocol v1/v2 writer and parser. Section numbers are those of the
 * spec named in proxyproto.h.
 */
#include "net/proxyproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#define V1_PREFIX     "PROXY "
#define V1_PREFIX_LEN 6

/* v2 byte 13: version in the high nibble, command in the low one. */
#define V2_VERSION   0x20
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
/* v2 byte 14: family in the high nibble, transport in the low one. */
#define V2_FAM_UNSPEC 0x00
#define V2_FAM_TCP4   0x11
#define V2_FAM_UDP4   0x12
#define V2_FAM_TCP6   0x21
#define V2_FAM_UDP6   0x22
#define V2_FAM_UNIX_S 0x31
#define V2_FAM_UNIX_D 0x32

#define V2_ADDR_INET  12  /* 2 * 4 + 2 * 2 */
#define V2_ADDR_INET6 36  /* 2 * 16 + 2 * 2 */
#define V2_ADDR_UNIX  216 /* 2 * 108 */
#define V2_UNIX_PATH  108
#define TLV_HDR	      3 /* type, length_hi, length_lo */

/* An endpoint reduced to what the wire carries; IPv4-mapped is IPv4. */
struct pp_addr {
	int family; /* AF_INET, AF_INET6, or 0: nothing the wire can carry */
	uint8_t a[16];
	uint16_t port; /* host order */
};

uint32_t pp_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/*
	 * Bitwise, reflected polynomial 0x82f63b78. A header is at most a few
	 * hundred bytes in practice, so a table buys nothing worth its size.
	 */
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void addr_load(const struct sockaddr *sa, struct pp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->family = AF_INET;
		memcpy(out->a, &in->sin_addr, 4);
		out->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		out->port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->family = AF_INET;
			memcpy(out->a, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			out->family = AF_INET6;
			memcpy(out->a, &in6->sin6_addr, 16);
		}
	}
}

/* IPv4 address as ::ffff:a.b.c.d, for a v2 header that must carry IPv6. */
static void addr_map6(struct pp_addr *a)
{
	if (a->family != AF_INET)
		return;
	memmove(a->a + 12, a->a, 4);
	memset(a->a, 0, 10);
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	a->family = AF_INET6;
}

/*
 * RFC 5952 text: lowercase hex without leading zeros, the longest run of two
 * or more zero groups (the first of equal runs) as "::". Unlike inet_ntop it
 * never writes a dotted-quad tail: the spec's v1 grammar has only hex groups.
 * dst holds at least 40 bytes; returns the length written (NUL excluded).
 */
static int ip6_text(const uint8_t *a, char *dst)
{
	int best = -1, best_len = 0, run = -1, n = 0;
	uint16_t g[8];

	for (int i = 0; i < 8; i++) {
		g[i] = get_be16(a + 2 * i);
		if (g[i] == 0) {
			if (run < 0)
				run = i;
			if (i - run + 1 > best_len) {
				best = run;
				best_len = i - run + 1;
			}
		} else {
			run = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			dst[n++] = ':';
			dst[n++] = ':';
			i += best_len - 1;
			continue;
		}
		if (n > 0 && dst[n - 1] != ':')
			dst[n++] = ':';
		n += sprintf(dst + n, "%x", g[i]);
	}
	dst[n] = '\0';
	return n;
}

static int addr_text(const struct pp_addr *a, char *dst)
{
	if (a->family == AF_INET)
		return sprintf(dst, "%u.%u.%u.%u", a->a[0], a->a[1], a->a[2], a->a[3]);
	return ip6_text(a->a, dst);
}

/* Copy n bytes if they fit; *len always learns n. */
static int emit(const char *src, size_t n, char *out, size_t cap, size_t *len)
{
	*len = n;
	if (n > cap)
		return -ENOSPC;
	memcpy(out, src, n);
	return 0;
}

int pp_v1_write(const struct sockaddr *src, const struct sockaddr *dst, char *out, size_t cap,
		size_t *len)
{
	char line[PP_V1_MAX + 1], s[48], d[48];
	struct pp_addr sa, da;
	int n;

	if (!len || (!out && cap) || (!src) != (!dst))
		return -EINVAL;
	if (!src)
		return emit("PROXY UNKNOWN\r\n", 15, out, cap, len);
	addr_load(src, &sa);
	addr_load(dst, &da);
	if (!sa.family || sa.family != da.family)
		return emit("PROXY UNKNOWN\r\n", 15, out, cap, len);
	addr_text(&sa, s);
	addr_text(&da, d);
	/* At most 5+1+4+1+39+1+39+1+5+1+5+2 = 104 bytes: line always holds it. */
	n = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n",
		     sa.family == AF_INET ? '4' : '6', s, d, sa.port, da.port);
	return emit(line, (size_t)n, out, cap, len);
}

/*
 * The TLV rules the parser enforces, shared with the writer so that
 * xdproxy never sends what it would itself refuse. Returns 0 or -EBADMSG.
 */
static int tlv_check(uint8_t type, const uint8_t *v, size_t vlen)
{
	size_t pos;

	switch (type) {
	case PP2_TYPE_UNIQUE_ID:
		return vlen <= PP2_UNIQUE_ID_MAX ? 0 : -EBADMSG;
	case PP2_TYPE_SSL:
		if (vlen < PP2_SSL_HDR)
			return -EBADMSG;
		for (pos = PP2_SSL_HDR; pos < vlen;) {
			if (vlen - pos < TLV_HDR)
				return -EBADMSG;
			pos += TLV_HDR + get_be16(v + pos + 1);
		}
		return pos == vlen ? 0 : -EBADMSG;
	default:
		return 0;
	}
}

int pp_v2_write(const struct sockaddr *src, const struct sockaddr *dst, const struct pp_tlv *tlvs,
		size_t nr_tlvs, char *out, size_t cap, size_t *len)
{
	uint8_t *o = (uint8_t *)out;
	size_t total, pos, crc_at = 0;
	struct pp_addr sa = {0}, da = {0};
	uint8_t ver_cmd = V2_VERSION | V2_CMD_PROXY, fam = V2_FAM_UNSPEC;
	size_t alen = 0;
	bool crc = false;

	if (!len || (!out && cap) || (!src) != (!dst) || (!tlvs && nr_tlvs))
		return -EINVAL;
	if (!src) {
		ver_cmd = V2_VERSION | V2_CMD_LOCAL;
	} else {
		addr_load(src, &sa);
		addr_load(dst, &da);
		if (sa.family == AF_INET && da.family == AF_INET) {
			fam = V2_FAM_TCP4;
			alen = V2_ADDR_INET;
		} else if (sa.family && da.family) {
			addr_map6(&sa);
			addr_map6(&da);
			fam = V2_FAM_TCP6;
			alen = V2_ADDR_INET6;
		}
	}

	total = PP_V2_HDR + alen;
	for (size_t i = 0; i < nr_tlvs; i++) {
		size_t vlen = tlvs[i].len;

		if (tlvs[i].type == PP2_TYPE_CRC32C) {
			if (crc)
				return -EINVAL;
			crc = true;
			vlen = 4;
		} else if ((!tlvs[i].value && vlen) ||
			   tlv_check(tlvs[i].type, tlvs[i].value, vlen)) {
			return -EINVAL;
		}
		total += TLV_HDR + vlen;
		if (total > PP_V2_MAX)
			return -EINVAL;
	}
	*len = total;
	if (total > cap)
		return -ENOSPC;

	memcpy(o, PP_V2_SIG, PP_V2_SIG_LEN);
	o[12] = ver_cmd;
	o[13] = fam;
	put_be16(o + 14, (uint16_t)(total - PP_V2_HDR));
	pos = PP_V2_HDR;
	if (fam == V2_FAM_TCP4) {
		memcpy(o + pos, sa.a, 4);
		memcpy(o + pos + 4, da.a, 4);
		put_be16(o + pos + 8, sa.port);
		put_be16(o + pos + 10, da.port);
	} else if (fam == V2_FAM_TCP6) {
		memcpy(o + pos, sa.a, 16);
		memcpy(o + pos + 16, da.a, 16);
		put_be16(o + pos + 32, sa.port);
		put_be16(o + pos + 34, da.port);
	}
	pos += alen;
	for (size_t i = 0; i < nr_tlvs; i++) {
		uint16_t vlen = tlvs[i].type == PP2_TYPE_CRC32C ? 4 : tlvs[i].len;

		o[pos] = tlvs[i].type;
		put_be16(o + pos + 1, vlen);
		pos += TLV_HDR;
		if (tlvs[i].type == PP2_TYPE_CRC32C) {
			crc_at = pos;
			memset(o + pos, 0, 4);
		} else if (vlen) {
			memcpy(o + pos, tlvs[i].value, vlen);
		}
		pos += vlen;
	}
	if (crc)
		put_be32(o + crc_at, pp_crc32c(0, o, total));
	return 0;
}

/* "0".."255" without leading zeros; the whole of [p, end). */
static int v1_ip4(const char *p, const char *end, uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		unsigned int v = 0;
		const char *start = p;

		if (i > 0) {
			if (p == end || *p != '.')
				return -EBADMSG;
			start = ++p;
		}
		while (p < end && *p >= '0' && *p <= '9' && p - start < 3)
			v = v * 10 + (unsigned int)(*p++ - '0');
		if (p == start || v > 255 || (*start == '0' && p - start > 1))
			return -EBADMSG;
		a[i] = (uint8_t)v;
	}
	return p == end ? 0 : -EBADMSG;
}

static int v1_ip6(const char *p, const char *end, uint8_t *a)
{
	char tmp[INET6_ADDRSTRLEN];
	size_t n = (size_t)(end - p);

	/*
	 * inet_pton takes exactly the RFC 4291 text forms. Check the charset
	 * first so that nothing it might tolerate (a zone "%eth0") gets in.
	 */
	if (n == 0 || n >= sizeof(tmp))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!p[i] || !strchr("0123456789abcdefABCDEF:.", p[i]))
			return -EBADMSG;
	}
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, a) == 1 ? 0 : -EBADMSG;
}

/* "0".."65535" without leading zeros; the whole of [p, end). */
static int v1_port(const char *p, const char *end, uint16_t *port)
{
	uint32_t v = 0;

	if (p == end || end - p > 5 || (*p == '0' && end - p > 1))
		return -EBADMSG;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -EBADMSG;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	if (v > 65535)
		return -EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

static void sa_fill(struct sockaddr_storage *ss, int family, const uint8_t *a, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		in->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		in6->sin6_port = htons(port);
	}
}

/* The line buf[0, end) after "PROXY ", CRLF excluded, all bytes printable. */
static int v1_fields(const char *p, const char *end, struct pp_info *info)
{
	const char *f[4], *fe[4];
	uint8_t sa[16], da[16];
	uint16_t sp, dp;
	int family, rc;

	if (end - p >= 7 && !memcmp(p, "UNKNOWN", 7) && (end - p == 7 || p[7] == ' ')) {
		/* Spec 2.1: whatever follows UNKNOWN up to the CRLF is ignored. */
		info->local = true;
		return 0;
	}
	if (end - p < 5 || memcmp(p, "TCP", 3) || (p[3] != '4' && p[3] != '6') || p[4] != ' ')
		return -EBADMSG;
	family = p[3] == '4' ? AF_INET : AF_INET6;
	p += 5;
	/* Exactly four fields, each separated by exactly one SP. */
	for (int i = 0; i < 4; i++) {
		f[i] = p;
		while (p < end && *p != ' ')
			p++;
		fe[i] = p;
		if (fe[i] == f[i])
			return -EBADMSG;
		if (i < 3) {
			if (p == end)
				return -EBADMSG;
			p++;
		}
	}
	if (p != end)
		return -EBADMSG;
	if (family == AF_INET)
		rc = v1_ip4(f[0], fe[0], sa) ?: v1_ip4(f[1], fe[1], da);
	else
		rc = v1_ip6(f[0], fe[0], sa) ?: v1_ip6(f[1], fe[1], da);
	rc = rc ?: v1_port(f[2], fe[2], &sp) ?: v1_port(f[3], fe[3], &dp);
	if (rc)
		return rc;
	info->family = family;
	info->socktype = SOCK_STREAM;
	sa_fill(&info->src, family, sa, sp);
	sa_fill(&info->dst, family, da, dp);
	return 0;
}

static int parse_v1(const char *buf, size_t len, struct pp_info *out)
{
	struct pp_info info = {.version = 1};
	size_t i;
	int rc;

	/*
	 * Look for the CR of the CRLF where a 107-byte line can have it, and
	 * refuse early what can never become a line: a wrong prefix, a byte
	 * outside 0x20-0x7e (which covers a bare LF), a CR not followed by LF.
	 */
	for (i = 0; i < len && i < PP_V1_MAX - 1; i++) {
		if (i < V1_PREFIX_LEN) {
			if (buf[i] != V1_PREFIX[i])
				return -EBADMSG;
			continue;
		}
		if (buf[i] == '\r')
			break;
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EBADMSG;
	}
	if (i == PP_V1_MAX - 1)
		return -EBADMSG;
	if (i + 1 >= len)
		return -EAGAIN;
	if (buf[i + 1] != '\n')
		return -EBADMSG;
	rc = v1_fields(buf + V1_PREFIX_LEN, buf + i, &info);
	if (rc)
		return rc;
	*out = info;
	return (int)(i + 2);
}

static int v2_addr_len(uint8_t fam)
{
	switch (fam) {
	case V2_FAM_UNSPEC:
		return 0;
	case V2_FAM_TCP4:
	case V2_FAM_UDP4:
		return V2_ADDR_INET;
	case V2_FAM_TCP6:
	case V2_FAM_UDP6:
		return V2_ADDR_INET6;
	case V2_FAM_UNIX_S:
	case V2_FAM_UNIX_D:
		return V2_ADDR_UNIX;
	default:
		return -EBADMSG; /* spec 2.2: other values must be rejected */
	}
}

static void v2_addrs(const uint8_t *a, uint8_t fam, struct pp_info *info)
{
	info->socktype = (fam & 0x0f) == 0x1 ? SOCK_STREAM : SOCK_DGRAM;
	switch (fam >> 4) {
	case 0x1:
		info->family = AF_INET;
		sa_fill(&info->src, AF_INET, a, get_be16(a + 8));
		sa_fill(&info->dst, AF_INET, a + 4, get_be16(a + 10));
		break;
	case 0x2:
		info->family = AF_INET6;
		sa_fill(&info->src, AF_INET6, a, get_be16(a + 32));
		sa_fill(&info->dst, AF_INET6, a + 16, get_be16(a + 34));
		break;
	default: {
		struct sockaddr_un *s = (struct sockaddr_un *)&info->src;
		struct sockaddr_un *d = (struct sockaddr_un *)&info->dst;

		_Static_assert(sizeof(s->sun_path) == V2_UNIX_PATH, "sun_path is 108 bytes");
		info->family = AF_UNIX;
		s->sun_family = AF_UNIX;
		memcpy(s->sun_path, a, V2_UNIX_PATH);
		d->sun_family = AF_UNIX;
		memcpy(d->sun_path, a + V2_UNIX_PATH, V2_UNIX_PATH);
		break;
	}
	}
}

static int parse_v2(const char *buf, size_t len, struct pp_info *out)
{
	static const uint8_t zero[4];
	const uint8_t *b = (const uint8_t *)buf;
	struct pp_info info = {.version = 2};
	size_t hlen, pos, crc_at = 0;
	uint8_t cmd, fam;
	int alen;

	/* Refuse as early as the bytes allow, before waiting for the rest. */
	if (memcmp(b, PP_V2_SIG, len < PP_V2_SIG_LEN ? len : PP_V2_SIG_LEN))
		return -EBADMSG;
	if (len > 12 && ((b[12] & 0xf0) != V2_VERSION || (b[12] & 0x0f) > V2_CMD_PROXY))
		return -EBADMSG;
	if (len > 13 && v2_addr_len(b[13]) < 0)
		return -EBADMSG;
	if (len < PP_V2_HDR)
		return -EAGAIN;
	cmd = b[12] & 0x0f;
	fam = b[13];
	alen = v2_addr_len(fam);
	hlen = PP_V2_HDR + get_be16(b + 14);
	/* Whatever the command, the length must cover the family's addresses. */
	if (hlen < PP_V2_HDR + (size_t)alen)
		return -EBADMSG;
	if (len < hlen)
		return -EAGAIN;

	for (pos = PP_V2_HDR + (size_t)alen; pos < hlen;) {
		uint8_t type = b[pos];
		size_t vlen;

		if (hlen - pos < TLV_HDR)
			return -EBADMSG;
		vlen = get_be16(b + pos + 1);
		if (vlen > hlen - pos - TLV_HDR)
			return -EBADMSG;
		if (type == PP2_TYPE_CRC32C) {
			if (vlen != 4 || crc_at)
				return -EBADMSG;
			crc_at = pos + TLV_HDR;
		} else if (tlv_check(type, b + pos + TLV_HDR, vlen)) {
			return -EBADMSG;
		}
		pos += TLV_HDR + vlen;
	}
	if (crc_at) {
		uint32_t crc = pp_crc32c(0, b, crc_at);

		crc = pp_crc32c(crc, zero, 4);
		crc = pp_crc32c(crc, b + crc_at + 4, hlen - crc_at - 4);
		if (crc != get_be32(b + crc_at))
			return -EBADMSG;
		info.crc32c = true;
	}

	info.tlv_off = (uint32_t)(PP_V2_HDR + (size_t)alen);
	info.tlv_len = (uint32_t)(hlen - info.tlv_off);
	if (cmd == V2_CMD_LOCAL || fam == V2_FAM_UNSPEC) {
		/* Spec 2.2: LOCAL ignores the block; UNSPEC has no addresses. */
		info.local = true;
		info.family = AF_UNSPEC;
	} else {
		v2_addrs(b + PP_V2_HDR, fam, &info);
	}
	*out = info;
	return (int)hlen;
}

int pp_parse(const char *buf, size_t len, struct pp_info *out)
{
	if (!out || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return -EAGAIN;
	/* The two signatures differ in their first byte (spec 2.2). */
	if (buf[0] == '\r')
		return parse_v2(buf, len, out);
	if (buf[0] == 'P')
		return parse_v1(buf, len, out);
	return -EBADMSG;
}

int pp_tlv_next(const char *buf, const struct pp_info *info, size_t *pos, struct pp_tlv *tlv)
{
	const uint8_t *p;
	size_t rem, vlen;

	if (!buf || !info || !pos || !tlv || *pos > info->tlv_len)
		return -EINVAL;
	if (*pos == info->tlv_len)
		return -ENOENT;
	p = (const uint8_t *)buf + info->tlv_off + *pos;
	rem = info->tlv_len - *pos;
	if (rem < TLV_HDR)
		return -EINVAL;
	vlen = get_be16(p + 1);
	if (vlen > rem - TLV_HDR)
		return -EINVAL;
	tlv->type = p[0];
	tlv->len = (uint16_t)vlen;
	tlv->value = p + TLV_HDR;
	*pos += TLV_HDR + vlen;
	return 0;
}

int pp_tlv_find(const char *buf, const struct pp_info *info, uint8_t type, struct pp_tlv *tlv)
{
	struct pp_tlv t;
	size_t pos = 0;
	int rc;

	if (!tlv)
		return -EINVAL;
	while ((rc = pp_tlv_next(buf, info, &pos, &t)) == 0) {
		if (t.type == type) {
			*tlv = t;
			return 0;
		}
	}
	return rc;
}
