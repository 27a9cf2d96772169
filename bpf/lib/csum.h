/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum arithmetic (RFC 1071) and incremental updates (RFC 1624
 * eqn. 3: HC' = ~(~HC + ~m + m')) on raw network-order words. A one's
 * complement sum does not care about byte order as long as every word is
 * taken the same way, so nothing is byte-swapped; 32-bit words may be mixed
 * with 16-bit ones because both fold to the same 16-bit sum when they start
 * at an even offset of the checksummed data.
 */
#ifndef XDPROXY_BPF_CSUM_H
#define XDPROXY_BPF_CSUM_H

#include <linux/types.h>

/* Fold a sum of 16- and 32-bit words to 16 bits (end-around carries). */
static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* What replacing the word 'from' by 'to' adds to a checksum difference. */
static __always_inline __u64 csum_diff32(__be32 from, __be32 to)
{
	return (__u64)(__u32)~from + (__u32)to;
}

static __always_inline __u64 csum_diff16(__u16 from, __u16 to)
{
	return (__u64)(__u16)~from + to;
}

/* The same for a 16-byte IPv6 address. */
static __always_inline __u64 csum_diff128(const __be32 *from, const __be32 *to)
{
	return csum_diff32(from[0], to[0]) + csum_diff32(from[1], to[1]) +
	       csum_diff32(from[2], to[2]) + csum_diff32(from[3], to[3]);
}

/* A checksum field after the changes summed in diff. */
static __always_inline __sum16 csum_update(__sum16 check, __u64 diff)
{
	return (__sum16)~csum_fold((__u16)~check + diff);
}

/*
 * The same for a UDP checksum: 0 means "none" over IPv4 and stays 0, and a
 * computed 0 is sent as 0xffff (RFC 768).
 */
static __always_inline __sum16 csum_update_udp(__sum16 check, __u64 diff)
{
	__sum16 c;

	if (!check)
		return 0;
	c = csum_update(check, diff);
	return c ? c : (__sum16)0xffff;
}

/* Checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __sum16 csum_ipv4_hdr(const void *hdr)
{
	const __u16 *w = hdr;
	__u64 s = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		s += w[i];
	return (__sum16)~csum_fold(s);
}

#endif
