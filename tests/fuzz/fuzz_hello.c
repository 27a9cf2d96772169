// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the TLS ClientHello reader (user/tls/hello.c).
 *
 * Input: one config byte, then bytes. With bit 0 of the config clear the
 * bytes are what a client sent. With it set they are a handshake message,
 * which the harness puts into (config >> 1) % 18 + 1 records cut where the
 * input's hash says, so the fuzzer spends its time in the ClientHello
 * rather than in the record layer, and 17 records (one too many) come up.
 *
 * Invariants checked (an abort() is the finding):
 *  - no crash, no sanitizer report, no read past len (every parse gets an
 *    exact-size copy);
 *  - the verdict is 0, -EAGAIN (need in (len, HELLO_WIRE_MAX]) or -EBADMSG
 *    (a named reason); the fields of the other verdicts are zero;
 *  - the same bytes give the same view, byte for byte;
 *  - a prefix gets -EAGAIN or the whole input's verdict, reason and view;
 *    the need of a prefix of an accepted hello is no more than it took;
 *  - an accepted view holds together: the records walked here, without
 *    the parser, end at consumed and carry msg_len bytes of ClientHello;
 *    the name is lower-case LDH of sni_len bytes with no empty label; the
 *    ALPN names lie in alpn_buf and hello_alpn_has() finds each;
 *  - the accepted ClientHello re-cut into other records reads the same.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/hello.h"

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define FZ_CFG_MESSAGE 0x01

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FNV-1a: cut points that follow the input. */
static uint64_t fz_hash(const uint8_t *d, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--) {
		h ^= *d++;
		h *= 1099511628211ull;
	}
	return h;
}

static int fz_parse(const uint8_t *d, size_t n, struct hello_info *h)
{
	uint8_t *p = malloc(n ? n : 1);
	int rc;

	FZ_CHECK(p);
	if (n)
		memcpy(p, d, n);
	rc = hello_parse(p, n, h);
	free(p);
	return rc;
}

/*
 * Puts msg[0, mlen) into nr records (fewer if mlen is short) cut at points
 * drawn from seed. Returns the bytes written to out (malloc'd), 0 if the
 * message cannot be put in records of at most 2^14 bytes.
 */
static size_t fz_wrap(const uint8_t *msg, size_t mlen, size_t nr, uint64_t seed, uint8_t **out)
{
	size_t cuts[HELLO_RECORDS_MAX + 2], i, j, n = 0, start = 0;
	uint8_t *w;

	*out = NULL;
	if (!mlen || mlen > 16384 * nr)
		return 0;
	if (nr > mlen)
		nr = mlen;
	/* nr - 1 distinct cuts in (0, mlen), ascending */
	for (i = 0; i + 1 < nr; i++) {
		size_t c;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		c = 1 + (size_t)((seed >> 33) % (mlen - 1));
		for (j = i; j > 0 && cuts[j - 1] > c; j--)
			cuts[j] = cuts[j - 1];
		cuts[j] = c;
	}
	for (i = j = 0; i + 1 < nr; i++) /* drop repeats */
		if (!j || cuts[i] != cuts[j - 1])
			cuts[j++] = cuts[i];
	nr = j + 1;
	cuts[nr - 1] = mlen;
	for (i = 0; i < nr; i++)
		if (cuts[i] - (i ? cuts[i - 1] : 0) > 16384)
			return 0;
	w = malloc(mlen + 5 * nr);
	FZ_CHECK(w);
	for (i = 0; i < nr; i++) {
		size_t len = cuts[i] - start;

		w[n++] = 22;
		w[n++] = 3;
		w[n++] = (uint8_t)(seed >> (8 + i) & 3); /* 3.0 to 3.3, as allowed */
		w[n++] = (uint8_t)(len >> 8);
		w[n++] = (uint8_t)len;
		memcpy(w + n, msg + start, len);
		n += len;
		start = cuts[i];
	}
	*out = w;
	return n;
}

static bool fz_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static void fz_check_info(const struct hello_info *h, int rc, size_t len)
{
	size_t i, used = 0;

	FZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EBADMSG);
	if (rc == -EBADMSG) {
		FZ_CHECK(h->err > HELLO_ERR_NONE && h->err < HELLO_ERR__MAX);
		FZ_CHECK(h->why && h->why == hello_err_str(h->err) && strcmp(h->why, "?"));
	} else {
		FZ_CHECK(h->err == HELLO_ERR_NONE && !h->why);
	}
	if (rc == -EAGAIN)
		FZ_CHECK(h->need > len && h->need <= HELLO_WIRE_MAX);
	else
		FZ_CHECK(h->need == 0);
	if (rc) {
		FZ_CHECK(!h->consumed && !h->msg_len && !h->sni_len && !h->sni[0] && !h->flags);
		FZ_CHECK(!h->nr_alpn && !h->alpn_total && !h->version && !h->nr_records);
		return;
	}
	FZ_CHECK(h->consumed <= len);
	FZ_CHECK(h->msg_len >= 4 + 2 + 32 + 1 + 4 + 2 && h->msg_len <= HELLO_MSG_MAX);
	FZ_CHECK(h->nr_records >= 1 && h->nr_records <= HELLO_RECORDS_MAX);
	FZ_CHECK(h->consumed == h->msg_len + 5u * h->nr_records);
	FZ_CHECK(h->legacy_version >> 8 == 3 && h->version >> 8 == 3);
	if (!(h->flags & HELLO_F_VERSIONS))
		FZ_CHECK(h->version == h->legacy_version);
	/* the name */
	FZ_CHECK(h->sni_len <= HELLO_SNI_MAX && strlen(h->sni) == h->sni_len);
	FZ_CHECK(!!h->sni_len == !!(h->flags & HELLO_F_SNI));
	if (h->sni_len) {
		FZ_CHECK(h->sni[0] != '.' && h->sni[h->sni_len - 1] != '.');
		FZ_CHECK(!strstr(h->sni, ".."));
		for (i = 0; i < h->sni_len; i++)
			FZ_CHECK(h->sni[i] == '.' || fz_ldh(h->sni[i]));
	}
	/* ALPN: packed in order, each findable */
	FZ_CHECK(h->nr_alpn <= HELLO_ALPN_MAX && h->nr_alpn <= h->alpn_total);
	FZ_CHECK(!!h->alpn_total == !!(h->flags & HELLO_F_ALPN));
	FZ_CHECK((h->nr_alpn < h->alpn_total) == !!(h->flags & HELLO_F_ALPN_PARTIAL));
	for (i = 0; i < h->nr_alpn; i++) {
		char name[256];

		FZ_CHECK(h->alpn[i].len > 0 && h->alpn[i].off == used);
		used += h->alpn[i].len;
		FZ_CHECK(used <= HELLO_ALPN_BUF);
		memcpy(name, h->alpn_buf + h->alpn[i].off, h->alpn[i].len);
		name[h->alpn[i].len] = '\0';
		if (strlen(name) == h->alpn[i].len)
			FZ_CHECK(hello_alpn_has(h, name));
	}
}

/* The records in d[0, consumed) walked without the parser: the message. */
static uint8_t *fz_unwrap(const uint8_t *d, const struct hello_info *h)
{
	uint8_t *msg = malloc(h->msg_len);
	size_t off = 0, m = 0, nr = 0;

	FZ_CHECK(msg);
	while (off < h->consumed) {
		size_t rlen;

		FZ_CHECK(off + 5 <= h->consumed && d[off] == 22 && d[off + 1] == 3);
		rlen = (size_t)d[off + 3] << 8 | d[off + 4];
		FZ_CHECK(rlen > 0 && off + 5 + rlen <= h->consumed && m + rlen <= h->msg_len);
		memcpy(msg + m, d + off + 5, rlen);
		m += rlen;
		off += 5 + rlen;
		nr++;
	}
	FZ_CHECK(off == h->consumed && m == h->msg_len && nr == h->nr_records);
	FZ_CHECK(msg[0] == 1);
	FZ_CHECK(((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]) + 4 == h->msg_len);
	return msg;
}

/* Same view from other records: all but where the records lay. */
static void fz_same_view(const struct hello_info *a, const struct hello_info *b)
{
	struct hello_info x = *a, y = *b;

	x.consumed = y.consumed = 0;
	x.nr_records = y.nr_records = 0;
	FZ_CHECK(!memcmp(&x, &y, sizeof(x)));
}

/* Parses d[0, n) whole, again, and cut at the hash; then re-cuts a hello. */
static void fz_wire(const uint8_t *d, size_t n, uint64_t h)
{
	struct hello_info whole, again, part;
	size_t cut = (size_t)(h % (n + 1));
	int rc, rc2;

	rc = fz_parse(d, n, &whole);
	fz_check_info(&whole, rc, n);
	FZ_CHECK(fz_parse(d, n, &again) == rc);
	FZ_CHECK(!memcmp(&whole, &again, sizeof(whole)));

	rc2 = fz_parse(d, cut, &part);
	fz_check_info(&part, rc2, cut);
	if (rc == -EAGAIN)
		FZ_CHECK(rc2 == -EAGAIN);
	if (rc2 == -EBADMSG)
		FZ_CHECK(rc == -EBADMSG && part.err == whole.err);
	if (rc2 == 0)
		FZ_CHECK(rc == 0 && !memcmp(&part, &whole, sizeof(part)));
	if (rc2 == -EAGAIN && rc == 0)
		FZ_CHECK(part.need <= whole.consumed && cut < whole.consumed);
	if (rc)
		return;

	{
		uint8_t *msg = fz_unwrap(d, &whole), *w;
		size_t k, wn;

		for (k = 0; k < 3; k++) {
			/* one record, then a few, then as many as allowed */
			size_t nr = k == 0 ? 1 : k == 1 ? 2 + h % 4 : HELLO_RECORDS_MAX;

			wn = fz_wrap(msg, whole.msg_len, nr, h + k, &w);
			if (!wn)
				continue;
			FZ_CHECK(fz_parse(w, wn, &part) == 0);
			fz_check_info(&part, 0, wn);
			FZ_CHECK(part.consumed == wn);
			fz_same_view(&whole, &part);
			free(w);
		}
		free(msg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h;

	if (!size)
		return 0;
	h = fz_hash(data, size);
	if (data[0] & FZ_CFG_MESSAGE) {
		uint8_t *w;
		size_t n = fz_wrap(data + 1, size - 1, (size_t)(data[0] >> 1) % 18 + 1, h, &w);

		if (n)
			fz_wire(w, n, h >> 7);
		free(w);
	} else {
		fz_wire(data + 1, size - 1, h);
	}
	return 0;
}
