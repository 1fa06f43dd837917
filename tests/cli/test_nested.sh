#!/usr/bin/env bash
# End-to-end tests of a guest on a hypervisor's tables: `htable build` of
# a spec with a guest section (the summary, the guest's tables in the
# image where the host maps them, every input error) and `htable
# translate --nested` (goldens of completed accesses, the guest's #PF and
# #GP, EPT violations on a guest table and on the final address, an EPT
# misconfiguration, NPFs on a table and on the final address, JSON, and
# the argument errors).  Ends with a Criterion-style synthesis line.
#   usage: test_nested.sh HTABLE EXAMPLES_DIR
set -u
htable=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

# golden NAME: the output in $work/got against stdin
golden() {
	cat >"$work/want"
	cmp -s "$work/want" "$work/got" && ok ||
	    bad "$1: $(diff "$work/want" "$work/got" | head -12)"
}

# --- build: the summaries ---
E4=$examples/nested-ept4.spec
N4=$examples/nested-npt4.spec
"$htable" build "$E4" -o "$work/e4.img" >"$work/got" || bad "build nested-ept4"
cp "$work/got" "$work/e4.sum"
golden "nested-ept4 summary" <<'GOLD'
tables per level (root first): L3=1 L2=1 L1=2 L0=2
leaves: 513 x 4k 510 x 2m 0 x 1g
frames: 6 in [0x100000, 0x200000)
mode=ept4 cr3=0x10005e ept=ad
guest tables per level (root first): L3=1 L2=2 L1=3 L0=2; leaves: 7 x 4k 1 x 2m 0 x 1g
guest frames: 8 in [0x200000, 0x210000)
guest mode=4level cr3=0x200000
GOLD
"$htable" build "$N4" -o "$work/n4.img" >"$work/got" || bad "build nested-npt4"
cp "$work/got" "$work/n4.sum"
golden "nested-npt4 summary" <<'GOLD'
tables per level (root first): L3=1 L2=2 L1=3 L0=1
leaves: 1 x 4k 512 x 2m 1 x 1g
frames: 7 in [0x100000, 0x200000)
mode=npt4 cr3=0x100000
guest tables per level (root first): L2=1 L1=2 L0=2; leaves: 5 x 4k 1 x 2m
guest frames: 5 in [0x100000, 0x110000)
guest mode=pae cr3=0x100000
GOLD
"$htable" build "$N4" -o "$work/n4j.img" --json >"$work/got" || bad "build nested-npt4 --json"
golden "nested-npt4 json" <<'GOLD'
{"mode":"npt4","cr3":"0x100000","tables":{"0":1,"1":3,"2":2,"3":1},"leaves":{"4k":1,"2m":512,"1g":1},"frames":7,"guest":{"mode":"pae","cr3":"0x100000","host":"default","tables":{"0":2,"1":2,"2":1},"leaves":{"4k":5,"2m":1},"frames":5,"pools":[{"base":"0x100000","len":"0x10000"}]},"pools":[{"base":"0x100000","len":"0x100000"}]}
GOLD
cmp -s "$work/n4.img" "$work/n4j.img" && ok || bad "nested-npt4: rebuild differs"

# the guest's root lands where the host maps its guest-physical page: the
# EPT maps [0, 1 GiB) at host 1 GiB, so guest 0x200000 is 0x40200000
# (the first entry: the PML4E of user VA 0, to the PDPT at 0x201000)
e=$(od -An -tx8 -j $((0x40200000)) -N 8 "$work/e4.img" | tr -d ' ')
[ "$e" = 0000000000201027 ] && ok || bad "guest PML4E at host 0x40200000: '$e'"
# and nothing at the guest-physical address itself (a hole of the image)
z=$(od -An -v -tx1 -j $((0x200000)) -N 4096 "$work/e4.img" 2>/dev/null | tr -d ' \n0')
[ -z "$z" ] && ok || bad "guest table at its guest-physical address"
# the host's tables are the host's alone: dump reads them as before (the
# guest table page 0x205000 read-only, the 4 KiB pages around it)
"$htable" dump "$work/e4.img" --roots "$work/e4.sum" >"$work/got" 2>"$work/err"
[ $? -eq 0 ] && [ ! -s "$work/err" ] && ok || bad "dump of the host: $(cat "$work/err")"
golden "dump of the host" <<'GOLD'
0000000000000000-00000000001fffff 0000000040000000 2m rwx wb --
0000000000200000-0000000000204fff 0000000040200000 4k rwx wb --
0000000000205000-0000000000205fff 0000000040205000 4k r-- wb --
0000000000206000-00000000003fffff 0000000040206000 4k rwx wb --
0000000000400000-0000000002ffffff 0000000040400000 2m rwx wb --
0000000003000000-00000000031fffff 0000000043000000 2m r-x wb --
0000000003400000-000000003fffffff 0000000043400000 2m rwx wb --
00000000fee00000-00000000fee00fff 00000000fee00000 4k rw- uc --
GOLD

# --- translate --nested: EPT ---
R=("$work/e4.img" --nested --roots "$work/e4.sum")
"$htable" translate "${R[@]}" 0x401123 >"$work/got" || bad "ept ok: exit"
golden "ept: a completed read, A/D of both stages" <<'GOLD'
va 0x401123: pa 0x41001123, 4k page, gpa 0x1001123 (read, cpl 3)
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   0] gpa 0x201000 hpa 0x40201000: 0x0000000000202027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [   2] gpa 0x202010 hpa 0x40202010: 0x0000000000203027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103010=0x40202037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L0 PTE   [   1] gpa 0x203008 hpa 0x40203008: 0x0000000001001007
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103018=0x40203037 -> 4k page, sets A L3 L2 L1 L0, D L0
  final gpa 0x1001123 hpa 0x41001123
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102040=0x410000b7 -> 2m page, sets A L3 L2 L1
  guest sets A L3 L2 L1 L0
GOLD
"$htable" translate "${R[@]}" --access w --cpl 0 0xffffffff80001000 >"$work/got" || bad "ept table: exit"
golden "ept: violation on a guest table page" <<'GOLD'
va 0xffffffff80001000: EPT violation (write, cpl 0) at gpa 0x205000, on the guest's L1 PDE (stage 2); qualification 0x8b: read write readable gla-valid
  guest L3 PML4E [ 511] gpa 0x200ff8 hpa 0x40200ff8: 0x0000000000204027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [ 510] gpa 0x204ff0 hpa 0x40204ff0: 0x0000000000205027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103020=0x40204037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [   0] gpa 0x205000: not read
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103028=0x40205031 -> EPT violation
GOLD
"$htable" translate "${R[@]}" --access w 0x7fff0008 0x7fff1000 >"$work/got" || bad "ept final: exit"
golden "ept: violations on the final address" <<'GOLD'
va 0x7fff0008: EPT violation (write, cpl 3) at gpa 0x3000008, on the final address (stage 4); qualification 0x1aa: write readable executable gla-valid final
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   1] gpa 0x201008 hpa 0x40201008: 0x0000000000206027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [ 511] gpa 0x206ff8 hpa 0x40206ff8: 0x0000000000207027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103030=0x40206037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L0 PTE   [ 496] gpa 0x207f80 hpa 0x40207f80: 0x8000000003000007
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103038=0x40207037 -> 4k page, sets A L3 L2 L1 L0, D L0
  final gpa 0x3000008
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x1020c0=0x430000b5 -> EPT violation
va 0x7fff1000: EPT violation (write, cpl 3) at gpa 0x3200000, on the final address (stage 4); qualification 0x182: write gla-valid final
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   1] gpa 0x201008 hpa 0x40201008: 0x0000000000206027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [ 511] gpa 0x206ff8 hpa 0x40206ff8: 0x0000000000207027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103030=0x40206037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L0 PTE   [ 497] gpa 0x207f88 hpa 0x40207f88: 0x8000000003200007
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103038=0x40207037 -> 4k page, sets A L3 L2 L1 L0, D L0
  final gpa 0x3200000
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x1020c8=0x0 -> EPT violation
GOLD
"$htable" translate "${R[@]}" 0x900000 0x7fff2000 0x800000000000 >"$work/got" || bad "ept pf: exit"
"$htable" translate "${R[@]}" --access w 0x7fff2000 >>"$work/got" || bad "ept pf w: exit"
golden "ept: the guest's #PF and #GP" <<'GOLD'
va 0x900000: guest #PF (read, cpl 3), error code 0x4: not-present user
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   0] gpa 0x201000 hpa 0x40201000: 0x0000000000202027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [   4] gpa 0x202020 hpa 0x40202020: 0x0000000000000000
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103010=0x40202037 -> 4k page, sets A L3 L2 L1 L0, D L0
va 0x7fff2000: pa 0x41004000, 4k page, gpa 0x1004000 (read, cpl 3)
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   1] gpa 0x201008 hpa 0x40201008: 0x0000000000206027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [ 511] gpa 0x206ff8 hpa 0x40206ff8: 0x0000000000207027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103030=0x40206037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L0 PTE   [ 498] gpa 0x207f90 hpa 0x40207f90: 0x8000000001004005
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103038=0x40207037 -> 4k page, sets A L3 L2 L1 L0, D L0
  final gpa 0x1004000 hpa 0x41004000
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102040=0x410000b7 -> 2m page, sets A L3 L2 L1
  guest sets A L3 L2 L1 L0
va 0x800000000000: guest #GP (read, cpl 3): not canonical for 4level paging
va 0x7fff2000: guest #PF (write, cpl 3), error code 0x7: protection write user
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   1] gpa 0x201008 hpa 0x40201008: 0x0000000000206027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [ 511] gpa 0x206ff8 hpa 0x40206ff8: 0x0000000000207027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103030=0x40206037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L0 PTE   [ 498] gpa 0x207f90 hpa 0x40207f90: 0x8000000001004005
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103038=0x40207037 -> 4k page, sets A L3 L2 L1 L0, D L0
GOLD
# the qualification's bits, one by one: a guest table access is a write
# (A/D on) that reads too; the final write of a read-execute page
"$htable" translate "${R[@]}" --format json --cpl 0 0xffffffff80001000 >"$work/got"
grep -q '"fault":"ept_violation","error_code":"0x8b","qualification":\["read","write","readable","gla-valid"\],"stage":2,"stage_kind":"table","fault_gpa":"0x205000"' "$work/got" &&
    ok || bad "ept table json: $(head -c 400 "$work/got")"
"$htable" translate "${R[@]}" --format json --access w 0x7fff0008 >"$work/got"
grep -q '"error_code":"0x1aa","qualification":\["write","readable","executable","gla-valid","final"\],"stage":4,"stage_kind":"final","fault_gpa":"0x3000008"' "$work/got" &&
    ok || bad "ept final json: $(head -c 400 "$work/got")"
# JSON: an array, one object per VA, each on its line
"$htable" translate "${R[@]}" --format json 0x401123 0x900000 0x800000000000 >"$work/got" || bad "json: exit"
[ "$(wc -l <"$work/got")" -eq 3 ] && [ "$(head -c 2 "$work/got")" = '[{' ] && [ "$(tail -c 3 "$work/got")" = '}]' ] &&
    grep -q '^{"va":"0x900000","access":"read","cpl":3,"fault":"guest_pf","error_code":"0x4","error_bits":\["not-present","user"\],"stage":null,' "$work/got" &&
    grep -q '^{"va":"0x800000000000","access":"read","cpl":3,"fault":"guest_gp","stage":null,"guest":\[\],"final":null' "$work/got" &&
    grep -q '"gpa":"0x1001123","pa":"0x41001123","page_size":"4k",.*"guest_set_a":\[3,2,1,0\],"guest_set_d":false}' "$work/got" &&
    ok || bad "json: $(cat "$work/got" | cut -c 1-300)"
"$htable" translate "${R[@]}" --format json --access w 0x401000 >"$work/got"
grep -q '"final":{"fault":"none","pa":"0x41001000","page_size":"2m",.*"set_a":\[3,2,1\],"set_d":true},"guest_set_a":\[3,2,1,0\],"guest_set_d":true}\]$' "$work/got" &&
    ok || bad "json write: $(cut -c 1-300 "$work/got")"
# by hand: the host's EPTP and flags, the guest's mode and CR3
"$htable" translate "$work/e4.img" --nested --cr3 0x10005e --mode ept4 --ept ad --guest-mode 4level --guest-cr3 0x200000 0x401123 >"$work/got" || bad "by hand: exit"
golden "ept: by hand" <<'GOLD'
va 0x401123: pa 0x41001123, 4k page, gpa 0x1001123 (read, cpl 3)
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103000=0x40200037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   0] gpa 0x201000 hpa 0x40201000: 0x0000000000202027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103008=0x40201037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L1 PDE   [   2] gpa 0x202010 hpa 0x40202010: 0x0000000000203027
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103010=0x40202037 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L0 PTE   [   1] gpa 0x203008 hpa 0x40203008: 0x0000000001001007
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102008=0x103107 L0 0x103018=0x40203037 -> 4k page, sets A L3 L2 L1 L0, D L0
  final gpa 0x1001123 hpa 0x41001123
    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x102040=0x410000b7 -> 2m page, sets A L3 L2 L1
  guest sets A L3 L2 L1 L0
GOLD
# an EPT misconfiguration: memory type 2 in the EPT leaf of the final page
cp "$work/e4.img" "$work/mc.img"
put64 "$work/mc.img" 0x1020c0 0x43000095
"$htable" translate "$work/mc.img" --nested --roots "$work/e4.sum" 0x7fff0008 >"$work/got" || bad "misconfig: exit"
head -n 1 "$work/got" | grep -qx 'va 0x7fff0008: EPT misconfiguration (read, cpl 3) at gpa 0x3000008, on the final address (stage 4)' &&
    tail -n 1 "$work/got" | grep -qx '    host: L3 0x100000=0x101107 L2 0x101000=0x102107 L1 0x1020c0=0x43000095 -> EPT misconfiguration' &&
    ok || bad "misconfig: $(cat "$work/got")"

# --- translate --nested: NPT, a PAE guest ---
"$htable" translate "$work/n4.img" --nested --roots "$work/n4.sum" --access x 0x400010 0x800000 >"$work/got" || bad "npt: exit"
golden "npt: a fetch, the guest's #PF" <<'GOLD'
va 0x400010: pa 0x41000010, 4k page, gpa 0x1000010 (fetch, cpl 3)
  guest L2 PDPTE [   0] gpa 0x100000 hpa 0x40100000: 0x0000000000101001
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2
  guest L1 PDE   [   2] gpa 0x101010 hpa 0x40101010: 0x0000000000102027
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2, D L2
  guest L0 PTE   [   0] gpa 0x102000 hpa 0x40102000: 0x0000000001000007
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2, D L2
  final gpa 0x1000010 hpa 0x41000010
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2
  guest sets A L1 L0
va 0x800000: guest #PF (fetch, cpl 3), error code 0x15: protection user fetch
  guest L2 PDPTE [   0] gpa 0x100000 hpa 0x40100000: 0x0000000000101001
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2
  guest L1 PDE   [   4] gpa 0x101020 hpa 0x40101020: 0x0000000000104027
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2, D L2
  guest L0 PTE   [   0] gpa 0x104000 hpa 0x40104000: 0x800000007fe00007
    host: L3 0x100000=0x101027 L2 0x101000=0x40000087 -> 1g page, sets A L3 L2, D L2
GOLD
"$htable" translate "$work/n4.img" --nested --roots "$work/n4.sum" --access w 0x800000 >"$work/got"
head -n 1 "$work/got" | grep -qx 'va 0x800000: NPF (write, cpl 3) at gpa 0x7fe00000, on the final address (stage 3); EXITINFO1 0x100000006: not-present write user final' &&
    tail -n 1 "$work/got" | grep -qx '    host: L3 0x100000=0x101027 L2 0x101008=0x102027 L1 0x102ff8=0x0 -> NPF' &&
    ok || bad "npt final: $(cat "$work/got")"
"$htable" translate "$work/n4.img" --nested --roots "$work/n4.sum" 0x100000000 >"$work/got"
grep -qx 'va 0x100000000: beyond 4 GiB: pae paging has 32-bit linear addresses' "$work/got" && ok || bad "pae beyond: $(cat "$work/got")"
# an NPF on a guest table: the host maps the guest's PDPT read-only
cat >"$work/t.spec" <<'SPEC'
mode npt4
pool 0x100000 64k
map 0 0x40000000 4m w x
protect 0x201000 4k x		# the guest's first PDPT: read and execute
guest 4level
pool 0x200000 16k
map 0x1000 0x5000 4k w u
SPEC
"$htable" build "$work/t.spec" -o "$work/t.img" >"$work/t.sum" || bad "npf table: build"
"$htable" translate "$work/t.img" --nested --roots "$work/t.sum" 0x1008 >"$work/got"
golden "npt: NPF on a guest table" <<'GOLD'
va 0x1008: NPF (read, cpl 3) at gpa 0x201000, on the guest's L2 PDPTE (stage 1); EXITINFO1 0x200000007: protection write user table
  guest L3 PML4E [   0] gpa 0x200000 hpa 0x40200000: 0x0000000000201027
    host: L3 0x100000=0x101027 L2 0x101000=0x102027 L1 0x102008=0x103027 L0 0x103000=0x40200007 -> 4k page, sets A L3 L2 L1 L0, D L0
  guest L2 PDPTE [   0] gpa 0x201000: not read
    host: L3 0x100000=0x101027 L2 0x101000=0x102027 L1 0x102008=0x103027 L0 0x103008=0x40201005 -> NPF
GOLD
"$htable" translate "$work/t.img" --nested --roots "$work/t.sum" --format json 0x1008 >"$work/got"
grep -q '"fault":"npf","exit_info1":"0x200000007","error_bits":\["protection","write","user","table"\],"stage":1,"stage_kind":"table","fault_gpa":"0x201000"' "$work/got" &&
    ok || bad "npf json: $(cut -c 1-300 "$work/got")"

# --- a guest in a named host space: host=NAME picks the host's root ---
cat >"$work/m.spec" <<'SPEC'
mode npt4
pool 0x100000 64k
space a
map 0 0x40000000 1g w x
space b
map 0 0x80000000 1g w x
guest 32bit in a
pool 0x200000 16k
map 0x1000 0x5000 4k w u
SPEC
"$htable" build "$work/m.spec" -o "$work/m.img" >"$work/m.sum" || bad "host=: build"
tail -n 1 "$work/m.sum" | grep -qx 'guest mode=32bit cr3=0x200000 host=a' && ok || bad "host=: $(tail -n 1 "$work/m.sum")"
"$htable" translate "$work/m.img" --nested --roots "$work/m.sum" 0x1008 | head -n 1 >"$work/got"
grep -qx 'va 0x1008: pa 0x40005008, 4k page, gpa 0x5008 (read, cpl 3)' "$work/got" && ok || bad "host=: $(cat "$work/got")"
"$htable" build "$work/m.spec" -o "$work/m.img" --json | grep -q '"frames":4,"guest":{"mode":"32bit","cr3":"0x200000","host":"a","tables":{"0":1,"1":1},"leaves":{"4k":1,"4m":0},"frames":2,"pools":\[{"base":"0x200000","len":"0x4000"}\]},"pools":' &&
    ok || bad "host= json"
# dump and translate --roots read the host's roots only
"$htable" dump "$work/m.img" --roots "$work/m.sum" >/dev/null 2>&1 && ok || bad "dump --roots with a guest line"

# --- build: input errors (FILE:LINE, exit 2, no image) ---
H="mode ept4"; P="pool 0x100000 64k"; M="map 0 0x40000000 1g w"; GP="pool 0x200000 16k"
err_case "guest in 4level" 2 "guest: a guest's tables need a hypervisor's: 'mode npt4', 'npt5', 'ept4' or 'ept5' as the first statement (the mode is 4level)" "$P" "guest 4level"
err_case "guest mode unknown" 3 "guest: unknown guest mode 'ept4' (32bit, pae, 4level or 5level)" "$H" "$P" "guest ept4"
err_case "guest mode missing" 3 "guest: missing field" "$H" "$P" "guest"
err_case "guest bad syntax" 3 "guest: expected 'guest MODE \[in SPACE\]'" "$H" "$P" "guest pae on a"
err_case "guest twice" 5 "guest: given twice (the guest section begins at line 3)" "$H" "$P" "guest pae" "$GP" "guest 4level"
err_case "guest in no space" 3 "guest: no space 'vm'" "$H" "$P" "guest pae in vm"
err_case "guest in a later space" 3 "guest: space 'vm' is defined later, at line 4" "$H" "$P" "guest pae in vm" "space vm"
err_case "guest in a copied space" 4 "guest: space 'a' is copied (no root of its own)" "$H" "$P" "space a copied" "guest pae in a"
err_case "mode in the guest" 5 "mode: the guest's mode is the one 'guest' names (line 4)" "$H" "$P" "$M" "guest pae" "mode 4level"
for st in "space x" "cpu 0" "kpti" "ept ad" "share 0 from default 0 4k" "unshare 0 4k" "switch 0 none"; do
	err_case "$st in the guest" 6 "${st%% *}: not in the guest section (from line 4): the guest is one address space" "$H" "$P" "$M" "guest 4level" "$GP" "$st"
done
err_case "guest without pool" 5 "guest: no pool: the guest's page-table frames need at least one 'pool GPA LEN' after 'guest' (line 4)" "$H" "$P" "$M" "guest 4level" "map 0 0 4k"
err_case "guest pool unmapped" 5 "pool: guest-physical page 0x200000 is not mapped by the host space 'default': the guest's tables there would be in no memory" "$H" "$P" "map 0 0x40000000 2m w" "guest 4level" "$GP"
err_case "guest pool partly unmapped" 6 "pool: guest-physical page 0x203000 is not mapped" "$H" "$P" "$M" "unmap 0x203000 4k" "guest 4level" "$GP"
err_case "guest pool on a host pool" 5 "pool: guest-physical page 0x0 is host-physical 0x100000, in the host's pool of line 2: the guest's tables would overwrite the hypervisor's" "$H" "$P" "map 0 0x100000 4k w" "guest pae" "pool 0 4k"
err_case "guest pool pages aliased" 6 "pool: guest-physical pages 0x0 and 0x1000 are both host-physical 0x40000000: the guest's tables would overwrite each other" "$H" "$P" "map 0 0x40000000 4k w" "map 0x1000 0x40000000 4k w" "guest 4level" "pool 0 8k"
err_case "guest pools overlap" 6 "pool: the guest's pools overlap at 0x201000" "$H" "$P" "$M" "guest 32bit" "$GP" "pool 0x201000 4k"
err_case "guest pools too big" 5 "pool: the guest's pools hold at most 1 GiB in all" "$H" "$P" "$M" "guest 4level" "pool 0 2g"
err_case "guest pool too small" 6 "no physical frame available for a page table: the pools are too small" "$H" "$P" "$M" "guest 4level" "pool 0x200000 4k" "map 0 0 4k" "map 0x8000000000 0 4k"
err_case "guest map non-canonical" 6 "not canonical" "$H" "$P" "$M" "guest 4level" "$GP" "map 0x800000000000 0 4k"
err_case "guest EPT attribute" 6 "map: 'mt=wb' is an EPT attribute (modes ept4 and ept5), not one of 4level paging" "$H" "$P" "$M" "guest 4level" "$GP" "map 0 0 4k mt=wb"
err_case "guest page size" 5 "guest: .*32bit paging has only page sizes" "$H" "$P" "$M" "guest 32bit" "pagesizes 4k 1g" "$GP" "map 0 0 4k"

# --- translate --nested: argument errors (exit 2) ---
T=("$htable" translate "$work/e4.img")
expect "nested option without --nested" 2 "^htable translate: --access goes with --nested$" "${T[@]}" --roots "$work/e4.sum" --access w 0x1000
expect "--guest-cr3 without --nested" 2 "^htable translate: --guest-cr3 goes with --nested$" "${T[@]}" --roots "$work/e4.sum" --guest-cr3 0 0x1000
expect "--format without --nested" 2 "--format goes with --nested" "${T[@]}" --roots "$work/e4.sum" --format json 0x1000
expect "bad access" 2 "^htable translate: --access 'q': not r, w or x \(read, write, fetch\)$" "${T[@]}" --nested --roots "$work/e4.sum" --access q 0x1000
expect "bad cpl" 2 "^htable translate: --cpl '1': not 0 or 3$" "${T[@]}" --nested --roots "$work/e4.sum" --cpl 1 0x1000
expect "bad format" 2 "^htable translate: --format 'xml': not text or json$" "${T[@]}" --nested --roots "$work/e4.sum" --format xml 0x1000
expect "bad guest mode" 2 "^htable translate: --guest-mode 'npt4': not one of 32bit, pae, 4level, 5level$" "${T[@]}" --nested --roots "$work/e4.sum" --guest-mode npt4 0x1000
expect "bad guest cr3" 2 "^htable translate: --guest-cr3 'zz': not a number$" "${T[@]}" --nested --roots "$work/e4.sum" --guest-cr3 zz 0x1000
expect "bad cpu" 2 "^htable translate: --cpu 'bogus': flags are" "${T[@]}" --nested --roots "$work/e4.sum" --cpu bogus 0x1000
expect "guest mode disagrees" 2 "^htable translate: --guest-mode pae, but --roots names a 4level guest$" "${T[@]}" --nested --roots "$work/e4.sum" --guest-mode pae 0x1000
expect "no guest" 2 "^htable translate: --nested needs the guest's mode and CR3: --guest-mode and --guest-cr3, or --roots FILE of a build with a guest section$" "${T[@]}" --nested --cr3 0x10005e --mode ept4 0x1000
expect "no guest cr3" 2 "--nested needs the guest's mode and CR3" "${T[@]}" --nested --cr3 0x10005e --mode ept4 --guest-mode 4level 0x1000
expect "host not nested" 2 "^htable translate: --nested: the host's mode is 4level; a guest runs on a hypervisor's tables: npt4, npt5, ept4 or ept5$" "${T[@]}" --nested --cr3 0x100000 --mode 4level --guest-mode 4level --guest-cr3 0 0x1000
expect "several host roots" 2 "^htable translate: --nested: 2 roots: give the hypervisor's alone \(one --cr3\)$" "${T[@]}" --nested --cr3 0x10005e --cr3 0x10105e --mode ept4 --guest-mode 4level --guest-cr3 0x200000 0x1000
expect "bad va" 2 "^htable translate: VA '0xzz': not a number$" "${T[@]}" --nested --roots "$work/e4.sum" 0xzz
expect "no va" 2 "usage: htable translate" "${T[@]}" --nested --roots "$work/e4.sum"
expect "no image" 1 "^htable: $work/none.img: " "$htable" translate "$work/none.img" --nested --roots "$work/e4.sum" 0x1000
sed 's/^guest mode=.*/guest mode=4level cr3=zz/' "$work/e4.sum" >"$work/bad.sum"
expect "bad guest line" 2 "^htable: --roots $work/bad.sum: 'guest mode=4level cr3=zz': expected 'guest mode=MODE cr3=0xHEX'$" "${T[@]}" --nested --roots "$work/bad.sum" 0x1000
sed 's/host=a/host=no+name/' "$work/m.sum" >"$work/bad.sum"
expect "bad host name" 2 "not the name of a root$" "$htable" translate "$work/m.img" --nested --roots "$work/bad.sum" 0x1000
sed 's/host=a/host=c/' "$work/m.sum" >"$work/bad.sum"
expect "unknown host root" 2 "^htable translate: --nested: the guest's host root 'c' is not among the roots$" "$htable" translate "$work/m.img" --nested --roots "$work/bad.sum" 0x1000
"$htable" translate --help | grep -q -- '--nested' && ok || bad "help names --nested"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
