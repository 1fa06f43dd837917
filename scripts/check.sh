#!/usr/bin/env bash
# The test command: install what is missing, build with gcc and clang
# (-Wall -Wextra -Werror), run every suite, again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the threaded suites under
# ThreadSanitizer.  The last line is "N passed, N failed[, N skipped]" over
# every test case of every run.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bash scripts/deps.sh --tests || { echo "deps: installing packages failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0; failed=0; skipped=0
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
note_fail() { echo "check: FAILED: $*"; failed=$((failed + 1)); }

# setup DIR CC [meson args...]: configure once, reconfigure if it exists
setup() {
	local dir=$1 cc=$2; shift 2
	if [ -d "$dir" ]; then
		CC=$cc meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		CC=$cc meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; return 1; }
}

# count DIR: add up the Criterion syntheses of DIR's last test run
count() {
	local log=$1/meson-logs/testlog.txt t p f c
	[ -f "$log" ] || return 0
	while read -r t p f c; do
		passed=$((passed + p)); failed=$((failed + f + c))
		# Criterion counts a skipped test in Tested only
		skipped=$((skipped + t - p - f - c))
	done < <(sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3 \4/p' "$log")
}

# run NAME DIR CC SUITES [meson args...]
run() {
	local name=$1 dir=$2 cc=$3 suites=$4; shift 4
	echo "== $name =="
	if ! setup "$dir" "$cc" "$@"; then note_fail "$name: configure"; return; fi
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		tail -40 "$dir.build.log"; note_fail "$name: build"; return
	fi
	local args=()
	for s in $suites; do args+=(--suite "$s"); done
	meson test -C "$dir" --print-errorlogs --num-processes 2 "${args[@]}" \
	    >"$dir.test.log" 2>&1
	local rc=$?
	grep -E '^(Ok|Fail|Timeout|Skipped|Expected Fail|Unexpected Pass):' "$dir.test.log" | tr '\n' ' '; echo
	local before=$failed
	count "$dir"
	if [ $rc -ne 0 ] && [ $failed -eq "$before" ]; then
		tail -60 "$dir.test.log"; note_fail "$name: a suite failed outside Criterion"
	elif [ $rc -ne 0 ]; then
		grep -E '\[FAIL\]|\[----\].*(Assertion|failed|error)|CRASH' "$dir.test.log" | head -40
	fi
}

# qemu: the dump formats against QEMU's own monitor; hardware: verify on
# KVM and QEMU.  They are slow, so clang skips them; gcc and ASan run them.
run "gcc, debug checks" build-gcc gcc "unit model integration stress qemu hardware"
# clang: the warning build of the whole tree, and the suites once more
run "clang, debug checks" build-clang clang "unit integration"
run "gcc, ASan+UBSan" build-asan gcc "unit model integration stress qemu hardware" \
    -Db_sanitize=address,undefined -Db_lundef=false
run "clang, TSan (threaded suites)" build-tsan clang "tsan" \
    -Db_sanitize=thread -Db_lundef=false

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
