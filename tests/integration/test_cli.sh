#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The xdproxy command line: every verb, bad arguments and bad configs give a
# clear message and a non-zero exit, never a crash.
. "$(dirname "$0")/lib.sh"

X=$XDPROXY
c="$T_TMP/c.yaml"

# expect_exit CODE PATTERN CMD...: exit code and a message matching PATTERN.
expect_exit() {
	local code=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [[ $rc -eq $code ]] && grep -qE -- "$pat" <<<"$out"; then
		return 0
	fi
	echo "  got exit $rc: $out"
	return 1
}

check "version prints the version" expect_exit 0 '^xdproxy [0-9]+\.[0-9]+' "$X" version
check "help lists run and check" expect_exit 0 'run -c FILE' "$X" help
check "no command: usage, exit 2" expect_exit 2 'usage:' "$X"
check "unknown command: exit 2" expect_exit 2 "unknown command 'frobnicate'" "$X" frobnicate
check "run without -c: exit 2" expect_exit 2 'needs -c FILE' "$X" run
check "unknown option: exit 2" expect_exit 2 'usage:' "$X" run --bogus
check "removed option --engine: exit 2" expect_exit 2 'usage:' "$X" run -c - --engine verdict
check "stray argument: exit 2" expect_exit 2 "unexpected argument 'extra'" "$X" check -c - extra
check "embedded default config is valid" expect_exit 0 'ok, 1 listener' "$X" check -c -
check "missing file: exit 1 with the reason" expect_exit 1 'No such file' "$X" check -c "$T_TMP/nope.yaml"

cat >"$c" <<'EOF'
listeners:
  - name: a
    bind: 127.0.0.1:9000
    pool: p
    colour: blue
pools:
  - name: p
    backends:
      - address: 127.0.0.1:9001
EOF
check "unknown key: file:line:col and exit 1" expect_exit 1 "c.yaml:5:[0-9]+: .*colour" "$X" check -c "$c"

cat >"$c" <<'EOF'
listeners:
  - name: a
    bind: 127.0.0.1:99999
    pool: p
pools:
  - name: p
    backends:
      - address: 127.0.0.1:9001
EOF
check "bad port: file:line:col and exit 1" expect_exit 1 "c.yaml:3:[0-9]+: " "$X" check -c "$c"

cat >"$c" <<'EOF'
listeners:
  - name: a
    bind: 127.0.0.1:9000
    pool: nosuch
pools:
  - name: p
    backends:
      - address: 127.0.0.1:9001
EOF
check "unknown pool: file:line:col and exit 1" expect_exit 1 "c.yaml:4:[0-9]+: .*nosuch" "$X" check -c "$c"

printf 'listeners: [\n' >"$c"
check "YAML syntax error: position and exit 1" expect_exit 1 "c.yaml:[0-9]+:[0-9]+: " "$X" run -c "$c"
check "bad log level: exit 1" expect_exit 1 "unknown log level" "$X" run -c - --log-level loud

if [[ $(id -u) -eq 0 ]]; then
	ns_new cli >/dev/null
	# The listener address is not on any interface of this namespace.
	cat >"$c" <<'EOF'
listeners:
  - name: a
    bind: 198.18.200.1:9000
    pool: p
    splice: user
pools:
  - name: p
    backends:
      - address: 127.0.0.1:9001
EOF
	check "unbindable address: clear error, exit 1" \
		expect_exit 1 "listener a: cannot listen on 198.18.200.1:9000" nsx cli "$X" run -c "$c"
	sed -i 's/198.18.200.1/127.0.0.1/' "$c"
	ip netns exec "$T_PREFIX-cli" "$X" run -c "$c" >"$T_TMP/run.log" 2>&1 &
	pid=$!
	T_PIDS+=("$pid")
	for ((i = 0; i < 50; i++)); do grep -q ' ready' "$T_TMP/run.log" && break; sleep 0.1; done
	check "run reports ready" grep -q ' ready' "$T_TMP/run.log"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	check "SIGTERM: clean exit 0 (got $rc)" test "$rc" -eq 0
	check "SIGTERM: shutdown logged" grep -q 'signal 15: shutting down' "$T_TMP/run.log"
else
	skip "run tests need root"
fi
t_done
