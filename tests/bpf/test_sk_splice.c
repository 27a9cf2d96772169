// SPDX-License-Identifier: BSD-2-Clause
/*
 * sk_splice.bpf.c through user/bpfctl, with real TCP sockets on loopback:
 * sk_skb programs have no BPF_PROG_TEST_RUN (KERNEL-NOTES sockmap 12).
 *
 * Topology per test: two connected pairs (a1<->a2) and (b1<->b2). a2 and
 * b1 are the proxy's sockets and go into the sockhash as one spliced pair,
 * so bytes written on a1 should come out of b2 and the other way round.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpfctl/splice.h"
#include "util/log.h"

struct fixture {
	struct splice_ctl *ctl;
	int lfd;
	int a1, a2, b1, b2;
};

/* A connected loopback TCP pair (client, accepted). */
static void tcp_pair(int lfd, int *c, int *s)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);

	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &l), 0);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*c >= 0);
	assert_int_equal(connect(*c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*s = accept(lfd, NULL, NULL);
	assert_true(*s >= 0);
}

static int setup(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ctl = splice_ctl_open(64, NULL);
	if (!f->ctl) {
		free(f);
		return -1;
	}
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 8))
		return -1;
	tcp_pair(f->lfd, &f->a1, &f->a2);
	tcp_pair(f->lfd, &f->b1, &f->b2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->a1);
	close(f->a2);
	close(f->b1);
	close(f->b2);
	close(f->lfd);
	splice_ctl_close(f->ctl);
	free(f);
	return 0;
}

/* Read exactly n bytes within 2 s; returns bytes read. */
static size_t read_n(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			break;
		r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r <= 0) {
			if (r < 0 && errno == EAGAIN)
				continue;
			break;
		}
		got += (size_t)r;
	}
	return got;
}

/* Nothing readable on fd within ms. */
static int quiet(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 0;
}

struct evlog {
	int n;
	struct splice_event ev[16];
};

static int ev_collect(void *arg, const struct splice_event *ev)
{
	struct evlog *log = arg;

	if (log->n < 16)
		log->ev[log->n++] = *ev;
	return 0;
}

static int has_event(struct evlog *log, uint32_t slot, uint32_t kind)
{
	for (int i = 0; i < log->n; i++)
		if (log->ev[i].slot == slot && log->ev[i].kind == kind)
			return 1;
	return 0;
}

/* While the hold token is held, every byte is passed and counted pending. */
static void test_held_pair_passes(void **state)
{
	struct fixture *f = *state;
	struct splice_dir *d;
	char buf[64];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 0, f->a2, f->b1, 1 << 20), 0);
	assert_int_equal(splice_ctl_count_socks(f->ctl), 2);
	d = splice_ctl_dir(f->ctl, 0);
	assert_true(d->flags & SPLICE_F_ARMED);
	assert_int_equal(d->peer, 1);

	assert_int_equal(send(f->a1, "hello", 5, 0), 5);
	/* recv() on the inserted socket runs the verdict over queued data. */
	assert_int_equal(read_n(f->a2, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(splice_load(&d->pass_bytes), 5);
	assert_int_equal(splice_load(&d->fwd_bytes), 0);
	assert_int_equal(splice_load(&d->pending), 1 + 5);
	assert_true(quiet(f->b2, 100));
}

/* Released token: bytes are redirected a1 -> b2 and b2 -> a1. */
static void test_redirect_both_ways(void **state)
{
	struct fixture *f = *state;
	struct splice_dir *d0, *d1;
	uint64_t st[SPLICE_STAT_MAX];
	char buf[16];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 2, f->a2, f->b1, 1 << 20), 0);
	d0 = splice_ctl_dir(f->ctl, 2);
	d1 = splice_ctl_dir(f->ctl, 3);
	assert_int_equal(splice_pending_sub(d0, 1), 0);
	assert_int_equal(splice_pending_sub(d1, 1), 0);

	assert_int_equal(send(f->a1, "ping", 4, 0), 4);
	assert_int_equal(read_n(f->b2, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(send(f->b2, "pong!", 5, 0), 5);
	assert_int_equal(read_n(f->a1, buf, 5), 5);
	assert_memory_equal(buf, "pong!", 5);

	assert_int_equal(splice_load(&d0->fwd_bytes), 4);
	assert_int_equal(splice_load(&d1->fwd_bytes), 5);
	assert_int_equal(splice_load(&d0->pass_bytes), 0);
	assert_int_equal(splice_ctl_stats(f->ctl, st), 0);
	assert_true(st[SPLICE_STAT_REDIRECT] >= 2);
	assert_true(st[SPLICE_STAT_REDIRECT_BYTES] >= 9);
}

/* Credit exhausted: the skb is passed and one SPLICE_EV_PASS is raised. */
static void test_credit_exhaustion_passes(void **state)
{
	struct fixture *f = *state;
	struct evlog log = { 0 };
	struct splice_dir *d;
	char buf[256];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(splice_ctl_add_pair(f->ctl, 4, f->a2, f->b1, 100), 0);
	d = splice_ctl_dir(f->ctl, 4);
	splice_pending_sub(d, 1);
	splice_pending_sub(splice_ctl_dir(f->ctl, 5), 1);

	assert_int_equal(send(f->a1, buf, 80, 0), 80);	/* fits the 100-byte credit */
	assert_int_equal(read_n(f->b2, buf, 80), 80);
	assert_int_equal(send(f->a1, buf, 50, 0), 50);	/* 130 > 100: passed */
	assert_int_equal(read_n(f->a2, buf, 50), 50);
	assert_true(quiet(f->b2, 100));
	assert_int_equal(splice_load(&d->fwd_bytes), 80);
	assert_int_equal(splice_load(&d->pass_bytes), 50);
	assert_int_equal(splice_load(&d->pending), 50);

	assert_int_equal(splice_ctl_events_drain(f->ctl, ev_collect, &log), 0);
	assert_true(has_event(&log, 4, SPLICE_EV_PASS));
	/* notify_at = credit/2 = 50 was crossed by the first 80 bytes. */
	assert_true(has_event(&log, 4, SPLICE_EV_CREDIT));
}

/* Passed bytes still pending block redirects even with credit left. */
static void test_pending_blocks_redirect(void **state)
{
	struct fixture *f = *state;
	struct splice_dir *d;
	char buf[16];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 6, f->a2, f->b1, 1 << 20), 0);
	d = splice_ctl_dir(f->ctl, 6);
	/* Keep the hold token: "abc" is passed. */
	assert_int_equal(send(f->a1, "abc", 3, 0), 3);
	assert_int_equal(read_n(f->a2, buf, 3), 3);
	/* Userspace writes it on and gives back token + 3 bytes. */
	assert_int_equal(send(f->b1, buf, 3, 0), 3);
	assert_int_equal(splice_pending_sub(d, 4), 0);
	assert_int_equal(send(f->a1, "def", 3, 0), 3);
	assert_int_equal(read_n(f->b2, buf, 6), 6);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(splice_load(&d->fwd_bytes), 3);
}

/* The zero-length FIN skb is dropped, not redirected: recv() sees EOF. */
static void test_fin_dropped(void **state)
{
	struct fixture *f = *state;
	uint64_t before[SPLICE_STAT_MAX], after[SPLICE_STAT_MAX];
	char buf[8];
	struct pollfd p;

	assert_int_equal(splice_ctl_stats(f->ctl, before), 0);
	assert_int_equal(splice_ctl_add_pair(f->ctl, 8, f->a2, f->b1, 1 << 20), 0);
	splice_pending_sub(splice_ctl_dir(f->ctl, 8), 1);
	splice_pending_sub(splice_ctl_dir(f->ctl, 9), 1);
	assert_int_equal(shutdown(f->a1, SHUT_WR), 0);

	p = (struct pollfd){ .fd = f->a2, .events = POLLRDHUP };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_true(p.revents & POLLRDHUP);
	assert_int_equal(recv(f->a2, buf, sizeof(buf), MSG_DONTWAIT), 0);
	assert_true(quiet(f->b2, 100));	/* b2 got neither data nor FIN */
	assert_int_equal(splice_ctl_stats(f->ctl, after), 0);
	assert_true(after[SPLICE_STAT_DROP_FIN] > before[SPLICE_STAT_DROP_FIN]);
}

/* Removal cleans the sockhash; re-adding the same slots works. */
static void test_del_pair(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(splice_ctl_add_pair(f->ctl, 10, f->a2, f->b1, 1 << 20), 0);
	assert_int_equal(splice_ctl_count_socks(f->ctl), 2);
	splice_ctl_del_pair(f->ctl, 10);
	assert_int_equal(splice_ctl_count_socks(f->ctl), 0);
	splice_ctl_del_pair(f->ctl, 10);	/* idempotent */
	assert_int_equal(splice_ctl_add_pair(f->ctl, 10, f->a2, f->b1, 1 << 20), 0);
	assert_int_equal(splice_ctl_count_socks(f->ctl), 2);
}

/* A socket that is not ESTABLISHED cannot enter; nothing is left behind. */
static void test_not_established(void **state)
{
	struct fixture *f = *state;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(splice_ctl_add_pair(f->ctl, 12, s, f->b1, 1 << 20), -EOPNOTSUPP);
	assert_int_equal(splice_ctl_count_socks(f->ctl), 0);
	assert_int_equal(splice_ctl_add_pair(f->ctl, 13, f->a2, f->b1, 1), -EINVAL);
	close(s);
}

/* Injected bytes join the peer's queue in order with redirected ones. */
static void test_inject_in_order(void **state)
{
	struct fixture *f = *state;
	uint64_t st[SPLICE_STAT_MAX];
	char buf[16];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 14, f->a2, f->b1, 1 << 20), 0);
	splice_pending_sub(splice_ctl_dir(f->ctl, 15), 1);
	/* Direction 14 (a2 -> b1) is held: userspace writes "ab" through the injector. */
	assert_int_equal(splice_ctl_inject(f->ctl, 15, "ab", 2), 2);
	assert_int_equal(splice_pending_sub(splice_ctl_dir(f->ctl, 14), 1), 0);
	assert_int_equal(send(f->a1, "cd", 2, 0), 2);
	assert_int_equal(read_n(f->b2, buf, 4), 4);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(splice_ctl_stats(f->ctl, st), 0);
	assert_true(st[SPLICE_STAT_INJECT_BYTES] >= 2);
	/* A slot with no socket: the bytes are refused, not lost silently. */
	assert_int_equal(splice_ctl_inject(f->ctl, 20, "zz", 2), -EPIPE);
	assert_int_equal(splice_ctl_inject(f->ctl, 100000, "zz", 2), -EINVAL);
}


/*
 * Hand-built TCP segments (raw socket) from 'from' to 'to', to make the
 * kernel queue segments that repeat bytes 'to' already received, as a
 * retransmission with other boundaries does: buf at sequence number
 * snd_nxt + rel of 'from', with the ack and timestamps 'from' would use.
 * 'from' is left out of step with 'to'.
 */
static uint16_t csum16(uint32_t sum, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		sum += (uint32_t)(b[0] << 8 | b[1]);
	if (n)
		sum += (uint32_t)(b[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void send_seg(int from, int to, int32_t rel, const char *buf, size_t len)
{
	struct sockaddr_in src, dst;
	socklen_t l = sizeof(src);
	uint32_t snd_nxt, rcv_nxt, tsval, tsecr, sum;
	int one = 1, off = 0, q, raw;
	uint8_t pkt[20 + 12 + 64] = { 0 };
	socklen_t ol = sizeof(snd_nxt);

	assert_true(len <= 64);
	assert_int_equal(getsockname(from, (struct sockaddr *)&src, &l), 0);
	l = sizeof(dst);
	assert_int_equal(getpeername(from, (struct sockaddr *)&dst, &l), 0);
	/* Sequence numbers of 'from', read in repair mode (CAP_NET_ADMIN). */
	assert_int_equal(setsockopt(from, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)), 0);
	q = TCP_SEND_QUEUE;
	assert_int_equal(setsockopt(from, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)), 0);
	assert_int_equal(getsockopt(from, IPPROTO_TCP, TCP_QUEUE_SEQ, &snd_nxt, &ol), 0);
	q = TCP_RECV_QUEUE;
	assert_int_equal(setsockopt(from, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)), 0);
	assert_int_equal(getsockopt(from, IPPROTO_TCP, TCP_QUEUE_SEQ, &rcv_nxt, &ol), 0);
	assert_int_equal(setsockopt(from, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)), 0);
	/* Timestamps each side would send now (PAWS and TSecr checks pass). */
	assert_int_equal(getsockopt(from, IPPROTO_TCP, TCP_TIMESTAMP, &tsval, &ol), 0);
	assert_int_equal(getsockopt(to, IPPROTO_TCP, TCP_TIMESTAMP, &tsecr, &ol), 0);

	*(uint16_t *)&pkt[0] = src.sin_port;
	*(uint16_t *)&pkt[2] = dst.sin_port;
	*(uint32_t *)&pkt[4] = htonl(snd_nxt + (uint32_t)rel);
	*(uint32_t *)&pkt[8] = htonl(rcv_nxt);
	pkt[12] = 8 << 4;			/* 32-byte header */
	pkt[13] = 0x18;				/* PSH|ACK */
	*(uint16_t *)&pkt[14] = htons(1024);
	pkt[20] = 1;				/* NOP NOP TS */
	pkt[21] = 1;
	pkt[22] = 8;
	pkt[23] = 10;
	*(uint32_t *)&pkt[24] = htonl(tsval + 1);
	*(uint32_t *)&pkt[28] = htonl(tsecr);
	memcpy(&pkt[32], buf, len);
	sum = (ntohl(src.sin_addr.s_addr) >> 16) + (ntohl(src.sin_addr.s_addr) & 0xffff) +
	      (ntohl(dst.sin_addr.s_addr) >> 16) + (ntohl(dst.sin_addr.s_addr) & 0xffff) +
	      IPPROTO_TCP + 32 + (uint32_t)len;
	*(uint16_t *)&pkt[16] = htons(csum16(sum, pkt, 32 + len));

	raw = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	assert_true(raw >= 0);
	assert_int_equal(sendto(raw, pkt, 32 + len, 0, (struct sockaddr *)&dst, sizeof(dst)),
			 (ssize_t)(32 + len));
	close(raw);
}

/* Control: a socket outside the map reads such a segment without repeats. */
static void test_overlap_plain_socket(void **state)
{
	struct fixture *f = *state;
	char buf[32];

	assert_int_equal(send(f->a1, "ABCDEFGH", 8, 0), 8);
	assert_int_equal(read_n(f->a2, buf, 8), 8);
	send_seg(f->a1, f->a2, -4, "EFGHIJKL", 8);
	assert_int_equal(read_n(f->a2, buf + 8, 4), 4);
	assert_memory_equal(buf, "ABCDEFGHIJKL", 12);
	assert_true(quiet(f->a2, 100));
}

/*
 * A segment that repeats bytes already received is queued whole by TCP and
 * handed whole to the verdict by tcp_read_skb(); the verdict must cut the
 * repeated head (KERNEL-NOTES sockmap 2), whether it passes ...
 */
static void test_overlap_trimmed_passed(void **state)
{
	struct fixture *f = *state;
	uint64_t st[SPLICE_STAT_MAX];
	struct splice_dir *d;
	char buf[32];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 16, f->a2, f->b1, 1 << 20), 0);
	d = splice_ctl_dir(f->ctl, 16);
	assert_int_equal(send(f->a1, "ABCDEFGH", 8, 0), 8);
	send_seg(f->a1, f->a2, -4, "EFGHIJKL", 8);
	assert_int_equal(read_n(f->a2, buf, 12), 12);
	assert_memory_equal(buf, "ABCDEFGHIJKL", 12);
	assert_true(quiet(f->a2, 100));
	assert_int_equal(splice_load(&d->pass_bytes), 12);
	assert_int_equal(splice_load(&d->trim_bytes), 4);
	assert_int_equal(d->trim_skbs, 1);
	assert_int_equal(splice_ctl_stats(f->ctl, st), 0);
	assert_int_equal(st[SPLICE_STAT_TRIM_BYTES], 4);
	assert_int_equal(st[SPLICE_STAT_TRIM_FAIL], 0);
}

/*
 * Out-of-order segments that overlap each other are queued with the
 * overlap too (tcp_data_queue_ofo(), then tcp_ofo_queue()).
 */
static void test_overlap_ofo_trimmed(void **state)
{
	struct fixture *f = *state;
	struct splice_dir *d;
	char buf[32];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 20, f->a2, f->b1, 1 << 20), 0);
	d = splice_ctl_dir(f->ctl, 20);
	assert_int_equal(send(f->a1, "ABCD", 4, 0), 4);
	send_seg(f->a1, f->a2, 4, "IJKLMNOP", 8);	/* out of order */
	send_seg(f->a1, f->a2, 8, "MNOPQRST", 8);	/* ... overlapping the one before */
	send_seg(f->a1, f->a2, 0, "EFGH", 4);		/* fills the hole */
	assert_int_equal(read_n(f->a2, buf, 20), 20);
	assert_memory_equal(buf, "ABCDEFGHIJKLMNOPQRST", 20);
	assert_true(quiet(f->a2, 100));
	assert_int_equal(splice_load(&d->trim_bytes), 4);
}

/* ... or redirects it. */
static void test_overlap_trimmed_redirected(void **state)
{
	struct fixture *f = *state;
	struct splice_dir *d;
	char buf[32];

	assert_int_equal(splice_ctl_add_pair(f->ctl, 18, f->a2, f->b1, 1 << 20), 0);
	d = splice_ctl_dir(f->ctl, 18);
	splice_pending_sub(d, 1);
	splice_pending_sub(splice_ctl_dir(f->ctl, 19), 1);
	assert_int_equal(send(f->a1, "ABCDEFGH", 8, 0), 8);
	assert_int_equal(read_n(f->b2, buf, 8), 8);
	send_seg(f->a1, f->a2, -6, "CDEFGHIJKLMN", 12);
	assert_int_equal(read_n(f->b2, buf + 8, 6), 6);
	assert_memory_equal(buf, "ABCDEFGHIJKLMN", 14);
	assert_true(quiet(f->b2, 100));
	assert_int_equal(splice_load(&d->fwd_bytes), 14);
	assert_int_equal(splice_load(&d->trim_bytes), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_held_pair_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_exhaustion_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_blocks_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_established, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inject_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_plain_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_trimmed_passed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_trimmed_redirected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_ofo_trimmed, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_sk_splice: needs root to load BPF; skipped\n");
		return 77;
	}
	log_set_level(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
