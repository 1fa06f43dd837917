#!/usr/bin/env bash
# End-to-end tests of `htable roots`: usage and errors; the roots of
# images htable built (one space; several spaces sharing a kernel half;
# 5-level); images it did not build: a self-map, a root whose link leads
# to a frame with a reserved bit (not a root), an empty linked table (a
# root), random bytes and an image of pages that all link each other
# (time stays linear).  Ends with a Criterion-style synthesis line.
#   usage: test_roots.sh HTABLE EXAMPLES_DIR
set -u
htable=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

# has NAME REGEX: the last roots output has a line matching REGEX
has() {
	grep -Eq -- "$2" "$work/out" && ok || bad "$1: no line /$2/ in: $(head -5 "$work/out")"
}
hasnt() {
	grep -Eq -- "$2" "$work/out" && bad "$1: a line /$2/" || ok
}

# --- usage and errors ---
"$htable" roots --help 2>&1 | grep -q 'usage: htable roots' && ok || bad "roots --help"
"$htable" --help | grep -q 'roots' && ok || bad "--help lists roots"
expect "roots without args" 2 "usage" "$htable" roots
expect "bad mode" 2 "--mode 'pae'" "$htable" roots x --mode pae
expect "bad pa-bits" 2 "--pa-bits '60'" "$htable" roots x --pa-bits 60
expect "bad confidence" 2 "--min-confidence '101'" "$htable" roots x --min-confidence 101
expect "missing image" 1 "nonexistent" "$htable" roots "$work/nonexistent"

# --- one space: its root, and nothing else ---
"$htable" build "$examples/kernel-4level.spec" -o "$work/k.img" >"$work/sum" || bad "build kernel"
cr3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
"$htable" roots "$work/k.img" --mode 4level >"$work/out" || bad "roots k.img"
has "kernel root" "^mode=4level cr3=$cr3 present=[0-9]+ leaves=[1-9]"
has "kernel: one candidate" "^roots=1 of 1 candidates$"

# --- several spaces: every root build printed, kernel halves shared ---
"$htable" build "$(dirname "$0")/multi.spec" -o "$work/m.img" >"$work/sum" || bad "build multi"
"$htable" roots "$work/m.img" --mode 4level >"$work/out" || bad "roots m.img"
for r in $(sed -n 's/^root [^ ]* cr3=\(0x[0-9a-f]*\)$/\1/p' "$work/sum"); do
	r=$(printf '0x%x' $(( r & ~0xfff )))
	has "multi root $r" "^mode=4level cr3=$r "
done
has "multi: shared kernel half" "cr3=0x100000 .* shared=1 "
has "multi: five" "^roots=5 of 5 candidates$"
"$htable" roots "$work/m.img" --mode 4level --min-confidence 40 >"$work/out"
has "min-confidence" "^roots=4 of 5 candidates$"
"$htable" roots "$work/m.img" --mode 4level --json >"$work/out"
python3 -c "import json,sys; a=json.load(open(sys.argv[1])); assert len(a)==5 and all('cr3' in x for x in a)" "$work/out" &&
    ok || bad "json: $(head -c 200 "$work/out")"

# --- 5-level ---
"$htable" build "$examples/la57-5level.spec" -o "$work/l.img" >"$work/sum" || bad "build la57"
cr3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
"$htable" roots "$work/l.img" --mode 5level >"$work/out"
has "5-level root" "^mode=5level cr3=$cr3 "

# --- hand-made images ---
# 4 frames: root 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000
mkimg() { dd if=/dev/zero of="$1" bs=4096 count=${2:-8} status=none; }
mkimg "$work/h.img"
put64 "$work/h.img" 0x1000 0x2003
put64 "$work/h.img" 0x2000 0x3003
put64 "$work/h.img" 0x3000 0x4003
put64 "$work/h.img" 0x4000 0x5003
put64 "$work/h.img" 0x1ff8 0x1003	# a self-map in entry 511
"$htable" roots "$work/h.img" --mode 4level >"$work/out"
has "self-map" "^mode=4level cr3=0x1000 .* selfmap=511 "
# a reserved bit (PS in a PML4E) two levels down: 0x1000 is no root
put64 "$work/h.img" 0x2008 0x6083	# PDPT entry 1: a 1 GiB page with bit 13: reserved
put64 "$work/h.img" 0x6000 0x1
"$htable" roots "$work/h.img" --mode 4level >"$work/out"
hasnt "reserved bit below" "cr3=0x1000 "
# an empty table linked from a root is a table (Linux keeps them)
mkimg "$work/e.img"
put64 "$work/e.img" 0x1000 0x2003	# PML4E -> an all-zero PDPT
put64 "$work/e.img" 0x1008 0x3003
put64 "$work/e.img" 0x3000 0x4003
put64 "$work/e.img" 0x4000 0x5003
put64 "$work/e.img" 0x5000 0x6003
"$htable" roots "$work/e.img" --mode 4level >"$work/out"
has "empty linked table" "^mode=4level cr3=0x1000 present=2 leaves=1 "
# random bytes: no crash, and whatever it finds is a plausible table
head -c $((4096 * 256)) /dev/urandom >"$work/r.img"
"$htable" roots "$work/r.img" >"$work/out" && ok || bad "random image: exit $?"
# every page links every other at every entry: linear, not exponential
mkimg "$work/b.img" 64
python3 - "$work/b.img" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    for p in range(64):
        f.seek(p * 4096)
        f.write(b''.join(struct.pack('<Q', ((i % 64) << 12) | 3) for i in range(512)))
PY

timeout 20 "$htable" roots "$work/b.img" >"$work/out" && ok || bad "link bomb: exit $?"
has "link bomb: every frame a root" "^roots=128 of 128 candidates$"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
