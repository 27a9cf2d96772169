/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The backends' side of IP-in-IP DSR: bpf/tc_decap.bpf.c on a TC ingress
 * hook strips the outer header the load balancer added (this kernel has no
 * ipip module to do it).
 */
#ifndef XDP_BPFCTL_DECAP_H
#define XDP_BPFCTL_DECAP_H

#include <stdint.h>

/*
 * Attach tc_decap_ingress to ifindex's TC ingress hook (creating the clsact
 * qdisc when missing, replacing an earlier copy of ours). It stays attached
 * after the process exits. 0 or -errno.
 */
int decap_attach(int ifindex);
/* Remove it again, leaving other filters and the qdisc alone; -ENOENT if absent. */
int decap_detach(int ifindex);
/* Id of our program on ifindex's ingress hook, 0 when there is none. */
uint32_t decap_query(int ifindex);

#endif
