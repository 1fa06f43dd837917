#!/usr/bin/env bash
# End-to-end tests of `htable show` without a browser (the page in one is
# tests/show/test_show.py): usage and errors, none of which leaves a page
# or a temporary file behind; the data (--format json) of every mode
# against dump, root by root (its ranges and leaves); --roots and
# --all-roots give a space per root; --data files join the image's
# spaces, and a file that is not picture data is refused; a dump file
# names its own root; the page holds its data and its script inline.
# `htable diff`: usage and errors; a space against itself; two snapshots
# (golden), both ways; two roots of one image; two dumps.
# Ends with a Criterion-style synthesis line.
#   usage: test_show.sh HTABLE EXAMPLES_DIR MKCORE
set -u
htable=$1
examples=$2
mkcore=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

# nothing NAME: no page and no temporary file in $work/o*
nothing() {
	if ls "$work" | grep -q '^o\.'; then
		bad "$1: left $(ls "$work" | grep '^o\.' | tr '\n' ' ')"
		rm -f "$work"/o.*
	else
		ok
	fi
}
# stat_of FILE KEY: the number of "KEY": in the stats of the first space
stat_of() {
	sed -n 's/.*"stats":{\(.*\)}}.*/\1/p' "$1" | head -1 |
	    tr ',' '\n' | sed -n "s/^\"$2\"://p"
}

"$htable" build "$examples/kernel-4level.spec" -o "$work/k.img" \
    >"$work/k.sum" || bad "build kernel"
k=(--cr3 0x100000 --mode 4level)

# --- usage and errors ---
"$htable" show --help | grep -q 'usage: htable show' && ok || bad "--help"
"$htable" --help | grep -q 'show' && ok || bad "--help lists show"
expect "no args" 2 "usage" "$htable" show
expect "two images" 2 "usage" "$htable" show "$work/k.img" "$work/k.img" \
    "${k[@]}"
expect "bad format" 2 "--format 'svg'" "$htable" show "$work/k.img" \
    "${k[@]}" --format svg -o "$work/o.html"
nothing "bad format"
expect "bad mode" 2 "--mode 'x'" "$htable" show "$work/k.img" --cr3 1 \
    --mode x -o "$work/o.html"
expect "no cr3" 2 "cr3" "$htable" show "$work/k.img" -o "$work/o.html"
nothing "no cr3"
expect "roots without image" 2 "none is given" "$htable" show \
    --data "$work/k.img" --cr3 0x100000 -o "$work/o.html"
expect "missing image" 1 "nonexistent" "$htable" show \
    "$work/nonexistent" "${k[@]}" -o "$work/o.html"
nothing "missing image"
expect "missing data" 1 "nonexistent" "$htable" show \
    --data "$work/nonexistent" -o "$work/o.html"
nothing "missing data"
expect "max leaves" 2 "more than 3 leaves" "$htable" show "$work/k.img" \
    "${k[@]}" --max-leaves 3 -o "$work/o.html"
nothing "max leaves"
expect "unwritable" 1 "o.html" "$htable" show "$work/k.img" "${k[@]}" \
    -o "$work/nodir/o.html"
expect "confidence alone" 2 "goes with --all-roots" "$htable" show \
    "$work/k.img" "${k[@]}" --min-confidence 5 -o "$work/o.html"
for i in 1 2 3 4 5 6 7 8 9; do echo "--data $work/d.json"; done >"$work/nine"
echo '{"htable_picture":1}' >"$work/d.json"
expect "nine data files" 2 "more than 8" "$htable" show \
    $(cat "$work/nine") -o "$work/o.html"
# data files that are not picture data
printf 'hello' >"$work/bad1.json"
printf '{"htable_picture":1,"name":"</script>"}' >"$work/bad2.json"
printf '{"htable_picture":1,"name":"\xff"}' >"$work/bad3.json"
printf '[]' >"$work/bad4.json"
for b in 1 2 3 4; do
	expect "bad data $b" 2 "bad$b.json" "$htable" show \
	    --data "$work/bad$b.json" -o "$work/o.html"
	nothing "bad data $b"
done
# the image is fine, the data file is not: nothing written either
expect "good image, bad data" 2 "bad2.json" "$htable" show "$work/k.img" \
    "${k[@]}" --data "$work/bad2.json" -o "$work/o.html"
nothing "good image, bad data"

# --- the data of every mode against dump ---
for spec in kernel-4level la57-5level pae flat-32bit ept4 ept5; do
	"$htable" build "$examples/$spec.spec" -o "$work/$spec.img" \
	    >"$work/$spec.sum" || { bad "build $spec"; continue; }
	last=$(tail -1 "$work/$spec.sum")
	args=(--cr3 "$(echo "$last" | sed 's/.*cr3=\([^ ]*\).*/\1/')"
	    --mode "$(echo "$last" | sed 's/mode=\([^ ]*\).*/\1/')")
	case $last in *ept=*) args+=(--ept "${last##*ept=}") ;; esac
	"$htable" show "$work/$spec.img" "${args[@]}" --format json \
	    -o "$work/$spec.json" || { bad "show $spec"; continue; }
	"$htable" dump "$work/$spec.img" "${args[@]}" >"$work/$spec.dump"
	[ "$(stat_of "$work/$spec.json" ranges)" = \
	    "$(wc -l <"$work/$spec.dump")" ] && ok ||
	    bad "$spec: ranges $(stat_of "$work/$spec.json" ranges), dump" \
	    "$(wc -l <"$work/$spec.dump")"
	# the range list: one line per range, as many as dump's
	n=$(sed -n '/^"ranges":\[/,/^"tables"/p' "$work/$spec.json" |
	    grep -c '^\[[0-9]')
	[ "$n" = "$(wc -l <"$work/$spec.dump")" ] && ok ||
	    bad "$spec: $n range rows"
	grep -q "\"mode\":\"${args[3]}\"" "$work/$spec.json" && ok ||
	    bad "$spec: mode"
	# the page: data and script inline, nothing fetched
	"$htable" show "$work/$spec.img" "${args[@]}" -o "$work/$spec.html" ||
	    bad "show $spec html"
	grep -q '<script id="htdata" type="application/json">\[' \
	    "$work/$spec.html" && grep -q 'window.htShow' "$work/$spec.html" &&
	    ok || bad "$spec: the page lacks its data or script"
	grep -Eq '(src|href)="(https?:|//)' "$work/$spec.html" &&
	    bad "$spec: the page fetches something" || ok
done
# the leaves: the picture's count is the scan's (1 GiB pages: 4)
[ "$(stat_of "$work/kernel-4level.json" leaves)" = 52 ] && ok ||
    bad "kernel leaves $(stat_of "$work/kernel-4level.json" leaves)"

# --- several roots: --roots and --all-roots ---
"$htable" build "$(dirname "$0")/multi.spec" -o "$work/m.img" \
    >"$work/m.roots" || bad "build multi"
"$htable" show "$work/m.img" --roots "$work/m.roots" --format json \
    -o "$work/m.json" || bad "show --roots"
[ "$(grep -o '"htable_picture":1' "$work/m.json" | wc -l)" = \
    "$(grep -c '^root ' "$work/m.roots")" ] && ok || bad "a space per root"
grep -q '"name":"m.img kern"' "$work/m.json" && ok || bad "root names"
"$htable" show "$work/m.img" --all-roots --format json -o "$work/a.json" ||
    bad "show --all-roots"
[ "$(grep -o '"htable_picture":1' "$work/a.json" | wc -l)" = \
    "$("$htable" dump "$work/m.img" --all-roots | grep -c '^root ')" ] &&
    ok || bad "--all-roots: a space per root dump lists"

# --- data files join the image's spaces ---
"$htable" show "$work/k.img" "${k[@]}" --data "$work/m.json" \
    --data "$work/kernel-4level.json" --format json -o "$work/j.json" ||
    bad "show --data"
[ "$(grep -o '"htable_picture":1' "$work/j.json" | wc -l)" = \
    $((1 + $(grep -c '^root ' "$work/m.roots") + 1)) ] && ok ||
    bad "data spaces joined"
"$htable" show --data "$work/j.json" -o "$work/j.html" &&
    grep -q '"name":"m.img kern"' "$work/j.html" && ok || bad "page of data"

# --- a dump file: its CPU names the root ---
"$mkcore" elf "$work/k.core" "$work/kernel-4level.img" --cr3 0x100000 \
    >/dev/null 2>&1 &&
"$htable" show "$work/k.core" --format json -o "$work/c.json" &&
    grep -q '"cr3":"100000"' "$work/c.json" &&
    [ "$(stat_of "$work/c.json" ranges)" = \
    "$(stat_of "$work/kernel-4level.json" ranges)" ] && ok ||
    bad "a dump's picture"

# --- htable diff ---
H=$htable
"$H" diff --help | grep -q 'usage: htable diff' && ok || bad "diff --help"
expect "diff no args" 2 "usage" "$H" diff
expect "diff one root" 2 "takes two roots" "$H" diff "$work/k.img" "${k[@]}"
expect "diff three images" 2 "usage" "$H" diff "$work/k.img" "$work/k.img" \
    "$work/k.img" "${k[@]}"
expect "diff three roots" 2 "not 3" "$H" diff "$work/k.img" "$work/k.img" \
    --cr3 0x100000 --cr3 0x100000 --cr3 0x100000 --mode 4level
expect "diff missing" 1 "nonexistent" "$H" diff "$work/k.img" \
    "$work/nonexistent" "${k[@]}"
expect "diff max leaves" 2 "more than 3 leaves" "$H" diff "$work/k.img" \
    "$work/k.img" "${k[@]}" --max-leaves 3
"$H" diff "$work/k.img" "$work/k.img" "${k[@]}" >"$work/out"
[ $? -eq 0 ] && [ "$(cat "$work/out")" = \
    "added 0 (0 bytes), removed 0 (0 bytes), changed 0 (0 bytes)" ] && ok ||
    bad "diff of a space with itself: $(cat "$work/out")"
# two snapshots: the heap made read-only, its guard page mapped, the
# stack moved, a page added
sed -e 's/^map 0x600000 0x20100000 132k u w/map 0x600000 0x20100000 132k u/' \
    -e 's/^map 0x7fffffffd000 0x20200000 12k u w/map 0x7fffffffd000 0x20300000 12k u w/' \
    -e 's/^unmap 0x610000 4k.*//' "$examples/kernel-4level.spec" >"$work/k2.spec"
echo "map 0x800000 0x30000000 8k u w" >>"$work/k2.spec"
"$H" build "$work/k2.spec" -o "$work/k2.img" >/dev/null || bad "build k2"
cat >"$work/want" <<'WANT'
~ 0000000000600000-000000000060ffff 0000000020100000 4k rw- u --- pat0 => 0000000020100000 4k r-- u --- pat0
+ 0000000000610000-0000000000610fff 0000000020110000 4k r-- u --- pat0
~ 0000000000611000-0000000000620fff 0000000020111000 4k rw- u --- pat0 => 0000000020111000 4k r-- u --- pat0
+ 0000000000800000-0000000000801fff 0000000030000000 4k rw- u --- pat0
~ 00007fffffffd000-00007fffffffffff 0000000020200000 4k rw- u --- pat0 => 0000000020300000 4k rw- u --- pat0
added 2 (12288 bytes), removed 0 (0 bytes), changed 3 (143360 bytes)
WANT
expect "diff snapshots" 3 "" "$H" diff "$work/k.img" "$work/k2.img" "${k[@]}"
cmp -s "$work/out" "$work/want" && ok || bad "diff snapshots: $(diff "$work/want" "$work/out")"
# the other way: added and removed swap, each change's sides too
expect "diff back" 3 "" "$H" diff "$work/k2.img" "$work/k.img" "${k[@]}"
grep -c '^- ' "$work/out" | grep -qx 2 && grep -c '^~ ' "$work/out" |
    grep -qx 3 && grep -qx 'added 0 (0 bytes), removed 2 (12288 bytes), changed 3 (143360 bytes)' "$work/out" &&
    grep -q '^~ 0000000000600000-000000000060ffff 0000000020100000 4k r-- u --- pat0 => 0000000020100000 4k rw- u' "$work/out" &&
    ok || bad "diff back: $(cat "$work/out")"
# two roots of one image: kern and kuser share one page
expect "diff, --roots naming five" 2 "not 5" "$H" diff "$work/m.img" \
    --roots "$work/m.roots"
"$H" diff "$work/m.img" --cr3 0x100000 --cr3 0x106000 --mode 4level \
    >"$work/out"
[ $? -eq 3 ] && [ "$(cat "$work/out")" = "- ffff888000000000-ffff8880001fffff 0000000001000000 2m rw- s --- pat0
added 0 (0 bytes), removed 1 (2097152 bytes), changed 0 (0 bytes)" ] && ok ||
    bad "diff kern kuser: $(cat "$work/out")"
# dumps: each side's own CPU names its root
"$mkcore" elf "$work/k2.core" "$work/k2.img" --cr3 0x100000 >/dev/null 2>&1 ||
    bad "mkcore k2"
expect "diff dumps" 3 "" "$H" diff "$work/k.core" "$work/k2.core"
cmp -s "$work/out" "$work/want" && ok || bad "diff dumps: $(diff "$work/want" "$work/out")"

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
[ "$fail" -eq 0 ]
