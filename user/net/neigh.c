// SPDX-License-Identifier: BSD-2-Clause
/*
 * Next hops from rtnetlink, without libmnl or libnl: RTM_GETROUTE (what
 * `ip route get` asks), RTM_GETLINK for the output interface, RTM_GETNEIGH
 * (`ip neigh get`) for the next hop, and RTM_NEWNEIGH with NTF_USE to make
 * the kernel start ARP / neighbour discovery.
 *
 * Every request is a "doit" (never a dump): exactly one reply or one
 * NLMSG_ERROR comes back, carrying the request's sequence number and our
 * port id. Anything else on the socket (a late reply to an earlier request)
 * is skipped, a bounded number of times; a reply that is cut short, larger
 * than the buffer or malformed is refused with -EPROTO / -EMSGSIZE.
 */
#include "net/neigh.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define NL_BUF_SIZE   32768 /* largest reply accepted (a link without its stats is ~2 KiB) */
#define NL_REQ_SIZE   128   /* largest request built here: a header and one address */
#define NL_REPLY_MS   1000  /* rtnetlink answers before sendto returns: this only bounds a bug */
#define NL_MAX_DGRAMS 16    /* datagrams read for one request before giving up */
#define POLL_MIN_MS   1	    /* first wait for a neighbour being resolved, doubled up to: */
#define POLL_MAX_MS   16
#define DISCARD_PORT  9

/* include/net/neighbour.h, not in the uapi: states with a usable address. */
#define NUD_USABLE (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

struct nl {
	int fd;
	uint32_t portid;
	uint32_t seq;
	uint8_t *buf; /* NL_BUF_SIZE */
};

union nl_req {
	struct nlmsghdr nh;
	uint8_t b[NL_REQ_SIZE];
};

/* A parsed reply; called only for a message of the expected type. */
typedef int (*nl_parse_fn)(const struct nlmsghdr *nh, void *arg);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int af_of(uint8_t family)
{
	return family == LB_AF_V4 ? AF_INET : AF_INET6;
}

static size_t alen_of(int af)
{
	return af == AF_INET ? 4 : 16;
}

static void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	free(nl->buf);
}

static int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t len = sizeof(sa);
	int one = 1, err;

	nl->fd = -1;
	nl->seq = 0;
	nl->buf = malloc(NL_BUF_SIZE);
	if (!nl->buf)
		return -ENOMEM;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		goto err;
	/*
	 * Best effort, all three: acks without a copy of the request, the
	 * kernel's reason in errors (for the debug log), and requests checked
	 * strictly, so a malformed one fails instead of being half-understood.
	 */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &len))
		goto err;
	nl->portid = sa.nl_pid;
	return 0;
err:
	err = -errno;
	nl_close(nl);
	nl->fd = -1;
	nl->buf = NULL;
	return err;
}

static void *nl_req_init(union nl_req *r, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&r->nh);
}

static int nl_req_attr(union nl_req *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > sizeof(r->b))
		return -EMSGSIZE;
	rta = (struct rtattr *)(r->b + off);
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = off + RTA_SPACE(len);
	return 0;
}

/*
 * Index the attributes that follow a message's fixed header of hdrlen
 * bytes into tb[0..max] (NULL: absent). -EPROTO when the header or an
 * attribute runs past the message.
 */
static int nl_attrs(const struct nlmsghdr *nh, size_t hdrlen, const struct rtattr **tb,
		    unsigned int max)
{
	const uint8_t *base = (const uint8_t *)nh;
	size_t off = NLMSG_SPACE(hdrlen), end = nh->nlmsg_len;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (end < NLMSG_LENGTH(hdrlen))
		return -EPROTO;
	while (off < end) {
		const struct rtattr *rta = (const struct rtattr *)(base + off);
		unsigned int type;

		if (end - off < sizeof(*rta) || rta->rta_len < sizeof(*rta) ||
		    rta->rta_len > end - off)
			return -EPROTO;
		type = rta->rta_type & NLA_TYPE_MASK;
		if (type <= max)
			tb[type] = rta;
		off += RTA_ALIGN(rta->rta_len);
	}
	return 0;
}

static size_t rta_plen(const struct rtattr *rta)
{
	return rta->rta_len - RTA_LENGTH(0);
}

/* The kernel's explanation in an error (NLMSGERR_ATTR_MSG), or "". */
static const char *nl_extack(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	const uint8_t *base = (const uint8_t *)nh;
	size_t off = NLMSG_HDRLEN + sizeof(*e), end = nh->nlmsg_len;

	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
		return "";
	if (!(nh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return "";
		off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	}
	while (off < end && end - off >= sizeof(struct nlattr)) {
		const struct nlattr *a = (const struct nlattr *)(base + off);
		const char *s = (const char *)(a + 1);
		size_t plen;

		if (a->nla_len < sizeof(*a) || a->nla_len > end - off)
			return "";
		plen = a->nla_len - sizeof(*a);
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && plen &&
		    memchr(s, '\0', plen))
			return s;
		off += NLA_ALIGN(a->nla_len);
	}
	return "";
}

/* 0 for an ack, the request's -errno, or -EPROTO for a malformed error. */
static int nl_error(const struct nlmsghdr *nh, const char *what)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	const char *why;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) || e->error > 0 || e->error < -4095)
		return -EPROTO;
	/* -ENOENT is the common answer of RTM_GETNEIGH while resolving. */
	if (e->error && e->error != -ENOENT) {
		why = nl_extack(nh);
		pr_debug("neigh: %s: %s%s%s", what, strerror(-e->error), *why ? ": " : "", why);
	}
	return e->error;
}

/* Read one datagram from the kernel into nl->buf before deadline. */
static int nl_recv(struct nl *nl, uint64_t deadline, size_t *len)
{
	struct pollfd pfd = {.fd = nl->fd, .events = POLLIN};

	for (;;) {
		struct iovec iov = {.iov_base = nl->buf, .iov_len = NL_BUF_SIZE};
		struct sockaddr_nl from = {0};
		struct msghdr msg = {
		    .msg_name = &from,
		    .msg_namelen = sizeof(from),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		uint64_t now = now_ms();
		ssize_t n;
		int rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		n = recvmsg(nl->fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue; /* not from the kernel */
		*len = (size_t)n;
		return 0;
	}
}

/*
 * Look through one datagram for the answer to request seq: its parse
 * result, its error, or -EINPROGRESS when the datagram holds none.
 */
static int nl_scan(struct nl *nl, size_t len, uint32_t seq, uint16_t want, nl_parse_fn parse,
		   void *arg, const char *what)
{
	size_t off = 0;

	while (off < len) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)(nl->buf + off);

		if (len - off < NLMSG_HDRLEN || nh->nlmsg_len < NLMSG_HDRLEN ||
		    nh->nlmsg_len > len - off)
			return -EPROTO; /* cut short */
		off += NLMSG_ALIGN(nh->nlmsg_len);
		if (nh->nlmsg_seq != seq || nh->nlmsg_pid != nl->portid)
			continue; /* a late answer to an earlier request */
		if (nh->nlmsg_type == NLMSG_ERROR)
			return nl_error(nh, what);
		if (nh->nlmsg_type != want || !parse)
			return -EPROTO;
		return parse(nh, arg);
	}
	return -EINPROGRESS;
}

/*
 * Send request r and handle its one answer: parse(reply) when it has type
 * want, 0 for an ack (NLM_F_ACK requests, parse NULL), else -errno.
 */
static int nl_talk(struct nl *nl, union nl_req *r, uint16_t want, nl_parse_fn parse, void *arg,
		   const char *what)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	uint64_t deadline;
	size_t len = 0;
	int i, err;

	r->nh.nlmsg_seq = ++nl->seq;
	r->nh.nlmsg_pid = nl->portid;
	if (sendto(nl->fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
	    (ssize_t)r->nh.nlmsg_len) {
		err = errno ? -errno : -EIO;
		pr_debug("neigh: %s: send: %s", what, strerror(-err));
		return err;
	}
	deadline = now_ms() + NL_REPLY_MS;
	for (i = 0; i < NL_MAX_DGRAMS; i++) {
		err = nl_recv(nl, deadline, &len);
		if (!err)
			err = nl_scan(nl, len, r->nh.nlmsg_seq, want, parse, arg, what);
		if (err == -EINPROGRESS)
			continue;
		if (err == -EPROTO || err == -EMSGSIZE || err == -ETIMEDOUT)
			pr_debug("neigh: %s: bad or missing reply: %s", what, strerror(-err));
		return err;
	}
	pr_debug("neigh: %s: no reply in %d datagrams", what, NL_MAX_DGRAMS);
	return -EPROTO;
}

/* ---- route --------------------------------------------------------------- */

struct route_ans {
	int af;
	uint8_t type; /* RTN_* */
	int oif;
	int gw_af; /* 0: directly connected */
	uint8_t gw[16];
};

static int route_parse(const struct nlmsghdr *nh, void *arg)
{
	struct route_ans *a = arg;
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	const struct rtattr *tb[RTA_MAX + 1];
	int err = nl_attrs(nh, sizeof(*rtm), tb, RTA_MAX);

	if (err || rtm->rtm_family != a->af)
		return -EPROTO;
	a->type = rtm->rtm_type;
	if (tb[RTA_OIF]) {
		if (rta_plen(tb[RTA_OIF]) != sizeof(uint32_t))
			return -EPROTO;
		memcpy(&a->oif, RTA_DATA(tb[RTA_OIF]), sizeof(uint32_t));
	}
	if (tb[RTA_GATEWAY]) {
		if (rta_plen(tb[RTA_GATEWAY]) != alen_of(a->af))
			return -EPROTO;
		a->gw_af = a->af;
		memcpy(a->gw, RTA_DATA(tb[RTA_GATEWAY]), alen_of(a->af));
	} else if (tb[RTA_VIA]) {
		/* RFC 5549: an IPv4 route through an IPv6 gateway. */
		const struct rtvia *via = RTA_DATA(tb[RTA_VIA]);
		size_t plen = rta_plen(tb[RTA_VIA]);

		if (plen < sizeof(*via))
			return -EPROTO;
		if (via->rtvia_family != AF_INET && via->rtvia_family != AF_INET6)
			return -EOPNOTSUPP;
		if (plen != sizeof(*via) + alen_of(via->rtvia_family))
			return -EPROTO;
		a->gw_af = via->rtvia_family;
		memcpy(a->gw, via->rtvia_addr, alen_of(via->rtvia_family));
	}
	return 0;
}

static int route_get(struct nl *nl, int af, const void *addr, struct route_ans *a)
{
	union nl_req r;
	struct rtmsg *rtm = nl_req_init(&r, RTM_GETROUTE, 0, sizeof(*rtm));
	int err;

	memset(a, 0, sizeof(*a));
	a->af = af;
	rtm->rtm_family = af;
	rtm->rtm_dst_len = alen_of(af) * 8;
	err = nl_req_attr(&r, RTA_DST, addr, alen_of(af));
	if (!err)
		err = nl_talk(nl, &r, RTM_NEWROUTE, route_parse, a, "RTM_GETROUTE");
	switch (err) {
	case -ENETUNREACH:  /* no route */
	case -EHOSTUNREACH: /* an unreachable route */
	case -EACCES:	    /* a prohibit route */
	case -EINVAL:	    /* a blackhole route (IPv4: fib_props[RTN_BLACKHOLE]) */
		return -EHOSTUNREACH;
	}
	return err;
}

/* ---- link ---------------------------------------------------------------- */

struct link_ans {
	int ifindex;
	unsigned short type; /* ARPHRD_* */
	unsigned int flags;  /* IFF_* */
	bool has_mac;
	uint8_t mac[ETH_ALEN];
};

static int link_parse(const struct nlmsghdr *nh, void *arg)
{
	struct link_ans *a = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *tb[IFLA_MAX + 1];
	int err = nl_attrs(nh, sizeof(*ifi), tb, IFLA_MAX);

	if (err || ifi->ifi_index != a->ifindex)
		return -EPROTO;
	a->type = ifi->ifi_type;
	a->flags = ifi->ifi_flags;
	if (tb[IFLA_ADDRESS] && rta_plen(tb[IFLA_ADDRESS]) == ETH_ALEN) {
		memcpy(a->mac, RTA_DATA(tb[IFLA_ADDRESS]), ETH_ALEN);
		a->has_mac = true;
	}
	return 0;
}

static int link_get(struct nl *nl, int ifindex, struct link_ans *a)
{
	uint32_t mask = RTEXT_FILTER_SKIP_STATS; /* keeps the reply small */
	union nl_req r;
	struct ifinfomsg *ifi = nl_req_init(&r, RTM_GETLINK, 0, sizeof(*ifi));
	int err;

	memset(a, 0, sizeof(*a));
	a->ifindex = ifindex;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	err = nl_req_attr(&r, IFLA_EXT_MASK, &mask, sizeof(mask));
	return err ?: nl_talk(nl, &r, RTM_NEWLINK, link_parse, a, "RTM_GETLINK");
}

/* ---- neighbour ----------------------------------------------------------- */

struct neigh_ans {
	int af;
	int ifindex;
	const uint8_t *dst;
	uint16_t state; /* NUD_* */
	bool has_mac;
	uint8_t mac[ETH_ALEN];
};

static int neigh_parse(const struct nlmsghdr *nh, void *arg)
{
	struct neigh_ans *a = arg;
	const struct ndmsg *ndm = NLMSG_DATA(nh);
	const struct rtattr *tb[NDA_MAX + 1];
	int err = nl_attrs(nh, sizeof(*ndm), tb, NDA_MAX);
	size_t alen = alen_of(a->af);

	if (err || ndm->ndm_family != a->af || ndm->ndm_ifindex != a->ifindex || !tb[NDA_DST] ||
	    rta_plen(tb[NDA_DST]) != alen || memcmp(RTA_DATA(tb[NDA_DST]), a->dst, alen))
		return -EPROTO;
	a->state = ndm->ndm_state;
	if (tb[NDA_LLADDR]) {
		if (rta_plen(tb[NDA_LLADDR]) != ETH_ALEN)
			return -EOPNOTSUPP;
		memcpy(a->mac, RTA_DATA(tb[NDA_LLADDR]), ETH_ALEN);
		a->has_mac = true;
	}
	return 0;
}

/* The neighbour entry of dst on ifindex; -ENOENT when there is none. */
static int neigh_get(struct nl *nl, int af, int ifindex, const uint8_t *dst, struct neigh_ans *a)
{
	union nl_req r;
	struct ndmsg *ndm = nl_req_init(&r, RTM_GETNEIGH, 0, sizeof(*ndm));
	int err;

	memset(a, 0, sizeof(*a));
	a->af = af;
	a->ifindex = ifindex;
	a->dst = dst;
	ndm->ndm_family = af;
	ndm->ndm_ifindex = ifindex;
	err = nl_req_attr(&r, NDA_DST, dst, alen_of(af));
	return err ?: nl_talk(nl, &r, RTM_NEWNEIGH, neigh_parse, a, "RTM_GETNEIGH");
}

/*
 * Without CAP_NET_ADMIN NTF_USE is refused: a datagram to the discard port
 * of the address itself makes the kernel resolve whatever its route's next
 * hop is just as well.
 */
static void neigh_kick_datagram(int af, const void *addr)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd;

	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(DISCARD_PORT);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(DISCARD_PORT);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
	}
	fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len) < 0)
		pr_debug("neigh: resolution datagram: %s", strerror(errno));
	close(fd);
}

/*
 * Start resolution of dst on ifindex as a packet waiting for it would:
 * RTM_NEWNEIGH with NTF_USE creates the entry if needed (NLM_F_CREATE) and
 * calls neigh_event_send(), which sends ARP / NS now (or, for a STALE
 * entry, probes it after delay_first_probe_time) without changing any
 * address the entry holds.
 */
static void neigh_kick(struct nl *nl, int af, int ifindex, const uint8_t *dst, int dgram_af,
		       const void *dgram_addr)
{
	union nl_req r;
	struct ndmsg *ndm = nl_req_init(&r, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_ACK, sizeof(*ndm));
	int err;

	ndm->ndm_family = af;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_flags = NTF_USE;
	err = nl_req_attr(&r, NDA_DST, dst, alen_of(af));
	if (!err)
		err = nl_talk(nl, &r, NLMSG_ERROR, NULL, NULL, "RTM_NEWNEIGH NTF_USE");
	if (err)
		neigh_kick_datagram(dgram_af, dgram_addr);
}

/*
 * The MAC of neighbour dst on ifindex, resolving it if needed within
 * timeout_ms. addr_af/addr: the address being resolved, for the datagram
 * fallback of neigh_kick.
 */
static int neigh_wait(struct nl *nl, int af, int ifindex, const uint8_t *dst, int timeout_ms,
		      int addr_af, const void *addr, uint8_t mac[ETH_ALEN])
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms, now;
	unsigned int step = POLL_MIN_MS;
	bool kicked = false;
	struct neigh_ans n;
	int err;

	for (;;) {
		err = neigh_get(nl, af, ifindex, dst, &n);
		if (err && err != -ENOENT)
			return err;
		if (!err && (n.state & NUD_USABLE) && n.has_mac) {
			/* Used now; confirmed by the kernel for the next caller. */
			if (n.state & NUD_STALE)
				neigh_kick(nl, af, ifindex, dst, addr_af, addr);
			memcpy(mac, n.mac, ETH_ALEN);
			return 0;
		}
		if (!kicked) {
			/* Read again at once: on a NOARP device the entry is valid now. */
			neigh_kick(nl, af, ifindex, dst, addr_af, addr);
			kicked = true;
			continue;
		}
		if (!err && (n.state & NUD_FAILED))
			return -EAGAIN; /* the kernel gave up before our deadline */
		now = now_ms();
		if (now >= deadline)
			return -EAGAIN;
		sleep_ms(deadline - now < step ? (unsigned int)(deadline - now) : step);
		step = step * 2 > POLL_MAX_MS ? POLL_MAX_MS : step * 2;
	}
}

/* ---- API ----------------------------------------------------------------- */

int neigh_resolve(uint8_t family, const __be32 addr[4], struct neigh_hop *out, int timeout_ms)
{
	static const uint8_t zero[16];
	struct route_ans rt;
	struct link_ans ln;
	uint8_t dmac[ETH_ALEN];
	const uint8_t *hop;
	struct nl nl;
	int af, hop_af, err;

	if ((family != LB_AF_V4 && family != LB_AF_V6) || !addr || !out || timeout_ms < 0 ||
	    timeout_ms > NEIGH_TIMEOUT_MAX_MS)
		return -EINVAL;
	af = af_of(family);
	/* The unspecified address would route like a local one; say so plainly. */
	if (!memcmp(addr, zero, alen_of(af)))
		return -EADDRNOTAVAIL;
	err = nl_open(&nl);
	if (err)
		return err;
	err = route_get(&nl, af, addr, &rt);
	if (err)
		goto out;
	if (rt.type == RTN_LOCAL) {
		err = -EADDRNOTAVAIL;
		goto out;
	}
	if (rt.type != RTN_UNICAST) { /* broadcast, multicast, anycast, ... */
		err = -EHOSTUNREACH;
		goto out;
	}
	if (rt.oif <= 0) {
		err = -EPROTO;
		goto out;
	}
	err = link_get(&nl, rt.oif, &ln);
	if (err)
		goto out;
	if ((ln.flags & IFF_LOOPBACK) || ln.type == ARPHRD_LOOPBACK) {
		err = -EADDRNOTAVAIL;
		goto out;
	}
	if (ln.type != ARPHRD_ETHER || !ln.has_mac) {
		err = -EOPNOTSUPP;
		goto out;
	}
	hop_af = rt.gw_af ? rt.gw_af : af;
	hop = rt.gw_af ? rt.gw : (const uint8_t *)addr;
	err = neigh_wait(&nl, hop_af, rt.oif, hop, timeout_ms, af, addr, dmac);
	if (err)
		goto out;
	memset(out, 0, sizeof(*out));
	out->ifindex = rt.oif;
	memcpy(out->dmac, dmac, ETH_ALEN);
	memcpy(out->smac, ln.mac, ETH_ALEN);
	memcpy(out->gw, hop, alen_of(hop_af));
	out->via_gw = rt.gw_af != 0;
	out->gw_family = hop_af == AF_INET ? LB_AF_V4 : LB_AF_V6;
out:
	nl_close(&nl);
	return err;
}
