/* SPDX-License-Identifier: BSD-2-Clause */
/* Error messages into a caller's buffer, the way pure modules report them. */
#ifndef XDP_UTIL_ERR_H
#define XDP_UTIL_ERR_H

#include <stddef.h>

/*
 * Formats into err[0, errlen), truncated and NUL-terminated. err NULL or
 * errlen 0: nothing is written (callers may not want the message).
 */
void util_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
