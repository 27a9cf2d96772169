#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# TLS termination on an http listener: certificates chosen by SNI (exact,
# wildcard, default; ECDSA and RSA), ALPN http/1.1, TLS 1.1 refused,
# resumption by ticket and by session ID for the same name and never across names, plain
# HTTP/1.1 semantics behind it (X-Forwarded-Proto: https, keep-alive, a
# large body), and a certificate reload (SIGHUP) under load with no failed
# request.
#   TLS_BIG=32M   size of the body fetched over TLS
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
t_require_root

TLS_BIG=${TLS_BIG:-32M}
for c in openssl curl; do
	command -v "$c" >/dev/null || { skip "$c not installed"; exit 77; }
done

ns_new tt >/dev/null || { fail "netns"; t_done; }

tls_cert a.test ec "DNS:a.test,DNS:*.a.test"
tls_cert def.test rsa "DNS:def.test"
cat "$T_TMP/a.test.pem" "$T_TMP/def.test.pem" >"$T_TMP/ca.pem"
tls_proxy tt a.test def.test:default || t_done

cx() { nsx tt curl -sS --max-time 20 --cacert "$T_TMP/ca.pem" --resolve "$1:8443:127.0.0.1" "${@:2}"; }
subject() {
	echo | nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 ${1:+-servername "$1"} \
		"${@:2}" 2>/dev/null | sed -n 's/^subject=.*CN *= *\([^,/]*\).*/\1/p'
}

out=$(cx a.test https://a.test:8443/headers)
check "HTTPS request through the TLS listener, certificate verified" grep -q '^GET /headers HTTP/1.1' <<<"$out"
check "... X-Forwarded-Proto: https at the origin" grep -qi '^X-Forwarded-Proto: https' <<<"$out"
check "SNI a.test: its certificate" test "$(subject a.test)" = a.test
check "SNI x.a.test: the wildcard certificate" test "$(subject x.a.test)" = a.test
check "unknown SNI: the default certificate" test "$(subject nope.test)" = def.test
check "no SNI: the default certificate" test "$(subject)" = def.test
out=$(cx a.test -v -o /dev/null https://a.test:8443/ 2>&1)
check "ALPN: http/1.1 agreed" grep -qi 'ALPN.*accepted.*http/1.1\|ALPN: server accepted http/1.1' <<<"$out"
out=$(echo | nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test -tls1_1 2>&1)
check "TLS 1.1 is refused" test -z "$(grep -i '^subject=' <<<"$out")"
out=$(cx a.test https://a.test:8443/k1 https://a.test:8443/k2 https://a.test:8443/k3)
check "keep-alive over TLS: three answers ($(tr '\n' ' ' <<<"$out"))" test "$(grep -c '^origin 8083 /k' <<<"$out")" = 3

# Resumption by ticket for the same name, never for another name.
# (TLS 1.3 tickets come after the handshake: the client must stay to read them)
sleep 1 | nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test \
	-sess_out "$T_TMP/sess" >/dev/null 2>&1
out=$(nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test -sess_in "$T_TMP/sess" </dev/null 2>/dev/null)
check "resumption for the same name" grep -q '^Reused' <<<"$out"
out=$(nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername def.test -sess_in "$T_TMP/sess" </dev/null 2>/dev/null)
check "no resumption across names (a.test's session offered for def.test)" grep -q '^New' <<<"$out"
# Resumption by session ID (TLS 1.2 without tickets: the server-side cache), same rules.
nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test -tls1_2 -no_ticket \
	-sess_out "$T_TMP/sess12" </dev/null >/dev/null 2>&1
out=$(nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test -tls1_2 -no_ticket \
	-sess_in "$T_TMP/sess12" </dev/null 2>/dev/null)
check "TLS 1.2 resumption by session ID for the same name" grep -q '^Reused' <<<"$out"
check "... the session had an ID and no ticket" grep -q 'Session-ID: [0-9A-F]\{64\}' <<<"$out"
out=$(nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername def.test -tls1_2 -no_ticket \
	-sess_in "$T_TMP/sess12" </dev/null 2>/dev/null)
check "... and not across names" grep -q '^New' <<<"$out"

want=$(head -c "$TLS_BIG" /dev/zero | tr '\0' 'z' | tee "$T_TMP/body" | sha256sum | cut -d' ' -f1)
got=$(cx a.test -X POST --data-binary @"$T_TMP/body" https://a.test:8443/sha256)
check "$TLS_BIG upload over TLS: equal sha256" test "${got%% *}" = "$want"

# Reload under load: new certificates for a.test, SIGHUP, no request fails.
nsx tt bash -c "fails=0; for i in \$(seq 1 60); do curl -s -o /dev/null --max-time 5 -k --resolve a.test:8443:127.0.0.1 https://a.test:8443/r\$i || fails=\$((fails+1)); sleep 0.02; done; echo \$fails" >"$T_TMP/load" &
lp=$!
sleep 0.3
mv "$T_TMP/a.test.pem" "$T_TMP/a-old.pem"
tls_cert a.test ec "DNS:a.test,DNS:*.a.test,DNS:new.a.test"
kill -HUP "$PROXY_PID"
wait "$lp"
check "certificate reload under load: no failed request ($(cat "$T_TMP/load") failed)" test "$(cat "$T_TMP/load")" = 0
check "the reload was logged" grep -q 'certificates reloaded' "$T_TMP/proxy.log"
new=$(echo | nsx tt timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null)
want=$(openssl x509 -in "$T_TMP/a.test.pem" -noout -fingerprint -sha256)
check "after the reload new connections get the new certificate" test "$new" = "$want"

kill -USR1 "$PROXY_PID"
sleep 0.2
hs=$(grep 'stats http accepted=' "$T_TMP/proxy.log" | tail -1 | tr ' ' '\n' | sed -n 's/^tls_handshakes=//p')
check "handshakes counted ($hs)" test "${hs:-0}" -ge 10

tls_stop
[[ $T_FAILS -gt 0 ]] && tail -n 20 "$T_TMP/proxy.log"
t_done
