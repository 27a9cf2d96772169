/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Config file -> validated, immutable struct. Pure: parses YAML with libyaml,
 * validates every value, and reports the first error as "file:line:col: msg".
 * No sockets are opened here; addresses are parsed into sockaddr_storage.
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
 */
#ifndef XDP_CONFIG_CONFIG_H
#define XDP_CONFIG_CONFIG_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

#define CFG_NAME_MAX	32
#define CFG_PATH_MAX	256
#define CFG_ERR_MAX	512

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
	char addr_str[64];		/* as written, for logs and stats */
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
	size_t pool;			/* index into cfg.pools */
	enum cfg_splice splice;
	uint64_t sndbuf;		/* 0 = leave the kernel default */
	uint64_t rcvbuf;
	uint64_t splice_budget;
	uint32_t connect_timeout_ms;
	int backlog;
};

struct cfg {
	int log_level;			/* enum log_level from util/log.h */
	uint32_t stats_interval_ms;
	char pin_path[CFG_PATH_MAX];
	uint32_t max_conns;
	struct cfg_listener *listeners;
	size_t nr_listeners;
	struct cfg_pool *pools;
	size_t nr_pools;
};

/* Defaults, chosen by measurement (see docs/ARCHITECTURE.md). */
#define CFG_DEF_SNDBUF		(8u << 20)
#define CFG_DEF_RCVBUF		(8u << 20)
#define CFG_DEF_SPLICE_BUDGET	(64u << 20)
#define CFG_DEF_CONNECT_MS	2000u
#define CFG_DEF_BACKLOG		1024
#define CFG_DEF_STATS_MS	1000u
#define CFG_DEF_MAX_CONNS	16384u
#define CFG_DEF_PIN_PATH	"/sys/fs/bpf/xdproxy"

/*
 * Limits enforced by the parser: sndbuf/rcvbuf 0..1G, splice_budget 4K..1G,
 * connect_timeout 1ms..60m, stats_interval 0 or 100ms..60m, max_conns
 * 1..16M, backlog 1..65535, weight 0..256, port 1..65535; no listeners, a
 * pool without backends, duplicate keys/names/binds/backends are errors.
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

#endif
