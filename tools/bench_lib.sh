# SPDX-License-Identifier: BSD-2-Clause
# Helpers shared by the benchmark scripts (tools/bench.sh, bench_lb.sh,
# bench_http.sh); sourced, never run. Defines functions and a few constants
# only: nothing here creates a namespace or starts a process until called.
#
# The sourcing script sets, before calling anything here:
#   BENCH_NAME   prefix of every message ("bench", "bench-lb", ...)
#   OUT, TMP     results dir and this run's temp dir
#   LOGS_DIR     where cleanup copies TMP ($OUT/logs, $OUT/logs-lb, ...)
#   PIDS=() NSES=() WD_PID=   what cleanup stops and removes
# and may define cleanup_extra, called by cleanup after the namespaces are
# gone (bench_lb.sh removes its BPF pins there).
# shellcheck shell=bash

HZ=$(getconf CLK_TCK)

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "$BENCH_NAME: $*" >&2; }

# ---------------------------------------------------------------- teardown
# mine PID: still our own child? A pid that exited may since be reused by
# someone else's process, which we must not signal.
mine() { [[ $(awk '{ sub(/.*\) /, ""); print $1, $2 }' /proc/"$1"/stat 2>/dev/null) == [!Z]" $$" ]]; }

cleanup() {
	local p ns live=()
	trap - EXIT INT TERM
	[[ -n $WD_PID ]] && mine "$WD_PID" && kill "$WD_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do mine "$p" && live+=("$p"); done
	for p in "${live[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${live[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for ns in "${NSES[@]}"; do
		# Anything still inside (nginx workers, a stray iperf3, a
		# generator) dies with it; XDP programs go with the interfaces.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	declare -F cleanup_extra >/dev/null && cleanup_extra
	# Keep the logs and generated configs next to the results.
	rm -rf "$LOGS_DIR"
	mkdir -p "$LOGS_DIR" && cp -r "$TMP"/. "$LOGS_DIR/" 2>/dev/null
	rm -rf "$TMP"
}

# bench_traps: tear everything down on exit, also on failure or Ctrl-C.
bench_traps() {
	trap cleanup EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'log "terminated"; exit 143' TERM
}

# watchdog SECONDS: a hung step cannot keep the namespaces alive past the
# bound: SIGTERM to this script then (its TERM trap tears down). Sets WD_PID.
watchdog() {
	local bound=$1
	( t=0; while kill -0 $$ 2>/dev/null; do
		sleep 1; t=$((t + 1))
		[[ $t -ge $bound ]] && { echo "$BENCH_NAME: timeout after ${t}s" >&2; kill -TERM $$; break; }
	  done ) &
	WD_PID=$!
}

# bg NS LOG CMD...: start CMD in namespace NS in the background, recorded for
# cleanup. `ip netns exec` execs CMD, so $! is CMD's own pid. Sets LASTPID.
bg() {
	local ns=$1 logf=$2; shift 2
	ip netns exec "$ns" "$@" >"$logf" 2>&1 &
	LASTPID=$!
	PIDS+=("$LASTPID")
}

# stop PID: SIGTERM, up to 5 s to exit, then SIGKILL; reap it.
stop() {
	local p=$1 i
	if mine "$p"; then
		kill "$p" 2>/dev/null
		for ((i = 0; i < 50; i++)); do mine "$p" || break; sleep 0.1; done
		mine "$p" && kill -9 "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	return 0
}

# wait_listen NS ADDR PORT [TIMEOUT_S]
wait_listen() {
	local ns=$1 addr=$2 port=$3 t=${4:-10} i
	for ((i = 0; i < t * 20; i++)); do
		ip netns exec "$ns" ss -Hltn "src $addr:$port" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------- measuring
# Whole-machine busy jiffies: user nice system irq softirq steal.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# Total jiffies of all CPUs, busy or not: the capacity of a time window.
all_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat; }
# utime + stime of a process (all threads), in jiffies; comm may hold spaces.
proc_ticks() {
	local s
	s=$(cat /proc/"$1"/stat 2>/dev/null) || { echo NA; return; }
	s=${s##*) }
	awk '{print $12 + $13}' <<<"$s"
}
# foreign_ticks: CPU jiffies so far of every userspace process outside our
# namespaces (OUR_NS_INODES) and not this script: other people's load on a
# shared machine. Processes that come and go between two samples are
# missed, so this is a lower bound, enough to tell a clean run from a
# crowded one.
foreign_ticks() {
	stat -L -c '%n %i' /proc/[0-9]*/ns/net 2>/dev/null |
		awk -v ours="$OUR_NS_INODES" -v self=$$ -v wd="${WD_PID:-0}" '
		BEGIN { n = split(ours, o, " "); for (i = 1; i <= n; i++) mine[o[i]] = 1 }
		{
			if ($2 in mine) next
			split($1, part, "/"); pid = part[3]
			if (pid == self || pid == wd) next
			f = "/proc/" pid "/stat"
			if ((getline line < f) <= 0) { close(f); next }
			close(f)
			sub(/^.*\) /, "", line); split(line, x, " ")
			if (x[2] == self || x[2] == wd) next		# our own helpers
			if (int(x[7] / 2097152) % 2) next		# PF_KTHREAD: serves everyone
			t += x[12] + x[13]
		}
		END { printf "%.0f\n", t }'
}
# foreign_pct F0 A0: foreign CPU since the samples F0/A0, in % of the machine.
foreign_pct() {
	local f1 a1
	f1=$(foreign_ticks) a1=$(all_ticks)
	awk -v f="$((f1 - $1))" -v a="$((a1 - $2))" 'BEGIN { printf "%.1f\n", (a > 0 && f > 0 ? 100 * f / a : 0) }'
}
CROWDED=10	# % of the machine used by others above which a run is flagged
crowded() { awk -v p="$1" -v c=$CROWDED 'BEGIN { if (p + 0 > c) printf " CROWDED" }'; }

# Machine CPU busy with nothing of ours running, in % of all CPUs: other load
# on the box pollutes every number here, so say how much there was.
idle_busy_pct() {
	local a b
	a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat)
	sleep 2
	b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
		d = y[2] - x[2]; printf "%.1f\n", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}
# wait_idle: other load skews every number: give it BENCH_IDLE_WAIT (30) s to
# finish. Sets IDLE0, the machine's busy % when we start.
wait_idle() {
	local i
	IDLE0=$(idle_busy_pct)
	for ((i = 2; i < ${BENCH_IDLE_WAIT:-30}; i += 2)); do
		awk -v a="$IDLE0" 'BEGIN { exit !(a > 10) }' || break
		[[ $i == 2 ]] && log "machine ${IDLE0}% busy before we start; waiting up to ${BENCH_IDLE_WAIT:-30}s for it to calm down"
		IDLE0=$(idle_busy_pct)
	done
}
# xdproxy_version BINARY: what is measured, the binary as it is now (others
# may rebuild it later).
xdproxy_version() {
	echo "$1 built $(date -u -r "$1" +%Y-%m-%dT%H:%M:%SZ), tree $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo ?)"
}

# ---------------------------------------------------------------- numbers
declare -A R=()		# "$row.$metric" -> space-separated per-run values
add() { R[$1.$2]="${R[$1.$2]:-}${R[$1.$2]:+ }$3"; }
# raw LINE: a line of the raw-runs record ($RAW), echoed to stderr.
raw() { printf '%s\n' "$*" | tee -a "$RAW" >&2; }

# median of the numeric arguments (NA ignored); NA if none.
median() {
	printf '%s\n' "$@" | grep -E '^[0-9.eE+-]+$' | sort -g |
		awk '{a[NR] = $1} END {
			if (NR == 0) { print "NA"; exit }
			if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# ratio A B -> A/B with 2 decimals, NA if either is NA or empty or B is 0
ratio() {
	[[ $1 == NA || $2 == NA || -z $1 || -z $2 ]] && { echo NA; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "NA"; else printf "%.2f\n", a / b }'
}
f() { # f VALUE DECIMALS -> formatted, "-" for NA
	[[ $1 == NA || $1 == - || -z $1 ]] && { echo -; return; }
	awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f\n", d, v }'
}
spread() { # VALUES... -> (max - min) / median in %, "-" with fewer than 2
	printf '%s\n' "$@" | grep -E '^[0-9.eE+-]+$' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR < 2) { print "-"; exit }
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			if (m > 0) printf "%.0f\n", 100 * (a[NR] - a[1]) / m; else print "-" }'
}
verdict() { # RATIO GOAL -> PASS / MISS / -
	[[ $1 == NA || -z $1 ]] && { echo -; return; }
	awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g ? "PASS" : "MISS") }'
}
# to_ms "1.23ms" -> 1.230 ; wrk prints us, ms or s
to_ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f\n", n }'
}

# JSON by hand: numbers or null, no jq/python needed.
jnum() { [[ $1 == NA || $1 == - || -z $1 ]] && echo null || echo "$1"; }
jarr() { local v s=; for v in "$@"; do s+="${s:+, }$(jnum "$v")"; done; echo "[$s]"; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
jbool() { case $1 in PASS) echo true ;; MISS) echo false ;; *) echo null ;; esac; }

# ---------------------------------------------------------------- topology
# The three-namespace topology of tools/bench.sh and bench_http.sh:
#
#   client ns              proxy ns                       origin ns
#   198.18.1.1 --veth-- 198.18.1.2 | 198.18.3.1 --veth-- 198.18.3.2
#
# with kernel forwarding in the proxy ns (the "direct" rows).
# net3_init: its names and addresses, from NSP (the namespace prefix, set
# by the sourcing script); net3_setup builds it, net3_settings records it.
# shellcheck disable=SC2034 # IPERF_PORT: for bench.sh
net3_init() {
	NS_CLI="$NSP-cli" NS_PRX="$NSP-prx" NS_ORG="$NSP-org"
	CLI_IP=198.18.1.1 PRX_IP=198.18.1.2 PRX_OIP=198.18.3.1 ORG_IP=198.18.3.2
	IPERF_PORT=5201 HTTP_PORT=80
}
net3_setup() {
	local ns
	for ns in "$NS_CLI" "$NS_PRX" "$NS_ORG"; do
		ip netns add "$ns" || die "cannot create namespace $ns"
		NSES+=("$ns")
		ip -n "$ns" link set lo up
	done
	# Created inside the namespaces, never in the root one.
	ip -n "$NS_CLI" link add prx0 type veth peer name cli0 netns "$NS_PRX" || die "veth cli"
	ip -n "$NS_ORG" link add prx0 type veth peer name org0 netns "$NS_PRX" || die "veth org"
	ip -n "$NS_CLI" addr add "$CLI_IP"/24 dev prx0
	ip -n "$NS_PRX" addr add "$PRX_IP"/24 dev cli0
	ip -n "$NS_PRX" addr add "$PRX_OIP"/24 dev org0
	ip -n "$NS_ORG" addr add "$ORG_IP"/24 dev prx0
	ip -n "$NS_CLI" link set prx0 up
	ip -n "$NS_PRX" link set cli0 up
	ip -n "$NS_PRX" link set org0 up
	ip -n "$NS_ORG" link set prx0 up
	ip -n "$NS_CLI" route add 198.18.3.0/24 via "$PRX_IP" || die "route cli"
	ip -n "$NS_ORG" route add 198.18.1.0/24 via "$PRX_OIP" || die "route org"
	ip netns exec "$NS_PRX" sysctl -qw net.ipv4.ip_forward=1 || die "ip_forward in $NS_PRX"
}

# Offload settings are the veth defaults and the same for every row; record
# them, since GRO/TSO decide bulk throughput on veth.
net3_settings() {
	local ns dev
	for ns_dev in "$NS_CLI:prx0" "$NS_PRX:cli0" "$NS_PRX:org0" "$NS_ORG:prx0"; do
		ns=${ns_dev%%:*} dev=${ns_dev#*:}
		printf '  %-12s mtu %s ' "${ns#"$NSP"-}/$dev" \
			"$(ip -n "$ns" -o link show "$dev" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"
		if command -v ethtool >/dev/null; then
			ip netns exec "$ns" ethtool -k "$dev" 2>/dev/null | awk '
				/^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|rx-gro-hw|large-receive-offload):/ {
					sub(/:/, "", $1); printf "%s=%s ", $1, $2 }'
		fi
		echo
	done
}

# start_origin_http [WORKER_CONNECTIONS [EXTRA]]: nginx in the origin ns
# serving the 100-byte file /100b on ORG_IP:HTTP_PORT, keep-alive without a
# request cap. EXTRA: nginx directives added to its server block (more
# locations); the caller makes whatever they name readable by nobody.
# shellcheck disable=SC2120 # the arguments are optional
start_origin_http() {
	local d="$TMP/nginx" wc=${1:-4096} extra=${2:-}
	mkdir -p "$d/www" "$d/tmp"
	head -c 100 /dev/zero | tr '\0' 'x' >"$d/www/100b"
	# Workers run as nobody: let them through the (0700) temp dir to the file.
	chmod 711 "$TMP" "$d"
	chmod 755 "$d/www"
	chmod 644 "$d/www/100b"
	# Nothing under /etc or /var: -p prefix, -e error log, every temp path
	# and the pid file in the temp dir; daemon off so it dies with us.
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	pid $d/nginx.pid;
	lock_file $d/nginx.lock;
	error_log $d/error.log warn;
	events { worker_connections $wc; }
	http {
	    access_log off;
	    default_type application/octet-stream;
	    client_body_temp_path $d/tmp/body;
	    proxy_temp_path $d/tmp/proxy;
	    fastcgi_temp_path $d/tmp/fastcgi;
	    uwsgi_temp_path $d/tmp/uwsgi;
	    scgi_temp_path $d/tmp/scgi;
	    keepalive_requests 10000000;
	    keepalive_timeout 120s;
	    server {
	        listen $ORG_IP:$HTTP_PORT;
	        root $d/www;
	$extra
	    }
	}
	EOF
	bg "$NS_ORG" "$d/stderr.log" nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf"
	wait_listen "$NS_ORG" "$ORG_IP" "$HTTP_PORT" 10
}

# ---------------------------------------------------------------- small requests
# http_run ROW RUN [PID...]: wrk -t1 -c50 keep-alive for /100b at the
# address `http_addr ROW` (defined by the sourcing script) prints. Adds the
# run's rps, p99 (ms), cpu_us_req (machine CPU per request) and
# http.foreign to R; with PIDs, also proxy_us_req: their utime+stime (all
# threads) per request. A run with any non-2xx answer is discarded.
http_run() {
	local row=$1 run=$2 host port out rps p99 m0 m1 reqs errs f0 a0 fpct
	local -a pids=("${@:3}")
	local pt0=0 pt1=0 p
	out="$TMP/wrk-$row-$run.txt"
	read -r host port < <(http_addr "$row")
	f0=$(foreign_ticks) a0=$(all_ticks)
	m0=$(machine_ticks)
	for p in "${pids[@]}"; do pt0=$((pt0 + $(proc_ticks "$p"))); done 2>/dev/null
	# wrk wants one fd per connection plus slack: lift the limit for it.
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout -k 2 $((SECS + 20)) ip netns exec "$NS_CLI" bash -c \
		'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec wrk "$@"' wrk \
		-t1 -c50 -d"${SECS}s" --timeout 5s --latency "http://$host:$port/100b" >"$out" 2>&1
	m1=$(machine_ticks)
	for p in "${pids[@]}"; do pt1=$((pt1 + $(proc_ticks "$p"))); done 2>/dev/null
	fpct=$(foreign_pct "$f0" "$a0")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
	reqs=$(awk '/requests in/ { print $1; exit }' "$out")
	errs=$(awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }' "$out")
	[[ -n $rps ]] || rps=NA
	[[ -n $p99 ]] && p99=$(to_ms "$p99") || p99=NA
	if [[ $rps == NA ]]; then
		log "http $row run $run failed: $(tail -n1 "$out")"
	elif grep -q 'Non-2xx' "$out"; then
		# Errors answered fast are not a measurement of the path.
		log "http $row run $run discarded: $errs"
		rps=NA p99=NA
	elif [[ -n $errs ]]; then
		log "http $row run $run: $errs"
	fi
	local us_req=NA proxy_us=NA proxy_field=
	[[ -n $reqs && $reqs -gt 0 ]] && us_req=$(awk -v t=$((m1 - m0)) -v n="$reqs" -v hz="$HZ" \
		'BEGIN { printf "%.2f\n", t / hz * 1e6 / n }')
	add "$row" rps "$rps"
	add "$row" p99 "$p99"
	add "$row" cpu_us_req "$us_req"
	add "$row" http.foreign "$fpct"
	if [[ ${#pids[@]} -gt 0 ]]; then
		[[ -n $reqs && $reqs -gt 0 && $rps != NA ]] && proxy_us=$(awk -v t=$((pt1 - pt0)) -v n="$reqs" -v hz="$HZ" \
			'BEGIN { printf "%.2f\n", t / hz * 1e6 / n }')
		add "$row" proxy_us_req "$proxy_us"
		proxy_field=" proxy_us/req=$proxy_us"
	fi
	printf 'http %-15s run %d: %9s req/s p99=%sms requests=%s machine_us/req=%s%s foreign_cpu=%s%%%s %s\n' \
		"$row" "$run" "$rps" "$p99" "${reqs:-NA}" "$us_req" "$proxy_field" "$fpct" "$(crowded "$fpct")" "$errs" | tee -a "$RAW" >&2
}
