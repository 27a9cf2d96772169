/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounds-checked packet cursor and the parser of the XDP LB: Ethernet, at
 * most one VLAN tag (802.1Q or 802.1ad, kept in the frame), IPv4 or IPv6,
 * then on demand the fixed part of TCP, UDP, ICMP or ICMPv6.
 *
 * The parser only looks; what to do about options, fragments or extension
 * headers is decided by the caller, because it depends on whether the
 * packet is for a VIP (LB_PKT_F_* flags below).
 */
#ifndef XDPROXY_BPF_PARSE_H
#define XDPROXY_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "xdproxy/lb.h"
#include "lib/verdict.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
/* IPv4 frag_off bits (kernel-internal names, not in the uapi headers) */
#define LB_IP_DF     0x4000
#define LB_IP_MF     0x2000
#define LB_IP_OFFSET 0x1fff

/*
 * The first 4 bytes of ICMP and ICMPv6 (linux/icmp.h drags in libc's
 * socket headers, which a BPF build cannot include).
 */
struct lb_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 check;
};

#define LB_ICMP_ECHOREPLY   0
#define LB_ICMP_ECHO	    8
#define LB_ICMPV6_ECHO	    128
#define LB_ICMPV6_ECHOREPLY 129

/* struct vlan_hdr is kernel-internal too. */
struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto; /* the encapsulated EtherType */
};

/* A cursor over [pos, end): every header is claimed through lb_pull. */
struct lb_cursor {
	void *pos;
	void *end;
};

/* Claim len bytes at the cursor and advance; NULL when the packet is shorter. */
static __always_inline void *lb_pull(struct lb_cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

#define LB_PKT_F_VLAN	 (1u << 0) /* one VLAN tag between Ethernet and IP */
#define LB_PKT_F_OPTIONS (1u << 1) /* IPv4 header longer than 20 bytes */
#define LB_PKT_F_FRAG	 (1u << 2) /* IPv4 MF or offset != 0; IPv6 fragment header */
#define LB_PKT_F_EXT	 (1u << 3) /* IPv6 extension header other than fragment */

/*
 * What lb_parse found. The pointers are valid until the packet is resized
 * (bpf_xdp_adjust_head) and were checked against the end of the packet:
 * eth for 14 bytes, l3 for the whole IPv4 header (options included) or the
 * 40-byte IPv6 header, l4 (when lb_parse_l4 set it) for its fixed part.
 */
struct lb_pkt {
	struct lb_cursor cur; /* at the L4 header once the IP header is parsed */
	struct ethhdr *eth;
	void *l3; /* struct iphdr or struct ipv6hdr */
	void *l4;
	__u32 len;     /* frame length as received */
	__u32 ifindex; /* ctx->ingress_ifindex */
	__u16 l2_len;  /* 14, or 18 with a VLAN tag */
	__u8 family;   /* LB_AF_V4 / LB_AF_V6 */
	__u8 proto;    /* IPv4 protocol, IPv6 first next header */
	__u8 flags;    /* LB_PKT_F_* */
};

/* IPv6 extension headers (RFC 8200 section 4, IANA list), fragment aside. */
static __always_inline int lb_ipv6_is_ext(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_ESP:
	case IPPROTO_AH:
	case IPPROTO_DSTOPTS:
	case IPPROTO_MH:
	case 139: /* HIP */
	case 140: /* Shim6 */
	case 253: /* experiments (RFC 3692) */
	case 254:
		return 1;
	}
	return 0;
}

static __always_inline int lb_parse_ipv4(struct lb_pkt *p)
{
	struct iphdr *iph = lb_pull(&p->cur, sizeof(*iph));
	__u32 ihl;

	if (!iph)
		return lb_drop(LB_DROP_TRUNCATED);
	if (iph->version != 4) /* not ours to judge: the kernel drops it */
		return LB_VERDICT(XDP_PASS, LB_STAT_PASS);
	ihl = iph->ihl;
	if (ihl < 5)
		return lb_drop(LB_DROP_BAD_IHL);
	if (ihl > 5) {
		if (!lb_pull(&p->cur, (ihl - 5) * 4))
			return lb_drop(LB_DROP_BAD_IHL);
		p->flags |= LB_PKT_F_OPTIONS;
	}
	if (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET))
		p->flags |= LB_PKT_F_FRAG;
	p->l3 = iph;
	p->family = LB_AF_V4;
	p->proto = iph->protocol;
	return LB_CONTINUE;
}

static __always_inline int lb_parse_ipv6(struct lb_pkt *p)
{
	struct ipv6hdr *ip6h = lb_pull(&p->cur, sizeof(*ip6h));

	if (!ip6h)
		return lb_drop(LB_DROP_TRUNCATED);
	if (ip6h->version != 6)
		return LB_VERDICT(XDP_PASS, LB_STAT_PASS);
	p->l3 = ip6h;
	p->family = LB_AF_V6;
	p->proto = ip6h->nexthdr;
	if (p->proto == IPPROTO_FRAGMENT)
		p->flags |= LB_PKT_F_FRAG;
	else if (lb_ipv6_is_ext(p->proto))
		p->flags |= LB_PKT_F_EXT;
	return LB_CONTINUE;
}

/*
 * Ethernet, VLAN and IP header. LB_CONTINUE for IPv4/IPv6 (p filled in),
 * a pass verdict for anything else (ARP, LLDP, ...), a drop when a header
 * is cut short or the IPv4 IHL is impossible.
 */
static __always_inline int lb_parse(struct xdp_md *ctx, struct lb_pkt *p)
{
	struct ethhdr *eth;
	__be16 proto;

	p->cur.pos = (void *)(long)ctx->data;
	p->cur.end = (void *)(long)ctx->data_end;
	p->len = p->cur.end - p->cur.pos;
	p->ifindex = ctx->ingress_ifindex;
	eth = lb_pull(&p->cur, sizeof(*eth));
	if (!eth)
		return lb_drop(LB_DROP_TRUNCATED);
	p->eth = eth;
	p->l2_len = sizeof(*eth);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct lb_vlan_hdr *vh = lb_pull(&p->cur, sizeof(*vh));

		if (!vh)
			return lb_drop(LB_DROP_TRUNCATED);
		proto = vh->proto;
		p->l2_len += sizeof(*vh);
		p->flags |= LB_PKT_F_VLAN;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return lb_parse_ipv4(p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return lb_parse_ipv6(p);
	return LB_VERDICT(XDP_PASS, LB_STAT_PASS);
}

/*
 * The fixed part of the L4 header p->proto names (TCP 20 bytes, UDP and
 * ICMP/ICMPv6 8); sets p->l4. 0, or -1 when the packet is shorter or the
 * protocol is not one of those (the caller decides what that means).
 */
static __always_inline int lb_parse_l4(struct lb_pkt *p)
{
	__u32 len;

	switch (p->proto) {
	case IPPROTO_TCP:
		len = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		len = sizeof(struct udphdr);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		len = 8;
		break;
	default:
		return -1;
	}
	p->l4 = lb_pull(&p->cur, len);
	return p->l4 ? 0 : -1;
}

/*
 * TCP flags byte of a packet whose L4 header lb_parse_l4 has claimed; 0 for
 * UDP. Bounds-checked again: the verifier does not tie p->proto to how many
 * bytes were claimed.
 */
static __always_inline __u8 lb_tcp_flags(const struct lb_pkt *p)
{
	const __u8 *t = p->l4;

	if (p->proto != IPPROTO_TCP || !t || (void *)(t + 14) > p->cur.end)
		return 0;
	return t[13];
}

/* Destination address of the packet in lb.h's __be32[4] form. */
static __always_inline void lb_pkt_daddr(const struct lb_pkt *p, __be32 *a)
{
	if (p->family == LB_AF_V4) {
		a[0] = ((struct iphdr *)p->l3)->daddr;
		a[1] = a[2] = a[3] = 0;
	} else {
		__builtin_memcpy(a, &((struct ipv6hdr *)p->l3)->daddr, 16);
	}
}

/* The flow of a TCP/UDP packet whose L4 header lb_parse_l4 has claimed. */
static __always_inline void lb_pkt_flow(const struct lb_pkt *p, struct lb_flow *f)
{
	const __be16 *ports = p->l4; /* sport, dport lead both TCP and UDP */

	if (p->family == LB_AF_V4) {
		const struct iphdr *iph = p->l3;

		f->src[0] = iph->saddr;
		f->src[1] = f->src[2] = f->src[3] = 0;
		f->dst[0] = iph->daddr;
		f->dst[1] = f->dst[2] = f->dst[3] = 0;
	} else {
		const struct ipv6hdr *ip6h = p->l3;

		__builtin_memcpy(f->src, &ip6h->saddr, 16);
		__builtin_memcpy(f->dst, &ip6h->daddr, 16);
	}
	f->sport = ports[0];
	f->dport = ports[1];
	f->proto = p->proto;
	f->family = p->family;
	f->_pad[0] = f->_pad[1] = 0;
}

#endif
