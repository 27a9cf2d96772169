// SPDX-License-Identifier: BSD-2-Clause
#include "bpfctl/intercept.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bpfctl/bpffs.h"
#include "bpfctl/cgroupfs.h"
#include "intercept.skel.h"
#include "util/log.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's, leaks out of bpf(2) */
#endif

enum { M_CFG, M_PORTS, M_WAIT, M_ORIG, M_STATS, M_MAX };

/* Pinned by these names: the CLI and bpftool read them, other loaders share them. */
static const char *const map_names[M_MAX] = {
    [M_CFG] = "intercept_cfg",	 [M_PORTS] = "intercept_ports", [M_WAIT] = "intercept_wait",
    [M_ORIG] = "intercept_orig", [M_STATS] = "intercept_stats",
};

enum { L_CONNECT4, L_CONNECT6, L_SOCKOPS, L_MAX };

/* Link pins are "cg<cgroup id>_<hook>": bpffs refuses names with dots. */
static const char *const link_names[L_MAX] = {
    [L_CONNECT4] = "connect4",
    [L_CONNECT6] = "connect6",
    [L_SOCKOPS] = "sockops",
};

struct intercept_ctl {
	struct intercept_bpf *skel; /* loaders only */
	int fd[M_MAX];
	__u64 *stats; /* mmap of intercept_stats */
	struct bpf_link *links[L_MAX];
	bool attached;
	uint64_t cgid;
	char cgroup[PATH_MAX];
	char pin_dir[256];  /* "" when nothing is pinned */
	uint64_t skip_cgid; /* as configured, for the loop check */
};

static size_t stats_len(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return ((size_t)INTERCEPT_STAT_MAX * sizeof(__u64) + page - 1) & ~((size_t)page - 1);
}

static int pin_path(const char *dir, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int link_path(const char *dir, uint64_t cgid, int l, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/cg%llu_%s", dir, (unsigned long long)cgid, link_names[l]);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int check_pin_dir(const char *dir)
{
	if (strncmp(dir, "/sys/fs/bpf/", 12) || strlen(dir) >= 256 - 32) {
		pr_err("intercept: pin directory must be below /sys/fs/bpf/: %s", dir);
		return -EINVAL;
	}
	return 0;
}

/*
 * Serialise loaders and detachers of one pin directory: reusing-or-pinning
 * maps and "is any cgroup left?" are read-then-write steps. Returns an fd
 * to close, or -errno.
 */
static int pin_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void pin_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

static int netns_cookie_self(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

/* opts -> the ABI's settings. 0 or -errno; nothing is written. */
static int conf_build(const struct intercept_opts *o, struct intercept_conf *c)
{
	memset(c, 0, sizeof(*c));
	if (!o)
		return -EINVAL;
	if (o->proxy4.sin_family) {
		if (o->proxy4.sin_family != AF_INET || !o->proxy4.sin_port ||
		    o->proxy4.sin_addr.s_addr == htonl(INADDR_ANY))
			return -EINVAL;
		c->proxy4 = o->proxy4.sin_addr.s_addr;
		c->proxy4_port = o->proxy4.sin_port;
	}
	if (o->proxy6.sin6_family) {
		if (o->proxy6.sin6_family != AF_INET6 || !o->proxy6.sin6_port ||
		    IN6_IS_ADDR_UNSPECIFIED(&o->proxy6.sin6_addr) ||
		    IN6_IS_ADDR_V4MAPPED(&o->proxy6.sin6_addr))
			return -EINVAL;
		memcpy(c->proxy6, &o->proxy6.sin6_addr, sizeof(c->proxy6));
		c->proxy6_port = o->proxy6.sin6_port;
	}
	if (!c->proxy4_port && !c->proxy6_port)
		return -EINVAL;
	if (o->all_tcp) {
		if (o->nports)
			return -EINVAL;
		c->flags |= INTERCEPT_F_ALL_TCP;
	} else {
		if (!o->nports || !o->ports)
			return -EINVAL;
		if (o->nports > INTERCEPT_PORTS_MAX)
			return -E2BIG;
		for (size_t i = 0; i < o->nports; i++)
			if (!o->ports[i])
				return -EINVAL;
	}
	c->skip_mark = o->skip_mark;
	c->skip_cgid = o->skip_cgid;
	c->netns_cookie = o->netns_cookie;
	if (!c->netns_cookie) {
		int err = netns_cookie_self(&c->netns_cookie);

		if (err) {
			/* Kernels before 5.14: no namespace guard, say so. */
			pr_warn("intercept: no SO_NETNS_COOKIE (%s): sockets of every network "
				"namespace in the cgroup will be redirected",
				strerror(-err));
			c->netns_cookie = 0;
		}
	}
	return 0;
}

static bool port_listed(const struct intercept_opts *o, uint16_t port)
{
	if (o->all_tcp)
		return false;
	for (size_t i = 0; i < o->nports; i++)
		if (o->ports[i] == port)
			return true;
	return false;
}

int intercept_ctl_configure(struct intercept_ctl *ctl, const struct intercept_opts *opts)
{
	uint16_t stale[2 * INTERCEPT_PORTS_MAX], key, next, *prev = NULL;
	struct intercept_cfg cfg = {0};
	size_t nstale = 0;
	uint32_t zero = 0;
	uint8_t one = 1;
	int err;

	err = conf_build(opts, &cfg.conf);
	if (err)
		return err;
	/*
	 * New ports first, the settings next, stale ports last: a connect in
	 * between sees a superset of either port list with either setting.
	 */
	for (size_t i = 0; !opts->all_tcp && i < opts->nports; i++) {
		if (bpf_map_update_elem(ctl->fd[M_PORTS], &opts->ports[i], &one, BPF_ANY)) {
			err = -errno;
			pr_err("intercept: cannot add port %u: %s", opts->ports[i], strerror(-err));
			return err;
		}
	}
	if (bpf_map_update_elem(ctl->fd[M_CFG], &zero, &cfg, BPF_F_LOCK)) {
		err = -errno;
		pr_err("intercept: cannot write the configuration: %s", strerror(-err));
		return err;
	}
	ctl->skip_cgid = cfg.conf.skip_cgid;
	while (!bpf_map_get_next_key(ctl->fd[M_PORTS], prev, &next)) {
		if (!port_listed(opts, next) && nstale < 2 * INTERCEPT_PORTS_MAX)
			stale[nstale++] = next;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(ctl->fd[M_PORTS], &stale[i]);
	return 0;
}

static int stats_map(struct intercept_ctl *ctl)
{
	void *p = mmap(NULL, stats_len(), PROT_READ | PROT_WRITE, MAP_SHARED, ctl->fd[M_STATS], 0);

	if (p == MAP_FAILED) {
		int err = -errno;

		pr_err("intercept: cannot mmap intercept_stats: %s", strerror(-err));
		return err;
	}
	ctl->stats = p;
	return 0;
}

static struct intercept_ctl *ctl_new(void)
{
	struct intercept_ctl *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	for (int i = 0; i < M_MAX; i++)
		ctl->fd[i] = -1;
	return ctl;
}

/* Reuse the maps pinned under the pin directory, load, pin the others. */
static int load_and_pin(struct intercept_ctl *ctl)
{
	bool reused[M_MAX] = {0};
	struct bpf_map *maps[M_MAX];
	char path[512];
	int i, err;

	maps[M_CFG] = ctl->skel->maps.intercept_cfg;
	maps[M_PORTS] = ctl->skel->maps.intercept_ports;
	maps[M_WAIT] = ctl->skel->maps.intercept_wait;
	maps[M_ORIG] = ctl->skel->maps.intercept_orig;
	maps[M_STATS] = ctl->skel->maps.intercept_stats;
	for (i = 0; *ctl->pin_dir && i < M_MAX; i++) {
		int fd;

		err = pin_path(ctl->pin_dir, map_names[i], path, sizeof(path));
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		err = bpf_map__reuse_fd(maps[i], fd);
		close(fd);
		if (err) {
			pr_err("intercept: pinned %s does not fit this build (%s): detach and "
			       "remove %s",
			       path, strerror(-err), ctl->pin_dir);
			return err;
		}
		reused[i] = true;
	}
	err = intercept_bpf__load(ctl->skel);
	if (err) {
		pr_err("intercept: cannot load the BPF programs: %s%s", strerror(-err),
		       err == -EPERM || err == -EACCES ? " (needs root: CAP_BPF+CAP_NET_ADMIN)"
						       : "");
		return err;
	}
	for (i = 0; i < M_MAX; i++) {
		if (*ctl->pin_dir && !reused[i]) {
			pin_path(ctl->pin_dir, map_names[i], path, sizeof(path));
			err = bpf_map__pin(maps[i], path);
			if (err) {
				pr_err("intercept: cannot pin %s: %s", path, strerror(-err));
				return err;
			}
		}
		ctl->fd[i] = dup(bpf_map__fd(maps[i]));
		if (ctl->fd[i] < 0)
			return -errno;
	}
	return 0;
}

/* Is any cgroup still intercepted through this pin directory? */
static bool links_left(const char *dir)
{
	struct dirent *de;
	bool left = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while (!left && (de = readdir(d)))
		left = !strncmp(de->d_name, "cg", 2);
	closedir(d);
	return left;
}

/* The last detach takes the maps' pins and the directory with it. */
static void unpin_maps_if_unused(const char *dir)
{
	char path[512];

	if (links_left(dir))
		return;
	for (int i = 0; i < M_MAX; i++)
		if (!pin_path(dir, map_names[i], path, sizeof(path)))
			unlink(path);
	if (rmdir(dir) && errno != ENOTEMPTY && errno != EBUSY)
		pr_debug("intercept: cannot remove %s: %s", dir, strerror(errno));
}

struct intercept_ctl *intercept_ctl_open(const struct intercept_opts *opts, const char *pin_dir)
{
	struct intercept_conf probe;
	struct intercept_ctl *ctl;
	int err, lock = -1;

	err = conf_build(opts, &probe);
	if (err) {
		pr_err("intercept: invalid options: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	ctl = ctl_new();
	if (!ctl)
		return NULL;
	if (pin_dir) {
		err = check_pin_dir(pin_dir);
		if (err)
			goto err_free;
		snprintf(ctl->pin_dir, sizeof(ctl->pin_dir), "%s", pin_dir);
		err = bpffs_prepare(pin_dir);
		if (err) {
			pr_err("intercept: cannot prepare %s: %s", pin_dir, strerror(-err));
			goto err_free;
		}
		lock = pin_lock(pin_dir);
		if (lock < 0) {
			err = lock;
			goto err_free;
		}
	}
	ctl->skel = intercept_bpf__open();
	if (!ctl->skel) {
		err = -errno;
		pr_err("intercept: cannot open the BPF object: %s", strerror(-err));
		goto err_free;
	}
	err = load_and_pin(ctl);
	if (!err)
		err = stats_map(ctl);
	if (!err)
		err = intercept_ctl_configure(ctl, opts);
	if (err)
		goto err_free;
	pin_unlock(lock);
	return ctl;

err_free:
	intercept_ctl_close(ctl);
	/* Maps we pinned and no cgroup uses would only mislead the next reader. */
	if (lock >= 0)
		unpin_maps_if_unused(pin_dir);
	pin_unlock(lock);
	errno = -err;
	return NULL;
}

struct intercept_ctl *intercept_ctl_open_pinned(const char *pin_dir)
{
	struct intercept_ctl *ctl;
	char path[512];
	int err;

	if (!pin_dir)
		pin_dir = INTERCEPT_PIN_DEFAULT;
	err = check_pin_dir(pin_dir);
	if (err) {
		errno = -err;
		return NULL;
	}
	ctl = ctl_new();
	if (!ctl)
		return NULL;
	for (int i = 0; i < M_MAX; i++) {
		err = pin_path(pin_dir, map_names[i], path, sizeof(path));
		if (err)
			goto err_free;
		ctl->fd[i] = bpf_obj_get(path);
		if (ctl->fd[i] < 0) {
			err = -errno;
			if (err == -ENOENT)
				pr_err("intercept: nothing intercepted under %s (%s missing)",
				       pin_dir, map_names[i]);
			else
				pr_err("intercept: cannot open %s: %s", path, strerror(-err));
			goto err_free;
		}
	}
	err = stats_map(ctl);
	if (err)
		goto err_free;
	return ctl;

err_free:
	intercept_ctl_close(ctl);
	errno = -err;
	return NULL;
}

void intercept_ctl_close(struct intercept_ctl *ctl)
{
	if (!ctl)
		return;
	for (int l = 0; l < L_MAX; l++) {
		if (!ctl->links[l])
			continue;
		/* A pinned link stays attached when its fd closes: that is the point. */
		if (*ctl->pin_dir)
			bpf_link__disconnect(ctl->links[l]);
		bpf_link__destroy(ctl->links[l]);
	}
	if (ctl->stats)
		munmap(ctl->stats, stats_len());
	for (int i = 0; i < M_MAX; i++)
		if (ctl->fd[i] >= 0)
			close(ctl->fd[i]);
	intercept_bpf__destroy(ctl->skel);
	free(ctl);
}

/*
 * Make the pins of this loader's maps exist again after the last detach
 * removed them, so that the proxy finds what the programs now write.
 * -ESTALE when another loader pinned other maps there in between.
 */
static int repin_maps(struct intercept_ctl *ctl)
{
	char path[512];

	for (int i = 0; i < M_MAX; i++) {
		struct bpf_map_info a = {0}, b = {0};
		__u32 la = sizeof(a), lb = sizeof(b);
		int fd, err = 0;

		pin_path(ctl->pin_dir, map_names[i], path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT || bpf_obj_pin(ctl->fd[i], path))
				return -errno;
			continue;
		}
		if (bpf_obj_get_info_by_fd(fd, &a, &la) ||
		    bpf_obj_get_info_by_fd(ctl->fd[i], &b, &lb))
			err = -errno;
		else if (a.id != b.id)
			err = -ESTALE;
		close(fd);
		if (err) {
			pr_err("intercept: %s is not this loader's map: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

int intercept_ctl_attach(struct intercept_ctl *ctl, const char *cgroup)
{
	struct bpf_program *progs[L_MAX];
	char self[PATH_MAX], path[512];
	int err, cgfd = -1, lock = -1, l;
	uint64_t self_cgid = 0;

	if (!ctl->skel)
		return -EINVAL;
	if (ctl->attached)
		return -EBUSY;
	err = cgroupfs_resolve(cgroup, ctl->cgroup, sizeof(ctl->cgroup));
	if (err) {
		pr_err("intercept: no cgroup %s: %s", cgroup, strerror(-err));
		return err;
	}
	err = cgroupfs_id(ctl->cgroup, &ctl->cgid);
	if (err)
		return err;
	/* The caller's connects would come back to it (intercept.h, loops). */
	if (!cgroupfs_self(self, sizeof(self)) && cgroupfs_within(self, ctl->cgroup) &&
	    (cgroupfs_id(self, &self_cgid) || self_cgid != ctl->skip_cgid)) {
		pr_err("intercept: this process is in %s: its own connections would be "
		       "intercepted; run the proxy outside it or skip its cgroup",
		       ctl->cgroup);
		return -ELOOP;
	}
	if (*ctl->pin_dir) {
		err = bpffs_prepare(ctl->pin_dir);
		if (err)
			return err;
		lock = pin_lock(ctl->pin_dir);
		if (lock < 0)
			return lock;
		err = repin_maps(ctl);
		if (err)
			goto out;
		err = link_path(ctl->pin_dir, ctl->cgid, L_CONNECT4, path, sizeof(path));
		if (err)
			goto out;
		if (!access(path, F_OK)) {
			pr_err("intercept: %s is already intercepted (%s)", ctl->cgroup, path);
			err = -EEXIST;
			goto out;
		}
	}
	cgfd = open(ctl->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		err = -errno;
		goto out;
	}
	progs[L_CONNECT4] = ctl->skel->progs.intercept_connect4;
	progs[L_CONNECT6] = ctl->skel->progs.intercept_connect6;
	progs[L_SOCKOPS] = ctl->skel->progs.intercept_sockops;
	/* sockops first: a connect redirected before it is attached would never be tracked. */
	for (l = L_MAX - 1; l >= 0; l--) {
		ctl->links[l] = bpf_program__attach_cgroup(progs[l], cgfd);
		if (!ctl->links[l]) {
			err = -errno;
			pr_err("intercept: cannot attach %s to %s: %s", link_names[l], ctl->cgroup,
			       strerror(-err));
			goto err_links;
		}
	}
	for (l = 0; *ctl->pin_dir && l < L_MAX; l++) {
		link_path(ctl->pin_dir, ctl->cgid, l, path, sizeof(path));
		err = bpf_link__pin(ctl->links[l], path);
		if (err) {
			pr_err("intercept: cannot pin %s: %s", path, strerror(-err));
			goto err_links;
		}
	}
	ctl->attached = true;
	pr_debug("intercept: attached to %s (cgroup id %llu)", ctl->cgroup,
		 (unsigned long long)ctl->cgid);
	err = 0;
	goto out;

err_links:
	for (l = 0; l < L_MAX; l++) {
		if (!ctl->links[l])
			continue;
		bpf_link__unpin(ctl->links[l]);
		bpf_link__destroy(ctl->links[l]);
		ctl->links[l] = NULL;
	}
out:
	if (cgfd >= 0)
		close(cgfd);
	pin_unlock(lock);
	return err;
}

int intercept_ctl_detach(struct intercept_ctl *ctl)
{
	int lock = -1;

	if (!ctl->attached)
		return -ENOENT;
	if (*ctl->pin_dir)
		lock = pin_lock(ctl->pin_dir);
	for (int l = 0; l < L_MAX; l++) {
		/* Detach even if another process holds the pinned link open. */
		bpf_link__detach(ctl->links[l]);
		bpf_link__unpin(ctl->links[l]);
		bpf_link__destroy(ctl->links[l]);
		ctl->links[l] = NULL;
	}
	ctl->attached = false;
	if (*ctl->pin_dir) {
		unpin_maps_if_unused(ctl->pin_dir);
		pin_unlock(lock);
	}
	return 0;
}

/* Detach and unpin the links of one cgroup id; 0 or -ENOENT when none was pinned. */
static int detach_links(const char *dir, uint64_t cgid)
{
	int found = 0;
	char path[512];

	for (int l = 0; l < L_MAX; l++) {
		int fd;

		if (link_path(dir, cgid, l, path, sizeof(path)))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		found++;
		/* Fails harmlessly for a link whose cgroup is gone. */
		bpf_link_detach(fd);
		close(fd);
		unlink(path);
	}
	return found ? 0 : -ENOENT;
}

/* Cgroup ids with pinned links under dir, at most max; count or -errno. */
static int pinned_cgids(const char *dir, uint64_t *ids, int max)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while (n < max && (de = readdir(d))) {
		unsigned long long id;
		int end = 0;

		if (sscanf(de->d_name, "cg%llu_connect4%n", &id, &end) == 1 && end &&
		    !de->d_name[end])
			ids[n++] = id;
	}
	closedir(d);
	return n;
}

int intercept_detach_pinned(const char *pin_dir, const char *cgroup)
{
	uint64_t cgids[64];
	char path[PATH_MAX];
	int err, lock, n = 1;

	if (!pin_dir)
		pin_dir = INTERCEPT_PIN_DEFAULT;
	err = check_pin_dir(pin_dir);
	if (err)
		return err;
	if (cgroup) {
		err = cgroupfs_resolve(cgroup, path, sizeof(path));
		if (!err)
			err = cgroupfs_id(path, &cgids[0]);
		if (err) {
			pr_err("intercept: no cgroup %s: %s", cgroup, strerror(-err));
			return err;
		}
	}
	lock = pin_lock(pin_dir);
	if (lock < 0)
		return lock;
	if (!cgroup) {
		n = pinned_cgids(pin_dir, cgids, 64);
		err = n < 0 ? n : n == 0 ? -ENOENT : 0;
	}
	for (int i = 0; i < n && n > 0; i++) {
		int e = detach_links(pin_dir, cgids[i]);

		if (e && !err)
			err = e;
	}
	/* Also when nothing was attached: maps pinned by a failed loader go. */
	unpin_maps_if_unused(pin_dir);
	pin_unlock(lock);
	return err;
}

const char *intercept_ctl_cgroup(const struct intercept_ctl *ctl)
{
	return ctl->attached ? ctl->cgroup : NULL;
}

/* The map key for a peer address as getpeername() gives it. */
static int peer_key(const struct sockaddr *sa, struct intercept_peer *key)
{
	memset(key, 0, sizeof(*key));
	if (!sa)
		return -EINVAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key->family = AF_INET;
		key->addr[0] = in->sin_addr.s_addr;
		key->port = in->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		key->port = in6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			key->family = AF_INET;
			memcpy(&key->addr[0], &in6->sin6_addr.s6_addr[12], 4);
		} else {
			key->family = AF_INET6;
			memcpy(key->addr, &in6->sin6_addr, sizeof(key->addr));
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

static void stat_add(struct intercept_ctl *ctl, enum intercept_stat s)
{
	__atomic_fetch_add(&ctl->stats[s], 1, __ATOMIC_RELAXED);
}

int intercept_take(struct intercept_ctl *ctl, const struct sockaddr *client_peer,
		   struct intercept_dst *dst)
{
	struct intercept_peer key;
	int err = peer_key(client_peer, &key);

	if (err)
		return err;
	if (bpf_map_lookup_and_delete_elem(ctl->fd[M_ORIG], &key, dst)) {
		err = -errno;
		/* Before 5.14 hash maps had no lookup-and-delete. */
		if (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP) {
			err = bpf_map_lookup_elem(ctl->fd[M_ORIG], &key, dst) ? -errno : 0;
			if (!err)
				bpf_map_delete_elem(ctl->fd[M_ORIG], &key);
		}
	}
	if (err == -ENOENT)
		stat_add(ctl, INTERCEPT_STAT_LOOKUP_MISS);
	else if (!err)
		stat_add(ctl, INTERCEPT_STAT_LOOKUP_HIT);
	return err;
}

int intercept_lookup_orig(struct intercept_ctl *ctl, const struct sockaddr *client_peer,
			  struct sockaddr_storage *orig)
{
	struct intercept_dst d;
	int err = intercept_take(ctl, client_peer, &d);

	if (err)
		return err;
	memset(orig, 0, sizeof(*orig));
	if (d.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)orig;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = d.addr[0];
		in->sin_port = d.port;
	} else if (d.family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)orig;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, d.addr, sizeof(in6->sin6_addr));
		in6->sin6_port = d.port;
	} else {
		return -EPROTO; /* never written by the programs */
	}
	return 0;
}

int intercept_ctl_stats(struct intercept_ctl *ctl, uint64_t out[INTERCEPT_STAT_MAX])
{
	for (int i = 0; i < INTERCEPT_STAT_MAX; i++)
		out[i] = __atomic_load_n(&ctl->stats[i], __ATOMIC_RELAXED);
	return 0;
}

long intercept_ctl_count_orig(struct intercept_ctl *ctl)
{
	struct intercept_peer key, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(ctl->fd[M_ORIG], prev, &next)) {
		n++;
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? n : -errno;
}

const char *intercept_stat_name(enum intercept_stat s)
{
	static const char *const names[INTERCEPT_STAT_MAX] = {
	    [INTERCEPT_STAT_CONNECT] = "connect",
	    [INTERCEPT_STAT_REDIRECTED] = "redirected",
	    [INTERCEPT_STAT_STORE_FAIL] = "store_fail",
	    [INTERCEPT_STAT_SKIP_NOT_TCP] = "skip_not_tcp",
	    [INTERCEPT_STAT_SKIP_NETNS] = "skip_netns",
	    [INTERCEPT_STAT_SKIP_CGROUP] = "skip_cgroup",
	    [INTERCEPT_STAT_SKIP_MARK] = "skip_mark",
	    [INTERCEPT_STAT_SKIP_NO_PROXY] = "skip_no_proxy",
	    [INTERCEPT_STAT_SKIP_PROXY] = "skip_proxy",
	    [INTERCEPT_STAT_SKIP_PORT] = "skip_port",
	    [INTERCEPT_STAT_TRACKED] = "tracked",
	    [INTERCEPT_STAT_TRACK_FAIL] = "track_fail",
	    [INTERCEPT_STAT_UNTRACKED] = "untracked",
	    [INTERCEPT_STAT_LOOKUP_HIT] = "lookup_hit",
	    [INTERCEPT_STAT_LOOKUP_MISS] = "lookup_miss",
	};

	return (unsigned)s < INTERCEPT_STAT_MAX ? names[s] : NULL;
}
