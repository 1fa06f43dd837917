#!/usr/bin/env bash
# Agreement with real QEMU: for every paging mode, make page tables (with
# `htable build` from the shipped examples and from random layouts that
# specgen writes, or by hand with tablegen: bits and shapes that build
# never writes but a guest's memory may hold), boot QEMU (TCG) with a stub
# firmware that loads CR3/CR4/EFER and turns paging on, capture the
# monitor's `info tlb` and `info mem` with qmp_info, and compare them byte
# for byte with `htable dump --format qemu-tlb` and `--format qemu-mem` of
# the same memory.  Besides one-space layouts, for every mode a layout of
# several spaces and a KPTI CPU root (roots_spec below) is booted with
# the CPU root's CR3 and with its user root's, after the root was
# switched and the running space and the source of a shared region
# changed: QEMU's monitor must see through each exactly what `htable
# dump` of that root prints.
#
# The guest's MMU sets the accessed bit of the entries it walks to fetch
# the stub's code, so the tables are saved back from guest RAM (pmemsave)
# after the guest halts, checked to differ from the built image only in
# accessed bits (and in at least one: the MMU really walked them), and
# that memory is what `htable dump` reads.  QEMU 7.2's 5-level `info mem`
# is broken, so for 5-level only `info tlb` is compared, and what QEMU's
# `info mem` printed is reported (for the examples only: that broken walk
# reads 512^3 entries per present PML4 entry, about ten seconds each).
# 32-bit and PAE run on qemu-system-x86_64 and, when it is installed, on
# qemu-system-i386 too.
#
# Ends with a Criterion-style synthesis line that the test command counts.
# Without QEMU the checks that need it are reported as skipped (exit
# status 77); the two checks of qmp_info against a scripted monitor run.
#   usage: test_qemu.sh HTABLE STUB QMP_INFO SPECGEN TABLEGEN EXAMPLES_DIR
#   HTABLE_QEMU_RANDOM=N   random layouts, and hand-made table sets, per
#                          mode (default 6 each)
#   HTABLE_QEMU_SEED=S     first seed (default 1); seeds S..S+N-1
#   HTABLE_QEMU_KEEP=DIR   keep every file of the run in DIR
#   HTABLE_QEMU_LA57_MEM=all  ask QEMU's 5-level info mem in every case
set -u
shopt -s nullglob
htable=$1
stub=$2
qmp_info=$3
specgen=$4
tablegen=$5
examples=$6
nrandom=${HTABLE_QEMU_RANDOM:-6}
seed0=${HTABLE_QEMU_SEED:-1}
ram_mb=256
params=0x8000			# the stub's parameter block (stub.S)
stub_map='map 0xffff0000 0xffff0000 0x10000 x'
pool_pa=0x1000000		# where random layouts keep their tables
pool_len=8m
raw_frames=64			# frames of a hand-made table set

if [ -n "${HTABLE_QEMU_KEEP:-}" ]; then
	work=$HTABLE_QEMU_KEEP
	mkdir -p "$work" || exit 1
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
pass=0; fail=0
pool_at=()			# run_case: the physical address of each pool

ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "[FAIL] $*" >&2; }
note() { echo "[NOTE] $*"; }

synthesis() {	# tested passing failing
	echo "[====] Synthesis: Tested: $1 | Passing: $2 | Failing: $3 | Crashing: 0 "
}

# num, mode_cr4, mode_efer: what the stub loads for each mode; the EFER
# QEMU then shows: mode_efer_on (LMA 0x400 once paging is on in long mode)
. "$(dirname "$0")/stub.sh"
mode_efer_on() {
	case $1 in
	32bit) echo 0 ;;
	pae) echo $((0x800)) ;;
	*) echo $((0xd00)) ;;
	esac
}
mode_pte() { [ "$1" = 32bit ] && echo 4 || echo 8; }

qemu64=$(command -v qemu-system-x86_64 || true)
qemu32=$(command -v qemu-system-i386 || true)

# roots_spec MODE: a KPTI CPU root running a copied space that shares a
# source's table; the running space and the source change after the
# switch and the share.  The stub's page is mapped where both roots of
# the pair show it: in the kernel half (both kernel spaces) in 32-bit and
# PAE paging, in the running space's user half in 4- and 5-level paging.
roots_spec() {
	local k tr u dst span new pcid="" stub_k="" stub_u=""
	case $1 in
	32bit)	k=0xc0000000; tr=0xff800000; u=0x400000; dst=0x80000000
		span=4m; new=0x10000000; stub_k=$stub_map ;;
	pae)	k=0xc0000000; tr=0xff800000; u=0x400000; dst=0x40000000
		span=2m; new=0x80000000; stub_k=$stub_map ;;
	4level)	k=0xffff888000000000; tr=0xfffffe0000000000; u=0x400000
		dst=0x7f0000000000; span=2m; new=0x8000000000
		pcid=" pcid=5"; stub_u=$stub_map ;;
	5level)	k=0xff11000000000000; tr=0xfffffe0000000000; u=0x400000
		dst=0x00007f0000000000; span=2m; new=0x0001000000000000
		pcid=" pcid=5"; stub_u=$stub_map ;;
	esac
	printf '%s\n' "mode $1" "pool $pool_pa 2m" "kpti" \
	    "space k" "map $k 0x2000000 64k w" "map $tr 0x2100000 4k x" "$stub_k" \
	    "space ku" "map $tr 0x2100000 4k x" "$stub_k" \
	    "space shm" "map 0x40000000 0x3000000 8k w u" \
	    "space p copied$pcid" "map $u 0x4000000 16k u x" "$stub_u" \
	    "share $dst from shm 0x40000000 $span" \
	    "cpu 0 kernel k kpti ku" "switch 0 p" \
	    "map $new 0x5000000 4k u w" \
	    "space shm" "map 0x40002000 0x3100000 4k w u"
}

# --- the cases: NAME MODE SOURCE QEMU; SOURCE is a layout file to build,
# raw:SEED for tablegen, or roots:ROOT:FILE for the root called ROOT of
# a layout file with spaces and CPU roots ---
cases=()
add_cases() {	# name mode source
	cases+=("$1 $2 $3 $qemu64")
	if [ -n "$qemu32" ] && { [ "$2" = 32bit ] || [ "$2" = pae ]; }; then
		cases+=("$1@i386 $2 $3 $qemu32")
	fi
}
mkdir -p "$work/specs"
for spec in "$examples"/*.spec; do
	name=$(basename "$spec" .spec)
	mode=$(awk '$1 == "mode" { print $2; exit }' "$spec")
	# nested tables (AMD's NPT, Intel's EPT) are not a CPU's own paging:
	# QEMU's monitor has no view of them (the engine that runs them is
	# issue 14's), and QEMU's TCG cannot run EPT at all (no VMX)
	case $mode in npt*|ept*) continue ;; esac
	add_cases "example-$name" "${mode:-4level}" "$spec"
done
for mode in 32bit pae 4level 5level; do
	for ((i = 0; i < nrandom; i++)); do
		s=$((seed0 + i))
		f="$work/specs/random-$mode-$s.spec"
		if ! "$specgen" "$mode" "$s" "$pool_pa" "$pool_len" > "$f"; then
			bad "specgen $mode $s failed"
			continue
		fi
		add_cases "random-$mode-$s" "$mode" "$f"
		add_cases "raw-$mode-$s" "$mode" "raw:$s"
		[ "$mode" = 5level ] || continue
		# below bit 47 only, for the 4-level cross-check of info mem
		f="$work/specs/random-5level-low-$s.spec"
		if ! "$specgen" 5level "$s" "$pool_pa" "$pool_len" low > "$f"; then
			bad "specgen 5level $s low failed"
			continue
		fi
		add_cases "random-5level-low-$s" 5level "$f"
	done
	f="$work/specs/roots-$mode.spec"
	roots_spec "$mode" > "$f"
	for r in cpu0 cpu0.user; do
		add_cases "roots-$mode-$r" "$mode" "roots:$r:$f"
	done
done
planned=2			# the two qmp_info checks below
for c in "${cases[@]}"; do
	read -r name mode _ _ <<< "$c"
	[ "$mode" = 5level ] && [[ $name != random-5level-low-* ]] &&
	    planned=$((planned + 3)) || planned=$((planned + 4))
done

# --- qmp_info against a scripted monitor (runs without QEMU too) ---
# A JSON string with every escape QEMU's JSON writer uses, an event in
# between, and an error reply.
fake="$work/fake-qemu"
cat > "$fake" <<'FAKE'
#!/usr/bin/env bash
echo '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}'
while IFS= read -r line; do
	case $line in
	*qmp_capabilities*) printf '{"return": {}}\r\n' ;;
	*'info registers'*)
		printf '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP", "data": {}}\r\n'
		printf '{"return": "CR0=80000011 HLT=1\\r\\n"}\r\n' ;;
	*escapes*)
		printf '{"return": "a\\/b \\"q\\" \\\\ \\t|\\u00e9|\\ud83d\\ude00|\\u0001\\r\\nend\\n"}\r\n' ;;
	*quit*) printf '{"return": {}}\r\n'; exit 0 ;;
	*) printf '{"error": {"class": "GenericError", "desc": "no such command"}}\r\n' ;;
	esac
done
FAKE
chmod +x "$fake"
printf 'a/b "q" \\ \t|\303\251|\360\237\230\200|\001\nend\n' > "$work/escapes.expected"
if "$qmp_info" -t 20 -w -o "$work/escapes.out" -c escapes -- "$fake" 2> "$work/fake.err" &&
    cmp -s "$work/escapes.expected" "$work/escapes.out"; then
	ok
else
	bad "qmp_info: decoding a JSON string: $(cat "$work/fake.err")" \
	    "$(od -c "$work/escapes.out" 2>/dev/null | head -5)"
fi
if ! "$qmp_info" -t 20 -c bogus -- "$fake" 2> "$work/fake.err" &&
    grep -q "refused 'bogus': no such command" "$work/fake.err"; then
	ok
else
	bad "qmp_info: an error reply: '$(cat "$work/fake.err")'"
fi

if [ -z "$qemu64" ] || [ "$stub" = none ] || [ ! -f "$stub" ]; then
	if [ -z "$qemu64" ]; then
		why="qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
	else
		why="the boot stub was not built (no objcopy, or not an x86 host)"
	fi
	echo "SKIP: the QEMU agreement test: $why"
	synthesis "$planned" "$pass" "$fail"
	[ "$fail" -eq 0 ] || exit 1
	exit 77
fi

# only_a_bits PTE_SIZE BUILT SAVED: every differing byte is the low byte
# of an entry and gained exactly the accessed bit; prints the count.
only_a_bits() {
	local esz=$1 n=0 off old new x
	while read -r off old new; do
		[[ $off =~ ^[0-9]+$ ]] || { echo "cmp: $off $old $new"; return 1; }
		x=$(( 8#$old ^ 8#$new ))
		if [ $(( (off - 1) % esz )) -ne 0 ] || [ $x -ne 32 ] ||
		    [ $(( 8#$new & 32 )) -eq 0 ]; then
			printf 'byte 0x%x: %02x -> %02x\n' $((off - 1)) \
			    $((8#$old)) $((8#$new))
			return 1
		fi
		n=$((n + 1))
	done < <(cmp -l "$2" "$3" 2>&1)
	echo "$n"
}

# compare NAME WHAT QEMU_FILE OURS_FILE: one check
compare() {
	if cmp -s "$3" "$4"; then
		ok
		return 0
	fi
	bad "$1: $2 differs from QEMU ($(wc -l < "$3") lines from QEMU," \
	    "$(wc -l < "$4") from htable dump); diff QEMU dump:"
	diff "$3" "$4" | head -40 >&2
	return 1
}

# entries PA N IMAGE: the N 8-byte entries at PA in IMAGE, one hex a line
entries() {
	od -An -v -tx8 -j "$1" -N $(( $2 * 8 )) "$3" | tr -s ' ' '\n' | sed '/^$/d'
}

# la57_cross NAME D CR3 QEMU: QEMU 7.2 cannot print a 5-level info mem,
# but when every mapping lies under PML5 entry 0 (present, U and W) and in
# the lower half of that PML4, a 5-level info mem must read like the
# 4-level info mem of that PML4, but for one thing: a run that ends at
# 1 << 47 ends at 0000800000000000 in 5-level paging (sign extension from
# bit 56), at ffff800000000000 in 4-level.  If so, boot the saved memory
# again in 4-level paging with CR3 = that PML4, and compare its info mem,
# that end put right, with `htable dump --mode 5level --format qemu-mem`
# (one check); if not, return 1 (no check).
la57_cross() {
	local name=$1 d=$2 cr3=$3 qemu=$4 e i=0 pml4 loaders=() f
	local mask=$((0x3fffffffff000))
	while read -r e; do
		if [ $i -eq 0 ]; then
			[ $(( 16#$e & 7 )) -eq 7 ] || return 1
			pml4=$(( 16#$e & mask ))
		elif [ $(( 16#$e & 1 )) -ne 0 ]; then
			return 1
		fi
		i=$((i + 1))
	done < <(entries $(( cr3 & mask )) 512 "$d/after.img")
	i=0
	while read -r e; do
		[ $i -ge 256 ] && [ $(( 16#$e & 1 )) -ne 0 ] && return 1
		i=$((i + 1))
	done < <(entries "$pml4" 512 "$d/after.img")
	for f in "$d"/saved*.bin; do
		i=${f##*saved}; i=${i%.bin}
		loaders+=(-device "loader,file=$f,addr=${pool_at[$i]},force-raw=on")
	done
	if ! "$qmp_info" -t 60 -w -o "$d/x4.tlb" -c "info tlb" -o "$d/x4.mem" \
	    -c "info mem" -- "$qemu" -accel tcg -cpu max -nodefaults -vga none \
	    -display none -m "${ram_mb}M" -no-reboot -bios "$stub" \
	    -device "loader,addr=$params,data=$pml4,data-len=8" \
	    -device "loader,addr=$((params + 8)),data=$(mode_cr4 4level),data-len=8" \
	    -device "loader,addr=$((params + 16)),data=$(mode_efer 4level),data-len=8" \
	    "${loaders[@]}" > "$d/x4.out" 2>&1; then
		bad "$name: the 4-level run of the 5-level tables failed: $(tail -n 5 "$d/x4.out")"
		return 0
	fi
	cmp -s "$d/x4.tlb" "$d/qemu.tlb" ||
	    note "$name: QEMU's 4-level info tlb of PML4" \
	    "$(printf 0x%x "$pml4") differs from its 5-level one"
	sed 's/-ffff800000000000 /-0000800000000000 /' "$d/x4.mem" > "$d/x4as5.mem"
	compare "$name" "info mem (5-level, against QEMU's 4-level walk of PML5[0])" \
	    "$d/x4as5.mem" "$d/ours.mem"
	return 0
}

# run_case NAME MODE SOURCE QEMU: 4 checks (3 in 5-level, 4 again when
# the 5-level info mem can be cross-checked); a check that cannot run
# because an earlier one failed counts as failed.
run_case() {
	local name=$1 mode=$2 src=$3 qemu=$4
	local d="$work/$name" nchk=4 last cr3 cr4 efer esz loaders=() pools=()
	local root=""
	[ "$mode" = 5level ] && nchk=3
	mkdir -p "$d"
	cr4=$(mode_cr4 "$mode"); efer=$(mode_efer "$mode"); esz=$(mode_pte "$mode")

	# build the tables: with htable build, or by hand
	if [[ $src == raw:* ]]; then
		if ! "$tablegen" "$mode" "${src#raw:}" "$pool_pa" "$raw_frames" \
		    "$d/built.img" > "$d/spec" 2> "$d/build.out"; then
			bad "$name: tablegen failed: $(cat "$d/build.out")"
			fail=$((fail + nchk - 1)); return
		fi
		cp "$d/spec" "$d/build.out"
	else
		if [[ $src == roots:* ]]; then
			root=${src#roots:}; root=${root%%:*}
			cp "${src#roots:*:}" "$d/spec"
		else
			{ cat "$src"; echo "$stub_map"; } > "$d/spec"
		fi
		if ! "$htable" build "$d/spec" -o "$d/built.img" > "$d/build.out" 2>&1; then
			bad "$name: htable build failed: $(cat "$d/build.out")"
			fail=$((fail + nchk - 1)); return
		fi
	fi
	last=$(tail -n 1 "$d/build.out")
	if [ -n "$root" ]; then
		cr3=$(sed -n "s/^root $root cr3=\(0x[0-9a-f]*\)$/\1/p" "$d/build.out")
		if [ -z "$cr3" ] || ! [[ $last =~ ^mode=${mode}\ roots=[0-9]+$ ]]; then
			bad "$name: no root $root in the summary, or its last line '$last'"
			fail=$((fail + nchk - 1)); return
		fi
	elif ! [[ $last =~ ^mode=${mode}\ cr3=(0x[0-9a-f]+)$ ]]; then
		bad "$name: summary's last line '$last'"
		fail=$((fail + nchk - 1)); return
	else
		cr3=${BASH_REMATCH[1]}
	fi

	# the pools go to guest RAM, each from its own slice of the image
	local i=0 pa len
	pool_at=()
	while read -r pa len; do
		pa=$(num "$pa"); len=$(num "$len")
		if [ "$pa" -lt $((1 << 20)) ] || [ $((pa + len)) -gt $((ram_mb << 20)) ]; then
			bad "$name: pool [0x$(printf %x "$pa"), +0x$(printf %x "$len")) is" \
			    "not inside [1 MiB, $ram_mb MiB) of guest RAM"
			fail=$((fail + nchk - 1)); return
		fi
		dd if="$d/built.img" of="$d/pool$i.bin" bs=4096 skip=$((pa / 4096)) \
		    count=$((len / 4096)) status=none 2>/dev/null
		truncate -s "$len" "$d/pool$i.bin"
		loaders+=(-device "loader,file=$d/pool$i.bin,addr=$pa,force-raw=on")
		pools+=("$pa $len")
		pool_at[$i]=$pa
		i=$((i + 1))
	done < <(awk '$1 == "pool" { print $2, $3 }' "$d/spec")

	# boot; wait for the halt with paging on; capture; save the pools
	local cmds=(-o "$d/regs" -c "info registers" -o "$d/qemu.tlb" -c "info tlb")
	local la57mem=1
	if [ "$mode" = 5level ] && [ "${HTABLE_QEMU_LA57_MEM:-}" != all ] &&
	    [[ $name != example-* ]]; then
		la57mem=0
	fi
	[ $la57mem -eq 1 ] && cmds+=(-o "$d/qemu.mem" -c "info mem")
	for ((i = 0; i < ${#pools[@]}; i++)); do
		read -r pa len <<< "${pools[$i]}"
		cmds+=(-c "pmemsave $pa $len \"$d/saved$i.bin\"")
	done
	if ! "$qmp_info" -t 60 -w "${cmds[@]}" -- "$qemu" -accel tcg -cpu max \
	    -nodefaults -vga none -display none -m "${ram_mb}M" -no-reboot \
	    -bios "$stub" -d int,cpu_reset -D "$d/qemu.log" \
	    -device "loader,addr=$params,data=$cr3,data-len=8" \
	    -device "loader,addr=$((params + 8)),data=$cr4,data-len=8" \
	    -device "loader,addr=$((params + 16)),data=$efer,data-len=8" \
	    "${loaders[@]}" > "$d/qmp.out" 2>&1; then
		bad "$name: QEMU run failed ($(basename "$qemu")): $(tail -n 20 "$d/qmp.out")"
		tail -n 30 "$d/qemu.log" >&2 2>/dev/null
		fail=$((fail + nchk - 1)); return
	fi

	# check 1: the CPU is where the stub put it
	local r c0 c3 c4 ef
	r=$(tr '\n' ' ' < "$d/regs")
	c0=$(sed -n 's/.*CR0=\([0-9a-f]*\).*/\1/p' <<< "$r")
	c3=$(sed -n 's/.*CR3=\([0-9a-f]*\).*/\1/p' <<< "$r")
	c4=$(sed -n 's/.*CR4=\([0-9a-f]*\).*/\1/p' <<< "$r")
	ef=$(sed -n 's/.*EFER=\([0-9a-f]*\).*/\1/p' <<< "$r")
	if [ -n "$c0" ] && [ $(( 0x$c0 & 0x80010001 )) -eq $((0x80010001)) ] &&
	    [ $((0x$c3)) -eq $((cr3)) ] && [ $((0x$c4)) -eq $((cr4)) ] &&
	    [ $((0x$ef)) -eq "$(mode_efer_on "$mode")" ]; then
		ok
	else
		bad "$name: CPU state CR0=$c0 CR3=$c3 CR4=$c4 EFER=$ef, expected" \
		    "PG|WP|PE, $cr3, $cr4, $(printf 0x%x "$(mode_efer_on "$mode")")"
	fi

	# check 2: guest RAM holds the tables, changed only by the MMU's A bits
	cp --sparse=always "$d/built.img" "$d/after.img"
	local nab=0 res
	for ((i = 0; i < ${#pools[@]}; i++)); do
		read -r pa len <<< "${pools[$i]}"
		if ! res=$(only_a_bits "$esz" "$d/pool$i.bin" "$d/saved$i.bin"); then
			bad "$name: guest RAM differs from the image beyond A bits: $res"
			nab=-1; break
		fi
		nab=$((nab + res))
		dd if="$d/saved$i.bin" of="$d/after.img" bs=4096 seek=$((pa / 4096)) \
		    conv=notrunc status=none
	done
	if [ "$nab" -gt 0 ]; then
		ok
	elif [ "$nab" -eq 0 ]; then
		bad "$name: the MMU set no accessed bit: did it walk these tables?"
	fi

	# checks 3 and 4: htable dump of that memory against QEMU
	local fmt what res_line=""
	for fmt in tlb mem; do
		what="info $fmt"
		if ! "$htable" dump "$d/after.img" --cr3 "$cr3" --mode "$mode" \
		    --format "qemu-$fmt" > "$d/ours.$fmt" 2> "$d/dump.$fmt.err"; then
			if [ "$fmt" = mem ] && [ "$mode" = 5level ] &&
			    [[ $name != random-5level-low-* ]]; then
				note "$name: htable dump --format qemu-mem" \
				    "failed: $(cat "$d/dump.$fmt.err")"
			else
				bad "$name: htable dump --format qemu-$fmt" \
				    "failed: $(cat "$d/dump.$fmt.err")"
			fi
			continue
		fi
		if [ "$fmt" = mem ] && [ "$mode" = 5level ]; then
			# QEMU 7.2's la57 info mem tests "present" the wrong way
			# round: report what it printed, do not judge it
			if la57_cross "$name" "$d" "$cr3" "$qemu"; then
				res_line="$res_line info mem: 4-level cross-check;"
			elif [[ $name == random-5level-low-* ]]; then
				bad "$name: no 4-level cross-check: the layout is not" \
				    "all under PML5[0] and below bit 47"
			fi
			if [ $la57mem -eq 0 ]; then
				:
			elif cmp -s "$d/qemu.mem" "$d/ours.mem"; then
				note "$name: QEMU 7.2 info mem (5-level) agrees with dump" \
				    "($(wc -l < "$d/ours.mem") lines)"
			else
				if [ -s "$d/qemu.mem" ]; then
					what="$(wc -l < "$d/qemu.mem") lines (first:"
					what="$what '$(head -n 1 "$d/qemu.mem")')"
				else
					what="nothing"
				fi
				note "$name: QEMU 7.2 info mem (5-level, known broken)" \
				    "printed $what; htable dump prints the" \
				    "$(wc -l < "$d/ours.mem") lines of the fixed QEMU"
			fi
			continue
		fi
		compare "$name" "$what" "$d/qemu.$fmt" "$d/ours.$fmt" &&
		    res_line="$res_line $what: $(wc -l < "$d/qemu.$fmt") lines;"
	done
	echo "[CASE] $name ($mode, $(basename "$qemu"), cr3=$cr3, $nab A bits set):$res_line"
}

for c in "${cases[@]}"; do
	read -r name mode src qemu <<< "$c"
	run_case "$name" "$mode" "$src" "$qemu"
done

total=$((pass + fail))
[ "$total" -lt "$planned" ] && { fail=$((fail + planned - total)); total=$planned; }
echo "$pass passed, $fail failed"
synthesis "$total" "$pass" "$fail"
[ "$fail" -eq 0 ]
