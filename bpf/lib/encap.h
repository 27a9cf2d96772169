/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP-in-IP encapsulation toward a real: an outer IPv4 header (protocol 4)
 * or IPv6 header (next header 41) is pushed in front of the IP packet with
 * bpf_xdp_adjust_head, and the L2 header (with its VLAN tag, if any) moves
 * to the new front. The outer header is the same family as the inner one;
 * bpf/tc_decap.bpf.c removes it on the real.
 */
#ifndef XDPROXY_BPF_ENCAP_H
#define XDPROXY_BPF_ENCAP_H

#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/rewrite.h"

static __always_inline void lb_copy_words(void *dst, const void *src, const int n)
{
	__u16 *d = dst;
	const __u16 *s = src;

#pragma unroll
	for (int i = 0; i < n; i++)
		d[i] = s[i];
}

/*
 * Move the L2 header (l2_len 14 or 18) from 'shift' bytes further in to the
 * front of the packet, after bpf_xdp_adjust_head(ctx, -shift). Returns the
 * new L3 position, NULL if the packet is shorter than the outer header
 * needs (cannot happen for a packet that parsed).
 */
static __always_inline void *lb_encap_move_l2(struct xdp_md *ctx, __u32 l2_len, __u32 shift,
					      __u32 outer_len)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *l3;

	/* Old L2 header, VLAN tag included: a parsed packet always has it. */
	if (data + shift + sizeof(struct ethhdr) + sizeof(struct lb_vlan_hdr) > end)
		return NULL;
	/* 16-bit words: struct ethhdr is packed, memcpy would move bytes */
	lb_copy_words(data, data + shift, sizeof(struct ethhdr) / 2);
	if (l2_len > sizeof(struct ethhdr))
		lb_copy_words(data + sizeof(struct ethhdr), data + shift + sizeof(struct ethhdr),
			      sizeof(struct lb_vlan_hdr) / 2);
	l3 = data + l2_len;
	if (l3 + outer_len > end)
		return NULL;
	return l3;
}

/*
 * IPv4 in IPv4. DF and TOS are copied from the inner header, TTL is
 * LB_TTL, id 0 (DF packets need none, RFC 6864). LB_CONTINUE or
 * lb_drop(LB_DROP_ADJUST); p's pointers are invalid afterwards.
 */
static __always_inline int lb_encap_ipip4(struct xdp_md *ctx, struct lb_pkt *p, __be32 saddr,
					  __be32 daddr)
{
	const struct iphdr *in = p->l3;
	struct iphdr o = {
	    .version = 4,
	    .ihl = 5,
	    .tos = in->tos,
	    .tot_len = bpf_htons(bpf_ntohs(in->tot_len) + sizeof(struct iphdr)),
	    .frag_off = in->frag_off & bpf_htons(LB_IP_DF),
	    .ttl = LB_TTL,
	    .protocol = IPPROTO_IPIP,
	    .saddr = saddr,
	    .daddr = daddr,
	};
	__u32 l2_len = p->l2_len;
	void *l3;

	o.check = csum_ipv4_hdr(&o);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(o)))
		return lb_drop(LB_DROP_ADJUST);
	l3 = lb_encap_move_l2(ctx, l2_len, sizeof(o), sizeof(o));
	if (!l3)
		return lb_drop(LB_DROP_ADJUST);
	__builtin_memcpy(l3, &o, sizeof(o));
	return LB_CONTINUE;
}

/*
 * IPv6 in IPv6. Traffic class and flow label are copied from the inner
 * header, hop limit LB_TTL.
 */
static __always_inline int lb_encap_ip6ip6(struct xdp_md *ctx, struct lb_pkt *p,
					   const __be32 *saddr, const __be32 *daddr)
{
	const struct ipv6hdr *in = p->l3;
	struct ipv6hdr o;
	__u32 l2_len = p->l2_len;
	void *l3;

	*(__be32 *)&o = *(const __be32 *)in; /* version, traffic class, flow label */
	o.payload_len = bpf_htons(bpf_ntohs(in->payload_len) + sizeof(struct ipv6hdr));
	o.nexthdr = IPPROTO_IPV6;
	o.hop_limit = LB_TTL;
	__builtin_memcpy(&o.saddr, saddr, 16);
	__builtin_memcpy(&o.daddr, daddr, 16);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(o)))
		return lb_drop(LB_DROP_ADJUST);
	l3 = lb_encap_move_l2(ctx, l2_len, sizeof(o), sizeof(o));
	if (!l3)
		return lb_drop(LB_DROP_ADJUST);
	__builtin_memcpy(l3, &o, sizeof(o));
	return LB_CONTINUE;
}

#endif
