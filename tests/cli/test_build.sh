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
pass=0; fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "[FAIL] $*" >&2; }

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
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [[ $last =~ ^mode=${mode}\ cr3=0x([0-9a-f]+)$ ]]; then ok; else bad "$name: last line '$last'"; continue; fi
	cr3=$((16#${BASH_REMATCH[1]}))
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
err_case() {	# name expected-line expected-text spec-text...
	local name=$1 line=$2 text=$3; shift 3
	printf '%s\n' "$@" > "$work/e.spec"
	rm -f "$work/e.img"
	"$htable" build "$work/e.spec" -o "$work/e.img" >/dev/null 2>"$work/err"
	local rc=$?
	[ $rc -eq 2 ] || { bad "$name: exit $rc"; return; }
	grep -q "^$work/e.spec:$line: .*$text" "$work/err" ||
	    { bad "$name: message '$(cat "$work/err")'"; return; }
	[ ! -e "$work/e.img" ] || { bad "$name: image written"; return; }
	ls "$work" | grep -q 'e.img.tmp' && { bad "$name: temp file left"; return; }
	ok
}
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

# --- I/O failure: exit 1, nothing written ---
"$htable" build "$examples/pae.spec" -o "$work/no/such/dir/x.img" >/dev/null 2>&1
[ $? -eq 1 ] && ok || bad "unwritable image: exit status"
"$htable" build "$work/missing.spec" -o "$work/x.img" >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$work/x.img" ] && ok || bad "missing spec"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
