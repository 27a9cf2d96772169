#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# HTTP reverse proxy benchmark (issue #4): xdproxy's HTTP engine against
# HAProxy and nginx as reverse proxies, and against no proxy at all, in one
# run, on one throwaway topology, every proxy in the same namespace talking
# to the same origin. Runs after tools/bench.sh and bench_lb.sh in `make
# bench` and appends an "HTTP reverse proxy benchmark" section to their
# results; it runs just as well alone.
#
#   client ns              proxy ns                          origin ns
#   198.18.1.1 --veth-- 198.18.1.2 | 198.18.3.1 --veth-- 198.18.3.2
#   wrk, idle clients,     xdproxy :9102 (http), :9103       nginx :80 (100-byte
#   curl (bulk)            (tcp kernel), :9104 (tcp user),   file, keep-alive;
#                          haproxy :9202, nginx :9302        /bulk, PUT /upload/)
#                          (ip_forward=1 for "direct")
#
# Rows: direct (the client talks to the origin by plain kernel forwarding
# through the proxy ns: the same two veth hops as every proxied row, no
# proxy), xdproxy (listener mode http), haproxy (mode http, http-reuse
# always, option http-keep-alive), nginx (proxy_pass to an upstream with
# keepalive 64, HTTP/1.1, Connection ""). Every proxy gets the same number
# of workers (xdproxy `workers`, HAProxy nbthread, nginx worker_processes),
# keeps connections to the origin alive, writes no access log, and tells
# the origin about the client the way xdproxy does by default (`forwarded:
# xff`): X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host added
# (HAProxy: option forwardfor and two http-request set-header; nginx:
# proxy_set_header X-Forwarded-For $remote_addr, X-Forwarded-Proto $scheme,
# X-Forwarded-Host $http_host), the client's Host forwarded unchanged (nginx:
# proxy_set_header Host $http_host), so that each does the same work on a
# request and the origin sees the same head from each. nginx's
# per-connection request caps (keepalive_requests, 1000 by default on both
# sides) are lifted like the origin's: otherwise wrk's connections would be
# closed and reopened every 1000 requests through nginx alone.
#
# Measured per row:
#   - wrk -t1 -c50 -d$SECS --latency, keep-alive, GET of the 100-byte file:
#     req/s, p99 latency, machine CPU per request (busy jiffies of all CPUs,
#     /proc/stat: client + proxy + origin + kernel) and the proxy's own CPU
#     per request (utime+stime of its processes, all threads). The median of
#     BENCH_RUNS runs, interleaved across rows (round r of every row, then
#     round r+1) so that drift in the machine hits every row. A run with any
#     non-2xx answer is discarded. Runs where other processes used more than
#     10% of the machine are marked CROWDED.
#   - memory per idle keep-alive client connection (proxies only): after the
#     wrk runs, BENCH_IDLE_CONNS connections from the client ns, one GET
#     answered on each (so the proxy has made its per-connection
#     allocations), then all held open and idle; the proxy's RSS (VmRSS of
#     all its processes) before they open and while they idle gives bytes
#     per connection = delta / connections. Also the proxy's established
#     connections to the origin (ss -p in the proxy ns), before and while
#     idle, for context.
#   - bulk bodies (after the idle part, so that buffers the proxies keep
#     from it do not hide per-connection memory): does splicing big bodies
#     in the kernel pay (issue #4)? curl over one keep-alive connection GETs
#     a BENCH_HTTP_BULK file (zeros: nothing on the path compresses or looks
#     at the bytes, so their value does not matter) BENCH_HTTP_BULK_REPS
#     times ("down", origin -> client), then PUTs it as often ("up", client
#     -> origin; the origin's nginx stores it with dav_methods PUT in a tmpfs,
#     /dev/shm, so no disk is involved). Gbit/s = bytes / curl's time_total,
#     summed over the transfers; machine CPU per GB (1e9 bytes) as above, and
#     the proxy's own (kernel splicing runs in softirq and is not charged to
#     it). Medians of BENCH_RUNS runs, interleaved. Two more rows, bulk only,
#     served by the same xdproxy process as the http row: listeners in mode
#     tcp pointing at the origin's HTTP port, "splice: kernel" (sockmap) and
#     "splice: user" (splice(2)): HTTP passes through them unparsed (its
#     head is nothing next to such a body), so the kernel one shows what
#     splicing the body in the kernel could give at best; the script prints
#     that gain (or loss) against xdproxy http as its conclusion. The
#     origin sends the file with sendfile; nginx as a proxy streams those two
#     paths like the others (proxy_request_buffering off, no temp file for
#     responses: proxy_max_temp_file_size 0), other buffers at its defaults;
#     HAProxy as for small requests (16 KiB buffers, no splicing). Socket
#     buffers: xdproxy 8M (its default sndbuf/rcvbuf), the others the
#     kernel's autotuning.
# Goal (issue #4): xdproxy >= 1.25x HAProxy's req/s with a p99 no worse.
#
# Environment:
#   BUILD=build            build dir; xdproxy is $BUILD/xdproxy, results go to
#                          $BUILD/bench/results.{txt,json} (an earlier "HTTP
#                          reverse proxy benchmark" section is replaced, the rest
#                          kept), logs and generated configs to logs-http/
#   BENCH_SECS=8           seconds per wrk run
#   BENCH_RUNS=3           wrk runs per row (median reported)
#   BENCH_QUICK=1          smoke test: 1 run of 3 s (unless the above are set)
#   BENCH_HTTP_WORKERS=1   workers/threads of every proxy (the origin keeps 1)
#   BENCH_IDLE_CONNS=2000  idle keep-alive client connections per proxy for the
#                          memory figure; 0 skips that part. Each process may need
#                          2 * (N + 1024) + 1024 file descriptors: without
#                          CAP_SYS_RESOURCE, the hard limit (ulimit -Hn) bounds N
#   BENCH_HTTP_BULK=256M   size of the bulk file (K/M/G, 1024-based; at least
#                          1M); 0 skips the bulk part
#   BENCH_HTTP_BULK_REPS=4 transfers of it per bulk run and direction (quick: 2)
#   BENCH_ROWS="..."       only these rows (ids: direct xdproxy haproxy nginx,
#                          and for bulk only tcp-kernel tcp-user); default all
#   BENCH_IDLE_WAIT=30     wait up to this many seconds for other load to stop
#   BENCH_TIMEOUT=         hard bound on the whole run in seconds (default:
#                          twice the estimate + 120); on expiry all is torn down
#
# Needs root, iproute2 (ip, ss), procps (pgrep), python3, wrk, curl, coreutils
# (numfmt), a tmpfs on /dev/shm for the bulk files, and nginx (the origin; its
# dav module for the uploads); haproxy for its row (a missing peer turns its
# row into "-", it does not stop the run). Touches no host interface, address, route or
# sysctl: everything lives in namespaces named xdph<pid>-*, removed from an
# EXIT trap, also on failure or Ctrl-C. The helpers shared with the other
# benchmarks live in tools/bench_lib.sh.
set -uo pipefail
BENCH_NAME=bench-http
# shellcheck source=tools/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 1

bench_durations 3 8
WORKERS=${BENCH_HTTP_WORKERS:-1}
IDLE_CONNS=${BENCH_IDLE_CONNS:-2000}
BULK=${BENCH_HTTP_BULK:-256M}
BULK_REPS=${BENCH_HTTP_BULK_REPS:-$([[ $QUICK == 1 ]] && echo 2 || echo 4)}
GOAL_RPS=1.25		# xdproxy req/s over HAProxy's, at least
WRK_CONNS=50		# http_run's wrk -c

NSP="xdph$$"		# namespace prefix, unique per run
net3_init

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
[[ $WORKERS =~ ^[0-9]+$ && $WORKERS -ge 1 && $WORKERS -le 64 ]] ||
	die "BENCH_HTTP_WORKERS must be an integer from 1 to 64"
[[ $IDLE_CONNS =~ ^[0-9]+$ && $IDLE_CONNS -le 100000 ]] ||
	die "BENCH_IDLE_CONNS must be an integer from 0 to 100000"
need ip ss awk timeout pgrep python3 wrk nginx curl numfmt
BULK_BYTES=$(bulk_size "$BULK") ||
	die "BENCH_HTTP_BULK must be 0 or a size of at least 1M (K/M/G suffix, 1024-based)"
[[ $BULK_REPS =~ ^[0-9]+$ && $BULK_REPS -ge 1 && $BULK_REPS -le 1000 ]] ||
	die "BENCH_HTTP_BULK_REPS must be an integer from 1 to 1000"
# Connections a proxy (and the origin) must take at once: the idle clients
# (or wrk's), plus upstream ones and slack. HAProxy maxconn and nginx
# worker_connections (which counts upstream connections too) get this.
MAXCONN=$((IDLE_CONNS + 1024))
# File descriptors for every proxy and the idle client: HAProxy wants about
# two per maxconn. Raising the hard limit needs CAP_SYS_RESOURCE, which a
# container may lack: then the hard limit it has must do.
NOFILE_WANT=$((2 * MAXCONN + 1024))
# shellcheck disable=SC2016 # expanded by the inner bash
NOFILE=$(bash -c 'ulimit -n "$0" 2>/dev/null && echo "$0" || ulimit -Hn' "$NOFILE_WANT")
[[ $NOFILE == unlimited || $NOFILE -ge $NOFILE_WANT ]] ||
	die "BENCH_IDLE_CONNS=$IDLE_CONNS needs $NOFILE_WANT file descriptors per process, the hard limit here is $NOFILE"
NOFILE=$NOFILE_WANT

# ---------------------------------------------------------------- teardown
BULKDIR=
# The bulk files live outside TMP, which cleanup copies into the logs.
cleanup_extra() { [[ -n $BULKDIR ]] && rm -rf "$BULKDIR"; }
bench_start xdph logs-http

# ---------------------------------------------------------------- bulk files
# A tmpfs for the file the origin serves and the copies it stores on PUT
# (at most two of them at once: the one in place and the one arriving), so
# that no disk is in the measurement; the client uploads the same file.
UP_OK=0
if [[ $BULK_BYTES -gt 0 ]]; then
	BULKDIR=$(mktemp -d /dev/shm/xdph-bulk.XXXXXX) || die "mktemp in /dev/shm failed"
	avail=$(df --output=avail -B1 "$BULKDIR" | tail -n1)
	[[ $avail -ge $((3 * BULK_BYTES + (64 << 20))) ]] ||
		die "BENCH_HTTP_BULK=$BULK needs $((3 * BULK_BYTES >> 20)) MiB free in /dev/shm, $((avail >> 20)) MiB there"
	BULK_FILE=$BULKDIR/bulk
	head -c "$BULK_BYTES" /dev/zero >"$BULK_FILE" || die "cannot write $BULK_FILE"
	# The origin's workers run as nobody: they read the file and write
	# the uploads.
	mkdir -p "$BULKDIR/upload" "$BULKDIR/tmp"
	chmod 711 "$BULKDIR"
	chmod 644 "$BULK_FILE"
	chmod 777 "$BULKDIR/upload" "$BULKDIR/tmp"
	if grep -q -- '--with-http_dav_module' <<<"$(nginx -V 2>&1)"; then
		UP_OK=1
	else
		UP_NOTE="uploads not measured: nginx has no dav module (dav_methods PUT) for the origin"
		log "$UP_NOTE"
	fi
fi

# ---------------------------------------------------------------- proxies
# ROWS: small requests and idle memory; BULK_ROWS: bulk bodies, with the two
# xdproxy tcp listeners (bulk only) of the same process as the http row.
ROWS=(direct xdproxy haproxy nginx)
BULK_ROWS=(direct xdproxy tcp-kernel tcp-user haproxy nginx)
[[ $BULK_BYTES -gt 0 ]] || BULK_ROWS=()
ALL_ROWS=(direct xdproxy tcp-kernel tcp-user haproxy nginx)
PROXY_ROWS=(xdproxy haproxy nginx)
declare -A LABEL=(
	[direct]="direct (kernel fwd)"
	[xdproxy]="xdproxy http"
	[tcp-kernel]="xdproxy tcp kernel"
	[tcp-user]="xdproxy tcp user"
	[haproxy]="haproxy http"
	[nginx]="nginx proxy"
)
declare -A PORT=([direct]=$HTTP_PORT [xdproxy]=9102 [tcp-kernel]=9103 [tcp-user]=9104
	[haproxy]=9202 [nginx]=9302)
# pick LIST...: those of LIST that BENCH_ROWS names
pick() {
	local row
	for row in "$@"; do [[ " $BENCH_ROWS " == *" $row "* ]] && echo "$row"; done
	return 0
}
if [[ -n ${BENCH_ROWS:-} ]]; then
	mapfile -t ROWS < <(pick "${ROWS[@]}")
	mapfile -t BULK_ROWS < <(pick "${BULK_ROWS[@]}")
	[[ ${#ROWS[@]} -gt 0 || ${#BULK_ROWS[@]} -gt 0 ]] ||
		die "BENCH_ROWS selects none of: ${ALL_ROWS[*]}$([[ $BULK_BYTES -gt 0 ]] || echo " (bulk ones: BENCH_HTTP_BULK is 0)")"
fi
want() { [[ " ${ROWS[*]} " == *" $1 "* ]]; }
want_bulk() { [[ " ${BULK_ROWS[*]} " == *" $1 "* ]]; }
declare -A PID=()	# row -> proxy pid ("" = none, or it failed to start)
declare -A NOTE=()	# row -> why it has no numbers, or what went wrong

http_addr() { [[ $1 == direct ]] && echo "$ORG_IP $HTTP_PORT" || echo "$PRX_IP ${PORT[$1]}"; }

# Every proxy starts under the same raised fd limit.
nofile_exec "$NOFILE"

# start_xdproxy: one process for the http row and the bulk-only tcp rows;
# each tcp listener only if its row is wanted.
start_xdproxy() {
	local row=xdproxy i r tcp=
	local cfg="$TMP/$row.yaml" logf="$TMP/$row.log"
	# HTTP passes through these unparsed: the origin sees the client's
	# request as it was sent, the bytes of the body moved by the kernel
	# (sockmap) or by splice(2) through a pipe.
	for r in tcp-kernel tcp-user; do
		want_bulk "$r" || continue
		# YAML: spaces only, no tab may indent
		tcp+=$(printf '\n  - name: %s\n    bind: %s:%s\n    mode: tcp\n    splice: %s\n    pool: origin' \
			"$r" "$PRX_IP" "${PORT[$r]}" "${r#tcp-}")
	done
	cat >"$cfg" <<-EOF
	# generated by tools/bench_http.sh
	global:
	  log_level: info
	  stats_interval: 0
	listeners:
	  - name: http
	    bind: $PRX_IP:${PORT[$row]}
	    mode: http
	    workers: $WORKERS
	    pool: origin
	    http:
	      access_log: off
	      forwarded: xff$tcp
	pools:
	  - name: origin
	    keepalive: 64
	    backends:
	      - address: $ORG_IP:$HTTP_PORT
	EOF
	bg "$NS_PRX" "$logf" "${NOFILE_EXEC[@]}" "$XDPROXY" run -c "$cfg" --log-level info
	for ((i = 0; i < 200; i++)); do
		if grep -q ' ready' "$logf" 2>/dev/null && wait_listen "$NS_PRX" $PRX_IP "${PORT[$row]}" 1; then
			for r in xdproxy tcp-kernel tcp-user; do
				{ want "$r" || want_bulk "$r"; } && PID[$r]=$LASTPID
			done
			return 0
		fi
		kill -0 "$LASTPID" 2>/dev/null || break
		sleep 0.05
	done
	for r in xdproxy tcp-kernel tcp-user; do NOTE[$r]="xdproxy did not start (see logs-http/$row.log)"; done
	log "${NOTE[$row]}: $(tail -n 3 "$logf" 2>/dev/null | tr '\n' ' ')"
	stop "$LASTPID"
	return 1
}

start_haproxy() {
	local row=haproxy cfg="$TMP/haproxy.cfg"
	# No 'log' line anywhere: no access log.
	{
		printf '# generated by tools/bench_http.sh\nglobal\n    nbthread %s\n    maxconn %s\n' "$WORKERS" "$MAXCONN"
		haproxy_http_defaults "$MAXCONN"
	} >"$cfg"
	cat >>"$cfg" <<-EOF
	listen http
	    bind $PRX_IP:${PORT[$row]}
	    option forwardfor
	    http-request set-header X-Forwarded-Proto http
	    http-request set-header X-Forwarded-Host %[req.hdr(host)]
	    server origin $ORG_IP:$HTTP_PORT
	EOF
	haproxy_start "$row" "$cfg"
}

start_nginx_proxy() {
	local row=nginx d="$TMP/nginx-proxy"
	mkdir -p "$d/tmp"
	# Nothing under /etc or /var; daemon off (the master stays our child,
	# its workers die with it). The upstream keeps up to 64 idle
	# connections per worker, like xdproxy's pool.
	{ echo "# generated by tools/bench_http.sh"; nginx_conf_head "$d" "$WORKERS" "$MAXCONN" "$NOFILE"; } >"$d/nginx.conf"
	cat >>"$d/nginx.conf" <<-EOF
	    keepalive_requests 10000000;
	    keepalive_timeout 120s;
	    upstream origin {
	        server $ORG_IP:$HTTP_PORT;
	        keepalive 64;
	        keepalive_requests 10000000;
	        keepalive_timeout 120s;
	    }
	    server {
	        listen $PRX_IP:${PORT[$row]};
	        location / {
$(nginx_proxy_pass)
	        }
	        # The bulk paths (only they): streamed like the other proxies
	        # do, not spooled to a temp file, request or response.
	        location ~ ^/(bulk\$|upload/) {
$(nginx_proxy_pass)
	            client_max_body_size 0;
	            proxy_request_buffering off;
	            proxy_max_temp_file_size 0;
	        }
	    }
	}
	EOF
	bg "$NS_PRX" "$d/stderr.log" "${NOFILE_EXEC[@]}" nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf"
	if wait_listen "$NS_PRX" $PRX_IP "${PORT[$row]}" 10; then
		PID[$row]=$LASTPID
		return 0
	fi
	NOTE[$row]="nginx did not start as a proxy (see logs-http/nginx-proxy/)"
	log "${NOTE[$row]}"
	stop "$LASTPID"
	return 1
}

# ---------------------------------------------------------------- idle connections
# The client side of the memory figure: N connections, one GET answered on
# each, then held idle until the flag file appears (or a time limit), then
# which of them the proxy closed meanwhile. Standard library only.
IDLE_PY="$TMP/idle_conns.py"
cat >"$IDLE_PY" <<'EOF'
# generated by tools/bench_http.sh
import os, socket, sys, time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
flag, limit = sys.argv[4], float(sys.argv[5])
req = ("GET /100b HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: bench-idle\r\n\r\n" % (host, port)).encode()


def recv_more(s, buf):
    d = s.recv(65536)
    if not d:
        raise ConnectionError("closed by the proxy before the whole response")
    return buf + d


def get(s):
    """One request, its whole response read; the status and whether the
    proxy said it would close the connection."""
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf = recv_more(s, buf)
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    cl, chunked, close = None, False, False
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        k, v = k.strip().lower(), v.strip().lower()
        if k == b"content-length":
            cl = int(v)
        elif k == b"transfer-encoding":
            chunked = b"chunked" in v
        elif k == b"connection":
            close = b"close" in v
    if chunked:
        while not body.endswith(b"0\r\n\r\n"):
            body = recv_more(s, body)
    elif cl is not None:
        while len(body) < cl:
            body = recv_more(s, body)
    else:
        raise ValueError("response without a length")
    return status, close


socks, bad, failed, closing, err = [], 0, 0, 0, ""
t0 = time.monotonic()
for i in range(n):
    s = None
    try:
        s = socket.create_connection((host, port), timeout=10)
        status, close = get(s)
        if status != 200:
            bad += 1
        if close:
            closing += 1
        socks.append(s)
    except (OSError, ValueError, IndexError) as e:
        failed += 1
        err = err or repr(e)
        if s:
            s.close()
        if failed >= 50:
            break
print("ready open=%d non200=%d failed=%d closing=%d secs=%.2f err=%s"
      % (len(socks), bad, failed, closing, time.monotonic() - t0, err or "-"), flush=True)
end = time.monotonic() + limit
while not os.path.exists(flag) and time.monotonic() < end:
    time.sleep(0.1)
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
    s.close()
print("done closed_by_proxy=%d" % closed, flush=True)
EOF

# rss_kb ROW: VmRSS of all the row's processes, in kB.
rss_kb() {
	local p s=0 v
	for p in $(row_pids "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo $s
}
# upstream_conns ROW: the row's established connections to the origin.
upstream_conns() {
	local re
	re=$(row_pids "$1" | paste -sd'|' -)
	[[ -n $re ]] || { echo NA; return; }
	ip netns exec "$NS_PRX" ss -Htnp state established "dst $ORG_IP:$HTTP_PORT" 2>/dev/null |
		grep -cE "pid=($re),"
}
# client_conns ROW: established connections on the row's listening port.
client_conns() {
	ip netns exec "$NS_PRX" ss -Htn state established "src $PRX_IP:${PORT[$1]}" 2>/dev/null | grep -c .
}

# idle_run ROW: the memory figure of one proxy.
idle_run() {
	local row=$1 out="$TMP/idle-$1.txt" flag="$TMP/idle-$1.done" hp i
	local rss0 rss1 up0 up1 cl ready open non200 failed closing closed per=NA
	rm -f "$flag"
	sleep 1
	rss0=$(rss_kb "$row") up0=$(upstream_conns "$row")
	# shellcheck disable=SC2016 # expanded by the inner bash
	bg "$NS_CLI" "$out" timeout -k 2 300 bash -c \
		'ulimit -n "$0" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec python3 "$@"' "$NOFILE" \
		"$IDLE_PY" "$PRX_IP" "${PORT[$row]}" "$IDLE_CONNS" "$flag" 120
	hp=$LASTPID
	for ((i = 0; i < 2400; i++)); do
		grep -q '^ready ' "$out" 2>/dev/null && break
		mine "$hp" || break
		sleep 0.05
	done
	ready=$(grep '^ready ' "$out" 2>/dev/null)
	if [[ -z $ready ]]; then
		NOTE[$row.idle]="idle client failed: $(tail -n 2 "$out" 2>/dev/null | tr '\n' ' ')"
		log "idle $row: ${NOTE[$row.idle]}"
		stop "$hp"
		add "$row" idle_bpc NA
		return
	fi
	# Let the proxy settle (timers armed, buffers given back), then look.
	sleep 2
	rss1=$(rss_kb "$row") up1=$(upstream_conns "$row") cl=$(client_conns "$row")
	: >"$flag"
	for ((i = 0; i < 200; i++)); do mine "$hp" || break; sleep 0.05; done
	stop "$hp"
	open=$(sed -n 's/.* open=\([0-9]*\).*/\1/p' <<<"$ready")
	non200=$(sed -n 's/.* non200=\([0-9]*\).*/\1/p' <<<"$ready")
	failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$ready")
	closing=$(sed -n 's/.* closing=\([0-9]*\).*/\1/p' <<<"$ready")
	closed=$(sed -n 's/^done closed_by_proxy=\([0-9]*\).*/\1/p' "$out")
	[[ -n $closed ]] || closed=NA
	[[ ${open:-0} -gt 0 ]] && per=$(awk -v a="$rss0" -v b="$rss1" -v n="$open" 'BEGIN { printf "%.0f\n", (b - a) * 1024 / n }')
	if [[ ${open:-0} -lt $IDLE_CONNS || ${non200:-0} -gt 0 || $closed != 0 ]]; then
		NOTE[$row.idle]="of $IDLE_CONNS: open ${open:-?}, non-200 ${non200:-?}, failed ${failed:-?}, closed by the proxy while idle $closed"
		[[ $closed != 0 ]] && per=NA	# not idle connections any more
	fi
	add "$row" idle_bpc "$per"
	add "$row" idle_rss0 "$rss0"
	add "$row" idle_rss1 "$rss1"
	add "$row" idle_up0 "$up0"
	add "$row" idle_up1 "$up1"
	add "$row" idle_open "${open:-NA}"
	add "$row" idle_clients "$cl"
	raw "$(printf 'idle %-8s %d conns: open=%s non200=%s failed=%s closing=%s closed_by_proxy=%s rss %s -> %s kB = %s B/conn, upstream conns %s -> %s, client conns at the proxy %s (%s)' \
		"$row" "$IDLE_CONNS" "${open:-NA}" "${non200:-NA}" "${failed:-NA}" "${closing:-NA}" "$closed" "$rss0" "$rss1" "$per" "$up0" "$up1" "$cl" \
		"$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$ready")s to open")"
}

# ---------------------------------------------------------------- bulk bodies
# bulk_run ROW DIR(down|up) RUN [PID...]: one curl, one keep-alive
# connection, BULK_REPS GETs of /bulk (down) or PUTs of it to /upload/bulk
# (up). Adds the run's gbps, cpu_m (machine CPU s/GB), with PIDs cpu_p
# (their utime+stime s/GB) and foreign to R as "$DIR.*". A run where a
# transfer failed, answered non-2xx or moved a byte count other than the
# file's is discarded.
bulk_run() {
	local row=$1 dir=$2 run=$3 host port out i m0 m1 f0 a0 fpct p pt0=0 pt1=0
	local -a pids=("${@:4}") args=()
	local stats ok bytes secs conns gbps=NA cpu_m=NA cpu_p=NA
	out="$TMP/curl-$row-$dir-$run.txt"
	read -r host port < <(http_addr "$row")
	for ((i = 0; i < BULK_REPS; i++)); do
		if [[ $dir == down ]]; then
			args+=(-o /dev/null "http://$host:$port/bulk")
		else
			args+=(-o /dev/null -T "$BULK_FILE" "http://$host:$port/upload/bulk")
		fi
	done
	f0=$(foreign_ticks) a0=$(all_ticks)
	m0=$(machine_ticks)
	for p in "${pids[@]}"; do pt0=$((pt0 + $(proc_ticks "$p"))); done 2>/dev/null
	# No "Expect: 100-continue": a round trip per upload that some
	# proxies answer and others pass on; the body follows the head at once.
	timeout -k 2 "$BULK_TMO" ip netns exec "$NS_CLI" curl -sS --http1.1 -H 'Expect:' \
		-w '%{http_code} %{size_download} %{size_upload} %{time_total} %{num_connects}\n' \
		"${args[@]}" >"$out" 2>&1
	m1=$(machine_ticks)
	for p in "${pids[@]}"; do pt1=$((pt1 + $(proc_ticks "$p"))); done 2>/dev/null
	fpct=$(foreign_pct "$f0" "$a0")
	# transfers that moved the whole file with a 2xx answer, their bytes,
	# seconds, and the connections opened for them
	stats=$(awk -v want="$BULK_BYTES" -v dir="$dir" '
		NF == 5 && $1 ~ /^[0-9]+$/ {
			n = (dir == "down") ? $2 : $3
			if ($1 >= 200 && $1 < 300 && n == want) { ok++; b += n; t += $4 }
			c += $5
		}
		END { printf "%d %.0f %.6f %d\n", ok, b, t, c }' "$out")
	read -r ok bytes secs conns <<<"$stats"
	if [[ $ok == "$BULK_REPS" ]] && awk -v t="$secs" 'BEGIN { exit !(t > 0) }'; then
		gbps=$(awk -v b="$bytes" -v t="$secs" 'BEGIN { printf "%.3f\n", b * 8 / t / 1e9 }')
		cpu_m=$(per_gb $((m1 - m0)) "$bytes")
		[[ ${#pids[@]} -gt 0 ]] && cpu_p=$(per_gb $((pt1 - pt0)) "$bytes")
	else
		log "bulk $dir $row run $run discarded: $ok of $BULK_REPS transfers complete and 2xx: $(grep -v '^[0-9]\{3\} ' "$out" | tail -n1) (see logs-http/${out##*/})"
		bytes=NA
	fi
	add "$row" "$dir.gbps" "$gbps"
	add "$row" "$dir.cpu_m" "$cpu_m"
	add "$row" "$dir.cpu_p" "$cpu_p"
	add "$row" "$dir.foreign" "$fpct"
	add "$row" "$dir.conns" "$conns"
	raw "$(printf 'bulk %-4s %-15s run %d: %7s Gbit/s bytes=%s secs=%s connections=%s machine_s/GB=%s proxy_s/GB=%s foreign_cpu=%s%%%s' \
		"$dir" "$row" "$run" "$gbps" "$bytes" "$secs" "$conns" "$cpu_m" "$cpu_p" "$fpct" "$(crowded "$fpct")")"
}

# ---------------------------------------------------------------- main
NR=${#ROWS[@]}
EST=$((NR * RUNS * (SECS + 2) + 40))
[[ $IDLE_CONNS -gt 0 ]] && EST=$((EST + 3 * (5 + IDLE_CONNS / 500)))
NB=${#BULK_ROWS[@]}
DIRS=(down)
[[ $UP_OK == 1 ]] && DIRS+=(up)
# Bulk: estimated at 1 Gbit/s; one curl may take until 0.2 Gbit/s.
BULK_MB=$((BULK_BYTES * BULK_REPS / 1000000))
EST=$((EST + NB * RUNS * ${#DIRS[@]} * (BULK_MB * 8 / 1000 + 2)))
BULK_TMO=$((BULK_MB * 8 / 200 + 20))
bench_begin "$EST" "$NR paths x $RUNS run(s) x ${SECS}s wrk, then $IDLE_CONNS idle connections per proxy, then $NB paths x $RUNS run(s) x ${DIRS[*]} ${BULK_REPS} x $BULK"
RAW="$TMP/raw.txt"
: >"$RAW"

ORIGIN_OK=1
# The bulk file, sent with sendfile(2) so the origin costs little, and
# uploads stored next to it (dav PUT replaces the earlier copy each time).
ORIGIN_EXTRA=
if [[ $BULK_BYTES -gt 0 ]]; then
	ORIGIN_EXTRA=$(printf '        location = /bulk {\n            root %s;\n            sendfile on;\n        }' "$BULKDIR")
	[[ $UP_OK == 1 ]] && ORIGIN_EXTRA+=$(printf '\n        location /upload/ {\n            root %s;\n            dav_methods PUT;\n            client_max_body_size 0;\n            client_body_temp_path %s/tmp;\n        }' "$BULKDIR" "$BULKDIR")
fi
# Room for every connection a proxy may open to it (the idle part's too).
if ! start_origin_http "$MAXCONN" "$ORIGIN_EXTRA"; then
	ORIGIN_OK=0 ORIGIN_NOTE="the origin nginx did not start (see logs-http/nginx/)"
	log "$ORIGIN_NOTE"
fi
if [[ $ORIGIN_OK == 1 ]]; then
	{ want xdproxy || want_bulk xdproxy || want_bulk tcp-kernel || want_bulk tcp-user; } && start_xdproxy
	if ! command -v haproxy >/dev/null; then
		NOTE[haproxy]="haproxy not installed"
	elif want haproxy || want_bulk haproxy; then
		start_haproxy
	fi
	{ want nginx || want_bulk nginx; } && start_nginx_proxy
fi
# RSS of each proxy as started, for context: what it allocated up front.
sleep 1
for row in "${PROXY_ROWS[@]}"; do [[ -n ${PID[$row]:-} ]] && add "$row" rss_start "$(rss_kb "$row")"; done

# runnable ROW: direct always (with an origin); a proxy row if it is up.
runnable() { [[ $ORIGIN_OK == 1 ]] && [[ $1 == direct || -n ${PID[$1]:-} ]]; }

for ((run = 1; run <= RUNS; run++)); do
	for row in "${ROWS[@]}"; do
		runnable "$row" || continue
		# shellcheck disable=SC2046 # one pid per word
		http_run "$row" "$run" $(row_pids "$row")
	done
done
if [[ $IDLE_CONNS -gt 0 ]]; then
	for row in "${ROWS[@]}"; do
		[[ $row != direct ]] && runnable "$row" && idle_run "$row"
	done
fi
for ((run = 1; run <= RUNS; run++)); do
	for row in "${BULK_ROWS[@]}"; do
		runnable "$row" || continue
		for dir in "${DIRS[@]}"; do
			# shellcheck disable=SC2046 # one pid per word
			bulk_run "$row" "$dir" "$run" $(row_pids "$row")
		done
	done
done
IDLE1=$(idle_busy_pct)
# Did a proxy die along the way? Its numbers are then suspect.
proxy_exited "${ALL_ROWS[@]}"
# (the xdproxy rows share a process: stop copes with one already gone)
for row in "${ALL_ROWS[@]}"; do [[ -n ${PID[$row]:-} ]] && stop "${PID[$row]}"; done

# Did the tcp kernel row splice? xdproxy logs its splice counters on exit:
# bytes redirected in the kernel against bytes passed up to userspace. Only
# that listener splices in the kernel here (the http one would, for
# upgraded connections, which the bench makes none of).
SPLICED=
[[ -n ${PID[tcp-kernel]:-} ]] && SPLICED=$(splice_summary "$TMP/xdproxy.log")

# ---------------------------------------------------------------- report
declare -A M=()		# "$row.$metric" -> median (idle_*: the one value)
for row in "${ROWS[@]}"; do
	for k in rps p99 cpu_us_req proxy_us_req rss_start idle_bpc idle_rss0 idle_rss1 idle_up0 idle_up1 idle_open idle_clients; do
		# shellcheck disable=SC2086
		M[$row.$k]=$(median ${R[$row.$k]:-})
	done
done
# ratio of ROW's metric K over REF's
rto() { ratio "${M[$1.$3]:-NA}" "${M[$2.$3]:-NA}"; }
RPS_X=$(rto xdproxy haproxy rps)
P99_X=$(rto xdproxy haproxy p99)
GOAL=-
if [[ $RPS_X != NA && $P99_X != NA ]]; then
	GOAL=$(awk -v r="$RPS_X" -v g=$GOAL_RPS -v a="${M[xdproxy.p99]}" -v b="${M[haproxy.p99]}" \
		'BEGIN { print (r >= g && a <= b ? "PASS" : "MISS") }')
fi

# Bulk: medians, and what kernel splicing would change against xdproxy http.
for row in "${BULK_ROWS[@]}"; do
	for k in down.gbps down.cpu_m down.cpu_p up.gbps up.cpu_m up.cpu_p; do
		# shellcheck disable=SC2086
		M[$row.$k]=$(median ${R[$row.$k]:-})
	done
done
BULK_SIZE=$(numfmt --to=iec-i --suffix=B "$BULK_BYTES")
# pct ROW REF K: ROW's median of K against REF's, in % (-4.2, 12.3), NA if
# unknown
pct() {
	local a=${M[$1.$3]:-NA} b=${M[$2.$3]:-NA}
	[[ $a == NA || $b == NA || -z $a || -z $b ]] && { echo NA; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { if (b == 0) print "NA"; else printf "%.1f\n", 100 * (a / b - 1) }'
}
# signed PCT: "+12.3%", "-4.2%", "?" for NA
signed() {
	if [[ $1 == NA ]]; then echo "?"; else awk -v p="$1" 'BEGIN { printf "%+.1f%%\n", p }'; fi
}
# noise ROW REF K: the larger spread% of the two rows' runs of K, "-" if
# either has fewer than 2 runs
noise() {
	local x y
	# shellcheck disable=SC2086
	x=$(spread ${R[$1.$3]:-}) y=$(spread ${R[$2.$3]:-})
	[[ $x == - || $y == - ]] && { echo -; return; }
	echo $((x > y ? x : y))
}
# judged PCT NOISE: the signed change, and whether the spread of the runs
# could explain it
judged() {
	signed "$1"
	[[ $1 == NA || $2 == - ]] && return
	awk -v g="$1" -v n="$2" 'BEGIN { a = g < 0 ? -g : g
		printf " (%s the runs\047 spread of %d%%)\n", (a > n ? "beyond" : "within"), n }'
}
# splice_line ROW WHAT: "WHAT would gain ..." for ROW against xdproxy http,
# "lose" if every known change is a loss, "change" if they disagree.
splice_line() {
	local row=$1 what=$2 gd gu verb dirs
	gd=$(pct "$row" xdproxy down.gbps) gu=NA
	[[ $UP_OK == 1 ]] && gu=$(pct "$row" xdproxy up.gbps)
	verb=$(awk -v d="$gd" -v u="$gu" 'BEGIN {
		if (d != "NA") { n++; if (d + 0 >= 0) g++ }
		if (u != "NA") { n++; if (u + 0 >= 0) g++ }
		print (n == 0 || g == n) ? "gain" : (g == 0 ? "lose" : "change") }')
	dirs="$(judged "$gd" "$(noise "$row" xdproxy down.gbps)" | tr -d '\n') down"
	[[ $UP_OK == 1 ]] && dirs+=", $(judged "$gu" "$(noise "$row" xdproxy up.gbps)" | tr -d '\n') up"
	printf '%s would %s %s in Gbit/s on big bodies (%s; %s vs xdproxy http); machine CPU per GB %s down' \
		"$what" "$verb" "$dirs" "$BULK_SIZE" "${LABEL[$row]}" "$(signed "$(pct "$row" xdproxy down.cpu_m)")"
	[[ $UP_OK == 1 ]] && printf ', %s up' "$(signed "$(pct "$row" xdproxy up.cpu_m)")"
	echo
}
CONCLUSION=''
CONCLUSION_USER=
if [[ $NB -gt 0 ]] && want_bulk xdproxy; then
	want_bulk tcp-kernel && CONCLUSION=$(splice_line tcp-kernel "kernel splice")
	want_bulk tcp-user && CONCLUSION_USER=$(splice_line tcp-user "splice(2) in userspace")
fi

# pair DOWN UP: one column of both directions
pair() { printf '%s/%s' "$1" "$2"; }
# bulk_table: the bulk part of the section.
bulk_table() {
	local row sp
	echo
	echo "bulk bodies: a $BULK_SIZE file (zeros) GET $BULK_REPS times (down) and PUT $BULK_REPS times (up) per run,"
	echo "over one keep-alive connection (curl); medians of $RUNS run(s)"
	printf '%-20s %7s %7s %9s %11s %11s %11s %11s %11s\n' "" Gbit/s Gbit/s spread% "machine" "proxy" "vs HAProxy" "vs nginx" "vs xdp http"
	printf '%-20s %7s %7s %9s %11s %11s %11s %11s %11s\n' path down up d/u "s/GB d/u" "s/GB d/u" "Gb/s d/u" "Gb/s d/u" "Gb/s d/u"
	printf '%s\n' "$(printf '%.0s-' {1..111})"
	for row in "${BULK_ROWS[@]}"; do
		# shellcheck disable=SC2086
		sp=$(pair "$(spread ${R[$row.down.gbps]:-})" "$(spread ${R[$row.up.gbps]:-})")
		printf '%-20s %7s %7s %9s %11s %11s %11s %11s %11s\n' "${LABEL[$row]}" \
			"$(f "${M[$row.down.gbps]}" 2)" "$(f "${M[$row.up.gbps]}" 2)" "$sp" \
			"$(pair "$(f "${M[$row.down.cpu_m]}" 2)" "$(f "${M[$row.up.cpu_m]}" 2)")" \
			"$(pair "$(f "${M[$row.down.cpu_p]}" 2)" "$(f "${M[$row.up.cpu_p]}" 2)")" \
			"$(pair "$(f "$(rto "$row" haproxy down.gbps)" 2)" "$(f "$(rto "$row" haproxy up.gbps)" 2)")" \
			"$(pair "$(f "$(rto "$row" nginx down.gbps)" 2)" "$(f "$(rto "$row" nginx up.gbps)" 2)")" \
			"$(pair "$(f "$(rto "$row" xdproxy down.gbps)" 2)" "$(f "$(rto "$row" xdproxy up.gbps)" 2)")"
	done
	echo "down / up GET from the origin through the path / PUT to it; Gbit/s = bytes / curl's time_total"
	echo "tcp       the same xdproxy process, listeners in mode tcp to the origin's HTTP port: HTTP"
	echo "          passes unparsed; kernel: sockmap splice, user: splice(2); kernel is the ceiling"
	echo "          of splicing the body of a known length in the http engine"
	echo "s/GB      CPU seconds per 1e9 bytes: machine = all cores, curl + proxy + origin + kernel (the"
	echo "          fair one; direct is the floor); proxy = utime+stime of the proxy's processes, which"
	echo "          does not include kernel splicing (softirq): do not compare tcp kernel on it"
	echo "buffers   xdproxy http 256 KiB per direction for big bodies, HAProxy 16 KiB (tune.bufsize),"
	echo "          nginx proxy_buffer(s) defaults, streamed (no temp files); socket buffers: xdproxy"
	echo "          8M sndbuf/rcvbuf (its default), HAProxy and nginx the kernel's autotuning"
	[[ -n $SPLICED ]] && echo "spliced   ${LABEL[tcp-kernel]}: $SPLICED"
	[[ -n $CONCLUSION ]] && echo "conclusion: $CONCLUSION"
	[[ -n $CONCLUSION_USER ]] && echo "            $CONCLUSION_USER"
	echo "          (the machine's $(nproc) cores run curl, proxy and origin: a path bounded by the machine"
	echo "          gains less in Gbit/s than it saves in CPU; machine s/GB says how much work it takes)"
}

section() {
	local row
	echo "HTTP reverse proxy benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $(nproc) CPUs  xdproxy $VERSION"
	echo "medians of $RUNS run(s) x ${SECS}s; wrk -t1 -c$WRK_CONNS keep-alive, GET of a 100-byte file from nginx (1 worker);"
	echo "every proxy: $WORKERS worker(s) (xdproxy workers, HAProxy nbthread, nginx worker_processes), keep-alive"
	echo "to the origin, X-Forwarded-For/-Proto/-Host added, Host passed unchanged, no access log"
	echo
	printf '%-20s %8s %7s %7s %7s %8s  %6s %6s  %6s %6s  %6s\n' "" "" "" "" "machine" "proxy" "vs HAProxy" "" "vs nginx" "" "vs dir"
	printf '%-20s %8s %7s %7s %7s %8s  %6s %6s  %6s %6s  %6s\n' path req/s spread% p99-ms us/req us/req req/s p99 req/s p99 req/s
	printf '%s\n' "$(printf '%.0s-' {1..111})"
	for row in "${ROWS[@]}"; do
		# shellcheck disable=SC2086
		printf '%-20s %8s %7s %7s %7s %8s  %6s %6s  %6s %6s  %6s\n' "${LABEL[$row]}" \
			"$(f "${M[$row.rps]}" 0)" "$(spread ${R[$row.rps]:-})" "$(f "${M[$row.p99]}" 2)" \
			"$(f "${M[$row.cpu_us_req]}" 1)" "$(f "${M[$row.proxy_us_req]}" 1)" \
			"$(f "$(rto "$row" haproxy rps)" 2)" "$(f "$(rto "$row" haproxy p99)" 2)" \
			"$(f "$(rto "$row" nginx rps)" 2)" "$(f "$(rto "$row" nginx p99)" 2)" \
			"$(f "$(rto "$row" direct rps)" 2)"
	done
	echo "goal (issue #4): xdproxy >= ${GOAL_RPS}x HAProxy's req/s with a p99 no worse: $GOAL" \
		"(req/s $(f "$RPS_X" 2)x, p99 $(f "${M[xdproxy.p99]:-NA}" 2) ms vs $(f "${M[haproxy.p99]:-NA}" 2) ms)"
	echo "us/req    machine: busy CPU of the whole machine (all cores, /proc/stat) per request: wrk +"
	echo "          proxy + origin + kernel, direct is the floor; proxy: utime+stime of the proxy's"
	echo "          processes (all threads) per request; kernel work in softirq is not in it"
	echo "spread%   (max - min) / median of the runs"
	echo "vs        ratio of the row's median to that row's: req/s higher is better, p99 lower is better"
	echo "direct    client -> origin by plain kernel forwarding through the proxy namespace"
	echo "          (same two veth hops as the proxied rows, no proxy)"
	echo "bound     wrk, proxy and origin share this machine's $(nproc) cores: a row is bounded by the"
	echo "          machine, not by the proxy alone"
	if [[ $IDLE_CONNS -gt 0 ]]; then
		echo
		echo "idle keep-alive client connections: $IDLE_CONNS per proxy, one GET answered on each, then all"
		echo "held open and idle; RSS of the proxy's processes (VmRSS, all of them)"
		printf '%-20s %10s %10s %10s %10s %7s %14s\n' proxy "start kB" "before kB" "idle kB" B/conn "vs HAP" "upstream conns"
		printf '%s\n' "$(printf '%.0s-' {1..87})"
		for row in "${ROWS[@]}"; do
			[[ $row == direct ]] && continue
			printf '%-20s %10s %10s %10s %10s %7s %14s\n' "${LABEL[$row]}" \
				"$(f "${M[$row.rss_start]}" 0)" "$(f "${M[$row.idle_rss0]}" 0)" "$(f "${M[$row.idle_rss1]}" 0)" "$(f "${M[$row.idle_bpc]}" 0)" \
				"$(f "$(rto "$row" haproxy idle_bpc)" 2)" "$(f "${M[$row.idle_up0]}" 0) / $(f "${M[$row.idle_up1]}" 0)"
		done
		echo "start     as the proxy started; before: after the wrk runs, before the idle clients"
		echo "          connect; idle: 2 s after the last of them got its response"
		echo "B/conn    (idle - before) * 1024 / connections: user memory only, the kernel's socket"
		echo "          buffers are not in it (the same for every proxy). RSS counts pages touched:"
		echo "          what a proxy set up at start (nginx writes its whole connection array, sized"
		echo "          by worker_connections = $MAXCONN, at start) or has free in its heap from the"
		echo "          wrk runs is not in the delta, so it is a floor, closest with many connections"
		echo "upstream  the proxy's established connections to the origin before the clients opened /"
		echo "          while they idle (idle ones from the wrk runs may still be counted in both)"
	fi
	[[ $NB -gt 0 ]] && bulk_table
	echo
	load_report
	[[ $ORIGIN_OK == 1 ]] || echo "note: $ORIGIN_NOTE"
	[[ $NB -gt 0 && $UP_OK == 0 ]] && echo "note: $UP_NOTE"
	for row in "${ALL_ROWS[@]}"; do
		[[ -n ${NOTE[$row]:-} ]] && echo "note: ${LABEL[$row]}: ${NOTE[$row]}"
		[[ -n ${NOTE[$row.idle]:-} ]] && echo "note: ${LABEL[$row]}: idle connections: ${NOTE[$row.idle]}"
	done
	report_tail
}

json_section() {
	local n=0 row note idle
	echo "  \"http_proxy\": {"
	echo "    \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"), \"kernel\": $(jstr "$(uname -r)"), \"cpus\": $(nproc),"
	echo "    \"xdproxy\": $(jstr "$VERSION"), \"runs\": $RUNS, \"seconds\": $SECS, \"quick\": $([[ $QUICK == 1 ]] && echo true || echo false),"
	echo "    \"method\": \"wrk -t1 -c$WRK_CONNS keep-alive, GET of a 100-byte file from nginx; proxies add X-Forwarded-For/-Proto/-Host, keep-alive to the origin, no access log\","
	echo "    \"workers\": $WORKERS, \"idle_conns\": $IDLE_CONNS, \"idle_busy_pct\": [$IDLE0, $IDLE1],"
	echo "    \"goal\": {\"min_x_haproxy_rps\": $GOAL_RPS, \"p99_no_worse_than_haproxy\": true,"
	echo "             \"rps_x_haproxy\": $(jnum "$RPS_X"), \"p99_x_haproxy\": $(jnum "$P99_X"), \"met\": $(jbool "$GOAL")},"
	echo "    \"rows\": ["
	for row in "${ROWS[@]}"; do
		n=$((n + 1))
		note="${NOTE[$row]:-}${NOTE[$row.idle]:+${NOTE[$row]:+; }idle connections: ${NOTE[$row.idle]}}"
		idle=null
		[[ $row != direct && $IDLE_CONNS -gt 0 ]] &&
			idle="{\"conns\": $IDLE_CONNS, \"open\": $(jnum "${M[$row.idle_open]}"), \"rss_start_kb\": $(jnum "${M[$row.rss_start]}"), \"rss_before_kb\": $(jnum "${M[$row.idle_rss0]}"), \"rss_idle_kb\": $(jnum "${M[$row.idle_rss1]}"), \"bytes_per_conn\": $(jnum "${M[$row.idle_bpc]}"), \"upstream_conns_before\": $(jnum "${M[$row.idle_up0]}"), \"upstream_conns_idle\": $(jnum "${M[$row.idle_up1]}"), \"client_conns_at_proxy\": $(jnum "${M[$row.idle_clients]}")}"
		# shellcheck disable=SC2086 # R[] values are space-separated lists
		cat <<-EOF
		      {"id": "$row", "label": $(jstr "${LABEL[$row]}"), "note": $([[ -n $note ]] && jstr "$note" || echo null),
		       "rps": $(jnum "${M[$row.rps]}"), "rps_runs": $(jarr ${R[$row.rps]:-}),
		       "p99_ms": $(jnum "${M[$row.p99]}"), "p99_ms_runs": $(jarr ${R[$row.p99]:-}),
		       "machine_cpu_us_per_req": $(jnum "${M[$row.cpu_us_req]}"), "proxy_cpu_us_per_req": $(jnum "${M[$row.proxy_us_req]}"),
		       "foreign_cpu_pct_runs": $(jarr ${R[$row.http.foreign]:-}),
		       "ratio_haproxy": {"rps": $(jnum "$(rto "$row" haproxy rps)"), "p99": $(jnum "$(rto "$row" haproxy p99)")},
		       "ratio_nginx": {"rps": $(jnum "$(rto "$row" nginx rps)"), "p99": $(jnum "$(rto "$row" nginx p99)")},
		       "ratio_direct": {"rps": $(jnum "$(rto "$row" direct rps)")},
		       "idle": $idle}$([[ $n -lt $NR ]] && echo ,)
		EOF
	done
	echo "    ],"
	json_bulk
	echo "  }"
}

# json_bulk: the "bulk" key of "http_proxy" (null without the bulk part).
json_bulk() {
	local n=0 row note
	if [[ $NB -eq 0 ]]; then
		echo "    \"bulk\": null"
		return
	fi
	echo "    \"bulk\": {"
	echo "      \"file_bytes\": $BULK_BYTES, \"content\": \"zeros\", \"transfers_per_run\": $BULK_REPS, \"gb\": 1e9,"
	echo "      \"method\": \"curl, one keep-alive connection: GET /bulk (down) and PUT /upload/bulk (up, stored by the origin with dav in tmpfs); Gbit/s = bytes / curl time_total; tcp rows: xdproxy mode tcp listeners to the origin's HTTP port\","
	echo "      \"uploads\": $([[ $UP_OK == 1 ]] && echo true || echo false),"
	echo "      \"splice_check\": $([[ -n $SPLICED ]] && jstr "$SPLICED" || echo null),"
	echo "      \"splice_gain_pct\": {\"down\": $(jnum "$(pct tcp-kernel xdproxy down.gbps)"), \"up\": $(jnum "$(pct tcp-kernel xdproxy up.gbps)"),"
	echo "                          \"machine_cpu_down\": $(jnum "$(pct tcp-kernel xdproxy down.cpu_m)"), \"machine_cpu_up\": $(jnum "$(pct tcp-kernel xdproxy up.cpu_m)")},"
	echo "      \"conclusion\": $([[ -n $CONCLUSION ]] && jstr "$CONCLUSION" || echo null),"
	echo "      \"conclusion_user_splice\": $([[ -n $CONCLUSION_USER ]] && jstr "$CONCLUSION_USER" || echo null),"
	echo "      \"rows\": ["
	for row in "${BULK_ROWS[@]}"; do
		n=$((n + 1))
		note=${NOTE[$row]:-}
		# shellcheck disable=SC2086 # R[] values are space-separated lists
		cat <<-EOF
		        {"id": "$row", "label": $(jstr "${LABEL[$row]}"), "note": $([[ -n $note ]] && jstr "$note" || echo null),
		         "down_gbps": $(jnum "${M[$row.down.gbps]}"), "down_gbps_runs": $(jarr ${R[$row.down.gbps]:-}),
		         "up_gbps": $(jnum "${M[$row.up.gbps]}"), "up_gbps_runs": $(jarr ${R[$row.up.gbps]:-}),
		         "machine_cpu_s_per_gb": {"down": $(jnum "${M[$row.down.cpu_m]}"), "up": $(jnum "${M[$row.up.cpu_m]}")},
		         "proxy_cpu_s_per_gb": {"down": $(jnum "${M[$row.down.cpu_p]}"), "up": $(jnum "${M[$row.up.cpu_p]}")},
		         "foreign_cpu_pct_runs": {"down": $(jarr ${R[$row.down.foreign]:-}), "up": $(jarr ${R[$row.up.foreign]:-})},
		         "ratio_haproxy": {"down": $(jnum "$(rto "$row" haproxy down.gbps)"), "up": $(jnum "$(rto "$row" haproxy up.gbps)")},
		         "ratio_nginx": {"down": $(jnum "$(rto "$row" nginx down.gbps)"), "up": $(jnum "$(rto "$row" nginx up.gbps)")},
		         "ratio_xdproxy_http": {"down": $(jnum "$(rto "$row" xdproxy down.gbps)"), "up": $(jnum "$(rto "$row" xdproxy up.gbps)")}}$([[ $n -lt $NB ]] && echo ,)
		EOF
	done
	echo "      ]"
	echo "    }"
}

# results.txt and results.json: this suite's section and key replaced, the
# other suites' kept.
TXT="$OUT/results.txt" JSON="$OUT/results.json"
mkdir -p "$TMP/report"
SECTION="$TMP/report/section.txt"
section >"$SECTION"
json_section >"$TMP/report/section.json"
results_merge "HTTP reverse proxy benchmark" http_proxy "$SECTION" "$TMP/report/section.json"

echo
sed -n '1,/^raw runs:/p' "$SECTION" | sed '$d'
echo "http summary: xdproxy $(f "${M[xdproxy.rps]:-NA}" 0) req/s = $(f "$RPS_X" 2)x HAProxy, $(f "$(rto xdproxy nginx rps)" 2)x nginx;" \
	"p99 $(f "${M[xdproxy.p99]:-NA}" 2) ms = $(f "$P99_X" 2)x HAProxy, $(f "$(rto xdproxy nginx p99)" 2)x nginx;" \
	"idle $(f "${M[xdproxy.idle_bpc]:-NA}" 0) B/conn vs HAProxy $(f "${M[haproxy.idle_bpc]:-NA}" 0), nginx $(f "${M[nginx.idle_bpc]:-NA}" 0); goal $GOAL"
if [[ $NB -gt 0 ]]; then
	echo "bulk summary: xdproxy http $(f "${M[xdproxy.down.gbps]:-NA}" 2)/$(f "${M[xdproxy.up.gbps]:-NA}" 2) Gbit/s down/up" \
		"= $(f "$(rto xdproxy haproxy down.gbps)" 2)/$(f "$(rto xdproxy haproxy up.gbps)" 2)x HAProxy," \
		"$(f "$(rto xdproxy nginx down.gbps)" 2)/$(f "$(rto xdproxy nginx up.gbps)" 2)x nginx," \
		"$(f "$(rto xdproxy tcp-kernel down.gbps)" 2)/$(f "$(rto xdproxy tcp-kernel up.gbps)" 2)x xdproxy tcp kernel"
	[[ -n $CONCLUSION ]] && echo "bulk conclusion: $CONCLUSION"
fi
rm -rf "$TMP/report"
echo "results: $TXT $JSON (logs: $LOGS_DIR/)"
