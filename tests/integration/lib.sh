#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Shared helpers for integration tests. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# Every test owns its network: namespaces are named xdpt<pid>-<name>, use
# only loopback or 198.18.0.0/15 (RFC 2544 benchmarking range) and
# 2001:db8::/32 inside them, and are removed by an EXIT trap even on failure.
# Never touches a host interface.
set -u
BUILD=${BUILD:-build}
XDPROXY=${XDPROXY:-$BUILD/xdproxy}
TCPKIT=${TCPKIT:-$BUILD/tests/tools/tcpkit}
T_PREFIX="xdpt$$"
T_NS=()
T_PIDS=()
T_TMP=$(mktemp -d /tmp/xdpt.XXXXXX)
T_FAILS=0

t_cleanup() {
	local p ns
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.1
	for p in "${T_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ns in "${T_NS[@]}"; do
		# Kill anything still running in the namespace before deleting it.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; T_FAILS=$((T_FAILS + 1)); }
skip() { echo "SKIP: $*"; }
# check NAME CMD...: PASS if CMD succeeds, else FAIL.
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
# quiet CMD...: CMD with its output discarded, for check (a redirect after
# 'check ...' would swallow the PASS/FAIL line too).
quiet() { "$@" >/dev/null 2>&1; }
# t_done: exit status for the runner.
t_done() { [[ $T_FAILS -eq 0 ]]; exit $?; }

t_require_root() {
	if [[ $(id -u) -ne 0 ]]; then skip "needs root"; exit 77; fi
}

# ns_new NAME: create namespace $T_PREFIX-NAME with lo up; echoes the full name.
ns_new() {
	local ns="$T_PREFIX-$1"
	ip netns add "$ns" || return 1
	T_NS+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}
# nsx NAME CMD...: run CMD in namespace NAME (short name).
nsx() { local ns="$T_PREFIX-$1"; shift; ip netns exec "$ns" "$@"; }

# veth_link A B IPA IPB: veth between namespaces A and B (short names), with
# addresses IPA/IPB (CIDR). Interfaces are named <peer-ns> inside each ns.
veth_link() {
	local a=$1 b=$2 ipa=$3 ipb=$4
	local ia="v$a-$b" ib="v$b-$a"
	ia=${ia:0:15} ib=${ib:0:15}
	ip link add "$ia" netns "$T_PREFIX-$a" type veth peer name "$ib" netns "$T_PREFIX-$b" || return 1
	ip -n "$T_PREFIX-$a" addr add "$ipa" dev "$ia"
	ip -n "$T_PREFIX-$b" addr add "$ipb" dev "$ib"
	ip -n "$T_PREFIX-$a" link set "$ia" up
	ip -n "$T_PREFIX-$b" link set "$ib" up
}

# bg NAME CMD...: start CMD in namespace NAME in the background, recorded
# for cleanup; sets T_LASTPID.
bg() {
	local ns=$1; shift
	ip netns exec "$T_PREFIX-$ns" "$@" &
	T_LASTPID=$!
	T_PIDS+=("$T_LASTPID")
}

# wait_port NS ADDR PORT [TIMEOUT_S]: wait until something listens.
wait_port() {
	local ns=$1 addr=$2 port=$3 t=${4:-5} i
	for ((i = 0; i < t * 20; i++)); do
		if nsx "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
		sleep 0.05
	done
	return 1
}

# nginx_start NS HTTP_BLOCK: nginx in namespace NS (short name) serving
# HTTP_BLOCK, the inside of its http {} (server blocks, log formats), with
# access_log off unless a server says otherwise, its pid, logs
# ($T_TMP/ngx/logs) and temp files under $T_TMP/ngx. Its workers run as
# nobody: $T_TMP and $T_TMP/ngx are opened to them.
nginx_start() {
	local ns=$1 block=$2
	mkdir -p "$T_TMP/ngx/logs"
	chmod 711 "$T_TMP"
	chmod 755 "$T_TMP/ngx"
	cat >"$T_TMP/ngx/nginx.conf" <<EOF
worker_processes 1;
pid $T_TMP/ngx/nginx.pid;
error_log $T_TMP/ngx/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T_TMP/ngx/body;
	proxy_temp_path $T_TMP/ngx/proxy;
	fastcgi_temp_path $T_TMP/ngx/fcgi;
	uwsgi_temp_path $T_TMP/ngx/uwsgi;
	scgi_temp_path $T_TMP/ngx/scgi;
$block
}
EOF
	bg "$ns" nginx -c "$T_TMP/ngx/nginx.conf" -g 'daemon off;'
}

# start_proxy NS CONFIGFILE: run xdproxy in NS, wait for its listeners.
# Sets PROXY_PID. Log in $T_TMP/proxy.log.
start_proxy() {
	local ns=$1 cfg=$2
	: >"$T_TMP/proxy.log"
	ip netns exec "$T_PREFIX-$ns" "$XDPROXY" run -c "$cfg" >>"$T_TMP/proxy.log" 2>&1 &
	PROXY_PID=$!
	T_PIDS+=("$PROXY_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		if grep -q ' ready' "$T_TMP/proxy.log" 2>/dev/null; then return 0; fi
		kill -0 "$PROXY_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# fd_count PID
fd_count() { ls /proc/"$1"/fd 2>/dev/null | wc -l; }
