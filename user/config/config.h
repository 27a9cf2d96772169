/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Config file -> validated, immutable struct. Pure: parses YAML with libyaml,
 * validates every value, and reports the first error as "file:line:col: msg".
 * No sockets are opened here; listener and pool addresses are parsed into
 * sockaddr_storage, lb addresses into the LB ABI's form (struct cfg_lb_addr).
 *
 * Schema (unknown keys are errors):
 *
 *   global:
 *     log_level: info            # error|warn|info|debug
 *     stats_interval: 1s         # duration; 0 disables periodic stats lines
 *     pin_path: /sys/fs/bpf/xdproxy
 *     max_conns: 16384           # spliced connections at once (sizes BPF maps)
 *   listeners:
 *     - name: web                # [A-Za-z0-9_.-]{1,31}, unique
 *       bind: 0.0.0.0:8080       # IPv4 "a.b.c.d:port" or IPv6 "[addr]:port"
 *       mode: tcp                # tcp (default) | http | forward (a forward proxy:
 *                                # absolute-form requests and CONNECT, see forward:)
 *       pool: origins            # names a pool below. tcp: required. http: optional,
 *                                # the pool of requests no route matches (else 404).
 *                                # forward: refused (it connects where requests say)
 *       workers: 1               # event-loop threads, each with its own SO_REUSEPORT
 *                                # socket: http and forward 1..64; tcp: only 1 for now
 *       splice: kernel           # kernel (sockmap) | user (splice(2)); http: for upgraded
 *                                # connections (WebSocket, CONNECT tunnels)
 *       sndbuf: 8M               # size: bytes, or K/M/G suffix (1024-based); 0 = kernel default
 *       rcvbuf: 8M
 *       splice_budget: 64M       # max bytes queued in the kernel per spliced direction
 *       connect_timeout: 2s      # duration: ms, s, m suffix; plain number = seconds
 *       backlog: 1024
 *       http:                    # modes http and forward (an error with mode tcp);
 *                                # may be empty
 *         access_log: off        # off (default) | stdout | /absolute/path
 *         log_format: combined   # combined (default) | json
 *         header_timeout: 10s    # the whole request head must arrive within this (slowloris)
 *         idle_timeout: 60s      # keep-alive wait for the next request
 *         client_timeout: 60s    # inactivity while reading a body from, or writing a
 *                                # response to, the client
 *         response_timeout: 30s  # upstream: request sent -> response head complete
 *                                # (all four: 1ms..60m)
 *         forwarded: xff         # what the proxy tells the origin about the client:
 *                                #  xff (default): append to X-Forwarded-For
 *                                #  forwarded: append to Forwarded (RFC 7239)
 *                                #  both: both of the above
 *                                #  none: add nothing, pass received fields through
 *                                #  hide: add nothing, remove received X-Forwarded-For
 *                                #        and Forwarded
 *         via: false             # true | false: add "Via: 1.1 <via_name>"
 *         via_name: xdproxy      # a token (RFC 9110 5.6.2), 1..63 chars
 *         max_request_line: 8K   # h1_limits.max_start_line, 64..1M
 *         max_header: 8K         # h1_limits.max_field (one field line), 64..1M
 *         max_headers_size: 64K  # h1_limits.max_head (the whole head), 1K..1M
 *         max_headers: 100       # h1_limits.max_fields, 1..256
 *         max_body: 0            # h1_limits.max_body: 0 (default) = unlimited, else a size
 *         h2c: false             # mode http: also accept HTTP/2 with prior knowledge on
 *                                # this cleartext listener (RFC 9113 3.3); HTTP/1.1
 *                                # clients are told apart by the first 24 bytes
 *       routes:                  # mode http only; ordered, the first match wins
 *         - name: api            # as for listeners, unique per listener; default
 *                                # "route<N>", N = index in routes
 *           host: api.example.com  # exact, or "*.example.com" (quote it: a plain * starts
 *                                  # a YAML alias); absent = any host. route/rules.h
 *           path: /api/          # string prefix of the normalized path; at most one of
 *           path_exact: /x       #   path, path_exact, path_regex (none = any path)
 *           path_regex: ^/v[0-9]+/   # POSIX ERE, searched: anchor it yourself
 *           methods: [GET, HEAD] # non-empty list of GET HEAD POST PUT DELETE CONNECT
 *                                # OPTIONS TRACE PATCH, no repeats; absent = any method
 *           headers:             # conditions, all must hold
 *             - name: X-Canary   # a token, required
 *               value: "1"       # absent = the field is present
 *               negate: false    # true | false
 *           pool: api            # required, names a pool
 *           strip_prefix: /api   # rewrite (route/rules.h): starts with '/'
 *           replace_prefix: /    # "" or starts with '/'; only with strip_prefix
 *           request_headers:     # ops in order, at most 63 (ROUTE_OPS_MAX - 1)
 *             - set: X-Env       # exactly one of set | add | remove per item, naming
 *               value: prod      # the field; set/add need a value, remove takes none
 *             - add: X-Trace
 *               value: "1"
 *             - remove: X-Debug
 *           response_headers: [] # the same, on the response
 *           forwarded: none      # overrides the listener's http.forwarded
 *       forward:                 # mode forward only; absent or empty: all defaults
 *         clients: [10.0.0.0/8, "::1"]  # who may use the proxy: a non-empty list of
 *                                # CIDRs or addresses (policy/cidr.h: host bits zero),
 *                                # no prefix twice; default loopback only: 127.0.0.0/8
 *                                # and ::1. Quote IPv6: YAML reads ':' specially
 *         auth_file: /etc/xdproxy/passwd  # absent or "": no authentication. Else an
 *                                # absolute path to user:hash lines (auth/basic.h),
 *                                # read by the proxy when it starts, not here
 *         auth_realm: xdproxy    # the 407 challenge's realm, 1..63 printable ASCII
 *                                # but '"' and '\'; only with an auth_file
 *         anonymous: false       # true: strip identifying headers (http/fwd.h
 *                                # FWD_HIDE). It sets http.forwarded to hide, so
 *                                # another http.forwarded, or http.via: true, is an error
 *         user_agent: Mozilla/5.0  # only with anonymous: true: the User-Agent every
 *                                # request gets, 1..255 bytes (fwd_conf_check); absent
 *                                # keeps the client's
 *         connect_ports: [443]   # where CONNECT may go: non-empty, 1..65535, no repeats
 *         allow_private: false   # true: destinations may be private, loopback or
 *                                # link-local addresses
 *         parent: 10.0.0.1:3128  # send every request through this proxy (as bind)
 *         dns_servers: "127.0.0.1:5353,[::1]:53"  # absent: the system's resolvers.
 *                                # Else a comma-separated list, no repeats, of
 *                                # a.b.c.d[:port], [v6addr]:port or a bare v6addr
 *                                # (c-ares' csv form), at most 255 bytes
 *         dns_timeout: 2s        # 100ms..60s
 *         transparent: false     # also take connections bpf/intercept.bpf.c redirected
 *                                # from a cgroup (xdproxy intercept, or intercept_cgroup)
 *         http_ports: [80]       # transparent: intercepted ports that speak plain HTTP;
 *                                # other intercepted ports are tunnels
 *         intercept_cgroup: /clients  # transparent: attach the interception to this
 *                                # cgroup (v2 path) while running; absent: none
 *         intercept_ports: [80, 443]  # with intercept_cgroup: which ports to intercept
 *         rules:                 # ordered, the first match wins; none matching:
 *                                # allowed (end with "- action: deny" to deny the rest).
 *                                # A rule matches when all its conditions hold; one
 *                                # with none matches everything. policy/rules.h has
 *                                # the precise semantics
 *           - name: social       # as for routes; default "rule<N>", N = index in rules
 *             action: deny       # allow | deny, required
 *             domains: [".facebook.com", "*.tiktok.com", example.org]  # non-empty,
 *                                # policy/domset.h: "d" exactly d, "*.d" strict
 *                                # subdomains, ".d" d and its subdomains; no entry twice
 *             domain_file: /etc/xdproxy/social.txt  # absolute path; entries as in
 *                                # domains, one a line. Read by the proxy when it starts
 *                                # (its errors say file:line), not here
 *             ports: "80,443,8000-8999"  # or "*"; absent: every port, except that an
 *                                # allow rule without ports lets CONNECT reach only
 *                                # connect_ports. At most 127 bytes
 *             methods: any       # any | connect (CONNECT tunnels) | http (absolute-form
 *                                # requests)
 *             clients: [10.0.0.0/8]  # as forward.clients; absent: any client
 *             schedule:          # policy/sched.h; days, times, or both
 *               days: mon-fri    # default "*": every day
 *               times: ["09:00-17:00"]  # [start, end) wall-clock windows, at most 32;
 *                                # default ["00:00-24:00"]
 *               tz: Europe/Paris # an IANA zone, default UTC. Loaded here from
 *                                # /usr/share/zoneinfo, so an unknown zone is an error
 *     sni_routes:                # mode tcp only: TLS passthrough by the ClientHello's
 *                                # server name (not terminated; spliced as usual). In
 *                                # order, the first whose names match picks the pool;
 *                                # none matching (or no SNI): the listener's pool if
 *                                # given, else the connection is closed
 *       - names: [a.example, "*.b.example"]  # as forward rule domains
 *         pool: a
 *     tls:                       # mode http only: terminate TLS (OpenSSL 3)
 *       certificates:            # at least one; the SNI picks (exact, then "*.x" wildcard
 *                                # names of each certificate's SAN), else the default
 *         - cert: /etc/xdproxy/www.pem    # absolute paths: PEM chain (leaf first)
 *           key: /etc/xdproxy/www.key     # ECDSA or RSA
 *           ocsp: /etc/xdproxy/www.ocsp   # optional DER OCSP response to staple
 *           default: true        # at most one; absent: the first certificate
 *       h2: false                # offer h2 in ALPN (before http/1.1): HTTP/2 clients are
 *                                # multiplexed onto the HTTP/1.1 pools (user/http/h2.h)
 *       tickets: true            # session tickets, keys rotated in memory
 *       ticket_rotation: 1h      # 1m..24h
 *       session_cache: 20480     # server-side sessions kept, 0..1048576
 *   pools:
 *     - name: origins
 *       balance: roundrobin      # roundrobin | leastconn | source | header | cookie
 *                                # (route/pool.h). The TCP proxy balances every pool
 *                                # round robin for now, whatever this says.
 *       hash_key: X-User         # the header or cookie name (a token, 1..63 chars):
 *                                # required with header and cookie, refused otherwise
 *       keepalive: 32            # idle upstream connections kept per backend per worker,
 *                                # 0..65535 (0 = none kept)
 *       keepalive_timeout: 60s   # a pooled idle connection is closed after this, 1ms..60m
 *       retries: 1               # extra attempts on another backend, 0..16
 *       proxy_protocol: off      # off | v1 | v2: PROXY protocol header toward backends
 *       reverse_map:             # as Apache ProxyPassReverse: a response's Location,
 *                                # Content-Location and URI starting with 'from' get
 *                                # 'to' instead; pairs tried in order, first match wins
 *         - from: http://10.0.0.2:8080/   # both required, each "http(s)://..." or
 *           to: https://www.example.com/  # "/...", VCHARs only; no 'from' twice
 *       cookie_domain_map:       # ProxyPassReverseCookieDomain on Set-Cookie Domain=
 *         - {from: backend.internal, to: example.com}  # domains: letters, digits,
 *                                                      # '-', '_', '.'; may start with '.'
 *       cookie_path_map:         # ProxyPassReverseCookiePath on Set-Cookie Path=
 *         - {from: /app/, to: /} # paths: '/' then VCHARs but ';'
 *       tls:                     # upstream TLS: the proxy speaks TLS 1.2/1.3 to every
 *                                # backend (tls/client.h), handshake done before the
 *                                # request is written. A failed handshake or check is
 *                                # a failed connect (next backend, then 502), its
 *                                # reason logged. Only for pools of mode http listeners
 *                                # and routes. Files are read when the proxy starts
 *         verify: true           # default true: the chain must lead to a certificate of
 *                                # ca (each one is a trust anchor) and the leaf must
 *                                # name sni (DNS SAN, one-label wildcards) or, without
 *                                # sni, the backend's address (IP SAN). false, which must
 *                                # be said, checks nothing
 *         ca: /etc/ssl/certs/ca-certificates.crt  # absolute path of a PEM bundle;
 *                                # required with verify, refused without it
 *         sni: origin.example    # the server name sent and verified: a DNS name, never
 *                                # an address (RFC 6066); lower-cased. Absent: no SNI
 *         cert: /etc/xdproxy/client.pem  # client certificate for backends that ask
 *         key: /etc/xdproxy/client.key   # (mTLS): PEM chain, leaf first, and its
 *                                # unencrypted key; both or neither
 *                                # Sessions resume per backend. proxy_protocol's header
 *                                # goes first, in clear, as HAProxy sends it. Upgraded
 *                                # connections (WebSocket) are relayed in userspace
 *                                # unless kTLS carries both ends (not in this kernel)
 *       backends:                # 1..256 (POOL_MAX_BACKENDS)
 *         - address: 10.0.0.2:80
 *           weight: 1            # 0..256; 0 = disabled
 *   lb:                          # the XDP load balancer (xdproxy attach IFACE -c FILE)
 *     vips:
 *       - name: web              # as for listeners, unique; default "vip<N>", N = index in vips
 *         address: 198.18.0.10   # IPv4 or IPv6, no port, no brackets
 *         port: 80               # 1..65535
 *         protocol: tcp          # tcp | udp
 *         mode: dsr-l2           # dsr-l2 | ipip | nat
 *         source: 198.18.2.1     # the LB's own address toward backends: required in
 *                                # ipip and nat, refused in dsr-l2; family of 'address'
 *         table_size: 65537      # Maglev table: prime, 7..1048573 (route/maglev.h, xdproxy/lb.h)
 *         backends:              # required; [] is valid: the VIP drops everything
 *           - address: 198.18.2.2   # family of the VIP's address
 *             port: 8080         # nat only; default: the VIP's port
 *             weight: 1          # 0..65535; 0 = drained (owns no Maglev slot)
 *
 * A file needs listeners, lb vips, or both. Each consumer checks for the
 * part it runs: `xdproxy run` needs nr_listeners > 0, `xdproxy attach`
 * nr_vips > 0; the parser cannot know which command reads the file.
 */
#ifndef XDP_CONFIG_CONFIG_H
#define XDP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

#include "http/h1.h"
#include "route/pool.h"
#include "route/rules.h"
#include "xdproxy/lb.h"

#define CFG_NAME_MAX 32
#define CFG_PATH_MAX 256
#define CFG_ERR_MAX  512

enum cfg_splice {
	CFG_SPLICE_KERNEL = 0,
	CFG_SPLICE_USER,
};

enum cfg_mode {
	CFG_MODE_TCP = 0,
	CFG_MODE_HTTP,
	CFG_MODE_FORWARD, /* forward proxy: absolute-form requests and CONNECT */
};

/* Which requests a forward-proxy rule applies to (schema: methods). */
enum cfg_fwd_methods {
	CFG_FWDM_ANY = 0, /* both */
	CFG_FWDM_CONNECT, /* CONNECT tunnels only */
	CFG_FWDM_HTTP,	  /* absolute-form requests only */
};

/*
 * One forward-proxy rule (forward.rules), first match wins. Every array
 * and string is owned by the cfg. A rule matches when every condition it
 * has holds: a domain in domains or in domain_file (host.c normalized;
 * "example.com" exact, "*.example.com" strict subdomains, ".example.com"
 * the domain and its subdomains), a port in ports, the method kind, a
 * client in clients, and its schedule active.
 */
struct cfg_fwd_rule {
	char name[CFG_NAME_MAX]; /* unique in the listener; default "rule<N>" */
	bool deny;		 /* action: deny | allow */
	char **domains;		 /* NULL when none */
	size_t nr_domains;
	char domain_file[CFG_PATH_MAX]; /* "" = none; an absolute path */
	char ports[128];		/* "" = any; "80,443,8000-8999" */
	enum cfg_fwd_methods methods;
	char **clients; /* CIDRs; NULL = any client */
	size_t nr_clients;
	bool has_schedule;
	char sched_days[64]; /* "mon-fri", "sat,sun", "*" */
	char **sched_times;  /* "09:00-17:00", ... at least one when has_schedule
				("00:00-24:00" when the file gives none) */
	size_t nr_sched_times;
	char sched_tz[64]; /* IANA name, default "UTC" */
};

/*
 * TLS passthrough (mode tcp): the ClientHello's server name picks the pool,
 * TLS is not terminated, and the pair is spliced as any TCP session.
 * names as policy/domset.h: "a.example" exactly, "*.example" strict
 * subdomains, ".example" the name and its subdomains.
 */
struct cfg_sni_route {
	char **names;
	size_t nr_names;
	size_t pool; /* index into cfg.pools */
};

/* One certificate of a TLS listener. */
struct cfg_tls_cert {
	char cert[CFG_PATH_MAX]; /* PEM chain, leaf first; absolute path */
	char key[CFG_PATH_MAX];	 /* PEM private key (ECDSA or RSA) */
	char ocsp[CFG_PATH_MAX]; /* DER OCSP response to staple; "" = none */
	bool is_default;	 /* served when the SNI matches no certificate */
};

/* TLS termination on a listener (mode http). */
struct cfg_tls {
	struct cfg_tls_cert *certs; /* NULL: the listener speaks plain TCP */
	size_t nr_certs;
	bool h2;		   /* offer h2 (then http/1.1) in ALPN; default false */
	bool tickets;		   /* session tickets (default true) */
	uint32_t ticket_rotate_ms; /* a new ticket key this often (default 1h) */
	uint32_t session_cache;	   /* server-side sessions kept (default 20480; 0 = none) */
};

/*
 * A forward-proxy listener's settings (mode forward only; all zero for the
 * others). For policy/rules.h: default_action FPOL_ALLOW (no rule matching
 * allows; clients is the gate), connect_ports joined as "443,8443",
 * allow_private as dest_allow FPOL_DEST_PRIVATE | LOOPBACK | LINKLOCAL.
 * anonymous has already set http.fwd to CFG_FWD_HIDE.
 */
struct cfg_forward {
	char **clients; /* CIDRs as written, allowed to use the proxy; never empty:
			   default "127.0.0.0/8", "::1" */
	size_t nr_clients;
	char auth_file[CFG_PATH_MAX]; /* "" = no authentication; else user:hash lines */
	char auth_realm[64];	      /* default "xdproxy" */
	bool anonymous;		      /* strip identifying headers (fwd.h FWD_HIDE) */
	char user_agent[256];	      /* anonymous: the User-Agent every request gets; "" keeps */
	uint16_t *connect_ports;      /* CONNECT allowed to these ports; default {443} */
	size_t nr_connect_ports;
	bool allow_private; /* destinations private/loopback/link-local allowed */
	bool has_parent;    /* chain through a parent proxy */
	struct sockaddr_storage parent;
	socklen_t parent_len;
	char parent_str[64];
	char dns_servers[256];	 /* "" = the system's; else "ip[:port],..." */
	uint32_t dns_timeout_ms; /* default 2000 */
	struct cfg_fwd_rule *rules;
	size_t nr_rules;
	/*
	 * Transparent interception (bpf/intercept.bpf.c): connections a cgroup's
	 * processes made elsewhere arrive here with their original destination
	 * in a pinned map. To a port in http_ports (default {80}) they speak
	 * plain HTTP; to others they are tunnels. intercept_cgroup: attach to
	 * that cgroup while running (ports intercept_ports, default {80, 443});
	 * "" = `xdproxy intercept` attaches instead.
	 */
	bool transparent;
	uint16_t *http_ports;
	size_t nr_http_ports;
	char intercept_cgroup[CFG_PATH_MAX];
	uint16_t *intercept_ports;
	size_t nr_intercept_ports;
};

/* What the HTTP proxy tells an origin about the client (schema: forwarded). */
enum cfg_fwd {
	CFG_FWD_XFF = 0,   /* append the client address to X-Forwarded-For */
	CFG_FWD_FORWARDED, /* append a "for=" element to Forwarded (RFC 7239) */
	CFG_FWD_BOTH,	   /* both */
	CFG_FWD_NONE,	   /* add nothing; received fields pass through */
	CFG_FWD_HIDE,	   /* add nothing; received X-Forwarded-For and Forwarded removed */
};

enum cfg_log_format {
	CFG_LOG_COMBINED = 0, /* Apache/nginx "combined" */
	CFG_LOG_JSON,	      /* one JSON object a line */
};

/* PROXY protocol header sent first on each upstream connection. */
enum cfg_pp {
	CFG_PP_OFF = 0,
	CFG_PP_V1, /* text */
	CFG_PP_V2, /* binary */
};

struct cfg_backend {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64]; /* as written, for logs and stats; the pool_backend_spec key */
	unsigned int weight;
};

/* One rewrite pair of a pool's reverse, cookie domain or cookie path map. */
struct cfg_map_pair {
	char *from; /* owned, non-empty */
	char *to;   /* owned, non-empty */
};

/* A pool's upstream TLS (schema: pools[].tls). */
struct cfg_pool_tls {
	bool enabled;		 /* the pool has a tls block */
	bool verify;		 /* default true */
	char ca[CFG_PATH_MAX];	 /* PEM bundle; set exactly when verify */
	char sni[254];		 /* lower case DNS name; "" = none (verify the address) */
	char cert[CFG_PATH_MAX]; /* client certificate chain; "" = none */
	char key[CFG_PATH_MAX];	 /* its key; set exactly when cert is */
};

struct cfg_pool {
	char name[CFG_NAME_MAX];
	enum pool_algo balance; /* default POOL_ROUNDROBIN; the TCP proxy uses round robin
				   whatever this says (for now) */
	char hash_key[64];	/* header/cookie: the field or cookie name, a token
				   (pool_spec.hash_name); "" for the other algorithms */
	struct cfg_backend *backends;
	size_t nr_backends;		  /* 1..POOL_MAX_BACKENDS */
	uint32_t keepalive;		  /* idle connections per backend per worker, 0..65535 */
	uint32_t keepalive_timeout_ms;	  /* default CFG_DEF_KEEPALIVE_MS */
	uint32_t retries;		  /* extra attempts on other backends, 0..16, default 1 */
	enum cfg_pp proxy_protocol;	  /* default CFG_PP_OFF */
	struct cfg_map_pair *reverse_map; /* file order; NULL when empty */
	size_t nr_reverse_map;
	struct cfg_map_pair *cookie_domain_map;
	size_t nr_cookie_domain_map;
	struct cfg_map_pair *cookie_path_map;
	size_t nr_cookie_path_map;
	struct cfg_pool_tls tls; /* upstream TLS when tls.enabled */
};

/*
 * One HTTP route. 'rule' is ready for route_table_new(): the parser has
 * already built a table of each listener's rules once, so it is known to
 * be valid. Every pointer in it points into memory this cfg_route owns,
 * freed by cfg_free: rule.name at name, rule.hdrs/req_ops/resp_ops at the
 * arrays below (same pointers, not const), and every string strdup'ed.
 * rule.pool is the index into cfg.pools; host_kind is WILDCARD when the
 * host starts with "*.", EXACT otherwise.
 */
struct cfg_route {
	struct route_rule rule;
	int fwd; /* enum cfg_fwd, or -1 = the listener's http.fwd */
	char name[CFG_NAME_MAX];
	struct route_hdr_match *hdrs;
	struct route_hdr_op *req_ops;
	struct route_hdr_op *resp_ops;
};

/* A listener's HTTP settings (mode http only). */
struct cfg_http {
	struct cfg_route *routes; /* file order; NULL when none */
	size_t nr_routes;
	char access_log[CFG_PATH_MAX]; /* "" = off, "-" = stdout, else an absolute path */
	enum cfg_log_format log_format;
	uint32_t header_timeout_ms; /* defaults CFG_DEF_*_MS below */
	uint32_t idle_timeout_ms;
	uint32_t client_timeout_ms;
	uint32_t response_timeout_ms;
	struct h1_limits limits; /* h1_limits_default, overridden by the max_* keys;
				    max_body UINT64_MAX when unlimited */
	enum cfg_fwd fwd;	 /* default CFG_FWD_XFF */
	bool via;		 /* add "Via: 1.1 <via_name>" */
	char via_name[64];	 /* a token, default CFG_DEF_VIA_NAME */
	bool h2c;		 /* mode http: HTTP/2 with prior knowledge on a cleartext
				    listener (RFC 9113 3.3), default false */
};

struct cfg_listener {
	char name[CFG_NAME_MAX];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char bind_str[64];
	enum cfg_mode mode; /* default CFG_MODE_TCP */
	uint32_t workers;   /* event-loop threads: http 1..CFG_WORKERS_MAX, tcp 1 */
	size_t pool;	    /* index into cfg.pools; http: SIZE_MAX when no default pool */
	enum cfg_splice splice;
	uint64_t sndbuf; /* 0 = leave the kernel default */
	uint64_t rcvbuf;
	uint64_t splice_budget;
	uint32_t connect_timeout_ms;
	int backlog;
	struct cfg_http http;		  /* mode http and forward; all zero for tcp */
	struct cfg_forward forward;	  /* mode forward only */
	struct cfg_tls tls;		  /* mode http: TLS termination when nr_certs > 0 */
	struct cfg_sni_route *sni_routes; /* mode tcp: TLS passthrough routes, in order */
	size_t nr_sni_routes;		  /* 0: every client goes to pool */
};

/*
 * An address in the LB ABI's form (include/xdproxy/lb.h): family LB_AF_V4 or
 * LB_AF_V6 (not AF_*), network order, IPv4 in addr[0] with addr[1..3] zero,
 * so it copies as is into lb_vip_key.addr, lb_vip.src and lb_real.addr.
 * family 0 means "not given" (only cfg_vip.src can be).
 */
struct cfg_lb_addr {
	__be32 addr[4];
	uint8_t family;
	char str[48]; /* as written, for messages and logs */
};

/* A backend ("real") of one VIP. */
struct cfg_lb_backend {
	struct cfg_lb_addr addr; /* same family as the VIP's address */
	uint16_t port;		 /* host order; 0 = the VIP's port, as lb_real.port. Only
				    mode nat can set it, so it is 0 in dsr-l2 and ipip */
	uint32_t weight;	 /* 0..65535, default 1; 0 = drained: in no Maglev slot */
};

/*
 * A VIP: one service {address, port, protocol}. cfg_vip_key() gives its
 * lb_vips keys; mode, src.addr and table_size are what lb_vip and the Maglev
 * table need.
 */
struct cfg_vip {
	char name[CFG_NAME_MAX]; /* unique; "vip<N>" when not given, N = index in cfg.vips */
	struct cfg_lb_addr addr;
	uint16_t port;		/* host order, 1..65535 */
	uint8_t proto;		/* IPPROTO_TCP (default) | IPPROTO_UDP, as lb_vip_key.proto */
	enum lb_mode mode;	/* default LB_MODE_DSR_L2 */
	struct cfg_lb_addr src; /* ipip, nat: the LB's address toward backends, same
				   family as addr; dsr-l2: all zero (family 0) */
	uint32_t table_size;	/* prime, MAGLEV_SIZE_MIN..LB_RING_MAX; default LB_RING_DEFAULT */
	struct cfg_lb_backend *backends;
	size_t nr_backends; /* 0 is valid: the VIP drops what it receives */
};

struct cfg {
	int log_level; /* enum log_level from util/log.h */
	uint32_t stats_interval_ms;
	char pin_path[CFG_PATH_MAX];
	uint32_t max_conns;
	struct cfg_listener *listeners;
	size_t nr_listeners;
	struct cfg_pool *pools;
	size_t nr_pools;
	struct cfg_vip *vips; /* lb.vips in file order; NULL when there are none */
	size_t nr_vips;
};

/* Defaults, chosen by measurement (see docs/ARCHITECTURE.md). */
#define CFG_DEF_SNDBUF	      (8u << 20)
#define CFG_DEF_RCVBUF	      (8u << 20)
#define CFG_DEF_SPLICE_BUDGET (64u << 20)
#define CFG_DEF_CONNECT_MS    2000u
#define CFG_DEF_BACKLOG	      1024
#define CFG_DEF_STATS_MS      1000u
#define CFG_DEF_MAX_CONNS     16384u
#define CFG_DEF_PIN_PATH      "/sys/fs/bpf/xdproxy"

/* HTTP and upstream pool defaults: common practice (nginx, HAProxy), not measured here. */
#define CFG_DEF_WORKERS	     1u
#define CFG_WORKERS_MAX	     64u
#define CFG_DEF_HEADER_MS    10000u
#define CFG_DEF_IDLE_MS	     60000u
#define CFG_DEF_CLIENT_MS    60000u
#define CFG_DEF_RESPONSE_MS  30000u
#define CFG_DEF_VIA_NAME     "xdproxy"
#define CFG_DEF_KEEPALIVE    32u
#define CFG_DEF_KEEPALIVE_MS 60000u
#define CFG_DEF_RETRIES	     1u
#define CFG_RETRIES_MAX	     16u

/* Forward proxy defaults: CONNECT only to 443 (as Squid's SSL_ports); not measured here. */
#define CFG_DEF_REALM		 "xdproxy"
#define CFG_DEF_CONNECT_PORT	 443u
#define CFG_DEF_DNS_TIMEOUT_MS	 2000u
#define CFG_DEF_TICKET_ROTATE_MS 3600000u
#define CFG_DEF_SESSION_CACHE	 20480u

/*
 * Limits enforced by the parser: sndbuf/rcvbuf 0..1G, splice_budget 4K..1G,
 * connect_timeout 1ms..60m, stats_interval 0 or 100ms..60m, max_conns
 * 1..16M, backlog 1..65535, weight 0..256, port 1..65535; a pool without
 * backends, duplicate keys/names/binds/backends are errors, and so is a file
 * with neither listeners nor lb vips.
 *
 * http: a listener in mode http needs a default pool, routes, or both (one
 * that can only answer 404 is surely a mistake); 'http' and 'routes' with
 * mode tcp are errors. Each route is checked by route_table_new() as it is
 * read, every value where it stands (its message, after "route '<name>': ",
 * at that value's line:col), then each listener's whole table once more.
 * Each pool is checked by pool_new() (keys: the backends' addr_str) once
 * read; hash_key is refused with balance other than header/cookie. Map
 * pairs: 'from' not repeated within one map. A pool with tls may serve only
 * mode http listeners and routes (the TCP proxy splices bytes it cannot
 * encrypt): a tcp listener or sni_route naming one is an error.
 *
 * forward: each rule's ports and schedule are checked by fpol_new() (policy/
 * rules.h, which runs sched_parse) as they are read, each value where it
 * stands (its message after "rule '<name>': "), then the rule, then each
 * listener's whole policy once more with its connect_ports; domains by
 * domset_add() (a repeat once normalized is refused), clients by
 * cidr_parse() (the same prefix twice is refused, however written).
 * Files named here (auth_file, domain_file) are only checked to be absolute
 * paths: the proxy reads them at start and reports file:line there, and
 * `xdproxy check` may run on another machine than the proxy.
 *
 * lb: a VIP's address, source and backends are one family; no two VIPs share
 * {address, port, protocol}; no backend is listed twice in a VIP (same
 * address and, in nat, same port). Two capacity limits of the datapath's
 * maps are checked here, counted the way include/xdproxy/lb.h and
 * user/bpfctl/lb.h spend the entries:
 *  - lb_vips: every VIP takes one entry and every distinct VIP address one
 *    more (its address-only entry), so VIPs + distinct addresses must not
 *    exceed LB_MAX_VIPS: 256 VIPs on 256 addresses, or 511 on one address.
 *  - lb_reals: a real is shared by every VIP that names the same {address,
 *    port} (port as stored in cfg_lb_backend, 0 = "the VIP's port"), so the
 *    distinct pairs over all VIPs must not exceed LB_MAX_REALS - 1.
 */

/*
 * The built-in demo config (NUL-terminated YAML): listener "demo" on
 * 198.18.1.1:8080 splicing in the kernel to pool "origins" (three backends,
 * weights 1,1,2). Parse with cfg_parse_string(name, s, strlen(s), ...).
 */
extern const char cfg_default_yaml[];

/*
 * Parse and validate. On success returns a new cfg (free with cfg_free) and
 * leaves err untouched. On failure returns NULL, sets errno (EINVAL for bad
 * content, or the errno of a failed open/read) and writes a one-line message
 * "name:line:col: what is wrong" into err (CFG_ERR_MAX bytes). 'name' is used
 * only in messages.
 */
struct cfg *cfg_parse_file(const char *path, char *err, size_t errlen);
struct cfg *cfg_parse_string(const char *name, const char *text, size_t len, char *err,
			     size_t errlen);

/* Accepts NULL. */
void cfg_free(struct cfg *cfg);

/* Helpers also used by the CLI; 0 or -EINVAL. */
int cfg_parse_size(const char *s, uint64_t *out);
int cfg_parse_duration_ms(const char *s, uint32_t *out);
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/*
 * Fills *key with the lb_vips key of vip's service {addr, port, proto,
 * family}, or with addr_only of its address-only entry {addr, 0, 0, family}
 * (to be flagged LB_VIP_F_ADDR). Port in network order, as the map wants.
 */
void cfg_vip_key(const struct cfg_vip *vip, bool addr_only, struct lb_vip_key *key);

#endif
