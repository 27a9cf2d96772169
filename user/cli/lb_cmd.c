// SPDX-License-Identifier: BSD-2-Clause
/*
 * The load balancer's commands: attach, detach, status, vip, backend,
 * stats. Each invocation opens the state pinned under --pin-path, changes
 * or prints it and exits; the XDP program keeps forwarding meanwhile.
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfctl/decap.h"
#include "bpfctl/lb.h"
#include "cli/cli.h"
#include "config/config.h"
#include "tls/tls.h"
#include "util/log.h"

struct lb_opts {
	const char *pin;
	const char *config;
	const char *mode;	/* attach: native|generic; vip: forwarding mode */
	const char *proto;
	const char *source;
	const char *level;
	long table_size;
	long weight;
	double interval;
	long count;
	bool watch;
	bool undo;
};

static void lb_usage(FILE *f)
{
	fprintf(f, "load balancer (XDP) commands:\n"
		   "  attach IFACE [--mode native|generic] [-c FILE]\n"
		   "                     load the XDP load balancer on IFACE; with FILE, make its\n"
		   "                     VIPs and backends exactly those of FILE's 'lb:' section\n"
		   "  detach IFACE       remove it from IFACE (state stays pinned)\n"
		   "  status             attached interfaces and pinned state\n"
		   "  vip add ADDR:PORT [--proto tcp|udp] [--mode dsr-l2|ipip|nat]\n"
		   "          [--source ADDR] [--table-size PRIME]\n"
		   "  vip del ADDR:PORT [--proto tcp|udp]\n"
		   "  vip list\n"
		   "  backend add VIP ADDR[:PORT] [--weight N] [--proto tcp|udp]\n"
		   "  backend del VIP ADDR[:PORT] [--proto tcp|udp]\n"
		   "  backend drain ADDR[:PORT] [--undo]\n"
		   "  backend list [VIP] [--proto tcp|udp]\n"
		   "  backend refresh    resolve every backend's next hop (output interface and\n"
		   "                     MACs, cached for the datapath) again, e.g. after a route\n"
		   "                     or neighbour change; unresolved ones fall back to a\n"
		   "                     per-packet FIB lookup\n"
		   "  stats [--watch] [--interval SECONDS] [--count N]\n"
		   "  decap attach|detach|status IFACE\n"
		   "                     on a backend of an ipip VIP: strip the outer header on\n"
		   "                     IFACE's TC ingress (this kernel has no ipip module)\n"
		   "common options: --pin-path DIR (default " LB_PIN_DEFAULT "), --log-level LEVEL\n");
}

bool lb_cmd_known(const char *cmd)
{
	static const char *const cmds[] = { "attach", "detach", "status", "vip", "backend", "stats",
					    "decap" };
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i]))
			return true;
	return false;
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "xdproxy: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_proto(const char *s, uint8_t *proto)
{
	if (!s || !strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* VIP argument "ADDR:PORT" + --proto into a key; prints the error. */
static int vip_key(const char *s, const char *proto, struct lb_vip_key *k)
{
	__be16 port;

	memset(k, 0, sizeof(*k));
	if (lb_addr_parse(s, &k->family, k->addr, &port) || !port)
		return bad("bad VIP '%s': want ADDR:PORT, e.g. 198.18.0.10:80 or [2001:db8::10]:80",
			   s);
	k->port = port;
	if (parse_proto(proto, &k->proto))
		return bad("bad protocol '%s': tcp or udp", proto);
	return 0;
}

static int fail(const char *what, int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		fprintf(stderr, "xdproxy: %s: %s (run as root: CAP_BPF and CAP_NET_ADMIN)\n", what,
			strerror(-err));
		break;
	case EAFNOSUPPORT:
		fprintf(stderr, "xdproxy: %s: the backend's address family differs from the VIP's\n",
			what);
		break;
	case EDESTADDRREQ:
		fprintf(stderr, "xdproxy: %s: modes ipip and nat need --source ADDR (the LB's address "
				"toward backends)\n",
			what);
		break;
	case EADDRINUSE:
		fprintf(stderr,
			"xdproxy: %s: a NAT source cannot be a VIP address (replies to a VIP "
			"address are never translated back): use an address of its own\n",
			what);
		break;
	case EDOM:
		fprintf(stderr, "xdproxy: %s: table size must be a prime <= %u\n", what, LB_RING_MAX);
		break;
	case ENOSPC:
		fprintf(stderr, "xdproxy: %s: table full (at most %u VIP entries, %u backends)\n", what,
			LB_MAX_VIPS, LB_MAX_REALS - 1);
		break;
	default:
		fprintf(stderr, "xdproxy: %s: %s\n", what, strerror(-err));
	}
	return 1;
}

static struct lb_ctl *open_state(const struct lb_opts *o, unsigned int flags)
{
	struct lb_ctl *ctl = lb_ctl_open(o->pin, flags);

	if (!ctl && errno != ENOENT)
		fail("cannot open the load balancer state", -errno);
	return ctl;
}

/* ---- attach with a config: make the pinned state what the file says ---- */

struct want {
	const struct cfg *cfg;
	struct lb_vip_key *stale;
	size_t n_stale;
};

static int collect_stale(void *arg, const struct lb_vip_info *vi)
{
	struct want *w = arg;
	struct lb_vip_key k;
	size_t i;

	for (i = 0; i < w->cfg->nr_vips; i++) {
		cfg_vip_key(&w->cfg->vips[i], false, &k);
		if (!memcmp(&k, &vi->key, sizeof(k)))
			return 0;
	}
	w->stale[w->n_stale++] = vi->key;
	return 0;
}

struct want_be {
	const struct cfg_vip *cv;
	struct lb_backend_info *stale;
	size_t n_stale;
};

static int collect_stale_be(void *arg, const struct lb_backend_info *bi)
{
	struct want_be *w = arg;
	size_t i;

	for (i = 0; i < w->cv->nr_backends; i++) {
		const struct cfg_lb_backend *b = &w->cv->backends[i];

		if (!memcmp(b->addr.addr, bi->real.addr, 16) &&
		    (!bi->real.port || htons(b->port ? b->port : w->cv->port) == bi->real.port))
			return 0;
	}
	w->stale[w->n_stale++] = *bi;
	return 0;
}

static int apply_cfg(struct lb_ctl *ctl, const struct cfg *cfg)
{
	struct want w = { .cfg = cfg };
	char buf[80];
	size_t i, j;
	int err;

	w.stale = calloc(LB_MAX_VIPS, sizeof(*w.stale));
	if (!w.stale)
		return -ENOMEM;
	lb_ctl_vip_foreach(ctl, collect_stale, &w);
	for (i = 0; i < w.n_stale; i++) {
		err = lb_ctl_vip_del(ctl, &w.stale[i]);
		if (err)
			goto out;
	}
	for (i = 0; i < cfg->nr_vips; i++) {
		const struct cfg_vip *cv = &cfg->vips[i];
		struct want_be wb = { .cv = cv };
		struct lb_vip_key k;

		cfg_vip_key(cv, false, &k);
		err = lb_ctl_vip_set(ctl, &k, cv->mode, cv->src.addr, cv->table_size);
		if (err) {
			pr_err("vip %s: %s", cv->name, strerror(-err));
			goto out;
		}
		wb.stale = calloc(LB_MAX_REALS, sizeof(*wb.stale));
		if (!wb.stale) {
			err = -ENOMEM;
			goto out;
		}
		lb_ctl_backend_foreach(ctl, &k, collect_stale_be, &wb);
		for (j = 0; j < wb.n_stale; j++)
			lb_ctl_backend_del(ctl, &k, wb.stale[j].real.family, wb.stale[j].real.addr,
					   wb.stale[j].real.port);
		free(wb.stale);
		for (j = 0; j < cv->nr_backends; j++) {
			const struct cfg_lb_backend *b = &cv->backends[j];

			err = lb_ctl_backend_set(ctl, &k, b->addr.family, b->addr.addr,
						 htons(b->port), b->weight);
			if (err) {
				pr_err("vip %s: backend %s: %s", cv->name,
				       lb_addr_fmt(b->addr.family, b->addr.addr, htons(b->port), buf,
						   sizeof(buf)),
				       strerror(-err));
				goto out;
			}
		}
	}
	err = 0;
out:
	free(w.stale);
	return err;
}

/* ---- commands ------------------------------------------------------------ */

static int cmd_attach(const struct lb_opts *o, const char *ifname)
{
	enum lb_attach_mode mode = LB_ATTACH_NATIVE;
	struct cfg *cfg = NULL;
	struct lb_ctl *ctl;
	bool legacy = false;
	int ifindex, err, ret = 1;

	if (o->mode && !strcmp(o->mode, "generic"))
		mode = LB_ATTACH_GENERIC;
	else if (o->mode && strcmp(o->mode, "native"))
		return bad("bad attach mode '%s': native or generic", o->mode);
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return bad("no interface '%s' in this network namespace", ifname);
	if (o->config) {
		cfg = cli_load_cfg(o->config);
		if (!cfg)
			return 1;
		if (!cfg->nr_vips) {
			fprintf(stderr, "xdproxy: %s: no lb vips defined\n", o->config);
			cfg_free(cfg);
			return 1;
		}
	}
	ctl = open_state(o, LB_CTL_CREATE | LB_CTL_LOCK);
	if (!ctl)
		goto out_cfg;
	/* Tables first, so the program goes live with its VIPs in place. */
	if (cfg) {
		err = apply_cfg(ctl, cfg);
		if (err) {
			fail("applying the config", err);
			goto out_ctl;
		}
	}
	err = lb_ctl_attach(ctl, ifindex, mode, &legacy);
	if (err) {
		if (err == -EEXIST)
			fprintf(stderr,
				"xdproxy: %s already runs another XDP program; detach it first\n",
				ifname);
		else if (err == -EOPNOTSUPP && mode == LB_ATTACH_NATIVE)
			fprintf(stderr,
				"xdproxy: %s has no native XDP support; try --mode generic\n",
				ifname);
		else
			fail("attach", err);
		goto out_ctl;
	}
	printf("attached xdp_lb_ingress to %s (%s%s)\n", ifname,
	       mode == LB_ATTACH_GENERIC ? "generic" : "native",
	       legacy ? "; single program: libxdp's multi-program dispatcher needs "
			"BPF_PROG_TYPE_EXT, which this kernel lacks"
		      : "; through libxdp's dispatcher");
	if (cfg)
		printf("%zu VIP(s) from %s\n", cfg->nr_vips, o->config);
	ret = 0;
out_ctl:
	lb_ctl_close(ctl);
out_cfg:
	cfg_free(cfg);
	return ret;
}

static int cmd_detach(const char *ifname)
{
	int ifindex = if_nametoindex(ifname), err;

	if (!ifindex)
		return bad("no interface '%s' in this network namespace", ifname);
	err = lb_ctl_detach(ifindex);
	if (err == -ENOENT) {
		fprintf(stderr, "xdproxy: the load balancer is not attached to %s\n", ifname);
		return 1;
	}
	if (err == -EEXIST) {
		fprintf(stderr, "xdproxy: %s runs another XDP program; left alone\n", ifname);
		return 1;
	}
	if (err)
		return fail("detach", err);
	printf("detached from %s\n", ifname);
	return 0;
}

static int count_vip(void *arg, const struct lb_vip_info *vi)
{
	(void)vi;
	(*(size_t *)arg)++;
	return 0;
}

static int cmd_status(const struct lb_opts *o)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct lb_ctl *ctl;
	size_t n_attached = 0, n_vips = 0;

	printf("%-16s %-8s %-8s %s\n", "INTERFACE", "XDP", "MODE", "PROGRAM");
	for (i = ifs; i && i->if_index; i++) {
		struct lb_ifstatus st;

		if (lb_ctl_ifstatus(i->if_index, &st) || !st.prog_id)
			continue;
		printf("%-16s %-8u %-8s %s%s\n", i->if_name, st.prog_id, st.mode,
		       st.ours ? "xdp_lb_ingress" : "other",
		       st.ours && st.legacy ? " (single program, no libxdp dispatcher)" : "");
		n_attached += st.ours;
	}
	if_freenameindex(ifs);
	/* what TLS listeners (`xdproxy run`) get from this kernel */
	printf("kTLS: %s\n",
	       tls_ktls_available()
		       ? "available: TLS records in the kernel, TLS tunnels spliced"
		       : "unavailable (no TLS ULP in this kernel, CONFIG_TLS): TLS stays in "
			 "userspace, TLS tunnels are relayed, not spliced");
	log_set_level(LOG_LVL_ERROR + (log_get_level() > LOG_LVL_INFO));
	ctl = lb_ctl_open(o->pin, 0);
	if (!ctl) {
		printf("state: none under %s\n", o->pin ? o->pin : LB_PIN_DEFAULT);
		return n_attached ? 1 : 0;
	}
	lb_ctl_vip_foreach(ctl, count_vip, &n_vips);
	printf("state: %s, %zu VIP(s); attached to %zu interface(s) here\n",
	       o->pin ? o->pin : LB_PIN_DEFAULT, n_vips, n_attached);
	lb_ctl_close(ctl);
	return 0;
}

static int print_vip(void *arg, const struct lb_vip_info *vi)
{
	char a[80], s[64];

	(void)arg;
	printf("%-28s %-4s %-7s %-20s %-8u %-9u %-12llu %llu\n",
	       lb_addr_fmt(vi->key.family, vi->key.addr, vi->key.port, a, sizeof(a)),
	       vi->key.proto == IPPROTO_UDP ? "udp" : "tcp", lb_mode_name(vi->vip.mode),
	       vi->vip.mode == LB_MODE_DSR_L2 ? "-"
					      : lb_addr_fmt(vi->key.family, vi->vip.src, 0, s,
							    sizeof(s)),
	       vi->table_size, vi->n_backends, (unsigned long long)vi->ctr.packets,
	       (unsigned long long)vi->ctr.bytes);
	return 0;
}

static int print_backend(void *arg, const struct lb_backend_info *bi)
{
	const char *vip = arg;
	char a[80];

	printf("%-28s %-28s %-6u %-6u %-9s %-8u %-12llu %llu\n", vip,
	       lb_addr_fmt(bi->real.family, bi->real.addr, bi->real.port, a, sizeof(a)),
	       bi->id, bi->weight,
	       (bi->real.flags & LB_REAL_F_DRAINING) ? "draining" : "active", bi->slots,
	       (unsigned long long)bi->ctr.packets, (unsigned long long)bi->ctr.bytes);
	return 0;
}

static int list_backends_of(void *arg, const struct lb_vip_info *vi)
{
	char a[80];

	(void)arg;
	lb_addr_fmt(vi->key.family, vi->key.addr, vi->key.port, a, sizeof(a));
	if (vi->key.proto == IPPROTO_UDP)
		strcat(a, "/udp");
	return lb_ctl_backend_foreach((struct lb_ctl *)arg, &vi->key, print_backend, a);
}

static int cmd_vip(const struct lb_opts *o, int argc, char **argv)
{
	struct lb_vip_key k;
	struct lb_ctl *ctl;
	__be32 src[4] = { 0 };
	uint8_t mode = LB_MODE_DSR_L2, fam;
	__be16 port;
	int ret, err;

	if (argc < 1)
		return bad("vip needs add, del or list%s", "");
	if (!strcmp(argv[0], "list")) {
		if (argc != 1)
			return bad("unexpected argument '%s'", argv[1]);
		ctl = open_state(o, 0);
		if (!ctl)
			return 1;
		printf("%-28s %-4s %-7s %-20s %-8s %-9s %-12s %s\n", "VIP", "PROTO", "MODE",
		       "SOURCE", "TABLE", "BACKENDS", "PACKETS", "BYTES");
		err = lb_ctl_vip_foreach(ctl, print_vip, NULL);
		lb_ctl_close(ctl);
		return err ? fail("vip list", err) : 0;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "del"))
		return bad("unknown vip command '%s': add, del or list", argv[0]);
	if (argc != 2)
		return bad("vip %s needs exactly one ADDR:PORT", argv[0]);
	ret = vip_key(argv[1], o->proto, &k);
	if (ret)
		return ret;
	if (!strcmp(argv[0], "add")) {
		if (o->mode && lb_mode_parse(o->mode, &mode))
			return bad("bad mode '%s': dsr-l2, ipip or nat", o->mode);
		if (o->source) {
			if (lb_addr_parse(o->source, &fam, src, &port) || port)
				return bad("bad --source '%s': an address without port",
					   o->source);
			if (fam != k.family)
				return bad("--source %s is not of the VIP's address family",
					   o->source);
		}
	}
	ctl = open_state(o, LB_CTL_LOCK);
	if (!ctl)
		return 1;
	if (!strcmp(argv[0], "add"))
		err = lb_ctl_vip_set(ctl, &k, mode, src, (uint32_t)o->table_size);
	else
		err = lb_ctl_vip_del(ctl, &k);
	lb_ctl_close(ctl);
	if (err == -ENOENT)
		return fprintf(stderr, "xdproxy: no VIP %s\n", argv[1]), 1;
	return err ? fail(argv[0][0] == 'a' ? "vip add" : "vip del", err) : 0;
}

static int cmd_backend(const struct lb_opts *o, int argc, char **argv)
{
	struct lb_vip_key k;
	struct lb_ctl *ctl;
	__be32 addr[4];
	uint8_t fam;
	__be16 port;
	char a[80];
	int ret, err;

	if (argc < 1)
		return bad("backend needs add, del, drain, list or refresh%s", "");
	if (!strcmp(argv[0], "list")) {
		if (argc > 2)
			return bad("unexpected argument '%s'", argv[2]);
		if (argc == 2 && (ret = vip_key(argv[1], o->proto, &k)))
			return ret;
		ctl = open_state(o, 0);
		if (!ctl)
			return 1;
		printf("%-28s %-28s %-6s %-6s %-9s %-8s %-12s %s\n", "VIP", "BACKEND", "ID",
		       "WEIGHT", "STATE", "SLOTS", "PACKETS", "BYTES");
		if (argc == 2) {
			snprintf(a, sizeof(a), "%s%s", argv[1], k.proto == IPPROTO_UDP ? "/udp" : "");
			err = lb_ctl_backend_foreach(ctl, &k, print_backend, a);
		} else {
			err = lb_ctl_vip_foreach(ctl, list_backends_of, ctl);
		}
		lb_ctl_close(ctl);
		if (err == -ENOENT)
			return fprintf(stderr, "xdproxy: no VIP %s\n", argv[1]), 1;
		return err ? fail("backend list", err) : 0;
	}
	if (!strcmp(argv[0], "drain")) {
		if (argc != 2)
			return bad("backend drain needs exactly one ADDR[:PORT]%s", "");
		if (lb_addr_parse(argv[1], &fam, addr, &port))
			return bad("bad backend address '%s'", argv[1]);
		ctl = open_state(o, LB_CTL_LOCK);
		if (!ctl)
			return 1;
		err = lb_ctl_backend_drain(ctl, fam, addr, port, !o->undo);
		lb_ctl_close(ctl);
		if (err == -ENOENT)
			return fprintf(stderr, "xdproxy: no backend %s\n", argv[1]), 1;
		return err ? fail("backend drain", err) : 0;
	}
	if (!strcmp(argv[0], "refresh")) {
		if (argc != 1)
			return bad("unexpected argument '%s'", argv[1]);
		ctl = open_state(o, LB_CTL_LOCK);
		if (!ctl)
			return 1;
		err = lb_ctl_refresh_hops(ctl);
		lb_ctl_close(ctl);
		if (err < 0)
			return fail("backend refresh", err);
		printf("next hops refreshed: %d changed\n", err);
		return 0;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "del"))
		return bad("unknown backend command '%s': add, del, drain, list or refresh", argv[0]);
	if (argc != 3)
		return bad("backend %s needs VIP and ADDR[:PORT]", argv[0]);
	ret = vip_key(argv[1], o->proto, &k);
	if (ret)
		return ret;
	if (lb_addr_parse(argv[2], &fam, addr, &port))
		return bad("bad backend address '%s'", argv[2]);
	ctl = open_state(o, LB_CTL_LOCK);
	if (!ctl)
		return 1;
	if (!strcmp(argv[0], "add"))
		err = lb_ctl_backend_set(ctl, &k, fam, addr, port,
					 o->weight < 0 ? 1 : (uint32_t)o->weight);
	else
		err = lb_ctl_backend_del(ctl, &k, fam, addr, port);
	lb_ctl_close(ctl);
	if (err == -ENOENT)
		return fprintf(stderr, "xdproxy: no VIP %s or no backend %s in it\n", argv[1],
			       argv[2]),
		       1;
	if (err == -EINVAL)
		return fprintf(stderr,
			       "xdproxy: backend %s: only nat VIPs can send to another port\n",
			       argv[2]),
		       1;
	return err ? fail(argv[0][0] == 'a' ? "backend add" : "backend del", err) : 0;
}

static int cmd_decap(int argc, char **argv)
{
	int ifindex, err;
	uint32_t id;

	if (argc != 2)
		return bad("decap needs attach, detach or status and one interface%s", "");
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex)
		return bad("no interface '%s' in this network namespace", argv[1]);
	if (!strcmp(argv[0], "status")) {
		id = decap_query(ifindex);
		if (id)
			printf("%s: tc_decap_ingress attached (program id %u)\n", argv[1], id);
		else
			printf("%s: no decap program\n", argv[1]);
		return 0;
	}
	if (!strcmp(argv[0], "attach")) {
		err = decap_attach(ifindex);
		if (err)
			return fail("decap attach", err);
		printf("tc_decap_ingress attached to %s ingress\n", argv[1]);
		return 0;
	}
	if (!strcmp(argv[0], "detach")) {
		err = decap_detach(ifindex);
		if (err == -ENOENT)
			return fprintf(stderr, "xdproxy: no decap program on %s\n", argv[1]), 1;
		if (err)
			return fail("decap detach", err);
		printf("tc_decap_ingress detached from %s\n", argv[1]);
		return 0;
	}
	return bad("unknown decap command '%s': attach, detach or status", argv[0]);
}

static volatile sig_atomic_t stop_watch;

static void on_sigint(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static int cmd_stats(const struct lb_opts *o)
{
	uint64_t s[LB_STAT_MAX], d[LB_DROP_MAX], ps[LB_STAT_MAX] = { 0 }, pd[LB_DROP_MAX] = { 0 };
	struct lb_ctl *ctl = open_state(o, 0);
	struct lb_nat_census nc;
	long round = 0;
	unsigned int i;
	int err = 0;

	if (!ctl)
		return 1;
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	while (!stop_watch) {
		err = lb_ctl_stats(ctl, s, d);
		if (err)
			break;
		if (o->watch)
			printf("--- %s%ld\n", round ? "round " : "totals, round ", round);
		for (i = 0; i < LB_STAT_MAX + LB_DROP_MAX; i++) {
			bool drop = i >= LB_STAT_MAX;
			unsigned int j = drop ? i - LB_STAT_MAX : i;
			uint64_t v = drop ? d[j] : s[j], pv = drop ? pd[j] : ps[j];

			if (o->watch && !v)
				continue;
			printf("%s%-*s %14llu", drop ? "drop " : "", drop ? 14 : 19,
			       drop ? lb_drop_name(j) : lb_stat_name(j),
			       (unsigned long long)v);
			if (o->watch && round)
				printf(" %12.0f/s", (double)(v - pv) / o->interval);
			printf("\n");
		}
		err = lb_ctl_nat_census(ctl, &nc);
		if (err)
			break;
		if (!o->watch || nc.total) {
			printf("nat_entries         %14llu\n", (unsigned long long)nc.total);
			printf("nat_unanswered      %14llu\n", (unsigned long long)nc.unanswered);
			printf("nat_established     %14llu\n", (unsigned long long)nc.established);
			printf("nat_closing         %14llu\n", (unsigned long long)nc.closing);
			printf("nat_closed          %14llu\n", (unsigned long long)nc.closed);
			printf("nat_expired         %14llu\n", (unsigned long long)nc.expired);
		}
		fflush(stdout);
		memcpy(ps, s, sizeof(s));
		memcpy(pd, d, sizeof(d));
		round++;
		if (!o->watch || (o->count > 0 && round >= o->count))
			break;
		{
			struct timespec ts = { (time_t)o->interval,
					       (long)((o->interval - (time_t)o->interval) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	lb_ctl_close(ctl);
	return err ? fail("stats", err) : 0;
}

int lb_cmd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-path", required_argument, NULL, 'P' },
		{ "config", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "proto", required_argument, NULL, 'p' },
		{ "source", required_argument, NULL, 's' },
		{ "table-size", required_argument, NULL, 't' },
		{ "weight", required_argument, NULL, 'w' },
		{ "watch", no_argument, NULL, 'W' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "undo", no_argument, NULL, 'u' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_opts o = { .weight = -1, .interval = 1.0 };
	const char *cmd = argv[1];
	enum log_level lvl;
	char *end;
	int c;

	o.pin = getenv("XDPROXY_PIN_PATH");
	optind = 2;
	/* '+' would stop at the first operand; permute so options may follow them. */
	while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			o.pin = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'm':
			o.mode = optarg;
			break;
		case 'p':
			o.proto = optarg;
			break;
		case 's':
			o.source = optarg;
			break;
		case 't':
			if (parse_long(optarg, 1, LB_RING_MAX, &o.table_size))
				return bad("bad --table-size '%s'", optarg);
			break;
		case 'w':
			if (parse_long(optarg, 0, 65535, &o.weight))
				return bad("bad --weight '%s': 0..65535", optarg);
			break;
		case 'W':
			o.watch = true;
			break;
		case 'i':
			o.interval = strtod(optarg, &end);
			if (*end || end == optarg || !(o.interval >= 0.1 && o.interval <= 3600))
				return bad("bad --interval '%s': 0.1..3600 seconds", optarg);
			break;
		case 'n':
			if (parse_long(optarg, 1, 1000000, &o.count))
				return bad("bad --count '%s'", optarg);
			break;
		case 'u':
			o.undo = true;
			break;
		case 'l':
			o.level = optarg;
			break;
		case 'h':
			lb_usage(stdout);
			return 0;
		default:
			lb_usage(stderr);
			return 2;
		}
	}
	if (o.level) {
		if (log_level_parse(o.level, &lvl))
			return bad("unknown log level '%s'", o.level);
		log_set_level(lvl);
	}
	log_hook_libbpf();
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "attach") || !strcmp(cmd, "detach")) {
		if (argc != 1)
			return bad("%s needs exactly one interface", cmd);
		return !strcmp(cmd, "attach") ? cmd_attach(&o, argv[0]) : cmd_detach(argv[0]);
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "stats")) {
		if (argc)
			return bad("unexpected argument '%s'", argv[0]);
		return !strcmp(cmd, "status") ? cmd_status(&o) : cmd_stats(&o);
	}
	if (!strcmp(cmd, "vip"))
		return cmd_vip(&o, argc, argv);
	if (!strcmp(cmd, "decap"))
		return cmd_decap(argc, argv);
	return cmd_backend(&o, argc, argv);
}

void lb_cmd_usage(FILE *f)
{
	lb_usage(f);
}
