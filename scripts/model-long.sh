#!/usr/bin/env bash
# The long model run (make model-long): tests/model/test_model at 10^6
# operations in every mode and its low-memory variant, in an optimised
# build with the debug checks on (release, -Ddebug_checks=true), the runs
# spread over the cores.  Not part of `make check` or of any meson suite.
#
# Environment (all optional):
#   OPS=n          operations per run (1000000)
#   HT_SEED=s      the seed of every run (else one from the clock, printed)
#   AUDIT_EVERY=k  ht_audit after every k-th operation (10; 1 = each, which
#                  costs 5x the CPU: about 23 CPU-minutes at 10^6); the
#                  sampled translations after every operation and the full
#                  walks every 300 operations are never thinned out
#   JOBS=n         runs at once (the number of cores)
#   BUILD=dir      the build directory (build-long)
# Prints one line per run: ops, seed, audits, time, divergences (the model
# test stops at the first one, which it prints with the operations before
# it), and a total; exits non-zero if any run diverged.
set -uo pipefail
cd "$(dirname "$0")/.."

ops=${OPS:-1000000}
every=${AUDIT_EVERY:-10}
jobs=${JOBS:-$(nproc)}
build=${BUILD:-build-long}
seed=${HT_SEED:-$(printf '0x%016x' "$(( $(date +%s%N) ^ ($$ << 32) ))")}

bash scripts/deps.sh || exit 1
if [ ! -d "$build" ]; then
	# No Criterion limit per test: a run takes minutes, not seconds.
	meson setup "$build" -Dbuildtype=release -Ddebug_checks=true \
	    -Dc_args=-DMODEL_TIMEOUT=0 >"$build.setup.log" 2>&1 ||
	    { cat "$build.setup.log"; exit 1; }
fi
ninja -C "$build" tests/model/test_model >"$build.build.log" 2>&1 ||
    { tail -40 "$build.build.log"; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
runs="32bit 32bit_lowmem pae pae_lowmem 4level 4level_lowmem 5level
    5level_lowmem npt4 npt4_lowmem npt5 npt5_lowmem ept4 ept5 ept5_lowmem"

echo "model-long: $ops operations per run, seed $seed, audit every $every," \
    "$jobs at a time ($build: release, debug checks on)"

# one RUN: the Criterion test model/RUN alone, timed
one() {
	local t0 rc
	t0=$(date +%s%N)
	HT_SEED=$seed HT_MODEL_OPS=$ops HT_MODEL_AUDIT_EVERY=$every \
	    HT_MODEL_VERBOSE=1 "$build/tests/model/test_model" -j1 \
	    --filter "model/$1" >"$out/$1.log" 2>&1
	rc=$?
	echo "$rc $(( ($(date +%s%N) - t0) / 1000000 ))" >"$out/$1.rc"
}
export -f one
export build out seed ops every
t0=$(date +%s)
printf '%s\n' $runs | xargs -P "$jobs" -I{} bash -c 'one {}'
wall=$(( $(date +%s) - t0 ))

bad=0
printf '%-14s %9s %-18s %8s %9s  %s\n' run ops seed audits time divergences
for r in $runs; do
	read -r rc ms <"$out/$r.rc"
	log=$out/$r.log
	audits=$(sed -n 's/.* ops, [0-9]* walks, \([0-9]*\) audits.*/\1/p' "$log")
	if [ "$rc" -eq 0 ] && grep -q 'Passing: 1 ' "$log"; then
		div=0
	else
		bad=$((bad + 1))
		div="1 (the run stops at the first): $(grep -m1 'model seed=.* op #' "$log" ||
		    tail -3 "$log")"
	fi
	printf '%-14s %9s %-18s %8s %6d.%ds  %s\n' "$r" "$ops" "$seed" \
	    "${audits:--}" $((ms / 1000)) $((ms % 1000 / 100)) "$div"
done
for r in $runs; do
	if ! grep -q 'Passing: 1 ' "$out/$r.log"; then
		echo "== $r"
		cat "$out/$r.log"
	fi
done
echo "model-long: $(echo "$runs" | wc -w) runs, $bad diverged, wall ${wall}s"
[ "$bad" -eq 0 ]
