/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a step of the XDP LB pipeline returns, so that the entry point reads
 * as a pipeline (after Katran) and every outcome is counted in one place:
 *
 *   LB_CONTINUE                    go on with the next step
 *   lb_drop(LB_DROP_x)             drop, counted in lb_drops[x] (Cilium-style
 *                                  named reason, always negative)
 *   LB_VERDICT(XDP_x, LB_STAT_y)   return XDP_x, counted in lb_stats[y]
 *
 * The entry point turns the result into an XDP action with lb_done()
 * (bpf/xdp_lb.bpf.c), which owns the counter maps.
 */
#ifndef XDPROXY_BPF_VERDICT_H
#define XDPROXY_BPF_VERDICT_H

#include <linux/bpf.h>
#include "xdproxy/lb.h"

#define LB_CONTINUE (-1)

/* An XDP action and the lb_stat that names it; the action sits in the low byte. */
#define LB_VERDICT(act, stat) ((int)(((stat) << 8) | (act)))
#define LB_VERDICT_ACT(v)     ((v)&0xff)
#define LB_VERDICT_STAT(v)    ((__u32)(v) >> 8)

static __always_inline int lb_drop(enum lb_drop reason)
{
	return -2 - (int)reason;
}

static __always_inline int lb_is_drop(int v)
{
	return v < LB_CONTINUE;
}

static __always_inline __u32 lb_drop_reason(int v)
{
	return (__u32)(-2 - v);
}

#endif
