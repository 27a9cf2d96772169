#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# xdproxy benchmark: xdproxy against HAProxy and against no proxy at all, in
# one run, on one throwaway topology, with every peer in the same namespace
# talking to the same origin.
#
#   client ns              proxy ns                       origin ns
#   198.18.1.1 --veth-- 198.18.1.2 | 198.18.3.1 --veth-- 198.18.3.2
#   iperf3 -c, wrk         xdproxy, haproxy (all rows)    iperf3 -s :5201
#                          (ip_forward=1 for "direct")    nginx :80 (100 B file)
#
# "direct" is the client talking to the origin through the proxy namespace by
# plain kernel forwarding: the same two veth hops as every proxied row, so the
# only difference between rows is what happens in the proxy namespace.
#
# Measured per path (rows):
#   - TCP bulk, 1 stream, iperf3 client -> origin, and reversed (-R); the
#     median of BENCH_RUNS runs. Runs are interleaved across rows (round r of
#     every row, then round r+1) so that drift in the machine hits every row.
#   - CPU per GB moved (GB = 1e9 bytes), two ways:
#       proxy process: utime+stime of the proxy's process from /proc/PID/stat.
#         Kernel splicing runs in softirq and kworkers and is NOT charged to
#         the process, so this flatters xdproxy's kernel rows.
#       machine: busy jiffies of all CPUs from /proc/stat (everything but idle
#         and iowait), i.e. client + origin + proxy + kernel. This is the fair
#         comparison; "direct" is the floor that the endpoints cost.
#   - Small requests: wrk -t1 -c50 --latency for a 100-byte file from nginx
#     with keep-alive; req/s and p99 latency (medians of BENCH_RUNS).
#
# Environment:
#   BUILD=build          build dir; xdproxy is $BUILD/xdproxy, results go to
#                        $BUILD/bench/results.{txt,json} (+ logs/)
#   BENCH_SECS=8         seconds per iperf3 / wrk run
#   BENCH_RUNS=3         runs per measurement (median reported)
#   BENCH_QUICK=1        smoke test: 1 run of 3 s (unless the above are set)
#   BENCH_SOCKBUF=8M     SO_SNDBUF/SO_RCVBUF for every proxy (xdproxy sndbuf/
#                        rcvbuf, HAProxy tune.{snd,rcv}buf.{client,server})
#   BENCH_SPLICE_BUDGET= xdproxy splice_budget (default: xdproxy's own)
#   BENCH_XDP_STATS=0    xdproxy stats_interval in seconds (0: only at exit)
#   BENCH_ROWS="..."     only these rows (ids: direct xdp-verdict xdp-user
#                        haproxy haproxy-splice); default all
#   BENCH_IDLE_WAIT=30   wait up to this many seconds for other load to stop
#   BENCH_TIMEOUT=       hard bound on the whole run in seconds (default:
#                        twice the estimate); on expiry the run is torn down
#
# Needs root, iproute2, iperf3, and for the peers haproxy, nginx and wrk (a
# missing peer turns its row into "-", it does not stop the run). Touches no
# host interface, address, route or sysctl: everything lives in namespaces
# named xdpb<pid>-*, removed from an EXIT trap, also on failure or Ctrl-C.
#
# The helpers (teardown, CPU accounting, medians, the topology, the origin,
# the wrk run) live in tools/bench_lib.sh, shared with bench_lb.sh and
# bench_http.sh.
set -uo pipefail
BENCH_NAME=bench
# shellcheck source=tools/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 1

BUILD=${BUILD:-build}
XDPROXY=${XDPROXY:-$BUILD/xdproxy}
bench_durations 3 8
SOCKBUF=${BENCH_SOCKBUF:-8M}
BUDGET=${BENCH_SPLICE_BUDGET:-}
XDP_STATS=${BENCH_XDP_STATS:-0}
OUT=$BUILD/bench

NSP="xdpb$$"			# namespace prefix, unique per run
net3_init

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
for c in ip iperf3 ss awk timeout; do
	command -v "$c" >/dev/null || die "'$c' not found; run 'make deps'"
done
bench_start xdpb logs

# ---------------------------------------------------------------- proxies
# Rows, in table order. Every proxy has a bulk listener (-> iperf3) and an
# http listener (-> nginx) on its own ports and runs for the whole bench.
ROWS=(direct xdp-verdict xdp-user haproxy haproxy-splice)
ALL_ROWS=("${ROWS[@]}")
declare -A LABEL=(
	[direct]="direct (kernel fwd)"
	[xdp-verdict]="xdproxy kernel verdict"
	[xdp-user]="xdproxy user splice(2)"
	[haproxy]="haproxy tcp"
	[haproxy-splice]="haproxy+splice"
)
declare -A PORT=([direct]=0 [xdp-verdict]=9010 [xdp-user]=9030
	[haproxy]=9040 [haproxy-splice]=9050)
if [[ -n ${BENCH_ROWS:-} ]]; then
	sel=()
	for row in "${ROWS[@]}"; do
		[[ " $BENCH_ROWS " == *" $row "* ]] && sel+=("$row")
	done
	[[ ${#sel[@]} -gt 0 ]] || die "BENCH_ROWS selects none of: ${ROWS[*]}"
	ROWS=("${sel[@]}")
fi
declare -A PID=()	# row -> proxy pid ("" = none, or it failed to start)
declare -A NOTE=()	# row -> why it has no numbers

bulk_addr() { [[ $1 == direct ]] && echo "$ORG_IP $IPERF_PORT" || echo "$PRX_IP $((PORT[$1] + 1))"; }
http_addr() { [[ $1 == direct ]] && echo "$ORG_IP $HTTP_PORT" || echo "$PRX_IP $((PORT[$1] + 2))"; }

# start_xdproxy ROW SPLICE
start_xdproxy() {
	local row=$1 splice=$2 p=${PORT[$1]} i
	local cfg="$TMP/$row.yaml" logf="$TMP/$row.log"
	cat >"$cfg" <<-EOF
	# generated by tools/bench.sh
	global:
	  log_level: info
	  stats_interval: ${XDP_STATS}s
	listeners:
	  - name: bulk
	    bind: $PRX_IP:$((p + 1))
	    pool: iperf
	    splice: $splice
	    sndbuf: $SOCKBUF
	    rcvbuf: $SOCKBUF
	    ${BUDGET:+splice_budget: $BUDGET}
	  - name: http
	    bind: $PRX_IP:$((p + 2))
	    pool: web
	    splice: $splice
	    sndbuf: $SOCKBUF
	    rcvbuf: $SOCKBUF
	pools:
	  - name: iperf
	    backends:
	      - address: $ORG_IP:$IPERF_PORT
	  - name: web
	    backends:
	      - address: $ORG_IP:$HTTP_PORT
	EOF
	bg "$NS_PRX" "$logf" "$XDPROXY" run -c "$cfg" --log-level info
	for ((i = 0; i < 200; i++)); do
		if grep -q ' ready' "$logf" 2>/dev/null; then PID[$row]=$LASTPID; return 0; fi
		kill -0 "$LASTPID" 2>/dev/null || break
		sleep 0.05
	done
	NOTE[$row]="xdproxy did not start (see logs/$row.log)"
	log "${NOTE[$row]}: $(tail -n 3 "$logf" 2>/dev/null | tr '\n' ' ')"
	stop "$LASTPID"
	return 1
}

# start_haproxy ROW SPLICE(0|1)
start_haproxy() {
	local row=$1 splice=$2 p=${PORT[$1]} buf
	local cfg="$TMP/$row.cfg" logf="$TMP/$row.log"
	buf=$(size_bytes "$SOCKBUF")
	# Fair to a single-threaded xdproxy: one thread, the same socket buffers
	# (HAProxy sets them with SO_SNDBUF/SO_RCVBUF, capped by net.core.*mem_max
	# then doubled; xdproxy uses the *FORCE variants, which are not capped).
	{
		echo "# generated by tools/bench.sh"
		echo "global"
		echo "    nbthread 1"
		echo "    maxconn 4096"
		if [[ $buf -gt 0 ]]; then
			echo "    tune.sndbuf.client $buf"
			echo "    tune.sndbuf.server $buf"
			echo "    tune.rcvbuf.client $buf"
			echo "    tune.rcvbuf.server $buf"
		fi
		echo "defaults"
		echo "    mode tcp"
		echo "    timeout connect 2s"
		echo "    timeout client 60s"
		echo "    timeout server 60s"
		[[ $splice == 1 ]] && echo "    option splice-auto"
		echo "listen bulk"
		echo "    bind $PRX_IP:$((p + 1))"
		echo "    server origin $ORG_IP:$IPERF_PORT"
		echo "listen http"
		echo "    bind $PRX_IP:$((p + 2))"
		echo "    server origin $ORG_IP:$HTTP_PORT"
	} >"$cfg"
	if ! haproxy -c -q -f "$cfg" >"$logf" 2>&1; then
		NOTE[$row]="haproxy rejected its config (see logs/$row.log)"
		log "${NOTE[$row]}"
		return 1
	fi
	# -db: foreground, no daemon, no master; nothing written outside $TMP.
	bg "$NS_PRX" "$logf" haproxy -db -f "$cfg"
	if wait_listen "$NS_PRX" $PRX_IP $((p + 2)) 10; then
		PID[$row]=$LASTPID
		return 0
	fi
	NOTE[$row]="haproxy did not start (see logs/$row.log)"
	log "${NOTE[$row]}"
	stop "$LASTPID"
	return 1
}

# ---------------------------------------------------------------- runs
RAW="$TMP/raw.txt"
: >"$RAW"

# bulk_run ROW DIR(fwd|rev) RUN
bulk_run() {
	local row=$1 dir=$2 run=$3 host port flag='' srv json
	json="$TMP/iperf-$row-$dir-$run.json"
	local m0 m1 p0=NA p1=NA pid=${PID[$row]:-} gbps bytes err ss_pid='' f0 a0 fpct
	read -r host port < <(bulk_addr "$row")
	[[ $dir == rev ]] && flag=-R
	bg "$NS_ORG" "$TMP/iperf-server.log" timeout -k 2 $((SECS + 30)) \
		iperf3 -s -1 -B $ORG_IP -p $IPERF_PORT
	srv=$LASTPID
	if ! wait_listen "$NS_ORG" $ORG_IP $IPERF_PORT 5; then
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
	m0=$(machine_ticks)
	[[ -n $pid ]] && p0=$(proc_ticks "$pid")
	timeout -k 2 $((SECS + 20)) ip netns exec "$NS_CLI" \
		iperf3 -c "$host" -p "$port" -t "$SECS" -i 0 $flag -J --connect-timeout 3000 >"$json" 2>&1
	m1=$(machine_ticks)
	[[ -n $pid ]] && p1=$(proc_ticks "$pid")
	fpct=$(foreign_pct "$f0" "$a0")
	[[ -n $ss_pid ]] && wait "$ss_pid" 2>/dev/null
	stop "$srv"
	gbps=$(iperf_sum "$json" bits_per_second)
	bytes=$(iperf_sum "$json" bytes)
	[[ $gbps != NA ]] && gbps=$(awk -v b="$gbps" 'BEGIN { printf "%.3f\n", b / 1e9 }')
	if [[ $gbps == NA || $bytes == NA ]]; then
		gbps=NA bytes=NA
		err=$(sed -n 's/.*"error":[ \t]*"\(.*\)".*/\1/p' "$json" | head -n1)
		log "bulk $dir $row run $run failed: ${err:-$(tail -n1 "$json")}"
	fi
	local cpu_p=NA cpu_m
	[[ -n $pid ]] && cpu_p=$(per_gb "$(tdiff "$p1" "$p0")" "$bytes")
	cpu_m=$(per_gb $((m1 - m0)) "$bytes")
	add "$row" "$dir.gbps" "$gbps"
	add "$row" "$dir.bytes" "$bytes"
	add "$row" "$dir.cpu_proc" "$cpu_p"
	add "$row" "$dir.cpu_machine" "$cpu_m"
	add "$row" "$dir.foreign" "$fpct"
	printf 'bulk %s %-15s run %d: %7s Gbit/s bytes=%s proxy_ticks=%s machine_ticks=%s proxy_s/GB=%s machine_s/GB=%s foreign_cpu=%s%%%s\n' \
		"$dir" "$row" "$run" "$gbps" "$bytes" \
		"$(tdiff "$p1" "$p0")" $((m1 - m0)) "$cpu_p" "$cpu_m" "$fpct" "$(crowded "$fpct")" | tee -a "$RAW" >&2
}

# ---------------------------------------------------------------- main
NR=${#ROWS[@]}
EST=$((NR * RUNS * (3 * SECS + 3) + 30))
BENCH_TIMEOUT=${BENCH_TIMEOUT:-$((EST * 2 + 60 + ${BENCH_IDLE_WAIT:-30}))}
watchdog "$BENCH_TIMEOUT"

log "$NR paths x $RUNS run(s) x ${SECS}s (bulk, reverse, http): about $((EST / 60 + 1)) min; bound ${BENCH_TIMEOUT}s"
wait_idle
VERSION=$(xdproxy_version "$XDPROXY")
net3_setup
OUR_NS_INODES=$(stat -L -c %i "${NSES[@]/#//run/netns/}" | paste -sd' ' -)
NETSET=$(net3_settings)

want() { [[ " ${ROWS[*]} " == *" $1 "* ]]; }
want xdp-verdict && start_xdproxy xdp-verdict kernel
want xdp-user && start_xdproxy xdp-user user
if ! command -v haproxy >/dev/null; then
	NOTE[haproxy]="haproxy not installed" NOTE[haproxy-splice]="haproxy not installed"
else
	want haproxy && start_haproxy haproxy 0
	if ! haproxy -vv 2>/dev/null | grep -q '+LINUX_SPLICE'; then
		NOTE[haproxy-splice]="haproxy built without LINUX_SPLICE"
	elif want haproxy-splice; then
		start_haproxy haproxy-splice 1
	fi
fi
HTTP_OK=1
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	HTTP_OK=0 HTTP_NOTE="nginx or wrk not installed"
elif ! start_origin_http; then
	HTTP_OK=0 HTTP_NOTE="nginx did not start (see logs/nginx/)"
fi
[[ $HTTP_OK == 1 ]] || log "small requests skipped: $HTTP_NOTE"

# runnable ROW: direct always; a proxy row only if its proxy is up.
runnable() { [[ $1 == direct || -n ${PID[$1]:-} ]]; }

for ((run = 1; run <= RUNS; run++)); do
	for row in "${ROWS[@]}"; do
		runnable "$row" || continue
		bulk_run "$row" fwd "$run"
		bulk_run "$row" rev "$run"
	done
done
if [[ $HTTP_OK == 1 ]]; then
	for ((run = 1; run <= RUNS; run++)); do
		for row in "${ROWS[@]}"; do
			runnable "$row" && http_run "$row" "$run"
		done
	done
fi
IDLE1=$(idle_busy_pct)

# Did the kernel rows actually splice? xdproxy logs its verdict counters on
# exit: bytes redirected in the kernel against bytes passed up to userspace
# (for the pair not armed yet, or flow-control credit used up).
declare -A SPLICED=()
for row in xdp-verdict xdp-user; do
	[[ -n ${PID[$row]:-} ]] || continue
	stop "${PID[$row]}"
	[[ $row == xdp-user ]] && continue
	line=$(grep 'stats splice' "$TMP/$row.log" | tail -n1)
	rb=$(sed -n 's/.* redirect_bytes=\([0-9]*\).*/\1/p' <<<"$line")
	pb=$(sed -n 's/.* pass_bytes=\([0-9]*\).*/\1/p' <<<"$line")
	if [[ -n $rb && -n $pb ]]; then
		SPLICED[$row]="$(awk -v r="$rb" -v p="$pb" 'BEGIN { printf "%.0f%% of %.2f GB in the kernel", (r + p > 0 ? 100 * r / (r + p) : 0), (r + p) / 1e9 }')"
		SPLICED[$row]+=" [${line#*stats splice }]"
	else
		SPLICED[$row]="no 'stats splice' line in logs/$row.log"
	fi
done
for row in haproxy haproxy-splice; do [[ -n ${PID[$row]:-} ]] && stop "${PID[$row]}"; done

# ---------------------------------------------------------------- report
declare -A M=()		# "$row.$metric" -> median
for row in "${ROWS[@]}"; do
	for k in fwd.gbps rev.gbps fwd.cpu_proc rev.cpu_proc fwd.cpu_machine rev.cpu_machine rps p99 cpu_us_req; do
		# shellcheck disable=SC2086
		M[$row.$k]=$(median ${R[$row.$k]:-})
	done
	[[ $row == direct ]] && M[$row.fwd.cpu_proc]=- M[$row.rev.cpu_proc]=-
done

table() {
	local row hap_g hap_r dir_g dir_r
	hap_g=${M[haproxy.fwd.gbps]:-NA} hap_r=${M[haproxy.rps]:-NA}
	dir_g=${M[direct.fwd.gbps]:-NA} dir_r=${M[direct.rps]:-NA}
	printf '%-26s %7s %7s %8s %7s %11s %11s %6s %6s %6s %6s\n' \
		"" "" "" "" "" "proxy-proc" "machine" "vs HAProxy" "" "vs direct" ""
	printf '%-26s %7s %7s %8s %7s %11s %11s %6s %6s %6s %6s\n' \
		path Gbit/s rev-Gb/s req/s p99-ms "s/GB f/r" "s/GB f/r" Gbit/s req/s Gbit/s req/s
	printf '%s\n' "$(printf '%.0s-' {1..126})"
	for row in "${ROWS[@]}"; do
		printf '%-26s %7s %7s %8s %7s %11s %11s %6s %6s %6s %6s\n' "${LABEL[$row]}" \
			"$(f "${M[$row.fwd.gbps]}" 2)" "$(f "${M[$row.rev.gbps]}" 2)" \
			"$(f "${M[$row.rps]}" 0)" "$(f "${M[$row.p99]}" 2)" \
			"$(f "${M[$row.fwd.cpu_proc]}" 2)/$(f "${M[$row.rev.cpu_proc]}" 2)" \
			"$(f "${M[$row.fwd.cpu_machine]}" 2)/$(f "${M[$row.rev.cpu_machine]}" 2)" \
			"$(f "$(ratio "${M[$row.fwd.gbps]}" "$hap_g")" 2)" "$(f "$(ratio "${M[$row.rps]}" "$hap_r")" 2)" \
			"$(f "$(ratio "${M[$row.fwd.gbps]}" "$dir_g")" 2)" "$(f "$(ratio "${M[$row.rps]}" "$dir_r")" 2)"
	done
}

{
	echo "xdproxy benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $(nproc) CPUs  xdproxy $VERSION"
	echo "medians of $RUNS run(s) x ${SECS}s; iperf3 1 stream; wrk -t1 -c50 keep-alive, 100-byte file from nginx"
	echo "socket buffers: $SOCKBUF for every proxy; haproxy nbthread 1; xdproxy single-threaded"
	echo
	table
	echo
	echo "Gbit/s      iperf3 client -> origin (receiver's count); rev-Gb/s: iperf3 -R, origin -> client"
	echo "direct      client -> origin by plain kernel forwarding through the proxy namespace"
	echo "            (same two veth hops as the proxied rows, no proxy)"
	echo "proxy-proc  utime+stime of the proxy process per GB (1e9 bytes) moved, bulk fwd/rev."
	echo "            Kernel splicing runs in softirq/kworkers and is NOT charged to the process:"
	echo "            do not compare xdproxy kernel rows with HAProxy on this column."
	echo "machine     busy CPU of the whole machine (/proc/stat, all cores) per GB, bulk fwd/rev:"
	echo "            client + origin + proxy + kernel. The fair comparison; direct is the floor."
	echo "vs HAProxy  ratio to the 'haproxy tcp' row (bulk fwd Gbit/s, req/s); vs direct likewise"
	echo
	load_report
	for row in "${ALL_ROWS[@]}"; do
		[[ -n ${NOTE[$row]:-} ]] && echo "note: ${LABEL[$row]}: ${NOTE[$row]}"
	done
	[[ $HTTP_OK == 1 ]] || echo "note: small requests skipped: $HTTP_NOTE"
	for row in xdp-verdict xdp-user; do
		[[ -n ${SPLICED[$row]:-} ]] && echo "spliced ${LABEL[$row]}: ${SPLICED[$row]}"
	done
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
				{ q = $2; a = $3; b = $4 }' \
				"$TMP/ss-$row-$dir.txt" 2>/dev/null
		done
	done
	echo
	echo "raw runs:"
	cat "$RAW"
} >"$OUT/results.txt"

{
	echo "{"
	echo "  \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
	echo "  \"kernel\": $(jstr "$(uname -r)"), \"cpus\": $(nproc), \"xdproxy\": $(jstr "$VERSION"),"
	echo "  \"runs\": $RUNS, \"seconds\": $SECS, \"sockbuf\": $(jstr "$SOCKBUF"),"
	echo "  \"direct_path\": \"kernel forwarding through the proxy namespace\","
	echo "  \"gb\": 1e9, \"idle_busy_pct\": [$IDLE0, $IDLE1],"
	echo "  \"rows\": ["
	n=0
	for row in "${ROWS[@]}"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		cat <<-EOF
		    {
		      "id": "$row", "label": $(jstr "${LABEL[$row]}"), "note": $( [[ -n ${NOTE[$row]:-} ]] && jstr "${NOTE[$row]}" || echo null),
		      "bulk_gbps": $(jnum "${M[$row.fwd.gbps]}"), "bulk_gbps_runs": $(jarr ${R[$row.fwd.gbps]:-}),
		      "bulk_rev_gbps": $(jnum "${M[$row.rev.gbps]}"), "bulk_rev_gbps_runs": $(jarr ${R[$row.rev.gbps]:-}),
		      "bulk_bytes_runs": $(jarr ${R[$row.fwd.bytes]:-}), "bulk_rev_bytes_runs": $(jarr ${R[$row.rev.bytes]:-}),
		      "proxy_cpu_s_per_gb": $(jnum "${M[$row.fwd.cpu_proc]}"), "proxy_cpu_s_per_gb_rev": $(jnum "${M[$row.rev.cpu_proc]}"),
		      "machine_cpu_s_per_gb": $(jnum "${M[$row.fwd.cpu_machine]}"), "machine_cpu_s_per_gb_rev": $(jnum "${M[$row.rev.cpu_machine]}"),
		      "http_rps": $(jnum "${M[$row.rps]}"), "http_rps_runs": $(jarr ${R[$row.rps]:-}),
		      "http_p99_ms": $(jnum "${M[$row.p99]}"), "http_p99_ms_runs": $(jarr ${R[$row.p99]:-}),
		      "http_machine_cpu_us_per_req": $(jnum "${M[$row.cpu_us_req]}"),
		      "foreign_cpu_pct_runs": {"fwd": $(jarr ${R[$row.fwd.foreign]:-}), "rev": $(jarr ${R[$row.rev.foreign]:-}), "http": $(jarr ${R[$row.http.foreign]:-})},
		      "ratio_haproxy": {"gbps": $(jnum "$(ratio "${M[$row.fwd.gbps]}" "${M[haproxy.fwd.gbps]:-NA}")"), "rps": $(jnum "$(ratio "${M[$row.rps]}" "${M[haproxy.rps]:-NA}")")},
		      "ratio_direct": {"gbps": $(jnum "$(ratio "${M[$row.fwd.gbps]}" "${M[direct.fwd.gbps]:-NA}")"), "rps": $(jnum "$(ratio "${M[$row.rps]}" "${M[direct.rps]:-NA}")")},
		      "splice_check": $( [[ -n ${SPLICED[$row]:-} ]] && jstr "${SPLICED[$row]}" || echo null)
		    }$( [[ $n -lt $NR ]] && echo ,)
		EOF
	done
	echo "  ]"
	echo "}"
} >"$OUT/results.json"

echo
sed -n '1,/^raw runs:/p' "$OUT/results.txt" | sed '$d'
echo "results: $OUT/results.txt $OUT/results.json (logs: $OUT/logs/)"
