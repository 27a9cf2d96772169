// SPDX-License-Identifier: BSD-2-Clause
/*
 * `xdproxy intercept`: transparent interception of a cgroup's outbound TCP
 * connections into a local forward proxy (bpf/intercept.bpf.c through
 * user/bpfctl/intercept.c). The attachment is pinned, so it outlives this
 * command; a forward listener with `transparent: true` reads the original
 * destinations from the pinned map.
 *
 *   xdproxy intercept CGROUP --proxy ADDR:PORT [--proxy6 [ADDR]:PORT]
 *                            [--ports 80,443 | --all-tcp] [--pin-path DIR]
 *   xdproxy intercept --detach [CGROUP] [--pin-path DIR]
 *   xdproxy intercept --status [--pin-path DIR]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfctl/intercept.h"
#include "cli/cli.h"
#include "util/log.h"

void intercept_cmd_usage(FILE *f)
{
	fprintf(f,
		"transparent interception (BPF cgroup connect hooks):\n"
		"  intercept CGROUP --proxy ADDR:PORT [--proxy6 [ADDR]:PORT]\n"
		"            [--ports P,P,... | --all-tcp] [--pin-path DIR]\n"
		"                     send CGROUP's outbound TCP connections (to PORTS, default\n"
		"                     80,443) to the forward proxy at ADDR:PORT\n"
		"  intercept --detach [CGROUP]   stop (every cgroup when none is named)\n"
		"  intercept --status            what is intercepted, counters\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "xdproxy: intercept: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

/* "a.b.c.d:port" into sin; 0 or -EINVAL. */
static int parse_v4(const char *s, struct sockaddr_in *sin)
{
	char buf[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !port || port > 65535)
		return -EINVAL;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, buf, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

/* "[addr]:port" into sin6; 0 or -EINVAL. */
static int parse_v6(const char *s, struct sockaddr_in6 *sin6)
{
	char buf[64];
	const char *close = strchr(s, ']');
	unsigned long port;
	char *end;

	if (s[0] != '[' || !close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s + 1, (size_t)(close - s - 1));
	buf[close - s - 1] = 0;
	port = strtoul(close + 2, &end, 10);
	if (*end || !port || port > 65535)
		return -EINVAL;
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	return inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1 ? 0 : -EINVAL;
}

/* "80,443" into ports; the count, or -EINVAL. */
static int parse_ports(const char *s, uint16_t *ports, size_t cap)
{
	size_t n = 0;

	while (*s) {
		char *end;
		unsigned long p = strtoul(s, &end, 10);

		if (end == s || !p || p > 65535 || n == cap || (*end && *end != ','))
			return -EINVAL;
		ports[n++] = (uint16_t)p;
		s = *end ? end + 1 : end;
	}
	return n ? (int)n : -EINVAL;
}

static int status(const char *pin)
{
	struct intercept_ctl *ctl = intercept_ctl_open_pinned(pin);
	uint64_t st[INTERCEPT_STAT_MAX];

	if (!ctl) {
		if (errno == ENOENT) {
			printf("intercept: nothing intercepted (no pins under %s)\n",
			       pin ? pin : INTERCEPT_PIN_DEFAULT);
			return 0;
		}
		fprintf(stderr, "xdproxy: intercept: %s\n", strerror(errno));
		return 1;
	}
	if (intercept_ctl_stats(ctl, st)) {
		fprintf(stderr, "xdproxy: intercept: cannot read counters\n");
		intercept_ctl_close(ctl);
		return 1;
	}
	printf("intercept: active (pins under %s)\n", pin ? pin : INTERCEPT_PIN_DEFAULT);
	for (unsigned int i = 0; i < INTERCEPT_STAT_MAX; i++)
		printf("%-20s %14llu\n", intercept_stat_name((enum intercept_stat)i),
		       (unsigned long long)st[i]);
	intercept_ctl_close(ctl);
	return 0;
}

int intercept_cmd_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"proxy", required_argument, NULL, 'p'},
	    {"proxy6", required_argument, NULL, '6'},
	    {"ports", required_argument, NULL, 'P'},
	    {"all-tcp", no_argument, NULL, 'a'},
	    {"pin-path", required_argument, NULL, 'f'},
	    {"detach", no_argument, NULL, 'd'},
	    {"status", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint16_t ports[INTERCEPT_PORTS_MAX] = {80, 443};
	struct intercept_opts o;
	struct intercept_ctl *ctl;
	const char *pin = NULL, *cgroup = NULL;
	bool detach = false, stat = false;
	int c, n, err;

	memset(&o, 0, sizeof(o));
	o.ports = ports;
	o.nports = 2;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_v4(optarg, &o.proxy4))
				return bad("--proxy: '%s' is not an IPv4 ADDR:PORT", optarg);
			break;
		case '6':
			if (parse_v6(optarg, &o.proxy6))
				return bad("--proxy6: '%s' is not [IPv6]:PORT", optarg);
			break;
		case 'P':
			n = parse_ports(optarg, ports, INTERCEPT_PORTS_MAX);
			if (n < 0)
				return bad("--ports: '%s' is not a list of ports 1..65535", optarg);
			o.nports = (size_t)n;
			break;
		case 'a':
			o.all_tcp = true;
			o.nports = 0;
			break;
		case 'f':
			pin = optarg;
			break;
		case 'd':
			detach = true;
			break;
		case 's':
			stat = true;
			break;
		case 'h':
			intercept_cmd_usage(stdout);
			return 0;
		default:
			intercept_cmd_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		cgroup = argv[optind++];
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	log_hook_libbpf();
	if (stat)
		return status(pin);
	if (detach) {
		err = intercept_detach_pinned(pin, cgroup);
		if (err) {
			fprintf(stderr, "xdproxy: intercept --detach: %s\n",
				err == -ENOENT ? "that cgroup is not intercepted" : strerror(-err));
			return 1;
		}
		printf("intercept: detached %s\n", cgroup ? cgroup : "every cgroup");
		return 0;
	}
	if (!cgroup)
		return bad("%s", "name the cgroup to intercept (a path below the cgroup v2 root)");
	if (!o.proxy4.sin_family && !o.proxy6.sin6_family)
		return bad("%s", "--proxy ADDR:PORT (the forward proxy's transparent listener) is "
				 "required");
	ctl = intercept_ctl_open(&o, pin ? pin : INTERCEPT_PIN_DEFAULT);
	if (!ctl) {
		fprintf(stderr, "xdproxy: intercept: %s%s\n", strerror(errno),
			errno == EPERM ? " (run as root: CAP_BPF and CAP_NET_ADMIN)" : "");
		return 1;
	}
	err = intercept_ctl_attach(ctl, cgroup);
	if (err) {
		fprintf(stderr, "xdproxy: intercept %s: %s\n", cgroup,
			err == -ELOOP	 ? "this process is inside that cgroup: its own "
					   "connections would loop back to the proxy"
			: err == -EEXIST ? "already intercepted"
					 : strerror(-err));
		intercept_ctl_close(ctl);
		return 1;
	}
	printf("intercept: %s -> the proxy (pinned under %s)\n", intercept_ctl_cgroup(ctl),
	       pin ? pin : INTERCEPT_PIN_DEFAULT);
	intercept_ctl_close(ctl);
	return 0;
}
