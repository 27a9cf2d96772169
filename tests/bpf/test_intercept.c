// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpf/intercept.bpf.c through user/bpfctl/intercept.c, with real sockets.
 *
 * The test owns its world: it moves itself into new network and mount
 * namespaces (loopback only) and creates a cgroup v2 subtree of its own,
 *
 *   <cgroup v2 root>/xdpt-<pid>          intercepted (programs attached here)
 *                       /skip            skip_cgid: left alone
 *                       /sub             inherits the programs
 *
 * into which forked children move themselves before they connect(): the
 * test process itself stays where it was started and is never intercepted.
 * The "proxy" is a pair of listeners, 127.0.0.1:<p4> and [::1]:<p6>; the
 * children connect to addresses where nothing listens (127.0.0.2:80, ...),
 * so a connection that lands on a listener was redirected and one that is
 * refused was not. Maps and links are pinned under /sys/fs/bpf/xdpt-<pid>/.
 * Every path out (return, failed assertion, signal, watchdog) detaches,
 * unpins and removes the cgroups.
 *
 * Tests run in order and share the attachment; the counters are checked
 * exactly after each, and their sums at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfctl/cgroupfs.h"
#include "bpfctl/intercept.h"
#include "util/log.h"

#define MARK_SKIP 0x77

static char cg_root[256], cg[384], cg_skip[400], cg_sub[400];
static char cg_name[64];
static uint64_t cg_id, skip_id, sub_id;
static char pin_parent[128], pin_dir[160];
static int l4 = -1, l6 = -1;
static uint16_t port4, port6;
static bool have_v6;
static struct intercept_ctl *ctl;
static const uint16_t base_ports[] = {80, 443, 8080};
static struct intercept_opts base;

/* ---- cleanup, from every path ---------------------------------------- */

static const char *const map_pins[] = {"intercept_cfg", "intercept_ports", "intercept_wait",
				       "intercept_orig", "intercept_stats"};
static const char *const link_pins[] = {"connect4", "connect6", "sockops"};

/*
 * Only system calls (and snprintf) so that a signal handler may run it:
 * force-detach and unlink whatever is pinned, kill what is in our cgroups,
 * remove them. Idempotent.
 */
static void sweep(void)
{
	char path[PATH_MAX + 32];
	const char *cgs[] = {cg_skip, cg_sub, cg};
	const uint64_t ids[] = {cg_id, sub_id};

	for (size_t i = 0; i < 6; i++) {
		int fd;

		if (!ids[i / 3])
			continue;
		snprintf(path, sizeof(path), "%s/cg%llu_%s", pin_dir,
			 (unsigned long long)ids[i / 3], link_pins[i % 3]);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
	}
	for (size_t i = 0; *pin_dir && i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_pins[i]);
		unlink(path);
	}
	if (*pin_dir)
		rmdir(pin_dir);
	if (*pin_parent)
		rmdir(pin_parent);
	if (!*cg)
		return;
	/* cgroup.kill (5.14) ends every process of the subtree, even strays. */
	snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
	int kfd = open(path, O_WRONLY | O_CLOEXEC);

	if (kfd >= 0) {
		if (write(kfd, "1", 1) < 0) {
			/* older kernel: children are reaped below anyway */
		}
		close(kfd);
	}
	for (int tries = 0; tries < 200; tries++) {
		bool left = false;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (size_t i = 0; i < 3; i++)
			if (*cgs[i] && rmdir(cgs[i]) && errno != ENOENT)
				left = true;
		if (!left)
			break;
		usleep(10000);
	}
}

static void cleanup(void)
{
	if (ctl) {
		intercept_ctl_detach(ctl);
		intercept_ctl_close(ctl);
		ctl = NULL;
	}
	sweep();
}

static void on_signal(int sig)
{
	static const char msg[] = "test_intercept: signal, cleaning up\n";

	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	sweep();
	_exit(128 + sig);
}

/* ---- addresses --------------------------------------------------------- */

static socklen_t mkaddr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
			return 0;
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
		return 0;
	return sizeof(*in6);
}

static bool sa_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

/* a, with a v4-mapped IPv6 address as the IPv4 one (what an IPv4 listener sees) */
static struct sockaddr_storage sa_unmap(const struct sockaddr_storage *a)
{
	const struct sockaddr_in6 *in6 = (const void *)a;
	struct sockaddr_storage r = *a;
	struct sockaddr_in *in = (struct sockaddr_in *)&r;

	if (a->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memset(&r, 0, sizeof(r));
		in->sin_family = AF_INET;
		in->sin_port = in6->sin6_port;
		memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
	}
	return r;
}

static bool sa_is(const struct sockaddr_storage *ss, int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage want;

	return mkaddr(family, addr, port, &want) && sa_eq(ss, &want);
}

static const char *sa_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	snprintf(buf, len, "%s:%u", a, port);
	return buf;
}

static void assert_sa(const struct sockaddr_storage *ss, int family, const char *addr,
		      uint16_t port)
{
	char buf[80];

	if (!sa_is(ss, family, addr, port)) {
		print_error("address %s, want %s:%u\n", sa_str(ss, buf, sizeof(buf)), addr, port);
		fail();
	}
}

static int lo_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(fd);
	return err;
}

/* ---- children in the cgroups ------------------------------------------ */

enum where {
	OUTSIDE, /* stays in the test's own cgroup */
	IN_CG,
	IN_SKIP,
	IN_SUB,
	IN_CG_NEWNS, /* IN_CG, then a network namespace of its own */
};

enum op {
	OP_CONNECT = 0,
	OP_SENDTO, /* UDP datagram without connect() */
};

struct req {
	int family;
	int type;
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;
	uint32_t mark; /* SO_MARK; 0: none */
	enum op op;
};

struct res {
	int err; /* of connect() (or sendto()): 0 or errno */
	struct sockaddr_storage local, peer;
};

struct kid {
	pid_t pid;
	int res_fd; /* the child's results */
	int go_fd;  /* closing it lets the child exit */
};

typedef int (*kid_fn)(void *arg, int res_fd);

static int join(const char *dir)
{
	char path[PATH_MAX + 16], pid[16];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d", getpid());
	if (write(fd, pid, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

/*
 * Fork a child that moves into w's cgroup, runs fn (which reports on
 * res_fd), then waits for go_fd to close: its sockets stay open meanwhile.
 */
static void kid_start(struct kid *k, enum where w, kid_fn fn, void *arg)
{
	int res[2], go[2];
	char dummy;

	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		const char *dir = w == IN_CG || w == IN_CG_NEWNS ? cg
				  : w == IN_SKIP		 ? cg_skip
				  : w == IN_SUB			 ? cg_sub
								 : NULL;
		int rc;

		/* The parent's cleanup is the parent's: a child just dies. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		close(res[0]);
		close(go[1]);
		if (dir && join(dir))
			_exit(10);
		if (w == IN_CG_NEWNS && (unshare(CLONE_NEWNET) || lo_up()))
			_exit(11);
		rc = fn(arg, res[1]);
		close(res[1]);
		while (read(go[0], &dummy, 1) > 0)
			;
		_exit(rc);
	}
	close(res[1]);
	close(go[0]);
	k->res_fd = res[0];
	k->go_fd = go[1];
}

static void kid_read(struct kid *k, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = k->res_fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(k->res_fd, (char *)buf + got, len - got);
		if (n <= 0) {
			print_error("child %d sent %zu of %zu bytes of results\n", k->pid, got,
				    len);
			fail();
		}
		got += (size_t)n;
	}
}

/* Let the child go; its exit status (or -1 when it did not exit normally). */
static int kid_end(struct kid *k)
{
	int st;

	close(k->go_fd);
	close(k->res_fd);
	if (waitpid(k->pid, &st, 0) != k->pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct reqs {
	const struct req *r;
	size_t n;
};

static int kid_do_reqs(void *arg, int res_fd)
{
	const struct reqs *rq = arg;

	for (size_t i = 0; i < rq->n; i++) {
		const struct req *r = &rq->r[i];
		struct sockaddr_storage sa;
		socklen_t sl = mkaddr(r->family, r->addr, r->port, &sa), l;
		struct timeval tv = {.tv_sec = 3};
		struct res o = {0};
		int fd = socket(r->family, r->type | SOCK_CLOEXEC, 0);

		if (!sl) {
			o.err = EINVAL;
		} else if (fd < 0) {
			o.err = errno;
		} else {
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (r->mark &&
			    setsockopt(fd, SOL_SOCKET, SO_MARK, &r->mark, sizeof(r->mark)))
				o.err = errno;
			else if (r->op == OP_SENDTO)
				o.err = sendto(fd, "u", 1, 0, (struct sockaddr *)&sa, sl) == 1
					    ? 0
					    : errno;
			else if (connect(fd, (struct sockaddr *)&sa, sl))
				o.err = errno;
			l = sizeof(o.local);
			getsockname(fd, (struct sockaddr *)&o.local, &l);
			l = sizeof(o.peer);
			getpeername(fd, (struct sockaddr *)&o.peer, &l);
			if (!o.err && r->op == OP_CONNECT && r->type == SOCK_DGRAM &&
			    send(fd, "u", 1, 0) != 1)
				o.err = errno;
			/* fd stays open until the parent lets us go */
		}
		if (write(res_fd, &o, sizeof(o)) != sizeof(o))
			return 2;
	}
	return 0;
}

/* Run reqs in a child placed by w; results in out[]; the child waits in k. */
static void kid_reqs(struct kid *k, enum where w, const struct req *r, size_t n, struct res *out)
{
	struct reqs rq = {r, n};

	kid_start(k, w, kid_do_reqs, &rq);
	for (size_t i = 0; i < n; i++)
		kid_read(k, &out[i], sizeof(out[i]));
}

static void kid_reqs_end(struct kid *k)
{
	assert_int_equal(kid_end(k), 0);
}

/* ---- the proxy side ----------------------------------------------------- */

static int accept_one(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void drain(int lfd)
{
	int fd;

	while ((fd = accept_one(lfd, 0)) >= 0)
		close(fd);
}

static void peer_of(int fd, struct sockaddr_storage *ss)
{
	socklen_t l = sizeof(*ss);

	assert_int_equal(getpeername(fd, (struct sockaddr *)ss, &l), 0);
}

/*
 * Accept n connections from lfd and take the original destination of
 * each from the map by its peer address; dst[i] belongs to the connection
 * whose client end is res[i].local.
 */
static void accept_take(int lfd, const struct res *res, size_t n, struct intercept_dst *dst)
{
	bool seen[1024] = {0};

	assert_true(n <= 1024);
	for (size_t k = 0; k < n; k++) {
		struct sockaddr_storage peer;
		struct intercept_dst d;
		char buf[80];
		size_t i;
		int fd = accept_one(lfd, 2000);

		assert_true(fd >= 0);
		peer_of(fd, &peer);
		for (i = 0; i < n; i++) {
			struct sockaddr_storage local = sa_unmap(&res[i].local);

			if (!seen[i] && sa_eq(&local, &peer))
				break;
		}
		if (i == n) {
			print_error("accepted a connection from %s that no request made\n",
				    sa_str(&peer, buf, sizeof(buf)));
			fail();
		}
		seen[i] = true;
		assert_int_equal(intercept_take(ctl, (struct sockaddr *)&peer, &d), 0);
		dst[i] = d;
		/* taken: a second lookup misses */
		assert_int_equal(intercept_take(ctl, (struct sockaddr *)&peer, &d), -ENOENT);
		close(fd);
	}
}

static void assert_dst(const struct intercept_dst *d, int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = {.ss_family = d->family};

	if (d->family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = d->addr[0];
		((struct sockaddr_in *)&ss)->sin_port = d->port;
	} else {
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, d->addr, 16);
		((struct sockaddr_in6 *)&ss)->sin6_port = d->port;
	}
	assert_sa(&ss, family, addr, port);
}

static bool quiet(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 0;
}

/* ---- counters ----------------------------------------------------------- */

static void snap(uint64_t s[INTERCEPT_STAT_MAX])
{
	assert_int_equal(intercept_ctl_stats(ctl, s), 0);
}

/* Every counter equals want[] (the snapshot plus the deltas a test expects). */
static void assert_stats(const uint64_t want[INTERCEPT_STAT_MAX])
{
	uint64_t now[INTERCEPT_STAT_MAX];
	bool bad = false;

	snap(now);
	for (int i = 0; i < INTERCEPT_STAT_MAX; i++) {
		if (now[i] == want[i])
			continue;
		print_error("counter %s = %llu, want %llu\n", intercept_stat_name(i),
			    (unsigned long long)now[i], (unsigned long long)want[i]);
		bad = true;
	}
	assert_false(bad);
}

static struct req tcp4(const char *addr, uint16_t port)
{
	struct req r = {.family = AF_INET, .type = SOCK_STREAM, .port = port};

	snprintf(r.addr, sizeof(r.addr), "%s", addr);
	return r;
}

static struct req tcp6(const char *addr, uint16_t port)
{
	struct req r = tcp4(addr, port);

	r.family = AF_INET6;
	return r;
}

/* ---- tests -------------------------------------------------------------- */

/* Two IPv4 connects land on the proxy; each original destination is found once. */
static void test_v4_redirect(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 80), tcp4("127.0.0.3", 443)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct intercept_dst d[2];
	struct res res[2];
	struct kid k;

	(void)state;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG, r, 2, res);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].err, 0);
		/* The client's own view: its peer is the proxy (no getpeername hook). */
		assert_sa(&res[i].peer, AF_INET, "127.0.0.1", port4);
	}
	accept_take(l4, res, 2, d);
	assert_dst(&d[0], AF_INET, "127.0.0.2", 80);
	assert_dst(&d[1], AF_INET, "127.0.0.3", 443);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(d[i].pid, k.pid);
		assert_int_equal(d[i].cgroup_id, cg_id);
	}
	kid_reqs_end(&k);
	assert_int_equal(intercept_ctl_count_orig(ctl), 0);
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_REDIRECTED] += 2;
	want[INTERCEPT_STAT_TRACKED] += 2;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 2;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 2;
	assert_stats(want);
}

/* The sockaddr form of the lookup: IPv4 peers, and the entry goes with the first lookup. */
static void test_lookup_orig_sockaddr(void **state)
{
	const struct req r[] = {tcp4("127.0.0.9", 8080)};
	struct sockaddr_storage peer, orig;
	struct res res;
	struct kid k;
	int fd;

	(void)state;
	drain(l4);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, 0);
	fd = accept_one(l4, 2000);
	assert_true(fd >= 0);
	peer_of(fd, &peer);
	assert_true(sa_eq(&peer, &res.local));
	assert_int_equal(intercept_ctl_count_orig(ctl), 1);
	assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)&peer, &orig), 0);
	assert_sa(&orig, AF_INET, "127.0.0.9", 8080);
	assert_int_equal(intercept_ctl_count_orig(ctl), 0);
	assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)&peer, &orig), -ENOENT);
	close(fd);
	kid_reqs_end(&k);
}

/* IPv6 to a listed port goes to the IPv6 proxy; to another port, nowhere. */
static void test_v6_redirect(void **state)
{
	const struct req r[] = {tcp6("::1", 8080), tcp6("::1", 8081)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct sockaddr_storage peer, orig;
	struct res res[2];
	struct kid k;
	int fd;

	(void)state;
	if (!have_v6)
		skip();
	drain(l6);
	snap(want);
	kid_reqs(&k, IN_CG, r, 2, res);
	assert_int_equal(res[0].err, 0);
	assert_sa(&res[0].peer, AF_INET6, "::1", port6);
	assert_int_equal(res[1].err, ECONNREFUSED);
	fd = accept_one(l6, 2000);
	assert_true(fd >= 0);
	peer_of(fd, &peer);
	assert_true(sa_eq(&peer, &res[0].local));
	assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)&peer, &orig), 0);
	assert_sa(&orig, AF_INET6, "::1", 8080);
	close(fd);
	assert_true(quiet(l6, 100));
	kid_reqs_end(&k);
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_REDIRECTED] += 1;
	want[INTERCEPT_STAT_SKIP_PORT] += 1;
	want[INTERCEPT_STAT_TRACKED] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 1;
	assert_stats(want);
}

/*
 * A dual-stack IPv6 socket connecting to ::ffff:127.0.0.2 runs connect6,
 * speaks IPv4 and reaches the IPv4 proxy, which sees an IPv4 peer; the
 * destination comes back as AF_INET, also when looked up by the peer's
 * v4-mapped form (what a dual-stack listener's getpeername() gives).
 */
static void test_v4_mapped(void **state)
{
	const struct req r[] = {tcp6("::ffff:127.0.0.2", 80), tcp6("::ffff:127.0.0.4", 443)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct sockaddr_storage peer, mapped, orig;
	struct sockaddr_in *in = (struct sockaddr_in *)&peer;
	struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&mapped;
	char a[INET_ADDRSTRLEN], m[64];
	struct res res[2];
	struct kid k;
	int fd;

	(void)state;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG, r, 2, res);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].err, 0);
		snprintf(m, sizeof(m), "::ffff:127.0.0.1");
		assert_sa(&res[i].peer, AF_INET6, m, port4);
	}
	for (int i = 0; i < 2; i++) {
		fd = accept_one(l4, 2000);
		assert_true(fd >= 0);
		peer_of(fd, &peer);
		assert_int_equal(peer.ss_family, AF_INET);
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(m, sizeof(m), "::ffff:%s", a);
		assert_int_not_equal(mkaddr(AF_INET6, m, ntohs(in->sin_port), &mapped), 0);
		/* the client's end, as the client sees it, is the same address v4-mapped */
		assert_true(sa_eq(&mapped, &res[0].local) || sa_eq(&mapped, &res[1].local));
		if (i == 0) {
			assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)m6, &orig),
					 0);
		} else {
			assert_int_equal(
			    intercept_lookup_orig(ctl, (struct sockaddr *)&peer, &orig), 0);
		}
		assert_int_equal(orig.ss_family, AF_INET);
		assert_true(sa_is(&orig, AF_INET, "127.0.0.2", 80) ||
			    sa_is(&orig, AF_INET, "127.0.0.4", 443));
		/* and it is the destination of this very connection */
		if (sa_eq(&mapped, &res[0].local))
			assert_sa(&orig, AF_INET, "127.0.0.2", 80);
		else
			assert_sa(&orig, AF_INET, "127.0.0.4", 443);
		close(fd);
	}
	kid_reqs_end(&k);
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_REDIRECTED] += 2;
	want[INTERCEPT_STAT_TRACKED] += 2;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 2;
	assert_stats(want);
}

/* A port not in the list passes untouched: refused, since nothing listens there. */
static void test_port_not_listed(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 81)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct res res;
	struct kid k;

	(void)state;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	assert_true(quiet(l4, 100));
	kid_reqs_end(&k);
	assert_int_equal(intercept_ctl_count_orig(ctl), 0);
	want[INTERCEPT_STAT_CONNECT] += 1;
	want[INTERCEPT_STAT_SKIP_PORT] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	assert_stats(want);
}

/* A connect straight to the proxy is not an interception: nothing to look up. */
static void test_dst_is_proxy(void **state)
{
	struct req r[] = {tcp4("127.0.0.1", 0)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct sockaddr_storage peer, orig;
	struct res res;
	struct kid k;
	int fd;

	(void)state;
	r[0].port = port4;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, 0);
	fd = accept_one(l4, 2000);
	assert_true(fd >= 0);
	peer_of(fd, &peer);
	assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)&peer, &orig), -ENOENT);
	close(fd);
	kid_reqs_end(&k);
	want[INTERCEPT_STAT_CONNECT] += 1;
	want[INTERCEPT_STAT_SKIP_PROXY] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 1;
	assert_stats(want);
}

/* Processes outside the cgroup (a child, and this test itself) are not seen at all. */
static void test_outside_cgroup(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 80)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct sockaddr_storage sa;
	socklen_t sl = mkaddr(AF_INET, "127.0.0.2", 80, &sa);
	struct res res;
	struct kid k;
	int fd;

	(void)state;
	drain(l4);
	snap(want);
	kid_reqs(&k, OUTSIDE, r, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	kid_reqs_end(&k);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sl), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);
	assert_true(quiet(l4, 100));
	assert_stats(want);
}

/*
 * UDP is untouched: connect() runs connect4 (counted, not redirected), the
 * datagrams arrive where they were sent, and sendto() is not hooked.
 */
static void test_udp_untouched(void **state)
{
	struct req r[] = {tcp4("127.0.0.2", 80), tcp4("127.0.0.2", 80)};
	struct sockaddr_storage sa;
	socklen_t sl = mkaddr(AF_INET, "127.0.0.2", 80, &sa);
	uint64_t want[INTERCEPT_STAT_MAX];
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[8];
	struct res res[2];
	struct kid k;

	(void)state;
	r[0].type = r[1].type = SOCK_DGRAM;
	r[1].op = OP_SENDTO;
	assert_true(u >= 0);
	assert_int_equal(bind(u, (struct sockaddr *)&sa, sl), 0);
	snap(want);
	kid_reqs(&k, IN_CG, r, 2, res);
	assert_int_equal(res[0].err, 0);
	assert_sa(&res[0].peer, AF_INET, "127.0.0.2", 80);
	assert_int_equal(res[1].err, 0);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		struct pollfd p = {.fd = u, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
				 1);
		/* the unconnected socket's name is 0.0.0.0:port: compare ports */
		assert_true(((struct sockaddr_in *)&from)->sin_port ==
				((struct sockaddr_in *)&res[0].local)->sin_port ||
			    ((struct sockaddr_in *)&from)->sin_port ==
				((struct sockaddr_in *)&res[1].local)->sin_port);
	}
	kid_reqs_end(&k);
	close(u);
	want[INTERCEPT_STAT_CONNECT] += 1;
	want[INTERCEPT_STAT_SKIP_NOT_TCP] += 1;
	assert_stats(want);
}

/* A socket carrying skip_mark is left alone; another mark is not. */
static void test_skip_mark(void **state)
{
	struct req r[] = {tcp4("127.0.0.2", 80), tcp4("127.0.0.5", 80)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct intercept_dst d;
	struct res res[2];
	struct kid k;

	(void)state;
	r[0].mark = MARK_SKIP;
	r[1].mark = MARK_SKIP + 1;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG, r, 2, res);
	assert_int_equal(res[0].err, ECONNREFUSED);
	assert_int_equal(res[1].err, 0);
	accept_take(l4, &res[1], 1, &d);
	assert_dst(&d, AF_INET, "127.0.0.5", 80);
	kid_reqs_end(&k);
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_SKIP_MARK] += 1;
	want[INTERCEPT_STAT_REDIRECTED] += 1;
	want[INTERCEPT_STAT_TRACKED] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 1;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 1;
	assert_stats(want);
}

/*
 * Sub-cgroups inherit the programs; the one named by skip_cgid (the proxy's,
 * were it inside) is left alone.
 */
static void test_subcgroups(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 80)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct intercept_dst d;
	struct res res;
	struct kid k;

	(void)state;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_SKIP, r, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	kid_reqs_end(&k);
	kid_reqs(&k, IN_SUB, r, 1, &res);
	assert_int_equal(res.err, 0);
	accept_take(l4, &res, 1, &d);
	assert_dst(&d, AF_INET, "127.0.0.2", 80);
	assert_int_equal(d.cgroup_id, sub_id);
	kid_reqs_end(&k);
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_SKIP_CGROUP] += 1;
	want[INTERCEPT_STAT_REDIRECTED] += 1;
	want[INTERCEPT_STAT_TRACKED] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 1;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 1;
	assert_stats(want);
}

/* A process of the cgroup in another network namespace is not sent to "our" loopback. */
static void test_other_netns(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 80)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct res res;
	struct kid k;

	(void)state;
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG_NEWNS, r, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	kid_reqs_end(&k);
	assert_true(quiet(l4, 100));
	want[INTERCEPT_STAT_CONNECT] += 1;
	want[INTERCEPT_STAT_SKIP_NETNS] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	assert_stats(want);
}

/*
 * Reconfiguration while attached: every port, then one other port only
 * (stale ports must go), then back.
 */
static void test_reconfigure(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 81), tcp4("127.0.0.2", 7), tcp4("127.0.0.2", 80)};
	static const uint16_t only81[] = {81};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct intercept_opts o = base;
	struct intercept_dst d[3];
	struct res res[3];
	struct kid k;

	(void)state;
	drain(l4);
	snap(want);
	o.ports = NULL;
	o.nports = 0;
	o.all_tcp = true;
	assert_int_equal(intercept_ctl_configure(ctl, &o), 0);
	kid_reqs(&k, IN_CG, r, 3, res);
	for (int i = 0; i < 3; i++)
		assert_int_equal(res[i].err, 0);
	accept_take(l4, res, 3, d);
	assert_dst(&d[0], AF_INET, "127.0.0.2", 81);
	assert_dst(&d[1], AF_INET, "127.0.0.2", 7);
	assert_dst(&d[2], AF_INET, "127.0.0.2", 80);
	kid_reqs_end(&k);

	o.all_tcp = false;
	o.ports = only81;
	o.nports = 1;
	assert_int_equal(intercept_ctl_configure(ctl, &o), 0);
	kid_reqs(&k, IN_CG, r, 3, res);
	assert_int_equal(res[0].err, 0);
	assert_int_equal(res[1].err, ECONNREFUSED);
	assert_int_equal(res[2].err, ECONNREFUSED);
	accept_take(l4, res, 1, d);
	assert_dst(&d[0], AF_INET, "127.0.0.2", 81);
	kid_reqs_end(&k);

	assert_int_equal(intercept_ctl_configure(ctl, &base), 0);
	kid_reqs(&k, IN_CG, r, 3, res);
	assert_int_equal(res[0].err, ECONNREFUSED);
	assert_int_equal(res[1].err, ECONNREFUSED);
	assert_int_equal(res[2].err, 0);
	accept_take(l4, &res[2], 1, d);
	kid_reqs_end(&k);

	want[INTERCEPT_STAT_CONNECT] += 9;
	want[INTERCEPT_STAT_REDIRECTED] += 5;
	want[INTERCEPT_STAT_SKIP_PORT] += 4;
	want[INTERCEPT_STAT_TRACKED] += 5;
	want[INTERCEPT_STAT_UNTRACKED] += 4;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 5;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 5;
	assert_stats(want);
}

/* An IPv4-only configuration leaves IPv6 alone (but still takes v4-mapped). */
static void test_no_v6_proxy(void **state)
{
	const struct req r[] = {tcp6("::1", 8080), tcp6("::ffff:127.0.0.6", 8080)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct intercept_opts o = base;
	struct intercept_dst d;
	struct res res[2];
	struct kid k;

	(void)state;
	if (!have_v6)
		skip();
	drain(l4);
	drain(l6);
	snap(want);
	memset(&o.proxy6, 0, sizeof(o.proxy6));
	assert_int_equal(intercept_ctl_configure(ctl, &o), 0);
	kid_reqs(&k, IN_CG, r, 2, res);
	assert_int_equal(res[0].err, ECONNREFUSED);
	assert_int_equal(res[1].err, 0);
	accept_take(l4, &res[1], 1, &d);
	assert_dst(&d, AF_INET, "127.0.0.6", 8080);
	assert_true(quiet(l6, 100));
	kid_reqs_end(&k);
	assert_int_equal(intercept_ctl_configure(ctl, &base), 0);
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_SKIP_NO_PROXY] += 1;
	want[INTERCEPT_STAT_REDIRECTED] += 1;
	want[INTERCEPT_STAT_TRACKED] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 1;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 1;
	assert_stats(want);
}

/* Many connections at once, to many destinations: every one maps back to its own. */
static void test_many(void **state)
{
	enum { N = 300 };
	struct req *r = calloc(N, sizeof(*r));
	struct res *res = calloc(N, sizeof(*res));
	struct intercept_dst *d = calloc(N, sizeof(*d));
	uint64_t want[INTERCEPT_STAT_MAX];
	char a[INET_ADDRSTRLEN];
	struct kid k;

	(void)state;
	assert_non_null(r);
	assert_non_null(res);
	assert_non_null(d);
	drain(l4);
	snap(want);
	for (unsigned int i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "127.0.%u.%u", 1 + i / 200 % 200, 2 + i % 200);
		r[i] = tcp4(a, base_ports[i % 3]);
	}
	kid_reqs(&k, IN_CG, r, N, res);
	for (int i = 0; i < N; i++)
		assert_int_equal(res[i].err, 0);
	assert_int_equal(intercept_ctl_count_orig(ctl), N);
	accept_take(l4, res, N, d);
	for (int i = 0; i < N; i++)
		assert_dst(&d[i], AF_INET, r[i].addr, r[i].port);
	kid_reqs_end(&k);
	assert_int_equal(intercept_ctl_count_orig(ctl), 0);
	want[INTERCEPT_STAT_CONNECT] += N;
	want[INTERCEPT_STAT_REDIRECTED] += N;
	want[INTERCEPT_STAT_TRACKED] += N;
	want[INTERCEPT_STAT_LOOKUP_HIT] += N;
	want[INTERCEPT_STAT_LOOKUP_MISS] += N;
	assert_stats(want);
	free(r);
	free(res);
	free(d);
}

/* Bad options and inputs: clear errors, nothing changed. */
static void test_bad_inputs(void **state)
{
	static uint16_t many[INTERCEPT_PORTS_MAX + 1], zero_port[] = {80, 0};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct sockaddr_storage orig;
	struct {
		sa_family_t f;
		char p[20];
	} un = {AF_UNIX, "x"};
	struct intercept_opts o;
	char junk[80];

	(void)state;
	snap(want);
	for (int i = 0; i <= INTERCEPT_PORTS_MAX; i++)
		many[i] = (uint16_t)(1000 + i);

	o = base;
	memset(&o.proxy4, 0, sizeof(o.proxy4));
	memset(&o.proxy6, 0, sizeof(o.proxy6));
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL); /* no proxy at all */
	o = base;
	o.proxy4.sin_port = 0;
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL);
	o = base;
	o.proxy4.sin_addr.s_addr = htonl(INADDR_ANY);
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL);
	o = base;
	o.proxy4.sin_family = AF_INET6;
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL);
	o = base;
	o.proxy6.sin6_family = AF_INET6;
	o.proxy6.sin6_port = htons(1);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &o.proxy6.sin6_addr);
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL);
	o = base;
	o.nports = 0;
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL); /* would intercept nothing */
	o = base;
	o.all_tcp = true;
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL); /* both */
	o = base;
	o.ports = many;
	o.nports = INTERCEPT_PORTS_MAX + 1;
	assert_int_equal(intercept_ctl_configure(ctl, &o), -E2BIG);
	o.nports = INTERCEPT_PORTS_MAX; /* exactly the limit fits */
	assert_int_equal(intercept_ctl_configure(ctl, &o), 0);
	o = base;
	o.ports = zero_port;
	o.nports = 2;
	assert_int_equal(intercept_ctl_configure(ctl, &o), -EINVAL);
	assert_int_equal(intercept_ctl_configure(ctl, NULL), -EINVAL);
	assert_int_equal(intercept_ctl_configure(ctl, &base), 0);

	o = base;
	o.nports = 0;
	errno = 0;
	assert_null(intercept_ctl_open(&o, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(intercept_ctl_open(&base, "/tmp/xdpt"));
	assert_int_equal(errno, EINVAL);
	snprintf(junk, sizeof(junk), "/sys/fs/bpf/xdpt-none-%d", getpid());
	assert_null(intercept_ctl_open_pinned(junk));
	assert_int_equal(errno, ENOENT);
	assert_null(intercept_ctl_open_pinned("/etc"));
	assert_int_equal(errno, EINVAL);
	intercept_ctl_close(NULL);

	assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)&un, &orig), -EAFNOSUPPORT);
	assert_int_equal(intercept_lookup_orig(ctl, NULL, &orig), -EINVAL);
	assert_int_equal(intercept_detach_pinned(pin_dir, "xdpt-no-such-cgroup"), -ENOENT);
	assert_int_equal(intercept_detach_pinned("/tmp", cg), -EINVAL);
	assert_int_equal(intercept_ctl_attach(ctl, cg), -EBUSY);
	assert_null(intercept_stat_name(INTERCEPT_STAT_MAX));
	assert_string_equal(intercept_stat_name(INTERCEPT_STAT_SKIP_PORT), "skip_port");
	for (int i = 0; i < INTERCEPT_STAT_MAX; i++)
		assert_non_null(intercept_stat_name(i));
	assert_stats(want);

	/* still intercepting 80 after all that */
	{
		const struct req r[] = {tcp4("127.0.0.2", 80), tcp4("127.0.0.2", 1000)};
		struct intercept_dst d;
		struct res res[2];
		struct kid k;

		drain(l4);
		kid_reqs(&k, IN_CG, r, 2, res);
		assert_int_equal(res[0].err, 0);
		assert_int_equal(res[1].err, ECONNREFUSED); /* the 256-port list is gone */
		accept_take(l4, res, 1, &d);
		kid_reqs_end(&k);
	}
}

/* Paths: relative, absolute, escaping, missing, not a directory. */
static void test_cgroup_paths(void **state)
{
	char out[PATH_MAX], in[PATH_MAX + 64];
	uint64_t id;
	struct stat st;

	(void)state;
	assert_int_equal(cgroupfs_resolve(cg_name, out, sizeof(out)), 0);
	assert_string_equal(out, cg);
	assert_int_equal(cgroupfs_resolve(cg, out, sizeof(out)), 0);
	assert_string_equal(out, cg);
	snprintf(in, sizeof(in), "%s/skip/..", cg_name);
	assert_int_equal(cgroupfs_resolve(in, out, sizeof(out)), 0);
	assert_string_equal(out, cg);
	snprintf(in, sizeof(in), "%s/sub", cg);
	assert_int_equal(cgroupfs_resolve(in, out, sizeof(out)), 0);
	assert_string_equal(out, cg_sub);
	snprintf(in, sizeof(in), "%s/../..", cg_name);
	assert_int_equal(cgroupfs_resolve(in, out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroupfs_resolve("/tmp", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroupfs_resolve("xdpt-no-such-cgroup", out, sizeof(out)), -ENOENT);
	snprintf(in, sizeof(in), "%s/cgroup.procs", cg_name);
	assert_int_equal(cgroupfs_resolve(in, out, sizeof(out)), -ENOTDIR);
	assert_int_equal(cgroupfs_resolve("", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroupfs_resolve(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroupfs_resolve(cg_name, out, 8), -ENAMETOOLONG);
	/* the root itself is a cgroup too */
	assert_int_equal(cgroupfs_resolve(cg_root, out, sizeof(out)), 0);

	assert_true(cgroupfs_within("/a/b", "/a"));
	assert_true(cgroupfs_within("/a", "/a"));
	assert_true(cgroupfs_within("/a/b", "/a/"));
	assert_false(cgroupfs_within("/ab", "/a"));
	assert_false(cgroupfs_within("/a", "/a/b"));
	assert_true(cgroupfs_within("/x", "/"));

	/* On 64-bit kernels a cgroup's id is its kernfs inode number. */
	assert_int_equal(cgroupfs_id(cg, &id), 0);
	assert_int_equal(stat(cg, &st), 0);
	assert_int_equal(id, st.st_ino);
	assert_int_equal(id, cg_id);
	assert_int_equal(cgroupfs_id("/nonexistent-xdpt", &id), -ENOENT);
}

/* Programs attached to a cgroup for a hook; UINT32_MAX on error (no asserts: children use it). */
static uint32_t prog_count(const char *dir, enum bpf_attach_type t)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	__u32 cnt = 0;

	if (fd < 0)
		return UINT32_MAX;
	if (bpf_prog_query(fd, t, 0, NULL, NULL, &cnt))
		cnt = UINT32_MAX;
	close(fd);
	return cnt;
}

/*
 * A loader inside the cgroup it would intercept is refused (its own
 * connects would loop), unless its cgroup is the skipped one.
 */
static int kid_loop(void *arg, int res_fd)
{
	struct intercept_opts o = base;
	struct intercept_ctl *c;
	int rc = 0;

	(void)arg;
	(void)res_fd;
	o.skip_cgid = 0;
	c = intercept_ctl_open(&o, NULL);
	if (!c)
		return 20;
	if (intercept_ctl_attach(c, cg) != -ELOOP)
		rc = 21;
	if (!rc && intercept_ctl_attach(c, cg_sub) != 0) /* we are in cg, not below sub */
		rc = 22;
	if (!rc && intercept_ctl_detach(c) != 0)
		rc = 23;
	o.skip_cgid = cg_id;
	if (!rc && intercept_ctl_configure(c, &o))
		rc = 24;
	if (!rc && intercept_ctl_attach(c, cg) != 0)
		rc = 25;
	if (!rc && intercept_ctl_detach(c) != 0)
		rc = 26;
	if (!rc && intercept_ctl_detach(c) != -ENOENT)
		rc = 27;
	/* Without a pin directory, closing the handle detaches. */
	if (!rc && intercept_ctl_attach(c, cg_sub) != 0)
		rc = 28;
	if (!rc && prog_count(cg_sub, BPF_CGROUP_INET4_CONNECT) != 1)
		rc = 29;
	intercept_ctl_close(c);
	if (!rc && prog_count(cg_sub, BPF_CGROUP_INET4_CONNECT) != 0)
		rc = 30;
	return rc;
}

static void test_loop_refused(void **state)
{
	uint64_t want[INTERCEPT_STAT_MAX];
	struct kid k;

	(void)state;
	snap(want);
	kid_start(&k, IN_CG, kid_loop, NULL);
	assert_int_equal(kid_end(&k), 0);
	assert_stats(want);
}

static bool pinned(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return access(path, F_OK) == 0;
}

static bool link_pinned(uint64_t id, const char *hook)
{
	char name[64];

	snprintf(name, sizeof(name), "cg%llu_%s", (unsigned long long)id, hook);
	return pinned(name);
}

/*
 * The pins: what the proxy opens. A second handle on them (the proxy's)
 * takes entries and sees the same counters; a second loader on the same pin
 * directory shares the maps, refuses a cgroup already intercepted and may
 * attach below it, where both programs then run, once each.
 */
static void test_pins_shared(void **state)
{
	const struct req r[] = {tcp4("127.0.0.7", 443)};
	uint64_t want[INTERCEPT_STAT_MAX], via[INTERCEPT_STAT_MAX];
	struct intercept_ctl *proxy, *second;
	struct sockaddr_storage peer, orig;
	struct res res;
	struct kid k;
	int fd;

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_true(pinned(map_pins[i]));
	for (size_t i = 0; i < 3; i++)
		assert_true(link_pinned(cg_id, link_pins[i]));
	assert_int_equal(prog_count(cg, BPF_CGROUP_INET4_CONNECT), 1);
	assert_int_equal(prog_count(cg, BPF_CGROUP_INET6_CONNECT), 1);
	assert_int_equal(prog_count(cg, BPF_CGROUP_SOCK_OPS), 1);
	assert_int_equal(prog_count(cg_sub, BPF_CGROUP_INET4_CONNECT), 0);
	assert_string_equal(intercept_ctl_cgroup(ctl), cg);

	proxy = intercept_ctl_open_pinned(pin_dir);
	assert_non_null(proxy);
	assert_null(intercept_ctl_cgroup(proxy));
	assert_int_equal(intercept_ctl_attach(proxy, cg_sub), -EINVAL);
	drain(l4);
	snap(want);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, 0);
	fd = accept_one(l4, 2000);
	assert_true(fd >= 0);
	peer_of(fd, &peer);
	assert_int_equal(intercept_lookup_orig(proxy, (struct sockaddr *)&peer, &orig), 0);
	assert_sa(&orig, AF_INET, "127.0.0.7", 443);
	assert_int_equal(intercept_lookup_orig(ctl, (struct sockaddr *)&peer, &orig), -ENOENT);
	close(fd);
	kid_reqs_end(&k);
	want[INTERCEPT_STAT_CONNECT] += 1;
	want[INTERCEPT_STAT_REDIRECTED] += 1;
	want[INTERCEPT_STAT_TRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 1;
	want[INTERCEPT_STAT_LOOKUP_MISS] += 1;
	assert_stats(want);
	assert_int_equal(intercept_ctl_stats(proxy, via), 0);
	assert_memory_equal(via, want, sizeof(via));

	second = intercept_ctl_open(&base, pin_dir);
	assert_non_null(second);
	assert_int_equal(intercept_ctl_attach(second, cg), -EEXIST);
	assert_int_equal(intercept_ctl_attach(second, cg_sub), 0);
	for (size_t i = 0; i < 3; i++)
		assert_true(link_pinned(sub_id, link_pins[i]));
	kid_reqs(&k, IN_SUB, r, 1, &res);
	assert_int_equal(res.err, 0);
	fd = accept_one(l4, 2000);
	assert_true(fd >= 0);
	peer_of(fd, &peer);
	assert_int_equal(intercept_lookup_orig(proxy, (struct sockaddr *)&peer, &orig), 0);
	assert_sa(&orig, AF_INET, "127.0.0.7", 443);
	close(fd);
	kid_reqs_end(&k);
	/* One program redirected, the other saw the proxy; one tracked, one not. */
	want[INTERCEPT_STAT_CONNECT] += 2;
	want[INTERCEPT_STAT_REDIRECTED] += 1;
	want[INTERCEPT_STAT_SKIP_PROXY] += 1;
	want[INTERCEPT_STAT_TRACKED] += 1;
	want[INTERCEPT_STAT_UNTRACKED] += 1;
	want[INTERCEPT_STAT_LOOKUP_HIT] += 1;
	assert_stats(want);

	assert_int_equal(intercept_ctl_detach(second), 0);
	for (size_t i = 0; i < 3; i++)
		assert_false(link_pinned(sub_id, link_pins[i]));
	for (size_t i = 0; i < 5; i++)
		assert_true(pinned(map_pins[i])); /* cg still uses them */
	assert_int_equal(prog_count(cg_sub, BPF_CGROUP_INET4_CONNECT), 0);
	intercept_ctl_close(second);

	/* A loader that closes without detaching leaves its pinned attachment running. */
	second = intercept_ctl_open(&base, pin_dir);
	assert_non_null(second);
	assert_int_equal(intercept_ctl_attach(second, cg_sub), 0);
	intercept_ctl_close(second);
	assert_int_equal(prog_count(cg_sub, BPF_CGROUP_INET4_CONNECT), 1);
	assert_int_equal(intercept_detach_pinned(pin_dir, cg_sub), 0);
	assert_int_equal(prog_count(cg_sub, BPF_CGROUP_INET4_CONNECT), 0);
	assert_int_equal(prog_count(cg_sub, BPF_CGROUP_SOCK_OPS), 0);
	assert_int_equal(intercept_detach_pinned(pin_dir, cg_sub), -ENOENT);
	for (size_t i = 0; i < 5; i++)
		assert_true(pinned(map_pins[i]));
	intercept_ctl_close(proxy);
}

/* The sums the header promises hold over everything the tests above did. */
static void test_counters_add_up(void **state)
{
	uint64_t s[INTERCEPT_STAT_MAX], outcomes = 0;

	(void)state;
	snap(s);
	for (int i = INTERCEPT_STAT_REDIRECTED; i <= INTERCEPT_STAT_SKIP_PORT; i++)
		outcomes += s[i];
	assert_true(s[INTERCEPT_STAT_CONNECT] > 300);
	assert_int_equal(s[INTERCEPT_STAT_CONNECT], outcomes);
	/* every TCP connect here reached its SYN */
	assert_int_equal(s[INTERCEPT_STAT_TRACKED] + s[INTERCEPT_STAT_TRACK_FAIL] +
			     s[INTERCEPT_STAT_UNTRACKED],
			 s[INTERCEPT_STAT_CONNECT] - s[INTERCEPT_STAT_SKIP_NOT_TCP] -
			     s[INTERCEPT_STAT_STORE_FAIL]);
	/* and every tracked one was taken exactly once */
	assert_int_equal(s[INTERCEPT_STAT_LOOKUP_HIT], s[INTERCEPT_STAT_TRACKED]);
	assert_int_equal(intercept_ctl_count_orig(ctl), 0);
	assert_int_equal(s[INTERCEPT_STAT_STORE_FAIL], 0);
	assert_int_equal(s[INTERCEPT_STAT_TRACK_FAIL], 0);
}

/*
 * Detach restores plain behaviour and removes every pin; the same loader
 * can attach again (re-pinning its maps) and detach once more.
 */
static void test_detach(void **state)
{
	const struct req r[] = {tcp4("127.0.0.2", 80)};
	uint64_t want[INTERCEPT_STAT_MAX];
	struct sockaddr_storage peer, orig;
	struct intercept_ctl *proxy;
	struct res res;
	struct kid k;
	int fd;

	(void)state;
	snap(want);
	assert_int_equal(intercept_ctl_detach(ctl), 0);
	assert_int_equal(intercept_ctl_detach(ctl), -ENOENT);
	assert_null(intercept_ctl_cgroup(ctl));
	assert_int_equal(prog_count(cg, BPF_CGROUP_INET4_CONNECT), 0);
	assert_int_equal(prog_count(cg, BPF_CGROUP_INET6_CONNECT), 0);
	assert_int_equal(prog_count(cg, BPF_CGROUP_SOCK_OPS), 0);
	assert_int_equal(access(pin_dir, F_OK), -1);
	assert_int_equal(intercept_detach_pinned(pin_dir, NULL), -ENOENT);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	kid_reqs_end(&k);
	assert_true(quiet(l4, 100));
	assert_stats(want);

	assert_int_equal(intercept_ctl_attach(ctl, cg_name), 0);
	proxy = intercept_ctl_open_pinned(pin_dir);
	assert_non_null(proxy);
	drain(l4);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, 0);
	fd = accept_one(l4, 2000);
	assert_true(fd >= 0);
	peer_of(fd, &peer);
	assert_int_equal(intercept_lookup_orig(proxy, (struct sockaddr *)&peer, &orig), 0);
	assert_sa(&orig, AF_INET, "127.0.0.2", 80);
	close(fd);
	kid_reqs_end(&k);
	intercept_ctl_close(proxy);
	/* the CLI's way out, for every cgroup of the pin directory */
	assert_int_equal(intercept_detach_pinned(pin_dir, NULL), 0);
	assert_int_equal(prog_count(cg, BPF_CGROUP_INET4_CONNECT), 0);
	assert_int_equal(access(pin_dir, F_OK), -1);
	kid_reqs(&k, IN_CG, r, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	kid_reqs_end(&k);
}

/* ---- main --------------------------------------------------------------- */

static int skip_run(const char *why, int err)
{
	fprintf(stderr, "test_intercept: %s%s%s; skipped\n", why, err ? ": " : "",
		err ? strerror(err) : "");
	cleanup();
	return 77;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroup_paths),
	    cmocka_unit_test(test_v4_redirect),
	    cmocka_unit_test(test_lookup_orig_sockaddr),
	    cmocka_unit_test(test_v6_redirect),
	    cmocka_unit_test(test_v4_mapped),
	    cmocka_unit_test(test_port_not_listed),
	    cmocka_unit_test(test_dst_is_proxy),
	    cmocka_unit_test(test_outside_cgroup),
	    cmocka_unit_test(test_udp_untouched),
	    cmocka_unit_test(test_skip_mark),
	    cmocka_unit_test(test_subcgroups),
	    cmocka_unit_test(test_other_netns),
	    cmocka_unit_test(test_reconfigure),
	    cmocka_unit_test(test_no_v6_proxy),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_loop_refused),
	    cmocka_unit_test(test_pins_shared),
	    cmocka_unit_test(test_counters_add_up),
	    cmocka_unit_test(test_detach),
	};
	struct sockaddr_storage sa;
	socklen_t sl;
	int err, rc, one = 1;
	char self[PATH_MAX];

	if (geteuid() != 0) {
		fprintf(stderr, "test_intercept: needs root; skipped\n");
		return 77;
	}
	log_set_level(LOG_LVL_WARN);
	log_hook_libbpf();
	/*
	 * A network namespace of our own, and a mount namespace so that a
	 * cgroup2 or bpffs mount the loader may make (nothing mounted there)
	 * ends with us; pins still land in the one bpffs when it is mounted.
	 */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS))
		return skip_run("unshare(CLONE_NEWNET | CLONE_NEWNS)", errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return skip_run("cannot make / a slave mount", errno);
	err = lo_up();
	if (err)
		return skip_run("cannot bring lo up", -err);

	err = cgroupfs_root(cg_root, sizeof(cg_root));
	if (err)
		return skip_run("no cgroup v2", -err);
	/* Whatever happens from here on, the cgroups and pins go. */
	snprintf(cg_name, sizeof(cg_name), "xdpt-%d", getpid());
	snprintf(pin_parent, sizeof(pin_parent), "/sys/fs/bpf/xdpt-%d", getpid());
	snprintf(pin_dir, sizeof(pin_dir), "%s/intercept", pin_parent);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGALRM, on_signal);
	alarm(300); /* watchdog: a hung child must not leave the cgroup behind */
	snprintf(cg, sizeof(cg), "%s/%s", cg_root, cg_name);
	if (mkdir(cg, 0755))
		return skip_run("cannot create a cgroup", errno);
	snprintf(cg_skip, sizeof(cg_skip), "%s/skip", cg);
	snprintf(cg_sub, sizeof(cg_sub), "%s/sub", cg);
	if (mkdir(cg_skip, 0755) || mkdir(cg_sub, 0755))
		return skip_run("cannot create a sub-cgroup", errno);
	if (cgroupfs_id(cg, &cg_id) || cgroupfs_id(cg_skip, &skip_id) ||
	    cgroupfs_id(cg_sub, &sub_id))
		return skip_run("no cgroup ids (name_to_handle_at)", errno);
	/* Never intercept ourselves: the test must run outside its cgroup. */
	if (!cgroupfs_self(self, sizeof(self)) && cgroupfs_within(self, cg)) {
		fprintf(stderr, "test_intercept: runs inside %s?\n", cg);
		return 1;
	}

	/* The proxy: 127.0.0.1:<p4> and, if the kernel has IPv6, [::1]:<p6>. */
	sl = mkaddr(AF_INET, "127.0.0.1", 0, &sa);
	l4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l4 < 0 || bind(l4, (struct sockaddr *)&sa, sl) || listen(l4, 1024) ||
	    getsockname(l4, (struct sockaddr *)&sa, &sl)) {
		perror("test_intercept: IPv4 listener");
		return 1;
	}
	port4 = ntohs(((struct sockaddr_in *)&sa)->sin_port);
	sl = mkaddr(AF_INET6, "::1", 0, &sa);
	l6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l6 >= 0 && !setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) &&
	    !bind(l6, (struct sockaddr *)&sa, sl) && !listen(l6, 64) &&
	    !getsockname(l6, (struct sockaddr *)&sa, &sl)) {
		have_v6 = true;
		port6 = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	} else {
		fprintf(stderr, "test_intercept: no IPv6 loopback, IPv6 tests skipped\n");
	}

	base.proxy4.sin_family = AF_INET;
	base.proxy4.sin_port = htons(port4);
	base.proxy4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (have_v6) {
		base.proxy6.sin6_family = AF_INET6;
		base.proxy6.sin6_port = htons(port6);
		base.proxy6.sin6_addr = in6addr_loopback;
	}
	base.ports = base_ports;
	base.nports = 3;
	base.skip_mark = MARK_SKIP;
	base.skip_cgid = skip_id;

	ctl = intercept_ctl_open(&base, pin_dir);
	if (!ctl) {
		err = errno;
		if (err == EINVAL || err == EOPNOTSUPP || err == 524 /* ENOTSUPP */)
			return skip_run("cannot load the cgroup programs", err);
		fprintf(stderr, "test_intercept: intercept_ctl_open: %s\n", strerror(err));
		return 1;
	}
	err = intercept_ctl_attach(ctl, cg_name);
	if (err) {
		if (err == -EINVAL || err == -EOPNOTSUPP)
			return skip_run("cannot attach to a cgroup", -err);
		fprintf(stderr, "test_intercept: intercept_ctl_attach: %s\n", strerror(-err));
		return 1;
	}
	rc = cmocka_run_group_tests_name("intercept", tests, NULL, NULL);
	cleanup();
	close(l4);
	if (l6 >= 0)
		close(l6);
	return rc;
}
