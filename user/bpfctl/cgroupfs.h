/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cgroup v2 for BPF cgroup programs: where the hierarchy is mounted, paths
 * below it, cgroup ids.
 */
#ifndef XDP_BPFCTL_CGROUPFS_H
#define XDP_BPFCTL_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Write the cgroup v2 mount point to buf: /sys/fs/cgroup when cgroup2 is
 * mounted there, else /sys/fs/cgroup/unified (systemd's hybrid layout,
 * cgroup v1 controllers beside it). When nothing at all is mounted on
 * /sys/fs/cgroup (a fresh /sys, as 'ip netns exec' gives every command, or a
 * bare machine) cgroup2 is mounted there. 0 or -errno: -EOPNOTSUPP when
 * there is no cgroup v2 hierarchy to use, -ENAMETOOLONG when buf is short.
 */
int cgroupfs_root(char *buf, size_t len);

/*
 * Resolve a cgroup given relative to the v2 root ("system.slice/x") or as
 * an absolute path below it, following symlinks and "..", into an absolute
 * path in out. 0 or -errno: -ENOENT (no such cgroup), -EINVAL (empty, or
 * outside the v2 hierarchy), -ENOTDIR (not a cgroup directory), or an error
 * of cgroupfs_root.
 */
int cgroupfs_resolve(const char *cgroup, char *out, size_t len);

/* The id of the cgroup at an absolute path (what bpf_get_current_cgroup_id() returns). */
int cgroupfs_id(const char *path, uint64_t *id);

/*
 * The absolute path of the calling process's own v2 cgroup, from
 * /proc/self/cgroup. 0 or -errno.
 */
int cgroupfs_self(char *out, size_t len);

/*
 * Whether the cgroup at 'inner' is 'outer' or below it; both are absolute
 * paths as cgroupfs_resolve and cgroupfs_self give them.
 */
bool cgroupfs_within(const char *inner, const char *outer);

#endif
