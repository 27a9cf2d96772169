/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP request routing: an ordered list of rules, each matching on the
 * request's host, path, method and header fields; the first rule that
 * matches names the upstream pool, the target to forward, and the header
 * fields to drop and add on the request and on its response. Pure: no I/O,
 * no global state; a table is immutable once built, so any number of
 * threads may match against it.
 *
 * The flow for one request (m parsed by h1_parse_request from buf):
 *
 *   char scratch[...];                   (route_scratch_size(&m) bytes)
 *   rc = route_req_prepare(&r, &m, buf, scratch, sizeof(scratch));
 *   rc == -EBADMSG: answer 400, close.   (nothing may reach an origin that
 *                                         it could read another way)
 *   i = route_match(t, &r);              (-ENOENT: answer 404)
 *   pool = route_rule_get(t, i)->pool;
 *   route_target(t, i, &r, target, cap, &tlen);
 *   h1_hop_fields(&m, buf, 0, &drop);
 *   route_req_ops(t, i, &m, buf, &drop, add, ROUTE_OPS_MAX, &nr_add);
 *   h1_write_head(&m, buf, &(struct h1_rewrite){&drop, add, nr_add,
 *                 target, tlen}, out, ocap, &olen);
 *   ... and route_resp_ops(t, i, ...) on the upstream's response.
 *
 * The proxy forwards the target it matched, never the bytes it received:
 * matching one path and forwarding another is how ACL bypasses happen. So a
 * request is normalized once (route_req_prepare), every rule sees the
 * normalized host and path, and route_target builds the upstream target
 * from that same normalized path. What the normalization does:
 *
 *  - host: the request's authority (absolute-form target, else Host; RFC
 *    9112 3.2.2) without its port, lowercased, one trailing dot dropped.
 *    IPv6 literals keep their brackets and are compared as text (write the
 *    rule the way clients write the address). A percent-encoded reg-name
 *    ("ex%61mple.com") or an empty label (".a", "a..b") is refused: an origin
 *    could decode or split it differently. No authority (HTTP/1.0 without
 *    Host, or an empty Host) gives host "", which only ROUTE_HOST_ANY
 *    matches.
 *  - path: the query ("?" onwards) is split off and kept byte for byte;
 *    then percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are
 *    decoded, the remaining escapes get uppercase hex, runs of '/' are merged
 *    and dot-segments removed (RFC 3986 6.2.2, 5.2.4; merging comes first,
 *    as in nginx, so "/a//../b" is "/b"). ".." at the root stays at the root
 *    ("/../a" is "/a"), as RFC 3986 says: that is not an error. A trailing
 *    '/' is kept. An empty absolute-form path is "/". Paths compare
 *    case-sensitively.
 *  - refused with -EBADMSG, because origins disagree about them: %2F and
 *    %5C (an encoded '/' or '\' is one segment to us and two to many
 *    servers), %00, a malformed escape ('%' without two hex digits), a raw
 *    '\' (Windows servers and some frameworks read it as '/'), and a "." or
 *    ".." segment with a ';' parameter ("/pub/..;/admin": Tomcat and Jetty
 *    drop the parameter and climb).
 *  - targets without a path (OPTIONS *, CONNECT host:port) have
 *    r->has_path false: only ROUTE_PATH_ANY rules match them, and
 *    route_target writes "*" for OPTIONS * and refuses CONNECT (a tunnel is
 *    not a forwarded request: the caller decides what CONNECT means).
 *
 * Matching, per rule, all of: method bit set (or methods == 0), host, path,
 * every header condition. ROUTE_PATH_PREFIX is a plain string prefix of the
 * normalized path, as in Envoy and nginx: "/api" matches "/api", "/api/x"
 * and "/apix"; write "/api/" to match whole segments. ROUTE_PATH_EXACT and
 * PREFIX rule paths are normalized when the table is built (so "/a/%7e" is
 * stored as "/a/~") and must not hold '?': the query is never matched.
 */
#ifndef XDP_ROUTE_RULES_H
#define XDP_ROUTE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/h1.h"

enum route_host {
	ROUTE_HOST_ANY = 0,
	ROUTE_HOST_EXACT,    /* "example.com", "10.0.0.1", "[2001:db8::1]"; no port */
	ROUTE_HOST_WILDCARD, /* "*.example.com": one or more labels before .example.com;
			      * not example.com itself */
	ROUTE_HOST__MAX,
};

enum route_path {
	ROUTE_PATH_ANY = 0,
	ROUTE_PATH_EXACT,  /* the normalized path equals the rule's */
	ROUTE_PATH_PREFIX, /* the normalized path starts with the rule's (string prefix) */
	ROUTE_PATH_REGEX,  /* POSIX ERE (regcomp, REG_EXTENDED | REG_NOSUB) searched in
			    * the whole normalized path, query excluded: anchor it
			    * yourself ("^/v[0-9]+/") */
	ROUTE_PATH__MAX,
};

/* A condition on the request's header fields (names case-insensitive). */
struct route_hdr_match {
	const char *name;  /* a token */
	const char *value; /* NULL: a field of that name is present; else some field of
			    * that name has exactly this value (case-sensitive, the whole
			    * value as parsed: OWS trimmed, lists not split) */
	bool negate;	   /* holds when the above does not */
};

enum route_op {
	ROUTE_OP_SET = 0, /* remove every field of that name, add one */
	ROUTE_OP_ADD,	  /* append one, keep the others */
	ROUTE_OP_REMOVE,  /* remove every field of that name */
	ROUTE_OP__MAX,
};

/*
 * A header operation. Ops run in order, on the message as the earlier ops
 * left it: ADD then SET of one name leaves only the SET's field.
 * Framing and hop-by-hop fields (Content-Length, Transfer-Encoding,
 * Connection, Keep-Alive, Proxy-Connection, TE, Upgrade) belong to the proxy
 * and are refused; on requests, Host may only be SET (two Hosts, or none in
 * HTTP/1.1, are a 400 at the origin), to a host[:port] the HTTP parser
 * would accept. At most ROUTE_OPS_MAX - 1 ops per direction.
 */
struct route_hdr_op {
	enum route_op op;
	const char *name;  /* a token */
	const char *value; /* SET/ADD: field-vchar, SP, HTAB, no leading or trailing
			    * whitespace, may be empty; REMOVE: must be NULL */
};

/* route_rule.methods: one bit per enum h1_meth (H1_METH_OTHER: any other method). */
#define ROUTE_METH(meth) (1u << (meth))
#define ROUTE_METH_ALL	 ((1u << (H1_METH_PATCH + 1)) - 1)

/*
 * One rule, as the config parser fills it. route_table_new deep-copies
 * everything, so the caller may free its array and strings afterwards.
 */
struct route_rule {
	const char *name; /* required, unique, VCHARs only: logs and per-route counters */
	enum route_host host_kind;
	const char *host; /* NULL with ROUTE_HOST_ANY, required otherwise; the table
			   * lowercases it and drops a trailing dot */
	enum route_path path_kind;
	const char *path;		    /* NULL with ROUTE_PATH_ANY, required otherwise */
	uint32_t methods;		    /* ROUTE_METH() bits; 0 = any method */
	const struct route_hdr_match *hdrs; /* all must hold */
	size_t nr_hdrs;
	size_t pool; /* opaque: returned to the caller */
	const struct route_hdr_op *req_ops;
	size_t nr_req_ops;
	const struct route_hdr_op *resp_ops;
	size_t nr_resp_ops;
	/*
	 * Rewrite: NULL for none. When the normalized path starts with
	 * strip_prefix (string prefix, as matching), that prefix is replaced
	 * by replace_prefix (NULL = ""), and the result normalized again (so
	 * "/v2/" + "/x" is "/v2/x"); a result not starting with '/' gets one,
	 * so an empty result is "/". strip_prefix: starts with '/'.
	 * replace_prefix: empty or starts with '/'; only with strip_prefix.
	 * Both are normalized like rule paths.
	 */
	const char *strip_prefix;
	const char *replace_prefix;
};

/* Ops per direction and rule are fewer than this; an add array this long always fits. */
#define ROUTE_OPS_MAX 64

struct route_table;

/*
 * Builds a table from rules[0, n) (n == 0 gives a table that matches
 * nothing). Checks every rule: a name, unique and VCHARs; kinds in range;
 * host syntax (labels of ALPHA DIGIT - _, or an IPv6 literal for EXACT;
 * "*." + labels for WILDCARD); paths start with '/', hold VCHARs but '?' and
 * '#', and pass the request normalization; regexes compile; methods within
 * ROUTE_METH_ALL; header names are tokens, values valid field values; ops as
 * described at struct route_hdr_op (no framing or hop-by-hop fields, Host
 * only SET to a host[:port], fewer than ROUTE_OPS_MAX per direction); a
 * rewrite as at struct route_rule. Every check has its own message.
 *
 * Returns the table, or NULL with errno
 *   EINVAL  rules NULL with n > 0, or a rule is invalid: err (if not NULL)
 *           gets "rule <index> "<name>": <what is wrong>", truncated to
 *           errlen bytes, NUL included;
 *   ENOMEM  out of memory (err says so too).
 */
struct route_table *route_table_new(const struct route_rule *rules, size_t n, char *err,
				    size_t errlen);

/* Frees t and everything it copied. Accepts NULL. */
void route_table_free(struct route_table *t);

/* Number of rules in t; 0 for NULL. */
size_t route_table_size(const struct route_table *t);

/*
 * Rule i as stored: the caller's values, host lowercased without its
 * trailing dot, paths and prefixes normalized; valid until the table is
 * freed. NULL with errno EINVAL when t is NULL or i >= size.
 */
const struct route_rule *route_rule_get(const struct route_table *t, size_t i);

/*
 * A request as the rules see it. host and path are NUL-terminated, in the
 * caller's scratch buffer; query points into the request's buffer.
 */
struct route_req {
	const struct h1_msg *m; /* the parsed request and its buffer: header */
	const char *buf;	/* conditions and ops read them */
	enum h1_meth meth;
	enum h1_form form;
	const char *host; /* normalized, "" when the request has no authority */
	size_t host_len;
	bool has_path;	  /* false for asterisk- and authority-form */
	const char *path; /* normalized, "" when !has_path */
	size_t path_len;
	bool has_query;	   /* the target had a '?' (maybe followed by nothing) */
	const char *query; /* after the '?', as received */
	size_t query_len;
};

/* Scratch bytes route_req_prepare needs for m: always enough. */
static inline size_t route_scratch_size(const struct h1_msg *m)
{
	/* host + NUL + path (at least "/") + NUL */
	return (size_t)m->authority.len + m->path.len + 3;
}

/*
 * Normalizes the request m, parsed from buf (h1_parse_request returned 0),
 * into r as described at the top, using scratch[0, cap) for host and path.
 * r stays valid while buf and scratch do.
 *
 * Returns 0, or
 *   -EBADMSG  the host or path is refused (see the top): answer 400;
 *   -ENOSPC   cap < route_scratch_size(m);
 *   -EINVAL   an argument NULL, m a response or not a complete head.
 */
int route_req_prepare(struct route_req *r, const struct h1_msg *m, const char *buf, char *scratch,
		      size_t cap);

/*
 * Index of the first rule of t that r matches (route_req_prepare returned
 * 0), or -ENOENT when none does; -EINVAL when t or r is NULL.
 */
int route_match(const struct route_table *t, const struct route_req *r);

/*
 * Writes the origin-form target to send upstream for r routed by rule into
 * out[0, cap), not NUL-terminated: the normalized path, rewritten by the
 * rule's strip/replace prefix, then "?" and the query as received when the
 * target had one. OPTIONS * gives "*" (no rewrite). rule -1 means no rule
 * matched (a listener's default pool): the normalized path, no rewrite.
 *
 * Returns 0 and *len = bytes written, or
 *   -ENOSPC   *len = a size that is enough (a rewrite's normalization may
 *             then end up shorter); out holds nothing useful;
 *   -EBADMSG  the rewrite made a "." or ".." segment with a ';' parameter
 *             (see the top), which cannot be forwarded safely;
 *   -EINVAL   an argument NULL, rule out of range, or a CONNECT request.
 */
int route_target(const struct route_table *t, int rule, const struct route_req *r, char *out,
		 size_t cap, size_t *len);

/*
 * Header ops of rule on the request m (parsed from buf): adds to drop the
 * index of every field an op removes or replaces (drop is not cleared
 * first: h1_hop_fields may share it), and writes to add[0, *nr_add) the
 * fields to append, in order; names and values point into the table, or
 * into buf for the Host below. Pass drop and add to h1_write_head.
 *
 * Besides the rule's ops, when the target was in absolute-form and Host was
 * absent or different (H1_F_HOST_DIFFERS), every Host field is dropped and
 * "Host: <the target's authority>" added first: the origin must see the host
 * that was matched (RFC 9112 3.2.2 makes this a MUST). A rule's SET Host
 * replaces it.
 *
 * cap must be at least the rule's SET and ADD ops plus one (for that Host);
 * route_table_new allows at most ROUTE_OPS_MAX - 1 ops per direction, so
 * ROUTE_OPS_MAX is always enough.
 *
 * Returns 0, or
 *   -ENOSPC  cap is below that bound: *nr_add = the bound, drop untouched;
 *   -EINVAL  an argument NULL (add may be NULL when cap is 0), rule out of
 *            range, m not a complete request.
 */
int route_req_ops(const struct route_table *t, int rule, const struct h1_msg *m, const char *buf,
		  struct h1_fieldset *drop, struct h1_hdr *add, size_t cap, size_t *nr_add);

/*
 * As route_req_ops, with the rule's response ops on a parsed response m:
 * no Host fix, and cap must be at least the SET and ADD ops.
 */
int route_resp_ops(const struct route_table *t, int rule, const struct h1_msg *m, const char *buf,
		   struct h1_fieldset *drop, struct h1_hdr *add, size_t cap, size_t *nr_add);

#endif
