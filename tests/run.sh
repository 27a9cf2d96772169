#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs the test suites and ends with one line "N passed, N failed[, N skipped]".
#   tests/run.sh all|unit|bpf|integration [filter]
# Unit and BPF tests are cmocka programs: their "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines are counted. Integration tests are
# tests/integration/test_*.sh; each prints "PASS: name" / "FAIL: name" /
# "SKIP: name" per check and exits non-zero on failure (77 alone = skipped).
set -u
BUILD=${BUILD:-build}
suite=${1:-all}
filter=${2:-}
passed=0 failed=0 skipped=0
failures=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"

run_cmocka() { # name command...
	local name=$1 log="$logdir/${1//\//_}.log" p f
	shift
	"$@" >"$log" 2>&1
	local rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0} f=${f:-0}
	if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi # crashed or sanitizer abort
	if [[ $rc -eq 77 ]]; then
		skipped=$((skipped + 1)); echo "SKIP  $name"; return
	fi
	passed=$((passed + p)); failed=$((failed + f))
	if [[ $f -ne 0 ]]; then
		failures+=("$name"); echo "FAIL  $name ($p passed, $f failed) - $log"
		sed -n '/\[  FAILED  \]\|\[  ERROR   \]\|ERROR\|Sanitizer\|runtime error/p' "$log" | head -20
	else
		echo "ok    $name ($p)"
	fi
}

run_unit() {
	local b
	for b in "$BUILD"/tests/unit/test_* "$BUILD"/tests/unit-asan/test_*; do
		[[ -x $b ]] || continue
		[[ -n $filter && $b != *$filter* ]] && continue
		local tag=unit
		[[ $b == */unit-asan/* ]] && tag=unit-asan
		ASAN_OPTIONS=detect_leaks=1 run_cmocka "$tag/$(basename "$b")" "$b"
	done
}

run_bpf() {
	local b ns="xdpb$$"
	# BPF tests use loopback sockets: give them a namespace of their own.
	if [[ $(id -u) -eq 0 ]] && ip netns add "$ns" 2>/dev/null; then
		ip -n "$ns" link set lo up
		trap 'ip netns del '"$ns"' 2>/dev/null' EXIT
	else
		ns=""
	fi
	for b in "$BUILD"/tests/bpf/test_*; do
		[[ -x $b ]] || continue
		[[ -n $filter && $b != *$filter* ]] && continue
		if [[ -n $ns ]]; then
			run_cmocka "bpf/$(basename "$b")" ip netns exec "$ns" "$b"
		else
			run_cmocka "bpf/$(basename "$b")" "$b"
		fi
	done
	[[ -n $ns ]] && ip netns del "$ns" 2>/dev/null
	trap - EXIT
}

run_integration() {
	local t
	for t in tests/integration/test_*.sh; do
		[[ -f $t ]] || continue
		[[ -n $filter && $t != *$filter* ]] && continue
		local name log rc p f s start
		name=integration/$(basename "$t" .sh)
		log="$logdir/$(basename "$t" .sh).log"
		start=$SECONDS
		BUILD=$BUILD timeout --kill-after=10 600 bash "$t" >"$log" 2>&1
		rc=$?
		p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
		if [[ $rc -eq 77 && $f -eq 0 ]]; then
			s=$((s > 0 ? s : 1))
		elif [[ $rc -ne 0 && $f -eq 0 ]]; then
			f=1; echo "FAIL: $name exited $rc" >>"$log"
		fi
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
		if [[ $f -ne 0 ]]; then
			failures+=("$name"); echo "FAIL  $name ($p passed, $f failed, $((SECONDS - start))s) - $log"
			grep -E '^(FAIL|SKIP): ' "$log" | head -20
			tail -15 "$log" | sed 's/^/    | /'
		else
			echo "ok    $name ($p passed, $s skipped, $((SECONDS - start))s)"
			grep '^SKIP: ' "$log" | head -5
		fi
	done
}

case $suite in
unit) run_unit ;;
bpf) run_bpf ;;
integration) run_integration ;;
all) run_unit; run_bpf; run_integration ;;
*) echo "usage: $0 all|unit|bpf|integration [filter]" >&2; exit 2 ;;
esac

[[ ${#failures[@]} -gt 0 ]] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
