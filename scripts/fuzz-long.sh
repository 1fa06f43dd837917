#!/usr/bin/env bash
# The long fuzz runs (make fuzz-long): each libFuzzer target for RUNS
# executions, split over JOBS workers that share one growing corpus, in a
# clang build with -Dfuzz=true (ASan and libFuzzer's coverage; src/audit.c
# uninstrumented, fuzz/coverage-ignore.txt).  Not part of `make check`;
# the checked-in seeds run in every build as the *_corpus tests.
#
# Environment (all optional):
#   TARGETS="spec import"  which targets (scan, spec, import)
#   RUNS=n        executions per target (10000000)
#   JOBS=n        workers per target (the number of cores)
#   BUILD=dir     the build directory (build-fuzz)
#   WORK=dir      corpora, logs and crash inputs (BUILD/fuzz-long); a
#                 second run with the same WORK goes on from its corpus
# Prints, per target, the executions (summed over the workers, from
# libFuzzer's stat::number_of_executed_units), the time and the findings;
# a finding's input is WORK/TARGET-crash-* (libFuzzer's artifact), to be
# replayed with `BUILD/fuzz/fuzz_TARGET FILE`.  Exits non-zero if any
# worker found something.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=${TARGETS:-spec import}
runs=${RUNS:-10000000}
jobs=${JOBS:-$(nproc)}
build=${BUILD:-build-fuzz}
work=${WORK:-$build/fuzz-long}

bash scripts/deps.sh || exit 1
if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Dtests=false \
	    >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; exit 1; }
fi
for t in $targets; do
	ninja -C "$build" "fuzz/fuzz_$t" >"$build.build.log" 2>&1 ||
	    { tail -40 "$build.build.log"; exit 1; }
done
mkdir -p "$work"

bad=0
for t in $targets; do
	seeds=fuzz/corpus_$t
	[ "$t" = scan ] && seeds=fuzz/corpus
	mkdir -p "$work/corpus_$t"
	t0=$(date +%s)
	for j in $(seq 1 "$jobs"); do
		"$build/fuzz/fuzz_$t" -runs=$(( (runs + jobs - 1) / jobs )) \
		    -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
		    -artifact_prefix="$work/$t-" "$work/corpus_$t" "$seeds" \
		    >"$work/$t.$j.log" 2>&1 &
	done
	wait
	wall=$(( $(date +%s) - t0 ))
	execs=0
	for j in $(seq 1 "$jobs"); do
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$work/$t.$j.log" | tail -1)
		execs=$(( execs + ${n:-0} ))
	done
	found=$(ls "$work/$t-"crash-* "$work/$t-"leak-* "$work/$t-"timeout-* \
	    "$work/$t-"oom-* 2>/dev/null | wc -l)
	echo "fuzz_$t: $execs executions in ${wall} s ($jobs workers)," \
	    "$found findings"
	[ "$found" -eq 0 ] || bad=1
done
exit $bad
