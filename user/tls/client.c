// SPDX-License-Identifier: BSD-2-Clause
/*
 * Upstream TLS over OpenSSL 3: see client.h for the contract. The SSL
 * objects made here are wrapped by tls.c (tls_conn_adopt), so reads,
 * writes, wants and errors behave exactly as on the client-facing side.
 * The parts that need care:
 *  - the name a certificate must carry is set per connection (the address
 *    differs per backend), and the check's own reason is recorded from the
 *    verify callback, since OpenSSL's error queue only says "certificate
 *    verify failed";
 *  - sessions are kept per slot through the new-session callback, which
 *    OpenSSL calls for every TLS 1.3 ticket as well as at the end of a TLS
 *    1.2 handshake; the internal client cache is off (it is keyed by
 *    nothing useful here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/client.h"
#include "tls/tls.h"
#include "tls/tls_int.h"

/* As the server side: forward secrecy and AEAD only; TLS 1.3 suites are OpenSSL's. */
#define CLIENT_TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

struct tls_client {
	SSL_CTX *ctx;
	bool verify;
	char sni[TLS_NAME_MAX + 1]; /* "" = none */
	pthread_mutex_t lock;	    /* guards sess[] */
	SSL_SESSION **sess;	    /* per slot: the latest session, or NULL */
	size_t nslots;
};

/* Where an SSL keeps its slot (plus one: 0 is "none"). */
static int slot_idx = -1;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void slot_idx_init(void)
{
	slot_idx = SSL_get_ex_new_index(0, "xdproxy session slot", NULL, NULL, NULL);
}

/* err gets "what subject: reason" (err may be NULL). */
static void client_err(char *err, size_t errlen, const char *what, const char *subject,
		       const char *reason)
{
	if (err && errlen)
		snprintf(err, errlen, "%s %s: %s", what, subject, reason);
}

/* The earliest queued OpenSSL reason; the queue is left alone. */
static const char *ossl_why(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_error());

	return r ? r : "unknown OpenSSL error";
}

/* An encrypted key would make OpenSSL prompt on the terminal: refuse it instead. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Called for every certificate of the chain, and for the name check; ok 0
 * is a failure. Records the first one with its reason and depth (the
 * subject is the peer's text: X509_NAME_oneline escapes what is not
 * printable).
 */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	X509 *x = X509_STORE_CTX_get_current_cert(xs);
	char subj[128] = "", why[256];

	if (ok || !ssl)
		return ok;
	if (x)
		X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	snprintf(why, sizeof(why), "certificate: %s (depth %d%s%s)",
		 X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)),
		 X509_STORE_CTX_get_error_depth(xs), subj[0] ? ", " : "", subj);
	tls_conn_note(SSL_get_app_data(ssl), why);
	return 0;
}

/* A new session from the server: it replaces its slot's. 1: we keep the reference. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_client *cl = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	uintptr_t slot = (uintptr_t)SSL_get_ex_data(ssl, slot_idx);
	SSL_SESSION *old;

	if (!cl || !slot || slot > cl->nslots || !SSL_SESSION_is_resumable(sess))
		return 0;
	pthread_mutex_lock(&cl->lock);
	old = cl->sess[slot - 1];
	cl->sess[slot - 1] = sess;
	pthread_mutex_unlock(&cl->lock);
	SSL_SESSION_free(old);
	return 1;
}

/* The trusted certificates. Every one of them is an anchor (partial chains, as curl). */
static int load_ca(struct tls_client *cl, const char *ca, char *err, size_t errlen)
{
	FILE *f = fopen(ca, "r");
	int e = errno;

	if (!f) {
		client_err(err, errlen, "ca", ca, strerror(e));
		return -e;
	}
	fclose(f);
	if (SSL_CTX_load_verify_file(cl->ctx, ca) != 1) {
		client_err(err, errlen, "ca", ca, ossl_why());
		return -EINVAL;
	}
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(cl->ctx), X509_V_FLAG_PARTIAL_CHAIN);
	return 0;
}

static int load_cert(struct tls_client *cl, const struct tls_client_spec *spec, char *err,
		     size_t errlen)
{
	const char *files[2] = {spec->cert, spec->key};

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");
		int e = errno;

		if (!f) {
			client_err(err, errlen, i ? "key" : "cert", files[i], strerror(e));
			return -e;
		}
		fclose(f);
	}
	SSL_CTX_set_default_passwd_cb(cl->ctx, no_password);
	if (SSL_CTX_use_certificate_chain_file(cl->ctx, spec->cert) != 1) {
		client_err(err, errlen, "cert", spec->cert, ossl_why());
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(cl->ctx, spec->key, SSL_FILETYPE_PEM) != 1) {
		/* an encrypted key (no_password) or one of another certificate */
		client_err(err, errlen, "key", spec->key, ossl_why());
		return -EINVAL;
	}
	return 0;
}

/* The server name as it is sent and checked: lower case, a DNS name, never an address. */
static int sni_set(struct tls_client *cl, const char *sni, char *err, size_t errlen)
{
	unsigned char a[16];
	size_t n = strlen(sni);

	if (!n || n > TLS_NAME_MAX || inet_pton(AF_INET, sni, a) == 1 ||
	    inet_pton(AF_INET6, sni, a) == 1 ||
	    strspn(sni, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n) {
		client_err(err, errlen, "sni", sni, "not a DNS name");
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++)
		cl->sni[i] = (char)(sni[i] >= 'A' && sni[i] <= 'Z' ? sni[i] | 0x20 : sni[i]);
	return 0;
}

struct tls_client *tls_client_new(const struct tls_client_spec *spec, char *err, size_t errlen)
{
	struct tls_client *cl;
	int rc = -EINVAL;

	if (!spec || (spec->verify && !spec->ca) || (!spec->cert != !spec->key)) {
		client_err(err, errlen, "tls", "spec",
			   !spec		       ? "missing"
			   : spec->verify && !spec->ca ? "verify needs a ca bundle"
						       : "cert and key go together");
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&slot_once, slot_idx_init);
	cl = calloc(1, sizeof(*cl));
	if (!cl || (spec->slots && !(cl->sess = calloc(spec->slots, sizeof(*cl->sess))))) {
		free(cl);
		client_err(err, errlen, "tls", "client", "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&cl->lock, NULL);
	cl->nslots = spec->slots;
	cl->verify = spec->verify;
	ERR_clear_error();
	cl->ctx = SSL_CTX_new(TLS_client_method());
	if (!cl->ctx || slot_idx < 0) {
		client_err(err, errlen, "OpenSSL", "SSL_CTX_new", ossl_why());
		rc = -ENOMEM;
		goto fail;
	}
	if (spec->sni && (rc = sni_set(cl, spec->sni, err, errlen)))
		goto fail;
	SSL_CTX_set_app_data(cl->ctx, cl);
	SSL_CTX_set_security_level(cl->ctx, 2);
	if (!SSL_CTX_set_min_proto_version(cl->ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(cl->ctx, 0) ||
	    !SSL_CTX_set_cipher_list(cl->ctx, CLIENT_TLS12_CIPHERS)) {
		client_err(err, errlen, "OpenSSL", "TLS defaults", ossl_why());
		rc = -EINVAL;
		goto fail;
	}
	/* an EOF without close_notify is an EOF: HTTP framing tells truncation */
	SSL_CTX_set_options(cl->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(cl->ctx, SSL_OP_ENABLE_KTLS);
	/* idle keep-alive connections hold no record buffers */
	SSL_CTX_set_mode(cl->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	if (spec->verify) {
		rc = load_ca(cl, spec->ca, err, errlen);
		if (rc)
			goto fail;
		SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, verify_cb);
	} else {
		SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_NONE, NULL);
	}
	if (spec->cert && (rc = load_cert(cl, spec, err, errlen)))
		goto fail;
	if (cl->nslots) {
		SSL_CTX_set_session_cache_mode(cl->ctx, SSL_SESS_CACHE_CLIENT |
							    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(cl->ctx, new_session_cb);
	} else {
		SSL_CTX_set_session_cache_mode(cl->ctx, SSL_SESS_CACHE_OFF);
	}
	ERR_clear_error();
	return cl;
fail:
	ERR_clear_error();
	tls_client_free(cl);
	errno = -rc;
	return NULL;
}

void tls_client_free(struct tls_client *cl)
{
	if (!cl)
		return;
	for (size_t i = 0; i < cl->nslots; i++)
		SSL_SESSION_free(cl->sess[i]);
	free(cl->sess);
	SSL_CTX_free(cl->ctx);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

/* The name the certificate must carry: the sni, else the peer's address. */
static int verify_name(const struct tls_client *cl, SSL *ssl, const struct sockaddr *peer)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

	if (cl->sni[0]) {
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		return X509_VERIFY_PARAM_set1_host(vp, cl->sni, 0) == 1 ? 0 : -ENOMEM;
	}
	if (peer && peer->sa_family == AF_INET)
		return X509_VERIFY_PARAM_set1_ip(
			   vp, (const unsigned char *)&((const struct sockaddr_in *)peer)->sin_addr,
			   4) == 1
			   ? 0
			   : -ENOMEM;
	if (peer && peer->sa_family == AF_INET6)
		return X509_VERIFY_PARAM_set1_ip(
			   vp,
			   (const unsigned char *)&((const struct sockaddr_in6 *)peer)->sin6_addr,
			   16) == 1
			   ? 0
			   : -ENOMEM;
	return -EINVAL; /* nothing to check the certificate against */
}

/* Offers slot's session, dropping one that can no longer be resumed. */
static void session_offer(struct tls_client *cl, SSL *ssl, size_t slot)
{
	SSL_SESSION *s, *gone = NULL;

	if (slot >= cl->nslots)
		return;
	SSL_set_ex_data(ssl, slot_idx, (void *)(uintptr_t)(slot + 1));
	pthread_mutex_lock(&cl->lock);
	s = cl->sess[slot];
	if (s && SSL_SESSION_is_resumable(s))
		SSL_set_session(ssl, s); /* takes its own reference */
	else if (s)
		gone = s, cl->sess[slot] = NULL;
	pthread_mutex_unlock(&cl->lock);
	SSL_SESSION_free(gone);
}

struct tls_conn *tls_client_conn(struct tls_client *cl, int fd, const struct sockaddr *peer,
				 size_t slot)
{
	struct tls_conn *c;
	SSL *ssl;
	int rc = -ENOMEM;

	if (!cl || fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	ERR_clear_error();
	ssl = SSL_new(cl->ctx);
	if (!ssl || !SSL_set_fd(ssl, fd))
		goto fail;
	SSL_set_connect_state(ssl);
	if (cl->sni[0] && SSL_set_tlsext_host_name(ssl, cl->sni) != 1)
		goto fail;
	if (cl->verify && (rc = verify_name(cl, ssl, peer)))
		goto fail;
	session_offer(cl, ssl, slot);
	c = tls_conn_adopt(ssl, cl->sni[0] ? cl->sni : NULL);
	if (!c) {
		rc = -errno;
		goto fail;
	}
	return c;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	errno = -rc;
	return NULL;
}
