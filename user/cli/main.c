// SPDX-License-Identifier: BSD-2-Clause
/*
 * The xdproxy command. Subcommands:
 *   run -c FILE      run the controller (listeners, pools, kernel splice)
 *   check -c FILE    validate a config file and exit
 *   attach, detach, status, vip, backend, stats   the XDP load balancer (lb_cmd.c)
 *   version, help
 * Only this file writes to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bpfctl/splice.h"
#include "cli/cli.h"
#include "config/config.h"
#include "ev/ev.h"
#include "proxy/http.h"
#include "proxy/tcp.h"
#include "util/log.h"

#define XDPROXY_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f, "usage: xdproxy <command> [options]\n"
		   "\n"
		   "commands:\n"
		   "  run -c FILE [--log-level LEVEL]\n"
		   "                     run the proxy with the config FILE ('-' = embedded demo "
		   "default)\n"
		   "  check -c FILE      validate FILE and print a summary\n"
		   "  version            print the version\n"
		   "  help               this text\n"
		   "\n");
	lb_cmd_usage(f);
	intercept_cmd_usage(f);
}

struct cfg *cli_load_cfg(const char *path)
{
	char err[CFG_ERR_MAX] = "";
	struct cfg *cfg;

	if (!strcmp(path, "-"))
		cfg = cfg_parse_string("<default>", cfg_default_yaml, strlen(cfg_default_yaml), err,
				       sizeof(err));
	else
		cfg = cfg_parse_file(path, err, sizeof(err));
	if (!cfg)
		fprintf(stderr, "xdproxy: %s\n", err[0] ? err : strerror(errno));
	return cfg;
}

struct run_ctx {
	struct ev_loop *loop;
	struct tp_proxy *proxy;
	struct hp_server *http;
	const struct cfg *cfg;
	struct ev_timer *stats_timer;
};

static void log_stats(struct run_ctx *rc);

/* An HTTP tunnel (after 101) becomes a spliced TCP session. */
static void http_handoff(void *arg, const struct hp_handoff *h)
{
	int err = tp_proxy_adopt(arg, h->listener, h->cfd, h->bfd, h->pool, h->backend, h->log_done,
				 h->log_ctx);

	if (err)
		pr_warn("http: tunnel hand-off failed: %s", strerror(-err));
}

static void signal_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct run_ctx *rc = arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1) {
		/* Operators' and tests' view of the counters and every session. */
		if (rc->proxy) {
			log_stats(rc);
			tp_proxy_dump(rc->proxy, stderr);
		}
		return;
	}
	if (si.ssi_signo == SIGHUP) {
		/* certificates are re-read without dropping a connection */
		if (rc->http && hp_server_reload_tls(rc->http))
			pr_warn("reload: some certificates could not be loaded; they keep the old "
				"ones");
		return;
	}
	pr_info("signal %u: shutting down", si.ssi_signo);
	ev_stop(loop);
}

static void log_stats(struct run_ctx *rc)
{
	struct splice_ctl *sc = tp_proxy_splice(rc->proxy);
	struct tp_totals t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	tp_proxy_totals(rc->proxy, &t);
	pr_info("stats accepted=%llu active=%llu spliced=%llu no_backend=%llu fallback=%llu "
		"aborted=%llu adopted=%llu sni_routed=%llu sni_refused=%llu sockhash=%ld",
		(unsigned long long)t.accepted, (unsigned long long)t.active,
		(unsigned long long)t.spliced_active, (unsigned long long)t.no_backend,
		(unsigned long long)t.kernel_fallback, (unsigned long long)t.aborted,
		(unsigned long long)t.adopted, (unsigned long long)t.sni_routed,
		(unsigned long long)t.sni_refused, sc ? splice_ctl_count_socks(sc) : 0L);
	if (sc) {
		uint64_t st[SPLICE_STAT_MAX];

		if (!splice_ctl_stats(sc, st))
			pr_info("stats splice redirect=%llu redirect_bytes=%llu pass_unarmed=%llu "
				"pass_pending=%llu pass_credit=%llu pass_bytes=%llu "
				"redirect_fail=%llu no_slot=%llu drop_fin=%llu ev_lost=%llu "
				"inject=%llu "
				"inject_bytes=%llu trim=%llu trim_bytes=%llu trim_fail=%llu "
				"seq_gap=%llu",
				(unsigned long long)st[SPLICE_STAT_REDIRECT],
				(unsigned long long)st[SPLICE_STAT_REDIRECT_BYTES],
				(unsigned long long)st[SPLICE_STAT_PASS_UNARMED],
				(unsigned long long)st[SPLICE_STAT_PASS_PENDING],
				(unsigned long long)st[SPLICE_STAT_PASS_CREDIT],
				(unsigned long long)st[SPLICE_STAT_PASS_BYTES],
				(unsigned long long)st[SPLICE_STAT_REDIRECT_FAIL],
				(unsigned long long)st[SPLICE_STAT_NO_SLOT],
				(unsigned long long)st[SPLICE_STAT_DROP_FIN],
				(unsigned long long)st[SPLICE_STAT_EV_LOST],
				(unsigned long long)st[SPLICE_STAT_INJECT],
				(unsigned long long)st[SPLICE_STAT_INJECT_BYTES],
				(unsigned long long)st[SPLICE_STAT_TRIM],
				(unsigned long long)st[SPLICE_STAT_TRIM_BYTES],
				(unsigned long long)st[SPLICE_STAT_TRIM_FAIL],
				(unsigned long long)st[SPLICE_STAT_SEQ_GAP]);
	}
	if (rc->http) {
		struct hp_totals h;

		hp_server_totals(rc->http, &h);
		pr_info("stats http accepted=%llu active=%llu requests=%llu 1xx=%llu 2xx=%llu "
			"3xx=%llu 4xx=%llu 5xx=%llu bad_request=%llu no_route=%llu "
			"up_connects=%llu up_reused=%llu up_connect_fail=%llu retries=%llu "
			"up_bad_response=%llu timeouts=%llu upgrades=%llu handoffs=%llu "
			"tls_handshakes=%llu tls_resumed=%llu tls_failed=%llu "
			"h2_conns=%llu h2_streams=%llu bytes_in=%llu bytes_out=%llu",
			(unsigned long long)h.accepted, (unsigned long long)h.active,
			(unsigned long long)h.requests, (unsigned long long)h.status[1],
			(unsigned long long)h.status[2], (unsigned long long)h.status[3],
			(unsigned long long)h.status[4], (unsigned long long)h.status[5],
			(unsigned long long)h.bad_request, (unsigned long long)h.no_route,
			(unsigned long long)h.up_connects, (unsigned long long)h.up_reused,
			(unsigned long long)h.up_connect_fail, (unsigned long long)h.retries,
			(unsigned long long)h.up_bad_response, (unsigned long long)h.timeouts,
			(unsigned long long)h.upgrades, (unsigned long long)h.handoffs,
			(unsigned long long)h.tls_handshakes, (unsigned long long)h.tls_resumed,
			(unsigned long long)h.tls_failed, (unsigned long long)h.h2_conns,
			(unsigned long long)h.h2_streams, (unsigned long long)h.bytes_in,
			(unsigned long long)h.bytes_out);
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	tp_proxy_print_stats(rc->proxy, f);
	if (rc->http)
		hp_server_print_stats(rc->http, f);
	fclose(f);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		pr_info("stats %s", line);
	free(buf);
}

static void stats_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct run_ctx *rc = arg;

	(void)t;
	log_stats(rc);
	rc->stats_timer = ev_timer_add(loop, rc->cfg->stats_interval_ms, stats_cb, rc);
}

/* Sessions use 2 fds (4 more for pipes in user mode): lift the soft limit. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int cmd_run(const char *path, const char *level)
{
	struct run_ctx rc = {0};
	struct cfg *cfg;
	sigset_t mask;
	int sfd = -1, ret = 1;
	enum log_level lvl;

	cfg = cli_load_cfg(path);
	if (!cfg)
		return 1;
	if (!cfg->nr_listeners) {
		fprintf(stderr,
			"xdproxy: %s: no listeners defined (lb vips are for 'xdproxy attach')\n",
			path);
		goto out_cfg;
	}
	log_set_level((enum log_level)cfg->log_level);
	if (level) {
		if (log_level_parse(level, &lvl)) {
			fprintf(stderr, "xdproxy: unknown log level '%s'\n", level);
			goto out_cfg;
		}
		log_set_level(lvl);
	}
	log_hook_libbpf();
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);

	rc.cfg = cfg;
	rc.loop = ev_loop_new(1 << 20);
	if (!rc.loop) {
		pr_err("event loop: %s", strerror(errno));
		goto out_cfg;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || ev_add_fd(rc.loop, sfd, EV_READ, signal_cb, &rc)) {
		pr_err("signalfd: %s", strerror(errno));
		goto out_loop;
	}
	rc.proxy = tp_proxy_new(rc.loop, cfg);
	if (!rc.proxy)
		goto out_sig;
	rc.http = hp_server_new(cfg);
	if (!rc.http && errno != ENOENT)
		goto out_proxy;
	if (rc.http && tp_proxy_splice(rc.proxy) &&
	    hp_server_set_handoff(rc.http, rc.loop, http_handoff, rc.proxy))
		pr_warn("http: tunnels stay in userspace: cannot set up the hand-off");
	if (rc.http && hp_server_start(rc.http)) {
		pr_err("http workers: %s", strerror(errno));
		goto out_proxy;
	}
	if (cfg->stats_interval_ms)
		rc.stats_timer = ev_timer_add(rc.loop, cfg->stats_interval_ms, stats_cb, &rc);
	if (tp_proxy_splice(rc.proxy))
		pr_info("ready: %zu listener(s), kernel splice, sockhash map id %u",
			cfg->nr_listeners, splice_ctl_socks_map_id(tp_proxy_splice(rc.proxy)));
	else
		pr_info("ready: %zu listener(s), userspace splice only", cfg->nr_listeners);

	if (ev_run(rc.loop))
		pr_err("event loop failed: %s", strerror(errno));
	else
		ret = 0;
	log_stats(&rc);
	ev_timer_cancel(rc.loop, rc.stats_timer);
out_proxy:
	/*
	 * Sessions first: adopted tunnels write their access log lines through
	 * the HTTP server's log fd as they close.
	 */
	tp_proxy_free(rc.proxy);
	hp_server_free(rc.http);
out_sig:
	if (sfd >= 0) {
		ev_del_fd(rc.loop, sfd);
		close(sfd);
	}
out_loop:
	ev_loop_free(rc.loop);
out_cfg:
	cfg_free(cfg);
	return ret;
}

static int cmd_check(const char *path)
{
	struct cfg *cfg = cli_load_cfg(path);

	if (!cfg)
		return 1;
	printf("%s: ok, %zu listener(s), %zu pool(s), %zu vip(s)\n", path, cfg->nr_listeners,
	       cfg->nr_pools, cfg->nr_vips);
	/* A forward proxy's reach is easy to get wrong: say who may use it for what. */
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];
		const struct cfg_forward *f = &l->forward;

		if (l->mode != CFG_MODE_FORWARD)
			continue;
		printf(
		    "  %s: forward proxy on %s, %zu client prefix(es), %zu rule(s), auth %s%s%s\n",
		    l->name, l->bind_str, f->nr_clients, f->nr_rules,
		    f->auth_file[0] ? f->auth_file : "off", f->anonymous ? ", anonymous" : "",
		    f->has_parent ? ", via parent" : "");
	}
	cfg_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd, *config = NULL, *level = NULL;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("xdproxy %s\n", XDPROXY_VERSION);
		return 0;
	}
	if (lb_cmd_known(cmd))
		return lb_cmd_main(argc, argv);
	if (!strcmp(cmd, "intercept"))
		return intercept_cmd_main(argc, argv);
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xdproxy: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!strcmp(cmd, "run") || !strcmp(cmd, "check")) {
		if (!config) {
			fprintf(stderr, "xdproxy: %s needs -c FILE\n", cmd);
			return 2;
		}
		return !strcmp(cmd, "run") ? cmd_run(config, level) : cmd_check(config);
	}
	fprintf(stderr, "xdproxy: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
