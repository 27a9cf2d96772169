// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS termination tests. Certificates, keys and OCSP responses are made at
 * start with the OpenSSL API in a temporary directory: a P-256 CA, ECDSA
 * P-256 and RSA 2048 leaves for a.test, *.b.test and default.test, and the
 * broken files the store must refuse. The other end of every connection is
 * a plain OpenSSL client over a non-blocking socketpair, driven in turns
 * with the server in one loop. What the server chose is judged from the
 * client's side wherever possible (the certificate it received, checked
 * with X509_check_host and against the CA; the ALPN, version, cipher and
 * group it negotiated; whether its ClientHello offered a session, parsed
 * from the bytes it sent), not only from what the module says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/client.h"
#include "tls/tls.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DAY	      (24 * 3600L)

/* ------------------------------------------------------------ fixtures */

static char tmpdir[64];
static X509 *ca;
static EVP_PKEY *ca_key;
static long next_serial = 2;

enum kt { K_EC, K_RSA, K_RSA1024, K_ED25519 };

/* Leaves kept for OCSP responses: index by these names. */
static X509 *leaf_a_ec, *leaf_a_rsa, *leaf_b_ec;

static const char *path(const char *name)
{
	static char bufs[64][512];
	static int n;
	char *b = bufs[n++ % 64];

	snprintf(b, 512, "%s/%.255s", tmpdir, name);
	return b;
}

static EVP_PKEY *key_gen(enum kt t)
{
	switch (t) {
	case K_EC:
		return EVP_EC_gen("P-256");
	case K_RSA:
		return EVP_RSA_gen(2048);
	case K_RSA1024:
		return EVP_RSA_gen(1024);
	case K_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* Sign with the CA (or self-sign when issuer is NULL); san may be NULL. */
static X509 *cert_make(EVP_PKEY *key, const char *cn, const char *san, long nb, long na, bool is_ca,
		       X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (is_ca)
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (san)
		add_ext(x, issuer ? issuer : x, NID_subject_alt_name, san);
	assert_true(X509_sign(x, issuer ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static void write_pem_certs(const char *file, X509 *a, X509 *b)
{
	FILE *f = fopen(path(file), "w");

	assert_non_null(f);
	if (a)
		PEM_write_X509(f, a);
	if (b)
		PEM_write_X509(f, b);
	fclose(f);
}

static void write_key(const char *file, EVP_PKEY *k)
{
	FILE *f = fopen(path(file), "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static void write_bytes(const char *file, const void *p, size_t len)
{
	FILE *f = fopen(path(file), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

/* base.crt (leaf then CA) and base.key; returns the leaf (caller frees). */
static X509 *leaf_make(const char *base, enum kt t, const char *cn, const char *san, long nb,
		       long na)
{
	char f[64];
	EVP_PKEY *k = key_gen(t);
	X509 *x;

	assert_non_null(k);
	x = cert_make(k, cn, san, nb, na, false, ca, ca_key);
	snprintf(f, sizeof(f), "%s.crt", base);
	write_pem_certs(f, x, ca);
	snprintf(f, sizeof(f), "%s.key", base);
	write_key(f, k);
	EVP_PKEY_free(k);
	return x;
}

static void ocsp_make(const char *file, X509 *leaf, int status, long this_off, long next_off)
{
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, ca);
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	ASN1_TIME *thisupd = X509_gmtime_adj(NULL, this_off);
	ASN1_TIME *nextupd = X509_gmtime_adj(NULL, next_off);
	ASN1_TIME *rev = X509_gmtime_adj(NULL, -DAY);
	OCSP_RESPONSE *r;
	unsigned char *der = NULL;
	int len;

	assert_non_null(OCSP_basic_add1_status(
	    bs, id, status,
	    status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
	    status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, thisupd, nextupd));
	assert_int_equal(OCSP_basic_sign(bs, ca, ca_key, EVP_sha256(), NULL, 0), 1);
	r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	len = i2d_OCSP_RESPONSE(r, &der);
	assert_true(len > 0);
	write_bytes(file, der, (size_t)len);
	OPENSSL_free(der);
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(rev);
}

static unsigned char *slurp(const char *file, size_t *len)
{
	FILE *f = fopen(path(file), "rb");
	unsigned char *buf = malloc(1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* The store most tests use; index of each certificate in it. */
enum {
	C_DEF_EC,
	C_DEF_RSA,
	C_A_EC,
	C_A_RSA,
	C_B_EC,
	C_B_RSA,
	C_R_RSA,
	C_CN,
	C_SAN_CN,
	C_MULTI,
	C_N
};

static struct tls_cert_spec main_certs[C_N];
static struct tls_store *store;

static struct tls_cert_spec spec_of(const char *base, const char *ocsp)
{
	char c[64], k[64];

	snprintf(c, sizeof(c), "%s.crt", base);
	snprintf(k, sizeof(k), "%s.key", base);
	return (struct tls_cert_spec){.cert = strdup(path(c)),
				      .key = strdup(path(k)),
				      .ocsp = ocsp ? strdup(path(ocsp)) : NULL};
}

static void spec_free(struct tls_cert_spec *s)
{
	free((char *)s->cert);
	free((char *)s->key);
	free((char *)s->ocsp);
}

static struct tls_store *store_of(const struct tls_cert_spec *certs, size_t n, const char *alpn,
				  struct tls_tickets *tk, char *err, size_t errlen)
{
	struct tls_store_spec spec = {.certs = certs, .ncerts = n, .alpn = alpn, .tickets = tk};

	return tls_store_new(&spec, err, errlen);
}

static int setup(void **state)
{
	EVP_PKEY *k;
	X509 *x, *y;
	FILE *f;
	char err[256];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xdp-tls-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;

	ca_key = key_gen(K_EC);
	ca = cert_make(ca_key, "xdproxy test CA", NULL, -DAY, 30 * DAY, true, NULL, NULL);
	write_pem_certs("ca.crt", ca, NULL);

	leaf_a_ec = leaf_make("a_ec", K_EC, "a.test", "DNS:a.test", -DAY, 30 * DAY);
	leaf_a_rsa = leaf_make("a_rsa", K_RSA, "a.test", "DNS:a.test", -DAY, 30 * DAY);
	leaf_b_ec = leaf_make("b_ec", K_EC, "b wildcard", "DNS:*.b.test", -DAY, 30 * DAY);
	X509_free(leaf_make("b_rsa", K_RSA, "b wildcard", "DNS:*.b.test", -DAY, 30 * DAY));
	X509_free(leaf_make("def_ec", K_EC, "default.test", "DNS:default.test", -DAY, 30 * DAY));
	X509_free(leaf_make("def_rsa", K_RSA, "default.test", "DNS:default.test", -DAY, 30 * DAY));
	X509_free(leaf_make("r_rsa", K_RSA, "r.test", "DNS:r.test", -DAY, 30 * DAY));
	X509_free(leaf_make("cn", K_EC, "cn.test", NULL, -DAY, 30 * DAY));
	X509_free(leaf_make("san_cn", K_EC, "ignored.test", "DNS:s.test", -DAY, 30 * DAY));
	X509_free(leaf_make("multi", K_EC, "m", "DNS:m1.test,DNS:M2.Test,DNS:*.m.test,DNS:m1.test",
			    -DAY, 30 * DAY));
	X509_free(leaf_make("expired", K_EC, "exp.test", "DNS:exp.test", -30 * DAY, -DAY));
	X509_free(leaf_make("future", K_EC, "fut.test", "DNS:fut.test", DAY, 30 * DAY));
	X509_free(leaf_make("iponly", K_EC, "", "IP:192.0.2.1", -DAY, 30 * DAY));
	X509_free(leaf_make("badnames", K_EC, "x",
			    "DNS:*.test,DNS:f*.bad.test,DNS:a..b,DNS:ok.test", -DAY, 30 * DAY));
	X509_free(leaf_make("wild_w", K_EC, "w", "DNS:*.w.test", -DAY, 30 * DAY));
	X509_free(leaf_make("x_w_rsa", K_RSA, "x.w.test", "DNS:x.w.test", -DAY, 30 * DAY));
	X509_free(leaf_make("dup1", K_EC, "dup", "DNS:dup.test", -DAY, 30 * DAY));
	X509_free(leaf_make("dup2", K_EC, "dup", "DNS:dup.test", -DAY, 30 * DAY));

	/* Refused keys, each in a certificate of its own. */
	k = key_gen(K_RSA1024);
	x = cert_make(k, "small.test", "DNS:small.test", -DAY, DAY, false, ca, ca_key);
	write_pem_certs("small.crt", x, ca);
	write_key("small.key", k);
	X509_free(x);
	EVP_PKEY_free(k);
	k = key_gen(K_ED25519);
	x = cert_make(k, "ed.test", "DNS:ed.test", -DAY, DAY, false, ca, ca_key);
	write_pem_certs("ed.crt", x, ca);
	write_key("ed.key", k);
	X509_free(x);
	EVP_PKEY_free(k);

	/* Broken chains: CA only; CA before leaf; empty; not PEM; leaf + garbage block. */
	write_pem_certs("noleaf.crt", ca, NULL);
	write_pem_certs("reversed.crt", ca, leaf_a_ec);
	write_bytes("empty.crt", "", 0);
	write_bytes("garbage.crt", "this is not a certificate\n", 26);
	f = fopen(path("damaged.crt"), "w");
	assert_non_null(f);
	PEM_write_X509(f, leaf_a_ec);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n", f);
	fclose(f);

	/* a_ec's key, encrypted. */
	f = fopen(path("a_ec.key"), "r");
	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	f = fopen(path("enc.key"), "w");
	assert_non_null(f);
	assert_int_equal(
	    PEM_write_PrivateKey(f, k, EVP_aes_128_cbc(), (unsigned char *)"secret", 6, NULL, NULL),
	    1);
	fclose(f);
	EVP_PKEY_free(k);

	/* Leaf and key in one file. */
	f = fopen(path("combined.pem"), "w");
	assert_non_null(f);
	PEM_write_X509(f, leaf_a_ec);
	PEM_write_X509(f, ca);
	fclose(f);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "cat %s >> %s", path("a_ec.key"), path("combined.pem"));
		assert_int_equal(system(cmd), 0);
	}

	ocsp_make("a_ec.ocsp", leaf_a_ec, V_OCSP_CERTSTATUS_GOOD, -3600, 7 * DAY);
	ocsp_make("a_rsa.ocsp", leaf_a_rsa, V_OCSP_CERTSTATUS_GOOD, -3600, 7 * DAY);
	ocsp_make("stale.ocsp", leaf_a_ec, V_OCSP_CERTSTATUS_GOOD, -10 * DAY, -DAY);
	ocsp_make("wrong.ocsp", leaf_b_ec, V_OCSP_CERTSTATUS_GOOD, -3600, 7 * DAY);
	ocsp_make("revoked.ocsp", leaf_a_ec, V_OCSP_CERTSTATUS_REVOKED, -3600, 7 * DAY);
	ocsp_make("unknown.ocsp", leaf_a_ec, V_OCSP_CERTSTATUS_UNKNOWN, -3600, 7 * DAY);
	{
		OCSP_RESPONSE *r = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
		unsigned char *der = NULL;
		int len = i2d_OCSP_RESPONSE(r, &der);

		write_bytes("trylater.ocsp", der, (size_t)len);
		OPENSSL_free(der);
		OCSP_RESPONSE_free(r);
	}
	write_bytes("garbage.ocsp", "\x30\x03\x0a\x01", 4);

	main_certs[C_DEF_EC] = spec_of("def_ec", NULL);
	main_certs[C_DEF_EC].is_default = true;
	main_certs[C_DEF_RSA] = spec_of("def_rsa", NULL);
	main_certs[C_A_EC] = spec_of("a_ec", "a_ec.ocsp");
	main_certs[C_A_RSA] = spec_of("a_rsa", "a_rsa.ocsp");
	main_certs[C_B_EC] = spec_of("b_ec", NULL);
	main_certs[C_B_RSA] = spec_of("b_rsa", NULL);
	main_certs[C_R_RSA] = spec_of("r_rsa", NULL);
	main_certs[C_CN] = spec_of("cn", NULL);
	main_certs[C_SAN_CN] = spec_of("san_cn", NULL);
	main_certs[C_MULTI] = spec_of("multi", NULL);
	store = store_of(main_certs, C_N, NULL, NULL, err, sizeof(err));
	if (!store) {
		fprintf(stderr, "main store: %s\n", err);
		return -1;
	}
	(void)y;
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	(void)state;
	tls_store_unref(store);
	for (size_t i = 0; i < C_N; i++)
		spec_free(&main_certs[i]);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlink(path(e->d_name));
	if (d)
		closedir(d);
	rmdir(tmpdir);
	X509_free(leaf_a_ec);
	X509_free(leaf_a_rsa);
	X509_free(leaf_b_ec);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return 0;
}

/* ------------------------------------------------------------ client side */

struct copts {
	const char *sni;
	const char *alpn; /* comma list */
	int min, max;
	const char *sigalgs;
	const char *ciphers;
	const char *groups;
	SSL_SESSION *sess;
	bool status;
	bool no_ticket;
	bool weak; /* security level 0, for TLS 1.1 */
	bool verify;
};

/* What the client's ClientHello offered, from its own bytes. */
struct ch_seen {
	int hellos;
	bool psk;    /* TLS 1.3 pre_shared_key */
	bool ticket; /* non-empty TLS 1.2 session_ticket */
	unsigned char sid[32];
	size_t sidlen;
};

struct pc {
	int sfd, cfd;
	struct tls_conn *s;
	SSL_CTX *cctx;
	SSL *c;
	int srv;
	bool cli_ok;
	int cli_err;
	struct ch_seen ch;
};

static unsigned int get16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	const unsigned char *p = buf, *end = p + len;
	struct ch_seen *ch = arg;

	(void)version;
	(void)ssl;
	if (!write_p || content_type != SSL3_RT_HANDSHAKE || len < 4 + 35 ||
	    p[0] != SSL3_MT_CLIENT_HELLO)
		return;
	ch->hellos++;
	ch->psk = ch->ticket = false;
	p += 4 + 2 + 32;
	ch->sidlen = *p++;
	memcpy(ch->sid, p, ch->sidlen);
	p += ch->sidlen;
	p += 2 + get16(p);
	p += 1 + *p;
	if (end - p < 2)
		return;
	p += 2;
	while (end - p >= 4) {
		unsigned int type = get16(p), l = get16(p + 2);

		p += 4;
		if (type == 41)
			ch->psk = true;
		if (type == 35 && l > 0)
			ch->ticket = true;
		p += l;
	}
}

static void alpn_wire(const char *list, unsigned char *out, unsigned int *len)
{
	const char *p = list;

	*len = 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		out[(*len)++] = (unsigned char)n;
		memcpy(out + *len, p, n);
		*len += (unsigned int)n;
		p += n + (e ? 1 : 0);
	}
}

static void pc_open_fds(struct pc *p, struct tls_store *st, const struct copts *o, int sfd, int cfd)
{
	memset(p, 0, sizeof(*p));
	p->sfd = sfd;
	p->cfd = cfd;
	p->srv = -EAGAIN;
	p->s = tls_conn_new(st, p->sfd);
	assert_non_null(p->s);

	p->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(p->cctx);
	if (o->weak)
		SSL_CTX_set_security_level(p->cctx, 0);
	SSL_CTX_set_min_proto_version(p->cctx, o->min ? o->min : TLS1_VERSION);
	SSL_CTX_set_max_proto_version(p->cctx, o->max);
	if (o->weak)
		assert_int_equal(SSL_CTX_set_cipher_list(p->cctx, "DEFAULT:@SECLEVEL=0"), 1);
	if (o->ciphers)
		assert_int_equal(SSL_CTX_set_cipher_list(p->cctx, o->ciphers), 1);
	if (o->sigalgs)
		assert_int_equal(SSL_CTX_set1_sigalgs_list(p->cctx, o->sigalgs), 1);
	if (o->groups)
		assert_int_equal(SSL_CTX_set1_groups_list(p->cctx, o->groups), 1);
	if (o->no_ticket)
		SSL_CTX_set_options(p->cctx, SSL_OP_NO_TICKET);
	if (o->verify) {
		assert_int_equal(SSL_CTX_load_verify_file(p->cctx, path("ca.crt")), 1);
		SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	}
	p->c = SSL_new(p->cctx);
	assert_non_null(p->c);
	SSL_set_fd(p->c, p->cfd);
	SSL_set_connect_state(p->c);
	SSL_set_msg_callback(p->c, msg_cb);
	SSL_set_msg_callback_arg(p->c, &p->ch);
	if (o->sni)
		assert_int_equal(SSL_set_tlsext_host_name(p->c, o->sni), 1);
	if (o->verify && o->sni)
		assert_int_equal(SSL_set1_host(p->c, o->sni), 1);
	if (o->alpn) {
		unsigned char w[256];
		unsigned int wl;

		alpn_wire(o->alpn, w, &wl);
		assert_int_equal(SSL_set_alpn_protos(p->c, w, wl), 0);
	}
	if (o->status)
		SSL_set_tlsext_status_type(p->c, TLSEXT_STATUSTYPE_ocsp);
	if (o->sess)
		assert_int_equal(SSL_set_session(p->c, o->sess), 1);
}

static void pc_open(struct pc *p, struct tls_store *st, const struct copts *o)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	pc_open_fds(p, st, o, sv[0], sv[1]);
}

static void pc_close(struct pc *p)
{
	tls_conn_free(p->s);
	SSL_free(p->c);
	SSL_CTX_free(p->cctx);
	if (p->sfd >= 0)
		close(p->sfd);
	if (p->cfd >= 0)
		close(p->cfd);
	ERR_clear_error();
}

/* Both ends in turns until each has finished or failed. Returns the server's result. */
static int pc_handshake(struct pc *p)
{
	for (int i = 0; i < 4000; i++) {
		if (p->srv == -EAGAIN)
			p->srv = tls_handshake(p->s);
		if (!p->cli_ok && !p->cli_err) {
			int r;

			ERR_clear_error();
			r = SSL_do_handshake(p->c);
			if (r == 1) {
				p->cli_ok = true;
			} else {
				int e = SSL_get_error(p->c, r);

				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					p->cli_err = e ? e : -1;
			}
			ERR_clear_error();
		}
		if (p->srv != -EAGAIN && (p->cli_ok || p->cli_err))
			break;
	}
	return p->srv;
}

/* Client reads exactly len bytes (driving nothing else: the server wrote first). */
static bool cli_read_all(struct pc *p, void *buf, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < 100000 && got < len; i++) {
		int n = SSL_read(p->c, (char *)buf + got, (int)(len - got));

		if (n > 0)
			got += (size_t)n;
		else if (SSL_get_error(p->c, n) != SSL_ERROR_WANT_READ)
			return false;
	}
	return got == len;
}

static bool srv_read_all(struct pc *p, void *buf, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < 100000 && got < len; i++) {
		ssize_t n = tls_read(p->s, (char *)buf + got, len - got);

		if (n > 0)
			got += (size_t)n;
		else if (n != -EAGAIN)
			return false;
	}
	return got == len;
}

/* One round trip: also makes the client process TLS 1.3 tickets. */
static void pc_exchange(struct pc *p)
{
	char buf[8];

	assert_int_equal(tls_write(p->s, "ping", 4), 4);
	assert_true(cli_read_all(p, buf, 4));
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(SSL_write(p->c, "pong", 4), 4);
	assert_true(srv_read_all(p, buf, 4));
	assert_memory_equal(buf, "pong", 4);
}

/* Handshake that must succeed on both ends, then a round trip. */
static void pc_ok(struct pc *p, struct tls_store *st, const struct copts *o)
{
	pc_open(p, st, o);
	if (pc_handshake(p) != 0 || !p->cli_ok)
		fail_msg("handshake failed: server %d (%s), client error %d", p->srv,
			 tls_conn_error(p->s), p->cli_err);
	pc_exchange(p);
}

/* A session to resume, from a full handshake with these options. */
static SSL_SESSION *session_from(struct tls_store *st, const struct copts *o)
{
	struct pc p;
	SSL_SESSION *s;

	pc_ok(&p, st, o);
	s = SSL_get1_session(p.c);
	assert_non_null(s);
	/*
	 * OpenSSL marks a session unresumable when its SSL is freed before a
	 * close_notify was sent: send one from the client. The server's end is
	 * freed without tls_shutdown, as a proxy does after a plain close.
	 */
	assert_true(SSL_shutdown(p.c) >= 0);
	pc_close(&p);
	assert_true(SSL_SESSION_is_resumable(s));
	return s;
}

static int peer_key_type(struct pc *p)
{
	X509 *x = SSL_get0_peer_certificate(p->c);

	assert_non_null(x);
	return EVP_PKEY_get_base_id(X509_get0_pubkey(x));
}

static bool peer_has_host(struct pc *p, const char *host)
{
	X509 *x = SSL_get0_peer_certificate(p->c);

	assert_non_null(x);
	return X509_check_host(x, host, 0, 0, NULL) == 1;
}

static void expect_store_error(const struct tls_cert_spec *certs, size_t n, const char *alpn,
			       int want_errno, const char *want1, const char *want2)
{
	char err[512] = "x";
	struct tls_store *st;

	errno = 0;
	st = store_of(certs, n, alpn, NULL, err, sizeof(err));
	if (st) {
		tls_store_unref(st);
		fail_msg("store accepted: wanted an error with \"%s\"", want1);
	}
	assert_int_equal(errno, want_errno);
	if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, want1, want2 ? want2 : "");
}

static struct tls_cert_spec cs(const char *cert, const char *key, const char *ocsp)
{
	return (struct tls_cert_spec){
	    .cert = path(cert), .key = path(key), .ocsp = ocsp ? path(ocsp) : NULL};
}

/* ------------------------------------------------------------ store */

static void test_store_info(void **state)
{
	struct tls_cert_info in;

	(void)state;
	assert_int_equal(tls_store_ncerts(store), C_N);
	assert_int_equal(tls_store_cert_info(store, C_DEF_EC, &in), 0);
	assert_true(in.is_default);
	assert_int_equal(in.type, TLS_KEY_EC);
	assert_int_equal(in.bits, 256);
	assert_int_equal(in.nnames, 1);
	assert_string_equal(in.names[0], "default.test");
	assert_false(in.ocsp);
	assert_false(in.expired);
	assert_true(in.not_before < time(NULL) && in.not_after > time(NULL) + 29 * DAY);

	assert_int_equal(tls_store_cert_info(store, C_A_RSA, &in), 0);
	assert_false(in.is_default);
	assert_int_equal(in.type, TLS_KEY_RSA);
	assert_int_equal(in.bits, 2048);
	assert_true(in.ocsp);
	assert_true(in.ocsp_next_update > time(NULL) + 6 * DAY);
	assert_string_equal(in.path, main_certs[C_A_RSA].cert);

	/* SAN names normalized (lower case) and deduplicated, in certificate order. */
	assert_int_equal(tls_store_cert_info(store, C_MULTI, &in), 0);
	assert_int_equal(in.nnames, 3);
	assert_string_equal(in.names[0], "m1.test");
	assert_string_equal(in.names[1], "m2.test");
	assert_string_equal(in.names[2], "*.m.test");

	assert_int_equal(tls_store_cert_info(store, C_N, &in), -ENOENT);
	assert_int_equal(tls_store_cert_info(NULL, 0, &in), -EINVAL);
	assert_int_equal(tls_store_cert_info(store, 0, NULL), -EINVAL);
	assert_int_equal(tls_store_ncerts(NULL), 0);
	assert_non_null(tls_store_tickets(store));
	assert_null(tls_store_tickets(NULL));
}

static void expect_match(struct tls_store *st, const char *name, enum tls_match_kind kind, int ec,
			 int rsa)
{
	struct tls_match m;

	if (tls_store_match(st, name, &m) != 0)
		fail_msg("match(%s) refused", name ? name : "NULL");
	if (m.kind != kind || m.cert[TLS_KEY_EC] != ec || m.cert[TLS_KEY_RSA] != rsa)
		fail_msg("match(%s): kind %d ec %d rsa %d, wanted %d %d %d", name ? name : "NULL",
			 m.kind, m.cert[TLS_KEY_EC], m.cert[TLS_KEY_RSA], kind, ec, rsa);
}

static void test_match_exact(void **state)
{
	(void)state;
	expect_match(store, "a.test", TLS_MATCH_EXACT, C_A_EC, C_A_RSA);
	expect_match(store, "default.test", TLS_MATCH_EXACT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "r.test", TLS_MATCH_EXACT, -1, C_R_RSA);
	expect_match(store, "m1.test", TLS_MATCH_EXACT, C_MULTI, -1);
	expect_match(store, "m2.test", TLS_MATCH_EXACT, C_MULTI, -1);
}

static void test_match_wildcard(void **state)
{
	(void)state;
	expect_match(store, "x.b.test", TLS_MATCH_WILDCARD, C_B_EC, C_B_RSA);
	expect_match(store, "www-2.b.test", TLS_MATCH_WILDCARD, C_B_EC, C_B_RSA);
	expect_match(store, "q.m.test", TLS_MATCH_WILDCARD, C_MULTI, -1);
	/* Exactly one label: neither the bare domain nor two labels deep. */
	expect_match(store, "b.test", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "y.x.b.test", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "xb.test", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
}

static void test_match_default_and_normalize(void **state)
{
	struct tls_match m;
	char long_label[80];

	(void)state;
	expect_match(store, NULL, TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "unknown.test", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "localhost", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	expect_match(store, "A.TEST", TLS_MATCH_EXACT, C_A_EC, C_A_RSA);
	expect_match(store, "a.test.", TLS_MATCH_EXACT, C_A_EC, C_A_RSA);
	expect_match(store, "X.B.Test.", TLS_MATCH_WILDCARD, C_B_EC, C_B_RSA);
	expect_match(store, "under_score.b.test", TLS_MATCH_WILDCARD, C_B_EC, C_B_RSA);

	memset(long_label, 'x', 64);
	strcpy(long_label + 64, ".test");
	const char *bad[] = {"a b.test", "a..test", ".a.test", "a.test..", "*.b.test",
			     "*",	 "a/b",	    "a\tb",    long_label, "\xc3\xa9.test"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (tls_store_match(store, bad[i], &m) != -EINVAL)
			fail_msg("name \"%s\" accepted", bad[i]);
	strcpy(long_label + 63, ".test"); /* a 63-byte label is fine */
	expect_match(store, long_label, TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
	assert_int_equal(tls_store_match(NULL, "a.test", &m), -EINVAL);
	assert_int_equal(tls_store_match(store, "a.test", NULL), -EINVAL);
}

static void test_match_cn_only_without_san(void **state)
{
	(void)state;
	expect_match(store, "cn.test", TLS_MATCH_EXACT, C_CN, -1);
	/* A certificate with SAN is never served by its CN. */
	expect_match(store, "s.test", TLS_MATCH_EXACT, C_SAN_CN, -1);
	expect_match(store, "ignored.test", TLS_MATCH_DEFAULT, C_DEF_EC, C_DEF_RSA);
}

static void test_match_exact_beside_wildcard(void **state)
{
	struct tls_cert_spec certs[] = {cs("def_ec.crt", "def_ec.key", NULL),
					cs("wild_w.crt", "wild_w.key", NULL),
					cs("x_w_rsa.crt", "x_w_rsa.key", NULL)};
	char err[256];
	struct tls_store *st = store_of(certs, 3, NULL, NULL, err, sizeof(err));

	(void)state;
	assert_non_null(st);
	/* Exact RSA name, the ECDSA slot filled by the wildcard covering it. */
	expect_match(st, "x.w.test", TLS_MATCH_EXACT, 1, 2);
	expect_match(st, "y.w.test", TLS_MATCH_WILDCARD, 1, -1);
	/* No default marked: the first certificate. */
	expect_match(st, "nope.test", TLS_MATCH_DEFAULT, 0, -1);
	tls_store_unref(st);
}

static void test_match_first_listed_and_marked_default(void **state)
{
	struct tls_cert_spec certs[] = {cs("dup1.crt", "dup1.key", NULL),
					cs("dup2.crt", "dup2.key", NULL),
					cs("def_rsa.crt", "def_rsa.key", NULL)};
	char err[256];
	struct tls_store *st;

	(void)state;
	certs[1].is_default = true;
	st = store_of(certs, 3, NULL, NULL, err, sizeof(err));
	assert_non_null(st);
	expect_match(st, "dup.test", TLS_MATCH_EXACT, 0, -1);
	/* The marked default is served for unknown names even though dup1 wins dup.test. */
	expect_match(st, "other.test", TLS_MATCH_DEFAULT, 1, -1);
	tls_store_unref(st);

	/* Default RSA: its ECDSA partner is the one serving its first name. */
	certs[1].is_default = false;
	certs[2].is_default = true;
	st = store_of(certs, 3, NULL, NULL, err, sizeof(err));
	assert_non_null(st);
	expect_match(st, "other.test", TLS_MATCH_DEFAULT, -1, 2);
	tls_store_unref(st);
}

static void test_bad_files(void **state)
{
	struct tls_cert_spec c[1];

	(void)state;
	c[0] = cs("missing.crt", "a_ec.key", NULL);
	expect_store_error(c, 1, NULL, ENOENT, "missing.crt", "No such file");
	c[0] = cs("a_ec.crt", "missing.key", NULL);
	expect_store_error(c, 1, NULL, ENOENT, "missing.key", "No such file");
	c[0] = cs("a_ec.crt", "a_ec.key", "missing.ocsp");
	expect_store_error(c, 1, NULL, ENOENT, "missing.ocsp", "No such file");
	c[0] = cs(".", "a_ec.key", NULL); /* a directory */
	expect_store_error(c, 1, NULL, EISDIR, "cannot read certificate", NULL);
	c[0] = cs("empty.crt", "a_ec.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "empty.crt", "no PEM certificate");
	c[0] = cs("garbage.crt", "a_ec.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "garbage.crt", "no PEM certificate");
	c[0] = cs("damaged.crt", "a_ec.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "damaged.crt", "certificate #2 does not parse");
	c[0] = cs("a_ec.crt", "a_ec.crt", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "a_ec.crt", "no PEM private key");
}

static void test_bad_key_match(void **state)
{
	struct tls_cert_spec c[1];

	(void)state;
	c[0] = cs("a_ec.crt", "b_ec.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "does not match", "b_ec.key");
	c[0] = cs("a_ec.crt", "a_rsa.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "does not match", NULL);
	c[0] = cs("noleaf.crt", "a_ec.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "noleaf.crt", "the leaf is missing");
	c[0] = cs("reversed.crt", "a_ec.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "matches certificate #2", "leaf must come first");
	c[0] = cs("a_ec.crt", "enc.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "enc.key", "encrypted");
	c[0] = cs("small.crt", "small.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "1024 bits", "2048");
	c[0] = cs("ed.crt", "ed.key", NULL);
	expect_store_error(c, 1, NULL, EINVAL, "unsupported key type", "ED25519");
}

static void test_bad_spec(void **state)
{
	struct tls_store_spec spec = {0};
	struct tls_cert_spec c[2] = {cs("a_ec.crt", "a_ec.key", NULL),
				     cs("b_ec.crt", "b_ec.key", NULL)};
	char err[256];

	(void)state;
	errno = 0;
	assert_null(tls_store_new(NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "no certificate"));
	assert_null(tls_store_new(&spec, NULL, 0)); /* err may be NULL */
	assert_int_equal(errno, EINVAL);
	spec.certs = c;
	assert_null(tls_store_new(&spec, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);

	c[0].is_default = c[1].is_default = true;
	expect_store_error(c, 2, NULL, EINVAL, "both marked default", NULL);
	c[0].is_default = c[1].is_default = false;
	c[1].key = NULL;
	expect_store_error(c, 2, NULL, EINVAL, "without a key", NULL);
	c[1].cert = NULL;
	c[1].key = path("b_ec.key");
	expect_store_error(c, 2, NULL, EINVAL, "without a certificate", NULL);

	/* A one-byte buffer gets an empty string, not an overflow. */
	err[0] = 'x';
	assert_null(store_of(c, 2, NULL, NULL, err, 1));
	assert_int_equal(err[0], '\0');
}

static void test_bad_alpn(void **state)
{
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	char big[300];

	(void)state;
	expect_store_error(c, 1, "h2,,http/1.1", EINVAL, "empty protocol name", NULL);
	expect_store_error(c, 1, ",", EINVAL, "empty protocol name", NULL);
	expect_store_error(c, 1, "h2,http/1.1,h2", EINVAL, "\"h2\" given twice", NULL);
	expect_store_error(c, 1, "h 2", EINVAL, "printable", NULL);
	memset(big, 'a', 256);
	big[256] = '\0';
	expect_store_error(c, 1, big, EINVAL, "over 255 bytes", NULL);
}

static void test_bad_ocsp(void **state)
{
	struct tls_cert_spec c[1];

	(void)state;
	c[0] = cs("a_ec.crt", "a_ec.key", "garbage.ocsp");
	expect_store_error(c, 1, NULL, EINVAL, "garbage.ocsp", "not a DER OCSP response");
	c[0] = cs("a_ec.crt", "a_ec.key", "a_ec.crt");
	expect_store_error(c, 1, NULL, EINVAL, "not a DER OCSP response", NULL);
	c[0] = cs("a_ec.crt", "a_ec.key", "wrong.ocsp");
	expect_store_error(c, 1, NULL, EINVAL, "not about certificate", "a_ec.crt");
	c[0] = cs("a_ec.crt", "a_ec.key", "revoked.ocsp");
	expect_store_error(c, 1, NULL, EINVAL, "revoked", NULL);
	c[0] = cs("a_ec.crt", "a_ec.key", "trylater.ocsp");
	expect_store_error(c, 1, NULL, EINVAL, "status is", "trylater");
}

static void test_loads_with_warnings(void **state)
{
	struct tls_cert_spec c[] = {
	    cs("expired.crt", "expired.key", NULL),   cs("future.crt", "future.key", NULL),
	    cs("a_ec.crt", "a_ec.key", "stale.ocsp"), cs("b_ec.crt", "b_ec.key", NULL),
	    cs("badnames.crt", "badnames.key", NULL), cs("combined.pem", "combined.pem", NULL)};
	struct tls_cert_info in;
	char err[256];
	struct tls_store *st = store_of(c, ARRAY_SIZE(c), NULL, NULL, err, sizeof(err));

	(void)state;
	if (!st)
		fail_msg("refused: %s", err);
	assert_int_equal(tls_store_cert_info(st, 0, &in), 0);
	assert_true(in.expired);
	assert_false(in.not_yet_valid);
	assert_true(in.not_after < time(NULL));
	assert_int_equal(tls_store_cert_info(st, 1, &in), 0);
	assert_false(in.expired);
	assert_true(in.not_yet_valid);
	/* A stale OCSP response is loaded but never stapled. */
	assert_int_equal(tls_store_cert_info(st, 2, &in), 0);
	assert_false(in.ocsp);
	/* "*.test" (one label), "f*.bad.test" and "a..b" are skipped. */
	assert_int_equal(tls_store_cert_info(st, 4, &in), 0);
	assert_int_equal(in.nnames, 1);
	assert_string_equal(in.names[0], "ok.test");
	expect_match(st, "exp.test", TLS_MATCH_EXACT, 0, -1);
	expect_match(st, "x.test", TLS_MATCH_DEFAULT, 0, -1);
	tls_store_unref(st);

	/* An OCSP status "unknown" loads, not stapled. */
	c[0] = cs("a_ec.crt", "a_ec.key", "unknown.ocsp");
	st = store_of(c, 1, NULL, NULL, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(tls_store_cert_info(st, 0, &in), 0);
	assert_false(in.ocsp);
	tls_store_unref(st);
}

static void test_nameless_cert(void **state)
{
	struct tls_cert_spec c[2] = {cs("a_ec.crt", "a_ec.key", NULL),
				     cs("iponly.crt", "iponly.key", NULL)};
	char err[256];
	struct tls_store *st;

	(void)state;
	expect_store_error(c, 2, NULL, EINVAL, "iponly.crt", "no DNS name");
	c[1].is_default = true;
	st = store_of(c, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(st);
	expect_match(st, "a.test", TLS_MATCH_EXACT, 0, -1);
	expect_match(st, NULL, TLS_MATCH_DEFAULT, 1, -1);
	tls_store_unref(st);
}

/* ------------------------------------------------------------ SNI and certificates */

static void test_sni_exact(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .verify = true});
	assert_string_equal(tls_conn_sni(p.s), "a.test");
	assert_int_equal(tls_conn_match(p.s), TLS_MATCH_EXACT);
	assert_int_equal(peer_key_type(&p), EVP_PKEY_EC);
	assert_true(peer_has_host(&p, "a.test"));
	assert_int_equal(SSL_get_verify_result(p.c), X509_V_OK);
	assert_string_equal(tls_conn_version(p.s), "TLSv1.3");
	assert_int_equal(SSL_version(p.c), TLS1_3_VERSION);
	assert_false(tls_conn_resumed(p.s));
	assert_string_equal(tls_conn_error(p.s), "");
	/* The server acknowledged the name (the client saw it in EncryptedExtensions). */
	assert_string_equal(SSL_get_servername(p.c, TLSEXT_NAMETYPE_host_name), "a.test");
	pc_close(&p);
}

static void test_sni_wildcard(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "x.b.test", .verify = true});
	assert_string_equal(tls_conn_sni(p.s), "x.b.test");
	assert_int_equal(tls_conn_match(p.s), TLS_MATCH_WILDCARD);
	assert_true(peer_has_host(&p, "x.b.test"));
	assert_false(peer_has_host(&p, "a.test"));
	assert_int_equal(SSL_get_verify_result(p.c), X509_V_OK);
	pc_close(&p);
}

static void test_sni_unknown_default(void **state)
{
	const char *names[] = {"unknown.test", "y.x.b.test", "b.test", "ignored.test"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct pc p;

		pc_ok(&p, store, &(struct copts){.sni = names[i]});
		assert_string_equal(tls_conn_sni(p.s), names[i]);
		assert_int_equal(tls_conn_match(p.s), TLS_MATCH_DEFAULT);
		assert_true(peer_has_host(&p, "default.test"));
		assert_int_equal(peer_key_type(&p), EVP_PKEY_EC);
		pc_close(&p);
	}
}

static void test_no_sni(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){0});
	assert_null(tls_conn_sni(p.s));
	assert_int_equal(tls_conn_match(p.s), TLS_MATCH_DEFAULT);
	assert_true(peer_has_host(&p, "default.test"));
	pc_close(&p);
}

static void test_sni_case_and_dot(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "A.Test."});
	assert_string_equal(tls_conn_sni(p.s), "a.test");
	assert_int_equal(tls_conn_match(p.s), TLS_MATCH_EXACT);
	assert_true(peer_has_host(&p, "a.test"));
	pc_close(&p);
	pc_ok(&p, store, &(struct copts){.sni = "CN.TEST"});
	assert_int_equal(tls_conn_match(p.s), TLS_MATCH_EXACT);
	assert_true(peer_has_host(&p, "cn.test"));
	pc_close(&p);
}

static void test_sni_invalid_refused(void **state)
{
	const char *names[] = {"bad name.test", "a..test", "semi;colon.test"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct pc p;

		pc_open(&p, store, &(struct copts){.sni = names[i]});
		assert_int_equal(pc_handshake(&p), -EPROTO);
		assert_false(p.cli_ok);
		assert_non_null(strstr(tls_conn_error(p.s), "invalid server name"));
		/* A failed connection stays failed. */
		assert_int_equal(tls_handshake(p.s), -EPROTO);
		assert_int_equal(tls_write(p.s, "x", 1), -EPROTO);
		pc_close(&p);
	}
}

static void test_ecdsa_preferred(void **state)
{
	struct pc p;

	(void)state;
	/* TLS 1.3 and 1.2 clients able to take both get ECDSA. */
	pc_ok(&p, store, &(struct copts){.sni = "x.b.test"});
	assert_int_equal(peer_key_type(&p), EVP_PKEY_EC);
	pc_close(&p);
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .max = TLS1_2_VERSION});
	assert_int_equal(peer_key_type(&p), EVP_PKEY_EC);
	assert_string_equal(tls_conn_cipher(p.s), "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_string_equal(SSL_get_cipher_name(p.c), "ECDHE-ECDSA-AES128-GCM-SHA256");
	pc_close(&p);
}

static void test_rsa_by_sigalgs(void **state)
{
	const char *names[] = {"a.test", "x.b.test", "unknown.test"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct pc p;

		pc_ok(&p, store,
		      &(struct copts){.sni = names[i],
				      .sigalgs = "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384"});
		assert_int_equal(peer_key_type(&p), EVP_PKEY_RSA);
		assert_int_equal(SSL_version(p.c), TLS1_3_VERSION);
		pc_close(&p);
	}
}

static void test_rsa_by_ciphers(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(
	    &p, store,
	    &(struct copts){.sni = "a.test",
			    .max = TLS1_2_VERSION,
			    .ciphers = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"});
	assert_int_equal(peer_key_type(&p), EVP_PKEY_RSA);
	assert_true(peer_has_host(&p, "a.test"));
	/* Server order: AES-256-GCM is listed before ChaCha20 for RSA. */
	assert_string_equal(SSL_get_cipher_name(p.c), "ECDHE-RSA-AES256-GCM-SHA384");
	pc_close(&p);
}

static void test_rsa_only_name(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "r.test"});
	assert_int_equal(peer_key_type(&p), EVP_PKEY_RSA);
	pc_close(&p);
	/* A client that takes only ECDSA cannot be served r.test. */
	pc_open(&p, store,
		&(struct copts){.sni = "r.test", .sigalgs = "ECDSA+SHA256:ECDSA+SHA384"});
	assert_int_equal(pc_handshake(&p), -EPROTO);
	assert_false(p.cli_ok);
	assert_true(strlen(tls_conn_error(p.s)) > 0);
	pc_close(&p);
}

/* ------------------------------------------------------------ ALPN */

static void test_alpn_h2(void **state)
{
	struct pc p;
	const unsigned char *sel;
	unsigned int len;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .alpn = "h2,http/1.1"});
	assert_string_equal(tls_conn_alpn(p.s), "h2");
	SSL_get0_alpn_selected(p.c, &sel, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(sel, "h2", 2);
	pc_close(&p);
	/* Server preference: h2 even when the client lists it last. */
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .alpn = "http/1.1,h2"});
	assert_string_equal(tls_conn_alpn(p.s), "h2");
	pc_close(&p);
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .alpn = "http/1.1"});
	assert_string_equal(tls_conn_alpn(p.s), "http/1.1");
	pc_close(&p);
	/* TLS 1.2 negotiates ALPN as well. */
	pc_ok(&p, store, &(struct copts){.alpn = "foo,h2", .max = TLS1_2_VERSION});
	assert_string_equal(tls_conn_alpn(p.s), "h2");
	pc_close(&p);
}

static void test_alpn_http11_only(void **state)
{
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	char err[256];
	struct tls_store *st = store_of(c, 1, "http/1.1", NULL, err, sizeof(err));
	struct pc p;

	(void)state;
	assert_non_null(st);
	pc_ok(&p, st, &(struct copts){.sni = "a.test", .alpn = "h2,http/1.1"});
	assert_string_equal(tls_conn_alpn(p.s), "http/1.1");
	pc_close(&p);
	pc_open(&p, st, &(struct copts){.sni = "a.test", .alpn = "h2"});
	assert_int_equal(pc_handshake(&p), -EPROTO);
	assert_false(p.cli_ok);
	assert_string_equal(tls_conn_error(p.s), "no common ALPN protocol");
	pc_close(&p);
	tls_store_unref(st);
}

static void test_alpn_none(void **state)
{
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	char err[256];
	struct tls_store *st = store_of(c, 1, "", NULL, err, sizeof(err));
	struct pc p;
	const unsigned char *sel = (const unsigned char *)"x";
	unsigned int len = 9;

	(void)state;
	/* The client offers none. */
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	assert_null(tls_conn_alpn(p.s));
	pc_close(&p);
	/* ALPN off in the store: whatever the client offers is not answered. */
	assert_non_null(st);
	pc_ok(&p, st, &(struct copts){.sni = "a.test", .alpn = "h2,http/1.1"});
	assert_null(tls_conn_alpn(p.s));
	SSL_get0_alpn_selected(p.c, &sel, &len);
	assert_int_equal(len, 0);
	pc_close(&p);
	tls_store_unref(st);
}

static void test_alpn_mismatch_refused(void **state)
{
	struct pc p;

	(void)state;
	pc_open(&p, store, &(struct copts){.sni = "a.test", .alpn = "spdy/3,imap"});
	assert_int_equal(pc_handshake(&p), -EPROTO);
	assert_false(p.cli_ok);
	assert_string_equal(tls_conn_error(p.s), "no common ALPN protocol");
	pc_close(&p);
}

/* ------------------------------------------------------------ protocol defaults */

static void test_tls11_refused(void **state)
{
	struct pc p;

	(void)state;
	pc_open(&p, store,
		&(struct copts){
		    .sni = "a.test", .min = TLS1_VERSION, .max = TLS1_1_VERSION, .weak = true});
	assert_int_equal(pc_handshake(&p), -EPROTO);
	assert_false(p.cli_ok);
	assert_non_null(strstr(tls_conn_error(p.s), "protocol"));
	pc_close(&p);
}

static void test_tls12_ciphers(void **state)
{
	const char *refused[] = {"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA",
				 "AES128-GCM-SHA256:AES256-GCM-SHA384",
				 "DHE-RSA-AES128-GCM-SHA256"};
	struct pc p;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		pc_open(&p, store,
			&(struct copts){.sni = "a.test",
					.max = TLS1_2_VERSION,
					.ciphers = refused[i],
					.weak = true});
		assert_int_equal(pc_handshake(&p), -EPROTO);
		assert_non_null(strstr(tls_conn_error(p.s), "no shared cipher"));
		pc_close(&p);
	}
	pc_ok(&p, store,
	      &(struct copts){.sni = "a.test",
			      .max = TLS1_2_VERSION,
			      .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305"});
	assert_string_equal(tls_conn_cipher(p.s), "ECDHE-ECDSA-CHACHA20-POLY1305");
	assert_string_equal(tls_conn_version(p.s), "TLSv1.2");
	/* Compression is never on. */
	assert_null(SSL_get_current_compression(p.c));
	pc_close(&p);
}

static void test_groups(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	assert_int_equal(SSL_get_negotiated_group(p.c), NID_X25519);
	pc_close(&p);
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .groups = "P-384"});
	assert_int_equal(SSL_get_negotiated_group(p.c), NID_secp384r1);
	pc_close(&p);
	pc_open(&p, store, &(struct copts){.sni = "a.test", .groups = "P-521:ffdhe2048"});
	assert_int_equal(pc_handshake(&p), -EPROTO);
	pc_close(&p);
	/* TLS 1.2 ECDHE over P-256 when the client asks for it. */
	pc_ok(&p, store,
	      &(struct copts){.sni = "a.test", .groups = "P-256", .max = TLS1_2_VERSION});
	assert_int_equal(SSL_get_negotiated_group(p.c), NID_X9_62_prime256v1);
	pc_close(&p);
}

static void test_hello_retry_keeps_sni(void **state)
{
	struct pc p;

	(void)state;
	/* The client's key share is for P-521, refused: a HelloRetryRequest asks for P-256. */
	pc_ok(&p, store, &(struct copts){.sni = "x.b.test", .groups = "P-521:P-256"});
	assert_int_equal(p.ch.hellos, 2);
	assert_int_equal(SSL_get_negotiated_group(p.c), NID_X9_62_prime256v1);
	assert_string_equal(tls_conn_sni(p.s), "x.b.test");
	assert_int_equal(tls_conn_match(p.s), TLS_MATCH_WILDCARD);
	assert_true(peer_has_host(&p, "x.b.test"));
	pc_close(&p);
}

static void test_no_renegotiation(void **state)
{
	struct pc p;
	char buf[16];
	bool reneg_done = false;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .max = TLS1_2_VERSION});
	assert_int_equal(SSL_renegotiate(p.c), 1);
	for (int i = 0; i < 200; i++) {
		int r = SSL_do_handshake(p.c);

		if (r == 1 && !SSL_renegotiate_pending(p.c)) {
			reneg_done = true;
			break;
		}
		if (r <= 0 && SSL_get_error(p.c, r) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(p.c, r) != SSL_ERROR_WANT_WRITE)
			break;
		(void)tls_read(p.s, buf, sizeof(buf));
	}
	ERR_clear_error();
	assert_false(reneg_done);
	assert_int_equal(SSL_num_renegotiations(p.c), 1); /* asked once, never completed */
	pc_close(&p);
}

/* ------------------------------------------------------------ resumption */

static void expect_resumed(struct tls_store *st, const struct copts *o, bool resumed)
{
	struct pc p;

	pc_ok(&p, st, o);
	/* The client did offer the session, by ticket or by id. */
	assert_true(p.ch.psk || p.ch.ticket ||
		    (p.ch.sidlen && o->sess &&
		     !memcmp(p.ch.sid, SSL_SESSION_get_id(o->sess, NULL), p.ch.sidlen)));
	if (tls_conn_resumed(p.s) != resumed || (bool)SSL_session_reused(p.c) != resumed)
		fail_msg("sni %s: server resumed %d, client %d, wanted %d", o->sni ? o->sni : "-",
			 tls_conn_resumed(p.s), SSL_session_reused(p.c), resumed);
	/* Keep o->sess usable for the next attempt (see session_from). */
	SSL_shutdown(p.c);
	pc_close(&p);
}

static void test_resume_ticket_tls13(void **state)
{
	SSL_SESSION *s = session_from(store, &(struct copts){.sni = "a.test"});
	struct pc p;

	(void)state;
	assert_int_equal(SSL_SESSION_get_protocol_version(s), TLS1_3_VERSION);
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .sess = s});
	assert_true(p.ch.psk);
	assert_true(tls_conn_resumed(p.s));
	assert_true(SSL_session_reused(p.c));
	assert_string_equal(tls_conn_sni(p.s), "a.test");
	pc_close(&p);
	SSL_SESSION_free(s);
}

static void test_resume_ticket_tls12(void **state)
{
	struct copts o = {.sni = "x.b.test", .max = TLS1_2_VERSION};
	SSL_SESSION *s = session_from(store, &o);
	struct pc p;

	(void)state;
	assert_true(SSL_SESSION_has_ticket(s));
	o.sess = s;
	pc_ok(&p, store, &o);
	assert_true(p.ch.ticket);
	assert_true(tls_conn_resumed(p.s));
	assert_true(SSL_session_reused(p.c));
	pc_close(&p);
	SSL_SESSION_free(s);
}

/* Abrupt closes (EOF read, or never read: an idle timeout) keep the session resumable. */
static void test_resume_after_abrupt_close(void **state)
{
	struct copts o = {.sni = "a.test", .max = TLS1_2_VERSION, .no_ticket = true};

	(void)state;
	for (int read_eof = 0; read_eof < 2; read_eof++) {
		struct pc p;
		SSL_SESSION *s;
		char buf[8];

		o.sess = NULL;
		pc_ok(&p, store, &o);
		s = SSL_get1_session(p.c);
		/* The client's copy stays resumable; the server sees a bare EOF. */
		SSL_set_shutdown(p.c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		close(p.cfd);
		p.cfd = -1;
		if (read_eof) {
			assert_int_equal(tls_read(p.s, buf, sizeof(buf)), 0);
			assert_false(tls_conn_close_notify(p.s));
		}
		pc_close(&p);
		o.sess = s;
		expect_resumed(store, &o, true);
		SSL_SESSION_free(s);
	}
}

static void test_resume_session_id(void **state)
{
	struct copts o = {.sni = "a.test", .max = TLS1_2_VERSION, .no_ticket = true};
	SSL_SESSION *s = session_from(store, &o);
	unsigned int idlen;

	(void)state;
	assert_false(SSL_SESSION_has_ticket(s));
	SSL_SESSION_get_id(s, &idlen);
	assert_int_equal(idlen, 32);
	o.sess = s;
	expect_resumed(store, &o, true);
	SSL_SESSION_free(s);
}

static void test_resume_refused_other_name(void **state)
{
	const struct copts make[] = {
	    {.sni = "a.test"},
	    {.sni = "a.test", .max = TLS1_2_VERSION},
	    {.sni = "a.test", .max = TLS1_2_VERSION, .no_ticket = true},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(make); i++) {
		struct copts o = make[i];
		SSL_SESSION *s = session_from(store, &o);
		struct pc p;

		o.sess = s;
		o.sni = "x.b.test";
		pc_ok(&p, store, &o);
		assert_false(tls_conn_resumed(p.s));
		assert_false(SSL_session_reused(p.c));
		/* A full handshake: the other name's certificate. */
		assert_true(peer_has_host(&p, "x.b.test"));
		pc_close(&p);
		/* And the session still works for its own name. */
		o.sni = "a.test";
		expect_resumed(store, &o, true);
		SSL_SESSION_free(s);
	}
}

static void test_resume_refused_same_wildcard(void **state)
{
	const struct copts make[] = {
	    {.sni = "x.b.test"},
	    {.sni = "x.b.test", .max = TLS1_2_VERSION},
	    {.sni = "x.b.test", .max = TLS1_2_VERSION, .no_ticket = true},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(make); i++) {
		struct copts o = make[i];
		SSL_SESSION *s = session_from(store, &o);

		/* Same certificate, same SSL_CTX, another name: still refused. */
		o.sess = s;
		o.sni = "y.b.test";
		expect_resumed(store, &o, false);
		/* Unknown names share the default certificate, not sessions. */
		o.sni = NULL;
		expect_resumed(store, &o, false);
		SSL_SESSION_free(s);
	}
}

/* A client that lies about the session's name gains nothing: the server's copy decides. */
static void test_resume_refused_doctored_session(void **state)
{
	const struct copts make[] = {
	    {.sni = "a.test"},
	    {.sni = "a.test", .max = TLS1_2_VERSION},
	    {.sni = "a.test", .max = TLS1_2_VERSION, .no_ticket = true},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(make); i++) {
		struct copts o = make[i];
		SSL_SESSION *s = session_from(store, &o);
		SSL_SESSION *d = SSL_SESSION_dup(s);

		assert_non_null(d);
		assert_int_equal(SSL_SESSION_set1_hostname(d, "x.b.test"), 1);
		o.sess = d;
		o.sni = "x.b.test";
		expect_resumed(store, &o, false);
		SSL_SESSION_free(d);
		SSL_SESSION_free(s);
	}
}

static void test_resume_no_sni_then_sni(void **state)
{
	SSL_SESSION *s = session_from(store, &(struct copts){0});

	(void)state;
	/* No SNI and "default.test" reach the same certificate but are different names. */
	expect_resumed(store, &(struct copts){.sni = "default.test", .sess = s}, false);
	expect_resumed(store, &(struct copts){.sess = s}, true);
	SSL_SESSION_free(s);
}

static void test_ticket_rotation(void **state)
{
	struct tls_tickets *tk = tls_tickets_new(0);
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	char err[256];
	struct tls_store *st = store_of(c, 1, NULL, tk, err, sizeof(err));
	SSL_SESSION *s13, *s12;

	(void)state;
	assert_non_null(st);
	assert_ptr_equal(tls_store_tickets(st), tk);
	s13 = session_from(st, &(struct copts){.sni = "a.test"});
	s12 = session_from(st, &(struct copts){.sni = "a.test", .max = TLS1_2_VERSION});
	expect_resumed(st, &(struct copts){.sni = "a.test", .sess = s13}, true);
	/* One rotation: the old key is now the previous one and still opens. */
	assert_int_equal(tls_tickets_rotate(tk), 0);
	expect_resumed(st, &(struct copts){.sni = "a.test", .sess = s13}, true);
	expect_resumed(st, &(struct copts){.sni = "a.test", .max = TLS1_2_VERSION, .sess = s12},
		       true);
	/* Two: it is gone. */
	assert_int_equal(tls_tickets_rotate(tk), 0);
	expect_resumed(st, &(struct copts){.sni = "a.test", .sess = s13}, false);
	expect_resumed(st, &(struct copts){.sni = "a.test", .max = TLS1_2_VERSION, .sess = s12},
		       false);
	assert_int_equal(tls_tickets_rotate(NULL), -EINVAL);
	SSL_SESSION_free(s13);
	SSL_SESSION_free(s12);
	tls_store_unref(st);
	tls_tickets_unref(tk);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_until(uint64_t t)
{
	uint64_t now = now_ms();

	if (t > now)
		usleep((useconds_t)(t - now) * 1000);
}

static void test_ticket_auto_rotation(void **state)
{
	struct tls_tickets *tk = tls_tickets_new(1);
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	char err[256];
	struct tls_store *st = store_of(c, 1, NULL, tk, err, sizeof(err));
	SSL_SESSION *s;
	uint64_t t0;

	(void)state;
	assert_non_null(st);
	tls_tickets_unref(tk); /* the store holds its own reference */
	/* A fresh key now, so the periods below count from here. */
	assert_int_equal(tls_tickets_rotate(tls_store_tickets(st)), 0);
	t0 = now_ms();
	s = session_from(st, &(struct copts){.sni = "a.test"});
	/* 1.3 s on: rotated once at this handshake, the ticket's key is the previous. */
	sleep_until(t0 + 1300);
	expect_resumed(st, &(struct copts){.sni = "a.test", .sess = s}, true);
	SSL_SESSION_free(s);

	/* That handshake made the current key; two periods without one and both are too old. */
	t0 = now_ms();
	s = session_from(st, &(struct copts){.sni = "a.test"});
	sleep_until(t0 + 2100);
	expect_resumed(st, &(struct copts){.sni = "a.test", .sess = s}, false);
	SSL_SESSION_free(s);
	tls_store_unref(st);
}

static void test_tickets_survive_reload(void **state)
{
	struct tls_cert_spec c[2] = {cs("a_ec.crt", "a_ec.key", NULL),
				     cs("a_rsa.crt", "a_rsa.key", NULL)};
	char err[256];
	struct tls_store *st1 = store_of(c, 1, NULL, NULL, err, sizeof(err)), *st2, *st3;
	SSL_SESSION *s;

	(void)state;
	assert_non_null(st1);
	s = session_from(st1, &(struct copts){.sni = "a.test"});
	/* The reload: a new store (another certificate set) with the old store's keys. */
	st2 = store_of(c, 2, NULL, tls_store_tickets(st1), err, sizeof(err));
	assert_non_null(st2);
	tls_store_unref(st1);
	expect_resumed(st2, &(struct copts){.sni = "a.test", .sess = s}, true);
	/* A store with keys of its own cannot open the ticket. */
	st3 = store_of(c, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(st3);
	expect_resumed(st3, &(struct copts){.sni = "a.test", .sess = s}, false);
	SSL_SESSION_free(s);
	tls_store_unref(st2);
	tls_store_unref(st3);
}

static void test_session_cache_bounded(void **state)
{
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	struct tls_store_spec spec = {.certs = c, .ncerts = 1, .session_cache = 1};
	struct copts o = {.sni = "a.test", .max = TLS1_2_VERSION, .no_ticket = true};
	char err[256];
	struct tls_store *st = tls_store_new(&spec, err, sizeof(err));
	SSL_SESSION *s1, *s2;
	struct tls_conn *c0;
	int sv[2];

	(void)state;
	assert_non_null(st);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c0 = tls_conn_new(st, sv[0]);
	assert_non_null(c0);
	s1 = session_from(st, &o);
	s2 = session_from(st, &o);
	/* One entry: the second session pushed the first out. */
	o.sess = s2;
	expect_resumed(st, &o, true);
	o.sess = s1;
	expect_resumed(st, &o, false);
	SSL_SESSION_free(s1);
	SSL_SESSION_free(s2);
	tls_conn_free(c0);
	close(sv[0]);
	close(sv[1]);
	tls_store_unref(st);

	/* Cache off: the server hands out no session id to come back with. */
	spec.session_cache = -1;
	st = tls_store_new(&spec, err, sizeof(err));
	assert_non_null(st);
	o.sess = NULL;
	{
		struct pc p;
		unsigned int idlen = 99;

		pc_ok(&p, st, &o);
		SSL_SESSION_get_id(SSL_get_session(p.c), &idlen);
		assert_int_equal(idlen, 0);
		assert_false(SSL_SESSION_is_resumable(SSL_get_session(p.c)));
		pc_close(&p);
	}
	tls_store_unref(st);
}

static void test_session_timeout(void **state)
{
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	struct tls_store_spec spec = {.certs = c, .ncerts = 1, .session_timeout = 77};
	char err[256];
	struct tls_store *st = tls_store_new(&spec, err, sizeof(err));
	SSL_SESSION *s;

	(void)state;
	assert_non_null(st);
	s = session_from(st, &(struct copts){.sni = "a.test"});
	assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(s), 77);
	SSL_SESSION_free(s);
	tls_store_unref(st);
	s = session_from(store, &(struct copts){.sni = "a.test"});
	assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(s), TLS_SESSION_TIMEOUT_DEFAULT);
	SSL_SESSION_free(s);
}

/* ------------------------------------------------------------ OCSP */

static void expect_staple(const struct copts *o, const char *file, int key_type)
{
	struct pc p;
	const unsigned char *resp = NULL;
	long len;

	pc_ok(&p, store, o);
	assert_int_equal(peer_key_type(&p), key_type);
	len = SSL_get_tlsext_status_ocsp_resp(p.c, &resp);
	if (!file) {
		assert_true(len <= 0);
		assert_null(resp);
	} else {
		size_t flen;
		unsigned char *want = slurp(file, &flen);

		assert_int_equal(len, flen);
		assert_memory_equal(resp, want, flen);
		free(want);
	}
	pc_close(&p);
}

static void test_ocsp_stapled_when_asked(void **state)
{
	(void)state;
	expect_staple(&(struct copts){.sni = "a.test", .status = true}, "a_ec.ocsp", EVP_PKEY_EC);
	/* The RSA certificate of the same name staples its own response. */
	expect_staple(
	    &(struct copts){.sni = "a.test", .status = true, .sigalgs = "rsa_pss_rsae_sha256"},
	    "a_rsa.ocsp", EVP_PKEY_RSA);
	expect_staple(&(struct copts){.sni = "a.test", .status = true, .max = TLS1_2_VERSION},
		      "a_ec.ocsp", EVP_PKEY_EC);
}

static void test_ocsp_not_asked_or_none(void **state)
{
	(void)state;
	expect_staple(&(struct copts){.sni = "a.test"}, NULL, EVP_PKEY_EC);
	expect_staple(&(struct copts){.sni = "a.test", .max = TLS1_2_VERSION}, NULL, EVP_PKEY_EC);
	expect_staple(&(struct copts){.sni = "x.b.test", .status = true}, NULL, EVP_PKEY_EC);
	expect_staple(&(struct copts){.status = true}, NULL, EVP_PKEY_EC);
}

/* ------------------------------------------------------------ I/O */

static void test_want_flags(void **state)
{
	struct pc p;
	char buf[64];
	static char big[65536];
	ssize_t n;
	size_t total = 0;

	(void)state;
	pc_open(&p, store, &(struct copts){.sni = "a.test"});
	/* Nothing sent yet: the server waits to read. */
	assert_int_equal(tls_handshake(p.s), -EAGAIN);
	assert_int_equal(tls_want(p.s), TLS_WANT_READ);
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(pc_handshake(&p), 0);
	assert_int_equal(tls_want(p.s), 0);
	assert_int_equal(tls_handshake(p.s), 0); /* idempotent */
	/* Drain the tickets on the client, then nothing to read. */
	pc_exchange(&p);
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(tls_want(p.s), TLS_WANT_READ);
	assert_int_equal(tls_pending(p.s), 0);
	/* The client reads nothing: the server fills the socket and must wait to write. */
	for (int i = 0; i < 10000; i++) {
		n = tls_write(p.s, big, sizeof(big));
		if (n < 0)
			break;
		total += (size_t)n;
	}
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(tls_want(p.s), TLS_WANT_WRITE);
	assert_true(total > 0);
	pc_close(&p);
}

static void test_large_transfer(void **state)
{
	const size_t len = 4u << 20;
	unsigned char *out = malloc(len), *in = malloc(len);
	size_t woff = 0, roff = 0;
	int partial = 0, again = 0, sndbuf = 8192;
	struct pc p;

	(void)state;
	assert_non_null(out);
	assert_non_null(in);
	assert_int_equal(RAND_bytes(out, (int)len), 1);
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	setsockopt(p.sfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	/* Server to client: the whole buffer offered each time, taken in parts. */
	for (int i = 0; i < 1000000 && roff < len; i++) {
		if (woff < len) {
			ssize_t w = tls_write(p.s, out + woff, len - woff);

			if (w == -EAGAIN) {
				again++;
				assert_int_equal(tls_want(p.s), TLS_WANT_WRITE);
			} else {
				assert_true(w > 0);
				if ((size_t)w < len - woff)
					partial++;
				assert_true(w <= TLS_WRITE_MAX);
				woff += (size_t)w;
			}
		}
		int r = SSL_read(p.c, in + roff, (int)(len - roff));

		if (r > 0)
			roff += (size_t)r;
		else
			assert_int_equal(SSL_get_error(p.c, r), SSL_ERROR_WANT_READ);
	}
	assert_int_equal(roff, len);
	assert_memory_equal(in, out, len);
	assert_true(partial > 0);
	assert_true(again > 0);

	/* Client to server, read in odd small pieces. */
	memset(in, 0, len);
	woff = roff = 0;
	for (int i = 0; i < 4000000 && roff < len; i++) {
		if (woff < len) {
			int w = SSL_write(p.c, out + woff, (int)(len - woff));

			if (w > 0)
				woff += (size_t)w;
			else
				assert_int_equal(SSL_get_error(p.c, w), SSL_ERROR_WANT_WRITE);
		}
		ssize_t r = tls_read(p.s, in + roff, len - roff < 3001 ? len - roff : 3001);

		if (r > 0)
			roff += (size_t)r;
		else
			assert_int_equal(r, -EAGAIN);
	}
	assert_int_equal(roff, len);
	assert_memory_equal(in, out, len);
	pc_close(&p);
	free(out);
	free(in);
}

static void test_pending(void **state)
{
	struct pc p;
	char msg[10000], buf[10000];
	ssize_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	assert_int_equal(SSL_write(p.c, msg, sizeof(msg)), sizeof(msg));
	n = tls_read(p.s, buf, 100);
	assert_int_equal(n, 100);
	/* The rest of the record is decrypted and held: epoll would not say so. */
	assert_int_equal(tls_pending(p.s), sizeof(msg) - 100);
	{
		char tmp[16];

		/* Nothing on the socket itself. */
		assert_int_equal(recv(p.sfd, tmp, sizeof(tmp), MSG_PEEK), -1);
		assert_int_equal(errno, EAGAIN);
	}
	n = tls_read(p.s, buf + 100, sizeof(buf) - 100);
	assert_int_equal(n, sizeof(msg) - 100);
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_int_equal(tls_pending(p.s), 0);
	pc_close(&p);
}

static void test_clean_close(void **state)
{
	struct pc p;
	char buf[16];
	int r;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	assert_int_equal(SSL_shutdown(p.c), 0);
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), 0);
	assert_true(tls_conn_close_notify(p.s));
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), 0); /* and stays so */
	assert_int_equal(tls_shutdown(p.s), 0);
	assert_int_equal(tls_shutdown(p.s), 0);
	assert_int_equal(tls_write(p.s, "x", 1), -EPIPE);
	r = SSL_read(p.c, buf, sizeof(buf));
	assert_int_equal(r, 0);
	assert_int_equal(SSL_get_error(p.c, r), SSL_ERROR_ZERO_RETURN);
	pc_close(&p);
}

static void test_server_close_first(void **state)
{
	struct pc p;
	char buf[16];
	int r;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	assert_int_equal(tls_write(p.s, "bye", 3), 3);
	assert_int_equal(tls_shutdown(p.s), 0);
	assert_true(cli_read_all(&p, buf, 3));
	assert_memory_equal(buf, "bye", 3);
	r = SSL_read(p.c, buf, sizeof(buf));
	assert_int_equal(SSL_get_error(p.c, r), SSL_ERROR_ZERO_RETURN);
	/* The server may still read what the client sends after our close_notify. */
	assert_int_equal(SSL_write(p.c, "late", 4), 4);
	assert_true(srv_read_all(&p, buf, 4));
	assert_memory_equal(buf, "late", 4);
	pc_close(&p);
}

static void test_eof_without_close_notify(void **state)
{
	struct pc p;
	char buf[16];

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	close(p.cfd);
	p.cfd = -1;
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), 0);
	assert_false(tls_conn_close_notify(p.s));
	assert_non_null(strstr(tls_conn_error(p.s), "EOF without close_notify"));
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), 0);
	assert_int_equal(tls_write(p.s, "x", 1), -ECONNRESET);
	assert_int_equal(tls_shutdown(p.s), 0);
	pc_close(&p);
}

static void test_reset(void **state)
{
	struct pc p;
	char buf[16];
	ssize_t r = 0;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test"});
	/* A unix socket closed with unread data resets its peer. */
	assert_int_equal(tls_write(p.s, "unread", 6), 6);
	close(p.cfd);
	p.cfd = -1;
	r = tls_read(p.s, buf, sizeof(buf));
	assert_int_equal(r, -ECONNRESET);
	assert_non_null(strstr(tls_conn_error(p.s), "reset"));
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(tls_write(p.s, "x", 1), -ECONNRESET);
	assert_int_equal(tls_shutdown(p.s), 0);
	pc_close(&p);
}

static void test_plaintext_refused(void **state)
{
	struct pc p;
	const char req[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";

	(void)state;
	pc_open(&p, store, &(struct copts){0});
	assert_int_equal(write(p.cfd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	assert_int_equal(tls_handshake(p.s), -EPROTO);
	assert_non_null(strstr(tls_conn_error(p.s), "http request"));
	pc_close(&p);
}

static void test_peer_gone_mid_handshake(void **state)
{
	struct pc p;
	int r;

	(void)state;
	pc_open(&p, store, &(struct copts){.sni = "a.test"});
	r = SSL_do_handshake(p.c); /* ClientHello out */
	assert_int_equal(SSL_get_error(p.c, r), SSL_ERROR_WANT_READ);
	assert_int_equal(tls_handshake(p.s), -EAGAIN); /* server flight out */
	close(p.cfd);
	p.cfd = -1;
	assert_int_equal(tls_handshake(p.s), -EPROTO);
	assert_true(strlen(tls_conn_error(p.s)) > 0);
	pc_close(&p);

	/* Closed before a byte was sent. */
	pc_open(&p, store, &(struct copts){0});
	close(p.cfd);
	p.cfd = -1;
	assert_int_equal(tls_handshake(p.s), -EPROTO);
	assert_non_null(strstr(tls_conn_error(p.s), "handshake"));
	pc_close(&p);
}

static void test_api_misuse(void **state)
{
	char buf[8];
	int sv[2];
	struct tls_conn *c;

	(void)state;
	errno = 0;
	assert_null(tls_conn_new(NULL, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(tls_conn_new(store, -1));
	assert_int_equal(errno, EINVAL);
	tls_conn_free(NULL);
	tls_store_unref(NULL);
	tls_store_free(NULL);
	tls_tickets_unref(NULL);
	tls_tickets_free(NULL);
	assert_null(tls_store_ref(NULL));
	assert_null(tls_tickets_ref(NULL));
	assert_int_equal(tls_handshake(NULL), -EINVAL);
	assert_int_equal(tls_read(NULL, buf, 1), -EINVAL);
	assert_int_equal(tls_write(NULL, buf, 1), -EINVAL);
	assert_int_equal(tls_shutdown(NULL), -EINVAL);
	assert_int_equal(tls_want(NULL), 0);
	assert_int_equal(tls_pending(NULL), 0);
	assert_null(tls_conn_sni(NULL));
	assert_null(tls_conn_alpn(NULL));
	assert_int_equal(tls_conn_match(NULL), TLS_MATCH_NONE);
	assert_false(tls_conn_resumed(NULL));
	assert_false(tls_conn_close_notify(NULL));
	assert_string_equal(tls_conn_error(NULL), "");
	assert_int_equal(tls_conn_ktls(NULL), -EINVAL);
	assert_int_equal(tls_conn_ktls_active(NULL), 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c = tls_conn_new(store, sv[0]);
	assert_non_null(c);
	assert_int_equal(tls_conn_match(c), TLS_MATCH_NONE);
	assert_null(tls_conn_sni(c));
	assert_int_equal(tls_read(c, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(tls_write(c, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(tls_read(c, buf, 0), -EINVAL);
	assert_int_equal(tls_read(c, NULL, 1), -EINVAL);
	assert_int_equal(tls_write(c, NULL, 1), -EINVAL);
	assert_int_equal(tls_shutdown(c), 0); /* nothing to send before the handshake */
	assert_false(tls_conn_resumed(c));
	tls_conn_free(c);
	/* The fd is the caller's: still open. */
	assert_int_equal(write(sv[0], "x", 1), 1);
	close(sv[0]);
	close(sv[1]);
}

static void test_store_outlives_creator(void **state)
{
	struct tls_cert_spec c[1] = {cs("a_ec.crt", "a_ec.key", NULL)};
	char err[256];
	struct tls_store *st = store_of(c, 1, NULL, NULL, err, sizeof(err));
	struct pc p;

	(void)state;
	assert_non_null(st);
	assert_ptr_equal(tls_store_ref(st), st);
	tls_store_unref(st);
	pc_open(&p, st, &(struct copts){.sni = "a.test"});
	/* The reload swapped it out: the connection keeps it alive (ASan checks). */
	tls_store_free(st);
	assert_int_equal(pc_handshake(&p), 0);
	pc_exchange(&p);
	assert_true(peer_has_host(&p, "a.test"));
	pc_close(&p);
}

static void test_write_zero_and_version_strings(void **state)
{
	struct pc p;

	(void)state;
	pc_ok(&p, store, &(struct copts){.sni = "a.test", .max = TLS1_2_VERSION});
	assert_int_equal(tls_write(p.s, "", 0), 0);
	assert_string_equal(tls_conn_version(p.s), "TLSv1.2");
	assert_non_null(strstr(tls_conn_cipher(p.s), "GCM"));
	pc_close(&p);
}

/* ------------------------------------------------------------ kTLS */

/* The same probe, written out here: setsockopt(TCP_ULP) on a connected loopback socket. */
static bool ulp_probe(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), s = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	assert_true(l >= 0 && s >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ok = setsockopt(s, SOL_TCP, TCP_ULP, "tls", 3) == 0;
	if (!ok)
		assert_int_equal(errno, ENOENT);
	close(s);
	close(l);
	return ok;
}

static void tcp_pair(int *sfd, int *cfd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	*cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	*sfd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	assert_true(*sfd >= 0);
	assert_int_equal(fcntl(*cfd, F_SETFL, O_NONBLOCK), 0);
	close(l);
}

static void test_ktls(void **state)
{
	bool avail = ulp_probe();
	struct pc p;
	int sfd, cfd, rc;

	(void)state;
	assert_int_equal(tls_ktls_available(), avail);
	assert_int_equal(tls_ktls_available(), avail); /* cached, same answer */
	tcp_pair(&sfd, &cfd);
	pc_open_fds(&p, store, &(struct copts){.sni = "a.test"}, sfd, cfd);
	rc = tls_conn_ktls(p.s);
	assert_int_equal(rc, avail ? 0 : -EOPNOTSUPP);
	/* Either way the connection works, over TCP, with the same API. */
	assert_int_equal(pc_handshake(&p), 0);
	pc_exchange(&p);
	assert_int_equal(tls_conn_ktls(p.s), -EISCONN);
	if (!avail)
		assert_int_equal(tls_conn_ktls_active(p.s), 0);
	pc_close(&p);

	/* Not asked for: never on, even where the kernel has it. */
	tcp_pair(&sfd, &cfd);
	pc_open_fds(&p, store, &(struct copts){.sni = "a.test"}, sfd, cfd);
	assert_int_equal(pc_handshake(&p), 0);
	assert_int_equal(tls_conn_ktls_active(p.s), 0);
	pc_close(&p);
}

/* ------------------------------------------------------------ threads */

#define THREADS	   4
#define PER_THREAD 12

struct thr {
	struct tls_store *st;
	int ok, resumed;
	char sni[32];
};

static bool peer_ok(SSL *c, const char *sni)
{
	X509 *x = SSL_get0_peer_certificate(c);
	const char *want = strcmp(sni, "unknown.test") ? sni : "default.test";

	return x && X509_check_host(x, want, 0, 0, NULL) == 1;
}

/* Plain C here: cmocka's asserts must stay on the main thread. */
static void *thr_run(void *arg)
{
	struct thr *t = arg;
	SSL_SESSION *sess = NULL;

	for (int i = 0; i < PER_THREAD; i++) {
		int sv[2];
		struct tls_conn *s;
		SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
		SSL *c;
		int srv = -EAGAIN;
		bool cok = false;
		char buf[4];

		if (!cctx || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
			break;
		s = tls_conn_new(t->st, sv[0]);
		c = SSL_new(cctx);
		SSL_set_fd(c, sv[1]);
		SSL_set_connect_state(c);
		SSL_set_tlsext_host_name(c, t->sni);
		if (sess)
			SSL_set_session(c, sess);
		for (int k = 0; k < 2000 && (srv == -EAGAIN || !cok); k++) {
			if (srv == -EAGAIN)
				srv = tls_handshake(s);
			if (!cok) {
				int r = SSL_do_handshake(c);

				if (r == 1)
					cok = true;
				else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
					 SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE)
					break;
			}
		}
		if (srv == 0 && cok && tls_write(s, "ping", 4) == 4) {
			int got = 0;

			for (int k = 0; k < 1000 && got < 4; k++) {
				int n = SSL_read(c, buf + got, 4 - got);

				if (n > 0)
					got += n;
			}
			if (got == 4 && !memcmp(buf, "ping", 4) && peer_ok(c, t->sni)) {
				t->ok++;
				if (tls_conn_resumed(s))
					t->resumed++;
			}
		}
		SSL_SESSION_free(sess);
		sess = SSL_get1_session(c);
		SSL_shutdown(c);
		tls_conn_free(s);
		SSL_free(c);
		SSL_CTX_free(cctx);
		close(sv[0]);
		close(sv[1]);
		ERR_clear_error();
	}
	SSL_SESSION_free(sess);
	return NULL;
}

static volatile bool rot_stop;

#define ROTATIONS 5

/* A few rotations while the workers run: each can cost a thread at most one resumption pair. */
static void *rot_run(void *arg)
{
	for (int i = 0; i < ROTATIONS && !rot_stop; i++) {
		tls_tickets_rotate(arg);
		usleep(5000);
	}
	return NULL;
}

static void test_threads_share_store(void **state)
{
	pthread_t th[THREADS], rot;
	struct thr t[THREADS];
	int ok = 0, resumed = 0;
	const char *names[] = {"a.test", "x.b.test", "unknown.test", "a.test"};

	(void)state;
	rot_stop = false;
	assert_int_equal(pthread_create(&rot, NULL, rot_run, tls_store_tickets(store)), 0);
	for (int i = 0; i < THREADS; i++) {
		t[i] = (struct thr){.st = store};
		snprintf(t[i].sni, sizeof(t[i].sni), "%s", names[i]);
		assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += t[i].ok;
		resumed += t[i].resumed;
	}
	rot_stop = true;
	pthread_join(rot, NULL);
	assert_int_equal(ok, THREADS * PER_THREAD);
	/*
	 * A ticket fails only when two rotations fall between its issue and
	 * its use, so each thread loses at most ROTATIONS / 2 resumptions
	 * besides its first handshake.
	 */
	assert_true(resumed >= THREADS * (PER_THREAD - 1 - ROTATIONS / 2));
}

/* ------------------------------------------------------------ upstream (client.c) */

/* One upstream connection: the proxy's client end against a tls.c server end. */
struct up {
	int sfd, cfd;
	struct tls_conn *s, *c;
	int srv, cli;
};

static struct sockaddr_in addr4(const char *ip)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(443)};

	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static struct tls_client *client_of(const char *ca, bool verify, const char *sni, size_t slots)
{
	struct tls_client_spec spec = {
	    .ca = ca ? path(ca) : NULL, .verify = verify, .sni = sni, .slots = slots};
	char err[256] = "";
	struct tls_client *cl = tls_client_new(&spec, err, sizeof(err));

	if (!cl)
		fail_msg("tls_client_new: %s", err);
	return cl;
}

/* Both ends' handshakes in turns, each through tls.h, until both have an outcome. */
static void up_open(struct up *u, struct tls_store *st, struct tls_client *cl, const char *peer,
		    size_t slot)
{
	struct sockaddr_in a = addr4(peer);
	int sv[2];

	memset(u, 0, sizeof(*u));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	u->sfd = sv[0];
	u->cfd = sv[1];
	u->s = tls_conn_new(st, u->sfd);
	u->c = tls_client_conn(cl, u->cfd, (const struct sockaddr *)&a, slot);
	assert_non_null(u->s);
	assert_non_null(u->c);
	u->srv = u->cli = -EAGAIN;
	for (int i = 0; i < 4000 && (u->srv == -EAGAIN || u->cli == -EAGAIN); i++) {
		if (u->cli == -EAGAIN)
			u->cli = tls_handshake(u->c);
		if (u->srv == -EAGAIN)
			u->srv = tls_handshake(u->s);
	}
}

static void up_close(struct up *u)
{
	tls_conn_free(u->c);
	tls_conn_free(u->s);
	close(u->sfd);
	close(u->cfd);
	ERR_clear_error();
}

/* n bytes from one end to the other, through tls_write / tls_read. */
static void up_send(struct tls_conn *from, struct tls_conn *to, const char *msg)
{
	size_t n = strlen(msg), got = 0;
	char buf[64];

	assert_int_equal(tls_write(from, msg, n), (ssize_t)n);
	for (int i = 0; i < 1000 && got < n; i++) {
		ssize_t r = tls_read(to, buf + got, sizeof(buf) - got);

		if (r > 0)
			got += (size_t)r;
		else
			assert_int_equal(r, -EAGAIN);
	}
	assert_int_equal(got, n);
	assert_memory_equal(buf, msg, n);
}

/* A handshake that must succeed, then a request and an answer (tickets read on the way). */
static void up_ok(struct up *u, struct tls_store *st, struct tls_client *cl, const char *peer,
		  size_t slot)
{
	up_open(u, st, cl, peer, slot);
	if (u->cli || u->srv)
		fail_msg("handshake: client %d (%s), server %d (%s)", u->cli, tls_conn_error(u->c),
			 u->srv, tls_conn_error(u->s));
	up_send(u->c, u->s, "GET / HTTP/1.1\r\n\r\n");
	up_send(u->s, u->c, "HTTP/1.1 200 OK\r\n\r\n");
}

/* A handshake the client must refuse, for the reason 'why'. */
static void up_refused(struct tls_store *st, struct tls_client *cl, const char *peer,
		       const char *why)
{
	struct up u;

	up_open(&u, st, cl, peer, 0);
	assert_int_equal(u.cli, -EPROTO);
	if (!strstr(tls_conn_error(u.c), why))
		fail_msg("client error \"%s\" lacks \"%s\"", tls_conn_error(u.c), why);
	/* nothing of the application's ever went: the client cannot write */
	assert_int_equal(tls_write(u.c, "GET", 3), -EPROTO);
	assert_int_not_equal(u.srv, 0);
	up_close(&u);
}

static void test_client_verify_sni(void **state)
{
	struct tls_client *cl = client_of("ca.crt", true, "A.test", 0);
	struct up u;

	(void)state;
	up_ok(&u, store, cl, "192.0.2.9", 0);
	assert_string_equal(tls_conn_sni(u.s), "a.test"); /* sent, lower-cased */
	assert_null(tls_conn_alpn(u.c));		  /* none offered */
	assert_false(tls_conn_resumed(u.c));
	up_close(&u);
	tls_client_free(cl);
	/* a wildcard covers one label */
	cl = client_of("ca.crt", true, "x.b.test", 0);
	up_ok(&u, store, cl, "192.0.2.9", 0);
	up_close(&u);
	tls_client_free(cl);
}

static void test_client_refuses(void **state)
{
	EVP_PKEY *k = key_gen(K_EC);
	X509 *other = cert_make(k, "another CA", NULL, -DAY, DAY, true, NULL, NULL);
	struct tls_client *cl;

	(void)state;
	write_pem_certs("other_ca.crt", other, NULL);
	X509_free(other);
	EVP_PKEY_free(k);
	/* a chain to no certificate of the bundle */
	cl = client_of("other_ca.crt", true, "a.test", 0);
	up_refused(store, cl, "192.0.2.9",
		   "certificate: self-signed certificate in certificate chain");
	tls_client_free(cl);
	/* the default certificate (default.test) for a name it does not carry */
	cl = client_of("ca.crt", true, "x.test", 0);
	up_refused(store, cl, "192.0.2.9", "certificate: hostname mismatch (depth 0, /CN=default");
	tls_client_free(cl);
	/* one label, not two, under a wildcard */
	cl = client_of("ca.crt", true, "y.x.b.test", 0);
	up_refused(store, cl, "192.0.2.9", "hostname mismatch");
	tls_client_free(cl);
	/* no sni: the address, which a DNS-only certificate does not name */
	cl = client_of("ca.crt", true, NULL, 0);
	up_refused(store, cl, "192.0.2.9", "IP address mismatch");
	tls_client_free(cl);
	/* verify false: whoever answers */
	cl = client_of(NULL, false, NULL, 0);
	{
		struct up u;

		up_ok(&u, store, cl, "192.0.2.9", 0);
		assert_null(tls_conn_sni(u.s)); /* no name sent */
		up_close(&u);
	}
	tls_client_free(cl);
}

static void test_client_verify_ip(void **state)
{
	struct tls_cert_spec ip = cs("iponly.crt", "iponly.key", NULL);
	char err[256] = "";
	struct tls_store *st = store_of(&ip, 1, NULL, NULL, err, sizeof(err));
	struct tls_client *cl = client_of("ca.crt", true, NULL, 0);
	struct up u;

	(void)state;
	if (!st)
		fail_msg("store: %s", err);
	up_ok(&u, st, cl, "192.0.2.1", 0);
	up_close(&u);
	up_refused(st, cl, "192.0.2.2", "certificate: IP address mismatch");
	tls_client_free(cl);
	tls_store_unref(st);
}

static void test_client_resumes_per_slot(void **state)
{
	struct tls_client *cl = client_of("ca.crt", true, "a.test", 2);
	struct up u;

	(void)state;
	up_ok(&u, store, cl, "192.0.2.9", 0);
	assert_false(tls_conn_resumed(u.c));
	up_close(&u);
	/* slot 0 has the ticket now: resumed, on both ends */
	up_ok(&u, store, cl, "192.0.2.9", 0);
	assert_true(tls_conn_resumed(u.c));
	assert_true(tls_conn_resumed(u.s));
	up_close(&u);
	/* slot 1 (another backend) has none; a slot out of range keeps none */
	up_ok(&u, store, cl, "192.0.2.9", 1);
	assert_false(tls_conn_resumed(u.c));
	up_close(&u);
	up_ok(&u, store, cl, "192.0.2.9", 7);
	assert_false(tls_conn_resumed(u.c));
	up_close(&u);
	up_ok(&u, store, cl, "192.0.2.9", 1);
	assert_true(tls_conn_resumed(u.c));
	up_close(&u);
	tls_client_free(cl);
	/* without slots nothing is kept */
	cl = client_of("ca.crt", true, "a.test", 0);
	up_ok(&u, store, cl, "192.0.2.9", 0);
	up_close(&u);
	up_ok(&u, store, cl, "192.0.2.9", 0);
	assert_false(tls_conn_resumed(u.c));
	up_close(&u);
	tls_client_free(cl);
}

static void expect_client_error(const struct tls_client_spec *spec, int want_errno,
				const char *want)
{
	char err[512] = "";
	struct tls_client *cl;

	errno = 0;
	cl = tls_client_new(spec, err, sizeof(err));
	if (cl) {
		tls_client_free(cl);
		fail_msg("client accepted: wanted an error with \"%s\"", want);
	}
	assert_int_equal(errno, want_errno);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_client_bad_spec(void **state)
{
	struct tls_client_spec ok = {.ca = path("ca.crt"),
				     .verify = true,
				     .cert = path("a_ec.crt"),
				     .key = path("a_ec.key")};
	struct tls_client *cl;
	char err[256] = "";

	(void)state;
	cl = tls_client_new(&ok, err, sizeof(err)); /* a client certificate loads */
	if (!cl)
		fail_msg("%s", err);
	tls_client_free(cl);
	tls_client_free(NULL);
	expect_client_error(&(struct tls_client_spec){.verify = true}, EINVAL,
			    "verify needs a ca bundle");
	expect_client_error(&(struct tls_client_spec){.cert = path("a_ec.crt")}, EINVAL,
			    "cert and key go together");
	expect_client_error(&(struct tls_client_spec){.ca = path("nope.crt"), .verify = true},
			    ENOENT, "No such file");
	expect_client_error(&(struct tls_client_spec){.ca = path("garbage.crt"), .verify = true},
			    EINVAL, "garbage.crt");
	expect_client_error(&(struct tls_client_spec){.ca = path("empty.crt"), .verify = true},
			    EINVAL, "empty.crt");
	expect_client_error(
	    &(struct tls_client_spec){.cert = path("a_ec.crt"), .key = path("b_ec.key")}, EINVAL,
	    "key values mismatch");
	expect_client_error(
	    &(struct tls_client_spec){.cert = path("a_ec.crt"), .key = path("enc.key")}, EINVAL,
	    "enc.key");
	expect_client_error(&(struct tls_client_spec){.sni = "192.0.2.1"}, EINVAL,
			    "not a DNS name");
	expect_client_error(&(struct tls_client_spec){.sni = "a b"}, EINVAL, "not a DNS name");
	assert_null(tls_client_conn(NULL, 3, NULL, 0));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_info),
	    cmocka_unit_test(test_match_exact),
	    cmocka_unit_test(test_match_wildcard),
	    cmocka_unit_test(test_match_default_and_normalize),
	    cmocka_unit_test(test_match_cn_only_without_san),
	    cmocka_unit_test(test_match_exact_beside_wildcard),
	    cmocka_unit_test(test_match_first_listed_and_marked_default),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_bad_key_match),
	    cmocka_unit_test(test_bad_spec),
	    cmocka_unit_test(test_bad_alpn),
	    cmocka_unit_test(test_bad_ocsp),
	    cmocka_unit_test(test_loads_with_warnings),
	    cmocka_unit_test(test_nameless_cert),
	    cmocka_unit_test(test_sni_exact),
	    cmocka_unit_test(test_sni_wildcard),
	    cmocka_unit_test(test_sni_unknown_default),
	    cmocka_unit_test(test_no_sni),
	    cmocka_unit_test(test_sni_case_and_dot),
	    cmocka_unit_test(test_sni_invalid_refused),
	    cmocka_unit_test(test_ecdsa_preferred),
	    cmocka_unit_test(test_rsa_by_sigalgs),
	    cmocka_unit_test(test_rsa_by_ciphers),
	    cmocka_unit_test(test_rsa_only_name),
	    cmocka_unit_test(test_alpn_h2),
	    cmocka_unit_test(test_alpn_http11_only),
	    cmocka_unit_test(test_alpn_none),
	    cmocka_unit_test(test_alpn_mismatch_refused),
	    cmocka_unit_test(test_tls11_refused),
	    cmocka_unit_test(test_tls12_ciphers),
	    cmocka_unit_test(test_groups),
	    cmocka_unit_test(test_hello_retry_keeps_sni),
	    cmocka_unit_test(test_no_renegotiation),
	    cmocka_unit_test(test_resume_ticket_tls13),
	    cmocka_unit_test(test_resume_ticket_tls12),
	    cmocka_unit_test(test_resume_session_id),
	    cmocka_unit_test(test_resume_after_abrupt_close),
	    cmocka_unit_test(test_resume_refused_other_name),
	    cmocka_unit_test(test_resume_refused_same_wildcard),
	    cmocka_unit_test(test_resume_refused_doctored_session),
	    cmocka_unit_test(test_resume_no_sni_then_sni),
	    cmocka_unit_test(test_ticket_rotation),
	    cmocka_unit_test(test_ticket_auto_rotation),
	    cmocka_unit_test(test_tickets_survive_reload),
	    cmocka_unit_test(test_session_cache_bounded),
	    cmocka_unit_test(test_session_timeout),
	    cmocka_unit_test(test_ocsp_stapled_when_asked),
	    cmocka_unit_test(test_ocsp_not_asked_or_none),
	    cmocka_unit_test(test_want_flags),
	    cmocka_unit_test(test_large_transfer),
	    cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_clean_close),
	    cmocka_unit_test(test_server_close_first),
	    cmocka_unit_test(test_eof_without_close_notify),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_plaintext_refused),
	    cmocka_unit_test(test_peer_gone_mid_handshake),
	    cmocka_unit_test(test_api_misuse),
	    cmocka_unit_test(test_store_outlives_creator),
	    cmocka_unit_test(test_write_zero_and_version_strings),
	    cmocka_unit_test(test_ktls),
	    cmocka_unit_test(test_threads_share_store),
	    cmocka_unit_test(test_client_verify_sni),
	    cmocka_unit_test(test_client_refuses),
	    cmocka_unit_test(test_client_verify_ip),
	    cmocka_unit_test(test_client_resumes_per_slot),
	    cmocka_unit_test(test_client_bad_spec),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
