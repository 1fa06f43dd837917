#!/usr/bin/env bash
# End-to-end tests of htable on dump files (issue 15): valid ELF cores
# and kdump-compressed files (their pages as they are or compressed
# with zlib, LZO, snappy, zstd) that mkcore makes from raw images htable
# built (in every mode, one or two CPUs, sparse, 1 GiB) must read as the
# raw image does; hostile ones (segments past the end of the file,
# overlapping, claiming terabytes; notes too short, too long or past
# their segment; no memory; absurd program-header counts; a kdump header
# claiming 2^40 pages; compressed pages that do not decompress or claim
# two blocks; the flattened format; garbage after a dump magic;
# every cut of a valid core; random byte changes) must get a warning or
# a clear error, never a crash, a hang or unbounded memory.  Linux dumps
# (no QEMU note, a VMCOREINFO note naming the kernel's root table) must
# give CPU 0 from VMCOREINFO, in 4- and 5-level paging, ELF and kdump;
# a VMCOREINFO that lies must not crash or hang either.  Every
# command that reads an image (info, dump, translate, roots) runs on
# each file under `ulimit -v` 1 GiB and `timeout 20`.  Exit statuses:
# 0 (with "warning" on stderr where part of the dump is missing or
# lies), 2 without CPU state and without --cr3, 3 for a dump that cannot
# be read (a message "htable...: FILE: ..."), and nothing on stdout then.
# Prints a line per failed check (HT_VERBOSE=1: per check) and ends with
# a Criterion-style synthesis line.
#   usage: test_dumpfiles.sh HTABLE EXAMPLES_DIR MKCORE
set -u
htable=$1
examples=$2
mkcore=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

ERR=1			# EXIT_IO: a dump it cannot read (the design said 3)
mem_kb=1048576		# ulimit -v of every run on a dump file
secs=20			# and its timeout
vas="0xffffffff81000000 0x400000 0x610000"	# kernel text, user, guard
kcr3=0x100000

good() { [ -z "${HT_VERBOSE:-}" ] || echo "[PASS] $1" >&2; ok; }
skip() { echo "[SKIP] $*" >&2; }

# bounded ARGS...: run htable ARGS with the limits; $rc, out, err
bounded() {
	( ulimit -v "$mem_kb" && exec timeout "$secs" "$htable" "$@" ) \
	    >"$work/out" 2>"$work/err"
	rc=$?
}

# warned FILE: a line of stderr names FILE and is a warning
warned() {
	grep -F -- "$1" "$work/err" | grep -qi warning
}

# errline FILE: an error line "htable[ CMD]: ...FILE..." (not a warning)
errline() {
	grep -vi warning "$work/err" | grep -E '^htable( [a-z]+)?: ' |
	    grep -qF -- "$1"
}

# check NAME FILE WANT REF RE ARGS...: run htable ARGS on FILE bounded.
# WANT: the outcomes allowed, any of
#   0q  exit 0, nothing on stderr
#   0w  exit 0, a warning naming FILE (or, translate, its walk's own
#       "read as zero" note)
#   0   exit 0
#   2   exit 2, a message from htable
#   2w  exit 2, and a warning naming FILE
#   3   exit $ERR, an error message "htable[ CMD]: ...FILE..."
# Never a timeout or a signal; nothing on stdout when it fails; at most 50
# lines on stderr; a failure's stderr matches RE (if not ""); a success
# prints what REF holds (if not "").
check() {
	local name=$1 file=$2 want=$3 ref=$4 re=$5 t m=""
	shift 5
	bounded "$@"
	if [ $rc -eq 124 ]; then
		bad "$name: no answer in ${secs}s"
		return 1
	elif [ $rc -ge 128 ]; then
		bad "$name: killed by signal $((rc - 128))" \
		    "($(tail -n 1 "$work/err"))"
		return 1
	fi
	for t in $want; do
		case $t in
		0q)	[ $rc -eq 0 ] && [ ! -s "$work/err" ] && m=$t ;;
		0w)	[ $rc -eq 0 ] && { warned "$file" ||
			    grep -q 'read as zero' "$work/out"; } && m=$t ;;
		0)	[ $rc -eq 0 ] && m=$t ;;
		2)	[ $rc -eq 2 ] && grep -q '^htable' "$work/err" &&
			    m=$t ;;
		2w)	[ $rc -eq 2 ] && warned "$file" && m=$t ;;
		3)	[ $rc -eq $ERR ] && errline "$file" && m=$t ;;
		esac
		[ -z "$m" ] || break
	done
	if [ -z "$m" ]; then
		bad "$name: exit $rc, want one of '$want'" \
		    "(0q: no stderr, 0w: a warning naming the file);" \
		    "stderr: $(head -c 300 "$work/err" | tr '\n' '|')"
		return 1
	fi
	if [ $rc -ne 0 ] && [ -s "$work/out" ]; then
		bad "$name: exit $rc, yet stdout: $(head -c 100 "$work/out")"
		return 1
	fi
	if [ $rc -ne 0 ] && [ -n "$re" ] && ! grep -Eq -- "$re" "$work/err"
	then
		bad "$name: stderr lacks /$re/: $(head -c 300 "$work/err")"
		return 1
	fi
	if [ "$(wc -l <"$work/err")" -gt 50 ]; then
		bad "$name: $(wc -l <"$work/err") lines on stderr:" \
		    "$(head -n 2 "$work/err" | tr '\n' '|')"
		return 1
	fi
	if [ $rc -eq 0 ] && [ -n "$ref" ] && ! cmp -s "$work/out" "$ref"
	then
		bad "$name: not what the raw image gives:" \
		    "$(diff "$ref" "$work/out" | head -n 4 | tr '\n' '|')"
		return 1
	fi
	good "$name"
	return 0
}

# has NAME REGEX: the last output has a line matching REGEX
has() {
	grep -Eq -- "$2" "$work/out" && good "$1" ||
	    bad "$1: no line /$2/ in: $(head -n 6 "$work/out" | tr '\n' '|')"
}

# battery NAME FILE INFO AUTO EXPL EQ [RE [ROOTS]]: every command on
# FILE, a dump of k.img (4-level, root $kcr3): info; dump and translate
# with the dump's CPU state (AUTO) and with --cr3 --mode (EXPL); roots
# --mode (ROOTS, default EXPL).  EQ: what prints what it prints on k.img
# when it succeeds: a = dump and translate without --cr3, d = with it,
# r = roots.  RE: what a failure says.
battery() {
	local n=$1 f=$2 info=$3 auto=$4 expl=$5 eq=$6 re=${7:-}
	local roots=${8:-$5}
	local ad="" at="" rd="" rt="" rr=""
	case $eq in *a*) ad=$work/ref.dump; at=$work/ref.tr ;; esac
	case $eq in *d*) rd=$work/ref.dump; rt=$work/ref.tr ;; esac
	case $eq in *r*) rr=$work/ref.roots ;; esac
	check "$n: info" "$f" "$info" "" "$re" info "$f"
	check "$n: dump" "$f" "$auto" "$ad" "$re" dump "$f"
	check "$n: dump --cr3" "$f" "$expl" "$rd" "$re" \
	    dump "$f" --cr3 $kcr3 --mode 4level
	check "$n: translate" "$f" "$auto" "$at" "$re" translate "$f" $vas
	check "$n: translate --cr3" "$f" "$expl" "$rt" "$re" \
	    translate "$f" --cr3 $kcr3 --mode 4level $vas
	check "$n: roots" "$f" "$roots" "$rr" "$re" roots "$f" --mode 4level
}

# mk KIND NAME [ARGS...]: mkcore KIND $work/NAME ARGS
mk() {
	local kind=$1 name=$2
	shift 2
	"$mkcore" "$kind" "$work/$name" "$@" || bad "mkcore $kind $name"
}

# --- the command takes dump files ---
"$htable" info --help 2>&1 | grep -q 'usage: htable info' && ok ||
    bad "info --help"
"$htable" --help | grep -q '^ *info ' && ok || bad "--help lists info"
"$htable" dump --help 2>&1 | grep -q -- '--dump-cpu' && ok ||
    bad "dump --help names --dump-cpu"
if ! ( ulimit -v "$mem_kb" && "$htable" --help ) >/dev/null 2>&1; then
	skip "htable does not run under ulimit -v $mem_kb (sanitizers?):" \
	    "memory unbounded"
	mem_kb=unlimited
fi

# --- the raw images and what htable reads from them ---
"$htable" build "$examples/kernel-4level.spec" -o "$work/k.img" \
    >/dev/null || bad "build kernel-4level"
"$htable" build "$examples/la57-5level.spec" -o "$work/l.img" \
    >/dev/null || bad "build la57-5level"
"$htable" build "$examples/pae.spec" -o "$work/p.img" >/dev/null ||
    bad "build pae"
"$htable" build "$examples/flat-32bit.spec" -o "$work/f.img" \
    >/dev/null || bad "build flat-32bit"
"$htable" build "$(dirname "$0")/multi.spec" -o "$work/m.img" \
    >/dev/null || bad "build multi"
K=$work/k.img
"$htable" dump "$K" --cr3 $kcr3 --mode 4level >"$work/ref.dump"
"$htable" translate "$K" --cr3 $kcr3 --mode 4level $vas >"$work/ref.tr"
"$htable" roots "$K" --mode 4level >"$work/ref.roots"
[ -s "$work/ref.dump" ] && [ -s "$work/ref.tr" ] && ok ||
    bad "raw k.img dumps nothing"
check "raw k.img under the limits" "$K" "0q" "$work/ref.dump" "" \
    dump "$K" --cr3 $kcr3 --mode 4level

# ref NAME ARGS...: $work/NAME = what htable ARGS prints (unbounded)
ref() {
	local name=$1
	shift
	"$htable" "$@" >"$work/$name" 2>/dev/null
}

# ====================== valid dumps ======================

# --- an ELF core as QEMU writes it: one CPU, 4-level ---
mk elf e.core "$K"
E=$work/e.core
battery "elf" "$E" "0q" "0q" "0q" adr
check "elf: info" "$E" "0q" "" "" info "$E"
has "elf: info image" "^image $E\$"
has "elf: info format" '^format ELF64 dump \(elf\)$'
has "elf: info pages" '^pages 267 in 1 runs?, up to 0x10b000$'
has "elf: info cpus" '^cpus 1$'
has "elf: info cpu 0" \
    '^cpu 0 mode=4level cr3=0x100000 cr0=0x80000011 cr4=0x20 source=qemu-note$'
check "elf: info --json" "$E" "0q" "" "" info "$E" --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/out" \
    2>/dev/null && ok || bad "elf: info --json: $(head -c 200 "$work/out")"
ref dj.ref dump "$K" --cr3 $kcr3 --mode 4level --format json
check "elf: dump --format json" "$E" "0q" "$work/dj.ref" "" \
    dump "$E" --format json
ref dt.ref dump "$K" --cr3 $kcr3 --mode 4level --format tables
check "elf: dump --format tables" "$E" "0q" "$work/dt.ref" "" \
    dump "$E" --format tables
check "elf: --dump-cpu 0" "$E" "0q" "$work/ref.dump" "" \
    dump "$E" --dump-cpu 0
check "elf: --dump-cpu 1 of 1" "$E" "2" "" "" dump "$E" --dump-cpu 1

# --- sparse: a PT_LOAD per run of non-zero pages, the rest absent ---
cp "$K" "$work/k2.img"
put64 "$work/k2.img" 0x5000 0x1234	# a second run: page 5
"$htable" dump "$work/k2.img" --cr3 $kcr3 --mode 4level | cmp -s - \
    "$work/ref.dump" && ok || bad "k2.img dumps as k.img"
mk elf s.core "$work/k2.img" --sparse
battery "sparse elf" "$work/s.core" "0q" "0q" "0q" ad
check "sparse elf: info" "$work/s.core" "0q" "" "" info "$work/s.core"
has "sparse elf: info pages" '^pages 12 in 2 runs, up to 0x10b000$'

# --- 1 GiB of RAM (a hole in the file): bounded memory and time ---
mk elf big.core "$K" --pad 0x40000000
battery "1 GiB elf" "$work/big.core" "0q" "0q" "0q" ad
check "1 GiB elf: info" "$work/big.core" "0q" "" "" info "$work/big.core"
has "1 GiB elf: info pages" '^pages 262411 in 1 runs?, up to 0x4010b000$'

# --- other modes: 5-level (LA57), PAE and 32-bit in ELF32 and in ELF64
#     with EM_386 (QEMU's choice for a 32-bit guest whose memory reaches
#     4 GiB, as its BIOS does) ---
# mode_case NAME RAW MODE CR4 VA KIND [ARGS...]: the core mkcore KIND
# makes of RAW has its mode in the notes; its dump and translate equal
# the raw image's
mode_case() {
	local n=$1 raw=$2 mode=$3 cr4=$4 va=$5
	shift 5
	mk "$1" mc.core "$raw" "${@:2}"
	check "$n: info" "$work/mc.core" "0q" "" "" info "$work/mc.core"
	has "$n: info cpu 0" \
	    "^cpu 0 mode=$mode cr3=0x100000 cr0=0x80000011 cr4=$cr4 "
	ref mc.dump dump "$raw" --cr3 $kcr3 --mode $mode
	ref mc.tr translate "$raw" --cr3 $kcr3 --mode $mode $va
	check "$n: dump" "$work/mc.core" "0q" "$work/mc.dump" "" \
	    dump "$work/mc.core"
	check "$n: translate" "$work/mc.core" "0q" "$work/mc.tr" "" \
	    translate "$work/mc.core" $va
}
mode_case "la57 elf" "$work/l.img" 5level 0x1020 0xff11000000000000 \
    elf --la57
mode_case "elf32 pae" "$work/p.img" pae 0x20 0xc0000000 elf32
mode_case "elf32 32bit" "$work/f.img" 32bit 0x10 0xc0000000 \
    elf32 --cr4 0x10
mode_case "elf64 EM_386 pae" "$work/p.img" pae 0x20 0xc0000000 \
    elf --machine 386
mode_case "elf64 EM_386 32bit" "$work/f.img" 32bit 0x0 0xc0000000 \
    elf --machine 386 --cr4 0
# kdump files of a 32-bit machine: the header in its layout (fields 12
# bytes earlier, a packed 32-bit sub-header), IA-32 NT_PRSTATUS notes
mode_case "kdump32 pae" "$work/p.img" pae 0x20 0xc0000000 \
    kdump --hdr32 --machine 386
mode_case "kdump32 32bit" "$work/f.img" 32bit 0x0 0xc0000000 \
    kdump --hdr32 --machine 386 --cr4 0

# --- two CPUs, the second on a PCID root; what the options choose ---
M=$work/mc2.core
mk elf mc2.core "$work/m.img" --cr3 0x100000 --cr3 0x113003 --cr4 0x20020
check "2 cpus: info" "$M" "0q" "" "" info "$M"
has "2 cpus: cpus" '^cpus 2$'
has "2 cpus: cpu 1" \
    '^cpu 1 mode=4level cr3=0x113003 cr0=0x80000011 cr4=0x20020 '
ref m0.ref dump "$work/m.img" --cr3 0x100000 --mode 4level
ref m1.ref dump "$work/m.img" --cr3 0x113003 --mode 4level
ref m6.ref dump "$work/m.img" --cr3 0x106000 --mode 4level
ref m5.ref dump "$work/m.img" --cr3 0x100000 --mode 5level
check "2 cpus: dump (cpu 0)" "$M" "0q" "$work/m0.ref" "" dump "$M"
check "2 cpus: --dump-cpu 1" "$M" "0q" "$work/m1.ref" "" \
    dump "$M" --dump-cpu 1
check "2 cpus: --dump-cpu 2" "$M" "2" "" "" dump "$M" --dump-cpu 2
check "2 cpus: --cr3 wins" "$M" "0q" "$work/m6.ref" "" \
    dump "$M" --cr3 0x106000
check "2 cpus: --mode wins" "$M" "0" "$work/m5.ref" "" \
    dump "$M" --mode 5level

# --- CPU state that gives no root: paging off; no QEMU note ---
mk elf off.core "$K" --cr0 0x11
check "paging off: info" "$work/off.core" "0q" "" "" info "$work/off.core"
has "paging off: mode=none" '^cpu 0 mode=none( cr3=0x100000)? cr0=0x11 '
check "paging off: dump" "$work/off.core" "2" "" "" dump "$work/off.core"
check "paging off: dump --cr3" "$work/off.core" "0q" "$work/ref.dump" "" \
    dump "$work/off.core" --cr3 $kcr3 --mode 4level
for v in "--no-qemu" "--no-qemu --no-prstatus"; do
	mk elf nq.core "$K" $v
	battery "elf $v" "$work/nq.core" "0q" "2" "0q" dr \
	    'no CPU state: give --cr3 and --mode \(htable roots '
done
check "elf --no-qemu: info" "$work/nq.core" "0q" "" "" info "$work/nq.core"
has "elf --no-qemu: cpus 0" '^cpus 0$'

# --- kdump-compressed (as QEMU -z/-l/-s after makedumpfile -R) ---
mk kdump kd.core "$K"
battery "kdump" "$work/kd.core" "0q" "0q 2" "0q" adr
check "kdump: info" "$work/kd.core" "0q" "" "" info "$work/kd.core"
has "kdump: info format" '^format Compressed KDUMP \(diskdump\)$'
has "kdump: info pages" '^pages 267 in 1 runs?, up to 0x10b000$'
mk kdump kds.core "$work/k2.img" --sparse
battery "sparse kdump" "$work/kds.core" "0q" "0q 2" "0q" ad
# its QEMU notes give CPU 0, long mode told by the size of NT_PRSTATUS
# (x86-64's): the dump needs no --cr3 or --mode.  (An IA-32 one in a
# header naming x86_64 libkdumpfile refuses; QEMU's own 32-bit and PAE
# kdump files, tests/qemu/test_dumps.sh, read as pae and 32bit.)
check "kdump: info again" "$work/kd.core" "0q" "" "" info "$work/kd.core"
has "kdump: info cpu 0 from its notes" \
    "^cpu 0 mode=4level cr3=$kcr3 cr0=0x[0-9a-f]+ cr4=0x20 source=qemu-note\$"
check "kdump: dump, its own CPU state" "$work/kd.core" "0q" \
    "$work/ref.dump" "" dump "$work/kd.core"
# no NT_PRSTATUS and CS.L clear: PAE or long mode, the dump cannot say;
# info says both, dump asks for --mode, and takes it
mk kdump kdn.core "$K" --no-prstatus
check "kdump, no NT_PRSTATUS: info" "$work/kdn.core" "0q" "" "" \
    info "$work/kdn.core"
has "kdump, no NT_PRSTATUS: info cpu 0 pae|4level" \
    "^cpu 0 mode=pae\\|4level cr3=$kcr3 "
check "kdump, no NT_PRSTATUS: dump without --mode" "$work/kdn.core" "2" \
    "" "" dump "$work/kdn.core"
grep -q 'does not say which: give --mode pae or --mode 4level' \
    "$work/err" && good "kdump, no NT_PRSTATUS: dump asks for --mode" ||
    bad "kdump, no NT_PRSTATUS: dump: no 'give --mode' in" \
	"$(head -c 300 "$work/err")"
check "kdump, no NT_PRSTATUS: dump --mode 4level" "$work/kdn.core" "0q" \
    "$work/ref.dump" "" dump "$work/kdn.core" --mode 4level
check "kdump, no NT_PRSTATUS: dump --all-roots (pae and 4level)" \
    "$work/kdn.core" "0q" "" "" dump "$work/kdn.core" --all-roots
has "kdump, no NT_PRSTATUS: --all-roots finds the 4-level root" \
    "^root cr3=$kcr3\$"

# --- kdump-compressed with compressed pages: zlib, LZO, snappy, zstd
#     (makedumpfile -c, -l, -p, -z; QEMU -z, -l, -s), whose pages of
#     zeros share one uncompressed block as QEMU writes them: they read
#     as the uncompressed file does.  info names the format, not the
#     compression (libkdumpfile 0.5.1 has no attribute for it) ---
zmethods="zlib lzo snappy zstd"
declare -A zflag=([zlib]=1 [lzo]=2 [snappy]=4 [zstd]=32)
for z in $zmethods; do
	mk kdump kz.core "$K" --compress $z
	# the header's status (byte 424) and the root page's descriptor
	# (page 0x100 of those from 16384) say the compression
	[ "$(od -An -tu4 -j424 -N4 "$work/kz.core" | tr -d ' ')" = \
	    "${zflag[$z]}" ] &&
	    [ "$(od -An -tu4 -j$((16384 + 0x100 * 24 + 12)) -N4 \
	    "$work/kz.core" | tr -d ' ')" = "${zflag[$z]}" ] && ok ||
	    bad "kdump $z: mkcore wrote no $z page"
	[ "$(stat -c %s "$work/kz.core")" -lt 100000 ] && ok ||
	    bad "kdump $z: $(stat -c %s "$work/kz.core") bytes, not compressed"
	battery "kdump $z" "$work/kz.core" "0q" "0q 2" "0q" adr
	check "kdump $z: info" "$work/kz.core" "0q" "" "" \
	    info "$work/kz.core"
	has "kdump $z: info format" '^format Compressed KDUMP \(diskdump\)$'
	has "kdump $z: info pages" '^pages 267 in 1 runs?, up to 0x10b000$'
	mk kdump kz.core "$work/k2.img" --sparse --compress $z
	battery "sparse kdump $z" "$work/kz.core" "0q" "0q 2" "0q" ad
	check "sparse kdump $z: info" "$work/kz.core" "0q" "" "" \
	    info "$work/kz.core"
	has "sparse kdump $z: info pages" '^pages 12 in 2 runs, up to 0x10b000$'
done

# ====================== hostile dumps ======================
# (in the comments: what libkdumpfile 0.5.1 does with them)

# a segment past the end of the file (mmap: SIGBUS when read)
mk trunc-seg ts.core "$K"
battery "segment past EOF" "$work/ts.core" "0w" "0w" "0w" ad
# two PT_LOADs on [64, 128 KiB), different bytes (its page map of the
# file loops: find_clear returns where find_set started)
mk overlap ov.core "$K"
battery "overlapping segments" "$work/ov.core" "0w" "0w" "0w" ad
# overlapping segments of the same bytes (the kernel image in Linux's
# /proc/vmcore): compared, nothing to say
mk overlap-same os.core "$K"
battery "overlapping segments, the same bytes" "$work/os.core" "0q" "0q" \
    "0q" adr
# p_memsz 16 TiB; a PT_LOAD at 0xffffffffff000000 of 1 TiB (wraps)
mk huge-memsz hm.core "$K"
battery "p_memsz 16 TiB" "$work/hm.core" "0 3" "0 3" "0 3" ad
mk huge-paddr hp.core "$K"
battery "p_paddr+p_memsz wraps" "$work/hp.core" "0 3" "0 3" "0 3" ad
# a QEMU note of 100 bytes (the rest of a valid state follows it in the
# file: a reader that trusts the state's size field finds CR3 there)
mk note-short ns.core "$K"
battery "QEMU note short" "$work/ns.core" "0 3" "2 3" "0 3" ad
check "QEMU note short: info" "$work/ns.core" "0 3" "" "" \
    info "$work/ns.core"
if [ $rc -eq 0 ] && grep -q 'cr3=0x100000' "$work/out"; then
	bad "QEMU note short: info reads CR3 beyond the note:" \
	    "$(grep cr3= "$work/out")"
else
	ok
fi
# descsz 0xffffffff; namesz past the segment; PT_NOTE of 1 TiB
mk note-absurd na.core "$K"
battery "QEMU note descsz 2^32-1" "$work/na.core" "0 3" "2 3 0w" "0 3" ad
mk note-namesz nn.core "$K"
battery "note namesz past segment" "$work/nn.core" "0 3" "2 3 0w" "0 3" ad
mk note-huge nh.core "$K"
battery "PT_NOTE of 1 TiB" "$work/nh.core" "3" "3" "3" ""
# no PT_LOAD ("No content found")
mk noload nl.core "$K"
battery "no PT_LOAD" "$work/nl.core" "0w 3" "0w 3" "0w 3" "" "" "0 3"
# CR3 beyond the dump: the root reads as zeros, with a warning
mk elf cb.core "$K" --cr3 0x7fff000000
battery "CR3 beyond the dump" "$work/cb.core" "0q" "0w" "0q" dr
check "CR3 beyond the dump: info" "$work/cb.core" "0q" "" "" \
    info "$work/cb.core"
has "CR3 beyond the dump: info cpu" '^cpu 0 mode=4level cr3=0x7fff000000 '
# e_phnum PN_XNUM in a short file; PN_XNUM and sh_info 2^32-1 (it asks
# for 320 GiB of program headers)
mk phnum ph.core
battery "e_phnum 65535" "$work/ph.core" "3" "3" "3" ""
mk phnum-xnum px.core
battery "e_phnum from sh_info 2^32-1" "$work/px.core" "3" "3" "3" ""
# kdump headers: a 4 GiB bitmap past the end of the file; 2^40 pages
# with a one-block bitmap; 2^31-1 CPUs (its kdump_free crashes after the
# first two fail to open)
mk diskdump-huge dd1.core
battery "kdump bitmap past EOF" "$work/dd1.core" "3" "3" "3" ""
mk diskdump-huge dd2.core --bitmap-blocks 1
battery "kdump 2^40 pages" "$work/dd2.core" "3" "3" "3" ""
mk diskdump-huge dd3.core --bitmap-blocks 1 --max-mapnr 100 --nr-cpus 0x7fffffff
battery "kdump 2^31-1 cpus" "$work/dd3.core" "0 3" "2 3" "0w 3" "" "" \
    "0 3"
# page descriptors that point 1 PiB past the end (it reads zeros)
mk kdump-baddesc kb.core "$K"
battery "kdump descriptors past EOF" "$work/kb.core" "0 0w 3" "2 0w 3" \
    "0w 3" ""

# zbad1 NAME FILE REF ARGS...: htable ARGS on FILE, whose compressed
# pages are damaged, exits 0 with a warning naming FILE or fails
# cleanly; exit 0 without a word must print what REF holds (no silent
# garbage)
zbad1() {
	local n=$1 f=$2 r=$3
	shift 3
	check "$n" "$f" "0w 0q 3" "" "" "$@" || return
	if [ $rc -eq 0 ] && [ ! -s "$work/err" ]; then
		cmp -s "$work/out" "$r" && ok ||
		    bad "$n: no warning, yet not what the raw image gives:" \
		    "$(diff "$r" "$work/out" | head -n 4 | tr '\n' '|')"
	fi
}
# zbad NAME FILE [INFO]: info (INFO: its codes, default 0q 3), and dump,
# translate (with --cr3 --mode) and roots on FILE, a damaged dump of k.img
zbad() {
	local n=$1 f=$2
	check "$n: info" "$f" "${3:-0q 3}" "" "" info "$f"
	zbad1 "$n: dump" "$f" "$work/ref.dump" \
	    dump "$f" --cr3 $kcr3 --mode 4level
	zbad1 "$n: translate" "$f" "$work/ref.tr" \
	    translate "$f" --cr3 $kcr3 --mode 4level $vas
	zbad1 "$n: roots" "$f" "$work/ref.roots" roots "$f" --mode 4level
}
# compressed pages whose data have every byte inverted (each method's
# header or first token is then wrong: the decompressor fails), and
# whose descriptors claim two blocks of data (the next pages' follow).
# libkdumpfile 0.5.1 reads a compressed page's data into a buffer of one
# block whatever the descriptor's size says (a heap overflow: ASan stops
# it; else its file cache breaks, "Cache is fully utilized", and roots
# spins for minutes): htable never hands it such a page (dump.c's
# kdump_check), which reads as zeros, with a warning.
for z in $zmethods; do
	mk kdump-flip kf.core "$K" --compress $z
	zbad "kdump $z, data inverted" "$work/kf.core"
	mk kdump-oversize ko.core "$K" --compress $z
	zbad "kdump $z, descriptors of two blocks" "$work/ko.core" 0w
	grep -q 'descriptors claim more compressed bytes than a block' \
	    "$work/err" && good "kdump $z, descriptors of two blocks: the" \
	    "warning says so" || bad "kdump $z, descriptors of two blocks:" \
	    "no warning of them in: $(head -c 300 "$work/err")"

done

# the flattened format: refused, saying how to reassemble it
mk flat fl.core
battery "flattened" "$work/fl.core" \
    "3" "3" "3" "" "flattened makedumpfile.*makedumpfile -R "

# a dump magic, then 8 KiB of (seeded) random bytes
for magic in ELF KDUMP DISKDUMP; do
	python3 - "$work/g.core" "$magic" <<'PY'
import random, sys
m = {'ELF': b'\x7fELF', 'KDUMP': b'KDUMP   ', 'DISKDUMP': b'DISKDUMP'}
r = random.Random(15)
open(sys.argv[1], 'wb').write(m[sys.argv[2]] +
    bytes(r.randrange(256) for _ in range(8192)))
PY
	battery "$magic magic + garbage" "$work/g.core" "3" "3" "3" ""
done

# --- every cut of the valid ELF core ---
# e.core: ELF header 64, 2 program headers to 176, CORE note to 532,
# QEMU note (CR3 at 968) to 992, then k.img's 0x10b000 bytes (its tables
# from 992 + 0x100000)
esz=$(stat -c %s "$E")
for cut in 0 1 3 4 16 63 64 100 175 176 300 600 980 991 992 5088 \
    $((992 + 0x100000)) $((992 + 0x100800)) $((esz - 1)); do
	head -c $cut "$E" >"$work/c.core"
	if [ $cut -lt 4 ]; then		# no magic: a raw image
		check "elf cut at $cut: info" "$work/c.core" "0" "" "" \
		    info "$work/c.core"
		check "elf cut at $cut: dump" "$work/c.core" "2" "" "" \
		    dump "$work/c.core"
		check "elf cut at $cut: dump --cr3" "$work/c.core" "0w" "" "" \
		    dump "$work/c.core" --cr3 $kcr3 --mode 4level
		check "elf cut at $cut: roots" "$work/c.core" "0" "" "" \
		    roots "$work/c.core" --mode 4level
	elif [ $cut -lt 120 ]; then	# ELF header, PT_NOTE's header cut
		battery "elf cut at $cut" "$work/c.core" "3" "3" "3" ""
	elif [ $cut -lt 984 ]; then	# PT_LOAD's header, notes to CR4 cut
		battery "elf cut at $cut" "$work/c.core" "0w 3" "2w 3" "0w 3" ""
	elif [ $cut -lt 992 ]; then	# the note's last field cut
		battery "elf cut at $cut" "$work/c.core" "0w 3" "2w 0w 3" \
		    "0w 3" ""
	else				# memory cut
		battery "elf cut at $cut" "$work/c.core" "0w" "0w" "0w" ""
		if [ $cut -le $((992 + 0x100000)) ]; then
			check "elf cut at $cut: no tables, no mappings" \
			    "$work/c.core" "0w" /dev/null "" \
			    dump "$work/c.core"
		fi
	fi
done

# --- every cut of the valid kdump file (never a silent zero page) ---
# kd.core: header 464 bytes in block 0, sub-header and notes in block 1,
# bitmaps in blocks 2-3, page descriptors (24 bytes each) from 16384,
# the pages from 22792 (the tables from 22792 + 0x100000)
ksz=$(stat -c %s "$work/kd.core")
for cut in 8 100 463 464 4096 4200 8192 10000 16384 20000 22792 \
    $((22792 + 0x100000)) $((22792 + 0x100800)) $((ksz - 1)); do
	head -c $cut "$work/kd.core" >"$work/c.core"
	if [ $cut -lt 464 ]; then
		battery "kdump cut at $cut" "$work/c.core" "3" "3" "3" ""
	else
		battery "kdump cut at $cut" "$work/c.core" "0w 3" "2 0w 3" \
		    "0w 3" ""
	fi
done

# --- random byte changes in the headers of both (seeded) ---
python3 - "$E" "$work/kd.core" "$work/mut" <<'PY'
import os, random, sys
r = random.Random(1515)
os.mkdir(sys.argv[3])
for src, tag, span in ((sys.argv[1], 'e', 992), (sys.argv[2], 'k', 22792)):
    data = open(src, 'rb').read()
    for i in range(40):
        b = bytearray(data)
        for _ in range(r.randrange(1, 5)):
            b[r.randrange(span)] = r.randrange(256)
        open('%s/%s%02d' % (sys.argv[3], tag, i), 'wb').write(b)
PY
for f in "$work"/mut/*; do
	check "mutant $(basename "$f"): info" "$f" "0 2 3" "" "" info "$f"
	check "mutant $(basename "$f"): dump" "$f" "0 2 3" "" "" dump "$f"
done

# ====================== Linux dumps: VMCOREINFO ======================
# A Linux dump (/proc/vmcore, makedumpfile) has no QEMU note: the kernel's
# root table comes from its VMCOREINFO, through libaddrxlat, as CPU 0
# with source=vmcoreinfo.  libaddrxlat 0.5.1 needs the OS type "linux",
# a root symbol (init_top_pgt; init_level4_pgt before 4.13), the kernel
# text offset (NUMBER(phys_base), or a kdump sub-header's phys_base) and
# the paging depth (NUMBER(pgtable_l5_enabled), else SYMBOL(_stext) or a
# release before 4.13 says 4-level).  The images are kernels as Linux
# lays them out: text at __START_KERNEL_map (0xffffffff80000000) + phys_
# base (16 MiB), the root table inside the kernel's physical image.
lx4=$work/lx4.spec lx5=$work/lx5.spec
printf '%s\n' 'mode 4level' 'pool 0x1200000 1m' \
    'map 0xffffffff80000000 0x1000000 32m x g' \
    'map 0xffff888000000000 0 4g w g' 'map 0x400000 0x20000000 20k u x' \
    >"$lx4"
printf '%s\n' 'mode 5level' 'pool 0x1200000 1m' \
    'map 0xffffffff80000000 0x1000000 32m x g' \
    'map 0xff11000000000000 0 4g w g' 'map 0x1000 0x2000000 16k u x' \
    >"$lx5"
"$htable" build "$lx4" -o "$work/lx4.img" >/dev/null || bad "build lx4"
"$htable" build "$lx5" -o "$work/lx5.img" >/dev/null || bad "build lx5"
lroot=0x1200000			# the first frame of the pool: the root
lsym=ffffffff80200000		# its kernel-text address: init_top_pgt
lx4vas="0xffffffff80201000 0x400000 0xffff888000001000 0x404000"
lx5vas="0xffffffff80001000 0x1000 0xff11000000001000 0x5000"
"$htable" roots "$work/lx4.img" --mode 4level 2>/dev/null |
    grep -q "^mode=4level cr3=$lroot " && ok || bad "lx4.img: root $lroot"
"$htable" roots "$work/lx5.img" --mode 5level 2>/dev/null |
    grep -q "^mode=5level cr3=$lroot " && ok || bad "lx5.img: root $lroot"

# vmci L5 [LINE...]: the --vmcoreinfo options of a 6.1 kernel whose
# pgtable_l5_enabled is L5, then LINEs
vmci() {
	local l5=$1 l
	shift
	vi=(--vmcoreinfo OSRELEASE=6.1.0 --vmcoreinfo PAGESIZE=4096
	    --vmcoreinfo "SYMBOL(init_top_pgt)=$lsym"
	    --vmcoreinfo 'SYMBOL(_stext)=ffffffff80000000'
	    --vmcoreinfo 'NUMBER(phys_base)=16777216'
	    --vmcoreinfo "NUMBER(pgtable_l5_enabled)=$l5"
	    --vmcoreinfo KERNELOFFSET=0
	    --vmcoreinfo 'NUMBER(KERNEL_IMAGE_SIZE)=1073741824')
	for l in "$@"; do
		vi+=(--vmcoreinfo "$l")
	done
}

# linux_case NAME FILE RAW MODE VAS: FILE, a dump of RAW with VMCOREINFO
# and no QEMU note, names CPU 0 (mode MODE, root $lroot) from VMCOREINFO;
# dump and translate without --cr3/--mode print what RAW gives with them
linux_case() {
	local n=$1 f=$2 raw=$3 mode=$4 vas=$5
	ref lx.dump dump "$raw" --cr3 $lroot --mode $mode
	ref lx.tab dump "$raw" --cr3 $lroot --mode $mode --format tables
	ref lx.tr translate "$raw" --cr3 $lroot --mode $mode $vas
	[ -s "$work/lx.dump" ] && [ -s "$work/lx.tr" ] && ok ||
	    bad "$n: the raw image dumps nothing"
	check "$n: info" "$f" "0q" "" "" info "$f"
	has "$n: info cpus 1" '^cpus 1$'
	has "$n: info cpu 0 from vmcoreinfo" \
	    "^cpu 0 mode=$mode cr3=$lroot (.* )?source=vmcoreinfo\$"
	check "$n: info --json" "$f" "0q" "" "" info "$f" --json
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
	    "$work/out" 2>/dev/null && ok ||
	    bad "$n: info --json: $(head -c 200 "$work/out")"
	grep -q vmcoreinfo "$work/out" && ok ||
	    bad "$n: info --json does not say vmcoreinfo"
	check "$n: dump" "$f" "0q" "$work/lx.dump" "" dump "$f"
	check "$n: dump --format tables" "$f" "0q" "$work/lx.tab" "" \
	    dump "$f" --format tables
	check "$n: translate" "$f" "0q" "$work/lx.tr" "" translate "$f" $vas
	check "$n: --dump-cpu 0" "$f" "0q" "$work/lx.dump" "" \
	    dump "$f" --dump-cpu 0
	check "$n: --dump-cpu 1 of 1" "$f" "2" "" "" dump "$f" --dump-cpu 1
	check "$n: dump --cr3 --mode" "$f" "0q" "$work/lx.dump" "" \
	    dump "$f" --cr3 $lroot --mode $mode
	check "$n: roots" "$f" "0q" "" "" roots "$f" --mode $mode
	has "$n: roots finds the root" "^mode=$mode cr3=$lroot "
}

# --- 4-level: /proc/vmcore-like ELF (NT_PRSTATUS and VMCOREINFO, no
#     QEMU note), makedumpfile-like kdump v6 (VMCOREINFO among the notes,
#     phys_base in the sub-header too, zero pages left out), kdump v3
#     (VMCOREINFO only at offset_vmcoreinfo) ---
vmci 0
mk elf lx.core "$work/lx4.img" --no-qemu "${vi[@]}"
linux_case "vmcoreinfo elf" "$work/lx.core" "$work/lx4.img" 4level \
    "$lx4vas"
mk elf lxp.core "$work/lx4.img" --no-qemu --no-prstatus --sparse \
    "${vi[@]}"
linux_case "vmcoreinfo elf, notes only" "$work/lxp.core" \
    "$work/lx4.img" 4level "$lx4vas"
mk kdump lxk.core "$work/lx4.img" --no-qemu --sparse \
    --phys-base 0x1000000 "${vi[@]}"
linux_case "vmcoreinfo kdump" "$work/lxk.core" "$work/lx4.img" 4level \
    "$lx4vas"
mk kdump lxk3.core "$work/lx4.img" --no-qemu --kdump-version 3 \
    --phys-base 0x1000000 "${vi[@]}"
linux_case "vmcoreinfo kdump v3" "$work/lxk3.core" "$work/lx4.img" \
    4level "$lx4vas"
# a kernel before 4.13: init_level4_pgt, no pgtable_l5_enabled, no _stext
mk elf lxo.core "$work/lx4.img" --no-qemu --sparse \
    --vmcoreinfo OSRELEASE=4.4.0 --vmcoreinfo PAGESIZE=4096 \
    --vmcoreinfo "SYMBOL(init_level4_pgt)=$lsym" \
    --vmcoreinfo 'NUMBER(phys_base)=16777216'
linux_case "vmcoreinfo elf, Linux 4.4" "$work/lxo.core" "$work/lx4.img" \
    4level "$lx4vas"
# the kdump sub-header's phys_base alone gives the text offset
mk kdump lxkp.core "$work/lx4.img" --no-qemu --sparse \
    --phys-base 0x1000000 --vmcoreinfo OSRELEASE=6.1.0 \
    --vmcoreinfo "SYMBOL(init_top_pgt)=$lsym" \
    --vmcoreinfo 'NUMBER(pgtable_l5_enabled)=0'
linux_case "vmcoreinfo kdump, sub-header phys_base" "$work/lxkp.core" \
    "$work/lx4.img" 4level "$lx4vas"

# --- 5-level: pgtable_l5_enabled=1 ---
vmci 1
mk elf lx5.core "$work/lx5.img" --no-qemu --sparse "${vi[@]}"
linux_case "vmcoreinfo elf 5-level" "$work/lx5.core" "$work/lx5.img" \
    5level "$lx5vas"
mk kdump lx5k.core "$work/lx5.img" --no-qemu --sparse \
    --phys-base 0x1000000 "${vi[@]}"
linux_case "vmcoreinfo kdump 5-level" "$work/lx5k.core" "$work/lx5.img" \
    5level "$lx5vas"

# --- the same kdump files, their pages compressed (version 3: one
#     method, the header's version changes nothing of the pages) ---
for z in $zmethods; do
	vmci 0
	mk kdump lxz.core "$work/lx4.img" --no-qemu --sparse \
	    --phys-base 0x1000000 --compress $z "${vi[@]}"
	linux_case "vmcoreinfo kdump $z" "$work/lxz.core" "$work/lx4.img" \
	    4level "$lx4vas"
	if [ $z = lzo ]; then
		mk kdump lxz.core "$work/lx4.img" --no-qemu \
		    --kdump-version 3 --phys-base 0x1000000 --compress $z \
		    "${vi[@]}"
		linux_case "vmcoreinfo kdump v3 $z" "$work/lxz.core" \
		    "$work/lx4.img" 4level "$lx4vas"
	fi
	vmci 1
	mk kdump lxz.core "$work/lx5.img" --no-qemu --sparse \
	    --phys-base 0x1000000 --compress $z "${vi[@]}"
	linux_case "vmcoreinfo kdump 5-level $z" "$work/lxz.core" \
	    "$work/lx5.img" 5level "$lx5vas"
done

# --- a QEMU note and VMCOREINFO: the CPU's own CR3 wins ---
vmci 0
mk elf lxq.core "$work/lx4.img" --sparse --cr3 0x1204000 "${vi[@]}"
check "vmcoreinfo + QEMU note: info" "$work/lxq.core" "0q" "" "" \
    info "$work/lxq.core"
has "vmcoreinfo + QEMU note: cpus 1" '^cpus 1$'
has "vmcoreinfo + QEMU note: the note's CPU" \
    '^cpu 0 mode=4level cr3=0x1204000 .*source=qemu-note$'

# --- VMCOREINFO that lies ---
# vbad NAME ELF KDUMP LINE...: a dump of lx4.img, ELF and kdump (sub-
# header phys_base 16 MiB), whose VMCOREINFO is LINEs.  ELF and KDUMP:
# the root libaddrxlat 0.5.1 computes from it ("-": none, "?": not
# checked).  Every command runs bounded; info exits 0 or fails cleanly,
# and names no CPU where libaddrxlat finds no root, or CPU 0 with its
# root; dump, translate and roots exit 0 (warnings allowed) or 2.
vbad() {
	local n=$1 e=$2 kd=$3 want f k l re
	shift 3
	vi=(--vmcoreinfo OSRELEASE=6.1.0 --vmcoreinfo PAGESIZE=4096)
	for l in "$@"; do
		vi+=(--vmcoreinfo "$l")
	done
	for k in elf kdump; do
		if [ $k = elf ]; then
			want=$e
			mk elf vb.core "$work/lx4.img" --no-qemu --sparse \
			    "${vi[@]}"
		else
			want=$kd
			mk kdump vb.core "$work/lx4.img" --no-qemu --sparse \
			    --phys-base 0x1000000 "${vi[@]}"
		fi
		f=$work/vb.core
		check "$n ($k): info" "$f" "0 3" "" "" info "$f"
		if [ $rc -ne 0 ]; then
			:
		elif [ "$want" = "-" ]; then
			has "$n ($k): info names no CPU" '^cpus 0$'
		elif [ "$want" != "?" ] && grep -q '^cpu 0 ' "$work/out"
		then
			re="^cpu 0 mode=[0-9a-z]+ cr3=$want "
			has "$n ($k): info cpu 0" "$re(.* )?source=vmcoreinfo\$"
		fi
		check "$n ($k): dump" "$f" "0 2" "" "" dump "$f"
		check "$n ($k): translate" "$f" "0 2" "" "" \
		    translate "$f" $lx4vas
		check "$n ($k): roots" "$f" "0" "" "" roots "$f" --mode 4level
	done
}
l5off='NUMBER(pgtable_l5_enabled)=0'
pb='NUMBER(phys_base)=16777216'
# the root beyond the dump (phys_base 512 GiB): it reads as zeros
vbad "vmcoreinfo: root beyond the dump" 0x7fff200000 0x7fff200000 \
    "$l5off" "SYMBOL(init_top_pgt)=$lsym" 'NUMBER(phys_base)=0x7fff000000'
check "vmcoreinfo: root beyond the dump: dump warns" "$work/vb.core" \
    "0w 2" "" "" dump "$work/vb.core"
# phys_base 2^64-1: the text offset wraps, the root is not page-aligned
vbad "vmcoreinfo: phys_base 2^64-1" "?" "?" \
    "$l5off" "SYMBOL(init_top_pgt)=$lsym" 'NUMBER(phys_base)=-1'
# a symbol outside the kernel text: 0x1234, 2^64-1
vbad "vmcoreinfo: root symbol 0x1234" 0x81001000 0x81001000 \
    "$l5off" 'SYMBOL(init_top_pgt)=1234' "$pb"
vbad "vmcoreinfo: root symbol 2^64-1" 0x80fff000 0x80fff000 \
    "$l5off" 'SYMBOL(init_top_pgt)=ffffffffffffffff' "$pb"
# a root on a table of the last level (its entries map pages, not tables)
vbad "vmcoreinfo: root on a leaf table" 0x1206000 0x1206000 \
    "$l5off" 'SYMBOL(init_top_pgt)=ffffffff80206000' "$pb"
# a root on a page the dump leaves out (it reads as zeros)
vbad "vmcoreinfo: root on a missing page" 0x1000000 0x1000000 \
    "$l5off" 'SYMBOL(init_top_pgt)=ffffffff80000000' "$pb"
# 5-level tables claimed over 4-level ones
vbad "vmcoreinfo: 5-level claimed" 0x1200000 0x1200000 \
    'NUMBER(pgtable_l5_enabled)=1' "SYMBOL(init_top_pgt)=$lsym" "$pb"
# no root: a symbol not in hex; none at all; no line; lines of nothing
vbad "vmcoreinfo: symbol not hex" - - \
    "$l5off" 'SYMBOL(init_top_pgt)=zzzz' "$pb"
vbad "vmcoreinfo: no root symbol" - - "$l5off" "$pb"
vbad "vmcoreinfo: paging depth unknown" - - \
    "SYMBOL(init_top_pgt)=$lsym" "$pb"
vbad "vmcoreinfo: empty lines" - - '' '=' '(((' 'SYMBOL()=1' \
    'NUMBER(pgtable_l5_enabled)=zz' 'SYMBOL(init_top_pgt)' \
    "$(printf 'x%.0s' $(seq 1 3000))=1"
# no phys_base in an ELF core: libaddrxlat would walk the tables to find
# the text offset, starting from the very root it cannot place ("Infinite
# read recursion"): no root; a kdump file's sub-header has phys_base
vbad "vmcoreinfo: no phys_base" - 0x1200000 \
    "$l5off" "SYMBOL(init_top_pgt)=$lsym" 'SYMBOL(_stext)=ffffffff80000000'

# --- cuts of a VMCOREINFO core: inside the note's text, inside the
#     memory ---
vmci 0
mk elf lxc.core "$work/lx4.img" --no-qemu --sparse "${vi[@]}"
at=$(grep -abo 'SYMBOL(init_top_pgt)' "$work/lxc.core" | head -n 1 |
    cut -d: -f1)
lsz=$(stat -c %s "$work/lxc.core")
for cut in $((at + 10)) $((lsz - 4096)); do
	head -c $cut "$work/lxc.core" >"$work/c.core"
	check "vmcoreinfo elf cut at $cut: info" "$work/c.core" "0 3" "" "" \
	    info "$work/c.core"
	check "vmcoreinfo elf cut at $cut: dump" "$work/c.core" "0 2 3" "" \
	    "" dump "$work/c.core"
done

echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
