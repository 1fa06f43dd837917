#!/usr/bin/env bash
# threads.sh - how two threads scale, told apart from the host.
#
#   bench/threads.sh [ROUNDS] [REPS]
#
# The two-thread lines of `make bench` give each thread's time beside the
# other and alone on its own CPU (bench_calls.c).  On a VM whose host runs
# other tenants, one vCPU is often slower than the other for seconds at a
# time, and a thread whose CPU slows while it runs beside the other, but
# not while it runs alone, reads as a loss of scaling that no library
# shares.  This script puts a control beside those lines, round after
# round, so that such moments show:
#
#  - "procs": two processes, each running the one-thread steady line
#    (map_1page_steady_t1) pinned to its own CPU: each alone, then each
#    again while the other CPU runs the same line in a loop from before
#    the measured run starts until after it ends.  They share nothing
#    but the machine.
#  - the in-process lines: floor_private_t2 (the entry writes alone, no
#    library), map_1page_steady_t2_one and _two, map_1page_cached_t2_one.
#
# Each figure is (1/c0 + 1/c1) / mean(1/a0, 1/a1): 2.00 when nothing is
# shared, whatever each CPU's speed (c: ns a call beside the other, a:
# alone).  A round is "quiet" when, in the two lines that share nothing
# (procs and floor_private_t2), each CPU's alone time is within 10% of
# the lowest that line saw on that CPU in the run: both vCPUs ran at
# their full speed.  The summary gives min / median / max over the
# quiet rounds and over all.  Never part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
reps=${2:-9}

if [ "$(nproc)" -lt 2 ]; then
	echo "threads.sh: needs two CPUs, this machine has $(nproc)" >&2
	exit 2
fi
[ -d build-release ] || meson setup build-release --buildtype=release \
    -Ddebug_checks=false -Dtests=false >/dev/null
meson compile -C build-release bench_htable >/dev/null
bench=build-release/bench/bench_htable
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the median ns a call of the steady line in a run's output
median() {
	sed -n 's/^bench map_1page_steady_t1 median_ns=\([0-9.]*\).*/\1/p' "$1"
}

one() {		# one(cpu, out): the one-thread steady line on cpu
	BENCH_CPU=$1 BENCH_REPS=$reps "$bench" map_1page_steady_t1 \
	    >"$2" 2>&1
}

# a note's "beside / alone" pair of figures, as two sed groups
pair='\([0-9.]*\) \/ \([0-9.]*\)'
note_re="^note: \([a-z0-9_]*\): each.*: $pair on CPU 0, $pair on CPU 1:.*"
for r in $(seq 1 "$rounds"); do
	one 0 "$tmp/a0"
	one 1 "$tmp/a1"
	# each measured while the other CPU runs the same line throughout
	for c in 0 1; do
		rm -f "$tmp/stop"
		(while [ ! -e "$tmp/stop" ]; do
			one $((1 - c)) "$tmp/bg"
		done) &
		bg=$!
		one $c "$tmp/c$c"
		touch "$tmp/stop"
		wait $bg
	done
	echo "procs $(median "$tmp/a0") $(median "$tmp/a1")" \
	    "$(median "$tmp/c0") $(median "$tmp/c1")" >"$tmp/round"
	# notes: "NAME: ... c0 / a0 on CPU 0, c1 / a1 on CPU 1: S x one ..."
	BENCH_REPS=$reps "$bench" floor_private_t2 map_1page_steady_t2_one \
	    map_1page_steady_t2_two map_1page_cached_t2_one 2>&1 |
	    sed -n "s/$note_re/\1 \3 \5 \2 \4/p" \
	    >>"$tmp/round"
	sed "s/^/$r /" "$tmp/round" >>"$tmp/all"
done

# all: "round line a0 a1 c0 c1"
awk '
function scale(a0, a1, c0, c1) {
	return (1 / c0 + 1 / c1) / ((1 / a0 + 1 / a1) / 2)
}
function summary(line, q,    n, i, j, t, v) {
	n = 0
	for (i = 1; i <= nr; i++)
		if ((line, i) in s && (!q || quiet[i]))
			v[++n] = s[line, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	if (n == 0)
		return "-"
	return sprintf("%.2f / %.2f / %.2f (%d)", v[1],
	    n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, v[n], n)
}
{
	r = $1; l = $2
	if (r > nr)
		nr = r
	if (!(l in seen)) {
		seen[l] = 1
		order[++nl] = l
	}
	a0[l, r] = $3; a1[l, r] = $4; c0[l, r] = $5; c1[l, r] = $6
	s[l, r] = scale($3, $4, $5, $6)
	if (!((l, 0) in lo) || $3 < lo[l, 0])
		lo[l, 0] = $3
	if (!((l, 1) in lo) || $4 < lo[l, 1])
		lo[l, 1] = $4
}
END {
	printf "%-5s", "round"
	for (k = 1; k <= nl; k++)
		printf " %32s", order[k]
	printf "\n"
	for (i = 1; i <= nr; i++) {
		quiet[i] = 1
		printf "%-5d", i
		for (k = 1; k <= nl; k++) {
			l = order[k]
			if (!((l, i) in s)) {
				printf " %32s", "-"
				continue
			}
			if ((l == "procs" || l == "floor_private_t2") &&
			    (a0[l, i] > 1.1 * lo[l, 0] ||
			    a1[l, i] > 1.1 * lo[l, 1]))
				quiet[i] = 0
			printf " %5.1f/%5.1f %5.1f/%5.1f %5.2fx", c0[l, i],
			    a0[l, i], c1[l, i], a1[l, i], s[l, i]
		}
		printf "  %s\n", quiet[i] ? "quiet" : "host busy"
	}
	printf "\n(each: ns a call beside the other / alone, CPU 0 then " \
	    "CPU 1; the scaling)\n"
	printf "scaling, min / median / max (rounds):\n"
	for (k = 1; k <= nl; k++)
		printf "  %-26s quiet %-26s all %s\n", order[k],
		    summary(order[k], 1), summary(order[k], 0)
}' "$tmp/all"
