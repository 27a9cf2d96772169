/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Control of transparent interception (bpf/intercept.bpf.c): the only code
 * that touches its skeleton and maps. See include/xdproxy/intercept.h for
 * the flow and the loop guards.
 *
 * Two kinds of handle:
 *   - a loader (intercept_ctl_open): loads the programs, writes the
 *     configuration and attaches to one cgroup. With a pin directory, maps
 *     and links are pinned there, so the interception outlives the loader
 *     (the CLI) and other processes find it;
 *   - a user (intercept_ctl_open_pinned): the proxy, or the CLI reading
 *     counters or changing the configuration, on the pinned maps only.
 * Maps pinned under one directory are shared by every loader using it:
 * several cgroups can be intercepted into one proxy, which reads one map.
 */
#ifndef XDP_BPFCTL_INTERCEPT_H
#define XDP_BPFCTL_INTERCEPT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "xdproxy/intercept.h"

#define INTERCEPT_PIN_DEFAULT "/sys/fs/bpf/xdproxy/intercept"

struct intercept_ctl;

/* What to intercept and where to send it. */
struct intercept_opts {
	/* where IPv4 (and v4-mapped) connects go; sin_family 0: leave them alone */
	struct sockaddr_in proxy4;
	/* where IPv6 connects go; sin6_family 0: leave them alone */
	struct sockaddr_in6 proxy6;
	const uint16_t *ports; /* destination ports to intercept */
	size_t nports;	       /* 1..INTERCEPT_PORTS_MAX, or 0 with all_tcp */
	bool all_tcp;	       /* every destination port */
	uint32_t skip_mark;    /* SO_MARK of sockets never redirected; 0: none */
	/*
	 * Id of a cgroup whose tasks are never redirected (cgroupfs_id()):
	 * the proxy's, when it runs inside the intercepted subtree. 0: none.
	 */
	uint64_t skip_cgid;
	/*
	 * Network namespace whose sockets are redirected (SO_NETNS_COOKIE);
	 * 0: the caller's. Sockets of other namespaces are left alone.
	 */
	uint64_t netns_cookie;
};

/*
 * Load the programs and write opts. With pin_dir (below /sys/fs/bpf/;
 * usually INTERCEPT_PIN_DEFAULT) maps already pinned there are reused and
 * the others pinned, and intercept_ctl_attach pins its links there too;
 * without, everything lives as long as the handle. The configuration is
 * one per pin directory: opts replace it for every cgroup intercepted
 * through that directory. NULL with errno set and
 * a log line: EINVAL (bad opts or pin_dir), EPERM (needs root: CAP_BPF,
 * CAP_NET_ADMIN), EOPNOTSUPP (the kernel lacks the hooks).
 */
struct intercept_ctl *intercept_ctl_open(const struct intercept_opts *opts, const char *pin_dir);

/*
 * Open the maps pinned under pin_dir (NULL: INTERCEPT_PIN_DEFAULT) without
 * loading anything: for the proxy's lookups, counters and reconfiguration.
 * NULL with errno set: ENOENT when nothing is pinned there. A handle keeps
 * the maps it opened: after a full detach and a new attach, open again.
 */
struct intercept_ctl *intercept_ctl_open_pinned(const char *pin_dir);

/*
 * Closes the handle. Accepts NULL. Attachments made with a pin directory
 * stay (use intercept_ctl_detach or intercept_detach_pinned); the others
 * end here.
 */
void intercept_ctl_close(struct intercept_ctl *ctl);

/*
 * Replace the configuration (ports, proxy addresses, guards) of a running
 * interception atomically for the programs. 0 or -errno (-EINVAL: bad
 * opts, -E2BIG: more than INTERCEPT_PORTS_MAX ports).
 */
int intercept_ctl_configure(struct intercept_ctl *ctl, const struct intercept_opts *opts);

/*
 * Attach a loader's programs to a cgroup (relative to the cgroup v2 root or
 * absolute below it, see cgroupfs_resolve), one cgroup per handle. Refuses
 * with -ELOOP when the calling process is in that cgroup or below it while
 * its own cgroup is not skip_cgid (whoever attaches is taken to run, or to
 * be, the proxy: see intercept.h on loops); -EEXIST when this pin directory
 * already intercepts that cgroup; -EBUSY when the handle is attached;
 * -EINVAL for a handle from intercept_ctl_open_pinned; -EOPNOTSUPP when a
 * hook is missing. Nothing is left attached on failure.
 */
int intercept_ctl_attach(struct intercept_ctl *ctl, const char *cgroup);

/*
 * Detach what intercept_ctl_attach attached (and its pins). The maps'
 * pins go too when no other cgroup of the pin directory is intercepted.
 * 0 or -ENOENT when not attached.
 */
int intercept_ctl_detach(struct intercept_ctl *ctl);

/*
 * Detach the interception of a cgroup (NULL: of every cgroup, also those
 * removed since) from its pins, from any process (the CLI's "off"), and
 * remove the maps' pins when no cgroup is left. 0 or -errno: -ENOENT when
 * pin_dir (NULL: default) does not intercept that cgroup (or any).
 */
int intercept_detach_pinned(const char *pin_dir, const char *cgroup);

/* The cgroup attached by this handle (absolute path), or NULL. */
const char *intercept_ctl_cgroup(const struct intercept_ctl *ctl);

/*
 * Take the original destination of an intercepted connection out of the
 * map: client_peer is the accepted socket's getpeername() (AF_INET, or
 * AF_INET6 including v4-mapped peers of a dual-stack listener). On success
 * orig holds a sockaddr_in or sockaddr_in6 (a v4-mapped destination comes
 * back as AF_INET) and the entry is gone: a second call misses. 0, -ENOENT
 * (no entry: not intercepted, or evicted), -EAFNOSUPPORT or -errno.
 * Counted as INTERCEPT_STAT_LOOKUP_HIT / _MISS.
 */
int intercept_lookup_orig(struct intercept_ctl *ctl, const struct sockaddr *client_peer,
			  struct sockaddr_storage *orig);

/*
 * As intercept_lookup_orig, with the raw entry (the connecting process's
 * pid and cgroup too). Both may be called from several threads at once.
 */
int intercept_take(struct intercept_ctl *ctl, const struct sockaddr *client_peer,
		   struct intercept_dst *dst);

/* Read the counters into out[INTERCEPT_STAT_MAX]. 0 or -errno. */
int intercept_ctl_stats(struct intercept_ctl *ctl, uint64_t out[INTERCEPT_STAT_MAX]);

/* Entries waiting in intercept_orig (walks the map; for tests and status), or -errno. */
long intercept_ctl_count_orig(struct intercept_ctl *ctl);

/* Name of a counter, for stats output ("redirected", "skip_port", ...). */
const char *intercept_stat_name(enum intercept_stat s);

#endif
