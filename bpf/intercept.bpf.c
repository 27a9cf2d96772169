// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Transparent interception: outbound TCP connects of the processes in one
 * cgroup go to the local forward proxy, which learns each original
 * destination from intercept_orig. See include/xdproxy/intercept.h for the
 * flow, the loop guards and the counters, docs/ARCHITECTURE.md for the path.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdproxy/intercept.h"

/* Not in the UAPI headers a BPF object may include. */
#define AF_INET	    2
#define AF_INET6    10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The configuration (key 0). A map, not const volatile globals: the proxy
 * changes ports and guards on reload without detaching.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct intercept_cfg);
} intercept_cfg SEC(".maps");

/*
 * Destination ports to intercept (host byte order), unless INTERCEPT_F_ALL_TCP.
 * Twice the limit: a reconfiguration adds the new list before it removes
 * the old one, so no connect in between misses a port both lists have.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * INTERCEPT_PORTS_MAX);
	__type(key, __u16);
	__type(value, __u8);
} intercept_ports SEC(".maps");

/* Socket cookie -> original destination, from connect() until tcp_connect() picks the port. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, INTERCEPT_WAIT_MAX);
	__type(key, __u64);
	__type(value, struct intercept_dst);
} intercept_wait SEC(".maps");

/* Client end as the proxy sees it -> original destination; the proxy takes entries out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, INTERCEPT_ORIG_MAX);
	__type(key, struct intercept_peer);
	__type(value, struct intercept_dst);
} intercept_orig SEC(".maps");

/* Outcome counters by enum intercept_stat, shared with the proxy (see intercept.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, INTERCEPT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} intercept_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&intercept_stats, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

/* A consistent copy of the settings; false if the map is unreadable (never). */
static __always_inline int conf_read(struct intercept_conf *out)
{
	__u32 zero = 0;
	struct intercept_cfg *cfg = bpf_map_lookup_elem(&intercept_cfg, &zero);

	if (!cfg)
		return 0;
	bpf_spin_lock(&cfg->lock);
	*out = cfg->conf;
	bpf_spin_unlock(&cfg->lock);
	return 1;
}

static __always_inline int is_v4mapped(__be32 a0, __be32 a1, __be32 a2)
{
	return a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff);
}

/*
 * Why this connect is left alone, or 0 to redirect it. The guards come
 * first, so that a socket of the proxy is counted as such whatever its
 * destination. v4 tells which proxy the destination would go to (IPv4 and
 * v4-mapped: proxy4), dst is its address (dst[0] for IPv4).
 */
static __always_inline __u32 skip_reason(struct bpf_sock_addr *ctx, const struct intercept_conf *c,
					 int v4, const __be32 dst[4], __be16 dport)
{
	struct bpf_sock *sk = ctx->sk;
	__u16 port = bpf_ntohs(dport);

	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return INTERCEPT_STAT_SKIP_NOT_TCP;
	if (c->netns_cookie && bpf_get_netns_cookie(ctx) != c->netns_cookie)
		return INTERCEPT_STAT_SKIP_NETNS;
	if (c->skip_cgid && bpf_get_current_cgroup_id() == c->skip_cgid)
		return INTERCEPT_STAT_SKIP_CGROUP;
	if (c->skip_mark && sk && sk->mark == c->skip_mark)
		return INTERCEPT_STAT_SKIP_MARK;
	if (v4) {
		if (!c->proxy4_port)
			return INTERCEPT_STAT_SKIP_NO_PROXY;
		if (dst[0] == c->proxy4 && dport == c->proxy4_port)
			return INTERCEPT_STAT_SKIP_PROXY;
	} else {
		if (!c->proxy6_port)
			return INTERCEPT_STAT_SKIP_NO_PROXY;
		if (dst[0] == c->proxy6[0] && dst[1] == c->proxy6[1] && dst[2] == c->proxy6[2] &&
		    dst[3] == c->proxy6[3] && dport == c->proxy6_port)
			return INTERCEPT_STAT_SKIP_PROXY;
	}
	if (!(c->flags & INTERCEPT_F_ALL_TCP) && !bpf_map_lookup_elem(&intercept_ports, &port))
		return INTERCEPT_STAT_SKIP_PORT;
	return 0;
}

/*
 * Remember the original destination until the SYN. If it cannot be
 * remembered the connect is refused (EPERM) rather than sent to the proxy
 * blind or let past it: the proxy's policy must not be bypassed by filling
 * a map. Returns the program's verdict.
 */
static __always_inline int record(struct bpf_sock_addr *ctx, struct intercept_dst *d)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);

	d->pid = bpf_get_current_pid_tgid() >> 32;
	d->cgroup_id = bpf_get_current_cgroup_id();
	if (bpf_map_update_elem(&intercept_wait, &cookie, d, BPF_ANY)) {
		stat_inc(INTERCEPT_STAT_STORE_FAIL);
		return 0;
	}
	stat_inc(INTERCEPT_STAT_REDIRECTED);
	return 1;
}

SEC("cgroup/connect4")
int intercept_connect4(struct bpf_sock_addr *ctx)
{
	struct intercept_dst d = {.family = AF_INET};
	struct intercept_conf c;
	__u32 why;

	stat_inc(INTERCEPT_STAT_CONNECT);
	if (!conf_read(&c))
		return 1;
	d.addr[0] = ctx->user_ip4;
	d.port = (__be16)ctx->user_port;
	why = skip_reason(ctx, &c, 1, d.addr, d.port);
	if (why) {
		stat_inc(why);
		return 1;
	}
	if (!record(ctx, &d))
		return 0;
	ctx->user_ip4 = c.proxy4;
	ctx->user_port = c.proxy4_port;
	return 1;
}

/*
 * IPv6 sockets, including dual-stack ones connecting to ::ffff:a.b.c.d: that
 * connection is IPv4 on the wire and its client end is what an IPv4
 * listener sees, so it goes to the IPv4 proxy (as ::ffff:proxy4) and is
 * recorded as AF_INET.
 */
SEC("cgroup/connect6")
int intercept_connect6(struct bpf_sock_addr *ctx)
{
	struct intercept_dst d = {};
	struct intercept_conf c;
	__u32 why;
	int v4;

	stat_inc(INTERCEPT_STAT_CONNECT);
	if (!conf_read(&c))
		return 1;
	d.addr[0] = ctx->user_ip6[0];
	d.addr[1] = ctx->user_ip6[1];
	d.addr[2] = ctx->user_ip6[2];
	d.addr[3] = ctx->user_ip6[3];
	d.port = (__be16)ctx->user_port;
	v4 = is_v4mapped(d.addr[0], d.addr[1], d.addr[2]);
	if (v4) {
		d.family = AF_INET;
		d.addr[0] = d.addr[3];
		d.addr[1] = d.addr[2] = d.addr[3] = 0;
	} else {
		d.family = AF_INET6;
	}
	why = skip_reason(ctx, &c, v4, d.addr, d.port);
	if (why) {
		stat_inc(why);
		return 1;
	}
	if (!record(ctx, &d))
		return 0;
	if (v4) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = c.proxy4;
		ctx->user_port = c.proxy4_port;
	} else {
		ctx->user_ip6[0] = c.proxy6[0];
		ctx->user_ip6[1] = c.proxy6[1];
		ctx->user_ip6[2] = c.proxy6[2];
		ctx->user_ip6[3] = c.proxy6[3];
		ctx->user_port = c.proxy6_port;
	}
	return 1;
}

/*
 * TCP_CONNECT_CB runs in tcp_connect(), after the source port is bound and
 * before the SYN is sent, so the entry is in intercept_orig before the
 * proxy can accept the connection. No callback flags are needed for it.
 */
SEC("sockops")
int intercept_sockops(struct bpf_sock_ops *skops)
{
	struct intercept_peer key = {};
	struct intercept_dst *d;
	__u64 cookie;

	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	cookie = bpf_get_socket_cookie(skops);
	d = bpf_map_lookup_elem(&intercept_wait, &cookie);
	if (!d) {
		stat_inc(INTERCEPT_STAT_UNTRACKED);
		return 1;
	}
	if (skops->family == AF_INET6) {
		__be32 a0 = skops->local_ip6[0], a1 = skops->local_ip6[1];
		__be32 a2 = skops->local_ip6[2], a3 = skops->local_ip6[3];

		if (is_v4mapped(a0, a1, a2)) {
			key.family = AF_INET;
			key.addr[0] = a3;
		} else {
			key.family = AF_INET6;
			key.addr[0] = a0;
			key.addr[1] = a1;
			key.addr[2] = a2;
			key.addr[3] = a3;
		}
	} else {
		key.family = AF_INET;
		key.addr[0] = skops->local_ip4;
	}
	key.port = bpf_htons((__u16)skops->local_port); /* local_port is host order */
	if (bpf_map_update_elem(&intercept_orig, &key, d, BPF_ANY))
		stat_inc(INTERCEPT_STAT_TRACK_FAIL);
	else
		stat_inc(INTERCEPT_STAT_TRACKED);
	bpf_map_delete_elem(&intercept_wait, &cookie);
	return 1;
}
