// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpf/tc_decap.bpf.c: a fixture table through BPF_PROG_TEST_RUN
 * {description, input, expected verdict, expected output, expected
 * counter}, then the real thing: in a network namespace of the test's own,
 * the program on a veth's TC ingress, IPIP and v6-in-v6 frames sent into
 * the other end with a packet socket, and the inner UDP datagram read from
 * a socket bound to the VIP on lo, as on a backend of the IPIP mode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tc_decap.skel.h"
#include "xdproxy/lb.h"
#include "util/log.h"
#include "pkt.h"

#define CLIENT4 "10.0.0.1"
#define VIP4	"10.100.0.1"
#define LB4	"10.9.0.254" /* the LB: outer source */
#define REAL4	"10.9.0.2"   /* this backend: outer destination */
#define CLIENT6 "fd00::1"
#define VIP6	"fd10::1"
#define LB6	"fd09::fe"
#define REAL6	"fd09::2"

static struct tc_decap_bpf *skel;
static int ncpus;

struct fixture {
	const char *desc;
	struct pkt in;
	int verdict;	  /* TC_ACT_* */
	struct pkt out;	  /* expected frame; unset: the input, untouched */
	uint32_t counter; /* enum lb_decap_stat counted once */
};

/* clang-format off */
#define TCP4(s, sp, d, dp) .family = 4, .proto = IPPROTO_TCP, .src = s, .sport = sp, .dst = d, .dport = dp
#define UDP4(s, sp, d, dp) .family = 4, .proto = IPPROTO_UDP, .src = s, .sport = sp, .dst = d, .dport = dp
#define TCP6(s, sp, d, dp) .family = 6, .proto = IPPROTO_TCP, .src = s, .sport = sp, .dst = d, .dport = dp
#define UDP6(s, sp, d, dp) .family = 6, .proto = IPPROTO_UDP, .src = s, .sport = sp, .dst = d, .dport = dp
#define OUTER4		   .osrc = LB4, .odst = REAL4
#define OUTER6		   .osrc = LB6, .odst = REAL6
/* clang-format on */

/* clang-format off */
static const struct fixture fixtures[] = {
	{ "IPIP v4: outer header removed",
	  .in = { OUTER4, TCP4(CLIENT4, 1234, VIP4, 443) },
	  .verdict = TC_ACT_OK,
	  .out = { TCP4(CLIENT4, 1234, VIP4, 443) },
	  .counter = LB_DECAP_OK },
	{ "IPIP v4 UDP, 1000 bytes",
	  .in = { OUTER4, UDP4(CLIENT4, 1234, VIP4, 53), .payload = 1000 },
	  .verdict = TC_ACT_OK,
	  .out = { UDP4(CLIENT4, 1234, VIP4, 53), .payload = 1000 },
	  .counter = LB_DECAP_OK },
	{ "IPIP v4, outer with options: all of it removed",
	  .in = { OUTER4, .oopts = 8, TCP4(CLIENT4, 1234, VIP4, 443) },
	  .verdict = TC_ACT_OK,
	  .out = { TCP4(CLIENT4, 1234, VIP4, 443) },
	  .counter = LB_DECAP_OK },
	{ "v6-in-v6: outer header removed",
	  .in = { OUTER6, TCP6(CLIENT6, 1234, VIP6, 443) },
	  .verdict = TC_ACT_OK,
	  .out = { TCP6(CLIENT6, 1234, VIP6, 443) },
	  .counter = LB_DECAP_OK },
	{ "v6-in-v6 UDP",
	  .in = { OUTER6, UDP6(CLIENT6, 1234, VIP6, 53) },
	  .verdict = TC_ACT_OK,
	  .out = { UDP6(CLIENT6, 1234, VIP6, 53) },
	  .counter = LB_DECAP_OK },
	{ "plain IPv4 TCP: untouched",
	  .in = { TCP4(CLIENT4, 1234, VIP4, 443) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "plain IPv6 UDP: untouched",
	  .in = { UDP6(CLIENT6, 1234, VIP6, 53) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "ARP: untouched",
	  .in = { .ethertype = ETH_P_ARP },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "GRE: untouched",
	  .in = { .family = 4, .proto = 47, .src = LB4, .dst = REAL4 },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "6in4 (protocol 41 over IPv4): untouched",
	  .in = { OUTER4, .ofamily = 4, TCP6(CLIENT6, 1234, VIP6, 443) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "4in6 (next header 4): untouched",
	  .in = { OUTER6, .ofamily = 6, TCP4(CLIENT4, 1234, VIP4, 443) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "protocol 4 carrying IPv6: untouched",
	  .in = { OUTER4, .ofamily = 4, .oproto = IPPROTO_IPIP, TCP6(CLIENT6, 1234, VIP6, 443) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "IPIP outer fragment: untouched (the kernel reassembles)",
	  .in = { OUTER4, .ofrag = 0x2000, TCP4(CLIENT4, 1234, VIP4, 443) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },

	/* (A frame cut inside the outer header cannot be tested: BPF_PROG_TEST_RUN refuses it.) */
	{ "802.1Q tag in the frame: untouched (the kernel untags before TC)",
	  .in = { .vlan = 5, OUTER4, TCP4(CLIENT4, 1234, VIP4, 443) },
	  .verdict = TC_ACT_OK,
	  .counter = LB_DECAP_PASS },
	{ "IPIP, inner header truncated: dropped",
	  .in = { OUTER4, TCP4(CLIENT4, 1, VIP4, 443), .trunc = 14 + 20 + 19 },
	  .verdict = TC_ACT_SHOT,
	  .counter = LB_DECAP_TRUNCATED },
	{ "v6-in-v6, inner header truncated: dropped",
	  .in = { OUTER6, TCP6(CLIENT6, 1, VIP6, 443), .trunc = 14 + 40 + 39 },
	  .verdict = TC_ACT_SHOT,
	  .counter = LB_DECAP_TRUNCATED },
};
/* clang-format on */
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static uint64_t stat_get(uint32_t idx)
{
	uint64_t v[ncpus], s = 0;

	assert_int_equal(
	    bpf_map__lookup_elem(skel->maps.decap_stats, &idx, sizeof(idx), v, sizeof(v), 0), 0);
	for (int i = 0; i < ncpus; i++)
		s += v[i];
	return s;
}

static void test_fixture(void **state)
{
	const struct fixture *fx = *state;
	uint8_t in[PKT_MAX], out[PKT_MAX], exp[PKT_MAX];
	uint64_t before[LB_DECAP_MAX];
	size_t in_len = pkt_build(&fx->in, NULL, in), exp_len;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = in_len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	for (uint32_t i = 0; i < LB_DECAP_MAX; i++)
		before[i] = stat_get(i);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tc_decap_ingress), &o),
			 0);
	assert_int_equal((int)o.retval, fx->verdict);
	for (uint32_t i = 0; i < LB_DECAP_MAX; i++)
		assert_int_equal(stat_get(i) - before[i], i == fx->counter);
	if (fx->verdict == TC_ACT_SHOT)
		return;
	if (fx->out.family) {
		exp_len = pkt_build(&fx->out, NULL, exp);
	} else {
		memcpy(exp, in, in_len);
		exp_len = in_len;
	}
	if (o.data_size_out != exp_len || memcmp(out, exp, exp_len)) {
		hexdump("expected", exp, exp_len);
		hexdump("got", out, o.data_size_out);
		fail_msg("output differs");
	}
	if (fx->counter == LB_DECAP_OK)
		assert_int_equal(verify_csums(out, o.data_size_out), 0);
}

/* ------------------------------------------------------------------ */
/* Live: the program on TC ingress of a veth, a socket on the VIP */

#define MAC_TX "02:00:00:00:09:01"
#define MAC_RX "02:00:00:00:09:02"

/* clang-format off */
static const char *const net_up[] = {
	"ip link set lo up",
	"ip link add dcA address " MAC_TX " type veth peer name dcB address " MAC_RX,
	"ip link set dcA up",
	"ip link set dcB up",
	"ip addr add 10.9.0.2/24 dev dcB",
	"ip addr add 10.0.0.2/24 dev dcB", /* a route back to the client, for rp_filter */
	"ip -6 addr add fd09::2/64 dev dcB nodad",
	"ip -6 addr add fd00::2/64 dev dcB nodad",
	"ip addr add 10.100.0.1/32 dev lo",
	"ip -6 addr add fd10::1/128 dev lo nodad",
};
/* clang-format on */

static int sh(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	return system(buf);
}

static int udp_listen(int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sa->sin_addr);
		len = sizeof(*sa);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sa->sin6_addr);
		len = sizeof(*sa);
	}
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_live_decap(void **state)
{
	const struct pkt frames[] = {
	    {.dmac = MAC_RX,
	     .smac = MAC_TX,
	     OUTER4,
	     UDP4(CLIENT4, 4000, VIP4, 5000),
	     .payload = 300},
	    {.dmac = MAC_RX,
	     .smac = MAC_TX,
	     OUTER6,
	     UDP6(CLIENT6, 4000, VIP6, 5000),
	     .payload = 300},
	};
	uint64_t ok_before = stat_get(LB_DECAP_OK);
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts);
	int pfd, ifa;

	(void)state;
	for (size_t i = 0; i < sizeof(net_up) / sizeof(net_up[0]); i++)
		if (sh(net_up[i]))
			fail_msg("failed: %s", net_up[i]);
	ifa = if_nametoindex("dcA");
	hook.ifindex = if_nametoindex("dcB");
	assert_true(ifa > 0 && hook.ifindex > 0);
	assert_int_equal(bpf_tc_hook_create(&hook), 0);
	opts.prog_fd = bpf_program__fd(skel->progs.tc_decap_ingress);
	assert_int_equal(bpf_tc_attach(&hook, &opts), 0);

	pfd = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(pfd >= 0);
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		const struct pkt *f = &frames[i];
		struct sockaddr_ll ll = {
		    .sll_family = AF_PACKET, .sll_ifindex = ifa, .sll_halen = 6};
		struct pkt inner = *f;
		uint8_t frame[PKT_MAX], want[PKT_MAX], got[PKT_MAX];
		int family = f->family == 4 ? AF_INET : AF_INET6;
		int ufd = udp_listen(family, f->dst, f->dport);
		size_t len = pkt_build(f, NULL, frame), wlen;
		struct pollfd p = {.fd = ufd, .events = POLLIN};
		ssize_t n;

		assert_true(ufd >= 0);
		put_mac(ll.sll_addr, MAC_RX);
		assert_int_equal(sendto(pfd, frame, len, 0, (struct sockaddr *)&ll, sizeof(ll)),
				 (ssize_t)len);
		if (poll(&p, 1, 2000) != 1)
			fail_msg("%s: no datagram on the VIP socket",
				 f->family == 4 ? "IPIP" : "ip6ip6");
		n = recv(ufd, got, sizeof(got), 0);
		/* The payload the builder put in the inner UDP datagram. */
		inner.osrc = NULL;
		wlen = pkt_build(&inner, NULL, want);
		assert_int_equal(n, f->payload);
		assert_memory_equal(got, want + wlen - f->payload, f->payload);
		close(ufd);
	}
	close(pfd);
	assert_int_equal(stat_get(LB_DECAP_OK) - ok_before, 2);

	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
	sh("ip link del dcA");
}

int main(void)
{
	struct CMUnitTest tests[N_FIXTURES + 1];
	size_t n = 0;
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "test_tc_decap: needs root to load BPF; skipped\n");
		return 77;
	}
	log_set_level(LOG_LVL_WARN);
	log_hook_libbpf();
	/* The live test builds links and addresses: in a namespace of our own. */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_tc_decap: unshare: %s; skipped\n", strerror(errno));
		return 77;
	}
	skel = tc_decap_bpf__open_and_load();
	ncpus = libbpf_num_possible_cpus();
	if (!skel || ncpus <= 0) {
		fprintf(stderr, "test_tc_decap: cannot load tc_decap.bpf.o\n");
		return 1;
	}
	for (size_t i = 0; i < N_FIXTURES; i++)
		tests[n++] = (struct CMUnitTest){fixtures[i].desc, test_fixture, NULL, NULL,
						 (void *)&fixtures[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_live_decap);
	rc = _cmocka_run_group_tests("tc_decap", tests, n, NULL, NULL);
	tc_decap_bpf__destroy(skel);
	return rc;
}
