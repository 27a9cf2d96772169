// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the chunked body decoder on its own. Input: one config
 * byte (fuzz_h1.h; bit 1 picks response statuses), then a chunked body. The
 * body is decoded whole, split at one point, split at three and - when short
 * - one byte at a time: data, verdict and bytes consumed must agree. A body
 * that decodes is then re-encoded as one chunk and must decode to the same
 * data.
 */
#include "fuzz_h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sort3(size_t *c)
{
	size_t t;

	if (c[0] > c[1]) {
		t = c[0], c[0] = c[1], c[1] = t;
	}
	if (c[1] > c[2]) {
		t = c[1], c[1] = c[2], c[2] = t;
	}
	if (c[0] > c[1]) {
		t = c[0], c[0] = c[1], c[1] = t;
	}
}

/* Re-encodes the decoded data of in[0, n) as one chunk and decodes that. */
static void check_reencode(const uint8_t *in, size_t n, const struct h1_limits *lim, int rsp,
			   const struct fz_body_result *want)
{
	struct h1_body b;
	struct h1_body_out out;
	size_t off = 0, o, got = 0;
	uint8_t *data = malloc(n ? n : 1), *enc;
	struct fz_body_result r;

	FZ_CHECK(data);
	h1_body_start(&b, H1_BODY_CHUNKED, 0, lim, rsp);
	while (!h1_body_done(&b)) {
		FZ_CHECK(h1_body_feed(&b, (const char *)in + off, n - off, &out) == 0);
		memcpy(data + got, in + off + out.data_off, out.data_len);
		got += out.data_len;
		off += out.consumed;
	}
	FZ_CHECK(got == want->data_len);
	enc = malloc(got + 32);
	FZ_CHECK(enc);
	o = (size_t)sprintf((char *)enc, "%zx\r\n", got);
	memcpy(enc + o, data, got);
	o += got;
	memcpy(enc + o, "\r\n0\r\n\r\n", 7);
	o += 7;
	if (!got) /* "0\r\n\r\n0\r\n\r\n" would be a body and a stray line */
		o = 5;
	fz_decode(&r, H1_BODY_CHUNKED, 0, lim, rsp, enc, o, NULL, 0);
	FZ_CHECK(r.rc == 0 && r.done && r.consumed == o);
	FZ_CHECK(r.data_len == want->data_len && r.data_hash == want->data_hash);
	free(enc);
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_body_result whole, split;
	const struct h1_limits *lim;
	const uint8_t *in;
	size_t n, cuts[3], *bytes, i;
	uint64_t h;
	int rsp;

	if (!size)
		return 0;
	lim = fz_limits(data[0]);
	rsp = (data[0] >> 1) & 1;
	in = data + 1;
	n = size - 1;
	h = fz_hash(in, n);

	fz_decode(&whole, H1_BODY_CHUNKED, 0, lim, rsp, in, n, NULL, 0);
	FZ_CHECK(whole.consumed <= n && whole.data_len <= n);

	cuts[0] = (size_t)(h % (n + 1));
	fz_decode(&split, H1_BODY_CHUNKED, 0, lim, rsp, in, n, cuts, 1);
	fz_same_body(&whole, &split);

	cuts[1] = (size_t)((h >> 21) % (n + 1));
	cuts[2] = (size_t)((h >> 42) % (n + 1));
	sort3(cuts);
	fz_decode(&split, H1_BODY_CHUNKED, 0, lim, rsp, in, n, cuts, 3);
	fz_same_body(&whole, &split);

	if (n <= 512) {
		bytes = malloc(sizeof(*bytes) * (n + 1));
		FZ_CHECK(bytes);
		for (i = 0; i < n; i++)
			bytes[i] = i + 1;
		fz_decode(&split, H1_BODY_CHUNKED, 0, lim, rsp, in, n, bytes, n);
		fz_same_body(&whole, &split);
		free(bytes);
	}

	if (!whole.rc && whole.done && whole.data_len <= lim->max_body)
		check_reencode(in, n, lim, rsp, &whole);
	return 0;
}
