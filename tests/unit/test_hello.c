// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS ClientHello reader tests.
 *
 * Where the bytes come from:
 *  - Six real ClientHellos captured on loopback when this test was written
 *    (a Python listener on 127.0.0.1 that saved what the client sent):
 *    `openssl s_client` 3.0.19 with -servername Example.COM -alpn
 *    h2,http/1.1, with -noservername, and with -tls1_2; curl 7.88.1 with
 *    --resolve to www.example.com (SNI and ALPN h2,http/1.1), with
 *    --tls-max 1.2, and to https://127.0.0.1 (no SNI). The expected views
 *    were read off the bytes with a separate Python decoder.
 *  - ClientHellos made at run time by OpenSSL's client (memory BIOs) with
 *    the SNI, ALPN and versions each test configures.
 *  - Everything else is written in a small length-prefix notation (see
 *    dsl()), so that each malformed case differs from a valid one in one
 *    place and says where.
 *
 * Every case is parsed from an exact-size copy (ASan sees any read past
 * len), and so is every prefix of it: a prefix gets -EAGAIN with a need
 * that is a true lower bound, or the very error the whole input gets.
 * Every accepted hello is also re-cut into 2 records at every offset and
 * into 16 records, must give the same view, and is handed to an OpenSSL
 * server whose ClientHello callback must see the same name, ALPN list and
 * version: an oracle that shares no code with the parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/hello.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define WIRE_CAP (HELLO_WIRE_MAX + 4096)

/* ------------------------------------------------------------ notation */

/*
 * Bytes from a line of tokens separated by spaces:
 *   16 0301 abcdef   hex, any even number of digits
 *   'text'           the ASCII bytes between the quotes
 *   rep:N:hh         N bytes hh
 *   {W ... }         the bytes inside, preceded by their length in W bytes
 *                    (big-endian, as TLS writes lengths)
 * A length that is wrong on purpose is written out in hex instead of {W.
 */
static size_t dsl(const char *s, uint8_t *out, size_t cap)
{
	size_t open[16], width[16], depth = 0, n = 0;

	while (*s) {
		if (*s == ' ' || *s == '\t' || *s == '\n') {
			s++;
		} else if (*s == '{') {
			assert_true(depth < ARRAY_SIZE(open));
			width[depth] = (size_t)(s[1] - '0');
			assert_true(width[depth] >= 1 && width[depth] <= 3);
			open[depth++] = n;
			n += width[depth - 1];
			assert_true(n <= cap);
			s += 2;
		} else if (*s == '}') {
			size_t w, len, i;

			assert_true(depth > 0);
			depth--;
			w = width[depth];
			len = n - open[depth] - w;
			assert_true(len < (1ul << (8 * w)));
			for (i = 0; i < w; i++)
				out[open[depth] + i] = (uint8_t)(len >> (8 * (w - 1 - i)));
			s++;
		} else if (*s == '\'') {
			const char *e = strchr(s + 1, '\'');

			assert_non_null(e);
			assert_true(n + (size_t)(e - s - 1) <= cap);
			memcpy(out + n, s + 1, (size_t)(e - s - 1));
			n += (size_t)(e - s - 1);
			s = e + 1;
		} else if (!strncmp(s, "rep:", 4)) {
			char *e;
			unsigned long cnt = strtoul(s + 4, &e, 10);
			unsigned long b;

			assert_true(*e == ':');
			b = strtoul(e + 1, &e, 16);
			assert_true(n + cnt <= cap);
			memset(out + n, (int)b, cnt);
			n += cnt;
			s = e;
		} else {
			unsigned int b;

			assert_true(n < cap);
			assert_int_equal(sscanf(s, "%2x", &b), 1);
			assert_true(s[1] && strchr("0123456789abcdefABCDEF", s[1]));
			out[n++] = (uint8_t)b;
			s += 2;
		}
	}
	assert_int_equal(depth, 0);
	return n;
}

/*
 * Puts a handshake message into records: a new record starts at each cut
 * (ascending message offsets). Every record says TLS 1.0, as clients do.
 */
static size_t wrap(const uint8_t *msg, size_t mlen, const uint32_t *cuts, size_t nr_cuts,
		   uint8_t *out, size_t cap)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= nr_cuts; i++) {
		size_t end = i < nr_cuts ? cuts[i] : mlen;

		assert_true(end > start && end <= mlen && end - start <= 16384);
		assert_true(n + 5 + end - start <= cap);
		out[n++] = 22;
		out[n++] = 3;
		out[n++] = 1;
		out[n++] = (uint8_t)((end - start) >> 8);
		out[n++] = (uint8_t)(end - start);
		memcpy(out + n, msg + start, end - start);
		n += end - start;
		start = end;
	}
	return n;
}

/*
 * The handshake bytes of the records in wire[0, consumed), walked without
 * the parser: what a re-cut must carry.
 */
static size_t unwrap(const uint8_t *wire, size_t consumed, uint8_t *msg, size_t *nr_records)
{
	size_t off = 0, m = 0;

	*nr_records = 0;
	while (off < consumed) {
		size_t rlen;

		assert_true(off + 5 <= consumed);
		assert_int_equal(wire[off], 22);
		rlen = (size_t)wire[off + 3] << 8 | wire[off + 4];
		assert_true(off + 5 + rlen <= consumed);
		memcpy(msg + m, wire + off + 5, rlen);
		m += rlen;
		off += 5 + rlen;
		(*nr_records)++;
	}
	assert_int_equal(off, consumed);
	return m;
}

/* ------------------------------------------------------------ helpers */

static int parse_copy(const uint8_t *in, size_t n, struct hello_info *h)
{
	/* exact size: ASan catches a read past n */
	uint8_t *b = malloc(n ? n : 1);
	int rc;

	assert_non_null(b);
	if (n)
		memcpy(b, in, n);
	rc = hello_parse(b, n, h);
	free(b);
	return rc;
}

/* "h2,http/1.1" from the names kept. */
static void alpn_join(const struct hello_info *h, char *s, size_t cap)
{
	size_t n = 0, i;

	s[0] = '\0';
	for (i = 0; i < h->nr_alpn; i++) {
		assert_true(n + h->alpn[i].len + 2 <= cap);
		assert_true((size_t)h->alpn[i].off + h->alpn[i].len <= HELLO_ALPN_BUF);
		if (i)
			s[n++] = ',';
		memcpy(s + n, h->alpn_buf + h->alpn[i].off, h->alpn[i].len);
		n += h->alpn[i].len;
		s[n] = '\0';
	}
}

static size_t count_names(const char *list)
{
	size_t n = 1;

	if (!list || !*list)
		return 0;
	for (; *list; list++)
		n += *list == ',';
	return n;
}

/* What an accepted hello must show. */
struct expect {
	const char *sni;     /* NULL: no server_name */
	const char *alpn;    /* names kept, comma-separated; NULL: no ALPN */
	uint16_t alpn_total; /* 0: as many as in alpn */
	uint16_t version;
	uint16_t legacy;
	uint8_t flags;
	uint32_t trailing; /* bytes after the ClientHello's records */
	bool no_ossl;	   /* OpenSSL's server refuses it before the callback */
};

static void assert_view(const struct hello_info *h, const struct expect *e)
{
	char alpn[1024];

	assert_int_equal(h->err, HELLO_ERR_NONE);
	assert_null(h->why);
	assert_int_equal(h->need, 0);
	if (e->sni) {
		assert_string_equal(h->sni, e->sni);
		assert_int_equal(h->sni_len, strlen(e->sni));
	} else {
		assert_int_equal(h->sni_len, 0);
		assert_string_equal(h->sni, "");
	}
	alpn_join(h, alpn, sizeof(alpn));
	assert_string_equal(alpn, e->alpn ? e->alpn : "");
	assert_int_equal(h->alpn_total, e->alpn_total ? e->alpn_total : count_names(e->alpn));
	assert_int_equal(h->version, e->version);
	assert_int_equal(h->legacy_version, e->legacy);
	assert_int_equal(h->flags, e->flags);
}

static void assert_same_view(const struct hello_info *a, const struct hello_info *b)
{
	assert_int_equal(a->msg_len, b->msg_len);
	assert_int_equal(a->legacy_version, b->legacy_version);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->sni_len, b->sni_len);
	assert_memory_equal(a->sni, b->sni, sizeof(a->sni));
	assert_int_equal(a->nr_alpn, b->nr_alpn);
	assert_int_equal(a->alpn_total, b->alpn_total);
	assert_memory_equal(a->alpn, b->alpn, sizeof(a->alpn));
	assert_memory_equal(a->alpn_buf, b->alpn_buf, sizeof(a->alpn_buf));
}

/* ------------------------------------------------------ OpenSSL oracle */

struct ossl_seen {
	bool called;
	unsigned legacy;
	bool has_sni;
	char sni[300];
	bool has_alpn;
	uint8_t alpn[1024]; /* the ProtocolNameList body, its length dropped */
	size_t alpn_len;
};

static int ossl_hello_cb(SSL *s, int *al, void *arg)
{
	struct ossl_seen *o = arg;
	const unsigned char *p;
	size_t n;

	o->called = true;
	o->legacy = SSL_client_hello_get0_legacy_version(s);
	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &n) && n >= 5 &&
	    n - 5 < sizeof(o->sni)) {
		o->has_sni = true;
		memcpy(o->sni, p + 5, n - 5);
		o->sni[n - 5] = '\0';
	}
	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
				      &n) &&
	    n >= 2 && n - 2 <= sizeof(o->alpn)) {
		o->has_alpn = true;
		memcpy(o->alpn, p + 2, n - 2);
		o->alpn_len = n - 2;
	}
	*al = SSL_AD_HANDSHAKE_FAILURE;
	return SSL_CLIENT_HELLO_ERROR; /* seen enough */
}

/* Hands wire[0, n) to an OpenSSL server and records what its callback saw. */
static void ossl_server_read(const uint8_t *wire, size_t n, struct ossl_seen *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	SSL *s;

	memset(o, 0, sizeof(*o));
	assert_non_null(ctx);
	assert_non_null(rb);
	assert_non_null(wb);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, 0);
	SSL_CTX_set_client_hello_cb(ctx, ossl_hello_cb, o);
	s = SSL_new(ctx);
	assert_non_null(s);
	assert_int_equal(BIO_write(rb, wire, (int)n), (int)n);
	SSL_set_bio(s, rb, wb);
	SSL_set_accept_state(s);
	assert_true(SSL_do_handshake(s) <= 0);
	SSL_free(s);
	SSL_CTX_free(ctx);
	ERR_clear_error();
}

static void assert_ossl_agrees(const uint8_t *wire, size_t n, const struct hello_info *h)
{
	struct ossl_seen o;
	size_t i, off = 0;

	ossl_server_read(wire, n, &o);
	assert_true(o.called);
	assert_int_equal(o.legacy, h->legacy_version);
	assert_int_equal(o.has_sni, h->sni_len > 0);
	if (o.has_sni) {
		assert_int_equal(strlen(o.sni), h->sni_len);
		assert_int_equal(strcasecmp(o.sni, h->sni), 0);
	}
	assert_int_equal(o.has_alpn, !!(h->flags & HELLO_F_ALPN));
	if (!o.has_alpn || (h->flags & HELLO_F_ALPN_PARTIAL))
		return;
	for (i = 0; i < h->nr_alpn; i++) {
		assert_true(off < o.alpn_len);
		assert_int_equal(o.alpn[off], h->alpn[i].len);
		assert_memory_equal(o.alpn + off + 1, h->alpn_buf + h->alpn[i].off, h->alpn[i].len);
		off += 1 + (size_t)h->alpn[i].len;
	}
	assert_int_equal(off, o.alpn_len);
}

/* ------------------------------------------------------- the checks */

/* Every prefix: -EAGAIN with an honest need, or the whole input's error. */
static void check_prefixes(const uint8_t *wire, size_t n, int rc, const struct hello_info *whole,
			   size_t exact_from)
{
	struct hello_info h;
	size_t k;

	for (k = 0; k < n; k++) {
		int r = parse_copy(wire, k, &h);

		if (r == -EAGAIN) {
			assert_true(h.need > k);
			assert_true(h.need <= HELLO_WIRE_MAX);
			assert_int_equal(h.err, HELLO_ERR_NONE);
			if (k < 5) /* a record header, a handshake header */
				assert_int_equal(h.need, 9);
			if (rc == 0) {
				assert_true(h.need <= whole->consumed);
				if (k >= exact_from)
					assert_int_equal(h.need, whole->consumed);
			}
			continue;
		}
		if (rc == 0) {
			/* only bytes after the hello can be missing */
			assert_int_equal(r, 0);
			assert_true(k >= whole->consumed);
			assert_int_equal(h.consumed, whole->consumed);
			assert_same_view(&h, whole);
			continue;
		}
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(rc, -EBADMSG);
		assert_int_equal(h.err, whole->err);
	}
}

/*
 * The ClientHello in wire re-cut into other records: at every offset into
 * two (up to a few thousand bytes), then into 16 of about equal size.
 */
static void check_recut(const uint8_t *wire, const struct hello_info *whole)
{
	static uint8_t msg[HELLO_MSG_MAX], out[WIRE_CAP];
	struct hello_info h;
	size_t mlen, nr, n, k, step;
	uint32_t cuts[HELLO_RECORDS_MAX];

	mlen = unwrap(wire, whole->consumed, msg, &nr);
	assert_int_equal(mlen, whole->msg_len);
	assert_int_equal(nr, whole->nr_records);
	step = mlen > 2048 ? mlen / 512 : 1;
	for (k = 1; k < mlen; k += step) {
		cuts[0] = (uint32_t)k;
		n = wrap(msg, mlen, cuts, 1, out, sizeof(out));
		assert_int_equal(parse_copy(out, n, &h), 0);
		assert_int_equal(h.consumed, n);
		assert_int_equal(h.nr_records, 2);
		assert_same_view(&h, whole);
	}
	if (mlen < HELLO_RECORDS_MAX)
		return;
	for (k = 0; k < HELLO_RECORDS_MAX - 1; k++)
		cuts[k] = (uint32_t)(mlen * (k + 1) / HELLO_RECORDS_MAX);
	n = wrap(msg, mlen, cuts, HELLO_RECORDS_MAX - 1, out, sizeof(out));
	assert_int_equal(parse_copy(out, n, &h), 0);
	assert_int_equal(h.consumed, mlen + 5 * HELLO_RECORDS_MAX);
	assert_int_equal(h.nr_records, HELLO_RECORDS_MAX);
	assert_same_view(&h, whole);
}

/* All the checks for bytes that hold a valid ClientHello. */
static void check_valid(const uint8_t *wire, size_t n, const struct expect *e)
{
	struct hello_info h, again;
	size_t exact_from;

	assert_int_equal(parse_copy(wire, n, &h), 0);
	assert_view(&h, e);
	assert_int_equal(h.consumed, n - e->trailing);
	assert_int_equal(parse_copy(wire, n, &again), 0);
	assert_memory_equal(&h, &again, sizeof(h));
	/*
	 * need is exact once the record header is in, for one record; for two,
	 * once the ClientHello's length is in, if the first record holds it.
	 */
	exact_from = SIZE_MAX;
	if (h.nr_records == 1)
		exact_from = 5;
	else if (h.nr_records == 2 && (wire[3] << 8 | wire[4]) >= 4)
		exact_from = 9;
	check_prefixes(wire, n, 0, &h, exact_from);
	check_recut(wire, &h);
	if (!e->no_ossl)
		assert_ossl_agrees(wire, h.consumed, &h);
}

/* Bytes that must be refused with err, at the latest once all are there. */
static void check_bad(const uint8_t *wire, size_t n, enum hello_err err)
{
	struct hello_info h;

	assert_int_equal(parse_copy(wire, n, &h), -EBADMSG);
	assert_int_equal(h.err, err);
	assert_non_null(h.why);
	assert_string_equal(h.why, hello_err_str(err));
	assert_int_equal(h.consumed, 0);
	assert_int_equal(h.sni_len, 0);
	assert_int_equal(h.need, 0);
	check_prefixes(wire, n, -EBADMSG, &h, SIZE_MAX);
}

/* ------------------------------------------------------------- tables */

/* The captured ClientHellos (see the top of this file), as sent. */
/* openssl s_client -servername Example.COM -alpn h2,http/1.1 */
#define OSSL_SNI_ALPN                                                                              \
	"160301014a010001460303f36a231ff9ef17b4fdcdd8eedfc5645a16a8c6ddb1"                         \
	"8a10511de4b02d9e5cb43f20ca7e471c5cf91652311d3648f4461c741dacbcc4"                         \
	"f6beb18f89eda1d37707c43e003e130213031301c02cc030009fcca9cca8ccaa"                         \
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"                         \
	"009c003d003c0035002f00ff010000bf00000010000e00000b4578616d706c65"                         \
	"2e434f4d000b000403000102000a00160014001d0017001e0019001801000101"                         \
	"010201030104002300000010000e000c02683208687474702f312e3100160000"                         \
	"00170000000d002a0028040305030603080708080809080a080b080408050806"                         \
	"040105010601030303010302040205020602002b000908030403030302030100"                         \
	"2d00020101003300260024001d0020f35bc04ce56ea3efe32f30f04d555a4ccd"                         \
	"048dc93e9a7c9dbcadbdfd8a2c4d78"

/* openssl s_client -noservername */
#define OSSL_NO_SNI                                                                                \
	"16030101240100012003039b7f4d4256650908e662478201aed78b85b0ce4145"                         \
	"e77cb1145d48762242539f20b3cde55692a3c91e167dd23b91a36258af59ff3e"                         \
	"32ab141dac8d6186b7b485b7003e130213031301c02cc030009fcca9cca8ccaa"                         \
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"                         \
	"009c003d003c0035002f00ff01000099000b000403000102000a00160014001d"                         \
	"0017001e0019001801000101010201030104002300000016000000170000000d"                         \
	"002a0028040305030603080708080809080a080b080408050806040105010601"                         \
	"030303010302040205020602002b0009080304030303020301002d0002010100"                         \
	"3300260024001d0020ee50b3329a536b5eb4d6b2fae02be460f3f3687509794b"                         \
	"fbef46f0b4d3eaa739"

/* openssl s_client -servername www.example.org -tls1_2 */
#define OSSL_TLS12                                                                                 \
	"16030100cf010000cb0303a7a42ff2ec2fc10eade28d737a40415b5a0313c14c"                         \
	"50b59ddcf1061eff7b037e000038c02cc030009fcca9cca8ccaac02bc02f009e"                         \
	"c024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"                         \
	"0035002f00ff0100006a00000014001200000f7777772e6578616d706c652e6f"                         \
	"7267000b000403000102000a000c000a001d0017001e00190018002300000016"                         \
	"000000170000000d002a0028040305030603080708080809080a080b08040805"                         \
	"0806040105010601030303010302040205020602"

/* curl https://www.example.com (--resolve), 512 bytes with padding */
#define CURL_SNI                                                                                   \
	"1603010200010001fc0303ecaaf11292f949e200b68cc5f521f3dce787b21241"                         \
	"9ab1dccf4ce971928e804a20a5dac6f3e68059f48c2fcbffa57000f91efc50bd"                         \
	"e5b6235c43269de02774ccce003e130213031301c02cc030009fcca9cca8ccaa"                         \
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"                         \
	"009c003d003c0035002f00ff0100017500000014001200000f7777772e657861"                         \
	"6d706c652e636f6d000b000403000102000a00160014001d0017001e00190018"                         \
	"010001010102010301040010000e000c02683208687474702f312e3100160000"                         \
	"0017000000310000000d002a0028040305030603080708080809080a080b0804"                         \
	"08050806040105010601030303010302040205020602002b0009080304030303"                         \
	"020301002d00020101003300260024001d00209cbca56adbedc4e17680392a13"                         \
	"a6089d7773ad467d9b5f05c6cd3c1c0ea8c924001500ae000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000"

/* curl --tls-max 1.2 https://api.example.net */
#define CURL_TLS12                                                                                 \
	"16030100dd010000d90303a2ed172f9396ac363eb0a651e9011835c0c5f11e7e"                         \
	"38b17c376291c11a3aae23000038c02cc030009fcca9cca8ccaac02bc02f009e"                         \
	"c024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"                         \
	"0035002f00ff0100007800000014001200000f6170692e6578616d706c652e6e"                         \
	"6574000b000403000102000a000c000a001d0017001e001900180010000e000c"                         \
	"02683208687474702f312e310016000000170000000d002a0028040305030603"                         \
	"080708080809080a080b08040805080604010501060103030301030204020502"                         \
	"0602"

/* curl https://127.0.0.1: no SNI for an address */
#define CURL_IP                                                                                    \
	"1603010200010001fc0303d7292599dba76f6cb6aa448b9c3d0a050df28c98a1"                         \
	"944722280523c9959bad11205d6cdb0a52d120aa90b08925d203a15be7435454"                         \
	"ce8be5233dea03e6c98cef56003e130213031301c02cc030009fcca9cca8ccaa"                         \
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"                         \
	"009c003d003c0035002f00ff01000175000b000403000102000a00160014001d"                         \
	"0017001e00190018010001010102010301040010000e000c0268320868747470"                         \
	"2f312e31001600000017000000310000000d002a002804030503060308070808"                         \
	"0809080a080b080408050806040105010601030303010302040205020602002b"                         \
	"0009080304030303020301002d00020101003300260024001d00204f9599af7b"                         \
	"d05b53ac0aed342602149065748f48be77e982b3d1bf195f74ed15001500c600"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000000000000000000000000000000000000000000000000000000000"                         \
	"0000000000"

/* The parts of a valid ClientHello, each replaced in turn below. */
#define RND	" rep:32:a5 "
#define SID	" {1 rep:32:11 } "
#define CS	" {2 1301 1302 c02f } "
#define COMP	" {1 00 } "
#define CH_HEAD " 0303 " RND SID CS COMP
/* A ClientHello handshake message with these extensions. */
#define CH(exts)	 "01 {3 " CH_HEAD " {2 " exts " } }"
#define E_SNI(name)	 " 0000 {2 {2 00 {2 '" name "' } } } "
#define E_SNI_RAW(bytes) " 0000 {2 {2 00 {2 " bytes " } } } "
#define E_ALPN		 " 0010 {2 {2 {1 'h2' } {1 'http/1.1' } } } "
#define E_SV13		 " 002b {2 {1 0304 0303 } } "
#define STD		 E_SNI("example.com") E_ALPN E_SV13
/* CH(STD) is 130 bytes; its host name starts at offset 92. */
#define STD_LEN	    130
#define STD_SNI_OFF 92
#define REC(msg)    "16 0301 {2 " msg " }"
/* A record holding only a handshake header that announces 128 more bytes. */
#define REC_HDR_ONLY "16 0301 0004 01 000080 "

#define F_STD (HELLO_F_SNI | HELLO_F_ALPN | HELLO_F_VERSIONS)
#define X_STD                                                                                      \
	{                                                                                          \
		"example.com", "h2,http/1.1", 0, HELLO_TLS13, HELLO_TLS12, F_STD, 0, false         \
	}

/* Filled in by main(): names too long to write out. */
static char sni253[HELLO_SNI_MAX + 1];
static char alpn_z255_x[300];

struct row {
	const char *name;
	const char *in;	 /* notation, see dsl() */
	bool wire;	 /* in is what the client sent; else a handshake message */
	uint8_t nr_cuts; /* where the message starts new records */
	uint32_t cuts[HELLO_RECORDS_MAX];
	const char *after;  /* bytes after the records */
	enum hello_err err; /* NONE: valid, and e holds the view */
	struct expect e;
};

static const struct row rows[] = {
    /* real clients */
    {"real/openssl-sni-alpn", OSSL_SNI_ALPN, true, .e = X_STD},
    {"real/openssl-no-sni", OSSL_NO_SNI, true,
     .e = {NULL, NULL, 0, HELLO_TLS13, HELLO_TLS12, HELLO_F_VERSIONS, 0, false}},
    {"real/openssl-tls12", OSSL_TLS12, true,
     .e = {"www.example.org", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"real/curl-sni-alpn", CURL_SNI, true,
     .e = {"www.example.com", "h2,http/1.1", 0, HELLO_TLS13, HELLO_TLS12, F_STD, 0, false}},
    {"real/curl-tls12", CURL_TLS12, true,
     .e = {"api.example.net", "h2,http/1.1", 0, HELLO_TLS12, HELLO_TLS12,
	   HELLO_F_SNI | HELLO_F_ALPN, 0, false}},
    {"real/curl-ip-no-sni", CURL_IP, true,
     .e = {NULL, "h2,http/1.1", 0, HELLO_TLS13, HELLO_TLS12, HELLO_F_ALPN | HELLO_F_VERSIONS, 0,
	   false}},

    /* valid, made up */
    {"ok/standard", CH(STD), .e = X_STD},
    {"ok/no-extensions", "01 {3 " CH_HEAD " }",
     .e = {NULL, NULL, 0, HELLO_TLS12, HELLO_TLS12, 0, 0, false}},
    {"ok/ssl30-no-extensions", "01 {3 0300 " RND " {1 } {2 000a 002f } {1 00 } }",
     .e = {NULL, NULL, 0, HELLO_SSL30, HELLO_SSL30, 0, 0, false}},
    {"ok/empty-extension-block", CH(""),
     .e = {NULL, NULL, 0, HELLO_TLS12, HELLO_TLS12, 0, 0, false}},
    {"ok/deflate-and-null", "01 {3 0303 " RND SID CS " {1 01 00 } {2 " E_SNI("a.example") " } }",
     .e = {"a.example", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/empty-session-id", "01 {3 0303 " RND " {1 } " CS COMP " {2 " STD " } }", .e = X_STD},
    {"ok/sni-uppercase-lowered", CH(E_SNI("WWW.Example.COM")),
     .e = {"www.example.com", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/sni-underscore-digits-hyphen", CH(E_SNI("_acme-challenge.Host-1.example")),
     .e = {"_acme-challenge.host-1.example", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0,
	   false}},
    {"ok/sni-ipv4-literal", CH(E_SNI("192.0.2.1")),
     .e = {"192.0.2.1", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/sni-one-label", CH(E_SNI("localhost")),
     .e = {"localhost", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/sni-one-char", CH(E_SNI("x")),
     .e = {"x", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/sni-253-labels-63", CH(E_SNI_RAW("rep:63:61 2e rep:63:42 2e rep:63:63 2e rep:61:64")),
     .e = {sni253, NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/grease-and-drafts",
     CH(" 0a0a {2 } " E_SNI("grease.example") " 002b {2 {1 3a3a 7f1c 0304 0303 } } 1a1a {2 00 } "),
     .e = {"grease.example", NULL, 0, HELLO_TLS13, HELLO_TLS12, HELLO_F_SNI | HELLO_F_VERSIONS, 0,
	   false}},
    {"ok/versions-drafts-only", CH(" 002b {2 {1 7f17 7f1c } } "),
     .e = {NULL, NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_VERSIONS, 0, false}},
    {"ok/versions-tls12-tls11", CH(" 002b {2 {1 0302 0303 } } "),
     .e = {NULL, NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_VERSIONS, 0, false}},
    {"ok/ech-and-early-data", CH(E_SNI("public.example") " fe0d {2 rep:40:33 } 002a {2 } "),
     .e = {"public.example", NULL, 0, HELLO_TLS12, HELLO_TLS12,
	   HELLO_F_SNI | HELLO_F_ECH | HELLO_F_EARLY_DATA, 0, false}},
    {"ok/other-extensions-skipped",
     CH(" ff01 {2 00 } 0023 {2 } 0015 {2 rep:100:00 } " E_SNI("a.example") " 000d {2 {2 0403 } } "),
     .e = {"a.example", NULL, 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_SNI, 0, false}},
    {"ok/alpn-ten-names-eight-kept",
     CH(" 0010 {2 {2 {1 'p0' } {1 'p1' } {1 'p2' } {1 'p3' } {1 'p4' } {1 'p5' } {1 'p6' } {1 "
	"'p7' } {1 'p8' } {1 'p9' } } } "),
     .e = {NULL, "p0,p1,p2,p3,p4,p5,p6,p7", 10, HELLO_TLS12, HELLO_TLS12,
	   HELLO_F_ALPN | HELLO_F_ALPN_PARTIAL, 0, false}},
    {"ok/alpn-kept-while-they-fit", CH(" 0010 {2 {2 {1 rep:255:7a } {1 'h2' } {1 'x' } } } "),
     .e = {NULL, alpn_z255_x, 3, HELLO_TLS12, HELLO_TLS12, HELLO_F_ALPN | HELLO_F_ALPN_PARTIAL, 0,
	   false}},
    {"ok/alpn-case-kept", CH(" 0010 {2 {2 {1 'H2' } } } "),
     .e = {NULL, "H2", 0, HELLO_TLS12, HELLO_TLS12, HELLO_F_ALPN, 0, false}},
    {"ok/record-version-3.0", "16 0300 {2 " CH(STD) " }", true, .e = X_STD},
    {"ok/record-version-3.3", "16 0303 {2 " CH(STD) " }", true, .e = X_STD},

    /* fragmented */
    {"frag/two-records", CH(STD), .nr_cuts = 1, .cuts = {50}, .e = X_STD},
    {"frag/inside-host-name", CH(STD), .nr_cuts = 1, .cuts = {STD_SNI_OFF + 3}, .e = X_STD},
    {"frag/handshake-header-split", CH(STD), .nr_cuts = 3, .cuts = {1, 2, 3}, .e = X_STD},
    {"frag/sixteen-records", CH(STD), .nr_cuts = 15,
     .cuts = {8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120}, .e = X_STD},
    {"frag/last-record-one-byte", CH(STD), .nr_cuts = 1, .cuts = {STD_LEN - 1}, .e = X_STD},

    /* what follows the hello is not looked at */
    {"after/app-data-record", CH(STD), .after = "17 0303 {2 rep:20:00 }",
     .e = {"example.com", "h2,http/1.1", 0, HELLO_TLS13, HELLO_TLS12, F_STD, 25, false}},
    {"after/garbage", CH(STD), .after = "'GET /'",
     .e = {"example.com", "h2,http/1.1", 0, HELLO_TLS13, HELLO_TLS12, F_STD, 5, false}},

    /* not a TLS handshake at all */
    {"bad/plain-http", "'GET / HTTP/1.1' 0d0a 'Host: a' 0d0a 0d0a", true, .err = HELLO_ERR_NOT_TLS},
    {"bad/zero-bytes", "00 00 00 00 00 00", true, .err = HELLO_ERR_NOT_TLS},
    {"bad/sslv2-client-hello",
     "80 2e 01 0301 0015 0000 0010 000039 000038 000035 000016 000013 00000a 0000ff rep:16:42",
     true, .err = HELLO_ERR_SSLV2},
    {"bad/app-data-record", "17 0303 {2 rep:10:00 }", true, .err = HELLO_ERR_NOT_HANDSHAKE},
    {"bad/alert-record", "15 0301 {2 0228 }", true, .err = HELLO_ERR_NOT_HANDSHAKE},
    {"bad/ccs-record", "14 0303 {2 01 }", true, .err = HELLO_ERR_NOT_HANDSHAKE},

    /* the record layer */
    {"bad/record-version-2.0", "16 0200 {2 " CH(STD) " }", true, .err = HELLO_ERR_RECORD_VERSION},
    {"bad/record-version-3.4", "16 0304 {2 " CH(STD) " }", true, .err = HELLO_ERR_RECORD_VERSION},
    {"bad/record-length-zero", "16 0301 0000", true, .err = HELLO_ERR_RECORD_LENGTH},
    {"bad/record-length-2^14+1", "16 0301 4001 01 000040", true, .err = HELLO_ERR_RECORD_LENGTH},
    {"bad/record-then-app-data", REC_HDR_ONLY "17 0303 0001 00", true,
     .err = HELLO_ERR_RECORD_INTERLEAVED},
    {"bad/record-then-ccs", REC_HDR_ONLY "14 0303 0001 01", true,
     .err = HELLO_ERR_RECORD_INTERLEAVED},
    {"bad/second-record-empty", REC_HDR_ONLY "16 0301 0000", true, .err = HELLO_ERR_RECORD_LENGTH},
    {"bad/second-record-version", REC_HDR_ONLY "16 0203 0001 00", true,
     .err = HELLO_ERR_RECORD_VERSION},
    {"bad/record-past-hello", REC(CH(STD) " 00"), true, .err = HELLO_ERR_TRAILING_DATA},
    {"bad/second-handshake-message", REC(CH(STD) " 0b 000000"), true,
     .err = HELLO_ERR_TRAILING_DATA},
    {"bad/second-record-past-hello", REC_HDR_ONLY "16 0301 0081 rep:129:00", true,
     .err = HELLO_ERR_TRAILING_DATA},
    {"bad/seventeen-records", CH(STD), .nr_cuts = 16,
     .cuts = {8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128},
     .err = HELLO_ERR_TOO_MANY_RECORDS},

    /* the handshake header */
    {"bad/server-hello", "02 {3 " CH_HEAD " }", .err = HELLO_ERR_NOT_CLIENT_HELLO},
    {"bad/hello-request", "00 000000", .err = HELLO_ERR_NOT_CLIENT_HELLO},
    {"bad/hello-16385", "16 0301 4000 01 003ffd", true, .err = HELLO_ERR_TOO_LARGE},
    {"bad/hello-length-2^24-1", "16 0301 0010 01 ffffff", true, .err = HELLO_ERR_TOO_LARGE},

    /* the fields before the extensions */
    {"bad/hello-empty", "01 {3 }", .err = HELLO_ERR_VERSION},
    {"bad/legacy-version-cut", "01 {3 03 }", .err = HELLO_ERR_VERSION},
    {"bad/legacy-version-2.0", "01 {3 0200 " RND SID CS COMP " }", .err = HELLO_ERR_VERSION},
    {"bad/legacy-version-4.3", "01 {3 0403 " RND SID CS COMP " }", .err = HELLO_ERR_VERSION},
    {"bad/random-cut", "01 {3 0303 rep:31:00 }", .err = HELLO_ERR_RANDOM},
    {"bad/session-id-missing", "01 {3 0303 " RND " }", .err = HELLO_ERR_SESSION_ID},
    {"bad/session-id-33", "01 {3 0303 " RND " {1 rep:33:11 } " CS COMP " }",
     .err = HELLO_ERR_SESSION_ID},
    {"bad/session-id-past-hello", "01 {3 0303 " RND " 20 rep:10:11 }", .err = HELLO_ERR_SESSION_ID},
    {"bad/cipher-suites-odd", "01 {3 0303 " RND SID " {2 1301 13 } " COMP " }",
     .err = HELLO_ERR_CIPHER_SUITES},
    {"bad/cipher-suites-empty", "01 {3 0303 " RND SID " {2 } " COMP " }",
     .err = HELLO_ERR_CIPHER_SUITES},
    {"bad/cipher-suites-past-hello", "01 {3 0303 " RND SID " 0100 1301 }",
     .err = HELLO_ERR_CIPHER_SUITES},
    {"bad/compression-missing", "01 {3 0303 " RND SID CS " }", .err = HELLO_ERR_COMPRESSION},
    {"bad/compression-empty", "01 {3 0303 " RND SID CS " {1 } }", .err = HELLO_ERR_COMPRESSION},
    {"bad/compression-no-null", "01 {3 0303 " RND SID CS " {1 01 } }",
     .err = HELLO_ERR_COMPRESSION},
    {"bad/compression-past-hello", "01 {3 0303 " RND SID CS " 05 00 }",
     .err = HELLO_ERR_COMPRESSION},

    /* the extension block */
    {"bad/extensions-one-byte", "01 {3 " CH_HEAD " 00 }", .err = HELLO_ERR_EXTENSIONS},
    {"bad/extensions-length-past-hello", "01 {3 " CH_HEAD " 0010 0000 0000 }",
     .err = HELLO_ERR_EXTENSIONS},
    {"bad/extensions-length-short", "01 {3 " CH_HEAD " 0002 " E_SNI("a.example") " }",
     .err = HELLO_ERR_EXTENSIONS},
    {"bad/extension-past-block", CH(" 0000 0010 0000 "), .err = HELLO_ERR_EXTENSION},
    {"bad/extension-header-cut", CH(E_SNI("a.example") " 00 17 00 "), .err = HELLO_ERR_EXTENSION},
    {"bad/extension-type-cut", CH(E_SNI("a.example") " 00 "), .err = HELLO_ERR_EXTENSION},
    {"bad/two-sni", CH(E_SNI("a.example") E_SNI("b.example")), .err = HELLO_ERR_EXTENSION_DUP},
    {"bad/two-sni-apart", CH(E_SNI("a.example") E_ALPN E_SNI("a.example")),
     .err = HELLO_ERR_EXTENSION_DUP},
    {"bad/two-alpn", CH(E_ALPN E_SV13 E_ALPN), .err = HELLO_ERR_EXTENSION_DUP},
    {"bad/two-unknown", CH(" 0017 {2 } 0017 {2 } "), .err = HELLO_ERR_EXTENSION_DUP},

    /* server_name framing */
    {"bad/sni-ext-empty", CH(" 0000 {2 } "), .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-list-empty", CH(" 0000 {2 {2 } } "), .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-list-length-long", CH(" 0000 {2 0010 00 {2 'a.example' } } "),
     .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-list-length-short", CH(" 0000 {2 0003 00 {2 'a.example' } } "),
     .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-name-type-1", CH(" 0000 {2 {2 01 {2 'a.example' } } } "), .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-two-names", CH(" 0000 {2 {2 00 {2 'a.example' } 00 {2 'b.example' } } } "),
     .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-name-past-list", CH(" 0000 {2 {2 00 0020 'a.example' } } "),
     .err = HELLO_ERR_SNI_LIST},
    {"bad/sni-name-length-cut", CH(" 0000 {2 {2 00 00 } } "), .err = HELLO_ERR_SNI_LIST},

    /* the host name */
    {"bad/sni-empty-name", CH(E_SNI("")), .err = HELLO_ERR_SNI_LENGTH},
    {"bad/sni-254", CH(E_SNI_RAW("rep:63:61 2e rep:63:62 2e rep:63:63 2e rep:62:64")),
     .err = HELLO_ERR_SNI_LENGTH},
    {"bad/sni-300", CH(E_SNI_RAW("rep:300:61")), .err = HELLO_ERR_SNI_LENGTH},
    {"bad/sni-nul-inside", CH(E_SNI_RAW("'exa' 00 'mple.com'")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-nul-at-end", CH(E_SNI_RAW("'example.com' 00")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-nul-only", CH(E_SNI_RAW("00")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-space", CH(E_SNI("exa mple.com")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-crlf", CH(E_SNI_RAW("'example.com' 0d0a")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-del", CH(E_SNI_RAW("'example' 7f '.com'")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-utf8", CH(E_SNI_RAW("'caf' c3a9 '.example'")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-ipv6", CH(E_SNI("::1")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-with-port", CH(E_SNI("example.com:443")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-slash", CH(E_SNI("a/b.example")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-star", CH(E_SNI("*.example.com")), .err = HELLO_ERR_SNI_CHAR},
    {"bad/sni-leading-dot", CH(E_SNI(".example.com")), .err = HELLO_ERR_SNI_LABEL},
    {"bad/sni-double-dot", CH(E_SNI("a..example")), .err = HELLO_ERR_SNI_LABEL},
    {"bad/sni-trailing-dot", CH(E_SNI("example.com.")), .err = HELLO_ERR_SNI_LABEL},
    {"bad/sni-dot-only", CH(E_SNI(".")), .err = HELLO_ERR_SNI_LABEL},
    {"bad/sni-label-64", CH(E_SNI_RAW("rep:64:61 '.example'")), .err = HELLO_ERR_SNI_LABEL},

    /* ALPN and supported_versions framing */
    {"bad/alpn-ext-empty", CH(" 0010 {2 } "), .err = HELLO_ERR_ALPN},
    {"bad/alpn-list-empty", CH(" 0010 {2 {2 } } "), .err = HELLO_ERR_ALPN},
    {"bad/alpn-list-length-long", CH(" 0010 {2 0010 {1 'h2' } } "), .err = HELLO_ERR_ALPN},
    {"bad/alpn-empty-name", CH(" 0010 {2 {2 {1 'h2' } 00 } } "), .err = HELLO_ERR_ALPN},
    {"bad/alpn-name-past-list", CH(" 0010 {2 {2 05 'h2' } } "), .err = HELLO_ERR_ALPN},
    {"bad/versions-ext-empty", CH(" 002b {2 } "), .err = HELLO_ERR_VERSIONS},
    {"bad/versions-list-empty", CH(" 002b {2 {1 } } "), .err = HELLO_ERR_VERSIONS},
    {"bad/versions-odd", CH(" 002b {2 {1 0304 03 } } "), .err = HELLO_ERR_VERSIONS},
    {"bad/versions-length-long", CH(" 002b {2 06 0304 0303 } "), .err = HELLO_ERR_VERSIONS},
};

static uint8_t wire_buf[WIRE_CAP], msg_buf[WIRE_CAP];

/* The bytes a row describes. */
static size_t row_bytes(const struct row *r)
{
	size_t n;

	if (r->wire) {
		n = dsl(r->in, wire_buf, sizeof(wire_buf));
	} else {
		size_t m = dsl(r->in, msg_buf, sizeof(msg_buf));

		n = wrap(msg_buf, m, r->cuts, r->nr_cuts, wire_buf, sizeof(wire_buf));
	}
	if (r->after)
		n += dsl(r->after, wire_buf + n, sizeof(wire_buf) - n);
	return n;
}

static void run_row(void **state)
{
	const struct row *r = *state;
	size_t n = row_bytes(r);

	if (r->err)
		check_bad(wire_buf, n, r->err);
	else
		check_valid(wire_buf, n, &r->e);
}

/* -------------------------------------------------------- fixed tests */

/* The shortest prefix refused, or 0 if none is. */
static size_t first_refused(const uint8_t *wire, size_t n)
{
	struct hello_info h;
	size_t k;

	for (k = 0; k <= n; k++)
		if (parse_copy(wire, k, &h) == -EBADMSG)
			return k;
	return 0;
}

/* Errors are named as soon as the bytes that show them are in. */
static void test_errors_early(void **state)
{
	uint8_t m[512];
	size_t n;

	(void)state;
	n = dsl("'GET / HTTP/1.1' 0d0a", wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 1);
	n = dsl("80 2e 01 0301", wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 1);
	n = dsl("16 0200 0010", wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 2);
	n = dsl("16 0305 0010", wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 3);
	n = dsl("16 0301 0000", wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 5);
	n = dsl(REC("02 {3 " CH_HEAD " }"), wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 6);
	n = dsl(REC(CH(STD) " 00"), wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 9); /* with the hello's length */
	/* a 300-byte name is refused on its length, before its bytes come */
	n = dsl(CH(E_SNI_RAW("rep:300:61")), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 5 + STD_SNI_OFF);
	/* a NUL once the whole name is in */
	n = dsl(CH(E_SNI_RAW("'exa' 00 'mple.com'")), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(first_refused(wire_buf, n), 5 + STD_SNI_OFF + 12);
}

/* need counts the record headers still to come. */
static void test_need_across_records(void **state)
{
	struct hello_info h;
	uint8_t m[256];
	uint32_t cut = 50, cuts3[] = {1, 2, 3};
	size_t mlen, n;

	(void)state;
	assert_int_equal(hello_parse(NULL, 0, &h), -EAGAIN);
	assert_int_equal(h.need, 9);
	mlen = dsl(CH(STD), m, sizeof(m));
	assert_int_equal(mlen, STD_LEN);
	n = wrap(m, mlen, &cut, 1, wire_buf, sizeof(wire_buf));
	assert_int_equal(n, STD_LEN + 10);
	/* the first record is read whole before the length is known */
	assert_int_equal(parse_copy(wire_buf, 5, &h), -EAGAIN);
	assert_int_equal(h.need, 55);
	assert_int_equal(parse_copy(wire_buf, 8, &h), -EAGAIN);
	assert_int_equal(h.need, 55);
	/* then the length says a second record must come */
	assert_int_equal(parse_copy(wire_buf, 9, &h), -EAGAIN);
	assert_int_equal(h.need, n);
	assert_int_equal(parse_copy(wire_buf, 55, &h), -EAGAIN);
	assert_int_equal(h.need, n);
	assert_int_equal(parse_copy(wire_buf, 57, &h), -EAGAIN);
	assert_int_equal(h.need, n);
	/* one header byte per record: each record needs its header too */
	n = wrap(m, mlen, cuts3, 3, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, 6, &h), -EAGAIN);
	assert_int_equal(h.need, 6 + 5 + 3);
	assert_int_equal(parse_copy(wire_buf, 12, &h), -EAGAIN);
	assert_int_equal(h.need, 12 + 5 + 2);
	assert_int_equal(parse_copy(wire_buf, 18, &h), -EAGAIN);
	assert_int_equal(h.need, 18 + 5 + 1);
	assert_int_equal(parse_copy(wire_buf, 24, &h), -EAGAIN);
	assert_int_equal(h.need, n);
}

/* A ClientHello of exactly HELLO_MSG_MAX bytes, padded with extension 21. */
static size_t max_hello(uint8_t *m, size_t pad)
{
	char spec[256];

	snprintf(spec, sizeof(spec), CH(STD " 0015 {2 rep:%zu:00 } "), pad);
	return dsl(spec, m, HELLO_MSG_MAX + 64);
}

static void test_size_limits(void **state)
{
	static uint8_t m[HELLO_MSG_MAX + 64];
	struct hello_info h;
	uint32_t cuts[HELLO_RECORDS_MAX];
	size_t mlen, n, k;
	const size_t pad = HELLO_MSG_MAX - STD_LEN - 4;

	(void)state;
	mlen = max_hello(m, pad);
	assert_int_equal(mlen, HELLO_MSG_MAX);
	/* fits one record exactly */
	n = wrap(m, mlen, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_int_equal(h.consumed, (size_t)HELLO_MSG_MAX + 5);
	assert_int_equal(h.msg_len, HELLO_MSG_MAX);
	assert_string_equal(h.sni, "example.com");
	assert_true(hello_alpn_has(&h, "h2"));
	assert_int_equal(parse_copy(wire_buf, n - 1, &h), -EAGAIN);
	assert_int_equal(h.need, n);
	/* in the most records allowed: the most bytes ever needed */
	for (k = 0; k < HELLO_RECORDS_MAX - 1; k++)
		cuts[k] = (uint32_t)(1000 * (k + 1));
	n = wrap(m, mlen, cuts, HELLO_RECORDS_MAX - 1, wire_buf, sizeof(wire_buf));
	assert_int_equal(n, HELLO_WIRE_MAX);
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_int_equal(h.consumed, HELLO_WIRE_MAX);
	assert_int_equal(h.nr_records, HELLO_RECORDS_MAX);
	assert_string_equal(h.sni, "example.com");
	for (k = 0; k < n; k += 997) {
		assert_int_equal(parse_copy(wire_buf, k, &h), -EAGAIN);
		assert_true(h.need > k && h.need <= HELLO_WIRE_MAX);
	}
	/*
	 * the 16th record cannot end short of the hello's end: refused at its
	 * header, before a 17th comes
	 */
	cuts[HELLO_RECORDS_MAX - 1] = (uint32_t)mlen - 1;
	n = wrap(m, mlen, cuts, HELLO_RECORDS_MAX, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), -EBADMSG);
	assert_int_equal(h.err, HELLO_ERR_TOO_MANY_RECORDS);
	assert_int_equal(parse_copy(wire_buf, 15000 + 15 * 5 + 5, &h), -EBADMSG);
	assert_int_equal(h.err, HELLO_ERR_TOO_MANY_RECORDS);
	assert_int_equal(parse_copy(wire_buf, 15000 + 15 * 5 + 4, &h), -EAGAIN);
	/* one byte more is refused, however it is cut */
	mlen = max_hello(m, pad + 1);
	assert_int_equal(mlen, HELLO_MSG_MAX + 1);
	cuts[0] = 16384;
	n = wrap(m, mlen, cuts, 1, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), -EBADMSG);
	assert_int_equal(h.err, HELLO_ERR_TOO_LARGE);
	assert_int_equal(parse_copy(wire_buf, 9, &h), -EBADMSG);
	assert_int_equal(h.err, HELLO_ERR_TOO_LARGE);
}

static void test_bad_arguments(void **state)
{
	struct hello_info h;
	uint8_t b[1] = {22};

	(void)state;
	assert_int_equal(hello_parse(b, 1, NULL), -EINVAL);
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(hello_parse(NULL, 1, &h), -EINVAL);
	assert_int_equal(h.need, 0);
	assert_int_equal(h.err, HELLO_ERR_NONE);
	assert_int_equal(hello_parse(NULL, 0, &h), -EAGAIN);
	assert_int_equal(hello_parse(b, 1, &h), -EAGAIN);
	assert_int_equal(h.need, 9);
}

/* Each call fills the view afresh: nothing of an earlier one stays. */
static void test_view_reset(void **state)
{
	struct hello_info h;
	uint8_t m[256];
	size_t n;

	(void)state;
	n = dsl(CH(STD), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_int_equal(h.sni_len, 11);
	assert_int_equal(parse_copy(wire_buf, n - 1, &h), -EAGAIN);
	assert_int_equal(h.sni_len, 0);
	assert_string_equal(h.sni, "");
	assert_int_equal(h.nr_alpn, 0);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.consumed, 0);
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	wire_buf[0] = 0x17;
	assert_int_equal(parse_copy(wire_buf, n, &h), -EBADMSG);
	assert_int_equal(h.sni_len, 0);
	assert_int_equal(h.version, 0);
	assert_int_equal(h.need, 0);
	assert_int_equal(h.err, HELLO_ERR_NOT_HANDSHAKE);
	assert_string_equal(h.why, "not-handshake");
}

static void test_alpn_has(void **state)
{
	struct hello_info h;
	uint8_t m[512];
	size_t n;

	(void)state;
	n = dsl(CH(" 0010 {2 {2 {1 'h2' } {1 'http/1.1' } {1 'acme-tls/1' } } } "), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_true(hello_alpn_has(&h, "h2"));
	assert_true(hello_alpn_has(&h, "http/1.1"));
	assert_true(hello_alpn_has(&h, "acme-tls/1"));
	assert_false(hello_alpn_has(&h, "h"));
	assert_false(hello_alpn_has(&h, "h2c"));
	assert_false(hello_alpn_has(&h, "H2"));
	assert_false(hello_alpn_has(&h, "http/1.0"));
	assert_false(hello_alpn_has(&h, "h3"));
	assert_false(hello_alpn_has(&h, ""));
	assert_false(hello_alpn_has(&h, NULL));
	assert_false(hello_alpn_has(NULL, "h2"));
	/* names the client did not send at all */
	n = dsl(CH(STD), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_false(hello_alpn_has(&h, "acme-tls/1"));
	n = dsl(CH(E_SNI("a.example")), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_false(hello_alpn_has(&h, "h2"));
	assert_false(h.flags & HELLO_F_ALPN);
	/* a name past those kept is not reported */
	n = dsl(CH(" 0010 {2 {2 {1 rep:255:7a } {1 'h2' } } } "), m, sizeof(m));
	n = wrap(m, n, NULL, 0, wire_buf, sizeof(wire_buf));
	assert_int_equal(parse_copy(wire_buf, n, &h), 0);
	assert_true(h.flags & HELLO_F_ALPN_PARTIAL);
	assert_false(hello_alpn_has(&h, "h2"));
}

static void test_err_str(void **state)
{
	int i, j;

	(void)state;
	assert_string_equal(hello_err_str(HELLO_ERR_SNI_CHAR), "sni-char");
	assert_string_equal(hello_err_str(HELLO_ERR_NOT_TLS), "not-tls");
	assert_string_equal(hello_err_str(HELLO_ERR__MAX), "?");
	assert_string_equal(hello_err_str((enum hello_err) - 1), "?");
	for (i = 0; i < HELLO_ERR__MAX; i++) {
		assert_string_not_equal(hello_err_str((enum hello_err)i), "?");
		for (j = 0; j < i; j++)
			assert_string_not_equal(hello_err_str((enum hello_err)i),
						hello_err_str((enum hello_err)j));
	}
}

/* --------------------------------------------- made by OpenSSL's client */

/*
 * What OpenSSL's client sends first, for the SNI, ALPN (notation) and
 * version range given (0: OpenSSL's default).
 */
static size_t ossl_client_hello(uint8_t *out, size_t cap, const char *sni, const char *alpn,
				int min_v, int max_v)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	uint8_t list[256];
	SSL *s;
	int n;

	assert_non_null(ctx);
	assert_non_null(rb);
	assert_non_null(wb);
	SSL_CTX_set_security_level(ctx, 0);
	if (min_v)
		assert_int_equal(SSL_CTX_set_min_proto_version(ctx, min_v), 1);
	if (max_v)
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_v), 1);
	s = SSL_new(ctx);
	assert_non_null(s);
	if (sni)
		assert_int_equal(SSL_set_tlsext_host_name(s, sni), 1);
	if (alpn) {
		size_t len = dsl(alpn, list, sizeof(list));

		assert_int_equal(SSL_set_alpn_protos(s, list, (unsigned)len), 0);
	}
	SSL_set_bio(s, rb, wb);
	SSL_set_connect_state(s);
	assert_true(SSL_do_handshake(s) <= 0); /* waits for the server */
	n = BIO_read(wb, out, (int)cap);
	assert_true(n > 0);
	SSL_free(s);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return (size_t)n;
}

static void test_openssl_tls13_sni_alpn(void **state)
{
	static uint8_t w[4096];
	const struct expect e = {"backend.example", "h2,http/1.1", 0, HELLO_TLS13,
				 HELLO_TLS12,	    F_STD,	   0, false};
	size_t n =
	    ossl_client_hello(w, sizeof(w), "Backend.Example", "{1 'h2' } {1 'http/1.1' }", 0, 0);

	(void)state;
	check_valid(w, n, &e);
}

static void test_openssl_tls12_only(void **state)
{
	static uint8_t w[4096];
	const struct expect e = {
	    "legacy.example",		"http/1.1", 0,	  HELLO_TLS12, HELLO_TLS12,
	    HELLO_F_SNI | HELLO_F_ALPN, 0,	    false};
	size_t n =
	    ossl_client_hello(w, sizeof(w), "legacy.example", "{1 'http/1.1' }", 0, TLS1_2_VERSION);

	(void)state;
	check_valid(w, n, &e);
}

static void test_openssl_tls10_only(void **state)
{
	static uint8_t w[4096];
	const struct expect e = {"old.example", NULL,	     0, HELLO_TLS10,
				 HELLO_TLS10,	HELLO_F_SNI, 0, false};
	size_t n = ossl_client_hello(w, sizeof(w), "old.example", NULL, TLS1_VERSION, TLS1_VERSION);

	(void)state;
	check_valid(w, n, &e);
}

static void test_openssl_no_sni_acme(void **state)
{
	static uint8_t w[4096];
	const struct expect e = {NULL,	      "acme-tls/1", 0,
				 HELLO_TLS13, HELLO_TLS12,  HELLO_F_ALPN | HELLO_F_VERSIONS,
				 0,	      false};
	size_t n = ossl_client_hello(w, sizeof(w), NULL, "{1 'acme-tls/1' }", 0, 0);
	struct hello_info h;

	(void)state;
	check_valid(w, n, &e);
	assert_int_equal(parse_copy(w, n, &h), 0);
	assert_true(hello_alpn_has(&h, "acme-tls/1"));
	assert_false(hello_alpn_has(&h, "h2"));
}

static void test_openssl_longest_name(void **state)
{
	static uint8_t w[4096];
	const struct expect e = {
	    sni253, NULL, 0, HELLO_TLS13, HELLO_TLS12, HELLO_F_SNI | HELLO_F_VERSIONS, 0, false};
	char upper[HELLO_SNI_MAX + 1];
	size_t n, i;

	(void)state;
	for (i = 0; i <= HELLO_SNI_MAX; i++)
		upper[i] =
		    sni253[i] >= 'a' && sni253[i] <= 'z' ? (char)(sni253[i] - 32) : sni253[i];
	n = ossl_client_hello(w, sizeof(w), upper, NULL, 0, 0);
	check_valid(w, n, &e);
}

/* ------------------------------------------------------------- main */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_errors_early),
    cmocka_unit_test(test_need_across_records),
    cmocka_unit_test(test_size_limits),
    cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test(test_view_reset),
    cmocka_unit_test(test_alpn_has),
    cmocka_unit_test(test_err_str),
    cmocka_unit_test(test_openssl_tls13_sni_alpn),
    cmocka_unit_test(test_openssl_tls12_only),
    cmocka_unit_test(test_openssl_tls10_only),
    cmocka_unit_test(test_openssl_no_sni_acme),
    cmocka_unit_test(test_openssl_longest_name),
};

int main(void)
{
	size_t n = 0, i, cap = ARRAY_SIZE(rows) + ARRAY_SIZE(fixed_tests);
	struct CMUnitTest *t = calloc(cap, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	/* aaa(63).bbb(63).ccc(63).ddd(61): 253 bytes, the row has B for b */
	memset(sni253, 'a', 63);
	sni253[63] = '.';
	memset(sni253 + 64, 'b', 63);
	sni253[127] = '.';
	memset(sni253 + 128, 'c', 63);
	sni253[191] = '.';
	memset(sni253 + 192, 'd', 61);
	sni253[253] = '\0';
	memset(alpn_z255_x, 'z', 255);
	strcpy(alpn_z255_x + 255, ",x");

	/* One cmocka test per table row, so a failure names its row. */
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		t[n++] = (struct CMUnitTest){
		    .name = rows[i].name, .test_func = run_row, .initial_state = (void *)&rows[i]};
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		t[n++] = fixed_tests[i];
	rc = _cmocka_run_group_tests("hello", t, n, NULL, NULL);
	free(t);
	return rc;
}
