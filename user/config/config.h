/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Config file -> validated, immutable struct. Pure: parses YAML with libyaml,
 * validates every value, and reports the first error as "file:line:col: msg".
 * No sockets are opened here; listener and pool addresses are parsed into
 * sockaddr_storage, lb addresses into the LB ABI's form (struct cfg_lb_addr).
 *
 * Schema (unknown keys are errors):
 *
 *   global:
 *     log_level: info            # error|warn|info|debug
 *     stats_interval: 1s         # duration; 0 disables periodic stats lines
 *     pin_path: /sys/fs/bpf/xdproxy
 *     max_conns: 16384           # spliced connections at once (sizes BPF maps)
 *   listeners:
 *     - name: web                # [A-Za-z0-9_.-]{1,31}, unique
 *       bind: 0.0.0.0:8080       # IPv4 "a.b.c.d:port" or IPv6 "[addr]:port"
 *       pool: origins            # must name a pool below
 *       mode: tcp                # only "tcp" for now
 *       splice: kernel           # kernel (sockmap) | user (splice(2))
 *       sndbuf: 8M               # size: bytes, or K/M/G suffix (1024-based); 0 = kernel default
 *       rcvbuf: 8M
 *       splice_budget: 64M       # max bytes queued in the kernel per spliced direction
 *       connect_timeout: 2s      # duration: ms, s, m suffix; plain number = seconds
 *       backlog: 1024
 *   pools:
 *     - name: origins
 *       balance: roundrobin      # weighted round robin (only algorithm for now)
 *       backends:
 *         - address: 10.0.0.2:80
 *           weight: 1            # 1..256; 0 = disabled
 *   lb:                          # the XDP load balancer (xdproxy attach IFACE -c FILE)
 *     vips:
 *       - name: web              # as for listeners, unique; default "vip<N>", N = index in vips
 *         address: 198.18.0.10   # IPv4 or IPv6, no port, no brackets
 *         port: 80               # 1..65535
 *         protocol: tcp          # tcp | udp
 *         mode: dsr-l2           # dsr-l2 | ipip | nat
 *         source: 198.18.2.1     # the LB's own address toward backends: required in
 *                                # ipip and nat, refused in dsr-l2; family of 'address'
 *         table_size: 65537      # Maglev table: prime, 7..1048573 (route/maglev.h, xdproxy/lb.h)
 *         backends:              # required; [] is valid: the VIP drops everything
 *           - address: 198.18.2.2   # family of the VIP's address
 *             port: 8080         # nat only; default: the VIP's port
 *             weight: 1          # 0..65535; 0 = drained (owns no Maglev slot)
 *
 * A file needs listeners, lb vips, or both. Each consumer checks for the
 * part it runs: `xdproxy run` needs nr_listeners > 0, `xdproxy attach`
 * nr_vips > 0; the parser cannot know which command reads the file.
 */
#ifndef XDP_CONFIG_CONFIG_H
#define XDP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

#include "xdproxy/lb.h"

#define CFG_NAME_MAX 32
#define CFG_PATH_MAX 256
#define CFG_ERR_MAX  512

enum cfg_splice {
	CFG_SPLICE_KERNEL = 0,
	CFG_SPLICE_USER,
};

enum cfg_balance {
	CFG_BALANCE_ROUNDROBIN = 0,
};

struct cfg_backend {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64]; /* as written, for logs and stats */
	unsigned int weight;
};

struct cfg_pool {
	char name[CFG_NAME_MAX];
	enum cfg_balance balance;
	struct cfg_backend *backends;
	size_t nr_backends;
};

struct cfg_listener {
	char name[CFG_NAME_MAX];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char bind_str[64];
	size_t pool; /* index into cfg.pools */
	enum cfg_splice splice;
	uint64_t sndbuf; /* 0 = leave the kernel default */
	uint64_t rcvbuf;
	uint64_t splice_budget;
	uint32_t connect_timeout_ms;
	int backlog;
};

/*
 * An address in the LB ABI's form (include/xdproxy/lb.h): family LB_AF_V4 or
 * LB_AF_V6 (not AF_*), network order, IPv4 in addr[0] with addr[1..3] zero,
 * so it copies as is into lb_vip_key.addr, lb_vip.src and lb_real.addr.
 * family 0 means "not given" (only cfg_vip.src can be).
 */
struct cfg_lb_addr {
	__be32 addr[4];
	uint8_t family;
	char str[48]; /* as written, for messages and logs */
};

/* A backend ("real") of one VIP. */
struct cfg_lb_backend {
	struct cfg_lb_addr addr; /* same family as the VIP's address */
	uint16_t port;		 /* host order; 0 = the VIP's port, as lb_real.port. Only
				    mode nat can set it, so it is 0 in dsr-l2 and ipip */
	uint32_t weight;	 /* 0..65535, default 1; 0 = drained: in no Maglev slot */
};

/*
 * A VIP: one service {address, port, protocol}. cfg_vip_key() gives its
 * lb_vips keys; mode, src.addr and table_size are what lb_vip and the Maglev
 * table need.
 */
struct cfg_vip {
	char name[CFG_NAME_MAX]; /* unique; "vip<N>" when not given, N = index in cfg.vips */
	struct cfg_lb_addr addr;
	uint16_t port;		/* host order, 1..65535 */
	uint8_t proto;		/* IPPROTO_TCP (default) | IPPROTO_UDP, as lb_vip_key.proto */
	enum lb_mode mode;	/* default LB_MODE_DSR_L2 */
	struct cfg_lb_addr src; /* ipip, nat: the LB's address toward backends, same
				   family as addr; dsr-l2: all zero (family 0) */
	uint32_t table_size;	/* prime, MAGLEV_SIZE_MIN..LB_RING_MAX; default LB_RING_DEFAULT */
	struct cfg_lb_backend *backends;
	size_t nr_backends; /* 0 is valid: the VIP drops what it receives */
};

struct cfg {
	int log_level; /* enum log_level from util/log.h */
	uint32_t stats_interval_ms;
	char pin_path[CFG_PATH_MAX];
	uint32_t max_conns;
	struct cfg_listener *listeners;
	size_t nr_listeners;
	struct cfg_pool *pools;
	size_t nr_pools;
	struct cfg_vip *vips; /* lb.vips in file order; NULL when there are none */
	size_t nr_vips;
};

/* Defaults, chosen by measurement (see docs/ARCHITECTURE.md). */
#define CFG_DEF_SNDBUF	      (8u << 20)
#define CFG_DEF_RCVBUF	      (8u << 20)
#define CFG_DEF_SPLICE_BUDGET (64u << 20)
#define CFG_DEF_CONNECT_MS    2000u
#define CFG_DEF_BACKLOG	      1024
#define CFG_DEF_STATS_MS      1000u
#define CFG_DEF_MAX_CONNS     16384u
#define CFG_DEF_PIN_PATH      "/sys/fs/bpf/xdproxy"

/*
 * Limits enforced by the parser: sndbuf/rcvbuf 0..1G, splice_budget 4K..1G,
 * connect_timeout 1ms..60m, stats_interval 0 or 100ms..60m, max_conns
 * 1..16M, backlog 1..65535, weight 0..256, port 1..65535; a pool without
 * backends, duplicate keys/names/binds/backends are errors, and so is a file
 * with neither listeners nor lb vips.
 *
 * lb: a VIP's address, source and backends are one family; no two VIPs share
 * {address, port, protocol}; no backend is listed twice in a VIP (same
 * address and, in nat, same port). Two capacity limits of the datapath's
 * maps are checked here, counted the way include/xdproxy/lb.h and
 * user/bpfctl/lb.h spend the entries:
 *  - lb_vips: every VIP takes one entry and every distinct VIP address one
 *    more (its address-only entry), so VIPs + distinct addresses must not
 *    exceed LB_MAX_VIPS: 256 VIPs on 256 addresses, or 511 on one address.
 *  - lb_reals: a real is shared by every VIP that names the same {address,
 *    port} (port as stored in cfg_lb_backend, 0 = "the VIP's port"), so the
 *    distinct pairs over all VIPs must not exceed LB_MAX_REALS - 1.
 */

/*
 * The built-in demo config (NUL-terminated YAML): listener "demo" on
 * 198.18.1.1:8080 splicing in the kernel to pool "origins" (three backends,
 * weights 1,1,2). Parse with cfg_parse_string(name, s, strlen(s), ...).
 */
extern const char cfg_default_yaml[];

/*
 * Parse and validate. On success returns a new cfg (free with cfg_free) and
 * leaves err untouched. On failure returns NULL, sets errno (EINVAL for bad
 * content, or the errno of a failed open/read) and writes a one-line message
 * "name:line:col: what is wrong" into err (CFG_ERR_MAX bytes). 'name' is used
 * only in messages.
 */
struct cfg *cfg_parse_file(const char *path, char *err, size_t errlen);
struct cfg *cfg_parse_string(const char *name, const char *text, size_t len, char *err,
			     size_t errlen);

/* Accepts NULL. */
void cfg_free(struct cfg *cfg);

/* Helpers also used by the CLI; 0 or -EINVAL. */
int cfg_parse_size(const char *s, uint64_t *out);
int cfg_parse_duration_ms(const char *s, uint32_t *out);
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/*
 * Fills *key with the lb_vips key of vip's service {addr, port, proto,
 * family}, or with addr_only of its address-only entry {addr, 0, 0, family}
 * (to be flagged LB_VIP_F_ADDR). Port in network order, as the map wants.
 */
void cfg_vip_key(const struct cfg_vip *vip, bool addr_only, struct lb_vip_key *key);

#endif
