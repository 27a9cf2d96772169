/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Access log lines: one line per request, formatted from a record the proxy
 * fills in, into a caller's buffer. Pure: no I/O and no state of its own
 * (the time zone is libc's, see below); the proxy writes the lines to a file
 * or stdout itself.
 *
 * Three formats:
 *   combined      NCSA combined, byte for byte what nginx's predefined
 *                 "combined" log_format writes, so existing log tools
 *                 (goaccess, awstats, fail2ban filters) read it unchanged;
 *   combined-ext  the same line with xdproxy's fields appended;
 *   json          one JSON object per line, built with jansson.
 *
 * Every function returns 0 with *len the line length, newline included and
 * no NUL written (write(fd, out, *len) is the whole line), or
 *   -EINVAL  a NULL r or len, out NULL with cap > 0, or a record breaking a
 *            rule in struct alog_rec;
 *   -ENOSPC  cap is too small: *len is set to the cap needed, so a caller
 *            can grow its buffer and call again; out[0, cap) may have been
 *            written, nothing past it;
 *   -ENOMEM  (json only) jansson could not allocate.
 * A call with out NULL and cap 0 measures a line.
 *
 * Time: start is shown in the local time zone, which libc reads from TZ.
 * glibc's localtime_r() does not look at TZ again once read, so a process
 * that changes TZ must call tzset() afterwards (the tests do). Month names
 * are English whatever the locale, as in Apache and nginx.
 */
#ifndef XDP_HTTP_ALOG_H
#define XDP_HTTP_ALOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* alog_rec.upstream_ms when no upstream byte arrived (or none was asked). */
#define ALOG_UPSTREAM_NONE UINT32_MAX

/*
 * What the proxy knows about one request. "(s, len)" pairs are byte strings
 * that need not be NUL-terminated; a NULL s means absent and then len must
 * be 0. Plain const char * fields are NUL-terminated, NULL = absent.
 */
struct alog_rec {
	/* AF_INET or AF_INET6 (IPv4-mapped is logged as IPv4), or NULL */
	const struct sockaddr *client;
	const char *user; /* authenticated user */
	/* CLOCK_REALTIME when the request head was complete; tv_nsec in [0, 1e9) */
	struct timespec start;
	uint64_t duration_us; /* head received -> response fully sent */
	/*
	 * The request line. method NULL: there was none (the client closed
	 * or sent garbage before one was parsed), and target and version are
	 * ignored. Otherwise method and target are non-empty and version is
	 * 10, 11 or 20 (a stream of an HTTP/2 connection: "HTTP/2.0").
	 */
	const char *method;
	size_t method_len;
	const char *target; /* as received */
	size_t target_len;
	uint8_t version;	 /* 10, 11 or 20 */
	int status;		 /* sent to the client: 100-999, or 0 if none */
	uint64_t bytes_sent;	 /* response body bytes to the client, <= INT64_MAX */
	uint64_t bytes_received; /* request body bytes, <= INT64_MAX */
	const char *referer;
	size_t referer_len;
	const char *user_agent;
	size_t user_agent_len;
	const char *host; /* Host, or the authority of an absolute-form target */
	size_t host_len;
	const char *route;    /* route name */
	const char *backend;  /* "10.0.0.2:80", "[2001:db8::2]:80" */
	const char *verdict;  /* "ok", "502-connect", "400-cl-te", ... */
	uint32_t upstream_ms; /* head received -> first upstream byte, or ALOG_UPSTREAM_NONE */
};

enum alog_format {
	ALOG_OFF = 0,
	ALOG_COMBINED,
	ALOG_COMBINED_EXT,
	ALOG_JSON,
};

/*
 * "off", "combined", "combined-ext" or "json" (exact, lowercase) -> *out.
 * Returns 0, or -EINVAL for anything else or NULL arguments (*out unchanged).
 */
int alog_format_parse(const char *s, enum alog_format *out);

/* The name alog_format_parse() takes for f, or "?" if f is not a format. */
const char *alog_format_str(enum alog_format f);

/*
 * NCSA combined, as nginx's
 *   '$remote_addr - $remote_user [$time_local] "$request" $status '
 *   '$body_bytes_sent "$http_referer" "$http_user_agent"'
 * e.g.
 *   192.0.2.7 - alice [14/Nov/2023:23:13:20 +0100] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/8.5.0"
 * Where Apache and nginx differ, this follows nginx:
 *   - bytes are $body_bytes_sent: "0" when no body byte was sent (Apache's
 *     %b writes "-");
 *   - status 0 is written "000", as nginx writes a request it never
 *     answered;
 *   - in every field taken from the client (user, request line, Referer,
 *     User-Agent), '"', '\', bytes 0x00-0x1f and 0x7f-0xff are written
 *     \xHH with uppercase hex (nginx's default escaping; Apache writes \"
 *     and \\ instead).
 * Beyond nginx, so that a line always splits into the same fields: the
 * unquoted user field also escapes SP as \x20, and an empty user is "-".
 * The client is "-" when NULL; a missing request line is "-" inside the
 * quotes (as Apache writes one), an absent Referer or User-Agent "-"; an
 * empty but present one is "".
 */
int alog_combined(const struct alog_rec *r, char *out, size_t cap, size_t *len);

/*
 * alog_combined() with, before the newline,
 *   SP "host" SP route SP backend SP verdict SP duration_ms SP upstream_ms
 * e.g.  ... "curl/8.5.0" "example.com" api 10.0.0.2:80 ok 12.345 3
 * host is quoted and escaped like Referer ("-" if absent); route, backend
 * and verdict are escaped like user ("-" if absent or empty);
 * duration_ms has exactly three decimals (microseconds); upstream_ms is an
 * integer or "-" for ALOG_UPSTREAM_NONE. Tools reading combined read the
 * first nine fields and ignore the rest, as they do for nginx's "main".
 */
int alog_combined_ext(const struct alog_rec *r, char *out, size_t cap, size_t *len);

/*
 * One compact JSON object and a newline. Keys, always present and in this
 * order:
 *   time            "2023-11-14T23:13:20.123+01:00" (RFC 3339, milliseconds,
 *                   numeric UTC offset, never "Z")
 *   client          "192.0.2.7" | null        client_port  51234 | null
 *   user            string | null
 *   method, target  string | null (no request line)
 *   protocol        "HTTP/1.0" | "HTTP/1.1" | null
 *   status          100-999 | null (0)
 *   bytes_sent, bytes_received   integers
 *   duration_ms     number, microsecond precision: 12.345, 0.0, 7.0
 *   referer, user_agent, host, route, backend, verdict   string | null
 *   upstream_ms     integer | null (ALOG_UPSTREAM_NONE)
 * JSON strings must be UTF-8, and client bytes need not be: every byte that
 * is not part of a well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF) becomes the four characters \xHH
 * (uppercase hex), as combined writes it; valid UTF-8, NUL and control
 * characters included, is kept and escaped by jansson. A literal "\x41"
 * sent by a client reads the same as an escaped byte, the price of keeping
 * the bytes readable.
 *
 * jansson seeds its hash function on the first object it builds (reading
 * /dev/urandom); a process that wants that done before it sandboxes itself
 * calls json_object_seed(0) at startup.
 */
int alog_json(const struct alog_rec *r, char *out, size_t cap, size_t *len);

/*
 * The line for format f: one of the three above, or for ALOG_OFF nothing:
 * 0 with *len = 0. -EINVAL for an unknown f.
 */
int alog_line(enum alog_format f, const struct alog_rec *r, char *out, size_t cap, size_t *len);

#endif
