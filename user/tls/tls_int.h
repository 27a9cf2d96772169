/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Between tls.c and client.c only (not an API): the proxy's upstream TLS
 * connections are the same struct tls_conn as its client-facing ones, so the
 * one set of non-blocking calls in tls.h (tls_handshake, tls_read, tls_write,
 * tls_shutdown, tls_want, tls_pending, tls_conn_error, tls_conn_free) drives
 * both. client.c sets the SSL up; tls.c owns the wrapper.
 */
#ifndef XDP_TLS_TLS_INT_H
#define XDP_TLS_TLS_INT_H

#include <openssl/ssl.h>

struct tls_conn;

/*
 * Wraps ssl (not NULL), a client SSL with its fd set and in connect state, as a
 * connection of no store: tls_conn_free frees ssl. sni is the server name
 * sent, or NULL; a resumed session must have been made for that same name
 * (tls_handshake checks it as for servers). SSL_get_app_data(ssl) is the
 * connection from now on, for callbacks. NULL with errno set (ENOMEM,
 * EINVAL for a name tls.c's rules refuse); ssl is then still the caller's.
 * No ALPN may be offered on ssl: tls_conn_alpn reads a store's list.
 */
struct tls_conn *tls_conn_adopt(SSL *ssl, const char *sni);

/*
 * Records why c failed, unless a reason is recorded already: a callback's
 * precise reason (a certificate check) beats OpenSSL's echo of it.
 */
void tls_conn_note(struct tls_conn *c, const char *why);

#endif
