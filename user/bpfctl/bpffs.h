/* SPDX-License-Identifier: BSD-2-Clause */
/* bpffs: make sure it is mounted and a pin directory exists. */
#ifndef XDP_BPFCTL_BPFFS_H
#define XDP_BPFCTL_BPFFS_H

/*
 * Mount bpffs on /sys/fs/bpf when nothing is mounted there (it is missing
 * on fresh machines and inside 'ip netns exec', which remounts /sys), then
 * create dir (and its parents) under it. 0 or -errno; dir must start with
 * /sys/fs/bpf/.
 */
int bpffs_prepare(const char *dir);

#endif
