// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/net/neigh: the resolver asks the kernel, so the
 * tests build a network for it in a namespace of their own (unshare at
 * start, then `ip`), and check its answers against what was configured:
 *
 *   d0   ifb (Ethernet that sends nothing: this kernel has no dummy), ARP
 *        on, so nobody answers; 198.18.1.1/24 2001:db8:1::1/64,
 *        permanent neighbours .2 / ::2 and the gateway .254 / fe80::fe,
 *        routes via that gateway (IPv4, IPv6, IPv4 via IPv6), a STALE .3
 *   d1   ifb, NOARP (the kernel's default for ifb), 198.18.3.1/24
 *   vA   veth, 198.18.2.1/24 2001:db8:2::1/64; its peer vB, .2 / ::2, is in
 *        a second namespace held by a child process, and answers ARP / ND
 *   tn0  tun (not Ethernet), 198.18.4.1/24, when the kernel has tun
 *
 * Needs root (exit 77, "skipped", otherwise). NEIGH_DEBUG=1 shows the
 * resolver's debug log, NEIGH_FILTER=test_name runs one test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/neigh.h"
#include "util/log.h"

static const uint8_t mac_d0[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const uint8_t mac_n2[6] = {0x02, 0, 0, 0, 0x01, 0x02};
static const uint8_t mac_n3[6] = {0x02, 0, 0, 0, 0x01, 0x03};
static const uint8_t mac_gw[6] = {0x02, 0, 0, 0, 0x01, 0xfe};
static const uint8_t mac_d1[6] = {0x02, 0, 0, 0, 0x03, 0x01};
static const uint8_t mac_va[6] = {0x02, 0, 0, 0, 0x02, 0x01};
static const uint8_t mac_vb[6] = {0x02, 0, 0, 0, 0x02, 0x02};

static pid_t peer; /* holds the namespace of vB */
static bool have_tun;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "test_neigh: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

/* Output of a command, first line, or "" */
static void sh_read(char *buf, size_t len, const char *cmd)
{
	FILE *f = popen(cmd, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	pclose(f);
}

static void a4(const char *s, __be32 a[4])
{
	memset(a, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

static void a6(const char *s, __be32 a[4])
{
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* A child in a namespace of its own, to hold vB; dies with us. */
static int peer_start(void)
{
	int p[2];
	char c;

	if (pipe(p))
		return -1;
	peer = fork();
	if (peer < 0)
		return -1;
	if (peer == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return 0;
}

static void net_teardown(void)
{
	if (peer > 0) {
		kill(peer, SIGKILL);
		waitpid(peer, NULL, 0);
		peer = 0;
	}
}

#define PEER "nsenter -t %d -n "

static int net_setup(void)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_neigh: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (peer_start())
		return -1;
	/*
	 * No DAD for link-local addresses either: until it is done the kernel
	 * sends no neighbour solicitation at all (ndisc_send_ns wants a
	 * usable link-local source), and the veth case would wait a second.
	 */
	if (sh("ip link set lo up") ||
	    sh("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0") ||
	    sh(PEER "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
	       peer) ||
	    sh("ip link add d0 address 02:00:00:00:01:01 type ifb") ||
	    sh("ip link set d0 arp on multicast on up") || sh("ip addr add 198.18.1.1/24 dev d0") ||
	    sh("ip addr add 2001:db8:1::1/64 dev d0 nodad") ||
	    sh("ip neigh add 198.18.1.2 lladdr 02:00:00:00:01:02 nud permanent dev d0") ||
	    sh("ip neigh add 2001:db8:1::2 lladdr 02:00:00:00:01:02 nud permanent dev d0") ||
	    sh("ip neigh add 198.18.1.254 lladdr 02:00:00:00:01:fe nud permanent dev d0") ||
	    sh("ip neigh add fe80::fe lladdr 02:00:00:00:01:fe nud permanent dev d0") ||
	    sh("ip neigh add 198.18.1.3 lladdr 02:00:00:00:01:03 nud stale dev d0") ||
	    sh("ip route add 198.18.50.0/24 via 198.18.1.254 dev d0") ||
	    sh("ip -6 route add 2001:db8:50::/64 via fe80::fe dev d0") ||
	    sh("ip route add 198.18.70.0/24 via inet6 fe80::fe dev d0") ||
	    sh("ip route add unreachable 198.18.60.0/24") ||
	    sh("ip route add prohibit 198.18.61.0/24") ||
	    sh("ip route add blackhole 198.18.62.0/24") ||
	    sh("ip -6 route add unreachable 2001:db8:60::/64") ||
	    sh("ip -6 route add prohibit 2001:db8:61::/64") ||
	    sh("ip -6 route add blackhole 2001:db8:62::/64") ||
	    sh("ip route add 198.18.5.0/24 dev lo") ||
	    sh("ip link add d1 address 02:00:00:00:03:01 type ifb") || sh("ip link set d1 up") ||
	    sh("ip addr add 198.18.3.1/24 dev d1") ||
	    sh("ip link add vA address 02:00:00:00:02:01 type veth peer name vB "
	       "address 02:00:00:00:02:02 netns %d",
	       peer) ||
	    sh("ip addr add 198.18.2.1/24 dev vA") ||
	    sh("ip addr add 2001:db8:2::1/64 dev vA nodad") || sh("ip link set vA up") ||
	    sh(PEER "ip link set lo up", peer) ||
	    sh(PEER "ip addr add 198.18.2.2/24 dev vB", peer) ||
	    sh(PEER "ip addr add 2001:db8:2::2/64 dev vB nodad", peer) ||
	    sh(PEER "ip link set vB up", peer))
		return -1;
	have_tun = !system("ip tuntap add dev tn0 mode tun 2>/dev/null") &&
		   !sh("ip addr add 198.18.4.1/24 dev tn0") && !sh("ip link set tn0 up");
	return 0;
}

/* Resolve and expect success with these values. */
static void expect_hop(uint8_t family, const char *addr, const char *dev, const uint8_t *dmac,
		       const uint8_t *smac, const char *gw, uint8_t gw_family, int timeout_ms)
{
	struct neigh_hop h;
	__be32 a[4], g[4];
	int rc;

	if (family == LB_AF_V4)
		a4(addr, a);
	else
		a6(addr, a);
	memset(&h, 0xaa, sizeof(h));
	rc = neigh_resolve(family, a, &h, timeout_ms);
	if (rc) {
		fprintf(stderr, "neigh_resolve(%s): %s; neighbours:\n", addr, strerror(-rc));
		sh("ip neigh show >&2");
	}
	assert_int_equal(rc, 0);
	assert_int_equal(h.ifindex, (int)if_nametoindex(dev));
	assert_memory_equal(h.dmac, dmac, 6);
	assert_memory_equal(h.smac, smac, 6);
	if (gw) {
		if (gw_family == LB_AF_V4)
			a4(gw, g);
		else
			a6(gw, g);
		assert_true(h.via_gw);
	} else {
		memcpy(g, a, sizeof(g));
		gw_family = family;
		assert_false(h.via_gw);
	}
	assert_int_equal(h.gw_family, gw_family);
	assert_memory_equal(h.gw, g, sizeof(g));
}

/* Resolve and expect err; *out must stay untouched. */
static void expect_err(uint8_t family, const char *addr, int err, int timeout_ms)
{
	struct neigh_hop h, untouched;
	__be32 a[4];

	if (family == LB_AF_V4)
		a4(addr, a);
	else
		a6(addr, a);
	memset(&h, 0x5a, sizeof(h));
	untouched = h;
	assert_int_equal(neigh_resolve(family, a, &h, timeout_ms), err);
	assert_memory_equal(&h, &untouched, sizeof(h));
}

static void test_direct_v4(void **state)
{
	(void)state;
	expect_hop(LB_AF_V4, "198.18.1.2", "d0", mac_n2, mac_d0, NULL, 0, 0);
}

static void test_direct_v6(void **state)
{
	(void)state;
	expect_hop(LB_AF_V6, "2001:db8:1::2", "d0", mac_n2, mac_d0, NULL, 0, 0);
}

static void test_gateway_v4(void **state)
{
	(void)state;
	expect_hop(LB_AF_V4, "198.18.50.7", "d0", mac_gw, mac_d0, "198.18.1.254", LB_AF_V4, 0);
}

/* A link-local gateway: only the ifindex tells which fe80::fe it is. */
static void test_gateway_v6(void **state)
{
	(void)state;
	expect_hop(LB_AF_V6, "2001:db8:50::7", "d0", mac_gw, mac_d0, "fe80::fe", LB_AF_V6, 0);
}

/* RFC 5549 (RTA_VIA): the neighbour is in the IPv6 table. */
static void test_gateway_v4_via_v6(void **state)
{
	(void)state;
	expect_hop(LB_AF_V4, "198.18.70.7", "d0", mac_gw, mac_d0, "fe80::fe", LB_AF_V6, 0);
}

/* STALE is usable; the kernel is asked to confirm it (STALE -> DELAY). */
static void test_stale_used_and_confirmed(void **state)
{
	char line[256];

	(void)state;
	expect_hop(LB_AF_V4, "198.18.1.3", "d0", mac_n3, mac_d0, NULL, 0, 0);
	sh_read(line, sizeof(line), "ip neigh show 198.18.1.3 dev d0");
	assert_non_null(strstr(line, "DELAY"));
}

/* A NOARP device: the kernel itself sends to its own address. */
static void test_noarp_device(void **state)
{
	(void)state;
	expect_hop(LB_AF_V4, "198.18.3.2", "d1", mac_d1, mac_d1, NULL, 0, 0);
}

static void test_no_route(void **state)
{
	(void)state;
	expect_err(LB_AF_V4, "198.51.100.1", -EHOSTUNREACH, 100);
	expect_err(LB_AF_V6, "2001:db8:ff::1", -EHOSTUNREACH, 100);
}

static void test_reject_routes(void **state)
{
	(void)state;
	expect_err(LB_AF_V4, "198.18.60.1", -EHOSTUNREACH, 0);
	expect_err(LB_AF_V4, "198.18.61.1", -EHOSTUNREACH, 0);
	expect_err(LB_AF_V4, "198.18.62.1", -EHOSTUNREACH, 0);
	expect_err(LB_AF_V6, "2001:db8:60::1", -EHOSTUNREACH, 0);
	expect_err(LB_AF_V6, "2001:db8:61::1", -EHOSTUNREACH, 0);
	expect_err(LB_AF_V6, "2001:db8:62::1", -EHOSTUNREACH, 0);
	/* broadcast: not a unicast route */
	expect_err(LB_AF_V4, "198.18.1.255", -EHOSTUNREACH, 0);
}

static void test_local(void **state)
{
	(void)state;
	expect_err(LB_AF_V4, "198.18.1.1", -EADDRNOTAVAIL, 100);
	expect_err(LB_AF_V4, "127.0.0.1", -EADDRNOTAVAIL, 100);
	expect_err(LB_AF_V4, "0.0.0.0", -EADDRNOTAVAIL, 100);
	expect_err(LB_AF_V6, "2001:db8:1::1", -EADDRNOTAVAIL, 100);
	expect_err(LB_AF_V6, "::1", -EADDRNOTAVAIL, 100);
	expect_err(LB_AF_V6, "::", -EADDRNOTAVAIL, 100);
	/* a unicast route whose device is lo */
	expect_err(LB_AF_V4, "198.18.5.1", -EADDRNOTAVAIL, 100);
}

static void test_not_ethernet(void **state)
{
	(void)state;
	if (!have_tun)
		skip();
	expect_err(LB_AF_V4, "198.18.4.2", -EOPNOTSUPP, 100);
}

/* The peer answers: resolution is started and awaited. */
static void test_resolve_on_veth(void **state)
{
	char line[256];
	uint64_t t0;

	(void)state;
	sh_read(line, sizeof(line), "ip neigh show 198.18.2.2 dev vA");
	assert_string_equal(line, ""); /* really unresolved before */
	t0 = now_ms();
	expect_hop(LB_AF_V4, "198.18.2.2", "vA", mac_vb, mac_va, NULL, 0, 2000);
	assert_true(now_ms() - t0 < 1000);
	sh_read(line, sizeof(line), "ip neigh show 2001:db8:2::2 dev vA");
	assert_string_equal(line, "");
	t0 = now_ms();
	expect_hop(LB_AF_V6, "2001:db8:2::2", "vA", mac_vb, mac_va, NULL, 0, 2000);
	assert_true(now_ms() - t0 < 1000);
}

/*
 * Without CAP_NET_ADMIN the kernel refuses NTF_USE: the datagram fallback
 * must start resolution instead. In a child that drops every capability.
 */
static void test_resolve_unprivileged(void **state)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2];
	char line[256];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(sh("ip neigh flush dev vA"), 0);
	sh_read(line, sizeof(line), "ip neigh show 198.18.2.2 dev vA");
	assert_string_equal(line, "");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct neigh_hop h;
		__be32 a[4] = {0};

		memset(caps, 0, sizeof(caps));
		if (syscall(SYS_capset, &hdr, caps) || inet_pton(AF_INET, "198.18.2.2", a) != 1)
			_exit(2);
		if (neigh_resolve(LB_AF_V4, a, &h, 2000) || memcmp(h.dmac, mac_vb, 6))
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Nobody answers on d0: -EAGAIN once the timeout is over, not much later. */
static void test_unresolved_times_out(void **state)
{
	char line[256];
	uint64_t t0, dt;

	(void)state;
	t0 = now_ms();
	expect_err(LB_AF_V4, "198.18.1.9", -EAGAIN, 200);
	dt = now_ms() - t0;
	assert_true(dt >= 195 && dt < 700);
	t0 = now_ms();
	expect_err(LB_AF_V6, "2001:db8:1::9", -EAGAIN, 200);
	dt = now_ms() - t0;
	assert_true(dt >= 195 && dt < 700);
	/* timeout 0: resolution started, no wait */
	t0 = now_ms();
	expect_err(LB_AF_V4, "198.18.1.10", -EAGAIN, 0);
	assert_true(now_ms() - t0 < 100);
	sh_read(line, sizeof(line), "ip neigh show 198.18.1.10 dev d0");
	assert_non_null(strstr(line, "INCOMPLETE"));
}

static void test_invalid(void **state)
{
	struct neigh_hop h;
	__be32 a[4];

	(void)state;
	a4("198.18.1.2", a);
	assert_int_equal(neigh_resolve(0, a, &h, 0), -EINVAL);
	assert_int_equal(neigh_resolve(2 /* AF_INET, not LB_AF_V4 */, a, &h, 0), -EINVAL);
	assert_int_equal(neigh_resolve(5, a, &h, 0), -EINVAL);
	assert_int_equal(neigh_resolve(10, a, &h, 0), -EINVAL);
	assert_int_equal(neigh_resolve(LB_AF_V4, NULL, &h, 0), -EINVAL);
	assert_int_equal(neigh_resolve(LB_AF_V4, a, NULL, 0), -EINVAL);
	assert_int_equal(neigh_resolve(LB_AF_V4, a, &h, -1), -EINVAL);
	assert_int_equal(neigh_resolve(LB_AF_V4, a, &h, NEIGH_TIMEOUT_MAX_MS + 1), -EINVAL);
}

/* Every call closes what it opened, on every path. */
static void test_no_fd_leak(void **state)
{
	int before = count_fds(), i;

	(void)state;
	for (i = 0; i < 100; i++) {
		expect_hop(LB_AF_V4, "198.18.1.2", "d0", mac_n2, mac_d0, NULL, 0, 0);
		expect_err(LB_AF_V4, "198.51.100.1", -EHOSTUNREACH, 0);
		expect_err(LB_AF_V4, "198.18.1.1", -EADDRNOTAVAIL, 0);
		expect_err(LB_AF_V4, "198.18.1.9", -EAGAIN, 0);
	}
	assert_int_equal(count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_direct_v4),
	    cmocka_unit_test(test_direct_v6),
	    cmocka_unit_test(test_gateway_v4),
	    cmocka_unit_test(test_gateway_v6),
	    cmocka_unit_test(test_gateway_v4_via_v6),
	    cmocka_unit_test(test_stale_used_and_confirmed),
	    cmocka_unit_test(test_noarp_device),
	    cmocka_unit_test(test_no_route),
	    cmocka_unit_test(test_reject_routes),
	    cmocka_unit_test(test_local),
	    cmocka_unit_test(test_not_ethernet),
	    cmocka_unit_test(test_resolve_on_veth),
	    cmocka_unit_test(test_resolve_unprivileged),
	    cmocka_unit_test(test_unresolved_times_out),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_no_fd_leak),
	};
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "test_neigh: needs root for a network namespace; skipped\n");
		return 77;
	}
	log_set_level(getenv("NEIGH_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	if (net_setup()) {
		fprintf(stderr, "test_neigh: cannot build the test network; skipped\n");
		net_teardown();
		return 77;
	}
	if (getenv("NEIGH_FILTER"))
		cmocka_set_test_filter(getenv("NEIGH_FILTER"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	net_teardown();
	return rc;
}
