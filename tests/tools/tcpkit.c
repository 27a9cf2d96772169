// SPDX-License-Identifier: BSD-2-Clause
/*
 * tcpkit: TCP traffic generator and verifier for xdproxy's integration
 * tests, the demo and the benchmarks. One self-contained file (libcrypto
 * and pthreads only) so it builds without the rest of the tree.
 *
 * Data: every payload byte comes from a deterministic pseudo-random
 * stream. Byte k of stream(seed) is a pure function of (seed, k) (see
 * stream_block), so a receiver checks any range it gets against the
 * stream computed locally, byte by byte, without the sender's data. That
 * gives the exact offset of the first corruption; searching the expected
 * stream around that offset for the bytes that did arrive tells whether
 * data was replayed (duplicated) or lost (missing), altered in place, or
 * is foreign altogether (another seed, our own data reflected back).
 * SHA-256 (OpenSSL EVP) is used where a byte comparison is not possible:
 * `sum` prints the digest of a stream, `verify` hashes what it reads.
 *
 * Engine: one level-triggered epoll loop per thread (--threads). A
 * connection has an independent send side and receive side and each
 * wakeup services both, so both directions always progress (full duplex:
 * two peers each sending 100 MiB cannot deadlock). Interest in EPOLLIN or
 * EPOLLOUT is only registered while that side can act; rate-limited sides
 * sleep on a per-connection wake time instead, and a connection with no
 * interest at all is taken out of epoll so that EPOLLHUP cannot spin.
 *
 * The result line is the only thing written to stdout (except `gen`,
 * whose stdout is the stream); diagnostics go to stderr.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TK_INF	       UINT64_MAX /* "inf": no length limit */
#define BLK_SHIFT      16	  /* stream blocks are cached 64 KiB at a time */
#define BLK_SIZE       (1u << BLK_SHIFT)
#define CACHE_ENTRIES  16 /* per loop; must exceed TX_IOV_MAX */
#define TX_IOV_MAX     4  /* up to 256 KiB per sendmsg */
#define RXBUF_SIZE     (256u << 10)
#define ECHO_BUF_SIZE  (64u << 10) /* per connection, allocated only in --echo mode */
#define IO_BUDGET      (4u << 20)  /* bytes per direction per wakeup, for fairness */
#define WIN_LEN	       64	   /* bytes kept after a corruption to classify it */
#define SEARCH_RADIUS  (8u << 20)  /* how far from the corruption to look for its bytes */
#define LISTEN_BACKLOG 4096
#define MAX_FAIL_LOGS  100
#define HIST_SUB_BITS  6 /* latency histogram: 64 linear buckets per power of two */
#define HIST_SUB       (1u << HIST_SUB_BITS)
#define HIST_BUCKETS   ((64 - HIST_SUB_BITS + 1) * HIST_SUB)
#define NSEC	       1000000000ull

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

enum tk_exit {
	TK_EXIT_OK = 0,
	TK_EXIT_FAIL = 1,
	TK_EXIT_USAGE = 2,
	TK_EXIT_TIMEOUT = 3,
};

enum tk_mode {
	MODE_SERVER = 1 << 0,
	MODE_CLIENT = 1 << 1,
	MODE_RR = 1 << 2,
	MODE_GEN = 1 << 3,
	MODE_SUM = 1 << 4,
	MODE_VERIFY = 1 << 5,
};
#define MODE_NET    (MODE_SERVER | MODE_CLIENT | MODE_RR)
#define MODE_STREAM (MODE_GEN | MODE_SUM | MODE_VERIFY)
#define MODE_ALL    (MODE_NET | MODE_STREAM)

/* Known bytes a --banner server sends before anything else. */
static const char tk_banner[] = "tcpkit banner v1\r\n";
#define BANNER_LEN ((uint32_t)(sizeof(tk_banner) - 1))

static const char usage_text[] =
    "usage: tcpkit COMMAND [OPTIONS]\n"
    "\n"
    "TCP traffic generator and verifier. Payloads are deterministic pseudo-random\n"
    "streams: byte k of stream(seed) depends only on (seed, k), so receivers verify\n"
    "byte by byte without the sender's data and report the first differing offset\n"
    "and whether bytes were duplicated, lost or foreign.\n"
    "ADDR is IPv4 \"a.b.c.d:port\" or IPv6 \"[v6]:port\" (numeric). BYTES take K, M, G, T\n"
    "suffixes (1024-based); \"inf\" means unbounded. Rates are BYTES per second, per\n"
    "connection (an optional \"/s\" suffix is accepted).\n"
    "\n"
    "tcpkit server -l ADDR [options]\n"
    "  Accept connections; on each, send and receive concurrently. After sending, the\n"
    "  server shuts down its write side (SHUT_WR); it closes once both directions are\n"
    "  done. Runs until --max-conns connections finished, SIGINT/SIGTERM (exit 0 unless\n"
    "  a verification failed) or the timeout. One stderr line per failed connection\n"
    "  (the first 100). \"[::]:PORT\" listens on IPv6 only (IPV6_V6ONLY).\n"
    "  --send BYTES         send BYTES of stream(--seed) (default 0; inf = until the peer\n"
    "                       goes away)\n"
    "  --seed N             seed of the sent stream (default 1)\n"
    "  --expect BYTES       read until EOF and require exactly BYTES of\n"
    "                       stream(--expect-seed) (inf = check content only)\n"
    "  --expect-seed N      seed of the expected stream (default: --seed)\n"
    "  --after-eof          send only after the peer's EOF arrived (half-close test)\n"
    "  --die-after BYTES    after sending BYTES, close with RST (SO_LINGER 0); --send\n"
    "                       defaults to inf\n"
    "  --rate BYTES/s       limit the send rate\n"
    "  --read-rate BYTES/s  limit the receive rate\n"
    "  --banner             send the banner \"tcpkit banner v1\\r\\n\" on accept, before\n"
    "                       reading (server speaks first); --send data follows it\n"
    "  --echo               send back everything received (instead of --send)\n"
    "  --max-conns N        exit after N connections were accepted and finished\n"
    "\n"
    "tcpkit client -c ADDR [options]\n"
    "  Open --conns connections, at most --parallel at a time. Each sends its data\n"
    "  while reading concurrently, then shuts down its write side (half-close, the\n"
    "  default) and reads until EOF; received data must be exactly --expect. Prints\n"
    "  ok|FAIL|TIMEOUT conns= bytes_sent= bytes_recv= secs= MiB/s= (MiB/s counts both\n"
    "  directions) followed by details: ok= failed= peer_closed= cut= unfinished=,\n"
    "  first_corrupt_offset= and first_fail=\"...\" on failure.\n"
    "  --send BYTES         send BYTES of stream(--seed) (default 0; inf = until --duration)\n"
    "  --seed N             seed of the sent stream (default 1)\n"
    "  --expect BYTES       require exactly BYTES of stream(--expect-seed) before EOF\n"
    "                       (default: count received bytes only; inf = content only)\n"
    "  --expect-seed N      seed of the expected stream (default: --seed)\n"
    "  --expect-close       success = the peer closes (EOF) or resets the connection;\n"
    "                       received length is not checked (content still is)\n"
    "  --conns N            connections in total (default 1; 0 = until --duration)\n"
    "  --parallel P         at most P connections open at once (default: --conns)\n"
    "  --half-close         shutdown(SHUT_WR) after sending, keep reading (default)\n"
    "  --no-half-close      keep the write side open until the peer's EOF, then close\n"
    "  --send-first         send everything and half-close before reading anything\n"
    "  --banner             wait for and check the server's banner before sending\n"
    "  --expect-banner      check the banner but send at once, without waiting for it\n"
    "  --rate BYTES/s       limit the send rate\n"
    "  --read-rate BYTES/s  limit the receive rate (slow reader)\n"
    "  --duration S         after S seconds close all connections (\"cut\"; received\n"
    "                       prefixes are still verified) and open no more\n"
    "\n"
    "tcpkit rr -c ADDR [--conns C] [--duration S] [--size B] [--seed N]\n"
    "  Request/response against `server --echo`: C connections (default 1) each send B\n"
    "  bytes (default 64) and wait for the same B bytes back, for S seconds (default\n"
    "  5); echoed data is verified. Prints ok reqs= req/s= p50_us= p99_us= p999_us=\n"
    "  max_us= conns= secs=.\n"
    "\n"
    "tcpkit gen --bytes B [--seed N]     write stream(seed) to stdout\n"
    "tcpkit sum --bytes B [--seed N]     print sha256= of stream(seed)\n"
    "tcpkit verify --bytes B [--seed N]  read stdin, compare with stream(seed), print\n"
    "                                    ok|FAIL bytes= sha256= (first_diff_offset=)\n"
    "\n"
    "Common options:\n"
    "  --timeout S          bound the whole run (default 60, or --duration + 10 if\n"
    "                       longer; 0 = none); exit 3 when it expires\n"
    "  --threads T          server/client/rr: T epoll loops (server: SO_REUSEPORT)\n"
    "  -v, --verbose        log every connection to stderr\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 success, 1 verification or connection failure (takes precedence),\n"
    "2 usage error, 3 timeout.\n";

struct opts {
	enum tk_mode mode;
	const char *addr;
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint64_t send;
	bool send_set;
	uint64_t seed;
	uint64_t expect;
	bool expect_set;
	uint64_t expect_seed;
	bool expect_seed_set;
	bool after_eof;
	bool banner;
	bool expect_banner;
	bool echo;
	bool expect_close;
	bool half_close;
	bool send_first;
	uint64_t die_after; /* 0 = never */
	uint64_t max_conns; /* 0 = unlimited */
	uint64_t rate;	    /* 0 = unlimited */
	uint64_t read_rate; /* 0 = unlimited */
	uint64_t conns;	    /* 0 = unlimited (needs duration) */
	uint64_t parallel;
	bool parallel_set;
	double duration; /* 0 = none */
	uint64_t size;
	uint64_t bytes;
	bool bytes_set;
	double timeout;
	bool timeout_set;
	unsigned threads;
	bool verbose;
};

static struct opts o = {
    .seed = 1,
    .half_close = true,
    .conns = 1,
    .size = 64,
    .timeout = 60,
    .threads = 1,
};

static volatile sig_atomic_t g_signal;
static uint64_t g_deadline;	    /* CLOCK_MONOTONIC ns; 0 = none */
static uint64_t g_dur_end;	    /* client/rr --duration end; 0 = none */
static _Atomic uint64_t g_accepted; /* server: connections accepted so far */
static _Atomic uint64_t g_conn_seq;
static _Atomic unsigned g_fail_logs;

#define pr_err(fmt, ...) fprintf(stderr, "tcpkit: " fmt "\n", ##__VA_ARGS__)
#define pr_info(fmt, ...)                                                                          \
	do {                                                                                       \
		if (o.verbose)                                                                     \
			fprintf(stderr, "tcpkit: " fmt "\n", ##__VA_ARGS__);                       \
	} while (0)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/* ---- stream generator ---------------------------------------------------- */

/* splitmix64's finalizer: a bijection on 64-bit words with good avalanche. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ull

/* Distinct seeds give distinct keys: mix64 is a bijection. */
static uint64_t stream_key(uint64_t seed)
{
	return mix64(seed ^ 0x74636b6974000000ull);
}

/*
 * The stream is made of 64 KiB blocks. Block idx of stream(key) is a
 * per-key random table T (64 KiB, from 8 xorshift64 lanes) XORed with a
 * 64-byte pattern P(key, idx) (splitmix64 of key and block number)
 * repeated over the block:
 *
 *     block[idx][i] = T[i] ^ P(key, idx)[i % 64]
 *
 * so any offset is reachable without generating what precedes it, and
 * producing a block costs about a memcpy from cache: a verifying receiver
 * generates every byte it receives, so this is what keeps tcpkit from
 * being the bottleneck of a benchmark. Statistical quality is irrelevant;
 * what matters is that no two (key, offset) ranges look alike: the same
 * in-block offset of two blocks differs in every word (P differs), and
 * different offsets are unrelated parts of T, so a wrong seed or displaced
 * data never passes for the expected bytes and can be located.
 */
typedef uint64_t lanes_t __attribute__((vector_size(64)));
#define LANES	    ((unsigned)(sizeof(lanes_t) / sizeof(uint64_t)))
#define TABLE_CACHE 4 /* keys with a table, per thread (tx and rx need 2) */

/* Per thread: tables of recently used keys, scratch for partial blocks. */
static __thread struct {
	uint64_t key;
	uint8_t *t;
} tabs[TABLE_CACHE];
static __thread unsigned tabs_next;
static __thread uint8_t *blk_tmp;

/* Release this thread's generator memory (threads call it on exit). */
static void stream_thread_free(void)
{
	for (unsigned i = 0; i < TABLE_CACHE; i++) {
		free(tabs[i].t);
		tabs[i].t = NULL;
	}
	free(blk_tmp);
	blk_tmp = NULL;
}

static const uint8_t *stream_table(uint64_t key)
{
	unsigned i;
	lanes_t x;

	for (i = 0; i < TABLE_CACHE; i++)
		if (tabs[i].t && tabs[i].key == key)
			return tabs[i].t;
	i = tabs_next++ % TABLE_CACHE;
	if (!tabs[i].t && !(tabs[i].t = malloc(BLK_SIZE)))
		abort();
	for (unsigned l = 0; l < LANES; l++)
		x[l] = mix64(~key - (l + 1) * GOLDEN) | 1; /* xorshift state must not be 0 */
	for (size_t off = 0; off < BLK_SIZE; off += sizeof(x)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (unsigned l = 0; l < LANES; l++)
			x[l] = htole64(x[l]); /* the stream is the same on every host */
		memcpy(tabs[i].t + off, &x, sizeof(x));
		for (unsigned l = 0; l < LANES; l++)
			x[l] = le64toh(x[l]);
	}
	tabs[i].key = key;
	return tabs[i].t;
}

/* Out parameter: returning a 64-byte vector by value would depend on the ABI. */
static void stream_pattern(uint64_t key, uint64_t idx, lanes_t *p)
{
	for (unsigned l = 0; l < LANES; l++)
		(*p)[l] = htole64(mix64(key + (idx * LANES + l + 1) * GOLDEN));
}

static void stream_block(uint64_t key, uint64_t idx, uint8_t *dst)
{
	const uint8_t *t = stream_table(key);
	lanes_t p, x;

	stream_pattern(key, idx, &p);

	for (size_t off = 0; off < BLK_SIZE; off += sizeof(x)) {
		memcpy(&x, t + off, sizeof(x));
		x ^= p;
		memcpy(dst + off, &x, sizeof(x));
	}
}

/*
 * Compare buf with stream bytes [off, off + len) without materialising
 * them: one pass over buf and the cache-resident table. Returns the index
 * of the first differing byte, or len.
 */
static size_t stream_cmp(uint64_t key, uint64_t off, const uint8_t *buf, size_t len)
{
	const uint8_t *t = stream_table(key);
	size_t done = 0;

	while (done < len) {
		uint64_t p = off + done;
		size_t bo = p & (BLK_SIZE - 1), k = MIN(len - done, (size_t)(BLK_SIZE - bo)), i = 0;
		const uint8_t *pb, *b = buf + done, *tb = t + bo;
		lanes_t pat;

		stream_pattern(key, p >> BLK_SHIFT, &pat);
		pb = (const uint8_t *)&pat;

		/* Bytewise up to a 64-byte boundary of the block, lanes after. */
		for (; i < k && ((bo + i) % sizeof(lanes_t)); i++)
			if (b[i] != (tb[i] ^ pb[(bo + i) % sizeof(lanes_t)]))
				return done + i;
		for (; i + sizeof(lanes_t) <= k; i += sizeof(lanes_t)) {
			lanes_t x, y;
			uint64_t r = 0;

			memcpy(&x, b + i, sizeof(x));
			memcpy(&y, tb + i, sizeof(y));
			x ^= y ^ pat;
			for (unsigned l = 0; l < LANES; l++)
				r |= x[l];
			if (r)
				break; /* the bytewise tail loop finds the exact byte */
		}
		for (; i < k; i++)
			if (b[i] != (tb[i] ^ pb[(bo + i) % sizeof(lanes_t)]))
				return done + i;
		done += k;
	}
	return len;
}

/* Fill dst with bytes [off, off + len) of the stream with this key. */
static void stream_fill(uint64_t key, uint64_t off, uint8_t *dst, size_t len)
{
	while (len) {
		uint64_t idx = off >> BLK_SHIFT;
		size_t bo = off & (BLK_SIZE - 1), k = MIN(len, (size_t)(BLK_SIZE - bo));

		if (k == BLK_SIZE) {
			stream_block(key, idx, dst);
		} else {
			/* Partial block: rare (range ends), a per-thread scratch is enough. */
			if (!blk_tmp && !(blk_tmp = malloc(BLK_SIZE)))
				abort();
			stream_block(key, idx, blk_tmp);
			memcpy(dst, blk_tmp + bo, k);
		}
		dst += k;
		off += k;
		len -= k;
	}
}

/* ---- per-loop state ------------------------------------------------------ */

struct blk {
	uint64_t key;
	uint64_t idx;
	uint64_t stamp;
	uint8_t *data;
	bool valid;
};

struct stats {
	uint64_t bytes_tx;
	uint64_t bytes_rx;
	uint64_t conns;	      /* finished, any outcome */
	uint64_t ok;	      /* finished without failure */
	uint64_t failed;      /* verification or connection failure */
	uint64_t peer_closed; /* ended by the peer's reset/EOF (server: not a failure) */
	uint64_t died;	      /* server --die-after: reset by us on purpose */
	uint64_t cut;	      /* client --duration: closed by us at the end */
	uint64_t unfinished;  /* still open when the run ended */
	uint64_t reqs;
	uint64_t t_first; /* first connection start, last finish */
	uint64_t t_last;
	uint64_t fail_ns; /* when first_fail happened: the earliest wins across loops */
	char first_fail[448];
	uint64_t corrupt_ns;
	uint64_t corrupt_off;
	char first_stuck[240];
	uint64_t *hist;
	uint64_t lat_max;
};

struct conn;

struct loop {
	int epfd;
	int lfd;	      /* server listener; -1 when not (or no longer) accepting */
	uint64_t accept_wake; /* accepting paused after EMFILE until then */
	struct conn *head;
	uint64_t nconns;
	uint64_t started;
	uint64_t quota_conns; /* client: connections this loop opens (TK_INF = no limit) */
	uint64_t quota_par;
	uint64_t min_wake; /* earliest rate-limit wake among conns; 0 = none */
	bool stopping;	   /* --duration over */
	bool timed_out;
	bool interrupted;
	uint64_t clock;
	struct blk cache[CACHE_ENTRIES];
	uint8_t *rxbuf;
	struct stats st;
	pthread_t th;
};

/* Stream bytes [idx * BLK_SIZE, +BLK_SIZE), from a small LRU cache. */
static const uint8_t *blk_get(struct loop *lp, uint64_t key, uint64_t idx)
{
	struct blk *victim = &lp->cache[0];

	for (int i = 0; i < CACHE_ENTRIES; i++) {
		struct blk *b = &lp->cache[i];

		if (b->valid && b->key == key && b->idx == idx) {
			b->stamp = ++lp->clock;
			return b->data;
		}
		if (!b->valid || b->stamp < victim->stamp)
			victim = b;
	}
	stream_block(key, idx, victim->data);
	victim->key = key;
	victim->idx = idx;
	victim->valid = true;
	victim->stamp = ++lp->clock;
	return victim->data;
}

/* ---- verification -------------------------------------------------------- */

struct verify {
	bool on;
	uint64_t key;
	uint64_t len; /* TK_INF: content only */
	uint64_t off; /* stream bytes seen so far */
	bool alt;     /* alt_key: our own sent stream, to recognise reflected data */
	uint64_t alt_key;
	bool bad;
	bool explained;
	uint64_t bad_off;
	uint8_t win[WIN_LEN]; /* bytes received from bad_off on */
	unsigned win_len;
	char why[240];
};

static void hex8(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	n = MIN(n, 8);
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	if (!n)
		strcpy(out, "-");
}

/*
 * Look for w[0..m) in stream(key) within SEARCH_RADIUS of center; on success
 * store the occurrence closest to center in *pos.
 */
static bool stream_search(uint64_t key, uint64_t center, const uint8_t *w, size_t m, uint64_t *pos)
{
	uint64_t lo = center > SEARCH_RADIUS ? center - SEARCH_RADIUS : 0;
	uint64_t hi = center + SEARCH_RADIUS, best_d = TK_INF;
	size_t n = hi - lo + m;
	uint8_t *buf = malloc(n), *p, *q;

	if (!buf)
		return false;
	stream_fill(key, lo, buf, n);
	for (p = buf; (q = memmem(p, n - (p - buf), w, m)); p = q + 1) {
		uint64_t at = lo + (q - buf), d = at > center ? at - center : center - at;

		if (d < best_d) {
			best_d = d;
			*pos = at;
		}
	}
	free(buf);
	return best_d != TK_INF;
}

/* Misconfigured seeds are the usual cause of "unrelated" data: name it. */
static uint64_t seed_guess(uint64_t off, const uint8_t *w, size_t m)
{
	for (uint64_t s = 0; s < 256; s++)
		if (stream_cmp(stream_key(s), off, w, m) == m)
			return s;
	return TK_INF;
}

/* Turn a detected mismatch into a reason: offset, what happened, got/want bytes. */
static void verify_explain(struct verify *v)
{
	uint64_t x = v->bad_off, y;
	const uint8_t *w = v->win;
	size_t m = v->win_len, i;
	char what[128], got[24], want[24];
	uint8_t exp[WIN_LEN];
	size_t j;

	if (v->explained)
		return;
	v->explained = true;
	stream_fill(v->key, x, exp, sizeof(exp));
	for (i = 0; i < m && !w[i]; i++)
		;
	/* Altered in place: the stream goes on matching at the same offsets. */
	for (j = 1; j + 8 <= m && memcmp(w + j, exp + j, m - j); j++)
		;
	if (m < 8)
		snprintf(what, sizeof(what), "only %zu bytes after it, too few to classify", m);
	else if (i == m)
		snprintf(what, sizeof(what), "zero-filled");
	else if (j + 8 <= m)
		snprintf(what, sizeof(what),
			 "altered in place: %zu byte(s) differ, then the stream matches again", j);
	else if (stream_search(v->key, x, w, m, &y))
		snprintf(what, sizeof(what),
			 y < x ? "duplicated: data repeats stream offset %" PRIu64 " (%" PRIu64
				 " bytes replayed)"
			       : "missing: stream resumes at offset %" PRIu64 " (%" PRIu64
				 " bytes lost)",
			 y, y < x ? x - y : y - x);
	else if (v->alt && stream_search(v->alt_key, x, w, m, &y))
		snprintf(what, sizeof(what),
			 "our own sent data came back (sent offset %" PRIu64 ")", y);
	else if ((y = seed_guess(x, w, m)) != TK_INF)
		snprintf(what, sizeof(what),
			 "this is stream seed=%" PRIu64 " (--seed/--expect-seed mismatch?)", y);
	else
		snprintf(what, sizeof(what), "unrelated data (wrong seed or foreign bytes)");
	hex8(w, m, got);
	hex8(exp, 8, want);
	snprintf(v->why, sizeof(v->why), "corrupt at offset %" PRIu64 ": %s; got %s want %s", x,
		 what, got, want);
}

static void verify_capture(struct verify *v, const uint8_t *p, size_t n)
{
	size_t k = MIN(n, (size_t)(WIN_LEN - v->win_len));

	memcpy(v->win + v->win_len, p, k);
	v->win_len += k;
	if (v->win_len == WIN_LEN)
		verify_explain(v);
}

/* Check the next n received bytes against the expected stream. */
static void verify_feed(struct verify *v, const uint8_t *buf, size_t n)
{
	uint64_t off = v->off;
	size_t cmp = n, done = 0;

	v->off += n;
	if (!v->on)
		return;
	if (v->bad) {
		if (!v->explained)
			verify_capture(v, buf, n);
		return;
	}
	if (v->len != TK_INF && off + n > v->len)
		cmp = off >= v->len ? 0 : v->len - off;
	done = stream_cmp(v->key, off, buf, cmp);
	if (done < cmp) {
		v->bad = true;
		v->bad_off = off + done;
		verify_capture(v, buf + done, n - done);
		return;
	}
	if (cmp < n) {
		v->bad = true;
		v->explained = true;
		v->bad_off = v->len;
		snprintf(v->why, sizeof(v->why),
			 "too long: more than the expected %" PRIu64
			 " bytes (extra data at offset %" PRIu64 ")",
			 v->len, v->len);
	}
}

/* The peer's EOF arrived: the expected length must be complete. */
static void verify_eof(struct verify *v)
{
	if (!v->on || v->bad || v->len == TK_INF || v->off >= v->len)
		return;
	v->bad = true;
	v->explained = true;
	v->bad_off = v->off;
	snprintf(v->why, sizeof(v->why),
		 "short: EOF after %" PRIu64 " of %" PRIu64 " bytes (%" PRIu64
		 " missing at the end)",
		 v->off, v->len, v->len - v->off);
}

/* ---- latency histogram --------------------------------------------------- */

static unsigned hist_idx(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63 - __builtin_clzll(v);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB +
	       (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Middle of a bucket's value range. */
static double hist_val(unsigned idx)
{
	unsigned e, m;

	if (idx < HIST_SUB)
		return idx;
	e = idx / HIST_SUB + HIST_SUB_BITS - 1;
	m = idx % HIST_SUB;
	return (double)((uint64_t)(HIST_SUB + m) << (e - HIST_SUB_BITS)) +
	       (double)(1ull << (e - HIST_SUB_BITS)) / 2;
}

static double hist_pct(const uint64_t *h, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total + 0.999999), sum = 0;

	if (!total)
		return 0;
	want = MAX(want, 1);
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		sum += h[i];
		if (sum >= want)
			return hist_val(i);
	}
	return 0;
}

/* ---- connections --------------------------------------------------------- */

enum conn_end {
	END_DONE, /* both directions finished normally */
	END_PEER, /* the peer reset or closed it first */
	END_DIED, /* --die-after: we reset it */
	END_CUT,  /* --duration over, or the run ended */
};

struct conn {
	struct conn *prev, *next;
	struct loop *lp;
	int fd;
	uint32_t ev; /* registered epoll interest */
	bool registered;
	bool connecting;
	uint64_t id;
	uint64_t t0; /* connection established: base of rate limits */
	char name[64];
	bool failed;
	bool why_verify; /* the first failure is the verifier's: report v.why */
	char why[320];
	/* send side */
	uint64_t tx_len;
	uint64_t tx_off; /* stream bytes (or echoed bytes) sent */
	uint64_t tx_key;
	uint32_t banner_tx; /* banner bytes still to send (server --banner) */
	bool tx_done;	    /* everything sent (and SHUT_WR issued if half-closing) */
	uint64_t tx_wake;
	/* receive side */
	uint32_t banner_rx; /* banner bytes still to receive (client --banner) */
	uint64_t rx_off;
	bool rx_eof;
	uint64_t rx_wake;
	struct verify v;
	/* --echo */
	uint8_t *ebuf;
	uint32_t ehead, etail;
	/* rr */
	uint64_t req_t0;
};

static void fmt_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		snprintf(buf, len, "%s:%u", h, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		snprintf(buf, len, "[%s]:%u", h, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static void conn_fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

static const char *len_str(uint64_t v, char *buf)
{
	if (v == TK_INF)
		return "inf";
	sprintf(buf, "%" PRIu64, v);
	return buf;
}

static void conn_describe(const struct conn *c, char *buf, size_t len)
{
	char l[24];

	snprintf(buf, len, "conn %" PRIu64 " (%s)%s tx=%" PRIu64 "/%s%s rx=%" PRIu64 "%s%s", c->id,
		 c->name, c->connecting ? " connecting" : "", c->tx_off, len_str(c->tx_len, l),
		 c->tx_done ? " done" : "", c->rx_off, c->rx_eof ? " eof" : "",
		 c->banner_rx ? " awaiting-banner" : "");
}

/* Account for a finished connection, close and free it. c is gone afterwards. */
static void conn_finish(struct conn *c, enum conn_end how, uint64_t now)
{
	struct loop *lp = c->lp;
	struct stats *st = &lp->st;

	if (c->v.bad) {
		verify_explain(&c->v);
		if (!c->failed || c->why_verify)
			snprintf(c->why, sizeof(c->why), "%s", c->v.why);
		c->failed = true;
		if (!st->corrupt_ns || now < st->corrupt_ns) {
			st->corrupt_ns = now;
			st->corrupt_off = c->v.bad_off;
		}
	}
	st->conns++;
	st->t_last = now;
	if (c->failed) {
		st->failed++;
		if (!st->fail_ns) {
			st->fail_ns = now;
			snprintf(st->first_fail, sizeof(st->first_fail),
				 "conn %" PRIu64 " (%s): %s", c->id, c->name, c->why);
		}
		unsigned n = atomic_fetch_add(&g_fail_logs, 1);

		if (n < MAX_FAIL_LOGS)
			pr_err("conn %" PRIu64 " (%s): %s", c->id, c->name, c->why);
		else if (n == MAX_FAIL_LOGS)
			pr_err("further connection failures are not logged");
	} else {
		st->ok++;
		if (how == END_PEER)
			st->peer_closed++;
		else if (how == END_DIED)
			st->died++;
		else if (how == END_CUT)
			st->cut++;
	}
	if (o.verbose && !c->failed) {
		char d[200];

		conn_describe(c, d, sizeof(d));
		pr_info("%s: %s", d,
			how == END_DONE	  ? "done"
			: how == END_PEER ? "closed by peer"
			: how == END_DIED ? "reset (die-after)"
					  : "cut");
	}

	if (c->fd >= 0) {
		if (how == END_DIED) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(c->fd);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	lp->nconns--;
	free(c->ebuf);
	free(c);
}

/* Token bucket: bytes allowed now, or 0 and the time when some will be. */
static uint64_t rate_allow(uint64_t rate, uint64_t t0, uint64_t now, uint64_t done, uint64_t *wake)
{
	uint64_t burst = MIN(MAX(rate / 20, 1), 65536);
	unsigned __int128 earned = (unsigned __int128)rate * (now - t0) / NSEC + burst;

	if (earned > done) {
		*wake = 0;
		earned -= done;
		return earned > UINT64_MAX ? UINT64_MAX : (uint64_t)earned;
	}
	/* When rate * elapsed reaches done, another burst is allowed. */
	*wake = t0 + (uint64_t)((unsigned __int128)done * NSEC / rate) + 1;
	return 0;
}

/* Client --banner holds everything back until the banner is in (--expect-banner does not). */
static bool banner_gate(const struct conn *c)
{
	return c->banner_rx && o.banner;
}

/* How far the stream may be sent now, ignoring rate and socket space. */
static uint64_t tx_limit(const struct conn *c)
{
	uint64_t lim = c->tx_len;

	if (o.die_after)
		lim = MIN(lim, o.die_after);
	if (o.mode == MODE_RR) {
		/* One request in flight; after --duration, none is started. */
		if (c->lp->stopping && c->tx_off == c->rx_off)
			return c->tx_off;
		lim = MIN(lim, (c->rx_off / o.size + 1) * o.size);
	}
	return lim;
}

static bool tx_pending(const struct conn *c)
{
	if (c->banner_tx)
		return true;
	if (banner_gate(c) || (o.after_eof && !c->rx_eof))
		return false;
	if (o.echo)
		return c->ehead < c->etail;
	return c->tx_off < tx_limit(c);
}

static bool tx_complete(const struct conn *c)
{
	if (c->banner_tx || banner_gate(c) || (o.after_eof && !c->rx_eof))
		return false;
	if (o.echo)
		return c->rx_eof && c->ehead == c->etail;
	return c->tx_off >= c->tx_len;
}

static bool want_out(struct conn *c, uint64_t now)
{
	c->tx_wake = 0;
	if (c->connecting)
		return true;
	if (c->tx_done || !tx_pending(c))
		return false;
	if (o.rate && !c->banner_tx && !rate_allow(o.rate, c->t0, now, c->tx_off, &c->tx_wake))
		return false;
	return true;
}

static bool want_in(struct conn *c, uint64_t now)
{
	c->rx_wake = 0;
	if (c->connecting || c->rx_eof)
		return false;
	if (c->banner_rx)
		return true;
	if (o.send_first && !c->tx_done)
		return false;
	if (o.echo && c->etail == ECHO_BUF_SIZE && c->ehead == 0)
		return false;
	if (o.read_rate && !rate_allow(o.read_rate, c->t0, now, c->rx_off, &c->rx_wake))
		return false;
	return true;
}

static void conn_update_ev(struct conn *c, uint64_t now)
{
	struct loop *lp = c->lp;
	uint32_t ev = 0;
	struct epoll_event e;

	if (want_in(c, now))
		ev |= EPOLLIN;
	if (want_out(c, now))
		ev |= EPOLLOUT;
	if (c->tx_wake && (!lp->min_wake || c->tx_wake < lp->min_wake))
		lp->min_wake = c->tx_wake;
	if (c->rx_wake && (!lp->min_wake || c->rx_wake < lp->min_wake))
		lp->min_wake = c->rx_wake;
	if (c->registered && ev == c->ev)
		return;
	e.events = ev;
	e.data.ptr = c;
	if (!ev) {
		/* Nothing to wait for but a rate-limit wake: keep EPOLLHUP from spinning. */
		epoll_ctl(lp->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->registered = false;
	} else if (epoll_ctl(lp->epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e)) {
		pr_err("epoll_ctl: %s", strerror(errno));
	} else {
		c->registered = true;
	}
	c->ev = ev;
}

/* The socket failed (reset, refused, ...): decide whether that is a failure. */
static void conn_error(struct conn *c, int err, const char *what, uint64_t now)
{
	char l[24];

	if (o.mode == MODE_CLIENT && o.expect_close) {
		/* Exactly what --expect-close waits for. */
	} else if (o.mode == MODE_SERVER) {
		/* A server only fails a connection whose expected data is incomplete. */
		if (c->v.on && !c->rx_eof && !c->v.bad)
			conn_fail(c, "%s: %s after %" PRIu64 " of %s expected bytes", what,
				  strerror(err), c->rx_off, len_str(c->v.len, l));
	} else {
		conn_fail(c, "%s: %s (sent %" PRIu64 ", received %" PRIu64 ")", what, strerror(err),
			  c->tx_off, c->rx_off);
	}
	conn_finish(c, END_PEER, now);
}

/* After any event: issue SHUT_WR when sending is over, finish when all is. */
static int conn_progress(struct conn *c, uint64_t now)
{
	if (!c->connecting) {
		if (o.mode == MODE_RR && c->lp->stopping && c->tx_off == c->rx_off)
			c->tx_len = c->tx_off; /* no request in flight: end it cleanly */
		if (!c->tx_done && tx_complete(c)) {
			c->tx_done = true;
			if (o.half_close && shutdown(c->fd, SHUT_WR)) {
				conn_error(c, errno, "shutdown", now);
				return 1;
			}
		}
		if (c->tx_done && c->rx_eof) {
			conn_finish(c, END_DONE, now);
			return 1;
		}
	}
	conn_update_ev(c, now);
	return 0;
}

static struct conn *conn_new(struct loop *lp, int fd, uint64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->lp = lp;
	c->fd = fd;
	c->id = atomic_fetch_add(&g_conn_seq, 1) + 1;
	c->t0 = now;
	c->tx_key = stream_key(o.seed);
	c->tx_len = o.send;
	c->v.on = o.expect_set;
	c->v.len = o.expect;
	c->v.key = stream_key(o.expect_seed);
	c->v.alt = o.send > 0;
	c->v.alt_key = c->tx_key;
	if (o.mode == MODE_SERVER) {
		c->banner_tx = o.banner ? BANNER_LEN : 0;
		if (o.echo) {
			c->ebuf = malloc(ECHO_BUF_SIZE);
			if (!c->ebuf) {
				free(c);
				return NULL;
			}
		}
	} else {
		c->banner_rx = o.banner || o.expect_banner ? BANNER_LEN : 0;
	}
	if (o.mode == MODE_RR) {
		/* Requests are consecutive slices of stream(seed); responses echo them. */
		c->tx_len = TK_INF;
		c->v.on = true;
		c->v.len = TK_INF;
		c->v.key = c->tx_key;
		c->v.alt = false;
	}
	c->next = lp->head;
	if (lp->head)
		lp->head->prev = c;
	lp->head = c;
	lp->nconns++;
	if (!lp->st.t_first)
		lp->st.t_first = now;
	return c;
}

/* Keep the first failure as the reported one, even if the verifier explains it later. */
static void conn_note_verify(struct conn *c)
{
	if (c->v.bad && !c->failed) {
		c->failed = true;
		c->why_verify = true;
	}
}

static int conn_read(struct conn *c, uint64_t now)
{
	struct loop *lp = c->lp;
	size_t budget = IO_BUDGET;

	while (budget && !c->rx_eof) {
		uint8_t *buf = lp->rxbuf;
		size_t cap = RXBUF_SIZE;
		ssize_t n;

		if (o.echo) {
			if (c->ehead == c->etail) {
				c->ehead = c->etail = 0;
			} else if (c->etail == ECHO_BUF_SIZE && c->ehead) {
				memmove(c->ebuf, c->ebuf + c->ehead, c->etail - c->ehead);
				c->etail -= c->ehead;
				c->ehead = 0;
			}
			buf = c->ebuf + c->etail;
			cap = ECHO_BUF_SIZE - c->etail;
			if (!cap)
				break;
		}
		if (c->banner_rx) {
			cap = MIN(cap, c->banner_rx);
		} else if (o.read_rate) {
			uint64_t allow =
			    rate_allow(o.read_rate, c->t0, now, c->rx_off, &c->rx_wake);

			if (!allow)
				break;
			cap = MIN(cap, allow);
		}
		n = recv(c->fd, buf, cap, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_error(c, errno, "recv", now);
			return 1;
		}
		if (n == 0) {
			c->rx_eof = true;
			if (c->banner_rx) {
				conn_fail(c, "EOF after %u of %u banner bytes",
					  BANNER_LEN - c->banner_rx, BANNER_LEN);
				conn_finish(c, END_PEER, now);
				return 1;
			}
			if (o.expect_close) {
				conn_finish(c, END_PEER, now);
				return 1;
			}
			verify_eof(&c->v);
			conn_note_verify(c);
			break;
		}
		lp->st.bytes_rx += n;
		budget -= MIN(budget, (size_t)n);
		if (c->banner_rx) {
			const char *want = tk_banner + BANNER_LEN - c->banner_rx;

			if (memcmp(buf, want, n)) {
				char got[24];

				hex8(buf, n, got);
				conn_fail(c, "bad banner: got %s at banner offset %u", got,
					  BANNER_LEN - c->banner_rx);
			}
			c->banner_rx -= n;
			continue;
		}
		verify_feed(&c->v, buf, n);
		conn_note_verify(c);
		if (o.echo)
			c->etail += n;
		c->rx_off += n;
		if (o.mode == MODE_RR && c->rx_off / o.size > (c->rx_off - n) / o.size) {
			uint64_t lat = now_ns() - c->req_t0;

			lp->st.reqs++;
			lp->st.hist[hist_idx(lat)]++;
			lp->st.lat_max = MAX(lp->st.lat_max, lat);
		}
		if ((size_t)n < cap)
			break; /* drained; level-triggered epoll tells us about more */
	}
	return 0;
}

static int conn_write(struct conn *c, uint64_t now)
{
	struct loop *lp = c->lp;
	size_t budget = IO_BUDGET;

	while (budget) {
		struct iovec iov[TX_IOV_MAX];
		struct msghdr mh = {.msg_iov = iov};
		size_t want = 0;
		ssize_t n;

		if (c->banner_tx) {
			iov[0].iov_base = (void *)(tk_banner + BANNER_LEN - c->banner_tx);
			iov[0].iov_len = c->banner_tx;
			mh.msg_iovlen = 1;
			want = c->banner_tx;
		} else if (banner_gate(c) || (o.after_eof && !c->rx_eof)) {
			break;
		} else {
			uint64_t lim = o.echo ? c->tx_off + (c->etail - c->ehead) : tx_limit(c);
			uint64_t left = lim > c->tx_off ? lim - c->tx_off : 0;

			if (!left)
				break;
			if (o.rate) {
				uint64_t allow =
				    rate_allow(o.rate, c->t0, now, c->tx_off, &c->tx_wake);

				if (!allow)
					break;
				left = MIN(left, allow);
			}
			left = MIN(left, (uint64_t)budget);
			if (o.echo) {
				iov[0].iov_base = c->ebuf + c->ehead;
				iov[0].iov_len = left;
				mh.msg_iovlen = 1;
				want = left;
			} else {
				if (o.mode == MODE_RR && c->tx_off == c->rx_off)
					c->req_t0 = now_ns();
				while (left && mh.msg_iovlen < TX_IOV_MAX) {
					uint64_t p = c->tx_off + want;
					size_t bo = p & (BLK_SIZE - 1);
					size_t k = MIN(left, (uint64_t)(BLK_SIZE - bo));

					iov[mh.msg_iovlen].iov_base =
					    (void *)(blk_get(lp, c->tx_key, p >> BLK_SHIFT) + bo);
					iov[mh.msg_iovlen++].iov_len = k;
					want += k;
					left -= k;
				}
			}
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_error(c, errno, "send", now);
			return 1;
		}
		lp->st.bytes_tx += n;
		budget -= MIN(budget, (size_t)n);
		if (c->banner_tx) {
			c->banner_tx -= n;
		} else {
			c->tx_off += n;
			if (o.echo)
				c->ehead += n;
			if (o.die_after && c->tx_off >= o.die_after) {
				conn_finish(c, END_DIED, now);
				return 1;
			}
		}
		if ((size_t)n < want)
			break; /* socket buffer full */
	}
	return 0;
}

static void conn_event(struct conn *c, uint32_t events, uint64_t now)
{
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err == ECONNRESET || err == EPIPE) {
			/* Established, then reset before we looked (e.g. --die-after). */
			c->connecting = false;
			conn_error(c, err, "recv", now);
			return;
		}
		if (err) {
			conn_fail(c, "connect: %s", strerror(err));
			conn_finish(c, END_DONE, now);
			return;
		}
		c->connecting = false;
		c->t0 = now;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (want_in(c, now)) {
			if (conn_read(c, now))
				return;
		} else if (events & EPOLLERR) {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				conn_error(c, err, "socket", now);
				return;
			}
		}
	}
	/*
	 * Write even without EPOLLOUT: a read may have unblocked the send side
	 * (echo data, the next rr request, --after-eof) and the socket is
	 * usually writable; EAGAIN costs one syscall, a round trip through
	 * epoll costs more latency.
	 */
	if (want_out(c, now) && conn_write(c, now))
		return;
	conn_progress(c, now);
}

/* ---- loops --------------------------------------------------------------- */

static void loop_start_conns(struct loop *lp, uint64_t now)
{
	while (!lp->stopping && lp->nconns < lp->quota_par && lp->started < lp->quota_conns) {
		int fd = socket(o.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct conn *c = conn_new(lp, fd, now);
		int one = 1;

		lp->started++;
		if (!c) {
			pr_err("out of memory");
			if (fd >= 0)
				close(fd);
			lp->quota_conns = lp->started;
			return;
		}
		snprintf(c->name, sizeof(c->name), "-");
		if (fd < 0) {
			conn_fail(c, "socket: %s", strerror(errno));
			conn_finish(c, END_DONE, now);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&o.ss, o.sslen) && errno != EINPROGRESS) {
			conn_fail(c, "connect: %s", strerror(errno));
			conn_finish(c, END_DONE, now);
			continue;
		}
		{
			struct sockaddr_storage la;
			socklen_t ll = sizeof(la);

			if (!getsockname(fd, (struct sockaddr *)&la, &ll))
				fmt_addr((struct sockaddr *)&la, c->name, sizeof(c->name));
		}
		c->connecting = true;
		conn_update_ev(c, now);
	}
}

static void loop_listen_stop(struct loop *lp)
{
	if (lp->lfd < 0)
		return;
	close(lp->lfd);
	lp->lfd = -1;
}

static void loop_accept(struct loop *lp, uint64_t now)
{
	for (int i = 0; i < 64 && lp->lfd >= 0; i++) {
		struct sockaddr_storage pa;
		socklen_t pl = sizeof(pa);
		int fd =
		    accept4(lp->lfd, (struct sockaddr *)&pa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		uint64_t n;
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				pr_err("accept: %s (pausing 50 ms)", strerror(errno));
				epoll_ctl(lp->epfd, EPOLL_CTL_DEL, lp->lfd, NULL);
				lp->accept_wake = now + NSEC / 20;
			} else if (errno != EAGAIN) {
				pr_err("accept: %s", strerror(errno));
			}
			return;
		}
		n = atomic_fetch_add(&g_accepted, 1) + 1;
		if (o.max_conns && n > o.max_conns) {
			/* Another thread took the last slot. */
			close(fd);
			loop_listen_stop(lp);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = conn_new(lp, fd, now);
		if (!c) {
			pr_err("out of memory");
			close(fd);
			continue;
		}
		fmt_addr((struct sockaddr *)&pa, c->name, sizeof(c->name));
		conn_progress(c, now);
		if (o.max_conns && n >= o.max_conns)
			loop_listen_stop(lp);
	}
}

/* Rate-limit wakes: re-arm every connection whose time has come. */
static void loop_wake(struct loop *lp, uint64_t now)
{
	struct conn *c, *next;

	lp->min_wake = 0;
	for (c = lp->head; c; c = next) {
		next = c->next;
		if ((c->tx_wake && c->tx_wake <= now) || (c->rx_wake && c->rx_wake <= now)) {
			/* The socket may hold data already, try right away. */
			conn_event(c, EPOLLIN, now);
		} else {
			if (c->tx_wake && (!lp->min_wake || c->tx_wake < lp->min_wake))
				lp->min_wake = c->tx_wake;
			if (c->rx_wake && (!lp->min_wake || c->rx_wake < lp->min_wake))
				lp->min_wake = c->rx_wake;
		}
	}
}

/* --duration is over: bulk connections are cut, rr ones finish their request. */
static void loop_stop(struct loop *lp, uint64_t now)
{
	struct conn *c, *next;

	lp->stopping = true;
	for (c = lp->head; c; c = next) {
		next = c->next;
		if (o.mode == MODE_RR && !c->connecting)
			conn_progress(c, now);
		else
			conn_finish(c, END_CUT, now);
	}
}

static void *loop_main(void *arg)
{
	struct loop *lp = arg;
	struct epoll_event evs[256];

	for (;;) {
		uint64_t now = now_ns(), wake = now + NSEC / 10;
		int n, ms;

		if (g_signal) {
			lp->interrupted = true;
			break;
		}
		if (g_deadline && now >= g_deadline) {
			lp->timed_out = true;
			break;
		}
		if (o.mode == MODE_SERVER) {
			if (o.max_conns && atomic_load(&g_accepted) >= o.max_conns)
				loop_listen_stop(lp);
			if (lp->lfd < 0 && !lp->nconns)
				break;
			if (lp->accept_wake && now >= lp->accept_wake) {
				struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};

				lp->accept_wake = 0;
				if (lp->lfd >= 0)
					epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->lfd, &e);
			}
			if (lp->accept_wake)
				wake = MIN(wake, lp->accept_wake);
		} else {
			if (g_dur_end && now >= g_dur_end && !lp->stopping)
				loop_stop(lp, now);
			loop_start_conns(lp, now);
			if (!lp->nconns && (lp->stopping || lp->started >= lp->quota_conns))
				break;
			if (g_dur_end && !lp->stopping)
				wake = MIN(wake, g_dur_end);
		}
		if (lp->min_wake && lp->min_wake <= now)
			loop_wake(lp, now);
		if (lp->min_wake)
			wake = MIN(wake, lp->min_wake);
		if (g_deadline)
			wake = MIN(wake, g_deadline);
		ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		n = epoll_wait(lp->epfd, evs, sizeof(evs) / sizeof(evs[0]), ms);
		if (n < 0 && errno != EINTR) {
			pr_err("epoll_wait: %s", strerror(errno));
			break;
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				loop_accept(lp, now);
			else
				conn_event(evs[i].data.ptr, evs[i].events, now);
		}
	}

	/* Whatever is still open did not finish: describe the first, drop all. */
	while (lp->head) {
		struct conn *c = lp->head;

		if (!lp->st.first_stuck[0])
			conn_describe(c, lp->st.first_stuck, sizeof(lp->st.first_stuck));
		lp->st.unfinished++;
		lp->head = c->next;
		if (c->fd >= 0)
			close(c->fd);
		free(c->ebuf);
		free(c);
	}
	lp->nconns = 0;
	loop_listen_stop(lp);
	stream_thread_free();
	return NULL;
}

static int loop_init(struct loop *lp)
{
	uint8_t *mem;

	lp->lfd = -1;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0)
		return -errno;
	mem = malloc((size_t)CACHE_ENTRIES * BLK_SIZE);
	lp->rxbuf = malloc(RXBUF_SIZE);
	lp->st.hist = calloc(HIST_BUCKETS, sizeof(uint64_t));
	if (!mem || !lp->rxbuf || !lp->st.hist)
		return -ENOMEM;
	for (int i = 0; i < CACHE_ENTRIES; i++)
		lp->cache[i].data = mem + (size_t)i * BLK_SIZE;
	return 0;
}

static void loop_free(struct loop *lp)
{
	if (lp->epfd >= 0)
		close(lp->epfd);
	free(lp->cache[0].data);
	free(lp->rxbuf);
	free(lp->st.hist);
}

static int listen_open(struct sockaddr_storage *ss, socklen_t len, bool reuseport)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	/* "[::]:p" means IPv6 only, so v4 and v6 listeners on one port can coexist. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, len) || listen(fd, LISTEN_BACKLOG)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Lift the soft descriptor limit to the hard one; if `need` (clients: one per
 * parallel connection) is more than that, try raising the hard limit too
 * (root can).
 */
static void raise_nofile(uint64_t need, bool warn)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	need += 64;
	if (rl.rlim_max < need) {
		struct rlimit want = {.rlim_cur = need, .rlim_max = need};

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (warn && rl.rlim_cur < need)
		pr_err("warning: RLIMIT_NOFILE is %llu, %llu descriptors wanted",
		       (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

static void on_signal(int sig)
{
	(void)sig;
	g_signal = 1;
}

static void stats_merge(struct stats *d, const struct stats *s)
{
	d->bytes_tx += s->bytes_tx;
	d->bytes_rx += s->bytes_rx;
	d->conns += s->conns;
	d->ok += s->ok;
	d->failed += s->failed;
	d->peer_closed += s->peer_closed;
	d->died += s->died;
	d->cut += s->cut;
	d->unfinished += s->unfinished;
	d->reqs += s->reqs;
	d->lat_max = MAX(d->lat_max, s->lat_max);
	if (s->t_first && (!d->t_first || s->t_first < d->t_first))
		d->t_first = s->t_first;
	d->t_last = MAX(d->t_last, s->t_last);
	if (s->fail_ns && (!d->fail_ns || s->fail_ns < d->fail_ns)) {
		d->fail_ns = s->fail_ns;
		memcpy(d->first_fail, s->first_fail, sizeof(d->first_fail));
	}
	if (s->corrupt_ns && (!d->corrupt_ns || s->corrupt_ns < d->corrupt_ns)) {
		d->corrupt_ns = s->corrupt_ns;
		d->corrupt_off = s->corrupt_off;
	}
	if (!d->first_stuck[0])
		memcpy(d->first_stuck, s->first_stuck, sizeof(d->first_stuck));
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		d->hist[i] += s->hist[i];
}

static uint64_t split(uint64_t total, unsigned parts, unsigned i)
{
	if (total == TK_INF)
		return TK_INF;
	return total / parts + (i < total % parts);
}

static int run_net(void)
{
	struct loop *loops = calloc(o.threads, sizeof(*loops));
	struct stats s = {0};
	bool timed_out = false, interrupted = false;
	const char *word;
	uint64_t t0, t1;
	double secs;
	int rc = TK_EXIT_OK;
	struct sigaction sa = {.sa_handler = on_signal};

	s.hist = calloc(HIST_BUCKETS, sizeof(uint64_t));
	if (!loops || !s.hist) {
		pr_err("out of memory");
		return TK_EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o.mode == MODE_SERVER)
		raise_nofile(0, false);
	else
		raise_nofile(o.parallel, true);

	for (unsigned i = 0; i < o.threads; i++) {
		struct loop *lp = &loops[i];
		int err = loop_init(lp);

		if (err) {
			pr_err("loop setup: %s", strerror(-err));
			return TK_EXIT_FAIL;
		}
		if (o.mode == MODE_SERVER) {
			struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
			char a[64];

			lp->lfd = listen_open(&o.ss, o.sslen, o.threads > 1);
			if (lp->lfd < 0) {
				pr_err("listen %s: %s", o.addr, strerror(-lp->lfd));
				return TK_EXIT_FAIL;
			}
			/* Port 0: every further SO_REUSEPORT listener takes the chosen port. */
			getsockname(lp->lfd, (struct sockaddr *)&o.ss, &o.sslen);
			epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->lfd, &e);
			fmt_addr((struct sockaddr *)&o.ss, a, sizeof(a));
			if (i == 0)
				pr_info("listening on %s", a);
		} else {
			lp->quota_conns = split(o.conns ? o.conns : TK_INF, o.threads, i);
			lp->quota_par = MAX(split(o.parallel, o.threads, i), 1);
		}
	}

	t0 = now_ns();
	if (o.timeout > 0)
		g_deadline = t0 + (uint64_t)(o.timeout * NSEC);
	if (o.duration > 0)
		g_dur_end = t0 + (uint64_t)(o.duration * NSEC);
	for (unsigned i = 1; i < o.threads; i++) {
		if (pthread_create(&loops[i].th, NULL, loop_main, &loops[i])) {
			pr_err("pthread_create failed");
			return TK_EXIT_FAIL;
		}
	}
	loop_main(&loops[0]);
	for (unsigned i = 1; i < o.threads; i++)
		pthread_join(loops[i].th, NULL);
	t1 = now_ns();

	for (unsigned i = 0; i < o.threads; i++) {
		stats_merge(&s, &loops[i].st);
		timed_out |= loops[i].timed_out;
		interrupted |= loops[i].interrupted;
		loop_free(&loops[i]);
	}
	free(loops);

	if (o.mode == MODE_SERVER)
		secs = s.t_first ? (double)(MAX(s.t_last, s.t_first) - s.t_first) / NSEC : 0;
	else
		secs = (double)(t1 - t0) / NSEC;

	if (s.failed) {
		word = "FAIL";
		rc = TK_EXIT_FAIL;
	} else if (timed_out) {
		word = "TIMEOUT";
		rc = TK_EXIT_TIMEOUT;
	} else if (interrupted && o.mode != MODE_SERVER) {
		word = "INTERRUPTED";
		rc = TK_EXIT_FAIL;
	} else {
		word = "ok";
	}

	if (o.mode == MODE_RR) {
		printf("%s reqs=%" PRIu64 " req/s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
		       "max_us=%.1f conns=%" PRIu64 " secs=%.3f",
		       word, s.reqs, secs > 0 ? (double)s.reqs / secs : 0,
		       hist_pct(s.hist, s.reqs, 0.50) / 1e3, hist_pct(s.hist, s.reqs, 0.99) / 1e3,
		       hist_pct(s.hist, s.reqs, 0.999) / 1e3, (double)s.lat_max / 1e3, s.conns,
		       secs);
		if (s.failed)
			printf(" failed=%" PRIu64, s.failed);
	} else {
		printf("%s conns=%" PRIu64 " bytes_sent=%" PRIu64 " bytes_recv=%" PRIu64
		       " secs=%.3f MiB/s=%.1f ok=%" PRIu64 " failed=%" PRIu64
		       " peer_closed=%" PRIu64,
		       word, s.conns, s.bytes_tx, s.bytes_rx, secs,
		       secs > 0 ? (double)(s.bytes_tx + s.bytes_rx) / secs / (1 << 20) : 0, s.ok,
		       s.failed, s.peer_closed);
		if (o.mode == MODE_SERVER)
			printf(" died=%" PRIu64, s.died);
		else
			printf(" cut=%" PRIu64, s.cut);
		printf(" unfinished=%" PRIu64, s.unfinished);
	}
	if (s.corrupt_ns)
		printf(" first_corrupt_offset=%" PRIu64, s.corrupt_off);
	if (s.fail_ns)
		printf(" first_fail=\"%s\"", s.first_fail);
	if (rc == TK_EXIT_TIMEOUT && s.first_stuck[0])
		printf(" first_stuck=\"%s\"", s.first_stuck);
	printf("\n");
	fflush(stdout);
	free(s.hist);
	return rc;
}

/* ---- gen / sum / verify -------------------------------------------------- */

static bool g_gen_mode;

static void on_alarm(int sig)
{
	static const char msg[] = "TIMEOUT\n";

	(void)sig;
	/* gen's stdout is the stream itself. */
	if (write(g_gen_mode ? 2 : 1, msg, sizeof(msg) - 1) < 0)
		_exit(TK_EXIT_TIMEOUT);
	_exit(TK_EXIT_TIMEOUT);
}

static void sha_hex(EVP_MD_CTX *md, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(md, d, &n);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int run_stream(void)
{
	const size_t bufsz = 1u << 20;
	uint8_t *buf = malloc(bufsz);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t key = stream_key(o.seed), off = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	int rc = TK_EXIT_OK;

	if (!buf || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		pr_err("setup failed");
		return TK_EXIT_FAIL;
	}
	g_gen_mode = o.mode == MODE_GEN;
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	if (o.timeout > 0)
		alarm((unsigned)(o.timeout + 0.999));

	if (o.mode == MODE_GEN || o.mode == MODE_SUM) {
		while (off < o.bytes) {
			size_t n = (size_t)MIN((uint64_t)bufsz, o.bytes - off), w = 0;

			stream_fill(key, off, buf, n);
			off += n;
			if (o.mode == MODE_SUM) {
				EVP_DigestUpdate(md, buf, n);
				continue;
			}
			while (w < n) {
				ssize_t k = write(1, buf + w, n - w);

				if (k < 0 && errno == EINTR)
					continue;
				if (k < 0) {
					pr_err("write: %s", strerror(errno));
					return TK_EXIT_FAIL;
				}
				w += k;
			}
		}
		if (o.mode == MODE_SUM) {
			sha_hex(md, hex);
			printf("sha256=%s bytes=%" PRIu64 " seed=%" PRIu64 "\n", hex, o.bytes,
			       o.seed);
		}
	} else {
		struct verify v = {
		    .on = true,
		    .key = key,
		    .len = o.bytes,
		};

		for (;;) {
			ssize_t n = read(0, buf, bufsz);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				pr_err("read: %s", strerror(errno));
				return TK_EXIT_FAIL;
			}
			if (!n)
				break;
			EVP_DigestUpdate(md, buf, n);
			verify_feed(&v, buf, n);
		}
		verify_eof(&v);
		sha_hex(md, hex);
		if (v.bad) {
			verify_explain(&v);
			printf("FAIL bytes=%" PRIu64 " expected=%" PRIu64
			       " first_diff_offset=%" PRIu64 " sha256=%s reason=\"%s\"\n",
			       v.off, o.bytes, v.bad_off, hex, v.why);
			rc = TK_EXIT_FAIL;
		} else {
			printf("ok bytes=%" PRIu64 " sha256=%s\n", v.off, hex);
		}
	}
	EVP_MD_CTX_free(md);
	free(buf);
	stream_thread_free();
	return rc;
}

/* ---- command line -------------------------------------------------------- */

/* "123", "64K", "1G", "10M/s"; "1.5M" is not accepted. "inf" if allowed. */
static int parse_size(const char *s, uint64_t *out, bool allow_inf)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (allow_inf && !strcmp(s, "inf")) {
		*out = TK_INF;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	/* Decimal, or hex with 0x (seeds): a leading 0 must not mean octal. */
	v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (!strcmp(end, "/s"))
		end += 2;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0) || v > 1e7)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Numeric "a.b.c.d:port" or "[v6]:port". */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM},
			*ai;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *e;
	size_t hl;

	if (*s == '[') {
		e = strchr(s, ']');
		if (!e || e[1] != ':')
			return -EINVAL;
		hl = e - s - 1;
		s++;
		port = e + 2;
	} else {
		e = strchr(s, ':');
		if (!e || strchr(e + 1, ':'))
			return -EINVAL;
		hl = e - s;
		port = e + 1;
	}
	if (!hl || hl >= sizeof(host) || !*port)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

enum {
	OPT_SEND = 256,
	OPT_SEED,
	OPT_EXPECT,
	OPT_EXPECT_SEED,
	OPT_AFTER_EOF,
	OPT_DIE_AFTER,
	OPT_MAX_CONNS,
	OPT_RATE,
	OPT_READ_RATE,
	OPT_BANNER,
	OPT_EXPECT_BANNER,
	OPT_ECHO,
	OPT_EXPECT_CLOSE,
	OPT_CONNS,
	OPT_PARALLEL,
	OPT_HALF_CLOSE,
	OPT_NO_HALF_CLOSE,
	OPT_DURATION,
	OPT_SEND_FIRST,
	OPT_SIZE,
	OPT_BYTES,
	OPT_TIMEOUT,
	OPT_THREADS,
};

static const struct option long_opts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"connect", required_argument, NULL, 'c'},
    {"send", required_argument, NULL, OPT_SEND},
    {"seed", required_argument, NULL, OPT_SEED},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"expect-seed", required_argument, NULL, OPT_EXPECT_SEED},
    {"after-eof", no_argument, NULL, OPT_AFTER_EOF},
    {"die-after", required_argument, NULL, OPT_DIE_AFTER},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"read-rate", required_argument, NULL, OPT_READ_RATE},
    {"banner", no_argument, NULL, OPT_BANNER},
    {"expect-banner", no_argument, NULL, OPT_EXPECT_BANNER},
    {"echo", no_argument, NULL, OPT_ECHO},
    {"expect-close", no_argument, NULL, OPT_EXPECT_CLOSE},
    {"conns", required_argument, NULL, OPT_CONNS},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"half-close", no_argument, NULL, OPT_HALF_CLOSE},
    {"no-half-close", no_argument, NULL, OPT_NO_HALF_CLOSE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"send-first", no_argument, NULL, OPT_SEND_FIRST},
    {"size", required_argument, NULL, OPT_SIZE},
    {"bytes", required_argument, NULL, OPT_BYTES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int opt)
{
	static char buf[3];

	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == opt)
			return lo->name;
	snprintf(buf, sizeof(buf), "%c", opt);
	return buf;
}

/* Which commands accept each option. */
static unsigned opt_modes(int opt)
{
	switch (opt) {
	case 'l':
	case OPT_AFTER_EOF:
	case OPT_DIE_AFTER:
	case OPT_MAX_CONNS:
	case OPT_ECHO:
		return MODE_SERVER;
	case 'c':
	case OPT_CONNS:
	case OPT_DURATION:
		return MODE_CLIENT | MODE_RR;
	case OPT_SEND:
	case OPT_EXPECT:
	case OPT_EXPECT_SEED:
	case OPT_RATE:
	case OPT_READ_RATE:
	case OPT_BANNER:
		return MODE_SERVER | MODE_CLIENT;
	case OPT_EXPECT_CLOSE:
	case OPT_EXPECT_BANNER:
	case OPT_PARALLEL:
	case OPT_HALF_CLOSE:
	case OPT_NO_HALF_CLOSE:
	case OPT_SEND_FIRST:
		return MODE_CLIENT;
	case OPT_SIZE:
		return MODE_RR;
	case OPT_BYTES:
		return MODE_STREAM;
	case OPT_THREADS:
		return MODE_NET;
	default:
		return MODE_ALL;
	}
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tcpkit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (tcpkit -h for help)\n");
	return TK_EXIT_USAGE;
}

static int parse_args(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum tk_mode mode;
	} cmds[] = {
	    {"server", MODE_SERVER}, {"client", MODE_CLIENT}, {"rr", MODE_RR},
	    {"gen", MODE_GEN},	     {"sum", MODE_SUM},	      {"verify", MODE_VERIFY},
	};
	const char *cmd = argc > 1 ? argv[1] : "";
	uint64_t v;
	int c;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		exit(TK_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			o.mode = cmds[i].mode;
	if (!o.mode)
		return usage_error("expected a command: server, client, rr, gen, sum or verify");

	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "l:c:vh", long_opts, NULL)) != -1) {
		const char *arg = optarg;
		int err = 0;

		if (c == '?')
			return usage_error("bad option");
		if (!(opt_modes(c) & o.mode)) {
			return usage_error("option --%s is not valid for '%s'", opt_name(c), cmd);
		}
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			exit(TK_EXIT_OK);
		case 'v':
			o.verbose = true;
			break;
		case 'l':
		case 'c':
			o.addr = arg;
			err = parse_addr(arg, &o.ss, &o.sslen);
			break;
		case OPT_SEND:
			err = parse_size(arg, &o.send, true);
			o.send_set = true;
			break;
		case OPT_SEED:
			err = parse_size(arg, &o.seed, false);
			break;
		case OPT_EXPECT:
			err = parse_size(arg, &o.expect, true);
			o.expect_set = true;
			break;
		case OPT_EXPECT_SEED:
			err = parse_size(arg, &o.expect_seed, false);
			o.expect_seed_set = true;
			break;
		case OPT_AFTER_EOF:
			o.after_eof = true;
			break;
		case OPT_DIE_AFTER:
			err = parse_size(arg, &o.die_after, false);
			if (!err && !o.die_after)
				err = -EINVAL;
			break;
		case OPT_MAX_CONNS:
			err = parse_size(arg, &o.max_conns, false);
			break;
		case OPT_RATE:
			err = parse_size(arg, &o.rate, false);
			break;
		case OPT_READ_RATE:
			err = parse_size(arg, &o.read_rate, false);
			break;
		case OPT_BANNER:
			o.banner = true;
			break;
		case OPT_ECHO:
			o.echo = true;
			break;
		case OPT_EXPECT_BANNER:
			o.expect_banner = true;
			break;
		case OPT_EXPECT_CLOSE:
			o.expect_close = true;
			break;
		case OPT_CONNS:
			err = parse_size(arg, &o.conns, false);
			break;
		case OPT_PARALLEL:
			err = parse_size(arg, &o.parallel, false);
			if (!err && !o.parallel)
				err = -EINVAL;
			o.parallel_set = true;
			break;
		case OPT_HALF_CLOSE:
			o.half_close = true;
			break;
		case OPT_NO_HALF_CLOSE:
			o.half_close = false;
			break;
		case OPT_DURATION:
			err = parse_secs(arg, &o.duration);
			break;
		case OPT_SEND_FIRST:
			o.send_first = true;
			break;
		case OPT_SIZE:
			err = parse_size(arg, &o.size, false);
			if (!err && !o.size)
				err = -EINVAL;
			break;
		case OPT_BYTES:
			err = parse_size(arg, &o.bytes, false);
			o.bytes_set = true;
			break;
		case OPT_TIMEOUT:
			err = parse_secs(arg, &o.timeout);
			o.timeout_set = true;
			break;
		case OPT_THREADS:
			err = parse_size(arg, &v, false);
			if (!err && (v < 1 || v > 256))
				err = -EINVAL;
			o.threads = (unsigned)v;
			break;
		}
		if (err)
			return usage_error("bad value for --%s: '%s'", opt_name(c), arg);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	if (!o.expect_seed_set)
		o.expect_seed = o.seed;
	if (o.mode == MODE_SERVER && !o.addr)
		return usage_error("server needs -l ADDR:PORT");
	if ((o.mode & (MODE_CLIENT | MODE_RR)) && !o.addr)
		return usage_error("%s needs -c ADDR:PORT", cmd);
	if ((o.mode & MODE_STREAM) && !o.bytes_set)
		return usage_error("%s needs --bytes", cmd);
	if (o.echo && (o.send_set || o.die_after || o.after_eof))
		return usage_error("--echo excludes --send, --die-after and --after-eof");
	if (o.die_after && !o.send_set)
		o.send = TK_INF;
	if ((o.mode & (MODE_CLIENT | MODE_RR)) && !o.conns && !o.duration)
		return usage_error("--conns 0 needs --duration");
	if (o.mode == MODE_RR && !o.duration)
		o.duration = 5;
	if (!o.parallel_set)
		o.parallel = o.conns ? o.conns : 1;
	if (o.conns && o.parallel > o.conns)
		o.parallel = o.conns;
	if (!o.timeout_set && o.duration + 10 > o.timeout)
		o.timeout = o.duration + 10;
	return 0;
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);

	if (rc)
		return rc;
	if (o.mode & MODE_STREAM)
		return run_stream();
	return run_net();
}
