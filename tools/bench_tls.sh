#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS termination benchmark (issue #6): xdproxy terminating TLS on an http
# listener against HAProxy and nginx doing the same, in one run, on one
# throwaway topology, every proxy in the same namespace with the same
# certificates in front of the same origin. Runs after tools/bench_fwd.sh
# in `make bench` and appends a "TLS termination benchmark" section to the
# results; it runs just as well alone.
#
#   client ns              proxy ns                          origin ns
#   198.18.1.1 --veth-- 198.18.1.2 | 198.18.3.1 --veth-- 198.18.3.2
#   tlsload, h2load        xdproxy :8443 (h2 :8453),         nginx :80 (100-byte
#                          haproxy :8444 (:8454),            file, /bulk,
#                          nginx   :8445 (:8455)             keep-alive)
#
# Every proxy: one worker/thread (xdproxy workers, HAProxy nbthread, nginx
# worker_processes), the same two certificates for bench.test (ECDSA P-256
# and RSA 2048, self-signed, made for the run) loaded together so that the
# client's signature algorithms pick one, TLS 1.2 and 1.3, session tickets
# and a session cache on (each proxy's own ticket keys and defaults
# otherwise: cipher order, groups, tickets per handshake), keep-alive to
# the origin (up to 1024 idle connections), X-Forwarded-For/-Proto/-Host
# added, no access log; the h1 listeners offer http/1.1 alone in ALPN, the
# h2 ones h2 then http/1.1.
# All three run on the same OpenSSL library: handshakes measure how each
# drives it.
#
# Tests (the client, tests/tools/tlsload, is one thread of non-blocking
# connections, offers X25519 then P-256, verifies no certificate; a
# connection ends with close_notify, and the client reads until the proxy
# closes, so that no TIME_WAIT piles up on its side):
#   full13-ec       new TLS 1.3 connections, full handshakes, the ECDSA
#                   certificate (client signature algorithms ECDSA only);
#                   BENCH_TLS_CONNS in parallel, no request: handshakes/s
#   full13-rsa      the same with the RSA certificate (RSA-PSS)
#   resume13        TLS 1.3 resumed by ticket (psk_dhe_ke: still an X25519
#                   exchange, no certificate), each connection offering the
#                   ticket its slot got first
#   resume12-ticket TLS 1.2 resumed by ticket (no key exchange at all)
#   resume12-id     TLS 1.2 resumed by session id (the server's cache)
#   req13           keep-alive GETs of the 100-byte file over TLS 1.3,
#                   BENCH_TLS_REQ_CONNS connections: requests/s
#   bulk            keep-alive GETs of a BENCH_TLS_BULK file (zeros) over
#                   TLS 1.3 on BENCH_TLS_BULK_CONNS connection(s): Gbit/s of
#                   body, the cipher the proxy chose shown with it
#   h2              h2load -c BENCH_TLS_H2_CONNS -m 10 over TLS (ALPN h2),
#                   GET of the 100-byte file: requests/s. xdproxy's row runs
#                   only when its config takes `h2: true` (`xdproxy check`);
#                   until HTTP/2 is served it reads "not served"
# Per run also the proxy's CPU (utime+stime of its processes) and the
# machine's per handshake, request or GB. Medians of BENCH_RUNS runs,
# interleaved (round r of every test and row, then round r+1) so that drift
# in the machine hits every row. A run is discarded (and the reason noted)
# when any connection or request failed, when a resumption test resumed
# fewer than 90% of its handshakes, when the certificate served was not of
# the key type asked for, or when h2load did not speak h2 or got non-2xx.
# Runs where other processes used more than 10% of the machine are marked
# CROWDED.
# Ratios are medians of the per-round ratios (see rto).
# Goals (issue #6): xdproxy >= 1.0x HAProxy on every handshake test,
# >= 1.2x HAProxy on h2 requests/s.
#
# Environment:
#   BUILD=build              build dir; xdproxy is $BUILD/xdproxy, tlsload
#                            $BUILD/tests/tools/tlsload; results go to
#                            $BUILD/bench/results.{txt,json} (an earlier "TLS
#                            termination benchmark" section is replaced, the
#                            rest kept), logs and generated configs to logs-tls/
#   BENCH_SECS=5             seconds per run
#   BENCH_RUNS=3             runs per test and row (median reported)
#   BENCH_QUICK=1            smoke test: 1 run of 2 s (unless the above are set)
#   BENCH_TLS_CONNS=16       parallel connections of the handshake tests
#   BENCH_TLS_REQ_CONNS=50   keep-alive connections of req13
#   BENCH_TLS_BULK=64M       size of the bulk file (K/M/G, at least 1M); 0 skips bulk
#   BENCH_TLS_BULK_CONNS=1   connections of the bulk test
#   BENCH_TLS_H2_CONNS=50    h2load connections (10 streams each)
#   BENCH_TLS_TESTS="..."    only these tests (ids above); default all
#   BENCH_ROWS="..."         only these rows (xdproxy haproxy nginx); default all
#   BENCH_IDLE_WAIT=30       wait up to this many seconds for other load to stop
#   BENCH_TIMEOUT=           hard bound on the whole run in seconds (default:
#                            twice the estimate + 120); on expiry all is torn down
#
# Needs root, iproute2, procps, openssl, nginx (the origin), and
# $BUILD/tests/tools/tlsload (make builds it); haproxy and h2load
# (nghttp2-client) for their parts (a missing one turns its cells into
# "-", it does not stop the run). Touches no host interface, address, route
# or sysctl: everything lives in namespaces named xdps<pid>-*, removed from
# an EXIT trap, also on failure or Ctrl-C; the only sysctls set are the
# client namespace's port range and TIME_WAIT reuse. The helpers shared
# with the other benchmarks live in tools/bench_lib.sh.
set -uo pipefail
BENCH_NAME=bench-tls
# shellcheck source=tools/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 1

TLSLOAD=${TLSLOAD:-$BUILD/tests/tools/tlsload}
bench_durations 2 5
CONNS=${BENCH_TLS_CONNS:-16}
REQ_CONNS=${BENCH_TLS_REQ_CONNS:-50}
BULK=${BENCH_TLS_BULK:-64M}
BULK_CONNS=${BENCH_TLS_BULK_CONNS:-1}
H2_CONNS=${BENCH_TLS_H2_CONNS:-50}
H2_STREAMS=10
SNI=bench.test
GOAL_HS=1.0		# xdproxy handshakes/s over HAProxy's, at least
GOAL_H2=1.2		# xdproxy h2 requests/s over HAProxy's, at least
MIN_RESUMED=90		# % of a resumption test's handshakes that must resume
# File descriptors for every process: 65536, or the hard limit if lower
# (raising it needs CAP_SYS_RESOURCE, which a container may lack).
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited || $NOFILE -gt 65536 ]] && NOFILE=65536
# Connections a proxy takes at once: the client's and the upstream ones
# are a few hundred at most; HAProxy wants two fds per connection.
MAXCONN=4096
# Idle connections to the origin each proxy keeps: h2load has up to
# BENCH_TLS_H2_CONNS x 10 requests in flight, each on an HTTP/1.1 upstream
# connection of its own; a smaller pool makes a proxy open and close
# upstream connections for every request above it (HAProxy keeps all of
# them by default).
UP_KEEPALIVE=1024

NSP="xdps$$"		# namespace prefix, unique per run
net3_init

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
for v in CONNS REQ_CONNS BULK_CONNS H2_CONNS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 && ${!v} -le 10000 ]] ||
		die "BENCH_TLS_$v must be an integer from 1 to 10000"
done
need ip ss awk timeout pgrep openssl nginx numfmt
BULK_BYTES=$(bulk_size "$BULK") ||
	die "BENCH_TLS_BULK must be 0 or a size of at least 1M (K/M/G suffix, 1024-based)"
[[ -x $TLSLOAD ]] || die "$TLSLOAD not found; run 'make bench' (it builds it) or 'make $TLSLOAD'"
TLSLOAD=$(realpath "$TLSLOAD")

# ---------------------------------------------------------------- teardown
BULKDIR=
# The bulk file lives outside TMP, which cleanup copies into the logs.
cleanup_extra() { [[ -n $BULKDIR ]] && rm -rf "$BULKDIR"; }
bench_start xdps logs-tls

# ---------------------------------------------------------------- tests and rows
ROWS=(xdproxy haproxy nginx)
declare -A PORT=([xdproxy]=8443 [haproxy]=8444 [nginx]=8445)
declare -A H2PORT=([xdproxy]=8453 [haproxy]=8454 [nginx]=8455)
TESTS=()
declare -A TLABEL=() TARGS=()
# test_def ID LABEL [TLSLOAD ARGUMENTS...]: a test, in table order (h2 runs
# h2load instead)
test_def() { TESTS+=("$1"); TLABEL[$1]=$2; TARGS[$1]="${*:3}"; }
test_def full13-ec "TLS 1.3 full, ECDSA P-256" -V 1.3 -S ec -c "$CONNS"
test_def full13-rsa "TLS 1.3 full, RSA 2048" -V 1.3 -S rsa -c "$CONNS"
test_def resume13 "TLS 1.3 resumed, ticket" -V 1.3 -S ec -r ticket -c "$CONNS"
test_def resume12-ticket "TLS 1.2 resumed, ticket" -V 1.2 -S ec -r ticket -c "$CONNS"
test_def resume12-id "TLS 1.2 resumed, session id" -V 1.2 -S ec -r id -c "$CONNS"
test_def req13 "TLS 1.3 keep-alive GET 100 B" -V 1.3 -S ec -q /100b -k -c "$REQ_CONNS"
test_def bulk "TLS 1.3 bulk GET" -V 1.3 -S ec -q /bulk -k -c "$BULK_CONNS"
test_def h2 "h2 GET 100 B (h2load)"
# unit: what the value counts; cpu: the CPU figure's unit
declare -A UNIT=([req13]="req/s" [bulk]="Gbit/s" [h2]="req/s")
declare -A CPU_UNIT=([req13]="us/req" [bulk]="s/GB" [h2]="us/req")
declare -A GOAL_X=([full13-ec]=$GOAL_HS [full13-rsa]=$GOAL_HS [resume13]=$GOAL_HS
	[resume12-ticket]=$GOAL_HS [resume12-id]=$GOAL_HS [h2]=$GOAL_H2)
for t in "${TESTS[@]}"; do
	[[ -n ${UNIT[$t]:-} ]] || UNIT[$t]="hs/s" CPU_UNIT[$t]="us/hs"
done
# pick SELECTION LIST...: the members of LIST that SELECTION names
pick() {
	local x sel=$1
	shift
	for x in "$@"; do [[ " $sel " == *" $x "* ]] && echo "$x"; done
	return 0
}
if [[ -n ${BENCH_ROWS:-} ]]; then
	mapfile -t ROWS < <(pick "$BENCH_ROWS" "${ROWS[@]}")
	[[ ${#ROWS[@]} -gt 0 ]] || die "BENCH_ROWS selects none of: xdproxy haproxy nginx"
fi
if [[ -n ${BENCH_TLS_TESTS:-} ]]; then
	mapfile -t TESTS < <(pick "$BENCH_TLS_TESTS" "${TESTS[@]}")
	[[ ${#TESTS[@]} -gt 0 ]] || die "BENCH_TLS_TESTS selects none of: ${!TLABEL[*]}"
fi
[[ $BULK_BYTES -gt 0 ]] || mapfile -t TESTS < <(pick "${TESTS[*]/bulk/}" "${TESTS[@]}")
want_test() { [[ " ${TESTS[*]} " == *" $1 "* ]]; }
declare -A PID=()	# row -> proxy pid ("" = none, or it failed to start)
declare -A NOTE=()	# row, or row.test -> why it has no numbers, or what went wrong
declare -A VERS=()	# row -> version
declare -A CIPHER=()	# row -> the cipher of its first bulk (else any) run
H2_OK=0
command -v h2load >/dev/null && H2_OK=1
nofile_exec "$NOFILE"

# ---------------------------------------------------------------- certificates
# One ECDSA P-256 and one RSA 2048 certificate for bench.test, self-signed,
# made for this run; every proxy loads both (HAProxy: certificate and key
# in one file).
CERTS=$TMP/certs
make_certs() {
	local alg
	mkdir -p "$CERTS"
	for alg in ec rsa; do
		local -a k=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
		[[ $alg == rsa ]] && k=(-newkey rsa:2048)
		openssl req -x509 "${k[@]}" -nodes -days 2 -subj "/CN=$SNI" -addext "subjectAltName=DNS:$SNI" \
			-keyout "$CERTS/$alg.key" -out "$CERTS/$alg.pem" 2>"$TMP/openssl.log" ||
			die "cannot make the $alg certificate: $(tail -n1 "$TMP/openssl.log")"
		cat "$CERTS/$alg.pem" "$CERTS/$alg.key" >"$CERTS/$alg.combined"
	done
	# The proxies' workers may run as nobody (nginx).
	chmod 711 "$TMP" "$CERTS"
	chmod 644 "$CERTS"/*
}

# ---------------------------------------------------------------- proxies
# xdproxy_config FILE H2(0|1): the listener (and, with H2, the h2 one).
xdproxy_config() {
	local h2=
	[[ $2 == 1 ]] && h2=$(printf '\n  - name: h2\n    bind: %s:%s\n    mode: http\n    workers: 1\n    pool: origin\n    http:\n      access_log: off\n      forwarded: xff\n    tls:\n      h2: true\n      certificates:\n        - {cert: %s, key: %s}\n        - {cert: %s, key: %s}' \
		"$PRX_IP" "${H2PORT[xdproxy]}" "$CERTS/ec.pem" "$CERTS/ec.key" "$CERTS/rsa.pem" "$CERTS/rsa.key")
	cat >"$1" <<-EOF
	# generated by tools/bench_tls.sh
	global:
	  log_level: info
	  stats_interval: 0
	listeners:
	  - name: tls
	    bind: $PRX_IP:${PORT[xdproxy]}
	    mode: http
	    workers: 1
	    pool: origin
	    http:
	      access_log: off
	      forwarded: xff
	    tls:
	      tickets: true
	      certificates:
	        - cert: $CERTS/ec.pem
	          key: $CERTS/ec.key
	        - cert: $CERTS/rsa.pem
	          key: $CERTS/rsa.key$h2
	pools:
	  - name: origin
	    keepalive: $UP_KEEPALIVE
	    backends:
	      - address: $ORG_IP:$HTTP_PORT
	EOF
}

start_xdproxy() {
	local row=xdproxy cfg="$TMP/xdproxy.yaml" h2=0 msg
	VERS[$row]=$(xdproxy_version "$XDPROXY")
	# HTTP/2 only if this build takes `h2: true`; until then "not served".
	if want_test h2; then
		xdproxy_config "$TMP/xdproxy-h2-check.yaml" 1
		if msg=$("$XDPROXY" check -c "$TMP/xdproxy-h2-check.yaml" 2>&1); then
			h2=1
		else
			NOTE[$row.h2]="not served: the config refuses h2: true (${msg##*: })"
			log "xdproxy h2: ${NOTE[$row.h2]}"
		fi
	fi
	xdproxy_config "$cfg" "$h2"
	if ! msg=$("$XDPROXY" check -c "$cfg" 2>&1); then
		NOTE[$row]="xdproxy refused its config: $msg"
		log "${NOTE[$row]}"
		return 1
	fi
	bg "$NS_PRX" "$TMP/$row.log" "${NOFILE_EXEC[@]}" "$XDPROXY" run -c "$cfg" --log-level info
	started "$row" "$LASTPID" xdproxy || return 1
	[[ $h2 == 1 ]] || H2PORT[$row]=
}

start_haproxy() {
	local row=haproxy cfg="$TMP/haproxy.cfg" crt h2=
	crt="crt $CERTS/ec.combined crt $CERTS/rsa.combined"
	VERS[$row]=$(haproxy -v 2>/dev/null | awk '/version/ { print $3; exit }')
	[[ $H2_OK == 1 ]] && want_test h2 && h2="    bind $PRX_IP:${H2PORT[$row]} ssl $crt alpn h2,http/1.1"
	# Two certificates for one name: HAProxy picks by the client's
	# signature algorithms, ECDSA first. Session cache (tune.ssl.cachesize,
	# 20000 by default) and tickets are on by default. No 'log' line: no
	# access log. Keep-alive and reuse toward the origin as in bench_http.
	{
		printf '# generated by tools/bench_tls.sh\nglobal\n    nbthread 1\n    maxconn %s\n' "$MAXCONN"
		echo "    ssl-default-bind-options ssl-min-ver TLSv1.2"
		haproxy_http_defaults "$MAXCONN"
	} >"$cfg"
	cat >>"$cfg" <<-EOF
	listen tls
	    bind $PRX_IP:${PORT[$row]} ssl $crt alpn http/1.1
	$h2
	    option forwardfor
	    http-request set-header X-Forwarded-Proto https
	    http-request set-header X-Forwarded-Host %[req.hdr(host)]
	    server origin $ORG_IP:$HTTP_PORT
	EOF
	haproxy_start "$row" "$cfg" || return 1
	[[ -n $h2 ]] || H2PORT[$row]=
}

start_nginx() {
	local row=nginx d="$TMP/nginx-proxy" h2=
	VERS[$row]=$(nginx -v 2>&1 | sed -n 's/.*nginx\///p')
	[[ $H2_OK == 1 ]] && want_test h2 && h2="listen $PRX_IP:${H2PORT[$row]} ssl http2;"
	mkdir -p "$d/tmp"
	# Both certificates: OpenSSL picks by the client's signature
	# algorithms. A shared session cache (nginx has none by default; 10 MB
	# hold about 40000 sessions) and tickets (on by default). Request caps
	# lifted (keepalive_requests also bounds h2 streams per connection).
	{ echo "# generated by tools/bench_tls.sh"; nginx_conf_head "$d" 1 "$MAXCONN" "$NOFILE"; } >"$d/nginx.conf"
	cat >>"$d/nginx.conf" <<-EOF
	    keepalive_requests 10000000;
	    keepalive_timeout 120s;
	    ssl_protocols TLSv1.2 TLSv1.3;
	    ssl_session_cache shared:SSL:10m;
	    ssl_session_tickets on;
	    upstream origin {
	        server $ORG_IP:$HTTP_PORT;
	        keepalive $UP_KEEPALIVE;
	        keepalive_requests 10000000;
	        keepalive_timeout 120s;
	    }
	    server {
	        listen $PRX_IP:${PORT[$row]} ssl;
	        $h2
	        ssl_certificate $CERTS/ec.pem;
	        ssl_certificate_key $CERTS/ec.key;
	        ssl_certificate $CERTS/rsa.pem;
	        ssl_certificate_key $CERTS/rsa.key;
	        location / {
$(nginx_proxy_pass)
	            proxy_max_temp_file_size 0;
	        }
	    }
	}
	EOF
	bg "$NS_PRX" "$TMP/$row.log" "${NOFILE_EXEC[@]}" nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf"
	started "$row" "$LASTPID" nginx || return 1
	[[ -n $h2 ]] || H2PORT[$row]=
}

# ---------------------------------------------------------------- measuring
RAW="$TMP/raw.txt"
: >"$RAW"

# core_pct TICKS: TICKS over a run of SECS, in % of one core: was the proxy
# the bottleneck (near 100) or waiting for the client?
core_pct() {
	[[ $1 == NA ]] && { echo NA; return; }
	awk -v t="$1" -v s="$SECS" -v hz="$HZ" 'BEGIN { printf "%.0f\n", 100 * t / hz / s }'
}

# kv LINE KEY: the value of " KEY=" in a tlsload result line
kv() { sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }

# tls_check TEST LINE: why the run does not count (empty if it does)
tls_check() {
	local t=$1 line=$2 hs full res ec rsa
	hs=$(kv "$line" handshakes) full=$(kv "$line" full) res=$(kv "$line" resumed)
	ec=$(kv "$line" key_ec) rsa=$(kv "$line" key_rsa)
	if [[ $line != "ok "* ]]; then
		echo "$(kv "$line" failed) failed (connect $(kv "$line" fail_connect), tls $(kv "$line" fail_tls), http $(kv "$line" fail_http), timeout $(kv "$line" fail_timeout))"
	elif [[ -z $hs || $hs == 0 ]]; then
		echo "no handshake completed"
	elif [[ $t == resume* && $((100 * res)) -lt $((MIN_RESUMED * hs)) ]]; then
		echo "only $res of $hs handshakes resumed"
	elif [[ $t == *-rsa && $rsa != "$full" ]] || [[ $t != *-rsa && $ec != "$full" ]]; then
		echo "certificate of the wrong key type served (ECDSA $ec, RSA $rsa of $full full handshakes)"
	fi
}

# tls_run ROW TEST RUN: one tlsload run; adds the test's value, the proxy's
# and the machine's CPU per unit, and foreign CPU to R as "TEST.*".
tls_run() {
	local row=$1 t=$2 run=$3 out="$TMP/tlsload-$1-$2-$3.txt" line why val n m0 m1 p0 p1 f0 a0 fpct
	local cpu_p=NA cpu_m=NA
	local -a args
	read -ra args <<<"${TARGS[$t]}"
	f0=$(foreign_ticks) a0=$(all_ticks)
	m0=$(machine_ticks) p0=$(row_ticks "$row")
	timeout -k 2 $((SECS + 30)) ip netns exec "$NS_CLI" "${NOFILE_EXEC[@]}" "$TLSLOAD" \
		-a "$PRX_IP:${PORT[$row]}" -s "$SNI" -d "$SECS" "${args[@]}" >"$out" 2>"$out.err"
	m1=$(machine_ticks) p1=$(row_ticks "$row")
	fpct=$(foreign_pct "$f0" "$a0")
	line=$(head -n1 "$out")
	why=$(tls_check "$t" "$line")
	case $t in
	req13) val=$(kv "$line" req_per_s) n=$(kv "$line" requests) ;;
	bulk) val=$(kv "$line" gbps) n=$(kv "$line" body_bytes) ;;
	*) val=$(kv "$line" hs_per_s) n=$(kv "$line" handshakes) ;;
	esac
	[[ -n $val ]] || val=NA n=NA
	[[ -n $why || -z $line ]] && {
		why=${why:-tlsload gave no result: $(tail -n1 "$out.err")}
		[[ -s $out.err ]] && why+="; first error: $(head -n1 "$out.err" | sed 's/^tlsload: thread [0-9]*: //')"
		NOTE[$row.$t]="run $run discarded: $why"
		log "$t $row run $run discarded: $why"
		val=NA
	}
	if [[ $val != NA ]]; then
		if [[ $t == bulk ]]; then
			cpu_p=$(per_gb "$(tdiff "$p1" "$p0")" "$n") cpu_m=$(per_gb $((m1 - m0)) "$n")
		else
			cpu_p=$(per_unit_us "$(tdiff "$p1" "$p0")" "$n") cpu_m=$(per_unit_us $((m1 - m0)) "$n")
		fi
		local c
		c=$(kv "$line" cipher)
		[[ -n $c && $c != - ]] && [[ $t == bulk || -z ${CIPHER[$row]:-} ]] && CIPHER[$row]=$c
	fi
	add "$row" "$t.val" "$val"
	add "$row" "$t.cpu_p" "$cpu_p"
	add "$row" "$t.cpu_m" "$cpu_m"
	add "$row" "$t.foreign" "$fpct"
	add "$row" "$t.core" "$(core_pct "$(tdiff "$p1" "$p0")")"
	raw "$(printf '%-15s %-8s run %d: %10s %-6s proxy=%s machine=%s %s proxy_busy=%s%% foreign_cpu=%s%%%s | %s' \
		"$t" "$row" "$run" "$val" "${UNIT[$t]}" "$cpu_p" "$cpu_m" "${CPU_UNIT[$t]}" "$(core_pct "$(tdiff "$p1" "$p0")")" \
		"$fpct" "$(crowded "$fpct")" "$line")"
}

# h2_run ROW RUN: h2load over TLS with ALPN h2 against the row's h2 port.
h2_run() {
	local row=$1 run=$2 out="$TMP/h2load-$1-$2.txt" m0 m1 p0 p1 f0 a0 fpct
	local rps proto ndone ok bad bad2 why='' cpu_p=NA cpu_m=NA
	f0=$(foreign_ticks) a0=$(all_ticks)
	m0=$(machine_ticks) p0=$(row_ticks "$row")
	timeout -k 2 $((SECS + 30)) ip netns exec "$NS_CLI" "${NOFILE_EXEC[@]}" h2load -t 1 \
		-c "$H2_CONNS" -m "$H2_STREAMS" -D "$SECS" --connect-to="$PRX_IP:${H2PORT[$row]}" \
		"https://$SNI:${H2PORT[$row]}/100b" >"$out" 2>&1
	m1=$(machine_ticks) p1=$(row_ticks "$row")
	fpct=$(foreign_pct "$f0" "$a0")
	rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
	proto=$(sed -n 's/^Application protocol: //p' "$out" | head -n1)
	# requests: T total, S started, D done, OK succeeded, F failed (errored and timed out among them), ...
	read -r ndone ok bad < <(awk '/^requests:/ { print $6, $8, $10 }' "$out")
	bad2=$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$out")
	if [[ -z $rps ]]; then
		why="h2load gave no result: $(grep -v '^Process Request Failure' "$out" | tail -n1)"
	elif [[ $proto != h2 ]]; then
		why="ALPN agreed on '${proto:-nothing}', not h2"
	elif [[ ${bad:-1} != 0 || ${bad2:-1} != 0 ]]; then
		why="${bad:-?} requests failed (errored or timed out), ${bad2:-?} answered 3xx-5xx (of ${ndone:-?})"
	fi
	if [[ -n $why ]]; then
		NOTE[$row.h2]="run $run discarded: $why"
		log "h2 $row run $run discarded: $why"
		rps=NA
	else
		cpu_p=$(per_unit_us "$(tdiff "$p1" "$p0")" "$ok") cpu_m=$(per_unit_us $((m1 - m0)) "$ok")
	fi
	add "$row" h2.val "$rps"
	add "$row" h2.cpu_p "$cpu_p"
	add "$row" h2.cpu_m "$cpu_m"
	add "$row" h2.foreign "$fpct"
	add "$row" h2.core "$(core_pct "$(tdiff "$p1" "$p0")")"
	raw "$(printf '%-15s %-8s run %d: %10s %-6s proxy=%s machine=%s us/req proxy_busy=%s%% foreign_cpu=%s%%%s | requests done=%s ok=%s bad=%s proto=%s' \
		h2 "$row" "$run" "$rps" req/s "$cpu_p" "$cpu_m" "$(core_pct "$(tdiff "$p1" "$p0")")" "$fpct" "$(crowded "$fpct")" "${ndone:-?}" "${ok:-?}" "${bad:-?}" "${proto:--}")"
}

# runnable ROW TEST: the row's proxy is up and serves the test
runnable() {
	[[ -n ${PID[$1]:-} ]] || return 1
	[[ $2 != h2 ]] && return 0
	[[ $H2_OK == 1 && -n ${H2PORT[$1]:-} ]]
}

# ---------------------------------------------------------------- main
NT=${#TESTS[@]}
EST=$((NT * ${#ROWS[@]} * RUNS * (SECS + 2) + 40))
bench_begin "$EST" "$NT tests x ${#ROWS[@]} proxies x $RUNS run(s) x ${SECS}s"
# The client opens thousands of connections a second: all ports, and
# TIME_WAIT reuse in case the proxy does not close first.
ip netns exec "$NS_CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 ||
	die "cannot set the client namespace's port range"
make_certs

ORIGIN_EXTRA=
if want_test bulk; then
	BULKDIR=$(mktemp -d /dev/shm/xdps-bulk.XXXXXX) || die "mktemp in /dev/shm failed"
	head -c "$BULK_BYTES" /dev/zero >"$BULKDIR/bulk" || die "cannot write the bulk file in /dev/shm"
	chmod 711 "$BULKDIR"
	chmod 644 "$BULKDIR/bulk"
	ORIGIN_EXTRA=$(printf '        location = /bulk {\n            root %s;\n            sendfile on;\n        }' "$BULKDIR")
fi
start_origin_http "$MAXCONN" "$ORIGIN_EXTRA" || die "the origin nginx did not start (see logs-tls/nginx/)"
for row in "${ROWS[@]}"; do
	if [[ $row == haproxy ]] && ! command -v haproxy >/dev/null; then
		NOTE[$row]="haproxy not installed"
		continue
	fi
	"start_$row"
done
[[ $H2_OK == 1 ]] || { want_test h2 && log "h2load not found (Debian nghttp2-client): no h2 test"; }

for ((run = 1; run <= RUNS; run++)); do
	for t in "${TESTS[@]}"; do
		for row in "${ROWS[@]}"; do
			runnable "$row" "$t" || continue
			if [[ $t == h2 ]]; then h2_run "$row" "$run"; else tls_run "$row" "$t" "$run"; fi
		done
	done
done
IDLE1=$(idle_busy_pct)
proxy_exited "${ROWS[@]}"
for row in "${ROWS[@]}"; do [[ -n ${PID[$row]:-} ]] && stop "${PID[$row]}"; done
# Warnings and errors the proxies logged, for the report.
declare -A WARN=()
for row in "${ROWS[@]}"; do
	f=$TMP/$row.log
	[[ $row == nginx ]] && f=$TMP/nginx-proxy/error.log
	[[ -s $f ]] && WARN[$row]=$(grep -ciE 'warn|error|fatal|crit|alert' "$f")
done

# ---------------------------------------------------------------- report
declare -A M=()		# "$row.$test.$k" -> median
for row in "${ROWS[@]}"; do
	for t in "${TESTS[@]}"; do
		for k in val cpu_p cpu_m core; do
			# shellcheck disable=SC2086 # R[] values are space-separated lists
			M[$row.$t.$k]=$(median ${R[$row.$t.$k]:-})
		done
	done
done
# rto TEST ROW REF: ROW's median over REF's
# rto TEST ROW REF: the median over the rounds of ROW's value over REF's
# in the same round. The rows of a round run back to back, so load that
# comes and goes between rounds (other people's builds) cancels out of the
# ratio, where a ratio of medians would take it in.
rto() {
	local -a a b r=()
	local i
	read -ra a <<<"${R[$2.$1.val]:-}"
	read -ra b <<<"${R[$3.$1.val]:-}"
	for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
		r+=("$(ratio "${a[i]}" "${b[i]}")")
	done
	f "$(median "${r[@]}")" 2 | sed 's/^-$/NA/'
}
# rto_m TEST ROW REF: the ratio of the medians, for the record
rto_m() { ratio "${M[$2.$1.val]:-NA}" "${M[$3.$1.val]:-NA}"; }
# cell ROW TEST: the median, or why there is none
cell() {
	local v=${M[$1.$2.val]:-NA}
	if [[ $v != NA ]]; then
		f "$v" "$([[ $2 == bulk ]] && echo 2 || echo 0)"
	elif [[ $2 == h2 && ${NOTE[$1.h2]:-} == "not served"* ]]; then
		echo "not served"
	else
		echo -
	fi
}
declare -A GOAL=()
for t in "${TESTS[@]}"; do
	GOAL[$t]=-
	[[ -n ${GOAL_X[$t]:-} ]] && GOAL[$t]=$(verdict "$(rto "$t" xdproxy haproxy)" "${GOAL_X[$t]}")
done

section() {
	local t row sp
	echo "TLS termination benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $(nproc) CPUs  xdproxy $VERSION"
	echo "medians of $RUNS run(s) x ${SECS}s, interleaved; client: tlsload, 1 thread, $CONNS parallel connections for"
	echo "handshakes ($REQ_CONNS for req13, $BULK_CONNS for bulk), X25519, no certificate verification; h2: h2load -c$H2_CONNS -m$H2_STREAMS"
	echo "every proxy: 1 worker, the same ECDSA P-256 + RSA 2048 certificates, tickets + session cache,"
	echo "keep-alive to the origin (nginx, 1 worker); haproxy ${VERS[haproxy]:-?}, nginx ${VERS[nginx]:-?}, all on $(openssl version | awk '{ print $1, $2 }')"
	echo
	printf '%-30s %-6s %10s %10s %10s %9s  %6s %6s  %s\n' test unit xdproxy haproxy nginx spread% "x/HAP" "x/ngx" goal
	printf '%s\n' "$(printf '%.0s-' {1..108})"
	for t in "${TESTS[@]}"; do
		sp=
		for row in xdproxy haproxy nginx; do
			# shellcheck disable=SC2086 # R[] values are space-separated lists
			sp+="${sp:+/}$(spread ${R[$row.$t.val]:-})"
		done
		printf '%-30s %-6s %10s %10s %10s %9s  %6s %6s  %s\n' "${TLABEL[$t]}" "${UNIT[$t]}" \
			"$(cell xdproxy "$t")" "$(cell haproxy "$t")" "$(cell nginx "$t")" "$sp" \
			"$(f "$(rto "$t" xdproxy haproxy)" 2)" "$(f "$(rto "$t" xdproxy nginx)" 2)" \
			"$([[ -n ${GOAL_X[$t]:-} ]] && echo ">=${GOAL_X[$t]} ${GOAL[$t]}")"
	done
	echo
	echo "CPU per unit: proxy = utime+stime of the proxy's processes (all threads); machine = all cores"
	echo "(/proc/stat): client + proxy + origin + kernel"
	printf '%-30s %-6s %10s %10s %10s  %6s %6s  %-14s %s\n' test unit xdproxy haproxy nginx "HAP/x" "ngx/x" "busy% x/H/n" "machine x/HAP/ngx"
	printf '%s\n' "$(printf '%.0s-' {1..108})"
	for t in "${TESTS[@]}"; do
		printf '%-30s %-6s %10s %10s %10s  %6s %6s  %-14s %s\n' "${TLABEL[$t]}" "${CPU_UNIT[$t]}" \
			"$(f "${M[xdproxy.$t.cpu_p]:-NA}" 2)" "$(f "${M[haproxy.$t.cpu_p]:-NA}" 2)" "$(f "${M[nginx.$t.cpu_p]:-NA}" 2)" \
			"$(f "$(ratio "${M[haproxy.$t.cpu_p]:-NA}" "${M[xdproxy.$t.cpu_p]:-NA}")" 2)" \
			"$(f "$(ratio "${M[nginx.$t.cpu_p]:-NA}" "${M[xdproxy.$t.cpu_p]:-NA}")" 2)" \
			"$(f "${M[xdproxy.$t.core]:-NA}" 0)/$(f "${M[haproxy.$t.core]:-NA}" 0)/$(f "${M[nginx.$t.core]:-NA}" 0)" \
			"$(f "${M[xdproxy.$t.cpu_m]:-NA}" 1)/$(f "${M[haproxy.$t.cpu_m]:-NA}" 1)/$(f "${M[nginx.$t.cpu_m]:-NA}" 1)"
	done
	echo "goals (issue #6): xdproxy >= ${GOAL_HS}x HAProxy on handshakes, >= ${GOAL_H2}x on h2 req/s"
	echo "x/HAP     xdproxy over HAProxy, the median of the rounds' ratios (each round runs the rows back"
	echo "          to back: load between rounds cancels out); higher is better. On CPU, HAP/x: HAProxy's"
	echo "          median CPU over xdproxy's (higher is better for xdproxy)"
	echo "spread%   (max - min) / median of the runs, xdproxy/haproxy/nginx"
	echo "busy%     the proxy's CPU in % of one core during the runs: near 100, the proxy was the bound"
	echo "bound     client, proxy and origin share this machine's $(nproc) cores; a full ECDSA handshake costs"
	echo "          the client about as much as the server (it verifies the signature), so a row can be"
	echo "          bounded by the client: compare proxy CPU per handshake then"
	echo "ciphers   (bulk runs, else the first run) xdproxy ${CIPHER[xdproxy]:--}, haproxy ${CIPHER[haproxy]:--}, nginx ${CIPHER[nginx]:--}"
	echo
	load_report
	for row in "${ROWS[@]}"; do
		[[ -n ${NOTE[$row]:-} ]] && echo "note: $row: ${NOTE[$row]}"
		for t in "${TESTS[@]}"; do
			[[ -n ${NOTE[$row.$t]:-} ]] && echo "note: $row, ${TLABEL[$t]}: ${NOTE[$row.$t]}"
		done
		[[ ${WARN[$row]:-0} -gt 0 ]] && echo "note: $row: ${WARN[$row]} warning/error line(s) in its log (logs-tls/)"
	done
	[[ $H2_OK == 1 ]] || echo "note: h2load not installed (Debian nghttp2-client): no h2 numbers"
	report_tail
}

json_section() {
	local t row n=0 k note
	echo "  \"tls\": {"
	echo "    \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"), \"kernel\": $(jstr "$(uname -r)"), \"cpus\": $(nproc),"
	echo "    \"xdproxy\": $(jstr "$VERSION"), \"haproxy\": $(jstr "${VERS[haproxy]:-}"), \"nginx\": $(jstr "${VERS[nginx]:-}"),"
	echo "    \"openssl\": $(jstr "$(openssl version)"), \"runs\": $RUNS, \"seconds\": $SECS, \"quick\": $([[ $QUICK == 1 ]] && echo true || echo false),"
	echo "    \"conns\": {\"handshakes\": $CONNS, \"req13\": $REQ_CONNS, \"bulk\": $BULK_CONNS, \"h2\": $H2_CONNS, \"h2_streams\": $H2_STREAMS},"
	echo "    \"bulk_bytes\": $BULK_BYTES, \"idle_busy_pct\": [$IDLE0, $IDLE1],"
	echo "    \"method\": \"tlsload (tests/tools), 1 thread, X25519, no verification, close_notify then the proxy closes; h2load for h2; 1 worker per proxy, same certificates\","
	echo "    \"ciphers\": {\"xdproxy\": $(jstr "${CIPHER[xdproxy]:-}"), \"haproxy\": $(jstr "${CIPHER[haproxy]:-}"), \"nginx\": $(jstr "${CIPHER[nginx]:-}")},"
	echo "    \"tests\": ["
	for t in "${TESTS[@]}"; do
		n=$((n + 1))
		echo "      {\"id\": \"$t\", \"label\": $(jstr "${TLABEL[$t]}"), \"unit\": $(jstr "${UNIT[$t]}"), \"cpu_unit\": $(jstr "${CPU_UNIT[$t]}"),"
		echo "       \"goal_min_x_haproxy\": $(jnum "${GOAL_X[$t]:-}"), \"met\": $(jbool "${GOAL[$t]}"),"
		echo "       \"ratio_haproxy\": $(jnum "$(rto "$t" xdproxy haproxy)"), \"ratio_nginx\": $(jnum "$(rto "$t" xdproxy nginx)"),"
		echo "       \"ratio_of_medians_haproxy\": $(jnum "$(rto_m "$t" xdproxy haproxy)"), \"ratio_of_medians_nginx\": $(jnum "$(rto_m "$t" xdproxy nginx)"),"
		k=0
		echo -n "       \"rows\": {"
		for row in xdproxy haproxy nginx; do
			k=$((k + 1))
			note="${NOTE[$row]:-}${NOTE[$row.$t]:+${NOTE[$row]:+; }${NOTE[$row.$t]}}"
			# shellcheck disable=SC2086 # R[] values are space-separated lists
			echo -n "\"$row\": {\"value\": $(jnum "${M[$row.$t.val]:-NA}"), \"runs\": $(jarr ${R[$row.$t.val]:-}), \"proxy_cpu\": $(jnum "${M[$row.$t.cpu_p]:-NA}"), \"machine_cpu\": $(jnum "${M[$row.$t.cpu_m]:-NA}"), \"proxy_busy_pct\": $(jnum "${M[$row.$t.core]:-NA}"), \"foreign_cpu_pct_runs\": $(jarr ${R[$row.$t.foreign]:-}), \"note\": $([[ -n $note ]] && jstr "$note" || echo null)}$([[ $k -lt 3 ]] && printf ',\n                ')"
		done
		echo "}}$([[ $n -lt $NT ]] && echo ,)"
	done
	echo "    ]"
	echo "  }"
}

mkdir -p "$TMP/report"
SECTION="$TMP/report/section.txt"
section >"$SECTION"
json_section >"$TMP/report/section.json"
results_merge "TLS termination benchmark" tls "$SECTION" "$TMP/report/section.json"

echo
sed -n '1,/^raw runs:/p' "$SECTION" | sed '$d'
summary=
for t in "${TESTS[@]}"; do
	v=$(cell xdproxy "$t")
	[[ $v == [0-9]* ]] && v+=" ${UNIT[$t]}"
	summary+="${summary:+; }$t $v = $(f "$(rto "$t" xdproxy haproxy)" 2)x HAProxy, $(f "$(rto "$t" xdproxy nginx)" 2)x nginx"
done
echo "tls summary: $summary"
rm -rf "$TMP/report"
echo "results: $OUT/results.txt $OUT/results.json (logs: $LOGS_DIR/)"
