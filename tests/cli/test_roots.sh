#!/usr/bin/env bash
# End-to-end tests of `htable roots`: usage and errors; the roots of
# images htable built (one space; several spaces sharing a kernel half;
# 5-level; 32-bit and PAE, one space and several); images it did not
# build: a self-map, a root whose link leads to a frame with a reserved
# bit (not a root), an empty linked table (a root), random bytes and an
# image of pages that all link each other (time stays linear); in 32-bit
# and PAE paging a self-map, 4 MiB leaves with bit 21 and with PSE-36
# bits beyond --pa-bits, PDPTs in 32-byte slots sharing PDPTE 3, PDPT
# slots with reserved bits, roots above 4 GiB (none) and link bombs.
# Ends with a Criterion-style synthesis line.
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
expect "bad mode" 2 "--mode 'ept4'" "$htable" roots x --mode ept4
expect "bad pa-bits" 2 "--pa-bits '60'" "$htable" roots x --pa-bits 60
expect "bad confidence" 2 "--min-confidence '101'" "$htable" roots x --min-confidence 101
expect "mode twice" 2 "--mode 'pae,4level,pae'" \
    "$htable" roots x --mode pae,4level,pae
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

# --- 32-bit and PAE paging, built by htable ---
"$htable" build "$examples/flat-32bit.spec" -o "$work/f32.img" \
    >"$work/sum" || bad "build flat-32bit"
cr3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
"$htable" roots "$work/f32.img" --mode 32bit >"$work/out" || bad "roots f32.img"
has "32-bit root" "^mode=32bit cr3=$cr3 present=20 leaves=50 user=0x20000 \
kernel=0x4800000 "
has "32-bit: one candidate" "^roots=1 of 1 candidates$"
"$htable" roots "$work/f32.img" >"$work/out"
has "32-bit: not by default" "^roots=0 of 0 candidates$"
"$htable" build "$examples/pae.spec" -o "$work/pae.img" >"$work/sum" ||
    bad "build pae"
cr3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
"$htable" roots "$work/pae.img" --mode pae >"$work/out" || bad "roots pae.img"
has "PAE root" "^mode=pae cr3=$cr3 present=3 leaves=352 user=0x20000 \
kernel=0x8100000 "
has "PAE: one candidate" "^roots=1 of 1 candidates$"
# its tables read as 32-bit ones too, but the PAE reading ranks first
"$htable" roots "$work/pae.img" --mode 32bit,pae >"$work/out"
head -n 1 "$work/out" | grep -q "^mode=pae cr3=$cr3 " && ok ||
    bad "PAE first: $(head -1 "$work/out")"
"$htable" roots "$work/pae.img" --mode pae --json >"$work/out"
python3 -c "import json,sys; a=json.load(open(sys.argv[1]));
assert len(a)==1 and a[0]['mode']=='pae' and a[0]['selfmap']==-1" \
    "$work/out" && ok || bad "pae json: $(head -c 200 "$work/out")"

# several spaces: KPTI CPU roots with kernel halves, a shared table
for m in 32bit pae; do
	cat >"$work/mm.spec" <<EOF
mode $m
pool 0x100000 1m
kpti
space kern
map 0xc0000000 0x1000000 64k w
map 0xc0400000 0x1100000 8k x
space kuser
map 0xc0400000 0x1100000 8k x
space shm
map 0x40000000 0x3000000 8k w u
space p1 copied
map 0x400000 0x2000000 16k u x
space p2 copied
map 0x400000 0x4000000 16k u x
share 0x80000000 from shm 0x40000000 4m
cpu 0 kernel kern kpti kuser
switch 0 p2
cpu 1 kernel kern kpti kuser
switch 1 p1
EOF
	"$htable" build "$work/mm.spec" -o "$work/mm.img" >"$work/sum" ||
	    bad "build $m multi"
	"$htable" roots "$work/mm.img" --mode $m >"$work/out" ||
	    bad "roots $m multi"
	for nr in $(sed -n 's/^root \([^ ]*\) cr3=\(0x[0-9a-f]*\)$/\1=\2/p' \
	    "$work/sum"); do
		n=${nr%%=*} r=${nr#*=}
		# kern, cpu0, cpu1 share one kernel part; kuser and the two
		# user roots another; shm has none
		case $n in shm) sh=0 ;; *) sh=2 ;; esac
		has "$m multi root $n" "^mode=$m cr3=$r .* shared=$sh "
	done
	has "$m multi: seven" "^roots=7 of 7 candidates$"
	"$htable" roots "$work/mm.img" --mode $m --min-confidence 40 \
	    >"$work/out"
	has "$m multi: six shared" "^roots=6 of 7 candidates$"
done

# --- hand-made 32-bit tables ---
# PD 0x1000 -> PT 0x2000 -> a page; PDE 768 links the PD itself
mkimg "$work/t.img"
put32 "$work/t.img" 0x1000 0x2003
put32 "$work/t.img" 0x2000 0x5003
put32 "$work/t.img" $((0x1000 + 768 * 4)) 0x1003
"$htable" roots "$work/t.img" --mode 32bit >"$work/out"
has "32-bit self-map" "^mode=32bit cr3=0x1000 present=2 leaves=3 \
user=0x1000 kernel=0x2000 shared=0 selfmap=768 "
# a 4 MiB page at 4 GiB + 4 MiB (PSE-36: address bit 32 in bit 13)
put32 "$work/t.img" 0x1004 0x402083
"$htable" roots "$work/t.img" --mode 32bit >"$work/out"
has "PSE-36 leaf" "^mode=32bit cr3=0x1000 present=3 leaves=5 user=0x401000 "
# ... is reserved when MAXPHYADDR is 32
"$htable" roots "$work/t.img" --mode 32bit --pa-bits 32 >"$work/out"
hasnt "PSE-36 beyond --pa-bits" "cr3=0x1000 "
# bit 21 of a 4 MiB PDE is reserved
put32 "$work/t.img" 0x1004 0x200083
"$htable" roots "$work/t.img" --mode 32bit >"$work/out"
hasnt "4 MiB PDE bit 21" "cr3=0x1000 "
# a PDE linking beyond the image
put32 "$work/t.img" 0x1004 0x40000003
"$htable" roots "$work/t.img" --mode 32bit >"$work/out"
hasnt "32-bit link beyond the image" "cr3=0x1000 "

# --- hand-made PAE tables ---
# PDPTs at 0x1020 and 0x1040 (32-byte slots of one frame): PDPTE 0 or
# 1 -> PD 0x2000 -> PT 0x3000 -> a page; PDPTE 3 -> kernel PD 0x4000
# with one 2 MiB page, XD set
mkimg "$work/p.img"
put64 "$work/p.img" 0x2000 0x3003
put64 "$work/p.img" 0x3000 0x5003
put64 "$work/p.img" 0x4000 0x8000000000200083
put64 "$work/p.img" 0x1020 0x2001
put64 "$work/p.img" 0x1038 0x4001
put64 "$work/p.img" 0x1048 0x2001
put64 "$work/p.img" 0x1058 0x4001
# slots that are no roots: R/W (bit 1, reserved in a PDPTE), bit 5,
# bit 63, and a link to a PD with bit 62 in an entry
put64 "$work/p.img" 0x1060 0x2003
put64 "$work/p.img" 0x1080 0x2021
put64 "$work/p.img" 0x10b8 0x8000000000004001
put64 "$work/p.img" 0x10c0 0x6001
put64 "$work/p.img" 0x6000 0x4000000000003003
"$htable" roots "$work/p.img" --mode pae >"$work/out"
has "PDPT in a slot" "^mode=pae cr3=0x1020 present=2 leaves=2 user=0x1000 \
kernel=0x200000 shared=1 "
has "PDPT in the next slot" "^mode=pae cr3=0x1040 present=2 leaves=2 \
user=0x1000 kernel=0x200000 shared=1 "
has "PAE: the two" "^roots=2 of 2 candidates$"
# a copy of a root does not vouch for it
put64 "$work/p.img" 0x1048 0
put64 "$work/p.img" 0x1040 0x2001
"$htable" roots "$work/p.img" --mode pae >"$work/out"
has "PDPT copies share nothing" "^mode=pae cr3=0x1040 .* shared=0 "
# CR3 names no PDPT (nor 32-bit PD) above 4 GiB: a sparse image whose
# frame at 4 GiB holds the PDPT of 0x1020; the next frame, a PML4 (->
# 0x7000 -> 0x2000 -> 0x3000 -> a page), is a 4-level root
cp "$work/p.img" "$work/s.img"
truncate -s $((0x100002000)) "$work/s.img"
put64 "$work/s.img" 0x100000000 0x2001
put64 "$work/s.img" 0x100000018 0x4001
put64 "$work/s.img" 0x100001000 0x7003
put64 "$work/s.img" 0x7000 0x2003
if [ "$(du -k "$work/s.img" | cut -f1)" -lt 1024 ]; then
	"$htable" roots "$work/s.img" --mode pae,32bit,4level >"$work/out"
	hasnt "PAE root above 4 GiB" "^mode=(pae|32bit) cr3=0x10000[01]000 "
	has "a 4-level root there" "^mode=4level cr3=0x100001000 "
else
	ok; ok	# no sparse files here: 4 GiB of zeros is no test
fi

# --- random bytes, in every mode ---
"$htable" roots "$work/r.img" --mode 32bit,pae,4level,5level >"$work/out" &&
    ok || bad "random image, all modes: exit $?"

# --- 32-bit link bomb: 4096 frames, each linking the 1024 after it at
# every entry: 4096 x 1024 x 1024 entry reads if the PTs were judged
# again for every PD, 2 x 4096 x 1024 as they are ---
mkimg "$work/b32.img" 4096
python3 - "$work/b32.img" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    for p in range(4096):
        f.write(b''.join(struct.pack('<I', (((p + i) % 4096) << 12) | 3)
                         for i in range(1024)))
PY
timeout 10 "$htable" roots "$work/b32.img" --mode 32bit,pae >"$work/out" &&
    ok || bad "32-bit link bomb: exit $?"
has "32-bit link bomb: every frame a root" "^roots=4096 of 4096 candidates$"
# PAE: every 8-byte entry links a frame with P alone, so every 32-byte
# slot of every frame is a root
mkimg "$work/bp.img" 64
python3 - "$work/bp.img" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    for p in range(64):
        f.write(b''.join(struct.pack('<Q', ((i % 64) << 12) | 1)
                         for i in range(512)))
PY
timeout 20 "$htable" roots "$work/bp.img" --mode pae >"$work/out" &&
    ok || bad "PAE link bomb: exit $?"
has "PAE link bomb: every slot a root" "^roots=8192 of 8192 candidates$"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
