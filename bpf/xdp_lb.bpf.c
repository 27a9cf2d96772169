// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP L4 load balancer: VIP traffic goes to a backend ("real") chosen by
 * Maglev and pinned in a connection table, by MAC rewrite (DSR L2), IP-in-IP
 * encapsulation or full NAT; NAT replies are translated back; ICMP echo to
 * a VIP address is answered here. Everything else is passed to the kernel.
 *
 * The pipeline, cheapest exit first:
 *
 *   parse L2/L3 --not IP--> PASS          (lib/parse.h)
 *   lb_vip_filter[daddr] no flag --> PASS (most of what a NIC sees: no lookup)
 *                        not a VIP address --> NAT reply? (lb_nat_rev) or PASS
 *   plain TCP/UDP (no options, fragment, extension header):
 *     lb_vip_filter[service] and lb_vips {daddr, dport, proto, family} --hit--> forward
 *     --miss--> PASS, or (NAT source slot, not a VIP address) NAT reply?
 *   the rest: lb_vips {daddr, 0, 0, family} --miss--> NAT reply? or PASS
 *     VIP address: options / fragment / IPv6 extension --> DROP
 *                  ICMP(v6) echo request --> reply, XDP_TX
 *   forward: lb_conns hit (real ACTIVE, same gen) or Maglev over lb_rings[vip.id]
 *   DSR L2 / NAT (lib/rewrite.h) / IPIP (lib/encap.h)
 *   next hop: cached in lb_real or bpf_fib_lookup (lib/nexthop.h)
 *
 * Every step returns LB_CONTINUE, lb_drop(reason) or LB_VERDICT(action,
 * stat) (lib/verdict.h); lb_done() counts the outcome. The ABI (keys,
 * values, counters) is include/xdproxy/lb.h. No map is pinned here: the
 * control plane (user/bpfctl/lb.c) pins them and reuses pinned ones.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdproxy/lb.h"
#include "lib/verdict.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/rewrite.h"
#include "lib/encap.h"
#include "lib/nexthop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* NAT port reuse: idle ns after which a flow's port may go to another (lb.h). */
#define LB_S_NS(s) ((__u64)(s) * 1000000000ull)
const volatile __u64 nat_timeout_new = LB_S_NS(LB_NAT_TIMEOUT_NEW_S);
const volatile __u64 nat_timeout_tcp = LB_S_NS(LB_NAT_TIMEOUT_TCP_S);
const volatile __u64 nat_timeout_udp = LB_S_NS(LB_NAT_TIMEOUT_UDP_S);
const volatile __u64 nat_timeout_close = LB_S_NS(LB_NAT_TIMEOUT_CLOSE_S);

/* Services {addr, port, proto, family} and VIP addresses {addr, 0, 0, family}. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, struct lb_vip_key);
	__type(value, struct lb_vip);
} lb_vips SEC(".maps");

/*
 * Template of a VIP's Maglev table: [0] = size M, [1..M] = real ids.
 * BPF_F_INNER_MAP lets tables of any size (same flags) be swapped in.
 */
struct lb_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, LB_RING_DEFAULT + 1);
	__type(key, __u32);
	__type(value, __u32);
};

/* vip.id -> its Maglev table, replaced whole by the controller. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, __u32);
	__array(values, struct lb_ring);
} lb_rings SEC(".maps");

/* Backends by id (0 is never used); flags/gen say whether flows may stay. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_REALS);
	__type(key, __u32);
	__type(value, struct lb_real);
} lb_reals SEC(".maps");

/* Client flow -> pinned real (and NAT port); per-CPU LRU lists, one table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, LB_MAX_CONNS);
	__type(key, struct lb_flow);
	__type(value, struct lb_conn);
} lb_conns SEC(".maps");

/* NAT: reply flow as received {real -> lb src:nat port} -> original flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_MAX_NAT);
	__type(key, struct lb_flow);
	__type(value, struct lb_nat);
} lb_nat_rev SEC(".maps");

/* What the program did, by enum lb_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lb_stats SEC(".maps");

/* Why packets were dropped, by enum lb_drop. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lb_drops SEC(".maps");

/* Packets and bytes forwarded (or echo-answered) per vip.id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct lb_counter);
} lb_vip_stats SEC(".maps");

/* Packets and bytes forwarded per real id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_REALS);
	__type(key, __u32);
	__type(value, struct lb_counter);
} lb_real_stats SEC(".maps");

/*
 * Hash slots of VIP addresses, services and NAT sources (lb.h): a clear
 * flag spares the lookup. Written whole by the control plane; only read here.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_vip_filter);
} lb_vip_filter SEC(".maps");

/*
 * Control plane only: {vip id, real id} -> weight, what each table is built
 * from. Never read here; it lives in the object to be pinned with BTF.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lb_member_key);
	__type(value, struct lb_member);
} lb_members SEC(".maps");

static __always_inline void lb_stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&lb_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline void lb_count(void *map, __u32 idx, __u32 len)
{
	struct lb_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

/* The single exit: count the outcome of the pipeline, return the XDP action. */
static __always_inline int lb_done(int v)
{
	if (lb_is_drop(v)) {
		__u32 reason = lb_drop_reason(v);
		__u64 *c = bpf_map_lookup_elem(&lb_drops, &reason);

		if (c)
			*c += 1;
		return XDP_DROP;
	}
	lb_stat_inc(LB_VERDICT_STAT(v));
	return LB_VERDICT_ACT(v);
}

static __always_inline int lb_pass(void)
{
	return LB_VERDICT(XDP_PASS, LB_STAT_PASS);
}

/* L3 length (host order) as the IP header states it. */
static __always_inline __u16 lb_l3_len(const struct lb_pkt *p)
{
	if (p->family == LB_AF_V4)
		return bpf_ntohs(((struct iphdr *)p->l3)->tot_len);
	return bpf_ntohs(((struct ipv6hdr *)p->l3)->payload_len) + sizeof(struct ipv6hdr);
}

static __always_inline int lb_flow_eq(const struct lb_flow *a, const struct lb_flow *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 d = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / sizeof(__u32)); i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* Real id in slot 1 + h % M of the VIP's Maglev table; 0 when none. */
static __always_inline __u32 lb_maglev(__u32 vip_id, __u32 h)
{
	__u32 zero = 0, slot, *m, *id;
	void *ring;

	ring = bpf_map_lookup_elem(&lb_rings, &vip_id);
	if (!ring)
		return 0;
	m = bpf_map_lookup_elem(ring, &zero);
	if (!m || !*m)
		return 0;
	slot = 1 + h % *m;
	id = bpf_map_lookup_elem(ring, &slot);
	return id ? *id : 0;
}

/* lb_nat_rev key of the replies of a flow NATed to r (dport: the NAT port). */
static __always_inline void lb_nat_key(struct lb_flow *k, const struct lb_vip *vip,
				       const struct lb_real *r, const struct lb_flow *f)
{
	__builtin_memcpy(k->src, r->addr, sizeof(k->src));
	__builtin_memcpy(k->dst, vip->src, sizeof(k->dst));
	k->sport = r->port ? r->port : f->dport;
	k->dport = 0;
	k->proto = f->proto;
	k->family = f->family;
	k->_pad[0] = k->_pad[1] = 0;
}

/* TCP header flags byte (offset 13) */
#define LB_TCP_FIN 0x01
#define LB_TCP_SYN 0x02
#define LB_TCP_RST 0x04
#define LB_TCP_ACK 0x10

/* The LB_NAT_S_* bits a packet with TCP flags tcpfl adds (UDP: tcpfl 0). */
static __always_inline __u32 lb_nat_state_of(__u8 tcpfl, bool reply)
{
	__u32 st = reply ? LB_NAT_S_REPLY : 0;

	if (tcpfl & LB_TCP_RST)
		st |= LB_NAT_S_RST;
	if (tcpfl & LB_TCP_FIN)
		st |= reply ? LB_NAT_S_FIN_REV : LB_NAT_S_FIN_FWD;
	return st;
}

/* True once e's flow has been idle for longer than its state allows. */
static __always_inline bool lb_nat_expired(const struct lb_nat *e, __u64 now)
{
	__u32 st = e->state;
	__u64 to;

	if ((st & LB_NAT_S_RST) || (st & LB_NAT_S_CLOSED) == LB_NAT_S_CLOSED)
		to = nat_timeout_close;
	else if (!(st & LB_NAT_S_REPLY))
		to = nat_timeout_new;
	else if (e->orig.proto == IPPROTO_TCP)
		to = nat_timeout_tcp;
	else
		to = nat_timeout_udp;
	return now > e->seen && now - e->seen > to;
}

/*
 * A packet of e's flow went by: refresh 'seen' (at most every
 * LB_NAT_TOUCH_NS) and add the state bits it carries. A SYN from the
 * client starts the flow over (the client reuses its 4-tuple after a
 * close), so a closing state does not let the new connection's port go.
 */
static __always_inline void lb_nat_touch(struct lb_nat *e, __u32 st, __u8 tcpfl, bool reply,
					 __u64 now)
{
	if (!reply && (tcpfl & (LB_TCP_SYN | LB_TCP_ACK | LB_TCP_RST)) == LB_TCP_SYN) {
		if (e->state)
			e->state = 0;
	} else if ((e->state & st) != st) {
		__sync_fetch_and_or(&e->state, st);
	}
	if (now - e->seen >= LB_NAT_TOUCH_NS)
		e->seen = now;
}

/*
 * Reserve a NAT source port for flow f to real id: the first of
 * LB_NAT_PORT_TRIES probes (lb_nat_port) whose lb_nat_rev entry is free,
 * already ours (the flow's lb_conns entry was evicted, not its
 * reservation), or held by a flow idle past its timeout (lb_nat_expired),
 * which is overwritten. Sets c->nat_port.
 *
 * Two CPUs taking over the same expired port for two new flows at once
 * both succeed and the later write wins; the other flow finds the entry
 * not its own on its next packet and moves to another port (lb_nat_keep),
 * so its first SYN is lost and retransmitted.
 */
static __always_inline int lb_nat_reserve(const struct lb_vip *vip, const struct lb_real *r,
					  const struct lb_flow *f, __u32 h, __u8 tcpfl,
					  struct lb_conn *c)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct lb_nat n = {.orig = *f, .real = c->real, .seen = now};
	struct lb_flow k;

	lb_nat_key(&k, vip, r, f);
	for (__u32 i = 0; i < LB_NAT_PORT_TRIES; i++) {
		struct lb_nat *e;

		k.dport = bpf_htons(lb_nat_port(h, i));
		if (!bpf_map_update_elem(&lb_nat_rev, &k, &n, BPF_NOEXIST))
			goto found;
		e = bpf_map_lookup_elem(&lb_nat_rev, &k);
		if (!e)
			continue;
		if (e->real == c->real && lb_flow_eq(&e->orig, f)) {
			lb_nat_touch(e, lb_nat_state_of(tcpfl, false), tcpfl, false, now);
			goto found;
		}
		if (lb_nat_expired(e, now) &&
		    !bpf_map_update_elem(&lb_nat_rev, &k, &n, BPF_EXIST)) {
			lb_stat_inc(LB_STAT_NAT_REUSE);
			goto found;
		}
	}
	return lb_drop(LB_DROP_NAT_PORTS);
found:
	c->nat_port = k.dport;
	return LB_CONTINUE;
}

/*
 * A pinned NAT flow keeps its port while its lb_nat_rev entry is there;
 * if the LRU evicted it, it is put back, and if someone else took the port
 * meanwhile the flow gets a new one (and the pin is updated).
 */
static __always_inline int lb_nat_keep(const struct lb_vip *vip, const struct lb_real *r,
				       const struct lb_flow *f, __u8 tcpfl, struct lb_conn *c)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct lb_nat *e, n;
	struct lb_flow k;
	int v;

	if (c->nat_port) {
		lb_nat_key(&k, vip, r, f);
		k.dport = c->nat_port;
		e = bpf_map_lookup_elem(&lb_nat_rev, &k);
		if (e) {
			if (e->real == c->real && lb_flow_eq(&e->orig, f)) {
				/* the common case */
				lb_nat_touch(e, lb_nat_state_of(tcpfl, false), tcpfl, false, now);
				return LB_CONTINUE;
			}
		} else {
			n = (struct lb_nat){.orig = *f, .real = c->real, .seen = now};
			if (!bpf_map_update_elem(&lb_nat_rev, &k, &n, BPF_NOEXIST))
				return LB_CONTINUE;
		}
	}
	v = lb_nat_reserve(vip, r, f, lb_flow_hash(f), tcpfl, c);
	if (v != LB_CONTINUE)
		return v;
	bpf_map_update_elem(&lb_conns, f, c, BPF_ANY);
	return LB_CONTINUE;
}

/*
 * The real flow f of VIP vip goes to: the one pinned in lb_conns while it
 * is ACTIVE with the same gen (a draining real stays ACTIVE), else Maglev's
 * pick, pinned now. Fills *c and *rp.
 */
static __always_inline int lb_conn_pick(const struct lb_vip *vip, __u8 mode,
					const struct lb_flow *f, __u8 tcpfl, struct lb_conn *c,
					struct lb_real **rp)
{
	__u32 stat = LB_STAT_CONN_NEW;
	struct lb_conn *pinned;
	struct lb_real *r;
	__u32 h, id;
	int v;

	pinned = bpf_map_lookup_elem(&lb_conns, f);
	if (pinned) {
		id = pinned->real;
		r = bpf_map_lookup_elem(&lb_reals, &id);
		if (r && (r->flags & LB_REAL_F_ACTIVE) && r->gen == pinned->gen) {
			if (r->family != f->family)
				return lb_drop(LB_DROP_BAD_FAMILY);
			*c = *pinned;
			*rp = r;
			lb_stat_inc(LB_STAT_CONN_HIT);
			if (mode == LB_MODE_NAT)
				return lb_nat_keep(vip, r, f, tcpfl, c);
			return LB_CONTINUE;
		}
		stat = LB_STAT_CONN_REHASH;
	}

	h = lb_flow_hash(f);
	id = lb_maglev(vip->id, h);
	if (!id)
		return lb_drop(LB_DROP_NO_BACKEND);
	r = bpf_map_lookup_elem(&lb_reals, &id);
	if (!r || !(r->flags & LB_REAL_F_ACTIVE))
		return lb_drop(LB_DROP_NO_BACKEND);
	if (r->family != f->family)
		return lb_drop(LB_DROP_BAD_FAMILY);
	*c = (struct lb_conn){.real = id, .gen = r->gen};
	if (mode == LB_MODE_NAT) {
		v = lb_nat_reserve(vip, r, f, h, tcpfl, c);
		if (v != LB_CONTINUE)
			return v;
	}
	bpf_map_update_elem(&lb_conns, f, c, BPF_ANY);
	lb_stat_inc(stat);
	*rp = r;
	return LB_CONTINUE;
}

/* A TCP/UDP packet for a VIP service: pick the real, rewrite, send. */
static __always_inline int lb_forward(struct xdp_md *ctx, struct lb_pkt *p,
				      const struct lb_vip *vip, const struct lb_flow *f)
{
	__u16 l3_len = lb_l3_len(p);
	__u8 mode = vip->mode; /* read once: the controller may rewrite the entry */
	struct lb_real *r;
	struct lb_conn c;
	__u32 len = p->len;
	__u8 tcpfl;
	int v;

	if (mode < LB_MODE_DSR_L2 || mode > LB_MODE_NAT)
		return lb_pass(); /* not configured (yet): not ours */
	tcpfl = lb_tcp_flags(p);
	v = lb_conn_pick(vip, mode, f, tcpfl, &c, &r);
	if (v != LB_CONTINUE)
		return v;

	if (mode == LB_MODE_DSR_L2) {
		v = lb_nexthop(ctx, p->ifindex, r, f->family, f->src, r->addr, l3_len,
			       LB_NH_DIRECT);
	} else if (mode == LB_MODE_NAT) {
		lb_nat_rewrite(p, vip->src, c.nat_port, r->addr, r->port ? r->port : f->dport);
		v = lb_nexthop(ctx, p->ifindex, r, f->family, vip->src, r->addr, l3_len,
			       LB_NH_ROUTED);
	} else {
		if (f->family == LB_AF_V4) {
			v = lb_encap_ipip4(ctx, p, vip->src[0], r->addr[0]);
			l3_len += sizeof(struct iphdr);
		} else {
			v = lb_encap_ip6ip6(ctx, p, vip->src, r->addr);
			l3_len += sizeof(struct ipv6hdr);
		}
		if (v != LB_CONTINUE)
			return v;
		v = lb_nexthop(ctx, p->ifindex, r, f->family, vip->src, r->addr, l3_len,
			       LB_NH_ROUTED);
	}
	if (!lb_is_drop(v)) {
		lb_count(&lb_vip_stats, vip->id, len);
		lb_count(&lb_real_stats, c.real, len);
	}
	return v;
}

/* ICMP to a VIP address: echo requests are answered, the rest is the kernel's. */
static __always_inline int lb_icmp(struct lb_pkt *p, const struct lb_vip *vip)
{
	const struct lb_icmphdr *icmp;

	if (lb_parse_l4(p))
		return lb_drop(LB_DROP_TRUNCATED);
	icmp = p->l4;
	if (p->family == LB_AF_V4) {
		if (p->proto != IPPROTO_ICMP || icmp->type != LB_ICMP_ECHO)
			return lb_pass();
		lb_echo_reply_v4(p);
	} else {
		if (p->proto != IPPROTO_ICMPV6 || icmp->type != LB_ICMPV6_ECHO)
			return lb_pass();
		lb_echo_reply_v6(p);
	}
	lb_count(&lb_vip_stats, vip->id, p->len);
	return LB_VERDICT(XDP_TX, LB_STAT_ICMP_ECHO);
}

/*
 * Not for a VIP address: a NAT reply (real -> our src:nat port) is
 * translated back to vip:port -> client and sent; everything else passes.
 * IPv4 options are fine here (they are only refused toward VIPs).
 * A truncated or fragmented TCP/UDP packet is not ours to judge: the
 * kernel gets it. fl: the filter flags of the destination address; only
 * a NAT source address can have lb_nat_rev entries.
 */
static __always_inline int lb_not_vip(struct xdp_md *ctx, struct lb_pkt *p, __u8 fl)
{
	struct lb_nat *n;
	struct lb_flow f;
	__u8 tcpfl;

	if (!(fl & LB_FILTER_NAT))
		return lb_pass();
	if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || (p->flags & LB_PKT_F_FRAG))
		return lb_pass();
	/* l4 is set when the caller claimed it already (lb_parse_l4 would claim the next bytes) */
	if (!p->l4 && lb_parse_l4(p))
		return lb_pass();
	/* NAT ports are never below LB_NAT_PORT_MIN: spare the lookup (~25 ns) */
	if (bpf_ntohs(((__be16 *)p->l4)[1]) < LB_NAT_PORT_MIN)
		return lb_pass();
	lb_pkt_flow(p, &f);
	n = bpf_map_lookup_elem(&lb_nat_rev, &f);
	if (!n)
		return lb_pass();
	tcpfl = lb_tcp_flags(p);
	lb_nat_touch(n, lb_nat_state_of(tcpfl, true), tcpfl, true, bpf_ktime_get_coarse_ns());
	lb_nat_rewrite(p, n->orig.dst, n->orig.dport, n->orig.src, n->orig.sport);
	lb_stat_inc(LB_STAT_NAT_REPLY);
	return lb_nexthop(ctx, p->ifindex, NULL, p->family, n->orig.dst, n->orig.src, lb_l3_len(p),
			  LB_NH_ROUTED);
}

/* The flags in a slot of lb_vip_filter; all of them if the map were missing (slow, right). */
static __always_inline __u8 lb_filter_get(const struct lb_vip_filter *vf, __u32 slot)
{
	return vf ? vf->slot[slot & (LB_FILTER_SLOTS - 1)] : LB_FILTER_ALL;
}

static __always_inline int lb_process(struct xdp_md *ctx)
{
	const struct lb_vip_filter *vf;
	struct lb_pkt p = {};
	struct lb_vip_key key;
	struct lb_vip *vip;
	struct lb_flow f;
	__u32 zero = 0;
	__u8 fl;
	int v;

	v = lb_parse(ctx, &p);
	if (v != LB_CONTINUE)
		return v;

	/* An inlined array lookup and one byte: no flag, no VIP and no NAT reply. */
	lb_pkt_daddr(&p, key.addr);
	key.family = p.family;
	vf = bpf_map_lookup_elem(&lb_vip_filter, &zero);
	fl = lb_filter_get(vf, lb_filter_addr(key.addr, key.family));
	if (!(fl & LB_FILTER_ADDR))
		return lb_not_vip(ctx, &p, fl);

	/*
	 * Plain TCP/UDP, the bulk of VIP traffic: the service first, so a
	 * forwarded packet costs one lb_vips lookup. Without a service the
	 * packet passes, as it would after the address-only entry, unless the
	 * address is a NAT source too: then whether it is a VIP address
	 * decides between PASS and the NAT reply path, as below.
	 */
	if ((p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) &&
	    !(p.flags & (LB_PKT_F_OPTIONS | LB_PKT_F_FRAG | LB_PKT_F_EXT)) && !lb_parse_l4(&p)) {
		key.port = ((__be16 *)p.l4)[1];
		key.proto = p.proto;
		if (lb_filter_get(vf, lb_filter_svc(&key)) & LB_FILTER_SVC) {
			vip = bpf_map_lookup_elem(&lb_vips, &key);
			if (vip) {
				lb_pkt_flow(&p, &f);
				return lb_forward(ctx, &p, vip, &f);
			}
		}
		if (!(fl & LB_FILTER_NAT))
			return lb_pass();
		key.port = 0;
		key.proto = 0;
		if (bpf_map_lookup_elem(&lb_vips, &key))
			return lb_pass();
		return lb_not_vip(ctx, &p, fl);
	}

	/*
	 * The rest asks the address-only entry the controller keeps for every
	 * VIP address: options, fragments and extension headers to it are
	 * dropped, ICMP echo answered.
	 */
	key.port = 0;
	key.proto = 0;
	vip = bpf_map_lookup_elem(&lb_vips, &key);
	if (!vip)
		return lb_not_vip(ctx, &p, fl);

	if (p.flags & LB_PKT_F_OPTIONS)
		return lb_drop(LB_DROP_IP_OPTIONS);
	if (p.flags & LB_PKT_F_FRAG)
		return lb_drop(LB_DROP_FRAGMENT);
	if (p.flags & LB_PKT_F_EXT)
		return lb_drop(LB_DROP_IPV6_EXT);
	if (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6)
		return lb_icmp(&p, vip);
	if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP)
		return lb_pass();
	/* plain TCP/UDP only gets here when its header is cut short */
	return lb_drop(LB_DROP_TRUNCATED);
}

SEC("xdp")
int xdp_lb_ingress(struct xdp_md *ctx)
{
	return lb_done(lb_process(ctx));
}
