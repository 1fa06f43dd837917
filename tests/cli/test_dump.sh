#!/usr/bin/env bash
# End-to-end tests of `htable dump` and `htable translate`: usage and
# errors (exit status and message), every example in every format, a
# golden dump of the 4-level example, and images that htable did not
# build: a self-map, shared tables, a table beyond the image, reserved
# bits, a sharing bomb stopped by --max-leaves, CR3 flag bits.  Ends with
# a Criterion-style synthesis line that the test command counts.
#   usage: test_dump.sh HTABLE EXAMPLES_DIR
set -u
shopt -s extglob
htable=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"


# --- usage and errors ---
"$htable" dump --help | grep -q 'usage: htable dump' && ok || bad "dump --help"
"$htable" translate --help | grep -q 'usage: htable translate' && ok || bad "translate --help"
"$htable" --help | grep -q 'translate' && ok || bad "--help lists translate"
"$htable" build "$examples/kernel-4level.spec" -o "$work/k.img" >"$work/sum" || bad "build kernel"
cr3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
K=("$work/k.img" --cr3 "$cr3" --mode 4level)
expect "dump without args" 2 "usage" "$htable" dump
expect "dump without --cr3" 2 "--cr3 and --mode are required" "$htable" dump "$work/k.img" --mode 4level
expect "dump without --mode" 2 "--cr3 and --mode are required" "$htable" dump "$work/k.img" --cr3 "$cr3"
expect "bad mode" 2 "--mode '6level'" "$htable" dump "$work/k.img" --cr3 "$cr3" --mode 6level
expect "bad cr3" 2 "--cr3 'xyz'" "$htable" dump "$work/k.img" --cr3 xyz --mode 4level
expect "bad format" 2 "--format 'hex'" "$htable" dump "${K[@]}" --format hex
expect "bad max-leaves" 2 "--max-leaves" "$htable" dump "${K[@]}" --max-leaves 0
expect "bad pa-bits" 2 "--pa-bits" "$htable" dump "${K[@]}" --pa-bits 60
expect "pa-bits too wide for 32-bit" 2 "at most 40" "$htable" dump "$work/k.img" --cr3 0 --mode 32bit --pa-bits 48
expect "two images" 2 "usage" "$htable" dump "${K[@]}" "$work/k.img"
expect "missing image" 1 "No such file" "$htable" dump "$work/none.img" --cr3 0 --mode 4level
expect "directory image" 1 "not a regular file" "$htable" dump "$work" --cr3 0 --mode 4level
expect "translate without VA" 2 "usage" "$htable" translate "${K[@]}"
expect "translate bad VA" 2 "VA '0xq'" "$htable" translate "${K[@]}" 0x1000 0xq
[ ! -s "$work/out" ] && ok || bad "translate printed before checking every VA"
expect "translate missing image" 1 "No such file" "$htable" translate "$work/none.img" --cr3 0 --mode pae 0
expect "max-leaves exceeded" 2 "more than 3 leaves" "$htable" dump "${K[@]}" --max-leaves 3
: >"$work/empty.img"
expect "empty image" 0 "beyond the image" "$htable" dump "$work/empty.img" --cr3 0x1000 --mode 4level
[ ! -s "$work/out" ] && ok || bad "empty image lists mappings"

# --- verify: usage and input errors (no engine needed) ---
"$htable" verify --help | grep -q 'usage: htable verify' && ok || bad "verify --help"
expect "verify without --mode" 2 "--cr3 and --mode are required" "$htable" verify "$work/k.img" --cr3 "$cr3"
expect "verify bad engine" 2 "--engine 'nosuch'" "$htable" verify "${K[@]}" --engine nosuch
expect "verify bad cpu" 2 "--cpu 'wp,smx'" "$htable" verify "${K[@]}" --cpu wp,smx
printf '0x400000 r\n0x400000 rw\n' >"$work/probes"
expect "verify bad probe op" 2 "probes:2: expected 'VA OP'" "$htable" verify "${K[@]}" --probes "$work/probes"
printf '0x400004 r\n' >"$work/probes"
expect "verify misaligned probe" 2 "probes:1: VA 0x400004 is not an 8-byte-aligned" "$htable" verify "${K[@]}" --probes "$work/probes"
expect "verify missing probe file" 2 "No such file" "$htable" verify "${K[@]}" --probes "$work/none"
expect "verify missing image" 1 "No such file" "$htable" verify "$work/none.img" --cr3 0 --mode 4level

# --- the golden dump of the 4-level example ---
cat >"$work/want" <<'GOLD'
0000000000400000-0000000000404fff 0000000020000000 4k r-x u --- pat0
0000000000600000-000000000060ffff 0000000020100000 4k rw- u --- pat0
0000000000611000-0000000000620fff 0000000020111000 4k rw- u --- pat0
00007fffffffd000-00007fffffffffff 0000000020200000 4k rw- u --- pat0
ffff888000000000-ffff8880ffffffff 0000000000000000 1g rw- s G-- pat0
ffffffff81000000-ffffffff81ffffff 0000000001000000 2m r-x s G-- pat0
GOLD
"$htable" dump "${K[@]}" >"$work/got" 2>"$work/err"
cmp -s "$work/want" "$work/got" && ok || bad "golden text: $(diff "$work/want" "$work/got" | head -5)"
[ ! -s "$work/err" ] && ok || bad "golden text: warnings '$(cat "$work/err")'"
cat >"$work/want" <<'GOLD'
0000000000400000-0000000000405000 0000000000005000 ur-
0000000000600000-0000000000610000 0000000000010000 urw
0000000000611000-0000000000621000 0000000000010000 urw
00007fffffffd000-ffff800000000000 0000000000003000 urw
ffff888000000000-ffff888100000000 0000000100000000 -rw
ffffffff81000000-ffffffff82000000 0000000001000000 -r-
GOLD
"$htable" dump "${K[@]}" --format qemu-mem >"$work/got"
cmp -s "$work/want" "$work/got" && ok || bad "golden qemu-mem: $(diff "$work/want" "$work/got" | head -5)"
"$htable" dump "${K[@]}" --format qemu-tlb >"$work/got"
[ "$(wc -l <"$work/got")" -eq $((5 + 16 + 16 + 3 + 4 + 8)) ] && ok || bad "qemu-tlb: $(wc -l <"$work/got") lines"
grep -qx 'ffff888000000000: 0000000000000000 XGP-----W' "$work/got" && ok || bad "qemu-tlb 1g line"
grep -qx 'ffffffff81000000: 0000000001000000 -GP------' "$work/got" && ok || bad "qemu-tlb 2m line"
grep -qx '00007fffffffd000: 0000000020200000 X------UW' "$work/got" && ok || bad "qemu-tlb 4k line"
"$htable" dump "${K[@]}" --format json >"$work/got"
[ "$(head -c1 "$work/got")" = "[" ] && [ "$(tail -n1 "$work/got")" = "]" ] && ok || bad "json brackets"
grep -q '^{"va":"0xffff888000000000","last":"0xffff8880ffffffff","pa":"0x0","page":"1g","pages":4,"perm":"rw-","user":false,"g":true,"a":false,"d":false,"pat":0},$' "$work/got" && ok || bad "json 1g range"
[ "$(grep -c '^{' "$work/got")" -eq 6 ] && ok || bad "json: not 6 ranges"
[ "$(grep -c '},$' "$work/got")" -eq 5 ] && ok || bad "json: commas"
# CR3 as the CPU holds it: PCID, PWT/PCD, bit 63 ignored
"$htable" dump "$work/k.img" --cr3 $(printf '0x%x' $((cr3 | 0x8000000000000000 | 0xfff))) --mode 4level >"$work/got2"
"$htable" dump "${K[@]}" >"$work/got"
cmp -s "$work/got" "$work/got2" && ok || bad "cr3 flag bits not ignored"

# --- translate ---
"$htable" translate "${K[@]}" 0x400123 0xffff888012345678 0x1000 0x0000800000000000 >"$work/got"
rc=$?
[ $rc -eq 0 ] && ok || bad "translate exit $rc"
grep -qx 'va 0x400123: pa 0x20000123, 4k page, r-x u, --- pat0' "$work/got" && ok || bad "translate 4k"
[ "$(grep -c '^  L[0-3] ' "$work/got")" -eq $((4 + 2 + 3)) ] && ok || bad "translate steps: $(cat "$work/got")"
grep -qx 'va 0xffff888012345678: pa 0x12345678, 1g page, rw- s, G-- pat0' "$work/got" && ok || bad "translate 1g"
grep -q '^  L2 PDPTE \[   0\] at 0x.*: 0x8000000000000183$' "$work/got" && ok || bad "translate 1g entry"
grep -qx 'va 0x1000: not mapped: the PDE (level 1) is not present' "$work/got" && ok || bad "translate unmapped"
grep -q '^va 0x800000000000: not canonical' "$work/got" && ok || bad "translate non-canonical"

# --- every example in every format ---
for spec in "$examples"/*.spec; do
	name=$(basename "$spec" .spec)
	mode=$(awk '$1 == "mode" { print $2; exit }' "$spec")
	"$htable" build "$spec" -o "$work/$name.img" >"$work/sum" || { bad "$name: build"; continue; }
	# EPT: read through the summary (the EPTP and the flags); QEMU's
	# monitor has no EPT view, and every range translates as dump says
	if [[ $mode == ept* ]]; then
		R=("$work/$name.img" --roots "$work/sum")
		for f in text json tables; do
			"$htable" dump "${R[@]}" --format $f >"$work/$name.$f" 2>"$work/err"
			rc=$?
			[ $rc -eq 0 ] && [ -s "$work/$name.$f" ] && [ ! -s "$work/err" ] && ok ||
			    bad "$name $f: exit $rc, $(wc -l <"$work/$name.$f") lines, '$(cat "$work/err")'"
		done
		for f in qemu-tlb qemu-mem; do
			expect "$name $f" 2 "--format $f: QEMU's monitor reads a CPU's own x86 tables; it shows nothing of EPT tables \($mode\)" \
			    "$htable" dump "${R[@]}" --format $f
		done
		while read -r range pa size perm rest; do
			va=$(printf '0x%x' $((16#${range%%-*})))
			want="va $va: pa $(printf '0x%x' $((16#$pa))), $size page, $perm, $rest"
			got=$("$htable" translate "${R[@]}" "$va" | head -n 1)
			[ "$got" = "$want" ] && ok || bad "$name: translate $va: '$got', want '$want'"
		done <"$work/$name.text"
		continue
	fi
	c=$(grep '^mode=' "$work/sum" | tail -n 1 | sed 's/.*cr3=//')
	for f in text json qemu-tlb qemu-mem; do
		"$htable" dump "$work/$name.img" --cr3 "$c" --mode "$mode" --format $f >"$work/$name.$f" 2>"$work/err"
		rc=$?
		[ $rc -eq 0 ] && [ -s "$work/$name.$f" ] && [ ! -s "$work/err" ] && ok ||
		    bad "$name $f: exit $rc, $(wc -l <"$work/$name.$f") lines, '$(cat "$work/err")'"
	done
	# every leaf of qemu-tlb translates to what it says
	va=$(head -n 1 "$work/$name.qemu-tlb" | cut -d: -f1)
	"$htable" translate "$work/$name.img" --cr3 "$c" --mode "$mode" "0x$va" >"$work/got"
	pa=$(head -n 1 "$work/$name.qemu-tlb" | cut -d' ' -f2)
	grep -Eq "^va 0x[0-9a-f]+: pa 0x${pa##*(0)}," "$work/got" && ok || bad "$name: translate 0x$va: $(head -1 "$work/got")"
done

# --- images htable did not build (4-level, hand-made) ---
# R at 0x1000: R[0] -> P (0x2000) -> D (0x3000) -> T (0x4000) -> X (0x9000)
# R[510] -> R (self-map).  Exactly five leaves.
img=$work/self.img
truncate -s $((0x6000)) "$img"
put64 "$img" 0x1000 0x2003; put64 "$img" 0x2000 0x3003
put64 "$img" 0x3000 0x4003; put64 "$img" 0x4000 0x9003
put64 "$img" $((0x1000 + 510 * 8)) 0x1003
cat >"$work/want" <<'GOLD'
0000000000000000-0000000000000fff 0000000000009000 4k rwx s --- pat0
ffffff0000000000-ffffff0000000fff 0000000000004000 4k rwx s --- pat0
ffffff7f80000000-ffffff7f80000fff 0000000000003000 4k rwx s --- pat0
ffffff7fbfc00000-ffffff7fbfc00fff 0000000000002000 4k rwx s --- pat0
ffffff7fbfdfe000-ffffff7fbfdfefff 0000000000001000 4k rwx s --- pat0
GOLD
"$htable" dump "$img" --cr3 0x1000 --mode 4level >"$work/got"
cmp -s "$work/want" "$work/got" && ok || bad "self-map: $(diff "$work/want" "$work/got" | head -8)"
"$htable" translate "$img" --cr3 0x1000 --mode 4level 0xffffff7fbfdfe008 >"$work/got"
grep -qx 'va 0xffffff7fbfdfe008: pa 0x1008, 4k page, rwx s, --- pat0' "$work/got" && ok || bad "self-map translate: $(cat "$work/got")"
# a table beyond the image: a warning, no mappings from it.  Through the
# self-map R[5] is also read as a PD, a PT (both beyond: 3 frames) and as a
# 4 KiB leaf at 0x7000000000: a sixth range.
put64 "$img" $((0x1000 + 5 * 8)) 0x7000000003
"$htable" dump "$img" --cr3 0x1000 --mode 4level >"$work/got" 2>"$work/err"
[ $? -eq 0 ] && grep -q '3 table frame(s) lie beyond the image.*first at pa 0x7000000000' "$work/err" && ok || bad "unbacked table: '$(cat "$work/err")'"
[ "$(wc -l <"$work/got")" -eq 6 ] && grep -q ' 0000007000000000 4k ' "$work/got" && ok || bad "unbacked table: $(cat "$work/got")"
"$htable" translate "$img" --cr3 0x1000 --mode 4level 0x28000000000 >"$work/got" 2>"$work/err"
grep -q 'read as zero' "$work/got" && grep -q 'not in the image' "$work/err" && ok || bad "translate unbacked: $(cat "$work/got")"
# a leaf beyond the image (device memory) is listed like any other
put64 "$img" $((0x4000 + 8)) 0xfee0001b
"$htable" dump "$img" --cr3 0x1000 --mode 4level >"$work/got" 2>/dev/null
grep -qx '0000000000001000-0000000000001fff 00000000fee00000 4k rwx s --- pat3' "$work/got" && ok || bad "device leaf: $(head -3 "$work/got")"
# reserved bits: bit 51 in a PDE with --pa-bits 48 faults (and again where
# the self-map reads that PD as a PT); QEMU reads on
put64 "$img" $((0x3000 + 8)) $(( (1 << 51) | 0x5083 ))
"$htable" dump "$img" --cr3 0x1000 --mode 4level --pa-bits 48 >"$work/got" 2>"$work/err"
grep -q '2 present entries with reserved bits' "$work/err" && ok || bad "reserved: '$(cat "$work/err")'"
grep -q '^0000000000200000' "$work/got" && bad "reserved entry listed" || ok
"$htable" dump "$img" --cr3 0x1000 --mode 4level --format qemu-tlb >"$work/got" 2>"$work/err"
grep -qx '0000000000200000: 0000000000000000 --P-----W' "$work/got" && ok || bad "qemu reading of a reserved 2m leaf: $(cat "$work/got")"
"$htable" translate "$img" --cr3 0x1000 --mode 4level --pa-bits 48 0x200000 >"$work/got"
grep -q 'reserved bits set' "$work/got" && ok || bad "translate reserved: $(cat "$work/got")"

# a sharing bomb: every entry of every level -> the next table; one leaf
img=$work/bomb.img
truncate -s $((0x5000)) "$img"
# (entries written with dd from a generated binary table)
for t in 1 2 3; do
	v=$(( (t + 1) * 0x1000 + 3 ))
	one=""
	for i in 0 1 2 3 4 5 6 7; do one+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 0xff ))); done
	for ((i = 0; i < 512; i++)); do printf "$one"; done >"$work/tbl"
	dd if="$work/tbl" of="$img" bs=4096 seek=$t conv=notrunc status=none
done
"$htable" dump "$img" --cr3 0x1000 --mode 4level >"$work/got" 2>"$work/err"
[ $? -eq 0 ] && [ ! -s "$work/got" ] && ok || bad "bomb with an empty PT: '$(cat "$work/err")'"
put64 "$img" 0x4000 0x9003
expect "bomb: max-leaves" 2 "more than 1000 leaves" "$htable" dump "$img" --cr3 0x1000 --mode 4level --max-leaves 1000
"$htable" dump "$img" --cr3 0x1000 --mode 4level --max-leaves 1000 2>/dev/null | head -n 2 >"$work/got"
[ "$(wc -l <"$work/got")" -eq 2 ] && ok || bad "bomb: ranges before the limit"

# --- 32-bit and PAE images by hand ---
img=$work/pae.img
truncate -s $((0x4000)) "$img"
# PDPT at 0x1020 (32-byte aligned); PDPT[3] -> PD at 0x2000; PD[511] 2m leaf
put64 "$img" $((0x1020 + 3 * 8)) 0x2001
put64 "$img" $((0x2000 + 511 * 8)) $(( (1 << 63) | 0x40000000 | 0x87 ))
"$htable" dump "$img" --cr3 0x1020 --mode pae >"$work/got"
grep -qx '00000000ffe00000-00000000ffffffff 0000000040000000 2m rw- u --- pat0' "$work/got" && ok || bad "pae 2m: $(cat "$work/got")"
"$htable" translate "$img" --cr3 0x1020 --mode pae 0xffe00010 0x100000000 >"$work/got"
grep -qx 'va 0xffe00010: pa 0x40000010, 2m page, rw- u, --- pat0' "$work/got" && ok || bad "pae translate: $(cat "$work/got")"
grep -qx 'va 0x100000000: beyond 4 GiB: pae paging has 32-bit linear addresses' "$work/got" && ok || bad "pae translate beyond 4 GiB: $(cat "$work/got")"
"$htable" dump "$img" --cr3 0x1020 --mode pae --format qemu-mem >"$work/got"
grep -qx '00000000ffe00000-0000000100000000 0000000000200000 urw' "$work/got" && ok || bad "pae qemu-mem: $(cat "$work/got")"
img=$work/32.img
truncate -s $((0x3000)) "$img"
# PD at 0x1000: PD[1] a 4m leaf at PA 0x1_0040_0000 (PSE-36); PD[2] -> PT
put32 "$img" $((0x1000 + 4)) $(( 0x00400000 | (1 << 13) | 0x83 ))
put32 "$img" $((0x1000 + 8)) 0x2007
put32 "$img" $((0x2000 + 4)) 0x12345005
"$htable" dump "$img" --cr3 0x1000 --mode 32bit >"$work/got"
grep -qx '0000000000400000-00000000007fffff 0000000100400000 4m rwx s --- pat0' "$work/got" && ok || bad "32-bit pse-36: $(cat "$work/got")"
grep -qx '0000000000801000-0000000000801fff 0000000012345000 4k r-x u --- pat0' "$work/got" && ok || bad "32-bit 4k: $(cat "$work/got")"
"$htable" dump "$img" --cr3 0x1000 --mode 32bit --format qemu-tlb >"$work/got"
grep -qx '0000000000400000: 0000000000400000 --P-----W' "$work/got" && ok || bad "32-bit qemu-tlb 4m: $(cat "$work/got")"

# --- several roots: spaces, a share, a KPTI CPU root (test_build.sh
# checks the summary of the same spec) ---
# the layout: tests/cli/multi.spec (the man page's example)
cp "$(dirname "$0")/multi.spec" "$work/multi.spec"
"$htable" build "$work/multi.spec" -o "$work/multi.img" >"$work/multi.sum" || bad "multi: build"
M=("$work/multi.img" --roots "$work/multi.sum")
# each root after its header, in the order build listed them
"$htable" dump "${M[@]}" >"$work/got" 2>"$work/err" && [ ! -s "$work/err" ] && ok || bad "multi dump: $(cat "$work/err")"
[ "$(grep '^root ' "$work/got")" = "$(grep '^root ' "$work/multi.sum")" ] && ok || bad "multi dump headers: $(grep '^root ' "$work/got")"
cat >"$work/want" <<'GOLD'
root kern cr3=0x100000
ffff888000000000-ffff8880001fffff 0000000001000000 2m rw- s --- pat0
fffffe0000000000-fffffe0000000fff 0000000002000000 4k r-x s --- pat0
root kuser cr3=0x106000
fffffe0000000000-fffffe0000000fff 0000000002000000 4k r-x s --- pat0
root shm cr3=0x10a000
0000000040000000-0000000040001fff 0000000003000000 4k rw- u --- pat0
0000000040002000-0000000040002fff 0000000003100000 4k rw- u --- pat0
root cpu0 cr3=0x113003
0000000000400000-0000000000403fff 0000000004000000 4k r-x u --- pat0
0000000008000000-0000000008000fff 0000000005000000 4k rw- u --- pat0
00007f0000000000-00007f0000001fff 0000000003000000 4k rw- u --- pat0
00007f0000002000-00007f0000002fff 0000000003100000 4k rw- u --- pat0
ffff888000000000-ffff8880001fffff 0000000001000000 2m rw- s --- pat0
fffffe0000000000-fffffe0000000fff 0000000002000000 4k r-x s --- pat0
root cpu0.user cr3=0x114803
0000000000400000-0000000000403fff 0000000004000000 4k r-x u --- pat0
0000000008000000-0000000008000fff 0000000005000000 4k rw- u --- pat0
00007f0000000000-00007f0000001fff 0000000003000000 4k rw- u --- pat0
00007f0000002000-00007f0000002fff 0000000003100000 4k rw- u --- pat0
fffffe0000000000-fffffe0000000fff 0000000002000000 4k r-x s --- pat0
GOLD
sed -i 's/^0000000008000000-0000000008000fff/0000008000000000-0000008000000fff/' "$work/want"
cmp -s "$work/want" "$work/got" && ok || bad "multi dump: $(diff "$work/want" "$work/got" | head -8)"
# the tables: the source's table under the sharer's CPU root pair, a
# CPU root sharing every table below its top with its spaces
cat >"$work/want" <<'GOLD'
root kern cr3=0x100000
L3 0000000000100000 0000000000000000-ffffffffffffffff 2 entries
  L2 0000000000101000 ffff888000000000-ffff88ffffffffff 1 entry  also: cpu0
    L1 0000000000102000 ffff888000000000-ffff88803fffffff 1 entry  also: cpu0
  L2 0000000000103000 fffffe0000000000-fffffe7fffffffff 1 entry  also: cpu0
    L1 0000000000104000 fffffe0000000000-fffffe003fffffff 1 entry  also: cpu0
      L0 0000000000105000 fffffe0000000000-fffffe00001fffff 1 entry  also: cpu0
root kuser cr3=0x106000
L3 0000000000106000 0000000000000000-ffffffffffffffff 1 entry
  L2 0000000000107000 fffffe0000000000-fffffe7fffffffff 1 entry  also: cpu0.user
    L1 0000000000108000 fffffe0000000000-fffffe003fffffff 1 entry  also: cpu0.user
      L0 0000000000109000 fffffe0000000000-fffffe00001fffff 1 entry  also: cpu0.user
root shm cr3=0x10a000
L3 000000000010a000 0000000000000000-ffffffffffffffff 1 entry
  L2 000000000010b000 0000000000000000-0000007fffffffff 1 entry
    L1 000000000010c000 0000000040000000-000000007fffffff 1 entry
      L0 000000000010d000 0000000040000000-00000000401fffff 3 entries  also: cpu0@0x7f0000000000 cpu0.user@0x7f0000000000
root cpu0 cr3=0x113003
L3 0000000000113000 0000000000000000-ffffffffffffffff 5 entries
  L2 000000000010e000 0000000000000000-0000007fffffffff 1 entry  also: cpu0.user
    L1 000000000010f000 0000000000000000-000000003fffffff 1 entry  also: cpu0.user
      L0 0000000000110000 0000000000400000-00000000005fffff 4 entries  also: cpu0.user
  L2 0000000000115000 0000008000000000-000000ffffffffff 1 entry  also: cpu0.user
    L1 0000000000116000 0000008000000000-000000803fffffff 1 entry  also: cpu0.user
      L0 0000000000117000 0000008000000000-00000080001fffff 1 entry  also: cpu0.user
  L2 0000000000111000 00007f0000000000-00007f7fffffffff 1 entry  also: cpu0.user
    L1 0000000000112000 00007f0000000000-00007f003fffffff 1 entry  also: cpu0.user
      L0 000000000010d000 00007f0000000000-00007f00001fffff 3 entries  also: shm@0x40000000 cpu0.user
  L2 0000000000101000 ffff888000000000-ffff88ffffffffff 1 entry  also: kern
    L1 0000000000102000 ffff888000000000-ffff88803fffffff 1 entry  also: kern
  L2 0000000000103000 fffffe0000000000-fffffe7fffffffff 1 entry  also: kern
    L1 0000000000104000 fffffe0000000000-fffffe003fffffff 1 entry  also: kern
      L0 0000000000105000 fffffe0000000000-fffffe00001fffff 1 entry  also: kern
root cpu0.user cr3=0x114803
L3 0000000000114000 0000000000000000-ffffffffffffffff 4 entries
  L2 000000000010e000 0000000000000000-0000007fffffffff 1 entry  also: cpu0
    L1 000000000010f000 0000000000000000-000000003fffffff 1 entry  also: cpu0
      L0 0000000000110000 0000000000400000-00000000005fffff 4 entries  also: cpu0
  L2 0000000000115000 0000008000000000-000000ffffffffff 1 entry  also: cpu0
    L1 0000000000116000 0000008000000000-000000803fffffff 1 entry  also: cpu0
      L0 0000000000117000 0000008000000000-00000080001fffff 1 entry  also: cpu0
  L2 0000000000111000 00007f0000000000-00007f7fffffffff 1 entry  also: cpu0
    L1 0000000000112000 00007f0000000000-00007f003fffffff 1 entry  also: cpu0
      L0 000000000010d000 00007f0000000000-00007f00001fffff 3 entries  also: shm@0x40000000 cpu0
  L2 0000000000107000 fffffe0000000000-fffffe7fffffffff 1 entry  also: kuser
    L1 0000000000108000 fffffe0000000000-fffffe003fffffff 1 entry  also: kuser
      L0 0000000000109000 fffffe0000000000-fffffe00001fffff 1 entry  also: kuser
GOLD
"$htable" dump "${M[@]}" --format tables >"$work/got" 2>"$work/err"
cmp -s "$work/want" "$work/got" && [ ! -s "$work/err" ] && ok || bad "multi tables: $(diff "$work/want" "$work/got" | head -8)"
# one root, no header: the 4-level example's tables
"$htable" dump "${K[@]}" --format tables >"$work/got"
[ "$(head -n 1 "$work/got")" = "L3 0000000000100000 0000000000000000-ffffffffffffffff 4 entries" ] &&
    [ "$(grep -c 'L0 ' "$work/got")" -eq 3 ] && ! grep -q 'also:\|^root' "$work/got" && ok ||
    bad "tables of one root: $(head -3 "$work/got")"
# --cr3 repeated, named or not; qemu-tlb and json per root
"$htable" dump "$work/multi.img" --mode 4level --cr3 k=0x100000 --cr3 0x10a000 --format qemu-tlb >"$work/got"
cat >"$work/want" <<'GOLD'
root k cr3=0x100000
ffff888000000000: 0000000001000000 X-P-----W
fffffe0000000000: 0000000002000000 ---------
root cr3=0x10a000
0000000040000000: 0000000003000000 X------UW
0000000040001000: 0000000003001000 X------UW
0000000040002000: 0000000003100000 X------UW
GOLD
cmp -s "$work/want" "$work/got" && ok || bad "--cr3 twice: $(diff "$work/want" "$work/got" | head -8)"
"$htable" dump "${M[@]}" --format json >"$work/got"
[ "$(head -n 1 "$work/got")" = "[" ] && [ "$(tail -n 1 "$work/got")" = "]" ] &&
    [ "$(grep -c '^{"root":"[a-z0-9.]*","cr3":"0x[0-9a-f]*","ranges":\[$' "$work/got")" -eq 5 ] &&
    [ "$(grep -c '^},$' "$work/got")" -eq 4 ] && [ "$(grep -c '^}$' "$work/got")" -eq 1 ] && ok ||
    bad "json of several roots: $(head -5 "$work/got")"
# the summary of a one-space spec is a --roots file too (no header then)
"$htable" build "$examples/kernel-4level.spec" -o "$work/k2.img" >"$work/k2.sum" || bad "build kernel again"
"$htable" dump "$work/k2.img" --roots "$work/k2.sum" >"$work/got2"
"$htable" dump "${K[@]}" >"$work/got"
cmp -s "$work/got" "$work/got2" && ok || bad "--roots of a one-space summary"
# a root listed twice (build --verify repeats them) is read once
printf 'root a cr3=0x100000\nroot a cr3=0x100000\nmode=4level roots=1\n' >"$work/dup.roots"
[ "$("$htable" dump "$work/multi.img" --roots "$work/dup.roots" | grep -c '^root ')" -eq 1 ] && ok || bad "--roots duplicates"
# translate under every root: the sharer's CPU roots see what the source
# changed after the share, at the same PA as the source
"$htable" translate "${M[@]}" 0x7f0000002000 >"$work/got"
[ "$(grep -c '^va 0x7f0000002000: pa 0x3100000, 4k page, rw- u' "$work/got")" -eq 2 ] &&
    [ "$(grep -c '^root ' "$work/got")" -eq 5 ] && ok || bad "translate --roots: $(cat "$work/got")"
"$htable" translate "$work/multi.img" --roots "$work/multi.sum" 0x40002000 | grep -q '^va 0x40002000: pa 0x3100000,' && ok ||
    bad "translate of the source"
# the KPTI user root: the entry code, not the kernel's direct map
u=$(sed -n 's/^root cpu0.user cr3=//p' "$work/multi.sum")
"$htable" translate "$work/multi.img" --mode 4level --cr3 "$u" 0xffff888000000000 0xfffffe0000000000 >"$work/got"
grep -q '^va 0xffff888000000000: not mapped: the PML4E (level 3) is not present' "$work/got" &&
    grep -q '^va 0xfffffe0000000000: pa 0x2000000, 4k page, r-x s' "$work/got" && ok || bad "KPTI user root: $(cat "$work/got")"
# --roots errors
expect "--roots missing file" 2 "--roots .*none.roots: No such file" "$htable" dump "$work/multi.img" --roots "$work/none.roots"
expect "--roots of a spec" 2 "no 'root NAME cr3=X' or 'mode=M cr3=X' line" "$htable" dump "$work/multi.img" --roots "$work/multi.spec"
expect "--roots and another mode" 2 "--mode pae, but --roots names 4level paging" "$htable" dump "${M[@]}" --mode pae
expect "--cr3 without a name" 2 "--cr3 '=0x1'" "$htable" dump "$work/multi.img" --mode 4level --cr3 =0x1
expect "verify --roots missing file" 2 "--roots" "$htable" verify "$work/multi.img" --roots "$work/none.roots"
expect "translate --roots bad VA" 2 "VA 'zz'" "$htable" translate "${M[@]}" zz
# a sharing bomb: the tables are listed once each, with their count
"$htable" dump "$work/bomb.img" --cr3 0x1000 --mode 4level --format tables >"$work/got" 2>"$work/err"
[ $? -eq 0 ] && [ "$(wc -l <"$work/got")" -eq 4 ] &&
    grep -q '^      L0 0000000000004000 0000000000000000-00000000001fffff 1 entry, reached 512 times$' "$work/got" &&
    ok || bad "tables of the bomb: $(cat "$work/got" "$work/err")"
expect "tables past --max-leaves" 2 "more tables under one root" "$htable" dump "$work/bomb.img" --cr3 0x1000 --mode 4level --format tables --max-leaves 2

# --- nested paging: guest-physical addresses, U on every entry ---
"$htable" build "$examples/nested-npt4.spec" -o "$work/n4.img" >/dev/null || bad "build npt4"
cat >"$work/want" <<'GOLD'
0000000000000000-000000003fffffff 0000000040000000 1g rwx u --- pat0
0000000040000000-000000007fdfffff 0000000080000000 2m rwx u --- pat0
00000000fec00000-00000000fec00fff 00000000fee00000 4k rw- u --- pat2
0000800000000000-00008000001fffff 0000000100000000 2m rw- u --- pat0
GOLD
"$htable" dump "$work/n4.img" --cr3 0x100000 --mode npt4 >"$work/got"
cmp -s "$work/want" "$work/got" && ok || bad "npt4 dump: $(diff "$work/want" "$work/got" | head -8)"
# above 2^47 is guest memory (no hole); 2^48 is beyond the space
"$htable" translate "$work/n4.img" --cr3 0x100000 --mode npt4 0x800000000123 0x1000000000000 >"$work/got"
grep -qx 'va 0x800000000123: pa 0x100000123, 2m page, rw- u, --- pat0' "$work/got" && ok || bad "npt4 translate above 2^47: $(cat "$work/got")"
grep -qx 'va 0x1000000000000: beyond the 48-bit guest-physical space of npt4 paging' "$work/got" && ok || bad "npt4 translate beyond: $(cat "$work/got")"
# every entry of the walk has U (bit 2): links and the leaf
nou=0; nent=0
while read -r e; do
	nent=$((nent + 1)); (( e & 4 )) || nou=$((nou + 1))
done < <(grep '^  L' "$work/got" | awk '{ print $NF }')
[ "$nent" -ge 3 ] && [ "$nou" -eq 0 ] && ok || bad "npt4: $nou of $nent entries without U: $(cat "$work/got")"
# nested tables run on QEMU's or Bochs's SVM (tests/hw checks them
# closely): they agree, or the machine has neither and says so (exit 4)
verified_or_skipped() {
	local rc=$1 what=$2
	if [ "$rc" -eq 0 ]; then
		grep -q '^probes=[1-9][0-9]* agree=[0-9]* disagree=0' "$work/got" && ok ||
		    bad "$what: $(tail -n 1 "$work/got")"
	elif [ "$rc" -eq 4 ]; then
		grep -q '^engine: .*skipped' "$work/got" && ok || bad "$what: $(cat "$work/got")"
	else
		bad "$what: exit $rc: $(cat "$work/got")"
	fi
}
"$htable" verify "$work/n4.img" --cr3 0x100000 --mode npt4 >"$work/got" 2>&1
verified_or_skipped $? "npt4 verify"

# --- EPT: the EPTP and the flags as build printed them ---
"$htable" build "$examples/ept4.spec" -o "$work/e4.img" >"$work/e4.sum" || bad "build ept4"
"$htable" build "$examples/ept5.spec" -o "$work/e5.img" >"$work/e5.sum" || bad "build ept5"
[ "$(tail -n 1 "$work/e4.sum")" = "mode=ept4 cr3=0x10005e ept=ad,mbec,xonly" ] && ok || bad "ept4 summary: $(tail -n 1 "$work/e4.sum")"
[ "$(tail -n 1 "$work/e5.sum")" = "mode=ept5 cr3=0x100026 ept=xonly" ] && ok || bad "ept5 summary: $(tail -n 1 "$work/e5.sum")"
E4=("$work/e4.img" --roots "$work/e4.sum")
E5=("$work/e5.img" --roots "$work/e5.sum")
# ept4 has A/D (a column, clear: nothing ran) and MBEC (PERM's 4th is u)
cat >"$work/want" <<'GOLD'
0000000000000000-000000003fffffff 0000000040000000 1g rwxu wb -- ipat
0000000040000000-0000000040000fff 0000000080000000 4k rwxu wb --
0000000040001000-0000000040001fff 0000000080001000 4k r-x- wb --
0000000040002000-00000000401fffff 0000000080002000 4k rwxu wb --
0000000040200000-000000007fdfffff 0000000080200000 2m rwxu wb --
00000000c0000000-00000000c0ffffff 0000000100000000 2m rw-- wc --
00000000d0000000-00000000d01fffff 0000000110000000 2m r--- wp --
00000000d0200000-00000000d03fffff 0000000110200000 2m rw-- wt -- vgp pw sw=0x4
00000000e0000000-00000000e0003fff 0000000120000000 4k --x- wb --
00000000e0004000-00000000e0004fff 0000000120004000 4k ---u wb --
00000000fec00000-00000000fec00fff 00000000fec00000 4k rw-- uc -- sve
00000000fee00000-00000000fee00fff 00000000fee00000 4k rw-- uc --
0000800000000000-00008000001fffff 0000000200000000 2m rw-- wb --
GOLD
"$htable" dump "${E4[@]}" >"$work/got" 2>"$work/err"
cmp -s "$work/want" "$work/got" && [ ! -s "$work/err" ] && ok || bad "ept4 dump: $(diff "$work/want" "$work/got" | head -8) $(cat "$work/err")"
# the same by hand: the EPTP without bit 6, and --ept (ad sets it)
"$htable" dump "$work/e4.img" --cr3 0x100018 --mode ept4 --ept ad,mbec,xonly >"$work/got2"
cmp -s "$work/got" "$work/got2" && ok || bad "ept4 dump with --ept: $(diff "$work/got" "$work/got2" | head -4)"
# ept5 has neither A/D (no column) nor MBEC (three rights)
cat >"$work/want" <<'GOLD'
0000000000000000-0000000000000fff 0000000040000000 4k rwx wb ipat
0000000000001000-0000000000001fff 0000000002000000 4k r-x wt
0000000000002000-0000000000002fff 0000000002001000 4k rw- wt
0000000000004000-0000000000004fff 0000000002003000 4k r-x wt
0000000000005000-00000000001fffff 0000000040005000 4k rwx wb ipat
0000000000200000-0000000003ffffff 0000000040200000 2m rwx wb ipat
0000000040000000-000000007fffffff 00000000c0000000 1g rw- wc
0000000100000000-0000000100001fff 0000000003000000 4k --x wb
0000000100002000-0000000100003fff 0000000003002000 4k r-- wp sve vgp pw sw=0x7c
00ffffffffe00000-00ffffffffffffff 0000000080000000 2m rw- uc
GOLD
"$htable" dump "${E5[@]}" >"$work/got" 2>"$work/err"
cmp -s "$work/want" "$work/got" && [ ! -s "$work/err" ] && ok || bad "ept5 dump: $(diff "$work/want" "$work/got" | head -8) $(cat "$work/err")"
# json: the same fields; xu only under MBEC, a and d only with A/D
"$htable" dump "${E4[@]}" --format json >"$work/got"
grep -qx '{"va":"0x0","last":"0x3fffffff","pa":"0x40000000","page":"1g","pages":1,"perm":"rwx","xu":true,"mt":"wb","ipat":true,"sve":false,"vgp":false,"pw":false,"a":false,"d":false},' "$work/got" && ok || bad "ept4 json 1g: $(head -3 "$work/got")"
grep -qx '{"va":"0xe0000000","last":"0xe0003fff","pa":"0x120000000","page":"4k","pages":4,"perm":"--x","xu":false,"mt":"wb","ipat":false,"sve":false,"vgp":false,"pw":false,"a":false,"d":false},' "$work/got" && ok || bad "ept4 json execute-only: $(cat "$work/got")"
grep -qx '{"va":"0xd0200000","last":"0xd03fffff","pa":"0x110200000","page":"2m","pages":1,"perm":"rw-","xu":false,"mt":"wt","ipat":false,"sve":false,"vgp":true,"pw":true,"a":false,"d":false,"sw":"0x4"},' "$work/got" && ok || bad "ept4 json vgp pw: $(cat "$work/got")"
[ "$(grep -c '^{' "$work/got")" -eq 13 ] && ok || bad "ept4 json: not 13 ranges"
"$htable" dump "${E5[@]}" --format json >"$work/got"
grep -qx '{"va":"0x100002000","last":"0x100003fff","pa":"0x3002000","page":"4k","pages":2,"perm":"r--","mt":"wp","ipat":false,"sve":true,"vgp":true,"pw":true,"sw":"0x7c"},' "$work/got" && ok || bad "ept5 json: $(cat "$work/got")"
grep -q '"xu"\|"a":\|"d":' "$work/got" && bad "ept5 json has xu or A/D: $(head -3 "$work/got")" || ok
# translate: a 1 GiB page, execute-only pages, a user-execute-only page,
# what is not mapped (an EPT violation) and what is beyond the space
"$htable" translate "${E4[@]}" 0x123456 0xe0001008 0xe0004000 0x40001000 0xf0000000 0x1000000000000 >"$work/got"
grep -qx 'va 0x123456: pa 0x40123456, 1g page, rwxu, wb -- ipat' "$work/got" && ok || bad "ept4 translate 1g: $(cat "$work/got")"
grep -qx '  L2 PDPTE \[   0\] at 0x0000000000101000: 0x00000000400004f7' "$work/got" && ok || bad "ept4 translate 1g entry: $(cat "$work/got")"
grep -qx 'va 0xe0001008: pa 0x120001008, 4k page, --x-, wb --' "$work/got" && ok || bad "ept4 translate execute-only: $(cat "$work/got")"
grep -qx '  L0 PTE   \[   1\] at 0x0000000000105008: 0x0000000120001034' "$work/got" && ok || bad "ept4 execute-only entry: $(cat "$work/got")"
grep -qx 'va 0xe0004000: pa 0x120004000, 4k page, ---u, wb --' "$work/got" && ok || bad "ept4 translate user-execute-only: $(cat "$work/got")"
grep -qx 'va 0x40001000: pa 0x80001000, 4k page, r-x-, wb --' "$work/got" && ok || bad "ept4 translate protected: $(cat "$work/got")"
grep -qx 'va 0xf0000000: not mapped: the PDE (level 1) is not present (an EPT violation)' "$work/got" && ok || bad "ept4 translate unmapped: $(cat "$work/got")"
grep -qx 'va 0x1000000000000: beyond the 48-bit guest-physical space of ept4 paging' "$work/got" && ok || bad "ept4 translate beyond: $(cat "$work/got")"
# every link allows R, W, X and (MBEC) user execute, with A: 0x507
[ "$(grep -c '^  L[1-3] .*: 0x0000000000[0-9a-f]\{3\}507$' "$work/got")" -eq $((1 + 3 + 3 + 3 + 2)) ] && ok || bad "ept4 links: $(cat "$work/got")"
"$htable" translate "${E5[@]}" 0x40001234 0x100000ff8 0x00fffffffffffff8 0x200000000000000 >"$work/got"
grep -qx 'va 0x40001234: pa 0xc0001234, 1g page, rw-, wc' "$work/got" && ok || bad "ept5 translate 1g: $(cat "$work/got")"
grep -qx '  L2 PDPTE \[   1\] at 0x0000000000102008: 0x00000000c000008b' "$work/got" && ok || bad "ept5 translate 1g entry: $(cat "$work/got")"
grep -qx 'va 0x100000ff8: pa 0x3000ff8, 4k page, --x, wb' "$work/got" && ok || bad "ept5 translate execute-only: $(cat "$work/got")"
grep -qx 'va 0xfffffffffffff8: pa 0x801ffff8, 2m page, rw-, uc' "$work/got" && ok || bad "ept5 translate top: $(cat "$work/got")"
grep -qx '  L4 PML5E \[ 255\] at 0x00000000001007f8: 0x0000000000104007' "$work/got" && ok || bad "ept5 PML5E: $(cat "$work/got")"
grep -qx 'va 0x200000000000000: beyond the 57-bit guest-physical space of ept5 paging' "$work/got" && ok || bad "ept5 translate beyond: $(cat "$work/got")"
# the tables: execute-only leaves (R clear) count as entries
"$htable" dump "${E4[@]}" --format tables >"$work/got"
grep -qx '      L0 0000000000105000 00000000e0000000-00000000e01fffff 5 entries' "$work/got" && ok || bad "ept4 tables: $(cat "$work/got")"
# read without the flags it was built with: no u, no A/D; bit 10 alone
# is no right, and execute-only pages are misconfigurations (skipped,
# with a warning), as translate says
"$htable" dump "$work/e4.img" --cr3 0x100000 --mode ept4 >"$work/got" 2>"$work/err"
grep -qx '0000000000000000-000000003fffffff 0000000040000000 1g rwx wb ipat' "$work/got" &&
    ! grep -q '^00000000e000' "$work/got" && ok || bad "ept4 without flags: $(cat "$work/got")"
grep -q '4 present entries with an EPT misconfiguration' "$work/err" && ok || bad "ept4 without flags: '$(cat "$work/err")'"
"$htable" translate "$work/e4.img" --cr3 0x100000 --mode ept4 0xe0000000 >"$work/got"
grep -qx 'va 0xe0000000: not mapped: the PTE (level 0) is misconfigured: reserved bits or rights it may not have (an EPT misconfiguration)' "$work/got" && ok || bad "ept4 translate misconfigured: $(cat "$work/got")"

# --- EPT A/D by hand: bits 8 and 9 mean A and D only when the EPTP's bit 6
# enables them (the image without A/D shows none) ---
img=$work/ead.img
truncate -s $((0x5000)) "$img"
put64 "$img" 0x1000 0x2007; put64 "$img" 0x2000 0x3007; put64 "$img" 0x3000 0x4007
put64 "$img" 0x4000 $((0x9000 | 0x337))		# RWX, WB, A, D
put64 "$img" 0x4008 $((0xa000 | 0x171))		# R, WB, IPAT, A
put64 "$img" 0x4010 $((0xb000 | 0x204))		# X only (D)
cat >"$work/want" <<'GOLD'
0000000000000000-0000000000000fff 0000000000009000 4k rwx wb AD
0000000000001000-0000000000001fff 000000000000a000 4k r-- wb A- ipat
0000000000002000-0000000000002fff 000000000000b000 4k --x uc -D
GOLD
"$htable" dump "$img" --cr3 0x1058 --mode ept4 --ept xonly >"$work/got" 2>"$work/err"
cmp -s "$work/want" "$work/got" && [ ! -s "$work/err" ] && ok || bad "ept A/D: $(diff "$work/want" "$work/got" | head -6) $(cat "$work/err")"
"$htable" dump "$img" --cr3 0x1058 --mode ept4 --ept xonly --format json >"$work/got"
grep -q '"perm":"r--","mt":"wb","ipat":true,"sve":false,"vgp":false,"pw":false,"a":true,"d":false}' "$work/got" && ok || bad "ept A/D json: $(cat "$work/got")"
cat >"$work/want" <<'GOLD'
0000000000000000-0000000000000fff 0000000000009000 4k rwx wb
0000000000001000-0000000000001fff 000000000000a000 4k r-- wb ipat
0000000000002000-0000000000002fff 000000000000b000 4k --x uc
GOLD
"$htable" dump "$img" --cr3 0x1018 --mode ept4 --ept xonly >"$work/got"
cmp -s "$work/want" "$work/got" && ok || bad "ept without A/D: $(diff "$work/want" "$work/got" | head -6)"
"$htable" dump "$img" --cr3 0x1000 --mode ept4 --ept xonly --format json >"$work/got"
grep -q '"a":\|"d":' "$work/got" && bad "ept without A/D json: $(cat "$work/got")" || ok
"$htable" translate "$img" --cr3 0x1058 --mode ept4 0x1000 0x2000 >"$work/got"
grep -qx 'va 0x1000: pa 0xa000, 4k page, r--, wb A- ipat' "$work/got" &&
    grep -qx 'va 0x2000: not mapped: the PTE (level 0) is misconfigured: reserved bits or rights it may not have (an EPT misconfiguration)' "$work/got" &&
    ok || bad "ept A/D translate: $(cat "$work/got")"
# MBEC: links without bit 10 allow no user-mode fetch anywhere below
"$htable" dump "$img" --cr3 0x1000 --mode ept4 --ept mbec,xonly >"$work/got"
grep -qx '0000000000000000-0000000000000fff 0000000000009000 4k rwx- wb' "$work/got" && ok || bad "ept mbec by hand: $(cat "$work/got")"

# --- EPT: input errors ---
expect "--ept bad word" 2 "--ept 'ad,rw': not a list of ad, mbec, xonly" "$htable" dump "$work/e4.img" --cr3 0x100000 --mode ept4 --ept ad,rw
expect "--ept outside EPT" 2 "dump: --ept: EPT flags need mode ept4 or ept5, not 4level" "$htable" dump "${K[@]}" --ept ad
expect "translate --ept outside EPT" 2 "translate: --ept: EPT flags need mode ept4 or ept5, not npt4" "$htable" translate "$work/e4.img" --cr3 0x100000 --mode npt4 --ept mbec 0
expect "--ept against --roots" 2 "dump: --ept xonly, but --roots names ept=ad,mbec,xonly" "$htable" dump "${E4[@]}" --ept xonly
expect "EPTP walk length" 2 "dump: EPTP 0x100020: bits 5:3 say a walk of 5 levels, but ept4 walks 4 \(they are 3 or 0\)" "$htable" dump "$work/e4.img" --cr3 0x100020 --mode ept4
expect "translate EPTP walk length" 2 "translate: EPTP 0x100018: bits 5:3 say a walk of 4 levels, but ept5 walks 5" "$htable" translate "$work/e5.img" --cr3 0x100018 --mode ept5 0
expect "--mode lists ept" 2 "--mode 'ept6': not one of 32bit, pae, 4level, 5level, npt4, npt5, ept4, ept5" "$htable" dump "$work/e4.img" --cr3 0 --mode ept6
sed 's/ept=ad,mbec,xonly/ept=ad,rwx/' "$work/e4.sum" >"$work/bad.sum"
expect "--roots bad ept=" 2 "--roots .*bad.sum: 'ept=ad,rwx': not a list of ad, mbec, xonly" "$htable" dump "$work/e4.img" --roots "$work/bad.sum"
printf 'mode=4level cr3=0x100000 ept=ad\n' >"$work/bad.sum"
expect "--roots ept= outside EPT" 2 "dump: --roots: EPT flags need mode ept4 or ept5, not 4level" "$htable" dump "$work/k.img" --roots "$work/bad.sum"
"$htable" dump --help | grep -q -- '--ept FLAGS' && ok || bad "dump --help: --ept"
"$htable" translate --help | grep -q 'ept4' && ok || bad "translate --help: ept4"
# EPT runs on Bochs's VMX (not on QEMU's TCG, which has none; nor does
# Bochs walk 5 levels): it agrees, or is skipped with the reason
"$htable" verify "${E4[@]}" >"$work/got" 2>&1
verified_or_skipped $? "ept4 verify"
"$htable" verify "$work/e5.img" --cr3 0x100020 --mode ept5 --ept xonly --engine qemu >"$work/got" 2>&1
[ $? -eq 4 ] && grep -q '^engine: qemu skipped: qemu: .*EPT (ept5) needs VMX' "$work/got" && ok || bad "ept5 verify --engine qemu: $(cat "$work/got")"
"$htable" verify "$work/e5.img" --cr3 0x100020 --mode ept5 --ept xonly >"$work/got" 2>&1
[ $? -eq 4 ] && grep -q '^engine: bochs skipped: bochs: Bochs 2.7 has no 5-level EPT' "$work/got" && ok || bad "ept5 verify: $(cat "$work/got")"
"$htable" build "$examples/ept4.spec" -o "$work/e4v.img" --verify >"$work/got" 2>&1
verified_or_skipped $? "ept4 build --verify"

# --- EPT spaces: every root is an EPTP, and --roots reads them all ---
printf '%s\n' "mode ept4" "ept ad mbec" "pool 0x100000 1m" "space a" "map 0 0x40000000 2m w x mt=wb" \
    "space b" "map 0x200000 0x1000000 4k xu mt=uc" "cpu 0" "switch 0 b" >"$work/em.spec"
"$htable" build "$work/em.spec" -o "$work/em.img" >"$work/em.sum" 2>"$work/err" || bad "ept spaces: $(cat "$work/err")"
cat >"$work/want" <<'GOLD'
root a cr3=0x10005e
root b cr3=0x10305e
root cpu0 cr3=0x10305e
mode=ept4 roots=3 ept=ad,mbec
GOLD
tail -n 4 "$work/em.sum" | cmp -s "$work/want" - && ok || bad "ept spaces summary: $(cat "$work/em.sum")"
cat >"$work/want" <<'GOLD'
root a cr3=0x10005e
0000000000000000-00000000001fffff 0000000040000000 2m rwx- wb --
root b cr3=0x10305e
0000000000200000-0000000000200fff 0000000001000000 4k r--u uc --
root cpu0 cr3=0x10305e
0000000000200000-0000000000200fff 0000000001000000 4k r--u uc --
GOLD
"$htable" dump "$work/em.img" --roots "$work/em.sum" >"$work/got"
cmp -s "$work/want" "$work/got" && ok || bad "ept spaces dump: $(diff "$work/want" "$work/got" | head -6)"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
