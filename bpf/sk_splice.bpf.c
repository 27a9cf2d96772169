// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kernel splice of established TCP connections (sockmap, sk_skb).
 *
 * Both sockets of a connection sit in splice_socks under slots s and s^1.
 * The stream verdict moves each received skb to the peer's egress queue
 * when the controller has armed the pair and granted credit, and passes it
 * to the controller otherwise. See include/xdproxy/splice.h for the
 * protocol and docs/ARCHITECTURE.md for the splice path.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdproxy/splice.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sockets of spliced connections, keyed by slot; the redirect target. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 32768);	/* set by the loader: 2 * max_conns */
	__type(key, __u32);
	__type(value, __u64);
} splice_socks SEC(".maps");

/*
 * The controller's injector socket (AF_UNIX), apart from splice_socks so
 * that walking splice_socks sees connections only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} splice_inject SEC(".maps");

/* socket cookie -> slot, so the verdict finds its own direction state. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, __u32);
} splice_cookies SEC(".maps");

/* Per-direction counters and controls, mmap()ed by the controller. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct splice_dir);
} splice_dirs SEC(".maps");

/* Wake-ups for the controller: passed data to relay, credit to refresh. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} splice_events SEC(".maps");

/* Verdict counters by enum splice_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SPLICE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} splice_stats SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&splice_stats, &idx);

	if (c)
		*c += v;
}

static __always_inline void notify(__u32 slot, __u32 kind)
{
	struct splice_event ev = { .slot = slot, .kind = kind };

	if (bpf_ringbuf_output(&splice_events, &ev, sizeof(ev), 0))
		stat_add(SPLICE_STAT_EV_LOST, 1);
}

/*
 * The kernel's sk_buff, only as far as we read it (CO-RE): TCP keeps its
 * per-skb state in cb[], and struct tcp_skb_cb starts with 'seq'.
 */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct sk_buff___splice {
	char cb[48];
} __attribute__((preserve_access_index));

#define TRIM_CHUNK	4095u	/* most bpf_skb_adjust_room() cuts per call (sk_skb) */
#define TRIM_MAX_CALLS	1024	/* 4 MiB: more than any skb TCP queues */

struct trim_ctx {
	struct __sk_buff *skb;
	__u32 left;		/* bytes still to cut */
	__u32 err;
};

static long trim_step(__u64 i, void *data)
{
	struct trim_ctx *tc = data;
	__u32 chunk = tc->left < TRIM_CHUNK ? tc->left : TRIM_CHUNK;

	(void)i;
	if (!chunk)
		return 1;
	if (bpf_skb_adjust_room(tc->skb, -(__s32)chunk, 0, 0)) {
		tc->err = 1;
		return 1;
	}
	tc->left -= chunk;
	return 0;
}

/*
 * Cut from the head of a TCP skb the bytes this socket already delivered.
 *
 * The verdict is fed by tcp_read_skb(), which takes whole skbs off the
 * receive queue and ignores their sequence numbers. A retransmitted segment
 * may begin with bytes the receiver already has (seq < rcv_nxt < end_seq:
 * e.g. a multi-MSS GSO retransmit sent before the ACK for its head came
 * back; about one in 100 full-duplex 100 MiB transfers on loopback here).
 * tcp_data_queue() queues such a segment whole ("partial packet"), as
 * tcp_ofo_queue() does an out-of-order skb overlapping the one before it;
 * recvmsg() and tcp_read_sock() skip the overlap by sequence number,
 * tcp_read_skb() does not. Without this cut the overlap is redirected or
 * passed a second time (KERNEL-NOTES sockmap 2: 1, 2 or 4 x 65,483 bytes).
 * Cutting here also keeps the kernel's copied_seq in step with rcv_nxt,
 * since tcp_eat_skb() and recvmsg count skb->len.
 *
 * Returns 0: deliver the skb (now holding only new bytes); 1: nothing in it
 * is new, drop it; -1: the repeated bytes could not be cut.
 */
static __always_inline int trim_repeated(struct __sk_buff *skb, struct splice_dir *d)
{
	const struct sk_buff___splice *k = bpf_cast_to_kern_ctx(skb);
	__u32 seq = *(const __u32 *)&k->cb[0];	/* TCP_SKB_CB(skb)->seq */
	__u32 len = skb->len, rep;
	struct trim_ctx tc;
	__s32 ahead;

	if (!d->rcv_seq_valid) {
		/* First skb: nothing was read from this socket before insertion. */
		d->rcv_seq = seq + len;
		d->rcv_seq_valid = 1;
		return 0;
	}
	ahead = (__s32)(d->rcv_seq - seq);
	if (ahead <= 0) {
		if (ahead < 0)
			stat_add(SPLICE_STAT_SEQ_GAP, 1);
		d->rcv_seq = seq + len;
		return 0;
	}
	rep = (__u32)ahead;
	stat_add(SPLICE_STAT_TRIM, 1);
	d->trim_skbs++;
	if (rep >= len) {
		/*
		 * Nothing new. Empty it if we can, so that tcp_eat_skb() does
		 * not count it as read; dropped either way.
		 */
		d->trim_bytes += len;
		stat_add(SPLICE_STAT_TRIM_BYTES, len);
		bpf_skb_change_tail(skb, 0, 0);
		return 1;
	}
	/* bpf_skb_adjust_room() cuts only linear data, at most 4095 bytes a call. */
	if (bpf_skb_pull_data(skb, rep))
		return -1;
	tc.skb = skb;
	tc.left = rep;
	tc.err = 0;
	bpf_loop(TRIM_MAX_CALLS, trim_step, &tc, 0);
	if (tc.err || tc.left)
		return -1;
	d->trim_bytes += rep;
	stat_add(SPLICE_STAT_TRIM_BYTES, rep);
	d->rcv_seq = seq + len;
	return 0;
}

SEC("sk_skb/stream_verdict")
int sk_splice_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct splice_dir *d;
	__u32 len = skb->len;
	__u32 *slotp, slot;
	__u64 old;

	/*
	 * The zero-length skb carrying FIN must not be redirected or passed
	 * behind redirected data: the peer would get EPIPE. Dropped, recv()
	 * returns 0 and EPOLLRDHUP tells the controller (KERNEL-NOTES 4).
	 */
	if (len == 0) {
		stat_add(SPLICE_STAT_DROP_FIN, 1);
		return SK_DROP;
	}
	slotp = bpf_map_lookup_elem(&splice_cookies, &cookie);
	if (!slotp) {
		stat_add(SPLICE_STAT_NO_SLOT, 1);
		return SK_PASS;
	}
	slot = *slotp;
	d = bpf_map_lookup_elem(&splice_dirs, &slot);
	if (!d) {
		stat_add(SPLICE_STAT_NO_SLOT, 1);
		return SK_PASS;
	}
	/* TCP sockets only: the injector's AF_UNIX skbs carry no sequence. */
	if (!(d->flags & SPLICE_F_INJECTOR)) {
		int t = trim_repeated(skb, d);

		if (t < 0) {
			/*
			 * Neither passing nor redirecting is correct now:
			 * have the controller reset the connection.
			 */
			stat_add(SPLICE_STAT_TRIM_FAIL, 1);
			notify(slot, SPLICE_EV_BROKEN);
			return SK_DROP;
		}
		len = skb->len;
		if (t > 0 || len == 0)
			return SK_DROP;
	}

	if (!(d->flags & SPLICE_F_ARMED)) {
		stat_add(SPLICE_STAT_PASS_UNARMED, 1);
	} else if (*(volatile __u64 *)&d->pending) {
		stat_add(SPLICE_STAT_PASS_PENDING, 1);
	} else if (d->fwd_bytes + len > d->credit) {
		stat_add(SPLICE_STAT_PASS_CREDIT, 1);
	} else {
		__u32 peer = d->peer;

		if (bpf_sk_redirect_hash(skb, &splice_socks, &peer, 0) == SK_PASS) {
			old = d->fwd_bytes;
			d->fwd_bytes = old + len;
			d->fwd_skbs++;
			if (d->flags & SPLICE_F_INJECTOR) {
				stat_add(SPLICE_STAT_INJECT, 1);
				stat_add(SPLICE_STAT_INJECT_BYTES, len);
				return SK_PASS;
			}
			stat_add(SPLICE_STAT_REDIRECT, 1);
			stat_add(SPLICE_STAT_REDIRECT_BYTES, len);
			if (old < d->notify_at && old + len >= d->notify_at)
				notify(slot, SPLICE_EV_CREDIT);
			return SK_PASS;
		}
		/* Peer not in the map (being torn down): keep the bytes. */
		stat_add(SPLICE_STAT_REDIRECT_FAIL, 1);
	}

	/*
	 * Pass to our own queue. The controller relays it and subtracts what
	 * it wrote; the first byte after 'pending' was zero wakes it.
	 */
	old = __sync_fetch_and_add(&d->pending, len);
	d->pass_bytes += len;
	stat_add(SPLICE_STAT_PASS_BYTES, len);
	if (old == 0)
		notify(slot, SPLICE_EV_PASS);
	return SK_PASS;
}
