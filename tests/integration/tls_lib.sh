# SPDX-License-Identifier: BSD-2-Clause
# TLS helpers of the integration tests; source after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/tls_lib.sh"
# Not a test itself (tests/run.sh runs test_*.sh only).
# shellcheck shell=bash

TLS_ORIGIN=$(dirname "${BASH_SOURCE[0]}")/http_origin.py

# tls_cert FILE ec|rsa SANS [DAYS [CN]]: a self-signed certificate and its
# key, $T_TMP/FILE.pem and $T_TMP/FILE.key; ECDSA on P-256 or RSA 2048;
# SANS as openssl's subjectAltName ("DNS:a.test,DNS:*.a.test"); valid
# DAYS (2) days; subject CN (FILE).
tls_cert() {
	local alg=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
	[[ $2 == rsa ]] && alg=(-newkey rsa:2048)
	openssl req -x509 "${alg[@]}" -nodes -days "${4:-2}" -subj "/CN=${5:-$1}" -addext "subjectAltName=$3" \
		-keyout "$T_TMP/$1.key" -out "$T_TMP/$1.pem" 2>/dev/null || fail "certificate $1"
}

# tls_proxy NS FILE[:default]...: the origin (http_origin.py serve on
# 127.0.0.13:8083, its log $T_TMP/origin.log) and xdproxy with one TLS
# listener, 127.0.0.1:8443 in front of it, serving the certificates
# $T_TMP/FILE.pem with $T_TMP/FILE.key (":default": marked the default).
# The config is $T_TMP/xdproxy.yaml, the log $T_TMP/proxy.log, the pid
# PROXY_PID. Says PASS or FAIL for the start; 1 if xdproxy did not start.
tls_proxy() {
	local ns=$1 c certs=
	shift
	bg "$ns" "${PYTHON:-python3}" "$TLS_ORIGIN" serve 127.0.0.13 8083 "$T_TMP/origin.log"
	wait_port "$ns" 127.0.0.13 8083 || fail "origin"
	for c in "$@"; do
		certs+=$(printf '\n        - cert: %s\n          key: %s' "$T_TMP/${c%:default}.pem" "$T_TMP/${c%:default}.key")
		[[ $c == *:default ]] && certs+=$'\n          default: true'
	done
	cat >"$T_TMP/xdproxy.yaml" <<-EOF
	global:
	  stats_interval: 0
	listeners:
	  - name: tls
	    bind: 127.0.0.1:8443
	    mode: http
	    pool: origin
	    tls:
	      certificates:$certs
	pools:
	  - name: origin
	    backends:
	      - address: 127.0.0.13:8083
	EOF
	if ! start_proxy "$ns" "$T_TMP/xdproxy.yaml"; then
		fail "xdproxy starts with a tls listener"
		cat "$T_TMP/proxy.log"
		return 1
	fi
	pass "xdproxy starts with a tls listener"
}

# tls_stop: stop xdproxy (SIGTERM), check it exits with 0.
tls_stop() {
	local rc
	kill "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null
	rc=$?
	check "xdproxy exits cleanly (rc $rc)" test "$rc" = 0
}
