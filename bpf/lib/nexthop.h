/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next hop of a rewritten packet: the MACs and interface the controller
 * cached in lb_real, or bpf_fib_lookup() in the namespace of the ingress
 * interface. Writes the MACs into the frame and returns the XDP verdict.
 */
#ifndef XDPROXY_BPF_NEXTHOP_H
#define XDPROXY_BPF_NEXTHOP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "xdproxy/lb.h"
#include "lib/verdict.h"

#define LB_AF_INET  2 /* AF_INET and AF_INET6 for bpf_fib_lookup */
#define LB_AF_INET6 10

/* What to do when the neighbour of the next hop is not resolved yet. */
enum lb_nh_mode {
	LB_NH_ROUTED, /* NAT, IPIP: let the kernel forward it and resolve the neighbour */
	LB_NH_DIRECT, /* DSR L2: the real itself must be the next hop, resolved now */
};

/* Out of the ingress interface (XDP_TX) or redirected to another one. */
static __always_inline int lb_xmit(__u32 in_ifindex, __u32 ifindex)
{
	if (ifindex == in_ifindex)
		return LB_VERDICT(XDP_TX, LB_STAT_TX);
	return LB_VERDICT(bpf_redirect(ifindex, 0), LB_STAT_REDIRECT);
}

/*
 * 6-byte copy as three 16-bit words: memcpy of unaligned bytes becomes six
 * byte moves, and the verifier refuses misaligned wider stack accesses.
 */
static __always_inline void lb_mac_copy(void *dst, const void *src)
{
	__u16 *d = dst;
	const __u16 *s = src;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

static __always_inline int lb_set_macs(struct xdp_md *ctx, const __u8 *dmac, const __u8 *smac)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return -1;
	lb_mac_copy(eth->h_dest, dmac);
	lb_mac_copy(eth->h_source, smac);
	return 0;
}

/*
 * Forward the frame at ctx, received on in_ifindex (read at the start:
 * clang may otherwise reach ctx->ingress_ifindex through a moved ctx
 * pointer, which the verifier refuses), toward dst (family LB_AF_*). r: the real when
 * forwarding to one (its cached next hop wins), NULL for NAT replies.
 * src and tot_len (the L3 length, host order) feed policy routing and the
 * MTU check of bpf_fib_lookup.
 */
static __always_inline int lb_nexthop(struct xdp_md *ctx, __u32 in_ifindex, const struct lb_real *r,
				      __u8 family, const __be32 *src, const __be32 *dst,
				      __u16 tot_len, enum lb_nh_mode mode)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	if (r && r->ifindex) {
		if (lb_set_macs(ctx, r->dmac, r->smac))
			return lb_drop(LB_DROP_ADJUST);
		return lb_xmit(in_ifindex, r->ifindex);
	}

	fib.ifindex = in_ifindex;
	fib.tot_len = tot_len;
	if (family == LB_AF_V4) {
		fib.family = LB_AF_INET;
		fib.ipv4_src = src[0];
		fib.ipv4_dst = dst[0];
	} else {
		fib.family = LB_AF_INET6;
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		if (mode == LB_NH_DIRECT)
			return lb_drop(LB_DROP_NO_NEIGH);
		return LB_VERDICT(XDP_PASS, LB_STAT_FIB_PASS);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return lb_drop(LB_DROP_FIB);
	/*
	 * DSR keeps the VIP as destination address, so only the real itself
	 * can take the frame: a route through a gateway would bounce it.
	 * bpf_fib_lookup writes the gateway into the destination then.
	 */
	if (mode == LB_NH_DIRECT && (fib.ipv6_dst[0] != dst[0] || fib.ipv6_dst[1] != dst[1] ||
				     fib.ipv6_dst[2] != dst[2] || fib.ipv6_dst[3] != dst[3]))
		return lb_drop(LB_DROP_FIB);
	if (lb_set_macs(ctx, fib.dmac, fib.smac))
		return lb_drop(LB_DROP_ADJUST);
	return lb_xmit(in_ifindex, fib.ifindex);
}

#endif
