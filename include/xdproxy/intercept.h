/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI of transparent interception, shared by bpf/intercept.bpf.c and
 * user/bpfctl/intercept.c. Fixed-width types and explicit padding only;
 * every key and value size is asserted so the two sides cannot drift.
 *
 * Three programs sit on one cgroup (v2) and see only the sockets of the
 * processes in it and below it:
 *
 *   connect() ──> intercept_connect4/6 (cgroup/connect4, cgroup/connect6)
 *                   TCP to an intercepted port: intercept_wait[cookie] = dst,
 *                   destination rewritten to the proxy
 *             ──> tcp_connect() assigns the source port, then
 *                 intercept_sockops (BPF_SOCK_OPS_TCP_CONNECT_CB, before
 *                   the SYN leaves): intercept_orig[{src addr, src port}] = dst
 *   proxy: accept() ──> getpeername() = {src addr, src port}
 *                   ──> takes intercept_orig[peer] out (lookup and delete)
 *
 * The source port is only known once tcp_connect() runs, hence the two
 * steps; both maps are LRU so entries that are never taken (a connect that
 * fails before its SYN, a proxy that never accepts) cannot fill them.
 *
 * Loops. The proxy's own outbound connections must never come back to it.
 * The main guard is where the programs are attached: the chosen cgroup
 * only, and the proxy runs outside it (user/bpfctl refuses to attach to a
 * cgroup that holds the caller unless the caller's cgroup is skipped).
 * Three more guards, in the configuration:
 *   - skip_cgid: connect() calls made by a task of exactly this cgroup are
 *     left alone: the proxy's own cgroup, when it must live inside the
 *     intercepted subtree;
 *   - skip_mark: sockets carrying this SO_MARK are left alone, for a
 *     proxy that marks its upstream sockets;
 *   - netns_cookie: only sockets of this network namespace are redirected,
 *     because the proxy address means nothing in another one (a container
 *     in the cgroup with a namespace of its own).
 * A connect() to the proxy's own address and port is never "intercepted"
 * (counted as INTERCEPT_STAT_SKIP_PROXY).
 */
#ifndef XDPROXY_INTERCEPT_H
#define XDPROXY_INTERCEPT_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */
#ifndef __BPF__
#include <assert.h>
#define INTERCEPT_ASSERT static_assert
#else
#define INTERCEPT_ASSERT _Static_assert
#endif

#define INTERCEPT_PORTS_MAX 256	  /* ports in one configuration */
#define INTERCEPT_WAIT_MAX  16384 /* connects between connect() and their SYN */
#define INTERCEPT_ORIG_MAX  65536 /* connections the proxy has not accepted yet */

/* intercept_conf.flags */
#define INTERCEPT_F_ALL_TCP (1u << 0) /* every destination port; intercept_ports unused */

/*
 * The settings, copied whole under intercept_cfg.lock by the programs so a
 * connect() racing a reconfiguration sees the old or the new, never a mix.
 * Addresses and ports in network byte order; a zero port means "no proxy
 * for this family": such connects are left alone.
 */
struct intercept_conf {
	__be32 proxy6[4];   /* IPv6 proxy address (never v4-mapped) */
	__be32 proxy4;	    /* IPv4 proxy address; also the target of v4-mapped connects */
	__be16 proxy4_port; /* 0: no IPv4 proxy */
	__be16 proxy6_port; /* 0: no IPv6 proxy */
	__u32 flags;	    /* INTERCEPT_F_* */
	__u32 skip_mark;    /* sockets with this SO_MARK are left alone; 0: none */
	__u64 skip_cgid;    /* connects by tasks of this cgroup are left alone; 0: none */
	__u64 netns_cookie; /* only sockets of this network namespace; 0: any */
};

/* The one value of the intercept_cfg array (key 0). */
struct intercept_cfg {
	struct bpf_spin_lock lock; /* userspace writes with BPF_F_LOCK */
	__u32 _pad;
	struct intercept_conf conf;
};

/*
 * Key of intercept_orig: the client's end of an intercepted connection as
 * the proxy sees it from getpeername(). IPv4 and v4-mapped IPv6 peers are
 * both stored as AF_INET with the address in addr[0], the rest zero.
 */
struct intercept_peer {
	__be32 addr[4];
	__be16 port;
	__u16 family; /* AF_INET or AF_INET6 */
};

/*
 * An original destination, the value of intercept_wait and intercept_orig.
 * A v4-mapped destination of an IPv6 socket is stored as AF_INET. IPv6
 * scope ids are not known to the connect hook and not kept.
 */
struct intercept_dst {
	__be32 addr[4]; /* IPv4: addr[0] */
	__be16 port;
	__u16 family;	 /* AF_INET or AF_INET6 */
	__u32 pid;	 /* tgid that called connect() */
	__u64 cgroup_id; /* that task's cgroup (v2) */
};

/*
 * Outcome counters, indices of intercept_stats. Every connect() the
 * programs see ends in exactly one of REDIRECTED, STORE_FAIL or a SKIP_*,
 * so CONNECT is their sum; every TCP connect that reaches its SYN ends in
 * one of TRACKED, TRACK_FAIL or UNTRACKED. The LOOKUP_* counters are added
 * by the proxy (user/bpfctl) when it takes an entry out.
 *
 * intercept_stats is a plain array updated atomically, not a per-CPU one as
 * elsewhere: it counts connects, not packets, so contention is nil, and a
 * shared mmap()able array is what lets the proxy add its lookups from any
 * process while `bpftool map dump` shows one number per outcome.
 */
enum intercept_stat {
	INTERCEPT_STAT_CONNECT = 0,   /* connect() calls seen (sum of the next 9) */
	INTERCEPT_STAT_REDIRECTED,    /* sent to the proxy, destination recorded */
	INTERCEPT_STAT_STORE_FAIL,    /* intercept_wait update failed: connect() refused (EPERM) */
	INTERCEPT_STAT_SKIP_NOT_TCP,  /* UDP, raw, MPTCP... */
	INTERCEPT_STAT_SKIP_NETNS,    /* socket of another network namespace */
	INTERCEPT_STAT_SKIP_CGROUP,   /* caller's cgroup is skip_cgid */
	INTERCEPT_STAT_SKIP_MARK,     /* socket carries skip_mark */
	INTERCEPT_STAT_SKIP_NO_PROXY, /* no proxy configured for the family */
	INTERCEPT_STAT_SKIP_PROXY,    /* destination is the proxy itself */
	INTERCEPT_STAT_SKIP_PORT,     /* destination port not intercepted */
	INTERCEPT_STAT_TRACKED,	      /* SYN: entry moved to intercept_orig */
	INTERCEPT_STAT_TRACK_FAIL,    /* SYN: intercept_orig update failed, proxy will miss */
	INTERCEPT_STAT_UNTRACKED,     /* SYN of a connect that was not redirected */
	INTERCEPT_STAT_LOOKUP_HIT,    /* proxy took an original destination */
	INTERCEPT_STAT_LOOKUP_MISS,   /* proxy found none for a peer */
	INTERCEPT_STAT_MAX,
};

INTERCEPT_ASSERT(sizeof(struct intercept_conf) == 48, "intercept_conf ABI");
INTERCEPT_ASSERT(sizeof(struct intercept_cfg) == 56, "intercept_cfg ABI");
INTERCEPT_ASSERT(sizeof(struct intercept_peer) == 20, "intercept_peer ABI");
INTERCEPT_ASSERT(sizeof(struct intercept_dst) == 32, "intercept_dst ABI");

#endif
