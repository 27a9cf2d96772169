/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packet fixtures for the BPF tests: frames described field by field
 * (struct pkt) and built with every checksum computed in full here, plus
 * an independent checker of all checksums in a frame. Plain RFC 1071
 * arithmetic over bytes, on purpose nothing shared with bpf/lib/csum.h.
 */
#ifndef XDPROXY_TESTS_BPF_PKT_H
#define XDPROXY_TESTS_BPF_PKT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include "xdproxy/lb.h"

#define PKT_MAX 2048

/* MACs of a frame whose spec leaves them out: client -> the LB's ingress */
#define PKT_SMAC "02:00:00:00:00:01"
#define PKT_DMAC "02:00:00:00:aa:01"

static inline void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static inline void put_mac(uint8_t *b, const char *s)
{
	unsigned int m[6];

	assert_int_equal(sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]),
			 6);
	for (int i = 0; i < 6; i++)
		b[i] = m[i];
}

/* Address string -> lb.h form (__be32[4], IPv4 in [0]). */
static inline void addr_of(uint8_t family, const char *s, __be32 a[4])
{
	memset(a, 0, 16);
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, s, a), 1);
}

/* Plain RFC 1071 sum over big-endian 16-bit words (odd byte padded). */
static inline uint32_t sum16(uint32_t s, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	return s;
}

static inline uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Pseudo-header sum for the upper-layer checksum (RFC 793/768, RFC 8200 8.1). */
static inline uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
				  uint32_t len)
{
	uint32_t s = 0;
	int alen = family == 4 ? 4 : 16;

	s = sum16(s, src, alen);
	s = sum16(s, dst, alen);
	s += proto;
	s += len >> 16;
	s += len & 0xffff;
	return s;
}

#define NODF   0x8000	     /* pkt.frag: clear DF (which is set by default) */
#define EXT(n) (0x100 | (n)) /* pkt.ext: IPPROTO_HOPOPTS is 0 */

/*
 * A frame described field by field. Zero means "the usual": MACs PKT_SMAC
 * -> PKT_DMAC, TTL 61, TOS 0x20, DF set, IPv6 flow label 0x12345, 16 payload bytes.
 */
struct pkt {
	const char *dmac, *smac;
	uint16_t vlan;	    /* TCI, 0: untagged */
	uint16_t vlan_tpid; /* 0: 0x8100 */
	uint16_t ethertype; /* 0: from family; ETH_P_ARP for ARP */
	uint8_t family;	    /* 4 or 6 */
	const char *src, *dst;
	uint8_t proto;	       /* IPPROTO_TCP/UDP/ICMP/ICMPV6/... */
	uint16_t sport, dport; /* ICMP: echo id and sequence */
	uint8_t icmp_type;
	uint8_t ttl;
	uint8_t opts;		 /* IPv4 option bytes (NOPs), multiple of 4 */
	uint8_t ihl;		 /* IPv4 IHL field as sent, 0: the real one */
	uint16_t frag;		 /* IPv4 frag_off bits besides DF; NODF clears DF */
	uint16_t ext;		 /* EXT(IPPROTO_x): IPv6 extension header before L4 */
	bool udp_csum0;		 /* UDP without checksum */
	uint16_t payload;	 /* payload bytes, 0: 16 */
	uint16_t trunc;		 /* cut the frame to this many bytes */
	const char *osrc, *odst; /* IP-in-IP outer header, as xdp_lb.bpf.c builds it */
	uint8_t ofamily;	 /* outer family, 0: the inner one */
	uint8_t oproto;		 /* outer protocol, 0: 4 or 41 by the inner family */
	uint8_t oopts;		 /* outer IPv4 option bytes */
	uint16_t ofrag;		 /* outer IPv4 frag_off bits besides DF */
	uint8_t nat_probe; /* expected NAT output: sport = lb_nat_port(hash(input), probe - 1) */
	uint8_t tcp_flags; /* TCP flags byte, 0: SYN */
};

/* The flow of a TCP/UDP spec, as the datapath keys it. */
static inline void pkt_flow(const struct pkt *p, struct lb_flow *f)
{
	memset(f, 0, sizeof(*f));
	addr_of(p->family, p->src, f->src);
	addr_of(p->family, p->dst, f->dst);
	f->sport = htons(p->sport);
	f->dport = htons(p->dport);
	f->proto = p->proto;
	f->family = p->family == 4 ? LB_AF_V4 : LB_AF_V6;
}

static inline uint16_t nat_port_of(const struct pkt *in, unsigned int probe)
{
	struct lb_flow f;

	pkt_flow(in, &f);
	return lb_nat_port(lb_flow_hash(&f), probe);
}

/* L4 header + payload at b, checksum filled in; returns its length. */
static inline size_t build_l4(const struct pkt *p, uint16_t sport, const uint8_t *src,
			      const uint8_t *dst, uint8_t *b)
{
	size_t hl, n = p->payload ? p->payload : 16;
	uint16_t ck;
	uint32_t s;

	switch (p->proto) {
	case IPPROTO_TCP:
		hl = 20;
		memset(b, 0, hl);
		put16(b, sport);
		put16(b + 2, p->dport);
		b[4] = 1, b[5] = 2, b[6] = 3, b[7] = 4; /* seq */
		b[12] = 5 << 4;				/* doff */
		b[13] = p->tcp_flags ? p->tcp_flags : 0x02; /* default SYN */
		put16(b + 14, 65535);
		break;
	case IPPROTO_UDP:
		hl = 8;
		put16(b, sport);
		put16(b + 2, p->dport);
		put16(b + 4, hl + n);
		put16(b + 6, 0);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hl = 8;
		b[0] = p->icmp_type;
		b[1] = 0;
		put16(b + 2, 0);
		put16(b + 4, sport);
		put16(b + 6, p->dport);
		break;
	default:
		hl = 0;
		break;
	}
	for (size_t i = 0; i < n; i++)
		b[hl + i] = (uint8_t)(0xa0 + i);
	n += hl;

	switch (p->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMPV6:
		s = pseudo_sum(p->family, src, dst, p->proto, n);
		break;
	case IPPROTO_ICMP:
		s = 0;
		break;
	default:
		return n;
	}
	ck = ~fold(sum16(s, b, n));
	if (p->proto == IPPROTO_UDP) {
		if (p->udp_csum0)
			ck = 0;
		else if (ck == 0)
			ck = 0xffff;
		put16(b + 6, ck);
	} else {
		put16(b + (p->proto == IPPROTO_TCP ? 16 : 2), ck);
	}
	return n;
}

/* The IP packet of a spec at b (in: the input, for nat_probe); its length. */
static inline size_t build_ip(const struct pkt *p, const struct pkt *in, uint8_t *b)
{
	uint8_t ttl = p->ttl ? p->ttl : 61;
	uint16_t sport = p->sport;
	__be32 src[4], dst[4];
	size_t l4;

	if (p->nat_probe)
		sport = nat_port_of(in, p->nat_probe - 1);
	addr_of(p->family, p->src, src);
	addr_of(p->family, p->dst, dst);

	if (p->family == 4) {
		size_t hl = 20 + p->opts;
		uint16_t frag = p->frag & NODF ? p->frag & ~NODF : p->frag | 0x4000;

		l4 = build_l4(p, sport, (uint8_t *)src, (uint8_t *)dst, b + hl);
		b[0] = 0x40 | (p->ihl ? p->ihl : hl / 4);
		b[1] = 0x20;
		put16(b + 2, hl + l4);
		put16(b + 4, 0x1234);
		put16(b + 6, frag);
		b[8] = ttl;
		b[9] = p->proto;
		put16(b + 10, 0);
		memcpy(b + 12, src, 4);
		memcpy(b + 16, dst, 4);
		memset(b + 20, 1, p->opts); /* NOP options */
		put16(b + 10, ~fold(sum16(0, b, hl)));
		return hl + l4;
	}

	size_t xl = p->ext ? 8 : 0;

	l4 = build_l4(p, sport, (uint8_t *)src, (uint8_t *)dst, b + 40 + xl);
	b[0] = 0x60;
	b[1] = 0x01; /* flow label 0x12345 */
	put16(b + 2, 0x2345);
	put16(b + 4, xl + l4);
	b[6] = p->ext ? p->ext & 0xff : p->proto;
	b[7] = ttl;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
	if (p->ext) {
		uint8_t *x = b + 40;

		memset(x, 0, 8);
		x[0] = p->proto;
		if (p->ext == EXT(IPPROTO_FRAGMENT)) {
			put16(x + 2, 1); /* offset 0, more fragments */
			x[7] = 0x42;	 /* identification */
		} else {
			x[2] = 1; /* PadN over the remaining 4 bytes */
			x[3] = 4;
		}
	}
	return 40 + xl + l4;
}

/* The frame of a spec into buf; its length. */
static inline size_t pkt_build(const struct pkt *p, const struct pkt *in, uint8_t *buf)
{
	uint8_t *b = buf;
	uint16_t et = p->ethertype;
	size_t olen = 0, len;
	uint8_t ofamily;

	put_mac(b, p->dmac ? p->dmac : PKT_DMAC);
	put_mac(b + 6, p->smac ? p->smac : PKT_SMAC);
	b += 12;
	if (p->vlan) {
		put16(b, p->vlan_tpid ? p->vlan_tpid : ETH_P_8021Q);
		put16(b + 2, p->vlan);
		b += 4;
	}
	if (!et)
		et = p->family == 4 ? ETH_P_IP : ETH_P_IPV6;
	put16(b, et);
	b += 2;
	if (et == ETH_P_ARP) {
		for (int i = 0; i < 28; i++)
			b[i] = i;
		return b + 28 - buf;
	}
	ofamily = p->ofamily ? p->ofamily : p->family;
	if (p->osrc)
		olen = ofamily == 4 ? 20 + p->oopts : 40;
	len = build_ip(p, in, b + olen);
	if (p->osrc) {
		uint8_t *o = b, *inner = b + olen;
		uint8_t oproto = p->oproto	  ? p->oproto
				 : p->family == 4 ? IPPROTO_IPIP
						  : IPPROTO_IPV6;

		memset(o, 0, olen);
		if (ofamily == 4) {
			uint16_t df = p->family == 4 ? (inner[6] << 8 | inner[7]) & 0x4000 : 0;

			o[0] = 0x40 | (olen / 4);
			o[1] = p->family == 4 ? inner[1] : 0;
			put16(o + 2, len + olen);
			put16(o + 6, df | p->ofrag);
			o[8] = 64;
			o[9] = oproto;
			assert_int_equal(inet_pton(AF_INET, p->osrc, o + 12), 1);
			assert_int_equal(inet_pton(AF_INET, p->odst, o + 16), 1);
			memset(o + 20, 1, p->oopts);
			put16(o + 10, ~fold(sum16(0, o, olen)));
		} else {
			if (p->family == 6)
				memcpy(o, inner, 4);
			else
				o[0] = 0x60;
			put16(o + 4, len);
			o[6] = oproto;
			o[7] = 64;
			assert_int_equal(inet_pton(AF_INET6, p->osrc, o + 8), 1);
			assert_int_equal(inet_pton(AF_INET6, p->odst, o + 24), 1);
		}
	}
	len += olen + (b - buf);
	if (p->trunc)
		len = p->trunc;
	return len;
}

/*
 * Independent check of every checksum in a frame: IPv4 header, and the
 * TCP/UDP/ICMP/ICMPv6 checksum of the innermost packet (through IPIP).
 * Returns 0, or -1 with a message.
 */
static inline int verify_l3(const uint8_t *b, size_t len, int depth)
{
	const uint8_t *l4, *src, *dst;
	uint8_t proto;
	size_t l4len;
	int family;

	if (len < 20 || depth > 1)
		return -1;
	if ((b[0] >> 4) == 4) {
		size_t hl = (b[0] & 15) * 4, tot = b[2] << 8 | b[3];

		if (hl < 20 || tot > len || tot < hl)
			return -1;
		if (fold(sum16(0, b, hl)) != 0xffff) {
			print_error("bad IPv4 header checksum\n");
			return -1;
		}
		family = 4;
		proto = b[9];
		src = b + 12;
		dst = b + 16;
		l4 = b + hl;
		l4len = tot - hl;
	} else if ((b[0] >> 4) == 6 && len >= 40) {
		size_t pl = b[4] << 8 | b[5];

		if (40 + pl > len)
			return -1;
		family = 6;
		proto = b[6];
		src = b + 8;
		dst = b + 24;
		l4 = b + 40;
		l4len = pl;
	} else {
		return -1;
	}
	if (proto == IPPROTO_IPIP || proto == IPPROTO_IPV6)
		return verify_l3(l4, l4len, depth + 1);

	uint32_t s;

	switch (proto) {
	case IPPROTO_UDP:
		if (family == 4 && l4len >= 8 && !l4[6] && !l4[7])
			return 0;
		/* fallthrough */
	case IPPROTO_TCP:
	case IPPROTO_ICMPV6:
		s = pseudo_sum(family, src, dst, proto, l4len);
		break;
	case IPPROTO_ICMP:
		s = 0;
		break;
	default:
		return 0;
	}
	if (fold(sum16(s, l4, l4len)) != 0xffff) {
		print_error("bad L4 (proto %u) checksum\n", proto);
		return -1;
	}
	return 0;
}

static inline int verify_csums(const uint8_t *f, size_t len)
{
	size_t off = 12;
	uint16_t et;

	if (len < 14)
		return -1;
	et = f[off] << 8 | f[off + 1];
	if (et == ETH_P_8021Q || et == ETH_P_8021AD) {
		off += 4;
		et = f[off] << 8 | f[off + 1];
	}
	off += 2;
	if (et != ETH_P_IP && et != ETH_P_IPV6)
		return 0;
	return verify_l3(f + off, len - off, 0);
}

static inline void hexdump(const char *what, const uint8_t *b, size_t len)
{
	print_error("%s (%zu bytes):\n", what, len);
	for (size_t i = 0; i < len; i += 16) {
		char line[80];
		int n = 0;

		for (size_t j = i; j < len && j < i + 16; j++)
			n += snprintf(line + n, sizeof(line) - n, "%02x ", b[j]);
		print_error("  %04zx  %s\n", i, line);
	}
}

#endif
