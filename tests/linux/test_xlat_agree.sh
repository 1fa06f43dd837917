#!/usr/bin/env bash
# Agreement of `htable dump` with libaddrxlat (libkdumpfile's page-table
# walker, an independent implementation): for each image and root,
# xlat_agree translates with libaddrxlat the first and last byte of the
# pages of every range htable lists (a bounded sample of a large range),
# addresses between the ranges (which must not translate) and addresses
# outside the mode's space, and walks every entry of the tables through
# libaddrxlat (the census), so that each leaf it finds must be one of
# htable's with the same address and page size, and each of htable's
# pages one of its leaves.  See xlat_agree.c for the one class of leaf
# only libaddrxlat has (it ignores reserved bits), reported as lenient.
#
# Images: every example in every CPU paging mode (and the AMD nested
# ones, whose tables have the 4- and 5-level format; EPT has a format
# libaddrxlat lacks), every root of tests/cli/multi.spec, random layouts
# from the QEMU suite's specgen and hand-made tables with reserved bits,
# odd PS bits and links outside the image from its tablegen (a few seeds
# per mode; skipped when those are not built), and the same memory as an
# ELF core (made here) read through libkdumpfile by both.  Then negative
# controls: a wrong PA, a missing range, a changed entry must each be
# reported.  One line per check; ends with a Criterion-style synthesis
# line that the test command counts.
#   usage: test_xlat_agree.sh HTABLE XLAT_AGREE EXAMPLES_DIR SPECGEN
#          TABLEGEN          (SPECGEN, TABLEGEN: a path, or "none")
#   HTABLE_XLAT_RANDOM=N   random layouts and table sets per mode (4)
#   HTABLE_XLAT_SEED=S     first seed (1)
set -u
shopt -s nullglob
htable=$1
xlat=$2
examples=$3
specgen=${4:-none}
tablegen=${5:-none}
nrandom=${HTABLE_XLAT_RANDOM:-4}
seed0=${HTABLE_XLAT_SEED:-1}
pool_pa=0x1000000		# where random layouts keep their tables
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0; fail=0; skip=0

ok()   { pass=$((pass + 1)); echo "[PASS] $*"; }
bad()  { fail=$((fail + 1)); echo "[FAIL] $*" >&2; }
skip() { skip=$((skip + 1)); echo "[SKIP] $*"; }

# agree NAME IMAGE MODE CR3: htable dump, then xlat_agree on its JSON
agree() {
	local name=$1 img=$2 mode=$3 cr3=$4
	if ! "$htable" dump "$img" --cr3 "$cr3" --mode "$mode" \
	    --format json >"$work/json" 2>"$work/err"; then
		bad "$name: htable dump: $(head -3 "$work/err")"
		return
	fi
	"$xlat" "$img" "$mode" "$cr3" <"$work/json" >"$work/out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || ! grep -q ' 0 disagree;' "$work/out"; then
		bad "$name: xlat_agree exit $rc: $(head -12 "$work/out")"
		return
	fi
	ok "$name: $(head -1 "$work/out" | sed 's/^[^:]*: //')"
}

# build_roots NAME SPEC IMG: build; every root as a line "MODE CR3" of
# $work/roots
build_roots() {
	"$htable" build "$2" -o "$3" >"$work/sum" 2>&1 ||
	    { bad "$1: htable build: $(tail -3 "$work/sum")"; return 1; }
	local mode
	mode=$(sed -n 's/^mode=\([^ ]*\) .*/\1/p' "$work/sum")
	if grep -q '^root ' "$work/sum"; then
		sed -n "s/^root [^ ]* cr3=\(0x[0-9a-f]*\)\$/$mode \1/p" \
		    "$work/sum"
	else
		sed -n 's/^mode=\([^ ]*\) cr3=\(0x[0-9a-f]*\).*/\1 \2/p' \
		    "$work/sum"
	fi >"$work/roots"
	[ -s "$work/roots" ] || { bad "$1: build printed no root"; return 1; }
}

# mkcore RAW CORE: an ELF64 core (no notes) of the non-zero pages of RAW
mkcore() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
P = 4096
runs = []
for i in range(0, len(data), P):
    if any(data[i:i + P]):
        if runs and runs[-1][1] == i:
            runs[-1][1] = i + P
        else:
            runs.append([i, i + P])
off = -(-(64 + 56 * len(runs)) // P) * P
hdr = struct.pack('<4s5B7sHHIQQQIHHHHHH', b'\x7fELF', 2, 1, 1, 0, 0,
                  bytes(7), 4, 62, 1, 0, 64, 0, 0, 64, 56, len(runs), 0,
                  0, 0)
body = b''
for a, b in runs:
    hdr += struct.pack('<IIQQQQQQ', 1, 7, off + len(body), 0, a, b - a,
                       b - a, 0)
    body += data[a:b]
with open(sys.argv[2], 'wb') as f:
    f.write(hdr)
    f.seek(off)
    f.write(body)
PY
}

# --- the examples: every root of every CPU and NPT mode ---
for spec in "$examples"/*.spec "$(dirname "$0")/../cli/multi.spec"; do
	name=$(basename "$spec" .spec)
	build_roots "$name" "$spec" "$work/$name.img" || continue
	while read -r mode cr3; do
		case $mode in
		32bit|pae|4level|5level|npt4|npt5) ;;
		*) continue ;;	# EPT: no libaddrxlat format
		esac
		agree "$name $mode cr3=$cr3" "$work/$name.img" "$mode" "$cr3"
	done <"$work/roots"
done

# --- random layouts and hand-made tables ---
for mode in 32bit pae 4level 5level; do
	for ((i = 0; i < nrandom; i++)); do
		s=$((seed0 + i))
		if [ "$specgen" = none ] || [ ! -x "$specgen" ]; then
			skip "random-$mode-$s: specgen is not built"
		elif ! "$specgen" "$mode" "$s" "$pool_pa" 8m \
		    >"$work/r.spec" 2>"$work/err"; then
			bad "random-$mode-$s: specgen: $(head -3 "$work/err")"
		elif build_roots "random-$mode-$s" "$work/r.spec" \
		    "$work/r.img"; then
			read -r m cr3 <"$work/roots"
			agree "random-$mode-$s cr3=$cr3" "$work/r.img" \
			    "$m" "$cr3"
		fi
		if [ "$tablegen" = none ] || [ ! -x "$tablegen" ]; then
			skip "tables-$mode-$s: tablegen is not built"
			continue
		fi
		if ! "$tablegen" "$mode" "$s" "$pool_pa" 64 "$work/t.img" \
		    >"$work/t.out" 2>"$work/err"; then
			bad "tables-$mode-$s: tablegen: $(head -3 "$work/err")"
			continue
		fi
		cr3=$(tail -n 1 "$work/t.out" | sed 's/.*cr3=//')
		agree "tables-$mode-$s cr3=$cr3" "$work/t.img" "$mode" "$cr3"
	done
done

# --- ELF cores: the same memory through libkdumpfile, same dump ---
for spec in flat-32bit pae kernel-4level la57-5level; do
	build_roots "$spec" "$examples/$spec.spec" "$work/c.img" || continue
	read -r mode cr3 <"$work/roots"
	if ! mkcore "$work/c.img" "$work/c.elf" 2>"$work/err"; then
		bad "$spec core: $(tail -3 "$work/err")"
		continue
	fi
	"$htable" dump "$work/c.img" --cr3 "$cr3" --mode "$mode" \
	    --format json >"$work/raw.json" 2>&1
	"$htable" dump "$work/c.elf" --cr3 "$cr3" --mode "$mode" \
	    --format json >"$work/elf.json" 2>&1
	if ! cmp -s "$work/raw.json" "$work/elf.json"; then
		bad "$spec core: dump differs from the raw image's"
		continue
	fi
	agree "$spec ELF core $mode cr3=$cr3" "$work/c.elf" "$mode" "$cr3"
done

# --- negative controls: xlat_agree must see a wrong answer ---
# expect_diff NAME REGEX IMAGE MODE CR3 < JSON: exit 1, a matching line
expect_diff() {
	local name=$1 re=$2; shift 2
	"$xlat" "$@" >"$work/out" 2>&1
	local rc=$?
	if [ $rc -eq 1 ] && grep -Eq -- "$re" "$work/out"; then
		ok "control: $name: $(grep -Ec '^\[DIFF\]' "$work/out")" \
		    "disagreements shown"
	else
		bad "control: $name: exit $rc: $(head -3 "$work/out")"
	fi
}
if build_roots pae "$examples/pae.spec" "$work/n.img"; then
	read -r mode cr3 <"$work/roots"
	"$htable" dump "$work/n.img" --cr3 "$cr3" --mode "$mode" \
	    --format json >"$work/n.json"
	# a PA one page off
	sed '2s/"pa":"0x\([0-9a-f]*\)000"/"pa":"0x\11000"/' "$work/n.json" \
	    >"$work/n1.json"
	expect_diff "wrong pa" '^\[DIFF\] va 0x[0-9a-f]+: htable pa' \
	    "$work/n.img" "$mode" "$cr3" <"$work/n1.json"
	# a range left out: its pages are holes that translate
	sed '3d' "$work/n.json" >"$work/n2.json"
	expect_diff "missing range" 'census: libaddrxlat maps' \
	    "$work/n.img" "$mode" "$cr3" <"$work/n2.json"
	# the image changed under the dump: the first PTE of the user text
	# (the first 4 KiB range) now maps another frame
	cp "$work/n.img" "$work/n3.img"
	va=$(sed -n '2s/.*"va":"\(0x[0-9a-f]*\)".*/\1/p' "$work/n.json")
	pte=$("$htable" translate "$work/n.img" --cr3 "$cr3" --mode "$mode" \
	    "$va" 2>/dev/null | sed -n 's/^ *L0 .* at \(0x[0-9a-f]*\):.*/\1/p')
	if [ -n "$pte" ]; then
		printf '\x07\x30' | dd of="$work/n3.img" bs=1 seek=$((pte)) \
		    conv=notrunc status=none
		expect_diff "changed entry" "va $va: htable pa" \
		    "$work/n3.img" "$mode" "$cr3" <"$work/n.json"
	else
		bad "control: changed entry: no PTE address from translate"
	fi
fi
"$xlat" >/dev/null 2>&1
[ $? -eq 2 ] && ok "usage: exit 2" || bad "usage: exit not 2"
echo '{"va":"0x1000","last":"0x0"}' | "$xlat" "$work/n.img" pae 0 \
    >/dev/null 2>&1
[ $? -eq 2 ] && ok "bad JSON: exit 2" || bad "bad JSON: exit not 2"

echo "[====] Synthesis: Tested: $((pass + fail + skip)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
