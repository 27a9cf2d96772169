#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs the test suites and ends with one line "N passed, N failed[, N skipped]".
#   tests/run.sh all|unit|bpf|integration|fuzz [filter]
# Unit and BPF tests are cmocka programs: their "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines are counted. Integration tests are
# tests/integration/test_*.sh; each prints "PASS: name" / "FAIL: name" /
# "SKIP: name" per check and exits non-zero on failure (77 alone = skipped).
# Fuzz harnesses are libFuzzer programs ($BUILD/fuzz/fuzz_*); each runs for
# FUZZ_SECS seconds (10 here; `make fuzz` passes 60) and counts as one test,
# passed when it exits 0.
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

# Each harness starts from its seeds in tests/fuzz/corpus/<name>/ (read
# only) plus what earlier runs found in $BUILD/fuzz/corpus/<name>/. A crash,
# sanitizer report, leak, timeout or broken invariant fails it; the input is
# left in $BUILD/fuzz/artifacts/ to replay with "$BUILD/fuzz/<name> FILE".
run_fuzz() {
	local b secs=${FUZZ_SECS:-10}
	for b in "$BUILD"/fuzz/fuzz_*; do
		[[ -f $b && -x $b ]] || continue
		[[ -n $filter && $b != *$filter* ]] && continue
		local name log rc execs cov corpus
		name=$(basename "$b")
		log="$logdir/$name.log"
		corpus=$BUILD/fuzz/corpus/$name
		mkdir -p "$corpus" "$BUILD/fuzz/artifacts"
		"$b" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
			-artifact_prefix="$BUILD/fuzz/artifacts/$name-" \
			"$corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1
		rc=$?
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		if [[ $rc -eq 0 ]]; then
			passed=$((passed + 1))
			echo "ok    fuzz/$name (${execs:-?} execs, ${cov:-cov: ?} edges, ${secs}s)"
		else
			failed=$((failed + 1)); failures+=("fuzz/$name")
			echo "FAIL  fuzz/$name (exit $rc) - $log"
			grep -E 'ERROR|SUMMARY|invariant failed|Test unit written' "$log" | head -10
		fi
	done
}

case $suite in
unit) run_unit ;;
bpf) run_bpf ;;
integration) run_integration ;;
fuzz) run_fuzz ;;
all) run_unit; run_bpf; run_integration; run_fuzz ;;
*) echo "usage: $0 all|unit|bpf|integration|fuzz [filter]" >&2; exit 2 ;;
esac

[[ ${#failures[@]} -gt 0 ]] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
