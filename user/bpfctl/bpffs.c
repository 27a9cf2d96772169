// SPDX-License-Identifier: BSD-2-Clause
#include "bpfctl/bpffs.h"

#include <errno.h>
#include <linux/magic.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "util/log.h"

#define BPFFS_ROOT "/sys/fs/bpf"

int bpffs_prepare(const char *dir)
{
	char path[PATH_MAX];
	struct statfs st;
	size_t len;

	if (strncmp(dir, BPFFS_ROOT "/", sizeof(BPFFS_ROOT)) != 0)
		return -EINVAL;
	if (statfs(BPFFS_ROOT, &st) || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			int err = -errno;

			pr_warn("cannot mount bpffs on " BPFFS_ROOT ": %s", strerror(-err));
			return err;
		}
		pr_debug("mounted bpffs on " BPFFS_ROOT);
	}
	len = strlen(dir);
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	/* mkdir -p, below the mount point */
	for (char *p = path + sizeof(BPFFS_ROOT); ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			break;
	}
	return 0;
}
