// SPDX-License-Identifier: BSD-2-Clause
#include "bpfctl/decap.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "tc_decap.skel.h"
#include "util/log.h"

/* Our filter's place on the hook: one handle and priority, so we find it again. */
#define DECAP_HANDLE 0x7864 /* "xd" */
#define DECAP_PRIO   0x7864

int decap_attach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DECAP_HANDLE, .priority = DECAP_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	struct tc_decap_bpf *skel;
	int err;

	skel = tc_decap_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		pr_err("decap: cannot load the TC program: %s", strerror(-err));
		return err;
	}
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("decap: cannot create the clsact qdisc: %s", strerror(-err));
		goto out;
	}
	opts.prog_fd = bpf_program__fd(skel->progs.tc_decap_ingress);
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_err("decap: cannot attach to ingress: %s", strerror(-err));
out:
	/* The filter holds its own reference to the program. */
	tc_decap_bpf__destroy(skel);
	return err;
}

int decap_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DECAP_HANDLE, .priority = DECAP_PRIO);

	if (!decap_query(ifindex))
		return -ENOENT;
	return bpf_tc_detach(&hook, &opts);
}

uint32_t decap_query(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DECAP_HANDLE, .priority = DECAP_PRIO);

	if (bpf_tc_query(&hook, &opts))
		return 0;
	return opts.prog_id;
}
