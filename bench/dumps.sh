#!/usr/bin/env bash
# dumps.sh - htable on multi-GiB images and dump files (issue 15): the
# time and peak memory of `htable dump`, `translate` and `roots`, and
# bench_dump's figures (the scan, ht_scan_translate beside libaddrxlat
# walking the same addresses through the same reader, roots_find).
#
#   bench/dumps.sh [GIB]
#
# Builds (build-release) htable and bench_dump, then in a scratch
# directory under $TMPDIR:
#  - raw.img: GIB GiB (default 4) mapped in 4 KiB pages (GIB x 256 Ki
#    leaves) plus a 16 MiB kernel text, 4-level, the table pool at 4 GiB:
#    a sparse raw file a little over 4 GiB long that holds GIB x 2 MiB of
#    tables;
#  - core.elf, when tests/cli/mkcore.c is there (compiled here with cc):
#    an ELF core as QEMU's dump-guest-memory writes it (a QEMU CPU note
#    with CR3) of the same mappings with the pool low (at 1 MiB), one
#    PT_LOAD padded with 4 GiB of zeros (a hole in the file): a 4 GiB
#    guest whose memory is mostly empty, as the dump tools see it.
# Both files are read once first (cat), so the figures are those of a
# warm page cache.  For each file: /usr/bin/time's seconds and peak RSS
# of `htable dump` (to /dev/null), of `htable translate` with $NVAS
# (default 20000) addresses on its command line, 90% mapped, and of
# `htable roots`; then bench_dump (BENCH_N translations, default
# 100000; BENCH_REPS, BENCH_CPU as it reads them).  A table of the
# command's figures closes.  Figures, never a verdict; never part of the
# test command: they need a quiet machine.  A few minutes at most (the
# first roots of the core reads all of its 4 GiB).
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
nvas=${NVAS:-20000}
n=${BENCH_N:-100000}

case $gib in
''|*[!0-9]*) echo "dumps.sh: GIB must be a whole number" >&2; exit 2 ;;
esac
if [ "$gib" -lt 1 ] || [ "$gib" -gt 64 ]; then
	echo "dumps.sh: GIB must be 1..64" >&2
	exit 2
fi
for t in /usr/bin/time meson ninja; do
	command -v "$t" >/dev/null 2>&1 ||
	    { echo "dumps.sh: $t is not installed" >&2; exit 2; }
done
[ -d build-release ] || meson setup build-release -Dbuildtype=release \
    -Ddebug_checks=false -Dtests=false >/dev/null
ninja -C build-release tools/htable bench/bench_dump >/dev/null
htable=build-release/tools/htable
bench=build-release/bench/bench_dump

work=$(mktemp -d "${TMPDIR:-/tmp}/htable-dumps.XXXXXX")
trap 'rm -rf "$work"' EXIT

# spec POOL: the layout, its tables at POOL.  The pages map physical
# addresses that hold no table in either file (8 GiB up; 256 MiB).
pool_mib=$((gib * 2 + 16))
spec() {
	cat <<EOF
mode 4level
pagesizes 4k
pool $1 ${pool_mib}m
map 0x7f0000000000 0x200000000 ${gib}g u w
map 0xffffffff81000000 0x10000000 16m x g
EOF
}

# the addresses given to translate: 90% in the mapped GIB GiB (a random
# page, a random byte), 10% just above them (same PML4 slot, not mapped);
# 0x7f << 40 | page << 12 | offset, in pieces mawk prints exactly
awk -v n="$nvas" -v pages=$((gib * 262144)) 'BEGIN {
	srand(15)
	for (i = 0; i < n; i++) {
		if (i % 10 == 9)
			p = pages + int(rand() * (268435456 - pages))
		else
			p = int(rand() * pages)
		printf "0x7f%07x%03x\n", p, int(rand() * 4096)
	}
}' >"$work/vas"
mapfile -t vas <"$work/vas"

files=()
spec 0x100000000 >"$work/raw.spec"
"$htable" build "$work/raw.spec" -o "$work/raw.img" >"$work/raw.sum"
files+=("raw.img 4level $(sed -n 's/.*cr3=//p' "$work/raw.sum" | tail -n 1)")

mkcore_src=tests/cli/mkcore.c
if [ -f "$mkcore_src" ] &&
    cc -O2 -o "$work/mkcore" "$mkcore_src" 2>"$work/cc.err"; then
	spec 0x100000 >"$work/low.spec"
	"$htable" build "$work/low.spec" -o "$work/low.img" >"$work/low.sum"
	cr3=$(sed -n 's/.*cr3=//p' "$work/low.sum" | tail -n 1)
	"$work/mkcore" elf "$work/core.elf" "$work/low.img" --cr3 "$cr3" \
	    --pad $((4 << 30))
	rm -f "$work/low.img"
	files+=("core.elf 4level $cr3")
else
	echo "dumps.sh: no mkcore (tests/cli/mkcore.c): raw image only" >&2
fi

# timed NAME FILE CMD...: run CMD (stdout to /dev/null), keep a row
rows=()
timed() {
	local name=$1 file=$2
	shift 2
	if /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null \
	    2>"$work/err"; then
		read -r secs kib <"$work/time"
	else
		secs=failed
		kib=0
		sed 's/^/    /' "$work/err" | head -3 >&2
	fi
	rows+=("$(printf '%-9s %-10s %9s %10.1f' "$file" "$name" "$secs" \
	    "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')")")
}

for f in "${files[@]}"; do
	read -r file mode cr3 <<<"$f"
	path=$work/$file
	cat "$path" >/dev/null		# a warm page cache for everyone
	echo "== $file: $(du -h --apparent-size "$path" | cut -f1) long," \
	    "$(du -h "$path" | cut -f1) on disk, $mode cr3=$cr3"
	timed dump "$file" "$htable" dump "$path" --cr3 "$cr3" --mode "$mode"
	timed translate "$file" "$htable" translate "$path" --cr3 "$cr3" \
	    --mode "$mode" "${vas[@]}"
	timed roots "$file" "$htable" roots "$path"
	"$bench" "$path" "$mode" "$cr3" "$n" 2>&1 | sed 's/^/  /'
done

echo "== the command (${gib} GiB of 4 KiB pages; translate: ${nvas}" \
    "addresses)"
printf '%-9s %-10s %9s %10s\n' file command seconds "peak MiB"
printf '%s\n' "${rows[@]}"
echo "(machine: $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg))"
