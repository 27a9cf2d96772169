// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlsload: TLS client load generator for xdproxy's TLS benchmark
 * (tools/bench_tls.sh) and integration tests. One self-contained file over
 * OpenSSL 3 and pthreads, like tcpkit.
 *
 * Why not `openssl s_time`: it makes one blocking connection at a time from
 * one thread, so a server is measured through a client's round trips. Here
 * each thread runs one level-triggered epoll loop over --conns non-blocking
 * connection slots; a slot makes connection after connection for the whole
 * --duration: TCP connect, TLS handshake, optionally HTTP/1.1 GETs, then a
 * close_notify and close. Counted per second: handshakes (full and
 * resumed), requests and body bytes; every failure is counted by kind with
 * its first message, since a benchmark whose connections fail measures the
 * failures.
 *
 * Resumption (--resume): each slot keeps the last session the server gave
 * it (new-session callback) and offers it on its next connection. "id"
 * turns the client's ticket extension off, so a TLS 1.2 server resumes from
 * its session-id cache. TLS 1.3 tickets arrive after the handshake, so
 * with --resume and no request a slot whose handshake was full reads until
 * one came (bounded by LINGER_MS) before it closes.
 *
 * Every connection ends the same way: close_notify, then read (and drop)
 * whatever still comes until the server closes, at most LINGER_MS. Closing
 * with bytes unread (TLS 1.3 tickets, say) would reset the connection
 * instead of ending it, and the server, not the client, is then the side
 * left with the TIME_WAIT socket: a client making thousands of connections
 * a second does not run out of ports.
 *
 * The result line is the only thing written to stdout; diagnostics go to
 * stderr. Exit 0 when nothing failed, 1 when anything did, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define NSEC	       1000000000ull
#define MSEC	       1000000ull
#define LINGER_MS      1000 /* how long a slot waits for a ticket, or for the server to close */
#define CONN_TIMEOUT_S 10   /* a connection with no progress for this long fails */
#define RETRY_MS       20   /* a slot whose connection failed waits this long */
#define HEAD_MAX       16384
#define BODY_BUF       (64 * 1024)
#define MAX_FPS	       8 /* distinct server certificates tallied */
#define ERR_KEEP       3 /* first distinct error messages kept per thread */
#define ERR_LEN	       200
#define MAX_CONNS      100000
#define MAX_THREADS    64

static const char usage_text[] =
    "usage: tlsload -a ADDR:PORT [options]\n"
    "\n"
    "Makes TLS connections to ADDR:PORT (IPv4 \"a.b.c.d:port\" or \"[v6]:port\") from\n"
    "--conns parallel slots for --duration seconds and prints one line:\n"
    "  ok|FAIL secs= conns= handshakes= full= resumed= requests= body_bytes=\n"
    "  hs_per_s= req_per_s= gbps= failed= fail_connect= fail_tls= fail_http=\n"
    "  fail_timeout= no_ticket= slow_close= tls13= tls12= key_ec= key_rsa= certs=FP:N,...\n"
    "  cipher=NAME\n"
    "(FP = the first 16 hex digits of the server certificate's SHA-256; counted on\n"
    "full handshakes; NAME: the first handshake's cipher). The first error messages\n"
    "go to stderr.\n"
    "\n"
    "  -a, --addr ADDR:PORT   where to connect (required)\n"
    "  -s, --sni NAME         server name to send (default: none)\n"
    "  -c, --conns N          parallel connection slots (default 1)\n"
    "  -t, --threads N        epoll threads, the slots spread over them (default 1)\n"
    "  -d, --duration S       seconds to run (default 5; decimals allowed)\n"
    "  -V, --tls 1.2|1.3      pin the protocol version (default: 1.2 to 1.3)\n"
    "  -r, --resume MODE      none (default): every handshake full; ticket: offer the\n"
    "                         last session (tickets); id: TLS 1.2 session ids only\n"
    "                         (the ticket extension is not sent)\n"
    "  -S, --sigalgs ec|rsa   accept only ECDSA or only RSA signatures: picks which\n"
    "                         of a dual-certificate server's certificates is served\n"
    "  -g, --groups LIST      key exchange groups (default X25519:P-256)\n"
    "  -A, --alpn LIST        comma-separated ALPN protocols to offer (default none)\n"
    "  -q, --get PATH         after the handshake GET PATH (HTTP/1.1) and read the\n"
    "                         whole response (Content-Length), then close\n"
    "  -k, --keepalive        with --get: repeat the GET on the same connection until\n"
    "                         the duration ends (request rate, bulk throughput)\n"
    "  -C, --cafile FILE      verify the server certificate against FILE and the\n"
    "                         --sni name (default: no verification)\n"
    "  -h, --help             this text\n";

enum resume_mode { RESUME_NONE, RESUME_TICKET, RESUME_ID }; /* the order of --resume's names */

struct opts {
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *sni;
	unsigned int conns;
	unsigned int threads;
	double secs;
	int version; /* 0, TLS1_2_VERSION or TLS1_3_VERSION */
	enum resume_mode resume;
	const char *sigalgs;
	const char *groups;
	unsigned char alpn[256];
	unsigned int alpn_len;
	const char *path;
	bool keepalive;
	const char *cafile;
};

static struct opts o = {
    .conns = 1,
    .threads = 1,
    .secs = 5,
    .groups = "X25519:P-256",
};

static char request[1024];
static size_t request_len;
static SSL_CTX *ctx;
static uint64_t t_start, t_end; /* monotonic ns: no new work at or after t_end */

enum slot_state {
	S_IDLE = 0,
	S_CONNECT,
	S_HANDSHAKE,
	S_TICKET,  /* TLS 1.3, --resume, no request: read until a ticket came */
	S_CLOSING, /* close_notify sent: read until the server closes */
	S_SEND,
	S_HEAD,
	S_BODY,
};

struct stats {
	uint64_t handshakes, full, resumed, requests, body_bytes;
	uint64_t fail_connect, fail_tls, fail_http, fail_timeout, no_ticket, slow_close;
	uint64_t tls13, tls12, key_ec, key_rsa;
	unsigned char fp[MAX_FPS][8];
	uint64_t fp_n[MAX_FPS];
	unsigned int nfp;
	char err[ERR_KEEP][ERR_LEN];
	unsigned int nerr;
	char cipher[64]; /* of the first handshake: bulk rates depend on it */
};

struct loop;

struct slot {
	struct loop *lp;
	int fd;
	SSL *ssl;
	enum slot_state state;
	uint32_t events; /* registered epoll interest, 0 = not registered */
	SSL_SESSION *sess;
	bool got_ticket;
	uint64_t deadline; /* ns: no progress by then fails the connection */
	uint64_t retry_at; /* ns: after a failure, no new connection before */
	size_t sent;	   /* bytes of the request written */
	char head[HEAD_MAX];
	size_t head_len;
	uint64_t body_left;
	bool close_after; /* the response said Connection: close */
};

struct loop {
	pthread_t tid;
	int ep;
	struct slot *slots;
	unsigned int nslots;
	struct stats st;
	unsigned char body[BODY_BUF];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("tlsload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Keep the first ERR_KEEP distinct messages of a thread. */
static void note_err(struct stats *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_err(struct stats *st, const char *fmt, ...)
{
	char msg[ERR_LEN];
	va_list ap;
	unsigned int i;

	if (st->nerr >= ERR_KEEP)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; i < st->nerr; i++)
		if (!strcmp(st->err[i], msg))
			return;
	memcpy(st->err[st->nerr++], msg, sizeof(msg));
}

/* The earliest queued OpenSSL error, for messages; the queue is cleared. */
static const char *ossl_err(void)
{
	static __thread char buf[160];
	unsigned long e = ERR_get_error();

	if (!e)
		return "no OpenSSL error queued";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* ---------------------------------------------------------------- slots */

static void slot_watch(struct slot *s, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = s};

	if (ev == s->events)
		return;
	if (epoll_ctl(s->lp->ep, s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &e))
		die("epoll_ctl: %s", strerror(errno));
	s->events = ev;
}

/*
 * End the slot's connection: close_notify first when the handshake is
 * done, so that OpenSSL keeps the session resumable and the server sees an
 * orderly end.
 */
static void slot_close(struct slot *s, bool orderly)
{
	if (s->ssl) {
		if (orderly)
			SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd); /* also drops it from epoll */
		s->fd = -1;
	}
	s->events = 0;
	s->state = S_IDLE;
}

static void slot_fail(struct slot *s, uint64_t *counter, const char *what)
{
	(*counter)++;
	note_err(&s->lp->st, "%s", what);
	/* A refusing server must not turn the client into a busy loop. */
	s->retry_at = now_ns() + RETRY_MS * MSEC;
	if (s->sess && counter == &s->lp->st.fail_tls) {
		/* A session the server refuses to resume must not fail every later try. */
		SSL_SESSION_free(s->sess);
		s->sess = NULL;
	}
	slot_close(s, false);
}

/* Send close_notify, then wait for the server to close (S_CLOSING). */
static void slot_end(struct slot *s)
{
	ERR_clear_error();
	SSL_shutdown(s->ssl);
	ERR_clear_error();
	s->state = S_CLOSING;
	s->deadline = now_ns() + LINGER_MS * MSEC;
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct slot *s = SSL_get_app_data(ssl);

	s->got_ticket = true;
	if (o.resume == RESUME_NONE)
		return 0;
	/*
	 * A copy of our own: OpenSSL marks the connection's session not
	 * resumable when the connection ends in an error (even one read
	 * after our close_notify), which must not cost the next connection
	 * its resumption.
	 */
	if (s->sess)
		SSL_SESSION_free(s->sess);
	s->sess = SSL_SESSION_dup(sess);
	return 0; /* OpenSSL keeps and frees its own */
}

static void tally_cert(struct slot *s)
{
	struct stats *st = &s->lp->st;
	X509 *x = SSL_get0_peer_certificate(s->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_PKEY *pk;

	if (!x)
		return;
	pk = X509_get0_pubkey(x);
	if (pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC)
		st->key_ec++;
	else if (pk && (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ||
			EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA_PSS))
		st->key_rsa++;
	if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen < 8)
		return;
	for (i = 0; i < st->nfp; i++)
		if (!memcmp(st->fp[i], md, 8))
			break;
	if (i == st->nfp) {
		if (st->nfp == MAX_FPS)
			return;
		memcpy(st->fp[st->nfp++], md, 8);
	}
	st->fp_n[i]++;
}

/* Open the slot's next connection; false when it could not even start. */
static bool slot_connect(struct slot *s)
{
	int one = 1;

	s->fd = socket(o.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		s->lp->st.fail_connect++;
		note_err(&s->lp->st, "socket: %s", strerror(errno));
		return false;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->deadline = now_ns() + CONN_TIMEOUT_S * NSEC;
	s->got_ticket = false;
	s->sent = 0;
	s->state = S_CONNECT;
	if (connect(s->fd, (struct sockaddr *)&o.ss, o.sslen) && errno != EINPROGRESS) {
		char msg[96];

		snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
		slot_fail(s, &s->lp->st.fail_connect, msg);
		return false;
	}
	slot_watch(s, EPOLLOUT);
	return true;
}

static bool tls_begin(struct slot *s)
{
	s->ssl = SSL_new(ctx);
	if (!s->ssl || !SSL_set_fd(s->ssl, s->fd)) {
		slot_fail(s, &s->lp->st.fail_tls, "SSL_new failed");
		return false;
	}
	SSL_set_app_data(s->ssl, s);
	SSL_set_connect_state(s->ssl);
	if (o.sni && !SSL_set_tlsext_host_name(s->ssl, o.sni)) {
		slot_fail(s, &s->lp->st.fail_tls, "SNI refused by OpenSSL");
		return false;
	}
	if (o.cafile && o.sni && !SSL_set1_host(s->ssl, o.sni)) {
		slot_fail(s, &s->lp->st.fail_tls, "SSL_set1_host failed");
		return false;
	}
	if (s->sess && o.resume != RESUME_NONE) {
		/*
		 * A copy: a TLS 1.3 handshake writes into the session it
		 * resumes, after which OpenSSL would not offer it again, and a
		 * server that resumed need not send a fresh ticket (OpenSSL
		 * sends none unless its ticket callback asks to renew).
		 */
		SSL_SESSION *d = SSL_SESSION_dup(s->sess);

		if (!d || !SSL_set_session(s->ssl, d)) {
			SSL_SESSION_free(d);
			slot_fail(s, &s->lp->st.fail_tls, "cannot set the session to resume");
			return false;
		}
		SSL_SESSION_free(d);
	}
	s->state = S_HANDSHAKE;
	return true;
}

/*
 * Map an SSL_ERROR_* of the slot's last call: true to wait for the fd
 * (interest updated), false when the connection failed (counted, closed).
 */
static bool tls_wait(struct slot *s, int r, const char *what)
{
	char msg[ERR_LEN];
	int e = SSL_get_error(s->ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		slot_watch(s, EPOLLIN);
		return true;
	case SSL_ERROR_WANT_WRITE:
		slot_watch(s, EPOLLOUT);
		return true;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(msg, sizeof(msg), "%s: the server closed (close_notify)", what);
		break;
	case SSL_ERROR_SYSCALL:
		snprintf(msg, sizeof(msg), "%s: %s", what,
			 errno ? strerror(errno) : "connection closed by the server");
		break;
	default:
		snprintf(msg, sizeof(msg), "%s: %s", what, ossl_err());
		break;
	}
	ERR_clear_error();
	slot_fail(s, s->state == S_HANDSHAKE ? &s->lp->st.fail_tls : &s->lp->st.fail_http, msg);
	return false;
}

/* The handshake is done: count it, then on to the request, a ticket, or the end. */
static void handshake_done(struct slot *s)
{
	struct stats *st = &s->lp->st;

	st->handshakes++;
	if (SSL_session_reused(s->ssl)) {
		st->resumed++;
	} else {
		st->full++;
		tally_cert(s);
	}
	if (!st->cipher[0])
		snprintf(st->cipher, sizeof(st->cipher), "%s", SSL_get_cipher_name(s->ssl));
	if (SSL_version(s->ssl) == TLS1_3_VERSION)
		st->tls13++;
	else if (SSL_version(s->ssl) == TLS1_2_VERSION)
		st->tls12++;
	if (o.path) {
		s->state = S_SEND;
	} else if (o.resume != RESUME_NONE && SSL_version(s->ssl) == TLS1_3_VERSION &&
		   !SSL_session_reused(s->ssl) && !s->got_ticket) {
		s->state = S_TICKET;
		s->deadline = now_ns() + LINGER_MS * MSEC;
	} else {
		slot_end(s);
	}
}

/* Parse a complete response head: status, Content-Length, Connection. */
static bool head_parse(struct slot *s, size_t head_end)
{
	char *line, *save = NULL, *p;
	bool have_len = false;
	int status = 0;

	s->head[head_end] = '\0';
	line = strtok_r(s->head, "\r\n", &save);
	if (!line || sscanf(line, "HTTP/1.%*c %d", &status) != 1)
		return false;
	if (status < 200 || status > 299) {
		note_err(&s->lp->st, "HTTP status %d", status);
		return false;
	}
	s->close_after = false;
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		p = strchr(line, ':');
		if (!p)
			continue;
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strcasecmp(line, "content-length")) {
			char *end;

			errno = 0;
			s->body_left = strtoull(p, &end, 10);
			if (errno || end == p)
				return false;
			have_len = true;
		} else if (!strcasecmp(line, "transfer-encoding")) {
			note_err(&s->lp->st, "response with Transfer-Encoding: %s (unsupported)",
				 p);
			return false;
		} else if (!strcasecmp(line, "connection") && strcasestr(p, "close")) {
			s->close_after = true;
		}
	}
	if (!have_len)
		note_err(&s->lp->st, "response without Content-Length");
	return have_len;
}

/* A response is complete: next request, or close. */
static void response_done(struct slot *s)
{
	s->lp->st.requests++;
	if (o.keepalive && !s->close_after && now_ns() < t_end) {
		s->state = S_SEND;
		s->sent = 0;
		s->deadline = now_ns() + CONN_TIMEOUT_S * NSEC;
	} else {
		slot_end(s);
	}
}

/* Drive the slot as far as it goes without waiting. */
static void slot_run(struct slot *s)
{
	struct stats *st = &s->lp->st;
	int r;

	for (;;) {
		switch (s->state) {
		case S_IDLE:
			if (now_ns() >= t_end || now_ns() < s->retry_at)
				return;
			if (!slot_connect(s))
				return; /* counted; the next tick retries */
			return;		/* wait for EPOLLOUT */
		case S_CONNECT: {
			int err = 0;
			socklen_t len = sizeof(err);

			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
				char msg[96];

				snprintf(msg, sizeof(msg), "connect: %s",
					 strerror(err ? err : errno));
				slot_fail(s, &st->fail_connect, msg);
				continue;
			}
			if (!tls_begin(s))
				continue;
			break;
		}
		case S_HANDSHAKE:
			ERR_clear_error();
			r = SSL_do_handshake(s->ssl);
			if (r != 1) {
				if (tls_wait(s, r, "handshake"))
					return;
				continue;
			}
			s->deadline = now_ns() + CONN_TIMEOUT_S * NSEC;
			handshake_done(s);
			if (s->state == S_IDLE)
				continue;
			break;
		case S_TICKET: {
			unsigned char b[256];

			if (s->got_ticket) {
				slot_end(s);
				break;
			}
			ERR_clear_error();
			r = SSL_read(s->ssl, b, sizeof(b));
			if (r > 0) {
				slot_fail(s, &st->fail_http,
					  "data from the server before any request");
				continue;
			}
			if (s->got_ticket) {
				slot_end(s);
				break;
			}
			if (tls_wait(s, r, "reading the session ticket"))
				return;
			continue;
		}
		case S_CLOSING:
			/* Whatever comes is dropped; any end of it ends the connection. */
			ERR_clear_error();
			r = SSL_read(s->ssl, s->lp->body, BODY_BUF);
			if (r > 0)
				break;
			switch (SSL_get_error(s->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				slot_watch(s, EPOLLIN);
				return;
			case SSL_ERROR_WANT_WRITE:
				slot_watch(s, EPOLLOUT);
				return;
			default:
				ERR_clear_error();
				slot_close(s, false);
				continue;
			}
		case S_SEND:
			ERR_clear_error();
			r = SSL_write(s->ssl, request, (int)request_len);
			if (r <= 0) {
				if (tls_wait(s, r, "sending the request"))
					return;
				continue;
			}
			s->head_len = 0;
			s->state = S_HEAD;
			break;
		case S_HEAD: {
			char *end;

			ERR_clear_error();
			r = SSL_read(s->ssl, s->head + s->head_len, HEAD_MAX - 1 - s->head_len);
			if (r <= 0) {
				if (tls_wait(s, r, "reading the response"))
					return;
				continue;
			}
			s->head_len += (size_t)r;
			s->head[s->head_len] = '\0';
			end = strstr(s->head, "\r\n\r\n");
			if (!end) {
				if (s->head_len >= HEAD_MAX - 1)
					slot_fail(s, &st->fail_http, "response head too long");
				break;
			}
			{
				size_t hlen = (size_t)(end - s->head) + 4;
				size_t extra = s->head_len - hlen;

				if (!head_parse(s, hlen - 2)) {
					slot_fail(s, &st->fail_http, "bad response");
					continue;
				}
				if (extra > s->body_left) {
					slot_fail(s, &st->fail_http,
						  "more bytes than Content-Length");
					continue;
				}
				s->body_left -= extra;
				st->body_bytes += extra;
			}
			if (s->body_left == 0)
				response_done(s);
			else
				s->state = S_BODY;
			break;
		}
		case S_BODY: {
			size_t want = s->body_left < BODY_BUF ? s->body_left : BODY_BUF;

			ERR_clear_error();
			r = SSL_read(s->ssl, s->lp->body, (int)want);
			if (r <= 0) {
				if (tls_wait(s, r, "reading the body"))
					return;
				continue;
			}
			s->body_left -= (uint64_t)r;
			st->body_bytes += (uint64_t)r;
			s->deadline = now_ns() + CONN_TIMEOUT_S * NSEC;
			if (s->body_left == 0)
				response_done(s);
			break;
		}
		}
	}
}

/* ---------------------------------------------------------------- loops */

static void *loop_main(void *arg)
{
	struct loop *lp = arg;
	struct epoll_event ev[256];
	unsigned int i;
	uint64_t now;

	for (i = 0; i < lp->nslots; i++)
		slot_run(&lp->slots[i]);
	for (;;) {
		int n = epoll_wait(lp->ep, ev, 256, 20);

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++)
			slot_run(ev[k].data.ptr);
		now = now_ns();
		if (now >= t_end)
			break;
		for (i = 0; i < lp->nslots; i++) {
			struct slot *s = &lp->slots[i];

			if (s->state == S_IDLE) {
				slot_run(s); /* after a failed connect */
			} else if (now >= s->deadline) {
				if (s->state == S_TICKET) {
					lp->st.no_ticket++;
					slot_end(s);
				} else if (s->state == S_CLOSING) {
					lp->st.slow_close++;
					slot_close(s, false);
				} else {
					slot_fail(s, &lp->st.fail_timeout, "no progress for 10 s");
				}
				slot_run(s);
			}
		}
	}
	/* Connections still under way at the end are neither counted nor failed. */
	for (i = 0; i < lp->nslots; i++) {
		slot_close(&lp->slots[i],
			   lp->slots[i].state > S_HANDSHAKE && lp->slots[i].state != S_CLOSING);
		if (lp->slots[i].sess)
			SSL_SESSION_free(lp->slots[i].sess);
	}
	return NULL;
}

/* ---------------------------------------------------------------- setup */

/* "a.b.c.d:port" or "[v6]:port", numeric only: a benchmark resolves nothing. */
static void parse_addr(const char *arg)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char host[128];
	const char *colon = strrchr(arg, ':'), *h = arg;
	size_t hlen = colon ? (size_t)(colon - arg) : 0;

	if (arg[0] == '[' && hlen >= 2 && arg[hlen - 1] == ']') {
		h = arg + 1;
		hlen -= 2;
	}
	if (!colon || hlen == 0 || hlen >= sizeof(host))
		die("bad address '%s': want a.b.c.d:port or [v6]:port", arg);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai || ai->ai_addrlen > sizeof(o.ss) ||
	    strtoul(colon + 1, NULL, 10) == 0)
		die("bad address '%s': want a.b.c.d:port or [v6]:port, port 1..65535", arg);
	memcpy(&o.ss, ai->ai_addr, ai->ai_addrlen);
	o.sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* "h2,http/1.1" -> the ALPN wire format. */
static void parse_alpn(const char *list)
{
	const char *p = list;

	o.alpn_len = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == 0 || n > 255 || o.alpn_len + 1 + n > sizeof(o.alpn))
			die("bad ALPN list '%s'", list);
		o.alpn[o.alpn_len++] = (unsigned char)n;
		memcpy(o.alpn + o.alpn_len, p, n);
		o.alpn_len += (unsigned int)n;
		p += n + (comma ? 1 : 0);
	}
}

static unsigned long parse_uint(const char *arg, const char *what, unsigned long lo,
				unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || v < lo || v > hi)
		die("%s must be an integer from %lu to %lu, not '%s'", what, lo, hi, arg);
	return v;
}

/* The index of arg in the NULL-terminated names; dies naming them otherwise. */
static unsigned int pick(const char *arg, const char *what, const char *const *names)
{
	char all[128] = "";
	unsigned int i;

	for (i = 0; names[i]; i++) {
		if (!strcmp(arg, names[i]))
			return i;
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? ", " : "",
			 names[i]);
	}
	die("%s must be one of %s, not '%s'", what, all, arg);
}

static void parse_args(int argc, char **argv)
{
	/* --sigalgs ec, rsa. TLS 1.3 RSA signs with RSA-PSS; TLS 1.2 may use PKCS#1. */
	static const char *const sigalgs[] = {
	    "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512",
	    "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
	    "RSA+SHA256:RSA+SHA384:RSA+SHA512",
	};
	static const struct option lo[] = {
	    {"addr", required_argument, NULL, 'a'},
	    {"sni", required_argument, NULL, 's'},
	    {"conns", required_argument, NULL, 'c'},
	    {"threads", required_argument, NULL, 't'},
	    {"duration", required_argument, NULL, 'd'},
	    {"tls", required_argument, NULL, 'V'},
	    {"resume", required_argument, NULL, 'r'},
	    {"sigalgs", required_argument, NULL, 'S'},
	    {"groups", required_argument, NULL, 'g'},
	    {"alpn", required_argument, NULL, 'A'},
	    {"get", required_argument, NULL, 'q'},
	    {"keepalive", no_argument, NULL, 'k'},
	    {"cafile", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool have_addr = false;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "a:s:c:t:d:V:r:S:g:A:q:kC:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			parse_addr(optarg);
			have_addr = true;
			break;
		case 's':
			o.sni = optarg;
			break;
		case 'c':
			o.conns = (unsigned int)parse_uint(optarg, "--conns", 1, MAX_CONNS);
			break;
		case 't':
			o.threads = (unsigned int)parse_uint(optarg, "--threads", 1, MAX_THREADS);
			break;
		case 'd':
			errno = 0;
			o.secs = strtod(optarg, &end);
			if (errno || *end || !(o.secs > 0 && o.secs <= 86400))
				die("--duration must be a number of seconds in (0, 86400]");
			break;
		case 'V': {
			static const char *const v[] = {"1.2", "1.3", NULL};

			o.version = pick(optarg, "--tls", v) ? TLS1_3_VERSION : TLS1_2_VERSION;
			break;
		}
		case 'r': {
			static const char *const v[] = {"none", "ticket", "id", NULL};

			o.resume = (enum resume_mode)pick(optarg, "--resume", v);
			break;
		}
		case 'S': {
			static const char *const v[] = {"ec", "rsa", NULL};

			o.sigalgs = sigalgs[pick(optarg, "--sigalgs", v)];
			break;
		}
		case 'g':
			o.groups = optarg;
			break;
		case 'A':
			parse_alpn(optarg);
			break;
		case 'q':
			if (optarg[0] != '/' || strpbrk(optarg, " \r\n"))
				die("--get wants a path starting with '/', without spaces");
			o.path = optarg;
			break;
		case 'k':
			o.keepalive = true;
			break;
		case 'C':
			o.cafile = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (!have_addr)
		die("--addr is required (see --help)");
	if (o.keepalive && !o.path)
		die("--keepalive needs --get");
	if (o.resume == RESUME_ID && o.version == TLS1_3_VERSION)
		die("--resume id is TLS 1.2 only (TLS 1.3 resumes by ticket)");
	if (o.cafile && !o.sni)
		die("--cafile needs --sni: the name to check the certificate against");
	if (o.threads > o.conns)
		o.threads = o.conns;
}

static void ctx_setup(void)
{
	long mode = SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		die("SSL_CTX_new: %s", ossl_err());
	if (!SSL_CTX_set_min_proto_version(ctx, o.version ? o.version : TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, o.version))
		die("protocol version: %s", ossl_err());
	if (!SSL_CTX_set1_groups_list(ctx, o.groups))
		die("--groups '%s': %s", o.groups, ossl_err());
	if (o.sigalgs && !SSL_CTX_set1_sigalgs_list(ctx, o.sigalgs))
		die("signature algorithms: %s", ossl_err());
	if (o.alpn_len && SSL_CTX_set_alpn_protos(ctx, o.alpn, o.alpn_len))
		die("ALPN: %s", ossl_err());
	if (o.resume == RESUME_ID)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* A server that closes without close_notify after a response is not a failure here. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, mode);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	if (o.cafile) {
		if (!SSL_CTX_load_verify_locations(ctx, o.cafile, NULL))
			die("--cafile %s: %s", o.cafile, ossl_err());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (o.path) {
		int n = snprintf(request, sizeof(request),
				 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsload\r\n\r\n",
				 o.path, o.sni ? o.sni : "tlsload");

		if (n < 0 || (size_t)n >= sizeof(request))
			die("--get path too long");
		request_len = (size_t)n;
	}
}

static void stats_add(struct stats *a, const struct stats *b)
{
	unsigned int i, j;

	a->handshakes += b->handshakes;
	a->full += b->full;
	a->resumed += b->resumed;
	a->requests += b->requests;
	a->body_bytes += b->body_bytes;
	a->fail_connect += b->fail_connect;
	a->fail_tls += b->fail_tls;
	a->fail_http += b->fail_http;
	a->fail_timeout += b->fail_timeout;
	a->no_ticket += b->no_ticket;
	a->slow_close += b->slow_close;
	if (!a->cipher[0])
		memcpy(a->cipher, b->cipher, sizeof(a->cipher));
	a->tls13 += b->tls13;
	a->tls12 += b->tls12;
	a->key_ec += b->key_ec;
	a->key_rsa += b->key_rsa;
	for (i = 0; i < b->nfp; i++) {
		for (j = 0; j < a->nfp; j++)
			if (!memcmp(a->fp[j], b->fp[i], 8))
				break;
		if (j == a->nfp) {
			if (a->nfp == MAX_FPS)
				continue;
			memcpy(a->fp[a->nfp++], b->fp[i], 8);
		}
		a->fp_n[j] += b->fp_n[i];
	}
}

int main(int argc, char **argv)
{
	struct loop *loops;
	struct stats tot = {0};
	uint64_t failed;
	unsigned int i, k, next = 0;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	ctx_setup();
	loops = calloc(o.threads, sizeof(*loops));
	if (!loops)
		die("out of memory");
	for (i = 0; i < o.threads; i++) {
		struct loop *lp = &loops[i];

		lp->nslots = o.conns / o.threads + (i < o.conns % o.threads);
		lp->slots = calloc(lp->nslots, sizeof(*lp->slots));
		lp->ep = epoll_create1(EPOLL_CLOEXEC);
		if (!lp->slots || lp->ep < 0)
			die("setup: %s", strerror(errno));
		for (k = 0; k < lp->nslots; k++) {
			lp->slots[k].lp = lp;
			lp->slots[k].fd = -1;
		}
		next += lp->nslots;
	}
	t_start = now_ns();
	t_end = t_start + (uint64_t)(o.secs * (double)NSEC);
	for (i = 0; i < o.threads; i++)
		if (pthread_create(&loops[i].tid, NULL, loop_main, &loops[i]))
			die("pthread_create failed");
	for (i = 0; i < o.threads; i++) {
		pthread_join(loops[i].tid, NULL);
		stats_add(&tot, &loops[i].st);
		for (k = 0; k < loops[i].st.nerr; k++)
			fprintf(stderr, "tlsload: thread %u: %s\n", i, loops[i].st.err[k]);
	}
	failed = tot.fail_connect + tot.fail_tls + tot.fail_http + tot.fail_timeout;
	printf("%s secs=%.3f conns=%u handshakes=%" PRIu64 " full=%" PRIu64 " resumed=%" PRIu64
	       " requests=%" PRIu64 " body_bytes=%" PRIu64 " hs_per_s=%.1f req_per_s=%.1f"
	       " gbps=%.3f failed=%" PRIu64 " fail_connect=%" PRIu64 " fail_tls=%" PRIu64
	       " fail_http=%" PRIu64 " fail_timeout=%" PRIu64 " no_ticket=%" PRIu64
	       " slow_close=%" PRIu64 " tls13=%" PRIu64 " tls12=%" PRIu64 " key_ec=%" PRIu64
	       " key_rsa=%" PRIu64 " certs=",
	       failed ? "FAIL" : "ok", o.secs, next, tot.handshakes, tot.full, tot.resumed,
	       tot.requests, tot.body_bytes, (double)tot.handshakes / o.secs,
	       (double)tot.requests / o.secs, (double)tot.body_bytes * 8 / o.secs / 1e9, failed,
	       tot.fail_connect, tot.fail_tls, tot.fail_http, tot.fail_timeout, tot.no_ticket,
	       tot.slow_close, tot.tls13, tot.tls12, tot.key_ec, tot.key_rsa);
	for (i = 0; i < tot.nfp; i++) {
		printf("%s", i ? "," : "");
		for (k = 0; k < 8; k++)
			printf("%02x", tot.fp[i][k]);
		printf(":%" PRIu64, tot.fp_n[i]);
	}
	printf("%s cipher=%s\n", tot.nfp ? "" : "-", tot.cipher[0] ? tot.cipher : "-");
	for (i = 0; i < o.threads; i++) {
		close(loops[i].ep);
		free(loops[i].slots);
	}
	free(loops);
	SSL_CTX_free(ctx);
	return failed ? 1 : 0;
}
