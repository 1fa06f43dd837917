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
pass=0; fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "[FAIL] $*" >&2; }

# expect NAME STATUS STDERR-REGEX CMD...: exit status and a message
expect() {
	local name=$1 want=$2 re=$3; shift 3
	"$@" >"$work/out" 2>"$work/err"
	local rc=$?
	[ $rc -eq "$want" ] || { bad "$name: exit $rc, want $want"; return; }
	[ -z "$re" ] || grep -Eq -- "$re" "$work/err" ||
	    { bad "$name: stderr '$(head -3 "$work/err")'"; return; }
	ok
}

# put64 FILE OFFSET VALUE: store a little-endian 64-bit entry
put64() {
	local v=$3 s="" i
	for i in 0 1 2 3 4 5 6 7; do
		s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 0xff )))
	done
	printf "$s" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}
put32() {
	local v=$3 s="" i
	for i in 0 1 2 3; do
		s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 0xff )))
	done
	printf "$s" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

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
expect "verify bad engine" 2 "--engine 'bochs'" "$htable" verify "${K[@]}" --engine bochs
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
	c=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
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
grep -q 'read as zero' "$work/got" && grep -q 'beyond' "$work/err" && ok || bad "translate unbacked: $(cat "$work/got")"
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

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
