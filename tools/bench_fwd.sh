#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Forward proxy benchmark (issue #5): xdproxy's forward proxy (listener mode
# forward) against Squid and tinyproxy, and against no proxy at all, in one
# run, on one throwaway topology, every proxy in the same namespace talking
# to the same origin. Runs after tools/bench_http.sh in `make bench` and
# appends a "Forward proxy benchmark" section to the results; it runs just
# as well alone.
#
#   client ns              proxy ns                          origin ns
#   198.18.1.1 --veth-- 198.18.1.2 | 198.18.3.1 --veth-- 198.18.3.2
#   iperf3 -c (through     xdproxy :3128, squid :3228,       iperf3 -s :5201
#   the tunnel), wrk       tinyproxy :3328 (ip_forward=1     nginx :80 (100-byte
#                          for "direct")                     file, keep-alive)
#
# Destinations are IP addresses (198.18.3.2: a benchmarking range, which
# xdproxy's destination policy treats as public), so no proxy resolves a
# name. Rows: direct (the client talks to the origin by plain kernel
# forwarding through the proxy ns: the same two veth hops as every proxied
# row, no proxy), xdproxy (mode forward, one worker; CONNECT tunnels are
# handed to the kernel splice), squid (one process, -N, no cache), tinyproxy
# (one process, a thread per connection: it has no worker setting).
#
# Measured per row:
#   - CONNECT tunnel bulk throughput: iperf3 -c 198.18.3.2 through the
#     proxy, one stream, and reversed (-R); the receiver's count. iperf3 has
#     no proxy support, so a tunnel client does the CONNECT for it:
#       proxychains (default): proxychains4 (libproxychains, LD_PRELOAD)
#         turns iperf3's own connect() calls (control and data connection)
#         into a CONNECT through the proxy and gives iperf3 the socket once
#         the proxy said 200: no hop is added, iperf3 then writes and reads
#         the tunnel itself. "direct" is plain iperf3.
#       socat (BENCH_FWD_TUNNEL=socat, or when proxychains4 is missing):
#         iperf3 -c 127.0.0.1 to a socat in the client ns that opens the
#         CONNECT (socat PROXY:) per connection and copies both ways in user
#         space: a hop on the client side, the same for every row, "direct"
#         included (socat TCP4: straight to the origin), which so stays the
#         ceiling. It costs CPU on a machine that the client, proxy and
#         origin share: ratios between rows shrink.
#     Gbit/s; CPU per GB (1e9 bytes) of the proxy process (utime+stime, all
#     threads: xdproxy's kernel splice runs in softirq and is NOT charged to
#     it) and of the whole machine (busy jiffies of all CPUs, /proc/stat).
#   - HTTP GET through the proxy: wrk -t1 -c50 -d$SECS --latency, keep-alive
#     on the client side, GET of the 100-byte file. wrk has no proxy support
#     either, but a script sets the request target to the absolute form
#     (wrk.path = "http://198.18.3.2/100b", Host: 198.18.3.2) and wrk sends
#     it to the proxy's address as a forward proxy expects. req/s, p99
#     latency, machine and proxy CPU per request, and per request the TCP
#     connections the client opened and the origin accepted (ActiveOpens in
#     the client ns, PassiveOpens in the origin ns, /proc/net/snmp): whether
#     the proxy keeps the client's connection and pools its upstream ones.
#     A run with any non-2xx answer is discarded.
# Every measurement is the median of BENCH_RUNS runs, interleaved across
# rows (round r of every row, then round r+1) so that drift in the machine
# hits every row. Runs where other processes used more than 10% of the
# machine are marked CROWDED.
#
# Fairness: socket buffers of BENCH_SOCKBUF for the proxies that can set
# them. xdproxy: listener sndbuf/rcvbuf (SO_*BUFFORCE, not capped; the
# kernel doubles them). In modes http and forward they reach the client
# side only: xdproxy opens its upstream sockets with kernel defaults,
# autotuned up to net.ipv4.tcp_wmem/tcp_rmem's maximum, and a tunnel keeps
# them when it is handed to the splice. Squid: tcp_recv_bufsize, which it
# applies to SO_RCVBUF, SO_SNDBUF and TCP_WINDOW_CLAMP of its sockets,
# client and upstream; plain SO_*BUF, so capped by net.core.[rw]mem_max
# (then doubled by the kernel like xdproxy's). tinyproxy: no setting, kernel
# defaults, autotuned. What each got is in the report's ss output. Squid
# and tinyproxy add Via and (Squid) X-Forwarded-For by default, xdproxy
# X-Forwarded-For (forwarded: xff): each proxy's default identity work. No
# access log anywhere. Squid and tinyproxy connect to the origin from
# addresses of their own (see SRC_IP below).
# Goal (issue #5): xdproxy's tunnel throughput >= 2x Squid's (forward
# direction, and reported for -R too).
#
# Environment:
#   BUILD=build            build dir; xdproxy is $BUILD/xdproxy, results go to
#                          $BUILD/bench/results.{txt,json} (an earlier "Forward
#                          proxy benchmark" section is replaced, the rest kept),
#                          logs and generated configs to logs-fwd/
#   BENCH_SECS=8           seconds per iperf3 / wrk run
#   BENCH_RUNS=3           runs per measurement (median reported)
#   BENCH_QUICK=1          smoke test: 1 run of 3 s (unless the above are set)
#   BENCH_SOCKBUF=8M       xdproxy sndbuf/rcvbuf, Squid tcp_recv_bufsize
#   BENCH_FWD_TUNNEL=      proxychains | socat (default: proxychains if
#                          installed, else socat)
#   BENCH_ROWS="..."       only these rows (ids: direct xdproxy squid tinyproxy);
#                          default all
#   BENCH_IDLE_WAIT=30     wait up to this many seconds for other load to stop
#   BENCH_TIMEOUT=         hard bound on the whole run in seconds (default:
#                          twice the estimate + 120); on expiry all is torn down
#
# Needs root, iproute2 (ip, ss), procps (pgrep), iperf3, wrk, nginx (the
# origin) and proxychains4 or socat; squid and tinyproxy for their rows (a
# missing peer turns its row into "-", it does not stop the run). Touches no
# host interface, address, route or sysctl, and binds nothing outside its
# namespaces: everything lives in namespaces named xdpf<pid>-*, removed
# from an EXIT trap, also on failure or Ctrl-C. The helpers shared with the
# other benchmarks live in tools/bench_lib.sh.
set -uo pipefail
BENCH_NAME=bench-fwd
# shellcheck source=tools/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 1

bench_durations 3 8
SOCKBUF=${BENCH_SOCKBUF:-8M}
GOAL_X=2		# xdproxy tunnel Gbit/s over Squid's, at least
WRK_CONNS=50
# File descriptors for every proxy and wrk: 65536, or the hard limit if
# lower (raising it needs CAP_SYS_RESOURCE, which a container may lack);
# Squid's max_filedescriptors gets the same, or it fails to raise it.
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited || $NOFILE -gt 65536 ]] && NOFILE=65536

NSP="xdpf$$"		# namespace prefix, unique per run
net3_init
# Each proxy's own address toward the origin (xdproxy has no setting for
# it: the proxy ns' primary address on that side, PRX_OIP). xdproxy closes
# its connection to the origin after every request, which leaves one
# TIME_WAIT socket per request in the proxy ns for 60 s; with thousands of
# them, every connect() from that address searches the ephemeral ports at
# length. Squid's and tinyproxy's connect()s from other addresses do not
# pay for xdproxy's.
declare -A SRC_IP=([xdproxy]=$PRX_OIP [squid]=198.18.3.12 [tinyproxy]=198.18.3.13)
TARGET_URL="http://$ORG_IP/100b"	# what the proxied GETs ask for

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
[[ $SOCKBUF =~ ^[0-9]+[KMG]?$ ]] || die "BENCH_SOCKBUF must be a size: bytes or a K/M/G suffix"
need ip ss awk timeout pgrep iperf3 wrk nginx
TUNNEL=${BENCH_FWD_TUNNEL:-}
if [[ -z $TUNNEL ]]; then
	command -v proxychains4 >/dev/null && TUNNEL=proxychains || TUNNEL=socat
fi
case $TUNNEL in
proxychains) command -v proxychains4 >/dev/null || die "'proxychains4' not found; run 'make deps'" ;;
socat) command -v socat >/dev/null || die "'socat' not found; run 'make deps'" ;;
*) die "BENCH_FWD_TUNNEL must be proxychains or socat" ;;
esac
bench_start xdpf logs-fwd

# ---------------------------------------------------------------- rows
ROWS=(direct xdproxy squid tinyproxy)
ALL_ROWS=("${ROWS[@]}")
PROXY_ROWS=(xdproxy squid tinyproxy)
declare -A LABEL=(
	[direct]="direct (kernel fwd)"
	[xdproxy]="xdproxy forward"
	[squid]="squid"
	[tinyproxy]="tinyproxy"
)
declare -A PORT=([direct]=0 [xdproxy]=3128 [squid]=3228 [tinyproxy]=3328)
# socat mode: the client-side port of each row's socat.
declare -A SOCAT_PORT=([direct]=7100 [xdproxy]=7128 [squid]=7228 [tinyproxy]=7328)
if [[ -n ${BENCH_ROWS:-} ]]; then
	sel=()
	for row in "${ROWS[@]}"; do
		[[ " $BENCH_ROWS " == *" $row "* ]] && sel+=("$row")
	done
	[[ ${#sel[@]} -gt 0 ]] || die "BENCH_ROWS selects none of: ${ROWS[*]}"
	ROWS=("${sel[@]}")
fi
declare -A PID=()	# row -> proxy pid ("" = none, or it failed to start)
declare -A NOTE=()	# row -> why it has no numbers, or what went wrong
declare -A VERS=()	# row -> the peer's version

# Every proxy starts under the same raised fd limit.
nofile_exec "$NOFILE"

start_xdproxy() {
	local row=xdproxy cfg="$TMP/xdproxy.yaml"
	cat >"$cfg" <<-EOF
	# generated by tools/bench_fwd.sh
	global:
	  log_level: info
	  stats_interval: 0
	listeners:
	  - name: fwd
	    bind: $PRX_IP:${PORT[$row]}
	    mode: forward
	    workers: 1
	    sndbuf: $SOCKBUF
	    rcvbuf: $SOCKBUF
	    http:
	      access_log: off
	    forward:
	      clients: [198.18.1.0/24]
	      connect_ports: [$IPERF_PORT, 443]
	      allow_private: false
	EOF
	VERS[$row]=$(xdproxy_version "$XDPROXY")
	bg "$NS_PRX" "$TMP/$row.log" "${NOFILE_EXEC[@]}" "$XDPROXY" run -c "$cfg" --log-level info
	started "$row" "$LASTPID" xdproxy
}

start_squid() {
	local row=squid d="$TMP/squid" buf
	buf=$(size_bytes "$SOCKBUF")
	mkdir -p "$d"
	# Squid started as root drops to cache_effective_user (Debian: proxy)
	# right after binding: let it write its log and pid there.
	chmod 711 "$TMP"
	chown proxy: "$d" 2>/dev/null || chmod 777 "$d"
	# Nothing under /etc or /var: no cache_dir (no disk cache), cache deny
	# all (memory cache unused), no access or store log, no ICMP pinger, no
	# netdb file; cache.log and the pid file in the temp dir.
	cat >"$d/squid.conf" <<-EOF
	# generated by tools/bench_fwd.sh
	http_port $PRX_IP:${PORT[$row]}
	tcp_outgoing_address ${SRC_IP[$row]}
	workers 1
	acl bench_clients src 198.18.1.0/24
	acl bench_connect_ports port $IPERF_PORT 443
	acl bench_http_ports port $HTTP_PORT
	acl CONNECT method CONNECT
	http_access deny CONNECT !bench_connect_ports
	http_access deny !CONNECT !bench_http_ports
	http_access allow bench_clients
	http_access deny all
	cache deny all
	cache_mem 0 MB
	access_log none
	cache_store_log none
	cache_log $d/cache.log
	pid_filename $d/squid.pid
	coredump_dir $d
	netdb_filename none
	pinger_enable off
	visible_hostname xdproxy-bench
	shutdown_lifetime 0 seconds
	max_filedescriptors $NOFILE
	$([[ $buf -gt 0 ]] && echo "tcp_recv_bufsize $buf bytes")
	EOF
	VERS[$row]=$(squid -v 2>/dev/null | sed -n 's/^Squid Cache: Version //p' | head -n1)
	if ! squid -k parse -f "$d/squid.conf" >"$TMP/$row.log" 2>&1; then
		NOTE[$row]="squid rejected its config (see logs-fwd/$row.log)"
		log "${NOTE[$row]}"
		return 1
	fi
	# -N: foreground, no daemon, no master/kid processes; -d1: its
	# warnings on stderr too.
	bg "$NS_PRX" "$TMP/$row.log" "${NOFILE_EXEC[@]}" squid -N -d1 -f "$d/squid.conf"
	started "$row" "$LASTPID" squid
}

start_tinyproxy() {
	local row=tinyproxy d="$TMP/tinyproxy"
	mkdir -p "$d"
	chmod 711 "$TMP"
	chmod 777 "$d"
	# No LogFile and no Syslog: it logs to stdout (our log file).
	cat >"$d/tinyproxy.conf" <<-EOF
	# generated by tools/bench_fwd.sh
	User nobody
	Group nogroup
	Port ${PORT[$row]}
	Listen $PRX_IP
	Bind ${SRC_IP[$row]}
	Timeout 600
	MaxClients 4096
	Allow 198.18.1.0/24
	ConnectPort $IPERF_PORT
	ConnectPort 443
	LogLevel Warning
	PidFile "$d/tinyproxy.pid"
	EOF
	VERS[$row]=$(tinyproxy -v 2>/dev/null | awk '{ print $2; exit }')
	# -d: foreground.
	bg "$NS_PRX" "$TMP/$row.log" "${NOFILE_EXEC[@]}" tinyproxy -d -c "$d/tinyproxy.conf"
	started "$row" "$LASTPID" tinyproxy
}

# ---------------------------------------------------------------- tunnel clients
# proxychains: one config per row, the proxy as the only hop. No proxy_dns:
# the destination is an address.
pc_conf() {
	local row=$1 f="$TMP/proxychains-$1.conf"
	cat >"$f" <<-EOF
	# generated by tools/bench_fwd.sh
	strict_chain
	quiet_mode
	tcp_read_time_out 15000
	tcp_connect_time_out 8000
	[ProxyList]
	http $PRX_IP ${PORT[$row]}
	EOF
	echo "$f"
}
# socat: one per row, listening on the client ns' loopback, for the whole
# bench. -b: 256 KiB copies (the default is 8 KiB).
start_socat() {
	local row=$1 dst
	if [[ $row == direct ]]; then
		dst="TCP4:$ORG_IP:$IPERF_PORT"
	else
		dst="PROXY:$PRX_IP:$ORG_IP:$IPERF_PORT,proxyport=${PORT[$row]}"
	fi
	bg "$NS_CLI" "$TMP/socat-$row.log" socat -b 262144 \
		"TCP-LISTEN:${SOCAT_PORT[$row]},bind=127.0.0.1,reuseaddr,fork" "$dst"
	if ! wait_listen "$NS_CLI" 127.0.0.1 "${SOCAT_PORT[$row]}" 5; then
		NOTE[$row]="${NOTE[$row]:+${NOTE[$row]}; }socat did not start"
		stop "$LASTPID"
		return 1
	fi
}
# iperf_cmd ROW: the iperf3 client command line (without -t/-R/-J) for ROW.
iperf_cmd() {
	local row=$1
	if [[ $TUNNEL == socat ]]; then
		echo iperf3 -c 127.0.0.1 -p "${SOCAT_PORT[$row]}"
	elif [[ $row == direct ]]; then
		echo iperf3 -c "$ORG_IP" -p "$IPERF_PORT"
	else
		echo proxychains4 -q -f "$TMP/proxychains-$row.conf" iperf3 -c "$ORG_IP" -p "$IPERF_PORT"
	fi
}

# ---------------------------------------------------------------- measuring
# tcp_opens NS: "ActiveOpens PassiveOpens" of the namespace (/proc/net/snmp
# is per namespace).
tcp_opens() {
	# shellcheck disable=SC2016 # awk's fields
	ip netns exec "$1" awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
		print $c["ActiveOpens"], $c["PassiveOpens"]; exit }' /proc/net/snmp 2>/dev/null || echo "NA NA"
}

RAW="$TMP/raw.txt"
: >"$RAW"

# bulk_run ROW DIR(fwd|rev) RUN
bulk_run() {
	local row=$1 dir=$2 run=$3 flag='' srv json="$TMP/iperf-$1-$2-$3.json"
	local m0 m1 p0 p1 gbps bytes err ss_pid='' f0 a0 fpct
	local -a cmd
	read -ra cmd < <(iperf_cmd "$row")
	[[ $dir == rev ]] && flag=-R
	bg "$NS_ORG" "$TMP/iperf-server.log" timeout -k 2 $((SECS + 30)) \
		iperf3 -s -1 -B "$ORG_IP" -p "$IPERF_PORT"
	srv=$LASTPID
	if ! wait_listen "$NS_ORG" "$ORG_IP" "$IPERF_PORT" 5; then
		log "iperf3 server did not start"
		stop "$srv"
		add "$row" "$dir.gbps" NA
		return
	fi
	# Socket buffers as the proxy sees them, half way through the first run.
	if [[ $run == 1 && $row != direct ]]; then
		(sleep "$(awk -v s="$SECS" 'BEGIN { print s / 2 }')"
		 ip netns exec "$NS_PRX" ss -Htmn state established >"$TMP/ss-$row-$dir.txt" 2>&1) &
		ss_pid=$!
	fi
	f0=$(foreign_ticks) a0=$(all_ticks)
	m0=$(machine_ticks) p0=$(row_ticks "$row")
	timeout -k 2 $((SECS + 25)) ip netns exec "$NS_CLI" \
		"${cmd[@]}" -t "$SECS" -i 0 $flag -J --connect-timeout 5000 >"$json" 2>"$json.err"
	m1=$(machine_ticks) p1=$(row_ticks "$row")
	fpct=$(foreign_pct "$f0" "$a0")
	[[ -n $ss_pid ]] && wait "$ss_pid" 2>/dev/null
	stop "$srv"
	gbps=$(iperf_sum "$json" bits_per_second)
	bytes=$(iperf_sum "$json" bytes)
	[[ $gbps != NA ]] && gbps=$(awk -v b="$gbps" 'BEGIN { printf "%.3f\n", b / 1e9 }')
	if [[ $gbps == NA || $bytes == NA ]]; then
		gbps=NA bytes=NA
		err=$(sed -n 's/.*"error":[ \t]*"\(.*\)".*/\1/p' "$json" | head -n1)
		log "bulk $dir $row run $run failed: ${err:-$(cat "$json.err" "$json" 2>/dev/null | tail -n1)}"
	fi
	local cpu_p cpu_m
	cpu_p=$(per_gb "$(tdiff "$p1" "$p0")" "$bytes")
	cpu_m=$(per_gb $((m1 - m0)) "$bytes")
	add "$row" "$dir.gbps" "$gbps"
	add "$row" "$dir.bytes" "$bytes"
	add "$row" "$dir.cpu_proc" "$cpu_p"
	add "$row" "$dir.cpu_machine" "$cpu_m"
	add "$row" "$dir.foreign" "$fpct"
	raw "$(printf 'tunnel %s %-10s run %d: %7s Gbit/s bytes=%s proxy_ticks=%s machine_ticks=%s proxy_s/GB=%s machine_s/GB=%s foreign_cpu=%s%%%s' \
		"$dir" "$row" "$run" "$gbps" "$bytes" "$(tdiff "$p1" "$p0")" $((m1 - m0)) \
		"$cpu_p" "$cpu_m" "$fpct" "$(crowded "$fpct")")"
}

# The wrk script of the proxied rows: an absolute-form target, the origin's
# Host (wrk would put the proxy's there).
WRK_LUA="$TMP/absolute.lua"
cat >"$WRK_LUA" <<EOF
-- generated by tools/bench_fwd.sh
wrk.path = "$TARGET_URL"
wrk.headers["Host"] = "$ORG_IP"
EOF

# get_run ROW RUN: wrk -t1 -c50 keep-alive, GET of /100b, straight from the
# origin (direct) or through the proxy. As bench_lib.sh's http_run, with
# the absolute-form script and the connection counts.
get_run() {
	local row=$1 run=$2 out="$TMP/wrk-$1-$2.txt" m0 m1 f0 a0 fpct
	local c0 c1 o0 o1 pt0 pt1 url tw=NA
	local -a script=()
	if [[ $row == direct ]]; then
		url=$TARGET_URL
	else
		url="http://$PRX_IP:${PORT[$row]}/"
		script=(-s "$WRK_LUA")
	fi
	# TIME_WAIT sockets from the row's address when the run starts.
	[[ $row != direct ]] && tw=$(ip netns exec "$NS_PRX" ss -Htan state time-wait "src ${SRC_IP[$row]}" 2>/dev/null | grep -c .)
	f0=$(foreign_ticks) a0=$(all_ticks)
	read -r c0 _ < <(tcp_opens "$NS_CLI")
	read -r _ o0 < <(tcp_opens "$NS_ORG")
	m0=$(machine_ticks) pt0=$(row_ticks "$row")
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout -k 2 $((SECS + 20)) ip netns exec "$NS_CLI" "${NOFILE_EXEC[@]}" wrk \
		-t1 -c$WRK_CONNS -d"${SECS}s" --timeout 5s --latency "${script[@]}" "$url" >"$out" 2>&1
	m1=$(machine_ticks) pt1=$(row_ticks "$row")
	read -r c1 _ < <(tcp_opens "$NS_CLI")
	read -r _ o1 < <(tcp_opens "$NS_ORG")
	fpct=$(foreign_pct "$f0" "$a0")
	# (wrk counts a client connection the proxy closed as a read error:
	# logged, the run kept; conns/req below says how many)
	wrk_result "$out" "get $row run $run"
	local reqs=${WRK_REQS:-NA} us_req=NA proxy_us=NA cpr=NA opr=NA
	if [[ $reqs != NA && $reqs -gt 0 ]]; then
		us_req=$(per_unit_us $((m1 - m0)) "$reqs")
		proxy_us=$(per_unit_us "$(tdiff "$pt1" "$pt0")" "$reqs")
		[[ $c0 != NA && $c1 != NA ]] && cpr=$(awk -v d=$((c1 - c0)) -v n="$reqs" 'BEGIN { printf "%.3f\n", d / n }')
		[[ $o0 != NA && $o1 != NA ]] && opr=$(awk -v d=$((o1 - o0)) -v n="$reqs" 'BEGIN { printf "%.3f\n", d / n }')
	fi
	[[ $WRK_RPS == NA ]] && us_req=NA proxy_us=NA
	add "$row" rps "$WRK_RPS"
	add "$row" p99 "$WRK_P99"
	add "$row" cpu_us_req "$us_req"
	add "$row" proxy_us_req "$proxy_us"
	add "$row" cli_conns_req "$cpr"
	add "$row" org_conns_req "$opr"
	add "$row" get.foreign "$fpct"
	add "$row" tw_before "$tw"
	raw "$(printf 'get %-10s run %d: %9s req/s p99=%sms requests=%s machine_us/req=%s proxy_us/req=%s client_conns/req=%s origin_conns/req=%s time_wait_before=%s foreign_cpu=%s%%%s %s' \
		"$row" "$run" "$WRK_RPS" "$WRK_P99" "$reqs" "$us_req" "$proxy_us" "$cpr" "$opr" "$tw" "$fpct" "$(crowded "$fpct")" "$WRK_ERRS")"
}

# ---------------------------------------------------------------- main
NR=${#ROWS[@]}
EST=$((NR * RUNS * (3 * SECS + 8) + 40))
bench_begin "$EST" "$NR paths x $RUNS run(s) x ${SECS}s (tunnel, reverse tunnel, GET), tunnel client $TUNNEL"
for row in squid tinyproxy; do
	ip -n "$NS_PRX" addr add "${SRC_IP[$row]}/24" dev org0 || die "address ${SRC_IP[$row]} in $NS_PRX"
done

want() { [[ " ${ROWS[*]} " == *" $1 "* ]]; }
GET_OK=1
if ! start_origin_http; then
	GET_OK=0 GET_NOTE="the origin nginx did not start (see logs-fwd/nginx/)"
	log "GET requests skipped: $GET_NOTE"
fi
want xdproxy && start_xdproxy
for row in squid tinyproxy; do
	want "$row" || continue
	if ! command -v "$row" >/dev/null; then
		NOTE[$row]="$row not installed"
	else
		"start_$row"
	fi
done
# runnable ROW: direct always; a proxy row only if its proxy is up.
runnable() { [[ $1 == direct || -n ${PID[$1]:-} ]]; }
declare -A TUN_OK=()
for row in "${ROWS[@]}"; do
	runnable "$row" || continue
	if [[ $TUNNEL == socat ]]; then
		start_socat "$row" && TUN_OK[$row]=1
	else
		[[ $row == direct ]] || pc_conf "$row" >/dev/null
		TUN_OK[$row]=1
	fi
done

for ((run = 1; run <= RUNS; run++)); do
	for row in "${ROWS[@]}"; do
		[[ -n ${TUN_OK[$row]:-} ]] || continue
		bulk_run "$row" fwd "$run"
		bulk_run "$row" rev "$run"
	done
done
if [[ $GET_OK == 1 ]]; then
	for ((run = 1; run <= RUNS; run++)); do
		for row in "${ROWS[@]}"; do
			runnable "$row" && get_run "$row" "$run"
		done
	done
fi
# TIME_WAIT sockets after the GET runs, per proxy (its address) and at
# the origin: who closed the connections between them.
declare -A TW_END=()
for row in "${PROXY_ROWS[@]}"; do
	TW_END[$row]=$(ip netns exec "$NS_PRX" ss -Htan state time-wait "src ${SRC_IP[$row]}" 2>/dev/null | grep -c .)
done
TW_ORG=$(ip netns exec "$NS_ORG" ss -Htan state time-wait 2>/dev/null | grep -c .)
IDLE1=$(idle_busy_pct)
# Did a proxy die along the way? Its numbers are then suspect.
proxy_exited "${PROXY_ROWS[@]}"
for row in "${PROXY_ROWS[@]}"; do [[ -n ${PID[$row]:-} ]] && stop "${PID[$row]}"; done

# Did the tunnels go through the kernel splice? xdproxy logs its verdict
# counters on exit: bytes redirected in the kernel against bytes passed up
# to user space.
SPLICED=
[[ -n ${PID[xdproxy]:-} ]] && SPLICED=$(splice_summary "$TMP/xdproxy.log")
# Warnings and errors the proxies logged, for the report.
declare -A WARN=()
for row in "${PROXY_ROWS[@]}"; do
	[[ -s $TMP/$row.log ]] || continue
	WARN[$row]=$(grep -ciE 'warn|error|fatal' "$TMP/$row.log")
done

# ---------------------------------------------------------------- report
declare -A M=()		# "$row.$metric" -> median
for row in "${ROWS[@]}"; do
	for k in fwd.gbps rev.gbps fwd.cpu_proc rev.cpu_proc fwd.cpu_machine rev.cpu_machine \
		rps p99 cpu_us_req proxy_us_req cli_conns_req org_conns_req; do
		# shellcheck disable=SC2086
		M[$row.$k]=$(median ${R[$row.$k]:-})
	done
	[[ $row == direct ]] && M[$row.fwd.cpu_proc]=- M[$row.rev.cpu_proc]=- M[$row.proxy_us_req]=-
done
# ratio of ROW's metric K over REF's
rto() { ratio "${M[$1.$3]:-NA}" "${M[$2.$3]:-NA}"; }
TUN_X=$(rto xdproxy squid fwd.gbps)
TUN_XR=$(rto xdproxy squid rev.gbps)
GOAL=$(verdict "$TUN_X" "$GOAL_X")
GOAL_R=$(verdict "$TUN_XR" "$GOAL_X")
if [[ $TUNNEL == socat ]]; then
	TUN_DESC="iperf3 -c 127.0.0.1 -> socat (client ns, CONNECT per connection) -> proxy; direct: socat -> origin"
else
	TUN_DESC="iperf3 under proxychains4 (its own connect() turned into a CONNECT; no added hop); direct: plain iperf3"
fi

section() {
	local row
	echo "Forward proxy benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $(nproc) CPUs  xdproxy $VERSION"
	echo "medians of $RUNS run(s) x ${SECS}s; tunnel: 1 iperf3 stream through CONNECT $ORG_IP:$IPERF_PORT, $TUN_DESC;"
	echo "GET: wrk -t1 -c$WRK_CONNS keep-alive, absolute-form GET $TARGET_URL (100 bytes, nginx 1 worker)"
	echo "peers: squid ${VERS[squid]:-?} (-N, workers 1, no cache), tinyproxy ${VERS[tinyproxy]:-?} (thread per connection);"
	echo "xdproxy workers 1, sndbuf/rcvbuf $SOCKBUF (client side; upstream: kernel defaults); squid tcp_recv_bufsize $SOCKBUF"
	echo "(SO_RCVBUF and SO_SNDBUF, capped by net.core.[rw]mem_max = $(cat /proc/sys/net/core/rmem_max)/$(cat /proc/sys/net/core/wmem_max)); tinyproxy: no buffer setting"
	echo
	printf '%-20s %7s %7s %11s %11s %8s %7s %7s %7s %9s  %6s %6s %6s  %6s %6s\n' \
		"" "tunnel" "" "proxy-proc" "machine" "GET" "" "machine" "proxy" "conns/req" "vs squid" "" "" "vs tiny" ""
	printf '%-20s %7s %7s %11s %11s %8s %7s %7s %7s %9s  %6s %6s %6s  %6s %6s\n' \
		path Gbit/s rev-Gb/s "s/GB f/r" "s/GB f/r" req/s p99-ms us/req us/req "cli/org" tunnel rev req/s tunnel req/s
	printf '%s\n' "$(printf '%.0s-' {1..147})"
	for row in "${ROWS[@]}"; do
		printf '%-20s %7s %7s %11s %11s %8s %7s %7s %7s %9s  %6s %6s %6s  %6s %6s\n' "${LABEL[$row]}" \
			"$(f "${M[$row.fwd.gbps]}" 2)" "$(f "${M[$row.rev.gbps]}" 2)" \
			"$(f "${M[$row.fwd.cpu_proc]}" 2)/$(f "${M[$row.rev.cpu_proc]}" 2)" \
			"$(f "${M[$row.fwd.cpu_machine]}" 2)/$(f "${M[$row.rev.cpu_machine]}" 2)" \
			"$(f "${M[$row.rps]}" 0)" "$(f "${M[$row.p99]}" 2)" \
			"$(f "${M[$row.cpu_us_req]}" 1)" "$(f "${M[$row.proxy_us_req]}" 1)" \
			"$(f "${M[$row.cli_conns_req]}" 2)/$(f "${M[$row.org_conns_req]}" 2)" \
			"$(f "$(rto "$row" squid fwd.gbps)" 2)" "$(f "$(rto "$row" squid rev.gbps)" 2)" "$(f "$(rto "$row" squid rps)" 2)" \
			"$(f "$(rto "$row" tinyproxy fwd.gbps)" 2)" "$(f "$(rto "$row" tinyproxy rps)" 2)"
	done
	echo "goal (issue #5): xdproxy tunnel >= ${GOAL_X}x Squid's: $GOAL ($(f "$TUN_X" 2)x;" \
		"reverse: $(f "$TUN_XR" 2)x, $GOAL_R)"
	# With client, proxy and origin on the same cores, no proxy beats direct.
	local dir want
	for dir in fwd rev; do
		want=$(awk -v s="${M[squid.$dir.gbps]:-NA}" -v g=$GOAL_X 'BEGIN { if (s + 0 > 0) printf "%.2f", s * g }')
		[[ -n $want ]] && awk -v w="$want" -v d="${M[direct.$dir.gbps]:-NA}" 'BEGIN { exit !(d + 0 > 0 && w > d) }' &&
			echo "           $dir: ${GOAL_X}x Squid's is $want Gbit/s, above direct's $(f "${M[direct.$dir.gbps]}" 2) on this machine: out of reach here"
	done
	echo "tunnel     iperf3 client -> origin through the proxy's CONNECT tunnel (receiver's count);"
	echo "           rev: iperf3 -R, origin -> client"
	echo "s/GB       CPU seconds per GB (1e9 bytes) moved, fwd/rev. proxy-proc: utime+stime of the proxy's"
	echo "           processes (all threads); xdproxy's kernel splice runs in softirq and is NOT charged to"
	echo "           it. machine: busy CPU of the whole machine (/proc/stat, all cores): client + proxy +"
	echo "           origin + kernel, the fair comparison; direct is the floor"
	echo "GET        req/s, p99 latency; us/req: machine and proxy CPU per request as above"
	echo "conns/req  TCP connections per request opened by the client (wrk) / accepted by the origin:"
	echo "           0.00/0.00 = keep-alive on both sides, x/1.00 = a new upstream connection per request"
	echo "vs         ratio of the row's median to that peer's (higher is better)"
	echo "direct     client -> origin by plain kernel forwarding through the proxy namespace"
	echo "           (same two veth hops as the proxied rows, no proxy)"
	echo "bound      client, proxy and origin share this machine's $(nproc) cores: a row is bounded by the"
	echo "           machine, not by the proxy alone"
	if [[ $TUNNEL == socat ]]; then
		echo "socat      every row's tunnel traffic also crosses a user-space socat in the client ns"
		echo "           (read/write, 256 KiB buffers): its CPU is in the machine column and caps every row"
	fi
	echo
	load_report
	echo "TIME_WAIT sockets after the GET runs (60 s each): xdproxy ${TW_END[xdproxy]}, squid ${TW_END[squid]}," \
		"tinyproxy ${TW_END[tinyproxy]} (proxy ns, from each proxy's own address), origin ns $TW_ORG"
	for row in "${ROWS[@]}"; do
		[[ $row == direct ]] && continue
		# shellcheck disable=SC2086
		echo "  ${LABEL[$row]}: from its address when each GET run started: $(printf '%s ' ${R[$row.tw_before]:-none})"
	done
	echo "  A proxy that closes its connection to the origin after each request leaves one TIME_WAIT socket"
	echo "  each, for 60 s: above ~14000 of them (half the ephemeral ports, the half connect() tries"
	echo "  first) every connect() from that address searches the ports at length, in the kernel, on the"
	echo "  proxy's CPU (its system time). Squid and tinyproxy connect from addresses of their own"
	echo "  (tcp_outgoing_address, Bind) so that they do not pay for xdproxy's (it has no such setting)."
	echo "  Such a row's req/s then depends on how many it started with (runs 60 s apart start afresh)"
	echo "  and on the run's length: compare its runs below; the lowest is the sustained rate"
	echo "  A client connection per request (conns/req 1.00 on the client side) means the proxy closed"
	echo "  the client's connection after each response; wrk counts each such close as a read error,"
	echo "  the run is kept"
	[[ $GET_OK == 1 ]] || echo "note: GET requests skipped: $GET_NOTE"
	for row in "${ALL_ROWS[@]}"; do
		[[ -n ${NOTE[$row]:-} ]] && echo "note: ${LABEL[$row]}: ${NOTE[$row]}"
	done
	for row in "${PROXY_ROWS[@]}"; do
		[[ ${WARN[$row]:-0} -gt 0 ]] && echo "note: ${LABEL[$row]}: ${WARN[$row]} warning/error line(s) in logs-fwd/$row.log"
	done
	[[ -n $SPLICED ]] && echo "spliced xdproxy tunnels: $SPLICED"
	echo
	echo "interfaces (veth defaults, identical for all rows):"
	echo "$NETSET"
	echo
	echo "proxy-side sockets half way through run 1 (ss -tm; tb = send buffer, rb = receive buffer):"
	for row in "${ROWS[@]}"; do
		for dir in fwd rev; do
			[[ -s $TMP/ss-$row-$dir.txt ]] || continue
			echo "  $row $dir:"
			# ss prints each socket's skmem on the line after its addresses.
			awk '$1 ~ /^skmem:/ { m = $1
				match(m, /rb[0-9]+/); rb = substr(m, RSTART + 2, RLENGTH - 2)
				match(m, /tb[0-9]+/); tb = substr(m, RSTART + 2, RLENGTH - 2)
				printf "    %-21s %-21s sendq=%-9s rb=%s tb=%s\n", a, b, q, rb, tb; next }
				{ q = $2; a = $3; b = $4 }' "$TMP/ss-$row-$dir.txt" 2>/dev/null
		done
	done
	echo
	echo "raw runs:"
	cat "$RAW"
}

json_section() {
	local n=0 row
	echo "  \"forward_proxy\": {"
	echo "    \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"), \"kernel\": $(jstr "$(uname -r)"), \"cpus\": $(nproc),"
	echo "    \"xdproxy\": $(jstr "$VERSION"), \"squid\": $(jstr "${VERS[squid]:-}"), \"tinyproxy\": $(jstr "${VERS[tinyproxy]:-}"),"
	echo "    \"runs\": $RUNS, \"seconds\": $SECS, \"quick\": $([[ $QUICK == 1 ]] && echo true || echo false),"
	echo "    \"sockbuf\": $(jstr "$SOCKBUF"), \"tunnel_client\": $(jstr "$TUNNEL"), \"gb\": 1e9,"
	echo "    \"method\": $(jstr "tunnel: 1 iperf3 stream through CONNECT $ORG_IP:$IPERF_PORT, $TUN_DESC; GET: wrk -t1 -c$WRK_CONNS keep-alive, absolute-form GET $TARGET_URL"),"
	echo "    \"idle_busy_pct\": [$IDLE0, $IDLE1],"
	echo "    \"time_wait_after_get\": {\"xdproxy\": $(jnum "${TW_END[xdproxy]}"), \"squid\": $(jnum "${TW_END[squid]}"), \"tinyproxy\": $(jnum "${TW_END[tinyproxy]}"), \"origin_ns\": $TW_ORG},"
	echo "    \"splice_check\": $([[ -n $SPLICED ]] && jstr "$SPLICED" || echo null),"
	echo "    \"goal\": {\"min_x_squid_tunnel_gbps\": $GOAL_X, \"tunnel_x_squid\": $(jnum "$TUN_X"), \"met\": $(jbool "$GOAL"),"
	echo "             \"tunnel_rev_x_squid\": $(jnum "$TUN_XR"), \"met_rev\": $(jbool "$GOAL_R")},"
	echo "    \"rows\": ["
	for row in "${ROWS[@]}"; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # R[] values are space-separated lists
		cat <<-EOF
		      {"id": "$row", "label": $(jstr "${LABEL[$row]}"), "note": $([[ -n ${NOTE[$row]:-} ]] && jstr "${NOTE[$row]}" || echo null),
		       "tunnel_gbps": $(jnum "${M[$row.fwd.gbps]}"), "tunnel_gbps_runs": $(jarr ${R[$row.fwd.gbps]:-}),
		       "tunnel_rev_gbps": $(jnum "${M[$row.rev.gbps]}"), "tunnel_rev_gbps_runs": $(jarr ${R[$row.rev.gbps]:-}),
		       "tunnel_bytes_runs": $(jarr ${R[$row.fwd.bytes]:-}), "tunnel_rev_bytes_runs": $(jarr ${R[$row.rev.bytes]:-}),
		       "proxy_cpu_s_per_gb": $(jnum "${M[$row.fwd.cpu_proc]}"), "proxy_cpu_s_per_gb_rev": $(jnum "${M[$row.rev.cpu_proc]}"),
		       "machine_cpu_s_per_gb": $(jnum "${M[$row.fwd.cpu_machine]}"), "machine_cpu_s_per_gb_rev": $(jnum "${M[$row.rev.cpu_machine]}"),
		       "get_rps": $(jnum "${M[$row.rps]}"), "get_rps_runs": $(jarr ${R[$row.rps]:-}),
		       "get_p99_ms": $(jnum "${M[$row.p99]}"), "get_p99_ms_runs": $(jarr ${R[$row.p99]:-}),
		       "get_machine_cpu_us_per_req": $(jnum "${M[$row.cpu_us_req]}"), "get_proxy_cpu_us_per_req": $(jnum "${M[$row.proxy_us_req]}"),
		       "get_client_conns_per_req": $(jnum "${M[$row.cli_conns_req]}"), "get_origin_conns_per_req": $(jnum "${M[$row.org_conns_req]}"),
		       "get_time_wait_before_runs": $(jarr ${R[$row.tw_before]:-}),
		       "foreign_cpu_pct_runs": {"fwd": $(jarr ${R[$row.fwd.foreign]:-}), "rev": $(jarr ${R[$row.rev.foreign]:-}), "get": $(jarr ${R[$row.get.foreign]:-})},
		       "ratio_squid": {"tunnel_gbps": $(jnum "$(rto "$row" squid fwd.gbps)"), "tunnel_rev_gbps": $(jnum "$(rto "$row" squid rev.gbps)"), "rps": $(jnum "$(rto "$row" squid rps)")},
		       "ratio_tinyproxy": {"tunnel_gbps": $(jnum "$(rto "$row" tinyproxy fwd.gbps)"), "tunnel_rev_gbps": $(jnum "$(rto "$row" tinyproxy rev.gbps)"), "rps": $(jnum "$(rto "$row" tinyproxy rps)")},
		       "ratio_direct": {"tunnel_gbps": $(jnum "$(rto "$row" direct fwd.gbps)"), "rps": $(jnum "$(rto "$row" direct rps)")}}$([[ $n -lt $NR ]] && echo ,)
		EOF
	done
	echo "    ]"
	echo "  }"
}

# results.txt and results.json: this suite's section and key replaced, the
# other suites' kept.
TXT="$OUT/results.txt" JSON="$OUT/results.json"
mkdir -p "$TMP/report"
SECTION="$TMP/report/section.txt"
section >"$SECTION"
json_section >"$TMP/report/section.json"
results_merge "Forward proxy benchmark" forward_proxy "$SECTION" "$TMP/report/section.json"

echo
sed -n '1,/^raw runs:/p' "$SECTION" | sed '$d'
echo "fwd summary: xdproxy tunnel $(f "${M[xdproxy.fwd.gbps]:-NA}" 2) Gbit/s = $(f "$TUN_X" 2)x Squid, $(f "$(rto xdproxy tinyproxy fwd.gbps)" 2)x tinyproxy" \
	"(rev $(f "${M[xdproxy.rev.gbps]:-NA}" 2) Gbit/s = $(f "$TUN_XR" 2)x Squid); GET $(f "${M[xdproxy.rps]:-NA}" 0) req/s =" \
	"$(f "$(rto xdproxy squid rps)" 2)x Squid, $(f "$(rto xdproxy tinyproxy rps)" 2)x tinyproxy; goal $GOAL"
rm -rf "$TMP/report"
echo "results: $TXT $JSON (logs: $LOGS_DIR/)"
