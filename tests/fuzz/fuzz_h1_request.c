// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: a stream of pipelined requests (heads and bodies).
 * Input: one config byte (fuzz_h1.h), then the bytes a client sent.
 */
#include "fuzz_h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	fz_messages(data + 1, size - 1, 0, H1_METH_OTHER, fz_limits(data[0]));
	return 0;
}
