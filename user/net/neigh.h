/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Next-hop resolver over raw NETLINK_ROUTE sockets: what `ip route get`
 * and `ip neigh get` say about an address, reduced to what an XDP program
 * needs to forward a frame without bpf_fib_lookup() (lb_real's cached next
 * hop): the output interface, the next hop's MAC and the interface's MAC.
 *
 * The answer is a snapshot of the kernel's routing and neighbour tables in
 * the caller's network namespace, as the host itself would send (an output
 * route lookup: policy rules keyed on the input interface are not seen).
 * Whoever caches it must resolve again when the tables may have changed.
 */
#ifndef XDP_NET_NEIGH_H
#define XDP_NET_NEIGH_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "xdproxy/lb.h"

/* Longest wait neigh_resolve accepts: a controller must never hang on ARP. */
#define NEIGH_TIMEOUT_MAX_MS 10000

struct neigh_hop {
	int ifindex;	   /* output interface (ARPHRD_ETHER) */
	uint8_t dmac[6];   /* link-layer address of the next hop */
	uint8_t smac[6];   /* link-layer address of ifindex */
	__be32 gw[4];	   /* the next hop: the gateway when via_gw, else the address */
	bool via_gw;	   /* the route goes through a gateway */
	uint8_t gw_family; /* LB_AF_V4 / LB_AF_V6 of gw: differs from the address's
			    * only for an IPv4 route via an IPv6 gateway (RTA_VIA) */
};

/*
 * Resolve the next hop toward addr (family LB_AF_V4 or LB_AF_V6, layout of
 * include/xdproxy/lb.h: IPv4 in addr[0]).
 *
 * When the next hop's neighbour entry is in a valid state (REACHABLE,
 * STALE, DELAY, PROBE, PERMANENT, NOARP) this answers at once. Otherwise it
 * asks the kernel to resolve it (RTM_NEWNEIGH with NTF_USE, the same as a
 * packet waiting for ARP / neighbour discovery would) and re-reads the
 * entry until it is valid, it fails, or timeout_ms (0..NEIGH_TIMEOUT_MAX_MS;
 * 0: start resolution, do not wait) has passed. A STALE entry is used as
 * it is and the kernel is asked to confirm it, so a later call sees
 * whether the neighbour still answers.
 *
 * Returns 0 and fills *out, or:
 *   -EINVAL         bad family, NULL pointer, timeout out of range
 *   -EHOSTUNREACH   no route (or an unreachable, prohibit, blackhole route)
 *   -EADDRNOTAVAIL  the address is local, or routed to a loopback device
 *   -EOPNOTSUPP     the output interface is not Ethernet (6-byte addresses)
 *   -EAGAIN         the neighbour is still unresolved at the deadline
 *   other -errno    netlink failed (-EPROTO: a reply that makes no sense)
 * *out is written only on success. Thread-safe: every call has its own socket.
 */
int neigh_resolve(uint8_t family, const __be32 addr[4], struct neigh_hop *out, int timeout_ms);

#endif
