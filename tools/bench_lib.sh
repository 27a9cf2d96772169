# SPDX-License-Identifier: BSD-2-Clause
# Helpers shared by the benchmark scripts (tools/bench.sh, bench_lb.sh,
# bench_http.sh, bench_fwd.sh, bench_tls.sh); sourced, never run. Defines functions and a few constants
# only: nothing here creates a namespace or starts a process until called.
#
# The sourcing script sets, before calling anything here:
#   BENCH_NAME   prefix of every message ("bench", "bench-lb", ...)
#   OUT, TMP     results dir and this run's temp dir
#   LOGS_DIR     where cleanup copies TMP ($OUT/logs, $OUT/logs-lb, ...)
#   PIDS=() NSES=() WD_PID=   what cleanup stops and removes
# and may define cleanup_extra, called by cleanup after the namespaces are
# gone (bench_lb.sh removes its BPF pins there). The row helpers (row_pids,
# row_ticks, started) read the script's PID, NOTE and PORT arrays.
# shellcheck shell=bash

HZ=$(getconf CLK_TCK)
# Where the build is, the binary measured and the results go (every suite
# alike; the environment may say otherwise for the first two).
BUILD=${BUILD:-build}
XDPROXY=${XDPROXY:-$BUILD/xdproxy}
OUT=$BUILD/bench

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "$BENCH_NAME: $*" >&2; }

# ---------------------------------------------------------------- setup
# bench_durations QUICK_SECS SECS: QUICK=1 when BENCH_QUICK asks for a smoke
# test; SECS and RUNS from BENCH_SECS and BENCH_RUNS, else QUICK_SECS x 1
# run in a smoke test and SECS x 3 runs otherwise; both checked.
bench_durations() {
	QUICK=0
	[[ -n ${BENCH_QUICK:-} && ${BENCH_QUICK} != 0 ]] && QUICK=1
	if [[ $QUICK == 1 ]]; then
		SECS=${BENCH_SECS:-$1} RUNS=${BENCH_RUNS:-1}
	else
		SECS=${BENCH_SECS:-$2} RUNS=${BENCH_RUNS:-3}
	fi
	[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 ]] || die "BENCH_SECS must be a positive integer"
	[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || die "BENCH_RUNS must be a positive integer"
}

# bench_start TMP_PREFIX LOGS: the run's places and teardown, once the
# checks are done: XDPROXY (must exist) and OUT (created) made absolute,
# TMP a fresh /tmp/TMP_PREFIX.* directory, the cleanup lists empty,
# LOGS_DIR=$OUT/LOGS, and the traps that tear it all down set.
# shellcheck disable=SC2034 # PIDS, NSES, LOGS_DIR: read by cleanup
bench_start() {
	[[ -x $XDPROXY ]] || die "$XDPROXY not found; run 'make build'"
	XDPROXY=$(realpath "$XDPROXY")
	mkdir -p "$OUT" || die "cannot create $OUT"
	OUT=$(realpath "$OUT")
	TMP=$(mktemp -d "/tmp/$1.XXXXXX") || die "mktemp failed"
	PIDS=() NSES=() WD_PID=
	LOGS_DIR=$OUT/$2
	bench_traps
}

# bench_begin ESTIMATE WHAT: the measuring starts: a watchdog at
# BENCH_TIMEOUT (default twice the ESTIMATE in seconds + 120 + the idle
# wait), a log line saying WHAT and how long, a wait for other load to
# calm down, then VERSION (what is measured) and the three-namespace
# topology (net3_setup) with OUR_NS_INODES and NETSET (its settings).
# shellcheck disable=SC2034 # VERSION, NETSET: for the script's report
bench_begin() {
	BENCH_TIMEOUT=${BENCH_TIMEOUT:-$(($1 * 2 + 120 + ${BENCH_IDLE_WAIT:-30}))}
	watchdog "$BENCH_TIMEOUT"
	log "$2; about $(($1 / 60 + 1)) min; bound ${BENCH_TIMEOUT}s"
	wait_idle
	VERSION=$(xdproxy_version "$XDPROXY")
	net3_setup
	OUR_NS_INODES=$(stat -L -c %i "${NSES[@]/#//run/netns/}" | paste -sd' ' -)
	NETSET=$(net3_settings)
}

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

# haproxy_http_defaults MAXCONN: a "defaults" section for HTTP mode as
# every suite runs HAProxy: keep-alive on both sides and any idle server
# connection reused by any client (http-reuse always), its best case for
# many small requests to one origin.
haproxy_http_defaults() {
	cat <<-EOF
	defaults
	    mode http
	    maxconn $1
	    timeout connect 2s
	    timeout client 60s
	    timeout server 60s
	    timeout http-request 10s
	    timeout http-keep-alive 60s
	    option http-keep-alive
	    http-reuse always
	EOF
}

# haproxy_start ROW CFG: check CFG, then run HAProxy on it in NS_PRX as the
# row's proxy (started), foreground (-db: no daemon, no master; nothing
# written outside $TMP), its output in $TMP/ROW.log. 1 with a note if not.
# shellcheck disable=SC2004 # NOTE: associative, the script's
haproxy_start() {
	local row=$1 cfg=$2
	if ! haproxy -c -q -f "$cfg" >"$TMP/$row.log" 2>&1; then
		NOTE[$row]="haproxy rejected its config (see ${LOGS_DIR##*/}/$row.log)"
		log "${NOTE[$row]}"
		return 1
	fi
	bg "$NS_PRX" "$TMP/$row.log" "${NOFILE_EXEC[@]}" haproxy -db -f "$cfg"
	started "$row" "$LASTPID" haproxy
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

# need CMD...: each must be installed, else the run stops and says so.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "'$c' not found; run 'make deps'"
	done
}

# bulk_size SIZE: 0, or SIZE (K/M/G suffix, 1024-based, at least 1M) in
# bytes; fails for anything else.
bulk_size() {
	local b
	[[ $1 == 0 ]] && { echo 0; return 0; }
	b=$(numfmt --from=iec "$1" 2>/dev/null)
	[[ $b =~ ^[0-9]+$ && $b -ge 1048576 ]] && echo "$b"
}

# nofile_exec N: sets NOFILE_EXEC, a command prefix that raises the fd limit
# to N (or to the hard limit, without CAP_SYS_RESOURCE) and execs the rest;
# 'ip netns exec' and that bash both exec, so a pid recorded by bg is the
# command's own.
nofile_exec() {
	# shellcheck disable=SC2016,SC2034 # expanded by the inner bash; used by the scripts
	NOFILE_EXEC=(bash -c 'ulimit -n "$0" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"' "$1")
}

# started ROW PID WHAT: wait for the row's port (PORT[ROW] on PRX_IP in
# NS_PRX) and record PID as PID[ROW]; else a note naming the log
# ($TMP/ROW.log, kept in LOGS_DIR) and the process stopped.
# shellcheck disable=SC2004,SC2153 # PID and PORT: associative, the script's
started() {
	local row=$1 p=$2 what=$3
	if wait_listen "$NS_PRX" "$PRX_IP" "${PORT[$row]}" 10 && mine "$p"; then
		PID[$row]=$p
		return 0
	fi
	NOTE[$row]="$what did not start (see ${LOGS_DIR##*/}/$row.log)"
	log "${NOTE[$row]}: $(tail -n 3 "$TMP/$row.log" 2>/dev/null | tr '\n' ' ')"
	stop "$p"
	return 1
}

# row_pids ROW: the proxy's processes (the process and its children: nginx
# workers).
row_pids() {
	local p=${PID[$1]:-}
	[[ -n $p ]] || return 0
	echo "$p"
	pgrep -P "$p" 2>/dev/null
}
# row_ticks ROW: utime+stime of all of them, in jiffies (NA without a proxy).
row_ticks() {
	local p t=0 v
	[[ -n ${PID[$1]:-} ]] || { echo NA; return; }
	for p in $(row_pids "$1"); do
		v=$(proc_ticks "$p")
		[[ $v == NA ]] || t=$((t + v))
	done
	echo $t
}
# proxy_exited ROW...: note each row whose proxy is no longer running (its
# numbers are then suspect).
# shellcheck disable=SC2004 # NOTE: associative, the script's
proxy_exited() {
	local row p
	for row in "$@"; do
		p=${PID[$row]:-}
		[[ -n $p ]] || continue
		if ! mine "$p"; then
			NOTE[$row]="${NOTE[$row]:+${NOTE[$row]}; }the proxy exited during the run (see ${LOGS_DIR##*/}/)"
			log "$row: ${NOTE[$row]}"
		fi
	done
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

# tdiff A B -> A-B, NA if either is NA
tdiff() { [[ $1 == NA || $2 == NA ]] && echo NA || echo $(($1 - $2)); }
# per_gb TICKS BYTES -> CPU seconds per 1e9 bytes, NA if either is NA
per_gb() {
	[[ $1 == NA || $2 == NA ]] && { echo NA; return; }
	awk -v t="$1" -v b="$2" -v hz="$HZ" 'BEGIN { if (b <= 0) print "NA"; else printf "%.3f\n", t / hz / (b / 1e9) }'
}
# per_unit_us TICKS N -> CPU microseconds per unit (request, handshake), NA
# if either is NA or N is not positive
per_unit_us() {
	[[ $1 == NA || $2 == NA || -z $2 ]] && { echo NA; return; }
	awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n <= 0) print "NA"; else printf "%.2f\n", t / hz * 1e6 / n }'
}
# size_bytes 8M -> 8388608 (the xdproxy config syntax: K/M/G, 1024-based)
size_bytes() {
	awk -v s="$1" 'BEGIN { m = 1; u = toupper(substr(s, length(s)))
		if (u == "K") m = 1024; else if (u == "M") m = 1048576; else if (u == "G") m = 1073741824
		if (m > 1) s = substr(s, 1, length(s) - 1); printf "%d\n", s * m }'
}
# iperf3 -J is cJSON-pretty-printed, one key per line: pick one key of the
# end.sum_received object (the receiver's view in both directions).
iperf_sum() {
	awk -v key="\"$2\"" '
		/"sum_received"/ { in_sum = 1; next }
		in_sum && /}/ { exit }
		in_sum && index($0, key) { sub(/.*:[ \t]*/, ""); sub(/,.*/, ""); print; found = 1; exit }
		END { if (!found) print "NA" }' "$1"
}

# wrk_result OUT WHAT: reads wrk --latency output OUT into WRK_RPS, WRK_P99
# (ms), WRK_REQS and WRK_ERRS (its error lines); NA where absent. A run with
# a non-2xx answer gets WRK_RPS=WRK_P99=NA: errors answered fast are not a
# measurement of the path. WHAT names the run in the log.
wrk_result() {
	local out=$1 what=$2
	WRK_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	WRK_P99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
	WRK_REQS=$(awk '/requests in/ { print $1; exit }' "$out")
	WRK_ERRS=$(awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }' "$out")
	[[ -n $WRK_RPS ]] || WRK_RPS=NA
	[[ -n $WRK_P99 ]] && WRK_P99=$(to_ms "$WRK_P99") || WRK_P99=NA
	if [[ $WRK_RPS == NA ]]; then
		log "$what failed: $(tail -n1 "$out")"
	elif grep -q 'Non-2xx' "$out"; then
		log "$what discarded: $WRK_ERRS"
		WRK_RPS=NA WRK_P99=NA
	elif [[ -n $WRK_ERRS ]]; then
		log "$what: $WRK_ERRS"
	fi
}

# splice_summary LOG: from the 'stats splice' line xdproxy logs on exit,
# the share of bytes redirected in the kernel against those passed up to
# userspace, with the line itself.
splice_summary() {
	local line rb pb
	line=$(grep 'stats splice' "$1" | tail -n1)
	rb=$(sed -n 's/.* redirect_bytes=\([0-9]*\).*/\1/p' <<<"$line")
	pb=$(sed -n 's/.* pass_bytes=\([0-9]*\).*/\1/p' <<<"$line")
	if [[ -n $rb && -n $pb ]]; then
		awk -v r="$rb" -v p="$pb" 'BEGIN { printf "%.0f%% of %.2f GB in the kernel", (r + p > 0 ? 100 * r / (r + p) : 0), (r + p) / 1e9 }'
		echo " [${line#*stats splice }]"
	else
		echo "no 'stats splice' line in ${LOGS_DIR##*/}/${1##*/}"
	fi
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

# nginx_conf_head DIR WORKERS CONNECTIONS [NOFILE]: the start of an
# nginx.conf, up to inside its http block, that writes nothing under /etc
# or /var: with -p DIR/ and -e DIR/error.log, the pid and lock files, the
# error log and every temp path are in DIR (temp paths under DIR/tmp,
# which the caller creates); in the foreground (daemon off: it dies with
# us), no access log. The caller adds to the http block and closes it.
nginx_conf_head() {
	local d=$1
	cat <<-EOF
	daemon off;
	worker_processes $2;
	${4:+worker_rlimit_nofile $4;}
	pid $d/nginx.pid;
	lock_file $d/nginx.lock;
	error_log $d/error.log warn;
	events { worker_connections $3; }
	http {
	    access_log off;
	    default_type application/octet-stream;
	    client_body_temp_path $d/tmp/body;
	    proxy_temp_path $d/tmp/proxy;
	    fastcgi_temp_path $d/tmp/fastcgi;
	    uwsgi_temp_path $d/tmp/uwsgi;
	    scgi_temp_path $d/tmp/scgi;
	EOF
}

# nginx_proxy_pass: the lines of an nginx location that proxies as every
# suite's nginx does: to the upstream "origin" over kept-alive HTTP/1.1,
# the client's Host passed on, X-Forwarded-For/-Proto/-Host added as
# xdproxy's default (forwarded: xff) adds them.
nginx_proxy_pass() {
	cat <<-'EOF'
	            proxy_pass http://origin;
	            proxy_http_version 1.1;
	            proxy_set_header Connection "";
	            proxy_set_header Host $http_host;
	            proxy_set_header X-Forwarded-For $remote_addr;
	            proxy_set_header X-Forwarded-Proto $scheme;
	            proxy_set_header X-Forwarded-Host $http_host;
	EOF
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
	nginx_conf_head "$d" 1 "$wc" >"$d/nginx.conf"
	cat >>"$d/nginx.conf" <<-EOF
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
	local row=$1 run=$2 host port out m0 m1 f0 a0 fpct
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
	wrk_result "$out" "http $row run $run"
	local us_req=NA proxy_us=NA proxy_field=
	us_req=$(per_unit_us $((m1 - m0)) "${WRK_REQS:-NA}")
	add "$row" rps "$WRK_RPS"
	add "$row" p99 "$WRK_P99"
	add "$row" cpu_us_req "$us_req"
	add "$row" http.foreign "$fpct"
	if [[ ${#pids[@]} -gt 0 ]]; then
		[[ $WRK_RPS != NA ]] && proxy_us=$(per_unit_us $((pt1 - pt0)) "${WRK_REQS:-NA}")
		add "$row" proxy_us_req "$proxy_us"
		proxy_field=" proxy_us/req=$proxy_us"
	fi
	raw "$(printf 'http %-15s run %d: %9s req/s p99=%sms requests=%s machine_us/req=%s%s foreign_cpu=%s%%%s %s' \
		"$row" "$run" "$WRK_RPS" "$WRK_P99" "${WRK_REQS:-NA}" "$us_req" "$proxy_field" "$fpct" "$(crowded "$fpct")" "$WRK_ERRS")"
}

# ---------------------------------------------------------------- report
# load_report: how loaded the machine was while we measured: busy with
# nothing of ours running before and after (IDLE0, IDLE1), and the runs
# where other processes used more than CROWDED% (every R key ending in
# "foreign" holds such samples).
# shellcheck disable=SC2153 # IDLE1: the script's
load_report() {
	local k crowd
	echo "machine busy with nothing of ours running: ${IDLE0}% before, ${IDLE1}% after"
	if awk -v a="$IDLE0" -v b="$IDLE1" 'BEGIN { exit !(a > 10 || b > 10) }'; then
		echo "WARNING: other load on the machine during this run: every row is skewed, machine CPU most"
	fi
	# shellcheck disable=SC2086 # R[] values are space-separated lists
	crowd=$(for k in "${!R[@]}"; do [[ $k == *foreign ]] && printf '%s\n' ${R[$k]}; done |
		awk -v c=$CROWDED '/^[0-9.]+$/ { n++; if ($1 > c) k++; if ($1 > m) m = $1 } END { printf "%d of %d runs, worst %.0f%%", k, n, m }')
	echo "runs where other processes used >${CROWDED}% of the machine: $crowd (marked CROWDED below)"
}

# report_tail: the end of a section: the interfaces' settings (NETSET) and
# every run as it was recorded ($RAW).
report_tail() {
	echo
	echo "interfaces (veth defaults, identical for all rows):"
	echo "$NETSET"
	echo
	echo "raw runs:"
	cat "$RAW"
}

# Each suite's section header in results.txt, in `make bench` order. A
# suite that replaces its section cuts from its own header to the next
# line starting with any other of these (or the end), so that running one
# suite alone keeps the others' sections, before and after it.
RESULT_HEADERS=(
	"xdproxy benchmark"
	"XDP load balancer benchmark"
	"HTTP reverse proxy benchmark"
	"Forward proxy benchmark"
	"TLS termination benchmark"
)

# results_merge HEADER KEY SECTION JSON: put a suite's report into
# $OUT/results.txt and results.json. SECTION (a file) starts with the
# HEADER line; an earlier section with that header is removed and the new
# one appended after the others, one blank line apart. JSON (a file) is
# the suite's "KEY": {...} member, indented by two and ending with a line
# "  }"; an earlier member of that key is removed likewise and the new one
# becomes the object's last. Without a results.json the object is new.
results_merge() {
	local header=$1 key=$2 section=$3 jsec=$4 others h
	local txt="$OUT/results.txt" json="$OUT/results.json" d="$TMP/report-merge"
	mkdir -p "$d"
	others=
	for h in "${RESULT_HEADERS[@]}"; do
		[[ $h == "$header" ]] || others+="${others:+|}$h"
	done
	[[ " ${RESULT_HEADERS[*]} " == *" $header "* ]] || die "results_merge: '$header' is not in RESULT_HEADERS"
	if [[ -s $txt ]]; then
		awk -v me="$header " -v others="^($others) " '
			index($0, me) == 1 { skip = 1; next }
			$0 ~ others { skip = 0 }
			!skip { print }' "$txt" >"$d/old.txt"
		# no blank line pile-up: strip trailing blank lines, then one separator
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$d/old.txt" >"$d/old.trim"
		if [[ -s $d/old.trim ]]; then
			{ cat "$d/old.trim"; echo; echo; cat "$section"; } >"$txt"
		else
			cp "$section" "$txt"
		fi
	else
		cp "$section" "$txt"
	fi
	if [[ -s $json ]] && grep -q '^}' "$json"; then
		awk -v start="  \"$key\": {" '
			$0 == start { skip = 1; next }
			skip && /^  }/ { skip = 0; next }
			skip { next }
			/^}/ { exit }
			{ print }' "$json" | sed '$ s/,$//' >"$d/old.json"
		{ sed '$ { /^{$/! s/$/,/ }' "$d/old.json"; cat "$jsec"; echo "}"; } >"$json"
	else
		{ echo "{"; cat "$jsec"; echo "}"; } >"$json"
	fi
	rm -rf "$d"
}
