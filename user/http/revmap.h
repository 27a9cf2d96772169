/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reverse mapping of a backend's response: what Apache does with
 * ProxyPassReverse, ProxyPassReverseCookieDomain and
 * ProxyPassReverseCookiePath. A backend that believes it is
 * http://10.0.0.2:8080/app/ redirects and sets cookies in those terms; the
 * client must see https://www.example.com/ instead. Pure: no I/O, no global
 * state; a table is immutable once built, so threads may share it.
 *
 * Matching, for every kind of mapping:
 *  - Mappings are tried in the order given; the first that matches wins.
 *    A mapping that an earlier one always wins over is refused at build.
 *  - A path prefix is compared case-sensitively, byte for byte (no
 *    percent-decoding), and only at a segment boundary: a prefix ending in
 *    '/' matches what starts with it ("/app/" matches "/app/x", not "/app"),
 *    one that does not matches itself or what follows it with '/'
 *    ("/app" matches "/app", "/app/x", "/app?q", not "/application").
 *    Because of that, from and to must agree on ending in '/': "/app" -> "/"
 *    would turn "/app/x" into "//x", a URL for host x. A to URL without a
 *    path fits either: "http://b/app" -> "https://x" makes "/app/y" into
 *    "https://x/y" and "/app" into "https://x".
 *  - Scheme and host compare case-insensitively; ports by number, a default
 *    one (http 80, https 443) written or not: "http://H:80" is "http://h/".
 *    A URL without a path has the path "/".
 */
#ifndef XDP_HTTP_REVMAP_H
#define XDP_HTTP_REVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/h1.h"

/* Longest string in a mapping, and most mappings of each kind. */
#define REVMAP_STR_MAX	   2048
#define REVMAP_ENTRIES_MAX 1024

/* One mapping: from the backend's view to the public view. */
struct revmap_pair {
	const char *from;
	const char *to;
};

/*
 * What a route's config says. Each array may be NULL when its count is 0.
 *
 * url (ProxyPassReverse), for Location and Content-Location values:
 *   from: an absolute http/https URL with a host ("http://10.0.0.2:8080/app/"),
 *         or a path starting with '/' ("/app/"), which rewrites absolute
 *         paths only - an absolute URL is rewritten by URL mappings alone;
 *   to:   either form: "https://www.example.com/", or "/" (the result is
 *         then an absolute path, which Location may hold, RFC 9110 10.2.2).
 *   No userinfo, query, fragment, whitespace or non-ASCII; a port is
 *   1..65535.
 * domain (ProxyPassReverseCookieDomain), for Set-Cookie's Domain=: host
 *   names (letters, digits, '-', '.', '_'; one leading '.' ignored), matched
 *   exactly and case-insensitively, not as suffixes.
 * path (ProxyPassReverseCookiePath), for Set-Cookie's Path=: both start
 *   with '/'; no ';', whitespace, control or non-ASCII bytes.
 */
struct revmap_spec {
	const struct revmap_pair *url;
	size_t nr_url;
	const struct revmap_pair *domain;
	size_t nr_domain;
	const struct revmap_pair *path;
	size_t nr_path;
};

struct revmap;

/*
 * Validates spec as described above and builds a table holding normalized
 * copies (spec need not outlive it): scheme and host lowercased, a default
 * port left out, an empty URL path made "/", the leading '.' of a domain
 * dropped. A spec with no mappings at all is valid and rewrites nothing.
 *
 * Returns the table, or NULL with errno EINVAL (a message naming the
 * mapping, e.g. "url[1].to: scheme must be http or https", in err[0, errlen),
 * NUL-terminated when errlen > 0; err may be NULL) or ENOMEM.
 */
struct revmap *revmap_new(const struct revmap_spec *spec, char *err, size_t errlen);

/* Frees t; NULL is fine. */
void revmap_free(struct revmap *t);

/*
 * Rewrites a Location or Content-Location value val[0, len): an absolute
 * http/https URL is matched against the URL mappings, an absolute path
 * ("/x", not "//x", which names a host) against the path ones, each as
 * described at the top; the matched prefix is replaced by the mapping's to,
 * the rest (path, query, fragment) copied as is. Other values - relative
 * references, other schemes, userinfo, unparsable authorities - are left
 * alone. A URL without a path ("http://b:8080", "http://b?q") matches as if
 * its path were "/".
 *
 * Returns 1 and out[0, *outlen) = the rewritten value (no NUL); 0 when
 * nothing matched (out untouched, *outlen = 0); -ENOSPC when cap is too
 * small, *outlen = bytes needed, out's content unspecified; -EINVAL for a
 * NULL t, val (with len > 0) or outlen, or out NULL with cap > 0.
 * What is written is valid for h1_write_head() whenever val was.
 */
int revmap_location(const struct revmap *t, const char *val, size_t len, char *out, size_t cap,
		    size_t *outlen);

/*
 * Rewrites a Set-Cookie value val[0, len), split at ';' as browsers do
 * (RFC 6265 5.2; a ';' inside a quoted cookie value splits there too): the
 * first part, name=value, is never touched; after it, the value of every
 * Domain= attribute (name case-insensitive, whitespace around name and
 * value allowed) equal to a domain mapping's from, a leading '.' aside, is
 * replaced by its to, the '.' kept; the value of every Path= attribute is
 * rewritten by prefix like a Location path, and also when it equals the
 * from without its final '/' ("Path=/app" is the default-path a backend at
 * "/app/x" produces, RFC 6265 5.1.4): it then becomes the to without its
 * final '/', or "/". Every other byte is copied as is.
 *
 * Returns as revmap_location().
 */
int revmap_set_cookie(const struct revmap *t, const char *val, size_t len, char *out, size_t cap,
		      size_t *outlen);

/*
 * Applies revmap_location() to every Location and Content-Location field of
 * the parsed response m (from buf) and revmap_set_cookie() to every
 * Set-Cookie field, skipping fields already in *drop. A rewritten field is
 * added to *drop and its new value appended at add[*nr_add ...] (its name
 * as received, pointing into buf; its value in scratch), *nr_add advanced.
 *
 * Order: added fields come after every kept field (h1_write_head() appends
 * them), so a rewritten field moves to the end of the head. Different field
 * names carry no order between them (RFC 9110 5.3), but fields of one name
 * do, Set-Cookie above all (a later cookie of the same name wins): so from
 * the first rewritten field of a name on, every field of that name is
 * dropped and re-added - the unchanged ones verbatim, their value pointing
 * into buf - and the fields of each name keep their order among themselves.
 * Added fields are in their original relative order.
 *
 * Returns 0 (*scratch_used = scratch bytes used, when not NULL), -EINVAL
 * (a NULL argument - scratch may be NULL when scratch_cap is 0 - or m not a
 * parsed response, or *nr_add > cap_add), or -ENOSPC: add[] or scratch too
 * small, *scratch_used = scratch bytes needed. On error *drop, add and
 * *nr_add are left as they were.
 */
int revmap_response(const struct revmap *t, const struct h1_msg *m, const char *buf,
		    struct h1_fieldset *drop, struct h1_hdr *add, size_t cap_add, size_t *nr_add,
		    char *scratch, size_t scratch_cap, size_t *scratch_used);

#endif
