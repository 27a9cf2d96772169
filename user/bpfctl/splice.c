// SPDX-License-Identifier: BSD-2-Clause
#include "bpfctl/splice.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpfctl/bpffs.h"
#include "sk_splice.skel.h"
#include "util/log.h"

struct splice_ctl {
	struct sk_splice_bpf *skel;
	struct ring_buffer *rb;
	struct splice_dir *dirs;	/* mmap of splice_dirs */
	size_t dirs_len;
	uint32_t slots;
	int socks_fd;
	int cookies_fd;
	int stats_fd;
	splice_event_fn fn;		/* set for the duration of a drain */
	void *fn_arg;
	int ncpus;
	/* Injector: inj_tx -> inj_rx (AF_UNIX), inj_rx spliced at slot inj_slot. */
	int inj_tx, inj_rx;
	uint32_t inj_slot;
	bool pinned;
};

static int rb_cb(void *ctx, void *data, size_t len)
{
	struct splice_ctl *ctl = ctx;

	if (len < sizeof(struct splice_event) || !ctl->fn)
		return 0;
	return ctl->fn(ctl->fn_arg, data);
}

static int sock_cookie(int fd, uint64_t *cookie);

/*
 * The injector is how userspace writes bytes into a peer's psock queue, the
 * same FIFO the verdict redirects into, so relayed bytes and redirected
 * bytes can never overtake each other and userspace never has to wait for
 * that queue to drain. It is an AF_UNIX stream pair whose receiving end
 * sits in splice_socks with an always-open direction; its verdict runs
 * synchronously inside send() on the other end.
 */
static int injector_open(struct splice_ctl *ctl)
{
	struct splice_dir *d = &ctl->dirs[ctl->inj_slot];
	int sv[2], sz = 64 << 20;
	uint64_t cookie, v;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	ctl->inj_tx = sv[0];
	ctl->inj_rx = sv[1];
	/* Injected skbs stay charged to the sender until the peer sent them. */
	if (setsockopt(ctl->inj_tx, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(ctl->inj_tx, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(d, 0, sizeof(*d));
	d->credit = UINT64_MAX;
	d->notify_at = UINT64_MAX;
	d->peer = ctl->inj_slot;	/* set per injection */
	d->flags = SPLICE_F_ARMED | SPLICE_F_INJECTOR;
	/*
	 * An AF_UNIX skb is owned by its sender, so the verdict sees the
	 * sending socket's cookie: map both ends to the injector's slot.
	 */
	if (sock_cookie(ctl->inj_rx, &cookie) ||
	    bpf_map_update_elem(ctl->cookies_fd, &cookie, &ctl->inj_slot, BPF_ANY))
		return -errno;
	if (sock_cookie(ctl->inj_tx, &cookie) ||
	    bpf_map_update_elem(ctl->cookies_fd, &cookie, &ctl->inj_slot, BPF_ANY))
		return -errno;
	v = (uint64_t)ctl->inj_rx;
	if (bpf_map_update_elem(bpf_map__fd(ctl->skel->maps.splice_inject), &ctl->inj_slot, &v,
				BPF_ANY))
		return -errno;
	return 0;
}

ssize_t splice_ctl_inject(struct splice_ctl *ctl, uint32_t dst_slot, const void *buf, size_t len)
{
	struct splice_dir *d = &ctl->dirs[ctl->inj_slot];
	uint64_t passed = splice_load(&d->pass_bytes);
	ssize_t n;
	char peek;

	if (dst_slot >= ctl->slots)
		return -EINVAL;
	__atomic_store_n(&d->peer, dst_slot, __ATOMIC_RELEASE);
	n = send(ctl->inj_tx, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	if (splice_load(&d->pass_bytes) != passed ||
	    recv(ctl->inj_rx, &peek, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
		/* The redirect failed (peer gone): the bytes are in inj_rx. */
		char sink[4096];

		while (recv(ctl->inj_rx, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		splice_store(&d->pending, 0);
		return -EPIPE;
	}
	return n;
}

/* Pin what operators read; failure only costs them bpftool access. */
static void splice_pin(struct splice_ctl *ctl, const char *dir)
{
	char a[512], b[512];
	int err;

	err = bpffs_prepare(dir);
	if (!err) {
		snprintf(a, sizeof(a), "%s/splice_dirs", dir);
		snprintf(b, sizeof(b), "%s/splice_stats", dir);
		err = bpf_map__pin(ctl->skel->maps.splice_dirs, a);
		if (!err) {
			err = bpf_map__pin(ctl->skel->maps.splice_stats, b);
			if (err)
				bpf_map__unpin(ctl->skel->maps.splice_dirs, NULL);
		}
	}
	if (err) {
		pr_warn("splice: maps not pinned under %s: %s", dir, strerror(-err));
		return;
	}
	ctl->pinned = true;
	pr_debug("splice: maps pinned under %s", dir);
}

struct splice_ctl *splice_ctl_open(uint32_t max_conns, const char *pin_dir)
{
	struct splice_ctl *ctl;
	long page = sysconf(_SC_PAGESIZE);
	int err, prog_fd;

	if (!max_conns || max_conns > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->inj_tx = ctl->inj_rx = -1;
	/* One more pair than asked for: its first slot is the injector's. */
	ctl->slots = 2 * max_conns;
	ctl->inj_slot = ctl->slots;
	ctl->ncpus = libbpf_num_possible_cpus();
	if (ctl->ncpus <= 0) {
		err = ctl->ncpus ? ctl->ncpus : -EINVAL;
		goto err_free;
	}

	ctl->skel = sk_splice_bpf__open();
	if (!ctl->skel) {
		err = -errno;
		pr_err("splice: cannot open BPF object: %s", strerror(-err));
		goto err_free;
	}
	bpf_map__set_max_entries(ctl->skel->maps.splice_socks, ctl->slots + 2);
	bpf_map__set_max_entries(ctl->skel->maps.splice_cookies, ctl->slots + 2);
	bpf_map__set_max_entries(ctl->skel->maps.splice_dirs, ctl->slots + 2);

	err = sk_splice_bpf__load(ctl->skel);
	if (err) {
		/*
		 * CAP_PERFMON: the verdict reads the TCP sequence number from
		 * the kernel's sk_buff (bpf_cast_to_kern_ctx) to cut repeated
		 * bytes, see trim_repeated() in sk_splice.bpf.c.
		 */
		pr_err("splice: cannot load BPF programs: %s%s", strerror(-err),
		       err == -EPERM || err == -EACCES ?
			       " (needs root or CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON)" : "");
		goto err_skel;
	}
	ctl->socks_fd = bpf_map__fd(ctl->skel->maps.splice_socks);
	ctl->cookies_fd = bpf_map__fd(ctl->skel->maps.splice_cookies);
	ctl->stats_fd = bpf_map__fd(ctl->skel->maps.splice_stats);

	prog_fd = bpf_program__fd(ctl->skel->progs.sk_splice_verdict);
	if (bpf_prog_attach(prog_fd, ctl->socks_fd, BPF_SK_SKB_STREAM_VERDICT, 0) ||
	    bpf_prog_attach(prog_fd, bpf_map__fd(ctl->skel->maps.splice_inject),
			    BPF_SK_SKB_STREAM_VERDICT, 0)) {
		err = -errno;
		pr_err("splice: cannot attach stream verdict: %s", strerror(-err));
		goto err_skel;
	}

	ctl->dirs_len = ((size_t)(ctl->slots + 2) * sizeof(struct splice_dir) + page - 1) &
			~(page - 1);
	ctl->dirs = mmap(NULL, ctl->dirs_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(ctl->skel->maps.splice_dirs), 0);
	if (ctl->dirs == MAP_FAILED) {
		err = -errno;
		ctl->dirs = NULL;
		pr_err("splice: cannot mmap splice_dirs: %s", strerror(-err));
		goto err_skel;
	}

	ctl->rb = ring_buffer__new(bpf_map__fd(ctl->skel->maps.splice_events), rb_cb, ctl, NULL);
	if (!ctl->rb) {
		err = -errno;
		pr_err("splice: cannot open event ring buffer: %s", strerror(-err));
		goto err_unmap;
	}
	err = injector_open(ctl);
	if (err) {
		pr_err("splice: cannot set up the injector socket: %s", strerror(-err));
		goto err_rb;
	}
	if (pin_dir)
		splice_pin(ctl, pin_dir);
	pr_debug("splice: loaded, %u slots", ctl->slots);
	return ctl;

err_rb:
	ring_buffer__free(ctl->rb);
err_unmap:
	munmap(ctl->dirs, ctl->dirs_len);
err_skel:
	sk_splice_bpf__destroy(ctl->skel);
err_free:
	free(ctl);
	errno = -err;
	return NULL;
}

void splice_ctl_close(struct splice_ctl *ctl)
{
	if (!ctl)
		return;
	if (ctl->pinned) {
		bpf_map__unpin(ctl->skel->maps.splice_dirs, NULL);
		bpf_map__unpin(ctl->skel->maps.splice_stats, NULL);
	}
	ring_buffer__free(ctl->rb);
	if (ctl->inj_tx >= 0)
		close(ctl->inj_tx);
	if (ctl->inj_rx >= 0)
		close(ctl->inj_rx);
	if (ctl->dirs)
		munmap(ctl->dirs, ctl->dirs_len);
	sk_splice_bpf__destroy(ctl->skel);
	free(ctl);
}

uint32_t splice_ctl_slots(const struct splice_ctl *ctl)
{
	return ctl->slots;
}

struct splice_dir *splice_ctl_dir(struct splice_ctl *ctl, uint32_t slot)
{
	return slot < ctl->slots ? &ctl->dirs[slot] : NULL;
}

static int sock_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

static void dir_reset(struct splice_dir *d, uint32_t peer, uint64_t credit)
{
	memset(d, 0, sizeof(*d));
	d->pending = 1;		/* the caller's hold token */
	d->credit = credit;
	d->notify_at = credit / 2;
	d->peer = peer;
}

int splice_ctl_add_pair(struct splice_ctl *ctl, uint32_t a, int fa, int fb, uint64_t credit)
{
	uint64_t ca, cb, va = (uint64_t)fa, vb = (uint64_t)fb;
	uint32_t b = a + 1;
	int err;

	if ((a & 1) || b >= ctl->slots)
		return -EINVAL;
	err = sock_cookie(fa, &ca);
	if (!err)
		err = sock_cookie(fb, &cb);
	if (err)
		return err;

	dir_reset(&ctl->dirs[a], b, credit);
	dir_reset(&ctl->dirs[b], a, credit);
	if (bpf_map_update_elem(ctl->cookies_fd, &ca, &a, BPF_ANY) ||
	    bpf_map_update_elem(ctl->cookies_fd, &cb, &b, BPF_ANY)) {
		err = -errno;
		goto err_cookies;
	}
	/*
	 * Insert both before arming: a redirect to a peer that is not in the
	 * map yet would lose the skb (KERNEL-NOTES sockmap 3). Insertion
	 * fails with EOPNOTSUPP when a socket left ESTABLISHED (sockmap 8).
	 */
	if (bpf_map_update_elem(ctl->socks_fd, &a, &va, BPF_NOEXIST)) {
		err = -errno;
		goto err_cookies;
	}
	if (bpf_map_update_elem(ctl->socks_fd, &b, &vb, BPF_NOEXIST)) {
		err = -errno;
		goto err_sock_a;
	}
	__atomic_or_fetch(&ctl->dirs[a].flags, SPLICE_F_ARMED, __ATOMIC_RELEASE);
	__atomic_or_fetch(&ctl->dirs[b].flags, SPLICE_F_ARMED, __ATOMIC_RELEASE);
	return 0;

err_sock_a:
	bpf_map_delete_elem(ctl->socks_fd, &a);
err_cookies:
	bpf_map_delete_elem(ctl->cookies_fd, &ca);
	bpf_map_delete_elem(ctl->cookies_fd, &cb);
	return err;
}

void splice_ctl_del_pair(struct splice_ctl *ctl, uint32_t a)
{
	uint32_t s;

	for (s = a; s <= a + 1 && s < ctl->slots; s++) {
		struct splice_dir *d = &ctl->dirs[s];
		uint64_t cookie = 0;
		__u64 v;

		__atomic_and_fetch(&d->flags, ~SPLICE_F_ARMED, __ATOMIC_RELEASE);
		/* The cookie is the sockhash's value on lookup. */
		if (!bpf_map_lookup_elem(ctl->socks_fd, &s, &v)) {
			cookie = v;
			bpf_map_delete_elem(ctl->cookies_fd, &cookie);
		}
		bpf_map_delete_elem(ctl->socks_fd, &s);
	}
}

int splice_ctl_events_fd(struct splice_ctl *ctl)
{
	return ring_buffer__epoll_fd(ctl->rb);
}

int splice_ctl_events_drain(struct splice_ctl *ctl, splice_event_fn fn, void *arg)
{
	int n;

	ctl->fn = fn;
	ctl->fn_arg = arg;
	n = ring_buffer__consume(ctl->rb);
	ctl->fn = NULL;
	return n < 0 ? n : 0;
}

int splice_ctl_stats(struct splice_ctl *ctl, uint64_t out[SPLICE_STAT_MAX])
{
	uint64_t vals[ctl->ncpus];
	uint32_t k;

	for (k = 0; k < SPLICE_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(ctl->stats_fd, &k, vals))
			return -errno;
		for (int c = 0; c < ctl->ncpus; c++)
			out[k] += vals[c];
	}
	return 0;
}

long splice_ctl_count_socks(struct splice_ctl *ctl)
{
	uint32_t key, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(ctl->socks_fd, prev, &next)) {
		n++;
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? n : -errno;
}

uint32_t splice_ctl_socks_map_id(struct splice_ctl *ctl)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(ctl->socks_fd, &info, &len))
		return 0;
	return info.id;
}
