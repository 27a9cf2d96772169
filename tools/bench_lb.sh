#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# XDP load balancer benchmark (issue #3): the LB against HAProxy, nftables
# DNAT and plain kernel forwarding, in one run, on one throwaway topology.
# Runs after tools/bench.sh in `make bench` and appends an "XDP load
# balancer" section to its results; it runs just as well alone.
#
#   client ns                LB ns                                backend ns beN (N=1..3)
#   lb0 198.18.40.2 --veth-- lbc<pid> 198.18.40.1 | beN 198.18.5N.1 --veth-- lb0 198.18.5N.2
#   wrk, xdpgen udp          xdproxy attach (XDP LB), haproxy,     nginx :80 (100-byte file)
#                            nftables DNAT, ip_forward=1           lo: 198.18.42.1 (DSR VIP)
#                            lo: 198.18.41.1 (NAT source),         xdpgen sink (pps only)
#                                198.18.42.2 (HAProxy's VIP)
#   VIPs: 198.18.42.1 dsr-l2, 198.18.42.3 nat (source 198.18.41.1), :80 tcp and :9 udp;
#         198.18.42.2:80 HAProxy; 198.18.42.4:9 nftables DNAT (+ SNAT to 198.18.41.1).
#
# Three parts, each a table:
#   1. ns/packet: build/tests/bpf/test_xdp_lb --bench (BPF_PROG_TEST_RUN over
#      the packet fixtures, next to an XDP_DROP floor); PASS when a path
#      costs <= 1.5x the floor (the issue's goal), MISS otherwise.
#   2. TCP connections/s: wrk -t1 -c50 -H "Connection: close" for a 100-byte
#      file from nginx: every request is a new TCP connection (handshake,
#      request, response, close), so requests/s = connections/s. Rows:
#      direct (client -> backend address, kernel forwarding in the LB ns),
#      haproxy (mode tcp, nbthread 1, in the LB ns on its VIP, round robin
#      over the same backends), XDP LB nat and dsr-l2. Goal: XDP >= 2x HAProxy.
#      Client, LB and backends share this machine's CPUs, so a row is
#      bounded by the machine's CPU as a whole, not by the LB alone: the
#      table shows the machine's CPU per connection and how busy it was.
#   3. UDP packets/s: one flow of 60-byte frames (64 on a wire with FCS)
#      from xdpgen (BPF_PROG_RUN live frames, the method of xdp-trafficgen,
#      which cannot load on this kernel) pinned to the first CPU, into the
#      LB ns whose client-facing veth runs threaded NAPI pinned to the last
#      CPU: everything the LB ns does for a packet (XDP program or kernel
#      forwarding, nftables, conntrack) runs on that one core. Each backend
#      drops frames in an XDP program (xdpgen sink) and the pps is what its
#      veth's XDP counter (ethtool -S rx_queue_*_xdp_packets) counted over
#      BENCH_LB_PPS_SECS, from 1 s after the start. Rows: direct (kernel
#      forwarding to the backend address), nftables DNAT (+ SNAT, conntrack),
#      XDP LB nat and dsr-l2. Goal: XDP >= 1.5x nftables DNAT.
# Same interface settings for every row (tx checksum offload off, which
# also turns TSO off, GRO on: KERNEL-NOTES "XDP on veth"); the XDP program
# is attached only for the XDP rows and detached (pinned state kept) for
# the others. Runs are interleaved across rows; medians are reported.
#
# Environment:
#   BUILD=build            build dir; results to $BUILD/bench/results.{txt,json}
#                          (an earlier "XDP load balancer" section is replaced,
#                          anything else in them is kept), logs to logs-lb/
#   BENCH_SECS=8           seconds per wrk run
#   BENCH_LB_PPS_SECS=5    seconds counted per pps run (the generator runs 2 s more)
#   BENCH_RUNS=3           runs per row (median reported)
#   BENCH_LB_PPS_RUNS=5    runs per pps row: a NAT row's runs spread widely
#   BENCH_QUICK=1          smoke test: 1 run each, 3 s wrk, 2 s pps, ns/packet for
#                          a few fixtures at 1e5 repeats (unless set above)
#   BENCH_LB_REPEAT=       BPF_PROG_TEST_RUN repeats (default: the test's 1e6)
#   BENCH_LB_BACKENDS=1    backends (1-3) behind every VIP and HAProxy; "direct"
#                          always goes to the first one
#   BENCH_LB_CONNS=50      wrk's concurrent connections
#   BENCH_LB_PARTS="ns cps pps"  parts to run
#   BENCH_IDLE_WAIT=30     wait up to this many seconds for other load to stop
#   BENCH_TIMEOUT=         hard bound on the whole run in seconds (default:
#                          twice the estimate + 120); on expiry all is torn down
#
# Needs root, iproute2, ethtool, nsenter, taskset, $BUILD/xdproxy,
# $BUILD/tests/tools/xdpgen, $BUILD/tests/bpf/test_xdp_lb; for the peers
# wrk, nginx, haproxy, nft (a missing one turns its rows into "-").
# Touches no host interface, address, route or sysctl: namespaces are named
# xdpl<pid>-*, pins live in /sys/fs/bpf/xdpl<pid>; all of it is removed from
# an EXIT trap, also on failure or Ctrl-C. The helpers shared with the other
# benchmarks (teardown, CPU accounting, medians) live in tools/bench_lib.sh.
set -uo pipefail
BENCH_NAME=bench-lb
# shellcheck source=tools/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh" || exit 1

XDPGEN=${XDPGEN:-$BUILD/tests/tools/xdpgen}
LBTEST=${LBTEST:-$BUILD/tests/bpf/test_xdp_lb}
QUICK=0
[[ -n ${BENCH_QUICK:-} && ${BENCH_QUICK} != 0 ]] && QUICK=1
if [[ $QUICK == 1 ]]; then
	SECS=${BENCH_SECS:-3}
	PPS_SECS=${BENCH_LB_PPS_SECS:-2}
	RUNS=${BENCH_RUNS:-1}
	PPS_RUNS=${BENCH_LB_PPS_RUNS:-$RUNS}
	REPEAT=${BENCH_LB_REPEAT:-100000}
else
	SECS=${BENCH_SECS:-8}
	PPS_SECS=${BENCH_LB_PPS_SECS:-5}
	RUNS=${BENCH_RUNS:-3}
	PPS_RUNS=${BENCH_LB_PPS_RUNS:-5}
	REPEAT=${BENCH_LB_REPEAT:-}
fi
NB=${BENCH_LB_BACKENDS:-1}
CONNS=${BENCH_LB_CONNS:-50}
PARTS=${BENCH_LB_PARTS:-ns cps pps}
GOAL_NS=1.5 GOAL_CPS=2.0 GOAL_PPS=1.5

NSP="xdpl$$"
NS_CLI="$NSP-cli" NS_LB="$NSP-lb"
IF_LBC="lbc$$"			# the LB's client-facing veth; unique: its NAPI thread is found by name
CLI_IP=198.18.40.2 LBC_IP=198.18.40.1 NAT_SRC=198.18.41.1
VIP_DSR=198.18.42.1 VIP_HAP=198.18.42.2 VIP_NAT=198.18.42.3 VIP_NFT=198.18.42.4
UDP_PORT=9 GEN_SPORT=40000 FRAME=60
PIN=/sys/fs/bpf/$NSP
NCPU=$(nproc)

part() { [[ " $PARTS " == *" $1 "* ]]; }

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, XDP)"
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 ]] || die "BENCH_SECS must be a positive integer"
[[ $PPS_SECS =~ ^[0-9]+$ && $PPS_SECS -ge 1 ]] || die "BENCH_LB_PPS_SECS must be a positive integer"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || die "BENCH_RUNS must be a positive integer"
[[ $PPS_RUNS =~ ^[0-9]+$ && $PPS_RUNS -ge 1 ]] || die "BENCH_LB_PPS_RUNS must be a positive integer"
[[ $NB =~ ^[1-3]$ ]] || die "BENCH_LB_BACKENDS must be 1, 2 or 3"
[[ -z $REPEAT || $REPEAT =~ ^[0-9]+$ ]] || die "BENCH_LB_REPEAT must be a number"
for c in ip ethtool nsenter taskset awk timeout; do
	command -v "$c" >/dev/null || die "'$c' not found; run 'make deps'"
done
for f in "$XDPROXY" "$XDPGEN" "$LBTEST"; do
	[[ -x $f ]] || die "$f not found; run 'make bench' (or make build $f)"
done
XDPROXY=$(realpath "$XDPROXY") XDPGEN=$(realpath "$XDPGEN") LBTEST=$(realpath "$LBTEST")
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(realpath "$OUT")
TMP=$(mktemp -d /tmp/xdpl.XXXXXX) || die "mktemp failed"

# ---------------------------------------------------------------- teardown
# What cleanup (tools/bench_lib.sh) stops and removes on exit.
PIDS=()
NSES=()
WD_PID=
LOGS_DIR=$OUT/logs-lb
# The XDP programs go with the interfaces, the maps' pins stay: remove them.
cleanup_extra() { [[ -d $PIN ]] && rm -rf "$PIN"; }
bench_traps

# The CLI shares the host's bpffs: 'ip netns exec' would hide it (KERNEL-NOTES XDP 4).
lbcli() { timeout -k 2 30 nsenter --net="/run/netns/$NS_LB" "$XDPROXY" "$@" --pin-path "$PIN"; }

# ---------------------------------------------------------------- measuring
cpu_ticks() { # CPU -> "busy all" jiffies of one CPU
	awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat
}
declare -A NOTE=()	# row -> why it has no numbers
RAW="$TMP/raw.txt"
: >"$RAW"

# LB counters as "name value" lines, and the non-zero differences of two.
lb_stats() { lbcli stats 2>/dev/null | awk 'NF >= 2 && $NF ~ /^[0-9]+$/ { k = $1; for (i = 2; i < NF; i++) k = k "_" $i; print k, $NF }'; }
lb_delta() { # FILE0 FILE1 -> "name=+n ..." for counters that moved
	awk 'NR == FNR { a[$1] = $2; next } $2 - a[$1] > 0 { printf "%s=+%d ", $1, $2 - a[$1] }' "$1" "$2"
}

# ---------------------------------------------------------------- part 1: ns/packet
NS_ROWS=()		# "desc|ns|xfloor|verdict"
NS_FLOOR=NA NS_NOTE=
# Fixtures of the quick run: one of each kind of path.
NS_QUICK=("IPv4 TCP to a non-VIP" "DSR v4 TCP" "IPIP v4:" "NAT v4 TCP" "NAT reply v4" "ICMP echo to a VIP:")
ns_part() {
	local out="$TMP/ns-packet.txt" filters=("") flt rc
	[[ $QUICK == 1 ]] && filters=("${NS_QUICK[@]}")
	: >"$out"
	for flt in "${filters[@]}"; do
		# shellcheck disable=SC2086 # an empty filter is no argument
		XDP_LB_BENCH_REPEAT=${REPEAT:-1000000} timeout -k 2 900 "$LBTEST" --bench ${flt:+"$flt"} \
			>>"$out.part" 2>&1
		rc=$?
		cat "$out.part" >>"$out"
		rm -f "$out.part"
		if [[ $rc -ne 0 ]]; then
			NS_NOTE="test_xdp_lb --bench exited $rc (see logs-lb/ns-packet.txt)"
			log "$NS_NOTE"
			break
		fi
	done
	# Rows: the fixture is the first 64 columns, then ns/pkt, x floor, ...,
	# and the verdict last; the floor row has just ns and 1.00.
	NS_FLOOR=$(awk '/^floor:/ { print $(NF - 1); exit }' "$out")
	[[ -n $NS_FLOOR ]] || NS_FLOOR=NA
	mapfile -t NS_ROWS < <(awk '
		/^fixture / { t = 1; next }
		/^worst:/ { t = 0 }
		t && !/^floor:/ && length($0) > 64 {
			d = substr($0, 1, 64); sub(/ +$/, "", d)
			n = split(substr($0, 65), x, " ")
			if (x[1] == "failed") { print d "|NA|NA|failed"; next }
			if (x[1] !~ /^[0-9.]+$/) next
			print d "|" x[1] "|" x[2] "|" x[n]
		}' "$out" | awk -F'|' '!seen[$1]++')
	raw "ns/packet: floor ${NS_FLOOR} ns, ${#NS_ROWS[@]} paths (repeat ${REPEAT:-1000000})"
}

# ---------------------------------------------------------------- topology
IFS_ALL=()	# "ns:dev" of every veth end, for the settings record
setup_net() {
	local i ns mac_lbc mac_cli mac_lbb mac_be
	for ns in "$NS_CLI" "$NS_LB"; do
		ip netns add "$ns" || die "cannot create namespace $ns"
		NSES+=("$ns")
		ip -n "$ns" link set lo up
	done
	for ((i = 1; i <= NB; i++)); do
		ns="$NSP-be$i"
		ip netns add "$ns" || die "cannot create namespace $ns"
		NSES+=("$ns")
		BE_NSES+=("$ns")
		ip -n "$ns" link set lo up
	done
	# Created inside the namespaces, never in the root one.
	ip -n "$NS_CLI" link add lb0 type veth peer name "$IF_LBC" netns "$NS_LB" || die "veth cli"
	ip -n "$NS_CLI" addr add $CLI_IP/24 dev lb0
	ip -n "$NS_LB" addr add $LBC_IP/24 dev "$IF_LBC"
	ip -n "$NS_LB" addr add $NAT_SRC/32 dev lo
	ip -n "$NS_LB" addr add $VIP_HAP/32 dev lo
	IFS_ALL+=("$NS_CLI:lb0" "$NS_LB:$IF_LBC")
	for ((i = 1; i <= NB; i++)); do
		ns="$NSP-be$i"
		ip -n "$ns" link add lb0 type veth peer name "be$i" netns "$NS_LB" || die "veth be$i"
		ip -n "$NS_LB" addr add "198.18.5$i.1/24" dev "be$i"
		ip -n "$ns" addr add "198.18.5$i.2/24" dev lb0
		ip -n "$ns" addr add $VIP_DSR/32 dev lo		# DSR: the backend holds the VIP
		IFS_ALL+=("$NS_LB:be$i" "$ns:lb0")
	done
	local nd
	for nd in "${IFS_ALL[@]}"; do
		ip -n "${nd%%:*}" link set "${nd#*:}" up
		# KERNEL-NOTES XDP 1-2: checksums in software wherever XDP may rewrite
		# (tx off, which also turns TSO off), GRO on so that XDP_TX/REDIRECT
		# into a veth without a program is not dropped. The same for all rows.
		ip netns exec "${nd%%:*}" ethtool -K "${nd#*:}" tx off gro on >/dev/null 2>&1 ||
			die "ethtool -K ${nd#*:} tx off gro on"
	done
	ip -n "$NS_CLI" route add default via $LBC_IP || die "route cli"
	# A load generator's setting, for wrk here and HAProxy's side to the
	# backends: when the client closes first its ports sit in TIME_WAIT, and
	# without reuse a later run finds the port range full and connect()
	# crawls (HAProxy's row fell from 7k to 240 conn/s in its second run).
	# The port range stays the default: with 1024-65535 the XDP LB's NAT
	# rows collapse (its NAT port reservations are never freed: the report's
	# note on drop_nat_ports).
	for ns in "$NS_CLI" "$NS_LB"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 || die "sysctl in $ns"
	done
	# Threaded NAPI on the LB's client-facing veth: its receive work (the XDP
	# program, or the whole kernel path) runs in a thread that the pps part
	# pins to one core. The same for every row and both parts.
	ip netns exec "$NS_LB" sh -c "echo 1 >/sys/class/net/$IF_LBC/threaded" ||
		die "threaded NAPI on $IF_LBC"
	ip netns exec "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 || die "sysctl in $NS_LB"
	# Static neighbours: the pps part's backends drop everything, ARP too.
	mac_lbc=$(ip netns exec "$NS_LB" cat "/sys/class/net/$IF_LBC/address")
	mac_cli=$(ip netns exec "$NS_CLI" cat /sys/class/net/lb0/address)
	LBC_MAC=$mac_lbc
	ip -n "$NS_CLI" neigh replace $LBC_IP lladdr "$mac_lbc" dev lb0 nud permanent
	ip -n "$NS_LB" neigh replace $CLI_IP lladdr "$mac_cli" dev "$IF_LBC" nud permanent
	for ((i = 1; i <= NB; i++)); do
		ns="$NSP-be$i"
		ip -n "$ns" route add default via "198.18.5$i.1" || die "route be$i"
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		mac_lbb=$(ip netns exec "$NS_LB" cat "/sys/class/net/be$i/address")
		mac_be=$(ip netns exec "$ns" cat /sys/class/net/lb0/address)
		ip -n "$NS_LB" neigh replace "198.18.5$i.2" lladdr "$mac_be" dev "be$i" nud permanent
		ip -n "$ns" neigh replace "198.18.5$i.1" lladdr "$mac_lbb" dev lb0 nud permanent
	done
}

net_settings() {
	local nd ns dev
	for nd in "${IFS_ALL[@]}"; do
		ns=${nd%%:*} dev=${nd#*:}
		printf '  %-14s mtu %s ' "${ns#"$NSP"-}/$dev" \
			"$(ip -n "$ns" -o link show "$dev" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"
		# tx-tcp-segmentation, not tcp-segmentation-offload: this ethtool
		# shows the latter "on" for a newer sub-feature it does not know.
		ip netns exec "$ns" ethtool -k "$dev" 2>/dev/null | awk '
			/^[ \t]*(tx-checksumming|tx-tcp-segmentation|generic-receive-offload):/ {
				sub(/:/, "", $1); printf "%s=%s ", $1, $2 }'
		echo
	done
}

# ---------------------------------------------------------------- the LB
LB_CFG="$TMP/lb.yaml"
write_lb_cfg() {
	local i proto mode vip
	{
		echo "# generated by tools/bench_lb.sh"
		echo "lb:"
		echo "  vips:"
		for proto in tcp udp; do
			for mode in dsr-l2 nat; do
				vip=$VIP_DSR
				[[ $mode == nat ]] && vip=$VIP_NAT
				echo "    - name: $mode-$proto"
				echo "      address: $vip"
				[[ $proto == tcp ]] && echo "      port: 80" || echo "      port: $UDP_PORT"
				echo "      protocol: $proto"
				echo "      mode: $mode"
				[[ $mode == nat ]] && echo "      source: $NAT_SRC"
				echo "      backends:"
				for ((i = 1; i <= NB; i++)); do
					echo "        - address: 198.18.5$i.2"
				done
			done
		done
	} >"$LB_CFG"
}

XDP_STATE=off XDP_OK=1 XDP_NOTE=
# The LB on the client-facing veth (VIP traffic) and on every backend veth
# (NAT replies); the first attach loads the config, later ones reuse the pins.
xdp_on() {
	local i out dev
	[[ $XDP_STATE == on ]] && return 0
	[[ $XDP_OK == 1 ]] || return 1
	for dev in "$IF_LBC" $(for ((i = 1; i <= NB; i++)); do echo "be$i"; done); do
		if [[ $dev == "$IF_LBC" && ! -e $TMP/lb-configured ]]; then
			out=$(lbcli attach "$dev" -c "$LB_CFG" 2>&1) && : >"$TMP/lb-configured"
		else
			out=$(lbcli attach "$dev" 2>&1)
		fi
		echo "$out" >>"$TMP/xdproxy-cli.log"
		if ! grep -q "attached xdp_lb_ingress to $dev (native" <<<"$out"; then
			XDP_OK=0 XDP_NOTE="xdproxy attach $dev failed: $(tail -n1 <<<"$out")"
			log "$XDP_NOTE"
			xdp_off
			return 1
		fi
	done
	XDP_STATE=on
}
xdp_off() {
	local i dev
	for dev in "$IF_LBC" $(for ((i = 1; i <= NB; i++)); do echo "be$i"; done); do
		lbcli detach "$dev" >>"$TMP/xdproxy-cli.log" 2>&1
	done
	XDP_STATE=off
	# Detached for the kernel rows, or their numbers would be the LB's.
	if grep -q 'prog/xdp' <<<"$(ip -n "$NS_LB" -d link show)"; then
		XDP_OK=0 XDP_NOTE="an XDP program stayed attached after 'xdproxy detach'"
		log "$XDP_NOTE"
		return 1
	fi
}

# ---------------------------------------------------------------- peers
start_nginx() { # N
	local n=$1 d="$TMP/nginx-be$1"
	mkdir -p "$d/www" "$d/tmp"
	head -c 100 /dev/zero | tr '\0' 'x' >"$d/www/100b"
	chmod 711 "$TMP" "$d"
	chmod 755 "$d/www"
	chmod 644 "$d/www/100b"
	# Nothing under /etc or /var; daemon off so it dies with us. Listens on
	# every address: the DSR VIP on lo too.
	nginx_conf_head "$d" 1 8192 >"$d/nginx.conf"
	cat >>"$d/nginx.conf" <<-EOF
	    server {
	        listen 80 backlog=4096;
	        root $d/www;
	    }
	}
	EOF
	bg "$NSP-be$n" "$d/stderr.log" nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf"
	wait_listen "$NSP-be$n" 0.0.0.0 80 10
}

HAP_PID=
start_haproxy() {
	local cfg="$TMP/haproxy.cfg" logf="$TMP/haproxy.log" i
	{
		echo "# generated by tools/bench_lb.sh"
		echo "global"
		echo "    nbthread 1"
		echo "    maxconn 4096"
		echo "defaults"
		echo "    mode tcp"
		echo "    timeout connect 2s"
		echo "    timeout client 30s"
		echo "    timeout server 30s"
		echo "listen vip"
		echo "    bind $VIP_HAP:80"
		echo "    balance roundrobin"
		for ((i = 1; i <= NB; i++)); do echo "    server be$i 198.18.5$i.2:80"; done
	} >"$cfg"
	if ! haproxy -c -q -f "$cfg" >"$logf" 2>&1; then
		NOTE[haproxy]="haproxy rejected its config (see logs-lb/haproxy.log)"
		return 1
	fi
	bg "$NS_LB" "$logf" haproxy -db -f "$cfg"
	if wait_listen "$NS_LB" $VIP_HAP 80 10; then
		HAP_PID=$LASTPID
		return 0
	fi
	NOTE[haproxy]="haproxy did not start (see logs-lb/haproxy.log)"
	stop "$LASTPID"
	return 1
}

NFT_OK=1
nft_add() {
	ip netns exec "$NS_LB" nft -f - >>"$TMP/nft.log" 2>&1 <<-EOF
	table ip xdplbench {
	    chain pre {
	        type nat hook prerouting priority dstnat; policy accept;
	        ip daddr $VIP_NFT udp dport $UDP_PORT dnat to 198.18.51.2
	    }
	    chain post {
	        type nat hook postrouting priority srcnat; policy accept;
	        ct status dnat ip daddr 198.18.51.2 udp dport $UDP_PORT snat to $NAT_SRC
	    }
	}
	EOF
}
# The table (and with it conntrack's hooks in this namespace) exists only
# during the nftables row.
nft_del() { ip netns exec "$NS_LB" nft delete table ip xdplbench >>"$TMP/nft.log" 2>&1; }

# ---------------------------------------------------------------- part 2: TCP connections/s
CPS_ROWS=(direct haproxy xdp-nat xdp-dsr)
declare -A LABEL=(
	[direct]="direct (kernel fwd)"
	[haproxy]="haproxy tcp"
	[xdp-nat]="XDP LB nat"
	[xdp-dsr]="XDP LB dsr-l2"
	[nft]="nftables DNAT"
	[p-direct]="direct (kernel fwd)"
	[p-xdp-nat]="XDP LB nat"
	[p-xdp-dsr]="XDP LB dsr-l2"
)
cps_url() {
	case $1 in
	direct) echo "http://198.18.51.2/100b" ;;
	haproxy) echo "http://$VIP_HAP/100b" ;;
	xdp-nat) echo "http://$VIP_NAT/100b" ;;
	xdp-dsr) echo "http://$VIP_DSR/100b" ;;
	esac
}
cps_ready() { # ROW: set the LB ns up for the row; non-zero: no numbers
	case $1 in
	direct) xdp_off ;;
	haproxy) [[ -n $HAP_PID ]] && xdp_off ;;
	xdp-*) xdp_on ;;
	esac
}

# utime+stime of every process now in the namespaces NS...: processes that
# live through the run (nginx, haproxy), not the ones that come and go.
ns_ticks() {
	local ns p t s=0
	for ns in "$@"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			t=$(cat /proc/"$p"/stat 2>/dev/null) || continue
			t=${t##*) }
			s=$((s + $(awk '{print $12 + $13}' <<<"$t")))
		done
	done
	echo $s
}
BE_NSES=()

cps_run() { # ROW RUN
	local row=$1 run=$2 out="$TMP/wrk-$1-$2.txt" cps p99 errs m0 m1 a0 a1 f0 fpct us busy lbd=
	local b0 b1 p0 p1 w0 w1 wrk_s split c_wrk c_nginx c_proxy c_kernel
	if ! cps_ready "$row"; then
		add "$row" cps NA
		return
	fi
	[[ $row == xdp-* ]] && lb_stats >"$TMP/lbs0"
	f0=$(foreign_ticks) a0=$(all_ticks) m0=$(machine_ticks)
	b0=$(ns_ticks "${BE_NSES[@]}") p0=$(ns_ticks "$NS_LB") w0=$(date +%s.%N)
	# wrk wants an fd per connection; 'times' gives its CPU time (the shell's
	# children's user and system time, last line of the output).
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout -k 2 $((SECS + 20)) ip netns exec "$NS_CLI" bash -c \
		'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; wrk "$@"; rc=$?; times; exit $rc' wrk \
		-t1 -c"$CONNS" -d"${SECS}s" --timeout 2s --latency -H "Connection: close" "$(cps_url "$row")" \
		>"$out" 2>&1
	m1=$(machine_ticks) a1=$(all_ticks)
	b1=$(ns_ticks "${BE_NSES[@]}") p1=$(ns_ticks "$NS_LB") w1=$(date +%s.%N)
	wrk_s=$(tail -n1 "$out" | awk '/^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ {
		split($1, u, /[ms]/); split($2, y, /[ms]/); print u[1] * 60 + u[2] + y[1] * 60 + y[2] }')
	# CPU of each party in % of one core: wrk, nginx (all backends), the LB
	# namespace's processes (HAProxy), and the rest of the machine's busy
	# time (kernel: softirq, NAPI threads; other people's processes).
	split=$(awk -v w="${wrk_s:-NA}" -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v m=$((m1 - m0)) \
		-v hz="$HZ" -v s="$w0" -v e="$w1" 'BEGIN { el = e - s; if (el <= 0 || w == "NA") { print "NA NA NA NA"; exit }
		ww = 100 * w / el; bb = 100 * b / hz / el; pp = 100 * p / hz / el; mm = 100 * m / hz / el
		k = mm - ww - bb - pp; if (k < 0) k = 0
		printf "%.0f %.0f %.0f %.0f\n", ww, bb, pp, k }')
	fpct=$(foreign_pct "$f0" "$a0")
	if [[ $row == xdp-* ]]; then
		lb_stats >"$TMP/lbs1"
		lbd=$(lb_delta "$TMP/lbs0" "$TMP/lbs1")
	fi
	wrk_result "$out" "cps $row run $run"
	cps=$WRK_RPS p99=$WRK_P99 errs=$WRK_ERRS
	us=NA
	[[ $cps != NA ]] && us=$(per_unit_us $((m1 - m0)) "${WRK_REQS:-NA}")
	busy=$(awk -v b=$((m1 - m0)) -v a=$((a1 - a0)) 'BEGIN { printf "%.0f\n", (a > 0 ? 100 * b / a : 0) }')
	if [[ $row == xdp-* && $cps != NA ]] && ! grep -qE '(^| )(redirect|tx)=' <<<"$lbd"; then
		log "cps $row run $run: the LB forwarded nothing ($lbd); discarded"
		cps=NA
	fi
	add "$row" cps "$cps"
	add "$row" p99 "$p99"
	add "$row" us "$us"
	add "$row" busy "$busy"
	add "$row" foreign "$fpct"
	read -r c_wrk c_nginx c_proxy c_kernel <<<"$split"
	add "$row" cpu_wrk "$c_wrk"
	add "$row" cpu_nginx "$c_nginx"
	add "$row" cpu_proxy "$c_proxy"
	add "$row" cpu_kernel "$c_kernel"
	[[ -n $errs ]] && NOTE[$row.errs]+="run $run: $errs; "
	[[ -n $lbd ]] && grep -q 'drop' <<<"$lbd" && NOTE[$row.drops]+="run $run: $(grep -o 'drop[^ ]*' <<<"$lbd" | tr '\n' ' ')"
	raw "$(printf 'cps %-8s run %d: %8s conn/s p99=%sms machine_us/conn=%s machine_busy=%s%% %%core wrk/nginx/proxy/kernel=%s/%s/%s/%s foreign_cpu=%s%%%s %s%s' \
		"$row" "$run" "$cps" "$p99" "$us" "$busy" "$c_wrk" "$c_nginx" "$c_proxy" "$c_kernel" "$fpct" "$(crowded "$fpct")" "$errs" \
		"${lbd:+ lb: $lbd}")"
}

# ---------------------------------------------------------------- part 3: UDP packets/s
PPS_ROWS=(p-direct nft p-xdp-nat p-xdp-dsr)
GEN_CPU=0
LB_CPU=$((NCPU - 1))
pps_dst() {
	case $1 in
	p-direct) echo "198.18.51.2:$UDP_PORT" ;;
	nft) echo "$VIP_NFT:$UDP_PORT" ;;
	p-xdp-nat) echo "$VIP_NAT:$UDP_PORT" ;;
	p-xdp-dsr) echo "$VIP_DSR:$UDP_PORT" ;;
	esac
}

start_sinks() {
	local i
	for ((i = 1; i <= NB; i++)); do
		bg "$NSP-be$i" "$TMP/sink-be$i.log" "$XDPGEN" sink lb0
		for _ in $(seq 50); do grep -q attached "$TMP/sink-be$i.log" 2>/dev/null && break; sleep 0.05; done
		grep -q attached "$TMP/sink-be$i.log" || return 1
	done
}
# Packets the backends' XDP programs have seen, all of them.
sink_count() {
	local i s=0 n
	for ((i = 1; i <= NB; i++)); do
		n=$(ip netns exec "$NSP-be$i" ethtool -S lb0 2>/dev/null |
			awk '/rx_queue_[0-9]+_xdp_packets:/ { s += $2 } END { print s + 0 }')
		s=$((s + n))
	done
	echo $s
}
# Run the LB namespace's receive work on LB_CPU: its NAPI thread, found by
# name (the interface name is unique to this run). Re-done every run: an
# XDP attach or detach may recreate it.
pin_napi() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		[[ $c == "napi/$IF_LBC-"* || $c == "napi/$IF_LBC" ]] || continue
		taskset -pc "$LB_CPU" "${p#/proc/}" >/dev/null 2>&1 && return 0
	done
	return 1
}

pps_run() { # ROW RUN
	local row=$1 run=$2 out="$TMP/gen-$1-$2.txt" c0 c1 t0 t1 l0 l1 pps offered lbbusy nspp f0 a0 fpct gpid lbd=
	case $row in
	p-direct) xdp_off ;;
	nft) { xdp_off && [[ $NFT_OK == 1 ]] && nft_add; } || { add "$row" pps NA; return; } ;;
	p-xdp-*) xdp_on || { add "$row" pps NA; return; } ;;
	esac
	if [[ $NCPU -gt 1 ]] && ! pin_napi; then
		log "pps $row run $run: no NAPI thread for $IF_LBC to pin"
	fi
	[[ $row == p-xdp-* ]] && lb_stats >"$TMP/lbs0"
	local -a pin=()
	[[ $NCPU -gt 1 ]] && pin=(taskset -c "$GEN_CPU")
	bg "$NS_CLI" "$out" timeout -k 2 $((PPS_SECS + 15)) "${pin[@]}" "$XDPGEN" udp lb0 \
		--dst-mac "$LBC_MAC" --src "$CLI_IP:$GEN_SPORT" --dst "$(pps_dst "$row")" \
		--size $FRAME --seconds $((PPS_SECS + 2))
	gpid=$LASTPID
	sleep 1
	f0=$(foreign_ticks) a0=$(all_ticks)
	c0=$(sink_count) t0=$(date +%s.%N) l0=$(cpu_ticks "$LB_CPU")
	sleep "$PPS_SECS"
	c1=$(sink_count) t1=$(date +%s.%N) l1=$(cpu_ticks "$LB_CPU")
	fpct=$(foreign_pct "$f0" "$a0")
	wait "$gpid" 2>/dev/null
	[[ $row == nft ]] && nft_del
	if [[ $row == p-xdp-* ]]; then
		lb_stats >"$TMP/lbs1"
		lbd=$(lb_delta "$TMP/lbs0" "$TMP/lbs1")
	fi
	pps=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { if (e > s) printf "%.0f\n", (b - a) / (e - s); else print "NA" }')
	offered=$(awk '/^sent / { print $6 }' "$out")
	[[ -n $offered ]] || { offered=NA; pps=NA; log "pps $row run $run: generator failed: $(tail -n2 "$out" | tr '\n' ' ')"; }
	lbbusy=$(awk -v a="$l0" -v b="$l1" 'BEGIN { split(a, x, " "); split(b, y, " ")
		d = y[2] - x[2]; printf "%.0f\n", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }')
	# The LB core's busy time per packet received: what a packet costs there,
	# whether or not the core was kept busy all the time.
	nspp=$(awk -v a="$l0" -v b="$l1" -v n=$((c1 - c0)) -v hz="$HZ" 'BEGIN { split(a, x, " "); split(b, y, " ")
		if (n > 0) printf "%.0f\n", (y[1] - x[1]) / hz * 1e9 / n; else print "NA" }')
	if [[ $row == p-xdp-* && $pps != NA ]] && ! grep -qE '(^| )(redirect|tx)=' <<<"$lbd"; then
		log "pps $row run $run: the LB forwarded nothing ($lbd); discarded"
		pps=NA
	fi
	add "$row" pps "$pps"
	add "$row" offered "$offered"
	add "$row" lbbusy "$lbbusy"
	[[ $pps == NA ]] && nspp=NA
	add "$row" nspp "$nspp"
	add "$row" foreign "$fpct"
	[[ -n $lbd ]] && grep -q 'drop' <<<"$lbd" && NOTE[$row.drops]+="run $run: $(grep -o 'drop[^ ]*' <<<"$lbd" | tr '\n' ' ')"
	raw "$(printf 'pps %-9s run %d: %9s pps received, offered %s pps, LB cpu%d busy %s%% = %s ns/packet, foreign_cpu=%s%%%s%s' \
		"$row" "$run" "$pps" "$offered" "$LB_CPU" "$lbbusy" "$nspp" "$fpct" "$(crowded "$fpct")" "${lbd:+ lb: $lbd}")"
}

# ---------------------------------------------------------------- main
NR_CPS=${#CPS_ROWS[@]} NR_PPS=${#PPS_ROWS[@]}
EST=30
part ns && EST=$((EST + (QUICK == 1 ? 15 : 200)))
part cps && EST=$((EST + NR_CPS * RUNS * (SECS + 2)))
part pps && EST=$((EST + NR_PPS * PPS_RUNS * (PPS_SECS + 4)))
BENCH_TIMEOUT=${BENCH_TIMEOUT:-$((EST * 2 + 120 + ${BENCH_IDLE_WAIT:-30}))}
watchdog "$BENCH_TIMEOUT"

log "parts: $PARTS; $RUNS run(s) of wrk ${SECS}s, $PPS_RUNS of pps ${PPS_SECS}s; about $((EST / 60 + 1)) min; bound ${BENCH_TIMEOUT}s"
wait_idle
VERSION=$(xdproxy_version "$XDPROXY")
OUR_NS_INODES=

part ns && ns_part

if part cps || part pps; then
	setup_net
	OUR_NS_INODES=$(stat -L -c %i "${NSES[@]/#//run/netns/}" | paste -sd' ' -)
	NETSET=$(net_settings)
	write_lb_cfg
	mkdir -p "$PIN"
	xdp_on && xdp_off
	command -v nft >/dev/null || { NFT_OK=0 NOTE[nft]="nft not installed"; }
fi

if part cps; then
	HTTP_OK=1
	if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
		HTTP_OK=0 CPS_NOTE="nginx or wrk not installed"
	else
		for ((i = 1; i <= NB; i++)); do
			start_nginx "$i" || { HTTP_OK=0 CPS_NOTE="nginx did not start on be$i (see logs-lb/nginx-be$i/)"; }
		done
	fi
	if command -v haproxy >/dev/null; then start_haproxy; else NOTE[haproxy]="haproxy not installed"; fi
	if [[ $HTTP_OK == 1 ]]; then
		for ((run = 1; run <= RUNS; run++)); do
			for row in "${CPS_ROWS[@]}"; do cps_run "$row" "$run"; done
		done
	else
		log "TCP connections skipped: $CPS_NOTE"
	fi
	[[ -n $HAP_PID ]] && stop "$HAP_PID"
	# nginx stays: the sinks below take the backends' traffic from here on.
fi

if part pps; then
	xdp_off
	if ! start_sinks; then
		PPS_NOTE="xdpgen sink did not attach (see logs-lb/sink-be*.log)"
		log "$PPS_NOTE"
	else
		for ((run = 1; run <= PPS_RUNS; run++)); do
			for row in "${PPS_ROWS[@]}"; do pps_run "$row" "$run"; done
		done
	fi
fi
xdp_off >/dev/null 2>&1
IDLE1=$(idle_busy_pct)

# ---------------------------------------------------------------- report
declare -A M=()
for row in "${CPS_ROWS[@]}"; do
	for k in cps p99 us busy cpu_wrk cpu_nginx cpu_proxy cpu_kernel; do
		# shellcheck disable=SC2086
		M[$row.$k]=$(median ${R[$row.$k]:-})
	done
done
for row in "${PPS_ROWS[@]}"; do
	for k in pps offered lbbusy nspp; do
		# shellcheck disable=SC2086
		M[$row.$k]=$(median ${R[$row.$k]:-})
	done
done
[[ $XDP_OK == 1 ]] || for row in xdp-nat xdp-dsr p-xdp-nat p-xdp-dsr; do NOTE[$row]=$XDP_NOTE; done
ns_ok() { awk -v x="$1" -v g=$GOAL_NS 'BEGIN { if (x !~ /^[0-9.]+$/) print "-"; else print (x <= g ? "PASS" : "MISS") }'; }
NS_PASS=0
for r in "${NS_ROWS[@]}"; do
	IFS='|' read -r _ _ x _ <<<"$r"
	[[ $(ns_ok "$x") == PASS ]] && NS_PASS=$((NS_PASS + 1))
done
NS_TOTAL=${#NS_ROWS[@]}

section() {
	echo "XDP load balancer benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $NCPU CPUs  xdproxy $VERSION"
	echo "medians of $RUNS run(s) (pps: $PPS_RUNS); backends behind every VIP and HAProxy: $NB"
	if part ns; then
		echo
		echo "1. ns per packet, BPF_PROG_TEST_RUN (test_xdp_lb --bench, ${REPEAT:-1000000} repeats), steady state;"
		echo "   floor = a program that returns XDP_DROP: $(f "$NS_FLOOR" 1) ns; goal: every path <= ${GOAL_NS}x the floor"
		printf '%-64s %7s %7s %-8s %s\n' fixture ns/pkt x-floor verdict goal
		printf '%s\n' "$(printf '%.0s-' {1..96})"
		for r in "${NS_ROWS[@]}"; do
			IFS='|' read -r d ns x v <<<"$r"
			printf '%-64s %7s %7s %-8s %s\n' "$d" "$(f "$ns" 1)" "$(f "$x" 2)" "$v" "$(ns_ok "$x")"
		done
		echo "paths within ${GOAL_NS}x the floor: $NS_PASS of $NS_TOTAL$([[ $QUICK == 1 ]] && echo " (quick run: a few fixtures only)")"
		[[ -n $NS_NOTE ]] && echo "note: $NS_NOTE"
	fi
	if part cps; then
		echo
		echo "2. new TCP connections per second: wrk -t1 -c$CONNS -H 'Connection: close', ${SECS}s, 100-byte file"
		echo "   from nginx (1 worker per backend): each request is one connection (SYN to FIN)"
		printf '%-20s %8s %7s %7s %8s %8s %6s %-17s %7s %7s %s\n' path conn/s spread% p99-ms us/conn "+us/conn" busy% \
			"%core w/n/p/k" "vs HAP" "vs dir" "goal >= ${GOAL_CPS}x HAProxy"
		printf '%s\n' "$(printf '%.0s-' {1..118})"
		for row in "${CPS_ROWS[@]}"; do
			local rh rd g='' extra=NA
			rh=$(ratio "${M[$row.cps]}" "${M[haproxy.cps]}")
			rd=$(ratio "${M[$row.cps]}" "${M[direct.cps]}")
			[[ $row == xdp-* ]] && g=$(verdict "$rh" $GOAL_CPS)
			[[ ${M[$row.us]} != NA && ${M[direct.us]} != NA ]] &&
				extra=$(awk -v a="${M[$row.us]}" -v b="${M[direct.us]}" 'BEGIN { printf "%+.1f\n", a - b }')
			[[ $row == direct ]] && extra=-
			# shellcheck disable=SC2086
			printf '%-20s %8s %7s %7s %8s %8s %6s %-17s %7s %7s %s\n' "${LABEL[$row]}" "$(f "${M[$row.cps]}" 0)" \
				"$(spread ${R[$row.cps]:-})" "$(f "${M[$row.p99]}" 2)" "$(f "${M[$row.us]}" 1)" "$extra" "$(f "${M[$row.busy]}" 0)" \
				"$(f "${M[$row.cpu_wrk]}" 0)/$(f "${M[$row.cpu_nginx]}" 0)/$(f "${M[$row.cpu_proxy]}" 0)/$(f "${M[$row.cpu_kernel]}" 0)" \
				"$(f "$rh" 2)" "$(f "$rd" 2)" "$g"
		done
		echo "us/conn   CPU time of the whole machine (all cores) per connection; +us/conn: more than direct,"
		echo "          i.e. what the LB costs per connection, everything included (noise: a few us)"
		echo "spread%   (max - min) / median of the runs"
		echo "busy%     the whole machine's CPU use during the run"
		echo "%core     CPU of wrk / nginx (all backends) / the LB ns's processes (HAProxy) / the rest"
		echo "          (kernel: softirq, NAPI threads, the XDP program; and other load), % of one core"
		echo "bound     client, LB and backends share this machine's $NCPU cores: a row is bounded by"
		echo "          the machine (wrk and nginx are single-threaded: near 100% of a core each means they"
		echo "          are the limit), not by the LB alone. An LB that cost nothing would reach 'direct',"
		echo "          so on this machine no LB can show more than direct/HAProxy = $(f "$(ratio "${M[direct.cps]}" "${M[haproxy.cps]}")" 2)x HAProxy"
		echo "direct    client -> backend address through the LB ns by kernel forwarding, no LB"
		[[ -n ${CPS_NOTE:-} ]] && echo "note: TCP connections skipped: $CPS_NOTE"
		for row in "${CPS_ROWS[@]}"; do
			[[ -n ${NOTE[$row]:-} ]] && echo "note: ${LABEL[$row]}: ${NOTE[$row]}"
			[[ -n ${NOTE[$row.errs]:-} ]] && echo "note: ${LABEL[$row]}: wrk errors: ${NOTE[$row.errs]}"
			[[ -n ${NOTE[$row.drops]:-} ]] && echo "note: ${LABEL[$row]}: LB drops: ${NOTE[$row.drops]}"
		done
		if [[ ${NOTE[xdp-nat.drops]:-} == *nat_ports* ]]; then
			echo "      drop_nat_ports: SYNs dropped because all LB_NAT_PORT_TRIES probed NAT ports were taken."
			echo "      NAT reservations (lb_nat_rev) are only ever added, never freed, and the probes are a"
			echo "      function of the flow, so such a flow fails again on every retransmission: each drop"
			echo "      stalls a connection >= 1 s, and the share grows with the distinct flows seen"
		fi
	fi
	if part pps; then
		echo
		echo "3. UDP packets per second, one flow of $FRAME-byte frames, counted at the backends over ${PPS_SECS}s,"
		echo "   medians of $PPS_RUNS runs"
		printf '%-20s %9s %7s %10s %8s %8s %7s %7s %s\n' path pps spread% offered "LB-cpu%" "ns/pkt" "vs nft" "vs dir" \
			"goal >= ${GOAL_PPS}x nftables"
		printf '%s\n' "$(printf '%.0s-' {1..110})"
		for row in "${PPS_ROWS[@]}"; do
			local rn rd g=''
			rn=$(ratio "${M[$row.pps]}" "${M[nft.pps]}")
			rd=$(ratio "${M[$row.pps]}" "${M[p-direct.pps]}")
			[[ $row == p-xdp-* ]] && g=$(verdict "$rn" $GOAL_PPS)
			# shellcheck disable=SC2086
			printf '%-20s %9s %7s %10s %8s %8s %7s %7s %s\n' "${LABEL[$row]}" "$(f "${M[$row.pps]}" 0)" \
				"$(spread ${R[$row.pps]:-})" "$(f "${M[$row.offered]}" 0)" "$(f "${M[$row.lbbusy]}" 0)" \
				"$(f "${M[$row.nspp]}" 0)" "$(f "$rn" 2)" "$(f "$rd" 2)" "$g"
		done
		echo "generator xdpgen udp (BPF_PROG_RUN live frames, XDP_TX out of the client veth) on cpu$GEN_CPU;"
		echo "          offered: what it pushed (the excess is dropped at the LB veth's ring)"
		echo "spread%   (max - min) / median of the runs"
		echo "LB-cpu%   busy share of cpu$LB_CPU, where the LB ns's veth NAPI thread is pinned: all the"
		echo "          LB's per-packet work (XDP program, or stack + nftables + conntrack, and the"
		echo "          receiver's XDP_DROP) runs there. Below 100 although the offer is far above what"
		echo "          gets through: the thread sleeps whenever it empties the veth's 256-frame ring"
		echo "          before the generator's next burst lands, so the rows are bounded by that core"
		echo "          and by the hand-off between the two cores, alike for every row"
		echo "ns/pkt    cpu$LB_CPU busy time per packet received: the cost of a packet on the LB core"
		echo "receiver  an XDP_DROP program on each backend veth, counted by the veth (rx_queue_*_xdp_packets)"
		echo "nftables  prerouting dnat to the backend + postrouting snat to $NAT_SRC (conntrack), the table"
		echo "          present only during its row; the XDP LB detached for the kernel rows"
		[[ -n ${PPS_NOTE:-} ]] && echo "note: packets/s skipped: $PPS_NOTE"
		for row in "${PPS_ROWS[@]}"; do
			[[ -n ${NOTE[$row]:-} ]] && echo "note: ${LABEL[$row]}: ${NOTE[$row]}"
			[[ -n ${NOTE[$row.drops]:-} ]] && echo "note: ${LABEL[$row]}: LB drops: ${NOTE[$row.drops]}"
		done
	fi
	echo
	echo "machine busy with nothing of ours running: ${IDLE0}% before, ${IDLE1}% after"
	# The samples are taken before part 1 and after part 3; each run of
	# parts 2 and 3 has its own count (foreign_cpu, CROWDED) below.
	if awk -v a="$IDLE0" 'BEGIN { exit !(a > 10) }'; then
		echo "WARNING: other load on the machine when this run started: part 1 (ns/packet, run first) may be skewed"
	fi
	if awk -v b="$IDLE1" 'BEGIN { exit !(b > 10) }'; then
		echo "WARNING: other load on the machine when this run ended: the last runs may be skewed"
	fi
	# shellcheck disable=SC2086
	crowd=$(for k in "${!R[@]}"; do [[ $k == *.foreign ]] && printf '%s\n' ${R[$k]}; done |
		awk -v c=$CROWDED '/^[0-9.]+$/ { n++; if ($1 > c) k++; if ($1 > m) m = $1 } END { printf "%d of %d runs, worst %.0f%%", k, n, m }')
	echo "runs where other processes used >${CROWDED}% of the machine: $crowd (marked CROWDED below)"
	if [[ -n ${NETSET:-} ]]; then
		echo
		echo "interfaces (identical for all rows):"
		echo "$NETSET"
	fi
	echo
	echo "raw runs:"
	cat "$RAW"
}

# One object per part; null when the part was not run.
json_ns() {
	local n=0 r d ns x v
	part ns || { echo null; return; }
	echo "{"
	echo "      \"method\": \"test_xdp_lb --bench: BPF_PROG_TEST_RUN, steady state, median of 3\","
	echo "      \"repeat\": ${REPEAT:-1000000}, \"floor_ns\": $(jnum "$NS_FLOOR"), \"goal_max_x_floor\": $GOAL_NS,"
	echo "      \"within_goal\": $NS_PASS, \"note\": $([[ -n $NS_NOTE ]] && jstr "$NS_NOTE" || echo null), \"paths\": ["
	for r in "${NS_ROWS[@]}"; do
		n=$((n + 1))
		IFS='|' read -r d ns x v <<<"$r"
		echo "        {\"fixture\": $(jstr "$d"), \"ns\": $(jnum "$ns"), \"x_floor\": $(jnum "$x"), \"verdict\": $(jstr "$v"), \"goal_met\": $(jbool "$(ns_ok "$x")")}$([[ $n -lt ${#NS_ROWS[@]} ]] && echo ,)"
	done
	echo "      ]"
	echo "    }"
}
json_cps() {
	local n=0 row note
	part cps || { echo null; return; }
	echo "{"
	echo "      \"method\": \"wrk -t1 -c$CONNS -H 'Connection: close', 100-byte file from nginx; requests/s = new connections/s\","
	echo "      \"seconds\": $SECS, \"goal_min_x_haproxy\": $GOAL_CPS, \"note\": $([[ -n ${CPS_NOTE:-} ]] && jstr "$CPS_NOTE" || echo null), \"rows\": ["
	for row in "${CPS_ROWS[@]}"; do
		n=$((n + 1))
		note="${NOTE[$row]:-} ${NOTE[$row.errs]:-} ${NOTE[$row.drops]:-}"
		note=${note## } note=${note%% }
		# shellcheck disable=SC2086 # R[] values are space-separated lists
		cat <<-EOF
		        {"id": "$row", "label": $(jstr "${LABEL[$row]}"), "note": $([[ -n ${note// /} ]] && jstr "$note" || echo null),
		         "cps": $(jnum "${M[$row.cps]}"), "cps_runs": $(jarr ${R[$row.cps]:-}), "p99_ms": $(jnum "${M[$row.p99]}"),
		         "machine_cpu_us_per_conn": $(jnum "${M[$row.us]}"), "machine_busy_pct": $(jnum "${M[$row.busy]}"),
		         "cpu_pct_of_core": {"wrk": $(jnum "${M[$row.cpu_wrk]}"), "nginx": $(jnum "${M[$row.cpu_nginx]}"), "lb_processes": $(jnum "${M[$row.cpu_proxy]}"), "kernel_and_rest": $(jnum "${M[$row.cpu_kernel]}")},
		         "foreign_cpu_pct_runs": $(jarr ${R[$row.foreign]:-}),
		         "ratio_haproxy": $(jnum "$(ratio "${M[$row.cps]}" "${M[haproxy.cps]}")"), "ratio_direct": $(jnum "$(ratio "${M[$row.cps]}" "${M[direct.cps]}")"),
		         "goal_met": $([[ $row == xdp-* ]] && jbool "$(verdict "$(ratio "${M[$row.cps]}" "${M[haproxy.cps]}")" $GOAL_CPS)" || echo null)}$([[ $n -lt ${#CPS_ROWS[@]} ]] && echo ,)
		EOF
	done
	echo "      ]"
	echo "    }"
}
json_pps() {
	local n=0 row note
	part pps || { echo null; return; }
	echo "{"
	echo "      \"method\": \"xdpgen udp (BPF_PROG_RUN live frames) on cpu$GEN_CPU, one flow; LB ns NAPI thread on cpu$LB_CPU; counted by the backends' XDP_DROP programs\","
	echo "      \"seconds\": $PPS_SECS, \"runs\": $PPS_RUNS, \"frame_bytes\": $FRAME, \"goal_min_x_nft\": $GOAL_PPS, \"note\": $([[ -n ${PPS_NOTE:-} ]] && jstr "$PPS_NOTE" || echo null), \"rows\": ["
	for row in "${PPS_ROWS[@]}"; do
		n=$((n + 1))
		note="${NOTE[$row]:-} ${NOTE[$row.drops]:-}"
		note=${note## } note=${note%% }
		# shellcheck disable=SC2086 # R[] values are space-separated lists
		cat <<-EOF
		        {"id": "$row", "label": $(jstr "${LABEL[$row]}"), "note": $([[ -n ${note// /} ]] && jstr "$note" || echo null),
		         "pps": $(jnum "${M[$row.pps]}"), "pps_runs": $(jarr ${R[$row.pps]:-}), "offered_pps": $(jnum "${M[$row.offered]}"),
		         "lb_cpu_busy_pct": $(jnum "${M[$row.lbbusy]}"), "lb_cpu_ns_per_packet": $(jnum "${M[$row.nspp]}"), "foreign_cpu_pct_runs": $(jarr ${R[$row.foreign]:-}),
		         "ratio_nft": $(jnum "$(ratio "${M[$row.pps]}" "${M[nft.pps]}")"), "ratio_direct": $(jnum "$(ratio "${M[$row.pps]}" "${M[p-direct.pps]}")"),
		         "goal_met": $([[ $row == p-xdp-* ]] && jbool "$(verdict "$(ratio "${M[$row.pps]}" "${M[nft.pps]}")" $GOAL_PPS)" || echo null)}$([[ $n -lt ${#PPS_ROWS[@]} ]] && echo ,)
		EOF
	done
	echo "      ]"
	echo "    }"
}
json_section() {
	echo "  \"xdp_lb\": {"
	echo "    \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"), \"kernel\": $(jstr "$(uname -r)"), \"cpus\": $NCPU,"
	echo "    \"xdproxy\": $(jstr "$VERSION"), \"runs\": $RUNS, \"backends\": $NB, \"quick\": $([[ $QUICK == 1 ]] && echo true || echo false),"
	echo "    \"idle_busy_pct\": [$IDLE0, $IDLE1],"
	echo "    \"ns_per_packet\": $(json_ns),"
	echo "    \"tcp_connections\": $(json_cps),"
	echo "    \"udp_pps\": $(json_pps)"
	echo "  }"
}

# results.txt and results.json: this suite's section and key replaced, the
# other suites' kept.
TXT="$OUT/results.txt" JSON="$OUT/results.json"
mkdir -p "$TMP/report"
SECTION="$TMP/report/section.txt"
section >"$SECTION"
json_section >"$TMP/report/section.json"
results_merge "XDP load balancer benchmark" xdp_lb "$SECTION" "$TMP/report/section.json"

echo
sed -n '1,/^raw runs:/p' "$SECTION" | sed '$d'
rm -rf "$TMP/report" "$TMP/lbs0" "$TMP/lbs1" "$TMP/lb-configured"
echo "results: $TXT $JSON (logs: $OUT/logs-lb/)"
