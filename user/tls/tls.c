// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS termination over OpenSSL 3: see tls.h for the contract. The parts that
 * need care are named where they are done:
 *  - one SSL_CTX per distinct {ECDSA cert, RSA cert} pair ("site"), chosen
 *    in the client-hello callback (store_select, hello_cb);
 *  - resumption bound to the server name (sid_ctx_set, session_name_ok);
 *  - ticket keys shared across stores (struct tls_tickets, ticket_key_cb);
 *  - OpenSSL's error queue is per thread and shared by every connection the
 *    thread serves, so it is cleared before each call and drained after.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ev/ev.h"
#include "tls/tls.h"
#include "tls/tls_int.h"
#include "util/log.h"

_Static_assert(TLS_WANT_READ == EV_READ, "TLS_WANT_READ must equal EV_READ");
_Static_assert(TLS_WANT_WRITE == EV_WRITE, "TLS_WANT_WRITE must equal EV_WRITE");

/*
 * TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only, ECDSA before RSA
 * so that with server preference a client able to take either gets the
 * smaller, faster ECDSA handshake. TLS 1.3 suites are OpenSSL's defaults.
 */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"
/* Certificate and key files are small; this only bounds a wrong path's damage. */
#define PEM_FILE_MAX (1024 * 1024)
#define RSA_BITS_MIN 2048

/* ---------------------------------------------------------------- helpers */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The earliest queued OpenSSL reason, for messages; the queue is left alone. */
static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown OpenSSL error";
}

/* Read a whole file (at most max bytes) into a NUL-terminated heap buffer. */
static int file_read(const char *path, size_t max, unsigned char **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		size_t n;

		if (len == cap) {
			unsigned char *nb;

			if (cap > max) {
				rc = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
		}
		errno = 0;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(f);
	if (!rc && len > max)
		rc = -EFBIG;
	if (rc) {
		if (buf)
			OPENSSL_cleanse(buf, cap);
		free(buf);
		return rc;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Wipe (it may hold a key) and free a file_read buffer. */
static void file_free(unsigned char *buf, size_t len)
{
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
}

static const char *file_errstr(int rc)
{
	return rc == -EFBIG ? "file too large" : strerror(-rc);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

/*
 * Normalize a DNS name into out[TLS_NAME_MAX + 1]: lower case, one trailing
 * dot dropped, labels of [a-z0-9_-] of 1..63 bytes, 1..253 bytes in all.
 * With wild, a leading "*." is allowed when at least two labels follow (so
 * "*.com" is refused, as browsers do). 0 or -EINVAL.
 */
static int name_norm(const char *in, size_t len, char *out, bool wild)
{
	size_t i = 0, lab = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > TLS_NAME_MAX)
		return -EINVAL;
	if (wild && len > 2 && in[0] == '*' && in[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		i = 2;
	}
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch == '.') {
			if (lab == 0)
				return -EINVAL;
			lab = 0;
			out[i] = '.';
			continue;
		}
		if (ch >= 'A' && ch <= 'Z')
			ch |= 0x20;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			   ch == '_'))
			return -EINVAL;
		if (++lab > 63)
			return -EINVAL;
		out[i] = (char)ch;
	}
	if (lab == 0)
		return -EINVAL;
	out[len] = '\0';
	if (out[0] == '*' && !strchr(out + 2, '.'))
		return -EINVAL;
	return 0;
}

/* A printable copy of an untrusted name for a log line. */
static void name_printable(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t n = len < outlen - 1 ? len : outlen - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
	out[n] = '\0';
}

/* ---------------------------------------------------------------- tickets */

struct ticket_key {
	unsigned char name[16]; /* sent in the clear in each ticket: picks the key */
	unsigned char aes[32];	/* AES-256-CBC */
	unsigned char hmac[32]; /* HMAC-SHA256 */
};

struct tls_tickets {
	pthread_mutex_t lock;
	unsigned int refs;
	unsigned int rotate_secs;
	uint64_t born_ms; /* when cur became current (monotonic) */
	bool have_prev;
	struct ticket_key cur, prev;
};

static int key_make(struct ticket_key *k)
{
	return RAND_bytes((unsigned char *)k, sizeof(*k)) == 1 ? 0 : -EIO;
}

/* drop_prev: the old current key is too old to open anything, wipe it too. */
static int tickets_rotate_locked(struct tls_tickets *t, uint64_t now, bool drop_prev)
{
	struct ticket_key k;

	if (key_make(&k) < 0)
		return -EIO;
	if (drop_prev) {
		OPENSSL_cleanse(&t->prev, sizeof(t->prev));
		t->have_prev = false;
	} else {
		t->prev = t->cur;
		t->have_prev = true;
	}
	t->cur = k;
	t->born_ms = now;
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

/*
 * Lazy rotation. Every use of the keys comes through here, so if the
 * current key is two periods old no ticket was sealed with it during the
 * last period: all its tickets are older than a period, past what a
 * previous key may open, and it is dropped rather than kept as previous.
 */
static void tickets_tick_locked(struct tls_tickets *t)
{
	uint64_t now, age, period;

	if (!t->rotate_secs)
		return;
	now = mono_ms();
	age = now - t->born_ms;
	period = (uint64_t)t->rotate_secs * 1000;
	if (age >= period)
		tickets_rotate_locked(t, now, age >= 2 * period);
}

struct tls_tickets *tls_tickets_new(unsigned int rotate_secs)
{
	struct tls_tickets *t = calloc(1, sizeof(*t));

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	if (key_make(&t->cur) < 0) {
		free(t);
		errno = EIO;
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->refs = 1;
	t->rotate_secs = rotate_secs;
	t->born_ms = mono_ms();
	return t;
}

struct tls_tickets *tls_tickets_ref(struct tls_tickets *t)
{
	if (t)
		__atomic_fetch_add(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

void tls_tickets_unref(struct tls_tickets *t)
{
	if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	pthread_mutex_destroy(&t->lock);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

void tls_tickets_free(struct tls_tickets *t)
{
	tls_tickets_unref(t);
}

int tls_tickets_rotate(struct tls_tickets *t)
{
	int rc;

	if (!t)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	rc = tickets_rotate_locked(t, mono_ms(), false);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---------------------------------------------------------------- store */

struct tls_cert {
	char *path;
	X509 *leaf;
	STACK_OF(X509) * chain; /* what follows the leaf; may be empty */
	EVP_PKEY *key;
	enum tls_key_type type;
	unsigned int bits;
	char **names;
	size_t nnames;
	time_t not_before, not_after;
	bool expired, not_yet_valid, is_default;
	unsigned char *ocsp; /* DER response to staple, NULL for none */
	size_t ocsp_len;
	time_t ocsp_next; /* nextUpdate, 0 = none given */
};

/* One SSL_CTX: the certificate of each key type served together. */
struct tls_site {
	SSL_CTX *ctx;
	int cert[TLS_KEY_TYPES];
};

/* A served name (exact or "*.x.y"), sorted by strcmp for bsearch. */
struct tls_name {
	const char *name; /* owned by a tls_cert */
	uint32_t site;
};

struct tls_store {
	unsigned int refs;
	struct tls_cert *certs;
	size_t ncerts;
	struct tls_site *sites;
	size_t nsites;
	struct tls_name *names;
	size_t nnames;
	uint32_t def_site;
	unsigned char *alpn_wire; /* length-prefixed, as SSL_select_next_proto wants */
	size_t alpn_len;
	char **alpn; /* the same protocols as C strings */
	size_t nalpn;
	struct tls_tickets *tickets;
};

static void cert_clear(struct tls_cert *ct)
{
	free(ct->path);
	X509_free(ct->leaf);
	sk_X509_pop_free(ct->chain, X509_free);
	EVP_PKEY_free(ct->key);
	for (size_t i = 0; i < ct->nnames; i++)
		free(ct->names[i]);
	free(ct->names);
	free(ct->ocsp);
}

static void store_destroy(struct tls_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nsites; i++)
		SSL_CTX_free(st->sites[i].ctx);
	free(st->sites);
	free(st->names);
	for (size_t i = 0; i < st->ncerts; i++)
		cert_clear(&st->certs[i]);
	free(st->certs);
	for (size_t i = 0; i < st->nalpn; i++)
		free(st->alpn[i]);
	free(st->alpn);
	free(st->alpn_wire);
	tls_tickets_unref(st->tickets);
	free(st);
}

/* "h2,http/1.1" -> wire form and string list; "" -> no ALPN. */
static int alpn_parse(struct tls_store *st, const char *list, char *err, size_t errlen)
{
	size_t n = 0, len = strlen(list);
	const char *p = list;

	if (len == 0)
		return 0;
	st->alpn_wire = malloc(len + 1);
	st->alpn = calloc(len / 2 + 1, sizeof(*st->alpn));
	if (!st->alpn_wire || !st->alpn)
		return -ENOMEM;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t plen;

		if (!end)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		plen = (size_t)(end - p);
		while (plen && (p[plen - 1] == ' ' || p[plen - 1] == '\t'))
			plen--;
		if (plen == 0 || plen > 255) {
			seterr(err, errlen, "ALPN list \"%s\": %s protocol name", list,
			       plen ? "over 255 bytes in a" : "empty");
			return -EINVAL;
		}
		for (size_t i = 0; i < plen; i++) {
			if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f) {
				seterr(err, errlen,
				       "ALPN list \"%s\": protocol names are printable ASCII",
				       list);
				return -EINVAL;
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (strlen(st->alpn[i]) == plen && !memcmp(st->alpn[i], p, plen)) {
				seterr(err, errlen, "ALPN list \"%s\": \"%.*s\" given twice", list,
				       (int)plen, p);
				return -EINVAL;
			}
		}
		st->alpn[n] = strndup(p, plen);
		if (!st->alpn[n])
			return -ENOMEM;
		st->nalpn = ++n;
		st->alpn_wire[st->alpn_len++] = (unsigned char)plen;
		memcpy(st->alpn_wire + st->alpn_len, p, plen);
		st->alpn_len += plen;
		if (!*end)
			break;
		p = end + 1;
	}
	return 0;
}

static int cert_add_name(struct tls_cert *ct, const unsigned char *raw, size_t len)
{
	char norm[TLS_NAME_MAX + 1], shown[80];
	char **nn;

	if (memchr(raw, '\0', len) || name_norm((const char *)raw, len, norm, true) < 0) {
		name_printable(raw, len, shown, sizeof(shown));
		pr_warn("tls: %s: skipping name \"%s\": not a DNS name or wildcard served here",
			ct->path, shown);
		return 0;
	}
	for (size_t i = 0; i < ct->nnames; i++)
		if (!strcmp(ct->names[i], norm))
			return 0;
	nn = realloc(ct->names, (ct->nnames + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	ct->names = nn;
	ct->names[ct->nnames] = strdup(norm);
	if (!ct->names[ct->nnames])
		return -ENOMEM;
	ct->nnames++;
	return 0;
}

/* SAN DNS entries; the subject's (last) CN only when there is none. */
static int cert_names(struct tls_cert *ct)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(ct->leaf, NID_subject_alt_name, NULL, NULL);
	bool have_dns = false;
	int rc = 0;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		have_dns = true;
		rc = cert_add_name(ct, ASN1_STRING_get0_data(g->d.dNSName),
				   (size_t)ASN1_STRING_length(g->d.dNSName));
		if (rc)
			break;
	}
	GENERAL_NAMES_free(gens);
	if (rc || have_dns)
		return rc;

	const X509_NAME *sn = X509_get_subject_name(ct->leaf);
	int idx = -1, last = -1;

	while ((idx = X509_NAME_get_index_by_NID(sn, NID_commonName, idx)) >= 0)
		last = idx;
	if (last >= 0) {
		const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, last));
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, d);

		if (ul >= 0)
			rc = cert_add_name(ct, u, (size_t)ul);
		OPENSSL_free(u);
	}
	return rc;
}

static int cert_load_chain(struct tls_cert *ct, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t len;
	BIO *bio;
	X509 *x;
	int rc = file_read(ct->path, PEM_FILE_MAX, &buf, &len);

	if (rc) {
		seterr(err, errlen, "%s: cannot read certificate file: %s", ct->path,
		       file_errstr(rc));
		return rc;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	ct->chain = sk_X509_new_null();
	if (!bio || !ct->chain) {
		rc = -ENOMEM;
		goto out;
	}
	ERR_clear_error();
	ct->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!ct->leaf) {
		seterr(err, errlen, "%s: no PEM certificate in the file", ct->path);
		rc = -EINVAL;
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(ct->chain, x)) {
			X509_free(x);
			rc = -ENOMEM;
			goto out;
		}
	}
	/* The loop ends at end of file (no start line) or at a damaged block. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		seterr(err, errlen, "%s: certificate #%d does not parse: %s", ct->path,
		       sk_X509_num(ct->chain) + 2, ossl_reason());
		rc = -EINVAL;
	}
out:
	ERR_clear_error();
	BIO_free(bio);
	file_free(buf, len);
	return rc;
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static int cert_load_key(struct tls_cert *ct, const char *path, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t len;
	BIO *bio;
	int rc = file_read(path, PEM_FILE_MAX, &buf, &len);

	if (rc) {
		seterr(err, errlen, "%s: cannot read key file: %s", path, file_errstr(rc));
		return rc;
	}
	if (strstr((char *)buf, "ENCRYPTED")) {
		seterr(err, errlen, "%s: the key is encrypted; passphrases are not supported",
		       path);
		file_free(buf, len);
		return -EINVAL;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio) {
		file_free(buf, len);
		return -ENOMEM;
	}
	ERR_clear_error();
	ct->key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	ERR_clear_error();
	BIO_free(bio);
	file_free(buf, len);
	if (!ct->key) {
		seterr(err, errlen, "%s: no PEM private key in the file", path);
		return -EINVAL;
	}
	return 0;
}

static int cert_check_key(struct tls_cert *ct, const char *keypath, char *err, size_t errlen)
{
	int id = EVP_PKEY_get_base_id(ct->key);

	ct->bits = (unsigned int)EVP_PKEY_get_bits(ct->key);
	if (id == EVP_PKEY_EC) {
		char grp[64] = "";
		int nid;

		if (!EVP_PKEY_get_group_name(ct->key, grp, sizeof(grp), NULL))
			grp[0] = '\0';
		nid = OBJ_txt2nid(grp);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 && nid != NID_secp521r1) {
			seterr(err, errlen, "%s: ECDSA key on curve %s: use P-256, P-384 or P-521",
			       keypath, grp[0] ? grp : "(unknown)");
			return -EINVAL;
		}
		ct->type = TLS_KEY_EC;
	} else if (id == EVP_PKEY_RSA) {
		if (ct->bits < RSA_BITS_MIN) {
			seterr(err, errlen, "%s: RSA key of %u bits: at least %d are needed",
			       keypath, ct->bits, RSA_BITS_MIN);
			return -EINVAL;
		}
		ct->type = TLS_KEY_RSA;
	} else {
		const char *tn = EVP_PKEY_get0_type_name(ct->key);

		seterr(err, errlen, "%s: unsupported key type %s: use ECDSA or RSA", keypath,
		       tn ? tn : OBJ_nid2sn(id));
		return -EINVAL;
	}

	ERR_clear_error();
	if (X509_check_private_key(ct->leaf, ct->key) == 1)
		return 0;
	ERR_clear_error();
	/* Say why when the usual mistakes explain it. */
	for (int i = 0; i < sk_X509_num(ct->chain); i++) {
		if (X509_check_private_key(sk_X509_value(ct->chain, i), ct->key) == 1) {
			ERR_clear_error();
			seterr(err, errlen,
			       "%s: key %s matches certificate #%d, not the first: the leaf must "
			       "come first",
			       ct->path, keypath, i + 2);
			return -EINVAL;
		}
	}
	ERR_clear_error();
	if (X509_check_ca(ct->leaf) > 0 && (X509_get_extension_flags(ct->leaf) & EXFLAG_CA))
		seterr(err, errlen,
		       "%s: the first certificate is a CA certificate and does not match key %s: "
		       "the leaf is missing",
		       ct->path, keypath);
	else
		seterr(err, errlen, "%s: key %s does not match the certificate", ct->path, keypath);
	return -EINVAL;
}

static void cert_check_dates(struct tls_cert *ct)
{
	const ASN1_TIME *nb = X509_get0_notBefore(ct->leaf), *na = X509_get0_notAfter(ct->leaf);

	ct->not_before = asn1_to_time(nb);
	ct->not_after = asn1_to_time(na);
	ct->expired = X509_cmp_current_time(na) < 0;
	ct->not_yet_valid = X509_cmp_current_time(nb) > 0;
	if (ct->expired)
		pr_warn("tls: %s: the certificate expired; loading it anyway", ct->path);
	if (ct->not_yet_valid)
		pr_warn("tls: %s: the certificate is not valid yet; loading it anyway", ct->path);
	/* Order is not checked by OpenSSL when serving; clients may be stricter. */
	for (int i = 0; i < sk_X509_num(ct->chain); i++) {
		X509 *sub = i ? sk_X509_value(ct->chain, i - 1) : ct->leaf;

		if (X509_check_issued(sk_X509_value(ct->chain, i), sub) != X509_V_OK) {
			pr_warn("tls: %s: certificate #%d did not issue #%d: chain out of order?",
				ct->path, i + 2, i + 1);
			break;
		}
	}
}

/* The issuer of the leaf when the chain carries it, else NULL. */
static X509 *cert_issuer(const struct tls_cert *ct)
{
	for (int i = 0; i < sk_X509_num(ct->chain); i++)
		if (X509_check_issued(sk_X509_value(ct->chain, i), ct->leaf) == X509_V_OK)
			return sk_X509_value(ct->chain, i);
	return NULL;
}

/* The SingleResponse about this leaf: full CertID when the issuer is known, else serial. */
static OCSP_SINGLERESP *ocsp_find(const struct tls_cert *ct, OCSP_BASICRESP *bs)
{
	X509 *issuer = cert_issuer(ct);

	if (issuer) {
		OCSP_CERTID *id = OCSP_cert_to_id(NULL, ct->leaf, issuer);
		int idx = id ? OCSP_resp_find(bs, id, -1) : -1;

		OCSP_CERTID_free(id);
		return idx >= 0 ? OCSP_resp_get0(bs, idx) : NULL;
	}
	for (int i = 0; i < OCSP_resp_count(bs); i++) {
		OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);
		ASN1_INTEGER *serial = NULL;

		OCSP_id_get0_info(NULL, NULL, NULL, &serial,
				  (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(sr));
		if (serial && !ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(ct->leaf)))
			return sr;
	}
	return NULL;
}

/*
 * Check an OCSP response against the leaf. Its signature is not verified:
 * the file comes from the operator's fetcher, and a client verifies it
 * anyway; this only catches the wrong file or a useless one.
 */
static int cert_load_ocsp(struct tls_cert *ct, const char *path, char *err, size_t errlen)
{
	unsigned char *buf;
	const unsigned char *p;
	size_t len;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *sr;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
	int rc = file_read(path, TLS_OCSP_MAX, &buf, &len), status, reason;

	if (rc) {
		seterr(err, errlen, "%s: cannot read OCSP response: %s", path, file_errstr(rc));
		return rc;
	}
	rc = -EINVAL;
	p = buf;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (!resp || p != buf + len) {
		seterr(err, errlen, "%s: not a DER OCSP response", path);
		goto out;
	}
	status = OCSP_response_status(resp);
	if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		seterr(err, errlen, "%s: OCSP response status is %s", path,
		       OCSP_response_status_str(status));
		goto out;
	}
	bs = OCSP_response_get1_basic(resp);
	sr = bs ? ocsp_find(ct, bs) : NULL;
	if (!sr) {
		seterr(err, errlen, "%s: the OCSP response is not about certificate %s", path,
		       ct->path);
		goto out;
	}
	status = OCSP_single_get0_status(sr, &reason, NULL, &thisupd, &nextupd);
	if (status == V_OCSP_CERTSTATUS_REVOKED) {
		seterr(err, errlen, "%s: the OCSP response says certificate %s is revoked", path,
		       ct->path);
		goto out;
	}
	rc = 0;
	if (status != V_OCSP_CERTSTATUS_GOOD) {
		pr_warn("tls: %s: OCSP status unknown for %s; not stapling it", path, ct->path);
		goto out;
	}
	/* Five minutes of clock skew, as OpenSSL's own tools allow. */
	if (!OCSP_check_validity(thisupd, nextupd, 300, -1)) {
		pr_warn("tls: %s: the OCSP response is stale or not yet valid; not stapling it",
			path);
		goto out;
	}
	ct->ocsp_next = nextupd ? asn1_to_time(nextupd) : 0;
	ct->ocsp = buf;
	ct->ocsp_len = len;
	buf = NULL;
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(buf);
	return rc;
}

static int cert_load(struct tls_cert *ct, const struct tls_cert_spec *cs, char *err, size_t errlen)
{
	int rc;

	if (!cs->cert || !cs->key) {
		seterr(err, errlen, "a certificate without %s path",
		       cs->cert ? "a key" : "a certificate");
		return -EINVAL;
	}
	ct->path = strdup(cs->cert);
	if (!ct->path)
		return -ENOMEM;
	rc = cert_load_chain(ct, err, errlen);
	if (!rc)
		rc = cert_load_key(ct, cs->key, err, errlen);
	if (!rc)
		rc = cert_check_key(ct, cs->key, err, errlen);
	if (rc)
		return rc;
	cert_check_dates(ct);
	rc = cert_names(ct);
	if (!rc && cs->ocsp)
		rc = cert_load_ocsp(ct, cs->ocsp, err, errlen);
	return rc;
}

/* ------------------------------------------------------- name -> site index */

struct name_ent {
	const char *name;
	uint32_t cert;
};

static int name_ent_cmp(const void *a, const void *b)
{
	const struct name_ent *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->cert < y->cert ? -1 : x->cert > y->cert;
}

/* First entry named name in the sorted ents, or n. */
static size_t name_ent_lower(const struct name_ent *ents, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ents[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp(ents[lo].name, name) ? lo : n;
}

/* The first listed cert of type t naming name exactly (ents sorted by cert within a name). */
static int name_pick(const struct tls_store *st, const struct name_ent *ents, size_t n,
		     const char *name, enum tls_key_type t)
{
	for (size_t i = name_ent_lower(ents, n, name); i < n && !strcmp(ents[i].name, name); i++)
		if (st->certs[ents[i].cert].type == t)
			return (int)ents[i].cert;
	return -1;
}

/* The wildcard that covers name ("a.b.c" -> "*.b.c"), or "" when none can. */
static void name_wildcard(const char *name, char *out)
{
	const char *dot = name[0] != '*' ? strchr(name, '.') : NULL;

	out[0] = '\0';
	if (dot && strchr(dot + 1, '.') && strlen(dot) + 1 <= TLS_NAME_MAX)
		snprintf(out, TLS_NAME_MAX + 1, "*%s", dot);
}

struct pair {
	int cert[TLS_KEY_TYPES];
};

static int pair_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pair));
}

static void name_pair(const struct tls_store *st, const struct name_ent *ents, size_t n,
		      const char *name, struct pair *out)
{
	char wild[TLS_NAME_MAX + 1];

	name_wildcard(name, wild);
	for (int t = 0; t < TLS_KEY_TYPES; t++) {
		out->cert[t] = name_pick(st, ents, n, name, t);
		if (out->cert[t] < 0 && wild[0])
			out->cert[t] = name_pick(st, ents, n, wild, t);
	}
}

/*
 * Build st->names (sorted, each with its site) and st->sites (unique
 * {ECDSA, RSA} pairs, the default's among them) from the loaded certs.
 */
static int store_index(struct tls_store *st, size_t def)
{
	struct name_ent *ents = NULL;
	struct pair *pairs = NULL, *sites = NULL, dp;
	size_t n = 0, k = 0, ns = 0;
	int rc = -ENOMEM;

	for (size_t i = 0; i < st->ncerts; i++)
		n += st->certs[i].nnames;
	ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents)
		goto out;
	n = 0;
	for (size_t i = 0; i < st->ncerts; i++)
		for (size_t j = 0; j < st->certs[i].nnames; j++)
			ents[n++] = (struct name_ent){st->certs[i].names[j], (uint32_t)i};
	qsort(ents, n, sizeof(*ents), name_ent_cmp);

	st->names = calloc(n ? n : 1, sizeof(*st->names));
	pairs = calloc(n + 1, sizeof(*pairs));
	sites = calloc(n + 1, sizeof(*sites));
	if (!st->names || !pairs || !sites)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(ents[i].name, ents[i - 1].name))
			continue;
		st->names[k].name = ents[i].name;
		name_pair(st, ents, n, ents[i].name, &pairs[k]);
		k++;
	}
	st->nnames = k;

	/* The default: its own slot is itself, the other as for its first name. */
	const struct tls_cert *dc = &st->certs[def];

	dp.cert[0] = dp.cert[1] = -1;
	if (dc->nnames)
		name_pair(st, ents, n, dc->names[0], &dp);
	dp.cert[dc->type] = (int)def;

	memcpy(sites, pairs, k * sizeof(*pairs));
	sites[k] = dp;
	qsort(sites, k + 1, sizeof(*sites), pair_cmp);
	for (size_t i = 0; i <= k; i++)
		if (!ns || pair_cmp(&sites[ns - 1], &sites[i]))
			sites[ns++] = sites[i];

	st->sites = calloc(ns, sizeof(*st->sites));
	if (!st->sites)
		goto out;
	st->nsites = ns;
	for (size_t i = 0; i < ns; i++)
		memcpy(st->sites[i].cert, sites[i].cert, sizeof(sites[i].cert));
	for (size_t i = 0; i < k; i++)
		st->names[i].site = (uint32_t)((struct pair *)bsearch(&pairs[i], sites, ns,
								      sizeof(*sites), pair_cmp) -
					       sites);
	st->def_site =
	    (uint32_t)((struct pair *)bsearch(&dp, sites, ns, sizeof(*sites), pair_cmp) - sites);
	rc = 0;
out:
	free(sites);
	free(pairs);
	free(ents);
	return rc;
}

static int tls_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tls_name *)elem)->name);
}

/* Exact name, then the wildcard one label up, then the default. name is normalized. */
static uint32_t store_select(const struct tls_store *st, const char *name,
			     enum tls_match_kind *kind)
{
	char wild[TLS_NAME_MAX + 1];
	const struct tls_name *hit;

	if (name[0]) {
		hit = bsearch(name, st->names, st->nnames, sizeof(*st->names), tls_name_cmp);
		if (hit) {
			*kind = TLS_MATCH_EXACT;
			return hit->site;
		}
		name_wildcard(name, wild);
		hit = wild[0]
			  ? bsearch(wild, st->names, st->nnames, sizeof(*st->names), tls_name_cmp)
			  : NULL;
		if (hit) {
			*kind = TLS_MATCH_WILDCARD;
			return hit->site;
		}
	}
	*kind = TLS_MATCH_DEFAULT;
	return st->def_site;
}

/* ---------------------------------------------------------------- conn */

enum {
	F_STARTED = 1 << 0,	 /* tls_handshake was called */
	F_HELLO = 1 << 1,	 /* the client-hello callback chose a site */
	F_DONE = 1 << 2,	 /* handshake complete */
	F_DEAD = 1 << 3,	 /* fatal error: no more SSL_* I/O calls */
	F_PEER_CLOSED = 1 << 4,	 /* tls_read returned 0 */
	F_CLOSE_NOTIFY = 1 << 5, /* ... for a close_notify */
	F_SHUT = 1 << 6,	 /* our close_notify is out */
};

struct tls_conn {
	SSL *ssl;
	struct tls_store *st;
	uint32_t flags;
	uint32_t want;
	int dead_rc; /* what I/O returns once F_DEAD */
	uint32_t site;
	enum tls_match_kind match;
	char sni[TLS_NAME_MAX + 1];
	char err[128];
};

static void conn_err(struct tls_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first reason only: a callback's own reason beats OpenSSL's echo of it. */
static void conn_err(struct tls_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/*
 * The session id context is a hash of the server name: OpenSSL refuses to
 * resume a cached session or ticket whose context differs (in
 * ssl_get_prev_session, for every version), so a session made for one
 * name cannot be resumed under another, even one sharing the certificate.
 */
static int sid_ctx_set(SSL *ssl, const char *name)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[sizeof("xdproxy-sni:") + TLS_NAME_MAX];
	int n = snprintf(in, sizeof(in), "xdproxy-sni:%s", name);

	if (!EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	if (mdlen > SSL_MAX_SID_CTX_LENGTH)
		mdlen = SSL_MAX_SID_CTX_LENGTH;
	return SSL_set_session_id_context(ssl, md, mdlen) == 1 ? 0 : -1;
}

/* Whether a session to resume was made for this connection's server name. */
static bool session_name_ok(const struct tls_conn *c, const SSL_SESSION *sess)
{
	const char *h = SSL_SESSION_get0_hostname(sess);
	char norm[TLS_NAME_MAX + 1] = "";

	if (h && h[0] && name_norm(h, strlen(h), norm, false) < 0)
		return false;
	return !strcmp(norm, c->sni);
}

/* The host_name of a server_name extension (RFC 6066 3); "" when it has none. */
static int sni_parse(const unsigned char *p, size_t len, char *out)
{
	const unsigned char *end = p + len;

	out[0] = '\0';
	if (len < 2 || (size_t)(p[0] << 8 | p[1]) != len - 2 || len == 2)
		return -EBADMSG;
	p += 2;
	while (p < end) {
		size_t nl;
		unsigned char type;

		if (end - p < 3)
			return -EBADMSG;
		type = p[0];
		nl = (size_t)(p[1] << 8 | p[2]);
		p += 3;
		if (nl > (size_t)(end - p))
			return -EBADMSG;
		if (type == TLSEXT_NAMETYPE_host_name)
			return name_norm((const char *)p, nl, out, false);
		p += nl;
	}
	return 0;
}

/*
 * Runs first in the server's handling of a ClientHello (and again for the
 * second one after a HelloRetryRequest), before version, cipher, session
 * or certificate decisions: the one place to pick the SSL_CTX by name.
 */
static int hello_cb(SSL *ssl, int *al, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const unsigned char *ext;
	size_t extlen;
	char name[TLS_NAME_MAX + 1] = "";
	enum tls_match_kind kind;
	uint32_t site;
	SSL_CTX *ctx;
	int rc;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &extlen) == 1) {
		rc = sni_parse(ext, extlen, name);
		if (rc == -EBADMSG) {
			conn_err(c, "malformed server_name extension");
			*al = SSL_AD_DECODE_ERROR;
			return SSL_CLIENT_HELLO_ERROR;
		}
		if (rc < 0) {
			conn_err(c, "invalid server name in SNI");
			*al = SSL_AD_UNRECOGNIZED_NAME;
			return SSL_CLIENT_HELLO_ERROR;
		}
	}
	if ((c->flags & F_HELLO) && strcmp(name, c->sni)) {
		conn_err(c, "server name changed after HelloRetryRequest");
		*al = SSL_AD_ILLEGAL_PARAMETER;
		return SSL_CLIENT_HELLO_ERROR;
	}
	site = store_select(c->st, name, &kind);
	ctx = c->st->sites[site].ctx;
	if ((SSL_get_SSL_CTX(ssl) != ctx && SSL_set_SSL_CTX(ssl, ctx) != ctx) ||
	    sid_ctx_set(ssl, name) < 0) {
		conn_err(c, "cannot switch to the server name's context");
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	memcpy(c->sni, name, sizeof(name));
	c->site = site;
	c->match = kind;
	c->flags |= F_HELLO;
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * The name was already chosen in hello_cb; accepting it here is what makes
 * OpenSSL acknowledge SNI and record the name in the new session, which
 * session_name_ok compares on resumption.
 */
static int servername_cb(SSL *ssl, int *al, void *arg)
{
	(void)ssl;
	(void)al;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const struct tls_store *st = arg;
	unsigned char *sel = NULL;

	if (SSL_select_next_proto(&sel, outlen, st->alpn_wire, (unsigned int)st->alpn_len, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED) {
		conn_err(c, "no common ALPN protocol");
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Called only when the client sent status_request, with the certificate chosen. */
static int status_cb(SSL *ssl, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const struct tls_site *site = &c->st->sites[c->site];
	X509 *x = SSL_get_certificate(ssl);
	const struct tls_cert *ct = NULL;
	unsigned char *copy;

	(void)arg;
	for (int t = 0; t < TLS_KEY_TYPES && x; t++) {
		const struct tls_cert *cand =
		    site->cert[t] >= 0 ? &c->st->certs[site->cert[t]] : NULL;

		if (cand && (cand->leaf == x || !X509_cmp(cand->leaf, x)))
			ct = cand;
	}
	if (!ct || !ct->ocsp || (ct->ocsp_next && time(NULL) > ct->ocsp_next))
		return SSL_TLSEXT_ERR_NOACK;
	copy = OPENSSL_memdup(ct->ocsp, ct->ocsp_len);
	if (!copy)
		return SSL_TLSEXT_ERR_NOACK;
	if (!SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)ct->ocsp_len)) {
		OPENSSL_free(copy);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

static int ticket_mac_init(EVP_MAC_CTX *hctx, unsigned char *key)
{
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/*
 * Seal (enc = 1) or open a ticket with the shared keys. Returns, as OpenSSL
 * wants: 1 done; when opening, 0 for an unknown key (full handshake) and
 * 2 for the previous key (accepted, and a fresh ticket is sent); -1 error.
 */
static int ticket_key_cb(SSL *ssl, unsigned char *key_name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
			 EVP_MAC_CTX *hctx, int enc)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	struct tls_tickets *t = c->st->tickets;
	const EVP_CIPHER *cipher = EVP_aes_256_cbc();
	struct ticket_key k;
	int ret = 1;

	pthread_mutex_lock(&t->lock);
	tickets_tick_locked(t);
	if (enc) {
		k = t->cur;
	} else if (!memcmp(key_name, t->cur.name, sizeof(k.name))) {
		k = t->cur;
	} else if (t->have_prev && !memcmp(key_name, t->prev.name, sizeof(k.name))) {
		k = t->prev;
		ret = 2;
	} else {
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	if (ret == 0)
		return 0;

	if (enc) {
		memcpy(key_name, k.name, sizeof(k.name));
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1 ||
		    EVP_EncryptInit_ex(cctx, cipher, NULL, k.aes, iv) != 1)
			ret = -1;
	} else if (EVP_DecryptInit_ex(cctx, cipher, NULL, k.aes, iv) != 1) {
		ret = -1;
	}
	if (ret > 0 && ticket_mac_init(hctx, k.hmac) < 0)
		ret = -1;
	OPENSSL_cleanse(&k, sizeof(k));
	return ret;
}

/* A second check of the name after a ticket opened (the sid_ctx is the first). */
static SSL_TICKET_RETURN ticket_dec_cb(SSL *ssl, SSL_SESSION *ss, const unsigned char *keyname,
				       size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	(void)keyname;
	(void)keyname_len;
	(void)arg;
	switch (status) {
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		if (!ss || !session_name_ok(c, ss))
			return SSL_TICKET_RETURN_IGNORE_RENEW;
		return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE
						    : SSL_TICKET_RETURN_USE_RENEW;
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
}

/*
 * Every site's context is configured alike: OpenSSL reads the hello, ticket
 * and session settings from the context an SSL was created with (the
 * default site's) and the others from the one switched to, so both must
 * hold them.
 */
static SSL_CTX *site_ctx_new(struct tls_store *st, const struct tls_site *site,
			     const struct tls_store_spec *spec, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	long cache = spec->session_cache;
	unsigned int timeout =
	    spec->session_timeout ? spec->session_timeout : TLS_SESSION_TIMEOUT_DEFAULT;

	if (!ctx) {
		seterr(err, errlen, "SSL_CTX_new: %s", ossl_reason());
		return NULL;
	}
	SSL_CTX_set_security_level(ctx, 2);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, 0) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS)) {
		seterr(err, errlen, "TLS defaults refused: %s", ossl_reason());
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
	/*
	 * A TCP EOF without close_notify reads as a close, not as a fatal
	 * error: a fatal error would also drop the session from the cache,
	 * and TLS 1.1 on lets truncated sessions resume (RFC 5246 7.2.1).
	 * info_cb tells the two closes apart for tls_conn_close_notify.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_max_early_data(ctx, 0);

	SSL_CTX_set_timeout(ctx, timeout);
	if (cache < 0) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		/* 0 means unlimited to OpenSSL: never pass it. */
		SSL_CTX_sess_set_cache_size(ctx, cache ? cache : TLS_SESSION_CACHE_DEFAULT);
	}
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"xdproxy", 7);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
	SSL_CTX_set_session_ticket_cb(ctx, NULL, ticket_dec_cb, NULL);
	SSL_CTX_set_client_hello_cb(ctx, hello_cb, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	if (st->alpn_len)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, st);

	for (int t = 0; t < TLS_KEY_TYPES; t++) {
		const struct tls_cert *ct;

		if (site->cert[t] < 0)
			continue;
		ct = &st->certs[site->cert[t]];
		/* set1_chain applies to the certificate just set: keep this order. */
		if (SSL_CTX_use_certificate(ctx, ct->leaf) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, ct->key) != 1 ||
		    SSL_CTX_set1_chain(ctx, ct->chain) != 1) {
			seterr(err, errlen, "%s: OpenSSL refused the certificate: %s", ct->path,
			       ossl_reason());
			goto fail;
		}
	}
	ERR_clear_error();
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_store *tls_store_new(const struct tls_store_spec *spec, char *err, size_t errlen)
{
	struct tls_store *st;
	size_t def = 0, ndef = 0;
	int rc = -EINVAL;

	seterr(err, errlen, "%s", "");
	if (!spec || !spec->certs || !spec->ncerts) {
		seterr(err, errlen, "no certificate given");
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < spec->ncerts; i++) {
		if (!spec->certs[i].is_default)
			continue;
		if (ndef++) {
			seterr(err, errlen, "certificates %zu and %zu are both marked default", def,
			       i);
			errno = EINVAL;
			return NULL;
		}
		def = i;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		errno = ENOMEM;
		return NULL;
	}
	st->refs = 1;
	rc = alpn_parse(st, spec->alpn ? spec->alpn : TLS_ALPN_DEFAULT, err, errlen);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	st->certs = calloc(spec->ncerts, sizeof(*st->certs));
	if (!st->certs)
		goto fail;
	st->ncerts = spec->ncerts;
	for (size_t i = 0; i < spec->ncerts; i++) {
		struct tls_cert *ct = &st->certs[i];

		rc = cert_load(ct, &spec->certs[i], err, errlen);
		if (rc)
			goto fail;
		ct->is_default = i == def;
		if (!ct->nnames && !ct->is_default) {
			seterr(err, errlen,
			       "%s: no DNS name in SAN or CN, and not the default certificate",
			       ct->path);
			rc = -EINVAL;
			goto fail;
		}
	}
	rc = store_index(st, def);
	if (rc)
		goto fail;
	for (size_t i = 0; i < st->nsites; i++) {
		st->sites[i].ctx = site_ctx_new(st, &st->sites[i], spec, err, errlen);
		if (!st->sites[i].ctx) {
			rc = -EINVAL;
			goto fail;
		}
	}
	st->tickets = spec->tickets ? tls_tickets_ref(spec->tickets)
				    : tls_tickets_new(TLS_TICKETS_ROTATE_DEFAULT);
	if (!st->tickets) {
		rc = -errno;
		seterr(err, errlen, "cannot make ticket keys: %s", strerror(errno));
		goto fail;
	}
	return st;
fail:
	if (rc == -ENOMEM && err && errlen && !err[0])
		seterr(err, errlen, "out of memory");
	ERR_clear_error();
	store_destroy(st);
	errno = -rc;
	return NULL;
}

struct tls_store *tls_store_ref(struct tls_store *st)
{
	if (st)
		__atomic_fetch_add(&st->refs, 1, __ATOMIC_RELAXED);
	return st;
}

void tls_store_unref(struct tls_store *st)
{
	if (st && __atomic_sub_fetch(&st->refs, 1, __ATOMIC_ACQ_REL) == 0)
		store_destroy(st);
}

void tls_store_free(struct tls_store *st)
{
	tls_store_unref(st);
}

struct tls_tickets *tls_store_tickets(const struct tls_store *st)
{
	return st ? st->tickets : NULL;
}

size_t tls_store_ncerts(const struct tls_store *st)
{
	return st ? st->ncerts : 0;
}

int tls_store_cert_info(const struct tls_store *st, size_t i, struct tls_cert_info *out)
{
	const struct tls_cert *ct;

	if (!st || !out)
		return -EINVAL;
	if (i >= st->ncerts)
		return -ENOENT;
	ct = &st->certs[i];
	*out = (struct tls_cert_info){
	    .path = ct->path,
	    .type = ct->type,
	    .bits = ct->bits,
	    .names = (const char *const *)ct->names,
	    .nnames = ct->nnames,
	    .not_before = ct->not_before,
	    .not_after = ct->not_after,
	    .expired = ct->expired,
	    .not_yet_valid = ct->not_yet_valid,
	    .is_default = ct->is_default,
	    .ocsp = ct->ocsp != NULL,
	    .ocsp_next_update = ct->ocsp_next,
	};
	return 0;
}

int tls_store_match(const struct tls_store *st, const char *name, struct tls_match *out)
{
	char norm[TLS_NAME_MAX + 1] = "";
	uint32_t site;

	if (!st || !out)
		return -EINVAL;
	if (name && name[0] && name_norm(name, strlen(name), norm, false) < 0)
		return -EINVAL;
	site = store_select(st, norm, &out->kind);
	memcpy(out->cert, st->sites[site].cert, sizeof(out->cert));
	return 0;
}

/* ---------------------------------------------------------------- conn I/O */

/* Only a real close_notify alert comes through here; an ignored EOF does not. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_conn *c;

	if (!(where & SSL_CB_READ_ALERT) || (ret & 0xff) != SSL_AD_CLOSE_NOTIFY)
		return;
	c = SSL_get_app_data(ssl);
	if (c)
		c->flags |= F_CLOSE_NOTIFY;
}

struct tls_conn *tls_conn_new(struct tls_store *st, int fd)
{
	struct tls_conn *c;

	if (!st || fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	ERR_clear_error();
	c->ssl = SSL_new(st->sites[st->def_site].ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
		ERR_clear_error();
		SSL_free(c->ssl);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_info_callback(c->ssl, info_cb);
	SSL_set_accept_state(c->ssl);
	c->st = tls_store_ref(st);
	c->site = st->def_site;
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	/*
	 * OpenSSL drops the session from the cache when an SSL is freed before
	 * both close_notify alerts passed (a TLS 1.0 rule). Clients close
	 * without one all the time, and idle timeouts end connections too:
	 * keep the session resumable unless the connection died of a TLS error.
	 */
	if ((c->flags & F_DONE) && !((c->flags & F_DEAD) && c->dead_rc == -EPROTO))
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c->ssl);
	tls_store_unref(c->st);
	free(c);
}

/* Outcome of a failed SSL_* call: -EAGAIN, -EPROTO, -ECONNRESET, or 1 for EOF. */
#define R_EOF 1

static int conn_result(struct tls_conn *c, int r, int saved_errno, const char *op)
{
	unsigned long e;

	c->want = 0;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want = TLS_WANT_READ;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->want = TLS_WANT_WRITE;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		c->flags |= F_PEER_CLOSED;
		if (!(c->flags & F_CLOSE_NOTIFY))
			conn_err(c, "%s: EOF without close_notify", op);
		return R_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			c->flags |= F_DEAD;
			if (saved_errno == 0) {
				c->flags |= F_PEER_CLOSED;
				c->dead_rc = -ECONNRESET;
				conn_err(c, "%s: EOF without close_notify", op);
				return R_EOF;
			}
			c->dead_rc = -ECONNRESET;
			conn_err(c, "%s: %s", op, strerror(saved_errno));
			return -ECONNRESET;
		}
		/* OpenSSL queued a reason: report it as SSL_ERROR_SSL does */
		__attribute__((fallthrough));
	case SSL_ERROR_SSL:
		e = ERR_peek_error();
		c->flags |= F_DEAD;
		c->dead_rc = -EPROTO;
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			c->flags |= F_PEER_CLOSED;
			c->dead_rc = -ECONNRESET;
			conn_err(c, "%s: EOF without close_notify", op);
			return R_EOF;
		}
		conn_err(c, "%s: %s", op, ossl_reason());
		ERR_clear_error();
		return -EPROTO;
	default:
		ERR_clear_error();
		c->flags |= F_DEAD;
		c->dead_rc = -EPROTO;
		conn_err(c, "%s: unexpected SSL error", op);
		return -EPROTO;
	}
}

int tls_handshake(struct tls_conn *c)
{
	int r, rc;

	if (!c)
		return -EINVAL;
	if (c->flags & F_DONE)
		return 0;
	if (c->flags & F_DEAD)
		return -EPROTO;
	c->flags |= F_STARTED;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->want = 0;
		/* Last line of the per-name resumption rule; see sid_ctx_set. */
		if (SSL_session_reused(c->ssl) && !session_name_ok(c, SSL_get_session(c->ssl))) {
			c->flags |= F_DEAD;
			c->dead_rc = -EPROTO;
			conn_err(c, "resumed a session of another server name");
			return -EPROTO;
		}
		c->flags |= F_DONE;
		return 0;
	}
	rc = conn_result(c, r, errno, "handshake");
	if (rc == -EAGAIN)
		return rc;
	if (rc == R_EOF)
		conn_err(c, "handshake: peer closed");
	c->flags |= F_DEAD;
	c->dead_rc = -EPROTO;
	return -EPROTO;
}

ssize_t tls_read(struct tls_conn *c, void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	if (!c || !buf || !len)
		return -EINVAL;
	if (c->flags & F_PEER_CLOSED)
		return 0;
	if (c->flags & F_DEAD)
		return c->dead_rc;
	if (!(c->flags & F_DONE))
		return -ENOTCONN;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(c->ssl, buf, len, &n) == 1) {
		c->want = 0;
		return (ssize_t)n;
	}
	rc = conn_result(c, 0, errno, "read");
	return rc == R_EOF ? 0 : rc;
}

ssize_t tls_write(struct tls_conn *c, const void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	if (!c || (!buf && len))
		return -EINVAL;
	if (c->flags & F_DEAD)
		return c->dead_rc;
	if (!(c->flags & F_DONE))
		return -ENOTCONN;
	if (c->flags & F_SHUT)
		return -EPIPE;
	if (!len)
		return 0;
	/*
	 * OpenSSL 3.0 keeps counting bytes it wrote across WANT_WRITE retries
	 * and reports them only when a call completes: offered 4 MiB to a slow
	 * peer, every call says -EAGAIN until all 4 MiB are out. A bounded
	 * offer keeps the count coming back within a few records.
	 */
	if (len > TLS_WRITE_MAX)
		len = TLS_WRITE_MAX;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, buf, len, &n) == 1) {
		c->want = 0;
		return (ssize_t)n;
	}
	rc = conn_result(c, 0, errno, "write");
	return rc == R_EOF ? -ECONNRESET : rc;
}

int tls_shutdown(struct tls_conn *c)
{
	int r, rc;

	if (!c)
		return -EINVAL;
	if (!(c->flags & F_DONE) || (c->flags & (F_DEAD | F_SHUT)))
		return 0;
	/* A peer that left without close_notify is gone: nothing to tell it. */
	if ((c->flags & F_PEER_CLOSED) && !(c->flags & F_CLOSE_NOTIFY))
		return 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_shutdown(c->ssl);
	if (r >= 0) {
		c->want = 0;
		c->flags |= F_SHUT;
		return 0;
	}
	rc = conn_result(c, r, errno, "shutdown");
	return rc == R_EOF ? 0 : rc;
}

uint32_t tls_want(const struct tls_conn *c)
{
	return c ? c->want : 0;
}

size_t tls_pending(const struct tls_conn *c)
{
	int n;

	if (!c || !(c->flags & F_DONE) || (c->flags & F_DEAD))
		return 0;
	n = SSL_pending(c->ssl);
	return n > 0 ? (size_t)n : 0;
}

const char *tls_conn_sni(const struct tls_conn *c)
{
	return c && c->sni[0] ? c->sni : NULL;
}

enum tls_match_kind tls_conn_match(const struct tls_conn *c)
{
	return c ? c->match : TLS_MATCH_NONE;
}

const char *tls_conn_alpn(const struct tls_conn *c)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;

	if (!c)
		return NULL;
	SSL_get0_alpn_selected(c->ssl, &p, &len);
	for (size_t i = 0; p && i < c->st->nalpn; i++)
		if (strlen(c->st->alpn[i]) == len && !memcmp(c->st->alpn[i], p, len))
			return c->st->alpn[i];
	return NULL;
}

bool tls_conn_resumed(const struct tls_conn *c)
{
	return c && (c->flags & F_DONE) && SSL_session_reused(c->ssl);
}

const char *tls_conn_version(const struct tls_conn *c)
{
	return c ? SSL_get_version(c->ssl) : NULL;
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	return c ? SSL_get_cipher_name(c->ssl) : NULL;
}

bool tls_conn_close_notify(const struct tls_conn *c)
{
	return c && (c->flags & F_CLOSE_NOTIFY);
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c ? c->err : "";
}

/* ---------------------------------------------------------------- kTLS */

static bool ktls_avail;
static pthread_once_t ktls_once = PTHREAD_ONCE_INIT;

/* TCP_ULP needs an established socket: a loopback connect is the cheapest. */
static void ktls_probe(void)
{
#ifndef OPENSSL_NO_KTLS
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1;

	if (l < 0)
		return;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		goto out;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		goto out;
	ktls_avail = setsockopt(s, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) == 0;
out:
	if (s >= 0)
		close(s);
	close(l);
#endif
}

bool tls_ktls_available(void)
{
	pthread_once(&ktls_once, ktls_probe);
	return ktls_avail;
}

int tls_conn_ktls(struct tls_conn *c)
{
	if (!c)
		return -EINVAL;
	if (c->flags & F_STARTED)
		return -EISCONN;
	if (!tls_ktls_available())
		return -EOPNOTSUPP;
	SSL_set_options(c->ssl, SSL_OP_ENABLE_KTLS);
	return 0;
}

uint32_t tls_conn_ktls_active(const struct tls_conn *c)
{
	uint32_t r = 0;

	if (!c || !(c->flags & F_DONE))
		return 0;
	if (BIO_get_ktls_send(SSL_get_wbio(c->ssl)))
		r |= TLS_KTLS_TX;
	if (BIO_get_ktls_recv(SSL_get_rbio(c->ssl)))
		r |= TLS_KTLS_RX;
	return r;
}

/* ---------------------------------------------------------------- client connections */

/*
 * The upstream side (client.c) builds its SSL objects itself and hands them
 * here, so that every call of tls.h works on them unchanged (tls_int.h).
 */
struct tls_conn *tls_conn_adopt(SSL *ssl, const char *sni)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	/* the name the session check in tls_handshake compares with */
	if (sni && name_norm(sni, strlen(sni), c->sni, false) < 0) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	c->ssl = ssl;
	SSL_set_app_data(ssl, c);
	SSL_set_info_callback(ssl, info_cb);
	return c;
}

void tls_conn_note(struct tls_conn *c, const char *why)
{
	if (c)
		conn_err(c, "%s", why);
}
