/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * In-place rewrites of a parsed packet (lib/parse.h): the ICMP echo reply
 * and the NAT address/port translation. Checksums are updated
 * incrementally (lib/csum.h), never recomputed over the payload.
 */
#ifndef XDPROXY_BPF_REWRITE_H
#define XDPROXY_BPF_REWRITE_H

#include "lib/parse.h"
#include "lib/csum.h"

#define LB_TTL 64 /* TTL / hop limit of packets the LB originates */

static __always_inline void lb_swap_macs(struct ethhdr *eth)
{
	__u16 *m = (__u16 *)eth, t;

	/* three 16-bit words each side: bytewise memcpy is twice the moves */
	t = m[0], m[0] = m[3], m[3] = t;
	t = m[1], m[1] = m[4], m[4] = t;
	t = m[2], m[2] = m[5], m[5] = t;
}

/*
 * Turn an IPv4 ICMP echo request (l4 claimed) into its reply, sent back
 * where it came from: MACs and addresses swapped (checksum-neutral), TTL
 * reset, type 0.
 */
static __always_inline void lb_echo_reply_v4(struct lb_pkt *p)
{
	struct iphdr *iph = p->l3;
	struct lb_icmphdr *icmp = p->l4;
	__u16 *ttl_proto = (__u16 *)&iph->ttl;
	__u16 *tc = p->l4; /* type and code */
	__be32 a = iph->saddr;
	__u16 old;

	lb_swap_macs(p->eth);
	iph->saddr = iph->daddr;
	iph->daddr = a;
	old = *ttl_proto;
	iph->ttl = LB_TTL;
	iph->check = csum_update(iph->check, csum_diff16(old, *ttl_proto));
	old = *tc;
	icmp->type = LB_ICMP_ECHOREPLY;
	icmp->check = csum_update(icmp->check, csum_diff16(old, *tc));
}

/*
 * The same for ICMPv6. The pseudo-header sums both addresses, so swapping
 * them leaves the checksum alone; the hop limit is not covered.
 */
static __always_inline void lb_echo_reply_v6(struct lb_pkt *p)
{
	struct ipv6hdr *ip6h = p->l3;
	struct lb_icmphdr *icmp6 = p->l4;
	__u16 *tc = p->l4;
	struct in6_addr a = ip6h->saddr;
	__u16 old;

	lb_swap_macs(p->eth);
	ip6h->saddr = ip6h->daddr;
	ip6h->daddr = a;
	ip6h->hop_limit = LB_TTL;
	old = *tc;
	icmp6->type = LB_ICMPV6_ECHOREPLY;
	icmp6->check = csum_update(icmp6->check, csum_diff16(old, *tc));
}

/*
 * Rewrite the addresses and ports of a TCP/UDP packet (l4 claimed) to
 * src:sport -> dst:dport, fixing the IPv4 header checksum and the L4
 * checksum (whose pseudo-header covers the addresses).
 */
static __always_inline void lb_nat_rewrite(struct lb_pkt *p, const __be32 *src, __be16 sport,
					   const __be32 *dst, __be16 dport)
{
	__be16 *ports = p->l4;
	__u64 d_addr, d_l4;

	if (p->family == LB_AF_V4) {
		struct iphdr *iph = p->l3;

		d_addr = csum_diff32(iph->saddr, src[0]) + csum_diff32(iph->daddr, dst[0]);
		iph->saddr = src[0];
		iph->daddr = dst[0];
		iph->check = csum_update(iph->check, d_addr);
	} else {
		struct ipv6hdr *ip6h = p->l3;

		d_addr = csum_diff128(ip6h->saddr.in6_u.u6_addr32, src) +
			 csum_diff128(ip6h->daddr.in6_u.u6_addr32, dst);
		__builtin_memcpy(&ip6h->saddr, src, 16);
		__builtin_memcpy(&ip6h->daddr, dst, 16);
	}
	d_l4 = d_addr + csum_diff16(ports[0], sport) + csum_diff16(ports[1], dport);
	ports[0] = sport;
	ports[1] = dport;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = p->l4;

		/* lb_parse_l4 claimed it, but the verifier only keeps the UDP length */
		if ((void *)(th + 1) > p->cur.end)
			return;
		th->check = csum_update(th->check, d_l4);
	} else {
		struct udphdr *uh = p->l4;

		uh->check = csum_update_udp(uh->check, d_l4);
	}
}

#endif
