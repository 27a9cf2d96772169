/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Client identity on a forwarded request: X-Forwarded-*, RFC 7239 Forwarded,
 * Via (RFC 9110 7.6.3), and the anonymizing opposite. Pure: no I/O, no
 * allocation, no global state.
 *
 * fwd_request() does not write a head: it says which of the client's fields
 * to leave out and which to append, in the shape h1_write_head() takes
 * (struct h1_rewrite's drop and add), so one write does every rewrite:
 *
 *   struct h1_fieldset drop = {{0}};
 *   struct h1_hdr add[16];
 *   size_t nr_add = 0, used;
 *
 *   h1_hop_fields(&m, buf, 0, &drop);          (first: see "already dropped")
 *   if (conf.mode & FWD_VIA && fwd_via_loops(&m, buf, conf.pseudonym))
 *           answer 508 Loop Detected;
 *   rc = fwd_request(&m, buf, &conf, &conn, &drop, add, 16, &nr_add,
 *                    scratch, sizeof(scratch), &used);
 *   rw = (struct h1_rewrite){.drop = &drop, .add = add, .nr_add = nr_add};
 *   h1_write_head(&m, buf, &rw, out, cap, &len);
 *
 * Spoofing is the point: a backend that reads X-Forwarded-For, Forwarded or
 * X-Real-IP believes them, so whatever the client sent under a name this
 * module sets is dropped, never merged, unless the route says the client is
 * itself a trusted proxy (the *_APPEND flags).
 */
#ifndef XDP_HTTP_FWD_H
#define XDP_HTTP_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/h1.h"

struct sockaddr;

/*
 * fwd_conf.mode: flags, combinable except as noted.
 *
 * FWD_XFF: drop every client field named X-Forwarded-* (For, Proto, Host,
 *   Port, Server, Prefix, ...: a backend may trust any of them), then add
 *   X-Forwarded-For: <client address> (IPv6 without brackets, as nginx and
 *   HAProxy write it), X-Forwarded-Proto: http|https (the client
 *   connection's), X-Forwarded-Host: <m->authority as received> (left out
 *   when the request has no authority: HTTP/1.0 without Host, empty Host).
 * FWD_XFF_APPEND (with FWD_XFF): the client is a trusted proxy: its
 *   X-Forwarded-For fields are combined into one value, ", <client address>"
 *   appended. Only X-Forwarded-For is trusted: the other X-Forwarded-* are
 *   still replaced by what this hop sees.
 * FWD_FORWARDED: drop the client's Forwarded fields, add
 *   Forwarded: for=<client>;proto=http|https[;host=<authority>][;by=<proxy>]
 *   with RFC 7239 6 quoting: IPv6 is for="[2001:db8::1]", a value with a
 *   port is quoted, a non-IP client is for=unknown.
 * FWD_FORWARDED_APPEND (with FWD_FORWARDED): trust the client's Forwarded
 *   elements: combined into one value, ", <our element>" appended.
 * FWD_FORWARDED_PORT (with FWD_FORWARDED): for= (and by=) carry the port:
 *   for="192.0.2.1:4711", for="[2001:db8::1]:4711".
 * FWD_FORWARDED_BY (with FWD_FORWARDED): add by=<the proxy's address>
 *   (fwd_conn.proxy). It leaks the internal network (RFC 7239 8.2), hence opt-in.
 * FWD_REAL_IP: drop the client's X-Real-IP, add X-Real-IP: <client address>.
 * FWD_VIA: the client's Via fields are combined into one value and
 *   ", <version> <pseudonym>" appended ("1.0" for an HTTP/1.0 request,
 *   else "1.1"); RFC 9110 7.6.3 has proxies keep the chain.
 * FWD_HIDE: anonymity, for the forward proxy too. Adds nothing and drops
 *   every X-Forwarded-*, Forwarded, Via, X-Real-IP, Client-IP,
 *   True-Client-IP, CF-Connecting-IP, X-Client-IP, X-Cluster-Client-IP,
 *   From, and every Proxy-* field but Proxy-Authorization (the forward
 *   proxy decides about credentials). With fwd_conf.user_agent, every
 *   User-Agent is replaced by that one value. Excludes all the flags above.
 *
 * The fields are added in this order: X-Forwarded-For, X-Forwarded-Proto,
 * X-Forwarded-Host, X-Real-IP, Forwarded, Via, User-Agent; at most
 * FWD_ADD_MAX of them.
 */
#define FWD_XFF		     0x001u
#define FWD_XFF_APPEND	     0x002u
#define FWD_FORWARDED	     0x004u
#define FWD_FORWARDED_APPEND 0x008u
#define FWD_FORWARDED_PORT   0x010u
#define FWD_FORWARDED_BY     0x020u
#define FWD_REAL_IP	     0x040u
#define FWD_VIA		     0x080u
#define FWD_HIDE	     0x100u
#define FWD_MODE_ALL	     0x1ffu

/* Most fields fwd_request() appends in one call. */
#define FWD_ADD_MAX 6

/* Longest text fwd_addr_str() writes, NUL included (INET6_ADDRSTRLEN). */
#define FWD_ADDR_STRLEN 46

/* Per route: what to do. Strings must outlive the headers written with them. */
struct fwd_conf {
	uint32_t mode;		/* FWD_* */
	const char *pseudonym;	/* FWD_VIA: received-by, required: a token, or
				 * host[:port] (RFC 9110 7.6.3); also what
				 * fwd_via_loops() looks for */
	const char *user_agent; /* FWD_HIDE: the User-Agent every request gets;
				 * NULL keeps the client's */
};

/* Per connection: who is talking. */
struct fwd_conn {
	const struct sockaddr *client; /* the client connection's peer: sockaddr_in/in6;
					* another family reads "unknown" */
	const struct sockaddr *proxy;  /* its local end: only for FWD_FORWARDED_BY */
	bool tls;		       /* the client connection is TLS: proto=https */
};

/*
 * Checks c for use by fwd_request(): known flags only, *_APPEND/_PORT/_BY
 * only with the flag they qualify, FWD_HIDE alone (user_agent aside),
 * a pseudonym with FWD_VIA (1..255 bytes of tchar, ':', '[', ']'), a
 * user_agent of 1..1024 field-value bytes without leading or trailing
 * whitespace. Meant for config loading.
 *
 * Returns 0, or -EINVAL with a message in err[0, errlen) (NUL-terminated
 * when errlen > 0; err may be NULL).
 */
int fwd_conf_check(const struct fwd_conf *c, char *err, size_t errlen);

/*
 * Works out the client-identity rewrite of the request m, parsed from buf.
 *
 * Field indexes to leave out are added to *drop (which may already hold
 * others; nothing is removed from it). Fields to append are written to
 * add[*nr_add ...], *nr_add advanced, their values in scratch[0, *scratch_used)
 * and their names static strings; add[] then points into scratch and buf.
 *
 * Fields already in *drop on entry count as absent: a Via or X-Forwarded-For
 * that the client named in Connection (h1_hop_fields) is not combined into
 * the chain. Call h1_hop_fields() first.
 *
 * Returns
 *   0        done; *scratch_used = bytes of scratch used;
 *   -EINVAL  a NULL argument (scratch may be NULL when scratch_cap is 0;
 *            scratch_used may be NULL), m not a parsed request, conf refused
 *            by fwd_conf_check(), conn->client NULL when the mode reports it,
 *            conn->proxy NULL with FWD_FORWARDED_BY;
 *   -ENOSPC  fewer than the needed entries left in add[cap_add], or scratch
 *            too small: *scratch_used = the scratch bytes needed.
 * On an error *drop, add and *nr_add are left as they were.
 */
int fwd_request(const struct h1_msg *m, const char *buf, const struct fwd_conf *conf,
		const struct fwd_conn *conn, struct h1_fieldset *drop, struct h1_hdr *add,
		size_t cap_add, size_t *nr_add, char *scratch, size_t scratch_cap,
		size_t *scratch_used);

/*
 * True when pseudonym is already a received-by in one of m's Via fields
 * (compared case-insensitively, as host names are; "proxy" does not match
 * "proxy:8080"): the request has been through this proxy before, and
 * forwarding it again would loop - answer 508 (RFC 5842 7.2) instead.
 * Comments "(...)", quoted text and empty list elements are skipped.
 * False for NULL arguments or an empty pseudonym.
 */
bool fwd_via_loops(const struct h1_msg *m, const char *buf, const char *pseudonym);

/*
 * Writes the address of sa (AF_INET or AF_INET6; the port is left out) as
 * text into out[0, cap), NUL-terminated: dotted quad, or RFC 5952 IPv6
 * without brackets or zone; an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * reads as the IPv4 address, since that is who the client is.
 * FWD_ADDR_STRLEN is always enough.
 *
 * Returns 0, -EINVAL (sa or out NULL), -EAFNOSUPPORT (another family) or
 * -ENOSPC (cap too small; out holds "" when cap > 0).
 */
int fwd_addr_str(const struct sockaddr *sa, char *out, size_t cap);

#endif
