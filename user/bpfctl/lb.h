/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Control plane of the XDP load balancer (bpf/xdp_lb.bpf.c): the only code
 * that loads it, attaches it and writes its maps. See include/xdproxy/lb.h
 * for the maps and their meaning.
 *
 * All state lives in maps pinned under one directory (default
 * /sys/fs/bpf/xdproxy), so every CLI invocation is stateless: it opens the
 * pins, changes them and exits, and the attached program keeps forwarding.
 * Besides the datapath's maps, lb_members ({vip id, real id} -> weight)
 * records what each VIP's Maglev table is built from, so any invocation can
 * rebuild a table.
 */
#ifndef XDP_BPFCTL_LB_H
#define XDP_BPFCTL_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xdproxy/lb.h"

#define LB_PIN_DEFAULT "/sys/fs/bpf/xdproxy"

struct lb_ctl;

/* lb_ctl_open flags */
#define LB_CTL_CREATE (1u << 0) /* load the program; create and pin maps that are missing */
/*
 * Hold an exclusive flock on the pin directory until lb_ctl_close: for
 * commands that change the state, so that two of them at once cannot
 * interleave their read-modify-write steps (ids, tables, the filter).
 * Readers (status, list, stats) take no lock and see each map entry whole.
 */
#define LB_CTL_LOCK (1u << 1)

/*
 * Open the LB state pinned under pin_dir (NULL: LB_PIN_DEFAULT). Without
 * LB_CTL_CREATE every map must already be pinned (-ENOENT otherwise: nothing
 * was ever attached with that pin directory). With it, the program is loaded
 * (reusing whatever maps are pinned, pinning the rest) so lb_ctl_attach can
 * attach it. NULL with errno set; a log line says what failed.
 */
struct lb_ctl *lb_ctl_open(const char *pin_dir, unsigned int flags);
/* Accepts NULL. Never detaches or unpins anything. */
void lb_ctl_close(struct lb_ctl *ctl);

enum lb_attach_mode {
	LB_ATTACH_NATIVE = 0,
	LB_ATTACH_GENERIC,
};

/*
 * Attach the loaded program (lb_ctl_open with LB_CTL_CREATE) to ifindex
 * through libxdp, replacing an older xdp_lb_ingress there. *legacy is set
 * when libxdp had to fall back to a plain attach (no multi-program
 * dispatcher: this kernel lacks BPF_PROG_TYPE_EXT). 0 or -errno (-EEXIST:
 * another XDP program that is not ours holds the interface).
 */
int lb_ctl_attach(struct lb_ctl *ctl, int ifindex, enum lb_attach_mode mode, bool *legacy);
/* Remove our program from ifindex; -ENOENT when it is not attached there. */
int lb_ctl_detach(int ifindex);

/* What is attached to ifindex, for status. */
struct lb_ifstatus {
	uint32_t prog_id;  /* 0: no XDP program */
	bool ours;	   /* the program is xdp_lb_ingress */
	bool legacy;	   /* attached without libxdp's dispatcher */
	const char *mode;  /* "native", "generic", "offload", "-" */
};
int lb_ctl_ifstatus(int ifindex, struct lb_ifstatus *st);

/*
 * VIPs. A VIP is its key {addr, port, proto, family}; adding one that
 * exists updates mode/src/table size and rebuilds its table. table_size 0
 * keeps the current size (LB_RING_DEFAULT for a new VIP). Deleting a VIP
 * removes its table, its address-only entry when no other VIP uses the
 * address, and its memberships (reals used by nothing else are removed).
 * Both keep lb_vip_filter in step with lb_vips (flags set before an entry
 * goes in, recounted after one goes out or changes); lb_ctl_open with
 * LB_CTL_CREATE recounts it too. -EADDRINUSE: a NAT source would be a VIP
 * address (the new VIP's source is one, or its address is another NAT
 * VIP's source).
 */
int lb_ctl_vip_set(struct lb_ctl *ctl, const struct lb_vip_key *key, uint8_t mode,
		   const __be32 src[4], uint32_t table_size);
int lb_ctl_vip_del(struct lb_ctl *ctl, const struct lb_vip_key *key);

/*
 * Backends of a VIP. Adding an existing one changes its weight (0 keeps it
 * out of the table, like drain, but for this VIP only). Every {VIP,
 * backend} pair is a real of its own, so removing a backend from one VIP
 * (flags cleared, gen bumped) re-hashes exactly that VIP's connections to
 * it. Each change rebuilds the VIP's table and swaps it in atomically.
 */
int lb_ctl_backend_set(struct lb_ctl *ctl, const struct lb_vip_key *vip, uint8_t family,
		       const __be32 addr[4], __be16 port, uint32_t weight);
int lb_ctl_backend_del(struct lb_ctl *ctl, const struct lb_vip_key *vip, uint8_t family,
		       const __be32 addr[4], __be16 port);
/*
 * Drain (on) or restore a backend in every VIP: out of every table, existing
 * connections keep going. -ENOENT when no real has that address (and port,
 * when port != 0).
 */
int lb_ctl_backend_drain(struct lb_ctl *ctl, uint8_t family, const __be32 addr[4], __be16 port,
			 bool on);
/*
 * Resolve again the next hop cached in every ACTIVE real (lb.h: ifindex,
 * dmac, smac; filled when a real is added) and update those that changed;
 * one that no longer resolves is cleared, so the datapath falls back to
 * bpf_fib_lookup(). For after route, neighbour or backend MAC changes: the
 * cache is a snapshot and the datapath's traffic never refreshes it. Unknown
 * neighbours are all resolved at once, with one wait of at most ~300 ms.
 * Returns the number of reals whose cache changed, or -errno.
 */
int lb_ctl_refresh_hops(struct lb_ctl *ctl);

/* Iteration, for list and status. Callbacks return 0 to go on. */
struct lb_vip_info {
	struct lb_vip_key key;
	struct lb_vip vip;
	uint32_t table_size;  /* 0: no table */
	uint32_t n_backends;
	struct lb_counter ctr; /* summed over CPUs */
};
struct lb_backend_info {
	uint32_t id;
	struct lb_real real;
	uint32_t weight;	/* in this VIP */
	uint32_t slots;		/* Maglev slots it holds in this VIP's table */
	struct lb_counter ctr;
};
int lb_ctl_vip_foreach(struct lb_ctl *ctl, int (*fn)(void *arg, const struct lb_vip_info *vi),
		       void *arg);
int lb_ctl_backend_foreach(struct lb_ctl *ctl, const struct lb_vip_key *vip,
			   int (*fn)(void *arg, const struct lb_backend_info *bi), void *arg);

/* Per-CPU counters summed: stats[LB_STAT_MAX], drops[LB_DROP_MAX]. */
int lb_ctl_stats(struct lb_ctl *ctl, uint64_t *stats, uint64_t *drops);

/*
 * The NAT reservations in lb_nat_rev by state (LB_NAT_S_*), and how many of
 * them are idle past their timeout at the default lb.h timeouts: those
 * ports are free for the next flow that probes them.
 */
struct lb_nat_census {
	uint64_t total;
	uint64_t unanswered;  /* no reply from the real yet */
	uint64_t established; /* replied, no FIN or RST */
	uint64_t closing;     /* FIN one way */
	uint64_t closed;      /* FIN both ways, or RST */
	uint64_t expired;     /* of all the above: idle past the timeout */
};
/* Walks lb_nat_rev (up to LB_MAX_NAT entries; about a second when full). */
int lb_ctl_nat_census(struct lb_ctl *ctl, struct lb_nat_census *c);

/* Names for counters and modes ("tx", "ip_options", "dsr-l2", ...). */
const char *lb_stat_name(unsigned int i);
const char *lb_drop_name(unsigned int i);
const char *lb_mode_name(unsigned int mode);
int lb_mode_parse(const char *s, uint8_t *mode);

/* "198.18.0.10:80", "[2001:db8::10]:80": family + addr from lb.h. */
int lb_addr_parse(const char *s, uint8_t *family, __be32 addr[4], __be16 *port);
/* Format addr (and port when non-zero) into buf. */
const char *lb_addr_fmt(uint8_t family, const __be32 addr[4], __be16 port, char *buf,
			size_t len);

#endif
