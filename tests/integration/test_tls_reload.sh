#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Certificate reload under load (issue #6): while tlsload makes new TLS
# connections without pause, each verifying the certificate and making a
# request, and a second tlsload resumes TLS 1.3 sessions by ticket, the
# certificate files are replaced and xdproxy is sent SIGHUP, RELOADS times,
# once with a broken certificate in between. Asserted: no connection and no
# request failed in either load; the certificates of every generation were
# served during the load (each reload took effect while connections were
# being made); tickets issued before a reload still resume after it; the
# broken file left the last good certificate in place, said so in the log,
# and the next good one was taken; after the load a new connection gets
# the last certificate.
#   RELOAD_SECS=8   length of the load
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
t_require_root

RELOAD_SECS=${RELOAD_SECS:-8}
RELOADS=4
TLSLOAD=${TLSLOAD:-$BUILD/tests/tools/tlsload}
for c in openssl "${PYTHON:-python3}"; do
	command -v "$c" >/dev/null || { skip "$c not installed"; exit 77; }
done
[[ -x $TLSLOAD ]] || { fail "$TLSLOAD not built (make test-build)"; t_done; }

ns_new tr >/dev/null || { fail "netns"; t_done; }

# Generations 0..RELOADS of a.test's certificate, made up front; the
# client trusts all of them (and only them), so a certificate that is
# none of these, or a torn one, fails its connection.
for ((g = 0; g <= RELOADS; g++)); do
	tls_cert "gen$g" ec DNS:a.test 2 "a.test gen $g"
	cat "$T_TMP/gen$g.pem" >>"$T_TMP/ca.pem"
done
# fp FILE: the certificate's SHA-256 as tlsload prints it (16 hex digits)
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' | cut -c1-16; }
# install G: generation G's files where the config points, each by an
# atomic rename, the key first (a reload between the two would see the new
# key with the old certificate, refuse the pair and keep the old one)
install() {
	cp "$T_TMP/gen$1.key" "$T_TMP/live.key.tmp" && mv "$T_TMP/live.key.tmp" "$T_TMP/live.key"
	cp "$T_TMP/gen$1.pem" "$T_TMP/live.pem.tmp" && mv "$T_TMP/live.pem.tmp" "$T_TMP/live.pem"
}
install 0
tls_proxy tr live || t_done

# Load A: new connections, certificate verified against the generations,
# one GET each. Load B: TLS 1.3 resumption by ticket, no request.
nsx tr "$TLSLOAD" -a 127.0.0.1:8443 -s a.test -C "$T_TMP/ca.pem" -c 8 -d "$RELOAD_SECS" \
	-q /reload >"$T_TMP/load-a.txt" 2>"$T_TMP/load-a.err" &
la=$!
nsx tr "$TLSLOAD" -a 127.0.0.1:8443 -s a.test -C "$T_TMP/ca.pem" -c 4 -d "$RELOAD_SECS" \
	-V 1.3 -r ticket >"$T_TMP/load-b.txt" 2>"$T_TMP/load-b.err" &
lb=$!
T_PIDS+=("$la" "$lb")

# reloaded N: wait (up to 5 s) until the log has N "certificates reloaded"
reloaded() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(grep -c 'certificates reloaded' "$T_TMP/proxy.log") -ge $1 ]] && return 0
		sleep 0.05
	done
	return 1
}
# Spread the reloads over the middle of the load: generation g at g/(R+2)
# of it, the broken file half way between the second and the third.
step=$(awk -v s="$RELOAD_SECS" -v r=$RELOADS 'BEGIN { printf "%.2f", s / (r + 2) }')
sleep "$step"
good=0
for ((g = 1; g <= RELOADS; g++)); do
	if [[ $g == 3 ]]; then
		# A truncated certificate: the reload must fail and keep gen 2.
		head -c 100 "$T_TMP/gen3.pem" >"$T_TMP/live.pem.tmp" && mv "$T_TMP/live.pem.tmp" "$T_TMP/live.pem"
		kill -HUP "$PROXY_PID"
		sleep "$(awk -v s="$step" 'BEGIN { print s / 2 }')"
	fi
	install "$g"
	kill -HUP "$PROXY_PID"
	good=$((good + 1))
	reloaded "$good" || fail "reload $g not logged within 5 s"
	sleep "$step"
done
wait "$la"
ra=$?
wait "$lb"
rb=$?
a=$(head -n1 "$T_TMP/load-a.txt")
b=$(head -n1 "$T_TMP/load-b.txt")
echo "load A: $a"
echo "load B: $b"
kv() { sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }

check "reloads under load: no failed connection or request in load A ($(kv "$a" failed) failed: $(head -n1 "$T_TMP/load-a.err"))" \
	test "$ra" = 0 -a "$(kv "$a" failed)" = 0
# (each slot may end with a handshake done and its request cut by the end)
check "load A made connections throughout ($(kv "$a" handshakes) handshakes, $(kv "$a" requests) requests)" \
	test "$(kv "$a" requests)" -ge $((RELOAD_SECS * 20)) -a "$(kv "$a" requests)" -ge $(($(kv "$a" handshakes) - 8))
check "reloads under load: no failed resumption connection in load B ($(kv "$b" failed) failed: $(head -n1 "$T_TMP/load-b.err"))" \
	test "$rb" = 0 -a "$(kv "$b" failed)" = 0
hs=$(kv "$b" handshakes) res=$(kv "$b" resumed)
check "tickets issued before a reload resume after it ($res of $hs resumed)" \
	test "${hs:-0}" -gt $((RELOAD_SECS * 20)) -a $((100 * ${res:-0})) -ge $((95 * ${hs:-1}))
certs=$(kv "$a" certs)
for ((g = 0; g <= RELOADS; g++)); do
	if [[ $g == 3 ]]; then continue; fi
	n=$(tr ',' '\n' <<<"$certs" | sed -n "s/^$(fp "$T_TMP/gen$g.pem"):\\([0-9]*\\)$/\\1/p")
	check "generation $g was served during the load (${n:-0} connections)" test "${n:-0}" -gt 0
done
n=$(tr ',' '\n' <<<"$certs" | sed -n "s/^$(fp "$T_TMP/gen3.pem"):\\([0-9]*\\)$/\\1/p")
check "generation 3 too, after its broken first try (${n:-0} connections)" test "${n:-0}" -gt 0
check "the broken certificate was refused and said so" \
	grep -q 'some certificates could not be loaded' "$T_TMP/proxy.log"
check "every good reload was logged ($(grep -c 'certificates reloaded' "$T_TMP/proxy.log") of $RELOADS)" \
	test "$(grep -c 'certificates reloaded' "$T_TMP/proxy.log")" = "$RELOADS"
new=$(echo | nsx tr timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername a.test 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null)
want=$(openssl x509 -in "$T_TMP/gen$RELOADS.pem" -noout -fingerprint -sha256)
check "after the reloads a new connection gets the last certificate" test "$new" = "$want"

tls_stop
[[ $T_FAILS -gt 0 ]] && { cat "$T_TMP/load-a.err" "$T_TMP/load-b.err"; tail -n 20 "$T_TMP/proxy.log"; }
t_done
