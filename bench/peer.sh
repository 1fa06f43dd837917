#!/usr/bin/env bash
# peer.sh - htable's benchmarks beside the peer's, in one window.
#
#   bench/peer.sh [REPS]
#
# Builds the peer (the rust-osdev x86_64 crate harness in
# ../shared/bench-anchors/rust-x86_64, offline, into $PEER_TARGET, default
# /tmp/htable-peer) when cargo is there, builds build-release's
# bench_htable, runs both pinned to the same CPU ($BENCH_CPU, default 1),
# one after the other, and prints each htable figure beside the peer's
# figure for the same work, with the ratio (htable / peer: below 1 is
# ahead), and the run's floor_cas and floor_store.  Never part of the
# test command: figures need a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-11}
cpu=${BENCH_CPU:-1}
peer_src=${PEER_SRC:-../shared/bench-anchors/rust-x86_64}
peer_target=${PEER_TARGET:-/tmp/htable-peer}

if ! command -v cargo >/dev/null 2>&1; then
	echo "peer.sh: cargo is not installed: no peer to compare with" >&2
	exit 2
fi
if [ ! -f "$peer_src/Cargo.toml" ]; then
	echo "peer.sh: no peer harness at $peer_src (set PEER_SRC)" >&2
	exit 2
fi
# the vendored crates' lint warnings are not ours: shown only on failure
if ! log=$(CARGO_TARGET_DIR=$peer_target cargo build --offline --release \
    --quiet --manifest-path "$peer_src/Cargo.toml" 2>&1); then
	printf '%s\n' "$log" >&2
	echo "peer.sh: building the peer failed" >&2
	exit 2
fi
[ -d build-release ] || meson setup build-release --buildtype=release \
    -Ddebug_checks=false -Dtests=false \
    >/dev/null
meson compile -C build-release bench_htable >/dev/null

out=$(mktemp)
trap 'rm -f "$out"' EXIT
BENCH_REPS=$reps BENCH_CPU=$cpu build-release/bench/bench_htable \
    2>/dev/null | grep '^bench ' >"$out"
taskset -c "$cpu" "$peer_target/release/x86_64-peer-bench" "$reps" |
    grep '^peer ' >>"$out"

# htable line -> the peer's line doing the same work per page
awk '
BEGIN {
	split("map_4k:map_4k unmap_4k:unmap_4k protect_4k:protect_4k " \
	    "map_1page_4k:map_4k unmap_1page_4k:unmap_4k " \
	    "protect_1page_4k:protect_4k " \
	    "xlate_seq_4k:xlate_seq_4k xlate_rand_4k:xlate_rand_4k " \
	    "xlate_dep_4k:xlate_dep_4k va2pa_seq_4k:xlate_seq_4k " \
	    "va2pa_rand_4k:xlate_rand_4k va2pa_dep_4k:xlate_dep_4k " \
	    "map_2m:map_2m unmap_2m:unmap_2m protect_2m:protect_2m " \
	    "map_1page_2m:map_2m unmap_1page_2m:unmap_2m " \
	    "protect_1page_2m:protect_2m " \
	    "xlate_seq_2m:xlate_seq_2m xlate_rand_2m:xlate_rand_2m " \
	    "xlate_dep_2m:xlate_dep_2m va2pa_seq_2m:xlate_seq_2m " \
	    "va2pa_rand_2m:xlate_rand_2m va2pa_dep_2m:xlate_dep_2m " \
	    "map_4k_nommu:map_4k unmap_4k_nommu:unmap_4k " \
	    "protect_4k_nommu:protect_4k map_2m_nommu:map_2m " \
	    "unmap_2m_nommu:unmap_2m protect_2m_nommu:protect_2m " \
	    "map_1page_rand_4k_nommu:map_4k " \
	    "unmap_1page_rand_4k_nommu:unmap_4k " \
	    "protect_1page_4k_nommu:protect_4k " \
	    "unmap_1page_2m_nommu:unmap_2m " \
	    "protect_1page_2m_nommu:protect_2m " \
	    "map_1page_4k_serial:map_4k unmap_1page_4k_serial:unmap_4k " \
	    "protect_1page_4k_serial:protect_4k " \
	    "map_1page_2m_serial:map_2m unmap_1page_2m_serial:unmap_2m " \
	    "protect_1page_2m_serial:protect_2m " \
	    "map_1page_4k_serial_nommu:map_4k " \
	    "unmap_1page_4k_serial_nommu:unmap_4k " \
	    "protect_1page_4k_serial_nommu:protect_4k " \
	    "unmap_1page_2m_serial_nommu:unmap_2m " \
	    "protect_1page_2m_serial_nommu:protect_2m", p, " ")
	for (i in p) {
		split(p[i], kv, ":")
		order[i] = kv[1]
		pair[kv[1]] = kv[2]
	}
	n = length(p)
}
function median(s,   m) {
	m = s
	sub(/.*median_ns=/, "", m)
	sub(/ .*/, "", m)
	return m + 0
}
$1 == "bench" { h[$2] = median($0) }
$1 == "peer" { q[$2] = median($0) }
END {
	printf "%-18s %10s %10s %8s\n", "op (ns per page)", "htable", "peer",
	    "ratio"
	for (i = 1; i <= n; i++) {
		name = order[i]
		if (!(name in h) || !(pair[name] in q))
			continue
		printf "%-18s %10.3f %10.3f %8.2f\n", name, h[name],
		    q[pair[name]], h[name] / q[pair[name]]
	}
	# the floors of this run, for the lines measured against them
	if ("floor_cas" in h && "floor_store" in h)
		printf "floors in this run: floor_cas %.3f ns, floor_store " \
		    "%.3f ns an entry\n", h["floor_cas"], h["floor_store"]
	# what a library call and a translate report cost by themselves
	if ("floor_call" in h && "floor_report" in h)
		printf "floor_call %.3f ns a call into libhtable.so, " \
		    "floor_report %.3f ns the stores of one report\n",
		    h["floor_call"], h["floor_report"]
}' "$out"
