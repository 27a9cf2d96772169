// SPDX-License-Identifier: BSD-2-Clause
#include "bpfctl/cgroupfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "util/log.h"

#define CGROUPFS_MAIN	"/sys/fs/cgroup"
#define CGROUPFS_HYBRID "/sys/fs/cgroup/unified"

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == magic;
}

static int copy_path(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, s, n + 1);
	return 0;
}

int cgroupfs_root(char *buf, size_t len)
{
	if (is_fs(CGROUPFS_MAIN, CGROUP2_SUPER_MAGIC))
		return copy_path(buf, len, CGROUPFS_MAIN);
	if (is_fs(CGROUPFS_HYBRID, CGROUP2_SUPER_MAGIC))
		return copy_path(buf, len, CGROUPFS_HYBRID);
	/*
	 * Only a bare mount point (sysfs itself) is mounted on: a tmpfs there
	 * holds someone's cgroup v1 hierarchies, which we must not hide.
	 */
	if (!is_fs(CGROUPFS_MAIN, SYSFS_MAGIC)) {
		pr_err("cgroup: no cgroup v2 hierarchy on " CGROUPFS_MAIN " or " CGROUPFS_HYBRID);
		return -EOPNOTSUPP;
	}
	if (mount("cgroup2", CGROUPFS_MAIN, "cgroup2", 0, NULL)) {
		int err = -errno;

		pr_err("cgroup: cannot mount cgroup2 on " CGROUPFS_MAIN ": %s", strerror(-err));
		return err == -ENODEV ? -EOPNOTSUPP : err;
	}
	pr_debug("cgroup: mounted cgroup2 on " CGROUPFS_MAIN);
	return copy_path(buf, len, CGROUPFS_MAIN);
}

bool cgroupfs_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	while (n > 1 && outer[n - 1] == '/')
		n--;
	if (strncmp(inner, outer, n))
		return false;
	return inner[n] == '\0' || inner[n] == '/' || (n == 1 && outer[0] == '/');
}

int cgroupfs_resolve(const char *cgroup, char *out, size_t len)
{
	char root[PATH_MAX], rroot[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int err, n;

	if (!cgroup || !*cgroup)
		return -EINVAL;
	err = cgroupfs_root(root, sizeof(root));
	if (err)
		return err;
	if (!realpath(root, rroot))
		return -errno;
	if (cgroup[0] == '/')
		n = snprintf(joined, sizeof(joined), "%s", cgroup);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s", rroot, cgroup);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return -ENAMETOOLONG;
	if (!realpath(joined, real))
		return -errno;
	if (!cgroupfs_within(real, rroot))
		return -EINVAL;
	if (stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || !is_fs(real, CGROUP2_SUPER_MAGIC))
		return -ENOTDIR;
	return copy_path(out, len, real);
}

int cgroupfs_id(const char *path, uint64_t *id)
{
	/* A cgroup's file handle is its 64-bit kernfs id, the BPF cgroup id. */
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t)};
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return -EOPNOTSUPP;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int cgroupfs_self(char *out, size_t len)
{
	char root[PATH_MAX], line[PATH_MAX + 8];
	FILE *f;
	int err;

	err = cgroupfs_root(root, sizeof(root));
	if (err)
		return err;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	err = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		int w;

		if (strncmp(line, "0::", 3))
			continue;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		/* "0::/" is the root itself */
		w = snprintf(out, len, "%s%s", root, strcmp(line + 3, "/") ? line + 3 : "");
		err = w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return err;
}
