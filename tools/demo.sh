#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# make demo: a throwaway topology in network namespaces -
#
#   [client] 198.18.1.2 --veth-- 198.18.1.1 [xdproxy] 198.18.1x.1 --veth-- 198.18.1x.2 [origin x]  (x = 1..3)
#
# xdproxy runs the embedded default config (listener 198.18.1.1:8080, kernel
# splice, three origins weighted 1:1:2), clients send traffic, and the
# per-backend counters are printed live until Ctrl-C or DEMO_SECS pass.
# Only 198.18.0.0/15 (RFC 2544 benchmarking range) inside its own
# namespaces; everything is removed on exit, even on failure.
set -u
BUILD=${BUILD:-build}
DEMO_SECS=${DEMO_SECS:-10}
X=$BUILD/xdproxy
TCPKIT=$BUILD/tests/tools/tcpkit
P="xdpdemo$$"
TMP=$(mktemp -d /tmp/xdpdemo.XXXXXX)
PIDS=()

cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for n in client proxy o1 o2 o3; do
		ip netns pids "$P-$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$P-$n" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopped"; exit 0' INT TERM

die() { echo "demo: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (namespaces and BPF)"
[[ -x $X && -x $TCPKIT ]] || die "build first: make $X $TCPKIT"

link() { # nsA nsB ipA ipB
	local a="$P-$1" b="$P-$2" ia="d$1$2" ib="d$2$1"
	ip link add "$ia" netns "$a" type veth peer name "$ib" netns "$b" || die "veth $1-$2"
	ip -n "$a" addr add "$3" dev "$ia"
	ip -n "$b" addr add "$4" dev "$ib"
	ip -n "$a" link set "$ia" up
	ip -n "$b" link set "$ib" up
}

echo "demo: building the topology"
for n in client proxy o1 o2 o3; do
	ip netns add "$P-$n" || die "netns $n"
	ip -n "$P-$n" link set lo up
done
link client proxy 198.18.1.2/24 198.18.1.1/24
for i in 1 2 3; do
	link proxy "o$i" "198.18.1$i.1/24" "198.18.1$i.2/24"
	# Each origin echoes what it receives.
	ip netns exec "$P-o$i" "$TCPKIT" server -l "198.18.1$i.2:8000" --echo \
		--timeout $((DEMO_SECS + 60)) >/dev/null 2>"$TMP/o$i.log" &
	PIDS+=($!)
done

echo "demo: starting xdproxy with the embedded default config (xdproxy run -c -)"
ip netns exec "$P-proxy" "$X" run -c - >"$TMP/proxy.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	grep -q ' ready' "$TMP/proxy.log" && break
	kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$TMP/proxy.log"; die "xdproxy exited"; }
	sleep 0.05
done
grep -q ' ready' "$TMP/proxy.log" || { cat "$TMP/proxy.log"; die "xdproxy not ready"; }
sed -n 's/.*\(listener .*\)/  \1/p; s/.*\(ready.*\)/  \1/p' "$TMP/proxy.log"

echo "demo: clients: 20 parallel connections, each sends 8 MiB at 8 MiB/s and checks the echo"
(
	while :; do
		ip netns exec "$P-client" "$TCPKIT" client -c 198.18.1.1:8080 --conns 20 --parallel 20 \
			--send 8M --rate 8M --seed 9 --expect 8M --expect-seed 9 --timeout 30 \
			>>"$TMP/client.log" 2>&1
	done
) &
PIDS+=($!)

# Live view: the proxy logs a stats block every second.
end=$((SECONDS + DEMO_SECS))
printf '\n%-20s %8s %7s %12s %12s %12s\n' backend conns active "to backend" "to client" "in kernel"
while ((SECONDS < end)); do
	sleep 1
	grep 'stats backend' "$TMP/proxy.log" | tail -3 | while read -r line; do
		addr=$(sed -n 's/.* addr=\([^ ]*\).*/\1/p' <<<"$line")
		conns=$(sed -n 's/.* conns=\([0-9]*\).*/\1/p' <<<"$line")
		active=$(sed -n 's/.* active=\([0-9]*\).*/\1/p' <<<"$line")
		c2b=$(sed -n 's/.* bytes_c2b=\([0-9]*\).*/\1/p' <<<"$line")
		b2c=$(sed -n 's/.* bytes_b2c=\([0-9]*\).*/\1/p' <<<"$line")
		k=$(sed -n 's/.* kernel_bytes=\([0-9]*\).*/\1/p' <<<"$line")
		printf '%-20s %8s %7s %10s MB %9s MB %9s MB\n' "$addr" "$conns" "$active" \
			$((c2b / 1000000)) $((b2c / 1000000)) $((k / 1000000))
	done
	grep 'stats accepted' "$TMP/proxy.log" | tail -1 | sed 's/.*stats /  totals: /'
	echo
done
ok=$(grep -c '^ok' "$TMP/client.log" 2>/dev/null || true)
bad=$(grep -c '^FAIL' "$TMP/client.log" 2>/dev/null || true)
echo "demo: client batches ok=$ok failed=$bad (20 connections each); weights 1:1:2 show in 'conns'"
echo "demo: done, tearing down"
[[ ${bad:-0} -eq 0 ]]
