/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI of the sockmap splice path, shared by bpf/sk_splice.bpf.c and
 * user/bpfctl. Fixed-width types and explicit padding only; every struct's
 * size is asserted so the two sides cannot drift.
 *
 * A spliced TCP connection owns two slots, 2k (client) and 2k+1 (backend);
 * a slot's peer is slot ^ 1. Slot s's splice_dir describes the direction
 * "bytes received on socket s are sent on its peer".
 */
#ifndef XDPROXY_SPLICE_H
#define XDPROXY_SPLICE_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <assert.h>
#endif

/* splice_dir.flags, written by userspace */
#define SPLICE_F_ARMED	(1u << 0)	/* both sockets are in splice_socks */
#define SPLICE_F_INJECTOR (1u << 1)	/* the controller's injector socket */

/*
 * Per-direction state, in an mmap()able array so the controller reads the
 * kernel's counters and writes its controls without syscalls.
 *
 * Flow control (the kernel has none for redirected skbs, KERNEL-NOTES
 * sockmap 1): the program redirects an skb only while
 *     ARMED && pending == 0 && fwd_bytes + len <= credit
 * and otherwise passes it to the socket's own queue, where it is charged to
 * the receive buffer so the TCP window closes. 'pending' counts bytes passed
 * to userspace and not yet written to the peer by it (plus hold tokens the
 * controller takes), so a redirect can never overtake passed data.
 */
struct splice_dir {
	/* written by BPF only (one writer: the socket's verdict runs under its lock) */
	__u64 fwd_bytes;	/* bytes redirected to the peer */
	__u64 fwd_skbs;
	__u64 pass_bytes;	/* bytes passed to userspace */
	__u64 fin_drops;	/* zero-length FIN skbs dropped (KERNEL-NOTES sockmap 4) */
	__u64 trim_bytes;	/* repeated bytes cut from skb heads (see rcv_seq) */
	__u32 trim_skbs;
	/*
	 * TCP sequence number one past the last byte the verdict saw on this
	 * socket. tcp_read_skb() hands the verdict whole skbs, and TCP queues
	 * a segment that overlaps bytes already received (a retransmission
	 * with other boundaries) whole; readers of the socket skip the
	 * overlap by sequence number, the verdict must do the same, or the
	 * overlap is delivered twice (KERNEL-NOTES sockmap 2).
	 */
	__u32 rcv_seq;
	__u32 rcv_seq_valid;	/* rcv_seq was set by a first skb */
	__u32 _pad0[3];		/* keep the user half on its own cache line */
	/* shared: atomically added by BPF, atomically subtracted by userspace */
	__u64 pending;
	/* written by userspace only */
	__u64 credit;		/* redirect while fwd_bytes + len <= credit */
	__u64 notify_at;	/* report SPLICE_EV_CREDIT when fwd_bytes crosses this */
	__u32 peer;		/* slot of the peer socket */
	__u32 flags;		/* SPLICE_F_* */
	__u64 _pad1[4];
};

/* Events in the splice_events ring buffer. */
enum splice_ev_kind {
	SPLICE_EV_PASS = 1,	/* first byte passed to userspace after none pending */
	SPLICE_EV_CREDIT = 2,	/* fwd_bytes crossed notify_at: refresh credit */
	SPLICE_EV_BROKEN = 3,	/* a repeated range could not be cut: reset the connection */
};

struct splice_event {
	__u32 slot;
	__u32 kind;		/* enum splice_ev_kind */
};

/* Per-CPU counters of what the verdict program decided (xdproxy stats). */
enum splice_stat {
	SPLICE_STAT_REDIRECT = 0,	/* skbs redirected to the peer */
	SPLICE_STAT_REDIRECT_BYTES,
	SPLICE_STAT_PASS_UNARMED,	/* passed: pair not armed yet */
	SPLICE_STAT_PASS_PENDING,	/* passed: userspace still holds passed data */
	SPLICE_STAT_PASS_CREDIT,	/* passed: flow-control credit exhausted */
	SPLICE_STAT_PASS_BYTES,
	SPLICE_STAT_REDIRECT_FAIL,	/* peer missing from splice_socks: passed */
	SPLICE_STAT_NO_SLOT,		/* socket unknown to splice_cookies: passed */
	SPLICE_STAT_DROP_FIN,		/* zero-length skb dropped */
	SPLICE_STAT_EV_LOST,		/* ring buffer full */
	SPLICE_STAT_INJECT,		/* skbs the controller injected into a peer's queue */
	SPLICE_STAT_INJECT_BYTES,
	SPLICE_STAT_TRIM,		/* skbs that began with bytes already seen: head cut */
	SPLICE_STAT_TRIM_BYTES,		/* ... bytes cut */
	SPLICE_STAT_TRIM_FAIL,		/* ... and could not be cut: dropped, connection reset */
	SPLICE_STAT_SEQ_GAP,		/* skb began after rcv_seq (never expected): resynced */
	SPLICE_STAT_MAX,
};

#ifndef __BPF__
static_assert(sizeof(struct splice_dir) == 128, "splice_dir ABI");
static_assert(sizeof(struct splice_event) == 8, "splice_event ABI");
#else
_Static_assert(sizeof(struct splice_dir) == 128, "splice_dir ABI");
_Static_assert(sizeof(struct splice_event) == 8, "splice_event ABI");
#endif

#endif
