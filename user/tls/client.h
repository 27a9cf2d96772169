/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Upstream TLS (re-encryption, issue #6): the proxy as a TLS client of a
 * pool's backends, over OpenSSL 3. One tls_client per pool with a tls block,
 * built when the proxy starts and shared by every worker; each upstream
 * connection it makes is a struct tls_conn of tls.h and is driven with the
 * same calls as a client-facing one:
 *
 *   cl = tls_client_new(&spec{ca, verify, sni, ..., .slots = backends}, err, errlen);
 *   per connected (non-blocking) fd to backend i, on any worker thread:
 *     c = tls_client_conn(cl, fd, backend address, i);
 *     tls_handshake(c) until 0 (on -EAGAIN wait for tls_want(c) on fd);
 *     -EPROTO: tls_conn_error(c) says why (the certificate check's reason
 *     when that failed: "certificate: hostname mismatch (depth 0)" ...);
 *     tls_read / tls_write / tls_pending / tls_shutdown as for servers;
 *     tls_conn_free(c); close(fd).
 *   tls_client_free(cl) once no connection is left.
 *
 * Decisions callers may rely on:
 *  - Protocol: TLS 1.2 and 1.3; TLS 1.2 only with ECDHE and AES-GCM or
 *    ChaCha20-Poly1305; security level 2; no compression, no
 *    renegotiation. A close without close_notify reads as EOF (tls_read
 *    0), not as an error: HTTP framing catches truncation.
 *  - Verification (verify true): the chain must lead to a certificate of
 *    the ca bundle, and the leaf must name the server: the sni as a DNS
 *    name (a wildcard covers exactly one label, no partial wildcards like
 *    "f*.example"), or without sni the backend's address as an IP address
 *    SAN. A failed check fails the handshake (-EPROTO) before any
 *    application byte is sent. verify false checks nothing: the peer is
 *    whoever answers (the operator asked for it explicitly).
 *  - SNI: the sni is sent when given; an address is never sent as a server
 *    name (RFC 6066 3).
 *  - Resumption: each slot (the caller's backend index) keeps the latest
 *    session its server gave (a TLS 1.3 ticket or a TLS 1.2 session),
 *    offered by the next connection to that slot. Sessions come only from
 *    handshakes that passed verification, and a connection that died of a
 *    TLS error makes its session unresumable (OpenSSL's rule), so it is
 *    not offered again.
 *  - ALPN: none offered; the peer speaks HTTP/1.1 (tls_conn_alpn is NULL).
 *  - kTLS: off, unless tls_conn_ktls(c) is called before the handshake, as
 *    for server connections.
 *  - Client certificate (mTLS): sent when the server asks, if cert and key
 *    are given.
 *  - Thread safety: a tls_client is immutable after tls_client_new but for
 *    its session slots, which are locked; a connection belongs to one
 *    thread at a time.
 */
#ifndef XDP_TLS_CLIENT_H
#define XDP_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct tls_client;
struct tls_conn;

struct tls_client_spec {
	const char *ca;	  /* PEM bundle of trusted certificates; required with verify */
	bool verify;	  /* check the chain and the name (see above) */
	const char *sni;  /* server name to send and verify; NULL: none, verify the address */
	const char *cert; /* PEM chain, leaf first, for client authentication; NULL: none */
	const char *key;  /* its unencrypted private key; with cert only */
	size_t slots;	  /* sessions kept for resumption, one per backend; 0: none */
};

/*
 * Builds the client context: reads ca, cert and key. NULL with errno set
 * (EINVAL for a bad spec or file content, the errno of a file that cannot
 * be read, ENOMEM) and a message in err[0, errlen) (err may be NULL) naming
 * the file and the fault.
 */
struct tls_client *tls_client_new(const struct tls_client_spec *spec, char *err, size_t errlen);
/* Frees cl and its sessions; connections made from it must be gone. Accepts NULL. */
void tls_client_free(struct tls_client *cl);

/*
 * A client connection on fd (connected or connecting, non-blocking; not
 * closed by tls_conn_free) to peer, the backend's address (what the
 * certificate must name when there is no sni), offering slot's session if
 * it has one (slot >= spec.slots: none kept). NULL with errno set (EINVAL,
 * ENOMEM).
 */
struct tls_conn *tls_client_conn(struct tls_client *cl, int fd, const struct sockaddr *peer,
				 size_t slot);

#endif
