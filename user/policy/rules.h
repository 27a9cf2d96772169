/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Forward-proxy policy: who may reach what, through CONNECT or a forwarded
 * HTTP request, and when. An ordered list of rules, first match wins, plus
 * the defaults a forward proxy must have. Pure (the schedules' zone files
 * are read once, by fpol_new), no global state; a policy is immutable once
 * built, so any number of threads may evaluate against it.
 *
 * The flow for one request:
 *
 *   rc = fpol_eval(p, &(struct fpol_req){...}, time(NULL), &v);
 *   v.action == FPOL_DENY: fpol_page(&v, host, hlen, port, html, ...), 403
 *   resolve host; for each address a (in the order you would connect):
 *           fpol_check_dest(p, v.rule, a, &v2);
 *           v2.action == FPOL_DENY: skip a (log v2.reason);
 *   no address left: 403 with the last v2.
 *
 * The destination check runs on every resolved address, after resolution,
 * and on the address actually connected to: checking the name, or one
 * lookup and connecting after another, lets DNS rebinding walk in. An IP
 * literal host goes through it too.
 *
 * A rule matches a request when all of these hold:
 *   - meth: FPOL_METH_ANY, or CONNECT for a CONNECT request, or HTTP for
 *     a forwarded (absolute-form) request;
 *   - sched: none, or sched_active at the evaluation time;
 *   - src: no client set, or the client address is in it (a request
 *     without a client address never matches a rule with a client set);
 *   - dst: no host set, or the normalized host is in it;
 *   - ports: the rule's ports list holds the port. A rule without a ports
 *     list matches every port, except that an ALLOW rule without one only
 *     matches CONNECT requests to the policy's connect ports (443 unless
 *     fpol_opts.connect_ports says otherwise): CONNECT is a raw tunnel to
 *     anything, so it reaches another port only where a rule lists it.
 *     Deny rules need no such care: "deny social" denies every port.
 * No rule matching: the default action; but a CONNECT to a port outside
 * the connect ports is denied even when the default is allow, and the
 * reason names that (also when only the port kept an allow rule from
 * matching).
 *
 * Host and client sets are callbacks, so the domain sets and CIDR sets
 * built elsewhere in this module plug in without this file knowing their
 * types or duplicating their matching (exact, "*.example.com",
 * ".example.com" live in one place). A set is borrowed: it must outlive the
 * policy, and be safe to call from several threads at once (read-only).
 */
#ifndef XDP_POLICY_RULES_H
#define XDP_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sockaddr;

/* Zero is deny, so a zeroed fpol_opts fails closed. */
enum fpol_action {
	FPOL_DENY = 0,
	FPOL_ALLOW,
	FPOL_ACTION__MAX,
};

enum fpol_meth {
	FPOL_METH_ANY = 0,
	FPOL_METH_CONNECT, /* CONNECT tunnels */
	FPOL_METH_HTTP,	   /* every forwarded request: GET http://..., POST, ... */
	FPOL_METH__MAX,
};

/*
 * Destination address classes (fpol_dest_class and a classifier callback
 * return a mask of them; 0 is an ordinary public address). Every class is
 * denied unless fpol_opts.dest_allow or the deciding rule's dest_allow
 * lists it.
 */
#define FPOL_DEST_LOOPBACK  0x01u /* 127/8, ::1 */
#define FPOL_DEST_PRIVATE   0x02u /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10 */
#define FPOL_DEST_LINKLOCAL 0x04u /* 169.254/16, fe80::/10 */
#define FPOL_DEST_UNSPEC    0x08u /* 0/8, :: (Linux connects 0.0.0.0 to the local host) */
#define FPOL_DEST_MULTICAST 0x10u /* 224/4, ff00::/8 */
#define FPOL_DEST_RESERVED                                                                         \
	0x20u /* 240/4 incl. broadcast, 192.0.0/24, ::/96 IPv4-compatible,                         \
	       * 100::/64, an unknown address family */
#define FPOL_DEST_ALL 0x3fu

/*
 * The classes of a (struct sockaddr_in or sockaddr_in6). IPv6 addresses
 * that embed an IPv4 one reach it, so they get its classes: IPv4-mapped
 * ::ffff:0:0/96, NAT64 64:ff9b::/96 (64:ff9b:1::/48 is PRIVATE), 6to4
 * 2002::/16. Documentation and benchmarking ranges (192.0.2/24,
 * 198.18/15, 2001:db8::/32, ...) are public: they route nowhere on the
 * Internet, and our own test networks use them. NULL or another family:
 * FPOL_DEST_RESERVED.
 */
unsigned fpol_dest_class(const struct sockaddr *a);

/* A set of destination host names: true when host is in set. */
struct fpol_hosts {
	/*
	 * host: NUL-terminated, lowercase ASCII, no port, no trailing dot, as
	 * the request named it (IDNA A-labels: the caller converts first; IP
	 * literals as written, IPv6 inside brackets). NULL match: any host.
	 */
	bool (*match)(const void *set, const char *host);
	const void *set;
};

/* A set of client addresses: true when a is in set. NULL match: any client. */
struct fpol_addrs {
	bool (*match)(const void *set, const struct sockaddr *a);
	const void *set;
};

/* A rule's schedule, as config text: see sched_parse for each field. */
struct fpol_sched_spec {
	const char *days;
	const char *const *windows;
	size_t nr_windows;
	const char *tz;
};

/* One rule, as the config parser fills it. fpol_new copies what it keeps. */
struct fpol_rule {
	const char *name; /* required, unique, 1..FPOL_NAME_MAX VCHARs */
	enum fpol_action action;
	enum fpol_meth meth;
	/*
	 * NULL: every port (for ALLOW rules and CONNECT: the connect ports,
	 * see the top). Else a comma-separated list of ports and ranges,
	 * 1..65535: "443", "80,443,8000-8999"; "*" is every port, listed
	 * explicitly (so CONNECT to any port).
	 */
	const char *ports;
	struct fpol_hosts dst;
	struct fpol_addrs src;
	const struct fpol_sched_spec *sched; /* NULL: always */
	/*
	 * FPOL_DEST_* classes that requests this rule allows may reach besides
	 * the policy's (an intranet rule: FPOL_DEST_PRIVATE). ALLOW rules only.
	 */
	unsigned dest_allow;
};

#define FPOL_NAME_MAX 64
/* Longest host fpol_eval takes: a DNS name is at most 253, "[" IPv6 "]" less. */
#define FPOL_HOST_MAX 255

struct fpol_opts {
	enum fpol_action default_action; /* when no rule matches; 0 = deny */
	const char *connect_ports;	 /* NULL: "443"; same syntax as fpol_rule.ports */
	unsigned dest_allow;		 /* FPOL_DEST_* classes allowed for every request */
	/* NULL: fpol_dest_class. Must be thread-safe; returns FPOL_DEST_* bits. */
	unsigned (*classify)(const struct sockaddr *a);
	const char *zonedir; /* for the schedules; NULL: SCHED_ZONEINFO_DIR */
};

struct fpol;

/*
 * Builds a policy from rules[0, n) and opts (NULL: all defaults). Parses
 * ports and schedules (loading their zones), and checks every rule: name
 * (present, VCHARs, at most FPOL_NAME_MAX, unique), action and meth in
 * range, a set given with no match function, dest_allow within
 * FPOL_DEST_ALL and only on ALLOW rules; and the options likewise.
 *
 * Returns the policy, or NULL with errno
 *   EINVAL  rules NULL with n > 0, or something above is wrong: err (if not
 *           NULL) gets "rule <index> '<name>': <what>", or "options: <what>"
 *           (truncated to errlen bytes, NUL included);
 *   ENOENT  a schedule names an unknown zone (err says which);
 *   ENOMEM  out of memory;
 *   or what loading a zone failed with.
 */
struct fpol *fpol_new(const struct fpol_rule *rules, size_t n, const struct fpol_opts *opts,
		      char *err, size_t errlen);

/* Frees p (not the sets it borrowed). Accepts NULL. */
void fpol_free(struct fpol *p);

/* Number of rules in p; 0 for NULL. */
size_t fpol_size(const struct fpol *p);

/* One request as the policy sees it. */
struct fpol_req {
	bool connect;	  /* a CONNECT tunnel, else a forwarded request */
	const char *host; /* host[0, host_len): the target's host, without port; any case,
			   * one trailing dot allowed */
	size_t host_len;
	uint16_t port; /* 1..65535: the target's port (80 when an http:// URI has none) */
	const struct sockaddr *client; /* NULL: unknown, rules with a client set don't match */
};

enum fpol_why {
	FPOL_WHY_RULE = 0,     /* rule `rule` matched */
	FPOL_WHY_DEFAULT,      /* no rule matched: the default action */
	FPOL_WHY_CONNECT_PORT, /* CONNECT to a port no rule lists */
	FPOL_WHY_DEST,	       /* fpol_check_dest: the address's class */
};

struct fpol_verdict {
	enum fpol_action action;
	enum fpol_why why;
	int rule;	     /* the matching rule's index, -1 when none */
	const char *name;    /* its name; NULL when none */
	const char *reason;  /* for logs and the 403 page, e.g. "denied by rule 'social'
			      * (mon-fri 09:00-17:00 Europe/Paris)"; valid while the policy is */
	unsigned dest_class; /* fpol_check_dest: the address's FPOL_DEST_* bits; else 0 */
};

/*
 * Evaluates req at time now (the injectable clock: pass time(NULL)) as
 * described at the top and fills *out.
 *
 * Returns 0, or -EINVAL: an argument NULL, host empty, longer than
 * FPOL_HOST_MAX (after dropping the trailing dot) or holding a NUL, port 0.
 */
int fpol_eval(const struct fpol *p, const struct fpol_req *req, time_t now,
	      struct fpol_verdict *out);

/*
 * Whether a resolved address a may be connected to, for a request fpol_eval
 * decided with rule `rule` (its verdict's rule, -1 for none): the
 * classifier's classes must all be in the policy's dest_allow or that
 * rule's. Fills *out: ALLOW (why FPOL_WHY_DEST, the rule and its name
 * carried over), or DENY with a reason naming the class and never the
 * address (the page goes to a client who should not learn internal
 * addresses; log the address yourself).
 *
 * Returns 0, or -EINVAL: p, a or out NULL, rule < -1 or >= fpol_size(p).
 */
int fpol_check_dest(const struct fpol *p, int rule, const struct sockaddr *a,
		    struct fpol_verdict *out);

/*
 * Writes a complete "HTTP/1.1 403 Forbidden" response for the deny verdict v
 * on host[0, host_len):port into out[0, cap): Content-Type text/html or
 * text/plain (charset utf-8), Content-Length, Cache-Control: no-store,
 * Connection: close, and a short body naming the host and v->reason. What
 * comes from the request (host) and the config (names) is escaped for
 * HTML (& < > " '), and bytes outside printable ASCII become '?' in both
 * formats; the host is cut at FPOL_HOST_MAX bytes. An IPv6 literal without
 * brackets gets them.
 *
 * Returns 0 and *len = bytes written, or
 *   -ENOSPC  *len = the size needed;
 *   -EINVAL  v, out (with cap > 0) or len NULL, host NULL with host_len > 0,
 *            v not a deny.
 */
int fpol_page(const struct fpol_verdict *v, const char *host, size_t host_len, uint16_t port,
	      bool html, char *out, size_t cap, size_t *len);

#endif
