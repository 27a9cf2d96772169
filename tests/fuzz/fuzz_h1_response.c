// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: a stream of responses from an upstream, to a request
 * whose method the config byte picks (bits 1-2: GET, HEAD, CONNECT, POST),
 * since the method decides the framing.
 */
#include "fuzz_h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum h1_meth meths[] = {H1_METH_GET, H1_METH_HEAD, H1_METH_CONNECT,
					     H1_METH_POST};

	if (!size)
		return 0;
	fz_messages(data + 1, size - 1, 1, meths[(data[0] >> 1) & 3], fz_limits(data[0]));
	return 0;
}
