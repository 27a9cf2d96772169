/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI of the XDP L4 load balancer, shared by bpf/xdp_lb.bpf.c,
 * bpf/tc_decap.bpf.c, user/bpfctl/lb.c and user/route/maglev.c.
 * Fixed-width types and explicit padding only; every struct's size is
 * asserted so the two sides cannot drift.
 *
 * Addresses are __be32[4]: an IPv4 address sits in [0] with [1..3] zero.
 * Ports are in network order. Families are LB_AF_V4 / LB_AF_V6 (not AF_*,
 * which BPF programs do not have).
 *
 * Backends ("reals", after Katran) have ids 1..LB_MAX_REALS-1; id 0 means
 * "none" everywhere, so an all-zero Maglev slot can never forward.
 *
 * Maps of bpf/xdp_lb.bpf.c (pinned by user/bpfctl/lb.c under pin_path):
 *   lb_vips       HASH lb_vip_key -> lb_vip (services and address-only entries)
 *   lb_rings      ARRAY_OF_MAPS [LB_MAX_VIPS] of ARRAY __u32 (BPF_F_INNER_MAP):
 *                 [0] = table size M, [1..M] = real ids. Each VIP's table is a
 *                 map of its own, built whole and swapped in with one update of
 *                 lb_rings, so the datapath never sees a half-written table.
 *   lb_reals      ARRAY [LB_MAX_REALS] -> lb_real
 *   lb_conns      LRU_HASH (BPF_F_NO_COMMON_LRU: per-CPU LRU lists, one table)
 *                 lb_flow -> lb_conn
 *   lb_nat_rev    LRU_HASH lb_flow (reply as received) -> lb_nat
 *   lb_stats      PERCPU_ARRAY [LB_STAT_MAX] __u64
 *   lb_drops      PERCPU_ARRAY [LB_DROP_MAX] __u64
 *   lb_vip_stats  PERCPU_ARRAY [LB_MAX_VIPS] lb_counter
 *   lb_real_stats PERCPU_ARRAY [LB_MAX_REALS] lb_counter
 *   lb_vip_filter ARRAY [1] lb_vip_filter (BPF_F_RDONLY_PROG): one flag byte
 *                 per hash slot of the addresses and services in lb_vips,
 *                 so that most packets not for the LB pass without a lookup
 *   lb_members    HASH lb_member_key -> lb_member (control plane only, below)
 * and of bpf/tc_decap.bpf.c:
 *   decap_stats   PERCPU_ARRAY [LB_DECAP_MAX] __u64
 */
#ifndef XDPROXY_LB_H
#define XDPROXY_LB_H

#include <linux/types.h>
#ifndef __BPF__
#include <assert.h>
#define LB_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define LB_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define LB_AF_V4 4
#define LB_AF_V6 6

#define LB_MAX_VIPS	  512	     /* VIP ids 0..LB_MAX_VIPS-1 (address-only entries included) */
#define LB_MAX_REALS	  4096	     /* real ids 1..LB_MAX_REALS-1 */
#define LB_RING_DEFAULT	  65537	     /* Maglev table size: prime */
#define LB_RING_MAX	  1048573    /* largest prime table size accepted */
#define LB_MAX_CONNS	  (1u << 20) /* connection table entries */
#define LB_MAX_NAT	  (1u << 20) /* NAT reverse entries */
#define LB_NAT_PORT_MIN	  1024	     /* source ports the LB picks for full NAT */
#define LB_NAT_PORT_MAX	  65535
#define LB_NAT_PORT_TRIES 16 /* probes for a free port before dropping */
/* odd stride between the probes of lb_nat_port() */
#define LB_NAT_PORT_STEP 0x9e3779b1u

/* Forwarding mode of a VIP. */
enum lb_mode {
	LB_MODE_DSR_L2 = 1, /* rewrite destination MAC; backend holds the VIP on lo */
	LB_MODE_IPIP = 2,   /* encapsulate in IPv4 (proto 4) / IPv6 (nexthdr 41) */
	LB_MODE_NAT = 3,    /* DNAT to the real, SNAT to lb_vip.src and an LB-chosen port */
};

/* lb_vip.flags */
#define LB_VIP_F_ADDR (1u << 0) /* address-only entry (port 0, proto 0): ICMP echo, frag checks */

/*
 * lb_vips key. For every VIP the controller also inserts an address-only
 * key {addr, 0, 0, family} flagged LB_VIP_F_ADDR, so the datapath can tell
 * "to a VIP address" (answer ICMP echo, drop fragments and IPv4 options)
 * from "to a VIP service".
 */
struct lb_vip_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP; 0 for address-only */
	__u8 family;
};

struct lb_vip {
	__u32 id;    /* index into lb_rings and lb_vip_stats */
	__u32 flags; /* LB_VIP_F_* */
	__u8 mode;   /* enum lb_mode */
	__u8 _pad[7];
	__be32 src[4]; /* the LB's address toward reals: IPIP outer source, NAT source */
};

/* lb_real.flags */
#define LB_REAL_F_ACTIVE   (1u << 0) /* slot in use; connections to it stay valid */
#define LB_REAL_F_DRAINING (1u << 1) /* out of every Maglev table; existing flows stay */

/*
 * A backend. Removing one clears ACTIVE and bumps gen, so connection
 * entries that still name it (by id and gen) are re-hashed; draining only
 * takes it out of the Maglev tables, so its connections keep going.
 *
 * Next hop: when ifindex != 0 the controller has resolved the neighbour
 * and the datapath uses dmac/smac/ifindex as they are; otherwise it asks
 * bpf_fib_lookup() for every packet.
 */
struct lb_real {
	__be32 addr[4];
	__be16 port; /* NAT: backend port (0: the VIP's port) */
	__u8 family;
	__u8 flags; /* LB_REAL_F_* */
	__u32 gen;
	__u32 ifindex; /* cached next hop, 0 = use bpf_fib_lookup() */
	__u8 dmac[6];
	__u8 smac[6];
};

/* A flow as the LB sees it; key of lb_conns and lb_nat_rev. */
struct lb_flow {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 _pad[2];
};

/* lb_conns value: which real a flow is pinned to. */
struct lb_conn {
	__u32 real;
	__u32 gen;	 /* lb_real.gen when pinned; a mismatch means "re-hash" */
	__be16 nat_port; /* NAT mode: the source port chosen for this flow */
	__u8 _pad[6];
};

/*
 * lb_nat_rev value: for a reply {real:port -> lb src:nat_port}, the
 * original flow {client:port -> vip:port} to restore.
 *
 * The entry is also the reservation of its NAT port, so it records how the
 * flow lives: 'seen' (bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC_COARSE in
 * userspace; refreshed at most every LB_NAT_TOUCH_NS) and 'state'
 * (LB_NAT_S_*, set atomically by either direction). Once a flow has been
 * idle longer than the timeout its state gives (lb_nat_timeout), another
 * flow may take the port over; nothing else frees ports, since an LRU map
 * only evicts when it is full.
 */
struct lb_nat {
	struct lb_flow orig;
	__u32 real;
	__u32 state; /* LB_NAT_S_* */
	__u64 seen;  /* ns, CLOCK_MONOTONIC_COARSE */
};

#define LB_NAT_S_REPLY	 0x1u /* the real answered: established (UDP: a reply seen) */
#define LB_NAT_S_FIN_FWD 0x2u /* FIN from the client */
#define LB_NAT_S_FIN_REV 0x4u /* FIN from the real */
#define LB_NAT_S_RST	 0x8u /* RST either way */
#define LB_NAT_S_CLOSED	 (LB_NAT_S_FIN_FWD | LB_NAT_S_FIN_REV)

/* 'seen' is refreshed only when it is this much behind: fewer dirty cache lines. */
#define LB_NAT_TOUCH_NS 1000000000ull

/*
 * Idle time after which a NAT port may go to another flow, by state
 * (defaults of bpf/xdp_lb.bpf.c's nat_timeout_* rodata; as IPVS: a closing
 * flow 10 s, UDP 300 s, established TCP 900 s; a flow the real never
 * answered 30 s, so a SYN flood cannot hold ports for long).
 */
#define LB_NAT_TIMEOUT_NEW_S   30
#define LB_NAT_TIMEOUT_TCP_S   900
#define LB_NAT_TIMEOUT_UDP_S   300
#define LB_NAT_TIMEOUT_CLOSE_S 10

/* lb_vip_stats / lb_real_stats value (per CPU). */
struct lb_counter {
	__u64 packets;
	__u64 bytes;
};

/* What the program did, counted per CPU in lb_stats (xdproxy stats). */
enum lb_stat {
	LB_STAT_PASS = 0,    /* not for a VIP: XDP_PASS */
	LB_STAT_TX,	     /* forwarded out of the ingress interface */
	LB_STAT_REDIRECT,    /* forwarded to another interface */
	LB_STAT_FIB_PASS,    /* rewritten, next hop unresolved: left to the kernel */
	LB_STAT_CONN_HIT,    /* flow found in lb_conns */
	LB_STAT_CONN_NEW,    /* flow hashed by Maglev and pinned */
	LB_STAT_CONN_REHASH, /* pinned real was removed: hashed again */
	LB_STAT_ICMP_ECHO,   /* echo request to a VIP address answered */
	LB_STAT_NAT_REPLY,   /* reply translated back to the client */
	LB_STAT_NAT_REUSE,   /* NAT port of an expired flow given to a new one */
	LB_STAT_MAX,
};

/* Why a packet was dropped, counted per CPU in lb_drops. */
enum lb_drop {
	LB_DROP_TRUNCATED = 0, /* header shorter than its fixed part */
	LB_DROP_BAD_IHL,       /* IPv4 IHL < 5 or beyond the packet */
	LB_DROP_IP_OPTIONS,    /* IPv4 options to a VIP address */
	LB_DROP_FRAGMENT,      /* fragment to a VIP address (clamp MSS instead) */
	LB_DROP_IPV6_EXT,      /* IPv6 extension header to a VIP address */
	LB_DROP_NO_BACKEND,    /* VIP without a table or with an empty slot */
	LB_DROP_NO_NEIGH,      /* DSR L2 next hop unresolved */
	LB_DROP_FIB,	       /* no route to the real */
	LB_DROP_NAT_PORTS,     /* no free NAT port after LB_NAT_PORT_TRIES probes */
	LB_DROP_ADJUST,	       /* bpf_xdp_adjust_head failed (IPIP) */
	LB_DROP_BAD_FAMILY,    /* VIP and real of different families */
	LB_DROP_MAX,
};

/* Drop reasons of bpf/tc_decap.bpf.c, counted per CPU in decap_drops. */
enum lb_decap_stat {
	LB_DECAP_OK = 0,    /* outer header removed */
	LB_DECAP_PASS,	    /* not encapsulated: left alone */
	LB_DECAP_TRUNCATED, /* inner header shorter than its fixed part: dropped */
	LB_DECAP_FAILED,    /* bpf_skb_adjust_room failed: dropped */
	LB_DECAP_MAX,
};

LB_STATIC_ASSERT(sizeof(struct lb_vip_key) == 20, "lb_vip_key ABI");
LB_STATIC_ASSERT(sizeof(struct lb_vip) == 32, "lb_vip ABI");
LB_STATIC_ASSERT(sizeof(struct lb_real) == 40, "lb_real ABI");
LB_STATIC_ASSERT(sizeof(struct lb_flow) == 40, "lb_flow ABI");
LB_STATIC_ASSERT(sizeof(struct lb_conn) == 16, "lb_conn ABI");
LB_STATIC_ASSERT(sizeof(struct lb_nat) == 56, "lb_nat ABI");
LB_STATIC_ASSERT(sizeof(struct lb_counter) == 16, "lb_counter ABI");

/*
 * Flow hash that picks the Maglev slot: Bob Jenkins' lookup3 final mix over
 * the 5-tuple. Shared so that userspace tests measure the spread of the
 * very function the datapath uses.
 */
static inline __u32 lb_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

#define LB_JHASH_INIT 0xdeadbeefu

/* clang-format off */
static inline void lb_jmix(__u32 *a, __u32 *b, __u32 *c)
{
	*a -= *c; *a ^= lb_rol32(*c, 4);  *c += *b;
	*b -= *a; *b ^= lb_rol32(*a, 6);  *a += *c;
	*c -= *b; *c ^= lb_rol32(*b, 8);  *b += *a;
	*a -= *c; *a ^= lb_rol32(*c, 16); *c += *b;
	*b -= *a; *b ^= lb_rol32(*a, 19); *a += *c;
	*c -= *b; *c ^= lb_rol32(*b, 4);  *b += *a;
}

static inline void lb_jfinal(__u32 *a, __u32 *b, __u32 *c)
{
	*c ^= *b; *c -= lb_rol32(*b, 14);
	*a ^= *c; *a -= lb_rol32(*c, 11);
	*b ^= *a; *b -= lb_rol32(*a, 25);
	*c ^= *b; *c -= lb_rol32(*b, 16);
	*a ^= *c; *a -= lb_rol32(*c, 4);
	*b ^= *a; *b -= lb_rol32(*a, 14);
	*c ^= *b; *c -= lb_rol32(*b, 24);
}

/* clang-format on */

static inline __u32 lb_flow_hash(const struct lb_flow *f)
{
	__u32 ports = ((__u32)f->sport << 16) | f->dport;
	__u32 a, b, c;

	a = b = c = LB_JHASH_INIT + f->proto;
	if (f->family == LB_AF_V4) {
		a += f->src[0];
		b += f->dst[0];
		c += ports;
		lb_jfinal(&a, &b, &c);
		return c;
	}
	a += f->src[0];
	b += f->src[1];
	c += f->src[2];
	lb_jmix(&a, &b, &c);
	a += f->src[3];
	b += f->dst[0];
	c += f->dst[1];
	lb_jmix(&a, &b, &c);
	a += f->dst[2];
	b += f->dst[3];
	c += ports;
	lb_jfinal(&a, &b, &c);
	return c;
}

/*
 * lb_vip_filter: a prefilter in front of the hash lookups, kept by the
 * control plane. A packet's destination address picks a slot with
 * lb_filter_addr() and a TCP/UDP packet's service a slot with
 * lb_filter_svc(); a clear flag there means "certainly not": no lb_vips or
 * lb_nat_rev lookup is needed to know it. Slots are shared by addresses
 * that hash alike, so a set flag only means "maybe": the lookup decides.
 * The control plane recomputes the whole filter from lb_vips on every
 * change (a flag cannot be cleared for one address alone), setting flags
 * before it inserts an entry and clearing them after it deletes one: a
 * stale flag costs a lookup, a missing one would pass a VIP's packets.
 */
#define LB_FILTER_SHIFT 16 /* 2^16 slots: 64 KiB, 512 addresses fill 0.8 % */
#define LB_FILTER_SLOTS (1u << LB_FILTER_SHIFT)

/* lb_vip_filter.slot[] flags */
#define LB_FILTER_ADDR (1u << 0) /* lb_filter_addr: a VIP address (any lb_vips key's addr) */
#define LB_FILTER_SVC  (1u << 1) /* lb_filter_svc: a service {addr, port, proto, family} */
#define LB_FILTER_NAT  (1u << 2) /* lb_filter_addr: the lb_vip.src of a NAT service */
#define LB_FILTER_ALL  (LB_FILTER_ADDR | LB_FILTER_SVC | LB_FILTER_NAT)

struct lb_vip_filter {
	__u8 slot[LB_FILTER_SLOTS];
};

LB_STATIC_ASSERT(sizeof(struct lb_vip_filter) == LB_FILTER_SLOTS, "lb_vip_filter ABI");

/*
 * Slot of an address (lb.h form, family LB_AF_*): the words folded, then
 * a multiplicative hash whose top bits are the slot. Not keyed: whoever
 * aims at a VIP's slot only buys the lookups every packet used to cost.
 */
static inline __u32 lb_filter_mix(__u32 x)
{
	x ^= x >> 16;
	return (x * 0x9e3779b1u) >> (32 - LB_FILTER_SHIFT);
}

static inline __u32 lb_filter_addr(const __be32 *addr, __u8 family)
{
	return lb_filter_mix(addr[0] ^ addr[1] ^ addr[2] ^ addr[3] ^ family);
}

/* Slot of a service: the address folded with port, protocol and family. */
static inline __u32 lb_filter_svc(const struct lb_vip_key *k)
{
	__u32 x = k->addr[0] ^ k->addr[1] ^ k->addr[2] ^ k->addr[3];

	return lb_filter_mix(lb_rol32(x, 7) ^
			     ((__u32)k->port << 16 | (__u32)k->proto << 8 | k->family));
}

/*
 * lb_members: control-plane record of what each VIP's Maglev table is built
 * from ({vip id, real id} -> weight). The datapath never reads it; it is in
 * the BPF object so it is pinned with BTF next to the maps it explains.
 */
struct lb_member_key {
	__u32 vip;
	__u32 real;
};

struct lb_member {
	__u32 weight;
	__u32 _pad;
};

LB_STATIC_ASSERT(sizeof(struct lb_member_key) == 8, "lb_member_key ABI");
LB_STATIC_ASSERT(sizeof(struct lb_member) == 8, "lb_member ABI");

/*
 * Source port (host order) of the i-th probe (0 <= i < LB_NAT_PORT_TRIES)
 * for a NAT flow whose lb_flow_hash() is h. Shared so that tests (and any
 * tool) can tell which ports a flow may take.
 */
static inline __u16 lb_nat_port(__u32 h, __u32 i)
{
	return LB_NAT_PORT_MIN +
	       (h + i * LB_NAT_PORT_STEP) % (LB_NAT_PORT_MAX - LB_NAT_PORT_MIN + 1);
}

#endif
