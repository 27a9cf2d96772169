// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Decapsulation on a backend ("real") of what bpf/xdp_lb.bpf.c sends in
 * IPIP mode: IPv4 in IPv4 (protocol 4) and IPv6 in IPv6 (next header 41).
 * The kernel here has no ipip/ip6_tunnel modules, so the outer header is
 * removed at TC ingress and the inner packet, addressed to the VIP the
 * backend holds on lo, is delivered locally. Anything else passes
 * untouched.
 *
 * Not handled, left to the kernel (LB_DECAP_PASS): outer IPv4 fragments
 * (the LB copies DF and never fragments), IPv6 extension headers before
 * next header 41, 4-in-6 and 6-in-4 (the LB never mixes families), and an
 * inner header whose version does not match the outer protocol. VLAN tags
 * are out of band at TC ingress (the kernel untags before TC), so the
 * frame starts with Ethernet and the IP header.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdproxy/lb.h"
#include "lib/parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What the program did, by enum lb_decap_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_DECAP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} decap_stats SEC(".maps");

static __always_inline int decap_done(__u32 stat, int act)
{
	__u64 *c = bpf_map_lookup_elem(&decap_stats, &stat);

	if (c)
		*c += 1;
	return act;
}

/*
 * Length of the outer header to remove (after checking that the inner
 * header's fixed part is there), 0 when the packet is not ours, -1 when
 * the inner header is cut short.
 */
static __always_inline int decap_outer_len(struct __sk_buff *skb)
{
	struct lb_cursor cur = {
	    .pos = (void *)(long)skb->data,
	    .end = (void *)(long)skb->data_end,
	};
	struct ethhdr *eth = lb_pull(&cur, sizeof(*eth));
	struct iphdr *iph, *in4;
	struct ipv6hdr *ip6h, *in6;
	__u32 ihl;

	if (!eth)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		iph = lb_pull(&cur, sizeof(*iph));
		if (!iph || iph->protocol != IPPROTO_IPIP || iph->version != 4)
			return 0;
		ihl = iph->ihl;
		if (ihl < 5 || (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET)))
			return 0;
		if (ihl > 5 && !lb_pull(&cur, (ihl - 5) * 4))
			return 0;
		in4 = lb_pull(&cur, sizeof(*in4));
		if (!in4)
			return -1;
		return in4->version == 4 ? (int)ihl * 4 : 0;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6h = lb_pull(&cur, sizeof(*ip6h));
		if (!ip6h || ip6h->nexthdr != IPPROTO_IPV6 || ip6h->version != 6)
			return 0;
		in6 = lb_pull(&cur, sizeof(*in6));
		if (!in6)
			return -1;
		return in6->version == 6 ? (int)sizeof(*ip6h) : 0;
	}
	return 0;
}

SEC("tc")
int tc_decap_ingress(struct __sk_buff *skb)
{
	int len = decap_outer_len(skb);

	if (len == 0)
		return decap_done(LB_DECAP_PASS, TC_ACT_OK);
	if (len < 0)
		return decap_done(LB_DECAP_TRUNCATED, TC_ACT_SHOT);
	/*
	 * Remove len bytes right after the MAC header; the network header
	 * then points at the inner one. FIXED_GSO: a GRO'd skb keeps its
	 * gso_size, which counts inner payload and is the same after decap.
	 */
	if (bpf_skb_adjust_room(skb, -len, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO))
		return decap_done(LB_DECAP_FAILED, TC_ACT_SHOT);
	return decap_done(LB_DECAP_OK, TC_ACT_OK);
}
