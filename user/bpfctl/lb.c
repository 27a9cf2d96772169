// SPDX-License-Identifier: BSD-2-Clause
#include "bpfctl/lb.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "bpfctl/bpffs.h"
#include "net/neigh.h"
#include "route/maglev.h"
#include "util/log.h"
#include "xdp_lb.skel.h"

#define LB_PROG_NAME "xdp_lb_ingress"

enum lb_map_idx {
	M_VIPS = 0,
	M_RINGS,
	M_REALS,
	M_CONNS,
	M_NAT_REV,
	M_STATS,
	M_DROPS,
	M_VIP_STATS,
	M_REAL_STATS,
	M_MEMBERS,
	M_VIP_FILTER,
	M_MAX,
};

static const char *const map_names[M_MAX] = {
	[M_VIPS] = "lb_vips",		[M_RINGS] = "lb_rings",		[M_REALS] = "lb_reals",
	[M_CONNS] = "lb_conns",		[M_NAT_REV] = "lb_nat_rev",	[M_STATS] = "lb_stats",
	[M_DROPS] = "lb_drops",		[M_VIP_STATS] = "lb_vip_stats", [M_REAL_STATS] = "lb_real_stats",
	[M_MEMBERS] = "lb_members",	[M_VIP_FILTER] = "lb_vip_filter",
};

struct lb_ctl {
	struct xdp_lb_bpf *skel; /* LB_CTL_CREATE only */
	char pin_dir[256];
	int lock_fd; /* LB_CTL_LOCK: the pin directory, flock'ed; else -1 */
	int fd[M_MAX];
	int ncpus;
};

static int pin_path(const struct lb_ctl *ctl, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", ctl->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* libxdp explains its dispatcher fallback at warning level; we say it once ourselves. */
static int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = LOG_LVL_DEBUG;
	char buf[512];

	(void)level;
	size_t n;

	if (lvl > log_get_level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	log_msg(lvl, "%s", buf);
	return 0;
}

/*
 * True when no bpffs is mounted yet: whatever we pin then lives in a mount
 * we make, which 'ip netns exec' throws away with its private mount
 * namespace after every command (KERNEL-NOTES XDP 4).
 */
static bool bpffs_missing(void)
{
	struct statfs st;

	return statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC;
}

static const char nsenter_hint[] = "if this runs under 'ip netns exec', which gives every command "
				   "a fresh /sys, use 'nsenter --net=/run/netns/NAME' instead";

static int open_pinned(struct lb_ctl *ctl)
{
	char path[512];
	int i, err;

	for (i = 0; i < M_MAX; i++) {
		err = pin_path(ctl, map_names[i], path, sizeof(path));
		if (err)
			return err;
		ctl->fd[i] = bpf_obj_get(path);
		if (ctl->fd[i] < 0) {
			err = -errno;
			if (err == -ENOENT)
				pr_err("lb: no load balancer state under %s (%s missing): run "
				       "'xdproxy attach IFACE' first; %s",
				       ctl->pin_dir, map_names[i], nsenter_hint);
			else
				pr_err("lb: cannot open %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * lb_vip_filter's flags for one lb_vips entry (lb.h): its address, its
 * service, and a NAT service's source address, whose replies lb_nat_rev
 * translates.
 */
static void filter_mark(struct lb_vip_filter *f, const struct lb_vip_key *k, const struct lb_vip *v)
{
	f->slot[lb_filter_addr(k->addr, k->family)] |= LB_FILTER_ADDR;
	if (!k->proto)
		return;
	f->slot[lb_filter_svc(k)] |= LB_FILTER_SVC;
	if (v->mode == LB_MODE_NAT)
		f->slot[lb_filter_addr(v->src, k->family)] |= LB_FILTER_NAT;
}

/*
 * Recompute lb_vip_filter from lb_vips, plus {add, add_v} when not NULL
 * (the entry about to be inserted), and write it whole. Whole, because a
 * slot is shared by whatever hashes to it: only a recount can tell that a
 * flag is no longer needed. One update copies the value byte by byte at
 * worst, so a packet sees each slot old or new: callers write a superset
 * before an insertion and a subset after a deletion, and no flag a live
 * entry needs is ever missing. 0 or -errno.
 */
static int filter_sync(struct lb_ctl *ctl, const struct lb_vip_key *add, const struct lb_vip *add_v)
{
	struct lb_vip_key k, next, *prev = NULL;
	struct lb_vip_filter *f = calloc(1, sizeof(*f));
	uint32_t zero = 0;
	struct lb_vip v;
	int err = 0;

	if (!f)
		return -ENOMEM;
	while (!bpf_map_get_next_key(ctl->fd[M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(ctl->fd[M_VIPS], &next, &v))
			filter_mark(f, &next, &v);
	}
	if (add)
		filter_mark(f, add, add_v);
	if (bpf_map_update_elem(ctl->fd[M_VIP_FILTER], &zero, f, BPF_ANY))
		err = -errno;
	free(f);
	if (err)
		pr_err("lb: cannot update lb_vip_filter: %s", strerror(-err));
	return err;
}

/*
 * Load the program, reusing every map already pinned (so a new attach picks
 * up the VIPs, backends and connections of the last one) and pinning the
 * rest.
 */
static int load_and_pin(struct lb_ctl *ctl)
{
	bool reused[M_MAX] = { 0 };
	char path[512];
	int i, err;

	if (bpffs_missing())
		pr_warn("lb: no bpffs on /sys/fs/bpf, mounting one: the pinned state lasts as long "
			"as this mount namespace; %s",
			nsenter_hint);
	err = bpffs_prepare(ctl->pin_dir);
	if (err) {
		pr_err("lb: cannot prepare %s: %s", ctl->pin_dir, strerror(-err));
		return err;
	}
	ctl->skel = xdp_lb_bpf__open();
	if (!ctl->skel) {
		err = -errno;
		pr_err("lb: cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < M_MAX; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(ctl->skel->obj, map_names[i]);
		int fd;

		if (!m) {
			pr_err("lb: BPF object lacks map %s", map_names[i]);
			return -ENOENT;
		}
		err = pin_path(ctl, map_names[i], path, sizeof(path));
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		err = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (err) {
			pr_err("lb: pinned %s does not fit this build (%s): detach everywhere and "
			       "remove %s",
			       path, strerror(-err), ctl->pin_dir);
			return err;
		}
		reused[i] = true;
	}
	err = xdp_lb_bpf__load(ctl->skel);
	if (err) {
		if (err == -EPERM)
			pr_err("lb: loading the XDP program needs root (CAP_BPF, CAP_NET_ADMIN)");
		else
			pr_err("lb: cannot load the XDP program: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < M_MAX; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(ctl->skel->obj, map_names[i]);

		if (!reused[i]) {
			pin_path(ctl, map_names[i], path, sizeof(path));
			err = bpf_map__pin(m, path);
			if (err) {
				pr_err("lb: cannot pin %s: %s", path, strerror(-err));
				return err;
			}
		}
		ctl->fd[i] = dup(bpf_map__fd(m));
		if (ctl->fd[i] < 0)
			return -errno;
	}
	pr_debug("lb: maps under %s (%s)", ctl->pin_dir, reused[M_VIPS] ? "reused" : "new");
	/* Reused VIPs with a new filter (pinned by an older build) need their flags. */
	return filter_sync(ctl, NULL, NULL);
}

struct lb_ctl *lb_ctl_open(const char *pin_dir, unsigned int flags)
{
	struct lb_ctl *ctl = calloc(1, sizeof(*ctl));
	int i, err;

	if (!ctl)
		return NULL;
	ctl->lock_fd = -1;
	for (i = 0; i < M_MAX; i++)
		ctl->fd[i] = -1;
	if (!pin_dir)
		pin_dir = LB_PIN_DEFAULT;
	if (strlen(pin_dir) >= sizeof(ctl->pin_dir) - 32 || strncmp(pin_dir, "/sys/fs/bpf/", 12)) {
		pr_err("lb: pin directory must be below /sys/fs/bpf/: %s", pin_dir);
		err = -EINVAL;
		goto err_free;
	}
	snprintf(ctl->pin_dir, sizeof(ctl->pin_dir), "%s", pin_dir);
	ctl->ncpus = libbpf_num_possible_cpus();
	if (ctl->ncpus <= 0) {
		err = ctl->ncpus ? ctl->ncpus : -EINVAL;
		goto err_free;
	}
	libxdp_set_print(libxdp_log);
	if (flags & LB_CTL_LOCK) {
		err = bpffs_prepare(ctl->pin_dir);
		if (err)
			goto err_free;
		ctl->lock_fd = open(ctl->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ctl->lock_fd < 0 || flock(ctl->lock_fd, LOCK_EX)) {
			err = -errno;
			pr_err("lb: cannot lock %s: %s", ctl->pin_dir, strerror(errno));
			goto err_free;
		}
	}
	if (flags & LB_CTL_CREATE)
		err = load_and_pin(ctl);
	else
		err = bpffs_prepare(ctl->pin_dir) ?: open_pinned(ctl);
	if (err)
		goto err_free;
	return ctl;
err_free:
	lb_ctl_close(ctl);
	errno = -err;
	return NULL;
}

void lb_ctl_close(struct lb_ctl *ctl)
{
	int i;

	if (!ctl)
		return;
	for (i = 0; i < M_MAX; i++)
		if (ctl->fd[i] >= 0)
			close(ctl->fd[i]);
	xdp_lb_bpf__destroy(ctl->skel);
	if (ctl->lock_fd >= 0)
		close(ctl->lock_fd); /* releases the flock */
	free(ctl);
}

/* ---- attach / detach ---------------------------------------------------- */

/* The name of the program main on ifindex, or "" when there is none. */
static int main_prog(int ifindex, struct xdp_multiprog **mpp, const char **name)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	long err = libxdp_get_error(mp);

	*mpp = NULL;
	*name = "";
	if (err)
		return err == -ENOENT ? 0 : (int)err;
	*mpp = mp;
	if (xdp_multiprog__main_prog(mp))
		*name = xdp_program__name(xdp_multiprog__main_prog(mp));
	if (!xdp_multiprog__is_legacy(mp)) {
		/* Behind libxdp's dispatcher: look for ours among its programs. */
		struct xdp_program *p = NULL;

		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (!strcmp(xdp_program__name(p), LB_PROG_NAME))
				*name = LB_PROG_NAME;
	}
	return 0;
}

int lb_ctl_attach(struct lb_ctl *ctl, int ifindex, enum lb_attach_mode mode, bool *legacy)
{
	int prog_fd, err, xflags = mode == LB_ATTACH_GENERIC ? XDP_FLAGS_SKB_MODE
							      : XDP_FLAGS_DRV_MODE;
	struct xdp_program *prog;
	struct xdp_multiprog *mp;
	const char *name;

	if (!ctl->skel)
		return -EINVAL;
	prog_fd = bpf_program__fd(ctl->skel->progs.xdp_lb_ingress);
	err = main_prog(ifindex, &mp, &name);
	if (err)
		return err;
	if (mp && *name && strcmp(name, LB_PROG_NAME)) {
		pr_err("lb: interface %d already runs XDP program '%s'", ifindex, name);
		xdp_multiprog__close(mp);
		return -EEXIST;
	}
	if (mp && xdp_multiprog__is_legacy(mp)) {
		/* Ours already: swap it atomically, no packet sees no program. */
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
			    .old_prog_fd = xdp_program__fd(xdp_multiprog__main_prog(mp)));

		err = bpf_xdp_attach(ifindex, prog_fd, xflags | XDP_FLAGS_REPLACE, &opts);
		xdp_multiprog__close(mp);
		if (err)
			return err;
		*legacy = true;
		return 0;
	}
	if (mp) {
		err = xdp_multiprog__detach(mp);
		xdp_multiprog__close(mp);
		if (err)
			return err;
	}
	prog = xdp_program__from_fd(prog_fd);
	err = libxdp_get_error(prog);
	if (err)
		return err;
	/* libxdp tries its dispatcher first; where that fails, libbpf complains. */
	log_libbpf_quiet(true);
	err = xdp_program__attach(prog, ifindex,
				  mode == LB_ATTACH_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	log_libbpf_quiet(false);
	xdp_program__close(prog);
	if (err)
		return err;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	*legacy = !libxdp_get_error(mp) && xdp_multiprog__is_legacy(mp);
	if (!libxdp_get_error(mp))
		xdp_multiprog__close(mp);
	return 0;
}

int lb_ctl_detach(int ifindex)
{
	struct xdp_multiprog *mp;
	const char *name;
	int err;

	err = main_prog(ifindex, &mp, &name);
	if (err)
		return err;
	if (!mp)
		return -ENOENT;
	if (strcmp(name, LB_PROG_NAME)) {
		xdp_multiprog__close(mp);
		return *name ? -EEXIST : -ENOENT;
	}
	err = xdp_multiprog__detach(mp);
	xdp_multiprog__close(mp);
	return err;
}

int lb_ctl_ifstatus(int ifindex, struct lb_ifstatus *st)
{
	struct xdp_multiprog *mp;
	const char *name;
	int err;

	memset(st, 0, sizeof(*st));
	st->mode = "-";
	err = main_prog(ifindex, &mp, &name);
	if (err || !mp)
		return err;
	if (xdp_multiprog__main_prog(mp))
		st->prog_id = xdp_program__id(xdp_multiprog__main_prog(mp));
	st->ours = !strcmp(name, LB_PROG_NAME);
	st->legacy = xdp_multiprog__is_legacy(mp);
	switch (xdp_multiprog__attach_mode(mp)) {
	case XDP_MODE_NATIVE:
		st->mode = "native";
		break;
	case XDP_MODE_SKB:
		st->mode = "generic";
		break;
	case XDP_MODE_HW:
		st->mode = "offload";
		break;
	default:
		break;
	}
	xdp_multiprog__close(mp);
	return 0;
}

/* ---- reals -------------------------------------------------------------- */

static bool addr_eq(const __be32 a[4], const __be32 b[4])
{
	return !memcmp(a, b, 16);
}

static int real_get(struct lb_ctl *ctl, uint32_t id, struct lb_real *r)
{
	return bpf_map_lookup_elem(ctl->fd[M_REALS], &id, r) ? -errno : 0;
}

/* Id of VIP vip_id's real {family, addr, port}, or 0. */
static uint32_t real_find(struct lb_ctl *ctl, uint32_t vip_id, uint8_t family,
			  const __be32 addr[4], __be16 port)
{
	struct lb_member_key k, next, *prev = NULL;
	struct lb_real r;

	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], prev, &next)) {
		k = next;
		prev = &k;
		if (next.vip == vip_id && !real_get(ctl, next.real, &r) &&
		    (r.flags & LB_REAL_F_ACTIVE) && r.family == family && r.port == port &&
		    addr_eq(r.addr, addr))
			return next.real;
	}
	return 0;
}

/*
 * Next hop of a real, cached in it for the datapath (lb.h): without it,
 * bpf_fib_lookup() runs for every packet. Resolving also starts ARP /
 * neighbour discovery when the neighbour is unknown, which the datapath's
 * lookup cannot do (in dsr-l2 mode it drops until the kernel knows it).
 * The wait is short: a backend that does not answer must not stall a
 * command, and an uncached real still forwards, only slower.
 */
#define LB_HOP_WAIT_MS 300

/*
 * Resolve r's next hop into r->ifindex/dmac/smac (all zero when it cannot
 * be cached). DSR keeps the VIP as destination, so only a real on the
 * link itself can take the frame: a gateway is cached only for ipip and
 * nat, whose packets are addressed to the real (mode 0, unknown, counts
 * as DSR). 0 or -errno of neigh_resolve (-ENETUNREACH: DSR behind a gateway).
 */
static int real_hop(struct lb_real *r, uint8_t mode, int timeout_ms)
{
	struct neigh_hop hop;
	int err = neigh_resolve(r->family, r->addr, &hop, timeout_ms);

	if (!err && hop.via_gw && mode != LB_MODE_IPIP && mode != LB_MODE_NAT)
		err = -ENETUNREACH;
	if (err) {
		r->ifindex = 0;
		memset(r->dmac, 0, sizeof(r->dmac));
		memset(r->smac, 0, sizeof(r->smac));
		return err;
	}
	r->ifindex = (uint32_t)hop.ifindex;
	memcpy(r->dmac, hop.dmac, sizeof(r->dmac));
	memcpy(r->smac, hop.smac, sizeof(r->smac));
	return 0;
}

static void real_hop_log(const struct lb_real *r, int err)
{
	char a[64];

	lb_addr_fmt(r->family, r->addr, 0, a, sizeof(a));
	if (err == -ENETUNREACH)
		pr_debug("lb: real %s: dsr-l2 behind a gateway: next hop not cached", a);
	else if (err)
		pr_debug("lb: real %s: next hop not cached (%s): bpf_fib_lookup per packet", a,
			 strerror(-err));
	else
		pr_debug("lb: real %s: next hop ifindex %u %02x:%02x:%02x:%02x:%02x:%02x", a,
			 r->ifindex, r->dmac[0], r->dmac[1], r->dmac[2], r->dmac[3], r->dmac[4],
			 r->dmac[5]);
}

static int real_alloc(struct lb_ctl *ctl, uint8_t mode, uint8_t family, const __be32 addr[4],
		      __be16 port, uint32_t *out)
{
	struct lb_real hop = { .family = family }, r;
	uint32_t id;

	/*
	 * Resolved before a slot is picked, so the wait does not widen the
	 * window in which another invocation could pick the same slot.
	 */
	memcpy(hop.addr, addr, 16);
	real_hop_log(&hop, real_hop(&hop, mode, LB_HOP_WAIT_MS));
	for (id = 1; id < LB_MAX_REALS; id++) {
		if (real_get(ctl, id, &r) || (r.flags & LB_REAL_F_ACTIVE))
			continue;
		/* gen survives in the slot: stale connection entries never match. */
		r.gen++;
		memcpy(r.addr, addr, 16);
		r.port = port;
		r.family = family;
		r.flags = LB_REAL_F_ACTIVE;
		r.ifindex = hop.ifindex;
		memcpy(r.dmac, hop.dmac, sizeof(r.dmac));
		memcpy(r.smac, hop.smac, sizeof(r.smac));
		if (bpf_map_update_elem(ctl->fd[M_REALS], &id, &r, BPF_ANY))
			return -errno;
		*out = id;
		return 0;
	}
	return -ENOSPC;
}

/* Take a real out of service: connections pinned to it re-hash. */
static int real_remove(struct lb_ctl *ctl, uint32_t id)
{
	struct lb_real r;
	int err = real_get(ctl, id, &r);

	if (err)
		return err;
	r.flags = 0;
	r.gen++;
	return bpf_map_update_elem(ctl->fd[M_REALS], &id, &r, BPF_ANY) ? -errno : 0;
}

/* ---- VIPs and their tables ---------------------------------------------- */

static int vip_get(struct lb_ctl *ctl, const struct lb_vip_key *key, struct lb_vip *v)
{
	return bpf_map_lookup_elem(ctl->fd[M_VIPS], key, v) ? -errno : 0;
}

static int vip_alloc_id(struct lb_ctl *ctl, uint32_t *out)
{
	static bool used[LB_MAX_VIPS];
	struct lb_vip_key k, next, *prev = NULL;
	struct lb_vip v;
	uint32_t id;

	memset(used, 0, sizeof(used));
	while (!bpf_map_get_next_key(ctl->fd[M_VIPS], prev, &next)) {
		if (!bpf_map_lookup_elem(ctl->fd[M_VIPS], &next, &v) && v.id < LB_MAX_VIPS)
			used[v.id] = true;
		k = next;
		prev = &k;
	}
	for (id = 0; id < LB_MAX_VIPS; id++) {
		if (!used[id]) {
			*out = id;
			return 0;
		}
	}
	return -ENOSPC;
}

/* The size of VIP id's table, 0 when it has none. */
static uint32_t ring_size(struct lb_ctl *ctl, uint32_t vip_id)
{
	uint32_t inner_id, size = 0, zero = 0;
	int fd;

	if (bpf_map_lookup_elem(ctl->fd[M_RINGS], &vip_id, &inner_id))
		return 0;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &size))
		size = 0;
	close(fd);
	return size;
}

/* Read VIP id's table into a new array of size + 1 entries. */
static uint32_t *ring_read(struct lb_ctl *ctl, uint32_t vip_id, uint32_t *size)
{
	uint32_t inner_id, i, *t;
	int fd;

	*size = ring_size(ctl, vip_id);
	if (!*size || bpf_map_lookup_elem(ctl->fd[M_RINGS], &vip_id, &inner_id))
		return NULL;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return NULL;
	t = calloc(*size + 1, sizeof(*t));
	for (i = 0; t && i <= *size; i++)
		bpf_map_lookup_elem(fd, &i, &t[i]);
	close(fd);
	return t;
}

/*
 * Build VIP id's Maglev table from its members and swap it in: a fresh
 * inner map, filled completely, then one update of lb_rings. The datapath
 * sees the old table or the new one, never a mix.
 */
static int ring_rebuild(struct lb_ctl *ctl, uint32_t vip_id, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_INNER_MAP);
	struct lb_member_key k, next, *prev = NULL;
	struct maglev_real *mr = NULL;
	char (*names)[64] = NULL;
	uint32_t *keys = NULL, *table = NULL, n = 0, i, count;
	struct lb_member m;
	struct lb_real r;
	int fd = -1, err;

	mr = calloc(LB_MAX_REALS, sizeof(*mr));
	names = calloc(LB_MAX_REALS, sizeof(*names));
	table = calloc(size + 1, sizeof(*table));
	keys = calloc(size + 1, sizeof(*keys));
	if (!mr || !names || !table || !keys) {
		err = -ENOMEM;
		goto out;
	}
	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], prev, &next)) {
		k = next;
		prev = &k;
		if (next.vip != vip_id || bpf_map_lookup_elem(ctl->fd[M_MEMBERS], &next, &m) ||
		    real_get(ctl, next.real, &r) || !(r.flags & LB_REAL_F_ACTIVE))
			continue;
		if (n >= LB_MAX_REALS)
			break;
		/* Keyed by address, not id: every LB node builds the same table. */
		lb_addr_fmt(r.family, r.addr, r.port, names[n], sizeof(names[n]));
		mr[n].id = next.real;
		mr[n].weight = (r.flags & LB_REAL_F_DRAINING) ? 0 : m.weight;
		mr[n].key = names[n];
		n++;
	}
	err = maglev_build(mr, n, size, table + 1);
	if (err)
		goto out;
	table[0] = size;
	for (i = 0; i <= size; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lb_ring", sizeof(__u32), sizeof(__u32), size + 1,
			    &mopts);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	count = size + 1;
	if (bpf_map_update_batch(fd, keys, table, &count, NULL)) {
		for (i = 0; i <= size; i++) {
			if (bpf_map_update_elem(fd, &keys[i], &table[i], BPF_ANY)) {
				err = -errno;
				goto out;
			}
		}
	}
	err = bpf_map_update_elem(ctl->fd[M_RINGS], &vip_id, &fd, BPF_ANY) ? -errno : 0;
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	free(table);
	free(names);
	free(mr);
	if (err)
		pr_err("lb: cannot build the table of VIP %u: %s", vip_id, strerror(-err));
	return err;
}

static struct lb_vip_key addr_key(const struct lb_vip_key *key)
{
	struct lb_vip_key a = { .family = key->family };

	memcpy(a.addr, key->addr, 16);
	return a;
}

static int check_key(const struct lb_vip_key *key)
{
	if (key->family != LB_AF_V4 && key->family != LB_AF_V6)
		return -EAFNOSUPPORT;
	if (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	if (!key->port)
		return -EINVAL;
	return 0;
}

/*
 * A NAT source must not be a VIP address, in either order of adding: the
 * datapath takes packets to a VIP address as VIP traffic and would never
 * translate the replies back. -EADDRINUSE when key's VIP would break that.
 */
static int nat_src_conflict(struct lb_ctl *ctl, const struct lb_vip_key *key, uint8_t mode,
			    const __be32 src[4])
{
	struct lb_vip_key k, next, *prev = NULL;
	struct lb_vip v;

	if (mode == LB_MODE_NAT && src) {
		struct lb_vip_key a = *key;

		memcpy(a.addr, src, sizeof(a.addr));
		a.port = 0;
		a.proto = 0;
		if (!vip_get(ctl, &a, &v) || addr_eq(src, key->addr))
			return -EADDRINUSE;
	}
	while (!bpf_map_get_next_key(ctl->fd[M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(ctl->fd[M_VIPS], &k, &v) || (v.flags & LB_VIP_F_ADDR))
			continue;
		if (v.mode == LB_MODE_NAT && k.family == key->family && addr_eq(v.src, key->addr) &&
		    memcmp(&k, key, sizeof(k)))
			return -EADDRINUSE;
	}
	return 0;
}

int lb_ctl_vip_set(struct lb_ctl *ctl, const struct lb_vip_key *key, uint8_t mode,
		   const __be32 src[4], uint32_t table_size)
{
	static const __be32 zero[4];
	struct lb_vip_key akey = addr_key(key);
	struct lb_vip v, av;
	uint32_t cur;
	bool exists;
	int err;

	err = check_key(key);
	if (err)
		return err;
	if (mode < LB_MODE_DSR_L2 || mode > LB_MODE_NAT)
		return -EINVAL;
	if (mode != LB_MODE_DSR_L2 && (!src || addr_eq(src, zero)))
		return -EDESTADDRREQ;
	if (table_size && !maglev_size_ok(table_size))
		return -EDOM;
	err = nat_src_conflict(ctl, key, mode, src);
	if (err)
		return err;
	exists = !vip_get(ctl, key, &v);
	if (!exists) {
		memset(&v, 0, sizeof(v));
		err = vip_alloc_id(ctl, &v.id);
		if (err)
			return err;
	}
	cur = exists ? ring_size(ctl, v.id) : 0;
	if (!table_size)
		table_size = cur ? cur : LB_RING_DEFAULT;
	v.mode = mode;
	v.flags = 0;
	memcpy(v.src, src ? src : zero, 16);
	/* The table first: a new VIP goes live with its backends in place. */
	if (table_size != cur) {
		err = ring_rebuild(ctl, v.id, table_size);
		if (err)
			return err;
	}
	/* The filter's flags before the entry: its packets must not pass it by. */
	err = filter_sync(ctl, key, &v);
	if (err)
		return err;
	if (bpf_map_update_elem(ctl->fd[M_VIPS], key, &v, BPF_ANY))
		return -errno;
	if (vip_get(ctl, &akey, &av)) {
		memset(&av, 0, sizeof(av));
		err = vip_alloc_id(ctl, &av.id);
		if (err)
			return err;
		av.flags = LB_VIP_F_ADDR;
		av.mode = mode;
		if (bpf_map_update_elem(ctl->fd[M_VIPS], &akey, &av, BPF_NOEXIST))
			return -errno;
	}
	/* And a recount after: a changed NAT source drops the old one's flag. */
	return filter_sync(ctl, NULL, NULL);
}

/* Does any service VIP other than skip use the address of key? */
static bool addr_in_use(struct lb_ctl *ctl, const struct lb_vip_key *key)
{
	struct lb_vip_key k, next, *prev = NULL;

	while (!bpf_map_get_next_key(ctl->fd[M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		if (next.proto && next.family == key->family && addr_eq(next.addr, key->addr) &&
		    memcmp(&next, key, sizeof(next)))
			return true;
	}
	return false;
}

int lb_ctl_vip_del(struct lb_ctl *ctl, const struct lb_vip_key *key)
{
	struct lb_member_key *gone;
	struct lb_member_key k, next, *prev = NULL;
	struct lb_vip_key akey = addr_key(key);
	size_t n = 0, i;
	struct lb_vip v;
	int err = check_key(key);

	if (err)
		return err;
	if (vip_get(ctl, key, &v))
		return -ENOENT;
	/* Stop steering first, then take the table and the members away. */
	if (bpf_map_delete_elem(ctl->fd[M_VIPS], key))
		return -errno;
	if (!addr_in_use(ctl, key))
		bpf_map_delete_elem(ctl->fd[M_VIPS], &akey);
	/* Flags only after the entries are gone; a failure leaves them set: slower, right. */
	filter_sync(ctl, NULL, NULL);
	bpf_map_delete_elem(ctl->fd[M_RINGS], &v.id);
	gone = calloc(LB_MAX_REALS, sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], prev, &next)) {
		k = next;
		prev = &k;
		if (next.vip == v.id && n < LB_MAX_REALS)
			gone[n++] = next;
	}
	for (i = 0; i < n; i++) {
		bpf_map_delete_elem(ctl->fd[M_MEMBERS], &gone[i]);
		real_remove(ctl, gone[i].real);
	}
	free(gone);
	return 0;
}

static int vip_for_backend(struct lb_ctl *ctl, const struct lb_vip_key *vip, uint8_t family,
			   __be16 port, struct lb_vip *v)
{
	int err = check_key(vip);

	if (err)
		return err;
	if (vip_get(ctl, vip, v))
		return -ENOENT;
	if (family != vip->family)
		return -EAFNOSUPPORT;
	/* Only NAT rewrites the destination port. */
	if (v->mode != LB_MODE_NAT && port && port != vip->port)
		return -EINVAL;
	return 0;
}

int lb_ctl_backend_set(struct lb_ctl *ctl, const struct lb_vip_key *vip, uint8_t family,
		       const __be32 addr[4], __be16 port, uint32_t weight)
{
	struct lb_member m = { .weight = weight };
	struct lb_member_key mk;
	struct lb_vip v;
	uint32_t size;
	int err;

	if (weight > 65535)
		return -ERANGE;
	err = vip_for_backend(ctl, vip, family, port, &v);
	if (err)
		return err;
	if (v.mode != LB_MODE_NAT)
		port = 0;
	mk.vip = v.id;
	mk.real = real_find(ctl, v.id, family, addr, port);
	if (!mk.real) {
		err = real_alloc(ctl, v.mode, family, addr, port, &mk.real);
		if (err)
			return err;
		if (bpf_map_update_elem(ctl->fd[M_MEMBERS], &mk, &m, BPF_NOEXIST)) {
			err = -errno;
			real_remove(ctl, mk.real);
			return err;
		}
	} else if (bpf_map_update_elem(ctl->fd[M_MEMBERS], &mk, &m, BPF_EXIST)) {
		return -errno;
	}
	size = ring_size(ctl, v.id);
	return ring_rebuild(ctl, v.id, size ? size : LB_RING_DEFAULT);
}

int lb_ctl_backend_del(struct lb_ctl *ctl, const struct lb_vip_key *vip, uint8_t family,
		       const __be32 addr[4], __be16 port)
{
	struct lb_member_key mk;
	struct lb_vip v;
	uint32_t size;
	int err;

	err = vip_for_backend(ctl, vip, family, port, &v);
	if (err)
		return err;
	if (v.mode != LB_MODE_NAT)
		port = 0;
	mk.vip = v.id;
	mk.real = real_find(ctl, v.id, family, addr, port);
	if (!mk.real || bpf_map_delete_elem(ctl->fd[M_MEMBERS], &mk))
		return -ENOENT;
	/* New flows leave it first; then its connections are let go. */
	size = ring_size(ctl, v.id);
	err = ring_rebuild(ctl, v.id, size ? size : LB_RING_DEFAULT);
	return real_remove(ctl, mk.real) ?: err;
}

/* Rebuild the table of every VIP that has real as a member. */
static int rebuild_for_real(struct lb_ctl *ctl, uint32_t real)
{
	struct lb_member_key k, next, *prev = NULL;
	int err = 0, e;

	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], prev, &next)) {
		k = next;
		prev = &k;
		if (next.real != real)
			continue;
		e = ring_rebuild(ctl, next.vip, ring_size(ctl, next.vip) ?: LB_RING_DEFAULT);
		if (e && !err)
			err = e;
	}
	return err;
}

int lb_ctl_backend_drain(struct lb_ctl *ctl, uint8_t family, const __be32 addr[4], __be16 port,
			 bool on)
{
	struct lb_real r;
	uint32_t id, hits = 0;
	int err = 0, e;

	for (id = 1; id < LB_MAX_REALS; id++) {
		if (real_get(ctl, id, &r) || !(r.flags & LB_REAL_F_ACTIVE) || r.family != family ||
		    !addr_eq(r.addr, addr) || (port && r.port && r.port != port))
			continue;
		hits++;
		if (on)
			r.flags |= LB_REAL_F_DRAINING;
		else
			r.flags &= ~LB_REAL_F_DRAINING;
		if (bpf_map_update_elem(ctl->fd[M_REALS], &id, &r, BPF_ANY))
			return -errno;
		e = rebuild_for_real(ctl, id);
		if (e && !err)
			err = e;
	}
	return hits ? err : -ENOENT;
}

/*
 * Forwarding mode of every real's VIP, indexed by real id (a real belongs
 * to one VIP); 0 where unknown. NULL when out of memory.
 */
static uint8_t *real_modes(struct lb_ctl *ctl)
{
	uint8_t vip_mode[LB_MAX_VIPS] = { 0 };
	uint8_t *modes = calloc(LB_MAX_REALS, 1);
	struct lb_vip_key vk, vnext, *vprev = NULL;
	struct lb_member_key mk, mnext, *mprev = NULL;
	struct lb_vip v;

	if (!modes)
		return NULL;
	while (!bpf_map_get_next_key(ctl->fd[M_VIPS], vprev, &vnext)) {
		vk = vnext;
		vprev = &vk;
		if (!vip_get(ctl, &vnext, &v) && !(v.flags & LB_VIP_F_ADDR) && v.id < LB_MAX_VIPS)
			vip_mode[v.id] = v.mode;
	}
	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], mprev, &mnext)) {
		mk = mnext;
		mprev = &mk;
		if (mnext.real < LB_MAX_REALS && mnext.vip < LB_MAX_VIPS)
			modes[mnext.real] = vip_mode[mnext.vip];
	}
	return modes;
}

/*
 * Store want's next hop in slot id if it differs from what is there. The
 * map has no compare-and-swap: the slot is read again just before the
 * write, and left alone if another invocation removed or replaced the real
 * meanwhile. 1 when written, 0 when not, -errno.
 */
static int real_hop_store(struct lb_ctl *ctl, uint32_t id, const struct lb_real *want)
{
	struct lb_real cur;
	int err = real_get(ctl, id, &cur);

	if (err)
		return err;
	if (!(cur.flags & LB_REAL_F_ACTIVE) || cur.gen != want->gen || cur.family != want->family ||
	    cur.port != want->port || !addr_eq(cur.addr, want->addr))
		return 0;
	if (cur.ifindex == want->ifindex && !memcmp(cur.dmac, want->dmac, sizeof(cur.dmac)) &&
	    !memcmp(cur.smac, want->smac, sizeof(cur.smac)))
		return 0;
	cur.ifindex = want->ifindex;
	memcpy(cur.dmac, want->dmac, sizeof(cur.dmac));
	memcpy(cur.smac, want->smac, sizeof(cur.smac));
	if (bpf_map_update_elem(ctl->fd[M_REALS], &id, &cur, BPF_EXIST))
		return -errno;
	return 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int lb_ctl_refresh_hops(struct lb_ctl *ctl)
{
	uint32_t *pending = NULL, npending = 0, id, i, j;
	uint8_t *modes = real_modes(ctl);
	uint64_t deadline;
	struct lb_real r;
	int changed = 0, err = 0, e;
	bool last;

	pending = calloc(LB_MAX_REALS, sizeof(*pending));
	if (!modes || !pending) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * First every real without waiting, which starts the resolution of
	 * every unknown neighbour at once; then only those, polled together
	 * until LB_HOP_WAIT_MS: N silent backends cost one wait, not N.
	 */
	for (id = 1; id < LB_MAX_REALS; id++) {
		if (real_get(ctl, id, &r) || !(r.flags & LB_REAL_F_ACTIVE))
			continue;
		e = real_hop(&r, modes[id], 0);
		if (e == -EAGAIN) {
			pending[npending++] = id;
			continue;
		}
		real_hop_log(&r, e);
		e = real_hop_store(ctl, id, &r);
		if (e < 0)
			err = err ?: e;
		else
			changed += e;
	}
	deadline = mono_ms() + LB_HOP_WAIT_MS;
	while (npending) {
		usleep(10000);
		last = mono_ms() >= deadline;
		for (i = j = 0; i < npending; i++) {
			id = pending[i];
			if (real_get(ctl, id, &r) || !(r.flags & LB_REAL_F_ACTIVE))
				continue;
			e = real_hop(&r, modes[id], 0);
			if (e == -EAGAIN && !last) {
				pending[j++] = id;
				continue;
			}
			real_hop_log(&r, e);
			e = real_hop_store(ctl, id, &r);
			if (e < 0)
				err = err ?: e;
			else
				changed += e;
		}
		npending = j;
	}
out:
	free(pending);
	free(modes);
	return err ?: changed;
}

/* ---- reading ------------------------------------------------------------ */

static int percpu_sum(struct lb_ctl *ctl, int fd, uint32_t key, size_t vsize, uint64_t *out,
		      size_t nwords)
{
	uint64_t *v = calloc(ctl->ncpus, vsize);
	size_t c, w;

	if (!v)
		return -ENOMEM;
	memset(out, 0, nwords * sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, v)) {
		free(v);
		return -errno;
	}
	for (c = 0; c < (size_t)ctl->ncpus; c++)
		for (w = 0; w < nwords; w++)
			out[w] += v[c * (vsize / 8) + w];
	free(v);
	return 0;
}

int lb_ctl_stats(struct lb_ctl *ctl, uint64_t *stats, uint64_t *drops)
{
	uint32_t i;
	int err;

	for (i = 0; i < LB_STAT_MAX; i++) {
		err = percpu_sum(ctl, ctl->fd[M_STATS], i, 8, &stats[i], 1);
		if (err)
			return err;
	}
	for (i = 0; i < LB_DROP_MAX; i++) {
		err = percpu_sum(ctl, ctl->fd[M_DROPS], i, 8, &drops[i], 1);
		if (err)
			return err;
	}
	return 0;
}

int lb_ctl_nat_census(struct lb_ctl *ctl, struct lb_nat_census *c)
{
	struct lb_flow k, next, *prev = NULL;
	struct timespec ts;
	struct lb_nat n;
	uint64_t now, to;
	int err;

	memset(c, 0, sizeof(*c));
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* bpf_ktime_get_coarse_ns() */
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	while (!(err = bpf_map_get_next_key(ctl->fd[M_NAT_REV], prev, &next))) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(ctl->fd[M_NAT_REV], &k, &n))
			continue; /* evicted meanwhile */
		c->total++;
		if ((n.state & LB_NAT_S_RST) || (n.state & LB_NAT_S_CLOSED) == LB_NAT_S_CLOSED) {
			c->closed++;
			to = LB_NAT_TIMEOUT_CLOSE_S;
		} else if (!(n.state & LB_NAT_S_REPLY)) {
			c->unanswered++;
			to = LB_NAT_TIMEOUT_NEW_S;
		} else {
			if (n.state & LB_NAT_S_CLOSED)
				c->closing++;
			else
				c->established++;
			to = n.orig.proto == IPPROTO_TCP ? LB_NAT_TIMEOUT_TCP_S
							 : LB_NAT_TIMEOUT_UDP_S;
		}
		if (now > n.seen && now - n.seen > to * 1000000000ull)
			c->expired++;
	}
	return err == -ENOENT ? 0 : err;
}

static uint32_t count_members(struct lb_ctl *ctl, uint32_t vip_id)
{
	struct lb_member_key k, next, *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], prev, &next)) {
		k = next;
		prev = &k;
		n += next.vip == vip_id;
	}
	return n;
}

int lb_ctl_vip_foreach(struct lb_ctl *ctl, int (*fn)(void *arg, const struct lb_vip_info *vi),
		       void *arg)
{
	struct lb_vip_key k, next, *prev = NULL;
	struct lb_vip_info vi;
	uint64_t c[2];
	int err;

	while (!bpf_map_get_next_key(ctl->fd[M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		memset(&vi, 0, sizeof(vi));
		if (vip_get(ctl, &next, &vi.vip) || (vi.vip.flags & LB_VIP_F_ADDR))
			continue;
		vi.key = next;
		vi.table_size = ring_size(ctl, vi.vip.id);
		vi.n_backends = count_members(ctl, vi.vip.id);
		if (!percpu_sum(ctl, ctl->fd[M_VIP_STATS], vi.vip.id, sizeof(struct lb_counter), c,
				2)) {
			vi.ctr.packets = c[0];
			vi.ctr.bytes = c[1];
		}
		err = fn(arg, &vi);
		if (err)
			return err;
	}
	return 0;
}

int lb_ctl_backend_foreach(struct lb_ctl *ctl, const struct lb_vip_key *vip,
			   int (*fn)(void *arg, const struct lb_backend_info *bi), void *arg)
{
	struct lb_member_key k, next, *prev = NULL;
	struct lb_backend_info bi;
	uint32_t size = 0, i, *table;
	struct lb_member m;
	struct lb_vip v;
	uint64_t c[2];
	int err = 0;

	if (vip_get(ctl, vip, &v))
		return -ENOENT;
	table = ring_read(ctl, v.id, &size);
	while (!bpf_map_get_next_key(ctl->fd[M_MEMBERS], prev, &next)) {
		k = next;
		prev = &k;
		if (next.vip != v.id || bpf_map_lookup_elem(ctl->fd[M_MEMBERS], &next, &m))
			continue;
		memset(&bi, 0, sizeof(bi));
		bi.id = next.real;
		bi.weight = m.weight;
		if (real_get(ctl, bi.id, &bi.real))
			continue;
		for (i = 1; table && i <= size; i++)
			bi.slots += table[i] == bi.id;
		if (!percpu_sum(ctl, ctl->fd[M_REAL_STATS], bi.id, sizeof(struct lb_counter), c,
				2)) {
			bi.ctr.packets = c[0];
			bi.ctr.bytes = c[1];
		}
		err = fn(arg, &bi);
		if (err)
			break;
	}
	free(table);
	return err;
}

/* ---- names and addresses ------------------------------------------------ */

const char *lb_stat_name(unsigned int i)
{
	static const char *const n[LB_STAT_MAX] = {
		[LB_STAT_PASS] = "pass",	   [LB_STAT_TX] = "tx",
		[LB_STAT_REDIRECT] = "redirect",   [LB_STAT_FIB_PASS] = "fib_pass",
		[LB_STAT_CONN_HIT] = "conn_hit",   [LB_STAT_CONN_NEW] = "conn_new",
		[LB_STAT_CONN_REHASH] = "conn_rehash", [LB_STAT_ICMP_ECHO] = "icmp_echo",
		[LB_STAT_NAT_REPLY] = "nat_reply", [LB_STAT_NAT_REUSE] = "nat_reuse",
	};

	return i < LB_STAT_MAX && n[i] ? n[i] : "?";
}

const char *lb_drop_name(unsigned int i)
{
	static const char *const n[LB_DROP_MAX] = {
		[LB_DROP_TRUNCATED] = "truncated",   [LB_DROP_BAD_IHL] = "bad_ihl",
		[LB_DROP_IP_OPTIONS] = "ip_options", [LB_DROP_FRAGMENT] = "fragment",
		[LB_DROP_IPV6_EXT] = "ipv6_ext",     [LB_DROP_NO_BACKEND] = "no_backend",
		[LB_DROP_NO_NEIGH] = "no_neigh",     [LB_DROP_FIB] = "fib",
		[LB_DROP_NAT_PORTS] = "nat_ports",   [LB_DROP_ADJUST] = "adjust_head",
		[LB_DROP_BAD_FAMILY] = "bad_family",
	};

	return i < LB_DROP_MAX && n[i] ? n[i] : "?";
}

const char *lb_mode_name(unsigned int mode)
{
	switch (mode) {
	case LB_MODE_DSR_L2:
		return "dsr-l2";
	case LB_MODE_IPIP:
		return "ipip";
	case LB_MODE_NAT:
		return "nat";
	}
	return "?";
}

int lb_mode_parse(const char *s, uint8_t *mode)
{
	if (!strcmp(s, "dsr-l2") || !strcmp(s, "dsr"))
		*mode = LB_MODE_DSR_L2;
	else if (!strcmp(s, "ipip"))
		*mode = LB_MODE_IPIP;
	else if (!strcmp(s, "nat"))
		*mode = LB_MODE_NAT;
	else
		return -EINVAL;
	return 0;
}

int lb_addr_parse(const char *s, uint8_t *family, __be32 addr[4], __be16 *port)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *host = buf, *p = NULL;
	char *end;
	unsigned long v;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	memset(addr, 0, 16);
	*port = 0;
	if (buf[0] == '[') {
		char *rb = strchr(buf, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		*rb = '\0';
		host = buf + 1;
		if (rb[1] == ':')
			p = rb + 2;
	} else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
		char *c = strchr(buf, ':');

		*c = '\0';
		p = c + 1;
	}
	if (inet_pton(AF_INET, host, addr) == 1)
		*family = LB_AF_V4;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		*family = LB_AF_V6;
	else
		return -EINVAL;
	if (p) {
		if (!*p || *p == '-' || *p == '+')
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || *end || v == 0 || v > 65535)
			return -ERANGE;
		*port = htons((uint16_t)v);
	}
	return 0;
}

const char *lb_addr_fmt(uint8_t family, const __be32 addr[4], __be16 port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family == LB_AF_V4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	if (!port)
		snprintf(buf, len, "%s", a);
	else if (family == LB_AF_V4)
		snprintf(buf, len, "%s:%u", a, ntohs(port));
	else
		snprintf(buf, len, "[%s]:%u", a, ntohs(port));
	return buf;
}
