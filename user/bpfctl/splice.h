/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Typed wrapper around bpf/sk_splice.bpf.c: the only code that touches its
 * skeleton and maps. See include/xdproxy/splice.h for the protocol.
 */
#ifndef XDP_BPFCTL_SPLICE_H
#define XDP_BPFCTL_SPLICE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "xdproxy/splice.h"

struct splice_ctl;

typedef int (*splice_event_fn)(void *arg, const struct splice_event *ev);

/*
 * Load and attach the splice program (stream verdict only: see
 * docs/ARCHITECTURE.md on why not strparser) for up to max_conns connections.
 * Returns NULL with errno set (EPERM without privileges, EOPNOTSUPP when the
 * kernel lacks sockmap) and a log line saying which. With pin_dir, the
 * per-direction state and the verdict counters are pinned there as
 * splice_dirs and splice_stats for bpftool (BTF shows named fields) and
 * unpinned by splice_ctl_close; a pin that cannot be made (another xdproxy
 * holds it) is a warning, not an error.
 */
struct splice_ctl *splice_ctl_open(uint32_t max_conns, const char *pin_dir);
/* Accepts NULL. */
void splice_ctl_close(struct splice_ctl *ctl);

/* Number of slots (2 * max_conns). */
uint32_t splice_ctl_slots(const struct splice_ctl *ctl);

/*
 * The direction state of a slot, mmap()ed: read BPF counters with
 * splice_dir_load(), change controls only while the slot is not ARMED or
 * with the atomic helpers below.
 */
struct splice_dir *splice_ctl_dir(struct splice_ctl *ctl, uint32_t slot);

/*
 * Prepare slots a (= even) and a+1 for fds fa and fb: reset their state,
 * take one hold token on each direction (nothing is redirected until the
 * caller releases it), record cookies and insert both sockets. 0 or -errno
 * (-EOPNOTSUPP if a socket is not ESTABLISHED; nothing is left behind).
 */
int splice_ctl_add_pair(struct splice_ctl *ctl, uint32_t a, int fa, int fb, uint64_t credit);
/* Remove both sockets and cookies of the pair at slot a. Idempotent. */
void splice_ctl_del_pair(struct splice_ctl *ctl, uint32_t a);

/*
 * Write len bytes from userspace into the psock queue of the socket at
 * dst_slot, behind everything already redirected to it. Returns bytes taken
 * or -errno (-EAGAIN: try later; -EPIPE: dst is not in the map).
 */
ssize_t splice_ctl_inject(struct splice_ctl *ctl, uint32_t dst_slot, const void *buf,
			  size_t len);

/* Ring buffer: fd to poll, and a drain that calls fn per event. */
int splice_ctl_events_fd(struct splice_ctl *ctl);
int splice_ctl_events_drain(struct splice_ctl *ctl, splice_event_fn fn, void *arg);

/* Sum the per-CPU verdict counters into out[SPLICE_STAT_MAX]. 0 or -errno. */
int splice_ctl_stats(struct splice_ctl *ctl, uint64_t out[SPLICE_STAT_MAX]);
/* Entries now in splice_socks (walks the map; for tests and status). */
long splice_ctl_count_socks(struct splice_ctl *ctl);
/* Map ids, for tests that inspect with bpftool. */
uint32_t splice_ctl_socks_map_id(struct splice_ctl *ctl);

static inline uint64_t splice_load(const volatile __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Subtract n from 'pending'; returns the new value. */
static inline uint64_t splice_pending_sub(struct splice_dir *d, uint64_t n)
{
	return __atomic_sub_fetch(&d->pending, n, __ATOMIC_ACQ_REL);
}

static inline void splice_pending_add(struct splice_dir *d, uint64_t n)
{
	__atomic_add_fetch(&d->pending, n, __ATOMIC_ACQ_REL);
}

static inline void splice_store(volatile __u64 *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif
