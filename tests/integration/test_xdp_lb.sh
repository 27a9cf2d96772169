#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The XDP load balancer end to end: a client, the LB (native XDP on veth)
# and three backends running an HTTP server, in namespaces of this test.
# For each mode (dsr-l2, ipip, nat) and family: requests succeed and spread
# by weight; a drained backend keeps its connection and gets no new one; a
# removed backend gets none and its connection re-hashes (and breaks); then
# the CLI verbs, pinned state picked up again, and detach.
#
#   cl --- lb --- b1      client 198.18.10.2, LB 198.18.10.1 / 198.18.2N.1,
#           |---- b2      backend N 198.18.2N.2 (and 2001:db8:: twins);
#           `---- b3      VIPs 198.18.100.{1,2,3}:80 = dsr-l2, ipip, nat.
# Backends route everything back through the LB, whose kernel forwards DSR
# replies (its XDP program passes them); NAT uses the LB's 198.18.30.1.
# The CLI runs under 'nsenter --net' so all invocations share the host's
# bpffs ('ip netns exec' would give each a fresh one, KERNEL-NOTES XDP 4);
# its pins live in a directory of this test's own.
. "$(dirname "$0")/lib.sh"
t_require_root

PIN=/sys/fs/bpf/xdpt$$
LBHTTP="$(dirname "$0")/lb_http.py"
PY=$(command -v python3)
N_REQ=${N_REQ:-400}

lbcli() { nsenter --net="/run/netns/$T_PREFIX-lb" "$XDPROXY" "$@" --pin-path "$PIN"; }
cleanup_pins() { rm -rf "$PIN" "$PIN-cl"; t_cleanup; }
trap cleanup_pins EXIT

for n in cl lb b1 b2 b3; do ns_new $n >/dev/null || { fail "netns"; t_done; }; done
veth_link cl lb 198.18.10.2/24 198.18.10.1/24
ip -n "$T_PREFIX-cl" addr add 2001:db8:10::2/64 dev vcl-lb nodad
ip -n "$T_PREFIX-lb" addr add 2001:db8:10::1/64 dev vlb-cl nodad
ip -n "$T_PREFIX-cl" route add default via 198.18.10.1
ip -n "$T_PREFIX-cl" -6 route add default via 2001:db8:10::1
ip -n "$T_PREFIX-lb" addr add 198.18.30.1/32 dev lo
ip -n "$T_PREFIX-lb" addr add 2001:db8:30::1/128 dev lo
nsx lb sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for i in 1 2 3; do
	veth_link lb b$i 198.18.2$i.1/24 198.18.2$i.2/24
	ip -n "$T_PREFIX-lb" addr add 2001:db8:2$i::1/64 dev vlb-b$i nodad
	ip -n "$T_PREFIX-b$i" addr add 2001:db8:2$i::2/64 dev vb$i-lb nodad
	ip -n "$T_PREFIX-b$i" route add default via 198.18.2$i.1
	ip -n "$T_PREFIX-b$i" -6 route add default via 2001:db8:2$i::1
	# DSR and IPIP: the backend holds the VIPs on lo.
	for v in 198.18.100.1/32 198.18.100.2/32; do ip -n "$T_PREFIX-b$i" addr add $v dev lo; done
	for v in 2001:db8:100::1/128 2001:db8:100::2/128; do
		ip -n "$T_PREFIX-b$i" addr add $v dev lo nodad
	done
	nsx b$i sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	# KERNEL-NOTES XDP 1-2: receivers of XDP_TX/REDIRECT need GRO (or a
	# program), senders whose frames XDP rewrites need checksums in software.
	nsx b$i ethtool -K vb$i-lb tx off gro on >/dev/null
	nsx lb ethtool -K vlb-b$i tx off gro on >/dev/null
	bg b$i "$PY" "$LBHTTP" serve b$i 80
done
nsx cl ethtool -K vcl-lb tx off gro on >/dev/null
nsx lb ethtool -K vlb-cl tx off gro on >/dev/null
for i in 1 2 3; do wait_port b$i 0.0.0.0 80 || fail "backend b$i listens"; done

# The config: every mode in both families, backends weighted 1, 1, 2.
CFG=$T_TMP/lb.yaml
{
	echo "lb:"
	echo "  vips:"
	for fam in 4 6; do
		for m in 1 2 3; do
			mode=(x dsr-l2 ipip nat)
			if [[ $fam == 4 ]]; then vip=198.18.100.$m src=198.18.30.1; else vip=2001:db8:100::$m src=2001:db8:30::1; fi
			echo "    - name: ${mode[$m]}-v$fam"
			echo "      address: $vip"
			echo "      port: 80"
			echo "      mode: ${mode[$m]}"
			[[ $m != 1 ]] && echo "      source: $src"
			echo "      backends:"
			for i in 1 2 3; do
				w=1; [[ $i == 3 ]] && w=2
				if [[ $fam == 4 ]]; then b=198.18.2$i.2; else b=2001:db8:2$i::2; fi
				echo "        - address: $b"
				echo "          weight: $w"
			done
		done
	done
} >"$CFG"

# hops_ok [SKIP_ADDR]: every ACTIVE real in lb_reals caches the next hop the
# LB's kernel would use: ifindex and MAC of vlb-bN, MAC of vbN-lb. A real
# whose address is SKIP_ADDR must have no cached hop instead (ifindex 0).
# Prints what differs.
hops_ok() {
	local i want=()
	for i in 1 2 3; do
		want+=("198.18.2$i.2=$(nsx lb cat /sys/class/net/vlb-b$i/ifindex),$(nsx b$i cat /sys/class/net/vb$i-lb/address),$(nsx lb cat /sys/class/net/vlb-b$i/address)")
		want+=("2001:db8:2$i::2=${want[-1]#*=}")
	done
	bpftool -j map dump pinned "$PIN/lb_reals" | "$PY" -c '
import json, socket, struct, sys
want = dict(w.split("=") for w in sys.argv[2:])
skip, bad, n = sys.argv[1], 0, 0
for e in json.load(sys.stdin):
    v = e.get("formatted", e)["value"]
    if not v["flags"] & 1:
        continue
    raw = struct.pack("=4I", *v["addr"])
    a = socket.inet_ntop(socket.AF_INET, raw[:4]) if v["family"] == 4 else socket.inet_ntop(socket.AF_INET6, raw)
    mac = lambda m: ":".join("%02x" % b for b in m)
    got = "%d,%s,%s" % (v["ifindex"], mac(v["dmac"]), mac(v["smac"]))
    exp = "0,00:00:00:00:00:00,00:00:00:00:00:00" if a == skip else want.get(a)
    n += 1
    if got != exp:
        bad += 1
        print("  real %s: cached %s, want %s" % (a, got, exp))
print("  %d active reals, %d with the wrong next hop" % (n, bad))
sys.exit(bad != 0 or n != 18)
' "${1:-none}" "${want[@]}"
}

# The kernel sends no neighbour solicitation while its link-local address
# is tentative (DAD, ~1-2 s after link up): wait for that, as on a host up
# for a while, so the next hops of v6 backends resolve as they are added
# (within the controller's 300 ms; otherwise only 'backend refresh' would
# cache them, and the datapath would use bpf_fib_lookup meanwhile).
for ((i = 0; i < 50; i++)); do
	[[ -z $(nsx lb ip -6 addr show tentative) ]] && break
	sleep 0.1
done
out=$(lbcli attach vlb-cl -c "$CFG" 2>&1)
if ! check "attach to vlb-cl with the config (native XDP on veth)" grep -q 'attached xdp_lb_ingress to vlb-cl (native' <<<"$out"; then
	echo "$out"; t_done
fi
check "attach says it fell back from libxdp's dispatcher" grep -q 'single program' <<<"$out"
# NAT replies come back on the backend links: the program runs there too.
for i in 1 2 3; do
	check "attach to vlb-b$i (pinned state reused)" quiet lbcli attach vlb-b$i
done
for i in 1 2 3; do nsx b$i "$XDPROXY" decap attach vb$i-lb >/dev/null || fail "decap attach on b$i"; done
check "every real caches its next hop (ifindex, MACs) from attach -c" hops_ok
check "decap status on b1" grep -q 'tc_decap_ingress attached' <<<"$(nsx b1 "$XDPROXY" decap status vb1-lb)"

out=$(bpftool map dump pinned "$PIN/lb_vips" 2>&1)
check "lb_vips pinned with BTF (bpftool shows named fields)" grep -q '"mode"' <<<"$out"

vip_url() { # MODE FAMILY
	local m=$1
	if [[ $2 == 4 ]]; then echo "http://198.18.100.$m/id"; else echo "http://[2001:db8:100::$m]/id"; fi
}
backend_addr() { # N FAMILY
	if [[ $2 == 4 ]]; then echo "198.18.2$1.2"; else echo "2001:db8:2$1::2"; fi
}
vip_arg() { if [[ $2 == 4 ]]; then echo "198.18.100.$1:80"; else echo "[2001:db8:100::$1]:80"; fi; }

# spread_ok NAME OUT TOTAL: all answered, weights 1:1:2 within 35 %. With
# 400 requests a backend's expected 100 has a standard deviation of 8.7, so
# 35 % is 4 of them: a false failure about once in 10^4 checks.
spread_ok() {
	local name=$1 out=$2 total=$3 c1 c2 c3 err
	c1=$(awk '$1=="b1"{print $2}' <<<"$out"); c2=$(awk '$1=="b2"{print $2}' <<<"$out")
	c3=$(awk '$1=="b3"{print $2}' <<<"$out"); err=$(awk '$1=="errors"{print $2}' <<<"$out")
	c1=${c1:-0} c2=${c2:-0} c3=${c3:-0}
	echo "  $name: b1=$c1 b2=$c2 b3=$c3 errors=${err:-?}"
	check "$name: $total requests, none failed" test "${err:-1}" -eq 0 -a $((c1 + c2 + c3)) -eq "$total"
	check "$name: spread by weight 1:1:2 (+-35 %)" awk -v a="$c1" -v b="$c2" -v c="$c3" -v n="$total" \
		'BEGIN { e = n / 4; exit !(a > e * 0.65 && a < e * 1.35 && b > e * 0.65 && b < e * 1.35 && c > 2 * e * 0.65 && c < 2 * e * 1.35) }'
}

# hold_start URL: a keep-alive connection in the background; sets HOLD_BE.
hold_start() {
	local i
	: >"$T_TMP/hold"
	bg cl "$PY" "$LBHTTP" hold "$1" 3 >"$T_TMP/hold"
	HOLD_PID=$T_LASTPID
	HOLD_BE=
	for ((i = 0; i < 60; i++)); do
		HOLD_BE=$(awk '$1=="backend"{print $2}' "$T_TMP/hold")
		[[ -n $HOLD_BE ]] && return 0
		grep -q broken "$T_TMP/hold" && break
		sleep 0.05
	done
	cat "$T_TMP/hold"
	return 1
}
# Not in $(...): a subshell cannot wait for this shell's children.
hold_wait() { wait "$HOLD_PID" 2>/dev/null; }

modes=(x dsr-l2 ipip nat)
for fam in 4 6; do
	for m in 1 2 3; do
		name="${modes[$m]} v$fam"
		url=$(vip_url $m $fam)
		spread_ok "$name" "$(nsx cl "$PY" "$LBHTTP" spread "$url" "$N_REQ")" "$N_REQ"

		# Drain: the held connection stays, new ones avoid the backend.
		if hold_start "$url"; then
			n=${HOLD_BE#b}
			baddr=$(backend_addr "$n" $fam)
			lbcli backend drain "$baddr" || fail "$name: backend drain $baddr"
			out=$(nsx cl "$PY" "$LBHTTP" spread "$url" 40)
			check "$name: no new connection to drained $HOLD_BE" \
				test -z "$(awk -v b="$HOLD_BE" '$1==b' <<<"$out")" -a "$(awk '$1=="errors"{print $2}' <<<"$out")" = 0
			hold_wait
			r=$(tr "\n" " " <"$T_TMP/hold")
			check "$name: connection to drained $HOLD_BE keeps going ($r)" grep -q "held [0-9]* $HOLD_BE" <<<"$r"
			lbcli backend drain "$baddr" --undo || fail "$name: undrain"
		else
			fail "$name: hold a connection"
		fi

		# Removal: new connections avoid it and its connection re-hashes.
		if hold_start "$url"; then
			n=${HOLD_BE#b}
			baddr=$(backend_addr "$n" $fam)
			w=1; [[ $n == 3 ]] && w=2
			lbcli backend del "$(vip_arg $m $fam)" "$baddr" || fail "$name: backend del"
			out=$(nsx cl "$PY" "$LBHTTP" spread "$url" 40)
			check "$name: no new connection to removed $HOLD_BE" \
				test -z "$(awk -v b="$HOLD_BE" '$1==b' <<<"$out")" -a "$(awk '$1=="errors"{print $2}' <<<"$out")" = 0
			hold_wait
			r=$(tr "\n" " " <"$T_TMP/hold")
			check "$name: connection to removed $HOLD_BE re-hashed away ($r)" grep -q "broken" <<<"$r"
			lbcli backend add "$(vip_arg $m $fam)" "$baddr" --weight $w || fail "$name: backend add back"
		else
			fail "$name: hold a connection"
		fi
	done
done

# NAT reservations follow their connections: every closed request shows up
# as closed (FIN both ways seen by XDP), so its port can be reused after
# the close timeout; none is left waiting for the real's answer.
out=$(lbcli stats)
closed=$(awk '$1=="nat_closed"{print $2}' <<<"$out")
unans=$(awk '$1=="nat_unanswered"{print $2}' <<<"$out")
check "NAT entries of closed connections are marked closed ($closed >= $((2 * N_REQ)))" \
	test "${closed:-0}" -ge $((2 * N_REQ))
check "no NAT entry left unanswered (${unans:-?})" test "${unans:-x}" = 0

# Without the backends' decap program the ipip VIPs stop answering: the
# outer header is really there.
for i in 1 2 3; do nsx b$i "$XDPROXY" decap detach vb$i-lb >/dev/null || fail "decap detach on b$i"; done
out=$(nsx cl "$PY" "$LBHTTP" spread "$(vip_url 2 4)" 2 2>/dev/null)
check "ipip v4 fails without decap on the backends" grep -q '^errors 2$' <<<"$out"
for i in 1 2 3; do nsx b$i "$XDPROXY" decap attach vb$i-lb >/dev/null || fail "decap attach on b$i"; done
out=$(nsx cl "$PY" "$LBHTTP" spread "$(vip_url 2 4)" 10)
check "ipip v4 answers again with decap back" grep -q '^errors 0$' <<<"$out"

# ICMP echo to a VIP is answered by the LB itself, with XDP_TX back out
# of vlb-cl. On this kernel a veth drops XDP_TX frames unless its peer runs
# an XDP program (GRO is not enough, unlike for redirects): give the client
# side an LB of its own with no VIPs, which passes everything.
check "client veth gets a pass-everything XDP program" \
	quiet nsenter --net="/run/netns/$T_PREFIX-cl" "$XDPROXY" attach vcl-lb --pin-path "$PIN-cl"
check "ping a VIP (answered by XDP)" quiet nsx cl ping -c 2 -i 0.2 -W 1 198.18.100.3
check "ping6 a VIP (answered by XDP)" quiet nsx cl ping -6 -c 2 -i 0.2 -W 1 2001:db8:100::3
quiet nsenter --net="/run/netns/$T_PREFIX-cl" "$XDPROXY" detach vcl-lb

# The next-hop cache: in sync after all the removals and re-adds above;
# refresh follows a neighbour change, clears a real that lost its route and
# fills it again when the route is back.
check "next hops still right after backends were removed and added back" hops_ok
out=$(lbcli backend refresh)
check "backend refresh: nothing to change ($out)" grep -q '^next hops refreshed: 0 changed$' <<<"$out"
nsx lb ip neigh replace 198.18.21.2 dev vlb-b1 lladdr 02:00:00:00:99:99 nud permanent
out=$(lbcli backend refresh)
check "backend refresh follows a neighbour change ($out)" grep -q '^next hops refreshed: 3 changed$' <<<"$out"
check "lb_reals holds the new MAC for b1's 3 reals" \
	test "$(bpftool -j map dump pinned "$PIN/lb_reals" | grep -o '"dmac":\[2,0,0,0,153,153\]' | wc -l)" -eq 3
nsx lb ip neigh del 198.18.21.2 dev vlb-b1
nsx lb ip route add unreachable 198.18.21.2/32
out=$(lbcli backend refresh)
check "backend refresh clears the hop of an unroutable real ($out)" grep -q '^next hops refreshed: 3 changed$' <<<"$out"
check "b1's v4 reals cache nothing, the rest is right" hops_ok 198.18.21.2
nsx lb ip route del unreachable 198.18.21.2/32
out=$(lbcli backend refresh)
check "backend refresh resolves it again by ARP ($out)" grep -q '^next hops refreshed: 3 changed$' <<<"$out"
check "every real caches its next hop again" hops_ok
spread_ok "after refresh (dsr-l2 v4)" "$(nsx cl "$PY" "$LBHTTP" spread "$(vip_url 1 4)" "$N_REQ")" "$N_REQ"

# CLI verbs on the live state.
out=$(lbcli vip list)
check "vip list shows the 6 VIPs" test "$(grep -c ':80 ' <<<"$out")" -eq 6
check "backend list shows 18 memberships" test "$(lbcli backend list | grep -c 'active')" -eq 18
out=$(lbcli stats)
check "stats count new connections and forwarded packets" \
	awk '$1=="conn_new" && $2>0 {a=1} ($1=="redirect"||$1=="tx") && $2>0 {b=1} END {exit !(a && b)}' <<<"$out"
check "status lists the 4 attached interfaces" test "$(lbcli status | grep -c xdp_lb_ingress)" -eq 4
check "vip add (nat, from the CLI)" lbcli vip add 198.18.100.9:80 --mode nat --source 198.18.30.1
check "backend add to it" lbcli backend add 198.18.100.9:80 198.18.22.2
out=$(nsx cl "$PY" "$LBHTTP" spread http://198.18.100.9/id 20)
check "the CLI-made VIP answers from its one backend" grep -q '^b2 20$' <<<"$out"
# Sixteen CLI processes at once: each takes the pin directory's lock, so
# none of their changes (ids, memberships, table rebuilds) is lost.
check "vip add for the concurrency check" lbcli vip add 198.18.100.8:80
pids=()
for i in $(seq 1 16); do lbcli backend add 198.18.100.8:80 "198.18.90.$i" >/dev/null 2>&1 & pids+=($!); done
okc=0
for p in "${pids[@]}"; do wait "$p" && okc=$((okc + 1)); done
n=$(lbcli backend list 198.18.100.8:80 | grep -o '198\.18\.90\.[0-9]*' | sort -u | wc -l)
check "16 concurrent backend adds: $okc succeeded, $n listed" test "$okc" = 16 -a "$n" = 16
check "vip del after the concurrency check" lbcli vip del 198.18.100.8:80
check "vip del" lbcli vip del 198.18.100.9:80
check "vip list no longer has it" test -z "$(lbcli vip list | grep 198.18.100.9)"
out=$(lbcli backend add 198.18.100.1:80 2001:db8:21::2 2>&1)
check "backend of another family is refused clearly" grep -q 'address family' <<<"$out"
out=$(lbcli vip add 198.18.100.5:80 --mode ipip 2>&1)
check "ipip without --source is refused clearly" grep -q 'need --source' <<<"$out"
out=$(lbcli vip add 198.18.100.6:80 --mode nat --source 198.18.100.1 2>&1)
check "a NAT source on a VIP address is refused clearly" grep -q 'NAT source cannot be a VIP address' <<<"$out"
out=$(lbcli vip add 198.18.30.1:80 2>&1)
check "a VIP on a NAT source address is refused clearly" grep -q 'NAT source cannot be a VIP address' <<<"$out"
out=$(lbcli vip add nonsense 2>&1); rc=$?
check "a bad VIP argument exits 2 with a message" test $rc -eq 2 -a -n "$(grep 'bad VIP' <<<"$out")"

# Detach everywhere: the VIPs stop, plain forwarding to the backends works;
# attaching again (no config) picks up the pinned state.
for i in cl b1 b2 b3; do lbcli detach vlb-$i >/dev/null || fail "detach vlb-$i"; done
check "no XDP program left on the LB" test -z "$(nsx lb ip -d link show | grep 'prog/xdp')"
out=$(nsx cl "$PY" "$LBHTTP" spread http://198.18.21.2/id 5)
check "after detach, plain forwarding to b1 works" grep -q '^b1 5$' <<<"$out"
for i in cl b1 b2 b3; do lbcli attach vlb-$i >/dev/null || fail "re-attach vlb-$i"; done
spread_ok "re-attached, pinned state (nat v4)" "$(nsx cl "$PY" "$LBHTTP" spread "$(vip_url 3 4)" "$N_REQ")" "$N_REQ"
for i in cl b1 b2 b3; do lbcli detach vlb-$i >/dev/null; done
for i in 1 2 3; do nsx b$i "$XDPROXY" decap detach vb$i-lb >/dev/null || fail "decap detach on b$i"; done
t_done
