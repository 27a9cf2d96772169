#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# HTTP/2 toward clients on the reverse proxy: h2 over TLS (ALPN) and h2c with
# prior knowledge, multiplexed onto the HTTP/1.1 pools. Bodies both ways with
# equal sha256 (Content-Length, chunked, close-delimited at the origin),
# 100-continue, HEAD, keep-alive reuse of the upstream connections under
# h2load, requests that must not be translated (CR LF in a value, upper-case
# names, transfer-encoding, content-length against DATA) refused before the
# origin, a client reset and a rapid-reset flood, an upstream that dies
# mid-body (the stream is reset, the connection lives on), the idle GOAWAY,
# the access log and the counters.
#   H2_BIG=64M   size of the file fetched through h2
. "$(dirname "$0")/lib.sh"
t_require_root

H2_BIG=${H2_BIG:-64M}
ORIGIN=$(dirname "$0")/http_origin.py
H2C=$(dirname "$0")/h2_client.py
PY=${PYTHON:-python3}
for c in openssl curl nginx h2load; do
	command -v "$c" >/dev/null || { skip "$c not installed"; exit 77; }
done
# Debian's python3-h2 lives with Debian's python, whatever python3 is first in PATH
/usr/bin/python3 -c 'import h2' 2>/dev/null || { skip "python3-h2 not installed"; exit 77; }

ns_new h2 >/dev/null || { fail "netns"; t_done; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=h2.test" -addext "subjectAltName=DNS:h2.test" \
	-keyout "$T_TMP/h2.key" -out "$T_TMP/h2.pem" 2>/dev/null || fail "certificate"

# --- origins: nginx for files and counting connections, the raw origin for the odd cases
mkdir -p "$T_TMP/ngx/files"
head -c "$H2_BIG" /dev/urandom >"$T_TMP/ngx/files/big"
echo small >"$T_TMP/ngx/files/s"
chmod 755 "$T_TMP/ngx/files"
chmod 644 "$T_TMP/ngx/files/big" "$T_TMP/ngx/files/s"
big_sum=$(sha256sum <"$T_TMP/ngx/files/big" | cut -d' ' -f1)
nginx_start h2 "
	log_format conn '\$connection \$request_uri';
	keepalive_requests 100000;
	server {
		listen 127.0.0.11:8081;
		access_log $T_TMP/ngx/logs/access.log conn;
		location / { return 200 \"nginx \$request_uri\\n\"; }
		location /files/ { alias $T_TMP/ngx/files/; }
	}"
bg h2 "$PY" "$ORIGIN" serve 127.0.0.13 8083 "$T_TMP/origin.log"
for p in 8081 8083; do wait_port h2 127.0.0.1 $p || fail "origin on port $p"; done

cat >"$T_TMP/xdproxy.yaml" <<EOF
global:
  stats_interval: 0
listeners:
  - name: tls
    bind: 127.0.0.1:8443
    mode: http
    pool: ngx
    http:
      access_log: $T_TMP/access.log
    routes:
      - {path: /raw/, strip_prefix: /raw, pool: raw}
    tls:
      h2: true
      certificates:
        - {cert: $T_TMP/h2.pem, key: $T_TMP/h2.key}
  - name: clear
    bind: 127.0.0.1:8080
    mode: http
    pool: raw
    http:
      h2c: true
      idle_timeout: 2s
      access_log: $T_TMP/access.log
    routes:
      - {path: /files/, pool: ngx}
  - name: plain
    bind: 127.0.0.1:8081
    mode: http
    pool: raw
pools:
  - name: ngx
    keepalive: 256
    backends:
      - address: 127.0.0.11:8081
  - name: raw
    backends:
      - address: 127.0.0.13:8083
EOF
# port 8081 on 127.0.0.1 is free: nginx listens on 127.0.0.11
if ! start_proxy h2 "$T_TMP/xdproxy.yaml"; then
	fail "xdproxy starts with h2 and h2c listeners"
	cat "$T_TMP/proxy.log"
	t_done
fi
pass "xdproxy starts with h2 and h2c listeners"

tls() { nsx h2 curl -sS --max-time 30 --cacert "$T_TMP/h2.pem" --resolve h2.test:8443:127.0.0.1 "$@"; }
h2c() { nsx h2 curl -sS --max-time 30 --http2-prior-knowledge "$@"; }
raw() { nsx h2 /usr/bin/python3 "$H2C" 127.0.0.1 8080 "$@" 2>&1; }

# --- negotiation -------------------------------------------------------------
out=$(tls --http2 -o /dev/null -w '%{http_version}' https://h2.test:8443/)
check "TLS: ALPN picks h2 ($out)" test "$out" = 2
out=$(tls --http1.1 -o /dev/null -w '%{http_version}' https://h2.test:8443/)
check "TLS: a client offering only http/1.1 still gets it ($out)" test "$out" = 1.1
out=$(h2c -w ' %{http_version}' http://127.0.0.1:8080/headers)
check "h2c prior knowledge: HTTP/2 answered" grep -q ' 2$' <<<"$out"
check "... the origin got HTTP/1.1 with X-Forwarded-For" \
	grep -q '^X-Forwarded-For: 127.0.0.1' <<<"$out"
check "... and X-Forwarded-Proto: http" grep -qix 'X-Forwarded-Proto: http' <<<"${out//$'\r'/}"
out=$(tls --http2 https://h2.test:8443/raw/headers)
check "h2 over TLS: X-Forwarded-Proto: https at the origin" \
	grep -qi '^X-Forwarded-Proto: https' <<<"$out"
check "... the path rewritten by the route" grep -q '^GET /headers HTTP/1.1' <<<"$out"
out=$(nsx h2 curl -sS --max-time 5 --http1.1 -w ' %{http_version}' http://127.0.0.1:8080/x)
check "HTTP/1.1 clients still served on the h2c listener ($out)" test "$out" = "origin 8083 /x
 1.1"
out=$(nsx h2 curl -sS --max-time 5 --http2-prior-knowledge http://127.0.0.1:8081/x 2>&1)
check "no h2c key: the preface is a bad HTTP/1.1 request" \
	test "$(grep -c 'origin 8083' <<<"$out")" = 0

# --- bodies ------------------------------------------------------------------
out=$(tls --http2 https://h2.test:8443/files/big | sha256sum | cut -d' ' -f1)
check "$H2_BIG download over h2 (TLS), sha256 equal" test "$out" = "$big_sum"
out=$(h2c http://127.0.0.1:8080/files/big | sha256sum | cut -d' ' -f1)
check "$H2_BIG download over h2c, sha256 equal" test "$out" = "$big_sum"
out=$(tls --http2 --data-binary @"$T_TMP/ngx/files/big" https://h2.test:8443/raw/sha256)
check "$H2_BIG upload with content-length over h2, sha256 equal at the origin" \
	test "$out" = "$big_sum $(stat -c %s "$T_TMP/ngx/files/big")"
out=$(h2c -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/ngx/files/big" \
	http://127.0.0.1:8080/sha256)
check "upload without a length (chunked upstream), sha256 equal" \
	test "$out" = "$big_sum $(stat -c %s "$T_TMP/ngx/files/big")"
head -c 300000 /dev/urandom >"$T_TMP/small"
out=$(h2c -H 'Expect: 100-continue' --data-binary @"$T_TMP/small" http://127.0.0.1:8080/sha256)
check "Expect: 100-continue over h2" test "$out" = "$(sha256sum <"$T_TMP/small" | cut -d' ' -f1) 300000"
out=$(h2c http://127.0.0.1:8080/chunked)
check "a chunked origin body arrives decoded" test "$out" = "abc def ghi"
out=$(h2c http://127.0.0.1:8080/close)
check "a close-delimited origin body arrives whole" test "$out" = "close-delimited body"
out=$(h2c -I http://127.0.0.1:8080/files/big)
check "HEAD: the length, no body" grep -qi "^content-length: $(stat -c %s "$T_TMP/ngx/files/big")" <<<"$out"

# --- multiplexing and upstream reuse -----------------------------------------
: >"$T_TMP/ngx/logs/access.log"
out=$(nsx h2 timeout 60 h2load -n 4000 -c 4 -m 32 https://127.0.0.1:8443/m 2>&1)
check "h2load: 4000 requests on 4 connections x 32 streams all succeed" \
	grep -q '4000 succeeded, 0 failed, 0 errored' <<<"$out"
check "... negotiated h2 over TLS" grep -q 'Application protocol: h2' <<<"$out"
conns=$(cut -d' ' -f1 "$T_TMP/ngx/logs/access.log" | sort -u | wc -l)
reqs=$(wc -l <"$T_TMP/ngx/logs/access.log")
check "... upstream connections reused ($reqs requests on $conns connections)" \
	test "$reqs" -eq 4000 -a "$conns" -le 300
out=$(nsx h2 timeout 60 h2load -n 2000 -c 2 -m 50 http://127.0.0.1:8080/files/s 2>&1)
check "h2load over h2c: 2000 requests of a file succeed" \
	grep -q '2000 succeeded, 0 failed' <<<"$out"

# --- what must not be translated ---------------------------------------------
before=$(grep -c '^----' "$T_TMP/origin.log")
for c in header-crlf upper-name te-chunked cl-over cl-under; do
	out=$(raw "$c")
	check "$c: the stream is reset ($out)" grep -q '^result: reset:1 open' <<<"$out"
done
after=$(grep -c '^----' "$T_TMP/origin.log")
check "... none of those reached the origin whole ($before -> $after heads)" \
	test "$((after - before))" -le 2
check "... no injected field at the origin" test "$(grep -ci 'x-injected' "$T_TMP/origin.log")" = 0
out=$(raw reset-reuse)
check "a client reset: the connection goes on serving ($out)" \
	grep -q 'result: status:200+end open' <<<"$out"
out=$(raw rapid-reset)
check "rapid reset flood: GOAWAY ENHANCE_YOUR_CALM (11)" grep -q 'goaway:11' <<<"$out"
out=$(h2c -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/short 2>&1)
check "an upstream that dies mid-body: the stream is reset, not ended ($out)" \
	grep -q 'HTTP/2 stream .* was not closed cleanly\|PROTOCOL_ERROR\|INTERNAL_ERROR\|(92)\|(18)' <<<"$out"
out=$(h2c http://127.0.0.1:8080/after)
check "... and the proxy serves the next request" test "$out" = "origin 8083 /after"

# --- idle, logs, counters ----------------------------------------------------
out=$(raw idle 4)
check "idle connection: GOAWAY NO_ERROR after idle_timeout, then closed ($out)" \
	grep -q 'result: status:200+end goaway:0+closed' <<<"$out"
check "access log: HTTP/2.0 requests" grep -q '"GET /headers HTTP/2.0" 200' "$T_TMP/access.log"
check "access log: the TLS h2 requests too" grep -q '"GET /m HTTP/2.0" 200' "$T_TMP/access.log"
# kTLS: this kernel has no TLS ULP (CONFIG_TLS); what status says must match the kernel
# (read after the proxy probed, which loads the tls module where there is one)
if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
	want="kTLS: available"
else
	want="kTLS: unavailable"
	check "the proxy says at start that TLS stays in userspace" \
		grep -q 'http tls: kTLS unavailable' "$T_TMP/proxy.log"
fi
out=$(nsx h2 "$XDPROXY" status 2>/dev/null)
check "xdproxy status: ${want#kTLS: } kTLS, as the kernel's ULPs say" grep -q "^$want" <<<"$out"
check "xdproxy still running" kill -0 "$PROXY_PID"
kill -INT "$PROXY_PID"
for _ in $(seq 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
line=$(grep 'stats http accepted' "$T_TMP/proxy.log" | tail -1)
h2conns=$(sed -n 's/.* h2_conns=\([0-9]*\).*/\1/p' <<<"$line")
h2streams=$(sed -n 's/.* h2_streams=\([0-9]*\).*/\1/p' <<<"$line")
check "counters: h2 connections ($h2conns) and streams ($h2streams)" \
	test "${h2conns:-0}" -ge 10 -a "${h2streams:-0}" -ge 6000
check "no sanitizer or crash report in the log" \
	test "$(grep -c 'Sanitizer\|runtime error\|Segmentation' "$T_TMP/proxy.log")" = 0
t_done
