#!/usr/bin/env bash
# End-to-end tests of `htable build`: every example in every mode, the
# summary and JSON, the image, and every input error (FILE:LINE message,
# exit status 2, no image written).  Ends with a Criterion-style synthesis
# line that the test command counts.
#   usage: test_build.sh HTABLE EXAMPLES_DIR
set -u
htable=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

# --- usage ---
"$htable" --version | grep -q '^htable [0-9]' && ok || bad "--version"
"$htable" --help | grep -q 'build' && ok || bad "--help"
"$htable" build --help | grep -q 'usage: htable build' && ok || bad "build --help"
"$htable" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown command exit"
"$htable" build >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "build without args exit"
"$htable" build "$examples/pae.spec" >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "build without -o"

# --- every example builds; the summary's last line; the image ---
for spec in "$examples"/*.spec; do
	name=$(basename "$spec" .spec)
	mode=$(awk '$1 == "mode" { print $2; exit }' "$spec")
	out=$("$htable" build "$spec" -o "$work/$name.img")
	rc=$?
	[ $rc -eq 0 ] && ok || { bad "$name: exit $rc"; continue; }
	# the host's last line (a guest section's lines follow it)
	last=$(printf '%s\n' "$out" | grep '^mode=' | tail -n 1)
	# EPT: the EPTP, and the flags of the `ept` statement
	case $mode in
	ept*) re="^mode=${mode} cr3=0x([0-9a-f]+) ept=(none|(ad|mbec|xonly)(,(mbec|xonly))*)\$" ;;
	*) re="^mode=${mode} cr3=0x([0-9a-f]+)\$" ;;
	esac
	if [[ $last =~ $re ]]; then ok; else bad "$name: last line '$last'"; continue; fi
	cr3=$((16#${BASH_REMATCH[1]}))
	[[ $mode == ept* ]] && cr3=$((cr3 & ~0xfff))
	# the root table is in the image at its physical address, not empty
	nz=$(od -An -tx1 -j "$cr3" -N 4096 "$work/$name.img" | tr -d ' \n0')
	[ -n "$nz" ] && ok || bad "$name: root table at 0x$(printf %x $cr3) is empty"
	# sparse: the blocks used are far fewer than the apparent size
	alloc=$(du -k "$work/$name.img" | cut -f1)
	appar=$(( $(stat -c %s "$work/$name.img") / 1024 ))
	[ "$alloc" -le "$appar" ] && ok || bad "$name: image not sparse"
	json=$("$htable" build "$spec" -o "$work/$name.json.img" --json)
	[[ $json == \{\"mode\":\"$mode\",\"cr3\":\"0x*\"tables\":*\"leaves\":*\"frames\":*\"pools\":*\} ]] && ok || bad "$name: json '$json'"
	[ "$(printf '%s\n' "$json" | wc -l)" -eq 1 ] && ok || bad "$name: json not one line"
	cmp -s "$work/$name.img" "$work/$name.json.img" && ok || bad "$name: rebuild differs"
done

# --- input errors: FILE:LINE, exit 2, no image ---
P='pool 0x100000 64k'
err_case "unknown statement" 2 "unknown statement 'mapp'" "$P" "mapp 0 0 4k"
err_case "unknown flag" 2 "unknown flag 'rw'" "$P" "map 0 0 4k rw"
err_case "bad number" 2 "bad number '0xzz'" "$P" "map 0xzz 0 4k"
err_case "bad suffix" 2 "bad number '4q'" "$P" "map 0 0 4q"
err_case "missing field" 2 "missing field" "$P" "map 0 0"
err_case "misaligned va" 2 "not 4 KiB aligned" "$P" "map 0x1001 0 4k"
err_case "misaligned pa" 2 "not 4 KiB aligned" "$P" "map 0x1000 0x10 4k"
err_case "zero length" 2 "zero length" "$P" "map 0x1000 0 0"
err_case "non-canonical" 2 "not canonical" "$P" "map 0x0000800000000000 0 4k"
err_case "crosses the hole" 2 "hole" "$P" "map 0x00007ffffffff000 0 8k"
err_case "pa too wide" 2 "physical width" "$P" "map 0 0x10000000000000 4k"
err_case "32-bit va" 3 "4 GiB" "mode 32bit" "$P" "map 0x100000000 0 4k"
err_case "page size the cpu lacks" 3 "page size" "pagesizes 4k 2m" "$P" "map 0 0 1g page=1g"
err_case "page size the mode lacks" 3 "page size" "mode pae" "$P" "map 0 0 4m page=4m"
err_case "pagesizes the mode lacks" 2 "page sizes" "mode pae" "pagesizes 4k 1g" "$P"
err_case "1g without 2m" 1 "1 GiB pages need 2 MiB" "pagesizes 4k 1g" "$P"
err_case "mode after statements" 2 "first statement" "$P" "mode pae"
err_case "unknown mode" 1 "unknown mode" "mode 6level" "$P"
err_case "unknown page size" 1 "unknown page size" "pagesizes 4k 3m" "$P"
err_case "pools too small" 2 "pools are too small" "pool 0x100000 8k" "map 0 0 2g page=4k"
err_case "no pool" 1 "no pool" "map 0 0 4k"
err_case "unaligned pool" 1 "4 KiB aligned" "pool 0x100800 64k"
err_case "protect flag" 3 "unknown permission" "$P" "map 0 0 4k" "protect 0 4k r"
err_case "sw too wide" 2 "sw=0x400: expected a mask" "$P" "map 0 0 4k sw=0x400"
err_case "sw not a number" 2 "sw=x: expected a mask" "$P" "map 0 0 4k sw=x"
err_case "sw the mode lacks" 3 "HT_SW(2) (entry bit 52)" "mode pae" "$P" "map 0 0 4k sw=4"
err_case "np missing value" 2 "np: missing field" "$P" "np 0 4k"
err_case "np too many fields" 2 "np: too many fields" "$P" "np 0 4k 2 2 2"
err_case "np present value" 2 "bit 0 (present)" "$P" "np 0 4k 3"
err_case "np zero value" 2 "empty entry" "$P" "np 0 4k 0"
err_case "np odd increment" 2 "odd increment" "$P" "np 0 8k 2 1"
err_case "np too wide for 32-bit" 3 "do not fit 32-bit" "mode 32bit" "$P" "np 0 4k 0x100000000"

# --- np: the entries hold the values, not present; map replaces them ---
printf '%s\n' "$P" "map 0x400000 0x5000 16k w" "np 0x401000 8k 0x7fe 0x1000" \
    "map 0x402000 0x9000 4k" > "$work/np.spec"
out=$("$htable" build "$work/np.spec" -o "$work/np.img") && ok || bad "np: build"
t=$("$htable" translate "$work/np.img" --cr3 0x100000 --mode 4level 0x401000)
[[ $t == *"is not present"* && $t == *"L0 PTE "*": 0x00000000000007fe"* ]] && ok ||
    bad "np: translate '$t'"
d=$("$htable" dump "$work/np.img" --cr3 0x100000 --mode 4level)
[ "$(printf '%s\n' "$d" | wc -l)" -eq 3 ] && [[ $d != *0000000000401000-* ]] && ok ||
    bad "np: dump '$d'"

# --- software bits: sw=N sets HT_SW(n) for bit n; dump and translate show them ---
sw_case() {	# mode sw-mask entry-bits-hex
	local mode=$1 sw=$2 want=$3
	printf '%s\n' "mode $mode" "$P" "map 0x400000 0x5000 8k w sw=$sw" \
	    "map 0x402000 0x7000 4k w" > "$work/sw.spec"
	local out cr3 d t
	out=$("$htable" build "$work/sw.spec" -o "$work/sw.img") ||
	    { bad "sw $mode: build"; return; }
	cr3=$(printf '%s\n' "$out" | tail -n 1 | sed 's/.*cr3=//')
	d=$("$htable" dump "$work/sw.img" --cr3 "$cr3" --mode "$mode")
	# the two sw pages are one range with sw=, the third a range without
	[ "$(printf '%s\n' "$d" | grep -c " sw=$sw\$")" -eq 1 ] &&
	    [ "$(printf '%s\n' "$d" | wc -l)" -eq 2 ] && ok ||
	    bad "sw $mode: dump '$d'"
	d=$("$htable" dump "$work/sw.img" --cr3 "$cr3" --mode "$mode" --format json)
	[[ $d == *\"sw\":\"$sw\"* ]] && ok || bad "sw $mode: json '$d'"
	t=$("$htable" translate "$work/sw.img" --cr3 "$cr3" --mode "$mode" 0x401000)
	[[ $t == *" sw=$sw"* && $t == *": 0x$want"* ]] && ok ||
	    bad "sw $mode: translate '$t'"
}
sw_case 32bit 0x3 00006c03
sw_case pae 0x1 8000000000006403
sw_case 4level 0x1ff 87f0000000006c03
sw_case 5level 0x4 8010000000006003

# --- spaces, shares and CPU roots: the summary names every root ---
# the layout: tests/cli/multi.spec (the man page's example)
cp "$(dirname "$0")/multi.spec" "$work/multi.spec"
cat >"$work/want" <<'GOLD'
space kern: tables per level (root first): L3=1 L2=2 L1=2 L0=1; leaves: 1 x 4k 1 x 2m 0 x 1g
space kuser: tables per level (root first): L3=1 L2=1 L1=1 L0=1; leaves: 1 x 4k 0 x 2m 0 x 1g
space shm: tables per level (root first): L3=1 L2=1 L1=1 L0=1; leaves: 3 x 4k 0 x 2m 0 x 1g
space proc (copied, pcid 3): tables per level (root first): L3=0 L2=3 L1=3 L0=2; leaves: 5 x 4k 0 x 2m 0 x 1g
  shares [0x7f0000000000, +0x200000) from shm 0x40000000: 1 table linked (0x200000 bytes), 0 leaves copied (0x0 bytes)
cpu 0: kernel kern, kpti kuser; runs proc after 1 switch (flush=1)
frames: 24 in [0x100000, 0x200000)
root kern cr3=0x100000
root kuser cr3=0x106000
root shm cr3=0x10a000
root cpu0 cr3=0x113003
root cpu0.user cr3=0x114803
mode=4level roots=5
GOLD
"$htable" build "$work/multi.spec" -o "$work/multi.img" >"$work/got" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$work/err" ] && ok || bad "multi: exit $rc, '$(cat "$work/err")'"
cmp -s "$work/want" "$work/got" && ok || bad "multi summary: $(diff "$work/want" "$work/got" | head -8)"
# every root's top table is in the image: a CPU root's frames too
for cr3 in 0x100000 0x106000 0x10a000 0x113000 0x114000; do
	nz=$(od -An -tx1 -j $((cr3)) -N 4096 "$work/multi.img" | tr -d ' \n0')
	[ -n "$nz" ] && ok || bad "multi: root table at $cr3 is empty in the image"
done
json=$("$htable" build "$work/multi.spec" -o "$work/multi.json.img" --json)
[[ $json == '{"mode":"4level","kpti":true,"spaces":[{"name":"kern","copied":false,"cr3":"0x100000",'* ]] && ok || bad "multi json head '$json'"
[[ $json == *'{"name":"proc","copied":true,"pcid":3,"cr3":null,'*'"shares":[{"va":"0x7f0000000000","len":"0x200000","from":"shm","src_va":"0x40000000","tables":1,"table_bytes":"0x200000","copied":0,"copied_bytes":"0x0","live":true}]}'* ]] && ok || bad "multi json space '$json'"
[[ $json == *'"cpus":[{"id":0,"kernel":"kern","kpti":"kuser","runs":"proc","switches":1,"flush":true,"cr3":"0x113003","user_cr3":"0x114803"}],"roots":[{"name":"kern","cr3":"0x100000"},'*'{"name":"cpu0.user","cr3":"0x114803"}],"frames":24,'* ]] && ok || bad "multi json cpus '$json'"
[ "$(printf '%s\n' "$json" | wc -l)" -eq 1 ] && ok || bad "multi json not one line"
cmp -s "$work/multi.img" "$work/multi.json.img" && ok || bad "multi: rebuild differs"
# the default space takes what comes before the first `space`; a spec
# whose only spaces are default and CPU roots is multi-root too
printf '%s\n' "$P" "map 0x400000 0x5000 4k" "space b" "share 0x600000 from default 0x400000 4k" \
    "cpu 7" "switch 7 b" >"$work/def.spec"
"$htable" build "$work/def.spec" -o "$work/def.img" >"$work/got" 2>"$work/err" && ok || bad "default space: $(cat "$work/err")"
grep -q '^space default: ' "$work/got" && grep -q '^root default cr3=0x100000$' "$work/got" &&
    grep -q '^root b cr3=0x' "$work/got" && grep -q '^root cpu7 cr3=0x' "$work/got" &&
    grep -q '^cpu 7: kernel none; runs b after 1 switch' "$work/got" &&
    grep -q '^  shares \[0x600000, +0x1000) from default 0x400000: 0 tables linked (0x0 bytes), 1 leaf copied (0x1000 bytes)$' "$work/got" &&
    [ "$(tail -n 1 "$work/got")" = "mode=4level roots=3" ] && ok || bad "default space: $(cat "$work/got")"
# an ordinary space on a CPU root: the switch gives the space's own root
printf '%s\n' "$P" "space k" "map 0xffff800000000000 0x5000 4k" "space o pcid=9" "map 0 0x6000 4k" \
    "cpu 1 kernel k" "switch 1 o" "cpu 2 kernel k user=1" >"$work/ord.spec"
"$htable" build "$work/ord.spec" -o "$work/ord.img" >"$work/got" 2>"$work/err" && ok || bad "ordinary: $(cat "$work/err")"
o=$(sed -n 's/^root o cr3=//p' "$work/got")
[ -n "$o" ] && [ $((o & 0xfff)) -eq 9 ] && grep -qx "root cpu1 cr3=$o" "$work/got" &&
    grep -q '^cpu 2: kernel k; never switched$' "$work/got" && ok || bad "ordinary: $(cat "$work/got")"
# unshare ends a region
printf '%s\n' "$P" "space a" "map 0x40000000 0x5000 8k" "space b" "share 0x40000000 from a 0x40000000 2m" \
    "unshare 0x40000000 2m" "map 0x40000000 0x9000 4k" >"$work/un.spec"
"$htable" build "$work/un.spec" -o "$work/un.img" >"$work/got" 2>"$work/err" &&
    grep -q '; ended by unshare$' "$work/got" && ok || bad "unshare: $(cat "$work/got" "$work/err")"
# --engine and --cpu belong to --verify
"$htable" build "$work/multi.spec" -o "$work/x.img" --engine qemu >/dev/null 2>"$work/err"
[ $? -eq 2 ] && grep -q 'go with --verify' "$work/err" && [ ! -e "$work/x.img" ] && ok || bad "--engine without --verify"
"$htable" build "$work/multi.spec" -o "$work/x.img" --verify --engine nosuch >/dev/null 2>"$work/err"
[ $? -eq 2 ] && grep -q "build: --engine 'nosuch'" "$work/err" && [ ! -e "$work/x.img" ] && ok || bad "build --engine nosuch"

# --- input errors of spaces, shares and CPU roots ---
err_case "share of a later space" 3 "share: space 'b' is defined later, at line 4" "$P" "space a" "share 0 from b 0 4k" "space b"
err_case "share of no space" 3 "share: no space 'zz'" "$P" "space a" "share 0 from zz 0 4k"
err_case "share from itself" 3 "space 'a' cannot share from itself" "$P" "space a" "share 0 from a 0 4k"
err_case "share syntax" 4 "expected 'share VA from NAME SRC_VA LEN'" "$P" "space a" "space b" "share 0 of a 0 4k"
err_case "share missing field" 4 "share: missing field" "$P" "space a" "space b" "share 0 from a 0"
err_case "share bad number" 4 "bad number '0xq'" "$P" "space a" "space b" "share 0 from a 0xq 4k"
err_case "share misaligned" 4 "not 4 KiB aligned" "$P" "space a" "space b" "share 0x1001 from a 0 4k"
err_case "share into a mapped range" 5 "already mapped" "$P" "space a" "space b" "map 0 0 4k" "share 0 from a 0 4k"
err_case "map over a shared range" 5 "shared from another space" "$P" "space a" "space b" "share 0 from a 0 2m" "map 0x1000 0 4k"
err_case "share one level deep" 6 "sharing is one level deep" "$P" "space a" "space b" "share 0 from a 0 2m" "space c" "share 0 from b 0 4k"
err_case "bad space name" 2 "space: bad name '9a'" "$P" "space 9a"
err_case "space none" 2 "the name 'none' is reserved" "$P" "space none"
err_case "space cpuN" 2 "the name 'cpu3' is reserved" "$P" "space cpu3"
err_case "space option twice" 2 "unknown or repeated option 'copied'" "$P" "space a copied copied"
err_case "space unknown option" 2 "unknown or repeated option 'big'" "$P" "space a big"
err_case "space bad pcid" 2 "pcid=4096: expected a PCID 0..4095" "$P" "space a pcid=4096"
err_case "space options on reopening" 4 "space a: its options go where it is first named (line 2)" "$P" "space a" "space b" "space a copied"
err_case "pcid in pae" 3 "no PCIDs in PAE paging" "mode pae" "$P" "space a pcid=1"
err_case "space too many fields" 2 "space: too many fields" "$P" "space a copied pcid=1 x"
err_case "cpu of a later space" 2 "cpu 0: kernel: space 'k' is defined later, at line 3" "$P" "cpu 0 kernel k" "space k"
err_case "cpu twice" 3 "cpu 0 is already defined at line 2" "$P" "cpu 0" "cpu 0"
err_case "cpu bad id" 2 "cpu: bad id 'x'" "$P" "cpu x"
err_case "cpu copied kernel" 3 "kernel space 'k' is copied" "$P" "space k copied" "cpu 0 kernel k"
err_case "cpu kernel without name" 3 "'kernel' needs the name of a space" "$P" "space k" "cpu 0 kernel"
err_case "cpu kernel twice" 3 "'kernel' given twice" "$P" "space k" "cpu 0 kernel k kernel k"
err_case "cpu user=0" 3 "user=0: expected the number" "$P" "space k" "cpu 0 user=0"
err_case "cpu user too many" 2 "user_entries 600 is more than the root's 512" "$P" "cpu 0 user=600"
err_case "cpu unknown option" 3 "unknown or repeated option 'fast'" "$P" "space k" "cpu 0 fast"
err_case "cpu kpti without kpti" 3 "'kpti k' needs the 'kpti' statement" "$P" "space k" "cpu 0 kernel k kpti k"
err_case "kpti cpu without kpti space" 4 "with kpti every CPU root is a pair" "$P" "kpti" "space k" "cpu 0 kernel k"
err_case "kpti page not in the kernel" 8 "which cfg.kernel does not map the same" "$P" "kpti" "space k" \
    "space u" "map 0xffff800000000000 0x1000 4k" "space p copied" "space k" "cpu 0 kernel k kpti u"
err_case "kpti runs an ordinary space" 7 "a KPTI CPU root runs only HT_AS_COPIED spaces" "$P" "kpti" "space k" \
    "space u" "space p" "cpu 0 kernel k kpti u" "switch 0 p"
err_case "kpti with arguments" 2 "kpti: too many fields" "$P" "kpti on"
err_case "switch to a later cpu" 2 "switch: cpu 0 is defined later, at line 3" "$P" "switch 0 a" "cpu 0"
err_case "switch no cpu" 2 "switch: no cpu 1" "$P" "switch 1 a"
err_case "switch no space" 4 "switch: no space 'b'" "$P" "space a" "cpu 0" "switch 0 b"
err_case "switch missing field" 4 "switch: missing field" "$P" "space a" "cpu 0" "switch 0"
err_case "unshare nothing" 3 "unshare: no shared region of space 'a' inside \[0x0, +0x1000)" "$P" "space a" "unshare 0 4k"
err_case "unshare cuts a region" 5 "cuts the shared" "$P" "space a" "space b" "share 0 from a 0 2m" "unshare 0 4k"
err_case "32-bit copied 4m page" 4 "no 4 MiB pages in this space" "mode 32bit" "$P" "space a copied" "map 0 0 4m page=4m"
err_case "32-bit kernel 4m page" 5 "maps a 4 MiB page at 0xc0000000" "mode 32bit" "$P" "space k" "map 0xc0000000 0 4m" "cpu 0 kernel k"
err_case "cpu without frame" 3 "pools are too small" "pool 0x100000 4k" "space a" "cpu 0"

# --- EPT: the summary gives the EPTP and the `ept` flags ---
out=$("$htable" build "$examples/ept4.spec" -o "$work/e4.img") || bad "ept4: build"
[ "$(printf '%s\n' "$out" | tail -n 1)" = "mode=ept4 cr3=0x10005e ept=ad,mbec,xonly" ] && ok || bad "ept4 summary: $out"
json=$("$htable" build "$examples/ept4.spec" -o "$work/e4.img" --json)
[[ $json == '{"mode":"ept4","cr3":"0x10005e","ept":{"ad":true,"mbec":true,"xonly":true},"tables":{'* ]] && ok || bad "ept4 json '$json'"
json=$("$htable" build "$examples/ept5.spec" -o "$work/e5.img" --json)
[[ $json == '{"mode":"ept5","cr3":"0x100026","ept":{"ad":false,"mbec":false,"xonly":true},"tables":{'* ]] && ok || bad "ept5 json '$json'"
# without `ept`: no A/D in the EPTP (bit 6), the walk length in bits 5:3
printf '%s\n' "mode ept4" "$P" "map 0 0 4k w" >"$work/e.spec"
out=$("$htable" build "$work/e.spec" -o "$work/e.img") &&
    [ "$(printf '%s\n' "$out" | tail -n 1)" = "mode=ept4 cr3=0x10001e ept=none" ] && ok || bad "ept4 without ept: $out"
# the context statements may come in any order before the first space
printf '%s\n' "mode ept5" "pagesizes 4k 2m" "$P" "kpti" "ept ad" "map 0 0 4k w" >"$work/e.spec"
out=$("$htable" build "$work/e.spec" -o "$work/e.img") &&
    [ "$(printf '%s\n' "$out" | tail -n 1)" = "mode=ept5 cr3=0x100066 ept=ad" ] && ok || bad "ept5 ad: $out"

# --- EPT: input errors of the language and of the library ---
E4="mode ept4"
err_case "unknown mode lists ept" 1 "unknown mode 'ept6' (32bit, pae, 4level, 5level, npt4, npt5, ept4 or ept5)" "mode ept6" "$P"
err_case "ept unknown word" 2 "ept: unknown word 'rwx' (ad, mbec, xonly)" "$E4" "ept ad rwx" "$P"
err_case "ept in 4level" 1 "ept: EPT flags need 'mode ept4' or 'mode ept5' as the first statement (the mode is 4level)" "ept ad" "$P"
err_case "ept in npt4" 2 "ept: EPT flags need 'mode ept4' or 'mode ept5' as the first statement (the mode is npt4)" "mode npt4" "ept mbec" "$P"
err_case "ept twice" 3 "ept: given twice (first at line 2)" "$E4" "ept ad" "ept mbec" "$P"
err_case "ept after map" 4 "ept must come before the statements that make or change spaces and CPU roots (the first is at line 3)" "$E4" "$P" "map 0 0 4k" "ept ad"
err_case "ept after space" 4 "ept must come before .* (the first is at line 3)" "$E4" "$P" "space a" "ept ad"
err_case "ept after cpu" 4 "ept must come before .* (the first is at line 3)" "$E4" "$P" "cpu 0" "ept xonly"
err_case "x86 u in EPT" 3 "map: 'u' is an x86 attribute, not one of EPT: EPT has no user bit; use 'xu'" "$E4" "$P" "map 0 0 4k u"
err_case "x86 g in EPT" 3 "map: 'g' is an x86 attribute, not one of EPT: .*'ipat'" "$E4" "$P" "map 0 0 4k g"
err_case "x86 pwt in EPT" 3 "map: 'pwt' is an x86 attribute, not one of EPT: EPT names a memory type instead: use mt=uc|wc|wt|wp|wb" "$E4" "$P" "map 0 0 4k pwt"
err_case "x86 pcd in EPT" 3 "map: 'pcd' is an x86 attribute, .* use mt=" "$E4" "$P" "map 0 0 4k pcd"
err_case "x86 pat in EPT" 3 "map: 'pat' is an x86 attribute, .* use mt=" "$E4" "$P" "map 0 0 4k pat"
err_case "EPT noread in 4level" 2 "map: 'noread' is an EPT attribute (modes ept4 and ept5), not one of 4level paging" "$P" "map 0 0 4k noread"
err_case "EPT xu in npt4" 3 "map: 'xu' is an EPT attribute (modes ept4 and ept5), not one of npt4 paging" "mode npt4" "$P" "map 0 0 4k xu"
err_case "EPT ipat in pae" 3 "map: 'ipat' is an EPT attribute" "mode pae" "$P" "map 0 0 4k ipat"
err_case "EPT sve in 5level" 3 "map: 'sve' is an EPT attribute" "mode 5level" "$P" "map 0 0 4k sve"
err_case "EPT vgp in 32bit" 3 "map: 'vgp' is an EPT attribute" "mode 32bit" "$P" "map 0 0 4k vgp"
err_case "EPT pw in 4level" 2 "map: 'pw' is an EPT attribute" "$P" "map 0 0 4k pw"
err_case "EPT mt= in 4level" 2 "map: 'mt=wb' is an EPT attribute (modes ept4 and ept5), not one of 4level paging; x86 selects a PAT entry with pwt, pcd and pat" "$P" "map 0 0 4k mt=wb"
err_case "mt unknown" 3 "map: mt=wx: expected an EPT memory type: uc, wc, wt, wp or wb (or its number 0..7)" "$E4" "$P" "map 0 0 4k mt=wx"
err_case "mt beyond 7" 3 "map: mt=8: expected an EPT memory type" "$E4" "$P" "map 0 0 4k mt=8"
err_case "mt twice" 3 "map: mt= given twice" "$E4" "$P" "map 0 0 4k mt=uc mt=wb"
err_case "unknown flag in EPT" 3 "unknown flag 'rw' (w x xu noread mt= ipat sve vgp pw page= sw=)" "$E4" "$P" "map 0 0 4k rw"
err_case "protect u in EPT" 4 "protect: 'u' is an x86 attribute, not one of EPT: EPT has no user bit; use 'xu'" "$E4" "$P" "map 0 0 4k" "protect 0 4k u"
err_case "protect xu in 4level" 3 "protect: 'xu' is an EPT attribute (modes ept4 and ept5), not one of 4level paging" "$P" "map 0 0 4k" "protect 0 4k xu"
err_case "protect noread in 4level" 3 "protect: 'noread' is an EPT attribute" "$P" "map 0 0 4k" "protect 0 4k noread"
err_case "protect ipat in EPT" 4 "unknown permission 'ipat' (w, x, xu, noread)" "$E4" "$P" "map 0 0 4k" "protect 0 4k ipat"
err_case "pcid in EPT" 3 "no PCIDs in EPT" "$E4" "$P" "space a pcid=1"
# what the library refuses, in its words, at the statement's line
err_case "write without read" 3 "map: write without read (HT_W with HT_NOREAD) is an EPT misconfiguration" "$E4" "$P" "map 0 0 4k w noread"
err_case "protect write without read" 4 "protect: write without read (HT_W with HT_NOREAD) is an EPT misconfiguration" "$E4" "$P" "map 0 0 4k" "protect 0 4k w noread"
err_case "xu without mbec" 3 "map: HT_XU (user-mode execute, bit 10) needs HT_EPT_MBEC" "$E4" "$P" "map 0 0 4k xu"
err_case "protect xu without mbec" 5 "protect: HT_XU (user-mode execute, bit 10) needs HT_EPT_MBEC" "$E4" "ept ad" "$P" "map 0 0 4k" "protect 0 4k x xu"
err_case "execute-only without xonly" 4 "map: an execute-only page needs HT_EPT_XONLY" "$E4" "ept mbec" "$P" "map 0 0 4k xu noread"
err_case "protect execute-only without xonly" 4 "protect: an execute-only page needs HT_EPT_XONLY" "$E4" "$P" "map 0 0 4k" "protect 0 4k x noread"
err_case "noread alone" 3 "map: HT_NOREAD without HT_X or HT_XU allows nothing" "$E4" "$P" "map 0 0 4k noread"
err_case "memory type 2" 3 "map: EPT memory type 2 is reserved (UC 0, WC 1, WT 4, WP 5, WB 6)" "$E4" "$P" "map 0 0 4k mt=2"
err_case "memory type 3" 3 "map: EPT memory type 3 is reserved" "mode ept5" "$P" "map 0 0 4k mt=3"
err_case "memory type 7" 3 "map: EPT memory type 7 is reserved" "$E4" "$P" "map 0 0 4k mt=7"
err_case "sw bit EPT lacks" 3 "HT_SW(0) (entry bit 10) is not free in ept4 paging" "$E4" "$P" "map 0 0 4k sw=1"
err_case "EPT beyond 2^48" 3 "beyond the 256 TiB guest-physical space" "$E4" "$P" "map 0x1000000000000 0 4k"
err_case "np present in EPT" 3 "bit of 0-2 (read, write, execute: present)" "$E4" "$P" "np 0 4k 0x14"

# --- I/O failure: exit 1, nothing written ---
"$htable" build "$examples/pae.spec" -o "$work/no/such/dir/x.img" >/dev/null 2>&1
[ $? -eq 1 ] && ok || bad "unwritable image: exit status"
"$htable" build "$work/missing.spec" -o "$work/x.img" >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$work/x.img" ] && ok || bad "missing spec"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
