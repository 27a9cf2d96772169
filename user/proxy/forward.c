// SPDX-License-Identifier: BSD-2-Clause
/*
 * The forward proxy: listeners of mode forward, on the HTTP proxy's
 * connection state machine (http.c). What differs from a reverse proxy is
 * decided here, for each request head:
 *
 *   client in forward.clients? (default loopback only)    no -> 403
 *   Proxy-Authorization valid? (with auth_file)            no -> 407
 *   target: CONNECT host:port, or an absolute http:// URI  no -> 400
 *   host normalized (case, trailing dot, IDNA, numeric IPv4 forms,
 *   IPv4-mapped IPv6: policy/host.c)                       bad -> 400
 *   policy (forward.rules, CONNECT ports, schedules)       deny -> 403 page naming the rule
 *   resolved by this worker's c-ares resolver (cached by TTL)
 *   every address checked against the destination classes
 *   (private, loopback, link-local ... unless allowed), after
 *   resolution, so DNS rebinding does not get through      none -> 403
 *   connect to the first allowed address, then the next on failure
 *   CONNECT: "200 Connection established", then a tunnel that the TCP
 *   proxy splices in the kernel; a request: re-serialized in origin-form,
 *   Host from the URI, Proxy-* removed, identity added or hidden.
 *
 * With a parent proxy the request (or a CONNECT) goes to it unchanged in
 * form, and the parent resolves.
 *
 * Transparent listeners (forward.transparent) also take connections that
 * bpf/intercept.bpf.c redirected from a cgroup: the original destination
 * comes from its pinned map. To a port in http_ports the client speaks
 * plain HTTP (origin-form, Host): each request is checked by the policy
 * with its Host and sent to the original address, never to what Host
 * resolves to. To any other port the connection is an opaque tunnel to the
 * original address, checked by the policy as a CONNECT to that address. No
 * authentication: an intercepted program does not know it has a proxy. Upstream connections are not
 * pooled across requests: destinations differ from one request to the next.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "proxy/http_int.h"
#include "bpfctl/intercept.h"
#include "policy/cidr.h"
#include "policy/domset.h"
#include "policy/rules.h"
#include "util/log.h"

/* One forward listener's immutable policy, shared by its workers. */
struct fp_listener {
	struct cidr_set *clients; /* who may use the proxy */
	struct auth_db *auth;	  /* NULL: no authentication */
	struct fpol *pol;
	struct domset **rule_domains;	/* per rule, NULL when the rule has none */
	struct cidr_set **rule_clients; /* per rule, NULL when any client */
	size_t nr_rules;
	struct fwd_conf fwd; /* identity toward origins */
	char challenge[256]; /* Proxy-Authenticate field line, CRLF included */
};

static struct fp_listener *fp_of(const struct hp_conn *c)
{
	return &c->w->s->fp[c->l->idx];
}

/*
 * Password hashes cost tens of milliseconds (yescrypt): a cache miss is
 * checked by the server's auth thread, not on a worker's loop, so one
 * client sending fresh credentials cannot stall everybody else. Jobs go to
 * the thread through a queue; results come back through the worker's own
 * queue and eventfd. A job belongs to the worker that made it; only that
 * worker reads or changes job->c (NULL once the connection is gone).
 */
struct fp_auth_job {
	struct fp_auth_job *next;
	struct hp_worker *w;
	struct hp_conn *c; /* NULL: the connection went away meanwhile */
	const struct auth_db *db;
	int rc; /* the thread's verdict */
	char user[AUTH_USER_MAX + 1];
	size_t len;
	char value[]; /* the Proxy-Authorization value */
};

struct fp_auth_pool {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fp_auth_job *head, *tail;
	bool stop;
};

static void *auth_thread(void *arg)
{
	struct fp_auth_pool *ap = arg;

	for (;;) {
		struct fp_auth_job *j;
		uint64_t one = 1;

		pthread_mutex_lock(&ap->lock);
		while (!ap->head && !ap->stop)
			pthread_cond_wait(&ap->cond, &ap->lock);
		j = ap->head;
		if (j) {
			ap->head = j->next;
			if (!ap->head)
				ap->tail = NULL;
		}
		pthread_mutex_unlock(&ap->lock);
		if (!j)
			return NULL; /* stopping and nothing left */
		j->rc = auth_check_basic(j->db, j->value, j->len, j->user, sizeof(j->user));
		pthread_mutex_lock(&j->w->auth_lock);
		j->next = j->w->auth_done;
		j->w->auth_done = j;
		pthread_mutex_unlock(&j->w->auth_lock);
		if (write(j->w->auth_fd, &one, sizeof(one)) < 0)
			pr_warn("forward: cannot wake a worker: %s", strerror(errno));
	}
}

static void fp_request_go(struct hp_conn *c);

static void fp_auth_answer(struct hp_conn *c, int rc)
{
	struct fp_listener *fl = fp_of(c);

	hp_conn_answer_hdr(c, rc == -EINVAL ? 400 : 407, rc == -EINVAL ? NULL : fl->challenge,
			   rc == -EINVAL ? "400-proxy-authorization" : "407-bad-credentials");
}

/* A worker's eventfd: the auth thread finished jobs of this worker. */
static void auth_done_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct hp_worker *w = arg;
	struct fp_auth_job *j, *next;
	uint64_t v;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->auth_lock);
	j = w->auth_done;
	w->auth_done = NULL;
	pthread_mutex_unlock(&w->auth_lock);
	for (; j; j = next) {
		struct hp_conn *c = j->c;

		next = j->next;
		if (c) {
			c->t->fp_auth = NULL;
			if (j->rc == 0) {
				memcpy(c->t->fp_user, j->user, sizeof(c->t->fp_user));
				c->t->log_user = c->t->fp_user;
				fp_request_go(c);
			} else {
				fp_auth_answer(c, j->rc);
			}
			hp_conn_progress(c);
		}
		free(j);
	}
}

/* ------------------------------------------------------------------ set-up */

static bool domset_cb(const void *set, const char *host)
{
	return domset_match(set, host) != NULL;
}

static bool cidr_cb(const void *set, const struct sockaddr *a)
{
	return cidr_match(set, a) != NULL;
}

static int fp_listener_init(struct fp_listener *fl, const struct cfg_listener *lc)
{
	static const char *const loopback[] = {"127.0.0.0/8", "::1/128"};
	const struct cfg_forward *f = &lc->forward;
	struct fpol_sched_spec *sched = NULL;
	struct fpol_rule *rules = NULL;
	struct fpol_opts opts;
	char err[512] = "", ports[8 * 64] = "";
	size_t n;
	int rc = -EINVAL;

	if (f->nr_clients)
		fl->clients = cidr_set_from_strings((const char *const *)f->clients, f->nr_clients,
						    1, err, sizeof(err));
	else
		fl->clients = cidr_set_from_strings(loopback, 2, 1, err, sizeof(err));
	if (!fl->clients) {
		pr_err("forward %s: clients: %s", lc->name, err);
		return -EINVAL;
	}
	if (f->auth_file[0]) {
		fl->auth = auth_db_load(f->auth_file, err, sizeof(err));
		if (!fl->auth) {
			pr_err("forward %s: auth_file: %s", lc->name,
			       err[0] ? err : strerror(errno));
			return -errno;
		}
		n = (size_t)snprintf(fl->challenge, sizeof(fl->challenge), "Proxy-Authenticate: ");
		{
			size_t l = 0;

			if (auth_challenge(f->auth_realm[0] ? f->auth_realm : "xdproxy",
					   fl->challenge + n, sizeof(fl->challenge) - n - 2, &l)) {
				pr_err("forward %s: auth_realm cannot be used", lc->name);
				return -EINVAL;
			}
			memcpy(fl->challenge + n + l, "\r\n", 3);
		}
	}
	fl->nr_rules = f->nr_rules;
	rules = calloc(f->nr_rules + 1, sizeof(*rules));
	sched = calloc(f->nr_rules + 1, sizeof(*sched));
	fl->rule_domains = calloc(f->nr_rules + 1, sizeof(*fl->rule_domains));
	fl->rule_clients = calloc(f->nr_rules + 1, sizeof(*fl->rule_clients));
	if (!rules || !sched || !fl->rule_domains || !fl->rule_clients) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < f->nr_rules; i++) {
		const struct cfg_fwd_rule *r = &f->rules[i];

		rules[i].name = r->name;
		rules[i].action = r->deny ? FPOL_DENY : FPOL_ALLOW;
		rules[i].meth = r->methods == CFG_FWDM_CONNECT ? FPOL_METH_CONNECT
				: r->methods == CFG_FWDM_HTTP  ? FPOL_METH_HTTP
							       : FPOL_METH_ANY;
		rules[i].ports = r->ports[0] ? r->ports : NULL;
		if (r->nr_domains || r->domain_file[0]) {
			struct domset *ds = domset_new();

			if (!ds) {
				rc = -ENOMEM;
				goto out;
			}
			fl->rule_domains[i] = ds;
			if (r->nr_domains && domset_add_list(ds, (const char *const *)r->domains,
							     r->nr_domains, err, sizeof(err))) {
				pr_err("forward %s: rule %s: domains: %s", lc->name, r->name, err);
				goto out;
			}
			if (r->domain_file[0] &&
			    domset_load_file(ds, r->domain_file, err, sizeof(err))) {
				pr_err("forward %s: rule %s: %s", lc->name, r->name, err);
				goto out;
			}
			rules[i].dst = (struct fpol_hosts){domset_cb, ds};
		}
		if (r->nr_clients) {
			fl->rule_clients[i] = cidr_set_from_strings(
			    (const char *const *)r->clients, r->nr_clients, 1, err, sizeof(err));
			if (!fl->rule_clients[i]) {
				pr_err("forward %s: rule %s: clients: %s", lc->name, r->name, err);
				goto out;
			}
			rules[i].src = (struct fpol_addrs){cidr_cb, fl->rule_clients[i]};
		}
		if (r->has_schedule) {
			sched[i] = (struct fpol_sched_spec){
			    r->sched_days, (const char *const *)r->sched_times, r->nr_sched_times,
			    r->sched_tz[0] ? r->sched_tz : "UTC"};
			rules[i].sched = &sched[i];
		}
	}
	memset(&opts, 0, sizeof(opts));
	opts.default_action = FPOL_ALLOW;
	n = 0;
	for (size_t i = 0; i < f->nr_connect_ports && n < sizeof(ports) - 8; i++)
		n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%s%u", i ? "," : "",
				      f->connect_ports[i]);
	opts.connect_ports = f->nr_connect_ports ? ports : NULL;
	opts.dest_allow =
	    f->allow_private ? FPOL_DEST_LOOPBACK | FPOL_DEST_PRIVATE | FPOL_DEST_LINKLOCAL : 0;
	fl->pol = fpol_new(rules, f->nr_rules, &opts, err, sizeof(err));
	if (!fl->pol) {
		rc = -errno;
		pr_err("forward %s: rules: %s", lc->name, err);
		goto out;
	}
	/* identity: hidden, or the listener's forwarded/via settings */
	memset(&fl->fwd, 0, sizeof(fl->fwd));
	if (f->anonymous) {
		fl->fwd.mode = FWD_HIDE;
		fl->fwd.user_agent = f->user_agent[0] ? f->user_agent : NULL;
	} else {
		switch (lc->http.fwd) {
		case CFG_FWD_XFF:
			fl->fwd.mode = FWD_XFF;
			break;
		case CFG_FWD_FORWARDED:
			fl->fwd.mode = FWD_FORWARDED;
			break;
		case CFG_FWD_BOTH:
			fl->fwd.mode = FWD_XFF | FWD_FORWARDED;
			break;
		case CFG_FWD_HIDE:
			fl->fwd.mode = FWD_HIDE;
			break;
		default:
			break;
		}
		if (lc->http.via && fl->fwd.mode != FWD_HIDE)
			fl->fwd.mode |= FWD_VIA;
		fl->fwd.pseudonym = lc->http.via_name;
	}
	if (fwd_conf_check(&fl->fwd, err, sizeof(err))) {
		pr_err("forward %s: identity headers: %s", lc->name, err);
		goto out;
	}
	rc = 0;
out:
	free(rules);
	free(sched);
	return rc;
}

static void fp_listener_free(struct fp_listener *fl)
{
	cidr_set_free(fl->clients);
	auth_db_free(fl->auth);
	fpol_free(fl->pol);
	for (size_t i = 0; fl->rule_domains && i < fl->nr_rules; i++)
		domset_free(fl->rule_domains[i]);
	for (size_t i = 0; fl->rule_clients && i < fl->nr_rules; i++)
		cidr_set_free(fl->rule_clients[i]);
	free(fl->rule_domains);
	free(fl->rule_clients);
}

/*
 * A transparent listener: attach the interception its config asks for, and
 * open the pinned map of original destinations either way (the attachment
 * may also come from `xdproxy intercept`).
 */
static int fp_intercept_init(struct hp_server *s, const struct cfg_listener *lc)
{
	const struct cfg_forward *f = &lc->forward;
	static const uint16_t def_ports[] = {80, 443};
	struct intercept_opts o;
	int err;

	if (f->intercept_cgroup[0] && !s->icpt_own) {
		memset(&o, 0, sizeof(o));
		if (lc->addr.ss_family == AF_INET) {
			memcpy(&o.proxy4, &lc->addr, sizeof(o.proxy4));
			/* a wildcard bind is reached on loopback */
			if (o.proxy4.sin_addr.s_addr == htonl(INADDR_ANY))
				o.proxy4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else {
			memcpy(&o.proxy6, &lc->addr, sizeof(o.proxy6));
			if (IN6_IS_ADDR_UNSPECIFIED(&o.proxy6.sin6_addr))
				o.proxy6.sin6_addr = in6addr_loopback;
		}
		o.ports = f->nr_intercept_ports ? f->intercept_ports : def_ports;
		o.nports = f->nr_intercept_ports ? f->nr_intercept_ports : 2;
		s->icpt_own = intercept_ctl_open(&o, INTERCEPT_PIN_DEFAULT);
		if (!s->icpt_own) {
			pr_err("forward %s: intercept: %s", lc->name, strerror(errno));
			return -errno;
		}
		err = intercept_ctl_attach(s->icpt_own, f->intercept_cgroup);
		if (err) {
			pr_err("forward %s: intercept %s: %s", lc->name, f->intercept_cgroup,
			       strerror(-err));
			return err;
		}
		pr_info("forward %s: intercepting cgroup %s", lc->name,
			intercept_ctl_cgroup(s->icpt_own));
	}
	if (!s->icpt) {
		s->icpt = intercept_ctl_open_pinned(INTERCEPT_PIN_DEFAULT);
		if (!s->icpt)
			pr_warn("forward %s: transparent, but nothing is intercepted yet (run "
				"'xdproxy intercept CGROUP'): only explicit proxy clients",
				lc->name);
	}
	return 0;
}

static int fp_auth_pool_start(struct hp_server *s)
{
	struct fp_auth_pool *ap = calloc(1, sizeof(*ap));
	int err;

	if (!ap)
		return -ENOMEM;
	pthread_mutex_init(&ap->lock, NULL);
	pthread_cond_init(&ap->cond, NULL);
	err = pthread_create(&ap->thread, NULL, auth_thread, ap);
	if (err) {
		pthread_mutex_destroy(&ap->lock);
		pthread_cond_destroy(&ap->cond);
		free(ap);
		return -err;
	}
	s->auth = ap;
	return 0;
}

int fp_server_init(struct hp_server *s)
{
	const struct cfg *cfg = s->cfg;
	int err;

	s->fp = calloc(cfg->nr_listeners, sizeof(*s->fp));
	if (!s->fp)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		if (cfg->listeners[i].mode == CFG_MODE_FORWARD &&
		    cfg->listeners[i].forward.auth_file[0] && !s->auth) {
			err = fp_auth_pool_start(s);
			if (err)
				return err;
		}
	}
	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		if (cfg->listeners[i].mode != CFG_MODE_FORWARD)
			continue;
		err = fp_listener_init(&s->fp[i], &cfg->listeners[i]);
		if (err)
			return err;
		if (cfg->listeners[i].forward.transparent) {
			err = fp_intercept_init(s, &cfg->listeners[i]);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * After the workers are gone: the thread finishes what is queued (results
 * go to worker queues nobody reads; the jobs are freed with them).
 */
static void fp_auth_pool_stop(struct hp_server *s)
{
	struct fp_auth_pool *ap = s->auth;

	if (!ap)
		return;
	pthread_mutex_lock(&ap->lock);
	ap->stop = true;
	pthread_cond_broadcast(&ap->cond);
	pthread_mutex_unlock(&ap->lock);
	pthread_join(ap->thread, NULL);
	pthread_mutex_destroy(&ap->lock);
	pthread_cond_destroy(&ap->cond);
	free(ap);
	s->auth = NULL;
}

void fp_server_quiesce(struct hp_server *s)
{
	fp_auth_pool_stop(s);
}

void fp_server_free(struct hp_server *s)
{
	fp_auth_pool_stop(s);
	intercept_ctl_close(s->icpt);
	s->icpt = NULL;
	if (s->icpt_own) {
		/* what this run attached, it detaches */
		intercept_ctl_detach(s->icpt_own);
		intercept_ctl_close(s->icpt_own);
		s->icpt_own = NULL;
	}
	if (!s->fp)
		return;
	for (size_t i = 0; i < s->cfg->nr_listeners; i++)
		fp_listener_free(&s->fp[i]);
	free(s->fp);
	s->fp = NULL;
}

int fp_worker_init(struct hp_worker *w)
{
	const struct cfg *cfg = w->s->cfg;
	const struct cfg_listener *first = NULL;

	for (size_t i = 0; i < cfg->nr_listeners; i++) {
		const struct cfg_listener *lc = &cfg->listeners[i];
		struct hp_lsn *l = &w->lsn[i];

		if (lc->mode != CFG_MODE_FORWARD)
			continue;
		if (!first)
			first = lc;
		/* a stand-in pool: no keep-alive, for the counters and struct hp_up */
		memset(&l->fcp, 0, sizeof(l->fcp));
		snprintf(l->fcp.name, sizeof(l->fcp.name), "%s", lc->name);
		l->fcp.keepalive = 0;
		l->fcp.keepalive_timeout_ms = 1000;
		snprintf(l->fcb.addr_str, sizeof(l->fcb.addr_str), "forward");
		l->fbe.wp = &l->fwp;
		l->fbe.cb = &l->fcb;
		l->fwp.w = w;
		l->fwp.cp = &l->fcp;
		l->fwp.be = &l->fbe;
	}
	if (w->s->auth) {
		w->auth_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->auth_fd < 0 || ev_add_fd(w->loop, w->auth_fd, EV_READ, auth_done_cb, w))
			return -errno ? -errno : -ENOMEM;
	}
	if (first) {
		struct dns_opts o;

		/* one resolver per worker; the first forward listener's settings */
		dns_opts_init(&o);
		if (first->forward.dns_servers[0])
			o.servers = first->forward.dns_servers;
		if (first->forward.dns_timeout_ms)
			o.timeout_ms = first->forward.dns_timeout_ms;
		w->dns = dns_new(w->loop, &o);
		if (!w->dns) {
			pr_err("forward: resolver: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

void fp_worker_free(struct hp_worker *w)
{
	struct fp_auth_job *j, *next;

	dns_free(w->dns);
	w->dns = NULL;
	if (w->auth_fd >= 0) {
		ev_del_fd(w->loop, w->auth_fd);
		close(w->auth_fd);
		w->auth_fd = -1;
	}
	/* results nobody will read: every connection is closed by now */
	pthread_mutex_lock(&w->auth_lock);
	j = w->auth_done;
	w->auth_done = NULL;
	pthread_mutex_unlock(&w->auth_lock);
	for (; j; j = next) {
		next = j->next;
		free(j);
	}
}

void fp_park(struct hp_conn *c)
{
	struct hp_up *u = c->up;

	if (c->park)
		hp_up_close(c->park); /* one parked connection per client */
	snprintf(u->dest, sizeof(u->dest), "%s", c->t->fp_parent ? "parent" : c->t->fp_dest);
	hp_buf_put(c->w, &u->in);
	hp_buf_put(c->w, &u->out);
	u->c = NULL;
	u->parked_on = c;
	u->rd_ready = u->wr_blocked = false;
	u->reused = true;
	c->park = u;
	/* idle: any readable event means the server closed it or misbehaves */
	hp_fd_interest(c->w->loop, u->fd, EV_READ, hp_up_event, u);
}

/*
 * The parked connection, when it goes where this request goes: taken for
 * it (true). Otherwise it is closed (a client rarely comes back to an
 * earlier destination, and it holds a port and an origin slot).
 */
static bool fp_unpark(struct hp_conn *c)
{
	struct hp_txn *t = c->t;
	struct hp_up *u = c->park;

	if (!u)
		return false;
	if (strcmp(u->dest, t->fp_parent ? "parent" : t->fp_dest)) {
		hp_up_close(u);
		return false;
	}
	c->park = NULL;
	u->parked_on = NULL;
	u->c = c;
	c->up = u;
	c->w->tot.up_reused++;
	if (hp_buf_get(c->w, &u->in) || hp_buf_get(c->w, &u->out)) {
		hp_conn_answer(c, 500, "500-memory");
		return true;
	}
	t->head_sent = false;
	t->resp_at = 0;
	h1_msg_init(&t->resp, NULL);
	return true;
}

void fp_txn_stop(struct hp_conn *c)
{
	if (c->t && c->t->fp_q) {
		dns_cancel(c->t->fp_q);
		c->t->fp_q = NULL;
	}
	if (c->t && c->t->fp_auth) {
		c->t->fp_auth->c = NULL; /* the job comes back to nobody */
		c->t->fp_auth = NULL;
	}
}

/* ------------------------------------------------------------------ requests */

/* The 403 page of a deny verdict, sent whole, then close. */
static void fp_deny(struct hp_conn *c, const struct fpol_verdict *v, const char *verdict)
{
	struct hp_txn *t = c->t;
	char page[4096];
	size_t len;

	t->log_route = v->name;
	if (fpol_page(v, t->fp_host, strlen(t->fp_host), t->fp_port, false, page, sizeof(page),
		      &len)) {
		hp_conn_answer(c, 403, verdict);
		return;
	}
	hp_conn_answer_raw(c, 403, page, len, verdict);
}

/*
 * Splits an authority "host", "host:port", "[v6]", "[v6]:port" into the
 * host part and the port (def when absent). -EINVAL when malformed.
 */
static int fp_split_authority(const char *a, size_t n, size_t *hlen, uint16_t def, uint16_t *port)
{
	size_t i, colon = n;
	unsigned long p = 0;

	if (n && a[0] == '[') {
		for (i = 1; i < n && a[i] != ']'; i++)
			;
		if (i == n)
			return -EINVAL;
		*hlen = i + 1;
		if (i + 1 == n) {
			*port = def;
			return def ? 0 : -EINVAL;
		}
		if (a[i + 1] != ':')
			return -EINVAL;
		colon = i + 1;
	} else {
		for (i = 0; i < n; i++)
			if (a[i] == ':')
				colon = i;
		*hlen = colon;
		if (colon == n) {
			*port = def;
			return def ? 0 : -EINVAL;
		}
	}
	if (colon + 1 >= n || n - colon - 1 > 5)
		return -EINVAL;
	for (i = colon + 1; i < n; i++) {
		if (a[i] < '0' || a[i] > '9')
			return -EINVAL;
		p = p * 10 + (unsigned long)(a[i] - '0');
	}
	if (!p || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static void fp_connect_next(struct hp_conn *c);

/*
 * Keeps in t->fp_addrs[0, fp_n) only the addresses the policy lets this
 * request reach (destination classes, checked after resolution: DNS
 * rebinding cannot get past). 0, or -EACCES with *v the first refusal.
 */
static int fp_filter_dests(struct hp_conn *c, struct fpol_verdict *v)
{
	struct fp_listener *fl = fp_of(c);
	struct hp_txn *t = c->t;
	size_t n = 0;
	bool denied = false;

	for (size_t i = 0; i < t->fp_n; i++) {
		struct fpol_verdict dv;

		if (fpol_check_dest(fl->pol, t->fp_rule, &t->fp_addrs[i].sa, &dv))
			continue;
		if (dv.action != FPOL_ALLOW) {
			if (!denied)
				*v = dv;
			denied = true;
			continue;
		}
		t->fp_addrs[n++] = t->fp_addrs[i];
	}
	t->fp_n = n;
	t->fp_next = 0;
	if (n)
		return 0;
	if (!denied)
		memset(v, 0, sizeof(*v));
	return -EACCES;
}

static int fp_check_dests(struct hp_conn *c)
{
	struct fpol_verdict v;

	if (!fp_filter_dests(c, &v))
		return 0;
	c->t->log_route = v.name;
	c->t->verdict = "403-destination";
	c->t->status = 403;
	return -EACCES;
}

static void fp_dns_cb(void *arg, int status, const struct dns_result *r)
{
	struct hp_conn *c = arg;
	struct hp_txn *t = c->t;
	struct fpol_verdict v;

	t->fp_q = NULL;
	if (status) {
		pr_debug("forward: %s: %s", t->fp_host, dns_strerror(status));
		/* a name that does not exist, or servers that refuse: 502; no answer: 504 */
		hp_conn_answer(c, status == -ETIMEDOUT ? 504 : 502,
			       status == -ENOENT      ? "502-dns-nxdomain"
			       : status == -ENODATA   ? "502-dns-nodata"
			       : status == -ETIMEDOUT ? "504-dns-timeout"
						      : "502-dns");
		hp_conn_progress(c);
		return;
	}
	/* in the resolver's order: the preferred family first */
	t->fp_n = 0;
	for (size_t i = 0; i < r->n && i < DNS_MAX_ADDRS; i++) {
		union dns_addr a = r->addrs[i];

		if (a.sa.sa_family == AF_INET)
			a.sin.sin_port = htons(t->fp_port);
		else
			a.sin6.sin6_port = htons(t->fp_port);
		t->fp_addrs[t->fp_n++] = a;
	}
	if (fp_filter_dests(c, &v)) {
		if (v.action == FPOL_DENY && v.reason)
			fp_deny(c, &v, "403-destination");
		else
			hp_conn_answer(c, 502, "502-dns");
		hp_conn_progress(c);
		return;
	}
	fp_connect_next(c);
	hp_conn_progress(c);
}

/* Connects to the next address in t->fp_addrs, or answers 502 when none is left. */
static void fp_connect_next(struct hp_conn *c)
{
	struct hp_txn *t = c->t;

	while (t->fp_next < t->fp_n) {
		const union dns_addr *a = &t->fp_addrs[t->fp_next++];
		struct sockaddr_storage ss;
		socklen_t len = a->sa.sa_family == AF_INET ? sizeof(a->sin) : sizeof(a->sin6);

		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, a, len);
		c->up = hp_up_connect_addr(c, &c->l->fbe, &ss, len);
		if (c->up) {
			if (hp_buf_get(c->w, &c->up->in) || hp_buf_get(c->w, &c->up->out)) {
				hp_conn_answer(c, 500, "500-memory");
				return;
			}
			t->head_sent = false;
			t->resp_at = 0;
			h1_msg_init(&t->resp, NULL);
			return;
		}
	}
	hp_conn_answer(c, 502, "502-connect");
}

void fp_up_failed(struct hp_conn *c, bool connect, bool timeout)
{
	struct hp_txn *t = c->t;

	/* a connect that failed: the next address, if the request can go again */
	if (connect && !t->got_upstream && t->head_live) {
		c->w->tot.up_connect_fail++;
		if (t->fp_next < t->fp_n) {
			c->w->tot.retries++;
			fp_connect_next(c);
			return;
		}
		hp_conn_answer(c, timeout ? 504 : 502, timeout ? "504-connect" : "502-connect");
		return;
	}
	c->w->tot.up_bad_response++;
	hp_conn_answer(c, timeout ? 504 : 502, timeout ? "504-timeout" : "502-upstream");
}

/*
 * Proxy-Authorization: 0 (t->fp_user set), -EACCES (an answer was queued)
 * or -EINPROGRESS (the auth thread has it: fp_request_go follows).
 */
static int fp_auth(struct hp_conn *c, const char *buf)
{
	struct fp_listener *fl = fp_of(c);
	struct fp_auth_pool *ap = c->w->s->auth;
	struct hp_txn *t = c->t;
	const struct h1_msg *m = &t->req;
	int i = h1_field_find(m, buf, "proxy-authorization", 0);
	struct fp_auth_job *j;
	int rc;

	if (i < 0) {
		hp_conn_answer_hdr(c, 407, fl->challenge, "407-no-credentials");
		return -EACCES;
	}
	if (h1_field_find(m, buf, "proxy-authorization", (uint32_t)i + 1) >= 0) {
		hp_conn_answer(c, 400, "400-proxy-authorization-dup");
		return -EACCES;
	}
	/* a hit costs a hash-table lookup: the common case of a keep-alive client */
	rc = auth_check_cached(fl->auth, buf + m->fields[i].value.off, m->fields[i].value.len,
			       t->fp_user, sizeof(t->fp_user));
	if (rc == 0) {
		t->log_user = t->fp_user;
		return 0;
	}
	if (rc != -ENOENT) {
		fp_auth_answer(c, rc);
		return -EACCES;
	}
	j = malloc(sizeof(*j) + m->fields[i].value.len + 1);
	if (!j || !ap) {
		free(j);
		hp_conn_answer(c, 500, "500-auth");
		return -EACCES;
	}
	memset(j, 0, sizeof(*j));
	j->w = c->w;
	j->c = c;
	j->db = fl->auth;
	j->len = m->fields[i].value.len;
	memcpy(j->value, buf + m->fields[i].value.off, j->len);
	j->value[j->len] = 0;
	t->fp_auth = j;
	pthread_mutex_lock(&ap->lock);
	if (ap->tail)
		ap->tail->next = j;
	else
		ap->head = j;
	ap->tail = j;
	pthread_cond_signal(&ap->cond);
	pthread_mutex_unlock(&ap->lock);
	return -EINPROGRESS;
}

static bool port_in(uint16_t port, const uint16_t *ports, size_t n, uint16_t def)
{
	if (!n)
		return port == def;
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* The original destination as text for the policy and the log: "1.2.3.4", "[2001:db8::1]". */
static void orig_text(const struct sockaddr_storage *a, char *out, size_t cap, uint16_t *port)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s", ip);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]", ip);
		*port = ntohs(in6->sin6_port);
	}
}

void fp_accept(struct hp_conn *c)
{
	const struct cfg_forward *f = &c->l->lc->forward;
	struct fp_listener *fl = fp_of(c);
	struct hp_server *s = c->w->s;
	struct fpol_verdict v;
	struct fpol_req q;
	struct hp_txn *t;
	uint16_t port;

	if (!s->icpt || intercept_lookup_orig(s->icpt, (const struct sockaddr *)&c->peer, &c->orig))
		return; /* an explicit proxy client */
	c->transparent = true;
	orig_text(&c->orig, c->orig_str, sizeof(c->orig_str), &port);
	if (port_in(port, f->http_ports, f->nr_http_ports, 80))
		return; /* plain HTTP: each request is read and checked (fp_request) */

	/* anything else is an opaque tunnel to the original destination, now */
	t = hp_txn_begin(c);
	if (!t) {
		c->dead = true;
		return;
	}
	c->st = CS_REQ;
	t->meth = H1_METH_CONNECT;
	t->version = 11;
	t->rule = -1;
	t->wp = &c->l->fwp;
	t->be = &c->l->fbe;
	t->fp_connect = t->fp_transparent = true;
	t->fp_port = port;
	clock_gettime(CLOCK_REALTIME, &t->start_rt);
	snprintf(t->fp_host, sizeof(t->fp_host), "%s", c->orig_str);
	snprintf(t->fp_dest, sizeof(t->fp_dest), "%s:%u", c->orig_str, port);
	t->log_backend = t->fp_dest;
	c->w->tot.requests++;
	c->l->rstats[c->l->lc->http.nr_routes].requests++;
	if (!cidr_match(fl->clients, (const struct sockaddr *)&c->peer)) {
		hp_conn_answer_raw(c, 403, "", 0, "403-client"); /* nothing to say: cut */
		c->dead = true;
		return;
	}
	memset(&q, 0, sizeof(q));
	q.connect = true;
	q.host = t->fp_host;
	q.host_len = strlen(t->fp_host);
	q.port = port;
	q.client = (const struct sockaddr *)&c->peer;
	if (fpol_eval(fl->pol, &q, time(NULL), &v) || v.action != FPOL_ALLOW) {
		t->log_route = v.name;
		t->verdict = "403-rule";
		t->status = 403;
		c->dead = true; /* no HTTP to answer in: the client sees the connection close */
		return;
	}
	t->fp_rule = v.rule;
	t->log_route = v.name;
	t->rq_pos = c->in.off;
	t->rq_done = true;
	t->head_live = true;
	t->fp_n = 1;
	t->fp_next = 0;
	memcpy(&t->fp_addrs[0], &c->orig,
	       c->orig.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					    : sizeof(struct sockaddr_in6));
	if (fp_check_dests(c)) {
		c->dead = true;
		return;
	}
	fp_connect_next(c);
}

/*
 * A plain HTTP request of an intercepted connection: origin-form with Host
 * (absolute-form is read the same way). The policy sees Host's name, the
 * connection goes to the original destination, whatever Host says.
 */
static void fp_request_transparent(struct hp_conn *c, const char *buf)
{
	struct fp_listener *fl = fp_of(c);
	struct hp_txn *t = c->t;
	const struct h1_msg *m = &t->req;
	struct host_info hi;
	struct fpol_verdict v;
	struct fpol_req q;
	size_t hlen;
	uint16_t port, ignored;

	orig_text(&c->orig, c->orig_str, sizeof(c->orig_str), &port);
	t->fp_port = port;
	if (m->meth == H1_METH_CONNECT) {
		hp_conn_answer(c, 405, "405-connect-intercepted");
		return;
	}
	if (m->authority.len) {
		if (fp_split_authority(buf + m->authority.off, m->authority.len, &hlen, port,
				       &ignored) ||
		    host_normalize(buf + m->authority.off, hlen, t->fp_host, sizeof(t->fp_host),
				   &hi)) {
			hp_conn_answer(c, 400, "400-host");
			return;
		}
	} else {
		snprintf(t->fp_host, sizeof(t->fp_host), "%s", c->orig_str);
	}
	t->fp_transparent = true;
	snprintf(t->fp_dest, sizeof(t->fp_dest), "%s:%u", t->fp_host, port);
	t->log_backend = t->fp_dest;
	memset(&q, 0, sizeof(q));
	q.host = t->fp_host;
	q.host_len = strlen(t->fp_host);
	q.port = port;
	q.client = (const struct sockaddr *)&c->peer;
	if (fpol_eval(fl->pol, &q, time(NULL), &v)) {
		hp_conn_answer(c, 400, "400-host");
		return;
	}
	t->fp_rule = v.rule;
	t->log_route = v.name;
	if (v.action != FPOL_ALLOW) {
		fp_deny(c, &v, "403-rule");
		return;
	}
	h1_body_init(&t->rqb, m);
	t->rq_pos = t->head_at + m->head_len;
	t->rq_done = m->body == H1_BODY_NONE;
	t->rq_chunked = m->body == H1_BODY_CHUNKED;
	t->head_live = true;
	if (fp_unpark(c))
		return;
	t->fp_n = 1;
	memcpy(&t->fp_addrs[0], &c->orig,
	       c->orig.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					    : sizeof(struct sockaddr_in6));
	if (fp_filter_dests(c, &v)) {
		if (v.reason)
			fp_deny(c, &v, "403-destination");
		else
			hp_conn_answer(c, 403, "403-destination");
		return;
	}
	fp_connect_next(c);
}

void fp_request(struct hp_conn *c)
{
	struct fp_listener *fl = fp_of(c);
	struct hp_txn *t = c->t;
	const char *buf = c->in.p + t->head_at;
	const struct h1_msg *m = &t->req;

	t->meth = m->meth;
	t->version = m->version;
	t->upgrade = false;
	t->rule = -1;
	t->wp = &c->l->fwp;
	t->be = &c->l->fbe;
	if (c->w->s->log_fd >= 0)
		hp_txn_log_fields(c, buf);
	c->l->rstats[c->l->lc->http.nr_routes].requests++;

	if (!cidr_match(fl->clients, (const struct sockaddr *)&c->peer)) {
		hp_conn_answer(c, 403, "403-client");
		return;
	}
	if (c->transparent) {
		fp_request_transparent(c, buf);
		return;
	}
	if (fl->auth && fp_auth(c, buf))
		return; /* answered, or the auth thread has it */
	fp_request_go(c);
}

/* The request of an authorized (or unauthenticated) explicit client. */
static void fp_request_go(struct hp_conn *c)
{
	struct fp_listener *fl = fp_of(c);
	const struct cfg_forward *f = &c->l->lc->forward;
	struct hp_txn *t = c->t;
	const char *buf = c->in.p + t->head_at;
	const struct h1_msg *m = &t->req;
	struct host_info hi;
	struct fpol_verdict v;
	struct fpol_req q;
	const char *auth_host;
	size_t alen, hlen;
	int rc;

	/* where to: CONNECT host:port, or an absolute http:// URI */
	t->fp_connect = m->meth == H1_METH_CONNECT;
	if (!t->fp_connect) {
		if (m->form != H1_FORM_ABSOLUTE) {
			hp_conn_answer(c, 400, "400-not-a-proxy-request");
			return;
		}
		if (m->target.len < 7 ||
		    !h1_span_eq_ci(buf, (struct h1_span){m->target.off, 7}, "http://")) {
			/* https:// in absolute-form means TLS to the origin: use CONNECT */
			hp_conn_answer(c, 501, "501-scheme");
			return;
		}
	}
	auth_host = buf + m->authority.off;
	alen = m->authority.len;
	if (fp_split_authority(auth_host, alen, &hlen, t->fp_connect ? 0 : 80, &t->fp_port)) {
		hp_conn_answer(c, 400, "400-authority");
		return;
	}
	rc = host_normalize(auth_host, hlen, t->fp_host, sizeof(t->fp_host), &hi);
	if (rc) {
		hp_conn_answer(c, 400, "400-host");
		return;
	}
	snprintf(t->fp_dest, sizeof(t->fp_dest), "%s:%u", t->fp_host, t->fp_port);
	t->log_backend = t->fp_dest;

	memset(&q, 0, sizeof(q));
	q.connect = t->fp_connect;
	q.host = t->fp_host;
	q.host_len = strlen(t->fp_host);
	q.port = t->fp_port;
	q.client = (const struct sockaddr *)&c->peer;
	if (fpol_eval(fl->pol, &q, time(NULL), &v)) {
		hp_conn_answer(c, 400, "400-host");
		return;
	}
	t->fp_rule = v.rule;
	t->log_route = v.name;
	if (v.action != FPOL_ALLOW) {
		fp_deny(c, &v, v.why == FPOL_WHY_CONNECT_PORT ? "403-connect-port" : "403-rule");
		return;
	}
	h1_body_init(&t->rqb, m);
	t->rq_pos = t->head_at + m->head_len;
	t->rq_done = m->body == H1_BODY_NONE || t->fp_connect;
	t->rq_chunked = m->body == H1_BODY_CHUNKED && !t->fp_connect;
	t->head_live = true;

	t->fp_parent = f->has_parent;
	if (!t->fp_connect && fp_unpark(c))
		return; /* the same destination as the last request: its connection */
	if (f->has_parent) {
		/* the parent resolves and applies its own policy */
		t->fp_parent = true;
		t->fp_n = 1;
		t->fp_next = 0;
		memcpy(&t->fp_addrs[0], &f->parent, f->parent_len);
		fp_connect_next(c);
		return;
	}
	rc = dns_resolve(c->w->dns, t->fp_host, DNS_PREFER_V4, fp_dns_cb, c, &t->fp_q);
	if (rc) {
		hp_conn_answer(c, rc == -EINVAL ? 400 : 500,
			       rc == -EINVAL ? "400-host" : "500-dns");
		return;
	}
}

/* ------------------------------------------------------------------ upstream head */

int fp_send_head(struct hp_conn *c)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct fp_listener *fl = fp_of(c);
	struct hp_txn *t = c->t;
	struct hp_up *u = c->up;
	const char *buf = c->in.p + t->head_at;
	const struct h1_msg *m = &t->req;
	struct h1_hdr add[HP_ADD_MAX];
	struct fwd_conn fconn = {
	    .client = (const struct sockaddr *)&c->peer,
	    .proxy = (const struct sockaddr *)&c->local,
	    .tls = false,
	};
	struct h1_fieldset drop;
	struct h1_rewrite rw;
	size_t nr_add = 0, used = 0;
	int rc, i;

	if (t->fp_connect && !t->fp_parent) {
		/* the tunnel is up: tell the client (unless it never asked), then bytes */
		if (hp_buf_get(c->w, &c->out) ||
		    (!t->fp_transparent &&
		     hp_buf_append(&c->out, established, sizeof(established) - 1)))
			return -ENOMEM;
		t->head_sent = true;
		t->resp_head = true;
		t->rs_done = true;
		t->status = 200;
		c->w->tot.status[2]++;
		c->w->tot.upgrades++;
		c->l->rstats[c->l->lc->http.nr_routes].status[2]++;
		c->in.off = t->rq_pos;
		c->st = CS_TUNNEL;
		return 0;
	}
	if (t->fp_connect) {
		/* through the parent: our own CONNECT, its 2xx opens the tunnel */
		char head[HOST_NORM_MAX * 2 + 96];
		int n = snprintf(head, sizeof(head), "CONNECT %.*s HTTP/1.1\r\nHost: %.*s\r\n\r\n",
				 (int)m->authority.len, buf + m->authority.off,
				 (int)m->authority.len, buf + m->authority.off);

		if (n < 0 || (size_t)n >= sizeof(head) || hp_buf_append(&u->out, head, (size_t)n))
			return -ENOMEM;
		t->head_sent = true;
		return 0;
	}

	memset(&drop, 0, sizeof(drop));
	h1_hop_fields(m, buf, 0, &drop);
	/* our credentials and the client's Host are not the origin's business */
	for (i = h1_field_find(m, buf, "proxy-authorization", 0); i >= 0;
	     i = h1_field_find(m, buf, "proxy-authorization", (uint32_t)i + 1))
		h1_fieldset_add(&drop, (uint32_t)i);
	for (i = h1_field_find(m, buf, "host", 0); i >= 0;
	     i = h1_field_find(m, buf, "host", (uint32_t)i + 1))
		h1_fieldset_add(&drop, (uint32_t)i);
	if (m->authority.len)
		add[nr_add++] =
		    (struct h1_hdr){"Host", 4, buf + m->authority.off, m->authority.len};
	else
		add[nr_add++] = (struct h1_hdr){"Host", 4, c->orig_str, strlen(c->orig_str)};
	if (fl->fwd.mode) {
		rc = fwd_request(m, buf, &fl->fwd, &fconn, &drop, add, HP_ADD_MAX - 4, &nr_add,
				 t->scratch, sizeof(t->scratch), &used);
		if (rc)
			return rc;
	}
	if (t->rq_chunked)
		add[nr_add++] = (struct h1_hdr){"Transfer-Encoding", 17, "chunked", 7};
	if (m->flags & H1_F_EXPECT_CONTINUE) {
		/* as in the reverse proxy: answered here, not passed on */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		for (i = h1_field_find(m, buf, "expect", 0); i >= 0;
		     i = h1_field_find(m, buf, "expect", (uint32_t)i + 1))
			h1_fieldset_add(&drop, (uint32_t)i);
		if (!t->sent_continue && t->version >= 11) {
			if (hp_buf_get(c->w, &c->out) ||
			    hp_buf_append(&c->out, cont, sizeof(cont) - 1))
				return -ENOMEM;
			t->sent_continue = true;
		}
	}
	memset(&rw, 0, sizeof(rw));
	rw.drop = &drop;
	rw.add = add;
	rw.nr_add = nr_add;
	rw.version = 11;
	if (!t->fp_parent && !(t->fp_transparent && m->form == H1_FORM_ORIGIN)) {
		/* origin-form: the URI's path and query, "/" when it has none */
		if (m->path.len) {
			rw.target = buf + m->path.off;
			rw.target_len = m->path.len;
		} else {
			rw.target = "/";
			rw.target_len = 1;
		}
	}
	rc = hp_write_head(&u->out, m, buf, &rw);
	if (rc)
		return rc;
	t->head_sent = true;
	return 0;
}
