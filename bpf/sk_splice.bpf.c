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
