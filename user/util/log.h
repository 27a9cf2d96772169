/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One logging header for all of userspace. Messages go to stderr (only the
 * CLI writes to stdout). libbpf's own chatter is routed through here and
 * demoted one level, as xdp-tools does.
 */
#ifndef XDP_UTIL_LOG_H
#define XDP_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Messages above this level are dropped. Default LOG_LVL_INFO. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/* Parse "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

/* Route libbpf's print callback through log_msg. */
void log_hook_libbpf(void);
/*
 * While on (calls nest), libbpf's warnings count as debug: for probes whose
 * failure is expected and explained by the caller (libxdp's dispatcher).
 */
void log_libbpf_quiet(bool on);

#define pr_err(...)   log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
