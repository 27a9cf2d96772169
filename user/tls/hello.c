// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS ClientHello reader: see hello.h for what is accepted and why.
 *
 * The ClientHello is read through a cursor that walks the record layer,
 * so the field parsers see one contiguous message however the client cut
 * it into records. Every read is bounded twice: by the structure holding
 * the field (past it is -EBADMSG, decided as soon as the length is known)
 * and by the bytes given (past them is -EAGAIN). Since the checks run in
 * wire order and each looks only at bytes before the cursor, a prefix
 * never gets a verdict that more bytes would change.
 */
#include <errno.h>
#include <string.h>

#include "tls/hello.h"

#define TLS_CT_CCS	    20
#define TLS_CT_HEARTBEAT    24
#define TLS_CT_HANDSHAKE    22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_RECORD_HDR	    5
#define TLS_RECORD_MAX	    16384 /* 2^14: RFC 8446 5.1 */
#define TLS_HS_HDR	    4

#define EXT_SERVER_NAME	       0
#define EXT_ALPN	       16
#define EXT_EARLY_DATA	       42
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_ECH		       0xfe0d

#define SESSION_ID_MAX 32
#define DNS_LABEL_MAX  63

static const char *const err_names[HELLO_ERR__MAX] = {
    [HELLO_ERR_NONE] = "none",
    [HELLO_ERR_NOT_TLS] = "not-tls",
    [HELLO_ERR_SSLV2] = "sslv2",
    [HELLO_ERR_NOT_HANDSHAKE] = "not-handshake",
    [HELLO_ERR_RECORD_VERSION] = "record-version",
    [HELLO_ERR_RECORD_LENGTH] = "record-length",
    [HELLO_ERR_RECORD_INTERLEAVED] = "record-interleaved",
    [HELLO_ERR_TOO_MANY_RECORDS] = "too-many-records",
    [HELLO_ERR_TRAILING_DATA] = "trailing-data",
    [HELLO_ERR_NOT_CLIENT_HELLO] = "not-client-hello",
    [HELLO_ERR_TOO_LARGE] = "too-large",
    [HELLO_ERR_VERSION] = "version",
    [HELLO_ERR_RANDOM] = "random",
    [HELLO_ERR_SESSION_ID] = "session-id",
    [HELLO_ERR_CIPHER_SUITES] = "cipher-suites",
    [HELLO_ERR_COMPRESSION] = "compression",
    [HELLO_ERR_EXTENSIONS] = "extensions",
    [HELLO_ERR_EXTENSION] = "extension",
    [HELLO_ERR_EXTENSION_DUP] = "extension-dup",
    [HELLO_ERR_SNI_LIST] = "sni-list",
    [HELLO_ERR_SNI_LENGTH] = "sni-length",
    [HELLO_ERR_SNI_CHAR] = "sni-char",
    [HELLO_ERR_SNI_LABEL] = "sni-label",
    [HELLO_ERR_ALPN] = "alpn",
    [HELLO_ERR_VERSIONS] = "supported-versions",
};

const char *hello_err_str(enum hello_err err)
{
	if ((unsigned)err >= HELLO_ERR__MAX || !err_names[err])
		return "?";
	return err_names[err];
}

/*
 * A read position in the ClientHello and, under it, on the wire. Offsets
 * called "end" below are ClientHello offsets (header included).
 */
struct hcur {
	const uint8_t *buf;
	size_t len;	  /* bytes given */
	size_t pos;	  /* wire offset of the next byte */
	size_t rec_end;	  /* wire offset just past the current record */
	uint32_t off;	  /* ClientHello bytes read */
	uint32_t msg_len; /* ClientHello length; 0 until its header is read */
	uint8_t nr_records;
	enum hello_err err;
};

static int hc_fail(struct hcur *c, enum hello_err err)
{
	c->err = err;
	return -EBADMSG;
}

/* ClientHello bytes still to come: a lower bound while the length is unknown. */
static uint32_t hc_left(const struct hcur *c)
{
	if (c->msg_len)
		return c->msg_len - c->off;
	return TLS_HS_HDR - c->off;
}

/*
 * Checks a record that would hold rlen more ClientHello bytes against what
 * is left of it, once its length is known: a record may not go on past
 * the ClientHello, and the last record allowed must finish it.
 */
static int hc_record_fits(struct hcur *c, size_t rlen)
{
	if (!c->msg_len)
		return 0;
	if (rlen > c->msg_len - c->off)
		return hc_fail(c, HELLO_ERR_TRAILING_DATA);
	if (c->nr_records == HELLO_RECORDS_MAX && rlen < c->msg_len - c->off)
		return hc_fail(c, HELLO_ERR_TOO_MANY_RECORDS);
	return 0;
}

/*
 * Reads the record header at c->pos. Each header byte is checked as soon
 * as it is there, so plain text on a TLS port is refused at its first byte.
 */
static int hc_record(struct hcur *c)
{
	size_t have = c->len - c->pos, rlen;
	const uint8_t *p;
	int rc;

	/* hc_record_fits() refuses a short last record first; this bounds us anyway */
	if (c->nr_records == HELLO_RECORDS_MAX)
		return hc_fail(c, HELLO_ERR_TOO_MANY_RECORDS);
	if (!have) /* buf may be NULL then */
		return -EAGAIN;
	p = c->buf + c->pos;
	if (p[0] != TLS_CT_HANDSHAKE) {
		if (c->nr_records)
			return hc_fail(c, HELLO_ERR_RECORD_INTERLEAVED);
		/* SSL 2.0 headers are a 2- or 3-byte length whose top bit is a flag */
		if (p[0] & 0x80)
			return hc_fail(c, HELLO_ERR_SSLV2);
		if (p[0] >= TLS_CT_CCS && p[0] <= TLS_CT_HEARTBEAT)
			return hc_fail(c, HELLO_ERR_NOT_HANDSHAKE);
		return hc_fail(c, HELLO_ERR_NOT_TLS);
	}
	if ((have > 1 && p[1] != 3) || (have > 2 && p[2] > 3))
		return hc_fail(c, HELLO_ERR_RECORD_VERSION);
	if (have < TLS_RECORD_HDR)
		return -EAGAIN;
	rlen = (size_t)p[3] << 8 | p[4];
	if (!rlen || rlen > TLS_RECORD_MAX)
		return hc_fail(c, HELLO_ERR_RECORD_LENGTH);
	c->nr_records++;
	rc = hc_record_fits(c, rlen);
	if (rc)
		return rc;
	c->pos += TLS_RECORD_HDR;
	c->rec_end = c->pos + rlen;
	return 0;
}

/*
 * Reads n ClientHello bytes into dst (or skips them when dst is NULL).
 * A field that would run past end is refused with err before anything is
 * read; running out of bytes given is -EAGAIN.
 */
static int hc_read(struct hcur *c, void *dst, size_t n, uint32_t end, enum hello_err err)
{
	uint8_t *d = dst;
	int rc;

	if (n > end - c->off)
		return hc_fail(c, err);
	while (n) {
		size_t k;

		if (c->pos == c->rec_end) {
			rc = hc_record(c);
			if (rc)
				return rc;
		}
		if (c->pos >= c->len)
			return -EAGAIN;
		k = c->rec_end - c->pos;
		if (k > c->len - c->pos)
			k = c->len - c->pos;
		if (k > n)
			k = n;
		if (d) {
			memcpy(d, c->buf + c->pos, k);
			d += k;
		}
		c->pos += k;
		c->off += (uint32_t)k;
		n -= k;
	}
	return 0;
}

static int hc_u8(struct hcur *c, uint32_t *v, uint32_t end, enum hello_err err)
{
	uint8_t b;
	int rc = hc_read(c, &b, 1, end, err);

	if (!rc)
		*v = b;
	return rc;
}

static int hc_u16(struct hcur *c, uint32_t *v, uint32_t end, enum hello_err err)
{
	uint8_t b[2];
	int rc = hc_read(c, b, 2, end, err);

	if (!rc)
		*v = (uint32_t)b[0] << 8 | b[1];
	return rc;
}

/* The fewest wire bytes that could hold the rest of the ClientHello. */
static uint32_t hc_need(const struct hcur *c)
{
	size_t left = hc_left(c), in_rec;

	if (c->pos == c->rec_end)
		return (uint32_t)(c->pos + TLS_RECORD_HDR + left);
	/* the record is read whole; what it cannot hold needs another one */
	in_rec = c->rec_end - c->pos;
	if (left <= in_rec)
		return (uint32_t)c->rec_end;
	return (uint32_t)(c->rec_end + TLS_RECORD_HDR + left - in_rec);
}

static bool ldh_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

/* Checks a host name of n > 0 bytes and lowers its case in place. */
static enum hello_err sni_check(char *s, size_t n)
{
	size_t i, label = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!label)
				return HELLO_ERR_SNI_LABEL;
			label = 0;
			continue;
		}
		if (!ldh_char(s[i]))
			return HELLO_ERR_SNI_CHAR;
		if (++label > DNS_LABEL_MAX)
			return HELLO_ERR_SNI_LABEL;
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	}
	/* RFC 6066 3: "without a trailing dot" */
	return label ? HELLO_ERR_NONE : HELLO_ERR_SNI_LABEL;
}

/* RFC 6066 3, read the way OpenSSL reads it: one host_name entry, nothing else. */
static int ext_sni(struct hcur *c, uint32_t end, struct hello_info *h)
{
	enum hello_err err;
	uint32_t v, n;
	int rc;

	rc = hc_u16(c, &v, end, HELLO_ERR_SNI_LIST);
	if (rc)
		return rc;
	if (v != end - c->off)
		return hc_fail(c, HELLO_ERR_SNI_LIST);
	rc = hc_u8(c, &v, end, HELLO_ERR_SNI_LIST);
	if (rc)
		return rc;
	if (v != 0) /* host_name */
		return hc_fail(c, HELLO_ERR_SNI_LIST);
	rc = hc_u16(c, &n, end, HELLO_ERR_SNI_LIST);
	if (rc)
		return rc;
	if (n > end - c->off)
		return hc_fail(c, HELLO_ERR_SNI_LIST);
	if (!n || n > HELLO_SNI_MAX)
		return hc_fail(c, HELLO_ERR_SNI_LENGTH);
	if (n != end - c->off) /* a second entry */
		return hc_fail(c, HELLO_ERR_SNI_LIST);
	rc = hc_read(c, h->sni, n, end, HELLO_ERR_SNI_LIST);
	if (rc)
		return rc;
	err = sni_check(h->sni, n);
	if (err)
		return hc_fail(c, err);
	h->sni[n] = '\0';
	h->sni_len = (uint16_t)n;
	h->flags |= HELLO_F_SNI;
	return 0;
}

/* RFC 7301 3.1: ProtocolName protocol_name_list<2..2^16-1>, names <1..2^8-1>. */
static int ext_alpn(struct hcur *c, uint32_t end, struct hello_info *h)
{
	uint32_t v, n, used = 0;
	int rc;

	rc = hc_u16(c, &v, end, HELLO_ERR_ALPN);
	if (rc)
		return rc;
	if (v < 2 || v != end - c->off)
		return hc_fail(c, HELLO_ERR_ALPN);
	h->flags |= HELLO_F_ALPN;
	while (c->off < end) {
		rc = hc_u8(c, &n, end, HELLO_ERR_ALPN);
		if (rc)
			return rc;
		if (!n || n > end - c->off)
			return hc_fail(c, HELLO_ERR_ALPN);
		h->alpn_total++;
		if (h->nr_alpn < HELLO_ALPN_MAX && n <= HELLO_ALPN_BUF - used) {
			rc = hc_read(c, h->alpn_buf + used, n, end, HELLO_ERR_ALPN);
			h->alpn[h->nr_alpn].off = (uint16_t)used;
			h->alpn[h->nr_alpn].len = (uint8_t)n;
			h->nr_alpn++;
			used += n;
		} else {
			rc = hc_read(c, NULL, n, end, HELLO_ERR_ALPN);
			h->flags |= HELLO_F_ALPN_PARTIAL;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* RFC 8446 4.2.1: ProtocolVersion versions<2..254>. */
static int ext_versions(struct hcur *c, uint32_t end, struct hello_info *h)
{
	uint32_t n, v;
	int rc;

	rc = hc_u8(c, &n, end, HELLO_ERR_VERSIONS);
	if (rc)
		return rc;
	if (n < 2 || n & 1 || n != end - c->off)
		return hc_fail(c, HELLO_ERR_VERSIONS);
	h->flags |= HELLO_F_VERSIONS;
	while (c->off < end) {
		rc = hc_u16(c, &v, end, HELLO_ERR_VERSIONS);
		if (rc)
			return rc;
		/* GREASE (0x?a?a) and drafts (0x7fxx) are not 3.x */
		if (v >> 8 == 3 && v > h->version)
			h->version = (uint16_t)v;
	}
	return 0;
}

/* The extensions block, which ends where the ClientHello does. */
static int hello_extensions(struct hcur *c, struct hello_info *h)
{
	uint64_t seen[65536 / 64];
	uint32_t end = c->msg_len, type, n, ext_end;
	int rc;

	rc = hc_u16(c, &n, end, HELLO_ERR_EXTENSIONS);
	if (rc)
		return rc;
	if (n != end - c->off)
		return hc_fail(c, HELLO_ERR_EXTENSIONS);
	memset(seen, 0, sizeof(seen));
	while (c->off < end) {
		rc = hc_u16(c, &type, end, HELLO_ERR_EXTENSION);
		if (rc)
			return rc;
		rc = hc_u16(c, &n, end, HELLO_ERR_EXTENSION);
		if (rc)
			return rc;
		if (n > end - c->off)
			return hc_fail(c, HELLO_ERR_EXTENSION);
		if (seen[type / 64] & (1ull << (type % 64)))
			return hc_fail(c, HELLO_ERR_EXTENSION_DUP);
		seen[type / 64] |= 1ull << (type % 64);
		ext_end = c->off + n;
		switch (type) {
		case EXT_SERVER_NAME:
			rc = ext_sni(c, ext_end, h);
			break;
		case EXT_ALPN:
			rc = ext_alpn(c, ext_end, h);
			break;
		case EXT_SUPPORTED_VERSIONS:
			rc = ext_versions(c, ext_end, h);
			break;
		case EXT_EARLY_DATA:
			h->flags |= HELLO_F_EARLY_DATA;
			rc = hc_read(c, NULL, n, ext_end, HELLO_ERR_EXTENSION);
			break;
		case EXT_ECH:
			h->flags |= HELLO_F_ECH;
			rc = hc_read(c, NULL, n, ext_end, HELLO_ERR_EXTENSION);
			break;
		default:
			rc = hc_read(c, NULL, n, ext_end, HELLO_ERR_EXTENSION);
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* RFC 8446 4.1.2 (RFC 5246 7.4.1.2 reads the same bytes). */
static int hello_body(struct hcur *c, struct hello_info *h)
{
	uint32_t end = c->msg_len, v, n, i;
	bool null = false;
	int rc;

	rc = hc_u16(c, &v, end, HELLO_ERR_VERSION);
	if (rc)
		return rc;
	if (v >> 8 != 3)
		return hc_fail(c, HELLO_ERR_VERSION);
	h->legacy_version = (uint16_t)v;
	rc = hc_read(c, NULL, 32, end, HELLO_ERR_RANDOM);
	if (rc)
		return rc;
	rc = hc_u8(c, &n, end, HELLO_ERR_SESSION_ID);
	if (rc)
		return rc;
	if (n > SESSION_ID_MAX)
		return hc_fail(c, HELLO_ERR_SESSION_ID);
	rc = hc_read(c, NULL, n, end, HELLO_ERR_SESSION_ID);
	if (rc)
		return rc;
	rc = hc_u16(c, &n, end, HELLO_ERR_CIPHER_SUITES);
	if (rc)
		return rc;
	if (n < 2 || n & 1)
		return hc_fail(c, HELLO_ERR_CIPHER_SUITES);
	rc = hc_read(c, NULL, n, end, HELLO_ERR_CIPHER_SUITES);
	if (rc)
		return rc;
	rc = hc_u8(c, &n, end, HELLO_ERR_COMPRESSION);
	if (rc)
		return rc;
	if (!n || n > end - c->off)
		return hc_fail(c, HELLO_ERR_COMPRESSION);
	for (i = 0; i < n; i++) {
		rc = hc_u8(c, &v, end, HELLO_ERR_COMPRESSION);
		if (rc)
			return rc;
		null |= v == 0;
	}
	if (!null)
		return hc_fail(c, HELLO_ERR_COMPRESSION);
	if (c->off == end) /* no extensions: SSL 3.0 and some TLS 1.0 clients */
		return 0;
	return hello_extensions(c, h);
}

static int hello_msg(struct hcur *c, struct hello_info *h)
{
	uint32_t v;
	uint8_t hdr[TLS_HS_HDR];
	int rc;

	/* the type first, so a ServerHello or Finished is named at once */
	rc = hc_read(c, hdr, 1, TLS_HS_HDR, HELLO_ERR_NOT_CLIENT_HELLO);
	if (rc)
		return rc;
	if (hdr[0] != TLS_HS_CLIENT_HELLO)
		return hc_fail(c, HELLO_ERR_NOT_CLIENT_HELLO);
	rc = hc_read(c, hdr + 1, 3, TLS_HS_HDR, HELLO_ERR_TOO_LARGE);
	if (rc)
		return rc;
	v = (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (v > HELLO_MSG_MAX - TLS_HS_HDR)
		return hc_fail(c, HELLO_ERR_TOO_LARGE);
	c->msg_len = TLS_HS_HDR + v;
	/* the record holding the header may now be seen to overrun */
	rc = hc_record_fits(c, c->rec_end - c->pos);
	if (rc)
		return rc;
	rc = hello_body(c, h);
	if (rc)
		return rc;
	if (!h->version)
		h->version = h->legacy_version;
	return 0;
}

int hello_parse(const uint8_t *buf, size_t len, struct hello_info *out)
{
	struct hcur c = {.buf = buf, .len = len};
	struct hello_info h;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	rc = hello_msg(&c, &h);
	if (!rc) {
		/* every record was checked to end inside the ClientHello */
		h.consumed = (uint32_t)c.pos;
		h.msg_len = c.msg_len;
		h.nr_records = c.nr_records;
		/* a byte copy: padding stays zero, so views compare with memcmp */
		memcpy(out, &h, sizeof(h));
	} else if (rc == -EAGAIN) {
		out->need = hc_need(&c);
	} else {
		out->err = c.err;
		out->why = hello_err_str(c.err);
	}
	return rc;
}

bool hello_alpn_has(const struct hello_info *h, const char *proto)
{
	size_t n, i;

	if (!h || !proto)
		return false;
	n = strlen(proto);
	if (!n || n > 255)
		return false;
	for (i = 0; i < h->nr_alpn && i < HELLO_ALPN_MAX; i++)
		if (h->alpn[i].len == n && !memcmp(h->alpn_buf + h->alpn[i].off, proto, n))
			return true;
	return false;
}
