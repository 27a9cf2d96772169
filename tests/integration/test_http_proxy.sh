#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The HTTP/1.1 reverse proxy end to end: real nginx origins and a raw
# origin (http_origin.py) on loopback addresses of one namespace, curl and
# raw sockets as clients. Routing, rewriting, identity headers, keep-alive
# reuse, retries, each timeout, pipelining, WebSocket, big bodies both ways,
# and a corpus of malformed and smuggling-style requests that must never
# reach an origin.
#   HTTP_BIG=1G   size of the upload and download checked by sha256
. "$(dirname "$0")/lib.sh"
t_require_root

HTTP_BIG=${HTTP_BIG:-1G}
ORIGIN=$(dirname "$0")/http_origin.py
PY=${PYTHON:-python3}

command -v nginx >/dev/null || { skip "nginx not installed"; exit 77; }
command -v curl >/dev/null || { skip "curl not installed"; exit 77; }

ns_new hp >/dev/null || { fail "netns"; t_done; }
# A neighbour that never answers ARP: connects to it hang until our timeout.
ns_new void >/dev/null || { fail "netns"; t_done; }
veth_link hp void 198.18.77.1/24 198.18.78.1/24 || { fail "veth"; t_done; }

# --- origins -----------------------------------------------------------------
mkdir -p "$T_TMP/ngx/files"
chmod 755 "$T_TMP/ngx/files"
nginx_start hp "
	log_format conn '\$server_port \$connection \$request_uri';
	keepalive_requests 100000;
	server {
		listen 127.0.0.11:8081;
		listen 127.0.0.12:8082;
		access_log $T_TMP/ngx/logs/access.log conn;
		location / { return 200 \"nginx \$server_port \$request_uri\\n\"; }
		location = /app/redirect { return 302 http://127.0.0.11:8081/app/there; }
		location /files/ { alias $T_TMP/ngx/files/; }
	}"
bg hp "$PY" "$ORIGIN" serve 127.0.0.13 8083 "$T_TMP/origin.log"
bg hp "$PY" "$ORIGIN" serve ::1 8083 "$T_TMP/origin6.log"
for p in 8081 8082 8083; do wait_port hp 127.0.0.1 $p || fail "origin on port $p"; done

# --- the proxy ---------------------------------------------------------------
cat >"$T_TMP/xdproxy.yaml" <<EOF
global:
  stats_interval: 0
listeners:
  - name: web
    bind: 127.0.0.1:8080
    mode: http
    pool: main
    workers: 2
    connect_timeout: 500ms
    http:
      access_log: $T_TMP/access.log
      log_format: json
      header_timeout: 1s
      idle_timeout: 2s
      response_timeout: 1s
      forwarded: xff
      via: true
      via_name: xdp-test
    routes:
      - name: api
        host: api.test
        pool: main
        request_headers:
          - set: X-Env
            value: test
          - remove: X-Debug
      - name: static
        path: /static/
        pool: ngx
        strip_prefix: /static
        response_headers:
          - set: X-Route
            value: static
      - name: app
        host: "*.app.test"
        pool: ngx
      - name: canary
        path_exact: /who
        headers:
          - name: X-Canary
            value: "1"
        pool: ngx2
      - name: retry
        host: retry.test
        pool: retry
      - name: void
        host: void.test
        pool: void
      - name: pp
        host: pp.test
        pool: pp
      - name: short
        host: short.test
        pool: short
  - name: strict
    bind: 127.0.0.1:8090
    mode: http
    http:
      forwarded: hide
    routes:
      - name: only
        host: only.test
        pool: main
  - name: web6
    bind: "[::1]:8086"
    mode: http
    pool: main6
pools:
  - name: main
    backends:
      - address: 127.0.0.13:8083
  - name: main6
    backends:
      - address: "[::1]:8083"
  - name: ngx
    reverse_map:
      - from: http://127.0.0.11:8081/app/
        to: http://public.test/
    backends:
      - address: 127.0.0.11:8081
      - address: 127.0.0.12:8082
  - name: ngx2
    backends:
      - address: 127.0.0.12:8082
  - name: retry
    retries: 2
    backends:
      - address: 127.0.0.14:8084
      - address: 127.0.0.11:8081
  - name: short
    keepalive_timeout: 300ms
    backends:
      - address: 127.0.0.12:8082
  - name: pp
    proxy_protocol: v1
    backends:
      - address: 127.0.0.13:8083
  - name: void
    retries: 0
    backends:
      - address: 198.18.77.9:80
EOF
if ! start_proxy hp "$T_TMP/xdproxy.yaml"; then
	fail "xdproxy starts"
	cat "$T_TMP/proxy.log"
	t_done
fi
pass "xdproxy starts with http listeners"

P=http://127.0.0.1:8080
cx() { nsx hp curl -sS --max-time 10 "$@"; }
# proxy_stat NAME: a counter from the stats line xdproxy logs on SIGUSR1.
proxy_stat() {
	kill -USR1 "$PROXY_PID"
	sleep 0.2
	grep 'stats http accepted=' "$T_TMP/proxy.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}
origin_requests() { grep -c '^----$' "$T_TMP/origin.log" 2>/dev/null || echo 0; }

# --- routing -----------------------------------------------------------------
out=$(cx "$P/plain")
check "default pool answers ($out)" grep -q '^origin 8083 /plain$' <<<"$out"
out=$(cx -H 'Host: api.test' "$P/headers")
check "route by host: api.test -> main, X-Env set" grep -qi '^X-Env: test' <<<"$out"
out=$(cx "$P/static/a/b?q=1")
check "route by path prefix, prefix stripped, query kept ($out)" grep -q '^nginx 808[12] /a/b?q=1$' <<<"$out"
out=$(cx -D - -o /dev/null "$P/static/x")
check "response header set by the route" grep -qi '^X-Route: static' <<<"$out"
out=$(cx -H 'Host: www.app.test' "$P/z")
check "route by wildcard host ($out)" grep -q '^nginx 808[12] /z$' <<<"$out"
out=$(cx -H 'X-Canary: 1' "$P/who")
check "route by exact path and header value ($out)" grep -q '^nginx 8082 /who$' <<<"$out"
out=$(cx -H 'X-Canary: 0' "$P/who")
check "header value mismatch falls to the default pool ($out)" grep -q '^origin 8083 /who$' <<<"$out"
out=$(cx -H 'Host: nothing.test' -o /dev/null -w '%{http_code}' http://127.0.0.1:8090/)
check "no route and no default pool: 404 ($out)" test "$out" = 404
out=$(cx -g "$P/static/../headers")
check "dot segments resolved before routing ($out)" grep -q '^GET /headers HTTP/1.1' <<<"$out"
out=$(nsx hp curl -sS -g --max-time 5 "http://[::1]:8086/v6")
check "IPv6 listener and backend ($out)" grep -q '^origin 8083 /v6$' <<<"$out"

# --- identity headers --------------------------------------------------------
out=$(cx -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Debug: 1' -H 'Host: api.test' "$P/headers")
check "X-Forwarded-For is the client, not the spoofed value" \
	grep -qi '^X-Forwarded-For: 127.0.0.1' <<<"$out"
check "the spoofed X-Forwarded-For is gone" test -z "$(grep -i '6.6.6.6' <<<"$out")"
check "X-Forwarded-Proto and Host set" grep -qi '^X-Forwarded-Proto: http' <<<"$out"
check "Via added" grep -qi '^Via: 1.1 xdp-test' <<<"$out"
check "route op removed X-Debug" test -z "$(grep -i '^X-Debug' <<<"$out")"
out=$(cx -H 'Via: 1.1 xdp-test' -o /dev/null -w '%{http_code}' "$P/headers")
check "a request that already went through us is refused: 508 ($out)" test "$out" = 508
out=$(cx -H 'Host: only.test' -H 'X-Forwarded-For: 1.2.3.4' -H 'Via: 1.0 corp' \
	-H 'X-Real-IP: 1.2.3.4' -H 'Authorization: Basic x' http://127.0.0.1:8090/headers)
check "hide mode: no identifying header reaches the origin" \
	test -z "$(grep -iE '^(X-Forwarded|Via|X-Real-IP|Forwarded)' <<<"$out")"
check "hide mode: Authorization kept" grep -qi '^Authorization: Basic x' <<<"$out"

out=$(cx -H 'Host: pp.test' "$P/headers")
check "PROXY protocol v1 toward the backend names the client" \
	grep -qE '^X-Origin-Proxy-Line: PROXY TCP4 127.0.0.1 127.0.0.1 [0-9]+ 8080' <<<"$out"

# --- reverse mapping -----------------------------------------------------------
out=$(cx -D - -o /dev/null -H 'Host: x.app.test' "$P/app/redirect")
check "Location rewritten to the public name" grep -qi '^Location: http://public.test/there' <<<"$out"

# --- framing -------------------------------------------------------------------
out=$(cx "$P/close")
check "close-delimited response relayed ($out)" test "$out" = "close-delimited body"
out=$(cx -D - "$P/close")
check "... re-framed as chunked for an HTTP/1.1 client" grep -qi '^Transfer-Encoding: chunked' <<<"$out"
out=$(cx "$P/chunked")
check "chunked response relayed" test "$out" = "abc def ghi"
out=$(cx --http1.0 -D - "$P/chunked")
check "chunked response to an HTTP/1.0 client: no chunked coding" \
	test -z "$(grep -i '^Transfer-Encoding' <<<"$out")"
check "... and the body is whole" grep -q '^abc def ghi$' <<<"$out"
out=$(cx -I "$P/plain")
check "HEAD answered without a body" grep -q '^HTTP/1.1 200' <<<"$out"

# --- pipelining ----------------------------------------------------------------
printf 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\nGET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$T_TMP/pipe.req"
out=$(nsx hp "$PY" "$ORIGIN" raw 127.0.0.1 8080 "$T_TMP/pipe.req")
order=$(grep -o 'origin 8083 /p[0-9]' <<<"$out" | tr '\n' ' ')
check "three pipelined requests answered in order ($order)" test "$order" = "origin 8083 /p1 origin 8083 /p2 origin 8083 /p3 "

# --- keep-alive reuse ----------------------------------------------------------
before=$(wc -l <"$T_TMP/ngx/logs/access.log")
urls=()
for i in $(seq 1 200); do urls+=("$P/static/ka$i"); done
cx "${urls[@]}" >/dev/null
conns=$(tail -n +$((before + 1)) "$T_TMP/ngx/logs/access.log" | grep ' /ka' | awk '{print $1"-"$2}' | sort -u | wc -l)
reqs=$(tail -n +$((before + 1)) "$T_TMP/ngx/logs/access.log" | grep -c ' /ka')
check "200 requests reached the origins ($reqs)" test "$reqs" = 200
check "upstream keep-alive: 200 requests on $conns origin connections (reuse $(( (200 - conns) * 100 / 200 )) %)" \
	test "$conns" -le 8
reused=$(proxy_stat up_reused)
check "proxy counts reused upstream connections ($reused)" test "${reused:-0}" -ge 150

# idle upstream connections close after the pool's keepalive_timeout
idle_of() {
	kill -USR1 "$PROXY_PID"
	sleep 0.2
	grep "stats http pool=$1 " "$T_TMP/proxy.log" | tail -1 | sed -n 's/.* idle=\([0-9]*\).*/\1/p'
}
cx -o /dev/null -H 'Host: short.test' "$P/short"
i1=$(idle_of short)
sleep 1
i2=$(idle_of short)
check "an idle upstream connection is kept ($i1), then closed after keepalive_timeout ($i2)" \
	test "$i1" = 1 -a "$i2" = 0

# --- retries and failures ------------------------------------------------------
ok=0
for i in $(seq 1 20); do
	code=$(cx -H 'Host: retry.test' -o /dev/null -w '%{http_code}' "$P/r$i")
	[[ $code == 200 ]] && ok=$((ok + 1))
done
check "retry past a dead backend: 20 of 20 succeeded ($ok)" test "$ok" = 20
check "retries counted" test "$(proxy_stat retries)" -ge 1
t0=$(date +%s%N)
code=$(cx -H 'Host: void.test' -o /dev/null -w '%{http_code}' "$P/v")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "connect timeout: 502 after about 500 ms ($code in $ms ms)" test "$code" = 502 -a "$ms" -ge 400 -a "$ms" -lt 3000

# --- timeouts ------------------------------------------------------------------
t0=$(date +%s%N)
code=$(cx -o /dev/null -w '%{http_code}' "$P/hang")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "response timeout: 504 after about 1 s ($code in $ms ms)" test "$code" = 504 -a "$ms" -ge 900 -a "$ms" -lt 4000
out=$(nsx hp "$PY" "$ORIGIN" slowhead 127.0.0.1 8080 4)
took=$(sed -n 's/^took //p' <<<"$out")
check "header timeout (slowloris): 408 ($(head -2 <<<"$out" | tail -1 | tr -d '\r'))" grep -q '^HTTP/1.1 408' <<<"$out"
check "... within about 1 s, not 4 ($took)" awk -v t="$took" 'BEGIN { exit !(t >= 0.9 && t < 2.5) }'
printf 'GET /idle HTTP/1.1\r\nHost: a\r\n\r\n' >"$T_TMP/idle.req"
t0=$(date +%s%N)
out=$(nsx hp "$PY" "$ORIGIN" raw 127.0.0.1 8080 "$T_TMP/idle.req" 6)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "idle keep-alive connection closed after about 2 s ($ms ms)" test "$ms" -ge 1800 -a "$ms" -lt 5000

# --- WebSocket -----------------------------------------------------------------
out=$(nsx hp "$PY" "$ORIGIN" ws 127.0.0.1 8080 200)
check "WebSocket upgrade and 200 echoed messages through the tunnel ($out)" test "$out" = "ws ok 200"
check "the tunnel was handed to the TCP proxy's splice ($(proxy_stat handoffs))" test "$(proxy_stat handoffs)" -ge 1
kb=$(grep 'stats backend pool=main addr=127.0.0.13:8083' "$T_TMP/proxy.log" | tail -1 | sed -n 's/.*kernel_bytes=\([0-9]*\).*/\1/p')
check "... and its bytes moved in the kernel (sockmap: $kb bytes)" test "${kb:-0}" -gt 0

# --- big bodies ----------------------------------------------------------------
head -c "$HTTP_BIG" /dev/urandom >"$T_TMP/ngx/files/big"
chmod 644 "$T_TMP/ngx/files/big"
want=$(sha256sum <"$T_TMP/ngx/files/big" | cut -d' ' -f1)
got=$(cx --max-time 120 "$P/static/files/big" | sha256sum | cut -d' ' -f1)
check "download of $HTTP_BIG: equal sha256" test "$got" = "$want"
# -T streams the file (--data-binary would load it whole into memory)
out=$(cx --max-time 120 -X POST -T "$T_TMP/ngx/files/big" "$P/sha256")
check "upload of $HTTP_BIG (Content-Length): equal sha256" test "${out%% *}" = "$want"
out=$(cx --max-time 120 -X POST -T - "$P/sha256" <"$T_TMP/ngx/files/big")
check "upload of $HTTP_BIG (chunked): equal sha256" test "${out%% *}" = "$want"
rm -f "$T_TMP/ngx/files/big"

# --- malformed and smuggling-style requests ------------------------------------
# Each is sent on its own connection; the proxy must answer 4xx/5xx and the
# origin must see nothing but the requests before it.
bad=(
	'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'
	'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello'
	'POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello'
	'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'
	'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'
	'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n'
	'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n'
	'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n'
	'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n'
	'GET /s HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n'
	'GET /s HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
	'GET /s HTTP/1.1\r\n\r\n'
	'GET /s HTTP/1.1\nHost: a\n\n'
	'GET /s HTTP/1.1\r\nHost: a\r\nX-Bad: a\x00b\r\n\r\n'
	'GET /s HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n'
	'GET /s HTTP/2.0\r\nHost: a\r\n\r\n'
	'GET /a%2F..%2Fadmin HTTP/1.1\r\nHost: a\r\n\r\n'
	'GET /pub/..;/admin HTTP/1.1\r\nHost: a\r\n\r\n'
	'GET http://a/s HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n'
	'GET /s HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	'G\x01T /s HTTP/1.1\r\nHost: a\r\n\r\n'
)
seen_before=$(origin_requests)
n_ok=0
for i in "${!bad[@]}"; do
	printf '%b' "${bad[$i]}" >"$T_TMP/bad.req"
	out=$(nsx hp "$PY" "$ORIGIN" raw 127.0.0.1 8080 "$T_TMP/bad.req" 1)
	status=$(head -1 <<<"$out" | awk '{print $2}')
	if [[ $status =~ ^(4|5)[0-9][0-9]$ ]]; then
		n_ok=$((n_ok + 1))
	else
		echo "  bad request $i answered '${status:-nothing}': ${bad[$i]}"
	fi
done
check "malformed requests refused: $n_ok of ${#bad[@]}" test "$n_ok" = "${#bad[@]}"
seen_after=$(origin_requests)
check "none of them reached the origin ($((seen_after - seen_before)) did)" test "$seen_after" = "$seen_before"

# --- access log ----------------------------------------------------------------
sleep 0.2
n=$(grep -c '"status":' "$T_TMP/access.log" 2>/dev/null || echo 0)
check "access log has JSON lines ($n)" test "$n" -ge 200
check "access log line names route and backend" \
	grep -q '"route":"static".*"backend":"127.0.0.1[12]:808[12]"' "$T_TMP/access.log"

# --- shutdown ------------------------------------------------------------------
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null
rc=$?
check "xdproxy exits cleanly on SIGTERM (rc $rc)" test "$rc" = 0
if grep -qiE 'AddressSanitizer|runtime error|segfault' "$T_TMP/proxy.log"; then
	fail "proxy log shows a crash"
fi
if [[ $T_FAILS -gt 0 ]]; then
	echo "--- proxy log (last 30 lines)"
	tail -n 30 "$T_TMP/proxy.log"
	echo "--- access log (last 8 lines)"
	tail -n 8 "$T_TMP/access.log"
fi
t_done
