#!/usr/bin/env bash
# Dump files from real QEMU: for every paging mode, build the shipped
# example's tables, boot the stub (stub.S, as test_qemu.sh does) so that
# the guest halts with paging on and CR3 = the built root, then save its
# memory from the monitor: `pmemsave` of the RAM and of the stub's ROM (a
# raw image), `dump-guest-memory` as an ELF core and as flattened kdump
# files (zlib, lzo, snappy: a compression this QEMU was built without is
# skipped), which `makedumpfile -R` reassembles.  Then htable must read
# them:
#  - `htable info`: the ELF core and the kdump files name the mode and
#    the built root for CPU 0 (from QEMU's notes); a flattened file is
#    refused, by dump too, with "makedumpfile -R"; a reassembled kdump
#    file reads as diskdump;
#  - `htable dump` of the ELF core, with no --cr3/--mode, prints what
#    `htable dump` of the raw image prints with them (text, json,
#    qemu-tlb, qemu-mem); an explicit --cr3 or --mode wins over the
#    dump's; the kdump files, whose CPU notes htable info shows too,
#    print the same with and without --cr3/--mode;
#  - `htable verify` of the ELF core and of a kdump file runs every
#    probe of the raw image's run on QEMU's MMU, all agreeing;
#  - `htable translate` of the ELF core and of the kdump files agree
#    with that of the raw image; `htable roots` of the ELF core (4- and
#    5-level) lists the built root.
# The raw image, not the built one, is the reference: the guest's MMU set
# accessed bits that every saved file holds.  One run has 2 vCPUs
# (4-level): CPU 1 never leaves its wait for a SIPI, so its paging is off.
# Prints one line per check and ends with a Criterion-style synthesis
# line that the test command counts.  Without QEMU, the stub or
# makedumpfile nothing runs: the test reports a skip (exit 77).
#   usage: test_dumps.sh HTABLE STUB QMP_INFO EXAMPLES_DIR
#   HTABLE_DUMPS_KEEP=DIR  keep every file of the run in DIR
set -u
abs() { case $1 in none|/*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
htable=$(abs "$1")
stub=$(abs "$2")
qmp_info=$(abs "$3")
examples=$(abs "$4")
ram_mb=32			# guest RAM: the examples' pools lie below
params=0x8000			# the stub's parameter block (stub.S)
rom_pa=0xffff0000		# where QEMU maps the stub (-bios)
rom_len=0x10000
stub_map="map $rom_pa $rom_pa $rom_len x"
comps="z l s"			# dump-guest-memory's kdump compressions
modes="32bit pae 4level 5level"
flat_status=1			# htable on a flattened file: EXIT_IO

if [ -n "${HTABLE_DUMPS_KEEP:-}" ]; then
	work=$(abs "$HTABLE_DUMPS_KEEP")
	mkdir -p "$work" || exit 1
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
pass=0; fail=0; skip=0

ok()  { pass=$((pass + 1)); echo "[PASS] $*"; }
bad() { fail=$((fail + 1)); echo "[FAIL] $*"; }
skp() { skip=$((skip + 1)); echo "[SKIP] $*"; }
checks_done() { echo $((pass + fail + skip)); }

# The checks of one mode's run (run_mode) and of the 2-vCPU run
# (run_smp): a run cut short counts those it did not make as failed.
mode_checks() {
	case $1 in
	4level|5level) echo 37 ;;
	*) echo 36 ;;
	esac
}
smp_checks=7

finish() {
	echo "[====] Synthesis: Tested: $((pass + fail + skip)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
	echo "$pass passed, $fail failed, $skip skipped"
	[ $fail -eq 0 ] || exit 1
	# nothing ran: a skip, never a pass (meson counts exit 77 as SKIP)
	[ $pass -gt 0 ] || exit 77
	exit 0
}

# --- what is needed ---
qemu=$(command -v qemu-system-x86_64 || true)
mdf=$(command -v makedumpfile || true)
why=""
if [ -z "$qemu" ]; then
	why="qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
elif [ "$stub" = none ] || [ ! -f "$stub" ]; then
	why="the boot stub was not built (no objcopy, or not an x86 host)"
elif [ -z "$mdf" ]; then
	why="makedumpfile is not installed (Debian: makedumpfile)"
fi
if [ -n "$why" ]; then
	echo "SKIP: the QEMU dump-file test: $why"
	for m in $modes; do
		skip=$((skip + $(mode_checks "$m")))
	done
	skip=$((skip + smp_checks))
	finish
fi

# num, mode_cr4, mode_efer: what the stub loads for each mode
. "$(dirname "$0")/stub.sh"
mode_example() {
	case $1 in
	32bit) echo flat-32bit ;;
	pae) echo pae ;;
	4level) echo kernel-4level ;;
	5level) echo la57-5level ;;
	esac
}
# another mode that reads the same CR3 (an explicit --mode wins)
mode_other() {
	case $1 in
	32bit) echo pae ;;
	pae) echo 32bit ;;
	4level) echo 5level ;;
	5level) echo 4level ;;
	esac
}
# VAs to translate: mapped ones of the example and the stub's page, then
# unmapped ones
mode_vas() {
	case $1 in
	32bit) echo 0xc0001234 0xd0100008 0x08048010 0xbfff0ff8 0xffff0000 \
	    0x40000000 0x08058000 ;;
	pae) echo 0xc0123456 0xc8000123 0x08048000 0xbfffeff0 0xffff0010 \
	    0x00000000 0xc8100000 ;;
	4level) echo 0xffff888012345678 0xffffffff81000040 0x400000 \
	    0x7fffffffdff0 0xffff0000 0x610000 0x1000 0x0000800000000000 ;;
	5level) echo 0xff11000123456789 0xffffffff80001000 \
	    0x00ffffffffe00010 0x1000 0xffff0000 0x5000 \
	    0x0100000000000000 ;;
	esac
}

# ht TAG ARGS...: run htable ARGS, stdout to TAG.out, stderr to TAG.err;
# sets rc
ht() {
	local tag=$1; shift
	"$htable" "$@" > "$tag.out" 2> "$tag.err"
	rc=$?
}

# differ A B: a short account of how files A and B differ
differ() {
	echo "$(wc -l < "$1") lines against $(wc -l < "$2"):" \
	    "$(diff "$1" "$2" | head -n 6 | tr '\n' '|')"
}

# same_err ERR1 FILE1 ERR2 FILE2: the two commands' stderr say the same,
# each of its own file
same_err() {
	cmp -s <(sed "s|$2|IMAGE|g" "$1") <(sed "s|$4|IMAGE|g" "$3")
}

# flat F: file F's first lines joined with '|' (for one-line messages)
flat() { head -c 300 "$1" 2> /dev/null | tr '\n' '|' | sed 's/|$//'; }

# cpu_line FILE N: the 'cpu N ...' line of an htable info output
cpu_line() { grep -E "^cpu $2 " "$1" | head -n 1; }

# reg NAME: register NAME (CR0, CR3, CR4) from regs, in decimal (0 when
# QEMU did not print it)
reg() {
	local v
	v=$(tr '\n' ' ' < regs | sed -n "s/.* $1=\([0-9a-f]*\).*/\1/p")
	echo $((16#${v:-0}))
}

# has_kdump C: makedumpfile -R reassembled compression C's file
has_kdump() { [[ " $have " == *" $1 "* ]]; }

# --- one run; each in its own directory, the current one ---

# build_image: build the mode's example (plus the stub's page) into
# built.img; sets root and pools ("PA LEN" each); the reason it failed on
# stdout
build_image() {
	local pa len ex
	ex="$examples/$(mode_example "$mode").spec"
	{ cat "$ex"; echo "$stub_map"; } > spec
	if ! "$htable" build spec -o built.img > build.out 2>&1; then
		echo "htable build failed: $(flat build.out)"
		return 1
	fi
	root=$(sed -n "s/^mode=$mode cr3=\(0x[0-9a-f]*\)$/\1/p" build.out)
	if [ -z "$root" ]; then
		echo "no 'mode=$mode cr3=' in '$(tail -n 1 build.out)'"
		return 1
	fi
	pools=()
	while read -r pa len; do
		pa=$(num "$pa"); len=$(num "$len")
		if [ "$pa" -lt $((1 << 20)) ] ||
		    [ $((pa + len)) -gt $((ram_mb << 20)) ]; then
			echo "pool $pa +$len is not in [1 MiB, $ram_mb MiB)"
			return 1
		fi
		pools+=("$pa $len")
	done < <(awk '$1 == "pool" { print $2, $3 }' spec)
}

# boot NCPU: boot the stub with NCPU vCPUs on built.img (its pools loaded
# into guest RAM, as test_qemu.sh does), wait until CPU 0 halts with
# paging on, and save regs, ram and rom (pmemsave), core.elf and f.C
# (flattened kdump, compression C); what the monitor answered to each in
# a .said file
boot() {
	local ncpu=$1 pa len i c f loaders=() cmds
	rm -f ram rom raw core.elf f.* ./*.said
	for ((i = 0; i < ${#pools[@]}; i++)); do
		read -r pa len <<< "${pools[$i]}"
		f="$PWD/pool$i.bin"
		dd if=built.img of="$f" bs=4096 skip=$((pa / 4096)) \
		    count=$((len / 4096)) status=none
		truncate -s "$len" "$f"
		loaders+=(-device "loader,file=$f,addr=$pa,force-raw=on")
	done
	cmds=(-o regs -c "info registers"
	    -o ram.said -c "pmemsave 0 $((ram_mb << 20)) \"$PWD/ram\""
	    -o rom.said -c "pmemsave $rom_pa $rom_len \"$PWD/rom\""
	    -o elf.said -c "dump-guest-memory \"$PWD/core.elf\"")
	for c in $comps; do
		cmds+=(-o "f.$c.said" -c "dump-guest-memory -$c \"$PWD/f.$c\"")
	done
	"$qmp_info" -t 60 -w "${cmds[@]}" -- "$qemu" -accel tcg -cpu max \
	    -smp "$ncpu" -nodefaults -vga none -display none \
	    -m "${ram_mb}M" -no-reboot -bios "$stub" \
	    -device "loader,addr=$params,data=$root,data-len=8" \
	    -device "loader,addr=$((params + 8)),data=$cr4,data-len=8" \
	    -device "loader,addr=$((params + 16)),data=$efer,data-len=8" \
	    "${loaders[@]}" > qmp.out 2>&1
}

# start_run NCPU: build, boot, check where the CPU halted, and make raw:
# the physical memory as QEMU's ELF core holds it, the RAM from 0 and
# the ROM at its address (a hole between).  Two checks; 1 when the run
# cannot go on.
start_run() {
	local c0 c3 size rsize
	if ! build_image > why.txt; then
		bad "$n: $(cat why.txt)"
		return 1
	fi
	if ! boot "$1"; then
		bad "$n: QEMU run failed: $(tail -n 5 qmp.out | tr '\n' '|')"
		return 1
	fi
	c0=$(reg CR0); c3=$(reg CR3)
	if [ $((c0 & 0x80000001)) -ne $((0x80000001)) ] ||
	    [ "$c3" -ne $((root)) ]; then
		bad "$n: boot: CR0=$(printf %x "$c0") CR3=$(printf %x "$c3")," \
		    "want PG|PE and CR3=$root"
		return 1
	fi
	ok "$n: boot: halted with paging on, CR3=$root"
	size=$(stat -c %s ram 2> /dev/null || echo 0)
	rsize=$(stat -c %s rom 2> /dev/null || echo 0)
	if [ -s ram.said ] || [ -s rom.said ] ||
	    [ "$size" -ne $((ram_mb << 20)) ] ||
	    [ "$rsize" -ne $((rom_len)) ]; then
		bad "$n: pmemsave: $size bytes of RAM, $rsize of ROM; QEMU" \
		    "said '$(cat ram.said rom.said)'"
		return 1
	fi
	mv ram raw
	dd if=rom of=raw bs=4096 seek=$((rom_pa / 4096)) conv=notrunc \
	    status=none
	ok "$n: pmemsave: $size bytes of RAM and the $rsize of the ROM"
}

# check_files: the ELF core has QEMU's notes; each flattened file was
# written (or its compression is missing) and reassembled; sets have
# (the compressions reassembled).  1 + 2 per compression checks; 1 when
# there is no ELF core.
check_files() {
	local c said
	have=""
	if [ ! -s elf.said ] &&
	    [ "$(head -c 4 core.elf 2> /dev/null)" = $'\177ELF' ] &&
	    { ! command -v readelf > /dev/null ||
	      readelf -n core.elf | grep -q '^ *QEMU '; }; then
		ok "$n: dump-guest-memory wrote an ELF core with QEMU notes"
	else
		bad "$n: dump-guest-memory: no ELF core with QEMU notes;" \
		    "QEMU said '$(flat elf.said)'"
		return 1
	fi
	for c in $comps; do
		said=$(flat "f.$c.said")
		if [[ $said == *"not available"* ]] ||
		    [[ $said == *"not supported"* ]]; then
			skp "$n: dump-guest-memory -$c: this QEMU was built" \
			    "without it ('$said')"
			skp "$n: makedumpfile -R f.$c: no f.$c"
			continue
		fi
		if [ -n "$said" ] ||
		    [ "$(head -c 12 "f.$c" 2> /dev/null)" != makedumpfile ]
		then
			bad "$n: dump-guest-memory -$c: QEMU said '$said';" \
			    "no flattened makedumpfile file"
			skp "$n: makedumpfile -R f.$c: no f.$c"
			continue
		fi
		ok "$n: dump-guest-memory -$c wrote a flattened kdump file"
		if "$mdf" -R "f.$c.kdump" < "f.$c" > "mdf.$c.out" 2>&1 &&
		    [ -s "f.$c.kdump" ]; then
			ok "$n: makedumpfile -R f.$c.kdump < f.$c"
			have="$have $c"
		else
			bad "$n: makedumpfile -R f.$c.kdump < f.$c failed:" \
			    "$(flat "mdf.$c.out")"
		fi
	done
}

# check_info: htable info of raw and of core.elf (text, JSON).  3 checks.
check_info() {
	local line re c0 c4 pages
	ht info-raw info raw
	if [ $rc -eq 0 ] && grep -Eq '^format .*raw' info-raw.out; then
		ok "$n: info raw: $(grep '^format' info-raw.out)"
	else
		bad "$n: info raw: exit $rc, '$(flat info-raw.out)'" \
		    "$(flat info-raw.err)"
	fi
	ht info-elf info core.elf
	line=$(cpu_line info-elf.out 0)
	re="^cpu 0 mode=$mode cr3=(0x[0-9a-f]+) cr0=(0x[0-9a-f]+)"
	re="$re cr4=(0x[0-9a-f]+) source=qemu-note$"
	c0=$(reg CR0); c4=$(reg CR4)
	# QEMU's ELF core holds the RAM (one run) and the ROM
	pages="pages $(( ((ram_mb << 20) + rom_len) / 4096 )) in 2 runs,"
	pages="$pages up to 0x100000000"
	if [ $rc -eq 0 ] && [[ $line =~ $re ]] &&
	    [ $((BASH_REMATCH[1])) -eq $((root)) ] &&
	    [ $((BASH_REMATCH[2])) -eq "$c0" ] &&
	    [ $((BASH_REMATCH[3])) -eq "$c4" ] &&
	    grep -Eq '^format .*\(elf\)$' info-elf.out &&
	    grep -qx "$pages" info-elf.out && grep -qx 'cpus 1' info-elf.out
	then
		ok "$n: info core.elf: $line"
	else
		bad "$n: info core.elf: exit $rc, want 'format ...(elf)'," \
		    "'$pages', 'cpus 1', 'cpu 0 mode=$mode cr3=$root" \
		    "cr0=$(printf 0x%x "$c0") cr4=$(printf 0x%x "$c4")" \
		    "source=qemu-note'; got '$(flat info-elf.out)'" \
		    "$(flat info-elf.err)"
	fi
	ht info-json info core.elf --json
	if [ $rc -eq 0 ] &&
	    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
	    info-json.out 2> /dev/null &&
	    grep -Eq "\"$root\"|[^0-9]$((root))[^0-9]" info-json.out; then
		ok "$n: info core.elf --json: JSON naming $root"
	else
		bad "$n: info core.elf --json: exit $rc," \
		    "'$(flat info-json.out)'"
	fi
}

# check_kdump_info C: htable info and dump refuse the flattened f.C
# (pointing to makedumpfile -R); info reads f.C.kdump as diskdump with
# CPU 0 in the built mode at the built root (C is then added to kd_cpu).
# 2 checks.
check_kdump_info() {
	local c=$1 irc line
	if ! has_kdump "$c"; then
		skp "$n: info f.$c (flattened): no f.$c"
		skp "$n: info f.$c.kdump: no f.$c.kdump"
		return
	fi
	ht "flat-info.$c" info "f.$c"
	irc=$rc
	ht "flat-dump.$c" dump "f.$c" --cr3 "$root" --mode "$mode"
	if [ $irc -eq $flat_status ] && [ ! -s "flat-info.$c.out" ] &&
	    grep -q "flattened.*makedumpfile -R" "flat-info.$c.err" &&
	    [ $rc -eq $flat_status ] && [ ! -s "flat-dump.$c.out" ] &&
	    grep -q "flattened.*makedumpfile -R" "flat-dump.$c.err"; then
		ok "$n: info, dump f.$c (flattened): exit $rc," \
		    "'$(head -n 1 "flat-info.$c.err")'"
	else
		bad "$n: info, dump f.$c (flattened): want exit $flat_status," \
		    "no output, 'a flattened makedumpfile file ..." \
		    "makedumpfile -R'; info: exit $irc" \
		    "'$(flat "flat-info.$c.err")'" \
		    "stdout '$(flat "flat-info.$c.out")'; dump: exit $rc" \
		    "'$(flat "flat-dump.$c.err")' stdout" \
		    "'$(flat "flat-dump.$c.out")'"
	fi
	# QEMU's CPU notes, which the sub-header names: the mode from the
	# size of QEMU's NT_PRSTATUS (x86-64 or IA-32), as in the ELF core
	ht "info-kd.$c" info "f.$c.kdump"
	line=$(cpu_line "info-kd.$c.out" 0)
	if [ $rc -eq 0 ] &&
	    grep -Eq '^format .*\(diskdump\)$' "info-kd.$c.out" &&
	    [[ "$line" == "cpu 0 mode=$mode cr3=$root "*" source=qemu-note" ]]
	then
		kd_cpu="$kd_cpu $c"
		ok "$n: info f.$c.kdump: $(grep '^format' "info-kd.$c.out");" \
		    "$line"
	else
		bad "$n: info f.$c.kdump: exit $rc, want" \
		    "'format ...(diskdump)' and 'cpu 0 mode=$mode cr3=$root" \
		    "... source=qemu-note';" \
		    "got '$(flat "info-kd.$c.out")' $(flat "info-kd.$c.err")"
	fi
}

# check_elf_dump: htable dump of core.elf without --cr3/--mode against
# that of raw with them, in each format; an explicit --cr3, an explicit
# --mode wins over the dump's.  6 checks.
check_elf_dump() {
	local fmt cr3 other raw_rc
	for fmt in text json qemu-tlb qemu-mem; do
		ht "raw.$fmt" dump raw --cr3 "$root" --mode "$mode" \
		    --format "$fmt"
		if [ $rc -ne 0 ]; then
			skp "$n: dump --format $fmt: not for $mode (dump raw:" \
			    "exit $rc, $(flat "raw.$fmt.err"))"
			continue
		fi
		ht "elf.$fmt" dump core.elf --format "$fmt"
		if [ $rc -eq 0 ] && cmp -s "raw.$fmt.out" "elf.$fmt.out" &&
		    same_err "raw.$fmt.err" raw "elf.$fmt.err" core.elf; then
			ok "$n: dump core.elf --format $fmt = dump raw" \
			    "--cr3 $root --mode $mode" \
			    "($(wc -l < "raw.$fmt.out") lines)"
		else
			bad "$n: dump core.elf --format $fmt: exit $rc," \
			    "stderr '$(flat "elf.$fmt.err")' (raw's:" \
			    "'$(flat "raw.$fmt.err")');" \
			    "$(differ "raw.$fmt.out" "elf.$fmt.out")"
		fi
	done
	# the first table below the root: the same bytes, another list
	cr3=$(printf '0x%x' $(( (root & ~0xfff) + 0x1000 )))
	ht raw.cr3 dump raw --cr3 "$cr3" --mode "$mode"
	raw_rc=$rc
	ht elf.cr3 dump core.elf --cr3 "$cr3"
	if [ $rc -eq $raw_rc ] && cmp -s raw.cr3.out elf.cr3.out &&
	    ! cmp -s elf.cr3.out elf.text.out; then
		ok "$n: dump core.elf --cr3 $cr3 (explicit wins) = dump raw" \
		    "--cr3 $cr3 --mode $mode (exit $rc)"
	else
		bad "$n: dump core.elf --cr3 $cr3 (explicit wins): exit $rc" \
		    "(raw: $raw_rc), $(differ raw.cr3.out elf.cr3.out)," \
		    "or the same as the dump's own root's"
	fi
	other=$(mode_other "$mode")
	ht raw.mode dump raw --cr3 "$root" --mode "$other"
	raw_rc=$rc
	ht elf.mode dump core.elf --mode "$other"
	if [ $rc -eq $raw_rc ] && cmp -s raw.mode.out elf.mode.out &&
	    ! cmp -s elf.mode.out elf.text.out; then
		ok "$n: dump core.elf --mode $other (explicit wins) = dump" \
		    "raw --cr3 $root --mode $other (exit $rc)"
	else
		bad "$n: dump core.elf --mode $other (explicit wins): exit" \
		    "$rc (raw: $raw_rc), $(differ raw.mode.out elf.mode.out)," \
		    "or the same as in the dump's own mode"
	fi
}

# check_kdump_dump C: htable dump of f.C.kdump with --cr3/--mode against
# that of raw; without them, exit 2 'records no CPU state' (or, when
# info showed a CPU, the same list).  2 checks.
check_kdump_dump() {
	local c=$1 f=f.$1.kdump
	if ! has_kdump "$c"; then
		skp "$n: dump $f --cr3: no $f"
		skp "$n: dump $f without --cr3: no $f"
		return
	fi
	ht "kd.$c" dump "$f" --cr3 "$root" --mode "$mode"
	if [ $rc -eq 0 ] && cmp -s raw.text.out "kd.$c.out"; then
		ok "$n: dump $f --cr3 $root --mode $mode = dump raw"
	else
		bad "$n: dump $f --cr3 $root --mode $mode: exit $rc," \
		    "'$(flat "kd.$c.err")'; $(differ raw.text.out "kd.$c.out")"
	fi
	ht "kd0.$c" dump "$f"
	if [[ " $kd_cpu " == *" $c "* ]]; then
		if [ $rc -eq 0 ] && cmp -s raw.text.out "kd0.$c.out"; then
			ok "$n: dump $f (its own CPU state) = dump raw"
		else
			bad "$n: dump $f (info shows a CPU): exit $rc," \
			    "'$(flat "kd0.$c.err")';" \
			    "$(differ raw.text.out "kd0.$c.out")"
		fi
	elif [ $rc -eq 2 ] && [ ! -s "kd0.$c.out" ] &&
	    grep -q "records no CPU state: give --cr3 and --mode" "kd0.$c.err"
	then
		ok "$n: dump $f without --cr3: exit 2, 'records no CPU state'"
	else
		bad "$n: dump $f without --cr3: want exit 2 and 'the dump" \
		    "records no CPU state: give --cr3 and --mode'; got exit" \
		    "$rc '$(flat "kd0.$c.err")' stdout '$(flat "kd0.$c.out")'"
	fi
}

# check_translate: htable translate of core.elf (no --cr3/--mode) and of
# each f.C.kdump (with them) against that of raw.  1 + 1 per compression
# checks.
check_translate() {
	local vas c raw_rc
	read -r -a vas <<< "$(mode_vas "$mode")"
	ht tr.raw translate raw --cr3 "$root" --mode "$mode" "${vas[@]}"
	raw_rc=$rc
	ht tr.elf translate core.elf "${vas[@]}"
	if [ $raw_rc -eq 0 ] && [ $rc -eq 0 ] && cmp -s tr.raw.out tr.elf.out
	then
		ok "$n: translate core.elf (${#vas[@]} VAs) = translate raw" \
		    "--cr3 $root --mode $mode"
	else
		bad "$n: translate core.elf: exit $rc (raw: $raw_rc)," \
		    "'$(flat tr.elf.err)'; $(differ tr.raw.out tr.elf.out)"
	fi
	for c in $comps; do
		if ! has_kdump "$c"; then
			skp "$n: translate f.$c.kdump: no f.$c.kdump"
			continue
		fi
		ht "tr.kd.$c" translate "f.$c.kdump" --cr3 "$root" \
		    --mode "$mode" "${vas[@]}"
		if [ $rc -eq 0 ] && cmp -s tr.raw.out "tr.kd.$c.out"; then
			ok "$n: translate f.$c.kdump --cr3 --mode =" \
			    "translate raw"
		else
			bad "$n: translate f.$c.kdump: exit $rc," \
			    "'$(flat "tr.kd.$c.err")';" \
			    "$(differ tr.raw.out "tr.kd.$c.out")"
		fi
	done
}

# check_roots: htable roots of core.elf lists the built root.  1 check.
check_roots() {
	local re="^mode=$mode cr3=$root "
	ht roots roots core.elf
	if [ $rc -eq 0 ] && grep -Eq "$re" roots.out; then
		ok "$n: roots core.elf:" \
		    "$(grep -E "$re" roots.out | cut -c 1-50)..."
	else
		bad "$n: roots core.elf: exit $rc, no 'mode=$mode cr3=$root'" \
		    "in '$(flat roots.out)' $(flat roots.err)"
	fi
}

# check_verify: htable verify of core.elf (no --cr3/--mode) and of the
# first kdump file (with them) on QEMU's MMU: the run of the raw image,
# probe for probe (the same summary and exit status).  Every probe agrees
# but in PAE: the memory was saved after the stub ran, and QEMU had set
# the accessed bit in the PDPTE it walked, where that bit is reserved;
# real CPUs fault on it, QEMU does not, in the raw image as in the dumps.
# 2 checks.
check_verify() {
	local c sum kd="" raw_rc
	ht ver.raw verify raw --cr3 "$root" --mode "$mode" --engine qemu
	raw_rc=$rc
	sum=$(grep '^probes=' ver.raw.out)
	ht ver.elf verify core.elf --engine qemu
	if [ $rc -eq $raw_rc ] && [ -n "$sum" ] &&
	    { [ "$mode" = pae ] || [[ $sum == *' disagree=0'* ]]; } &&
	    [ "$(grep '^probes=' ver.elf.out)" = "$sum" ]; then
		ok "$n: verify core.elf on QEMU: $sum"
	else
		bad "$n: verify core.elf: exit $rc, '$(flat ver.elf.out)'" \
		    "$(flat ver.elf.err); raw: '$sum'"
	fi
	for c in $comps; do
		[ -f "f.$c.kdump" ] && { kd=$c; break; }
	done
	if [ -z "$kd" ]; then
		skp "$n: verify of a kdump file: none was made"
		return
	fi
	ht ver.kd verify "f.$kd.kdump" --cr3 "$root" --mode "$mode" \
	    --engine qemu
	if [ $rc -eq $raw_rc ] &&
	    [ "$(grep '^probes=' ver.kd.out)" = "$sum" ]; then
		ok "$n: verify f.$kd.kdump on QEMU: $sum"
	else
		bad "$n: verify f.$kd.kdump: exit $rc, '$(flat ver.kd.out)'" \
		    "$(flat ver.kd.err)"
	fi
}

# run_mode: every check of one mode, in one run of QEMU
run_mode() {
	local c
	check_files || return
	check_info
	kd_cpu=""			# compressions whose kdump shows a CPU
	for c in $comps; do
		check_kdump_info "$c"
	done
	check_elf_dump
	for c in $comps; do
		check_kdump_dump "$c"
	done
	check_translate
	check_verify
	case $mode in
	4level|5level) check_roots ;;
	esac
}

# run_smp: 2 vCPUs; CPU 1 waits for a SIPI with paging off
run_smp() {
	local line raw_rc
	ht info info core.elf
	line=$(cpu_line info.out 1)
	if [ $rc -eq 0 ] && grep -qx 'cpus 2' info.out &&
	    grep -Eq "^cpu 0 mode=$mode cr3=$root .*qemu-note$" info.out &&
	    [[ $line =~ ^cpu\ 1\ mode=none\ cr3=0x[0-9a-f]+\ cr0=0x[0-9a-f]+ ]]; then
		ok "$n: info core.elf: cpus 2; $line"
	else
		bad "$n: info core.elf: exit $rc, want 'cpus 2'," \
		    "'cpu 0 mode=$mode cr3=$root ...', 'cpu 1 mode=none" \
		    "cr0=...'; got '$(flat info.out)' $(flat info.err)"
	fi
	ht raw dump raw --cr3 "$root" --mode "$mode"
	raw_rc=$rc
	ht cpu0 dump core.elf --dump-cpu 0
	if [ $raw_rc -eq 0 ] && [ $rc -eq 0 ] && cmp -s raw.out cpu0.out; then
		ok "$n: dump core.elf --dump-cpu 0 = dump raw --cr3 $root" \
		    "--mode $mode"
	else
		bad "$n: dump core.elf --dump-cpu 0: exit $rc (raw: $raw_rc)," \
		    "'$(flat cpu0.err)'; $(differ raw.out cpu0.out)"
	fi
	ht cpu1 dump core.elf --dump-cpu 1
	if [ $rc -ne 0 ] && [ ! -s cpu1.out ] && [ -s cpu1.err ]; then
		ok "$n: dump core.elf --dump-cpu 1 (paging off): exit $rc," \
		    "'$(head -n 1 cpu1.err)'"
	else
		bad "$n: dump core.elf --dump-cpu 1 (paging off): want a" \
		    "failure; exit $rc, $(wc -l < cpu1.out) lines," \
		    "'$(flat cpu1.err)'"
	fi
	ht cpu1x dump core.elf --dump-cpu 1 --cr3 "$root" --mode "$mode"
	if [ $rc -eq 0 ] && cmp -s raw.out cpu1x.out; then
		ok "$n: dump core.elf --dump-cpu 1 --cr3 $root --mode $mode" \
		    "(explicit wins) = dump raw"
	else
		bad "$n: dump core.elf --dump-cpu 1 --cr3 $root --mode $mode" \
		    "(explicit wins): exit $rc, '$(flat cpu1x.err)';" \
		    "$(differ raw.out cpu1x.out)"
	fi
	ht cpu2 dump core.elf --dump-cpu 2
	if [ $rc -eq 2 ] && [ ! -s cpu2.out ] && [ -s cpu2.err ]; then
		ok "$n: dump core.elf --dump-cpu 2 (no such CPU): exit 2," \
		    "'$(head -n 1 cpu2.err)'"
	else
		bad "$n: dump core.elf --dump-cpu 2 (no such CPU): want exit" \
		    "2; exit $rc, '$(flat cpu2.err)'"
	fi
}

# run NAME MODE NCPU WANT: one run of QEMU in its own directory, and its
# checks; WANT of them, those not made (the run was cut short) failed
run() {
	local before; before=$(checks_done)
	n=$1; mode=$2
	cr4=$(mode_cr4 "$mode"); efer=$(mode_efer "$mode")
	mkdir -p "$work/$n" && cd "$work/$n" || exit 1
	if start_run "$3"; then
		if [ "$3" -eq 1 ]; then run_mode; else run_smp; fi
	fi
	cd "$work" || exit 1
	local did=$(( $(checks_done) - before ))
	if [ "$did" -lt "$4" ]; then
		fail=$((fail + $4 - did))
	elif [ "$did" -gt "$4" ]; then
		echo "[NOTE] $n: $did checks, planned $4"
	fi
}

t0=$SECONDS
for m in $modes; do
	run "$m" "$m" 1 "$(mode_checks "$m")"
done
run smp-4level 4level 2 "$smp_checks"
echo "[NOTE] $((SECONDS - t0)) s, $("$qemu" --version | head -n 1)"

finish
