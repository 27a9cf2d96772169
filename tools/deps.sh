#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Install the Debian packages that building, testing, the demo and the
# benchmarks need. Idempotent and fast when everything is present: it asks
# dpkg first and runs `apt-get update` at most once, only when something is
# missing.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm bpftool libbpf-dev libxdp-dev linux-libc-dev
	libyaml-dev libssl-dev libjansson-dev libc-ares-dev libidn2-dev libcrypt-dev libnghttp2-dev libcmocka-dev pkg-config
	# libFuzzer for tests/fuzz: clang only recommends it, and we skip recommends
	libclang-rt-14-dev
	# tests and demo
	iproute2 iputils-ping ethtool procps python3 xdp-tools curl dnsmasq-base openssl tzdata
	# HTTP/2: h2load and nghttp (nghttp2-client), rule-breaking frames (python3-h2)
	nghttp2-client python3-h2
	# TLS checks: testssl.sh scans the TLS listener (tests/integration/test_testssl.sh)
	testssl.sh
	# benchmarks (peers measured in the same run); proxychains4 (or socat)
	# carries iperf3 through the forward proxies' CONNECT tunnels
	# (tools/bench_fwd.sh); h2load (nghttp2-client) loads HTTP/2 over TLS
	# (tools/bench_tls.sh)
	haproxy nginx-light iperf3 wrk nftables squid tinyproxy proxychains4 socat
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$st" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps package scripts from starting haproxy/nginx/squid/
# tinyproxy services that would sit on ports 80/443/3128/8888; the tests and
# benchmarks start their own, inside their namespaces.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.xdproxy
chmod +x /usr/sbin/policy-rc.d.xdproxy
had_policy=0
[[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
[[ $had_policy -eq 0 ]] && cp /usr/sbin/policy-rc.d.xdproxy /usr/sbin/policy-rc.d
rc=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
[[ $had_policy -eq 0 ]] && rm -f /usr/sbin/policy-rc.d
rm -f /usr/sbin/policy-rc.d.xdproxy
exit $rc
