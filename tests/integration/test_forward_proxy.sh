#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The forward proxy end to end: curl -x through xdproxy to nginx origins (one
# plain, one TLS) behind a veth, names served by a dnsmasq of the test's own.
# Absolute-form and CONNECT (with a large transfer through the kernel
# splice), client ACL, the 407 flow, domain / wildcard / port / private
# address denials (a name that resolves to 127.0.0.1, numeric IPv4 forms),
# a schedule active now and one that is not, anonymous mode, malformed
# requests, and the access log.
#   FWD_BIG=256M   size of the CONNECT transfer checked by sha256
. "$(dirname "$0")/lib.sh"
t_require_root

FWD_BIG=${FWD_BIG:-256M}
ORIGIN=$(dirname "$0")/http_origin.py
PY=${PYTHON:-python3}
for c in nginx curl dnsmasq openssl; do
	command -v "$c" >/dev/null || { skip "$c not installed"; exit 77; }
done

ns_new fp >/dev/null || { fail "netns"; t_done; }
ns_new org >/dev/null || { fail "netns"; t_done; }
veth_link fp org 198.18.50.1/24 198.18.50.2/24 || { fail "veth"; t_done; }
ip -n "$T_PREFIX-org" addr add 198.18.50.3/24 dev vorg-fp
ip -n "$T_PREFIX-org" addr add 198.18.50.4/24 dev vorg-fp

# --- origins: nginx plain on .2:80, TLS on .3:443, the raw origin on .4:80 ----
mkdir -p "$T_TMP/ngx/www"
chmod 755 "$T_TMP/ngx/www"
echo "plain origin" >"$T_TMP/ngx/www/index.html"
head -c "$FWD_BIG" /dev/urandom >"$T_TMP/ngx/www/big"
chmod 644 "$T_TMP/ngx/www/"*
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=tls.test -addext subjectAltName=DNS:tls.test \
	-keyout "$T_TMP/ngx/key.pem" -out "$T_TMP/ngx/cert.pem" 2>/dev/null || fail "test certificate"
chmod 644 "$T_TMP/ngx/key.pem"
nginx_start org "
	server {
		listen 198.18.50.2:80;
		listen 198.18.50.2:8080;
		root $T_TMP/ngx/www;
	}
	server {
		listen 198.18.50.3:443 ssl;
		ssl_certificate $T_TMP/ngx/cert.pem;
		ssl_certificate_key $T_TMP/ngx/key.pem;
		root $T_TMP/ngx/www;
	}"
bg org "$PY" "$ORIGIN" serve 198.18.50.4 80 "$T_TMP/origin.log"
wait_port org 198.18.50.2 80 || fail "nginx plain origin"
wait_port org 198.18.50.3 443 || fail "nginx TLS origin"
wait_port org 198.18.50.4 80 || fail "raw origin"

# --- names: our own dnsmasq on 127.0.0.1:5353 in the proxy's namespace --------
bg fp dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=5353 \
	--listen-address=127.0.0.1 --bind-interfaces --log-facility=- \
	--address=/www.test/198.18.50.2 --address=/tls.test/198.18.50.3 \
	--address=/raw.test/198.18.50.4 --address=/blocked.test/198.18.50.2 \
	--address=/wild.test/198.18.50.2 --address=/private.test/127.0.0.1 \
	--address=/later.test/198.18.50.2 --address=/now.test/198.18.50.2 \
	--address=/nxdomain.test/ \
	--pid-file="$T_TMP/dnsmasq.pid"
sleep 0.3

# --- users ---------------------------------------------------------------------
echo "alice:$(openssl passwd -6 -salt xdproxytest wonderland)" >"$T_TMP/passwd"

# Schedules: one covering today all day, one on every other day only.
today=$(date -u +%a | tr 'A-Z' 'a-z')
others=$(for d in mon tue wed thu fri sat sun; do [[ $d != "$today" ]] && printf '%s,' "$d"; done)
others=${others%,}

# Transparent interception: a cgroup of our own whose processes' connections
# to ports 80 and 443 the proxy's BPF hooks send to the transparent listener.
CG_ROOT=
for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	[[ -e $d/cgroup.controllers ]] && { CG_ROOT=$d; break; }
done
CG_NAME="$T_PREFIX-clients"
if [[ -n $CG_ROOT ]] && mkdir "$CG_ROOT/$CG_NAME" 2>/dev/null; then
	trap 'rmdir "$CG_ROOT/$CG_NAME" 2>/dev/null; t_cleanup' EXIT
	TRANSPARENT="  - name: tp
    bind: 127.0.0.1:3131
    mode: forward
    forward:
      dns_servers: \"127.0.0.1:5353\"
      transparent: true
      intercept_cgroup: $CG_NAME
      rules:
        - name: blocked
          action: deny
          domains: [\".blocked.test\"]"
else
	CG_NAME=
	TRANSPARENT=
fi

cat >"$T_TMP/xdproxy.yaml" <<EOF
global:
  stats_interval: 0
listeners:
  - name: fwd
    bind: 0.0.0.0:3128
    mode: forward
    workers: 2
    connect_timeout: 1s
    http:
      access_log: $T_TMP/access.log
      log_format: json
    forward:
      dns_servers: "127.0.0.1:5353"
      rules:
        - name: blocked
          action: deny
          domains: [".blocked.test"]
        - name: wildcard
          action: deny
          domains: ["*.wild.test"]
        - name: today
          action: deny
          domains: ["now.test"]
          schedule:
            days: "$today"
            times: ["00:00-24:00"]
        - name: not-today
          action: deny
          domains: ["later.test"]
          schedule:
            days: "$others"
            times: ["00:00-24:00"]
  - name: auth
    bind: 127.0.0.1:3129
    mode: forward
    forward:
      dns_servers: "127.0.0.1:5353"
      auth_file: $T_TMP/passwd
      auth_realm: test proxy
  - name: anon
    bind: 127.0.0.1:3130
    mode: forward
    forward:
      dns_servers: "127.0.0.1:5353"
      anonymous: true
      user_agent: "Anonymous/1.0"
  - name: chain
    bind: 127.0.0.1:3132
    mode: forward
    forward:
      parent: 127.0.0.1:3128
$TRANSPARENT
EOF
if ! start_proxy fp "$T_TMP/xdproxy.yaml"; then
	fail "xdproxy starts with forward listeners"
	cat "$T_TMP/proxy.log"
	t_done
fi
pass "xdproxy starts with forward listeners"

X=http://127.0.0.1:3128
cx() { nsx fp curl -sS --max-time 20 "$@"; }
code() { nsx fp curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$@"; }
proxy_stat() {
	kill -USR1 "$PROXY_PID"
	sleep 0.2
	grep 'stats http accepted=' "$T_TMP/proxy.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# --- absolute-form and CONNECT ------------------------------------------------
out=$(cx -x $X http://www.test/)
check "absolute-form GET through the proxy ($out)" test "$out" = "plain origin"
out=$(cx -x $X --cacert "$T_TMP/ngx/cert.pem" https://tls.test/)
check "HTTPS through CONNECT, certificate verified end to end ($out)" test "$out" = "plain origin"
want=$(sha256sum <"$T_TMP/ngx/www/big" | cut -d' ' -f1)
got=$(cx -x $X --cacert "$T_TMP/ngx/cert.pem" https://tls.test/big | sha256sum | cut -d' ' -f1)
check "$FWD_BIG through a CONNECT tunnel: equal sha256" test "$got" = "$want"
check "CONNECT tunnels are handed to the splice ($(proxy_stat handoffs))" test "$(proxy_stat handoffs)" -ge 1
out=$(cx -x $X http://raw.test/headers)
check "origin-form toward the origin, Host from the URI" grep -q '^GET /headers HTTP/1.1' <<<"$out"
check "... Host: raw.test" grep -qi '^Host: raw.test' <<<"$out"
check "... no Proxy-Connection or Proxy-Authorization" test -z "$(grep -i '^Proxy-' <<<"$out")"

r0=$(proxy_stat up_reused)
out=$(cx -x $X http://www.test/ http://www.test/ http://www.test/ http://raw.test/x http://www.test/ | tr '\n' ' ')
r1=$(proxy_stat up_reused)
check "one client connection, same destination: the upstream connection is reused ($r0 -> $r1)" \
	test $((r1 - r0)) -ge 2

# --- who may use it -------------------------------------------------------------
c=$(code -x http://198.18.50.1:3128 http://www.test/)
check "a client outside forward.clients (loopback by default) is refused: 403 ($c)" test "$c" = 403
c=$(code -x http://127.0.0.1:3129 http://www.test/)
check "no credentials: 407 ($c)" test "$c" = 407
out=$(cx -D - -o /dev/null -x http://127.0.0.1:3129 http://www.test/)
check "... with Proxy-Authenticate naming the realm" grep -qi '^Proxy-Authenticate: Basic realm="test proxy"' <<<"$out"
c=$(code -x http://127.0.0.1:3129 -U alice:wrong http://www.test/)
check "wrong password: 407 ($c)" test "$c" = 407
c=$(code -x http://127.0.0.1:3129 -U alice:wonderland http://www.test/)
check "right password: 200 ($c)" test "$c" = 200

# --- where they may go ----------------------------------------------------------
out=$(cx -x $X http://www.blocked.test/)
check "a domain rule denies with a page naming the rule" grep -q "blocked" <<<"$out"
check "... status 403" test "$(code -x $X http://blocked.test/)" = 403
check "wildcard rule: a.wild.test denied" test "$(code -x $X http://a.wild.test/)" = 403
check "wildcard rule: wild.test itself allowed" test "$(code -x $X http://wild.test/)" = 200
c=$(nsx fp curl -s --max-time 20 -o /dev/null -w '%{http_connect}' -x $X -p http://www.test:80/)
check "CONNECT to port 80 is refused (CONNECT only to 443 by default): $c" test "$c" = 403
check "a name resolving to 127.0.0.1 is refused after resolution" \
	test "$(code -x $X http://private.test/)" = 403
check "a loopback literal is refused" test "$(code -x $X http://127.0.0.1:3128/)" = 403
check "a numeric IPv4 form of loopback (2130706433) is refused" \
	test "$(code -x $X http://2130706433/)" = 403
check "a schedule active now denies (now.test)" test "$(code -x $X http://now.test/)" = 403
check "a schedule for other days does not (later.test)" test "$(code -x $X http://later.test/)" = 200
c=$(code -x $X http://nxdomain.test/)
check "an unknown name: 502 ($c)" test "$c" = 502

# --- anonymity ------------------------------------------------------------------
out=$(cx -x http://127.0.0.1:3130 -H 'X-Forwarded-For: 1.2.3.4' -H 'Via: 1.0 corp' \
	-H 'From: me@example.com' -A 'Secret/1.0' http://raw.test/headers)
check "anonymous: no identifying header reaches the origin" \
	test -z "$(grep -iE '^(X-Forwarded|Via|Forwarded|From|X-Real-IP):' <<<"$out")"
check "anonymous: the fixed User-Agent" grep -qi '^User-Agent: Anonymous/1.0' <<<"$out"
out=$(cx -x $X -H 'X-Forwarded-For: 1.2.3.4' http://raw.test/headers)
check "not anonymous: X-Forwarded-For names the client, not the spoofed value" \
	grep -qi $'^X-Forwarded-For: 127.0.0.1\r$' <<<"$out"

# --- a parent proxy ---------------------------------------------------------------
out=$(cx -x http://127.0.0.1:3132 http://www.test/)
check "through a parent proxy: absolute-form ($out)" test "$out" = "plain origin"
out=$(cx -x http://127.0.0.1:3132 --cacert "$T_TMP/ngx/cert.pem" https://tls.test/)
check "through a parent proxy: CONNECT ($out)" test "$out" = "plain origin"
check "through a parent proxy: the parent's policy applies" \
	test "$(code -x http://127.0.0.1:3132 http://blocked.test/)" = 403
sleep 0.2
check "the parent saw the chained requests in its log" \
	test "$(grep -c '"target":"http://www.test/".*"backend":"www.test:80"' "$T_TMP/access.log")" -ge 2

# --- malformed ------------------------------------------------------------------
bad=(
	'CONNECT www.test HTTP/1.1\r\nHost: www.test\r\n\r\n'
	'GET / HTTP/1.1\r\nHost: www.test\r\n\r\n'
	'GET http:/// HTTP/1.1\r\nHost: x\r\n\r\n'
	'CONNECT www.test:0 HTTP/1.1\r\nHost: www.test:0\r\n\r\n'
	'GET http://www..test/ HTTP/1.1\r\nHost: www..test\r\n\r\n'
)
n_ok=0
for i in "${!bad[@]}"; do
	printf '%b' "${bad[$i]}" >"$T_TMP/bad.req"
	out=$(nsx fp "$PY" "$ORIGIN" raw 127.0.0.1 3128 "$T_TMP/bad.req" 1)
	status=$(head -1 <<<"$out" | awk '{print $2}')
	if [[ $status == 400 ]]; then
		n_ok=$((n_ok + 1))
	else
		echo "  malformed request $i answered '${status:-nothing}': ${bad[$i]}"
	fi
done
check "malformed proxy requests answered 400: $n_ok of ${#bad[@]}" test "$n_ok" = "${#bad[@]}"

# --- transparent interception -------------------------------------------------------
# incg CMD...: CMD in the intercepted cgroup (and the proxy's namespace).
incg() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG_ROOT/$CG_NAME" ip netns exec "$T_PREFIX-fp" "$@"; }
if [[ -z $CG_NAME ]]; then
	skip "transparent interception: no cgroup v2 here"
else
	out=$(incg curl -sS --max-time 10 -H 'Host: www.test' http://198.18.50.2/)
	check "intercepted HTTP (no -x) reaches the origin through the proxy ($out)" test "$out" = "plain origin"
	check "... and the proxy logged it as intercepted" \
		grep -q '"target":"/","protocol":"HTTP/1.1","status":200.*"backend":"www.test:80"' "$T_TMP/access.log"
	c=$(incg curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'Host: www.blocked.test' http://198.18.50.2/)
	check "intercepted HTTP: the policy applies to its Host (403: $c)" test "$c" = 403
	c=$(incg curl -s --max-time 10 -o /dev/null -w '%{http_code}' http://127.0.0.2/)
	check "intercepted HTTP to a loopback destination is refused (403: $c)" test "$c" = 403
	out=$(incg curl -sS --max-time 10 --cacert "$T_TMP/ngx/cert.pem" \
		--resolve tls.test:443:198.18.50.3 https://tls.test/)
	check "intercepted TLS (port 443) tunnels to its original destination ($out)" test "$out" = "plain origin"
	kill -USR1 "$PROXY_PID"
	sleep 0.2
	n=$(grep 'stats http tp route=(default)' "$T_TMP/proxy.log" | tail -1 | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
	check "the transparent listener took the 4 intercepted connections ($n)" test "${n:-0}" -ge 4
	out=$(nsx fp curl -sS --max-time 10 http://198.18.50.2/)
	check "a process outside the cgroup is not intercepted ($out)" test "$out" = "plain origin"
fi

# --- log --------------------------------------------------------------------------
sleep 0.2
check "the access log names the user" grep -q '"user":"alice"' "$T_TMP/access.log"
check "the access log names the deciding rule" grep -q '"route":"blocked"' "$T_TMP/access.log"
check "the access log names the destination" grep -q '"backend":"www.test:80"' "$T_TMP/access.log"
big=$(stat -c %s "$T_TMP/ngx/www/big")
check "a spliced tunnel's log line counts its bytes (>= $big sent)" \
	awk -v big="$big" '/"verdict":"tunnel"/ && /"backend":"tls.test:443"/ {
		if (match($0, /"bytes_sent":[0-9]+/)) { n = substr($0, RSTART + 13, RLENGTH - 13) + 0; if (n >= big) ok = 1 } }
		END { exit !ok }' "$T_TMP/access.log"

kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null
rc=$?
check "xdproxy exits cleanly on SIGTERM (rc $rc)" test "$rc" = 0
if [[ -n $CG_NAME ]]; then
	# Still intercepted, the connection would go to the dead proxy and fail.
	out=$(incg curl -sS --max-time 5 -H 'Host: www.test' http://198.18.50.2/ 2>&1)
	check "the interception it attached is gone after exit ($out)" test "$out" = "plain origin"
fi
if [[ $T_FAILS -gt 0 ]]; then
	echo "--- proxy log (last 30 lines)"
	tail -n 30 "$T_TMP/proxy.log"
	echo "--- access log (last 10 lines)"
	tail -n 10 "$T_TMP/access.log" 2>/dev/null
fi
t_done
