#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS passthrough: a tcp listener routes each connection by the server name
# in its ClientHello, without terminating TLS, to one of two openssl
# s_server backends (each with its own certificate), then splices the pair
# like any TCP session. Which certificate the client sees tells which
# backend it reached; a large file checks the spliced stream end to end.
#   TLS_BIG=64M   size of the file fetched through the passthrough
. "$(dirname "$0")/lib.sh"
t_require_root

TLS_BIG=${TLS_BIG:-64M}
command -v openssl >/dev/null || { skip "openssl not installed"; exit 77; }
command -v curl >/dev/null || { skip "curl not installed"; exit 77; }

ns_new tp >/dev/null || { fail "netns"; t_done; }

# Two backends: a.test (ECDSA) and the "default" one for everything else.
for n in a def; do
	mkdir -p "$T_TMP/$n"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$n.test" -addext "subjectAltName=DNS:$n.test,DNS:*.$n.test" \
		-keyout "$T_TMP/$n/key.pem" -out "$T_TMP/$n/cert.pem" 2>/dev/null ||
		fail "certificate for $n"
	echo "backend $n" >"$T_TMP/$n/who"
done
head -c "$TLS_BIG" /dev/urandom >"$T_TMP/a/big"
(cd "$T_TMP/a" && exec ip netns exec "$T_PREFIX-tp" openssl s_server -quiet -WWW -accept 127.0.0.1:9441 \
	-cert cert.pem -key key.pem >/dev/null 2>&1) &
T_PIDS+=($!)
(cd "$T_TMP/def" && exec ip netns exec "$T_PREFIX-tp" openssl s_server -quiet -WWW -accept 127.0.0.1:9442 \
	-cert cert.pem -key key.pem >/dev/null 2>&1) &
T_PIDS+=($!)
wait_port tp 127.0.0.1 9441 || fail "backend a"
wait_port tp 127.0.0.1 9442 || fail "backend def"

cat >"$T_TMP/xdproxy.yaml" <<EOF
global:
  stats_interval: 0
listeners:
  - name: tls
    bind: 127.0.0.1:9443
    connect_timeout: 1s
    sni_routes:
      - names: [a.test, "*.a.test"]
        pool: a
    pool: def
  - name: strict
    bind: 127.0.0.1:9444
    connect_timeout: 1s
    sni_routes:
      - names: [a.test]
        pool: a
pools:
  - name: a
    backends:
      - address: 127.0.0.1:9441
  - name: def
    backends:
      - address: 127.0.0.1:9442
EOF
if ! start_proxy tp "$T_TMP/xdproxy.yaml"; then
	fail "xdproxy starts with sni_routes"
	cat "$T_TMP/proxy.log"
	t_done
fi
pass "xdproxy starts with sni_routes"

# get NAME PORT PATH: fetch https://NAME:PORT/PATH through the proxy on 127.0.0.1
get() {
	nsx tp curl -sS --max-time 30 --cacert "$T_TMP/a/cert.pem" --cacert "$T_TMP/def/cert.pem" \
		--resolve "$1:$2:127.0.0.1" "https://$1:$2/$3"
}
subject() {
	echo | nsx tp timeout 5 openssl s_client -connect "127.0.0.1:$1" ${2:+-servername "$2"} \
		2>/dev/null | sed -n 's/^subject=.*CN *= *\([^,/]*\).*/\1/p'
}

check "SNI a.test reaches backend a (its certificate: $(subject 9443 a.test))" \
	test "$(subject 9443 a.test)" = a.test
check "SNI x.a.test (wildcard) reaches backend a" test "$(subject 9443 x.a.test)" = a.test
check "an unknown SNI goes to the listener's pool ($(subject 9443 other.test))" \
	test "$(subject 9443 other.test)" = def.test
check "no SNI goes to the listener's pool" test "$(subject 9443)" = def.test
out=$(nsx tp curl -sS --max-time 10 -k --resolve a.test:9443:127.0.0.1 https://a.test:9443/who)
check "curl through the passthrough, TLS end to end with backend a ($out)" test "$out" = "backend a"
want=$(sha256sum <"$T_TMP/a/big" | cut -d' ' -f1)
got=$(nsx tp curl -sS --max-time 60 -k --resolve a.test:9443:127.0.0.1 https://a.test:9443/big | sha256sum | cut -d' ' -f1)
check "$TLS_BIG through the spliced passthrough: equal sha256" test "$got" = "$want"

# A listener without a default pool closes what it cannot route.
out=$(subject 9444 other.test)
check "strict listener: an unknown SNI is closed, no certificate ($out)" test -z "$out"
check "strict listener: a.test still routed" test "$(subject 9444 a.test)" = a.test
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >"$T_TMP/plain.req"
# (unread bytes make the close a reset: only what comes back counts)
out=$(nsx tp timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/9444; cat '$T_TMP/plain.req' >&3; cat <&3" 2>/dev/null)
check "strict listener: plain HTTP (not TLS) is closed without an answer" test -z "$out"
# A client that sends a partial ClientHello and stalls is closed after connect_timeout.
t0=$(date +%s%N)
nsx tp timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/9443; printf '\x16\x03\x01\x02\x00\x01' >&3; cat <&3" >/dev/null 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a stalled ClientHello is given up after about 1 s ($ms ms)" test "$ms" -ge 800 -a "$ms" -lt 4000

kill -USR1 "$PROXY_PID"
sleep 0.2
line=$(grep 'stats accepted=' "$T_TMP/proxy.log" | tail -1)
routed=$(sed -n 's/.* sni_routed=\([0-9]*\).*/\1/p' <<<"$line")
refused=$(sed -n 's/.* sni_refused=\([0-9]*\).*/\1/p' <<<"$line")
check "counters: routed $routed, refused $refused" test "${routed:-0}" -ge 7 -a "${refused:-0}" -ge 3

kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null
rc=$?
check "xdproxy exits cleanly (rc $rc)" test "$rc" = 0
[[ $T_FAILS -gt 0 ]] && tail -n 20 "$T_TMP/proxy.log"
t_done
