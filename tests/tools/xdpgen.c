// SPDX-License-Identifier: BSD-2-Clause
/*
 * xdpgen: small-packet UDP generator and XDP_DROP sink for the load
 * balancer's packets-per-second benchmark (tools/bench_lb.sh). One
 * self-contained file, raw bpf(2) only, so it builds without libbpf.
 *
 *   xdpgen udp IFACE --dst-mac MAC --src IP:PORT --dst IP:PORT
 *              [--size BYTES] [--seconds S] [--threads N] [--batch N]
 *        sends one UDP flow out of IFACE as fast as it can for S seconds
 *        and prints "sent N seconds S pps P" on stdout; --batch: frames
 *        the kernel runs before it flushes them to IFACE (default 64)
 *   xdpgen sink IFACE
 *        attaches an XDP_DROP program to IFACE (native mode) until
 *        SIGTERM/SIGINT: the cheapest possible receiver, which the
 *        caller counts with IFACE's own XDP counters (ethtool -S)
 *
 * Why not xdp-trafficgen: xdp-tools 1.3.1 (Debian 12) cannot load it on
 * this kernel (its object traces xdp_redirect_map_err, a tracepoint
 * newer kernels no longer have), and xdp-bench fails the same way.
 *
 * The generator is what xdp-trafficgen does: BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs a program over page-pool frames
 * holding the packet, and its XDP_TX becomes a real transmission out of
 * IFACE (ndo_xdp_xmit; on a veth, straight into the peer's XDP ring).
 * The kernel does not restore a recycled frame's bytes, and on veth
 * whoever receives the frame may rewrite it in place (the LB's NAT does)
 * before it comes back to the pool, so the program writes the whole
 * Ethernet + IPv4 + UDP header again on every packet (immediate stores:
 * no map). The payload is zeros and nobody writes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN	  (ETH_HLEN + sizeof(struct iphdr) + sizeof(struct udphdr)) /* 42 */
#define FRAME_MIN 60 /* the Ethernet minimum, without FCS */
#define FRAME_MAX 1500
#define CHUNK	  (1u << 20) /* packets per BPF_PROG_RUN call */
#define BATCH_MAX 256	     /* frames per batch inside one call: the kernel's maximum */
#define INSN_MAX  64

/* clang-format off */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_REG(d, s)	    INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i)	    INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LDX_W(d, s, o)	    INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define ST_W(d, o, i)	    INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define ST_H(d, o, i)	    INSN(BPF_ST | BPF_MEM | BPF_H, d, 0, o, i)
#define JGT_REG(d, s, o)    INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, o, 0)
#define EXIT()		    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* clang-format on */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static char verifier_log[1 << 16];

/* Load an XDP program; returns its fd or -1 (errno set, log on stderr). */
static int prog_load(const struct bpf_insn *insns, size_t n, const char *name)
{
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.expected_attach_type = BPF_XDP;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = n;
	a.license = (uintptr_t) "GPL";
	a.log_buf = (uintptr_t)verifier_log;
	a.log_size = sizeof(verifier_log);
	a.log_level = 1;
	strncpy(a.prog_name, name, sizeof(a.prog_name) - 1);
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0) {
		int e = errno;

		fprintf(stderr, "xdpgen: loading %s: %s\n%s\n", name, strerror(e), verifier_log);
		errno = e;
	}
	return fd;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
}

/* The frame: Ethernet + IPv4 (DF, TTL 64) + UDP with a full checksum. */
static void frame_build(uint8_t *f, size_t len, const uint8_t dmac[6], const uint8_t smac[6],
			struct in_addr src, uint16_t sport, struct in_addr dst, uint16_t dport)
{
	struct ethhdr *eth = (struct ethhdr *)f;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	size_t l4 = len - ETH_HLEN - sizeof(*ip);
	uint32_t sum;

	memset(f, 0, len);
	memcpy(eth->h_dest, dmac, 6);
	memcpy(eth->h_source, smac, 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(len - ETH_HLEN);
	ip->id = 0;
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
	udp->source = htons(sport);
	udp->dest = htons(dport);
	udp->len = htons(l4);
	/* pseudo header: addresses, protocol, UDP length */
	sum = csum_add(0, &ip->saddr, 8);
	sum += IPPROTO_UDP + l4;
	sum = csum_add(sum, udp, l4);
	udp->check = htons(csum_fold(sum));
	if (!udp->check)
		udp->check = 0xffff;
}

/* Program: rewrite the HDR_LEN header bytes of the frame, then XDP_TX. */
static int gen_prog_load(const uint8_t *hdr)
{
	struct bpf_insn p[INSN_MAX];
	size_t n = 0, off;
	uint32_t w;
	uint16_t h;

	p[n++] = LDX_W(BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, data));
	p[n++] = LDX_W(BPF_REG_3, BPF_REG_1, offsetof(struct xdp_md, data_end));
	p[n++] = MOV_REG(BPF_REG_4, BPF_REG_2);
	p[n++] = ADD_IMM(BPF_REG_4, HDR_LEN);
	p[n++] = JGT_REG(BPF_REG_4, BPF_REG_3, 0); /* patched below: -> aborted */
	for (off = 0; off + 4 <= HDR_LEN; off += 4) {
		memcpy(&w, hdr + off, 4); /* host order, as the BPF machine stores it */
		p[n++] = ST_W(BPF_REG_2, off, (int32_t)w);
	}
	if (off < HDR_LEN) {
		memcpy(&h, hdr + off, 2);
		p[n++] = ST_H(BPF_REG_2, off, h);
	}
	p[n++] = MOV_IMM(BPF_REG_0, XDP_TX);
	p[n++] = EXIT();
	p[4].off = n - 5;
	p[n++] = MOV_IMM(BPF_REG_0, XDP_ABORTED);
	p[n++] = EXIT();
	return prog_load(p, n, "xdpgen_tx");
}

struct gen {
	int prog_fd;
	int ifindex;
	const uint8_t *frame;
	size_t len;
	unsigned int batch;
	struct timespec end;
	atomic_ullong sent;
	atomic_int err;
};

static bool past(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > end->tv_sec ||
	       (now.tv_sec == end->tv_sec && now.tv_nsec >= end->tv_nsec);
}

static void *gen_thread(void *arg)
{
	struct gen *g = arg;
	struct xdp_md ctx = {.data_end = g->len, .ingress_ifindex = g->ifindex};
	union bpf_attr a;

	while (!stop && !past(&g->end)) {
		memset(&a, 0, sizeof(a));
		a.test.prog_fd = g->prog_fd;
		a.test.data_in = (uintptr_t)g->frame;
		a.test.data_size_in = g->len;
		a.test.ctx_in = (uintptr_t)&ctx;
		a.test.ctx_size_in = sizeof(ctx);
		a.test.repeat = CHUNK;
		a.test.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
		a.test.batch_size = g->batch;
		if (sys_bpf(BPF_PROG_TEST_RUN, &a)) {
			if (errno == EINTR)
				continue;
			atomic_store(&g->err, errno);
			break;
		}
		atomic_fetch_add(&g->sent, CHUNK);
	}
	return NULL;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		mac[i] = b[i];
	}
	return 0;
}

/* "198.18.0.1:9" */
static int parse_ep(const char *s, struct in_addr *a, uint16_t *port)
{
	char buf[64], *colon, *end;
	long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535 || inet_pton(AF_INET, buf, a) != 1)
		return -EINVAL;
	*port = p;
	return 0;
}

/* The interface's own MAC, from sysfs of the current network namespace. */
static int iface_mac(const char *ifname, uint8_t mac[6])
{
	char path[128], line[64];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ret = fgets(line, sizeof(line), f) ? parse_mac(strtok(line, "\n"), mac) : -EIO;
	fclose(f);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xdpgen udp IFACE --dst-mac MAC --src IP:PORT --dst IP:PORT\n"
		   "                  [--size BYTES] [--seconds S] [--threads N] [--batch N]\n"
		   "       xdpgen sink IFACE\n");
}

static int cmd_udp(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dst-mac", required_argument, NULL, 'm'}, {"src", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'd'},     {"size", required_argument, NULL, 'l'},
	    {"seconds", required_argument, NULL, 't'}, {"threads", required_argument, NULL, 'n'},
	    {"batch", required_argument, NULL, 'b'},   {NULL, 0, NULL, 0},
	};
	uint8_t dmac[6], smac[6], frame[FRAME_MAX];
	bool have_mac = false, have_src = false, have_dst = false;
	struct in_addr src, dst;
	uint16_t sport = 0, dport = 0;
	long len = FRAME_MIN, threads = 1, batch = 64;
	double secs = 5, el;
	struct timespec t0, t1;
	pthread_t tid[64];
	struct gen g;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mac(optarg, dmac))
				goto bad;
			have_mac = true;
			break;
		case 's':
			if (parse_ep(optarg, &src, &sport))
				goto bad;
			have_src = true;
			break;
		case 'd':
			if (parse_ep(optarg, &dst, &dport))
				goto bad;
			have_dst = true;
			break;
		case 'l':
			len = strtol(optarg, NULL, 10);
			if (len < FRAME_MIN || len > FRAME_MAX)
				goto bad;
			break;
		case 't':
			secs = strtod(optarg, NULL);
			if (!(secs > 0 && secs < 3600))
				goto bad;
			break;
		case 'n':
			threads = strtol(optarg, NULL, 10);
			if (threads < 1 || threads > 64)
				goto bad;
			break;
		case 'b':
			batch = strtol(optarg, NULL, 10);
			if (batch < 1 || batch > BATCH_MAX)
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (optind != argc - 1 || !have_mac || !have_src || !have_dst)
		goto bad;
	memset(&g, 0, sizeof(g));
	g.ifindex = if_nametoindex(argv[optind]);
	if (!g.ifindex || iface_mac(argv[optind], smac)) {
		fprintf(stderr, "xdpgen: no interface %s here\n", argv[optind]);
		return 1;
	}
	frame_build(frame, len, dmac, smac, src, sport, dst, dport);
	g.prog_fd = gen_prog_load(frame);
	if (g.prog_fd < 0)
		return 1;
	g.frame = frame;
	g.len = len;
	g.batch = batch;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	g.end = t0;
	g.end.tv_sec += (time_t)secs;
	g.end.tv_nsec += (long)((secs - (time_t)secs) * 1e9);
	if (g.end.tv_nsec >= 1000000000L) {
		g.end.tv_sec++;
		g.end.tv_nsec -= 1000000000L;
	}
	for (long i = 0; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, gen_thread, &g)) {
			fprintf(stderr, "xdpgen: pthread_create failed\n");
			stop = 1;
			threads = i;
			break;
		}
	}
	for (long i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(g.prog_fd);
	if (atomic_load(&g.err)) {
		fprintf(stderr, "xdpgen: BPF_PROG_RUN (live frames): %s\n",
			strerror(atomic_load(&g.err)));
		return 1;
	}
	el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sent %llu seconds %.3f pps %.0f\n", (unsigned long long)atomic_load(&g.sent), el,
	       atomic_load(&g.sent) / el);
	return 0;
bad:
	usage(stderr);
	return 2;
}

static int cmd_sink(int argc, char **argv)
{
	const struct bpf_insn drop[] = {MOV_IMM(BPF_REG_0, XDP_DROP), EXIT()};
	union bpf_attr a;
	int prog, link, ifindex;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "xdpgen: no interface %s here\n", argv[1]);
		return 1;
	}
	prog = prog_load(drop, 2, "xdpgen_sink");
	if (prog < 0)
		return 1;
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = prog;
	a.link_create.target_ifindex = ifindex;
	a.link_create.attach_type = BPF_XDP;
	a.link_create.flags = XDP_FLAGS_DRV_MODE;
	link = sys_bpf(BPF_LINK_CREATE, &a);
	if (link < 0) {
		fprintf(stderr, "xdpgen: attaching to %s (native): %s\n", argv[1], strerror(errno));
		close(prog);
		return 1;
	}
	/* The link lives as long as this process holds it. */
	printf("sink attached to %s\n", argv[1]);
	fflush(stdout);
	while (!stop)
		pause();
	close(link);
	close(prog);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (argc >= 2 && !strcmp(argv[1], "udp"))
		return cmd_udp(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return cmd_sink(argc - 1, argv + 1);
	usage(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout
										  : stderr);
	return 2;
}
