#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Upstream TLS (a pool's tls block, issue #6 item 3): xdproxy in one
# namespace re-encrypts toward nginx HTTPS origins in another, whose
# certificates come from a CA made here. Verified by the sni and by the
# backend's address; a wrong CA, a name or address the certificate does not
# carry, a plain HTTP origin, one that never answers: 502, the reason
# logged, and not a byte of the request on the wire in clear (a socat tap
# records what the proxy sends); verify: false against a self-signed origin;
# a failed check moves to the next backend; keep-alive reuse of one TLS
# connection (nginx's $connection), session resumption per backend
# ($ssl_session_reused), an idle connection the origin closes dropped
# before use; PROXY protocol in clear before the handshake; a client
# certificate (mTLS); a large body up and down with TLS on both sides (and
# down to an HTTP/2 client); a WebSocket through a TLS pool, relayed in
# userspace; a missing CA file stops the start.
#   UPTLS_BIG=64M   size of the bodies checked by sha256
. "$(dirname "$0")/lib.sh"
t_require_root

UPTLS_BIG=${UPTLS_BIG:-64M}
ORIGIN=$(dirname "$0")/http_origin.py
PY=${PYTHON:-python3}
for c in nginx curl openssl socat; do
	command -v "$c" >/dev/null || { skip "$c not installed"; exit 77; }
done

ns_new px >/dev/null || { fail "netns"; t_done; }
ns_new org >/dev/null || { fail "netns"; t_done; }
veth_link px org 198.18.54.1/24 198.18.54.2/24 || { fail "veth"; t_done; }
ip -n "$T_PREFIX-org" addr add 198.18.54.3/24 dev vorg-px
ip -n "$T_PREFIX-org" addr add 198.18.54.4/24 dev vorg-px

# --- certificates: a CA of the test's own, another one, a self-signed origin ----
P=$T_TMP/pki
mkdir -p "$P"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
# ca NAME: a CA certificate and key in $P/NAME.{pem,key}
ca() {
	openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || fail "CA $1"
}
# leaf NAME CA EXTS: a certificate signed by CA, extensions as an -extfile's lines
leaf() {
	openssl req "${ec[@]}" -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" -CAcreateserial \
			-days 2 -out "$P/$1.pem" -extfile <(printf '%b\n' "$3") 2>/dev/null || fail "certificate $1"
}
ca test-ca
ca other-ca
leaf origin.test test-ca "subjectAltName=DNS:origin.test,IP:198.18.54.2\nextendedKeyUsage=serverAuth"
leaf proxy.test test-ca "subjectAltName=DNS:proxy.test\nextendedKeyUsage=serverAuth"
leaf xdproxy-client test-ca "extendedKeyUsage=clientAuth"
openssl req -x509 "${ec[@]}" -days 2 -subj /CN=self.test -addext subjectAltName=DNS:self.test \
	-keyout "$P/self.key" -out "$P/self.pem" 2>/dev/null || fail "self-signed certificate"

# --- origins: nginx (HTTPS), the raw origin behind socat's TLS, a recording tap ---
N=$T_TMP/ngx
mkdir -p "$N/www"
chmod 755 "$N/www"
echo "secure origin" >"$N/www/index.html"
head -c "$UPTLS_BIG" /dev/urandom >"$N/www/big"
chmod 644 "$N/www/"*
# srv LOG LISTEN LISTEN-FLAGS CERT [DIRECTIVES]: one server block, its own access log
srv() {
	printf '\tserver {\n\t\tlisten %s ssl%s;\n\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n' \
		"$2" "$3" "$P/$4.pem" "$P/$4.key"
	printf '\t\troot %s;\n\t\ttry_files $uri /index.html;\n\t\taccess_log %s t;\n%b\t}\n' \
		"$N/www" "$N/logs/$1.log" "${5:-}"
}
nginx_start org "$(
	echo "	log_format t '\$request_uri conn=\$connection reused=\$ssl_session_reused" \
		"sni=\$ssl_server_name pp=\$proxy_protocol_addr dn=\$ssl_client_s_dn';"
	srv main 198.18.54.2:443 "" origin.test
	srv self 198.18.54.3:443 "" self
	srv other 198.18.54.4:443 "" origin.test
	srv pp 198.18.54.2:8443 " proxy_protocol" origin.test
	srv mtls 198.18.54.2:9443 "" origin.test \
		"\t\tssl_verify_client on;\n\t\tssl_client_certificate $P/test-ca.pem;\n"
	srv short 198.18.54.2:10443 "" origin.test "\t\tkeepalive_timeout 1s;\n"
	printf '\tserver {\n\t\tlisten 198.18.54.2:80;\n\t\troot %s;\n\t}\n' "$N/www"
)"
bg org "$PY" "$ORIGIN" serve 127.0.0.1 8083 "$T_TMP/origin.log"
bg org socat OPENSSL-LISTEN:5443,bind=198.18.54.2,reuseaddr,fork,cert="$P/origin.test.pem",key="$P/origin.test.key",verify=0 \
	TCP:127.0.0.1:8083
# 7443 takes connections (the kernel's backlog) and never says a word
bg org "$PY" -c 'import socket, time
s = socket.socket()
s.bind(("198.18.54.2", 7443))
s.listen(64)
time.sleep(3600)'
# what the proxy sends to 4443 is written to tap.raw on its way to nginx
bg org socat -r "$T_TMP/tap.raw" TCP-LISTEN:4443,bind=198.18.54.2,reuseaddr,fork TCP:198.18.54.2:443
for p in "198.18.54.2 443" "198.18.54.3 443" "198.18.54.4 443" "198.18.54.2 8443" \
	"198.18.54.2 9443" "198.18.54.2 10443" "198.18.54.2 80" "198.18.54.2 5443" \
	"198.18.54.2 4443" "198.18.54.2 7443" "127.0.0.1 8083"; do
	wait_port org $p || fail "origin on $p"
done

# --- the proxy: a listener per case, each with its pool ---------------------------
# pool NAME BACKENDS TLS-BLOCK-LINES [EXTRA-POOL-LINES]: lines given with \n
pool() {
	printf '  - name: %s\n%b    tls:\n%b    backends:\n' "$1" "${4:-}" "$3"
	for b in $2; do printf '      - address: %s\n' "$b"; done
}
# lsn NAME PORT POOL
lsn() { printf '  - name: %s\n    bind: 127.0.0.1:%s\n    mode: http\n    pool: %s\n' "$1" "$2" "$3"; }
CA="      ca: $P/test-ca.pem\n"
{
	printf 'global:\n  stats_interval: 0\nlisteners:\n'
	lsn sni 8081 secure
	lsn byip 8082 byip
	lsn ipmis 8083 ipmis
	lsn wrongca 8084 wrongca
	lsn snimis 8085 snimis
	lsn noverify 8086 noverify
	lsn retry 8087 retry
	lsn pp 8088 pp
	lsn mtls 8089 mtls
	lsn raw 8090 raw
	lsn fresh 8091 fresh
	lsn tapped 8092 tapped
	lsn plain 8093 plain
	lsn mute 8094 mute
	printf '    connect_timeout: 500ms\n'
	lsn short 8095 short
	cat <<EOF
  - name: front
    bind: 127.0.0.1:8443
    mode: http
    pool: secure
    tls:
      certificates:
        - cert: $P/proxy.test.pem
          key: $P/proxy.test.key
      h2: true
    routes:
      - name: upload
        path_exact: /sha256
        pool: raw
pools:
EOF
	pool secure 198.18.54.2:443 "${CA}      sni: origin.test\n"
	pool byip 198.18.54.2:443 "$CA"
	pool ipmis 198.18.54.4:443 "$CA"
	pool wrongca 198.18.54.2:4443 "      ca: $P/other-ca.pem\n      sni: origin.test\n"
	pool snimis 198.18.54.2:443 "${CA}      sni: wrong.test\n"
	pool noverify 198.18.54.3:443 "      verify: false\n"
	pool retry "198.18.54.3:443 198.18.54.2:443" "${CA}      sni: origin.test\n" "    retries: 1\n"
	pool pp 198.18.54.2:8443 "${CA}      sni: origin.test\n" "    proxy_protocol: v1\n"
	pool mtls 198.18.54.2:9443 "${CA}      sni: origin.test\n      cert: $P/xdproxy-client.pem\n      key: $P/xdproxy-client.key\n"
	pool raw 198.18.54.2:5443 "${CA}      sni: origin.test\n"
	pool fresh 198.18.54.2:443 "${CA}      sni: origin.test\n" "    keepalive: 0\n"
	pool tapped 198.18.54.2:4443 "${CA}      sni: origin.test\n"
	pool plain 198.18.54.2:80 "${CA}      sni: origin.test\n"
	pool mute 198.18.54.2:7443 "${CA}      sni: origin.test\n"
	pool short 198.18.54.2:10443 "${CA}      sni: origin.test\n"
} >"$T_TMP/xdproxy.yaml"

if ! nsx px "$XDPROXY" check -c "$T_TMP/xdproxy.yaml" >"$T_TMP/check.out" 2>&1; then
	fail "xdproxy check accepts the pools' tls blocks: $(cat "$T_TMP/check.out")"
	t_done
fi
if ! start_proxy px "$T_TMP/xdproxy.yaml"; then
	fail "xdproxy starts with tls pools"
	cat "$T_TMP/proxy.log"
	t_done
fi
pass "xdproxy starts with tls pools"

get() { nsx px curl -sS --max-time 20 "http://127.0.0.1:$1$2"; }
code() { nsx px curl -s --max-time 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }
ngx() { grep "^$2 " "$N/logs/$1.log" 2>/dev/null; } # ngx LOG URI: nginx's lines for it
# proxy_line WHAT COUNTER: the latest per-backend stats line, WHAT = "POOL[ backend=ADDR]"
proxy_line() {
	kill -USR1 "$PROXY_PID"
	sleep 0.3
	grep "stats http pool=$1 .*$2=" "$T_TMP/proxy.log" | tail -1
}
stat_of() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# --- verification ------------------------------------------------------------------
out=$(get 8081 /)
check "HTTPS origin through a tls pool, verified by sni against the CA ($out)" test "$out" = "secure origin"
check "... nginx saw SNI origin.test" grep -q 'sni=origin.test' <<<"$(ngx main /)"
out=$(get 8082 /byip)
check "no sni: verified by the backend's address (IP SAN) ($(code 8082 /byip))" test "$(code 8082 /byip)" = 200
check "... and no SNI sent ($(ngx main /byip | head -1))" grep -q '^/byip .*sni=- ' <<<"$(ngx main /byip | head -1)"
check "no sni, a certificate without the backend's address: 502" test "$(code 8083 /ipmis)" = 502
check "... the reason logged" grep -q 'TLS handshake: certificate: IP address mismatch' "$T_TMP/proxy.log"
check "... nothing reached the origin" test -z "$(ngx other /ipmis)"

check "wrong CA: 502" test "$(code 8084 /secret-wrongca)" = 502
check "... the reason logged (certificate: ...)" grep -q 'pool wrongca backend 198.18.54.2:4443: TLS handshake: certificate: unable to get local issuer certificate' "$T_TMP/proxy.log"
check "... the origin saw no request" test -z "$(ngx main /secret-wrongca)"
check "... a TLS handshake went on the wire (tap: record type 22 first)" test "$(head -c1 "$T_TMP/tap.raw" | od -An -tu1 | tr -d ' ')" = 22
check "... and nothing of the request in clear" test "$(grep -ac secret-wrongca "$T_TMP/tap.raw")" = 0
check "sni the certificate does not carry: 502" test "$(code 8085 /snimis)" = 502
check "... the reason logged" grep -q 'pool snimis backend .*certificate: hostname mismatch' "$T_TMP/proxy.log"
check "... the origin saw no request" test -z "$(ngx main /snimis)"
out=$(get 8086 /)
check "verify: false against a self-signed origin ($out)" test "$out" = "secure origin"
# round robin: one of the two requests goes to the self-signed backend first
out="$(code 8087 /retry1) $(code 8087 /retry2)"
check "a failed check moves to the next backend ($out)" test "$out" = "200 200"
check "... the self-signed backend counted a failed handshake" \
	test "$(stat_of "$(proxy_line "retry backend=198.18.54.3:443" tls_failed)" tls_failed)" -ge 1
out=$(get 8092 /secret-ok)
check "through the tap, verified: 200 ($out)" test "$out" = "secure origin"
check "... the request reached nginx" test -n "$(ngx main /secret-ok)"
check "... and was never on the wire in clear" test "$(grep -ac secret-ok "$T_TMP/tap.raw")" = 0

check "a plain HTTP origin in a tls pool: 502" test "$(code 8093 /plain)" = 502
check "... the reason logged" grep -q 'pool plain backend 198.18.54.2:80: TLS handshake: ' "$T_TMP/proxy.log"
t0=$(date +%s%N)
out=$(code 8094 /mute)
ms=$((($(date +%s%N) - t0) / 1000000))
check "an origin that never answers the ClientHello: 502 after connect_timeout ($out, $ms ms)" \
	test "$out" = 502 -a "$ms" -ge 400 -a "$ms" -lt 5000
check "... logged as a handshake that timed out" \
	grep -q 'pool mute backend 198.18.54.2:7443: TLS handshake: timed out' "$T_TMP/proxy.log"

# --- keep-alive and resumption -------------------------------------------------------
for i in 1 2 3 4 5; do get 8081 /ka$i >/dev/null; done
conns=$(for i in 1 2 3 4 5; do ngx main /ka$i | sed -n 's/.*conn=\([0-9]*\).*/\1/p'; done | sort -u)
check "keep-alive: 5 client connections, one TLS connection at the origin (conn $(echo $conns))" \
	test "$(wc -w <<<"$conns")" = 1
check "... xdproxy counted the reuse" test "$(stat_of "$(proxy_line secure reused)" reused)" -ge 4
for i in 1 2 3; do get 8091 /fresh$i >/dev/null; done
reused=$(for i in 1 2 3; do ngx main /fresh$i | sed -n 's/.*reused=\(.\).*/\1/p'; done | tr -d '\n')
check "keepalive 0: a connection each, the later ones resume the session (nginx: $reused)" test "$reused" = ".rr"
check "... xdproxy counted the resumptions" test "$(stat_of "$(proxy_line fresh tls_resumed)" tls_resumed)" -ge 2

out="$(code 8095 /short1)"
sleep 1.5 # nginx closes the idle connection (keepalive_timeout 1s), with a close_notify
out="$out $(code 8095 /short2)"
line=$(proxy_line short tls_resumed)
check "an idle TLS connection the origin closed is dropped, not used ($out)" test "$out" = "200 200"
check "... when the close came, before a request could try it (reused $(stat_of "$(proxy_line short reused)" reused))" \
	test "$(stat_of "$(proxy_line short reused)" reused)" = 0
check "... the next request made a new one, resumed ($line)" \
	test "$(stat_of "$line" tls_handshakes)" = 2 -a "$(stat_of "$line" tls_resumed)" = 1

# --- PROXY protocol, client certificate ------------------------------------------------
check "PROXY protocol in clear, then TLS ($(code 8088 /pp))" test "$(code 8088 /pp)" = 200
check "... nginx read the client's address from it" grep -q 'pp=127.0.0.1' <<<"$(ngx pp /pp)"
check "client certificate to an origin that requires one ($(code 8089 /mtls))" test "$(code 8089 /mtls)" = 200
check "... nginx saw it" grep -q 'dn=CN=xdproxy-client' <<<"$(ngx mtls /mtls)"

# --- bodies both ways, TLS on both sides -------------------------------------------------
tx() { nsx px curl -sS --max-time 120 --cacert "$P/test-ca.pem" --resolve proxy.test:8443:127.0.0.1 "$@"; }
want=$(sha256sum <"$N/www/big" | cut -d' ' -f1)
got=$(tx https://proxy.test:8443/big | sha256sum | cut -d' ' -f1)
check "$UPTLS_BIG down, TLS client side and upstream: equal sha256" test "$got" = "$want"
got=$(tx -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$N/www/big" https://proxy.test:8443/sha256)
check "$UPTLS_BIG up, TLS client side and upstream: equal sha256" test "${got%% *}" = "$want"
ver=$(tx --http2 -o /dev/null -w '%{http_version} %{http_code}' https://proxy.test:8443/)
got=$(tx --http2 https://proxy.test:8443/big | sha256sum | cut -d' ' -f1)
check "an HTTP/2 client ($ver) onto the TLS upstream: $UPTLS_BIG down, equal sha256" \
	test "$ver $got" = "2 200 $want"

# --- WebSocket through a tls pool: relayed here, never spliced ------------------------------
h0=$(stat_of "$(kill -USR1 "$PROXY_PID"; sleep 0.3; grep 'stats http accepted=' "$T_TMP/proxy.log" | tail -1)" handoffs)
out=$(nsx px timeout 20 "$PY" "$ORIGIN" ws 127.0.0.1 8090 200)
check "WebSocket upgrade through a tls pool, 200 messages echoed ($out)" test "$out" = "ws ok 200"
line=$(kill -USR1 "$PROXY_PID"; sleep 0.3; grep 'stats http accepted=' "$T_TMP/proxy.log" | tail -1)
check "... relayed in userspace, not handed to the splice (handoffs $h0 -> $(stat_of "$line" handoffs))" \
	test "$(stat_of "$line" handoffs)" = "$h0"

kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null
rc=$?
check "xdproxy exits cleanly (rc $rc)" test "$rc" = 0

# --- a CA file that is not there: the start fails, saying which -----------------------------
sed "s|$P/test-ca.pem|$P/missing.pem|" "$T_TMP/xdproxy.yaml" >"$T_TMP/bad.yaml"
out=$(nsx px timeout 10 "$XDPROXY" run -c "$T_TMP/bad.yaml" 2>&1)
rc=$?
check "missing ca: xdproxy refuses to start (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... and says which file ($(grep -o 'tls: ca [^ ]*: .*' <<<"$out" | head -1))" \
	grep -q "pool secure: tls: ca $P/missing.pem: No such file" <<<"$out"

[[ $T_FAILS -gt 0 ]] && tail -n 30 "$T_TMP/proxy.log"
t_done
