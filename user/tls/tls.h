/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS termination for the proxy's event loops, over OpenSSL 3: a certificate
 * store chosen from by SNI, and non-blocking server connections on an fd.
 * Nothing here speaks TLS itself; every byte on the wire is OpenSSL's.
 *
 * The flow for one listener:
 *
 *   tickets = tls_tickets_new(TLS_TICKETS_ROTATE_DEFAULT);   once, at start
 *   st = tls_store_new(&spec{certs, .tickets = tickets}, err, errlen);
 *   per accepted fd, on any worker thread:
 *     c = tls_conn_new(st, fd);
 *     tls_handshake(c) until 0 (on -EAGAIN wait for tls_want(c) on fd);
 *     tls_read / tls_write (same -EAGAIN + tls_want(c) rule), and after
 *     every read that filled the buffer also drain tls_pending(c): bytes
 *     OpenSSL already holds do not make epoll fire again;
 *     tls_shutdown(c) until 0; tls_conn_free(c); close(fd).
 *   reload: st2 = tls_store_new(new spec, .tickets = tls_store_tickets(st));
 *           publish st2, tls_store_unref(st): connections keep theirs.
 *
 * Decisions that callers may rely on:
 *  - Certificate choice: each name (an exact SAN DNS entry, or a wildcard
 *    "*.example.com", which matches exactly one label) maps to one SSL_CTX
 *    holding at most one ECDSA and one RSA certificate; OpenSSL picks between
 *    them per handshake from the client's signature algorithms (TLS 1.3) or
 *    ciphers (TLS 1.2), preferring ECDSA. For an exact name the ECDSA slot
 *    and the RSA slot are each filled by the first listed certificate of that
 *    type naming it exactly, else by the first whose wildcard covers it; a
 *    wildcard name only by certificates that list that same wildcard. An SNI
 *    matching no name, and a client sending none, get the default
 *    certificate (the one marked, else the first) together with the
 *    certificate of the other key type for the default's first name.
 *  - The SNI is chosen in a client-hello callback, before OpenSSL looks at
 *    versions, ciphers or sessions. A server name with characters outside
 *    [A-Za-z0-9._-], an empty label or over 253 bytes fails the handshake.
 *  - Resumption never crosses names (the nginx CVE-2025-23419 class): each
 *    connection's session id context is a hash of its SNI, so OpenSSL
 *    refuses sessions and tickets made under another name (also another
 *    name under the same wildcard) and does a full handshake instead; the
 *    ticket callback compares the session's name as well, and a resumed
 *    handshake whose session names another server fails (-EPROTO), in case
 *    either check is ever bypassed.
 *  - Protocol: TLS 1.2 and 1.3; TLS 1.2 only with ECDHE and AES-GCM or
 *    ChaCha20-Poly1305, server cipher order; groups X25519, P-256, P-384;
 *    no compression, no renegotiation, no 0-RTT; security level 2.
 *  - ALPN: server preference; a client that offers ALPN but none of ours is
 *    refused with no_application_protocol (RFC 7301 3.2, as nginx does): the
 *    proxy never guesses the protocol of a client that named another one.
 *  - Expired or not yet valid certificates load, with a warning logged and
 *    tls_cert_info.expired set: one lapsed certificate must not stop a
 *    reload (or a restart) from serving every other name.
 *  - OCSP: a DER response per certificate, checked at load (parses, status
 *    successful, names the certificate's serial, not revoked), stapled only
 *    to clients that ask and only until its nextUpdate; reload to refresh.
 *    Its signature is not checked here (clients check it): the file is the
 *    operator's fetcher's.
 *  - Sessions: a bounded server-side cache (TLS 1.2 session ids) per store,
 *    and tickets sealed with keys from a tls_tickets object, which a reload
 *    hands to the next store so tickets survive reloads (the session cache
 *    does not).
 *  - Thread safety: a store is immutable after tls_store_new and may be
 *    shared by every worker; a connection belongs to one thread at a time;
 *    tls_tickets is internally locked.
 *  - SIGPIPE: OpenSSL writes to the socket with write(2); the process must
 *    ignore SIGPIPE (the CLI does).
 */
#ifndef XDP_TLS_TLS_H
#define XDP_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* What a -EAGAIN waits for; equal to EV_READ and EV_WRITE of ev/ev.h. */
#define TLS_WANT_READ  0x1u
#define TLS_WANT_WRITE 0x4u

/* ALPN server preference when tls_store_spec.alpn is NULL. */
#define TLS_ALPN_DEFAULT "h2,http/1.1"
/* Ticket key lifetime: a key seals tickets for this long, then opens them for as long again. */
#define TLS_TICKETS_ROTATE_DEFAULT 3600u
/* Session lifetime (cache entries and ticket lifetime hint) when the spec says 0. */
#define TLS_SESSION_TIMEOUT_DEFAULT 3600u
/* Sessions the server-side cache holds when the spec says 0. */
#define TLS_SESSION_CACHE_DEFAULT 20480
/* Longest server name accepted from a client, without a trailing dot. */
#define TLS_NAME_MAX 253
/* Most bytes one tls_write takes (four full records). */
#define TLS_WRITE_MAX (64 * 1024)
/* Largest OCSP response file accepted. */
#define TLS_OCSP_MAX (64 * 1024)

struct tls_store;
struct tls_conn;
struct tls_tickets;

enum tls_key_type {
	TLS_KEY_EC = 0, /* ECDSA on P-256, P-384 or P-521 */
	TLS_KEY_RSA,	/* RSA of 2048 bits or more */
	TLS_KEY_TYPES,
};

/* How a server name found its certificates. */
enum tls_match_kind {
	TLS_MATCH_NONE = 0, /* no ClientHello seen yet */
	TLS_MATCH_EXACT,
	TLS_MATCH_WILDCARD,
	TLS_MATCH_DEFAULT, /* no SNI, or a name no certificate carries */
};

struct tls_cert_spec {
	const char *cert; /* PEM file: the leaf first, then its intermediates */
	const char *key;  /* PEM file: the leaf's private key, unencrypted */
	const char *ocsp; /* DER OCSP response for the leaf to staple, or NULL */
	bool is_default;  /* served for unknown names; at most one; else the first */
};

struct tls_store_spec {
	const struct tls_cert_spec *certs;
	size_t ncerts;
	/*
	 * Comma-separated ALPN protocols, server preference first: NULL means
	 * TLS_ALPN_DEFAULT, "http/1.1" alone when h2 is off, "" no ALPN at all
	 * (ALPN offers are then ignored, not refused).
	 */
	const char *alpn;
	/* Ticket keys shared with other stores (a reference is taken); NULL = a fresh set. */
	struct tls_tickets *tickets;
	long session_cache;	      /* 0 = TLS_SESSION_CACHE_DEFAULT, < 0 = no cache */
	unsigned int session_timeout; /* seconds; 0 = TLS_SESSION_TIMEOUT_DEFAULT */
};

/* One loaded certificate, as tls_store_cert_info reports it. */
struct tls_cert_info {
	const char *path; /* the spec's cert path */
	enum tls_key_type type;
	unsigned int bits;	  /* key size */
	const char *const *names; /* normalized DNS names served ("*.x.y" for wildcards) */
	size_t nnames;
	time_t not_before, not_after;
	bool expired;	    /* not_after was past at load time */
	bool not_yet_valid; /* not_before was ahead at load time */
	bool is_default;
	bool ocsp;		 /* a response is loaded and fresh at load time */
	time_t ocsp_next_update; /* 0 when none or without nextUpdate */
};

/* What tls_store_match finds for a name: cert indexes, -1 for an empty slot. */
struct tls_match {
	enum tls_match_kind kind;
	int cert[TLS_KEY_TYPES]; /* [TLS_KEY_EC], [TLS_KEY_RSA] */
};

/*
 * Ticket keys: a current key seals new tickets, the previous one still opens
 * (and renews) tickets sealed before the last rotation. Keys live only in
 * memory, so a restart, unlike a reload, ends resumption. A key older than
 * rotate_secs is replaced at the next handshake that uses one (no timer
 * needed); rotate_secs 0 rotates only on tls_tickets_rotate. Keep
 * session_timeout <= rotate_secs so no ticket outlives its key.
 * Returns NULL and sets errno (ENOMEM, EIO when the RNG fails).
 */
struct tls_tickets *tls_tickets_new(unsigned int rotate_secs);
/* Take a reference; returns t. */
struct tls_tickets *tls_tickets_ref(struct tls_tickets *t);
/* Drop a reference, freeing (and wiping the keys) at the last. Accepts NULL. */
void tls_tickets_unref(struct tls_tickets *t);
/* Same as tls_tickets_unref: drops the creator's reference. */
void tls_tickets_free(struct tls_tickets *t);
/*
 * Rotate now: the current key becomes the previous one (the old previous is
 * wiped) and a new key seals from now on. 0, -EINVAL, or -EIO when the RNG
 * fails (the keys are then unchanged). Thread-safe.
 */
int tls_tickets_rotate(struct tls_tickets *t);

/*
 * Load every certificate of spec and build the store (reference count 1).
 * Returns NULL with errno set (EINVAL for a bad spec or file content, the
 * fopen errno for a file that cannot be read, ENOMEM) and a NUL-terminated
 * message in err[0, errlen) (err may be NULL) naming the file and the fault:
 * unreadable file, no certificate, no key or an encrypted one, a key that
 * does not match the first certificate (with a hint when the leaf is
 * missing or not first), unsupported key type or size, no usable DNS name
 * on a certificate that is not the default, two defaults, a bad ALPN list
 * (empty item, over 255 bytes, not printable, repeated), an OCSP response
 * that does not parse, is not successful, does not name the certificate or
 * says revoked. Warnings (expired or not yet valid certificate, a stale OCSP
 * response, a chain out of order, a name skipped) are logged with pr_warn.
 */
struct tls_store *tls_store_new(const struct tls_store_spec *spec, char *err, size_t errlen);
/* Take a reference; returns st. Thread-safe. */
struct tls_store *tls_store_ref(struct tls_store *st);
/* Drop a reference, freeing at the last. Accepts NULL. Thread-safe. */
void tls_store_unref(struct tls_store *st);
/* Same as tls_store_unref: drops the creator's reference. */
void tls_store_free(struct tls_store *st);
/* The store's ticket keys (no reference taken): pass them to the next store on reload. */
struct tls_tickets *tls_store_tickets(const struct tls_store *st);
/* Number of certificates loaded (the spec's count). */
size_t tls_store_ncerts(const struct tls_store *st);
/* Describe certificate i (spec order); pointers live as long as st. 0, -EINVAL, -ENOENT. */
int tls_store_cert_info(const struct tls_store *st, size_t i, struct tls_cert_info *out);
/*
 * The certificates a handshake with this SNI would be offered, without a
 * handshake (for diagnostics and tests): name NULL or "" is no SNI. The
 * name is normalized as the handshake does (lower case, one trailing dot
 * dropped). 0, or -EINVAL for NULL st/out or a name the handshake refuses.
 */
int tls_store_match(const struct tls_store *st, const char *name, struct tls_match *out);

/*
 * A server connection on fd, a connected stream socket (made non-blocking
 * by the caller); holds a reference on st. The fd is not closed by
 * tls_conn_free. NULL with errno set (EINVAL, ENOMEM).
 */
struct tls_conn *tls_conn_new(struct tls_store *st, int fd);
/*
 * Free c and drop its store reference; does not close the fd. Accepts NULL.
 * A session whose connection ended without close_notify (EOF, reset, a
 * timeout) stays resumable, as TLS 1.1 on allows; one that died of a TLS
 * error does not.
 */
void tls_conn_free(struct tls_conn *c);

/*
 * Drive the handshake. 0 when complete (and on every later call);
 * -EAGAIN: call again once fd is ready for tls_want(c);
 * -EPROTO: failed for good (bad or refused ClientHello, no shared version,
 *          cipher, group or ALPN protocol, peer reset or EOF, a resumed
 *          session of another name), with tls_conn_error(c) saying why;
 * -EINVAL: c NULL.
 */
int tls_handshake(struct tls_conn *c);
/*
 * Read up to len decrypted bytes. Returns the count (> 0);
 * 0: the peer closed (close_notify, or EOF without one: tls_conn_close_notify
 *    tells which; an HTTP proxy's own framing catches truncation);
 * -EAGAIN: retry once fd is ready for tls_want(c) (a read may want write);
 * -ECONNRESET: the peer reset the connection;
 * -EPROTO: a TLS error (tls_conn_error says which); the connection is dead;
 * -ENOTCONN before the handshake completed; -EINVAL: c or buf NULL, len 0.
 */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t len);
/*
 * Write up to min(len, TLS_WRITE_MAX) bytes; returns how many were taken
 * (partial writes are normal), 0 only for len 0, or -EAGAIN
 * (+ tls_want), -ECONNRESET (peer gone, also EPIPE), -EPROTO, -EPIPE after
 * tls_shutdown, -ENOTCONN, -EINVAL. After -EAGAIN the next call must offer
 * the same bytes again (at least as many; the buffer may move).
 */
ssize_t tls_write(struct tls_conn *c, const void *buf, size_t len);
/*
 * Send our close_notify (not waiting for the peer's). 0: done, or nothing
 * can be sent (handshake not complete, connection failed, peer gone without
 * close_notify): close the fd now. -EAGAIN + tls_want: call again.
 * -ECONNRESET / -EPROTO: the peer is gone; close the fd. -EINVAL: c NULL.
 */
int tls_shutdown(struct tls_conn *c);
/* TLS_WANT_READ or TLS_WANT_WRITE after a -EAGAIN, else 0. */
uint32_t tls_want(const struct tls_conn *c);
/*
 * Decrypted bytes held inside OpenSSL that tls_read returns without touching
 * the socket; read them before waiting on epoll again.
 */
size_t tls_pending(const struct tls_conn *c);

/* The client's server name, normalized; NULL when it sent none or before the hello. */
const char *tls_conn_sni(const struct tls_conn *c);
/* How the SNI found its certificate. */
enum tls_match_kind tls_conn_match(const struct tls_conn *c);
/*
 * The ALPN protocol agreed ("h2", "http/1.1", ... as given in the spec), or
 * NULL when none was (the client offered none, or ALPN is off): the caller
 * then speaks HTTP/1.1. Valid while c lives.
 */
const char *tls_conn_alpn(const struct tls_conn *c);
/* Whether the handshake resumed a session. */
bool tls_conn_resumed(const struct tls_conn *c);
/* "TLSv1.3", "TLSv1.2"; cipher name; for logs. Valid while c lives. */
const char *tls_conn_version(const struct tls_conn *c);
const char *tls_conn_cipher(const struct tls_conn *c);
/* True once tls_read returned 0 for a close_notify (false for a bare EOF). */
bool tls_conn_close_notify(const struct tls_conn *c);
/*
 * Short reason for logs: why the connection failed or ended (the first
 * reason recorded, e.g. "no common ALPN protocol", "handshake: unsupported
 * protocol", "read: EOF without close_notify"); "" when none. Never NULL.
 */
const char *tls_conn_error(const struct tls_conn *c);

/*
 * Whether the kernel has the TLS upper layer protocol (CONFIG_TLS): probed
 * once per process by setting TCP_ULP "tls" on a connected loopback TCP
 * socket (ENOENT without it), and false when OpenSSL was built without
 * kTLS. Thread-safe.
 */
bool tls_ktls_available(void);
/*
 * Ask OpenSSL to move the record layer into the kernel once the handshake
 * has set the keys (SSL_OP_ENABLE_KTLS): call before the first
 * tls_handshake. OpenSSL then uses kTLS per direction where the cipher and
 * the kernel allow, and falls back to userspace silently otherwise; the API
 * is unchanged either way. 0, -EOPNOTSUPP when !tls_ktls_available(),
 * -EISCONN once the handshake has started, -EINVAL for NULL.
 */
int tls_conn_ktls(struct tls_conn *c);
#define TLS_KTLS_TX 0x1u
#define TLS_KTLS_RX 0x2u
/* Which directions the kernel carries: TLS_KTLS_TX | TLS_KTLS_RX, or 0. */
uint32_t tls_conn_ktls_active(const struct tls_conn *c);

#endif
